//! Namespace and storage listings, with the semantics of the reference's in-memory backend
//! (`Storage_FS__Memory`): folders are derived from file paths, and a folder is matched by the
//! string prefix `folder + "/"`.

use cache_wire::schema::NamespaceStats;

use super::paths;
use super::{CacheService, ServiceResult};

/// How a listing argument selects files, as `Storage_FS__Memory` interprets it.
enum Scope {
    /// `""` or `/`: the whole backend.
    Root,
    /// A folder (without trailing `/`) that stored paths can start with.
    Folder(String),
    /// A prefix no stored path can start with (leading `/`, empty segment).
    Nothing,
}

fn scope_of(folder: &str) -> Scope {
    if folder.is_empty() || folder == "/" {
        return Scope::Root;
    }
    let prefix = if folder.ends_with('/') {
        folder.to_owned()
    } else {
        format!("{folder}/")
    };
    if prefix.starts_with('/') || prefix.contains("//") {
        return Scope::Nothing;
    }
    Scope::Folder(prefix.trim_end_matches('/').to_owned())
}

impl CacheService {
    /// Namespaces: the top-level folders of the backend (`namespaces/list`).
    pub async fn namespaces(&self) -> ServiceResult<Vec<String>> {
        self.folders("", false, false).await
    }

    /// Sorted hashes that have a by-hash reference in `namespace`.
    pub async fn namespace_hashes(&self, namespace: &str) -> ServiceResult<Vec<String>> {
        self.ref_names(namespace, paths::REFS_BY_HASH).await
    }

    /// Sorted cache ids that have a by-id reference in `namespace`.
    pub async fn namespace_ids(&self, namespace: &str) -> ServiceResult<Vec<String>> {
        self.ref_names(namespace, paths::REFS_BY_ID).await
    }

    async fn ref_names(&self, namespace: &str, base: &str) -> ServiceResult<Vec<String>> {
        // The reference joins an empty namespace into `/refs/…`, which matches nothing.
        if namespace.is_empty() {
            return Ok(Vec::new());
        }
        let folder = paths::namespaced(namespace, base);
        let mut names: Vec<String> = self
            .files_all(&folder)
            .await?
            .into_iter()
            .filter_map(|p| {
                let name = p.rsplit('/').next()?;
                let (stem, ext) = paths::split_ext(name);
                (ext == ".json").then(|| stem.to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// `/{ns}/stats`: as in the reference, every count is the file count of the whole backend.
    pub async fn namespace_stats(&self, namespace: &str) -> ServiceResult<NamespaceStats> {
        let n = self.store().list_files("").await?.len() as u64;
        Ok(NamespaceStats {
            namespace: namespace.to_owned(),
            ttl_hours: self.ttl_hours(),
            direct_files: n,
            temporal_files: n,
            temporal_latest_files: n,
            temporal_versioned_files: n,
            refs_hash_files: n,
            refs_id_files: n,
            total_files: 6 * n,
        })
    }

    /// Every file below `folder`, unsorted semantics of `folder__files__all` but returned
    /// sorted. The root (`""`) lists nothing, as in the reference.
    pub async fn files_all(&self, folder: &str) -> ServiceResult<Vec<String>> {
        let prefix = if folder.ends_with('/') {
            folder.to_owned()
        } else {
            format!("{folder}/")
        };
        if prefix == "/" || prefix.starts_with('/') || prefix.contains("//") {
            return Ok(Vec::new());
        }
        Ok(self
            .store()
            .list_paths(prefix.trim_end_matches('/'))
            .await?)
    }

    /// Files directly in `folder` (`folder__files`): names, or full paths.
    pub async fn files_in(&self, folder: &str, full_path: bool) -> ServiceResult<Vec<String>> {
        let listing = match scope_of(folder) {
            Scope::Nothing => return Ok(Vec::new()),
            Scope::Root => self.store().list_dir("").await?,
            Scope::Folder(f) => self.store().list_dir(&f).await?,
        };
        let mut files: Vec<String> = listing
            .files
            .into_iter()
            .map(|p| {
                if full_path {
                    p
                } else {
                    p.rsplit('/').next().unwrap_or_default().to_owned()
                }
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Folders in `folder` (`Routes__Admin__Storage.folders`), optionally recursive.
    pub async fn folders(
        &self,
        folder: &str,
        full_path: bool,
        recursive: bool,
    ) -> ServiceResult<Vec<String>> {
        if !recursive {
            return self.child_folders(folder, full_path).await;
        }
        let mut all = Vec::new();
        let mut pending = vec![folder.to_owned()];
        while let Some(current) = pending.pop() {
            for child in self.child_folders(&current, true).await? {
                pending.push(child.clone());
                all.push(child);
            }
        }
        all.sort();
        all.dedup();
        if !full_path && !folder.is_empty() {
            let base = if folder.ends_with('/') {
                folder.to_owned()
            } else {
                format!("{folder}/")
            };
            all = all
                .into_iter()
                .map(|f| match f.strip_prefix(&base) {
                    Some(rest) => rest.to_owned(),
                    None => f,
                })
                .collect();
        }
        Ok(all)
    }

    /// `Storage_FS__Memory.folder__folders`: at the root every first path segment counts
    /// (even of a file); elsewhere only segments followed by more path.
    async fn child_folders(&self, folder: &str, full_path: bool) -> ServiceResult<Vec<String>> {
        let mut out = match scope_of(folder) {
            Scope::Nothing => Vec::new(),
            Scope::Root => {
                let listing = self.store().list_dir("").await?;
                listing.folders.into_iter().chain(listing.files).collect()
            }
            Scope::Folder(f) => {
                let listing = self.store().list_dir(&f).await?;
                listing
                    .folders
                    .into_iter()
                    .map(|p| {
                        if full_path {
                            p
                        } else {
                            p.rsplit('/').next().unwrap_or_default().to_owned()
                        }
                    })
                    .collect()
            }
        };
        out.sort();
        out.dedup();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FileStore;
    use bytes::Bytes;

    async fn service() -> CacheService {
        let svc = CacheService::new(FileStore::memory(), 24);
        for p in [
            "demo/refs/by-hash/58/95/58954ab6bb1eca61.json",
            "demo/refs/by-id/e8/a5/e8a5.json",
            "demo/data/key-based/users/alice/profile.json",
            "other/data/x.json",
        ] {
            svc.store().put(p, Bytes::from_static(b"{}")).await.unwrap();
        }
        svc
    }

    #[tokio::test]
    async fn listings_follow_memory_backend_semantics() {
        let svc = service().await;
        assert_eq!(svc.namespaces().await.unwrap(), vec!["demo", "other"]);
        assert_eq!(
            svc.namespace_hashes("demo").await.unwrap(),
            vec!["58954ab6bb1eca61"]
        );
        assert_eq!(svc.namespace_ids("demo").await.unwrap(), vec!["e8a5"]);
        assert!(svc.namespace_ids("").await.unwrap().is_empty());
        assert_eq!(svc.namespace_stats("x").await.unwrap().total_files, 24);
        assert!(svc.files_all("").await.unwrap().is_empty());
        assert_eq!(svc.files_all("demo/refs").await.unwrap().len(), 2);
        assert_eq!(
            svc.files_in("demo/refs/by-hash/58/95", false)
                .await
                .unwrap(),
            vec!["58954ab6bb1eca61.json"]
        );
        assert!(svc.files_in("/demo", false).await.unwrap().is_empty());
        assert_eq!(
            svc.folders("demo", false, false).await.unwrap(),
            vec!["data", "refs"]
        );
        assert_eq!(
            svc.folders("demo/", true, false).await.unwrap(),
            vec!["demo/data", "demo/refs"]
        );
        let all = svc.folders("demo", false, true).await.unwrap();
        assert_eq!(all.first().map(String::as_str), Some("data"));
        assert!(all.contains(&"refs/by-hash/58/95".to_owned()));
        assert_eq!(
            svc.folders("", false, false).await.unwrap(),
            vec!["demo", "other"]
        );
    }
}
