//! Local-disk mode: the reference's `local_disk` layout on a temporary folder, in both
//! directions (files we write are where the reference writes them; files the reference wrote
//! are served by us).

mod common;

use axum::http::StatusCode;
use cache_service::store::FileStore;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn files_land_at_the_reference_paths_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_store(FileStore::local_disk(dir.path()).unwrap());
    let id = app.store_alice("demo").await["cache_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_json(
        &format!("/demo/cache/{id}/data/store/json/analysis/summary"),
        r#"{"score":0.9}"#,
    )
    .await;
    let root = dir.path();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    assert_eq!(
        read("demo/data/key-based/users/alice/profile.json"),
        "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}"
    );
    assert!(
        read("demo/data/key-based/users/alice/profile.json.config")
            .contains("\"file_key\": \"users/alice\"")
    );
    assert!(
        root.join("demo/refs/by-hash/58/95/58954ab6bb1eca61.json")
            .is_file()
    );
    assert!(
        root.join(format!(
            "demo/refs/by-id/{}/{}/{id}.json",
            &id[0..2],
            &id[2..4]
        ))
        .is_file()
    );
    assert_eq!(
        read("demo/data/key-based/users/alice/profile/data/analysis/summary.json"),
        "{\n    \"score\": 0.9\n}"
    );

    // A new server on the same folder serves everything.
    let again = TestApp::with_store(FileStore::local_disk(dir.path()).unwrap());
    assert_eq!(
        again
            .get("/demo/retrieve/hash/58954ab6bb1eca61/json")
            .await
            .text(),
        r#"{"name":"Alice","age":30}"#
    );
    assert_eq!(
        again
            .get(&format!("/demo/cache/{id}/data/json/analysis/summary"))
            .await
            .text(),
        r#"{"score":0.9}"#
    );
    assert_eq!(again.get("/namespaces/list").await.text(), r#"["demo"]"#);
    let info = again.get("/server/storage/info").await.json();
    assert_eq!(info["storage_mode"], "local_disk");
    assert_eq!(info["local_disk_path"], dir.path().display().to_string());

    // Deleting removes the files and the folders left empty.
    let r = again.delete(&format!("/demo/delete/{id}")).await.json();
    assert_eq!(r["deleted_count"], 5);
    assert!(!root.join("demo/refs").exists());
    assert!(
        root.join("demo/data/key-based/users/alice/profile/data/analysis/summary.json")
            .is_file()
    );
}

/// Files exactly as mgraph-ai-service-cache 0.14.0 wrote them (captured from the reference).
const REF_ID: &str = "d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08";
const REF_FILES: [(&str, &str); 5] = [
    (
        "demo/data/key-based/users/alice/profile.json",
        "{\n  \"name\": \"Alice\",\n  \"age\": 30\n}",
    ),
    (
        "demo/data/key-based/users/alice/profile.json.config",
        "{\n    \"exists_strategy\": \"first\",\n    \"file_id\": \"profile\",\n    \"file_key\": \"users/alice\",\n    \"file_paths\": [\n        \"demo/data/key-based/users/alice\"\n    ],\n    \"file_type\": {\n        \"name\": \"json\",\n        \"content_type\": \"application/json; charset=utf-8\",\n        \"file_extension\": \"json\",\n        \"encoding\": \"utf-8\",\n        \"serialization\": \"json\"\n    }\n}",
    ),
    (
        "demo/data/key-based/users/alice/profile.json.metadata",
        "{\n    \"content__hash\": \"a5215b654d\",\n    \"chain_hash\": null,\n    \"previous_version_path\": null,\n    \"content__size\": 34,\n    \"tags\": [],\n    \"timestamp\": 1795257111881,\n    \"data\": {\n        \"cache_hash\": \"58954ab6bb1eca61\",\n        \"cache_key\": \"users/alice\",\n        \"cache_id\": \"d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08\",\n        \"content_encoding\": null,\n        \"file_id\": \"profile\",\n        \"file_type\": \"json\",\n        \"json_field_path\": \"\",\n        \"namespace\": \"demo\",\n        \"stored_at\": 1795257111877,\n        \"strategy\": \"key_based\"\n    }\n}",
    ),
    (
        "demo/refs/by-hash/58/95/58954ab6bb1eca61.json",
        "{\n  \"cache_hash\": \"58954ab6bb1eca61\",\n  \"cache_ids\": [\n    {\n      \"cache_id\": \"d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08\",\n      \"timestamp\": 1795257111877\n    }\n  ],\n  \"latest_id\": \"d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08\",\n  \"total_versions\": 1\n}",
    ),
    (
        "demo/refs/by-id/d3/be/d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08.json",
        "{\n  \"all_paths\": {\n    \"data\": [\n      \"demo/data/key-based/users/alice/profile.json\",\n      \"demo/data/key-based/users/alice/profile.json.config\",\n      \"demo/data/key-based/users/alice/profile.json.metadata\"\n    ],\n    \"by_hash\": [\n      \"demo/refs/by-hash/58/95/58954ab6bb1eca61.json\"\n    ],\n    \"by_id\": [\n      \"demo/refs/by-id/d3/be/d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08.json\"\n    ]\n  },\n  \"cache_id\": \"d3beb70a-c7bc-4a3d-82c5-ede0dea2eb08\",\n  \"cache_hash\": \"58954ab6bb1eca61\",\n  \"file_paths\": {\n    \"content_files\": [\n      \"demo/data/key-based/users/alice/profile.json\"\n    ],\n    \"data_folders\": [\n      \"demo/data/key-based/users/alice/profile/data\"\n    ]\n  },\n  \"file_type\": \"json\",\n  \"namespace\": \"demo\",\n  \"strategy\": \"key_based\",\n  \"timestamp\": 1795257111877\n}",
    ),
];

#[tokio::test]
async fn serves_a_store_written_by_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in REF_FILES {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let app = TestApp::with_store(FileStore::local_disk(dir.path()).unwrap());
    let r = app.get(&format!("/demo/retrieve/{REF_ID}")).await;
    assert_eq!(
        r.text(),
        format!(
            r#"{{"data":{{"name":"Alice","age":30}},"metadata":{{"cache_id":"{REF_ID}","cache_hash":"58954ab6bb1eca61","cache_key":"users/alice","file_id":"profile","namespace":"demo","strategy":"key_based","stored_at":1795257111877,"file_type":"json","content_encoding":null,"content_size":0}},"data_type":"json"}}"#
        )
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/{REF_ID}/config"))
            .await
            .text(),
        r#"{"file_id":"profile","file_key":"users/alice","file_paths":["demo/data/key-based/users/alice"],"file_type":{"name":"json","content_type":"application/json; charset=utf-8","file_extension":"json","encoding":"utf-8","serialization":"json"},"exists_strategy":"first"}"#
    );
    assert_eq!(
        app.get(&format!("/demo/retrieve/{REF_ID}/metadata"))
            .await
            .json()["timestamp"],
        1795257111881u64
    );
    assert_eq!(app.get("/demo/file-ids").await.json(), json!([REF_ID]));
    // A second store of the same content appends to the reference's hash ref.
    let again = app.store_alice("demo").await;
    let refs = app
        .get("/demo/retrieve/hash/58954ab6bb1eca61/refs-hash")
        .await
        .json();
    assert_eq!(refs["total_versions"], 2);
    assert_eq!(refs["cache_ids"][0]["cache_id"], REF_ID);
    assert_eq!(refs["latest_id"], again["cache_id"]);
    // Child data next to the reference's entry, then a delete that keeps the hash ref.
    let r = app
        .post_text(
            &format!("/demo/cache/{REF_ID}/data/store/string/notes"),
            "hi",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.delete(&format!("/demo/delete/{REF_ID}")).await.json();
    assert_eq!(r["status"], "success");
    assert_eq!(r["deleted_count"], 4);
    assert_eq!(
        app.get("/demo/retrieve/hash/58954ab6bb1eca61/refs-hash")
            .await
            .json()["total_versions"],
        1
    );
}
