//! Request context and the reference's two validation phases.
//!
//! FastAPI validates first: a JSON body that does not decode fails at once; then path enums,
//! query booleans and the body type are checked together (`loc` `["path",…]`,
//! `["query",…]`, `["body"]`). Only when those pass does the osbot-fast-api wrapper convert the
//! `Type_Safe` primitives (ids, keys, hashes), reporting each failure as a `value_error` with
//! `loc` `["query", name]` even for path parameters. [`Checks`] collects one phase's issues.

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use bytes::Bytes;
use cache_wire::ids::{EnumError, IdError};
use cache_wire::schema::ValidationIssue;
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};

use super::reply;
use crate::AppState;
use crate::json::{LoadError, bounded_bytes_repr, loads};

/// One request, matched to a route.
pub struct Ctx {
    /// Shared server state.
    pub state: AppState,
    /// The request method.
    pub method: Method,
    /// Path parameters in pattern order (percent-decoded).
    pub params: Vec<(&'static str, String)>,
    /// Query pairs in order (`parse_qsl(keep_blank_values=True)`).
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    // A Mutex makes `Ctx` Sync, so handlers may hold `&Ctx` across awaits.
    body: std::sync::Mutex<Option<Body>>,
}

/// The body after FastAPI's content-type handling.
#[derive(Debug, Clone)]
pub enum BodyValue {
    /// A decoded JSON document (`Content-Type: application/json` or `application/*+json`).
    Json(Value),
    /// The raw bytes (any other or no content type).
    Raw(Bytes),
}

impl Ctx {
    /// A context for a matched route.
    pub fn new(
        state: AppState,
        method: Method,
        params: Vec<(&'static str, String)>,
        query: Vec<(String, String)>,
        headers: HeaderMap,
        body: Body,
    ) -> Self {
        Ctx {
            state,
            method,
            params,
            query,
            headers,
            body: std::sync::Mutex::new(Some(body)),
        }
    }

    /// A path parameter (`""` if the pattern has none of that name).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The last value of a query parameter, as Starlette's `QueryParams.get` returns it.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request header as text (latin-1 decoded, as Starlette does).
    pub fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.as_bytes().iter().map(|&b| char::from(b)).collect())
    }

    /// The body, unread, for a handler that streams it; `None` once taken.
    pub fn take_body(&mut self) -> Option<Body> {
        match self.body.get_mut() {
            Ok(slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    /// Whether the body is JSON by its content type (then FastAPI decodes it).
    pub fn has_json_body(&self) -> bool {
        is_json_content_type(&self.header(header::CONTENT_TYPE).unwrap_or_default())
    }

    /// The declared `Content-Length`, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    }

    /// Reads the whole body, refusing more than the configured limit with 413.
    pub async fn read_body(&mut self) -> Result<Bytes, Response> {
        let limit = self.state.max_body_bytes;
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(reply::too_large());
        }
        let taken = match self.body.get_mut() {
            Ok(slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some(body) = taken else {
            return Ok(Bytes::new());
        };
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(reply::too_large()),
            Err(e) => {
                tracing::debug!(error = %e, "request body could not be read");
                Err(reply::unparseable_body())
            }
        }
    }

    /// FastAPI's body step: read it, decode JSON when the content type is JSON. `None` for an
    /// empty body. A JSON decode failure is answered at once, before any other validation.
    pub async fn fastapi_body(&mut self) -> Result<Option<BodyValue>, Response> {
        let raw = self.read_body().await?;
        if raw.is_empty() {
            return Ok(None);
        }
        let content_type = self.header(header::CONTENT_TYPE).unwrap_or_default();
        if !is_json_content_type(&content_type) {
            return Ok(Some(BodyValue::Raw(raw)));
        }
        match loads(&raw) {
            Ok(value) => Ok(Some(BodyValue::Json(value))),
            Err(LoadError::Decode { msg, pos }) => Err(reply::validation(&[ValidationIssue {
                kind: "json_invalid".to_owned(),
                loc: vec![json!("body"), json!(pos)],
                msg: "JSON decode error".to_owned(),
                input: json!({}),
                ctx: Some(json!({ "error": msg })),
            }])),
            Err(LoadError::Unparseable) => Err(reply::unparseable_body()),
        }
    }
}

/// `email.message.Message` content-type parsing as FastAPI uses it: JSON if the type is
/// `application/json` or `application/*+json` (case-insensitive, parameters ignored). An
/// empty or missing header means raw bytes.
pub fn is_json_content_type(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let main = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if main.matches('/').count() != 1 {
        return false;
    }
    match main.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// Validation issues of one phase.
#[derive(Debug, Default)]
pub struct Checks {
    issues: Vec<ValidationIssue>,
}

impl Checks {
    fn push(&mut self, kind: &str, loc: [&str; 2], msg: String, input: Value, ctx: Option<Value>) {
        self.issues.push(ValidationIssue {
            kind: kind.to_owned(),
            loc: vec![json!(loc[0]), json!(loc[1])],
            msg,
            input,
            ctx,
        });
    }

    /// A pydantic enum in the path (`strategy`, `data_type`).
    pub fn path_enum<T>(
        &mut self,
        name: &str,
        raw: &str,
        parse: fn(&str) -> Result<T, EnumError>,
    ) -> Option<T> {
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(
                    "enum",
                    ["path", name],
                    e.to_string(),
                    json!(raw),
                    Some(json!({ "expected": e.expected })),
                );
                None
            }
        }
    }

    /// A pydantic `bool` query parameter with a default.
    pub fn query_bool(&mut self, name: &str, raw: Option<&str>, default: bool) -> bool {
        let Some(raw) = raw else {
            return default;
        };
        match raw.to_lowercase().as_str() {
            "1" | "on" | "t" | "true" | "y" | "yes" => true,
            "0" | "off" | "f" | "false" | "n" | "no" => false,
            _ => {
                self.push(
                    "bool_parsing",
                    ["query", name],
                    "Input should be a valid boolean, unable to interpret input".to_owned(),
                    json!(raw),
                    None,
                );
                default
            }
        }
    }

    fn missing_body(&mut self) {
        self.issues.push(ValidationIssue {
            kind: "missing".to_owned(),
            loc: vec![json!("body")],
            msg: "Field required".to_owned(),
            input: Value::Null,
            ctx: None,
        });
    }

    fn body_issue(&mut self, kind: &str, msg: &str, input: Value) {
        self.issues.push(ValidationIssue {
            kind: kind.to_owned(),
            loc: vec![json!("body")],
            msg: msg.to_owned(),
            input,
            ctx: None,
        });
    }

    /// A `data: dict` body.
    pub fn body_dict(&mut self, body: Option<BodyValue>) -> Option<Value> {
        match body {
            None => self.missing_body(),
            Some(BodyValue::Json(v @ Value::Object(_))) => return Some(v),
            Some(BodyValue::Json(other)) => {
                self.body_issue("dict_type", "Input should be a valid dictionary", other);
            }
            Some(BodyValue::Raw(raw)) => self.body_issue(
                "dict_type",
                "Input should be a valid dictionary",
                json!(bounded_bytes_repr(&raw)),
            ),
        }
        None
    }

    /// A `data: str` body: a JSON string, or raw UTF-8 text.
    pub fn body_str(&mut self, body: Option<BodyValue>) -> Option<String> {
        match body {
            None => self.missing_body(),
            Some(BodyValue::Json(Value::String(s))) => return Some(s),
            Some(BodyValue::Json(other)) => {
                self.body_issue("string_type", "Input should be a valid string", other);
            }
            Some(BodyValue::Raw(raw)) => match String::from_utf8(raw.to_vec()) {
                Ok(s) => return Some(s),
                Err(_) => self.body_issue(
                    "string_unicode",
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                    json!(bounded_bytes_repr(&raw)),
                ),
            },
        }
        None
    }

    /// A `body: bytes` body: raw bytes, or a JSON string's UTF-8.
    pub fn body_bytes(&mut self, body: Option<BodyValue>) -> Option<Bytes> {
        match body {
            None => self.missing_body(),
            Some(BodyValue::Raw(raw)) => return Some(raw),
            Some(BodyValue::Json(Value::String(s))) => return Some(Bytes::from(s.into_bytes())),
            Some(BodyValue::Json(other)) => {
                self.body_issue("bytes_type", "Input should be a valid bytes", other);
            }
        }
        None
    }

    /// A `Type_Safe` primitive converted by the osbot-fast-api wrapper.
    pub fn value<T>(&mut self, name: &str, raw: &str, parsed: Result<T, IdError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(
                    "value_error",
                    ["query", name],
                    e.to_string(),
                    json!(raw),
                    None,
                );
                None
            }
        }
    }

    /// A field of a JSON body that fails this server's own rule, at `loc` below `body`
    /// (e.g. `["files", 3, "data_file_id"]`).
    pub fn body_field(&mut self, loc: &[Value], msg: String, input: Value) {
        let mut full = vec![json!("body")];
        full.extend_from_slice(loc);
        self.issues.push(ValidationIssue {
            kind: "value_error".to_owned(),
            loc: full,
            msg,
            input,
            ctx: None,
        });
    }

    /// A failure of this server's own rule (reported like a wrapper `value_error`).
    pub fn reject(&mut self, name: &str, raw: &str, msg: String) {
        self.push("value_error", ["query", name], msg, json!(raw), None);
    }

    /// `Err(400)` if any issue was collected.
    pub fn finish(self) -> Result<(), Response> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(reply::validation(&self.issues))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_like_fastapi() {
        for yes in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            " application/vnd.api+json ",
        ] {
            assert!(is_json_content_type(yes), "{yes}");
        }
        for no in [
            "",
            "text/json",
            "application/x-json",
            "application",
            "application/json/x",
            "text/plain",
        ] {
            assert!(!is_json_content_type(no), "{no}");
        }
    }

    #[test]
    fn bool_parsing_like_pydantic() {
        let mut c = Checks::default();
        assert!(c.query_bool("r", Some("TRUE"), false));
        assert!(c.query_bool("r", Some("Yes"), false));
        assert!(!c.query_bool("r", Some("off"), true));
        assert!(c.query_bool("r", None, true));
        assert!(c.finish().is_ok());
        let mut c = Checks::default();
        c.query_bool("recursive", Some(" true"), true);
        c.query_bool("recursive", Some(""), true);
        assert_eq!(c.issues.len(), 2);
        assert_eq!(c.issues[0].kind, "bool_parsing");
    }
}
