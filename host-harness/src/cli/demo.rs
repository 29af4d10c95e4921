//! `ado-sync demo`: the whole story on embedded defaults — a seeded simulated ADO in-process,
//! the real component in the real harness, and one SQLite file for plugin storage, the vault
//! and the host workspace.

use crate::ado_sim::AdoSim;
use crate::api::*;
use crate::imports::secrets::SqliteVault;
use crate::imports::storage::SqliteStorage;
use crate::workspace::{persist, sample, Workspace};
use crate::{Limits, PluginHost};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

const CLOUD_URL: &str = "https://dev.azure.com/contoso";

/// What the demo did, printed as text or JSON.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    /// The SQLite file.
    pub database: String,
    /// The connection made.
    pub connection: ConnectionInfo,
    /// The project integration.
    pub integration: ProjectIntegration,
    /// Type mappings used (host ← ADO).
    pub type_mappings: Vec<TypeMapping>,
    /// The first ADO → host sync.
    pub first_sync: SyncReport,
    /// Items in the host after it.
    pub host_items_after_first_sync: usize,
    /// The host → ADO push of a host-created story and an edited one.
    pub push: SyncReport,
    /// The work item created from the host story.
    pub created_work_item: Option<i64>,
    /// The webhook's URL and subscriptions.
    pub webhook_provisioned: ProvisionOutcome,
    /// Webhook deliveries replayed from ADO after a person edited items there.
    pub webhook_outcomes: Vec<String>,
    /// Webhook health afterwards.
    pub webhook: WebhookStatus,
    /// A second ADO → host sync (should find everything in step).
    pub second_sync: SyncReport,
    /// Requests the simulated ADO received in all.
    pub ado_requests: usize,
    /// The workspace as a tree (titles indented by level).
    pub tree: Vec<String>,
}

fn plugin(e: crate::CallError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Run the demo.
pub async fn run(component: &Path, db: &Path) -> anyhow::Result<DemoReport> {
    for suffix in ["", "-wal", "-shm", ".key"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let key = std::path::PathBuf::from(format!("{}.key", db.display()));
    let storage =
        Arc::new(SqliteStorage::open(db).with_context(|| format!("opening {}", db.display()))?);
    let vault = Arc::new(SqliteVault::open(db, &key).map_err(anyhow::Error::msg)?);
    let mut conn = persist::open(db)?;
    let host = PluginHost::load(component, storage, vault, Limits::default())?;
    let sim = AdoSim::start_seeded().await;
    host.redirect(CLOUD_URL, &sim.uri());

    let mut workspace = Workspace::new(sample::schema("ws-demo"));
    host.set_workspace_schema(&workspace.schema)
        .await
        .map_err(plugin)?;
    let connection = host
        .connect(
            "Contoso (cloud)",
            &ConnectionTarget::Cloud(CloudCredentials {
                url: format!("  {CLOUD_URL}/ "),
                email: "builder@contoso.example".into(),
                pat: AdoSim::PAT.into(),
            }),
        )
        .await
        .map_err(plugin)?;
    let integration = host
        .add_project(&connection.id, "Fabrikam web", "Fabrikam")
        .await
        .map_err(plugin)?;
    let mapping = host
        .propose_mapping(&integration.id, false)
        .await
        .map_err(plugin)?;
    host.set_mapping(&integration.id, &mapping)
        .await
        .map_err(plugin)?;

    let request = |direction, host_items: Vec<HostItem>, scope| SyncRequest {
        integration: integration.id.clone(),
        direction,
        ado_filter: AdoFilter {
            open_only: false,
            work_item_types: vec![],
            tags: vec![],
        },
        host_scope: scope,
        host_items,
        dry_run: false,
        page_size: None,
        cursor: None,
    };
    let first = host
        .sync_once(&request(
            SyncDirection::AdoToHost,
            vec![],
            HostScope::WholeWorkspace,
        ))
        .await
        .map_err(plugin)?;
    workspace.apply(&first.changes);
    persist::save(&mut conn, &workspace)?;
    let after_first = workspace.items.len();

    // The host product: a new story under "Account management", and an edited title.
    let feature = workspace
        .by_title("Account management")
        .map(|f| f.id.clone())
        .context("the seeded feature is missing")?;
    let story = HostItem {
        id: "host-story-export".into(),
        item_type: "story".into(),
        title: "Export invoices as PDF".into(),
        description: Some("<p>Finance needs monthly PDF exports.</p>".into()),
        parent: Some(feature),
        status: Some("in-progress".into()),
        sprint: Some("sprint-2".into()),
        releases: vec![],
        tags: vec!["finance".into()],
        fields: vec![FieldEntry {
            field: "effort".into(),
            value: Some(FieldValue::Number(5.0)),
        }],
    };
    let mut edited = workspace
        .by_title("Update profile details")
        .cloned()
        .context("seeded story missing")?;
    edited.title = "Update profile details and avatar".into();
    let ids = vec![story.id.clone(), edited.id.clone()];
    workspace.apply(&[HostChange::Create(story), HostChange::Update(edited)]);
    let push = host
        .sync_once(&request(
            SyncDirection::HostToAdo,
            workspace.item_list(),
            HostScope::Items(ids),
        ))
        .await
        .map_err(plugin)?;
    persist::save(&mut conn, &workspace)?;
    let created_work_item = sim.find_by_title("Export invoices as PDF");

    // The webhook: subscriptions created through ADO's Service Hooks API, with a delivery credential.
    let provisioned = host
        .provision_webhook(&connection.id, "https://sync.acme.example")
        .await
        .map_err(plugin)?;

    // A person edits in ADO; the service hooks arrive at the workspace's webhook URL.
    let _ = sim.drain_events();
    if let Some(id) = sim.find_by_title("Dashboards for error rates") {
        sim.user_update(id, serde_json::json!({"System.State": "Closed", "System.Title": "Dashboards for error and latency rates"}))?;
    }
    sim.user_create(
        "Fabrikam",
        "Task",
        serde_json::json!({"System.Title": "Draft the PDF layout"}),
        created_work_item,
    );
    let path = host.webhook_path().await.map_err(plugin)?;
    let mut webhook_outcomes = Vec::new();
    for event in sim.drain_events() {
        let headers = sim
            .delivery_headers_for(&event)
            .unwrap_or_else(|| vec![("content-type".to_string(), "application/json".to_string())]);
        let delivery = WebhookRequest {
            path: path.clone(),
            headers,
            body: serde_json::to_vec(&event)?,
        };
        let kind = event["eventType"].as_str().unwrap_or("?").to_string();
        match host.handle_webhook(&delivery).await {
            Ok(WebhookOutcome::Applied(changes)) => {
                workspace.apply(&changes);
                webhook_outcomes.push(format!("{kind}: applied {} change(s)", changes.len()));
            }
            Ok(WebhookOutcome::Ignored(reason)) => {
                webhook_outcomes.push(format!("{kind}: ignored ({reason:?})"))
            }
            Err(e) => webhook_outcomes.push(format!("{kind}: rejected ({e})")),
        }
    }
    persist::save(&mut conn, &workspace)?;
    let webhook = host.webhook_status(&connection.id).await.map_err(plugin)?;
    let second = host
        .sync_once(&request(
            SyncDirection::AdoToHost,
            workspace.item_list(),
            HostScope::WholeWorkspace,
        ))
        .await
        .map_err(plugin)?;
    workspace.apply(&second.changes);
    persist::save(&mut conn, &workspace)?;

    Ok(DemoReport {
        database: db.display().to_string(),
        connection,
        integration,
        type_mappings: mapping.types,
        first_sync: first.report,
        host_items_after_first_sync: after_first,
        push: push.report,
        created_work_item,
        webhook_provisioned: provisioned,
        webhook_outcomes,
        webhook,
        second_sync: second.report,
        ado_requests: sim.requests().len(),
        tree: tree(&workspace),
    })
}

fn tree(ws: &Workspace) -> Vec<String> {
    fn walk(ws: &Workspace, parent: Option<&str>, depth: usize, out: &mut Vec<String>) {
        for item in ws.items.values().filter(|i| i.parent.as_deref() == parent) {
            let status = item
                .status
                .as_ref()
                .and_then(|s| ws.schema.statuses.iter().find(|x| &x.id == s))
                .map(|s| s.name.as_str())
                .unwrap_or("-");
            let sprint = item
                .sprint
                .as_deref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default();
            out.push(format!(
                "{}{} [{}] {} ({status}{sprint})",
                "  ".repeat(depth),
                "-",
                item.item_type,
                item.title
            ));
            walk(ws, Some(&item.id), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(ws, None, 0, &mut out);
    out
}

fn counts(r: &SyncReport) -> String {
    let t = &r.totals;
    format!(
        "{} created, {} updated, {} unchanged, {} skipped, {} failed ({} ADO requests)",
        t.created, t.updated, t.unchanged, t.skipped, t.failed, r.ado_requests
    )
}

/// The human-readable summary.
pub fn render(r: &DemoReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line("ado-sync demo — simulated Azure DevOps, real component, SQLite storage".into());
    line(format!("  database        {}", r.database));
    line(format!(
        "1. connected      '{}' → {} as {} ({})",
        r.connection.name,
        r.connection.base_url,
        r.connection.user_display_name,
        if r.connection.kind == InstanceKind::Cloud {
            "cloud"
        } else {
            "on-prem"
        }
    ));
    line(format!(
        "2. integrated     project '{}' ({} process)",
        r.integration.project_name, r.integration.process
    ));
    let types: Vec<String> = r
        .type_mappings
        .iter()
        .map(|t| format!("{} ↔ {}", t.ado_type, t.host_type))
        .collect();
    line(format!("3. mapped types   {}", types.join(", ")));
    line(format!("4. ADO → host     {}", counts(&r.first_sync)));
    for c in &r.first_sync.per_type {
        line(format!(
            "                  {:<8} {} created",
            c.item_type, c.created
        ));
    }
    line(format!(
        "5. host → ADO     {}{}",
        counts(&r.push),
        r.created_work_item
            .map(|id| format!("; new work item #{id}"))
            .unwrap_or_default()
    ));
    line(format!(
        "6. webhooks       {} deliveries:",
        r.webhook_outcomes.len()
    ));
    for o in &r.webhook_outcomes {
        line(format!("                  {o}"));
    }
    line(format!(
        "                  webhook {} (applied {}, ignored {}, rejected {})",
        if r.webhook.connected {
            "connected"
        } else {
            "not connected"
        },
        r.webhook.applied,
        r.webhook.ignored,
        r.webhook.rejected
    ));
    line(format!("7. re-sync        {}", counts(&r.second_sync)));
    line(format!(
        "   ADO received {} requests in all. The workspace now:",
        r.ado_requests
    ));
    for t in &r.tree {
        line(format!("   {t}"));
    }
    out
}
