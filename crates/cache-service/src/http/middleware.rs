//! The reference's middleware stack (osbot-fast-api `Fast_API.setup_middlewares`), outermost
//! first: `Middleware__Request_ID`, `Middleware__Check_API_Key`, Starlette's `CORSMiddleware`.
//! A panic catcher sits below the request id so that even a panic is answered with the
//! reference's 500 envelope.

use std::any::Any;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tower_http::catch_panic::CatchPanicLayer;

use super::decoded_path;
use super::reply;
use crate::AppState;

/// `fast-api-request-id`: a fresh uuid4 on every response.
pub async fn request_id(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("fast-api-request-id"), v);
    }
    response
}

/// Answers a panic with the 500 envelope instead of dropping the connection.
pub fn catch_panic_layer() -> CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(panic_response as fn(Box<dyn Any + Send + 'static>) -> Response)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "panic".to_owned()
    };
    tracing::error!(%message, "request handler panicked");
    reply::internal("RuntimeError", &message)
}

/// Paths reachable without the API key (`AUTH__EXCLUDED_PATHS`).
pub const AUTH_EXCLUDED_PATHS: [&str; 5] = [
    "/auth/set-cookie-form",
    "/auth/set-auth-cookie",
    "/docs",
    "/openapi.json",
    "/config/status",
];

/// The Swagger UI files `/docs` loads: public like `/docs` (COMPAT.md D24).
#[cfg(feature = "openapi")]
fn is_public_docs_asset(path: &str) -> bool {
    super::openapi::is_public_asset(path)
}

#[cfg(not(feature = "openapi"))]
fn is_public_docs_asset(_path: &str) -> bool {
    false
}

/// 401 texts of `Middleware__Check_API_Key`.
pub mod auth_messages {
    /// `FAST_API__AUTH__API_KEY__NAME` is not set.
    pub const NO_KEY_NAME: &str = "Server does not have API key name setup";
    /// `FAST_API__AUTH__API_KEY__VALUE` is not set.
    pub const NO_KEY_VALUE: &str = "Server does not have API key value setup";
    /// No key in header or cookie.
    pub const MISSING: &str = "Client API key is missing, you need to set it on a header or cookie";
    /// Wrong key.
    pub const INVALID: &str = "Invalid API key value";
}

/// `401` with `to_json_str(status_error(message))`: indent 4, sorted keys.
fn unauthorized(message: &str) -> Response {
    let mut body = Map::new();
    body.insert("data".to_owned(), Value::Null);
    body.insert("error".to_owned(), Value::Null);
    body.insert("message".to_owned(), Value::String(message.to_owned()));
    body.insert("status".to_owned(), Value::String("error".to_owned()));
    let text = cache_wire::pyjson::dumps(
        &Value::Object(body),
        cache_wire::pyjson::DumpOptions::indented(4),
    );
    reply::json_text(StatusCode::UNAUTHORIZED, text)
}

/// Starlette's cookie parsing: `;`-separated, split at the first `=`, last occurrence wins.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
        for chunk in text.split(';') {
            let (key, val) = match chunk.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => ("", chunk.trim()),
            };
            if key == name {
                found = Some(python_cookie_unquote(val));
            }
        }
    }
    found
}

/// `http.cookies._unquote`, as Starlette's cookie parser applies it: a value in double quotes
/// loses them, and inside, `\ooo` (octal, first digit 0-3) becomes that character and `\x`
/// becomes `x`. Anything else is returned as it is.
fn python_cookie_unquote(val: &str) -> String {
    let Some(inner) = val
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| val.len() >= 2)
    else {
        return val.to_owned();
    };
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            let octal = chars.get(i + 1..i + 4).filter(|d| {
                matches!(d[0], '0'..='3') && d[1..].iter().all(|c| matches!(c, '0'..='7'))
            });
            if let Some(d) = octal {
                let code = d.iter().fold(0u32, |n, c| n * 8 + (*c as u32 - '0' as u32));
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                i += 4;
            } else {
                out.push(chars[i + 1]);
                i += 2;
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `Middleware__Check_API_Key`: key in a header (or, failing that, a cookie) named
/// `FAST_API__AUTH__API_KEY__NAME`, compared in constant time.
pub async fn auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let settings = &state.auth;
    if !settings.enabled {
        return next.run(request).await;
    }
    let path = decoded_path(request.uri().path());
    if AUTH_EXCLUDED_PATHS.contains(&path.as_str()) || is_public_docs_asset(&path) {
        return next.run(request).await;
    }
    if request.method() == Method::OPTIONS {
        return auth_preflight(request.headers());
    }
    let Some(name) = settings.key_name.as_deref() else {
        return unauthorized(auth_messages::NO_KEY_NAME);
    };
    let from_header = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .ok()
        .and_then(|h| request.headers().get(h))
        .map(|v| v.as_bytes().to_vec())
        .filter(|v| !v.is_empty());
    let presented = match from_header {
        Some(v) => Some(v),
        None => cookie(request.headers(), name).map(String::into_bytes),
    };
    let Some(expected) = settings.key_value.as_deref() else {
        return unauthorized(auth_messages::NO_KEY_VALUE);
    };
    let Some(presented) = presented.filter(|v| !v.is_empty()) else {
        return unauthorized(auth_messages::MISSING);
    };
    if !bool::from(presented.as_slice().ct_eq(expected.as_bytes())) {
        return unauthorized(auth_messages::INVALID);
    }
    next.run(request).await
}

/// The API-key middleware's own answer to any `OPTIONS` request.
fn auth_preflight(headers: &HeaderMap) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("api-key__for__mgraph-ai__service, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

const CORS_ALLOW_METHODS: [&str; 3] = ["GET", "POST", "HEAD"];
const CORS_ALLOW_HEADERS: &str = "Accept, Accept-Language, Authorization, Content-Language, Content-Type, Origin, X-Requested-With";
const CORS_EXPOSE_HEADERS: &str = "Content-Type, X-Requested-With, Origin, Accept, Authorization";
const CORS_PREFLIGHT_VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network";

/// Starlette `CORSMiddleware(allow_origins=["*"], allow_credentials=True,
/// allow_methods=["GET","POST","HEAD"], allow_headers=[…], expose_headers=[…])`.
pub async fn cors(request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight_method = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .cloned();
    if let (Some(origin), Some(method), true) = (
        &origin,
        &preflight_method,
        request.method() == Method::OPTIONS,
    ) {
        return cors_preflight(request.headers(), origin, method);
    }
    let mut response = next.run(request).await;
    if response
        .extensions()
        .get::<reply::UnhandledError>()
        .is_some()
    {
        return response;
    }
    let h = response.headers_mut();
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(CORS_EXPOSE_HEADERS),
        );
    }
    let mut vary: Vec<String> = h
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    vary.push("Origin".to_owned());
    if let Ok(v) = HeaderValue::from_str(&vary.join(", ")) {
        h.insert(header::VARY, v);
    }
    response
}

fn cors_preflight(headers: &HeaderMap, origin: &HeaderValue, method: &HeaderValue) -> Response {
    let mut failures = Vec::new();
    if !CORS_ALLOW_METHODS
        .iter()
        .any(|m| m.as_bytes() == method.as_bytes())
    {
        failures.push("method");
    }
    if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        let allowed: Vec<String> = CORS_ALLOW_HEADERS
            .split(", ")
            .map(str::to_ascii_lowercase)
            .collect();
        let text = String::from_utf8_lossy(requested.as_bytes()).to_lowercase();
        if text
            .split(',')
            .any(|h| !allowed.contains(&h.trim().to_owned()))
        {
            failures.push("headers");
        }
    }
    if headers.contains_key("access-control-request-private-network") {
        failures.push("private-network");
    }
    let (status, body) = if failures.is_empty() {
        (StatusCode::OK, "OK".to_owned())
    } else {
        (
            StatusCode::BAD_REQUEST,
            format!("Disallowed CORS {}", failures.join(", ")),
        )
    };
    let mut response = reply::text(status, body);
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static(CORS_PREFLIGHT_VARY));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, HEAD"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(CORS_ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_parse_like_starlette() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; x-api-key=k1; x-api-key=\"k2\"; junk"),
        );
        assert_eq!(cookie(&headers, "x-api-key").as_deref(), Some("k2"));
        assert_eq!(cookie(&headers, "a").as_deref(), Some("1"));
        assert_eq!(cookie(&headers, "b"), None);
    }
}
