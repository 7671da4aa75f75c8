//! `--stats`: measure every storage call a command makes and print the totals on stderr when it
//! ends, also when it fails (stdout stays the command's own output).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use clap::{Args, ValueEnum};
use perfstore::{MetricsSnapshot, StorageMetrics, Store};
use serde::Serialize;

/// How `--stats` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// One aligned table per store.
    Table,
    /// One JSON document: `{"stores": [{"store", "backend", "ops": [...]}]}`.
    Json,
}

/// The global `--stats` options, and the metrics of the stores the command opened.
#[derive(Debug, Clone, Default, Args)]
pub struct StatsArgs {
    /// Print per-operation storage statistics (count, errors, bytes, latency) on stderr when the
    /// command ends
    #[arg(long, global = true)]
    stats: bool,
    /// Format of --stats (implies --stats) [default: table]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    stats_format: Option<StatsFormat>,
    /// The stores measured so far, by label; shared by clones so `main` can print them.
    #[arg(skip)]
    measured: Arc<Mutex<Vec<(&'static str, StorageMetrics)>>>,
}

/// What the JSON format writes.
#[derive(Serialize)]
struct Report<'a> {
    stores: Vec<StoreStats<'a>>,
}

/// One store's totals, as the JSON format writes them.
#[derive(Serialize)]
struct StoreStats<'a> {
    store: &'a str,
    #[serde(flatten)]
    snapshot: &'a MetricsSnapshot,
}

impl StatsArgs {
    fn enabled(&self) -> bool {
        self.stats || self.stats_format.is_some()
    }

    /// `store` behind a metrics layer labelled `label` (`store`, `source`, `destination`) when
    /// `--stats` is on; `store` itself otherwise.
    pub fn measure(&self, label: &'static str, store: Store) -> Store {
        if !self.enabled() {
            return store;
        }
        let (store, metrics) = store.with_metrics();
        self.measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((label, metrics));
        store
    }

    /// Prints the totals of every measured store on stderr, if `--stats` is on.
    pub fn print(&self) {
        if !self.enabled() {
            return;
        }
        let measured = self
            .measured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let snapshots: Vec<(&'static str, MetricsSnapshot)> = measured
            .iter()
            .map(|(label, metrics)| (*label, metrics.snapshot()))
            .collect();
        let text = match self.stats_format.unwrap_or(StatsFormat::Table) {
            StatsFormat::Table => render_tables(&snapshots),
            StatsFormat::Json => render_json(&snapshots),
        };
        // Nothing useful to do if stderr is gone; the command's outcome stands.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

fn render_tables(snapshots: &[(&'static str, MetricsSnapshot)]) -> String {
    if snapshots.is_empty() {
        return "perfstore --stats: the command opened no store\n".to_owned();
    }
    snapshots
        .iter()
        .map(|(label, snapshot)| format!("perfstore --stats: {label}\n{snapshot}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_json(snapshots: &[(&'static str, MetricsSnapshot)]) -> String {
    let stores: Vec<StoreStats<'_>> = snapshots
        .iter()
        .map(|(store, snapshot)| StoreStats { store, snapshot })
        .collect();
    match serde_json::to_string(&Report { stores }) {
        Ok(json) => json + "\n",
        Err(e) => format!("perfstore --stats: cannot write the statistics as JSON: {e}\n"),
    }
}
