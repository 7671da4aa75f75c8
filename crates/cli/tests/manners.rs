//! Issue 15 items 6 and 7: the `perfstore` binary behaves like a good Unix tool. Every test runs
//! the real binary: pipes closed early, clap's messages, `serve`'s announcement and options,
//! the refused modes, `ls`/`import`/`rm` exit codes, auth hints, counts, shell completions.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{code, perfstore, stderr, stdout};

/// `perfstore` with a clean storage environment and every stream piped.
fn spawn(cwd: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(args)
        .current_dir(cwd)
        .env_remove("PERF_STORAGE_MODE")
        .env_remove("PERF_LOCAL_STORAGE_PATH")
        .env_remove("URL__TARGET_SERVER__CACHE_SERVICE")
        .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME")
        .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE")
        .env_remove("FAST_API__AUTH__API_KEY__NAME")
        .env_remove("FAST_API__AUTH__API_KEY__VALUE")
        .env_remove("CACHE__SERVICE__STORAGE_MODE")
        .env_remove("CACHE__SERVICE__LOCAL_DISK_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn perfstore")
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Runs `args`, reads one byte of stdout and closes the pipe; returns (killed by SIGPIPE,
/// stderr). Panics on any other outcome than exit 0 or SIGPIPE.
#[cfg(unix)]
fn read_one_byte_and_hang_up(cwd: &Path, args: &[&str]) -> (bool, String) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = spawn(cwd, args);
    let mut out = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    out.read_exact(&mut byte)
        .expect("the command printed something");
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let piped = status.signal() == Some(libc_sigpipe());
    assert!(
        piped || status.code() == Some(0),
        "{args:?}: {status:?}, stderr: {err}"
    );
    (piped, err)
}

#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13 // SIGPIPE on Linux and the BSDs
}

/// A store with output well over a pipe's buffer for `get`, `ls` and `diff --format json`.
fn big_store(cwd: &Path) {
    let metrics = |scale: f64| {
        let fields: Vec<String> = (0..4000)
            .map(|i| format!("\"metric_{i:04}_ms\": {}", (i as f64 + 1.0) * scale))
            .collect();
        format!("{{{}}}", fields.join(","))
    };
    write(cwd, "base/t/results/metrics.json", metrics(1.0).as_bytes());
    write(cwd, "cand/t/results/metrics.json", metrics(1.5).as_bytes());
    for i in 0..3000 {
        // 3000 lines of 40 bytes: more than a pipe holds (64 KiB).
        write(
            cwd,
            &format!("base/many/key_{i:05}_with_a_long_enough_name.txt"),
            b"x",
        );
    }
    for (session, dir) in [("base", "base"), ("cand", "cand")] {
        let out = perfstore(cwd, &["import", session, dir], None);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let big = vec![b'a'; 1 << 20];
    let out = perfstore(cwd, &["put", "base", "blob", "big.txt"], Some(&big));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// `… | head -c1` many times over: never a panic, never a message, exit 0 or SIGPIPE (git's
/// behaviour). `get` streams through tokio's stdout, `ls` writes lines, `diff` prints one
/// string with `print!` (whose panic on a closed pipe is turned into the quiet end).
#[cfg(unix)]
#[test]
fn a_pipe_closed_early_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    big_store(cwd);
    let commands: [&[&str]; 4] = [
        &["get", "base", "blob", "big.txt"],
        &["ls", "base", "many"],
        &["diff", "base", "cand", "--format", "json"],
        &["diff", "base", "cand"],
    ];
    for args in commands {
        let mut piped = 0;
        for _ in 0..15 {
            let (sigpipe, err) = read_one_byte_and_hang_up(cwd, args);
            assert_eq!(err, "", "{args:?} wrote to stderr");
            piped += usize::from(sigpipe);
        }
        // Output beyond a pipe's buffer always meets the closed end.
        assert!(piped > 0, "{args:?} never met the closed pipe");
    }
}

#[test]
fn usage_errors_keep_clap_s_whole_message_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 5] = [
        (&["rm", "s", "t"], &["<KEY>", "Usage: perfstore rm"]),
        (
            &["lss"],
            &["unrecognized subcommand 'lss'", "similar", "ls"],
        ),
        (
            &["ls", "--format", "yaml"],
            &["invalid value 'yaml'", "--format", "text", "json"],
        ),
        (&["get", "s"], &["<TARGET>", "<KEY>"]),
        (&["diff", "a", "b", "--bogus"], &["--bogus", "Usage:"]),
    ];
    for (args, needles) in cases {
        let out = perfstore(dir.path(), args, None);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        for needle in needles {
            assert!(
                err.contains(needle),
                "{args:?}: {needle:?} missing in {err}"
            );
        }
        assert!(
            !err.contains('\u{1b}'),
            "no colour when stderr is a pipe: {err:?}"
        );
    }
    let out = perfstore(dir.path(), &["--help"], None);
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("Usage: perfstore"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn help_shows_each_command_s_options_and_the_global_ones_under_their_own_heading() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&perfstore(dir.path(), &["put", "--help"], None));
    let (own, global) = help
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no global heading: {help}"));
    assert!(
        own.contains("--json") && own.contains("<SESSION>"),
        "{help}"
    );
    for flag in ["--mode", "--path", "--namespace", "--url", "--stats"] {
        assert!(
            global.contains(flag),
            "{flag} not under the heading: {help}"
        );
        assert!(!own.contains(flag), "{flag} mixed into put's own: {help}");
    }
    for var in [
        "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME",
        "__KEY_VALUE",
    ] {
        assert!(help.contains(var), "{var}: {help}");
    }
    let top = stdout(&perfstore(dir.path(), &["--help"], None));
    for var in [
        "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME",
        "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE",
        "URL__TARGET_SERVER__CACHE_SERVICE",
        "PERF_STORAGE_MODE",
    ] {
        assert!(top.contains(var), "{var}: {top}");
    }
}

#[test]
fn serve_takes_only_its_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&perfstore(dir.path(), &["serve", "-h"], None));
    assert!(
        help.contains("--storage") && help.contains("--port"),
        "{help}"
    );
    for client in [
        "--mode",
        "--url",
        "--namespace",
        "--stats",
        "Global options",
    ] {
        assert!(!help.contains(client), "serve -h shows {client}: {help}");
    }
    for args in [
        &["serve", "--mode", "memory"][..],
        &["--url", "http://127.0.0.1:1", "serve"][..],
        &["serve", "--namespace", "x", "--stats"][..],
    ] {
        let out = perfstore(dir.path(), args, None);
        assert_eq!(code(&out), 2, "{args:?} accepted: {}", stderr(&out));
        assert!(
            stderr(&out).contains("does not take"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = perfstore(
        dir.path(),
        &["serve", "--storage", "disk", "--no-auth"],
        None,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--path"), "{}", stderr(&out));
    // Bad server configuration is invalid input too, before anything binds.
    let out = spawn(dir.path(), &["serve", "--port", "0"])
        .wait_with_output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("FAST_API__AUTH__API_KEY__NAME") && out.stdout.is_empty(),
        "{}",
        stderr(&out)
    );
}

/// A running `perfstore serve`, killed on drop.
struct Server {
    child: Child,
    url: String,
    log: std::thread::JoinHandle<String>,
}

impl Server {
    /// Starts `perfstore serve --port 0 <extra>` and reads the address it announces.
    fn start(cwd: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args = vec!["serve", "--host", "127.0.0.1", "--port", "0"];
        args.extend_from_slice(extra);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfstore"));
        cmd.args(&args)
            .current_dir(cwd)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("FAST_API__AUTH__API_KEY__NAME")
            .env_remove("FAST_API__AUTH__API_KEY__VALUE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no announcement: {line:?}"))
            .to_owned();
        let mut err = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Server { child, url, log }
    }

    /// Stops the server and returns its stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::mem::replace(&mut self.log, std::thread::spawn(String::new));
        log.join().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_announces_the_real_port_and_logs_without_colour_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--no-auth"], &[]);
    let port: u16 = server
        .url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{}", server.url));
    assert_ne!(port, 0);
    let client = ["--mode", "cache_service", "--url", server.url.as_str()];
    let put = perfstore(
        dir.path(),
        &[&client[..], &["put", "s", "t", "k"]].concat(),
        Some(b"v"),
    );
    assert_eq!(code(&put), 0, "{}", stderr(&put));
    let ls = perfstore(dir.path(), &[&client[..], &["ls"]].concat(), None);
    assert_eq!(stdout(&ls), "s\n");
    // A whole session goes in one command on the cache service too.
    let rm = perfstore(
        dir.path(),
        &[&client[..], &["rm", "s", "--all"]].concat(),
        None,
    );
    assert_eq!(stderr(&rm), "deleted session s: 1 artifact in 1 target\n");
    let ls = perfstore(dir.path(), &[&client[..], &["ls"]].concat(), None);
    assert_eq!((code(&ls), stdout(&ls)), (0, String::new()));
    let log = server.stop();
    assert!(log.contains("listening"), "RUST_LOG=info logs: {log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a pipe: {log:?}");
}

#[test]
fn an_unauthorized_client_is_told_which_variables_carry_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[],
        &[
            ("FAST_API__AUTH__API_KEY__NAME", "x-api-key"),
            ("FAST_API__AUTH__API_KEY__VALUE", "right"),
        ],
    );
    let url = server.url.clone();
    for key in [None, Some("wrong")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfstore"));
        cmd.args(["--mode", "cache_service", "--url", &url, "ls"])
            .current_dir(dir.path())
            .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME")
            .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE");
        if let Some(value) = key {
            cmd.env("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME", "x-api-key")
                .env("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE", value);
        }
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{key:?}: {err}");
        assert!(err.contains("401"), "{err}");
        for var in [
            "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME",
            "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE",
        ] {
            assert!(err.contains(var), "{key:?}: {var} not named: {err}");
        }
    }
    let ok = Command::new(env!("CARGO_BIN_EXE_perfstore"))
        .args(["--mode", "cache_service", "--url", &url, "ls"])
        .current_dir(dir.path())
        .env("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME", "x-api-key")
        .env("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE", "right")
        .output()
        .unwrap();
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    server.stop();
}

#[test]
fn modes_that_would_lose_the_data_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = perfstore(
        dir.path(),
        &["--mode", "cache_service", "put", "s", "t", "k"],
        Some(b"v"),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--url") && err.contains("URL__TARGET_SERVER__CACHE_SERVICE"),
        "{err}"
    );
    let out = perfstore(dir.path(), &["--mode", "cache_service", "quickstart"], None);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    let out = perfstore(
        dir.path(),
        &["--mode", "memory", "put", "s", "t", "k"],
        Some(b"v"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("keeps nothing"), "{}", stderr(&out));
    let args = ["--mode", "object_store", "--object-store-url", "memory://"];
    let out = perfstore(dir.path(), &[&args[..], &["ls"]].concat(), None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("memory:// object store keeps nothing"),
        "{}",
        stderr(&out)
    );
    let out = perfstore(dir.path(), &["--mode", "memory", "quickstart"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nothing persists"),
        "{}",
        stdout(&out)
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "memory mode wrote to disk"
    );
}

#[test]
fn ls_of_a_missing_session_or_target_is_not_found_like_diff() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    assert_eq!(
        code(&perfstore(
            cwd,
            &["put", "before", "parser", "results/m.json"],
            Some(b"{}")
        )),
        0
    );
    let out = perfstore(cwd, &["ls", "befor"], None);
    assert_eq!(code(&out), 3);
    assert_eq!(stderr(&out), "perfstore: session befor not found\n");
    let diff = perfstore(cwd, &["diff", "befor", "before"], None);
    assert_eq!(code(&diff), 3, "the same as diff: {}", stderr(&diff));

    let out = perfstore(cwd, &["ls", "before", "parsr"], None);
    assert_eq!(code(&out), 3);
    assert_eq!(stderr(&out), "perfstore: target before/parsr not found\n");
    let out = perfstore(cwd, &["ls", "befor", "parser"], None);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("session befor"), "{}", stderr(&out));

    // Existing, with nothing matching the prefix: an empty list.
    let out = perfstore(cwd, &["ls", "before", "parser", "reports/"], None);
    assert_eq!((code(&out), stdout(&out)), (0, String::new()));
    assert_eq!(stdout(&perfstore(cwd, &["ls", "before"], None)), "parser\n");
}

#[test]
fn import_skips_with_exit_1_and_sanitizes_with_the_library_s_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    write(cwd, "in/t/ok.txt", b"fine");
    write(cwd, "in/t/sp ace.txt", b"bad key");
    write(cwd, "in/my target/r é.md", b"bad both");
    write(cwd, "in/loose.txt", b"no target");

    let out = perfstore(cwd, &["import", "s", "in"], None);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 stored") && stdout(&out).contains("3 skipped"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    for listed in [
        "skipped t/sp ace.txt",
        "skipped my target/r é.md",
        "skipped loose.txt",
    ] {
        assert!(err.contains(listed), "{listed}: {err}");
    }
    assert!(
        err.contains("3 files were not imported") && err.contains("--sanitize"),
        "{err}"
    );

    let out = perfstore(cwd, &["import", "s", "in", "--sanitize"], None);
    assert_eq!(code(&out), 1, "loose.txt has no target: {}", stderr(&out));
    assert!(
        stderr(&out).contains("1 file was not imported"),
        "{}",
        stderr(&out)
    );
    let target = perfstore::TargetName::sanitized("my target").unwrap();
    let key = perfstore::Key::sanitized("r é.md").unwrap();
    assert_eq!(
        stdout(&perfstore(cwd, &["ls", "s"], None)),
        format!("{target}\nt\n")
    );
    assert_eq!(
        stdout(&perfstore(cwd, &["ls", "s", target.as_str()], None)),
        format!("{}\n", key.as_str())
    );
    let sanitized_key = perfstore::Key::sanitized("sp ace.txt").unwrap();
    assert_eq!(
        stdout(&perfstore(cwd, &["ls", "s", "t"], None)),
        format!("ok.txt\n{}\n", sanitized_key.as_str())
    );

    // Two files with one sanitized name: the second is skipped, not merged into the first.
    write(cwd, "clash/t/a b", b"first");
    write(cwd, "clash/t/a_b", b"second");
    let out = perfstore(cwd, &["import", "c", "clash", "--sanitize"], None);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped t/a_b: its sanitized name t/a_b is already that of t/a b"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&perfstore(cwd, &["get", "c", "t", "a_b"], None)),
        "first"
    );

    let clean = perfstore(cwd, &["import", "s2", "in/t", "--sanitize"], None);
    assert_eq!(code(&clean), 1, "files directly in DIR have no target");
    write(cwd, "good/t/a.txt", b"a");
    let out = perfstore(cwd, &["import", "g", "good"], None);
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
}

#[test]
fn rm_all_deletes_a_whole_session_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    for (s, t, k) in [
        ("s", "a", "results/m.json"),
        ("s", "a", "r.md"),
        ("s", "b", "x"),
        ("s2", "a", "results/m.json"),
        ("other", "s", "x"),
    ] {
        let out = perfstore(cwd, &["put", s, t, k], Some(b"1"));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    write(cwd, "in/t/k", b"imported");
    assert_eq!(code(&perfstore(cwd, &["import", "s", "in"], None)), 0);
    assert_eq!(code(&perfstore(cwd, &["session", "info", "s"], None)), 0);

    let out = perfstore(cwd, &["rm", "s", "--all"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "deleted session s: 4 artifacts in 3 targets\n"
    );
    assert_eq!(stdout(&perfstore(cwd, &["ls"], None)), "other\ns2\n");
    assert_eq!(code(&perfstore(cwd, &["session", "info", "s"], None)), 3);
    assert_eq!(code(&perfstore(cwd, &["ls", "s"], None)), 3);
    assert_eq!(
        stdout(&perfstore(cwd, &["ls", "s2", "a"], None)),
        "results/m.json\n"
    );
    assert_eq!(
        stdout(&perfstore(cwd, &["get", "other", "s", "x"], None)),
        "1"
    );
    assert_eq!(code(&perfstore(cwd, &["rm", "s", "--all"], None)), 3);

    // A session a baseline points at is kept until the baseline goes.
    assert_eq!(
        code(&perfstore(cwd, &["baseline", "set", "main", "s2"], None)),
        0
    );
    let out = perfstore(cwd, &["rm", "s2", "--all"], None);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("@main") && stderr(&out).contains("perfstore baseline rm main"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&perfstore(cwd, &["ls", "s2"], None)), "a\n");
    assert_eq!(code(&perfstore(cwd, &["baseline", "rm", "main"], None)), 0);
    let out = perfstore(cwd, &["rm", "s2", "--all"], None);
    assert_eq!(stderr(&out), "deleted session s2: 1 artifact in 1 target\n");

    assert_eq!(
        code(&perfstore(cwd, &["rm", "other"], None)),
        2,
        "--all is required"
    );
    assert_eq!(
        code(&perfstore(cwd, &["rm", "other", "s", "x", "--all"], None)),
        2
    );
}

#[test]
fn counts_are_pluralised() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    perfstore(cwd, &["put", "s", "one", "k"], Some(b"x"));
    perfstore(cwd, &["put", "s", "two", "k1"], Some(b"x"));
    perfstore(cwd, &["put", "s", "two", "k2"], Some(b"x"));
    let out = perfstore(cwd, &["rm", "s", "one", "--all"], None);
    assert_eq!(stderr(&out), "deleted 1 artifact of s/one\n");
    let out = perfstore(cwd, &["rm", "s", "two", "--all"], None);
    assert_eq!(stderr(&out), "deleted 2 artifacts of s/two\n");

    write(cwd, "in/t/a", b"a");
    write(cwd, "in/t/b", b"b");
    assert_eq!(code(&perfstore(cwd, &["import", "e", "in"], None)), 0);
    assert_eq!(code(&perfstore(cwd, &["export", "e", "out"], None)), 0);
    write(cwd, "out/t/a", b"edited");
    let out = perfstore(cwd, &["export", "e", "out"], None);
    assert!(
        stderr(&out).contains("1 existing file differs from"),
        "{}",
        stderr(&out)
    );
    write(cwd, "out/t/b", b"edited");
    let out = perfstore(cwd, &["export", "e", "out"], None);
    assert!(
        stderr(&out).contains("2 existing files differ from"),
        "{}",
        stderr(&out)
    );
}

/// Writes `script` to a file and checks it with `shell -n`, when that shell is installed (CI
/// installs zsh and fish with scripts/completion-shells.sh and sets PERFSTORE_REQUIRE_SHELLS).
fn syntax_check(cwd: &Path, shell: &str, script: &str) -> bool {
    let Ok(status) = Command::new(shell).arg("--version").output() else {
        assert!(
            std::env::var_os("PERFSTORE_REQUIRE_SHELLS").is_none(),
            "{shell} is not installed (scripts/completion-shells.sh installs it)"
        );
        return false;
    };
    assert!(status.status.success());
    let file = cwd.join(format!("completions.{shell}"));
    std::fs::write(&file, script).unwrap();
    let out = Command::new(shell).arg("-n").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{shell} -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn completion_scripts_parse_and_know_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let script = |shell: &str| {
        let out = perfstore(cwd, &["completions", shell], None);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    let bash = script("bash");
    assert!(syntax_check(cwd, "bash", &bash), "bash is required");
    assert!(bash.contains("complete -F _perfstore"), "{bash}");
    for command in ["quickstart", "import", "completions", "baseline"] {
        assert!(bash.contains(command), "{command} missing");
    }
    // The completion really completes: source it and ask for `perfstore qu<TAB>`.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(perfstore qu); COMP_CWORD=1; _perfstore perfstore qu perfstore; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            cwd.join("completions.bash").display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "quickstart\n");

    let zsh = script("zsh");
    assert!(zsh.starts_with("#compdef perfstore"), "{zsh}");
    syntax_check(cwd, "zsh", &zsh);
    let fish = script("fish");
    assert!(fish.contains("complete -c perfstore"), "{fish}");
    syntax_check(cwd, "fish", &fish);
    // `serve` completes its own options, not the client's.
    let serve_lines: Vec<&str> = fish
        .lines()
        .filter(|l| l.contains("__fish_perfstore_using_subcommand serve"))
        .collect();
    assert!(
        serve_lines.iter().any(|l| l.contains("-l storage")),
        "{fish}"
    );
    assert!(!serve_lines.iter().any(|l| l.contains("-l mode")), "{fish}");

    let out = perfstore(cwd, &["completions", "tcsh"], None);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

/// On a terminal (a pseudo-terminal from util-linux `script`) `serve` logs in colour, unless
/// NO_COLOR is set; the pipe case is `serve_announces_the_real_port_…` above.
#[cfg(target_os = "linux")]
#[test]
fn serve_colours_its_log_only_on_a_terminal_without_no_color() {
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "`script` (util-linux) is needed to give perfstore a terminal"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_perfstore");
    let run = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qfec",
            &format!("timeout -s INT 2 '{bin}' serve --port 0 --no-auth"),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = run(None);
    assert!(
        coloured.contains("listening on http://127.0.0.1:"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\u{1b}["),
        "no colour on a terminal: {coloured:?}"
    );
    let plain = run(Some("1"));
    assert!(plain.contains("cache service listening"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain:?}"
    );
}
