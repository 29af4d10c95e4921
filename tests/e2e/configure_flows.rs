//! Connections and mappings through the real component: typed failures, nothing stored on
//! failure, secrets never stored in plain text, egress limited to configured origins.

use ado_sync_e2e::*;
use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::api::*;
use ado_sync_host::CallError;

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_checked_and_failures_are_typed_and_store_nothing() {
    let s = Scenario::start().await;
    let before = s.storage_dump();
    let wrong = s
        .host
        .connect("Contoso", &cloud("not-a-valid-pat"))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, CallError::Plugin(SyncError::AuthFailed(_))),
        "{wrong:?}"
    );
    let expired = s
        .host
        .connect("Contoso", &cloud(AdoSim::EXPIRED_PAT))
        .await
        .unwrap_err();
    assert!(
        matches!(&expired, CallError::Plugin(SyncError::AuthFailed(m)) if m.contains("203")),
        "{expired:?}"
    );
    let bad_url = s
        .host
        .connect(
            "Contoso",
            &ConnectionTarget::Cloud(CloudCredentials {
                url: "https://example.com/x".into(),
                email: "a@b.c".into(),
                pat: "p".into(),
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&bad_url, CallError::Plugin(SyncError::InvalidConfig(f)) if f.field == "target.url"),
        "{bad_url:?}"
    );
    assert_eq!(
        s.storage_dump(),
        before,
        "a failed connect must store nothing"
    );
    assert!(!before.contains("not-a-valid-pat"));

    let conn = s
        .host
        .connect(" Contoso ", &cloud(AdoSim::PAT))
        .await
        .expect("connect");
    assert_eq!(conn.base_url, CLOUD_URL);
    assert_eq!(conn.name, "Contoso");
    let dup = s
        .host
        .connect(
            "contoso",
            &onprem(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(dup, CallError::Plugin(SyncError::Conflict(_))),
        "{dup:?}"
    );
    let dump = s.storage_dump();
    assert!(!dump.contains(AdoSim::PAT), "PAT stored in plain text");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_prem_connections_use_basic_auth_and_serve_several_projects() {
    let s = Scenario::start().await;
    let conn = s
        .host
        .connect(
            "Server",
            &onprem(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD),
        )
        .await
        .expect("connect");
    assert_eq!(conn.kind, InstanceKind::OnPrem);
    let a = s
        .host
        .add_project(&conn.id, "Fabrikam board", "Fabrikam")
        .await
        .expect("first project");
    let b = s
        .host
        .add_project(&conn.id, "Tailspin board", "Tailspin")
        .await
        .expect("second project");
    assert_eq!(a.process, "Agile");
    assert_eq!(b.process, "Scrum");
    assert!(a.can_write && b.can_write, "a full-access user may write");
    let probes: Vec<_> = s
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("validateOnly=true"))
        .collect();
    assert_eq!(probes.len(), 2, "one validate-only probe per project");
    assert!(s.sim.work_item_ids().iter().all(|id| s
        .sim
        .work_item(*id)
        .is_some_and(|w| w["fields"]["System.Title"] != "ado-sync write check")));
    let same_name = s
        .host
        .add_project(&conn.id, "fabrikam BOARD", "Tailspin")
        .await
        .unwrap_err();
    assert!(matches!(
        same_name,
        CallError::Plugin(SyncError::Conflict(_))
    ));
    let listed = s.host.list_connections().await.expect("list");
    assert_eq!(listed[0].integrations.len(), 2);
    let dump = s.storage_dump();
    assert!(
        !dump.contains(AdoSim::ONPREM_PASSWORD),
        "password stored in plain text"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mapping_errors_name_the_field_and_both_types() {
    let s = Scenario::start().await;
    let (_, integration) = s.integrate("Fabrikam", false).await;
    let discovery = s.host.discover(&integration).await.expect("discover");
    let risk = discovery
        .fields
        .iter()
        .find(|f| f.reference_name == "Custom.Risk")
        .expect("custom picklist");
    assert_eq!(risk.kind, FieldKind::SingleSelect);
    let mut values = risk.allowed_values.clone();
    values.sort();
    assert_eq!(values, ["High", "Low", "Medium"]);
    let points = discovery
        .fields
        .iter()
        .find(|f| f.reference_name == "Microsoft.VSTS.Scheduling.StoryPoints")
        .expect("points");
    assert_eq!(
        (points.kind, points.ado_type.as_str()),
        (FieldKind::Number, "double")
    );
    let mut mapping = s.host.get_mapping(&integration).await.expect("stored");
    mapping.fields.push(FieldMapping {
        host_field: "objective".into(),
        ado_field: "Microsoft.VSTS.Scheduling.StoryPoints".into(),
        direction: Direction::Both,
        owner: Side::Host,
    });
    mapping
        .fields
        .retain(|f| f.host_field != "objective" || f.ado_field.contains("StoryPoints"));
    let err = s
        .host
        .set_mapping(&integration, &mapping)
        .await
        .unwrap_err();
    match err {
        CallError::Plugin(SyncError::FieldTypeMismatch(m)) => {
            assert_eq!(m.host_field, "objective");
            assert_eq!(m.host_kind, FieldKind::Text);
            assert_eq!(m.ado_field, "Microsoft.VSTS.Scheduling.StoryPoints");
            assert_eq!(m.ado_type, "double");
        }
        other => panic!("expected a field type mismatch, got {other:?}"),
    }
    // A field that exists in the project but only on an unmapped type (Bug's Severity).
    let mut bug_only = s.host.get_mapping(&integration).await.expect("stored");
    bug_only.fields.push(FieldMapping {
        host_field: "risk".into(),
        ado_field: "Microsoft.VSTS.Common.Severity".into(),
        direction: Direction::Both,
        owner: Side::Host,
    });
    let err = s
        .host
        .set_mapping(&integration, &bug_only)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(SyncError::InvalidConfig(f)) if f.field.ends_with(".ado-field") && f.message.contains("not on any of the mapped")),
        "{err:?}"
    );
    // Epic at the Product level with this host's levels breaks the hierarchy.
    let mut shifted = s.host.get_mapping(&integration).await.expect("stored");
    shifted.epic_is_product_level = true;
    let err = s
        .host
        .set_mapping(&integration, &shifted)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(SyncError::InvalidConfig(f)) if f.field.starts_with("mapping.types")),
        "{err:?}"
    );
    // The stored mapping is untouched by the rejected ones.
    let stored = s.host.get_mapping(&integration).await.expect("stored");
    assert!(!stored.epic_is_product_level);
    assert!(stored.fields.iter().all(
        |f| f.ado_field != "Microsoft.VSTS.Scheduling.StoryPoints" || f.host_field == "effort"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn egress_outside_the_permitted_origins_is_denied_with_a_typed_error() {
    let s = Scenario::start().await;
    s.host.restrict_connect_targets(&[CLOUD_URL]);
    let elsewhere = ConnectionTarget::OnPrem(OnPremCredentials {
        collection_url: "https://ado.elsewhere.example/DefaultCollection".into(),
        username: "u".into(),
        password: "p".into(),
    });
    let before = s.storage_dump();
    let err = s.host.connect("Elsewhere", &elsewhere).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(SyncError::Unreachable(m)) if m.to_ascii_lowercase().contains("denied")),
        "{err:?}"
    );
    assert_eq!(s.storage_dump(), before, "nothing stored");
    let log = s.host.egress_log();
    let denied: Vec<_> = log.iter().filter(|r| !r.allowed).collect();
    assert_eq!(denied.len(), 1, "{log:?}");
    assert!(denied[0]
        .url
        .starts_with("https://ado.elsewhere.example/DefaultCollection/_apis/connectionData"));
    // The host is unharmed and the permitted instance still connects.
    s.connect_cloud().await;
    assert!(s
        .host
        .egress_log()
        .iter()
        .skip(log.len())
        .all(|r| r.allowed));
}
