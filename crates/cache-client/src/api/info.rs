//! `GET /info/…` (`Routes__Info`) and `GET /server/storage/info` (`Routes__Server`).

use cache_wire::schema::{Health, ServerInfo, ServiceStatus, StorageInfo};

use super::group;
use crate::error::Result;
use crate::request::Req;
use crate::wire_ext::Versions;

group! {
    /// Service information.
    InfoApi
}

group! {
    /// Server settings.
    ServerApi
}

impl InfoApi<'_> {
    /// `GET /info/health`: `Ok(true)` if the service answers `{"status":"ok"}`. Needs the API
    /// key like every other route.
    pub async fn health(self) -> Result<bool> {
        let health: Health = Req::get("info().health", "/info/health")
            .lit("/info/health")
            .send(self.client)
            .await?
            .json()?;
        Ok(health.status == "ok")
    }

    /// `GET /info/status`: name, version, status, environment.
    pub async fn status(self) -> Result<ServiceStatus> {
        Req::get("info().status", "/info/status")
            .lit("/info/status")
            .send(self.client)
            .await?
            .json()
    }

    /// `GET /info/versions`: package versions.
    pub async fn versions(self) -> Result<Versions> {
        Req::get("info().versions", "/info/versions")
            .lit("/info/versions")
            .send(self.client)
            .await?
            .json()
    }

    /// `GET /info/server`: the server instance id and boot time.
    pub async fn server(self) -> Result<ServerInfo> {
        Req::get("info().server", "/info/server")
            .lit("/info/server")
            .send(self.client)
            .await?
            .json()
    }
}

impl ServerApi<'_> {
    /// `GET /server/storage/info`: storage mode and TTL.
    pub async fn storage_info(self) -> Result<StorageInfo> {
        Req::get("server().storage_info", "/server/storage/info")
            .lit("/server/storage/info")
            .send(self.client)
            .await?
            .json()
    }
}
