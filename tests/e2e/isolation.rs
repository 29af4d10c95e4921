//! Guest isolation: a call past its deadline, a guest that outgrows its memory limit, a trap in
//! the guest, and an egress attempt outside the allow-list each give the host a typed error; the
//! host survives and the next call works.

use ado_sync_e2e::*;
use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::api::*;
use ado_sync_host::imports::secrets::MemoryVault;
use ado_sync_host::imports::storage::MemoryStorage;
use ado_sync_host::{CallError, HostError, Limits, PluginHost, Runtime};
use std::sync::Arc;
use std::time::Duration;

async fn host_with(limits: Limits, sim: &AdoSim) -> PluginHost {
    let runtime =
        Arc::new(Runtime::load(&ado_sync_host::component_path(), limits).expect("component"));
    let host = PluginHost::with_runtime(
        runtime,
        Arc::new(MemoryStorage::new()),
        Arc::new(MemoryVault::new()),
    );
    host.redirect(CLOUD_URL, &sim.uri());
    host.set_workspace_schema(&ado_sync_host::workspace::sample::schema(WORKSPACE_ID))
        .await
        .expect("schema");
    host
}

/// Connect, add Fabrikam and store the proposed mapping; the integration id.
async fn integrate(host: &PluginHost) -> String {
    let conn = host
        .connect("Contoso", &cloud(AdoSim::PAT))
        .await
        .expect("connect");
    let project = host
        .add_project(&conn.id, "Fabrikam", "Fabrikam")
        .await
        .expect("project");
    let mapping = host
        .propose_mapping(&project.id, false)
        .await
        .expect("propose");
    host.set_mapping(&project.id, &mapping).await.expect("map");
    project.id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_deadline_is_interrupted_and_the_next_call_works() {
    let sim = AdoSim::start_seeded().await;
    let limits = Limits {
        call_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let host = host_with(limits, &sim).await;
    let project = integrate(&host).await;
    // ADO hangs for longer than the call may run.
    sim.faults().delay("wiql", 1, 1_500);
    let err = host
        .sync_once(&sync_request(&project, SyncDirection::AdoToHost))
        .await
        .unwrap_err();
    assert_eq!(err, CallError::Host(HostError::Deadline), "{err:?}");
    let ok = host
        .sync_once(&sync_request(&project, SyncDirection::AdoToHost))
        .await
        .expect("next call works");
    assert_eq!(ok.report.totals.created, 17);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_outgrows_its_memory_gets_a_typed_error() {
    let sim = AdoSim::start_seeded().await;
    let small = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    let host = host_with(small, &sim).await;
    integrate(&host).await;
    // A webhook body of 2 MB held several times over does not fit in 4 MiB.
    let path = host.webhook_path().await.expect("path");
    let mut body = b"{\"eventType\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024 - 64));
    body.extend(b"\"}");
    let request = WebhookRequest {
        path,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    };
    let err = host.handle_webhook(&request).await.unwrap_err();
    assert!(
        matches!(err, CallError::Host(HostError::MemoryLimit)),
        "{err:?}"
    );
    // The host is fine, and the next (small) call succeeds.
    let listed = host.list_connections().await.expect("next call works");
    assert_eq!(listed.len(), 1);
}

/// A delivery the plugin answers with a typed bad payload: an answer, not a failure of the
/// instance.
async fn typed_bad_payload(host: &PluginHost, request: &WebhookRequest) {
    let typed = host.handle_webhook(request).await.unwrap_err();
    assert!(
        matches!(typed, CallError::Plugin(SyncError::BadPayload(_))),
        "{typed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_in_the_guest_is_typed_and_the_next_call_works() {
    let sim = AdoSim::start_seeded().await;
    // A tight native stack for guest code: deep recursion in the guest (serde parsing a body
    // nested 120 deep, which the default stack takes) exhausts it and the guest traps.
    let tight = Limits {
        max_wasm_stack: 16 << 10,
        ..Limits::default()
    };
    let host = host_with(tight, &sim).await;
    integrate(&host).await;
    let path = host.webhook_path().await.expect("path");
    let delivery = |body: Vec<u8>| WebhookRequest {
        path: path.clone(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body,
    };
    // A call that answers normally leaves its instance kept for the next webhook call; the
    // trap below happens in that kept instance.
    typed_bad_payload(&host, &delivery(b"{\"eventType\": 1}".to_vec())).await;
    assert_eq!(host.webhook_instances(), 1);
    let storage_before = host.storage().dump().expect("dump");
    let nested = format!("{}{}", "[".repeat(120), "]".repeat(120)).into_bytes();
    let err = host
        .handle_webhook(&delivery(nested.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Host(HostError::Trap(m)) if m.contains("call stack exhausted")),
        "{err:?}"
    );
    assert_eq!(
        host.storage().dump().expect("dump"),
        storage_before,
        "nothing half-written"
    );
    // The host survives: the next calls on the same host work.
    let conns = host.list_connections().await.expect("next call works");
    assert_eq!(conns.len(), 1);
    typed_bad_payload(&host, &delivery(b"{\"eventType\": 1}".to_vec())).await;
    assert_eq!(
        host.webhook_instances(),
        2,
        "the trapped instance was dropped, not kept"
    );
    // With the default stack the same body is a typed bad payload, not a trap.
    let roomy = host_with(Limits::default(), &sim).await;
    integrate(&roomy).await;
    typed_bad_payload(&roomy, &delivery(nested)).await;
}
