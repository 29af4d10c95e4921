//! One host state per store: WASI context, HTTP context with the egress hooks, the resource
//! table, the storage and vault handles, and the memory limiter.

use crate::imports::egress::EgressHooks;
use crate::imports::secrets::Vault;
use crate::imports::storage::{Storage, MAX_VALUE_BYTES};
use crate::runtime::bindings::ado_sync::plugin::{secrets, storage, types};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The state of one store (one call).
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) egress: EgressHooks,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) vault: Arc<dyn Vault>,
    pub(crate) limits: PeakLimits,
}

/// The store's limits, also recording the largest linear memory any store of the runtime grew
/// to (read with `Runtime::guest_memory_peak`; benchmarks use it).
pub struct PeakLimits {
    limits: StoreLimits,
    peak: Arc<AtomicUsize>,
    /// This store's linear memory as last grown.
    current: usize,
}

impl PeakLimits {
    /// Wrap `limits`, recording growth into `peak`.
    pub fn new(limits: StoreLimits, peak: Arc<AtomicUsize>) -> Self {
        PeakLimits {
            limits,
            peak,
            current: 0,
        }
    }

    /// The largest linear memory of this store (bytes).
    pub fn memory(&self) -> usize {
        self.current
    }
}

impl ResourceLimiter for PeakLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak.fetch_max(desired, Ordering::Relaxed);
            self.current = self.current.max(desired);
        }
        Ok(allowed)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }
    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

impl types::Host for HostState {}

fn storage_error(e: crate::imports::storage::StorageFailure) -> storage::StorageError {
    storage::StorageError::Unavailable(e.0)
}

fn check_value(value: &[u8]) -> Result<(), storage::StorageError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(storage::StorageError::TooLarge(format!(
            "{} bytes",
            value.len()
        )));
    }
    Ok(())
}

impl storage::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<storage::Entry>, storage::StorageError> {
        self.storage
            .get(&key)
            .map(|o| o.map(|(value, version)| storage::Entry { value, version }))
            .map_err(storage_error)
    }
    fn set(&mut self, key: String, value: Vec<u8>) -> Result<u64, storage::StorageError> {
        check_value(&value)?;
        self.storage.set(&key, &value).map_err(storage_error)
    }
    fn delete(&mut self, key: String) -> Result<(), storage::StorageError> {
        self.storage.delete(&key).map_err(storage_error)
    }
    fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, storage::StorageError> {
        self.storage.list_keys(&prefix).map_err(storage_error)
    }
    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: Vec<u8>,
    ) -> Result<Option<u64>, storage::StorageError> {
        check_value(&value)?;
        self.storage
            .compare_and_swap(&key, expected, &value)
            .map_err(storage_error)
    }
}

impl secrets::Host for HostState {
    fn put(&mut self, name: String, value: String) -> Result<(), String> {
        self.vault.put(&name, &value)
    }
    fn get(&mut self, name: String) -> Result<Option<String>, String> {
        self.vault.get(&name)
    }
    fn forget(&mut self, name: String) -> Result<(), String> {
        self.vault.forget(&name)
    }
}
