//! Configuration from the environment, and the factory that opens a [`Store`].
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PERF_STORAGE_MODE` | `local`, `memory`, `cache_service` or `object_store` | `local` |
//! | `PERF_CACHE_NAMESPACE` | cache-service namespace | `perf-results` |
//! | `PERF_LOCAL_STORAGE_PATH` | root of the local backend | `./perf_results` |
//! | `PERF_LOCAL_FSYNC` | `true` to fsync every local write | `false` |
//! | `URL__TARGET_SERVER__CACHE_SERVICE` | cache-service base URL | none |
//! | `AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME` / `__KEY_VALUE` | cache-service API key | none |
//! | `PERF_OBJECT_STORE_URL` | object store: `s3://bucket/prefix`, `file:///path` or `memory://` (S3 credentials and endpoint from `AWS_*`) | none |
//!
//! Unlike the original module, an unknown mode is an error listing the valid ones, never a
//! silent fall-back to local.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::backends::local::{LocalOptions, LocalStorage};
use crate::backends::memory::MemoryStorage;
use crate::compression::CompressionOptions;
use crate::error::{Error, Result};
use crate::storage::Store;

/// Which backend to open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StorageMode {
    /// Files on local disk (the default).
    #[default]
    Local,
    /// A map in memory, lost when the process ends.
    Memory,
    /// The MGraph-AI Cache Service.
    CacheService,
    /// An object store (an S3 bucket, a folder or memory) named by a URL.
    ObjectStore,
}

impl StorageMode {
    /// Every mode, in the order the error message lists them.
    pub const ALL: [StorageMode; 4] = [
        StorageMode::Local,
        StorageMode::Memory,
        StorageMode::CacheService,
        StorageMode::ObjectStore,
    ];

    /// The name used in `PERF_STORAGE_MODE` and `--mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::Local => "local",
            StorageMode::Memory => "memory",
            StorageMode::CacheService => "cache_service",
            StorageMode::ObjectStore => "object_store",
        }
    }
}

impl fmt::Display for StorageMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let valid: Vec<_> = Self::ALL.iter().map(|m| m.as_str()).collect();
                Error::Config(format!(
                    "unknown storage mode {s:?}; valid modes: {}",
                    valid.join(", ")
                ))
            })
    }
}

/// Default cache-service namespace.
pub const DEFAULT_NAMESPACE: &str = "perf-results";
/// Default root of the local backend.
pub const DEFAULT_LOCAL_PATH: &str = "./perf_results";

/// Everything needed to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Which backend.
    pub mode: StorageMode,
    /// Cache-service namespace.
    pub namespace: String,
    /// Root of the local backend.
    pub local_path: PathBuf,
    /// Local backend options.
    pub local: LocalOptions,
    /// Cache-service base URL (`None`: an in-process service).
    pub cache_service_url: Option<String>,
    /// Cache-service API key header name and value.
    pub api_key: Option<(String, String)>,
    /// Which artifacts are stored compressed, on every backend.
    pub compression: CompressionOptions,
    /// Object-store URL (`s3://bucket/prefix`, `file:///path`, `memory://`).
    pub object_store_url: Option<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            mode: StorageMode::default(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            local_path: PathBuf::from(DEFAULT_LOCAL_PATH),
            local: LocalOptions::default(),
            cache_service_url: None,
            api_key: None,
            compression: CompressionOptions::default(),
            object_store_url: None,
        }
    }
}

impl StorageConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values count
    /// as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::default();
        if let Some(mode) = get("PERF_STORAGE_MODE") {
            config.mode = mode.trim().parse().map_err(|e: Error| match e {
                Error::Config(msg) => Error::Config(format!("--mode / PERF_STORAGE_MODE: {msg}")),
                other => other,
            })?;
        }
        if let Some(ns) = get("PERF_CACHE_NAMESPACE") {
            config.namespace = ns;
        }
        if let Some(path) = get("PERF_LOCAL_STORAGE_PATH") {
            config.local_path = PathBuf::from(path);
        }
        if let Some(fsync) = get("PERF_LOCAL_FSYNC") {
            config.local.fsync = parse_bool("PERF_LOCAL_FSYNC", &fsync)?;
        }
        if let Some(threshold) = get("PERF_COMPRESSION_THRESHOLD") {
            config.compression.threshold = parse_threshold(&threshold)?;
        }
        if let Some(level) = get("PERF_COMPRESSION_LEVEL") {
            config.compression.level = level
                .trim()
                .parse()
                .ok()
                .filter(|l| (1..=22).contains(l))
                .ok_or_else(|| {
                Error::Config(format!(
                    "PERF_COMPRESSION_LEVEL={level:?}: expected a zstd level from 1 to 22"
                ))
            })?;
        }
        config.cache_service_url = get("URL__TARGET_SERVER__CACHE_SERVICE");
        config.object_store_url = get("PERF_OBJECT_STORE_URL").map(|u| u.trim().to_owned());
        match (
            get("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME"),
            get("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE"),
        ) {
            (Some(name), Some(value)) => config.api_key = Some((name, value)),
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "set both AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME and __KEY_VALUE, or neither"
                        .into(),
                ));
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the settings that every mode relies on.
    pub fn validate(&self) -> Result<()> {
        let ns = &self.namespace;
        let valid_ns = !ns.is_empty()
            && ns.len() <= 128
            && ns
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_ns {
            return Err(Error::Config(format!(
                "namespace {ns:?} must be 1-128 characters of A-Z a-z 0-9 _ -"
            )));
        }
        Ok(())
    }

    /// Opens the configured backend.
    pub fn open(&self) -> Result<Store> {
        self.validate()?;
        match self.mode {
            StorageMode::Local => Ok(Store::new(LocalStorage::with_options(
                &self.local_path,
                LocalOptions {
                    compression: self.compression,
                    ..self.local
                },
            ))),
            StorageMode::Memory => Ok(Store::new(MemoryStorage::with_compression(
                self.compression,
            ))),
            #[cfg(feature = "cache-service")]
            StorageMode::CacheService => {
                let api_key = self
                    .api_key
                    .as_ref()
                    .map(|(name, value)| (name.as_str(), value.as_str()));
                let backend = crate::backends::cache_service::CacheServiceStorage::connect(
                    self.cache_service_url.as_deref(),
                    api_key,
                    self.namespace.as_str(),
                )?;
                Ok(Store::new(backend.with_compression(self.compression)))
            }
            #[cfg(not(feature = "cache-service"))]
            StorageMode::CacheService => Err(Error::Config(
                "PERF_STORAGE_MODE=cache_service, but this perfstore was built without its `cache-service` feature".into(),
            )),
            #[cfg(feature = "object-store")]
            StorageMode::ObjectStore => {
                let url = self.object_store_url.as_deref().ok_or_else(|| {
                    Error::Config(format!(
                        "PERF_STORAGE_MODE=object_store needs {} (s3://bucket/prefix, file:///path or memory://)",
                        crate::backends::object_store::URL_SETTING
                    ))
                })?;
                let options = crate::backends::object_store::ObjectStoreOptions {
                    compression: self.compression,
                    ..Default::default()
                };
                Ok(Store::new(
                    crate::backends::object_store::ObjectStoreStorage::open_with(url, options)?,
                ))
            }
            #[cfg(not(feature = "object-store"))]
            StorageMode::ObjectStore => Err(Error::Config(
                "PERF_STORAGE_MODE=object_store, but this perfstore was built without its `object-store` feature".into(),
            )),
        }
    }
}

/// `PERF_COMPRESSION_THRESHOLD`: `off`, or a size in bytes with an optional unit
/// (`KB`/`MB`/`GB` are powers of 1000, `KiB`/`MiB`/`GiB` of 1024).
fn parse_threshold(value: &str) -> Result<Option<u64>> {
    let value = value.trim();
    if matches!(
        value.to_ascii_lowercase().as_str(),
        "off" | "none" | "never"
    ) {
        return Ok(None);
    }
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => u64::MAX,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| scale != u64::MAX)
        .and_then(|n| n.checked_mul(scale))
        .map(Some)
        .ok_or_else(|| {
            Error::Config(format!(
                "PERF_COMPRESSION_THRESHOLD={value:?}: expected off or a size such as 1048576, 512KiB, 1MiB, 10MB"
            ))
        })
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(Error::Config(format!(
            "{name}: {other:?} is not a boolean (use true or false)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<StorageConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StorageConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_original() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, StorageMode::Local);
        assert_eq!(c.namespace, "perf-results");
        assert_eq!(c.local_path, PathBuf::from("./perf_results"));
        assert!(!c.local.fsync);
        assert_eq!(c.cache_service_url, None);
    }

    #[test]
    fn compression_is_configurable_and_bad_values_name_the_variable() {
        assert_eq!(
            config(&[]).unwrap().compression,
            CompressionOptions::default()
        );
        let c = config(&[
            ("PERF_COMPRESSION_THRESHOLD", "512KiB"),
            ("PERF_COMPRESSION_LEVEL", "9"),
        ])
        .unwrap();
        assert_eq!(c.compression.threshold, Some(512 * 1024));
        assert_eq!(c.compression.level, 9);
        for (value, want) in [
            ("off", None),
            ("0", Some(0)),
            ("10MB", Some(10_000_000)),
            ("1 GiB", Some(1 << 30)),
        ] {
            let c = config(&[("PERF_COMPRESSION_THRESHOLD", value)]).unwrap();
            assert_eq!(c.compression.threshold, want, "{value}");
        }
        for (var, value) in [
            ("PERF_COMPRESSION_THRESHOLD", "lots"),
            ("PERF_COMPRESSION_THRESHOLD", "5 parsecs"),
            ("PERF_COMPRESSION_THRESHOLD", "99999999999999999999GiB"),
            ("PERF_COMPRESSION_LEVEL", "0"),
            ("PERF_COMPRESSION_LEVEL", "fast"),
        ] {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("PERF_STORAGE_MODE", "memory"),
            ("PERF_CACHE_NAMESPACE", "custom-namespace"),
            ("PERF_LOCAL_STORAGE_PATH", "/custom/path"),
            ("PERF_LOCAL_FSYNC", "true"),
            (
                "URL__TARGET_SERVER__CACHE_SERVICE",
                "http://127.0.0.1:10017",
            ),
            ("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME", "x-api-key"),
            ("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE", "secret"),
        ])
        .unwrap();
        assert_eq!(c.mode, StorageMode::Memory);
        assert_eq!(c.namespace, "custom-namespace");
        assert_eq!(c.local_path, PathBuf::from("/custom/path"));
        assert!(c.local.fsync);
        assert_eq!(
            c.cache_service_url.as_deref(),
            Some("http://127.0.0.1:10017")
        );
        assert_eq!(c.api_key, Some(("x-api-key".into(), "secret".into())));
        assert_eq!(
            config(&[("PERF_STORAGE_MODE", "cache_service")])
                .unwrap()
                .mode,
            StorageMode::CacheService
        );
    }

    #[test]
    fn an_unknown_mode_is_an_error_listing_the_valid_ones() {
        let err = config(&[("PERF_STORAGE_MODE", "invalid_mode")]).unwrap_err();
        let msg = err.to_string();
        for needle in [
            "PERF_STORAGE_MODE",
            "invalid_mode",
            "local",
            "memory",
            "cache_service",
            "object_store",
        ] {
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(config(&[("PERF_CACHE_NAMESPACE", "a/b")]).is_err());
        assert!(config(&[("PERF_LOCAL_FSYNC", "maybe")]).is_err());
        assert!(config(&[("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME", "x")]).is_err());
    }

    #[cfg(feature = "cache-service")]
    #[test]
    fn cache_service_without_a_url_runs_in_process() {
        let store = config(&[("PERF_STORAGE_MODE", "cache_service")])
            .unwrap()
            .open()
            .unwrap();
        assert_eq!(store.name(), "cache_service");
        assert!(!store.capabilities().persistent);
        let err = config(&[
            ("PERF_STORAGE_MODE", "cache_service"),
            ("URL__TARGET_SERVER__CACHE_SERVICE", "not a url"),
        ])
        .unwrap()
        .open()
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }

    #[cfg(feature = "object-store")]
    #[test]
    fn object_store_mode_opens_the_url_and_names_the_setting_when_wrong() {
        let store = config(&[
            ("PERF_STORAGE_MODE", "object_store"),
            ("PERF_OBJECT_STORE_URL", " memory:// "),
        ])
        .unwrap()
        .open()
        .unwrap();
        assert_eq!(store.name(), "object_store");
        assert!(!store.capabilities().persistent);
        for (vars, needle) in [
            (
                vec![("PERF_STORAGE_MODE", "object_store")],
                "needs --object-store-url / PERF_OBJECT_STORE_URL",
            ),
            (
                vec![
                    ("PERF_STORAGE_MODE", "object_store"),
                    ("PERF_OBJECT_STORE_URL", "ftp://host/x"),
                ],
                "unknown scheme \"ftp\"",
            ),
            (
                vec![
                    ("PERF_STORAGE_MODE", "object_store"),
                    ("PERF_OBJECT_STORE_URL", "bucket/prefix"),
                ],
                "not a URL",
            ),
        ] {
            let err = config(&vars).unwrap().open().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            let msg = err.to_string();
            assert!(msg.contains("PERF_OBJECT_STORE_URL"), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[cfg(not(feature = "object-store"))]
    #[test]
    fn object_store_mode_without_the_feature_says_so() {
        let err = config(&[
            ("PERF_STORAGE_MODE", "object_store"),
            ("PERF_OBJECT_STORE_URL", "memory://"),
        ])
        .unwrap()
        .open()
        .unwrap_err();
        assert!(err.to_string().contains("`object-store` feature"), "{err}");
    }

    #[cfg(not(feature = "cache-service"))]
    #[test]
    fn cache_service_mode_without_the_feature_says_so() {
        let err = config(&[("PERF_STORAGE_MODE", "cache_service")])
            .unwrap()
            .open()
            .unwrap_err();
        assert!(err.to_string().contains("`cache-service` feature"), "{err}");
    }
}
