//! The reference host for the ado-sync component.
//!
//! - [`runtime`]: wasmtime engine, linker, pre-instantiation, limits.
//! - [`imports`]: the egress choke point for `wasi:http`, storage (SQLite, memory), the secret vault.
//! - [`host`]: the API a host product calls: load, then call the exports.
//! - [`workspace`]: the host-product stand-in that applies the changes the plugin returns.
//! - [`ado_sim`]: the simulated Azure DevOps on wiremock (and its service-hook deliveries).
//! - [`app`]: the runnable host: one SQLite file, the operations the CLI and server share.
//! - [`serve`]: `ado-sync serve`, the webhook endpoint and the admin API.
//! - [`cli`]: the `ado-sync` commands.

pub mod ado_sim;
pub mod app;
pub mod cli;
pub mod host;
pub mod http_client;
pub mod imports;
pub mod runtime;
pub mod serve;
pub mod workspace;

pub use host::{CallResult, PluginHost};
pub use runtime::bindings as api;
pub use runtime::errors::{CallError, HostError};
pub use runtime::{Limits, Runtime};

/// Where the release component is built (`cargo build -p ado-sync-plugin --release --target
/// wasm32-wasip2`), unless `ADO_SYNC_COMPONENT` names another file.
pub fn component_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("ADO_SYNC_COMPONENT") {
        return p.into();
    }
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // A target directory moved with CARGO_TARGET_DIR at build time is where the component is too.
    let target = match option_env!("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("wasm32-wasip2/release/ado_sync_plugin.wasm")
}
