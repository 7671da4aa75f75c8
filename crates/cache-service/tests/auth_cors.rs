//! API-key authentication and CORS as the reference's middleware stack (spec §2.1).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use cache_service::{AppState, AuthSettings};
use common::TestApp;

fn app_with(auth: AuthSettings) -> TestApp {
    TestApp::new(AppState::new(
        CacheService::new(FileStore::memory(), 24),
        auth,
    ))
}

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::empty()).unwrap()
}

/// Request headers, expected status, expected 401 message.
type Case = (
    &'static [(&'static str, &'static str)],
    StatusCode,
    Option<&'static str>,
);

fn unauthorized_body(message: &str) -> String {
    format!(
        "{{\n    \"data\": null,\n    \"error\": null,\n    \"message\": \"{message}\",\n    \"status\": \"error\"\n}}"
    )
}

#[tokio::test]
async fn api_key_in_header_or_cookie() {
    let app = app_with(AuthSettings::api_key("x-api-key", "secret123"));
    let cases: [Case; 7] = [
        (
            &[],
            StatusCode::UNAUTHORIZED,
            Some("Client API key is missing, you need to set it on a header or cookie"),
        ),
        (&[("x-api-key", "secret123")], StatusCode::OK, None),
        (&[("X-API-KEY", "secret123")], StatusCode::OK, None),
        (
            &[("x-api-key", "bad")],
            StatusCode::UNAUTHORIZED,
            Some("Invalid API key value"),
        ),
        (
            &[("cookie", "a=b; x-api-key=secret123")],
            StatusCode::OK,
            None,
        ),
        // A non-empty header wins over the cookie; an empty one falls back to it.
        (
            &[("x-api-key", "bad"), ("cookie", "x-api-key=secret123")],
            StatusCode::UNAUTHORIZED,
            Some("Invalid API key value"),
        ),
        (
            &[("x-api-key", ""), ("cookie", "x-api-key=secret123")],
            StatusCode::OK,
            None,
        ),
    ];
    for (headers, status, message) in cases {
        let r = app.send(get("/info/health", headers)).await;
        assert_eq!(r.status, status, "{headers:?}");
        assert!(r.header("fast-api-request-id").is_some());
        match message {
            Some(m) => {
                assert_eq!(r.text(), unauthorized_body(m), "{headers:?}");
                assert_eq!(r.content_type(), Some("application/json"));
                // 401s come from outside the CORS layer.
                assert_eq!(r.header("vary"), None);
            }
            None => assert_eq!(r.text(), r#"{"status":"ok"}"#),
        }
    }
    // Unknown routes need the key too.
    assert_eq!(app.get("/nope").await.status, StatusCode::UNAUTHORIZED);
    let r = app.send(get("/nope", &[("x-api-key", "secret123")])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn excluded_paths_and_preflight() {
    let app = app_with(AuthSettings::api_key("x-api-key", "secret123"));
    // Excluded from the key check (these routes then answer as this server implements them).
    let docs = if cfg!(feature = "openapi") {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    assert_eq!(app.get("/docs").await.status, docs);
    assert_eq!(app.get("/openapi.json").await.status, docs);
    assert_eq!(app.get("/redoc").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/config/status").await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .post_json("/auth/set-auth-cookie", r#"{"cookie_value":"secret123"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("set-cookie"),
        Some("x-api-key=secret123; HttpOnly; Path=/; SameSite=strict")
    );
    // Any OPTIONS is answered by the key middleware.
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/info/health")
        .header("origin", "http://x.com")
        .body(Body::empty())
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://x.com")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, PUT, DELETE, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("api-key__for__mgraph-ai__service, content-type")
    );
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/info/health")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(request)
            .await
            .header("access-control-allow-origin"),
        Some("*")
    );
}

#[tokio::test]
async fn misconfigured_auth_answers_like_the_reference() {
    let no_name = app_with(AuthSettings {
        enabled: true,
        key_name: None,
        key_value: Some("v".into()),
    });
    let r = no_name.get("/info/health").await;
    assert_eq!(
        r.text(),
        unauthorized_body("Server does not have API key name setup")
    );
    let no_value = app_with(AuthSettings {
        enabled: true,
        key_name: Some("x-api-key".into()),
        key_value: None,
    });
    let r = no_value
        .send(get("/info/health", &[("x-api-key", "v")]))
        .await;
    assert_eq!(
        r.text(),
        unauthorized_body("Server does not have API key value setup")
    );
}

#[tokio::test]
async fn cors_like_starlette() {
    let app = TestApp::memory();
    let r = app
        .send(get("/info/health", &[("origin", "http://x.com")]))
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://x.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("Content-Type, X-Requested-With, Origin, Accept, Authorization")
    );
    assert_eq!(r.header("vary"), Some("Origin"));

    let preflight = |method: &'static str, headers: Option<&'static str>| {
        let mut b = Request::builder()
            .method(Method::OPTIONS)
            .uri("/info/health")
            .header("origin", "http://x.com")
            .header("access-control-request-method", method);
        if let Some(h) = headers {
            b = b.header("access-control-request-headers", h);
        }
        b.body(Body::empty()).unwrap()
    };
    let r = app.send(preflight("POST", Some("content-type"))).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "OK"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, HEAD")
    );
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(
        r.header("vary"),
        Some(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
        )
    );
    let r = app.send(preflight("PUT", Some("x-api-key"))).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (StatusCode::BAD_REQUEST, "Disallowed CORS method, headers")
    );
    // OPTIONS without a preflight header is a normal request: 405 here.
    let r = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/info/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    // Unhandled-error 500s are produced outside CORS in the reference.
    let r = app
        .post_json("/d/key_based/store/json/k?json_field_path=x", "{}")
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.header("vary"), None);
    assert!(r.header("fast-api-request-id").is_some());
}
