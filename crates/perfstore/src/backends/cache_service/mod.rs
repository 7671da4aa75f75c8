//! The cache-service backend: each target is one key-based entry of the MGraph-AI Cache
//! Service, and each artifact one child data file of it.
//!
//! | concept | on the service |
//! |---|---|
//! | target `(s, t)` | entry stored `key_based` with `cache_key = sessions/{s}/targets/{t}`, `file_id = perf-entry`, `json_field_path = cache_key`, so `cache_hash = sha256(cache_key)[..16]` |
//! | finding it | `GET /{ns}/retrieve/hash/{cache_hash}/cache-id`; the id found is kept as a *hint* only, see below |
//! | artifact `key` | a child data file of the entry, see [`mapping`] |
//!
//! - **Stale ids are never trusted.** A handle remembers the id it last found for a target to
//!   save the lookup request, but every operation validates it with the service: listing or
//!   storing through an id whose entry was deleted answers 404, the hint is dropped and the id
//!   looked up again. So another process's `delete_target` (and re-creation) is never masked.
//! - **Loads try the likely file first** (`.json` keys as a JSON object, `.bin` as bytes, others
//!   as text) and list the entry's folder only on a miss.
//! - **Bulk calls batch.** `put_many` / `get_many` move up to [`BATCH_MAX_FILES`] files per
//!   request through our server's batch routes (COMPAT.md D33); a bulk load asks for the file a
//!   single load tries first and lists the entry only for misses. Against a server without the
//!   routes (the reference) the first 404 switches the handle to pipelined single requests.
//! - **Reads never create entries**; a missing entry or file is `None`.
//! - **Race-safe creation:** workers that create the same new target at once each get a
//!   `cache_id`, but key-based entries of one `cache_key` share one content path, and child data
//!   lives under the content path, so every artifact written through any of those ids is
//!   readable through the one the hash lookup returns.
//! - **Replacing across kinds** (a key saved as text, then as JSON) stores the new file first,
//!   then deletes the variants that existed *before* the store, so concurrent writers can never
//!   delete each other's value; a duplicate left by such a race is resolved on read (fixed
//!   order of [`ChildShape::ALL`]) and cleaned by the next save.
//! - `delete_target` deletes every child file, then every id of the entry (the invalidation the
//!   original module listed as a next step).
//! - `list_sessions` / `list_targets` read the entries' folders through the admin storage routes
//!   and keep the targets that hold at least one child file.

mod bulk;
pub mod mapping;

pub use bulk::{BATCH_MAX_BYTES, BATCH_MAX_FILES, PIPELINE_DEPTH};

use bulk::BatchSupport;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use cache_client::types::{BatchFileRef, BatchFileStatus, ChildContent, DataFileInfo};
use cache_client::{CacheClient, CacheClientError, DataType, Strategy};
use serde_json::{Value, json};

use self::mapping::{ChildFile, ChildShape};
use crate::artifact::{Artifact, ArtifactMeta, canonical_json};
use crate::compression::{self, CompressionOptions};
use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{ByteReader, Capabilities, Storage};

/// The `file_id` of every target's entry (the original module's constant).
pub const ENTRY_FILE_ID: &str = "perf-entry";

/// Artifacts as child data files of one cache-service entry per target.
#[derive(Debug, Clone)]
pub struct CacheServiceStorage {
    client: CacheClient,
    namespace: String,
    persistent: bool,
    hints: Arc<IdHints>,
    compression: CompressionOptions,
    batch: Arc<BatchSupport>,
}

/// Entry ids seen by this handle, by target: hints that every use validates with the service.
#[derive(Debug, Default)]
struct IdHints(Mutex<HashMap<TargetPath, String>>);

/// More targets than this and the hints start over (they are only a shortcut).
const MAX_ID_HINTS: usize = 4096;

impl IdHints {
    fn get(&self, target: &TargetPath) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(target)
            .cloned()
    }

    fn set(&self, target: &TargetPath, id: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ID_HINTS {
            map.clear();
        }
        map.insert(target.clone(), id.to_owned());
    }

    fn forget(&self, target: &TargetPath) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(target);
    }
}

/// An entry id, and whether it came from a hint (so may be stale).
#[derive(Debug, Clone)]
struct EntryRef {
    id: String,
    hinted: bool,
}

/// How many times an operation re-resolves an entry that vanished under it.
const ENTRY_ATTEMPTS: usize = 3;

fn backend_error(e: CacheClientError) -> Error {
    // A refused key is fixed in the client's environment: name the variables that carry it.
    let hint = match e.status() {
        Some(401 | 403) => format!(
            " (the API key is sent from {} and {})",
            cache_client::ENV_KEY_NAME,
            cache_client::ENV_KEY_VALUE
        ),
        _ => String::new(),
    };
    Error::Backend {
        backend: "cache_service",
        message: format!("{e}{hint}"),
        source: Some(Box::new(e)),
    }
}

/// The entry's `cache_key` for a target.
pub fn cache_key(target: &TargetPath) -> String {
    format!("sessions/{}/targets/{}", target.session, target.target)
}

/// The entry's `cache_hash` for a target: the service hashes the `cache_key` field.
pub fn cache_hash(target: &TargetPath) -> String {
    cache_wire::hash::hash_str(&cache_key(target))
}

impl CacheServiceStorage {
    /// A backend over `client`, storing in `namespace`.
    pub fn new(client: CacheClient, namespace: impl Into<String>) -> Self {
        let persistent = client.base_url().is_some();
        Self {
            client,
            namespace: namespace.into(),
            persistent,
            hints: Arc::default(),
            compression: CompressionOptions::default(),
            batch: Arc::new(BatchSupport::unknown()),
        }
    }

    /// A backend over the service at `url` (with `api_key` as `(header, value)`), or, without
    /// a URL, over an in-process service in memory (like the official client's `from_env`).
    pub fn connect(
        url: Option<&str>,
        api_key: Option<(&str, &str)>,
        namespace: &str,
    ) -> Result<Self> {
        let client = match url {
            Some(url) => {
                let mut remote = cache_client::RemoteConfig::new(url);
                if let Some((name, value)) = api_key {
                    remote = remote.with_api_key(name, value);
                }
                CacheClient::remote(remote)
                    .map_err(|e| Error::Config(format!("cache service at {url}: {e}")))?
            }
            None => {
                tracing::info!(
                    "no URL__TARGET_SERVER__CACHE_SERVICE: using an in-process cache service (memory, lost at exit)"
                );
                CacheClient::in_memory()
            }
        };
        Ok(Self::new(client, namespace))
    }

    /// The same backend never using the batch routes: bulk operations pipeline single
    /// requests, as they do against a server without the extension (the reference).
    pub fn without_batches(mut self) -> Self {
        self.batch = Arc::new(BatchSupport::unsupported());
        self
    }

    /// The same backend compressing as `compression` says. Compressed artifacts are binary
    /// child files holding a [`crate::compression`] container; they are read whatever this says.
    pub fn with_compression(mut self, compression: CompressionOptions) -> Self {
        self.compression = compression;
        self
    }

    /// How `artifact` is stored: its shape, the artifact to send (a binary container if it is
    /// compressed) and the metadata of the original.
    fn stored_form(&self, artifact: Artifact) -> (ChildShape, Artifact, ArtifactMeta) {
        let (stored, meta) = compression::encode(&artifact, &self.compression);
        if compression::is_container(&stored) {
            return (ChildShape::Binary, Artifact::binary(stored), meta);
        }
        let shape = ChildShape::for_artifact(artifact.kind(), artifact.bytes());
        (shape, artifact, meta)
    }

    /// The client behind this backend.
    pub fn client(&self) -> &CacheClient {
        &self.client
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The entry's current `cache_id`, if the target has an entry. Never creates one.
    pub async fn entry_id(&self, target: &TargetPath) -> Result<Option<String>> {
        Ok(self
            .client
            .retrieve()
            .hash_cache_id(&self.namespace, &cache_hash(target))
            .await
            .map_err(backend_error)?
            .and_then(|found| found.cache_id))
    }

    /// The entry of `target`: the hint if there is one, else a lookup. Never creates one.
    async fn find_entry(&self, target: &TargetPath) -> Result<Option<EntryRef>> {
        if let Some(id) = self.hints.get(target) {
            return Ok(Some(EntryRef { id, hinted: true }));
        }
        self.lookup_entry(target).await
    }

    /// The entry of `target` as the service says now (no hint).
    async fn lookup_entry(&self, target: &TargetPath) -> Result<Option<EntryRef>> {
        self.hints.forget(target);
        let id = self.entry_id(target).await?;
        if let Some(id) = &id {
            self.hints.set(target, id);
        }
        Ok(id.map(|id| EntryRef { id, hinted: false }))
    }

    /// The entry of `target`, created if needed.
    async fn ensure_entry(&self, target: &TargetPath) -> Result<EntryRef> {
        match self.find_entry(target).await? {
            Some(entry) => Ok(entry),
            None => self.create_entry(target).await,
        }
    }

    /// The entry of `target` as the service says now, created if needed.
    async fn ensure_entry_unhinted(&self, target: &TargetPath) -> Result<EntryRef> {
        match self.lookup_entry(target).await? {
            Some(entry) => Ok(entry),
            None => self.create_entry(target).await,
        }
    }

    /// Stores the target's entry and returns the new id, usable as soon as the store returns.
    /// Storing it again is harmless: key-based entries of one `cache_key` share their content
    /// path, and with it the child data folder.
    async fn create_entry(&self, target: &TargetPath) -> Result<EntryRef> {
        let key = cache_key(target);
        let entry = json!({
            "cache_key": key,
            "session_name": target.session,
            "target_name": target.target,
            "timestamp": chrono::Utc::now().timestamp_millis(),
            "config": {},
            "summary": {},
        });
        let stored = self
            .client
            .store()
            .json_with_key(
                &self.namespace,
                Strategy::KeyBased,
                &key,
                Some(ENTRY_FILE_ID),
                Some("cache_key"),
                &entry,
            )
            .await
            .map_err(backend_error)?;
        self.hints.set(target, &stored.cache_id);
        Ok(EntryRef {
            id: stored.cache_id,
            hinted: false,
        })
    }

    /// After an id the service did not know: every other id the target's hash ref lists,
    /// newest first, that the service does know (a concurrent store may have published an id
    /// before it was usable, on servers that write the refs in that order).
    async fn other_entry(&self, target: &TargetPath, unknown: &str) -> Result<Option<EntryRef>> {
        let refs = self
            .client
            .retrieve()
            .by_hash_refs(&self.namespace, &cache_hash(target))
            .await
            .map_err(backend_error)?;
        let Some(refs) = refs else {
            self.hints.forget(target);
            return Ok(None);
        };
        for candidate in refs
            .cache_ids
            .iter()
            .rev()
            .map(|r| r.cache_id.as_str())
            .filter(|id| *id != unknown)
        {
            if self.children(candidate, None, false).await?.is_some() {
                self.hints.set(target, candidate);
                return Ok(Some(EntryRef {
                    id: candidate.to_owned(),
                    hinted: false,
                }));
            }
        }
        self.hints.forget(target);
        Ok(None)
    }

    /// The child files under `folder` (escaped; `None` for all), mapped back to keys; `None`
    /// if the service does not know the entry (deleted, or a stale id).
    async fn children(
        &self,
        id: &str,
        folder: Option<&str>,
        recursive: bool,
    ) -> Result<Option<Vec<(Key, ChildShape)>>> {
        match self
            .client
            .data()
            .list(&self.namespace, id, folder, recursive)
            .await
        {
            Ok(listing) => Ok(Some(listing.files.iter().filter_map(child_key).collect())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(backend_error(e)),
        }
    }

    /// Every child file of `target` below `folder` (escaped; `None` for all) as its key, shape
    /// and size, from one listing; empty if the target has no entry.
    async fn listing(
        &self,
        target: &TargetPath,
        folder: Option<&str>,
    ) -> Result<Vec<(Key, ChildShape, u64)>> {
        let mut entry = self.find_entry(target).await?;
        for _ in 0..ENTRY_ATTEMPTS {
            let Some(current) = entry else {
                return Ok(Vec::new());
            };
            match self
                .client
                .data()
                .list(&self.namespace, &current.id, folder, true)
                .await
            {
                Ok(listing) => {
                    return Ok(listing
                        .files
                        .iter()
                        .filter_map(|f| child_key(f).map(|(k, s)| (k, s, f.file_size)))
                        .collect());
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(backend_error(e)),
            }
            entry = self.replacement(target, &current, false).await?;
        }
        Err(unstable(target))
    }

    /// What to use after the service did not know `current`: for a write, a fresh entry of our
    /// own; for a read, a fresh lookup of a stale hint, else another id of the hash ref.
    async fn replacement(
        &self,
        target: &TargetPath,
        current: &EntryRef,
        create: bool,
    ) -> Result<Option<EntryRef>> {
        if create {
            return self.create_entry(target).await.map(Some);
        }
        if current.hinted
            && let Some(fresh) = self.lookup_entry(target).await?
            && fresh.id != current.id
        {
            return Ok(Some(fresh));
        }
        self.other_entry(target, &current.id).await
    }

    fn file(path: &ArtifactPath, shape: ChildShape) -> Result<ChildFile> {
        mapping::child_file(&path.key, shape).map_err(|e| Error::KeyNotSupported {
            path: path.clone(),
            backend: "cache_service",
            reason: e.to_string(),
        })
    }

    /// Stores the child file; `Ok(false)` if the service does not know the entry.
    async fn store_child(
        &self,
        id: &str,
        path: &ArtifactPath,
        file: &ChildFile,
        artifact: &Artifact,
    ) -> Result<bool> {
        let data = self.client.data();
        let (ns, key, fid) = (
            &self.namespace,
            opt(&file.data_key),
            Some(file.data_file_id.as_str()),
        );
        let result = match child_content(path, file.shape, artifact)? {
            ChildContent::Json(raw) => data.store_json(ns, id, key, fid, &raw).await,
            ChildContent::Text(text) => data.store_string(ns, id, key, fid, &text).await,
            ChildContent::Binary(bytes) => data.store_binary(ns, id, key, fid, bytes).await,
        };
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(backend_error(e)),
        }
    }

    async fn delete_child(&self, id: &str, file: &ChildFile) -> Result<bool> {
        self.client
            .data()
            .delete(
                &self.namespace,
                id,
                file.data_type(),
                opt(&file.data_key),
                &file.data_file_id,
            )
            .await
            .map_err(backend_error)
    }

    async fn fetch_child(
        &self,
        id: &str,
        path: &ArtifactPath,
        file: &ChildFile,
    ) -> Result<Option<Artifact>> {
        let data = self.client.data();
        let (ns, key, fid) = (
            &self.namespace,
            opt(&file.data_key),
            file.data_file_id.as_str(),
        );
        let content = match file.shape {
            ChildShape::JsonObject => {
                let value = data
                    .retrieve_json(ns, id, key, fid)
                    .await
                    .map_err(backend_error)?;
                return value
                    .map(|v| stored_artifact(path, file.shape, Bytes::from(canonical_json(&v))))
                    .transpose();
            }
            ChildShape::JsonText | ChildShape::Text => data
                .retrieve_string(ns, id, key, fid)
                .await
                .map_err(backend_error)?
                .map(ChildContent::Text),
            ChildShape::Binary => data
                .retrieve_binary(ns, id, key, fid)
                .await
                .map_err(backend_error)?
                .map(ChildContent::Binary),
            // The marker's content says nothing; that it exists says everything.
            ChildShape::EmptyText | ChildShape::EmptyBinary => {
                let marker = data
                    .retrieve_json(ns, id, key, fid)
                    .await
                    .map_err(backend_error)?;
                return marker
                    .map(|_| artifact_of(path, file.shape, None))
                    .transpose();
            }
        };
        content
            .map(|content| artifact_of(path, file.shape, Some(content)))
            .transpose()
    }

    /// The files `path`'s key may be stored in, in [precedence](mapping::precedence) order
    /// (those whose escaped name is too long cannot exist and are left out).
    fn files_in_precedence(path: &ArtifactPath) -> Vec<ChildFile> {
        mapping::precedence(&path.key)
            .into_iter()
            .filter_map(|shape| Self::file(path, shape).ok())
            .collect()
    }

    /// The first of `files` for which `check` finds something: the first file alone (one
    /// request when the key is in its likely shape), then all the others at once.
    async fn first_found<T, F, Fut>(files: &[ChildFile], check: F) -> Result<Option<T>>
    where
        F: Fn(ChildFile) -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let Some((first, rest)) = files.split_first() else {
            return Ok(None);
        };
        if let Some(found) = check(first.clone()).await? {
            return Ok(Some(found));
        }
        for found in futures::future::join_all(rest.iter().cloned().map(check)).await {
            if let Some(found) = found? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The artifact at `path` in entry `id`: the first of its files in precedence order.
    async fn probe_artifact(&self, id: &str, path: &ArtifactPath) -> Result<Probe<Artifact>> {
        let files = Self::files_in_precedence(path);
        let Some((first, rest)) = files.split_first() else {
            return Ok(Probe::Absent);
        };
        if let Some(artifact) = self.fetch_child(id, path, first).await? {
            return Ok(Probe::Found(artifact));
        }
        if self.batch.usable()
            && let Some(found) = self.fetch_first_batched(id, path, rest).await?
        {
            return Ok(found);
        }
        let fetch = |file: ChildFile| async move { self.fetch_child(id, path, &file).await };
        Ok(Probe::unsure(Self::first_found(rest, fetch).await?))
    }

    /// The first of `files` that exists, read in one batch request (an absent answer is
    /// certain: the service knew the entry); `None` if the server has no batch routes.
    async fn fetch_first_batched(
        &self,
        id: &str,
        path: &ArtifactPath,
        files: &[ChildFile],
    ) -> Result<Option<Probe<Artifact>>> {
        let refs: Vec<BatchFileRef> = files
            .iter()
            .map(|f| BatchFileRef::new(f.data_type(), &f.data_key, &f.data_file_id))
            .collect();
        let answer = match self
            .client
            .data()
            .retrieve_batch(&self.namespace, id, &refs)
            .await
        {
            Ok(Some(answer)) if answer.files.len() == files.len() => answer,
            Ok(Some(answer)) => {
                return Err(backend_message(&bulk::miscounted(
                    "retrieve",
                    answer.files.len(),
                    files.len(),
                )));
            }
            Ok(None) => {
                self.batch.record(false);
                return Ok(None);
            }
            Err(e) if e.is_not_found() => return Ok(Some(Probe::Unsure)),
            Err(e) => return Err(backend_error(e)),
        };
        self.batch.record(true);
        for (file, got) in files.iter().zip(answer.files) {
            match got.status {
                BatchFileStatus::Found => {
                    let content = got
                        .content()
                        .map_err(|e| backend_message(&format!("batch retrieve of {path}: {e}")))?;
                    return artifact_of(path, file.shape, content).map(|a| Some(Probe::Found(a)));
                }
                BatchFileStatus::Missing => {}
                // Too large to inline: read it with the single route.
                BatchFileStatus::Deferred => {
                    if let Some(artifact) = self.fetch_child(id, path, file).await? {
                        return Ok(Some(Probe::Found(artifact)));
                    }
                }
            }
        }
        Ok(Some(Probe::Absent))
    }

    /// The shape `path` is stored in, in entry `id` (existence checks only, no content).
    async fn probe_shape(&self, id: &str, path: &ArtifactPath) -> Result<Probe<ChildShape>> {
        let files = Self::files_in_precedence(path);
        let exists = |file: ChildFile| async move {
            let found = self
                .client
                .data()
                .exists(
                    &self.namespace,
                    id,
                    file.data_type(),
                    opt(&file.data_key),
                    &file.data_file_id,
                )
                .await
                .map_err(backend_error)?;
            Ok(found.then_some(file.shape))
        };
        Ok(Probe::unsure(Self::first_found(&files, exists).await?))
    }

    /// Runs `read` on the entry of `target`. Where it found nothing and could not tell the
    /// entry was known, through an id remembered from earlier, the id is looked up again
    /// (another process may have deleted and recreated the target) and `read` runs once more
    /// on a new one.
    async fn read_entry<T, F, Fut>(&self, target: &TargetPath, read: F) -> Result<Option<T>>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Probe<T>>>,
    {
        let Some(entry) = self.find_entry(target).await? else {
            return Ok(None);
        };
        match read(entry.id.clone()).await? {
            Probe::Found(found) => return Ok(Some(found)),
            Probe::Absent => return Ok(None),
            Probe::Unsure if !entry.hinted => return Ok(None),
            Probe::Unsure => {}
        }
        match self.lookup_entry(target).await? {
            Some(fresh) if fresh.id != entry.id => Ok(read(fresh.id).await?.found()),
            _ => Ok(None),
        }
    }

    /// After storing `shape` at `path`: deletes the files of the shapes that take precedence
    /// over it (at once; normally none, as a key keeps its likely shape).
    async fn delete_shadowing(
        &self,
        id: &str,
        path: &ArtifactPath,
        shape: ChildShape,
    ) -> Result<()> {
        let files: Vec<ChildFile> = mapping::shadowing(&path.key, shape)
            .filter_map(|other| Self::file(path, other).ok())
            .collect();
        self.delete_files(id, &files).await.map(|_| ())
    }

    /// Deletes every file `path`'s key may be stored in; whether any was there.
    async fn delete_every_shape(&self, id: &str, path: &ArtifactPath) -> Result<bool> {
        self.delete_files(id, &Self::files_in_precedence(path))
            .await
    }

    /// Deletes `files` of entry `id` at once; whether any was there.
    async fn delete_files(&self, id: &str, files: &[ChildFile]) -> Result<bool> {
        let deletes = files.iter().map(|file| self.delete_child(id, file));
        let mut any = false;
        for deleted in futures::future::join_all(deletes).await {
            any |= deleted?;
        }
        Ok(any)
    }

    /// Paths of every file below `{ns}/data/key-based/sessions[/{session}/targets]`.
    async fn entry_files(&self, session: Option<&SessionName>) -> Result<Vec<String>> {
        let mut root = format!("{}/data/key-based/sessions", self.namespace);
        if let Some(s) = session {
            root.push_str(&format!("/{s}/targets"));
        }
        let all = self
            .client
            .admin_storage()
            .files_all(&root)
            .await
            .map_err(backend_error)?;
        Ok(all.files)
    }
}

/// What a probe of a key found.
#[derive(Debug)]
enum Probe<T> {
    /// The key's artifact (or shape).
    Found(T),
    /// Nothing, and the service knew the entry: certainly absent.
    Absent,
    /// Nothing, but a miss cannot tell an unknown entry from a missing file (the single
    /// string and binary routes answer both with an empty 404).
    Unsure,
}

impl<T> Probe<T> {
    fn unsure(found: Option<T>) -> Self {
        match found {
            Some(found) => Probe::Found(found),
            None => Probe::Unsure,
        }
    }

    fn found(self) -> Option<T> {
        match self {
            Probe::Found(found) => Some(found),
            Probe::Absent | Probe::Unsure => None,
        }
    }
}

/// A backend error from a message (bulk items share one failure).
fn backend_message(message: &str) -> Error {
    Error::Backend {
        backend: "cache_service",
        message: message.to_owned(),
        source: None,
    }
}

/// An entry that kept vanishing while an operation used it (concurrent deletes).
fn unstable(target: &TargetPath) -> Error {
    Error::Backend {
        backend: "cache_service",
        message: format!(
            "the entry of {target} was deleted and recreated repeatedly during the operation; try again"
        ),
        source: None,
    }
}

/// What `artifact`, stored as `shape`, is sent as: the single routes' body or a batch file's
/// content. A JSON object goes as its canonical text, unparsed.
fn child_content(
    path: &ArtifactPath,
    shape: ChildShape,
    artifact: &Artifact,
) -> Result<ChildContent> {
    let text = || {
        std::str::from_utf8(artifact.bytes()).map_err(|source| Error::NotText {
            path: path.clone(),
            source,
        })
    };
    Ok(match shape {
        ChildShape::JsonObject => {
            ChildContent::json_text(text()?.to_owned()).map_err(|source| Error::NotJson {
                path: path.clone(),
                source,
            })?
        }
        ChildShape::JsonText | ChildShape::Text => ChildContent::Text(text()?.to_owned()),
        ChildShape::Binary => ChildContent::Binary(artifact.bytes().clone()),
        ChildShape::EmptyText | ChildShape::EmptyBinary => ChildContent::json(&json!({})),
    })
}

/// The artifact a child file stored as `shape` holds, from its content (`None` for the empty
/// markers, whose content says nothing). JSON comes back as the canonical text of its value,
/// whatever the text the service kept.
fn artifact_of(
    path: &ArtifactPath,
    shape: ChildShape,
    content: Option<ChildContent>,
) -> Result<Artifact> {
    let bytes = match (shape, content) {
        (ChildShape::EmptyText | ChildShape::EmptyBinary, _) | (_, None) => Bytes::new(),
        // Both services write JSON child files as Python's `json.dumps(indent=4)`, which is
        // our canonical text: such a file is used as it is; any other is re-rendered.
        (_, Some(ChildContent::Json(raw))) if in_canonical_layout(raw.get()) => {
            Bytes::from(String::from(Box::<str>::from(raw)))
        }
        (_, Some(ChildContent::Json(raw))) => {
            let value: Value = serde_json::from_str(raw.get()).map_err(|e| Error::Corrupt {
                path: path.clone(),
                reason: format!("the service returned JSON that does not parse: {e}"),
            })?;
            Bytes::from(canonical_json(&value))
        }
        (_, Some(ChildContent::Text(text))) => Bytes::from(text),
        (_, Some(ChildContent::Binary(bytes))) => bytes,
    };
    stored_artifact(path, shape, bytes)
}

/// Whether `text` (valid JSON) is laid out as `json.dumps(indent=4)` lays out an object: what
/// a JSON object child file written by either service looks like. Anything else (compact,
/// other indents) is re-rendered before it becomes an artifact.
fn in_canonical_layout(text: &str) -> bool {
    text == "{}" || (text.starts_with("{\n    \"") && text.ends_with("\n}"))
}

/// The artifact of a child file stored as `shape` whose (decoded) bytes are `bytes`.
fn stored_artifact(path: &ArtifactPath, shape: ChildShape, bytes: Bytes) -> Result<Artifact> {
    let kind = Some(shape.kind());
    if shape != ChildShape::Binary {
        return Ok(Artifact::from_stored(bytes, kind));
    }
    // A binary child may hold a compressed artifact of any kind.
    compression::decode(bytes, kind).map_err(|reason| Error::Corrupt {
        path: path.clone(),
        reason,
    })
}

fn opt(data_key: &str) -> Option<&str> {
    (!data_key.is_empty()).then_some(data_key)
}

fn child_key(file: &DataFileInfo) -> Option<(Key, ChildShape)> {
    let data_type = DataType::parse(&file.data_type).ok()?;
    mapping::key_of(&file.data_key, &file.data_file_id, data_type)
}

/// `(session, target)` of a child data file path
/// `{ns}/data/key-based/sessions/{s}/targets/{t}/perf-entry/data/…`.
fn session_target_of(path: &str) -> Option<(&str, &str)> {
    let rest = path.split_once("/data/key-based/sessions/")?.1;
    let (session, rest) = rest.split_once("/targets/")?;
    let (target, rest) = rest.split_once('/')?;
    rest.starts_with(&format!("{ENTRY_FILE_ID}/data/"))
        .then_some((session, target))
}

#[async_trait]
impl Storage for CacheServiceStorage {
    fn name(&self) -> &'static str {
        "cache_service"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            records_kind: true,
            file_and_folder_keys: true,
            persistent: self.persistent,
        }
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let (shape, artifact, meta) = self.stored_form(artifact);
        let file = Self::file(path, shape)?;
        let target = &path.target;
        let mut entry = self.ensure_entry(target).await?;
        for _ in 0..ENTRY_ATTEMPTS {
            if self.store_child(&entry.id, path, &file, &artifact).await? {
                // Only the shapes before ours: concurrent saves never delete each other's last file.
                self.delete_shadowing(&entry.id, path, shape).await?;
                return Ok(meta);
            }
            // The service did not know the entry: a stale hint is looked up again; an id just
            // looked up (deleted meanwhile) is replaced by a new entry of our own.
            entry = match entry.hinted {
                true => self.ensure_entry_unhinted(target).await?,
                false => self.create_entry(target).await?,
            };
        }
        Err(unstable(target))
    }

    async fn put_stream(
        &self,
        path: &ArtifactPath,
        mut reader: ByteReader,
    ) -> Result<ArtifactMeta> {
        use tokio::io::AsyncReadExt;
        // The service refuses empty bodies: an empty stream is stored as the empty-bytes marker.
        let mut first = vec![0u8; compression::STREAM_CHUNK];
        let n = crate::storage::read_input(&mut reader, &mut first, path).await?;
        if n == 0 {
            return self.put(path, Artifact::binary(Bytes::new())).await;
        }
        first.truncate(n);
        let reader: ByteReader = Box::pin(std::io::Cursor::new(first).chain(reader));
        let file = Self::file(path, ChildShape::Binary)?;
        // A stream cannot be sent twice: use an id the service knows now, not a hint.
        let id = self.ensure_entry_unhinted(&path.target).await?.id;
        let (body, outcome) = compression::encoding_stream(
            reader,
            self.compression,
            Some(crate::artifact::ArtifactKind::Binary),
        );
        let stored = self
            .client
            .data()
            .store_binary_stream(
                &self.namespace,
                &id,
                opt(&file.data_key),
                Some(file.data_file_id.as_str()),
                Box::pin(body),
            )
            .await;
        let summary = match (stored, outcome.get()) {
            (Ok(_), Some(Ok(summary))) => summary,
            // The input failed: the upload was cut off and the service stored nothing.
            (_, Some(Err(message))) => {
                return Err(Error::Stream {
                    path: path.clone(),
                    source: std::io::Error::other(message),
                });
            }
            (Err(e), _) if e.is_not_found() => {
                self.hints.forget(&path.target);
                return Err(backend_message(&format!(
                    "the entry of {} was deleted during the upload of {}; nothing was stored",
                    path.target, path.key
                )));
            }
            (Err(e), _) => return Err(backend_error(e)),
            (Ok(_), None) => {
                return Err(backend_message(
                    "the service answered before the upload ended",
                ));
            }
        };
        self.delete_shadowing(&id, path, ChildShape::Binary).await?;
        Ok(summary.meta)
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        // Large artifacts are binary children (streamed or compressed): stream the binary file
        // when it is the shape in force; any other shape is small enough to load whole.
        let shape = match mapping::likely_shape(&path.key) {
            ChildShape::Binary => Some(ChildShape::Binary),
            _ => {
                self.read_entry(&path.target, |id| async move {
                    self.probe_shape(&id, path).await
                })
                .await?
            }
        };
        if shape == Some(ChildShape::Binary)
            && let Some(entry) = self.find_entry(&path.target).await?
            && let Ok(file) = Self::file(path, ChildShape::Binary)
            && let Some(stream) = self
                .client
                .data()
                .retrieve_binary_stream(
                    &self.namespace,
                    &entry.id,
                    opt(&file.data_key),
                    &file.data_file_id,
                )
                .await
                .map_err(backend_error)?
        {
            return Ok(Some(compression::decoding_reader(stream)));
        }
        Ok(self
            .get(path)
            .await?
            .map(|a| Box::pin(std::io::Cursor::new(a.into_bytes())) as ByteReader))
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        self.read_entry(&path.target, |id| async move {
            self.probe_artifact(&id, path).await
        })
        .await
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        let shape = self
            .read_entry(&path.target, |id| async move {
                self.probe_shape(&id, path).await
            })
            .await?;
        Ok(shape.is_some())
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let deleted = self
            .read_entry(&path.target, |id| async move {
                Ok(match self.delete_every_shape(&id, path).await? {
                    true => Probe::Found(()),
                    false => Probe::Unsure,
                })
            })
            .await?;
        Ok(deleted.is_some())
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let folder = prefix
            .folder()
            .and_then(|f| Key::new(format!("{f}/x")).ok())
            .map(|k| mapping::data_key_of(&k));
        let keys: BTreeSet<Key> = self
            .listing(target, folder.as_deref())
            .await?
            .into_iter()
            .map(|(key, _, _)| key)
            .filter(|key| prefix.matches(key))
            .collect();
        Ok(keys.into_iter().collect())
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        // Per key, the file in force: the first in precedence (others are shadowed).
        let mut in_force: BTreeMap<Key, (usize, u64)> = BTreeMap::new();
        for (key, shape, size) in self.listing(target, None).await? {
            let rank = mapping::precedence(&key)
                .iter()
                .position(|s| *s == shape)
                .unwrap_or(usize::MAX);
            let size = match shape {
                ChildShape::EmptyText | ChildShape::EmptyBinary => 0,
                _ => size,
            };
            let slot = in_force.entry(key).or_insert((rank, size));
            if rank < slot.0 {
                *slot = (rank, size);
            }
        }
        Ok(in_force
            .into_iter()
            .map(|(key, (_, size))| (key, size))
            .collect())
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        self.put_many_bulk(items).await
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        self.get_many_bulk(paths).await
    }

    async fn delete_many(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        self.delete_many_bulk(paths).await
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        let mut sessions = BTreeSet::new();
        for path in self.entry_files(None).await? {
            if let Some((s, _)) = session_target_of(&path)
                && let Ok(s) = SessionName::new(s)
            {
                sessions.insert(s);
            }
        }
        Ok(sessions.into_iter().collect())
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        let mut targets = BTreeSet::new();
        for path in self.entry_files(Some(session)).await? {
            if let Some((s, t)) = session_target_of(&path)
                && s == session.as_str()
                && let Ok(t) = TargetName::new(t)
            {
                targets.insert(t);
            }
        }
        Ok(targets.into_iter().collect())
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let Some(EntryRef { id, .. }) = self.lookup_entry(target).await? else {
            return Ok(0);
        };
        self.hints.forget(target);
        let count = self
            .children(&id, None, true)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|(key, _)| key)
            .collect::<BTreeSet<_>>()
            .len();
        self.client
            .data()
            .delete_all(&self.namespace, &id, None)
            .await
            .map_err(backend_error)?;
        // Every id the entry was stored under (concurrent creators each got one).
        let refs = self
            .client
            .retrieve()
            .by_hash_refs(&self.namespace, &cache_hash(target))
            .await
            .map_err(backend_error)?;
        let mut ids: BTreeMap<String, ()> = BTreeMap::from([(id, ())]);
        if let Some(refs) = refs {
            ids.extend(refs.cache_ids.into_iter().map(|r| (r.cache_id, ())));
        }
        for id in ids.keys() {
            self.client
                .delete()
                .by_id(&self.namespace, id)
                .await
                .map_err(backend_error)?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_match_the_original_module() {
        let t = TargetPath::parse("store_test", "default").unwrap();
        assert_eq!(cache_key(&t), "sessions/store_test/targets/default");
        assert_eq!(cache_hash(&t), "f850dd9eec32fadf");
    }

    #[test]
    fn child_paths_name_their_session_and_target() {
        let p = "perf-results/data/key-based/sessions/s1/targets/t-1/perf-entry/data/results/m_djson.json";
        assert_eq!(session_target_of(p), Some(("s1", "t-1")));
        let entry = "perf-results/data/key-based/sessions/s1/targets/t-1/perf-entry.json";
        assert_eq!(
            session_target_of(entry),
            None,
            "the entry itself holds no artifact"
        );
    }
}
