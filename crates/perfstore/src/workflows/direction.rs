//! Which way a metric is better: inferred from its name, overridden by rules stored in the
//! store (like baselines), overridden again per run.
//!
//! **Inference.** A metric is *higher-is-better* ([`Direction::LowerIsWorse`]) when any segment
//! of its JSON path (split at `.` and `[...]`, compared case-insensitively) matches one of
//! [`HIGHER_IS_BETTER`]; every other metric is lower-is-better ([`Direction::HigherIsWorse`]).
//! So `throughput`, `io.read_bandwidth_mb`, `requests_per_sec`, `cache.hit_rate` and
//! `bench.score` are higher-is-better; `parse_ms`, `latency.p99`, `rss_bytes`, `errors` are not.
//!
//! **Stored rules.** [`set_rule`] records a [`MetricRule`] in the store (one record,
//! `rules/metrics.json` among the store-wide records); [`stored_rules`] reads them, and every
//! diff and history uses them unless told not to. Per-run rules come before stored rules,
//! stored rules before inference; within a list the first match wins.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::names::{ArtifactPath, Key, TargetPath};
use crate::storage::{StorageExt, Store};
use crate::workflows::diff::{Direction, MetricRule};

/// The name patterns that make a metric higher-is-better, matched against each segment of its
/// path (`*` any run of characters).
pub const HIGHER_IS_BETTER: &[&str] = &[
    "*throughput*",
    "*_per_s",
    "*_per_sec",
    "*per_second*",
    "*_per_min",
    "*_per_minute",
    "*rps",
    "*qps",
    "*ops_s",
    "*ops_sec",
    "*iops*",
    "*hit_rate*",
    "*hit_ratio*",
    "*speedup*",
    "*score*",
    "*bandwidth*",
    "*accuracy*",
    "*efficiency*",
    "*utilization*",
];

/// The direction a metric's name implies (see the module docs).
pub fn infer_direction(path: &str) -> Direction {
    let higher_is_better = path
        .split(['.', '[', ']', '"'])
        .filter(|segment| !segment.is_empty())
        .any(|segment| {
            HIGHER_IS_BETTER
                .iter()
                .any(|pattern| glob_match_ignore_ascii_case(pattern, segment))
        });
    if higher_is_better {
        Direction::LowerIsWorse
    } else {
        Direction::HigherIsWorse
    }
}

/// A glob with `*` (any run) and `?` (one character), matched against the whole text.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob(pattern, text, |a, b| a == b)
}

fn glob_match_ignore_ascii_case(pattern: &str, text: &str) -> bool {
    glob(pattern, text, |a, b| a.eq_ignore_ascii_case(&b))
}

// Iterative wildcard matching with one backtrack point; no allocation, as it runs per metric.
fn glob(pattern: &str, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // `i` is always at a character boundary of `s`, so slicing is O(1) and never fails.
    let next = |s: &str, i: usize| -> (char, usize) {
        let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
        (c, i + c.len_utf8())
    };
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        let (tc, t_after) = next(text, ti);
        if pi < p.len() {
            let (pc, p_after) = next(pattern, pi);
            if pc == '*' {
                backtrack = Some((p_after, ti));
                pi = p_after;
                continue;
            }
            if pc == '?' || eq(pc, tc) {
                pi = p_after;
                ti = t_after;
                continue;
            }
        }
        match backtrack {
            Some((after_star, matched)) => {
                let (_, resume) = next(text, matched);
                pi = after_star;
                ti = resume;
                backtrack = Some((after_star, resume));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The stored rules record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RulesRecord {
    rules: Vec<MetricRule>,
}

fn record() -> ArtifactPath {
    TargetPath::store_records().artifact(Key::new("rules/metrics.json").expect("a valid key"))
}

/// The rules stored in `store`, in the order they apply.
pub async fn stored_rules(store: &Store) -> Result<Vec<MetricRule>> {
    Ok(store
        .load::<RulesRecord>(&record())
        .await?
        .unwrap_or_default()
        .rules)
}

/// Stores `rule`, replacing a stored rule with the same pattern (in its place) or appending.
/// Returns the stored rules. Two writers racing each keep the rules they read (last one wins).
pub async fn set_rule(store: &Store, rule: MetricRule) -> Result<Vec<MetricRule>> {
    let mut rules = stored_rules(store).await?;
    match rules.iter_mut().find(|r| r.pattern == rule.pattern) {
        Some(existing) => *existing = rule,
        None => rules.push(rule),
    }
    store
        .save(
            &record(),
            &RulesRecord {
                rules: rules.clone(),
            },
        )
        .await?;
    Ok(rules)
}

/// Removes the stored rule whose pattern is `pattern`; `false` if there was none.
pub async fn remove_rule(store: &Store, pattern: &str) -> Result<bool> {
    let mut rules = stored_rules(store).await?;
    let before = rules.len();
    rules.retain(|r| r.pattern != pattern);
    if rules.len() == before {
        return Ok(false);
    }
    store.save(&record(), &RulesRecord { rules }).await?;
    Ok(true)
}

/// Resolves threshold and direction for a metric: `first` rules, then `then` rules, then the
/// default threshold and the direction inferred from the name (or `fallback` when inference is
/// off).
pub(crate) fn resolve(
    rule_lists: [&[MetricRule]; 2],
    key: &Key,
    path: &str,
    default_relative: f64,
    fallback: Option<Direction>,
) -> (f64, Direction) {
    let all = || rule_lists.iter().flat_map(|rules| rules.iter());
    let relative = all()
        .find(|r| r.relative.is_some() && r.matches(key, path))
        .and_then(|r| r.relative)
        .unwrap_or(default_relative);
    let direction = all()
        .find(|r| r.direction.is_some() && r.matches(key, path))
        .and_then(|r| r.direction)
        .unwrap_or_else(|| fallback.unwrap_or_else(|| infer_direction(path)));
    (relative, direction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_imply_directions() {
        for higher_is_better in [
            "throughput",
            "Throughput",
            "io.read_bandwidth_mb",
            "requests_per_sec",
            "msgs_per_s",
            "reads_per_second_avg",
            "http_rps",
            "db.qps",
            "kv_ops_s",
            "cache.hit_rate",
            "bench.score",
            "speedup",
            "throughput.samples",
            "results[\"hit_rate\"]",
        ] {
            assert_eq!(
                infer_direction(higher_is_better),
                Direction::LowerIsWorse,
                "{higher_is_better}"
            );
        }
        for lower_is_better in [
            "parse_ms",
            "latency.p99",
            "rss_bytes",
            "errors",
            "samples[3]",
            "per_s_budget",
            "",
        ] {
            assert_eq!(
                infer_direction(lower_is_better),
                Direction::HigherIsWorse,
                "{lower_is_better}"
            );
        }
    }

    #[test]
    fn globs_match_whole_texts() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*_ms", "latency.p50_ms"));
        assert!(!glob_match("*_ms", "latency.p50_ms2"));
        assert!(glob_match("lat*.*", "latency.p50"));
        assert!(glob_match("é?x*", "éüxyz"));
        assert!(!glob_match("abc", "ab"));
        assert!(glob_match("*a*b*a", "aababa"));
    }

    #[tokio::test]
    async fn rules_are_stored_replaced_and_removed() {
        let store = Store::memory();
        assert!(stored_rules(&store).await.unwrap().is_empty());
        let rule = |pattern: &str, direction| MetricRule {
            pattern: pattern.into(),
            relative: None,
            direction: Some(direction),
        };
        set_rule(&store, rule("*_count", Direction::Neutral))
            .await
            .unwrap();
        set_rule(&store, rule("gc_*", Direction::LowerIsWorse))
            .await
            .unwrap();
        let rules = set_rule(&store, rule("*_count", Direction::HigherIsWorse))
            .await
            .unwrap();
        assert_eq!(
            rules,
            [
                rule("*_count", Direction::HigherIsWorse),
                rule("gc_*", Direction::LowerIsWorse)
            ]
        );
        assert_eq!(stored_rules(&store).await.unwrap(), rules);
        assert!(remove_rule(&store, "*_count").await.unwrap());
        assert!(!remove_rule(&store, "*_count").await.unwrap());
        assert_eq!(stored_rules(&store).await.unwrap().len(), 1);
        // Rules are store-wide records: no session appears.
        assert!(store.list_sessions().await.unwrap().is_empty());
    }
}
