//! One-time sync correctness: dry runs, paging with a cursor, no lost updates (three-way merge
//! with field ownership), stale revisions, crash between create and link, delete policies, history.

use ado_sync_e2e::*;
use ado_sync_host::api::*;
use serde_json::{json, Value};

fn ado_field(s: &Scenario, id: i64, name: &str) -> Value {
    s.sim
        .work_item(id)
        .and_then(|w| w["fields"].get(name).cloned())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_plans_everything_and_writes_nothing_anywhere() {
    let s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let before = s.storage_dump();
    let mut request = sync_request(&integration, SyncDirection::AdoToHost);
    request.dry_run = true;
    let plan = s.host.sync_once(&request).await.expect("dry run");
    assert!(plan.changes.is_empty());
    assert!(plan.report.dry_run);
    assert_eq!(plan.report.totals.created, 17, "{:?}", plan.report.totals);
    assert!(plan
        .report
        .actions
        .iter()
        .all(|a| a.action == ActionKind::Create && !a.reason.is_empty()));
    assert_eq!(s.storage_dump(), before, "a dry run must not write storage");

    // Host → ADO dry run: nothing reaches ADO.
    let mut push = sync_request(&integration, SyncDirection::HostToAdo);
    push.dry_run = true;
    push.host_items = vec![HostItem {
        id: "h-new".into(),
        item_type: "epic".into(),
        title: "Planned".into(),
        description: None,
        parent: None,
        status: None,
        sprint: None,
        releases: vec![],
        tags: vec![],
        fields: vec![],
    }];
    s.sim.clear_requests();
    let plan = s.host.sync_once(&push).await.expect("dry push");
    assert_eq!(plan.report.totals.created, 1);
    assert!(
        s.sim
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/wiql")),
        "dry run wrote to ADO"
    );
    assert_eq!(s.storage_dump(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_largest_page_size_on_a_later_page_is_the_rest_of_the_run() {
    // On wasm32 `usize` is 32 bits: cursor position + u32::MAX must not wrap into a bad slice.
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let mut first = sync_request(&integration, SyncDirection::AdoToHost);
    first.page_size = Some(5);
    let page = s.host.sync_once(&first).await.expect("first page");
    s.apply(&page.changes);
    let mut rest = sync_request(&integration, SyncDirection::AdoToHost);
    rest.page_size = Some(u32::MAX);
    rest.cursor = page.next;
    let outcome = s.host.sync_once(&rest).await.expect("the rest in one page");
    s.apply(&outcome.changes);
    assert_eq!(outcome.next, None);
    assert_eq!(outcome.report.done_items, 17);
    assert_eq!(s.workspace.items.len(), 17);
    for direction in [SyncDirection::HostToAdo] {
        let mut push = sync_request(&integration, direction);
        push.page_size = Some(u32::MAX);
        push.cursor = Some("h2a:3:0".into());
        s.host.sync_once(&push).await.expect("a push past a cursor");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_with_a_cursor_gives_the_same_workspace_with_progress() {
    let mut paged = Scenario::start().await;
    let (_, integration) = paged.integrate("Fabrikam", false).await;
    let mut cursor = None;
    let mut pages = 0;
    let mut last_done = 0;
    loop {
        let mut request = sync_request(&integration, SyncDirection::AdoToHost);
        request.page_size = Some(5);
        request.cursor = cursor.clone();
        let outcome = paged.host.sync_once(&request).await.expect("page");
        paged.apply(&outcome.changes);
        assert_eq!(outcome.report.total_items, 17);
        assert!(
            outcome.report.done_items > last_done,
            "progress must advance"
        );
        last_done = outcome.report.done_items;
        pages += 1;
        match outcome.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(last_done, 17);
    let mut whole = Scenario::start().await;
    let (_, integration) = whole.integrate("Fabrikam", false).await;
    whole.pull(&integration).await;
    let strip = |w: &ado_sync_host::workspace::Workspace| -> Vec<(String, String, Option<String>)> {
        w.items
            .values()
            .map(|i| {
                (
                    i.title.clone(),
                    i.item_type.clone(),
                    i.parent.as_ref().map(|p| w.items[p].title.clone()),
                )
            })
            .collect()
    };
    assert_eq!(strip(&paged.workspace), strip(&whole.workspace));
    // A bad cursor is a typed error.
    let mut bad = sync_request(&integration, SyncDirection::AdoToHost);
    bad.cursor = Some("h2a:1:0".into());
    let err = whole.host.sync_once(&bad).await.unwrap_err();
    assert!(
        matches!(err, ado_sync_host::CallError::Plugin(SyncError::InvalidConfig(ref f)) if f.field == "cursor"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_on_both_sides_are_merged_field_by_field_without_losing_either() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let wi = s
        .sim
        .find_by_title("Reset a forgotten password")
        .expect("seed story");
    let host_id = s.host_id(&conn.id, wi);

    // The host renames the story; meanwhile a person in ADO closes it and changes the points.
    let mut item = s.workspace.items[&host_id].clone();
    item.title = "Reset a forgotten password by e-mail".into();
    s.apply(&[HostChange::Update(item)]);
    s.sim
        .user_update(
            wi,
            json!({"System.State": "Closed", "Microsoft.VSTS.Scheduling.StoryPoints": 8}),
        )
        .expect("ADO edit");

    let pushed = s.push(&integration).await;
    assert_eq!(
        pushed.report.totals.updated, 1,
        "{:?}",
        pushed.report.actions
    );
    assert_eq!(
        ado_field(&s, wi, "System.Title"),
        json!("Reset a forgotten password by e-mail")
    );
    assert_eq!(
        ado_field(&s, wi, "System.State"),
        json!("Closed"),
        "the push must not revert ADO's state"
    );
    assert_eq!(
        ado_field(&s, wi, "Microsoft.VSTS.Scheduling.StoryPoints").as_f64(),
        Some(8.0),
        "nor ADO's points"
    );

    let pulled = s.pull(&integration).await;
    let item = &s.workspace.items[&host_id];
    assert_eq!(
        item.title, "Reset a forgotten password by e-mail",
        "the pull must not revert the host's title"
    );
    assert_eq!(item.status.as_deref(), Some("done"));
    assert_eq!(
        item.fields
            .iter()
            .find(|f| f.field == "effort")
            .and_then(|f| f.value.clone()),
        Some(FieldValue::Number(8.0))
    );
    assert_eq!(pulled.report.totals.updated, 1);

    // Both sides change the same fields: the owner wins (host owns the title, ADO the status).
    let mut item = s.workspace.items[&host_id].clone();
    item.title = "Host title".into();
    item.status = Some("in-progress".into());
    s.apply(&[HostChange::Update(item)]);
    s.sim
        .user_update(
            wi,
            json!({"System.Title": "ADO title", "System.State": "New"}),
        )
        .expect("ADO edit");
    let pushed = s.push(&integration).await;
    let reason = &pushed
        .report
        .actions
        .iter()
        .find(|a| a.work_item == Some(wi))
        .expect("decision")
        .reason;
    assert!(reason.contains("both sides changed"), "{reason}");
    assert_eq!(ado_field(&s, wi, "System.Title"), json!("Host title"));
    assert_eq!(
        ado_field(&s, wi, "System.State"),
        json!("New"),
        "ADO owns the status"
    );
    s.pull(&integration).await;
    let item = &s.workspace.items[&host_id];
    assert_eq!(item.title, "Host title");
    assert_eq!(item.status.as_deref(), Some("backlog"));
    // Now everything is in step both ways.
    assert_eq!(s.push(&integration).await.report.totals.updated, 0);
    assert_eq!(s.pull(&integration).await.report.totals.updated, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_revision_is_reread_and_retried() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let wi = s
        .sim
        .find_by_title("Update profile details")
        .expect("seed story");
    let mut item = s.workspace.items[&s.host_id(&conn.id, wi)].clone();
    item.title = "Update profile details (v2)".into();
    s.apply(&[HostChange::Update(item)]);
    s.sim.faults().stale_rev(1, 412);
    s.sim.clear_requests();
    let pushed = s.push(&integration).await;
    assert_eq!(
        pushed.report.totals.updated, 1,
        "{:?}",
        pushed.report.actions
    );
    let patches = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 2, "one stale attempt, one retry");
    assert_eq!(
        ado_field(&s, wi, "System.Title"),
        json!("Update profile details (v2)")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_create_and_link_is_reconciled_without_a_duplicate() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let epic = HostItem {
        id: "host-epic-1".into(),
        item_type: "epic".into(),
        title: "Carbon-neutral delivery".into(),
        description: None,
        parent: None,
        status: Some("backlog".into()),
        sprint: None,
        releases: vec![],
        tags: vec!["green".into()],
        fields: vec![],
    };
    s.apply(&[HostChange::Create(epic)]);
    // The work item gets created, then storing its link fails.
    s.storage.fail_writes(&format!("link/{}/", conn.id), 1);
    let first = s.push(&integration).await;
    assert_eq!(first.report.totals.failed, 1, "{:?}", first.report.actions);
    assert!(matches!(
        first.report.failures[0].error,
        SyncError::Storage(_) | SyncError::Conflict(_)
    ));
    let created: Vec<i64> = s
        .sim
        .work_item_ids()
        .into_iter()
        .filter(|id| ado_field(&s, *id, "System.Title") == json!("Carbon-neutral delivery"))
        .collect();
    assert_eq!(created.len(), 1);
    // The re-run finds it by its marker and links it instead of creating a second one.
    let second = s.push(&integration).await;
    assert_eq!(
        second.report.totals.failed, 0,
        "{:?}",
        second.report.actions
    );
    let created_again: Vec<i64> = s
        .sim
        .work_item_ids()
        .into_iter()
        .filter(|id| ado_field(&s, *id, "System.Title") == json!("Carbon-neutral delivery"))
        .collect();
    assert_eq!(created_again, created, "no duplicate");
    // The marker never reaches the host.
    let pulled = s.pull(&integration).await;
    assert_eq!(
        pulled.report.totals.created, 0,
        "{:?}",
        pulled.report.actions
    );
    assert_eq!(
        s.workspace.items["host-epic-1"].tags,
        vec!["green".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_deletes_follow_the_delete_policy_and_history_tells_the_story() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let keep = s
        .sim
        .find_by_title("Dashboards for error rates")
        .expect("seed");
    let recycle = s
        .sim
        .find_by_title("See order status on mobile")
        .expect("seed");

    // Default policy: unlink only.
    s.apply(&[HostChange::Delete(s.host_id(&conn.id, keep))]);
    let pushed = s.push(&integration).await;
    assert_eq!(
        pushed
            .report
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Delete)
            .count(),
        1
    );
    assert!(
        s.sim.work_item(keep).is_some(),
        "unlink leaves the work item alone"
    );

    // Recycle policy: the work item goes to the recycle bin.
    let mut mapping = s.host.get_mapping(&integration).await.expect("mapping");
    mapping.delete_policy = DeletePolicy::Recycle;
    s.host
        .set_mapping(&integration, &mapping)
        .await
        .expect("policy");
    let gone = s.host_id(&conn.id, recycle);
    s.apply(&[HostChange::Delete(gone.clone())]);
    s.push(&integration).await;
    assert!(s.sim.is_in_recycle_bin(recycle));

    let history = s
        .host
        .history(&integration, &ItemRef::Host(gone))
        .await
        .expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.action == ActionKind::Create && h.trigger == "sync ado-to-host"),
        "{history:?}"
    );
    assert!(
        history
            .iter()
            .any(|h| h.action == ActionKind::Delete && h.reason.contains("recycle bin")),
        "{history:?}"
    );
    assert!(
        history.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first"
    );
    let by_ado = s
        .host
        .history(&integration, &ItemRef::Ado(recycle))
        .await
        .expect("history by ADO id");
    assert_eq!(by_ado.len(), history.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn ado_pressure_is_honoured_and_failures_are_per_item() {
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    // Throttled once (Retry-After: 1 s) and two server errors: the run still completes.
    s.sim.faults().rate_limit("workitemsbatch", 1, 1);
    s.sim.faults().server_error("wiql", 2, 503);
    s.sim.clear_requests();
    let outcome = s.pull(&integration).await;
    assert_eq!(outcome.report.totals.created, 17);
    assert_eq!(outcome.report.totals.failed, 0);
    let batches = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("workitemsbatch"))
        .count();
    assert_eq!(batches, 2, "one throttled batch read, then the retry");
    let wiql = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("wiql"))
        .count();
    assert_eq!(wiql, 6, "4 queries + 2 retried server errors");

    // A malformed batch answer fails its items, typed, without failing the run.
    let mut fresh = Scenario::start().await;
    let (_, integration) = fresh.integrate("Fabrikam", false).await;
    fresh.sim.faults().malformed_body("workitemsbatch", 1);
    let outcome = fresh.pull(&integration).await;
    assert_eq!(
        outcome.report.totals.failed, 17,
        "{:?}",
        outcome.report.totals
    );
    assert!(outcome
        .report
        .failures
        .iter()
        .all(|f| matches!(f.error, SyncError::AdoError(_))));
    let again = fresh.pull(&integration).await;
    assert_eq!(again.report.totals.created, 17, "the re-run recovers");
    assert_eq!(fresh.workspace.items.len(), 17, "no duplicates");

    // A server that keeps failing, and an expired sign-in, end the run with typed errors.
    fresh.sim.faults().server_error("wiql", 10, 500);
    let err = fresh
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ado_sync_host::CallError::Plugin(SyncError::AdoError(ref f)) if f.status == 500),
        "{err:?}"
    );
    fresh.sim.faults().clear();
    fresh.sim.faults().sign_in_page("wiql", 1);
    let err = fresh
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ado_sync_host::CallError::Plugin(SyncError::AuthFailed(_))
        ),
        "{err:?}"
    );
    fresh.sim.faults().clear();
    fresh.sim.faults().rate_limit("wiql", 10, 120);
    let err = fresh
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ado_sync_host::CallError::Plugin(SyncError::RateLimited(ref r)) if r.retry_after_ms == 120_000),
        "a wait longer than the plugin will sleep goes back to the host: {err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_bad_host_item_does_not_fail_the_push() {
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let item = |id: &str, title: &str, sprint: Option<&str>| HostItem {
        id: id.into(),
        item_type: "epic".into(),
        title: title.into(),
        description: None,
        parent: None,
        status: Some("backlog".into()),
        sprint: sprint.map(str::to_string),
        releases: vec![],
        tags: vec![],
        fields: vec![],
    };
    let mut schema = s.workspace.schema.clone();
    schema.sprints.push(Sprint {
        id: "sprint-9".into(),
        name: "Sprint 9".into(),
        start: None,
        finish: None,
    });
    s.host.set_workspace_schema(&schema).await.expect("schema");
    s.workspace.schema = schema;
    s.apply(&[
        HostChange::Create(item("good-1", "Good one", None)),
        HostChange::Create(item("bad-1", "Unmapped sprint", Some("sprint-9"))),
        HostChange::Create(item("good-2", "Good two", Some("sprint-1"))),
    ]);
    let pushed = s.push(&integration).await;
    assert_eq!(
        pushed.report.totals.created, 2,
        "{:?}",
        pushed.report.actions
    );
    assert_eq!(pushed.report.totals.failed, 1);
    let failure = &pushed.report.failures[0];
    assert_eq!(failure.host_id.as_deref(), Some("bad-1"));
    assert!(
        matches!(&failure.error, SyncError::InvalidConfig(f) if f.field == "item.sprint"),
        "{failure:?}"
    );
    assert!(s.sim.find_by_title("Good two").is_some());
    assert!(s.sim.find_by_title("Unmapped sprint").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_past_the_wiql_row_cap_is_read_in_windows() {
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    s.sim.set_wiql_cap(3);
    s.sim.clear_requests();
    let outcome = s.pull(&integration).await;
    assert_eq!(
        outcome.report.totals.created, 17,
        "{:?}",
        outcome.report.failures
    );
    assert_eq!(s.workspace.items.len(), 17);
    let capped = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/wiql"))
        .count();
    assert!(capped > 4, "windows were needed: {capped} queries");
    let batches = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("workitemsbatch"))
        .count();
    assert_eq!(batches, 1, "windows change the queries, not the reads");
}

#[tokio::test(flavor = "multi_thread")]
async fn host_scopes_select_sprints_releases_or_items() {
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let epic = |id: &str, sprint: Option<&str>, releases: &[&str]| HostItem {
        id: id.into(),
        item_type: "epic".into(),
        title: format!("Scoped {id}"),
        description: None,
        parent: None,
        status: Some("backlog".into()),
        sprint: sprint.map(str::to_string),
        releases: releases.iter().map(|r| r.to_string()).collect(),
        tags: vec![],
        fields: vec![],
    };
    s.apply(&[
        HostChange::Create(epic("in-sprint-1", Some("sprint-1"), &[])),
        HostChange::Create(epic("in-sprint-2", Some("sprint-2"), &["r-2026-1"])),
        HostChange::Create(epic("in-release-2", None, &["r-2026-2"])),
        HostChange::Create(epic("unscheduled", None, &[])),
    ]);
    let run = |scope: HostScope| SyncRequest {
        host_items: s.workspace.item_list(),
        host_scope: scope,
        ..sync_request(&integration, SyncDirection::HostToAdo)
    };
    let by_sprint = run(HostScope::Sprints(vec!["sprint-1".into()]));
    let by_release = run(HostScope::Releases(vec![
        "r-2026-1".into(),
        "r-2026-2".into(),
    ]));
    let by_items = run(HostScope::Items(vec!["unscheduled".into()]));
    let created = |outcome: &SyncOutcome| -> Vec<String> {
        let mut ids: Vec<String> = outcome
            .report
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Create)
            .filter_map(|a| a.host_id.clone())
            .collect();
        ids.sort();
        ids
    };
    let first = s.host.sync_once(&by_sprint).await.expect("sprint scope");
    assert_eq!(created(&first), ["in-sprint-1"]);
    let second = s.host.sync_once(&by_release).await.expect("release scope");
    assert_eq!(created(&second), ["in-release-2", "in-sprint-2"]);
    let third = s.host.sync_once(&by_items).await.expect("items scope");
    assert_eq!(created(&third), ["unscheduled"]);
    for id in ["in-sprint-1", "in-sprint-2", "in-release-2", "unscheduled"] {
        assert!(
            s.sim.find_by_title(&format!("Scoped {id}")).is_some(),
            "{id} reached ADO"
        );
    }
    assert_eq!(
        ado_field(
            &s,
            s.sim
                .find_by_title("Scoped in-sprint-1")
                .unwrap_or_default(),
            "System.IterationPath"
        ),
        json!("Fabrikam\\Sprint 1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_travel_both_ways_through_their_mapped_field() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    let mapping = s.host.get_mapping(&integration).await.expect("mapping");
    let releases = mapping
        .fields
        .iter()
        .find(|f| f.host_field == "releases")
        .expect("the proposal maps releases to the project's Releases field");
    assert_eq!(releases.ado_field, "Custom.Releases");
    s.pull(&integration).await;
    let wi = s
        .sim
        .find_by_title("Push notifications for shipped orders")
        .expect("seed");
    let host_id = s.host_id(&conn.id, wi);

    // Host -> ADO: the release names, in ADO's list form.
    s.workspace
        .items
        .get_mut(&host_id)
        .expect("pulled")
        .releases = vec!["r-2026-1".into(), "r-2026-2".into()];
    let pushed = s.push(&integration).await;
    assert_eq!(pushed.report.totals.updated, 1, "{:?}", pushed.report);
    let releases_in_ado = |s: &Scenario| {
        s.sim.work_item(wi).expect("exists")["fields"]["Custom.Releases"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(releases_in_ado(&s), "2026.1; 2026.2");

    // ADO -> host: a name the host knows becomes its release; one it does not know is left alone.
    s.sim
        .user_update(wi, json!({"Custom.Releases": "2026.2; Beta channel"}))
        .expect("edit in ADO");
    let pulled = s.pull(&integration).await;
    assert_eq!(pulled.report.totals.updated, 1);
    assert_eq!(s.workspace.items[&host_id].releases, vec!["r-2026-2"]);

    // In step now: nothing to push, and ADO keeps the name only it knows.
    assert_eq!(s.push(&integration).await.report.totals.updated, 0);
    assert_eq!(releases_in_ado(&s), "2026.2; Beta channel");

    // A host edit keeps the foreign name too.
    s.workspace.items.get_mut(&host_id).expect("item").releases = vec!["r-2026-1".into()];
    assert_eq!(s.push(&integration).await.report.totals.updated, 1);
    assert_eq!(releases_in_ado(&s), "2026.1; Beta channel");
    assert_eq!(s.pull(&integration).await.report.totals.updated, 0);
}
