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

use ado_sync_plugin::api::{FieldEntry, FieldKind, FieldValue, SyncError};
use ado_sync_plugin::core::convert::{to_ado, MapContext};
use ado_sync_plugin::core::mapping::validate;
use ado_sync_plugin::core::merge::merge;
use ado_sync_plugin::core::propose::propose;
use ado_sync_plugin::core::values::{ado_to_host, same_value};
use fuzz_support::fixture;
use serde_json::json;

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

/// mapping target: ADO text "NaN" in a number field became `Number(NaN)`, a value that is never
/// the same as itself (so every sync saw a change) and that goes back to ADO as `null`. Text that
/// is not a finite number is now no number at all, like any other unreadable text.
#[test]
fn ado_text_that_is_not_a_finite_number_is_no_number() {
    for text in ["NaN", "nan", "inf", "-infinity", "1e999"] {
        assert_eq!(ado_to_host(FieldKind::Number, &json!(text)), None, "{text}");
    }
    for (value, number) in [(json!(" 8 "), 8.0), (json!(2.5), 2.5), (json!("-0"), 0.0)] {
        let host = ado_to_host(FieldKind::Number, &value).expect("a number");
        assert_eq!(host, FieldValue::Number(number));
        assert!(same_value(FieldKind::Number, Some(&value), Some(&host)));
    }
}

fn with_effort(value: f64) -> ado_sync_plugin::api::HostItem {
    let mut item = fixture::host_item("h-2", "story", Some("h-1"));
    item.fields = vec![FieldEntry {
        field: "effort".into(),
        value: Some(FieldValue::Number(value)),
    }];
    item
}

/// mapping target (with the "no patch writes null" property): a host number ADO cannot hold
/// (NaN, ±infinity) was written as `null`, on every push. It is now a typed error naming the field.
#[test]
fn a_host_number_ado_cannot_hold_is_a_typed_error() {
    let (schema, project, mapping) = (fixture::schema(), fixture::discovery(), fixture::mapping());
    let ctx = MapContext {
        connection_id: fixture::CONNECTION,
        base_url: "https://dev.azure.com/fuzz",
        project_name: fixture::PROJECT,
        types: &project.work_item_types,
        schema: &schema,
        mapping: &mapping,
    };
    for n in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        match to_ado(&ctx, &with_effort(n), None, Some(1)) {
            Err(SyncError::InvalidConfig(f)) => assert_eq!(f.field, "item.fields.effort"),
            other => panic!("{n}: expected invalid-config, got {other:?}"),
        }
    }
    let (_, ops) = to_ado(&ctx, &with_effort(3.0), None, Some(1)).expect("a finite number maps");
    assert!(ops.iter().any(
        |o| o.path == "/fields/Microsoft.VSTS.Scheduling.StoryPoints"
            && o.value == Some(json!(3.0))
    ));
}

/// mapping target: an item merged with itself reported a conflict (or a change from ADO) on a
/// number field holding NaN or infinity, because `(x - y).abs() < 1e-9` is false for both.
#[test]
fn an_item_merged_with_itself_changes_nothing_even_with_nan_or_infinity() {
    let mapping = fixture::mapping();
    for n in [f64::NAN, f64::INFINITY, 1.5] {
        let item = with_effort(n);
        let merged = merge(Some(&item), &item, &item, &mapping.fields);
        assert!(merged.conflicts.is_empty(), "{n}: {:?}", merged.conflicts);
        assert!(merged.from_ado.is_empty(), "{n}: {:?}", merged.from_ado);
        assert!(merged.from_host.is_empty(), "{n}: {:?}", merged.from_host);
    }
}

/// ado_responses harness (found reviewing what the target reaches, not by a fuzzer run; the input
/// replays it through the target): past WIQL's row cap, the sync asks
/// for the highest id and reads the range in windows of 19,000. A highest id of `i64::MAX` made it
/// allocate 4.8e14 windows (the process aborted on memory; in wasm, a trap), and ids near it
/// overflowed the window arithmetic. Ids are 32-bit: a larger one is now a typed ADO error.
#[test]
fn a_highest_id_past_32_bits_is_a_typed_error_not_unbounded_windows() {
    use ado_sync_plugin::api::SyncDirection;
    use fuzz_support::fakes::{json_response, Answers, FakeHttp};
    for (highest, windows) in [
        (i64::MAX, false),
        (i64::from(i32::MAX) + 1, false),
        (40_000, true),
    ] {
        let http = FakeHttp::new(Answers::Script(vec![
            json_response(
                400,
                &json!({"message": "VS402337: The number of work items returned exceeds the size limit of 20000."}),
            ),
            json_response(200, &json!({"workItems": [{"id": highest}]})),
            json_response(200, &json!({"workItems": []})),
            json_response(200, &json!({"workItems": []})),
            json_response(200, &json!({"workItems": []})),
        ]));
        let (kv, vault) = fixture::configured();
        let engine = ado_sync_plugin::engine::Engine::new(&http, &kv, &vault);
        let result = engine.sync_once(&fuzz_support::sync_request(SyncDirection::AdoToHost));
        if windows {
            // 40,000 → windows (0, 19000], (19000, 38000], (38000, 40000] for the first type.
            assert!(result.is_ok(), "{result:?}");
        } else {
            match result {
                Err(SyncError::AdoError(f)) => {
                    assert!(f.message.contains("not a work item id"), "{}", f.message)
                }
                other => panic!("{highest}: expected a typed ADO error, got {other:?}"),
            }
            assert_eq!(http.sent(), 2, "no window was queried");
        }
    }
}
