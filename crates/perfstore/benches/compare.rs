//! Diff and history on local disk, at two sizes each so growth is visible.
//!
//! - `diff_local/N`: `perfstore::diff::diff_sessions` of two sessions of N targets, each with
//!   one JSON artifact of 10 metrics that all changed (so every artifact is read, parsed and
//!   judged: the expensive path), N = 1,000 and 10,000. Goal: 10,000 × 10 under 1 s.
//! - `diff_local_samples/N`: the same with each metric a distribution of 10 samples (median,
//!   interval and Mann–Whitney U per metric).
//! - `history_local/N`: `perfstore::history::history` of one target over N sessions (each
//!   with recorded metadata, 10 metrics, and a second target), N = 100 and 1,000. Goal: 1,000
//!   sessions under 1 s.
//!
//! `cargo bench -p perfstore --bench compare`. After criterion's report it prints the median of
//! 3 timed runs per size and the large/small ratio (10 would be linear). Env `COMPARE_QUICK=1`
//! runs only the small sizes; `COMPARE_SECS` sets criterion's measurement time (default 15).
//! Under `cargo test --all-targets` (no `--bench`: a debug build, in CI) it runs 100 targets and
//! 20 sessions once each, as a check that the bench works, and prints no figures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use perfstore::diff::{DiffOptions, diff_sessions};
use perfstore::history::{HistoryQuery, history};
use perfstore::session::ensure_session;
use perfstore::{Artifact, ArtifactPath, SessionName, Store, TargetName};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const METRICS: usize = 10;
const SAMPLES: usize = 10;

fn metrics(seed: f64, samples: bool) -> Value {
    let mut doc = serde_json::Map::new();
    for m in 0..METRICS {
        let value = 100.0 + seed * 3.0 + m as f64;
        let name = if m == 0 {
            "throughput".to_owned()
        } else {
            format!("phase_{m}_ms")
        };
        doc.insert(
            name,
            if samples {
                json!(
                    (0..SAMPLES)
                        .map(|i| value + i as f64 * 0.5)
                        .collect::<Vec<_>>()
                )
            } else {
                json!(value)
            },
        );
    }
    Value::Object(doc)
}

fn block_on<T>(rt: &Runtime, f: impl std::future::Future<Output = T>) -> T {
    rt.block_on(f)
}

/// Stores `targets` targets in `session`, one metrics artifact each.
fn fill_session(
    rt: &Runtime,
    store: &Store,
    session: &str,
    targets: usize,
    seed: f64,
    samples: bool,
) {
    let session = SessionName::new(session).expect("session");
    block_on(rt, ensure_session(store, &session, &BTreeMap::new())).expect("meta");
    let body = Artifact::json(&metrics(seed, samples));
    let items: Vec<(ArtifactPath, Artifact)> = (0..targets)
        .map(|t| {
            let path = ArtifactPath::parse(
                session.as_str(),
                &format!("t{t:05}"),
                "results/metrics.json",
            )
            .expect("path");
            (path, body.clone())
        })
        .collect();
    for chunk in items.chunks(1000) {
        for result in block_on(rt, store.backend().put_many(chunk.to_vec())) {
            result.expect("put");
        }
    }
}

struct DiffFixture {
    _dir: tempfile::TempDir,
    store: Store,
}

fn diff_fixture(rt: &Runtime, targets: usize, samples: bool) -> DiffFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::local(dir.path());
    fill_session(rt, &store, "base", targets, 0.0, samples);
    fill_session(rt, &store, "cand", targets, 1.0, samples);
    DiffFixture { _dir: dir, store }
}

fn history_fixture(rt: &Runtime, sessions: usize) -> DiffFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::local(dir.path());
    for s in 0..sessions {
        let name = format!("run-{s:05}");
        let session = SessionName::new(&name).expect("session");
        block_on(rt, ensure_session(&store, &session, &BTreeMap::new())).expect("meta");
        for (target, seed) in [("parser", s as f64 % 7.0), ("lexer", 0.0)] {
            let handle = store.target(&name, target).expect("names");
            block_on(
                rt,
                handle.save_json("results/metrics.json", &metrics(seed, false)),
            )
            .expect("save");
        }
    }
    DiffFixture { _dir: dir, store }
}

fn run_diff(rt: &Runtime, store: &Store) -> usize {
    let base = SessionName::new("base").expect("name");
    let cand = SessionName::new("cand").expect("name");
    let diff = block_on(
        rt,
        diff_sessions(store, &base, &cand, &DiffOptions::default()),
    )
    .expect("diff");
    diff.summary.metrics_compared
}

fn run_history(rt: &Runtime, store: &Store) -> usize {
    let target = TargetName::new("parser").expect("name");
    let h = block_on(rt, history(store, &target, &HistoryQuery::default())).expect("history");
    h.sessions.len() * h.series.len()
}

/// Median of 3 timed runs.
fn timed(mut f: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

fn benches(c: &mut Criterion) {
    // Sessions record the git checkout of the current directory: run outside one, so the
    // setup of 1,000 sessions does not run git 4,000 times.
    let cwd = tempfile::tempdir().expect("cwd");
    std::env::set_current_dir(cwd.path()).expect("cd");
    let quick = std::env::var_os("COMPARE_QUICK").is_some();
    let measuring = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (diff_sizes, history_sizes): (&[usize], &[usize]) = match (measuring, quick) {
        (false, _) => (&[100], &[20]),
        (true, true) => (&[1_000], &[100]),
        (true, false) => (&[1_000, 10_000], &[100, 1_000]),
    };
    let mut summary: Vec<(String, usize, Duration)> = Vec::new();
    let secs = std::env::var("COMPARE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);

    for (group, samples) in [("diff_local", false), ("diff_local_samples", true)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .measurement_time(Duration::from_secs(secs));
        for &n in diff_sizes {
            let fixture = diff_fixture(&rt, n, samples);
            assert_eq!(run_diff(&rt, &fixture.store), n * METRICS);
            g.bench_function(format!("{n}x{METRICS}"), |b| {
                b.iter(|| run_diff(&rt, &fixture.store))
            });
            if measuring {
                summary.push((group.to_owned(), n, timed(|| run_diff(&rt, &fixture.store))));
            }
        }
        g.finish();
    }

    let mut g = c.benchmark_group("history_local");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(secs));
    for &n in history_sizes {
        let fixture = history_fixture(&rt, n);
        assert_eq!(run_history(&rt, &fixture.store), n * METRICS);
        g.bench_function(format!("{n}_sessions"), |b| {
            b.iter(|| run_history(&rt, &fixture.store))
        });
        if measuring {
            summary.push((
                "history_local".to_owned(),
                n,
                timed(|| run_history(&rt, &fixture.store)),
            ));
        }
    }
    g.finish();

    if !measuring {
        return;
    }
    println!("\ncompare bench summary (median of 3 runs, local disk):");
    for (group, n, t) in &summary {
        println!("  {group:<20} {n:>6}  {:>9.1} ms", t.as_secs_f64() * 1e3);
    }
    for group in ["diff_local", "diff_local_samples", "history_local"] {
        let sizes: Vec<&(String, usize, Duration)> =
            summary.iter().filter(|(g, _, _)| g == group).collect();
        if let [small, large] = sizes[..] {
            println!(
                "  {group}: {}→{} is ×{:.1} in size, ×{:.2} in time",
                small.1,
                large.1,
                large.1 as f64 / small.1 as f64,
                large.2.as_secs_f64() / small.2.as_secs_f64()
            );
        }
    }
}

criterion_group!(compare, benches);
criterion_main!(compare);
