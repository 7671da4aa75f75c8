//! The file store: storage paths → bytes, on top of [`object_store`].
//!
//! The reference keeps every namespace in one backend keyed by slash-separated paths
//! (`demo/refs/by-id/…`); this is the same abstraction with the reference's semantics: a missing
//! file reads as `None`, deleting reports whether a file was there, and listings are derived from
//! file paths (folders exist only while they contain files).
//!
//! Paths that `object_store` cannot represent (empty segments, `.`/`..`, control characters)
//! never name a stored file: reads give `None` / `false`, writes fail with
//! [`StoreError::InvalidPath`].

pub mod s3;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::metrics::{StoreMetrics, StoreOperation};

/// A failure of the storage backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The path cannot be stored (empty segment, `.` or `..`, control character).
    #[error("invalid storage path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// The backend failed (I/O, network, permissions).
    #[error("storage backend error on {path:?}: {source}")]
    Backend {
        /// The path involved (`""` for listings of the root).
        path: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A conditional update kept losing to other writers (see [`FileStore::put_if`]).
    #[error(
        "storage file {path:?} kept changing under {attempts} attempts to update it (too many concurrent writers)"
    )]
    Contended {
        /// The file.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The local-disk root could not be created.
    #[error("cannot use {path:?} as the storage root: {source}")]
    Root {
        /// The root folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Bytes of a file read or written as a stream.
pub type ByteStream = std::pin::Pin<Box<dyn futures::Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Part size of a streamed write: S3's smallest multipart part, and what a write holds in memory
/// per part in flight.
pub const STREAM_PART_BYTES: usize = 5 << 20;
const STREAM_PARTS_IN_FLIGHT: usize = 2;
const STREAM_READ_BYTES: usize = 256 << 10;

/// Why a streamed write stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum StreamPutError {
    /// The body passed the size limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body failed before its end (the client went away, or sent a broken body).
    #[error("the body failed before its end: {0}")]
    Body(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which backend a [`FileStore`] uses; reported by `/server/storage/info` and
/// `/admin/storage/bucket-name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// In-process memory, lost on restart.
    Memory,
    /// A folder on local disk.
    LocalDisk {
        /// The root folder.
        root: PathBuf,
    },
    /// An S3 (or S3-compatible) bucket.
    S3 {
        /// The bucket.
        bucket: String,
    },
}

/// Paths → bytes over an [`ObjectStore`]. Cheap to clone.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    kind: StoreKind,
    /// Where operation latencies and errors go (`None`: not measured).
    metrics: Option<Arc<StoreMetrics>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("kind", &self.kind)
            .finish()
    }
}

/// A file found by a recursive listing, with the size and modification time the listing
/// itself reported (no extra request per file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Full path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// When the file was last written (resolution depends on the backend: S3 has seconds,
    /// local disk the file system's timestamp granularity).
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

/// What [`FileStore::get_if_changed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// No such file.
    Missing,
    /// The file still has the entity tag the caller knows; nothing was read.
    Unchanged,
    /// The file's bytes and its entity tag (`None` if the backend reports none).
    Changed {
        /// The whole file.
        bytes: Bytes,
        /// Its entity tag.
        e_tag: Option<String>,
    },
}

/// The version of a file that a conditional write ([`FileStore::put_if`]) must replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// No file at the path: the write creates it (`If-None-Match: *` on S3).
    Absent,
    /// The file with this entity tag (`If-Match` on S3).
    Tag(String),
}

/// What [`FileStore::put_if`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    /// Written; the new entity tag when the backend reports one.
    Written(Option<String>),
    /// Not written: the file is not (or no longer) the expected version.
    Conflict,
}

/// Direct children of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Full paths of the files directly in the folder, sorted.
    pub files: Vec<String>,
    /// Full paths of the sub-folders, sorted.
    pub folders: Vec<String>,
}

impl FileStore {
    /// An in-memory store.
    pub fn memory() -> Self {
        FileStore {
            inner: Arc::new(InMemory::new()),
            kind: StoreKind::Memory,
            metrics: None,
        }
    }

    /// A store rooted at `root` on local disk (created if missing). Files are plain files at
    /// `root/<path>`, the layout of the reference's `local_disk` mode.
    pub fn local_disk(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| StoreError::Root {
            path: root.clone(),
            source,
        })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(&root)
            .map_err(|source| StoreError::Backend {
                path: root.display().to_string(),
                source,
            })?
            // Folders are derived from files, so delete the folders a delete leaves empty.
            .with_automatic_cleanup(true);
        Ok(FileStore {
            inner: Arc::new(fs),
            kind: StoreKind::LocalDisk { root },
            metrics: None,
        })
    }

    /// A store over any [`ObjectStore`] (e.g. S3), described by `kind`.
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, kind: StoreKind) -> Self {
        FileStore {
            inner,
            kind,
            metrics: None,
        }
    }

    /// The backend kind.
    pub fn kind(&self) -> &StoreKind {
        &self.kind
    }

    /// The same store, recording every operation's latency and errors in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<StoreMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs one operation, timing it when metrics are attached.
    async fn timed<T>(
        &self,
        operation: StoreOperation,
        run: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some(metrics) = &self.metrics else {
            return run.await;
        };
        let started = Instant::now();
        let result = run.await;
        metrics.observe(operation, started.elapsed(), result.is_err());
        result
    }

    fn parse(path: &str) -> Result<Path, StoreError> {
        if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
            return Err(StoreError::InvalidPath {
                path: path.to_owned(),
                reason: "a file path must not be empty or start or end with '/'".to_owned(),
            });
        }
        Path::parse(path).map_err(|e| StoreError::InvalidPath {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// A folder prefix, `None` for the root. Leading and trailing `/` are ignored, as the
    /// reference's listings do.
    fn folder(path: &str) -> Option<Result<Path, StoreError>> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return None;
        }
        Some(Path::parse(trimmed).map_err(|e| StoreError::InvalidPath {
            path: path.to_owned(),
            reason: e.to_string(),
        }))
    }

    /// Writes (creates or replaces) a file.
    pub async fn put(&self, path: &str, data: Bytes) -> Result<(), StoreError> {
        self.put_tagged(path, data).await.map(|_| ())
    }

    /// [`Self::put`], returning the entity tag of the written file when the backend reports one
    /// (the tag [`Self::get_if_changed`] compares against).
    pub async fn put_tagged(&self, path: &str, data: Bytes) -> Result<Option<String>, StoreError> {
        self.timed(StoreOperation::Put, self.put_untimed(path, data))
            .await
    }

    async fn put_untimed(&self, path: &str, data: Bytes) -> Result<Option<String>, StoreError> {
        let location = Self::parse(path)?;
        self.inner
            .put(&location, PutPayload::from_bytes(data))
            .await
            .map(|result| result.e_tag)
            .map_err(|source| StoreError::Backend {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes `data` only if the file is still the `expected` version: one conditional request
    /// on S3 and in memory (object_store's `PutMode::Create` / `PutMode::Update`). On local
    /// disk, which has no atomic compare-and-replace, conditional writes of one path are
    /// serialised in this process (a striped lock) and the file's tag is compared before an
    /// atomic rename replaces it; so the guarantee holds between the writers of one process.
    pub async fn put_if(
        &self,
        path: &str,
        data: Bytes,
        expected: &Expected,
    ) -> Result<Conditional, StoreError> {
        self.timed(
            StoreOperation::Put,
            self.put_if_untimed(path, data, expected),
        )
        .await
    }

    async fn put_if_untimed(
        &self,
        path: &str,
        data: Bytes,
        expected: &Expected,
    ) -> Result<Conditional, StoreError> {
        let location = Self::parse(path)?;
        let backend = |source| StoreError::Backend {
            path: path.to_owned(),
            source,
        };
        if let StoreKind::LocalDisk { root } = &self.kind {
            let _serialised = local_cas_lock(&root.join(path)).await;
            if let Expected::Tag(tag) = expected {
                let current = match self.inner.head(&location).await {
                    Ok(meta) => meta.e_tag,
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(source) => return Err(backend(source)),
                };
                if current.as_deref() != Some(tag.as_str()) {
                    return Ok(Conditional::Conflict);
                }
                return self
                    .inner
                    .put(&location, PutPayload::from_bytes(data))
                    .await
                    .map(|r| Conditional::Written(r.e_tag))
                    .map_err(backend);
            }
        }
        let mode = match expected {
            Expected::Absent => object_store::PutMode::Create,
            Expected::Tag(tag) => object_store::PutMode::Update(object_store::UpdateVersion {
                e_tag: Some(tag.clone()),
                version: None,
            }),
        };
        match self
            .inner
            .put_opts(&location, PutPayload::from_bytes(data), mode.into())
            .await
        {
            Ok(result) => Ok(Conditional::Written(result.e_tag)),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Ok(Conditional::Conflict),
            Err(source) => Err(backend(source)),
        }
    }

    /// Writes a file from `body` as it arrives, in bounded memory (parts of
    /// [`STREAM_PART_BYTES`]); returns its size. The file appears only once `body` has ended
    /// well: a body that fails or passes `limit` bytes aborts the upload and leaves any previous
    /// file as it was.
    pub async fn put_stream<S, E>(
        &self,
        path: &str,
        body: S,
        limit: u64,
    ) -> Result<u64, StreamPutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        // Only the store's own failures count as storage errors, not a client's broken body.
        let mut outcome = None;
        let timed = self
            .timed(StoreOperation::PutStream, async {
                match self.put_stream_untimed(path, body, limit).await {
                    Err(StreamPutError::Store(e)) => Err(e),
                    other => {
                        outcome = Some(other);
                        Ok(())
                    }
                }
            })
            .await;
        match (timed, outcome) {
            (Err(e), _) => Err(StreamPutError::Store(e)),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StreamPutError::Body("the upload did not run".to_owned())),
        }
    }

    async fn put_stream_untimed<S, E>(
        &self,
        path: &str,
        body: S,
        limit: u64,
    ) -> Result<u64, StreamPutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        use futures::StreamExt;
        let location = Self::parse(path)?;
        // While it runs, its staging file (`{path}#N` on local disk) is not reclaimed.
        let _live = match &self.kind {
            StoreKind::LocalDisk { root } => Some(LiveUpload::register(root.join(path))),
            _ => None,
        };
        let backend = |source| StoreError::Backend {
            path: path.to_owned(),
            source,
        };
        let mut written = 0u64;
        let mut body = std::pin::pin!(body);
        // On S3 a body smaller than one part is one PUT: one request instead of three (create,
        // part, complete), holding no more than a part would. Local disk streams to its staging
        // file from the first byte (no request to save).
        let mut head = bytes::BytesMut::new();
        let buffer_first = !matches!(self.kind, StoreKind::LocalDisk { .. });
        while buffer_first && head.len() < STREAM_PART_BYTES {
            match body.next().await {
                None => {
                    self.inner
                        .put(&location, PutPayload::from_bytes(head.freeze()))
                        .await
                        .map_err(backend)?;
                    return Ok(written);
                }
                Some(Ok(chunk)) => {
                    written += chunk.len() as u64;
                    if written > limit {
                        return Err(StreamPutError::TooLarge { limit });
                    }
                    head.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(StreamPutError::Body(e.to_string())),
            }
        }
        let upload = self.inner.put_multipart(&location).await.map_err(backend)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, STREAM_PART_BYTES);
        if !head.is_empty() {
            writer.write(&head);
        }
        drop(head);
        while let Some(chunk) = body.next().await {
            let failure = match chunk {
                Ok(chunk) => {
                    written += chunk.len() as u64;
                    if written > limit {
                        Some(StreamPutError::TooLarge { limit })
                    } else {
                        match writer.wait_for_capacity(STREAM_PARTS_IN_FLIGHT).await {
                            Ok(()) => {
                                // Copied: a body chunk can pin a much larger receive buffer.
                                writer.write(&chunk);
                                None
                            }
                            Err(source) => Some(StreamPutError::Store(backend(source))),
                        }
                    }
                }
                Err(e) => Some(StreamPutError::Body(e.to_string())),
            };
            if let Some(failure) = failure {
                // Best effort: an upload never completed is invisible either way.
                let _ = writer.abort().await;
                return Err(failure);
            }
        }
        writer.finish().await.map_err(backend)?;
        Ok(written)
    }

    /// Copies a file within the store (replacing `to`).
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let (source, target) = (Self::parse(from)?, Self::parse(to)?);
        self.timed(StoreOperation::Put, async {
            self.inner
                .copy(&source, &target)
                .await
                .map_err(|source| StoreError::Backend {
                    path: to.to_owned(),
                    source,
                })
        })
        .await
    }

    /// A file's size and its bytes as a stream of chunks (never read whole); `None` if it
    /// does not exist.
    pub async fn get_stream(&self, path: &str) -> Result<Option<(u64, ByteStream)>, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(None);
        };
        let result = match self
            .timed(StoreOperation::GetStream, async {
                self.inner
                    .get(&location)
                    .await
                    .map_err(|source| StoreError::Backend {
                        path: path.to_owned(),
                        source,
                    })
            })
            .await
        {
            Ok(result) => result,
            Err(StoreError::Backend {
                source: object_store::Error::NotFound { .. },
                ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let size = result.meta.size;
        let stream: ByteStream = match result.payload {
            // Larger reads than object_store's 8 KiB chunks: fewer syscalls and frames.
            object_store::GetResultPayload::File(file, _) => {
                Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    tokio::fs::File::from_std(file),
                    STREAM_READ_BYTES,
                ))
            }
            object_store::GetResultPayload::Stream(stream) => {
                Box::pin(stream.map_err(std::io::Error::other))
            }
        };
        Ok(Some((size, stream)))
    }

    /// Reads a file; `None` if it does not exist (or the path cannot exist).
    pub async fn get(&self, path: &str) -> Result<Option<Bytes>, StoreError> {
        self.timed(StoreOperation::Get, self.get_untimed(path))
            .await
    }

    async fn get_untimed(&self, path: &str) -> Result<Option<Bytes>, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(None);
        };
        match self.inner.get(&location).await {
            Ok(result) => result
                .bytes()
                .await
                .map(Some)
                .or_else(|source| not_found_as_none(path, source)),
            Err(source) => not_found_as_none(path, source),
        }
    }

    /// Reads a file unless it still has the entity tag `known` (one conditional request,
    /// `If-None-Match` on S3): [`Fetched::Unchanged`] then, without reading it.
    pub async fn get_if_changed(
        &self,
        path: &str,
        known: Option<&str>,
    ) -> Result<Fetched, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(Fetched::Missing);
        };
        let options = GetOptions::new().with_if_none_match(known);
        self.timed(StoreOperation::Get, async {
            let result = match self.inner.get_opts(&location, options).await {
                Ok(result) => result,
                Err(object_store::Error::NotModified { .. }) => return Ok(Fetched::Unchanged),
                Err(source) => return not_found_as_none(path, source).map(|_| Fetched::Missing),
            };
            let e_tag = result.meta.e_tag.clone();
            match result.bytes().await {
                Ok(bytes) => Ok(Fetched::Changed { bytes, e_tag }),
                Err(source) => not_found_as_none(path, source).map(|_| Fetched::Missing),
            }
        })
        .await
    }

    /// The last `max` bytes of a file (all of it when smaller); `None` if it does not exist.
    /// One ranged request: its cost does not grow with the file.
    pub async fn get_tail(&self, path: &str, max: u64) -> Result<Option<Bytes>, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(None);
        };
        let options = GetOptions {
            range: Some(GetRange::Suffix(max)),
            ..GetOptions::default()
        };
        self.timed(StoreOperation::GetRange, async {
            match self.inner.get_opts(&location, options).await {
                Ok(result) => result
                    .bytes()
                    .await
                    .map(Some)
                    .or_else(|source| not_found_as_none(path, source)),
                Err(source) => not_found_as_none(path, source),
            }
        })
        .await
    }

    /// Reads a file only if it holds at most `max` bytes: its bytes, or [`BoundedRead::TooLarge`]
    /// with its size (nothing read); `None` if it does not exist. One request on every backend.
    pub async fn get_bounded(
        &self,
        path: &str,
        max: u64,
    ) -> Result<Option<BoundedRead>, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(None);
        };
        self.timed(StoreOperation::Get, async {
            let result = match self.inner.get(&location).await {
                Ok(result) => result,
                Err(source) => return not_found_as_none(path, source).map(|_| None),
            };
            if result.meta.size > max {
                return Ok(Some(BoundedRead::TooLarge(result.meta.size)));
            }
            match result.bytes().await {
                Ok(bytes) => Ok(Some(BoundedRead::Whole(bytes))),
                Err(source) => not_found_as_none(path, source).map(|_| None),
            }
        })
        .await
    }

    /// Whether a file exists.
    pub async fn exists(&self, path: &str) -> Result<bool, StoreError> {
        self.timed(StoreOperation::Exists, self.exists_untimed(path))
            .await
    }

    async fn exists_untimed(&self, path: &str) -> Result<bool, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(false);
        };
        match self.inner.head(&location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(StoreError::Backend {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Deletes a file; `false` if there was none.
    pub async fn delete(&self, path: &str) -> Result<bool, StoreError> {
        self.timed(StoreOperation::Delete, self.delete_untimed(path))
            .await
    }

    async fn delete_untimed(&self, path: &str) -> Result<bool, StoreError> {
        if !self.exists(path).await? {
            return Ok(false);
        }
        let location = Self::parse(path)?;
        match self.inner.delete(&location).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(StoreError::Backend {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Every file below `folder` (recursively) with its size and modification time, sorted by
    /// path; `""` lists everything. One listing, never a request per file.
    pub async fn list_files(&self, folder: &str) -> Result<Vec<StoredFile>, StoreError> {
        self.timed(StoreOperation::ListFiles, self.list_files_untimed(folder))
            .await
    }

    /// Full paths of every file below `folder`, sorted ([`Self::list_files`] without the
    /// metadata).
    pub async fn list_paths(&self, folder: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .list_files(folder)
            .await?
            .into_iter()
            .map(|f| f.path)
            .collect())
    }

    async fn list_files_untimed(&self, folder: &str) -> Result<Vec<StoredFile>, StoreError> {
        let prefix = match Self::folder(folder) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => return Ok(Vec::new()),
        };
        let mut files: Vec<StoredFile> = self
            .inner
            .list(prefix.as_ref())
            .map_ok(|meta| StoredFile {
                path: meta.location.to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })
            .try_collect()
            .await
            .map_err(|source| StoreError::Backend {
                path: folder.to_owned(),
                source,
            })?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Files and sub-folders directly in `folder` (`""` for the root).
    pub async fn list_dir(&self, folder: &str) -> Result<Listing, StoreError> {
        self.timed(StoreOperation::ListDir, self.list_dir_untimed(folder))
            .await
    }

    async fn list_dir_untimed(&self, folder: &str) -> Result<Listing, StoreError> {
        let prefix = match Self::folder(folder) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => return Ok(Listing::default()),
        };
        let result = self
            .inner
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|source| StoreError::Backend {
                path: folder.to_owned(),
                source,
            })?;
        let mut files: Vec<String> = result
            .objects
            .into_iter()
            .map(|m| m.location.to_string())
            .collect();
        let mut folders: Vec<String> = result
            .common_prefixes
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        files.sort();
        folders.sort();
        Ok(Listing { files, folders })
    }

    /// Checks that the backend answers (lists the root), so that a missing bucket or bad
    /// credentials fail at start-up rather than on the first request.
    pub async fn verify(&self) -> Result<(), StoreError> {
        self.timed(StoreOperation::Verify, self.verify_untimed())
            .await
    }

    async fn verify_untimed(&self) -> Result<(), StoreError> {
        self.inner
            .list_with_delimiter(None)
            .await
            .map(|_| ())
            .map_err(|source| StoreError::Backend {
                path: String::new(),
                source,
            })
    }

    /// Size in bytes of a file, `None` if it does not exist.
    pub async fn size(&self, path: &str) -> Result<Option<u64>, StoreError> {
        self.timed(StoreOperation::Size, self.size_untimed(path))
            .await
    }

    async fn size_untimed(&self, path: &str) -> Result<Option<u64>, StoreError> {
        let Ok(location) = Self::parse(path) else {
            return Ok(None);
        };
        match self.inner.head(&location).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(StoreError::Backend {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// Default grace of [`FileStore::reclaim_staging`] in the server: staging files untouched for
/// an hour belong to uploads that died (issue 12 W2).
pub const DEFAULT_STAGING_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Destinations (absolute paths) of the streamed uploads in progress in this process, with
/// how many uploads write each.
static LIVE_UPLOADS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<PathBuf, usize>>,
> = std::sync::LazyLock::new(Default::default);

/// Serialises [`FileStore::put_if`] on local disk per destination (striped: paths may share).
async fn local_cas_lock(dest: &std::path::Path) -> tokio::sync::MutexGuard<'static, ()> {
    use std::hash::{Hash, Hasher};
    const STRIPES: usize = 64;
    static LOCKS: std::sync::LazyLock<Vec<tokio::sync::Mutex<()>>> =
        std::sync::LazyLock::new(|| (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dest.hash(&mut hasher);
    LOCKS[(hasher.finish() % STRIPES as u64) as usize]
        .lock()
        .await
}

/// Registers a streamed upload's destination while it runs.
struct LiveUpload(PathBuf);

impl LiveUpload {
    fn register(dest: PathBuf) -> Self {
        *LIVE_UPLOADS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(dest.clone())
            .or_default() += 1;
        LiveUpload(dest)
    }

    fn is_live(dest: &std::path::Path) -> bool {
        LIVE_UPLOADS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(dest)
    }
}

impl Drop for LiveUpload {
    fn drop(&mut self) {
        let mut live = LIVE_UPLOADS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = live.get_mut(&self.0) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.0);
            }
        }
    }
}

/// What [`FileStore::reclaim_staging`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reclaimed {
    /// Staging files deleted.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The destination of a local-disk staging file: `object_store` writes `{dest}#{N}` and
/// renames it over `dest` when complete; such names (first `#` followed by digits only) are
/// never listed, and no stored file can have one.
fn staging_destination(path: &std::path::Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (dest, suffix) = name.split_once('#')?;
    if dest.is_empty() || suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(path.with_file_name(dest))
}

fn reclaim_staging_under(root: &std::path::Path, grace: std::time::Duration) -> Reclaimed {
    let now = std::time::SystemTime::now();
    let mut reclaimed = Reclaimed::default();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
                continue;
            }
            let Some(dest) = staging_destination(&path) else {
                continue;
            };
            if LiveUpload::is_live(&dest) {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age < grace {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), bytes = meta.len(), age_secs = age.as_secs(), "reclaimed the staging file of a dead upload");
                    reclaimed.files += 1;
                    reclaimed.bytes += meta.len();
                    // Folders exist only while they hold files: remove the ones left empty.
                    let mut parent = path.parent();
                    while let Some(dir) = parent {
                        if dir == root || std::fs::remove_dir(dir).is_err() {
                            break;
                        }
                        parent = dir.parent();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete a staging file")
                }
            }
        }
    }
    reclaimed
}

impl FileStore {
    /// Deletes the staging files of uploads that died (the process was killed mid-upload):
    /// on local disk, every `{path}#{N}` file not modified for `grace` whose upload is not in
    /// progress in this process. Other backends have none to reclaim (an S3 bucket aborts
    /// incomplete multipart uploads with a lifecycle rule). Walks the whole folder, off the
    /// async threads.
    pub async fn reclaim_staging(&self, grace: std::time::Duration) -> Reclaimed {
        let StoreKind::LocalDisk { root } = &self.kind else {
            return Reclaimed::default();
        };
        let root = root.clone();
        tokio::task::spawn_blocking(move || reclaim_staging_under(&root, grace))
            .await
            .unwrap_or_default()
    }
}

/// What [`FileStore::get_bounded`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundedRead {
    /// The whole file.
    Whole(Bytes),
    /// The file's size, over the bound; nothing was read.
    TooLarge(u64),
}

fn not_found_as_none(path: &str, source: object_store::Error) -> Result<Option<Bytes>, StoreError> {
    match source {
        object_store::Error::NotFound { .. } => Ok(None),
        source => Err(StoreError::Backend {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(store: FileStore) {
        assert_eq!(store.get("a/b.json").await.unwrap(), None);
        store
            .put("a/b.json", Bytes::from_static(b"x"))
            .await
            .unwrap();
        store
            .put("a/c/d.bin", Bytes::from_static(b"yz"))
            .await
            .unwrap();
        store
            .put("e f/g.txt", Bytes::from_static(b""))
            .await
            .unwrap();
        assert_eq!(store.get("a/b.json").await.unwrap().unwrap(), &b"x"[..]);
        assert!(store.exists("a/c/d.bin").await.unwrap());
        assert!(!store.exists("a/c").await.unwrap());
        assert_eq!(store.size("a/c/d.bin").await.unwrap(), Some(2));
        assert_eq!(
            store.list_paths("a").await.unwrap(),
            vec!["a/b.json".to_owned(), "a/c/d.bin".to_owned()]
        );
        let listed = store.list_files("a").await.unwrap();
        assert_eq!(
            listed.iter().map(|f| f.size).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(store.list_files("").await.unwrap().len(), 3);
        let root = store.list_dir("/").await.unwrap();
        assert_eq!(root.folders, vec!["a".to_owned(), "e f".to_owned()]);
        let a = store.list_dir("a/").await.unwrap();
        assert_eq!(a.files, vec!["a/b.json".to_owned()]);
        assert_eq!(a.folders, vec!["a/c".to_owned()]);
        assert!(store.delete("a/c/d.bin").await.unwrap());
        assert!(!store.delete("a/c/d.bin").await.unwrap());
        assert_eq!(
            store.list_dir("a").await.unwrap().folders,
            Vec::<String>::new()
        );
        // Paths object_store cannot hold never exist and cannot be written.
        assert_eq!(store.get("a/../b").await.unwrap(), None);
        assert!(!store.exists("a//b").await.unwrap());
        assert!(store.put("a//b", Bytes::new()).await.is_err());
        assert!(store.list_files("..").await.unwrap().is_empty());
    }

    async fn conditional_writes(store: FileStore) {
        let created = store
            .put_if("r/h.json", Bytes::from_static(b"1"), &Expected::Absent)
            .await
            .unwrap();
        let Conditional::Written(Some(first)) = created else {
            panic!("a create of a missing file writes and reports a tag: {created:?}");
        };
        // A second create, or an update against a tag that is not current, changes nothing.
        assert_eq!(
            store
                .put_if("r/h.json", Bytes::from_static(b"2"), &Expected::Absent)
                .await
                .unwrap(),
            Conditional::Conflict
        );
        let Conditional::Written(Some(second)) = store
            .put_if(
                "r/h.json",
                Bytes::from_static(b"22"),
                &Expected::Tag(first.clone()),
            )
            .await
            .unwrap()
        else {
            panic!("an update against the current tag writes");
        };
        assert_ne!(first, second);
        assert_eq!(
            store
                .put_if("r/h.json", Bytes::from_static(b"3"), &Expected::Tag(first))
                .await
                .unwrap(),
            Conditional::Conflict
        );
        assert_eq!(store.get("r/h.json").await.unwrap().unwrap(), &b"22"[..]);
        // The tag a read reports is the one an update must name.
        let Fetched::Changed {
            e_tag: Some(read), ..
        } = store.get_if_changed("r/h.json", None).await.unwrap()
        else {
            panic!("the file reads with a tag");
        };
        assert_eq!(read, second);
        assert!(store.delete("r/h.json").await.unwrap());
        assert_eq!(
            store
                .put_if("r/h.json", Bytes::from_static(b"4"), &Expected::Tag(second))
                .await
                .unwrap(),
            Conditional::Conflict,
            "an update of a deleted file is a conflict, not a re-creation"
        );
        assert_eq!(store.get("r/h.json").await.unwrap(), None);
    }

    #[tokio::test]
    async fn conditional_writes_on_memory_and_local_disk() {
        conditional_writes(FileStore::memory()).await;
        let dir = tempfile::tempdir().unwrap();
        conditional_writes(FileStore::local_disk(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn memory_store_semantics() {
        exercise(FileStore::memory()).await;
    }

    #[tokio::test]
    async fn local_disk_store_semantics_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::local_disk(dir.path()).unwrap();
        exercise(store.clone()).await;
        assert_eq!(std::fs::read(dir.path().join("a/b.json")).unwrap(), b"x");
        assert!(dir.path().join("e f/g.txt").is_file());
        assert!(!dir.path().join("a/c").exists());
    }
}
