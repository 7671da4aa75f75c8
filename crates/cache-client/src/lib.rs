//! A typed client for the MGraph-AI Cache Service wire, over HTTP or in-process.
//!
//! [`CacheClient`] has one method per route of the service, grouped like the official Python
//! client (`store`, `retrieve`, `exists`, `update`, `delete`, `data`, `namespace`,
//! `namespaces`, `admin_storage`, `server`, `info`). Request and response bodies are the
//! [`cache_wire::schema`] types the server itself uses (re-exported in [`types`]), so client
//! and server cannot drift.
//!
//! Transports:
//! - **remote** ([`CacheClient::remote`], [`RemoteConfig`]): one pooled `reqwest` client,
//!   timeouts, bounded retries with backoff for idempotent calls ([`RetryPolicy`]);
//! - **in-process** ([`CacheClient::in_process`], [`CacheClient::in_memory`]): an
//!   `axum::Router` called directly, no socket;
//! - [`CacheClient::from_env`]: remote if `URL__TARGET_SERVER__CACHE_SERVICE` is set, else
//!   in-memory, like the official client;
//! - [`LocalServer`]: our server on `127.0.0.1:<free port>` for tests that want a socket.
//!
//! Conventions: lookups that can miss return `Ok(None)`; every other failure is a
//! [`CacheClientError`] naming the call. Path parameters are percent-encoded (`/` stays a
//! separator only in `cache_key`, `data_key` and storage paths); the server sanitises what it
//! does not allow and echoes the result. String bodies travel as JSON strings, and empty bodies
//! are sent (the server's 400 comes back as [`CacheClientError::InvalidInput`]).

pub mod api;
mod client;
mod config;
mod error;
#[cfg(feature = "server")]
mod local;
mod path;
mod request;
mod transport;
pub mod wire_ext;

pub use cache_wire::ids::{DataType, Strategy};
pub use client::{CacheClient, TransportKind};
pub use config::{ENV_KEY_NAME, ENV_KEY_VALUE, ENV_URL, RemoteConfig, RetryPolicy};
pub use error::{BoxError, CacheClientError, Call, Result};
#[cfg(feature = "server")]
pub use local::LocalServer;
pub use transport::ByteStream;

/// Every body type the client returns: the shared [`cache_wire::schema`] types, the batch
/// extension's [`cache_wire::batch`] types, plus the few defined in [`wire_ext`].
pub mod types {
    pub use crate::wire_ext::*;
    pub use cache_wire::batch::*;
    pub use cache_wire::schema::*;
}
