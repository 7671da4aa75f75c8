//! Namespaces, admin storage, server and info routes (spec §5.8–§5.10).

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

async fn populated() -> (TestApp, String) {
    let app = TestApp::memory();
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_text("/other/direct/store/string", "x").await;
    app.post_json(
        &format!("/demo/cache/{id}/data/store/json/k/d"),
        r#"{"html":"<b>hi</b>"}"#,
    )
    .await;
    (app, id)
}

#[tokio::test]
async fn namespace_routes() {
    let (app, id) = populated().await;
    assert_eq!(
        app.get("/namespaces/list").await.text(),
        r#"["demo","other"]"#
    );
    assert_eq!(
        app.get("/demo/file-hashes").await.text(),
        r#"["58954ab6bb1eca61"]"#
    );
    assert_eq!(app.get("/demo/file-ids").await.json(), json!([id]));
    assert_eq!(app.get("/nope/file-ids").await.text(), "[]");
    // As in the reference, every count is the whole backend's (11 files here).
    let stats = app.get("/demo/stats").await;
    assert_eq!(
        stats.text(),
        r#"{"namespace":"demo","ttl_hours":24,"direct_files":11,"temporal_files":11,"temporal_latest_files":11,"temporal_versioned_files":11,"refs_hash_files":11,"refs_id_files":11,"total_files":66}"#
    );
    assert_eq!(app.get("/nope/stats").await.json()["total_files"], 66);
}

#[tokio::test]
async fn admin_storage_routes() {
    let (app, _) = populated().await;
    assert_eq!(
        app.get("/admin/storage/bucket-name").await.text(),
        r#"{"bucket-name":"NA"}"#
    );
    let profile = "demo/data/key-based/users/alice/profile.json";
    assert_eq!(
        app.get(&format!("/admin/storage/file/exists/{profile}"))
            .await
            .text(),
        format!(r#"{{"exists":true,"path":"{profile}"}}"#)
    );
    assert_eq!(
        app.get("/admin/storage/file/exists/demo/refs").await.json()["exists"],
        false
    );
    let r = app.get("/admin/storage/file/bytes/nope").await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 0));
    assert_eq!(r.content_type(), Some("application/octet-stream"));
    let r = app
        .get(&format!("/admin/storage/file/content/{profile}"))
        .await;
    assert_eq!(r.content_type(), Some("application/json"));
    assert_eq!(r.text(), "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}");
    let r = app
        .get(&format!("/admin/storage/file/content/{profile}.config"))
        .await;
    assert_eq!(r.content_type(), Some("application/octet-stream"));
    for route in ["content", "json"] {
        let r = app.get(&format!("/admin/storage/file/{route}/nope")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            r.text(),
            "{\n    \"error_type\": \"FILE_NOT_FOUND\",\n    \"resource\": \"file\",\n    \"message\": \"The requested file does not exist in storage\",\n    \"path\": \"nope\"\n}"
        );
    }
    let r = app
        .get(&format!("/admin/storage/file/json/{profile}.config"))
        .await;
    assert!(
        r.text()
            .starts_with(r#"{"exists_strategy":"first","file_id":"profile""#)
    );
    let r = app
        .get("/admin/storage/file/html/demo/data/key-based/users/alice/profile/data/k/d.json")
        .await;
    assert_eq!(
        (r.content_type(), r.text().as_str()),
        (Some("text/html; charset=utf-8"), "<b>hi</b>")
    );
    let r = app
        .get(&format!("/admin/storage/file/html/{profile}"))
        .await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, ""));
    let r = app.get("/admin/storage/file/html/nope").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::NOT_FOUND, "File not found.")
    );

    assert_eq!(
        app.get("/admin/storage/files/in/demo/refs").await.text(),
        "[]"
    );
    assert_eq!(
        app.get("/admin/storage/files/in/demo/refs/by-hash/58/95")
            .await
            .text(),
        r#"["58954ab6bb1eca61.json"]"#
    );
    assert_eq!(
        app.get("/admin/storage/files/in/demo/refs/by-hash/58/95?return_full_path=true")
            .await
            .text(),
        r#"["demo/refs/by-hash/58/95/58954ab6bb1eca61.json"]"#
    );
    let recursive = app
        .get("/admin/storage/files/in/demo/refs?recursive=true")
        .await
        .json();
    assert_eq!(recursive.as_array().unwrap().len(), 2);
    let all = app.get("/admin/storage/files/all/demo/refs").await.json();
    assert_eq!(all["file_count"], 2);
    assert_eq!(
        app.get("/admin/storage/files/all/").await.json()["file_count"],
        0
    );
    assert_eq!(
        app.get("/admin/storage/folders/").await.text(),
        r#"["demo","other"]"#
    );
    assert_eq!(
        app.get("/admin/storage/folders/demo").await.text(),
        r#"["data","refs"]"#
    );
    assert_eq!(
        app.get("/admin/storage/folders/demo/?return_full_path=true")
            .await
            .text(),
        r#"["demo/data","demo/refs"]"#
    );
    let deep = app
        .get("/admin/storage/folders/demo?recursive=true")
        .await
        .json();
    assert_eq!(deep[0], "data");
    assert!(
        deep.as_array()
            .unwrap()
            .contains(&json!("data/key-based/users/alice/profile/data/k"))
    );

    let path = "other/refs/by-hash/2d/71/2d711642b726b044.json";
    assert_eq!(
        app.delete(&format!("/admin/storage/file/delete/{path}"))
            .await
            .text(),
        format!(r#"{{"path":"{path}","deleted":true}}"#)
    );
    assert_eq!(
        app.delete("/admin/storage/file/delete/nope").await.text(),
        r#"{"path":"nope","deleted":false}"#
    );
    // Untyped path parameters are converted by the storage layer: a refused path is a 500.
    for route in ["exists", "bytes", "json", "html"] {
        let r = app.get(&format!("/admin/storage/file/{route}/___")).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{route}");
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("Parameter 'path' expected type")
        );
    }
    let r = app
        .get("/admin/storage/file/exists/%20demo/refs/by-hash/58/95/58954ab6bb1eca61.json")
        .await;
    assert_eq!(r.json()["exists"], true);
    assert_eq!(
        r.json()["path"],
        " demo/refs/by-hash/58/95/58954ab6bb1eca61.json"
    );
    // Untyped path parameters are converted by the storage layer: a refused path is a 500.
    for route in ["exists", "bytes", "json", "html"] {
        let r = app.get(&format!("/admin/storage/file/{route}/___")).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{route}");
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("Parameter 'path' expected type")
        );
    }
    let r = app
        .get("/admin/storage/file/exists/%20demo/refs/by-hash/58/95/58954ab6bb1eca61.json")
        .await;
    assert_eq!(r.json()["exists"], true);
    assert_eq!(
        r.json()["path"],
        " demo/refs/by-hash/58/95/58954ab6bb1eca61.json"
    );
    let r = app.get("/admin/storage/file/content/___").await;
    assert_eq!(
        common::issues(&r)[0]["msg"],
        "in Safe_Str__File__Path, sanitized value consists entirely of '_' characters"
    );
}

#[tokio::test]
async fn server_and_info_routes() {
    let app = TestApp::memory();
    assert_eq!(
        app.get("/server/storage/info").await.text(),
        r#"{"storage_mode":"memory","ttl_hours":24}"#
    );
    assert_eq!(app.get("/info/health").await.text(), r#"{"status":"ok"}"#);
    let status = app.get("/info/status").await.json();
    assert_eq!(status["name"], "mgraph_ai_service_cache");
    assert_eq!(status["version"], "v0.14.0");
    assert_eq!(status["status"], "operational");
    assert_eq!(
        app.get("/info/versions").await.text(),
        r#"{"mgraph_ai_service_cache":"v0.14.0","osbot_utils":"v3.75.0","osbot_aws":"v2.39.10","osbot_fast_api":"v0.39.0","osbot_fast_api_serverless":"v1.35.0"}"#
    );
    let a = app.get("/info/server").await.json();
    let b = app.get("/info/server").await.json();
    assert_eq!(a, b);
    assert_eq!(a["server_id"], serde_json::Value::Null);
    common::assert_uuid4(a["server_instance_id"].as_str().unwrap());
    assert!(a["server_boot_time"].as_i64().unwrap() > 1_600_000_000_000);
    let r = app
        .post_json("/auth/set-auth-cookie", r#"{"cookie_value":"abc"}"#)
        .await;
    assert_eq!(
        r.text(),
        r#"{"message":"Cookie set successfully","cookie_name":"auth-cookie","cookie_value":"abc"}"#
    );
    assert_eq!(
        r.header("set-cookie"),
        Some("auth-cookie=abc; HttpOnly; Path=/; SameSite=strict")
    );
}
