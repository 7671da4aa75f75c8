//! In-process "ready" time of our server: build the in-memory state and router, answer the
//! first `GET /info/health` through `tower::ServiceExt::oneshot` (no socket).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde::Serialize;
use tower::ServiceExt;

use crate::stats::median;

/// Ready times over several builds in one process.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyTimes {
    /// Builds measured.
    pub runs: usize,
    /// The first build (includes one-off process-wide set-up such as the route table).
    pub first_ms: f64,
    /// Median of all builds.
    pub median_ms: f64,
}

/// A health check that did not answer 200.
#[derive(Debug, thiserror::Error)]
#[error("in-process GET /info/health answered {status}, expected 200 OK")]
pub struct HealthFailed {
    /// The status received.
    pub status: StatusCode,
}

/// One build: `AppState::in_memory()` + `router`, then the first health request.
async fn once() -> Result<Duration, HealthFailed> {
    let started = Instant::now();
    let app = cache_service::router(cache_service::AppState::in_memory());
    let request = Request::get("/info/health")
        .body(Body::empty())
        .map_err(|_| HealthFailed {
            status: StatusCode::BAD_REQUEST,
        })?;
    // The router's error type is Infallible.
    let response = match app.oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let elapsed = started.elapsed();
    if response.status() != StatusCode::OK {
        return Err(HealthFailed {
            status: response.status(),
        });
    }
    Ok(elapsed)
}

/// Measures `runs` (at least 1) builds in this process.
pub async fn measure(runs: usize) -> Result<ReadyTimes, HealthFailed> {
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(once().await?);
    }
    let first = times[0];
    let median = median(&mut times).unwrap_or(first);
    Ok(ReadyTimes {
        runs,
        first_ms: first.as_secs_f64() * 1e3,
        median_ms: median.as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_a_healthy_build() {
        let t = measure(3).await.unwrap();
        assert_eq!(t.runs, 3);
        assert!(t.first_ms > 0.0 && t.median_ms > 0.0);
    }
}
