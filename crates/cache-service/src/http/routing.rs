//! Starlette-style routing: an ordered list of path patterns tried in registration order.
//!
//! The reference's FastAPI app matches routes in the order they were registered, with
//! `{name}` = `[^/]+` and `{name:path}` = `.*` against the percent-decoded path. The first
//! full match (path and method) wins; a path match with the wrong method gives 405; with no
//! match, the same path with its trailing slash toggled is tried and a match redirects (307).
//! That order decides edge cases such as `/demo/retrieve/hash/json` (a cache id `hash`), so it
//! is reproduced here rather than using axum's precedence rules.

use std::future::Future;
use std::pin::Pin;

use axum::http::Method;
use axum::response::Response;
use regex::Regex;

use super::ctx::Ctx;

/// A route handler.
pub type Handler = fn(Ctx) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// One registered route.
pub struct Route {
    /// The only method it answers.
    pub method: Method,
    /// The pattern, e.g. `/{namespace}/retrieve/{cache_id}`.
    pub pattern: &'static str,
    regex: Regex,
    names: Vec<&'static str>,
    /// The handler.
    pub handler: Handler,
}

impl Route {
    /// Compiles `pattern` as Starlette's `compile_path` does.
    pub fn new(method: Method, pattern: &'static str, handler: Handler) -> Self {
        let mut regex = String::from("^");
        let mut names = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            regex.push_str(&regex::escape(&rest[..open]));
            let close = rest[open..].find('}').map_or(rest.len(), |i| open + i);
            let spec = &rest[open + 1..close];
            let (name, is_path) = match spec.split_once(':') {
                Some((name, "path")) => (name, true),
                _ => (spec, false),
            };
            regex.push_str(&format!(
                "(?P<{name}>{})",
                if is_path { ".*" } else { "[^/]+" }
            ));
            names.push(name);
            rest = &rest[(close + 1).min(rest.len())..];
        }
        regex.push_str(&regex::escape(rest));
        regex.push('$');
        let regex = Regex::new(&regex).unwrap_or_else(|e| panic!("route pattern {pattern}: {e}"));
        Route {
            method,
            pattern,
            regex,
            names,
            handler,
        }
    }

    /// The parameters if `path` matches the pattern.
    pub fn captures(&self, path: &str) -> Option<Vec<(&'static str, String)>> {
        let caps = self.regex.captures(path)?;
        Some(
            self.names
                .iter()
                .map(|n| (*n, caps.name(n).map_or("", |m| m.as_str()).to_owned()))
                .collect(),
        )
    }
}

/// Result of matching a request against the table.
pub enum Matched<'a> {
    /// Path and method match.
    Route(&'a Route, Vec<(&'static str, String)>),
    /// The path matches, but only for other methods (listed for `Allow`).
    WrongMethod(String),
    /// Nothing matches, but the path with its trailing slash toggled does.
    Redirect(String),
    /// Nothing matches.
    NotFound,
}

/// The ordered routes.
pub struct RouteTable {
    routes: Vec<Route>,
    /// Every route's pattern in one automaton: a request is matched against all patterns in one
    /// pass, and only the winning route runs its capture groups.
    set: regex::RegexSet,
}

impl RouteTable {
    /// A table of `routes` in priority order.
    pub fn new(routes: Vec<Route>) -> Self {
        let set = regex::RegexSet::new(routes.iter().map(|r| r.regex.as_str()))
            .unwrap_or_else(|e| panic!("route table: {e}"));
        RouteTable { routes, set }
    }

    /// The routes, in priority order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Matches a decoded `path` and `method`: the first route in registration order whose
    /// pattern and method match; else 405 if a pattern matched; else a redirect if the path
    /// with its trailing slash toggled matches.
    pub fn find(&self, method: &Method, path: &str) -> Matched<'_> {
        let matching = self.set.matches(path);
        let mut partial: Option<&Route> = None;
        for route in matching.iter().map(|i| &self.routes[i]) {
            if route.method == *method {
                if let Some(params) = route.captures(path) {
                    return Matched::Route(route, params);
                }
            } else {
                partial.get_or_insert(route);
            }
        }
        if let Some(route) = partial {
            return Matched::WrongMethod(route.method.to_string());
        }
        if path != "/" {
            let toggled = match path.strip_suffix('/') {
                Some(stripped) => stripped.to_owned(),
                None => format!("{path}/"),
            };
            if self.set.is_match(&toggled) {
                return Matched::Redirect(toggled);
            }
        }
        Matched::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn noop(_: Ctx) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        Box::pin(async { ().into_response() })
    }

    #[test]
    fn compiles_like_starlette() {
        let r = Route::new(
            Method::GET,
            "/{namespace}/cache/{cache_id}/data/json/{data_key:path}/{data_file_id}",
            noop,
        );
        let caps = r.captures("/demo/cache/id/data/json/a b/c/x").unwrap();
        assert_eq!(caps[2], ("data_key", "a b/c".to_owned()));
        assert_eq!(caps[3], ("data_file_id", "x".to_owned()));
        let caps = r.captures("/demo/cache/id/data/json//x").unwrap();
        assert_eq!(caps[2].1, "");
        assert!(r.captures("/demo/cache/id/data/json/x").is_none());
        let r = Route::new(
            Method::POST,
            "/{namespace}/{strategy}/store/json/{cache_key:path}",
            noop,
        );
        assert_eq!(r.captures("/d/s/store/json/").unwrap()[2].1, "");
    }

    #[test]
    fn first_full_match_wins_then_405_then_redirect() {
        let table = RouteTable::new(vec![
            Route::new(Method::GET, "/{namespace}/retrieve/{cache_id}/json", noop),
            Route::new(Method::GET, "/{namespace}/retrieve/hash/{cache_hash}", noop),
            Route::new(Method::GET, "/info/health", noop),
            Route::new(Method::GET, "/admin/storage/files/in/{path:path}", noop),
        ]);
        match table.find(&Method::GET, "/demo/retrieve/hash/json") {
            Matched::Route(r, params) => {
                assert_eq!(r.pattern, "/{namespace}/retrieve/{cache_id}/json");
                assert_eq!(params[1], ("cache_id", "hash".to_owned()));
            }
            _ => panic!("expected a match"),
        }
        assert!(
            matches!(table.find(&Method::POST, "/info/health"), Matched::WrongMethod(m) if m == "GET")
        );
        assert!(
            matches!(table.find(&Method::GET, "/info/health/"), Matched::Redirect(p) if p == "/info/health")
        );
        assert!(matches!(
            table.find(&Method::GET, "/admin/storage/files/in"),
            Matched::Redirect(p) if p == "/admin/storage/files/in/"
        ));
        assert!(matches!(
            table.find(&Method::GET, "/nope"),
            Matched::NotFound
        ));
        assert!(matches!(table.find(&Method::GET, "/"), Matched::NotFound));
    }
}
