//! Every console data request on local disk, at a small size and at the size (a target
//! of 10,000 artifacts, a history over 1,000 sessions), so growth shows: the JSON endpoints
//! and the HTML pages built from them, driven in-process through the router.
//!
//! `cargo bench -p perfstore-console --bench console` (target: each < 300 ms at the large size).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use perfstore::baseline::{BaselineName, set_baseline};
use perfstore::session::ensure_session;
use perfstore::{Artifact, SessionName, Store, TargetPath};
use serde_json::json;
use tower::ServiceExt;

/// (artifacts in the big target, sessions in the history).
const SIZES: [(usize, usize); 2] = [(100, 10), (10_000, 1_000)];

/// A local store with two sessions holding `artifacts` metrics files each in target `bulk`
/// (1 % changed between them), and `sessions` runs of target `parser`.
async fn seed(root: &std::path::Path, artifacts: usize, sessions: usize) -> Store {
    let store = Store::local(root);
    for (session, bump) in [("big-a", 0.0), ("big-b", 1.0)] {
        let name = SessionName::new(session).unwrap();
        ensure_session(&store, &name, &BTreeMap::new())
            .await
            .unwrap();
        let target = TargetPath::parse(session, "bulk").unwrap();
        let items = (0..artifacts)
            .map(|i| {
                let changed = if i % 100 == 0 { bump } else { 0.0 };
                let value = json!({"p50_ms": 1.0 + (i % 7) as f64 + changed, "count": i});
                (
                    target.artifact(perfstore::Key::new(format!("m/{i:05}.json")).unwrap()),
                    Artifact::json(&value),
                )
            })
            .collect();
        for result in store.put_many(items).await {
            result.unwrap();
        }
    }
    let labels = BTreeMap::from([("branch".to_owned(), "main".to_owned())]);
    for i in 0..sessions {
        let session = format!("run-{i:04}");
        ensure_session(&store, &SessionName::new(&session).unwrap(), &labels)
            .await
            .unwrap();
        let step = if i >= sessions / 2 { 3.0 } else { 0.0 };
        store
            .target(&session, "parser")
            .unwrap()
            .save(
                "results/metrics.json",
                &json!({
                    "latency": {"p50_ms": 1.5 + (i % 5) as f64 * 0.01, "p99_ms": 9.0 + step},
                    "throughput_rps": 52000 + (i % 9) * 10,
                }),
            )
            .await
            .unwrap();
    }
    set_baseline(
        &store,
        &BaselineName::new("main").unwrap(),
        &SessionName::new("run-0000").unwrap(),
    )
    .await
    .unwrap();
    store
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Not a git checkout: session records capture no commit, and seeding spawns no git.
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let requests = [
        ("sessions_json", "/api/sessions"),
        ("sessions_page", "/"),
        ("target_json", "/api/target?session=big-a&target=bulk"),
        ("target_page", "/target?session=big-a&target=bulk"),
        ("compare_json", "/api/compare?base=big-a&candidate=big-b"),
        ("compare_page", "/compare?base=big-a&candidate=big-b"),
        ("history_json", "/api/history?target=parser"),
        ("history_page", "/history?target=parser"),
    ];
    let mut group = c.benchmark_group("console");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (artifacts, sessions) in SIZES {
        let root = dir.path().join(format!("store-{artifacts}"));
        let started = std::time::Instant::now();
        let store = rt.block_on(seed(&root, artifacts, sessions));
        eprintln!(
            "seeded {artifacts} artifacts x2 and {sessions} sessions in {:.1?}",
            started.elapsed()
        );
        let router = perfstore_console::router(store);
        let size = format!("{artifacts}a_{sessions}s");
        // What the compare requests cost below the console: reading every artifact of both
        // sessions (the diff reads them all; local disk records no content hash to skip by).
        let paths: Vec<_> = ["big-a", "big-b"]
            .iter()
            .flat_map(|s| {
                let target = TargetPath::parse(s, "bulk").unwrap();
                (0..artifacts).map(move |i| {
                    target.artifact(perfstore::Key::new(format!("m/{i:05}.json")).unwrap())
                })
            })
            .collect();
        let reader = Store::local(&root);
        group.bench_function(
            BenchmarkId::new("library_get_many_both_sessions", &size),
            |b| {
                b.to_async(&rt).iter(|| async {
                    let read = reader.get_many(&paths).await;
                    assert_eq!(read.len(), 2 * artifacts);
                    read
                })
            },
        );
        for (name, uri) in requests {
            group.bench_with_input(BenchmarkId::new(name, &size), &uri, |b, uri| {
                b.to_async(&rt).iter(|| async {
                    let response = router
                        .clone()
                        .oneshot(Request::get(*uri).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    assert_eq!(response.status(), StatusCode::OK, "{uri}");
                    response.into_body().collect().await.unwrap().to_bytes()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
