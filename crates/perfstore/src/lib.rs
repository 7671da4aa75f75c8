//! # perfstore
//!
//! Storage for performance-analysis artifacts — JSON metrics, text/HTML/Markdown reports,
//! binaries — grouped **session → target → key** behind one async interface with
//! interchangeable backends:
//!
//! | backend | module | for |
//! |---|---|---|
//! | memory | [`memory`] | tests; zero I/O |
//! | local disk | [`local`] | the embedded default: `{root}/sessions/{session}/targets/{target}/{key}` |
//!
//! Layers wrap any backend and are backends themselves: [`metrics`] (per-operation counts,
//! bytes, latency percentiles; [`Store::with_metrics`]) and [`traced`] (a tracing span per
//! operation; [`Store::with_tracing`]).
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
pub mod baseline;
pub mod batch;
pub mod blocking;
pub mod cache_service;
pub mod compression;
pub mod config;
pub mod dedup;
pub mod diff;
pub mod error;
pub mod local;
pub mod memory;
pub mod metrics;
pub mod names;
pub mod session;
pub mod storage;
pub mod traced;
pub mod transfer;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use artifact::{Artifact, ArtifactKind, ArtifactMeta, ContentHash, canonical_json};
pub use config::{StorageConfig, StorageMode};
pub use error::{Error, Result};
pub use metrics::{MeteredStorage, MetricsSnapshot, StorageMetrics, StorageOp};
pub use names::{
    ArtifactPath, Key, KeyPrefix, NameError, SessionName, TargetName, TargetPath, ToKey,
};
pub use storage::{ByteReader, Capabilities, Storage, StorageExt, Store, TargetHandle};
pub use traced::TracedStorage;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
