//! Store, retrieve, exists, update and delete of whole entries, with the exact file formats of
//! the reference (spec §4, §5.1–§5.6, §8, §9).

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_uuid4};
use serde_json::{Value, json};

const ALICE_HASH: &str = "58954ab6bb1eca61";

#[tokio::test]
async fn spec_example_exchange_end_to_end() {
    let app = TestApp::memory();
    let stored = app.store_alice("demo").await;
    let id = stored["cache_id"].as_str().unwrap().to_owned();
    assert_uuid4(&id);
    let shard = format!("{}/{}", &id[0..2], &id[2..4]);
    assert_eq!(
        stored,
        json!({
            "cache_id": id,
            "cache_hash": ALICE_HASH,
            "namespace": "demo",
            "paths": {
                "data": [
                    "demo/data/key-based/users/alice/profile.json",
                    "demo/data/key-based/users/alice/profile.json.config",
                    "demo/data/key-based/users/alice/profile.json.metadata"
                ],
                "by_hash": ["demo/refs/by-hash/58/95/58954ab6bb1eca61.json"],
                "by_id": [format!("demo/refs/by-id/{shard}/{id}.json")]
            },
            "size": 34
        })
    );

    let r = app
        .get(&format!("/demo/retrieve/hash/{ALICE_HASH}/json"))
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::OK, r#"{"name":"Alice","age":30}"#)
    );
    let r = app.get(&format!("/demo/retrieve/{id}/json")).await;
    assert_eq!(r.text(), r#"{"name":"Alice","age":30}"#);

    let r = app
        .post_json(
            &format!("/demo/cache/{id}/data/store/json/analysis/summary"),
            r#"{"score":0.9}"#,
        )
        .await;
    let body = r.json();
    assert_eq!(
        body["data_files_created"],
        json!(["demo/data/key-based/users/alice/profile/data/analysis/summary.json"])
    );
    assert_eq!(body["data_key"], "analysis");
    assert_eq!(body["file_id"], "summary");
    assert_eq!(body["file_size"], 20);
    assert_eq!(body["extension"], "json");
    assert_eq!(
        app.get(&format!("/demo/cache/{id}/data/json/analysis/summary"))
            .await
            .text(),
        r#"{"score":0.9}"#
    );

    let r = app
        .post_json(
            &format!("/demo/cache/{id}/data/store/string/notes"),
            r#""hello world""#,
        )
        .await;
    assert_eq!(r.json()["file_size"], 11);
    assert_eq!(
        r.json()["data_files_created"],
        json!(["demo/data/key-based/users/alice/profile/data/notes.txt"])
    );
    let r = app
        .get(&format!("/demo/cache/{id}/data/string/notes"))
        .await;
    assert_eq!(r.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "hello world");

    let r = app
        .delete(&format!("/demo/cache/{id}/data/delete/string/notes"))
        .await;
    assert_eq!(
        r.json(),
        json!({"status":"success","message":"Data file deleted successfully","cache_id":id,
               "data_file_id":"notes","data_type":"string","data_key":null,"namespace":"demo"})
    );
    let r = app.delete(&format!("/demo/delete/{id}")).await;
    let body = r.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["deleted_count"], 5);
    assert_eq!(body["failed_count"], 0);
    let r = app.delete(&format!("/demo/delete/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"status":"not_found","message":format!("Cache ID {id} not found")})
    );
    // Delete leaves child data behind (spec §10).
    assert!(
        app.file("demo/data/key-based/users/alice/profile/data/analysis/summary.json")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn stored_files_are_byte_compatible_with_the_reference() {
    let app = TestApp::memory();
    let stored = app.store_alice("demo").await;
    let id = stored["cache_id"].as_str().unwrap();
    assert_eq!(
        app.file_text("demo/data/key-based/users/alice/profile.json")
            .await,
        "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}"
    );
    assert_eq!(
        app.file_text("demo/data/key-based/users/alice/profile.json.config")
            .await,
        "{\n    \"exists_strategy\": \"first\",\n    \"file_id\": \"profile\",\n    \"file_key\": \"users/alice\",\n    \"file_paths\": [\n        \"demo/data/key-based/users/alice\"\n    ],\n    \"file_type\": {\n        \"name\": \"json\",\n        \"content_type\": \"application/json; charset=utf-8\",\n        \"file_extension\": \"json\",\n        \"encoding\": \"utf-8\",\n        \"serialization\": \"json\"\n    }\n}"
    );
    let metadata = app
        .file_text("demo/data/key-based/users/alice/profile.json.metadata")
        .await;
    let parsed: Value = serde_json::from_str(&metadata).unwrap();
    let stored_at = parsed["data"]["stored_at"].as_i64().unwrap();
    let created = parsed["timestamp"].as_i64().unwrap();
    assert_eq!(
        metadata,
        format!(
            "{{\n    \"content__hash\": \"a5215b654d\",\n    \"chain_hash\": null,\n    \"previous_version_path\": null,\n    \"content__size\": 34,\n    \"tags\": [],\n    \"timestamp\": {created},\n    \"data\": {{\n        \"cache_hash\": \"58954ab6bb1eca61\",\n        \"cache_key\": \"users/alice\",\n        \"cache_id\": \"{id}\",\n        \"content_encoding\": null,\n        \"file_id\": \"profile\",\n        \"file_type\": \"json\",\n        \"json_field_path\": \"\",\n        \"namespace\": \"demo\",\n        \"stored_at\": {stored_at},\n        \"strategy\": \"key_based\"\n    }}\n}}"
        )
    );
    assert_eq!(
        app.file_text("demo/refs/by-hash/58/95/58954ab6bb1eca61.json")
            .await,
        format!(
            "{{\n  \"cache_hash\": \"58954ab6bb1eca61\",\n  \"cache_ids\": [\n    {{\n      \"cache_id\": \"{id}\",\n      \"timestamp\": {stored_at}\n    }}\n  ],\n  \"latest_id\": \"{id}\",\n  \"total_versions\": 1\n}}"
        )
    );
    let by_id = app
        .file_text(&format!(
            "demo/refs/by-id/{}/{}/{id}.json",
            &id[0..2],
            &id[2..4]
        ))
        .await;
    assert!(by_id.starts_with("{\n  \"all_paths\": {\n    \"data\": [\n      \"demo/data/key-based/users/alice/profile.json\","));
    assert!(by_id.contains(
        "\"data_folders\": [\n      \"demo/data/key-based/users/alice/profile/data\"\n    ]"
    ));
    assert!(by_id.ends_with(&format!(
        "\"file_type\": \"json\",\n  \"namespace\": \"demo\",\n  \"strategy\": \"key_based\",\n  \"timestamp\": {stored_at}\n}}"
    )));
}

#[tokio::test]
async fn hash_vectors_through_the_store_routes() {
    let app = TestApp::memory();
    let cases: [(&str, Option<&str>, &[u8], &str); 6] = [
        (
            "/h/direct/store/json",
            Some("application/json"),
            br#"{"name":"Alice","age":30}"#,
            "58954ab6bb1eca61",
        ),
        (
            "/h/direct/store/string",
            Some("text/plain"),
            b"hello",
            "2cf24dba5fb0a30e",
        ),
        (
            "/h/direct/store/binary",
            Some("application/octet-stream"),
            b"BINARYDATA",
            "5a128aa5f6f4982f",
        ),
        (
            "/h/key_based/store/json/k?json_field_path=meta.url",
            Some("application/json"),
            br#"{"meta":{"url":"https://x.com/a"}}"#,
            "ec9c0a2615940abb",
        ),
        (
            "/h/key_based/store/json/k?json_field_path=n",
            Some("application/json"),
            br#"{"n":42}"#,
            "73475cb40a568e8d",
        ),
        (
            "/h/direct/store/json",
            Some("application/json"),
            br#"{"n":"Jos\u00e9","f":1.5e-7,"b":[true,null],"i":10000000000000000000000}"#,
            "e6f7dcd8b9bde06a",
        ),
    ];
    for (uri, ct, body, hash) in cases {
        let r = app.request(Method::POST, uri, ct, body.to_vec()).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert_eq!(r.json()["cache_hash"], hash, "{uri}");
    }
    let r = app.post_json("/h/direct/store/json", "{}").await;
    assert_eq!(r.json()["cache_hash"], "44136fa355b3678a");
    assert_eq!(r.json()["size"], 2);
}

#[tokio::test]
async fn strategies_write_the_reference_paths() {
    let app = TestApp::memory();
    let r = app
        .post_json("/demo/direct/store/json/ignored?file_id=myid", r#"{"a":1}"#)
        .await;
    assert_eq!(
        r.json()["paths"]["data"][0],
        "demo/data/direct/my/id/myid.json"
    );

    let r = app.post_text("/demo/temporal/store/string", "t").await;
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    let path = r.json()["paths"]["data"][0].as_str().unwrap().to_owned();
    let hour = chrono::Local::now().format("%Y/%m/%d/%H").to_string();
    // The hour can roll over between the request and this line; accept either side.
    assert!(path.starts_with("demo/data/temporal/2"), "{path}");
    assert!(path.ends_with(&format!("/{id}.json")), "{path}");
    assert_eq!(
        path.len(),
        format!("demo/data/temporal/{hour}/{id}.json").len()
    );

    let r = app
        .post_bytes(
            "/demo/temporal_latest/store/binary/bin/key?file_id=bb",
            b"BINARYDATA",
        )
        .await;
    let data: Vec<String> = serde_json::from_value(r.json()["paths"]["data"].clone()).unwrap();
    assert_eq!(data.len(), 6);
    assert!(data[0].starts_with("demo/data/temporal-latest/2") && data[0].ends_with("/bb.bin"));
    assert_eq!(
        &data[3..],
        [
            "demo/data/temporal-latest/latest/bb.bin",
            "demo/data/temporal-latest/latest/bb.bin.config",
            "demo/data/temporal-latest/latest/bb.bin.metadata"
        ]
    );
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    let refs = app.get(&format!("/demo/retrieve/{id}/refs")).await.json();
    assert_eq!(
        refs["file_paths"]["content_files"][0],
        "demo/data/temporal-latest/latest/bb.bin"
    );
    assert_eq!(
        refs["file_paths"]["data_folders"][0],
        "demo/data/temporal-latest/latest/bb/data"
    );
    let config = app.get(&format!("/demo/retrieve/{id}/config")).await;
    assert!(config.text().starts_with(
        r#"{"file_id":"bb","file_key":"bin/key","file_paths":["demo/data/temporal-latest/latest","#
    ));
    assert!(config.text().ends_with(r#""file_type":{"name":"binary","content_type":"application/octet-stream","file_extension":"bin","encoding":null,"serialization":"binary"},"exists_strategy":"first"}"#));

    let r = app
        .post_text("/demo/temporal_versioned/store/string", "v")
        .await;
    let data: Vec<String> = serde_json::from_value(r.json()["paths"]["data"].clone()).unwrap();
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    assert_eq!(data.len(), 9);
    assert_eq!(
        data[3],
        format!("demo/data/temporal-versioned/latest/{id}.json")
    );
    assert_eq!(
        data[6],
        format!("demo/data/temporal-versioned/versions/v1/{id}.json")
    );

    let r = app
        .post_text("/demo/key_based/store/string/a%20b/c:d?file_id=x.y", "k")
        .await;
    assert_eq!(
        r.json()["paths"]["data"][0],
        "demo/data/key-based/a b/c_d/x_y.json"
    );
    let r = app
        .post_json("/my.ns/key_based/store/json/site/page.html", "{}")
        .await;
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["namespace"], "my_ns");
    assert_eq!(
        r.json()["paths"]["data"][0],
        format!("my_ns/data/key-based/site/page.html/{id}.json")
    );
}

#[tokio::test]
async fn retrieve_routes_for_json_string_and_binary() {
    let app = TestApp::memory();
    let json_id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let string_id = app
        .post_json("/demo/direct/store/string", r#""hello""#)
        .await
        .json()["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bin_id = app
        .post_bytes("/demo/direct/store/binary", b"BINARYDATA")
        .await
        .json()["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = app.get(&format!("/demo/retrieve/{json_id}")).await;
    let generic = r.json();
    assert_eq!(generic["data"], json!({"name":"Alice","age":30}));
    assert_eq!(generic["data_type"], "json");
    let keys: Vec<&String> = generic["metadata"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cache_id",
            "cache_hash",
            "cache_key",
            "file_id",
            "namespace",
            "strategy",
            "stored_at",
            "file_type",
            "content_encoding",
            "content_size"
        ]
    );
    assert_eq!(generic["metadata"]["content_size"], 0);
    let r = app.get(&format!("/demo/retrieve/{json_id}/string")).await;
    assert_eq!(
        (r.content_type(), r.text().as_str()),
        (
            Some("text/plain; charset=utf-8"),
            r#"{"name": "Alice", "age": 30}"#
        )
    );
    let r = app.get(&format!("/demo/retrieve/{json_id}/binary")).await;
    assert_eq!(
        (r.content_type(), r.text().as_str()),
        (
            Some("application/octet-stream"),
            r#"{"name": "Alice", "age": 30}"#
        )
    );
    let r = app.get(&format!("/demo/retrieve/{json_id}/metadata")).await;
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "content__hash",
            "content__size",
            "chain_hash",
            "previous_version_path",
            "tags",
            "timestamp",
            "data"
        ]
    );
    let r = app
        .get(&format!("/demo/retrieve/{json_id}/refs/all"))
        .await
        .json();
    let details: Vec<String> = r["details"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(details.len(), 4);
    assert_eq!(
        details[0],
        "demo/data/key-based/users/alice/profile.json.config"
    );

    let r = app.get(&format!("/demo/retrieve/{string_id}")).await.json();
    assert_eq!(
        (r["data"].clone(), r["data_type"].clone()),
        (json!("hello"), json!("string"))
    );
    assert_eq!(r["metadata"]["file_type"], "json");
    let r = app.get(&format!("/demo/retrieve/{string_id}/json")).await;
    assert_eq!(
        (r.status, r.json()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"detail":"Data is string, not JSON: hello"})
        )
    );
    let r = app.get("/demo/retrieve/hash/2cf24dba5fb0a30e/json").await;
    assert_eq!(r.json(), json!({"detail":"Data is string, not JSON"}));
    assert_eq!(
        app.get(&format!("/demo/retrieve/{string_id}/string"))
            .await
            .text(),
        "hello"
    );

    let r = app.get(&format!("/demo/retrieve/{bin_id}")).await.json();
    assert_eq!(r["message"], "Binary data requires separate endpoint");
    assert_eq!(r["size"], 0);
    assert_eq!(r["binary_url"], format!("/demo/retrieve/{bin_id}/binary"));
    let r = app.get("/demo/retrieve/hash/5a128aa5f6f4982f").await.json();
    assert_eq!(
        r["binary_url"],
        "/demo/retrieve/hash/5a128aa5f6f4982f/binary"
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/{bin_id}/json"))
            .await
            .text(),
        r#"{"data_type":"binary","encoding":"base64","data":"QklOQVJZREFUQQ=="}"#
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/{bin_id}/string"))
            .await
            .text(),
        "QklOQVJZREFUQQ=="
    );
    assert_eq!(
        app.get("/demo/retrieve/hash/5a128aa5f6f4982f/string")
            .await
            .text(),
        "BINARYDATA"
    );
    assert_eq!(
        &app.get(&format!("/demo/retrieve/{bin_id}/binary"))
            .await
            .body[..],
        b"BINARYDATA"
    );

    let r = app
        .get(&format!("/demo/retrieve/hash/{ALICE_HASH}/cache-id"))
        .await;
    assert_eq!(
        r.text(),
        format!(r#"{{"namespace":"demo","cache_hash":"{ALICE_HASH}","cache_id":"{json_id}"}}"#)
    );
    let r = app
        .get(&format!("/demo/retrieve/hash/{ALICE_HASH}/refs-hash"))
        .await
        .json();
    assert_eq!(r["total_versions"], 1);
    let r = app
        .get(&format!("/demo/retrieve/hash/{ALICE_HASH}/metadata"))
        .await
        .json();
    assert_eq!(r["cache_key"], "users/alice");
}

#[tokio::test]
async fn not_found_bodies() {
    let app = TestApp::memory();
    let id = "12345678-1234-1234-1234-123456789abc";
    for suffix in ["", "/refs", "/refs/all", "/metadata", "/config"] {
        let r = app.get(&format!("/demo/retrieve/{id}{suffix}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let detail = &r.json()["detail"];
        let keys: Vec<&String> = detail.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "resource_id",
                "cache_hash",
                "cache_id",
                "namespace",
                "error_type",
                "message",
                "timestamp",
                "request_id",
                "resource_type"
            ]
        );
        assert_eq!(detail["cache_id"], id);
        assert_eq!(detail["message"], "The requested cache entry was not found");
        common::assert_uuid4(detail["request_id"].as_str().unwrap());
    }
    for suffix in ["/json", "/string", "/binary"] {
        let r = app.get(&format!("/demo/retrieve/{id}{suffix}")).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (
                StatusCode::NOT_FOUND,
                r#"{"detail":"Cache entry not found"}"#
            )
        );
    }
    let r = app.get("/demo/retrieve/hash/0123456789abcdef").await;
    assert_eq!(r.json()["detail"]["cache_hash"], "0123456789abcdef");
    assert_eq!(r.json()["detail"]["cache_id"], Value::Null);
    for suffix in [
        "/json",
        "/string",
        "/binary",
        "/metadata",
        "/refs-hash",
        "/cache-id",
    ] {
        let r = app
            .get(&format!("/demo/retrieve/hash/0123456789abcdef{suffix}"))
            .await;
        assert_eq!(
            r.text(),
            r#"{"detail":"Cache entry not found"}"#,
            "{suffix}"
        );
    }
    // Upper-case ids pass validation but storage paths are case-sensitive.
    let r = app
        .get(&format!("/demo/retrieve/{}", id.to_uppercase()))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["detail"]["cache_id"], id.to_uppercase());
}

#[tokio::test]
async fn exists_by_id_and_hash() {
    let app = TestApp::memory();
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/demo/exists/id/{id}")).await.text(),
        format!(r#"{{"exists":true,"cache_id":"{id}","cache_hash":null,"namespace":"demo"}}"#)
    );
    assert_eq!(
        app.get("/demo/exists/hash/0123456789abcdef").await.text(),
        r#"{"exists":false,"cache_id":null,"cache_hash":"0123456789abcdef","namespace":"demo"}"#
    );
    assert_eq!(
        app.get(&format!("/other/exists/id/{id}")).await.json()["exists"],
        false
    );
}

#[tokio::test]
async fn duplicate_stores_and_key_based_overwrite() {
    let app = TestApp::memory();
    let first = app.store_alice("demo").await;
    let id1 = first["cache_id"].as_str().unwrap().to_owned();
    let r2 = app
        .post_json(
            "/demo/key_based/store/json/users/alice?file_id=profile",
            r#"{"name":"Bob"}"#,
        )
        .await
        .json();
    let r3 = app
        .post_json(
            "/demo/key_based/store/json/users/alice?file_id=profile",
            r#"{"name":"Bob"}"#,
        )
        .await
        .json();
    let (id2, id3) = (
        r2["cache_id"].as_str().unwrap().to_owned(),
        r3["cache_id"].as_str().unwrap().to_owned(),
    );
    // Only the content file is written again; `size` stays the first store's (metadata).
    assert_eq!(
        r2["paths"]["data"],
        json!(["demo/data/key-based/users/alice/profile.json"])
    );
    assert_eq!(r2["size"], 34);
    let hash_ref = app
        .get(&format!(
            "/demo/retrieve/hash/{}/refs-hash",
            r2["cache_hash"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(hash_ref["total_versions"], 2);
    assert_eq!(hash_ref["latest_id"], id3.as_str());
    // Older ids serve the new content; metadata content__* keeps the first store's values.
    assert_eq!(
        app.get(&format!("/demo/retrieve/{id1}/json")).await.text(),
        r#"{"name":"Bob"}"#
    );
    let metadata = app
        .get(&format!("/demo/retrieve/{id1}/metadata"))
        .await
        .json();
    assert_eq!(metadata["content__hash"], "a5215b654d");
    assert_eq!(metadata["data"]["cache_id"], id3.as_str());

    let d2 = app.delete(&format!("/demo/delete/{id2}")).await.json();
    assert_eq!(d2["deleted_count"], 2);
    assert_eq!(d2["status"], "success");
    let d1 = app.delete(&format!("/demo/delete/{id1}")).await.json();
    assert_eq!(d1["status"], "partial");
    assert_eq!(
        d1["failed_paths"],
        json!(["demo/data/key-based/users/alice/profile.json"])
    );
    assert_eq!(d1["deleted_count"], 4);
    let d3 = app.delete(&format!("/demo/delete/{id3}")).await.json();
    assert_eq!(d3["status"], "partial");
    assert_eq!(
        d3["deleted_paths"][0],
        "demo/refs/by-hash/81/70/81707864b63c14d6.json"
    );
    assert!(app.files().await.is_empty(), "{:?}", app.files().await);
}

#[tokio::test]
async fn delete_keeps_hash_ref_for_remaining_versions() {
    let app = TestApp::memory();
    let a = app
        .post_text("/demo/direct/store/string", "same")
        .await
        .json();
    let b = app
        .post_text("/demo/direct/store/string", "same")
        .await
        .json();
    let hash = a["cache_hash"].as_str().unwrap();
    let r = app
        .delete(&format!("/demo/delete/{}", b["cache_id"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(r["deleted_count"], 4);
    let refs = app
        .get(&format!("/demo/retrieve/hash/{hash}/refs-hash"))
        .await
        .json();
    assert_eq!(refs["total_versions"], 1);
    assert_eq!(refs["latest_id"], a["cache_id"]);
    assert_eq!(refs["cache_ids"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/demo/retrieve/hash/{hash}/string"))
            .await
            .text(),
        "same"
    );
}

#[tokio::test]
async fn update_is_content_only() {
    let app = TestApp::memory();
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_json(&format!("/demo/update/{id}/json"), r#"{"x":1,"y":2}"#)
        .await;
    let body = r.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cache_id",
            "cache_hash",
            "namespace",
            "paths",
            "size",
            "timestamp",
            "updated_content",
            "updated_hash",
            "updated_metadata",
            "updated_id_ref"
        ]
    );
    assert_eq!(body["size"], 2);
    assert_eq!(body["cache_hash"], ALICE_HASH);
    assert_eq!(
        body["paths"],
        json!(["demo/data/key-based/users/alice/profile.json"])
    );
    assert_eq!(
        app.file_text("demo/data/key-based/users/alice/profile.json")
            .await,
        "{\n    \"x\": 1,\n    \"y\": 2\n}"
    );
    // The old hash now serves the new content.
    assert_eq!(
        app.get(&format!("/demo/retrieve/hash/{ALICE_HASH}/json"))
            .await
            .text(),
        r#"{"x":1,"y":2}"#
    );

    let r = app
        .post_json(&format!("/demo/update/{id}/string"), r#""héllo""#)
        .await;
    assert_eq!(r.json()["size"], 5);
    assert_eq!(
        app.file_text("demo/data/key-based/users/alice/profile.json")
            .await,
        r#""h\u00e9llo""#
    );
    let r = app.get(&format!("/demo/retrieve/{id}")).await.json();
    assert_eq!(
        (r["data"].clone(), r["data_type"].clone()),
        (json!("héllo"), json!("string"))
    );

    let r = app
        .post_json(&format!("/demo/update/{id}/string"), r#""""#)
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"detail":{"error_type":"INVALID_INPUT","message":"String data cannot be empty","field_name":"data"}}"#
        )
    );
    let r = app
        .post_json(&format!("/demo/update/{id}/binary"), r#""""#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"detail":{"error_type":"INVALID_INPUT","message":"Binary data cannot be empty","field_name":"body"}}"#
    );

    let unknown = "12345678-1234-1234-1234-123456789abc";
    let r = app
        .post_json(&format!("/demo/update/{unknown}/json"), r#"{"a":1}"#)
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"detail":{{"error_type":"UPDATE_FAILED","message":"Failed to update cache entry {unknown}","cache_id":"{unknown}"}}}}"#
        )
    );
}

#[tokio::test]
async fn gzip_binary_is_hashed_decompressed_and_stored_compressed() {
    use std::io::Write;
    let app = TestApp::memory();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"hello gzip world").unwrap();
    let compressed = encoder.finish().unwrap();
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/demo/direct/store/binary")
        .header("content-type", "application/octet-stream")
        .header("content-encoding", "gzip")
        .body(axum::body::Body::from(compressed.clone()))
        .unwrap();
    let r = app.send(request).await.json();
    assert_eq!(
        r["cache_hash"],
        cache_wire::hash::hash_bytes(b"hello gzip world")
    );
    assert_eq!(r["size"], compressed.len());
    let id = r["cache_id"].as_str().unwrap();
    assert_eq!(
        &app.file(r["paths"]["data"][0].as_str().unwrap())
            .await
            .unwrap()[..],
        &compressed[..]
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/{id}/binary")).await.text(),
        "hello gzip world"
    );
    let generic = app.get(&format!("/demo/retrieve/{id}")).await.json();
    assert_eq!(generic["metadata"]["content_encoding"], "gzip");

    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/demo/direct/store/binary")
        .header("content-type", "application/octet-stream")
        .header("content-encoding", "gzip")
        .body(axum::body::Body::from("notgzip"))
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["error"], "Not a gzipped file (b'no')");
    assert_eq!(r.json()["detail"], "An unexpected error occurred.");
}

#[tokio::test]
async fn json_field_path_errors_are_500() {
    let app = TestApp::memory();
    let r = app
        .post_json(
            "/demo/key_based/store/json/a?json_field_path=a.b",
            r#"{"a":{"b":null}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["error"], "Field 'a.b' not found in data");
    assert!(
        r.json()["stack_trace"]
            .as_str()
            .unwrap()
            .contains("ValueError")
    );
    let r = app
        .post_json(
            "/demo/key_based/store/json/a?json_field_path=a",
            r#"{"a":true}"#,
        )
        .await;
    assert_eq!(r.json()["cache_hash"], cache_wire::hash::hash_str("True"));
}

#[tokio::test]
async fn unicode_and_python_numbers_round_trip() {
    let app = TestApp::memory();
    let body = r#"{"n":"José ☃ \u0001","f":1.5e-7,"g":1E5,"i":10000000000000000000000,"neg":-0.0}"#;
    let r = app.post_json("/u/direct/store/json", body).await.json();
    let id = r["cache_id"].as_str().unwrap();
    assert_eq!(
        app.file_text(r["paths"]["data"][0].as_str().unwrap()).await,
        "{\n  \"n\": \"Jos\\u00e9 \\u2603 \\u0001\",\n  \"f\": 1.5e-07,\n  \"g\": 100000.0,\n  \"i\": 10000000000000000000000,\n  \"neg\": -0.0\n}"
    );
    assert_eq!(
        app.get(&format!("/u/retrieve/{id}/json")).await.text(),
        "{\"n\":\"José ☃ \\u0001\",\"f\":1.5e-07,\"g\":100000.0,\"i\":10000000000000000000000,\"neg\":-0.0}"
    );
}
