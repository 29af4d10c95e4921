//! The `storage` import: a versioned key-value store. SQLite (WAL) for the runnable host,
//! memory for fast tests. Versions come from one counter per store, so a key that is deleted and
//! written again never reuses an old version (no ABA for compare-and-swap).

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A storage failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StorageFailure(pub String);

type Result<T> = std::result::Result<T, StorageFailure>;

/// Largest value accepted (ADO work items can hold 1M-character fields; records stay far below).
pub const MAX_VALUE_BYTES: usize = 8 * 1024 * 1024;

/// A versioned key-value store shared by every instance of the component.
pub trait Storage: Send + Sync {
    /// Read a key and its version.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>>;
    /// Write unconditionally; returns the new version.
    fn set(&self, key: &str, value: &[u8]) -> Result<u64>;
    /// Delete a key.
    fn delete(&self, key: &str) -> Result<()>;
    /// Keys with this prefix, ascending.
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>>;
    /// Write only if the current version is `expected` (`None`: only if absent).
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>>;
    /// Every key and value, for inspection in tests and `status`.
    fn dump(&self) -> Result<Vec<(String, Vec<u8>)>>;
}

/// The last version handed out, and every key's value and version.
type MemoryState = (u64, BTreeMap<String, (Vec<u8>, u64)>);

/// In-memory storage.
#[derive(Default)]
pub struct MemoryStorage {
    inner: Mutex<MemoryState>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| StorageFailure("storage lock poisoned".into()))
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(lock(&self.inner)?.1.get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<u64> {
        let mut g = lock(&self.inner)?;
        g.0 += 1;
        let v = g.0;
        g.1.insert(key.to_string(), (value.to_vec(), v));
        Ok(v)
    }
    fn delete(&self, key: &str) -> Result<()> {
        lock(&self.inner)?.1.remove(key);
        Ok(())
    }
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(lock(&self.inner)?
            .1
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>> {
        let mut g = lock(&self.inner)?;
        let current = g.1.get(key).map(|(_, v)| *v);
        if current != expected {
            return Ok(None);
        }
        g.0 += 1;
        let v = g.0;
        g.1.insert(key.to_string(), (value.to_vec(), v));
        Ok(Some(v))
    }
    fn dump(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(lock(&self.inner)?
            .1
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect())
    }
}

/// SQLite storage (one file, WAL journal, synchronous=FULL so an acknowledged write survives a crash).
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

fn sql(e: rusqlite::Error) -> StorageFailure {
    StorageFailure(format!("sqlite: {e}"))
}

impl SqliteStorage {
    /// Open (or create) the database file.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(sql)?;
        Self::init(conn)
    }

    /// A private in-memory SQLite database (tests).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(sql)?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS plugin_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS plugin_kv_seq (id INTEGER PRIMARY KEY CHECK (id = 0), next INTEGER NOT NULL);
             INSERT OR IGNORE INTO plugin_kv_seq (id, next) VALUES (0, 1);",
        )
        .map_err(sql)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
        })
    }

    fn next_version(tx: &rusqlite::Transaction) -> Result<u64> {
        let v: i64 = tx
            .query_row(
                "UPDATE plugin_kv_seq SET next = next + 1 WHERE id = 0 RETURNING next - 1",
                [],
                |r| r.get(0),
            )
            .map_err(sql)?;
        Ok(v as u64)
    }
}

fn check_size(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(StorageFailure(format!(
            "value of {} bytes exceeds {MAX_VALUE_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

impl Storage for SqliteStorage {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>> {
        let conn = lock(&self.conn)?;
        conn.query_row(
            "SELECT value, version FROM plugin_kv WHERE key = ?1",
            [key],
            |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)? as u64)),
        )
        .optional()
        .map_err(sql)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<u64> {
        check_size(value)?;
        let mut conn = lock(&self.conn)?;
        let tx = conn.transaction().map_err(sql)?;
        let v = Self::next_version(&tx)?;
        tx.execute(
            "INSERT INTO plugin_kv (key, value, version) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version",
            params![key, value, v as i64],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(v)
    }
    fn delete(&self, key: &str) -> Result<()> {
        lock(&self.conn)?
            .execute("DELETE FROM plugin_kv WHERE key = ?1", [key])
            .map_err(sql)?;
        Ok(())
    }
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn
            .prepare("SELECT key FROM plugin_kv WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")
            .map_err(sql)?;
        let rows = stmt
            .query_map([prefix], |r| r.get::<_, String>(0))
            .map_err(sql)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(sql)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>> {
        check_size(value)?;
        let mut conn = lock(&self.conn)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let current: Option<i64> = tx
            .query_row("SELECT version FROM plugin_kv WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        if current.map(|v| v as u64) != expected {
            return Ok(None);
        }
        let v = Self::next_version(&tx)?;
        tx.execute(
            "INSERT INTO plugin_kv (key, value, version) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version",
            params![key, value, v as i64],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Some(v))
    }
    fn dump(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let conn = lock(&self.conn)?;
        let mut stmt = conn
            .prepare("SELECT key, value FROM plugin_kv ORDER BY key")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(sql)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn Storage) {
        assert_eq!(s.get("a").unwrap(), None);
        let v1 = s.set("a", b"1").unwrap();
        assert_eq!(s.get("a").unwrap(), Some((b"1".to_vec(), v1)));
        assert_eq!(s.compare_and_swap("a", Some(v1 + 100), b"x").unwrap(), None);
        let v2 = s.compare_and_swap("a", Some(v1), b"2").unwrap().unwrap();
        assert!(v2 > v1);
        assert!(s.compare_and_swap("b", None, b"b").unwrap().is_some());
        assert_eq!(s.compare_and_swap("b", None, b"c").unwrap(), None);
        s.set("ab", b"").unwrap();
        assert_eq!(s.list_keys("a").unwrap(), vec!["a", "ab"]);
        s.delete("a").unwrap();
        let v3 = s.set("a", b"again").unwrap();
        assert!(v3 > v2, "versions never repeat after delete");
        assert_eq!(s.compare_and_swap("a", Some(v1), b"stale").unwrap(), None);
        assert_eq!(s.dump().unwrap().len(), 3);
    }

    #[test]
    fn memory_storage_behaves() {
        exercise(&MemoryStorage::new());
    }

    #[test]
    fn sqlite_storage_behaves_and_persists() {
        exercise(&SqliteStorage::in_memory().unwrap());
        let dir = std::env::temp_dir().join(format!("ado-sync-kv-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        {
            let s = SqliteStorage::open(&dir).unwrap();
            s.set("k", b"v").unwrap();
        }
        let s = SqliteStorage::open(&dir).unwrap();
        assert_eq!(s.get("k").unwrap().map(|(v, _)| v), Some(b"v".to_vec()));
        let _ = std::fs::remove_file(&dir);
    }
}
