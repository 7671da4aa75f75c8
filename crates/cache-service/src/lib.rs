//! A server wire-compatible with the MGraph-AI Cache Service 0.14.0.
//!
//! [`router`] is the single entry point: `routes` (in [`http`]) parse, validate and map errors
//! to the reference's envelopes; [`service`] holds the logic (strategies, references, child
//! data, namespaces); [`store`] is the file store (paths → bytes) on `object_store`. The server
//! keeps no state besides the store and a cache of by-hash references that is checked against
//! the store (ETag) on every use, so several instances may share one bucket or folder.
//!
//! `GET /metrics` (not part of the reference wire; COMPAT.md D31) serves each instance's own
//! Prometheus counters and histograms ([`metrics`]): HTTP requests, latency and body bytes per
//! route group and status class, and file-store operation latency and errors. When auth is
//! enabled it needs the API key, like every path outside the reference's excluded paths.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use cache_service::{AuthSettings, ServerConfig, StorageConfig};
//! let config = ServerConfig {
//!     auth: AuthSettings::disabled(),
//!     ..ServerConfig::new("127.0.0.1", 0, StorageConfig::Memory)
//! };
//! let server = cache_service::start(config).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
mod connections;
pub mod http;
pub mod json;
pub mod metrics;
pub mod server;
pub mod service;
pub mod store;

use std::sync::Arc;

pub use http::router;
pub use server::{
    AuthSettings, ConfigError, ConnectionLimits, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_STREAM_BYTES,
    RunningServer, ServeError, ServerConfig, StorageConfig, serve, start,
};

use service::CacheService;

/// Identity reported by `/info/server`.
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    /// A uuid4 chosen at start-up.
    pub instance_id: String,
    /// Start-up time, ms since the Unix epoch.
    pub boot_time_ms: i64,
}

impl ServerIdentity {
    /// A fresh identity.
    pub fn new() -> Self {
        ServerIdentity {
            instance_id: uuid::Uuid::new_v4().to_string(),
            boot_time_ms: service::now_ms(),
        }
    }
}

impl Default for ServerIdentity {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The cache service.
    pub service: Arc<CacheService>,
    /// API-key settings.
    pub auth: Arc<AuthSettings>,
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Largest accepted streamed binary body, in bytes (413 beyond).
    pub max_stream_bytes: u64,
    /// `/info/server`.
    pub identity: Arc<ServerIdentity>,
    /// This instance's Prometheus registry (`GET /metrics`); its storage metrics are attached
    /// to `service`'s file store.
    pub metrics: Arc<metrics::Metrics>,
    routes: Arc<http::routing::RouteTable>,
}

/// The route table: ~80 compiled patterns that never change, so built once per process
/// (a fresh `AppState` used to cost ~4 ms of regex compilation).
static ROUTES: std::sync::LazyLock<Arc<http::routing::RouteTable>> =
    std::sync::LazyLock::new(|| Arc::new(http::route_table()));

impl AppState {
    /// State over `service` with `auth` and the default body limit.
    ///
    /// A fresh metrics registry is created and attached to the service's file store, so each
    /// state counts only its own requests and storage operations.
    pub fn new(service: CacheService, auth: AuthSettings) -> Self {
        let metrics = Arc::new(metrics::Metrics::new());
        // The same service over an instrumented clone of its store (CacheService is the store,
        // the reported TTL and a by-hash reference cache, which starts empty here).
        let store = service
            .store()
            .clone()
            .with_metrics(Arc::clone(metrics.store()));
        let service = CacheService::new(store, service.ttl_hours());
        AppState {
            service: Arc::new(service),
            auth: Arc::new(auth),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            identity: Arc::new(ServerIdentity::new()),
            metrics,
            routes: Arc::clone(&ROUTES),
        }
    }

    /// In-memory storage, no API key: what tests and in-process clients usually want.
    pub fn in_memory() -> Self {
        AppState::new(
            CacheService::new(store::FileStore::memory(), 24),
            AuthSettings::disabled(),
        )
    }

    /// The same state with another body limit.
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The same state with another limit for streamed binary bodies.
    pub fn with_max_stream_bytes(mut self, limit: u64) -> Self {
        self.max_stream_bytes = limit;
        self
    }
}
