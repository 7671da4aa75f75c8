//! Drives the router in process (`tower::ServiceExt::oneshot`), as axum's testing example does.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use cache_service::{AppState, AuthSettings, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A router plus its state, so tests can look at the stored files.
pub struct TestApp {
    pub state: AppState,
    router: Router,
}

/// A collected response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

impl TestApp {
    pub fn new(state: AppState) -> Self {
        let router = router(state.clone());
        TestApp { state, router }
    }

    pub fn memory() -> Self {
        TestApp::new(AppState::in_memory())
    }

    pub fn with_store(store: FileStore) -> Self {
        TestApp::new(AppState::new(
            CacheService::new(store, 24),
            AuthSettings::disabled(),
        ))
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        self.send(builder.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri, None, Body::empty()).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.request(Method::DELETE, uri, None, Body::empty()).await
    }

    pub async fn post_json(&self, uri: &str, body: &str) -> TestResponse {
        self.request(Method::POST, uri, Some("application/json"), body.to_owned())
            .await
    }

    pub async fn post_text(&self, uri: &str, body: &str) -> TestResponse {
        self.request(Method::POST, uri, Some("text/plain"), body.to_owned())
            .await
    }

    pub async fn post_bytes(&self, uri: &str, body: &[u8]) -> TestResponse {
        self.request(
            Method::POST,
            uri,
            Some("application/octet-stream"),
            body.to_vec(),
        )
        .await
    }

    /// A stored file's bytes, read straight from the store.
    pub async fn file(&self, path: &str) -> Option<Bytes> {
        self.state.service.store().get(path).await.unwrap()
    }

    /// A stored file as text.
    pub async fn file_text(&self, path: &str) -> String {
        let bytes = self
            .file(path)
            .await
            .unwrap_or_else(|| panic!("no file {path}"));
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Every stored path.
    pub async fn files(&self) -> Vec<String> {
        self.state.service.store().list_paths("").await.unwrap()
    }

    /// Stores `{"name":"Alice","age":30}` at `users/alice` with file id `profile` (spec §8).
    pub async fn store_alice(&self, namespace: &str) -> Value {
        let r = self
            .post_json(
                &format!("/{namespace}/key_based/store/json/users/alice?file_id=profile"),
                r#"{"name":"Alice","age":30}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }
}

/// Asserts `value` is a lowercase hyphenated uuid4.
pub fn assert_uuid4(value: &str) {
    let parsed = uuid::Uuid::parse_str(value).unwrap_or_else(|_| panic!("not a uuid: {value}"));
    assert_eq!(parsed.get_version_num(), 4, "{value}");
    assert_eq!(parsed.to_string(), value);
}

/// `{"detail":[...]}` of a 400 validation error.
pub fn issues(r: &TestResponse) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    r.json()["detail"].as_array().cloned().unwrap_or_default()
}
