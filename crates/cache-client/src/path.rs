//! Building request paths: every parameter percent-encoded, `/` kept only as the separator of
//! `{…:path}` parameters (`cache_key`, `data_key`, admin paths).
//!
//! The server percent-decodes the whole path before matching routes (as Starlette does), so a
//! `/` inside a single-segment parameter (a namespace, an id) cannot reach it intact; and URL
//! parsers resolve `.` and `..` segments (even percent-encoded). Such values are refused here
//! with a message, instead of silently landing on another route or key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the RFC 3986 unreserved characters is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path (and query) under construction.
#[derive(Debug, Default)]
pub(crate) struct PathBuilder {
    path: String,
    has_query: bool,
}

impl PathBuilder {
    pub(crate) fn new() -> Self {
        PathBuilder {
            path: String::with_capacity(96),
            has_query: false,
        }
    }

    /// Appends literal route text such as `/retrieve/hash`.
    pub(crate) fn lit(mut self, text: &'static str) -> Self {
        self.path.push_str(text);
        self
    }

    /// Appends `/` and one encoded segment (a namespace, an id, a hash, a data type).
    pub(crate) fn seg(mut self, name: &str, value: &str) -> Result<Self, String> {
        if value.is_empty() {
            return Err(format!("{name} must not be empty"));
        }
        if value.contains('/') {
            return Err(format!(
                "{name} {value:?} contains '/', which the server cannot route inside one path segment"
            ));
        }
        check_dots(name, value, value)?;
        self.path.push('/');
        self.path.extend(utf8_percent_encode(value, SEGMENT));
        Ok(self)
    }

    /// Appends `/` and a `{…:path}` parameter: each `/`-separated part encoded, `/` kept.
    /// Empty parts are passed through (the server normalises them); `.` and `..` parts are
    /// refused because URL parsers would resolve them.
    pub(crate) fn path_param(mut self, name: &str, value: &str) -> Result<Self, String> {
        self.path.push('/');
        for (i, part) in value.split('/').enumerate() {
            check_dots(name, value, part)?;
            if i > 0 {
                self.path.push('/');
            }
            self.path.extend(utf8_percent_encode(part, SEGMENT));
        }
        Ok(self)
    }

    /// Appends `name=value` to the query string, encoded.
    pub(crate) fn query(mut self, name: &'static str, value: &str) -> Self {
        self.path.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        self.path.push_str(name);
        self.path.push('=');
        self.path.extend(utf8_percent_encode(value, SEGMENT));
        self
    }

    /// Appends `name=value` if `value` is given.
    pub(crate) fn query_opt(self, name: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    pub(crate) fn finish(self) -> String {
        self.path
    }
}

fn check_dots(name: &str, value: &str, part: &str) -> Result<(), String> {
    if part == "." || part == ".." {
        return Err(format!(
            "{name} {value:?} has a {part:?} segment, which URLs cannot carry (it would be resolved away)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_fully_encoded() {
        let p = PathBuilder::new()
            .seg("namespace", "my ns%é")
            .unwrap()
            .lit("/retrieve")
            .seg("cache_id", "a?b#c")
            .unwrap()
            .finish();
        assert_eq!(p, "/my%20ns%25%C3%A9/retrieve/a%3Fb%23c");
    }

    #[test]
    fn path_params_keep_slashes_only() {
        let p = PathBuilder::new()
            .lit("/store/json")
            .path_param("cache_key", "users/al ice/x+y:z\\w")
            .unwrap()
            .finish();
        assert_eq!(p, "/store/json/users/al%20ice/x%2By%3Az%5Cw");
    }

    #[test]
    fn queries_encode_plus_and_ampersand() {
        let p = PathBuilder::new()
            .lit("/x")
            .query("file_id", "a+b&c=d")
            .query_opt("json_field_path", None)
            .query_opt("recursive", Some("false"))
            .finish();
        assert_eq!(p, "/x?file_id=a%2Bb%26c%3Dd&recursive=false");
    }

    #[test]
    fn unroutable_values_are_refused_with_the_parameter_name() {
        let err = PathBuilder::new().seg("namespace", "a/b").unwrap_err();
        assert!(err.contains("namespace") && err.contains("'/'"), "{err}");
        let err = PathBuilder::new().seg("cache_id", "").unwrap_err();
        assert_eq!(err, "cache_id must not be empty");
        let err = PathBuilder::new().seg("namespace", "..").unwrap_err();
        assert!(err.contains("\"..\" segment"), "{err}");
        let err = PathBuilder::new()
            .path_param("cache_key", "a/../b")
            .unwrap_err();
        assert!(err.contains("cache_key \"a/../b\""), "{err}");
        let err = PathBuilder::new()
            .path_param("data_key", "./x")
            .unwrap_err();
        assert!(err.contains("\".\" segment"), "{err}");
        // Dots inside a segment are fine.
        assert!(
            PathBuilder::new()
                .path_param("cache_key", "a/.b/c..")
                .is_ok()
        );
    }
}
