//! The built component against the contract: what it exports and imports, and how the host
//! reacts to a missing, corrupt or incompatible component.

use ado_sync_host::imports::secrets::MemoryVault;
use ado_sync_host::imports::storage::MemoryStorage;
use ado_sync_host::{HostError, Limits, PluginHost, Runtime};
use std::path::PathBuf;
use std::sync::Arc;

fn component_path() -> PathBuf {
    ado_sync_host::component_path()
}

#[test]
fn exports_the_four_interfaces_and_imports_only_storage_secrets_and_http() {
    let path = component_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "component not built at {} ({e}); run ./ado-sync.sh test",
            path.display()
        )
    });
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, &bytes).expect("valid component");
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(&engine).map(|(n, _)| n.to_string()).collect();
    let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_string()).collect();
    for e in ["configure", "on-webhook", "sync-once", "map-item"] {
        let want = format!("ado-sync:plugin/{e}@0.1.0");
        assert!(
            exports.contains(&want),
            "missing export {want}: {exports:?}"
        );
    }
    assert_eq!(exports.len(), 4, "exports: {exports:?}");
    for i in [
        "ado-sync:plugin/storage@0.1.0",
        "ado-sync:plugin/secrets@0.1.0",
    ] {
        assert!(
            imports.contains(&i.to_string()),
            "missing import {i}: {imports:?}"
        );
    }
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")),
        "no wasi:http/outgoing-handler import: {imports:?}"
    );
    let forbidden: Vec<_> = imports
        .iter()
        .filter(|i| i.starts_with("wasi:filesystem") || i.starts_with("wasi:sockets"))
        .collect();
    assert!(
        forbidden.is_empty(),
        "filesystem or socket imports: {forbidden:?}"
    );
}

fn host_from_bytes(bytes: &[u8]) -> Result<Runtime, HostError> {
    Runtime::from_bytes(bytes, Limits::default())
}

#[test]
fn a_missing_component_is_a_typed_error() {
    let err = PluginHost::load(
        std::path::Path::new("/nonexistent/ado_sync_plugin.wasm"),
        Arc::new(MemoryStorage::new()),
        Arc::new(MemoryVault::new()),
        Limits::default(),
    )
    .err()
    .expect("must fail");
    assert!(matches!(err, HostError::ComponentMissing { .. }), "{err:?}");
}

#[test]
fn corrupt_bytes_are_a_typed_error() {
    let err = host_from_bytes(b"\0asm\x0d\0\x01\0garbage")
        .err()
        .expect("must fail");
    assert!(matches!(err, HostError::ComponentInvalid(_)), "{err:?}");
    let err = host_from_bytes(b"not wasm at all")
        .err()
        .expect("must fail");
    assert!(matches!(err, HostError::ComponentInvalid(_)), "{err:?}");
}

#[test]
fn a_component_with_another_contract_is_incompatible() {
    // A valid component exporting an older version of the contract (and nothing it needs).
    let wat = r#"(component
        (core module $m (func (export "f")))
        (core instance $i (instantiate $m))
        (func $f (canon lift (core func $i "f")))
        (instance $cfg (export "noop" (func $f)))
        (export "ado-sync:plugin/configure@0.0.1" (instance $cfg))
    )"#;
    let err = host_from_bytes(wat.as_bytes()).err().expect("must fail");
    assert!(matches!(err, HostError::Incompatible(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compiled_component_is_cached_and_a_bad_cache_file_is_replaced() {
    use std::os::unix::fs::MetadataExt;
    let dir = std::env::temp_dir().join(format!("ado-sync-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cached_files = || -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let serves = |runtime: Runtime| async move {
        let host = PluginHost::with_runtime(
            Arc::new(runtime),
            Arc::new(MemoryStorage::new()),
            Arc::new(MemoryVault::new()),
        );
        host.instantiate().await.expect("instantiates");
        host.list_connections().await.expect("a call works")
    };

    // First load compiles and leaves one compiled file.
    serves(Runtime::load_cached(&component_path(), Limits::default(), &dir).expect("load")).await;
    let files = cached_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("cwasm"));
    let first = std::fs::metadata(&files[0]).expect("meta").ino();

    // Second load uses it: the file is not rewritten (a compile would replace it).
    serves(Runtime::load_cached(&component_path(), Limits::default(), &dir).expect("load")).await;
    assert_eq!(cached_files(), files);
    assert_eq!(std::fs::metadata(&files[0]).expect("meta").ino(), first);

    // A damaged file is not trusted: the load compiles again and replaces it.
    std::fs::write(&files[0], b"not a compiled component").expect("damage");
    serves(Runtime::load_cached(&component_path(), Limits::default(), &dir).expect("load")).await;
    assert_eq!(cached_files(), files);
    assert_ne!(std::fs::metadata(&files[0]).expect("meta").ino(), first);
    assert!(std::fs::metadata(&files[0]).expect("meta").len() > 1_000_000);
    let _ = std::fs::remove_dir_all(&dir);
}
