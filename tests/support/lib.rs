//! Shared set-up for the end-to-end scenarios: the real component, loaded once per test binary,
//! in the real harness, talking to the simulated ADO through the egress choke point.

use ado_sync_host::ado_sim::{parent_of, AdoSim};
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

/// A small deterministic PRNG (xorshift64*): fault schedules drawn from a fixed seed.
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value; zero is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One stored link: which host item goes with which work item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredLink {
    /// The host item.
    pub host_id: String,
    /// The work item.
    pub work_item: i64,
    /// Whether the work item was deleted in ADO.
    pub deleted_in_ado: bool,
}

/// What a one-to-one comparison of both sides found.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Host items.
    pub host_items: usize,
    /// Live ADO work items.
    pub work_items: usize,
    /// Links.
    pub links: usize,
    /// Every difference found (empty when both sides are in step).
    pub problems: Vec<String>,
}

impl Scenario {
    /// An empty simulated organisation with one Agile project holding `n` seeded work items
    /// (Epic > Feature > User Story), and a host over it.
    pub async fn with_bulk(project: &str, n: usize) -> Scenario {
        let sim = AdoSim::start().await;
        sim.create_project(project, "Agile").expect("project");
        if n > 0 {
            sim.seed_bulk(project, n);
        }
        Self::with_sim(sim).await
    }

    /// ADO → host over the whole project; the changes are applied when the call succeeds.
    pub async fn try_pull(&mut self, integration: &str) -> ado_sync_host::CallResult<SyncOutcome> {
        let request = SyncRequest {
            host_items: self.workspace.item_list(),
            ..sync_request(integration, SyncDirection::AdoToHost)
        };
        let outcome = self.host.sync_once(&request).await?;
        self.apply(&outcome.changes);
        Ok(outcome)
    }

    /// Host → ADO for the whole workspace, without asserting success.
    pub async fn try_push(&mut self, integration: &str) -> ado_sync_host::CallResult<SyncOutcome> {
        let request = SyncRequest {
            host_items: self.workspace.item_list(),
            ..sync_request(integration, SyncDirection::HostToAdo)
        };
        self.host.sync_once(&request).await
    }

    /// The links stored for `connection`, by work item.
    pub fn links(&self, connection: &str) -> Vec<StoredLink> {
        let prefix = format!("link/{connection}/wi/");
        self.storage
            .dump()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, v)| serde_json::from_slice::<serde_json::Value>(&v).ok())
            .map(|v| StoredLink {
                host_id: v["host_id"].as_str().unwrap_or_default().to_string(),
                work_item: v["work_item"].as_i64().unwrap_or_default(),
                deleted_in_ado: v["deleted_in_ado"].as_bool().unwrap_or(false),
            })
            .collect()
    }

    /// Compare the host workspace and the live ADO work items one to one through the links:
    /// every host item linked to exactly one live work item and back, no unlinked item on
    /// either side, no title twice on either side, and per pair the same title, the same
    /// parent (through the links) and the values `map_to_host` reads from the work item
    /// (type, status, mapped fields the host item holds).
    pub async fn compare(&self, connection: &str, integration: &str) -> Comparison {
        let links = self.links(connection);
        let work_items: Vec<i64> = self.sim.work_item_ids();
        let mut c = Comparison {
            host_items: self.workspace.items.len(),
            work_items: work_items.len(),
            links: links.len(),
            problems: Vec::new(),
        };
        let mut by_host = std::collections::BTreeMap::new();
        let mut by_wi = std::collections::BTreeMap::new();
        for l in &links {
            if l.deleted_in_ado {
                c.problems.push(format!("link {l:?} is flagged deleted"));
            }
            if by_host.insert(l.host_id.clone(), l.work_item).is_some() {
                c.problems
                    .push(format!("host item {} linked twice", l.host_id));
            }
            by_wi.insert(l.work_item, l.host_id.clone());
        }
        for id in self.workspace.items.keys() {
            if !by_host.contains_key(id) {
                c.problems.push(format!("host item {id} has no link"));
            }
        }
        for wi in &work_items {
            if !by_wi.contains_key(wi) {
                c.problems.push(format!("work item {wi} has no link"));
            }
        }
        let mut titles = std::collections::BTreeMap::<String, usize>::new();
        for wi in &work_items {
            let title = self
                .sim
                .work_item(*wi)
                .map(|w| w["fields"]["System.Title"].clone());
            *titles
                .entry(
                    title
                        .and_then(|t| t.as_str().map(str::to_string))
                        .unwrap_or_default(),
                )
                .or_default() += 1;
        }
        for (t, n) in &titles {
            if *n > 1 {
                c.problems
                    .push(format!("{n} work items titled '{t}' (duplicate)"));
            }
        }
        let mut host_titles = std::collections::BTreeMap::<&str, usize>::new();
        for item in self.workspace.items.values() {
            *host_titles.entry(item.title.as_str()).or_default() += 1;
        }
        for (t, n) in &host_titles {
            if *n > 1 {
                c.problems
                    .push(format!("{n} host items titled '{t}' (duplicate)"));
            }
        }
        for l in &links {
            let Some(item) = self.workspace.items.get(&l.host_id) else {
                c.problems
                    .push(format!("link {l:?}: the host item is missing"));
                continue;
            };
            let Some(wi) = self.sim.work_item(l.work_item) else {
                c.problems
                    .push(format!("link {l:?}: the work item is missing"));
                continue;
            };
            let read = match self.host.map_to_host(integration, &wi.to_string()).await {
                Ok(r) => r,
                Err(e) => {
                    c.problems
                        .push(format!("work item {}: map_to_host: {e}", l.work_item));
                    continue;
                }
            };
            if read.title != item.title {
                c.problems.push(format!(
                    "{}: title '{}' in the host, '{}' in ADO",
                    l.host_id, item.title, read.title
                ));
            }
            if read.item_type != item.item_type || read.status != item.status {
                c.problems.push(format!(
                    "{}: {}/{:?} in the host, {}/{:?} in ADO",
                    l.host_id, item.item_type, item.status, read.item_type, read.status
                ));
            }
            for f in &item.fields {
                let theirs = read.fields.iter().find(|g| g.field == f.field);
                if theirs.map(|g| &g.value) != Some(&f.value) && f.value.is_some() {
                    c.problems.push(format!(
                        "{}: field {} is {:?} in the host, {:?} in ADO",
                        l.host_id,
                        f.field,
                        f.value,
                        theirs.map(|g| &g.value)
                    ));
                }
            }
            let ado_parent = parent_of(&wi);
            let host_parent = item.parent.as_ref().and_then(|p| by_host.get(p).copied());
            if ado_parent != host_parent {
                c.problems.push(format!(
                    "{}: parent {:?} (work item {host_parent:?}) in the host, {ado_parent:?} in ADO",
                    l.host_id, item.parent
                ));
            }
        }
        c
    }
}

/// The Authorization header ADO sends with deliveries of `event`'s subscription.
pub fn delivery_credential(sim: &AdoSim, event: &serde_json::Value) -> String {
    sim.delivery_authorization(event)
        .expect("delivered through a subscription with a credential")
}

/// A webhook delivery of `body` to `path`, with `auth` as its Authorization header.
pub fn webhook_delivery(path: &str, auth: Option<&str>, body: Vec<u8>) -> WebhookRequest {
    let mut headers = vec![(
        "Content-Type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )];
    if let Some(a) = auth {
        headers.push(("Authorization".to_string(), a.to_string()));
    }
    WebhookRequest {
        path: path.to_string(),
        headers,
        body,
    }
}
