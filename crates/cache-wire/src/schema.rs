//! Request and response bodies of every route, and the JSON files of the storage layout, shared
//! by server and client.
//!
//! Field order is wire-visible: the reference serialises its `Type_Safe` schemas in declaration
//! order, and clients that compare bodies byte for byte (or files shared between servers) see it.
//! Every struct here declares its fields in the reference's order, and `serde_json` (with the
//! workspace's `preserve_order` feature) keeps it. Identifier fields are plain `String`s so that
//! a client can read whatever a server sends back; the `ids` types validate inputs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Storage files
// ---------------------------------------------------------------------------------------------

/// Paths written by one store, by kind (`Schema__Cache__Store__Paths`); also `all_paths` of the
/// by-id reference file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorePaths {
    /// Data files created by this store (content, `.config`, `.metadata` of every copy), sorted.
    #[serde(default)]
    pub data: Vec<String>,
    /// The by-hash reference file.
    #[serde(default)]
    pub by_hash: Vec<String>,
    /// The by-id reference file.
    #[serde(default)]
    pub by_id: Vec<String>,
}

/// Content files and child-data folders of an entry (`Schema__Cache__File__Paths`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilePaths {
    /// One content file per copy, in path-handler order.
    #[serde(default)]
    pub content_files: Vec<String>,
    /// `{content path without extension}/data` for every content file.
    #[serde(default)]
    pub data_folders: Vec<String>,
}

/// The by-id reference file `{ns}/refs/by-id/{id[0:2]}/{id[2:4]}/{id}.json`
/// (`Schema__Cache__File__Refs`), written with `json.dumps(indent=2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileRefs {
    /// Every path written by the store that created the entry.
    pub all_paths: StorePaths,
    /// The entry's id.
    pub cache_id: String,
    /// The hash computed when the entry was stored.
    pub cache_hash: String,
    /// Content files and child-data folders.
    pub file_paths: FilePaths,
    /// `json` (JSON and strings) or `binary`.
    pub file_type: String,
    /// The entry's namespace.
    pub namespace: String,
    /// The store strategy.
    pub strategy: String,
    /// Store time, ms since the Unix epoch.
    pub timestamp: i64,
}

/// One version in a by-hash reference file (`Schema__Cache__Hash__Entry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashRefEntry {
    /// The entry stored with this hash.
    pub cache_id: String,
    /// Its store time, ms since the Unix epoch.
    pub timestamp: i64,
}

/// The by-hash reference file `{ns}/refs/by-hash/{h[0:2]}/{h[2:4]}/{h}.json`
/// (`Schema__Cache__Hash__Reference`), written with `json.dumps(indent=2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashRef {
    /// The hash.
    pub cache_hash: String,
    /// Every entry stored with this hash, oldest first.
    pub cache_ids: Vec<HashRefEntry>,
    /// The newest entry; retrieve-by-hash returns it.
    pub latest_id: String,
    /// Number of entries in `cache_ids`.
    pub total_versions: i64,
}

/// The `file_type` object of a `.config` file (`Schema__Memory_FS__File__Type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileTypeInfo {
    /// `json` or `binary`.
    pub name: String,
    /// `application/json; charset=utf-8` or `application/octet-stream`.
    pub content_type: String,
    /// `json` or `bin`.
    pub file_extension: String,
    /// `utf-8`, or `null` for binary.
    pub encoding: Option<String>,
    /// `json` or `binary`.
    pub serialization: String,
}

impl FileTypeInfo {
    /// The type of JSON (and string) content files.
    pub fn json() -> Self {
        FileTypeInfo {
            name: "json".to_owned(),
            content_type: "application/json; charset=utf-8".to_owned(),
            file_extension: "json".to_owned(),
            encoding: Some("utf-8".to_owned()),
            serialization: "json".to_owned(),
        }
    }

    /// The type of binary content files.
    pub fn binary() -> Self {
        FileTypeInfo {
            name: "binary".to_owned(),
            content_type: "application/octet-stream".to_owned(),
            file_extension: "bin".to_owned(),
            encoding: None,
            serialization: "binary".to_owned(),
        }
    }
}

/// A content file's `.config` (`Schema__Memory_FS__File__Config`), in the key order of the file
/// (`json.dumps(indent=4)`). Written once, when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileConfig {
    /// Always `first`.
    pub exists_strategy: String,
    /// The file id.
    pub file_id: String,
    /// The cache key (`""` without one).
    pub file_key: String,
    /// The folder of every copy of the content file.
    pub file_paths: Vec<String>,
    /// The file's type.
    pub file_type: FileTypeInfo,
}

/// [`FileConfig`] in the key order of `GET /{ns}/retrieve/{id}/config`, which re-serialises
/// the schema (declaration order) rather than echoing the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileConfigView {
    /// The file id.
    pub file_id: String,
    /// The cache key.
    pub file_key: String,
    /// The folder of every copy.
    pub file_paths: Vec<String>,
    /// The file's type.
    pub file_type: FileTypeInfo,
    /// Always `first`.
    pub exists_strategy: String,
}

impl From<FileConfig> for FileConfigView {
    fn from(c: FileConfig) -> Self {
        FileConfigView {
            file_id: c.file_id,
            file_key: c.file_key,
            file_paths: c.file_paths,
            file_type: c.file_type,
            exists_strategy: c.exists_strategy,
        }
    }
}

/// The `data` section of a content file's `.metadata` (`Schema__Cache__Store__Metadata`),
/// rewritten on every store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreMetadata {
    /// The entry's hash.
    pub cache_hash: String,
    /// The cache key (`""` without one).
    pub cache_key: String,
    /// The entry's id.
    pub cache_id: String,
    /// `Content-Encoding` of a binary store (`gzip`), else `null`.
    pub content_encoding: Option<String>,
    /// The file id.
    pub file_id: String,
    /// `json` or `binary`.
    pub file_type: String,
    /// `null` on routes without the parameter, `""` or the path on the JSON cache-key route.
    pub json_field_path: Option<String>,
    /// The namespace.
    pub namespace: String,
    /// Store time, ms since the Unix epoch.
    pub stored_at: i64,
    /// The store strategy.
    pub strategy: String,
}

/// A content file's `.metadata` (`Schema__Memory_FS__File__Metadata`) in the key order of the
/// file (`json.dumps(indent=4)`). `content__*` and `timestamp` are set when the file is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileMetadata {
    /// `md5(content bytes)` hex, first 10 characters.
    #[serde(rename = "content__hash")]
    pub content_hash: String,
    /// Always `null`.
    pub chain_hash: Option<String>,
    /// Always `null`.
    pub previous_version_path: Option<String>,
    /// Byte length of the content file when the metadata was created.
    #[serde(rename = "content__size")]
    pub content_size: u64,
    /// Always empty.
    pub tags: Vec<String>,
    /// Creation time, ms since the Unix epoch.
    pub timestamp: i64,
    /// The store metadata; kept as JSON because files written by other servers may differ.
    pub data: Value,
}

/// [`FileMetadata`] in the key order of `GET /{ns}/retrieve/{id}/metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileMetadataView {
    /// `md5(content bytes)` hex, first 10 characters.
    #[serde(rename = "content__hash")]
    pub content_hash: String,
    /// Byte length of the content file when the metadata was created.
    #[serde(rename = "content__size")]
    pub content_size: u64,
    /// Always `null`.
    pub chain_hash: Option<String>,
    /// Always `null`.
    pub previous_version_path: Option<String>,
    /// Always empty.
    pub tags: Vec<String>,
    /// Creation time, ms since the Unix epoch.
    pub timestamp: i64,
    /// The store metadata.
    pub data: Value,
}

impl From<FileMetadata> for FileMetadataView {
    fn from(m: FileMetadata) -> Self {
        FileMetadataView {
            content_hash: m.content_hash,
            content_size: m.content_size,
            chain_hash: m.chain_hash,
            previous_version_path: m.previous_version_path,
            tags: m.tags,
            timestamp: m.timestamp,
            data: m.data,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Store, retrieve, exists, update, delete
// ---------------------------------------------------------------------------------------------

/// Response of every store route (`Schema__Cache__Store__Response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreResponse {
    /// The new entry's id.
    pub cache_id: String,
    /// Its hash.
    pub cache_hash: String,
    /// Its namespace.
    pub namespace: String,
    /// Files written.
    pub paths: StorePaths,
    /// Content size in bytes (on a `key_based` overwrite: the first store's size).
    pub size: u64,
}

/// The flat metadata of a retrieved entry (`Schema__Cache__Metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheMetadata {
    /// The id of the entry that last wrote the content's metadata.
    pub cache_id: Value,
    /// Its hash.
    pub cache_hash: Value,
    /// Its cache key.
    pub cache_key: Value,
    /// Its file id.
    pub file_id: Value,
    /// Its namespace.
    pub namespace: Value,
    /// Its strategy.
    pub strategy: Value,
    /// Its store time.
    pub stored_at: Value,
    /// `json` or `binary`.
    pub file_type: Value,
    /// `gzip` or `null`.
    pub content_encoding: Value,
    /// Always 0 in the reference (it reads a key that does not exist).
    pub content_size: Value,
}

/// Generic retrieve response for JSON or string data (`Schema__Cache__Retrieve__Success`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetrieveSuccess {
    /// The value.
    pub data: Value,
    /// The entry's metadata.
    pub metadata: CacheMetadata,
    /// `json` or `string`.
    pub data_type: String,
}

/// Generic retrieve response for binary data (`Schema__Cache__Binary__Reference`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BinaryReference {
    /// `Binary data requires separate endpoint`.
    pub message: String,
    /// `binary`.
    pub data_type: String,
    /// Always 0 in the reference.
    pub size: Value,
    /// The entry's hash.
    pub cache_hash: Value,
    /// The entry's id.
    pub cache_id: Value,
    /// The namespace of the request.
    pub namespace: String,
    /// Where to fetch the bytes.
    pub binary_url: String,
    /// The entry's metadata.
    pub metadata: CacheMetadata,
}

/// `{"data_type":"binary","encoding":"base64","data":…}`: binary data on a `/json` route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Base64Data {
    /// `binary`.
    pub data_type: String,
    /// `base64`.
    pub encoding: String,
    /// The bytes, standard base64 with padding.
    pub data: String,
}

/// `GET /{ns}/retrieve/hash/{h}/cache-id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HashCacheId {
    /// The namespace.
    pub namespace: String,
    /// The hash asked for.
    pub cache_hash: String,
    /// The latest entry with that hash.
    pub cache_id: Option<String>,
}

/// `GET /{ns}/exists/id/{id}` and `/exists/hash/{h}` (`Schema__Cache__Exists__Response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExistsResponse {
    /// Whether the reference file exists.
    pub exists: bool,
    /// The id asked for (`null` on the hash route).
    pub cache_id: Option<String>,
    /// The hash asked for (`null` on the id route).
    pub cache_hash: Option<String>,
    /// The namespace.
    pub namespace: String,
}

/// Response of the update routes (`Schema__Cache__Update__Response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateResponse {
    /// The entry updated.
    pub cache_id: String,
    /// Its hash, unchanged by the update.
    pub cache_hash: String,
    /// The namespace.
    pub namespace: String,
    /// Content files overwritten.
    pub paths: Vec<String>,
    /// Python `len()` of the value: characters, bytes, or a JSON object's key count.
    pub size: u64,
    /// Update time, ms since the Unix epoch.
    pub timestamp: i64,
    /// Always `true`.
    pub updated_content: bool,
    /// Always `false`.
    pub updated_hash: bool,
    /// Always `false`.
    pub updated_metadata: bool,
    /// Always `false`.
    pub updated_id_ref: bool,
}

/// Response of `DELETE /{ns}/delete/{id}` (always HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum DeleteResponse {
    /// `status` is `success`, or `partial` when some file could not be deleted.
    Deleted {
        /// `success` or `partial`.
        status: String,
        /// The entry deleted.
        cache_id: String,
        /// Number of files deleted.
        deleted_count: u64,
        /// Number of files that could not be deleted.
        failed_count: u64,
        /// Files deleted, in order.
        deleted_paths: Vec<String>,
        /// Files that could not be deleted.
        failed_paths: Vec<String>,
    },
    /// `{"status":"not_found","message":"Cache ID <id> not found"}`.
    NotFound {
        /// `not_found`.
        status: String,
        /// `Cache ID <id> not found`.
        message: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Child data files
// ---------------------------------------------------------------------------------------------

/// Response of the child-data store routes (`Schema__Cache__Data__Store__Response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataStoreResponse {
    /// The parent entry.
    pub cache_id: String,
    /// One file per content copy.
    pub data_files_created: Vec<String>,
    /// The data key as given (sanitised), `""` without one.
    pub data_key: String,
    /// `json`, `string` or `binary`.
    pub data_type: String,
    /// `json`, `txt` or `bin`.
    pub extension: String,
    /// The data file id (a fresh uuid4 when none was given).
    pub file_id: String,
    /// Bytes written per copy.
    pub file_size: u64,
    /// The namespace.
    pub namespace: String,
    /// Store time, ms since the Unix epoch.
    pub timestamp: i64,
}

/// Response of the child-data exists routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataExistsResponse {
    /// The parent entry.
    pub cache_id: String,
    /// The data type asked for.
    pub data_type: String,
    /// The data key, `""` without one.
    pub data_key: String,
    /// The data file id.
    pub data_file_id: String,
    /// Whether any copy exists.
    pub exists: bool,
    /// The namespace.
    pub namespace: String,
}

/// Response of the child-data update routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataUpdateResponse {
    /// Always `true`.
    pub success: bool,
    /// The parent entry.
    pub cache_id: String,
    /// The namespace.
    pub namespace: String,
    /// The data type.
    pub data_type: String,
    /// The data key, `""` without one.
    pub data_key: String,
    /// The data file id.
    pub data_file_id: String,
    /// The first copy updated.
    pub file_path: String,
    /// Bytes written per copy.
    pub file_size: u64,
}

/// One file in a child-data listing (`Schema__Cache__Data__File__Info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataFileInfo {
    /// File name without its last extension.
    pub data_file_id: String,
    /// Folders between the data folder and the file, `""` for none.
    pub data_key: String,
    /// Derived from the extension; unknown extensions give `binary`.
    pub data_type: String,
    /// Full storage path.
    pub file_path: String,
    /// Size in bytes.
    pub file_size: u64,
    /// The last extension, `""` for none.
    pub extension: String,
}

/// Response of the child-data list routes (`Schema__Cache__Data__List__Response`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataListResponse {
    /// The parent entry.
    pub cache_id: String,
    /// The namespace.
    pub namespace: String,
    /// The data key listed, `""` for all.
    pub data_key: String,
    /// Number of files.
    pub file_count: u64,
    /// The files, once per content copy.
    pub files: Vec<DataFileInfo>,
    /// Sum of the file sizes.
    pub total_size: u64,
}

/// Response of the single child-data delete routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataDeleteResponse {
    /// `success`.
    pub status: String,
    /// `Data file deleted successfully`.
    pub message: String,
    /// The parent entry.
    pub cache_id: String,
    /// The data file id.
    pub data_file_id: String,
    /// The data type.
    pub data_type: String,
    /// The data key, `null` without one.
    pub data_key: Option<String>,
    /// The namespace.
    pub namespace: String,
}

/// Response of the child-data delete-all routes (HTTP 200 even when nothing was deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataDeleteAllResponse {
    /// `success`.
    pub status: String,
    /// `Deleted N data files` or `No data files to delete`.
    pub message: String,
    /// The parent entry.
    pub cache_id: String,
    /// Number of files deleted.
    pub deleted_count: u64,
    /// The files deleted; absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_files: Option<Vec<String>>,
    /// The data key, `null` without one.
    pub data_key: Option<String>,
    /// The namespace.
    pub namespace: String,
}

// ---------------------------------------------------------------------------------------------
// Namespaces, admin, server, info
// ---------------------------------------------------------------------------------------------

/// `GET /{ns}/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamespaceStats {
    /// The namespace.
    pub namespace: String,
    /// `CACHE__SERVICE__DEFAULT_TTL_HOURS` (reported only).
    pub ttl_hours: u64,
    /// File count (of the whole backend, as in the reference).
    pub direct_files: u64,
    /// File count (of the whole backend).
    pub temporal_files: u64,
    /// File count (of the whole backend).
    pub temporal_latest_files: u64,
    /// File count (of the whole backend).
    pub temporal_versioned_files: u64,
    /// File count (of the whole backend).
    pub refs_hash_files: u64,
    /// File count (of the whole backend).
    pub refs_id_files: u64,
    /// Sum of the six counts above.
    pub total_files: u64,
}

/// `GET /server/storage/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageInfo {
    /// `memory`, `local_disk` or `s3`.
    pub storage_mode: String,
    /// `CACHE__SERVICE__DEFAULT_TTL_HOURS`.
    pub ttl_hours: u64,
    /// The bucket, in `s3` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// The root folder, in `local_disk` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_disk_path: Option<String>,
}

/// `GET /admin/storage/file/exists/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminFileExists {
    /// Whether the file exists.
    pub exists: bool,
    /// The path asked for.
    pub path: String,
}

/// `GET /admin/storage/files/all/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminFilesAll {
    /// Time of the listing, ms since the Unix epoch.
    pub timestamp: i64,
    /// Number of files.
    pub file_count: u64,
    /// Full paths, sorted.
    pub files: Vec<String>,
}

/// `DELETE /admin/storage/file/delete/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminFileDeleted {
    /// The path asked for.
    pub path: String,
    /// Whether a file was deleted.
    pub deleted: bool,
}

/// `GET /admin/storage/bucket-name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketName {
    /// The S3 bucket, or `NA`.
    #[serde(rename = "bucket-name")]
    pub bucket_name: String,
}

/// `FILE_NOT_FOUND` body of the admin `file/content` and `file/json` routes (indent 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminFileNotFound {
    /// `FILE_NOT_FOUND`.
    pub error_type: String,
    /// `file`.
    pub resource: String,
    /// `The requested file does not exist in storage`.
    pub message: String,
    /// The path asked for.
    pub path: String,
}

/// `GET /info/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `GET /info/status` (`Schema__Service__Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceStatus {
    /// `mgraph_ai_service_cache`.
    pub name: String,
    /// The emulated service version, `v0.14.0`.
    pub version: String,
    /// `operational`.
    pub status: String,
    /// `local` or `aws_lambda`.
    pub environment: String,
}

/// `GET /info/server` (`Fast_API__Server_Info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    /// Always `null`.
    pub server_id: Option<String>,
    /// Always `null`.
    pub server_name: Option<String>,
    /// A uuid4 chosen at start-up.
    pub server_instance_id: String,
    /// Start-up time, ms since the Unix epoch.
    pub server_boot_time: i64,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One item of a 400 validation envelope `{"detail":[…]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationIssue {
    /// `value_error`, `enum`, `missing`, `dict_type`, `string_type`, `bytes_type`,
    /// `json_invalid`, `bool_parsing`, `string_unicode`.
    #[serde(rename = "type")]
    pub kind: String,
    /// E.g. `["query","cache_id"]` or `["body",7]`.
    pub loc: Vec<Value>,
    /// Human-readable message.
    pub msg: String,
    /// The offending input.
    pub input: Value,
    /// Extra context (`expected` for enums, `error` for JSON decode errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// `detail` of a 404 from the generic retrieve routes (`Schema__Cache__Error__Not_Found`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotFoundDetail {
    /// Always `null`.
    pub resource_id: Option<String>,
    /// The hash asked for, if any.
    pub cache_hash: Option<String>,
    /// The id asked for, if any.
    pub cache_id: Option<String>,
    /// The namespace.
    pub namespace: Option<String>,
    /// `NOT_FOUND`.
    pub error_type: String,
    /// `The requested cache entry was not found`.
    pub message: String,
    /// Time of the error, ms since the Unix epoch.
    pub timestamp: i64,
    /// A fresh uuid4.
    pub request_id: String,
    /// `cache_entry`.
    pub resource_type: String,
}

/// `detail` of a 400 from the store routes (`Schema__Cache__Error__Invalid_Input`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvalidInputDetail {
    /// Always `null`.
    pub field_value: Option<String>,
    /// Always `null`.
    pub constraints: Option<String>,
    /// `INVALID_INPUT`.
    pub error_type: String,
    /// E.g. `String data cannot be empty`.
    pub message: String,
    /// Time of the error, ms since the Unix epoch.
    pub timestamp: i64,
    /// A fresh uuid4.
    pub request_id: String,
    /// `data`, `body` or `cache_key`.
    pub field_name: String,
    /// Sanitised as `Safe_Str__Id`, e.g. `non-empty_string`.
    pub expected_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_response_keeps_reference_key_order() {
        let response = StoreResponse {
            cache_id: "id".into(),
            cache_hash: "h".into(),
            namespace: "demo".into(),
            paths: StorePaths::default(),
            size: 3,
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"cache_id":"id","cache_hash":"h","namespace":"demo","paths":{"data":[],"by_hash":[],"by_id":[]},"size":3}"#
        );
    }

    #[test]
    fn delete_all_omits_deleted_files_when_none() {
        let response = DataDeleteAllResponse {
            status: "success".into(),
            message: "No data files to delete".into(),
            cache_id: "id".into(),
            deleted_count: 0,
            deleted_files: None,
            data_key: None,
            namespace: "demo".into(),
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"status":"success","message":"No data files to delete","cache_id":"id","deleted_count":0,"data_key":null,"namespace":"demo"}"#
        );
    }

    #[test]
    fn delete_response_variants_round_trip() {
        let not_found: DeleteResponse =
            serde_json::from_str(r#"{"status":"not_found","message":"Cache ID x not found"}"#)
                .unwrap();
        assert!(matches!(not_found, DeleteResponse::NotFound { .. }));
    }
}
