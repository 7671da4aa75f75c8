//! `diff`: compare two sessions, metric by metric, and optionally fail on a regression or an
//! incomplete candidate.
//!
//! Direction per metric: the flags here first, then the rules stored with `perfstore rules`,
//! then the metric's name (`throughput`, `*_per_s`, `*hit_rate*`, … are higher-is-better).

use clap::{Args, ValueEnum};
use perfstore::diff::render::{Format as RenderFormat, render};
use perfstore::diff::{DiffOptions, Direction, MetricRule, SessionDiff, Threshold, diff_sessions};
use perfstore::direction::set_rule;
use perfstore::{KeyPrefix, Store, TargetName};

use super::resolve;
use crate::failure::Failure;

/// Exit code of `diff --fail-on-regression` when a metric regressed.
pub const EXIT_REGRESSION: u8 = 4;

/// Exit code of `diff --fail-on-regression` when the candidate lacks a target, artifact or
/// metric the base has, or nothing was compared (unless `--allow-missing`). A regression wins.
pub const EXIT_INCOMPLETE: u8 = 5;

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// GitHub-flavoured Markdown (for a pull-request comment).
    Markdown,
    /// The whole comparison as JSON.
    Json,
}

impl From<DiffFormat> for RenderFormat {
    fn from(f: DiffFormat) -> Self {
        match f {
            DiffFormat::Table => RenderFormat::Table,
            DiffFormat::Markdown => RenderFormat::Markdown,
            DiffFormat::Json => RenderFormat::Json,
        }
    }
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Base session (`@name` for a baseline's session).
    pub base: String,
    /// Candidate session (`@name` for a baseline's session).
    pub candidate: String,
    /// Compare only this target.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Compare only keys starting with this prefix (e.g. results/).
    #[arg(long, value_name = "PREFIX")]
    pub key: Option<String>,
    /// Relative change beyond which a metric regressed or improved: 5% or 0.05.
    #[arg(long, value_name = "CHANGE", default_value = "5%", value_parser = parse_threshold)]
    pub threshold: f64,
    /// Metrics (glob over the JSON path, or KEYGLOB:PATHGLOB) where a drop is a regression
    /// (higher is better), whatever their name implies.
    #[arg(long, visible_alias = "higher-is-better", value_name = "GLOB", value_parser = parse_glob)]
    pub lower_is_worse: Vec<String>,
    /// Metrics where a rise is a regression (lower is better), whatever their name implies.
    #[arg(long, visible_alias = "lower-is-better", value_name = "GLOB", value_parser = parse_glob)]
    pub higher_is_worse: Vec<String>,
    /// Metrics whose changes are reported but never regressions or improvements. When several
    /// of these globs match one metric, the one with the most literal characters wins.
    #[arg(long, value_name = "GLOB", value_parser = parse_glob)]
    pub neutral: Vec<String>,
    /// Include unified diffs of changed text artifacts.
    #[arg(long)]
    pub unified: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Exit with status 4 if any metric regressed, or 5 if the candidate lacks a target,
    /// artifact or metric the base has or nothing was compared.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// With --fail-on-regression: what the candidate lacks does not fail the diff (exit 0).
    #[arg(long)]
    pub allow_missing: bool,
    /// Significance level for metrics with samples (arrays of 2+ numbers): a change is a
    /// regression only if the Mann-Whitney U test gives p below it.
    #[arg(long, value_name = "P", default_value_t = 0.05, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Ignore the direction rules stored with `perfstore rules`.
    #[arg(long)]
    pub no_stored_rules: bool,
    /// Store this run's --lower-is-worse/--higher-is-worse/--neutral globs as rules, so every
    /// later diff and history uses them (`perfstore rules ls` lists them).
    #[arg(long)]
    pub save_rules: bool,
}

/// A significance level: strictly between 0 and 1.
pub fn parse_alpha(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        _ => Err(format!(
            "{value:?} is not a significance level: write a number between 0 and 1, e.g. 0.05"
        )),
    }
}

/// `5%` → 0.05; `0.05` → 0.05. A bare number must be a fraction (0 to 1), so `5` is refused
/// rather than read as 500 %.
pub fn parse_threshold(value: &str) -> Result<f64, String> {
    let text = value.trim();
    let (number, percent) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (text, false),
    };
    let parsed: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a threshold (write 5% or 0.05)"))?;
    if !parsed.is_finite() || parsed < 0.0 {
        return Err(format!(
            "{value:?} is not a threshold: it must be a non-negative number (5% or 0.05)"
        ));
    }
    if percent {
        Ok(parsed / 100.0)
    } else if parsed <= 1.0 {
        Ok(parsed)
    } else {
        Err(format!(
            "{value:?} is ambiguous: write {parsed}% for a percentage or a fraction such as 0.05"
        ))
    }
}

fn parse_glob(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("a metric glob must not be empty".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// The direction rules, most specific glob first (ties: neutral, lower-is-worse,
/// higher-is-worse).
fn rules(args: &DiffArgs) -> Vec<MetricRule> {
    let mut rules: Vec<(usize, usize, MetricRule)> = [
        (&args.neutral, Direction::Neutral),
        (&args.lower_is_worse, Direction::LowerIsWorse),
        (&args.higher_is_worse, Direction::HigherIsWorse),
    ]
    .into_iter()
    .enumerate()
    .flat_map(|(rank, (globs, direction))| {
        globs.iter().map(move |glob| {
            let literal = glob.chars().filter(|c| !matches!(c, '*' | '?')).count();
            (
                literal,
                rank,
                MetricRule {
                    pattern: glob.clone(),
                    relative: None,
                    direction: Some(direction),
                },
            )
        })
    })
    .collect();
    rules.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    rules.into_iter().map(|(_, _, rule)| rule).collect()
}

/// `diff`: prints the comparison; with `--fail-on-regression`, exit 4 if a metric regressed,
/// else 5 if the candidate is incomplete (unless `--allow-missing`).
pub async fn run(store: &Store, args: &DiffArgs) -> Result<(), Failure> {
    let base = resolve(store, &args.base).await?;
    let candidate = resolve(store, &args.candidate).await?;
    let rules = rules(args);
    if args.save_rules {
        if rules.is_empty() {
            return Err(Failure::invalid(
                "--save-rules needs at least one --lower-is-worse, --higher-is-worse or --neutral glob",
            ));
        }
        for rule in &rules {
            set_rule(store, rule.clone()).await?;
        }
    }
    let options = DiffOptions {
        threshold: Threshold {
            relative: args.threshold,
            direction: Direction::HigherIsWorse,
        },
        rules,
        target: args.target.as_deref().map(TargetName::new).transpose()?,
        key_prefix: args.key.as_deref().map(KeyPrefix::new).transpose()?,
        unified_diff: args.unified,
        infer_direction: true,
        use_stored_rules: !args.no_stored_rules,
        alpha: args.alpha,
    };
    let diff = diff_sessions(store, &base, &candidate, &options).await?;
    let text = render(&diff, args.format.into());
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
    gate(&diff, args)
}

/// The exit status `--fail-on-regression` asks for: 4 on a regression, else 5 when the
/// candidate is incomplete or nothing was compared (unless `--allow-missing`).
fn gate(diff: &SessionDiff, args: &DiffArgs) -> Result<(), Failure> {
    if !args.fail_on_regression {
        return Ok(());
    }
    let (base, candidate) = (&diff.base, &diff.candidate);
    if diff.has_regressions() {
        let n = diff.summary.regressions;
        return Err(Failure::with_code(
            EXIT_REGRESSION,
            format!(
                "{n} {} beyond the threshold in {candidate} against {base}",
                if n == 1 { "regression" } else { "regressions" }
            ),
        ));
    }
    if args.allow_missing {
        return Ok(());
    }
    if let Some(first) = diff.missing.first() {
        let n = diff.missing.len();
        return Err(Failure::with_code(
            EXIT_INCOMPLETE,
            format!(
                "{candidate} is incomplete: {n} {} of {base} missing, first {first} (--allow-missing to pass)",
                if n == 1 { "item" } else { "items" }
            ),
        ));
    }
    if diff.compared_nothing() {
        return Err(Failure::with_code(
            EXIT_INCOMPLETE,
            format!(
                "nothing compared: no artifact of {base} is also in {candidate}{} (--allow-missing to pass)",
                args.target
                    .as_deref()
                    .map_or(String::new(), |t| format!(" for target {t}"))
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_percentages_or_fractions() {
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold(" 12.5 % "), Ok(0.125));
        assert_eq!(parse_threshold("0.05"), Ok(0.05));
        assert_eq!(parse_threshold("0"), Ok(0.0));
        assert_eq!(parse_threshold("250%"), Ok(2.5));
        for bad in ["", "%", "five", "-5%", "5", "NaN", "inf%", "0.05%%"] {
            assert!(parse_threshold(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_most_specific_glob_comes_first() {
        let args = DiffArgs {
            base: "a".into(),
            candidate: "b".into(),
            target: None,
            key: None,
            threshold: 0.05,
            lower_is_worse: vec!["*throughput*".into(), "*".into()],
            higher_is_worse: vec!["latency.p99_ms".into()],
            neutral: vec!["*_count".into()],
            unified: false,
            format: DiffFormat::Table,
            fail_on_regression: false,
            allow_missing: false,
            alpha: 0.05,
            no_stored_rules: false,
            save_rules: false,
        };
        let order: Vec<(String, Option<Direction>)> = rules(&args)
            .into_iter()
            .map(|r| (r.pattern, r.direction))
            .collect();
        assert_eq!(
            order,
            [
                ("latency.p99_ms".to_owned(), Some(Direction::HigherIsWorse)),
                ("*throughput*".to_owned(), Some(Direction::LowerIsWorse)),
                ("*_count".to_owned(), Some(Direction::Neutral)),
                ("*".to_owned(), Some(Direction::LowerIsWorse)),
            ]
        );
    }
}
