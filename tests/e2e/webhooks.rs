//! Webhooks through the real component: provisioning (once per instance), authenticated
//! deliveries, echoes dropped, duplicates and reordering harmless, bad input rejected without a
//! state change, health, and healing after ADO degraded the subscriptions.

use ado_sync_e2e::*;
use ado_sync_host::api::*;
use ado_sync_host::CallError;
use base64::Engine as _;
use serde_json::{json, Value};

const PUBLIC_URL: &str = "https://sync.acme.example";

struct Hooked {
    s: Scenario,
    conn: ConnectionInfo,
    integration: String,
    path: String,
}

async fn hooked() -> Hooked {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let outcome = s
        .host
        .provision_webhook(&conn.id, PUBLIC_URL)
        .await
        .expect("provision");
    assert!(outcome.manual_steps.is_none());
    let path = s.host.webhook_path().await.expect("path");
    let _ = s.sim.drain_events();
    Hooked {
        s,
        conn,
        integration,
        path,
    }
}

fn credential(s: &Scenario, event: &Value) -> String {
    delivery_credential(&s.sim, event)
}

fn delivery(path: &str, auth: Option<&str>, body: Vec<u8>) -> WebhookRequest {
    webhook_delivery(path, auth, body)
}

impl Hooked {
    /// An event as ADO delivers it: to the webhook path, with its subscription's credential.
    fn request(&self, event: &Value) -> WebhookRequest {
        delivery(
            &self.path,
            Some(&credential(&self.s, event)),
            serde_json::to_vec(event).unwrap_or_default(),
        )
    }

    async fn deliver(&mut self, event: &Value) -> Result<WebhookOutcome, CallError> {
        let req = self.request(event);
        let out = self.s.host.handle_webhook(&req).await;
        if let Ok(WebhookOutcome::Applied(changes)) = &out {
            self.s.apply(changes);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provisioning_creates_the_subscriptions_once_per_instance() {
    let h = hooked().await;
    let subs = h.s.sim.subscriptions();
    assert_eq!(subs.len(), 4, "{subs:#?}");
    let mut events: Vec<&str> = subs
        .iter()
        .filter_map(|s| s["eventType"].as_str())
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "workitem.created",
            "workitem.deleted",
            "workitem.restored",
            "workitem.updated"
        ]
    );
    for s in &subs {
        assert_eq!(
            s["consumerInputs"]["url"],
            format!("{PUBLIC_URL}/webhooks/{WORKSPACE_ID}/ado")
        );
        assert_eq!(s["resourceVersion"], "1.0");
    }
    let again =
        h.s.host
            .provision_webhook(&h.conn.id, PUBLIC_URL)
            .await
            .expect("again");
    assert_eq!(again.created, 0);
    assert_eq!(again.subscriptions.len(), 4);
    assert_eq!(
        h.s.sim.subscriptions().len(),
        4,
        "asking twice creates nothing new"
    );
    let status = h.s.host.webhook_status(&h.conn.id).await.expect("status");
    assert!(!status.connected, "not connected before the first event");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_edit_in_ado_arrives_and_the_webhook_reports_connected() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    h.s.sim
        .user_update(
            wi,
            json!({"System.Title": "Dashboards for latency", "System.State": "Closed"}),
        )
        .expect("edit");
    let events = h.s.sim.drain_events();
    assert_eq!(events.len(), 1);
    h.s.sim.clear_requests();
    let out = h.deliver(&events[0]).await.expect("delivered");
    assert!(
        h.s.sim.requests().is_empty(),
        "an update whose links did not change is applied from the payload, without calling ADO"
    );
    assert!(
        matches!(out, WebhookOutcome::Applied(ref c) if c.len() == 1),
        "{out:?}"
    );
    let item = &h.s.workspace.items[&h.s.host_id(&h.conn.id, wi)];
    assert_eq!(item.title, "Dashboards for latency");
    assert_eq!(item.status.as_deref(), Some("done"));
    let status = h.s.host.webhook_status(&h.conn.id).await.expect("status");
    assert!(status.connected);
    assert_eq!((status.applied, status.rejected), (1, 0));
    let listed = h.s.host.list_connections().await.expect("list");
    assert!(listed[0].webhook_connected);

    // A new child created in ADO comes in under its parent.
    let child = h.s.sim.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "Add latency panel"}),
        Some(wi),
    );
    for e in h.s.sim.drain_events() {
        h.deliver(&e).await.expect("delivered");
    }
    let task = &h.s.workspace.items[&h.s.host_id(&h.conn.id, child)];
    assert_eq!(
        task.parent.as_deref(),
        Some(h.s.host_id(&h.conn.id, wi).as_str())
    );
    // Deleted and restored.
    h.s.sim.user_delete(child).expect("delete");
    for e in h.s.sim.drain_events() {
        h.deliver(&e).await.expect("delivered");
    }
    assert!(!h
        .s
        .workspace
        .items
        .contains_key(&h.s.host_id(&h.conn.id, child)));
    h.s.sim.user_restore(child).expect("restore");
    for e in h.s.sim.drain_events() {
        h.deliver(&e).await.expect("delivered");
    }
    assert!(
        h.s.workspace
            .items
            .contains_key(&h.s.host_id(&h.conn.id, child)),
        "restored item comes back linked"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_serves_a_stream_of_deliveries_and_sees_each_mapping_change() {
    let mut h = hooked().await;
    let before = h.s.host.webhook_instances();
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    let host_id = h.s.host_id(&h.conn.id, wi);
    let edit = |h: &mut Hooked, fields: Value| {
        h.s.sim.user_update(wi, fields).expect("edit");
        h.s.sim.drain_events()
    };
    let effort = |h: &Hooked| {
        h.s.workspace.items[&host_id]
            .fields
            .iter()
            .find(|f| f.field == "effort")
            .and_then(|f| f.value.clone())
    };
    for e in edit(
        &mut h,
        json!({"Microsoft.VSTS.Scheduling.StoryPoints": 5.0}),
    ) {
        h.deliver(&e).await.expect("delivered");
    }
    assert_eq!(effort(&h), Some(FieldValue::Number(5.0)));
    // Between two deliveries the mapping changes: story points are no longer mapped. The next
    // delivery must follow the stored mapping, not one kept in memory from an earlier call.
    let mut mapping = h.s.host.get_mapping(&h.integration).await.expect("mapping");
    mapping.fields.retain(|f| f.host_field != "effort");
    h.s.host
        .set_mapping(&h.integration, &mapping)
        .await
        .expect("mapping changed");
    for e in edit(
        &mut h,
        json!({"Microsoft.VSTS.Scheduling.StoryPoints": 8.0, "System.Title": "Reopened"}),
    ) {
        h.deliver(&e).await.expect("delivered");
    }
    assert_eq!(h.s.workspace.items[&host_id].title, "Reopened");
    assert_eq!(
        effort(&h),
        Some(FieldValue::Number(5.0)),
        "an unmapped field no longer arrives"
    );
    // A bad delivery is a typed answer, not a failure of the instance: it stays in service.
    let bad = delivery(&h.path, None, b"{}".to_vec());
    assert!(h.s.host.handle_webhook(&bad).await.is_err());
    for e in edit(&mut h, json!({"System.Title": "After a bad one"})) {
        h.deliver(&e).await.expect("delivered");
    }
    assert_eq!(h.s.workspace.items[&host_id].title, "After a bad one");
    assert_eq!(
        h.s.host.webhook_instances() - before,
        1,
        "one instance served every delivery"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn our_own_writes_come_back_as_echoes_and_change_nothing() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Update profile details")
            .expect("seed");
    let host_id = h.s.host_id(&h.conn.id, wi);
    let mut item = h.s.workspace.items[&host_id].clone();
    item.title = "Update profile details and photo".into();
    h.s.apply(&[HostChange::Update(item)]);
    let pushed = h.s.push(&h.integration).await;
    assert_eq!(pushed.report.totals.updated, 1);
    let events = h.s.sim.drain_events();
    assert!(!events.is_empty(), "our PATCH fires a service hook");
    let before = h.s.workspace.clone();
    for e in &events {
        let out = h.deliver(e).await.expect("delivered");
        assert_eq!(out, WebhookOutcome::Ignored(IgnoredReason::Echo), "{e}");
    }
    assert_eq!(h.s.workspace, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_and_out_of_order_deliveries_end_in_the_same_state() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Push notifications for shipped orders")
            .expect("seed");
    h.s.sim
        .user_update(wi, json!({"System.Title": "Push notifications v1"}))
        .expect("edit 1");
    h.s.sim
        .user_update(
            wi,
            json!({"System.Title": "Push notifications v2", "System.State": "Closed"}),
        )
        .expect("edit 2");
    let events = h.s.sim.drain_events();
    assert_eq!(events.len(), 2);
    // Newest first, then the older one, then the newest again.
    for e in [&events[1], &events[0], &events[1]] {
        h.deliver(e).await.expect("delivered");
    }
    let item = &h.s.workspace.items[&h.s.host_id(&h.conn.id, wi)];
    assert_eq!(
        item.title, "Push notifications v2",
        "an older delivery never wins"
    );
    assert_eq!(item.status.as_deref(), Some("done"));
    let status = h.s.host.webhook_status(&h.conn.id).await.expect("status");
    assert_eq!(status.applied, 1);
    assert_eq!(status.ignored, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_deliveries_are_typed_and_change_nothing() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    h.s.sim
        .user_update(wi, json!({"System.Title": "Changed"}))
        .expect("edit");
    let good = h.s.sim.drain_events().remove(0);
    let auth = credential(&h.s, &good);
    let body = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
    let without = |key: &str| {
        let mut v = good.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove(key);
        }
        body(&v)
    };
    let no_resource = without("resource");
    let no_event = without("eventType");
    let no_containers = without("resourceContainers");
    let with = |pointer: &str, value: Value| {
        let mut v = good.clone();
        if let Some(slot) = v.pointer_mut(pointer) {
            *slot = value;
        }
        body(&v)
    };
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let wrong_path = "/webhooks/other-workspace/ado".to_string();
    let cases: Vec<(&str, WebhookRequest)> = vec![
        (
            "malformed JSON",
            delivery(&h.path, Some(&auth), b"{\"eventType\": ".to_vec()),
        ),
        ("empty body", delivery(&h.path, Some(&auth), vec![])),
        ("JSON array", delivery(&h.path, Some(&auth), b"[]".to_vec())),
        (
            "JSON string",
            delivery(&h.path, Some(&auth), b"\"workitem.updated\"".to_vec()),
        ),
        (
            "not UTF-8",
            delivery(&h.path, Some(&auth), vec![0xff, 0xfe, 0x00]),
        ),
        (
            "missing resource",
            delivery(&h.path, Some(&auth), no_resource),
        ),
        (
            "missing eventType",
            delivery(&h.path, Some(&auth), no_event),
        ),
        (
            "missing resourceContainers",
            delivery(&h.path, Some(&auth), no_containers),
        ),
        (
            "resource is a string",
            delivery(&h.path, Some(&auth), with("/resource", json!("x"))),
        ),
        (
            "workItemId is a string",
            delivery(
                &h.path,
                Some(&auth),
                with("/resource/workItemId", json!("12")),
            ),
        ),
        (
            "eventType is a number",
            delivery(&h.path, Some(&auth), with("/eventType", json!(7))),
        ),
        (
            "project id is null",
            delivery(
                &h.path,
                Some(&auth),
                with("/resourceContainers/project/id", Value::Null),
            ),
        ),
        (
            "negative work item id",
            delivery(
                &h.path,
                Some(&auth),
                with("/resource/workItemId", json!(-4)),
            ),
        ),
        (
            "wrong workspace id",
            delivery(&wrong_path, Some(&auth), body(&good)),
        ),
        (
            "no workspace in path",
            delivery("/webhooks/", Some(&auth), body(&good)),
        ),
        (
            "oversized body",
            delivery(&h.path, Some(&auth), vec![b' '; 2 * 1024 * 1024 + 1]),
        ),
        (
            "wrong content type",
            WebhookRequest {
                path: h.path.clone(),
                headers: vec![
                    ("content-type".into(), "text/plain".into()),
                    ("authorization".into(), auth.clone()),
                ],
                body: body(&good),
            },
        ),
        (
            "no content type",
            WebhookRequest {
                path: h.path.clone(),
                headers: vec![("authorization".into(), auth.clone())],
                body: body(&good),
            },
        ),
        ("missing credential", delivery(&h.path, None, body(&good))),
        (
            "wrong password",
            delivery(&h.path, Some(&basic("ado-sync", "guess")), body(&good)),
        ),
        (
            "wrong user",
            delivery(&h.path, Some(&basic("admin", "x")), body(&good)),
        ),
        (
            "bearer instead of basic",
            delivery(&h.path, Some("Bearer abc"), body(&good)),
        ),
        (
            "garbage credential",
            delivery(&h.path, Some("Basic !!!"), body(&good)),
        ),
        ("empty credential", delivery(&h.path, Some(""), body(&good))),
        (
            "user without password",
            delivery(&h.path, Some(&basic("ado-sync", "")), body(&good)),
        ),
        (
            "credential with extra text",
            delivery(&h.path, Some(&format!("{auth} extra")), body(&good)),
        ),
        (
            "truncated object",
            delivery(
                &h.path,
                Some(&auth),
                b"{\"eventType\":\"workitem.updated\",\"resource\":{".to_vec(),
            ),
        ),
        (
            "JSON null",
            delivery(&h.path, Some(&auth), b"null".to_vec()),
        ),
        (
            "JSON number",
            delivery(&h.path, Some(&auth), b"42".to_vec()),
        ),
        (
            "byte-order mark",
            delivery(
                &h.path,
                Some(&auth),
                [b"\xEF\xBB\xBF".to_vec(), body(&good)].concat(),
            ),
        ),
        (
            "resource is an array",
            delivery(&h.path, Some(&auth), with("/resource", json!([]))),
        ),
        (
            "resource is null",
            delivery(&h.path, Some(&auth), with("/resource", Value::Null)),
        ),
        (
            "resourceContainers is a string",
            delivery(
                &h.path,
                Some(&auth),
                with("/resourceContainers", json!("x")),
            ),
        ),
        (
            "project without id",
            delivery(
                &h.path,
                Some(&auth),
                with("/resourceContainers/project", json!({})),
            ),
        ),
        (
            "workItemId is a float",
            delivery(
                &h.path,
                Some(&auth),
                with("/resource/workItemId", json!(1.5)),
            ),
        ),
        (
            "workItemId is the smallest integer",
            delivery(
                &h.path,
                Some(&auth),
                with("/resource/workItemId", json!(i64::MIN)),
            ),
        ),
        (
            "path with a trailing slash",
            delivery(&format!("{}/", h.path), Some(&auth), body(&good)),
        ),
        (
            "path in another case",
            delivery(
                &h.path.replace("webhooks", "Webhooks"),
                Some(&auth),
                body(&good),
            ),
        ),
        (
            "XML content type",
            WebhookRequest {
                path: h.path.clone(),
                headers: vec![
                    ("content-type".into(), "application/xml".into()),
                    ("authorization".into(), auth.clone()),
                ],
                body: body(&good),
            },
        ),
    ];
    let ignored_cases: Vec<(&str, WebhookRequest, IgnoredReason)> = vec![
        (
            "unknown event type",
            delivery(&h.path, Some(&auth), with("/eventType", json!("git.push"))),
            IgnoredReason::EventNotHandled,
        ),
        (
            "commented event",
            delivery(
                &h.path,
                Some(&auth),
                with("/eventType", json!("workitem.commented")),
            ),
            IgnoredReason::EventNotHandled,
        ),
        (
            "unknown project",
            delivery(
                &h.path,
                Some(&auth),
                with(
                    "/resourceContainers/project/id",
                    json!("00000000-0000-0000-0000-000000000000"),
                ),
            ),
            IgnoredReason::ProjectNotIntegrated,
        ),
        (
            "build event",
            delivery(
                &h.path,
                Some(&auth),
                with("/eventType", json!("build.complete")),
            ),
            IgnoredReason::EventNotHandled,
        ),
        (
            "empty event type",
            delivery(&h.path, Some(&auth), with("/eventType", json!(""))),
            IgnoredReason::EventNotHandled,
        ),
    ];
    let sync_state = |s: &Scenario| s.storage_dump_except(&["webhook/", "history/"]);
    let before = sync_state(&h.s);
    let workspace = h.s.workspace.clone();
    for (name, req) in &cases {
        match h.s.host.handle_webhook(req).await {
            Err(CallError::Plugin(SyncError::BadPayload(_) | SyncError::AuthFailed(_))) => {}
            other => panic!("{name}: expected a typed rejection, got {other:?}"),
        }
    }
    for (name, req, reason) in &ignored_cases {
        match h.s.host.handle_webhook(req).await {
            Ok(WebhookOutcome::Ignored(r)) if r == *reason => {}
            other => panic!("{name}: expected ignored {reason:?}, got {other:?}"),
        }
    }
    assert!(
        cases.len() + ignored_cases.len() >= 40,
        "{} cases",
        cases.len() + ignored_cases.len()
    );
    assert_eq!(
        sync_state(&h.s),
        before,
        "a rejected or ignored delivery must not change sync state"
    );
    assert_eq!(h.s.workspace, workspace);
    let status = h.s.host.webhook_status(&h.conn.id).await.expect("status");
    assert!(
        status.rejected >= 4,
        "rejections with a known connection are counted: {status:?}"
    );
    assert!(status.last_error.is_some());
    // The good delivery still works afterwards.
    assert!(matches!(
        h.deliver(&good).await,
        Ok(WebhookOutcome::Applied(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn healing_re_enables_subscriptions_and_fills_the_gap() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    h.s.sim
        .user_update(wi, json!({"System.Title": "First"}))
        .expect("edit");
    for e in h.s.sim.drain_events() {
        h.deliver(&e).await.expect("delivered");
    }
    // ADO puts the subscriptions on probation; edits made meanwhile are never delivered.
    for s in h.s.sim.subscriptions() {
        h.s.sim
            .set_subscription_status(s["id"].as_str().unwrap_or_default(), "disabledBySystem");
    }
    let other =
        h.s.sim
            .find_by_title("Update profile details")
            .expect("seed");
    h.s.sim
        .user_update(other, json!({"System.Title": "Edited during the outage"}))
        .expect("edit");
    let lost = h.s.sim.drain_events();
    assert!(lost.is_empty(), "a disabled subscription delivers nothing");

    let healed = h.s.host.heal_webhook(&h.conn.id).await.expect("heal");
    assert_eq!(healed.recreated, 4);
    assert!(
        healed.subscriptions.iter().all(|s| s.status == "enabled"),
        "{:?}",
        healed.subscriptions
    );
    assert!(h
        .s
        .sim
        .subscriptions()
        .iter()
        .all(|s| s["status"] == "enabled"));
    assert!(healed.gap_filled >= 1, "{healed:?}");
    h.s.apply(&healed.changes);
    assert_eq!(
        h.s.workspace.items[&h.s.host_id(&h.conn.id, other)].title,
        "Edited during the outage"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sample_payloads_get_typed_outcomes() {
    let dir = std::env::var_os("ADO_REFERENCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/ado-reference/examples")
        });
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: ado-reference examples not found at {}",
            dir.display()
        );
        return;
    };
    let mut h = hooked().await;
    let project_id = h.s.sim.project_id("Fabrikam").expect("project id");
    let sub = h.s.sim.subscriptions()[0].clone();
    let auth = credential(&h.s, &json!({"subscriptionId": sub["id"]}));
    let mut seen = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("webhook-workitem.") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(mut sample) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        // Point the sample at the integrated project, as a real delivery for it would be.
        if let Some(project) = sample.pointer_mut("/resourceContainers/project/id") {
            *project = json!(project_id);
        }
        seen += 1;
        let req = delivery(
            &h.path,
            Some(&auth),
            serde_json::to_vec(&sample).unwrap_or_default(),
        );
        match h.s.host.handle_webhook(&req).await {
            Ok(WebhookOutcome::Applied(changes)) => h.s.apply(&changes),
            Ok(WebhookOutcome::Ignored(_)) | Err(CallError::Plugin(_)) => {}
            Err(CallError::Host(e)) => panic!("{name}: the host failed: {e}"),
        }
    }
    assert!(
        seen >= 4,
        "expected the created/updated/deleted/restored samples, saw {seen}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_edit_made_with_the_service_account_itself_is_applied() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("See order status on mobile")
            .expect("seed");
    // Someone uses the integration's own PAT in ADO (a script, or the UI as that account):
    // the change is real, though ChangedBy is the sync's own identity.
    let url = format!(
        "{}/Fabrikam/_apis/wit/workitems/{wi}?api-version=7.1",
        h.s.sim.org_url()
    );
    let rev =
        h.s.sim
            .work_item(wi)
            .and_then(|w| w["rev"].as_i64())
            .expect("rev");
    let patch = json!([
        {"op": "test", "path": "/rev", "value": rev},
        {"op": "add", "path": "/fields/System.Title", "value": "Order status on mobile and web"}
    ]);
    let answer = ado_sync_host::http_client::send(
        "PATCH",
        &url,
        &[
            (
                "authorization".into(),
                ado_sync_host::http_client::basic_auth("", ado_sync_host::ado_sim::AdoSim::PAT),
            ),
            ("content-type".into(), "application/json-patch+json".into()),
        ],
        serde_json::to_vec(&patch).unwrap_or_default(),
        std::time::Duration::from_secs(10),
    )
    .await
    .expect("PATCH sent");
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    let events = h.s.sim.drain_events();
    assert_eq!(events.len(), 1);
    let changed_by = events[0]
        .pointer("/resource/revision/fields/System.ChangedBy")
        .cloned()
        .unwrap_or_default();
    assert!(
        changed_by
            .to_string()
            .contains("sync-service@contoso.example"),
        "{changed_by}"
    );
    let out = h.deliver(&events[0]).await.expect("delivered");
    assert!(
        matches!(out, WebhookOutcome::Applied(_)),
        "not mistaken for an echo: {out:?}"
    );
    assert_eq!(
        h.s.workspace.items[&h.s.host_id(&h.conn.id, wi)].title,
        "Order status on mobile and web"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_storage_lose_no_update() {
    let mut h = hooked().await;
    // A second instance of the component over the same storage and vault.
    let second = h.s.host.clone();
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    h.s.sim
        .user_update(wi, json!({"System.Title": "Edit one"}))
        .expect("edit 1");
    h.s.sim
        .user_update(
            wi,
            json!({"System.Title": "Edit two", "System.State": "Closed"}),
        )
        .expect("edit 2");
    let events = h.s.sim.drain_events();
    assert_eq!(events.len(), 2);
    let requests: Vec<WebhookRequest> = events.iter().map(|e| h.request(e)).collect();
    // Deliver both at once on two instances, newest on the first; a conflict is retried, as ADO
    // retries a failed delivery.
    let timed = |host: ado_sync_host::PluginHost, req: WebhookRequest| async move {
        let out = host.handle_webhook(&req).await;
        (out, std::time::Instant::now(), req)
    };
    let (a, b) = tokio::join!(
        timed(h.s.host.clone(), requests[1].clone()),
        timed(second, requests[0].clone())
    );
    // The host applies results in the order the calls complete: the ones that went through first,
    // then the ones retried after a conflict.
    let mut done = vec![a, b];
    done.sort_by_key(|(_, at, _)| *at);
    let mut applied = Vec::new();
    let mut retry = Vec::new();
    for (out, _, req) in done {
        match out {
            Err(CallError::Plugin(SyncError::Conflict(_))) => retry.push(req),
            Ok(WebhookOutcome::Applied(changes)) => applied.push(changes),
            Ok(WebhookOutcome::Ignored(_)) => {}
            Err(e) => panic!("unexpected failure: {e:?}"),
        }
    }
    for req in retry {
        if let WebhookOutcome::Applied(changes) =
            h.s.host.handle_webhook(&req).await.expect("retried")
        {
            applied.push(changes);
        }
    }
    // The host applies what each instance returned; the newest revision wins whatever the order.
    for changes in &applied {
        h.s.apply(changes);
    }
    let newest =
        h.s.sim
            .work_item(wi)
            .and_then(|w| w["rev"].as_i64())
            .expect("rev");
    let link =
        h.s.storage_dump()
            .lines()
            .find(|l| l.starts_with(&format!("link/{}/wi/{:012}=", h.conn.id, wi)))
            .map(str::to_string)
            .expect("link record");
    let record: Value =
        serde_json::from_str(link.split_once('=').map(|(_, v)| v).unwrap_or("{}")).expect("json");
    assert_eq!(
        record["ado_rev"].as_i64(),
        Some(newest),
        "the link holds the newest revision"
    );
    assert_eq!(record["base"]["title"], "Edit two");
    if applied.len() == 2 {
        // Both were applied: the older one must not have been applied after the newer one.
        let last_title = match applied.last().and_then(|c| c.first()) {
            Some(HostChange::Update(i) | HostChange::Create(i)) => i.title.clone(),
            Some(HostChange::Patch(p)) => p.item.title.clone(),
            _ => String::new(),
        };
        assert_eq!(last_title, "Edit two");
    }
    assert_eq!(
        h.s.workspace.items[&h.s.host_id(&h.conn.id, wi)].title,
        "Edit two"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_gives_each_delivery_its_own_result_and_the_same_final_state() {
    let mut h = hooked().await;
    let a =
        h.s.sim
            .find_by_title("Push notifications for shipped orders")
            .expect("seed");
    let b =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    h.s.sim
        .user_update(a, json!({"System.Title": "A v1"}))
        .expect("edit a1");
    h.s.sim
        .user_update(a, json!({"System.Title": "A v2", "System.State": "Closed"}))
        .expect("edit a2");
    h.s.sim
        .user_update(b, json!({"System.Title": "B v1"}))
        .expect("edit b1");
    let events = h.s.sim.drain_events();
    assert_eq!(events.len(), 3);
    let body = |e: &Value| serde_json::to_vec(e).unwrap_or_default();
    let good = |e: &Value| h.request(e);
    let batch = vec![
        good(&events[1]), // A's newest: applied
        good(&events[0]), // A's older: duplicate
        delivery(&h.path, Some("Basic d3Jvbmc6d3Jvbmc="), body(&events[2])), // wrong credential
        delivery(
            &h.path,
            Some(&credential(&h.s, &events[2])),
            b"{not json".to_vec(),
        ),
        good(&events[2]), // B: applied
        good(&events[1]), // A's newest again
    ];
    let results =
        h.s.host
            .handle_webhooks(&batch)
            .await
            .expect("the call runs");
    assert_eq!(results.len(), batch.len(), "one result per delivery");
    assert!(
        matches!(&results[0], Ok(WebhookOutcome::Applied(c)) if c.len() == 1),
        "{:?}",
        results[0]
    );
    assert_eq!(
        results[1],
        Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate))
    );
    assert!(
        matches!(&results[2], Err(SyncError::AuthFailed(_))),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(&results[3], Err(SyncError::BadPayload(_))),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(&results[4], Ok(WebhookOutcome::Applied(c)) if c.len() == 1),
        "{:?}",
        results[4]
    );
    assert!(
        matches!(&results[5], Ok(WebhookOutcome::Ignored(_))),
        "{:?}",
        results[5]
    );
    for r in results.iter().flatten() {
        if let WebhookOutcome::Applied(changes) = r {
            h.s.apply(changes);
        }
    }
    let item = |id| h.s.workspace.items[&h.s.host_id(&h.conn.id, id)].clone();
    assert_eq!(item(a).title, "A v2");
    assert_eq!(item(a).status.as_deref(), Some("done"));
    assert_eq!(item(b).title, "B v1");
    // The counters of the whole batch, written once (a body that is not JSON names no project,
    // so no connection counts it).
    let status = h.s.host.webhook_status(&h.conn.id).await.expect("status");
    assert!(status.connected);
    assert_eq!(
        (status.applied, status.ignored, status.rejected),
        (2, 2, 1),
        "{status:?}"
    );
    // Each delivery again, one call each: nothing new (the batch left the same state).
    for d in &batch {
        if let Ok(WebhookOutcome::Applied(c)) = h.s.host.handle_webhook(d).await {
            panic!("a re-delivery after the batch applied {c:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn parents_in_one_batch_are_right_for_new_siblings_moves_and_parents_created_in_it() {
    let mut h = hooked().await;
    let old_parent =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    let new_parent =
        h.s.sim
            .find_by_title("Push notifications for shipped orders")
            .expect("seed");
    let s = &h.s.sim;
    let first = s.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "First"}),
        Some(old_parent),
    );
    let second = s.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "Second"}),
        Some(old_parent),
    );
    // Moved after its sibling's parent was looked up in the same call.
    s.user_update(first, json!({"System.Parent": new_parent}))
        .expect("move");
    // A parent created in the same batch, then its child: the parent is linked only once its
    // own delivery has been handled.
    let story = s.user_create(
        "Fabrikam",
        "User Story",
        json!({"System.Title": "New story"}),
        None,
    );
    let under_it = s.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "Under it"}),
        Some(story),
    );
    // Each create and move also updates the parents' links: those deliveries are in the batch too.
    let events = s.drain_events();
    assert!(events.len() >= 5, "{}", events.len());
    let batch: Vec<WebhookRequest> = events.iter().map(|e| h.request(e)).collect();
    let results =
        h.s.host
            .handle_webhooks(&batch)
            .await
            .expect("the call runs");
    for r in &results {
        match r {
            Ok(WebhookOutcome::Applied(changes)) => h.s.apply(changes),
            Ok(WebhookOutcome::Ignored(_)) => {}
            Err(e) => panic!("every delivery is handled: {e:?}"),
        }
    }
    let parent_of = |id| {
        h.s.workspace.items[&h.s.host_id(&h.conn.id, id)]
            .parent
            .clone()
    };
    let host = |id| Some(h.s.host_id(&h.conn.id, id));
    assert_eq!(parent_of(first), host(new_parent), "moved");
    assert_eq!(parent_of(second), host(old_parent), "its sibling stays");
    assert_eq!(
        parent_of(under_it),
        host(story),
        "under the parent made in the batch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_edit_not_pushed_yet_survives_an_ado_edit_arriving_by_webhook() {
    let mut h = hooked().await;
    let wi =
        h.s.sim
            .find_by_title("Dashboards for error rates")
            .expect("seed");
    let host_id = h.s.host_id(&h.conn.id, wi);
    // The host renames the item; it has not pushed yet.
    let mut local = h.s.workspace.items[&host_id].clone();
    local.title = "Error-rate dashboards (host wording)".into();
    h.s.apply(&[HostChange::Update(local)]);
    // Meanwhile ADO closes it; the delivery reaches the host.
    h.s.sim
        .user_update(wi, json!({"System.State": "Closed"}))
        .expect("close in ADO");
    let events = h.s.sim.drain_events();
    let out = h.deliver(&events[0]).await.expect("delivered");
    match &out {
        WebhookOutcome::Applied(changes) => assert!(
            matches!(changes.as_slice(), [HostChange::Patch(p)] if p.parts == ["status"]),
            "only the status is news: {changes:?}"
        ),
        other => panic!("{other:?}"),
    }
    let item = &h.s.workspace.items[&host_id];
    assert_eq!(item.status.as_deref(), Some("done"), "ADO's change arrived");
    assert_eq!(
        item.title, "Error-rate dashboards (host wording)",
        "the host's unpushed edit survived"
    );
    // The next push carries the host's title to ADO; nothing is lost on either side.
    h.s.push(&h.integration).await;
    let in_ado = h.s.sim.work_item(wi).expect("exists");
    assert_eq!(
        in_ado["fields"]["System.Title"],
        "Error-rate dashboards (host wording)"
    );
    assert_eq!(in_ado["fields"]["System.State"], "Closed");
}
