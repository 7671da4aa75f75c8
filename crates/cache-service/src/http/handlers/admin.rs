//! Raw storage access (`Routes__Admin__Storage`), namespaces (`Routes__Namespace`,
//! `Routes__Namespaces`) and `/server/storage/info` (`Routes__Server`).

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use cache_wire::ids::CacheKey;
use cache_wire::schema::{
    AdminFileDeleted, AdminFileExists, AdminFileNotFound, AdminFilesAll, BucketName, StorageInfo,
};
use serde_json::Value;

use super::{bail, class, namespace, served};
use crate::http::ctx::{Checks, Ctx};
#[cfg(feature = "openapi")]
use crate::http::openapi as api;
use crate::http::reply;
use crate::json::dumps_indented_of;
use crate::service::{now_ms, parse_stored_json};
use crate::store::StoreKind;

/// A path as the storage layer converts it (`Safe_Str__File__Path` via `@type_safe`); a
/// refused path is the reference's 500.
fn storage_path(raw: &str) -> Result<String, Response> {
    CacheKey::parse(raw).map(CacheKey::into_string).map_err(|_| {
        reply::internal(
            "ValueError",
            "Parameter 'path' expected type <class 'osbot_utils.type_safe.primitives.domains.files.safe_str.Safe_Str__File__Path.Safe_Str__File__Path'>, but got <class 'str'>",
        )
    })
}

/// The `{path:path}` parameter typed `Safe_Str__File__Path` on the route.
fn typed_path(ctx: &Ctx) -> Result<String, Response> {
    let raw = ctx.param("path");
    let mut checks = Checks::default();
    let path = checks.value("path", raw, CacheKey::parse_as(raw, class::FILE_PATH));
    checks.finish()?;
    Ok(path.map(CacheKey::into_string).unwrap_or_default())
}

async fn read(ctx: &Ctx, path: &str) -> Result<Option<Bytes>, Response> {
    let path = storage_path(path)?;
    served(
        ctx.state
            .service
            .store()
            .get(&path)
            .await
            .map_err(Into::into),
    )
}

fn file_not_found(path: &str) -> Response {
    let body = AdminFileNotFound {
        error_type: "FILE_NOT_FOUND".to_owned(),
        resource: "file".to_owned(),
        message: "The requested file does not exist in storage".to_owned(),
        path: path.to_owned(),
    };
    let text = String::from_utf8(dumps_indented_of(&body, 4)).unwrap_or_default();
    reply::json_text(StatusCode::NOT_FOUND, text)
}

/// `GET /admin/storage/bucket-name`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/bucket-name",
    tag = "admin/storage",
    operation_id = "bucket_name_admin_storage_bucket_name_get",
    summary = "Bucket Name",
    responses(
        api::Failures,
        (status = 200, description = "The S3 bucket, or `NA`.", body = api::BucketName),
    ),
))]
pub async fn bucket_name(ctx: Ctx) -> Response {
    let bucket = match ctx.state.service.store().kind() {
        StoreKind::S3 { bucket } => bucket.clone(),
        _ => "NA".to_owned(),
    };
    reply::ok(&BucketName {
        bucket_name: bucket,
    })
}

/// `GET /admin/storage/file/exists/{path:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/file/exists/{path}",
    tag = "admin/storage",
    operation_id = "file__exists_admin_storage_file_exists__path__get",
    summary = "File  Exists",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "Whether the storage file exists.", body = api::AdminFileExists),
    ),
))]
pub async fn file_exists(ctx: Ctx) -> Response {
    let raw = ctx.param("path").to_owned();
    let path = bail!(storage_path(&raw));
    let exists = bail!(served(
        ctx.state
            .service
            .store()
            .exists(&path)
            .await
            .map_err(Into::into)
    ));
    reply::ok(&AdminFileExists { exists, path: raw })
}

/// `GET /admin/storage/file/bytes/{path:path}`: a missing file gives 200 and no bytes.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/file/bytes/{path}",
    tag = "admin/storage",
    operation_id = "file__bytes_admin_storage_file_bytes__path__get",
    summary = "File  Bytes",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "The file's bytes (empty when missing, COMPAT.md D13).", body = inline(api::RawBytes), content_type = "application/octet-stream"),
    ),
))]
pub async fn file_bytes(ctx: Ctx) -> Response {
    let bytes = bail!(read(&ctx, ctx.param("path")).await).unwrap_or_default();
    reply::octets(StatusCode::OK, bytes)
}

/// `GET /admin/storage/file/content/{path:path}` with a content type from the extension.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/file/content/{path}",
    tag = "admin/storage",
    operation_id = "file__content_admin_storage_file_content__path__get",
    summary = "File  Content",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "The file, with a content type from its extension.", content(("application/json"), ("text/plain"), ("text/html"), ("application/octet-stream"))),
        (status = 404, description = "No such file (`FILE_NOT_FOUND`).", body = api::AdminFileNotFound),
    ),
))]
pub async fn file_content(ctx: Ctx) -> Response {
    let path = bail!(typed_path(&ctx));
    match bail!(read(&ctx, &path).await) {
        Some(bytes) if !bytes.is_empty() => {
            let content_type = if path.ends_with(".txt") {
                "text/plain; charset=utf-8"
            } else if path.ends_with(".json") {
                "application/json"
            } else {
                "application/octet-stream"
            };
            reply::bytes_as(StatusCode::OK, content_type, bytes)
        }
        _ => file_not_found(&path),
    }
}

/// `GET /admin/storage/file/json/{path:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/file/json/{path}",
    tag = "admin/storage",
    operation_id = "file__json_admin_storage_file_json__path__get",
    summary = "File  Json",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "The file parsed as JSON.", body = Value),
        (status = 404, description = "No such file (`FILE_NOT_FOUND`).", body = api::AdminFileNotFound),
    ),
))]
pub async fn file_json(ctx: Ctx) -> Response {
    let raw = ctx.param("path").to_owned();
    match bail!(read(&ctx, &raw).await) {
        Some(bytes) if !bytes.is_empty() => match parse_stored_json(&bytes) {
            Ok(v) => reply::ok(&v),
            Err(e) => reply::service_error(&e),
        },
        _ => file_not_found(&raw),
    }
}

/// `GET /admin/storage/file/html/{path:path}`: the `html` field of a JSON file.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/file/html/{path}",
    tag = "admin/storage",
    operation_id = "file__html_admin_storage_file_html__path__get",
    summary = "File  Html",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "The `html` field of the JSON file.", body = String, content_type = "text/html; charset=utf-8"),
        (status = 404, description = "No such file (`File not found.`).", body = String, content_type = "text/html; charset=utf-8"),
    ),
))]
pub async fn file_html(ctx: Ctx) -> Response {
    let raw = ctx.param("path").to_owned();
    let bytes = bail!(read(&ctx, &raw).await);
    let document = match bytes {
        Some(b) if !b.is_empty() => match parse_stored_json(&b) {
            Ok(v) => v,
            Err(e) => return reply::service_error(&e),
        },
        _ => Value::Null,
    };
    let truthy = match &document {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        Value::Number(_) => true,
        Value::Null => false,
    };
    if !truthy {
        return reply::html(StatusCode::NOT_FOUND, "File not found.");
    }
    match document.get("html") {
        Some(Value::String(html)) => reply::html(StatusCode::OK, html.clone()),
        None | Some(Value::Null) => reply::html(StatusCode::OK, ""),
        Some(_) if !document.is_object() => {
            reply::internal("AttributeError", "'list' object has no attribute 'get'")
        }
        Some(_) => reply::internal("AttributeError", "html content is not a string"),
    }
}

/// `GET /admin/storage/files/in/{path:path}?return_full_path&recursive`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/files/in/{path}",
    tag = "admin/storage",
    operation_id = "files__in_admin_storage_files_in__path__get",
    summary = "Files  In",
    params(api::StoragePath, api::ListingQuery),
    responses(
        api::Failures,
        (status = 200, description = "Files in the folder (names, or full paths).", body = Vec<String>),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn files_in(ctx: Ctx) -> Response {
    let mut fastapi = Checks::default();
    let full = fastapi.query_bool("return_full_path", ctx.query("return_full_path"), false);
    let recursive = fastapi.query_bool("recursive", ctx.query("recursive"), false);
    bail!(fastapi.finish());
    let path = bail!(typed_path(&ctx));
    let files = if recursive {
        bail!(served(ctx.state.service.files_all(&path).await))
    } else {
        bail!(served(ctx.state.service.files_in(&path, full).await))
    };
    reply::ok(&files)
}

/// `GET /admin/storage/files/all/{path:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/files/all/{path}",
    tag = "admin/storage",
    operation_id = "files__all_admin_storage_files_all__path__get",
    summary = "Files  All",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "Every file under the path.", body = api::AdminFilesAll),
    ),
))]
pub async fn files_all(ctx: Ctx) -> Response {
    let path = bail!(typed_path(&ctx));
    let files = bail!(served(ctx.state.service.files_all(&path).await));
    reply::ok(&AdminFilesAll {
        timestamp: now_ms(),
        file_count: files.len() as u64,
        files,
    })
}

/// `GET /admin/storage/folders/{path:path}?return_full_path&recursive`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/admin/storage/folders/{path}",
    tag = "admin/storage",
    operation_id = "folders_admin_storage_folders__path__get",
    summary = "Folders",
    params(api::StoragePath, api::ListingQuery),
    responses(
        api::Failures,
        (status = 200, description = "Folders in the folder (names, or full paths).", body = Vec<String>),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn folders(ctx: Ctx) -> Response {
    let mut fastapi = Checks::default();
    let full = fastapi.query_bool("return_full_path", ctx.query("return_full_path"), false);
    let recursive = fastapi.query_bool("recursive", ctx.query("recursive"), false);
    bail!(fastapi.finish());
    let path = bail!(typed_path(&ctx));
    let folders = bail!(served(
        ctx.state.service.folders(&path, full, recursive).await
    ));
    reply::ok(&folders)
}

/// `DELETE /admin/storage/file/delete/{path:path}`.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/admin/storage/file/delete/{path}",
    tag = "admin/storage",
    operation_id = "file__delete_admin_storage_file_delete__path__delete",
    summary = "File  Delete",
    params(api::StoragePath),
    responses(
        api::Failures,
        (status = 200, description = "Whether a file was deleted.", body = api::AdminFileDeleted),
    ),
))]
pub async fn file_delete(ctx: Ctx) -> Response {
    let path = bail!(typed_path(&ctx));
    let deleted = if path.is_empty() {
        false
    } else {
        bail!(served(
            ctx.state
                .service
                .store()
                .delete(&path)
                .await
                .map_err(Into::into)
        ))
    };
    reply::ok(&AdminFileDeleted { path, deleted })
}

/// `GET /namespaces/list`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/namespaces/list",
    tag = "namespaces",
    operation_id = "list_namespaces_list_get",
    summary = "List",
    responses(
        api::Failures,
        (status = 200, description = "Every namespace with stored files.", body = Vec<String>),
    ),
))]
pub async fn namespaces(ctx: Ctx) -> Response {
    let list = bail!(served(ctx.state.service.namespaces().await));
    reply::ok(&list)
}

fn ns_param(ctx: &Ctx) -> Result<String, Response> {
    let mut checks = Checks::default();
    let ns = namespace(&mut checks, ctx, class::ID);
    checks.finish()?;
    Ok(ns.map(|n| n.into_string()).unwrap_or_default())
}

/// `GET /{ns}/file-hashes`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/file-hashes",
    tag = "namespace",
    operation_id = "file_hashes__namespace__file_hashes_get",
    summary = "File Hashes",
    params(api::NamespacePath),
    responses(
        api::Failures,
        (status = 200, description = "Every hash with a by-hash reference in the namespace.", body = Vec<String>),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn file_hashes(ctx: Ctx) -> Response {
    let ns = bail!(ns_param(&ctx));
    reply::ok(&bail!(served(
        ctx.state.service.namespace_hashes(&ns).await
    )))
}

/// `GET /{ns}/file-ids`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/file-ids",
    tag = "namespace",
    operation_id = "file_ids__namespace__file_ids_get",
    summary = "File Ids",
    params(api::NamespacePath),
    responses(
        api::Failures,
        (status = 200, description = "Every id with a by-id reference in the namespace.", body = Vec<String>),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn file_ids(ctx: Ctx) -> Response {
    let ns = bail!(ns_param(&ctx));
    reply::ok(&bail!(served(ctx.state.service.namespace_ids(&ns).await)))
}

/// `GET /{ns}/stats`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/{namespace}/stats",
    tag = "namespace",
    operation_id = "stats__namespace__stats_get",
    summary = "Stats",
    params(api::NamespacePath),
    responses(
        api::Failures,
        (status = 200, description = "File counts (of the whole backend, COMPAT.md D01).", body = api::NamespaceStats),
        (status = 400, description = "A parameter or the body is invalid (FastAPI-style issues; COMPAT.md D10).", body = api::ValidationErrors),
    ),
))]
pub async fn stats(ctx: Ctx) -> Response {
    let mut ns = bail!(ns_param(&ctx));
    if ns.is_empty() {
        ns = "default".to_owned();
    }
    reply::ok(&bail!(served(ctx.state.service.namespace_stats(&ns).await)))
}

/// `GET /server/storage/info`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/server/storage/info",
    tag = "server",
    operation_id = "storage__info_server_storage_info_get",
    summary = "Storage  Info",
    responses(
        api::Failures,
        (status = 200, description = "The storage backend.", body = api::StorageInfo),
    ),
))]
pub async fn storage_info(ctx: Ctx) -> Response {
    let service = &ctx.state.service;
    let mut info = StorageInfo {
        storage_mode: "memory".to_owned(),
        ttl_hours: service.ttl_hours(),
        s3_bucket: None,
        local_disk_path: None,
    };
    match service.store().kind() {
        StoreKind::Memory => {}
        StoreKind::LocalDisk { root } => {
            info.storage_mode = "local_disk".to_owned();
            info.local_disk_path = Some(root.display().to_string());
        }
        StoreKind::S3 { bucket } => {
            info.storage_mode = "s3".to_owned();
            info.s3_bucket = Some(bucket.clone());
        }
    }
    reply::ok(&info)
}
