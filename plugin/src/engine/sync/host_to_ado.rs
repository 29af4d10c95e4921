//! Host → ADO: creates carry a marker tag and a pending record so a crash between "created in
//! ADO" and "link stored" is reconciled without a duplicate; updates start with `test /rev` and
//! are re-merged and retried when ADO moved on; host deletes follow the delete policy.

use super::creates::{PlannedCreate, Pushed, Step, CREATES_IN_FLIGHT};
use super::{parse_cursor, Tally};
use crate::ado::AdoClient;
use crate::api::{
    ActionKind, DeletePolicy, HostItem, HostScope, Result, StatusCategory, SyncError, SyncOutcome,
    SyncRequest,
};
use crate::core::convert::{marker_tag, to_ado, to_host, PatchOp};
use crate::core::fingerprint::same_values;
use crate::core::merge::merge;
use crate::core::order::level_by_level;
use crate::core::query::quote;
use crate::core::work_item::WorkItem;
use crate::engine::context::IntegrationContext;
use crate::engine::links::{with_fields_from, LinkValues};
use crate::engine::sync::incoming::describe_conflicts;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{LinkRecord, PendingCreate};
use crate::store::Store;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Attempts of one update when ADO keeps moving on (stale rev).
const UPDATE_ATTEMPTS: usize = 3;

impl Engine<'_> {
    /// A project found read-only when it was added is checked again (the token may have been
    /// replaced since); still read-only, the push stops before it writes anything.
    fn ensure_writable(&self, ctx: &IntegrationContext, client: &AdoClient) -> Result<()> {
        if ctx.integration.can_write {
            return Ok(());
        }
        let Some(ty) = ctx.work_item_types.first() else {
            return Ok(());
        };
        if !client.can_create_work_items(&ctx.integration.project_name, &ty.name)? {
            return Err(SyncError::PermissionDenied(format!(
                "the credentials of this connection may not write work items in project '{}' \
                 (a PAT needs the scope vso.work_write); host → ADO sync is not possible",
                ctx.integration.project_name
            )));
        }
        let mut record = ctx.integration.clone();
        record.can_write = true;
        self.store()
            .put(&keys::integration(&record.id), &record)
            .map(|_| ())
    }

    pub(super) fn host_to_ado(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        request: &SyncRequest,
    ) -> Result<SyncOutcome> {
        self.ensure_writable(ctx, client)?;
        let store = self.store();
        let in_scope = |h: &HostItem| match &request.host_scope {
            HostScope::WholeWorkspace => true,
            HostScope::Sprints(s) => h.sprint.as_ref().is_some_and(|x| s.contains(x)),
            HostScope::Releases(r) => h.releases.iter().any(|x| r.contains(x)),
            HostScope::Items(ids) => ids.contains(&h.id),
        };
        let candidates: Vec<&HostItem> =
            request.host_items.iter().filter(|h| in_scope(h)).collect();
        let index: HashMap<&str, i64> = candidates
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.as_str(), i as i64))
            .collect();
        // Level by level, so the creates of a level can travel together.
        let order = level_by_level(
            &candidates
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    (
                        i as i64,
                        h.parent.as_deref().and_then(|p| index.get(p).copied()),
                    )
                })
                .collect::<Vec<_>>(),
        );
        let start = parse_cursor(&request.cursor, "h2a")?
            .map(|(n, _)| n)
            .unwrap_or(0)
            .min(order.len());
        let end = request
            .page_size
            .map(|n| start.saturating_add(n as usize).min(order.len()))
            .unwrap_or(order.len());
        let now = self.http.now_rfc3339();
        let mut run = PushRun::default();
        // Plain creates wait in a wave and go to ADO together; a wave is sent before an item
        // whose parent is in it (the child needs the parent's work item id).
        let mut wave: Vec<PlannedCreate> = Vec::new();
        let send_wave = |wave: &mut Vec<PlannedCreate>, run: &mut PushRun| {
            run.note_all(self.send_creates(ctx, client, &store, std::mem::take(wave), &now));
        };
        for &i in &order[start..end] {
            let item = candidates[i];
            if ctx.map_context().ado_type_of(&item.item_type).is_none() {
                run.tally.record(
                    ActionKind::Skip,
                    Some(item.id.clone()),
                    None,
                    &item.item_type,
                    "item type is not mapped".into(),
                );
                continue;
            }
            if item
                .parent
                .as_ref()
                .is_some_and(|p| wave.iter().any(|w| &w.item.id == p))
            {
                send_wave(&mut wave, &mut run);
            }
            let (created, failed) = (&run.created, &run.failed);
            let parent = match &item.parent {
                None => None,
                Some(p) => match created.get(p) {
                    Some(id) => Some(*id),
                    None => ctx.work_item_of_host(&store, p).ok().flatten(),
                },
            };
            // A parent pushed in this run that failed has no work item yet: the child would
            // reach ADO without its parent (and the link would record the parent as agreed, so
            // it never would). It waits for the next run instead.
            if let (None, Some(p)) = (parent, item.parent.as_ref().filter(|p| failed.contains(*p)))
            {
                let e = SyncError::NotFound(format!(
                    "its parent {p} could not be pushed in this run; it follows on the next run"
                ));
                run.note(item, Err(e));
                continue;
            }
            match self.push_item(ctx, client, &store, item, parent, request.dry_run, &now) {
                Ok(Step::Create(plan)) => {
                    wave.push(plan);
                    if wave.len() >= CREATES_IN_FLIGHT {
                        send_wave(&mut wave, &mut run);
                    }
                }
                Ok(Step::Done(pushed)) => run.note(item, Ok(pushed)),
                Err(e) => run.note(item, Err(e)),
            }
        }
        send_wave(&mut wave, &mut run);
        let mut tally = run.tally;
        // Deletions are only knowable when the host handed us everything in scope.
        if end == order.len() {
            self.apply_host_deletes(ctx, client, &store, request, &mut tally)?;
        }
        let next = (end < order.len()).then(|| format!("h2a:{end}:0"));
        Ok(SyncOutcome {
            changes: Vec::new(),
            report: tally.report(
                request.dry_run,
                client.requests_sent(),
                order.len() as u32,
                end as u32,
            ),
            next,
        })
    }

    /// Links of this integration whose host item is gone: apply the delete policy.
    fn apply_host_deletes(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        store: &Store,
        request: &SyncRequest,
        tally: &mut Tally,
    ) -> Result<()> {
        let present: HashSet<&str> = request.host_items.iter().map(|h| h.id.as_str()).collect();
        let gone: Vec<LinkRecord> = match &request.host_scope {
            HostScope::WholeWorkspace => store
                .all::<LinkRecord>(&format!("{}wi/", keys::links(&ctx.connection.id)))?
                .into_iter()
                .filter(|l| {
                    l.integration_id == ctx.integration.id
                        && !l.deleted_in_ado
                        && !present.contains(l.host_id.as_str())
                })
                .collect(),
            HostScope::Items(ids) => ids
                .iter()
                .filter(|id| !present.contains(id.as_str()))
                .filter_map(|id| ctx.work_item_of_host(store, id).ok().flatten())
                .filter_map(|wi| {
                    ctx.link_of_work_item(store, wi)
                        .ok()
                        .flatten()
                        .map(|(l, _)| l)
                })
                .filter(|l| !l.deleted_in_ado)
                .collect(),
            _ => Vec::new(),
        };
        for link in gone {
            let item_type = link.base.item_type.clone();
            let result = self.delete_in_ado(ctx, client, store, &link, request.dry_run);
            match result {
                Ok(reason) => tally.record(
                    ActionKind::Delete,
                    Some(link.host_id.clone()),
                    Some(link.work_item),
                    &item_type,
                    reason,
                ),
                Err(e) => tally.fail(
                    Some(link.host_id.clone()),
                    Some(link.work_item),
                    &item_type,
                    e,
                ),
            }
        }
        Ok(())
    }

    fn delete_in_ado(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        store: &Store,
        link: &LinkRecord,
        dry_run: bool,
    ) -> Result<String> {
        let policy = ctx.mapping.delete_policy;
        if dry_run {
            return Ok(format!(
                "deleted in the host; would apply the {policy:?} policy"
            ));
        }
        match policy {
            DeletePolicy::Unlink => {
                ctx.remove_link(store, link)?;
                Ok("deleted in the host; unlinked, the work item is left as it is".into())
            }
            DeletePolicy::SetRemoved => {
                let current = WorkItem::from_json(&client.work_item(link.work_item)?)?;
                let ty = ctx
                    .work_item_types
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case(current.work_item_type()));
                let state = ty
                    .and_then(|t| {
                        t.states
                            .iter()
                            .find(|s| s.category == StatusCategory::Removed)
                    })
                    .or_else(|| {
                        ty.and_then(|t| {
                            t.states
                                .iter()
                                .find(|s| s.category == StatusCategory::Completed)
                        })
                    })
                    .map(|s| s.name.clone())
                    .ok_or_else(|| {
                        SyncError::invalid(
                            "mapping.delete-policy",
                            "the work item type has no Removed or Completed state",
                        )
                    })?;
                let ops = vec![
                    PatchOp {
                        op: "test",
                        path: "/rev".into(),
                        value: Some(json!(current.rev)),
                    },
                    PatchOp {
                        op: "add",
                        path: "/fields/System.State".into(),
                        value: Some(json!(state)),
                    },
                ];
                client.update_work_item(link.work_item, &ops)?;
                ctx.remove_link(store, link)?;
                Ok(format!(
                    "deleted in the host; set to '{state}' in ADO and unlinked"
                ))
            }
            DeletePolicy::Recycle => {
                let path = format!(
                    "{}/_apis/wit/workitems/{}",
                    crate::ado::client::seg(&ctx.integration.project_name),
                    link.work_item
                );
                match client.send(&client.request("DELETE", &path, None)) {
                    Ok(_) | Err(SyncError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
                let mut flagged = link.clone();
                flagged.deleted_in_ado = true;
                let version = ctx
                    .link_of_work_item(store, link.work_item)?
                    .map(|(_, v)| v);
                ctx.put_link(store, &flagged, version)?;
                Ok("deleted in the host; moved to ADO's recycle bin (restorable)".into())
            }
        }
    }

    /// Find the work item a crashed create left behind, by its marker tag.
    fn find_by_marker(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        marker: &str,
    ) -> Result<Option<i64>> {
        let query = format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS {} ORDER BY [System.Id] ASC",
            quote(marker)
        );
        Ok(client
            .wiql(&ctx.integration.project_name, &query)?
            .first()
            .copied())
    }

    /// What to do with one host item: done here (unchanged, updated, adopted, planned in a dry
    /// run), or a create to send with its wave.
    #[allow(clippy::too_many_arguments)]
    fn push_item<'a>(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        store: &Store,
        item: &'a HostItem,
        parent: Option<i64>,
        dry_run: bool,
        now: &str,
    ) -> Result<Step<'a>> {
        let map = ctx.map_context();
        let mut link = match ctx.work_item_of_host(store, &item.id)? {
            Some(wi) => ctx.link_of_work_item(store, wi)?,
            None => None,
        };
        let pending_key = keys::pending_create(&ctx.connection.id, &item.id);
        let marker = marker_tag(&item.id);
        let mut adopted: Option<i64> = None;
        let pending = store.value::<PendingCreate>(&pending_key)?.is_some();
        if link.is_none() && pending {
            adopted = self.find_by_marker(ctx, client, &marker)?;
        }
        if link.is_some() && pending && !dry_run {
            // A run stored the link, then failed to clear its pending record.
            store.delete(&pending_key)?;
        }
        if link.is_none() && adopted.is_none() {
            if dry_run {
                let (ado_type, _) = to_ado(&map, item, None, parent)?;
                return Ok(Step::Done(Pushed {
                    action: ActionKind::Create,
                    work_item: None,
                    reason: format!("would create a {ado_type}"),
                }));
            }
            return self.plan_create(ctx, item, parent).map(Step::Create);
        }
        if let Some((l, _)) = &link {
            if same_values(item, &l.base) && !l.deleted_in_ado {
                return Ok(Step::Done(Pushed {
                    action: ActionKind::Unchanged,
                    work_item: Some(l.work_item),
                    reason: "no host change since the last sync".into(),
                }));
            }
        }
        let work_item = link
            .as_ref()
            .map(|(l, _)| l.work_item)
            .or(adopted)
            .ok_or_else(|| SyncError::Internal("no work item to update".into()))?;
        for attempt in 1..=UPDATE_ATTEMPTS {
            let current = match client.work_item(work_item) {
                Ok(v) => WorkItem::from_json(&v)?,
                Err(SyncError::NotFound(m)) => {
                    return Err(SyncError::NotFound(format!(
                        "work item {work_item} is gone from ADO (deleted?): {m}"
                    )));
                }
                Err(e) => return Err(e),
            };
            let parent_host = match current.parent_id() {
                Some(p) => ctx.host_of_work_item(store, p)?,
                None => None,
            };
            let ado_side = to_host(&map, &current, item.id.clone(), parent_host, None)?
                .unwrap_or_else(|| item.clone());
            let base = link.as_ref().map(|(l, _)| l.base.clone());
            let merged = merge(base.as_ref(), item, &ado_side, &ctx.mapping.fields);
            let (_, ops) = to_ado(&map, &merged.target, Some(&current), parent)?;
            let conflicts = describe_conflicts(&merged.conflicts);
            let new_base = match &base {
                Some(b) => with_fields_from(&merged.target, b, &merged.from_ado),
                None => with_fields_from(&merged.target, item, &merged.from_ado),
            };
            if ops.is_empty() {
                if !dry_run {
                    ctx.save_link(
                        store,
                        LinkValues {
                            host_id: &item.id,
                            work_item,
                            ado_rev: current.rev,
                            base: new_base,
                            ado_side: &ado_side,
                            host_side: item,
                        },
                        link.as_ref().map(|(_, v)| *v),
                        now,
                    )?;
                    store.delete(&pending_key)?;
                }
                let reason = if adopted.is_some() {
                    "re-linked to the work item a crashed run created".to_string()
                } else {
                    format!("ADO already holds these values{conflicts}")
                };
                return Ok(Step::Done(Pushed {
                    action: ActionKind::Unchanged,
                    work_item: Some(work_item),
                    reason,
                }));
            }
            if dry_run {
                return Ok(Step::Done(Pushed {
                    action: ActionKind::Update,
                    work_item: Some(work_item),
                    reason: format!("would change {} value(s){conflicts}", ops.len() - 1),
                }));
            }
            match client.update_work_item(work_item, &ops) {
                Ok(updated) => {
                    let updated = WorkItem::from_json(&updated)?;
                    let ado_after = to_host(
                        &map,
                        &updated,
                        item.id.clone(),
                        merged.target.parent.clone(),
                        None,
                    )?
                    .unwrap_or_else(|| merged.target.clone());
                    ctx.save_link(
                        store,
                        LinkValues {
                            host_id: &item.id,
                            work_item,
                            ado_rev: updated.rev,
                            base: new_base,
                            ado_side: &ado_after,
                            host_side: item,
                        },
                        link.as_ref().map(|(_, v)| *v),
                        now,
                    )?;
                    store.delete(&pending_key)?;
                    let what = if merged.from_host.is_empty() {
                        "values".to_string()
                    } else {
                        merged.from_host.join(", ")
                    };
                    let retried = if attempt > 1 {
                        format!(
                            " after {} stale-rev retr{}",
                            attempt - 1,
                            if attempt == 2 { "y" } else { "ies" }
                        )
                    } else {
                        String::new()
                    };
                    return Ok(Step::Done(Pushed {
                        action: ActionKind::Update,
                        work_item: Some(work_item),
                        reason: format!("sent {what} (rev {}){retried}{conflicts}", updated.rev),
                    }));
                }
                Err(SyncError::Conflict(_))
                | Err(SyncError::AdoError(crate::api::AdoFailure {
                    status: 400 | 409 | 412,
                    ..
                })) if attempt < UPDATE_ATTEMPTS => {
                    // ADO moved on since we read it: re-read, re-merge, retry.
                    link = ctx.link_of_work_item(store, work_item)?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(SyncError::Conflict(format!(
            "work item {work_item} kept changing in ADO; gave up after {UPDATE_ATTEMPTS} attempts"
        )))
    }
}

/// The decisions of a push so far.
#[derive(Default)]
struct PushRun {
    tally: Tally,
    /// Work items created in this run, by host id.
    created: HashMap<String, i64>,
    /// Host items that failed in this run (their children wait for the next run).
    failed: HashSet<String>,
}

impl PushRun {
    fn note(&mut self, item: &HostItem, pushed: Result<Pushed>) {
        match pushed {
            Ok(p) => {
                if let Some(id) = p.work_item {
                    self.created.insert(item.id.clone(), id);
                }
                self.tally.record(
                    p.action,
                    Some(item.id.clone()),
                    p.work_item,
                    &item.item_type,
                    p.reason,
                );
            }
            Err(e) => {
                self.failed.insert(item.id.clone());
                self.tally
                    .fail(Some(item.id.clone()), None, &item.item_type, e)
            }
        }
    }

    fn note_all(&mut self, sent: Vec<(&HostItem, Result<Pushed>)>) {
        for (item, pushed) in sent {
            self.note(item, pushed);
        }
    }
}
