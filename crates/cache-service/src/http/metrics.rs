//! `GET /metrics` and the layer that measures every exchange (see [`crate::metrics`]).
//!
//! `/metrics` is not a route of the reference: it is answered by [`dispatch`](super::router)
//! before the route table is consulted, and no reference route matches `/metrics`, so none is
//! shadowed. Like every path outside `AUTH_EXCLUDED_PATHS` it needs the API key when auth is
//! enabled (traffic figures are operational data; Prometheus sends the key with
//! `http_headers` or `authorization` in its scrape config).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

use super::decoded_path;
use super::reply;
use super::routing::{Matched, RouteTable};
use crate::AppState;
use crate::metrics::{CONTENT_TYPE, Metrics, RouteGroup};

/// The path of the exposition.
pub const PATH: &str = "/metrics";

/// `GET /metrics`: the exposition of this server instance; other methods get the usual 405.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/metrics",
    tag = super::openapi::EXTENSIONS_TAG,
    operation_id = "metrics_get",
    summary = "Metrics",
    description = "Prometheus metrics of this server instance: requests, latency and body bytes by \
        route group and status class, storage operations (COMPAT.md D31). Needs the API key when \
        the server requires one.",
    responses(
        super::openapi::Failures,
        (status = 200, description = "The OpenMetrics text exposition.", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ),
))]
pub fn endpoint(state: &AppState, method: &Method) -> Response {
    if method != Method::GET {
        return reply::method_not_allowed("GET");
    }
    match state.metrics.encode() {
        Ok(text) => reply::bytes_as(StatusCode::OK, CONTENT_TYPE, Bytes::from(text)),
        Err(e) => reply::internal(
            "RuntimeError",
            &format!("the metrics could not be encoded: {e}"),
        ),
    }
}

/// The group of a decoded request path, as `dispatch` would route it.
pub fn route_group(routes: &RouteTable, method: &Method, path: &str) -> RouteGroup {
    if path == PATH {
        return RouteGroup::Metrics;
    }
    match routes.find(method, path) {
        Matched::Route(route, _) => RouteGroup::of_pattern(route.pattern),
        Matched::WrongMethod(_) | Matched::Redirect(_) | Matched::NotFound => RouteGroup::Unmatched,
    }
}

/// Measures one exchange: counts the request body bytes as the handler reads them and the
/// response body bytes as they are sent, and records everything when the response body ends
/// (or is dropped). The route group is the [`RouteGroup`] extension `dispatch` puts on its
/// responses; answers given before `dispatch` (401 of the API key, CORS preflights, panics)
/// are classified from the path here.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let request = request.map(|body| {
        Body::new(body.inspect_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }))
    });
    let response = next.run(request).await;
    let route = match response.extensions().get::<RouteGroup>() {
        Some(group) => *group,
        None => route_group(&state.routes, &method, &decoded_path(uri.path())),
    };
    let mut exchange = Exchange {
        metrics: Arc::clone(&state.metrics),
        route,
        status: response.status(),
        started,
        received,
        sent: 0,
    };
    response.map(|body| {
        // The closure owns the whole `Exchange` (a method call captures it entirely, not just
        // the copied `sent` field), so recording happens when the body is dropped.
        Body::new(body.inspect_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                exchange.sent(data.len());
            }
        }))
    })
}

/// One exchange in flight; recorded when dropped together with the response body.
struct Exchange {
    metrics: Arc<Metrics>,
    route: RouteGroup,
    status: StatusCode,
    started: Instant,
    received: Arc<AtomicU64>,
    sent: u64,
}

impl Exchange {
    fn sent(&mut self, bytes: usize) {
        self.sent += bytes as u64;
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.metrics.record_request(
            self.route,
            self.status,
            self.started.elapsed(),
            self.received.load(Ordering::Relaxed),
            self.sent,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_path_shadows_no_reference_route() {
        let table = super::super::route_table();
        for method in [Method::GET, Method::POST, Method::DELETE] {
            assert!(matches!(table.find(&method, PATH), Matched::NotFound));
        }
        assert!(matches!(
            table.find(&Method::GET, "/metrics/"),
            Matched::NotFound
        ));
    }

    #[test]
    fn paths_are_grouped_by_route_never_by_path() {
        let table = super::super::route_table();
        let group = |m: Method, p: &str| route_group(&table, &m, p).as_str();
        assert_eq!(group(Method::POST, "/ns/temporal/store/json"), "store");
        assert_eq!(group(Method::GET, "/ns/retrieve/hash/abc/json"), "retrieve");
        assert_eq!(
            group(Method::POST, "/ns/cache/x/data/store/string/a/b"),
            "data_store"
        );
        assert_eq!(
            group(Method::GET, "/ns/cache/x/data/json/k"),
            "data_retrieve"
        );
        assert_eq!(group(Method::GET, "/metrics"), "metrics");
        assert_eq!(group(Method::GET, "/nowhere"), "unmatched");
        // 405 and the slash redirect are not the route's work either.
        assert_eq!(group(Method::GET, "/ns/temporal/store/json"), "unmatched");
        assert_eq!(group(Method::GET, "/info/health/"), "unmatched");
    }
}
