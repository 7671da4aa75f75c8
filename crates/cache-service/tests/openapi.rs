//! `GET /openapi.json` and `GET /docs` (COMPAT.md D24): the document is valid OpenAPI 3.1, lists
//! exactly the routes the server answers, describes real responses, and Swagger UI is served
//! from the binary.
#![cfg(feature = "openapi")]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cache_service::http::openapi::{DOCS_ASSETS, EXTENSIONS_TAG};
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use cache_service::{AppState, AuthSettings};
use common::TestApp;
use serde_json::{Value, json};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), Some("application/json"));
    r.json()
}

/// `(path, method)` of every operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, op) in item.as_object().expect("a path item is an object") {
            if METHODS.contains(&method.as_str()) {
                ops.insert((path.clone(), method.clone()), op.clone());
            }
        }
    }
    ops
}

/// Every `$ref` anywhere in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

#[tokio::test]
async fn document_is_openapi_3_1_with_resolvable_refs() {
    let app = TestApp::memory();
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // (Full validation against the OpenAPI 3.1 meta-schema: tests/compat/test_openapi.py, with
    // openapi-spec-validator. utoipa's own model cannot read its any-value schemas back.)
    for key in ["paths", "components"] {
        assert!(doc[key].is_object(), "{key}");
    }

    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(all_refs.len() > 100, "{} refs", all_refs.len());
    for r in &all_refs {
        assert!(r.starts_with("#/components/schemas/"), "{r}");
        assert!(resolve(&doc, r).is_some(), "unresolved {r}");
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let ops: Vec<_> = item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| METHODS.contains(&m.as_str()))
            .collect();
        assert!(!ops.is_empty(), "{path} has no operation");
    }
    for ((path, method), op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(
            operation_ids.insert(id.clone()),
            "duplicate operationId {id}"
        );
        assert!(op["tags"][0].is_string(), "{method} {path}: no tag");
        assert!(
            op["responses"]["200"]["description"].is_string(),
            "{method} {path}: no 200"
        );
        // Path parameters: exactly the template's, each required.
        let template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{path}: {p}"))
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(template, declared, "{method} {path}");
    }
}

#[tokio::test]
async fn document_lists_exactly_the_routes_served() {
    let app = TestApp::memory();
    let doc = document(&app).await;
    let table = cache_service::http::route_table();
    let mut served: BTreeSet<(String, String)> = table
        .routes()
        .iter()
        .map(|r| {
            (
                r.pattern.replace(":path}", "}"),
                r.method.as_str().to_lowercase(),
            )
        })
        .collect();
    served.insert(("/metrics".to_owned(), "get".to_owned()));
    let ops = operations(&doc);
    let documented: BTreeSet<(String, String)> = ops.keys().cloned().collect();
    assert_eq!(documented, served);
    assert_eq!(documented.len(), 79);

    // Extensions (after the 76 reference routes in the table, and /metrics) carry their tag;
    // no reference route does.
    let extensions: BTreeSet<(String, String)> = table.routes()[76..]
        .iter()
        .map(|r| (r.pattern.to_owned(), r.method.as_str().to_lowercase()))
        .chain([("/metrics".to_owned(), "get".to_owned())])
        .collect();
    for (key, op) in &ops {
        let tagged = op["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == EXTENSIONS_TAG);
        assert_eq!(tagged, extensions.contains(key), "{key:?}");
    }
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for op in ops.values() {
        let tag = op["tags"][0].as_str().unwrap();
        assert!(tags.contains(&tag), "tag {tag} is not described");
    }

    // Query parameters the handlers read are declared.
    let query = |path: &str, method: &str| -> BTreeSet<String> {
        ops[&(path.to_owned(), method.to_owned())]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        query("/{namespace}/{strategy}/store/json/{cache_key}", "post"),
        BTreeSet::from(["file_id".to_owned(), "json_field_path".to_owned()])
    );
    assert_eq!(
        query("/admin/storage/folders/{path}", "get"),
        BTreeSet::from(["recursive".to_owned(), "return_full_path".to_owned()])
    );
    assert_eq!(
        query("/{namespace}/cache/{cache_id}/data/list", "get"),
        BTreeSet::from(["recursive".to_owned()])
    );
}

/// Whether `value` fits `schema` (the subset of JSON Schema utoipa emits: `$ref`, `type`
/// (a name or a list), `properties`/`required`, `items`, `oneOf`/`anyOf`, `enum`, `{}`).
/// Objects may not have properties the schema does not name.
fn conforms(doc: &Value, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let target = resolve(doc, r).ok_or(format!("{at}: unresolved {r}"))?;
        return conforms(doc, value, target, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return if options.iter().any(|s| conforms(doc, value, s, at).is_ok()) {
                Ok(())
            } else {
                Err(format!("{at}: {value} fits no option of {schema}"))
            };
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()), // `{}`: any value
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !fits {
        return Err(format!("{at}: {value} is {kind}, schema says {types:?}"));
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, item, &schema["items"], &format!("{at}[{i}]"))?;
            }
        }
        Value::Object(map) if schema["properties"].is_object() => {
            let properties = schema["properties"].as_object().unwrap();
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !map.contains_key(name) {
                    return Err(format!("{at}: required {name} missing"));
                }
            }
            for (k, v) in map {
                let Some(s) = properties.get(k) else {
                    return Err(format!("{at}: {k} is not in the schema"));
                };
                conforms(doc, v, s, &format!("{at}.{k}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The schema of `status`'s JSON body of `method path`.
fn response_schema(doc: &Value, path: &str, method: &str, status: &str) -> Value {
    let content = &doc["paths"][path][method]["responses"][status]["content"];
    content["application/json"]["schema"].clone()
}

#[tokio::test]
async fn documented_schemas_fit_real_responses() {
    let app = TestApp::memory();
    let doc = document(&app).await;
    let check = |path: &str, method: &str, status: &str, body: &Value| {
        let schema = response_schema(&doc, path, method, status);
        assert!(
            !schema.is_null(),
            "{method} {path} {status}: no JSON schema"
        );
        if let Err(e) = conforms(&doc, body, &schema, "body") {
            panic!("{method} {path} {status}: {e}");
        }
    };

    let stored = app
        .post_json("/demo/temporal/store/json", r#"{"a":1}"#)
        .await;
    assert_eq!(stored.status, StatusCode::OK);
    check(
        "/{namespace}/{strategy}/store/json",
        "post",
        "200",
        &stored.json(),
    );
    let id = stored.json()["cache_id"].as_str().unwrap().to_owned();
    let hash = stored.json()["cache_hash"].as_str().unwrap().to_owned();

    for (template, uri) in [
        (
            "/{namespace}/retrieve/{cache_id}",
            format!("/demo/retrieve/{id}"),
        ),
        (
            "/{namespace}/retrieve/{cache_id}/config",
            format!("/demo/retrieve/{id}/config"),
        ),
        (
            "/{namespace}/retrieve/{cache_id}/metadata",
            format!("/demo/retrieve/{id}/metadata"),
        ),
        (
            "/{namespace}/retrieve/{cache_id}/refs",
            format!("/demo/retrieve/{id}/refs"),
        ),
        (
            "/{namespace}/retrieve/hash/{cache_hash}/metadata",
            format!("/demo/retrieve/hash/{hash}/metadata"),
        ),
        (
            "/{namespace}/retrieve/hash/{cache_hash}/refs-hash",
            format!("/demo/retrieve/hash/{hash}/refs-hash"),
        ),
        (
            "/{namespace}/retrieve/hash/{cache_hash}/cache-id",
            format!("/demo/retrieve/hash/{hash}/cache-id"),
        ),
        (
            "/{namespace}/exists/id/{cache_id}",
            format!("/demo/exists/id/{id}"),
        ),
        ("/{namespace}/stats", "/demo/stats".to_owned()),
        ("/server/storage/info", "/server/storage/info".to_owned()),
        ("/info/health", "/info/health".to_owned()),
        ("/info/server", "/info/server".to_owned()),
        ("/info/status", "/info/status".to_owned()),
        (
            "/admin/storage/bucket-name",
            "/admin/storage/bucket-name".to_owned(),
        ),
        (
            "/admin/storage/files/all/{path}",
            "/admin/storage/files/all/demo".to_owned(),
        ),
    ] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        check(template, "get", "200", &r.json());
    }

    // A binary entry gets the other branch of the generic retrieve.
    let bin = app
        .post_bytes("/demo/direct/store/binary", b"\x00\x01")
        .await
        .json();
    let bin_id = bin["cache_id"].as_str().unwrap();
    let r = app.get(&format!("/demo/retrieve/{bin_id}")).await.json();
    check("/{namespace}/retrieve/{cache_id}", "get", "200", &r);

    // Child data, batch (an extension), listings, deletes.
    let p = format!("/demo/cache/{id}/data");
    let r = app
        .post_json(&format!("{p}/store/json/k/f1"), r#"{"x":1}"#)
        .await;
    check(
        "/{namespace}/cache/{cache_id}/data/store/json/{data_key}/{data_file_id}",
        "post",
        "200",
        &r.json(),
    );
    let r = app
        .post_json(
            &format!("{p}/batch/store"),
            r#"{"files":[{"data_type":"string","data_key":"k","data_file_id":"s","data":"hi"},{"data_type":"binary","data_file_id":"b","data_base64":"AAE="}]}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    check(
        "/{namespace}/cache/{cache_id}/data/batch/store",
        "post",
        "200",
        &r.json(),
    );
    let r = app
        .post_json(
            &format!("{p}/batch/retrieve"),
            r#"{"files":[{"data_type":"string","data_key":"k","data_file_id":"s"},{"data_type":"json","data_key":"k","data_file_id":"f1"},{"data_type":"json","data_file_id":"nope"}]}"#,
        )
        .await;
    check(
        "/{namespace}/cache/{cache_id}/data/batch/retrieve",
        "post",
        "200",
        &r.json(),
    );
    let r = app.get(&format!("{p}/list")).await;
    check(
        "/{namespace}/cache/{cache_id}/data/list",
        "get",
        "200",
        &r.json(),
    );
    let r = app.get(&format!("{p}/exists/json/k/f1")).await;
    check(
        "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_key}/{data_file_id}",
        "get",
        "200",
        &r.json(),
    );
    let r = app.delete(&format!("{p}/delete/json/k/f1")).await;
    check(
        "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_key}/{data_file_id}",
        "delete",
        "200",
        &r.json(),
    );
    let r = app.delete(&format!("{p}/delete/all")).await;
    check(
        "/{namespace}/cache/{cache_id}/data/delete/all",
        "delete",
        "200",
        &r.json(),
    );

    // Error bodies.
    let r = app.get("/demo/retrieve/not-an-id!").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    check("/{namespace}/retrieve/{cache_id}", "get", "400", &r.json());
    let missing = "0b5e0f4a-3c2d-4e1f-9a8b-7c6d5e4f3a2b";
    let r = app.get(&format!("/demo/retrieve/{missing}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    check("/{namespace}/retrieve/{cache_id}", "get", "404", &r.json());
    let r = app.post_text("/demo/temporal/store/string", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    check(
        "/{namespace}/{strategy}/store/string",
        "post",
        "400",
        &r.json(),
    );
    let r = app.delete(&format!("/demo/delete/{missing}")).await;
    check("/{namespace}/delete/{cache_id}", "delete", "200", &r.json());
    let r = app.delete(&format!("/demo/delete/{id}")).await;
    check("/{namespace}/delete/{cache_id}", "delete", "200", &r.json());

    let r = app
        .post_json("/auth/set-auth-cookie", r#"{"cookie_value":"k1"}"#)
        .await;
    check("/auth/set-auth-cookie", "post", "200", &r.json());
    for body in [r#"{"cookie_value":"\u20ac"}"#, r#"{"other":1}"#] {
        let r = app.post_json("/auth/set-auth-cookie", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        check("/auth/set-auth-cookie", "post", "400", &r.json());
    }
    let ops = operations(&doc);
    let cookie = &ops[&("/auth/set-auth-cookie".to_owned(), "post".to_owned())];
    assert!(
        cookie["responses"]["401"].is_null(),
        "an excluded path never answers 401"
    );
    assert!(ops[&("/info/health".to_owned(), "get".to_owned())]["responses"]["401"].is_object());

    // A body that does not fit is caught by the checker itself.
    let schema = response_schema(&doc, "/info/health", "get", "200");
    assert!(conforms(&doc, &json!({"status": "ok", "extra": 1}), &schema, "b").is_err());
    assert!(conforms(&doc, &json!({"status": 1}), &schema, "b").is_err());
}

#[tokio::test]
async fn wire_types_keep_their_field_order_in_the_schemas() {
    let doc = document(&TestApp::memory()).await;
    let response = cache_wire::schema::StoreResponse {
        cache_id: "i".into(),
        cache_hash: "h".into(),
        namespace: "n".into(),
        paths: Default::default(),
        size: 1,
    };
    let wire: Vec<String> = serde_json::to_value(&response)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let documented: Vec<String> = doc["components"]["schemas"]["StoreResponse"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(wire, documented);
    assert_eq!(
        doc["components"]["schemas"]["Strategy"]["enum"],
        json!([
            "direct",
            "temporal",
            "temporal_latest",
            "temporal_versioned",
            "key_based"
        ])
    );
    assert_eq!(
        doc["components"]["schemas"]["DataType"]["enum"],
        json!(["json", "string", "binary", "type-safe"])
    );
}

/// `href="…"` and `src="…"` values of an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

#[tokio::test]
async fn docs_page_and_every_file_it_loads_come_from_the_binary() {
    let app = TestApp::memory();
    let page = app.get("/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.content_type(), Some("text/html; charset=utf-8"));
    let html = page.text();
    assert!(html.contains("<div id=\"swagger-ui\">"));
    let files = links(&html);
    assert_eq!(files.len(), 5, "{files:?}");
    for file in &files {
        assert!(file.starts_with("/docs/"), "{file} is not served by us");
        let r = app.get(file).await;
        assert_eq!(r.status, StatusCode::OK, "{file}");
        let expected = if file.ends_with(".css") {
            "text/css; charset=utf-8"
        } else if file.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "image/png"
        };
        assert_eq!(r.content_type(), Some(expected), "{file}");
        assert!(!r.body.is_empty(), "{file}");
    }
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert!(bundle.body.len() > 1_000_000, "{} bytes", bundle.body.len());
    assert!(bundle.text().contains("SwaggerUIBundle"));
    let init = app.get("/docs/swagger-initializer.js").await.text();
    assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
    assert!(init.contains("BaseLayout"), "{init}");
    assert!(!init.contains("petstore"), "{init}");
    // No validator badge: nothing is fetched from validator.swagger.io.
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    let every_asset: BTreeSet<String> = DOCS_ASSETS.iter().map(|a| format!("/docs/{a}")).collect();
    assert_eq!(every_asset, files.iter().cloned().collect());
    let r = app.get("/docs/oauth2-redirect").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), Some("text/html; charset=utf-8"));
}

#[tokio::test]
async fn docs_routes_answer_methods_slashes_and_neighbours_like_starlette() {
    let app = TestApp::memory();
    for path in ["/docs", "/openapi.json", "/docs/swagger-ui.css"] {
        let get = app.get(path).await;
        let head = app.request(Method::HEAD, path, None, "").await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.content_type(), get.content_type(), "{path}");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{path}"
        );
        let r = app.request(Method::POST, path, None, "").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(r.header("allow"), Some("HEAD, GET"));
        assert_eq!(r.text(), r#"{"detail":"Method Not Allowed"}"#);
    }
    for (from, to) in [("/docs/", "/docs"), ("/openapi.json/", "/openapi.json")] {
        let request = Request::builder()
            .uri(format!("{from}?x=1"))
            .header("host", "testserver")
            .body(Body::empty())
            .unwrap();
        let r = app.send(request).await;
        assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            r.header("location"),
            Some(format!("http://testserver{to}?x=1").as_str())
        );
    }
    // Only the page's own files are served; other names stay 404, and the namespace `docs`
    // still reaches the reference's routes.
    for path in [
        "/docs/index.html",
        "/docs/swagger-ui.js",
        "/docs/x/swagger-ui.css",
        "/redoc",
    ] {
        let r = app.get(path).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#),
            "{path}"
        );
    }
    let r = app.get("/docs/stats").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["namespace"], "docs");
}

#[tokio::test]
async fn docs_need_no_api_key_and_the_api_still_does() {
    let app = TestApp::new(AppState::new(
        CacheService::new(FileStore::memory(), 24),
        AuthSettings::api_key("x-api-key", "secret123"),
    ));
    let mut public = vec!["/docs".to_owned(), "/openapi.json".to_owned()];
    public.extend(DOCS_ASSETS.iter().map(|a| format!("/docs/{a}")));
    for path in &public {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    // Not among the reference's excluded paths: the key is required, as there.
    for path in [
        "/docs/oauth2-redirect",
        "/docs/",
        "/metrics",
        "/info/health",
    ] {
        assert_eq!(
            app.get(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let r = app
        .send(
            Request::builder()
                .uri("/docs/oauth2-redirect")
                .header("x-api-key", "secret123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_document_is_rendered_once() {
    let a = cache_service::http::openapi::document_bytes();
    let b = cache_service::http::openapi::document_bytes();
    assert_eq!(a.as_ptr(), b.as_ptr());
    let app = TestApp::memory();
    assert_eq!(app.get("/openapi.json").await.body, a);
}
