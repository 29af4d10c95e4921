//! Everything one integration's sync needs, loaded once per call (webhook calls keep it across
//! the calls of an instance while the records it is built from stay the same).

use crate::api::{AdoWorkItemType, Mapping, Result, WorkspaceSchema};
use crate::core::convert::{fields_read_by_to_host, FieldNames, MapContext};
use crate::core::propose::types_for_sync;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{ConnectionRecord, IntegrationRecord, LinkRecord};
use crate::store::Store;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// An integration with its connection, schema, discovery and mapping.
pub struct IntegrationContext {
    /// The integration.
    pub integration: IntegrationRecord,
    /// Its connection.
    pub connection: ConnectionRecord,
    /// The host workspace schema.
    pub schema: WorkspaceSchema,
    /// The ADO project's work item types as a sync reads them (`types_for_sync`: each type's
    /// field list holds only the fields a sync asks about). The rest of the discovery (field
    /// catalogue, areas, iterations, tags) is for configuring.
    pub work_item_types: Vec<AdoWorkItemType>,
    /// The mapping.
    pub mapping: Mapping,
    /// The work item fields mapping reads (`fields_read_by_to_host`).
    pub fields_read: FieldNames,
}

impl IntegrationContext {
    /// The mapping context for `core::convert`.
    pub fn map_context(&self) -> MapContext<'_> {
        MapContext {
            connection_id: &self.connection.id,
            base_url: &self.connection.base_url,
            project_name: &self.integration.project_name,
            types: &self.work_item_types,
            schema: &self.schema,
            mapping: &self.mapping,
        }
    }

    /// Whether mapping reads a work item field: a payload's work item is parsed with only these.
    pub fn reads_field(&self, name: &str) -> bool {
        self.fields_read.contains(name)
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

/// The part of a stored discovery a sync reads; the rest is skipped while parsing.
#[derive(serde::Deserialize)]
struct StoredTypes {
    work_item_types: Vec<AdoWorkItemType>,
}

impl Engine<'_> {
    /// The work item types of an integration's project as a sync reads them: their own record,
    /// else from the stored discovery (a store written before that record existed, or a write
    /// of the discovery cut short), else discovered now.
    fn work_item_types(&self, integration: &str) -> Result<Rc<Vec<AdoWorkItemType>>> {
        let store = self.store();
        if let Some(types) = store.setting(&keys::discovery_types(integration))? {
            return Ok(types);
        }
        let types = match store.value::<StoredTypes>(&keys::discovery(integration))? {
            Some(stored) => stored.work_item_types,
            None => self.discovery(integration)?.work_item_types,
        };
        Ok(Rc::new(types_for_sync(types)))
    }

    /// Load an integration's context; a missing mapping is a typed `not-found`.
    pub fn context(&self, integration: &str) -> Result<Rc<IntegrationContext>> {
        self.shared_context(
            &self.shared_integration(integration)?,
            &self.shared_workspace_schema()?,
        )
    }

    /// An integration's context, built again only when a record it is built from changed in
    /// storage (an instance may serve many calls: a stream of webhook deliveries). The records
    /// are read every time; an unchanged one is the same parsed value ([`Store::setting`]), so
    /// comparing pointers tells whether anything changed.
    pub fn shared_context(
        &self,
        integration: &Rc<IntegrationRecord>,
        schema: &Rc<WorkspaceSchema>,
    ) -> Result<Rc<IntegrationContext>> {
        let connection = self
            .store()
            .setting::<ConnectionRecord>(&keys::connection(&integration.connection_id))?
            .ok_or_else(|| {
                crate::api::SyncError::NotFound(format!(
                    "connection '{}'",
                    integration.connection_id
                ))
            })?;
        let mapping = self.shared_mapping(&integration.id)?;
        let types = self.work_item_types(&integration.id)?;
        let inputs: [Rc<dyn Any>; 5] = [
            integration.clone(),
            schema.clone(),
            connection.clone(),
            mapping.clone(),
            types.clone(),
        ];
        let kept = BUILT.with(|b| {
            b.borrow().get(&integration.id).and_then(|(used, ctx)| {
                let same = used.iter().zip(&inputs).all(|(a, b)| Rc::ptr_eq(a, b));
                same.then(|| ctx.clone())
            })
        });
        if let Some(ctx) = kept {
            return Ok(ctx);
        }
        let ctx = Rc::new(IntegrationContext {
            fields_read: fields_read_by_to_host(&mapping),
            mapping: (*mapping).clone(),
            work_item_types: (*types).clone(),
            schema: (**schema).clone(),
            integration: (**integration).clone(),
            connection: (*connection).clone(),
        });
        BUILT.with(|b| {
            let mut built = b.borrow_mut();
            if built.len() >= KEPT_CONTEXTS {
                built.clear();
            }
            built.insert(integration.id.clone(), (inputs, ctx.clone()));
        });
        Ok(ctx)
    }
}

/// Contexts kept at most (one per integration).
const KEPT_CONTEXTS: usize = 64;

/// A context kept with the records it was built from.
type BuiltContext = ([Rc<dyn Any>; 5], Rc<IntegrationContext>);

thread_local! {
    static BUILT: RefCell<HashMap<String, BuiltContext>> = RefCell::new(HashMap::new());
}
