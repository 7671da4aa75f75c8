//! Serving: configuration, binding, graceful shutdown. The clap front end is in `cli`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::connections::{
    ConnectionLimits, DEFAULT_BODY_IDLE_TIMEOUT, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
};
use crate::service::CacheService;
pub use crate::store::DEFAULT_STAGING_GRACE;
use crate::store::{FileStore, StoreError};
use crate::{AppState, ServerIdentity, http};

/// Default request body limit: 256 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// Default limit of a streamed binary body (binary stores and child data), which is written
/// through without being held in memory: 16 GiB.
pub const DEFAULT_MAX_STREAM_BYTES: u64 = 16 << 30;

/// Environment variable naming the API-key header/cookie (as in the reference).
pub const ENV_API_KEY_NAME: &str = "FAST_API__AUTH__API_KEY__NAME";
/// Environment variable holding the API key (as in the reference).
pub const ENV_API_KEY_VALUE: &str = "FAST_API__AUTH__API_KEY__VALUE";

/// API-key settings (`Middleware__Check_API_Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Whether requests need the key (the reference's `enable_api_key`).
    pub enabled: bool,
    /// Header and cookie name, e.g. `x-api-key`.
    pub key_name: Option<String>,
    /// The key.
    pub key_value: Option<String>,
}

impl AuthSettings {
    /// No API key required.
    pub fn disabled() -> Self {
        AuthSettings {
            enabled: false,
            key_name: None,
            key_value: None,
        }
    }

    /// Requests need header (or cookie) `name` with `value`.
    pub fn api_key(name: impl Into<String>, value: impl Into<String>) -> Self {
        AuthSettings {
            enabled: true,
            key_name: Some(name.into()),
            key_value: Some(value.into()),
        }
    }

    /// From `FAST_API__AUTH__API_KEY__NAME` / `__VALUE` (empty values count as unset).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        AuthSettings {
            enabled: true,
            key_name: var(ENV_API_KEY_NAME),
            key_value: var(ENV_API_KEY_VALUE),
        }
    }

    /// Refuses settings under which the reference would answer 401 to every request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        match (&self.key_name, &self.key_value) {
            (Some(_), Some(_)) => Ok(()),
            (None, None) => Err(ConfigError::AuthNotConfigured),
            (None, Some(_)) => Err(ConfigError::AuthHalfConfigured {
                missing: ENV_API_KEY_NAME,
            }),
            (Some(_), None) => Err(ConfigError::AuthHalfConfigured {
                missing: ENV_API_KEY_VALUE,
            }),
        }
    }
}

/// Where entries are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// In memory, lost on exit.
    Memory,
    /// Files under a folder, the layout of the reference's `local_disk` mode.
    Disk {
        /// The root folder.
        path: PathBuf,
    },
    /// An S3 or S3-compatible bucket (credentials, region and `AWS_ENDPOINT_URL` from the
    /// standard AWS environment variables).
    S3 {
        /// The bucket (`CACHE__SERVICE__BUCKET_NAME`).
        bucket: String,
    },
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither API-key variable is set and no-auth was not requested.
    #[error(
        "no API key configured: set {ENV_API_KEY_NAME} (the header/cookie name, e.g. x-api-key) and {ENV_API_KEY_VALUE} (the key), or run with --no-auth (CACHE__SERVICE__NO_AUTH=true) for local development"
    )]
    AuthNotConfigured,
    /// Exactly one API-key variable is set.
    #[error(
        "API key half configured: {missing} is not set; set both {ENV_API_KEY_NAME} and {ENV_API_KEY_VALUE}, or neither together with --no-auth"
    )]
    AuthHalfConfigured {
        /// The variable that is missing.
        missing: &'static str,
    },
    /// Storage cannot be used.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// S3 support is not available or the S3 settings are unusable.
    #[error("S3 storage: {0}")]
    S3(String),
}

/// Everything needed to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 for any free port).
    pub port: u16,
    /// Storage backend.
    pub storage: StorageConfig,
    /// API-key settings.
    pub auth: AuthSettings,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted streamed binary body in bytes.
    pub max_stream_bytes: u64,
    /// `CACHE__SERVICE__DEFAULT_TTL_HOURS` (reported only).
    pub ttl_hours: u64,
    /// Timeouts and the connection cap.
    pub limits: ConnectionLimits,
    /// Staging files of streamed uploads (local disk) untouched for this long and not being
    /// written by this process are deleted at start-up and periodically.
    pub staging_grace: Duration,
}

impl ServerConfig {
    /// A configuration with API-key auth from the environment, the default body limit and a
    /// TTL of 24 hours.
    pub fn new(host: impl Into<String>, port: u16, storage: StorageConfig) -> Self {
        ServerConfig {
            host: host.into(),
            port,
            storage,
            auth: AuthSettings::from_env(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            ttl_hours: 24,
            limits: ConnectionLimits::default(),
            staging_grace: DEFAULT_STAGING_GRACE,
        }
    }

    /// The file store this configuration selects.
    pub fn file_store(&self) -> Result<FileStore, ConfigError> {
        match &self.storage {
            StorageConfig::Memory => Ok(FileStore::memory()),
            StorageConfig::Disk { path } => Ok(FileStore::local_disk(path.clone())?),
            StorageConfig::S3 { bucket } => {
                crate::store::s3::from_env(bucket).map_err(ConfigError::S3)
            }
        }
    }

    /// The application state this configuration describes.
    pub fn app_state(&self) -> Result<AppState, ConfigError> {
        self.auth.validate()?;
        let service = CacheService::new(self.file_store()?, self.ttl_hours);
        Ok(AppState::new(service, self.auth.clone())
            .with_max_body_bytes(self.max_body_bytes)
            .with_max_stream_bytes(self.max_stream_bytes))
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// `host:port`.
        addr: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The server task ended abnormally.
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A server running in the background.
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    reclaimer: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(reclaimer) = self.reclaimer.take() {
            reclaimer.abort();
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// Binds `config.host:config.port` and serves in a background task.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServeError> {
    let state = config.app_state()?;
    if let StorageConfig::S3 { bucket } = &config.storage {
        state.service.store().verify().await.map_err(|e| {
            ConfigError::S3(format!(
                "bucket {bucket:?} is not reachable ({e}); create it first (this server does not create buckets) and check the AWS_* variables"
            ))
        })?;
    }
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, storage = ?config.storage, auth = config.auth.enabled, limits = ?config.limits, "cache service listening");
    #[cfg(feature = "openapi")]
    tracing::info!("API docs at http://{local}/docs (OpenAPI document at /openapi.json)");
    Ok(start_on_with(
        listener,
        state,
        config.limits,
        Some(config.staging_grace),
    ))
}

/// Serves `state` on an already bound listener in a background task, with the default
/// [`ConnectionLimits`] and staging grace.
pub fn start_on(listener: TcpListener, state: AppState) -> RunningServer {
    start_on_with(
        listener,
        state,
        ConnectionLimits::default(),
        Some(DEFAULT_STAGING_GRACE),
    )
}

/// Serves `state` on an already bound listener in a background task under `limits`. With a
/// `staging_grace`, staging files of dead uploads are reclaimed at start and then every
/// quarter of the grace (between 1 s and 15 min) while the server runs.
pub fn start_on_with(
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    staging_grace: Option<Duration>,
) -> RunningServer {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (tx, rx) = oneshot::channel::<()>();
    let store = state.service.store().clone();
    let reclaimer = staging_grace.map(|grace| {
        tokio::spawn(async move {
            let every = (grace / 4).clamp(Duration::from_secs(1), Duration::from_secs(900));
            loop {
                let reclaimed = store.reclaim_staging(grace).await;
                if reclaimed.files > 0 {
                    tracing::info!(
                        files = reclaimed.files,
                        bytes = reclaimed.bytes,
                        "reclaimed staging files of dead uploads"
                    );
                }
                tokio::time::sleep(every).await;
            }
        })
    });
    let app = http::router(state);
    let task = tokio::spawn(crate::connections::serve(
        listener,
        app,
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    RunningServer {
        addr,
        shutdown: Some(tx),
        task,
        reclaimer,
    }
}

/// Serves until `shutdown` completes, then shuts down gracefully.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let server = start(config).await?;
    shutdown.await;
    tracing::info!("cache service shutting down");
    server.shutdown().await
}

/// A fresh server identity (exposed for embedders building their own [`AppState`]).
pub fn identity() -> ServerIdentity {
    ServerIdentity::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_must_be_complete_or_explicitly_off() {
        assert!(AuthSettings::disabled().validate().is_ok());
        assert!(AuthSettings::api_key("x-api-key", "k").validate().is_ok());
        let none = AuthSettings {
            enabled: true,
            key_name: None,
            key_value: None,
        };
        let err = none.validate().unwrap_err().to_string();
        assert!(
            err.contains("--no-auth") && err.contains(ENV_API_KEY_NAME),
            "{err}"
        );
        let half = AuthSettings {
            enabled: true,
            key_name: Some("x-api-key".into()),
            key_value: None,
        };
        let err = half.validate().unwrap_err().to_string();
        assert!(
            err.contains("FAST_API__AUTH__API_KEY__VALUE is not set"),
            "{err}"
        );
    }
}
