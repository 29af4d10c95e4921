//! The records the plugin keeps in host storage. None of them holds a secret.

use crate::api::{HistoryEntry, HostItem, InstanceKind};
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
    /// When the credentials were last checked against ADO (RFC 3339).
    #[serde(default)]
    pub credentials_checked_at: String,
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
    /// Whether the credentials may write work items in the project (records from before the
    /// check was made count as yes).
    #[serde(default = "yes")]
    pub can_write: bool,
}

fn yes() -> bool {
    true
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
    /// The ADO revision last seen or written.
    pub ado_rev: i64,
    /// The values both sides last agreed on (in host terms): the base of three-way merges.
    pub base: HostItem,
    /// Fingerprint of ADO's side (mapped to host terms) as last seen or written; an event with
    /// the same fingerprint brings nothing new (our own echo, or a change of unmapped fields).
    pub ado_fingerprint: String,
    /// Fingerprint of the host's side as last handed out or pushed.
    pub host_fingerprint: String,
    /// When it was last synchronised (RFC 3339).
    pub synced_at: String,
    /// The work item is in ADO's recycle bin (the host item was deleted); a restore revives it.
    #[serde(default)]
    pub deleted_in_ado: bool,
}

/// A host → ADO creation in flight: written before the create request, removed once the link is
/// stored. Finding one means a crash came between the two; the created work item is then found
/// by its marker tag instead of being created twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCreate {
    /// The host item.
    pub host_id: String,
    /// The marker tag the work item carries.
    pub marker: String,
    /// When the create was attempted.
    pub at: String,
}

/// One recorded decision (see `sync-once.history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// Newest first, at most [`HISTORY_LIMIT`].
    pub entries: Vec<HistoryEntry>,
}

/// A history record as stored, its entries left unparsed: prepending one only has to find where
/// each entry ends, not build them (for a busy item, parsing and re-writing its 50 entries was
/// the largest part of a webhook delivery's work).
#[derive(Debug, Serialize, Deserialize)]
pub struct RawHistoryRecord {
    /// Newest first, at most [`HISTORY_LIMIT`], as JSON.
    pub entries: Vec<Box<serde_json::value::RawValue>>,
}

/// Decisions kept per item.
pub const HISTORY_LIMIT: usize = 50;

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
    /// The newest `System.ChangedDate` seen in an event: gap-filling reads from here.
    #[serde(default)]
    pub watermark: Option<String>,
    /// The URL ADO delivers to, once provisioned.
    #[serde(default)]
    pub url: Option<String>,
}
