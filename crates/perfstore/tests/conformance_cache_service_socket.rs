//! The conformance suite against the cache-service backend over a real socket: our server on
//! 127.0.0.1, the reqwest transport, one server per test.

use cache_client::LocalServer;
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;

perfstore::conformance_tests!(|| async {
    let server = LocalServer::in_memory()
        .await
        .expect("start the local server");
    let backend = CacheServiceStorage::new(server.client(), "perf-results");
    (Store::new(backend), server)
});
