//! Side-by-side benchmarks (issue 7): the component in wasmtime next to the same core compiled
//! natively (`ado-sync-plugin` with feature `native`), each against its own simulated ADO of the
//! same kind, in the same run, so a noisy machine still gives a fair ratio.
//!
//! ```sh
//! cargo build -p ado-sync-plugin --release --target wasm32-wasip2
//! cargo bench -p ado-sync-host --bench side_by_side               # 1k / 10k / 50k
//! cargo bench -p ado-sync-host --bench side_by_side -- --quick    # smoke run, small sizes
//! cargo bench -p ado-sync-host --bench side_by_side -- --only-webhooks   # figure (3) alone (profiling)
//! cargo bench -p ado-sync-host --bench side_by_side -- --no-50k   # skip the 50k scaling point
//! cargo bench -p ado-sync-host --bench side_by_side -- --only-push            # figure (2) alone
//! cargo bench -p ado-sync-host --bench side_by_side -- --only-instantiation   # (4), first part
//! ```
//!
//! It prints; it asserts only behaviour (request counts, outcomes), never times.

use ado_sync_host::ado_sim::{AdoSim, SimRequest};
use ado_sync_host::api as h;
use ado_sync_host::imports::secrets::MemoryVault as HostVault;
use ado_sync_host::imports::storage::MemoryStorage;
use ado_sync_host::workspace::sample;
use ado_sync_host::{Limits, PluginHost, Runtime};
use ado_sync_plugin::api as p;
use ado_sync_plugin::engine::Engine;
use ado_sync_plugin::native::{MemoryKv, MemoryVault, NativeHttp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod serve_figure;

const CLOUD_URL: &str = "https://dev.azure.com/contoso";
const ADO_ORIGIN: &str = "https://dev.azure.com";
const WORKSPACE_ID: &str = "ws-bench";
const PROJECT: &str = "Bulk";
const PUBLIC_URL: &str = "https://sync.acme.example";
/// Most ids in one batch read, and WIQL's row cap / id window (as ADO and the plugin use them).
const BATCH: usize = 200;
const WIQL_CAP: usize = 20_000;
const ID_WINDOW: i64 = 19_000;

struct Plan {
    quick: bool,
    /// `--only-webhooks`: just figure (3), e.g. under a profiler.
    only_webhooks: bool,
    /// `--only-push`: just figure (2).
    only_push: bool,
    main: usize,
    scaling: Vec<usize>,
    push: usize,
    hook_items: usize,
    events: usize,
    calls: usize,
    compiles: usize,
}

impl Plan {
    fn from_args() -> Plan {
        let args: Vec<String> = std::env::args().collect();
        let has = |f: &str| args.iter().any(|a| a == f);
        if has("--quick") {
            return Plan {
                quick: true,
                only_webhooks: has("--only-webhooks"),
                only_push: has("--only-push"),
                main: 1_000,
                scaling: vec![200, 1_000],
                push: 500,
                hook_items: 200,
                events: 200,
                calls: 300,
                compiles: 1,
            };
        }
        let mut scaling = vec![1_000, 10_000, 50_000];
        if has("--no-50k") {
            scaling.pop();
        }
        Plan {
            quick: false,
            only_webhooks: has("--only-webhooks"),
            only_push: has("--only-push"),
            main: 10_000,
            scaling,
            push: 10_000,
            hook_items: 1_000,
            events: 2_000,
            calls: 2_000,
            compiles: 3,
        }
    }
}

/// Convert between the host's and the plugin's generated types (both come from `wit/`).
fn conv<A: Serialize, B: DeserializeOwned>(a: &A) -> B {
    let v = serde_json::to_value(a).expect("serialise");
    serde_json::from_value(v).expect("both sides share the contract")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `VmHWM` / `VmRSS` of this process, in bytes.
fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Reset the kernel's peak-RSS mark (`VmHWM`) so the next reading covers only what follows.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Keep `run` when it is faster than the best so far (figures are the best of their repetitions).
fn keep_best<T>(best: &mut Option<T>, run: T, time: fn(&T) -> Duration) {
    if best.as_ref().is_none_or(|b| time(&run) < time(b)) {
        *best = Some(run);
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// The requests of one run, by kind.
#[derive(Debug, Default, PartialEq, Clone)]
struct Shape {
    wiql: usize,
    batch: usize,
    create: usize,
    get: usize,
    other: Vec<String>,
}

impl Shape {
    fn of(requests: &[SimRequest]) -> Shape {
        let mut s = Shape::default();
        for r in requests {
            let api = r.path.rsplit("/_apis/").next().unwrap_or("");
            match (r.method.as_str(), api) {
                ("POST", "wit/wiql") => s.wiql += 1,
                ("POST", "wit/workitemsbatch") => s.batch += 1,
                ("POST", a) if a.starts_with("wit/workitems/$") => s.create += 1,
                ("GET", a) if a.starts_with("wit/workitems/") => s.get += 1,
                (m, _) => s.other.push(format!("{m} {}", r.path)),
            }
        }
        s
    }

    fn total(&self) -> usize {
        self.wiql + self.batch + self.create + self.get + self.other.len()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.wiql, "WIQL"),
            (self.batch, "batch"),
            (self.create, "create"),
            (self.get, "GET item"),
            (self.other.len(), "other"),
        ] {
            if n > 0 || what == "other" {
                parts.push(format!("{n} {what}"));
            }
        }
        format!("{} = {}", parts.join(" + "), self.total())
    }
}

/// The WIQL requests the plugin needs for these ids of each mapped type: one query per type; past
/// the 20,000-row cap, the refused query, one `$top=1` query for the highest id, and one query
/// per 19,000-id window up to it.
fn expected_wiql(ids_by_type: &BTreeMap<String, Vec<i64>>, mapped: &[String]) -> usize {
    mapped
        .iter()
        .map(|t| {
            let ids = ids_by_type.get(t).map(Vec::as_slice).unwrap_or(&[]);
            if ids.len() <= WIQL_CAP {
                return 1;
            }
            let max = ids.iter().copied().max().unwrap_or(0);
            2 + (max / ID_WINDOW) as usize + 1
        })
        .sum()
}

fn ids_by_type(sim: &AdoSim) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for id in sim.work_item_ids() {
        if let Some(wi) = sim.work_item(id) {
            let t = wi["fields"]["System.WorkItemType"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            out.entry(t).or_default().push(id);
        }
    }
    out
}

async fn bulk_sim(n: usize) -> AdoSim {
    let sim = AdoSim::start().await;
    sim.create_project(PROJECT, "Agile").expect("project");
    if n > 0 {
        sim.seed_bulk(PROJECT, n);
    }
    sim
}

/// The native core's capabilities.
struct Native {
    http: NativeHttp,
    kv: MemoryKv,
    vault: MemoryVault,
}

impl Native {
    /// Run the engine on this (blocking) thread while the simulator keeps serving.
    fn run<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        tokio::task::block_in_place(|| f(&Engine::new(&self.http, &self.kv, &self.vault)))
    }
}

enum Driver {
    Wasm(PluginHost),
    Native(Native),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Wasm,
    Native,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Wasm => "wasm",
            Kind::Native => "native",
        }
    }
}

/// One side: a host or a native engine, connected and mapped to the simulator's project.
struct Side {
    driver: Driver,
    conn: String,
    integration: String,
}

fn plugin_err(e: p::SyncError) -> String {
    e.describe()
}

impl Side {
    async fn new(kind: Kind, runtime: &Arc<Runtime>, sim_uri: &str) -> Side {
        let schema = sample::schema(WORKSPACE_ID);
        let target = h::ConnectionTarget::Cloud(h::CloudCredentials {
            url: CLOUD_URL.into(),
            email: "builder@contoso.example".into(),
            pat: AdoSim::PAT.into(),
        });
        match kind {
            Kind::Wasm => {
                let host = PluginHost::with_runtime(
                    runtime.clone(),
                    Arc::new(MemoryStorage::new()),
                    Arc::new(HostVault::new()),
                );
                host.redirect(CLOUD_URL, sim_uri);
                host.set_workspace_schema(&schema).await.expect("schema");
                let conn = host.connect("Contoso", &target).await.expect("connect");
                let integ = host
                    .add_project(&conn.id, PROJECT, PROJECT)
                    .await
                    .expect("add project");
                let mapping = host
                    .propose_mapping(&integ.id, false)
                    .await
                    .expect("propose");
                host.set_mapping(&integ.id, &mapping).await.expect("map");
                Side {
                    driver: Driver::Wasm(host),
                    conn: conn.id,
                    integration: integ.id,
                }
            }
            Kind::Native => {
                let native = Native {
                    http: NativeHttp::new().redirect(ADO_ORIGIN, sim_uri),
                    kv: MemoryKv::new(),
                    vault: MemoryVault::new(),
                };
                let (conn, integration) = native
                    .run(|e| -> Result<(String, String), p::SyncError> {
                        e.set_workspace_schema(&conv(&schema))?;
                        let conn = e.connect("Contoso", &conv(&target))?;
                        let integ = e.add_project(&conn.id, PROJECT, PROJECT)?;
                        let mapping = e.propose_mapping(&integ.id, false)?;
                        e.set_mapping(&integ.id, &mapping)?;
                        Ok((conn.id, integ.id))
                    })
                    .map_err(plugin_err)
                    .expect("native configure");
                Side {
                    driver: Driver::Native(native),
                    conn,
                    integration,
                }
            }
        }
    }

    fn request(&self, direction: h::SyncDirection, host_items: Vec<h::HostItem>) -> h::SyncRequest {
        h::SyncRequest {
            integration: self.integration.clone(),
            direction,
            ado_filter: h::AdoFilter {
                open_only: false,
                work_item_types: vec![],
                tags: vec![],
            },
            host_scope: h::HostScope::WholeWorkspace,
            host_items,
            dry_run: false,
            page_size: None,
            cursor: None,
        }
    }

    /// A sync; the time covers the call only (for wasm: instantiation, lowering and lifting
    /// included; for native: the engine call, with the contract types converted outside).
    async fn sync(&self, request: &h::SyncRequest) -> (Duration, h::SyncOutcome) {
        self.try_sync(request).await.expect("sync")
    }

    async fn try_sync(
        &self,
        request: &h::SyncRequest,
    ) -> Result<(Duration, h::SyncOutcome), String> {
        match &self.driver {
            Driver::Wasm(host) => {
                let t = Instant::now();
                let out = host.sync_once(request).await.map_err(|e| e.to_string())?;
                Ok((t.elapsed(), out))
            }
            Driver::Native(n) => {
                let req: p::SyncRequest = conv(request);
                let t = Instant::now();
                let out = n.run(|e| e.sync_once(&req)).map_err(plugin_err)?;
                let elapsed = t.elapsed();
                Ok((elapsed, conv(&out)))
            }
        }
    }

    /// ADO → host in pages of `page` items (one call per page, following the cursor).
    async fn pull_pages(&self, page: u32) -> Result<(Duration, usize), String> {
        let mut cursor = None;
        let (mut total, mut created) = (Duration::ZERO, 0);
        loop {
            let request = h::SyncRequest {
                page_size: Some(page),
                cursor: cursor.take(),
                ..self.request(h::SyncDirection::AdoToHost, vec![])
            };
            let (t, out) = self.try_sync(&request).await?;
            total += t;
            created += out.report.totals.created as usize;
            match out.next {
                Some(next) => cursor = Some(next),
                None => return Ok((total, created)),
            }
        }
    }

    async fn mapped_types(&self) -> Vec<String> {
        let mapping: h::Mapping = match &self.driver {
            Driver::Wasm(host) => host.get_mapping(&self.integration).await.expect("mapping"),
            Driver::Native(n) => conv(
                &n.run(|e| e.get_mapping(&self.integration))
                    .map_err(plugin_err)
                    .expect("mapping"),
            ),
        };
        mapping.types.into_iter().map(|t| t.ado_type).collect()
    }

    async fn provision(&self) -> h::ProvisionOutcome {
        match &self.driver {
            Driver::Wasm(host) => host
                .provision_webhook(&self.conn, PUBLIC_URL)
                .await
                .expect("provision"),
            Driver::Native(n) => conv(
                &n.run(|e| e.provision(&self.conn, PUBLIC_URL))
                    .map_err(plugin_err)
                    .expect("provision"),
            ),
        }
    }

    async fn webhook_path(&self) -> (Duration, String) {
        match &self.driver {
            Driver::Wasm(host) => {
                let t = Instant::now();
                let path = host.webhook_path().await.expect("path");
                (t.elapsed(), path)
            }
            Driver::Native(n) => {
                let t = Instant::now();
                let path = n
                    .run(|e| e.webhook_path())
                    .map_err(plugin_err)
                    .expect("path");
                (t.elapsed(), path)
            }
        }
    }

    /// Handle prepared deliveries, `batch` per call (1: `handle`, more: `handle-batch`); the
    /// time of each call and every outcome.
    async fn deliver(
        &self,
        requests: &[h::WebhookRequest],
        batch: usize,
    ) -> (Vec<Duration>, Vec<h::WebhookOutcome>) {
        let mut times = Vec::with_capacity(requests.len());
        let mut outcomes = Vec::with_capacity(requests.len());
        match &self.driver {
            Driver::Wasm(host) => {
                for chunk in requests.chunks(batch) {
                    let t = Instant::now();
                    if batch == 1 {
                        outcomes.push(host.handle_webhook(&chunk[0]).await.expect("delivery"));
                    } else {
                        let all = host.handle_webhooks(chunk).await.expect("batch");
                        outcomes.extend(all.into_iter().map(|o| o.expect("delivery")));
                    }
                    times.push(t.elapsed());
                }
            }
            Driver::Native(n) => {
                let converted: Vec<p::WebhookRequest> = requests.iter().map(conv).collect();
                let raw = n.run(|e| {
                    converted
                        .chunks(batch)
                        .map(|chunk| {
                            let t = Instant::now();
                            let out: Vec<p::WebhookOutcome> = if batch == 1 {
                                vec![e
                                    .handle_webhook(&chunk[0])
                                    .map_err(plugin_err)
                                    .expect("delivery")]
                            } else {
                                e.handle_webhooks(chunk)
                                    .into_iter()
                                    .map(|o| o.map_err(plugin_err).expect("delivery"))
                                    .collect()
                            };
                            (t.elapsed(), out)
                        })
                        .collect::<Vec<_>>()
                });
                for (t, out) in raw {
                    times.push(t);
                    outcomes.extend(out.iter().map(conv));
                }
            }
        }
        (times, outcomes)
    }
}

// ---------------------------------------------------------------------------------------------
// (1) + (7): ADO → host initial sync at several sizes, with request counts asserted.

struct PullRun {
    time: Duration,
    shape: Shape,
    guest_peak: usize,
    rss_peak: u64,
    rss_before: u64,
}

async fn pull_once(
    kind: Kind,
    runtime: &Arc<Runtime>,
    sim: &AdoSim,
    n: usize,
) -> Result<PullRun, String> {
    let side = Side::new(kind, runtime, &sim.uri()).await;
    let mapped = side.mapped_types().await;
    sim.clear_requests();
    runtime.reset_guest_memory_peak();
    let rss_before = proc_status("VmRSS:");
    reset_peak_rss();
    let (time, outcome) = side
        .try_sync(&side.request(h::SyncDirection::AdoToHost, vec![]))
        .await
        .map_err(|e| {
            format!(
                "{e} (guest memory peak {:.0} MiB)",
                mib(runtime.guest_memory_peak() as u64)
            )
        })?;
    let rss_peak = proc_status("VmHWM:");
    let guest_peak = runtime.guest_memory_peak();
    let shape = Shape::of(&sim.requests());
    // Behaviour: every seeded item arrives, with exactly the requests the API needs.
    assert_eq!(outcome.report.totals.created as usize, n, "{}", kind.name());
    assert_eq!(outcome.changes.len(), n);
    assert!(outcome.report.failures.is_empty());
    let want = Shape {
        wiql: expected_wiql(&ids_by_type(sim), &mapped),
        batch: n.div_ceil(BATCH),
        ..Shape::default()
    };
    assert_eq!(shape, want, "{} requests for {n} items", kind.name());
    assert_eq!(outcome.report.ado_requests as usize, shape.total());
    Ok(PullRun {
        time,
        shape,
        guest_peak: if kind == Kind::Wasm { guest_peak } else { 0 },
        rss_peak,
        rss_before,
    })
}

/// A paged ADO → host sync: total time, requests, guest memory peak.
async fn pull_paged(
    kind: Kind,
    runtime: &Arc<Runtime>,
    sim: &AdoSim,
    n: usize,
    page: u32,
) -> Result<(Duration, Shape, usize), String> {
    let side = Side::new(kind, runtime, &sim.uri()).await;
    sim.clear_requests();
    runtime.reset_guest_memory_peak();
    let (time, created) = side.pull_pages(page).await?;
    assert_eq!(created, n, "{}: paged sync brings every item", kind.name());
    Ok((
        time,
        Shape::of(&sim.requests()),
        runtime.guest_memory_peak(),
    ))
}

fn reps_for(n: usize, quick: bool) -> usize {
    match (quick, n) {
        (true, _) => 2,
        (_, n) if n <= 1_000 => 3,
        (_, n) if n <= 10_000 => 2,
        _ => 1,
    }
}

type PullResult = Result<PullRun, String>;

async fn pull_size(runtime: &Arc<Runtime>, n: usize, quick: bool) -> (PullResult, PullResult) {
    let sim_w = bulk_sim(n).await;
    let sim_n = bulk_sim(n).await;
    let mut best: [Option<PullRun>; 2] = [None, None];
    let mut failed: [Option<String>; 2] = [None, None];
    for _ in 0..reps_for(n, quick) {
        for (i, (kind, sim)) in [(Kind::Wasm, &sim_w), (Kind::Native, &sim_n)]
            .into_iter()
            .enumerate()
        {
            if failed[i].is_some() {
                continue;
            }
            let run = match pull_once(kind, runtime, sim, n).await {
                Ok(r) => r,
                Err(e) => {
                    failed[i] = Some(e);
                    continue;
                }
            };
            let keep = match &best[i] {
                Some(b) => run.time < b.time,
                None => true,
            };
            if keep {
                // Keep the memory peaks of all runs (they are maxima, not timings).
                let (g, r) = best[i]
                    .as_ref()
                    .map(|b| (b.guest_peak, b.rss_peak))
                    .unwrap_or((0, 0));
                best[i] = Some(PullRun {
                    guest_peak: run.guest_peak.max(g),
                    rss_peak: run.rss_peak.max(r),
                    ..run
                });
            }
        }
    }
    let [w, nat] = best;
    let [fw, fnat] = failed;
    (
        w.ok_or_else(|| fw.unwrap_or_default()),
        nat.ok_or_else(|| fnat.unwrap_or_default()),
    )
}

// ---------------------------------------------------------------------------------------------
// (2): host → ADO push of new items.

/// `n` new host items as Epic > Feature > Story (1 : 5 : 25), parents before children.
fn new_host_items(n: usize) -> Vec<h::HostItem> {
    let mut items = Vec::with_capacity(n);
    let (mut epic, mut feature): (Option<String>, Option<String>) = (None, None);
    let (mut features, mut stories) = (0usize, 0usize);
    let statuses = ["backlog", "in-progress", "in-review", "done"];
    for i in 0..n {
        let id = format!("push-{i}");
        let (ty, parent) = if epic.is_none() || (features >= 5 && stories >= 5) {
            features = 0;
            stories = 5;
            epic = Some(id.clone());
            feature = None;
            ("epic", None)
        } else if feature.is_none() || stories >= 5 {
            features += 1;
            stories = 0;
            feature = Some(id.clone());
            ("feature", epic.clone())
        } else {
            stories += 1;
            ("story", feature.clone())
        };
        let mut fields = Vec::new();
        if ty != "story" {
            // Business Value exists on Epic and Feature only (Agile).
            fields.push(h::FieldEntry {
                field: "value".into(),
                value: Some(h::FieldValue::Number((i % 10) as f64)),
            });
        } else {
            fields.push(h::FieldEntry {
                field: "effort".into(),
                value: Some(h::FieldValue::Number([1.0, 2.0, 3.0, 5.0, 8.0][i % 5])),
            });
        }
        items.push(h::HostItem {
            id,
            item_type: ty.into(),
            title: format!("Pushed {ty} {i}"),
            description: Some(format!("<p>Host item <b>{i}</b> for load tests.</p>")),
            parent,
            status: Some(statuses[i % statuses.len()].into()),
            sprint: None,
            releases: vec![],
            tags: if i % 7 == 0 {
                vec!["perf".into()]
            } else {
                vec![]
            },
            fields,
        });
    }
    items
}

struct PushRun {
    time: Duration,
    shape: Shape,
}

async fn push_once(kind: Kind, runtime: &Arc<Runtime>, items: &[h::HostItem]) -> PushRun {
    let sim = bulk_sim(0).await;
    let side = Side::new(kind, runtime, &sim.uri()).await;
    sim.clear_requests();
    let (time, outcome) = side
        .sync(&side.request(h::SyncDirection::HostToAdo, items.to_vec()))
        .await;
    let shape = Shape::of(&sim.requests());
    assert!(
        outcome.report.failures.is_empty(),
        "{:?}",
        outcome.report.failures.first()
    );
    assert_eq!(outcome.report.totals.created as usize, items.len());
    assert_eq!(sim.work_item_ids().len(), items.len());
    assert_eq!(
        shape,
        Shape {
            create: items.len(),
            ..Shape::default()
        },
        "{}: one request per created item",
        kind.name()
    );
    PushRun { time, shape }
}

// ---------------------------------------------------------------------------------------------
// (3): webhooks.

fn credential(sim: &AdoSim, event: &Value) -> String {
    sim.delivery_authorization(event)
        .expect("delivered through a subscription with a credential")
}

/// Deliveries per `handle-batch` call in the batched webhook figure.
const WEBHOOK_BATCH: usize = 64;

struct HookRun {
    times: Vec<Duration>,
    total: Duration,
    applied: usize,
    requests: Shape,
}

async fn webhooks(
    kind: Kind,
    runtime: &Arc<Runtime>,
    items: usize,
    events: usize,
    batch: usize,
) -> HookRun {
    let sim = bulk_sim(items).await;
    let side = Side::new(kind, runtime, &sim.uri()).await;
    side.sync(&side.request(h::SyncDirection::AdoToHost, vec![]))
        .await;
    let provisioned = side.provision().await;
    assert!(provisioned.manual_steps.is_none());
    let (_, path) = side.webhook_path().await;
    let _ = sim.drain_events();
    let ids = sim.work_item_ids();
    for i in 0..events {
        let id = ids[i % ids.len()];
        let state = ["Active", "Closed", "New"][i % 3];
        sim.user_update(
            id,
            json!({"System.Title": format!("Edited in ADO {i}"), "System.State": state}),
        )
        .expect("edit");
    }
    let envelopes = sim.drain_events();
    assert_eq!(envelopes.len(), events, "one delivery per edit");
    let deliveries: Vec<h::WebhookRequest> = envelopes
        .iter()
        .map(|e| h::WebhookRequest {
            path: path.clone(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("Authorization".into(), credential(&sim, e)),
            ],
            body: serde_json::to_vec(e).unwrap_or_default(),
        })
        .collect();
    sim.clear_requests();
    let (mut times, outcomes) = side.deliver(&deliveries, batch).await;
    // The calls' time only: the native side's conversion of the requests into the plugin's
    // types (a JSON round trip of every body) is the benchmark's work, not the core's.
    let total: Duration = times.iter().sum();
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, h::WebhookOutcome::Applied(c) if !c.is_empty()))
        .count();
    assert_eq!(applied, events, "{}: every real edit applies", kind.name());
    times.sort();
    HookRun {
        times,
        total,
        applied,
        requests: Shape::of(&sim.requests()),
    }
}

// ---------------------------------------------------------------------------------------------

fn compile_figures(bytes: &[u8], reps: usize) -> (Duration, Duration, Duration, usize) {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let mut compile = Vec::new();
    let mut component = None;
    for _ in 0..reps {
        let t = Instant::now();
        component = Some(wasmtime::component::Component::new(&engine, bytes).expect("compile"));
        compile.push(t.elapsed());
    }
    let serialized = component.expect("compiled").serialize().expect("serialize");
    let file = std::env::temp_dir().join(format!("ado-sync-bench-{}.cwasm", std::process::id()));
    std::fs::write(&file, &serialized).expect("write cwasm");
    let (mut from_bytes, mut from_file) = (Vec::new(), Vec::new());
    for _ in 0..reps.max(5) {
        let t = Instant::now();
        // SAFETY: the bytes were produced just above by `serialize` with this engine's config.
        let c = unsafe { wasmtime::component::Component::deserialize(&engine, &serialized) };
        from_bytes.push(t.elapsed());
        c.expect("deserialize");
        let t = Instant::now();
        // SAFETY: as above; the file was written by this process.
        let c = unsafe { wasmtime::component::Component::deserialize_file(&engine, &file) };
        from_file.push(t.elapsed());
        c.expect("deserialize file");
    }
    let _ = std::fs::remove_file(&file);
    for v in [&mut compile, &mut from_bytes, &mut from_file] {
        v.sort();
    }
    (
        compile[compile.len() / 2],
        from_bytes[from_bytes.len() / 2],
        from_file[from_file.len() / 2],
        serialized.len(),
    )
}

/// The flag that makes this binary the harness-only process of figure (5).
const HARNESS_CHILD: &str = "--harness-rss-child";

/// (5), harness alone: this binary again, as a process holding only the host (runtime, store,
/// storage, egress) and syncing from the simulator of the parent process, so its peak RSS is the
/// harness's own. Prints its peak and the call's guest memory peak as one JSON line.
async fn harness_child(runtime: &Arc<Runtime>, args: &[String]) {
    let (Some(uri), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        panic!("usage: {HARNESS_CHILD} SIM_URI ITEMS");
    };
    let side = Side::new(Kind::Wasm, runtime, uri).await;
    let rss_before = proc_status("VmRSS:");
    let reset = reset_peak_rss();
    let (_, outcome) = side
        .sync(&side.request(h::SyncDirection::AdoToHost, vec![]))
        .await;
    assert_eq!(outcome.changes.len(), n, "every item arrives");
    println!(
        "{}",
        json!({
            "rss_before": rss_before,
            "rss_peak": proc_status("VmHWM:"),
            "peak_reset": reset,
            "guest_peak": runtime.guest_memory_peak(),
        })
    );
}

/// Run [`harness_child`] against `sim`: (peak RSS, RSS before the call, whether the peak could be
/// reset before the call).
async fn harness_rss(sim: &AdoSim, n: usize) -> Result<(u64, u64, bool), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = tokio::process::Command::new(exe)
        .args([HARNESS_CHILD, &sim.uri(), &n.to_string()])
        .output()
        .await
        .map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Value = line
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            format!(
                "no result from the harness process ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let num = |k: &str| v[k].as_u64().unwrap_or(0);
    Ok((
        num("rss_peak"),
        num("rss_before"),
        v["peak_reset"].as_bool().unwrap_or(false),
    ))
}

/// (4), first part: a fresh store and an instance, no call.
async fn instantiation_figure(host: &PluginHost, calls: usize) {
    let mut ti = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        host.instantiate().await.expect("instantiate");
        ti.push(t.elapsed());
    }
    ti.sort();
    println!(
        "  instantiate only (fresh store with WASI + HTTP contexts, instantiate from the pre-instantiated component): p50 {:>6.1} us  p99 {:>6.1} us   target <= 50 us",
        us(percentile(&ti, 0.5)),
        us(percentile(&ti, 0.99)),
    );
}

/// (2): host → ADO push of new items, both sides.
async fn push_figures(runtime: &Arc<Runtime>, plan: &Plan) {
    println!();
    println!(
        "(2) host -> ADO push of {} new items (Epic > Feature > Story)",
        plan.push
    );
    let items = new_host_items(plan.push);
    let (mut best_w, mut best_n): (Option<PushRun>, Option<PushRun>) = (None, None);
    // Three rounds: on this shared machine one slow round of either side moved the ratio by 0.2.
    for _ in 0..if plan.quick { 1 } else { 3 } {
        keep_best(
            &mut best_w,
            push_once(Kind::Wasm, runtime, &items).await,
            |r| r.time,
        );
        keep_best(
            &mut best_n,
            push_once(Kind::Native, runtime, &items).await,
            |r| r.time,
        );
    }
    let (pw, pn) = (best_w.expect("wasm push"), best_n.expect("native push"));
    for (name, r) in [("wasm", &pw), ("native", &pn)] {
        println!(
            "  {name:<7} {:>10.1} ms  {:>7.1} us/item  requests/item {:.2}  ({})",
            ms(r.time),
            us(r.time) / plan.push as f64,
            r.shape.total() as f64 / plan.push as f64,
            r.shape.describe()
        );
    }
    println!(
        "  ratio   {:.2}x   (targets: <= 1 request per create, wasm/native <= 1.2x)",
        ratio(pw.time, pn.time)
    );
}

/// (3): webhook deliveries, one per call and batched, both sides.
async fn webhook_figures(runtime: &Arc<Runtime>, plan: &Plan) {
    println!();
    println!(
        "(3) webhook deliveries, one instance: {} real ADO edits over {} linked items (provisioned, authenticated)",
        plan.events, plan.hook_items
    );
    for batch in [1, 8, WEBHOOK_BATCH] {
        // The best of two runs per side, interleaved (one run when --quick).
        let (mut hw, mut hn) = (None::<HookRun>, None::<HookRun>);
        for _ in 0..if plan.quick { 1 } else { 2 } {
            let w = webhooks(Kind::Wasm, runtime, plan.hook_items, plan.events, batch).await;
            keep_best(&mut hw, w, |r| r.total);
            let n = webhooks(Kind::Native, runtime, plan.hook_items, plan.events, batch).await;
            keep_best(&mut hn, n, |r| r.total);
        }
        let (hw, hn) = (hw.expect("wasm run"), hn.expect("native run"));
        if batch == 1 {
            println!("  one delivery per call (`handle`; the host keeps the instance between calls): latency per event");
        } else {
            println!(
                "  {batch} deliveries per call (`handle-batch`, what a host does with queued deliveries): latency per call"
            );
        }
        for (name, r) in [("wasm", &hw), ("native", &hn)] {
            println!(
                "  {name:<7} {:>9.0} events/s  p50 {:>7.1} us  p99 {:>7.1} us  max {:>7.1} us  applied {}  ADO requests/event {:.2} ({})",
                r.applied as f64 / r.total.as_secs_f64(),
                us(percentile(&r.times, 0.5)),
                us(percentile(&r.times, 0.99)),
                us(percentile(&r.times, 1.0)),
                r.applied,
                r.requests.total() as f64 / r.applied.max(1) as f64,
                r.requests.describe()
            );
        }
        if batch > 1 {
            let per_event = |t: Duration| us(t) / batch as f64;
            println!(
                "  processing time per event (call time / {batch}): wasm p50 {:.1} us p99 {:.1} us, native p50 {:.1} us p99 {:.1} us (each event also waits for its call)",
                per_event(percentile(&hw.times, 0.5)),
                per_event(percentile(&hw.times, 0.99)),
                per_event(percentile(&hn.times, 0.5)),
                per_event(percentile(&hn.times, 0.99)),
            );
        }
        println!(
            "  ratio   throughput {:.2}x  p50 {:.2}x  p99 {:.2}x   (targets: >= 10,000 events/s, p99 <= 1 ms per event)",
            ratio(hw.total, hn.total),
            ratio(percentile(&hw.times, 0.5), percentile(&hn.times, 0.5)),
            ratio(percentile(&hw.times, 0.99), percentile(&hn.times, 0.99)),
        );
    }
    serve_figures(plan).await;
}

/// (3), in the runnable host: the same kind of deliveries handed to `ado-sync serve`'s app on a
/// SQLite file, 64 per call, then posted to its router on a loopback port, one at a time and 64
/// in flight. Their baseline is the component-call figures just above.
async fn serve_figures(plan: &Plan) {
    println!(
        "  the runnable host (`ado-sync serve`'s app on a SQLite file, WAL, synchronous=FULL: every call commits before it answers; {} fresh edits per row)",
        plan.events
    );
    let served = serve_figure::served(bulk_sim(plan.hook_items).await, PROJECT, WORKSPACE_ID).await;
    let line = |what: &str, r: &serve_figure::ServeRun| {
        println!(
            "  {what:<34} {:>7.0} events/s  p50 {:>8.1} us  p99 {:>8.1} us  max {:>8.1} us  applied {}",
            r.applied as f64 / r.wall.as_secs_f64(),
            us(percentile(&r.times, 0.5)),
            us(percentile(&r.times, 0.99)),
            us(percentile(&r.times, 1.0)),
            r.applied,
        );
    };
    let deliveries = served.edits(plan.events, 0);
    let r = served.direct(&deliveries, WEBHOOK_BATCH).await;
    assert_eq!(r.applied, plan.events, "app: every real edit applies");
    line("app, 64 per call (time per call)", &r);
    for (round, in_flight) in [1usize, 64].into_iter().enumerate() {
        let deliveries = served.edits(plan.events, round + 1);
        let r = served.post(&deliveries, in_flight).await;
        assert_eq!(r.applied, plan.events, "serve: every real edit applies");
        line(&format!("HTTP, {in_flight} in flight (per delivery)"), &r);
    }
    println!(
        "  (targets: >= 10,000 events/s, p99 <= 1 ms per event; the HTTP client runs in this process, on the same cores)"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let plan = Plan::from_args();
    if let Some(i) = std::env::args().position(|a| a == HARNESS_CHILD) {
        // As a host would start: the compiled component from its cache.
        let runtime = Arc::new(
            Runtime::load(&ado_sync_host::component_path(), Limits::default())
                .expect("load component"),
        );
        let args: Vec<String> = std::env::args().skip(i + 1).collect();
        harness_child(&runtime, &args).await;
        return;
    }
    let can_reset_peak = reset_peak_rss();
    let path = ado_sync_host::component_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nBuild it first: cargo build -p ado-sync-plugin --release --target wasm32-wasip2",
            path.display()
        )
    });
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "ado-sync side-by-side benchmarks{}",
        if plan.quick { " (--quick)" } else { "" }
    );
    println!(
        "machine: {cores} cores; component {}; each figure next to its baseline from this run",
        path.display()
    );
    println!(
        "native = the same engine compiled natively (feature `native`, ureq + in-memory storage)"
    );
    println!("times are the best of the repetitions shown; each side has its own simulator");

    let t = Instant::now();
    let runtime = Arc::new(Runtime::from_bytes(&bytes, Limits::default()).expect("load component"));
    let load_time = t.elapsed();

    if plan.only_webhooks {
        webhook_figures(&runtime, &plan).await;
        return;
    }
    if plan.only_push {
        push_figures(&runtime, &plan).await;
        return;
    }
    if std::env::args().any(|a| a == "--only-instantiation") {
        let sim = bulk_sim(0).await;
        let side = Side::new(Kind::Wasm, &runtime, &sim.uri()).await;
        if let Driver::Wasm(host) = &side.driver {
            instantiation_figure(host, plan.calls * 5).await;
        }
        return;
    }

    // Warm both sides up (page faults, lazy statics, connection pools), not reported.
    let _ = pull_size(&runtime, 200, true).await;

    // (1) + (7) + (5)
    println!();
    println!("(1)+(7) ADO -> host initial sync (seed_bulk: Epic > Feature > User Story)");
    println!(
        "  {:>7}  {:>10} {:>10} {:>6}  {:>9} {:>9}  requests (asserted: WIQL per type/window + ceil(N/200) batch reads, 0 metadata)",
        "items", "wasm ms", "native ms", "ratio", "wasm us/i", "nat us/i"
    );
    let mut main_runs = None;
    for &n in &plan.scaling {
        let (w, nat) = match pull_size(&runtime, n, plan.quick).await {
            (Ok(w), Ok(nat)) => (w, nat),
            (w, nat) => {
                let show = |r: &PullResult| match r {
                    Ok(r) => format!(
                        "{:.1} ms ({:.1} us/item)",
                        ms(r.time),
                        us(r.time) / n as f64
                    ),
                    Err(e) => format!("FAILED: {e}"),
                };
                println!("  {n:>7}  wasm {}   native {}", show(&w), show(&nat));
                let page = 5_000;
                let sim_w = bulk_sim(n).await;
                let sim_n = bulk_sim(n).await;
                let pw = pull_paged(Kind::Wasm, &runtime, &sim_w, n, page).await;
                let pn = pull_paged(Kind::Native, &runtime, &sim_n, n, page).await;
                if let (Ok((tw, sw, gw)), Ok((tn, _, _))) = (&pw, &pn) {
                    println!(
                        "  {n:>7}  paged by {page}: {:>8.1} {:>10.1} {:>5.2}x  {:>9.1} {:>9.1}  {} ; guest peak {:.0} MiB",
                        ms(*tw),
                        ms(*tn),
                        ratio(*tw, *tn),
                        us(*tw) / n as f64,
                        us(*tn) / n as f64,
                        sw.describe(),
                        mib(*gw as u64)
                    );
                } else {
                    println!(
                        "  {n:>7}  paged by {page}: wasm {:?} native {:?}",
                        pw.err(),
                        pn.err()
                    );
                }
                continue;
            }
        };
        println!(
            "  {:>7}  {:>10.1} {:>10.1} {:>5.2}x  {:>9.1} {:>9.1}  {} (native: {})",
            n,
            ms(w.time),
            ms(nat.time),
            ratio(w.time, nat.time),
            us(w.time) / n as f64,
            us(nat.time) / n as f64,
            w.shape.describe(),
            nat.shape.describe(),
        );
        if n == plan.main {
            main_runs = Some((w, nat));
        }
    }
    println!("  target: wasm/native <= 1.2x; time per item flat across sizes");
    let (main_w, main_n) = match main_runs {
        Some(r) => r,
        None => match pull_size(&runtime, plan.main, plan.quick).await {
            (Ok(w), Ok(n)) => (w, n),
            (w, n) => panic!(
                "{}-item sync failed: {:?} {:?}",
                plan.main,
                w.err(),
                n.err()
            ),
        },
    };

    // (2)
    push_figures(&runtime, &plan).await;

    // (3)
    webhook_figures(&runtime, &plan).await;

    // (4)
    println!();
    println!("(4) instantiation and loading");
    let sim = bulk_sim(0).await;
    let sw = Side::new(Kind::Wasm, &runtime, &sim.uri()).await;
    let sn = Side::new(Kind::Native, &runtime, &sim.uri()).await;
    let Driver::Wasm(host) = &sw.driver else {
        unreachable!("the wasm side")
    };
    instantiation_figure(host, plan.calls).await;
    let mut tw = Vec::with_capacity(plan.calls);
    let mut tn = Vec::with_capacity(plan.calls);
    for _ in 0..plan.calls {
        tw.push(sw.webhook_path().await.0);
        tn.push(sn.webhook_path().await.0);
    }
    tw.sort();
    tn.sort();
    println!(
        "  call `webhook-path` (fresh store + instantiate from the pre-instantiated component + call + 1 storage read):"
    );
    println!(
        "    wasm   p50 {:>7.1} us  p99 {:>7.1} us   native (same call, no instance) p50 {:>5.1} us   target: instantiation <= 50 us",
        us(percentile(&tw, 0.5)),
        us(percentile(&tw, 0.99)),
        us(percentile(&tn, 0.5)),
    );
    let (compile, de_bytes, de_file, cwasm) = compile_figures(&bytes, plan.compiles);
    println!(
        "  compile from scratch {:>8.1} ms   deserialize serialized {:>6.2} ms ({:.2}x faster)   deserialize_file (mmap) {:>6.2} ms   target: cached <= 5 ms",
        ms(compile),
        ms(de_bytes),
        ratio(compile, de_bytes),
        ms(de_file)
    );
    println!(
        "  Runtime::from_bytes (engine + compile + link + pre-instantiate), once: {:.1} ms; serialized artefact {:.2} MiB",
        ms(load_time),
        mib(cwasm as u64)
    );
    let cache = std::env::temp_dir().join(format!("ado-sync-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let path = ado_sync_host::component_path();
    let mut loads = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = Runtime::load_cached(&path, Limits::default(), &cache).expect("load");
        loads.push(t.elapsed());
        drop(r);
    }
    let _ = std::fs::remove_dir_all(&cache);
    println!(
        "  Runtime::load (what hosts call; file + engine + link + pre-instantiate): cold cache {:.1} ms, warm cache {:.1} ms / {:.1} ms   target: cached <= 5 ms",
        ms(loads[0]),
        ms(loads[1]),
        ms(loads[2])
    );

    // (5)
    println!();
    println!("(5) memory during the {}-item ADO -> host sync", plan.main);
    println!(
        "  guest linear memory peak (store limiter): {:.1} MiB   target <= 64 MiB (limit {} MiB)",
        mib(main_w.guest_peak as u64),
        Limits::default().memory_bytes >> 20
    );
    let page = (plan.main / 5) as u32;
    let sim_p = bulk_sim(plan.main).await;
    match pull_paged(Kind::Wasm, &runtime, &sim_p, plan.main, page).await {
        Ok((t, shape, peak)) => println!(
            "  the same sync in pages of {page} (5 calls): guest peak {:.1} MiB, {:.1} ms, {}",
            mib(peak as u64),
            ms(t),
            shape.describe()
        ),
        Err(e) => println!("  the same sync in pages of {page}: FAILED: {e}"),
    }
    println!(
        "  process peak RSS (VmHWM, reset before the call; includes the in-process simulator): wasm {:.1} MiB (RSS before {:.1}), native {:.1} MiB (RSS before {:.1})   target <= 256 MiB",
        mib(main_w.rss_peak),
        mib(main_w.rss_before),
        mib(main_n.rss_peak),
        mib(main_n.rss_before),
    );
    let sim_rss = bulk_sim(plan.main).await;
    match harness_rss(&sim_rss, plan.main).await {
        Ok((peak, before, reset)) => println!(
            "  harness alone (its own process: runtime, store, in-memory storage, the result; the simulator in this one): peak RSS {:.1} MiB (RSS before the call {:.1}){}   target <= 256 MiB",
            mib(peak),
            mib(before),
            if reset { "" } else { " (peak not resettable: includes set-up)" }
        ),
        Err(e) => println!("  harness alone: FAILED: {e}"),
    }
    drop(sim_rss);
    println!(
        "  process peak RSS of the whole run so far: {:.1} MiB{}",
        mib(proc_status("VmHWM:")),
        if can_reset_peak {
            ""
        } else {
            " (VmHWM cannot be reset here: the per-call peaks above are cumulative)"
        }
    );

    // (6)
    println!();
    let size = bytes.len() as u64;
    println!(
        "(6) component size: {:.2} MiB ({size} bytes; release profile: opt-level 2, fat LTO, 1 codegen unit, stripped)   target <= 2 MiB",
        mib(size)
    );
}
