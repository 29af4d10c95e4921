//! Connections, project integrations, mappings and the status overview.

use super::{App, AppError, AppResult};
use crate::api::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A connection request as the CLI and the admin API take it. Cloud when `pat` is given,
/// on-premises when `password` is given.
#[derive(Clone, Default, Deserialize)]
pub struct ConnectRequest {
    /// The connection's unique name.
    pub name: String,
    /// The organisation URL (cloud) or collection URL (on-premises).
    pub url: String,
    /// Cloud: the e-mail of the token's owner.
    #[serde(default)]
    pub email: Option<String>,
    /// Cloud: the personal access token.
    #[serde(default)]
    pub pat: Option<String>,
    /// On-premises: the user name.
    #[serde(default)]
    pub username: Option<String>,
    /// On-premises: the password.
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("pat", &self.pat.as_ref().map(|_| "<redacted>"))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ConnectRequest {
    /// The WIT target, or the missing field named.
    pub fn target(&self) -> AppResult<ConnectionTarget> {
        let need = |v: &Option<String>, field: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| AppError::input(field, "is required"))
        };
        if self.name.trim().is_empty() {
            return Err(AppError::input("name", "is required"));
        }
        if self.url.trim().is_empty() {
            return Err(AppError::input("url", "is required"));
        }
        match (&self.pat, &self.password) {
            (Some(_), Some(_)) => Err(AppError::input(
                "pat",
                "give a PAT (ADO Services) or a password (Azure DevOps Server), not both",
            )),
            (Some(_), None) => Ok(ConnectionTarget::Cloud(CloudCredentials {
                url: self.url.clone(),
                email: need(&self.email, "email")?,
                pat: need(&self.pat, "pat")?,
            })),
            (None, Some(_)) => Ok(ConnectionTarget::OnPrem(OnPremCredentials {
                collection_url: self.url.clone(),
                username: need(&self.username, "username")?,
                password: need(&self.password, "password")?,
            })),
            (None, None) => Err(AppError::input(
                "pat",
                "is required (or `password` for Azure DevOps Server)",
            )),
        }
    }
}

/// One connection with its webhook's health.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionStatus {
    /// The connection.
    #[serde(flatten)]
    pub info: ConnectionInfo,
    /// Its webhook.
    pub webhook: Option<WebhookStatus>,
}

/// The overview `status` prints and `GET /api/status` returns.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database file.
    pub database: String,
    /// The workspace id.
    pub workspace_id: String,
    /// The webhook path to append to the public base URL.
    pub webhook_path: String,
    /// Connections with webhook health.
    pub connections: Vec<ConnectionStatus>,
    /// Project integrations.
    pub projects: Vec<ProjectIntegration>,
    /// Host items in the workspace.
    pub items: usize,
    /// Host items per item type.
    pub items_by_type: BTreeMap<String, usize>,
}

impl App {
    /// Connect to ADO (with `--ado-sim`, the URL's origin goes to the simulator).
    pub async fn connect(&self, request: &ConnectRequest) -> AppResult<ConnectionInfo> {
        let target = request.target()?;
        let _one_at_a_time = self.workspace.lock().await;
        self.redirect(&request.url);
        let info = self.host.connect(request.name.trim(), &target).await?;
        tracing::info!(connection = %info.id, name = %info.name, url = %info.base_url, "connected");
        Ok(info)
    }

    /// Remove a connection with its integrations and links (host items stay).
    pub async fn disconnect(&self, connection: &str) -> AppResult<()> {
        let id = self.connection_id(connection).await?;
        let _one_at_a_time = self.workspace.lock().await;
        self.host.disconnect(&id).await?;
        Ok(())
    }

    /// All connections.
    pub async fn connections(&self) -> AppResult<Vec<ConnectionInfo>> {
        Ok(self.host.list_connections().await?)
    }

    /// A connection's id from its id or name.
    pub async fn connection_id(&self, id_or_name: &str) -> AppResult<String> {
        let all = self.connections().await?;
        all.iter()
            .find(|c| c.id == id_or_name)
            .or_else(|| all.iter().find(|c| c.name.eq_ignore_ascii_case(id_or_name)))
            .map(|c| c.id.clone())
            .ok_or_else(|| AppError::input("connection", format!("no connection '{id_or_name}'")))
    }

    /// All project integrations.
    pub async fn projects(&self) -> AppResult<Vec<ProjectIntegration>> {
        Ok(self.host.list_projects().await?)
    }

    /// An integration from its id or name.
    pub async fn project(&self, id_or_name: &str) -> AppResult<ProjectIntegration> {
        let all = self.projects().await?;
        all.iter()
            .find(|p| p.id == id_or_name)
            .or_else(|| all.iter().find(|p| p.name.eq_ignore_ascii_case(id_or_name)))
            .cloned()
            .ok_or_else(|| AppError::input("integration", format!("no project '{id_or_name}'")))
    }

    /// Integrate an ADO project through a connection (id or name).
    pub async fn add_project(
        &self,
        connection: &str,
        name: &str,
        project: &str,
    ) -> AppResult<ProjectIntegration> {
        let connection = self.connection_id(connection).await?;
        let _one_at_a_time = self.workspace.lock().await;
        Ok(self.host.add_project(&connection, name, project).await?)
    }

    /// Remove an integration and its links (host items stay: the host owns them).
    pub async fn remove_project(&self, id_or_name: &str) -> AppResult<ProjectIntegration> {
        let p = self.project(id_or_name).await?;
        let _one_at_a_time = self.workspace.lock().await;
        self.host.remove_project(&p.id).await?;
        Ok(p)
    }

    /// The mapping the plugin proposes for an integration.
    pub async fn propose_mapping(
        &self,
        integration: &str,
        epic_is_product_level: bool,
    ) -> AppResult<Mapping> {
        let p = self.project(integration).await?;
        Ok(self
            .host
            .propose_mapping(&p.id, epic_is_product_level)
            .await?)
    }

    /// The stored mapping.
    pub async fn mapping(&self, integration: &str) -> AppResult<Mapping> {
        let p = self.project(integration).await?;
        Ok(self.host.get_mapping(&p.id).await?)
    }

    /// Validate and store a mapping.
    pub async fn set_mapping(&self, integration: &str, mapping: &Mapping) -> AppResult<()> {
        let p = self.project(integration).await?;
        let _one_at_a_time = self.workspace.lock().await;
        self.host.set_mapping(&p.id, mapping).await?;
        tracing::info!(integration = %p.id, "mapping stored");
        Ok(())
    }

    /// The overview.
    pub async fn status(&self) -> AppResult<Status> {
        let mut connections = Vec::new();
        for info in self.connections().await? {
            let webhook = self.host.webhook_status(&info.id).await.ok();
            connections.push(ConnectionStatus { info, webhook });
        }
        let projects = self.projects().await?;
        let webhook_path = self.host.webhook_path().await?;
        let ws = self.workspace.lock().await;
        let mut items_by_type = BTreeMap::new();
        for item in ws.items.values() {
            *items_by_type.entry(item.item_type.clone()).or_insert(0) += 1;
        }
        Ok(Status {
            database: self.db.display().to_string(),
            workspace_id: ws.schema.workspace_id.clone(),
            webhook_path,
            connections,
            projects,
            items: ws.items.len(),
            items_by_type,
        })
    }
}
