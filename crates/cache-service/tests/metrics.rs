//! `GET /metrics`: Prometheus metrics per route group and storage operation (COMPAT.md D31).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use cache_service::metrics::{Metrics, RouteGroup, StoreOperation};
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use cache_service::{AppState, AuthSettings};
use common::TestApp;
use regex::Regex;

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Parses the OpenMetrics text format strictly: every line is a `# HELP|TYPE|UNIT` line, the
    /// final `# EOF`, or a sample `name{label="value",…} value`, and every sample belongs to a
    /// family announced by a `# TYPE` line.
    fn parse(text: &str) -> Exposition {
        let sample_re = Regex::new(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$").unwrap();
        let label_re =
            Regex::new(r#"^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)"#).unwrap();
        assert!(text.ends_with("# EOF\n"), "no EOF marker: {text}");
        let mut types = BTreeMap::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect(line);
                assert!(["counter", "histogram", "gauge"].contains(&kind), "{line}");
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with("# HELP ") || line.starts_with("# UNIT ") || line == "# EOF" {
                continue;
            }
            let caps = sample_re
                .captures(line)
                .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
            let mut labels = BTreeMap::new();
            let mut rest = caps.get(2).map_or("", |m| m.as_str());
            while !rest.is_empty() {
                let label = label_re
                    .captures(rest)
                    .unwrap_or_else(|| panic!("bad labels in {line:?}"));
                labels.insert(label[1].to_owned(), label[2].to_owned());
                rest = &rest[label[0].len()..];
            }
            let value: f64 = caps[3]
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            samples.push(Sample {
                name: caps[1].to_owned(),
                labels,
                value,
            });
        }
        for sample in &samples {
            let family = ["_total", "_bucket", "_sum", "_count", "_created"]
                .iter()
                .find_map(|suffix| sample.name.strip_suffix(suffix))
                .unwrap_or(&sample.name);
            assert!(types.contains_key(family), "no # TYPE for {}", sample.name);
        }
        Exposition { types, samples }
    }

    /// The value of the sample named `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Every value the label `label` takes.
    fn label_values(&self, label: &str) -> BTreeSet<String> {
        self.samples
            .iter()
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }

    fn requests(&self, route: &str, status: &str) -> f64 {
        self.value(
            "cache_service_http_requests_total",
            &[("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    }

    fn bytes_in(&self, route: &str) -> f64 {
        self.value(
            "cache_service_http_request_body_bytes_total",
            &[("route", route)],
        )
        .unwrap_or(0.0)
    }

    fn bytes_out(&self, route: &str) -> f64 {
        self.value(
            "cache_service_http_response_body_bytes_total",
            &[("route", route)],
        )
        .unwrap_or(0.0)
    }

    fn storage_count(&self, operation: &str) -> f64 {
        self.value(
            "cache_service_storage_operation_duration_seconds_count",
            &[("operation", operation)],
        )
        .unwrap_or(0.0)
    }

    fn storage_errors(&self, operation: &str) -> f64 {
        self.value(
            "cache_service_storage_operation_errors_total",
            &[("operation", operation)],
        )
        .unwrap_or_else(|| panic!("no error series for {operation}"))
    }
}

async fn scrape(app: &TestApp) -> Exposition {
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.content_type(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    Exposition::parse(&r.text())
}

#[tokio::test]
async fn store_and_retrieve_are_counted_per_route_group() {
    let app = TestApp::memory();
    let body = vec![7u8; 3000];
    let stored = app.post_bytes("/demo/temporal/store/binary", &body).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    let hash = stored.json()["cache_hash"].as_str().unwrap().to_owned();
    let retrieved = app.get(&format!("/demo/retrieve/hash/{hash}/binary")).await;
    assert_eq!(retrieved.status, StatusCode::OK);
    assert_eq!(retrieved.body.len(), body.len());

    let m = scrape(&app).await;
    for (family, kind) in [
        ("cache_service_http_requests", "counter"),
        ("cache_service_http_request_duration_seconds", "histogram"),
        ("cache_service_http_request_body_bytes", "counter"),
        ("cache_service_http_response_body_bytes", "counter"),
        (
            "cache_service_storage_operation_duration_seconds",
            "histogram",
        ),
        ("cache_service_storage_operation_errors", "counter"),
    ] {
        assert_eq!(
            m.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(m.requests("store", "2xx"), 1.0);
    assert_eq!(m.requests("retrieve", "2xx"), 1.0);
    for route in ["store", "retrieve"] {
        let labels = [("route", route), ("status", "2xx")];
        let count = m.value("cache_service_http_request_duration_seconds_count", &labels);
        assert_eq!(count, Some(1.0), "{route}");
        let mut inf = labels.to_vec();
        inf.push(("le", "+Inf"));
        let all = m.value("cache_service_http_request_duration_seconds_bucket", &inf);
        assert_eq!(all, Some(1.0), "{route}");
        let buckets = m
            .samples
            .iter()
            .filter(|s| {
                s.name == "cache_service_http_request_duration_seconds_bucket"
                    && s.labels.get("route").map(String::as_str) == Some(route)
            })
            .count();
        assert_eq!(buckets, 16, "15 bounds and +Inf for {route}");
    }
    // The bytes actually transferred, exactly: the bodies were sent and read in full.
    assert_eq!(m.bytes_in("store"), body.len() as f64);
    assert_eq!(m.bytes_out("store"), stored.body.len() as f64);
    assert_eq!(m.bytes_in("retrieve"), 0.0);
    assert_eq!(m.bytes_out("retrieve"), retrieved.body.len() as f64);
    assert!(m.storage_count("put") >= 1.0);
    assert!(m.storage_count("get") >= 1.0);
    assert_eq!(m.storage_errors("put"), 0.0);
    assert_eq!(m.storage_errors("get"), 0.0);
    let total = |name: &str| {
        m.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert!(total("cache_service_storage_operation_duration_seconds_sum") > 0.0);

    // The scrape itself shows up in the next one.
    let again = scrape(&app).await;
    assert_eq!(again.requests("metrics", "2xx"), 1.0);
    assert!(again.bytes_out("metrics") > 0.0);
}

#[tokio::test]
async fn streamed_request_bodies_are_counted_without_content_length() {
    let app = TestApp::memory();
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..5)
        .map(|i| Ok(Bytes::from(vec![b'a' + i; 1000])))
        .collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/demo/temporal/store/binary")
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["size"], 5000);
    let m = scrape(&app).await;
    assert_eq!(m.bytes_in("store"), 5000.0);
}

#[tokio::test]
async fn unmatched_requests_are_one_group_never_a_path_label() {
    let app = TestApp::memory();
    let r = app.get("/no-such-thing/zz-unique-path-42").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/another/unknown/zz-unique-path-43/x/y/z").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/demo/temporal/store/json").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = app.get("/info/health/").await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);

    let r = app.get("/metrics").await;
    let text = r.text();
    assert!(!text.contains("zz-unique-path"), "{text}");
    let m = Exposition::parse(&text);
    assert_eq!(m.requests("unmatched", "4xx"), 3.0);
    assert_eq!(m.requests("unmatched", "3xx"), 1.0);
    assert_eq!(m.requests("store", "4xx"), 0.0);
    assert_eq!(m.requests("info", "3xx"), 0.0);
    let allowed: BTreeSet<String> = RouteGroup::ALL
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    assert!(m.label_values("route").is_subset(&allowed));
    assert_eq!(
        m.label_values("status"),
        ["3xx", "4xx"].map(str::to_owned).into()
    );
}

#[tokio::test]
async fn client_errors_count_under_their_route() {
    let app = TestApp::memory();
    // An invalid JSON body: a 400 of the store route, before any storage operation.
    let r = app
        .post_json("/demo/temporal/store/json", "{not json")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A missing entry: 404 of the retrieve route, a successful (empty) storage read of the end
    // of the by-hash reference.
    let r = app.get("/demo/retrieve/hash/0123456789abcdef").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let m = scrape(&app).await;
    assert_eq!(m.requests("store", "4xx"), 1.0);
    assert_eq!(m.requests("store", "2xx"), 0.0);
    assert_eq!(m.bytes_in("store"), "{not json".len() as f64);
    assert_eq!(m.requests("retrieve", "4xx"), 1.0);
    assert_eq!(m.storage_count("put"), 0.0);
    assert_eq!(m.storage_count("get_range"), 1.0);
    for operation in StoreOperation::ALL {
        assert_eq!(m.storage_errors(operation.as_str()), 0.0, "{operation:?}");
    }
}

#[tokio::test]
async fn storage_failures_count_as_errors_and_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let app = TestApp::with_store(FileStore::local_disk(&root).unwrap());
    // The storage root becomes a plain file: every read and write below it fails.
    std::fs::remove_dir(&root).unwrap();
    std::fs::write(&root, b"not a folder").unwrap();
    let r = app
        .post_json("/demo/temporal/store/json", r#"{"a":1}"#)
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
    let m = scrape(&app).await;
    assert_eq!(m.requests("store", "5xx"), 1.0);
    let mut failed = 0.0;
    for operation in StoreOperation::ALL {
        let errors = m.storage_errors(operation.as_str());
        // A failed operation is timed as well as counted.
        assert!(
            m.storage_count(operation.as_str()) >= errors,
            "{operation:?}"
        );
        failed += errors;
    }
    assert!(failed >= 1.0, "no storage error counted");
}

#[tokio::test]
async fn file_store_records_operations_and_only_real_errors() {
    let metrics = Metrics::new();
    let store = FileStore::memory().with_metrics(Arc::clone(metrics.store()));
    store
        .put("a/b.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(store.put("a//b", Bytes::new()).await.is_err());
    assert_eq!(store.get("a/missing").await.unwrap(), None);
    assert!(store.exists("a/b.json").await.unwrap());
    assert_eq!(store.list_files("a").await.unwrap().len(), 1);
    let m = Exposition::parse(&metrics.encode().unwrap());
    assert_eq!(m.storage_count("put"), 2.0);
    assert_eq!(m.storage_errors("put"), 1.0);
    assert_eq!(m.storage_count("get"), 1.0);
    assert_eq!(
        m.storage_errors("get"),
        0.0,
        "a missing file is not an error"
    );
    assert_eq!(m.storage_count("exists"), 1.0);
    assert_eq!(m.storage_count("list_files"), 1.0);
    assert_eq!(m.storage_count("delete"), 0.0);
    // A backend failure (the disk root replaced by a file) is an error of that operation.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let disk = FileStore::local_disk(&root)
        .unwrap()
        .with_metrics(Arc::clone(metrics.store()));
    std::fs::remove_dir(&root).unwrap();
    std::fs::write(&root, b"not a folder").unwrap();
    assert!(
        disk.put("a/c.json", Bytes::from_static(b"{}"))
            .await
            .is_err()
    );
    let m = Exposition::parse(&metrics.encode().unwrap());
    assert_eq!(m.storage_count("put"), 3.0);
    assert_eq!(m.storage_errors("put"), 2.0);
    // A store without metrics still works and records nowhere.
    let plain = FileStore::memory();
    plain.put("x", Bytes::new()).await.unwrap();
    let m = Exposition::parse(&metrics.encode().unwrap());
    assert_eq!(m.storage_count("put"), 3.0);
}

#[tokio::test]
async fn each_server_instance_has_its_own_registry() {
    let store = FileStore::memory();
    let first = TestApp::with_store(store.clone());
    let second = TestApp::with_store(store);
    first.store_alice("demo").await;
    let m = scrape(&second).await;
    assert_eq!(m.requests("store", "2xx"), 0.0);
    assert_eq!(m.storage_count("put"), 0.0);
    let m = scrape(&first).await;
    assert_eq!(m.requests("store", "2xx"), 1.0);
    assert!(m.storage_count("put") >= 1.0);
}

#[tokio::test]
async fn metrics_needs_the_api_key_when_auth_is_on() {
    let app = TestApp::new(AppState::new(
        CacheService::new(FileStore::memory(), 24),
        AuthSettings::api_key("x-api-key", "secret"),
    ));
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = app
        .send(
            Request::builder()
                .uri("/metrics")
                .header("x-api-key", "secret")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let m = Exposition::parse(&r.text());
    // The refused scrape, classified by its path although auth answered before routing.
    assert_eq!(m.requests("metrics", "4xx"), 1.0);
}

#[tokio::test]
async fn only_get_is_allowed_and_only_the_exact_path() {
    let app = TestApp::memory();
    let r = app
        .request(Method::POST, "/metrics", None, Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.json()["detail"], "Method Not Allowed");
    let r = app.get("/metrics/").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A namespace called `metrics` is still a namespace.
    let r = app.get("/metrics/retrieve/hash/0123456789abcdef").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_ne!(r.json()["detail"], "Not Found", "{}", r.text());
    let m = scrape(&app).await;
    assert_eq!(m.requests("metrics", "4xx"), 1.0);
    assert_eq!(m.requests("unmatched", "4xx"), 1.0);
    assert_eq!(m.requests("retrieve", "4xx"), 1.0);
}
