//! Route handlers, one module per route group of the reference.

pub mod admin;
pub mod batch;
pub mod data;
pub mod entries;
pub mod info;
pub mod retrieve;
pub mod store;

use axum::response::Response;
use cache_wire::ids::{CacheHash, CacheId, IdError, Namespace};
use serde_json::json;

use super::ctx::{Checks, Ctx};
use super::reply;
use crate::service::ServiceError;

/// Python class names the reference uses for parameters on different routes.
pub mod class {
    /// `Safe_Str__Id`.
    pub const ID: &str = "Safe_Str__Id";
    /// `Safe_Str__Cache__Namespace`.
    pub const NAMESPACE: &str = "Safe_Str__Cache__Namespace";
    /// `Safe_Str__Cache__File__File_Id`.
    pub const FILE_ID: &str = "Safe_Str__Cache__File__File_Id";
    /// `Safe_Str__File__Path`.
    pub const FILE_PATH: &str = "Safe_Str__File__Path";
    /// `Safe_Str__Cache__File__Cache_Key`.
    pub const CACHE_KEY: &str = "Safe_Str__Cache__File__Cache_Key";
    /// `Safe_Str__Cache__File__Data_Key`.
    pub const DATA_KEY: &str = "Safe_Str__Cache__File__Data_Key";
}

/// Returns the response of an `Err`.
macro_rules! bail {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}
pub(crate) use bail;

/// Turns a service result into a value or the 500 envelope.
pub fn served<T>(result: Result<T, ServiceError>) -> Result<T, Response> {
    result.map_err(|e| reply::service_error(&e))
}

/// The `namespace` path parameter as the wrapper converts it.
pub fn namespace(checks: &mut Checks, ctx: &Ctx, class: &'static str) -> Option<Namespace> {
    let raw = ctx.param("namespace");
    checks.value("namespace", raw, Namespace::parse_as(raw, class))
}

/// The `cache_id` path parameter (`Cache_Id`).
pub fn cache_id(checks: &mut Checks, ctx: &Ctx) -> Option<CacheId> {
    let raw = ctx.param("cache_id");
    checks.value("cache_id", raw, CacheId::parse(raw))
}

/// The `cache_id` and `namespace` path parameters of a route on one entry (`Safe_Str__Id`).
pub fn entry_params(ctx: &Ctx) -> Result<(CacheId, Namespace), Response> {
    let mut checks = Checks::default();
    let id = cache_id(&mut checks, ctx);
    let ns = namespace(&mut checks, ctx, class::ID);
    checks.finish()?;
    match (id, ns) {
        (Some(id), Some(ns)) => Ok((id, ns)),
        _ => Err(reply::internal(
            "ValueError",
            "parameters missing after validation",
        )),
    }
}

/// The `cache_hash` path parameter (`Safe_Str__Cache_Hash`).
pub fn cache_hash(checks: &mut Checks, ctx: &Ctx) -> Option<CacheHash> {
    let raw = ctx.param("cache_hash");
    checks.value("cache_hash", raw, CacheHash::parse(raw))
}

/// A query parameter converted by the wrapper; absent means `""` (`Safe_Str(None)`).
pub fn query_value<T>(
    checks: &mut Checks,
    ctx: &Ctx,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, IdError>,
) -> Option<T> {
    let raw = ctx.query(name).unwrap_or("");
    let parsed = parse(raw);
    checks.value(name, raw, parsed)
}

/// A `{"detail":{"error_type":…,"message":…,…}}` object in the given key order.
pub fn error_detail(
    status: axum::http::StatusCode,
    fields: &[(&str, serde_json::Value)],
) -> Response {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        map.insert((*k).to_owned(), v.clone());
    }
    reply::detail(status, json!(map))
}
