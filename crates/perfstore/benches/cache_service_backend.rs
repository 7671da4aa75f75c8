//! Save and load of a 1 KB JSON artifact through the cache-service backend: over our server
//! in-process, over loopback to our server, and over loopback to the Python reference when
//! `PERFSTORE_REFERENCE_URL` points at one (`scripts/bench-cache-backend.sh` starts it).
//!
//! Run: `cargo bench -p perfstore --bench cache_service_backend`. Goal: < 100 µs per
//! operation in-process (the original measured 2.1–38.5 ms on its in-memory service).

use std::hint::black_box;

use cache_client::{CacheClient, LocalServer, RemoteConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;
use serde_json::{Value, json};

fn metrics_1kb() -> Value {
    let samples: Vec<f64> = (0..48).map(|i| 10.0 + f64::from(i) * 0.37).collect();
    json!({"url": "https://example.com/blog/perf", "nodes": 1290, "parse_ms": 61.2,
           "samples_ms": samples, "env": {"host": "bench", "cores": 2}})
}

fn bench_store(c: &mut Criterion, runtime: &tokio::runtime::Runtime, name: &str, store: Store) {
    let value = metrics_1kb();
    let target = store.target("bench", "t").expect("names");
    runtime
        .block_on(target.save_json("results/metrics.json", &value))
        .expect("seed");
    let mut group = c.benchmark_group(format!("cache_backend_1kb_json/{name}"));
    group.bench_function("save", |b| {
        b.to_async(runtime).iter(|| async {
            target
                .save_json("results/metrics.json", black_box(&value))
                .await
                .expect("save")
        })
    });
    group.bench_function("load", |b| {
        b.to_async(runtime).iter(|| async {
            black_box(
                target
                    .load_json("results/metrics.json")
                    .await
                    .expect("load"),
            )
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let in_process = CacheServiceStorage::new(CacheClient::in_memory(), "bench");
    bench_store(c, &runtime, "in_process", Store::new(in_process));

    let server = runtime
        .block_on(LocalServer::in_memory())
        .expect("local server");
    let loopback = CacheServiceStorage::new(server.client(), "bench");
    bench_store(c, &runtime, "loopback_ours", Store::new(loopback));

    if let Ok(url) = std::env::var("PERFSTORE_REFERENCE_URL") {
        let client = CacheClient::remote(RemoteConfig::new(url)).expect("reference client");
        bench_store(
            c,
            &runtime,
            "loopback_reference",
            Store::new(CacheServiceStorage::new(client, "bench")),
        );
    }
    runtime.block_on(server.stop()).expect("stop");
}

criterion_group! {
    name = cache_service_backend;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3))
        .warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(cache_service_backend);
