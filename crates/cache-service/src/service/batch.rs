//! Many child files of one entry at once (perfstore's batch extension, COMPAT.md D33): the
//! entry's data folders are resolved once, then the files are written or read concurrently,
//! each exactly as the single child-data operations do.

use bytes::Bytes;
use cache_wire::batch::ChildContent;
use cache_wire::ids::DataType;
use cache_wire::schema::DataStoreResponse;
use futures::{StreamExt, TryStreamExt};

use super::data::{ChildData, ChildKey};
use super::paths;
use super::{CacheService, ServiceResult};
use crate::store::BoundedRead;

/// Files written or read at once within one batch.
pub const BATCH_CONCURRENCY: usize = 16;

/// One file of a batch: where it lives and its type.
#[derive(Debug, Clone)]
pub struct BatchChild {
    /// Sanitised data key, `""` for none.
    pub data_key: String,
    /// Sanitised, non-empty data file id.
    pub data_file_id: String,
    /// Its data type (`json`, `string` or `binary`).
    pub data_type: DataType,
}

/// What a batch read found for one file.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchRead {
    /// The file's content; a `json` file's as its stored text.
    Found(ChildContent),
    /// No such file (or an empty `.json`/`.txt`, as a single retrieve sees it).
    Missing,
    /// Not read: larger than the per-file bound, or the response budget was spent.
    Deferred,
}

/// How much one batch read may return.
#[derive(Debug, Clone, Copy)]
pub struct BatchReadLimits {
    /// Files larger than this are deferred.
    pub max_file_bytes: u64,
    /// Once the files read add up to this, the rest are deferred.
    pub max_total_bytes: u64,
}

impl CacheService {
    /// Writes every `(file, bytes)` (already serialised for its type) into the entry;
    /// `None` if the entry does not exist. Each file is written as `store_child` writes it;
    /// a storage failure fails the batch (files written before it stay written).
    pub async fn store_children(
        &self,
        namespace: &str,
        cache_id: &str,
        files: Vec<(BatchChild, Bytes)>,
    ) -> ServiceResult<Option<Vec<DataStoreResponse>>> {
        let Some(folders) = self.data_folders(namespace, cache_id).await? else {
            return Ok(None);
        };
        let folders = &folders;
        futures::stream::iter(files)
            .map(|(child, bytes)| async move {
                let key = ChildKey {
                    namespace,
                    cache_id,
                    data_key: &child.data_key,
                    data_file_id: &child.data_file_id,
                };
                self.store_child_in(folders, key, child.data_type, bytes)
                    .await
            })
            .buffered(BATCH_CONCURRENCY)
            .try_collect()
            .await
            .map(Some)
    }

    /// Reads every file of `files` (in order) from the first data folder that has it, within
    /// `limits`; `None` if the entry does not exist.
    pub async fn retrieve_children(
        &self,
        namespace: &str,
        cache_id: &str,
        files: &[BatchChild],
        limits: BatchReadLimits,
    ) -> ServiceResult<Option<Vec<BatchRead>>> {
        let Some(folders) = self.data_folders(namespace, cache_id).await? else {
            return Ok(None);
        };
        let folders = &folders;
        // Indices, not borrowed items: a stream of borrowed items is not provably `Send`.
        let mut reads = futures::stream::iter(0..files.len())
            .map(|i| self.read_child_in(folders, &files[i], limits.max_file_bytes))
            .buffered(BATCH_CONCURRENCY);
        let mut results = Vec::with_capacity(files.len());
        let mut total = 0u64;
        while let Some(read) = reads.next().await {
            let (read, size) = read?;
            total += size;
            results.push(read);
            if total >= limits.max_total_bytes {
                break;
            }
        }
        // Dropping the stream cancels reads in flight; what they would have read is deferred.
        results.resize(files.len(), BatchRead::Deferred);
        Ok(Some(results))
    }

    /// One file of a batch read, with the bytes it added.
    async fn read_child_in(
        &self,
        folders: &[String],
        child: &BatchChild,
        max_file_bytes: u64,
    ) -> ServiceResult<(BatchRead, u64)> {
        let extension = paths::data_extension(child.data_type);
        for folder in folders {
            let path = paths::data_file(folder, &child.data_key, &child.data_file_id, extension);
            match self.store().get_bounded(&path, max_file_bytes).await? {
                None => continue,
                Some(BoundedRead::TooLarge(_)) => return Ok((BatchRead::Deferred, 0)),
                Some(BoundedRead::Whole(bytes)) => {
                    let size = bytes.len() as u64;
                    if let Some(content) = batch_content(child.data_type, bytes)? {
                        return Ok((BatchRead::Found(content), size));
                    }
                }
            }
        }
        Ok((BatchRead::Missing, 0))
    }
}

/// A file's content for a batch read: what [`ChildData::decode`] reads, except that a `json`
/// file that is plain JSON is passed on as its text (checked, not rebuilt).
fn batch_content(data_type: DataType, bytes: Bytes) -> ServiceResult<Option<ChildContent>> {
    if data_type == DataType::Json
        && !bytes.is_empty()
        && let Ok(text) = String::from_utf8(bytes.to_vec())
        && let Ok(content) = ChildContent::json_text(text)
    {
        return Ok(Some(content));
    }
    Ok(ChildData::decode(data_type, bytes)?.map(|data| match data {
        ChildData::Json(value) => ChildContent::json(&value),
        ChildData::Text(text) => ChildContent::Text(text),
        ChildData::Binary(bytes) => ChildContent::Binary(bytes),
    }))
}
