//! `perfstore`: store, inspect and serve performance-analysis artifacts.
//!
//! Exit codes: 0 ok; 2 invalid input (usage, bad name or key, bad JSON with `--json`, bad
//! configuration); 3 not found; 4 a regression and 5 an incomplete candidate with `diff --fail-on-regression`; 1 anything
//! else. Every error is one line on stderr, except usage errors, which are clap's full message
//! (the argument, suggestions, valid values, usage). A closed stdout (`perfstore ls | head`)
//! ends the command silently by SIGPIPE, as git does (exit status 141 in a shell).

mod artifacts;
mod failure;
mod plural;
mod quickstart;
mod stats;
mod workflows;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use perfstore::{StorageConfig, StorageMode, Store};

use crate::failure::Failure;

// The system allocator, not mimalloc: mimalloc was ~20 % faster per request, but its eagerly
// committed arenas took a streamed 1 GiB upload's server past 100 MiB RSS (glibc: 30 MiB).

/// The heading of the options every client command takes.
const GLOBAL_HEADING: &str = "Global options";

/// The environment the client reads, shown at the end of `perfstore --help`.
const ENVIRONMENT_HELP: &str = "\
Environment (the options above take precedence):
  PERF_STORAGE_MODE                              the backend, as --mode [default: local]
  PERF_LOCAL_STORAGE_PATH                        root of the local backend [default: ./perf_results]
  PERF_CACHE_NAMESPACE                           cache-service namespace [default: perf-results]
  URL__TARGET_SERVER__CACHE_SERVICE              cache-service URL (required with cache_service)
  AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME   cache-service API-key header name, e.g. x-api-key
  AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE  cache-service API-key value (set both or neither)
  PERF_OBJECT_STORE_URL                          object-store URL (s3://…, file://…, memory://)
  PERF_COMPRESSION_THRESHOLD, PERF_COMPRESSION_LEVEL, PERF_LOCAL_FSYNC  storage tuning
  NO_COLOR                                       no colour in messages and logs

Exit codes: 0 ok, 1 failure, 2 invalid input or usage, 3 not found, 4 regression (diff), 5 incomplete (diff).";

/// Store, inspect and serve performance-analysis artifacts (session → target → key).
#[derive(Debug, Parser)]
#[command(name = "perfstore", version, about, after_help = ENVIRONMENT_HELP)]
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
    /// Cache-service URL [env: URL__TARGET_SERVER__CACHE_SERVICE]; its API key comes from
    /// AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME and __KEY_VALUE
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
    /// Delete an artifact, a whole target (`rm S T --all`) or a whole session (`rm S --all`).
    Rm(artifacts::RmArgs),
    /// Store a small sample session and print it back (a tour of what perfstore does).
    Quickstart(quickstart::QuickstartArgs),
    /// Run the cache service (wire-compatible with the MGraph-AI Cache Service); prints
    /// `listening on http://HOST:PORT` on stdout once bound.
    Serve(cache_service::cli::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
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
    /// Serve the web console over the store (binds 127.0.0.1 by default; prints its URL).
    Ui(workflows::console::UiArgs),
    /// Write one self-contained HTML file: a session's comparison and history charts.
    Report(workflows::console::ReportArgs),
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

impl Cli {
    /// The storage configuration: flags first, then the environment, then defaults. The
    /// library's in-process cache service (no URL) is refused here: a command's data would be
    /// gone when it exits.
    fn storage_config(&self) -> Result<StorageConfig, Failure> {
        let flag = |name: &str| match name {
            "PERF_STORAGE_MODE" => self.mode.clone(),
            "PERF_LOCAL_STORAGE_PATH" => self.path.clone(),
            "PERF_CACHE_NAMESPACE" => self.namespace.clone(),
            "URL__TARGET_SERVER__CACHE_SERVICE" => self.url.clone(),
            "PERF_OBJECT_STORE_URL" => self.object_store_url.clone(),
            _ => None,
        };
        let config =
            StorageConfig::from_lookup(|name| flag(name).or_else(|| std::env::var(name).ok()))
                .map_err(Failure::from)?;
        if config.mode == StorageMode::CacheService && config.cache_service_url.is_none() {
            return Err(Failure::invalid(
                "--mode cache_service needs the service's URL: pass --url URL or set \
                 URL__TARGET_SERVER__CACHE_SERVICE (without one, everything would be stored in a \
                 throw-away in-process service)",
            ));
        }
        Ok(config)
    }

    fn open(&self) -> Result<Store, Failure> {
        let config = self.storage_config()?;
        warn_if_ephemeral(&config);
        let store = config.open().map_err(Failure::from)?;
        Ok(self.stats.measure("store", store))
    }
}

/// `--mode memory` keeps nothing once the command exits; say so rather than lose data quietly.
fn warn_if_ephemeral(config: &StorageConfig) {
    let in_memory = match config.mode {
        StorageMode::Memory => Some("--mode memory"),
        StorageMode::ObjectStore
            if config
                .object_store_url
                .as_deref()
                .is_some_and(|url| url.starts_with("memory:")) =>
        {
            Some("a memory:// object store")
        }
        _ => None,
    };
    if let Some(what) = in_memory {
        eprintln!(
            "perfstore: warning: {what} keeps nothing: the store is gone when this command exits"
        );
    }
}

/// The command line: `Cli` with every global option under its own help heading, and without
/// the client options on `serve`.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    for arg in &globals {
        cmd = cmd.mut_arg(arg.get_id(), |a| a.help_heading(GLOBAL_HEADING));
    }
    // clap copies a global option into every subcommand that has no argument of that id, so
    // hidden stand-ins keep the client options out of `serve` (refused after parsing).
    cmd.mut_subcommand("serve", |serve| {
        let own: Vec<clap::Id> = serve.get_arguments().map(|a| a.get_id().clone()).collect();
        let stand_ins: Vec<clap::Arg> = globals
            .iter()
            .filter(|a| !own.contains(a.get_id()))
            .map(|a| a.clone().global(false).hide(true))
            .collect();
        serve.args(stand_ins)
    })
}

/// The client options given with `serve` (before or after it), as `--name`.
fn client_options_given_to_serve(cmd: &clap::Command, matches: &clap::ArgMatches) -> Vec<String> {
    let Some(serve) = cmd.find_subcommand("serve") else {
        return Vec::new();
    };
    serve
        .get_arguments()
        .filter(|a| a.is_hide_set())
        .filter(|a| {
            matches.value_source(a.get_id().as_str())
                == Some(clap::parser::ValueSource::CommandLine)
        })
        .filter_map(|a| a.get_long().map(|long| format!("--{long}")))
        .collect()
}

/// Parses the command line; usage errors, help and version come back as clap errors.
fn parse() -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    if let Some(("serve", _)) = matches.subcommand() {
        let given = client_options_given_to_serve(&cmd, &matches);
        if let Some(serve) = cmd
            .find_subcommand_mut("serve")
            .filter(|_| !given.is_empty())
        {
            let one = given.len() == 1;
            return Err(serve.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{} {} of the client commands; `perfstore serve` does not take {} (its \
                     storage is --storage, --path, --bucket)",
                    given.join(", "),
                    if one { "is an option" } else { "are options" },
                    if one { "it" } else { "them" },
                ),
            ));
        }
    }
    Cli::from_arg_matches(&matches)
}

/// The command line as completion scripts see it: clap_complete lists hidden arguments too, so
/// instead of global options and `serve`'s stand-ins, every client command gets plain copies.
fn completion_command() -> clap::Command {
    fn with_copies(cmd: clap::Command, globals: &[clap::Arg]) -> clap::Command {
        let own: Vec<clap::Id> = cmd.get_arguments().map(|a| a.get_id().clone()).collect();
        let children: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        let mut cmd = cmd.args(
            globals
                .iter()
                .filter(|a| !own.contains(a.get_id()))
                .cloned(),
        );
        for child in children {
            cmd = cmd.mut_subcommand(child, |c| with_copies(c, globals));
        }
        cmd
    }
    let mut cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().global(false))
        .collect();
    for arg in &globals {
        cmd = cmd.mut_arg(arg.get_id(), |a| a.global(false));
    }
    let clients: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| name != "serve")
        .collect();
    for name in clients {
        cmd = cmd.mut_subcommand(name, |c| with_copies(c, &globals));
    }
    cmd
}

/// Writes the completion script for `shell` on stdout.
fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut completion_command(),
        "perfstore",
        &mut script,
    );
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(Failure::stdout)
}

/// `println!` panics when stdout is a closed pipe; end quietly by SIGPIPE instead. SIGPIPE
/// itself stays ignored, so a socket closed under an HTTP client or server (hyper writes with
/// writev, which cannot suppress the signal) is an error to handle, not the end of the process.
fn end_quietly_on_closed_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let printing = message.starts_with("failed printing to stdout")
            || message.starts_with("failed printing to stderr");
        if printing && (message.contains("Broken pipe") || message.contains("(os error 32)")) {
            failure::die_of_closed_pipe();
        }
        default(info)
    }));
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
        Command::Serve(args) => {
            args.config().map_err(Failure::invalid)?;
            args.clone().run().await.map_err(Failure::other)
        }
        Command::Completions(args) => completions(args),
        Command::Import(args) => workflows::transfer::import(&cli.open()?, args).await,
        Command::Export(args) => workflows::transfer::export(&cli.open()?, args).await,
        Command::Copy(args) => {
            let config = cli.storage_config()?;
            warn_if_ephemeral(&config);
            workflows::transfer::copy(&config, args, &cli.stats).await
        }
        Command::Diff(args) => workflows::diff::run(&cli.open()?, args).await,
        Command::History(args) => workflows::history::run(&cli.open()?, args).await,
        Command::Rules(cmd) => workflows::rules::run(&cli.open()?, cmd).await,
        Command::Baseline(cmd) => workflows::baseline::run(&cli.open()?, cmd).await,
        Command::Session(cmd) => workflows::session::run(&cli.open()?, cmd).await,
        Command::Ui(args) => workflows::console::ui(cli.open()?, args).await,
        Command::Report(args) => workflows::console::report(&cli.open()?, args).await,
    }
}

fn main() -> ExitCode {
    end_quietly_on_closed_pipes();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return failure::clap_exit(e),
    };
    tracing_subscriber::fmt()
        .with_ansi(colour_on_stderr())
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

/// Colour in logs only on a terminal, and never with `NO_COLOR` set (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}
