//! `POST /webhooks/{workspace_id}/ado`: one ADO service-hook delivery.
//!
//! The body is refused (413) past ADO's 2 MB payload cap before it is read in full. The
//! delivery runs in a task of its own, so a client that hangs up cannot interrupt it half-way;
//! the answer comes once its changes are committed. Deliveries that arrive while the component
//! is busy are handed to it together ([`super::queue`]). Headers are handed to the plugin (which
//! checks the delivery credential) and never logged.

use super::reply;
use super::Shared;
use crate::api::WebhookRequest;
use crate::app::webhook::Delivery;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

/// ADO caps service-hook payloads at 2 MB.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

fn too_large() -> Response {
    reply::plain_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "the body exceeds ADO's 2 MB service-hook payload cap",
    )
}

/// The handler.
pub async fn deliver(
    State(shared): State<Shared>,
    Path(workspace_id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if workspace_id != shared.workspace_id {
        return reply::plain_error(
            StatusCode::NOT_FOUND,
            "not-found",
            "no workspace with this id is served here",
        );
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return too_large(),
        Err(_) => {
            return reply::plain_error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "the body could not be read",
            )
        }
    };
    let request = WebhookRequest {
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string()),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: bytes.to_vec(),
    };
    let queue = shared.deliveries.clone();
    let started = std::time::Instant::now();
    let task = tokio::spawn(async move { queue.submit(request).await });
    let outcome = match task.await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "webhook task failed");
            return reply::plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "host",
                "the delivery could not be processed",
            );
        }
    };
    let ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(Delivery::Applied { changes, applied }) => {
            tracing::info!(changes, ms, "webhook applied");
            (
                StatusCode::OK,
                Json(json!({ "outcome": "applied", "changes": changes, "applied": applied })),
            )
                .into_response()
        }
        Ok(Delivery::Ignored { reason }) => {
            tracing::info!(%reason, ms, "webhook ignored");
            (
                StatusCode::OK,
                Json(json!({ "outcome": "ignored", "reason": reason })),
            )
                .into_response()
        }
        Err(e) => reply::error(&e),
    }
}
