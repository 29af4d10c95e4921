//! The runnable host: one SQLite file (plugin storage, the encrypted vault and the host
//! workspace), the component, and the operations the CLI and the server share.
//!
//! Durability: every change the host acknowledges is committed first. A webhook delivery runs
//! inside one [`UnitOfWork`](crate::imports::storage::UnitOfWork): the plugin's link and counter
//! writes and the workspace changes it returns commit together, so a crash either keeps both or
//! neither (and ADO's retry of the unacknowledged delivery is then applied afresh). Plugin calls
//! run one at a time (the workspace lock), which is what lets them share one connection.
//!
//! - [`error`]: the one error type, with stable kinds;
//! - [`configure`]: connections, projects, mappings, status;
//! - [`sync`]: one-time sync in pages, with progress;
//! - [`webhook`]: deliveries, provisioning and healing of the service hooks.

pub mod configure;
pub mod error;
pub mod sync;
pub mod webhook;

pub use error::AppError;

use crate::api::HostChange;
use crate::imports::secrets::SqliteVault;
use crate::imports::storage::{SqliteStorage, UnitOfWork};
use crate::workspace::{persist, sample, Applied, Workspace};
use crate::{Limits, PluginHost};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A result of an operation.
pub type AppResult<T> = Result<T, AppError>;

/// How to open the host.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The SQLite file (created on first run); the vault key lives beside it in `<db>.key`.
    pub db: PathBuf,
    /// The component file.
    pub component: PathBuf,
    /// The workspace id used when the database holds no workspace yet.
    pub workspace_id: String,
    /// Send every ADO origin to this simulated ADO instead (`--ado-sim`).
    pub ado_sim: Option<String>,
}

/// The host, opened on its database.
pub struct App {
    host: PluginHost,
    storage: Arc<SqliteStorage>,
    vault: Arc<SqliteVault>,
    workspace: tokio::sync::Mutex<Workspace>,
    db: PathBuf,
    ado_sim: Option<String>,
}

/// The vault key file of a database: `<db>.key`.
pub fn key_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", db.display()))
}

impl App {
    /// Open (or create) the database, load the component, store the workspace schema.
    pub async fn open(options: &AppOptions) -> AppResult<App> {
        let db = &options.db;
        let storage = Arc::new(SqliteStorage::open(db)?);
        let vault = Arc::new(SqliteVault::open(db, &key_file(db)).map_err(AppError::Storage)?);
        let loaded = storage
            .with_connection(|c| {
                persist::create_tables(c)?;
                persist::load(c)
            })?
            .map_err(AppError::storage)?;
        let fresh = loaded.is_none();
        let workspace =
            loaded.unwrap_or_else(|| Workspace::new(sample::schema(&options.workspace_id)));
        let host = PluginHost::load(
            &options.component,
            storage.clone(),
            vault.clone(),
            Limits::default(),
        )?;
        host.set_workspace_schema(&workspace.schema).await?;
        if fresh {
            storage
                .with_connection(|c| persist::save_items(c, &workspace, std::iter::empty()))?
                .map_err(AppError::storage)?;
        }
        host.start().await?;
        let app = App {
            host,
            storage,
            vault,
            workspace: tokio::sync::Mutex::new(workspace),
            db: db.clone(),
            ado_sim: options.ado_sim.clone(),
        };
        if app.ado_sim.is_some() {
            for c in app.host.list_connections().await? {
                app.redirect(&c.base_url);
            }
        }
        tracing::info!(db = %db.display(), fresh, "opened");
        Ok(app)
    }

    /// The component host (for calls this module does not wrap).
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// The database file.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// The workspace id (it appears in the webhook path).
    pub async fn workspace_id(&self) -> String {
        self.workspace.lock().await.schema.workspace_id.clone()
    }

    /// A copy of the workspace as it is now.
    pub async fn workspace(&self) -> Workspace {
        self.workspace.lock().await.clone()
    }

    /// With `--ado-sim`, send `url`'s origin to the simulator.
    fn redirect(&self, url: &str) {
        if let Some(sim) = &self.ado_sim {
            self.host.redirect(url, sim);
        }
    }

    /// Apply `changes` to the workspace and persist what they touched: inside `unit` (with the
    /// plugin's writes) when given, in a transaction of its own otherwise. On failure the
    /// workspace is reloaded from the database, so memory never runs ahead of the file.
    fn apply(
        &self,
        ws: &mut Workspace,
        changes: &[HostChange],
        unit: Option<UnitOfWork>,
    ) -> AppResult<Applied> {
        let touched = touched_ids(ws, changes);
        let applied = ws.apply(changes);
        match unit {
            Some(unit) => self.commit_workspace(ws, unit, &touched)?,
            None if touched.is_empty() => {}
            None => {
                let written = self
                    .storage
                    .with_connection(|c| -> anyhow::Result<()> {
                        let tx = c.transaction()?;
                        persist::save_items(&tx, ws, &touched)?;
                        tx.commit()?;
                        Ok(())
                    })
                    .map_err(AppError::from)
                    .and_then(|r| r.map_err(AppError::storage));
                if let Err(e) = written {
                    self.reload_workspace(ws, &e);
                    return Err(e);
                }
            }
        }
        Ok(applied)
    }

    /// Commit `unit` with the `touched` workspace items; on failure the workspace is reloaded
    /// from the database, so memory never runs ahead of what was committed.
    fn commit_workspace(
        &self,
        ws: &mut Workspace,
        unit: UnitOfWork,
        touched: &BTreeSet<String>,
    ) -> AppResult<()> {
        let written = unit
            .commit_with(|c| persist::save_items(c, ws, touched))
            .map_err(AppError::from);
        if let Err(e) = written {
            self.reload_workspace(ws, &e);
            return Err(e);
        }
        Ok(())
    }

    fn reload_workspace(&self, ws: &mut Workspace, e: &AppError) {
        tracing::error!(error = %e, "persisting the workspace failed; reloading it");
        if let Ok(Ok(Some(again))) = self.storage.with_connection(|c| persist::load(c)) {
            *ws = again;
        }
    }
}

/// The items a batch of changes writes: their ids, and the children of deleted items (whose
/// parent the workspace clears).
fn touched_ids(ws: &Workspace, changes: &[HostChange]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in changes {
        match c {
            HostChange::Create(i) | HostChange::Update(i) => {
                out.insert(i.id.clone());
            }
            HostChange::Patch(p) => {
                out.insert(p.item.id.clone());
            }
            HostChange::Delete(id) => {
                out.insert(id.clone());
                out.extend(
                    ws.items
                        .values()
                        .filter(|i| i.parent.as_deref() == Some(id.as_str()))
                        .map(|i| i.id.clone()),
                );
            }
        }
    }
    out
}
