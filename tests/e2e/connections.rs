//! Connection lifecycle through the real component: update credentials without losing links,
//! rename, disconnect (and a reconnect that starts afresh), permission errors, proposed mappings
//! per process, and a full scenario whose storage, logs, errors and reports hold no secret.

use ado_sync_e2e::*;
use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::api::*;
use ado_sync_host::CallError;
use base64::Engine as _;
use std::io::Write;
use std::sync::{Arc, Mutex};

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

fn link_count(s: &Scenario, conn: &str) -> usize {
    s.storage_dump()
        .lines()
        .filter(|l| l.starts_with(&format!("link/{conn}/wi/")))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_credentials_keeps_links_and_never_uses_the_old_secret_again() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let links = link_count(&s, &conn.id);
    assert_eq!(links, 17);

    let wrong = s
        .host
        .update_connection(&conn.id, &cloud("expired-or-wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, CallError::Plugin(SyncError::AuthFailed(_))),
        "{wrong:?}"
    );
    let moved = s
        .host
        .update_connection(
            &conn.id,
            &ConnectionTarget::Cloud(CloudCredentials {
                url: "https://dev.azure.com/other".into(),
                email: "a@b.c".into(),
                pat: "x".into(),
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(moved, CallError::Plugin(SyncError::InvalidConfig(_))),
        "{moved:?}"
    );

    let updated = s
        .host
        .update_connection(&conn.id, &cloud(AdoSim::READONLY_PAT))
        .await
        .expect("update");
    assert!(!conn.credentials_checked_at.is_empty());
    assert!(
        updated.credentials_checked_at > conn.credentials_checked_at,
        "the check time moves on update"
    );
    assert_eq!(updated.id, conn.id);
    assert_eq!(updated.integrations, vec![integration.clone()]);
    assert_eq!(
        link_count(&s, &conn.id),
        links,
        "links survive a credential update"
    );
    s.sim.clear_requests();
    let again = s.pull(&integration).await;
    assert_eq!(
        again.report.totals.unchanged, 17,
        "nothing is re-created after the update"
    );
    let auth: Vec<String> = s
        .sim
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert!(!auth.is_empty());
    assert!(
        auth.iter().all(|a| *a == basic("", AdoSim::READONLY_PAT)),
        "the old PAT must never be sent again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_and_disconnect_then_reconnect_starts_afresh() {
    let mut s = Scenario::start().await;
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    s.pull(&integration).await;
    let other = s
        .host
        .connect(
            "Server",
            &onprem(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD),
        )
        .await
        .expect("second connection");
    let taken = s
        .host
        .rename_connection(&conn.id, "server")
        .await
        .unwrap_err();
    assert!(
        matches!(taken, CallError::Plugin(SyncError::Conflict(_))),
        "{taken:?}"
    );
    let renamed = s
        .host
        .rename_connection(&conn.id, "Contoso cloud")
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Contoso cloud");
    assert_eq!(link_count(&s, &conn.id), 17, "renaming keeps links");

    s.host.disconnect(&conn.id).await.expect("disconnect");
    let dump = s.storage_dump();
    assert!(
        !dump.contains(&conn.id),
        "everything of the connection is gone:\n{dump}"
    );
    assert!(!dump.contains(&integration));
    assert!(
        dump.contains(&other.id),
        "the other connection is untouched"
    );
    let err = s
        .host
        .sync_once(&sync_request(&integration, SyncDirection::AdoToHost))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Plugin(SyncError::NotFound(_))),
        "{err:?}"
    );

    let back = s
        .host
        .connect("Contoso", &cloud(AdoSim::PAT))
        .await
        .expect("reconnect");
    assert_ne!(back.id, conn.id);
    let project = s
        .host
        .add_project(&back.id, "Fabrikam", "Fabrikam")
        .await
        .expect("project");
    assert!(!project.mapped, "old mappings are not restored");
    assert_eq!(link_count(&s, &back.id), 0, "old links are not restored");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_permissions_and_unknown_instances_are_typed() {
    let s = Scenario::start().await;
    let unknown = s
        .host
        .connect(
            "Nope",
            &ConnectionTarget::Cloud(CloudCredentials {
                url: "https://dev.azure.com/unknown-org".into(),
                email: "a@b.c".into(),
                pat: AdoSim::PAT.into(),
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, CallError::Plugin(SyncError::NotFound(ref m)) if m.contains("unknown-org")),
        "{unknown:?}"
    );
    let conn = s
        .host
        .connect("Reader", &cloud(AdoSim::READONLY_PAT))
        .await
        .expect("read-only connect works");
    let reader = s
        .host
        .add_project(&conn.id, "Fabrikam", "Fabrikam")
        .await
        .expect("project");
    assert!(
        !reader.can_write,
        "a read-only token is found out when the project is added"
    );
    let mapping = s
        .host
        .propose_mapping(&reader.id, false)
        .await
        .expect("propose");
    s.host.set_mapping(&reader.id, &mapping).await.expect("map");
    // ADO -> host works; host -> ADO stops before writing anything, with the reason.
    s.sim.clear_requests();
    let mut pull = sync_request(&reader.id, SyncDirection::AdoToHost);
    pull.dry_run = true;
    s.host.sync_once(&pull).await.expect("reading works");
    let mut items = s.workspace.item_list();
    items.truncate(3);
    let push = SyncRequest {
        host_items: items,
        ..sync_request(&reader.id, SyncDirection::HostToAdo)
    };
    let denied = s.host.sync_once(&push).await.unwrap_err();
    assert!(
        matches!(&denied, CallError::Plugin(SyncError::PermissionDenied(m)) if m.contains("vso.work_write")),
        "{denied:?}"
    );
    let writes: Vec<String> = s
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.method != "GET" && !r.path.ends_with("/wiql") && !r.path.ends_with("workitemsbatch")
        })
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert!(
        writes.iter().all(|w| w.contains("validateOnly=true")),
        "only validate-only probes: {writes:?}"
    );
    let outcome = s
        .host
        .provision_webhook(&conn.id, "https://sync.acme.example")
        .await
        .expect("provision answers");
    let steps = outcome
        .manual_steps
        .expect("manual steps when hooks may not be created");
    assert!(
        steps.contains("https://sync.acme.example/webhooks/ws-acme/ado"),
        "{steps}"
    );
    assert!(steps.contains("workitem.updated"));
    assert!(s.sim.subscriptions().is_empty());
    let missing = s
        .host
        .add_project(&conn.id, "Nowhere", "No such project")
        .await
        .unwrap_err();
    assert!(
        matches!(missing, CallError::Plugin(SyncError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scrum_projects_get_their_own_estimate_field_and_levels() {
    let s = Scenario::start().await;
    let conn = s.connect_cloud().await;
    let integration = s
        .host
        .add_project(&conn.id, "Tailspin", "Tailspin")
        .await
        .expect("scrum project");
    let discovery = s.host.discover(&integration.id).await.expect("discover");
    let pbi = discovery
        .work_item_types
        .iter()
        .find(|t| t.name == "Product Backlog Item")
        .expect("PBI");
    assert_eq!(pbi.level, Some(2));
    assert!(pbi
        .states
        .iter()
        .any(|st| st.name == "Committed" && st.category == StatusCategory::InProgress));
    assert!(discovery
        .iterations
        .iter()
        .any(|i| i.path == "Tailspin\\Sprint 1"));
    let below = s
        .host
        .propose_mapping(&integration.id, false)
        .await
        .expect("propose");
    assert!(below
        .types
        .iter()
        .any(|t| t.ado_type == "Product Backlog Item" && t.host_type == "story"));
    assert!(below
        .types
        .iter()
        .any(|t| t.ado_type == "Epic" && t.host_type == "epic"));
    assert!(below
        .fields
        .iter()
        .any(|f| f.host_field == "effort" && f.ado_field == "Microsoft.VSTS.Scheduling.Effort"));
    s.host
        .set_mapping(&integration.id, &below)
        .await
        .expect("the proposal validates");
    let top = s
        .host
        .propose_mapping(&integration.id, true)
        .await
        .expect("propose at product level");
    assert!(
        top.types
            .iter()
            .any(|t| t.ado_type == "Epic" && t.host_type == "product"),
        "{:?}",
        top.types
    );
    assert!(top
        .types
        .iter()
        .any(|t| t.ado_type == "Product Backlog Item" && t.host_type == "feature"));
}

/// Collects everything the harness logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_storage_logs_errors_or_reports_of_a_full_scenario() {
    let logs = Captured::default();
    let writer = logs.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            "trace,cranelift=info,wasmtime=info,wasmtime_cranelift=info,hyper=info,h2=info",
        )
        .with_writer(move || writer.clone())
        .try_init();
    let mut s = Scenario::start().await;
    let mut evidence = String::new();
    // Failures first: their messages must not echo what was sent.
    for target in [
        cloud("sim-pat-WRONG-recognisable-0000000000"),
        onprem(AdoSim::ONPREM_USER, "WrongPassword-recognisable"),
    ] {
        let err = s.host.connect("Bad", &target).await.unwrap_err();
        evidence.push_str(&format!("{err:?}\n{err}\n"));
    }
    let (conn, integration) = s.integrate("Fabrikam", false).await;
    let server = s
        .host
        .connect(
            "Server",
            &onprem(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD),
        )
        .await
        .expect("on-prem");
    s.host
        .add_project(&server.id, "Tailspin", "Tailspin")
        .await
        .expect("project");
    evidence.push_str(&format!("{:?}", s.pull(&integration).await.report));
    let provisioned = s
        .host
        .provision_webhook(&conn.id, "https://sync.acme.example")
        .await
        .expect("provision");
    evidence.push_str(&format!("{provisioned:?}"));
    let wi = s
        .sim
        .find_by_title("Dashboards for error rates")
        .expect("seed");
    s.sim
        .user_update(wi, serde_json::json!({"System.Title": "Changed"}))
        .expect("edit");
    let path = s.host.webhook_path().await.expect("path");
    for e in s.sim.drain_events() {
        let req = WebhookRequest {
            path: path.clone(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&e).unwrap_or_default(),
        };
        evidence.push_str(&format!("{:?}", s.host.handle_webhook(&req).await));
    }
    evidence.push_str(&format!(
        "{:?}",
        s.host
            .update_connection(&conn.id, &cloud(AdoSim::PAT))
            .await
    ));
    evidence.push_str(&format!("{:?}", s.host.list_connections().await));
    evidence.push_str(&format!("{:?}", s.host.egress_log()));
    evidence.push_str(&format!("{:?}", s.host.webhook_status(&conn.id).await));
    let dump = s.storage_dump();
    let log_text =
        String::from_utf8_lossy(&logs.0.lock().map(|l| l.clone()).unwrap_or_default()).to_string();
    assert!(log_text.len() > 100, "the scenario logged something");
    let secrets = [
        AdoSim::PAT.to_string(),
        AdoSim::ONPREM_PASSWORD.to_string(),
        "sim-pat-WRONG-recognisable-0000000000".to_string(),
        "WrongPassword-recognisable".to_string(),
        basic("", AdoSim::PAT)
            .trim_start_matches("Basic ")
            .to_string(),
        basic(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD)
            .trim_start_matches("Basic ")
            .to_string(),
    ];
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "secret in storage");
        assert!(!log_text.contains(secret.as_str()), "secret in logs");
        assert!(
            !evidence.contains(secret.as_str()),
            "secret in results or errors"
        );
    }
    // The delivery credential is a secret too: it lives in the vault, not in storage.
    let inputs = s
        .sim
        .subscription_consumer_inputs(s.sim.subscriptions()[0]["id"].as_str().unwrap_or_default())
        .expect("subscription");
    let delivery = inputs["basicAuthPassword"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(delivery.len() >= 32);
    assert!(!dump.contains(&delivery));
    assert!(!log_text.contains(&delivery));
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_project_takes_its_links_and_leaves_the_others() {
    let mut s = Scenario::start().await;
    let (conn, fabrikam) = s.integrate("Fabrikam", false).await;
    let tailspin = s
        .host
        .add_project(&conn.id, "Tailspin", "Tailspin")
        .await
        .expect("second project");
    let mapping = s
        .host
        .propose_mapping(&tailspin.id, false)
        .await
        .expect("propose");
    s.host
        .set_mapping(&tailspin.id, &mapping)
        .await
        .expect("map");
    s.pull(&fabrikam).await;
    s.pull(&tailspin.id).await;
    let both = link_count(&s, &conn.id);
    assert!(both > 17, "links of both projects: {both}");
    s.host.remove_project(&fabrikam).await.expect("remove");
    assert_eq!(
        link_count(&s, &conn.id),
        both - 17,
        "only Fabrikam's links go"
    );
    let dump = s.storage_dump();
    assert!(!dump.contains(&format!("mapping/{fabrikam}")));
    assert!(
        !dump.contains(&format!("discovery/{fabrikam}")),
        "the discovery and its sync view go"
    );
    assert!(!dump.contains(&format!("integration/{fabrikam}")));
    let projects = s.host.list_projects().await.expect("list");
    assert_eq!(
        projects.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![tailspin.id.clone()]
    );
    assert!(projects[0].mapped);
    let again = s.pull(&tailspin.id).await;
    assert_eq!(
        again.report.totals.created, 0,
        "the other project's links are intact"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_hosts_and_failed_tls_handshakes_are_told_apart() {
    let s = Scenario::start().await;
    let onprem = |url: &str| {
        ConnectionTarget::OnPrem(OnPremCredentials {
            collection_url: url.into(),
            username: AdoSim::ONPREM_USER.into(),
            password: AdoSim::ONPREM_PASSWORD.into(),
        })
    };
    let before = s.storage_dump();

    // Nothing listens on the port: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let refused_url = "https://refused.fabrikam.example/tfs/DefaultCollection";
    s.host
        .redirect(refused_url, &format!("http://127.0.0.1:{closed_port}"));
    let refused = s
        .host
        .connect("Refused", &onprem(refused_url))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CallError::Plugin(SyncError::Unreachable(_))),
        "{refused:?}"
    );

    // A server that does not speak TLS on an https URL (a plain-HTTP port, or a proxy in the
    // way): the handshake fails, and that is its own kind, not "unreachable".
    let tls_url = "https://tls.fabrikam.example/tfs/DefaultCollection";
    s.host
        .redirect(tls_url, &s.sim.uri().replacen("http://", "https://", 1));
    let tls = s.host.connect("Tls", &onprem(tls_url)).await.unwrap_err();
    assert!(
        matches!(&tls, CallError::Plugin(SyncError::TlsFailed(m)) if m.contains("Tls")),
        "{tls:?}"
    );
    assert!(
        !format!("{tls:?}{refused:?}").contains(AdoSim::ONPREM_PASSWORD),
        "no secret in the errors"
    );
    assert_eq!(
        s.storage_dump(),
        before,
        "nothing stored by a failed connect"
    );

    // The same simulator over plain HTTP connects: the failure was the handshake alone.
    s.host.redirect(tls_url, &s.sim.uri());
    s.host
        .connect("Tls", &onprem(tls_url))
        .await
        .expect("connects once the transport is right");
}
