//! Streamed binary child data: written as it arrives and read back as a stream, with a
//! separate size limit; a body that fails or passes the limit stores nothing and leaves the
//! previous file intact (on memory and on disk).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use cache_service::AppState;
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use common::TestApp;

/// An entry to hang child data on; returns its id.
async fn entry(app: &TestApp) -> String {
    let stored = app
        .post_json(
            "/demo/key_based/store/json/runs/one?file_id=entry",
            r#"{"a":1}"#,
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    stored.json()["cache_id"].as_str().unwrap().to_owned()
}

/// A streamed request body (no content-length) of `chunks`, then an error if `fail`.
fn streamed(uri: &str, chunks: Vec<Vec<u8>>, fail: bool) -> Request<Body> {
    let mut items: Vec<Result<Bytes, std::io::Error>> =
        chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
    if fail {
        items.push(Err(std::io::Error::other("client went away")));
    }
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(futures::stream::iter(items)))
        .unwrap()
}

fn apps() -> Vec<(TestApp, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let disk = FileStore::local_disk(dir.path()).unwrap();
    let limited = |store| {
        TestApp::new(
            AppState::new(
                CacheService::new(store, 24),
                cache_service::AuthSettings::disabled(),
            )
            .with_max_stream_bytes(12 << 20),
        )
    };
    vec![
        (limited(FileStore::memory()), None),
        (limited(disk), Some(dir)),
    ]
}

#[tokio::test]
async fn large_streamed_bodies_round_trip_and_failures_keep_the_previous_file() {
    for (app, _dir) in apps() {
        let id = entry(&app).await;
        let uri = format!("/demo/cache/{id}/data/store/binary/reports/big");
        let get = format!("/demo/cache/{id}/data/binary/reports/big");

        // 9 MiB in 64 KiB chunks: more than one multipart part.
        let chunks: Vec<Vec<u8>> = (0..144u32)
            .map(|i| vec![(i % 251) as u8; 64 << 10])
            .collect();
        let whole: Vec<u8> = chunks.concat();
        let stored = app.send(streamed(&uri, chunks.clone(), false)).await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
        assert_eq!(stored.json()["file_size"], whole.len() as u64);
        let back = app.get(&get).await;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(
            back.header("content-length"),
            Some(whole.len().to_string().as_str())
        );
        assert_eq!(back.content_type(), Some("application/octet-stream"));
        assert!(back.body == whole, "the bytes read back are the bytes sent");

        // A client that dies midway: nothing replaces the stored file.
        let broken = app
            .send(streamed(&uri, vec![vec![7u8; 6 << 20]], true))
            .await;
        assert_eq!(broken.status, StatusCode::BAD_REQUEST);
        // Over the limit (12 MiB), with no content-length to refuse it up front: 413.
        let huge: Vec<Vec<u8>> = (0..13).map(|_| vec![9u8; 1 << 20]).collect();
        let refused = app.send(streamed(&uri, huge, false)).await;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        // A declared length over the limit is refused before reading.
        let declared = app
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(&uri)
                    .header("content-type", "application/octet-stream")
                    .header("content-length", (13u64 << 20).to_string())
                    .body(Body::from(vec![1u8; 10]))
                    .unwrap(),
            )
            .await;
        assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
        let still = app.get(&get).await;
        assert!(still.body == whole, "the previous file is intact");
        let listed = app.get(&format!("/demo/cache/{id}/data/list")).await.json();
        assert_eq!(
            listed["file_count"], 1,
            "no partial file is listed: {listed}"
        );

        // Empty bodies and JSON-typed bodies keep the buffered path's answers.
        let empty = app.send(streamed(&uri, vec![], false)).await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text());
        assert_eq!(empty.json()["detail"][0]["type"], "missing");
        let missing = app
            .send(streamed(
                "/demo/cache/00000000-0000-4000-8000-000000000000/data/store/binary/x",
                vec![b"abc".to_vec()],
                false,
            ))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text());
    }
}
