//! The wasmtime side: one `Engine`, one pre-instantiated component, one `Store` per call (webhook
//! calls reuse a kept one, see `host`) with an epoch deadline and a memory limit.

pub mod bindings;
pub mod errors;
pub mod state;

use crate::runtime::bindings::PluginPre;
use crate::runtime::errors::HostError;
use crate::runtime::state::HostState;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock budget of one call (guest code is interrupted at the next epoch check after it).
    pub call_timeout: Duration,
    /// Largest linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Instances that may exist at once (the pooling allocator's pool size); each `PluginHost`
    /// keeps one between webhook calls.
    pub max_concurrent_instances: u32,
    /// Native stack the guest's code may use; deeper recursion traps the call.
    pub max_wasm_stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout: Duration::from_secs(600),
            memory_bytes: 512 << 20,
            max_concurrent_instances: 32,
            max_wasm_stack: 512 << 10,
        }
    }
}

/// A loaded, pre-instantiated component ready to serve calls.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: PluginPre<HostState>,
    pub(crate) limits: Limits,
    /// Largest linear memory any store grew to (see [`Runtime::guest_memory_peak`]).
    pub(crate) memory_peak: Arc<AtomicUsize>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

fn engine_for(limits: &Limits) -> Result<Engine, HostError> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(limits.max_wasm_stack);
    let mut pool = PoolingAllocationConfig::default();
    let n = limits.max_concurrent_instances;
    pool.total_component_instances(n);
    pool.total_core_instances(n * 8);
    pool.max_core_instances_per_component(16);
    pool.total_memories(n * 4);
    pool.max_memories_per_component(4);
    pool.total_tables(n * 8);
    pool.max_tables_per_component(8);
    pool.max_memory_size(limits.memory_bytes);
    pool.total_stacks(n);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:#}")))
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, HostError> {
    Component::new(engine, bytes).map_err(|e| HostError::ComponentInvalid(format!("{e:#}")))
}

/// Where [`Runtime::load`] keeps compiled components: `$ADO_SYNC_CACHE_DIR`, else
/// `ado-sync-cache/` beside the component file.
pub fn cache_dir_for(component: &Path) -> PathBuf {
    match std::env::var_os("ADO_SYNC_CACHE_DIR") {
        Some(dir) => dir.into(),
        None => component
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("ado-sync-cache"),
    }
}

/// The component's digest and the engine's compatibility hash (wasmtime version, target,
/// settings): a new build or another engine set-up never picks up a stale file.
fn cache_file_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", h.finish())
}

fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Unique per writer (threads of one process may compile at once), renamed into place whole.
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = file.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}

impl Runtime {
    /// Load the component from a `.wasm` file, reusing its compiled form from the cache
    /// directory ([`cache_dir_for`]) when an earlier load left one there: compiling takes
    /// seconds, loading the compiled form about a millisecond.
    pub fn load(path: &Path, limits: Limits) -> Result<Runtime, HostError> {
        Self::load_cached(path, limits, &cache_dir_for(path))
    }

    /// [`Runtime::load`] with the compiled form kept in `cache_dir`. The directory must be as
    /// trusted as the component itself (its files are loaded as native code); a file that does
    /// not fit this engine is replaced, and a directory that cannot be written only costs the
    /// compile.
    pub fn load_cached(
        path: &Path,
        limits: Limits,
        cache_dir: &Path,
    ) -> Result<Runtime, HostError> {
        let bytes = std::fs::read(path).map_err(|e| HostError::ComponentMissing {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let engine = engine_for(&limits)?;
        let file = cache_dir.join(cache_file_name(&engine, &bytes));
        // SAFETY: the file was written by `Component::serialize` of an engine with the same
        // compatibility hash (it is in the name) into a directory as trusted as the component;
        // wasmtime still checks its header, and any error falls back to compiling.
        let cached = unsafe { Component::deserialize_file(&engine, &file) };
        let component = match cached {
            Ok(c) => c,
            Err(_) => {
                let c = compile(&engine, &bytes)?;
                if let Err(e) = c.serialize().map(|s| write_atomically(&file, &s)) {
                    tracing::debug!(error = %e, "compiled component not cached");
                }
                c
            }
        };
        Self::from_component(engine, &component, limits)
    }

    /// Load the component from its bytes (compiled every time).
    pub fn from_bytes(bytes: &[u8], limits: Limits) -> Result<Runtime, HostError> {
        let engine = engine_for(&limits)?;
        let component = compile(&engine, bytes)?;
        Self::from_component(engine, &component, limits)
    }

    fn from_component(
        engine: Engine,
        component: &Component,
        limits: Limits,
    ) -> Result<Runtime, HostError> {
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        bindings::Plugin::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(|e| HostError::Incompatible(format!("{e:#}")))?;
        let pre =
            PluginPre::new(instance_pre).map_err(|e| HostError::Incompatible(format!("{e:#}")))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("ado-sync-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| HostError::Engine(e.to_string()))?;
        Ok(Runtime {
            engine,
            pre,
            limits,
            memory_peak: Arc::new(AtomicUsize::new(0)),
            ticker_stop,
        })
    }

    /// The largest linear memory (bytes) any guest instance of this runtime grew to since the
    /// last [`Runtime::reset_guest_memory_peak`], as seen by the store's limiter.
    pub fn guest_memory_peak(&self) -> usize {
        self.memory_peak.load(Ordering::Relaxed)
    }

    /// Start measuring the guest memory peak afresh.
    pub fn reset_guest_memory_peak(&self) {
        self.memory_peak.store(0, Ordering::Relaxed);
    }

    /// The epoch ticks a call may run.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        (self.limits.call_timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
