//! The `perfstore` binary, run for real against temp folders.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{code, perfstore, stderr, stdout};

use serde_json::Value;

/// Every file below `dir`, relative, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn put_get_roundtrip_from_stdin_and_file_on_the_default_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = perfstore(
        dir.path(),
        &["put", "s1", "t1", "reports/summary.md"],
        Some("# café\n".as_bytes()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The default backend is local disk at ./perf_results, in the original layout.
    let file = dir
        .path()
        .join("perf_results/sessions/s1/targets/t1/reports/summary.md");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# café\n");

    let input = dir.path().join("blob.bin");
    std::fs::write(&input, [0u8, 255, 1, 254]).unwrap();
    let out = perfstore(
        dir.path(),
        &["put", "s1", "t1", "bin/blob.bin", input.to_str().unwrap()],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = perfstore(dir.path(), &["get", "s1", "t1", "bin/blob.bin"], None);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, [0u8, 255, 1, 254]);

    let out = perfstore(dir.path(), &["get", "s1", "t1", "reports/summary.md"], None);
    assert_eq!(stdout(&out), "# café\n");
}

#[test]
fn put_json_validates_and_stores_canonical_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = perfstore(
        dir.path(),
        &["put", "s", "t", "m.json", "-", "--json"],
        Some(br#"{"b":1,"a":[1.5e-7]}"#),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = perfstore(dir.path(), &["get", "s", "t", "m.json"], None);
    assert_eq!(
        stdout(&out),
        "{\n    \"b\": 1,\n    \"a\": [\n        1.5e-07\n    ]\n}"
    );

    let out = perfstore(
        dir.path(),
        &["put", "s", "t", "bad.json", "--json"],
        Some(b"{nope"),
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not valid JSON"), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().count(),
        1,
        "one line: {}",
        stderr(&out)
    );
    let out = perfstore(
        dir.path(),
        &["put", "s", "t", "bad.txt", "--text"],
        Some(&[0xff, 0xfe]),
    );
    assert_eq!(code(&out), 2);
    let out = perfstore(dir.path(), &["get", "s", "t", "bad.json"], None);
    assert_eq!(code(&out), 3, "nothing was stored for invalid input");
}

#[test]
fn head_reports_size_kind_hash_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    perfstore(dir.path(), &["put", "s", "t", "r.md"], Some(b"hello"));
    let out = perfstore(
        dir.path(),
        &["head", "s", "t", "r.md", "--format", "json"],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["size"], 5);
    assert_eq!(v["kind"], "text");
    // sha256("hello")[..16]
    assert_eq!(v["hash"], "2cf24dba5fb0a30e");
    assert_eq!(v["key"], "r.md");
    let out = perfstore(dir.path(), &["head", "s", "t", "r.md"], None);
    assert!(
        stdout(&out).contains("hash: 2cf24dba5fb0a30e"),
        "{}",
        stdout(&out)
    );
    let out = perfstore(dir.path(), &["head", "s", "t", "missing"], None);
    assert_eq!(code(&out), 3);
}

#[test]
fn ls_lists_sessions_targets_and_keys_with_prefix() {
    let dir = tempfile::tempdir().unwrap();
    for (s, t, k) in [
        ("s2", "b", "results/a.json"),
        ("s1", "a", "results/a.json"),
        ("s1", "a", "results_old/a.json"),
        ("s1", "a", "reports/c.md"),
        ("s1", "c", "x"),
    ] {
        assert_eq!(
            code(&perfstore(dir.path(), &["put", s, t, k], Some(b"x"))),
            0
        );
    }
    assert_eq!(stdout(&perfstore(dir.path(), &["ls"], None)), "s1\ns2\n");
    assert_eq!(
        stdout(&perfstore(dir.path(), &["ls", "s1"], None)),
        "a\nc\n"
    );
    assert_eq!(
        stdout(&perfstore(dir.path(), &["ls", "s1", "a"], None)),
        "reports/c.md\nresults/a.json\nresults_old/a.json\n"
    );
    assert_eq!(
        stdout(&perfstore(dir.path(), &["ls", "s1", "a", "results/"], None)),
        "results/a.json\n"
    );
    let json: Value = serde_json::from_str(&stdout(&perfstore(
        dir.path(),
        &["ls", "s1", "--format", "json"],
        None,
    )))
    .unwrap();
    assert_eq!(json, serde_json::json!(["a", "c"]));
    let missing = perfstore(dir.path(), &["ls", "nope"], None);
    assert_eq!((code(&missing), stdout(&missing)), (3, String::new()));
}

#[test]
fn rm_deletes_one_artifact_or_a_whole_target() {
    let dir = tempfile::tempdir().unwrap();
    for k in ["a", "b/c", "d/e/f"] {
        perfstore(dir.path(), &["put", "s", "t", k], Some(b"x"));
    }
    perfstore(dir.path(), &["put", "s", "keep", "a"], Some(b"x"));
    assert_eq!(
        code(&perfstore(dir.path(), &["rm", "s", "t", "a"], None)),
        0
    );
    assert_eq!(
        code(&perfstore(dir.path(), &["rm", "s", "t", "a"], None)),
        3
    );
    assert_eq!(
        stdout(&perfstore(dir.path(), &["ls", "s", "t"], None)),
        "b/c\nd/e/f\n"
    );
    let out = perfstore(dir.path(), &["rm", "s", "t", "--all"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("deleted 2"), "{}", stderr(&out));
    assert_eq!(stdout(&perfstore(dir.path(), &["ls", "s"], None)), "keep\n");
    assert_eq!(
        code(&perfstore(dir.path(), &["rm", "s", "t", "--all"], None)),
        3
    );
    assert_eq!(
        code(&perfstore(dir.path(), &["rm", "s", "t"], None)),
        2,
        "key or --all is required"
    );
}

#[test]
fn hostile_names_exit_2_and_write_nothing_outside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    let long_key = "k".repeat(257);
    let long_session = "s".repeat(101);
    let cases: Vec<[&str; 3]> = vec![
        ["s", "t", ".."],
        ["s", "t", "../x"],
        ["s", "t", "/etc/passwd"],
        ["s", "t", "a/../../b"],
        ["s", "t", "a//b"],
        ["s", "t", "a\u{0}b"],
        ["s", "t", &long_key],
        [&long_session, "t", "k"],
        ["s", "..", "k"],
        ["..", "t", "k"],
        ["s", "t/../../x", "k"],
        ["s", "t", "café.json"],
        ["sé", "t", "k"],
    ];
    for [s, t, k] in &cases {
        if k.contains('\0') {
            continue; // A NUL cannot be passed in argv; the library test covers it.
        }
        let out = perfstore(
            dir.path(),
            &["--path", root_arg, "put", s, t, k],
            Some(b"pwned"),
        );
        assert_eq!(code(&out), 2, "put {s:?} {t:?} {k:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("perfstore: invalid "), "{err}");
        for cmd in ["get", "head", "rm"] {
            let out = perfstore(dir.path(), &["--path", root_arg, cmd, s, t, k], None);
            assert_eq!(code(&out), 2, "{cmd} {s:?} {t:?} {k:?}: {}", stderr(&out));
        }
    }
    assert!(
        files_below(dir.path()).is_empty(),
        "nothing written: {:?}",
        files_below(dir.path())
    );
    assert!(!root.exists());
}

#[test]
fn flags_override_env_and_an_unknown_mode_lists_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(["put", "s", "t", "k"])
        .current_dir(dir.path())
        .env("PERF_LOCAL_STORAGE_PATH", "from-env")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("from-env/sessions/s/targets/t/k").is_file());
    let out = perfstore(
        dir.path(),
        &["--path", "from-flag", "put", "s", "t", "k"],
        Some(b""),
    );
    assert_eq!(code(&out), 0);
    assert!(
        dir.path()
            .join("from-flag/sessions/s/targets/t/k")
            .is_file()
    );

    let out = perfstore(dir.path(), &["--mode", "bogus", "ls"], None);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    for mode in ["local", "memory", "cache_service", "bogus"] {
        assert!(err.contains(mode), "{err}");
    }
    let out = perfstore(dir.path(), &["--mode", "memory", "ls"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2_with_clap_s_message_and_its_usage_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["frobnicate"][..],
        &["get", "s"][..],
        &["ls", "--format", "yaml"][..],
    ] {
        let out = perfstore(dir.path(), args, None);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("try '--help'"), "{args:?}: {err}");
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(code(&perfstore(dir.path(), &["--help"], None)), 0);
}

#[test]
fn quickstart_stores_a_sample_session_and_prints_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = perfstore(dir.path(), &["quickstart"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("example_com_blog_perf/"), "{text}");
    assert!(text.contains("\"parse_ms\": 18.5"), "{text}");
    let targets = stdout(&perfstore(dir.path(), &["ls", "quickstart"], None));
    assert_eq!(
        targets,
        "example_com\nexample_com_about\nexample_com_blog_perf\n"
    );
    let keys = stdout(&perfstore(
        dir.path(),
        &["ls", "quickstart", "example_com"],
        None,
    ));
    assert_eq!(
        keys,
        "reports/summary.md\nresults/metrics.json\nsource/original.html\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_against_the_cache_service() {
    let server = cache_client::LocalServer::in_memory().await.unwrap();
    let url = server.base_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().to_path_buf();
    let run = move |args: Vec<String>, stdin: Option<Vec<u8>>| {
        let cwd = cwd.clone();
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut full = vec![
                    "--mode".to_owned(),
                    "cache_service".to_owned(),
                    "--url".to_owned(),
                    url,
                ];
                full.extend(args);
                let refs: Vec<&str> = full.iter().map(String::as_str).collect();
                perfstore(&cwd, &refs, stdin.as_deref())
            })
            .await
            .unwrap()
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let out = run(
        args(&["put", "s", "t", "results/m.json", "--json"]),
        Some(br#"{"p50": 1.5}"#.to_vec()),
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(
        args(&["put", "s", "t", "reports/r.md"]),
        Some(b"# hi".to_vec()),
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(args(&["get", "s", "t", "results/m.json"]), None).await;
    assert_eq!(stdout(&out), "{\n    \"p50\": 1.5\n}");
    let out = run(
        args(&["head", "s", "t", "reports/r.md", "--format", "json"]),
        None,
    )
    .await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["size"].as_u64(), v["kind"].as_str()),
        (Some(4), Some("text"))
    );
    assert_eq!(stdout(&run(args(&["ls"]), None).await), "s\n");
    assert_eq!(stdout(&run(args(&["ls", "s"]), None).await), "t\n");
    assert_eq!(
        stdout(&run(args(&["ls", "s", "t"]), None).await),
        "reports/r.md\nresults/m.json\n"
    );
    assert_eq!(
        code(&run(args(&["rm", "s", "t", "reports/r.md"]), None).await),
        0
    );
    assert_eq!(
        code(&run(args(&["get", "s", "t", "reports/r.md"]), None).await),
        3
    );
    assert_eq!(code(&run(args(&["rm", "s", "t", "--all"]), None).await), 0);
    assert_eq!(stdout(&run(args(&["ls", "s"]), None).await), "");
    // Nothing touched the local disk.
    assert!(files_below(dir.path()).is_empty());
    server.stop().await.unwrap();
}

/// The library's in-process service (no URL) would lose a command's data at exit: the CLI
/// refuses it and names both ways to give the URL.
#[test]
fn cache_service_mode_without_a_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["ls"][..],
        &["quickstart"][..],
        &["copy", "s", "--to-mode", "memory"][..],
    ] {
        let args = [&["--mode", "cache_service"][..], command].concat();
        let out = perfstore(dir.path(), &args, None);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--url") && err.contains("URL__TARGET_SERVER__CACHE_SERVICE"),
            "{err}"
        );
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// Issue 12 B3: a `put` killed with SIGKILL mid-stream leaves its temp file; once it is old,
/// the next listing reclaims it, and the target it left behind (no artifact) is not listed.
#[cfg(unix)]
#[test]
fn a_killed_put_leaves_a_temp_file_that_the_next_listing_reclaims() {
    use std::io::Write;
    use std::time::{Duration, Instant, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(["--path", "root", "put", "s", "t", "big.bin"])
        .current_dir(dir.path())
        .env_remove("PERF_STORAGE_MODE")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // More than the CLI reads whole (4 MiB): the rest streams into a temp file.
    stdin.write_all(&vec![7u8; 6 << 20]).unwrap();
    let target = dir.path().join("root/sessions/s/targets/t");
    let started = Instant::now();
    let temp = loop {
        let found = std::fs::read_dir(&target).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().contains(".~perfstore-"))
        });
        if let Some(temp) = found {
            break temp;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no temp file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(stdin);
    assert!(temp.exists(), "the killed writer left its temp file");
    let out = perfstore(dir.path(), &["--path", "root", "ls", "s"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(temp.exists(), "too recent to be judged a leftover yet");
    // Time passes (the temp file was last touched long ago).
    let long_ago = SystemTime::now() - perfstore::local::STALE_TEMP_AGE - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let out = perfstore(dir.path(), &["--path", "root", "ls", "s"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "",
        "a target holding no artifact is not listed"
    );
    assert!(!temp.exists(), "the dead writer's temp file was reclaimed");
}

/// Issue 12 B1, with real processes: `perfstore put` of one key as text and as bytes from
/// several processes at once through `perfstore serve --storage disk`, `perfstore get` from
/// others all along: the key existed before and after, so no get may answer "not found".
#[test]
fn concurrent_put_processes_in_two_kinds_never_make_a_key_vanish_on_the_server() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = dir.path().join("store");
    let mut server = Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--storage",
            "disk",
            "--path",
            store.to_str().unwrap(),
            "--no-auth",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = |args: &[&str], stdin: Option<&[u8]>| {
        let mut all = vec!["--mode", "cache_service", "--url", url.as_str()];
        all.extend_from_slice(args);
        perfstore(dir.path(), &all, stdin)
    };
    let started = Instant::now();
    while code(&client(&["ls"], None)) != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server not ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let put = client(&["put", "s", "t", "report"], Some(b"v0"));
    assert_eq!(code(&put), 0, "{}", stderr(&put));
    let failures = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for w in 0..3u8 {
            let client = &client;
            handles.push(scope.spawn(move || {
                let mut bad = Vec::new();
                for i in 0..12u8 {
                    let out = match (w + i) % 2 {
                        0 => client(
                            &["put", "s", "t", "report"],
                            Some(format!("text {w}/{i}").as_bytes()),
                        ),
                        _ => client(&["put", "s", "t", "report"], Some(&[0xff, 0xfe, w, i])),
                    };
                    if code(&out) != 0 {
                        bad.push(format!("put: {}", stderr(&out)));
                    }
                }
                bad
            }));
        }
        for _ in 0..2 {
            let client = &client;
            handles.push(scope.spawn(move || {
                let mut bad = Vec::new();
                for _ in 0..20 {
                    let out = client(&["get", "s", "t", "report"], None);
                    if code(&out) != 0 {
                        bad.push(format!("get exit {}: {}", code(&out), stderr(&out)));
                    }
                }
                bad
            }));
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}
