//! Identifier types of the wire and their sanitising / validation rules.
//!
//! The reference service (mgraph-ai-service-cache 0.14.0, osbot-utils 3.75.0) types its path and
//! query parameters with `Safe_Str` subclasses that *replace* disallowed characters instead of
//! rejecting them, and with `Random_Guid` / `Safe_Str__Cache_Hash`, which reject. Each type here
//! reproduces one of those classes: the same trimming, length limit, replacement rule and the
//! same error text (the text ends up in the `msg` of a 400 validation envelope, so it is part of
//! the wire).
//!
//! Several reference classes share one rule but differ in name (`Safe_Str__Id` and
//! `Safe_Str__Cache__Namespace`), and the name appears in error messages. Every type therefore
//! has a `parse` using the name the reference uses on most routes and a `parse_as` taking the
//! Python class name explicitly.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused. `Display` is the reference's exception text, which it returns
/// as the `msg` of a `value_error` in a 400 validation envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Longer than the class allows (measured in characters after trimming).
    #[error("in {class}, value exceeds maximum length of {max} characters (was {len})")]
    TooLong {
        /// Python class name, e.g. `Safe_Str__Id`.
        class: &'static str,
        /// Maximum length of the class.
        max: usize,
        /// Length of the (trimmed) value.
        len: usize,
    },
    /// After replacing disallowed characters only `_` is left (`Safe_Str__File__Path`).
    #[error("in {class}, sanitized value consists entirely of '_' characters")]
    AllReplaced {
        /// Python class name.
        class: &'static str,
    },
    /// Not a canonical UUID (`Random_Guid`).
    #[error("in Random_Guid: value provided was not a Guid: {value}")]
    NotAGuid {
        /// The value as given.
        value: String,
    },
    /// A cache hash that is not 10 to 96 lowercase hex characters.
    #[error("in {class}, value does not match required pattern: ^[a-f0-9]{{10,96}}$")]
    NotACacheHash {
        /// Python class name.
        class: &'static str,
    },
    /// A JSON field path containing `..`.
    #[error("Field path cannot contain consecutive dots: '{value}'")]
    FieldPathConsecutiveDots {
        /// The value as given.
        value: String,
    },
    /// A JSON field path starting or ending with `.`.
    #[error("Field path cannot start or end with a dot: '{value}'")]
    FieldPathEdgeDot {
        /// The value as given.
        value: String,
    },
}

/// Python's `str.isspace()` for one character (what `str.strip()` removes): Unicode white
/// space plus the ASCII information separators `\x1c`..`\x1f`, which Rust does not count.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python `str.strip()` with no arguments.
pub fn python_strip(value: &str) -> &str {
    value.trim_matches(is_python_space)
}

/// The shared `Safe_Str` algorithm in replace mode: strip, check the length, replace every
/// character outside `allowed` with `_` (one for one), optionally refuse an all-`_` result.
fn sanitize(
    raw: &str,
    class: &'static str,
    max: usize,
    allowed: fn(char) -> bool,
    allow_all_replacement: bool,
) -> Result<String, IdError> {
    let value = python_strip(raw);
    let len = value.chars().count();
    if len > max {
        return Err(IdError::TooLong { class, max, len });
    }
    if value.is_empty() {
        return Ok(String::new());
    }
    let sanitized: String = value
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    if !allow_all_replacement && sanitized.chars().all(|c| c == '_') {
        return Err(IdError::AllReplaced { class });
    }
    Ok(sanitized)
}

/// `[a-zA-Z0-9_-]`: the characters `Safe_Str__Id` keeps.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `[a-zA-Z0-9_\-./\\ ]`: the characters `Safe_Str__File__Path` keeps.
fn is_file_path_char(c: char) -> bool {
    is_id_char(c) || matches!(c, '.' | '/' | '\\' | ' ')
}

/// `[a-zA-Z0-9_\-.]`: the characters `Safe_Str__Json__Field_Path` keeps.
fn is_field_path_char(c: char) -> bool {
    is_id_char(c) || c == '.'
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether the value is empty (the reference treats empty as "not given").
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

macro_rules! safe_str_id_type {
    ($(#[$meta:meta])* $name:ident, $class:literal) => {
        string_newtype!($(#[$meta])* $name);

        impl $name {
            /// Maximum length in characters (`Safe_Str__Id.max_length`).
            pub const MAX_LENGTH: usize = 128;

            /// Sanitises `raw` as `Safe_Str__Id`: strip white space, refuse more than 128
            /// characters, replace every character outside `[a-zA-Z0-9_-]` with `_`.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                Self::parse_as(raw, $class)
            }

            /// As [`Self::parse`], naming `class` in the error (the reference's routes use
            /// several subclasses with the same rule).
            pub fn parse_as(raw: &str, class: &'static str) -> Result<Self, IdError> {
                sanitize(raw, class, Self::MAX_LENGTH, is_id_char, true).map(Self)
            }
        }
    };
}

macro_rules! safe_str_file_path_type {
    ($(#[$meta:meta])* $name:ident, $class:literal) => {
        string_newtype!($(#[$meta])* $name);

        impl $name {
            /// Maximum length in characters (`Safe_Str__File__Path.max_length`).
            pub const MAX_LENGTH: usize = 1024;

            /// Sanitises `raw` as `Safe_Str__File__Path`: strip white space, refuse more than
            /// 1024 characters, replace every character outside `[a-zA-Z0-9_\-./\\ ]` with `_`,
            /// refuse a result made only of `_`.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                Self::parse_as(raw, $class)
            }

            /// As [`Self::parse`], naming `class` in the error.
            pub fn parse_as(raw: &str, class: &'static str) -> Result<Self, IdError> {
                sanitize(raw, class, Self::MAX_LENGTH, is_file_path_char, false).map(Self)
            }
        }
    };
}

safe_str_id_type!(
    /// A namespace (`Safe_Str__Id`): the first path segment of every stored file.
    Namespace,
    "Safe_Str__Id"
);

safe_str_id_type!(
    /// The file id of a cache entry's content file (`Safe_Str__Id`); defaults to the cache id.
    FileId,
    "Safe_Str__Id"
);

safe_str_id_type!(
    /// The id of a child data file (`Safe_Str__Id`).
    DataFileId,
    "Safe_Str__Id"
);

safe_str_file_path_type!(
    /// The semantic key of a `key_based` entry (`Safe_Str__File__Path`); may contain `/`.
    CacheKey,
    "Safe_Str__File__Path"
);

safe_str_file_path_type!(
    /// The folder of a child data file below the entry's data folder (`Safe_Str__File__Path`).
    DataKey,
    "Safe_Str__File__Path"
);

impl Namespace {
    /// The reference's default namespace, `default`.
    pub fn default_namespace() -> Self {
        Namespace("default".to_owned())
    }
}

string_newtype!(
    /// A cache id (`Cache_Id`, a `Random_Guid`): a UUID whose canonical lowercase form equals
    /// the value lower-cased. Upper-case ids therefore pass, as in the reference.
    CacheId
);

impl CacheId {
    /// Validates `raw` as `Random_Guid` does (`str(uuid.UUID(v)) == v.lower()`).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let bytes = raw.as_bytes();
        let canonical = bytes.len() == 36
            && bytes.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if canonical {
            Ok(CacheId(raw.to_owned()))
        } else {
            Err(IdError::NotAGuid {
                value: raw.to_owned(),
            })
        }
    }

    /// A fresh random (v4) id, lowercase and hyphenated.
    pub fn new_random() -> Self {
        CacheId(uuid::Uuid::new_v4().to_string())
    }
}

string_newtype!(
    /// A content hash (`Safe_Str__Cache_Hash`): 10 to 96 lowercase hex characters after
    /// stripping white space. Empty after stripping is allowed (the reference lets it through).
    CacheHash
);

impl CacheHash {
    /// Maximum length in characters.
    pub const MAX_LENGTH: usize = 96;

    /// Validates `raw` as `Safe_Str__Cache_Hash`.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        Self::parse_as(raw, "Safe_Str__Cache_Hash")
    }

    /// As [`Self::parse`], naming `class` in the error.
    pub fn parse_as(raw: &str, class: &'static str) -> Result<Self, IdError> {
        let value = python_strip(raw);
        let len = value.chars().count();
        if len > Self::MAX_LENGTH {
            return Err(IdError::TooLong {
                class,
                max: Self::MAX_LENGTH,
                len,
            });
        }
        if value.is_empty() {
            return Ok(CacheHash(String::new()));
        }
        let valid = len >= 10
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(CacheHash(value.to_owned()))
        } else {
            Err(IdError::NotACacheHash { class })
        }
    }
}

string_newtype!(
    /// A dotted path into a JSON document whose value is hashed instead of the whole document
    /// (`Safe_Str__Json__Field_Path`).
    JsonFieldPath
);

impl JsonFieldPath {
    /// Maximum length in characters.
    pub const MAX_LENGTH: usize = 256;

    /// Validates and sanitises `raw` as `Safe_Str__Json__Field_Path`: refuses `..` and a
    /// leading or trailing `.` (checked on the raw value), then strips, checks the length and
    /// replaces characters outside `[a-zA-Z0-9_\-.]` with `_`.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if !raw.is_empty() {
            if raw.contains("..") {
                return Err(IdError::FieldPathConsecutiveDots {
                    value: raw.to_owned(),
                });
            }
            if raw.starts_with('.') || raw.ends_with('.') {
                return Err(IdError::FieldPathEdgeDot {
                    value: raw.to_owned(),
                });
            }
        }
        sanitize(
            raw,
            "Safe_Str__Json__Field_Path",
            Self::MAX_LENGTH,
            is_field_path_char,
            true,
        )
        .map(JsonFieldPath)
    }
}

/// A value outside one of the wire's enums. `Display` is pydantic's message; the 400 envelope
/// also carries [`EnumError::expected`] as `ctx.expected`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Input should be {expected}")]
pub struct EnumError {
    /// The allowed values as pydantic lists them, e.g. `'json', 'string', 'binary' or 'type-safe'`.
    pub expected: &'static str,
}

/// How a cache entry's content is laid out (`Enum__Cache__Store__Strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// `{ns}/data/direct/{F[0:2]}/{F[2:4]}/{F}.{ext}`.
    Direct,
    /// `{ns}/data/temporal/{YYYY}/{MM}/{DD}/{HH}/{F}.{ext}`.
    Temporal,
    /// The temporal path plus `{ns}/data/temporal-latest/latest/{F}.{ext}`.
    TemporalLatest,
    /// Temporal, latest and `versions/v1` copies under `{ns}/data/temporal-versioned`.
    TemporalVersioned,
    /// `{ns}/data/key-based/{cache_key}/{F}.{ext}`.
    KeyBased,
}

impl Strategy {
    /// Every strategy, in the reference's declaration order.
    pub const ALL: [Strategy; 5] = [
        Strategy::Direct,
        Strategy::Temporal,
        Strategy::TemporalLatest,
        Strategy::TemporalVersioned,
        Strategy::KeyBased,
    ];

    const EXPECTED: &'static str =
        "'direct', 'temporal', 'temporal_latest', 'temporal_versioned' or 'key_based'";

    /// The wire value, e.g. `temporal_latest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Direct => "direct",
            Strategy::Temporal => "temporal",
            Strategy::TemporalLatest => "temporal_latest",
            Strategy::TemporalVersioned => "temporal_versioned",
            Strategy::KeyBased => "key_based",
        }
    }

    /// Parses the wire value exactly (case-sensitive, as pydantic does).
    pub fn parse(raw: &str) -> Result<Self, EnumError> {
        Strategy::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(EnumError {
                expected: Self::EXPECTED,
            })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a value (`Enum__Cache__Data_Type`); selects a child data file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DataType {
    /// `json`: a JSON value, child files `.json` (indent 4).
    #[serde(rename = "json")]
    Json,
    /// `string`: text, child files `.txt`.
    #[serde(rename = "string")]
    String,
    /// `binary`: raw bytes, child files `.bin`.
    #[serde(rename = "binary")]
    Binary,
    /// `type-safe`: accepted by the reference's routes but never produced.
    #[serde(rename = "type-safe")]
    TypeSafe,
}

impl DataType {
    /// Every data type, in the reference's declaration order.
    pub const ALL: [DataType; 4] = [
        DataType::Json,
        DataType::String,
        DataType::Binary,
        DataType::TypeSafe,
    ];

    const EXPECTED: &'static str = "'json', 'string', 'binary' or 'type-safe'";

    /// The wire value, e.g. `string`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Json => "json",
            DataType::String => "string",
            DataType::Binary => "binary",
            DataType::TypeSafe => "type-safe",
        }
    }

    /// Parses the wire value exactly (case-sensitive).
    pub fn parse(raw: &str) -> Result<Self, EnumError> {
        DataType::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or(EnumError {
                expected: Self::EXPECTED,
            })
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_replaces_disallowed_characters_one_for_one() {
        assert_eq!(Namespace::parse("my.ns").unwrap().as_str(), "my_ns");
        assert_eq!(Namespace::parse(" demo ").unwrap().as_str(), "demo");
        assert_eq!(Namespace::parse("é-x").unwrap().as_str(), "_-x");
        assert_eq!(Namespace::parse("   ").unwrap().as_str(), "");
        assert_eq!(FileId::parse("x.y").unwrap().as_str(), "x_y");
    }

    #[test]
    fn id_length_is_checked_after_stripping_in_characters() {
        let ok = "é".repeat(128);
        assert_eq!(Namespace::parse(&ok).unwrap().as_str(), "_".repeat(128));
        let err = Namespace::parse(&"a".repeat(129)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in Safe_Str__Id, value exceeds maximum length of 128 characters (was 129)"
        );
        let err = FileId::parse_as(&"f".repeat(200), "Safe_Str__Cache__File__File_Id").unwrap_err();
        assert_eq!(
            err.to_string(),
            "in Safe_Str__Cache__File__File_Id, value exceeds maximum length of 128 characters (was 200)"
        );
        assert!(Namespace::parse(&format!(" {} ", "a".repeat(128))).is_ok());
    }

    #[test]
    fn python_strip_removes_information_separators() {
        assert_eq!(python_strip("\u{1c}a\u{1f} "), "a");
        assert_eq!(python_strip("\u{a0}a\u{3000}"), "a");
    }

    #[test]
    fn cache_key_keeps_path_characters_and_refuses_all_underscores() {
        assert_eq!(CacheKey::parse("a%20b/c:d").unwrap().as_str(), "a_20b/c_d");
        assert_eq!(CacheKey::parse("a b/c:d").unwrap().as_str(), "a b/c_d");
        assert_eq!(CacheKey::parse("x\\y.z").unwrap().as_str(), "x\\y.z");
        let err = CacheKey::parse_as("___", "Safe_Str__Cache__File__Cache_Key").unwrap_err();
        assert_eq!(
            err.to_string(),
            "in Safe_Str__Cache__File__Cache_Key, sanitized value consists entirely of '_' characters"
        );
        assert!(DataKey::parse("::").is_err());
        assert_eq!(DataKey::parse("").unwrap().as_str(), "");
    }

    #[test]
    fn cache_id_accepts_canonical_guids_of_either_case() {
        let id = "12345678-1234-1234-1234-123456789abc";
        assert_eq!(CacheId::parse(id).unwrap().as_str(), id);
        assert!(CacheId::parse(&id.to_uppercase()).is_ok());
        for bad in [
            "nope",
            "123456781234123412341234567890ab",
            "{12345678-1234-1234-1234-123456789abc}",
            " 12345678-1234-1234-1234-123456789abc",
            "12345678-1234-1234-1234-123456789abg",
        ] {
            let err = CacheId::parse(bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("in Random_Guid: value provided was not a Guid: {bad}")
            );
        }
        let fresh = CacheId::new_random();
        assert!(CacheId::parse(fresh.as_str()).is_ok());
        assert_eq!(fresh.as_str(), fresh.as_str().to_lowercase());
    }

    #[test]
    fn cache_hash_is_strict_lowercase_hex() {
        assert_eq!(
            CacheHash::parse("0123456789").unwrap().as_str(),
            "0123456789"
        );
        assert_eq!(
            CacheHash::parse(" 0123456789 ").unwrap().as_str(),
            "0123456789"
        );
        for bad in ["nope", "ABCDEF0123", "012345678", "0123456789g"] {
            assert_eq!(
                CacheHash::parse(bad).unwrap_err().to_string(),
                "in Safe_Str__Cache_Hash, value does not match required pattern: ^[a-f0-9]{10,96}$"
            );
        }
        assert_eq!(
            CacheHash::parse(&"a".repeat(97)).unwrap_err().to_string(),
            "in Safe_Str__Cache_Hash, value exceeds maximum length of 96 characters (was 97)"
        );
        assert!(CacheHash::parse(&"a".repeat(96)).is_ok());
    }

    #[test]
    fn json_field_path_rules() {
        assert_eq!(
            JsonFieldPath::parse("meta.url").unwrap().as_str(),
            "meta.url"
        );
        assert_eq!(JsonFieldPath::parse("a b").unwrap().as_str(), "a_b");
        assert_eq!(JsonFieldPath::parse("").unwrap().as_str(), "");
        assert_eq!(
            JsonFieldPath::parse("..a").unwrap_err().to_string(),
            "Field path cannot contain consecutive dots: '..a'"
        );
        assert_eq!(
            JsonFieldPath::parse("a.").unwrap_err().to_string(),
            "Field path cannot start or end with a dot: 'a.'"
        );
    }

    #[test]
    fn enums_parse_exactly_and_report_pydantic_messages() {
        assert_eq!(Strategy::parse("key_based").unwrap(), Strategy::KeyBased);
        assert_eq!(
            Strategy::parse("Direct").unwrap_err().to_string(),
            "Input should be 'direct', 'temporal', 'temporal_latest', 'temporal_versioned' or 'key_based'"
        );
        assert_eq!(DataType::parse("type-safe").unwrap(), DataType::TypeSafe);
        assert_eq!(
            DataType::parse("bogus").unwrap_err().expected,
            "'json', 'string', 'binary' or 'type-safe'"
        );
        assert_eq!(
            serde_json::to_string(&Strategy::TemporalLatest).unwrap(),
            "\"temporal_latest\""
        );
    }
}
