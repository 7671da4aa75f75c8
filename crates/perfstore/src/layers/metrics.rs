//! A metrics layer over any backend: per-operation counts, errors, bytes, items and latency
//! percentiles ([`MeteredStorage`], read through a [`StorageMetrics`] handle).
//!
//! Like opendal's layers, [`MeteredStorage`] is itself a [`Storage`]: it forwards every call to
//! the backend it wraps — the bulk methods too, so a backend's fast path is kept — and records
//! what happened. Each layer has its own metrics; there is no global state.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> perfstore::Result<()> {
//! use perfstore::{Store, metrics::StorageOp};
//!
//! let (store, metrics) = Store::memory().with_metrics();
//! let run = store.target("nightly", "parser")?;
//! run.save_string("reports/summary.md", "all good").await?;
//! run.load_string("reports/summary.md").await?;
//!
//! let snapshot = metrics.snapshot();
//! let put = snapshot.op(StorageOp::Put).expect("one put ran");
//! assert_eq!((put.count, put.errors, put.bytes), (1, 0, 8));
//! eprintln!("{snapshot}"); // the per-operation table
//! # Ok(()) }
//! ```
//!
//! # What is recorded
//!
//! Per [`StorageOp`], when the operation completes:
//! - `count`: calls; `latency` holds one sample per call, so its count equals `count`;
//! - `errors`: calls that returned an error; for the bulk methods, the *items* that failed;
//! - `bytes`: artifact bytes written (puts) or returned (gets) by successful calls; bulk methods
//!   add up their successful items; the streaming methods count every byte that passed through
//!   the reader, also when the stream later fails;
//! - `items`: the bulk methods: items asked for; `list_*`: names returned; `delete_target`:
//!   artifacts deleted.
//!
//! [`Storage::get_stream`] is complete when its reader is: the call is recorded when the reader
//! reaches its end, fails, or is dropped (a reader dropped before its end is not an error), and
//! its latency runs from the call to that moment. When the call finds nothing or fails, it is
//! recorded at once. An operation whose future is dropped before it completes is not recorded.
//!
//! Latency percentiles come from an [HdrHistogram](hdrhistogram) of nanoseconds with two
//! significant figures (within 1 %); `max` and `mean` are exact.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::io::{AsyncRead, ReadBuf};

use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::Result;
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{ByteReader, Capabilities, Storage, Store, TargetSizes};

/// One kind of [`Storage`] operation, as the metrics and tracing layers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StorageOp {
    /// [`Storage::put`]
    Put,
    /// [`Storage::get`]
    Get,
    /// [`Storage::head`]
    Head,
    /// [`Storage::exists`]
    Exists,
    /// [`Storage::delete`]
    Delete,
    /// [`Storage::list_keys`]
    ListKeys,
    /// [`Storage::list_sessions`]
    ListSessions,
    /// [`Storage::list_targets`]
    ListTargets,
    /// [`Storage::delete_target`]
    DeleteTarget,
    /// [`Storage::put_many`]
    PutMany,
    /// [`Storage::get_many`]
    GetMany,
    /// [`Storage::delete_many`]
    DeleteMany,
    /// [`Storage::put_stream`]
    PutStream,
    /// [`Storage::get_stream`]
    GetStream,
}

impl StorageOp {
    /// Every operation, in the order tables list them.
    pub const ALL: [StorageOp; 14] = [
        StorageOp::Put,
        StorageOp::Get,
        StorageOp::Head,
        StorageOp::Exists,
        StorageOp::Delete,
        StorageOp::ListKeys,
        StorageOp::ListSessions,
        StorageOp::ListTargets,
        StorageOp::DeleteTarget,
        StorageOp::PutMany,
        StorageOp::GetMany,
        StorageOp::DeleteMany,
        StorageOp::PutStream,
        StorageOp::GetStream,
    ];

    /// The operation's name: the [`Storage`] method's (`put`, `list_keys`, `get_stream`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StorageOp::Put => "put",
            StorageOp::Get => "get",
            StorageOp::Head => "head",
            StorageOp::Exists => "exists",
            StorageOp::Delete => "delete",
            StorageOp::ListKeys => "list_keys",
            StorageOp::ListSessions => "list_sessions",
            StorageOp::ListTargets => "list_targets",
            StorageOp::DeleteTarget => "delete_target",
            StorageOp::PutMany => "put_many",
            StorageOp::GetMany => "get_many",
            StorageOp::DeleteMany => "delete_many",
            StorageOp::PutStream => "put_stream",
            StorageOp::GetStream => "get_stream",
        }
    }

    /// Whether this is a bulk method (its `errors` count items, not calls).
    pub fn is_bulk(self) -> bool {
        matches!(
            self,
            StorageOp::PutMany | StorageOp::GetMany | StorageOp::DeleteMany
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StorageOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one completed call adds besides its count and latency.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    errors: u64,
    bytes: u64,
    items: u64,
}

impl Tally {
    /// One error, or `bytes`/`items` of the value on success.
    fn of<T>(
        result: &Result<T>,
        bytes: impl FnOnce(&T) -> u64,
        items: impl FnOnce(&T) -> u64,
    ) -> Self {
        match result {
            Ok(value) => Tally {
                errors: 0,
                bytes: bytes(value),
                items: items(value),
            },
            Err(_) => Tally {
                errors: 1,
                ..Tally::default()
            },
        }
    }

    /// Success or failure only.
    fn outcome<T>(result: &Result<T>) -> Self {
        Self::of(result, |_| 0, |_| 0)
    }
}

/// The running totals of one operation.
///
/// One mutex per operation rather than atomics beside the histogram: hdrhistogram needs `&mut`
/// to record anyway, and one lock keeps every snapshot consistent (count == histogram count).
#[derive(Debug)]
struct OpTotals {
    count: u64,
    errors: u64,
    bytes: u64,
    items: u64,
    total_ns: u128,
    max_ns: u64,
    latency: Histogram<u64>,
}

impl OpTotals {
    fn new() -> Self {
        Self {
            count: 0,
            errors: 0,
            bytes: 0,
            items: 0,
            total_ns: 0,
            max_ns: 0,
            // Auto-resizing from a tiny range: memory grows only with the slowest call seen.
            latency: Histogram::new(2).expect("2 significant figures is a valid precision"),
        }
    }

    fn record(&mut self, elapsed: Duration, tally: Tally) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.count += 1;
        self.errors += tally.errors;
        self.bytes += tally.bytes;
        self.items += tally.items;
        self.total_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
        // `record` grows the histogram as needed; it fails only where the grown histogram
        // could not be addressed, and then the clamped value is better than none.
        if self.latency.record(ns).is_err() {
            self.latency.saturating_record(ns);
        }
    }

    fn stats(&self, op: StorageOp) -> OpStats {
        let quantile = |q: f64| self.latency.value_at_quantile(q).min(self.max_ns);
        OpStats {
            op,
            count: self.count,
            errors: self.errors,
            bytes: self.bytes,
            items: self.items,
            latency: LatencyStats {
                count: self.latency.len(),
                mean_ns: u64::try_from(self.total_ns / u128::from(self.count.max(1)))
                    .unwrap_or(u64::MAX),
                p50_ns: quantile(0.50),
                p90_ns: quantile(0.90),
                p99_ns: quantile(0.99),
                max_ns: self.max_ns,
            },
        }
    }
}

/// The shared state behind a [`StorageMetrics`] handle.
#[derive(Debug)]
struct MetricsState {
    backend: &'static str,
    ops: [Mutex<OpTotals>; StorageOp::ALL.len()],
}

impl MetricsState {
    fn totals(&self, op: StorageOp) -> MutexGuard<'_, OpTotals> {
        // A panic while holding the lock cannot leave the totals half-written in a way that
        // matters for counters; keep counting.
        self.ops[op.index()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, op: StorageOp, elapsed: Duration, tally: Tally) {
        self.totals(op).record(elapsed, tally);
    }
}

/// A handle on one [`MeteredStorage`]'s metrics: cheap to clone, safe to read while the store
/// is in use.
#[derive(Clone)]
pub struct StorageMetrics {
    state: Arc<MetricsState>,
}

impl StorageMetrics {
    fn new(backend: &'static str) -> Self {
        Self {
            state: Arc::new(MetricsState {
                backend,
                ops: std::array::from_fn(|_| Mutex::new(OpTotals::new())),
            }),
        }
    }

    /// The name of the backend being measured.
    pub fn backend(&self) -> &'static str {
        self.state.backend
    }

    /// The totals so far of every operation that ran at least once.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let ops = StorageOp::ALL
            .into_iter()
            .filter_map(|op| {
                let totals = self.state.totals(op);
                (totals.count > 0).then(|| totals.stats(op))
            })
            .collect();
        MetricsSnapshot {
            backend: self.state.backend,
            ops,
        }
    }

    /// Sets every total back to zero (e.g. between benchmark phases).
    pub fn reset(&self) {
        for op in StorageOp::ALL {
            *self.state.totals(op) = OpTotals::new();
        }
    }
}

impl fmt::Debug for StorageMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageMetrics")
            .field("backend", &self.state.backend)
            .finish_non_exhaustive()
    }
}

/// The metrics of one layer at one moment; serialises to JSON, displays as a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// The backend measured.
    pub backend: &'static str,
    /// One entry per operation that ran, in [`StorageOp::ALL`] order.
    pub ops: Vec<OpStats>,
}

/// The totals of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpStats {
    /// Which operation.
    pub op: StorageOp,
    /// Calls completed.
    pub count: u64,
    /// Calls that failed; for bulk methods, items that failed.
    pub errors: u64,
    /// Artifact bytes written or read (see the [module docs](self)).
    pub bytes: u64,
    /// Bulk items asked for, names listed, or artifacts deleted by `delete_target`.
    pub items: u64,
    /// How long the calls took.
    pub latency: LatencyStats,
}

/// A latency distribution, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencyStats {
    /// Samples (one per call).
    pub count: u64,
    /// Mean (exact).
    pub mean_ns: u64,
    /// Median (within 1 %).
    pub p50_ns: u64,
    /// 90th percentile (within 1 %).
    pub p90_ns: u64,
    /// 99th percentile (within 1 %).
    pub p99_ns: u64,
    /// Slowest call (exact).
    pub max_ns: u64,
}

impl MetricsSnapshot {
    /// The totals of `op`, or `None` if it never ran.
    pub fn op(&self, op: StorageOp) -> Option<&OpStats> {
        self.ops.iter().find(|stats| stats.op == op)
    }

    /// How many calls ran, all operations together.
    pub fn total_calls(&self) -> u64 {
        self.ops.iter().map(|stats| stats.count).sum()
    }

    /// Whether no operation ran.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The human table (also what [`Display`](fmt::Display) prints).
    pub fn render_table(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ops.is_empty() {
            return writeln!(f, "{} backend: no storage operations", self.backend);
        }
        writeln!(
            f,
            "{:<14} {:>7} {:>6} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9}",
            format!("{} backend", self.backend),
            "count",
            "errors",
            "items",
            "bytes",
            "p50",
            "p90",
            "p99",
            "max"
        )?;
        for s in &self.ops {
            writeln!(
                f,
                "{:<14} {:>7} {:>6} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9}",
                s.op.as_str(),
                s.count,
                s.errors,
                s.items,
                HumanBytes(s.bytes),
                HumanNanos(s.latency.p50_ns),
                HumanNanos(s.latency.p90_ns),
                HumanNanos(s.latency.p99_ns),
                HumanNanos(s.latency.max_ns),
            )?;
        }
        Ok(())
    }
}

/// Bytes with a binary unit (`512 B`, `1.5 KiB`).
struct HumanBytes(u64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        let text = if self.0 < 1024 {
            format!("{} B", self.0)
        } else {
            let mut value = self.0 as f64 / 1024.0;
            let mut unit = 0;
            while value >= 1024.0 && unit + 1 < UNITS.len() {
                value /= 1024.0;
                unit += 1;
            }
            format!("{value:.1} {}", UNITS[unit])
        };
        f.pad(&text)
    }
}

/// A duration in the unit that keeps it short (`850ns`, `12.3µs`, `4.56ms`, `1.20s`).
struct HumanNanos(u64);

impl fmt::Display for HumanNanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0 as f64;
        let text = match self.0 {
            0..1_000 => format!("{}ns", self.0),
            1_000..1_000_000 => format!("{:.1}µs", ns / 1e3),
            1_000_000..1_000_000_000 => format!("{:.2}ms", ns / 1e6),
            _ => format!("{:.2}s", ns / 1e9),
        };
        f.pad(&text)
    }
}

/// A [`Storage`] that forwards every call to another and records [metrics](self) about it.
pub struct MeteredStorage {
    inner: Arc<dyn Storage>,
    metrics: StorageMetrics,
}

impl MeteredStorage {
    /// Measures `inner`; read the numbers through [`metrics`](Self::metrics).
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        let metrics = StorageMetrics::new(inner.name());
        Self { inner, metrics }
    }

    /// A handle on this layer's metrics.
    pub fn metrics(&self) -> StorageMetrics {
        self.metrics.clone()
    }

    /// The backend being measured.
    pub fn inner(&self) -> &Arc<dyn Storage> {
        &self.inner
    }

    fn record(&self, op: StorageOp, start: Instant, tally: Tally) {
        self.metrics.state.record(op, start.elapsed(), tally);
    }
}

impl fmt::Debug for MeteredStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStorage")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// This store behind a [`MeteredStorage`] layer, and the handle on its metrics.
    pub fn with_metrics(self) -> (Store, StorageMetrics) {
        let layer = MeteredStorage::new(self.backend().clone());
        let metrics = layer.metrics();
        (Store::new(layer), metrics)
    }
}

fn size(artifact: &Artifact) -> u64 {
    artifact.bytes().len() as u64
}

fn len<T>(list: &[T]) -> u64 {
    list.len() as u64
}

#[async_trait]
impl Storage for MeteredStorage {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let bytes = size(&artifact);
        let start = Instant::now();
        let result = self.inner.put(path, artifact).await;
        self.record(StorageOp::Put, start, Tally::of(&result, |_| bytes, |_| 0));
        result
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        let start = Instant::now();
        let result = self.inner.get(path).await;
        let tally = Tally::of(&result, |a| a.as_ref().map_or(0, size), |_| 0);
        self.record(StorageOp::Get, start, tally);
        result
    }

    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        let start = Instant::now();
        let result = self.inner.head(path).await;
        self.record(StorageOp::Head, start, Tally::outcome(&result));
        result
    }

    async fn exists(&self, path: &ArtifactPath) -> Result<bool> {
        let start = Instant::now();
        let result = self.inner.exists(path).await;
        self.record(StorageOp::Exists, start, Tally::outcome(&result));
        result
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let start = Instant::now();
        let result = self.inner.delete(path).await;
        self.record(StorageOp::Delete, start, Tally::outcome(&result));
        result
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        let start = Instant::now();
        let result = self.inner.list_keys(target, prefix).await;
        let tally = Tally::of(&result, |_| 0, |keys| len(keys));
        self.record(StorageOp::ListKeys, start, tally);
        result
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        let start = Instant::now();
        let result = self.inner.list_sizes(target).await;
        let tally = Tally::of(&result, |_| 0, |keys| len(keys));
        self.record(StorageOp::ListKeys, start, tally);
        result
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        let start = Instant::now();
        let result = self.inner.list_sessions().await;
        let tally = Tally::of(&result, |_| 0, |names| len(names));
        self.record(StorageOp::ListSessions, start, tally);
        result
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        let start = Instant::now();
        let result = self.inner.list_targets(session).await;
        let tally = Tally::of(&result, |_| 0, |names| len(names));
        self.record(StorageOp::ListTargets, start, tally);
        result
    }

    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        let start = Instant::now();
        let result = self.inner.list_session_sizes(session).await;
        let tally = Tally::of(&result, |_| 0, |targets| len(targets));
        self.record(StorageOp::ListTargets, start, tally);
        result
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let start = Instant::now();
        let result = self.inner.delete_target(target).await;
        let tally = Tally::of(&result, |_| 0, |&deleted| deleted as u64);
        self.record(StorageOp::DeleteTarget, start, tally);
        result
    }

    async fn put_stream(&self, path: &ArtifactPath, reader: ByteReader) -> Result<ArtifactMeta> {
        let passed = Arc::new(AtomicU64::new(0));
        let reader = Box::pin(CountingReader {
            inner: reader,
            passed: passed.clone(),
        });
        let start = Instant::now();
        let result = self.inner.put_stream(path, reader).await;
        let tally = Tally {
            bytes: passed.load(Ordering::Relaxed),
            ..Tally::outcome(&result)
        };
        self.record(StorageOp::PutStream, start, tally);
        result
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<Option<ByteReader>> {
        let start = Instant::now();
        match self.inner.get_stream(path).await {
            Ok(Some(reader)) => Ok(Some(Box::pin(MeteredDownload {
                inner: reader,
                state: self.metrics.state.clone(),
                start,
                bytes: 0,
                finished: false,
            }))),
            other => {
                self.record(StorageOp::GetStream, start, Tally::outcome(&other));
                other
            }
        }
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        let sizes: Vec<u64> = items.iter().map(|(_, a)| size(a)).collect();
        let start = Instant::now();
        let results = self.inner.put_many(items).await;
        let mut tally = Tally {
            items: len(&sizes),
            ..Tally::default()
        };
        for (result, bytes) in results.iter().zip(&sizes) {
            match result {
                Ok(_) => tally.bytes += bytes,
                Err(_) => tally.errors += 1,
            }
        }
        self.record(StorageOp::PutMany, start, tally);
        results
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        let start = Instant::now();
        let results = self.inner.get_many(paths).await;
        let mut tally = Tally {
            items: len(paths),
            ..Tally::default()
        };
        for result in &results {
            match result {
                Ok(found) => tally.bytes += found.as_ref().map_or(0, size),
                Err(_) => tally.errors += 1,
            }
        }
        self.record(StorageOp::GetMany, start, tally);
        results
    }

    async fn delete_many(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        let start = Instant::now();
        let results = self.inner.delete_many(paths).await;
        let tally = Tally {
            items: len(paths),
            errors: results.iter().filter(|r| r.is_err()).count() as u64,
            bytes: 0,
        };
        self.record(StorageOp::DeleteMany, start, tally);
        results
    }
}

/// The caller's reader of a `put_stream`, counting the bytes the backend takes from it.
struct CountingReader {
    inner: ByteReader,
    passed: Arc<AtomicU64>,
}

impl AsyncRead for CountingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = self.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let read = (buf.filled().len() - before) as u64;
            self.passed.fetch_add(read, Ordering::Relaxed);
        }
        poll
    }
}

/// The backend's reader of a `get_stream`: counts the bytes it yields and records the call when
/// it ends, fails or is dropped.
struct MeteredDownload {
    inner: ByteReader,
    state: Arc<MetricsState>,
    start: Instant,
    bytes: u64,
    finished: bool,
}

impl MeteredDownload {
    fn finish(&mut self, errors: u64) {
        if !self.finished {
            self.finished = true;
            let tally = Tally {
                errors,
                bytes: self.bytes,
                items: 0,
            };
            self.state
                .record(StorageOp::GetStream, self.start.elapsed(), tally);
        }
    }
}

impl AsyncRead for MeteredDownload {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        // A read into a full buffer yields nothing without meaning the end.
        let room = buf.remaining() > 0;
        let poll = self.inner.as_mut().poll_read(cx, buf);
        match &poll {
            Poll::Ready(Ok(())) => {
                let read = (buf.filled().len() - before) as u64;
                if !self.finished {
                    self.bytes += read;
                }
                if read == 0 && room {
                    self.finish(0);
                }
            }
            Poll::Ready(Err(_)) => self.finish(1),
            Poll::Pending => {}
        }
        poll
    }
}

impl Drop for MeteredDownload {
    fn drop(&mut self) {
        self.finish(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals_of(samples_ns: impl IntoIterator<Item = u64>) -> OpStats {
        let mut totals = OpTotals::new();
        for ns in samples_ns {
            totals.record(Duration::from_nanos(ns), Tally::default());
        }
        totals.stats(StorageOp::Get)
    }

    fn within_one_percent(actual: u64, expected: u64) -> bool {
        actual.abs_diff(expected) * 100 <= expected
    }

    #[test]
    fn percentiles_follow_the_samples_across_every_scale() {
        // 1..=1000 µs: the percentiles are the matching samples, within 1 %.
        let stats = totals_of((1..=1000).map(|us| us * 1_000));
        let latency = stats.latency;
        assert_eq!((stats.count, latency.count), (1000, 1000));
        for (actual, expected) in [
            (latency.p50_ns, 500_000),
            (latency.p90_ns, 900_000),
            (latency.p99_ns, 990_000),
        ] {
            assert!(
                within_one_percent(actual, expected),
                "{actual} vs {expected}"
            );
        }
        assert_eq!(latency.max_ns, 1_000_000);
        assert_eq!(latency.mean_ns, 500_500);

        // Nanoseconds to minutes in one histogram.
        let stats = totals_of([150, 150, 150, 120_000_000_000]);
        assert!(within_one_percent(stats.latency.p50_ns, 150), "{stats:?}");
        assert_eq!(stats.latency.p99_ns, 120_000_000_000);
        assert_eq!(stats.latency.max_ns, 120_000_000_000);
    }

    #[test]
    fn one_sample_is_every_percentile_exactly() {
        let latency = totals_of([123_457]).latency;
        assert_eq!(
            [
                latency.p50_ns,
                latency.p90_ns,
                latency.p99_ns,
                latency.max_ns
            ],
            [123_457; 4]
        );
    }

    #[test]
    fn table_and_units() {
        assert_eq!(HumanBytes(1023).to_string(), "1023 B");
        assert_eq!(HumanBytes(1536).to_string(), "1.5 KiB");
        assert_eq!(HumanBytes(5 * 1024 * 1024).to_string(), "5.0 MiB");
        assert_eq!(HumanNanos(850).to_string(), "850ns");
        assert_eq!(HumanNanos(12_345).to_string(), "12.3µs");
        assert_eq!(HumanNanos(4_560_000).to_string(), "4.56ms");
        assert_eq!(HumanNanos(1_200_000_000).to_string(), "1.20s");

        let metrics = StorageMetrics::new("memory");
        assert_eq!(
            metrics.snapshot().to_string(),
            "memory backend: no storage operations\n"
        );
        metrics.state.record(
            StorageOp::PutMany,
            Duration::from_micros(40),
            Tally {
                errors: 1,
                bytes: 2048,
                items: 3,
            },
        );
        let table = metrics.snapshot().to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2, "{table}");
        assert!(lines[0].starts_with("memory backend"), "{table}");
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            row,
            [
                "put_many", "1", "1", "3", "2.0", "KiB", "40.0µs", "40.0µs", "40.0µs", "40.0µs"
            ]
        );
    }
}
