//! `cache_hash`: SHA-256 of the reference service's canonical text, first 16 hex chars.
//!
//! Mirrors `Cache__Hash__Generator` of osbot-utils 3.75.0 with its default config
//! (`algorithm=SHA256, length=16`), as used by mgraph-ai-service-cache 0.14.0 (spec §3.1).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::pyjson::{self, DumpOptions};

/// Number of lowercase hex characters in a `cache_hash`.
pub const CACHE_HASH_LEN: usize = 16;

/// `hex(sha256(data))[:16]`, lowercase.
pub fn hash_bytes(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    hex::encode(&digest[..CACHE_HASH_LEN / 2])
}

/// Hash of the UTF-8 bytes of `text` (`from_string`).
///
/// The reference refuses an empty string here; the store routes reject it before hashing, and
/// [`hash_json_field`] reports it as [`JsonFieldHashError::EmptyString`].
pub fn hash_str(text: &str) -> String {
    hash_bytes(text.as_bytes())
}

/// Hash of `json.dumps(value, sort_keys=True)` (`from_json`).
pub fn hash_json(value: &Value) -> String {
    hash_str(&pyjson::dumps(value, DumpOptions::HASH))
}

/// The field named by a `json_field_path` is absent or `null`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Field '{field_path}' not found in data")]
pub struct FieldNotFound {
    /// The whole dotted path as given, not just the segment that was missing.
    pub field_path: String,
}

/// Why [`hash_json_field`] could not hash a field. `Display` is the reference's `str(exc)`,
/// which the reference returns as `error` in its HTTP 500 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonFieldHashError {
    /// The path does not lead to a value, or the value is `null`.
    #[error(transparent)]
    NotFound(#[from] FieldNotFound),
    /// The field is the empty string, which the reference's `from_string` refuses
    /// (`Raw_Str__Non_Empty`).
    #[error(
        "Parameter 'data' expected type <class 'osbot_utils.type_safe.primitives.domains.common.raw_str.Raw_Str__Non_Empty.Raw_Str__Non_Empty'>, but got <class 'str'>"
    )]
    EmptyString {
        /// The dotted path whose value was `""`.
        field_path: String,
    },
}

/// Hash of one field of a JSON document (`from_json_field`).
///
/// `field_path` is split on `.` and walked through objects only (an array index such as `a.0`
/// does not match, and neither does a path through a scalar). The value is hashed as the
/// reference does: a string as itself, a number or bool as Python `str(v)` (`True`, `1.5e-07`,
/// `inf`), an object via [`hash_json`], an array as `json.dumps(v, sort_keys=True)`.
///
/// `field_path` is used as given; sanitising it (`Safe_Str__Json__Field_Path`) is the caller's job.
pub fn hash_json_field(data: &Value, field_path: &str) -> Result<String, JsonFieldHashError> {
    let not_found = || FieldNotFound {
        field_path: field_path.to_owned(),
    };
    let mut current = data;
    for segment in field_path.split('.') {
        current = match current {
            Value::Object(map) => map.get(segment).ok_or_else(not_found)?,
            _ => return Err(not_found().into()),
        };
    }
    match current {
        Value::Null => Err(not_found().into()),
        Value::String(s) if s.is_empty() => Err(JsonFieldHashError::EmptyString {
            field_path: field_path.to_owned(),
        }),
        Value::String(s) => Ok(hash_str(s)),
        Value::Object(_) => Ok(hash_json(current)),
        Value::Array(_) => Ok(hash_str(&pyjson::dumps(current, DumpOptions::HASH))),
        Value::Bool(_) | Value::Number(_) => {
            let text = pyjson::python_str(current).ok_or_else(not_found)?;
            Ok(hash_str(&text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn is_cache_hash(h: &str) -> bool {
        h.len() == CACHE_HASH_LEN && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    // Vectors of spec §3.1, observed on mgraph-ai-service-cache 0.14.0.

    #[test]
    fn spec_vector_json_object() {
        let data = parse(r#"{"name":"Alice","age":30}"#);
        assert_eq!(
            pyjson::dumps(&data, DumpOptions::HASH),
            r#"{"age": 30, "name": "Alice"}"#
        );
        assert_eq!(hash_json(&data), "58954ab6bb1eca61");
    }

    #[test]
    fn spec_vector_string() {
        assert_eq!(hash_str("hello"), "2cf24dba5fb0a30e");
    }

    #[test]
    fn spec_vector_binary() {
        assert_eq!(hash_bytes(b"BINARYDATA"), "5a128aa5f6f4982f");
    }

    #[test]
    fn spec_vector_json_field_path_meta_url() {
        let data = parse(r#"{"meta":{"url":"https://x.com/a"},"other":1}"#);
        assert_eq!(
            hash_json_field(&data, "meta.url").unwrap(),
            "ec9c0a2615940abb"
        );
    }

    #[test]
    fn spec_vector_json_field_int() {
        let data = parse(r#"{"n":42}"#);
        assert_eq!(hash_json_field(&data, "n").unwrap(), "73475cb40a568e8d");
        assert_eq!(hash_str("42"), "73475cb40a568e8d");
    }

    #[test]
    fn spec_vector_unicode_float_bigint() {
        let data = parse(r#"{"n":"José","f":1.5e-7,"b":[true,null],"i":10000000000000000000000}"#);
        assert_eq!(
            pyjson::dumps(&data, DumpOptions::HASH),
            r#"{"b": [true, null], "f": 1.5e-07, "i": 10000000000000000000000, "n": "Jos\u00e9"}"#
        );
        assert_eq!(hash_json(&data), "e6f7dcd8b9bde06a");
    }

    #[test]
    fn spec_vector_empty_object() {
        let data = json!({});
        assert_eq!(pyjson::dumps(&data, DumpOptions::HASH), "{}");
        assert_eq!(hash_json(&data), "44136fa355b3678a");
    }

    #[test]
    fn hash_is_sixteen_lowercase_hex() {
        for h in [hash_bytes(b""), hash_str("x"), hash_json(&json!([1, "a"]))] {
            assert!(is_cache_hash(&h), "{h}");
        }
    }

    // Vectors observed by posting to the reference service 0.14.0 in-process
    // (`POST /ns/temporal/store/json/k1?json_field_path=...`).

    #[test]
    fn json_field_scalars_use_python_str() {
        let cases = [
            (r#"{"a":true}"#, "3cbc87c7681f34db"),
            (r#"{"a":false}"#, "60a33e6cf5151f2d"),
            (r#"{"a":1e400}"#, "e99270c4fa9f6ea7"),
            (r#"{"a":-1e400}"#, "a079ce0bee235137"),
            (r#"{"a":1.5e-7}"#, "d3d74b7715e6c72e"),
            (r#"{"a":-0}"#, "5feceb66ffc86f38"),
            (r#"{"a":0}"#, "5feceb66ffc86f38"),
            (r#"{"a":"0"}"#, "5feceb66ffc86f38"),
            (r#"{"a":-0.0}"#, "c26617c7ccbcaa66"),
            (r#"{"a":10000000000000000000000}"#, "846d056ab2ef102a"),
        ];
        for (body, expected) in cases {
            assert_eq!(
                hash_json_field(&parse(body), "a").unwrap(),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn json_field_containers() {
        let cases = [
            (r#"{"a":[3,{"z":1,"b":"é"}]}"#, "e9c2cbc7a6bdd6af"),
            (r#"{"a":[]}"#, "4f53cda18c2baa0c"),
            (r#"{"a":{}}"#, "44136fa355b3678a"),
            (r#"{"a":{"y":1,"x":[1.0]}}"#, "b139e7c12fd631e4"),
        ];
        for (body, expected) in cases {
            assert_eq!(
                hash_json_field(&parse(body), "a").unwrap(),
                expected,
                "{body}"
            );
        }
        let deep = parse(r#"{"a":{"b":{"c":"deep"}}}"#);
        assert_eq!(hash_json_field(&deep, "a.b.c").unwrap(), "74611c1d6455b534");
    }

    #[test]
    fn json_field_missing_null_or_not_an_object_names_the_whole_path() {
        let cases = [
            (r#"{"a":{"b":null}}"#, "a.b"),
            (r#"{"a":[1]}"#, "a.0"),
            (r#"{"a":1}"#, "a.b"),
            (r#"{"x":1}"#, "missing.path"),
            (r#"[{"a":1}]"#, "a"),
        ];
        for (body, path) in cases {
            let err = hash_json_field(&parse(body), path).unwrap_err();
            assert_eq!(
                err,
                JsonFieldHashError::NotFound(FieldNotFound {
                    field_path: path.to_owned()
                })
            );
            assert_eq!(err.to_string(), format!("Field '{path}' not found in data"));
        }
    }

    #[test]
    fn json_field_empty_string_is_refused_like_the_reference() {
        let err = hash_json_field(&parse(r#"{"a":""}"#), "a").unwrap_err();
        assert_eq!(
            err,
            JsonFieldHashError::EmptyString {
                field_path: "a".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "Parameter 'data' expected type <class 'osbot_utils.type_safe.primitives.domains.common.raw_str.Raw_Str__Non_Empty.Raw_Str__Non_Empty'>, but got <class 'str'>"
        );
    }

    #[test]
    fn json_field_path_is_not_sanitised_here() {
        let data = parse(r#"{"a b":1,"a_b":2}"#);
        assert_eq!(hash_json_field(&data, "a b").unwrap(), hash_str("1"));
        assert_eq!(hash_json_field(&data, "a_b").unwrap(), hash_str("2"));
    }
}
