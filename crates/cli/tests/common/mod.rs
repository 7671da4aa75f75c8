//! Helpers shared by the CLI integration tests: run the real `perfstore` binary.

#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `perfstore` in `cwd` with a clean storage environment and optional stdin.
pub fn perfstore(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfstore"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("PERF_STORAGE_MODE")
        .env_remove("PERF_LOCAL_STORAGE_PATH")
        .env_remove("PERF_CACHE_NAMESPACE")
        .env_remove("URL__TARGET_SERVER__CACHE_SERVICE")
        .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME")
        .env_remove("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn perfstore");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().expect("wait for perfstore")
}

/// The exit code.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}
