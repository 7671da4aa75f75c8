//! S3 mode against an S3-compatible server. Needs one on 127.0.0.1 with an existing bucket:
//! `CACHE_SERVICE_TEST_S3_ENDPOINT=http://127.0.0.1:15000 CACHE_SERVICE_TEST_S3_BUCKET=test-bucket
//! cargo test -p cache-service --test s3 -- --ignored` (e.g. with `moto_server -p 15000`).

mod common;

use axum::http::StatusCode;
use cache_service::store::FileStore;
use common::TestApp;

fn s3_store() -> FileStore {
    let endpoint = std::env::var("CACHE_SERVICE_TEST_S3_ENDPOINT")
        .expect("set CACHE_SERVICE_TEST_S3_ENDPOINT to an S3-compatible server on 127.0.0.1");
    let bucket =
        std::env::var("CACHE_SERVICE_TEST_S3_BUCKET").unwrap_or_else(|_| "test-bucket".into());
    // SAFETY: this test binary is single-purpose; the variables are set before any thread
    // reads the environment.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", endpoint);
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    cache_service::store::s3::from_env(&bucket).unwrap()
}

#[tokio::test]
#[ignore = "needs an S3-compatible server on 127.0.0.1 (see the module docs)"]
async fn store_and_retrieve_through_s3() {
    let store = s3_store();
    store.verify().await.unwrap();
    let app = TestApp::with_store(store);
    let stored = app.store_alice("s3test").await;
    let id = stored["cache_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.file_text("s3test/data/key-based/users/alice/profile.json")
            .await,
        "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}"
    );
    let r = app.get(&format!("/s3test/retrieve/{id}/json")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::OK, r#"{"name":"Alice","age":30}"#)
    );
    assert!(
        app.get("/namespaces/list")
            .await
            .json()
            .as_array()
            .unwrap()
            .contains(&"s3test".into())
    );
    assert_eq!(
        app.get("/admin/storage/bucket-name").await.json()["bucket-name"],
        "test-bucket"
    );
    let r = app.delete(&format!("/s3test/delete/{id}")).await.json();
    assert_eq!(r["status"], "success");
    assert_eq!(r["deleted_count"], 5);
}
