//! Previewing the mapping of one item either way; nothing is written.

use crate::api::{AdoPatch, HostItem, PatchOperation, Result, SyncError};
use crate::core::convert::{to_ado, to_host};
use crate::core::ids::host_id_for;
use crate::core::merge::merge;
use crate::core::work_item::WorkItem;
use crate::engine::Engine;

impl Engine<'_> {
    /// The JSON Patch a host item becomes (an update against the linked work item's current state).
    pub fn map_to_ado(&self, integration: &str, item: &HostItem) -> Result<AdoPatch> {
        let ctx = self.context(integration)?;
        let store = self.store();
        let linked = ctx.work_item_of_host(&store, &item.id)?;
        let parent = match &item.parent {
            Some(p) => ctx.work_item_of_host(&store, p)?,
            None => None,
        };
        let current = match linked {
            Some(id) => Some(WorkItem::from_json(
                &self.client(&ctx.connection)?.work_item(id)?,
            )?),
            None => None,
        };
        // The same decision a push makes: merge against the agreed values, so fields ADO changed
        // (or filled in, like a default area) are not shown as reverted.
        let target = match (&current, linked) {
            (Some(wi), Some(id)) => {
                let base = ctx.link_of_work_item(&store, id)?.map(|(l, _)| l.base);
                let parent_host = match wi.parent_id() {
                    Some(p) => ctx.host_of_work_item(&store, p)?,
                    None => None,
                };
                match to_host(&ctx.map_context(), wi, item.id.clone(), parent_host, None)? {
                    Some(ado_side) => {
                        merge(base.as_ref(), item, &ado_side, &ctx.mapping.fields).target
                    }
                    None => item.clone(),
                }
            }
            _ => item.clone(),
        };
        let (work_item_type, ops) = to_ado(&ctx.map_context(), &target, current.as_ref(), parent)?;
        Ok(AdoPatch {
            work_item_type,
            work_item: linked,
            operations: ops
                .into_iter()
                .map(|o| PatchOperation {
                    op: o.op.to_string(),
                    path: o.path,
                    value: o.value.map(|v| v.to_string()),
                })
                .collect(),
        })
    }

    /// The host item a work item (REST JSON) becomes.
    pub fn map_to_host(&self, integration: &str, work_item_json: &str) -> Result<HostItem> {
        let ctx = self.context(integration)?;
        let value: serde_json::Value = serde_json::from_str(work_item_json)
            .map_err(|e| SyncError::BadPayload(format!("work item JSON: {e}")))?;
        let wi = WorkItem::from_json(&value)?;
        let store = self.store();
        let host_id = ctx
            .host_of_work_item(&store, wi.id)?
            .unwrap_or_else(|| host_id_for(&ctx.connection.id, wi.id));
        let parent = match wi.parent_id() {
            Some(p) => Some(
                ctx.host_of_work_item(&store, p)?
                    .unwrap_or_else(|| host_id_for(&ctx.connection.id, p)),
            ),
            None => None,
        };
        to_host(&ctx.map_context(), &wi, host_id, parent, None)?.ok_or_else(|| {
            SyncError::invalid(
                "work-item.fields.System.WorkItemType",
                format!("work item type '{}' is not mapped", wi.work_item_type()),
            )
        })
    }
}
