//! [`CacheClient`]: the transport, the API key, and the route groups.

use std::fmt;
use std::sync::Arc;

use axum::Router;

use crate::api::{
    AdminStorageApi, DataApi, DeleteApi, ExistsApi, InfoApi, NamespaceApi, NamespacesApi,
    RetrieveApi, ServerApi, StoreApi, UpdateApi,
};
use crate::config::RemoteConfig;
use crate::error::Result;
use crate::transport::in_process::InProcessTransport;
use crate::transport::remote::RemoteTransport;
use crate::transport::{ApiKeyHeader, Transport, TransportFailure, WireRequest, WireResponse};

/// How a client reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Over HTTP (`reqwest`).
    Remote,
    /// An `axum::Router` in this process, called without a socket.
    InProcess,
}

/// A typed client for the MGraph-AI Cache Service wire.
///
/// Cheap to clone (one `Arc`), `Send + Sync`; clones share the connection pool. Route groups
/// mirror the official Python client: [`store`](Self::store), [`retrieve`](Self::retrieve),
/// [`exists`](Self::exists), [`update`](Self::update), [`delete`](Self::delete),
/// [`data`](Self::data), [`namespace`](Self::namespace), [`namespaces`](Self::namespaces),
/// [`admin_storage`](Self::admin_storage), [`server`](Self::server), [`info`](Self::info).
///
/// ```
/// # #[cfg(feature = "server")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_client::CacheClientError> {
/// use cache_client::{CacheClient, Strategy};
/// let client = CacheClient::in_memory();
/// let body = serde_json::json!({"name": "Alice", "age": 30});
/// let stored = client
///     .store()
///     .json_with_key("demo", Strategy::KeyBased, "users/alice", Some("profile"), None, &body)
///     .await?;
/// assert_eq!(stored.cache_hash, "58954ab6bb1eca61");
/// let back = client.retrieve().by_hash_json("demo", &stored.cache_hash).await?;
/// assert_eq!(back, Some(body));
/// # Ok(()) }
/// # #[cfg(not(feature = "server"))]
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct CacheClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    api_key: Option<ApiKeyHeader>,
}

impl CacheClient {
    fn from_parts(transport: Transport, api_key: Option<ApiKeyHeader>) -> Self {
        CacheClient {
            inner: Arc::new(Inner { transport, api_key }),
        }
    }

    /// A client for the service at `config.base_url`. Fails if the URL or API key is unusable.
    pub fn remote(config: RemoteConfig) -> Result<Self> {
        let transport = RemoteTransport::new(&config)?;
        let api_key = match &config.api_key {
            Some((name, value)) => Some(ApiKeyHeader::new(name, value)?),
            None => None,
        };
        Ok(Self::from_parts(Transport::Remote(transport), api_key))
    }

    /// A client that calls `router` in this process (no socket). Any router serving the
    /// wire works; for ours see [`CacheClient::in_memory`].
    pub fn in_process(router: Router) -> Self {
        Self::from_parts(Transport::InProcess(InProcessTransport::new(router)), None)
    }

    /// Our server with memory storage and no API key, in this process. Every call gets its
    /// own empty store.
    #[cfg(feature = "server")]
    pub fn in_memory() -> Self {
        Self::in_process(cache_service::router(cache_service::AppState::in_memory()))
    }

    /// Like the official client's `from_env`: remote if [`crate::ENV_URL`] is set (with the
    /// API key from [`crate::ENV_KEY_NAME`] / [`crate::ENV_KEY_VALUE`]), else
    /// [`CacheClient::in_memory`].
    #[cfg(feature = "server")]
    pub fn from_env() -> Result<Self> {
        match RemoteConfig::from_env()? {
            Some(config) => Self::remote(config),
            None => Ok(Self::in_memory()),
        }
    }

    /// Like the official client's `from_env`, but without the `server` feature there is no
    /// in-memory fallback: an unset [`crate::ENV_URL`] is an error.
    #[cfg(not(feature = "server"))]
    pub fn from_env() -> Result<Self> {
        match RemoteConfig::from_env()? {
            Some(config) => Self::remote(config),
            None => Err(crate::CacheClientError::config(format!(
                "{} is not set (and the in-memory fallback needs the `server` feature)",
                crate::ENV_URL
            ))),
        }
    }

    /// The same client (same transport and connection pool) sending header `name: value` on
    /// every request.
    pub fn with_api_key(&self, name: &str, value: &str) -> Result<Self> {
        let key = ApiKeyHeader::new(name, value)?;
        Ok(Self::from_parts(self.inner.transport.clone(), Some(key)))
    }

    /// The same client without an API key.
    pub fn without_api_key(&self) -> Self {
        Self::from_parts(self.inner.transport.clone(), None)
    }

    /// Remote or in-process.
    pub fn transport_kind(&self) -> TransportKind {
        match self.inner.transport {
            Transport::Remote(_) => TransportKind::Remote,
            Transport::InProcess(_) => TransportKind::InProcess,
        }
    }

    /// The base URL of a remote client (without a trailing `/`).
    pub fn base_url(&self) -> Option<&str> {
        match &self.inner.transport {
            Transport::Remote(t) => Some(t.base_url()),
            Transport::InProcess(_) => None,
        }
    }

    /// `true` if `/info/health` answers `{"status":"ok"}`; `false` on any error (like the
    /// official client's `health()`). Use [`InfoApi::health`] to see the error.
    pub async fn health(&self) -> bool {
        self.info().health().await.unwrap_or(false)
    }

    pub(crate) async fn transport_send(
        &self,
        request: &WireRequest,
    ) -> Result<WireResponse, TransportFailure> {
        self.inner
            .transport
            .send(request, self.inner.api_key.as_ref())
            .await
    }

    /// Store entries: `POST /{ns}/{strategy}/store/…`.
    pub fn store(&self) -> StoreApi<'_> {
        StoreApi::new(self)
    }

    /// Read entries by id or hash: `GET /{ns}/retrieve/…`.
    pub fn retrieve(&self) -> RetrieveApi<'_> {
        RetrieveApi::new(self)
    }

    /// Whether entries exist: `GET /{ns}/exists/…`.
    pub fn exists(&self) -> ExistsApi<'_> {
        ExistsApi::new(self)
    }

    /// Overwrite an entry's content: `POST /{ns}/update/{id}/…`.
    pub fn update(&self) -> UpdateApi<'_> {
        UpdateApi::new(self)
    }

    /// Delete entries: `DELETE /{ns}/delete/{id}`.
    pub fn delete(&self) -> DeleteApi<'_> {
        DeleteApi::new(self)
    }

    /// Child data files of an entry: `/{ns}/cache/{id}/data/…`.
    pub fn data(&self) -> DataApi<'_> {
        DataApi::new(self)
    }

    /// One namespace: hashes, ids, stats.
    pub fn namespace(&self) -> NamespaceApi<'_> {
        NamespaceApi::new(self)
    }

    /// All namespaces.
    pub fn namespaces(&self) -> NamespacesApi<'_> {
        NamespacesApi::new(self)
    }

    /// Raw storage access: `/admin/storage/…`.
    pub fn admin_storage(&self) -> AdminStorageApi<'_> {
        AdminStorageApi::new(self)
    }

    /// Server settings: `/server/…`.
    pub fn server(&self) -> ServerApi<'_> {
        ServerApi::new(self)
    }

    /// Service information: `/info/…`.
    pub fn info(&self) -> InfoApi<'_> {
        InfoApi::new(self)
    }
}

impl fmt::Debug for CacheClient {
    /// Shows the transport and base URL, and the API key's header name only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheClient")
            .field("transport", &self.transport_kind())
            .field("base_url", &self.base_url())
            .field(
                "api_key_header",
                &self.inner.api_key.as_ref().map(|k| k.name.as_str()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn client_is_send_sync_and_clone() {
        assert_send_sync_clone::<CacheClient>();
    }

    #[test]
    fn remote_config_errors_are_actionable() {
        let err = CacheClient::remote(RemoteConfig::new("127.0.0.1:10017")).unwrap_err();
        assert!(err.to_string().contains("http://"), "{err}");
        let err = CacheClient::remote(RemoteConfig::new("ftp://h")).unwrap_err();
        assert!(err.to_string().contains("http:// or https://"), "{err}");
        let err = CacheClient::remote(RemoteConfig::new("http://h").with_api_key("bad name", "v"))
            .unwrap_err();
        assert!(err.to_string().contains("header name"), "{err}");
        let err =
            CacheClient::remote(RemoteConfig::new("http://h").with_api_key("x-api-key", "a\nb"))
                .unwrap_err();
        assert!(err.to_string().contains("x-api-key"), "{err}");
    }

    #[test]
    fn https_clients_can_be_built() {
        // Building must not panic even when a crate in the build turned on reqwest's
        // `rustls-no-provider` (the provider is installed first).
        let client =
            CacheClient::remote(RemoteConfig::new("https://cache.example.invalid")).unwrap();
        assert_eq!(client.base_url(), Some("https://cache.example.invalid"));
    }

    #[test]
    fn debug_hides_the_key_and_trailing_slash_is_dropped() {
        let client = CacheClient::remote(
            RemoteConfig::new("http://127.0.0.1:9/").with_api_key("x-api-key", "s3cret"),
        )
        .unwrap();
        assert_eq!(client.base_url(), Some("http://127.0.0.1:9"));
        assert_eq!(client.transport_kind(), TransportKind::Remote);
        let text = format!("{client:?}");
        assert!(
            text.contains("x-api-key") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
