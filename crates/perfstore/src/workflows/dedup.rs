//! De-duplication queries: where do artifacts with a given content hash live?
//!
//! [`find_by_hash`] scans the targets in scope and compares each artifact's
//! [`ContentHash`] (what [`crate::Storage::head`] reports: SHA-256 of the stored bytes, first
//! 16 hex). The cache service's by-hash refs index its *entries*, not the child data files
//! perfstore artifacts are, so they do not apply here and every backend scans; heads run
//! [`crate::storage::BULK_CONCURRENCY`] at a time. For skipping work whose input was already
//! processed, see [`crate::workflows::batch`] (input hashes recorded per target).

use futures::StreamExt;

use crate::artifact::ContentHash;
use crate::error::Result;
use crate::names::{ArtifactPath, KeyPrefix, SessionName, TargetPath};
use crate::storage::{BULK_CONCURRENCY, Store};

/// Where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every session of the store.
    Store,
    /// One session.
    Session(SessionName),
}

/// The artifacts whose content hash is `hash`, sorted by path.
pub async fn find_by_hash(
    store: &Store,
    hash: &ContentHash,
    scope: &Scope,
) -> Result<Vec<ArtifactPath>> {
    let sessions = match scope {
        Scope::Store => store.list_sessions().await?,
        Scope::Session(s) => vec![s.clone()],
    };
    let mut paths = Vec::new();
    for session in sessions {
        for target in store.list_targets(&session).await? {
            let target = TargetPath::new(session.clone(), target);
            for key in store.list_keys(&target, &KeyPrefix::all()).await? {
                paths.push(target.artifact(key));
            }
        }
    }
    let heads: Vec<(ArtifactPath, Result<Option<crate::ArtifactMeta>>)> =
        futures::stream::iter(paths)
            .map(|path| async move {
                let head = store.head(&path).await;
                (path, head)
            })
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await;
    let mut found = Vec::new();
    for (path, head) in heads {
        if head?.is_some_and(|meta| &meta.hash == hash) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn finds_every_copy(store: Store) {
        let html = "<html><body>same page</body></html>";
        store
            .target("s1", "a")
            .unwrap()
            .save_string("source/original.html", html)
            .await
            .unwrap();
        store
            .target("s1", "b")
            .unwrap()
            .save_string("copy.html", html)
            .await
            .unwrap();
        store
            .target("s2", "a")
            .unwrap()
            .save_string("source/original.html", html)
            .await
            .unwrap();
        store
            .target("s2", "a")
            .unwrap()
            .save_string("other.html", "different")
            .await
            .unwrap();
        let hash = ContentHash::of(html.as_bytes());
        let everywhere: Vec<String> = find_by_hash(&store, &hash, &Scope::Store)
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            everywhere,
            [
                "s1/a/source/original.html",
                "s1/b/copy.html",
                "s2/a/source/original.html"
            ]
        );
        let in_s2 = find_by_hash(
            &store,
            &hash,
            &Scope::Session(SessionName::new("s2").unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(in_s2.len(), 1);
        let none = find_by_hash(&store, &ContentHash::of(b"nothing"), &Scope::Store)
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_memory() {
        finds_every_copy(Store::memory()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_local() {
        let dir = tempfile::tempdir().unwrap();
        finds_every_copy(Store::local(dir.path())).await;
    }

    #[cfg(feature = "cache-service")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_the_cache_service() {
        use crate::backends::cache_service::CacheServiceStorage;
        let backend =
            CacheServiceStorage::new(cache_client::CacheClient::in_memory(), "perf-results");
        finds_every_copy(Store::new(backend)).await;
    }
}
