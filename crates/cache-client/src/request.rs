//! One call from start to finish: build the request ([`Req`]), send it, and turn the response
//! into a value or a [`CacheClientError`] ([`Exchange`]). Shared by every API group.

use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::CacheClient;
use crate::error::{CacheClientError, Call, Result};
use crate::path::PathBuilder;
use crate::transport::{ByteStream, JSON, OCTETS, StreamBody, WireRequest, WireResponse};

/// A request being built. Errors (an unroutable parameter, an unserialisable body) are kept
/// until [`Req::send`], which reports them as [`CacheClientError::InvalidInput`] naming the call.
pub(crate) struct Req {
    op: &'static str,
    method: Method,
    route: &'static str,
    path: PathBuilder,
    error: Option<String>,
    body: Option<(Bytes, &'static str)>,
    stream_body: Option<ByteStream>,
    stream_response: bool,
    content_encoding: Option<&'static str>,
    idempotent: bool,
}

impl Req {
    /// A request for client method `op` on `route` (the template, used in errors raised before
    /// the path is complete). GET and DELETE are idempotent; POST is not unless marked.
    pub(crate) fn new(op: &'static str, method: Method, route: &'static str) -> Self {
        let idempotent = method == Method::GET || method == Method::DELETE;
        Req {
            op,
            method,
            route,
            path: PathBuilder::new(),
            error: None,
            body: None,
            stream_body: None,
            stream_response: false,
            content_encoding: None,
            idempotent,
        }
    }

    pub(crate) fn get(op: &'static str, route: &'static str) -> Self {
        Req::new(op, Method::GET, route)
    }

    pub(crate) fn post(op: &'static str, route: &'static str) -> Self {
        Req::new(op, Method::POST, route)
    }

    pub(crate) fn delete(op: &'static str, route: &'static str) -> Self {
        Req::new(op, Method::DELETE, route)
    }

    fn try_path(mut self, f: impl FnOnce(PathBuilder) -> Result<PathBuilder, String>) -> Self {
        if self.error.is_none() {
            let path = std::mem::take(&mut self.path);
            match f(path) {
                Ok(p) => self.path = p,
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// Literal route text.
    pub(crate) fn lit(mut self, text: &'static str) -> Self {
        self.path = std::mem::take(&mut self.path).lit(text);
        self
    }

    /// One encoded path segment.
    pub(crate) fn seg(self, name: &'static str, value: &str) -> Self {
        self.try_path(|p| p.seg(name, value))
    }

    /// A `{…:path}` parameter (`/` kept as separator).
    pub(crate) fn path_param(self, name: &'static str, value: &str) -> Self {
        self.try_path(|p| p.path_param(name, value))
    }

    /// A query parameter.
    pub(crate) fn query(mut self, name: &'static str, value: &str) -> Self {
        self.path = std::mem::take(&mut self.path).query(name, value);
        self
    }

    /// A query parameter, if given.
    pub(crate) fn query_opt(mut self, name: &'static str, value: Option<&str>) -> Self {
        self.path = std::mem::take(&mut self.path).query_opt(name, value);
        self
    }

    /// A JSON body (`application/json`).
    pub(crate) fn json_body<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.body = Some((Bytes::from(bytes), JSON)),
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("the body cannot be serialised as JSON: {e}"));
            }
        }
        self
    }

    /// A string body, sent as a JSON string so that any text (including what a raw text body
    /// would mangle) arrives unchanged.
    pub(crate) fn string_body(self, text: &str) -> Self {
        self.json_body(text)
    }

    /// A binary body (`application/octet-stream`).
    pub(crate) fn bytes_body(mut self, bytes: Bytes) -> Self {
        self.body = Some((bytes, OCTETS));
        self
    }

    /// A binary body sent chunk by chunk (`application/octet-stream`); never retried.
    pub(crate) fn stream_body(mut self, stream: ByteStream) -> Self {
        self.stream_body = Some(stream);
        self.idempotent = false;
        self
    }

    /// Asks for a 2xx response body as a stream ([`Exchange::stream_opt`]).
    pub(crate) fn stream_response(mut self) -> Self {
        self.stream_response = true;
        self
    }

    /// `Content-Encoding` of the body.
    pub(crate) fn content_encoding(mut self, encoding: &'static str) -> Self {
        self.content_encoding = Some(encoding);
        self
    }

    /// Marks the call as safe (or not) to send again.
    pub(crate) fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Sends the request through `client`'s transport.
    pub(crate) async fn send(self, client: &CacheClient) -> Result<Exchange> {
        if let Some(message) = self.error {
            return Err(CacheClientError::InvalidInput {
                call: Call::new(self.op, self.method, self.route),
                status: None,
                detail: Value::String(message),
            });
        }
        let request = WireRequest {
            method: self.method,
            path: self.path.finish(),
            body: self.body,
            stream_body: self.stream_body.map(StreamBody::new),
            stream_response: self.stream_response,
            content_encoding: self.content_encoding,
            idempotent: self.idempotent,
        };
        match client.transport_send(&request).await {
            Ok(response) => Ok(Exchange {
                op: self.op,
                request,
                response,
            }),
            Err(failure) => Err(CacheClientError::Transport {
                call: Call::new(self.op, request.method, request.path),
                attempts: failure.attempts,
                source: failure.source,
            }),
        }
    }
}

/// A completed request and its response.
pub(crate) struct Exchange {
    op: &'static str,
    request: WireRequest,
    response: WireResponse,
}

impl Exchange {
    fn call(&self) -> Box<Call> {
        Call::new(
            self.op,
            self.request.method.clone(),
            self.request.path.clone(),
        )
    }

    fn success(&self) -> bool {
        (200..300).contains(&self.response.status)
    }

    /// A 404 that means "no such thing" (not the router's `{"detail":"Not Found"}`, which means
    /// the route itself does not exist and is always an error).
    fn is_miss(&self) -> bool {
        self.response.status == 404 && !is_route_not_found(&self.response.body)
    }

    /// The error for a non-2xx response.
    fn error(self) -> CacheClientError {
        let call = self.call();
        let status = self.response.status;
        let body = &self.response.body;
        match status {
            401 => {
                let message = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
                CacheClientError::Unauthorized { call, message }
            }
            404 => CacheClientError::NotFound {
                call,
                body: body_value(body),
            },
            400 | 413 | 422 => {
                let whole = body_value(body);
                let detail = match whole {
                    Value::Object(mut map) if map.contains_key("detail") => {
                        map.remove("detail").unwrap_or(Value::Null)
                    }
                    other => other,
                };
                CacheClientError::InvalidInput {
                    call,
                    status: Some(status),
                    detail,
                }
            }
            _ => CacheClientError::Server {
                call,
                status,
                body: String::from_utf8_lossy(body).into_owned(),
            },
        }
    }

    fn decode_error(&self, source: impl Into<crate::error::BoxError>) -> CacheClientError {
        CacheClientError::Decode {
            call: self.call(),
            source: source.into(),
        }
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.response.body).map_err(|e| self.decode_error(e))
    }

    /// A 2xx JSON body as `T`.
    pub(crate) fn json<T: DeserializeOwned>(self) -> Result<T> {
        if self.success() {
            self.parse()
        } else {
            Err(self.error())
        }
    }

    /// A 2xx JSON body as `Some(T)`, a miss as `None`.
    pub(crate) fn json_opt<T: DeserializeOwned>(self) -> Result<Option<T>> {
        if self.success() {
            self.parse().map(Some)
        } else if self.is_miss() {
            Ok(None)
        } else {
            Err(self.error())
        }
    }

    fn utf8(&self) -> Result<String> {
        match std::str::from_utf8(&self.response.body) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.decode_error(e)),
        }
    }

    /// A 2xx body as UTF-8 text, a miss as `None`.
    pub(crate) fn text_opt(self) -> Result<Option<String>> {
        if self.success() {
            self.utf8().map(Some)
        } else if self.is_miss() {
            Ok(None)
        } else {
            Err(self.error())
        }
    }

    /// A 2xx body as bytes.
    pub(crate) fn bytes(self) -> Result<Bytes> {
        if self.success() {
            Ok(self.response.body)
        } else {
            Err(self.error())
        }
    }

    /// A 2xx body as bytes, a miss as `None`.
    pub(crate) fn bytes_opt(self) -> Result<Option<Bytes>> {
        if self.success() {
            Ok(Some(self.response.body))
        } else if self.is_miss() {
            Ok(None)
        } else {
            Err(self.error())
        }
    }

    /// A 2xx body as a stream (for a request made with [`Req::stream_response`]), a miss as
    /// `None`.
    pub(crate) fn stream_opt(mut self) -> Result<Option<ByteStream>> {
        if self.success() {
            let body = self.response.body.clone();
            Ok(Some(self.response.stream.take().unwrap_or_else(|| {
                Box::pin(futures::stream::once(async move { Ok(body) }))
            })))
        } else if self.is_miss() {
            Ok(None)
        } else {
            Err(self.error())
        }
    }

    /// A 2xx body with its content type, a miss as `None`.
    pub(crate) fn typed_bytes_opt(self) -> Result<Option<(Option<String>, Bytes)>> {
        if self.success() {
            let content_type = self
                .response
                .content_type
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok(Some((content_type, self.response.body)))
        } else if self.is_miss() {
            Ok(None)
        } else {
            Err(self.error())
        }
    }

    /// `true` for 2xx, `false` for a miss.
    pub(crate) fn found(self) -> Result<bool> {
        if self.success() {
            Ok(true)
        } else if self.is_miss() {
            Ok(false)
        } else {
            Err(self.error())
        }
    }
}

/// A body as JSON if it parses, else as text; empty is `null`.
fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The router's answer when no route matches: `{"detail":"Not Found"}`.
fn is_route_not_found(body: &[u8]) -> bool {
    // Cheap pre-check: the miss bodies of real lookups are empty or much longer.
    body.len() < 40
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|v| v.get("detail").and_then(Value::as_str) == Some("Not Found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_misses_are_told_apart_from_lookup_misses() {
        assert!(is_route_not_found(br#"{"detail":"Not Found"}"#));
        assert!(!is_route_not_found(b""));
        assert!(!is_route_not_found(
            br#"{"detail":"Cache entry not found"}"#
        ));
        assert!(!is_route_not_found(
            br#"{"detail":{"error_type":"NOT_FOUND"}}"#
        ));
    }

    #[test]
    fn bodies_become_values() {
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(
            body_value(b"File not found."),
            Value::String("File not found.".into())
        );
        assert_eq!(body_value(br#"{"a":1}"#)["a"], 1);
    }
}
