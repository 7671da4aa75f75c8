//! A tracing layer over any backend: every operation runs inside a `perfstore.storage` span
//! ([`TracedStorage`]).
//!
//! Separate from the [metrics layer](crate::layers::metrics) so each does one thing and either can be
//! used alone; stack them with `store.with_tracing().with_metrics()`.
//!
//! Each span is at `DEBUG` level, named `perfstore.storage`, with the fields:
//! - `op`: the operation ([`StorageOp::as_str`]), `backend`: the backend's name;
//! - single-artifact operations: `session`, `target`, `key`;
//! - `list_keys`: `session`, `target`, `prefix`; `list_targets`: `session`; `delete_target`:
//!   `session`, `target`;
//! - bulk operations: `items`, the number of items.
//!
//! A failed operation logs one event inside its span: at `DEBUG` when the caller's input or
//! the state of the store explains it (a bad name, a missing artifact, a key conflict, a
//! failing input stream), at `WARN` otherwise (I/O, the service, a damaged artifact). A bulk
//! operation logs one event for its failed items (how many, and the first error). A reader
//! from [`Storage::get_stream`] reads inside the span too and logs a failed read.
//!
//! The span's fields are formatted only when a subscriber enables it, so an unobserved span
//! costs little more than a level check.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::io::{AsyncRead, ReadBuf};
use tracing::{Instrument, Span};

use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::{Error, Result};
use crate::layers::metrics::StorageOp;
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{ByteReader, Capabilities, Storage, Store, TargetSizes};

/// The name of every span this layer opens.
pub const SPAN_NAME: &str = "perfstore.storage";

/// A [`Storage`] that forwards every call to another inside a tracing span (see the
/// [module docs](self)).
pub struct TracedStorage {
    inner: Arc<dyn Storage>,
}

impl TracedStorage {
    /// Traces the operations of `inner`.
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self { inner }
    }

    /// The backend being traced.
    pub fn inner(&self) -> &Arc<dyn Storage> {
        &self.inner
    }

    fn artifact_span(&self, op: StorageOp, path: &ArtifactPath) -> Span {
        tracing::debug_span!(
            "perfstore.storage",
            op = op.as_str(),
            backend = self.inner.name(),
            session = %path.session(),
            target = %path.target_name(),
            key = %path.key,
        )
    }

    fn target_span(&self, op: StorageOp, target: &TargetPath) -> Span {
        tracing::debug_span!(
            "perfstore.storage",
            op = op.as_str(),
            backend = self.inner.name(),
            session = %target.session,
            target = %target.target,
        )
    }

    fn bulk_span(&self, op: StorageOp, items: usize) -> Span {
        tracing::debug_span!(
            "perfstore.storage",
            op = op.as_str(),
            backend = self.inner.name(),
            items,
        )
    }
}

impl fmt::Debug for TracedStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedStorage")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Store {
    /// This store behind a [`TracedStorage`] layer.
    pub fn with_tracing(self) -> Store {
        Store::new(TracedStorage::new(self.backend().clone()))
    }
}

/// Whether the caller's input or the store's state explains `error` (logged at `DEBUG`), as
/// opposed to a failure of the backend itself (logged at `WARN`).
fn is_expected(error: &Error) -> bool {
    error.is_invalid_input()
        || error.is_not_found()
        || matches!(
            error,
            Error::Conflict { .. }
                | Error::NotJson { .. }
                | Error::NotText { .. }
                | Error::Stream { .. }
        )
}

fn log_error(error: &Error) {
    if is_expected(error) {
        tracing::debug!(error = %error, "storage operation failed");
    } else {
        tracing::warn!(error = %error, "storage operation failed");
    }
}

/// Logs the error of `result`, if any, and passes it on.
fn logged<T>(result: Result<T>) -> Result<T> {
    if let Err(error) = &result {
        log_error(error);
    }
    result
}

/// Logs one event for the failed items of a bulk result, and passes it on.
fn logged_items<T>(results: Vec<Result<T>>) -> Vec<Result<T>> {
    let mut failed = results.iter().filter_map(|r| r.as_ref().err());
    if let Some(first) = failed.next() {
        let count = 1 + failed.count();
        if results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(is_expected)
        {
            tracing::debug!(failed = count, first_error = %first, "bulk items failed");
        } else {
            tracing::warn!(failed = count, first_error = %first, "bulk items failed");
        }
    }
    results
}

#[async_trait]
impl Storage for TracedStorage {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let span = self.artifact_span(StorageOp::Put, path);
        async { logged(self.inner.put(path, artifact).await) }
            .instrument(span)
            .await
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        let span = self.artifact_span(StorageOp::Get, path);
        async { logged(self.inner.get(path).await) }
            .instrument(span)
            .await
    }

    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        let span = self.artifact_span(StorageOp::Head, path);
        async { logged(self.inner.head(path).await) }
            .instrument(span)
            .await
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        let span = self.artifact_span(StorageOp::Exists, path);
        async { logged(self.inner.exists(path).await) }
            .instrument(span)
            .await
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let span = self.artifact_span(StorageOp::Delete, path);
        async { logged(self.inner.delete(path).await) }
            .instrument(span)
            .await
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let span = tracing::debug_span!(
            "perfstore.storage",
            op = StorageOp::ListKeys.as_str(),
            backend = self.inner.name(),
            session = %target.session,
            target = %target.target,
            prefix = %prefix,
        );
        async { logged(self.inner.list_keys(target, prefix).await) }
            .instrument(span)
            .await
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        let span = tracing::debug_span!(
            "perfstore.storage",
            op = StorageOp::ListKeys.as_str(),
            backend = self.inner.name(),
            session = %target.session,
            target = %target.target,
        );
        async { logged(self.inner.list_sizes(target).await) }
            .instrument(span)
            .await
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        let span = tracing::debug_span!(
            "perfstore.storage",
            op = StorageOp::ListSessions.as_str(),
            backend = self.inner.name(),
        );
        async { logged(self.inner.list_sessions().await) }
            .instrument(span)
            .await
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        let span = tracing::debug_span!(
            "perfstore.storage",
            op = StorageOp::ListTargets.as_str(),
            backend = self.inner.name(),
            session = %session,
        );
        async { logged(self.inner.list_targets(session).await) }
            .instrument(span)
            .await
    }

    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        let span = tracing::debug_span!(
            "perfstore.storage",
            op = StorageOp::ListTargets.as_str(),
            backend = self.inner.name(),
            session = %session,
        );
        async { logged(self.inner.list_session_sizes(session).await) }
            .instrument(span)
            .await
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let span = self.target_span(StorageOp::DeleteTarget, target);
        async { logged(self.inner.delete_target(target).await) }
            .instrument(span)
            .await
    }

    async fn put_stream(&self, path: &ArtifactPath, reader: ByteReader) -> Result<ArtifactMeta> {
        let span = self.artifact_span(StorageOp::PutStream, path);
        async { logged(self.inner.put_stream(path, reader).await) }
            .instrument(span)
            .await
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        let span = self.artifact_span(StorageOp::GetStream, path);
        let opened = async { logged(self.inner.get_stream(path).await) }
            .instrument(span.clone())
            .await?;
        Ok(opened.map(|inner| Box::pin(TracedReader { inner, span }) as ByteReader))
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        let span = self.bulk_span(StorageOp::PutMany, items.len());
        async { logged_items(self.inner.put_many(items).await) }
            .instrument(span)
            .await
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        let span = self.bulk_span(StorageOp::GetMany, paths.len());
        async { logged_items(self.inner.get_many(paths).await) }
            .instrument(span)
            .await
    }

    async fn delete_many(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        let span = self.bulk_span(StorageOp::DeleteMany, paths.len());
        async { logged_items(self.inner.delete_many(paths).await) }
            .instrument(span)
            .await
    }
}

/// A `get_stream` reader that reads inside the operation's span and logs a failed read.
struct TracedReader {
    inner: ByteReader,
    span: Span,
}

impl AsyncRead for TracedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let poll = this.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Err(error)) = &poll {
            tracing::warn!(error = %error, "reading the stored artifact failed");
        }
        poll
    }
}
