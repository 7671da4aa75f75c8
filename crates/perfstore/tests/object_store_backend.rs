//! What the object-store backend promises beyond the conformance suite: the local backend's
//! layout byte for byte (so `copy` between a folder and a bucket is a plain mirror), large
//! streams in multipart uploads that stay invisible until complete, and errors that name the
//! store and its URL.
//!
//! The ignored tests named `s3_*` need an S3 endpoint: `scripts/seaweedfs.sh run cluster --
//! cargo test -p perfstore --test object_store_backend -- --ignored s3` runs them (as CI does;
//! run explicitly, a missing endpoint fails them).

use std::collections::BTreeMap;
use std::path::Path;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use perfstore::object_store::{ObjectStoreOptions, ObjectStoreStorage};
use perfstore::transfer::{CopyOptions, copy_session};
use perfstore::{Artifact, ContentHash, Error, SessionName, Store};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// The bucket URL of the S3 tests; panics (failing the test) when none is configured.
fn s3_url() -> String {
    std::env::var("PERF_TEST_S3_URL")
        .ok()
        .or_else(|| {
            std::env::var("SEAWEEDFS_BUCKET")
                .ok()
                .map(|b| format!("s3://{b}"))
        })
        .expect(
            "no S3 endpoint: set PERF_TEST_S3_URL (and AWS_*), or run under scripts/seaweedfs.sh",
        )
}

/// A fresh prefix of the test bucket.
fn s3_prefix(test: &str) -> String {
    format!(
        "{}/{test}/{}",
        s3_url().trim_end_matches('/'),
        uuid::Uuid::new_v4()
    )
}

/// Bytes no compressor shrinks.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Every file below `root`, as relative path -> bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).expect("below root");
            (
                rel.to_string_lossy().replace('\\', "/"),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// A session in a local store with every kind of artifact, a compressed one, nested keys, two
/// targets and the session's records.
async fn local_session(root: &Path) -> (Store, SessionName) {
    let local = Store::local(root);
    let session = SessionName::new("nightly-2026-12-03").unwrap();
    perfstore::session::ensure_session(&local, &session, &BTreeMap::new())
        .await
        .unwrap();
    let parser = local.target(session.as_str(), "parser").unwrap();
    parser
        .save_json(
            "results/metrics.json",
            &json!({"p50_ms": 1.5, "p99_ms": 9.25}),
        )
        .await
        .unwrap();
    parser
        .save_string("reports/summary.md", "# parser\nall good\n")
        .await
        .unwrap();
    let report: String = "<tr><td>p99</td><td>12.5</td></tr>\n"
        .chars()
        .cycle()
        .take(3 << 20)
        .collect();
    parser
        .save_string("reports/full/page.html", &report)
        .await
        .unwrap();
    let lexer = parser.sibling("lexer").unwrap();
    lexer
        .save_bytes("profiles/cpu.bin", noise(300_000, 7))
        .await
        .unwrap();
    lexer.save_bytes("empty.bin", Vec::new()).await.unwrap();
    (local, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_between_a_folder_and_a_file_store_is_a_plain_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let (local_root, bucket_root, back_root) = (
        dir.path().join("local"),
        dir.path().join("bucket"),
        dir.path().join("back"),
    );
    let (local, session) = local_session(&local_root).await;
    let bucket = Store::object_store(&format!("file://{}", bucket_root.display())).unwrap();

    let report = copy_session(&local, &bucket, &session, &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.moved.items, 5, "{report:?}");
    assert_eq!(report.failed.items, 0, "{report:?}");
    let local_tree = tree(&local_root);
    assert!(
        local_tree.keys().any(|k| k.contains(".perfstore")),
        "the records are part of the tree: {:?}",
        local_tree.keys()
    );
    // The compressed report is a container on both sides, byte for byte.
    let page = "sessions/nightly-2026-12-03/targets/parser/reports/full/page.html";
    assert!(local_tree[page].len() < 1 << 20, "stored compressed");
    assert_eq!(tree(&bucket_root), local_tree, "same paths, same bytes");

    // A local store opened on the bucket's folder reads it as its own, and back again.
    let as_local = Store::local(&bucket_root);
    assert_eq!(
        as_local
            .target(session.as_str(), "parser")
            .unwrap()
            .load_json("results/metrics.json")
            .await
            .unwrap(),
        Some(json!({"p50_ms": 1.5, "p99_ms": 9.25}))
    );
    let back = Store::local(&back_root);
    let report = copy_session(&bucket, &back, &session, &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.failed.items, 0, "{report:?}");
    assert_eq!(tree(&back_root), local_tree);
}

/// The objects below `prefix` of an object store, as relative path -> bytes.
async fn objects(storage: &ObjectStoreStorage, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let store = storage.inner();
    let root = object_store::path::Path::from(prefix);
    let listed: Vec<_> = store.list(Some(&root)).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for meta in listed {
        let rel: Vec<String> = meta
            .location
            .prefix_match(&root)
            .unwrap()
            .map(|p| p.as_ref().to_owned())
            .collect();
        let bytes = store.get(&meta.location).await.unwrap().bytes().await;
        out.insert(rel.join("/"), bytes.unwrap().to_vec());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3 endpoint: scripts/seaweedfs.sh run cluster -- cargo test … -- --ignored s3"]
async fn s3_copy_from_a_folder_is_a_plain_mirror_of_its_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (local, session) = local_session(dir.path()).await;
    let url = s3_prefix("mirror");
    let bucket = ObjectStoreStorage::open(&url).unwrap();
    let prefix = url.split_once("://").unwrap().1.split_once('/').unwrap().1;
    let bucket_store = Store::new(ObjectStoreStorage::open(&url).unwrap());
    let report = copy_session(&local, &bucket_store, &session, &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(report.failed.items, 0, "{report:?}");
    assert_eq!(objects(&bucket, prefix).await, tree(dir.path()));
    // A second copy finds everything in place.
    let again = copy_session(&local, &bucket_store, &session, &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (again.moved.items, again.unchanged.items),
        (0, 5),
        "{again:?}"
    );
}

/// A streamed save of `len` bytes that spans several parts round-trips, and one that fails
/// after its first parts were uploaded leaves the previous version and nothing else.
async fn large_streams_go_in_parts_and_failures_leave_nothing(store: &Store) {
    let t = store.target("s", "t").unwrap();
    let big = noise(23 << 20, 42);
    let meta = t
        .save_stream("profiles/trace.bin", std::io::Cursor::new(big.clone()))
        .await
        .unwrap();
    assert_eq!(
        (meta.size, &meta.hash),
        (big.len() as u64, &ContentHash::of(&big))
    );
    let mut back = Vec::new();
    t.load_stream("profiles/trace.bin")
        .await
        .unwrap()
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert!(back == big, "23 MiB differ after the round trip");
    let head = t.head("profiles/trace.bin").await.unwrap().unwrap();
    assert_eq!(head.hash, ContentHash::of(&big));

    // 12 MiB (two parts uploaded) then the input fails: aborted, nothing visible.
    let failing = std::io::Cursor::new(noise(12 << 20, 9)).chain(FailingInput);
    let err = t
        .save_stream("profiles/trace.bin", failing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Stream { .. }), "{err}");
    let failing = std::io::Cursor::new(noise(12 << 20, 10)).chain(FailingInput);
    assert!(t.save_stream("profiles/never.bin", failing).await.is_err());
    assert!(!t.exists("profiles/never.bin").await.unwrap());
    assert_eq!(t.list_keys("").await.unwrap(), ["profiles/trace.bin"]);
    let head = t.head("profiles/trace.bin").await.unwrap().unwrap();
    assert_eq!(
        head.hash,
        ContentHash::of(&big),
        "the previous version stays"
    );
}

struct FailingInput;

impl tokio::io::AsyncRead for FailingInput {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::other("input went away")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_large_streams_go_in_parts_and_failures_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::object_store(&format!("file://{}", dir.path().display())).unwrap();
    large_streams_go_in_parts_and_failures_leave_nothing(&store).await;
    // No staged part files are left in the folder.
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        ["sessions/s/targets/t/profiles/trace.bin"],
        "only the artifact"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_large_streams_go_in_parts_and_failures_leave_nothing() {
    let store = Store::object_store("memory://").unwrap();
    large_streams_go_in_parts_and_failures_leave_nothing(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3 endpoint: scripts/seaweedfs.sh run cluster -- cargo test … -- --ignored s3"]
async fn s3_large_streams_go_in_parts_and_failures_leave_nothing() {
    let store = Store::object_store(&s3_prefix("streams")).unwrap();
    large_streams_go_in_parts_and_failures_leave_nothing(&store).await;
}

/// A distinctive secret, to check no message carries it.
const SECRET: &str = "perfstore-test-secret-7f3a9c";

#[test]
fn s3_errors_name_the_store_url_and_endpoint_but_no_credential() {
    // The S3 client reads AWS_* from the process environment: run the check in a child process
    // of this test binary, with an endpoint where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_of_the_unreachable_endpoint_test",
            "--include-ignored",
            "--nocapture",
        ])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "perfstore-test-key")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ALLOW_HTTP")
        .env("PERF_TEST_UNREACHABLE_S3_PORT", port.to_string())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && out.contains("1 passed"),
        "{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
#[ignore = "the child process of s3_errors_name_the_store_url_and_endpoint_but_no_credential"]
async fn child_of_the_unreachable_endpoint_test() {
    let port = std::env::var("PERF_TEST_UNREACHABLE_S3_PORT").expect("run by its parent test");
    let store = Store::object_store("s3://perf-bucket/team").unwrap();
    let t = store.target("s", "t").unwrap();
    let err = t.save_string("k.txt", "x").await.unwrap_err();
    let msg = err.to_string();
    for needle in [
        "object_store backend",
        "put s3://perf-bucket/team/sessions/s/targets/t/k.txt",
        &format!("(endpoint http://127.0.0.1:{port})"),
    ] {
        assert!(msg.contains(needle), "{needle:?} in {msg}");
    }
    assert!(!msg.contains(SECRET), "no secret: {msg}");
    let err = t.load_string("k.txt").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("get s3://perf-bucket/team/sessions/s/targets/t/k.txt"),
        "{err}"
    );
    assert!(
        !format!("{err:?}").contains(SECRET),
        "no secret in the debug form either"
    );
}

#[tokio::test]
async fn a_folder_that_cannot_be_a_store_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = Store::object_store(&format!("file://{}/below", file.display())).unwrap_err();
    assert!(err.to_string().contains("below"), "{err}");
    let err = Store::object_store("s3:/bucket").unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("PERF_OBJECT_STORE_URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_calls_keep_per_item_results_in_order_with_small_concurrency() {
    // A concurrency of 1 and of many give the same results (ordered, per item).
    for bulk_concurrency in [1, 7, 256] {
        let options = ObjectStoreOptions {
            bulk_concurrency,
            ..ObjectStoreOptions::default()
        };
        let store = Store::new(ObjectStoreStorage::open_with("memory://", options).unwrap());
        let t = store.target("s", "t").unwrap();
        let items: Vec<(String, Artifact)> = (0..300)
            .map(|i| (format!("k/{i:04}"), Artifact::text(format!("v{i}"))))
            .collect();
        assert!(t.save_many(items).await.iter().all(Result::is_ok));
        let keys: Vec<String> = (0..310).map(|i| format!("k/{i:04}")).collect();
        let loaded = t.load_many(keys.iter().map(String::as_str)).await.unwrap();
        for (i, a) in loaded.iter().enumerate() {
            match a {
                Some(a) => assert_eq!(a.bytes().as_ref(), format!("v{i}").as_bytes()),
                None => assert!(i >= 300, "{i} missing"),
            }
        }
        let deleted = t
            .delete_many(keys.iter().rev().map(String::as_str))
            .await
            .unwrap();
        assert_eq!(deleted.iter().filter(|d| **d).count(), 300);
        assert!(
            deleted[..10].iter().all(|d| !d),
            "the last 10 never existed"
        );
        assert!(t.list_keys("").await.unwrap().is_empty());
    }
}
