//! **Response types missing from `cache-wire`**, defined here until they move there.
//!
//! Everything else the client returns comes from [`cache_wire::schema`], the types the server
//! itself serialises, so client and server cannot drift. The types below are shapes the server
//! builds ad hoc (as `serde_json::Value`s); they are listed in the crate's hand-over notes as
//! candidates for `cache-wire`.

use std::collections::BTreeMap;

use bytes::Bytes;
use cache_wire::schema::{BinaryReference, FileRefs, RetrieveSuccess};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The generic retrieve response (`GET /{ns}/retrieve/{id}` and `/retrieve/hash/{h}`):
/// the value with its metadata, or, for binary entries, a pointer to the binary route.
/// Both variants are boxed: the bodies are large and the enum stays pointer-sized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RetrieveResponse {
    /// A binary entry (`Schema__Cache__Binary__Reference`); fetch the bytes from `binary_url`
    /// or with `retrieve().by_id_binary`.
    Binary(Box<BinaryReference>),
    /// A JSON or string entry (`Schema__Cache__Retrieve__Success`).
    Value(Box<RetrieveSuccess>),
}

impl RetrieveResponse {
    /// `json`, `string` or `binary`.
    pub fn data_type(&self) -> &str {
        match self {
            RetrieveResponse::Binary(b) => &b.data_type,
            RetrieveResponse::Value(v) => &v.data_type,
        }
    }

    /// The value of a JSON or string entry.
    pub fn data(&self) -> Option<&Value> {
        match self {
            RetrieveResponse::Binary(_) => None,
            RetrieveResponse::Value(v) => Some(&v.data),
        }
    }
}

/// `GET /{ns}/retrieve/{id}/refs/all`: the by-id reference and the JSON content of every
/// non-content file it lists (`.config`, `.metadata`, the by-hash and by-id references).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefsAll {
    /// The by-id reference file.
    pub by_id: FileRefs,
    /// Path → parsed JSON content.
    pub details: serde_json::Map<String, Value>,
}

/// `GET /info/versions`: package name → version (e.g. `mgraph_ai_service_cache` → `v0.14.0`).
pub type Versions = BTreeMap<String, String>;

/// `GET /admin/storage/file/content/{path}`: the bytes and the content type the server chose
/// from the extension (`.json` → `application/json`, `.txt` → text, else octet-stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminFileContent {
    /// The response's `Content-Type`.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub bytes: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrieve_response_tells_binary_from_values() {
        let metadata = serde_json::json!({
            "cache_id": "i", "cache_hash": "h", "cache_key": "", "file_id": "f",
            "namespace": "demo", "strategy": "direct", "stored_at": 1, "file_type": "json",
            "content_encoding": null, "content_size": 0
        });
        let value: RetrieveResponse = serde_json::from_value(serde_json::json!({
            "data": {"a": 1}, "metadata": metadata, "data_type": "json"
        }))
        .unwrap();
        assert_eq!(value.data_type(), "json");
        assert_eq!(value.data().unwrap()["a"], 1);
        let binary: RetrieveResponse = serde_json::from_value(serde_json::json!({
            "message": "Binary data requires separate endpoint", "data_type": "binary",
            "size": 0, "cache_hash": "h", "cache_id": "i", "namespace": "demo",
            "binary_url": "/demo/retrieve/i/binary", "metadata": metadata
        }))
        .unwrap();
        assert!(matches!(binary, RetrieveResponse::Binary(_)));
        assert!(binary.data().is_none());
    }
}
