//! Link records and per-item history: the sync's memory, written with compare-and-swap so two
//! instances cannot silently overwrite each other.

use crate::api::{ActionKind, HistoryEntry, HostItem, ItemRef, Result, SyncError};
use crate::core::fingerprint::{of_host_item, same_values};
use crate::engine::context::IntegrationContext;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{HistoryRecord, LinkRecord, RawHistoryRecord, HISTORY_LIMIT};
use crate::store::Store;

/// A link as read, with its storage version (for compare-and-swap).
pub type VersionedLink = (LinkRecord, u64);

/// Values for a new or updated link.
pub struct LinkValues<'a> {
    /// The host item id.
    pub host_id: &'a str,
    /// The work item id.
    pub work_item: i64,
    /// The ADO revision seen or written.
    pub ado_rev: i64,
    /// The agreed values.
    pub base: HostItem,
    /// ADO's side in host terms.
    pub ado_side: &'a HostItem,
    /// The host's side.
    pub host_side: &'a HostItem,
}

impl IntegrationContext {
    /// Write a link (and its host index). `previous` is the version read before deciding; when
    /// someone else wrote in between, nothing is written and a `conflict` is returned.
    pub fn save_link(
        &self,
        store: &Store,
        values: LinkValues,
        previous: Option<u64>,
        now: &str,
    ) -> Result<()> {
        let ado_fingerprint = of_host_item(values.ado_side);
        // In step (the usual case), both sides share one fingerprint.
        let host_fingerprint = if same_values(values.ado_side, values.host_side) {
            ado_fingerprint.clone()
        } else {
            of_host_item(values.host_side)
        };
        let record = LinkRecord {
            host_id: values.host_id.to_string(),
            work_item: values.work_item,
            integration_id: self.integration.id.clone(),
            ado_rev: values.ado_rev,
            base: values.base,
            ado_fingerprint,
            host_fingerprint,
            synced_at: now.to_string(),
            deleted_in_ado: false,
        };
        self.put_link(store, &record, previous)
    }

    /// Write a prepared link record: its host index first, then the record itself with
    /// compare-and-swap. The record is the commit point: when any write fails, the link is as
    /// it was (an index entry pointing at the same work item is harmless without its record), so
    /// the caller can fail the item and a re-run decides it afresh. A record that existed
    /// (`previous`) already has its index (written before it, removed after it), so updating it
    /// writes only the record.
    pub fn put_link(
        &self,
        store: &Store,
        record: &LinkRecord,
        previous: Option<u64>,
    ) -> Result<()> {
        if previous.is_none() {
            store.put(
                &keys::link_by_host(&self.connection.id, &record.host_id),
                &record.work_item,
            )?;
        }
        let key = keys::link_by_work_item(&self.connection.id, record.work_item);
        if !store.put_if(&key, previous, record)? {
            return Err(SyncError::Conflict(format!(
                "work item {} was synchronised by another instance meanwhile; run again",
                record.work_item
            )));
        }
        Ok(())
    }

    /// Remove a link, then its host index (so a record never lacks its index).
    pub fn remove_link(&self, store: &Store, record: &LinkRecord) -> Result<()> {
        store.delete(&keys::link_by_work_item(
            &self.connection.id,
            record.work_item,
        ))?;
        store.delete(&keys::link_by_host(&self.connection.id, &record.host_id))
    }
}

/// The item's values with the listed fields taken from `from` (used to compute the new base:
/// fields one side has not yet received keep their old agreed value).
pub fn with_fields_from(item: &HostItem, from: &HostItem, fields: &[String]) -> HostItem {
    let mut out = item.clone();
    for field in fields {
        match field.as_str() {
            "title" => out.title = from.title.clone(),
            "description" => out.description = from.description.clone(),
            "parent" => out.parent = from.parent.clone(),
            "status" => out.status = from.status.clone(),
            "sprint" => out.sprint = from.sprint.clone(),
            "tags" => out.tags = from.tags.clone(),
            "releases" => out.releases = from.releases.clone(),
            other => {
                let value = from
                    .fields
                    .iter()
                    .find(|f| f.field == *other)
                    .and_then(|f| f.value.clone());
                match out.fields.iter_mut().find(|f| f.field == *other) {
                    Some(e) => e.value = value,
                    None => out.fields.push(crate::api::FieldEntry {
                        field: other.to_string(),
                        value,
                    }),
                }
            }
        }
    }
    out.fields.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

impl Engine<'_> {
    /// Record one decision about an item (failures to record are not fatal for the sync).
    pub fn record_history(&self, connection: &str, entry: HistoryEntry) {
        let item = match (&entry.host_id, entry.work_item) {
            (Some(h), _) => h.clone(),
            (None, Some(w)) => format!("wi-{w}"),
            (None, None) => return,
        };
        let Ok(raw) = serde_json::value::to_raw_value(&entry) else {
            return;
        };
        let store = self.store();
        let key = keys::history(connection, &item);
        for _ in 0..3 {
            let (mut record, version) = match store.get::<RawHistoryRecord>(&key) {
                Ok(Some((r, v))) => (r, Some(v)),
                Ok(None) => (RawHistoryRecord { entries: vec![] }, None),
                Err(_) => return,
            };
            record.entries.insert(0, raw.clone());
            record.entries.truncate(HISTORY_LIMIT);
            if let Ok(true) = store.put_if(&key, version, &record) {
                return;
            }
        }
    }

    /// The recorded decisions about an item, newest first.
    pub fn history(&self, integration: &str, item: &ItemRef) -> Result<Vec<HistoryEntry>> {
        let ctx = self.context(integration)?;
        let store = self.store();
        let conn = &ctx.connection.id;
        let mut entries = Vec::new();
        let mut add = |key: String| -> Result<()> {
            if let Some(r) = store.value::<HistoryRecord>(&key)? {
                entries.extend(r.entries);
            }
            Ok(())
        };
        match item {
            ItemRef::Host(h) => add(keys::history(conn, h))?,
            ItemRef::Ado(w) => {
                if let Some((link, _)) = ctx.link_of_work_item(&store, *w)? {
                    add(keys::history(conn, &link.host_id))?;
                }
                add(keys::history(conn, &format!("wi-{w}")))?;
            }
        }
        entries.sort_by(|a, b| b.at.cmp(&a.at));
        Ok(entries)
    }
}

/// Whether a decision is worth recording (steady-state "unchanged" is not).
pub fn worth_recording(action: ActionKind) -> bool {
    action != ActionKind::Unchanged
}
