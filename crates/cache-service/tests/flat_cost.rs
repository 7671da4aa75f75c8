//! Per-request storage work does not grow with the store: child listings take their sizes from
//! the listing, retrieve by hash reads only the end of the by-hash reference, and the kept copy
//! of a by-hash reference (appends) is never trusted once another writer changed the file.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use bytes::Bytes;
use cache_service::store::FileStore;
use common::TestApp;
use serde_json::Value;

/// Storage operations counted so far, by operation (`…_duration_seconds_count`).
fn storage_ops(app: &TestApp) -> BTreeMap<String, u64> {
    let text = app.state.metrics.encode().expect("metrics encode");
    let prefix = "cache_service_storage_operation_duration_seconds_count{operation=\"";
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let (operation, value) = rest.split_once("\"} ")?;
            Some((operation.to_owned(), value.parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// Operations between two snapshots.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn total(ops: &BTreeMap<String, u64>) -> u64 {
    ops.values().sum()
}

#[tokio::test]
async fn a_child_listing_costs_one_storage_listing_whatever_the_file_count() {
    let app = TestApp::memory();
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .expect("cache_id")
        .to_owned();
    let p = format!("/demo/cache/{id}");
    const FILES: usize = 200;
    let mut expected_size = 0;
    for i in 0..FILES {
        let body = "x".repeat(i % 7 + 1);
        expected_size += body.len() as u64;
        let key = if i % 2 == 0 { "even" } else { "odd/deeper" };
        let r = app
            .post_text(&format!("{p}/data/store/string/{key}/f{i:03}"), &body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    for route in [
        format!("{p}/data/list"),
        format!("{p}/data/list?recursive=true"),
    ] {
        let before = storage_ops(&app);
        let r = app.get(&route).await;
        let ops = delta(&before, &storage_ops(&app));
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let listed = r.json();
        assert_eq!(listed["file_count"], FILES as u64, "{route}");
        assert_eq!(listed["total_size"], expected_size, "{route}");
        let sizes: Vec<u64> = listed["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["file_size"].as_u64().expect("file_size"))
            .collect();
        assert!(sizes.iter().all(|s| (1..=7).contains(s)), "{sizes:?}");
        // The by-id reference, then one listing of the entry's single data folder.
        assert_eq!(ops.get("size"), None, "{route}: {ops:?}");
        assert_eq!(ops.get("list_files"), Some(&1), "{route}: {ops:?}");
        assert!(total(&ops) <= 2, "{route}: {ops:?}");
    }
}

/// Stores `{"n":1}` under one cache key `times` times through `apps` in turn; the ids in order.
async fn store_same_key(apps: &[&TestApp], times: usize) -> (String, Vec<String>) {
    let mut hash = String::new();
    let mut ids = Vec::new();
    for i in 0..times {
        let app = apps[i % apps.len()];
        let r = app
            .post_json("/demo/key_based/store/json/runs/latest", r#"{"n":1}"#)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let body = r.json();
        hash = body["cache_hash"].as_str().expect("hash").to_owned();
        ids.push(body["cache_id"].as_str().expect("id").to_owned());
    }
    (hash, ids)
}

fn hash_ref_path(hash: &str) -> String {
    format!(
        "demo/refs/by-hash/{}/{}/{hash}.json",
        &hash[0..2],
        &hash[2..4]
    )
}

/// Asserts the by-hash reference lists exactly `ids` in `json.dumps(indent=2)` form.
async fn assert_hash_ref(app: &TestApp, hash: &str, ids: &[String]) {
    let text = app.file_text(&hash_ref_path(hash)).await;
    let parsed: Value = serde_json::from_str(&text).expect("by-hash reference is JSON");
    let listed: Vec<&str> = parsed["cache_ids"]
        .as_array()
        .expect("cache_ids")
        .iter()
        .map(|e| e["cache_id"].as_str().expect("cache_id"))
        .collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(parsed["latest_id"].as_str(), ids.last().map(String::as_str));
    assert_eq!(parsed["total_versions"], ids.len());
    // Keys sorted here as in the file, ASCII ids and integers: pretty-printing is
    // `json.dumps(indent=2)`, so this checks the bytes.
    let pretty = serde_json::to_string_pretty(&parsed).expect("pretty");
    assert_eq!(text, pretty);
}

async fn assert_latest(app: &TestApp, hash: &str, latest: &str) {
    let r = app
        .get(&format!("/demo/retrieve/hash/{hash}/cache-id"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["cache_id"], latest);
    let r = app.get(&format!("/demo/retrieve/hash/{hash}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["metadata"]["cache_id"], latest, "{body}");
    assert_eq!(body["data"], serde_json::json!({"n": 1}));
}

async fn two_instances_see_each_others_stores(first: TestApp, second: TestApp) {
    // Alternate: each instance's kept copy goes stale with every store of the other.
    let mut all = Vec::new();
    for round in 0..40 {
        let (hash, ids) = store_same_key(&[&first, &second][round % 2..], 1).await;
        all.extend(ids);
        let latest = all.last().expect("stored");
        assert_latest(&first, &hash, latest).await;
        assert_latest(&second, &hash, latest).await;
        if round % 13 == 12 || round == 39 {
            assert_hash_ref(&first, &hash, &all).await;
        }
    }
    // Many stores in one instance (kept copy used), then one in the other.
    let (hash, ids) = store_same_key(&[&first], 30).await;
    all.extend(ids);
    let (_, ids) = store_same_key(&[&second], 1).await;
    all.extend(ids);
    assert_latest(&first, &hash, all.last().expect("stored")).await;
    assert_hash_ref(&second, &hash, &all).await;
    let (_, ids) = store_same_key(&[&first], 1).await;
    all.extend(ids);
    assert_hash_ref(&second, &hash, &all).await;
    assert_latest(&second, &hash, all.last().expect("stored")).await;
}

#[tokio::test]
async fn a_second_instance_on_shared_memory_storage_sees_new_stores_at_once() {
    let shared = FileStore::memory();
    two_instances_see_each_others_stores(
        TestApp::with_store(shared.clone()),
        TestApp::with_store(shared),
    )
    .await;
}

#[tokio::test]
async fn a_second_instance_on_the_same_disk_folder_sees_new_stores_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two independent stores over one folder, as two server processes would be.
    two_instances_see_each_others_stores(
        TestApp::with_store(FileStore::local_disk(dir.path()).expect("disk")),
        TestApp::with_store(FileStore::local_disk(dir.path()).expect("disk")),
    )
    .await;
}

#[tokio::test]
async fn retrieve_by_hash_reads_the_end_of_the_reference_not_all_of_it() {
    let app = TestApp::memory();
    let (hash, ids) = store_same_key(&[&app], 300).await;
    assert!(app.file_text(&hash_ref_path(&hash)).await.len() > 20_000);
    let before = storage_ops(&app);
    assert_latest(&app, &hash, ids.last().expect("stored")).await;
    let ops = delta(&before, &storage_ops(&app));
    // Per route: one ranged read of the reference. `cache-id` stops there; the retrieve reads
    // the by-id reference, the content and its `.metadata`.
    assert_eq!(ops.get("get_range"), Some(&2), "{ops:?}");
    assert_eq!(ops.get("get"), Some(&3), "{ops:?}");
    assert_eq!(total(&ops), 5, "{ops:?}");
}

async fn external_rewrites_are_picked_up(app: TestApp) {
    let (hash, ids) = store_same_key(&[&app], 25).await;
    let path = hash_ref_path(&hash);
    // Another writer (the reference server, an operator) rewrites the file: an older id is
    // latest again and the list is shorter. Compact, as another tool might write it, and long
    // enough that only its end is read.
    let kept: Vec<String> = ids[..10].to_vec();
    let rewritten = serde_json::json!({
        "cache_hash": hash,
        "cache_ids": kept.iter().enumerate().map(|(i, id)| serde_json::json!({"cache_id": id, "timestamp": i})).collect::<Vec<_>>(),
        "latest_id": ids[3],
        "total_versions": kept.len(),
    });
    let bytes = serde_json::to_vec(&rewritten).expect("json");
    assert!(bytes.len() > 600);
    app.state
        .service
        .store()
        .put(&path, Bytes::from(bytes))
        .await
        .expect("rewrite");
    assert_latest(&app, &hash, &ids[3]).await;
    // The next store appends to the rewritten file, not to this instance's last copy.
    let (_, more) = store_same_key(&[&app], 1).await;
    let mut expected = kept;
    expected.extend(more);
    assert_hash_ref(&app, &hash, &expected).await;
    assert_latest(&app, &hash, expected.last().expect("stored")).await;
    // And again with the kept copy rebuilt from the rewritten file.
    let (_, more) = store_same_key(&[&app], 20).await;
    expected.extend(more);
    assert_hash_ref(&app, &hash, &expected).await;
    // A rewrite to a single entry (a small file, read whole).
    let small = format!(
        "{{\n  \"cache_hash\": \"{hash}\",\n  \"cache_ids\": [\n    {{\n      \"cache_id\": \"{id}\",\n      \"timestamp\": 1\n    }}\n  ],\n  \"latest_id\": \"{id}\",\n  \"total_versions\": 1\n}}",
        id = ids[0]
    );
    app.state
        .service
        .store()
        .put(&path, Bytes::from(small))
        .await
        .expect("rewrite");
    assert_latest(&app, &hash, &ids[0]).await;
    let (_, more) = store_same_key(&[&app], 1).await;
    assert_hash_ref(&app, &hash, &[ids[0].clone(), more[0].clone()]).await;
    // Deleted behind our back: the next store starts a new file.
    app.state
        .service
        .store()
        .delete(&path)
        .await
        .expect("delete");
    let r = app
        .get(&format!("/demo/retrieve/hash/{hash}/cache-id"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (_, more) = store_same_key(&[&app], 1).await;
    assert_hash_ref(&app, &hash, &more).await;
}

#[tokio::test]
async fn a_reference_rewritten_in_memory_storage_by_another_writer_is_picked_up() {
    external_rewrites_are_picked_up(TestApp::memory()).await;
}

#[tokio::test]
async fn a_reference_rewritten_on_disk_by_another_writer_is_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    external_rewrites_are_picked_up(TestApp::with_store(
        FileStore::local_disk(dir.path()).expect("disk"),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_stores_of_one_content_in_one_instance_keep_every_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = std::sync::Arc::new(TestApp::with_store(
        FileStore::local_disk(dir.path()).expect("disk"),
    ));
    let tasks: Vec<_> = (0..48)
        .map(|_| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move { store_same_key(&[&*app], 1).await })
        })
        .collect();
    let mut ids = Vec::new();
    let mut hash = String::new();
    for task in tasks {
        let (h, mut stored) = task.await.expect("task");
        hash = h;
        ids.append(&mut stored);
    }
    let text = app.file_text(&hash_ref_path(&hash)).await;
    let parsed: Value = serde_json::from_str(&text).expect("json");
    let mut listed: Vec<String> = parsed["cache_ids"]
        .as_array()
        .expect("cache_ids")
        .iter()
        .map(|e| e["cache_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(parsed["total_versions"], 48);
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
}
