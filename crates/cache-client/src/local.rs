//! [`LocalServer`]: our server on a real socket (`127.0.0.1`, a free port), for tests that want
//! the remote transport end to end.

use std::net::SocketAddr;

use cache_service::AppState;
use cache_service::server::{RunningServer, start_on};

use crate::client::CacheClient;
use crate::config::RemoteConfig;
use crate::error::{CacheClientError, Result};

/// Our server listening on `127.0.0.1:<free port>` in a background task, with a remote client
/// pointed at it. Stopped by [`LocalServer::stop`] or, without waiting, when dropped.
///
/// Needs a Tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_client::CacheClientError> {
/// use cache_client::LocalServer;
/// let server = LocalServer::in_memory().await?;
/// assert!(server.client().info().health().await?);
/// server.stop().await?;
/// # Ok(()) }
/// ```
pub struct LocalServer {
    running: Option<RunningServer>,
    config: RemoteConfig,
    client: CacheClient,
}

impl LocalServer {
    /// Serves `state` on `127.0.0.1:0`. The client sends the state's API key if auth is on.
    pub async fn start(state: AppState) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| CacheClientError::config(format!("cannot listen on 127.0.0.1: {e}")))?;
        let api_key = match (
            state.auth.enabled,
            &state.auth.key_name,
            &state.auth.key_value,
        ) {
            (true, Some(name), Some(value)) => Some((name.clone(), value.clone())),
            _ => None,
        };
        let running = start_on(listener, state);
        let mut config = RemoteConfig::new(running.base_url());
        config.api_key = api_key;
        let client = CacheClient::remote(config.clone())?;
        Ok(LocalServer {
            running: Some(running),
            config,
            client,
        })
    }

    /// Our server with memory storage and no API key.
    pub async fn in_memory() -> Result<Self> {
        Self::start(AppState::in_memory()).await
    }

    /// A client for this server (a cheap clone).
    pub fn client(&self) -> CacheClient {
        self.client.clone()
    }

    /// The configuration of [`LocalServer::client`], to build variants (no key, other retries).
    pub fn remote_config(&self) -> RemoteConfig {
        self.config.clone()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running
            .as_ref()
            .map(RunningServer::addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server
    /// task to end.
    pub async fn stop(mut self) -> Result<()> {
        match self.running.take() {
            Some(running) => running.shutdown().await.map_err(|e| {
                CacheClientError::config(format!("local server did not stop cleanly: {e}"))
            }),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServer")
            .field("base_url", &self.config.base_url)
            .finish()
    }
}
// Dropping `RunningServer` drops its shutdown sender, which starts a graceful shutdown.
