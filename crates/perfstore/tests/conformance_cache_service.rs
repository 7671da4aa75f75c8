//! The conformance suite against the cache-service backend over our server, in-process: once
//! as it is, and once without the batch routes (as against the reference, bulk operations
//! then fall back to single requests).

mod support;

use cache_client::CacheClient;
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;

perfstore::conformance_tests!(|| async {
    let backend = CacheServiceStorage::new(CacheClient::in_memory(), "perf-results");
    (Store::new(backend), ())
});

mod without_batch_routes {
    use super::*;

    perfstore::conformance_tests!(|| async {
        let (client, _) = support::recorded_server(false);
        (
            Store::new(CacheServiceStorage::new(client, "perf-results")),
            (),
        )
    });
}
