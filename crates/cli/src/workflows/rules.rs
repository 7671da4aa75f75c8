//! `rules set | ls | rm`: metric direction and threshold rules stored in the store, which every
//! later `diff` and `history` applies (after the diff's own flags, before the metric's name).

use clap::{ArgGroup, Args, Subcommand};
use perfstore::Store;
use perfstore::diff::{Direction, MetricRule};
use perfstore::direction::{remove_rule, set_rule, stored_rules};

use super::diff::parse_threshold;
use super::print_json;
use crate::artifacts::Format;
use crate::failure::Failure;

/// The `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Store a rule for the metrics a glob matches (replacing a rule with the same glob).
    Set(SetArgs),
    /// List the stored rules, in the order they apply (first match wins).
    Ls(LsArgs),
    /// Remove the rule with this exact glob.
    Rm(RmArgs),
}

/// Arguments of `rules set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("setting").required(true).multiple(true)
    .args(["higher_is_better", "lower_is_better", "neutral", "threshold"])))]
pub struct SetArgs {
    /// Glob over the metric's JSON path (`*` any run, `?` one character), or KEYGLOB:PATHGLOB.
    pub glob: String,
    /// Higher values are better: a drop is a regression.
    #[arg(long, conflicts_with_all = ["lower_is_better", "neutral"])]
    pub higher_is_better: bool,
    /// Lower values are better: a rise is a regression.
    #[arg(long, conflicts_with = "neutral")]
    pub lower_is_better: bool,
    /// Changes are shown but never regressions or improvements.
    #[arg(long)]
    pub neutral: bool,
    /// Threshold for these metrics: 10% or 0.1.
    #[arg(long, value_name = "CHANGE", value_parser = parse_threshold)]
    pub threshold: Option<f64>,
}

/// Arguments of `rules ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `rules rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The rule's glob, exactly as set.
    pub glob: String,
}

fn describe(rule: &MetricRule) -> String {
    let mut parts = Vec::new();
    match rule.direction {
        Some(Direction::LowerIsWorse) => parts.push("higher is better".to_owned()),
        Some(Direction::HigherIsWorse) => parts.push("lower is better".to_owned()),
        Some(Direction::Neutral) => parts.push("neutral".to_owned()),
        None => {}
    }
    if let Some(t) = rule.relative {
        parts.push(format!("threshold {}%", t * 100.0));
    }
    format!("{}  {}", rule.pattern, parts.join(", "))
}

/// Runs a `rules` subcommand.
pub async fn run(store: &Store, command: &RulesCommand) -> Result<(), Failure> {
    match command {
        RulesCommand::Set(args) => {
            if args.glob.trim().is_empty() {
                return Err(Failure::invalid("a rule's glob must not be empty"));
            }
            let direction = if args.higher_is_better {
                Some(Direction::LowerIsWorse)
            } else if args.lower_is_better {
                Some(Direction::HigherIsWorse)
            } else if args.neutral {
                Some(Direction::Neutral)
            } else {
                None
            };
            let rule = MetricRule {
                pattern: args.glob.clone(),
                relative: args.threshold,
                direction,
            };
            set_rule(store, rule.clone()).await?;
            println!("rule {}", describe(&rule));
            Ok(())
        }
        RulesCommand::Ls(args) => {
            let rules = stored_rules(store).await?;
            match args.format {
                Format::Json => print_json(&rules),
                Format::Text => {
                    for rule in &rules {
                        println!("{}", describe(rule));
                    }
                    Ok(())
                }
            }
        }
        RulesCommand::Rm(args) => {
            if remove_rule(store, &args.glob).await? {
                println!("removed rule {}", args.glob);
                Ok(())
            } else {
                Err(Failure::not_found(format!(
                    "no rule with the glob {:?} (see `perfstore rules ls`)",
                    args.glob
                )))
            }
        }
    }
}
