//! What only the local backend promises: the original layout and file format, a tree written by
//! the original Python module read as-is, atomic writes that leave no visible debris, and no
//! write outside the root.

use std::path::{Path, PathBuf};

use perfstore::local::{LocalOptions, LocalStorage};
use perfstore::{
    ArtifactKind, ArtifactPath, Error, Key, KeyPrefix, SessionName, StorageExt, Store, TargetName,
    TargetPath,
};
use serde_json::json;

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/original-tree")
}

fn path(s: &str, t: &str, k: &str) -> ArtifactPath {
    ArtifactPath::parse(s, t, k).unwrap()
}

#[tokio::test]
async fn a_tree_written_by_the_original_module_is_read_as_is() {
    let store = Store::local(fixture_root());
    let sessions = store.list_sessions().await.unwrap();
    assert_eq!(
        sessions,
        [
            SessionName::new("baseline").unwrap(),
            SessionName::new("phase-e-3").unwrap()
        ]
    );
    let targets = store.list_targets(&sessions[1]).await.unwrap();
    assert_eq!(
        targets,
        [
            TargetName::new("example_com_page1").unwrap(),
            TargetName::new("example_com_page2").unwrap()
        ]
    );

    let page1 = store.target("phase-e-3", "example_com_page1").unwrap();
    let keys: Vec<String> = page1
        .list_keys("")
        .await
        .unwrap()
        .into_iter()
        .map(Key::into_string)
        .collect();
    assert_eq!(
        keys,
        [
            "graphs/parsed.json",
            "reports/summary.md",
            "results/metrics.json",
            "results/quick/a.json",
            "source/original.html"
        ]
    );
    let metrics = page1
        .load_json("results/metrics.json")
        .await
        .unwrap()
        .unwrap();
    let expected = json!({
        "url": "https://example.com/page1", "nodes": 412, "parse_ms": 18.5,
        "ratio": 1.5e-7, "big": 10000000000000000000000_u128, "ok": true, "missing": null,
        "tags": ["café ☕", "𝄞"], "nested": {"z": 1, "a": [1, 2.0, {}]}
    });
    assert_eq!(metrics, expected);
    assert_eq!(
        page1.load_json("results/quick/a.json").await.unwrap(),
        Some(json!({}))
    );
    assert_eq!(
        page1.load_json("graphs/parsed.json").await.unwrap(),
        Some(json!([1, 2, 3]))
    );
    assert_eq!(
        page1
            .load_string("source/original.html")
            .await
            .unwrap()
            .as_deref(),
        Some("<html><body><p>café ☕</p></body></html>")
    );
    assert_eq!(
        page1
            .head("results/metrics.json")
            .await
            .unwrap()
            .unwrap()
            .kind,
        ArtifactKind::Json
    );
    assert_eq!(
        page1
            .head("reports/summary.md")
            .await
            .unwrap()
            .unwrap()
            .kind,
        ArtifactKind::Text
    );
    let empty = store.target("baseline", "example_com_page1").unwrap();
    assert!(empty.exists("reports/summary.md").await.unwrap());
    assert_eq!(
        empty
            .load_string("reports/summary.md")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
}

#[tokio::test]
async fn our_json_files_are_byte_identical_to_the_original_modules() {
    let original =
        fixture_root().join("sessions/phase-e-3/targets/example_com_page1/results/metrics.json");
    let value = Store::local(fixture_root())
        .load_json(&path(
            "phase-e-3",
            "example_com_page1",
            "results/metrics.json",
        ))
        .await
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStorage::new(dir.path());
    store
        .save_json(
            &path("phase-e-3", "example_com_page1", "results/metrics.json"),
            &value,
        )
        .await
        .unwrap();
    let ours = dir
        .path()
        .join("sessions/phase-e-3/targets/example_com_page1/results/metrics.json");
    assert_eq!(
        std::fs::read(ours).unwrap(),
        std::fs::read(original).unwrap()
    );
}

#[tokio::test]
async fn layout_is_root_sessions_session_targets_target_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("my_session", "my_target").unwrap();
    t.save_json("deep/nested/path/data.json", &json!({"a": 1}))
        .await
        .unwrap();
    t.save_string("reports/r.md", "café ☕").await.unwrap();
    let base = dir.path().join("sessions/my_session/targets/my_target");
    assert_eq!(
        std::fs::read_to_string(base.join("deep/nested/path/data.json")).unwrap(),
        "{\n    \"a\": 1\n}"
    );
    assert_eq!(
        std::fs::read_to_string(base.join("reports/r.md")).unwrap(),
        "café ☕"
    );
    let local = LocalStorage::new(dir.path());
    assert_eq!(
        local.file_path(&path("my_session", "my_target", "reports/r.md")),
        base.join("reports/r.md")
    );
}

#[tokio::test]
async fn leftover_temp_files_and_foreign_files_are_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    t.save_string("results/a.json", "x").await.unwrap();
    let folder = dir.path().join("sessions/s/targets/t/results");
    // What a crash between create and rename leaves behind, and files no key can name.
    std::fs::write(folder.join(".~perfstore-Ab12Cd.tmp"), "half writ").unwrap();
    std::fs::write(folder.join("with space.txt"), "x").unwrap();
    std::fs::create_dir_all(dir.path().join("sessions/s/targets/.~perfstore-deleting-1")).unwrap();
    std::fs::create_dir_all(dir.path().join("sessions/bad name/targets/t")).unwrap();
    let keys: Vec<String> = t
        .list_keys("")
        .await
        .unwrap()
        .into_iter()
        .map(Key::into_string)
        .collect();
    assert_eq!(keys, ["results/a.json"]);
    assert_eq!(
        store
            .list_targets(&SessionName::new("s").unwrap())
            .await
            .unwrap(),
        [TargetName::new("t").unwrap()]
    );
    assert_eq!(
        store.list_sessions().await.unwrap(),
        [SessionName::new("s").unwrap()]
    );
    // A later write to the same folder still works and still lists one key per artifact.
    t.save_string("results/a.json", "y").await.unwrap();
    assert_eq!(t.list_keys("results/").await.unwrap().len(), 1);
}

#[tokio::test]
async fn writes_never_leave_temp_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(LocalStorage::with_options(
        dir.path(),
        LocalOptions {
            fsync: true,
            ..LocalOptions::default()
        },
    ));
    let t = store.target("s", "t").unwrap();
    for i in 0..20 {
        t.save_json("m.json", &json!({"i": i})).await.unwrap();
    }
    // A refused write (conflict) leaves nothing either.
    assert!(matches!(
        t.save_string("m.json/x", "y").await,
        Err(Error::Conflict { .. })
    ));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("sessions/s/targets/t"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["m.json"]);
    assert_eq!(t.load_json("m.json").await.unwrap(), Some(json!({"i": 19})));
}

/// A save of the bytes a file already holds writes nothing (the file keeps its inode); other
/// bytes, even of the same size, replace it, single and in bulk; with fsync every save writes.
#[cfg(unix)]
#[tokio::test]
async fn saving_what_a_file_already_holds_writes_nothing() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let inode = |key: &str| {
        std::fs::metadata(dir.path().join("sessions/s/targets/t").join(key))
            .unwrap()
            .ino()
    };
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    t.save_json("m.json", &json!({"v": 1})).await.unwrap();
    t.save_string("r.txt", "aaaa").await.unwrap();
    let (m, r) = (inode("m.json"), inode("r.txt"));

    t.save_json("m.json", &json!({"v": 1})).await.unwrap();
    assert_eq!(inode("m.json"), m, "identical save kept the file");
    t.save_json("m.json", &json!({"v": 2})).await.unwrap();
    assert_ne!(inode("m.json"), m, "same size, other bytes: replaced");
    assert_eq!(t.load_json("m.json").await.unwrap(), Some(json!({"v": 2})));

    let bulk = |text: &str| vec![("r.txt", perfstore::Artifact::text(text))];
    assert!(t.save_many(bulk("aaaa")).await.iter().all(Result::is_ok));
    assert_eq!(inode("r.txt"), r, "identical bulk save kept the file");
    assert!(t.save_many(bulk("aaab")).await.iter().all(Result::is_ok));
    assert_ne!(inode("r.txt"), r);
    assert_eq!(
        t.load_string("r.txt").await.unwrap().as_deref(),
        Some("aaab")
    );

    let durable = Store::new(LocalStorage::with_options(
        dir.path(),
        LocalOptions {
            fsync: true,
            ..LocalOptions::default()
        },
    ));
    let before = inode("r.txt");
    let t = durable.target("s", "t").unwrap();
    t.save_string("r.txt", "aaab").await.unwrap();
    assert_ne!(inode("r.txt"), before, "with fsync every save writes");
}

#[tokio::test]
async fn delete_prunes_empty_folders_but_keeps_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    t.save_string("a/b/c.txt", "x").await.unwrap();
    t.save_string("a/d.txt", "x").await.unwrap();
    assert!(t.delete("a/b/c.txt").await.unwrap());
    assert!(!dir.path().join("sessions/s/targets/t/a/b").exists());
    assert!(dir.path().join("sessions/s/targets/t/a/d.txt").exists());
    assert!(t.delete("a/d.txt").await.unwrap());
    assert!(!dir.path().join("sessions/s").exists());
    assert!(dir.path().join("sessions").is_dir());
    assert_eq!(t.delete_all().await.unwrap(), 0);
}

#[tokio::test]
async fn prefix_listing_walks_only_the_prefix_folder_and_stays_inside_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    let sibling = store.target("s", "t2").unwrap();
    t.save_string("results/quick/a.json", "x").await.unwrap();
    t.save_string("results/b.json", "x").await.unwrap();
    sibling
        .save_string("results/quick/a.json", "x")
        .await
        .unwrap();
    let target = TargetPath::parse("s", "t").unwrap();
    let list = |p: &'static str| {
        let store = store.clone();
        let target = target.clone();
        async move {
            store
                .list_keys(&target, &KeyPrefix::new(p).unwrap())
                .await
                .unwrap()
                .into_iter()
                .map(Key::into_string)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("results/quick/").await, ["results/quick/a.json"]);
    assert_eq!(list("results/qu").await, ["results/quick/a.json"]);
    assert_eq!(list("../t2/").await, Vec::<String>::new());
    assert_eq!(
        list("results/../../t2/results/").await,
        Vec::<String>::new()
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_in_the_tree_are_not_followed_when_listing() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    t.save_string("a.txt", "x").await.unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("sessions/s/targets/t/link"))
        .unwrap();
    let keys: Vec<String> = t
        .list_keys("")
        .await
        .unwrap()
        .into_iter()
        .map(Key::into_string)
        .collect();
    assert_eq!(keys, ["a.txt"]);
}

#[test]
fn the_blocking_facade_works_from_synchronous_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = perfstore::blocking::BlockingStore::new(Store::local(dir.path())).unwrap();
    let t = store.target("s", "t").unwrap();
    t.save_json("m.json", &json!({"a": 1})).unwrap();
    t.save_string("r.md", "# r").unwrap();
    assert_eq!(t.load_json("m.json").unwrap(), Some(json!({"a": 1})));
    assert_eq!(t.list_keys("").unwrap().len(), 2);
    assert_eq!(
        store.list_targets("s").unwrap(),
        [TargetName::new("t").unwrap()]
    );
    assert!(matches!(
        store.target("s", "../x"),
        Err(Error::InvalidName(_))
    ));
    assert_eq!(t.delete_all().unwrap(), 2);
    assert!(store.list_sessions().unwrap().is_empty());
}

/// W8 (issue 12): artifacts get the permissions of any file the process creates (0666 less
/// the umask), not the temp file's private 0600.
#[cfg(unix)]
#[tokio::test]
async fn artifacts_get_ordinary_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::local(dir.path());
    let t = store.target("s", "t").unwrap();
    t.save_string("report.md", "# ok").await.unwrap();
    t.save_stream("big.bin", std::io::Cursor::new(vec![7u8; 1 << 16]))
        .await
        .unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let targets = dir.path().join("sessions/s/targets/t");
    for artifact in ["report.md", "big.bin"] {
        assert_eq!(
            mode(&targets.join(artifact)),
            mode(&plain),
            "{artifact} has the mode std::fs::write gives"
        );
    }
}

#[cfg(unix)]
mod links_and_leftovers {
    //! Issue 12: B2 (a linked session led `rm --all` outside the root), W1 (links inside the
    //! root were followed by every operation), B3 (crash leftovers stayed forever and kept an
    //! emptied target listed).
    use std::os::unix::fs::symlink;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use perfstore::local::STALE_TEMP_AGE;
    use perfstore::{Error, Store};

    fn outside_with_a_secret() -> tempfile::TempDir {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("targets/t")).unwrap();
        std::fs::write(outside.path().join("targets/t/keep.txt"), "precious").unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        outside
    }

    fn refused(err: Error) {
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_linked_session_is_never_followed_by_a_delete_or_a_listing() {
        let root = tempfile::tempdir().unwrap();
        let outside = outside_with_a_secret();
        std::fs::create_dir_all(root.path().join("sessions")).unwrap();
        symlink(outside.path(), root.path().join("sessions/evil")).unwrap();
        let store = Store::local(root.path());
        let t = store.target("evil", "t").unwrap();
        refused(t.delete_all().await.unwrap_err());
        refused(t.list_keys("").await.unwrap_err());
        refused(t.save_string("x.txt", "planted").await.unwrap_err());
        let saved = t
            .save_many([("x.txt", perfstore::Artifact::text("planted"))])
            .await;
        assert!(saved[0].is_err(), "a bulk save followed a linked session");
        assert!(t.load_many(["targets/t/keep.txt"]).await.is_err());
        refused(
            store
                .list_targets(&perfstore::SessionName::new("evil").unwrap())
                .await
                .unwrap_err(),
        );
        assert!(store.list_sessions().await.unwrap().is_empty());
        assert_eq!(
            std::fs::read_to_string(outside.path().join("targets/t/keep.txt")).unwrap(),
            "precious",
            "nothing outside the root was deleted"
        );
        assert!(!outside.path().join("targets/t/x.txt").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_link_inside_a_target_is_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = outside_with_a_secret();
        let store = Store::local(root.path());
        let t = store.target("s", "t").unwrap();
        t.save_string("real.txt", "ok").await.unwrap();
        let target_dir = root.path().join("sessions/s/targets/t");
        symlink(outside.path(), target_dir.join("link")).unwrap();
        symlink(
            outside.path().join("secret.txt"),
            target_dir.join("alias.txt"),
        )
        .unwrap();
        refused(t.load_string("link/secret.txt").await.unwrap_err());
        refused(t.load_string("alias.txt").await.unwrap_err());
        refused(t.head("alias.txt").await.unwrap_err());
        refused(t.exists("link/secret.txt").await.unwrap_err());
        assert!(t.load_stream("alias.txt").await.is_err());
        refused(t.save_string("link/planted.txt", "x").await.unwrap_err());
        refused(t.delete("link/secret.txt").await.unwrap_err());
        refused(t.list_keys("link/").await.unwrap_err());
        let many = t.load_many(["link/secret.txt"]).await;
        assert!(many.is_err());
        let saved = t
            .save_many([("link/many.txt", perfstore::Artifact::text("x"))])
            .await;
        assert!(saved[0].is_err());
        assert_eq!(
            t.list_keys("").await.unwrap(),
            ["real.txt"],
            "links are not artifacts"
        );
        assert_eq!(
            std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
            "secret"
        );
        assert!(!outside.path().join("planted.txt").exists());
        assert!(!outside.path().join("many.txt").exists());

        // Bulk calls check each folder once: the target folder passes, each file still counts.
        assert!(t.load_many(["real.txt", "alias.txt"]).await.is_err());
        let saved = t
            .save_many([
                ("real2.txt", perfstore::Artifact::text("y")),
                ("alias.txt", perfstore::Artifact::text("overwritten")),
            ])
            .await;
        assert!(saved[0].is_ok(), "{:?}", saved[0]);
        match &saved[1] {
            Err(e) => assert!(e.to_string().contains("symbolic link"), "{e}"),
            Ok(_) => panic!("a bulk save followed a linked file"),
        }
        assert_eq!(
            std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
            "secret"
        );
    }

    /// A pid that no process has now: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn leftover(dir: &Path, pid: u32, age: Duration) -> std::path::PathBuf {
        let file = dir.join(format!(".~perfstore-{pid}-AbCdEf.tmp"));
        std::fs::write(&file, vec![0u8; 4096]).unwrap();
        let when = SystemTime::now() - age;
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(when)
            .unwrap();
        file
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dead_writers_leftovers_are_reclaimed_and_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::local(root.path());
        let t = store.target("s", "t").unwrap();
        t.save_string("a.txt", "a").await.unwrap();
        let dir = root.path().join("sessions/s/targets/t");
        let old = STALE_TEMP_AGE + Duration::from_secs(60);
        let dead = leftover(&dir, dead_pid(), old);
        let dead_but_recent = leftover(&dir, dead_pid(), Duration::from_secs(1));
        let live = leftover(&dir, std::process::id(), old);
        assert_eq!(t.list_keys("").await.unwrap(), ["a.txt"]);
        assert!(!dead.exists(), "a dead writer's old temp file is reclaimed");
        assert!(
            dead_but_recent.exists(),
            "a recent one may still be a live writer's"
        );
        assert!(live.exists(), "a live writer's temp file is never touched");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_target_holding_only_leftovers_is_not_listed() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::local(root.path());
        let t = store.target("s", "t").unwrap();
        t.save_string("a.txt", "a").await.unwrap();
        let dir = root.path().join("sessions/s/targets/t");
        let dead = leftover(&dir, dead_pid(), STALE_TEMP_AGE + Duration::from_secs(60));
        let live = leftover(&dir, std::process::id(), Duration::from_secs(0));
        assert!(t.delete("a.txt").await.unwrap());
        let session = perfstore::SessionName::new("s").unwrap();
        assert!(store.list_targets(&session).await.unwrap().is_empty());
        assert!(store.list_sessions().await.unwrap().is_empty());
        let info = perfstore::session::session_info(&store, &session)
            .await
            .unwrap();
        assert_eq!((info.targets, info.artifacts), (0, 0));
        assert!(!dead.exists());
        assert!(live.exists());
    }
}
