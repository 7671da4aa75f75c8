//! `GET /{ns}/file-hashes|file-ids|stats` (`Routes__Namespace`) and `GET /namespaces/list`
//! (`Routes__Namespaces`). Unknown namespaces are never an error: they are simply empty.

use cache_wire::schema::NamespaceStats;

use super::group;
use crate::error::Result;
use crate::request::Req;

group! {
    /// One namespace.
    NamespaceApi
}

group! {
    /// All namespaces.
    NamespacesApi
}

impl NamespaceApi<'_> {
    /// `GET /{ns}/file-hashes`: the hashes that have a by-hash reference, sorted (the official
    /// client calls this `cache_hashes`).
    pub async fn file_hashes(self, namespace: &str) -> Result<Vec<String>> {
        Req::get("namespace().file_hashes", "/{namespace}/file-hashes")
            .seg("namespace", namespace)
            .lit("/file-hashes")
            .send(self.client)
            .await?
            .json()
    }

    /// `GET /{ns}/file-ids`: the cache ids, sorted (the official client's `cache_ids`).
    pub async fn file_ids(self, namespace: &str) -> Result<Vec<String>> {
        Req::get("namespace().file_ids", "/{namespace}/file-ids")
            .seg("namespace", namespace)
            .lit("/file-ids")
            .send(self.client)
            .await?
            .json()
    }

    /// `GET /{ns}/stats`. The counts are of the whole backend, as in the reference.
    pub async fn stats(self, namespace: &str) -> Result<NamespaceStats> {
        Req::get("namespace().stats", "/{namespace}/stats")
            .seg("namespace", namespace)
            .lit("/stats")
            .send(self.client)
            .await?
            .json()
    }
}

impl NamespacesApi<'_> {
    /// `GET /namespaces/list`: the top-level folders of the backend.
    pub async fn list(self) -> Result<Vec<String>> {
        Req::get("namespaces().list", "/namespaces/list")
            .lit("/namespaces/list")
            .send(self.client)
            .await?
            .json()
    }
}
