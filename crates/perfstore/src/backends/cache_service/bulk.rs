//! Bulk saves, loads and deletes for the cache-service backend. Per target: one entry lookup and one
//! listing for the whole call; then the files move in batch requests of up to
//! [`BATCH_MAX_FILES`] files (our server's extension, COMPAT.md D33), or, against a server
//! without it (the reference), as single requests pipelined over the client's pooled
//! connections ([`PIPELINE_DEPTH`] in flight). The first batch request tells which.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};

use cache_client::CacheClientError;
use cache_client::types::{BatchFileRef, BatchFileStatus, BatchStoreFile};
use futures::StreamExt;

use super::mapping::likely_shape;
use super::mapping::{ChildFile, ChildShape};
use super::{CacheServiceStorage, ENTRY_ATTEMPTS, artifact_of, child_content};
use crate::artifact::{Artifact, ArtifactMeta};
use crate::error::Result;
use crate::names::{ArtifactPath, Key, TargetPath};
use crate::storage::Storage;

/// Single requests in flight at once during a bulk operation without batches.
pub const PIPELINE_DEPTH: usize = 64;
/// Most files per batch request.
pub const BATCH_MAX_FILES: usize = 256;
/// Most stored bytes per batch store request. An artifact stored larger than a quarter of it
/// goes through the single route (which sends raw bytes, not base64 in JSON).
pub const BATCH_MAX_BYTES: usize = 4 << 20;
/// Batch requests in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// Whether the server has the batch routes, learnt from the first batch request.
#[derive(Debug)]
pub(super) struct BatchSupport(AtomicU8);

const UNKNOWN: u8 = 0;
const SUPPORTED: u8 = 1;
const UNSUPPORTED: u8 = 2;

impl BatchSupport {
    pub(super) fn unknown() -> Self {
        BatchSupport(AtomicU8::new(UNKNOWN))
    }

    pub(super) fn unsupported() -> Self {
        BatchSupport(AtomicU8::new(UNSUPPORTED))
    }

    /// Whether the first answer came.
    pub(super) fn known(&self) -> bool {
        self.0.load(Ordering::Relaxed) != UNKNOWN
    }

    /// Worth trying: supported, or not known yet.
    pub(super) fn usable(&self) -> bool {
        self.0.load(Ordering::Relaxed) != UNSUPPORTED
    }

    pub(super) fn record(&self, supported: bool) {
        let value = if supported { SUPPORTED } else { UNSUPPORTED };
        self.0.store(value, Ordering::Relaxed);
    }
}

/// One artifact of a bulk save: its input index, path and artifact.
type PutJob = (usize, ArtifactPath, Artifact);
/// How an artifact is stored: its shape, what is sent (compressed or not), its metadata.
type StoredForm = (ChildShape, Artifact, ArtifactMeta);
/// One artifact of a bulk load: its input index and the shapes its key is stored in.
type GetJob = (usize, Vec<ChildShape>);

/// An artifact of a bulk save ready for a batch request.
struct PreparedPut {
    job: PutJob,
    shape: ChildShape,
    meta: ArtifactMeta,
    wire: BatchStoreFile,
}

/// Whether a failed batch request should be retried file by file (which reports each file's
/// own outcome): the entry vanished, or a file was refused.
fn retry_singly(e: &CacheClientError) -> bool {
    e.is_not_found() || e.status() == Some(400)
}

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
                for (key, list) in shapes.iter_mut() {
                    let order = super::mapping::precedence(key);
                    list.sort_by_key(|s| order.iter().position(|x| x == s));
                    list.dedup();
                }
                return Ok(Some((current.id, shapes)));
            }
            entry = self.replacement(target, &current, create).await?;
        }
        Err(super::unstable(target))
    }

    pub(super) async fn put_many_bulk(
        &self,
        items: Vec<(ArtifactPath, Artifact)>,
    ) -> Vec<Result<ArtifactMeta>> {
        let mut results: Vec<Option<Result<ArtifactMeta>>> =
            (0..items.len()).map(|_| None).collect();
        let groups = by_target(items.iter().map(|(p, _)| p));
        let mut items: Vec<Option<(ArtifactPath, Artifact)>> =
            items.into_iter().map(Some).collect();
        for (target, indices) in groups {
            let id = match self.ensure_entry(&target).await {
                Ok(entry) => entry.id,
                Err(e) => {
                    let message = e.to_string();
                    for i in indices {
                        results[i] = Some(Err(super::backend_message(&message)));
                    }
                    continue;
                }
            };
            let jobs: Vec<PutJob> = indices
                .into_iter()
                .filter_map(|i| items[i].take().map(|(p, a)| (i, p, a)))
                .collect();
            let done = match self.batch.usable() {
                true => self.put_batched(&id, jobs).await,
                false => self.put_singly(&id, jobs).await,
            };
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
        all_processed(results)
    }

    /// A bulk save's artifacts of one entry, one request each, pipelined.
    async fn put_singly(&self, id: &str, jobs: Vec<PutJob>) -> Vec<(usize, Result<ArtifactMeta>)> {
        let jobs = jobs.into_iter().map(|job| (job, None)).collect();
        self.put_singly_formed(id, jobs).await
    }

    /// As [`Self::put_singly`], with the stored form of those already computed.
    async fn put_singly_formed(
        &self,
        id: &str,
        jobs: Vec<(PutJob, Option<StoredForm>)>,
    ) -> Vec<(usize, Result<ArtifactMeta>)> {
        futures::stream::iter(jobs)
            .map(|((i, path, artifact), form)| {
                let form = form.unwrap_or_else(|| self.stored_form(artifact.clone()));
                async move {
                    let result = self.put_child_known(id, &path, artifact, form).await;
                    (i, result)
                }
            })
            .buffer_unordered(PIPELINE_DEPTH)
            .collect()
            .await
    }

    /// A bulk save's artifacts of one entry in batch requests; large ones singly.
    async fn put_batched(&self, id: &str, jobs: Vec<PutJob>) -> Vec<(usize, Result<ArtifactMeta>)> {
        let mut done = Vec::new();
        let mut large = Vec::new();
        let mut chunks: Vec<Vec<PreparedPut>> = Vec::new();
        let mut chunk: Vec<PreparedPut> = Vec::new();
        let mut chunk_bytes = 0;
        for (i, path, artifact) in jobs {
            // A clone shares the bytes; the single route needs the original on a fallback.
            let (shape, stored, meta) = self.stored_form(artifact.clone());
            if stored.bytes().len() > BATCH_MAX_BYTES / 4 {
                large.push(((i, path, artifact), Some((shape, stored, meta))));
                continue;
            }
            let wire = match Self::file(&path, shape).and_then(|file| {
                let content = child_content(&path, shape, &stored)?;
                Ok(BatchStoreFile::new(
                    &file.data_key,
                    &file.data_file_id,
                    content,
                ))
            }) {
                Ok(wire) => wire,
                Err(e) => {
                    done.push((i, Err(e)));
                    continue;
                }
            };
            if chunk.len() == BATCH_MAX_FILES
                || chunk_bytes + stored.bytes().len() > BATCH_MAX_BYTES
            {
                chunks.push(std::mem::take(&mut chunk));
                chunk_bytes = 0;
            }
            chunk_bytes += stored.bytes().len();
            chunk.push(PreparedPut {
                job: (i, path, artifact),
                shape,
                meta,
                wire,
            });
        }
        chunks.push(chunk);
        let batched: Vec<Vec<(usize, Result<ArtifactMeta>)>> = futures::stream::iter(chunks)
            .filter(|chunk| std::future::ready(!chunk.is_empty()))
            .map(|chunk| self.put_chunk(id, chunk))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        done.extend(batched.into_iter().flatten());
        done.extend(self.put_singly_formed(id, large).await);
        done
    }

    /// One batch store request, then, for a key saved in other than its likely shape, the
    /// removal of the shapes that take precedence over it.
    async fn put_chunk(
        &self,
        id: &str,
        chunk: Vec<PreparedPut>,
    ) -> Vec<(usize, Result<ArtifactMeta>)> {
        let (files, chunk): (Vec<BatchStoreFile>, Vec<(PutJob, ChildShape, ArtifactMeta)>) = chunk
            .into_iter()
            .map(|p| (p.wire, (p.job, p.shape, p.meta)))
            .unzip();
        let stored = self
            .client
            .data()
            .store_batch(&self.namespace, id, &files)
            .await;
        drop(files);
        let jobs = |chunk: Vec<(PutJob, ChildShape, ArtifactMeta)>| {
            chunk.into_iter().map(|(job, _, _)| job).collect()
        };
        match stored {
            Ok(Some(answer)) if answer.files.len() == chunk.len() => {
                self.batch.record(true);
                let mut done = Vec::with_capacity(chunk.len());
                for ((i, path, _), shape, meta) in chunk {
                    let result = match self.delete_shadowing(id, &path, shape).await {
                        Ok(()) => Ok(meta),
                        Err(e) => Err(e),
                    };
                    done.push((i, result));
                }
                done
            }
            Ok(Some(answer)) => failed_all(
                chunk.iter().map(|((i, _, _), _, _)| *i),
                &miscounted("store", answer.files.len(), chunk.len()),
            ),
            Ok(None) => {
                self.batch.record(false);
                self.put_singly(id, jobs(chunk)).await
            }
            Err(e) if retry_singly(&e) => self.put_singly(id, jobs(chunk)).await,
            Err(e) => failed_all(chunk.iter().map(|((i, _, _), _, _)| *i), &e.to_string()),
        }
    }

    /// One artifact of a bulk save in its stored form; falls back to a plain put if the entry
    /// vanished meanwhile.
    async fn put_child_known(
        &self,
        id: &str,
        path: &ArtifactPath,
        artifact: Artifact,
        (shape, stored, meta): StoredForm,
    ) -> Result<ArtifactMeta> {
        let file = Self::file(path, shape)?;
        if !self.store_child(id, path, &file, &stored).await? {
            return self.put(path, artifact).await;
        }
        self.delete_shadowing(id, path, shape).await?;
        Ok(meta)
    }

    /// Per target, one listing, then every file of every key deleted, pipelined (a single
    /// delete would list the key's folder each time).
    pub(super) async fn delete_many_bulk(&self, paths: &[ArtifactPath]) -> Vec<Result<bool>> {
        let mut results: Vec<Option<Result<bool>>> = (0..paths.len()).map(|_| None).collect();
        for (target, indices) in by_target(paths.iter()) {
            let (id, shapes) = match self.snapshot(&target, false).await {
                Ok(Some(found)) => found,
                Ok(None) => {
                    for i in indices {
                        results[i] = Some(Ok(false));
                    }
                    continue;
                }
                Err(e) => {
                    for (i, failed) in failed_all(indices.into_iter(), &e.to_string()) {
                        results[i] = Some(failed);
                    }
                    continue;
                }
            };
            let id = id.as_str();
            let done: Vec<(usize, Result<bool>)> = futures::stream::iter(indices)
                .map(|i| {
                    let path = &paths[i];
                    let known = shapes.get(&path.key).cloned().unwrap_or_default();
                    async move {
                        let mut deleted = false;
                        for shape in known {
                            let removed = match Self::file(path, shape) {
                                Ok(file) => self.delete_child(id, &file).await,
                                Err(e) => Err(e),
                            };
                            match removed {
                                Ok(one) => deleted |= one,
                                Err(e) => return (i, Err(e)),
                            }
                        }
                        (i, Ok(deleted))
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

    pub(super) async fn get_many_bulk(
        &self,
        paths: &[ArtifactPath],
    ) -> Vec<Result<Option<Artifact>>> {
        let mut results: Vec<Option<Result<Option<Artifact>>>> =
            (0..paths.len()).map(|_| None).collect();
        for (target, indices) in by_target(paths.iter()) {
            let batched = match self.batch.usable() {
                true => self.get_target_batched(&target, paths, &indices).await,
                false => None,
            };
            let done = match batched {
                Some(done) => done,
                None => self.get_target_listed(&target, paths, indices).await,
            };
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
        all_processed(results)
    }

    /// A bulk load's artifacts of one target: one listing, then one single request per file.
    async fn get_target_listed(
        &self,
        target: &TargetPath,
        paths: &[ArtifactPath],
        indices: Vec<usize>,
    ) -> Vec<(usize, Result<Option<Artifact>>)> {
        let (id, shapes) = match self.snapshot(target, false).await {
            Ok(Some(found)) => found,
            Ok(None) => return indices.into_iter().map(|i| (i, Ok(None))).collect(),
            Err(e) => return failed_all(indices.into_iter(), &e.to_string()),
        };
        let jobs: Vec<GetJob> = indices
            .into_iter()
            .map(|i| (i, shapes.get(&paths[i].key).cloned().unwrap_or_default()))
            .collect();
        self.get_singly(&id, paths, jobs).await
    }

    /// A bulk load's artifacts of one entry, one request per file tried, pipelined.
    async fn get_singly(
        &self,
        id: &str,
        paths: &[ArtifactPath],
        jobs: Vec<GetJob>,
    ) -> Vec<(usize, Result<Option<Artifact>>)> {
        futures::stream::iter(jobs)
            .map(|(i, known)| {
                let path = &paths[i];
                async move {
                    for shape in known {
                        let found = match Self::file(path, shape) {
                            Ok(file) => self.fetch_child(id, path, &file).await,
                            Err(e) => Err(e),
                        };
                        match found {
                            Ok(None) => {}
                            other => return (i, other),
                        }
                    }
                    (i, Ok(None))
                }
            })
            .buffer_unordered(PIPELINE_DEPTH)
            .collect()
            .await
    }

    /// A bulk load's artifacts of one target in batch requests for the file each key most
    /// likely is (as a single load tries first); only keys not found so cost a listing.
    /// `None` if the server has no batch routes.
    async fn get_target_batched(
        &self,
        target: &TargetPath,
        paths: &[ArtifactPath],
        indices: &[usize],
    ) -> Option<Vec<(usize, Result<Option<Artifact>>)>> {
        let mut entry = match self.find_entry(target).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return Some(indices.iter().map(|&i| (i, Ok(None))).collect()),
            Err(e) => return Some(failed_all(indices.iter().copied(), &e.to_string())),
        };
        let mut unread = Vec::new();
        let mut likely: Vec<(usize, ChildFile)> = Vec::new();
        for &i in indices {
            match Self::file(&paths[i], likely_shape(&paths[i].key)) {
                Ok(file) => likely.push((i, file)),
                Err(_) => unread.push(i),
            }
        }
        for _ in 0..ENTRY_ATTEMPTS {
            let outcome = self.read_batches(&entry.id, paths, &likely).await;
            match outcome {
                BatchReads::Unsupported => return None,
                BatchReads::UnknownEntry => {
                    entry = match self.lookup_entry(target).await {
                        Ok(Some(fresh)) => fresh,
                        Ok(None) => return Some(indices.iter().map(|&i| (i, Ok(None))).collect()),
                        Err(e) => return Some(failed_all(indices.iter().copied(), &e.to_string())),
                    };
                }
                BatchReads::Read {
                    mut done,
                    missing,
                    deferred,
                } => {
                    unread.extend(missing);
                    let deferred: Vec<GetJob> = deferred
                        .into_iter()
                        .map(|(i, file)| (i, vec![file.shape]))
                        .collect();
                    done.extend(self.get_singly(&entry.id, paths, deferred).await);
                    if !unread.is_empty() {
                        done.extend(self.get_target_listed(target, paths, unread).await);
                    }
                    return Some(done);
                }
            }
        }
        Some(failed_all(
            indices.iter().copied(),
            &super::unstable(target).to_string(),
        ))
    }

    /// Batch reads of `files` of entry `id`, [`BATCHES_IN_FLIGHT`] requests at once (the
    /// first alone while it is not known whether the server has the routes).
    async fn read_batches(
        &self,
        id: &str,
        paths: &[ArtifactPath],
        files: &[(usize, ChildFile)],
    ) -> BatchReads {
        // Ranges, not borrowed chunks: a stream of borrowed items is not provably `Send`.
        let mut ranges = (0..files.len())
            .step_by(BATCH_MAX_FILES)
            .map(|start| start..(start + BATCH_MAX_FILES).min(files.len()));
        let mut all = BatchReads::Read {
            done: Vec::new(),
            missing: Vec::new(),
            deferred: Vec::new(),
        };
        if !self.batch.known() {
            match ranges.next() {
                Some(first) => all.absorb(self.read_batch(id, paths, &files[first]).await),
                None => return all,
            }
        }
        let outcomes: Vec<BatchReads> = futures::stream::iter(ranges)
            .map(|range| self.read_batch(id, paths, &files[range]))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        for outcome in outcomes {
            all.absorb(outcome);
        }
        all
    }

    /// One batch retrieve request.
    async fn read_batch(
        &self,
        id: &str,
        paths: &[ArtifactPath],
        chunk: &[(usize, ChildFile)],
    ) -> BatchReads {
        let refs: Vec<BatchFileRef> = chunk
            .iter()
            .map(|(_, f)| BatchFileRef::new(f.data_type(), &f.data_key, &f.data_file_id))
            .collect();
        let read = self
            .client
            .data()
            .retrieve_batch(&self.namespace, id, &refs)
            .await;
        let answer = match read {
            Ok(Some(answer)) if answer.files.len() == chunk.len() => answer,
            Ok(Some(answer)) => {
                let message = miscounted("retrieve", answer.files.len(), chunk.len());
                return BatchReads::failed(chunk, &message);
            }
            Ok(None) => {
                self.batch.record(false);
                return BatchReads::Unsupported;
            }
            Err(e) if e.is_not_found() => return BatchReads::UnknownEntry,
            Err(e) => return BatchReads::failed(chunk, &e.to_string()),
        };
        self.batch.record(true);
        let mut done = Vec::with_capacity(chunk.len());
        let mut missing = Vec::new();
        let mut deferred = Vec::new();
        for ((i, file), got) in chunk.iter().zip(answer.files) {
            let path = &paths[*i];
            match got.status {
                BatchFileStatus::Found => {
                    let artifact = got
                        .content()
                        .map_err(|e| {
                            super::backend_message(&format!("batch retrieve of {path}: {e}"))
                        })
                        .and_then(|content| artifact_of(path, file.shape, content));
                    done.push((*i, artifact.map(Some)));
                }
                BatchFileStatus::Missing => missing.push(*i),
                BatchFileStatus::Deferred => deferred.push((*i, file.clone())),
            }
        }
        BatchReads::Read {
            done,
            missing,
            deferred,
        }
    }
}

/// What batch reads of one entry gave.
enum BatchReads {
    /// Answers: loaded (or failed) items, items not found as asked, items to read singly.
    Read {
        done: Vec<(usize, Result<Option<Artifact>>)>,
        missing: Vec<usize>,
        deferred: Vec<(usize, ChildFile)>,
    },
    /// The server has no batch routes.
    Unsupported,
    /// The service does not know the entry (a stale id).
    UnknownEntry,
}

impl BatchReads {
    fn failed(chunk: &[(usize, ChildFile)], message: &str) -> Self {
        BatchReads::Read {
            done: failed_all(chunk.iter().map(|(i, _)| *i), message),
            missing: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// Merges another request's outcome; `Unsupported` and `UnknownEntry` win.
    fn absorb(&mut self, other: BatchReads) {
        match (&mut *self, other) {
            (BatchReads::Unsupported | BatchReads::UnknownEntry, _) => {}
            (_, other @ (BatchReads::Unsupported | BatchReads::UnknownEntry)) => *self = other,
            (
                BatchReads::Read {
                    done,
                    missing,
                    deferred,
                },
                BatchReads::Read {
                    done: d,
                    missing: m,
                    deferred: f,
                },
            ) => {
                done.extend(d);
                missing.extend(m);
                deferred.extend(f);
            }
        }
    }
}

/// Why a batch answer that does not match its request is refused.
pub(super) fn miscounted(op: &str, answered: usize, asked: usize) -> String {
    format!("batch {op} answered {answered} files for {asked}")
}

/// The same error for every index.
fn failed_all<T>(indices: impl Iterator<Item = usize>, message: &str) -> Vec<(usize, Result<T>)> {
    indices
        .map(|i| (i, Err(super::backend_message(message))))
        .collect()
}
