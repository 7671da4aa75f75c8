//! The conformance suite against the memory backend.

perfstore::conformance_tests!(|| async { (perfstore::Store::memory(), ()) });
