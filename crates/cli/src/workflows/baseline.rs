//! `baseline set | ls | rm`: named pointers at sessions, used as `@name` wherever a session is
//! given.

use clap::{Args, Subcommand};
use perfstore::Store;
use perfstore::baseline::{BaselineName, list_baselines, remove_baseline, set_baseline};

use super::{print_json, resolve};
use crate::artifacts::Format;
use crate::failure::Failure;

/// The `baseline` subcommands.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Point a baseline at a session (creating or moving it).
    Set(SetArgs),
    /// List the baselines and the sessions they point at.
    Ls(LsArgs),
    /// Remove a baseline (its session is untouched).
    Rm(RmArgs),
}

/// Arguments of `baseline set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Baseline name (A-Z a-z 0-9 _ -).
    pub name: String,
    /// Session it points at (`@other` for another baseline's session).
    pub session: String,
}

/// Arguments of `baseline ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `baseline rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Baseline name.
    pub name: String,
}

/// A baseline name, with or without its `@`.
fn name(value: &str) -> Result<BaselineName, Failure> {
    Ok(BaselineName::new(value.strip_prefix('@').unwrap_or(value))?)
}

/// Runs a `baseline` subcommand.
pub async fn run(store: &Store, command: &BaselineCommand) -> Result<(), Failure> {
    match command {
        BaselineCommand::Set(args) => {
            let name = name(&args.name)?;
            let session = resolve(store, &args.session).await?;
            let baseline = set_baseline(store, &name, &session).await?;
            println!("@{} -> {}", baseline.name, baseline.session);
            Ok(())
        }
        BaselineCommand::Ls(args) => {
            let baselines = list_baselines(store).await?;
            match args.format {
                Format::Json => print_json(&baselines),
                Format::Text => {
                    let width = baselines
                        .iter()
                        .map(|b| b.name.as_str().chars().count() + 1)
                        .max()
                        .unwrap_or(0);
                    for b in &baselines {
                        let at = format!("@{}", b.name);
                        println!("{at:<width$}  {}  (set {})", b.session, b.updated_at);
                    }
                    Ok(())
                }
            }
        }
        BaselineCommand::Rm(args) => {
            let name = name(&args.name)?;
            if remove_baseline(store, &name).await? {
                println!("removed @{name}");
                Ok(())
            } else {
                Err(Failure::not_found(format!("baseline @{name} is not set")))
            }
        }
    }
}
