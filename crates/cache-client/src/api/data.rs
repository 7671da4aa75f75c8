//! Child data files of an entry, `P = /{ns}/cache/{cache_id}/data` (`Routes__Data__*`).
//!
//! A child file is addressed by an optional `data_key` (a folder path, `/`-separated) and a
//! `data_file_id`; `None` or `""` as `data_key` means no folder. Files live next to the entry's
//! content (one copy per content copy) and are overwritten silently.

use bytes::Bytes;
use cache_wire::batch::{BatchFileRef, BatchRetrieveResponse, BatchStoreFile, BatchStoreResponse};
use cache_wire::ids::DataType;
use cache_wire::schema::{
    DataDeleteAllResponse, DataExistsResponse, DataListResponse, DataStoreResponse,
    DataUpdateResponse,
};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::group;
use crate::error::Result;
use crate::request::Req;
use crate::transport::ByteStream;

group! {
    /// Child data files: store, retrieve, exists, update, list, delete.
    ///
    /// Retrieves are lookups: a missing file is `Ok(None)` (`delete` gives `Ok(false)`).
    /// `list` and `update` of a missing entry or file are
    /// [`crate::CacheClientError::NotFound`].
    DataApi
}

/// `None` for an absent or empty data key.
fn key(data_key: Option<&str>) -> Option<&str> {
    data_key.filter(|k| !k.is_empty())
}

/// `/{ns}/cache/{cache_id}/data`.
fn child(
    op: &'static str,
    method: Method,
    route: &'static str,
    namespace: &str,
    cache_id: &str,
) -> Req {
    Req::new(op, method, route)
        .seg("namespace", namespace)
        .lit("/cache")
        .seg("cache_id", cache_id)
        .lit("/data")
}

/// `[/{data_key}]/{data_file_id}`.
fn addressed(req: Req, data_key: Option<&str>, data_file_id: &str) -> Req {
    let req = match key(data_key) {
        Some(k) => req.path_param("data_key", k),
        None => req,
    };
    req.seg("data_file_id", data_file_id)
}

/// The route segment of a data type (`/json`, `/string`, `/binary`).
fn type_lit(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Json => "/json",
        DataType::String => "/string",
        DataType::Binary => "/binary",
        DataType::TypeSafe => "/type-safe",
    }
}

impl DataApi<'_> {
    #[allow(clippy::too_many_arguments)]
    async fn store(
        self,
        op: &'static str,
        route: &'static str,
        data_type: DataType,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: Option<&str>,
        with_body: impl FnOnce(Req) -> Req,
    ) -> Result<DataStoreResponse> {
        let req = child(op, Method::POST, route, namespace, cache_id)
            .lit("/store")
            .lit(type_lit(data_type));
        let req = match (key(data_key), data_file_id) {
            (None, None) => req,
            // A named file is overwritten in place: sending it again is harmless.
            (k, Some(id)) => addressed(req, k, id).idempotent(true),
            // No route takes a key without an id; pick the fresh uuid4 the server would.
            (Some(k), None) => addressed(req, Some(k), &uuid::Uuid::new_v4().to_string()),
        };
        with_body(req).send(self.client).await?.json()
    }

    /// `POST P/store/json[/{data_key}][/{data_file_id}]`: stores a JSON object (indent-4
    /// `.json`). Without a `data_file_id` a fresh uuid4 is used (and reported in `file_id`).
    pub async fn store_json<T: Serialize + ?Sized>(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: Option<&str>,
        body: &T,
    ) -> Result<DataStoreResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/store/json/{data_key}/{data_file_id}";
        self.store(
            "data().store_json",
            route,
            DataType::Json,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.json_body(body),
        )
        .await
    }

    /// `POST P/store/string[/{data_key}][/{data_file_id}]`: stores text (`.txt`), sent as a
    /// JSON string.
    pub async fn store_string(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: Option<&str>,
        text: &str,
    ) -> Result<DataStoreResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/store/string/{data_key}/{data_file_id}";
        self.store(
            "data().store_string",
            route,
            DataType::String,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.string_body(text),
        )
        .await
    }

    /// `POST P/store/binary[/{data_key}][/{data_file_id}]`: stores bytes (`.bin`).
    pub async fn store_binary(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: Option<&str>,
        bytes: impl Into<Bytes>,
    ) -> Result<DataStoreResponse> {
        let bytes = bytes.into();
        let route = "/{namespace}/cache/{cache_id}/data/store/binary/{data_key}/{data_file_id}";
        self.store(
            "data().store_binary",
            route,
            DataType::Binary,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.bytes_body(bytes),
        )
        .await
    }

    /// `POST P/store/binary[/{data_key}][/{data_file_id}]` with the bytes sent as they arrive
    /// from `body` (never held whole; never retried). If `body` fails, the upload is cut off
    /// and the server stores nothing.
    pub async fn store_binary_stream(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: Option<&str>,
        body: ByteStream,
    ) -> Result<DataStoreResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/store/binary/{data_key}/{data_file_id}";
        self.store(
            "data().store_binary_stream",
            route,
            DataType::Binary,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.stream_body(body),
        )
        .await
    }

    fn retrieve(
        op: &'static str,
        route: &'static str,
        data_type: DataType,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Req {
        let req = child(op, Method::GET, route, namespace, cache_id).lit(type_lit(data_type));
        addressed(req, data_key, data_file_id)
    }

    /// `GET P/json[/{data_key}]/{data_file_id}`: the JSON value, `None` if there is no such file.
    pub async fn retrieve_json(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<Option<Value>> {
        let route = "/{namespace}/cache/{cache_id}/data/json/{data_key}/{data_file_id}";
        Self::retrieve(
            "data().retrieve_json",
            route,
            DataType::Json,
            namespace,
            cache_id,
            data_key,
            data_file_id,
        )
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET P/string[/{data_key}]/{data_file_id}`: the text, `None` if there is no such file.
    pub async fn retrieve_string(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<Option<String>> {
        let route = "/{namespace}/cache/{cache_id}/data/string/{data_key}/{data_file_id}";
        Self::retrieve(
            "data().retrieve_string",
            route,
            DataType::String,
            namespace,
            cache_id,
            data_key,
            data_file_id,
        )
        .send(self.client)
        .await?
        .text_opt()
    }

    /// `GET P/binary[/{data_key}]/{data_file_id}`: the bytes, `None` if there is no such file.
    pub async fn retrieve_binary(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<Option<Bytes>> {
        let route = "/{namespace}/cache/{cache_id}/data/binary/{data_key}/{data_file_id}";
        Self::retrieve(
            "data().retrieve_binary",
            route,
            DataType::Binary,
            namespace,
            cache_id,
            data_key,
            data_file_id,
        )
        .send(self.client)
        .await?
        .bytes_opt()
    }

    /// `GET P/binary[/{data_key}]/{data_file_id}` as a stream of chunks (never held whole),
    /// `None` if there is no such file.
    pub async fn retrieve_binary_stream(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<Option<ByteStream>> {
        let route = "/{namespace}/cache/{cache_id}/data/binary/{data_key}/{data_file_id}";
        Self::retrieve(
            "data().retrieve_binary_stream",
            route,
            DataType::Binary,
            namespace,
            cache_id,
            data_key,
            data_file_id,
        )
        .stream_response()
        .send(self.client)
        .await?
        .stream_opt()
    }

    /// `GET P/exists/{data_type}[/{data_key}]/{data_file_id}`: whether any copy exists.
    pub async fn exists(
        self,
        namespace: &str,
        cache_id: &str,
        data_type: DataType,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<bool> {
        Ok(self
            .exists_response(namespace, cache_id, data_type, data_key, data_file_id)
            .await?
            .exists)
    }

    /// [`DataApi::exists`] with the whole response (the echoed, sanitised parameters).
    pub async fn exists_response(
        self,
        namespace: &str,
        cache_id: &str,
        data_type: DataType,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<DataExistsResponse> {
        let route =
            "/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_key}/{data_file_id}";
        let req = child("data().exists", Method::GET, route, namespace, cache_id)
            .lit("/exists")
            .lit(type_lit(data_type));
        addressed(req, data_key, data_file_id)
            .send(self.client)
            .await?
            .json()
    }

    #[allow(clippy::too_many_arguments)]
    async fn update(
        self,
        op: &'static str,
        route: &'static str,
        data_type: DataType,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
        with_body: impl FnOnce(Req) -> Req,
    ) -> Result<DataUpdateResponse> {
        let req = child(op, Method::POST, route, namespace, cache_id)
            .idempotent(true)
            .lit("/update")
            .lit(type_lit(data_type));
        with_body(addressed(req, data_key, data_file_id))
            .send(self.client)
            .await?
            .json()
    }

    /// `POST P/update/json[/{data_key}]/{data_file_id}`: overwrites an existing file
    /// ([`crate::CacheClientError::NotFound`] if there is none).
    pub async fn update_json<T: Serialize + ?Sized>(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
        body: &T,
    ) -> Result<DataUpdateResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/update/json/{data_key}/{data_file_id}";
        self.update(
            "data().update_json",
            route,
            DataType::Json,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.json_body(body),
        )
        .await
    }

    /// `POST P/update/string[/{data_key}]/{data_file_id}`.
    pub async fn update_string(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
        text: &str,
    ) -> Result<DataUpdateResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/update/string/{data_key}/{data_file_id}";
        self.update(
            "data().update_string",
            route,
            DataType::String,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.string_body(text),
        )
        .await
    }

    /// `POST P/update/binary[/{data_key}]/{data_file_id}`.
    pub async fn update_binary(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        data_file_id: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<DataUpdateResponse> {
        let bytes = bytes.into();
        let route = "/{namespace}/cache/{cache_id}/data/update/binary/{data_key}/{data_file_id}";
        self.update(
            "data().update_binary",
            route,
            DataType::Binary,
            namespace,
            cache_id,
            data_key,
            data_file_id,
            |r| r.bytes_body(bytes),
        )
        .await
    }

    /// `POST P/batch/store` (perfstore's extension, COMPAT.md D33): writes every file in one
    /// request, each as its single store route would. `Ok(None)` if the server has no such
    /// route (the reference): store the files one by one instead. An unknown entry is
    /// [`crate::CacheClientError::NotFound`]; a bad file fails the whole batch, unwritten.
    pub async fn store_batch(
        self,
        namespace: &str,
        cache_id: &str,
        files: &[BatchStoreFile],
    ) -> Result<Option<BatchStoreResponse>> {
        let route = "/{namespace}/cache/{cache_id}/data/batch/store";
        self.batch(
            "data().store_batch",
            route,
            "/batch/store",
            namespace,
            cache_id,
            files,
        )
        .await
    }

    /// `POST P/batch/retrieve` (perfstore's extension, COMPAT.md D33): reads every file in one
    /// request; each comes back found, missing, or deferred (too large to inline: read it with
    /// the single route). `Ok(None)` if the server has no such route (the reference). An
    /// unknown entry is [`crate::CacheClientError::NotFound`].
    pub async fn retrieve_batch(
        self,
        namespace: &str,
        cache_id: &str,
        files: &[BatchFileRef],
    ) -> Result<Option<BatchRetrieveResponse>> {
        let route = "/{namespace}/cache/{cache_id}/data/batch/retrieve";
        self.batch(
            "data().retrieve_batch",
            route,
            "/batch/retrieve",
            namespace,
            cache_id,
            files,
        )
        .await
    }

    /// `POST P{lit}` with `{"files": files}`; `None` for a server without the route. Both
    /// batches name every file, so sending one again is harmless.
    async fn batch<F: Serialize, R: DeserializeOwned>(
        self,
        op: &'static str,
        route: &'static str,
        lit: &'static str,
        namespace: &str,
        cache_id: &str,
        files: &[F],
    ) -> Result<Option<R>> {
        let req = child(op, Method::POST, route, namespace, cache_id)
            .lit(lit)
            .json_body(&FilesBody { files })
            .idempotent(true);
        match req.send(self.client).await?.json() {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if e.is_unknown_route() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET P/list[/{data_key}]?recursive=`: the child files (each once per content copy).
    /// An unknown entry is [`crate::CacheClientError::NotFound`].
    pub async fn list(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
        recursive: bool,
    ) -> Result<DataListResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/list/{data_key}";
        let req = child("data().list", Method::GET, route, namespace, cache_id).lit("/list");
        let req = match key(data_key) {
            Some(k) => req.path_param("data_key", k),
            None => req,
        };
        req.query("recursive", if recursive { "true" } else { "false" })
            .send(self.client)
            .await?
            .json()
    }

    /// `DELETE P/delete/{data_type}[/{data_key}]/{data_file_id}`: `true` if deleted, `false`
    /// if there was no such file.
    pub async fn delete(
        self,
        namespace: &str,
        cache_id: &str,
        data_type: DataType,
        data_key: Option<&str>,
        data_file_id: &str,
    ) -> Result<bool> {
        let route =
            "/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_key}/{data_file_id}";
        let req = child("data().delete", Method::DELETE, route, namespace, cache_id)
            .lit("/delete")
            .lit(type_lit(data_type));
        addressed(req, data_key, data_file_id)
            .send(self.client)
            .await?
            .found()
    }

    /// `DELETE P/delete/all[/{data_key}]`: every child file (under `data_key`, if given).
    /// Nothing to delete is still a success with `deleted_count: 0`.
    pub async fn delete_all(
        self,
        namespace: &str,
        cache_id: &str,
        data_key: Option<&str>,
    ) -> Result<DataDeleteAllResponse> {
        let route = "/{namespace}/cache/{cache_id}/data/delete/all/{data_key}";
        let req = child(
            "data().delete_all",
            Method::DELETE,
            route,
            namespace,
            cache_id,
        )
        .lit("/delete/all");
        let req = match key(data_key) {
            Some(k) => req.path_param("data_key", k),
            None => req,
        };
        req.send(self.client).await?.json()
    }
}

/// `BatchStoreRequest` / `BatchRetrieveRequest` over borrowed files (no copy of the data).
#[derive(Serialize)]
struct FilesBody<'a, T> {
    files: &'a [T],
}
