//! `perfstore::history` on memory, local disk and the cache service: creation order, baselines,
//! labels, missing points, distributions, regressions, the metric glob, `last`, stored rules.

use std::collections::BTreeMap;
use std::time::Duration;

use cache_client::CacheClient;
use perfstore::baseline::{BaselineName, set_baseline};
use perfstore::cache_service::CacheServiceStorage;
use perfstore::diff::{Direction, MetricRule};
use perfstore::direction::set_rule;
use perfstore::history::{HistoryQuery, history};
use perfstore::session::ensure_session;
use perfstore::{SessionName, Store, TargetName};
use serde_json::json;

fn s(name: &str) -> SessionName {
    SessionName::new(name).unwrap()
}

/// Sessions, created in this order: `c-first`, `a-second`, `b-third`; then `z-untimed` and
/// `y-untimed` with no metadata; `other` without the target.
async fn fill(store: &Store) {
    let runs = [
        (
            "c-first",
            json!({"parse_ms": 100.0, "throughput": 1000, "latency": {"p50_ms": 5}, "samples": [10, 11, 12]}),
        ),
        (
            "a-second",
            json!({"parse_ms": 101.0, "throughput": 900, "latency": {"p50_ms": 5}, "samples": [20, 21, 22, 23]}),
        ),
        (
            "b-third",
            json!({"throughput": 950, "latency": {"p50_ms": 5}, "samples": [20, 21, 22]}),
        ),
    ];
    for (i, (name, metrics)) in runs.iter().enumerate() {
        let labels = BTreeMap::from([("run".to_owned(), i.to_string())]);
        ensure_session(store, &s(name), &labels).await.unwrap();
        store
            .target(name, "parser")
            .unwrap()
            .save_json("results/metrics.json", metrics)
            .await
            .unwrap();
        // Creation times are milliseconds: keep them apart.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for (name, parse_ms) in [("z-untimed", 150.0), ("y-untimed", 120.0)] {
        let parser = store.target(name, "parser").unwrap();
        parser
            .save_json("results/metrics.json", &json!({"parse_ms": parse_ms}))
            .await
            .unwrap();
        parser.save_string("notes.txt", "not json").await.unwrap();
    }
    store
        .target("other", "lexer")
        .unwrap()
        .save_json("results/metrics.json", &json!({"parse_ms": 1}))
        .await
        .unwrap();
    set_baseline(store, &BaselineName::new("main").unwrap(), &s("a-second"))
        .await
        .unwrap();
}

async fn check(store: Store) {
    fill(&store).await;
    let parser = TargetName::new("parser").unwrap();
    let h = history(&store, &parser, &HistoryQuery::default())
        .await
        .unwrap();
    let order: Vec<&str> = h.sessions.iter().map(|s| s.session.as_str()).collect();
    assert_eq!(
        order,
        ["c-first", "a-second", "b-third", "y-untimed", "z-untimed"],
        "created order, then untimed by name; `other` lacks the target"
    );
    assert_eq!(h.sessions[1].baselines, ["main"]);
    assert!(h.sessions[0].baselines.is_empty());
    assert_eq!(h.sessions[2].labels["run"], "2");
    assert!(h.sessions[0].created_at.is_some() && h.sessions[3].created_at.is_none());

    let names: Vec<(&str, &str)> = h
        .series
        .iter()
        .map(|m| (m.key.as_str(), m.metric.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("results/metrics.json", "latency.p50_ms"),
            ("results/metrics.json", "parse_ms"),
            ("results/metrics.json", "samples"),
            ("results/metrics.json", "throughput"),
        ]
    );
    let series = |metric: &str| h.series.iter().find(|m| m.metric == metric).unwrap();
    let parse = series("parse_ms");
    assert_eq!(
        parse.points,
        [Some(100.0), Some(101.0), None, Some(120.0), Some(150.0)]
    );
    assert_eq!(parse.direction, Direction::HigherIsWorse);
    assert_eq!(parse.regressions, [3, 4], "101 → (missing) → 120 → 150");
    let throughput = series("throughput");
    assert_eq!(throughput.direction, Direction::LowerIsWorse, "inferred");
    assert_eq!(throughput.regressions, [1], "1000 → 900 is a drop");
    assert_eq!(
        series("samples").points[..3],
        [Some(11.0), Some(21.5), Some(21.0)],
        "a distribution's point is its median"
    );
    assert!(series("latency.p50_ms").regressions.is_empty());

    // The glob and `last`.
    let h = history(
        &store,
        &parser,
        &HistoryQuery {
            metric_glob: Some("*_ms".into()),
            last: Some(2),
        },
    )
    .await
    .unwrap();
    let order: Vec<&str> = h.sessions.iter().map(|s| s.session.as_str()).collect();
    assert_eq!(order, ["y-untimed", "z-untimed"]);
    let names: Vec<&str> = h.series.iter().map(|m| m.metric.as_str()).collect();
    assert_eq!(names, ["parse_ms"], "latency.p50_ms has no point in these");
    assert_eq!(h.series[0].points, [Some(120.0), Some(150.0)]);
    assert_eq!(h.series[0].regressions, [1]);

    // A stored rule changes direction and threshold for every later history.
    set_rule(
        &store,
        MetricRule {
            pattern: "parse_ms".into(),
            relative: Some(0.3),
            direction: Some(Direction::HigherIsWorse),
        },
    )
    .await
    .unwrap();
    set_rule(
        &store,
        MetricRule {
            pattern: "throughput".into(),
            relative: None,
            direction: Some(Direction::Neutral),
        },
    )
    .await
    .unwrap();
    let h = history(&store, &parser, &HistoryQuery::default())
        .await
        .unwrap();
    let series = |metric: &str| h.series.iter().find(|m| m.metric == metric).unwrap();
    assert_eq!(series("parse_ms").threshold, 0.3);
    assert!(
        series("parse_ms").regressions.is_empty(),
        "+19 % and +25 % are within 30 %"
    );
    assert_eq!(series("throughput").direction, Direction::Neutral);
    assert!(series("throughput").regressions.is_empty());

    // A target no session has: an empty history, not an error.
    let none = history(
        &store,
        &TargetName::new("nowhere").unwrap(),
        &HistoryQuery::default(),
    )
    .await
    .unwrap();
    assert!(none.sessions.is_empty() && none.series.is_empty());

    // JSON for the console: the documented field names.
    let value = serde_json::to_value(&h).unwrap();
    assert_eq!(value["target"], "parser");
    assert!(value["sessions"][0]["session"].is_string());
    assert!(value["series"][0]["points"].is_array());
    assert!(value["series"][0]["regressions"].is_array());
}

#[tokio::test]
async fn history_on_memory() {
    check(Store::memory()).await;
}

#[tokio::test]
async fn history_on_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    check(Store::local(dir.path())).await;
}

#[tokio::test]
async fn history_on_the_cache_service() {
    check(Store::new(CacheServiceStorage::new(
        CacheClient::in_memory(),
        "perf-results",
    )))
    .await;
}
