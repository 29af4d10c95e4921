//! `ado-sync serve`: the webhook endpoint ADO's service hooks call, and a small JSON admin API.
//!
//! - `POST /webhooks/{workspace_id}/ado` ([`webhook`]): one delivery, committed before the answer;
//! - `/api/…` ([`admin`]): connect, projects, mapping, sync, webhook provisioning, status, behind
//!   a bearer token ([`auth`]) when one is set (required off loopback);
//! - `GET /healthz`: liveness.
//!
//! Errors come back as `{ "error": { "kind", "message" } }` ([`reply`]).

pub mod admin;
pub mod auth;
pub mod heal;
pub mod queue;
pub mod reply;
pub mod webhook;

use crate::app::{App, AppError};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;

/// State shared by the handlers.
pub struct ServerState {
    /// The host.
    pub app: Arc<App>,
    /// The workspace served (its id is in the webhook path).
    pub workspace_id: String,
    /// The admin API's bearer token, when set.
    pub admin_token: Option<String>,
    /// The base URL ADO reaches this server at (for provisioning).
    pub public_url: String,
    /// Deliveries on their way to the component.
    pub deliveries: queue::DeliveryQueue,
}

/// What handlers get.
pub type Shared = Arc<ServerState>;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The admin API's bearer token.
    pub admin_token: Option<String>,
    /// The public base URL; defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// How often to heal the webhooks (re-enable degraded subscriptions, gap-fill); `None` never.
    pub heal_every: Option<std::time::Duration>,
}

/// The router.
pub fn router(state: Shared) -> Router {
    let api = admin::routes().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .route("/webhooks/{workspace_id}/ado", post(webhook::deliver))
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api", api)
        .layer(axum::extract::DefaultBodyLimit::max(webhook::MAX_BODY))
        .with_state(state)
}

/// Check the options before binding: off loopback, the admin API must have a token.
pub fn check(options: &ServeOptions) -> Result<(), AppError> {
    if !options.listen.ip().is_loopback() && options.admin_token.is_none() {
        return Err(AppError::input(
            "admin-token",
            format!(
                "listening on {} (not loopback) needs --admin-token or ADO_SYNC_ADMIN_TOKEN",
                options.listen
            ),
        ));
    }
    Ok(())
}

/// Bind, print the address on stdout (`listening on http://…`), serve until Ctrl-C or SIGTERM.
pub async fn run(app: Arc<App>, options: ServeOptions) -> Result<(), AppError> {
    check(&options)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| {
            AppError::input(
                "listen",
                format!("cannot listen on {}: {e}", options.listen),
            )
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| AppError::input("listen", e.to_string()))?;
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"))
        .trim_end_matches('/')
        .to_string();
    let workspace_id = app.workspace_id().await;
    let state = Arc::new(ServerState {
        deliveries: queue::DeliveryQueue::spawn(app.clone()),
        app: app.clone(),
        workspace_id: workspace_id.clone(),
        admin_token: options.admin_token.clone(),
        public_url: public_url.clone(),
    });
    let _healing = options
        .heal_every
        .map(|every| heal::spawn(app.clone(), every));
    println!("listening on http://{local}");
    println!("webhook URL {public_url}/webhooks/{workspace_id}/ado");
    tracing::info!(%local, %public_url, admin_token = options.admin_token.is_some(), "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| AppError::Io(format!("server failed: {e}")))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
