//! The HTML of every page, rendered from the views. The same renderers make the report, which
//! differs only in carrying its CSS inline and linking nowhere.

use std::fmt::Write as _;

use perfstore::diff::{Direction, SampleComparison, Verdict};
use perfstore::history::History;
use serde_json::Value;

use crate::chart::LineChart;
use crate::render::{bytes, esc, json_tree, link, markdown, num, percent, url};
use crate::views::{
    CompareView, Display, SessionRow, SessionView, SessionsView, TargetView, artifact_changes,
};

/// The console's stylesheet (served at `/assets/console.css`, inlined in reports).
pub const CSS: &str = include_str!("../assets/console.css");
/// The console's icon.
pub const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Where HTML is going: the live console (links between pages) or a report file (no links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Served by `perfstore ui`.
    Console,
    /// Written by `perfstore report`: self-contained.
    Report,
}

/// A whole page around `body`.
pub fn page(mode: Mode, title: &str, body: &str) -> String {
    let (style, nav) = match mode {
        Mode::Console => (
            "<link rel=\"stylesheet\" href=\"/assets/console.css\">\
             <link rel=\"icon\" type=\"image/svg+xml\" href=\"/assets/favicon.svg\">"
                .to_owned(),
            "<nav><a class=\"brand\" href=\"/\">perfstore</a>\
             <a href=\"/\">Sessions</a><a href=\"/compare\">Compare</a><a href=\"/history\">History</a></nav>"
                .to_owned(),
        ),
        Mode::Report => (
            format!("<style>{CSS}</style>"),
            "<nav><span class=\"brand\">perfstore report</span></nav>".to_owned(),
        ),
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · perfstore</title>{style}</head><body>{nav}<main>{body}</main></body></html>",
        esc(title)
    )
}

/// The page for a failure: its status and message, escaped.
pub fn error_page(status: u16, message: &str) -> String {
    let heading = match status {
        404 => "Not found",
        400 => "Bad request",
        _ => "Error",
    };
    page(
        Mode::Console,
        heading,
        &format!(
            "<section class=\"error\" data-status=\"{status}\"><h1>{status} · {heading}</h1><p class=\"message\">{}</p>\
             <p><a href=\"/\">Back to the sessions</a></p></section>",
            esc(message)
        ),
    )
}

fn session_link(mode: Mode, session: &str) -> String {
    match mode {
        Mode::Console => link(&url("/session", &[("name", session)]), session),
        Mode::Report => esc(session),
    }
}

fn baseline_badges(baselines: &[String]) -> String {
    baselines
        .iter()
        .map(|b| format!("<span class=\"badge baseline\">@{}</span>", esc(b)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn labels_html(row: &SessionRow) -> String {
    row.labels
        .iter()
        .map(|(k, v)| format!("<span class=\"label\">{}={}</span>", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn fingerprint_html(row: &SessionRow) -> String {
    match &row.fingerprint {
        Some(fp) => format!(
            "<span title=\"{} · perfstore {}\">{} · {} · {} cores</span>",
            esc(&fp.os),
            esc(&fp.perfstore_version),
            esc(&fp.host),
            esc(&fp.cpu_model),
            fp.cores
        ),
        None => "<span class=\"muted\">not recorded</span>".to_owned(),
    }
}

/// An RFC 3339 time as `2026-12-03 13:34:27Z` (seconds are enough to tell runs apart).
fn when(created_at: Option<&str>) -> String {
    match created_at {
        Some(t) if t.len() >= 19 && t.is_char_boundary(19) => {
            format!(
                "{}{}",
                t[..19].replacen('T', " ", 1),
                if t.ends_with('Z') { "Z" } else { "" }
            )
        }
        Some(t) => t.to_owned(),
        None => String::new(),
    }
}

/// A commit shortened to 12 characters, the whole hash on hover.
fn commit_html(commit: Option<&str>) -> String {
    match commit {
        Some(c) => format!(
            "<span title=\"{}\">{}</span>",
            esc(c),
            esc(&c.chars().take(12).collect::<String>())
        ),
        None => String::new(),
    }
}

/// The sessions page.
pub fn sessions_page(view: &SessionsView) -> String {
    let mut body = format!(
        "<h1>Sessions <span class=\"count\">{}</span></h1>",
        view.total
    );
    if view.sessions.is_empty() {
        body.push_str("<p class=\"empty\">This store holds no session yet.</p>");
        return page(Mode::Console, "Sessions", &body);
    }
    body.push_str(
        "<table class=\"sessions\"><thead><tr><th>Session</th><th>Created</th><th>Labels</th>\
         <th>Commit</th><th>Environment</th><th class=\"n\">Targets</th><th class=\"n\">Artifacts</th>\
         <th class=\"n\">Size</th></tr></thead><tbody>",
    );
    for row in &view.sessions {
        let _ = write!(
            body,
            "<tr data-session=\"{}\"{}><td class=\"name\">{} {}</td><td class=\"nowrap\">{}</td><td>{}</td>\
             <td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n nowrap\">{}</td></tr>",
            esc(row.session.as_str()),
            if row.baselines.is_empty() {
                ""
            } else {
                " class=\"is-baseline\""
            },
            session_link(Mode::Console, row.session.as_str()),
            baseline_badges(&row.baselines),
            esc(&when(row.created_at.as_deref())),
            labels_html(row),
            commit_html(row.git_commit.as_deref()),
            fingerprint_html(row),
            row.targets,
            row.artifacts,
            bytes(row.bytes),
        );
    }
    body.push_str("</tbody></table>");
    if view.pages > 1 {
        body.push_str("<p class=\"pager\">");
        if view.page > 1 {
            let newer = (view.page - 1).to_string();
            body.push_str(&link(&url("/", &[("page", &newer)]), "← newer"));
        }
        let _ = write!(body, " page {} of {} ", view.page, view.pages);
        if view.page < view.pages {
            let older = (view.page + 1).to_string();
            body.push_str(&link(&url("/", &[("page", &older)]), "older →"));
        }
        body.push_str("</p>");
    }
    page(Mode::Console, "Sessions", &body)
}

/// The session page.
pub fn session_page(view: &SessionView) -> String {
    let row = &view.session;
    let name = row.session.as_str();
    let mut body = format!(
        "<h1>Session <span class=\"mono\">{}</span> {}</h1><dl class=\"facts\">\
         <dt>Created</dt><dd>{}</dd><dt>Labels</dt><dd>{}</dd><dt>Commit</dt><dd class=\"mono\">{}</dd>\
         <dt>Environment</dt><dd>{}</dd><dt>Contents</dt><dd>{} targets, {} artifacts, {}</dd></dl>",
        esc(name),
        baseline_badges(&row.baselines),
        esc(row.created_at.as_deref().unwrap_or("not recorded")),
        labels_html(row),
        commit_html(row.git_commit.as_deref()),
        fingerprint_html(row),
        row.targets,
        row.artifacts,
        bytes(row.bytes)
    );
    if !view.all_baselines.is_empty() {
        body.push_str("<p class=\"compare-links\">Compare against: ");
        for b in &view.all_baselines {
            let _ = write!(
                body,
                "{} ",
                link(
                    &url(
                        "/compare",
                        &[("base", &format!("@{b}")), ("candidate", name)]
                    ),
                    &format!("@{b}")
                )
            );
        }
        body.push_str("</p>");
    }
    body.push_str(
        "<h2>Targets</h2><table class=\"targets\"><thead><tr><th>Target</th><th class=\"n\">Artifacts</th>\
         <th class=\"n\">Size</th><th></th></tr></thead><tbody>",
    );
    for t in &view.targets {
        let target = t.target.as_str();
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            link(
                &url("/target", &[("session", name), ("target", target)]),
                target
            ),
            t.artifacts,
            bytes(t.bytes),
            link(&url("/history", &[("target", target)]), "history"),
        );
    }
    body.push_str("</tbody></table>");
    page(Mode::Console, &format!("Session {name}"), &body)
}

/// One artifact opened on the target page.
pub struct OpenedArtifact<'a> {
    /// Its key.
    pub key: &'a str,
    /// How to show it (already decided from the key or the bytes).
    pub display: Display,
    /// Its bytes, when the display needs them inline (JSON, Markdown, text).
    pub bytes: Option<&'a [u8]>,
}

fn artifact_url(session: &str, target: &str, key: &str) -> String {
    url(
        "/artifact",
        &[("session", session), ("target", target), ("key", key)],
    )
}

/// The HTML showing one artifact: HTML only in a sandboxed iframe, SVG only through `<img>`.
pub fn artifact_html(session: &str, target: &str, a: &OpenedArtifact<'_>) -> String {
    let src = esc(&artifact_url(session, target, a.key));
    let text = a.bytes.map(String::from_utf8_lossy);
    let inner = match (a.display, text) {
        (Display::Json, Some(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(value) => json_tree(&value, 2),
            Err(_) => format!("<pre class=\"text\">{}</pre>", esc(&text)),
        },
        (Display::Markdown, Some(text)) => {
            format!("<div class=\"markdown\">{}</div>", markdown(&text))
        }
        (Display::Text, Some(text)) => format!("<pre class=\"text\">{}</pre>", esc(&text)),
        (Display::Html, _) => format!(
            "<iframe class=\"html-artifact\" sandbox=\"\" referrerpolicy=\"no-referrer\" src=\"{src}\" title=\"{}\"></iframe>",
            esc(a.key)
        ),
        (Display::Image, _) => format!(
            "<img class=\"image-artifact\" src=\"{src}\" alt=\"{}\">",
            esc(a.key)
        ),
        _ => String::new(),
    };
    format!(
        "<section class=\"artifact\" data-key=\"{}\" data-display=\"{}\"><h3><span class=\"mono\">{}</span> \
         <a class=\"download\" href=\"{src}\" download>download</a></h3>{inner}</section>",
        esc(a.key),
        display_name(a.display),
        esc(a.key),
    )
}

fn display_name(d: Display) -> &'static str {
    match d {
        Display::Json => "json",
        Display::Markdown => "markdown",
        Display::Html => "html",
        Display::Text => "text",
        Display::Image => "image",
        Display::Download => "download",
    }
}

/// The target page: the artifact list, then the opened artifacts.
pub fn target_page(view: &TargetView, opened: &[OpenedArtifact<'_>], note: Option<&str>) -> String {
    let (session, target) = (view.session.as_str(), view.target.as_str());
    let mut body = format!(
        "<h1>Target <span class=\"mono\">{}</span> of {}</h1>\
         <p>{} · {} artifacts · {}</p>",
        esc(target),
        session_link(Mode::Console, session),
        link(
            &url("/history", &[("target", target)]),
            "history of this target"
        ),
        view.artifacts.len(),
        bytes(view.artifacts.iter().map(|a| a.size).sum()),
    );
    body.push_str(
        "<table class=\"artifacts\"><thead><tr><th>Key</th><th>Shown as</th><th class=\"n\">Size</th></tr></thead><tbody>",
    );
    for a in &view.artifacts {
        let key = a.key.as_str();
        let _ = write!(
            body,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            link(
                &url(
                    "/target",
                    &[("session", session), ("target", target), ("key", key)]
                ),
                key
            ),
            a.display.map(display_name).unwrap_or("by content"),
            bytes(a.size)
        );
    }
    body.push_str("</tbody></table>");
    if let Some(note) = note {
        let _ = write!(body, "<p class=\"muted\">{}</p>", esc(note));
    }
    for a in opened {
        body.push_str(&artifact_html(session, target, a));
    }
    page(Mode::Console, &format!("{target} · {session}"), &body)
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "regression",
        Verdict::Improvement => "improvement",
        Verdict::Changed => "changed",
        Verdict::Unchanged => "unchanged",
    }
}

fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsWorse => "higher is worse",
        Direction::LowerIsWorse => "lower is worse",
        Direction::Neutral => "neutral",
    }
}

/// `1 regression`, `2 regressions`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The comparison: verdict, counts, warnings, metrics in reading order, other changes.
pub fn compare_section(mode: Mode, view: &CompareView) -> String {
    let diff = &view.diff;
    let s = &diff.summary;
    let mut body = format!(
        "<section class=\"comparison\"><h2>{} <span class=\"muted\">vs base</span> {}</h2>\
         <p class=\"verdict {}\" data-verdict=\"{}\">{}</p>\
         <p class=\"summary\">{} · {} · {} compared · {} not significant · \
         {} missing in the candidate · {} changed · {} added · {} removed · {} unchanged · threshold {}</p>",
        session_link(mode, diff.candidate.as_str()),
        session_link(mode, diff.base.as_str()),
        view.verdict,
        view.verdict,
        if view.verdict == "regressed" {
            format!(
                "Regressed: {} metric(s) beyond the threshold",
                s.regressions
            )
        } else {
            "No regression beyond the threshold".to_owned()
        },
        count(s.regressions, "regression"),
        count(s.improvements, "improvement"),
        count(s.metrics_compared, "metric"),
        s.not_significant,
        s.missing,
        count(s.artifacts_changed, "artifact"),
        s.artifacts_added,
        s.artifacts_removed,
        s.artifacts_unchanged,
        esc(&format!("{}%", num(diff.threshold.relative * 100.0))),
    );
    let commit = |meta: Option<&perfstore::session::SessionMeta>| {
        meta.and_then(|m| m.git.as_ref())
            .and_then(|g| g.commit.as_deref())
            .map(|c| esc(&c.chars().take(12).collect::<String>()))
            .unwrap_or_else(|| "not recorded".to_owned())
    };
    let _ = write!(
        body,
        "<p class=\"muted\">commits: base <span class=\"mono\">{}</span> · candidate <span class=\"mono\">{}</span></p>",
        commit(diff.base_meta.as_ref()),
        commit(diff.candidate_meta.as_ref())
    );
    if !diff.missing.is_empty() {
        body.push_str("<h3>Missing in the candidate</h3><ul class=\"missing\">");
        for m in &diff.missing {
            let _ = write!(body, "<li class=\"mono\">{}</li>", esc(&m.to_string()));
        }
        body.push_str("</ul>");
    }
    if !diff.warnings.is_empty() {
        body.push_str("<ul class=\"warnings\">");
        for w in &diff.warnings {
            let _ = write!(body, "<li>{}</li>", esc(w));
        }
        body.push_str("</ul>");
    }
    for (label, targets) in [
        ("Targets only in the base", &diff.only_in_base),
        ("Targets only in the candidate", &diff.only_in_candidate),
    ] {
        if !targets.is_empty() {
            let names: Vec<String> = targets.iter().map(|t| esc(t.as_str())).collect();
            let _ = write!(body, "<p>{label}: {}</p>", names.join(", "));
        }
    }
    body.push_str(
        "<table class=\"metrics\"><thead><tr><th>Verdict</th><th>Target</th><th>Key</th><th>Metric</th>\
         <th class=\"n\">Base</th><th class=\"n\">Candidate</th><th class=\"n\">Change</th><th>Samples</th><th>Rule</th></tr></thead><tbody>",
    );
    for m in &view.metrics {
        let class = verdict_class(m.verdict);
        let _ = write!(
            body,
            "<tr class=\"{class}\" data-metric=\"{}\"><td><span class=\"badge {class}\">{class}</span></td><td>{}</td>\
             <td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td class=\"muted\">{} ± {}%</td></tr>",
            esc(&m.path),
            esc(m.target.as_str()),
            esc(m.key.as_str()),
            esc(&m.path),
            esc(&num(m.base)),
            esc(&num(m.candidate)),
            esc(&percent(m.relative)),
            samples_text(m.samples.as_ref()),
            direction_text(m.threshold.direction),
            esc(&num(m.threshold.relative * 100.0)),
        );
    }
    if view.metrics.is_empty() {
        body.push_str("<tr><td colspan=\"9\" class=\"muted\">No metric differs in value between the two sessions.</td></tr>");
    }
    body.push_str("</tbody></table>");
    let others = artifact_changes(diff);
    if !others.is_empty() {
        body.push_str(
            "<h3>Other changes</h3><table class=\"changes\"><thead><tr><th>Target</th><th>Key</th><th>Change</th></tr></thead><tbody>",
        );
        for (t, k, what) in others {
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(t.as_str()),
                esc(k.as_str()),
                esc(&what)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    body
}

/// Medians are shown as base/candidate; this cell tells the sample counts and the test.
fn samples_text(samples: Option<&SampleComparison>) -> String {
    match samples {
        Some(s) => format!(
            "<span title=\"Mann-Whitney U; base interval {}–{}, candidate {}–{}\">n={}/{} · p={:.3}{}</span>",
            esc(&num(s.base.ci_low)),
            esc(&num(s.base.ci_high)),
            esc(&num(s.candidate.ci_low)),
            esc(&num(s.candidate.ci_high)),
            s.base.n,
            s.candidate.n,
            s.result.p_value,
            if s.significant {
                ""
            } else {
                " (not significant)"
            }
        ),
        None => String::new(),
    }
}

/// The compare form, its fields holding the current query.
pub fn compare_form(
    sessions: &[String],
    base: &str,
    candidate: &str,
    threshold: &str,
    target: &str,
) -> String {
    let mut options = String::new();
    for s in sessions {
        let _ = write!(options, "<option value=\"{}\">", esc(s));
    }
    format!(
        "<form class=\"query\" method=\"get\" action=\"/compare\"><datalist id=\"sessions\">{options}</datalist>\
         <label>Base <input name=\"base\" list=\"sessions\" value=\"{}\" placeholder=\"@main or a session\" required></label>\
         <label>Candidate <input name=\"candidate\" list=\"sessions\" value=\"{}\" required></label>\
         <label>Threshold <input name=\"threshold\" value=\"{}\" size=\"5\" placeholder=\"5%\"></label>\
         <label>Target <input name=\"target\" value=\"{}\" size=\"12\" placeholder=\"all\"></label>\
         <button type=\"submit\">Compare</button></form>",
        esc(base),
        esc(candidate),
        esc(threshold),
        esc(target)
    )
}

/// The history charts of one target: one chart per metric series.
pub fn history_section(history: &History) -> String {
    let labels: Vec<String> = history
        .sessions
        .iter()
        .map(|s| s.session.as_str().to_owned())
        .collect();
    let baselines: Vec<(usize, String)> = history
        .sessions
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.baselines.iter().map(move |b| (i, b.clone())))
        .collect();
    let mut body = format!(
        "<section class=\"history\" data-target=\"{}\"><h2>History of <span class=\"mono\">{}</span> \
         <span class=\"muted\">{} sessions · {} metrics</span></h2>",
        esc(history.target.as_str()),
        esc(history.target.as_str()),
        history.sessions.len(),
        history.series.len()
    );
    if history.series.is_empty() {
        body.push_str("<p class=\"empty\">No numeric metric matches in these sessions.</p>");
    }
    body.push_str("<div class=\"charts\">");
    for series in &history.series {
        let title = format!("{}: {}", series.key, series.metric);
        body.push_str(
            &LineChart {
                title: &title,
                direction: direction_text(series.direction),
                x_labels: &labels,
                points: &series.points,
                regressions: &series.regressions,
                baselines: &baselines,
            }
            .to_html(),
        );
    }
    body.push_str("</div></section>");
    body
}

/// The history form, holding the current query.
pub fn history_form(targets: &[String], target: &str, metric: &str, last: &str) -> String {
    let mut options = String::new();
    for t in targets {
        let _ = write!(options, "<option value=\"{}\">", esc(t));
    }
    format!(
        "<form class=\"query\" method=\"get\" action=\"/history\"><datalist id=\"targets\">{options}</datalist>\
         <label>Target <input name=\"target\" list=\"targets\" value=\"{}\" required></label>\
         <label>Metrics <input name=\"metric\" value=\"{}\" placeholder=\"glob, e.g. latency.*\"></label>\
         <label>Last <input name=\"last\" value=\"{}\" size=\"5\" placeholder=\"all\"></label>\
         <button type=\"submit\">Show</button></form>",
        esc(target),
        esc(metric),
        esc(last)
    )
}
