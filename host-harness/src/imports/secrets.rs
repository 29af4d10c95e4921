//! The `secrets` import: where PATs and passwords live. The plugin's storage records only hold
//! a secret's name. The SQLite vault encrypts each secret (ChaCha20-Poly1305) with a key kept in
//! a separate file beside the database (mode 0600), so a copy of the database alone reveals nothing.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

type Result<T> = std::result::Result<T, String>;

/// A vault of named secrets.
pub trait Vault: Send + Sync {
    /// Store a secret.
    fn put(&self, name: &str, value: &str) -> Result<()>;
    /// Read a secret.
    fn get(&self, name: &str) -> Result<Option<String>>;
    /// Forget a secret.
    fn forget(&self, name: &str) -> Result<()>;
}

/// An in-memory vault (tests).
#[derive(Default)]
pub struct MemoryVault {
    inner: Mutex<HashMap<String, String>>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Vault for MemoryVault {
    fn put(&self, name: &str, value: &str) -> Result<()> {
        self.inner
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .insert(name.into(), value.into());
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .inner
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .get(name)
            .cloned())
    }
    fn forget(&self, name: &str) -> Result<()> {
        self.inner
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .remove(name);
        Ok(())
    }
}

/// Secrets encrypted at rest in the host's SQLite database.
pub struct SqliteVault {
    conn: Mutex<Connection>,
    cipher: ChaCha20Poly1305,
}

fn sql(e: rusqlite::Error) -> String {
    format!("vault: {e}")
}

impl SqliteVault {
    /// Open the vault in `db`, with its key in `key_file` (created with mode 0600 when missing).
    pub fn open(db: &Path, key_file: &Path) -> Result<Self> {
        let key = load_or_create_key(key_file)?;
        let conn = Connection::open(db).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS host_secrets (name TEXT PRIMARY KEY, nonce BLOB NOT NULL, sealed BLOB NOT NULL);",
        )
        .map_err(sql)?;
        Ok(SqliteVault {
            conn: Mutex::new(conn),
            cipher: ChaCha20Poly1305::new(&key),
        })
    }
}

fn load_or_create_key(path: &Path) -> Result<Key> {
    if let Ok(bytes) = std::fs::read(path) {
        if bytes.len() != 32 {
            return Err(format!(
                "vault key {} is corrupt (expected 32 bytes)",
                path.display()
            ));
        }
        return Ok(*Key::from_slice(&bytes));
    }
    let key = ChaCha20Poly1305::generate_key(&mut OsRng);
    write_private(path, key.as_slice())
        .map_err(|e| format!("writing vault key {}: {e}", path.display()))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

impl Vault for SqliteVault {
    fn put(&self, name: &str, value: &str) -> Result<()> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, value.as_bytes())
            .map_err(|_| "vault: encryption failed".to_string())?;
        self.conn
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .execute(
                "INSERT INTO host_secrets (name, nonce, sealed) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed",
                params![name, nonce.as_slice(), sealed],
            )
            .map_err(sql)?;
        Ok(())
    }
    fn get(&self, name: &str) -> Result<Option<String>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .conn
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .query_row(
                "SELECT nonce, sealed FROM host_secrets WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let Some((nonce, sealed)) = row else {
            return Ok(None);
        };
        if nonce.len() != 12 {
            return Err("vault: corrupt entry".into());
        }
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&nonce), sealed.as_slice())
            .map_err(|_| "vault: the secret cannot be decrypted with this key file".to_string())?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| "vault: corrupt entry".into())
    }
    fn forget(&self, name: &str) -> Result<()> {
        self.conn
            .lock()
            .map_err(|_| "vault lock poisoned")?
            .execute("DELETE FROM host_secrets WHERE name = ?1", [name])
            .map_err(sql)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_vault_encrypts_at_rest() {
        let dir = std::env::temp_dir().join(format!("ado-sync-vault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("v.db");
        let key = dir.join("v.key");
        let vault = SqliteVault::open(&db, &key).unwrap();
        vault.put("c/1", "my-very-recognisable-secret").unwrap();
        assert_eq!(
            vault.get("c/1").unwrap().as_deref(),
            Some("my-very-recognisable-secret")
        );
        drop(vault);
        let raw = std::fs::read(&db).unwrap();
        let needle = b"my-very-recognisable-secret";
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "secret stored in plain text"
        );
        let again = SqliteVault::open(&db, &key).unwrap();
        assert_eq!(
            again.get("c/1").unwrap().as_deref(),
            Some("my-very-recognisable-secret")
        );
        again.forget("c/1").unwrap();
        assert_eq!(again.get("c/1").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
