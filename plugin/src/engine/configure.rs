//! Connections, project integrations, discovery and mappings.

use crate::ado::auth::{basic_header, Credentials};
use crate::ado::AdoClient;
use crate::api::{
    ConnectionInfo, ConnectionTarget, InstanceKind, Mapping, ProjectDiscovery, ProjectIntegration,
    Result, SyncError, WorkspaceSchema,
};
use crate::core::ids::short_id;
use crate::core::paths::normalise_base_url;
use crate::core::{mapping, propose};
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{ConnectionRecord, IntegrationRecord, LinkRecord, WebhookRecord};
use std::collections::HashSet;
use std::rc::Rc;

/// A connection target, checked and normalised; the secret stays in memory only.
struct Target {
    kind: InstanceKind,
    base_url: String,
    user: String,
    secret: String,
}

fn read_target(target: &ConnectionTarget) -> Result<Target> {
    let (kind, raw_url, user, secret, url_field, user_field, secret_field) = match target {
        ConnectionTarget::Cloud(c) => (
            InstanceKind::Cloud,
            &c.url,
            &c.email,
            &c.pat,
            "url",
            "email",
            "pat",
        ),
        ConnectionTarget::OnPrem(c) => (
            InstanceKind::OnPrem,
            &c.collection_url,
            &c.username,
            &c.password,
            "collection-url",
            "username",
            "password",
        ),
    };
    let base_url = normalise_base_url(raw_url, kind == InstanceKind::Cloud)
        .map_err(|m| SyncError::invalid(format!("target.{url_field}"), m))?;
    let user = user.trim().to_string();
    if user.is_empty() {
        return Err(SyncError::invalid(
            format!("target.{user_field}"),
            "must not be empty",
        ));
    }
    if kind == InstanceKind::Cloud && !user.contains('@') {
        return Err(SyncError::invalid(
            "target.email",
            "must be an e-mail address",
        ));
    }
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(SyncError::invalid(
            format!("target.{secret_field}"),
            "must not be empty",
        ));
    }
    Ok(Target {
        kind,
        base_url,
        user,
        secret,
    })
}

impl Engine<'_> {
    /// Store the workspace schema after checking it is coherent.
    pub fn set_workspace_schema(&self, schema: &WorkspaceSchema) -> Result<()> {
        if schema.workspace_id.trim().is_empty()
            || !schema
                .workspace_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SyncError::invalid(
                "schema.workspace-id",
                "must be non-empty and use only letters, digits, '-' and '_' (it appears in the webhook URL)",
            ));
        }
        let mut seen = HashSet::new();
        for (what, ids) in [
            (
                "item-types",
                schema
                    .item_types
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                "statuses",
                schema.statuses.iter().map(|t| t.id.as_str()).collect(),
            ),
            (
                "sprints",
                schema.sprints.iter().map(|t| t.id.as_str()).collect(),
            ),
            (
                "releases",
                schema.releases.iter().map(|t| t.id.as_str()).collect(),
            ),
            (
                "fields",
                schema.fields.iter().map(|t| t.id.as_str()).collect(),
            ),
        ] {
            seen.clear();
            for id in ids {
                if id.trim().is_empty() || !seen.insert(id) {
                    return Err(SyncError::invalid(
                        format!("schema.{what}"),
                        format!("ids must be non-empty and unique ('{id}')"),
                    ));
                }
            }
        }
        if let Some(f) = schema
            .fields
            .iter()
            .find(|f| matches!(f.id.as_str(), "title" | "description" | "tags"))
        {
            return Err(SyncError::invalid(
                "schema.fields",
                format!("'{}' is a built-in field", f.id),
            ));
        }
        self.store().put(keys::WORKSPACE, schema).map(|_| ())
    }

    /// The stored workspace schema.
    pub fn workspace_schema(&self) -> Result<WorkspaceSchema> {
        Ok((*self.shared_workspace_schema()?).clone())
    }

    /// The workspace schema as kept between the calls of an instance ([`crate::store::Store::setting`]).
    pub fn shared_workspace_schema(&self) -> Result<Rc<WorkspaceSchema>> {
        self.store().setting(keys::WORKSPACE)?.ok_or_else(|| {
            SyncError::NotFound("no workspace schema: call set-workspace-schema first".into())
        })
    }

    fn check_credentials(&self, target: &Target) -> Result<crate::ado::resources::Me> {
        let header = match target.kind {
            InstanceKind::Cloud => basic_header(&Credentials::Pat(&target.secret)),
            InstanceKind::OnPrem => {
                basic_header(&Credentials::UserPassword(&target.user, &target.secret))
            }
        };
        let client = AdoClient::new(self.http, &target.base_url, header);
        let me = client.connection_data().map_err(|e| match e {
            SyncError::NotFound(_) => SyncError::NotFound(format!(
                "no Azure DevOps organisation or collection answers at {}",
                target.base_url
            )),
            other => other,
        })?;
        client.check_projects_readable().map_err(|e| match e {
            SyncError::PermissionDenied(m) | SyncError::NotFound(m) => {
                SyncError::PermissionDenied(format!(
                "the credentials cannot read projects (scope vso.project and vso.work needed): {m}"
            ))
            }
            other => other,
        })?;
        Ok(me)
    }

    fn connections(&self) -> Result<Vec<ConnectionRecord>> {
        self.store().all(keys::CONNECTIONS)
    }

    fn connection(&self, id: &str) -> Result<(ConnectionRecord, u64)> {
        self.store()
            .get(&keys::connection(id))?
            .ok_or_else(|| SyncError::NotFound(format!("connection '{id}'")))
    }

    fn check_name(&self, name: &str, except: Option<&str>) -> Result<String> {
        let name = name.trim();
        if name.is_empty() {
            return Err(SyncError::invalid("name", "must not be empty"));
        }
        if self
            .connections()?
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name) && Some(c.id.as_str()) != except)
        {
            return Err(SyncError::Conflict(format!(
                "a connection named '{name}' already exists"
            )));
        }
        Ok(name.to_string())
    }

    fn info(&self, conn: &ConnectionRecord) -> Result<ConnectionInfo> {
        let integrations = self
            .integrations()?
            .into_iter()
            .filter(|i| i.connection_id == conn.id)
            .map(|i| i.id)
            .collect();
        let hook: WebhookRecord = self
            .store()
            .value(&keys::webhook(&conn.id))?
            .unwrap_or_default();
        Ok(ConnectionInfo {
            id: conn.id.clone(),
            name: conn.name.clone(),
            kind: conn.kind,
            base_url: conn.base_url.clone(),
            user: conn.user.clone(),
            user_display_name: conn.user_display_name.clone(),
            integrations,
            webhook_connected: hook.last_event_at.is_some(),
            credentials_checked_at: if conn.credentials_checked_at.is_empty() {
                conn.created_at.clone()
            } else {
                conn.credentials_checked_at.clone()
            },
        })
    }

    /// Connect: validate input, check credentials against ADO, then store (secret to the vault).
    pub fn connect(&self, name: &str, target: &ConnectionTarget) -> Result<ConnectionInfo> {
        let name = self.check_name(name, None)?;
        let target = read_target(target)?;
        if let Some(existing) = self
            .connections()?
            .iter()
            .find(|c| c.base_url.eq_ignore_ascii_case(&target.base_url))
        {
            return Err(SyncError::Conflict(format!(
                "connection '{}' already serves {}; add more projects to it instead",
                existing.name, target.base_url
            )));
        }
        let me = self.check_credentials(&target)?;
        let now = self.http.now_rfc3339();
        let id = short_id("c", &[&target.base_url, &name, &now]);
        let record = ConnectionRecord {
            secret_name: keys::secret(&id),
            id,
            name,
            kind: target.kind,
            base_url: target.base_url,
            user: target.user,
            user_display_name: me.display_name,
            credentials_checked_at: now.clone(),
            created_at: now,
        };
        self.vault
            .put(&record.secret_name, &target.secret)
            .map_err(SyncError::storage)?;
        if let Err(e) = self.store().put(&keys::connection(&record.id), &record) {
            let _ = self.vault.forget(&record.secret_name);
            return Err(e);
        }
        self.info(&record)
    }

    /// New credentials for an existing connection; everything else is kept.
    pub fn update_connection(&self, id: &str, target: &ConnectionTarget) -> Result<ConnectionInfo> {
        let (mut record, version) = self.connection(id)?;
        let target = read_target(target)?;
        if target.kind != record.kind || !target.base_url.eq_ignore_ascii_case(&record.base_url) {
            return Err(SyncError::invalid(
                "target",
                format!(
                    "a connection keeps its instance ({}); disconnect and connect again to change it",
                    record.base_url
                ),
            ));
        }
        let me = self.check_credentials(&target)?;
        record.user = target.user;
        record.user_display_name = me.display_name;
        record.credentials_checked_at = self.http.now_rfc3339();
        self.vault
            .put(&record.secret_name, &target.secret)
            .map_err(SyncError::storage)?;
        if !self
            .store()
            .put_if(&keys::connection(id), Some(version), &record)?
        {
            return Err(SyncError::Conflict(
                "the connection changed meanwhile; try again".into(),
            ));
        }
        self.info(&record)
    }

    /// Rename a connection.
    pub fn rename_connection(&self, id: &str, name: &str) -> Result<ConnectionInfo> {
        let (mut record, version) = self.connection(id)?;
        record.name = self.check_name(name, Some(id))?;
        if !self
            .store()
            .put_if(&keys::connection(id), Some(version), &record)?
        {
            return Err(SyncError::Conflict(
                "the connection changed meanwhile; try again".into(),
            ));
        }
        self.info(&record)
    }

    /// Remove a connection and everything that hangs off it.
    pub fn disconnect(&self, id: &str) -> Result<()> {
        let (record, _) = self.connection(id)?;
        let store = self.store();
        for integration in self
            .integrations()?
            .into_iter()
            .filter(|i| i.connection_id == id)
        {
            store.delete(&keys::mapping(&integration.id))?;
            store.delete(&keys::discovery_types(&integration.id))?;
            store.delete(&keys::discovery(&integration.id))?;
            store.delete(&keys::integration(&integration.id))?;
        }
        store.delete_prefix(&keys::links(id))?;
        store.delete_prefix(&keys::histories(id))?;
        store.delete_prefix(&keys::pending_creates(id))?;
        store.delete(&keys::webhook(id))?;
        self.vault
            .forget(&keys::webhook_secret(id))
            .map_err(SyncError::storage)?;
        store.delete(&keys::connection(id))?;
        self.vault
            .forget(&record.secret_name)
            .map_err(SyncError::storage)
    }

    /// All connections.
    pub fn list_connections(&self) -> Result<Vec<ConnectionInfo>> {
        self.connections()?.iter().map(|c| self.info(c)).collect()
    }

    fn integrations(&self) -> Result<Vec<IntegrationRecord>> {
        self.store().all(keys::INTEGRATIONS)
    }

    /// An integration record.
    pub fn integration(&self, id: &str) -> Result<IntegrationRecord> {
        Ok((*self.shared_integration(id)?).clone())
    }

    /// An integration as kept between the calls of an instance ([`crate::store::Store::setting`]).
    pub(crate) fn shared_integration(&self, id: &str) -> Result<Rc<IntegrationRecord>> {
        self.store()
            .setting(&keys::integration(id))?
            .ok_or_else(|| SyncError::NotFound(format!("project integration '{id}'")))
    }

    fn integration_info(&self, i: &IntegrationRecord) -> Result<ProjectIntegration> {
        Ok(ProjectIntegration {
            id: i.id.clone(),
            name: i.name.clone(),
            connection_id: i.connection_id.clone(),
            project_id: i.project_id.clone(),
            project_name: i.project_name.clone(),
            process: i.process.clone(),
            can_write: i.can_write,
            mapped: self
                .store()
                .get::<serde_json::Value>(&keys::mapping(&i.id))?
                .is_some(),
        })
    }

    /// Integrate an ADO project through a connection (no new credentials).
    pub fn add_project(
        &self,
        connection: &str,
        name: &str,
        project: &str,
    ) -> Result<ProjectIntegration> {
        let (conn, _) = self.connection(connection)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(SyncError::invalid("name", "must not be empty"));
        }
        if project.trim().is_empty() {
            return Err(SyncError::invalid("project", "must not be empty"));
        }
        let existing = self.integrations()?;
        if existing.iter().any(|i| i.name.eq_ignore_ascii_case(name)) {
            return Err(SyncError::Conflict(format!(
                "an integration named '{name}' already exists"
            )));
        }
        let client = self.client(&conn)?;
        let found = client.project(project.trim())?;
        if let Some(dup) = existing
            .iter()
            .find(|i| i.connection_id == conn.id && i.project_id == found.id)
        {
            return Err(SyncError::Conflict(format!(
                "project '{}' is already integrated as '{}'",
                found.name, dup.name
            )));
        }
        let mut record = IntegrationRecord {
            id: short_id("i", &[&conn.id, &found.id]),
            name: name.to_string(),
            connection_id: conn.id.clone(),
            project_id: found.id.clone(),
            project_name: found.name.clone(),
            process: found.process.clone(),
            can_write: true,
        };
        let mut discovery = client.discover(&found)?;
        if let Some(ty) = discovery.work_item_types.first() {
            record.can_write = client.can_create_work_items(&found.name, &ty.name)?;
        }
        discovery.integration_id = record.id.clone();
        self.store_discovery(&record.id, &discovery)?;
        self.store().put(&keys::integration(&record.id), &record)?;
        self.integration_info(&record)
    }

    /// Remove an integration, its mapping and its links.
    pub fn remove_project(&self, id: &str) -> Result<()> {
        let record = self.integration(id)?;
        let store = self.store();
        for key in store.keys(&keys::links(&record.connection_id))? {
            if let Some(link) = store.value::<LinkRecord>(&key).ok().flatten() {
                if link.integration_id == id {
                    // The record before its index: a record never lacks its index.
                    store.delete(&key)?;
                    store.delete(&keys::link_by_host(&record.connection_id, &link.host_id))?;
                    store.delete(&keys::history(&record.connection_id, &link.host_id))?;
                }
            }
        }
        store.delete(&keys::mapping(id))?;
        store.delete(&keys::discovery_types(id))?;
        store.delete(&keys::discovery(id))?;
        store.delete(&keys::integration(id))
    }

    /// All integrations.
    pub fn list_projects(&self) -> Result<Vec<ProjectIntegration>> {
        self.integrations()?
            .iter()
            .map(|i| self.integration_info(i))
            .collect()
    }

    /// Read the project afresh from ADO and keep the snapshot.
    pub fn discover(&self, id: &str) -> Result<ProjectDiscovery> {
        let record = self.integration(id)?;
        let (conn, _) = self.connection(&record.connection_id)?;
        let client = self.client(&conn)?;
        let project = client.project(&record.project_id)?;
        let mut discovery = client.discover(&project)?;
        discovery.integration_id = id.to_string();
        self.store_discovery(id, &discovery)?;
        Ok(discovery)
    }

    /// Keep a discovery snapshot, and the work item types a sync reads as their own small record
    /// (a webhook call reads them; the snapshot's field catalogue is many times their size). The
    /// derived record is removed first and written last, so it never describes an older
    /// snapshot; while it is missing, the types are read from the snapshot.
    fn store_discovery(&self, id: &str, discovery: &ProjectDiscovery) -> Result<()> {
        let store = self.store();
        store.delete(&keys::discovery_types(id))?;
        store.put(&keys::discovery(id), discovery)?;
        store.put(
            &keys::discovery_types(id),
            &propose::types_for_sync(discovery.work_item_types.clone()),
        )?;
        Ok(())
    }

    /// The stored discovery snapshot (read from ADO when missing).
    pub fn discovery(&self, id: &str) -> Result<ProjectDiscovery> {
        match self.store().value(&keys::discovery(id))? {
            Some(d) => Ok(d),
            None => self.discover(id),
        }
    }

    /// A proposed mapping for the integration.
    pub fn propose_mapping(&self, id: &str, epic_is_product_level: bool) -> Result<Mapping> {
        let schema = self.workspace_schema()?;
        let discovery = self.discovery(id)?;
        Ok(propose::propose(&schema, &discovery, epic_is_product_level))
    }

    /// Validate and store a mapping.
    pub fn set_mapping(&self, id: &str, mapping: &Mapping) -> Result<()> {
        self.integration(id)?;
        let schema = self.workspace_schema()?;
        let discovery = self.discovery(id)?;
        mapping::validate(mapping, &schema, &discovery)?;
        self.store().put(&keys::mapping(id), mapping).map(|_| ())
    }

    /// The stored mapping.
    pub fn get_mapping(&self, id: &str) -> Result<Mapping> {
        self.integration(id)?;
        self.stored_mapping(id)
    }

    /// The mapping of an integration already read.
    pub(crate) fn stored_mapping(&self, id: &str) -> Result<Mapping> {
        Ok((*self.shared_mapping(id)?).clone())
    }

    /// The stored mapping as kept between the calls of an instance ([`crate::store::Store::setting`]).
    pub(crate) fn shared_mapping(&self, id: &str) -> Result<Rc<Mapping>> {
        self.store()
            .setting(&keys::mapping(id))?
            .ok_or_else(|| SyncError::NotFound(format!("no mapping stored for integration '{id}'")))
    }
}
