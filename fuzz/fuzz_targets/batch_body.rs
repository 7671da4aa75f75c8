//! Arbitrary bytes as the JSON body of `POST /{ns}/cache/{id}/data/batch/store` and
//! `…/batch/retrieve` (COMPAT.md D33), through the real router in process: never a panic
//! (the router's panic catcher would turn one into a 500, and libFuzzer's panic hook aborts on
//! it anyway), never a 5xx; 4xx is the expected answer to a bad body. The same bytes are also
//! deserialized directly as `cache_wire::batch::{BatchStoreRequest, BatchRetrieveRequest}`,
//! which is what the handlers do first: a body serde refuses must not get a 2xx, and an
//! accepted request must round-trip through its own wire form.
//!
//! State: one in-memory server and one entry, created once per process, holding three
//! fixture child files (`fx/m.json`, `fx/notes`, `blob`) that the seeds read. A store that
//! succeeds is undone (`data/delete/all`, fixtures stored again) so every input sees the same
//! state and memory stays bounded over a long run.

#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bytes::Bytes;
use cache_wire::batch::{
    BatchRetrieveRequest, BatchRetrieveResponse, BatchStoreFile, BatchStoreRequest,
    BatchStoreResponse,
};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const NS: &str = "demo";

const FIXTURES: &str = r#"{"files": [
    {"data_type": "json", "data_key": "fx", "data_file_id": "m.json", "data": {"a": [1, 2.5, null]}},
    {"data_type": "string", "data_key": "fx", "data_file_id": "notes", "data": "line 1\nline 2"},
    {"data_type": "binary", "data_key": "", "data_file_id": "blob", "data_base64": "AAH/"}
]}"#;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
    base: String,
}

async fn send(router: &Router, method: Method, uri: &str, body: Bytes) -> (StatusCode, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a request we build ourselves");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes();
    (status, body)
}

impl Fixture {
    fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let router = cache_service::router(cache_service::AppState::in_memory());
            let base = runtime.block_on(async {
                let (status, body) = send(
                    &router,
                    Method::POST,
                    &format!("/{NS}/key_based/store/json/fuzz/entry"),
                    Bytes::from_static(br#"{"a": 1}"#),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body:?}");
                let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let id = stored["cache_id"].as_str().unwrap().to_owned();
                format!("/{NS}/cache/{id}/data")
            });
            let fixture = Fixture {
                runtime,
                router,
                base,
            };
            fixture.reset();
            fixture
        })
    }

    /// The entry's child data back to the three fixture files.
    fn reset(&self) {
        self.runtime.block_on(async {
            let (status, body) = send(
                &self.router,
                Method::DELETE,
                &format!("{}/delete/all", self.base),
                Bytes::new(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body:?}");
            let (status, body) = send(
                &self.router,
                Method::POST,
                &format!("{}/batch/store", self.base),
                Bytes::from_static(FIXTURES.as_bytes()),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body:?}");
        });
    }

    fn post(&self, op: &str, body: &[u8]) -> (StatusCode, Bytes) {
        let uri = format!("{}/batch/{op}", self.base);
        let (status, answer) = self.runtime.block_on(send(
            &self.router,
            Method::POST,
            &uri,
            Bytes::copy_from_slice(body),
        ));
        assert!(
            !status.is_server_error(),
            "POST {uri} answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
        (status, answer)
    }
}

/// A request serde accepts must survive its own wire form.
fn check_direct(data: &[u8]) -> (bool, bool) {
    let store = serde_json::from_slice::<BatchStoreRequest>(data);
    if let Ok(request) = &store {
        let wire = serde_json::to_string(request).expect("a request serialises");
        let back: BatchStoreRequest = serde_json::from_str(&wire).expect("its own wire form");
        assert_eq!(serde_json::to_string(&back).unwrap(), wire);
        for file in &request.files {
            if let Ok(content) = file.content() {
                let rebuilt =
                    BatchStoreFile::new(&file.data_key, &file.data_file_id, content.clone());
                let wire = serde_json::to_string(&rebuilt).unwrap();
                let back: BatchStoreFile = serde_json::from_str(&wire).unwrap();
                assert_eq!(back.content().as_ref(), Ok(&content), "{wire}");
            }
        }
    }
    let retrieve = serde_json::from_slice::<BatchRetrieveRequest>(data);
    if let Ok(request) = &retrieve {
        let wire = serde_json::to_string(request).expect("a request serialises");
        let back: BatchRetrieveRequest = serde_json::from_str(&wire).expect("its own wire form");
        assert_eq!(&back, request);
    }
    (store.is_ok(), retrieve.is_ok())
}

fuzz_target!(|data: &[u8]| {
    let fixture = Fixture::get();
    let (store_ok, retrieve_ok) = check_direct(data);

    let (status, body) = fixture.post("store", data);
    if status.is_success() {
        assert!(store_ok, "a body serde refuses was stored: {status}");
        let response: BatchStoreResponse =
            serde_json::from_slice(&body).expect("a batch store response");
        let request: BatchStoreRequest = serde_json::from_slice(data).unwrap();
        assert_eq!(response.files.len(), request.files.len());
        fixture.reset();
    }

    let (status, body) = fixture.post("retrieve", data);
    if status.is_success() {
        assert!(retrieve_ok, "a body serde refuses was answered: {status}");
        let response: BatchRetrieveResponse =
            serde_json::from_slice(&body).expect("a batch retrieve response");
        let request: BatchRetrieveRequest = serde_json::from_slice(data).unwrap();
        assert_eq!(response.files.len(), request.files.len());
        for file in &response.files {
            // What the server sends back is always readable by the client.
            assert!(file.content().is_ok(), "{file:?}");
        }
    }
});
