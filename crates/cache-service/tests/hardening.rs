//! Issue 12 hardening, in process: bounded validation error bodies (W4), cookie values that
//! cannot inject attributes (W6), stores that fail midway leave nothing behind (W7).

mod common;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cache_service::AuthSettings;
use cache_service::service::CacheService;
use cache_service::store::{FileStore, StoreKind};
use common::TestApp;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

// ---------------------------------------------------------------------------------------------
// W4: a large bad body gets a small 400

#[tokio::test]
async fn a_large_bad_body_gets_a_small_400() {
    let app = TestApp::memory();
    // 8 MiB JSON array where a dict is expected: the reference echoes it whole as `input`.
    let mut big = String::from("[");
    while big.len() < 8 << 20 {
        big.push_str("12345678,");
    }
    big.push_str("0]");
    let r = app.post_json("/demo/direct/store/json", &big).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.len() < 16 << 10, "{} bytes", r.body.len());
    let issue = &r.json()["detail"][0];
    assert_eq!(issue["type"], "dict_type");
    assert_eq!(issue["loc"], serde_json::json!(["body"]));
    let input = issue["input"].as_str().unwrap();
    assert!(input.starts_with("[12345678,12345678,"), "{}", &input[..40]);
    assert!(
        input.contains("[truncated:"),
        "{}",
        &input[input.len() - 80..]
    );

    // Raw bytes where a dict is expected: the echoed Python bytes repr is bounded too (binary
    // bytes would be 4× the body as `\xNN`).
    let raw = vec![0xffu8; 8 << 20];
    let r = app
        .request(
            Method::POST,
            "/demo/direct/store/json",
            Some("application/octet-stream"),
            raw,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.len() < 16 << 10, "{} bytes", r.body.len());
    let input = r.json()["detail"][0]["input"].as_str().unwrap().to_owned();
    assert!(input.starts_with("b'\\xff\\xff"), "{}", &input[..40]);
    assert!(input.ends_with("[truncated: 8388608 bytes]"), "{input}");

    // Small inputs are echoed exactly as the reference does.
    let r = app.post_json("/demo/direct/store/json", "[1, 2]").await;
    assert_eq!(
        r.text(),
        r#"{"detail":[{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":[1,2]}]}"#
    );
    let r = app.post_text("/demo/direct/store/json", "abc").await;
    assert_eq!(r.json()["detail"][0]["input"], "b'abc'");
}

// ---------------------------------------------------------------------------------------------
// W6: cookie values cannot inject attributes

#[tokio::test]
async fn cookie_values_are_quoted_like_python_and_cannot_inject_attributes() {
    let app = TestApp::memory();
    let set = |value: &str| {
        let body = serde_json::json!({ "cookie_value": value }).to_string();
        let app = &app;
        async move { app.post_json("/auth/set-auth-cookie", &body).await }
    };
    for (value, header) in [
        (
            "abc; Domain=evil.example",
            r#"auth-cookie="abc\073 Domain=evil.example"; HttpOnly; Path=/; SameSite=strict"#,
        ),
        (
            "a,b c",
            r#"auth-cookie="a\054b c"; HttpOnly; Path=/; SameSite=strict"#,
        ),
        (
            "x\r\nSet-Cookie: y=1",
            r#"auth-cookie="x\015\012Set-Cookie: y=1"; HttpOnly; Path=/; SameSite=strict"#,
        ),
        (
            "q\"\\é",
            r#"auth-cookie="q\"\\\351"; HttpOnly; Path=/; SameSite=strict"#,
        ),
        // Python's legal characters stay unquoted.
        (
            "Ab0!#$%&'*+-.^_`|~:",
            "auth-cookie=Ab0!#$%&'*+-.^_`|~:; HttpOnly; Path=/; SameSite=strict",
        ),
    ] {
        let r = set(value).await;
        assert_eq!(r.status, StatusCode::OK, "{value:?}: {}", r.text());
        assert_eq!(r.header("set-cookie"), Some(header), "{value:?}");
        assert_eq!(r.json()["cookie_value"], value);
    }
    // Beyond Latin-1 the reference fails to encode the header (500); here it is a 400.
    let r = set("snow☃").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.header("set-cookie").is_none());

    // The quoted cookie authenticates, as Starlette unquotes cookies.
    let app = TestApp::new(cache_service::AppState::new(
        CacheService::new(FileStore::memory(), 24),
        AuthSettings::api_key("x-api-key", "k; Domain=x"),
    ));
    let r = app
        .send(
            Request::builder()
                .uri("/info/health")
                .header("cookie", r#"x-api-key="k\073 Domain=x""#)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

// ---------------------------------------------------------------------------------------------
// W7: a store that fails on its Nth write leaves no half entry

/// An in-memory object store whose Nth put (counted from `arm`) fails like a full disk.
#[derive(Debug, Default)]
struct FailingStore {
    inner: InMemory,
    puts: AtomicUsize,
    fail_at: AtomicUsize,
}

impl FailingStore {
    fn arm(&self, nth: usize) {
        self.puts.store(0, Ordering::SeqCst);
        self.fail_at.store(nth, Ordering::SeqCst);
    }

    fn puts(&self) -> usize {
        self.puts.load(Ordering::SeqCst)
    }

    async fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .inner
            .list(None)
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        paths.sort();
        paths
    }
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingStore")
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let n = self.puts.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(object_store::Error::Generic {
                store: "FailingStore",
                source: format!("No space left on device (os error 28) writing {location}").into(),
            });
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn failing_app() -> (TestApp, Arc<FailingStore>) {
    let store = Arc::new(FailingStore::default());
    let files = FileStore::from_object_store(store.clone(), StoreKind::Memory);
    (TestApp::with_store(files), store)
}

/// Every way of storing a new entry, with the body that stores it.
const STORES: &[(&str, &str, &str)] = &[
    ("/demo/direct/store/json", "application/json", r#"{"a":1}"#),
    ("/demo/direct/store/string", "text/plain", "hello"),
    (
        "/demo/direct/store/binary",
        "application/octet-stream",
        "\x01\x02",
    ),
    (
        "/demo/temporal_versioned/store/json",
        "application/json",
        r#"{"v":2}"#,
    ),
    (
        "/demo/key_based/store/json/runs/new?file_id=f",
        "application/json",
        r#"{"k":3}"#,
    ),
];

#[tokio::test]
async fn a_store_failing_on_any_write_leaves_nothing_of_the_entry() {
    for &(uri, content_type, body) in STORES {
        // How many writes a successful store makes.
        let (app, store) = failing_app();
        let ok = app
            .request(Method::POST, uri, Some(content_type), body.to_owned())
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{uri}: {}", ok.text());
        let writes = store.puts();
        assert!(writes >= 4, "{uri}: {writes} writes");

        for nth in 1..=writes {
            let (app, store) = failing_app();
            store.arm(nth);
            let r = app
                .request(Method::POST, uri, Some(content_type), body.to_owned())
                .await;
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri} #{nth}");
            assert_eq!(
                store.paths().await,
                Vec::<String>::new(),
                "{uri}: write #{nth} of {writes} failed and left files"
            );
            let ids = app.get("/demo/file-ids").await;
            assert_eq!(ids.json(), serde_json::json!([]), "{uri} #{nth}");
        }
    }
}

#[tokio::test]
async fn a_failed_store_over_an_existing_entry_keeps_the_old_one_whole() {
    let uri = "/demo/key_based/store/json/runs/one?file_id=f";
    let (app, store) = failing_app();
    let first = app.post_json(uri, r#"{"n":1}"#).await;
    assert_eq!(first.status, StatusCode::OK);
    let first = first.json();
    let id = first["cache_id"].as_str().unwrap().to_owned();
    let hash = first["cache_hash"].as_str().unwrap().to_owned();
    store.arm(0);
    let before = store.paths().await;
    let ok = app.post_json(uri, r#"{"n":2}"#).await;
    assert_eq!(ok.status, StatusCode::OK);
    let writes = store.puts();

    for nth in 1..=writes {
        let (app, store) = failing_app();
        assert_eq!(
            app.post_json(uri, r#"{"n":1}"#).await.status,
            StatusCode::OK
        );
        let paths_before: Vec<String> = store.paths().await;
        assert_eq!(paths_before.len(), before.len());
        store.arm(nth);
        let r = app.post_json(uri, r#"{"n":2}"#).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "#{nth}");
        // No new file, in particular no reference to a new id or hash.
        let after = store.paths().await;
        assert_eq!(after, paths_before, "write #{nth} of {writes}");
        let ids = app.get("/demo/file-ids").await.json();
        assert_eq!(ids.as_array().unwrap().len(), 1, "#{nth}");
    }
    // And the entry itself still answers by id and by hash.
    assert_eq!(
        app.get(&format!("/demo/retrieve/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/hash/{hash}")).await.status,
        StatusCode::OK
    );
}
