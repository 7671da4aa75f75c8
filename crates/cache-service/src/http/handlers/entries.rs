//! Exists, update and delete of whole entries (`Routes__File__Exists`, `Routes__File__Update`,
//! `Routes__File__Delete`).

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use cache_wire::pyjson::{self, DumpOptions};
use cache_wire::schema::ExistsResponse;
use serde_json::{Value, json};

use super::{bail, cache_hash, cache_id, class, error_detail, namespace, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::json::dumps_indented;

/// `GET /{ns}/exists/id/{cache_id}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/exists/id/{cache_id}",
    tag = "exists",
    operation_id = "exists__id__cache_id__namespace__exists_id__cache_id__get",
    summary = "Exists  Id  Cache Id",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "Whether the entry exists.", body = api::ExistsResponse),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn exists_id(ctx: Ctx) -> Response {
    let mut checks = Checks::default();
    let id = cache_id(&mut checks, &ctx);
    let ns = namespace(&mut checks, &ctx, class::ID);
    bail!(checks.finish());
    let (Some(id), Some(ns)) = (id, ns) else {
        return reply::internal("ValueError", "parameters missing after validation");
    };
    let exists = bail!(served(
        ctx.state.service.id_exists(ns.as_str(), id.as_str()).await
    ));
    reply::ok(&ExistsResponse {
        exists,
        cache_id: Some(id.into_string()),
        cache_hash: None,
        namespace: ns.into_string(),
    })
}

/// `GET /{ns}/exists/hash/{cache_hash}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/exists/hash/{cache_hash}",
    tag = "exists",
    operation_id = "exists__hash__cache_hash__namespace__exists_hash__cache_hash__get",
    summary = "Exists  Hash  Cache Hash",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "Whether the entry exists.", body = api::ExistsResponse),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn exists_hash(ctx: Ctx) -> Response {
    let mut checks = Checks::default();
    let hash = cache_hash(&mut checks, &ctx);
    let ns = namespace(&mut checks, &ctx, class::ID);
    bail!(checks.finish());
    let (Some(hash), Some(ns)) = (hash, ns) else {
        return reply::internal("ValueError", "parameters missing after validation");
    };
    let exists = bail!(served(
        ctx.state
            .service
            .hash_exists(ns.as_str(), hash.as_str())
            .await
    ));
    reply::ok(&ExistsResponse {
        exists,
        cache_id: None,
        cache_hash: Some(hash.into_string()),
        namespace: ns.into_string(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UpdateKind {
    String,
    Json,
    Binary,
}

async fn update(mut ctx: Ctx, kind: UpdateKind) -> Response {
    let body = bail!(ctx.fastapi_body().await);
    let mut fastapi = Checks::default();
    let (text, object, bytes) = match kind {
        UpdateKind::String => (fastapi.body_str(body), None, None),
        UpdateKind::Json => (None, fastapi.body_dict(body), None),
        UpdateKind::Binary => (None, None, fastapi.body_bytes(body)),
    };
    bail!(fastapi.finish());
    let mut wrapper = Checks::default();
    let id = cache_id(&mut wrapper, &ctx);
    let ns = namespace(&mut wrapper, &ctx, class::ID);
    bail!(wrapper.finish());
    let (Some(id), Some(ns)) = (id, ns) else {
        return reply::internal("ValueError", "parameters missing after validation");
    };

    let empty = |message: &str, field: &str| {
        reply::detail(
            StatusCode::BAD_REQUEST,
            json!({ "error_type": "INVALID_INPUT", "message": message, "field_name": field }),
        )
    };
    // Serialised as `Cache__Service__Update._serialize_data`; `size` is Python `len(data)`.
    let (content, size) = match kind {
        UpdateKind::String => {
            let text = text.unwrap_or_default();
            if text.is_empty() {
                return empty("String data cannot be empty", "data");
            }
            let size = text.chars().count() as u64;
            let content = pyjson::dumps(&Value::String(text), DumpOptions::PYTHON_DEFAULT);
            (Bytes::from(content), size)
        }
        UpdateKind::Json => {
            let object = object.unwrap_or(Value::Null);
            let size = object.as_object().map_or(0, |m| m.len() as u64);
            (Bytes::from(dumps_indented(&object, 4)), size)
        }
        UpdateKind::Binary => {
            let bytes = bytes.unwrap_or_default();
            if bytes.is_empty() {
                return empty("Binary data cannot be empty", "body");
            }
            let size = bytes.len() as u64;
            (bytes, size)
        }
    };
    match bail!(served(
        ctx.state
            .service
            .update_entry(ns.as_str(), id.as_str(), content, size)
            .await
    )) {
        Some(response) => reply::ok(&response),
        None => error_detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &[
                ("error_type", json!("UPDATE_FAILED")),
                (
                    "message",
                    json!(format!("Failed to update cache entry {id}")),
                ),
                ("cache_id", json!(id.as_str())),
            ],
        ),
    }
}

/// `POST /{ns}/update/{cache_id}/string`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/update/{cache_id}/string",
    tag = "update",
    operation_id = "update__string__namespace__update__cache_id__string_post",
    summary = "Update  String",
    params(api::NamespacePath, api::CacheIdPath),
    request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
    responses(
        api::Failures,
        (status = 200, description = "The content was replaced.", body = api::UpdateResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        (status = 500, description = "No such entry (`UPDATE_FAILED`, COMPAT.md D04) or an unexpected error.", body = api::ServerError),
    ),
))]
pub async fn update_string(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::String).await
}

/// `POST /{ns}/update/{cache_id}/json`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/update/{cache_id}/json",
    tag = "update",
    operation_id = "update__json__namespace__update__cache_id__json_post",
    summary = "Update  Json",
    params(api::NamespacePath, api::CacheIdPath),
    request_body(content = Object, content_type = "application/json", description = "A JSON object."),
    responses(
        api::Failures,
        (status = 200, description = "The content was replaced.", body = api::UpdateResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        (status = 500, description = "No such entry (`UPDATE_FAILED`, COMPAT.md D04) or an unexpected error.", body = api::ServerError),
    ),
))]
pub async fn update_json(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::Json).await
}

/// `POST /{ns}/update/{cache_id}/binary`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/update/{cache_id}/binary",
    tag = "update",
    operation_id = "update__binary__namespace__update__cache_id__binary_post",
    summary = "Update  Binary",
    params(api::NamespacePath, api::CacheIdPath),
    request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
    responses(
        api::Failures,
        (status = 200, description = "The content was replaced.", body = api::UpdateResponse),
        (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        (status = 500, description = "No such entry (`UPDATE_FAILED`, COMPAT.md D04) or an unexpected error.", body = api::ServerError),
    ),
))]
pub async fn update_binary(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::Binary).await
}

/// `DELETE /{ns}/delete/{cache_id}` (HTTP 200 even for an unknown id).
#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/{namespace}/delete/{cache_id}",
    tag = "delete",
    operation_id = "delete__cache_id__namespace__delete__cache_id__delete",
    summary = "Delete  Cache Id",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "Deleted, partly deleted, or `not_found` (always 200).", body = api::DeleteResponse),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn delete(ctx: Ctx) -> Response {
    let mut checks = Checks::default();
    let id = cache_id(&mut checks, &ctx);
    let ns = namespace(&mut checks, &ctx, class::ID);
    bail!(checks.finish());
    let (Some(id), Some(ns)) = (id, ns) else {
        return reply::internal("ValueError", "parameters missing after validation");
    };
    let result = bail!(served(
        ctx.state
            .service
            .delete_entry(ns.as_str(), id.as_str())
            .await
    ));
    reply::ok(&result)
}
