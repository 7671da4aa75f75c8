//! `GET /openapi.json` and `GET /docs` (COMPAT.md D24).
//!
//! The OpenAPI 3.1 document lists every route this server answers: the reference's routes with
//! the reference's path spelling, tags, summaries and operation ids (so clients generated from
//! either document agree), and perfstore's extensions under [`EXTENSIONS_TAG`]. It is generated
//! from the `#[utoipa::path]` attribute on each handler and the `cache-wire` types
//! (`utoipa::ToSchema`), rendered once, and served as bytes. `/docs` is Swagger UI over it, every
//! file served from the binary (the vendored Swagger UI of `utoipa-swagger-ui`): no network.

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use bytes::Bytes;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, Tag};
use utoipa::{IntoParams, IntoResponses, OpenApi, PartialSchema, ToSchema};

pub use cache_wire::batch::{
    BatchFileRef, BatchFileStatus, BatchRetrieveRequest, BatchRetrieveResponse, BatchRetrievedFile,
    BatchStoreFile, BatchStoreRequest, BatchStoreResponse,
};
pub use cache_wire::ids::{DataType, Strategy};
pub use cache_wire::schema::{
    AdminFileDeleted, AdminFileExists, AdminFileNotFound, AdminFilesAll, BinaryReference,
    BucketName, CacheMetadata, DataDeleteAllResponse, DataDeleteResponse, DataExistsResponse,
    DataListResponse, DataStoreResponse, DataUpdateResponse, DeleteResponse, ExistsResponse,
    FileConfigView, FileMetadataView, FileRefs, HashCacheId, HashRef, Health, InvalidInputDetail,
    NamespaceStats, NotFoundDetail, RetrieveSuccess, ServerInfo, ServiceStatus, StorageInfo,
    StoreResponse, UpdateResponse, ValidationIssue,
};
pub use serde_json::Value;

use super::reply;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";
/// Swagger UI's OAuth2 redirect page, at the reference's path.
pub const OAUTH2_REDIRECT_PATH: &str = "/docs/oauth2-redirect";
/// The tag of every route the reference does not have.
pub const EXTENSIONS_TAG: &str = "perfstore-extensions";

/// The files `/docs` loads, served as `/docs/{name}` from the vendored Swagger UI. They are
/// public like `/docs` itself: the reference's page loads the same files from a CDN, without the key.
pub const DOCS_ASSETS: [&str; 5] = [
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
    "favicon-32x32.png",
];

/// The `/docs` page: the reference's layout (FastAPI's `get_swagger_ui_html`), with every file
/// from this server instead of a CDN.
const DOCS_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<title>perfstore cache service - Swagger UI</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"#;

/// The document, as built from the handlers' attributes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "perfstore cache service",
        version = "v0.14.0",
        description = "A Rust server wire-compatible with the MGraph-AI Cache Service v0.14.0 \
            (the routes, paths and operation ids of its `/openapi.json`), plus perfstore's \
            extensions (tag `perfstore-extensions`). Validation errors are answered 400, not 422 \
            (COMPAT.md D10). When the server requires an API key, send it in the header the \
            server names, or set it as a cookie with `POST /auth/set-auth-cookie`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        super::handlers::store::string,
        super::handlers::store::string_key,
        super::handlers::store::json,
        super::handlers::store::json_key,
        super::handlers::store::binary,
        super::handlers::store::binary_key,
        super::handlers::retrieve::by_id,
        super::handlers::retrieve::config,
        super::handlers::retrieve::metadata,
        super::handlers::retrieve::refs,
        super::handlers::retrieve::refs_all,
        super::handlers::retrieve::id_string,
        super::handlers::retrieve::id_json,
        super::handlers::retrieve::id_binary,
        super::handlers::retrieve::by_hash,
        super::handlers::retrieve::hash_string,
        super::handlers::retrieve::hash_json,
        super::handlers::retrieve::hash_binary,
        super::handlers::retrieve::hash_metadata,
        super::handlers::retrieve::hash_refs,
        super::handlers::retrieve::hash_cache_id,
        super::handlers::entries::exists_id,
        super::handlers::entries::exists_hash,
        super::handlers::entries::update_string,
        super::handlers::entries::update_json,
        super::handlers::entries::update_binary,
        super::handlers::entries::delete,
        super::handlers::data::store_binary,
        super::handlers::data::store_binary_id,
        super::handlers::data::store_binary_key,
        super::handlers::data::store_json,
        super::handlers::data::store_json_id,
        super::handlers::data::store_json_key,
        super::handlers::data::store_string,
        super::handlers::data::store_string_id,
        super::handlers::data::store_string_key,
        super::handlers::data::get_json,
        super::handlers::data::get_json_key,
        super::handlers::data::get_string,
        super::handlers::data::get_string_key,
        super::handlers::data::get_binary,
        super::handlers::data::get_binary_key,
        super::handlers::data::update_string,
        super::handlers::data::update_string_key,
        super::handlers::data::update_json,
        super::handlers::data::update_json_key,
        super::handlers::data::update_binary,
        super::handlers::data::update_binary_key,
        super::handlers::data::exists_id,
        super::handlers::data::exists_key,
        super::handlers::data::list_all,
        super::handlers::data::list_key,
        super::handlers::data::delete_all_files,
        super::handlers::data::delete_all_key,
        super::handlers::data::delete_id,
        super::handlers::data::delete_key,
        super::handlers::admin::file_hashes,
        super::handlers::admin::file_ids,
        super::handlers::admin::stats,
        super::handlers::admin::namespaces,
        super::handlers::admin::bucket_name,
        super::handlers::admin::file_exists,
        super::handlers::admin::file_bytes,
        super::handlers::admin::file_content,
        super::handlers::admin::file_json,
        super::handlers::admin::file_html,
        super::handlers::admin::files_in,
        super::handlers::admin::files_all,
        super::handlers::admin::folders,
        super::handlers::admin::file_delete,
        super::handlers::admin::storage_info,
        super::handlers::info::health,
        super::handlers::info::server,
        super::handlers::info::status,
        super::handlers::info::versions,
        super::handlers::info::set_auth_cookie,
        super::handlers::batch::store,
        super::handlers::batch::retrieve,
        super::metrics::endpoint,
    ),
    components(schemas(
        Strategy,
        DataType,
        DeleteResponse,
        BatchFileStatus,
        Unauthorized,
        ServerError
    ))
)]
pub struct ApiDoc;

/// The document with the tags described, in the order Swagger UI shows them.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let described = |name: &str, description: &str| {
        let mut tag = Tag::new(name);
        tag.description = Some(description.to_owned());
        tag
    };
    doc.tags = Some(vec![
        described(
            "store",
            "Store a value as a new entry (`Routes__File__Store`).",
        ),
        described("retrieve", "Read an entry by id or by hash."),
        described("exists", "Whether an entry exists."),
        described("update", "Replace an entry's content (COMPAT.md D03)."),
        described("delete", "Delete an entry."),
        described("data/store", "Store child data files of an entry."),
        described("data", "Read, check, list and delete child data files."),
        described("data/update", "Overwrite child data files."),
        described("namespace", "Ids, hashes and file counts of a namespace."),
        described("namespaces", "Every namespace."),
        described("admin/storage", "Raw storage files (operators)."),
        described("server", "The storage backend."),
        described("info", "Health and versions."),
        described("auth", "The API-key cookie."),
        described(
            EXTENSIONS_TAG,
            "Routes the reference service does not have: batch child data (COMPAT.md D33) and \
             `GET /metrics` (D31). The reference answers them 404 `{\"detail\":\"Not Found\"}`.",
        ),
    ]);
    doc
}

/// The document as served, rendered once.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| match serde_json::to_vec(&document()) {
    Ok(bytes) => Bytes::from(bytes),
    // The document is built from static attributes only: it always serialises.
    Err(e) => Bytes::from(format!("{{\"error\":\"openapi document: {e}\"}}")),
});

/// Swagger UI's configuration: the document above, the reference's layout and options.
static SWAGGER_CONFIG: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        utoipa_swagger_ui::Config::new([OPENAPI_PATH])
            .use_base_layout()
            .deep_linking(true)
            .show_extensions(true)
            .show_common_extensions(true)
            .oauth2_redirect_url(OAUTH2_REDIRECT_PATH)
            // No badge fetched from validator.swagger.io: the page makes no outside request.
            .validator_url("none"),
    )
});

/// The rendered document.
pub fn document_bytes() -> Bytes {
    DOCUMENT.clone()
}

/// What the docs routes make of a request.
pub enum DocsMatch {
    /// A docs path and method: the answer.
    Serve(Response),
    /// A docs path with another method than GET or HEAD.
    WrongMethod,
    /// A docs path with its trailing slash toggled: redirect there (Starlette's rule).
    Redirect(&'static str),
}

/// Matches a decoded `path` against the docs routes, which come before every other route (as in
/// FastAPI, where `setup()` registers them first). `None`: not a docs path.
pub fn find(method: &Method, path: &str) -> Option<DocsMatch> {
    let file = match path {
        OPENAPI_PATH => DocsFile::Document,
        DOCS_PATH => DocsFile::Page,
        OAUTH2_REDIRECT_PATH => DocsFile::Asset("oauth2-redirect.html"),
        "/openapi.json/" => return Some(DocsMatch::Redirect(OPENAPI_PATH)),
        "/docs/" => return Some(DocsMatch::Redirect(DOCS_PATH)),
        "/docs/oauth2-redirect/" => return Some(DocsMatch::Redirect(OAUTH2_REDIRECT_PATH)),
        _ => {
            let name = path.strip_prefix("/docs/")?;
            let asset = DOCS_ASSETS.iter().find(|a| **a == name)?;
            DocsFile::Asset(asset)
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Some(DocsMatch::WrongMethod);
    }
    let mut response = file.response();
    if method == Method::HEAD {
        // The length of the GET answer, no body (Starlette answers HEAD like this too).
        let length = HeaderValue::from(response_length(&file));
        *response.body_mut() = Body::empty();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length);
    }
    Some(DocsMatch::Serve(response))
}

/// Whether `path` may be fetched without the API key: `/docs` loads these files before any
/// key could be presented (`/docs` and `/openapi.json` are in the reference's excluded paths).
pub fn is_public_asset(path: &str) -> bool {
    path.strip_prefix("/docs/")
        .is_some_and(|name| DOCS_ASSETS.contains(&name))
}

enum DocsFile {
    Document,
    Page,
    Asset(&'static str),
}

/// A Swagger UI file as served: bytes and content type.
type Asset = (Bytes, HeaderValue);

/// Every Swagger UI file the docs routes serve, read from the vendored dist once.
static ASSETS: LazyLock<Vec<(&'static str, Asset)>> = LazyLock::new(|| {
    DOCS_ASSETS
        .iter()
        .chain(["oauth2-redirect.html"].iter())
        .filter_map(|name| Some((*name, load_asset(name)?)))
        .collect()
});

fn load_asset(name: &str) -> Option<Asset> {
    let file = utoipa_swagger_ui::serve(name, SWAGGER_CONFIG.clone()).ok()??;
    // Text types get a charset, as the reference's text responses do.
    let content_type =
        if file.content_type.starts_with("text/") || file.content_type.ends_with("javascript") {
            format!("{}; charset=utf-8", file.content_type)
        } else {
            file.content_type
        };
    let bytes = match file.bytes {
        std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
        std::borrow::Cow::Owned(b) => Bytes::from(b),
    };
    Some((bytes, HeaderValue::from_str(&content_type).ok()?))
}

impl DocsFile {
    fn bytes(&self) -> Option<Asset> {
        match self {
            DocsFile::Document => Some((
                document_bytes(),
                HeaderValue::from_static("application/json"),
            )),
            DocsFile::Page => Some((
                Bytes::from_static(DOCS_HTML.as_bytes()),
                HeaderValue::from_static("text/html; charset=utf-8"),
            )),
            DocsFile::Asset(name) => ASSETS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, asset)| asset.clone()),
        }
    }

    fn response(&self) -> Response {
        match self.bytes() {
            Some((bytes, content_type)) => {
                let mut response = Response::new(Body::from(bytes));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type);
                response
            }
            None => reply::internal(
                "FileNotFoundError",
                "Swagger UI file missing from the build",
            ),
        }
    }
}

fn response_length(file: &DocsFile) -> u64 {
    file.bytes().map_or(0, |(bytes, _)| bytes.len() as u64)
}

// ---------------------------------------------------------------------------------------------
// Parameters (descriptions are the field docs)
// ---------------------------------------------------------------------------------------------

/// `{namespace}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamespacePath {
    /// The namespace, e.g. `default`; sanitised as the reference does (other characters become `_`).
    #[param(example = "default")]
    pub namespace: String,
}

/// `{strategy}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StrategyPath {
    /// How the entry's content files are laid out.
    pub strategy: Strategy,
}

/// `{cache_key}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CacheKeyPath {
    /// The cache key; may contain `/` (it matches the rest of the path).
    pub cache_key: String,
}

/// `{cache_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CacheIdPath {
    /// The entry's id (a uuid).
    pub cache_id: String,
}

/// `{cache_hash}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CacheHashPath {
    /// The content hash (16 lower-case hex digits).
    pub cache_hash: String,
}

/// `{data_key}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DataKeyPath {
    /// The folder of the data file below the entry's data folder; may contain `/`.
    pub data_key: String,
}

/// `{data_file_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DataFileIdPath {
    /// The data file's id (its name without extension).
    pub data_file_id: String,
}

/// `{data_type}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DataTypePath {
    /// The data file's type (selects its extension).
    pub data_type: DataType,
}

/// `{path}` of the admin storage routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StoragePath {
    /// A path in the storage backend; may contain `/`.
    pub path: String,
}

/// `?file_id=` of the store routes with a cache key.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileIdQuery {
    /// The content file's name (default: the cache id).
    pub file_id: Option<String>,
}

/// `?json_field_path=` of the JSON store route with a cache key.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JsonFieldPathQuery {
    /// Hash only this field of the object (dotted path, e.g. `a.b`; COMPAT.md D06).
    pub json_field_path: Option<String>,
}

/// `?recursive=` of the child-data listings.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecursiveQuery {
    /// Include data files in sub-folders of the data key.
    #[param(default = true)]
    pub recursive: Option<bool>,
}

/// `?return_full_path=&recursive=` of the admin storage listings.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    /// Full storage paths instead of names.
    #[param(default = false)]
    pub return_full_path: Option<bool>,
    /// Include sub-folders.
    #[param(default = false)]
    pub recursive: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Bodies the handlers build as JSON literals (documented here, in the handlers' key order)
// ---------------------------------------------------------------------------------------------

/// Raw bytes (`application/octet-stream`).
pub struct RawBytes;

impl PartialSchema for RawBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .into()
    }
}

impl ToSchema for RawBytes {}

/// The generic retrieve answer: the value with its metadata, or where to fetch binary data.
#[derive(ToSchema, serde::Serialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum Retrieved {
    /// A JSON or string entry.
    Value(Box<RetrieveSuccess>),
    /// A binary entry.
    Binary(Box<BinaryReference>),
}

/// `{"detail":[issues]}`: request validation failed (FastAPI's 422 body, sent as 400).
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct ValidationErrors {
    /// One issue per invalid parameter or body, in the reference's order.
    pub detail: Vec<ValidationIssue>,
}

/// `{"detail": Schema__Cache__Error__Invalid_Input}`.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct InvalidInput {
    /// What was wrong.
    pub detail: InvalidInputDetail,
}

/// A store route's 400.
#[derive(ToSchema, serde::Serialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum StoreBadRequest {
    /// A parameter or the body failed validation.
    Validation(ValidationErrors),
    /// The content or the cache key is empty.
    InvalidInput(InvalidInput),
}

/// A 400: validation issues, or `{"detail":{"error_type":"INVALID_INPUT","message":…}}`.
#[derive(ToSchema, serde::Serialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum BadRequest {
    /// A parameter or the body failed validation.
    Validation(ValidationErrors),
    /// A route check failed.
    Detail(ErrorDetail),
}

/// A 400 of `POST /auth/set-auth-cookie`.
#[derive(ToSchema, serde::Serialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum CookieBadRequest {
    /// The body is not an object with a string `cookie_value`.
    Validation(ValidationErrors),
    /// The value cannot be a cookie (characters above U+00FF).
    Message(ErrorMessage),
}

/// `{"detail": Schema__Cache__Error__Not_Found}`.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct EntryNotFound {
    /// What was not found.
    pub detail: NotFoundDetail,
}

/// `{"detail":"…"}`.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct ErrorMessage {
    /// E.g. `Cache entry not found`, `Not Found`, `Request Entity Too Large`.
    pub detail: String,
}

/// `{"detail":{"error_type":…,"message":…,…}}`.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// `error_type` (`NOT_FOUND`, `INVALID_INPUT`, `UPDATE_FAILED`), `message`, and the ids involved.
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// The 500 envelope of an unexpected error (COMPAT.md D22).
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct ServerError {
    /// `An unexpected error occurred.`, or an object such as `UPDATE_FAILED`.
    pub detail: Value,
    /// The error message.
    pub error: Option<String>,
    /// A short trace naming this server.
    pub stack_trace: Option<String>,
}

/// The 401 of the API-key check (`status_error`).
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct Unauthorized {
    /// Always `null`.
    pub data: Option<String>,
    /// Always `null`.
    pub error: Option<String>,
    /// E.g. `Client API key is missing, you need to set it on a header or cookie`.
    pub message: String,
    /// `error`.
    pub status: String,
}

/// Body of `POST /auth/set-auth-cookie` (`Schema__Set_Cookie__BaseModel`).
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct SetCookieRequest {
    /// The API key to store in the cookie.
    pub cookie_value: String,
}

/// Answer of `POST /auth/set-auth-cookie`.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct SetCookieResponse {
    /// `Cookie set successfully`.
    pub message: String,
    /// The cookie's name: the server's API-key name.
    pub cookie_name: String,
    /// The value set.
    pub cookie_value: String,
}

/// Answers every route can give.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Failures {
    /// The server requires an API key and the request has none, or a wrong one.
    #[response(status = 401)]
    Unauthorized(Unauthorized),
    /// An unexpected error (storage failure, or a reference 500 that is matched, COMPAT.md D40).
    #[response(status = 500)]
    Internal(ServerError),
}
