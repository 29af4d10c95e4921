//! Taking one work item from ADO into the host: shared by ADO → host sync, webhooks and
//! gap-filling. Decides by three-way merge against the link's agreed values.

use crate::api::{ActionKind, HostChange, HostItem, HostPatch, Result};
use crate::core::convert::to_host;
use crate::core::fingerprint::same_values;
use crate::core::ids::host_id_for;
use crate::core::merge::{merge, Conflict};
use crate::core::work_item::WorkItem;
use crate::engine::context::IntegrationContext;
use crate::engine::links::{with_fields_from, LinkValues, VersionedLink};
use crate::engine::Engine;
use crate::store::Store;

/// A work item arriving from ADO.
pub struct Incoming<'a> {
    /// The work item (current, with relations).
    pub work_item: &'a WorkItem,
    /// The host's current item, if the host told us.
    pub existing: Option<&'a HostItem>,
    /// Whether the host told us what it holds (then a missing item is really missing).
    pub host_known: bool,
    /// The host id of the work item's parent, when linked.
    pub parent_host: Option<String>,
    /// The work item's link as the caller read it (read once per item).
    pub link: Option<VersionedLink>,
    /// Plan only.
    pub dry_run: bool,
}

/// The decision for one incoming work item.
pub struct Decision {
    /// What happens.
    pub action: ActionKind,
    /// The host change, if any.
    pub change: Option<HostChange>,
    /// The host item's id.
    pub host_id: Option<String>,
    /// The mapped type (host type id, or the ADO type name when unmapped).
    pub item_type: String,
    /// Why.
    pub reason: String,
}

/// Describe settled conflicts for reports and history.
pub fn describe_conflicts(conflicts: &[Conflict]) -> String {
    if conflicts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "{} ({} wins)",
                c.field,
                if c.winner == crate::api::Side::Ado {
                    "ADO"
                } else {
                    "host"
                }
            )
        })
        .collect();
    format!("; both sides changed {}", parts.join(", "))
}

impl Engine<'_> {
    /// Decide what a work item means for the host, and record the new link (unless dry-run).
    pub fn take_from_ado(
        &self,
        ctx: &IntegrationContext,
        store: &Store,
        inc: Incoming,
        now: &str,
    ) -> Result<Decision> {
        let wi = inc.work_item;
        let link = inc.link;
        let host_id = link
            .as_ref()
            .map(|(l, _)| l.host_id.clone())
            .unwrap_or_else(|| host_id_for(&ctx.connection.id, wi.id));
        let map = ctx.map_context();
        let Some(ado_side) = to_host(&map, wi, host_id.clone(), inc.parent_host.clone(), None)?
        else {
            return Ok(Decision {
                action: ActionKind::Skip,
                change: None,
                host_id: None,
                item_type: wi.work_item_type().to_string(),
                reason: format!("work item type '{}' is not mapped", wi.work_item_type()),
            });
        };
        let item_type = ado_side.item_type.clone();
        let host_missing = inc.host_known && inc.existing.is_none();
        let (base, host_side, previous, revived) = match &link {
            Some((l, version)) => {
                // In step means both sides still hold the agreed values.
                let unchanged_ado = same_values(&ado_side, &l.base);
                let unchanged_host = match inc.existing {
                    Some(e) => same_values(e, &l.base),
                    None => !inc.host_known,
                };
                if unchanged_ado && unchanged_host && !l.deleted_in_ado {
                    return Ok(Decision {
                        action: ActionKind::Unchanged,
                        change: None,
                        host_id: Some(host_id),
                        item_type,
                        reason: "already in step".into(),
                    });
                }
                let host_side = inc.existing.unwrap_or(&l.base);
                (Some(&l.base), host_side, Some(*version), l.deleted_in_ado)
            }
            None => (None, inc.existing.unwrap_or(&ado_side), None, false),
        };
        let merged = merge(base, host_side, &ado_side, &ctx.mapping.fields);
        let target = merged.target.clone();
        let new_base = with_fields_from(&target, base.unwrap_or(&ado_side), &merged.from_host);
        let needs_host = host_missing
            || revived
            || link.is_none() && inc.existing.is_none()
            || !same_values(&target, host_side);
        if !inc.dry_run {
            ctx.save_link(
                store,
                LinkValues {
                    host_id: &host_id,
                    work_item: wi.id,
                    ado_rev: wi.rev,
                    base: new_base,
                    ado_side: &ado_side,
                    host_side: &target,
                },
                previous,
                now,
            )?;
        }
        let conflicts = describe_conflicts(&merged.conflicts);
        if !needs_host {
            return Ok(Decision {
                action: ActionKind::Unchanged,
                change: None,
                host_id: Some(host_id),
                item_type,
                reason: format!("the host already holds ADO's values{conflicts}"),
            });
        }
        let creating = host_missing || inc.existing.is_none() && (link.is_none() || revived);
        let (action, change, reason) = if creating {
            let why = if revived {
                "restored in ADO"
            } else if link.is_some() {
                "missing in the host"
            } else {
                "new in ADO"
            };
            (
                ActionKind::Create,
                HostChange::Create(target),
                format!("{why} (rev {}){conflicts}", wi.rev),
            )
        } else {
            let fields = if merged.from_ado.is_empty() {
                "values".to_string()
            } else {
                merged.from_ado.join(", ")
            };
            // Without the host's current item (webhooks, gap-filling) only ADO's changes are
            // news: a patch, so a host edit not pushed yet survives.
            let change = if inc.existing.is_none() && !merged.from_ado.is_empty() {
                HostChange::Patch(HostPatch {
                    item: target,
                    parts: merged.from_ado.clone(),
                })
            } else {
                HostChange::Update(target)
            };
            (
                ActionKind::Update,
                change,
                format!("ADO changed {fields} (rev {}){conflicts}", wi.rev),
            )
        };
        Ok(Decision {
            action,
            change: Some(change),
            host_id: Some(host_id),
            item_type,
            reason,
        })
    }
}
