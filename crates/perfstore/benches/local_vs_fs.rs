//! Local backend vs raw `std::fs` on a 1 KB JSON artifact, side by side in one run.
//!
//! - `save/raw_fs_write_rename`: `std::fs::write` of the canonical bytes to a temp name, then
//!   `rename` over the key: the floor an atomic save cannot beat.
//! - `save/local_save_json`: `TargetHandle::save_json` (serialise + temp file + rename).
//! - `save/local_put_bytes`: the same bytes, already serialised (isolates the storage path).
//! - `load/raw_fs_read` vs `load/local_load_bytes` and `load/local_load_json`.
//! - `memory_save_json` / `memory_load_json`: the same through the memory backend (no I/O).
//!
//! Run: `cargo bench -p perfstore --bench local_vs_fs`. The goal is local save ≤ 1.5× raw.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use perfstore::{Artifact, Store};
use serde_json::{Value, json};

/// A metrics document of about 1 KB in canonical form.
fn metrics_1kb() -> Value {
    let samples: Vec<f64> = (0..48).map(|i| 10.0 + f64::from(i) * 0.37).collect();
    json!({
        "url": "https://example.com/blog/perf",
        "nodes": 1290,
        "parse_ms": 61.2,
        "samples_ms": samples,
        "env": {"host": "bench", "cores": 2}
    })
}

fn benches(c: &mut Criterion) {
    let value = metrics_1kb();
    let bytes = Artifact::json(&value).into_bytes();
    assert!(
        (900..=1400).contains(&bytes.len()),
        "payload is {} bytes",
        bytes.len()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::local(dir.path());
    let target = store.target("bench", "t").expect("names");
    runtime
        .block_on(target.save_json("results/metrics.json", &value))
        .expect("seed");

    let raw_dir = dir.path().join("raw/results");
    std::fs::create_dir_all(&raw_dir).expect("raw dir");
    let raw_file = raw_dir.join("metrics.json");
    let raw_tmp = raw_dir.join(".metrics.json.tmp");
    std::fs::write(&raw_file, &bytes).expect("seed raw");

    let mut save = c.benchmark_group("save_1kb_json");
    save.bench_function("raw_fs_write_rename", |b| {
        b.iter(|| {
            std::fs::write(&raw_tmp, black_box(&bytes)).expect("write");
            std::fs::rename(&raw_tmp, &raw_file).expect("rename");
        })
    });
    save.bench_function("local_save_json", |b| {
        b.to_async(&runtime).iter(|| async {
            target
                .save_json("results/metrics.json", black_box(&value))
                .await
                .expect("save")
        })
    });
    let memory = Store::memory();
    let in_memory = memory.target("bench", "t").expect("names");
    save.bench_function("memory_save_json", |b| {
        b.to_async(&runtime).iter(|| async {
            in_memory
                .save_json("results/metrics.json", black_box(&value))
                .await
                .expect("save")
        })
    });
    save.bench_function("local_put_bytes", |b| {
        b.to_async(&runtime).iter(|| async {
            target
                .put(
                    "results/metrics.json",
                    Artifact::from_stored(bytes.clone(), None),
                )
                .await
                .expect("put")
        })
    });
    save.finish();

    let mut load = c.benchmark_group("load_1kb_json");
    load.bench_function("raw_fs_read", |b| {
        b.iter(|| black_box(std::fs::read(&raw_file).expect("read")))
    });
    load.bench_function("local_load_bytes", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                target
                    .load_bytes("results/metrics.json")
                    .await
                    .expect("load"),
            )
        })
    });
    load.bench_function("local_load_json", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                target
                    .load_json("results/metrics.json")
                    .await
                    .expect("load"),
            )
        })
    });
    load.bench_function("memory_load_json", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                in_memory
                    .load_json("results/metrics.json")
                    .await
                    .expect("load"),
            )
        })
    });
    load.finish();
}

criterion_group! {
    name = local_vs_fs;
    config = Criterion::default()
        .sample_size(60)
        .measurement_time(std::time::Duration::from_secs(4))
        .warm_up_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(local_vs_fs);
