//! Responses in the reference's shapes: Starlette `JSONResponse` / `Response` content types,
//! `{"detail": …}` envelopes, the 500 envelope of unhandled exceptions.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use crate::json::to_compact_vec;
use crate::service::ServiceError;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";
const HTML: &str = "text/html; charset=utf-8";

fn with_type(
    status: StatusCode,
    content_type: Option<&'static str>,
    body: impl Into<Body>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    response
}

/// A compact JSON response (`JSONResponse`). A value Python cannot render (an out-of-range
/// float) gives the reference's 500 instead.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match to_compact_vec(value) {
        Ok(bytes) => with_type(status, Some(JSON), bytes),
        Err(e) => internal("ValueError", &e.to_string()),
    }
}

/// `200` compact JSON.
pub fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::OK, value)
}

/// JSON text already rendered (e.g. indent-4 bodies), as `application/json`.
pub fn json_text(status: StatusCode, text: String) -> Response {
    with_type(status, Some(JSON), text)
}

/// `{"detail": detail}` with `status`.
pub fn detail(status: StatusCode, detail: Value) -> Response {
    json(status, &json!({ "detail": detail }))
}

/// `text/plain; charset=utf-8`.
pub fn text(status: StatusCode, body: impl Into<Body>) -> Response {
    with_type(status, Some(TEXT), body)
}

/// `application/octet-stream`.
pub fn octets(status: StatusCode, body: Bytes) -> Response {
    with_type(status, Some(OCTETS), body)
}

/// `application/octet-stream` streamed from storage, with its known length.
pub fn octet_stream(status: StatusCode, size: u64, stream: crate::store::ByteStream) -> Response {
    let mut response = with_type(status, Some(OCTETS), Body::from_stream(stream));
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_LENGTH, size.into());
    response
}

/// Raw bytes with an explicit content type.
pub fn bytes_as(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    with_type(status, Some(content_type), body)
}

/// `text/html; charset=utf-8`.
pub fn html(status: StatusCode, body: impl Into<Body>) -> Response {
    with_type(status, Some(HTML), body)
}

/// A body-less response without a content type (the reference's empty 404s).
pub fn empty(status: StatusCode) -> Response {
    with_type(status, None, Body::empty())
}

/// `400 {"detail":[issues]}`: a request validation error.
/// Each issue's `input` is echoed as given unless its text passes
/// [`ERROR_INPUT_MAX_BYTES`](crate::json::ERROR_INPUT_MAX_BYTES); longer inputs are cut, with
/// a marker (COMPAT.md D35), so the answer stays small whatever the body.
pub fn validation(issues: &[cache_wire::schema::ValidationIssue]) -> Response {
    let bounded: Vec<Option<Value>> = issues
        .iter()
        .map(|issue| crate::json::bounded_input(&issue.input))
        .collect();
    if bounded.iter().all(Option::is_none) {
        return json(StatusCode::BAD_REQUEST, &json!({ "detail": issues }));
    }
    let issues: Vec<cache_wire::schema::ValidationIssue> = issues
        .iter()
        .zip(bounded)
        .map(|(issue, input)| cache_wire::schema::ValidationIssue {
            kind: issue.kind.clone(),
            loc: issue.loc.clone(),
            msg: issue.msg.clone(),
            input: input.unwrap_or_else(|| issue.input.clone()),
            ctx: issue.ctx.clone(),
        })
        .collect();
    json(StatusCode::BAD_REQUEST, &json!({ "detail": issues }))
}

/// The 500 envelope of an unhandled exception (`Fast_API.add_global_exception_handlers`).
/// `stack_trace` names this server instead of a Python traceback.
pub fn internal(exception: &str, message: &str) -> Response {
    let body = json!({
        "detail": "An unexpected error occurred.",
        "error": message,
        "stack_trace": format!(
            "Traceback (most recent call last):\n  File \"cache-service (Rust)\", in request handler\n{exception}: {message}\n"
        ),
    });
    let mut response = match to_compact_vec(&body) {
        Ok(bytes) => with_type(StatusCode::INTERNAL_SERVER_ERROR, Some(JSON), bytes),
        Err(_) => with_type(StatusCode::INTERNAL_SERVER_ERROR, Some(JSON), "{}"),
    };
    response.extensions_mut().insert(UnhandledError);
    response
}

/// Marks the 500 of an unhandled exception. The reference produces it in Starlette's
/// `ServerErrorMiddleware`, outside CORS, so it carries no CORS headers.
#[derive(Debug, Clone, Copy)]
pub struct UnhandledError;

/// The 500 for a service failure.
pub fn service_error(error: &ServiceError) -> Response {
    if let ServiceError::Store(e) = error {
        tracing::error!(error = %e, "storage failure");
    }
    internal(error.exception_name(), &error.to_string())
}

/// `404 {"detail":"Not Found"}`: no route matched.
pub fn route_not_found() -> Response {
    detail(StatusCode::NOT_FOUND, json!("Not Found"))
}

/// `405 {"detail":"Method Not Allowed"}` with `Allow`.
pub fn method_not_allowed(allow: &str) -> Response {
    let mut response = detail(StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed"));
    if let Ok(v) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

/// `307` to `location` with an empty body (Starlette's slash redirect).
pub fn redirect(location: &str) -> Response {
    let mut response = empty(StatusCode::TEMPORARY_REDIRECT);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `413 {"detail":"Request Entity Too Large"}`: the body exceeds the configured limit.
pub fn too_large() -> Response {
    detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!("Request Entity Too Large"),
    )
}

/// `400 {"detail":"There was an error parsing the body"}`.
pub fn unparseable_body() -> Response {
    detail(
        StatusCode::BAD_REQUEST,
        json!("There was an error parsing the body"),
    )
}
