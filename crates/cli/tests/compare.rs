//! Comparisons a CI pipeline can trust, through the real binary: metric direction (inferred,
//! per run, stored rules), completeness (exit 5), samples (median, Mann–Whitney U, `--alpha`),
//! `history`, and the context every write records (labels, git, fingerprint).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{code, perfstore, stderr, stdout};
use serde_json::Value;

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(
        code(out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

#[track_caller]
fn fails(out: &Output, expected: i32) -> String {
    assert_eq!(
        code(out),
        expected,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(err.starts_with("perfstore: "), "{err}");
    err
}

fn put(cwd: &Path, session: &str, target: &str, key: &str, body: &str, extra: &[&str]) {
    let mut args = vec!["put", session, target, key, "--json"];
    args.extend_from_slice(extra);
    ok(&perfstore(cwd, &args, Some(body.as_bytes())));
}

/// The verdict of `path` in a JSON diff.
fn verdict(diff: &Value, path: &str) -> String {
    metric(diff, path)["verdict"].as_str().unwrap().to_owned()
}

fn metric<'a>(diff: &'a Value, path: &str) -> &'a Value {
    diff["targets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["artifacts"].as_array().unwrap())
        .filter_map(|a| a["metrics"].as_array())
        .flatten()
        .find(|m| m["path"] == path)
        .unwrap_or_else(|| panic!("no metric {path} in {diff:#}"))
}

#[test]
fn direction_is_inferred_overridden_per_run_and_stored() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    put(
        cwd,
        "before",
        "parser",
        "m.json",
        r#"{"throughput": 1000, "latency_ms": 300, "cache_hit_rate": 0.9, "gc_count": 10}"#,
        &[],
    );
    put(
        cwd,
        "after",
        "parser",
        "m.json",
        r#"{"throughput": 900, "latency_ms": 330, "cache_hit_rate": 0.95, "gc_count": 12}"#,
        &[],
    );
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "before", "after", "--format", "json"];
        args.extend_from_slice(extra);
        json(&perfstore(cwd, &args, None))
    };

    // By name: throughput and hit rate are higher-is-better, the rest lower-is-better.
    let v = diff(&[]);
    assert_eq!(verdict(&v, "throughput"), "regression", "1000 → 900");
    assert_eq!(verdict(&v, "latency_ms"), "regression", "300 → 330");
    assert_eq!(verdict(&v, "cache_hit_rate"), "improvement");
    assert_eq!(verdict(&v, "gc_count"), "regression");
    assert_eq!(
        metric(&v, "throughput")["threshold"]["direction"],
        "lower-is-worse"
    );

    // Per run: the old flag and its new alias.
    let v = diff(&["--lower-is-better", "throughput", "--neutral", "gc_*"]);
    assert_eq!(verdict(&v, "throughput"), "improvement");
    assert_eq!(verdict(&v, "gc_count"), "changed");
    let v = diff(&["--lower-is-worse", "gc_count"]);
    assert_eq!(verdict(&v, "gc_count"), "improvement");

    // Stored: `rules set` applies to every later diff, until removed; a run's flag still wins.
    let out = ok(&perfstore(
        cwd,
        &[
            "rules",
            "set",
            "gc_*",
            "--higher-is-better",
            "--threshold",
            "50%",
        ],
        None,
    ));
    assert!(
        out.contains("gc_*  higher is better, threshold 50%"),
        "{out}"
    );
    let v = diff(&[]);
    assert_eq!(
        verdict(&v, "gc_count"),
        "unchanged",
        "+20 % within the rule's 50 %"
    );
    assert_eq!(metric(&v, "gc_count")["threshold"]["relative"], 0.5);
    assert_eq!(
        verdict(
            &diff(&["--lower-is-better", "gc_count", "--threshold", "1%"]),
            "gc_count"
        ),
        "unchanged",
        "the rule's threshold still applies: only its direction was overridden"
    );
    assert_eq!(
        verdict(&diff(&["--no-stored-rules"]), "gc_count"),
        "regression"
    );
    let ls = ok(&perfstore(cwd, &["rules", "ls", "--format", "json"], None));
    let rules: Value = serde_json::from_str(&ls).unwrap();
    assert_eq!(rules[0]["pattern"], "gc_*");
    assert_eq!(rules[0]["direction"], "lower-is-worse");
    ok(&perfstore(cwd, &["rules", "rm", "gc_*"], None));
    fails(&perfstore(cwd, &["rules", "rm", "gc_*"], None), 3);
    assert_eq!(verdict(&diff(&[]), "gc_count"), "regression");

    // --save-rules stores the run's flags.
    let v = diff(&["--neutral", "latency_ms", "--save-rules"]);
    assert_eq!(verdict(&v, "latency_ms"), "changed");
    assert_eq!(
        verdict(&diff(&[]), "latency_ms"),
        "changed",
        "stored by the earlier run"
    );
    let ls = ok(&perfstore(cwd, &["rules", "ls"], None));
    assert_eq!(ls.trim(), "latency_ms  neutral");
    let err = fails(
        &perfstore(cwd, &["diff", "before", "after", "--save-rules"], None),
        2,
    );
    assert!(err.contains("--save-rules needs"), "{err}");
    // A rule needs a setting.
    let out = perfstore(cwd, &["rules", "set", "x"], None);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn an_incomplete_candidate_fails_the_gate_with_5() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    put(
        cwd,
        "before",
        "parser",
        "m.json",
        r#"{"p50_ms": 10, "p99_ms": 20}"#,
        &[],
    );
    put(cwd, "before", "parser", "extra.json", r#"{"n": 1}"#, &[]);
    put(cwd, "before", "lexer", "m.json", r#"{"p50_ms": 5}"#, &[]);
    // The candidate lacks the lexer target, parser's extra.json and parser's p99_ms.
    put(cwd, "after", "parser", "m.json", r#"{"p50_ms": 10}"#, &[]);
    let gate = |extra: &[&str]| {
        let mut args = vec!["diff", "before", "after", "--fail-on-regression"];
        args.extend_from_slice(extra);
        perfstore(cwd, &args, None)
    };

    let out = gate(&[]);
    let err = fails(&out, 5);
    assert!(
        err.contains("after is incomplete: 3 items of before missing, first target lexer"),
        "{err}"
    );
    let table = stdout(&out);
    for line in [
        "missing in after:",
        "  target lexer",
        "  artifact parser extra.json",
        "  metric parser m.json p99_ms",
    ] {
        assert!(table.contains(line), "{line:?} in {table}");
    }
    assert_eq!(code(&gate(&["--allow-missing"])), 0);
    assert_eq!(
        code(&perfstore(cwd, &["diff", "before", "after"], None)),
        0,
        "without the gate, a report only"
    );

    // Each kind of gap alone.
    for (target, key, expected) in [
        ("lexer", None, "first target lexer"),
        (
            "parser",
            Some("extra.json"),
            "first artifact parser extra.json",
        ),
        (
            "parser",
            Some("m.json"),
            "first metric parser m.json p99_ms",
        ),
    ] {
        let mut args = vec!["--target", target];
        if let Some(key) = key {
            args.extend(["--key", key]);
        }
        let err = fails(&gate(&args), 5);
        assert!(err.contains(expected), "{expected}: {err}");
    }

    // A diff that compares nothing: a misspelt target.
    let err = fails(&gate(&["--target", "parsr"]), 5);
    assert!(err.contains("nothing compared"), "{err}");
    assert_eq!(code(&gate(&["--target", "parsr", "--allow-missing"])), 0);

    // A regression and a gap: 4 wins.
    put(cwd, "after", "parser", "m.json", r#"{"p50_ms": 50}"#, &[]);
    fails(&gate(&[]), 4);

    // JSON lists what is missing.
    let v = json(&perfstore(
        cwd,
        &["diff", "before", "after", "--format", "json"],
        None,
    ));
    assert_eq!(v["summary"]["missing"], 3);
    assert_eq!(v["missing"][0], serde_json::json!({"target": "lexer"}));
    assert_eq!(
        v["missing"][2],
        serde_json::json!({"target": "parser", "key": "m.json", "metric": "p99_ms"})
    );
}

#[test]
fn samples_are_compared_by_median_and_significance() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    // Noisy: medians differ by 10 % but the samples overlap.
    put(
        cwd,
        "before",
        "parser",
        "m.json",
        r#"{"noisy_ms": [100, 140, 90, 120, 95, 130], "parse_ms": {"samples": [10.1, 10.3, 9.9, 10.0, 10.2, 10.4]}}"#,
        &[],
    );
    put(
        cwd,
        "after",
        "parser",
        "m.json",
        r#"{"noisy_ms": [110, 150, 85, 135, 100, 145], "parse_ms": {"samples": [11.0, 10.9, 11.3, 10.8, 11.1, 11.2]}}"#,
        &[],
    );
    let out = perfstore(
        cwd,
        &["diff", "before", "after", "--fail-on-regression"],
        None,
    );
    fails(&out, 4);
    let table = stdout(&out);
    let parse = table
        .lines()
        .find(|l| l.contains("parse_ms.samples"))
        .unwrap();
    assert!(
        parse.contains("10.15 [9.9–10.4] n=6")
            && parse.contains("11.05 [10.8–11.3] n=6")
            && parse.contains("regression (p=0.005)"),
        "{parse}"
    );
    let noisy = table.lines().find(|l| l.contains("noisy_ms")).unwrap();
    assert!(noisy.contains("within noise (p="), "{noisy}");
    assert!(
        table.contains("1 regression,") && table.contains("1 within noise"),
        "{table}"
    );

    let v = json(&perfstore(
        cwd,
        &["diff", "before", "after", "--format", "json"],
        None,
    ));
    let parse = metric(&v, "parse_ms.samples");
    assert!((parse["base"].as_f64().unwrap() - 10.15).abs() < 1e-9);
    assert_eq!(parse["samples"]["test"], "mann-whitney-u");
    assert_eq!(parse["samples"]["u"], 0.0);
    let p = parse["samples"]["p_value"].as_f64().unwrap();
    assert!(
        (p - 0.005_074_868_097_940_253).abs() < 1e-9,
        "scipy's value: {p}"
    );
    assert_eq!(parse["samples"]["candidate"]["ci_low"], 10.8);
    assert_eq!(metric(&v, "noisy_ms")["verdict"], "unchanged");

    // A stricter alpha turns the regression into noise.
    let out = perfstore(
        cwd,
        &[
            "diff",
            "before",
            "after",
            "--fail-on-regression",
            "--alpha",
            "0.001",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    for bad in ["0", "1", "x", "-0.1"] {
        let flag = format!("--alpha={bad}");
        let out = perfstore(cwd, &["diff", "before", "after", &flag], None);
        assert_eq!(code(&out), 2, "{bad}");
        assert!(
            stderr(&out).contains("significance level"),
            "{}",
            stderr(&out)
        );
    }

    let md = ok(&perfstore(
        cwd,
        &["diff", "before", "after", "--format", "markdown"],
        None,
    ));
    assert!(md.contains("🔴 regression (p=0.005)"), "{md}");
}

#[test]
fn history_lists_metrics_across_sessions_oldest_first() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    // Created in this order; names sort differently.
    for (session, p50, rps) in [("run-c", 10, 500), ("run-a", 10, 400), ("run-b", 13, 410)] {
        put(
            cwd,
            session,
            "parser",
            "m.json",
            &format!(r#"{{"p50_ms": {p50}, "rps": {rps}}}"#),
            &["--label", &format!("build={session}")],
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    put(cwd, "other", "lexer", "m.json", r#"{"p50_ms": 1}"#, &[]);
    ok(&perfstore(cwd, &["baseline", "set", "main", "run-a"], None));

    let table = ok(&perfstore(cwd, &["history", "parser"], None));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "history of parser: 3 sessions, oldest first; 2 metrics"
    );
    assert!(
        lines[1].starts_with("  1  run-c") && lines[1].ends_with("build=run-c"),
        "{table}"
    );
    assert!(
        lines[2].contains("run-a") && lines[2].contains("@main"),
        "{table}"
    );
    assert!(lines[3].contains("run-b"), "{table}");
    let p50 = lines.iter().find(|l| l.contains("p50_ms")).unwrap();
    assert!(
        p50.contains("↓ better") && p50.contains("▁▁█") && p50.contains("#3"),
        "{p50}"
    );
    let rps = lines.iter().find(|l| l.contains(" rps")).unwrap();
    assert!(
        rps.contains("↑ better") && rps.contains("█▁▂") && rps.contains("#2"),
        "{rps}"
    );

    let v = json(&perfstore(
        cwd,
        &[
            "history", "parser", "--metric", "p50*", "--last", "2", "--format", "json",
        ],
        None,
    ));
    assert_eq!(v["sessions"][0]["session"], "run-a");
    assert_eq!(v["sessions"][0]["baselines"], serde_json::json!(["main"]));
    assert_eq!(v["sessions"][1]["labels"]["build"], "run-b");
    assert_eq!(v["series"].as_array().unwrap().len(), 1);
    assert_eq!(v["series"][0]["points"], serde_json::json!([10.0, 13.0]));
    assert_eq!(v["series"][0]["regressions"], serde_json::json!([1]));

    let csv = ok(&perfstore(
        cwd,
        &["history", "parser", "--format", "csv"],
        None,
    ));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "session,created_at,baselines,git_commit,key,metric,direction,value,regression"
    );
    assert_eq!(rows.len(), 7, "{csv}");
    assert!(
        rows[3].starts_with("run-a,") && rows[3].contains(",main,"),
        "{csv}"
    );
    assert!(
        rows[5].ends_with("m.json,p50_ms,lower-is-better,13,true"),
        "{csv}"
    );

    let err = fails(&perfstore(cwd, &["history", "nowhere"], None), 3);
    assert!(err.contains("no session holds target nowhere"), "{err}");
    fails(&perfstore(cwd, &["history", "bad name"], None), 2);
    assert_eq!(
        code(&perfstore(cwd, &["history", "parser", "--last", "0"], None)),
        2
    );
}

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_output(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn every_write_records_context_labels_and_git() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    git(cwd, &["init", "-q", "-b", "feature-x"]);
    std::fs::write(cwd.join("src.txt"), "v1").unwrap();
    git(cwd, &["add", "src.txt"]);
    git(cwd, &["commit", "-q", "-m", "one"]);
    let commit = git_output(cwd, &["rev-parse", "HEAD"]);

    // put: labels and the clean checkout.
    put(
        cwd,
        "before",
        "parser",
        "m.json",
        r#"{"p50_ms": 10}"#,
        &["--label", "ci=run-1", "--label", "note=a=b"],
    );
    let info = json(&perfstore(
        cwd,
        &["session", "info", "before", "--format", "json"],
        None,
    ));
    let meta = &info["meta"];
    assert_eq!(meta["labels"]["ci"], "run-1");
    assert_eq!(meta["labels"]["note"], "a=b");
    assert_eq!(meta["git"]["commit"], commit.as_str());
    assert_eq!(meta["git"]["branch"], "feature-x");
    assert_eq!(meta["git"]["dirty"], false);
    assert!(meta["fingerprint"]["host"].is_string());
    let text = ok(&perfstore(cwd, &["session", "info", "before"], None));
    assert!(
        text.contains(&format!("git        {commit} on feature-x, clean")),
        "{text}"
    );
    assert!(text.contains("labels     ci=run-1, note=a=b"), "{text}");
    // A later put merges labels and keeps the first context.
    put(
        cwd,
        "before",
        "parser",
        "n.json",
        r#"{"x": 1}"#,
        &["--label", "ci=run-2"],
    );
    let again = json(&perfstore(
        cwd,
        &["session", "info", "before", "--format", "json"],
        None,
    ));
    assert_eq!(again["meta"]["labels"]["ci"], "run-2");
    assert_eq!(again["meta"]["created_at"], meta["created_at"]);

    // import: a dirty checkout, labels.
    std::fs::write(cwd.join("src.txt"), "v2").unwrap();
    let dir = cwd.join("results");
    std::fs::create_dir_all(dir.join("parser")).unwrap();
    std::fs::write(dir.join("parser/m.json"), r#"{"p50_ms": 11}"#).unwrap();
    ok(&perfstore(
        cwd,
        &["import", "after", "results", "--label", "ci=run-3"],
        None,
    ));
    let info = json(&perfstore(
        cwd,
        &["session", "info", "after", "--format", "json"],
        None,
    ));
    assert_eq!(info["meta"]["labels"]["ci"], "run-3");
    assert_eq!(info["meta"]["git"]["dirty"], true);

    // The diff header shows both sides' context, and no "comparability unknown" warning.
    let table = ok(&perfstore(cwd, &["diff", "before", "after"], None));
    let short = &commit[..12];
    assert!(
        table.contains("base before: created ")
            && table.contains(&format!(
                "git {short} (feature-x) · labels ci=run-2 note=a=b"
            )),
        "{table}"
    );
    assert!(
        table.contains(&format!("git {short} (feature-x, dirty) · labels ci=run-3")),
        "{table}"
    );
    assert!(!table.contains("comparability unknown"), "{table}");
    let v = json(&perfstore(
        cwd,
        &["diff", "before", "after", "--format", "json"],
        None,
    ));
    assert_eq!(v["candidate_meta"]["git"]["dirty"], true);

    // Bad labels are usage errors.
    let out = perfstore(cwd, &["put", "s", "t", "k", "--label", "nokey"], Some(b"x"));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("KEY=VALUE"), "{}", stderr(&out));
}

#[test]
fn outside_a_checkout_or_without_git_no_git_fields_are_recorded() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    put(cwd, "plain", "t", "m.json", r#"{"a": 1}"#, &[]);
    let info = json(&perfstore(
        cwd,
        &["session", "info", "plain", "--format", "json"],
        None,
    ));
    assert!(info["meta"]["fingerprint"].is_object());
    assert!(info["meta"].get("git").is_none(), "{info:#}");

    // A checkout, but no git on PATH: the fields are absent, the put succeeds.
    git(cwd, &["init", "-q"]);
    let empty_path = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(["put", "nogit", "t", "m.json"])
        .current_dir(cwd)
        .env("PATH", empty_path.path())
        .env_remove("PERF_STORAGE_MODE")
        .env_remove("PERF_LOCAL_STORAGE_PATH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = json(&perfstore(
        cwd,
        &["session", "info", "nogit", "--format", "json"],
        None,
    ));
    assert!(info["meta"].get("git").is_none(), "{info:#}");
}
