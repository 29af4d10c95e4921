//! The fuzz inputs, replayed natively: every committed seed (`fuzz/seeds/<target>/`) and every
//! input a fuzzer found a problem with (`plugin/tests/fuzz-regressions/<target>/`) goes through
//! the same entry point as in `cargo fuzz`, so CI exercises them without cargo-fuzz.

mod fuzz_support;

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(kind: &str, root: &Path) -> usize {
    let mut count = 0;
    for (target, run) in fuzz_support::TARGETS {
        for file in inputs(&root.join(target)) {
            let data = std::fs::read(&file).expect("readable input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{kind} input {} failed", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn committed_seeds_pass_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let n = replay("seed", &root);
    assert!(
        n >= 10,
        "expected the committed seeds under {}, found {n}",
        root.display()
    );
}

#[test]
fn fuzz_findings_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    replay("regression", &root);
}

// ---------------------------------------------------------------------------------------------
// Each finding, spelled out (the raw inputs above depend on how the fuzz inputs are decoded).
// ---------------------------------------------------------------------------------------------

use ado_sync_plugin::api::SyncError;
use ado_sync_plugin::core::mapping::validate;
use ado_sync_plugin::core::propose::propose;
use fuzz_support::fixture;

/// mapping target: an ADO backlog level of 255 with "Epic one level below Product" overflowed
/// `host_level_for` (a panic in `validate` and `propose`). Now the type maps to no host level.
#[test]
fn an_ado_level_past_the_deepest_host_level_is_a_typed_error() {
    let schema = fixture::schema();
    let mut project = fixture::discovery();
    assert_eq!(project.work_item_types[0].name, "Epic");
    project.work_item_types[0].level = Some(u8::MAX);
    let mapping = fixture::mapping();
    assert!(!mapping.epic_is_product_level);
    match validate(&mapping, &schema, &project) {
        Err(SyncError::InvalidConfig(f)) => {
            assert_eq!(f.field, "mapping.types[0]");
            assert!(f.message.contains("level 255"), "{}", f.message);
        }
        other => panic!("expected a typed invalid-config error, got {other:?}"),
    }
    let proposed = propose(&schema, &project, false);
    assert!(proposed.types.iter().all(|t| t.ado_type != "Epic"));
    assert!(proposed.types.iter().any(|t| t.ado_type == "Feature"));
}
