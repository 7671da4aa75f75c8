//! `session info`: what perfstore knows about a session.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use indicatif::HumanBytes;
use perfstore::Store;
use perfstore::session::{SessionInfo, session_info};

use super::{print_json, require_session, resolve};
use crate::artifacts::Format;
use crate::failure::Failure;

/// The `session` subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Show a session's metadata, environment fingerprint, target count and size.
    Info(InfoArgs),
}

/// Arguments of `session info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Session (`@name` for a baseline's session).
    pub session: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn text(info: &SessionInfo) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{label:<10} {value}");
    };
    line("session", &info.session);
    match &info.meta {
        Some(meta) => {
            line("created", &meta.created_at);
            let labels: Vec<String> = meta
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            line(
                "labels",
                &if labels.is_empty() {
                    "(none)".to_owned()
                } else {
                    labels.join(", ")
                },
            );
            let fp = &meta.fingerprint;
            line("host", &fp.host);
            line("os", &fp.os);
            line("arch", &fp.arch);
            line("cpu", &fp.cpu_model);
            line("cores", &fp.cores);
            line("perfstore", &fp.perfstore_version);
        }
        None => line(
            "metadata",
            &"none recorded (not created through perfstore's workflows)",
        ),
    }
    line("targets", &info.targets);
    line("artifacts", &info.artifacts);
    let size = if info.bytes < 1024 {
        format!("{} B", info.bytes)
    } else {
        format!("{} ({} bytes)", HumanBytes(info.bytes), info.bytes)
    };
    line("bytes", &size);
    out
}

/// Runs a `session` subcommand.
pub async fn run(store: &Store, command: &SessionCommand) -> Result<(), Failure> {
    match command {
        SessionCommand::Info(args) => {
            let session = resolve(store, &args.session).await?;
            require_session(store, &session).await?;
            let info = session_info(store, &session).await?;
            match args.format {
                Format::Json => print_json(&info),
                Format::Text => {
                    print!("{}", text(&info));
                    Ok(())
                }
            }
        }
    }
}
