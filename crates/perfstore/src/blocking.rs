//! A blocking facade over the async API, for scripts and simple synchronous tools.
//!
//! It owns a small tokio runtime. Do not call it from inside an async runtime (tokio panics on
//! nested `block_on`); async code uses [`Store`] directly.
//!
//! ```
//! use perfstore::blocking::BlockingStore;
//! let store = BlockingStore::new(perfstore::Store::memory())?;
//! let run = store.target("nightly", "parser")?;
//! run.save_string("reports/summary.md", "# All good")?;
//! assert_eq!(run.load_string("reports/summary.md")?.as_deref(), Some("# All good"));
//! # Ok::<(), perfstore::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::{Error, Result};
use crate::names::{Key, SessionName, TargetName, ToKey};
use crate::storage::{Store, TargetHandle};

/// A [`Store`] with blocking methods.
#[derive(Clone, Debug)]
pub struct BlockingStore {
    store: Store,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl BlockingStore {
    /// Wraps `store`, starting a current-thread runtime for it.
    pub fn new(store: Store) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Backend {
                backend: store.name(),
                message: format!("cannot start a runtime for the blocking facade: {e}"),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            store,
            runtime: Arc::new(runtime),
        })
    }

    /// The async store behind this facade.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A blocking handle on one target.
    pub fn target(&self, session: &str, target: &str) -> Result<BlockingTarget> {
        Ok(BlockingTarget {
            handle: self.store.target(session, target)?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// The sessions, sorted.
    pub fn list_sessions(&self) -> Result<Vec<SessionName>> {
        self.block_on(self.store.list_sessions())
    }

    /// The targets of `session`, sorted.
    pub fn list_targets(&self, session: &str) -> Result<Vec<TargetName>> {
        let session = SessionName::new(session)?;
        self.block_on(self.store.list_targets(&session))
    }
}

/// A [`TargetHandle`] with blocking methods.
#[derive(Clone, Debug)]
pub struct BlockingTarget {
    handle: TargetHandle,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl BlockingTarget {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The async handle behind this facade.
    pub fn handle(&self) -> &TargetHandle {
        &self.handle
    }

    /// Saves `value` as JSON.
    pub fn save<T: Serialize + Sync + ?Sized>(
        &self,
        key: impl ToKey,
        value: &T,
    ) -> Result<ArtifactMeta> {
        self.block_on(self.handle.save(key, value))
    }

    /// Loads a JSON artifact as `T`.
    pub fn load<T: DeserializeOwned>(&self, key: impl ToKey) -> Result<Option<T>> {
        self.block_on(self.handle.load(key))
    }

    /// Saves a JSON value.
    pub fn save_json(&self, key: impl ToKey, value: &Value) -> Result<ArtifactMeta> {
        self.block_on(self.handle.save_json(key, value))
    }

    /// Loads a JSON value.
    pub fn load_json(&self, key: impl ToKey) -> Result<Option<Value>> {
        self.block_on(self.handle.load_json(key))
    }

    /// Saves text.
    pub fn save_string(&self, key: impl ToKey, text: &str) -> Result<ArtifactMeta> {
        self.block_on(self.handle.save_string(key, text))
    }

    /// Loads text.
    pub fn load_string(&self, key: impl ToKey) -> Result<Option<String>> {
        self.block_on(self.handle.load_string(key))
    }

    /// Saves bytes.
    pub fn save_bytes(&self, key: impl ToKey, bytes: impl Into<Bytes>) -> Result<ArtifactMeta> {
        self.block_on(self.handle.save_bytes(key, bytes))
    }

    /// Loads bytes.
    pub fn load_bytes(&self, key: impl ToKey) -> Result<Option<Bytes>> {
        self.block_on(self.handle.load_bytes(key))
    }

    /// Stores an artifact.
    pub fn put(&self, key: impl ToKey, artifact: Artifact) -> Result<ArtifactMeta> {
        self.block_on(self.handle.put(key, artifact))
    }

    /// Size, kind and hash.
    pub fn head(&self, key: impl ToKey) -> Result<Option<ArtifactMeta>> {
        self.block_on(self.handle.head(key))
    }

    /// Whether the artifact exists.
    pub fn exists(&self, key: impl ToKey) -> Result<bool> {
        self.block_on(self.handle.exists(key))
    }

    /// Deletes the artifact.
    pub fn delete(&self, key: impl ToKey) -> Result<bool> {
        self.block_on(self.handle.delete(key))
    }

    /// The keys starting with `prefix`, sorted.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<Key>> {
        self.block_on(self.handle.list_keys(prefix))
    }

    /// Deletes the whole target.
    pub fn delete_all(&self) -> Result<usize> {
        self.block_on(self.handle.delete_all())
    }
}
