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
    conn: Mutex<Db>,
}

/// The connection, and while a unit of work writes, the next version to hand out: read from
/// `plugin_kv_seq` at the unit's first write and written back at its commit, instead of one
/// counter update per write (the unit holds the write lock, so no one else draws from it).
struct Db {
    conn: Connection,
    unit_next_version: Option<u64>,
}

impl std::ops::Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
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
            conn: Mutex::new(Db {
                conn,
                unit_next_version: None,
            }),
        })
    }

    /// Run `f` on the store's connection: the runnable host keeps its own tables (the workspace)
    /// in the same file, so they can share one transaction with the plugin's writes.
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> Result<T> {
        let mut db = lock(&self.conn)?;
        Ok(f(&mut db.conn))
    }

    /// Start a unit of work: every write the plugin makes until [`UnitOfWork::commit_with`]
    /// joins one SQLite transaction (taken `IMMEDIATE`, so it holds the write lock), together
    /// with whatever the host writes in `commit_with`. Dropping it uncommitted rolls back.
    ///
    /// The caller must keep other users of this store out while it is open (the runnable host
    /// runs one plugin call at a time); their writes would otherwise join the transaction.
    pub fn begin(self: &std::sync::Arc<Self>) -> Result<UnitOfWork> {
        let mut db = lock(&self.conn)?;
        db.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
        db.unit_next_version = None;
        Ok(UnitOfWork {
            storage: self.clone(),
            open: true,
        })
    }
}

/// One transaction spanning a plugin call and the host's own writes; see [`SqliteStorage::begin`].
pub struct UnitOfWork {
    storage: std::sync::Arc<SqliteStorage>,
    open: bool,
}

impl UnitOfWork {
    /// Run the host's writes on the same connection, then commit everything at once. When `f`
    /// fails, everything (the plugin's writes too) is rolled back and the error returned.
    pub fn commit_with<E: std::fmt::Display>(
        mut self,
        f: impl FnOnce(&Connection) -> std::result::Result<(), E>,
    ) -> Result<()> {
        self.open = false;
        let mut db = lock(&self.storage.conn)?;
        let next_version = db.unit_next_version.take();
        let conn = &db.conn;
        if let Err(e) = f(conn) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StorageFailure(format!("host write failed: {e}")));
        }
        if let Some(next) = next_version {
            // Never backwards, even if the unit's transaction was lost and writes outside it
            // drew from the counter meanwhile.
            let saved = conn
                .prepare_cached("UPDATE plugin_kv_seq SET next = max(next, ?1) WHERE id = 0")
                .and_then(|mut s| s.execute([next as i64]));
            if let Err(e) = saved {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(sql(e));
            }
        }
        if let Err(e) = conn.execute_batch("COMMIT") {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(sql(e));
        }
        Ok(())
    }

    /// Commit the plugin's writes alone.
    pub fn commit(self) -> Result<()> {
        self.commit_with(|_| Ok::<(), StorageFailure>(()))
    }

    /// Undo everything written since [`SqliteStorage::begin`].
    pub fn rollback(mut self) {
        self.undo();
    }

    fn undo(&mut self) {
        if std::mem::take(&mut self.open) {
            if let Ok(mut db) = lock(&self.storage.conn) {
                db.unit_next_version = None;
                if !db.is_autocommit() {
                    let _ = db.execute_batch("ROLLBACK");
                }
            }
        }
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        self.undo();
    }
}

impl SqliteStorage {
    /// A write of one key with its new version: its own transaction, or part of an open unit
    /// of work.
    fn write<T>(&self, f: impl FnOnce(&Connection, u64) -> Result<T>) -> Result<T> {
        let mut db = lock(&self.conn)?;
        if db.is_autocommit() {
            let tx = db
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql)?;
            let v: i64 = tx
                .prepare_cached(
                    "UPDATE plugin_kv_seq SET next = next + 1 WHERE id = 0 RETURNING next - 1",
                )
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(sql)?;
            let out = f(&tx, v as u64)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        } else {
            // Inside a unit of work its transaction holds the write lock, and this connection
            // is this store's alone: no savepoint is needed. A write failing half-way leaves at
            // most a skipped version number.
            let v = match db.unit_next_version {
                Some(v) => v,
                None => db
                    .prepare_cached("SELECT next FROM plugin_kv_seq WHERE id = 0")
                    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                    .map_err(sql)? as u64,
            };
            db.unit_next_version = Some(v + 1);
            f(&db.conn, v)
        }
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
        conn.prepare_cached("SELECT value, version FROM plugin_kv WHERE key = ?1")
            .and_then(|mut s| {
                s.query_row([key], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .optional()
            })
            .map_err(sql)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<u64> {
        check_size(value)?;
        self.write(|tx, v| {
            tx.prepare_cached(UPSERT)
                .and_then(|mut s| s.execute(params![key, value, v as i64]))
                .map_err(sql)?;
            Ok(v)
        })
    }
    fn delete(&self, key: &str) -> Result<()> {
        lock(&self.conn)?
            .prepare_cached("DELETE FROM plugin_kv WHERE key = ?1")
            .and_then(|mut s| s.execute([key]))
            .map_err(sql)?;
        Ok(())
    }
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let conn = lock(&self.conn)?;
        // A range on the primary key instead of a scan of every record.
        let keys = match prefix_upper_bound(prefix) {
            Some(upper) => conn.prepare_cached(LIST_RANGE).and_then(|mut s| {
                s.query_map(rusqlite::params![prefix, upper], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            }),
            None => conn.prepare_cached(LIST_FROM).and_then(|mut s| {
                s.query_map([prefix], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            }),
        };
        keys.map_err(sql)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>> {
        check_size(value)?;
        // One conditional statement: it changes a row only when the version is the expected one
        // (or, expecting none, when the key is absent). A swap that fails still uses up a
        // version number, which only has to be unique and increasing.
        self.write(|tx, v| {
            let changed = match expected {
                Some(old) => tx
                    .prepare_cached(SWAP)
                    .and_then(|mut s| s.execute(params![key, value, v as i64, old as i64])),
                None => tx
                    .prepare_cached(CREATE)
                    .and_then(|mut s| s.execute(params![key, value, v as i64])),
            }
            .map_err(sql)?;
            Ok((changed == 1).then_some(v))
        })
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

/// Write a record with its new version. Statements here are prepared once per connection
/// (`prepare_cached`): a webhook call makes a handful of reads and writes per delivery.
const UPSERT: &str = "INSERT INTO plugin_kv (key, value, version) VALUES (?1, ?2, ?3)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version";

/// Replace a record whose version is ?4.
const SWAP: &str = "UPDATE plugin_kv SET value = ?2, version = ?3 WHERE key = ?1 AND version = ?4";

/// Create a record unless the key exists.
const CREATE: &str = "INSERT INTO plugin_kv (key, value, version) VALUES (?1, ?2, ?3)
     ON CONFLICT(key) DO NOTHING";

/// Keys from ?1 (a prefix) up to ?2 (its upper bound), on the primary key index.
const LIST_RANGE: &str = "SELECT key FROM plugin_kv WHERE key >= ?1 AND key < ?2 \
     AND substr(key, 1, length(?1)) = ?1 ORDER BY key";

/// Keys from ?1 (a prefix with no upper bound: only U+10FFFF characters, or empty) on.
const LIST_FROM: &str = "SELECT key FROM plugin_kv WHERE key >= ?1 \
     AND substr(key, 1, length(?1)) = ?1 ORDER BY key";

/// The least string above every string that starts with `prefix`: the prefix with its last
/// character replaced by the next one (UTF-8 keeps code point order, so byte-wise this bounds
/// every extension). `None` when no such string exists (only U+10FFFF characters).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Storage that fails chosen writes (tests of crash consistency): either the next `times` writes
/// whose key starts with `prefix`, or the n-th write from a chosen point, fail as if the database
/// were gone; everything else passes through. Writes (set, delete, compare-and-swap) are counted,
/// so a test can learn how many write points a step has and fail each in turn.
pub struct FailingStorage<S> {
    inner: S,
    plan: Mutex<Plan>,
}

#[derive(Default)]
struct Plan {
    by_prefix: Option<(String, usize)>,
    /// Fail the write with this ordinal (1-based, counted from the last reset).
    nth: Option<usize>,
    writes: usize,
    failed: Vec<String>,
}

impl<S: Storage> FailingStorage<S> {
    /// Wrap a store.
    pub fn new(inner: S) -> Self {
        FailingStorage {
            inner,
            plan: Mutex::new(Plan::default()),
        }
    }

    /// Fail the next `times` writes under `prefix`.
    pub fn fail_writes(&self, prefix: &str, times: usize) {
        if let Ok(mut p) = self.plan.lock() {
            p.by_prefix = Some((prefix.to_string(), times));
        }
    }

    /// Start counting writes from zero (and forget which writes failed).
    pub fn reset_write_count(&self) {
        if let Ok(mut p) = self.plan.lock() {
            p.writes = 0;
            p.failed.clear();
        }
    }

    /// Writes attempted since the last [`Self::reset_write_count`] (failed ones included).
    pub fn write_count(&self) -> usize {
        self.plan.lock().map(|p| p.writes).unwrap_or_default()
    }

    /// Count writes from zero and fail the `n`-th one (1-based), once.
    pub fn fail_nth_write(&self, n: usize) {
        if let Ok(mut p) = self.plan.lock() {
            p.writes = 0;
            p.failed.clear();
            p.nth = Some(n);
        }
    }

    /// The keys whose writes were made to fail since the last reset.
    pub fn failed_keys(&self) -> Vec<String> {
        self.plan
            .lock()
            .map(|p| p.failed.clone())
            .unwrap_or_default()
    }

    /// Stop failing writes.
    pub fn heal(&self) {
        if let Ok(mut p) = self.plan.lock() {
            p.by_prefix = None;
            p.nth = None;
        }
    }

    fn should_fail(&self, key: &str) -> Result<()> {
        let mut plan = lock(&self.plan)?;
        plan.writes += 1;
        let mut fail = false;
        if let Some((prefix, left)) = plan.by_prefix.as_mut() {
            if key.starts_with(prefix.as_str()) && *left > 0 {
                *left -= 1;
                fail = true;
            }
        }
        if plan.nth == Some(plan.writes) {
            plan.nth = None;
            fail = true;
        }
        if fail {
            plan.failed.push(key.to_string());
            return Err(StorageFailure(format!("injected failure writing {key}")));
        }
        Ok(())
    }
}

impl<S: Storage> Storage for FailingStorage<S> {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<u64> {
        self.should_fail(key)?;
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.should_fail(key)?;
        self.inner.delete(key)
    }
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list_keys(prefix)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>> {
        self.should_fail(key)?;
        self.inner.compare_and_swap(key, expected, value)
    }
    fn dump(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.dump()
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
    fn a_unit_of_work_commits_plugin_and_host_writes_together_or_not_at_all() {
        let s = std::sync::Arc::new(SqliteStorage::in_memory().unwrap());
        s.with_connection(|c| c.execute_batch("CREATE TABLE host (v TEXT)"))
            .unwrap()
            .unwrap();
        let before = s.set("kept", b"1").unwrap();

        let uow = s.begin().unwrap();
        s.set("a", b"1").unwrap();
        assert!(s
            .compare_and_swap("kept", Some(before), b"2")
            .unwrap()
            .is_some());
        uow.rollback();
        assert_eq!(s.get("a").unwrap(), None, "rolled back");
        assert_eq!(s.get("kept").unwrap().map(|(v, _)| v), Some(b"1".to_vec()));

        let uow = s.begin().unwrap();
        s.set("b", b"1").unwrap();
        drop(uow);
        assert_eq!(s.get("b").unwrap(), None, "dropping uncommitted rolls back");

        let uow = s.begin().unwrap();
        s.set("c", b"1").unwrap();
        let failed = uow.commit_with(|c| c.execute_batch("INSERT INTO missing VALUES (1)"));
        assert!(failed.is_err());
        assert_eq!(
            s.get("c").unwrap(),
            None,
            "a failing host write undoes the plugin's"
        );

        let uow = s.begin().unwrap();
        s.set("d", b"1").unwrap();
        uow.commit_with(|c| c.execute_batch("INSERT INTO host VALUES ('x')"))
            .unwrap();
        assert!(s.get("d").unwrap().is_some());
        let n: i64 = s
            .with_connection(|c| c.query_row("SELECT count(*) FROM host", [], |r| r.get(0)))
            .unwrap()
            .unwrap();
        assert_eq!(n, 1);
        assert!(
            s.set("e", b"after").is_ok(),
            "writes work again outside a unit"
        );
    }

    #[test]
    fn versions_drawn_inside_units_keep_increasing_across_units_and_reopening() {
        let dir = std::env::temp_dir().join(format!("ado-sync-versions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kv.db");
        let mut seen = Vec::new();
        {
            let s = std::sync::Arc::new(SqliteStorage::open(&file).unwrap());
            seen.push(s.set("outside", b"0").unwrap());
            let uow = s.begin().unwrap();
            let a = s.set("a", b"1").unwrap();
            let b = s.compare_and_swap("b", None, b"1").unwrap().unwrap();
            assert_eq!(b, a + 1, "one counter for the unit's writes");
            uow.commit().unwrap();
            seen.extend([a, b]);
            seen.push(s.set("outside", b"1").unwrap());

            // A rolled-back unit's versions were never visible; the next ones still increase.
            let uow = s.begin().unwrap();
            s.set("gone", b"1").unwrap();
            uow.rollback();
            let uow = s.begin().unwrap();
            seen.push(s.set("a", b"2").unwrap());
            uow.commit().unwrap();
        }
        let s = SqliteStorage::open(&file).unwrap();
        seen.push(s.set("a", b"3").unwrap());
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "every committed write has a newer version than the one before: {seen:?}"
        );
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_storage_behaves() {
        exercise(&MemoryStorage::new());
    }

    #[test]
    fn sqlite_lists_a_prefix_through_the_key_index() {
        let s = SqliteStorage::in_memory().unwrap();
        for k in ["a/", "a/x", "a/\u{e9}", "a/\u{10ffff}z", "a0", "b/x", "a"] {
            s.set(k, b"").unwrap();
        }
        assert_eq!(
            s.list_keys("a/").unwrap(),
            vec!["a/", "a/x", "a/\u{e9}", "a/\u{10ffff}z"]
        );
        // The plan searches the primary key instead of scanning every record (a webhook lists
        // the integrations next to thousands of links).
        let plan: Vec<String> = s
            .with_connection(|c| {
                let mut stmt = c
                    .prepare(&format!("EXPLAIN QUERY PLAN {LIST_RANGE}"))
                    .unwrap();
                let rows = stmt
                    .query_map(["a/", "a0"], |r| r.get::<_, String>(3))
                    .unwrap();
                rows.map(|r| r.unwrap()).collect()
            })
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.starts_with("SEARCH") && p.contains("key>? AND key<?")),
            "{plan:?}"
        );
        assert_eq!(prefix_upper_bound("a/").as_deref(), Some("a0"));
        assert_eq!(
            prefix_upper_bound("a\u{d7ff}").as_deref(),
            Some("a\u{e000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10ffff}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(s.list_keys("").unwrap().len(), 7);
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
        drop(s);
        for end in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{end}", dir.display()));
        }
    }
}
