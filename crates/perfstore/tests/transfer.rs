//! Import, export and copy over the real backends: memory, local disk and the cache service
//! (in-process and on 127.0.0.1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cache_client::{CacheClient, LocalServer};
use perfstore::cache_service::CacheServiceStorage;
use perfstore::session::{ensure_session, session_meta};
use perfstore::transfer::{
    CopyOptions, ExportOptions, ImportOptions, Progress, ProgressFn, Stage, TransferError,
    copy_session, export_dir, import_dir,
};
use perfstore::{
    Artifact, ArtifactKind, ArtifactMeta, ArtifactPath, Capabilities, Key, KeyPrefix, SessionName,
    Storage, Store, TargetName, TargetPath,
};
use serde_json::json;
use tempfile::TempDir;

const NS: &str = "perf-results";

/// A store of each kind; the temp dir keeps the local one alive.
fn backends() -> Vec<(&'static str, Store, Option<TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    vec![
        ("memory", Store::memory(), None),
        ("local", Store::local(dir.path().join("store")), Some(dir)),
        (
            "cache_service",
            Store::new(CacheServiceStorage::new(CacheClient::in_memory(), NS)),
            None,
        ),
    ]
}

fn session(name: &str) -> SessionName {
    SessionName::new(name).unwrap()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let file = root.join(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, bytes).unwrap();
}

/// Every regular file below `dir`, relative with `/`, and its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).unwrap();
            let rel = rel
                .to_string_lossy()
                .replace(std::path::MAIN_SEPARATOR, "/");
            files.insert(rel, std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

fn canonical(value: serde_json::Value) -> Vec<u8> {
    Artifact::json(&value).into_bytes().to_vec()
}

/// A folder with every kind of content: binary, empty, nested, canonical and non-canonical
/// JSON (object, array, scalar, floats), Unicode text, a file big enough to take a while.
fn sample_dir() -> (TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let files: BTreeMap<String, Vec<u8>> = [
        ("parser/bin/blob.bin", vec![0u8, 255, 1, 254, 0, 0x80]),
        ("parser/bin/big.bin", big),
        ("parser/empty.txt", Vec::new()),
        ("parser/a/b/c/d/deep.log", b"deep\nlines\n".to_vec()),
        (
            "parser/results/metrics.json",
            canonical(json!({"p50_ms": 1.5, "p99_ms": 9.25, "tiny": 1.5e-7, "name": "café"})),
        ),
        (
            "parser/results/compact.json",
            br#"{"a":1,"b":[1,2]}"#.to_vec(),
        ),
        (
            "parser/results/array.json",
            canonical(json!([1, 2.5, null])),
        ),
        ("parser/results/scalar.json", b"42".to_vec()),
        (
            "parser/results/trailing-newline.json",
            b"{\n    \"a\": 1\n}\n".to_vec(),
        ),
        (
            "render/report.md",
            "# Résumé ✓ 日本語\n\nnaïve — ok\n".as_bytes().to_vec(),
        ),
        ("render/page.html", b"<html><body>hi</body></html>".to_vec()),
        ("render/.hidden", b"dot files are keys too".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (rel, bytes) in &files {
        write(dir.path(), rel, bytes);
    }
    (dir, files)
}

#[tokio::test]
async fn import_then_export_is_byte_identical_on_every_backend() {
    let (input, files) = sample_dir();
    for (name, store, _keep) in backends() {
        let run = session("run1");
        let labels = BTreeMap::from([("commit".to_owned(), "abc123".to_owned())]);
        let options = ImportOptions {
            labels: labels.clone(),
            ..ImportOptions::default()
        };
        let report = import_dir(&store, &run, input.path(), &options)
            .await
            .unwrap();
        assert_eq!(report.moved.items, files.len() as u64, "{name}: {report:?}");
        let total: u64 = files.values().map(|b| b.len() as u64).sum();
        assert_eq!(report.moved.bytes, total, "{name}");
        assert_eq!(report.unchanged.items + report.failed.items, 0, "{name}");
        assert!(report.skipped.is_empty(), "{name}: {:?}", report.skipped);

        // Names and kinds as stored.
        assert_eq!(
            store.list_targets(&run).await.unwrap(),
            [
                TargetName::new("parser").unwrap(),
                TargetName::new("render").unwrap()
            ],
            "{name}"
        );
        let kind = |rel: &str| {
            let (t, k) = rel.split_once('/').unwrap();
            let path = ArtifactPath::parse("run1", t, k).unwrap();
            let store = store.clone();
            async move { store.head(&path).await.unwrap().unwrap().kind }
        };
        assert_eq!(
            kind("parser/results/metrics.json").await,
            ArtifactKind::Json,
            "{name}"
        );
        assert_eq!(
            kind("parser/results/compact.json").await,
            ArtifactKind::Text,
            "{name}"
        );
        assert_eq!(
            kind("parser/bin/blob.bin").await,
            ArtifactKind::Binary,
            "{name}"
        );
        assert_eq!(kind("render/report.md").await, ArtifactKind::Text, "{name}");
        let meta = session_meta(&store, &run).await.unwrap().expect("metadata");
        assert_eq!(meta.labels, labels, "{name}");

        let out = tempfile::tempdir().unwrap();
        let exported = export_dir(&store, &run, out.path(), &ExportOptions::default())
            .await
            .unwrap();
        assert_eq!(
            exported.moved.items,
            files.len() as u64,
            "{name}: {exported:?}"
        );
        assert_eq!(exported.moved.bytes, total, "{name}");
        assert_eq!(
            tree(out.path()),
            files,
            "{name}: the export differs from the input"
        );

        // Exporting again writes nothing: every file holds the stored bytes already.
        let again = export_dir(&store, &run, out.path(), &ExportOptions::default())
            .await
            .unwrap();
        assert_eq!(
            (
                again.moved.items,
                again.unchanged.items,
                again.unchanged.bytes
            ),
            (0, files.len() as u64, total),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_second_import_only_moves_what_is_missing_or_different() {
    let (input, files) = sample_dir();
    let n = files.len() as u64;
    for (name, store, _keep) in backends() {
        let run = session("resume");
        let first = import_dir(&store, &run, input.path(), &ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(first.moved.items, n, "{name}");

        // As if a crash had lost one artifact and left another half-written.
        let deleted = ArtifactPath::parse("resume", "parser", "bin/big.bin").unwrap();
        let corrupt = ArtifactPath::parse("resume", "render", "report.md").unwrap();
        assert!(store.delete(&deleted).await.unwrap());
        store.put(&corrupt, Artifact::text("# Rés")).await.unwrap();

        let second = import_dir(&store, &run, input.path(), &ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(second.moved.items, 2, "{name}: {second:?}");
        assert_eq!(
            second.moved.bytes,
            (files["parser/bin/big.bin"].len() + files["render/report.md"].len()) as u64,
            "{name}"
        );
        assert_eq!(second.unchanged.items, n - 2, "{name}");
        assert_eq!(
            store.get(&corrupt).await.unwrap().unwrap().bytes().as_ref(),
            files["render/report.md"].as_slice(),
            "{name}"
        );

        let third = import_dir(&store, &run, input.path(), &ImportOptions::default())
            .await
            .unwrap();
        assert_eq!((third.moved.items, third.unchanged.items), (0, n), "{name}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn files_that_are_not_artifacts_are_reported_and_nothing_outside_is_read_or_written() {
    use std::os::unix::ffi::OsStrExt;

    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    let outside = root.path().join("outside");
    write(&outside, "secret.txt", b"do not import me");
    write(&input, "t/ok.txt", b"fine");
    write(&input, "t/sp ace.txt", b"space in key");
    write(&input, "bad target/k.txt", b"bad target");
    write(&input, "loose.txt", b"not in a target");
    write(&input, ".perfstore/session.json", b"{}");
    let long = format!("t/{}/{}", "a".repeat(200), "b".repeat(100));
    write(&input, &long, b"key too long");
    std::os::unix::fs::symlink(outside.join("secret.txt"), input.join("t/link.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, input.join("t/linkdir")).unwrap();
    std::os::unix::fs::symlink(&outside, input.join("linked-target")).unwrap();
    let non_utf8 = input
        .join("t")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&non_utf8, b"latin-1 name").unwrap();
    let before_outside = tree(&outside);
    let before_input = tree(&input);

    for (name, store, keep) in backends() {
        let run = session("names");
        let report = import_dir(&store, &run, &input, &ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(report.moved.items, 1, "{name}: {report:?}");
        assert_eq!(report.failed.items, 0, "{name}: {report:?}");
        let skipped: BTreeMap<&str, &str> = report
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        let expect = [
            (".perfstore/session.json", "target name"),
            ("bad target/k.txt", "target name"),
            ("linked-target", "symbolic link"),
            ("loose.txt", "not inside a target folder"),
            ("t/caf\u{fffd}.txt", "not UTF-8"),
            ("t/link.txt", "symbolic link"),
            ("t/linkdir", "symbolic link"),
            ("t/sp ace.txt", "character ' '"),
            (long.as_str(), "maximum is 256"),
        ];
        assert_eq!(skipped.len(), expect.len(), "{name}: {skipped:#?}");
        for (path, reason) in expect {
            let got = skipped
                .get(path)
                .unwrap_or_else(|| panic!("{name}: {path} not reported"));
            assert!(got.contains(reason), "{name}: {path}: {got}");
        }
        // Only the valid file is stored; nothing of the outside folder was read.
        let t = TargetPath::parse("names", "t").unwrap();
        assert_eq!(
            store.list_keys(&t, &KeyPrefix::all()).await.unwrap(),
            ["ok.txt"]
        );
        assert_eq!(store.list_targets(&run).await.unwrap().len(), 1, "{name}");
        if let Some(dir) = keep {
            // The local store holds the artifact and the session record, nothing else.
            let stored: Vec<String> = tree(&dir.path().join("store")).into_keys().collect();
            assert_eq!(
                stored,
                [
                    "sessions/names/targets/.perfstore/session.json",
                    "sessions/names/targets/t/ok.txt"
                ],
                "{name}"
            );
        }
    }
    assert_eq!(tree(&outside), before_outside);
    assert_eq!(
        tree(&input),
        before_input,
        "the import wrote into its source"
    );
}

#[tokio::test]
async fn missing_or_wrong_folders_and_sessions_are_errors() {
    let store = Store::memory();
    let root = tempfile::tempdir().unwrap();
    let err = import_dir(
        &store,
        &session("s"),
        &root.path().join("nope"),
        &ImportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TransferError::DirNotFound { .. }), "{err}");
    assert!(err.is_not_found() && !err.is_invalid_input());
    write(root.path(), "file", b"x");
    let err = import_dir(
        &store,
        &session("s"),
        &root.path().join("file"),
        &ImportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TransferError::NotADir { .. }), "{err}");
    assert!(err.is_invalid_input());
    assert!(
        store.list_sessions().await.unwrap().is_empty(),
        "nothing recorded"
    );

    let err = export_dir(
        &store,
        &session("ghost"),
        &root.path().join("out"),
        &ExportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        !root.path().join("out").exists(),
        "an unknown session creates no folder"
    );
    let err = copy_session(
        &store,
        &Store::memory(),
        &session("ghost"),
        &CopyOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("ghost"), "{err}");
}

#[tokio::test]
async fn export_never_clobbers_a_different_file_unless_told_to() {
    for (name, store, _keep) in backends() {
        let t = store.target("s", "t").unwrap();
        t.save_string("a.txt", "stored a").await.unwrap();
        t.save_string("b/c.txt", "stored c").await.unwrap();
        t.save_json("d.json", &json!({"x": 1})).await.unwrap();
        let run = session("s");

        let out = tempfile::tempdir().unwrap();
        write(out.path(), "t/a.txt", b"someone else's a");
        write(out.path(), "t/d.json", &canonical(json!({"x": 1})));
        let err = export_dir(&store, &run, out.path(), &ExportOptions::default())
            .await
            .unwrap_err();
        match &err {
            TransferError::WouldOverwrite { files } => {
                assert_eq!(files, &[out.path().join("t").join("a.txt")], "{name}")
            }
            other => panic!("{name}: {other}"),
        }
        assert!(err.to_string().contains("--overwrite"), "{err}");
        // Nothing was written: the other artifact is not there, the different file is intact.
        assert_eq!(
            tree(out.path()).into_keys().collect::<Vec<_>>(),
            ["t/a.txt", "t/d.json"],
            "{name}"
        );
        assert_eq!(
            std::fs::read(out.path().join("t/a.txt")).unwrap(),
            b"someone else's a"
        );

        let options = ExportOptions {
            overwrite: true,
            ..ExportOptions::default()
        };
        let report = export_dir(&store, &run, out.path(), &options)
            .await
            .unwrap();
        assert_eq!(
            (report.moved.items, report.replaced, report.unchanged.items),
            (2, 1, 1),
            "{name}: {report:?}"
        );
        assert_eq!(
            std::fs::read(out.path().join("t/a.txt")).unwrap(),
            b"stored a"
        );
        assert_eq!(
            std::fs::read(out.path().join("t/b/c.txt")).unwrap(),
            b"stored c"
        );
        // No temp file is left behind.
        assert_eq!(tree(out.path()).len(), 3, "{name}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn export_does_not_write_through_symlinks() {
    let store = Store::memory();
    let t = store.target("s", "t").unwrap();
    t.save_string("sub/x.txt", "x").await.unwrap();
    t.save_string("y.txt", "y").await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(out.join("t")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("t/sub")).unwrap();

    let report = export_dir(&store, &session("s"), &out, &ExportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.moved.items, report.failed.items),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(report.failures[0].item, "t/sub/x.txt");
    assert!(
        report.failures[0].reason.contains("symbolic link"),
        "{report:?}"
    );
    assert!(tree(&outside).is_empty(), "wrote outside the folder");
    assert_eq!(std::fs::read(out.join("t/y.txt")).unwrap(), b"y");
}

/// Every artifact of `run` in `store`, with its bytes.
async fn contents(store: &Store, run: &SessionName) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for target in store.list_targets(run).await.unwrap() {
        let tp = TargetPath::new(run.clone(), target.clone());
        for key in store.list_keys(&tp, &KeyPrefix::all()).await.unwrap() {
            let bytes = store.get(&tp.artifact(key.clone())).await.unwrap().unwrap();
            out.insert(format!("{target}/{key}"), bytes.bytes().to_vec());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_only_differences_between_every_backend_and_carries_the_metadata() {
    let server = LocalServer::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = Store::local(dir.path().join("a"));
    let cache = Store::new(CacheServiceStorage::new(server.client(), NS));
    let memory = Store::memory();
    let local_again = Store::local(dir.path().join("b"));
    let run = session("nightly");

    let (input, files) = sample_dir();
    let labels = BTreeMap::from([("branch".to_owned(), "main".to_owned())]);
    let options = ImportOptions {
        labels,
        ..ImportOptions::default()
    };
    import_dir(&local, &run, input.path(), &options)
        .await
        .unwrap();
    let meta = session_meta(&local, &run).await.unwrap().expect("metadata");
    let n = files.len() as u64;

    let chain = [(&local, &cache), (&cache, &memory), (&memory, &local_again)];
    for (i, (from, to)) in chain.iter().enumerate() {
        let first = copy_session(from, to, &run, &CopyOptions::default())
            .await
            .unwrap();
        assert_eq!(
            (first.moved.items, first.unchanged.items),
            (n, 0),
            "hop {i}: {first:?}"
        );
        assert_eq!(first.records_moved, 1, "hop {i}");
        assert_eq!(first.failed.items, 0, "hop {i}: {:?}", first.failures);
        assert_eq!(
            contents(to, &run).await,
            contents(&local, &run).await,
            "hop {i}"
        );
        assert_eq!(
            session_meta(to, &run).await.unwrap().as_ref(),
            Some(&meta),
            "hop {i}"
        );
        // Idempotent: nothing moves the second time.
        let second = copy_session(from, to, &run, &CopyOptions::default())
            .await
            .unwrap();
        assert_eq!(
            (
                second.moved.items,
                second.unchanged.items,
                second.records_moved
            ),
            (0, n, 0),
            "hop {i}: {second:?}"
        );
    }
    // The round trip gives the imported files back, byte for byte.
    let out = tempfile::tempdir().unwrap();
    export_dir(&local_again, &run, out.path(), &ExportOptions::default())
        .await
        .unwrap();
    assert_eq!(tree(out.path()), files);

    // Change one artifact and add one in the last store; copying back moves exactly those.
    let t = local_again.target("nightly", "parser").unwrap();
    t.save_string("results/compact.json", "{\"a\":2}")
        .await
        .unwrap();
    t.save_bytes("bin/new.bin", vec![9u8; 10]).await.unwrap();
    for to in [&memory, &cache, &local] {
        let back = copy_session(&local_again, to, &run, &CopyOptions::default())
            .await
            .unwrap();
        assert_eq!((back.moved.items, back.moved.bytes), (2, 17), "{back:?}");
        assert_eq!(back.unchanged.items, n - 1);
        assert_eq!(contents(to, &run).await, contents(&local_again, &run).await);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn prune_deletes_what_the_source_lacks_and_only_with_prune() {
    for (name, to, _keep) in backends() {
        let from = Store::memory();
        let run = session("s");
        let src = from.target("s", "kept").unwrap();
        src.save_string("a.txt", "a").await.unwrap();
        src.save_string("x", "now a file").await.unwrap();
        ensure_session(&from, &run, &BTreeMap::new()).await.unwrap();

        let dst = to.target("s", "kept").unwrap();
        dst.save_string("stale.txt", "old").await.unwrap();
        // In the way of `x` on backends where a key cannot be a file and a folder at once.
        dst.save_string("x/y", "was a folder").await.unwrap();
        to.target("s", "gone")
            .unwrap()
            .save_string("old.txt", "old target")
            .await
            .unwrap();
        // Another session is never touched.
        to.target("other", "t")
            .unwrap()
            .save_string("k", "v")
            .await
            .unwrap();

        let plain = copy_session(&from, &to, &run, &CopyOptions::default())
            .await
            .unwrap();
        assert_eq!(plain.pruned, 0, "{name}");
        assert!(dst.exists("stale.txt").await.unwrap(), "{name}");

        let options = CopyOptions {
            prune: true,
            ..CopyOptions::default()
        };
        let report = copy_session(&from, &to, &run, &options).await.unwrap();
        assert_eq!(report.pruned, 3, "{name}: {report:?}");
        assert_eq!(report.failed.items, 0, "{name}: {report:?}");
        assert_eq!(
            contents(&to, &run).await,
            contents(&from, &run).await,
            "{name}"
        );
        assert_eq!(
            to.list_targets(&run).await.unwrap(),
            [TargetName::new("kept").unwrap()],
            "{name}"
        );
        assert!(session_meta(&to, &run).await.unwrap().is_some(), "{name}");
        assert!(to.target("other", "t").unwrap().exists("k").await.unwrap());
        let again = copy_session(&from, &to, &run, &options).await.unwrap();
        assert_eq!((again.moved.items, again.pruned), (0, 0), "{name}");
    }
}

#[tokio::test]
async fn progress_reports_reach_their_totals() {
    let (input, files) = sample_dir();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let progress = Some(ProgressFn::new(move |p| sink.lock().unwrap().push(*p)));
    let store = Store::memory();
    let run = session("p");
    let options = ImportOptions {
        progress: progress.clone(),
        ..ImportOptions::default()
    };
    import_dir(&store, &run, input.path(), &options)
        .await
        .unwrap();
    let total: u64 = files.values().map(|b| b.len() as u64).sum();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.first().unwrap().stage, Stage::Scanning);
        let last = seen.last().unwrap();
        assert_eq!(last.stage, Stage::Transferring);
        assert_eq!(
            (last.items_done, last.items_total),
            (files.len() as u64, files.len() as u64)
        );
        assert_eq!((last.bytes_done, last.bytes_total), (total, total));
        // Monotonic within the stage.
        let transfer: Vec<_> = seen
            .iter()
            .filter(|p| p.stage == Stage::Transferring)
            .collect();
        assert_eq!(transfer.len(), files.len() + 1);
        assert!(
            transfer
                .windows(2)
                .all(|w| w[0].bytes_done <= w[1].bytes_done)
        );
    }

    seen.lock().unwrap().clear();
    let options = CopyOptions {
        progress,
        ..CopyOptions::default()
    };
    copy_session(&store, &Store::memory(), &run, &options)
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let checking = seen.iter().rfind(|p| p.stage == Stage::Checking).unwrap();
    // Artifacts plus the session record.
    assert_eq!(checking.items_done, files.len() as u64 + 1);
    let last = seen.last().unwrap();
    assert_eq!(
        (last.stage, last.bytes_done),
        (Stage::Transferring, last.bytes_total)
    );
    assert!(last.bytes_total >= total);
}

/// A backend that counts how many puts run at once (each takes a little while).
#[derive(Debug)]
struct CountingPuts {
    inner: Store,
    now: AtomicUsize,
    max: AtomicUsize,
}

#[async_trait]
impl Storage for CountingPuts {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn put(
        &self,
        path: &ArtifactPath,
        artifact: Artifact,
    ) -> perfstore::Result<ArtifactMeta> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let result = self.inner.put(path, artifact).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        result
    }
    async fn get(&self, path: &ArtifactPath) -> perfstore::Result<Option<Artifact>> {
        self.inner.get(path).await
    }
    async fn delete(&self, path: &ArtifactPath) -> perfstore::Result<bool> {
        self.inner.delete(path).await
    }
    async fn list_keys(
        &self,
        target: &TargetPath,
        prefix: &KeyPrefix,
    ) -> perfstore::Result<Vec<Key>> {
        self.inner.list_keys(target, prefix).await
    }
    async fn list_sessions(&self) -> perfstore::Result<Vec<SessionName>> {
        self.inner.list_sessions().await
    }
    async fn list_targets(&self, session: &SessionName) -> perfstore::Result<Vec<TargetName>> {
        self.inner.list_targets(session).await
    }
    async fn delete_target(&self, target: &TargetPath) -> perfstore::Result<usize> {
        self.inner.delete_target(target).await
    }
}

#[tokio::test]
async fn transfers_run_concurrently_but_never_beyond_the_bound() {
    let input = tempfile::tempdir().unwrap();
    for i in 0..24 {
        write(
            input.path(),
            &format!("t/k{i:02}.txt"),
            format!("v{i}").as_bytes(),
        );
    }
    let counting = Arc::new(CountingPuts {
        inner: Store::memory(),
        now: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
    });
    let store = Store::from_arc(counting.clone());
    let options = ImportOptions {
        concurrency: 3,
        ..ImportOptions::default()
    };
    let report = import_dir(&store, &session("c"), input.path(), &options)
        .await
        .unwrap();
    assert_eq!(report.moved.items, 24);
    assert_eq!(counting.max.load(Ordering::SeqCst), 3);

    counting.max.store(0, Ordering::SeqCst);
    let to = Arc::new(CountingPuts {
        inner: Store::memory(),
        now: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
    });
    let options = CopyOptions {
        concurrency: 5,
        ..CopyOptions::default()
    };
    let copied = copy_session(
        &store,
        &Store::from_arc(to.clone()),
        &session("c"),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(copied.moved.items, 24);
    assert_eq!(to.max.load(Ordering::SeqCst), 5);
}

#[test]
fn paths_in_reports_are_relative() {
    // The report's skipped paths never leak the absolute folder.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let input = tempfile::tempdir().unwrap();
    write(input.path(), "loose.txt", b"x");
    let report = rt
        .block_on(import_dir(
            &Store::memory(),
            &session("r"),
            input.path(),
            &ImportOptions::default(),
        ))
        .unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(
        PathBuf::from(&report.skipped[0].path),
        PathBuf::from("loose.txt")
    );
}

#[tokio::test]
async fn an_item_the_backend_refuses_fails_alone() {
    for (name, store, _keep) in backends() {
        if store.capabilities().file_and_folder_keys {
            continue; // `a` and `a/b` can coexist there: nothing to refuse.
        }
        // The store has `a/b`, so a file `a` cannot be stored; the other file still is.
        store
            .target("s", "t")
            .unwrap()
            .save_string("a/b", "folder")
            .await
            .unwrap();
        let input = tempfile::tempdir().unwrap();
        write(input.path(), "t/a", b"file");
        write(input.path(), "t/c", b"other");
        let report = import_dir(
            &store,
            &session("s"),
            input.path(),
            &ImportOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.moved.items, 1, "{name}: {report:?}");
        assert_eq!((report.failed.items, report.failed.bytes), (1, 4), "{name}");
        assert_eq!(report.failures[0].item, "t/a", "{name}");
        assert!(
            report.failures[0].reason.contains("cannot store"),
            "{name}: {report:?}"
        );
    }
}
