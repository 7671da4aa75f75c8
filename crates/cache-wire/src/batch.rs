//! Batch child data: perfstore's extension routes (not in the reference service) that store or
//! read many child files of one entry in a single request (COMPAT.md D33).
//!
//! ```text
//! POST /{namespace}/cache/{cache_id}/data/batch/store      BatchStoreRequest    → BatchStoreResponse
//! POST /{namespace}/cache/{cache_id}/data/batch/retrieve   BatchRetrieveRequest → BatchRetrieveResponse
//! ```
//!
//! Each file behaves exactly as with the single routes (`data/store/{type}/…`,
//! `data/{type}/…`): the same sanitising of `data_key` and `data_file_id`, the same files
//! written, the same values read back. Content travels as the single routes carry it: a JSON
//! value for `json`, a string for `string`, and standard base64 (the JSON body cannot hold raw
//! bytes) for `binary`. The reference answers these paths with 404 `{"detail":"Not Found"}`,
//! which tells a client to fall back to the single routes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ids::DataType;
use crate::schema::DataStoreResponse;

/// Most files one batch request may name.
pub const MAX_BATCH_FILES: usize = 1000;

/// The content of one child file, as the single routes send and return it.
#[derive(Debug, Clone)]
pub enum ChildContent {
    /// A `json` file's value as JSON text: on reads, the stored file's text itself (no value
    /// is rebuilt on either side); stores accept only objects, as the single route does.
    Json(Box<RawValue>),
    /// A `string` file's text.
    Text(String),
    /// A `binary` file's bytes.
    Binary(Bytes),
}

impl PartialEq for ChildContent {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ChildContent::Json(a), ChildContent::Json(b)) => a.get() == b.get(),
            (ChildContent::Text(a), ChildContent::Text(b)) => a == b,
            (ChildContent::Binary(a), ChildContent::Binary(b)) => a == b,
            _ => false,
        }
    }
}

impl ChildContent {
    /// A `json` file holding `value`.
    pub fn json(value: &Value) -> Self {
        // A `Value` always serialises.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        ChildContent::Json(RawValue::from_string(text).unwrap_or_else(|_| null_raw()))
    }

    /// A `json` file holding the JSON document `text` (checked, sent as it is).
    pub fn json_text(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(ChildContent::Json)
    }

    /// The data type that holds this content.
    pub fn data_type(&self) -> DataType {
        match self {
            ChildContent::Json(_) => DataType::Json,
            ChildContent::Text(_) => DataType::String,
            ChildContent::Binary(_) => DataType::Binary,
        }
    }

    /// The `data` / `data_base64` pair carrying it.
    fn into_fields(self) -> (Option<Box<RawValue>>, Option<String>) {
        match self {
            ChildContent::Json(raw) => (Some(raw), None),
            ChildContent::Text(text) => (Some(string_raw(&text)), None),
            ChildContent::Binary(bytes) => (None, Some(STANDARD.encode(&bytes))),
        }
    }

    /// Reads the content of a `data_type` file from its `data` / `data_base64` fields.
    fn from_fields(
        data_type: &str,
        data: Option<&RawValue>,
        data_base64: Option<&str>,
    ) -> Result<ChildContent, ContentError> {
        match (DataType::parse(data_type), data, data_base64) {
            (Ok(DataType::Json), Some(raw), None) => Ok(ChildContent::Json(raw.to_owned())),
            (Ok(DataType::String), Some(raw), None) => serde_json::from_str::<String>(raw.get())
                .map(ChildContent::Text)
                .map_err(|_| ContentError::NotAString),
            (Ok(DataType::Binary), None, Some(encoded)) => STANDARD
                .decode(encoded)
                .map(|bytes| ChildContent::Binary(Bytes::from(bytes)))
                .map_err(|e| ContentError::BadBase64(e.to_string())),
            (Ok(DataType::Json | DataType::String), _, _) => Err(ContentError::WantData),
            (Ok(DataType::Binary), _, _) => Err(ContentError::WantBase64),
            (Ok(DataType::TypeSafe) | Err(_), _, _) => Err(ContentError::DataType),
        }
    }
}

/// `null` as raw JSON.
fn null_raw() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// A JSON string literal holding `text`.
fn string_raw(text: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(text).unwrap_or_else(|_| null_raw())
}

/// Why a file's content fields do not fit its data type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// `data_type` is not `json`, `string` or `binary`.
    #[error("data_type must be 'json', 'string' or 'binary'")]
    DataType,
    /// A `json` or `string` file without `data` (or with `data_base64`).
    #[error("json and string files carry their content in 'data' (and no 'data_base64')")]
    WantData,
    /// A `string` file whose `data` is not a JSON string.
    #[error("a string file's 'data' must be a JSON string")]
    NotAString,
    /// A `binary` file without `data_base64` (or with `data`).
    #[error("binary files carry their content in 'data_base64' (and no 'data')")]
    WantBase64,
    /// `data_base64` is not standard base64.
    #[error("'data_base64' is not valid base64: {0}")]
    BadBase64(String),
}

/// One child file named in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchFileRef {
    /// `json`, `string` or `binary`.
    pub data_type: String,
    /// The folder below the entry's data folder, `""` for none.
    #[serde(default)]
    pub data_key: String,
    /// The file's id (required: a batch never names files itself).
    pub data_file_id: String,
}

impl BatchFileRef {
    /// A reference to `data_key/data_file_id` of type `data_type`.
    pub fn new(data_type: DataType, data_key: &str, data_file_id: &str) -> Self {
        BatchFileRef {
            data_type: data_type.as_str().to_owned(),
            data_key: data_key.to_owned(),
            data_file_id: data_file_id.to_owned(),
        }
    }
}

/// Body of `POST …/data/batch/retrieve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchRetrieveRequest {
    /// The files to read, at most [`MAX_BATCH_FILES`].
    pub files: Vec<BatchFileRef>,
}

/// What a batch read found for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchFileStatus {
    /// Read; the content is in the entry.
    Found,
    /// No such file (what a single retrieve answers with 404).
    Missing,
    /// Not read: the file is too large to inline, or the response is full. Read it through
    /// the single route.
    Deferred,
}

/// One file of a [`BatchRetrieveResponse`], in request order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchRetrievedFile {
    /// As requested.
    pub data_type: String,
    /// As sanitised by the server.
    pub data_key: String,
    /// As sanitised by the server.
    pub data_file_id: String,
    /// Found, missing or deferred.
    pub status: BatchFileStatus,
    /// A found `json` file's text as stored (a JSON document, inlined), or the text of a
    /// found `string` file (a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub data: Option<Box<RawValue>>,
    /// The bytes of a found `binary` file, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

impl BatchRetrievedFile {
    /// A found file with its content.
    pub fn found(reference: BatchFileRef, content: ChildContent) -> Self {
        let (data, data_base64) = content.into_fields();
        BatchRetrievedFile {
            data_type: reference.data_type,
            data_key: reference.data_key,
            data_file_id: reference.data_file_id,
            status: BatchFileStatus::Found,
            data,
            data_base64,
        }
    }

    /// A missing or deferred file.
    pub fn without_content(reference: BatchFileRef, status: BatchFileStatus) -> Self {
        BatchRetrievedFile {
            data_type: reference.data_type,
            data_key: reference.data_key,
            data_file_id: reference.data_file_id,
            status,
            data: None,
            data_base64: None,
        }
    }

    /// The content of a found file; `Ok(None)` if missing or deferred.
    pub fn content(&self) -> Result<Option<ChildContent>, ContentError> {
        match self.status {
            BatchFileStatus::Found => ChildContent::from_fields(
                &self.data_type,
                self.data.as_deref(),
                self.data_base64.as_deref(),
            )
            .map(Some),
            BatchFileStatus::Missing | BatchFileStatus::Deferred => Ok(None),
        }
    }
}

/// Response of `POST …/data/batch/retrieve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchRetrieveResponse {
    /// The parent entry.
    pub cache_id: String,
    /// The namespace.
    pub namespace: String,
    /// One result per requested file, in request order.
    pub files: Vec<BatchRetrievedFile>,
}

/// One file to write in a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchStoreFile {
    /// `json`, `string` or `binary`.
    pub data_type: String,
    /// The folder below the entry's data folder, `""` for none.
    #[serde(default)]
    pub data_key: String,
    /// The file's id (required).
    pub data_file_id: String,
    /// A `json` file's value (an object) or a `string` file's text (a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub data: Option<Box<RawValue>>,
    /// A `binary` file's bytes, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

impl BatchStoreFile {
    /// `content` to be written as `data_key/data_file_id`, typed by the content.
    pub fn new(data_key: &str, data_file_id: &str, content: ChildContent) -> Self {
        let data_type = content.data_type().as_str().to_owned();
        let (data, data_base64) = content.into_fields();
        BatchStoreFile {
            data_type,
            data_key: data_key.to_owned(),
            data_file_id: data_file_id.to_owned(),
            data,
            data_base64,
        }
    }

    /// The content to write, checked against `data_type`.
    pub fn content(&self) -> Result<ChildContent, ContentError> {
        ChildContent::from_fields(
            &self.data_type,
            self.data.as_deref(),
            self.data_base64.as_deref(),
        )
    }
}

/// Body of `POST …/data/batch/store`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchStoreRequest {
    /// The files to write, at most [`MAX_BATCH_FILES`].
    pub files: Vec<BatchStoreFile>,
}

/// Response of `POST …/data/batch/store`: what each single store would have answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchStoreResponse {
    /// The parent entry.
    pub cache_id: String,
    /// The namespace.
    pub namespace: String,
    /// One result per file, in request order.
    pub files: Vec<DataStoreResponse>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contents_round_trip_through_their_fields() {
        let contents = [
            ChildContent::json(&json!({"a": [1, 2.5, null]})),
            ChildContent::json_text("{\n    \"kept\": \"as is\"\n}".to_owned()).unwrap(),
            ChildContent::Text("héllo\n".to_owned()),
            ChildContent::Binary(Bytes::from_static(&[0, 255, 10, 13])),
        ];
        for content in contents {
            let file = BatchStoreFile::new("k/x", "id", content.clone());
            let wire = serde_json::to_string(&file).unwrap();
            let back: BatchStoreFile = serde_json::from_str(&wire).unwrap();
            assert_eq!(back.content().unwrap(), content, "{wire}");
            let reference = BatchFileRef::new(content.data_type(), "k/x", "id");
            let found = BatchRetrievedFile::found(reference, content.clone());
            assert_eq!(found.content().unwrap(), Some(content));
        }
    }

    #[test]
    fn mismatched_fields_are_named() {
        let file = |data_type: &str, data: Option<Value>, data_base64: Option<&str>| {
            BatchStoreFile {
                data_type: data_type.to_owned(),
                data_key: String::new(),
                data_file_id: "f".to_owned(),
                data: data.map(|v| serde_json::value::to_raw_value(&v).unwrap()),
                data_base64: data_base64.map(str::to_owned),
            }
            .content()
        };
        assert_eq!(file("json", None, None), Err(ContentError::WantData));
        assert_eq!(
            file("string", Some(json!(1)), None),
            Err(ContentError::NotAString)
        );
        assert_eq!(
            file("binary", Some(json!("x")), None),
            Err(ContentError::WantBase64)
        );
        assert!(matches!(
            file("binary", None, Some("not base64!")),
            Err(ContentError::BadBase64(_))
        ));
        assert_eq!(
            file("type-safe", Some(json!({})), None),
            Err(ContentError::DataType)
        );
        assert_eq!(
            file("xml", Some(json!({})), None),
            Err(ContentError::DataType)
        );
    }

    #[test]
    fn missing_and_deferred_files_have_no_content() {
        let reference = BatchFileRef::new(DataType::Json, "", "a");
        for status in [BatchFileStatus::Missing, BatchFileStatus::Deferred] {
            let file = BatchRetrievedFile::without_content(reference.clone(), status);
            assert_eq!(file.content(), Ok(None));
            let wire = serde_json::to_value(&file).unwrap();
            assert_eq!(wire.get("data"), None);
        }
        let wire = serde_json::to_value(BatchFileStatus::Deferred).unwrap();
        assert_eq!(wire, json!("deferred"));
    }
}
