//! Child data files, `P = /{ns}/cache/{cache_id}` (`Routes__Data__*`): store, retrieve,
//! exists, update, list, delete.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use cache_wire::ids::{CacheId, DataFileId, DataKey, DataType, Namespace};
use cache_wire::schema::{DataDeleteResponse, DataExistsResponse};
use serde_json::{Value, json};

use super::{bail, cache_id, class, error_detail, namespace, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::json::dumps_indented;
use crate::service::ServiceError;
use crate::service::data::{ChildData, ChildKey};
use crate::store::StreamPutError;

/// Which optional path parameters a route has, and the classes naming them in errors.
#[derive(Clone, Copy)]
struct Shape {
    key: bool,
    file_id: bool,
    typed: bool,
    /// The JSON store route with key uses the `Safe_Str__Cache__*` classes.
    cache_classes: bool,
}

const PLAIN: Shape = Shape {
    key: false,
    file_id: false,
    typed: false,
    cache_classes: false,
};

/// Validated parameters of a child-data route.
struct Params {
    cache_id: CacheId,
    namespace: Namespace,
    data_key: String,
    data_file_id: String,
    data_type: Option<DataType>,
}

impl Params {
    fn key(&self) -> ChildKey<'_> {
        ChildKey {
            namespace: self.namespace.as_str(),
            cache_id: self.cache_id.as_str(),
            data_key: &self.data_key,
            data_file_id: &self.data_file_id,
        }
    }
}

/// The wrapper phase: `cache_id, namespace, [data_key], [data_file_id]`.
fn params(ctx: &Ctx, shape: Shape, data_type: Option<DataType>) -> Result<Params, Response> {
    let mut checks = Checks::default();
    let id = cache_id(&mut checks, ctx);
    let ns = namespace(
        &mut checks,
        ctx,
        if shape.cache_classes {
            class::NAMESPACE
        } else {
            class::ID
        },
    );
    let data_key = if shape.key {
        let raw = ctx.param("data_key");
        let cls = if shape.cache_classes {
            class::DATA_KEY
        } else {
            class::FILE_PATH
        };
        checks
            .value("data_key", raw, DataKey::parse_as(raw, cls))
            .map(DataKey::into_string)
    } else {
        Some(String::new())
    };
    let data_file_id = if shape.file_id {
        let raw = ctx.param("data_file_id");
        let cls = if shape.cache_classes {
            class::FILE_ID
        } else {
            class::ID
        };
        checks
            .value("data_file_id", raw, DataFileId::parse_as(raw, cls))
            .map(DataFileId::into_string)
    } else {
        Some(String::new())
    };
    checks.finish()?;
    match (id, ns, data_key, data_file_id) {
        (Some(cache_id), Some(namespace), Some(data_key), Some(data_file_id)) => Ok(Params {
            cache_id,
            namespace,
            data_key,
            data_file_id,
            data_type,
        }),
        _ => Err(reply::internal(
            "ValueError",
            "parameters missing after validation",
        )),
    }
}

/// FastAPI phase of the typed routes: the `data_type` path enum.
fn data_type_param(ctx: &Ctx, shape: Shape) -> Result<Option<DataType>, Response> {
    if !shape.typed {
        return Ok(None);
    }
    let mut checks = Checks::default();
    let t = checks.path_enum("data_type", ctx.param("data_type"), DataType::parse);
    checks.finish()?;
    Ok(t)
}

/// Reads and type-checks the body of a store/update route, serialised for a child file.
async fn child_body(ctx: &mut Ctx, data_type: DataType) -> Result<(Bytes, bool), Response> {
    let body = ctx.fastapi_body().await?;
    let mut checks = Checks::default();
    let result = match data_type {
        DataType::Json => checks
            .body_dict(body)
            .map(|v| (Bytes::from(dumps_indented(&v, 4)), false)),
        DataType::String => checks.body_str(body).map(|s| {
            let empty = s.is_empty();
            (Bytes::from(s.into_bytes()), empty)
        }),
        _ => checks.body_bytes(body).map(|b| {
            let empty = b.is_empty();
            (b, empty)
        }),
    };
    checks.finish()?;
    result.ok_or_else(|| reply::internal("ValueError", "body missing after validation"))
}

fn shape(key: bool, file_id: bool) -> Shape {
    Shape {
        key,
        file_id,
        ..PLAIN
    }
}

async fn store(mut ctx: Ctx, data_type: DataType, mut shape: Shape) -> Response {
    // Raw binary bodies are written through as they arrive; JSON-typed ones keep FastAPI's
    // decoding (and its errors), so they take the buffered path.
    if data_type == DataType::Binary && !ctx.has_json_body() {
        return store_binary_streamed(ctx, shape).await;
    }
    let (bytes, _) = bail!(child_body(&mut ctx, data_type).await);
    shape.cache_classes = data_type == DataType::Json && shape.key;
    let p = bail!(params(&ctx, shape, None));
    match bail!(served(
        ctx.state
            .service
            .store_child(p.key(), data_type, bytes)
            .await
    )) {
        Some(response) => reply::ok(&response),
        None => entry_not_found(&p),
    }
}

fn entry_not_found(p: &Params) -> Response {
    unknown_entry(p.cache_id.as_str(), p.namespace.as_str())
}

/// 404 for a child-data write to an entry that does not exist.
pub(super) fn unknown_entry(cache_id: &str, namespace: &str) -> Response {
    error_detail(
        StatusCode::NOT_FOUND,
        &[
            ("error_type", json!("NOT_FOUND")),
            (
                "message",
                json!(format!(
                    "Cache entry '{cache_id}' in namespace '{namespace}' not found"
                )),
            ),
            ("cache_id", json!(cache_id)),
        ],
    )
}

/// The binary store with the body streamed to storage: same validation order and answers as
/// the buffered path (an empty body is `missing`), bounded memory whatever the size.
async fn store_binary_streamed(mut ctx: Ctx, shape: Shape) -> Response {
    use futures::StreamExt;
    let limit = ctx.state.max_stream_bytes;
    if ctx.content_length().is_some_and(|n| n > limit) {
        return reply::too_large();
    }
    let mut body = match ctx.take_body() {
        Some(body) => body.into_data_stream(),
        None => axum::body::Body::empty().into_data_stream(),
    };
    // The first bytes tell an empty body (a validation error) from a real one.
    let first = loop {
        match body.next().await {
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) => break chunk,
            Some(Err(_)) => return reply::unparseable_body(),
            None => {
                let mut checks = Checks::default();
                checks.body_bytes(None);
                bail!(checks.finish());
                return reply::internal("ValueError", "body missing after validation");
            }
        }
    };
    let p = bail!(params(&ctx, shape, None));
    let chunks = futures::stream::once(async move { Ok(first) }).chain(body);
    match ctx
        .state
        .service
        .store_child_stream(p.key(), chunks, limit)
        .await
    {
        Ok(Some(response)) => reply::ok(&response),
        Ok(None) => entry_not_found(&p),
        Err(StreamPutError::TooLarge { .. }) => reply::too_large(),
        Err(StreamPutError::Body(e)) => {
            tracing::debug!(error = %e, "streamed body failed; nothing stored");
            reply::unparseable_body()
        }
        Err(StreamPutError::Store(e)) => reply::service_error(&ServiceError::Store(e)),
    }
}

async fn retrieve(ctx: Ctx, data_type: DataType, key: bool) -> Response {
    let p = bail!(params(&ctx, shape(key, true), None));
    if data_type == DataType::Binary {
        // Streamed from storage: never read whole, whatever its size.
        return match bail!(served(
            ctx.state.service.retrieve_child_stream(p.key()).await
        )) {
            Some((size, stream)) => reply::octet_stream(StatusCode::OK, size, stream),
            None => reply::empty(StatusCode::NOT_FOUND),
        };
    }
    let found = bail!(served(
        ctx.state.service.retrieve_child(p.key(), data_type).await
    ));
    match (data_type, found) {
        (DataType::Json, Some(ChildData::Json(v))) => reply::ok(&v),
        (DataType::Json, _) => {
            let or_null = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
            error_detail(
                StatusCode::NOT_FOUND,
                &[
                    ("error_type", json!("NOT_FOUND")),
                    ("message", json!("Data file not found")),
                    ("cache_id", or_null(p.cache_id.as_str())),
                    ("data_file_id", or_null(&p.data_file_id)),
                ],
            )
        }
        (_, Some(ChildData::Text(s))) => reply::text(StatusCode::OK, s),
        (_, Some(ChildData::Binary(b))) => reply::octets(StatusCode::OK, b),
        // String and binary misses are an empty 404 without a content type.
        _ => reply::empty(StatusCode::NOT_FOUND),
    }
}

async fn exists(ctx: Ctx, key: bool) -> Response {
    let s = Shape {
        typed: true,
        ..shape(key, true)
    };
    let data_type = bail!(data_type_param(&ctx, s));
    let p = bail!(params(&ctx, s, data_type));
    if p.data_file_id.is_empty() {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            json!({"error_type": "INVALID_INPUT", "message": "data_file_id is required to check existence"}),
        );
    }
    let Some(data_type) = p.data_type else {
        return reply::internal("ValueError", "data_type missing after validation");
    };
    let exists = bail!(served(
        ctx.state.service.child_exists(p.key(), data_type).await
    ));
    reply::ok(&DataExistsResponse {
        cache_id: p.cache_id.into_string(),
        data_type: data_type.as_str().to_owned(),
        data_key: p.data_key,
        data_file_id: p.data_file_id,
        exists,
        namespace: p.namespace.into_string(),
    })
}

async fn update(mut ctx: Ctx, data_type: DataType, key: bool) -> Response {
    let (bytes, empty) = bail!(child_body(&mut ctx, data_type).await);
    let p = bail!(params(&ctx, shape(key, true), None));
    if empty && data_type != DataType::Json {
        let (message, field) = if data_type == DataType::String {
            ("String data cannot be empty", "data")
        } else {
            ("Binary data cannot be empty", "body")
        };
        return reply::detail(
            StatusCode::BAD_REQUEST,
            json!({"error_type": "INVALID_INPUT", "message": message, "field_name": field}),
        );
    }
    match bail!(served(
        ctx.state
            .service
            .update_child(p.key(), data_type, bytes)
            .await
    )) {
        Some(response) => reply::ok(&response),
        None => error_detail(
            StatusCode::NOT_FOUND,
            &[
                ("error_type", json!("NOT_FOUND")),
                (
                    "message",
                    json!(format!(
                        "Data file '{}' not found in cache entry '{}'",
                        p.data_file_id, p.cache_id
                    )),
                ),
                ("cache_id", json!(p.cache_id.as_str())),
                ("data_file_id", json!(p.data_file_id)),
            ],
        ),
    }
}

async fn list(ctx: Ctx, key: bool) -> Response {
    let mut fastapi = Checks::default();
    let recursive = fastapi.query_bool("recursive", ctx.query("recursive"), true);
    bail!(fastapi.finish());
    let p = bail!(params(&ctx, shape(key, false), None));
    match bail!(served(
        ctx.state
            .service
            .list_children(
                p.namespace.as_str(),
                p.cache_id.as_str(),
                &p.data_key,
                recursive
            )
            .await
    )) {
        Some(response) => reply::ok(&response),
        None => error_detail(
            StatusCode::NOT_FOUND,
            &[
                ("error_type", json!("NOT_FOUND")),
                (
                    "message",
                    json!(format!("Cache entry '{}' not found", p.cache_id)),
                ),
                ("cache_id", json!(p.cache_id.as_str())),
            ],
        ),
    }
}

async fn delete_all(ctx: Ctx, key: bool) -> Response {
    let p = bail!(params(&ctx, shape(key, false), None));
    let response = bail!(served(
        ctx.state
            .service
            .delete_all_children(p.namespace.as_str(), p.cache_id.as_str(), &p.data_key)
            .await
    ));
    reply::ok(&response)
}

async fn delete_one(ctx: Ctx, key: bool) -> Response {
    let s = Shape {
        typed: true,
        ..shape(key, true)
    };
    let data_type = bail!(data_type_param(&ctx, s));
    let p = bail!(params(&ctx, s, data_type));
    if p.data_file_id.is_empty() {
        return reply::detail(
            StatusCode::BAD_REQUEST,
            json!({"error_type": "INVALID_INPUT", "message": "data_file_id is required to delete a specific data file"}),
        );
    }
    let Some(data_type) = p.data_type else {
        return reply::internal("ValueError", "data_type missing after validation");
    };
    let deleted = bail!(served(
        ctx.state.service.delete_child(p.key(), data_type).await
    ));
    if !deleted {
        return error_detail(
            StatusCode::NOT_FOUND,
            &[
                ("error_type", json!("NOT_FOUND")),
                (
                    "message",
                    json!(format!("Data file {} not found", p.data_file_id)),
                ),
                ("cache_id", json!(p.cache_id.as_str())),
                ("data_file_id", json!(p.data_file_id)),
                ("data_type", json!(data_type.as_str())),
            ],
        );
    }
    reply::ok(&DataDeleteResponse {
        status: "success".to_owned(),
        message: "Data file deleted successfully".to_owned(),
        cache_id: p.cache_id.into_string(),
        data_file_id: p.data_file_id,
        data_type: data_type.as_str().to_owned(),
        data_key: (!p.data_key.is_empty()).then_some(p.data_key),
        namespace: p.namespace.into_string(),
    })
}

macro_rules! handlers {
    ($($(#[$doc:meta])* $name:ident => $body:expr;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(ctx: Ctx) -> Response {
                let f = $body;
                f(ctx).await
            }
        )*
    };
}

handlers! {
    /// `POST P/data/store/binary`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/binary",
        tag = "data/store",
        operation_id = "data__store_binary__namespace__cache__cache_id__data_store_binary_post",
        summary = "Data  Store Binary",
        params(api::NamespacePath, api::CacheIdPath),
        request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_binary => |c| store(c, DataType::Binary, shape(false, false));
    /// `POST P/data/store/binary/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/binary/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_binary__with__id__namespace__cache__cache_id__data_store_binary__data_file_id__post",
        summary = "Data  Store Binary  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_binary_id => |c| store(c, DataType::Binary, shape(false, true));
    /// `POST P/data/store/binary/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/binary/{data_key}/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_binary__with__id_and_key__namespace__cache__cache_id__data_store_binary__data_key___data_file_id__post",
        summary = "Data  Store Binary  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_binary_key => |c| store(c, DataType::Binary, shape(true, true));
    /// `POST P/data/store/json`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/json",
        tag = "data/store",
        operation_id = "data__store_json__namespace__cache__cache_id__data_store_json_post",
        summary = "Data  Store Json",
        params(api::NamespacePath, api::CacheIdPath),
        request_body(content = Object, content_type = "application/json", description = "A JSON object."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_json => |c| store(c, DataType::Json, shape(false, false));
    /// `POST P/data/store/json/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/json/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_json__with__id__namespace__cache__cache_id__data_store_json__data_file_id__post",
        summary = "Data  Store Json  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content = Object, content_type = "application/json", description = "A JSON object."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_json_id => |c| store(c, DataType::Json, shape(false, true));
    /// `POST P/data/store/json/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/json/{data_key}/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_json__with__id_and_key__namespace__cache__cache_id__data_store_json__data_key___data_file_id__post",
        summary = "Data  Store Json  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content = Object, content_type = "application/json", description = "A JSON object."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_json_key => |c| store(c, DataType::Json, shape(true, true));
    /// `POST P/data/store/string`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/string",
        tag = "data/store",
        operation_id = "data__store_string__namespace__cache__cache_id__data_store_string_post",
        summary = "Data  Store String",
        params(api::NamespacePath, api::CacheIdPath),
        request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_string => |c| store(c, DataType::String, shape(false, false));
    /// `POST P/data/store/string/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/string/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_string__with__id__namespace__cache__cache_id__data_store_string__data_file_id__post",
        summary = "Data  Store String  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_string_id => |c| store(c, DataType::String, shape(false, true));
    /// `POST P/data/store/string/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/store/string/{data_key}/{data_file_id}",
        tag = "data/store",
        operation_id = "data__store_string__with__id_and_key__namespace__cache__cache_id__data_store_string__data_key___data_file_id__post",
        summary = "Data  Store String  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
        responses(
            api::Failures,
            (status = 200, description = "The data file written (one per content copy).", body = api::DataStoreResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    store_string_key => |c| store(c, DataType::String, shape(true, true));
    /// `GET P/data/json/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/json/{data_file_id}",
        tag = "data",
        operation_id = "data__json__with__id__namespace__cache__cache_id__data_json__data_file_id__get",
        summary = "Data  Json  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored JSON value.", body = Value),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    get_json => |c| retrieve(c, DataType::Json, false);
    /// `GET P/data/json/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/json/{data_key}/{data_file_id}",
        tag = "data",
        operation_id = "data__json__with__id_and_key__namespace__cache__cache_id__data_json__data_key___data_file_id__get",
        summary = "Data  Json  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored JSON value.", body = Value),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    get_json_key => |c| retrieve(c, DataType::Json, true);
    /// `GET P/data/string/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/string/{data_file_id}",
        tag = "data",
        operation_id = "data__string__with__id__namespace__cache__cache_id__data_string__data_file_id__get",
        summary = "Data  String  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored text.", body = String, content_type = "text/plain; charset=utf-8"),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "No such data file (empty body)."),
        ),
    ))]
    get_string => |c| retrieve(c, DataType::String, false);
    /// `GET P/data/string/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/string/{data_key}/{data_file_id}",
        tag = "data",
        operation_id = "data__string__with__id_and_key__namespace__cache__cache_id__data_string__data_key___data_file_id__get",
        summary = "Data  String  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored text.", body = String, content_type = "text/plain; charset=utf-8"),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "No such data file (empty body)."),
        ),
    ))]
    get_string_key => |c| retrieve(c, DataType::String, true);
    /// `GET P/data/binary/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/binary/{data_file_id}",
        tag = "data",
        operation_id = "data__binary__with__id__namespace__cache__cache_id__data_binary__data_file_id__get",
        summary = "Data  Binary  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored bytes (streamed).", body = inline(api::RawBytes), content_type = "application/octet-stream"),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "No such data file (empty body)."),
        ),
    ))]
    get_binary => |c| retrieve(c, DataType::Binary, false);
    /// `GET P/data/binary/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/binary/{data_key}/{data_file_id}",
        tag = "data",
        operation_id = "data__binary__with__id_and_key__namespace__cache__cache_id__data_binary__data_key___data_file_id__get",
        summary = "Data  Binary  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The stored bytes (streamed).", body = inline(api::RawBytes), content_type = "application/octet-stream"),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "No such data file (empty body)."),
        ),
    ))]
    get_binary_key => |c| retrieve(c, DataType::Binary, true);
    /// `POST P/data/update/string/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/string/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_string__with__id__namespace__cache__cache_id__data_update_string__data_file_id__post",
        summary = "Data  Update String  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_string => |c| update(c, DataType::String, false);
    /// `POST P/data/update/string/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/string/{data_key}/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_string__with__id_and_key__namespace__cache__cache_id__data_update_string__data_key___data_file_id__post",
        summary = "Data  Update String  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content((String = "text/plain"), (String = "application/json")), description = "The text: raw UTF-8, or a JSON string with `Content-Type: application/json`."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_string_key => |c| update(c, DataType::String, true);
    /// `POST P/data/update/json/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/json/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_json__with__id__namespace__cache__cache_id__data_update_json__data_file_id__post",
        summary = "Data  Update Json  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content = Object, content_type = "application/json", description = "A JSON object."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_json => |c| update(c, DataType::Json, false);
    /// `POST P/data/update/json/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/json/{data_key}/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_json__with__id_and_key__namespace__cache__cache_id__data_update_json__data_key___data_file_id__post",
        summary = "Data  Update Json  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content = Object, content_type = "application/json", description = "A JSON object."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_json_key => |c| update(c, DataType::Json, true);
    /// `POST P/data/update/binary/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/binary/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_binary__with__id__namespace__cache__cache_id__data_update_binary__data_file_id__post",
        summary = "Data  Update Binary  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataFileIdPath),
        request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_binary => |c| update(c, DataType::Binary, false);
    /// `POST P/data/update/binary/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        post,
        path = "/{namespace}/cache/{cache_id}/data/update/binary/{data_key}/{data_file_id}",
        tag = "data/update",
        operation_id = "data__update_binary__with__id_and_key__namespace__cache__cache_id__data_update_binary__data_key___data_file_id__post",
        summary = "Data  Update Binary  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::DataFileIdPath),
        request_body(content((inline(api::RawBytes) = "application/octet-stream"), (String = "application/json")), description = "The bytes: raw (any non-JSON content type), or a JSON string whose UTF-8 is stored."),
        responses(
            api::Failures,
            (status = 200, description = "The data file was overwritten.", body = api::DataUpdateResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
            (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
        ),
    ))]
    update_binary_key => |c| update(c, DataType::Binary, true);
    /// `GET P/data/exists/{data_type}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_file_id}",
        tag = "data",
        operation_id = "data__exists__with__id__namespace__cache__cache_id__data_exists__data_type___data_file_id__get",
        summary = "Data  Exists  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataTypePath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "Whether the data file exists.", body = api::DataExistsResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
        ),
    ))]
    exists_id => |c| exists(c, false);
    /// `GET P/data/exists/{data_type}/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_key}/{data_file_id}",
        tag = "data",
        operation_id = "data__exists__with__id_and_key__namespace__cache__cache_id__data_exists__data_type___data_key___data_file_id__get",
        summary = "Data  Exists  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataTypePath, api::DataKeyPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "Whether the data file exists.", body = api::DataExistsResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
        ),
    ))]
    exists_key => |c| exists(c, true);
    /// `GET P/data/list`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/list",
        tag = "data",
        operation_id = "data__list__namespace__cache__cache_id__data_list_get",
        summary = "Data  List",
        params(api::NamespacePath, api::CacheIdPath, api::RecursiveQuery),
        responses(
            api::Failures,
            (status = 200, description = "The data files, once per content copy.", body = api::DataListResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    list_all => |c| list(c, false);
    /// `GET P/data/list/{data_key:path}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        get,
        path = "/{namespace}/cache/{cache_id}/data/list/{data_key}",
        tag = "data",
        operation_id = "data__list__with__key__namespace__cache__cache_id__data_list__data_key__get",
        summary = "Data  List  With  Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath, api::RecursiveQuery),
        responses(
            api::Failures,
            (status = 200, description = "The data files, once per content copy.", body = api::DataListResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    list_key => |c| list(c, true);
    /// `DELETE P/data/delete/all`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        delete,
        path = "/{namespace}/cache/{cache_id}/data/delete/all",
        tag = "data",
        operation_id = "delete__all__data__files__namespace__cache__cache_id__data_delete_all_delete",
        summary = "Delete  All  Data  Files",
        params(api::NamespacePath, api::CacheIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The data files deleted (200 even when none were).", body = api::DataDeleteAllResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
        ),
    ))]
    delete_all_files => |c| delete_all(c, false);
    /// `DELETE P/data/delete/all/{data_key:path}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        delete,
        path = "/{namespace}/cache/{cache_id}/data/delete/all/{data_key}",
        tag = "data",
        operation_id = "delete__all__data__files__with__key__namespace__cache__cache_id__data_delete_all__data_key__delete",
        summary = "Delete  All  Data  Files  With  Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataKeyPath),
        responses(
            api::Failures,
            (status = 200, description = "The data files deleted (200 even when none were).", body = api::DataDeleteAllResponse),
            (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
        ),
    ))]
    delete_all_key => |c| delete_all(c, true);
    /// `DELETE P/data/delete/{data_type}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        delete,
        path = "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_file_id}",
        tag = "data",
        operation_id = "delete__data__file__with__id__namespace__cache__cache_id__data_delete__data_type___data_file_id__delete",
        summary = "Delete  Data  File  With  Id",
        params(api::NamespacePath, api::CacheIdPath, api::DataTypePath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The data file was deleted.", body = api::DataDeleteResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    delete_id => |c| delete_one(c, false);
    /// `DELETE P/data/delete/{data_type}/{data_key:path}/{data_file_id}`.
    #[cfg_attr(feature = "openapi", utoipa::path(
        delete,
        path = "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_key}/{data_file_id}",
        tag = "data",
        operation_id = "delete__data__file__with__id_and_key__namespace__cache__cache_id__data_delete__data_type___data_key___data_file_id__delete",
        summary = "Delete  Data  File  With  Id And Key",
        params(api::NamespacePath, api::CacheIdPath, api::DataTypePath, api::DataKeyPath, api::DataFileIdPath),
        responses(
            api::Failures,
            (status = 200, description = "The data file was deleted.", body = api::DataDeleteResponse),
            (status = 400, description = "A parameter or the body is invalid, or the content is empty (`INVALID_INPUT`).", body = api::BadRequest),
            (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        ),
    ))]
    delete_key => |c| delete_one(c, true);
}
