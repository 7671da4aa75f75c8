//! The usage brief's cross-session lookup, done with perfstore's workflows: two runs of the same
//! targets, the first pinned as baseline `@main`, and the second compared against it.
//!
//! Run: `cargo run -p perfstore --example cross_session` (storage from `PERF_STORAGE_MODE`
//! and friends; local `./perf_results` by default). Prints the diff as Markdown.

use std::collections::BTreeMap;

use perfstore::baseline::{BaselineName, resolve_session, set_baseline};
use perfstore::batch::{BatchItem, BatchOptions, run_batch};
use perfstore::diff::render::{Format, render};
use perfstore::diff::{DiffOptions, Direction, MetricRule, SessionDiff, diff_sessions};
use perfstore::{Result, SessionName, StorageConfig, Store, TargetName};
use serde_json::json;

/// Targets measured, with their baseline latency (ms) and throughput (req/s).
pub const TARGETS: [(&str, f64, f64); 3] = [
    ("parser", 18.5, 900.0),
    ("renderer", 42.0, 310.0),
    ("indexer", 7.5, 2200.0),
];

/// One run: measures every target (deterministically) as a batch; `slowdown` makes the
/// renderer slower, as a regression would.
pub async fn measure(store: &Store, session: &SessionName, slowdown: f64) -> Result<()> {
    let items = TARGETS
        .iter()
        .map(|(t, _, _)| BatchItem::new(TargetName::new(*t).expect("valid")))
        .collect();
    let labels = BTreeMap::from([("slowdown".to_owned(), slowdown.to_string())]);
    let options = BatchOptions {
        labels,
        ..BatchOptions::default()
    };
    let report = run_batch(store, session, items, &options, move |t| async move {
        let (_, latency, throughput) = TARGETS.iter().find(|(n, _, _)| *n == t.name().as_str()).copied().expect("known target");
        let factor = if t.name().as_str() == "renderer" { slowdown } else { 1.0 };
        t.save("results/metrics.json", &json!({"latency_ms": {"p50": latency * factor, "p99": latency * factor * 3.0}, "throughput_rps": throughput / factor}))
            .await?;
        t.save_string("reports/summary.md", &format!("# {}\n\np50 {:.1} ms\n", t.name(), latency * factor)).await?;
        Ok(())
    })
    .await?;
    assert!(report.failed.is_empty(), "{report:?}");
    Ok(())
}

/// Measures a baseline and a candidate, pins the baseline as `@main`, and compares.
pub async fn run(
    store: &Store,
    baseline: &SessionName,
    candidate: &SessionName,
) -> Result<SessionDiff> {
    measure(store, baseline, 1.0).await?;
    set_baseline(store, &BaselineName::new("main")?, baseline).await?;
    measure(store, candidate, 1.25).await?;
    let base = resolve_session(store, "@main").await?;
    let options = DiffOptions {
        rules: vec![MetricRule {
            pattern: "throughput*".into(),
            relative: None,
            direction: Some(Direction::LowerIsWorse),
        }],
        ..DiffOptions::default()
    };
    diff_sessions(store, &base, candidate, &options).await
}

#[allow(dead_code)] // the tests include this file for `run`, not `main`
#[tokio::main]
async fn main() -> Result<()> {
    let store = StorageConfig::from_env()?.open()?;
    let diff = run(
        &store,
        &SessionName::new("nightly-base")?,
        &SessionName::new("nightly-candidate")?,
    )
    .await?;
    println!("{}", render(&diff, Format::Markdown));
    Ok(())
}
