//! One-time sync in both directions.

use crate::ado::errors::is_wiql_cap;
use crate::ado::resources::BATCH_LIMIT;
use crate::ado::AdoClient;
use crate::api::{
    ActionKind, AdoWorkItemType, HostChange, HostItem, HostScope, ItemAction, ItemFailure, Result,
    SyncDirection, SyncError, SyncOutcome, SyncReport, SyncRequest, TypeCounts,
};
use crate::core::convert::{to_ado, to_host};
use crate::core::fingerprint::of_host_item;
use crate::core::ids::host_id_for;
use crate::core::order::parents_first;
use crate::core::query::select_ids;
use crate::core::work_item::{list_items, WorkItem};
use crate::engine::context::IntegrationContext;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::LinkRecord;
use crate::store::Store;
use std::collections::HashMap;

/// Batch reads sent at once.
const CONCURRENT_BATCHES: usize = 4;
/// Id window used when a query passes WIQL's 20,000-row cap (ids are unique per organisation,
/// so a window this wide can never hold more rows than the cap).
const ID_WINDOW: i64 = 19_000;

/// Counts and decisions of a run.
#[derive(Default)]
pub struct Tally {
    per_type: Vec<TypeCounts>,
    actions: Vec<ItemAction>,
    failures: Vec<ItemFailure>,
}

impl Tally {
    fn counts(&mut self, item_type: &str) -> &mut TypeCounts {
        if let Some(i) = self.per_type.iter().position(|c| c.item_type == item_type) {
            return &mut self.per_type[i];
        }
        self.per_type.push(TypeCounts {
            item_type: item_type.to_string(),
            created: 0,
            updated: 0,
            unchanged: 0,
            skipped: 0,
            failed: 0,
        });
        let last = self.per_type.len() - 1;
        &mut self.per_type[last]
    }

    /// Record one decision.
    pub fn record(
        &mut self,
        action: ActionKind,
        host_id: Option<String>,
        work_item: Option<i64>,
        item_type: &str,
        reason: String,
    ) {
        let c = self.counts(item_type);
        match action {
            ActionKind::Create => c.created += 1,
            ActionKind::Update | ActionKind::Delete => c.updated += 1,
            ActionKind::Unchanged => c.unchanged += 1,
            ActionKind::Skip => c.skipped += 1,
            ActionKind::Fail => c.failed += 1,
        }
        self.actions.push(ItemAction {
            action,
            host_id,
            work_item,
            item_type: item_type.to_string(),
            reason,
        });
    }

    /// Record a failure.
    pub fn fail(
        &mut self,
        host_id: Option<String>,
        work_item: Option<i64>,
        item_type: &str,
        error: SyncError,
    ) {
        self.record(
            ActionKind::Fail,
            host_id.clone(),
            work_item,
            item_type,
            error.describe(),
        );
        self.failures.push(ItemFailure {
            host_id,
            work_item,
            error,
        });
    }

    /// The report.
    pub fn report(mut self, dry_run: bool, ado_requests: u32) -> SyncReport {
        self.per_type.sort_by(|a, b| a.item_type.cmp(&b.item_type));
        let mut totals = TypeCounts {
            item_type: "*".into(),
            created: 0,
            updated: 0,
            unchanged: 0,
            skipped: 0,
            failed: 0,
        };
        for c in &self.per_type {
            totals.created += c.created;
            totals.updated += c.updated;
            totals.unchanged += c.unchanged;
            totals.skipped += c.skipped;
            totals.failed += c.failed;
        }
        SyncReport {
            dry_run,
            totals,
            per_type: self.per_type,
            actions: self.actions,
            failures: self.failures,
            ado_requests,
        }
    }
}

impl Engine<'_> {
    /// Run a one-time sync.
    pub fn sync_once(&self, request: &SyncRequest) -> Result<SyncOutcome> {
        let ctx = self.context(&request.integration)?;
        let client = self.client(&ctx.connection)?;
        match request.direction {
            SyncDirection::AdoToHost => self.ado_to_host(&ctx, &client, request),
            SyncDirection::HostToAdo => self.host_to_ado(&ctx, &client, request),
        }
    }

    fn selected_types<'c>(
        &self,
        ctx: &'c IntegrationContext,
        request: &SyncRequest,
    ) -> Result<Vec<&'c AdoWorkItemType>> {
        let wanted = &request.ado_filter.work_item_types;
        for (i, name) in wanted.iter().enumerate() {
            if !ctx
                .mapping
                .types
                .iter()
                .any(|t| t.ado_type.eq_ignore_ascii_case(name))
            {
                return Err(SyncError::invalid(
                    format!("ado-filter.work-item-types[{i}]"),
                    format!("'{name}' is not a mapped work item type"),
                ));
            }
        }
        Ok(ctx
            .discovery
            .work_item_types
            .iter()
            .filter(|t| {
                ctx.mapping
                    .types
                    .iter()
                    .any(|m| m.ado_type.eq_ignore_ascii_case(&t.name))
            })
            .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(&t.name)))
            .collect())
    }

    /// Every id the filter selects, splitting the query into id windows when it passes WIQL's cap.
    fn query_ids(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        request: &SyncRequest,
    ) -> Result<Vec<i64>> {
        let types = self.selected_types(ctx, request)?;
        let project = &ctx.integration.project_name;
        let f = &request.ado_filter;
        match client.wiql(project, &select_ids(&types, f.open_only, &f.tags, None)) {
            Err(e) if is_wiql_cap(&e) => {}
            other => return other,
        }
        // Find the highest id by probing doubling windows, then read window by window.
        let mut ids = Vec::new();
        let mut after = 0;
        let mut empty_windows = 0;
        while empty_windows < 3 {
            let window = client.wiql(
                project,
                &select_ids(
                    &types,
                    f.open_only,
                    &f.tags,
                    Some((after, after + ID_WINDOW)),
                ),
            )?;
            if window.is_empty() {
                empty_windows += 1;
            } else {
                empty_windows = 0;
            }
            ids.extend(window);
            after += ID_WINDOW;
        }
        Ok(ids)
    }

    /// Read work items in batches of 200, several batches at once.
    fn read_work_items(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        ids: &[i64],
        tally: &mut Tally,
    ) -> Vec<WorkItem> {
        let mut items = Vec::with_capacity(ids.len());
        let chunks: Vec<&[i64]> = ids.chunks(BATCH_LIMIT).collect();
        for group in chunks.chunks(CONCURRENT_BATCHES) {
            let requests: Vec<_> = group
                .iter()
                .map(|c| client.batch_request(&ctx.integration.project_name, c))
                .collect();
            for (chunk, answer) in group.iter().zip(client.send_many(&requests)) {
                match answer {
                    Ok(Some(body)) => {
                        for v in list_items(&body) {
                            if v.is_null() {
                                continue;
                            }
                            match WorkItem::from_json(v) {
                                Ok(wi) => items.push(wi),
                                Err(e) => tally.fail(None, None, "?", e),
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        for id in chunk.iter() {
                            tally.fail(None, Some(*id), "?", e.clone());
                        }
                    }
                }
            }
        }
        items
    }

    fn ado_to_host(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        request: &SyncRequest,
    ) -> Result<SyncOutcome> {
        let store = self.store();
        let mut tally = Tally::default();
        let ids = self.query_ids(ctx, client, request)?;
        let items = self.read_work_items(ctx, client, &ids, &mut tally);
        let order = parents_first(
            &items
                .iter()
                .map(|w| (w.id, w.parent_id()))
                .collect::<Vec<_>>(),
        );
        let host_items: HashMap<&str, &HostItem> = request
            .host_items
            .iter()
            .map(|h| (h.id.as_str(), h))
            .collect();
        let mut host_ids: HashMap<i64, String> = HashMap::new();
        let mut changes = Vec::new();
        let map = ctx.map_context();
        let now = self.http.now_rfc3339();
        for index in order {
            let wi = &items[index];
            let link = match ctx.link_of_work_item(&store, wi.id) {
                Ok(l) => l,
                Err(e) => {
                    tally.fail(None, Some(wi.id), wi.work_item_type(), e);
                    continue;
                }
            };
            let host_id = link
                .as_ref()
                .map(|(l, _)| l.host_id.clone())
                .unwrap_or_else(|| host_id_for(&ctx.connection.id, wi.id));
            let parent_host = match wi.parent_id() {
                None => None,
                Some(p) => match host_ids.get(&p) {
                    Some(h) => Some(h.clone()),
                    None => ctx
                        .link_of_work_item(&store, p)
                        .ok()
                        .flatten()
                        .map(|(l, _)| l.host_id),
                },
            };
            let existing = host_items.get(host_id.as_str()).copied();
            let mapped = match to_host(&map, wi, host_id.clone(), parent_host, existing) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    tally.record(
                        ActionKind::Skip,
                        None,
                        Some(wi.id),
                        wi.work_item_type(),
                        "work item type is not mapped".into(),
                    );
                    continue;
                }
                Err(e) => {
                    tally.fail(None, Some(wi.id), wi.work_item_type(), e);
                    continue;
                }
            };
            host_ids.insert(wi.id, host_id.clone());
            let fingerprint = of_host_item(&mapped);
            let host_has_it = request.host_items.is_empty() || existing.is_some();
            let item_type = mapped.item_type.clone();
            if let Some((l, _)) = &link {
                if l.fingerprint == fingerprint && host_has_it {
                    tally.record(
                        ActionKind::Unchanged,
                        Some(host_id),
                        Some(wi.id),
                        &item_type,
                        "already in step".into(),
                    );
                    continue;
                }
            }
            let (action, change, reason) = if link.is_some() || existing.is_some() {
                (
                    ActionKind::Update,
                    HostChange::Update(mapped),
                    format!("ADO rev {} differs from the host", wi.rev),
                )
            } else {
                (
                    ActionKind::Create,
                    HostChange::Create(mapped),
                    format!("new {} in ADO", wi.work_item_type()),
                )
            };
            if !request.dry_run {
                let record = LinkRecord {
                    host_id: host_id.clone(),
                    work_item: wi.id,
                    integration_id: ctx.integration.id.clone(),
                    ado_rev: wi.rev,
                    fingerprint,
                    synced_at: now.clone(),
                };
                if let Err(e) = write_link(&store, ctx, &record, link.as_ref().map(|(_, v)| *v)) {
                    tally.fail(Some(host_id), Some(wi.id), &item_type, e);
                    continue;
                }
                changes.push(change);
            }
            tally.record(action, Some(host_id), Some(wi.id), &item_type, reason);
        }
        Ok(SyncOutcome {
            changes,
            report: tally.report(request.dry_run, client.requests_sent()),
        })
    }

    fn host_to_ado(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        request: &SyncRequest,
    ) -> Result<SyncOutcome> {
        let store = self.store();
        let mut tally = Tally::default();
        let in_scope = |h: &HostItem| match &request.host_scope {
            HostScope::WholeWorkspace => true,
            HostScope::Sprints(s) => h.sprint.as_ref().is_some_and(|x| s.contains(x)),
            HostScope::Releases(r) => h.releases.iter().any(|x| r.contains(x)),
            HostScope::Items(ids) => ids.contains(&h.id),
        };
        let map = ctx.map_context();
        let candidates: Vec<&HostItem> =
            request.host_items.iter().filter(|h| in_scope(h)).collect();
        let index: HashMap<&str, i64> = candidates
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.as_str(), i as i64))
            .collect();
        let order = parents_first(
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
        let mut created: HashMap<String, i64> = HashMap::new();
        let now = self.http.now_rfc3339();
        for i in order {
            let item = candidates[i];
            if map.ado_type_of(&item.item_type).is_none() {
                tally.record(
                    ActionKind::Skip,
                    Some(item.id.clone()),
                    None,
                    &item.item_type,
                    "item type is not mapped".into(),
                );
                continue;
            }
            let parent = match &item.parent {
                None => None,
                Some(p) => match created.get(p) {
                    Some(id) => Some(*id),
                    None => ctx.work_item_of_host(&store, p).ok().flatten(),
                },
            };
            let outcome = self.push_item(ctx, client, &store, item, parent, request.dry_run, &now);
            match outcome {
                Ok((action, work_item, reason)) => {
                    if let Some(id) = work_item {
                        created.insert(item.id.clone(), id);
                    }
                    tally.record(
                        action,
                        Some(item.id.clone()),
                        work_item,
                        &item.item_type,
                        reason,
                    );
                }
                Err(e) => tally.fail(Some(item.id.clone()), None, &item.item_type, e),
            }
        }
        Ok(SyncOutcome {
            changes: Vec::new(),
            report: tally.report(request.dry_run, client.requests_sent()),
        })
    }

    /// Create or update one host item's work item; one retry after a stale revision.
    #[allow(clippy::too_many_arguments)]
    fn push_item(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        store: &Store,
        item: &HostItem,
        parent: Option<i64>,
        dry_run: bool,
        now: &str,
    ) -> Result<(ActionKind, Option<i64>, String)> {
        let map = ctx.map_context();
        let fingerprint = of_host_item(item);
        let linked = ctx.work_item_of_host(store, &item.id)?;
        let Some(work_item) = linked else {
            let (ado_type, ops) = to_ado(&map, item, None, parent)?;
            if dry_run {
                return Ok((
                    ActionKind::Create,
                    None,
                    format!("would create a {ado_type}"),
                ));
            }
            let created = WorkItem::from_json(&client.create_work_item(
                &ctx.integration.project_name,
                &ado_type,
                &ops,
            )?)?;
            let record = LinkRecord {
                host_id: item.id.clone(),
                work_item: created.id,
                integration_id: ctx.integration.id.clone(),
                ado_rev: created.rev,
                fingerprint,
                synced_at: now.to_string(),
            };
            write_link(store, ctx, &record, None)?;
            return Ok((
                ActionKind::Create,
                Some(created.id),
                format!("created {ado_type} {}", created.id),
            ));
        };
        let link = ctx.link_of_work_item(store, work_item)?;
        if let Some((l, _)) = &link {
            if l.fingerprint == fingerprint {
                return Ok((
                    ActionKind::Unchanged,
                    Some(work_item),
                    "already in step".into(),
                ));
            }
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = WorkItem::from_json(&client.work_item(work_item)?)?;
            let (_, ops) = to_ado(&map, item, Some(&current), parent)?;
            if ops.is_empty() {
                return Ok((
                    ActionKind::Unchanged,
                    Some(work_item),
                    "ADO already holds these values".into(),
                ));
            }
            if dry_run {
                return Ok((
                    ActionKind::Update,
                    Some(work_item),
                    format!("would change {} value(s)", ops.len() - 1),
                ));
            }
            match client.update_work_item(work_item, &ops) {
                Ok(updated) => {
                    let updated = WorkItem::from_json(&updated)?;
                    let record = LinkRecord {
                        host_id: item.id.clone(),
                        work_item,
                        integration_id: ctx.integration.id.clone(),
                        ado_rev: updated.rev,
                        fingerprint,
                        synced_at: now.to_string(),
                    };
                    write_link(store, ctx, &record, link.as_ref().map(|(_, v)| *v))?;
                    return Ok((
                        ActionKind::Update,
                        Some(work_item),
                        format!("updated to rev {}", updated.rev),
                    ));
                }
                Err(SyncError::Conflict(_))
                | Err(SyncError::AdoError(crate::api::AdoFailure {
                    status: 400 | 409, ..
                })) if attempts < 3 => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Write a link and its host index; the link record is compare-and-swapped so two instances
/// cannot overwrite each other's newer link.
fn write_link(
    store: &Store,
    ctx: &IntegrationContext,
    record: &LinkRecord,
    version: Option<u64>,
) -> Result<()> {
    let key = keys::link_by_work_item(&ctx.connection.id, record.work_item);
    if !store.put_if(&key, version, record)? {
        return Err(SyncError::Conflict(format!(
            "the link of work item {} was changed by another instance meanwhile",
            record.work_item
        )));
    }
    store.put(
        &keys::link_by_host(&ctx.connection.id, &record.host_id),
        &record.work_item,
    )?;
    Ok(())
}
