//! Batch child data, `P = /{ns}/cache/{cache_id}/data/batch` (perfstore's extension, COMPAT.md
//! D33; bodies in [`cache_wire::batch`]). Every file is validated before anything is written
//! or read; a bad file fails the request with 400 naming it (`loc: ["body","files",i,field]`).

use axum::response::Response;
use bytes::Bytes;
use cache_wire::batch::{
    BatchFileRef, BatchFileStatus, BatchRetrieveRequest, BatchRetrieveResponse, BatchRetrievedFile,
    BatchStoreRequest, BatchStoreResponse, ChildContent, ContentError, MAX_BATCH_FILES,
};
use cache_wire::ids::{DataFileId, DataKey, DataType};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::data::unknown_entry;
use super::{bail, class, entry_params, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::json::dumps_indented;
use crate::json::loads::loads_str;
use crate::service::batch::{BatchChild, BatchRead, BatchReadLimits};

/// Files larger than this are not inlined in a batch read (the client reads them singly).
pub const BATCH_INLINE_FILE_BYTES: u64 = 4 << 20;
/// A batch read stops inlining once it has read this much.
pub const BATCH_RESPONSE_BYTES: u64 = 32 << 20;

/// `POST P/store`: writes every file, each as the single store route of its type would.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/cache/{cache_id}/data/batch/store",
    tag = api::EXTENSIONS_TAG,
    operation_id = "data__batch_store__namespace__cache__cache_id__data_batch_store_post",
    summary = "Batch Store",
    params(api::NamespacePath, api::CacheIdPath),
    request_body(content = api::BatchStoreRequest, content_type = "application/json", description = "At most 1000 files; each is validated before any is written."),
    responses(
        api::Failures,
        (status = 200, description = "Every file written, each as its single store route answers.", body = api::BatchStoreResponse),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
        (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn store(mut ctx: Ctx) -> Response {
    let request: BatchStoreRequest = bail!(json_body(&mut ctx).await);
    let (id, ns) = bail!(entry_params(&ctx));
    let mut checks = Checks::default();
    count_files(&mut checks, request.files.len());
    let mut files = Vec::with_capacity(request.files.len());
    for (i, file) in request.files.iter().enumerate() {
        let child = child_params(
            &mut checks,
            i,
            &file.data_type,
            &file.data_key,
            &file.data_file_id,
        );
        let bytes = match file.content() {
            Ok(content) => serialised(&mut checks, i, content),
            // An unknown data_type is already reported by `child_params`.
            Err(ContentError::DataType) => None,
            Err(e) => {
                let field = if file.data_base64.is_some() {
                    "data_base64"
                } else {
                    "data"
                };
                checks.body_field(&loc(i, field), e.to_string(), Value::Null);
                None
            }
        };
        if let (Some(child), Some(bytes)) = (child, bytes) {
            files.push((child, bytes));
        }
    }
    bail!(checks.finish());
    let stored = bail!(served(
        ctx.state
            .service
            .store_children(ns.as_str(), id.as_str(), files)
            .await
    ));
    match stored {
        Some(files) => reply::ok(&BatchStoreResponse {
            cache_id: id.into_string(),
            namespace: ns.into_string(),
            files,
        }),
        None => unknown_entry(id.as_str(), ns.as_str()),
    }
}

/// `POST P/retrieve`: reads every file, each as the single retrieve route of its type would;
/// large files and those past the response budget come back `deferred`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/{namespace}/cache/{cache_id}/data/batch/retrieve",
    tag = api::EXTENSIONS_TAG,
    operation_id = "data__batch_retrieve__namespace__cache__cache_id__data_batch_retrieve_post",
    summary = "Batch Retrieve",
    params(api::NamespacePath, api::CacheIdPath),
    request_body(content = api::BatchRetrieveRequest, content_type = "application/json", description = "At most 1000 files."),
    responses(
        api::Failures,
        (status = 200, description = "Every file found, missing or deferred, in request order.", body = api::BatchRetrieveResponse),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
        (status = 404, description = "The entry (or data file) does not exist (`NOT_FOUND`).", body = api::ErrorDetail),
        (status = 413, description = "The body is over the size limit (COMPAT.md D18, D32).", body = api::ErrorMessage),
    ),
))]
pub async fn retrieve(mut ctx: Ctx) -> Response {
    let request: BatchRetrieveRequest = bail!(json_body(&mut ctx).await);
    let (id, ns) = bail!(entry_params(&ctx));
    let mut checks = Checks::default();
    count_files(&mut checks, request.files.len());
    let children: Vec<BatchChild> = request
        .files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            child_params(&mut checks, i, &f.data_type, &f.data_key, &f.data_file_id)
        })
        .collect();
    bail!(checks.finish());
    let limits = BatchReadLimits {
        max_file_bytes: BATCH_INLINE_FILE_BYTES,
        max_total_bytes: BATCH_RESPONSE_BYTES,
    };
    let reads = bail!(served(
        ctx.state
            .service
            .retrieve_children(ns.as_str(), id.as_str(), &children, limits)
            .await
    ));
    let Some(reads) = reads else {
        return unknown_entry(id.as_str(), ns.as_str());
    };
    let files = children
        .into_iter()
        .zip(reads)
        .map(|(child, read)| {
            let reference =
                BatchFileRef::new(child.data_type, &child.data_key, &child.data_file_id);
            match read {
                BatchRead::Found(content) => BatchRetrievedFile::found(reference, content),
                BatchRead::Missing => {
                    BatchRetrievedFile::without_content(reference, BatchFileStatus::Missing)
                }
                BatchRead::Deferred => {
                    BatchRetrievedFile::without_content(reference, BatchFileStatus::Deferred)
                }
            }
        })
        .collect();
    reply::ok(&BatchRetrieveResponse {
        cache_id: id.into_string(),
        namespace: ns.into_string(),
        files,
    })
}

/// The body as `T`; 400 naming what does not fit.
async fn json_body<T: DeserializeOwned>(ctx: &mut Ctx) -> Result<T, Response> {
    let raw = ctx.read_body().await?;
    serde_json::from_slice(&raw).map_err(|e| {
        let mut checks = Checks::default();
        checks.body_field(&[], format!("invalid batch body: {e}"), Value::Null);
        match checks.finish() {
            Err(response) => response,
            Ok(()) => reply::unparseable_body(),
        }
    })
}

fn count_files(checks: &mut Checks, count: usize) {
    if count > MAX_BATCH_FILES {
        checks.body_field(
            &[json!("files")],
            format!("a batch names at most {MAX_BATCH_FILES} files, not {count}"),
            json!(count),
        );
    }
}

fn loc(index: usize, field: &str) -> [Value; 3] {
    [json!("files"), json!(index), json!(field)]
}

/// File `index`'s type, key and id, sanitised as the single routes do; the id is required.
fn child_params(
    checks: &mut Checks,
    index: usize,
    data_type: &str,
    data_key: &str,
    data_file_id: &str,
) -> Option<BatchChild> {
    let data_type = match DataType::parse(data_type) {
        Ok(t @ (DataType::Json | DataType::String | DataType::Binary)) => Some(t),
        _ => {
            let msg = "data_type must be 'json', 'string' or 'binary'".to_owned();
            checks.body_field(&loc(index, "data_type"), msg, json!(data_type));
            None
        }
    };
    let data_key = match DataKey::parse_as(data_key, class::FILE_PATH) {
        Ok(key) => Some(key.into_string()),
        Err(e) => {
            checks.body_field(&loc(index, "data_key"), e.to_string(), json!(data_key));
            None
        }
    };
    let data_file_id = match DataFileId::parse_as(data_file_id, class::ID) {
        Ok(id) if !id.as_str().is_empty() => Some(id.into_string()),
        Ok(_) => {
            let msg = "data_file_id is required in a batch".to_owned();
            checks.body_field(&loc(index, "data_file_id"), msg, json!(data_file_id));
            None
        }
        Err(e) => {
            checks.body_field(
                &loc(index, "data_file_id"),
                e.to_string(),
                json!(data_file_id),
            );
            None
        }
    };
    Some(BatchChild {
        data_key: data_key?,
        data_file_id: data_file_id?,
        data_type: data_type?,
    })
}

/// The bytes the single store route writes for `content`; JSON must be an object and text or
/// bytes non-empty (what the single routes accept).
fn serialised(checks: &mut Checks, index: usize, content: ChildContent) -> Option<Bytes> {
    match content {
        // Parsed as the single route parses its body, and written as it writes it.
        ChildContent::Json(raw) => match loads_str(raw.get()) {
            Ok(value @ Value::Object(_)) => Some(Bytes::from(dumps_indented(&value, 4))),
            _ => {
                let msg = "a json file's data must be an object".to_owned();
                let input = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                checks.body_field(&loc(index, "data"), msg, input);
                None
            }
        },
        ChildContent::Text(text) if text.is_empty() => {
            let msg = "a string file's data must not be empty".to_owned();
            checks.body_field(&loc(index, "data"), msg, json!(text));
            None
        }
        ChildContent::Text(text) => Some(Bytes::from(text.into_bytes())),
        ChildContent::Binary(bytes) if bytes.is_empty() => {
            let msg = "a binary file's data must not be empty".to_owned();
            checks.body_field(&loc(index, "data_base64"), msg, json!(""));
            None
        }
        ChildContent::Binary(bytes) => Some(bytes),
    }
}
