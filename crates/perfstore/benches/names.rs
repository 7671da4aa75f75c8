//! Name and key parsing on the hot path of every storage call: `SessionName::new`,
//! `Key::new`, `Key::sanitized` and `KeyPrefix::matches`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perfstore::{Key, KeyPrefix, SessionName};

fn names(c: &mut Criterion) {
    let mut group = c.benchmark_group("names");
    group.bench_function("session_name_new", |b| {
        b.iter(|| SessionName::new(black_box("run-2024-05-01_baseline-v2")).expect("valid"))
    });
    group.bench_function("key_new_3_segments", |b| {
        b.iter(|| Key::new(black_box("results/detailed/metrics.json")).expect("valid"))
    });
    let long_key = ["segment_name-0123456789"; 10].join("/");
    group.bench_function("key_new_10_segments_239_chars", |b| {
        b.iter(|| Key::new(black_box(long_key.as_str())).expect("valid"))
    });
    group.bench_function("key_new_rejects_dotdot", |b| {
        b.iter(|| Key::new(black_box("results/../../etc/passwd")).expect_err("invalid"))
    });
    group.bench_function("key_sanitized", |b| {
        b.iter(|| Key::sanitized(black_box("results/run #3 (fast)/métrics.json")).expect("valid"))
    });
    let prefix = KeyPrefix::new("results/detailed/").expect("valid");
    let keys: Vec<Key> = (0..100)
        .map(|i| {
            let folder = if i % 2 == 0 { "detailed" } else { "summary" };
            Key::new(format!("results/{folder}/metric-{i}.json")).expect("valid")
        })
        .collect();
    group.bench_function("key_prefix_matches_100_keys", |b| {
        b.iter(|| {
            black_box(&keys)
                .iter()
                .filter(|k| prefix.matches(k))
                .count()
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = names }
criterion_main!(benches);
