//! The backends: each implements [`crate::Storage`] and passes the shared conformance suite.
//!
//! | backend | module | for |
//! |---|---|---|
//! | memory | [`memory`] | tests; zero I/O |
//! | local disk | [`local`] | the embedded default: `{root}/sessions/{session}/targets/{target}/{key}` |
//! | MGraph-AI Cache Service | [`cache_service`] (feature `cache-service`, on by default) | production: a content-hashed HTTP store |
//! | object store | [`object_store`] (feature `object-store`, on by default) | straight into an S3 bucket (or a folder, or memory), the local layout |
//!
//! A new backend is one more module here: implement [`crate::Storage`], declare its
//! [`crate::Capabilities`], add a constructor, and run `perfstore::conformance_tests!` in its
//! tests.

#[cfg(feature = "cache-service")]
pub mod cache_service;
pub mod local;
pub mod memory;
#[cfg(feature = "object-store")]
pub mod object_store;
