//! In-process transport: the server's `axum::Router` called directly with
//! `tower::ServiceExt::oneshot`. No socket, no serialisation beyond the HTTP bodies.

use axum::Router;
use axum::body::Body;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use tower::ServiceExt;

use super::{ApiKeyHeader, TransportFailure, WireRequest, WireResponse};

#[derive(Clone)]
pub(crate) struct InProcessTransport {
    router: Router,
}

impl InProcessTransport {
    pub(crate) fn new(router: Router) -> Self {
        InProcessTransport { router }
    }

    pub(crate) async fn send(
        &self,
        request: &WireRequest,
        api_key: Option<&ApiKeyHeader>,
    ) -> Result<WireResponse, TransportFailure> {
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| TransportFailure {
            attempts: 1,
            source,
        };
        let mut builder = axum::http::Request::builder()
            .method(request.method.clone())
            .uri(request.path.as_str());
        if let Some(key) = api_key {
            builder = builder.header(key.name.clone(), key.value.clone());
        }
        if let Some(encoding) = request.content_encoding {
            builder = builder.header(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        let body = match (
            &request.body,
            request.stream_body.as_ref().and_then(|s| s.take()),
        ) {
            (_, Some(stream)) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(super::OCTETS));
                Body::from_stream(stream)
            }
            (Some((bytes, content_type)), None) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(content_type));
                Body::from(bytes.clone())
            }
            (None, None) => Body::empty(),
        };
        let http_request = builder.body(body).map_err(|e| fail(Box::new(e)))?;
        // `Router` is a cheap handle (an `Arc` inside); its error type is `Infallible`.
        let response = match self.router.clone().oneshot(http_request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        if request.stream_response && (200..300).contains(&status) {
            use futures::TryStreamExt;
            let stream = response
                .into_body()
                .into_data_stream()
                .map_err(std::io::Error::other);
            return Ok(WireResponse {
                status,
                content_type,
                body: bytes::Bytes::new(),
                stream: Some(Box::pin(stream)),
            });
        }
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| fail(Box::new(e)))?;
        Ok(WireResponse {
            status,
            content_type,
            body,
            stream: None,
        })
    }
}
