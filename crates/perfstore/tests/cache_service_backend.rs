//! What only the cache-service backend promises, against our real server (in-process, or on
//! 127.0.0.1 where separate handles stand for separate processes).

mod support;

use cache_client::{CacheClient, LocalServer};
use perfstore::cache_service::{BATCH_MAX_FILES, CacheServiceStorage, cache_hash};
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
    // The same through bulk loads (batch requests with a remembered, now stale, id).
    let bulk = |t: perfstore::TargetHandle| async move {
        let loaded = t.load_many(["r.md", "x.json"]).await.unwrap();
        loaded[0].as_ref().map(|a| a.bytes().clone())
    };
    assert_eq!(bulk(ta.clone()).await.as_deref(), Some(&b"two"[..]));
    assert_eq!(tb.delete_all().await.unwrap(), 1);
    assert_eq!(
        bulk(ta.clone()).await,
        None,
        "a's bulk load sees b's delete"
    );
    tb.save_string("r.md", "three").await.unwrap();
    assert_eq!(bulk(ta.clone()).await.as_deref(), Some(&b"three"[..]));
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
async fn kinds_survive_a_key_changing_kind_reads_the_latest_and_delete_leaves_no_file() {
    let (store, backend) = store_over(CacheClient::in_memory());
    let t = store.target("s", "t").unwrap();
    t.save_string("x", "text").await.unwrap();
    t.save_json("x", &json!([1, 2])).await.unwrap();
    t.save_bytes("x", vec![9u8]).await.unwrap();
    t.save_json("x", &json!({"final": true})).await.unwrap();
    assert_eq!(
        t.load_json("x").await.unwrap(),
        Some(json!({"final": true}))
    );
    assert_eq!(t.head("x").await.unwrap().unwrap().kind, ArtifactKind::Json);
    assert_eq!(t.list_keys("").await.unwrap(), ["x"]);
    // Back to the likely shape (text, for a key without extension): it wins again.
    t.save_string("x", "plain again").await.unwrap();
    assert_eq!(
        t.load_string("x").await.unwrap().as_deref(),
        Some("plain again")
    );
    let id = backend
        .entry_id(&TargetPath::parse("s", "t").unwrap())
        .await
        .unwrap()
        .unwrap();
    let files = || async {
        backend
            .client()
            .data()
            .list(NS, &id, None, true)
            .await
            .unwrap()
            .files
    };
    assert!(
        files().await.len() <= 3,
        "shadowed files are bounded by the shapes: {:?}",
        files().await
    );
    assert!(t.delete("x").await.unwrap());
    assert_eq!(files().await, [], "delete removes every shape");
    assert!(!t.exists("x").await.unwrap());
    t.save_string("y", "[1, 2]").await.unwrap();
    assert_eq!(
        t.head("y").await.unwrap().unwrap().kind,
        ArtifactKind::Text,
        "text that looks like JSON stays text"
    );
}

/// B1 (issue 12): writers saving one key as text and as bytes at once, readers reading it
/// all along: the key existed before and after, so no read may find it missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_in_two_kinds_never_make_the_key_vanish() {
    let (store, _) = store_over(CacheClient::in_memory());
    let t = store.target("s", "t").unwrap();
    t.save_string("report", "v0").await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..150 {
                match (w + i) % 2 {
                    0 => t.save_string("report", &format!("text {w}/{i}")).await,
                    _ => t.save_bytes("report", vec![0xff, w as u8, i as u8]).await,
                }
                .unwrap();
            }
            0usize
        }));
    }
    for _ in 0..4 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut missing = 0;
            for _ in 0..300 {
                if t.get("report").await.unwrap().is_none() {
                    missing += 1;
                }
                if !t.exists("report").await.unwrap() {
                    missing += 1;
                }
            }
            missing
        }));
    }
    let mut missing = 0;
    for task in tasks {
        missing += tokio::time::timeout(std::time::Duration::from_secs(120), task)
            .await
            .expect("bounded in time")
            .unwrap();
    }
    assert_eq!(missing, 0, "reads found the key missing {missing} times");
    assert!(t.get("report").await.unwrap().is_some());
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

/// Small artifacts for one and a half batches, a compressible 2 MiB report and 5 MiB of
/// noise, as a bulk call saves and loads them.
fn bulk_items() -> Vec<(String, perfstore::Artifact)> {
    use perfstore::Artifact;
    let mut items: Vec<(String, Artifact)> = (0..BATCH_MAX_FILES * 3 / 2)
        .map(|i| {
            let key = format!("results/{:02}/item-{i:03}.json", i % 7);
            (
                key,
                Artifact::json(&json!({"i": i, "p50_ms": i as f64 * 0.5})),
            )
        })
        .collect();
    items.push((
        "reports/big.html".to_owned(),
        Artifact::text("<tr><td>row</td></tr>\n".repeat(100_000)),
    ));
    items.push((
        "raw/noise.bin".to_owned(),
        Artifact::binary(perfstore::conformance::noise(5 << 20)),
    ));
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_calls_move_small_artifacts_in_batches_and_large_ones_singly() {
    let (client, log) = support::recorded_server(true);
    let (store, _) = store_over(client);
    let t = store.target("bulk", "t").unwrap();
    let items = bulk_items();
    let saved = t
        .save_many(items.iter().map(|(k, a)| (k.as_str(), a.clone())))
        .await;
    assert!(saved.iter().all(Result::is_ok), "{saved:?}");
    // The small files and the compressed report fill two batches; the noise goes singly.
    assert_eq!(log.count("/data/batch/store"), 2);
    assert_eq!(log.count("/data/store/"), 1);

    log.clear();
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    let loaded = t.load_many(keys.iter().copied()).await.unwrap();
    for ((key, artifact), got) in items.iter().zip(&loaded) {
        let got = got.as_ref().unwrap_or_else(|| panic!("{key} missing"));
        assert_eq!(got.bytes(), artifact.bytes(), "{key}");
        assert_eq!(got.kind(), artifact.kind(), "{key}");
    }
    assert_eq!(log.count("/data/batch/retrieve"), 2);
    // The server defers the 5 MiB file (over its 4 MiB inline bound): one single read. The
    // compressed report is a binary file, not the text a load looks for first: one listing
    // finds it, one single read loads it.
    assert_eq!(log.count("/data/binary/"), 2);
    assert_eq!(log.count("/data/list"), 1);
    // The entry id is remembered from the save: nothing else.
    assert_eq!(log.total(), 2 + 2 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_calls_fall_back_to_single_requests_on_a_server_without_batches() {
    let (client, log) = support::recorded_server(false);
    let (store, _) = store_over(client);
    let t = store.target("bulk", "t").unwrap();
    let items = bulk_items();
    let saved = t
        .save_many(items.iter().map(|(k, a)| (k.as_str(), a.clone())))
        .await;
    assert!(saved.iter().all(Result::is_ok), "{saved:?}");
    // At most one refused attempt per batch sent before the first answer came back.
    let tried = log.count("/data/batch/");
    assert!((1..=2).contains(&tried), "{tried}");
    assert_eq!(log.count("/data/store/"), items.len());

    log.clear();
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    let loaded = t.load_many(keys.iter().copied()).await.unwrap();
    for ((key, artifact), got) in items.iter().zip(&loaded) {
        assert_eq!(
            got.as_ref().map(|a| a.bytes()),
            Some(artifact.bytes()),
            "{key}"
        );
    }
    // The backend remembers: no batch request is tried again.
    assert_eq!(log.count("/data/batch/"), 0);
    assert_eq!(
        log.count("/data/json/") + log.count("/data/string/") + log.count("/data/binary/"),
        items.len()
    );
}

/// JSON whose rendering is easy to get wrong: floats at the edges of Python's repr, big
/// integers, escapes, non-ASCII, empty containers.
fn awkward_json() -> serde_json::Value {
    json!({
        "floats": [0.1, 1e16, 1.5e-7, -0.0, 1e300, 123456789.123, 2.5, 100.0],
        "ints": [0, -1, 18446744073709551617u128, 9007199254740993u64],
        "text": ["é", "\u{1F600}", "\u{0001}", "quote \" backslash \\ slash / nl \n tab \t"],
        "empty": [{}, [], ""],
        "nested": {"null": null, "t": true, "f": false, "deep": {"a": [[1], {"b": {}}]}},
    })
}

/// A server of ours over a store this test can also write directly.
fn server_with_store() -> (CacheClient, cache_service::store::FileStore) {
    let store = cache_service::store::FileStore::memory();
    let state = cache_service::AppState::new(
        cache_service::service::CacheService::new(store.clone(), 24),
        cache_service::AuthSettings::disabled(),
    );
    (CacheClient::in_process(cache_service::router(state)), store)
}

/// The stored path of the one child file of target `s/t`.
async fn only_child_file(backend: &CacheServiceStorage) -> String {
    let target = TargetPath::parse("s", "t").unwrap();
    let id = backend.entry_id(&target).await.unwrap().unwrap();
    let listing = backend
        .client()
        .data()
        .list(NS, &id, None, true)
        .await
        .unwrap();
    assert_eq!(listing.files.len(), 1, "{listing:?}");
    listing.files[0].file_path.clone()
}

#[tokio::test]
async fn json_child_files_hold_the_canonical_text_that_bulk_loads_return() {
    let (client, files) = server_with_store();
    let (store, backend) = store_over(client);
    let t = store.target("s", "t").unwrap();
    let artifact = perfstore::Artifact::json(&awkward_json());
    t.put("m.json", artifact.clone()).await.unwrap();
    // The server wrote exactly our canonical bytes...
    let path = only_child_file(&backend).await;
    let stored = files.get(&path).await.unwrap().unwrap();
    assert_eq!(
        std::str::from_utf8(&stored).unwrap(),
        std::str::from_utf8(artifact.bytes()).unwrap()
    );
    // ...and the batch path (which uses them as they are) and the single path agree.
    let bulk = t.load_many(["m.json"]).await.unwrap();
    assert_eq!(bulk[0].as_ref().unwrap().bytes(), artifact.bytes());
    let single = t.get("m.json").await.unwrap().unwrap();
    assert_eq!(single.bytes(), artifact.bytes());
}

#[tokio::test]
async fn json_child_files_in_another_layout_are_re_rendered_on_bulk_loads() {
    let (client, files) = server_with_store();
    let (store, backend) = store_over(client);
    let t = store.target("s", "t").unwrap();
    let value = awkward_json();
    t.save_json("m.json", &value).await.unwrap();
    let path = only_child_file(&backend).await;
    // Another writer put the same value in compact form (and with an exponent).
    let compact = serde_json::to_string(&value)
        .unwrap()
        .replace("1e16", "1.0e16");
    files.put(&path, compact.clone().into()).await.unwrap();
    let canonical = perfstore::Artifact::json(&value);
    let bulk = t.load_many(["m.json"]).await.unwrap();
    assert_eq!(bulk[0].as_ref().unwrap().bytes(), canonical.bytes());
    assert_ne!(canonical.bytes().as_ref(), compact.as_bytes());
}

#[tokio::test]
async fn bulk_deletes_list_each_target_once() {
    let (client, log) = support::recorded_server(true);
    let (store, _) = store_over(client);
    let t = store.target("bulk", "t").unwrap();
    let keys: Vec<String> = (0..300).map(|i| format!("r/{i:03}.json")).collect();
    let saved = t
        .save_many(
            keys.iter()
                .map(|k| (k.as_str(), perfstore::Artifact::json(&json!({"k": k})))),
        )
        .await;
    assert!(saved.iter().all(Result::is_ok));
    log.clear();
    let mut asked: Vec<&str> = keys.iter().step_by(2).map(String::as_str).collect();
    asked.push("r/none.json");
    let deleted = t.delete_many(asked.iter().copied()).await.unwrap();
    assert_eq!(deleted.iter().filter(|d| **d).count(), 150);
    assert!(!deleted[150], "a key that was never saved is not deleted");
    // One listing for the target and one request per file, not a listing per key.
    assert_eq!(log.count("/data/list"), 1);
    assert_eq!(log.count("/data/delete/"), 150);
    assert_eq!(t.list_keys("r/").await.unwrap().len(), 150);
}

/// Issue 11: a single operation costs the same number of requests, and no listing, whatever
/// the target already holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_operations_cost_a_fixed_number_of_requests_however_large_the_target() {
    for batch_routes in [true, false] {
        let (client, log) = support::recorded_server(batch_routes);
        let (store, _) = store_over(client);
        let t = store.target("big", "t").unwrap();
        // From here on the entry exists and the backend knows whether the server has batches.
        let seed = [("seed.json", perfstore::Artifact::json(&json!({})))];
        assert!(t.save_many(seed).await.iter().all(Result::is_ok));
        let mut costs = Vec::new();
        for size in [0usize, 600] {
            let filler = (0..size).map(|i| {
                let key = format!("results/page_{i}.json");
                (key, perfstore::Artifact::json(&json!({ "i": i })))
            });
            assert!(t.save_many(filler).await.iter().all(Result::is_ok));
            let key = format!("results/new_{size}.json");
            log.clear();
            t.save_json(key.as_str(), &json!({"p50_ms": 1.5}))
                .await
                .unwrap();
            let put = log.total();
            log.clear();
            assert!(t.load_json(key.as_str()).await.unwrap().is_some());
            let get = log.total();
            log.clear();
            assert!(t.exists(key.as_str()).await.unwrap());
            let exists = log.total();
            log.clear();
            assert!(t.head("results/absent.json").await.unwrap().is_none());
            let miss = log.total();
            assert_eq!(log.count("/data/list"), 0, "a miss lists nothing");
            log.clear();
            assert!(t.delete(key.as_str()).await.unwrap());
            let delete = log.total();
            log.clear();
            // A key in other than its likely shape: text in a `.json` key.
            t.save_string(key.as_str(), "not json").await.unwrap();
            assert_eq!(
                t.load_string(key.as_str()).await.unwrap().as_deref(),
                Some("not json")
            );
            let other_shape = log.total();
            assert_eq!(log.count("/data/list"), 0, "no listing anywhere");
            costs.push([put, get, exists, miss, delete, other_shape]);
        }
        assert_eq!(
            costs[0], costs[1],
            "requests per operation [put, get, exists, miss, delete, other shape] in an empty \
             target vs one of 600 (batch routes: {batch_routes})"
        );
        assert_eq!(costs[0][0], 1, "a save in the likely shape is one request");
        assert_eq!(costs[0][1], 1, "a load of the likely shape is one request");
    }
}
