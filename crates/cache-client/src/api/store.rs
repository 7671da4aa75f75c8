//! `POST /{ns}/{strategy}/store/{string|json|binary}[/{cache_key}]` (`Routes__File__Store`).

use bytes::Bytes;
use cache_wire::ids::Strategy;
use cache_wire::schema::StoreResponse;
use serde::Serialize;

use super::group;
use crate::error::Result;
use crate::request::Req;

group! {
    /// Store entries. Every store creates a new entry (a fresh `cache_id`), so these calls are
    /// never retried.
    ///
    /// Bodies are always sent, even empty ones: the server answers an empty string or binary
    /// body with 400, surfaced as [`crate::CacheClientError::InvalidInput`] (the official
    /// client silently sends nothing instead).
    StoreApi
}

const STRING: &str = "/{namespace}/{strategy}/store/string";
const STRING_KEY: &str = "/{namespace}/{strategy}/store/string/{cache_key}";
const JSON: &str = "/{namespace}/{strategy}/store/json";
const JSON_KEY: &str = "/{namespace}/{strategy}/store/json/{cache_key}";
const BINARY: &str = "/{namespace}/{strategy}/store/binary";
const BINARY_KEY: &str = "/{namespace}/{strategy}/store/binary/{cache_key}";

fn base(
    op: &'static str,
    route: &'static str,
    namespace: &str,
    strategy: Strategy,
    kind: &'static str,
) -> Req {
    Req::post(op, route)
        .seg("namespace", namespace)
        .seg("strategy", strategy.as_str())
        .lit(kind)
}

impl StoreApi<'_> {
    /// `POST /{ns}/{strategy}/store/string`: stores `text` (sent as a JSON string).
    pub async fn string(
        self,
        namespace: &str,
        strategy: Strategy,
        text: &str,
    ) -> Result<StoreResponse> {
        base(
            "store().string",
            STRING,
            namespace,
            strategy,
            "/store/string",
        )
        .string_body(text)
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/{strategy}/store/string/{cache_key}?file_id=`.
    pub async fn string_with_key(
        self,
        namespace: &str,
        strategy: Strategy,
        cache_key: &str,
        file_id: Option<&str>,
        text: &str,
    ) -> Result<StoreResponse> {
        base(
            "store().string_with_key",
            STRING_KEY,
            namespace,
            strategy,
            "/store/string",
        )
        .path_param("cache_key", cache_key)
        .query_opt("file_id", file_id)
        .string_body(text)
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/{strategy}/store/json`: stores a JSON object (`{}` is allowed; anything
    /// that is not an object is refused by the server with 400).
    pub async fn json<T: Serialize + ?Sized>(
        self,
        namespace: &str,
        strategy: Strategy,
        body: &T,
    ) -> Result<StoreResponse> {
        base("store().json", JSON, namespace, strategy, "/store/json")
            .json_body(body)
            .send(self.client)
            .await?
            .json()
    }

    /// `POST /{ns}/{strategy}/store/json/{cache_key}?file_id=&json_field_path=`. With a
    /// `json_field_path` (`a.b.c`) only that field's value is hashed.
    pub async fn json_with_key<T: Serialize + ?Sized>(
        self,
        namespace: &str,
        strategy: Strategy,
        cache_key: &str,
        file_id: Option<&str>,
        json_field_path: Option<&str>,
        body: &T,
    ) -> Result<StoreResponse> {
        base(
            "store().json_with_key",
            JSON_KEY,
            namespace,
            strategy,
            "/store/json",
        )
        .path_param("cache_key", cache_key)
        .query_opt("file_id", file_id)
        .query_opt("json_field_path", json_field_path)
        .json_body(body)
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/{strategy}/store/binary` (`application/octet-stream`).
    pub async fn binary(
        self,
        namespace: &str,
        strategy: Strategy,
        bytes: impl Into<Bytes>,
    ) -> Result<StoreResponse> {
        base(
            "store().binary",
            BINARY,
            namespace,
            strategy,
            "/store/binary",
        )
        .bytes_body(bytes.into())
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/{strategy}/store/binary/{cache_key}?file_id=`.
    pub async fn binary_with_key(
        self,
        namespace: &str,
        strategy: Strategy,
        cache_key: &str,
        file_id: Option<&str>,
        bytes: impl Into<Bytes>,
    ) -> Result<StoreResponse> {
        base(
            "store().binary_with_key",
            BINARY_KEY,
            namespace,
            strategy,
            "/store/binary",
        )
        .path_param("cache_key", cache_key)
        .query_opt("file_id", file_id)
        .bytes_body(bytes.into())
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/{strategy}/store/binary` with `Content-Encoding: gzip`: `gzipped` must be
    /// gzip data. The server hashes the decompressed bytes, stores the compressed ones, and
    /// decompresses on retrieve.
    pub async fn binary_gzip(
        self,
        namespace: &str,
        strategy: Strategy,
        gzipped: impl Into<Bytes>,
    ) -> Result<StoreResponse> {
        base(
            "store().binary_gzip",
            BINARY,
            namespace,
            strategy,
            "/store/binary",
        )
        .bytes_body(gzipped.into())
        .content_encoding("gzip")
        .send(self.client)
        .await?
        .json()
    }

    /// [`StoreApi::binary_gzip`] on the cache-key route.
    pub async fn binary_gzip_with_key(
        self,
        namespace: &str,
        strategy: Strategy,
        cache_key: &str,
        file_id: Option<&str>,
        gzipped: impl Into<Bytes>,
    ) -> Result<StoreResponse> {
        base(
            "store().binary_gzip_with_key",
            BINARY_KEY,
            namespace,
            strategy,
            "/store/binary",
        )
        .path_param("cache_key", cache_key)
        .query_opt("file_id", file_id)
        .bytes_body(gzipped.into())
        .content_encoding("gzip")
        .send(self.client)
        .await?
        .json()
    }
}
