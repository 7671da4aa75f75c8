use std::collections::BTreeMap;

use serde_json::json;

use super::render::{Format, render};
use super::*;
use crate::workflows::session::{EnvFingerprint, SessionMeta, ensure_session};

fn s(name: &str) -> SessionName {
    SessionName::new(name).unwrap()
}

/// base: page1 (metrics, summary, logo), page2 (metrics), gone (x)
/// cand: page1 (metrics changed, summary changed, logo same, new.json), page2 (same), fresh (x)
async fn two_sessions() -> Store {
    let store = Store::memory();
    let b1 = store.target("base", "page1").unwrap();
    b1.save_json(
        "results/metrics.json",
        &json!({"parse_ms": 100.0, "nodes": 400, "throughput": 50, "errors": 0, "url": "a", "samples": [1, 2], "gone": 1}),
    )
    .await
    .unwrap();
    b1.save_string("reports/summary.md", "# page1\nline a\nline b\n")
        .await
        .unwrap();
    b1.save_bytes("logo.bin", vec![1, 2, 3]).await.unwrap();
    store
        .target("base", "page2")
        .unwrap()
        .save_json("results/metrics.json", &json!({"n": 1}))
        .await
        .unwrap();
    store
        .target("base", "gone")
        .unwrap()
        .save_string("x", "x")
        .await
        .unwrap();

    let c1 = store.target("cand", "page1").unwrap();
    c1.save_json(
        "results/metrics.json",
        &json!({"parse_ms": 120.0, "nodes": 402, "throughput": 40, "errors": 2, "url": "b", "samples": [1, 3], "added": true}),
    )
    .await
    .unwrap();
    c1.save_string("reports/summary.md", "# page1\nline a\nline B\nline c\n")
        .await
        .unwrap();
    c1.save_bytes("logo.bin", vec![1, 2, 3]).await.unwrap();
    c1.save_json("results/new.json", &json!({})).await.unwrap();
    store
        .target("cand", "page2")
        .unwrap()
        .save_json("results/metrics.json", &json!({"n": 1}))
        .await
        .unwrap();
    store
        .target("cand", "fresh")
        .unwrap()
        .save_string("x", "x")
        .await
        .unwrap();
    store
}

fn find<'a>(diff: &'a SessionDiff, target: &str, key: &str) -> &'a ArtifactChange {
    &diff
        .targets
        .iter()
        .find(|t| t.target.as_str() == target)
        .unwrap()
        .artifacts
        .iter()
        .find(|a| a.key.as_str() == key)
        .unwrap()
        .change
}

fn metric<'a>(diff: &'a SessionDiff, path: &str) -> &'a MetricChange {
    diff.metrics().find(|(_, _, m)| m.path == path).unwrap().2
}

#[tokio::test]
async fn targets_artifacts_and_metrics_are_compared() {
    let store = two_sessions().await;
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(diff.only_in_base, [TargetName::new("gone").unwrap()]);
    assert_eq!(diff.only_in_candidate, [TargetName::new("fresh").unwrap()]);
    assert_eq!(diff.targets.len(), 2);
    assert_eq!(find(&diff, "page1", "logo.bin"), &ArtifactChange::Unchanged);
    assert_eq!(
        find(&diff, "page2", "results/metrics.json"),
        &ArtifactChange::Unchanged
    );
    assert_eq!(
        find(&diff, "page1", "results/new.json"),
        &ArtifactChange::Added {
            kind: ArtifactKind::Json
        }
    );
    assert_eq!(
        find(&diff, "page1", "reports/summary.md"),
        &ArtifactChange::Text {
            changed_lines: 3,
            unified: None
        }
    );

    let p = metric(&diff, "parse_ms");
    assert_eq!((p.base, p.candidate, p.absolute), (100.0, 120.0, 20.0));
    assert!((p.relative.unwrap() - 0.2).abs() < 1e-12);
    assert_eq!(p.verdict, Verdict::Regression);
    assert_eq!(
        metric(&diff, "nodes").verdict,
        Verdict::Unchanged,
        "0.5 % is within 5 %"
    );
    assert_eq!(
        metric(&diff, "throughput").verdict,
        Verdict::Regression,
        "the name says higher is better: 50 → 40 regressed"
    );
    let errors = metric(&diff, "errors");
    assert_eq!(
        (errors.relative, errors.verdict),
        (None, Verdict::Regression),
        "0 → 2 has no relative change but regresses"
    );
    let samples = metric(&diff, "samples");
    assert_eq!(
        (samples.base, samples.candidate, samples.verdict),
        (1.5, 2.0, Verdict::Unchanged),
        "two samples a side: compared by median, +33 % but not significant"
    );
    let stats = samples.samples.unwrap();
    assert!(
        !stats.significant && stats.result.p_value > 0.05,
        "{stats:?}"
    );
    assert_eq!(
        diff.missing,
        [
            MissingItem {
                target: TargetName::new("gone").unwrap(),
                key: None,
                metric: None
            },
            MissingItem {
                target: TargetName::new("page1").unwrap(),
                key: Some(Key::new("results/metrics.json").unwrap()),
                metric: Some("gone".into())
            },
        ],
        "the removed target and the numeric leaf the candidate lacks"
    );
    assert!(!diff.is_complete() && !diff.compared_nothing());

    let ArtifactChange::Json { values, .. } = find(&diff, "page1", "results/metrics.json") else {
        panic!("metrics.json is a JSON change");
    };
    let paths: Vec<&str> = values.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["url", "gone", "added"]);
    assert_eq!(values[1].candidate, None);
    assert_eq!(values[2].base, None);

    let sum = &diff.summary;
    assert_eq!(
        (
            sum.targets_compared,
            sum.artifacts_added,
            sum.artifacts_removed,
            sum.artifacts_changed,
            sum.artifacts_unchanged
        ),
        (2, 1, 0, 2, 2)
    );
    assert_eq!((sum.regressions, sum.improvements), (3, 0));
    assert_eq!(
        (sum.not_significant, sum.missing, sum.metrics_compared),
        (1, 2, 5)
    );
    assert!(diff.has_regressions());
}

#[tokio::test]
async fn rules_override_direction_and_threshold_per_metric() {
    let store = two_sessions().await;
    let options = DiffOptions {
        rules: vec![
            MetricRule {
                pattern: "throughput".into(),
                relative: None,
                direction: Some(Direction::HigherIsWorse),
            },
            MetricRule {
                pattern: "results/metrics.json:parse*".into(),
                relative: Some(0.5),
                direction: None,
            },
            MetricRule {
                pattern: "node?".into(),
                relative: Some(0.001),
                direction: Some(Direction::Neutral),
            },
            MetricRule {
                pattern: "other.json:errors".into(),
                relative: None,
                direction: Some(Direction::LowerIsWorse),
            },
        ],
        ..DiffOptions::default()
    };
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &options)
        .await
        .unwrap();
    assert_eq!(
        metric(&diff, "throughput").verdict,
        Verdict::Improvement,
        "a per-run rule beats the name"
    );
    assert_eq!(
        metric(&diff, "parse_ms").verdict,
        Verdict::Unchanged,
        "20 % is within the rule's 50 %"
    );
    assert_eq!(metric(&diff, "parse_ms").threshold.relative, 0.5);
    assert_eq!(metric(&diff, "nodes").verdict, Verdict::Changed);
    assert_eq!(
        metric(&diff, "errors").verdict,
        Verdict::Regression,
        "a rule for another key does not apply"
    );
}

#[tokio::test]
async fn filters_and_unified_diffs() {
    let store = two_sessions().await;
    let options = DiffOptions {
        target: Some(TargetName::new("page1").unwrap()),
        key_prefix: Some(KeyPrefix::new("reports/").unwrap()),
        unified_diff: true,
        ..DiffOptions::default()
    };
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &options)
        .await
        .unwrap();
    assert!(diff.only_in_base.is_empty() && diff.only_in_candidate.is_empty());
    assert_eq!(diff.targets.len(), 1);
    assert_eq!(diff.targets[0].artifacts.len(), 1);
    let ArtifactChange::Text {
        unified: Some(u), ..
    } = find(&diff, "page1", "reports/summary.md")
    else {
        panic!("unified diff requested");
    };
    assert!(u.contains("--- base/reports/summary.md"), "{u}");
    assert!(
        u.contains("-line b\n") && u.contains("+line B\n") && u.contains("+line c\n"),
        "{u}"
    );
}

/// A key prefix selects artifacts, not targets: a target the candidate has, lacking only the
/// selected artifact, is a missing artifact; the same prefix over every target (one listing of
/// each session) agrees with asking per target.
#[tokio::test]
async fn a_prefix_selecting_nothing_in_the_candidate_misses_the_artifact_not_the_target() {
    let store = two_sessions().await;
    let only_new = |target: Option<&str>| DiffOptions {
        target: target.map(|t| TargetName::new(t).unwrap()),
        key_prefix: Some(KeyPrefix::new("results/new").unwrap()),
        ..DiffOptions::default()
    };
    for target in [Some("page1"), None] {
        let diff = diff_sessions(&store, &s("cand"), &s("base"), &only_new(target))
            .await
            .unwrap();
        let missing: Vec<String> = diff.missing.iter().map(ToString::to_string).collect();
        let expected = match target {
            Some(_) => vec!["artifact page1 results/new.json".to_owned()],
            // Over every target, `fresh` is a whole target the base lacks.
            None => vec![
                "target fresh".to_owned(),
                "artifact page1 results/new.json".to_owned(),
            ],
        };
        assert_eq!(missing, expected, "target {target:?}");
        if target.is_none() {
            // page2 is on both sides with nothing selected: compared, with no artifacts.
            let page2 = diff.targets.iter().find(|t| t.target.as_str() == "page2");
            assert!(page2.is_some_and(|t| t.artifacts.is_empty()), "{diff:?}");
        }
    }
}

#[tokio::test]
async fn a_missing_session_is_an_error() {
    let store = two_sessions().await;
    let err = diff_sessions(&store, &s("base"), &s("nope"), &DiffOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, crate::Error::SessionNotFound { .. }), "{err}");
}

#[tokio::test]
async fn differing_fingerprints_warn() {
    let store = two_sessions().await;
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(diff.warnings.len(), 2, "{:?}", diff.warnings);
    assert!(
        diff.warnings[0].contains("no environment fingerprint"),
        "{:?}",
        diff.warnings
    );

    ensure_session(&store, &s("base"), &BTreeMap::new())
        .await
        .unwrap();
    let meta = ensure_session(&store, &s("cand"), &BTreeMap::new())
        .await
        .unwrap();
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &DiffOptions::default())
        .await
        .unwrap();
    assert!(
        diff.warnings.is_empty(),
        "same machine: {:?}",
        diff.warnings
    );

    // Rewrite the candidate's record as if it ran elsewhere.
    let elsewhere = SessionMeta {
        fingerprint: EnvFingerprint {
            host: "ci-runner-7".into(),
            cores: 64,
            ..meta.fingerprint.clone()
        },
        ..meta
    };
    let path = TargetPath::records_of(s("cand")).artifact(Key::new("session.json").unwrap());
    crate::StorageExt::save(&*store, &path, &elsewhere)
        .await
        .unwrap();
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(diff.warnings.len(), 2, "{:?}", diff.warnings);
    assert!(
        diff.warnings
            .iter()
            .any(|w| w.contains("host") && w.contains("ci-runner-7"))
    );
    assert!(diff.warnings.iter().any(|w| w.contains("cores")));
}

#[tokio::test]
async fn renderers_show_what_changed() {
    let store = two_sessions().await;
    let diff = diff_sessions(&store, &s("base"), &s("cand"), &DiffOptions::default())
        .await
        .unwrap();

    let table = render(&diff, Format::Table);
    assert!(
        table.starts_with(
            "perfstore diff: base → cand (threshold 5.0%; direction from rules, else the metric's name)"
        ),
        "{table}"
    );
    assert!(table.contains("3 regressions, 0 improvements"), "{table}");
    assert!(
        table.contains("1 within noise; 2 missing in cand"),
        "{table}"
    );
    assert!(
        table.contains(
            "missing in cand:\n  target gone\n  metric page1 results/metrics.json gone\n"
        ),
        "{table}"
    );
    let samples_row = table.lines().find(|l| l.contains("samples")).unwrap();
    assert!(
        samples_row.contains("1.5 [1–2] n=2")
            && samples_row.contains("2 [1–3] n=2")
            && samples_row.contains("within noise (p="),
        "{samples_row}"
    );
    let parse_row = table.lines().find(|l| l.contains("parse_ms")).unwrap();
    assert!(
        parse_row.contains("+20.0%") && parse_row.contains("regression"),
        "{parse_row}"
    );
    assert!(
        table.find("parse_ms").unwrap() < table.find("throughput").unwrap(),
        "regressions first:\n{table}"
    );
    assert!(table.contains("only in base: gone"), "{table}");
    assert!(
        table.contains("page1 reports/summary.md text, 3 lines changed"),
        "{table}"
    );
    assert!(
        !table.contains("logo.bin"),
        "unchanged artifacts are not listed:\n{table}"
    );

    let md = render(&diff, Format::Markdown);
    assert!(md.starts_with("### 🔴 perfstore: `base` → `cand`"), "{md}");
    assert!(
        md.contains(
            "| page1 | `results/metrics.json` | `parse_ms` | 100 | 120 | +20.0% | 🔴 regression |"
        ),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>2 metrics changed within the threshold</summary>"),
        "{md}"
    );
    assert!(md.contains("- only in `cand`: `fresh`"), "{md}");

    let json: serde_json::Value = serde_json::from_str(&render(&diff, Format::Json)).unwrap();
    assert_eq!(json["summary"]["regressions"], 3);
    let samples = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["artifacts"].as_array().unwrap())
        .filter_map(|a| a["metrics"].as_array())
        .flatten()
        .find(|m| m["path"] == "samples")
        .unwrap();
    assert_eq!(samples["samples"]["test"], "mann-whitney-u");
    assert!(samples["samples"]["p_value"].as_f64().unwrap() > 0.05);
    assert_eq!(samples["samples"]["base"]["median"], 1.5);
    assert_eq!(json["missing"][0]["target"], "gone");
    assert_eq!(json["only_in_base"], json!(["gone"]));
    let back: SessionDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, diff);
}

#[test]
fn globs_match_whole_paths() {
    use crate::workflows::direction::glob_match;
    assert!(glob_match("*", "a.b[0]"));
    assert!(glob_match("lat*.p?9", "latency.p99"));
    assert!(!glob_match("lat*.p?9", "latency.p999"));
    assert!(glob_match("*_ms", "parse_ms"));
    assert!(!glob_match("parse", "parse_ms"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
}

#[tokio::test]
async fn compact_json_stored_as_text_still_yields_metrics() {
    let store = Store::memory();
    store
        .target("b", "t")
        .unwrap()
        .save_string("m.json", r#"{"p50_ms":10}"#)
        .await
        .unwrap();
    store
        .target("c", "t")
        .unwrap()
        .save_string("m.json", r#"{"p50_ms":12}"#)
        .await
        .unwrap();
    let diff = diff_sessions(&store, &s("b"), &s("c"), &DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(metric(&diff, "p50_ms").verdict, Verdict::Regression);
}
