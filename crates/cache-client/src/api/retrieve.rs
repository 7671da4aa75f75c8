//! `GET /{ns}/retrieve/…` by id and by hash (`Routes__File__Retrieve`). Every lookup returns
//! `Ok(None)` when the entry does not exist.

use bytes::Bytes;
use cache_wire::schema::{
    CacheMetadata, FileConfigView, FileMetadataView, FileRefs, HashCacheId, HashRef,
};
use serde_json::Value;

use super::group;
use crate::error::Result;
use crate::request::Req;
use crate::wire_ext::{RefsAll, RetrieveResponse};

group! {
    /// Read entries by `cache_id` or `cache_hash`. A miss is `Ok(None)`; a malformed id or hash
    /// is [`crate::CacheClientError::InvalidInput`] (400).
    RetrieveApi
}

const BY_ID: &str = "/{namespace}/retrieve/{cache_id}";
const BY_HASH: &str = "/{namespace}/retrieve/hash/{cache_hash}";

fn by_id(op: &'static str, route: &'static str, namespace: &str, cache_id: &str) -> Req {
    Req::get(op, route)
        .seg("namespace", namespace)
        .lit("/retrieve")
        .seg("cache_id", cache_id)
}

fn by_hash(op: &'static str, route: &'static str, namespace: &str, cache_hash: &str) -> Req {
    Req::get(op, route)
        .seg("namespace", namespace)
        .lit("/retrieve/hash")
        .seg("cache_hash", cache_hash)
}

impl RetrieveApi<'_> {
    /// `GET /{ns}/retrieve/{cache_id}`: the value with its metadata, or a binary reference.
    pub async fn by_id(self, namespace: &str, cache_id: &str) -> Result<Option<RetrieveResponse>> {
        by_id("retrieve().by_id", BY_ID, namespace, cache_id)
            .send(self.client)
            .await?
            .json_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/json`: the value as JSON (binary entries come as
    /// `{"data_type":"binary","encoding":"base64","data":…}`; a string that is not JSON is a
    /// 415 [`crate::CacheClientError::Server`]).
    pub async fn by_id_json(self, namespace: &str, cache_id: &str) -> Result<Option<Value>> {
        by_id(
            "retrieve().by_id_json",
            "/{namespace}/retrieve/{cache_id}/json",
            namespace,
            cache_id,
        )
        .lit("/json")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/string`: strings as they are, JSON as Python
    /// `json.dumps`, binary as base64.
    pub async fn by_id_string(self, namespace: &str, cache_id: &str) -> Result<Option<String>> {
        by_id(
            "retrieve().by_id_string",
            "/{namespace}/retrieve/{cache_id}/string",
            namespace,
            cache_id,
        )
        .lit("/string")
        .send(self.client)
        .await?
        .text_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/binary`: the raw bytes (gzip transparently undone).
    pub async fn by_id_binary(self, namespace: &str, cache_id: &str) -> Result<Option<Bytes>> {
        by_id(
            "retrieve().by_id_binary",
            "/{namespace}/retrieve/{cache_id}/binary",
            namespace,
            cache_id,
        )
        .lit("/binary")
        .send(self.client)
        .await?
        .bytes_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/refs`: the by-id reference file.
    pub async fn by_id_refs(self, namespace: &str, cache_id: &str) -> Result<Option<FileRefs>> {
        by_id(
            "retrieve().by_id_refs",
            "/{namespace}/retrieve/{cache_id}/refs",
            namespace,
            cache_id,
        )
        .lit("/refs")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/refs/all`: the reference and every file it lists.
    pub async fn by_id_refs_all(self, namespace: &str, cache_id: &str) -> Result<Option<RefsAll>> {
        by_id(
            "retrieve().by_id_refs_all",
            "/{namespace}/retrieve/{cache_id}/refs/all",
            namespace,
            cache_id,
        )
        .lit("/refs/all")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/metadata`: the content file's `.metadata`.
    pub async fn by_id_metadata(
        self,
        namespace: &str,
        cache_id: &str,
    ) -> Result<Option<FileMetadataView>> {
        by_id(
            "retrieve().by_id_metadata",
            "/{namespace}/retrieve/{cache_id}/metadata",
            namespace,
            cache_id,
        )
        .lit("/metadata")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/{cache_id}/config`: the content file's `.config`.
    pub async fn by_id_config(
        self,
        namespace: &str,
        cache_id: &str,
    ) -> Result<Option<FileConfigView>> {
        by_id(
            "retrieve().by_id_config",
            "/{namespace}/retrieve/{cache_id}/config",
            namespace,
            cache_id,
        )
        .lit("/config")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}`: the latest entry with that hash.
    pub async fn by_hash(
        self,
        namespace: &str,
        cache_hash: &str,
    ) -> Result<Option<RetrieveResponse>> {
        by_hash("retrieve().by_hash", BY_HASH, namespace, cache_hash)
            .send(self.client)
            .await?
            .json_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/json`.
    pub async fn by_hash_json(self, namespace: &str, cache_hash: &str) -> Result<Option<Value>> {
        by_hash(
            "retrieve().by_hash_json",
            "/{namespace}/retrieve/hash/{cache_hash}/json",
            namespace,
            cache_hash,
        )
        .lit("/json")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/string` (binary tried as UTF-8 before base64).
    pub async fn by_hash_string(self, namespace: &str, cache_hash: &str) -> Result<Option<String>> {
        by_hash(
            "retrieve().by_hash_string",
            "/{namespace}/retrieve/hash/{cache_hash}/string",
            namespace,
            cache_hash,
        )
        .lit("/string")
        .send(self.client)
        .await?
        .text_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/binary`.
    pub async fn by_hash_binary(self, namespace: &str, cache_hash: &str) -> Result<Option<Bytes>> {
        by_hash(
            "retrieve().by_hash_binary",
            "/{namespace}/retrieve/hash/{cache_hash}/binary",
            namespace,
            cache_hash,
        )
        .lit("/binary")
        .send(self.client)
        .await?
        .bytes_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/metadata`: the flat metadata of the latest entry.
    pub async fn by_hash_metadata(
        self,
        namespace: &str,
        cache_hash: &str,
    ) -> Result<Option<CacheMetadata>> {
        by_hash(
            "retrieve().by_hash_metadata",
            "/{namespace}/retrieve/hash/{cache_hash}/metadata",
            namespace,
            cache_hash,
        )
        .lit("/metadata")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/refs-hash`: the by-hash reference file (every
    /// entry stored with that hash).
    pub async fn by_hash_refs(self, namespace: &str, cache_hash: &str) -> Result<Option<HashRef>> {
        by_hash(
            "retrieve().by_hash_refs",
            "/{namespace}/retrieve/hash/{cache_hash}/refs-hash",
            namespace,
            cache_hash,
        )
        .lit("/refs-hash")
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /{ns}/retrieve/hash/{cache_hash}/cache-id`: the latest `cache_id` with that hash.
    pub async fn hash_cache_id(
        self,
        namespace: &str,
        cache_hash: &str,
    ) -> Result<Option<HashCacheId>> {
        by_hash(
            "retrieve().hash_cache_id",
            "/{namespace}/retrieve/hash/{cache_hash}/cache-id",
            namespace,
            cache_hash,
        )
        .lit("/cache-id")
        .send(self.client)
        .await?
        .json_opt()
    }
}
