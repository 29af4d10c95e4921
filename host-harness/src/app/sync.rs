//! One-time sync, run in pages so long runs show progress and each page is durable on its own.
//!
//! ADO → host pages run inside a unit of work: the plugin's link records and the workspace
//! changes of a page commit together. Host → ADO pages write to ADO as they go (those writes
//! cannot be rolled back), so the plugin's link records commit as soon as they are written.

use super::{App, AppError, AppResult};
use crate::api::*;
use crate::workspace::Applied;
use serde::{Deserialize, Serialize};

/// Items per page (one plugin call each).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which way, as the CLI and the admin API name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// ADO → host.
    AdoToHost,
    /// Host → ADO.
    HostToAdo,
}

/// What to synchronise.
#[derive(Debug, Clone, Deserialize)]
pub struct SyncParams {
    /// Integrations by id or name; empty for every mapped one.
    #[serde(default)]
    pub integrations: Vec<String>,
    /// Which way.
    pub direction: Direction,
    /// ADO → host: only these work item types.
    #[serde(default)]
    pub types: Vec<String>,
    /// ADO → host: only items with one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// ADO → host: only open items.
    #[serde(default)]
    pub open_only: bool,
    /// Host → ADO: only items in these sprints (ids or names).
    #[serde(default)]
    pub sprints: Vec<String>,
    /// Host → ADO: only items in these releases (ids or names).
    #[serde(default)]
    pub releases: Vec<String>,
    /// Plan only; write nothing anywhere.
    #[serde(default)]
    pub dry_run: bool,
    /// Items per page; none for the default.
    #[serde(default)]
    pub page_size: Option<u32>,
}

/// Progress of a run, reported after every page.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress<'a> {
    /// The integration being synchronised.
    pub integration: &'a str,
    /// Its position among the integrations of the run (0-based) and their number.
    pub index: usize,
    /// How many integrations the run covers.
    pub count: usize,
    /// Items covered so far in this integration.
    pub done: u32,
    /// Items this integration's run covers.
    pub total: u32,
}

/// The run of one integration.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationRun {
    /// The integration's id.
    pub integration: String,
    /// Its name.
    pub name: String,
    /// The merged report of its pages.
    pub report: SyncReport,
    /// What the workspace did with the changes.
    pub applied: Applied,
    /// Pages (plugin calls).
    pub pages: u32,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    /// Which way.
    pub direction: Direction,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One entry per integration.
    pub runs: Vec<IntegrationRun>,
}

impl SyncSummary {
    /// Items that failed, over all integrations.
    pub fn failed(&self) -> u32 {
        self.runs.iter().map(|r| r.report.totals.failed).sum()
    }
}

fn ids_of<'a>(
    wanted: &[String],
    known: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    field: &str,
) -> AppResult<Vec<String>> {
    wanted
        .iter()
        .map(|w| {
            known
                .clone()
                .find(|(id, name)| id == w || name.eq_ignore_ascii_case(w))
                .map(|(id, _)| id.to_string())
                .ok_or_else(|| AppError::input(field, format!("the workspace has no '{w}'")))
        })
        .collect()
}

fn empty_counts(item_type: &str) -> TypeCounts {
    TypeCounts {
        item_type: item_type.into(),
        created: 0,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: 0,
    }
}

fn add_counts(into: &mut TypeCounts, c: &TypeCounts) {
    into.created += c.created;
    into.updated += c.updated;
    into.unchanged += c.unchanged;
    into.skipped += c.skipped;
    into.failed += c.failed;
}

/// Fold one page's report into the run's.
pub fn merge(into: &mut SyncReport, page: SyncReport) {
    add_counts(&mut into.totals, &page.totals);
    for c in &page.per_type {
        match into
            .per_type
            .iter_mut()
            .find(|x| x.item_type == c.item_type)
        {
            Some(x) => add_counts(x, c),
            None => into.per_type.push(c.clone()),
        }
    }
    into.actions.extend(page.actions);
    into.failures.extend(page.failures);
    into.ado_requests += page.ado_requests;
    into.total_items = page.total_items.max(into.total_items);
    into.done_items = page.done_items;
}

fn empty_report(dry_run: bool) -> SyncReport {
    SyncReport {
        dry_run,
        totals: empty_counts("*"),
        per_type: vec![],
        actions: vec![],
        failures: vec![],
        ado_requests: 0,
        total_items: 0,
        done_items: 0,
    }
}

impl App {
    /// Run a one-time sync; `progress` is called after every page.
    pub async fn sync(
        &self,
        params: &SyncParams,
        progress: &(dyn Fn(Progress<'_>) + Send + Sync),
    ) -> AppResult<SyncSummary> {
        let all = self.projects().await?;
        let targets: Vec<ProjectIntegration> = if params.integrations.is_empty() {
            all.into_iter().filter(|p| p.mapped).collect()
        } else {
            let mut out = Vec::new();
            for w in &params.integrations {
                out.push(self.project(w).await?);
            }
            out
        };
        if targets.is_empty() {
            return Err(AppError::input(
                "integration",
                "no mapped project integration to synchronise (add a project and store a mapping first)",
            ));
        }
        if !params.sprints.is_empty() && !params.releases.is_empty() {
            return Err(AppError::input(
                "sprints",
                "choose sprints or releases, not both",
            ));
        }
        let scope = {
            let ws = self.workspace.lock().await;
            let schema = &ws.schema;
            if !params.sprints.is_empty() {
                HostScope::Sprints(ids_of(
                    &params.sprints,
                    schema
                        .sprints
                        .iter()
                        .map(|s| (s.id.as_str(), s.name.as_str())),
                    "sprints",
                )?)
            } else if !params.releases.is_empty() {
                HostScope::Releases(ids_of(
                    &params.releases,
                    schema
                        .releases
                        .iter()
                        .map(|s| (s.id.as_str(), s.name.as_str())),
                    "releases",
                )?)
            } else {
                HostScope::WholeWorkspace
            }
        };
        let mut runs = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            let run = self
                .sync_integration(params, &scope, target, &|done, total| {
                    progress(Progress {
                        integration: &target.name,
                        index,
                        count: targets.len(),
                        done,
                        total,
                    })
                })
                .await?;
            runs.push(run);
        }
        Ok(SyncSummary {
            direction: params.direction,
            dry_run: params.dry_run,
            runs,
        })
    }

    async fn sync_integration(
        &self,
        params: &SyncParams,
        scope: &HostScope,
        target: &ProjectIntegration,
        progress: &(dyn Fn(u32, u32) + Send + Sync),
    ) -> AppResult<IntegrationRun> {
        let mut report = empty_report(params.dry_run);
        let mut applied = Applied::default();
        let mut cursor: Option<String> = None;
        let mut pages = 0u32;
        loop {
            let mut ws = self.workspace.lock().await;
            let request = SyncRequest {
                integration: target.id.clone(),
                direction: match params.direction {
                    Direction::AdoToHost => SyncDirection::AdoToHost,
                    Direction::HostToAdo => SyncDirection::HostToAdo,
                },
                ado_filter: AdoFilter {
                    open_only: params.open_only,
                    work_item_types: params.types.clone(),
                    tags: params.tags.clone(),
                },
                host_scope: scope.clone(),
                host_items: ws.item_list(),
                dry_run: params.dry_run,
                page_size: Some(params.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1)),
                cursor: cursor.clone(),
            };
            let atomic = params.direction == Direction::AdoToHost && !params.dry_run;
            let unit = if atomic {
                Some(self.storage.begin()?)
            } else {
                None
            };
            let outcome = self.host.sync_once(&request).await?;
            pages += 1;
            let page_applied = if params.dry_run {
                drop(unit);
                Applied::default()
            } else {
                self.apply(&mut ws, &outcome.changes, unit)?
            };
            drop(ws);
            applied.created += page_applied.created;
            applied.updated += page_applied.updated;
            applied.deleted += page_applied.deleted;
            applied.rejected.extend(page_applied.rejected);
            merge(&mut report, outcome.report);
            progress(report.done_items, report.total_items);
            match outcome.next {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                Some(_) => {
                    return Err(AppError::Plugin(SyncError::Internal(
                        "the sync returned the same cursor twice".into(),
                    )))
                }
                None => break,
            }
        }
        tracing::info!(
            integration = %target.id,
            pages,
            created = report.totals.created,
            updated = report.totals.updated,
            failed = report.totals.failed,
            "sync finished"
        );
        Ok(IntegrationRun {
            integration: target.id.clone(),
            name: target.name.clone(),
            report,
            applied,
            pages,
        })
    }
}
