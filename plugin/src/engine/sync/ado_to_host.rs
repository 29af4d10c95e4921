//! ADO → host: WIQL for ids (one query per mapped type, parents' levels first, split into id
//! windows past the 20,000-row cap), batch reads of ≤200 ids sent concurrently, then a decision
//! per work item.

use super::{parse_cursor, Tally};
use crate::ado::errors::is_wiql_cap;
use crate::ado::resources::BATCH_LIMIT;
use crate::ado::AdoClient;
use crate::api::{
    AdoFailure, AdoWorkItemType, HostChange, HostItem, Result, SyncError, SyncOutcome, SyncRequest,
};
use crate::core::order::ParentsFirstStream;
use crate::core::query::select_ids;
use crate::core::work_item::{list_items, WorkItem};
use crate::engine::context::IntegrationContext;
use crate::engine::sync::incoming::Incoming;
use crate::engine::Engine;
use crate::store::Store;
use std::collections::HashMap;

/// Batch reads sent at once.
const CONCURRENT_BATCHES: usize = 4;
/// Id window used when a query passes WIQL's 20,000-row cap (ids are unique per organisation,
/// so a window this wide never holds more rows than the cap).
const ID_WINDOW: i64 = 19_000;

impl Engine<'_> {
    /// The mapped ADO types the request selects, parents' levels first.
    pub(crate) fn selected_types<'c>(
        &self,
        ctx: &'c IntegrationContext,
        wanted: &[String],
    ) -> Result<Vec<&'c AdoWorkItemType>> {
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
        let mut types: Vec<&AdoWorkItemType> = ctx
            .work_item_types
            .iter()
            .filter(|t| {
                ctx.mapping
                    .types
                    .iter()
                    .any(|m| m.ado_type.eq_ignore_ascii_case(&t.name))
            })
            .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(&t.name)))
            .collect();
        types.sort_by_key(|t| t.level.unwrap_or(u8::MAX));
        Ok(types)
    }

    /// Ids of one type matching the filter, in id order. Past WIQL's row cap, the highest id is
    /// found with `$top=1`, then the id range is read in windows, halving any window that is
    /// still past the cap.
    fn query_type(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        ty: &AdoWorkItemType,
        request: &SyncRequest,
    ) -> Result<Vec<i64>> {
        let project = &ctx.integration.project_name;
        let f = &request.ado_filter;
        let query = |window| select_ids(&[ty], f.open_only, &f.tags, window);
        match client.wiql(project, &query(None)) {
            Err(e) if is_wiql_cap(&e) => {}
            other => return other,
        }
        let newest_first =
            query(None).replace("ORDER BY [System.Id] ASC", "ORDER BY [System.Id] DESC");
        let Some(max) = client.wiql_top(project, &newest_first, 1)?.first().copied() else {
            return Ok(Vec::new());
        };
        // Work item ids are 32-bit (`System.Id` is an Integer field). A larger "highest id" is a
        // malformed answer, and would make the windows below overflow or exhaust memory.
        if max > i64::from(i32::MAX) {
            return Err(SyncError::AdoError(AdoFailure {
                status: 200,
                message: format!(
                    "unexpected response shape: WIQL returned {max}, not a work item id"
                ),
            }));
        }
        let mut ids = Vec::new();
        let mut pending: Vec<(i64, i64)> = (0..=max / ID_WINDOW)
            .rev()
            .map(|k| (k * ID_WINDOW, ((k + 1) * ID_WINDOW).min(max)))
            .collect();
        while let Some((after, up_to)) = pending.pop() {
            match client.wiql(project, &query(Some((after, up_to)))) {
                Ok(window) => ids.extend(window),
                Err(e) if is_wiql_cap(&e) && up_to - after > 1 => {
                    let mid = after + (up_to - after) / 2;
                    pending.push((mid, up_to));
                    pending.push((after, mid));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }

    /// Read one group of batches (sent at once); failed batches are reported per id.
    fn read_group(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        group: &[&[i64]],
        tally: &mut Tally,
    ) -> Vec<WorkItem> {
        let requests: Vec<_> = group
            .iter()
            .map(|c| client.batch_request(&ctx.integration.project_name, c))
            .collect();
        let mut items = Vec::new();
        for (chunk, answer) in group.iter().zip(client.send_many(&requests)) {
            match answer {
                Ok(body) => {
                    let mut answered = std::collections::HashSet::new();
                    for v in body.as_ref().map(list_items).unwrap_or(&[]) {
                        if v.is_null() {
                            continue;
                        }
                        let id = v.get("id").and_then(serde_json::Value::as_i64);
                        answered.extend(id);
                        match WorkItem::from_json(v) {
                            Ok(wi) => items.push(wi),
                            Err(e) => tally.fail(None, id, "?", e),
                        }
                    }
                    // `errorPolicy: omit` answers null for an item it could not read: report it,
                    // so the run does not look complete without it.
                    for id in chunk.iter().filter(|id| !answered.contains(id)) {
                        tally.fail(
                            None,
                            Some(*id),
                            "?",
                            SyncError::NotFound(format!(
                                "work item {id} was listed by the query but the batch read returned nothing for it (deleted or not readable meanwhile)"
                            )),
                        );
                    }
                }
                Err(e) => {
                    for id in chunk.iter() {
                        tally.fail(None, Some(*id), "?", e.clone());
                    }
                }
            }
        }
        items
    }

    pub(super) fn ado_to_host(
        &self,
        ctx: &IntegrationContext,
        client: &AdoClient,
        request: &SyncRequest,
    ) -> Result<SyncOutcome> {
        let mut tally = Tally::default();
        let types = self.selected_types(ctx, &request.ado_filter.work_item_types)?;
        let mut all: Vec<(usize, i64)> = Vec::new();
        for (i, ty) in types.iter().enumerate() {
            all.extend(
                self.query_type(ctx, client, ty, request)?
                    .into_iter()
                    .map(|id| (i, id)),
            );
        }
        let start = match parse_cursor(&request.cursor, "a2h")? {
            Some((t, last)) => all
                .iter()
                .position(|&(ti, id)| ti > t || (ti == t && id > last))
                .unwrap_or(all.len()),
            None => 0,
        };
        let end = match request.page_size {
            Some(n) => start.saturating_add(n as usize).min(all.len()),
            None => all.len(),
        };
        let page: Vec<i64> = all[start..end].iter().map(|&(_, id)| id).collect();
        let host_items: HashMap<&str, &HostItem> = request
            .host_items
            .iter()
            .map(|h| (h.id.as_str(), h))
            .collect();
        let mut run = Run {
            ctx,
            store: self.store(),
            host_items,
            host_known: !request.host_items.is_empty(),
            dry_run: request.dry_run,
            now: self.http.now_rfc3339(),
            host_ids: HashMap::new(),
            failed: std::collections::HashSet::new(),
            changes: Vec::new(),
        };
        // Each group is decided as soon as it is read, so memory holds one group of work items
        // (plus children waiting for a parent further on), not the whole run.
        let mut stream = ParentsFirstStream::new(page.iter().copied());
        let chunks: Vec<&[i64]> = page.chunks(BATCH_LIMIT).collect();
        for group in chunks.chunks(CONCURRENT_BATCHES) {
            for wi in self.read_group(ctx, client, group, &mut tally) {
                let (id, parent) = (wi.id, wi.parent_id());
                for ready in stream.push(id, parent, wi) {
                    self.decide(&mut run, &ready, &mut tally);
                }
            }
            for &id in group.iter().flat_map(|c| c.iter()) {
                if !stream.is_settled(id) {
                    for ready in stream.give_up(id) {
                        self.decide(&mut run, &ready, &mut tally);
                    }
                }
            }
        }
        for ready in stream.finish() {
            self.decide(&mut run, &ready, &mut tally);
        }
        let changes = run.changes;
        let next = (end < all.len()).then(|| {
            let (t, id) = all[end - 1];
            format!("a2h:{t}:{id}")
        });
        Ok(SyncOutcome {
            changes,
            report: tally.report(
                request.dry_run,
                client.requests_sent(),
                all.len() as u32,
                end as u32,
            ),
            next,
        })
    }

    /// Decide one work item of a run: its parent's host id, its link, the change for the host.
    fn decide(&self, run: &mut Run<'_, '_, '_>, wi: &WorkItem, tally: &mut Tally) {
        let ctx = run.ctx;
        // A child of a work item whose decision failed in this run waits for the next run: the
        // host would otherwise get a child whose parent it does not hold.
        if let Some(p) = wi.parent_id().filter(|p| run.failed.contains(p)) {
            run.failed.insert(wi.id);
            tally.fail(
                None,
                Some(wi.id),
                wi.work_item_type(),
                SyncError::NotFound(format!(
                    "its parent, work item {p}, could not be taken in this run; it follows on the next run"
                )),
            );
            return;
        }
        let parent_host = match wi.parent_id() {
            None => None,
            Some(p) => match run.host_ids.get(&p) {
                Some(h) => Some(h.clone()),
                None => ctx.host_of_work_item(&run.store, p).ok().flatten(),
            },
        };
        let link = match ctx.link_of_work_item(&run.store, wi.id) {
            Ok(l) => l,
            Err(e) => {
                run.failed.insert(wi.id);
                tally.fail(None, Some(wi.id), wi.work_item_type(), e);
                return;
            }
        };
        let host_id = link
            .as_ref()
            .map(|(l, _)| l.host_id.clone())
            .unwrap_or_else(|| crate::core::ids::host_id_for(&ctx.connection.id, wi.id));
        let incoming = Incoming {
            work_item: wi,
            existing: run.host_items.get(host_id.as_str()).copied(),
            host_known: run.host_known,
            parent_host,
            link,
            dry_run: run.dry_run,
        };
        match self.take_from_ado(ctx, &run.store, incoming, &run.now) {
            Ok(d) => {
                if let Some(h) = &d.host_id {
                    run.host_ids.insert(wi.id, h.clone());
                }
                if let Some(change) = d.change {
                    if !run.dry_run {
                        run.changes.push(change);
                    }
                }
                tally.record(d.action, d.host_id, Some(wi.id), &d.item_type, d.reason);
            }
            Err(e) => {
                run.failed.insert(wi.id);
                tally.fail(Some(host_id), Some(wi.id), wi.work_item_type(), e)
            }
        }
    }
}

/// What the decisions of one ADO → host run share.
struct Run<'e, 'c, 'r> {
    ctx: &'c IntegrationContext,
    store: Store<'e>,
    host_items: HashMap<&'r str, &'r HostItem>,
    host_known: bool,
    dry_run: bool,
    now: String,
    host_ids: HashMap<i64, String>,
    /// Work items whose decision failed in this run.
    failed: std::collections::HashSet<i64>,
    changes: Vec<HostChange>,
}
