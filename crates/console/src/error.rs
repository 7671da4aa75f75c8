//! What a console request can fail with, and the status each maps to.

use axum::http::StatusCode;

/// A failed console request.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A session, target, baseline or artifact that does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// A malformed query: bad name, key or number (400).
    #[error("{0}")]
    BadRequest(String),
    /// The console itself failed (500).
    #[error("{0}")]
    Internal(String),
    /// The store failed (500), or reported not-found / invalid input (404 / 400).
    #[error(transparent)]
    Store(#[from] perfstore::Error),
}

impl From<perfstore::NameError> for ConsoleError {
    fn from(e: perfstore::NameError) -> Self {
        ConsoleError::BadRequest(e.to_string())
    }
}

impl ConsoleError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Store(e) if e.is_not_found() => StatusCode::NOT_FOUND,
            ConsoleError::Store(e) if e.is_invalid_input() => StatusCode::BAD_REQUEST,
            ConsoleError::Store(_) | ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
