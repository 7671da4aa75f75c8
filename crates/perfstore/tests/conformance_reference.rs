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
    let namespace = format!("conformance-{}", uuid_like());
    (Store::new(CacheServiceStorage::new(client, namespace)), ())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

perfstore::conformance_tests!(
    reference,
    #[ignore = "needs the Python reference service: run tests/compat/run.sh"]
);
