//! The direct object-store backend: artifacts as objects of an S3 (or S3-compatible: SeaweedFS,
//! MinIO, …) bucket, of a folder (`file://`) or of memory, through the `object_store` crate
//! (cargo feature `object-store`).
//!
//! Opened from a URL ([`ObjectStoreStorage::open`], `PERF_OBJECT_STORE_URL`,
//! `--object-store-url`):
//!
//! | URL | store |
//! |---|---|
//! | `s3://bucket/prefix` | the bucket, credentials and endpoint from the usual `AWS_*` variables (an `http://` `AWS_ENDPOINT_URL` implies `AWS_ALLOW_HTTP`) |
//! | `file:///abs/path` | a folder (created if missing) |
//! | `memory://` | a map in memory, lost when the process ends |
//!
//! - **Layout:** the local backend's, `{prefix}/sessions/{session}/targets/{target}/{key}`, one
//!   object per artifact holding exactly the bytes the local backend writes (large artifacts in
//!   the same compression container), so `perfstore copy` between a folder and a bucket is a
//!   plain mirror and `aws s3 sync` of a bucket is a local store.
//! - **Atomic visibility** comes from the store: a PUT is all or nothing, and a multipart upload
//!   becomes visible only when it completes. A streamed save that fails aborts its upload, so
//!   nothing partial is ever visible and the previous version stays.
//! - **Bounded memory:** [`Storage::put_stream`] uploads parts of [`ObjectStoreOptions::part_size`]
//!   with at most [`ObjectStoreOptions::upload_concurrency`] in flight (a stream shorter than
//!   one part is one PUT); [`Storage::get_stream`] passes the download through as it arrives.
//! - **Bulk calls run concurrently** ([`ObjectStoreOptions::bulk_concurrency`] in flight);
//!   deletes of many artifacts and of a target go through the store's bulk delete (S3:
//!   `DeleteObjects`, 1,000 keys a request).
//! - Kinds are not recorded (as on local disk); [`crate::ArtifactKind::infer`] tells them apart.
//! - In a bucket or memory a key may be an artifact and a folder at once (`a` and `a/b`); in a
//!   folder it cannot ([`Error::Conflict`], as on local disk).
//! - `delete` asks `HEAD` first (S3's `DELETE` does not tell whether there was an object), and
//!   session and target listings check each prefix still holds an object: a folder, and a
//!   filer-backed bucket (SeaweedFS), keep a prefix after its last object is deleted.
//! - Not atomic: [`Storage::delete_target`] deletes object by object (there is no rename in S3),
//!   so a reader racing it may see the target half deleted. An upload interrupted by a crash
//!   leaves an invisible incomplete multipart upload; a bucket lifecycle rule
//!   (`AbortIncompleteMultipartUpload`) reclaims it.
//! - Errors name the store URL and the object, never a credential.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::artifact::{Artifact, ArtifactKind, ArtifactMeta, ContentHash};
use crate::compression::{self, CompressionOptions, HEADER_LEN, TRAILER_LEN};
use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{ByteReader, Capabilities, Storage, Store, TargetSizes};

/// The setting that holds the URL, as errors name it.
pub const URL_SETTING: &str = "--object-store-url / PERF_OBJECT_STORE_URL";
/// The backend's name.
const NAME: &str = "object_store";
/// Objects up to this size get their kind inferred on `head` (which reads them whole);
/// larger ones are hashed as they stream by and reported as text or binary (as on local disk).
const INFER_LIMIT: u64 = 16 << 20;

/// Options of the object-store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectStoreOptions {
    /// Which artifacts are stored compressed (see [`crate::compression`]).
    pub compression: CompressionOptions,
    /// Bytes of one multipart-upload part (S3 needs at least 5 MiB); a streamed save shorter
    /// than this is one PUT.
    pub part_size: usize,
    /// Parts of one streamed save in flight at once. Peak memory of a streamed save is about
    /// `part_size * (upload_concurrency + 1)`.
    pub upload_concurrency: usize,
    /// Operations a bulk call keeps in flight.
    pub bulk_concurrency: usize,
}

impl Default for ObjectStoreOptions {
    fn default() -> Self {
        Self {
            compression: CompressionOptions::default(),
            part_size: 5 << 20,
            upload_concurrency: 4,
            bulk_concurrency: 64,
        }
    }
}

/// What kind of store a URL names; decides the capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flavor {
    /// A bucket (S3 or S3-compatible).
    S3 {
        bucket: String,
        /// `AWS_ENDPOINT_URL`, when set (shown in errors; it holds no credential).
        endpoint: Option<String>,
    },
    /// A folder: a key cannot be a file and a folder at once, and folders can be left empty.
    File { root: std::path::PathBuf },
    /// A map in memory.
    Memory,
}

/// A parsed `PERF_OBJECT_STORE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    flavor: Flavor,
    /// The prefix inside the store, without leading or trailing `/` (may be empty).
    prefix: String,
}

fn bad_url(url: &str, why: &str) -> Error {
    Error::Config(format!(
        "{URL_SETTING}={url:?}: {why} (expected s3://bucket/prefix, file:///absolute/path or memory://)"
    ))
}

/// Parses `s3://bucket/prefix`, `file:///path` or `memory://[prefix]`.
fn parse_url(url: &str) -> Result<Location> {
    let trimmed = url.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(bad_url(trimmed, "not a URL"));
    };
    if rest.contains('@') {
        // Never echo it: what precedes the `@` is likely a secret.
        return Err(Error::Config(format!(
            "{URL_SETTING}: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead"
        )));
    }
    if rest.contains(['?', '#']) {
        return Err(bad_url(
            trimmed,
            "query strings and fragments are not supported",
        ));
    }
    let check_prefix = |prefix: &str| -> Result<String> {
        let prefix = prefix.trim_matches('/');
        for segment in prefix.split('/').filter(|_| !prefix.is_empty()) {
            let valid = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(bad_url(
                    trimmed,
                    &format!(
                        "prefix segment {segment:?} must be A-Z a-z 0-9 _ - . (not empty, . or ..)"
                    ),
                ));
            }
        }
        Ok(prefix.to_owned())
    };
    match scheme.to_ascii_lowercase().as_str() {
        "s3" => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')
                });
            if !valid_bucket {
                return Err(bad_url(
                    trimmed,
                    &format!("bucket {bucket:?} must be 3-63 characters of a-z 0-9 . -"),
                ));
            }
            let endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                .iter()
                .find_map(|name| std::env::var(name).ok())
                .filter(|e| !e.trim().is_empty() && !e.contains('@'));
            Ok(Location {
                flavor: Flavor::S3 {
                    bucket: bucket.to_owned(),
                    endpoint,
                },
                prefix: check_prefix(prefix)?,
            })
        }
        "file" => {
            if !rest.starts_with('/') {
                return Err(bad_url(
                    trimmed,
                    "a file URL needs an absolute path, as in file:///data/perf",
                ));
            }
            let root = std::path::PathBuf::from(rest.trim_end_matches('/'));
            let root = if root.as_os_str().is_empty() {
                std::path::PathBuf::from("/")
            } else {
                root
            };
            Ok(Location {
                flavor: Flavor::File { root },
                prefix: String::new(),
            })
        }
        "memory" => Ok(Location {
            flavor: Flavor::Memory,
            prefix: check_prefix(rest)?,
        }),
        other => Err(bad_url(
            trimmed,
            &format!("unknown scheme {other:?}; supported: s3, file, memory"),
        )),
    }
}

/// An S3 client for `bucket` configured like every `object_store` AWS client (the `AWS_*`
/// variables), as `perfstore serve --storage s3` configures its own.
fn s3_from_env(bucket: &str, url: &str) -> Result<Arc<dyn ObjectStore>> {
    use object_store::aws::AmazonS3Builder;
    // reqwest is built without a bundled TLS provider; use ring's (a no-op if one is set).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .unwrap_or_default();
    // boto3 and the AWS CLI talk plain http to an http:// endpoint; object_store also wants
    // AWS_ALLOW_HTTP, so an explicit http endpoint implies it.
    if endpoint.starts_with("http://") && std::env::var_os("AWS_ALLOW_HTTP").is_none() {
        builder = builder.with_allow_http(true);
    }
    let store = builder.build().map_err(|e| {
        Error::Config(format!(
            "{URL_SETTING}={url:?}: cannot configure the S3 client from the AWS_* variables: {e}"
        ))
    })?;
    Ok(Arc::new(store))
}

/// Artifacts as objects of an [`ObjectStore`].
pub struct ObjectStoreStorage {
    store: Arc<dyn ObjectStore>,
    /// `{prefix}` of the layout (empty: the store's root).
    root: ObjectPath,
    location: Location,
    /// The URL as given, trimmed (it holds no credential: [`parse_url`] refuses those).
    url: String,
    options: ObjectStoreOptions,
}

impl fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreStorage")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store over the object store `url` names (`s3://bucket/prefix`, `file:///path`,
    /// `memory://`); see [`ObjectStoreStorage::open`].
    pub fn object_store(url: &str) -> Result<Self> {
        Ok(Self::new(ObjectStoreStorage::open(url)?))
    }
}

impl ObjectStoreStorage {
    /// Opens the store `url` names with default options. A URL that is malformed, has an
    /// unknown scheme or carries credentials is an [`Error::Config`] naming
    /// `PERF_OBJECT_STORE_URL`.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, ObjectStoreOptions::default())
    }

    /// Opens the store `url` names with `options`.
    pub fn open_with(url: &str, options: ObjectStoreOptions) -> Result<Self> {
        let url = url.trim();
        let location = parse_url(url)?;
        if options.part_size < 5 << 20 && matches!(location.flavor, Flavor::S3 { .. }) {
            return Err(Error::Config(format!(
                "object-store part size {} is below S3's minimum of 5 MiB",
                options.part_size
            )));
        }
        let store: Arc<dyn ObjectStore> = match &location.flavor {
            Flavor::S3 { bucket, .. } => s3_from_env(bucket, url)?,
            Flavor::File { root } => {
                std::fs::create_dir_all(root).map_err(|e| Error::io("create folder", root, e))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| {
                        Error::Config(format!(
                            "{URL_SETTING}={url:?}: cannot open the folder: {e}"
                        ))
                    })?
                    // Deleting a folder's last object removes the folder, as on local disk.
                    .with_automatic_cleanup(true);
                Arc::new(fs)
            }
            Flavor::Memory => Arc::new(object_store::memory::InMemory::new()),
        };
        let root = ObjectPath::from_iter(location.prefix.split('/').filter(|s| !s.is_empty()));
        Ok(Self {
            store,
            root,
            location,
            url: url.to_owned(),
            options: ObjectStoreOptions {
                upload_concurrency: options.upload_concurrency.max(1),
                bulk_concurrency: options.bulk_concurrency.max(1),
                ..options
            },
        })
    }

    /// The URL this store was opened from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying `object_store` client.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object key of an artifact: `{prefix}/sessions/{s}/targets/{t}/{key}`.
    pub fn object_path(&self, path: &ArtifactPath) -> ObjectPath {
        path.key
            .segments()
            .fold(self.target_prefix(&path.target), |p, s| p.join(s))
    }

    fn sessions_prefix(&self) -> ObjectPath {
        self.root.clone().join("sessions")
    }

    fn targets_prefix(&self, session: &SessionName) -> ObjectPath {
        self.sessions_prefix()
            .join(session.as_str())
            .join("targets")
    }

    fn target_prefix(&self, target: &TargetPath) -> ObjectPath {
        self.targets_prefix(&target.session)
            .join(target.target.as_str())
    }

    /// `url` plus `location`, for messages: `s3://bucket/prefix/sessions/…`.
    fn describe(&self, location: &ObjectPath) -> String {
        match &self.location.flavor {
            Flavor::S3 { bucket, endpoint } => {
                let at = endpoint
                    .as_deref()
                    .map(|e| format!(" (endpoint {e})"))
                    .unwrap_or_default();
                format!("s3://{bucket}/{location}{at}")
            }
            Flavor::File { root } => format!("file://{}/{location}", root.display()),
            Flavor::Memory => format!("memory:///{location}"),
        }
    }

    fn fail(&self, op: &str, location: &ObjectPath, e: object_store::Error) -> Error {
        Error::Backend {
            backend: NAME,
            message: format!("{op} {} failed: {e}", self.describe(location)),
            source: Some(Box::new(e)),
        }
    }

    /// Whether keys can be a file and a folder at once (`a` and `a/b`): in buckets and memory,
    /// yes; in a folder, no.
    fn keys_can_be_folders(&self) -> bool {
        !matches!(self.location.flavor, Flavor::File { .. })
    }

    /// The key of an object of `target`, if it is one (an object that is not a valid key, such
    /// as another tool's file, is skipped).
    fn key_of(target: &ObjectPath, location: &ObjectPath) -> Option<Key> {
        let parts: Vec<String> = location
            .prefix_match(target)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        Key::new(parts.join("/")).ok()
    }

    /// The objects below `prefix` (as `(location, size)`), in the store's order.
    async fn list_objects(&self, prefix: &ObjectPath) -> Result<Vec<(ObjectPath, u64)>> {
        self.store
            .list(Some(prefix))
            .map_ok(|meta| (meta.location, meta.size))
            .try_collect()
            .await
            .map_err(|e| self.fail("list", prefix, e))
    }

    /// Whether anything is stored below `prefix` (a folder can outlive its last object).
    async fn holds_objects(&self, prefix: &ObjectPath) -> Result<bool> {
        match self.store.list(Some(prefix)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(self.fail("list", prefix, e)),
        }
    }

    /// The names directly below `prefix` that `parse` accepts, sorted.
    async fn list_names<N: Ord>(
        &self,
        prefix: &ObjectPath,
        parse: impl Fn(&str) -> Option<N>,
    ) -> Result<Vec<N>> {
        let listing = self
            .store
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(|e| self.fail("list", prefix, e))?;
        let candidates: Vec<(N, ObjectPath)> = listing
            .common_prefixes
            .into_iter()
            .filter_map(|folder| Some((folder.filename().and_then(&parse)?, folder)))
            .collect();
        // A folder, and a bucket on a filer-backed server (SeaweedFS), keep a prefix listed
        // after its last object is deleted: keep only the names that still hold objects.
        let mut names = match self.location.flavor {
            Flavor::Memory => candidates.into_iter().map(|(n, _)| n).collect(),
            _ => {
                let folders: Vec<ObjectPath> = candidates.iter().map(|(_, f)| f.clone()).collect();
                let held: Vec<Result<bool>> = futures::stream::iter(folders)
                    .map(|folder| async move { self.holds_objects(&folder).await })
                    .buffered(self.options.bulk_concurrency)
                    .collect()
                    .await;
                let mut names = Vec::new();
                for ((name, _), held) in candidates.into_iter().zip(held) {
                    if held? {
                        names.push(name);
                    }
                }
                names
            }
        };
        names.sort();
        Ok(names)
    }

    /// Why a write to `path` failed: a [`Error::Conflict`] if a key in the way explains it
    /// (only where keys cannot be folders), else the store's error.
    async fn write_failed(
        &self,
        path: &ArtifactPath,
        location: &ObjectPath,
        e: object_store::Error,
    ) -> Error {
        if !self.keys_can_be_folders() {
            if let Ok(true) = self.holds_objects(location).await {
                return Error::Conflict {
                    path: path.clone(),
                    reason: "other keys are stored below this key".to_owned(),
                };
            }
            let key = path.key.as_str();
            for (i, _) in key.match_indices('/') {
                if let Ok(folder) = Key::new(&key[..i])
                    && let Ok(true) = self.exists_at(&path.target.artifact(folder)).await
                {
                    return Error::Conflict {
                        path: path.clone(),
                        reason: format!(
                            "key {:?} is in the way (a key cannot also be a folder)",
                            &key[..i]
                        ),
                    };
                }
            }
        }
        self.fail("put", location, e)
    }

    async fn exists_at(&self, path: &ArtifactPath) -> Result<bool> {
        let location = self.object_path(path);
        match self.store.head(&location).await {
            Ok(_) => Ok(true),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(self.fail("head", &location, e)),
        }
    }

    /// `head` of one version of the object: the container's record, else the bytes hashed.
    /// `Ok(Err(()))`: the object changed between two reads of it; try again.
    async fn head_once(
        &self,
        path: &ArtifactPath,
        location: &ObjectPath,
    ) -> Result<Option<std::result::Result<ArtifactMeta, ()>>> {
        let result = match self.store.get(location).await {
            Ok(r) => r,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(self.fail("get", location, e)),
        };
        let (size, e_tag) = (result.meta.size, result.meta.e_tag.clone());
        let mut chunks = result.into_stream();
        // Small objects are kept whole (their kind is inferred as on local disk); large ones
        // are hashed as they stream by.
        let small = size <= INFER_LIMIT;
        let mut hash = StreamedHash::default();
        let mut kept = Vec::new();
        // Only an object long enough to be a container needs its first bytes looked at.
        let mut decided = size < (HEADER_LEN + TRAILER_LEN) as u64;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| self.fail("read", location, e))?;
            if decided {
                match small {
                    true => kept.extend_from_slice(&chunk),
                    false => hash.push(&chunk),
                }
                continue;
            }
            kept.extend_from_slice(&chunk);
            if kept.len() < HEADER_LEN {
                continue;
            }
            decided = true;
            if compression::is_container(&kept[..HEADER_LEN]) {
                drop(chunks);
                return self
                    .container_head(path, location, &kept[..HEADER_LEN], size, e_tag)
                    .await;
            }
            if !small {
                hash.push(&kept);
                kept = Vec::new();
            }
        }
        if small {
            return Ok(Some(Ok(Artifact::from_stored(kept, None).meta())));
        }
        Ok(Some(Ok(hash.finish())))
    }

    /// `head` of a container from its header and a ranged read of its trailer (of the same
    /// version of the object).
    async fn container_head(
        &self,
        path: &ArtifactPath,
        location: &ObjectPath,
        header: &[u8],
        size: u64,
        e_tag: Option<String>,
    ) -> Result<Option<std::result::Result<ArtifactMeta, ()>>> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(size - TRAILER_LEN as u64..size)),
            if_match: e_tag,
            ..GetOptions::default()
        };
        let tail = match self.store.get_opts(location, options).await {
            Ok(r) => r
                .bytes()
                .await
                .map_err(|e| self.fail("read", location, e))?,
            Err(object_store::Error::Precondition { .. }) => return Ok(Some(Err(()))),
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(self.fail("get", location, e)),
        };
        let corrupt = |reason| Error::Corrupt {
            path: path.clone(),
            reason,
        };
        let recorded = compression::container_meta(header, &tail)
            .ok_or_else(|| corrupt("not a container".to_owned()))?
            .map_err(corrupt)?;
        Ok(Some(Ok(ArtifactMeta {
            size: recorded.size,
            kind: recorded.kind.unwrap_or(ArtifactKind::Binary),
            hash: recorded.hash,
        })))
    }

    /// Deletes the objects at `locations` through the store's bulk delete; the locations
    /// confirmed deleted (a failed batch confirms none of its own).
    async fn bulk_delete(
        &self,
        locations: Vec<ObjectPath>,
    ) -> std::collections::HashSet<ObjectPath> {
        let input = futures::stream::iter(locations.into_iter().map(Ok)).boxed();
        self.store
            .delete_stream(input)
            .filter_map(|r| async move { r.ok() })
            .collect()
            .await
    }
}

/// Whether an error means "no object there": not found, or (in a folder) a folder where the
/// object would be or a file where a folder would be.
fn is_absent(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::IsADirectory
            )
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// SHA-256, size and UTF-8 validity of bytes arriving in chunks (`head` of a large object).
#[derive(Default)]
struct StreamedHash {
    hasher: sha2::Sha256,
    size: u64,
    not_utf8: bool,
    /// A character split across chunks, carried into the next one.
    carry: Vec<u8>,
}

impl StreamedHash {
    fn push(&mut self, chunk: &[u8]) {
        use sha2::Digest;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        if self.not_utf8 {
            return;
        }
        self.carry.extend_from_slice(chunk);
        match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.clear(),
            Err(e) if e.error_len().is_none() => {
                self.carry.drain(..e.valid_up_to());
            }
            Err(_) => self.not_utf8 = true,
        }
    }

    fn finish(self) -> ArtifactMeta {
        use sha2::Digest;
        let text = !self.not_utf8 && self.carry.is_empty();
        ArtifactMeta {
            size: self.size,
            kind: if text {
                ArtifactKind::Text
            } else {
                ArtifactKind::Binary
            },
            hash: ContentHash::from_digest(&self.hasher.finalize()),
        }
    }
}

#[async_trait]
impl Storage for ObjectStoreStorage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            records_kind: false,
            file_and_folder_keys: self.keys_can_be_folders(),
            persistent: !matches!(self.location.flavor, Flavor::Memory),
        }
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let (stored, meta) = compression::encode(&artifact, &self.options.compression);
        let location = self.object_path(path);
        match self.store.put(&location, stored.into()).await {
            Ok(_) => Ok(meta),
            Err(e) => Err(self.write_failed(path, &location, e).await),
        }
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        let location = self.object_path(path);
        let bytes = match self.store.get(&location).await {
            Ok(r) => r
                .bytes()
                .await
                .map_err(|e| self.fail("read", &location, e))?,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(self.fail("get", &location, e)),
        };
        compression::decode(bytes, None)
            .map(Some)
            .map_err(|reason| Error::Corrupt {
                path: path.clone(),
                reason,
            })
    }

    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        let location = self.object_path(path);
        // A container replaced between its two reads is read again.
        for _ in 0..4 {
            match self.head_once(path, &location).await? {
                None => return Ok(None),
                Some(Ok(meta)) => return Ok(Some(meta)),
                Some(Err(())) => continue,
            }
        }
        Err(Error::Backend {
            backend: NAME,
            message: format!(
                "{} was replaced during every attempt to read it; try again",
                self.describe(&location)
            ),
            source: None,
        })
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        self.exists_at(path).await
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        // S3 deletes a missing object without complaint, so ask first.
        if !self.exists_at(path).await? {
            return Ok(false);
        }
        let location = self.object_path(path);
        match self.store.delete(&location).await {
            Ok(()) => Ok(true),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(self.fail("delete", &location, e)),
        }
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let base = self.target_prefix(target);
        // Listing is by whole segments; the string prefix is matched below.
        let start = match prefix.folder() {
            Some(folder) => folder.split('/').fold(base.clone(), |p, s| p.join(s)),
            None => base.clone(),
        };
        let mut keys: Vec<Key> = self
            .list_objects(&start)
            .await?
            .into_iter()
            .filter_map(|(location, _)| Self::key_of(&base, &location))
            .filter(|key| prefix.matches(key))
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        let base = self.target_prefix(target);
        let mut sizes: Vec<(Key, u64)> = self
            .list_objects(&base)
            .await?
            .into_iter()
            .filter_map(|(location, size)| Some((Self::key_of(&base, &location)?, size)))
            .collect();
        sizes.sort();
        sizes.dedup_by(|a, b| a.0 == b.0);
        Ok(sizes)
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        self.list_names(&self.sessions_prefix(), |n| {
            SessionName::new(n).ok().filter(|s| !s.is_reserved())
        })
        .await
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        self.list_names(&self.targets_prefix(session), |n| {
            TargetName::new(n).ok().filter(|t| !t.is_reserved())
        })
        .await
    }

    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        // One listing of the whole session instead of one per target.
        let base = self.targets_prefix(session);
        let mut by_target: std::collections::BTreeMap<TargetName, Vec<(Key, u64)>> =
            std::collections::BTreeMap::new();
        for (location, size) in self.list_objects(&base).await? {
            let Some(mut parts) = location.prefix_match(&base) else {
                continue;
            };
            let Some(target) = parts
                .next()
                .and_then(|t| TargetName::new(t.as_ref()).ok())
                .filter(|t| !t.is_reserved())
            else {
                continue;
            };
            let rest: Vec<String> = parts.map(|p| p.as_ref().to_owned()).collect();
            if let Ok(key) = Key::new(rest.join("/")) {
                by_target.entry(target).or_default().push((key, size));
            }
        }
        Ok(by_target
            .into_iter()
            .map(|(target, mut sizes)| {
                sizes.sort();
                sizes.dedup_by(|a, b| a.0 == b.0);
                (target, sizes)
            })
            .collect())
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let base = self.target_prefix(target);
        let objects = self.list_objects(&base).await?;
        let count = objects
            .iter()
            .filter(|(location, _)| Self::key_of(&base, location).is_some())
            .count();
        let locations: Vec<ObjectPath> = objects.into_iter().map(|(l, _)| l).collect();
        let wanted = locations.len();
        let deleted = self.bulk_delete(locations.clone()).await;
        if deleted.len() < wanted {
            // One at a time, for a precise error (a vanished object is no error).
            for location in locations.iter().filter(|l| !deleted.contains(*l)) {
                match self.store.delete(location).await {
                    Ok(()) => {}
                    Err(e) if is_absent(&e) => {}
                    Err(e) => return Err(self.fail("delete", location, e)),
                }
            }
        }
        Ok(count)
    }

    async fn put_stream(&self, path: &ArtifactPath, reader: ByteReader) -> Result<ArtifactMeta> {
        use tokio::io::AsyncWriteExt;
        let location = self.object_path(path);
        let (chunks, outcome) =
            compression::encoding_stream(reader, self.options.compression, None);
        let mut chunks = std::pin::pin!(chunks);
        let mut writer = BufWriter::with_capacity(
            Arc::clone(&self.store),
            location.clone(),
            self.options.part_size,
        )
        .with_max_concurrency(self.options.upload_concurrency);
        let written: Result<()> = async {
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|source| Error::Stream {
                    path: path.clone(),
                    source,
                })?;
                writer
                    .put(chunk)
                    .await
                    .map_err(|e| self.fail("upload", &location, e))?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            // Nothing was completed: drop the parts uploaded so far (a failed abort leaves
            // an incomplete upload, which is never visible).
            if let Err(abort) = writer.abort().await {
                tracing::warn!(object = %self.describe(&location), error = %abort, "could not abort a failed upload");
            }
            return Err(e);
        }
        // Completes the multipart upload (or makes the one PUT): the step that makes it visible.
        if let Err(e) = writer.shutdown().await {
            let e = match e.downcast::<object_store::Error>() {
                Ok(e) => self.write_failed(path, &location, e).await,
                Err(e) => Error::Backend {
                    backend: NAME,
                    message: format!("upload {} failed: {e}", self.describe(&location)),
                    source: Some(Box::new(e)),
                },
            };
            return Err(e);
        }
        match outcome.get() {
            Some(Ok(summary)) => Ok(summary.meta),
            other => Err(Error::Backend {
                backend: NAME,
                message: format!(
                    "upload {} ended without the stream's summary ({other:?})",
                    self.describe(&location)
                ),
                source: None,
            }),
        }
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        let location = self.object_path(path);
        let result = match self.store.get(&location).await {
            Ok(r) => r,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(self.fail("get", &location, e)),
        };
        let described = self.describe(&location);
        let chunks = result.into_stream().map_err(move |e| {
            std::io::Error::other(format!("{NAME} backend: read {described} failed: {e}"))
        });
        Ok(Some(compression::decoding_reader(chunks)))
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        futures::stream::iter(items)
            .map(|(path, artifact)| async move { self.put(&path, artifact).await })
            .buffered(self.options.bulk_concurrency)
            .collect()
            .await
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        futures::stream::iter(paths.iter().cloned())
            .map(|path| async move { self.get(&path).await })
            .buffered(self.options.bulk_concurrency)
            .collect()
            .await
    }

    async fn delete_many(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        // Which exist (concurrently), then one bulk delete of those.
        let existing: Vec<Result<bool>> = futures::stream::iter(paths.iter().cloned())
            .map(|path| async move { self.exists_at(&path).await })
            .buffered(self.options.bulk_concurrency)
            .collect()
            .await;
        let doomed: Vec<ObjectPath> = paths
            .iter()
            .zip(&existing)
            .filter(|(_, e)| matches!(e, Ok(true)))
            .map(|(p, _)| self.object_path(p))
            .collect();
        let deleted = self.bulk_delete(doomed).await;
        let mut results = Vec::with_capacity(paths.len());
        for (path, existed) in paths.iter().zip(existing) {
            results.push(match existed {
                Ok(true) if !deleted.contains(&self.object_path(path)) => {
                    // Not confirmed by the bulk call: once more alone, for its own result.
                    let location = self.object_path(path);
                    match self.store.delete(&location).await {
                        Ok(()) => Ok(true),
                        Err(e) if is_absent(&e) => Ok(false),
                        Err(e) => Err(self.fail("delete", &location, e)),
                    }
                }
                other => other,
            });
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_store_and_prefix() {
        let s3 = parse_url("s3://perf-bucket/team/nightly/").unwrap();
        assert!(matches!(&s3.flavor, Flavor::S3 { bucket, .. } if bucket == "perf-bucket"));
        assert_eq!(s3.prefix, "team/nightly");
        assert_eq!(parse_url("s3://perf-bucket").unwrap().prefix, "");
        let file = parse_url("file:///data/perf/").unwrap();
        assert_eq!(
            file.flavor,
            Flavor::File {
                root: "/data/perf".into()
            }
        );
        assert_eq!(parse_url("memory://").unwrap().flavor, Flavor::Memory);
        assert_eq!(parse_url("memory://a/b").unwrap().prefix, "a/b");
    }

    #[test]
    fn bad_urls_are_config_errors_naming_the_setting() {
        for (url, needle) in [
            ("perf-bucket", "not a URL"),
            ("gs://bucket/p", "unknown scheme \"gs\""),
            ("s3://", "bucket \"\""),
            ("s3://Bad_Bucket/p", "bucket"),
            ("s3://bucket/a//b", "prefix segment \"\""),
            ("s3://bucket/a/../b", "prefix segment \"..\""),
            ("s3://bucket/p?versionId=1", "query strings"),
            ("file://relative/path", "absolute path"),
        ] {
            let err = parse_url(url).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{url}: {err}");
            let msg = err.to_string();
            assert!(msg.contains("PERF_OBJECT_STORE_URL"), "{msg}");
            assert!(msg.contains(needle), "{url}: {msg}");
        }
        let msg = parse_url("s3://AKIAEXAMPLE:s3cr3t@bucket/p")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("credentials"), "{msg}");
        assert!(!msg.contains("s3cr3t"), "the secret is not echoed: {msg}");
    }

    #[test]
    fn streamed_hash_agrees_with_the_whole_artifact() {
        let text = "é".repeat(1000);
        let mut h = StreamedHash::default();
        // Split inside a character.
        h.push(&text.as_bytes()[..1001]);
        h.push(&text.as_bytes()[1001..]);
        let meta = h.finish();
        assert_eq!(meta.size, text.len() as u64);
        assert_eq!(meta.hash, ContentHash::of(text.as_bytes()));
        assert_eq!(meta.kind, ArtifactKind::Text);
        let mut h = StreamedHash::default();
        h.push(&[0xff, 0x00]);
        assert_eq!(h.finish().kind, ArtifactKind::Binary);
    }
}
