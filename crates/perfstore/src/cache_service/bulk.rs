//! Bulk saves and loads for the cache-service backend: per target, one entry lookup and one
//! listing for the whole batch, then the child stores or fetches pipelined over the client's
//! pooled connections ([`PIPELINE_DEPTH`] in flight).

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;

use super::mapping::ChildShape;
use super::{CacheServiceStorage, ENTRY_ATTEMPTS};
use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::Result;
use crate::names::{ArtifactPath, Key, TargetPath};
use crate::storage::Storage;

/// Requests in flight at once during a bulk operation.
pub const PIPELINE_DEPTH: usize = 64;

/// Item indices grouped by target, each group in input order.
fn by_target<'a>(
    paths: impl Iterator<Item = &'a ArtifactPath>,
) -> BTreeMap<TargetPath, Vec<usize>> {
    let mut groups: BTreeMap<TargetPath, Vec<usize>> = BTreeMap::new();
    for (i, path) in paths.enumerate() {
        groups.entry(path.target.clone()).or_default().push(i);
    }
    groups
}

/// Every slot filled by its item's result (a slot left empty is reported, never dropped).
fn all_processed<T>(results: Vec<Option<Result<T>>>) -> Vec<Result<T>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(super::backend_message("bulk item was not processed"))))
        .collect()
}

impl CacheServiceStorage {
    /// The entry id of `target` and what each key is stored as, from one listing; creates
    /// the entry if `create`. `None`: no entry (and not creating).
    async fn snapshot(
        &self,
        target: &TargetPath,
        create: bool,
    ) -> Result<Option<(String, HashMap<Key, Vec<ChildShape>>)>> {
        let mut entry = match create {
            true => Some(self.ensure_entry(target).await?),
            false => self.find_entry(target).await?,
        };
        for _ in 0..ENTRY_ATTEMPTS {
            let Some(current) = entry else {
                return Ok(None);
            };
            if let Some(children) = self.children(&current.id, None, true).await? {
                let mut shapes: HashMap<Key, Vec<ChildShape>> = HashMap::new();
                for (key, shape) in children {
                    shapes.entry(key).or_default().push(shape);
                }
                for list in shapes.values_mut() {
                    list.sort_by_key(|s| ChildShape::ALL.iter().position(|x| x == s));
                    list.dedup();
                }
                return Ok(Some((current.id, shapes)));
            }
            entry = self.replacement(target, &current, create).await?;
        }
        Err(super::unstable(target))
    }

    pub(super) async fn put_many_pipelined(
        &self,
        items: Vec<(ArtifactPath, Artifact)>,
    ) -> Vec<Result<ArtifactMeta>> {
        let mut results: Vec<Option<Result<ArtifactMeta>>> =
            (0..items.len()).map(|_| None).collect();
        let groups = by_target(items.iter().map(|(p, _)| p));
        let mut items: Vec<Option<(ArtifactPath, Artifact)>> =
            items.into_iter().map(Some).collect();
        for (target, indices) in groups {
            let (id, before) = match self.snapshot(&target, true).await {
                Ok(Some(found)) => found,
                Ok(None) => continue, // not reachable with create; the fallback below handles it
                Err(e) => {
                    let message = e.to_string();
                    for i in indices {
                        results[i] = Some(Err(super::backend_message(&message)));
                    }
                    continue;
                }
            };
            let jobs: Vec<(usize, ArtifactPath, Artifact)> = indices
                .into_iter()
                .filter_map(|i| items[i].take().map(|(p, a)| (i, p, a)))
                .collect();
            let done: Vec<(usize, Result<ArtifactMeta>)> = futures::stream::iter(jobs)
                .map(|(i, path, artifact)| {
                    let id = id.clone();
                    let stale: Vec<ChildShape> = before.get(&path.key).cloned().unwrap_or_default();
                    async move { (i, self.put_child_known(&id, &path, artifact, stale).await) }
                })
                .buffer_unordered(PIPELINE_DEPTH)
                .collect()
                .await;
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
        all_processed(results)
    }

    /// One artifact of a bulk save, with the shapes its key had before; falls back to a plain
    /// put if the entry vanished meanwhile.
    async fn put_child_known(
        &self,
        id: &str,
        path: &ArtifactPath,
        artifact: Artifact,
        before: Vec<ChildShape>,
    ) -> Result<ArtifactMeta> {
        // A clone shares the bytes; `put` needs the original if the entry vanished.
        let (shape, stored, meta) = self.stored_form(artifact.clone());
        let file = Self::file(path, shape)?;
        if !self.store_child(id, path, &file, &stored).await? {
            return self.put(path, artifact).await;
        }
        for other in before.into_iter().filter(|s| *s != shape) {
            self.delete_child(id, &Self::file(path, other)?).await?;
        }
        Ok(meta)
    }

    pub(super) async fn get_many_pipelined(
        &self,
        paths: &[ArtifactPath],
    ) -> Vec<Result<Option<Artifact>>> {
        let mut results: Vec<Option<Result<Option<Artifact>>>> =
            (0..paths.len()).map(|_| None).collect();
        for (target, indices) in by_target(paths.iter()) {
            let (id, shapes) = match self.snapshot(&target, false).await {
                Ok(Some(found)) => found,
                Ok(None) => {
                    for i in indices {
                        results[i] = Some(Ok(None));
                    }
                    continue;
                }
                Err(e) => {
                    let message = e.to_string();
                    for i in indices {
                        results[i] = Some(Err(super::backend_message(&message)));
                    }
                    continue;
                }
            };
            let done: Vec<(usize, Result<Option<Artifact>>)> = futures::stream::iter(indices)
                .map(|i| {
                    let path = &paths[i];
                    let known = shapes.get(&path.key).cloned().unwrap_or_default();
                    let id = id.as_str();
                    async move {
                        for shape in known {
                            match Self::file(path, shape) {
                                Ok(file) => match self.fetch_child(id, path, &file).await {
                                    Ok(Some(artifact)) => return (i, Ok(Some(artifact))),
                                    Ok(None) => {}
                                    Err(e) => return (i, Err(e)),
                                },
                                Err(e) => return (i, Err(e)),
                            }
                        }
                        (i, Ok(None))
                    }
                })
                .buffer_unordered(PIPELINE_DEPTH)
                .collect()
                .await;
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
        all_processed(results)
    }
}
