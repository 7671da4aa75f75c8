//! The examples in `examples/`, run on every backend.

#[path = "../examples/before_after.rs"]
mod before_after;
#[path = "../examples/cross_session.rs"]
mod cross_session;

use cache_client::CacheClient;
use perfstore::cache_service::CacheServiceStorage;
use perfstore::diff::Verdict;
use perfstore::{SessionName, Store};

async fn before_after_on(store: Store) {
    let session = SessionName::new("before-after").unwrap();
    let results = before_after::run(&store, &session).await.unwrap();
    assert_eq!(results.len(), 3);
    for (target, c) in &results {
        assert!(c.transformed_nodes < c.original_nodes, "{target}: {c:?}");
        assert!(c.size_reduction_pct > 0.0 && c.size_reduction_pct < 100.0);
        let stored: before_after::Comparison = store
            .target_at(perfstore::TargetPath::new(session.clone(), target.clone()))
            .load("results/comparison.json")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored, c);
    }
    let page = store
        .target("before-after", "example_com_blog_perf")
        .unwrap();
    let keys: Vec<String> = page
        .list_keys("")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.into_string())
        .collect();
    assert_eq!(
        keys,
        [
            "graphs/original.json",
            "graphs/transformed.json",
            "output/rendered.html",
            "results/comparison.json",
            "source/original.html"
        ]
    );
}

async fn cross_session_on(store: Store) {
    let diff = cross_session::run(
        &store,
        &SessionName::new("base").unwrap(),
        &SessionName::new("cand").unwrap(),
    )
    .await
    .unwrap();
    let regressed: Vec<String> = diff
        .metrics()
        .filter(|(_, _, m)| m.verdict == Verdict::Regression)
        .map(|(t, _, m)| format!("{t}:{}", m.path))
        .collect();
    assert_eq!(
        regressed,
        [
            "renderer:latency_ms.p50",
            "renderer:latency_ms.p99",
            "renderer:throughput_rps"
        ]
    );
    assert!(
        diff.warnings.is_empty(),
        "same machine: {:?}",
        diff.warnings
    );
    assert_eq!(
        diff.summary.artifacts_unchanged, 4,
        "parser and indexer did not change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_after_on_every_backend() {
    before_after_on(Store::memory()).await;
    let dir = tempfile::tempdir().unwrap();
    before_after_on(Store::local(dir.path())).await;
    before_after_on(Store::new(CacheServiceStorage::new(
        CacheClient::in_memory(),
        "perf-results",
    )))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_session_on_every_backend() {
    cross_session_on(Store::memory()).await;
    let dir = tempfile::tempdir().unwrap();
    cross_session_on(Store::local(dir.path())).await;
    cross_session_on(Store::new(CacheServiceStorage::new(
        CacheClient::in_memory(),
        "perf-results",
    )))
    .await;
}
