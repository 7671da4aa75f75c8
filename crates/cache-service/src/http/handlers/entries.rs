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
use crate::http::reply;
use crate::json::dumps_indented;

/// `GET /{ns}/exists/id/{cache_id}`.
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
pub async fn update_string(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::String).await
}

/// `POST /{ns}/update/{cache_id}/json`.
pub async fn update_json(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::Json).await
}

/// `POST /{ns}/update/{cache_id}/binary`.
pub async fn update_binary(ctx: Ctx) -> Response {
    update(ctx, UpdateKind::Binary).await
}

/// `DELETE /{ns}/delete/{cache_id}` (HTTP 200 even for an unknown id).
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
