//! The client's one error type: what went wrong, and which call it came from.

use std::fmt;

use reqwest::Method;
use serde_json::Value;

/// A boxed error source (transport and decode failures).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`CacheClientError`].
pub type Result<T, E = CacheClientError> = std::result::Result<T, E>;

/// The call an error came from: the client method, the HTTP method and the path requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The client method, e.g. `data().store_json`.
    pub op: &'static str,
    /// The HTTP method of the route.
    pub method: Method,
    /// The path and query requested (percent-encoded), or the route template when the
    /// request was refused before a path was built.
    pub path: String,
}

impl Call {
    pub(crate) fn new(op: &'static str, method: Method, path: impl Into<String>) -> Box<Call> {
        Box::new(Call {
            op,
            method,
            path: path.into(),
        })
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.op, self.method, self.path)
    }
}

/// Everything a cache-service call can fail with. Every variant but [`Config`] names the call
/// (client method and route) it came from.
///
/// Lookups that can miss (`retrieve` by id or hash, `data().retrieve_*`, …) return
/// `Ok(None)` rather than [`NotFound`]; `NotFound` is for a 404 where the thing asked for must
/// exist (an unknown route, listing the data of an unknown entry, updating a missing file).
///
/// [`Config`]: CacheClientError::Config
/// [`NotFound`]: CacheClientError::NotFound
#[derive(Debug, thiserror::Error)]
pub enum CacheClientError {
    /// HTTP 404 where a result was required.
    #[error("{call}: not found (404): {}", plain(body))]
    NotFound {
        /// The call.
        call: Box<Call>,
        /// The server's body: parsed JSON, the text if it is not JSON, `null` if empty.
        body: Value,
    },
    /// HTTP 401: the API key is missing or wrong (or the server has none configured).
    #[error("{call}: unauthorized (401): {message}")]
    Unauthorized {
        /// The call.
        call: Box<Call>,
        /// The server's `message`, e.g. `Invalid API key value`.
        message: String,
    },
    /// The input was refused: HTTP 400, 413 or 422 from the server, or (with `status: None`)
    /// refused by the client before sending because no URL can carry it.
    #[error("{call}: invalid input{}: {}", status.map(|s| format!(" ({s})")).unwrap_or_default(), plain(detail))]
    InvalidInput {
        /// The call.
        call: Box<Call>,
        /// The HTTP status, `None` when the client refused the input itself.
        status: Option<u16>,
        /// The server's `detail` (a string, an object, or a list of validation issues), or
        /// the client's message.
        detail: Value,
    },
    /// Any other non-2xx status (5xx, 415, 405, …).
    #[error("{call}: server answered {status}: {body}")]
    Server {
        /// The call.
        call: Box<Call>,
        /// The HTTP status.
        status: u16,
        /// The body as text (lossy UTF-8).
        body: String,
    },
    /// The request could not be sent or the response not read (after every retry allowed).
    #[error("{call}: transport failed after {attempts} attempt(s): {source}")]
    Transport {
        /// The call.
        call: Box<Call>,
        /// How many attempts were made.
        attempts: u32,
        /// The last underlying error.
        #[source]
        source: BoxError,
    },
    /// A 2xx response whose body does not have the expected shape.
    #[error("{call}: cannot decode the response: {source}")]
    Decode {
        /// The call.
        call: Box<Call>,
        /// Why decoding failed.
        #[source]
        source: BoxError,
    },
    /// The client could not be built (bad URL, API key or environment).
    #[error("cache client configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A JSON value for a message: strings without quotes or escapes, everything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl CacheClientError {
    /// The call the error came from (`None` for [`CacheClientError::Config`]).
    pub fn call(&self) -> Option<&Call> {
        match self {
            CacheClientError::NotFound { call, .. }
            | CacheClientError::Unauthorized { call, .. }
            | CacheClientError::InvalidInput { call, .. }
            | CacheClientError::Server { call, .. }
            | CacheClientError::Transport { call, .. }
            | CacheClientError::Decode { call, .. } => Some(call),
            CacheClientError::Config { .. } => None,
        }
    }

    /// The HTTP status of the response the error came from, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            CacheClientError::NotFound { .. } => Some(404),
            CacheClientError::Unauthorized { .. } => Some(401),
            CacheClientError::InvalidInput { status, .. } => *status,
            CacheClientError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is [`CacheClientError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, CacheClientError::NotFound { .. })
    }

    /// Whether the server has no route for the call: a 404 whose body is exactly
    /// `{"detail":"Not Found"}` (the reference's unknown-path answer, as opposed to a missing
    /// entry or file), or a 405. How a client tells that a server lacks an extension route.
    pub fn is_unknown_route(&self) -> bool {
        match self {
            CacheClientError::NotFound { body, .. } => {
                *body == serde_json::json!({"detail": "Not Found"})
            }
            CacheClientError::Server { status, .. } => *status == 405,
            _ => false,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        CacheClientError::Config {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_call() {
        let err = CacheClientError::InvalidInput {
            call: Call::new(
                "store().string",
                Method::POST,
                "/demo/temporal/store/string",
            ),
            status: Some(400),
            detail: Value::String("String data cannot be empty".into()),
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "store().string (POST /demo/temporal/store/string): invalid input (400)"
            ),
            "{text}"
        );
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.call().map(|c| c.op), Some("store().string"));

        let refused = CacheClientError::InvalidInput {
            call: Call::new(
                "data().list",
                Method::GET,
                "/{namespace}/cache/{cache_id}/data/list",
            ),
            status: None,
            detail: Value::String("namespace must not be empty".into()),
        };
        assert!(!refused.to_string().contains("(None)"), "{refused}");
        assert_eq!(refused.status(), None);
    }

    #[test]
    fn error_stays_small() {
        // Result<T, CacheClientError> is returned everywhere; keep it cheap to move.
        assert!(std::mem::size_of::<CacheClientError>() <= 128);
    }
}
