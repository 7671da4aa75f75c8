//! `GET /{ns}/retrieve/…` by id and by hash (`Routes__File__Retrieve`).

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use cache_wire::ids::{CacheHash, CacheId, Namespace};
use cache_wire::schema::{
    Base64Data, BinaryReference, FileConfigView, FileMetadataView, FileTypeInfo, HashCacheId,
    NotFoundDetail, RetrieveSuccess,
};
use serde_json::{Value, json};

use super::{bail, cache_hash, class, entry_params, namespace, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::json::dumps_default;
use crate::service::entry::{EntryData, Retrieved, cache_metadata_of};
use crate::service::now_ms;

/// `404 {"detail": Schema__Cache__Error__Not_Found}`.
fn not_found_entry(cache_id: Option<&str>, cache_hash: Option<&str>, namespace: &str) -> Response {
    let detail = NotFoundDetail {
        resource_id: None,
        cache_hash: cache_hash.map(str::to_owned),
        cache_id: cache_id.map(str::to_owned),
        namespace: Some(namespace.to_owned()),
        error_type: "NOT_FOUND".to_owned(),
        message: "The requested cache entry was not found".to_owned(),
        timestamp: now_ms(),
        request_id: uuid::Uuid::new_v4().to_string(),
        resource_type: "cache_entry".to_owned(),
    };
    reply::json(StatusCode::NOT_FOUND, &json!({ "detail": detail }))
}

/// `404 {"detail":"Cache entry not found"}`.
fn not_found_plain() -> Response {
    reply::detail(StatusCode::NOT_FOUND, json!("Cache entry not found"))
}

fn by_hash_params(ctx: &Ctx) -> Result<(CacheHash, Namespace), Response> {
    let mut checks = Checks::default();
    let hash = cache_hash(&mut checks, ctx);
    let ns = namespace(&mut checks, ctx, class::ID);
    checks.finish()?;
    match (hash, ns) {
        (Some(h), Some(ns)) => Ok((h, ns)),
        _ => Err(reply::internal(
            "ValueError",
            "parameters missing after validation",
        )),
    }
}

/// The generic response: the value with metadata, or a reference to the binary route.
fn generic(found: &Retrieved, namespace: &str, binary_url: String) -> Response {
    let metadata = found.cache_metadata();
    match &found.data {
        EntryData::Binary(_) => reply::ok(&BinaryReference {
            message: "Binary data requires separate endpoint".to_owned(),
            data_type: "binary".to_owned(),
            size: metadata.content_size.clone(),
            cache_hash: metadata.cache_hash.clone(),
            cache_id: metadata.cache_id.clone(),
            namespace: namespace.to_owned(),
            binary_url,
            metadata,
        }),
        EntryData::Json(v) | EntryData::Text(v) => reply::ok(&RetrieveSuccess {
            data: v.clone(),
            metadata,
            data_type: found.data.data_type().to_owned(),
        }),
    }
}

/// A JSON value as the `/string` and `/binary` routes render it: a string as itself,
/// anything else as `json.dumps(data)`.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => dumps_default(other),
    }
}

fn string_response(found: &Retrieved, binary_as_utf8: bool) -> Response {
    let content = match &found.data {
        EntryData::Text(v) => as_text(v),
        EntryData::Json(v) => dumps_default(v),
        EntryData::Binary(b) => match std::str::from_utf8(b) {
            Ok(s) if binary_as_utf8 => s.to_owned(),
            _ => BASE64.encode(b),
        },
    };
    reply::text(StatusCode::OK, content)
}

fn binary_response(found: &Retrieved) -> Response {
    let content = match &found.data {
        EntryData::Binary(b) => b.clone(),
        EntryData::Text(v) => Bytes::from(as_text(v).into_bytes()),
        EntryData::Json(v) => Bytes::from(dumps_default(v).into_bytes()),
    };
    reply::octets(StatusCode::OK, content)
}

fn base64_wrapper(bytes: &[u8]) -> Response {
    reply::ok(&Base64Data {
        data_type: "binary".to_owned(),
        encoding: "base64".to_owned(),
        data: BASE64.encode(bytes),
    })
}

/// Validates a by-id route's parameters and retrieves the entry it names.
async fn retrieve_id(ctx: &Ctx) -> Result<(Option<Retrieved>, CacheId, Namespace), Response> {
    let (id, ns) = entry_params(ctx)?;
    let found = served(
        ctx.state
            .service
            .retrieve_by_id(ns.as_str(), id.as_str())
            .await,
    )?;
    Ok((found, id, ns))
}

/// Validates a by-hash route's parameters and retrieves the latest entry with that hash.
async fn retrieve_hash(ctx: &Ctx) -> Result<(Option<Retrieved>, CacheHash, Namespace), Response> {
    let (hash, ns) = by_hash_params(ctx)?;
    let found = served(
        ctx.state
            .service
            .retrieve_by_hash(ns.as_str(), hash.as_str())
            .await,
    )?;
    Ok((found, hash, ns))
}

/// `GET /{ns}/retrieve/{cache_id}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__namespace__retrieve__cache_id__get",
    summary = "Retrieve  Cache Id",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The value with its metadata, or where to fetch binary data.", body = api::Retrieved),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn by_id(ctx: Ctx) -> Response {
    let (found, id, ns) = bail!(retrieve_id(&ctx).await);
    match found {
        Some(found) => generic(&found, ns.as_str(), format!("/{ns}/retrieve/{id}/binary")),
        None => not_found_entry(Some(id.as_str()), None, ns.as_str()),
    }
}

/// `GET /{ns}/retrieve/{cache_id}/config`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/config",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__config__namespace__retrieve__cache_id__config_get",
    summary = "Retrieve  Cache Id  Config",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The content file's `.config`.", body = api::FileConfigView),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn config(ctx: Ctx) -> Response {
    let (id, ns) = bail!(entry_params(&ctx));
    match bail!(served(
        ctx.state.service.config_of(ns.as_str(), id.as_str()).await
    )) {
        Some(config) => reply::ok(&config_view(&config)),
        None => not_found_entry(Some(id.as_str()), None, ns.as_str()),
    }
}

/// A stored `.config` in the key order of `Schema__Memory_FS__File__Config`.
fn config_view(config: &Value) -> Value {
    match serde_json::from_value::<cache_wire::schema::FileConfig>(config.clone()) {
        Ok(c) => serde_json::to_value(FileConfigView::from(c)).unwrap_or(Value::Null),
        Err(_) => {
            let get = |k: &str| config.get(k).cloned().unwrap_or(Value::Null);
            let file_type = serde_json::from_value::<FileTypeInfo>(get("file_type"))
                .ok()
                .and_then(|t| serde_json::to_value(t).ok())
                .unwrap_or_else(|| get("file_type"));
            json!({
                "file_id": get("file_id"),
                "file_key": get("file_key"),
                "file_paths": get("file_paths"),
                "file_type": file_type,
                "exists_strategy": get("exists_strategy"),
            })
        }
    }
}

/// `GET /{ns}/retrieve/{cache_id}/metadata`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/metadata",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__metadata__namespace__retrieve__cache_id__metadata_get",
    summary = "Retrieve  Cache Id  Metadata",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The content file's `.metadata`.", body = api::FileMetadataView),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn metadata(ctx: Ctx) -> Response {
    let (id, ns) = bail!(entry_params(&ctx));
    match bail!(served(
        ctx.state
            .service
            .metadata_of(ns.as_str(), id.as_str())
            .await
    )) {
        Some(metadata) => reply::ok(&metadata_view(&metadata)),
        None => not_found_entry(Some(id.as_str()), None, ns.as_str()),
    }
}

/// A stored `.metadata` in the key order of `Schema__Cache__File__Metadata`.
fn metadata_view(metadata: &Value) -> Value {
    match serde_json::from_value::<cache_wire::schema::FileMetadata>(metadata.clone()) {
        Ok(m) => serde_json::to_value(FileMetadataView::from(m)).unwrap_or(Value::Null),
        Err(_) => {
            let get = |k: &str| metadata.get(k).cloned().unwrap_or(Value::Null);
            json!({
                "content__hash": get("content__hash"),
                "content__size": get("content__size"),
                "chain_hash": get("chain_hash"),
                "previous_version_path": get("previous_version_path"),
                "tags": get("tags"),
                "timestamp": get("timestamp"),
                "data": get("data"),
            })
        }
    }
}

/// `GET /{ns}/retrieve/{cache_id}/refs`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/refs",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__refs__namespace__retrieve__cache_id__refs_get",
    summary = "Retrieve  Cache Id  Refs",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The by-id reference file.", body = api::FileRefs),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn refs(ctx: Ctx) -> Response {
    let (id, ns) = bail!(entry_params(&ctx));
    match bail!(served(
        ctx.state.service.refs(ns.as_str(), id.as_str()).await
    )) {
        Some(refs) => reply::ok(&refs),
        None => not_found_entry(Some(id.as_str()), None, ns.as_str()),
    }
}

/// `GET /{ns}/retrieve/{cache_id}/refs/all`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/refs/all",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__refs__all__namespace__retrieve__cache_id__refs_all_get",
    summary = "Retrieve  Cache Id  Refs  All",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The by-id reference and every file it lists, by path.", body = Value),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn refs_all(ctx: Ctx) -> Response {
    let (id, ns) = bail!(entry_params(&ctx));
    match bail!(served(
        ctx.state.service.refs_all(ns.as_str(), id.as_str()).await
    )) {
        Some(all) => reply::ok(&all),
        None => not_found_entry(Some(id.as_str()), None, ns.as_str()),
    }
}

/// `GET /{ns}/retrieve/{cache_id}/string`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/string",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__string__namespace__retrieve__cache_id__string_get",
    summary = "Retrieve  Cache Id  String",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The value as text (JSON rendered, binary as base64).", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn id_string(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_id(&ctx).await);
    match found {
        Some(found) => string_response(&found, false),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/{cache_id}/json`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/json",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__json__namespace__retrieve__cache_id__json_get",
    summary = "Retrieve  Cache Id  Json",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The JSON value (a string entry parsed; binary wrapped as `Base64Data`).", body = Value),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 415, description = "The entry is a string that is not JSON.", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn id_json(ctx: Ctx) -> Response {
    let (id, ns) = bail!(entry_params(&ctx));
    // This route alone defaults an empty namespace (`namespace or "default"`).
    let ns = crate::service::entry::or_default(ns.as_str()).to_owned();
    match bail!(served(
        ctx.state.service.retrieve_by_id(&ns, id.as_str()).await
    )) {
        Some(found) => json_response(&found, true),
        None => not_found_plain(),
    }
}

/// The `/json` routes: JSON as is, a string parsed as JSON (415 if it is not), binary wrapped
/// in base64.
fn json_response(found: &Retrieved, detail_with_prefix: bool) -> Response {
    match &found.data {
        EntryData::Json(v) => reply::ok(v),
        EntryData::Binary(b) => base64_wrapper(b),
        EntryData::Text(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => return reply::ok(other),
            };
            match crate::json::loads::loads_str(&text) {
                Ok(parsed) => reply::ok(&parsed),
                Err(_) => {
                    let message = if detail_with_prefix {
                        let head: String = text.chars().take(100).collect();
                        format!("Data is string, not JSON: {head}")
                    } else {
                        "Data is string, not JSON".to_owned()
                    };
                    reply::detail(StatusCode::UNSUPPORTED_MEDIA_TYPE, json!(message))
                }
            }
        }
    }
}

/// `GET /{ns}/retrieve/{cache_id}/binary`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/{cache_id}/binary",
    tag = "retrieve",
    operation_id = "retrieve__cache_id__binary__namespace__retrieve__cache_id__binary_get",
    summary = "Retrieve  Cache Id  Binary",
    params(api::NamespacePath, api::CacheIdPath),
    responses(
        api::Failures,
        (status = 200, description = "The content as bytes.", body = inline(api::RawBytes), content_type = "application/octet-stream"),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn id_binary(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_id(&ctx).await);
    match found {
        Some(found) => binary_response(&found),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__namespace__retrieve_hash__cache_hash__get",
    summary = "Retrieve  Hash  Cache Hash",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The latest entry with that hash: the value with its metadata, or where to fetch binary data.", body = api::Retrieved),
        (status = 404, description = "No such entry.", body = api::EntryNotFound),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn by_hash(ctx: Ctx) -> Response {
    let (found, hash, ns) = bail!(retrieve_hash(&ctx).await);
    match found {
        Some(found) => generic(
            &found,
            ns.as_str(),
            format!("/{ns}/retrieve/hash/{hash}/binary"),
        ),
        None => not_found_entry(None, Some(hash.as_str()), ns.as_str()),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/string` (binary tried as UTF-8 first).
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/string",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__string__namespace__retrieve_hash__cache_hash__string_get",
    summary = "Retrieve  Hash  Cache Hash  String",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The value as text (JSON rendered, binary as UTF-8 or else base64).", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_string(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_hash(&ctx).await);
    match found {
        Some(found) => string_response(&found, true),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/json`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/json",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__json__namespace__retrieve_hash__cache_hash__json_get",
    summary = "Retrieve  Hash  Cache Hash  Json",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The JSON value (a string entry parsed; binary wrapped as `Base64Data`).", body = Value),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 415, description = "The entry is a string that is not JSON.", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_json(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_hash(&ctx).await);
    match found {
        Some(found) => json_response(&found, false),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/binary`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/binary",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__binary__namespace__retrieve_hash__cache_hash__binary_get",
    summary = "Retrieve  Hash  Cache Hash  Binary",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The content as bytes.", body = inline(api::RawBytes), content_type = "application/octet-stream"),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_binary(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_hash(&ctx).await);
    match found {
        Some(found) => binary_response(&found),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/metadata`: the flat metadata.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/metadata",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__metadata__namespace__retrieve_hash__cache_hash__metadata_get",
    summary = "Retrieve  Hash  Cache Hash  Metadata",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The flat metadata of the latest entry with that hash.", body = api::CacheMetadata),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_metadata(ctx: Ctx) -> Response {
    let (found, _, _) = bail!(retrieve_hash(&ctx).await);
    match found {
        Some(found) => reply::ok(&cache_metadata_of(&found.store_metadata)),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/refs-hash`: the by-hash reference file.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/refs-hash",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__refs_hash__namespace__retrieve_hash__cache_hash__refs_hash_get",
    summary = "Retrieve  Hash  Cache Hash  Refs Hash",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The by-hash reference file.", body = api::HashRef),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_refs(ctx: Ctx) -> Response {
    let (hash, ns) = bail!(by_hash_params(&ctx));
    match bail!(served(
        ctx.state
            .service
            .hash_ref_json(ns.as_str(), hash.as_str())
            .await
    )) {
        Some(refs) => reply::ok(&refs),
        None => not_found_plain(),
    }
}

/// `GET /{ns}/retrieve/hash/{cache_hash}/cache-id`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/retrieve/hash/{cache_hash}/cache-id",
    tag = "retrieve",
    operation_id = "retrieve__hash__cache_hash__cache_id__namespace__retrieve_hash__cache_hash__cache_id_get",
    summary = "Retrieve  Hash  Cache Hash  Cache Id",
    params(api::NamespacePath, api::CacheHashPath),
    responses(
        api::Failures,
        (status = 200, description = "The latest entry with that hash.", body = api::HashCacheId),
        (status = 404, description = "No such entry (`{\"detail\":\"Cache entry not found\"}`).", body = api::ErrorMessage),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn hash_cache_id(ctx: Ctx) -> Response {
    let (hash, ns) = bail!(by_hash_params(&ctx));
    // Only `latest_id` is needed: one ranged read, however many ids the file lists.
    match bail!(served(
        ctx.state
            .service
            .hash_latest_id(ns.as_str(), hash.as_str())
            .await
    )) {
        Some(latest_id) => reply::ok(&HashCacheId {
            namespace: ns.into_string(),
            cache_hash: hash.into_string(),
            cache_id: latest_id,
        }),
        None => not_found_plain(),
    }
}
