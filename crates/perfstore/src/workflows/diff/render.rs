//! Renderers for a [`SessionDiff`]: a terminal table, Markdown fit for a pull-request comment,
//! and JSON.
//!
//! Table and Markdown show the metrics whose value changed (regressions and improvements
//! first) and the other changes; JSON carries everything, unchanged metrics included.

use std::fmt::Write;

use super::{ArtifactChange, Direction, SessionDiff, Verdict};

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

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
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

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsWorse => "higher is worse",
        Direction::LowerIsWorse => "lower is worse",
        Direction::Neutral => "neutral",
    }
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
                    number(m.base),
                    number(m.candidate),
                    change(m.relative, m.absolute),
                    verdict(m.verdict).to_owned(),
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

fn headline(diff: &SessionDiff) -> String {
    let s = &diff.summary;
    format!(
        "{} regressions, {} improvements; {} targets compared, artifacts: {} changed, {} added, {} removed, {} unchanged",
        s.regressions,
        s.improvements,
        s.targets_compared,
        s.artifacts_changed,
        s.artifacts_added,
        s.artifacts_removed,
        s.artifacts_unchanged
    )
}

fn table(diff: &SessionDiff) -> String {
    let mut out = String::new();
    let t = diff.threshold;
    let _ = writeln!(
        out,
        "perfstore diff: {} → {} (threshold {:.1}%, {})",
        diff.base,
        diff.candidate,
        t.relative * 100.0,
        direction(t.direction)
    );
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
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        out.push('\n');
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if (3..=5).contains(&i) {
                        format!("{cell:>w$}")
                    } else {
                        format!("{cell:<w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
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
    for w in &diff.warnings {
        let _ = writeln!(out, "> ⚠️ {}", md_escape(w));
    }
    if !diff.warnings.is_empty() {
        out.push('\n');
    }
    let rows = metric_rows(diff);
    let (flagged, rest): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r[6] == "regression" || r[6] == "improvement");
    let write_table = |out: &mut String, rows: &[[String; 7]]| {
        let _ = writeln!(
            out,
            "| Target | Key | Metric | Base | Candidate | Change | |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|");
        for r in rows {
            let mark = match r[6].as_str() {
                "regression" => "🔴 regression",
                "improvement" => "🟢 improvement",
                other => other,
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
            "<details><summary>{} metrics changed within the threshold</summary>\n",
            rest.len()
        );
        write_table(&mut out, &rest);
        let _ = writeln!(out, "\n</details>\n");
    }
    let mut listed = Vec::new();
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
    let t = diff.threshold;
    let _ = writeln!(
        out,
        "\n<sub>threshold {:.1}% ({}); per-metric rules may override</sub>",
        t.relative * 100.0,
        direction(t.direction)
    );
    out
}
