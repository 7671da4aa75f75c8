//! HTTP transport: one pooled `reqwest::Client`, timeouts, bounded retries with backoff for
//! idempotent calls.

use reqwest::header::CONTENT_ENCODING;
use reqwest::header::CONTENT_TYPE;

use super::{ApiKeyHeader, TransportFailure, WireRequest, WireResponse};
use crate::config::{RemoteConfig, RetryPolicy};
use crate::error::{CacheClientError, Result};

/// Statuses worth another attempt: the server (or a proxy in front of it) failed, not the
/// request.
fn retryable_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// The whole-call limit of a streamed upload or download, which may carry gigabytes; a stalled
/// transfer is still cut off by the per-read timeout (the request timeout).
const STREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

#[derive(Clone)]
pub(crate) struct RemoteTransport {
    http: reqwest::Client,
    /// Without a trailing `/`; request paths start with one.
    base_url: String,
    retries: RetryPolicy,
}

impl RemoteTransport {
    pub(crate) fn new(config: &RemoteConfig) -> Result<Self> {
        let base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url).map_err(|e| {
            CacheClientError::config(format!(
                "base URL {base_url:?} is not a URL ({e}); expected e.g. http://127.0.0.1:10017"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CacheClientError::config(format!(
                "base URL {base_url:?} must start with http:// or https://"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(CacheClientError::config(format!(
                "base URL {base_url:?} must not have a query or fragment"
            )));
        }
        // A crate with S3 support (cache-service) turns on reqwest's `rustls-no-provider`, and
        // feature unification makes every reqwest client panic without a process provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .read_timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| CacheClientError::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(RemoteTransport {
            http,
            base_url,
            retries: config.retries,
        })
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) async fn send(
        &self,
        request: &WireRequest,
        api_key: Option<&ApiKeyHeader>,
    ) -> Result<WireResponse, TransportFailure> {
        let url = format!("{}{}", self.base_url, request.path);
        let streaming = request.stream_body.is_some() || request.stream_response;
        let max_attempts = if request.idempotent && request.stream_body.is_none() {
            self.retries.max_attempts.max(1)
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= max_attempts;
            let mut builder = self.http.request(request.method.clone(), &url);
            if let Some(key) = api_key {
                builder = builder.header(key.name.clone(), key.value.clone());
            }
            if let Some(stream) = request.stream_body.as_ref().and_then(|s| s.take()) {
                builder = builder
                    .header(CONTENT_TYPE, super::OCTETS)
                    .body(reqwest::Body::wrap_stream(stream));
            } else if let Some((body, content_type)) = &request.body {
                builder = builder
                    .header(CONTENT_TYPE, *content_type)
                    .body(body.clone());
            }
            if streaming {
                builder = builder.timeout(STREAM_TIMEOUT);
            }
            if let Some(encoding) = request.content_encoding {
                builder = builder.header(CONTENT_ENCODING, encoding);
            }
            let failure = match builder.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let content_type = response.headers().get(CONTENT_TYPE).cloned();
                    if request.stream_response && (200..300).contains(&status) {
                        use futures::TryStreamExt;
                        let stream = response.bytes_stream().map_err(std::io::Error::other);
                        return Ok(WireResponse {
                            status,
                            content_type,
                            body: bytes::Bytes::new(),
                            stream: Some(Box::pin(stream)),
                        });
                    }
                    match response.bytes().await {
                        Ok(body) if last || !retryable_status(status) => {
                            return Ok(WireResponse {
                                status,
                                content_type,
                                body,
                                stream: None,
                            });
                        }
                        Ok(_) => format!("HTTP {status}"),
                        Err(e) if last => {
                            return Err(TransportFailure {
                                attempts: attempt,
                                source: Box::new(e),
                            });
                        }
                        Err(e) => e.to_string(),
                    }
                }
                // A request that cannot be built will not build next time either.
                Err(e) if last || e.is_builder() => {
                    return Err(TransportFailure {
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
                Err(e) => e.to_string(),
            };
            let wait = self.retries.backoff(attempt);
            tracing::debug!(
                method = %request.method,
                path = %request.path,
                attempt,
                ?wait,
                failure = %failure,
                "retrying cache-service call"
            );
            tokio::time::sleep(wait).await;
        }
    }
}
