//! The ADO API's floor for an initial sync: 1,000 work items (a three-level seed_bulk hierarchy)
//! come into the host with one WIQL query per mapped type, ⌈1000/200⌉ batch reads and no other
//! request, each id read exactly once. Behaviour only; the timings live in the benchmarks
//! (`cargo bench -p ado-sync-host --bench side_by_side`).

use ado_sync_e2e::*;
use ado_sync_host::ado_sim::AdoSim;
use std::collections::BTreeSet;

const ITEMS: usize = 1_000;

#[tokio::test(flavor = "multi_thread")]
async fn initial_sync_of_1000_items_costs_one_wiql_per_type_and_one_read_per_200_ids() {
    let sim = AdoSim::start().await;
    sim.create_project("Bulk", "Agile").expect("project");
    sim.seed_bulk("Bulk", ITEMS);
    let mut s = Scenario::with_sim(sim).await;
    let (_, integration) = s.integrate("Bulk", false).await;
    let mapped = s
        .host
        .get_mapping(&integration)
        .await
        .expect("mapping")
        .types;
    s.sim.clear_requests();

    let outcome = s.pull(&integration).await;

    assert_eq!(outcome.report.totals.created as usize, ITEMS);
    assert!(outcome.report.failures.is_empty());
    assert_eq!(s.workspace.items.len(), ITEMS);
    let requests = s.sim.requests();
    let kind = |r: &ado_sync_host::ado_sim::SimRequest| {
        format!(
            "{} {}",
            r.method,
            r.path.rsplit("/_apis/").next().unwrap_or_default()
        )
    };
    let wiql: Vec<_> = requests
        .iter()
        .filter(|r| kind(r) == "POST wit/wiql")
        .collect();
    let batches: Vec<_> = requests
        .iter()
        .filter(|r| kind(r) == "POST wit/workitemsbatch")
        .collect();
    let others: Vec<String> = requests
        .iter()
        .map(kind)
        .filter(|k| k != "POST wit/wiql" && k != "POST wit/workitemsbatch")
        .collect();
    assert_eq!(wiql.len(), mapped.len(), "one WIQL query per mapped type");
    assert_eq!(batches.len(), ITEMS.div_ceil(200), "⌈N/200⌉ batch reads");
    assert!(others.is_empty(), "no other request: {others:?}");
    assert_eq!(outcome.report.ado_requests as usize, requests.len());

    // Every id is read once, in batches of at most 200.
    let mut read = BTreeSet::new();
    for b in &batches {
        let body = b.json().expect("batch body");
        let ids = body["ids"].as_array().expect("ids");
        assert!(ids.len() <= 200);
        for id in ids {
            assert!(read.insert(id.as_i64().expect("id")), "{id} read twice");
        }
    }
    let live: BTreeSet<i64> = s.sim.work_item_ids().into_iter().collect();
    assert_eq!(read, live);
}
