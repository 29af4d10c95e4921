//! Everything one integration's sync needs, loaded once per call.

use crate::api::{Mapping, ProjectDiscovery, Result, WorkspaceSchema};
use crate::core::convert::MapContext;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{ConnectionRecord, IntegrationRecord, LinkRecord};
use crate::store::Store;

/// An integration with its connection, schema, discovery and mapping.
pub struct IntegrationContext {
    /// The integration.
    pub integration: IntegrationRecord,
    /// Its connection.
    pub connection: ConnectionRecord,
    /// The host workspace schema.
    pub schema: WorkspaceSchema,
    /// The ADO project snapshot.
    pub discovery: ProjectDiscovery,
    /// The mapping.
    pub mapping: Mapping,
}

impl IntegrationContext {
    /// The mapping context for `core::convert`.
    pub fn map_context(&self) -> MapContext<'_> {
        MapContext {
            connection_id: &self.connection.id,
            base_url: &self.connection.base_url,
            project_name: &self.integration.project_name,
            project: &self.discovery,
            schema: &self.schema,
            mapping: &self.mapping,
        }
    }

    /// The link of a work item.
    pub fn link_of_work_item(
        &self,
        store: &Store,
        work_item: i64,
    ) -> Result<Option<(LinkRecord, u64)>> {
        store.get(&keys::link_by_work_item(&self.connection.id, work_item))
    }

    /// The host item linked to a work item (a parent, say): only the host id is read from the
    /// link record.
    pub fn host_of_work_item(&self, store: &Store, work_item: i64) -> Result<Option<String>> {
        /// The one part of a link record this needs; the rest is skipped while parsing.
        #[derive(serde::Deserialize)]
        struct HostIdOnly {
            host_id: String,
        }
        Ok(store
            .value::<HostIdOnly>(&keys::link_by_work_item(&self.connection.id, work_item))?
            .map(|l| l.host_id))
    }

    /// The work item linked to a host item.
    pub fn work_item_of_host(&self, store: &Store, host_id: &str) -> Result<Option<i64>> {
        store.value(&keys::link_by_host(&self.connection.id, host_id))
    }
}

impl Engine<'_> {
    /// Load an integration's context; a missing mapping is a typed `not-found`.
    pub fn context(&self, integration: &str) -> Result<IntegrationContext> {
        self.context_with(self.integration(integration)?, self.workspace_schema()?)
    }

    /// The context of an integration record already read, with the schema already read.
    pub fn context_with(
        &self,
        integration: IntegrationRecord,
        schema: WorkspaceSchema,
    ) -> Result<IntegrationContext> {
        let connection = self
            .store()
            .value::<ConnectionRecord>(&keys::connection(&integration.connection_id))?
            .ok_or_else(|| {
                crate::api::SyncError::NotFound(format!(
                    "connection '{}'",
                    integration.connection_id
                ))
            })?;
        Ok(IntegrationContext {
            mapping: self.get_mapping(&integration.id)?,
            discovery: self.discovery(&integration.id)?,
            schema,
            integration,
            connection,
        })
    }
}
