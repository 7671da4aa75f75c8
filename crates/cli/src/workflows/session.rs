//! `session info`: what perfstore knows about a session; `--label` for the commands that
//! write one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{Args, Subcommand};
use indicatif::HumanBytes;
use perfstore::session::{SessionInfo, ensure_session, session_info};
use perfstore::{SessionName, Store};

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

/// `--label KEY=VALUE`, for the commands that write a session (`put`, `import`).
#[derive(Debug, Clone, Default, Args)]
pub struct LabelArgs {
    /// Label the session KEY=VALUE (repeatable); kept in its metadata, shown by `session info`,
    /// `diff` and `history`. A key given again takes the new value.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

impl LabelArgs {
    /// The labels as a map (a key given twice keeps the last value).
    pub fn map(&self) -> BTreeMap<String, String> {
        self.labels.iter().cloned().collect()
    }
}

/// `commit=abc` → (`commit`, `abc`); the key must be non-empty and free of `=` and spaces.
pub fn parse_label(value: &str) -> Result<(String, String), String> {
    let (key, val) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?} is not a label: write KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return Err(format!(
            "{value:?} is not a label: the key must be non-empty, without spaces"
        ));
    }
    Ok((key.to_owned(), val.to_owned()))
}

/// Records `session`'s context (time, fingerprint, git checkout) on its first write and
/// merges `labels`; the one call every CLI write path makes.
pub async fn record_session(
    store: &Store,
    session: &SessionName,
    labels: &LabelArgs,
) -> Result<(), Failure> {
    ensure_session(store, session, &labels.map()).await?;
    Ok(())
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
            if let Some(git) = &meta.git {
                line(
                    "git",
                    &format!(
                        "{}{}{}",
                        git.commit.as_deref().unwrap_or("(no commit yet)"),
                        git.branch
                            .as_deref()
                            .map_or(String::new(), |b| format!(" on {b}")),
                        match git.dirty {
                            Some(true) => ", dirty",
                            Some(false) => ", clean",
                            None => "",
                        }
                    ),
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_key_value_pairs() {
        assert_eq!(
            parse_label("commit=abc=1"),
            Ok(("commit".to_owned(), "abc=1".to_owned()))
        );
        assert_eq!(parse_label("note="), Ok(("note".to_owned(), String::new())));
        for bad in ["", "novalue", "=x", "a b=c"] {
            assert!(parse_label(bad).is_err(), "{bad:?} accepted");
        }
    }
}
