//! `/info/*` (`Routes__Info`) and the API-key cookie routes (`Routes__Set_Cookie`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use cache_wire::schema::{Health, ServerInfo, ServiceStatus};
use serde_json::{Value, json};

use super::bail;
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;

/// The reference release this server emulates, reported by `/info/status` and `/info/versions`.
pub const EMULATED_VERSION: &str = "v0.14.0";

/// `GET /info/health`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/info/health",
    tag = "info",
    operation_id = "health_info_health_get",
    summary = "Health",
    responses(
        api::Failures,
        (status = 200, description = "The server is up.", body = api::Health),
    ),
))]
pub async fn health(_ctx: Ctx) -> Response {
    reply::ok(&Health {
        status: "ok".to_owned(),
    })
}

/// `GET /info/status`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/info/status",
    tag = "info",
    operation_id = "status_info_status_get",
    summary = "Status",
    responses(
        api::Failures,
        (status = 200, description = "The emulated service and its status.", body = api::ServiceStatus),
    ),
))]
pub async fn status(_ctx: Ctx) -> Response {
    // The reference reports `aws_lambda` whenever `AWS_REGION` is set.
    let environment = if std::env::var_os("AWS_REGION").is_some_and(|v| !v.is_empty()) {
        "aws_lambda"
    } else {
        "local"
    };
    reply::ok(&ServiceStatus {
        name: "mgraph_ai_service_cache".to_owned(),
        version: EMULATED_VERSION.to_owned(),
        status: "operational".to_owned(),
        environment: environment.to_owned(),
    })
}

/// `GET /info/versions`: the package versions of the emulated reference release.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/info/versions",
    tag = "info",
    operation_id = "versions_info_versions_get",
    summary = "Versions",
    responses(
        api::Failures,
        (status = 200, description = "Versions of the emulated release's packages, by name.", body = Value),
    ),
))]
pub async fn versions(_ctx: Ctx) -> Response {
    reply::ok(&json!({
        "mgraph_ai_service_cache": EMULATED_VERSION,
        "osbot_utils": "v3.75.0",
        "osbot_aws": "v2.39.10",
        "osbot_fast_api": "v0.39.0",
        "osbot_fast_api_serverless": "v1.35.0",
    }))
}

/// `GET /info/server`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/info/server",
    tag = "info",
    operation_id = "server_info_server_get",
    summary = "Server",
    responses(
        api::Failures,
        (status = 200, description = "This server instance.", body = api::ServerInfo),
    ),
))]
pub async fn server(ctx: Ctx) -> Response {
    reply::ok(&ServerInfo {
        server_id: None,
        server_name: None,
        server_instance_id: ctx.state.identity.instance_id.clone(),
        server_boot_time: ctx.state.identity.boot_time_ms,
    })
}

/// `POST /auth/set-auth-cookie` with `{"cookie_value": …}`: sets the API-key cookie.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/auth/set-auth-cookie",
    tag = "auth",
    operation_id = "set_auth_cookie_auth_set_auth_cookie_post",
    summary = "Set Auth Cookie",
    request_body(content = api::SetCookieRequest, content_type = "application/json", description = "The API key to keep in an HttpOnly cookie."),
    // No 401: the path is excluded from the API-key check.
    responses(
        (status = 200, description = "The cookie is set (`Set-Cookie`).", body = api::SetCookieResponse),
        (status = 400, description = "The body is not `{\"cookie_value\": string}`, or the value has characters above U+00FF (COMPAT.md D36).", body = api::CookieBadRequest),
        (status = 500, description = "An unexpected error.", body = api::ServerError),
    ),
))]
pub async fn set_auth_cookie(mut ctx: Ctx) -> Response {
    let body = bail!(ctx.fastapi_body().await);
    let mut checks = Checks::default();
    let object = checks.body_dict(body);
    bail!(checks.finish());
    let value = match object.as_ref().and_then(|o| o.get("cookie_value")) {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return reply::validation(&[cache_wire::schema::ValidationIssue {
                kind: "missing".to_owned(),
                loc: vec![json!("body"), json!("cookie_value")],
                msg: "Field required".to_owned(),
                input: object.unwrap_or(Value::Null),
                ctx: None,
            }]);
        }
    };
    let name = ctx
        .state
        .auth
        .key_name
        .clone()
        .unwrap_or_else(|| "auth-cookie".to_owned());
    let mut response = reply::ok(&json!({
        "message": "Cookie set successfully",
        "cookie_name": name,
        "cookie_value": value,
    }));
    // Quoted as Python's `SimpleCookie` (Starlette's `set_cookie`) does, so `;`, `,`, control
    // characters and the like cannot add attributes or headers (COMPAT.md D36).
    let Some(quoted) = python_cookie_quote(&value) else {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            json!("cookie_value must contain only Latin-1 characters (U+0000 to U+00FF)"),
        );
    };
    let cookie = format!("{name}={quoted}; HttpOnly; Path=/; SameSite=strict");
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            response.headers_mut().insert(header::SET_COOKIE, v);
            response
        }
        Err(_) => reply::detail(
            StatusCode::BAD_REQUEST,
            json!("cookie value is not a valid header value"),
        ),
    }
}

/// `http.cookies._quote`: unchanged if non-empty and every character is one of Python's `_LegalChars`,
/// otherwise in double quotes with `"` and `\` backslash-escaped and every other character
/// outside `_LegalChars + " ()/<=>?@[]{}"` (controls, `;`, `,`, non-ASCII Latin-1, …) as a
/// `\ooo` octal escape. `None` for characters above U+00FF, which Python leaves as they are and
/// Starlette then fails to encode (the reference's 500).
pub fn python_cookie_quote(value: &str) -> Option<String> {
    fn legal(c: char) -> bool {
        c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c)
    }
    // `_is_legal_key` is a `+` regex: the empty value is quoted (`""`).
    if !value.is_empty() && value.chars().all(legal) {
        return Some(value.to_owned());
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if legal(c) || " ()/<=>?@[]{}".contains(c) => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\{:03o}", u32::from(c))),
            _ => return None,
        }
    }
    out.push('"');
    Some(out)
}
