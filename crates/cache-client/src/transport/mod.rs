//! The two ways a request reaches a server: over HTTP ([`remote`]) or by calling an
//! `axum::Router` in the same process ([`in_process`]). Both take a [`WireRequest`] and give
//! a fully read [`WireResponse`]; everything above them is shared.

pub(crate) mod in_process;
pub(crate) mod remote;

use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use futures::Stream;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use crate::error::{BoxError, CacheClientError, Result};

/// `application/json`.
pub(crate) const JSON: &str = "application/json";
/// `application/octet-stream`.
pub(crate) const OCTETS: &str = "application/octet-stream";

/// A body sent or received chunk by chunk, never held whole.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + 'static>>;

/// A streamed request body: taken by the one attempt that sends it (never retried).
pub(crate) struct StreamBody(Mutex<Option<ByteStream>>);

impl StreamBody {
    pub(crate) fn new(stream: ByteStream) -> Self {
        StreamBody(Mutex::new(Some(stream)))
    }

    /// The stream; `None` once sent.
    pub(crate) fn take(&self) -> Option<ByteStream> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl std::fmt::Debug for StreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamBody")
    }
}

/// One request, transport-independent.
#[derive(Debug)]
pub(crate) struct WireRequest {
    pub method: Method,
    /// Path and query, starting with `/`, already percent-encoded.
    pub path: String,
    /// Body and its content type, if any.
    pub body: Option<(Bytes, &'static str)>,
    /// A streamed body (`application/octet-stream`), sent instead of `body`.
    pub stream_body: Option<StreamBody>,
    /// Hand a 2xx response body over as a stream instead of reading it.
    pub stream_response: bool,
    /// `Content-Encoding` of the body (`gzip` for pre-compressed binary stores).
    pub content_encoding: Option<&'static str>,
    /// Safe to send again (see [`crate::RetryPolicy`]).
    pub idempotent: bool,
}

/// One response, body fully read (or, for a 2xx to a streaming request, in `stream`).
pub(crate) struct WireResponse {
    pub status: u16,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
    pub stream: Option<ByteStream>,
}

impl std::fmt::Debug for WireResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body", &self.body)
            .field("stream", &self.stream.is_some())
            .finish()
    }
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
