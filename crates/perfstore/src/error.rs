//! The one error type of the storage layer.

use std::path::PathBuf;

use crate::names::{ArtifactPath, NameError};

/// A storage-layer error. A *missing* artifact is not an error (`Ok(None)` / `Ok(false)`);
/// [`Error::NotFound`] is for callers that require one (see [`crate::StorageExt::require`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session name, target name, key or prefix was refused.
    #[error(transparent)]
    InvalidName(#[from] NameError),

    /// The artifact does not exist.
    #[error("artifact {path} not found")]
    NotFound {
        /// The artifact asked for.
        path: ArtifactPath,
    },

    /// The session does not exist.
    #[error("session {session} not found")]
    SessionNotFound {
        /// The session asked for.
        session: crate::names::SessionName,
    },

    /// No baseline has this name.
    #[error("baseline @{name} is not set")]
    BaselineNotFound {
        /// The baseline asked for.
        name: String,
    },

    /// A JSON load found an artifact that is not JSON (or not of the requested shape).
    #[error("artifact {path} is not valid JSON for the requested type: {source}")]
    NotJson {
        /// The artifact.
        path: ArtifactPath,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },

    /// A text load found an artifact that is not UTF-8.
    #[error("artifact {path} is not UTF-8 text ({source}); load it as bytes instead")]
    NotText {
        /// The artifact.
        path: ArtifactPath,
        /// Where the invalid byte is.
        #[source]
        source: std::str::Utf8Error,
    },

    /// The key cannot be stored here because of another key: on backends without
    /// [`crate::Capabilities::file_and_folder_keys`], `a` and `a/b` cannot both exist.
    #[error("cannot store {path}: {reason}")]
    Conflict {
        /// The artifact being saved.
        path: ArtifactPath,
        /// Which other key is in the way.
        reason: String,
    },

    /// The key is valid but this backend cannot hold it (e.g. a segment too long once escaped).
    #[error("the {backend} backend cannot store {path}: {reason}")]
    KeyNotSupported {
        /// The artifact.
        path: ArtifactPath,
        /// Which backend.
        backend: &'static str,
        /// Why.
        reason: String,
    },

    /// A value could not be serialised to JSON.
    #[error("cannot serialise the value for {path} as JSON: {source}")]
    Serialize {
        /// The artifact being saved.
        path: ArtifactPath,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },

    /// The stream given to a streaming save failed before it ended; nothing was stored.
    #[error("reading the stream for {path} failed; nothing was stored: {source}")]
    Stream {
        /// The artifact being saved.
        path: ArtifactPath,
        /// What the stream said.
        #[source]
        source: std::io::Error,
    },

    /// A stored artifact could not be decoded (a compressed artifact that is damaged).
    #[error("artifact {path} is damaged: {reason}")]
    Corrupt {
        /// The artifact.
        path: ArtifactPath,
        /// What is wrong with it.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `read`, `list`, …).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The configuration is invalid (unknown mode, missing setting).
    #[error("invalid storage configuration: {0}")]
    Config(String),

    /// A backend-specific failure (service errors, transport).
    #[error("{backend} backend: {message}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What went wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Whether this error means the input was invalid (a name, key, or value the caller gave).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidName(_)
                | Error::Serialize { .. }
                | Error::Config(_)
                | Error::KeyNotSupported { .. }
        )
    }

    /// Whether this error means something did not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::NotFound { .. } | Error::SessionNotFound { .. } | Error::BaselineNotFound { .. }
        )
    }
}

/// The storage layer's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
