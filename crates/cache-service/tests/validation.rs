//! Request handling as the reference: 400 validation envelopes, sanitising, body decoding,
//! 404 / 405 / redirects, 413, request ids.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, issues};
use serde_json::json;

const GUID: &str = "12345678-1234-1234-1234-123456789abc";

#[tokio::test]
async fn invalid_identifiers_are_400_with_reference_messages() {
    let app = TestApp::memory();
    let r = app.get("/demo/retrieve/nope").await;
    assert_eq!(
        r.text(),
        r#"{"detail":[{"type":"value_error","loc":["query","cache_id"],"msg":"in Random_Guid: value provided was not a Guid: nope","input":"nope"}]}"#
    );
    let r = app.get("/demo/retrieve/hash/ABCDEF0123").await;
    assert_eq!(
        issues(&r),
        [
            json!({"type":"value_error","loc":["query","cache_hash"],"msg":"in Safe_Str__Cache_Hash, value does not match required pattern: ^[a-f0-9]{10,96}$","input":"ABCDEF0123"})
        ]
    );
    // Route order: `hash/json` is a cache id `hash`, as in the reference.
    let r = app.get("/demo/retrieve/hash/json").await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "in Random_Guid: value provided was not a Guid: hash"
    );
    // Wrapper errors in parameter order: cache_id before namespace.
    let long = "a".repeat(129);
    let r = app.get(&format!("/{long}/exists/id/nope")).await;
    let found = issues(&r);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["loc"], json!(["query", "cache_id"]));
    assert_eq!(
        found[1]["msg"],
        "in Safe_Str__Id, value exceeds maximum length of 128 characters (was 129)"
    );
    for uri in [
        "/demo/delete/nope".to_owned(),
        "/demo/update/nope/json".to_owned(),
    ] {
        let r = app
            .request(
                if uri.contains("delete") {
                    Method::DELETE
                } else {
                    Method::POST
                },
                &uri,
                Some("application/json"),
                "{}",
            )
            .await;
        assert_eq!(issues(&r)[0]["loc"], json!(["query", "cache_id"]), "{uri}");
    }
}

#[tokio::test]
async fn class_names_follow_each_route() {
    let app = TestApp::memory();
    let long = "f".repeat(129);
    let r = app
        .post_json(
            &format!("/demo/key_based/store/json/a?file_id={long}"),
            "{}",
        )
        .await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "in Safe_Str__Cache__File__File_Id, value exceeds maximum length of 128 characters (was 129)"
    );
    let r = app
        .post_text(
            &format!("/demo/key_based/store/string/a?file_id={long}"),
            "x",
        )
        .await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "in Safe_Str__Id, value exceeds maximum length of 128 characters (was 129)"
    );
    let r = app.post_json("/demo/key_based/store/json/___", "{}").await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "in Safe_Str__Cache__File__Cache_Key, sanitized value consists entirely of '_' characters"
    );
    let r = app.post_text("/demo/key_based/store/string/___", "x").await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "in Safe_Str__File__Path, sanitized value consists entirely of '_' characters"
    );
    let r = app
        .post_json("/demo/key_based/store/json/a?json_field_path=..a", "{}")
        .await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "Field path cannot contain consecutive dots: '..a'"
    );
}

#[tokio::test]
async fn enums_and_booleans_are_validated_before_identifiers() {
    let app = TestApp::memory();
    let r = app.post_json("/demo/bogus/store/json", "[1]").await;
    assert_eq!(
        r.text(),
        r#"{"detail":[{"type":"enum","loc":["path","strategy"],"msg":"Input should be 'direct', 'temporal', 'temporal_latest', 'temporal_versioned' or 'key_based'","input":"bogus","ctx":{"expected":"'direct', 'temporal', 'temporal_latest', 'temporal_versioned' or 'key_based'"}},{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":[1]}]}"#
    );
    let r = app.get("/demo/cache/nope/data/exists/bogus/x").await;
    assert_eq!(issues(&r)[0]["loc"], json!(["path", "data_type"]));
    assert_eq!(
        issues(&r)[0]["ctx"]["expected"],
        "'json', 'string', 'binary' or 'type-safe'"
    );
    let r = app
        .get(&format!("/demo/cache/{GUID}/data/list?recursive=maybe"))
        .await;
    assert_eq!(
        issues(&r),
        [
            json!({"type":"bool_parsing","loc":["query","recursive"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"})
        ]
    );
    let r = app
        .get(&format!("/demo/cache/{GUID}/data/list?recursive=no"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn body_decoding_like_fastapi() {
    let app = TestApp::memory();
    let json_ct = Some("application/json");
    let cases: [(&str, Option<&str>, &[u8], &str); 12] = [
        (
            "/d/temporal/store/json",
            json_ct,
            b"[1,2]",
            r#"{"detail":[{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":[1,2]}]}"#,
        ),
        (
            "/d/temporal/store/json",
            json_ct,
            b"{bad",
            r#"{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}"#,
        ),
        (
            "/d/temporal/store/json",
            json_ct,
            b"",
            r#"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#,
        ),
        (
            "/d/temporal/store/json",
            Some("text/plain"),
            br#"{"a":1}"#,
            r#"{"detail":[{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":"b'{\"a\":1}'"}]}"#,
        ),
        (
            "/d/temporal/store/json",
            None,
            br#"{"a":1}"#,
            r#"{"detail":[{"type":"dict_type","loc":["body"],"msg":"Input should be a valid dictionary","input":"b'{\"a\":1}'"}]}"#,
        ),
        (
            "/d/temporal/store/string",
            json_ct,
            b"123",
            r#"{"detail":[{"type":"string_type","loc":["body"],"msg":"Input should be a valid string","input":123}]}"#,
        ),
        (
            "/d/temporal/store/string",
            json_ct,
            b"null",
            r#"{"detail":[{"type":"string_type","loc":["body"],"msg":"Input should be a valid string","input":null}]}"#,
        ),
        (
            "/d/temporal/store/string",
            Some("text/plain"),
            b"\xff\xfe",
            r#"{"detail":[{"type":"string_unicode","loc":["body"],"msg":"Input should be a valid string, unable to parse raw data as a unicode string","input":"b'\\xff\\xfe'"}]}"#,
        ),
        (
            "/d/temporal/store/binary",
            json_ct,
            br#"{"a":1}"#,
            r#"{"detail":[{"type":"bytes_type","loc":["body"],"msg":"Input should be a valid bytes","input":{"a":1}}]}"#,
        ),
        (
            "/d/temporal/store/json",
            json_ct,
            b"{\"a\":\"\xff\"}",
            r#"{"detail":"There was an error parsing the body"}"#,
        ),
        (
            "/d/temporal/store/json",
            json_ct,
            b"{\"a\":1} x",
            r#"{"detail":[{"type":"json_invalid","loc":["body",8],"msg":"JSON decode error","input":{},"ctx":{"error":"Extra data"}}]}"#,
        ),
        // JSON errors come before path validation.
        (
            "/d/bogus/store/json",
            json_ct,
            b"{",
            r#"{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}"#,
        ),
    ];
    for (uri, ct, body, expected) in cases {
        let r = app.request(Method::POST, uri, ct, body.to_vec()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri} {body:?}");
        assert_eq!(r.text(), expected, "{uri} {body:?}");
    }
    // A JSON string is accepted for bytes; `application/*+json` counts as JSON.
    let r = app
        .request(
            Method::POST,
            "/d/temporal/store/binary",
            json_ct,
            r#""abc""#,
        )
        .await;
    assert_eq!(r.json()["cache_hash"], cache_wire::hash::hash_bytes(b"abc"));
    let r = app
        .request(
            Method::POST,
            "/d/temporal/store/json",
            Some("application/vnd.api+json; charset=utf-8"),
            r#"{"a":1}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn empty_inputs() {
    let app = TestApp::memory();
    let r = app.post_json("/d/temporal/store/string", r#""""#).await;
    let detail = &r.json()["detail"];
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let keys: Vec<&String> = detail.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "field_value",
            "constraints",
            "error_type",
            "message",
            "timestamp",
            "request_id",
            "field_name",
            "expected_type"
        ]
    );
    assert_eq!(detail["message"], "String data cannot be empty");
    assert_eq!(detail["expected_type"], "non-empty_string");
    let r = app.post_text("/d/temporal/store/string", "").await;
    assert_eq!(issues(&r)[0]["type"], "missing");
    let r = app.post_bytes("/d/temporal/store/binary", b"").await;
    assert_eq!(issues(&r)[0]["type"], "missing");
    let r = app.post_json("/d/temporal/store/binary", r#""""#).await;
    assert_eq!(r.json()["detail"]["message"], "Binary data cannot be empty");
    assert_eq!(r.json()["detail"]["expected_type"], "non-empty_binary_data");
    for uri in ["/d/key_based/store/json/", "/d/key_based/store/json/%20"] {
        let r = app.post_json(uri, "{}").await;
        assert_eq!(
            r.json()["detail"]["message"],
            "Cache key is required for this endpoint",
            "{uri}"
        );
        assert_eq!(r.json()["detail"]["expected_type"], "valid_file_path");
    }
    let r = app.post_json("/d/direct/store/json", "{}").await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn query_values_empty_duplicated_and_sanitised() {
    let app = TestApp::memory();
    let r = app
        .post_json(
            "/demo/key_based/store/json/k?file_id=&json_field_path=",
            r#"{"a":1}"#,
        )
        .await
        .json();
    let id = r["cache_id"].as_str().unwrap();
    assert_eq!(
        r["paths"]["data"][0],
        format!("demo/data/key-based/k/{id}.json")
    );
    let r = app
        .post_json(
            "/demo/key_based/store/json/k?file_id=a&file_id=b",
            r#"{"a":1}"#,
        )
        .await
        .json();
    assert_eq!(r["paths"]["data"][0], "demo/data/key-based/k/b.json");
    let r = app.get(&format!("/de.mo/exists/id/{GUID}")).await.json();
    assert_eq!(r["namespace"], "de_mo");
}

#[tokio::test]
async fn cache_keys_with_dot_segments() {
    let app = TestApp::memory();
    let r = app
        .post_json("/demo/key_based/store/json/a/%2E%2E/b", "{}")
        .await;
    assert_eq!(
        issues(&r)[0]["msg"],
        "cache_key must not contain '..' path segments"
    );
    let r = app
        .post_json("/demo/key_based/store/json/a//./b/", "{}")
        .await
        .json();
    let id = r["cache_id"].as_str().unwrap();
    assert_eq!(
        r["paths"]["data"][0],
        format!("demo/data/key-based/a/b/{id}.json")
    );
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_slash_redirects() {
    let app = TestApp::memory();
    let r = app.get("/nope").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#)
    );
    assert_eq!(app.get("/").await.status, StatusCode::NOT_FOUND);
    let r = app.request(Method::POST, "/info/health", None, "").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"detail":"Method Not Allowed"}"#
        )
    );
    assert_eq!(r.header("allow"), Some("GET"));
    let r = app
        .request(Method::PATCH, "/demo/temporal/store/json", None, "")
        .await;
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(
        app.request(Method::HEAD, "/info/health", None, "")
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let request = axum::http::Request::builder()
        .uri("/info/health/?x=1")
        .header("host", "testserver")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        r.header("location"),
        Some("http://testserver/info/health?x=1")
    );
    assert!(r.body.is_empty());
    let r = app.get("/admin/storage/files/in").await;
    assert_eq!(r.header("location"), Some("/admin/storage/files/in/"));
}

#[tokio::test]
async fn every_response_has_a_request_id_and_vary() {
    let app = TestApp::memory();
    let mut seen = std::collections::HashSet::new();
    for uri in ["/info/health", "/nope", "/demo/retrieve/nope"] {
        let r = app.get(uri).await;
        let id = r.header("fast-api-request-id").unwrap().to_owned();
        common::assert_uuid4(&id);
        assert!(seen.insert(id));
        assert_eq!(r.header("vary"), Some("Origin"));
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::new(cache_service::AppState::in_memory().with_max_body_bytes(16));
    let r = app
        .post_text("/demo/direct/store/string", &"x".repeat(17))
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"detail":"Request Entity Too Large"}"#
        )
    );
    assert!(r.header("fast-api-request-id").is_some());
    // A streamed body without Content-Length is cut off too.
    let stream = futures::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"xxxxxxxx"))),
    );
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/demo/direct/store/binary")
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from_stream(stream))
        .unwrap();
    assert_eq!(
        app.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let r = app
        .post_text("/demo/direct/store/string", &"x".repeat(16))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn deep_and_odd_json_never_crashes_the_server() {
    let app = TestApp::memory();
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(900), "]".repeat(900));
    let r = app.post_json("/d/direct/store/json", &deep).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/d/retrieve/{id}/json")).await.status,
        StatusCode::OK
    );
    let too_deep = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let r = app.post_json("/d/direct/store/json", &too_deep).await;
    assert_eq!(
        r.text(),
        r#"{"detail":"There was an error parsing the body"}"#
    );
    // COMPAT D23: values Python can hold but a JSON document here cannot.
    for body in [r#"{"a":NaN}"#, r#"{"a":"\ud800"}"#] {
        let r = app.post_json("/d/direct/store/json", body).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (
                StatusCode::BAD_REQUEST,
                r#"{"detail":"There was an error parsing the body"}"#
            ),
            "{body}"
        );
    }
    let r = app
        .post_json("/d/direct/store/json", r#"{"a":Infinity}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .post_json("/d/direct/store/json", r#"{"a":1e400}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let id = r.json()["cache_id"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/d/retrieve/{id}/json")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json()["error"],
        "Out of range float values are not JSON compliant: inf"
    );
}

/// A namespace that sanitises to nothing: stores go to the storage root; hash lookups, delete
/// and `/retrieve/{id}/json` look in `default` (the reference's `namespace or "default"`).
#[tokio::test]
async fn blank_namespace_follows_the_reference() {
    let app = TestApp::memory();
    let r = app.post_text("/%20/direct/store/string", "ns").await.json();
    assert_eq!(r["namespace"], "");
    let id = r["cache_id"].as_str().unwrap().to_owned();
    assert!(
        r["paths"]["by_id"][0]
            .as_str()
            .unwrap()
            .starts_with("refs/by-id/")
    );
    assert_eq!(
        app.get(&format!("/%20/retrieve/{id}/string")).await.text(),
        "ns"
    );
    assert_eq!(
        app.get(&format!("/%20/retrieve/{id}/json")).await.status,
        StatusCode::NOT_FOUND
    );
    let hash = r["cache_hash"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/%20/retrieve/hash/{hash}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/%20/exists/hash/{hash}")).await.json()["exists"],
        true
    );
    let r = app.delete(&format!("/%20/delete/{id}")).await.json();
    assert_eq!(r["status"], "not_found");
    let stored = app
        .post_text("/default/direct/store/string", "d")
        .await
        .json();
    let did = stored["cache_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/%20/retrieve/{did}/json")).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}
