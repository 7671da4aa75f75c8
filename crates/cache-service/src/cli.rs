//! The arguments and entry point of `perfstore serve`.
//!
//! Every flag has the environment variable of the reference service as fallback
//! (`CACHE__SERVICE__STORAGE_MODE`, `CACHE__SERVICE__LOCAL_DISK_PATH`,
//! `CACHE__SERVICE__BUCKET_NAME`, `CACHE__SERVICE__DEFAULT_TTL_HOURS`,
//! `FAST_API__AUTH__API_KEY__NAME` / `__VALUE`), plus `CACHE__SERVICE__NO_AUTH` and
//! `CACHE__SERVICE__MAX_BODY_BYTES`, `CACHE__SERVICE__MAX_STREAM_BYTES`, the timeouts
//! (`CACHE__SERVICE__HEADER_TIMEOUT_SECS`, `…__BODY_IDLE_TIMEOUT_SECS`,
//! `…__KEEP_ALIVE_TIMEOUT_SECS`), `CACHE__SERVICE__MAX_CONNECTIONS` and
//! `CACHE__SERVICE__STAGING_GRACE_SECS` for this server's own switches.

use std::error::Error;
use std::path::PathBuf;

use std::time::Duration;

use crate::server::{
    AuthSettings, ConnectionLimits, DEFAULT_BODY_IDLE_TIMEOUT, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_STREAM_BYTES, DEFAULT_STAGING_GRACE, ServerConfig, StorageConfig, start,
};

/// Storage backends selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    /// In memory (default).
    Memory,
    /// Local disk under `--path` (the reference's `local_disk`).
    Disk,
    /// An S3 or S3-compatible bucket.
    S3,
}

/// Parses `memory`, `disk` (or the reference's `local_disk`) and `s3`.
fn parse_storage_mode(raw: &str) -> Result<StorageMode, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "memory" => Ok(StorageMode::Memory),
        "disk" | "local_disk" => Ok(StorageMode::Disk),
        "s3" => Ok(StorageMode::S3),
        other => Err(format!(
            "unknown storage mode {other:?}: expected memory, disk (or local_disk) or s3"
        )),
    }
}

/// `true`/`false` style switches from the environment (`1`, `yes`, `on` count as true).
fn parse_switch(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// `perfstore serve [--host 127.0.0.1] [--port 10017] [--storage memory|disk|s3] [--path DIR] [--no-auth]`
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 10017)]
    pub port: u16,
    /// Storage backend: memory, disk (alias local_disk) or s3.
    #[arg(
        long,
        env = "CACHE__SERVICE__STORAGE_MODE",
        default_value = "memory",
        value_parser = parse_storage_mode
    )]
    pub storage: StorageMode,
    /// Root folder for `--storage disk`, required with it (same layout as the reference's
    /// local_disk mode; unlike the reference, no silent /tmp/cache default).
    // A `String`, because the `perfstore` command has a global `--path` of that type and
    // clap shares the argument id between them.
    #[arg(long, env = "CACHE__SERVICE__LOCAL_DISK_PATH", value_name = "DIR")]
    pub path: Option<String>,
    /// Bucket for `--storage s3`; credentials, region and AWS_ENDPOINT_URL come from the
    /// standard AWS environment variables.
    #[arg(
        long,
        env = "CACHE__SERVICE__BUCKET_NAME",
        default_value = "mgraph-ai-cache"
    )]
    pub bucket: String,
    /// Serve without an API key (local development only).
    #[arg(
        long,
        env = "CACHE__SERVICE__NO_AUTH",
        default_value = "false",
        default_missing_value = "true",
        num_args = 0..=1,
        value_parser = parse_switch
    )]
    pub no_auth: bool,
    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = "CACHE__SERVICE__MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Largest accepted streamed binary body (binary stores, binary child data) in bytes;
    /// these are written through without being held in memory.
    #[arg(long, env = "CACHE__SERVICE__MAX_STREAM_BYTES", default_value_t = DEFAULT_MAX_STREAM_BYTES)]
    pub max_stream_bytes: u64,
    /// TTL reported by /server/storage/info and /{ns}/stats (entries never expire).
    #[arg(long, env = "CACHE__SERVICE__DEFAULT_TTL_HOURS", default_value_t = 24)]
    pub ttl_hours: u64,
    /// Seconds a client has to send a request's headers (from connect, or from the first
    /// byte of a keep-alive connection's next request); then the connection is closed.
    #[arg(long, env = "CACHE__SERVICE__HEADER_TIMEOUT_SECS", default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Longest pause, in seconds, in a request body being read (400 and close beyond), or
    /// in the client's reading of a response; slow bodies that keep moving are not cut.
    #[arg(long, env = "CACHE__SERVICE__BODY_IDLE_TIMEOUT_SECS", default_value_t = DEFAULT_BODY_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub body_idle_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "CACHE__SERVICE__KEEP_ALIVE_TIMEOUT_SECS", default_value_t = DEFAULT_KEEP_ALIVE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_alive_timeout_secs: u64,
    /// Most open connections; beyond it the longest idle one is closed (or, all busy, new
    /// ones wait). Keep it well under the process's file-descriptor limit (ulimit -n).
    #[arg(long, env = "CACHE__SERVICE__MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Seconds after which the staging file of an upload that is not running in this process
    /// (e.g. killed mid-upload) is deleted (`--storage disk`); checked at start-up and every
    /// quarter of it (at most every 15 minutes).
    #[arg(long, env = "CACHE__SERVICE__STAGING_GRACE_SECS", default_value_t = DEFAULT_STAGING_GRACE.as_secs())]
    pub staging_grace_secs: u64,
}

impl ServeArgs {
    /// The server configuration these arguments describe, or what is missing from them. Auth
    /// comes from `FAST_API__AUTH__API_KEY__NAME` / `__VALUE` unless `--no-auth`.
    pub fn config(&self) -> Result<ServerConfig, String> {
        let storage = match self.storage {
            StorageMode::Memory => StorageConfig::Memory,
            StorageMode::Disk => StorageConfig::Disk {
                path: self
                    .path
                    .as_deref()
                    .filter(|p| !p.trim().is_empty())
                    .map(PathBuf::from)
                    .ok_or(
                        "--storage disk needs --path DIR (or CACHE__SERVICE__LOCAL_DISK_PATH): \
                         the folder to store in",
                    )?,
            },
            StorageMode::S3 => StorageConfig::S3 {
                bucket: self.bucket.clone(),
            },
        };
        let auth = if self.no_auth {
            AuthSettings::disabled()
        } else {
            AuthSettings::from_env()
        };
        auth.validate().map_err(|e| e.to_string())?;
        Ok(ServerConfig {
            host: self.host.clone(),
            port: self.port,
            storage,
            auth,
            max_body_bytes: self.max_body_bytes,
            max_stream_bytes: self.max_stream_bytes,
            ttl_hours: self.ttl_hours,
            limits: ConnectionLimits {
                header_timeout: Duration::from_secs(self.header_timeout_secs),
                body_idle_timeout: Duration::from_secs(self.body_idle_timeout_secs),
                keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout_secs),
                max_connections: self.max_connections,
            },
            staging_grace: Duration::from_secs(self.staging_grace_secs),
        })
    }

    /// Runs the server until SIGTERM or Ctrl-C, then shuts down gracefully. Once bound, prints
    /// `listening on http://HOST:PORT` (the real port, also with `--port 0`) on stdout, the
    /// command's one line of output; logs go to stderr.
    pub async fn run(self) -> Result<(), Box<dyn Error + Send + Sync>> {
        let config = self.config()?;
        if self.no_auth {
            tracing::warn!("serving without an API key (--no-auth): for local development only");
        }
        let server = start(config).await?;
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the server.
            let _ = writeln!(out, "listening on {}", server.base_url()).and_then(|()| out.flush());
        }
        shutdown_signal().await;
        tracing::info!("cache service shutting down");
        server.shutdown().await?;
        Ok(())
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn storage_modes_accept_the_reference_names() {
        assert_eq!(parse_storage_mode("local_disk"), Ok(StorageMode::Disk));
        assert_eq!(parse_storage_mode("DISK"), Ok(StorageMode::Disk));
        assert_eq!(parse_storage_mode("s3"), Ok(StorageMode::S3));
        let err = parse_storage_mode("sqlite").unwrap_err();
        assert!(err.contains("memory, disk"), "{err}");
    }

    #[test]
    fn flags_build_the_server_config() {
        let cli = Cli::try_parse_from([
            "serve",
            "--port",
            "0",
            "--storage",
            "disk",
            "--path",
            "/x",
            "--no-auth",
        ])
        .unwrap();
        let config = cli.serve.config().unwrap();
        assert_eq!(config.port, 0);
        assert_eq!(
            config.storage,
            StorageConfig::Disk {
                path: PathBuf::from("/x")
            }
        );
        assert!(!config.auth.enabled);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.limits, ConnectionLimits::default());
        assert_eq!(config.staging_grace, DEFAULT_STAGING_GRACE);
        assert!(Cli::try_parse_from(["serve", "--storage", "ftp"]).is_err());
        let cli = Cli::try_parse_from([
            "serve",
            "--header-timeout-secs",
            "5",
            "--body-idle-timeout-secs",
            "7",
            "--keep-alive-timeout-secs",
            "9",
            "--max-connections",
            "64",
            "--staging-grace-secs",
            "120",
            "--no-auth",
        ])
        .unwrap();
        let config = cli.serve.config().unwrap();
        assert_eq!(
            config.limits,
            ConnectionLimits {
                header_timeout: Duration::from_secs(5),
                body_idle_timeout: Duration::from_secs(7),
                keep_alive_timeout: Duration::from_secs(9),
                max_connections: 64,
            }
        );
        assert_eq!(config.staging_grace, Duration::from_secs(120));
        assert!(Cli::try_parse_from(["serve", "--max-connections", "0"]).is_err());
        let no_path = Cli::try_parse_from(["serve", "--storage", "disk"]).unwrap();
        let err = no_path.serve.config().unwrap_err();
        assert!(err.contains("--path"), "{err}");
        if std::env::var_os(crate::server::ENV_API_KEY_NAME).is_none() {
            let keyless = Cli::try_parse_from(["serve"]).unwrap();
            let err = keyless.serve.config().unwrap_err();
            assert!(err.contains("--no-auth"), "{err}");
        }
        assert!(Cli::try_parse_from(["serve", "--header-timeout-secs", "0"]).is_err());
    }
}
