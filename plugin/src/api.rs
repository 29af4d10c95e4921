//! The contract's types, generated from `wit/` by wit-bindgen. Everything else in the crate
//! uses these names; nothing outside `glue` touches the raw bindings.

#[allow(clippy::all, missing_docs)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Clone],
        pub_export_macro: false,
    });
}

pub use bindings::ado_sync::plugin::types::*;
pub use bindings::exports::ado_sync::plugin::configure::{
    AdoField, AdoIteration, AdoState, AdoWorkItemType, CloudCredentials, ConnectionInfo,
    ConnectionTarget, DeletePolicy, Direction, FieldMapping, InstanceKind, Mapping,
    OnPremCredentials, ProjectDiscovery, ProjectIntegration, Side, SprintMapping, StatusMapping,
    TypeMapping,
};
pub use bindings::exports::ado_sync::plugin::map_item::{AdoPatch, PatchOperation};
pub use bindings::exports::ado_sync::plugin::on_webhook::{
    HealOutcome, IgnoredReason, ProvisionOutcome, SubscriptionInfo, WebhookOutcome, WebhookRequest,
    WebhookStatus,
};
pub use bindings::exports::ado_sync::plugin::sync_once::{
    ActionKind, AdoFilter, HistoryEntry, HostScope, ItemAction, ItemFailure, ItemRef,
    SyncDirection, SyncOutcome, SyncReport, SyncRequest, TypeCounts,
};

/// Short alias used across the crate.
pub type Result<T> = std::result::Result<T, SyncError>;

impl SyncError {
    /// An `invalid-config` error naming the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        SyncError::InvalidConfig(InvalidField {
            field: field.into(),
            message: message.into(),
        })
    }

    /// A `storage` error.
    pub fn storage(message: impl Into<String>) -> Self {
        SyncError::Storage(message.into())
    }
}

impl SyncError {
    /// A one-line, human-readable description (never contains secrets).
    pub fn describe(&self) -> String {
        let f = &mut String::new();
        use std::fmt::Write as _;
        let _ = match self {
            SyncError::InvalidConfig(e) => write!(f, "invalid {}: {}", e.field, e.message),
            SyncError::FieldTypeMismatch(m) => write!(
                f,
                "field {} ({:?}) cannot map to {} ({})",
                m.host_field, m.host_kind, m.ado_field, m.ado_type
            ),
            SyncError::AuthFailed(m) => write!(f, "authentication failed: {m}"),
            SyncError::PermissionDenied(m) => write!(f, "permission denied: {m}"),
            SyncError::NotFound(m) => write!(f, "not found: {m}"),
            SyncError::RateLimited(r) => {
                write!(
                    f,
                    "rate limited, retry after {} ms: {}",
                    r.retry_after_ms, r.message
                )
            }
            SyncError::Conflict(m) => write!(f, "conflict: {m}"),
            SyncError::AdoError(e) => write!(f, "ADO error {}: {}", e.status, e.message),
            SyncError::Unreachable(m) => write!(f, "ADO unreachable: {m}"),
            SyncError::TlsFailed(m) => write!(f, "TLS handshake with ADO failed: {m}"),
            SyncError::Storage(m) => write!(f, "storage failed: {m}"),
            SyncError::BadPayload(m) => write!(f, "bad payload: {m}"),
            SyncError::Internal(m) => write!(f, "internal error: {m}"),
        };
        f.clone()
    }
}
