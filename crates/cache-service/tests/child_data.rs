//! Child data files under `/{ns}/cache/{cache_id}/data/…` (spec §5.7).

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

const UNKNOWN: &str = "12345678-1234-1234-1234-123456789abc";

async fn entry(app: &TestApp) -> (String, String) {
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let prefix = format!("/demo/cache/{id}");
    (id, prefix)
}

#[tokio::test]
async fn store_retrieve_and_file_formats() {
    let app = TestApp::memory();
    let (id, p) = entry(&app).await;
    let folder = "demo/data/key-based/users/alice/profile/data";
    let r = app
        .post_json(
            &format!("{p}/data/store/json/a%20b/c..d/x/y"),
            r#"{"k":[1,{"z":null}]}"#,
        )
        .await
        .json();
    assert_eq!(r["data_key"], "a b/c..d/x");
    assert_eq!(
        r["data_files_created"],
        json!([format!("{folder}/a-b/c-d/x/y.json")])
    );
    assert_eq!(r["file_size"], 73);
    assert_eq!(
        app.file_text(&format!("{folder}/a-b/c-d/x/y.json")).await,
        "{\n    \"k\": [\n        1,\n        {\n            \"z\": null\n        }\n    ]\n}"
    );
    assert_eq!(
        app.get(&format!("{p}/data/json/a%20b/c..d/x/y"))
            .await
            .text(),
        r#"{"k":[1,{"z":null}]}"#
    );

    // No data_file_id: a fresh uuid4.
    let r = app
        .post_text(&format!("{p}/data/store/string"), "raw")
        .await
        .json();
    let generated = r["file_id"].as_str().unwrap().to_owned();
    common::assert_uuid4(&generated);
    assert_eq!(r["data_key"], "");
    assert_eq!(
        app.file_text(&format!("{folder}/{generated}.txt")).await,
        "raw"
    );

    let r = app
        .post_bytes(&format!("{p}/data/store/binary/images/logo"), b"\x00\x01")
        .await
        .json();
    assert_eq!(
        (r["extension"].clone(), r["file_size"].clone()),
        (json!("bin"), json!(2))
    );
    let r = app.get(&format!("{p}/data/binary/images/logo")).await;
    assert_eq!(r.content_type(), Some("application/octet-stream"));
    assert_eq!(&r.body[..], b"\x00\x01");

    // Stores overwrite silently; an empty JSON string is a valid string child.
    app.post_json(&format!("{p}/data/store/string/empty"), r#""""#)
        .await;
    assert_eq!(app.file_text(&format!("{folder}/empty.txt")).await, "");
    // ...but reads back as missing, as in the reference.
    let r = app.get(&format!("{p}/data/string/empty")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = app
        .post_json(&format!("{UNKNOWN_PREFIX}/data/store/json/x"), "{}")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"detail":{{"error_type":"NOT_FOUND","message":"Cache entry '{UNKNOWN}' in namespace 'demo' not found","cache_id":"{UNKNOWN}"}}}}"#
        )
    );
    let _ = id;
}

const UNKNOWN_PREFIX: &str = "/demo/cache/12345678-1234-1234-1234-123456789abc";

#[tokio::test]
async fn misses() {
    let app = TestApp::memory();
    let (id, p) = entry(&app).await;
    let r = app.get(&format!("{p}/data/json/summary")).await;
    assert_eq!(
        (r.status, r.text()),
        (
            StatusCode::NOT_FOUND,
            format!(
                r#"{{"detail":{{"error_type":"NOT_FOUND","message":"Data file not found","cache_id":"{id}","data_file_id":"summary"}}}}"#
            )
        )
    );
    for uri in [
        format!("{p}/data/string/nope"),
        format!("{p}/data/binary/images/nope"),
        format!("{UNKNOWN_PREFIX}/data/string/x"),
    ] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(r.body.is_empty(), "{uri}");
        assert_eq!(r.content_type(), None, "{uri}");
    }
    let r = app
        .get(&format!("{UNKNOWN_PREFIX}/data/exists/json/x"))
        .await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"cache_id":"{UNKNOWN}","data_type":"json","data_key":"","data_file_id":"x","exists":false,"namespace":"demo"}}"#
        )
    );
    let r = app.get(&format!("{UNKNOWN_PREFIX}/data/list")).await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"detail":{{"error_type":"NOT_FOUND","message":"Cache entry '{UNKNOWN}' not found","cache_id":"{UNKNOWN}"}}}}"#
        )
    );
    let r = app
        .delete(&format!("{UNKNOWN_PREFIX}/data/delete/all"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["message"], "No data files to delete");
}

#[tokio::test]
async fn exists_update_list_and_delete() {
    let app = TestApp::memory();
    let (id, p) = entry(&app).await;
    app.post_json(
        &format!("{p}/data/store/json/analysis/summary"),
        r#"{"score":0.9}"#,
    )
    .await;
    app.post_json(&format!("{p}/data/store/string/notes"), r#""hello world""#)
        .await;
    app.post_bytes(&format!("{p}/data/store/binary/images/logo"), b"\x00\x01")
        .await;

    let r = app
        .get(&format!("{p}/data/exists/json/analysis/summary"))
        .await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"cache_id":"{id}","data_type":"json","data_key":"analysis","data_file_id":"summary","exists":true,"namespace":"demo"}}"#
        )
    );
    assert_eq!(
        app.get(&format!("{p}/data/exists/json/summary"))
            .await
            .json()["exists"],
        false
    );

    let r = app
        .post_json(&format!("{p}/data/update/string/notes"), r#""updated""#)
        .await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"success":true,"cache_id":"{id}","namespace":"demo","data_type":"string","data_key":"","data_file_id":"notes","file_path":"demo/data/key-based/users/alice/profile/data/notes.txt","file_size":7}}"#
        )
    );
    assert_eq!(
        app.get(&format!("{p}/data/string/notes")).await.text(),
        "updated"
    );
    let r = app
        .post_json(&format!("{p}/data/update/string/nope"), r#""x""#)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["detail"]["message"],
        format!("Data file 'nope' not found in cache entry '{id}'")
    );
    let r = app
        .post_json(&format!("{p}/data/update/string/notes"), r#""""#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"detail":{"error_type":"INVALID_INPUT","message":"String data cannot be empty","field_name":"data"}}"#
    );
    let r = app
        .post_json(
            &format!("{p}/data/update/json/analysis/summary"),
            r#"{"score":1}"#,
        )
        .await;
    assert_eq!(r.json()["file_size"], 18);
    // A data file id that sanitises to nothing fails in the reference's path builder.
    let r = app
        .post_json(&format!("{p}/data/update/json/%20"), "{}")
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json()["error"],
        "data_file_id is required for data file operations"
    );

    let all = app.get(&format!("{p}/data/list")).await.json();
    assert_eq!(all["file_count"], 3);
    assert_eq!(all["total_size"], 18 + 7 + 2);
    let keys: Vec<&String> = all["files"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "data_file_id",
            "data_key",
            "data_type",
            "file_path",
            "file_size",
            "extension"
        ]
    );
    let flat = app
        .get(&format!("{p}/data/list?recursive=false"))
        .await
        .json();
    assert_eq!(flat["file_count"], 1);
    assert_eq!(flat["files"][0]["data_file_id"], "notes");
    let images = app.get(&format!("{p}/data/list/images")).await.json();
    assert_eq!(images["data_key"], "images");
    assert_eq!(images["files"][0]["data_type"], "binary");

    let r = app.delete(&format!("{p}/data/delete/string/notes")).await;
    assert_eq!(r.json()["status"], "success");
    let r = app.delete(&format!("{p}/data/delete/string/notes")).await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"detail":{{"error_type":"NOT_FOUND","message":"Data file notes not found","cache_id":"{id}","data_file_id":"notes","data_type":"string"}}}}"#
        )
    );
    let r = app
        .delete(&format!("{p}/data/delete/json/analysis/summary"))
        .await;
    assert_eq!(r.json()["data_key"], "analysis");
    let r = app
        .delete(&format!("{p}/data/delete/all/images"))
        .await
        .json();
    assert_eq!(
        r,
        json!({"status":"success","message":"Deleted 1 data files","cache_id":id,"deleted_count":1,
               "deleted_files":["demo/data/key-based/users/alice/profile/data/images/logo.bin"],
               "data_key":"images","namespace":"demo"})
    );
    let r = app.delete(&format!("{p}/data/delete/all")).await.json();
    assert_eq!(r["deleted_count"], 0);
    assert!(r.get("deleted_files").is_none());
}

#[tokio::test]
async fn children_are_written_into_every_copy() {
    let app = TestApp::memory();
    let r = app
        .post_text("/demo/temporal_versioned/store/string", "v")
        .await
        .json();
    let id = r["cache_id"].as_str().unwrap().to_owned();
    let r = app
        .post_text(&format!("/demo/cache/{id}/data/store/string/n"), "x")
        .await
        .json();
    let created = r["data_files_created"].as_array().unwrap();
    assert_eq!(created.len(), 3);
    assert!(
        created[1]
            .as_str()
            .unwrap()
            .starts_with("demo/data/temporal-versioned/latest/")
    );
    assert_eq!(
        app.get(&format!("/demo/cache/{id}/data/list")).await.json()["file_count"],
        3
    );
    let r = app
        .delete(&format!("/demo/cache/{id}/data/delete/all"))
        .await
        .json();
    assert_eq!(r["deleted_count"], 3);
    assert_eq!(r["message"], "Deleted 3 data files");
}

#[tokio::test]
async fn validation_of_child_routes() {
    let app = TestApp::memory();
    let (_, p) = entry(&app).await;
    let r = app.get(&format!("{p}/data/exists/bogus/x")).await;
    assert_eq!(common::issues(&r)[0]["type"], "enum");
    let r = app
        .post_json(&format!("{p}/data/store/json/x"), "[1]")
        .await;
    assert_eq!(common::issues(&r)[0]["type"], "dict_type");
    let r = app
        .post_json("/demo/cache/nope/data/store/json/x", "{}")
        .await;
    assert_eq!(common::issues(&r)[0]["loc"], json!(["query", "cache_id"]));
    // `delete/all` is matched before the typed delete routes.
    let r = app.delete(&format!("{p}/data/delete/all")).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// COMPAT D16: listings are sorted by path; the reference's memory backend lists in insertion
/// order.
#[tokio::test]
async fn list_is_sorted_by_path_and_delete_all_goes_in_store_order() {
    let app = TestApp::memory();
    let (_, p) = entry(&app).await;
    for name in ["zeta", "alpha", "mid"] {
        app.post_text(&format!("{p}/data/store/string/{name}"), "x")
            .await;
    }
    let listed: Vec<String> = app.get(&format!("{p}/data/list")).await.json()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["data_file_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["alpha", "mid", "zeta"]);
    let deleted = app.delete(&format!("{p}/data/delete/all")).await.json();
    let names: Vec<&str> = deleted["deleted_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    // Oldest first (the listing's modification times), as the reference's dict (COMPAT D16).
    assert_eq!(names, ["zeta.txt", "alpha.txt", "mid.txt"]);
}
