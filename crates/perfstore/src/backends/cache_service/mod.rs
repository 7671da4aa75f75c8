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
use cache_client::types::{ChildContent, DataFileInfo};
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
    Error::Backend {
        backend: "cache_service",
        message: e.to_string(),
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

    /// The shapes `key` is stored in (normally one); `None` if the entry is unknown.
    async fn variants(&self, id: &str, key: &Key) -> Result<Option<Vec<ChildShape>>> {
        let folder = mapping::data_key_of(key);
        let folder = (!folder.is_empty()).then_some(folder.as_str());
        let Some(children) = self.children(id, folder, false).await? else {
            return Ok(None);
        };
        let mut shapes: Vec<ChildShape> = children
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, shape)| shape)
            .collect();
        shapes.sort_by_key(|s| ChildShape::ALL.iter().position(|x| x == s));
        shapes.dedup();
        Ok(Some(shapes))
    }

    /// The (validated) entry id of `path`'s target and the shapes its key is stored in;
    /// `None` if the target has no entry (and `create` is false).
    async fn locate(
        &self,
        path: &ArtifactPath,
        create: bool,
    ) -> Result<Option<(String, Vec<ChildShape>)>> {
        let target = &path.target;
        let mut entry = match create {
            true => Some(self.ensure_entry(target).await?),
            false => self.find_entry(target).await?,
        };
        for _ in 0..ENTRY_ATTEMPTS {
            let Some(current) = entry else {
                return Ok(None);
            };
            if let Some(shapes) = self.variants(&current.id, &path.key).await? {
                return Ok(Some((current.id, shapes)));
            }
            entry = self.replacement(target, &current, create).await?;
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
            ChildShape::EmptyText | ChildShape::EmptyBinary => {
                return artifact_of(path, file.shape, None).map(Some);
            }
        };
        content
            .map(|content| artifact_of(path, file.shape, Some(content)))
            .transpose()
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

/// The shape a key is most likely stored in, tried first on load.
fn likely_shape(key: &Key) -> ChildShape {
    match key.extension() {
        Some("json") => ChildShape::JsonObject,
        Some("bin") => ChildShape::Binary,
        _ => ChildShape::Text,
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
        for _ in 0..ENTRY_ATTEMPTS {
            let Some((id, before)) = self.locate(path, true).await? else {
                continue;
            };
            if !self.store_child(&id, path, &file, &artifact).await? {
                // The entry was deleted between the listing and the store: start again.
                self.hints.forget(&path.target);
                continue;
            }
            // Only variants seen before the store: concurrent writers never delete each other.
            for other in before.into_iter().filter(|s| *s != shape) {
                self.delete_child(&id, &Self::file(path, other)?).await?;
            }
            return Ok(meta);
        }
        Err(unstable(&path.target))
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
        let Some((id, before)) = self.locate(path, true).await? else {
            return Err(unstable(&path.target));
        };
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
        for other in before.into_iter().filter(|s| *s != ChildShape::Binary) {
            self.delete_child(&id, &Self::file(path, other)?).await?;
        }
        Ok(summary.meta)
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        // Large artifacts are binary children (streamed or compressed): stream those; any
        // other shape is small enough to load whole.
        if let Some(entry) = self.find_entry(&path.target).await?
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
        let Some(entry) = self.find_entry(&path.target).await? else {
            return Ok(None);
        };
        // A hit on the likely file needs one request; a miss proves nothing (a string or
        // binary miss is an empty 404 even for an unknown entry), so list to be sure.
        if let Ok(file) = Self::file(path, likely_shape(&path.key))
            && let Some(artifact) = self.fetch_child(&entry.id, path, &file).await?
        {
            return Ok(Some(artifact));
        }
        let Some((id, shapes)) = self.locate(path, false).await? else {
            return Ok(None);
        };
        for shape in shapes {
            if let Some(artifact) = self
                .fetch_child(&id, path, &Self::file(path, shape)?)
                .await?
            {
                return Ok(Some(artifact));
            }
        }
        Ok(None)
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        Ok(self
            .locate(path, false)
            .await?
            .is_some_and(|(_, shapes)| !shapes.is_empty()))
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let Some((id, shapes)) = self.locate(path, false).await? else {
            return Ok(false);
        };
        let mut deleted = false;
        for shape in shapes {
            deleted |= self.delete_child(&id, &Self::file(path, shape)?).await?;
        }
        Ok(deleted)
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let folder = prefix
            .folder()
            .and_then(|f| Key::new(format!("{f}/x")).ok())
            .map(|k| mapping::data_key_of(&k));
        let mut entry = self.find_entry(target).await?;
        for _ in 0..ENTRY_ATTEMPTS {
            let Some(current) = entry else {
                return Ok(Vec::new());
            };
            if let Some(children) = self.children(&current.id, folder.as_deref(), true).await? {
                let keys: BTreeSet<Key> = children
                    .into_iter()
                    .map(|(key, _)| key)
                    .filter(|key| prefix.matches(key))
                    .collect();
                return Ok(keys.into_iter().collect());
            }
            entry = self.replacement(target, &current, false).await?;
        }
        Err(unstable(target))
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
