//! A target's metrics across sessions, in the order the sessions were created (oldest first).
//!
//! - Sessions are those holding at least one artifact of the target. They are ordered by their
//!   recorded creation time ([`session_meta`]); sessions with no recorded time follow, by name.
//! - Every numeric leaf of every JSON artifact of the target is a metric, named as a diff names
//!   it (`latency.p50_ms`); a distribution (an array of two or more numbers) is one metric whose
//!   point is its median.
//! - A point is a regression when it moved beyond the threshold in the worse direction from the
//!   previous present point of its series. Threshold and direction come from the stored rules
//!   ([`crate::workflows::direction`]), else 5 % and the direction the name implies.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact::ArtifactKind;
use crate::error::Result;
use crate::names::{Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::Store;
use crate::workflows::baseline::list_baselines;
use crate::workflows::diff::{Direction, MetricRule, json_leaves};
use crate::workflows::direction::{resolve, stored_rules};
use crate::workflows::session::{SessionMeta, session_meta};
use crate::workflows::stats::{median, samples_of};

/// The relative change a history point must exceed to count as a regression, unless a stored
/// rule says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// How many sessions are read at once.
const CONCURRENCY: usize = 16;

/// What to include.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Only metrics matching this glob over the metric's path, or `KEYGLOB:PATHGLOB`.
    pub metric_glob: Option<String>,
    /// Only the last N sessions (after ordering).
    pub last: Option<usize>,
}

/// One session of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySession {
    /// The session.
    pub session: SessionName,
    /// When it was created (RFC 3339), if recorded.
    pub created_at: Option<String>,
    /// The baselines pointing at it.
    pub baselines: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The git commit it was recorded at, if any.
    pub git_commit: Option<String>,
}

/// One metric across the sessions of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The artifact holding it.
    pub key: Key,
    /// Its JSON path, as a diff names it.
    pub metric: String,
    /// Which way is worse.
    pub direction: Direction,
    /// The value per session (aligned with [`History::sessions`]); `None` where missing.
    pub points: Vec<Option<f64>>,
    /// Indices of the sessions whose value regressed from the previous present point.
    pub regressions: Vec<usize>,
    /// The relative change that counts as a regression.
    pub threshold: f64,
}

/// A target's metrics across sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The target.
    pub target: TargetName,
    /// Sessions holding the target, oldest first.
    pub sessions: Vec<HistorySession>,
    /// One series per metric, sorted by key then path.
    pub series: Vec<MetricSeries>,
}

struct Found {
    session: SessionName,
    meta: Option<SessionMeta>,
    keys: Vec<Key>,
}

/// The history of `target` in `store` (see the module docs).
pub async fn history(store: &Store, target: &TargetName, query: &HistoryQuery) -> Result<History> {
    let glob = query.metric_glob.as_ref().map(|pattern| MetricRule {
        pattern: pattern.clone(),
        relative: None,
        direction: None,
    });
    let rules = stored_rules(store).await?;
    let mut baselines: HashMap<SessionName, Vec<String>> = HashMap::new();
    for baseline in list_baselines(store).await? {
        baselines
            .entry(baseline.session)
            .or_default()
            .push(baseline.name.to_string());
    }

    let all_prefix = KeyPrefix::default();
    let mut found: Vec<Found> = futures::stream::iter(store.list_sessions().await?)
        .map(|session| {
            let all_prefix = &all_prefix;
            async move {
                let path = TargetPath::new(session.clone(), target.clone());
                let keys = store.list_keys(&path, all_prefix).await?;
                let meta = if keys.is_empty() {
                    None
                } else {
                    session_meta(store, &session).await?
                };
                Result::<Found>::Ok(Found {
                    session,
                    meta,
                    keys,
                })
            }
        })
        .buffered(CONCURRENCY)
        .try_filter(|f| std::future::ready(!f.keys.is_empty()))
        .try_collect()
        .await?;
    // Recorded creation time first (RFC 3339 UTC strings of one format sort as times), then
    // sessions without one by name.
    found.sort_by(|a, b| {
        let time = |f: &Found| f.meta.as_ref().map(|m| m.created_at.clone());
        match (time(a), time(b)) {
            (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.session.cmp(&b.session)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.session.cmp(&b.session),
        }
    });
    if let Some(last) = query.last {
        found.drain(..found.len().saturating_sub(last));
    }

    let count = found.len();
    let glob = &glob;
    // Per session, the metrics of its JSON artifacts: (key, path, value).
    let per_session: Vec<Vec<(Key, String, f64)>> = futures::stream::iter(found.iter())
        .map(|f| async move {
            let path = TargetPath::new(f.session.clone(), target.clone());
            let mut metrics = Vec::new();
            for key in &f.keys {
                let Some(artifact) = store.get(&path.artifact(key.clone())).await? else {
                    continue;
                };
                if artifact.kind() == ArtifactKind::Binary {
                    continue;
                }
                let Ok(value) = serde_json::from_slice::<Value>(artifact.bytes()) else {
                    continue;
                };
                let mut leaves = Vec::new();
                json_leaves(&value, String::new(), &mut leaves);
                for (metric, leaf) in leaves {
                    if glob.as_ref().is_some_and(|g| !g.matches(key, &metric)) {
                        continue;
                    }
                    let point = match leaf {
                        Value::Number(n) => n.as_f64(),
                        other => samples_of(other).and_then(|s| median(&s)),
                    };
                    if let Some(point) = point.filter(|p| p.is_finite()) {
                        metrics.push((key.clone(), metric, point));
                    }
                }
            }
            Result::<Vec<(Key, String, f64)>>::Ok(metrics)
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    let mut by_metric: BTreeMap<(Key, String), Vec<Option<f64>>> = BTreeMap::new();
    for (index, metrics) in per_session.into_iter().enumerate() {
        for (key, metric, point) in metrics {
            by_metric
                .entry((key, metric))
                .or_insert_with(|| vec![None; count])[index] = Some(point);
        }
    }
    let series = by_metric
        .into_iter()
        .map(|((key, metric), points)| {
            let (threshold, direction) =
                resolve([&rules, &[]], &key, &metric, DEFAULT_THRESHOLD, None);
            let regressions = regressions(&points, threshold, direction);
            MetricSeries {
                key,
                metric,
                direction,
                points,
                regressions,
                threshold,
            }
        })
        .collect();
    let sessions = found
        .into_iter()
        .map(|f| {
            let (created_at, labels, git_commit) = match f.meta {
                Some(meta) => (
                    Some(meta.created_at),
                    meta.labels,
                    meta.git.and_then(|g| g.commit),
                ),
                None => (None, BTreeMap::new(), None),
            };
            HistorySession {
                baselines: baselines.remove(&f.session).unwrap_or_default(),
                session: f.session,
                created_at,
                labels,
                git_commit,
            }
        })
        .collect();
    Ok(History {
        target: target.clone(),
        sessions,
        series,
    })
}

/// Indices whose point moved beyond `threshold` in the worse direction from the previous
/// present point.
fn regressions(points: &[Option<f64>], threshold: f64, direction: Direction) -> Vec<usize> {
    let mut out = Vec::new();
    let mut previous: Option<f64> = None;
    for (i, point) in points.iter().enumerate() {
        let Some(value) = *point else { continue };
        if let Some(before) = previous {
            let change = value - before;
            let beyond = if before == 0.0 {
                change != 0.0
            } else {
                (change / before.abs()).abs() > threshold
            };
            let worse = match direction {
                Direction::HigherIsWorse => change > 0.0,
                Direction::LowerIsWorse => change < 0.0,
                Direction::Neutral => false,
            };
            if beyond && worse {
                out.push(i);
            }
        }
        previous = Some(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regressions_compare_with_the_previous_present_point() {
        let points = [
            Some(100.0),
            None,
            Some(104.0),
            Some(120.0),
            Some(90.0),
            Some(0.0),
        ];
        assert_eq!(regressions(&points, 0.05, Direction::HigherIsWorse), [3]);
        assert_eq!(regressions(&points, 0.05, Direction::LowerIsWorse), [4, 5]);
        assert!(regressions(&points, 0.05, Direction::Neutral).is_empty());
        assert_eq!(
            regressions(&[Some(0.0), Some(1.0)], 0.05, Direction::HigherIsWorse),
            [1]
        );
    }
}
