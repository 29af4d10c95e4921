//! `ado-sync serve` as a real process: configured through its admin API against an in-test
//! simulated ADO, receiving the simulator's service hooks over real HTTP, killed with SIGKILL
//! in the middle of a webhook burst and of a long sync, restarted, and checked in its SQLite file.
//!
//! Needs the release component: `cargo build -p ado-sync-plugin --release --target wasm32-wasip2`.

use ado_sync_host::ado_sim::delivery::DeliveryResult;
use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::http_client::{self, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "e2e-admin-token-4f1c";
const WORKSPACE: &str = "ws-e2e";
const CLOUD_URL: &str = "https://dev.azure.com/contoso";

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Start `ado-sync serve` and wait for its "listening on" line.
    fn start(db: &Path, port: u16, sim: &str, log: &Path) -> Server {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ado-sync"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--db".as_ref(), db.as_os_str()])
            .args(["--workspace-id", WORKSPACE, "--ado-sim", sim])
            .env("ADO_SYNC_ADMIN_TOKEN", TOKEN)
            .env("ADO_SYNC_LOG", "ado_sync_host=debug,info")
            .env("ADO_SYNC_COMPONENT", ado_sync_host::component_path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn ado-sync serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let base = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        break url.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "the server did not start; its log:\n{}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    );
                }
            }
        };
        Server {
            child,
            base,
            log: log.to_path_buf(),
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut headers = vec![("authorization".to_string(), format!("Bearer {TOKEN}"))];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let bytes = body
            .map(|b| serde_json::to_vec(&b).expect("json"))
            .unwrap_or_default();
        http_client::send(
            method,
            &format!("{}/api{path}", self.base),
            &headers,
            bytes,
            Duration::from_secs(300),
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Host items in the SQLite file, by id (read while the server is dead or alive: WAL).
fn host_items(db: &Path) -> BTreeMap<String, Value> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT id, item FROM host_items")
        .expect("host_items table");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query");
    rows.map(|r| {
        let (id, item) = r.expect("row");
        (id, serde_json::from_str(&item).expect("item json"))
    })
    .collect()
}

fn titles(items: &BTreeMap<String, Value>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for i in items.values() {
        *out.entry(i["title"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    out
}

/// Live work items of `project` whose type the proposed Agile mapping takes.
fn mapped_items(sim: &AdoSim, project: &str) -> Vec<(i64, String)> {
    sim.work_item_ids()
        .into_iter()
        .filter_map(|id| {
            let wi = sim.work_item(id)?;
            let f = &wi["fields"];
            let t = f["System.WorkItemType"].as_str()?;
            (f["System.TeamProject"] == project
                && ["Epic", "Feature", "User Story", "Task"].contains(&t))
            .then(|| {
                (
                    id,
                    f["System.Title"].as_str().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

fn assert_mirrors_ado(db: &Path, sim: &AdoSim, what: &str) {
    let items = host_items(db);
    let counts = titles(&items);
    let expected = mapped_items(sim, "Fabrikam");
    for (id, title) in &expected {
        assert_eq!(
            counts.get(title),
            Some(&1),
            "{what}: work item #{id} '{title}' should be in the host exactly once; host titles: {counts:?}"
        );
    }
    assert_eq!(
        items.len(),
        expected.len(),
        "{what}: the host holds exactly the mapped work items (no duplicate, nothing extra)"
    );
}

/// Deliveries without their (long) events, for assertion messages.
fn brief(results: &[DeliveryResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            format!(
                "{} → {:?} {} {:?}",
                r.event_type, r.status, r.response, r.error
            )
        })
        .collect()
}

fn outcome(r: &DeliveryResult) -> String {
    serde_json::from_str::<Value>(&r.response)
        .ok()
        .and_then(|v| v["outcome"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_survives_sigkill_during_webhook_bursts_and_syncs() {
    let sim = AdoSim::start_seeded().await;
    let dir = std::env::temp_dir().join(format!("ado-sync-serve-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("host.db");
    let log = dir.join("server.log");
    let port = free_port();
    let mut server = Server::start(&db, port, &sim.uri(), &log);
    assert!(db.exists(), "the database is created on first run");

    // ---- the admin API: bearer token, connect, project, mapping (with clear errors), sync ----
    let anonymous = http_client::send(
        "GET",
        &format!("{}/api/status", server.base),
        &[],
        vec![],
        Duration::from_secs(10),
    )
    .await
    .expect("status");
    assert_eq!(anonymous.status, 401, "the admin API wants the token");
    assert_eq!(anonymous.json()["error"]["kind"], "unauthorized");

    let bad = server
        .api(
            "POST",
            "/connections",
            Some(json!({"name": "Contoso", "url": CLOUD_URL, "email": "b@contoso.example", "pat": AdoSim::EXPIRED_PAT})),
        )
        .await;
    assert_eq!(bad.status, 401, "{:?}", bad.json());
    assert_eq!(bad.json()["error"]["kind"], "auth-failed");

    let conn = server
        .api(
            "POST",
            "/connections",
            Some(json!({"name": "Contoso", "url": CLOUD_URL, "email": "builder@contoso.example", "pat": AdoSim::PAT})),
        )
        .await;
    assert_eq!(conn.status, 201, "{:?}", conn.json());
    let connection_id = conn.json()["id"].as_str().expect("id").to_string();

    let project = server
        .api(
            "POST",
            "/projects",
            Some(json!({"connection": "Contoso", "name": "Fabrikam web", "project": "Fabrikam"})),
        )
        .await;
    assert_eq!(project.status, 201, "{:?}", project.json());
    let integration = project.json()["id"].as_str().expect("id").to_string();

    let proposed = server
        .api(
            "GET",
            &format!("/projects/{integration}/mapping?propose=true"),
            None,
        )
        .await;
    assert_eq!(proposed.status, 200);
    let mapping = proposed.json();

    let mut wrong_shape = mapping.clone();
    wrong_shape["delete_policy"] = json!("Shred");
    let r = server
        .api(
            "PUT",
            &format!("/projects/{integration}/mapping"),
            Some(wrong_shape),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["kind"], "invalid-input");
    assert!(
        r.json()["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .contains("delete_policy"),
        "{:?}",
        r.json()
    );

    let mut mismatched = mapping.clone();
    mismatched["fields"]
        .as_array_mut()
        .expect("fields")
        .push(json!({"host_field": "value", "ado_field": "System.Title", "direction": "Both", "owner": "Host"}));
    let r = server
        .api(
            "PUT",
            &format!("/projects/{integration}/mapping"),
            Some(mismatched),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.json());
    let kind = r.json()["error"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        kind == "field-type-mismatch" || kind == "invalid-config",
        "{:?}",
        r.json()
    );
    assert!(r.json()["error"]["field"].is_string(), "{:?}", r.json());

    let r = server
        .api(
            "PUT",
            &format!("/projects/{integration}/mapping"),
            Some(mapping),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());

    let r = server
        .api(
            "POST",
            "/sync",
            Some(json!({"direction": "ado-to-host", "page_size": 7})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert!(
        r.json()["runs"][0]["pages"].as_u64().unwrap_or(0) > 1,
        "paged"
    );
    assert_mirrors_ado(&db, &sim, "after the first sync");

    // ---- webhooks over real HTTP: provision the subscriptions, then let the sim deliver ----
    let r = server
        .api(
            "POST",
            &format!("/connections/{connection_id}/webhook"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        r.json()["url"],
        format!("http://127.0.0.1:{port}/webhooks/{WORKSPACE}/ado")
    );
    assert!(
        !sim.subscriptions().is_empty(),
        "subscriptions exist in ADO"
    );
    let _ = sim.drain_events();

    let story = sim
        .find_by_title("Reset a forgotten password")
        .expect("seeded story");
    sim.user_update(
        story,
        json!({"System.Title": "Reset a forgotten password by SMS"}),
    )
    .expect("edit");
    sim.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "Send the SMS code"}),
        Some(story),
    );
    let results = sim.deliver_events().await;
    // The edit, the creation, and the parent's new child link (a change our mapping ignores).
    assert_eq!(results.len(), 3, "{:?}", brief(&results));
    for r in &results {
        assert_eq!(r.status, Some(200), "{:?}", brief(&results));
    }
    assert_eq!(outcome(&results[0]), "applied", "{:?}", brief(&results));
    assert_eq!(outcome(&results[1]), "applied", "{:?}", brief(&results));
    let items = host_items(&db);
    let counts = titles(&items);
    assert_eq!(counts.get("Reset a forgotten password by SMS"), Some(&1));
    let created = items
        .values()
        .find(|i| i["title"] == "Send the SMS code")
        .expect("the created task is in the host");
    assert!(created["parent"].is_string(), "with its parent");

    // A repeated delivery is a typed ignore, not an error.
    let again = sim.deliver(vec![results[1].event.clone()]).await;
    assert_eq!(again[0].status, Some(200));
    assert_eq!(outcome(&again[0]), "ignored", "{:?}", brief(&again));

    // Business errors are 4xx with a typed body, never 5xx.
    let hook = format!("{}/webhooks/{WORKSPACE}/ado", server.base);
    let forged = http_client::send(
        "POST",
        &hook,
        &[
            ("content-type".into(), "application/json".into()),
            (
                "authorization".into(),
                http_client::basic_auth("ado-sync", "guess"),
            ),
        ],
        serde_json::to_vec(&results[0].event).expect("json"),
        Duration::from_secs(30),
    )
    .await
    .expect("answer");
    assert_eq!(forged.status, 401);
    assert_eq!(forged.json()["error"]["kind"], "auth-failed");
    let huge = http_client::send(
        "POST",
        &hook,
        &[("content-type".into(), "application/json".into())],
        vec![b' '; 2 * 1024 * 1024 + 1],
        Duration::from_secs(30),
    )
    .await;
    match huge {
        Ok(huge) => {
            assert_eq!(huge.status, 413);
            assert_eq!(huge.json()["error"]["kind"], "payload-too-large");
        }
        // The server may answer 413 and close before the client has finished writing the body;
        // the client then sees the closed connection instead of the answer. Either way the body
        // was refused (what it was not: accepted).
        Err(e) => assert!(
            e.contains("SendRequest") || e.contains("closed") || e.contains("reset"),
            "{e}"
        ),
    }
    let elsewhere = http_client::send(
        "POST",
        &format!("{}/webhooks/ws-other/ado", server.base),
        &[("content-type".into(), "application/json".into())],
        b"{}".to_vec(),
        Duration::from_secs(30),
    )
    .await
    .expect("answer");
    assert_eq!(elsewhere.status, 404);

    // ---- a webhook burst, killed half-way with SIGKILL ----
    let targets = mapped_items(&sim, "Fabrikam");
    let mut expected_titles = BTreeMap::new();
    for (n, (id, _)) in targets.iter().enumerate() {
        let title = format!("Burst {n:02}");
        sim.user_update(*id, json!({"System.Title": title}))
            .expect("edit");
        expected_titles.insert(*id, title);
    }
    let burst = sim.drain_events();
    assert_eq!(burst.len(), targets.len());
    let kill_after = burst.len() / 2;
    let mut acknowledged: Vec<String> = Vec::new();
    let mut unacknowledged: Vec<Value> = Vec::new();
    for (n, event) in burst.into_iter().enumerate() {
        let title = event["resource"]["fields"]["System.Title"]["newValue"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if n == kill_after {
            // SIGKILL while this delivery is in flight.
            let killer = async {
                tokio::time::sleep(Duration::from_millis(3)).await;
                server.kill();
            };
            let (results, ()) = tokio::join!(sim.deliver(vec![event]), killer);
            if results[0].delivered() {
                acknowledged.push(title);
            } else {
                unacknowledged.push(results[0].event.clone());
            }
            continue;
        }
        if n > kill_after {
            unacknowledged.push(event);
            continue;
        }
        let r = sim.deliver(vec![event]).await;
        assert!(r[0].delivered(), "{:?}", brief(&r));
        acknowledged.push(title);
    }
    assert!(!unacknowledged.is_empty());

    // Nothing acknowledged was lost, even though the process died without shutting down.
    let after_kill = titles(&host_items(&db));
    for t in &acknowledged {
        assert_eq!(
            after_kill.get(t),
            Some(&1),
            "acknowledged change '{t}' lost by the kill; host titles: {after_kill:?}"
        );
    }

    // ---- restart; ADO retries what was not acknowledged ----
    let mut server = Server::start(&db, port, &sim.uri(), &log);
    let retried = sim.deliver(unacknowledged).await;
    for r in &retried {
        assert_eq!(r.status, Some(200), "{:?}", brief(&retried));
    }
    assert_mirrors_ado(&db, &sim, "after the burst and the retries");
    let counts = titles(&host_items(&db));
    for title in expected_titles.values() {
        assert_eq!(counts.get(title), Some(&1), "'{title}' applied once");
    }
    let status = server.api("GET", "/status", None).await.json();
    let webhook = &status["connections"][0]["webhook"];
    assert_eq!(webhook["connected"], true, "{status}");
    assert!(webhook["applied"].as_u64().unwrap_or(0) >= expected_titles.len() as u64);

    // ---- a long sync, killed half-way, then run again ----
    sim.seed_bulk("Fabrikam", 400);
    let _ = sim.drain_events();
    let sync_url = format!("{}/api/sync", server.base);
    let sync_headers = [
        ("authorization".to_string(), format!("Bearer {TOKEN}")),
        ("content-type".into(), "application/json".into()),
    ];
    let sync = http_client::send(
        "POST",
        &sync_url,
        &sync_headers,
        serde_json::to_vec(&json!({"direction": "ado-to-host", "page_size": 10})).expect("json"),
        Duration::from_secs(300),
    );
    let before = expected_titles.len();
    let killer = async {
        // Let a few pages commit, then kill.
        for _ in 0..2400 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            if host_items(&db).len() > before + 25 {
                break;
            }
        }
        server.kill();
    };
    let (answer, ()) = tokio::join!(sync, killer);
    let partial = host_items(&db).len();
    assert!(
        answer.is_err(),
        "the kill interrupted the sync before it answered (host held {partial} items)"
    );
    assert!(partial > expected_titles.len(), "some pages were committed");
    let server = Server::start(&db, port, &sim.uri(), &log);
    let r = server
        .api("POST", "/sync", Some(json!({"direction": "ado-to-host"})))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_mirrors_ado(&db, &sim, "after the killed sync and a re-run");

    // Secrets never reach the log.
    let logged = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(
        logged.contains("webhook applied"),
        "the log is structured and written"
    );
    assert!(!logged.contains(AdoSim::PAT), "the PAT leaked into the log");
    assert!(
        !logged.contains("Basic "),
        "an Authorization header leaked into the log"
    );
    assert!(
        !logged.contains(TOKEN),
        "the admin token leaked into the log"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
