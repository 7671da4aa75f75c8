//! Artifacts: stored bytes plus their kind, and the metadata [`crate::Storage::head`] reports.
//!
//! **Canonical JSON.** A JSON artifact is stored as Python's `json.dumps(value, indent=4)` text
//! (non-ASCII as `\uXXXX`, insertion order, Python float repr): exactly what the original module
//! wrote to disk and what the cache service writes for child JSON. So a JSON artifact has the same
//! bytes, and therefore the same [`ContentHash`], on every backend.

use std::fmt;

use bytes::Bytes;
use cache_wire::pyjson::{self, DumpOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What an artifact holds; decides how typed loaders read it and how the cache service stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// A JSON document, stored in canonical form.
    Json,
    /// UTF-8 text (Markdown, HTML, logs).
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl ArtifactKind {
    /// `json`, `text` or `binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Json => "json",
            ArtifactKind::Text => "text",
            ArtifactKind::Binary => "binary",
        }
    }

    /// The kind of bytes whose kind was not recorded: JSON if they are the canonical form of a
    /// JSON value, else text if they are UTF-8, else binary.
    ///
    /// Bytes written by [`crate::StorageExt::save_json`] are always inferred as JSON; a text that
    /// happens to be canonical JSON (`42`) is inferred as JSON too, which loses nothing: every
    /// loader returns the same bytes and text either way.
    pub fn infer(bytes: &[u8]) -> Self {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return ArtifactKind::Binary;
        };
        match serde_json::from_str::<Value>(text) {
            Ok(value) if canonical_json(&value) == text => ArtifactKind::Json,
            _ => ArtifactKind::Text,
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The canonical text of a JSON artifact: Python's `json.dumps(value, indent=4)`.
pub fn canonical_json(value: &Value) -> String {
    pyjson::dumps(
        value,
        DumpOptions {
            indent: Some(4),
            sort_keys: false,
        },
    )
}

/// Rewrites every float in `value` to the form serde gives an `f64`, so a value loaded from
/// canonical text compares equal to the one that was saved.
///
/// The workspace builds serde_json with `arbitrary_precision` (big integers must survive
/// exactly for the cache service's hash), which makes number equality textual: `1.5e-07` (Python's
/// repr, as stored) would not equal `1.5e-7` (what `json!(1.5e-7)` holds). Integers are left as
/// they are, whatever their size.
pub fn normalize_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if n.as_str().contains(['.', 'e', 'E'])
                && let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64)
            {
                *n = f;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(map) => map.values_mut().for_each(normalize_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// First 16 lowercase hex characters of the SHA-256 of an artifact's stored bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut hex = hex::encode(digest);
        hex.truncate(16);
        Self(hex)
    }

    /// The hash from a finished SHA-256 digest (for hashes computed while streaming).
    pub fn from_digest(digest: &[u8]) -> Self {
        let mut hex = hex::encode(digest);
        hex.truncate(16);
        Self(hex)
    }

    /// Parses a hash given as text: exactly 16 lowercase hex characters.
    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 16
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| Self(value.to_owned()))
    }

    /// The 16 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`crate::Storage::head`] reports about an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// Size of the stored bytes.
    pub size: u64,
    /// The recorded kind, or the inferred one where the backend records none.
    pub kind: ArtifactKind,
    /// [`ContentHash`] of the stored bytes.
    pub hash: ContentHash,
}

/// An artifact's bytes and, where known, its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    bytes: Bytes,
    kind: Option<ArtifactKind>,
}

impl Artifact {
    /// A JSON artifact holding `value` in canonical form.
    pub fn json(value: &Value) -> Self {
        Self {
            bytes: Bytes::from(canonical_json(value)),
            kind: Some(ArtifactKind::Json),
        }
    }

    /// A JSON artifact from raw JSON text, validated and brought to canonical form.
    pub fn json_from_slice(text: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(Self::json(&serde_json::from_slice(text)?))
    }

    /// A JSON artifact from any serialisable value.
    pub fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::json(&serde_json::to_value(value)?))
    }

    /// A text artifact.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            bytes: Bytes::from(text.into()),
            kind: Some(ArtifactKind::Text),
        }
    }

    /// A binary artifact.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            kind: Some(ArtifactKind::Binary),
        }
    }

    /// Bytes read back from a backend, with the kind it recorded (`None` where it records none).
    pub fn from_stored(bytes: impl Into<Bytes>, kind: Option<ArtifactKind>) -> Self {
        Self {
            bytes: bytes.into(),
            kind,
        }
    }

    /// The stored bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The stored bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The kind as recorded by the backend, if it records kinds.
    pub fn recorded_kind(&self) -> Option<ArtifactKind> {
        self.kind
    }

    /// The recorded kind, or the kind [inferred](ArtifactKind::infer) from the bytes.
    pub fn kind(&self) -> ArtifactKind {
        self.kind
            .unwrap_or_else(|| ArtifactKind::infer(&self.bytes))
    }

    /// Size, kind and hash.
    pub fn meta(&self) -> ArtifactMeta {
        ArtifactMeta {
            size: self.bytes.len() as u64,
            kind: self.kind(),
            hash: ContentHash::of(&self.bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_is_sha256_prefix() {
        // sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
        assert_eq!(ContentHash::of(b"hello").as_str(), "2cf24dba5fb0a30e");
        assert!(ContentHash::parse("2cf24dba5fb0a30e").is_some());
        assert!(ContentHash::parse("2CF24DBA5FB0A30E").is_none());
        assert!(ContentHash::parse("2cf24dba").is_none());
    }

    #[test]
    fn json_is_stored_in_python_indent4_form() {
        let a = Artifact::json(&json!({"b": 1, "a": [1, 2], "s": "café"}));
        assert_eq!(
            std::str::from_utf8(a.bytes()).unwrap(),
            "{\n    \"b\": 1,\n    \"a\": [\n        1,\n        2\n    ],\n    \"s\": \"caf\\u00e9\"\n}"
        );
    }

    #[test]
    fn inference_distinguishes_json_text_binary() {
        let canonical = Artifact::json(&json!({"k": [1, {"x": null}]}));
        assert_eq!(ArtifactKind::infer(canonical.bytes()), ArtifactKind::Json);
        assert_eq!(ArtifactKind::infer(b"{\"k\":1}"), ArtifactKind::Text);
        assert_eq!(ArtifactKind::infer(b"# Report\n"), ArtifactKind::Text);
        assert_eq!(ArtifactKind::infer(b""), ArtifactKind::Text);
        assert_eq!(
            ArtifactKind::infer(&[0xff, 0x00, 0x81]),
            ArtifactKind::Binary
        );
    }

    #[test]
    fn recorded_kind_wins_over_inference() {
        let a = Artifact::from_stored(Bytes::from_static(b"42"), Some(ArtifactKind::Text));
        assert_eq!(a.kind(), ArtifactKind::Text);
        assert_eq!(
            Artifact::from_stored(Bytes::from_static(b"42"), None).kind(),
            ArtifactKind::Json
        );
    }
}
