//! `import`, `export` and `copy`: moving a session between a folder and a store, or between two
//! stores. All three are resumable (only missing or different artifacts move) and show a
//! progress bar when stderr is a terminal.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use indicatif::HumanBytes;
use perfstore::transfer::{
    CopyOptions, ExportOptions, ImportOptions, ItemFailure, SkippedFile, TransferError,
    copy_session, export_dir, import_dir,
};
use perfstore::{StorageConfig, StorageMode, Store};

use super::progress::Bar;
use super::{print_json, resolve};
use crate::artifacts::Format;
use crate::failure::Failure;
use crate::plural::count;
use crate::stats::StatsArgs;

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Session to import into (`@name` for a baseline's session).
    pub session: String,
    /// Folder laid out as DIR/<target>/<key…>.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Store files whose target or key is not a valid name under the sanitized name (each
    /// disallowed character becomes `_`) instead of skipping them.
    #[arg(long)]
    pub sanitize: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub labels: super::session::LabelArgs,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Session to export (`@name` for a baseline's session).
    pub session: String,
    /// Folder to write DIR/<target>/<key…> into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Replace existing files whose content differs (otherwise nothing is written).
    #[arg(long)]
    pub overwrite: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Session to copy (`@name` for a baseline's session of the source store).
    pub session: String,
    /// Destination backend: local, memory (lost at exit), cache_service or object_store. The
    /// source is the store the global options select.
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub to_mode: StorageMode,
    /// Root of the destination local store (required with --to-mode local).
    #[arg(long, value_name = "DIR", conflicts_with = "to_url")]
    pub to_path: Option<PathBuf>,
    /// URL of the destination cache service (required with --to-mode cache_service; the
    /// namespace and API key are those of the source settings), or of the destination object
    /// store (with --to-mode object_store; default: --object-store-url).
    #[arg(long, value_name = "URL")]
    pub to_url: Option<String>,
    /// Delete artifacts and targets of the session in the destination that the source lacks.
    #[arg(long)]
    pub prune: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn parse_mode(value: &str) -> Result<StorageMode, String> {
    value.parse().map_err(|e: perfstore::Error| match e {
        perfstore::Error::Config(msg) => msg,
        other => other.to_string(),
    })
}

fn transfer_failure(e: TransferError) -> Failure {
    if e.is_invalid_input() {
        Failure::invalid(e)
    } else if e.is_not_found() {
        Failure::not_found(e)
    } else {
        Failure::other(e)
    }
}

/// Exit 1 naming the first failure, if any item failed.
fn failed_items(verb: &str, failures: &[ItemFailure]) -> Result<(), Failure> {
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(Failure::other(format!(
            "{} to {verb} (first: {}: {})",
            failed_count(failures.len() as u64),
            first.item,
            first.reason
        ))),
    }
}

/// "1 item failed", "2 items failed".
fn failed_count(n: u64) -> String {
    format!("{} failed", count(n, "item", "items"))
}

fn failure_lines(out: &mut String, failures: &[ItemFailure]) {
    for f in failures {
        let _ = writeln!(out, "  failed {}: {}", f.item, f.reason);
    }
}

/// `import`: DIR/<target>/<key…> into the session.
pub async fn import(store: &Store, args: &ImportArgs) -> Result<(), Failure> {
    let session = resolve(store, &args.session).await?;
    let bar = Bar::new("importing");
    let options = ImportOptions {
        progress: bar.callback(),
        sanitize: args.sanitize,
        labels: args.labels.map(),
        ..ImportOptions::default()
    };
    let result = import_dir(store, &session, &args.dir, &options).await;
    bar.finish();
    let report = result.map_err(transfer_failure)?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            let mut out = format!(
                "{}: {} stored ({}), {} unchanged, {} skipped, {} failed\n",
                report.session,
                report.moved.items,
                HumanBytes(report.moved.bytes),
                report.unchanged.items,
                report.skipped.len(),
                report.failed.items
            );
            failure_lines(&mut out, &report.failures);
            print!("{out}");
        }
    }
    let mut lines = String::new();
    for s in &report.skipped {
        let _ = writeln!(lines, "  skipped {}: {}", s.path, s.reason);
    }
    eprint!("{lines}");
    failed_items("import", &report.failures)?;
    skipped_files(&report.skipped, args.sanitize)
}

/// Exit 1 when files were skipped (listed on stderr), so a script notices files that were
/// not imported.
fn skipped_files(skipped: &[SkippedFile], sanitized: bool) -> Result<(), Failure> {
    if skipped.is_empty() {
        return Ok(());
    }
    let hint = if sanitized {
        ""
    } else {
        "; --sanitize stores invalid names as valid ones"
    };
    Err(Failure::other(format!(
        "{} not imported (listed above){hint}",
        count(skipped.len() as u64, "file was", "files were")
    )))
}

/// `export`: the session into DIR/<target>/<key…>.
pub async fn export(store: &Store, args: &ExportArgs) -> Result<(), Failure> {
    let session = resolve(store, &args.session).await?;
    let bar = Bar::new("exporting");
    let options = ExportOptions {
        overwrite: args.overwrite,
        progress: bar.callback(),
        ..ExportOptions::default()
    };
    let result = export_dir(store, &session, &args.dir, &options).await;
    bar.finish();
    let report = result.map_err(transfer_failure)?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            let mut out = format!(
                "{} -> {}: {} written ({}), {} replaced, {} unchanged, {} failed\n",
                report.session,
                args.dir.display(),
                report.moved.items,
                HumanBytes(report.moved.bytes),
                report.replaced,
                report.unchanged.items,
                report.failed.items
            );
            failure_lines(&mut out, &report.failures);
            print!("{out}");
        }
    }
    failed_items("export", &report.failures)
}

/// The destination's settings: the source's (namespace, API key, local options) with the
/// destination flags.
fn destination(source: &StorageConfig, args: &CopyArgs) -> Result<StorageConfig, Failure> {
    let mut to = source.clone();
    to.mode = args.to_mode;
    match args.to_mode {
        StorageMode::Local => {
            let path = args
                .to_path
                .clone()
                .ok_or_else(|| Failure::invalid("--to-path is required with --to-mode local"))?;
            to.local_path = path;
            to.cache_service_url = None;
        }
        StorageMode::CacheService => {
            let url = args.to_url.clone().ok_or_else(|| {
                Failure::invalid(
                    "--to-url is required with --to-mode cache_service (an in-process service would be lost at exit)",
                )
            })?;
            to.cache_service_url = Some(url);
        }
        StorageMode::Memory => to.cache_service_url = None,
        StorageMode::ObjectStore => {
            to.object_store_url = args.to_url.clone().or(to.object_store_url);
            if to.object_store_url.is_none() {
                return Err(Failure::invalid(
                    "--to-url or --object-store-url is required with --to-mode object_store",
                ));
            }
        }
    }
    if args.to_path.is_some() && args.to_mode != StorageMode::Local {
        return Err(Failure::invalid(
            "--to-path applies to --to-mode local only",
        ));
    }
    if args.to_url.is_some()
        && !matches!(
            args.to_mode,
            StorageMode::CacheService | StorageMode::ObjectStore
        )
    {
        return Err(Failure::invalid(
            "--to-url applies to --to-mode cache_service and object_store only",
        ));
    }
    if same_store(source, &to) {
        return Err(Failure::invalid(
            "the destination is the source store; give another --to-path or --to-url",
        ));
    }
    Ok(to)
}

fn same_store(a: &StorageConfig, b: &StorageConfig) -> bool {
    match (a.mode, b.mode) {
        (StorageMode::Local, StorageMode::Local) => {
            let canonical =
                |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            canonical(&a.local_path) == canonical(&b.local_path)
        }
        (StorageMode::CacheService, StorageMode::CacheService) => {
            a.cache_service_url.is_some()
                && a.cache_service_url
                    .as_deref()
                    .map(|u| u.trim_end_matches('/'))
                    == b.cache_service_url
                        .as_deref()
                        .map(|u| u.trim_end_matches('/'))
                && a.namespace == b.namespace
        }
        (StorageMode::ObjectStore, StorageMode::ObjectStore) => {
            let url = |c: &StorageConfig| {
                c.object_store_url
                    .as_deref()
                    .map(|u| u.trim_end_matches('/').to_owned())
            };
            a.object_store_url
                .as_deref()
                .is_some_and(|u| !u.starts_with("memory:"))
                && url(a) == url(b)
        }
        // Two memory stores are always two stores.
        _ => false,
    }
}

fn describe(config: &StorageConfig) -> String {
    match config.mode {
        StorageMode::Local => format!("local {}", config.local_path.display()),
        StorageMode::Memory => "memory".to_owned(),
        StorageMode::CacheService => format!(
            "cache_service {} ({})",
            config.cache_service_url.as_deref().unwrap_or("in-process"),
            config.namespace
        ),
        StorageMode::ObjectStore => format!(
            "object_store {}",
            config.object_store_url.as_deref().unwrap_or("(no URL)")
        ),
    }
}

/// `copy`: mirror the session of the configured store into another.
pub async fn copy(
    source: &StorageConfig,
    args: &CopyArgs,
    stats: &StatsArgs,
) -> Result<(), Failure> {
    let to_config = destination(source, args)?;
    let from = stats.measure("source", source.open()?);
    let to = stats.measure("destination", to_config.open()?);
    let session = resolve(&from, &args.session).await?;
    let bar = Bar::new("copying");
    let options = CopyOptions {
        prune: args.prune,
        progress: bar.callback(),
        ..CopyOptions::default()
    };
    let result = copy_session(&from, &to, &session, &options).await;
    bar.finish();
    let report = result.map_err(transfer_failure)?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            let mut out = format!(
                "{} -> {}: {} copied ({}), {} unchanged, {} pruned, {} failed\n",
                report.session,
                describe(&to_config),
                report.moved.items,
                HumanBytes(report.moved.bytes),
                report.unchanged.items,
                report.pruned,
                report.failed.items
            );
            failure_lines(&mut out, &report.failures);
            print!("{out}");
        }
    }
    failed_items("copy", &report.failures)
}
