//! Configuration of the remote transport, and the environment variables of the official client.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::error::{CacheClientError, Result};

/// Base URL of the service (`URL__TARGET_SERVER__CACHE_SERVICE`); unset means in-memory.
pub const ENV_URL: &str = "URL__TARGET_SERVER__CACHE_SERVICE";
/// Name of the API-key header (`AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME`).
pub const ENV_KEY_NAME: &str = "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME";
/// Value of the API-key header (`AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE`).
pub const ENV_KEY_VALUE: &str = "AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE";

/// How failed idempotent calls are retried: on transport errors and on 500/502/503/504,
/// with exponential backoff (with jitter), at most `max_attempts` attempts in all.
///
/// Only idempotent calls are retried: GET and DELETE routes, updates, and child-data stores
/// that name their `data_file_id` (they overwrite the same file). Entry stores (`store()`) and
/// child-data stores without an id create something new on every call and are never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (1 disables retries; 0 counts as 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each later one.
    pub initial_backoff: Duration,
    /// Upper bound of a single wait.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    /// `max_attempts` attempts with the given first wait (doubling, capped at 32×).
    pub fn attempts(max_attempts: u32, initial_backoff: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            initial_backoff,
            max_backoff: initial_backoff.saturating_mul(32),
        }
    }

    /// The wait before retry number `retry` (1 for the first retry): half of
    /// `initial × 2^(retry-1)` (capped at `max_backoff`) plus a random part of the other half,
    /// so that many clients failing together do not retry in lock step.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << (retry.saturating_sub(1)).min(20))
            .min(self.max_backoff);
        let half = exp / 2;
        let spread = half.as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            RandomState::new().hash_one(retry) % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

impl Default for RetryPolicy {
    /// 4 attempts, waiting about 100 ms, 200 ms, 400 ms (at most 2 s each).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Settings of the remote (HTTP) transport.
///
/// ```
/// use std::time::Duration;
/// use cache_client::{RemoteConfig, RetryPolicy};
/// let config = RemoteConfig::new("http://127.0.0.1:10017")
///     .with_api_key("x-api-key", "secret123")
///     .with_timeout(Duration::from_secs(10))
///     .with_retries(RetryPolicy::attempts(3, Duration::from_millis(50)));
/// assert_eq!(config.base_url, "http://127.0.0.1:10017");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// `http://host:port[/prefix]`; a trailing `/` is ignored.
    pub base_url: String,
    /// `(header name, value)` sent on every request, e.g. `("x-api-key", "…")`.
    pub api_key: Option<(String, String)>,
    /// Limit for a whole request (connect, send, read the body), per attempt.
    pub timeout: Duration,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Retries of idempotent calls.
    pub retries: RetryPolicy,
    /// Idle pooled connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl RemoteConfig {
    /// Defaults: no API key, 30 s request timeout, 5 s connect timeout, [`RetryPolicy::default`].
    pub fn new(base_url: impl Into<String>) -> Self {
        RemoteConfig {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: RetryPolicy::default(),
            pool_max_idle_per_host: 64,
        }
    }

    /// From [`ENV_URL`], [`ENV_KEY_NAME`] and [`ENV_KEY_VALUE`]; `Ok(None)` when the URL is
    /// unset or empty. A key name without a value (or the reverse) is an error naming the
    /// missing variable.
    pub fn from_env() -> Result<Option<Self>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(url) = var(ENV_URL) else {
            return Ok(None);
        };
        let api_key = match (var(ENV_KEY_NAME), var(ENV_KEY_VALUE)) {
            (Some(name), Some(value)) => Some((name, value)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(CacheClientError::config(format!(
                    "{ENV_KEY_NAME} is set but {ENV_KEY_VALUE} is not; set both (or neither)"
                )));
            }
            (None, Some(_)) => {
                return Err(CacheClientError::config(format!(
                    "{ENV_KEY_VALUE} is set but {ENV_KEY_NAME} is not; set both (or neither)"
                )));
            }
        };
        Ok(Some(RemoteConfig {
            api_key,
            ..RemoteConfig::new(url.trim())
        }))
    }

    /// Sends header `name: value` on every request.
    pub fn with_api_key(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.api_key = Some((name.into(), value.into()));
        self
    }

    /// Sets the per-attempt request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retries(mut self, retries: RetryPolicy) -> Self {
        self.retries = retries;
        self
    }
}

impl fmt::Debug for RemoteConfig {
    /// Never prints the API key's value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("base_url", &self.base_url)
            .field(
                "api_key",
                &self.api_key.as_ref().map(|(name, _)| (name, "<redacted>")),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = policy.backoff(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let capped = policy.backoff(9);
            assert!(capped >= Duration::from_millis(150) && capped <= Duration::from_millis(300));
        }
        assert_eq!(RetryPolicy::none().backoff(1), Duration::ZERO);
        // Huge retry numbers neither overflow nor exceed the cap.
        assert!(policy.backoff(u32::MAX) <= Duration::from_millis(300));
    }

    #[test]
    fn debug_never_shows_the_key_value() {
        let config = RemoteConfig::new("http://h").with_api_key("x-api-key", "s3cret");
        let text = format!("{config:?}");
        assert!(
            text.contains("x-api-key") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
