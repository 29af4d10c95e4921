//! Portability: the same release component, unmodified, in Node via jco (`tests/jco/`) and in
//! the wasmtime harness. Both hosts run one scripted scenario — configure, a denied egress,
//! ADO → host sync, a webhook, map-item both ways, a host → ADO push — each against its own
//! simulated ADO (the Node one serves from this process: jco's shim blocks Node's thread during
//! a call). The test fails on any difference in outcomes, egress attempts, requests ADO
//! received, plugin storage (link records included) or the host workspace. Values that differ
//! legitimately are made equal or masked, and each is named where it is handled: the connection
//! id hashes the time of connecting, so Node's wall clock is pinned to the wasmtime run's during
//! connect (see [`step_input`]); other times, the random webhook credential and the simulators'
//! ports are masked (see [`Normaliser`]).
//!
//! Without `node` the test prints `SKIPPED: node not found` and passes; without
//! `tests/jco/node_modules` it runs `npm ci` itself (CI runs nothing else).

use ado_sync_e2e::{runtime, CLOUD_URL, WORKSPACE_ID};
use ado_sync_host::ado_sim::{AdoSim, SimRequest};
use ado_sync_host::api::*;
use ado_sync_host::imports::egress::EgressRecord;
use ado_sync_host::imports::secrets::MemoryVault;
use ado_sync_host::imports::storage::{MemoryStorage, Storage};
use ado_sync_host::workspace::{sample, Workspace};
use ado_sync_host::{CallError, PluginHost};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const EMAIL: &str = "builder@contoso.example";
/// Where the host product would receive ADO's service hooks.
const PUBLIC_URL: &str = "https://sync.acme.example";
/// A well-formed ADO Services URL that is not on the administrator's list: egress must deny it.
const ELSEWHERE_URL: &str = "https://contoso-elsewhere.visualstudio.com";
/// The story "Dana Engineer" edits in ADO before the webhook step, and its new title.
const EDITED_STORY: &str = "Reset a forgotten password";
const EDITED_TITLE: &str = "Reset a forgotten password by SMS";
/// The feature map-item previews, and the parent of the story pushed from the host.
const FEATURE: &str = "Account management";
/// How long the Node side may take, transpiling included.
const NODE_TIMEOUT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------------------------
// What one run records

/// One step of the scenario as one host ran it.
#[derive(Debug, Clone, PartialEq)]
struct StepRecord {
    step: String,
    /// `{"ok": value}` or `{"err": sync-error}`, in jco's shape (see [`jco_shape`]).
    outcome: Value,
    /// Egress attempts during the step: method, the URL the guest asked for, allowed.
    egress: Vec<Value>,
    /// What the simulated ADO received during the step, sorted (batches run concurrently).
    requests: Vec<Value>,
}

/// One host's whole run.
#[derive(Debug)]
struct Run {
    host: &'static str,
    steps: Vec<StepRecord>,
    /// Every storage key with its value (JSON when it parses).
    storage: Vec<(String, Value)>,
    /// The host workspace at the end, in jco's shape, by id.
    workspace: Value,
    /// The base URL of the simulator this run used.
    sim_uri: String,
}

impl Run {
    /// The stored connection record's `created_at`: when the run connected.
    fn connected_at(&self) -> String {
        self.storage
            .iter()
            .find(|(k, _)| k.starts_with("connection/") && k.matches('/').count() == 1)
            .and_then(|(_, v)| v["created_at"].as_str())
            .unwrap_or_else(|| panic!("{}: no connection record", self.host))
            .to_string()
    }
}

fn request_record(r: &SimRequest) -> Value {
    let body = String::from_utf8_lossy(&r.body).to_string();
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "content-type": r.header("content-type"),
        "accept": r.header("accept"),
        // The scheme only: the credential itself stays out of failure messages.
        "authorization": r.header("authorization").and_then(|a| a.split(' ').next()),
        "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)),
    })
}

fn requests_since(sim: &AdoSim, mark: usize) -> Vec<Value> {
    let mut out: Vec<Value> = sim
        .requests()
        .iter()
        .skip(mark)
        .map(request_record)
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

fn egress_record(r: &EgressRecord) -> Value {
    json!({ "method": r.method, "url": r.url, "allowed": r.allowed })
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

fn storage_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).to_string()))
}

// ---------------------------------------------------------------------------------------------
// jco's shape of WIT values

/// Record fields whose values are WIT enums (serde writes `"InProgress"`, jco `"in-progress"`).
const ENUM_FIELDS: &[&str] = &[
    "kind",
    "category",
    "direction",
    "owner",
    "delete_policy",
    "action",
    "host_kind",
];

/// `InProgress` → `in-progress`.
fn kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `item_type` → `itemType`.
fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A WIT value serialised by the bindings' serde derive, rewritten the way jco represents it in
/// JavaScript: record fields in camelCase, variants as `{tag, val}`, enums and tags in
/// kebab-case, `option::none` as null.
fn jco_shape(v: Value) -> Value {
    shape(v, false)
}

fn shape(v: Value, is_enum: bool) -> Value {
    match v {
        Value::String(s) if is_enum => Value::String(kebab(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|x| shape(x, false)).collect()),
        Value::Object(m) => {
            let variant = m.len() == 1
                && m.keys()
                    .next()
                    .is_some_and(|k| k.starts_with(|c: char| c.is_ascii_uppercase()));
            if variant {
                let (tag, val) = m.into_iter().next().unwrap_or_default();
                // `ignored(ignored-reason)` is the one variant whose payload is an enum.
                let payload = shape(val, tag == "Ignored");
                json!({ "tag": kebab(&tag), "val": payload })
            } else {
                Value::Object(
                    m.into_iter()
                        .map(|(k, x)| {
                            let is_enum = ENUM_FIELDS.contains(&k.as_str());
                            (camel(&k), shape(x, is_enum))
                        })
                        .collect(),
                )
            }
        }
        other => other,
    }
}

/// A WIT value of the bindings in jco's shape (a macro: the bindings derive serde's traits,
/// and this crate does not name them).
macro_rules! wit_value {
    ($v:expr) => {
        jco_shape(serde_json::to_value($v).expect("bindings serialise"))
    };
}

/// A call's result as `{"ok": value}` or `{"err": sync-error}`; a host failure fails the test.
macro_rules! outcome {
    ($r:expr) => {
        match $r {
            Ok(v) => json!({ "ok": wit_value!(v) }),
            Err(CallError::Plugin(e)) => json!({ "err": wit_value!(e) }),
            Err(e) => panic!("the wasmtime host failed (not the plugin): {e}"),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The driver's side of each step (the same for both hosts)

/// The driver's side of a run: its simulator, and (for the Node run) the time to pin the wall
/// clock to while connecting.
struct Driver<'a> {
    sim: &'a AdoSim,
    pin_connect_clock: Option<String>,
}

impl Driver<'_> {
    /// The input a step gets. See [`step_input`].
    fn input(&self, step: &str) -> Value {
        step_input(step, self.sim, self.pin_connect_clock.as_deref())
    }
}

/// The input a step gets. Before the webhook step the driver plays "a person in ADO": Dana
/// edits a story, and the service-hook payload the simulator produced is the delivery.
///
/// The connection id is a hash of (URL, name, **the time of connecting**), and the integration
/// id, host item ids, link keys and link fingerprints all derive from it. So the Node run's wall
/// clock is pinned, for the connect step only, to the time the wasmtime run connected: then all
/// of those must be identical, and only the remaining clock readings are masked.
fn step_input(step: &str, sim: &AdoSim, pin_connect_clock: Option<&str>) -> Value {
    match step {
        "set-workspace-schema" => wit_value!(&sample::schema(WORKSPACE_ID)),
        "connect" => json!({ "pat": AdoSim::PAT, "pinClock": pin_connect_clock }),
        "connect-outside-permitted-targets" => json!({ "pat": AdoSim::PAT }),
        "handle-webhook" => {
            let id = sim.find_by_title(EDITED_STORY).expect("seeded story");
            sim.drain_events();
            sim.user_update(
                id,
                json!({
                    "System.Title": EDITED_TITLE,
                    "System.State": "Closed",
                    "Microsoft.VSTS.Scheduling.StoryPoints": 5,
                }),
            )
            .expect("Dana's edit");
            let event = sim
                .drain_events()
                .into_iter()
                .rev()
                .find(|e| e["eventType"] == "workitem.updated")
                .expect("the simulator emitted workitem.updated");
            // ADO sends the subscription's basic-auth credential (set by `provision`).
            let auth = sim
                .delivery_authorization(&event)
                .expect("delivered through a provisioned subscription");
            json!({
                "headers": [
                    ["Content-Type", "application/json; charset=utf-8"],
                    ["Authorization", auth],
                ],
                "body": event.to_string(),
            })
        }
        "history" => json!({ "workItem": sim.find_by_title(EDITED_TITLE).expect("edited story") }),
        "map-item-to-host" => {
            let id = sim.find_by_title(FEATURE).expect("seeded feature");
            let wi = sim.work_item(id).expect("live feature").to_string();
            // As ADO itself would render it: under the organisation's URL, not the simulator's.
            json!({ "workItemJson": wi.replace(&sim.uri(), "https://dev.azure.com") })
        }
        _ => Value::Null,
    }
}

fn cloud_target(url: &str, pat: &str) -> ConnectionTarget {
    ConnectionTarget::Cloud(CloudCredentials {
        url: url.into(),
        email: EMAIL.into(),
        pat: pat.into(),
    })
}

fn pat_of(input: &Value) -> String {
    input["pat"].as_str().expect("pat input").to_string()
}

fn new_story(parent: Option<String>) -> HostItem {
    HostItem {
        id: "host-story-jco".into(),
        item_type: "story".into(),
        title: "Export invoices as PDF".into(),
        description: Some("<p>Finance asked for it.</p>".into()),
        parent,
        status: Some("in-progress".into()),
        sprint: Some("sprint-2".into()),
        releases: vec!["r-2026-1".into()],
        tags: vec!["finance".into()],
        fields: vec![
            FieldEntry {
                field: "effort".into(),
                value: Some(FieldValue::Number(5.0)),
            },
            FieldEntry {
                field: "objective".into(),
                value: Some(FieldValue::Text("Self-service billing".into())),
            },
        ],
    }
}

fn no_filter() -> AdoFilter {
    AdoFilter {
        open_only: false,
        work_item_types: vec![],
        tags: vec![],
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario in the wasmtime harness (mirrors tests/jco/scenario.mjs step by step)

struct Recorder<'a> {
    sim: &'a AdoSim,
    driver: Driver<'a>,
    host: &'a PluginHost,
    steps: Vec<StepRecord>,
    current: Option<(String, usize, usize)>,
}

impl Recorder<'_> {
    fn begin(&mut self, step: &str) -> Value {
        assert!(self.current.is_none(), "step {step} began inside another");
        self.current = Some((
            step.to_string(),
            self.sim.requests().len(),
            self.host.egress_log().len(),
        ));
        self.driver.input(step)
    }

    fn end(&mut self, outcome: Value) {
        let (step, requests, egress) = self.current.take().expect("a step in progress");
        self.steps.push(StepRecord {
            step,
            outcome,
            egress: self.host.egress_log()[egress..]
                .iter()
                .map(egress_record)
                .collect(),
            requests: requests_since(self.sim, requests),
        });
    }
}

async fn run_wasmtime() -> Run {
    let sim = AdoSim::start_seeded().await;
    let storage = Arc::new(MemoryStorage::new());
    let host = PluginHost::with_runtime(runtime(), storage.clone(), Arc::new(MemoryVault::new()));
    host.redirect(CLOUD_URL, &sim.uri());
    host.restrict_connect_targets(&[CLOUD_URL]);
    host.start().await.expect("start");
    let mut workspace = Workspace::new(sample::schema(WORKSPACE_ID));
    let mut rec = Recorder {
        sim: &sim,
        driver: Driver {
            sim: &sim,
            pin_connect_clock: None,
        },
        host: &host,
        steps: vec![],
        current: None,
    };

    let schema = rec.begin("set-workspace-schema");
    let r = host
        .set_workspace_schema(&sample::schema(WORKSPACE_ID))
        .await;
    assert_eq!(wit_value!(&sample::schema(WORKSPACE_ID)), schema);
    rec.end(outcome!(&r));

    let input = rec.begin("connect");
    let r = host
        .connect("Contoso", &cloud_target(CLOUD_URL, &pat_of(&input)))
        .await;
    rec.end(outcome!(&r));
    let conn = r.expect("connect");

    let input = rec.begin("connect-outside-permitted-targets");
    let r = host
        .connect("Elsewhere", &cloud_target(ELSEWHERE_URL, &pat_of(&input)))
        .await;
    rec.end(outcome!(&r));

    rec.begin("add-project");
    let r = host.add_project(&conn.id, "Fabrikam", "Fabrikam").await;
    rec.end(outcome!(&r));
    let integration = r.expect("add project");

    rec.begin("propose-mapping");
    let r = host.propose_mapping(&integration.id, false).await;
    rec.end(outcome!(&r));
    let mapping = r.expect("proposed mapping");

    rec.begin("set-mapping");
    let r = host.set_mapping(&integration.id, &mapping).await;
    rec.end(outcome!(&r));

    rec.begin("sync-ado-to-host");
    let r = host
        .sync_once(&SyncRequest {
            integration: integration.id.clone(),
            direction: SyncDirection::AdoToHost,
            ado_filter: no_filter(),
            host_scope: HostScope::WholeWorkspace,
            host_items: vec![],
            dry_run: false,
            page_size: None,
            cursor: None,
        })
        .await;
    rec.end(outcome!(&r));
    workspace.apply(&r.expect("sync").changes);

    rec.begin("provision-webhook");
    let r = host.provision_webhook(&conn.id, PUBLIC_URL).await;
    rec.end(outcome!(&r));

    rec.begin("webhook-path");
    let r = host.webhook_path().await;
    rec.end(outcome!(&r));
    let path = r.expect("webhook path");

    let delivery = rec.begin("handle-webhook");
    let headers = delivery["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap_or_default().to_string(),
                h[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let body = delivery["body"].as_str().expect("body").as_bytes().to_vec();
    let r = host
        .handle_webhook(&WebhookRequest {
            path,
            headers,
            body,
        })
        .await;
    rec.end(outcome!(&r));
    if let Ok(WebhookOutcome::Applied(changes)) = &r {
        workspace.apply(changes);
    }

    rec.begin("webhook-status");
    let r = host.webhook_status(&conn.id).await;
    rec.end(outcome!(&r));

    let input = rec.begin("history");
    let item = ItemRef::Ado(input["workItem"].as_i64().expect("work item id"));
    let r = host.history(&integration.id, &item).await;
    rec.end(outcome!(&r));

    let input = rec.begin("map-item-to-host");
    let r = host
        .map_to_host(
            &integration.id,
            input["workItemJson"].as_str().expect("work item"),
        )
        .await;
    rec.end(outcome!(&r));

    let parent = workspace.by_title(FEATURE).map(|i| i.id.clone());
    let story = new_story(parent);
    workspace.apply(&[HostChange::Create(story.clone())]);
    rec.begin("sync-host-to-ado");
    let r = host
        .sync_once(&SyncRequest {
            integration: integration.id.clone(),
            direction: SyncDirection::HostToAdo,
            ado_filter: no_filter(),
            host_scope: HostScope::Items(vec![story.id.clone()]),
            host_items: workspace.item_list(),
            dry_run: false,
            page_size: None,
            cursor: None,
        })
        .await;
    rec.end(outcome!(&r));

    rec.begin("map-item-to-ado");
    let r = host.map_to_ado(&integration.id, &story).await;
    rec.end(outcome!(&r));

    let steps = rec.steps;
    Run {
        host: "wasmtime",
        steps,
        storage: storage
            .dump()
            .expect("dump")
            .into_iter()
            .map(|(k, v)| (k, storage_value(&v)))
            .collect(),
        workspace: Value::Array(
            workspace
                .item_list()
                .iter()
                .map(|i| wit_value!(i))
                .collect(),
        ),
        sim_uri: sim.uri(),
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario in Node via jco (tests/jco/scenario.mjs), driven over its stdin/stdout

/// A line on stderr that the test harness does not capture (a skip must be visible).
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "jco_parity: {line}");
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn jco_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("jco")
}

/// `npm ci` when `tests/jco/node_modules` lacks jco; `Err` with the reason to skip.
fn ensure_node_modules(dir: &Path) -> Result<(), String> {
    if dir
        .join("node_modules/@bytecodealliance/jco/package.json")
        .is_file()
        && dir
            .join("node_modules/@bytecodealliance/preview2-shim/package.json")
            .is_file()
    {
        return Ok(());
    }
    let npm = find_on_path("npm").ok_or("npm not found (needed to install tests/jco)")?;
    say("tests/jco/node_modules missing: running npm ci");
    let status = std::process::Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .expect("npm ci starts");
    assert!(
        status.success(),
        "npm ci failed in {} ({status})",
        dir.display()
    );
    Ok(())
}

async fn run_node(node: &Path, component: &Path, pin_connect_clock: String) -> Run {
    let sim = AdoSim::start_seeded().await;
    let driver = Driver {
        sim: &sim,
        pin_connect_clock: Some(pin_connect_clock),
    };
    let mut child = tokio::process::Command::new(node)
        .arg("scenario.mjs")
        .arg("--component")
        .arg(component)
        .arg("--sim")
        .arg(sim.uri())
        .current_dir(jco_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // Where each step's requests begin in the simulator's log.
    let mut marks: Vec<(String, usize)> = vec![];
    let result = tokio::time::timeout(NODE_TIMEOUT, async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("read node")
                .expect("node ended without a result");
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                let start: String = line.chars().take(300).collect();
                panic!(
                    "node printed a non-JSON line ({e}), {} bytes: {start}…",
                    line.len()
                )
            });
            match msg["type"].as_str() {
                Some("step") => {
                    let step = msg["step"].as_str().expect("step name").to_string();
                    marks.push((step.clone(), sim.requests().len()));
                    let input = json!({ "input": driver.input(&step) });
                    stdin
                        .write_all(format!("{input}\n").as_bytes())
                        .await
                        .expect("write node");
                }
                Some("result") => return msg,
                Some("fatal") => panic!("the Node host failed:\n{}", msg["message"]),
                _ => panic!("unexpected line from node: {line}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the Node scenario took longer than {NODE_TIMEOUT:?}"));
    let status = child.wait().await.expect("node exits");
    assert!(status.success(), "node exited with {status}");

    // The segment of the request log between a step's mark and the next belongs to that step.
    let all = sim.requests();
    let bounds: Vec<usize> = marks.iter().skip(1).map(|(_, m)| *m).collect();
    let mut steps = vec![];
    for (i, s) in result["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let name = s["step"].as_str().expect("step").to_string();
        assert_eq!(marks[i].0, name, "node announced steps out of order");
        let end = bounds.get(i).copied().unwrap_or(all.len());
        let mut requests: Vec<Value> = all[marks[i].1..end].iter().map(request_record).collect();
        requests.sort_by_key(|v| v.to_string());
        steps.push(StepRecord {
            step: name,
            outcome: s["outcome"].clone(),
            egress: s["egress"].as_array().cloned().unwrap_or_default(),
            requests,
        });
    }
    Run {
        host: "node+jco",
        steps,
        storage: result["storage"]
            .as_array()
            .expect("storage")
            .iter()
            .map(|e| {
                let key = e["key"].as_str().expect("key").to_string();
                let value = e["value"].as_str().expect("value").as_bytes();
                (key, storage_value(value))
            })
            .collect(),
        workspace: result["workspace"].clone(),
        sim_uri: sim.uri(),
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation and comparison

/// Replaces what legitimately differs between the two runs:
/// - RFC 3339 times (`synced_at`, `last-event-at`, the connection's `created_at`, simulator
///   dates): they differ only because **the clock** moved on (see [`step_input`] for the one
///   clock reading that is pinned instead);
/// - the simulator's base URL (each run has its own port);
/// - the webhook's delivery credential (`basicAuthPassword` in the subscriptions `provision`
///   creates): **random** bytes from `wasi:random`. Each run still has to present its own
///   credential for the webhook step to succeed.
///
/// Every number becomes a float (JSON from JavaScript has no `5.0`).
struct Normaliser {
    sim_uri: String,
}

impl Normaliser {
    fn for_run(run: &Run) -> Normaliser {
        Normaliser {
            sim_uri: run.sim_uri.clone(),
        }
    }

    fn text(&self, s: &str) -> String {
        mask_times(s).replace(&self.sim_uri, "<sim>")
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => n.as_f64().map(Value::from).unwrap_or(Value::Null),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let x = if k == "basicAuthPassword" {
                            json!("<random delivery credential>")
                        } else {
                            self.value(x)
                        };
                        (self.text(k), x)
                    })
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }
}

/// `2026-12-04T15:57:01.123Z` (any fraction, `Z` or an offset) → `<time>`.
fn mask_times(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.get(from..from + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let stamp = digits(i, 4)
            && at(i + 4, b'-')
            && digits(i + 5, 2)
            && at(i + 7, b'-')
            && digits(i + 8, 2)
            && at(i + 10, b'T')
            && digits(i + 11, 2)
            && at(i + 13, b':')
            && digits(i + 14, 2)
            && at(i + 16, b':')
            && digits(i + 17, 2);
        if !stamp {
            i += 1;
            continue;
        }
        let mut end = i + 19;
        if at(end, b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        if at(end, b'Z') {
            end += 1;
        } else if (at(end, b'+') || at(end, b'-'))
            && digits(end + 1, 2)
            && at(end + 3, b':')
            && digits(end + 4, 2)
        {
            end += 6;
        }
        out.push_str(&s[copied..i]);
        out.push_str("<time>");
        i = end;
        copied = end;
    }
    out.push_str(&s[copied..]);
    out
}

/// The paths where `x` and `y` differ, each with both values (at most `MAX_PATHS`).
fn diff_paths(x: &Value, y: &Value, path: String, out: &mut Vec<String>) {
    const MAX_PATHS: usize = 20;
    if out.len() >= MAX_PATHS || x == y {
        return;
    }
    match (x, y) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (va, vb) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                if a.contains_key(k) != b.contains_key(k) {
                    out.push(format!("{path}/{k}: only in one: {va} | {vb}"));
                } else {
                    diff_paths(va, vb, format!("{path}/{k}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff_paths(va, vb, format!("{path}/{i}"), out);
            }
        }
        _ => out.push(format!("{path}:\n      {x}\n    | {y}")),
    }
}

/// Every difference between the two runs, as readable text.
fn differences(a: &Run, b: &Run) -> Vec<String> {
    let (na, nb) = (Normaliser::for_run(a), Normaliser::for_run(b));
    let mut diffs = vec![];
    let mut check = |what: String, x: Value, y: Value| {
        let mut paths = vec![];
        diff_paths(&x, &y, String::new(), &mut paths);
        if !paths.is_empty() {
            diffs.push(format!(
                "{what} differs ({} | {}):\n  {}",
                a.host,
                b.host,
                paths.join("\n  ")
            ));
        }
    };
    let names = |r: &Run| r.steps.iter().map(|s| s.step.clone()).collect::<Vec<_>>();
    check("the steps".into(), json!(names(a)), json!(names(b)));
    for (x, y) in a.steps.iter().zip(&b.steps) {
        let step = &x.step;
        check(
            format!("[{step}] outcome"),
            na.value(&x.outcome),
            nb.value(&y.outcome),
        );
        check(
            format!("[{step}] egress attempts"),
            json!(sorted(x.egress.iter().map(|e| na.value(e)).collect())),
            json!(sorted(y.egress.iter().map(|e| nb.value(e)).collect())),
        );
        check(
            format!("[{step}] requests ADO received"),
            json!(sorted(x.requests.iter().map(|r| na.value(r)).collect())),
            json!(sorted(y.requests.iter().map(|r| nb.value(r)).collect())),
        );
    }
    let storage = |r: &Run, n: &Normaliser| {
        Value::Object(
            r.storage
                .iter()
                .map(|(k, v)| (n.text(k), n.value(v)))
                .collect(),
        )
    };
    check("plugin storage".into(), storage(a, &na), storage(b, &nb));
    check(
        "host workspace".into(),
        na.value(&a.workspace),
        nb.value(&b.workspace),
    );
    diffs
}

/// Write a run, normalised, to `{dir}/{host}.json` (set `ADO_SYNC_PARITY_DUMP=dir` to look).
fn dump(dir: &Path, run: &Run) {
    let n = Normaliser::for_run(run);
    let steps: Vec<Value> = run
        .steps
        .iter()
        .map(|s| {
            json!({
                "step": s.step,
                "outcome": n.value(&s.outcome),
                "egress": n.value(&json!(s.egress)),
                "requests": n.value(&json!(s.requests)),
            })
        })
        .collect();
    let storage: Map<String, Value> = run
        .storage
        .iter()
        .map(|(k, v)| (n.text(k), n.value(v)))
        .collect();
    let doc = json!({ "steps": steps, "storage": storage, "workspace": n.value(&run.workspace) });
    let path = dir.join(format!("{}.json", run.host));
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The scenario did what it is meant to do (so that two hosts failing alike cannot pass).
fn check_the_story(run: &Run) {
    let step = |name: &str| {
        run.steps
            .iter()
            .find(|s| s.step == name)
            .unwrap_or_else(|| panic!("{}: no step {name}", run.host))
    };
    for s in &run.steps {
        if s.step != "connect-outside-permitted-targets" {
            assert!(
                s.outcome.get("ok").is_some(),
                "{}: {} failed: {}",
                run.host,
                s.step,
                s.outcome
            );
        }
    }
    let denied = step("connect-outside-permitted-targets");
    assert_eq!(
        denied.outcome["err"]["tag"], "unreachable",
        "{}: {}",
        run.host, denied.outcome
    );
    assert!(
        denied.egress.iter().any(|e| e["allowed"] == false
            && e["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(ELSEWHERE_URL))),
        "{}: no denied egress attempt: {:?}",
        run.host,
        denied.egress
    );
    assert!(
        denied.requests.is_empty(),
        "{}: a denied request reached ADO",
        run.host
    );
    let synced = &step("sync-ado-to-host").outcome["ok"];
    let created = synced["changes"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["tag"] == "create").count())
        .unwrap_or(0);
    assert!(created >= 15, "{}: ADO → host created {created}", run.host);
    let provisioned = &step("provision-webhook").outcome["ok"];
    assert_eq!(provisioned["created"], 4, "{}: {provisioned}", run.host);
    let hook = &step("handle-webhook").outcome["ok"];
    assert_eq!(hook["tag"], "applied", "{}: {hook}", run.host);
    // The webhook knows only ADO's side: a patch of the parts ADO changed.
    assert_eq!(hook["val"][0]["tag"], "patch", "{}: {hook}", run.host);
    assert_eq!(
        hook["val"][0]["val"]["item"]["title"], EDITED_TITLE,
        "{}: {hook}",
        run.host
    );
    assert!(
        hook["val"][0]["val"]["parts"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "title")),
        "{}: {hook}",
        run.host
    );
    assert_eq!(
        step("webhook-status").outcome["ok"]["connected"],
        true,
        "{}",
        run.host
    );
    assert!(
        step("history").outcome["ok"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "{}: no history",
        run.host
    );
    assert_eq!(
        step("map-item-to-host").outcome["ok"]["title"],
        FEATURE,
        "{}",
        run.host
    );
    let pushed = &step("sync-host-to-ado");
    assert_eq!(
        pushed.outcome["ok"]["report"]["totals"]["created"], 1,
        "{}: {}",
        run.host, pushed.outcome
    );
    assert!(
        pushed.requests.iter().any(|r| r["method"] == "POST"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/$User%20Story"))),
        "{}: no create request: {:?}",
        run.host,
        pushed.requests
    );
    let links = run
        .storage
        .iter()
        .filter(|(k, _)| k.starts_with("link/"))
        .count();
    assert!(links >= 2 * 15, "{}: {links} link records", run.host);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_behaves_the_same_in_node_via_jco_as_in_wasmtime() {
    let Some(node) = find_on_path("node") else {
        say("SKIPPED: node not found");
        return;
    };
    if let Err(reason) = ensure_node_modules(&jco_dir()) {
        say(&format!("SKIPPED: {reason}"));
        return;
    }
    let component = ado_sync_host::component_path();
    assert!(
        component.is_file(),
        "{} missing; build it: cargo build -p ado-sync-plugin --release --target wasm32-wasip2",
        component.display()
    );

    let wasmtime = run_wasmtime().await;
    check_the_story(&wasmtime);
    let node = run_node(&node, &component, wasmtime.connected_at()).await;
    check_the_story(&node);
    assert_eq!(
        wasmtime.connected_at(),
        node.connected_at(),
        "pinning Node's wall clock during connect did not take"
    );

    if let Some(dir) = std::env::var_os("ADO_SYNC_PARITY_DUMP") {
        dump(Path::new(&dir), &wasmtime);
        dump(Path::new(&dir), &node);
    }
    let diffs = differences(&wasmtime, &node);
    assert!(
        diffs.is_empty(),
        "{} difference(s) between the hosts:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

#[test]
fn normalisation_masks_only_clock_and_per_run_values() {
    assert_eq!(
        mask_times("at 2026-12-04T15:57:01.123Z and 2026-01-02T03:04:05+01:00."),
        "at <time> and <time>."
    );
    assert_eq!(mask_times("2026-12-04 is a date"), "2026-12-04 is a date");
    assert_eq!(kebab("InProgress"), "in-progress");
    assert_eq!(camel("epic_is_product_level"), "epicIsProductLevel");
    let shaped = jco_shape(json!({
        "item_type": "story",
        "fields": [{ "field": "effort", "value": { "Number": 5.0 } }],
        "action": "Create",
        "outcome": { "Ignored": "TypeNotMapped" },
        "title": "Create",
    }));
    assert_eq!(
        shaped,
        json!({
            "itemType": "story",
            "fields": [{ "field": "effort", "value": { "tag": "number", "val": 5.0 } }],
            "action": "create",
            "outcome": { "tag": "ignored", "val": "type-not-mapped" },
            "title": "Create",
        })
    );
}
