//! `POST /{ns}/{strategy}/store/{string|json|binary}[/{cache_key:path}]`
//! (`Routes__File__Store`).

use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use cache_wire::hash::{JsonFieldHashError, hash_bytes, hash_json, hash_json_field, hash_str};
use cache_wire::ids::{CacheKey, FileId, JsonFieldPath, Namespace, Strategy};
use cache_wire::pyjson::{self, DumpOptions};
use cache_wire::schema::InvalidInputDetail;
use serde_json::{Value, json};

use super::{bail, class, namespace, query_value, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::service::entry::{FileKind, NewEntry, gunzip};
use crate::service::{ServiceError, now_ms};

/// The body kind of a store route.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Json,
    Binary,
}

/// `Schema__Cache__Error__Invalid_Input` as a 400 (`get_invalid_input_error`).
fn invalid_input(field_name: &str, expected_type: &str, message: &str) -> Response {
    let expected = Namespace::parse(expected_type)
        .map_or_else(|_| expected_type.to_owned(), |n| n.into_string());
    let detail = InvalidInputDetail {
        field_value: None,
        constraints: None,
        error_type: "INVALID_INPUT".to_owned(),
        message: message.to_owned(),
        timestamp: now_ms(),
        request_id: uuid::Uuid::new_v4().to_string(),
        field_name: field_name.to_owned(),
        expected_type: expected,
    };
    reply::json(StatusCode::BAD_REQUEST, &json!({ "detail": detail }))
}

/// A sanitised cache key with empty and `.` segments removed. `..` segments are refused:
/// object stores cannot hold them and on disk they would leave the store's root.
pub fn normalize_key(checks: &mut Checks, name: &str, raw: &str, key: &str) -> Option<String> {
    if key.split('/').any(|s| s == "..") {
        checks.reject(
            name,
            raw,
            format!("{name} must not contain '..' path segments"),
        );
        return None;
    }
    let segments: Vec<&str> = key
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    Some(segments.join("/"))
}

async fn store(mut ctx: Ctx, kind: Kind, with_key: bool) -> Response {
    // FastAPI phase: body decoding, then the strategy enum and the body type.
    let body = bail!(ctx.fastapi_body().await);
    let mut fastapi = Checks::default();
    let strategy = fastapi.path_enum("strategy", ctx.param("strategy"), Strategy::parse);
    let (text, object, bytes) = match kind {
        Kind::String => (fastapi.body_str(body), None, None),
        Kind::Json => (None, fastapi.body_dict(body), None),
        Kind::Binary => (None, None, fastapi.body_bytes(body)),
    };
    bail!(fastapi.finish());
    let Some(strategy) = strategy else {
        return reply::internal("ValueError", "strategy missing after validation");
    };

    // Wrapper phase, in each route's parameter order.
    let mut wrapper = Checks::default();
    let json_route_classes = kind == Kind::Json && with_key;
    let ns = namespace(
        &mut wrapper,
        &ctx,
        if json_route_classes {
            class::NAMESPACE
        } else {
            class::ID
        },
    );
    let mut cache_key = None;
    let mut file_id = None;
    let mut field_path = None;
    if with_key {
        let raw_key = ctx.param("cache_key").to_owned();
        let key_class = if json_route_classes {
            class::CACHE_KEY
        } else {
            class::FILE_PATH
        };
        let sanitized = wrapper.value(
            "cache_key",
            &raw_key,
            CacheKey::parse_as(&raw_key, key_class),
        );
        let file_class = if json_route_classes {
            class::FILE_ID
        } else {
            class::ID
        };
        file_id = query_value(&mut wrapper, &ctx, "file_id", |r| {
            FileId::parse_as(r, file_class)
        });
        if kind == Kind::Json {
            field_path = query_value(&mut wrapper, &ctx, "json_field_path", JsonFieldPath::parse);
        }
        cache_key = sanitized.map(|k| (raw_key, k));
    }
    bail!(wrapper.finish());
    let Some(ns) = ns else {
        return reply::internal("ValueError", "namespace missing after validation");
    };

    // Route checks, in the reference's order.
    if kind == Kind::String && text.as_deref().is_none_or(str::is_empty) {
        return invalid_input("data", "non-empty string", "String data cannot be empty");
    }
    if kind == Kind::Binary && bytes.as_ref().is_none_or(Bytes::is_empty) {
        return invalid_input(
            "body",
            "non-empty binary data",
            "Binary data cannot be empty",
        );
    }
    let mut key = String::new();
    if with_key {
        let Some((raw_key, sanitized)) = cache_key else {
            return reply::internal("ValueError", "cache_key missing after validation");
        };
        if sanitized.is_empty() {
            return invalid_input(
                "cache_key",
                "valid file path",
                "Cache key is required for this endpoint",
            );
        }
        let mut checks = Checks::default();
        let normalized = normalize_key(&mut checks, "cache_key", &raw_key, sanitized.as_str());
        bail!(checks.finish());
        key = normalized.unwrap_or_default();
    }
    let file_id = file_id.map(FileId::into_string).unwrap_or_default();

    let (hash, content, file_kind, encoding, json_field_path) = match kind {
        Kind::String => {
            let text = text.unwrap_or_default();
            let content = pyjson::dumps(&Value::String(text.clone()), DumpOptions::indented(2));
            (
                hash_str(&text),
                Bytes::from(content),
                FileKind::Json,
                None,
                None,
            )
        }
        Kind::Json => {
            let object = object.unwrap_or(Value::Null);
            let path = field_path.map(JsonFieldPath::into_string);
            let hash = match path.as_deref() {
                Some(p) if !p.is_empty() => match hash_json_field(&object, p) {
                    Ok(h) => h,
                    Err(
                        e @ (JsonFieldHashError::NotFound(_)
                        | JsonFieldHashError::EmptyString { .. }),
                    ) => {
                        return reply::internal("ValueError", &e.to_string());
                    }
                },
                _ => hash_json(&object),
            };
            let content = pyjson::dumps(&object, DumpOptions::indented(2));
            // The cache-key JSON route always records the path (`""` when not given).
            let recorded = if with_key {
                Some(path.unwrap_or_default())
            } else {
                None
            };
            (hash, Bytes::from(content), FileKind::Json, None, recorded)
        }
        Kind::Binary => {
            let body = bytes.unwrap_or_default();
            let encoding = ctx.header(header::CONTENT_ENCODING);
            let hash = if encoding.as_deref() == Some("gzip") {
                match gunzip(&body) {
                    Ok(plain) => hash_bytes(&plain),
                    Err(e) => return reply::service_error(&e),
                }
            } else {
                hash_bytes(&body)
            };
            let encoding = match encoding.map(|e| Namespace::parse(&e)) {
                None => None,
                Some(Ok(e)) => Some(e.into_string()),
                Some(Err(e)) => {
                    return reply::service_error(&ServiceError::python(
                        "ValueError",
                        e.to_string(),
                    ));
                }
            };
            (hash, body, FileKind::Binary, encoding, None)
        }
    };

    let entry = NewEntry {
        namespace: ns.as_str(),
        strategy,
        cache_key: &key,
        file_id: &file_id,
        cache_hash: &hash,
        json_field_path: json_field_path.as_deref(),
        content_encoding: encoding.as_deref(),
        kind: file_kind,
        content,
    };
    let response = bail!(served(ctx.state.service.store_entry(entry).await));
    reply::ok(&response)
}

/// `POST /{ns}/{strategy}/store/string`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/string",
    tag = "store",
    operation_id = "store__string__namespace___strategy__store_string_post",
    summary = "Store  String",
    params(api::NamespacePath, api::StrategyPath),
    request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn string(ctx: Ctx) -> Response {
    store(ctx, Kind::String, false).await
}

/// `POST /{ns}/{strategy}/store/string/{cache_key:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/string/{cache_key}",
    tag = "store",
    operation_id = "store__string__cache_key__namespace___strategy__store_string__cache_key__post",
    summary = "Store  String  Cache Key",
    params(api::NamespacePath, api::StrategyPath, api::CacheKeyPath, api::FileIdQuery),
    request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn string_key(ctx: Ctx) -> Response {
    store(ctx, Kind::String, true).await
}

/// `POST /{ns}/{strategy}/store/json`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/json",
    tag = "store",
    operation_id = "store__json__namespace___strategy__store_json_post",
    summary = "Store  Json",
    params(api::NamespacePath, api::StrategyPath),
    request_body(content = Object, content_type = "application/json", description = "A JSON object."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn json(ctx: Ctx) -> Response {
    store(ctx, Kind::Json, false).await
}

/// `POST /{ns}/{strategy}/store/json/{cache_key:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/json/{cache_key}",
    tag = "store",
    operation_id = "store__json__cache_key__namespace___strategy__store_json__cache_key__post",
    summary = "Store  Json  Cache Key",
    params(api::NamespacePath, api::StrategyPath, api::CacheKeyPath, api::FileIdQuery, api::JsonFieldPathQuery),
    request_body(content = Object, content_type = "application/json", description = "A JSON object."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn json_key(ctx: Ctx) -> Response {
    store(ctx, Kind::Json, true).await
}

/// `POST /{ns}/{strategy}/store/binary`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/binary",
    tag = "store",
    operation_id = "store__binary__namespace___strategy__store_binary_post",
    summary = "Store  Binary",
    params(api::NamespacePath, api::StrategyPath),
    request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn binary(ctx: Ctx) -> Response {
    store(ctx, Kind::Binary, false).await
}

/// `POST /{ns}/{strategy}/store/binary/{cache_key:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/{strategy}/store/binary/{cache_key}",
    tag = "store",
    operation_id = "store__binary__cache_key__namespace___strategy__store_binary__cache_key__post",
    summary = "Store  Binary  Cache Key",
    params(api::NamespacePath, api::StrategyPath, api::CacheKeyPath, api::FileIdQuery),
    request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
    responses(
        api::Failures,
        (status = 200, description = "The entry stored.", body = api::StoreResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::StoreBadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn binary_key(ctx: Ctx) -> Response {
    store(ctx, Kind::Binary, true).await
}
