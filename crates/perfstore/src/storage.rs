//! The backend interface ([`Storage`]), the typed helpers every backend gets ([`StorageExt`]),
//! and the handles users hold ([`Store`], [`TargetHandle`]).

use std::fmt;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath, ToKey};

/// What a backend can do, so callers and the conformance suite can adapt (like opendal's
/// capabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The backend records each artifact's [`crate::ArtifactKind`]; without it the kind is
    /// [inferred](crate::ArtifactKind::infer) from the bytes.
    pub records_kind: bool,
    /// A key may name an artifact and be a folder of other keys at once (`a` and `a/b`). Where
    /// not, saving one while the other exists is an [`Error::Conflict`].
    pub file_and_folder_keys: bool,
    /// Artifacts outlive the process.
    pub persistent: bool,
}

/// One backend: stores artifacts addressed by (session, target, key).
///
/// The trait is object safe; users hold a [`Store`] (an `Arc<dyn Storage>`) and call the typed
/// helpers of [`StorageExt`] or a [`TargetHandle`]. Semantics every backend shares, pinned by the
/// conformance suite (`perfstore::conformance`):
/// - a key holds one artifact; [`put`](Storage::put) replaces it atomically: a reader sees the
///   old artifact or the new one, never a mix;
/// - a missing artifact is `Ok(None)` / `Ok(false)`, never an error;
/// - [`list_keys`](Storage::list_keys) returns exactly the keys saved, sorted;
/// - sessions and targets are isolated; a target exists while it holds an artifact, a session
///   while it holds a target.
#[async_trait]
pub trait Storage: fmt::Debug + Send + Sync + 'static {
    /// The backend's name: `memory`, `local`, `cache_service`, …
    fn name(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Stores `artifact` at `path`, replacing what was there.
    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta>;

    /// The artifact at `path`, or `None`.
    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>>;

    /// Size, kind and hash of the artifact at `path`, or `None`.
    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        Ok(self.get(path).await?.map(|a| a.meta()))
    }

    /// Whether an artifact exists at `path` (an empty artifact exists).
    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        Ok(self.head(path).await?.is_some())
    }

    /// Deletes the artifact at `path`; `false` if there was none.
    async fn delete(&self, path: &ArtifactPath) -> Result<bool>;

    /// The keys of `target` that start with `prefix`, sorted.
    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>>;

    /// Every artifact of `target` with the bytes it takes in the store (a compressed artifact
    /// counts its compressed size), sorted by key. Backends answer from one listing; the
    /// default lists the keys and asks each one's size.
    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        let mut sizes = Vec::new();
        for key in self.list_keys(target, &KeyPrefix::all()).await? {
            if let Some(meta) = self.head(&target.artifact(key.clone())).await? {
                sizes.push((key, meta.size));
            }
        }
        Ok(sizes)
    }

    /// The sessions that hold at least one target or perfstore's records for the session,
    /// sorted; never the reserved session.
    async fn list_sessions(&self) -> Result<Vec<SessionName>>;

    /// The targets of `session` that hold at least one artifact, sorted; never the reserved
    /// target ([`crate::names::RESERVED_NAME`]).
    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>>;

    /// Every target of `session` that holds an artifact, with [`list_sizes`](Storage::list_sizes)
    /// of it, sorted by target: what a diff of two sessions needs to plan its reads. Backends
    /// answer from one walk or listing of the session; the default asks per target.
    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        let per_target = futures::stream::iter(self.list_targets(session).await?)
            .map(|target| async move {
                let path = TargetPath::new(session.clone(), target.clone());
                Ok::<_, Error>((target, self.list_sizes(&path).await?))
            })
            .buffered(16);
        let listed: Vec<TargetSizes> = per_target.try_collect().await?;
        Ok(listed
            .into_iter()
            .filter(|(_, sizes)| !sizes.is_empty())
            .collect())
    }

    /// Deletes `target` and every artifact in it; returns how many artifacts were deleted.
    async fn delete_target(&self, target: &TargetPath) -> Result<usize>;

    /// Stores the bytes `reader` yields at `path`, replacing what was there only once the
    /// stream has ended successfully: a stream that fails midway leaves no partial artifact and
    /// the previous one intact. Backends that record kinds record [`crate::ArtifactKind::Binary`].
    ///
    /// The default buffers the whole stream and calls [`put`](Storage::put); backends that
    /// can hold large artifacts override it to use bounded memory.
    async fn put_stream(
        &self,
        path: &ArtifactPath,
        mut reader: ByteReader,
    ) -> Result<ArtifactMeta> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|source| Error::Stream {
                path: path.clone(),
                source,
            })?;
        self.put(path, Artifact::binary(bytes)).await
    }

    /// The bytes of the artifact at `path` as a stream, or `None`.
    ///
    /// The default loads the whole artifact with [`get`](Storage::get); backends override it
    /// to read in bounded memory.
    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        Ok(self
            .get(path)
            .await?
            .map(|a| Box::pin(std::io::Cursor::new(a.into_bytes())) as ByteReader))
    }

    /// Stores many artifacts; one result per item, in order. Items are independent: one
    /// failure does not stop the others. The default runs [`BULK_CONCURRENCY`] puts at once;
    /// backends override it with a faster path.
    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        use futures::StreamExt;
        futures::stream::iter(items)
            .map(|(path, artifact)| async move { self.put(&path, artifact).await })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Loads many artifacts; one result per path, in order.
    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        use futures::StreamExt;
        futures::stream::iter(paths.iter().cloned())
            .map(|path| async move { self.get(&path).await })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Deletes many artifacts; one result per path, in order (`false`: there was none).
    async fn delete_many(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        use futures::StreamExt;
        futures::stream::iter(paths.iter().cloned())
            .map(|path| async move { self.delete(&path).await })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }
}

/// A target with its artifacts' stored sizes, as [`Storage::list_session_sizes`] gives them.
pub type TargetSizes = (TargetName, Vec<(Key, u64)>);

/// A stream of artifact bytes, as [`Storage::put_stream`] takes and [`Storage::get_stream`]
/// gives.
pub type ByteReader = Pin<Box<dyn AsyncRead + Send + 'static>>;

/// Reads the next chunk of a streaming save's input; its failure is [`Error::Stream`].
pub(crate) async fn read_input(
    reader: &mut ByteReader,
    buf: &mut [u8],
    path: &ArtifactPath,
) -> Result<usize> {
    reader.read(buf).await.map_err(|source| Error::Stream {
        path: path.clone(),
        source,
    })
}

/// How many operations the default bulk methods keep in flight.
pub const BULK_CONCURRENCY: usize = 32;

/// Typed helpers over any [`Storage`]: JSON via serde, text, bytes.
#[async_trait]
pub trait StorageExt: Storage {
    /// Saves `value` as a JSON artifact.
    async fn save<T: Serialize + Sync + ?Sized>(
        &self,
        path: &ArtifactPath,
        value: &T,
    ) -> Result<ArtifactMeta> {
        let artifact = Artifact::serialize(value).map_err(|source| Error::Serialize {
            path: path.clone(),
            source,
        })?;
        self.put(path, artifact).await
    }

    /// Loads a JSON artifact as `T`; `None` if missing; [`Error::NotJson`] if it is not JSON or
    /// not a `T`.
    async fn load<T: DeserializeOwned>(&self, path: &ArtifactPath) -> Result<Option<T>> {
        let Some(artifact) = self.get(path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(artifact.bytes())
            .map(Some)
            .map_err(|source| Error::NotJson {
                path: path.clone(),
                source,
            })
    }

    /// Saves a JSON value.
    async fn save_json(&self, path: &ArtifactPath, value: &Value) -> Result<ArtifactMeta> {
        self.put(path, Artifact::json(value)).await
    }

    /// Loads a JSON value (floats [normalised](crate::artifact::normalize_numbers), so it
    /// compares equal to the value saved).
    async fn load_json(&self, path: &ArtifactPath) -> Result<Option<Value>> {
        let mut value = self.load::<Value>(path).await?;
        if let Some(v) = value.as_mut() {
            crate::artifact::normalize_numbers(v);
        }
        Ok(value)
    }

    /// Saves UTF-8 text.
    async fn save_string(&self, path: &ArtifactPath, text: &str) -> Result<ArtifactMeta> {
        self.put(path, Artifact::text(text)).await
    }

    /// Loads an artifact as text (a JSON artifact gives its canonical text); [`Error::NotText`]
    /// if it is not UTF-8.
    async fn load_string(&self, path: &ArtifactPath) -> Result<Option<String>> {
        let Some(artifact) = self.get(path).await? else {
            return Ok(None);
        };
        let bytes = artifact.into_bytes();
        match std::str::from_utf8(&bytes) {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(source) => Err(Error::NotText {
                path: path.clone(),
                source,
            }),
        }
    }

    /// Saves raw bytes.
    async fn save_bytes(&self, path: &ArtifactPath, bytes: Bytes) -> Result<ArtifactMeta> {
        self.put(path, Artifact::binary(bytes)).await
    }

    /// Loads the stored bytes of any artifact.
    async fn load_bytes(&self, path: &ArtifactPath) -> Result<Option<Bytes>> {
        Ok(self.get(path).await?.map(Artifact::into_bytes))
    }

    /// Saves what `reader` yields, in bounded memory on backends that stream (see
    /// [`Storage::put_stream`]).
    async fn save_stream<R: AsyncRead + Send + 'static>(
        &self,
        path: &ArtifactPath,
        reader: R,
    ) -> Result<ArtifactMeta> {
        self.put_stream(path, Box::pin(reader)).await
    }

    /// The artifact's bytes as a stream, or `None` (see [`Storage::get_stream`]).
    async fn load_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        self.get_stream(path).await
    }

    /// The artifact at `path`, or [`Error::NotFound`].
    async fn require(&self, path: &ArtifactPath) -> Result<Artifact> {
        self.get(path)
            .await?
            .ok_or_else(|| Error::NotFound { path: path.clone() })
    }
}

impl<S: Storage + ?Sized> StorageExt for S {}

/// A cheap, clonable handle on a backend: what users hold.
///
/// Derefs to [`Storage`], so every backend method and every [`StorageExt`] helper is available.
///
/// ```
/// # tokio_test_block_on(async {
/// use perfstore::Store;
/// let store = Store::memory();
/// let run = store.target("nightly-2026-11-21", "parser")?;
/// run.save("results/metrics.json", &serde_json::json!({"p50_ms": 1.5})).await?;
/// assert_eq!(run.list_keys("").await?, ["results/metrics.json"]);
/// # Ok::<(), perfstore::Error>(()) });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f) }
/// ```
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Storage>,
}

impl Store {
    /// Wraps a backend.
    pub fn new(backend: impl Storage) -> Self {
        Self {
            backend: Arc::new(backend),
        }
    }

    /// Wraps a shared backend.
    pub fn from_arc(backend: Arc<dyn Storage>) -> Self {
        Self { backend }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Storage> {
        &self.backend
    }

    /// A handle on one target, validating both names.
    pub fn target(&self, session: &str, target: &str) -> Result<TargetHandle> {
        Ok(self.target_at(TargetPath::parse(session, target)?))
    }

    /// A handle on one target from validated names.
    pub fn target_at(&self, path: TargetPath) -> TargetHandle {
        TargetHandle {
            store: self.clone(),
            path,
        }
    }

    /// Deletes every target of `session` and the session's own records (its metadata), and
    /// nothing of any other session. Returns how many artifacts of its targets were deleted
    /// (the records not counted). Baselines naming the session are left as they are.
    pub async fn delete_session(&self, session: &SessionName) -> Result<usize> {
        let mut deleted = 0;
        for target in self.list_targets(session).await? {
            deleted += self
                .delete_target(&TargetPath::new(session.clone(), target))
                .await?;
        }
        self.delete_target(&TargetPath::records_of(session.clone()))
            .await?;
        Ok(deleted)
    }
}

impl Deref for Store {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Store").field(&self.backend).finish()
    }
}

/// One target of one session: the replacement for the original's mutable `set_context`.
///
/// Cheap to clone; holds no mutable state, so any number of handles (on the same or other
/// targets and sessions) can be used at once. Keys are given as `&str`, `String` or [`Key`] and
/// validated on each call.
#[derive(Clone, Debug)]
pub struct TargetHandle {
    store: Store,
    path: TargetPath,
}

impl TargetHandle {
    /// The (session, target) this handle addresses.
    pub fn path(&self) -> &TargetPath {
        &self.path
    }

    /// The session name.
    pub fn session(&self) -> &SessionName {
        &self.path.session
    }

    /// The target name.
    pub fn name(&self) -> &TargetName {
        &self.path.target
    }

    /// The store behind this handle.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A handle on another target of the same session.
    pub fn sibling(&self, target: &str) -> Result<TargetHandle> {
        Ok(self.store.target_at(TargetPath::new(
            self.path.session.clone(),
            TargetName::new(target)?,
        )))
    }

    /// A handle on the same target name in another session (e.g. a baseline).
    pub fn in_session(&self, session: &str) -> Result<TargetHandle> {
        Ok(self.store.target_at(TargetPath::new(
            SessionName::new(session)?,
            self.path.target.clone(),
        )))
    }

    /// The full path of `key` in this target.
    pub fn artifact(&self, key: impl ToKey) -> Result<ArtifactPath> {
        Ok(self.path.artifact(key.to_key()?))
    }

    /// Saves `value` as JSON.
    pub async fn save<T: Serialize + Sync + ?Sized>(
        &self,
        key: impl ToKey,
        value: &T,
    ) -> Result<ArtifactMeta> {
        self.store.save(&self.artifact(key)?, value).await
    }

    /// Loads a JSON artifact as `T`.
    pub async fn load<T: DeserializeOwned>(&self, key: impl ToKey) -> Result<Option<T>> {
        self.store.load(&self.artifact(key)?).await
    }

    /// Saves a JSON value.
    pub async fn save_json(&self, key: impl ToKey, value: &Value) -> Result<ArtifactMeta> {
        self.store.save_json(&self.artifact(key)?, value).await
    }

    /// Loads a JSON value.
    pub async fn load_json(&self, key: impl ToKey) -> Result<Option<Value>> {
        self.store.load_json(&self.artifact(key)?).await
    }

    /// Saves text.
    pub async fn save_string(&self, key: impl ToKey, text: &str) -> Result<ArtifactMeta> {
        self.store.save_string(&self.artifact(key)?, text).await
    }

    /// Loads text.
    pub async fn load_string(&self, key: impl ToKey) -> Result<Option<String>> {
        self.store.load_string(&self.artifact(key)?).await
    }

    /// Saves bytes.
    pub async fn save_bytes(
        &self,
        key: impl ToKey,
        bytes: impl Into<Bytes>,
    ) -> Result<ArtifactMeta> {
        self.store
            .save_bytes(&self.artifact(key)?, bytes.into())
            .await
    }

    /// Loads bytes.
    pub async fn load_bytes(&self, key: impl ToKey) -> Result<Option<Bytes>> {
        self.store.load_bytes(&self.artifact(key)?).await
    }

    /// Saves what `reader` yields (a file, stdin, a socket) in bounded memory where the backend
    /// streams; nothing is replaced unless the stream ends successfully.
    pub async fn save_stream<R: AsyncRead + Send + 'static>(
        &self,
        key: impl ToKey,
        reader: R,
    ) -> Result<ArtifactMeta> {
        self.store
            .put_stream(&self.artifact(key)?, Box::pin(reader))
            .await
    }

    /// The artifact's bytes as a stream, or `None`.
    pub async fn load_stream(&self, key: impl ToKey) -> Result<Option<ByteReader>> {
        self.store.get_stream(&self.artifact(key)?).await
    }

    /// Stores an artifact as built by the caller.
    pub async fn put(&self, key: impl ToKey, artifact: Artifact) -> Result<ArtifactMeta> {
        self.store.put(&self.artifact(key)?, artifact).await
    }

    /// The artifact, or `None`.
    pub async fn get(&self, key: impl ToKey) -> Result<Option<Artifact>> {
        self.store.get(&self.artifact(key)?).await
    }

    /// Size, kind and hash, or `None`.
    pub async fn head(&self, key: impl ToKey) -> Result<Option<ArtifactMeta>> {
        self.store.head(&self.artifact(key)?).await
    }

    /// Whether the artifact exists.
    pub async fn exists(&self, key: impl ToKey) -> Result<bool> {
        self.store.exists(&self.artifact(key)?).await
    }

    /// Deletes the artifact; `false` if there was none.
    pub async fn delete(&self, key: impl ToKey) -> Result<bool> {
        self.store.delete(&self.artifact(key)?).await
    }

    /// The keys starting with `prefix` (`""` for all), sorted.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<Key>> {
        self.store
            .list_keys(&self.path, &KeyPrefix::new(prefix)?)
            .await
    }

    /// Stores many artifacts of this target (see [`Storage::put_many`]); one result per item.
    /// A key that is not valid fails its own item only.
    pub async fn save_many<K: ToKey>(
        &self,
        items: impl IntoIterator<Item = (K, Artifact)>,
    ) -> Vec<Result<ArtifactMeta>> {
        let mut results: Vec<Option<Result<ArtifactMeta>>> = Vec::new();
        let mut valid = Vec::new();
        for (key, artifact) in items {
            match self.artifact(key) {
                Ok(path) => {
                    valid.push((results.len(), (path, artifact)));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let (slots, items): (Vec<usize>, Vec<_>) = valid.into_iter().unzip();
        for (slot, result) in slots.into_iter().zip(self.store.put_many(items).await) {
            results[slot] = Some(result);
        }
        results.into_iter().flatten().collect()
    }

    /// Loads many artifacts of this target; one result per key, in order.
    pub async fn load_many<K: ToKey>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<Artifact>>> {
        let paths = keys
            .into_iter()
            .map(|k| self.artifact(k))
            .collect::<Result<Vec<_>>>()?;
        self.store.get_many(&paths).await.into_iter().collect()
    }

    /// Deletes many artifacts of this target; one `bool` per key (`false`: there was none).
    pub async fn delete_many<K: ToKey>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<bool>> {
        let paths = keys
            .into_iter()
            .map(|k| self.artifact(k))
            .collect::<Result<Vec<_>>>()?;
        self.store.delete_many(&paths).await.into_iter().collect()
    }

    /// Deletes this target and everything in it; returns the number of artifacts deleted.
    pub async fn delete_all(&self) -> Result<usize> {
        self.store.delete_target(&self.path).await
    }
}
