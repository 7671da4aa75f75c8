//! Child data files of an entry (`Cache__Service__Data__*` of the reference): written into the
//! data folder of every content copy, without `.config` or `.metadata`.

use std::sync::Arc;

use bytes::Bytes;
use cache_wire::ids::{CacheId, DataType};
use cache_wire::schema::{
    DataDeleteAllResponse, DataFileInfo, DataListResponse, DataStoreResponse, DataUpdateResponse,
};
use serde_json::Value;

use super::paths;
use super::{CacheService, ServiceError, ServiceResult, now_ms, parse_stored_json};
use crate::store::{ByteStream, StreamPutError};

/// A child file's value as read back.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildData {
    /// A `.json` file's value.
    Json(Value),
    /// A `.txt` file's text.
    Text(String),
    /// A `.bin` file's bytes.
    Binary(Bytes),
}

impl ChildData {
    /// A child file's value from its stored bytes; `None` for an empty `.json` or `.txt` file
    /// (which the reference treats as missing).
    pub fn decode(data_type: DataType, bytes: Bytes) -> ServiceResult<Option<ChildData>> {
        Ok(Some(match data_type {
            DataType::Binary => ChildData::Binary(bytes),
            _ if bytes.is_empty() => return Ok(None),
            DataType::Json => ChildData::Json(parse_stored_json(&bytes)?),
            DataType::String => ChildData::Text(
                String::from_utf8(bytes.to_vec())
                    .map_err(|e| ServiceError::python("UnicodeDecodeError", e.to_string()))?,
            ),
            DataType::TypeSafe => {
                return Err(ServiceError::python(
                    "ValueError",
                    "Unknown data type: Enum__Cache__Data_Type.TYPE_SAFE",
                ));
            }
        }))
    }
}

/// Identifies child files: the data key (may be `""`) and the data file id.
#[derive(Debug, Clone, Copy)]
pub struct ChildKey<'a> {
    /// The entry's namespace.
    pub namespace: &'a str,
    /// The parent entry.
    pub cache_id: &'a str,
    /// Sanitised data key, `""` for none.
    pub data_key: &'a str,
    /// Sanitised data file id.
    pub data_file_id: &'a str,
}

impl CacheService {
    /// The entry's data folders; `None` if the entry does not exist. Folders already known
    /// ([`super::entry_folders`]) cost one existence check; others a read of the reference.
    pub(super) async fn data_folders(
        &self,
        namespace: &str,
        cache_id: &str,
    ) -> ServiceResult<Option<Arc<[String]>>> {
        match self.entry_folders.get(namespace, cache_id) {
            Some(folders) => Ok(self
                .entry_exists(namespace, cache_id)
                .await?
                .then_some(folders)),
            None => self.read_data_folders(namespace, cache_id).await,
        }
    }

    /// The entry's data folders from its by-id reference, remembered for later requests.
    async fn read_data_folders(
        &self,
        namespace: &str,
        cache_id: &str,
    ) -> ServiceResult<Option<Arc<[String]>>> {
        let Some(refs) = self.refs(namespace, cache_id).await? else {
            return Ok(None);
        };
        let folders: Arc<[String]> = refs.file_paths.data_folders.into();
        self.entry_folders
            .insert(namespace, cache_id, folders.clone());
        Ok(Some(folders))
    }

    /// Whether the entry's by-id reference is still there; forgets its folders if not.
    async fn entry_exists(&self, namespace: &str, cache_id: &str) -> ServiceResult<bool> {
        let exists = self.id_exists(namespace, cache_id).await?;
        if !exists {
            self.entry_folders.remove(namespace, cache_id);
        }
        Ok(exists)
    }

    /// A child file's first copy together with the entry's folders, in one round trip when the
    /// folders are known (the existence check and the read go out side by side); `None` if the
    /// entry does not exist. `read` reads one path.
    async fn first_copy<T, F, Fut>(
        &self,
        key: ChildKey<'_>,
        extension: &str,
        read: F,
    ) -> ServiceResult<Option<(Arc<[String]>, Option<T>)>>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, crate::store::StoreError>>,
    {
        let known = self.entry_folders.get(key.namespace, key.cache_id);
        let Some(folders) = known else {
            let Some(folders) = self.read_data_folders(key.namespace, key.cache_id).await? else {
                return Ok(None);
            };
            let first = match folders.first() {
                Some(folder) => {
                    read(paths::data_file(
                        folder,
                        key.data_key,
                        key.data_file_id,
                        extension,
                    ))
                    .await?
                }
                None => None,
            };
            return Ok(Some((folders, first)));
        };
        let Some(folder) = folders.first() else {
            return Ok(self
                .entry_exists(key.namespace, key.cache_id)
                .await?
                .then_some((folders, None)));
        };
        let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
        let (exists, first) =
            futures::join!(self.entry_exists(key.namespace, key.cache_id), read(path));
        if !exists? {
            return Ok(None);
        }
        Ok(Some((folders, first?)))
    }

    /// Writes a child file into every data folder; `None` if the entry does not exist.
    /// An empty `data_file_id` gets a fresh uuid4.
    pub async fn store_child(
        &self,
        key: ChildKey<'_>,
        data_type: DataType,
        bytes: Bytes,
    ) -> ServiceResult<Option<DataStoreResponse>> {
        let Some(folders) = self.data_folders(key.namespace, key.cache_id).await? else {
            return Ok(None);
        };
        self.store_child_in(&folders, key, data_type, bytes)
            .await
            .map(Some)
    }

    /// [`Self::store_child`] into known data folders.
    pub(super) async fn store_child_in(
        &self,
        folders: &[String],
        key: ChildKey<'_>,
        data_type: DataType,
        bytes: Bytes,
    ) -> ServiceResult<DataStoreResponse> {
        let extension = paths::data_extension(data_type);
        let mut data_file_id = key.data_file_id.to_owned();
        let mut created = Vec::with_capacity(folders.len());
        for folder in folders {
            if data_file_id.is_empty() {
                data_file_id = CacheId::new_random().into_string();
            }
            let path = paths::data_file(folder, key.data_key, &data_file_id, extension);
            self.store().put(&path, bytes.clone()).await?;
            created.push(path);
        }
        Ok(DataStoreResponse {
            cache_id: key.cache_id.to_owned(),
            data_files_created: created,
            data_key: key.data_key.to_owned(),
            data_type: data_type.as_str().to_owned(),
            extension: extension.to_owned(),
            file_id: data_file_id,
            file_size: bytes.len() as u64,
            namespace: key.namespace.to_owned(),
            timestamp: now_ms(),
        })
    }

    /// Writes a binary child file from a stream into the first data folder, then copies it
    /// into the others, never holding it whole; `Ok(None)` if the entry does not exist (the
    /// body is then left unread). A failed or oversized body stores nothing.
    pub async fn store_child_stream<S, E>(
        &self,
        key: ChildKey<'_>,
        body: S,
        limit: u64,
    ) -> Result<Option<DataStoreResponse>, StreamPutError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let folders = match self.data_folders(key.namespace, key.cache_id).await {
            Ok(Some(folders)) if !folders.is_empty() => folders,
            Ok(_) => return Ok(None),
            Err(ServiceError::Store(e)) => return Err(StreamPutError::Store(e)),
            Err(e) => return Err(StreamPutError::Body(e.to_string())),
        };
        let extension = paths::data_extension(DataType::Binary);
        let data_file_id = match key.data_file_id {
            "" => CacheId::new_random().into_string(),
            id => id.to_owned(),
        };
        let created: Vec<String> = folders
            .iter()
            .map(|folder| paths::data_file(folder, key.data_key, &data_file_id, extension))
            .collect();
        let size = self.store().put_stream(&created[0], body, limit).await?;
        for copy in &created[1..] {
            self.store().copy(&created[0], copy).await?;
        }
        Ok(Some(DataStoreResponse {
            cache_id: key.cache_id.to_owned(),
            data_files_created: created,
            data_key: key.data_key.to_owned(),
            data_type: DataType::Binary.as_str().to_owned(),
            extension: extension.to_owned(),
            file_id: data_file_id,
            file_size: size,
            namespace: key.namespace.to_owned(),
            timestamp: now_ms(),
        }))
    }

    /// A binary child file from the first data folder that has it, as its size and a stream.
    pub async fn retrieve_child_stream(
        &self,
        key: ChildKey<'_>,
    ) -> ServiceResult<Option<(u64, ByteStream)>> {
        if key.data_file_id.is_empty() {
            return Ok(None);
        }
        let extension = paths::data_extension(DataType::Binary);
        let Some((folders, first)) = self
            .first_copy(key, extension, |path| async move {
                self.store().get_stream(&path).await
            })
            .await?
        else {
            return Ok(None);
        };
        if first.is_some() {
            return Ok(first);
        }
        for folder in folders.iter().skip(1) {
            let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
            if let Some(found) = self.store().get_stream(&path).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Reads a child file from the first data folder that has it. Empty `.json` and `.txt`
    /// files count as missing, as in the reference.
    pub async fn retrieve_child(
        &self,
        key: ChildKey<'_>,
        data_type: DataType,
    ) -> ServiceResult<Option<ChildData>> {
        if key.data_file_id.is_empty() {
            return Ok(None);
        }
        let extension = paths::data_extension(data_type);
        let Some((folders, first)) = self
            .first_copy(key, extension, |path| async move {
                self.store().get(&path).await
            })
            .await?
        else {
            return Ok(None);
        };
        if let Some(bytes) = first
            && let Some(data) = ChildData::decode(data_type, bytes)?
        {
            return Ok(Some(data));
        }
        for folder in folders.iter().skip(1) {
            let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
            let Some(bytes) = self.store().get(&path).await? else {
                continue;
            };
            if let Some(data) = ChildData::decode(data_type, bytes)? {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// Whether any copy of a child file exists (`type-safe` looks for `.bin`).
    pub async fn child_exists(
        &self,
        key: ChildKey<'_>,
        data_type: DataType,
    ) -> ServiceResult<bool> {
        let Some(folders) = self.data_folders(key.namespace, key.cache_id).await? else {
            return Ok(false);
        };
        let extension = match data_type {
            DataType::TypeSafe => "bin",
            other => paths::data_extension(other),
        };
        for folder in folders.iter() {
            let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
            if self.store().exists(&path).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Overwrites the existing copies of a child file; `None` if there are none (or no entry).
    pub async fn update_child(
        &self,
        key: ChildKey<'_>,
        data_type: DataType,
        bytes: Bytes,
    ) -> ServiceResult<Option<DataUpdateResponse>> {
        let Some(folders) = self.data_folders(key.namespace, key.cache_id).await? else {
            return Ok(None);
        };
        if folders.is_empty() {
            return Ok(None);
        }
        if key.data_file_id.is_empty() {
            return Err(ServiceError::python(
                "ValueError",
                "data_file_id is required for data file operations",
            ));
        }
        let extension = match data_type {
            DataType::TypeSafe => "bin",
            other => paths::data_extension(other),
        };
        let mut updated = Vec::new();
        for folder in folders.iter() {
            let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
            if self.store().exists(&path).await? {
                self.store().put(&path, bytes.clone()).await?;
                updated.push(path);
            }
        }
        let Some(first) = updated.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(DataUpdateResponse {
            success: true,
            cache_id: key.cache_id.to_owned(),
            namespace: key.namespace.to_owned(),
            data_type: data_type.as_str().to_owned(),
            data_key: key.data_key.to_owned(),
            data_file_id: key.data_file_id.to_owned(),
            file_path: first,
            file_size: bytes.len() as u64,
        }))
    }

    /// Deletes every copy of a child file; `false` if none was deleted.
    pub async fn delete_child(
        &self,
        key: ChildKey<'_>,
        data_type: DataType,
    ) -> ServiceResult<bool> {
        let Some(folders) = self.data_folders(key.namespace, key.cache_id).await? else {
            return Ok(false);
        };
        let extension = paths::data_extension(data_type);
        let mut deleted = false;
        for folder in folders.iter() {
            let path = paths::data_file(folder, key.data_key, key.data_file_id, extension);
            if self.store().delete(&path).await? {
                deleted = true;
            }
        }
        Ok(deleted)
    }

    /// Deletes every child file (below `data_key`, if given). HTTP 200 even with nothing to
    /// delete or an unknown entry.
    pub async fn delete_all_children(
        &self,
        namespace: &str,
        cache_id: &str,
        data_key: &str,
    ) -> ServiceResult<DataDeleteAllResponse> {
        let mut deleted_files = Vec::new();
        if let Some(folders) = self.data_folders(namespace, cache_id).await? {
            for folder in folders.iter() {
                let target = paths::data_key_folder(folder, data_key);
                let mut files = self.store().list_files(&target).await?;
                // Oldest first, as the reference's insertion-ordered dict lists them (ties, within
                // the backend's timestamp resolution, by path).
                files.sort_by(|a, b| (a.last_modified, &a.path).cmp(&(b.last_modified, &b.path)));
                for file in files {
                    if self.store().delete(&file.path).await? {
                        deleted_files.push(file.path);
                    }
                }
            }
        }
        let count = deleted_files.len() as u64;
        let data_key = (!data_key.is_empty()).then(|| data_key.to_owned());
        Ok(DataDeleteAllResponse {
            status: "success".to_owned(),
            message: if count == 0 {
                "No data files to delete".to_owned()
            } else {
                format!("Deleted {count} data files")
            },
            cache_id: cache_id.to_owned(),
            deleted_count: count,
            deleted_files: (count > 0).then_some(deleted_files),
            data_key,
            namespace: namespace.to_owned(),
        })
    }

    /// Lists child files of every copy (below `data_key`, if given); `None` for an unknown
    /// entry. Without `recursive`, only files directly in the folder.
    pub async fn list_children(
        &self,
        namespace: &str,
        cache_id: &str,
        data_key: &str,
        recursive: bool,
    ) -> ServiceResult<Option<DataListResponse>> {
        let Some(folders) = self.data_folders(namespace, cache_id).await? else {
            return Ok(None);
        };
        let mut files = Vec::new();
        let mut total_size = 0;
        for folder in folders.iter() {
            let target = paths::data_key_folder(folder, data_key);
            let target_prefix = format!("{}/", target.trim_end_matches('/'));
            // One listing per copy: sizes come with it, no request per file.
            for file in self.store().list_files(&target).await? {
                let path = file.path;
                if !recursive && path.replacen(&target_prefix, "", 1).contains('/') {
                    continue;
                }
                if path.ends_with(".config") || path.ends_with(".metadata") {
                    continue;
                }
                let info = file_info(&path, folder, file.size);
                total_size += info.file_size;
                files.push(info);
            }
        }
        Ok(Some(DataListResponse {
            cache_id: cache_id.to_owned(),
            namespace: namespace.to_owned(),
            data_key: data_key.to_owned(),
            file_count: files.len() as u64,
            files,
            total_size,
        }))
    }
}

/// `Cache__Service__Data__List._parse_file_info`.
fn file_info(path: &str, data_folder: &str, size: u64) -> DataFileInfo {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let (data_file_id, extension) = match file_name.rsplit_once('.') {
        Some((id, ext)) => (id, ext),
        None => (file_name, ""),
    };
    let folder_prefix = if data_folder.ends_with('/') {
        data_folder.to_owned()
    } else {
        format!("{data_folder}/")
    };
    let relative = path.replacen(&folder_prefix, "", 1);
    let data_key = match relative.rsplit_once('/') {
        Some((key, _)) => key.to_owned(),
        None => String::new(),
    };
    DataFileInfo {
        data_file_id: data_file_id.to_owned(),
        data_key,
        data_type: paths::data_type_of_extension(extension).as_str().to_owned(),
        file_path: path.to_owned(),
        file_size: size,
        extension: extension.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_info_derives_key_type_and_id() {
        let folder = "demo/data/key-based/u/p/data";
        let info = file_info(&format!("{folder}/a-b/c/y.json"), folder, 20);
        assert_eq!(info.data_key, "a-b/c");
        assert_eq!(info.data_file_id, "y");
        assert_eq!(info.data_type, "json");
        let info = file_info(&format!("{folder}/n.weird"), folder, 1);
        assert_eq!(
            (info.data_key.as_str(), info.data_type.as_str()),
            ("", "binary")
        );
        let info = file_info(&format!("{folder}/noext"), folder, 1);
        assert_eq!(
            (info.data_file_id.as_str(), info.extension.as_str()),
            ("noext", "")
        );
    }
}
