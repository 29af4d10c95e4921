//! Errors and results as HTTP responses. Business errors of the plugin map to 4xx with
//! `{ "error": { "kind", "message", … } }`; only failures of the host itself (storage, a trap in
//! the component) are 5xx, so ADO never puts the webhook on probation for a business error.

use crate::app::AppError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

/// The HTTP status of an error.
pub fn status_of(e: &AppError) -> StatusCode {
    match e.kind() {
        "invalid-config" | "field-type-mismatch" | "invalid-input" => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        "bad-payload" => StatusCode::BAD_REQUEST,
        "auth-failed" => StatusCode::UNAUTHORIZED,
        "permission-denied" => StatusCode::FORBIDDEN,
        "not-found" => StatusCode::NOT_FOUND,
        "conflict" => StatusCode::CONFLICT,
        "rate-limited" => StatusCode::TOO_MANY_REQUESTS,
        // ADO itself failed or could not be reached: a business outcome of the call, not a
        // fault of this server.
        "ado-error" | "unreachable" | "tls-failed" => StatusCode::FAILED_DEPENDENCY,
        "storage" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error response.
pub fn error(e: &AppError) -> Response {
    let status = status_of(e);
    if status.is_server_error() {
        tracing::error!(kind = e.kind(), error = %e, "request failed");
    } else {
        tracing::warn!(kind = e.kind(), error = %e, "request refused");
    }
    let mut response = (status, Json(e.to_json())).into_response();
    if let Some(ms) = e.retry_after_ms() {
        if let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

/// An error response with a kind of the server's own (`unauthorized`, `payload-too-large`, …).
pub fn plain_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "kind": kind, "message": message } })),
    )
        .into_response()
}

/// A JSON result, or the error.
pub fn result<T: Serialize>(status: StatusCode, r: Result<T, AppError>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => error(&e),
    }
}
