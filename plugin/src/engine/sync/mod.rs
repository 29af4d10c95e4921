//! One-time sync in both directions, in pages with a cursor, with a report and per-item history.

mod ado_to_host;
mod creates;
mod host_to_ado;
pub mod incoming;

use crate::api::{
    ActionKind, HistoryEntry, ItemAction, ItemFailure, Result, SyncDirection, SyncError,
    SyncOutcome, SyncReport, SyncRequest, TypeCounts,
};
use crate::engine::links::worth_recording;
use crate::engine::Engine;

/// Counts and decisions of a run.
#[derive(Default)]
pub struct Tally {
    per_type: Vec<TypeCounts>,
    actions: Vec<ItemAction>,
    failures: Vec<ItemFailure>,
}

fn zero(item_type: &str) -> TypeCounts {
    TypeCounts {
        item_type: item_type.to_string(),
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 0,
    }
}

impl Tally {
    fn counts(&mut self, item_type: &str) -> &mut TypeCounts {
        let i = match self.per_type.iter().position(|c| c.item_type == item_type) {
            Some(i) => i,
            None => {
                self.per_type.push(zero(item_type));
                self.per_type.len() - 1
            }
        };
        &mut self.per_type[i]
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

    /// Record a failure with its typed error.
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
    pub fn report(
        mut self,
        dry_run: bool,
        ado_requests: u32,
        total_items: u32,
        done_items: u32,
    ) -> SyncReport {
        self.per_type.sort_by(|a, b| a.item_type.cmp(&b.item_type));
        let mut totals = zero("*");
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
            total_items,
            done_items,
        }
    }
}

impl Engine<'_> {
    /// Run a one-time sync (one page of it when `page-size` is set).
    pub fn sync_once(&self, request: &SyncRequest) -> Result<SyncOutcome> {
        let ctx = self.context(&request.integration)?;
        let client = self.client(&ctx.connection)?;
        if request.page_size == Some(0) {
            return Err(SyncError::invalid("page-size", "must be at least 1"));
        }
        let (outcome, trigger) = match request.direction {
            SyncDirection::AdoToHost => (
                self.ado_to_host(&ctx, &client, request)?,
                "sync ado-to-host",
            ),
            SyncDirection::HostToAdo => (
                self.host_to_ado(&ctx, &client, request)?,
                "sync host-to-ado",
            ),
        };
        if !request.dry_run {
            let at = self.http.now_rfc3339();
            for a in outcome
                .report
                .actions
                .iter()
                .filter(|a| worth_recording(a.action))
            {
                self.record_history(
                    &ctx.connection.id,
                    HistoryEntry {
                        at: at.clone(),
                        trigger: trigger.to_string(),
                        action: a.action,
                        host_id: a.host_id.clone(),
                        work_item: a.work_item,
                        reason: a.reason.clone(),
                    },
                );
            }
        }
        Ok(outcome)
    }
}

/// Parse a cursor of the form `{prefix}:{a}:{b}`.
fn parse_cursor(cursor: &Option<String>, prefix: &str) -> Result<Option<(usize, i64)>> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || SyncError::invalid("cursor", "not a cursor returned by this sync direction");
    let mut parts = c.split(':');
    if parts.next() != Some(prefix) {
        return Err(bad());
    }
    let a = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let b = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    Ok(Some((a, b)))
}
