//! The HTTP surface: the reference's routes in its registration order, dispatched by
//! [`routing`], behind tower layers for request ids, auth, CORS and panics.

// Handlers return early with a finished `Response` as the error; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod ctx;
pub mod handlers;
pub mod metrics;
pub mod middleware;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod reply;
pub mod routing;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use self::ctx::Ctx;
use self::handlers::{admin, batch, data, entries, info, retrieve, store};
use self::routing::{Matched, Route, RouteTable};
use crate::AppState;
use crate::metrics::RouteGroup;

macro_rules! route {
    ($method:ident $pattern:literal => $handler:path) => {
        Route::new(Method::$method, $pattern, |ctx| Box::pin($handler(ctx)))
    };
}

/// Every implemented route, in the reference's registration order, then perfstore's extensions (`setup_routes` of
/// `Cache_Service__Fast_API` and of each routes class). Zip, test-data, docs and console
/// routes are not implemented.
pub fn route_table() -> RouteTable {
    RouteTable::new(vec![
        // Routes__File__Store
        route!(POST "/{namespace}/{strategy}/store/string" => store::string),
        route!(POST "/{namespace}/{strategy}/store/string/{cache_key:path}" => store::string_key),
        route!(POST "/{namespace}/{strategy}/store/json" => store::json),
        route!(POST "/{namespace}/{strategy}/store/json/{cache_key:path}" => store::json_key),
        route!(POST "/{namespace}/{strategy}/store/binary" => store::binary),
        route!(POST "/{namespace}/{strategy}/store/binary/{cache_key:path}" => store::binary_key),
        // Routes__File__Retrieve
        route!(GET "/{namespace}/retrieve/{cache_id}" => retrieve::by_id),
        route!(GET "/{namespace}/retrieve/{cache_id}/config" => retrieve::config),
        route!(GET "/{namespace}/retrieve/{cache_id}/metadata" => retrieve::metadata),
        route!(GET "/{namespace}/retrieve/{cache_id}/refs" => retrieve::refs),
        route!(GET "/{namespace}/retrieve/{cache_id}/refs/all" => retrieve::refs_all),
        route!(GET "/{namespace}/retrieve/{cache_id}/string" => retrieve::id_string),
        route!(GET "/{namespace}/retrieve/{cache_id}/json" => retrieve::id_json),
        route!(GET "/{namespace}/retrieve/{cache_id}/binary" => retrieve::id_binary),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}" => retrieve::by_hash),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/string" => retrieve::hash_string),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/json" => retrieve::hash_json),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/binary" => retrieve::hash_binary),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/metadata" => retrieve::hash_metadata),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/refs-hash" => retrieve::hash_refs),
        route!(GET "/{namespace}/retrieve/hash/{cache_hash}/cache-id" => retrieve::hash_cache_id),
        // Routes__File__Exists
        route!(GET "/{namespace}/exists/id/{cache_id}" => entries::exists_id),
        route!(GET "/{namespace}/exists/hash/{cache_hash}" => entries::exists_hash),
        // Routes__File__Update
        route!(POST "/{namespace}/update/{cache_id}/string" => entries::update_string),
        route!(POST "/{namespace}/update/{cache_id}/json" => entries::update_json),
        route!(POST "/{namespace}/update/{cache_id}/binary" => entries::update_binary),
        // Routes__File__Delete
        route!(DELETE "/{namespace}/delete/{cache_id}" => entries::delete),
        // Routes__Data__Store
        route!(POST "/{namespace}/cache/{cache_id}/data/store/binary" => data::store_binary),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/binary/{data_file_id}" => data::store_binary_id),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/binary/{data_key:path}/{data_file_id}" => data::store_binary_key),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/json" => data::store_json),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/json/{data_file_id}" => data::store_json_id),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/json/{data_key:path}/{data_file_id}" => data::store_json_key),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/string" => data::store_string),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/string/{data_file_id}" => data::store_string_id),
        route!(POST "/{namespace}/cache/{cache_id}/data/store/string/{data_key:path}/{data_file_id}" => data::store_string_key),
        // Routes__Data__Retrieve
        route!(GET "/{namespace}/cache/{cache_id}/data/json/{data_file_id}" => data::get_json),
        route!(GET "/{namespace}/cache/{cache_id}/data/json/{data_key:path}/{data_file_id}" => data::get_json_key),
        route!(GET "/{namespace}/cache/{cache_id}/data/string/{data_file_id}" => data::get_string),
        route!(GET "/{namespace}/cache/{cache_id}/data/string/{data_key:path}/{data_file_id}" => data::get_string_key),
        route!(GET "/{namespace}/cache/{cache_id}/data/binary/{data_file_id}" => data::get_binary),
        route!(GET "/{namespace}/cache/{cache_id}/data/binary/{data_key:path}/{data_file_id}" => data::get_binary_key),
        // Routes__Data__Update
        route!(POST "/{namespace}/cache/{cache_id}/data/update/string/{data_file_id}" => data::update_string),
        route!(POST "/{namespace}/cache/{cache_id}/data/update/string/{data_key:path}/{data_file_id}" => data::update_string_key),
        route!(POST "/{namespace}/cache/{cache_id}/data/update/json/{data_file_id}" => data::update_json),
        route!(POST "/{namespace}/cache/{cache_id}/data/update/json/{data_key:path}/{data_file_id}" => data::update_json_key),
        route!(POST "/{namespace}/cache/{cache_id}/data/update/binary/{data_file_id}" => data::update_binary),
        route!(POST "/{namespace}/cache/{cache_id}/data/update/binary/{data_key:path}/{data_file_id}" => data::update_binary_key),
        // Routes__Data__Exists
        route!(GET "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_file_id}" => data::exists_id),
        route!(GET "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_key:path}/{data_file_id}" => data::exists_key),
        // Routes__Data__List
        route!(GET "/{namespace}/cache/{cache_id}/data/list" => data::list_all),
        route!(GET "/{namespace}/cache/{cache_id}/data/list/{data_key:path}" => data::list_key),
        // Routes__Data__Delete (`all` first, so it is not taken for a data type)
        route!(DELETE "/{namespace}/cache/{cache_id}/data/delete/all" => data::delete_all_files),
        route!(DELETE "/{namespace}/cache/{cache_id}/data/delete/all/{data_key:path}" => data::delete_all_key),
        route!(DELETE "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_file_id}" => data::delete_id),
        route!(DELETE "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_key:path}/{data_file_id}" => data::delete_key),
        // Routes__Namespace, Routes__Namespaces
        route!(GET "/{namespace}/file-hashes" => admin::file_hashes),
        route!(GET "/{namespace}/file-ids" => admin::file_ids),
        route!(GET "/{namespace}/stats" => admin::stats),
        route!(GET "/namespaces/list" => admin::namespaces),
        // Routes__Admin__Storage
        route!(GET "/admin/storage/bucket-name" => admin::bucket_name),
        route!(GET "/admin/storage/file/exists/{path:path}" => admin::file_exists),
        route!(GET "/admin/storage/file/bytes/{path:path}" => admin::file_bytes),
        route!(GET "/admin/storage/file/content/{path:path}" => admin::file_content),
        route!(GET "/admin/storage/file/json/{path:path}" => admin::file_json),
        route!(GET "/admin/storage/file/html/{path:path}" => admin::file_html),
        route!(GET "/admin/storage/files/in/{path:path}" => admin::files_in),
        route!(GET "/admin/storage/files/all/{path:path}" => admin::files_all),
        route!(GET "/admin/storage/folders/{path:path}" => admin::folders),
        route!(DELETE "/admin/storage/file/delete/{path:path}" => admin::file_delete),
        // Routes__Server
        route!(GET "/server/storage/info" => admin::storage_info),
        // Routes__Info
        route!(GET "/info/health" => info::health),
        route!(GET "/info/server" => info::server),
        route!(GET "/info/status" => info::status),
        route!(GET "/info/versions" => info::versions),
        // Routes__Set_Cookie
        route!(POST "/auth/set-auth-cookie" => info::set_auth_cookie),
        // perfstore's batch child data (not in the reference; last, so no reference route is
        // shadowed — COMPAT.md D33)
        route!(POST "/{namespace}/cache/{cache_id}/data/batch/store" => batch::store),
        route!(POST "/{namespace}/cache/{cache_id}/data/batch/retrieve" => batch::retrieve),
    ])
}

/// The server's single entry point: the routes behind the reference's middleware stack
/// (outermost first: request tracing, metrics, request id, panic catcher, API key, CORS).
/// `GET /metrics` (not a reference route) is answered before the route table.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(axum::middleware::from_fn(middleware::cors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::auth,
        ))
        .layer(middleware::catch_panic_layer())
        .layer(axum::middleware::from_fn(middleware::request_id))
        // Outside auth, CORS and the panic catcher, so their answers are counted too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Matches the request against [`route_table`] and runs the handler. Every response carries
/// its [`RouteGroup`] as an extension for [`metrics::track`].
async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = decoded_path(parts.uri.path());
    if path == metrics::PATH {
        let mut response = metrics::endpoint(&state, &parts.method);
        response.extensions_mut().insert(RouteGroup::Metrics);
        return response;
    }
    #[cfg(feature = "openapi")]
    if let Some(found) = openapi::find(&parts.method, &path) {
        let mut response = match found {
            openapi::DocsMatch::Serve(response) => response,
            openapi::DocsMatch::WrongMethod => reply::method_not_allowed("HEAD, GET"),
            openapi::DocsMatch::Redirect(target) => redirect(&parts, target.to_owned()),
        };
        // Not a route of the table; `Other` keeps docs traffic out of `unmatched`.
        response.extensions_mut().insert(RouteGroup::Other);
        return response;
    }
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let routes = state.routes.clone();
    let mut group = RouteGroup::Unmatched;
    let mut response = match routes.find(&parts.method, &path) {
        Matched::Route(route, params) => {
            group = RouteGroup::of_pattern(route.pattern);
            let ctx = Ctx::new(state, parts.method, params, query, parts.headers, body);
            (route.handler)(ctx).await
        }
        Matched::WrongMethod(allow) => reply::method_not_allowed(&allow),
        Matched::Redirect(target) => redirect(&parts, target),
        Matched::NotFound => reply::route_not_found(),
    };
    response.extensions_mut().insert(group);
    response
}

/// Starlette's slash redirect to `target`: absolute with the request's host, query kept.
fn redirect(parts: &axum::http::request::Parts, target: String) -> Response {
    let host = parts.headers.get(header::HOST).map(|h| {
        h.as_bytes()
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
    });
    let mut url = match host {
        Some(host) => format!("http://{host}{target}"),
        None => target,
    };
    if let Some(q) = parts.uri.query() {
        url.push('?');
        url.push_str(q);
    }
    reply::redirect(&quote_location(&url))
}

/// The request path as Starlette sees it: percent-decoded as UTF-8 (invalid bytes replaced).
pub fn decoded_path(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// `urllib.parse.quote(url, safe=":/%#?=@[]!$&'()*+,;")`, as `RedirectResponse` applies it.
fn quote_location(url: &str) -> String {
    const SAFE: &str = ":/%#?=@[]!$&'()*+,;_.-~";
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_alphanumeric() || SAFE.as_bytes().contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_compiles_and_has_every_route() {
        let table = route_table();
        assert_eq!(table.routes().len(), 78);
    }

    #[test]
    fn batch_routes_shadow_no_reference_route() {
        let table = route_table();
        let (reference, extensions) = table.routes().split_at(76);
        assert!(
            extensions
                .iter()
                .all(|r| r.pattern.contains("/data/batch/"))
        );
        // Any cache id, even one spelled like a route segment, reaches no reference route.
        for id in [
            "0b5e0f4a-3c2d-4e1f-9a8b-7c6d5e4f3a2b",
            "store",
            "retrieve",
            "data",
        ] {
            for op in ["store", "retrieve"] {
                let path = format!("/demo/cache/{id}/data/batch/{op}");
                let shadowed: Vec<&str> = reference
                    .iter()
                    .filter(|r| r.captures(&path).is_some())
                    .map(|r| r.pattern)
                    .collect();
                assert!(shadowed.is_empty(), "{path}: {shadowed:?}");
                assert!(matches!(
                    table.find(&Method::POST, &path),
                    Matched::Route(r, _) if r.pattern.ends_with(op)
                ));
            }
        }
    }

    #[test]
    fn location_is_quoted_like_starlette() {
        assert_eq!(
            quote_location("http://h/a b/é?x=1"),
            "http://h/a%20b/%C3%A9?x=1"
        );
    }
}
