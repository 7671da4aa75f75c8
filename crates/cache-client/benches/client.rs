//! Client round trips of 1 KB values, in-process vs over 127.0.0.1, against our in-memory
//! server: key-based JSON store, retrieve by hash, child data store and retrieve, the four as
//! one workflow, and the in-process "ready" time (build `in_memory()`, answer `health`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cache_client::{CacheClient, LocalServer, Strategy};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const NS: &str = "bench";

/// A JSON object of about 1 KB whose hash changes with `n`.
fn body(n: u64) -> Value {
    json!({"n": n, "payload": "x".repeat(1000)})
}

fn transports(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = rt.block_on(LocalServer::in_memory()).expect("local server");
    let clients = [
        ("in_process", CacheClient::in_memory()),
        ("loopback", server.client()),
    ];
    let data = Bytes::from(vec![7u8; 1024]);
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("client_1kb");
    for (name, client) in &clients {
        // Fixed entries for the read benches.
        let entry = rt
            .block_on(client.store().json_with_key(
                NS,
                Strategy::KeyBased,
                "fixed/entry",
                Some("e"),
                None,
                &body(0),
            ))
            .expect("store");
        rt.block_on(client.data().store_binary(
            NS,
            &entry.cache_id,
            Some("artifacts"),
            Some("blob"),
            data.clone(),
        ))
        .expect("data store");

        group.bench_function(BenchmarkId::new("store_json_key", name), |b| {
            b.to_async(&rt).iter(|| async {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                client
                    .store()
                    .json_with_key(
                        NS,
                        Strategy::KeyBased,
                        "bench/store",
                        Some("e"),
                        None,
                        &body(n),
                    )
                    .await
                    .expect("store")
            })
        });
        group.bench_function(BenchmarkId::new("retrieve_json_by_hash", name), |b| {
            b.to_async(&rt).iter(|| async {
                client
                    .retrieve()
                    .by_hash_json(NS, &entry.cache_hash)
                    .await
                    .expect("retrieve")
                    .expect("hit")
            })
        });
        group.bench_function(BenchmarkId::new("data_store_binary", name), |b| {
            b.to_async(&rt).iter(|| async {
                client
                    .data()
                    .store_binary(
                        NS,
                        &entry.cache_id,
                        Some("artifacts"),
                        Some("blob"),
                        data.clone(),
                    )
                    .await
                    .expect("data store")
            })
        });
        group.bench_function(BenchmarkId::new("data_retrieve_binary", name), |b| {
            b.to_async(&rt).iter(|| async {
                client
                    .data()
                    .retrieve_binary(NS, &entry.cache_id, Some("artifacts"), "blob")
                    .await
                    .expect("data retrieve")
                    .expect("hit")
            })
        });
        group.bench_function(BenchmarkId::new("workflow_4_calls", name), |b| {
            b.to_async(&rt).iter(|| async {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let stored = client
                    .store()
                    .json_with_key(
                        NS,
                        Strategy::KeyBased,
                        "bench/workflow",
                        Some("e"),
                        None,
                        &body(n),
                    )
                    .await
                    .expect("store");
                client
                    .retrieve()
                    .by_hash_json(NS, &stored.cache_hash)
                    .await
                    .expect("retrieve")
                    .expect("hit");
                client
                    .data()
                    .store_binary(NS, &stored.cache_id, None, Some("blob"), data.clone())
                    .await
                    .expect("data store");
                client
                    .data()
                    .retrieve_binary(NS, &stored.cache_id, None, "blob")
                    .await
                    .expect("data retrieve")
                    .expect("hit")
            })
        });
    }
    group.finish();

    let mut ready = c.benchmark_group("client_ready");
    ready.bench_function("in_memory_then_first_health", |b| {
        b.to_async(&rt).iter(|| async {
            let client = CacheClient::in_memory();
            assert!(client.info().health().await.expect("health"));
        })
    });
    ready.finish();

    rt.block_on(server.stop()).expect("stop");
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = transports
}
criterion_main!(benches);
