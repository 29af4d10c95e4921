//! Host-side failures: everything that can go wrong around a call, typed.

use crate::runtime::bindings::SyncError;

/// A failure of the host around the component (not a business error of the plugin).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HostError {
    /// The component file could not be read.
    #[error("component file {path} cannot be read: {reason}")]
    ComponentMissing {
        /// The path tried.
        path: String,
        /// Why.
        reason: String,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    ComponentInvalid(String),
    /// The component does not export or import what this host expects (wrong contract version).
    #[error("the component does not fit this host's contract (ado-sync:plugin@0.1.0): {0}")]
    Incompatible(String),
    /// The engine could not be set up.
    #[error("engine set-up failed: {0}")]
    Engine(String),
    /// The call ran past its deadline and was interrupted.
    #[error("the call ran past its deadline and was interrupted")]
    Deadline,
    /// The guest tried to grow its memory past the limit.
    #[error("the component exceeded its memory limit")]
    MemoryLimit,
    /// The guest trapped (a bug in the component); the host is unaffected.
    #[error("the component trapped: {0}")]
    Trap(String),
}

/// The result of calling an export: the plugin's typed error or a host failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The plugin answered with a typed error.
    #[error("{}", describe(.0))]
    Plugin(SyncError),
    /// The host could not complete the call.
    #[error(transparent)]
    Host(#[from] HostError),
}

/// A one-line description of a plugin error.
pub fn describe(e: &SyncError) -> String {
    match e {
        SyncError::InvalidConfig(f) => format!("invalid {}: {}", f.field, f.message),
        SyncError::FieldTypeMismatch(m) => format!(
            "field '{}' ({:?}) cannot map to '{}' ({})",
            m.host_field, m.host_kind, m.ado_field, m.ado_type
        ),
        SyncError::AuthFailed(m) => format!("authentication failed: {m}"),
        SyncError::PermissionDenied(m) => format!("permission denied: {m}"),
        SyncError::NotFound(m) => format!("not found: {m}"),
        SyncError::RateLimited(r) => format!(
            "rate limited (retry after {} ms): {}",
            r.retry_after_ms, r.message
        ),
        SyncError::Conflict(m) => format!("conflict: {m}"),
        SyncError::AdoError(f) => format!("ADO error {}: {}", f.status, f.message),
        SyncError::Unreachable(m) => format!("ADO unreachable: {m}"),
        SyncError::TlsFailed(m) => format!("TLS handshake with ADO failed: {m}"),
        SyncError::Storage(m) => format!("storage failed: {m}"),
        SyncError::BadPayload(m) => format!("bad payload: {m}"),
        SyncError::Internal(m) => format!("internal plugin error: {m}"),
    }
}

/// Classify a wasmtime error from a call.
pub fn from_wasmtime(err: wasmtime::Error) -> HostError {
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        if *trap == wasmtime::Trap::Interrupt {
            return HostError::Deadline;
        }
    }
    let text = format!("{err:#}");
    if text.contains("memory") && (text.contains("limit") || text.contains("grow")) {
        return HostError::MemoryLimit;
    }
    HostError::Trap(text)
}
