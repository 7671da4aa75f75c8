//! `perfstore-loadgen`: drives a cache-service server on loopback (ours or the Python
//! reference, the same generator for both) with fixed request counts at fixed concurrencies,
//! and measures our server's in-process ready time.
//!
//! ```text
//! perfstore-loadgen run --url http://127.0.0.1:PORT [--requests N] [--concurrency 1,16,64]
//!                       [--workload NAME]... [--label ours] [--json PATH]
//! perfstore-loadgen ready [--runs N] [--json PATH]
//! perfstore-loadgen soak --url http://127.0.0.1:PORT [--seconds 600] [--concurrency 64] [--json PATH]
//! ```
//! `run` and `soak` exit 1 if any request fails or answers wrongly.

mod ready;
mod report;
mod soak;
mod stats;
mod target;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cache_client::{CacheClient, RemoteConfig, RetryPolicy};
use clap::{Parser, Subcommand};

use crate::report::RunReport;
use crate::workload::{Fixture, Workload};

#[derive(Debug, Parser)]
#[command(name = "perfstore-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a server: every workload at every concurrency.
    Run {
        /// Base URL of the server (loopback only: 127.0.0.1, localhost or [::1]).
        #[arg(long)]
        url: String,
        /// Timed requests per (workload, concurrency); raised to the concurrency if lower.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Concurrencies, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        concurrency: Vec<usize>,
        /// Workloads to run (repeatable); all four by default.
        #[arg(long = "workload")]
        workloads: Vec<Workload>,
        /// A name for the server in the report (e.g. `ours`, `reference`).
        #[arg(long, default_value = "server")]
        label: String,
        /// Write the results as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Per-request timeout in seconds.
        #[arg(long, default_value_t = 30)]
        timeout_s: u64,
    },
    /// A mixed load (stores, retrieves, child data, batches, listings) for a fixed time
    /// (`scripts/soak.sh` watches the server meanwhile).
    Soak {
        /// Base URL of the server (loopback only).
        #[arg(long)]
        url: String,
        /// How long to run.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Write the result as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Our server's in-process ready time (build in-memory state + router, first health).
    Ready {
        /// Builds to measure in this process.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Write the result as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("perfstore-loadgen: {message}");
            ExitCode::from(2)
        }
    }
}

/// What a run works with: the client, the prepared fixture, the server's base URL and the
/// run's namespace.
struct Prepared {
    client: CacheClient,
    fixture: Arc<Fixture>,
    base_url: String,
    namespace: String,
}

/// A client of the loopback server at `url` (no retries: a failed request must show up as an
/// error, not as a slow success) and the fixture prepared in a namespace of its own, so
/// repeated runs against one server never collide.
async fn prepared(url: &str, timeout_s: u64, prefix: &str) -> Result<Prepared, String> {
    let base_url = target::loopback_base_url(url).map_err(|e| e.to_string())?;
    let config = RemoteConfig::new(base_url.clone())
        .with_retries(RetryPolicy::none())
        .with_timeout(Duration::from_secs(timeout_s.max(1)));
    let client = CacheClient::remote(config).map_err(|e| e.to_string())?;
    let namespace = format!(
        "{prefix}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    );
    let fixture = Fixture::prepare(&client, &namespace)
        .await
        .map_err(|e| format!("{base_url}: {e}"))?;
    Ok(Prepared {
        client,
        fixture: Arc::new(fixture),
        base_url,
        namespace,
    })
}

fn write_json(path: &PathBuf, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("encoding JSON: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Ready { runs, json } => {
            let times = ready::measure(runs).await.map_err(|e| e.to_string())?;
            println!(
                "ours in-process ready: first {:.3} ms, median {:.3} ms over {} builds",
                times.first_ms, times.median_ms, times.runs
            );
            if let Some(path) = json {
                write_json(&path, &times)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Soak {
            url,
            seconds,
            concurrency,
            json,
        } => {
            if concurrency == 0 {
                return Err("--concurrency must be at least 1".into());
            }
            let Prepared {
                client, fixture, ..
            } = prepared(&url, 30, "soak").await?;
            let result =
                soak::run(&client, &fixture, concurrency, Duration::from_secs(seconds)).await;
            println!(
                "soak: {} requests in {:.0} s ({:.0}/s) at c={concurrency}, {} errors",
                result.requests, result.elapsed_s, result.ops_per_s, result.errors
            );
            if let Some(path) = json {
                write_json(&path, &result)?;
            }
            if result.errors > 0 {
                eprintln!(
                    "perfstore-loadgen: FAIL: {} request(s) failed; first: {}",
                    result.errors,
                    result.first_error.as_deref().unwrap_or("?")
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            url,
            requests,
            concurrency,
            workloads,
            label,
            json,
            timeout_s,
        } => {
            if requests == 0 {
                return Err("--requests must be at least 1".into());
            }
            if concurrency.is_empty() || concurrency.contains(&0) {
                return Err("--concurrency needs positive values, e.g. 1,16,64".into());
            }
            let workloads = if workloads.is_empty() {
                Workload::ALL.to_vec()
            } else {
                workloads
            };
            let Prepared {
                client,
                fixture,
                base_url,
                namespace,
            } = prepared(&url, timeout_s, "loadgen")
                .await
                .map_err(|e| format!("{label}: {e}"))?;
            let mut phases = Vec::new();
            for &workload in &workloads {
                for &c in &concurrency {
                    let phase = workload::run_phase(&client, &fixture, workload, c, requests).await;
                    eprintln!(
                        "{label}: {workload} c={c}: {:.0} ops/s, {} errors",
                        phase.ops_per_s, phase.errors
                    );
                    phases.push(phase);
                }
            }
            let report = RunReport {
                label,
                url: base_url,
                namespace,
                phases,
            };
            print!("{}", report.table());
            if let Some(path) = json {
                write_json(&path, &report)?;
            }
            let errors = report.total_errors();
            if errors > 0 {
                eprintln!(
                    "perfstore-loadgen: FAIL: {errors} request(s) failed; first: {}",
                    report.first_error().unwrap_or("?")
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
