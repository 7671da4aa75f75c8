//! Compressed vs plain storage of large artifacts on the local backend, side by side in one run:
//! a 10 MiB HTML report and a 10 MiB metrics JSON, each saved and loaded with compression off and
//! with the default (zstd level 3 above 1 MiB). Before timing, it prints the bytes each one takes
//! on disk and the ratio.
//!
//! Run: `cargo bench -p perfstore --bench compression`. Under `cargo test` (no `--bench`) the
//! artifacts are 2 MiB and each case runs once, so CI checks the whole path quickly.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use perfstore::compression::CompressionOptions;
use perfstore::local::{LocalOptions, LocalStorage};
use perfstore::{Artifact, Store};
use serde_json::json;

/// Deterministic pseudo-random numbers, so every run measures the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.0 >> 33
    }
}

/// An HTML report of `size` bytes: a table of per-node metrics with varying values.
fn html_report(size: usize) -> Artifact {
    let mut rng = Lcg(7);
    let mut html = String::from("<!doctype html><html><body><table>\n");
    let mut i = 0u64;
    while html.len() < size {
        let p50 = rng.next() % 10_000;
        let p99 = p50 + rng.next() % 50_000;
        html.push_str(&format!(
            "<tr class=\"row\"><td><a href=\"/node/{i}\">node-{i}</a></td><td>{}.{:03}</td><td>{}.{:03}</td><td>{}</td></tr>\n",
            p50 / 1000, p50 % 1000, p99 / 1000, p99 % 1000, rng.next() % 4096
        ));
        i += 1;
    }
    html.truncate(size);
    Artifact::text(html)
}

/// A metrics JSON document of about `size` bytes in canonical form.
fn metrics_json(size: usize) -> Artifact {
    let mut rng = Lcg(11);
    let per_node = 230; // canonical bytes per node entry, roughly
    let nodes: Vec<_> = (0..size / per_node)
        .map(|i| {
            json!({
                "id": i,
                "name": format!("node-{i}"),
                "p50_ms": (rng.next() % 100_000) as f64 / 1000.0,
                "p99_ms": (rng.next() % 900_000) as f64 / 1000.0,
                "allocations": rng.next() % 1_000_000,
                "ok": !rng.next().is_multiple_of(10)
            })
        })
        .collect();
    Artifact::json(&json!({"run": "bench", "nodes": nodes}))
}

fn disk_bytes(root: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full { 10 << 20 } else { 2 << 20 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = [
        ("html_report", html_report(size)),
        ("metrics_json", metrics_json(size)),
    ];
    let modes = [
        ("plain", CompressionOptions::off()),
        ("zstd3", CompressionOptions::default()),
    ];

    println!(
        "{:<14} {:>12} {:>14} {:>14} {:>8}",
        "artifact", "original", "plain on disk", "zstd on disk", "ratio"
    );
    let mut stores = Vec::new();
    for (name, artifact) in &cases {
        let mut on_disk = Vec::new();
        for (mode, options) in modes {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::new(LocalStorage::with_options(
                dir.path(),
                LocalOptions {
                    compression: options,
                    ..LocalOptions::default()
                },
            ));
            let target = store.target("bench", "t").expect("names");
            runtime
                .block_on(target.put("artifact", artifact.clone()))
                .expect("seed");
            let back = runtime
                .block_on(target.load_bytes("artifact"))
                .expect("load")
                .expect("present");
            assert_eq!(&back, artifact.bytes(), "{name} {mode} round-trips");
            on_disk.push(disk_bytes(dir.path()));
            stores.push((*name, mode, target, dir));
        }
        println!(
            "{:<14} {:>12} {:>14} {:>14} {:>7.1}x",
            name,
            artifact.bytes().len(),
            on_disk[0],
            on_disk[1],
            on_disk[0] as f64 / on_disk[1] as f64
        );
        assert!(on_disk[1] * 3 < on_disk[0], "{name}: zstd shrinks it");
    }

    let mut c = Criterion::default().configure_from_args();
    if full {
        c = c.sample_size(20).measurement_time(Duration::from_secs(8));
    }
    for op in ["save", "load"] {
        let mut group = c.benchmark_group(format!("{op}_{}mib", size >> 20));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, mode, target, _dir) in &stores {
            let artifact = cases
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a.clone())
                .expect("case");
            group.bench_function(BenchmarkId::new(*name, mode), |b| {
                b.iter(|| match op {
                    "save" => {
                        runtime
                            .block_on(target.put("artifact", black_box(artifact.clone())))
                            .expect("save");
                    }
                    _ => {
                        black_box(runtime.block_on(target.get("artifact")).expect("load"));
                    }
                })
            });
        }
        group.finish();
    }
    c.final_summary();
}
