//! The first vertical slice: connect, map, sync ADO → host on the seeded Agile project, and check
//! the host workspace item by item against the simulator, plus the exact requests ADO received.

use ado_sync_e2e::*;
use ado_sync_host::ado_sim::parent_of;
use ado_sync_host::api::*;
use serde_json::Value;
use std::collections::HashMap;

fn field<'a>(wi: &'a Value, name: &str) -> Option<&'a Value> {
    wi.get("fields").and_then(|f| f.get(name))
}

const MAPPED: [(&str, &str); 4] = [
    ("Epic", "epic"),
    ("Feature", "feature"),
    ("User Story", "story"),
    ("Task", "task"),
];

#[tokio::test(flavor = "multi_thread")]
async fn ado_to_host_builds_the_workspace_and_sends_only_the_needed_requests() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.sim.clear_requests();

    let outcome = s
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .expect("sync");
    s.apply(&outcome.changes);

    // One WIQL query per mapped type, parents' levels first, then one batch read (the seed has
    // fewer than 200 items).
    let requests = s.sim.requests();
    let shape: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path.rsplit("/_apis/").next().unwrap_or("").to_string(),
            )
        })
        .collect();
    let wiql = ("POST".to_string(), "wit/wiql".to_string());
    let batch_read = ("POST".to_string(), "wit/workitemsbatch".to_string());
    assert_eq!(
        shape,
        vec![wiql.clone(), wiql.clone(), wiql.clone(), wiql, batch_read],
        "requests: {shape:?}"
    );
    for (request, ty) in requests
        .iter()
        .zip(["Epic", "Feature", "User Story", "Task"])
    {
        let query = request.json().expect("wiql body")["query"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            query.contains(&format!("[System.WorkItemType] IN ('{ty}')")),
            "{query}"
        );
        assert!(query.contains("[System.TeamProject] = @project"), "{query}");
    }
    let batch = requests[4].json().expect("batch body");
    let ids = batch["ids"].as_array().expect("ids");
    assert!(ids.len() <= 200);
    assert_eq!(batch["$expand"], "relations");

    // Every Epic/Feature/Story/Task of Fabrikam is in the host, with the right values.
    let types: HashMap<&str, &str> = MAPPED.into_iter().collect();
    let mut expected = 0;
    for id in s.sim.work_item_ids() {
        let wi = s.sim.work_item(id).expect("live item");
        if field(&wi, "System.TeamProject").and_then(Value::as_str) != Some("Fabrikam") {
            continue;
        }
        let ado_type = field(&wi, "System.WorkItemType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let host_id = format!("ado-{}-{id}", conn.id);
        let Some(host_type) = types.get(ado_type) else {
            assert!(
                !s.workspace.items.contains_key(&host_id),
                "unmapped {ado_type} {id} reached the host"
            );
            continue;
        };
        expected += 1;
        let item = s
            .workspace
            .items
            .get(&host_id)
            .unwrap_or_else(|| panic!("{ado_type} {id} missing in host"));
        assert_eq!(&item.item_type, host_type);
        assert_eq!(
            Some(&Value::String(item.title.clone())),
            field(&wi, "System.Title")
        );
        // Parent/child links became hierarchy.
        assert_eq!(
            item.parent,
            parent_of(&wi).map(|p| format!("ado-{}-{p}", conn.id)),
            "parent of {id}"
        );
        // States became statuses by category.
        let state = field(&wi, "System.State")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let want_status = match state {
            "New" => "backlog",
            "Active" => "in-progress",
            "Resolved" => "in-review",
            "Closed" => "done",
            "Removed" => "wont-do",
            other => panic!("unexpected state {other}"),
        };
        assert_eq!(
            item.status.as_deref(),
            Some(want_status),
            "status of {id} ({state})"
        );
        // Iterations became sprints (field path `Fabrikam\Sprint N` ↔ host sprint-N).
        let iteration = field(&wi, "System.IterationPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let want_sprint = iteration
            .strip_prefix("Fabrikam\\Sprint ")
            .map(|n| format!("sprint-{n}"));
        assert_eq!(item.sprint, want_sprint, "sprint of {id} ({iteration})");
        // Story points became effort; rich text stays HTML; tags come across.
        let effort = item
            .fields
            .iter()
            .find(|f| f.field == "effort")
            .and_then(|f| f.value.clone());
        let points = field(&wi, "Microsoft.VSTS.Scheduling.StoryPoints").and_then(Value::as_f64);
        assert_eq!(effort, points.map(FieldValue::Number), "effort of {id}");
        if let Some(html) = field(&wi, "System.Description").and_then(Value::as_str) {
            assert_eq!(item.description.as_deref(), Some(html));
        }
        let tags = field(&wi, "System.Tags")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut want_tags: Vec<String> = tags
            .split(';')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let mut got_tags = item.tags.clone();
        want_tags.sort();
        got_tags.sort();
        assert_eq!(got_tags, want_tags, "tags of {id}");
    }
    assert!(expected >= 15, "seed too small: {expected}");
    assert_eq!(
        s.workspace.items.len(),
        expected,
        "host holds exactly the mapped items"
    );
    assert_eq!(outcome.report.totals.created as usize, expected);
    assert_eq!(outcome.report.ado_requests, 5);

    // A second run changes nothing and creates no duplicate.
    let again = s
        .host
        .sync_once(&SyncRequest {
            host_items: s.workspace.item_list(),
            ..sync_request(&integration, SyncDirection::AdoToHost)
        })
        .await
        .expect("sync again");
    assert!(
        again.changes.is_empty(),
        "re-run produced changes: {:?}",
        again.changes.len()
    );
    assert_eq!(again.report.totals.unchanged as usize, expected);
    assert_eq!(again.report.totals.created, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_open_items_types_and_tags() {
    let mut s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let mut request = sync_request(&integration, SyncDirection::AdoToHost);
    request.ado_filter = AdoFilter {
        open_only: true,
        work_item_types: vec!["User Story".into()],
        tags: vec!["customer".into(), "Q3".into()],
    };
    let outcome = s.host.sync_once(&request).await.expect("sync");
    s.apply(&outcome.changes);
    let expected: Vec<i64> = s
        .sim
        .work_item_ids()
        .into_iter()
        .filter(|id| {
            let wi = s.sim.work_item(*id).unwrap_or_default();
            let f = |n: &str| {
                field(&wi, n)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            f("System.TeamProject") == "Fabrikam"
                && f("System.WorkItemType") == "User Story"
                && !["Closed", "Removed"].contains(&f("System.State").as_str())
                && f("System.Tags")
                    .split(';')
                    .any(|t| ["customer", "q3"].contains(&t.trim().to_ascii_lowercase().as_str()))
        })
        .collect();
    assert!(!expected.is_empty(), "seed has open customer or q3 stories");
    assert_eq!(s.workspace.items.len(), expected.len());
    for item in s.workspace.items.values() {
        assert_eq!(item.item_type, "story");
        assert!(item
            .tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case("customer") || t.eq_ignore_ascii_case("q3")));
        assert_ne!(item.status.as_deref(), Some("done"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn host_to_ado_creates_linked_work_items_then_updates_with_a_rev_test() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    let outcome = s
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .expect("sync");
    s.apply(&outcome.changes);
    let feature_wi = s
        .sim
        .find_by_title("Account management")
        .expect("seed feature");
    let feature_host = format!("ado-{}-{feature_wi}", conn.id);

    let story = HostItem {
        id: "host-story-1".into(),
        item_type: "story".into(),
        title: "Export invoices as PDF".into(),
        description: Some("<p>Finance asked for it.</p>".into()),
        parent: Some(feature_host),
        status: Some("in-progress".into()),
        sprint: Some("sprint-2".into()),
        releases: vec![],
        tags: vec!["finance".into()],
        fields: vec![FieldEntry {
            field: "effort".into(),
            value: Some(FieldValue::Number(5.0)),
        }],
    };
    s.apply(&[HostChange::Create(story.clone())]);
    s.sim.clear_requests();
    let mut push = sync_request(&integration, SyncDirection::HostToAdo);
    push.host_scope = HostScope::Items(vec![story.id.clone()]);
    push.host_items = s.workspace.item_list();
    let pushed = s.host.sync_once(&push).await.expect("push");
    assert_eq!(
        pushed.report.totals.created, 1,
        "{:?}",
        pushed.report.actions
    );
    let created = s
        .sim
        .find_by_title("Export invoices as PDF")
        .expect("created in ADO");
    let wi = s.sim.work_item(created).expect("live");
    assert_eq!(
        field(&wi, "System.WorkItemType"),
        Some(&Value::from("User Story"))
    );
    assert_eq!(field(&wi, "System.State"), Some(&Value::from("Active")));
    assert_eq!(
        field(&wi, "System.IterationPath"),
        Some(&Value::from("Fabrikam\\Sprint 2"))
    );
    assert_eq!(
        field(&wi, "Microsoft.VSTS.Scheduling.StoryPoints").and_then(Value::as_f64),
        Some(5.0)
    );
    assert_eq!(parent_of(&wi), Some(feature_wi));
    let create_req = s
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.contains("/workitems/"))
        .expect("create request");
    assert!(
        create_req
            .path
            .ends_with("/_apis/wit/workitems/$User%20Story"),
        "{}",
        create_req.path
    );

    // Pushing the unchanged item again sends nothing.
    s.sim.clear_requests();
    let again = s.host.sync_once(&push).await.expect("push again");
    assert_eq!(again.report.totals.unchanged, 1);
    assert!(s
        .sim
        .requests()
        .iter()
        .all(|r| r.method != "PATCH" && r.method != "POST"));

    // An edit goes out as an update that starts with a rev test.
    let mut edited = story.clone();
    edited.status = Some("done".into());
    edited.title = "Export invoices as PDF and CSV".into();
    s.apply(&[HostChange::Update(edited)]);
    push.host_items = s.workspace.item_list();
    s.sim.clear_requests();
    let updated = s.host.sync_once(&push).await.expect("push edit");
    assert_eq!(
        updated.report.totals.updated, 1,
        "{:?}",
        updated.report.actions
    );
    let patch = s
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("patch sent");
    let ops = patch.json().expect("patch body");
    assert_eq!(ops[0]["op"], "test");
    assert_eq!(ops[0]["path"], "/rev");
    let wi = s.sim.work_item(created).expect("live");
    assert_eq!(field(&wi, "System.State"), Some(&Value::from("Closed")));
    assert_eq!(
        field(&wi, "System.Title"),
        Some(&Value::from("Export invoices as PDF and CSV"))
    );
}
