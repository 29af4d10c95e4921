//! Shared set-up for the end-to-end scenarios: the real component, loaded once per test binary,
//! in the real harness, talking to the simulated ADO through the egress choke point.

use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::api::*;
use ado_sync_host::imports::secrets::MemoryVault;
use ado_sync_host::imports::storage::{FailingStorage, MemoryStorage, Storage};
use ado_sync_host::workspace::{sample, Workspace};
use ado_sync_host::{Limits, PluginHost, Runtime};
use std::sync::{Arc, OnceLock};

/// The cloud URL tests connect to; the egress policy sends it to the simulator.
pub const CLOUD_URL: &str = "https://dev.azure.com/contoso";
/// The on-prem collection URL tests connect to.
pub const ONPREM_URL: &str = "https://ado.fabrikam.example/tfs/DefaultCollection";
/// The workspace id of the sample workspace.
pub const WORKSPACE_ID: &str = "ws-acme";

/// The component, compiled once per test binary.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let path = ado_sync_host::component_path();
            Arc::new(Runtime::load(&path, Limits::default()).unwrap_or_else(|e| {
                panic!("{e}\nBuild it first: cargo build -p ado-sync-plugin --release --target wasm32-wasip2")
            }))
        })
        .clone()
}

/// A simulated ADO, a host with in-memory storage, and the sample workspace.
pub struct Scenario {
    /// The simulated ADO.
    pub sim: AdoSim,
    /// The host with the component.
    pub host: PluginHost,
    /// The plugin's storage (to inspect, and to make writes fail).
    pub storage: Arc<FailingStorage<MemoryStorage>>,
    /// The host workspace.
    pub workspace: Workspace,
}

impl Scenario {
    /// Seeded simulator, fresh storage, schema stored.
    pub async fn start() -> Scenario {
        let sim = AdoSim::start_seeded().await;
        Self::with_sim(sim).await
    }

    /// A scenario over an existing simulator.
    pub async fn with_sim(sim: AdoSim) -> Scenario {
        let storage = Arc::new(FailingStorage::new(MemoryStorage::new()));
        let host =
            PluginHost::with_runtime(runtime(), storage.clone(), Arc::new(MemoryVault::new()));
        host.redirect(CLOUD_URL, &sim.uri());
        host.redirect(ONPREM_URL, &sim.uri());
        let workspace = Workspace::new(sample::schema(WORKSPACE_ID));
        host.set_workspace_schema(&workspace.schema)
            .await
            .expect("schema accepted");
        Scenario {
            sim,
            host,
            storage,
            workspace,
        }
    }

    /// Connect with the simulator's valid PAT.
    pub async fn connect_cloud(&self) -> ConnectionInfo {
        self.host
            .connect("Contoso", &cloud(AdoSim::PAT))
            .await
            .expect("connect")
    }

    /// Connect, add `project`, store the proposed mapping; returns the integration id.
    pub async fn integrate(
        &self,
        project: &str,
        epic_is_product_level: bool,
    ) -> (ConnectionInfo, String) {
        let conn = self.connect_cloud().await;
        let integration = self
            .host
            .add_project(&conn.id, project, project)
            .await
            .expect("add project");
        let mapping = self
            .host
            .propose_mapping(&integration.id, epic_is_product_level)
            .await
            .expect("propose");
        self.host
            .set_mapping(&integration.id, &mapping)
            .await
            .expect("set mapping");
        (conn, integration.id)
    }

    /// Apply changes to the workspace, asserting none is refused.
    pub fn apply(&mut self, changes: &[HostChange]) {
        let applied = self.workspace.apply(changes);
        assert!(
            applied.rejected.is_empty(),
            "workspace refused changes: {:?}",
            applied.rejected
        );
    }

    /// Every stored record as text (to look for secrets).
    pub fn storage_dump(&self) -> String {
        self.storage_dump_except(&[])
    }

    /// Every stored record as text, leaving out keys under the given prefixes.
    pub fn storage_dump_except(&self, prefixes: &[&str]) -> String {
        self.storage
            .dump()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !prefixes.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| format!("{k}={}\n", String::from_utf8_lossy(&v)))
            .collect()
    }

    /// Run ADO → host over the whole project and apply the changes.
    pub async fn pull(&mut self, integration: &str) -> SyncOutcome {
        let request = SyncRequest {
            host_items: self.workspace.item_list(),
            ..sync_request(integration, SyncDirection::AdoToHost)
        };
        let outcome = self
            .host
            .sync_once(&request)
            .await
            .expect("ADO -> host sync");
        self.apply(&outcome.changes);
        outcome
    }

    /// Run host → ADO for the whole workspace.
    pub async fn push(&mut self, integration: &str) -> SyncOutcome {
        let request = SyncRequest {
            host_items: self.workspace.item_list(),
            ..sync_request(integration, SyncDirection::HostToAdo)
        };
        self.host
            .sync_once(&request)
            .await
            .expect("host -> ADO sync")
    }

    /// The host item linked to a work item (deterministic id of items that came from ADO).
    pub fn host_id(&self, connection: &str, work_item: i64) -> String {
        format!("ado-{connection}-{work_item}")
    }
}

/// A cloud connection target with `pat`.
pub fn cloud(pat: &str) -> ConnectionTarget {
    ConnectionTarget::Cloud(CloudCredentials {
        url: CLOUD_URL.into(),
        email: "builder@contoso.example".into(),
        pat: pat.into(),
    })
}

/// An on-prem connection target.
pub fn onprem(user: &str, password: &str) -> ConnectionTarget {
    ConnectionTarget::OnPrem(OnPremCredentials {
        collection_url: ONPREM_URL.into(),
        username: user.into(),
        password: password.into(),
    })
}

/// A sync request with no filters.
pub fn sync_request(integration: &str, direction: SyncDirection) -> SyncRequest {
    SyncRequest {
        integration: integration.into(),
        direction,
        ado_filter: AdoFilter {
            open_only: false,
            work_item_types: vec![],
            tags: vec![],
        },
        host_scope: HostScope::WholeWorkspace,
        host_items: vec![],
        dry_run: false,
        page_size: None,
        cursor: None,
    }
}
