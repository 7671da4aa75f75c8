//! `history`: a target's metrics across sessions, oldest first, with a sparkline per metric.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use perfstore::diff::Direction;
use perfstore::diff::render::number;
use perfstore::history::{History, HistoryQuery, history};
use perfstore::{Store, TargetName};

use super::print_json;
use crate::failure::Failure;

/// Output format of `history`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Sessions, then one line per metric with a sparkline.
    #[default]
    Table,
    /// The whole history (sessions, series, regressions) as JSON.
    Json,
    /// One row per session and metric with a value (for spreadsheets and plotting).
    Csv,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The target.
    pub target: String,
    /// Only metrics matching this glob over the JSON path (or KEYGLOB:PATHGLOB).
    #[arg(long, value_name = "GLOB")]
    pub metric: Option<String>,
    /// Only the last N sessions.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: HistoryFormat,
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per point: its height between the series' min and max; a space where the
/// session has no value.
pub fn sparkline(points: &[Option<f64>]) -> String {
    let present = points.iter().flatten();
    let (min, max) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    points
        .iter()
        .map(|p| match p {
            None => ' ',
            Some(_) if max <= min => BARS[3],
            Some(v) => {
                let level = ((v - min) / (max - min) * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

fn arrow(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsWorse => "↓ better",
        Direction::LowerIsWorse => "↑ better",
        Direction::Neutral => "neutral",
    }
}

fn table(h: &History) -> String {
    let mut out = String::new();
    let sessions = h.sessions.len();
    let _ = writeln!(
        out,
        "history of {}: {} {}, oldest first; {} {}",
        h.target,
        sessions,
        if sessions == 1 { "session" } else { "sessions" },
        h.series.len(),
        if h.series.len() == 1 {
            "metric"
        } else {
            "metrics"
        }
    );
    let width = h
        .sessions
        .iter()
        .map(|s| s.session.as_str().chars().count())
        .max()
        .unwrap_or(0);
    for (i, s) in h.sessions.iter().enumerate() {
        let mut line = format!(
            "{:>3}  {:<width$}  {}",
            i + 1,
            s.session.as_str(),
            s.created_at.as_deref().unwrap_or("(no creation time)")
        );
        if let Some(commit) = &s.git_commit {
            let _ = write!(line, "  git {}", &commit[..commit.len().min(12)]);
        }
        for b in &s.baselines {
            let _ = write!(line, "  @{b}");
        }
        if !s.labels.is_empty() {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = write!(line, "  {}", labels.join(" "));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if h.series.is_empty() {
        return out;
    }
    let header = [
        "KEY",
        "METRIC",
        "DIRECTION",
        "TREND",
        "FIRST",
        "LAST",
        "REGRESSED AT",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = h
        .series
        .iter()
        .map(|m| {
            let first = m.points.iter().flatten().next().copied();
            let last = m.points.iter().flatten().last().copied();
            let regressed: Vec<String> = m
                .regressions
                .iter()
                .map(|i| format!("#{}", i + 1))
                .collect();
            [
                m.key.to_string(),
                m.metric.clone(),
                arrow(m.direction).to_owned(),
                sparkline(&m.points),
                first.map_or(String::new(), number),
                last.map_or(String::new(), number),
                regressed.join(" "),
            ]
        })
        .collect();
    out.push('\n');
    perfstore::diff::render::write_columns(&mut out, &header, &rows, 4..=5);
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn csv(h: &History) -> String {
    let mut out = String::from(
        "session,created_at,baselines,git_commit,key,metric,direction,value,regression\n",
    );
    for (i, s) in h.sessions.iter().enumerate() {
        for m in &h.series {
            let Some(value) = m.points[i] else { continue };
            let direction = match m.direction {
                Direction::HigherIsWorse => "lower-is-better",
                Direction::LowerIsWorse => "higher-is-better",
                Direction::Neutral => "neutral",
            };
            let fields = [
                s.session.to_string(),
                s.created_at.clone().unwrap_or_default(),
                s.baselines.join(";"),
                s.git_commit.clone().unwrap_or_default(),
                m.key.to_string(),
                m.metric.clone(),
                direction.to_owned(),
                value.to_string(),
                m.regressions.contains(&i).to_string(),
            ];
            let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            let _ = writeln!(out, "{}", row.join(","));
        }
    }
    out
}

/// `history`: prints the target's history; exit 3 when no session holds the target.
pub async fn run(store: &Store, args: &HistoryArgs) -> Result<(), Failure> {
    let target = TargetName::new(&args.target)?;
    let query = HistoryQuery {
        metric_glob: args.metric.clone(),
        last: args.last.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let h = history(store, &target, &query).await?;
    if h.sessions.is_empty() {
        return Err(Failure::not_found(format!(
            "no session holds target {target}"
        )));
    }
    match args.format {
        HistoryFormat::Json => print_json(&h),
        HistoryFormat::Table => {
            print!("{}", table(&h));
            Ok(())
        }
        HistoryFormat::Csv => {
            print!("{}", csv(&h));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_between_min_and_max() {
        assert_eq!(sparkline(&[Some(1.0), Some(8.0), None, Some(4.5)]), "▁█ ▅");
        assert_eq!(sparkline(&[Some(3.0), Some(3.0)]), "▄▄");
        assert_eq!(sparkline(&[None]), " ");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
