//! Cache entries: store with a strategy, retrieve by id or hash, references, update, delete
//! (`Cache__Service`, `Cache__Service__Store__With_Strategy`, `Cache__Service__Update` of the
//! reference), including the file formats of spec §4.

use bytes::Bytes;
use cache_wire::ids::{CacheId, Strategy};
use cache_wire::schema::{
    CacheMetadata, DeleteResponse, FileConfig, FilePaths, FileRefs, FileTypeInfo, HashRef,
    HashRefEntry, StorePaths, StoreResponse, UpdateResponse,
};
use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::hash_refs::{
    Backoff, KeptRef, TAIL_BYTES, TOMBSTONE_GRACE, latest_id_from_tail, list_end_of,
};
use super::paths;
use super::{CacheService, ServiceError, ServiceResult, now_ms, parse_stored_json};
use crate::json::{dumps_indented, dumps_indented_of};
use crate::store::{Conditional, Expected, Fetched, StoreError};
use std::time::Instant;

/// How a content file is serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.json` (JSON objects and strings).
    Json,
    /// `.bin`.
    Binary,
}

impl FileKind {
    /// `json` or `binary`, as in `file_type` fields.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Json => "json",
            FileKind::Binary => "binary",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileKind::Json => "json",
            FileKind::Binary => "bin",
        }
    }

    fn type_info(self) -> FileTypeInfo {
        match self {
            FileKind::Json => FileTypeInfo::json(),
            FileKind::Binary => FileTypeInfo::binary(),
        }
    }
}

/// Everything a store needs, already validated and hashed.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// Sanitised namespace.
    pub namespace: &'a str,
    /// Store strategy.
    pub strategy: Strategy,
    /// Normalised cache key, `""` without one.
    pub cache_key: &'a str,
    /// File id, `""` to use the new cache id.
    pub file_id: &'a str,
    /// The content hash.
    pub cache_hash: &'a str,
    /// `None` on routes without the parameter.
    pub json_field_path: Option<&'a str>,
    /// `Content-Encoding` of a binary store, sanitised; `None` if absent.
    pub content_encoding: Option<&'a str>,
    /// How the content file is written.
    pub kind: FileKind,
    /// The content file's bytes (indent-2 JSON, or raw bytes).
    pub content: Bytes,
}

/// What a retrieve found.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryData {
    /// A JSON object or array (`data_type` `json`), or any JSON value from gzip content.
    Json(Value),
    /// A JSON string or other scalar read from a `.json` file (`data_type` `string`).
    Text(Value),
    /// Raw bytes, decompressed if stored with `gzip` (`data_type` `binary`).
    Binary(Bytes),
}

impl EntryData {
    /// The reference's `data_type` for this value.
    pub fn data_type(&self) -> &'static str {
        match self {
            EntryData::Json(_) => "json",
            EntryData::Text(_) => "string",
            EntryData::Binary(_) => "binary",
        }
    }
}

/// A retrieved entry: its value and the `data` section of its `.metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    /// The value.
    pub data: EntryData,
    /// The store metadata (`{}` if the `.metadata` file is missing).
    pub store_metadata: Value,
}

impl Retrieved {
    /// The flat metadata of retrieve responses (`Cache__Service__Retrieve._build_metadata`).
    pub fn cache_metadata(&self) -> CacheMetadata {
        cache_metadata_of(&self.store_metadata)
    }
}

/// `Schema__Cache__Metadata` built from a `.metadata` `data` section.
pub fn cache_metadata_of(data: &Value) -> CacheMetadata {
    let get = |key: &str| data.get(key).cloned().unwrap_or(Value::Null);
    CacheMetadata {
        cache_id: get("cache_id"),
        cache_hash: get("cache_hash"),
        cache_key: get("cache_key"),
        file_id: get("file_id"),
        namespace: get("namespace"),
        strategy: get("strategy"),
        stored_at: get("stored_at"),
        file_type: data
            .get("file_type")
            .cloned()
            .unwrap_or_else(|| Value::String("json".to_owned())),
        content_encoding: get("content_encoding"),
        // The reference reads `content__size` from the `data` section, where it never is.
        content_size: data
            .get("content__size")
            .cloned()
            .unwrap_or_else(|| Value::from(0)),
    }
}

/// `md5(bytes)` hex, first 10 characters (`safe_str_hash`).
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    let mut hex = String::with_capacity(32);
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(10);
    hex
}

impl CacheService {
    async fn any_exists(&self, paths: &[String]) -> ServiceResult<bool> {
        for p in paths {
            if self.store().exists(p).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The first of `paths` holding a non-empty JSON file (`File_FS__Metadata.load`).
    async fn first_json(&self, paths: &[String]) -> ServiceResult<Option<Value>> {
        for p in paths {
            if let Some(bytes) = self.store().get(p).await?
                && !bytes.is_empty()
            {
                return parse_stored_json(&bytes).map(Some);
            }
        }
        Ok(None)
    }

    /// A stored JSON file, `None` if missing or empty (`Storage_FS.file__json`).
    pub async fn read_json(&self, path: &str) -> ServiceResult<Option<Value>> {
        match self.store().get(path).await? {
            Some(bytes) if !bytes.is_empty() => parse_stored_json(&bytes).map(Some),
            _ => Ok(None),
        }
    }

    async fn write_all(&self, paths: &[String], bytes: &Bytes) -> ServiceResult<()> {
        for p in paths {
            self.store().put(p, bytes.clone()).await?;
        }
        Ok(())
    }

    /// When none of `paths` exists (the reference's rule), creates each one (a conditional
    /// write each, so of concurrent creators, in any instance, only one creates a file); the
    /// ones created go to `undo` before and `created` after. `true` if any was created here.
    async fn create_missing(
        &self,
        paths: &[String],
        bytes: &Bytes,
        undo: &mut Vec<String>,
        created: &mut Vec<String>,
    ) -> ServiceResult<bool> {
        if self.any_exists(paths).await? {
            return Ok(false);
        }
        let mut any = false;
        for path in paths {
            undo.push(path.clone());
            match self
                .store()
                .put_if(path, bytes.clone(), &Expected::Absent)
                .await
            {
                Ok(Conditional::Written(_)) => {
                    created.push(path.clone());
                    any = true;
                }
                Ok(Conditional::Conflict) => {
                    // Someone else's file: never undone by this store.
                    undo.pop();
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(any)
    }

    /// Stores a new entry: content trio per copy, by-id reference, by-hash reference.
    ///
    /// All or nothing (issue 12 W7): the entry is reachable only through its references, the
    /// by-id reference is written after every content file and the by-hash reference last (a
    /// single atomic write); when any write fails, every file this store created is deleted
    /// again, newest first, so no reference to a half entry and no orphan file remains. Files
    /// it only overwrote (a `key_based` key stored again, D08) keep their new bytes, as an
    /// overwrite that succeeded would have left them.
    pub async fn store_entry(&self, entry: NewEntry<'_>) -> ServiceResult<StoreResponse> {
        let mut created = Vec::new();
        let result = self.store_entry_files(entry, &mut created).await;
        if result.is_err() {
            for path in created.iter().rev() {
                if let Err(e) = self.store().delete(path).await {
                    tracing::warn!(path, error = %e, "cannot delete a file of a failed store");
                }
            }
        }
        result
    }

    /// [`Self::store_entry`]'s writes; every file it creates is first added to `undo`.
    async fn store_entry_files(
        &self,
        entry: NewEntry<'_>,
        undo: &mut Vec<String>,
    ) -> ServiceResult<StoreResponse> {
        let cache_id = CacheId::new_random().into_string();
        let file_id = if entry.file_id.is_empty() {
            cache_id.clone()
        } else {
            entry.file_id.to_owned()
        };
        let timestamp = now_ms();
        let folders = paths::content_folders(
            entry.namespace,
            entry.strategy,
            &file_id,
            entry.cache_key,
            &super::local_hour_path(),
        );
        let file_name = format!("{file_id}.{}", entry.kind.extension());
        let content_paths: Vec<String> = folders
            .iter()
            .map(|f| paths::file_in(f, &file_name))
            .collect();
        let config_paths: Vec<String> = content_paths
            .iter()
            .map(|p| format!("{p}.config"))
            .collect();
        let metadata_paths: Vec<String> = content_paths
            .iter()
            .map(|p| format!("{p}.metadata"))
            .collect();

        let mut created = Vec::new();
        // `.config` is written only when no copy has one: each copy is created conditionally, so
        // of concurrent first stores (in any instance) exactly one creates it. Without one, the
        // content files are new too (the reference writes the trio together), so a failure of
        // the store that created the config removes them.
        let config = FileConfig {
            exists_strategy: "first".to_owned(),
            file_id: file_id.clone(),
            file_key: entry.cache_key.to_owned(),
            file_paths: folders.clone(),
            file_type: entry.kind.type_info(),
        };
        let fresh = self
            .create_missing(
                &config_paths,
                &Bytes::from(dumps_indented_of(&config, 4)),
                undo,
                &mut created,
            )
            .await?;
        if fresh {
            undo.extend(content_paths.iter().cloned());
        }
        self.write_all(&content_paths, &entry.content).await?;
        created.extend(content_paths.iter().cloned());
        // `.metadata`: hash, size and timestamp only when first created (conditionally too).
        let metadata = serde_json::json!({
            "content__hash": content_hash(&entry.content),
            "chain_hash": null,
            "previous_version_path": null,
            "content__size": entry.content.len(),
            "tags": [],
            "timestamp": now_ms(),
            "data": {},
        });
        self.create_missing(
            &metadata_paths,
            &Bytes::from(dumps_indented(&metadata, 4)),
            undo,
            &mut created,
        )
        .await?;
        created.sort();

        // The `data` section is rewritten on every store.
        let mut metadata = self
            .first_json(&metadata_paths)
            .await?
            .unwrap_or_else(|| Value::Object(Map::new()));
        let store_metadata = serde_json::json!({
            "cache_hash": entry.cache_hash,
            "cache_key": entry.cache_key,
            "cache_id": cache_id,
            "content_encoding": entry.content_encoding,
            "file_id": file_id,
            "file_type": entry.kind.as_str(),
            "json_field_path": entry.json_field_path,
            "namespace": entry.namespace,
            "stored_at": timestamp,
            "strategy": entry.strategy.as_str(),
        });
        let size = metadata
            .get("content__size")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if let Value::Object(map) = &mut metadata {
            map.insert("data".to_owned(), store_metadata);
        }
        self.write_all(&metadata_paths, &Bytes::from(dumps_indented(&metadata, 4)))
            .await?;

        // The by-id ref is written before the by-hash ref publishes the id: a client that finds
        // the id by hash (even mid-store, under concurrent stores) can always use it.
        let by_hash = paths::ref_by_hash(entry.namespace, entry.cache_hash);
        let by_id_path = paths::ref_by_id(entry.namespace, &cache_id);
        let all_paths = StorePaths {
            data: created,
            by_hash: vec![by_hash],
            by_id: vec![by_id_path.clone()],
        };
        let refs = FileRefs {
            all_paths: all_paths.clone(),
            cache_id: cache_id.clone(),
            cache_hash: entry.cache_hash.to_owned(),
            file_paths: FilePaths {
                content_files: content_paths.clone(),
                data_folders: content_paths
                    .iter()
                    .map(|p| paths::data_folder(p))
                    .collect(),
            },
            file_type: entry.kind.as_str().to_owned(),
            namespace: entry.namespace.to_owned(),
            strategy: entry.strategy.as_str().to_owned(),
            timestamp,
        };
        undo.push(by_id_path.clone());
        self.store()
            .put(&by_id_path, Bytes::from(dumps_indented_of(&refs, 2)))
            .await?;
        // Last: one atomic write that either publishes the id by hash or changes nothing.
        self.add_hash_version(entry.namespace, entry.cache_hash, &cache_id, timestamp)
            .await?;

        Ok(StoreResponse {
            cache_id,
            cache_hash: entry.cache_hash.to_owned(),
            namespace: entry.namespace.to_owned(),
            paths: all_paths,
            size,
        })
    }

    /// Appends `cache_id` to the by-hash reference (creating it), returning its path.
    ///
    /// The file is rewritten whole (its format), but re-read and re-parsed only when it is not
    /// the version this instance last wrote or read; see [`hash_refs`](super::hash_refs).
    /// Appends of one hash are serialised in this instance, and every write is conditional on
    /// the version it was computed from, so concurrent appends through other instances sharing
    /// the store are retried from a fresh read, never lost (COMPAT.md D28).
    async fn add_hash_version(
        &self,
        namespace: &str,
        cache_hash: &str,
        cache_id: &str,
        timestamp: i64,
    ) -> ServiceResult<String> {
        let path = paths::ref_by_hash(namespace, cache_hash);
        let cache = self.hash_refs();
        let _appending = cache.lock(&path).await;
        let mut kept = cache.get(&path);
        let mut backoff = Backoff::new(&path);
        let mut tombstone: Option<(String, Instant)> = None;
        loop {
            let (bytes, list_end, total_versions, expected) = match kept.take() {
                // The version this instance last wrote or read: splice, and let the conditional
                // write tell whether it is still current (no read at all when it is).
                Some(kept) => {
                    let (bytes, list_end) = kept.appended(cache_id, timestamp);
                    let expected = Expected::Tag(kept.e_tag.clone());
                    (bytes, Some(list_end), kept.total_versions + 1, expected)
                }
                None => {
                    let fetched = self.store().get_if_changed(&path, None).await?;
                    let (existing, expected) = match fetched {
                        Fetched::Changed { bytes, e_tag } if bytes.is_empty() => {
                            // A tombstone: a delete of the last version is under way.
                            let Some(tag) = e_tag else {
                                return Err(untagged(&path));
                            };
                            let since = match &tombstone {
                                Some((seen, since)) if *seen == tag => *since,
                                _ => Instant::now(),
                            };
                            tombstone = Some((tag.clone(), since));
                            if since.elapsed() < TOMBSTONE_GRACE {
                                backoff.wait().await?;
                                continue;
                            }
                            (None, Expected::Tag(tag))
                        }
                        Fetched::Changed { bytes, e_tag } => {
                            let Some(tag) = e_tag else {
                                return Err(untagged(&path));
                            };
                            (Some(parse_stored_json(&bytes)?), Expected::Tag(tag))
                        }
                        Fetched::Missing | Fetched::Unchanged => (None, Expected::Absent),
                    };
                    let entry = HashRefEntry {
                        cache_id: cache_id.to_owned(),
                        timestamp,
                    };
                    let hash_ref = match existing {
                        Some(existing) => {
                            let mut hash_ref: HashRef =
                                serde_json::from_value(existing).map_err(|e| {
                                    ServiceError::python(
                                        "ValueError",
                                        format!("invalid hash reference {path}: {e}"),
                                    )
                                })?;
                            hash_ref.cache_ids.push(entry);
                            hash_ref.latest_id = cache_id.to_owned();
                            hash_ref.total_versions += 1;
                            hash_ref
                        }
                        None => HashRef {
                            cache_hash: cache_hash.to_owned(),
                            cache_ids: vec![entry],
                            latest_id: cache_id.to_owned(),
                            total_versions: 1,
                        },
                    };
                    let bytes = dumps_indented_of(&hash_ref, 2);
                    let list_end = list_end_of(&bytes);
                    (bytes, list_end, hash_ref.total_versions, expected)
                }
            };
            let bytes = Bytes::from(bytes);
            match self.store().put_if(&path, bytes.clone(), &expected).await {
                Ok(Conditional::Written(e_tag)) => {
                    match (e_tag, list_end) {
                        (Some(e_tag), Some(list_end)) => cache.keep(
                            &path,
                            KeptRef {
                                e_tag,
                                bytes,
                                list_end,
                                total_versions,
                            },
                        ),
                        _ => cache.forget(&path),
                    }
                    return Ok(path);
                }
                Ok(Conditional::Conflict) => {
                    // Another writer changed the file since: read it again and redo the append.
                    cache.forget(&path);
                    backoff.wait().await?;
                }
                Err(e) => {
                    cache.forget(&path);
                    return Err(e.into());
                }
            }
        }
    }

    /// Removes `cache_id` from the by-hash reference at `hash_path`, conditionally (retried
    /// from a fresh read when another writer changed it); the last version's removal goes
    /// through a tombstone (see [`hash_refs`](super::hash_refs)). `true` if the file is gone.
    async fn remove_hash_version(&self, hash_path: &str, cache_id: &str) -> ServiceResult<bool> {
        // No append of this hash in this instance meanwhile; the kept copy is stale after.
        let _rewriting = self.hash_refs().lock(hash_path).await;
        self.hash_refs().forget(hash_path);
        let mut backoff = Backoff::new(hash_path);
        loop {
            let (bytes, tag) = match self.store().get_if_changed(hash_path, None).await? {
                Fetched::Changed { bytes, e_tag } if !bytes.is_empty() => match e_tag {
                    Some(tag) => (bytes, tag),
                    None => return Err(untagged(hash_path)),
                },
                // Missing, or a tombstone of another delete: nothing to remove from.
                _ => return Ok(false),
            };
            let Value::Object(mut hash_ref) = parse_stored_json(&bytes)? else {
                return Ok(false);
            };
            let ids: Vec<Value> = hash_ref
                .get("cache_ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|e| e.get("cache_id").and_then(Value::as_str) != Some(cache_id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let remaining = hash_ref
                .get("total_versions")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                - 1;
            let was_latest = hash_ref.get("latest_id").and_then(Value::as_str) == Some(cache_id);
            let replacement = if remaining > 0 {
                if was_latest
                    && let Some(last) = ids.last().and_then(|e| e.get("cache_id")).cloned()
                {
                    hash_ref.insert("latest_id".to_owned(), last);
                }
                hash_ref.insert("cache_ids".to_owned(), Value::Array(ids));
                hash_ref.insert("total_versions".to_owned(), Value::from(remaining));
                Bytes::from(dumps_indented(&Value::Object(hash_ref), 2))
            } else {
                Bytes::new()
            };
            match self
                .store()
                .put_if(hash_path, replacement, &Expected::Tag(tag))
                .await?
            {
                Conditional::Written(_) if remaining > 0 => return Ok(false),
                Conditional::Written(_) => {
                    // The tombstone is ours: no append got in between, so deleting it loses none.
                    self.store().delete(hash_path).await?;
                    return Ok(true);
                }
                Conditional::Conflict => backoff.wait().await?,
            }
        }
    }

    /// `latest_id` of a by-hash reference: outer `None` if the file is missing or empty, inner
    /// `None` if `latest_id` is not a string. Costs one ranged read however long the file is
    /// (see [`hash_refs`](super::hash_refs)); files whose end has another shape are parsed
    /// whole, as before.
    pub async fn hash_latest_id(
        &self,
        namespace: &str,
        cache_hash: &str,
    ) -> ServiceResult<Option<Option<String>>> {
        let namespace = or_default(namespace);
        let path = paths::ref_by_hash(namespace, cache_hash);
        let Some(tail) = self.store().get_tail(&path, TAIL_BYTES).await? else {
            return Ok(None);
        };
        let whole = if tail.is_empty() {
            // An empty file counts as missing (`Storage_FS.file__json`).
            return Ok(None);
        } else if (tail.len() as u64) < TAIL_BYTES {
            // The whole file: parse it exactly as a full read would.
            Some(parse_stored_json(&tail)?)
        } else if let Some(latest) = latest_id_from_tail(&tail) {
            return Ok(Some(Some(latest)));
        } else {
            self.read_json(&path).await?
        };
        Ok(whole.map(|v| {
            v.get("latest_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
    }

    /// The by-id reference file as JSON, `None` if absent.
    pub async fn refs_json(&self, namespace: &str, cache_id: &str) -> ServiceResult<Option<Value>> {
        self.read_json(&paths::ref_by_id(namespace, cache_id)).await
    }

    /// The by-id reference file parsed (`Schema__Cache__File__Refs`), `None` if absent.
    pub async fn refs(&self, namespace: &str, cache_id: &str) -> ServiceResult<Option<FileRefs>> {
        match self.refs_json(namespace, cache_id).await? {
            None => Ok(None),
            Some(v) => serde_json::from_value(v).map(Some).map_err(|e| {
                ServiceError::python(
                    "ValueError",
                    format!("invalid reference of {cache_id}: {e}"),
                )
            }),
        }
    }

    /// The by-hash reference file as stored, `None` if absent.
    pub async fn hash_ref_json(
        &self,
        namespace: &str,
        cache_hash: &str,
    ) -> ServiceResult<Option<Value>> {
        let namespace = or_default(namespace);
        self.read_json(&paths::ref_by_hash(namespace, cache_hash))
            .await
    }

    /// Whether the by-id reference exists.
    pub async fn id_exists(&self, namespace: &str, cache_id: &str) -> ServiceResult<bool> {
        Ok(self
            .store()
            .exists(&paths::ref_by_id(namespace, cache_id))
            .await?)
    }

    /// Whether the by-hash reference exists.
    pub async fn hash_exists(&self, namespace: &str, cache_hash: &str) -> ServiceResult<bool> {
        Ok(self
            .store()
            .exists(&paths::ref_by_hash(namespace, cache_hash))
            .await?)
    }

    /// Retrieve by id (`Cache__Service.retrieve_by_id`).
    pub async fn retrieve_by_id(
        &self,
        namespace: &str,
        cache_id: &str,
    ) -> ServiceResult<Option<Retrieved>> {
        let Some(refs) = self.refs_json(namespace, cache_id).await? else {
            return Ok(None);
        };
        let Some(content_path) = refs
            .pointer("/file_paths/content_files/0")
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let file_type = refs
            .get("file_type")
            .and_then(Value::as_str)
            .unwrap_or("json");
        let Some(bytes) = self.store().get(content_path).await? else {
            return Ok(None);
        };
        let raw = if file_type == "binary" {
            EntryData::Binary(bytes)
        } else if bytes.is_empty() {
            EntryData::Text(Value::Null)
        } else {
            match parse_stored_json(&bytes)? {
                v @ (Value::Object(_) | Value::Array(_)) => EntryData::Json(v),
                v => EntryData::Text(v),
            }
        };
        let store_metadata = match self.read_json(&format!("{content_path}.metadata")).await? {
            Some(m) => m
                .get("data")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => Value::Object(Map::new()),
        };
        let gzip = store_metadata
            .get("content_encoding")
            .and_then(Value::as_str)
            == Some("gzip");
        let data = match raw {
            EntryData::Binary(compressed) if gzip => {
                let plain = gunzip(&compressed)?;
                let as_json = std::str::from_utf8(&plain)
                    .ok()
                    .and_then(|t| crate::json::loads::loads_str(t).ok());
                match as_json {
                    Some(v) => EntryData::Json(v),
                    None => EntryData::Binary(Bytes::from(plain)),
                }
            }
            other => other,
        };
        Ok(Some(Retrieved {
            data,
            store_metadata,
        }))
    }

    /// Retrieve the latest entry of a hash (`Cache__Service.retrieve_by_hash`).
    pub async fn retrieve_by_hash(
        &self,
        namespace: &str,
        cache_hash: &str,
    ) -> ServiceResult<Option<Retrieved>> {
        let namespace = or_default(namespace);
        let latest = match self.hash_latest_id(namespace, cache_hash).await? {
            Some(Some(latest)) if !latest.is_empty() => latest,
            _ => return Ok(None),
        };
        let latest = CacheId::parse(&latest)
            .map_err(|e| ServiceError::python("ValueError", e.to_string()))?;
        self.retrieve_by_id(namespace, latest.as_str()).await
    }

    /// The `.config` of the first content file, `None` if absent.
    pub async fn config_of(&self, namespace: &str, cache_id: &str) -> ServiceResult<Option<Value>> {
        self.first_sidecar(namespace, cache_id, "config").await
    }

    /// The `.metadata` of the first content file, `None` if absent.
    pub async fn metadata_of(
        &self,
        namespace: &str,
        cache_id: &str,
    ) -> ServiceResult<Option<Value>> {
        self.first_sidecar(namespace, cache_id, "metadata").await
    }

    async fn first_sidecar(
        &self,
        namespace: &str,
        cache_id: &str,
        suffix: &str,
    ) -> ServiceResult<Option<Value>> {
        let Some(refs) = self.refs(namespace, cache_id).await? else {
            return Ok(None);
        };
        let Some(first) = refs.file_paths.content_files.first() else {
            return Ok(None);
        };
        self.read_json(&format!("{first}.{suffix}")).await
    }

    /// `{"by_id": refs, "details": {path: json}}` for every non-content file of the entry.
    pub async fn refs_all(&self, namespace: &str, cache_id: &str) -> ServiceResult<Option<Value>> {
        let Some(refs) = self.refs(namespace, cache_id).await? else {
            return Ok(None);
        };
        let mut details = Map::new();
        let groups = [
            &refs.all_paths.data,
            &refs.all_paths.by_hash,
            &refs.all_paths.by_id,
        ];
        for path in groups.into_iter().flatten() {
            if !refs.file_paths.content_files.contains(path) {
                let content = self.read_json(path).await?.unwrap_or(Value::Null);
                details.insert(path.clone(), content);
            }
        }
        let by_id = serde_json::to_value(&refs).unwrap_or(Value::Null);
        Ok(Some(
            serde_json::json!({ "by_id": by_id, "details": Value::Object(details) }),
        ))
    }

    /// Overwrites the content files of an entry; hash, references and metadata stay as they
    /// were (the reference's "V1" update). `None` for an unknown id.
    pub async fn update_entry(
        &self,
        namespace: &str,
        cache_id: &str,
        content: Bytes,
        size: u64,
    ) -> ServiceResult<Option<UpdateResponse>> {
        let Some(refs) = self.refs(namespace, cache_id).await? else {
            return Ok(None);
        };
        self.write_all(&refs.file_paths.content_files, &content)
            .await?;
        Ok(Some(UpdateResponse {
            cache_id: cache_id.to_owned(),
            cache_hash: refs.cache_hash,
            namespace: namespace.to_owned(),
            paths: refs.file_paths.content_files,
            size,
            timestamp: now_ms(),
            updated_content: true,
            updated_hash: false,
            updated_metadata: false,
            updated_id_ref: false,
        }))
    }

    /// Deletes an entry's data files and references (`Cache__Service.delete_by_id`). Child
    /// data files are left in place, as in the reference.
    pub async fn delete_entry(
        &self,
        namespace: &str,
        cache_id: &str,
    ) -> ServiceResult<DeleteResponse> {
        let namespace = or_default(namespace);
        let ref_path = paths::ref_by_id(namespace, cache_id);
        let Some(refs) = self.read_json(&ref_path).await? else {
            return Ok(DeleteResponse::NotFound {
                status: "not_found".to_owned(),
                message: format!("Cache ID {cache_id} not found"),
            });
        };
        let list = |key: &str| -> Vec<String> {
            refs.pointer(&format!("/all_paths/{key}"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for path in list("data") {
            self.delete_tracked(path, &mut deleted, &mut failed).await;
        }
        if let Some(cache_hash) = refs.get("cache_hash").and_then(Value::as_str)
            && !cache_hash.is_empty()
        {
            let hash_path = paths::ref_by_hash(namespace, cache_hash);
            if self.remove_hash_version(&hash_path, cache_id).await? {
                // Reported as deleted, as the reference's delete of the by-hash file is.
                for path in list("by_hash") {
                    if path == hash_path {
                        deleted.push(path);
                    } else {
                        self.delete_tracked(path, &mut deleted, &mut failed).await;
                    }
                }
            }
        }
        for path in list("by_id") {
            self.delete_tracked(path, &mut deleted, &mut failed).await;
        }
        Ok(DeleteResponse::Deleted {
            status: if failed.is_empty() {
                "success"
            } else {
                "partial"
            }
            .to_owned(),
            cache_id: cache_id.to_owned(),
            deleted_count: deleted.len() as u64,
            failed_count: failed.len() as u64,
            deleted_paths: deleted,
            failed_paths: failed,
        })
    }

    async fn delete_tracked(
        &self,
        path: String,
        deleted: &mut Vec<String>,
        failed: &mut Vec<String>,
    ) {
        match self.store().delete(&path).await {
            Ok(true) => deleted.push(path),
            Ok(false) => failed.push(path),
            Err(e) => failed.push(format!("{path}: {e}")),
        }
    }
}

/// A by-hash file read without an entity tag cannot be updated conditionally.
fn untagged(path: &str) -> ServiceError {
    ServiceError::Store(StoreError::Backend {
        path: path.to_owned(),
        source: object_store::Error::Generic {
            store: "cache-service",
            source: "the storage backend reports no entity tag, so a by-hash reference cannot be updated safely".into(),
        },
    })
}

/// `namespace or "default"`: what the reference's hash lookups and delete use for a namespace
/// that sanitised to nothing (other routes keep the empty namespace).
pub fn or_default(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// `gzip.decompress(data)` with Python's error texts.
pub fn gunzip(data: &[u8]) -> ServiceResult<Vec<u8>> {
    use std::io::Read;
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if !data.starts_with(&[0x1f, 0x8b]) {
        let magic = crate::json::python_bytes_repr(&data[..data.len().min(2)]);
        return Err(ServiceError::python(
            "BadGzipFile",
            format!("Not a gzipped file ({magic})"),
        ));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|_| {
            ServiceError::python(
                "EOFError",
                "Compressed file ended before the end-of-stream marker was reached",
            )
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_md5_prefix() {
        // Observed: `"hello"` (7 bytes) and the indent-2 Alice document.
        assert_eq!(content_hash(b"\"hello\""), "5deaee1c13");
        assert_eq!(
            content_hash(b"{\n  \"name\": \"Alice\",\n  \"age\": 30\n}"),
            "a5215b654d"
        );
    }

    #[test]
    fn gunzip_errors_read_like_python() {
        assert_eq!(
            gunzip(b"notgzip").unwrap_err().to_string(),
            "Not a gzipped file (b'no')"
        );
        assert!(gunzip(&[0x1f, 0x8b, 8]).is_err());
        assert_eq!(gunzip(b"").unwrap(), Vec::<u8>::new());
    }
}
