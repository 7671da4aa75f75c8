//! Renderers for a [`SessionDiff`]: a terminal table, Markdown fit for a pull-request comment,
//! and JSON.
//!
//! Table and Markdown show the metrics whose value changed (regressions and improvements
//! first) and the other changes; JSON carries everything, unchanged metrics included.

use std::fmt::Write;

use super::{ArtifactChange, MetricChange, SessionDiff, Verdict};
use crate::workflows::session::SessionMeta;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Pretty JSON of the whole [`SessionDiff`].
    Json,
}

/// Renders `diff` in `format`.
pub fn render(diff: &SessionDiff, format: Format) -> String {
    match format {
        Format::Table => table(diff),
        Format::Markdown => markdown(diff),
        Format::Json => {
            serde_json::to_string_pretty(diff).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        }
    }
}

/// A number for people: integers as such, others to 10 significant digits (so a median of
/// 10.1 and 10.2 shows as 10.15, not 10.149999999999999).
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let plain = format!("{v}");
    if plain.len() <= 10 || !v.is_finite() {
        return plain;
    }
    let decimals = (10 - v.abs().log10().ceil() as i32).clamp(0, 15) as usize;
    let rounded = format!("{v:.decimals$}");
    if rounded.contains('.') {
        rounded
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        rounded
    }
}

fn change(relative: Option<f64>, absolute: f64) -> String {
    match relative {
        Some(r) => format!("{:+.1}%", r * 100.0),
        None => format!("{:+} (from 0)", number(absolute)),
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "regression",
        Verdict::Improvement => "improvement",
        Verdict::Changed => "changed",
        Verdict::Unchanged => "within threshold",
    }
}

/// The verdict, with the p-value for distributions (`within noise` when beyond the threshold
/// but not significant).
fn verdict_of(m: &MetricChange) -> String {
    match m.samples {
        Some(x) if !x.significant && m.beyond_threshold() => {
            format!("within noise (p={})", p_value(x.result.p_value))
        }
        Some(x) => format!("{} (p={})", verdict(m.verdict), p_value(x.result.p_value)),
        None => verdict(m.verdict).to_owned(),
    }
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "<0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

/// A value cell: the number, or for a distribution `median [ci_low–ci_high] n=N`.
fn value_cell(value: f64, summary: Option<crate::workflows::stats::Summary>) -> String {
    match summary {
        Some(s) => format!(
            "{} [{}–{}] n={}",
            number(s.median),
            number(s.ci_low),
            number(s.ci_high),
            s.n
        ),
        None => number(value),
    }
}

/// One line of a session's recorded context: creation time, git, labels.
pub fn context_line(meta: &SessionMeta) -> String {
    let mut parts = vec![format!("created {}", meta.created_at)];
    if let Some(git) = &meta.git {
        let mut g = format!(
            "git {}",
            git.commit
                .as_deref()
                .map_or("(no commit)", |c| &c[..c.len().min(12)])
        );
        let mut extra = Vec::new();
        if let Some(branch) = &git.branch {
            extra.push(branch.clone());
        }
        if git.dirty == Some(true) {
            extra.push("dirty".to_owned());
        }
        if !extra.is_empty() {
            let _ = write!(g, " ({})", extra.join(", "));
        }
        parts.push(g);
    }
    if !meta.labels.is_empty() {
        let labels: Vec<String> = meta
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.push(format!("labels {}", labels.join(" ")));
    }
    parts.push(format!("host {}", meta.fingerprint.host));
    parts.join(" · ")
}

fn context_lines(diff: &SessionDiff) -> Vec<String> {
    [
        ("base", &diff.base, &diff.base_meta),
        ("candidate", &diff.candidate, &diff.candidate_meta),
    ]
    .into_iter()
    .filter_map(|(side, name, meta)| {
        meta.as_ref()
            .map(|m| format!("{side} {name}: {}", context_line(m)))
    })
    .collect()
}

/// How many missing items are listed before "… and N more".
const MISSING_SHOWN: usize = 20;

fn missing_lines(diff: &SessionDiff) -> Vec<String> {
    let mut lines: Vec<String> = diff
        .missing
        .iter()
        .take(MISSING_SHOWN)
        .map(ToString::to_string)
        .collect();
    if diff.missing.len() > MISSING_SHOWN {
        lines.push(format!("… and {} more", diff.missing.len() - MISSING_SHOWN));
    }
    lines
}

fn rule_note(diff: &SessionDiff) -> String {
    format!(
        "threshold {:.1}%; direction from rules, else the metric's name",
        diff.threshold.relative * 100.0
    )
}

/// Rows of changed metrics, regressions first, then improvements, then the rest.
fn metric_rows(diff: &SessionDiff) -> Vec<[String; 7]> {
    let mut rows: Vec<(u8, [String; 7])> = diff
        .metrics()
        .filter(|(_, _, m)| m.absolute != 0.0)
        .map(|(target, key, m)| {
            let rank = match m.verdict {
                Verdict::Regression => 0,
                Verdict::Improvement => 1,
                Verdict::Changed => 2,
                Verdict::Unchanged => 3,
            };
            (
                rank,
                [
                    target.to_string(),
                    key.to_string(),
                    m.path.clone(),
                    value_cell(m.base, m.samples.map(|x| x.base)),
                    value_cell(m.candidate, m.samples.map(|x| x.candidate)),
                    change(m.relative, m.absolute),
                    verdict_of(m),
                ],
            )
        })
        .collect();
    rows.sort_by_key(|(rank, _)| *rank);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Lines describing non-metric changes.
fn other_changes(diff: &SessionDiff) -> Vec<String> {
    let mut out = Vec::new();
    for target in &diff.targets {
        for a in &target.artifacts {
            let what = match &a.change {
                ArtifactChange::Added { kind } => format!("added ({kind})"),
                ArtifactChange::Removed { kind } => format!("removed ({kind})"),
                ArtifactChange::Unchanged => continue,
                ArtifactChange::Json { values, .. } if values.is_empty() => continue,
                ArtifactChange::Json { values, .. } => values
                    .iter()
                    .map(|v| {
                        let show = |x: &Option<serde_json::Value>| {
                            x.as_ref().map_or("∅".to_owned(), |v| v.to_string())
                        };
                        format!(
                            "{}: {} → {}",
                            if v.path.is_empty() { "(root)" } else { &v.path },
                            show(&v.base),
                            show(&v.candidate)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                ArtifactChange::Text { changed_lines, .. } => {
                    format!("text, {changed_lines} lines changed")
                }
                ArtifactChange::Binary {
                    base_size,
                    candidate_size,
                } => {
                    format!("bytes differ ({base_size} B → {candidate_size} B)")
                }
            };
            out.push(format!("{} {} {what}", target.target, a.key));
        }
    }
    out
}

/// `n` and the noun in the number it needs: "1 target", "2 targets".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn headline(diff: &SessionDiff) -> String {
    let s = &diff.summary;
    let mut line = format!(
        "{}, {}; {} compared, artifacts: {} changed, {} added, {} removed, {} unchanged",
        count(s.regressions, "regression", "regressions"),
        count(s.improvements, "improvement", "improvements"),
        count(s.targets_compared, "target", "targets"),
        s.artifacts_changed,
        s.artifacts_added,
        s.artifacts_removed,
        s.artifacts_unchanged
    );
    if s.not_significant > 0 {
        let _ = write!(line, "; {} within noise", s.not_significant);
    }
    if s.missing > 0 {
        let _ = write!(line, "; {} missing in {}", s.missing, diff.candidate);
    }
    line
}

fn table(diff: &SessionDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "perfstore diff: {} → {} ({})",
        diff.base,
        diff.candidate,
        rule_note(diff)
    );
    for line in context_lines(diff) {
        let _ = writeln!(out, "{line}");
    }
    for w in &diff.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(out, "{}", headline(diff));
    if !diff.only_in_base.is_empty() {
        let names: Vec<String> = diff.only_in_base.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "only in {}: {}", diff.base, names.join(", "));
    }
    if !diff.only_in_candidate.is_empty() {
        let names: Vec<String> = diff
            .only_in_candidate
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(out, "only in {}: {}", diff.candidate, names.join(", "));
    }
    let rows = metric_rows(diff);
    if !rows.is_empty() {
        let header = [
            "TARGET",
            "KEY",
            "METRIC",
            "BASE",
            "CANDIDATE",
            "CHANGE",
            "VERDICT",
        ]
        .map(str::to_owned);
        out.push('\n');
        write_columns(&mut out, &header, &rows, 3..=5);
    }
    let missing = missing_lines(diff);
    if !missing.is_empty() {
        let _ = writeln!(out, "\nmissing in {}:", diff.candidate);
        for line in missing {
            let _ = writeln!(out, "  {line}");
        }
    }
    let others = other_changes(diff);
    if !others.is_empty() {
        let _ = writeln!(out, "\nother changes:");
        for line in others {
            let _ = writeln!(out, "  {line}");
        }
    }
    for target in &diff.targets {
        for a in &target.artifacts {
            if let ArtifactChange::Text {
                unified: Some(u), ..
            } = &a.change
            {
                let _ = write!(out, "\n{u}");
            }
        }
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn markdown(diff: &SessionDiff) -> String {
    let mut out = String::new();
    let s = &diff.summary;
    let status = if s.regressions > 0 {
        "🔴"
    } else if s.missing > 0 {
        "🟠"
    } else if s.improvements > 0 {
        "🟢"
    } else {
        "⚪"
    };
    let _ = writeln!(
        out,
        "### {status} perfstore: `{}` → `{}`\n",
        diff.base, diff.candidate
    );
    let _ = writeln!(out, "**{}**\n", headline(diff));
    for line in context_lines(diff) {
        let _ = writeln!(out, "- {}", md_escape(&line));
    }
    if diff.base_meta.is_some() || diff.candidate_meta.is_some() {
        out.push('\n');
    }
    for w in &diff.warnings {
        let _ = writeln!(out, "> ⚠️ {}", md_escape(w));
    }
    if !diff.warnings.is_empty() {
        out.push('\n');
    }
    let rows = metric_rows(diff);
    let (flagged, rest): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r[6].starts_with("regression") || r[6].starts_with("improvement"));
    let write_table = |out: &mut String, rows: &[[String; 7]]| {
        let _ = writeln!(
            out,
            "| Target | Key | Metric | Base | Candidate | Change | |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|");
        for r in rows {
            let mark = if r[6].starts_with("regression") {
                format!("🔴 {}", r[6])
            } else if r[6].starts_with("improvement") {
                format!("🟢 {}", r[6])
            } else {
                r[6].clone()
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} | {} | {} | {mark} |",
                md_escape(&r[0]),
                md_escape(&r[1]),
                md_escape(&r[2]),
                r[3],
                r[4],
                r[5]
            );
        }
    };
    if !flagged.is_empty() {
        write_table(&mut out, &flagged);
        out.push('\n');
    }
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} changed within the threshold</summary>\n",
            count(rest.len(), "metric", "metrics")
        );
        write_table(&mut out, &rest);
        let _ = writeln!(out, "\n</details>\n");
    }
    let mut listed: Vec<String> = missing_lines(diff)
        .into_iter()
        .map(|l| format!("- missing in `{}`: {}", diff.candidate, md_escape(&l)))
        .collect();
    if !diff.only_in_base.is_empty() {
        let names: Vec<String> = diff.only_in_base.iter().map(|t| format!("`{t}`")).collect();
        listed.push(format!("- only in `{}`: {}", diff.base, names.join(", ")));
    }
    if !diff.only_in_candidate.is_empty() {
        let names: Vec<String> = diff
            .only_in_candidate
            .iter()
            .map(|t| format!("`{t}`"))
            .collect();
        listed.push(format!(
            "- only in `{}`: {}",
            diff.candidate,
            names.join(", ")
        ));
    }
    listed.extend(
        other_changes(diff)
            .into_iter()
            .map(|l| format!("- {}", md_escape(&l))),
    );
    if !listed.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Other changes ({})</summary>\n",
            listed.len()
        );
        for line in listed {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "\n</details>");
    }
    let _ = writeln!(out, "\n<sub>{}</sub>", rule_note(diff));
    out
}

/// Writes `rows` under `header` as columns two spaces apart, each as wide as its widest cell;
/// the columns in `right` are right-aligned (numbers). Shared by every plain-text table.
pub fn write_columns<const N: usize>(
    out: &mut String,
    header: &[String; N],
    rows: &[[String; N]],
    right: std::ops::RangeInclusive<usize>,
) {
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if right.contains(&i) {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
}
