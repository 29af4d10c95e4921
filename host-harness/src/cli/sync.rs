//! `ado-sync sync`: one-time sync with a progress bar (on a terminal, without `--json`).

use super::exit;
use super::output::emit;
use crate::app::sync::{Direction, Progress, SyncParams, SyncSummary};
use crate::app::{App, AppResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn bar(json: bool) -> ProgressBar {
    let target = if json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {prefix:<24} [{bar:32}] {pos}/{len} items · {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Run it; returns the exit code (`PARTIAL` when some items failed).
pub async fn run(app: &App, json: bool, params: &SyncParams) -> AppResult<i32> {
    let progress = bar(json);
    let shown = progress.clone();
    let summary = app
        .sync(params, &move |p: Progress<'_>| {
            shown.set_prefix(format!("{} ({}/{})", p.integration, p.index + 1, p.count));
            shown.set_length(u64::from(p.total.max(p.done)));
            shown.set_position(u64::from(p.done));
        })
        .await;
    progress.finish_and_clear();
    let summary = summary?;
    emit(json, &summary, render);
    Ok(if summary.failed() > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// The human form.
pub fn render(s: &SyncSummary) -> String {
    let arrow = match s.direction {
        Direction::AdoToHost => "ADO → host",
        Direction::HostToAdo => "host → ADO",
    };
    let mut out = String::new();
    if s.dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    for r in &s.runs {
        let t = &r.report.totals;
        out.push_str(&format!(
            "{arrow}  {:<20} {} created · {} updated · {} unchanged · {} skipped · {} failed   ({} page{}, {} ADO requests)\n",
            r.name,
            t.created,
            t.updated,
            t.unchanged,
            t.skipped,
            t.failed,
            r.pages,
            if r.pages == 1 { "" } else { "s" },
            r.report.ado_requests
        ));
        for c in &r.report.per_type {
            out.push_str(&format!(
                "    {:<10} {} created · {} updated · {} unchanged · {} skipped · {} failed\n",
                c.item_type, c.created, c.updated, c.unchanged, c.skipped, c.failed
            ));
        }
        for f in &r.report.failures {
            out.push_str(&format!(
                "    failed   {}{}: {}\n",
                f.host_id.as_deref().unwrap_or("-"),
                f.work_item.map(|w| format!(" / #{w}")).unwrap_or_default(),
                crate::runtime::errors::describe(&f.error)
            ));
        }
        if !s.dry_run && s.direction == Direction::AdoToHost {
            out.push_str(&format!(
                "    workspace {} created · {} updated · {} deleted{}\n",
                r.applied.created,
                r.applied.updated,
                r.applied.deleted,
                if r.applied.rejected.is_empty() {
                    String::new()
                } else {
                    format!(" · {} refused", r.applied.rejected.len())
                }
            ));
        }
    }
    out
}
