//! The records the plugin keeps in host storage. None of them holds a secret.

use crate::api::InstanceKind;
use serde::{Deserialize, Serialize};

/// A connection to one ADO organisation or collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Cloud or on-premises.
    pub kind: InstanceKind,
    /// Normalised base URL.
    pub base_url: String,
    /// E-mail (cloud) or user name (on-prem).
    pub user: String,
    /// Display name ADO reported.
    pub user_display_name: String,
    /// Name of the credential in the host's vault.
    pub secret_name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// One ADO project integrated through a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRecord {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The connection.
    pub connection_id: String,
    /// Project GUID.
    pub project_id: String,
    /// Project name.
    pub project_name: String,
    /// Process template.
    pub process: String,
}

/// The memory of the sync for one linked pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The host item.
    pub host_id: String,
    /// The work item.
    pub work_item: i64,
    /// The integration it belongs to.
    pub integration_id: String,
    /// The ADO revision last synchronised.
    pub ado_rev: i64,
    /// Fingerprint of the host item as last synchronised (both sides equal at that point).
    pub fingerprint: String,
    /// When it was last synchronised (RFC 3339).
    pub synced_at: String,
}

/// Webhook health of a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// When the last event arrived.
    pub last_event_at: Option<String>,
    /// Events applied.
    pub applied: u64,
    /// Events ignored.
    pub ignored: u64,
    /// Deliveries rejected.
    pub rejected: u64,
    /// The last rejection.
    pub last_error: Option<String>,
}
