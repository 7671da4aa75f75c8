//! The batch child-data extension (COMPAT.md D33): a batch store writes the very files the
//! single routes write, a batch retrieve reads what the single routes read, large files and
//! files past the response budget are deferred, and a bad file fails the whole request before
//! anything is written. On memory and on disk.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cache_service::store::FileStore;
use cache_wire::batch::MAX_BATCH_FILES;
use common::{TestApp, issues};
use serde_json::{Value, json};

async fn entry(app: &TestApp) -> String {
    let stored = app
        .post_json("/demo/key_based/store/json/runs/one", r#"{"a":1}"#)
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    stored.json()["cache_id"].as_str().unwrap().to_owned()
}

fn apps() -> Vec<(TestApp, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let disk = FileStore::local_disk(dir.path()).unwrap();
    vec![
        (TestApp::memory(), None),
        (TestApp::with_store(disk), Some(dir)),
    ]
}

/// Every file but the entry's own (its content, config and metadata), with its bytes.
async fn data_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for path in app.files().await {
        // Child files live in the entry's `data/` folder, inside the namespace's `data/`.
        if path.matches("/data/").count() >= 2 {
            let bytes = app.file(&path).await.unwrap().to_vec();
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_batch_store_writes_what_single_stores_write() {
    for (app, _dir) in apps() {
        let id = entry(&app).await;
        let p = format!("/demo/cache/{id}/data");
        // The same three files, once through the single routes...
        let single = [
            app.post_json(
                &format!("{p}/store/json/res/x/m.json"),
                r#"{"b": [1, 2.5], "a": "é"}"#,
            )
            .await,
            app.post_json(
                &format!("{p}/store/string/res/notes"),
                r#""line 1\nline 2""#,
            )
            .await,
            app.post_bytes(&format!("{p}/store/binary/blob"), &[0, 1, 255])
                .await,
        ];
        for r in &single {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
        let by_single = data_files(&app).await;
        assert_eq!(by_single.len(), 3, "{by_single:?}");
        let deleted = app.delete(&format!("{p}/delete/all")).await;
        assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
        assert!(data_files(&app).await.is_empty());

        // ...and once in one batch.
        let body = json!({"files": [
            {"data_type": "json", "data_key": "res/x", "data_file_id": "m.json",
             "data": {"b": [1, 2.5], "a": "é"}},
            {"data_type": "string", "data_key": "res", "data_file_id": "notes",
             "data": "line 1\nline 2"},
            {"data_type": "binary", "data_file_id": "blob", "data_base64": STANDARD.encode([0, 1, 255])},
        ]});
        let stored = app
            .post_json(&format!("{p}/batch/store"), &body.to_string())
            .await;
        assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
        let answer = stored.json();
        assert_eq!(answer["cache_id"], json!(id));
        let files = answer["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        // The id is sanitised as the single route does, and the answer is the single route's.
        assert_eq!(files[0]["file_id"], json!("m_json"));
        for (batch, single) in files.iter().zip(&single) {
            let single = single.json();
            for field in [
                "data_files_created",
                "data_key",
                "data_type",
                "extension",
                "file_id",
            ] {
                assert_eq!(batch[field], single[field], "{field}");
            }
            assert_eq!(batch["file_size"], single["file_size"]);
        }
        assert_eq!(data_files(&app).await, by_single);
    }
}

#[tokio::test]
async fn a_batch_retrieve_reads_what_single_retrieves_read() {
    for (app, _dir) in apps() {
        let id = entry(&app).await;
        let p = format!("/demo/cache/{id}/data");
        app.post_json(
            &format!("{p}/store/json/res/m"),
            r#"{"z": 1, "a": {"n": null}}"#,
        )
        .await;
        app.post_json(&format!("{p}/store/string/t"), r#""text""#)
            .await;
        app.post_bytes(&format!("{p}/store/binary/res/b"), b"\x00bytes\xff")
            .await;
        let big = vec![7u8; (4 << 20) + 1];
        app.post_bytes(&format!("{p}/store/binary/huge"), &big)
            .await;

        let body = json!({"files": [
            {"data_type": "json", "data_key": "res", "data_file_id": "m"},
            {"data_type": "string", "data_file_id": "t"},
            {"data_type": "binary", "data_key": "res", "data_file_id": "b"},
            {"data_type": "json", "data_file_id": "absent"},
            {"data_type": "string", "data_key": "res", "data_file_id": "m"},
            {"data_type": "binary", "data_file_id": "huge"},
        ]});
        let read = app
            .post_json(&format!("{p}/batch/retrieve"), &body.to_string())
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        let files = read.json()["files"].as_array().unwrap().clone();
        let statuses: Vec<&str> = files
            .iter()
            .map(|f| f["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["found", "found", "found", "missing", "missing", "deferred"]
        );
        let single_json = app.get(&format!("{p}/json/res/m")).await.json();
        assert_eq!(files[0]["data"], single_json);
        assert_eq!(files[1]["data"], json!("text"));
        assert_eq!(
            files[2]["data_base64"],
            json!(STANDARD.encode(b"\x00bytes\xff"))
        );
        assert_eq!(files[3].get("data"), None);
        // A deferred file is still there for the single route.
        let huge = app.get(&format!("{p}/binary/huge")).await;
        assert_eq!(huge.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_batch_read_stops_inlining_at_its_budget() {
    let app = TestApp::memory();
    let id = entry(&app).await;
    let p = format!("/demo/cache/{id}/data");
    let chunk = vec![1u8; 3 << 20];
    let mut refs = Vec::new();
    for i in 0..14 {
        let stored = app
            .post_bytes(&format!("{p}/store/binary/f{i}"), &chunk)
            .await;
        assert_eq!(stored.status, StatusCode::OK);
        refs.push(json!({"data_type": "binary", "data_file_id": format!("f{i}")}));
    }
    let read = app
        .post_json(
            &format!("{p}/batch/retrieve"),
            &json!({ "files": refs }).to_string(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let files = read.json()["files"].as_array().unwrap().clone();
    let found = files.iter().take_while(|f| f["status"] == "found").count();
    // 11 files of 3 MiB reach the 32 MiB budget; the rest are deferred, none is dropped.
    assert_eq!(found, 11);
    assert!(files[found..].iter().all(|f| f["status"] == "deferred"));
    assert_eq!(files.len(), 14);
}

#[tokio::test]
async fn a_bad_file_fails_the_batch_before_anything_is_written() {
    let app = TestApp::memory();
    let id = entry(&app).await;
    let p = format!("/demo/cache/{id}/data");
    let good = json!({"data_type": "json", "data_file_id": "ok", "data": {"a": 1}});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"data_type": "xml", "data_file_id": "f", "data": {}}),
            "data_type",
        ),
        (
            json!({"data_type": "type-safe", "data_file_id": "f", "data": {}}),
            "data_type",
        ),
        (
            json!({"data_type": "json", "data_file_id": "", "data": {}}),
            "data_file_id",
        ),
        (
            json!({"data_type": "json", "data_file_id": "f", "data": [1]}),
            "data",
        ),
        (json!({"data_type": "json", "data_file_id": "f"}), "data"),
        (
            json!({"data_type": "string", "data_file_id": "f", "data": ""}),
            "data",
        ),
        (
            json!({"data_type": "string", "data_file_id": "f", "data": 3}),
            "data",
        ),
        (
            json!({"data_type": "binary", "data_file_id": "f", "data_base64": "@@"}),
            "data_base64",
        ),
        (
            json!({"data_type": "binary", "data_file_id": "f", "data_base64": ""}),
            "data_base64",
        ),
        (
            json!({"data_type": "json", "data_key": "___", "data_file_id": "f", "data": {}}),
            "data_key",
        ),
    ];
    for (bad, field) in cases {
        let body = json!({"files": [good, bad]});
        let r = app
            .post_json(&format!("{p}/batch/store"), &body.to_string())
            .await;
        let found = issues(&r);
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert_eq!(found[0]["loc"], json!(["body", "files", 1, field]), "{bad}");
        assert!(data_files(&app).await.is_empty(), "{bad} wrote a file");
    }
    let too_many: Vec<Value> = (0..=MAX_BATCH_FILES)
        .map(|i| json!({"data_type": "json", "data_file_id": format!("f{i}")}))
        .collect();
    let r = app
        .post_json(
            &format!("{p}/batch/retrieve"),
            &json!({ "files": too_many }).to_string(),
        )
        .await;
    assert_eq!(issues(&r)[0]["loc"], json!(["body", "files"]));
    let r = app
        .post_json(&format!("{p}/batch/store"), r#"{"files": 3}"#)
        .await;
    assert!(
        issues(&r)[0]["msg"]
            .as_str()
            .unwrap()
            .contains("invalid batch body")
    );
}

#[tokio::test]
async fn an_unknown_entry_is_a_404_that_names_it() {
    let app = TestApp::memory();
    let id = uuid::Uuid::new_v4();
    let body = json!({"files": [{"data_type": "json", "data_file_id": "f", "data": {}}]});
    for op in ["store", "retrieve"] {
        let r = app
            .post_json(
                &format!("/demo/cache/{id}/data/batch/{op}"),
                &body.to_string(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{op}");
        assert_eq!(r.json()["detail"]["error_type"], json!("NOT_FOUND"), "{op}");
        assert_eq!(r.json()["detail"]["cache_id"], json!(id.to_string()));
    }
    assert!(app.files().await.is_empty());
}
