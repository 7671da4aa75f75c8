//! The reference-compatible JSON hash: `pyjson::dumps` (Python's `json.dumps(sort_keys=True)`
//! text) and `hash::hash_json` (SHA-256 of that text, truncated) on a ~1 KB and a ~100 KB
//! document with nested objects, unicode, floats and integers.

use std::hint::black_box;
use std::time::Duration;

use cache_wire::hash::hash_json;
use cache_wire::pyjson::{DumpOptions, dumps};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// A document of `records` records (about 100 bytes of `json.dumps` text each), keys
/// deliberately out of order so sorting does work.
fn document(records: usize) -> Value {
    let items: Vec<Value> = (0..records)
        .map(|i| {
            json!({
                "zeta": i,
                "name": format!("metric-{i}-é"),
                "value": (i as f64) * 1.25 + 0.1,
                "tags": ["a", "b"],
                "alpha": {"ok": i % 2 == 0, "none": null},
            })
        })
        .collect();
    json!({"session": "bench", "records": items})
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("json_hash");
    for (label, records) in [("1kb", 9), ("100kb", 900)] {
        let doc = document(records);
        let size = dumps(&doc, DumpOptions::HASH).len();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("pyjson_dumps_sorted", label),
            &doc,
            |b, d| b.iter(|| dumps(black_box(d), DumpOptions::HASH)),
        );
        group.bench_with_input(BenchmarkId::new("hash_json", label), &doc, |b, d| {
            b.iter(|| hash_json(black_box(d)))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = hashing }
criterion_main!(benches);
