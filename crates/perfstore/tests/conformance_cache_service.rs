//! The conformance suite against the cache-service backend over our server, in-process.

use cache_client::CacheClient;
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;

perfstore::conformance_tests!(|| async {
    let backend = CacheServiceStorage::new(CacheClient::in_memory(), "perf-results");
    (Store::new(backend), ())
});
