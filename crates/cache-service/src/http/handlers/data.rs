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
    store_binary => |c| store(c, DataType::Binary, shape(false, false));
    /// `POST P/data/store/binary/{data_file_id}`.
    store_binary_id => |c| store(c, DataType::Binary, shape(false, true));
    /// `POST P/data/store/binary/{data_key:path}/{data_file_id}`.
    store_binary_key => |c| store(c, DataType::Binary, shape(true, true));
    /// `POST P/data/store/json`.
    store_json => |c| store(c, DataType::Json, shape(false, false));
    /// `POST P/data/store/json/{data_file_id}`.
    store_json_id => |c| store(c, DataType::Json, shape(false, true));
    /// `POST P/data/store/json/{data_key:path}/{data_file_id}`.
    store_json_key => |c| store(c, DataType::Json, shape(true, true));
    /// `POST P/data/store/string`.
    store_string => |c| store(c, DataType::String, shape(false, false));
    /// `POST P/data/store/string/{data_file_id}`.
    store_string_id => |c| store(c, DataType::String, shape(false, true));
    /// `POST P/data/store/string/{data_key:path}/{data_file_id}`.
    store_string_key => |c| store(c, DataType::String, shape(true, true));
    /// `GET P/data/json/{data_file_id}`.
    get_json => |c| retrieve(c, DataType::Json, false);
    /// `GET P/data/json/{data_key:path}/{data_file_id}`.
    get_json_key => |c| retrieve(c, DataType::Json, true);
    /// `GET P/data/string/{data_file_id}`.
    get_string => |c| retrieve(c, DataType::String, false);
    /// `GET P/data/string/{data_key:path}/{data_file_id}`.
    get_string_key => |c| retrieve(c, DataType::String, true);
    /// `GET P/data/binary/{data_file_id}`.
    get_binary => |c| retrieve(c, DataType::Binary, false);
    /// `GET P/data/binary/{data_key:path}/{data_file_id}`.
    get_binary_key => |c| retrieve(c, DataType::Binary, true);
    /// `POST P/data/update/string/{data_file_id}`.
    update_string => |c| update(c, DataType::String, false);
    /// `POST P/data/update/string/{data_key:path}/{data_file_id}`.
    update_string_key => |c| update(c, DataType::String, true);
    /// `POST P/data/update/json/{data_file_id}`.
    update_json => |c| update(c, DataType::Json, false);
    /// `POST P/data/update/json/{data_key:path}/{data_file_id}`.
    update_json_key => |c| update(c, DataType::Json, true);
    /// `POST P/data/update/binary/{data_file_id}`.
    update_binary => |c| update(c, DataType::Binary, false);
    /// `POST P/data/update/binary/{data_key:path}/{data_file_id}`.
    update_binary_key => |c| update(c, DataType::Binary, true);
    /// `GET P/data/exists/{data_type}/{data_file_id}`.
    exists_id => |c| exists(c, false);
    /// `GET P/data/exists/{data_type}/{data_key:path}/{data_file_id}`.
    exists_key => |c| exists(c, true);
    /// `GET P/data/list`.
    list_all => |c| list(c, false);
    /// `GET P/data/list/{data_key:path}`.
    list_key => |c| list(c, true);
    /// `DELETE P/data/delete/all`.
    delete_all_files => |c| delete_all(c, false);
    /// `DELETE P/data/delete/all/{data_key:path}`.
    delete_all_key => |c| delete_all(c, true);
    /// `DELETE P/data/delete/{data_type}/{data_file_id}`.
    delete_id => |c| delete_one(c, false);
    /// `DELETE P/data/delete/{data_type}/{data_key:path}/{data_file_id}`.
    delete_key => |c| delete_one(c, true);
}
