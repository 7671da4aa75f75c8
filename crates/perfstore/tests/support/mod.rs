//! Our real server in-process, wrapped to record every request path and, to stand for the
//! reference service, optionally without perfstore's batch routes (answered as the reference
//! answers unknown paths: 404 `{"detail":"Not Found"}`).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cache_client::CacheClient;

/// Every request path the server saw, in order.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

#[allow(dead_code)] // each test file uses its own part
impl RequestLog {
    /// How many requests had `fragment` in their path.
    pub fn count(&self, fragment: &str) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|p| p.contains(fragment))
            .count()
    }

    /// How many requests there were.
    pub fn total(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A client of a fresh in-memory server of ours; `batch_routes: false` hides the extension.
pub fn recorded_server(batch_routes: bool) -> (CacheClient, RequestLog) {
    let log = RequestLog::default();
    let seen = log.clone();
    let router = cache_service::router(cache_service::AppState::in_memory()).layer(
        axum::middleware::from_fn(move |request: Request, next: Next| {
            let seen = seen.clone();
            async move {
                let path = request.uri().path().to_owned();
                seen.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(path.clone());
                if !batch_routes && path.contains("/data/batch/") {
                    return reference_not_found();
                }
                next.run(request).await
            }
        }),
    );
    (CacheClient::in_process(router), log)
}

fn reference_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"detail":"Not Found"}"#,
    )
        .into_response()
}
