//! The reference host API: load the component once, then call its exports. Each call gets a
//! fresh store (instances are disposable; all state is in storage), except webhook calls, which
//! reuse one kept instance while its calls return normally (see `Warm`). Every guest HTTP
//! request passes the egress policy, whose allow-list is built from the configured connections
//! only.

use crate::imports::egress::{EgressClient, EgressHooks, EgressPolicy, EgressRecord};
use crate::imports::secrets::Vault;
use crate::imports::storage::Storage;
use crate::runtime::bindings::*;
use crate::runtime::errors::{from_wasmtime, CallError, HostError};
use crate::runtime::state::{HostState, PeakLimits};
use crate::runtime::{Limits, Runtime};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use wasmtime::{Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpCtx;

/// A result of a call.
pub type CallResult<T> = Result<T, CallError>;

/// Webhook calls one kept instance serves before a fresh one replaces it.
const WARM_CALLS: u32 = 10_000;
/// A kept instance whose memory grew past this is dropped instead (its heap goes back).
const WARM_MEMORY: usize = 16 << 20;

/// An instance kept between webhook calls, with its store. The plugin keeps no state between
/// calls (everything is in storage), so a kept instance answers as a fresh one would; it saves
/// the instantiation and the reset of its memory, over 40% of a one-delivery call.
/// An instance whose call trapped (or ran out of time) is never kept.
struct Warm {
    store: Store<HostState>,
    plugin: Plugin,
    calls: u32,
}

/// The component plus the host's storage, vault and egress policy.
#[derive(Clone)]
pub struct PluginHost {
    runtime: Arc<Runtime>,
    storage: Arc<dyn Storage>,
    vault: Arc<dyn Vault>,
    policy: Arc<RwLock<EgressPolicy>>,
    egress_log: Arc<Mutex<Vec<EgressRecord>>>,
    egress_client: EgressClient,
    permitted_targets: Arc<RwLock<Option<Vec<String>>>>,
    /// At most one instance kept for the next webhook call (webhooks arrive in streams).
    warm: Arc<Mutex<Option<Warm>>>,
    /// Instances created for webhook calls.
    webhook_instances: Arc<AtomicUsize>,
}

macro_rules! call_export {
    ($self:ident, $iface:ident . $method:ident ( $($arg:expr),* )) => {{
        let (mut store, instance) = $self.fresh_instance().await.map_err(CallError::Host)?;
        let answer = instance.$iface().$method(&mut store, $($arg),*).await;
        match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CallError::Plugin(e)),
            Err(e) => Err(CallError::Host(from_wasmtime(e))),
        }
    }};
}

impl PluginHost {
    /// Load the component from a file.
    pub fn load(
        path: &Path,
        storage: Arc<dyn Storage>,
        vault: Arc<dyn Vault>,
        limits: Limits,
    ) -> Result<Self, HostError> {
        Ok(Self::with_runtime(
            Arc::new(Runtime::load(path, limits)?),
            storage,
            vault,
        ))
    }

    /// Wrap an already loaded runtime (several hosts may share one, e.g. two "instances" over one storage).
    pub fn with_runtime(
        runtime: Arc<Runtime>,
        storage: Arc<dyn Storage>,
        vault: Arc<dyn Vault>,
    ) -> Self {
        PluginHost {
            runtime,
            storage,
            vault,
            policy: Arc::new(RwLock::new(EgressPolicy::default())),
            egress_log: Arc::new(Mutex::new(Vec::new())),
            egress_client: EgressClient::default(),
            permitted_targets: Arc::new(RwLock::new(None)),
            warm: Arc::new(Mutex::new(None)),
            webhook_instances: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The storage the plugin uses.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Route an origin elsewhere (tests point ADO's origin at the simulator).
    pub fn redirect(&self, from: &str, to: &str) {
        if let Ok(mut p) = self.policy.write() {
            p.redirect(from, to);
        }
    }

    /// Cap the guest's HTTP timeouts (connect, first byte, between bytes) at `cap`: a slow
    /// answer then fails the request as a timeout (tests use a short cap against a delayed sim).
    pub fn cap_http_timeouts(&self, cap: std::time::Duration) {
        if let Ok(mut p) = self.policy.write() {
            p.cap_timeouts(cap);
        }
    }

    /// Only let `connect` reach these origins (an administrator's list of acceptable ADO
    /// instances). Without it, the origin a user connects to is allowed for that call.
    pub fn restrict_connect_targets(&self, urls: &[&str]) {
        let origins = urls
            .iter()
            .filter_map(|u| crate::imports::egress::origin_of(u))
            .collect();
        if let Ok(mut p) = self.permitted_targets.write() {
            *p = Some(origins);
        }
    }

    fn connect_target_permitted(&self, url: &str) -> bool {
        match self.permitted_targets.read().ok().and_then(|p| p.clone()) {
            None => true,
            Some(list) => crate::imports::egress::origin_of(url).is_some_and(|o| list.contains(&o)),
        }
    }

    /// Every guest HTTP attempt so far (method, URL, allowed) — never headers.
    pub fn egress_log(&self) -> Vec<EgressRecord> {
        self.egress_log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    fn new_store(&self) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.runtime.limits.memory_bytes)
            .trap_on_grow_failure(true)
            .build();
        let state = HostState {
            wasi: WasiCtxBuilder::new().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            table: wasmtime::component::ResourceTable::new(),
            egress: EgressHooks::new(
                self.policy.clone(),
                self.egress_log.clone(),
                self.egress_client.clone(),
            ),
            storage: self.storage.clone(),
            vault: self.vault.clone(),
            limits: PeakLimits::new(limits, self.runtime.memory_peak.clone()),
        };
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.runtime.deadline_ticks());
        store.epoch_deadline_trap();
        store
    }

    /// Rebuild the egress allow-list from the stored connections (plus `extra`, for a connect in flight).
    async fn refresh_allow_list(&self, extra: Option<&str>) -> CallResult<()> {
        let connections = call_export!(self, ado_sync_plugin_configure.call_list_connections())?;
        let mut fresh = EgressPolicy::default();
        if let Ok(p) = self.policy.read() {
            fresh = p.clone();
        }
        fresh.clear_allowed();
        for c in &connections {
            fresh.allow(&c.base_url);
        }
        if let Some(url) = extra {
            fresh.allow(url);
        }
        if let Ok(mut p) = self.policy.write() {
            *p = fresh;
        }
        Ok(())
    }

    /// Load the allow-list from storage; call once after start-up.
    pub async fn start(&self) -> CallResult<()> {
        self.refresh_allow_list(None).await
    }

    // ---- configure ----

    /// Store the workspace schema.
    pub async fn set_workspace_schema(&self, schema: &WorkspaceSchema) -> CallResult<()> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_set_workspace_schema(schema)
        )
    }

    /// Connect to ADO (the target's origin is allowed for this call only unless it succeeds).
    pub async fn connect(
        &self,
        name: &str,
        target: &ConnectionTarget,
    ) -> CallResult<ConnectionInfo> {
        let url = target_url(target);
        let extra = self.connect_target_permitted(url).then_some(url);
        self.refresh_allow_list(extra).await?;
        let result = call_export!(self, ado_sync_plugin_configure.call_connect(name, target));
        self.refresh_allow_list(None).await?;
        result
    }

    /// New credentials for a connection.
    pub async fn update_connection(
        &self,
        id: &str,
        target: &ConnectionTarget,
    ) -> CallResult<ConnectionInfo> {
        let result = call_export!(
            self,
            ado_sync_plugin_configure.call_update_connection(&id.to_string(), target)
        );
        self.refresh_allow_list(None).await?;
        result
    }

    /// Rename a connection.
    pub async fn rename_connection(&self, id: &str, name: &str) -> CallResult<ConnectionInfo> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_rename_connection(&id.to_string(), name)
        )
    }

    /// Disconnect.
    pub async fn disconnect(&self, id: &str) -> CallResult<()> {
        let result = call_export!(
            self,
            ado_sync_plugin_configure.call_disconnect(&id.to_string())
        );
        self.refresh_allow_list(None).await?;
        result
    }

    /// All connections.
    pub async fn list_connections(&self) -> CallResult<Vec<ConnectionInfo>> {
        call_export!(self, ado_sync_plugin_configure.call_list_connections())
    }

    /// Integrate a project.
    pub async fn add_project(
        &self,
        connection: &str,
        name: &str,
        project: &str,
    ) -> CallResult<ProjectIntegration> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_add_project(&connection.to_string(), name, project)
        )
    }

    /// Remove a project integration.
    pub async fn remove_project(&self, id: &str) -> CallResult<()> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_remove_project(&id.to_string())
        )
    }

    /// All project integrations.
    pub async fn list_projects(&self) -> CallResult<Vec<ProjectIntegration>> {
        call_export!(self, ado_sync_plugin_configure.call_list_projects())
    }

    /// Read a project afresh.
    pub async fn discover(&self, id: &str) -> CallResult<ProjectDiscovery> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_discover(&id.to_string())
        )
    }

    /// Propose a mapping.
    pub async fn propose_mapping(
        &self,
        id: &str,
        epic_is_product_level: bool,
    ) -> CallResult<Mapping> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_propose_mapping(&id.to_string(), epic_is_product_level)
        )
    }

    /// Validate and store a mapping.
    pub async fn set_mapping(&self, id: &str, mapping: &Mapping) -> CallResult<()> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_set_mapping(&id.to_string(), mapping)
        )
    }

    /// The stored mapping.
    pub async fn get_mapping(&self, id: &str) -> CallResult<Mapping> {
        call_export!(
            self,
            ado_sync_plugin_configure.call_get_mapping(&id.to_string())
        )
    }

    // ---- sync-once ----

    /// Run a one-time sync.
    pub async fn sync_once(&self, request: &SyncRequest) -> CallResult<SyncOutcome> {
        call_export!(self, ado_sync_plugin_sync_once.call_run(request))
    }

    /// The recorded decisions about one item, newest first.
    pub async fn history(
        &self,
        integration: &str,
        item: &ItemRef,
    ) -> CallResult<Vec<HistoryEntry>> {
        call_export!(
            self,
            ado_sync_plugin_sync_once.call_history(&integration.to_string(), item)
        )
    }

    // ---- on-webhook ----

    /// Create the webhook's service-hook subscriptions (idempotent).
    pub async fn provision_webhook(
        &self,
        connection: &str,
        public_base_url: &str,
    ) -> CallResult<ProvisionOutcome> {
        call_export!(
            self,
            ado_sync_plugin_on_webhook.call_provision(&connection.to_string(), public_base_url)
        )
    }

    /// Re-enable degraded subscriptions and fill the gap since the last event.
    pub async fn heal_webhook(&self, connection: &str) -> CallResult<HealOutcome> {
        call_export!(
            self,
            ado_sync_plugin_on_webhook.call_heal(&connection.to_string())
        )
    }

    /// Handle a webhook delivery.
    pub async fn handle_webhook(&self, request: &WebhookRequest) -> CallResult<WebhookOutcome> {
        let mut warm = self.webhook_instance().await.map_err(CallError::Host)?;
        let answer = warm
            .plugin
            .ado_sync_plugin_on_webhook()
            .call_handle(&mut warm.store, request)
            .await;
        self.settle(warm, answer)
            .map_err(CallError::Host)?
            .map_err(CallError::Plugin)
    }

    /// How many instances webhook calls have created so far (one serves a stream of calls).
    pub fn webhook_instances(&self) -> usize {
        self.webhook_instances.load(Ordering::Relaxed)
    }

    /// The kept instance, else a fresh one; either way with a full deadline.
    async fn webhook_instance(&self) -> Result<Warm, HostError> {
        let kept = self.warm.lock().ok().and_then(|mut w| w.take());
        let mut warm = match kept {
            Some(w) => w,
            None => {
                self.webhook_instances.fetch_add(1, Ordering::Relaxed);
                let (store, plugin) = self.fresh_instance().await?;
                Warm {
                    store,
                    plugin,
                    calls: 0,
                }
            }
        };
        warm.store.set_epoch_deadline(self.runtime.deadline_ticks());
        Ok(warm)
    }

    /// The answer of a call on `warm`: a call that returned keeps its instance (unless it is
    /// worn or grew large); one that trapped drops it.
    fn settle<T>(&self, mut warm: Warm, answer: wasmtime::Result<T>) -> Result<T, HostError> {
        let answer = answer.map_err(from_wasmtime)?;
        warm.calls += 1;
        if warm.calls < WARM_CALLS && warm.store.data().limits.memory() <= WARM_MEMORY {
            if let Ok(mut slot) = self.warm.lock() {
                slot.get_or_insert(warm);
            }
        }
        Ok(answer)
    }

    /// A new store with the component instantiated in it.
    async fn fresh_instance(&self) -> Result<(Store<HostState>, Plugin), HostError> {
        let mut store = self.new_store();
        let plugin = self
            .runtime
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(from_wasmtime)?;
        Ok((store, plugin))
    }

    /// Create a store and instantiate the component without calling it: checks that the host
    /// can serve calls (and lets benchmarks time instantiation alone).
    pub async fn instantiate(&self) -> Result<(), HostError> {
        self.fresh_instance().await.map(|_| ())
    }

    /// Handle several deliveries in one call (one instance, shared context); one result each,
    /// in order.
    pub async fn handle_webhooks(
        &self,
        requests: &[WebhookRequest],
    ) -> Result<Vec<Result<WebhookOutcome, SyncError>>, HostError> {
        let mut warm = self.webhook_instance().await?;
        let answer = warm
            .plugin
            .ado_sync_plugin_on_webhook()
            .call_handle_batch(&mut warm.store, requests)
            .await;
        self.settle(warm, answer)
    }

    /// The workspace's webhook path.
    pub async fn webhook_path(&self) -> CallResult<String> {
        call_export!(self, ado_sync_plugin_on_webhook.call_webhook_path())
    }

    /// Webhook health.
    pub async fn webhook_status(&self, connection: &str) -> CallResult<WebhookStatus> {
        call_export!(
            self,
            ado_sync_plugin_on_webhook.call_status(&connection.to_string())
        )
    }

    // ---- map-item ----

    /// Preview a host item in ADO.
    pub async fn map_to_ado(&self, integration: &str, item: &HostItem) -> CallResult<AdoPatch> {
        call_export!(
            self,
            ado_sync_plugin_map_item.call_to_ado(&integration.to_string(), item)
        )
    }

    /// Preview a work item in the host.
    pub async fn map_to_host(
        &self,
        integration: &str,
        work_item_json: &str,
    ) -> CallResult<HostItem> {
        call_export!(
            self,
            ado_sync_plugin_map_item.call_to_host(&integration.to_string(), work_item_json)
        )
    }
}

fn target_url(target: &ConnectionTarget) -> &str {
    match target {
        ConnectionTarget::Cloud(c) => &c.url,
        ConnectionTarget::OnPrem(c) => &c.collection_url,
    }
}
