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
