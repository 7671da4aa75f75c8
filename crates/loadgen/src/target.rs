//! The server a run drives: a base URL that must point at this machine's loopback interface.

use reqwest::Url;

/// Why a `--url` was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetUrlError {
    /// The text is not a URL at all.
    #[error("--url {url:?} is not a valid URL: {reason}")]
    Invalid {
        /// The text given.
        url: String,
        /// What the parser said.
        reason: String,
    },
    /// Only plain http on loopback is driven (the generator is for local comparisons).
    #[error("--url {url:?} must use http://, not {scheme}://")]
    Scheme {
        /// The text given.
        url: String,
        /// The scheme found.
        scheme: String,
    },
    /// The host is not 127.0.0.1, localhost or [::1].
    #[error("--url {url:?}: host {host:?} is not loopback; use 127.0.0.1, localhost or [::1]")]
    NotLoopback {
        /// The text given.
        url: String,
        /// The host found.
        host: String,
    },
}

/// Parses `url` and accepts it only for `http://127.0.0.1`, `http://localhost` or `http://[::1]`.
pub fn loopback_base_url(url: &str) -> Result<String, TargetUrlError> {
    let parsed = Url::parse(url).map_err(|e| TargetUrlError::Invalid {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if parsed.scheme() != "http" {
        return Err(TargetUrlError::Scheme {
            url: url.to_owned(),
            scheme: parsed.scheme().to_owned(),
        });
    }
    // The parser normalises hosts (`127.1` → `127.0.0.1`, `LOCALHOST` → `localhost`,
    // `[0::1]` → `[::1]`), so comparing the text is exact.
    let host = parsed.host_str().unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(TargetUrlError::NotLoopback {
            url: url.to_owned(),
            host: host.to_owned(),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:1/",
            "http://[::1]:9",
            "http://127.1:80",
            "http://LOCALHOST:5",
        ] {
            assert!(loopback_base_url(url).is_ok(), "{url}");
        }
        assert_eq!(
            loopback_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn refuses_other_hosts_and_schemes() {
        for url in [
            "http://10.0.0.1:80",
            "http://example.com",
            "http://127.0.0.2:80",
            "http://localhost.example.com",
            "http://0.0.0.0:80",
        ] {
            assert!(
                matches!(
                    loopback_base_url(url),
                    Err(TargetUrlError::NotLoopback { .. })
                ),
                "{url}"
            );
        }
        assert!(matches!(
            loopback_base_url("https://127.0.0.1"),
            Err(TargetUrlError::Scheme { .. })
        ));
        assert!(matches!(
            loopback_base_url("not a url"),
            Err(TargetUrlError::Invalid { .. })
        ));
    }
}
