//! Bulk vs one-by-one, side by side in one run: N artifacts of 1 KB saved and loaded through
//! our server over loopback (the cache-service backend: with its batch routes, and pipelining
//! single requests as against the reference), on local disk and in memory.
//!
//! `cargo bench -p perfstore --bench bulk` runs N = 10,000 and prints times and ratios.
//! Under `cargo test` (no `--bench` argument) it runs N = 200 once, to prove it works.
//! Goal (cache service over loopback): bulk ≥ 10× a loop of singles, and < 1 s in total.

use std::time::{Duration, Instant};

use cache_client::LocalServer;
use perfstore::cache_service::CacheServiceStorage;
use perfstore::{Artifact, Store, TargetHandle};
use serde_json::json;

fn payload(i: usize) -> Artifact {
    let samples: Vec<f64> = (0..48).map(|j| (i * 48 + j) as f64 * 0.37).collect();
    Artifact::json(&json!({"item": i, "url": "https://example.com/page", "samples_ms": samples}))
}

fn keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("results/{:02}/item-{i:05}.json", i % 100))
        .collect()
}

async fn singles(t: &TargetHandle, n: usize) -> (Duration, Duration) {
    let keys = keys(n);
    let start = Instant::now();
    for (i, key) in keys.iter().enumerate() {
        t.put(key.as_str(), payload(i)).await.expect("save");
    }
    let saved = start.elapsed();
    let start = Instant::now();
    for key in &keys {
        assert!(t.get(key.as_str()).await.expect("load").is_some());
    }
    (saved, start.elapsed())
}

async fn bulk(t: &TargetHandle, n: usize) -> (Duration, Duration) {
    let keys = keys(n);
    let start = Instant::now();
    let results = t
        .save_many(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), payload(i))),
        )
        .await;
    assert!(results.iter().all(Result::is_ok), "bulk save failed");
    let saved = start.elapsed();
    let start = Instant::now();
    let loaded = t
        .load_many(keys.iter().map(String::as_str))
        .await
        .expect("bulk load");
    assert!(loaded.iter().all(Option::is_some), "bulk load missed items");
    (saved, start.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn compare(name: &str, store: &Store, n: usize) {
    let (s_save, s_load) = singles(&store.target("bench", "singles").expect("names"), n).await;
    let (b_save, b_load) = bulk(&store.target("bench", "bulk").expect("names"), n).await;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "{name:<28} {n:>6}  save: singles {:>10}  bulk {:>10}  ({:>5.1}x)   load: singles {:>10}  bulk {:>10}  ({:>5.1}x)   bulk total {}",
        ms(s_save),
        ms(b_save),
        ratio(s_save, b_save),
        ms(s_load),
        ms(b_load),
        ratio(s_load, b_load),
        ms(b_save + b_load)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 10_000 } else { 200 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "bulk vs singles, {n} artifacts of ~1 KB JSON ({} cores)",
            std::thread::available_parallelism().map_or(1, usize::from)
        );
        let server = LocalServer::in_memory().await.expect("local server");
        let service = Store::new(CacheServiceStorage::new(server.client(), "bench"));
        compare("cache service (loopback)", &service, n).await;
        // What bulk calls do against a server without the batch routes (the reference).
        let pipelined =
            CacheServiceStorage::new(server.client(), "bench-pipelined").without_batches();
        compare("  without batch routes", &Store::new(pipelined), n).await;
        let dir = tempfile::tempdir().expect("temp dir");
        compare("local disk", &Store::local(dir.path()), n).await;
        compare("memory", &Store::memory(), n).await;
        server.stop().await.expect("stop");
    });
}
