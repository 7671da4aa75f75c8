//! The two ways a request reaches a server: over HTTP ([`remote`]) or by calling an
//! `axum::Router` in the same process ([`in_process`]). Both take a [`WireRequest`] and give
//! a fully read [`WireResponse`]; everything above them is shared.

pub(crate) mod in_process;
pub(crate) mod remote;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use crate::error::{BoxError, CacheClientError, Result};

/// `application/json`.
pub(crate) const JSON: &str = "application/json";
/// `application/octet-stream`.
pub(crate) const OCTETS: &str = "application/octet-stream";

/// One request, transport-independent.
#[derive(Debug)]
pub(crate) struct WireRequest {
    pub method: Method,
    /// Path and query, starting with `/`, already percent-encoded.
    pub path: String,
    /// Body and its content type, if any.
    pub body: Option<(Bytes, &'static str)>,
    /// `Content-Encoding` of the body (`gzip` for pre-compressed binary stores).
    pub content_encoding: Option<&'static str>,
    /// Safe to send again (see [`crate::RetryPolicy`]).
    pub idempotent: bool,
}

/// One response, body fully read.
#[derive(Debug)]
pub(crate) struct WireResponse {
    pub status: u16,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// A request that could not be completed.
#[derive(Debug)]
pub(crate) struct TransportFailure {
    pub attempts: u32,
    pub source: BoxError,
}

/// The API-key header sent on every request.
#[derive(Clone)]
pub(crate) struct ApiKeyHeader {
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl ApiKeyHeader {
    /// Checks that `name`/`value` can be sent as an HTTP header.
    pub(crate) fn new(name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| {
            CacheClientError::config(format!(
                "API key header name {name:?} is not a valid HTTP header name: {e}"
            ))
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            CacheClientError::config(format!(
                "the API key for header {name} contains characters an HTTP header cannot carry"
            ))
        })?;
        value.set_sensitive(true);
        Ok(ApiKeyHeader { name, value })
    }
}

/// The transport of a client.
#[derive(Clone)]
pub(crate) enum Transport {
    Remote(remote::RemoteTransport),
    InProcess(in_process::InProcessTransport),
}

impl Transport {
    pub(crate) async fn send(
        &self,
        request: &WireRequest,
        api_key: Option<&ApiKeyHeader>,
    ) -> Result<WireResponse, TransportFailure> {
        match self {
            Transport::Remote(t) => t.send(request, api_key).await,
            Transport::InProcess(t) => t.send(request, api_key).await,
        }
    }
}
