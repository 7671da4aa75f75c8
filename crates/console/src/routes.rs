//! The console's HTTP surface: HTML pages whose state is their query string, the JSON endpoints
//! behind them, the artifact bytes (served so that untrusted content cannot script the console),
//! and the stylesheet.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use perfstore::workflows::history::{HistoryQuery, history};
use perfstore::{ArtifactKind, Key, Store, TargetName, TargetPath};
use serde::Serialize;

use crate::error::ConsoleError;
use crate::pages::{self, OpenedArtifact};
use crate::views::{self, CompareQuery, Display};

/// Console pages may load only their own stylesheet, images and frames; no script at all.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// Artifact bytes: a unique opaque origin with no script, even when opened in its own tab.
const ARTIFACT_CSP: &str =
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";
/// The target page opens every artifact inline up to this many artifacts…
const OPEN_ALL_MAX_ARTIFACTS: usize = 20;
/// …and this many bytes in all.
const OPEN_ALL_MAX_BYTES: u64 = 4 << 20;
/// Text shown inline up to this size; larger artifacts are a download.
const INLINE_MAX_BYTES: u64 = 2 << 20;

/// The console over `store`.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/", get(sessions_page))
        .route("/session", get(session_page))
        .route("/target", get(target_page))
        .route("/compare", get(compare_page))
        .route("/history", get(history_page))
        .route("/artifact", get(artifact))
        .route("/api/sessions", get(sessions_json))
        .route("/api/session", get(session_json))
        .route("/api/target", get(target_json))
        .route("/api/compare", get(compare_json))
        .route("/api/history", get(history_json))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/favicon.svg", get(favicon))
        .fallback(not_found)
        .with_state(store)
}

/// The query string's pairs, decoded; repeated names keep every value.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(raw: Option<String>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn require(&self, name: &str) -> Result<&str, ConsoleError> {
        self.get(name)
            .ok_or_else(|| ConsoleError::BadRequest(format!("the query needs ?{name}=")))
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn page_result(result: Result<String, ConsoleError>) -> Response {
    match result {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => error_page(&e),
    }
}

fn error_page(e: &ConsoleError) -> Response {
    let status = e.status();
    html(status, pages::error_page(status.as_u16(), &e.to_string()))
}

#[derive(Serialize)]
struct ErrorBody {
    status: u16,
    error: String,
}

fn json_result<T: Serialize>(result: Result<T, ConsoleError>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => {
            let status = e.status();
            (
                status,
                axum::Json(ErrorBody {
                    status: status.as_u16(),
                    error: e.to_string(),
                }),
            )
                .into_response()
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    error_page(&ConsoleError::NotFound(format!(
        "no page at {}",
        uri.path()
    )))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        pages::CSS,
    )
        .into_response()
}

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        pages::FAVICON,
    )
        .into_response()
}

fn page_number(q: &Params) -> Result<usize, ConsoleError> {
    q.get("page").map_or(Ok(1), |p| {
        p.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConsoleError::BadRequest(format!("page {p:?} is not a page number")))
    })
}

async fn sessions_page(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    let q = Params::new(q);
    page_result(
        async { views::sessions(&store, page_number(&q)?).await }
            .await
            .map(|v| pages::sessions_page(&v)),
    )
}

async fn sessions_json(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    let q = Params::new(q);
    json_result(async { views::sessions(&store, page_number(&q)?).await }.await)
}

async fn session_view(store: &Store, q: &Params) -> Result<views::SessionView, ConsoleError> {
    views::session(store, q.require("name")?).await
}

async fn session_page(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    let q = Params::new(q);
    page_result(
        session_view(&store, &q)
            .await
            .map(|v| pages::session_page(&v)),
    )
}

async fn session_json(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    json_result(session_view(&store, &Params::new(q)).await)
}

async fn target_view(store: &Store, q: &Params) -> Result<views::TargetView, ConsoleError> {
    views::target(store, q.require("session")?, q.require("target")?).await
}

async fn target_json(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    json_result(target_view(&store, &Params::new(q)).await)
}

/// An artifact the target page shows: its display and, for inline kinds, its bytes.
struct Loaded {
    key: String,
    display: Display,
    bytes: Option<bytes::Bytes>,
}

async fn open_artifact(
    store: &Store,
    target: &TargetPath,
    key: &Key,
    known: Option<Display>,
    size: u64,
) -> Result<Loaded, ConsoleError> {
    let inline = matches!(
        known,
        None | Some(Display::Json | Display::Markdown | Display::Text)
    );
    if !inline || size > INLINE_MAX_BYTES {
        return Ok(Loaded {
            key: key.to_string(),
            display: if inline {
                Display::Download
            } else {
                known.unwrap_or(Display::Download)
            },
            bytes: None,
        });
    }
    let artifact = store
        .get(&target.artifact(key.clone()))
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("artifact {key} not found in {target}")))?;
    let display = known.unwrap_or(match artifact.kind() {
        ArtifactKind::Json => Display::Json,
        ArtifactKind::Text => Display::Text,
        ArtifactKind::Binary => Display::Download,
    });
    Ok(Loaded {
        key: key.to_string(),
        display,
        bytes: (display != Display::Download).then(|| artifact.into_bytes()),
    })
}

async fn target_page_body(store: &Store, q: &Params) -> Result<String, ConsoleError> {
    let view = target_view(store, q).await?;
    let target = TargetPath::new(view.session.clone(), view.target.clone());
    let mut loaded = Vec::new();
    let mut note = None;
    if let Some(key) = q.get("key") {
        let key = Key::new(key)?;
        let entry = view
            .artifacts
            .iter()
            .find(|a| a.key == key)
            .ok_or_else(|| {
                ConsoleError::NotFound(format!("artifact {key} not found in {target}"))
            })?;
        loaded.push(open_artifact(store, &target, &key, entry.display, entry.size).await?);
    } else {
        let total: u64 = view.artifacts.iter().map(|a| a.size).sum();
        if view.artifacts.len() <= OPEN_ALL_MAX_ARTIFACTS && total <= OPEN_ALL_MAX_BYTES {
            for a in &view.artifacts {
                loaded.push(open_artifact(store, &target, &a.key, a.display, a.size).await?);
            }
        } else {
            note = Some("Open an artifact by its key to see it.");
        }
    }
    let opened: Vec<OpenedArtifact<'_>> = loaded
        .iter()
        .map(|l| OpenedArtifact {
            key: &l.key,
            display: l.display,
            bytes: l.bytes.as_deref(),
        })
        .collect();
    Ok(pages::target_page(&view, &opened, note))
}

async fn target_page(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    page_result(target_page_body(&store, &Params::new(q)).await)
}

/// `/artifact`: the stored bytes, typed by the key's extension, sandboxed by CSP, and a
/// download unless they are an image, HTML (for the sandboxed iframe) or text.
async fn artifact(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    let q = Params::new(q);
    let result = async {
        let session = views::resolve(&store, q.require("session")?).await?;
        let path = TargetPath::new(session, TargetName::new(q.require("target")?)?)
            .artifact(Key::new(q.require("key")?)?);
        let artifact = store
            .get(&path)
            .await?
            .ok_or_else(|| ConsoleError::NotFound(format!("artifact {path} not found")))?;
        Ok::<_, ConsoleError>((path, artifact))
    }
    .await;
    let (path, artifact) = match result {
        Ok(found) => found,
        Err(e) => return error_page(&e),
    };
    let key = path.key.as_str();
    let content_type = Display::content_type(key);
    let attachment = q.get("download").is_some() || content_type == "application/octet-stream";
    let mut response = artifact.into_bytes().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ARTIFACT_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if attachment {
        let file: String = key
            .rsplit('/')
            .next()
            .unwrap_or(key)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// `5%` or `0.05` (a bare number above 1 is refused as ambiguous, as `perfstore diff` does).
fn parse_threshold(text: &str) -> Result<f64, ConsoleError> {
    let bad = || {
        ConsoleError::BadRequest(format!(
            "threshold {text:?} is not a threshold (write 5% or 0.05)"
        ))
    };
    let (number, percent) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (text, false),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 || (!percent && value > 1.0) {
        return Err(bad());
    }
    Ok(if percent { value / 100.0 } else { value })
}

fn compare_query(q: &Params) -> Result<CompareQuery, ConsoleError> {
    Ok(CompareQuery {
        base: q.require("base")?.to_owned(),
        candidate: q.require("candidate")?.to_owned(),
        threshold: q.get("threshold").map(parse_threshold).transpose()?,
        lower_is_worse: q.all("lower_is_worse"),
        neutral: q.all("neutral"),
        target: q.get("target").map(str::to_owned),
    })
}

async fn compare_json(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    let q = Params::new(q);
    json_result(async { views::compare(&store, &compare_query(&q)?).await }.await)
}

/// Session names and `@baseline`s, for the compare form's suggestions.
async fn session_choices(store: &Store) -> Result<Vec<String>, ConsoleError> {
    let mut choices: Vec<String> = perfstore::baseline::list_baselines(store)
        .await?
        .into_iter()
        .map(|b| format!("@{}", b.name))
        .collect();
    choices.extend(
        store
            .list_sessions()
            .await?
            .into_iter()
            .rev()
            .map(|s| s.to_string()),
    );
    Ok(choices)
}

async fn compare_page_body(store: &Store, q: &Params) -> Result<String, ConsoleError> {
    let choices = session_choices(store).await?;
    let form = pages::compare_form(
        &choices,
        q.get("base").unwrap_or(""),
        q.get("candidate").unwrap_or(""),
        q.get("threshold").unwrap_or(""),
        q.get("target").unwrap_or(""),
    );
    let mut body = format!("<h1>Compare</h1>{form}");
    if q.get("base").is_some() || q.get("candidate").is_some() {
        let view = views::compare(store, &compare_query(q)?).await?;
        body.push_str(&pages::compare_section(pages::Mode::Console, &view));
    } else {
        body.push_str(
            "<p class=\"muted\">Pick a base (a session or @baseline) and a candidate.</p>",
        );
    }
    Ok(pages::page(pages::Mode::Console, "Compare", &body))
}

async fn compare_page(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    page_result(compare_page_body(&store, &Params::new(q)).await)
}

fn history_query(q: &Params) -> Result<(TargetName, HistoryQuery), ConsoleError> {
    let target = TargetName::new(q.require("target")?)?;
    let last = q
        .get("last")
        .map(|v| {
            v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConsoleError::BadRequest(format!("last {v:?} is not a positive number of sessions"))
            })
        })
        .transpose()?;
    Ok((
        target,
        HistoryQuery {
            metric_glob: q.get("metric").map(str::to_owned),
            last,
        },
    ))
}

async fn history_view(
    store: &Store,
    q: &Params,
) -> Result<perfstore::workflows::history::History, ConsoleError> {
    let (target, query) = history_query(q)?;
    let store = store.clone();
    let found = target.clone();
    let h =
        views::off_runtime(move || async move { history(&store, &found, &query).await }).await??;
    if h.sessions.is_empty() {
        return Err(ConsoleError::NotFound(format!(
            "target {target} is in no session of this store"
        )));
    }
    Ok(h)
}

async fn history_json(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    json_result(history_view(&store, &Params::new(q)).await)
}

async fn history_page_body(store: &Store, q: &Params) -> Result<String, ConsoleError> {
    // Suggestions: the targets of the newest session (one listing, whatever the store's size).
    let targets: Vec<String> = match store.list_sessions().await?.last() {
        Some(latest) => store
            .list_targets(latest)
            .await?
            .into_iter()
            .map(|t| t.to_string())
            .collect(),
        None => Vec::new(),
    };
    let form = pages::history_form(
        &targets,
        q.get("target").unwrap_or(""),
        q.get("metric").unwrap_or(""),
        q.get("last").unwrap_or(""),
    );
    let mut body = format!("<h1>History</h1>{form}");
    if q.get("target").is_some() {
        body.push_str(&pages::history_section(&history_view(store, q).await?));
    } else {
        body.push_str("<p class=\"muted\">Pick a target: ");
        for t in &targets {
            body.push_str(&crate::render::link(
                &crate::render::url("/history", &[("target", t)]),
                t,
            ));
            body.push(' ');
        }
        body.push_str("</p>");
    }
    Ok(pages::page(pages::Mode::Console, "History", &body))
}

async fn history_page(State(store): State<Store>, RawQuery(q): RawQuery) -> Response {
    page_result(history_page_body(&store, &Params::new(q)).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_percentages_or_fractions() {
        assert_eq!(parse_threshold("5%").ok(), Some(0.05));
        assert_eq!(parse_threshold("0.1").ok(), Some(0.1));
        for bad in ["5", "-1%", "x", "NaN%"] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }
}
