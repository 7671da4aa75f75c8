//! The console's router driven in-process (tower `oneshot`) over the demo store on memory,
//! local disk and the cache service: what each page and JSON endpoint answers, untrusted
//! content kept inert, and clear 404s and 400s.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cache_client::CacheClient;
use http_body_util::BodyExt;
use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;
use perfstore::session::ensure_session;
use perfstore_console::demo::{self, seed_demo};
use perfstore_console::{ReportOptions, report, router};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(store: &Store, uri: &str) -> Answer {
    let response = router(store.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get_json(store: &Store, uri: &str) -> Value {
    let a = get(store, uri).await;
    assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
    serde_json::from_str(&a.body).unwrap()
}

/// The demo on each backend; the temp dir keeps the local one alive.
async fn demo_stores() -> Vec<(&'static str, Store, Option<TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let stores = vec![
        ("memory", Store::memory(), None),
        ("local", Store::local(dir.path().join("store")), Some(dir)),
        (
            "cache_service",
            Store::new(CacheServiceStorage::new(
                CacheClient::in_memory(),
                "perf-results",
            )),
            None,
        ),
    ];
    for (_, store, _) in &stores {
        seed_demo(store).await.unwrap();
    }
    stores
}

#[tokio::test]
async fn sessions_page_lists_every_session_with_baselines_marked() {
    for (backend, store, _dir) in demo_stores().await {
        let page = get(&store, "/").await;
        assert_eq!(page.status, StatusCode::OK, "{backend}");
        for s in demo::SESSIONS {
            assert!(
                page.body.contains(&format!("data-session=\"{s}\"")),
                "{backend}: {s}"
            );
        }
        assert!(page.body.contains("@main"), "{backend}");
        let csp = page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
        assert!(
            !page.body.contains("<script"),
            "{backend}: pages carry no script"
        );

        let json = get_json(&store, "/api/sessions").await;
        let rows = json["sessions"].as_array().unwrap();
        assert_eq!(rows.len(), demo::SESSIONS.len(), "{backend}");
        let main = rows
            .iter()
            .find(|r| r["session"] == demo::MAIN_BASELINE_SESSION)
            .unwrap();
        assert_eq!(main["baselines"], serde_json::json!(["main"]), "{backend}");
        assert_eq!(main["targets"], 2, "{backend}");
        assert!(main["git_commit"].is_string(), "{backend}");
    }
}

#[tokio::test]
async fn target_page_renders_each_kind_safely() {
    for (backend, store, _dir) in demo_stores().await {
        let page = get(&store, "/target?session=nightly-08&target=parser").await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        let body = &page.body;
        // Markdown rendered, its raw HTML and hostile link inert.
        assert!(
            body.contains("<h1>Parser nightly summary</h1>"),
            "{backend}"
        );
        assert!(body.contains("<table>"), "{backend}");
        assert!(
            body.contains("&lt;b&gt;raw html stays text&lt;/b&gt;"),
            "{backend}"
        );
        assert!(!body.contains("<script"), "{backend}");
        assert!(!body.contains("javascript:"), "{backend}");
        // JSON as a tree, HTML in a sandboxed iframe, SVG and PNG through <img>, bin a download.
        assert!(body.contains("class=\"json-tree\""), "{backend}");
        assert!(
            body.contains("<iframe class=\"html-artifact\" sandbox=\"\""),
            "{backend}"
        );
        assert!(!body.contains("allow-scripts"), "{backend}");
        assert_eq!(
            body.matches("<img class=\"image-artifact\"").count(),
            2,
            "{backend}"
        );
        assert!(!body.contains("<svg xmlns"), "{backend}: SVG never inline");
        assert!(
            body.contains("data-key=\"data/profile.bin\" data-display=\"download\""),
            "{backend}"
        );

        let html = get(
            &store,
            "/artifact?session=nightly-08&target=parser&key=reports/flame.html",
        )
        .await;
        assert_eq!(html.status, StatusCode::OK);
        assert!(
            html.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("sandbox;")
        );
        assert_eq!(
            html.headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let bin = get(
            &store,
            "/artifact?session=nightly-08&target=parser&key=data/profile.bin",
        )
        .await;
        assert_eq!(
            bin.headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"profile.bin\""
        );
        let svg = get(
            &store,
            "/artifact?session=nightly-08&target=parser&key=charts/trend.svg",
        )
        .await;
        assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
        assert!(
            svg.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("sandbox;")
        );

        let json = get_json(&store, "/api/target?session=nightly-08&target=parser").await;
        assert_eq!(json["artifacts"].as_array().unwrap().len(), 7, "{backend}");
    }
}

#[tokio::test]
async fn compare_puts_the_regression_first_with_the_librarys_verdict() {
    for (backend, store, _dir) in demo_stores().await {
        let json = get_json(&store, "/api/compare?base=@main&candidate=nightly-06").await;
        assert_eq!(json["verdict"], "regressed", "{backend}");
        let metrics = json["metrics"].as_array().unwrap();
        assert_eq!(metrics[0]["verdict"], "regression", "{backend}");
        assert_eq!(metrics[0]["path"], "latency.p99_ms", "{backend}");
        assert_eq!(metrics[0]["target"], "parser", "{backend}");
        let ranks: Vec<&str> = metrics
            .iter()
            .map(|m| m["verdict"].as_str().unwrap())
            .collect();
        let first_unchanged = ranks.iter().position(|v| *v == "unchanged");
        if let Some(i) = first_unchanged {
            assert!(ranks[i..].iter().all(|v| *v == "unchanged"), "{ranks:?}");
        }
        assert_eq!(json["diff"]["summary"]["regressions"], 1, "{backend}");

        let page = get(
            &store,
            "/compare?base=@main&candidate=nightly-06&threshold=5%25",
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        let first_row = page.body.find("<tr class=\"").unwrap();
        assert!(
            page.body[first_row..]
                .starts_with("<tr class=\"regression\" data-metric=\"latency.p99_ms\""),
            "{backend}"
        );
        assert!(page.body.contains("data-verdict=\"regressed\""));
        // One target only: the form keeps it, and the lexer alone has no regression.
        let lexer = get(
            &store,
            "/compare?base=@main&candidate=nightly-06&target=lexer",
        )
        .await;
        assert!(
            lexer.body.contains("name=\"target\" value=\"lexer\""),
            "{backend}"
        );
        assert!(lexer.body.contains("data-verdict=\"ok\""), "{backend}");
        assert!(!lexer.body.contains("<td>parser</td>"), "{backend}");
        // A looser threshold is the library's call too: 40 % hides the 30 % step.
        let loose = get_json(
            &store,
            "/api/compare?base=@main&candidate=nightly-06&threshold=40%25",
        )
        .await;
        assert_eq!(loose["verdict"], "ok", "{backend}");
    }
}

#[tokio::test]
async fn history_charts_every_session_and_marks_the_regression() {
    for (backend, store, _dir) in demo_stores().await {
        let json = get_json(&store, "/api/history?target=parser&metric=latency.p99_ms").await;
        let sessions: Vec<&str> = json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["session"].as_str().unwrap())
            .collect();
        assert_eq!(sessions, demo::SESSIONS, "{backend}");
        let series = json["series"].as_array().unwrap();
        assert_eq!(series.len(), 1, "{backend}");
        assert_eq!(series[0]["points"].as_array().unwrap().len(), 8);
        let regressed = demo::SESSIONS
            .iter()
            .position(|s| *s == demo::REGRESSED_SESSION)
            .unwrap();
        assert!(
            series[0]["regressions"]
                .as_array()
                .unwrap()
                .contains(&Value::from(regressed)),
            "{backend}: {series:?}"
        );

        let page = get(&store, "/history?target=parser").await;
        assert_eq!(page.status, StatusCode::OK);
        // Every metric of the target, each a chart of 8 points.
        assert_eq!(
            page.body.matches("<figure class=\"chart\"").count(),
            3,
            "{backend}"
        );
        assert_eq!(
            page.body.matches("data-points=\"8\"").count(),
            3,
            "{backend}"
        );
        assert!(
            page.body.contains("class=\"point regression\""),
            "{backend}"
        );
        assert!(page.body.contains("class=\"baseline-label\""), "{backend}");
        let last = get(&store, "/history?target=parser&metric=latency.*&last=3").await;
        assert_eq!(
            last.body.matches("data-points=\"3\"").count(),
            2,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn missing_things_are_404_pages_and_bad_input_is_400() {
    let store = Store::memory();
    seed_demo(&store).await.unwrap();
    for (uri, status, says) in [
        ("/session?name=nope", 404, "session nope not found"),
        (
            "/target?session=nope&target=parser",
            404,
            "session nope not found",
        ),
        (
            "/target?session=nightly-08&target=nope",
            404,
            "target nope not found",
        ),
        (
            "/target?session=nightly-08&target=parser&key=missing.json",
            404,
            "artifact missing.json not found",
        ),
        (
            "/artifact?session=nightly-08&target=parser&key=x",
            404,
            "not found",
        ),
        ("/compare?base=@nobody&candidate=nightly-01", 404, "nobody"),
        (
            "/history?target=nothing",
            404,
            "target nothing is in no session",
        ),
        ("/nowhere", 404, "no page at /nowhere"),
        ("/session?name=../etc", 400, "invalid"),
        ("/session", 400, "?name="),
        (
            "/compare?base=nightly-01&candidate=nightly-02&threshold=5",
            400,
            "threshold",
        ),
        ("/history?target=parser&last=zero", 400, "last"),
    ] {
        let a = get(&store, uri).await;
        assert_eq!(a.status.as_u16(), status, "{uri}: {}", a.body);
        assert!(a.body.contains(says), "{uri}: {}", a.body);
        assert!(a.body.contains("<h1>"), "{uri}: an HTML page");
    }
    let api = get(&store, "/api/session?name=nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(body["error"], "session nope not found");
}

#[tokio::test]
async fn labels_and_json_keys_are_escaped_everywhere() {
    let store = Store::memory();
    let session = perfstore::SessionName::new("evil").unwrap();
    let labels = BTreeMap::from([("note".to_owned(), "<img src=x onerror=alert(1)>".to_owned())]);
    ensure_session(&store, &session, &labels).await.unwrap();
    store
        .target("evil", "t")
        .unwrap()
        .save(
            "m.json",
            &serde_json::json!({"<script>k</script>": "\"><svg onload=alert(1)>"}),
        )
        .await
        .unwrap();
    for uri in ["/", "/session?name=evil", "/target?session=evil&target=t"] {
        let a = get(&store, uri).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        assert!(!a.body.contains("<img src=x"), "{uri}");
        assert!(!a.body.contains("<script>k"), "{uri}");
        assert!(!a.body.contains("<svg onload"), "{uri}");
    }
    let a = get(&store, "/").await;
    assert!(a.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn the_report_is_one_self_contained_file() {
    for (backend, store, _dir) in demo_stores().await {
        let html = report(
            &store,
            &ReportOptions {
                session: "nightly-08".into(),
                against: Some("@main".into()),
                ..ReportOptions::default()
            },
        )
        .await
        .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{backend}");
        assert!(html.contains("<style>"), "{backend}: CSS inline");
        for external in [
            "<link", "src=", "<script", "href=\"/", "http://", "https://",
        ] {
            assert!(
                !html.contains(external),
                "{backend}: {external} in the report"
            );
        }
        assert!(html.contains("data-verdict=\"regressed\""), "{backend}");
        // parser (3 metrics) and lexer (2), each over every session.
        assert_eq!(html.matches("data-points=\"8\"").count(), 5, "{backend}");
        assert!(html.contains("class=\"point regression\""), "{backend}");

        let recent = report(
            &store,
            &ReportOptions {
                session: "nightly-08".into(),
                last: Some(3),
                ..ReportOptions::default()
            },
        )
        .await
        .unwrap();
        assert!(
            !recent.contains("class=\"comparison\""),
            "{backend}: no --against, no comparison"
        );
        assert_eq!(recent.matches("data-points=\"3\"").count(), 5, "{backend}");

        let missing = report(
            &store,
            &ReportOptions {
                session: "nope".into(),
                ..ReportOptions::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(missing.to_string(), "session nope not found");
    }
}

#[tokio::test]
async fn sessions_come_a_page_at_a_time_newest_name_first() {
    let store = Store::memory();
    for i in 0..260 {
        store
            .target(&format!("s-{i:03}"), "t")
            .unwrap()
            .save_string("k.txt", "v")
            .await
            .unwrap();
    }
    let first = get_json(&store, "/api/sessions").await;
    assert_eq!(
        (first["total"].as_u64(), first["pages"].as_u64()),
        (Some(260), Some(2))
    );
    let rows = first["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 250);
    assert_eq!(rows[0]["session"], "s-259");
    let second = get_json(&store, "/api/sessions?page=2").await;
    let rows = second["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[9]["session"], "s-000");
    let page = get(&store, "/?page=2").await;
    assert!(page.body.contains("page 2 of 2"), "{}", page.body);
    assert!(page.body.contains("href=\"/?page=1\""));
    assert_eq!(get(&store, "/?page=3").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&store, "/?page=x").await.status,
        StatusCode::BAD_REQUEST
    );
}
