//! What each page shows, as plain serialisable data: the JSON endpoints return these, the HTML
//! pages and the report render them. Every judgement (diff verdicts, thresholds) comes from the
//! library; this module only gathers and orders.

use std::collections::BTreeMap;

use futures::StreamExt;
use perfstore::baseline::{list_baselines, resolve_session};
use perfstore::diff::{
    ArtifactChange, DiffOptions, Direction, MetricRule, SampleComparison, SessionDiff, Threshold,
    Verdict, diff_sessions,
};
use perfstore::session::{EnvFingerprint, SessionInfo, SessionMeta, session_info};
use perfstore::{Key, SessionName, Store, TargetName, TargetPath};
use serde::Serialize;

use crate::error::ConsoleError;

/// How many sessions the sessions page describes at once (each is a few store requests).
const SESSION_INFO_CONCURRENCY: usize = 16;

/// One row of the sessions page.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    /// The session.
    pub session: SessionName,
    /// When it was first used (RFC 3339), if recorded.
    pub created_at: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The `commit` (or `git_commit`) label.
    pub git_commit: Option<String>,
    /// Where it ran, if recorded.
    pub fingerprint: Option<EnvFingerprint>,
    /// Number of targets.
    pub targets: usize,
    /// Number of artifacts.
    pub artifacts: usize,
    /// Stored bytes.
    pub bytes: u64,
    /// The baselines pointing at it.
    pub baselines: Vec<String>,
}

/// The sessions page: one page of sessions, last name first (nightly names sort by date).
#[derive(Debug, Clone, Serialize)]
pub struct SessionsView {
    /// One row per session of this page.
    pub sessions: Vec<SessionRow>,
    /// Sessions in the store.
    pub total: usize,
    /// This page (1-based).
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
}

/// Sessions per page: each costs a few store requests, and 250 rows are about what a person
/// scans (the page stays well under the 300 ms budget on 1,000 sessions).
pub const SESSIONS_PER_PAGE: usize = 250;

/// The commit a session ran: a `commit` label given by the user, else the git checkout
/// recorded when the session was first written.
fn git_commit(meta: Option<&SessionMeta>) -> Option<String> {
    let meta = meta?;
    ["commit", "git_commit", "git-commit", "sha"]
        .iter()
        .find_map(|k| meta.labels.get(*k).cloned())
        .or_else(|| meta.git.as_ref().and_then(|g| g.commit.clone()))
}

/// The row of one session.
fn row(info: SessionInfo, baselines: &BTreeMap<SessionName, Vec<String>>) -> SessionRow {
    let git_commit = git_commit(info.meta.as_ref());
    let (created_at, labels, fingerprint) = match info.meta {
        Some(meta) => (Some(meta.created_at), meta.labels, Some(meta.fingerprint)),
        None => (None, BTreeMap::new(), None),
    };
    SessionRow {
        baselines: baselines.get(&info.session).cloned().unwrap_or_default(),
        git_commit,
        session: info.session,
        created_at,
        labels,
        fingerprint,
        targets: info.targets,
        artifacts: info.artifacts,
        bytes: info.bytes,
    }
}

/// Baseline names by the session they point at.
async fn baselines_by_session(
    store: &Store,
) -> Result<BTreeMap<SessionName, Vec<String>>, ConsoleError> {
    let mut map: BTreeMap<SessionName, Vec<String>> = BTreeMap::new();
    for b in list_baselines(store).await? {
        map.entry(b.session).or_default().push(b.name.to_string());
    }
    Ok(map)
}

/// Gathers page `page` (1-based) of the sessions.
pub async fn sessions(store: &Store, page: usize) -> Result<SessionsView, ConsoleError> {
    let mut names = store.list_sessions().await?;
    let total = names.len();
    let pages = total.div_ceil(SESSIONS_PER_PAGE).max(1);
    if page == 0 || page > pages {
        return Err(ConsoleError::NotFound(format!(
            "page {page} of the sessions does not exist (there are {pages})"
        )));
    }
    names.reverse();
    let names: Vec<SessionName> = names
        .into_iter()
        .skip((page - 1) * SESSIONS_PER_PAGE)
        .take(SESSIONS_PER_PAGE)
        .collect();
    let baselines = baselines_by_session(store).await?;
    let infos: Vec<_> = futures::stream::iter(names)
        .map(|name| {
            let store = store.clone();
            async move { session_info(&store, &name).await }
        })
        .buffered(SESSION_INFO_CONCURRENCY)
        .collect()
        .await;
    let rows = infos
        .into_iter()
        .map(|info| Ok(row(info?, &baselines)))
        .collect::<Result<_, ConsoleError>>()?;
    Ok(SessionsView {
        sessions: rows,
        total,
        page,
        pages,
    })
}

/// One target of a session, with its size.
#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    /// The target.
    pub target: TargetName,
    /// Number of artifacts.
    pub artifacts: usize,
    /// Stored bytes.
    pub bytes: u64,
}

/// The session page: its row and its targets.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// What the sessions page says about it.
    pub session: SessionRow,
    /// Its targets.
    pub targets: Vec<TargetSummary>,
    /// Every baseline name in the store (to compare against).
    pub all_baselines: Vec<String>,
}

/// A session name given by the user, or `@baseline`, resolved; a missing one is a 404.
pub async fn resolve(store: &Store, spec: &str) -> Result<SessionName, ConsoleError> {
    let session = resolve_session(store, spec).await?;
    if !store.list_sessions().await?.contains(&session) {
        return Err(ConsoleError::NotFound(format!(
            "session {session} not found"
        )));
    }
    Ok(session)
}

/// Gathers the session page.
pub async fn session(store: &Store, spec: &str) -> Result<SessionView, ConsoleError> {
    let name = resolve(store, spec).await?;
    let info = session_info(store, &name).await?;
    let baselines = baselines_by_session(store).await?;
    let mut targets = Vec::new();
    for target in store.list_targets(&name).await? {
        let sizes = store
            .list_sizes(&TargetPath::new(name.clone(), target.clone()))
            .await?;
        targets.push(TargetSummary {
            target,
            artifacts: sizes.len(),
            bytes: sizes.iter().map(|(_, s)| s).sum(),
        });
    }
    Ok(SessionView {
        session: row(info, &baselines),
        targets,
        all_baselines: baselines.into_values().flatten().collect(),
    })
}

/// How the console shows an artifact, decided from its key's extension (and its bytes when
/// the extension says nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// A collapsible tree.
    Json,
    /// Rendered, raw HTML escaped.
    Markdown,
    /// In a sandboxed iframe.
    Html,
    /// Preformatted.
    Text,
    /// `<img>` (png, jpeg, gif, webp, svg).
    Image,
    /// A download link.
    Download,
}

impl Display {
    /// The display a key's extension asks for; `None` when it says nothing.
    pub fn from_key(key: &str) -> Option<Self> {
        let name = key.rsplit('/').next().unwrap_or(key);
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => Display::Json,
            "md" | "markdown" => Display::Markdown,
            "html" | "htm" => Display::Html,
            "txt" | "log" | "csv" | "tsv" | "yaml" | "yml" | "toml" | "out" | "err" => {
                Display::Text
            }
            "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" => Display::Image,
            "bin" | "gz" | "zst" | "zip" | "tar" | "perf" | "data" | "pb" => Display::Download,
            _ => return None,
        })
    }

    /// The MIME type the artifact endpoint serves for this key.
    pub fn content_type(key: &str) -> &'static str {
        let ext = key
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "webp" => "image/webp",
            "svg" => "image/svg+xml",
            "html" | "htm" => "text/html; charset=utf-8",
            "json" => "application/json",
            "md" | "markdown" | "txt" | "log" | "csv" | "tsv" | "yaml" | "yml" | "toml" => {
                "text/plain; charset=utf-8"
            }
            _ => "application/octet-stream",
        }
    }
}

/// One artifact of a target.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactEntry {
    /// The key.
    pub key: Key,
    /// Stored bytes.
    pub size: u64,
    /// How it is shown, from its extension (`None`: decided from its bytes when opened).
    pub display: Option<Display>,
}

/// The target page: every artifact of one target of one session.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    /// The session.
    pub session: SessionName,
    /// The target.
    pub target: TargetName,
    /// Its artifacts, sorted by key.
    pub artifacts: Vec<ArtifactEntry>,
}

/// Gathers the target page (one listing; no artifact is read).
pub async fn target(
    store: &Store,
    session_spec: &str,
    target: &str,
) -> Result<TargetView, ConsoleError> {
    let session = resolve(store, session_spec).await?;
    let target = TargetName::new(target)?;
    let sizes = store
        .list_sizes(&TargetPath::new(session.clone(), target.clone()))
        .await?;
    if sizes.is_empty() {
        return Err(ConsoleError::NotFound(format!(
            "target {target} not found in session {session}"
        )));
    }
    Ok(TargetView {
        session,
        target,
        artifacts: sizes
            .into_iter()
            .map(|(key, size)| ArtifactEntry {
                display: Display::from_key(key.as_str()),
                key,
                size,
            })
            .collect(),
    })
}

/// What the compare page asks for.
#[derive(Debug, Clone, Default)]
pub struct CompareQuery {
    /// Base session or `@baseline`.
    pub base: String,
    /// Candidate session or `@baseline`.
    pub candidate: String,
    /// Relative threshold (0.05 = 5 %).
    pub threshold: Option<f64>,
    /// Metric globs where lower is worse.
    pub lower_is_worse: Vec<String>,
    /// Metric globs that are neutral.
    pub neutral: Vec<String>,
    /// Only this target.
    pub target: Option<String>,
}

/// One metric of the comparison, with where it lives.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// The target.
    pub target: TargetName,
    /// The artifact key.
    pub key: Key,
    /// JSON path of the metric.
    pub path: String,
    /// Base value.
    pub base: f64,
    /// Candidate value.
    pub candidate: f64,
    /// Relative change, when the base is not 0.
    pub relative: Option<f64>,
    /// The library's verdict.
    pub verdict: Verdict,
    /// The threshold the library applied.
    pub threshold: Threshold,
    /// Medians, intervals and the significance test, when both sides are distributions.
    pub samples: Option<SampleComparison>,
}

/// The compare page: the library's diff plus its metrics ordered for reading.
#[derive(Debug, Clone, Serialize)]
pub struct CompareView {
    /// The base as asked (`@main` or a name).
    pub base_spec: String,
    /// The candidate as asked.
    pub candidate_spec: String,
    /// `regressed` when the library counted a regression, else `ok`.
    pub verdict: &'static str,
    /// Regressions first, then improvements, then other changes, then unchanged.
    pub metrics: Vec<MetricRow>,
    /// The diff itself, every field the library fills.
    pub diff: SessionDiff,
}

/// Runs the library's diff and orders its metrics.
pub async fn compare(store: &Store, query: &CompareQuery) -> Result<CompareView, ConsoleError> {
    let base = resolve(store, &query.base).await?;
    let candidate = resolve(store, &query.candidate).await?;
    let rule = |pattern: &String, direction| MetricRule {
        pattern: pattern.clone(),
        relative: None,
        direction: Some(direction),
    };
    let options = DiffOptions {
        threshold: Threshold {
            relative: query.threshold.unwrap_or(Threshold::default().relative),
            direction: Direction::HigherIsWorse,
        },
        rules: query
            .neutral
            .iter()
            .map(|p| rule(p, Direction::Neutral))
            .chain(
                query
                    .lower_is_worse
                    .iter()
                    .map(|p| rule(p, Direction::LowerIsWorse)),
            )
            .collect(),
        target: query.target.as_deref().map(TargetName::new).transpose()?,
        ..DiffOptions::default()
    };
    let store_owned = store.clone();
    let diff = off_runtime(move || async move {
        diff_sessions(&store_owned, &base, &candidate, &options).await
    })
    .await??;
    let mut metrics: Vec<MetricRow> = diff
        .metrics()
        .map(|(target, key, m)| MetricRow {
            target: target.clone(),
            key: key.clone(),
            path: m.path.clone(),
            base: m.base,
            candidate: m.candidate,
            relative: m.relative,
            verdict: m.verdict,
            threshold: m.threshold,
            samples: m.samples,
        })
        .collect();
    metrics.sort_by_key(|m| verdict_rank(m.verdict));
    Ok(CompareView {
        base_spec: query.base.clone(),
        candidate_spec: query.candidate.clone(),
        verdict: if diff.has_regressions() {
            "regressed"
        } else {
            "ok"
        },
        metrics,
        diff,
    })
}

/// Runs a future the compiler cannot prove `Send` (the library's diff and history hold
/// stream closures over borrowed names: a higher-ranked lifetime limit of rustc) on a blocking thread of the
/// runtime, so axum handlers stay `Send`.
pub async fn off_runtime<F, Fut, T>(make: F) -> Result<T, ConsoleError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || tokio::runtime::Handle::current().block_on(make()))
        .await
        .map_err(|e| ConsoleError::Internal(format!("console task failed: {e}")))
}

/// Reading order of verdicts: what needs attention first.
pub fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Regression => 0,
        Verdict::Improvement => 1,
        Verdict::Changed => 2,
        Verdict::Unchanged => 3,
    }
}

/// Artifacts of the diff that are not metric changes: added, removed, changed text or bytes.
pub fn artifact_changes(diff: &SessionDiff) -> Vec<(&TargetName, &Key, String)> {
    let mut out = Vec::new();
    for t in &diff.targets {
        for a in &t.artifacts {
            let what = match &a.change {
                ArtifactChange::Added { kind } => format!("added ({kind})"),
                ArtifactChange::Removed { kind } => format!("removed ({kind})"),
                ArtifactChange::Text { changed_lines, .. } => {
                    format!("text changed ({changed_lines} lines)")
                }
                ArtifactChange::Binary {
                    base_size,
                    candidate_size,
                } => format!("bytes changed ({base_size} → {candidate_size} bytes)"),
                ArtifactChange::Json { values, .. } if !values.is_empty() => {
                    format!("{} non-numeric value(s) changed", values.len())
                }
                _ => continue,
            };
            out.push((&t.target, &a.key, what));
        }
    }
    out
}
