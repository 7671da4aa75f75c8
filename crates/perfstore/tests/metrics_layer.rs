//! The metrics and tracing layers: transparent on every backend (the conformance suite through
//! them), exact counts, bytes, items and errors after a known sequence, and every method
//! forwarded to the backend's own (bulk fast paths kept).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cache_client::CacheClient;
use perfstore::cache_service::CacheServiceStorage;
use perfstore::metrics::{MetricsSnapshot, OpStats};
use perfstore::{
    Artifact, ArtifactPath, Error, KeyPrefix, MeteredStorage, SessionName, Storage, StorageExt,
    StorageOp, Store, TargetPath, TracedStorage,
};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// The conformance suite through both layers, per backend: the layers change nothing a caller
/// can observe.
mod conformance_memory {
    perfstore::conformance_tests!(|| async {
        let (store, metrics) = perfstore::Store::memory().with_tracing().with_metrics();
        (store, metrics)
    });
}

mod conformance_local {
    perfstore::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, metrics) = perfstore::Store::local(dir.path())
            .with_tracing()
            .with_metrics();
        (store, (dir, metrics))
    });
}

mod conformance_cache_service {
    use cache_client::CacheClient;
    use perfstore::Store;
    use perfstore::cache_service::CacheServiceStorage;

    perfstore::conformance_tests!(|| async {
        let backend = CacheServiceStorage::new(CacheClient::in_memory(), "perf-results");
        let (store, metrics) = Store::new(backend).with_tracing().with_metrics();
        (store, metrics)
    });
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    Local,
    CacheService,
}

const BACKENDS: [Backend; 3] = [Backend::Memory, Backend::Local, Backend::CacheService];

/// A fresh store of `backend` and the temp folder it lives in, if any.
fn open(backend: Backend) -> (Store, Option<tempfile::TempDir>) {
    match backend {
        Backend::Memory => (Store::memory(), None),
        Backend::Local => {
            let dir = tempfile::tempdir().unwrap();
            (Store::local(dir.path()), Some(dir))
        }
        Backend::CacheService => (
            Store::new(CacheServiceStorage::new(
                CacheClient::in_memory(),
                "perf-results",
            )),
            None,
        ),
    }
}

/// Yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.good == 0 {
            return Poll::Ready(Err(io::Error::other("the input broke")));
        }
        let n = self.good.min(buf.remaining());
        buf.put_slice(&vec![7u8; n]);
        self.good -= n;
        Poll::Ready(Ok(()))
    }
}

/// The totals of `op`, all zero if it never ran.
fn stats(snapshot: &MetricsSnapshot, op: StorageOp) -> (u64, u64, u64, u64) {
    snapshot
        .op(op)
        .map_or((0, 0, 0, 0), |s| (s.count, s.errors, s.bytes, s.items))
}

fn path(key: &str) -> ArtifactPath {
    ArtifactPath::parse("s", "t", key).unwrap()
}

/// Every count, error, byte and item is exact after a known sequence, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_bytes_items_and_errors_are_exact_on_every_backend() {
    for backend in BACKENDS {
        let (plain, _dir) = open(backend);
        let conflicts = !plain.capabilities().file_and_folder_keys;
        let (store, metrics) = plain.with_metrics();
        assert_eq!(metrics.backend(), store.name(), "{backend:?}");
        assert!(metrics.snapshot().is_empty());
        let t = store.target("s", "t").unwrap();

        t.put("a.txt", Artifact::text("hello")).await.unwrap();
        t.put("b.bin", Artifact::binary(vec![1u8; 1000]))
            .await
            .unwrap();
        assert_eq!(t.get("a.txt").await.unwrap().unwrap().bytes().len(), 5);
        assert!(t.get("missing").await.unwrap().is_none());
        assert!(t.head("a.txt").await.unwrap().is_some());
        assert!(t.head("missing").await.unwrap().is_none());
        assert!(t.exists("b.bin").await.unwrap());
        assert_eq!(t.list_keys("").await.unwrap().len(), 2);
        assert_eq!(store.list_sessions().await.unwrap().len(), 1);
        let session = SessionName::new("s").unwrap();
        assert_eq!(store.list_targets(&session).await.unwrap().len(), 1);

        // Bulk: one call each, counted in items; never as per-item puts or gets.
        let puts = t
            .save_many([
                ("m0", Artifact::binary(vec![0u8; 10])),
                ("m1", Artifact::binary(vec![0u8; 20])),
                ("m2", Artifact::binary(vec![0u8; 30])),
            ])
            .await;
        assert!(puts.iter().all(Result::is_ok), "{backend:?}: {puts:?}");
        // `m1/sub` is a key below the artifact `m1`: a Conflict on backends without
        // file-and-folder keys, counted as one failed item.
        let puts = t
            .save_many([
                ("m1/sub", Artifact::binary(vec![0u8; 5])),
                ("m3", Artifact::binary(vec![0u8; 7])),
            ])
            .await;
        assert_eq!(puts[0].is_err(), conflicts, "{backend:?}: {puts:?}");
        let loaded = t.load_many(["m0", "m1", "m2", "nope"]).await.unwrap();
        assert_eq!(loaded.iter().filter(|a| a.is_some()).count(), 3);
        assert_eq!(t.delete_many(["m0", "nope"]).await.unwrap(), [true, false]);

        // Streams: the bytes that pass through, a failing input counted as an error.
        t.save_stream("big.bin", io::Cursor::new(vec![9u8; 4096]))
            .await
            .unwrap();
        let err = t
            .save_stream("broken.bin", FailingReader { good: 100 })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{backend:?}: {err}");
        let mut whole = Vec::new();
        t.load_stream("big.bin")
            .await
            .unwrap()
            .unwrap()
            .read_to_end(&mut whole)
            .await
            .unwrap();
        assert_eq!(whole.len(), 4096);
        assert!(t.load_stream("missing").await.unwrap().is_none());
        // A reader read in part is recorded when it is dropped, with the bytes it gave.
        let mut part = t.load_stream("big.bin").await.unwrap().unwrap();
        let mut first = [0u8; 10];
        part.read_exact(&mut first).await.unwrap();
        assert_eq!(stats(&metrics.snapshot(), StorageOp::GetStream).0, 2);
        drop(part);

        // Errors: a key conflict on the backends that have them.
        t.put("x", Artifact::text("file")).await.unwrap();
        let below = t.put("x/y", Artifact::text("below")).await;
        assert_eq!(below.is_err(), conflicts, "{backend:?}");

        assert!(t.delete("a.txt").await.unwrap());
        // Left: b.bin m1 m2 m3 big.bin x, plus m1/sub and x/y where both kinds of key live.
        let left = if conflicts { 6 } else { 8 };
        assert_eq!(t.delete_all().await.unwrap(), left, "{backend:?}");

        let snap = metrics.snapshot();
        let conflict = u64::from(conflicts);
        let expected = [
            // (op, count, errors, bytes, items)
            (
                StorageOp::Put,
                4,
                conflict,
                5 + 1000 + 4 + 5 * (1 - conflict),
                0,
            ),
            (StorageOp::Get, 2, 0, 5, 0),
            (StorageOp::Head, 2, 0, 0, 0),
            (StorageOp::Exists, 1, 0, 0, 0),
            (StorageOp::Delete, 1, 0, 0, 0),
            (StorageOp::ListKeys, 1, 0, 0, 2),
            (StorageOp::ListSessions, 1, 0, 0, 1),
            (StorageOp::ListTargets, 1, 0, 0, 1),
            (StorageOp::DeleteTarget, 1, 0, 0, left as u64),
            (
                StorageOp::PutMany,
                2,
                conflict,
                60 + 7 + 5 * (1 - conflict),
                5,
            ),
            (StorageOp::GetMany, 1, 0, 60, 4),
            (StorageOp::DeleteMany, 1, 0, 0, 2),
            (StorageOp::PutStream, 2, 1, 4096 + 100, 0),
            (StorageOp::GetStream, 3, 0, 4096 + 10, 0),
        ];
        for (op, count, errors, bytes, items) in expected {
            assert_eq!(
                stats(&snap, op),
                (count, errors, bytes, items),
                "{backend:?} {op}: (count, errors, bytes, items)\n{snap}"
            );
        }
        assert_eq!(snap.ops.len(), StorageOp::ALL.len(), "{backend:?}");
        for OpStats {
            op, count, latency, ..
        } in &snap.ops
        {
            assert_eq!(
                latency.count, *count,
                "{backend:?} {op}: one sample per call"
            );
            assert!(latency.max_ns > 0, "{backend:?} {op}");
            if *count == 1 {
                assert_eq!(
                    latency.p50_ns, latency.max_ns,
                    "{backend:?} {op}: the one sample"
                );
            }
            assert!(
                latency.p50_ns <= latency.p90_ns
                    && latency.p90_ns <= latency.p99_ns
                    && latency.p99_ns <= latency.max_ns
                    && latency.mean_ns <= latency.max_ns,
                "{backend:?} {op}: {latency:?}"
            );
        }

        // The table names every operation with its count; JSON carries the same numbers.
        let table = snap.to_string();
        let put_row = table.lines().find(|l| l.starts_with("put ")).unwrap();
        assert_eq!(put_row.split_whitespace().nth(1), Some("4"), "{table}");
        assert!(table.lines().any(|l| l.starts_with("get_stream ")));
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["backend"], store.name());
        assert_eq!(json["ops"][0]["op"], "put");
        assert_eq!(json["ops"][0]["count"], 4);
        assert_eq!(json["ops"][0]["latency"]["count"], 4);

        metrics.reset();
        assert!(metrics.snapshot().is_empty());
    }
}

/// A stream that fails while it is read is recorded as an error, with the bytes it gave.
#[tokio::test]
async fn a_failing_read_of_a_stream_is_an_error() {
    #[derive(Debug)]
    struct BrokenStreams;
    #[async_trait::async_trait]
    impl Storage for BrokenStreams {
        fn name(&self) -> &'static str {
            "broken"
        }
        fn capabilities(&self) -> perfstore::Capabilities {
            Store::memory().capabilities()
        }
        async fn put(
            &self,
            _: &ArtifactPath,
            _: Artifact,
        ) -> perfstore::Result<perfstore::ArtifactMeta> {
            unreachable!()
        }
        async fn get(&self, _: &ArtifactPath) -> perfstore::Result<Option<Artifact>> {
            unreachable!()
        }
        async fn delete(&self, _: &ArtifactPath) -> perfstore::Result<bool> {
            unreachable!()
        }
        async fn list_keys(
            &self,
            _: &TargetPath,
            _: &KeyPrefix,
        ) -> perfstore::Result<Vec<perfstore::Key>> {
            unreachable!()
        }
        async fn list_sessions(&self) -> perfstore::Result<Vec<SessionName>> {
            unreachable!()
        }
        async fn list_targets(
            &self,
            _: &SessionName,
        ) -> perfstore::Result<Vec<perfstore::TargetName>> {
            unreachable!()
        }
        async fn delete_target(&self, _: &TargetPath) -> perfstore::Result<usize> {
            unreachable!()
        }
        async fn get_stream(
            &self,
            _: &ArtifactPath,
        ) -> perfstore::Result<Option<perfstore::ByteReader>> {
            Ok(Some(Box::pin(FailingReader { good: 64 })))
        }
    }

    let (store, metrics) = Store::new(BrokenStreams).with_metrics();
    let mut reader = store.get_stream(&path("k")).await.unwrap().unwrap();
    let mut sink = Vec::new();
    assert!(reader.read_to_end(&mut sink).await.is_err());
    assert_eq!(sink.len(), 64);
    assert_eq!(
        stats(&metrics.snapshot(), StorageOp::GetStream),
        (1, 1, 64, 0)
    );
    drop(reader);
    assert_eq!(
        stats(&metrics.snapshot(), StorageOp::GetStream).0,
        1,
        "recorded once, not again when dropped"
    );
}

/// Calls `op` once on `store` with inputs that exist.
async fn call(store: &Store, op: StorageOp) {
    let target = TargetPath::parse("s", "t").unwrap();
    let session = SessionName::new("s").unwrap();
    match op {
        StorageOp::Put => drop(store.put(&path("k"), Artifact::text("v")).await.unwrap()),
        StorageOp::Get => assert!(store.get(&path("k")).await.unwrap().is_some()),
        StorageOp::Head => assert!(store.head(&path("k")).await.unwrap().is_some()),
        StorageOp::Exists => assert!(store.exists(&path("k")).await.unwrap()),
        StorageOp::Delete => assert!(store.delete(&path("k")).await.unwrap()),
        StorageOp::ListKeys => {
            assert_eq!(
                store
                    .list_keys(&target, &KeyPrefix::all())
                    .await
                    .unwrap()
                    .len(),
                1
            )
        }
        StorageOp::ListSessions => assert_eq!(store.list_sessions().await.unwrap().len(), 1),
        StorageOp::ListTargets => assert_eq!(store.list_targets(&session).await.unwrap().len(), 1),
        StorageOp::DeleteTarget => assert_eq!(store.delete_target(&target).await.unwrap(), 1),
        StorageOp::PutMany => {
            let items = vec![
                (path("k"), Artifact::text("v")),
                (path("k2"), Artifact::text("w")),
            ];
            assert!(store.put_many(items).await.iter().all(Result::is_ok))
        }
        StorageOp::GetMany => assert!(
            store
                .get_many(&[path("k"), path("k")])
                .await
                .iter()
                .all(|r| matches!(r, Ok(Some(_))))
        ),
        StorageOp::DeleteMany => assert!(
            store
                .delete_many(&[path("k")])
                .await
                .iter()
                .all(|r| matches!(r, Ok(true)))
        ),
        StorageOp::PutStream => drop(
            store
                .save_stream(&path("k"), io::Cursor::new(b"stream".to_vec()))
                .await
                .unwrap(),
        ),
        StorageOp::GetStream => {
            let mut bytes = Vec::new();
            let mut reader = store.get_stream(&path("k")).await.unwrap().unwrap();
            reader.read_to_end(&mut bytes).await.unwrap();
            assert_eq!(bytes, b"v");
        }
        other => unreachable!("no call for {other}"),
    }
}

/// Each operation through the layers reaches the backend as that same operation, once: the
/// layers override every method (a default would show up as other operations, e.g. a
/// `put_many` as puts), so a backend's bulk and streaming fast paths are kept.
#[tokio::test]
async fn every_method_reaches_the_backend_as_itself() {
    for op in StorageOp::ALL {
        // probe: the backend as the layers see it; outer: what a user holds.
        let probe = MeteredStorage::new(Store::memory().backend().clone());
        let probe_metrics = probe.metrics();
        let traced = TracedStorage::new(Arc::new(probe));
        let outer = MeteredStorage::new(Arc::new(traced));
        let outer_metrics = outer.metrics();
        let store = Store::new(outer);
        assert_eq!(store.name(), "memory");
        assert_eq!(store.capabilities(), Store::memory().capabilities());

        // Put what the operation needs in place, then forget those calls.
        if op != StorageOp::Put && op != StorageOp::PutMany && op != StorageOp::PutStream {
            store.put(&path("k"), Artifact::text("v")).await.unwrap();
        }
        probe_metrics.reset();
        outer_metrics.reset();

        call(&store, op).await;
        for (layer, metrics) in [("outer", &outer_metrics), ("backend", &probe_metrics)] {
            let snap = metrics.snapshot();
            let ran: Vec<(StorageOp, u64)> = snap.ops.iter().map(|s| (s.op, s.count)).collect();
            assert_eq!(ran, [(op, 1)], "{op} as seen by the {layer}");
        }
        let items = stats(&probe_metrics.snapshot(), op).3;
        match op {
            StorageOp::PutMany | StorageOp::GetMany => assert_eq!(items, 2),
            StorageOp::DeleteMany => assert_eq!(items, 1),
            _ => {}
        }
    }
}

/// Each layer has its own metrics: two layers over one backend count apart.
#[tokio::test]
async fn layers_do_not_share_metrics() {
    let base = Store::memory();
    let (a, a_metrics) = base.clone().with_metrics();
    let (b, b_metrics) = base.with_metrics();
    a.put(&path("k"), Artifact::text("v")).await.unwrap();
    b.get(&path("k")).await.unwrap();
    b.get(&path("k")).await.unwrap();
    assert_eq!(stats(&a_metrics.snapshot(), StorageOp::Put).0, 1);
    assert_eq!(stats(&a_metrics.snapshot(), StorageOp::Get).0, 0);
    assert_eq!(stats(&b_metrics.snapshot(), StorageOp::Get), (2, 0, 2, 0));
    assert_eq!(stats(&b_metrics.snapshot(), StorageOp::Put).0, 0);
}

/// Concurrent calls all land: no lost updates under contention.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_are_all_counted() {
    let (store, metrics) = Store::memory().with_metrics();
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let key = path(&format!("k{task}-{i}"));
                    store.put(&key, Artifact::text("abc")).await.unwrap();
                    store.get(&key).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let snap = metrics.snapshot();
    assert_eq!(stats(&snap, StorageOp::Put), (800, 0, 2400, 0));
    assert_eq!(stats(&snap, StorageOp::Get), (800, 0, 2400, 0));
    assert_eq!(snap.op(StorageOp::Get).unwrap().latency.count, 800);
    assert_eq!(snap.total_calls(), 1600);
}
