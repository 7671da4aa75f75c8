//! The cache service's logic over a [`FileStore`]: strategies, references, child data,
//! namespaces. No HTTP here; the `http` module maps results to the reference's envelopes.
//!
//! The service keeps no state besides the store and a cache of by-hash reference files that is
//! checked against the store on every use ([`hash_refs`]), so any number of instances may share
//! one bucket or folder.

pub mod batch;
pub mod data;
pub mod entry;
pub mod entry_folders;
pub mod hash_refs;
pub mod listing;
pub mod paths;

use std::sync::Arc;

use crate::store::{FileStore, StoreError};

/// A failure the reference reports as an unhandled exception: HTTP 500 with
/// `{"detail":"An unexpected error occurred.","error":<message>,"stack_trace":…}`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The storage backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reference would raise a Python exception here (e.g. a stored file that is not
    /// valid JSON, or a `json_field_path` naming a missing field).
    #[error("{message}")]
    Python {
        /// The Python exception class, for the stack trace line (`ValueError`).
        exception: &'static str,
        /// `str(exc)`.
        message: String,
    },
}

impl ServiceError {
    /// A Python-style exception.
    pub fn python(exception: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Python {
            exception,
            message: message.into(),
        }
    }

    /// The Python exception class name to show.
    pub fn exception_name(&self) -> &'static str {
        match self {
            ServiceError::Store(_) => "OSError",
            ServiceError::Python { exception, .. } => exception,
        }
    }
}

/// Result of service operations.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// The cache service: the file store plus the settings that appear on the wire.
#[derive(Debug, Clone)]
pub struct CacheService {
    store: FileStore,
    ttl_hours: u64,
    /// By-hash reference files this instance wrote or read, validated by entity tag on use.
    hash_refs: Arc<hash_refs::HashRefCache>,
    /// Entries' data folders (immutable), so child requests only check the entry exists.
    entry_folders: Arc<entry_folders::EntryFolders>,
}

impl CacheService {
    /// A service over `store`; `ttl_hours` is only reported (the reference never expires).
    pub fn new(store: FileStore, ttl_hours: u64) -> Self {
        CacheService {
            store,
            ttl_hours,
            hash_refs: Arc::default(),
            entry_folders: Arc::default(),
        }
    }

    /// The cache of by-hash reference files (see [`hash_refs`]).
    pub fn hash_refs(&self) -> &hash_refs::HashRefCache {
        &self.hash_refs
    }

    /// The file store.
    pub fn store(&self) -> &FileStore {
        &self.store
    }

    /// `CACHE__SERVICE__DEFAULT_TTL_HOURS`.
    pub fn ttl_hours(&self) -> u64 {
        self.ttl_hours
    }
}

/// Milliseconds since the Unix epoch (`Timestamp_Now`).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The server's local hour as `YYYY/MM/DD/HH` (the reference uses `datetime.now()`).
pub fn local_hour_path() -> String {
    chrono::Local::now().format("%Y/%m/%d/%H").to_string()
}

/// `json.loads(bytes.decode())` of a stored file, with Python's error texts.
pub fn parse_stored_json(bytes: &[u8]) -> ServiceResult<serde_json::Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ServiceError::python("UnicodeDecodeError", utf8_error_text(bytes, &e)))?;
    crate::json::loads::loads_str(text).map_err(|e| match e {
        crate::json::LoadError::Decode { msg, pos } => {
            ServiceError::python("JSONDecodeError", decode_error_text(text, msg, pos))
        }
        crate::json::LoadError::Unparseable => {
            ServiceError::python("ValueError", "stored JSON cannot be represented")
        }
    })
}

/// `str(json.JSONDecodeError)`: `"<msg>: line L column C (char P)"`.
fn decode_error_text(text: &str, msg: &str, pos: usize) -> String {
    let before: String = text.chars().take(pos).collect();
    let line = before.matches('\n').count() + 1;
    let column = match before.rfind('\n') {
        Some(i) => before[i + 1..].chars().count() + 1,
        None => pos + 1,
    };
    format!("{msg}: line {line} column {column} (char {pos})")
}

/// `str(UnicodeDecodeError)` of `bytes.decode('utf-8')`.
fn utf8_error_text(bytes: &[u8], error: &std::str::Utf8Error) -> String {
    let position = error.valid_up_to();
    let byte = bytes.get(position).copied().unwrap_or(0);
    let reason = match error.error_len() {
        None => "unexpected end of data",
        Some(_) if matches!(byte, 0x80..=0xC1 | 0xF5..=0xFF) => "invalid start byte",
        Some(_) => "invalid continuation byte",
    };
    format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {position}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_json_errors_read_like_python() {
        let err = parse_stored_json(b"\xff").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        let err = parse_stored_json(b"{\n  \"a\": }").unwrap_err();
        assert_eq!(err.to_string(), "Expecting value: line 2 column 8 (char 9)");
        assert_eq!(err.exception_name(), "JSONDecodeError");
        let hour = local_hour_path();
        assert_eq!(hour.len(), 13);
    }
}
