//! The JSON admin API under `/api/`: connect, projects, mappings, sync, webhook provisioning,
//! status. Bodies are parsed by the host so a wrong shape comes back as `invalid-input` naming
//! the field (`mapping fields[2].direction: unknown variant …`).

use super::reply;
use super::Shared;
use crate::api::Mapping;
use crate::app::configure::ConnectRequest;
use crate::app::error::parse_json;
use crate::app::sync::SyncParams;
use crate::app::AppError;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

/// The admin routes (mounted under `/api`).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/status", get(status))
        .route("/connections", get(connections).post(connect))
        .route("/connect", post(connect))
        .route("/connections/{id}", delete(disconnect))
        .route("/connections/{id}/webhook", post(provision))
        .route("/connections/{id}/heal", post(heal))
        .route("/projects", get(projects).post(add_project))
        .route("/projects/{id}", delete(remove_project))
        .route("/projects/{id}/mapping", get(get_mapping).put(put_mapping))
        .route("/sync", post(sync))
}

async fn status(State(s): State<Shared>) -> Response {
    let r = s.app.status().await.map(|st| {
        let mut v = json!(st);
        v["public_webhook_url"] = json!(format!("{}{}", s.public_url, st.webhook_path));
        v
    });
    reply::result(StatusCode::OK, r)
}

async fn connections(State(s): State<Shared>) -> Response {
    reply::result(StatusCode::OK, s.app.connections().await)
}

async fn connect(State(s): State<Shared>, body: Bytes) -> Response {
    let r = async {
        let request: ConnectRequest = parse_json("body", &body)?;
        s.app.connect(&request).await
    }
    .await;
    reply::result(StatusCode::CREATED, r)
}

async fn disconnect(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    reply::result(
        StatusCode::OK,
        s.app
            .disconnect(&id)
            .await
            .map(|_| json!({ "disconnected": id })),
    )
}

#[derive(Deserialize, Default)]
struct ProvisionBody {
    #[serde(default)]
    public_url: Option<String>,
}

async fn provision(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let r = async {
        let b: ProvisionBody = if body.is_empty() {
            ProvisionBody::default()
        } else {
            parse_json("body", &body)?
        };
        let url = b.public_url.unwrap_or_else(|| s.public_url.clone());
        s.app.provision_webhook(&id, &url).await
    }
    .await;
    reply::result(StatusCode::OK, r)
}

async fn heal(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    reply::result(StatusCode::OK, s.app.heal_webhook(&id).await)
}

async fn projects(State(s): State<Shared>) -> Response {
    reply::result(StatusCode::OK, s.app.projects().await)
}

#[derive(Deserialize)]
struct AddProject {
    connection: String,
    name: String,
    project: String,
}

async fn add_project(State(s): State<Shared>, body: Bytes) -> Response {
    let r = async {
        let b: AddProject = parse_json("body", &body)?;
        s.app.add_project(&b.connection, &b.name, &b.project).await
    }
    .await;
    reply::result(StatusCode::CREATED, r)
}

async fn remove_project(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    reply::result(StatusCode::OK, s.app.remove_project(&id).await)
}

#[derive(Deserialize)]
struct MappingQuery {
    #[serde(default)]
    propose: bool,
    #[serde(default)]
    epic_is_product_level: bool,
}

async fn get_mapping(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<MappingQuery>,
) -> Response {
    let r = if q.propose {
        s.app.propose_mapping(&id, q.epic_is_product_level).await
    } else {
        s.app.mapping(&id).await
    };
    reply::result(StatusCode::OK, r)
}

async fn put_mapping(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let r = async {
        let mapping: Mapping = parse_json("mapping", &body)?;
        s.app.set_mapping(&id, &mapping).await?;
        Ok::<_, AppError>(json!({ "stored": true, "integration": id }))
    }
    .await;
    reply::result(StatusCode::OK, r)
}

async fn sync(State(s): State<Shared>, body: Bytes) -> Response {
    let r = async {
        let params: SyncParams = parse_json("body", &body)?;
        s.app.sync(&params, &|_| {}).await
    }
    .await;
    reply::result(StatusCode::OK, r)
}
