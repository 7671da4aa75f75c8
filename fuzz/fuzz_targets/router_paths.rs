//! An arbitrary method, path and query (plus the few headers the router itself looks at:
//! `Host` for 307 redirects, `Origin` / `Access-Control-Request-*` for CORS) sent through the
//! real in-memory router: never a panic, never a 5xx. Inputs that do not make a valid
//! `http::Uri`, method or header value are skipped (hyper would refuse them before the router).
//!
//! Input is text, so seeds are real requests and mutations stay readable:
//!
//! ```text
//! GET /demo/retrieve/{0}/json?x=1      first line: method, one space, request target
//! Host: example.com                    then any headers, `Name: value` per line
//! ```
//!
//! `{N}` in the target is replaced by the N-th id, hash or storage path of the fixture entries
//! (their ids are fresh uuids each run, so seeds cannot name them): `{0}` is the JSON entry's
//! id, `{1}` its hash, `{3}`–`{7}` its files and references; `{8}`/`{9}` the string entry,
//! `{15}`/`{16}` the binary one, `{22}`/`{23}` the temporal_versioned JSON one; run a seed with
//! `FUZZ_SHOW_KNOWN=1` to list them all. Percent-escapes in the
//! target (`%2F`, `%00`, `%FF`) reach the router's decoder. No body is sent.
//!
//! The only 500s allowed are those the server gives on purpose because the reference does,
//! each recognised by method, route *and* body (see `documented_500`):
//! - COMPAT.md D04: `POST /{ns}/update/{cache_id}/{type}` of an unknown id answers 500
//!   `{"detail":{"error_type":"UPDATE_FAILED",…}}`;
//! - COMPAT.md D06: a `json_field_path` naming a missing field answers 500 `…not found in
//!   data…` on the store routes (`POST /{ns}/{strategy}/store/…`);
//!
//! and three more that have no COMPAT.md row (the file lists differences only, and these match
//! the reference) but are deliberate and pinned by tests of `crates/cache-service`:
//! - `GET /admin/storage/file/{exists,bytes,json,html}/{path}` with a path the reference's
//!   storage layer refuses (`Safe_Str__File__Path`, e.g. `___`): 500 `Parameter 'path' expected
//!   type …` (`tests/admin_info.rs`);
//! - `GET /admin/storage/file/{json,html}/{path}` of a stored file that is not UTF-8 JSON (or,
//!   for `html`, whose `html` is not a string or that is not an object): the reference's
//!   `json.loads` / `.get` raises, 500 `UnicodeDecodeError` / `JSONDecodeError` /
//!   `AttributeError` (`src/http/handlers/admin.rs`, `ServiceError::Python`);
//! - a child data route whose `data_file_id` sanitises to nothing: 500 `data_file_id is required
//!   for data file operations` from the reference's path builder (`tests/child_data.rs`).

//! With `FUZZ_SURVEY_500=1` any other 5xx is printed (`SURVEY …`) instead of crashing, to
//! list every kind of 500 one run can reach.
//!
//! A request other than GET/HEAD/OPTIONS that succeeds may have changed the fixtures, so the
//! server and its fixtures are then built afresh: every input meets the same state.

#![no_main]

use std::cell::RefCell;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;

struct Server {
    router: Router,
    /// Ids, hashes and storage paths of the fixture entries.
    known: Vec<String>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, body)
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if !s.is_empty() && s.len() < 200 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// A fresh in-memory server holding one entry of each type and a few child files.
fn build() -> Server {
    let router = cache_service::router(cache_service::AppState::in_memory());
    let mut known = Vec::new();
    runtime().block_on(async {
        let post = |uri: String, content_type: &'static str, body: &'static [u8]| {
            Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap()
        };
        let entries = [
            (
                "/demo/key_based/store/json/fx/key",
                "application/json",
                &br#"{"a": {"b": 1}, "html": "<p>x</p>"}"#[..],
            ),
            ("/demo/direct/store/string", "text/plain", &b"hello"[..]),
            (
                "/demo/temporal/store/binary",
                "application/octet-stream",
                &[0u8, 1, 255][..],
            ),
            (
                "/demo/temporal_versioned/store/json",
                "application/json",
                &br#"{"v": [1, 2.5]}"#[..],
            ),
        ];
        let mut ids = Vec::new();
        for (uri, content_type, body) in entries {
            let (status, answer) = send(&router, post(uri.to_owned(), content_type, body)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {answer:?}");
            let value: Value = serde_json::from_slice(&answer).unwrap();
            collect_strings(&value, &mut known);
            ids.push(value["cache_id"].as_str().unwrap().to_owned());
        }
        let children = [
            (
                "store/json/fx/m.json",
                "application/json",
                &br#"{"k": [true, null]}"#[..],
            ),
            (
                "store/string/fx/notes",
                "application/json",
                &br#""line 1\nline 2""#[..],
            ),
            (
                "store/binary/blob",
                "application/octet-stream",
                &[7u8, 8, 9][..],
            ),
        ];
        for (route, content_type, body) in children {
            let uri = format!("/demo/cache/{}/data/{route}", ids[0]);
            let (status, answer) = send(&router, post(uri.clone(), content_type, body)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {answer:?}");
            let value: Value = serde_json::from_slice(&answer).unwrap();
            collect_strings(&value, &mut known);
        }
    });
    // First occurrence order: the fixtures are stored in a fixed order, so `{N}` always names
    // the same kind of thing.
    let mut seen = std::collections::HashSet::new();
    known.retain(|s| seen.insert(s.clone()));
    if std::env::var_os("FUZZ_SHOW_KNOWN").is_some() {
        for (n, s) in known.iter().enumerate() {
            eprintln!("{{{n}}} = {s}");
        }
    }
    Server { router, known }
}

thread_local! {
    static SERVER: RefCell<Option<Server>> = const { RefCell::new(None) };
}

/// The target with each `{N}` replaced by the N-th known fixture string (modulo their count).
fn substitute(target: &str, known: &[String]) -> String {
    let mut out = String::with_capacity(target.len());
    let mut rest = target;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=3).contains(&digits) && after.as_bytes().get(digits) == Some(&b'}') {
            let n: usize = after[..digits].parse().unwrap_or(0);
            out.push_str(&known[n % known.len()]);
            rest = &after[digits + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `METHOD target` and headers, or `None` if the text is not a request hyper would accept.
fn parse_request(
    data: &[u8],
    known: &[String],
) -> Option<(Method, Uri, Vec<(HeaderName, HeaderValue)>)> {
    let mut lines = data.split(|&b| b == b'\n');
    let first = std::str::from_utf8(lines.next()?).ok()?;
    let (method, target) = first.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let target = substitute(target.trim_end_matches('\r'), known);
    let uri: Uri = target.parse().ok()?;
    if uri.scheme().is_some() || uri.authority().is_some() || !target.starts_with('/') {
        return None; // absolute-form or asterisk-form: not a path
    }
    let mut headers = Vec::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = line[colon + 1..].trim_ascii_start();
        headers.push((name, HeaderValue::from_bytes(value).ok()?));
    }
    Some((method, uri, headers))
}

/// The deliberate 500s listed in the module docs.
fn documented_500(method: &Method, path: &str, body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    let segments: Vec<&str> = path.split('/').collect();
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    // D04: POST /{ns}/update/{cache_id}/{type}
    let d04 = post
        && segments.len() == 5
        && segments[2] == "update"
        && body.contains("\"UPDATE_FAILED\"");
    // D06: POST /{ns}/{strategy}/store/{type}[/{cache_key}]
    let d06 =
        post && segments.len() >= 5 && segments[3] == "store" && body.contains("not found in data");
    let admin = |routes: &[&str]| {
        get && routes
            .iter()
            .any(|route| path.starts_with(&format!("/admin/storage/file/{route}/")))
    };
    let admin_path = admin(&["exists", "bytes", "json", "html"])
        && body.contains("\"Parameter 'path' expected type ");
    let admin_not_json = admin(&["json", "html"])
        && [
            "UnicodeDecodeError: ",
            "JSONDecodeError: ",
            "AttributeError: ",
        ]
        .iter()
        .any(|exception| body.contains(exception));
    // /{ns}/cache/{cache_id}/data/…
    let child_no_id = segments.len() >= 6
        && segments[2] == "cache"
        && segments[4] == "data"
        && body.contains("\"data_file_id is required for data file operations\"");
    d04 || d06 || admin_path || admin_not_json || child_no_id
}

fuzz_target!(|data: &[u8]| {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let server = slot.get_or_insert_with(build);
        let Some((method, uri, headers)) = parse_request(data, &server.known) else {
            return;
        };
        let mut request = Request::builder().method(method.clone()).uri(uri.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let Ok(request) = request.body(Body::empty()) else {
            return;
        };
        let (status, body) = runtime().block_on(send(&server.router, request));
        let decoded = cache_service::http::decoded_path(uri.path());
        if status.is_server_error() && !documented_500(&method, &decoded, &body) {
            if std::env::var_os("FUZZ_SURVEY_500").is_some() {
                eprintln!(
                    "SURVEY {method} {uri} {status} {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                );
                return;
            }
            panic!(
                "{method} {uri} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let read_only = [Method::GET, Method::HEAD, Method::OPTIONS].contains(&method);
        if status.is_success() && !read_only {
            *slot = Some(build());
        }
    });
});
