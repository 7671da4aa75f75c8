//! Scenarios of several server instances sharing one store (COMPAT.md D28), run over memory,
//! local disk (`tests/shared_store.rs`) and S3 (`tests/s3.rs`). Each [`TestApp`] is its own
//! `CacheService`, with its own by-hash cache and locks, as separate processes would be.

#![allow(dead_code)]

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::TestApp;

/// The by-hash reference file of `hash` in `ns`.
pub fn hash_ref_path(ns: &str, hash: &str) -> String {
    format!(
        "{ns}/refs/by-hash/{}/{}/{hash}.json",
        &hash[0..2],
        &hash[2..4]
    )
}

/// Stores `{"n":1}` key-based under `runs/latest` through `app`: its (hash, id).
pub async fn store_same(app: &TestApp, ns: &str) -> (String, String) {
    let r = app
        .post_json(
            &format!("/{ns}/key_based/store/json/runs/latest"),
            r#"{"n":1}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "store: {}", r.text());
    let body = r.json();
    (
        body["cache_hash"].as_str().expect("hash").to_owned(),
        body["cache_id"].as_str().expect("id").to_owned(),
    )
}

/// The ids the by-hash reference lists (in order) and its `total_versions`, `latest_id`;
/// `None` if the file is missing. Read through `app`.
pub async fn listed(app: &TestApp, ns: &str, hash: &str) -> Option<(Vec<String>, i64, String)> {
    let bytes = app.file(&hash_ref_path(ns, hash)).await?;
    let parsed: Value = serde_json::from_slice(&bytes).expect("by-hash reference is JSON");
    let ids = parsed["cache_ids"]
        .as_array()
        .expect("cache_ids")
        .iter()
        .map(|e| e["cache_id"].as_str().expect("id").to_owned())
        .collect();
    Some((
        ids,
        parsed["total_versions"].as_i64().expect("total_versions"),
        parsed["latest_id"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// `per_app` concurrent stores of identical content through every app at once: the by-hash
/// reference lists every acknowledged id exactly once, and counts them.
pub async fn identical_stores_keep_every_version(apps: &[Arc<TestApp>], ns: &str, per_app: usize) {
    let mut tasks = Vec::new();
    for app in apps {
        for _ in 0..per_app {
            let (app, ns) = (Arc::clone(app), ns.to_owned());
            tasks.push(tokio::spawn(async move { store_same(&app, &ns).await }));
        }
    }
    let mut hash = String::new();
    let mut acknowledged = Vec::new();
    for task in tasks {
        let (h, id) = task.await.expect("store task");
        hash = h;
        acknowledged.push(id);
    }
    for app in apps {
        let (mut ids, total, latest) = listed(app, ns, &hash).await.expect("by-hash reference");
        assert_eq!(total as usize, acknowledged.len(), "total_versions");
        assert!(
            ids.contains(&latest),
            "latest_id {latest} is one of the listed ids"
        );
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "an id is listed twice");
        let mut expected = acknowledged.clone();
        expected.sort();
        assert_eq!(
            ids, expected,
            "every acknowledged store is listed, nothing else"
        );
    }
}

/// Deletes through some apps racing stores of the same content through others: afterwards the
/// reference lists exactly the stored ids that were not deleted (none lost, none resurrected),
/// and retrieve by hash finds a listed one. Includes deletes of the last version (the
/// tombstone path) racing a new store, `rounds` times.
pub async fn deletes_racing_stores_lose_nothing(apps: &[Arc<TestApp>], ns: &str, rounds: usize) {
    assert!(apps.len() >= 2);
    // Many versions: delete half while appending as many again.
    let mut stored = Vec::new();
    let mut hash = String::new();
    for i in 0..12 {
        let (h, id) = store_same(&apps[i % apps.len()], ns).await;
        hash = h;
        stored.push(id);
    }
    let mut tasks = Vec::new();
    for (i, id) in stored.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let (app, ns, id) = (Arc::clone(&apps[i % apps.len()]), ns.to_owned(), id.clone());
        tasks.push(tokio::spawn(async move {
            let r = app.delete(&format!("/{ns}/delete/{id}")).await;
            assert_eq!(r.status, StatusCode::OK, "delete: {}", r.text());
            assert_eq!(r.json()["status"], "success", "{}", r.text());
            None
        }));
    }
    for i in 0..6 {
        let (app, ns) = (Arc::clone(&apps[(i + 1) % apps.len()]), ns.to_owned());
        tasks.push(tokio::spawn(
            async move { Some(store_same(&app, &ns).await.1) },
        ));
    }
    let mut expected: Vec<String> = stored.iter().skip(1).step_by(2).cloned().collect();
    for task in tasks {
        if let Some(id) = task.await.expect("task") {
            expected.push(id);
        }
    }
    expected.sort();
    for app in apps {
        let (mut ids, total, _) = listed(app, ns, &hash).await.expect("by-hash reference");
        ids.sort();
        assert_eq!(ids, expected, "exactly the ids stored and not deleted");
        assert_eq!(total as usize, expected.len());
    }
    // Clear it, then: the last version's delete against a new store, each round.
    for id in &expected {
        let r = apps[0].delete(&format!("/{ns}/delete/{id}")).await;
        assert_eq!(r.json()["status"], "success", "{}", r.text());
    }
    assert_eq!(
        listed(&apps[0], ns, &hash).await,
        None,
        "last delete removes the file"
    );
    for round in 0..rounds {
        let (_, only) = store_same(&apps[round % apps.len()], ns).await;
        let deleter = Arc::clone(&apps[(round + 1) % apps.len()]);
        let storer = Arc::clone(&apps[(round + 2) % apps.len()]);
        let path = format!("/{ns}/delete/{only}");
        let delete = tokio::spawn(async move { deleter.delete(&path).await.status });
        let ns_owned = ns.to_owned();
        let store = tokio::spawn(async move { store_same(&storer, &ns_owned).await.1 });
        assert_eq!(delete.await.expect("delete task"), StatusCode::OK);
        let new = store.await.expect("store task");
        let (ids, total, latest) = listed(&apps[0], ns, &hash)
            .await
            .unwrap_or_else(|| panic!("round {round}: the acknowledged store {new} was lost"));
        assert_eq!(ids, vec![new.clone()], "round {round}");
        assert_eq!((total, latest.as_str()), (1, new.as_str()), "round {round}");
        let r = apps[round % apps.len()]
            .get(&format!("/{ns}/retrieve/hash/{hash}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "round {round}: {}", r.text());
        let r = apps[0].delete(&format!("/{ns}/delete/{new}")).await;
        assert_eq!(r.json()["status"], "success", "{}", r.text());
    }
}

/// Concurrent first stores of one `key_based` key and file id (one content path, as the
/// storage layer's target entries use) with different contents through every app:
/// the `.config` and the first-store fields of `.metadata` come from one store (conditional
/// creation), the key holds one of the stored contents whole, and the `.metadata` `data`
/// section, rewritten by every store (last writer wins by design: it describes one store, it
/// merges nothing), names one acknowledged store. Every acknowledged id still retrieves.
pub async fn distinct_stores_of_one_key_leave_a_consistent_entry(apps: &[Arc<TestApp>], ns: &str) {
    let mut tasks = Vec::new();
    for (a, app) in apps.iter().enumerate() {
        for i in 0..4 {
            let (app, ns) = (Arc::clone(app), ns.to_owned());
            tasks.push(tokio::spawn(async move {
                let body = format!(r#"{{"writer":{a},"n":{i}}}"#);
                let r = app
                    .post_json(
                        &format!("/{ns}/key_based/store/json/runs/one?file_id=entry"),
                        &body,
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "store: {}", r.text());
                (r.json()["cache_id"].as_str().expect("id").to_owned(), body)
            }));
        }
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.push(task.await.expect("task"));
    }
    let content = format!("{ns}/data/key-based/runs/one");
    let files: Vec<String> = apps[0]
        .files()
        .await
        .into_iter()
        .filter(|f| f.starts_with(&format!("{content}/")))
        .collect();
    assert_eq!(
        files,
        ["entry.json", "entry.json.config", "entry.json.metadata"]
            .map(|f| format!("{content}/{f}")),
        "one content path"
    );
    let content_file = files
        .iter()
        .find(|f| f.starts_with(&content) && f.ends_with(".json"))
        .expect("the key's content file")
        .clone();
    let held: Value = serde_json::from_str(&apps[0].file_text(&content_file).await).expect("json");
    assert!(
        acknowledged
            .iter()
            .any(|(_, body)| serde_json::from_str::<Value>(body).expect("json") == held),
        "the key holds one stored content whole: {held}"
    );
    let metadata: Value =
        serde_json::from_str(&apps[0].file_text(&format!("{content_file}.metadata")).await)
            .expect("metadata json");
    let described = metadata["data"]["cache_id"]
        .as_str()
        .expect("data.cache_id");
    assert!(
        acknowledged.iter().any(|(id, _)| id == described),
        "the metadata describes an acknowledged store: {metadata}"
    );
    for (app, (id, _)) in apps.iter().cycle().zip(&acknowledged) {
        let r = app.get(&format!("/{ns}/retrieve/{id}/json")).await;
        assert_eq!(r.status, StatusCode::OK, "{id}: {}", r.text());
    }
}

/// Instances remember an entry's data folders, never that it exists: once one instance deletes
/// the entry, another that read its children just before answers 404 for them (read, stream,
/// store), though the reference's delete leaves the child files in storage.
pub async fn children_of_an_entry_deleted_elsewhere_are_gone(apps: &[Arc<TestApp>], ns: &str) {
    let (deleter, reader) = (&apps[0], &apps[1]);
    let (_, id) = store_same(deleter, ns).await;
    let child = format!("/{ns}/cache/{id}/data");
    let r = deleter
        .post_json(&format!("{child}/store/json/report"), r#"{"p50": 1}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "store json: {}", r.text());
    let r = deleter
        .post_bytes(&format!("{child}/store/binary/blob"), b"\x00bytes")
        .await;
    assert_eq!(r.status, StatusCode::OK, "store binary: {}", r.text());
    for _ in 0..2 {
        let r = reader.get(&format!("{child}/json/report")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json(), serde_json::json!({"p50": 1}));
        let r = reader.get(&format!("{child}/binary/blob")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let before = deleter.files().await;
    let r = deleter.delete(&format!("/{ns}/delete/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let left: Vec<&String> = deleter
        .files()
        .await
        .iter()
        .filter(|f| f.contains("report"))
        .map(|f| before.iter().find(|b| *b == f).expect("was there"))
        .collect();
    assert!(
        !left.is_empty(),
        "the reference leaves child files in storage"
    );
    assert_eq!(
        reader.get(&format!("{child}/json/report")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reader.get(&format!("{child}/binary/blob")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = reader
        .post_json(&format!("{child}/store/json/later"), "{}")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}
