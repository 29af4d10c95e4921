//! Figure (3), end to end: ADO's deliveries posted over HTTP to the server `ado-sync serve` runs
//! (axum router, delivery queue, `handle-batch`), with the host's real SQLite file (WAL,
//! `synchronous=FULL`: every call's writes commit, fsync included, before its deliveries are
//! answered). What a user's instance does, next to the component-call figures above it.

use ado_sync_host::ado_sim::AdoSim;
use ado_sync_host::app::configure::ConnectRequest;
use ado_sync_host::app::sync::{Direction, SyncParams};
use ado_sync_host::app::{App, AppOptions};
use ado_sync_host::serve::{queue::DeliveryQueue, router, ServerState};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One run: every delivery's time from sending to the answer, and the whole run's time.
pub struct ServeRun {
    /// Per delivery, sorted.
    pub times: Vec<Duration>,
    /// First send to last answer.
    pub wall: Duration,
    /// Deliveries answered `applied`.
    pub applied: usize,
}

impl ServeRun {
    fn new(mut times: Vec<Duration>, wall: Duration, applied: usize) -> ServeRun {
        times.sort();
        ServeRun {
            times,
            wall,
            applied,
        }
    }
}

/// A served workspace: the app on its SQLite file, the server on a loopback port.
pub struct Served {
    server: tokio::task::JoinHandle<()>,
    app: Arc<App>,
    path: String,
    url: String,
    dir: PathBuf,
    sim: AdoSim,
}

/// A delivery as ADO posts it: its `Authorization` value and its body.
pub type Delivery = (String, Vec<u8>);
use ado_sync_host::api::WebhookRequest;
use ado_sync_host::app::webhook::Delivery as Answer;

impl Drop for Served {
    fn drop(&mut self) {
        // The server task holds the app (its runtime, pool and epoch thread): stop it, so the
        // figures after this one run without it.
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Set up a workspace as a user would: connect, add the project, store the proposed mapping,
/// pull everything, serve, provision the webhook.
pub async fn served(sim: AdoSim, project: &str, workspace: &str) -> Served {
    let dir = std::env::temp_dir().join(format!("ado-sync-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let app = Arc::new(
        App::open(&AppOptions {
            db: dir.join("bench.db"),
            component: ado_sync_host::component_path(),
            workspace_id: workspace.into(),
            ado_sim: Some(sim.uri()),
        })
        .await
        .expect("open the app"),
    );
    app.connect(&ConnectRequest {
        name: "Contoso".into(),
        url: "https://dev.azure.com/contoso".into(),
        email: Some("builder@contoso.example".into()),
        pat: Some(AdoSim::PAT.into()),
        ..ConnectRequest::default()
    })
    .await
    .expect("connect");
    let integration = app
        .add_project("Contoso", project, project)
        .await
        .expect("add project");
    let mapping = app
        .propose_mapping(&integration.id, false)
        .await
        .expect("propose");
    app.set_mapping(&integration.id, &mapping)
        .await
        .expect("map");
    app.sync(
        &SyncParams {
            integrations: vec![integration.id.clone()],
            direction: Direction::AdoToHost,
            types: vec![],
            tags: vec![],
            open_only: false,
            sprints: vec![],
            releases: vec![],
            dry_run: false,
            page_size: Some(500),
        },
        &|_| {},
    )
    .await
    .expect("pull");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let state = Arc::new(ServerState {
        deliveries: DeliveryQueue::spawn(app.clone()),
        app: app.clone(),
        workspace_id: workspace.into(),
        admin_token: None,
        public_url: url.clone(),
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
    app.provision_webhook("Contoso", &url)
        .await
        .expect("provision");

    let _ = sim.drain_events();
    let path = format!("/webhooks/{workspace}/ado");
    Served {
        server,
        app,
        url: format!("{url}{path}"),
        path,
        dir,
        sim,
    }
}

impl Served {
    /// `events` real edits in ADO (titles tagged with `round`), as deliveries.
    pub fn edits(&self, events: usize, round: usize) -> Vec<Delivery> {
        let ids = self.sim.work_item_ids();
        for i in 0..events {
            let state = ["Active", "Closed", "New"][(i + round) % 3];
            self.sim
                .user_update(
                    ids[i % ids.len()],
                    json!({"System.Title": format!("Edited in ADO {round}.{i}"), "System.State": state}),
                )
                .expect("edit");
        }
        let deliveries: Vec<Delivery> = self
            .sim
            .drain_events()
            .iter()
            .map(|e| {
                let auth = self
                    .sim
                    .delivery_authorization(e)
                    .expect("delivered through a subscription with a credential");
                (auth, serde_json::to_vec(e).unwrap_or_default())
            })
            .collect();
        assert_eq!(deliveries.len(), events, "one delivery per edit");
        deliveries
    }

    /// Hand deliveries to the app directly, `batch` per call: the component's `handle-batch` with
    /// the SQLite storage, each call's writes and workspace changes committed (fsync included).
    /// No HTTP: this is the server's work once a delivery is read.
    pub async fn direct(&self, deliveries: &[Delivery], batch: usize) -> ServeRun {
        let requests: Vec<WebhookRequest> = deliveries
            .iter()
            .map(|(auth, body)| WebhookRequest {
                path: self.path.clone(),
                headers: vec![
                    (
                        "content-type".into(),
                        "application/json; charset=utf-8".into(),
                    ),
                    ("authorization".into(), auth.clone()),
                ],
                body: body.clone(),
            })
            .collect();
        let started = Instant::now();
        let (mut times, mut applied) = (Vec::new(), 0);
        for chunk in requests.chunks(batch) {
            let t = Instant::now();
            let results = self.app.handle_webhooks(chunk).await.expect("call");
            times.push(t.elapsed());
            applied += results
                .iter()
                .filter(|r| matches!(r, Ok(Answer::Applied { .. })))
                .count();
        }
        ServeRun::new(times, started.elapsed(), applied)
    }

    /// Post deliveries, `in_flight` at a time (each sender posts its share in order).
    pub async fn post(&self, deliveries: &[Delivery], in_flight: usize) -> ServeRun {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let started = Instant::now();
        let mut senders = Vec::new();
        for lane in 0..in_flight {
            let mine: Vec<Delivery> = deliveries
                .iter()
                .skip(lane)
                .step_by(in_flight)
                .cloned()
                .collect();
            let (client, url) = (client.clone(), self.url.clone());
            senders.push(tokio::spawn(async move {
                let mut out = Vec::with_capacity(mine.len());
                for (auth, body) in mine {
                    let request = hyper::Request::post(&url)
                        .header("content-type", "application/json; charset=utf-8")
                        .header("authorization", auth)
                        .body(Full::new(Bytes::from(body)))
                        .expect("request");
                    let t = Instant::now();
                    let response = client.request(request).await.expect("answer");
                    let status = response.status();
                    let answer = response
                        .into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes();
                    out.push((t.elapsed(), status, answer));
                }
                out
            }));
        }
        let mut times = Vec::with_capacity(deliveries.len());
        let mut applied = 0;
        for sender in senders {
            for (time, status, answer) in sender.await.expect("sender") {
                let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                assert!(status.is_success(), "{status}: {v}");
                if v["outcome"] == "applied" {
                    applied += 1;
                }
                times.push(time);
            }
        }
        ServeRun::new(times, started.elapsed(), applied)
    }
}
