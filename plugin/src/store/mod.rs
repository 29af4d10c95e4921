//! Typed records over the host's key-value storage. Key layout (one place, so it is easy to audit):
//!
//! | key | record |
//! |---|---|
//! | `workspace` | [`crate::api::WorkspaceSchema`] |
//! | `connection/{id}` | [`records::ConnectionRecord`] (no secret: only the vault name) |
//! | `integration/{id}` | [`records::IntegrationRecord`] |
//! | `discovery/{integration}` | [`crate::api::ProjectDiscovery`] |
//! | `discovery/{integration}/types` | its work item types as a sync reads them ([`crate::core::propose::types_for_sync`]) |
//! | `mapping/{integration}` | [`crate::api::Mapping`] |
//! | `link/{connection}/wi/{work item}` | [`records::LinkRecord`] |
//! | `link/{connection}/host/{host id}` | the work item id of that host item |
//! | `webhook/{connection}` | [`records::WebhookRecord`] |
//! | `pending/{connection}/{host id}` | [`records::PendingCreate`] |
//! | `history/{connection}/{host id}` | [`records::HistoryRecord`] |

pub mod keys;
mod parsed;
pub mod records;

use crate::api::{Result, SyncError};
use crate::ports::Kv;
use serde::{de::DeserializeOwned, Serialize};
use std::rc::Rc;

/// Typed JSON records over [`Kv`].
pub struct Store<'a> {
    kv: &'a dyn Kv,
}

impl<'a> Store<'a> {
    /// Wrap the storage import.
    pub fn new(kv: &'a dyn Kv) -> Self {
        Store { kv }
    }

    /// Read a record and its version.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(T, u64)>> {
        match self.kv.get(key).map_err(|e| SyncError::storage(e.0))? {
            None => Ok(None),
            Some((bytes, version)) => decode(key, &bytes).map(|v| Some((v, version))),
        }
    }

    /// Read a record's value.
    pub fn value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        Ok(self.get(key)?.map(|(v, _)| v))
    }

    /// Read a configuration record (schema, connection, integration, mapping, types): read from
    /// storage every time, parsed only when its bytes differ from the last parse
    /// ([`parsed::parsed`]).
    pub fn setting<T: DeserializeOwned + 'static>(&self, key: &str) -> Result<Option<Rc<T>>> {
        match self.kv.get(key).map_err(|e| SyncError::storage(e.0))? {
            None => Ok(None),
            Some((bytes, _)) => parsed::parsed(key, bytes, |b| decode(key, b)).map(Some),
        }
    }

    /// All configuration records under a prefix ([`Store::setting`]).
    pub fn all_settings<T: DeserializeOwned + 'static>(&self, prefix: &str) -> Result<Vec<Rc<T>>> {
        self.each(prefix, |key| self.setting(key))
    }

    /// Write a record unconditionally.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<u64> {
        let bytes = serde_json::to_vec(value).map_err(|e| SyncError::Internal(e.to_string()))?;
        self.kv
            .set(key, &bytes)
            .map_err(|e| SyncError::storage(e.0))
    }

    /// Write a record only if its version is still `expected`; `Ok(false)` when someone else wrote first.
    pub fn put_if<T: Serialize>(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &T,
    ) -> Result<bool> {
        let bytes = serde_json::to_vec(value).map_err(|e| SyncError::Internal(e.to_string()))?;
        self.kv
            .compare_and_swap(key, expected, &bytes)
            .map(|v| v.is_some())
            .map_err(|e| SyncError::storage(e.0))
    }

    /// Delete a record.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.kv.delete(key).map_err(|e| SyncError::storage(e.0))
    }

    /// Keys under a prefix.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.kv
            .list_keys(prefix)
            .map_err(|e| SyncError::storage(e.0))
    }

    /// All records under a prefix.
    pub fn all<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        self.each(prefix, |key| self.value(key))
    }

    /// `read` of every key under a prefix, the missing ones left out.
    fn each<T>(&self, prefix: &str, read: impl Fn(&str) -> Result<Option<T>>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for key in self.keys(prefix)? {
            out.extend(read(&key)?);
        }
        Ok(out)
    }

    /// Delete every record under a prefix.
    pub fn delete_prefix(&self, prefix: &str) -> Result<()> {
        for key in self.keys(prefix)? {
            self.delete(&key)?;
        }
        Ok(())
    }
}

/// A stored record's JSON, typed.
fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| SyncError::storage(format!("record {key} is unreadable ({e})")))
}
