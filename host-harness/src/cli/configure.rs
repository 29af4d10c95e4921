//! `connect`, `disconnect`, `projects`, `map` and `status`.

use super::output::emit;
use crate::api::*;
use crate::app::configure::{ConnectRequest, Status};
use crate::app::error::{kebab, parse_json};
use crate::app::{App, AppError, AppResult};
use clap::Subcommand;
use serde_json::json;
use std::path::Path;

/// `ado-sync connect`.
pub async fn connect(app: &App, json: bool, request: &ConnectRequest) -> AppResult<()> {
    let c = app.connect(request).await?;
    emit(json, &c, |c| {
        format!(
            "connected  '{}' ({})\n  url      {}\n  user     {} ({})\n  kind     {}\nNext: ado-sync projects add --connection '{}' --name <name> --project <ADO project>\n",
            c.name,
            c.id,
            c.base_url,
            c.user_display_name,
            c.user,
            if c.kind == InstanceKind::Cloud { "ADO Services" } else { "Azure DevOps Server" },
            c.name
        )
    });
    Ok(())
}

/// `ado-sync disconnect`.
pub async fn disconnect(app: &App, json: bool, connection: &str) -> AppResult<()> {
    app.disconnect(connection).await?;
    emit(json, &json!({ "disconnected": connection }), |_| {
        format!("disconnected '{connection}' (its projects and links are gone; host items stay)\n")
    });
    Ok(())
}

/// `ado-sync projects …`.
#[derive(Debug, Subcommand)]
pub enum ProjectsAction {
    /// Integrate an ADO project through a connection.
    Add {
        /// The connection (id or name).
        #[arg(long)]
        connection: String,
        /// A unique name for the integration.
        #[arg(long)]
        name: String,
        /// The ADO project (name or id).
        #[arg(long)]
        project: String,
    },
    /// List the integrations.
    List,
    /// Remove an integration and its links (host items stay).
    Remove {
        /// The integration (id or name).
        integration: String,
    },
}

fn project_line(p: &ProjectIntegration) -> String {
    format!(
        "  {:<20} {:<12} {:<10} {:<8} {}\n",
        p.name,
        p.project_name,
        p.process,
        if p.mapped { "mapped" } else { "unmapped" },
        p.id
    )
}

/// Run a `projects` action.
pub async fn projects(app: &App, json: bool, action: &ProjectsAction) -> AppResult<()> {
    match action {
        ProjectsAction::Add {
            connection,
            name,
            project,
        } => {
            let p = app.add_project(connection, name, project).await?;
            emit(json, &p, |p| {
                format!(
                    "added      '{}' → ADO project {} ({} process)\nNext: ado-sync map '{}' --propose > mapping.json, edit it, then ado-sync map '{}' mapping.json\n",
                    p.name, p.project_name, p.process, p.name, p.name
                )
            });
        }
        ProjectsAction::List => {
            let all = app.projects().await?;
            emit(json, &all, |all| {
                if all.is_empty() {
                    return "no project integrations yet (ado-sync projects add …)\n".into();
                }
                let mut s = format!(
                    "  {:<20} {:<12} {:<10} {:<8} {}\n",
                    "NAME", "PROJECT", "PROCESS", "MAPPING", "ID"
                );
                for p in all {
                    s.push_str(&project_line(p));
                }
                s
            });
        }
        ProjectsAction::Remove { integration } => {
            let p = app.remove_project(integration).await?;
            emit(json, &p, |p| {
                format!("removed    '{}' and its links (host items stay)\n", p.name)
            });
        }
    }
    Ok(())
}

/// Read a mapping file; a wrong shape names the field (`mapping.json fields[2].direction`).
pub fn read_mapping(file: &Path) -> AppResult<Mapping> {
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::input(file.display().to_string(), format!("cannot read: {e}")))?;
    parse_json(&file.display().to_string(), &bytes)
}

/// `ado-sync map`: store a mapping file, or print the proposed or stored mapping.
pub async fn map(
    app: &App,
    json: bool,
    integration: &str,
    file: Option<&Path>,
    propose: bool,
    epic_is_product_level: bool,
) -> AppResult<()> {
    match file {
        Some(file) => {
            let mapping = read_mapping(file)?;
            app.set_mapping(integration, &mapping).await?;
            let summary = json!({
                "stored": true,
                "integration": integration,
                "types": mapping.types.len(),
                "fields": mapping.fields.len(),
                "statuses": mapping.statuses.len(),
                "sprints": mapping.sprints.len(),
            });
            emit(json, &summary, |_| {
                let types: Vec<String> = mapping
                    .types
                    .iter()
                    .map(|t| format!("{} ↔ {}", t.ado_type, t.host_type))
                    .collect();
                format!(
                    "mapping stored for '{integration}'\n  types     {}\n  fields    {} · statuses {} · sprints {} · delete policy {}\n",
                    types.join(", "),
                    mapping.fields.len(),
                    mapping.statuses.len(),
                    mapping.sprints.len(),
                    kebab(&format!("{:?}", mapping.delete_policy))
                )
            });
        }
        None => {
            let mapping = if propose {
                app.propose_mapping(integration, epic_is_product_level)
                    .await?
            } else {
                app.mapping(integration).await?
            };
            // The mapping file format is this JSON, in both modes.
            emit(true, &mapping, |_| String::new());
        }
    }
    Ok(())
}

/// `ado-sync status`.
pub async fn status(app: &App, json: bool, show_credential: bool) -> AppResult<()> {
    let status = app.status().await?;
    let mut credentials = Vec::new();
    if show_credential {
        for c in &status.connections {
            credentials.push(json!({
                "connection": c.info.id,
                "user": "ado-sync",
                "password": app.webhook_credential(&c.info.id).await?,
            }));
        }
    }
    if json {
        let mut v = json!(status);
        if show_credential {
            v["webhook_credentials"] = json!(credentials);
        }
        emit(true, &v, |_| String::new());
    } else {
        let mut text = render_status(&status);
        for c in &credentials {
            text.push_str(&format!(
                "webhook credential of {}: user ado-sync, password {}\n",
                c["connection"].as_str().unwrap_or_default(),
                c["password"].as_str().unwrap_or("(not provisioned)")
            ));
        }
        print!("{text}");
    }
    Ok(())
}

/// The human form of the status.
pub fn render_status(s: &Status) -> String {
    let mut out = String::new();
    let by_type: Vec<String> = s
        .items_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    out.push_str(&format!("database     {}\n", s.database));
    out.push_str(&format!(
        "workspace    {} (webhook path {})\n",
        s.workspace_id, s.webhook_path
    ));
    out.push_str(&format!(
        "items        {}{}\n",
        s.items,
        if by_type.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_type.join(", "))
        }
    ));
    if s.connections.is_empty() {
        out.push_str("connections  none (ado-sync connect …)\n");
    }
    for c in &s.connections {
        out.push_str(&format!(
            "connection   '{}' {} as {} ({})\n",
            c.info.name, c.info.base_url, c.info.user_display_name, c.info.id
        ));
        match &c.webhook {
            Some(w) => out.push_str(&format!(
                "  webhook    {}{} · applied {} · ignored {} · rejected {}{}\n",
                if w.connected {
                    "connected"
                } else {
                    "not connected"
                },
                w.last_event_at
                    .as_deref()
                    .map(|t| format!(", last event {t}"))
                    .unwrap_or_default(),
                w.applied,
                w.ignored,
                w.rejected,
                w.last_error
                    .as_deref()
                    .map(|e| format!(" · last error: {e}"))
                    .unwrap_or_default()
            )),
            None => out.push_str("  webhook    unknown\n"),
        }
    }
    for p in &s.projects {
        out.push_str(&format!(
            "project      '{}' → {} ({}, {})\n",
            p.name,
            p.project_name,
            p.process,
            if p.mapped { "mapped" } else { "not mapped" }
        ));
    }
    out
}
