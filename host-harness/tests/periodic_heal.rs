//! The server's periodic heal (`serve --heal-every`): one round re-enables the subscriptions ADO
//! disabled while this host was unreachable and gap-fills the edit whose delivery was lost;
//! connections without a provisioned webhook are left alone.
//!
//! Needs the release component: `cargo build -p ado-sync-plugin --release --target wasm32-wasip2`.

use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::app::configure::ConnectRequest;
use ado_sync_host::app::sync::{Direction, SyncParams};
use ado_sync_host::app::{App, AppOptions};
use ado_sync_host::serve::heal;
use serde_json::json;

fn db_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ado-sync-heal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("ado-sync.db")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_heal_round_re_enables_subscriptions_and_fills_the_gap() {
    let sim = AdoSim::start_seeded().await;
    let db = db_path("round");
    let app = App::open(&AppOptions {
        db: db.clone(),
        component: ado_sync_host::component_path(),
        workspace_id: "ws-heal".into(),
        ado_sim: Some(sim.uri()),
    })
    .await
    .expect("open");
    let conn = app
        .connect(&ConnectRequest {
            name: "Contoso".into(),
            url: "https://dev.azure.com/contoso".into(),
            email: Some("builder@contoso.example".into()),
            pat: Some(AdoSim::PAT.into()),
            username: None,
            password: None,
        })
        .await
        .expect("connect");
    // A second instance without a webhook: the round must skip it, not fail on it.
    app.connect(&ConnectRequest {
        name: "Fabrikam Server".into(),
        url: "https://ado.fabrikam.example/tfs/DefaultCollection".into(),
        email: None,
        pat: None,
        username: Some(AdoSim::ONPREM_USER.into()),
        password: Some(AdoSim::ONPREM_PASSWORD.into()),
    })
    .await
    .expect("connect on-prem");
    app.add_project(&conn.id, "Fabrikam", "Fabrikam")
        .await
        .expect("project");
    let mapping = app
        .propose_mapping("Fabrikam", false)
        .await
        .expect("propose");
    app.set_mapping("Fabrikam", &mapping).await.expect("map");
    app.sync(
        &SyncParams {
            integrations: vec![],
            direction: Direction::AdoToHost,
            types: vec![],
            tags: vec![],
            open_only: false,
            sprints: vec![],
            releases: vec![],
            dry_run: false,
            page_size: None,
        },
        &|_| {},
    )
    .await
    .expect("first sync");
    app.provision_webhook(&conn.id, "https://sync.acme.example")
        .await
        .expect("provision");

    // Nothing degraded yet: a round heals the one provisioned connection and changes nothing.
    let quiet = heal::round(&app).await;
    assert_eq!((quiet.healed, quiet.recreated, quiet.failed), (1, 0, 0));

    // This host is unreachable for a while: ADO disables the subscriptions, and the edit made
    // meanwhile is never delivered.
    let _ = sim.drain_events();
    for s in sim.subscriptions() {
        let id = s["id"].as_str().expect("subscription id").to_string();
        sim.set_subscription_status(&id, "disabledBySystem");
    }
    let wi = sim
        .find_by_title("Dashboards for error rates")
        .expect("seeded");
    sim.user_update(
        wi,
        json!({"System.Title": "Edited while the webhook was down"}),
    )
    .expect("edit");
    let _lost = sim.drain_events();

    let round = heal::round(&app).await;
    assert_eq!(round.healed, 1, "{round:?}");
    assert_eq!(round.failed, 0, "{round:?}");
    assert_eq!(
        round.recreated, 4,
        "every disabled subscription is back: {round:?}"
    );
    assert!(round.gap_filled >= 1, "{round:?}");
    assert!(sim.subscriptions().iter().all(|s| s["status"] == "enabled"));
    let ws = app.workspace().await;
    assert!(
        ws.items
            .values()
            .any(|i| i.title == "Edited while the webhook was down"),
        "the missed edit reached the workspace"
    );
    drop(app);
    if let Some(dir) = db.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
