//! The integration context an instance keeps between calls: reused while every record it is
//! built from is unchanged in storage, built again as soon as one changed.

mod fuzz_support;

use ado_sync_plugin::core::propose::types_for_sync;
use ado_sync_plugin::engine::Engine;
use ado_sync_plugin::store::{keys, Store};
use fuzz_support::fakes::{Answers, FakeHttp};
use fuzz_support::fixture::{configured, discovery, mapping, INTEGRATION};
use std::rc::Rc;

#[test]
fn a_context_is_built_again_only_when_a_record_it_is_built_from_changed() {
    let (kv, vault) = configured();
    let store = Store::new(&kv);
    store
        .put(
            &keys::discovery_types(INTEGRATION),
            &types_for_sync(discovery().work_item_types),
        )
        .expect("types");
    let http = FakeHttp::new(Answers::Script(vec![]));

    let first = Engine::new(&http, &kv, &vault)
        .context(INTEGRATION)
        .expect("context");
    // A later call of the same instance (a new engine over the same storage).
    let again = Engine::new(&http, &kv, &vault)
        .context(INTEGRATION)
        .expect("context");
    assert!(
        Rc::ptr_eq(&first, &again),
        "nothing changed: the same context"
    );

    let mut fewer = mapping();
    let dropped = fewer.fields.pop().expect("the fixture maps fields");
    store
        .put(&keys::mapping(INTEGRATION), &fewer)
        .expect("mapping");
    let changed = Engine::new(&http, &kv, &vault)
        .context(INTEGRATION)
        .expect("context");
    assert!(
        !Rc::ptr_eq(&first, &changed),
        "the mapping changed: built again"
    );
    assert!(changed
        .mapping
        .fields
        .iter()
        .all(|f| f.host_field != dropped.host_field));
    assert_eq!(http.sent(), 0, "built from storage alone");
}
