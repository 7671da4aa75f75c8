//! The conformance suite against the Python reference service (`mgraph-ai-service-cache`
//! 0.14.0) over a socket. `tests/compat/run.sh` starts the reference on 127.0.0.1 and runs
//! these with `PERFSTORE_REFERENCE_URL` set; they are `#[ignore]`d in a plain `cargo test`,
//! and fail loudly (never pass vacuously) if run without that variable.

use cache_client::{CacheClient, RemoteConfig};
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;

async fn reference() -> (Store, ()) {
    let url = std::env::var("PERFSTORE_REFERENCE_URL")
        .expect("PERFSTORE_REFERENCE_URL must point at a running reference service (see tests/compat/run.sh)");
    let mut config = RemoteConfig::new(url);
    if let (Ok(name), Ok(value)) = (
        std::env::var("PERFSTORE_REFERENCE_KEY_NAME"),
        std::env::var("PERFSTORE_REFERENCE_KEY_VALUE"),
    ) {
        config = config.with_api_key(name, value);
    }
    let client = CacheClient::remote(config).expect("reference client");
    // Each test gets its own namespace: the reference is one shared process.
    let namespace = format!("conformance-{}", uuid::Uuid::new_v4());
    (Store::new(CacheServiceStorage::new(client, namespace)), ())
}

perfstore::conformance_tests!(
    reference,
    #[ignore = "needs the Python reference service: run tests/compat/run.sh"]
);

/// Bulk loads from our server use JSON child files as stored when they are laid out as
/// `json.dumps(indent=4)`: the reference must write exactly our canonical text, so a bucket it
/// wrote reads the same through our server's batch routes.
#[tokio::test]
#[ignore = "needs the Python reference service: run tests/compat/run.sh"]
async fn the_reference_writes_json_child_files_as_our_canonical_text() {
    use perfstore::{Artifact, TargetPath};
    use serde_json::json;
    let url = std::env::var("PERFSTORE_REFERENCE_URL")
        .expect("PERFSTORE_REFERENCE_URL must point at a running reference service");
    let client = CacheClient::remote(RemoteConfig::new(url)).expect("reference client");
    let namespace = format!("canonical-{}", uuid::Uuid::new_v4());
    let backend = CacheServiceStorage::new(client.clone(), namespace.as_str());
    let store = Store::new(backend.clone());
    let value = json!({
        "floats": [0.1, 1e16, 1.5e-7, -0.0, 1e300, 123456789.123, 2.5, 100.0],
        "ints": [0, -1, 18446744073709551617u128, 9007199254740993u64],
        "text": ["é", "\u{1F600}", "\u{0001}", "quote \" backslash \\ slash / nl \n tab \t"],
        "empty": [{}, [], ""],
        "nested": {"null": null, "t": true, "f": false, "deep": {"a": [[1], {"b": {}}]}},
    });
    let artifact = Artifact::json(&value);
    let t = store.target("s", "t").expect("names");
    t.put("m.json", artifact.clone()).await.expect("save");
    let id = backend
        .entry_id(&TargetPath::parse("s", "t").expect("names"))
        .await
        .expect("lookup")
        .expect("entry");
    let listing = client
        .data()
        .list(&namespace, &id, None, true)
        .await
        .expect("list");
    assert_eq!(listing.files.len(), 1, "{listing:?}");
    let stored = client
        .admin_storage()
        .file_bytes(&listing.files[0].file_path)
        .await
        .expect("file bytes");
    assert_eq!(
        String::from_utf8_lossy(&stored),
        String::from_utf8_lossy(artifact.bytes())
    );
}
