//! # perfstore
//!
//! Storage for performance-analysis artifacts — JSON metrics, text/HTML/Markdown reports,
//! binaries — grouped **session → target → key** behind one async interface with
//! interchangeable backends. Where things live:
//!
//! | module | what |
//! |---|---|
//! | [`names`], [`artifact`], [`error`] | validated names and keys, artifacts and their hashes, the error type |
//! | [`storage`] | the interface: the [`Storage`] trait, [`StorageExt`] helpers, [`Store`] and [`TargetHandle`] |
//! | [`config`] | the environment's configuration and the factory that opens a backend |
//! | [`compression`] | the zstd container every backend uses for large artifacts |
//! | [`backends`] | [`memory`], [`local`], [`cache_service`] (cargo feature `cache-service`, default) and [`object_store`] (feature `object-store`, default) |
//! | [`layers`] | wrappers over any backend: [`metrics`], [`traced`] |
//! | [`workflows`] | what runs on any backend: [`session`], [`batch`], [`baseline`], [`diff`], [`dedup`], [`transfer`] |
//! | [`blocking`] | a synchronous facade |
//! | `conformance` | the suite every backend passes (feature `conformance`) |
//!
//! Dependencies point one way: the core knows no backend, backends and layers know only the
//! core, workflows know only the core's interface. `docs/ARCHITECTURE.md` walks through it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> perfstore::Result<()> {
//! use perfstore::Store;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Metrics { p50_ms: f64, p99_ms: f64 }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::local(dir.path());
//! let parser = store.target("nightly-2026-11-21", "parser")?;
//! parser.save("results/metrics.json", &Metrics { p50_ms: 1.5, p99_ms: 9.0 }).await?;
//! parser.save_string("reports/summary.md", "# parser\nall good").await?;
//!
//! let back: Option<Metrics> = parser.load("results/metrics.json").await?;
//! assert_eq!(back, Some(Metrics { p50_ms: 1.5, p99_ms: 9.0 }));
//! assert_eq!(parser.list_keys("results/").await?, ["results/metrics.json"]);
//! # Ok(()) }
//! ```
//!
//! Start from [`Store`] (open one with [`StorageConfig::open`] or [`Store::local`] /
//! [`Store::memory`]), take a [`TargetHandle`] with [`Store::target`], and use its typed
//! helpers. Backends implement [`Storage`]; every backend passes the shared conformance suite
//! (`conformance`, behind the `conformance` feature).

pub mod artifact;
pub mod backends;
pub mod blocking;
pub mod compression;
pub mod config;
pub mod error;
pub mod layers;
pub mod names;
pub mod storage;
pub mod workflows;

// Where users import them today: `perfstore::local`, `perfstore::diff`, …
#[cfg(feature = "cache-service")]
pub use backends::cache_service;
#[cfg(feature = "object-store")]
pub use backends::object_store;
pub use backends::{local, memory};
pub use layers::{metrics, traced};
pub use workflows::{baseline, batch, dedup, diff, direction, history, session, stats, transfer};

#[cfg(feature = "conformance")]
pub mod conformance;

pub use artifact::{Artifact, ArtifactKind, ArtifactMeta, ContentHash, canonical_json};
pub use config::{StorageConfig, StorageMode};
pub use error::{Error, Result};
pub use metrics::{MeteredStorage, MetricsSnapshot, StorageMetrics, StorageOp};
pub use names::{
    ArtifactPath, Key, KeyPrefix, NameError, SessionName, TargetName, TargetPath, ToKey,
};
pub use storage::{
    ByteReader, Capabilities, Storage, StorageExt, Store, TargetHandle, TargetSizes,
};
pub use traced::TracedStorage;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
