//! The use cases behind the four exports. Each loads what it needs from storage, lets `core`
//! decide, does the I/O through `ado` and `store`, and returns typed results.

pub mod configure;
pub mod context;
pub mod links;
pub mod map_item;
pub mod sync;
pub mod webhook;

use crate::ado::auth::{basic_header, Credentials};
use crate::ado::AdoClient;
use crate::api::{InstanceKind, Result, SyncError};
use crate::ports::{Http, Kv, Vault};
use crate::store::records::ConnectionRecord;
use crate::store::Store;

/// The capabilities one call runs with.
pub struct Engine<'a> {
    /// Outgoing HTTP.
    pub http: &'a dyn Http,
    /// Durable storage.
    pub kv: &'a dyn Kv,
    /// The secret vault.
    pub vault: &'a dyn Vault,
}

impl<'a> Engine<'a> {
    /// Wire an engine.
    pub fn new(http: &'a dyn Http, kv: &'a dyn Kv, vault: &'a dyn Vault) -> Self {
        Engine { http, kv, vault }
    }

    /// Typed storage.
    pub fn store(&self) -> Store<'a> {
        Store::new(self.kv)
    }

    /// An ADO client for a stored connection, with its credential from the vault.
    pub fn client(&self, conn: &ConnectionRecord) -> Result<AdoClient<'a>> {
        let secret = self
            .vault
            .get(&conn.secret_name)
            .map_err(SyncError::storage)?
            .ok_or_else(|| {
                SyncError::AuthFailed(format!(
                    "the credential of connection '{}' is missing from the host's vault; update the connection",
                    conn.name
                ))
            })?;
        let header = match conn.kind {
            InstanceKind::Cloud => basic_header(&Credentials::Pat(&secret)),
            InstanceKind::OnPrem => basic_header(&Credentials::UserPassword(&conn.user, &secret)),
        };
        Ok(AdoClient::new(self.http, &conn.base_url, header))
    }
}
