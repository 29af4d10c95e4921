//! Creating host items in ADO, several at a time. Each create writes its pending record (with
//! the marker the work item will carry) before its request goes out and its link after the
//! answer, so a crash anywhere in a group is reconciled on the next run without a duplicate.

use crate::ado::AdoClient;
use crate::api::{ActionKind, HostItem, Result};
use crate::core::convert::{marker_tag, to_ado, to_host, PatchOp};
use crate::core::work_item::WorkItem;
use crate::engine::context::IntegrationContext;
use crate::engine::links::LinkValues;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::PendingCreate;
use crate::store::Store;
use serde_json::json;

/// Creates in flight at once. The ADO API floor for a push is its round trip per create; a few
/// concurrent creates keep the connection pool busy without tripping ADO's throttling.
pub const CREATES_IN_FLIGHT: usize = 8;

/// A create decided and not yet sent.
pub struct PlannedCreate<'a> {
    /// The host item.
    pub item: &'a HostItem,
    ado_type: String,
    ops: Vec<PatchOp>,
}

/// What a push does with one item: decided on its own, or a create that waits for its wave.
pub enum Step<'a> {
    /// Decided (and written) already.
    Done(Pushed),
    /// To be sent with the other creates of its wave.
    Create(PlannedCreate<'a>),
}

/// What a push did with one item.
pub struct Pushed {
    /// Created, updated, unchanged…
    pub action: ActionKind,
    /// The linked work item.
    pub work_item: Option<i64>,
    /// Why.
    pub reason: String,
}

fn tags_with_marker(item: &HostItem, marker: &str) -> String {
    let mut tags = item.tags.clone();
    tags.push(marker.to_string());
    crate::core::values::format_tags(&tags)
}

impl Engine<'_> {
    /// The patch creating `item` under `parent`, its tags carrying the item's marker.
    pub(super) fn plan_create<'a>(
        &self,
        ctx: &IntegrationContext,
        item: &'a HostItem,
        parent: Option<i64>,
    ) -> Result<PlannedCreate<'a>> {
        let (ado_type, mut ops) = to_ado(&ctx.map_context(), item, None, parent)?;
        ops.retain(|o| o.path != "/fields/System.Tags");
        ops.push(PatchOp::add(
            "/fields/System.Tags",
            json!(tags_with_marker(item, &marker_tag(&item.id))),
        ));
        Ok(PlannedCreate {
            item,
            ado_type,
            ops,
        })
    }

    /// Send planned creates concurrently and link each created work item; one result per plan,
    /// in order. A plan whose pending record cannot be written is not sent.
    pub(super) fn send_creates<'a>(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        store: &Store,
        plans: Vec<PlannedCreate<'a>>,
        now: &str,
    ) -> Vec<(&'a HostItem, Result<Pushed>)> {
        let mut out = Vec::with_capacity(plans.len());
        let mut ready = Vec::with_capacity(plans.len());
        for plan in plans {
            let pending = PendingCreate {
                host_id: plan.item.id.clone(),
                marker: marker_tag(&plan.item.id),
                at: now.to_string(),
            };
            match store.put(
                &keys::pending_create(&ctx.connection.id, &plan.item.id),
                &pending,
            ) {
                Ok(_) => ready.push(plan),
                Err(e) => out.push((plan.item, Err(e))),
            }
        }
        let project = &ctx.integration.project_name;
        let requests: Vec<_> = ready
            .iter()
            .map(|p| client.create_request(project, &p.ado_type, &p.ops))
            .collect();
        for (plan, answer) in ready.iter().zip(client.send_many(&requests)) {
            let linked = AdoClient::created(answer)
                .and_then(|v| WorkItem::from_json(&v))
                .and_then(|created| self.link_created(ctx, store, plan, &created, now));
            out.push((plan.item, linked));
        }
        out
    }

    fn link_created(
        &self,
        ctx: &IntegrationContext,
        store: &Store,
        plan: &PlannedCreate,
        created: &WorkItem,
        now: &str,
    ) -> Result<Pushed> {
        let item = plan.item;
        let ado_side = to_host(
            &ctx.map_context(),
            created,
            item.id.clone(),
            item.parent.clone(),
            None,
        )?
        .unwrap_or_else(|| item.clone());
        ctx.save_link(
            store,
            LinkValues {
                host_id: &item.id,
                work_item: created.id,
                ado_rev: created.rev,
                base: item.clone(),
                ado_side: &ado_side,
                host_side: item,
            },
            None,
            now,
        )?;
        store.delete(&keys::pending_create(&ctx.connection.id, &item.id))?;
        Ok(Pushed {
            action: ActionKind::Create,
            work_item: Some(created.id),
            reason: format!("created {} {}", plan.ado_type, created.id),
        })
    }
}
