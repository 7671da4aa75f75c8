//! Compare two sessions: what changed per target, per artifact, per metric.
//!
//! - Targets present in only one session are listed as such.
//! - Per target, keys are added, removed, unchanged (same content hash: not even loaded) or
//!   changed.
//! - A changed JSON artifact yields every numeric leaf (base, candidate, absolute and relative
//!   change) plus the non-numeric leaves that were added, removed or changed.
//! - A changed text artifact yields its changed line count, and a unified diff on request.
//! - A [`Threshold`] (5 % by default) turns metric changes into regressions and improvements.
//!   Which way is worse comes from per-run [`MetricRule`]s, then the rules stored in the store
//!   ([`crate::workflows::direction`]), then the metric's name (`throughput` is
//!   higher-is-better, `parse_ms` lower-is-better; see
//!   [`infer_direction`](crate::workflows::direction::infer_direction)).
//! - A distribution (a JSON array of two or more numbers, e.g. `{"samples": [...]}`) is
//!   compared by its median, and is a regression only if beyond the threshold **and**
//!   significant by the Mann–Whitney U test at [`DiffOptions::alpha`] ([`crate::workflows::stats`]).
//! - What the candidate lacks (targets, artifacts, metrics the base has) is listed in
//!   [`SessionDiff::missing`], so a gate can refuse an incomplete candidate.
//! - Differing environment fingerprints produce warnings; each side's recorded context (labels,
//!   git commit) is carried for the header.
//!
//! The result is a plain data structure ([`SessionDiff`], serialisable); [`render`] turns it
//! into a terminal table, Markdown or JSON.

pub mod render;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact::{Artifact, ArtifactKind};
use crate::error::Result;
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::Store;
use crate::workflows::direction::{glob_match, resolve, stored_rules};
use crate::workflows::session::{SessionMeta, session_meta};
use crate::workflows::stats::{self, Summary, UTest, mann_whitney_u, samples_of};

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Larger values are worse, i.e. lower is better (latency, size, errors).
    #[default]
    HigherIsWorse,
    /// Smaller values are worse, i.e. higher is better (throughput, hit rate).
    LowerIsWorse,
    /// Changes are reported but are neither regressions nor improvements.
    Neutral,
}

/// How much change counts, and in which direction it hurts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Relative change (0.05 = 5 %) above which a change is a regression or an improvement.
    pub relative: f64,
    /// Which way is worse: for a metric no rule covers when [`DiffOptions::infer_direction`]
    /// is off; otherwise only reported.
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
    /// Whether the rule covers the metric `path` of artifact `key`.
    pub fn matches(&self, key: &Key, path: &str) -> bool {
        match self.pattern.split_once(':') {
            Some((key_glob, path_glob)) => {
                glob_match(key_glob, key.as_str()) && glob_match(path_glob, path)
            }
            None => glob_match(&self.pattern, path),
        }
    }
}

/// What to compare and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Infer a metric's direction from its name when no rule gives one (default); off, the
    /// threshold's direction applies.
    #[serde(default = "yes")]
    pub infer_direction: bool,
    /// Apply the rules stored in the base's store after [`rules`](Self::rules) (default).
    #[serde(default = "yes")]
    pub use_stored_rules: bool,
    /// Significance level for distributions (default 0.05).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

fn yes() -> bool {
    true
}

fn default_alpha() -> f64 {
    0.05
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            threshold: Threshold::default(),
            rules: Vec::new(),
            target: None,
            key_prefix: None,
            unified_diff: false,
            infer_direction: true,
            use_stored_rules: true,
            alpha: default_alpha(),
        }
    }
}

/// The options plus the stored rules, resolved once per diff.
struct Resolved {
    options: DiffOptions,
    stored: Vec<MetricRule>,
    /// The normal quantile of the intervals, `1 - alpha/2`.
    z: f64,
    /// Thresholds already resolved, by key then metric path: the same metrics recur in every
    /// target, and matching each against every rule and name pattern was a tenth of a diff.
    thresholds: std::sync::Mutex<HashMap<Key, HashMap<String, Threshold>>>,
}

impl Resolved {
    fn threshold_for(&self, key: &Key, path: &str) -> Threshold {
        let mut memo = self
            .thresholds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = memo.get(key).and_then(|paths| paths.get(path)) {
            return *found;
        }
        let threshold = self.resolve_threshold(key, path);
        memo.entry(key.clone())
            .or_default()
            .insert(path.to_owned(), threshold);
        threshold
    }

    fn resolve_threshold(&self, key: &Key, path: &str) -> Threshold {
        let fallback = (!self.options.infer_direction).then_some(self.options.threshold.direction);
        let (relative, direction) = resolve(
            [&self.options.rules, &self.stored],
            key,
            path,
            self.options.threshold.relative,
            fallback,
        );
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
    /// For distributions on both sides: medians (then `base` and `candidate` are the medians),
    /// intervals and the significance test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleComparison>,
}

/// How two distributions are tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignificanceTest {
    /// Two-sided Mann–Whitney U, normal approximation with tie and continuity correction.
    MannWhitneyU,
}

/// The statistics of a metric whose base and candidate are both distributions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleComparison {
    /// The base samples.
    pub base: Summary,
    /// The candidate samples.
    pub candidate: Summary,
    /// The test applied.
    pub test: SignificanceTest,
    /// The test's statistic and p-value.
    #[serde(flatten)]
    pub result: UTest,
    /// The significance level applied.
    pub alpha: f64,
    /// Whether `p_value < alpha`.
    pub significant: bool,
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
    /// Numeric metrics present on both sides of changed artifacts (unchanged ones are not read).
    #[serde(default)]
    pub metrics_compared: usize,
    /// Metrics beyond the threshold that were not significant (distributions only).
    #[serde(default)]
    pub not_significant: usize,
    /// Items of the base the candidate lacks ([`SessionDiff::missing`]).
    #[serde(default)]
    pub missing: usize,
}

/// Something the base has and the candidate lacks: a target (no key), an artifact (no metric)
/// or a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingItem {
    /// The target.
    pub target: TargetName,
    /// The artifact, unless the whole target is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// The metric's path, unless the whole artifact is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

impl std::fmt::Display for MissingItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.key, &self.metric) {
            (None, _) => write!(f, "target {}", self.target),
            (Some(key), None) => write!(f, "artifact {} {key}", self.target),
            (Some(key), Some(metric)) => write!(f, "metric {} {key} {metric}", self.target),
        }
    }
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
    /// What the candidate lacks that the base has: targets, artifacts, numeric metrics.
    #[serde(default)]
    pub missing: Vec<MissingItem>,
    /// The base's recorded metadata (labels, git, fingerprint), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_meta: Option<SessionMeta>,
    /// The candidate's recorded metadata, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_meta: Option<SessionMeta>,
}

impl SessionDiff {
    /// Whether any metric regressed.
    pub fn has_regressions(&self) -> bool {
        self.summary.regressions > 0
    }

    /// Whether the candidate lacks nothing the base has.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Whether no artifact was present on both sides: the diff judged nothing.
    pub fn compared_nothing(&self) -> bool {
        self.summary.artifacts_changed + self.summary.artifacts_unchanged == 0
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
///
/// Each side is listed once (every target with its artifacts' sizes), then the targets present
/// on both are read in batches; a batch is judged on a blocking thread while the next one is
/// read, so parsing and comparing overlap the file or network reads.
pub async fn diff_across(
    base_store: &Store,
    base: &SessionName,
    candidate_store: &Store,
    candidate: &SessionName,
    options: &DiffOptions,
) -> Result<SessionDiff> {
    let prefix = options.key_prefix.clone().unwrap_or_default();
    let base_listing = listing(base_store, base, options.target.as_ref(), &prefix).await?;
    let cand_listing =
        listing(candidate_store, candidate, options.target.as_ref(), &prefix).await?;
    session_exists(base_store, base, &base_listing).await?;
    session_exists(candidate_store, candidate, &cand_listing).await?;

    let (base_meta, candidate_meta) = (
        session_meta(base_store, base).await?,
        session_meta(candidate_store, candidate).await?,
    );
    let resolved = std::sync::Arc::new(Resolved {
        z: stats::normal_quantile(1.0 - options.alpha / 2.0),
        stored: if options.use_stored_rules {
            stored_rules(base_store).await?
        } else {
            Vec::new()
        },
        options: options.clone(),
        thresholds: Default::default(),
    });
    let sides = Sides {
        base_store,
        base,
        candidate_store,
        candidate,
    };
    let common: Vec<(&TargetName, &Listing, &Listing)> = base_listing
        .iter()
        .filter_map(|(target, b)| Some((target, b, cand_listing.get(target)?)))
        .collect();
    let mut targets = Vec::with_capacity(common.len());
    let mut judging: std::collections::VecDeque<tokio::task::JoinHandle<Vec<TargetDiff>>> =
        Default::default();
    for batch in common.chunks(TARGET_BATCH) {
        let read = read_batch(&sides, batch).await?;
        let resolved = resolved.clone();
        judging.push_back(tokio::task::spawn_blocking(move || {
            judge_batch(read, &resolved)
        }));
        // Two batches judged at once keep both cores busy without holding every batch read.
        while judging.len() > 2 {
            targets.extend(joined(judging.pop_front()).await?);
        }
    }
    while !judging.is_empty() {
        targets.extend(joined(judging.pop_front()).await?);
    }

    let only = |a: &BTreeMap<TargetName, Listing>, b: &BTreeMap<TargetName, Listing>| {
        a.keys().filter(|t| !b.contains_key(*t)).cloned().collect()
    };
    let mut diff = SessionDiff {
        base: base.clone(),
        candidate: candidate.clone(),
        only_in_base: only(&base_listing, &cand_listing),
        only_in_candidate: only(&cand_listing, &base_listing),
        targets,
        warnings: fingerprint_warnings(base, &base_meta, candidate, &candidate_meta),
        threshold: options.threshold,
        summary: DiffSummary::default(),
        missing: Vec::new(),
        base_meta,
        candidate_meta,
    };
    diff.missing = missing_items(&diff);
    diff.summary = summarize(&diff);
    Ok(diff)
}

/// Fails if `session` does not exist. A session with a listed target exists; only one without
/// (it may hold just its records) is looked up among all sessions, which walks every one.
async fn session_exists(
    store: &Store,
    session: &SessionName,
    listing: &BTreeMap<TargetName, Listing>,
) -> Result<()> {
    if listing.is_empty() && !store.list_sessions().await?.contains(session) {
        return Err(crate::Error::SessionNotFound {
            session: session.clone(),
        });
    }
    Ok(())
}

/// A target's artifacts (those the key prefix selects) with their stored sizes.
type Listing = BTreeMap<Key, u64>;

/// The targets of `session` that hold an artifact, with those the prefix selects: the one
/// asked for, or all of them from one listing of the session.
async fn listing(
    store: &Store,
    session: &SessionName,
    only: Option<&TargetName>,
    prefix: &KeyPrefix,
) -> Result<BTreeMap<TargetName, Listing>> {
    let listed = match only {
        Some(target) => {
            let path = TargetPath::new(session.clone(), target.clone());
            vec![(target.clone(), store.list_sizes(&path).await?)]
        }
        None => store.list_session_sizes(session).await?,
    };
    // A target is there while it holds any artifact, even if none the prefix selects.
    Ok(listed
        .into_iter()
        .filter(|(_, sizes)| !sizes.is_empty())
        .map(|(target, sizes)| {
            let sizes: Listing = sizes
                .into_iter()
                .filter(|(k, _)| prefix.matches(k))
                .collect();
            (target, sizes)
        })
        .collect())
}

async fn joined(
    judging: Option<tokio::task::JoinHandle<Vec<TargetDiff>>>,
) -> Result<Vec<TargetDiff>> {
    match judging {
        Some(handle) => handle.await.map_err(|join| crate::Error::Backend {
            backend: "diff",
            message: format!("comparing task failed: {join}"),
            source: None,
        }),
        None => Ok(Vec::new()),
    }
}

/// Targets whose artifacts are read in one bulk request per side.
const TARGET_BATCH: usize = 256;

/// Artifacts up to this stored size are read in bulk and compared byte for byte; larger ones
/// are compared by `head` (their hash) first, so an unchanged large binary is never loaded.
const BULK_READ_LIMIT: u64 = 1 << 20;

struct Sides<'a> {
    base_store: &'a Store,
    base: &'a SessionName,
    candidate_store: &'a Store,
    candidate: &'a SessionName,
}

/// One key of a target, read and ready to judge.
enum Step {
    /// Settled without comparing contents (added, removed, same hash).
    Settled(ArtifactChange),
    /// Both sides' contents, to compare.
    Compare(Artifact, Artifact),
}

/// A batch of targets, read.
type ReadBatch = Vec<(TargetName, Vec<(Key, Step)>)>;

/// Reads a batch of targets present on both sides: every small artifact of the batch in one
/// `get_many` per side (the backends' fast paths: parallel reads on local disk, batch requests
/// on the cache service); large ones by `head` first.
async fn read_batch(
    sides: &Sides<'_>,
    batch: &[(&TargetName, &Listing, &Listing)],
) -> Result<ReadBatch> {
    /// Where a key's contents come from.
    enum Plan {
        Removed(ArtifactPath),
        Added(ArtifactPath),
        /// Index into the bulk reads.
        Bulk(usize),
        Large(ArtifactPath, ArtifactPath),
    }
    let (mut bulk_base, mut bulk_cand) = (Vec::new(), Vec::new());
    let mut plans: Vec<(TargetName, Vec<(Key, Plan)>)> = Vec::with_capacity(batch.len());
    for (target, base_keys, cand_keys) in batch {
        let base_target = TargetPath::new(sides.base.clone(), (*target).clone());
        let cand_target = TargetPath::new(sides.candidate.clone(), (*target).clone());
        let mut keys: Vec<&Key> = base_keys.keys().chain(cand_keys.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut plan = Vec::with_capacity(keys.len());
        for key in keys {
            let step = match (base_keys.get(key), cand_keys.get(key)) {
                (Some(_), None) => Plan::Removed(base_target.artifact(key.clone())),
                (None, Some(_)) => Plan::Added(cand_target.artifact(key.clone())),
                (Some(b), Some(c)) if *b <= BULK_READ_LIMIT && *c <= BULK_READ_LIMIT => {
                    bulk_base.push(base_target.artifact(key.clone()));
                    bulk_cand.push(cand_target.artifact(key.clone()));
                    Plan::Bulk(bulk_base.len() - 1)
                }
                _ => Plan::Large(
                    base_target.artifact(key.clone()),
                    cand_target.artifact(key.clone()),
                ),
            };
            plan.push((key.clone(), step));
        }
        plans.push(((*target).clone(), plan));
    }
    let read = |results: Vec<Result<Option<Artifact>>>| -> Result<Vec<Option<Artifact>>> {
        results.into_iter().collect()
    };
    // Side by side: one side's reads run while the other prepares its own.
    let (base_reads, cand_reads) = futures::join!(
        sides.base_store.get_many(&bulk_base),
        sides.candidate_store.get_many(&bulk_cand)
    );
    let (mut base_reads, mut cand_reads) = (read(base_reads)?, read(cand_reads)?);

    let mut out = Vec::with_capacity(plans.len());
    for (target, plan) in plans {
        let mut steps = Vec::with_capacity(plan.len());
        for (key, plan) in plan {
            // A key that vanished between the listing and the read is left out.
            let step = match plan {
                Plan::Removed(path) => match sides.base_store.head(&path).await? {
                    Some(meta) => Step::Settled(ArtifactChange::Removed { kind: meta.kind }),
                    None => continue,
                },
                Plan::Added(path) => match sides.candidate_store.head(&path).await? {
                    Some(meta) => Step::Settled(ArtifactChange::Added { kind: meta.kind }),
                    None => continue,
                },
                Plan::Bulk(i) => match (base_reads[i].take(), cand_reads[i].take()) {
                    (Some(b), Some(c)) => Step::Compare(b, c),
                    _ => continue,
                },
                Plan::Large(base_path, cand_path) => {
                    let (Some(b), Some(c)) = (
                        sides.base_store.head(&base_path).await?,
                        sides.candidate_store.head(&cand_path).await?,
                    ) else {
                        continue;
                    };
                    if b.hash == c.hash {
                        Step::Settled(ArtifactChange::Unchanged)
                    } else {
                        let (Some(b), Some(c)) = (
                            sides.base_store.get(&base_path).await?,
                            sides.candidate_store.get(&cand_path).await?,
                        ) else {
                            continue;
                        };
                        Step::Compare(b, c)
                    }
                }
            };
            steps.push((key, step));
        }
        out.push((target, steps));
    }
    Ok(out)
}

/// Judges a read batch: CPU only (parsing, comparing), so it runs off the async runtime.
fn judge_batch(batch: ReadBatch, resolved: &Resolved) -> Vec<TargetDiff> {
    batch
        .into_iter()
        .map(|(target, steps)| TargetDiff {
            target,
            artifacts: steps
                .into_iter()
                .map(|(key, step)| {
                    let change = match step {
                        Step::Settled(change) => change,
                        Step::Compare(b, c) if b.bytes() == c.bytes() => ArtifactChange::Unchanged,
                        Step::Compare(b, c) => compare_artifacts(&key, &b, &c, resolved),
                    };
                    ArtifactDiff { key, change }
                })
                .collect(),
        })
        .collect()
}

fn fingerprint_warnings(
    base: &SessionName,
    base_meta: &Option<SessionMeta>,
    candidate: &SessionName,
    candidate_meta: &Option<SessionMeta>,
) -> Vec<String> {
    match (base_meta, candidate_meta) {
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
        (b, c) => [(b.is_none(), base), (c.is_none(), candidate)]
            .into_iter()
            .filter_map(|(missing, s)| missing.then_some(s))
            .map(|s| format!("no environment fingerprint recorded for {s}; comparability unknown"))
            .collect(),
    }
}

/// Whether a base leaf is a metric the candidate must have: a number or a distribution.
fn is_metric(value: &Value) -> bool {
    value.is_number() || crate::workflows::stats::is_distribution(value)
}

fn missing_items(diff: &SessionDiff) -> Vec<MissingItem> {
    let mut missing: Vec<MissingItem> = diff
        .only_in_base
        .iter()
        .map(|target| MissingItem {
            target: target.clone(),
            key: None,
            metric: None,
        })
        .collect();
    for target in &diff.targets {
        for artifact in &target.artifacts {
            match &artifact.change {
                ArtifactChange::Removed { .. } => missing.push(MissingItem {
                    target: target.target.clone(),
                    key: Some(artifact.key.clone()),
                    metric: None,
                }),
                ArtifactChange::Json { values, .. } => {
                    missing.extend(
                        values
                            .iter()
                            .filter(|v| {
                                v.candidate.is_none() && v.base.as_ref().is_some_and(is_metric)
                            })
                            .map(|v| MissingItem {
                                target: target.target.clone(),
                                key: Some(artifact.key.clone()),
                                metric: Some(v.path.clone()),
                            }),
                    );
                }
                _ => {}
            }
        }
    }
    missing
}

fn summarize(diff: &SessionDiff) -> DiffSummary {
    let mut s = DiffSummary {
        targets_compared: diff.targets.len(),
        missing: diff.missing.len(),
        ..DiffSummary::default()
    };
    for artifact in diff.targets.iter().flat_map(|t| &t.artifacts) {
        match &artifact.change {
            ArtifactChange::Added { .. } => s.artifacts_added += 1,
            ArtifactChange::Removed { .. } => s.artifacts_removed += 1,
            ArtifactChange::Unchanged => s.artifacts_unchanged += 1,
            ArtifactChange::Json { metrics, .. } => {
                s.artifacts_changed += 1;
                s.metrics_compared += metrics.len();
                for m in metrics {
                    match m.verdict {
                        Verdict::Regression => s.regressions += 1,
                        Verdict::Improvement => s.improvements += 1,
                        _ => {}
                    }
                    if m.samples.is_some_and(|x| !x.significant) && m.beyond_threshold() {
                        s.not_significant += 1;
                    }
                }
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
    resolved: &Resolved,
) -> ArtifactChange {
    // Text that parses as JSON counts too: a compact metrics file imported byte for byte is
    // stored as text, and its numbers are still metrics.
    // Parsed straight away: inferring the kind first would parse it (and print it) once more.
    let as_json = |a: &Artifact| {
        (a.recorded_kind() != Some(ArtifactKind::Binary))
            .then(|| serde_json::from_slice::<Value>(a.bytes()).ok())
            .flatten()
    };
    if let (Some(b), Some(c)) = (as_json(base), as_json(candidate)) {
        return compare_json(key, &b, &c, resolved);
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
            let unified = resolved.options.unified_diff.then(|| {
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

/// Leaves of a JSON value by path, as diff and history name them: empty containers and
/// distributions (arrays of two or more numbers) count as leaves.
pub(crate) fn json_leaves<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
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
                json_leaves(v, child, out);
            }
        }
        Value::Array(items)
            if !items.is_empty() && !crate::workflows::stats::is_distribution(value) =>
        {
            for (i, v) in items.iter().enumerate() {
                json_leaves(v, format!("{path}[{i}]"), out);
            }
        }
        leaf => out.push((path, leaf)),
    }
}

fn compare_json(key: &Key, base: &Value, candidate: &Value, resolved: &Resolved) -> ArtifactChange {
    let (mut b, mut c) = (Vec::new(), Vec::new());
    json_leaves(base, String::new(), &mut b);
    json_leaves(candidate, String::new(), &mut c);
    let cand_by_path: std::collections::HashMap<&str, &Value> =
        c.iter().map(|(p, v)| (p.as_str(), *v)).collect();
    let base_paths: std::collections::HashSet<&str> = b.iter().map(|(p, _)| p.as_str()).collect();
    let mut metrics = Vec::new();
    let mut values = Vec::new();
    let number = |v: &Value| v.as_f64().filter(|_| v.is_number());
    for (path, bv) in &b {
        match cand_by_path.get(path.as_str()) {
            Some(cv) => {
                let threshold = || resolved.threshold_for(key, path);
                if let (Some(x), Some(y)) = (number(bv), number(cv)) {
                    metrics.push(metric(path, x, y, threshold()));
                } else if let (Some(xs), Some(ys)) = (samples_of(bv), samples_of(cv)) {
                    metrics.push(sample_metric(path, &xs, &ys, threshold(), resolved));
                } else if *bv != *cv {
                    values.push(ValueChange {
                        path: path.clone(),
                        base: Some((*bv).clone()),
                        candidate: Some((*cv).clone()),
                    });
                }
            }
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

impl MetricChange {
    /// Whether the change exceeds the threshold (regardless of direction and significance).
    pub fn beyond_threshold(&self) -> bool {
        match self.relative {
            Some(r) => r.abs() > self.threshold.relative,
            None => self.absolute != 0.0,
        }
    }
}

fn judge(beyond: bool, absolute: f64, direction: Direction) -> Verdict {
    if !beyond {
        return Verdict::Unchanged;
    }
    match (direction, absolute > 0.0) {
        (Direction::Neutral, _) => Verdict::Changed,
        (Direction::HigherIsWorse, true) | (Direction::LowerIsWorse, false) => Verdict::Regression,
        (Direction::HigherIsWorse, false) | (Direction::LowerIsWorse, true) => Verdict::Improvement,
    }
}

fn metric(path: &str, base: f64, candidate: f64, threshold: Threshold) -> MetricChange {
    let absolute = candidate - base;
    let relative = (base != 0.0).then(|| absolute / base.abs());
    let mut change = MetricChange {
        path: path.to_owned(),
        base,
        candidate,
        absolute,
        relative,
        verdict: Verdict::Unchanged,
        threshold,
        samples: None,
    };
    change.verdict = judge(change.beyond_threshold(), absolute, threshold.direction);
    change
}

/// Two distributions: compared by median, judged only when the difference is significant.
fn sample_metric(
    path: &str,
    base: &[f64],
    candidate: &[f64],
    threshold: Threshold,
    resolved: &Resolved,
) -> MetricChange {
    let alpha = resolved.options.alpha;
    let (Some(b), Some(c), Some(test)) = (
        stats::summarize_with_z(base, resolved.z),
        stats::summarize_with_z(candidate, resolved.z),
        mann_whitney_u(base, candidate),
    ) else {
        // Both sides hold two or more samples, so none of these is empty.
        return metric(path, f64::NAN, f64::NAN, threshold);
    };
    let mut change = metric(path, b.median, c.median, threshold);
    let significant = test.p_value < alpha;
    if !significant {
        change.verdict = Verdict::Unchanged;
    }
    change.samples = Some(SampleComparison {
        base: b,
        candidate: c,
        test: SignificanceTest::MannWhitneyU,
        result: test,
        alpha,
        significant,
    });
    change
}

#[cfg(test)]
mod tests;
