//! ado-sync: the WebAssembly component that keeps a host workspace and Azure DevOps in step.
//!
//! Layout (data flows one way, top to bottom):
//! - [`glue`] (wasm only): the WIT exports call the engine; the imports are wrapped as [`ports`].
//! - [`engine`]: configure, sync, webhook and map-item use cases; orchestrates core + ado + store.
//! - [`core`]: pure decisions, no I/O: mapping, diffing, fingerprints, ids, paths.
//! - [`ado`]: a typed ADO REST client over the small [`ports::Http`] trait.
//! - [`store`]: typed records over the [`ports::Kv`] storage import.
//! - [`api`]: the contract's types, generated from `wit/` (usable natively for tests).

pub mod ado;
pub mod api;
pub mod core;
pub mod engine;
pub mod ports;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod glue;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;
