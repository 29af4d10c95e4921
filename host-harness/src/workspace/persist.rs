//! The workspace in the runnable host's SQLite file (beside the plugin's storage).

use super::Workspace;
use crate::api::{HostItem, WorkspaceSchema};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Open the database and make sure the workspace tables exist.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    create_tables(&conn)?;
    Ok(conn)
}

/// Make sure the workspace tables exist (on a connection opened elsewhere, e.g. the storage's).
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS host_workspace (id INTEGER PRIMARY KEY CHECK (id = 0), schema TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS host_items (id TEXT PRIMARY KEY, item TEXT NOT NULL);",
    )
}

/// Write the schema and the current state of the items `ids` (absent ones are deleted),
/// without opening a transaction: the caller's transaction (or unit of work) holds it.
pub fn save_items<'a>(
    conn: &Connection,
    ws: &Workspace,
    ids: impl IntoIterator<Item = &'a String>,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO host_workspace (id, schema) VALUES (0, ?1) ON CONFLICT(id) DO UPDATE SET schema = excluded.schema",
        [serde_json::to_string(&ws.schema)?],
    )?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO host_items (id, item) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET item = excluded.item",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM host_items WHERE id = ?1")?;
    for id in ids {
        match ws.items.get(id) {
            Some(item) => upsert.execute(params![id, serde_json::to_string(item)?])?,
            None => delete.execute([id])?,
        };
    }
    Ok(())
}

/// Load the workspace, if one was saved.
pub fn load(conn: &Connection) -> anyhow::Result<Option<Workspace>> {
    let schema: Option<String> = conn
        .query_row("SELECT schema FROM host_workspace WHERE id = 0", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(schema) = schema else {
        return Ok(None);
    };
    let schema: WorkspaceSchema = serde_json::from_str(&schema)?;
    let mut ws = Workspace::new(schema);
    let mut stmt = conn.prepare("SELECT item FROM host_items ORDER BY id")?;
    for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let item: HostItem = serde_json::from_str(&row?)?;
        ws.items.insert(item.id.clone(), item);
    }
    Ok(Some(ws))
}

/// Save the whole workspace in one transaction.
pub fn save(conn: &mut Connection, ws: &Workspace) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO host_workspace (id, schema) VALUES (0, ?1) ON CONFLICT(id) DO UPDATE SET schema = excluded.schema",
        [serde_json::to_string(&ws.schema)?],
    )?;
    tx.execute("DELETE FROM host_items", [])?;
    for item in ws.items.values() {
        tx.execute(
            "INSERT INTO host_items (id, item) VALUES (?1, ?2)",
            params![item.id, serde_json::to_string(item)?],
        )?;
    }
    tx.commit()?;
    Ok(())
}
