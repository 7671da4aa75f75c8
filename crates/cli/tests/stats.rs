//! `perfstore --stats`: the per-operation table (or JSON) on stderr, stdout untouched.

mod common;

use common::{code, perfstore, stderr, stdout};
use serde_json::Value;

/// The row of the stats table whose operation is one of `ops`, split on whitespace.
fn row<'a>(table: &'a str, ops: &[&str]) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first().is_some_and(|op| ops.contains(op)))
        .unwrap_or_else(|| panic!("no row for {ops:?} in:\n{table}"))
}

#[test]
fn stats_put_prints_the_table_on_stderr_and_get_keeps_stdout_exact() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    // The session's first write also records its metadata (one more put): make it earlier.
    let first = perfstore(dir.path(), &["put", "s", "first", "k"], Some(b"x"));
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let out = perfstore(
        dir.path(),
        &["--stats", "put", "s", "t", "blob.bin"],
        Some(&bytes),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("perfstore --stats: store\nlocal backend"),
        "{err}"
    );
    // `put` buffers or streams, depending on the command: either way one call of 5000 bytes.
    let put = row(&err, &["put", "put_stream"]);
    assert_eq!(put[1..4], ["1", "0", "0"], "count, errors, items: {err}");
    assert_eq!(put[4..6], ["4.9", "KiB"], "{err}");
    assert!(out.stdout.is_empty(), "--stats adds nothing to stdout");

    let out = perfstore(dir.path(), &["--stats", "get", "s", "t", "blob.bin"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, bytes, "stdout is the artifact, byte for byte");
    let err = stderr(&out);
    let get = row(&err, &["get", "get_stream"]);
    assert_eq!(get[1..3], ["1", "0"], "{err}");

    // Without the flag, stderr stays empty.
    let out = perfstore(dir.path(), &["get", "s", "t", "blob.bin"], None);
    assert_eq!(out.stdout, bytes);
    assert_eq!(stderr(&out), "");
}

#[test]
fn stats_are_printed_when_the_command_fails_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = perfstore(dir.path(), &["--stats", "get", "s", "t", "missing"], None);
    assert_eq!(code(&out), 3);
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let get = row(&err, &["get", "get_stream"]);
    assert_eq!(
        get[1..3],
        ["1", "0"],
        "a missing artifact is no error: {err}"
    );
    assert!(
        err.lines()
            .any(|l| l == "perfstore: artifact s/t/missing not found"),
        "{err}"
    );
}

#[test]
fn stats_format_json_is_one_document_with_exact_numbers() {
    let dir = tempfile::tempdir().unwrap();
    perfstore(dir.path(), &["put", "s", "t", "a"], Some(b"1"));
    perfstore(dir.path(), &["put", "s", "t", "b"], Some(b"2"));
    let out = perfstore(
        dir.path(),
        &["ls", "s", "t", "--stats-format", "json"],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "a\nb\n");
    let report: Value = serde_json::from_str(&stderr(&out)).unwrap();
    let store = &report["stores"][0];
    assert_eq!(store["store"], "store");
    assert_eq!(store["backend"], "local");
    let ops = store["ops"].as_array().unwrap();
    let list = ops.iter().find(|op| op["op"] == "list_keys").unwrap();
    assert_eq!(list["count"], 1);
    assert_eq!(list["errors"], 0);
    assert_eq!(list["items"], 2);
    assert_eq!(list["latency"]["count"], 1);
    assert!(list["latency"]["max_ns"].as_u64().unwrap() > 0);
}

#[test]
fn stats_of_copy_cover_the_source_and_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    perfstore(dir.path(), &["put", "s", "t", "a"], Some(b"hello"));
    let out = perfstore(
        dir.path(),
        &[
            "--stats",
            "copy",
            "s",
            "--to-mode",
            "local",
            "--to-path",
            "mirror",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let tables: Vec<&str> = err.split("perfstore --stats: ").skip(1).collect();
    assert_eq!(tables.len(), 2, "{err}");
    assert!(tables[0].starts_with("source\n"), "{err}");
    assert!(tables[1].starts_with("destination\n"), "{err}");
    assert!(
        tables[1].lines().any(|l| l.starts_with("put")),
        "the destination was written: {err}"
    );
}

#[test]
fn stats_of_a_command_that_opens_no_store_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // A configuration error fails before any store is opened.
    let out = perfstore(dir.path(), &["--stats", "--mode", "nowhere", "ls"], None);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(lines[0], "perfstore --stats: the command opened no store");
    assert!(
        lines[1].starts_with("perfstore: invalid storage configuration"),
        "{err}"
    );
}
