//! Prometheus metrics of one server instance, served at `GET /metrics` (see [`crate::http`]).
//!
//! Every [`AppState`](crate::AppState) owns one [`Metrics`] (its own registry, not a global), so
//! servers running in one process, such as the in-process test servers, never share counters.
//! Labels are low-cardinality enums: [`RouteGroup`] (a family of routes, never the raw path),
//! [`StatusClass`] and [`StoreOperation`].
//!
//! | Metric | Type | Labels |
//! |---|---|---|
//! | `cache_service_http_requests_total` | counter | `route`, `status` |
//! | `cache_service_http_request_duration_seconds` | histogram | `route`, `status` |
//! | `cache_service_http_request_body_bytes_total` | counter | `route` |
//! | `cache_service_http_response_body_bytes_total` | counter | `route` |
//! | `cache_service_storage_operation_duration_seconds` | histogram | `operation` |
//! | `cache_service_storage_operation_errors_total` | counter | `operation` |
//!
//! A request is recorded once its response body has been sent (or dropped), so the duration
//! covers the whole exchange, including streamed bodies, and the byte counts are the bytes
//! actually transferred (not `content-length`). A storage operation is recorded when the
//! [`FileStore`](crate::store::FileStore) call returns; an error is a returned `StoreError`
//! (a missing file is not an error).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The content type of the exposition: the OpenMetrics text format that `prometheus-client`
/// writes and Prometheus negotiates by preference.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prefix of every metric name.
pub const PREFIX: &str = "cache_service";

/// Upper bounds (seconds) of the request-duration buckets: 0.5 ms (memory store) to 30 s
/// (large bodies over S3).
const HTTP_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the storage-operation buckets: 100 µs (memory, page cache) to 10 s.
const STORE_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A coarse family of routes, the `route` label. Derived from the route pattern (the
/// `Routes__…` classes of the reference), never from the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteGroup {
    /// `/{ns}/{strategy}/store/…`
    Store,
    /// `/{ns}/retrieve/…`
    Retrieve,
    /// `/{ns}/exists/…`
    Exists,
    /// `/{ns}/update/…`
    Update,
    /// `/{ns}/delete/…`
    Delete,
    /// `/{ns}/cache/{id}/data/store/…`
    DataStore,
    /// `/{ns}/cache/{id}/data/{json,string,binary}/…`
    DataRetrieve,
    /// `/{ns}/cache/{id}/data/exists/…`
    DataExists,
    /// `/{ns}/cache/{id}/data/update/…`
    DataUpdate,
    /// `/{ns}/cache/{id}/data/delete/…`
    DataDelete,
    /// `/{ns}/cache/{id}/data/list…`
    DataList,
    /// `/{ns}/cache/{id}/data/batch/…` (perfstore's extension)
    DataBatch,
    /// `/{ns}/file-hashes`, `/{ns}/file-ids`, `/{ns}/stats`, `/namespaces/list`
    Namespace,
    /// `/admin/storage/…`
    AdminStorage,
    /// `/server/…`
    Server,
    /// `/info/…`
    Info,
    /// `/auth/…`
    Auth,
    /// `GET /metrics` itself.
    Metrics,
    /// A route of the table that no other group names (none today; a unit test keeps it so).
    Other,
    /// No route answered: 404, 405, 307 slash redirects, CORS preflights.
    Unmatched,
}

impl RouteGroup {
    /// Every group, in the order above.
    pub const ALL: [RouteGroup; 20] = [
        RouteGroup::Store,
        RouteGroup::Retrieve,
        RouteGroup::Exists,
        RouteGroup::Update,
        RouteGroup::Delete,
        RouteGroup::DataStore,
        RouteGroup::DataRetrieve,
        RouteGroup::DataExists,
        RouteGroup::DataUpdate,
        RouteGroup::DataDelete,
        RouteGroup::DataList,
        RouteGroup::DataBatch,
        RouteGroup::Namespace,
        RouteGroup::AdminStorage,
        RouteGroup::Server,
        RouteGroup::Info,
        RouteGroup::Auth,
        RouteGroup::Metrics,
        RouteGroup::Other,
        RouteGroup::Unmatched,
    ];

    /// The label value, e.g. `data_store`.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteGroup::Store => "store",
            RouteGroup::Retrieve => "retrieve",
            RouteGroup::Exists => "exists",
            RouteGroup::Update => "update",
            RouteGroup::Delete => "delete",
            RouteGroup::DataStore => "data_store",
            RouteGroup::DataRetrieve => "data_retrieve",
            RouteGroup::DataExists => "data_exists",
            RouteGroup::DataUpdate => "data_update",
            RouteGroup::DataDelete => "data_delete",
            RouteGroup::DataList => "data_list",
            RouteGroup::DataBatch => "data_batch",
            RouteGroup::Namespace => "namespace",
            RouteGroup::AdminStorage => "admin_storage",
            RouteGroup::Server => "server",
            RouteGroup::Info => "info",
            RouteGroup::Auth => "auth",
            RouteGroup::Metrics => "metrics",
            RouteGroup::Other => "other",
            RouteGroup::Unmatched => "unmatched",
        }
    }

    /// The group of a route pattern of the table, e.g.
    /// `/{namespace}/cache/{cache_id}/data/store/json` → [`RouteGroup::DataStore`].
    pub fn of_pattern(pattern: &str) -> RouteGroup {
        let first = |s: &str| s.split('/').next().unwrap_or_default().to_owned();
        if let Some(rest) = pattern.strip_prefix("/{namespace}/") {
            if rest.starts_with("{strategy}/store/") {
                return RouteGroup::Store;
            }
            if let Some(data) = rest.strip_prefix("cache/{cache_id}/data/") {
                return match first(data).as_str() {
                    "store" => RouteGroup::DataStore,
                    "json" | "string" | "binary" => RouteGroup::DataRetrieve,
                    "exists" => RouteGroup::DataExists,
                    "update" => RouteGroup::DataUpdate,
                    "delete" => RouteGroup::DataDelete,
                    "list" => RouteGroup::DataList,
                    "batch" => RouteGroup::DataBatch,
                    _ => RouteGroup::Other,
                };
            }
            return match first(rest).as_str() {
                "retrieve" => RouteGroup::Retrieve,
                "exists" => RouteGroup::Exists,
                "update" => RouteGroup::Update,
                "delete" => RouteGroup::Delete,
                "file-hashes" | "file-ids" | "stats" => RouteGroup::Namespace,
                _ => RouteGroup::Other,
            };
        }
        match pattern.strip_prefix('/').map(first).as_deref() {
            Some("namespaces") => RouteGroup::Namespace,
            Some("admin") if pattern.starts_with("/admin/storage/") => RouteGroup::AdminStorage,
            Some("server") => RouteGroup::Server,
            Some("info") => RouteGroup::Info,
            Some("auth") => RouteGroup::Auth,
            _ => RouteGroup::Other,
        }
    }
}

impl EncodeLabelValue for RouteGroup {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The class of a response status, the `status` label (`2xx` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 1xx
    Informational,
    /// 2xx
    Success,
    /// 3xx
    Redirection,
    /// 4xx
    ClientError,
    /// 5xx
    ServerError,
    /// Codes 600–999, which HTTP allows but does not define.
    Other,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: StatusCode) -> StatusClass {
        match status.as_u16() / 100 {
            1 => StatusClass::Informational,
            2 => StatusClass::Success,
            3 => StatusClass::Redirection,
            4 => StatusClass::ClientError,
            5 => StatusClass::ServerError,
            _ => StatusClass::Other,
        }
    }

    /// The label value, e.g. `4xx`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Other => "other",
        }
    }
}

impl EncodeLabelValue for StatusClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// A [`FileStore`](crate::store::FileStore) operation, the `operation` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOperation {
    /// `put`: write a whole file.
    Put,
    /// `put_stream`: write a file from a stream of chunks.
    PutStream,
    /// `get`: read a whole file.
    Get,
    /// `get_stream`: open a file for streamed reading (the time to first byte).
    GetStream,
    /// `get_range`: read the end of a file (a by-hash reference's `latest_id`).
    GetRange,
    /// `exists`
    Exists,
    /// `size`
    Size,
    /// `delete`
    Delete,
    /// `list_files` (recursive listing).
    ListFiles,
    /// `list_dir` (one level).
    ListDir,
    /// `verify` (the start-up check that the backend answers).
    Verify,
}

impl StoreOperation {
    /// Every operation, in the order above.
    pub const ALL: [StoreOperation; 11] = [
        StoreOperation::Put,
        StoreOperation::PutStream,
        StoreOperation::Get,
        StoreOperation::GetStream,
        StoreOperation::GetRange,
        StoreOperation::Exists,
        StoreOperation::Size,
        StoreOperation::Delete,
        StoreOperation::ListFiles,
        StoreOperation::ListDir,
        StoreOperation::Verify,
    ];

    /// The label value, e.g. `list_files`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreOperation::Put => "put",
            StoreOperation::PutStream => "put_stream",
            StoreOperation::Get => "get",
            StoreOperation::GetStream => "get_stream",
            StoreOperation::GetRange => "get_range",
            StoreOperation::Exists => "exists",
            StoreOperation::Size => "size",
            StoreOperation::Delete => "delete",
            StoreOperation::ListFiles => "list_files",
            StoreOperation::ListDir => "list_dir",
            StoreOperation::Verify => "verify",
        }
    }
}

impl EncodeLabelValue for StoreOperation {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: RouteGroup,
    status: StatusClass,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: RouteGroup,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: StoreOperation,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

fn store_histogram() -> Histogram {
    Histogram::new(STORE_BUCKETS)
}

/// Storage-operation metrics, shared by a [`FileStore`](crate::store::FileStore) and the
/// [`Metrics`] registry that exposes them.
#[derive(Debug)]
pub struct StoreMetrics {
    duration: HistogramFamily<OperationLabels>,
    errors: Family<OperationLabels, Counter>,
}

impl StoreMetrics {
    /// Records one operation that took `elapsed` and failed or not.
    pub fn observe(&self, operation: StoreOperation, elapsed: Duration, failed: bool) {
        let labels = OperationLabels { operation };
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if failed {
            self.errors.get_or_create(&labels).inc();
        }
    }
}

/// The registry of one server instance and handles on its metrics. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily<RequestLabels>,
    bytes_in: Family<RouteLabels, Counter>,
    bytes_out: Family<RouteLabels, Counter>,
    store: Arc<StoreMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered and all counters at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = HistogramFamily::<RequestLabels>::new_with_constructor(http_histogram);
        let bytes_in = Family::<RouteLabels, Counter>::default();
        let bytes_out = Family::<RouteLabels, Counter>::default();
        let store = StoreMetrics {
            duration: HistogramFamily::new_with_constructor(store_histogram),
            errors: Family::default(),
        };
        // Zero error series from the start, so `rate(errors)` works before the first failure.
        for operation in StoreOperation::ALL {
            drop(store.errors.get_or_create(&OperationLabels { operation }));
        }
        registry.register(
            "http_requests",
            "HTTP requests answered, by route group and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to the end of its response body",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "http_request_body",
            "Request body bytes read by the server",
            Unit::Bytes,
            bytes_in.clone(),
        );
        registry.register_with_unit(
            "http_response_body",
            "Response body bytes sent by the server",
            Unit::Bytes,
            bytes_out.clone(),
        );
        registry.register_with_unit(
            "storage_operation_duration",
            "Duration of file-store operations",
            Unit::Seconds,
            store.duration.clone(),
        );
        registry.register(
            "storage_operation_errors",
            "File-store operations that returned an error",
            store.errors.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            bytes_in,
            bytes_out,
            store: Arc::new(store),
        }
    }

    /// The storage metrics, to hand to [`FileStore::with_metrics`](crate::store::FileStore::with_metrics).
    pub fn store(&self) -> &Arc<StoreMetrics> {
        &self.store
    }

    /// Records one finished HTTP exchange.
    pub fn record_request(
        &self,
        route: RouteGroup,
        status: StatusCode,
        elapsed: Duration,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let labels = RequestLabels {
            route,
            status: StatusClass::of(status),
        };
        self.requests.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        let route = RouteLabels { route };
        self.bytes_in.get_or_create(&route).inc_by(bytes_in);
        self.bytes_out.get_or_create(&route).inc_by(bytes_out);
    }

    /// The exposition in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_table_has_a_named_group() {
        let table = crate::http::route_table();
        let mut counts = std::collections::BTreeMap::new();
        for route in table.routes() {
            let group = RouteGroup::of_pattern(route.pattern);
            assert!(
                !matches!(
                    group,
                    RouteGroup::Other | RouteGroup::Unmatched | RouteGroup::Metrics
                ),
                "{} has no group",
                route.pattern
            );
            *counts.entry(group.as_str()).or_insert(0) += 1;
        }
        let expected = [
            ("store", 6),
            ("retrieve", 15),
            ("exists", 2),
            ("update", 3),
            ("delete", 1),
            ("data_store", 9),
            ("data_retrieve", 6),
            ("data_update", 6),
            ("data_exists", 2),
            ("data_list", 2),
            ("data_delete", 4),
            ("data_batch", 2),
            ("namespace", 4),
            ("admin_storage", 10),
            ("server", 1),
            ("info", 4),
            ("auth", 1),
        ];
        assert_eq!(counts, expected.into_iter().collect());
    }

    #[test]
    fn status_classes() {
        assert_eq!(StatusClass::of(StatusCode::OK).as_str(), "2xx");
        assert_eq!(
            StatusClass::of(StatusCode::TEMPORARY_REDIRECT).as_str(),
            "3xx"
        );
        assert_eq!(StatusClass::of(StatusCode::NOT_FOUND).as_str(), "4xx");
        assert_eq!(StatusClass::of(StatusCode::BAD_GATEWAY).as_str(), "5xx");
        let odd = StatusCode::from_u16(799).unwrap();
        assert_eq!(StatusClass::of(odd).as_str(), "other");
    }

    #[test]
    fn encodes_recorded_requests_and_zero_error_series() {
        let metrics = Metrics::new();
        metrics.record_request(
            RouteGroup::DataStore,
            StatusCode::CREATED,
            Duration::from_millis(3),
            10,
            20,
        );
        metrics
            .store()
            .observe(StoreOperation::Put, Duration::from_micros(50), true);
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            "cache_service_http_requests_total{route=\"data_store\",status=\"2xx\"} 1\n"
        ));
        // 3 ms falls in the 5 ms bucket but not the 2.5 ms one.
        for (le, count) in [("0.0025", 0), ("0.005", 1), ("+Inf", 1)] {
            let line = format!(
                "cache_service_http_request_duration_seconds_bucket{{le=\"{le}\",route=\"data_store\",status=\"2xx\"}} {count}\n"
            );
            assert!(text.contains(&line), "{line} not in {text}");
        }
        assert!(
            text.contains("cache_service_http_request_body_bytes_total{route=\"data_store\"} 10\n")
        );
        assert!(
            text.contains(
                "cache_service_http_response_body_bytes_total{route=\"data_store\"} 20\n"
            )
        );
        assert!(
            text.contains("cache_service_storage_operation_errors_total{operation=\"put\"} 1\n")
        );
        assert!(
            text.contains(
                "cache_service_storage_operation_errors_total{operation=\"list_dir\"} 0\n"
            )
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
