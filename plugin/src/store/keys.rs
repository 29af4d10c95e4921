//! Storage keys (see the table in [`crate::store`]).

/// The workspace schema.
pub const WORKSPACE: &str = "workspace";
/// Prefix of connection records.
pub const CONNECTIONS: &str = "connection/";
/// Prefix of integration records.
pub const INTEGRATIONS: &str = "integration/";

/// A connection record.
pub fn connection(id: &str) -> String {
    format!("{CONNECTIONS}{id}")
}
/// An integration record.
pub fn integration(id: &str) -> String {
    format!("{INTEGRATIONS}{id}")
}
/// The discovery snapshot of an integration.
pub fn discovery(integration: &str) -> String {
    format!("discovery/{integration}")
}
/// The work item types of an integration's discovery, as a sync reads them: derived from the
/// snapshot, a fraction of its size (see `Engine::store_discovery`).
pub fn discovery_types(integration: &str) -> String {
    format!("discovery/{integration}/types")
}
/// The mapping of an integration.
pub fn mapping(integration: &str) -> String {
    format!("mapping/{integration}")
}
/// Prefix of every link of a connection.
pub fn links(connection: &str) -> String {
    format!("link/{connection}/")
}
/// The link of a work item.
pub fn link_by_work_item(connection: &str, work_item: i64) -> String {
    format!("link/{connection}/wi/{work_item:012}")
}
/// The index from a host item to its work item.
pub fn link_by_host(connection: &str, host_id: &str) -> String {
    format!("link/{connection}/host/{host_id}")
}
/// Webhook state of a connection.
pub fn webhook(connection: &str) -> String {
    format!("webhook/{connection}")
}
/// The vault name of a connection's secret.
pub fn secret(connection: &str) -> String {
    format!("connection/{connection}/credential")
}
/// A host → ADO create in flight.
pub fn pending_create(connection: &str, host_id: &str) -> String {
    format!("pending/{connection}/{host_id}")
}
/// Prefix of a connection's pending creates.
pub fn pending_creates(connection: &str) -> String {
    format!("pending/{connection}/")
}
/// The decision history of an item (by host id, or `wi-{id}` before it has one).
pub fn history(connection: &str, item: &str) -> String {
    format!("history/{connection}/{item}")
}
/// Prefix of a connection's histories.
pub fn histories(connection: &str) -> String {
    format!("history/{connection}/")
}
/// The vault name of a connection's webhook delivery credential.
pub fn webhook_secret(connection: &str) -> String {
    format!("webhook/{connection}/delivery-credential")
}
