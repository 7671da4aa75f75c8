//! What only the cache-service backend promises, against our real server (in-process, or on
//! 127.0.0.1 where separate handles stand for separate processes).

use cache_client::{CacheClient, LocalServer};
use perfstore::cache_service::{CacheServiceStorage, cache_hash};
use perfstore::{ArtifactKind, Error, Key, Store, TargetPath};
use serde_json::json;

const NS: &str = "perf-results";

fn store_over(client: CacheClient) -> (Store, CacheServiceStorage) {
    let backend = CacheServiceStorage::new(client, NS);
    (Store::new(backend.clone()), backend)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_workers_creating_one_target_share_one_entry() {
    let server = LocalServer::in_memory().await.unwrap();
    // Sixteen independent handles (as sixteen processes would have), one new target.
    let workers: Vec<_> = (0..16)
        .map(|i| {
            let (store, _) = store_over(server.client());
            tokio::spawn(async move {
                let t = store.target("batch", "shared").unwrap();
                t.save_json(
                    format!("results/w{i:02}.json").as_str(),
                    &json!({"worker": i}),
                )
                .await
                .unwrap();
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let (store, backend) = store_over(server.client());
    let target = TargetPath::parse("batch", "shared").unwrap();
    let id = backend
        .entry_id(&target)
        .await
        .unwrap()
        .expect("the entry exists");
    // Every artifact is listed and readable through the one id the hash lookup gives.
    let listing = backend
        .client()
        .data()
        .list(NS, &id, None, true)
        .await
        .unwrap();
    assert_eq!(listing.files.len(), 16, "{listing:?}");
    let t = store.target("batch", "shared").unwrap();
    assert_eq!(t.list_keys("").await.unwrap().len(), 16);
    for i in 0..16 {
        let v = t
            .load_json(format!("results/w{i:02}.json").as_str())
            .await
            .unwrap();
        assert_eq!(v, Some(json!({"worker": i})));
    }
    // And delete_target removes every id the racing creators made.
    assert_eq!(t.delete_all().await.unwrap(), 16);
    assert_eq!(backend.entry_id(&target).await.unwrap(), None);
    let hashes = backend.client().namespace().file_hashes(NS).await.unwrap();
    assert!(!hashes.contains(&cache_hash(&target)), "{hashes:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn reads_never_create_entries() {
    let (store, backend) = store_over(CacheClient::in_memory());
    let t = store.target("s", "never-written").unwrap();
    assert_eq!(t.load_json("a.json").await.unwrap(), None);
    assert_eq!(t.load_string("a.txt").await.unwrap(), None);
    assert!(!t.exists("a").await.unwrap());
    assert!(!t.delete("a").await.unwrap());
    assert!(t.list_keys("").await.unwrap().is_empty());
    assert_eq!(t.delete_all().await.unwrap(), 0);
    assert!(
        backend
            .client()
            .namespace()
            .file_ids(NS)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_sessions().await.unwrap().is_empty());
}

#[tokio::test]
async fn another_handles_delete_target_is_never_masked() {
    let server = LocalServer::in_memory().await.unwrap();
    let (a, _) = store_over(server.client());
    let (b, _) = store_over(server.client());
    let ta = a.target("s", "t").unwrap();
    let tb = b.target("s", "t").unwrap();
    ta.save_string("r.md", "one").await.unwrap();
    assert_eq!(
        tb.load_string("r.md").await.unwrap().as_deref(),
        Some("one")
    );
    assert_eq!(tb.delete_all().await.unwrap(), 1);
    assert_eq!(
        ta.load_string("r.md").await.unwrap(),
        None,
        "a sees b's delete"
    );
    assert!(!ta.exists("r.md").await.unwrap());
    ta.save_string("r.md", "two").await.unwrap();
    assert_eq!(
        tb.load_string("r.md").await.unwrap().as_deref(),
        Some("two"),
        "b sees a's new entry"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn artifacts_live_where_the_original_module_put_them() {
    let (store, backend) = store_over(CacheClient::in_memory());
    let t = store.target("child_string_test", "default").unwrap();
    t.save_json(
        "results/node_stats.json",
        &json!({"key": "value", "count": 42}),
    )
    .await
    .unwrap();
    t.save_string("summary", "Hello World from cache service")
        .await
        .unwrap();
    t.save_bytes("raw/blob", vec![1, 2, 3]).await.unwrap();
    let base = "perf-results/data/key-based/sessions/child_string_test/targets/default";
    let admin = backend.client().admin_storage();
    for path in [
        format!("{base}/perf-entry.json"),
        format!("{base}/perf-entry/data/results/node__stats_djson.json"),
        format!("{base}/perf-entry/data/summary.txt"),
        format!("{base}/perf-entry/data/raw/blob.bin"),
    ] {
        assert!(admin.file_exists(&path).await.unwrap(), "{path}");
    }
    // The child JSON file holds exactly our canonical bytes (indent 4), so hashes agree.
    let stored = admin
        .file_bytes(&format!(
            "{base}/perf-entry/data/results/node__stats_djson.json"
        ))
        .await
        .unwrap();
    let head = t.head("results/node_stats.json").await.unwrap().unwrap();
    assert_eq!(head.hash, perfstore::ContentHash::of(&stored));
    assert_eq!(
        stored.len(),
        39,
        "the original module's store response said 39 bytes"
    );
    assert_eq!(head.kind, ArtifactKind::Json);
    // The entry is found by the deterministic hash of its cache_key.
    let target = TargetPath::parse("store_test", "default").unwrap();
    assert_eq!(cache_hash(&target), "f850dd9eec32fadf");
}

#[tokio::test]
async fn kinds_survive_and_a_key_changing_kind_leaves_one_file() {
    let (store, backend) = store_over(CacheClient::in_memory());
    let t = store.target("s", "t").unwrap();
    t.save_string("x", "text").await.unwrap();
    t.save_json("x", &json!([1, 2])).await.unwrap();
    t.save_bytes("x", vec![9u8]).await.unwrap();
    t.save_json("x", &json!({"final": true})).await.unwrap();
    let id = backend
        .entry_id(&TargetPath::parse("s", "t").unwrap())
        .await
        .unwrap()
        .unwrap();
    let files = backend
        .client()
        .data()
        .list(NS, &id, None, true)
        .await
        .unwrap()
        .files;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(t.head("x").await.unwrap().unwrap().kind, ArtifactKind::Json);
    t.save_string("y", "[1, 2]").await.unwrap();
    assert_eq!(
        t.head("y").await.unwrap().unwrap().kind,
        ArtifactKind::Text,
        "text that looks like JSON stays text"
    );
}

#[tokio::test]
async fn over_long_segments_are_refused_clearly() {
    let (store, _) = store_over(CacheClient::in_memory());
    let t = store.target("s", "t").unwrap();
    let long = "_".repeat(100);
    let err = t.save_string(long.as_str(), "x").await.unwrap_err();
    assert!(matches!(err, Error::KeyNotSupported { .. }), "{err}");
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("128"), "{err}");
    // Nothing was created for the refused key.
    assert!(store.list_sessions().await.unwrap().is_empty());
    let _ = Key::new(long).unwrap();
}

#[tokio::test]
async fn auth_failures_surface_as_errors_carrying_the_servers_message() {
    use cache_service::service::CacheService;
    use cache_service::store::FileStore;
    use cache_service::{AppState, AuthSettings};
    let state = AppState::new(
        CacheService::new(FileStore::memory(), 24),
        AuthSettings::api_key("x-api-key", "secret123"),
    );
    let server = LocalServer::start(state).await.unwrap();
    let (good, _) = store_over(server.client());
    good.target("s", "t")
        .unwrap()
        .save_string("k", "v")
        .await
        .unwrap();

    let wrong = server.remote_config().with_api_key("x-api-key", "nope");
    let (bad, _) = store_over(CacheClient::remote(wrong).unwrap());
    let err = bad
        .target("s", "t")
        .unwrap()
        .load_string("k")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err}");
    assert!(err.to_string().contains("Invalid API key value"), "{err}");
    server.stop().await.unwrap();
}
