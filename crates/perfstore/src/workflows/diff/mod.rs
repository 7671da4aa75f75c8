//! Compare two sessions: what changed per target, per artifact, per metric.
//!
//! - Targets present in only one session are listed as such.
//! - Per target, keys are added, removed, unchanged (same content hash: not even loaded) or
//!   changed.
//! - A changed JSON artifact yields every numeric leaf (base, candidate, absolute and relative
//!   change) plus the non-numeric leaves that were added, removed or changed.
//! - A changed text artifact yields its changed line count, and a unified diff on request.
//! - A [`Threshold`] (5 % by default, higher-is-worse by default, both overridable per metric
//!   with [`MetricRule`]s) turns metric changes into regressions and improvements.
//! - Differing environment fingerprints produce warnings.
//!
//! The result is a plain data structure ([`SessionDiff`], serialisable); [`render`] turns it
//! into a terminal table, Markdown or JSON.

pub mod render;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact::{Artifact, ArtifactKind};
use crate::error::Result;
use crate::names::{Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::Store;
use crate::workflows::session::session_meta;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Larger values are worse (latency, size, errors): the default.
    #[default]
    HigherIsWorse,
    /// Smaller values are worse (throughput, hit rate).
    LowerIsWorse,
    /// Changes are reported but are neither regressions nor improvements.
    Neutral,
}

/// How much change counts, and in which direction it hurts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Relative change (0.05 = 5 %) above which a change is a regression or an improvement.
    pub relative: f64,
    /// Which way is worse.
    pub direction: Direction,
}

impl Default for Threshold {
    fn default() -> Self {
        Self {
            relative: 0.05,
            direction: Direction::HigherIsWorse,
        }
    }
}

/// Overrides the threshold and/or direction of the metrics a pattern matches.
///
/// The pattern is a glob (`*` any run of characters, `?` one) over the metric's JSON path
/// (`latency.p50_ms`, `samples[3]`), or over `key:path` when it contains a `:`
/// (`results/metrics.json:throughput*`). The first matching rule wins per setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRule {
    /// The glob.
    pub pattern: String,
    /// Threshold for matching metrics.
    pub relative: Option<f64>,
    /// Direction for matching metrics.
    pub direction: Option<Direction>,
}

impl MetricRule {
    fn matches(&self, key: &Key, path: &str) -> bool {
        match self.pattern.split_once(':') {
            Some((key_glob, path_glob)) => {
                glob_match(key_glob, key.as_str()) && glob_match(path_glob, path)
            }
            None => glob_match(&self.pattern, path),
        }
    }
}

/// A glob with `*` and `?`, matched against the whole text.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What to compare and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiffOptions {
    /// The default threshold and direction.
    pub threshold: Threshold,
    /// Per-metric overrides, first match wins.
    pub rules: Vec<MetricRule>,
    /// Only this target.
    pub target: Option<TargetName>,
    /// Only keys with this prefix.
    pub key_prefix: Option<KeyPrefix>,
    /// Include unified diffs of changed text artifacts.
    pub unified_diff: bool,
}

impl DiffOptions {
    fn threshold_for(&self, key: &Key, path: &str) -> Threshold {
        let relative = self
            .rules
            .iter()
            .find(|r| r.relative.is_some() && r.matches(key, path))
            .and_then(|r| r.relative)
            .unwrap_or(self.threshold.relative);
        let direction = self
            .rules
            .iter()
            .find(|r| r.direction.is_some() && r.matches(key, path))
            .and_then(|r| r.direction)
            .unwrap_or(self.threshold.direction);
        Threshold {
            relative,
            direction,
        }
    }
}

/// The judgement on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Equal, or within the threshold.
    Unchanged,
    /// Beyond the threshold in the worse direction.
    Regression,
    /// Beyond the threshold in the better direction.
    Improvement,
    /// Beyond the threshold for a neutral metric.
    Changed,
}

/// One numeric leaf of a JSON artifact present on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// JSON path of the leaf (`latency.p50_ms`, `samples[3]`).
    pub path: String,
    /// Base value.
    pub base: f64,
    /// Candidate value.
    pub candidate: f64,
    /// `candidate - base`.
    pub absolute: f64,
    /// `(candidate - base) / |base|`; `None` when the base is 0.
    pub relative: Option<f64>,
    /// The judgement.
    pub verdict: Verdict,
    /// The threshold applied.
    pub threshold: Threshold,
}

/// A non-numeric leaf (or a numeric one present on one side only) that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueChange {
    /// JSON path of the leaf.
    pub path: String,
    /// Base value (`None`: added).
    pub base: Option<Value>,
    /// Candidate value (`None`: removed).
    pub candidate: Option<Value>,
}

/// How one artifact changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ArtifactChange {
    /// Only in the candidate.
    Added {
        /// Its kind.
        kind: ArtifactKind,
    },
    /// Only in the base.
    Removed {
        /// Its kind.
        kind: ArtifactKind,
    },
    /// Same content hash.
    Unchanged,
    /// Both JSON.
    Json {
        /// Every numeric leaf present on both sides.
        metrics: Vec<MetricChange>,
        /// Other differing leaves.
        values: Vec<ValueChange>,
    },
    /// Both text (and not both JSON).
    Text {
        /// Lines added plus lines removed.
        changed_lines: usize,
        /// A unified diff, when requested.
        unified: Option<String>,
    },
    /// Anything else: kinds differ, or binary.
    Binary {
        /// Base size in bytes.
        base_size: u64,
        /// Candidate size in bytes.
        candidate_size: u64,
    },
}

/// One key of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactDiff {
    /// The key.
    pub key: Key,
    /// What changed.
    #[serde(flatten)]
    pub change: ArtifactChange,
}

/// One target present in both sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetDiff {
    /// The target.
    pub target: TargetName,
    /// Its artifacts, sorted by key.
    pub artifacts: Vec<ArtifactDiff>,
}

/// Counts over the whole diff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// Targets in both sessions.
    pub targets_compared: usize,
    /// Artifacts only in the candidate.
    pub artifacts_added: usize,
    /// Artifacts only in the base.
    pub artifacts_removed: usize,
    /// Artifacts whose content differs.
    pub artifacts_changed: usize,
    /// Artifacts with the same content.
    pub artifacts_unchanged: usize,
    /// Metrics beyond the threshold in the worse direction.
    pub regressions: usize,
    /// Metrics beyond the threshold in the better direction.
    pub improvements: usize,
}

/// The comparison of two sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDiff {
    /// The base session.
    pub base: SessionName,
    /// The candidate session.
    pub candidate: SessionName,
    /// Targets only in the base.
    pub only_in_base: Vec<TargetName>,
    /// Targets only in the candidate.
    pub only_in_candidate: Vec<TargetName>,
    /// Targets in both, sorted.
    pub targets: Vec<TargetDiff>,
    /// Comparability warnings (e.g. different machines).
    pub warnings: Vec<String>,
    /// The default threshold the diff applied.
    pub threshold: Threshold,
    /// Counts.
    pub summary: DiffSummary,
}

impl SessionDiff {
    /// Whether any metric regressed.
    pub fn has_regressions(&self) -> bool {
        self.summary.regressions > 0
    }

    /// Every metric change with its target and key, in order.
    pub fn metrics(&self) -> impl Iterator<Item = (&TargetName, &Key, &MetricChange)> {
        self.targets.iter().flat_map(|t| {
            t.artifacts.iter().flat_map(move |a| match &a.change {
                ArtifactChange::Json { metrics, .. } => metrics
                    .iter()
                    .map(move |m| (&t.target, &a.key, m))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
        })
    }
}

/// Compares `candidate` against `base`, both in `store`.
pub async fn diff_sessions(
    store: &Store,
    base: &SessionName,
    candidate: &SessionName,
    options: &DiffOptions,
) -> Result<SessionDiff> {
    diff_across(store, base, store, candidate, options).await
}

/// Compares `candidate` in `candidate_store` against `base` in `base_store` (e.g. local vs the
/// cache service).
pub async fn diff_across(
    base_store: &Store,
    base: &SessionName,
    candidate_store: &Store,
    candidate: &SessionName,
    options: &DiffOptions,
) -> Result<SessionDiff> {
    let wanted = |t: &TargetName| options.target.as_ref().is_none_or(|w| w == t);
    let base_targets: BTreeSet<TargetName> = base_store
        .list_targets(base)
        .await?
        .into_iter()
        .filter(wanted)
        .collect();
    let cand_targets: BTreeSet<TargetName> = candidate_store
        .list_targets(candidate)
        .await?
        .into_iter()
        .filter(wanted)
        .collect();
    if !base_store.list_sessions().await?.contains(base) {
        return Err(crate::Error::SessionNotFound {
            session: base.clone(),
        });
    }
    if !candidate_store.list_sessions().await?.contains(candidate) {
        return Err(crate::Error::SessionNotFound {
            session: candidate.clone(),
        });
    }

    let mut diff = SessionDiff {
        base: base.clone(),
        candidate: candidate.clone(),
        only_in_base: base_targets.difference(&cand_targets).cloned().collect(),
        only_in_candidate: cand_targets.difference(&base_targets).cloned().collect(),
        targets: Vec::new(),
        warnings: fingerprint_warnings(base_store, base, candidate_store, candidate).await?,
        threshold: options.threshold,
        summary: DiffSummary::default(),
    };
    let prefix = options.key_prefix.clone().unwrap_or_default();
    for target in base_targets.intersection(&cand_targets) {
        let base_target = TargetPath::new(base.clone(), target.clone());
        let cand_target = TargetPath::new(candidate.clone(), target.clone());
        let base_keys: BTreeSet<Key> = base_store
            .list_keys(&base_target, &prefix)
            .await?
            .into_iter()
            .collect();
        let cand_keys: BTreeSet<Key> = candidate_store
            .list_keys(&cand_target, &prefix)
            .await?
            .into_iter()
            .collect();
        let mut artifacts = Vec::new();
        for key in base_keys.union(&cand_keys) {
            let base_path = base_target.artifact(key.clone());
            let cand_path = cand_target.artifact(key.clone());
            let change = match (base_keys.contains(key), cand_keys.contains(key)) {
                (true, false) => match base_store.head(&base_path).await? {
                    Some(meta) => ArtifactChange::Removed { kind: meta.kind },
                    None => continue,
                },
                (false, true) => match candidate_store.head(&cand_path).await? {
                    Some(meta) => ArtifactChange::Added { kind: meta.kind },
                    None => continue,
                },
                _ => {
                    let (Some(b), Some(c)) = (
                        base_store.head(&base_path).await?,
                        candidate_store.head(&cand_path).await?,
                    ) else {
                        continue;
                    };
                    if b.hash == c.hash {
                        ArtifactChange::Unchanged
                    } else {
                        let (Some(b), Some(c)) = (
                            base_store.get(&base_path).await?,
                            candidate_store.get(&cand_path).await?,
                        ) else {
                            continue;
                        };
                        compare_artifacts(key, &b, &c, options)
                    }
                }
            };
            artifacts.push(ArtifactDiff {
                key: key.clone(),
                change,
            });
        }
        diff.targets.push(TargetDiff {
            target: target.clone(),
            artifacts,
        });
    }
    diff.summary = summarize(&diff);
    Ok(diff)
}

async fn fingerprint_warnings(
    base_store: &Store,
    base: &SessionName,
    candidate_store: &Store,
    candidate: &SessionName,
) -> Result<Vec<String>> {
    let (b, c) = (
        session_meta(base_store, base).await?,
        session_meta(candidate_store, candidate).await?,
    );
    Ok(match (b, c) {
        (Some(b), Some(c)) => b
            .fingerprint
            .differences(&c.fingerprint)
            .into_iter()
            .map(|(field, bv, cv)| {
                format!(
                    "environments differ: {field} is {bv:?} in {base} but {cv:?} in {candidate}"
                )
            })
            .collect(),
        (b, c) => {
            let missing: Vec<&SessionName> = [(b.is_none(), base), (c.is_none(), candidate)]
                .into_iter()
                .filter_map(|(missing, s)| missing.then_some(s))
                .collect();
            missing
                .into_iter()
                .map(|s| {
                    format!("no environment fingerprint recorded for {s}; comparability unknown")
                })
                .collect()
        }
    })
}

fn summarize(diff: &SessionDiff) -> DiffSummary {
    let mut s = DiffSummary {
        targets_compared: diff.targets.len(),
        ..DiffSummary::default()
    };
    for artifact in diff.targets.iter().flat_map(|t| &t.artifacts) {
        match &artifact.change {
            ArtifactChange::Added { .. } => s.artifacts_added += 1,
            ArtifactChange::Removed { .. } => s.artifacts_removed += 1,
            ArtifactChange::Unchanged => s.artifacts_unchanged += 1,
            ArtifactChange::Json { metrics, .. } => {
                s.artifacts_changed += 1;
                s.regressions += metrics
                    .iter()
                    .filter(|m| m.verdict == Verdict::Regression)
                    .count();
                s.improvements += metrics
                    .iter()
                    .filter(|m| m.verdict == Verdict::Improvement)
                    .count();
            }
            ArtifactChange::Text { .. } | ArtifactChange::Binary { .. } => s.artifacts_changed += 1,
        }
    }
    s
}

fn compare_artifacts(
    key: &Key,
    base: &Artifact,
    candidate: &Artifact,
    options: &DiffOptions,
) -> ArtifactChange {
    // Text that parses as JSON counts too: a compact metrics file imported byte for byte is
    // stored as text, and its numbers are still metrics.
    let as_json = |a: &Artifact| {
        (a.kind() != ArtifactKind::Binary)
            .then(|| serde_json::from_slice::<Value>(a.bytes()).ok())
            .flatten()
    };
    if let (Some(b), Some(c)) = (as_json(base), as_json(candidate)) {
        return compare_json(key, &b, &c, options);
    }
    match (
        std::str::from_utf8(base.bytes()),
        std::str::from_utf8(candidate.bytes()),
    ) {
        (Ok(b), Ok(c))
            if base.kind() != ArtifactKind::Binary && candidate.kind() != ArtifactKind::Binary =>
        {
            let diff = similar::TextDiff::from_lines(b, c);
            let changed_lines = diff
                .iter_all_changes()
                .filter(|change| change.tag() != similar::ChangeTag::Equal)
                .count();
            let unified = options.unified_diff.then(|| {
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("base/{key}"), &format!("candidate/{key}"))
                    .to_string()
            });
            ArtifactChange::Text {
                changed_lines,
                unified,
            }
        }
        _ => ArtifactChange::Binary {
            base_size: base.bytes().len() as u64,
            candidate_size: candidate.bytes().len() as u64,
        },
    }
}

/// Leaves of a JSON value by path; empty containers count as leaves.
fn leaves<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let simple = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                let child = match (path.is_empty(), simple) {
                    (true, true) => k.clone(),
                    (false, true) => format!("{path}.{k}"),
                    (_, false) => format!("{path}[{}]", Value::String(k.clone())),
                };
                leaves(v, child, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{path}[{i}]"), out);
            }
        }
        leaf => out.push((path, leaf)),
    }
}

fn compare_json(
    key: &Key,
    base: &Value,
    candidate: &Value,
    options: &DiffOptions,
) -> ArtifactChange {
    let (mut b, mut c) = (Vec::new(), Vec::new());
    leaves(base, String::new(), &mut b);
    leaves(candidate, String::new(), &mut c);
    let cand_by_path: std::collections::HashMap<&str, &Value> =
        c.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let base_paths: BTreeSet<&str> = b.iter().map(|(p, _)| p.as_str()).collect();
    let mut metrics = Vec::new();
    let mut values = Vec::new();
    for (path, bv) in &b {
        match cand_by_path.get(path.as_str()) {
            Some(cv) => match (
                bv.as_f64().filter(|_| bv.is_number()),
                cv.as_f64().filter(|_| cv.is_number()),
            ) {
                (Some(x), Some(y)) => {
                    metrics.push(metric(path, x, y, options.threshold_for(key, path)))
                }
                _ if bv != cv => values.push(ValueChange {
                    path: path.clone(),
                    base: Some((*bv).clone()),
                    candidate: Some((*cv).clone()),
                }),
                _ => {}
            },
            None => values.push(ValueChange {
                path: path.clone(),
                base: Some((*bv).clone()),
                candidate: None,
            }),
        }
    }
    for (path, cv) in &c {
        if !base_paths.contains(path.as_str()) {
            values.push(ValueChange {
                path: path.clone(),
                base: None,
                candidate: Some((*cv).clone()),
            });
        }
    }
    ArtifactChange::Json { metrics, values }
}

fn metric(path: &str, base: f64, candidate: f64, threshold: Threshold) -> MetricChange {
    let absolute = candidate - base;
    let relative = (base != 0.0).then(|| absolute / base.abs());
    let beyond = match relative {
        Some(r) => r.abs() > threshold.relative,
        None => absolute != 0.0,
    };
    let verdict = if !beyond {
        Verdict::Unchanged
    } else {
        match (threshold.direction, absolute > 0.0) {
            (Direction::Neutral, _) => Verdict::Changed,
            (Direction::HigherIsWorse, true) | (Direction::LowerIsWorse, false) => {
                Verdict::Regression
            }
            (Direction::HigherIsWorse, false) | (Direction::LowerIsWorse, true) => {
                Verdict::Improvement
            }
        }
    };
    MetricChange {
        path: path.to_owned(),
        base,
        candidate,
        absolute,
        relative,
        verdict,
        threshold,
    }
}

#[cfg(test)]
mod tests;
