//! The workflow commands (`import`, `export`, `copy`, `diff`, `baseline`, `session info`), run
//! for real: the `perfstore` binary against temp folders and our cache service on 127.0.0.1.

use std::collections::BTreeMap;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{code, perfstore, stderr, stdout};

use serde_json::Value;

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

/// Succeeds quietly: exit 0 and nothing on stderr (no progress bar when not a terminal).
#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
    assert_eq!(stderr(out), "", "stderr must be empty on success");
    stdout(out)
}

/// Fails with `expected` and its message on stderr: clap's whole message for a usage error,
/// else one line (after the `skipped` lines of an import that skipped files).
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
    if err.starts_with("error: ") {
        assert_eq!(expected, 2, "a usage error: {err}");
        assert!(err.contains("try '--help'"), "clap's whole message: {err}");
        return err;
    }
    let mut lines: Vec<&str> = err.lines().collect();
    let message = lines.pop().unwrap_or_default();
    assert!(
        lines.iter().all(|l| l.starts_with("  skipped ")),
        "one line on stderr: {err:?}"
    );
    assert!(message.starts_with("perfstore: "), "{err}");
    err
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let file = root.join(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, bytes).unwrap();
}

/// Every regular file below `dir`, relative with `/`, and its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(rel.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// A folder to import: binary, empty, nested, canonical and compact JSON, Unicode text.
fn sample(root: &Path) -> (PathBuf, BTreeMap<String, Vec<u8>>) {
    let dir = root.join("in");
    let files: BTreeMap<String, Vec<u8>> = [
        ("parser/bin/blob.bin", vec![0u8, 255, 1, 254, 0x80]),
        ("parser/empty.txt", Vec::new()),
        ("parser/a/b/c/deep.log", b"deep\n".to_vec()),
        (
            "parser/results/metrics.json",
            b"{\n    \"p50_ms\": 1.5,\n    \"name\": \"caf\\u00e9\"\n}".to_vec(),
        ),
        ("parser/results/compact.json", br#"{"a":1}"#.to_vec()),
        (
            "render/report.md",
            "# Résumé ✓ 日本語\n".as_bytes().to_vec(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (rel, bytes) in &files {
        write(&dir, rel, bytes);
    }
    (dir, files)
}

#[test]
fn import_export_round_trip_is_byte_identical_and_resumable() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    let (input, files) = sample(cwd);
    let n = files.len() as u64;
    let input = input.to_str().unwrap();

    let text = ok(&perfstore(cwd, &["import", "run1", input], None));
    assert!(text.starts_with(&format!("run1: {n} stored")), "{text}");
    // The artifacts are in the default local store, in its layout.
    assert_eq!(
        std::fs::read(cwd.join("perf_results/sessions/run1/targets/parser/bin/blob.bin")).unwrap(),
        files["parser/bin/blob.bin"]
    );

    // A second import stores nothing; deleting one artifact makes it store exactly that one.
    let report = json(&perfstore(
        cwd,
        &["import", "run1", input, "--format", "json"],
        None,
    ));
    assert_eq!(report["moved"]["items"], 0);
    assert_eq!(report["unchanged"]["items"], n);
    ok(&perfstore(
        cwd,
        &["rm", "run1", "render", "report.md"],
        None,
    ));
    let report = json(&perfstore(
        cwd,
        &["import", "run1", input, "--format", "json"],
        None,
    ));
    assert_eq!(
        (
            report["moved"]["items"].as_u64(),
            report["unchanged"]["items"].as_u64()
        ),
        (Some(1), Some(n - 1))
    );
    assert_eq!(report["moved"]["bytes"], files["render/report.md"].len());

    let text = ok(&perfstore(cwd, &["export", "run1", "out"], None));
    assert!(text.contains(&format!("{n} written")), "{text}");
    assert_eq!(tree(&cwd.join("out")), files);
    let report = json(&perfstore(
        cwd,
        &["export", "run1", "out", "--format", "json"],
        None,
    ));
    assert_eq!(
        (
            report["moved"]["items"].as_u64(),
            report["unchanged"]["items"].as_u64()
        ),
        (Some(0), Some(n))
    );
}

#[test]
fn export_refuses_to_clobber_a_different_file_without_overwrite() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    let (input, files) = sample(cwd);
    ok(&perfstore(
        cwd,
        &["import", "run1", input.to_str().unwrap()],
        None,
    ));
    write(cwd, "out/render/report.md", b"my notes");

    let err = fails(&perfstore(cwd, &["export", "run1", "out"], None), 1);
    assert!(
        err.contains("--overwrite") && err.contains("report.md"),
        "{err}"
    );
    assert_eq!(
        tree(&cwd.join("out")).into_keys().collect::<Vec<_>>(),
        ["render/report.md"],
        "nothing written"
    );
    assert_eq!(
        std::fs::read(cwd.join("out/render/report.md")).unwrap(),
        b"my notes"
    );

    let report = json(&perfstore(
        cwd,
        &["export", "run1", "out", "--overwrite", "--format", "json"],
        None,
    ));
    assert_eq!(report["replaced"], 1);
    assert_eq!(tree(&cwd.join("out")), files);
}

#[test]
fn transfer_errors_have_their_exit_codes() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    write(cwd, "in/t/k.txt", b"v");
    write(cwd, "a-file", b"x");

    let err = fails(&perfstore(cwd, &["import", "s", "missing"], None), 3);
    assert!(
        err.contains("missing") && err.contains("does not exist"),
        "{err}"
    );
    fails(&perfstore(cwd, &["import", "s", "a-file"], None), 2);
    let err = fails(&perfstore(cwd, &["import", "bad name", "in"], None), 2);
    assert!(err.contains("session name"), "{err}");
    let err = fails(&perfstore(cwd, &["import", "@nope", "in"], None), 3);
    assert!(err.contains("@nope"), "{err}");
    fails(&perfstore(cwd, &["import", "s"], None), 2);
    fails(&perfstore(cwd, &["export", "ghost", "out"], None), 3);
    assert!(!cwd.join("out").exists());
    fails(&perfstore(cwd, &["export", "s", "a-file"], None), 3);

    ok(&perfstore(cwd, &["import", "s", "in"], None));
    fails(&perfstore(cwd, &["export", "s", "a-file"], None), 2);
    let err = fails(
        &perfstore(
            cwd,
            &["copy", "s", "--to-mode", "nowhere", "--to-path", "b"],
            None,
        ),
        2,
    );
    assert!(
        err.contains("nowhere") && err.contains("cache_service"),
        "{err}"
    );
    let err = fails(
        &perfstore(cwd, &["copy", "s", "--to-mode", "local"], None),
        2,
    );
    assert!(err.contains("--to-path"), "{err}");
    let err = fails(
        &perfstore(cwd, &["copy", "s", "--to-mode", "cache_service"], None),
        2,
    );
    assert!(err.contains("--to-url"), "{err}");
    fails(
        &perfstore(
            cwd,
            &["copy", "s", "--to-mode", "cache_service", "--to-path", "b"],
            None,
        ),
        2,
    );
    fails(
        &perfstore(
            cwd,
            &[
                "copy",
                "s",
                "--to-mode",
                "local",
                "--to-path",
                "b",
                "--to-url",
                "http://127.0.0.1:1",
            ],
            None,
        ),
        2,
    );
    let err = fails(
        &perfstore(
            cwd,
            &[
                "copy",
                "s",
                "--to-mode",
                "local",
                "--to-path",
                "perf_results",
            ],
            None,
        ),
        2,
    );
    assert!(err.contains("source"), "{err}");
    fails(
        &perfstore(
            cwd,
            &["copy", "ghost", "--to-mode", "local", "--to-path", "b"],
            None,
        ),
        3,
    );
    assert!(!cwd.join("b").exists(), "a failed copy writes nothing");
}

#[test]
fn import_lists_skipped_files_and_exits_1_after_storing_the_rest() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    write(cwd, "in/t/ok.txt", b"fine");
    write(cwd, "in/t/sp ace.txt", b"bad key");
    write(cwd, "in/loose.txt", b"no target");
    let out = perfstore(cwd, &["import", "s", "in"], None);
    let err = fails(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("1 stored") && text.contains("2 skipped"),
        "{text}"
    );
    assert!(
        err.contains("skipped loose.txt: not inside a target folder"),
        "{err}"
    );
    assert!(err.contains("skipped t/sp ace.txt: invalid key"), "{err}");
    let out = perfstore(cwd, &["import", "s", "in", "--format", "json"], None);
    fails(&out, 1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["loose.txt", "t/sp ace.txt"]);
    assert_eq!(ok(&perfstore(cwd, &["ls", "s", "t"], None)), "ok.txt\n");
}

#[test]
fn copy_mirrors_a_session_between_local_stores_and_prunes_on_request() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    let (input, files) = sample(cwd);
    let n = files.len() as u64;
    ok(&perfstore(
        cwd,
        &["import", "run1", input.to_str().unwrap()],
        None,
    ));

    let copy = |extra: &[&str]| {
        let mut args = vec![
            "copy",
            "run1",
            "--to-mode",
            "local",
            "--to-path",
            "mirror",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        json(&perfstore(cwd, &args, None))
    };
    let first = copy(&[]);
    assert_eq!(
        (
            first["moved"]["items"].as_u64(),
            first["records_moved"].as_u64()
        ),
        (Some(n), Some(1))
    );
    let second = copy(&[]);
    assert_eq!(
        (
            second["moved"]["items"].as_u64(),
            second["unchanged"]["items"].as_u64()
        ),
        (Some(0), Some(n))
    );

    // The metadata (and its fingerprint) travelled.
    let here = json(&perfstore(
        cwd,
        &["session", "info", "run1", "--format", "json"],
        None,
    ));
    let there = json(&perfstore(
        cwd,
        &[
            "--path", "mirror", "session", "info", "run1", "--format", "json",
        ],
        None,
    ));
    assert_eq!(here, there);
    assert!(here["meta"]["fingerprint"]["host"].is_string());

    // An extra artifact in the mirror survives a plain copy and goes with --prune.
    ok(&perfstore(
        cwd,
        &["--path", "mirror", "put", "run1", "extra", "x.txt"],
        Some(b"x"),
    ));
    assert_eq!(copy(&[])["pruned"], 0);
    let pruned = copy(&["--prune"]);
    assert_eq!(
        (pruned["pruned"].as_u64(), pruned["moved"]["items"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        ok(&perfstore(cwd, &["--path", "mirror", "ls", "run1"], None)),
        "parser\nrender\n"
    );

    let text = ok(&perfstore(
        cwd,
        &["copy", "run1", "--to-mode", "local", "--to-path", "mirror"],
        None,
    ));
    assert!(text.starts_with("run1 -> local mirror: 0 copied"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_the_cache_service_and_back_carries_bytes_and_metadata() {
    let server = cache_client::LocalServer::in_memory().await.unwrap();
    let url = server.base_url().to_owned();
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().to_path_buf();
    let (input, files) = sample(&cwd);
    let n = files.len() as u64;
    let run = |args: Vec<String>| {
        let cwd = cwd.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                perfstore(&cwd, &refs, None)
            })
            .await
            .unwrap()
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let on_service = |a: &[&str]| {
        let mut full = args(&["--mode", "cache_service", "--url", &url]);
        full.extend(args(a));
        full
    };

    ok(&run(args(&["import", "run1", input.to_str().unwrap()])).await);
    let out = run(args(&[
        "copy",
        "run1",
        "--to-mode",
        "cache_service",
        "--to-url",
        &url,
        "--format",
        "json",
    ]))
    .await;
    ok(&out);
    assert_eq!(json(&out)["moved"]["items"], n);
    let again = json(
        &run(args(&[
            "copy",
            "run1",
            "--to-mode",
            "cache_service",
            "--to-url",
            &url,
            "--format",
            "json",
        ]))
        .await,
    );
    assert_eq!(again["moved"]["items"], 0);
    assert_eq!(again["unchanged"]["items"], n);

    let local_info = json(&run(args(&["session", "info", "run1", "--format", "json"])).await);
    let service_info =
        json(&run(on_service(&["session", "info", "run1", "--format", "json"])).await);
    assert_eq!(local_info, service_info);

    // Export straight from the service, and copy back into a fresh local store.
    ok(&run(on_service(&["export", "run1", "from-service"])).await);
    assert_eq!(tree(&cwd.join("from-service")), files);
    let back = json(
        &run(on_service(&[
            "copy",
            "run1",
            "--to-mode",
            "local",
            "--to-path",
            "back",
            "--format",
            "json",
        ]))
        .await,
    );
    assert_eq!(back["moved"]["items"], n);
    ok(&run(args(&["--path", "back", "export", "run1", "from-back"])).await);
    assert_eq!(tree(&cwd.join("from-back")), files);
    server.stop().await.unwrap();
}

/// A local store in `cwd` with sessions `base` and `cand` holding canonical JSON metrics.
fn metric_sessions(cwd: &Path, base: &str, cand: &str) {
    let put = |session: &str, target: &str, key: &str, body: &str| {
        ok(&perfstore(
            cwd,
            &["put", session, target, key, "--json"],
            Some(body.as_bytes()),
        ));
    };
    put("base", "parser", "results/metrics.json", base);
    put("cand", "parser", "results/metrics.json", cand);
    put(
        "base",
        "render",
        "results/metrics.json",
        r#"{"latency_ms": 50}"#,
    );
    put(
        "cand",
        "render",
        "results/metrics.json",
        r#"{"latency_ms": 50}"#,
    );
    put("base", "parser", "other/m.json", r#"{"latency_ms": 1}"#);
    put("cand", "parser", "other/m.json", r#"{"latency_ms": 2}"#);
}

#[test]
fn diff_reports_regressions_and_fails_only_when_asked() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    metric_sessions(
        cwd,
        r#"{"latency_ms": 100, "throughput": 1000, "count": 10}"#,
        r#"{"latency_ms": 120, "throughput": 700, "count": 11}"#,
    );
    let key = ["--key", "results/"];

    let table = ok(&perfstore(
        cwd,
        &["diff", "base", "cand", key[0], key[1]],
        None,
    ));
    assert!(
        table.contains("latency_ms") && table.contains("regression"),
        "{table}"
    );
    assert!(
        table.contains("3 regressions, 0 improvements"),
        "throughput is higher-is-better by name: {table}"
    );

    let out = perfstore(
        cwd,
        &[
            "diff",
            "base",
            "cand",
            key[0],
            key[1],
            "--fail-on-regression",
        ],
        None,
    );
    let err = fails(&out, 4);
    assert!(err.contains("regression"), "{err}");
    assert!(
        stdout(&out).contains("latency_ms"),
        "the table is still printed"
    );

    // Beyond 30 % nothing counts.
    for threshold in ["35%", "0.35"] {
        let out = perfstore(
            cwd,
            &[
                "diff",
                "base",
                "cand",
                "--threshold",
                threshold,
                key[0],
                key[1],
                "--fail-on-regression",
            ],
            None,
        );
        assert_eq!(code(&out), 0, "{threshold}: {}", stdout(&out));
    }
    for bad in ["abc", "5", "-1%", "", "1e999"] {
        let flag = format!("--threshold={bad}");
        let err = fails(&perfstore(cwd, &["diff", "base", "cand", &flag], None), 2);
        assert!(err.contains("threshold"), "{bad}: {err}");
    }

    // Directions per metric: a throughput drop and a count rise.
    let v = json(&perfstore(
        cwd,
        &[
            "diff",
            "base",
            "cand",
            key[0],
            key[1],
            "--lower-is-worse",
            "throughput",
            "--neutral",
            "count",
            "--format",
            "json",
        ],
        None,
    ));
    assert_eq!(v["summary"]["regressions"], 2, "{v:#}");
    let verdicts: BTreeMap<String, String> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["artifacts"].as_array().unwrap().iter())
        .flat_map(|a| a["metrics"].as_array().cloned().unwrap_or_default())
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_owned(),
                m["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(verdicts["latency_ms"], "regression");
    assert_eq!(verdicts["throughput"], "regression");
    assert_eq!(verdicts["count"], "changed");
    let v = json(&perfstore(
        cwd,
        &[
            "diff",
            "base",
            "cand",
            key[0],
            key[1],
            "--higher-is-worse",
            "throughput",
            "--format",
            "json",
        ],
        None,
    ));
    assert_eq!(v["summary"]["regressions"], 2);
    assert_eq!(v["summary"]["improvements"], 1);

    // Without --key the other artifact's doubled latency counts too; --target narrows.
    let v = json(&perfstore(
        cwd,
        &["diff", "base", "cand", "--format", "json"],
        None,
    ));
    assert_eq!(v["summary"]["regressions"], 4, "{v:#}");
    let v = json(&perfstore(
        cwd,
        &[
            "diff", "base", "cand", "--target", "render", "--format", "json",
        ],
        None,
    ));
    assert_eq!(v["summary"]["regressions"], 0);
    assert_eq!(v["summary"]["targets_compared"], 1);

    let md = ok(&perfstore(
        cwd,
        &[
            "diff", "base", "cand", key[0], key[1], "--format", "markdown",
        ],
        None,
    ));
    let row = md
        .lines()
        .find(|l| l.starts_with('|') && l.contains("latency_ms"))
        .unwrap_or_else(|| panic!("no latency row: {md}"));
    for cell in [
        "parser",
        "results/metrics.json",
        "100",
        "120",
        "+20.0%",
        "regression",
    ] {
        assert!(row.contains(cell), "{cell} not in {row}");
    }
}

#[test]
fn diff_unified_shows_text_changes() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    ok(&perfstore(
        cwd,
        &["put", "a", "t", "r.md"],
        Some(b"one\ntwo\n"),
    ));
    ok(&perfstore(
        cwd,
        &["put", "b", "t", "r.md"],
        Some(b"one\nthree\n"),
    ));
    let plain = ok(&perfstore(cwd, &["diff", "a", "b"], None));
    assert!(!plain.contains("+three"), "{plain}");
    let v = json(&perfstore(
        cwd,
        &["diff", "a", "b", "--unified", "--format", "json"],
        None,
    ));
    let text = v.to_string();
    assert!(text.contains("-two") && text.contains("+three"), "{text}");
}

#[test]
fn diff_errors_have_their_exit_codes() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    metric_sessions(cwd, r#"{"x": 1}"#, r#"{"x": 1}"#);
    fails(&perfstore(cwd, &["diff", "base", "ghost"], None), 3);
    fails(&perfstore(cwd, &["diff", "@nope", "cand"], None), 3);
    fails(
        &perfstore(cwd, &["diff", "base", "cand", "--target", "bad/name"], None),
        2,
    );
    fails(
        &perfstore(cwd, &["diff", "base", "cand", "--key", "a b"], None),
        2,
    );
    fails(
        &perfstore(cwd, &["diff", "base", "cand", "--format", "yaml"], None),
        2,
    );
    fails(
        &perfstore(cwd, &["diff", "base", "cand", "--neutral", ""], None),
        2,
    );
    fails(&perfstore(cwd, &["diff", "base"], None), 2);
    // Identical metrics: no regression, exit 0 even when asked to fail.
    ok(&perfstore(
        cwd,
        &[
            "diff",
            "base",
            "cand",
            "--key",
            "results/",
            "--fail-on-regression",
        ],
        None,
    ));
    fails(
        &perfstore(cwd, &["diff", "base", "cand", "--fail-on-regression"], None),
        4,
    );
}

#[test]
fn baselines_resolve_in_diff_and_session_info() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    metric_sessions(cwd, r#"{"latency_ms": 100}"#, r#"{"latency_ms": 200}"#);

    assert_eq!(ok(&perfstore(cwd, &["baseline", "ls"], None)), "");
    assert_eq!(
        ok(&perfstore(cwd, &["baseline", "set", "main", "base"], None)),
        "@main -> base\n"
    );
    ok(&perfstore(
        cwd,
        &["baseline", "set", "release-1", "@main"],
        None,
    ));
    let list = ok(&perfstore(cwd, &["baseline", "ls"], None));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].starts_with("@main ") && lines[0].contains(" base "),
        "{list}"
    );
    assert!(
        lines[1].starts_with("@release-1 ") && lines[1].contains(" base "),
        "{list}"
    );
    let v = json(&perfstore(
        cwd,
        &["baseline", "ls", "--format", "json"],
        None,
    ));
    assert_eq!(v[0]["name"], "main");
    assert_eq!(v[0]["session"], "base");
    assert!(v[0]["updated_at"].is_string());

    // @main in diff is the base session.
    let out = perfstore(
        cwd,
        &[
            "diff",
            "@main",
            "cand",
            "--fail-on-regression",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(json(&out)["base"], "base");

    // session info through the baseline.
    let info = ok(&perfstore(cwd, &["session", "info", "@main"], None));
    assert!(info.starts_with("session    base\n"), "{info}");
    for field in ["targets    2", "artifacts  3", "bytes      "] {
        assert!(info.contains(field), "{field} not in {info}");
    }
    let v = json(&perfstore(
        cwd,
        &["session", "info", "@main", "--format", "json"],
        None,
    ));
    assert_eq!(
        (
            v["session"].as_str(),
            v["targets"].as_u64(),
            v["artifacts"].as_u64()
        ),
        (Some("base"), Some(2), Some(3))
    );
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert!(
        v["meta"]["fingerprint"].is_object(),
        "put records the session's context"
    );
    let text = ok(&perfstore(cwd, &["session", "info", "base"], None));
    assert!(
        text.contains("created ") && text.contains("host "),
        "{text}"
    );

    // Moving and removing.
    ok(&perfstore(cwd, &["baseline", "set", "main", "cand"], None));
    assert_eq!(
        json(&perfstore(
            cwd,
            &["session", "info", "@main", "--format", "json"],
            None
        ))["session"],
        "cand"
    );
    assert_eq!(
        ok(&perfstore(cwd, &["baseline", "rm", "main"], None)),
        "removed @main\n"
    );
    let err = fails(&perfstore(cwd, &["baseline", "rm", "main"], None), 3);
    assert!(err.contains("@main"), "{err}");
    fails(&perfstore(cwd, &["session", "info", "@main"], None), 3);
    fails(&perfstore(cwd, &["baseline", "set", "x", "ghost"], None), 3);
    fails(
        &perfstore(cwd, &["baseline", "set", "bad name", "base"], None),
        2,
    );
    fails(&perfstore(cwd, &["session", "info", "ghost"], None), 3);
    fails(&perfstore(cwd, &["session", "info", "bad/name"], None), 2);
    // A missing subcommand prints the help, as for every command group.
    assert_eq!(code(&perfstore(cwd, &["baseline"], None)), 2);
    assert_eq!(code(&perfstore(cwd, &["session"], None)), 2);
}

#[test]
fn imported_sessions_record_their_environment() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    write(cwd, "in/t/k.txt", b"v");
    ok(&perfstore(cwd, &["import", "s", "in"], None));
    let info = ok(&perfstore(cwd, &["session", "info", "s"], None));
    for field in [
        "created ",
        "host ",
        "os ",
        "arch ",
        "cpu ",
        "cores ",
        "perfstore ",
    ] {
        assert!(info.contains(field), "{field} not in {info}");
    }
    assert!(info.contains(std::env::consts::ARCH), "{info}");
}

/// On a terminal the long-running commands draw a bar on stderr (run under `script`, which
/// gives the command a pseudo-terminal). Off a terminal, every test above checks stderr is
/// empty.
#[cfg(target_os = "linux")]
#[test]
fn a_progress_bar_is_drawn_only_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("`script` (util-linux) is not installed; cannot give perfstore a terminal");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    write(cwd, "in/t/k.txt", b"v");
    let bin = env!("CARGO_BIN_EXE_perfstore");
    let out = Command::new("script")
        .args(["-qfec", &format!("'{bin}' import s in"), "/dev/null"])
        .current_dir(cwd)
        .env_remove("PERF_STORAGE_MODE")
        .env_remove("PERF_LOCAL_STORAGE_PATH")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("importing"), "no bar drawn: {screen:?}");
    assert!(screen.contains("s: 1 stored"), "{screen:?}");

    let quiet = perfstore(cwd, &["import", "s", "in"], None);
    assert!(!stdout(&quiet).contains("importing"));
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn an_import_with_failed_items_exits_1_after_storing_the_rest() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path();
    ok(&perfstore(cwd, &["put", "s", "t", "a/b"], Some(b"folder")));
    write(cwd, "in/t/a", b"file");
    write(cwd, "in/t/c", b"other");
    let out = perfstore(cwd, &["import", "s", "in"], None);
    let err = fails(&out, 1);
    assert!(
        err.contains("1 item failed to import (first: t/a:"),
        "{err}"
    );
    assert!(stdout(&out).contains("failed t/a:"), "{}", stdout(&out));
    assert_eq!(ok(&perfstore(cwd, &["ls", "s", "t"], None)), "a/b\nc\n");
}
