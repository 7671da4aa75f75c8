//! `perfstore`: store, inspect and serve performance-analysis artifacts.
//!
//! Exit codes: 0 ok; 2 invalid input (usage, bad name or key, bad JSON with `--json`, bad
//! configuration); 3 not found; 4 a regression and 5 an incomplete candidate with `diff --fail-on-regression`; 1 anything
//! else. Every error is one line on stderr.

mod artifacts;
mod failure;
mod quickstart;
mod stats;
mod workflows;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use perfstore::{StorageConfig, Store};

use crate::failure::Failure;

// The system allocator, not mimalloc: mimalloc was ~20 % faster per request, but its eagerly
// committed arenas took a streamed 1 GiB upload's server past 100 MiB RSS (glibc: 30 MiB).

/// Store, inspect and serve performance-analysis artifacts (session → target → key).
#[derive(Debug, Parser)]
#[command(name = "perfstore", version, about)]
struct Cli {
    /// Backend: local, memory, cache_service or object_store [env: PERF_STORAGE_MODE, default: local]
    #[arg(long, global = true, value_name = "MODE")]
    mode: Option<String>,
    /// Root of the local backend [env: PERF_LOCAL_STORAGE_PATH, default: ./perf_results]
    #[arg(long, global = true, value_name = "DIR")]
    path: Option<String>,
    /// Cache-service namespace [env: PERF_CACHE_NAMESPACE, default: perf-results]
    #[arg(long, global = true, value_name = "NS")]
    namespace: Option<String>,
    /// Cache-service URL [env: URL__TARGET_SERVER__CACHE_SERVICE]
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// Object-store URL: s3://bucket/prefix, file:///path or memory:// (credentials from AWS_*)
    /// [env: PERF_OBJECT_STORE_URL]
    #[arg(long, global = true, value_name = "URL")]
    object_store_url: Option<String>,
    #[command(flatten)]
    stats: stats::StatsArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Store an artifact from FILE or stdin.
    Put(artifacts::PutArgs),
    /// Write an artifact's bytes to stdout.
    Get(artifacts::PathArgs),
    /// Show an artifact's size, kind and content hash.
    Head(artifacts::HeadArgs),
    /// List sessions, the targets of a session, or the keys of a target.
    Ls(artifacts::LsArgs),
    /// Delete an artifact, or a whole target with --all.
    Rm(artifacts::RmArgs),
    /// Store a small sample session and print it back (a tour of what perfstore does).
    Quickstart(quickstart::QuickstartArgs),
    /// Run the cache service (wire-compatible with the MGraph-AI Cache Service).
    Serve(cache_service::cli::ServeArgs),
    /// Import a folder DIR/<target>/<key…> into a session (resumable: unchanged files are skipped).
    Import(workflows::transfer::ImportArgs),
    /// Export a session into a folder DIR/<target>/<key…> (never clobbers without --overwrite).
    Export(workflows::transfer::ExportArgs),
    /// Mirror a session into another backend (only missing or different artifacts move).
    Copy(workflows::transfer::CopyArgs),
    /// Compare two sessions metric by metric (with --fail-on-regression: exit 4 on a
    /// regression, 5 when the candidate lacks something the base has).
    Diff(workflows::diff::DiffArgs),
    /// Show a target's metrics across sessions, oldest first, with a sparkline each.
    History(workflows::history::HistoryArgs),
    /// Store which way metrics are better (and their thresholds) for every later diff.
    #[command(subcommand)]
    Rules(workflows::rules::RulesCommand),
    /// Name sessions: baselines, used as @name wherever a session is given.
    #[command(subcommand)]
    Baseline(workflows::baseline::BaselineCommand),
    /// Describe sessions.
    #[command(subcommand)]
    Session(workflows::session::SessionCommand),
}

impl Cli {
    /// The storage configuration: flags first, then the environment, then defaults.
    fn storage_config(&self) -> Result<StorageConfig, Failure> {
        let flag = |name: &str| match name {
            "PERF_STORAGE_MODE" => self.mode.clone(),
            "PERF_LOCAL_STORAGE_PATH" => self.path.clone(),
            "PERF_CACHE_NAMESPACE" => self.namespace.clone(),
            "URL__TARGET_SERVER__CACHE_SERVICE" => self.url.clone(),
            "PERF_OBJECT_STORE_URL" => self.object_store_url.clone(),
            _ => None,
        };
        StorageConfig::from_lookup(|name| flag(name).or_else(|| std::env::var(name).ok()))
            .map_err(Failure::from)
    }

    fn open(&self) -> Result<Store, Failure> {
        let store = self.storage_config()?.open().map_err(Failure::from)?;
        Ok(self.stats.measure("store", store))
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Put(args) => artifacts::put(&cli.open()?, args).await,
        Command::Get(args) => artifacts::get(&cli.open()?, args).await,
        Command::Head(args) => artifacts::head(&cli.open()?, args).await,
        Command::Ls(args) => artifacts::ls(&cli.open()?, args).await,
        Command::Rm(args) => artifacts::rm(&cli.open()?, args).await,
        Command::Quickstart(args) => {
            let config = cli.storage_config()?;
            quickstart::run(&config, args, &cli.stats).await
        }
        Command::Serve(args) => args.clone().run().await.map_err(Failure::other),
        Command::Import(args) => workflows::transfer::import(&cli.open()?, args).await,
        Command::Export(args) => workflows::transfer::export(&cli.open()?, args).await,
        Command::Copy(args) => {
            workflows::transfer::copy(&cli.storage_config()?, args, &cli.stats).await
        }
        Command::Diff(args) => workflows::diff::run(&cli.open()?, args).await,
        Command::History(args) => workflows::history::run(&cli.open()?, args).await,
        Command::Rules(cmd) => workflows::rules::run(&cli.open()?, cmd).await,
        Command::Baseline(cmd) => workflows::baseline::run(&cli.open()?, cmd).await,
        Command::Session(cmd) => workflows::session::run(&cli.open()?, cmd).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return failure::clap_exit(e),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Failure::other(e).report(),
    };
    let stats = cli.stats.clone();
    let result = runtime.block_on(run(cli));
    // After the command, also a failed one; on stderr, so stdout stays the command's output.
    stats.print();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
