//! S3 mode against a real S3 engine: SeaweedFS in CI (`scripts/seaweedfs.sh run cluster --
//! cargo test -p cache-service --test s3`), or any S3-compatible server on 127.0.0.1.
//!
//! The engine comes from the environment `scripts/seaweedfs.sh` exports: `AWS_ENDPOINT_URL`
//! (or the older `CACHE_SERVICE_TEST_S3_ENDPOINT`), `SEAWEEDFS_S3_ENDPOINTS` (every gateway),
//! `SEAWEEDFS_BUCKET` (or `CACHE_SERVICE_TEST_S3_BUCKET`; the bucket must exist), credentials
//! in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (default `test`/`test`). Without an endpoint a
//! test skips with a printed reason, except in CI (`CI` or `PERFSTORE_REQUIRE_S3` set) where it
//! fails: CI must never pass without having talked to S3.

mod common;
mod scenarios;

use std::sync::Arc;

use axum::http::StatusCode;
use cache_service::store::FileStore;
use common::TestApp;

struct S3Env {
    /// Every gateway of the engine (one or more), first = `AWS_ENDPOINT_URL`.
    endpoints: Vec<String>,
    bucket: String,
}

fn s3_env(test: &str) -> Option<S3Env> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("CACHE_SERVICE_TEST_S3_ENDPOINT"))
        .ok()
        .filter(|e| !e.is_empty());
    let Some(endpoint) = endpoint else {
        let reason = "no S3 engine: AWS_ENDPOINT_URL is not set (run under \
                      `scripts/seaweedfs.sh run cluster -- cargo test -p cache-service --test s3`)";
        if std::env::var_os("CI").is_some() || std::env::var_os("PERFSTORE_REQUIRE_S3").is_some() {
            panic!("{test}: {reason}; CI must run the S3 tests");
        }
        eprintln!("SKIPPED {test}: {reason}");
        return None;
    };
    let mut endpoints: Vec<String> = std::env::var("SEAWEEDFS_S3_ENDPOINTS")
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    if endpoints.is_empty() {
        endpoints.push(endpoint);
    }
    let bucket = std::env::var("SEAWEEDFS_BUCKET")
        .or_else(|_| std::env::var("CACHE_SERVICE_TEST_S3_BUCKET"))
        .unwrap_or_else(|_| "test-bucket".into());
    for (key, default) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(key).is_none() {
            // SAFETY: set once per test before any store reads the environment; every test
            // sets the same values, so a concurrent reader sees either nothing or these.
            unsafe { std::env::set_var(key, default) };
        }
    }
    Some(S3Env { endpoints, bucket })
}

impl S3Env {
    /// A store talking to gateway `i` (round robin over the gateways).
    fn store(&self, i: usize) -> FileStore {
        let endpoint = &self.endpoints[i % self.endpoints.len()];
        cache_service::store::s3::with_endpoint(&self.bucket, Some(endpoint))
            .unwrap_or_else(|e| panic!("S3 store for {endpoint}: {e}"))
    }

    /// `n` server instances, each with its own store client, spread over the gateways.
    fn instances(&self, n: usize) -> Vec<Arc<TestApp>> {
        (0..n)
            .map(|i| Arc::new(TestApp::with_store(self.store(i))))
            .collect()
    }
}

/// A namespace no other test (or earlier run against the same bucket) uses.
fn unique_ns(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid_like()[..12])
}

fn uuid_like() -> String {
    format!(
        "{:032x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ (std::process::id() as u128) << 64
    )
    .chars()
    .rev()
    .collect()
}

#[tokio::test]
async fn store_and_retrieve_through_s3() {
    let Some(env) = s3_env("store_and_retrieve_through_s3") else {
        return;
    };
    let store = env.store(0);
    store.verify().await.expect("the bucket answers");
    let app = TestApp::with_store(store);
    let ns = unique_ns("s3test");
    let stored = app.store_alice(&ns).await;
    let id = stored["cache_id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.file_text(&format!("{ns}/data/key-based/users/alice/profile.json"))
            .await,
        "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}"
    );
    let r = app.get(&format!("/{ns}/retrieve/{id}/json")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::OK, r#"{"name":"Alice","age":30}"#)
    );
    let namespaces = app.get("/namespaces/list").await.json();
    assert!(
        namespaces
            .as_array()
            .expect("list")
            .contains(&ns.clone().into()),
        "{namespaces}"
    );
    assert_eq!(
        app.get("/admin/storage/bucket-name").await.json()["bucket-name"],
        env.bucket.as_str()
    );
    let r = app.delete(&format!("/{ns}/delete/{id}")).await.json();
    assert_eq!(r["status"], "success");
    assert_eq!(r["deleted_count"], 5);
}

#[tokio::test]
async fn an_entry_stored_through_one_gateway_is_served_through_the_other() {
    let Some(env) = s3_env("an_entry_stored_through_one_gateway_is_served_through_the_other")
    else {
        return;
    };
    let apps = env.instances(2);
    let ns = unique_ns("gateways");
    let id = apps[0].store_alice(&ns).await["cache_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = apps[1].get(&format!("/{ns}/retrieve/{id}/json")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::OK, r#"{"name":"Alice","age":30}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writes_are_enforced_by_the_engine() {
    use cache_service::store::{Conditional, Expected, Fetched};
    let Some(env) = s3_env("conditional_writes_are_enforced_by_the_engine") else {
        return;
    };
    let (a, b) = (env.store(0), env.store(1));
    let path = format!("{}/cas.json", unique_ns("cas"));
    let Conditional::Written(Some(tag)) = a
        .put_if(&path, "1".into(), &Expected::Absent)
        .await
        .expect("create")
    else {
        panic!("a create of a missing object writes and reports an ETag");
    };
    assert_eq!(
        b.put_if(&path, "2".into(), &Expected::Absent)
            .await
            .expect("second create"),
        Conditional::Conflict
    );
    let Fetched::Changed { e_tag, .. } = b.get_if_changed(&path, None).await.expect("read") else {
        panic!("the object reads through the other gateway");
    };
    assert_eq!(e_tag.as_deref(), Some(tag.as_str()));
    assert!(matches!(
        b.put_if(&path, "3".into(), &Expected::Tag(tag.clone()))
            .await
            .expect("update"),
        Conditional::Written(_)
    ));
    assert_eq!(
        a.put_if(&path, "4".into(), &Expected::Tag(tag))
            .await
            .expect("stale update"),
        Conditional::Conflict
    );
    assert_eq!(a.get(&path).await.expect("get").as_deref(), Some(&b"3"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_bucket_keep_every_version_of_identical_stores() {
    let Some(env) = s3_env("instances_sharing_a_bucket_keep_every_version_of_identical_stores")
    else {
        return;
    };
    let apps = env.instances(3);
    scenarios::identical_stores_keep_every_version(&apps, &unique_ns("same"), 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_bucket_lose_nothing_when_deletes_race_stores() {
    let Some(env) = s3_env("instances_sharing_a_bucket_lose_nothing_when_deletes_race_stores")
    else {
        return;
    };
    let apps = env.instances(3);
    scenarios::deletes_racing_stores_lose_nothing(&apps, &unique_ns("race"), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_bucket_leave_one_consistent_entry_for_one_key() {
    let Some(env) = s3_env("instances_sharing_a_bucket_leave_one_consistent_entry_for_one_key")
    else {
        return;
    };
    let apps = env.instances(3);
    scenarios::distinct_stores_of_one_key_leave_a_consistent_entry(&apps, &unique_ns("key")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_bucket_never_serve_children_of_an_entry_deleted_elsewhere() {
    let Some(env) =
        s3_env("instances_sharing_a_bucket_never_serve_children_of_an_entry_deleted_elsewhere")
    else {
        return;
    };
    let apps = env.instances(2);
    scenarios::children_of_an_entry_deleted_elsewhere_are_gone(&apps, &unique_ns("gone")).await;
}

#[tokio::test]
async fn binary_child_data_streams_to_s3_small_in_one_put_large_in_parts() {
    let Some(env) = s3_env("binary_child_data_streams_to_s3_small_in_one_put_large_in_parts")
    else {
        return;
    };
    let app = TestApp::with_store(env.store(0));
    let ns = unique_ns("stream");
    let id = app.store_alice(&ns).await["cache_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Under one part (one PUT), exactly one part, and over one part (multipart upload).
    for size in [10 << 10, 5 << 20, (6 << 20) + 7] {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let r = app
            .post_bytes(
                &format!("/{ns}/cache/{id}/data/store/binary/big/b{size}"),
                &body,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{size}: {}", r.text());
        let r = app
            .get(&format!("/{ns}/cache/{id}/data/binary/big/b{size}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{size}");
        assert!(
            r.body.as_ref() == body.as_slice(),
            "{size}: the bytes read back differ"
        );
    }
}
