//! A server wire-compatible with the MGraph-AI Cache Service 0.14.0.
//!
//! [`router`] is the single entry point: `routes` (in [`http`]) parse, validate and map errors
//! to the reference's envelopes; [`service`] holds the logic (strategies, references, child
//! data, namespaces); [`store`] is the file store (paths → bytes) on `object_store`. The server
//! keeps no state besides the store, so several instances may share one bucket or folder.
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
pub mod http;
pub mod json;
pub mod server;
pub mod service;
pub mod store;

use std::sync::Arc;

pub use http::router;
pub use server::{
    AuthSettings, ConfigError, DEFAULT_MAX_BODY_BYTES, RunningServer, ServeError, ServerConfig,
    StorageConfig, serve, start,
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
    /// `/info/server`.
    pub identity: Arc<ServerIdentity>,
    routes: Arc<http::routing::RouteTable>,
}

/// The route table: ~80 compiled patterns that never change, so built once per process
/// (a fresh `AppState` used to cost ~4 ms of regex compilation).
static ROUTES: std::sync::LazyLock<Arc<http::routing::RouteTable>> =
    std::sync::LazyLock::new(|| Arc::new(http::route_table()));

impl AppState {
    /// State over `service` with `auth` and the default body limit.
    pub fn new(service: CacheService, auth: AuthSettings) -> Self {
        AppState {
            service: Arc::new(service),
            auth: Arc::new(auth),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            identity: Arc::new(ServerIdentity::new()),
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
}
