//! `/admin/storage/…` (`Routes__Admin__Storage`): raw access to the storage backend. Paths
//! are relative to the backend root (e.g. `demo/refs/by-hash/5a/12/….json`); `/` separates
//! folders and everything else is percent-encoded.

use bytes::Bytes;
use cache_wire::schema::{AdminFileDeleted, AdminFileExists, AdminFilesAll, BucketName};
use serde_json::Value;

use super::group;
use crate::error::Result;
use crate::request::Req;
use crate::wire_ext::AdminFileContent;

group! {
    /// Raw storage access.
    AdminStorageApi
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl AdminStorageApi<'_> {
    /// `GET /admin/storage/bucket-name`: the S3 bucket, or `NA`.
    pub async fn bucket_name(self) -> Result<String> {
        let body: BucketName =
            Req::get("admin_storage().bucket_name", "/admin/storage/bucket-name")
                .lit("/admin/storage/bucket-name")
                .send(self.client)
                .await?
                .json()?;
        Ok(body.bucket_name)
    }

    /// `GET /admin/storage/file/exists/{path}`.
    pub async fn file_exists(self, path: &str) -> Result<bool> {
        let body: AdminFileExists = Req::get(
            "admin_storage().file_exists",
            "/admin/storage/file/exists/{path}",
        )
        .lit("/admin/storage/file/exists")
        .path_param("path", path)
        .send(self.client)
        .await?
        .json()?;
        Ok(body.exists)
    }

    /// `GET /admin/storage/file/bytes/{path}`: the raw bytes. As in the reference, a missing
    /// file gives empty bytes (not an error); use [`AdminStorageApi::file_content`] to tell.
    pub async fn file_bytes(self, path: &str) -> Result<Bytes> {
        Req::get(
            "admin_storage().file_bytes",
            "/admin/storage/file/bytes/{path}",
        )
        .lit("/admin/storage/file/bytes")
        .path_param("path", path)
        .send(self.client)
        .await?
        .bytes()
    }

    /// `GET /admin/storage/file/content/{path}`: the bytes with the content type chosen from
    /// the extension; `None` if there is no such file.
    pub async fn file_content(self, path: &str) -> Result<Option<AdminFileContent>> {
        let found = Req::get(
            "admin_storage().file_content",
            "/admin/storage/file/content/{path}",
        )
        .lit("/admin/storage/file/content")
        .path_param("path", path)
        .send(self.client)
        .await?
        .typed_bytes_opt()?;
        Ok(found.map(|(content_type, bytes)| AdminFileContent {
            content_type,
            bytes,
        }))
    }

    /// `GET /admin/storage/file/json/{path}`: the file parsed as JSON; `None` if there is no
    /// such file.
    pub async fn file_json(self, path: &str) -> Result<Option<Value>> {
        Req::get(
            "admin_storage().file_json",
            "/admin/storage/file/json/{path}",
        )
        .lit("/admin/storage/file/json")
        .path_param("path", path)
        .send(self.client)
        .await?
        .json_opt()
    }

    /// `GET /admin/storage/file/html/{path}`: the `html` field of a JSON file; `None` if
    /// there is no such file.
    pub async fn file_html(self, path: &str) -> Result<Option<String>> {
        Req::get(
            "admin_storage().file_html",
            "/admin/storage/file/html/{path}",
        )
        .lit("/admin/storage/file/html")
        .path_param("path", path)
        .send(self.client)
        .await?
        .text_opt()
    }

    /// `GET /admin/storage/files/in/{path}?return_full_path=&recursive=`: file names in a
    /// folder (full paths when `recursive`).
    pub async fn files_in(
        self,
        path: &str,
        recursive: bool,
        return_full_path: bool,
    ) -> Result<Vec<String>> {
        Req::get("admin_storage().files_in", "/admin/storage/files/in/{path}")
            .lit("/admin/storage/files/in")
            .path_param("path", path)
            .query("return_full_path", bool_str(return_full_path))
            .query("recursive", bool_str(recursive))
            .send(self.client)
            .await?
            .json()
    }

    /// `GET /admin/storage/files/all/{path}`: every file below `path`, sorted full paths.
    pub async fn files_all(self, path: &str) -> Result<AdminFilesAll> {
        Req::get(
            "admin_storage().files_all",
            "/admin/storage/files/all/{path}",
        )
        .lit("/admin/storage/files/all")
        .path_param("path", path)
        .send(self.client)
        .await?
        .json()
    }

    /// `GET /admin/storage/folders/{path}?return_full_path=&recursive=`: folder names.
    pub async fn folders(
        self,
        path: &str,
        recursive: bool,
        return_full_path: bool,
    ) -> Result<Vec<String>> {
        Req::get("admin_storage().folders", "/admin/storage/folders/{path}")
            .lit("/admin/storage/folders")
            .path_param("path", path)
            .query("return_full_path", bool_str(return_full_path))
            .query("recursive", bool_str(recursive))
            .send(self.client)
            .await?
            .json()
    }

    /// `DELETE /admin/storage/file/delete/{path}`: `true` if a file was deleted.
    pub async fn file_delete(self, path: &str) -> Result<bool> {
        let body: AdminFileDeleted = Req::delete(
            "admin_storage().file_delete",
            "/admin/storage/file/delete/{path}",
        )
        .lit("/admin/storage/file/delete")
        .path_param("path", path)
        .send(self.client)
        .await?
        .json()?;
        Ok(body.deleted)
    }
}
