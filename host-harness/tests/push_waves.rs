//! Host → ADO creates go to ADO several at a time, parents before their children: the native
//! core against the simulated ADO, with the HTTP port recording how requests were grouped.

use ado_sync_host::ado_sim::{parent_of, AdoSim};
use ado_sync_host::api as h;
use ado_sync_host::workspace::sample;
use ado_sync_plugin::api as p;
use ado_sync_plugin::engine::Engine;
use ado_sync_plugin::native::{MemoryKv, MemoryVault, NativeHttp};
use ado_sync_plugin::ports::{Http, HttpRequest, HttpResponse, TransportError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

const ORIGIN: &str = "https://dev.azure.com";

/// NativeHttp that remembers, for every create it sends, which group of concurrent requests it
/// was in (0, 1, 2… in sending order; a lone `send` is a group of its own).
struct Recording {
    inner: NativeHttp,
    groups: Mutex<Vec<Vec<String>>>,
}

fn is_create(r: &HttpRequest) -> bool {
    r.method == "POST"
        && r.url.contains("/_apis/wit/workitems/$")
        && !r.url.contains("validateOnly")
}

fn title_of(r: &HttpRequest) -> String {
    let ops: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    ops.as_array()
        .into_iter()
        .flatten()
        .find(|op| op["path"] == "/fields/System.Title")
        .and_then(|op| op["value"].as_str())
        .unwrap_or_default()
        .to_string()
}

impl Recording {
    fn note(&self, requests: &[HttpRequest]) {
        let creates: Vec<String> = requests
            .iter()
            .filter(|r| is_create(r))
            .map(title_of)
            .collect();
        if !creates.is_empty() {
            if let Ok(mut g) = self.groups.lock() {
                g.push(creates);
            }
        }
    }
}

impl Http for Recording {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.note(std::slice::from_ref(request));
        self.inner.send(request)
    }
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        self.note(requests);
        self.inner.send_all(requests)
    }
    fn sleep_ms(&self, millis: u64) {
        self.inner.sleep_ms(millis)
    }
    fn now_rfc3339(&self) -> String {
        self.inner.now_rfc3339()
    }
    fn random_hex(&self, bytes: usize) -> String {
        self.inner.random_hex(bytes)
    }
}

fn conv<A: serde::Serialize, B: serde::de::DeserializeOwned>(a: &A) -> B {
    serde_json::from_value(serde_json::to_value(a).expect("to json")).expect("from json")
}

/// 2 epics, each with 3 features of 4 stories: 32 items, 3 levels.
fn host_items() -> Vec<p::HostItem> {
    let mut items = Vec::new();
    let item = |id: String, ty: &str, parent: Option<String>| p::HostItem {
        title: format!("{ty} {id}"),
        id,
        item_type: ty.into(),
        description: None,
        parent,
        status: Some("backlog".into()),
        sprint: None,
        releases: vec![],
        tags: vec![],
        fields: vec![],
    };
    for e in 0..2 {
        let epic = format!("e{e}");
        items.push(item(epic.clone(), "epic", None));
        for f in 0..3 {
            let feature = format!("{epic}f{f}");
            items.push(item(feature.clone(), "feature", Some(epic.clone())));
            for s in 0..4 {
                items.push(item(
                    format!("{feature}s{s}"),
                    "story",
                    Some(feature.clone()),
                ));
            }
        }
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_travel_in_concurrent_waves_with_parents_first() {
    let sim = AdoSim::start().await;
    sim.create_project("Waves", "Agile").expect("project");
    let http = Recording {
        inner: NativeHttp::new().redirect(ORIGIN, &sim.uri()),
        groups: Mutex::new(Vec::new()),
    };
    let (kv, vault) = (MemoryKv::new(), MemoryVault::new());
    let items = host_items();
    let outcome = tokio::task::block_in_place(|| {
        let engine = Engine::new(&http, &kv, &vault);
        engine.set_workspace_schema(&conv(&sample::schema("ws-waves")))?;
        let conn = engine.connect(
            "Contoso",
            &conv(&h::ConnectionTarget::Cloud(h::CloudCredentials {
                url: format!("{ORIGIN}/contoso"),
                email: "builder@contoso.example".into(),
                pat: AdoSim::PAT.into(),
            })),
        )?;
        let integ = engine.add_project(&conn.id, "Waves", "Waves")?;
        let mapping = engine.propose_mapping(&integ.id, false)?;
        engine.set_mapping(&integ.id, &mapping)?;
        engine.sync_once(&p::SyncRequest {
            integration: integ.id,
            direction: p::SyncDirection::HostToAdo,
            ado_filter: p::AdoFilter {
                open_only: false,
                work_item_types: vec![],
                tags: vec![],
            },
            host_scope: p::HostScope::WholeWorkspace,
            host_items: items.clone(),
            dry_run: false,
            page_size: None,
            cursor: None,
        })
    })
    .expect("push");
    assert!(
        outcome.report.failures.is_empty(),
        "{:?}",
        outcome.report.failures
    );
    assert_eq!(outcome.report.totals.created, 32);

    // ADO holds every item once, under the right parent.
    let titles: HashMap<i64, String> = sim
        .work_item_ids()
        .into_iter()
        .filter_map(|id| {
            let wi = sim.work_item(id)?;
            Some((id, wi["fields"]["System.Title"].as_str()?.to_string()))
        })
        .collect();
    assert_eq!(titles.len(), 32, "no duplicate, none missing");
    for item in &items {
        let (id, _) = titles
            .iter()
            .find(|(_, t)| **t == item.title)
            .expect("created in ADO");
        let wi = sim.work_item(*id).expect("work item");
        let parent_title = parent_of(&wi).and_then(|id| titles.get(&id).cloned());
        let expected = item
            .parent
            .as_ref()
            .and_then(|p| items.iter().find(|i| &i.id == p))
            .map(|p| p.title.clone());
        assert_eq!(parent_title, expected, "{}", item.title);
    }

    // The creates went out in groups (never more than 8 at once), and every child in a group
    // after its parent's.
    let groups = http.groups.lock().expect("groups").clone();
    let group_of = |title: &str| groups.iter().position(|g| g.iter().any(|t| t == title));
    assert_eq!(
        groups.iter().map(Vec::len).sum::<usize>(),
        32,
        "one create each"
    );
    assert!(groups.iter().all(|g| g.len() <= 8), "{groups:?}");
    assert!(
        groups.len() <= 8,
        "32 creates in few concurrent groups, not one by one: {groups:?}"
    );
    for item in &items {
        if let Some(parent) = item
            .parent
            .as_ref()
            .and_then(|p| items.iter().find(|i| &i.id == p))
        {
            assert!(
                group_of(&parent.title) < group_of(&item.title),
                "{} went with or before its parent: {groups:?}",
                item.title
            );
        }
    }
}
