//! Exists (`Routes__File__Exists`), update (`Routes__File__Update`) and delete
//! (`Routes__File__Delete`) of whole entries.

use bytes::Bytes;
use cache_wire::schema::{DeleteResponse, ExistsResponse, UpdateResponse};
use serde::Serialize;

use super::group;
use crate::error::Result;
use crate::request::Req;

group! {
    /// Whether an entry exists (always HTTP 200; a malformed id or hash is
    /// [`crate::CacheClientError::InvalidInput`]).
    ExistsApi
}

group! {
    /// Overwrite an entry's content in place. The hash, references and metadata stay as they
    /// were (the reference's "V1" update). Updates overwrite, so they are retried like GETs.
    /// An unknown id is a 500 `UPDATE_FAILED` in the reference, surfaced as
    /// [`crate::CacheClientError::Server`].
    UpdateApi
}

group! {
    /// Delete entries.
    DeleteApi
}

impl ExistsApi<'_> {
    /// `GET /{ns}/exists/id/{cache_id}`.
    pub async fn by_id(self, namespace: &str, cache_id: &str) -> Result<bool> {
        let response: ExistsResponse =
            Req::get("exists().by_id", "/{namespace}/exists/id/{cache_id}")
                .seg("namespace", namespace)
                .lit("/exists/id")
                .seg("cache_id", cache_id)
                .send(self.client)
                .await?
                .json()?;
        Ok(response.exists)
    }

    /// `GET /{ns}/exists/hash/{cache_hash}`.
    pub async fn by_hash(self, namespace: &str, cache_hash: &str) -> Result<bool> {
        let response: ExistsResponse =
            Req::get("exists().by_hash", "/{namespace}/exists/hash/{cache_hash}")
                .seg("namespace", namespace)
                .lit("/exists/hash")
                .seg("cache_hash", cache_hash)
                .send(self.client)
                .await?
                .json()?;
        Ok(response.exists)
    }
}

fn update(
    op: &'static str,
    route: &'static str,
    namespace: &str,
    cache_id: &str,
    kind: &'static str,
) -> Req {
    Req::post(op, route)
        .idempotent(true)
        .seg("namespace", namespace)
        .lit("/update")
        .seg("cache_id", cache_id)
        .lit(kind)
}

impl UpdateApi<'_> {
    /// `POST /{ns}/update/{cache_id}/string` (sent as a JSON string).
    pub async fn string(
        self,
        namespace: &str,
        cache_id: &str,
        text: &str,
    ) -> Result<UpdateResponse> {
        update(
            "update().string",
            "/{namespace}/update/{cache_id}/string",
            namespace,
            cache_id,
            "/string",
        )
        .string_body(text)
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/update/{cache_id}/json` (a JSON object).
    pub async fn json<T: Serialize + ?Sized>(
        self,
        namespace: &str,
        cache_id: &str,
        body: &T,
    ) -> Result<UpdateResponse> {
        update(
            "update().json",
            "/{namespace}/update/{cache_id}/json",
            namespace,
            cache_id,
            "/json",
        )
        .json_body(body)
        .send(self.client)
        .await?
        .json()
    }

    /// `POST /{ns}/update/{cache_id}/binary` (`application/octet-stream`).
    pub async fn binary(
        self,
        namespace: &str,
        cache_id: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<UpdateResponse> {
        update(
            "update().binary",
            "/{namespace}/update/{cache_id}/binary",
            namespace,
            cache_id,
            "/binary",
        )
        .bytes_body(bytes.into())
        .send(self.client)
        .await?
        .json()
    }
}

impl DeleteApi<'_> {
    /// `DELETE /{ns}/delete/{cache_id}`: always HTTP 200; an unknown id is the normal result
    /// [`DeleteResponse::NotFound`]. Child data files are not deleted (as in the reference);
    /// use `data().delete_all` first.
    pub async fn by_id(self, namespace: &str, cache_id: &str) -> Result<DeleteResponse> {
        Req::delete("delete().by_id", "/{namespace}/delete/{cache_id}")
            .seg("namespace", namespace)
            .lit("/delete")
            .seg("cache_id", cache_id)
            .send(self.client)
            .await?
            .json()
    }
}
