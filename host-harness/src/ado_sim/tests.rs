//! Unit tests of the simulator through its HTTP interface (a tiny HTTP/1.1 client over
//! `tokio::net::TcpStream`, no extra dependencies).

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::AdoSim;

pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

pub(crate) async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Resp {
    let u = url::Url::parse(url).expect("url");
    let host = u.host_str().expect("host").to_string();
    let port = u.port_or_known_default().expect("port");
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .expect("connect");
    stream.write_all(req.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Authenticated client for one base URL.
pub(crate) struct Client {
    pub base: String,
    pub auth: String,
}

impl Client {
    pub fn new(base: String) -> Self {
        Client {
            base,
            auth: basic("", AdoSim::PAT),
        }
    }

    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}/{path}{sep}api-version=7.1", self.base)
    }

    pub async fn get(&self, path: &str) -> Resp {
        http(
            "GET",
            &self.url(path),
            &[("Authorization", self.auth.clone())],
            None,
        )
        .await
    }

    pub async fn send(&self, method: &str, path: &str, content_type: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        http(
            method,
            &self.url(path),
            &[
                ("Authorization", self.auth.clone()),
                ("Content-Type", content_type.to_string()),
            ],
            Some(&bytes),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, "application/json", body).await
    }

    pub async fn patch(&self, path: &str, ops: &Value) -> Resp {
        self.send("PATCH", path, "application/json-patch+json", ops)
            .await
    }

    pub async fn create(&self, path: &str, ops: &Value) -> Resp {
        self.send("POST", path, "application/json-patch+json", ops)
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        http(
            "DELETE",
            &self.url(path),
            &[("Authorization", self.auth.clone())],
            None,
        )
        .await
    }
}

fn title(sim: &AdoSim, t: &str) -> i64 {
    sim.find_by_title(t)
        .unwrap_or_else(|| panic!("seed item {t} missing"))
}

// ---- auth, prefix, api-version ---------------------------------------------------------

#[tokio::test]
async fn auth_prefix_and_version_checks() {
    let sim = AdoSim::start_seeded().await;
    let url = format!("{}/_apis/projects?api-version=7.1", sim.org_url());
    let none = http("GET", &url, &[], None).await;
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").is_some());
    assert!(none.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("TF400813"));
    let wrong = http("GET", &url, &[("Authorization", basic("", "nope"))], None).await;
    assert_eq!(wrong.status, 401);
    let expired = http(
        "GET",
        &url,
        &[("Authorization", basic("", AdoSim::EXPIRED_PAT))],
        None,
    )
    .await;
    assert_eq!(expired.status, 203);
    assert!(expired
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let any_user = http(
        "GET",
        &url,
        &[("Authorization", basic("someone", AdoSim::PAT))],
        None,
    )
    .await;
    assert_eq!(any_user.status, 200);
    // On-prem credentials work only under the collection prefix.
    let onprem = basic(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD);
    let coll = format!("{}/_apis/projects?api-version=7.1", sim.collection_url());
    assert_eq!(
        http("GET", &coll, &[("Authorization", onprem.clone())], None)
            .await
            .status,
        200
    );
    assert_eq!(
        http("GET", &url, &[("Authorization", onprem)], None)
            .await
            .status,
        401
    );
    // api-version.
    let c = Client::new(sim.org_url());
    let no_version = http(
        "GET",
        &format!("{}/_apis/projects", sim.org_url()),
        &[("Authorization", c.auth.clone())],
        None,
    )
    .await;
    assert_eq!(no_version.status, 400);
    assert_eq!(
        no_version.json()["typeKey"],
        "VssVersionNotSpecifiedException"
    );
    let via_accept = http(
        "GET",
        &format!("{}/_apis/projects", sim.org_url()),
        &[
            ("Authorization", c.auth.clone()),
            ("Accept", "application/json;api-version=7.1".into()),
        ],
        None,
    )
    .await;
    assert_eq!(via_accept.status, 200);
    // Unknown org and unknown route.
    let other = http(
        "GET",
        &format!("{}/nope/_apis/projects?api-version=7.1", sim.uri()),
        &[("Authorization", c.auth.clone())],
        None,
    )
    .await;
    assert_eq!(other.status, 404);
    let unknown = c.get("_apis/wit/nothing-here").await;
    assert_eq!(unknown.status, 404);
    let body = unknown.json();
    for k in [
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    ] {
        assert!(body.get(k).is_some(), "error body lacks {k}");
    }
    // Read-only PAT.
    let ro = Client {
        base: sim.org_url(),
        auth: basic("", AdoSim::READONLY_PAT),
    };
    assert_eq!(ro.get("Fabrikam/_apis/wit/workitems/1").await.status, 200);
    let w = ro
        .patch(
            "_apis/wit/workitems/1",
            &json!([{"op":"add","path":"/fields/System.Title","value":"x"}]),
        )
        .await;
    assert_eq!(w.status, 403);
    assert_eq!(
        ro.post(
            "Fabrikam/_apis/wit/wiql",
            &json!({"query":"SELECT [System.Id] FROM WorkItems"})
        )
        .await
        .status,
        200
    );
    assert_eq!(sim.requests().len(), 13);
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn connection_data_per_deployment() {
    let sim = AdoSim::start().await;
    let cloud = Client::new(sim.org_url());
    let r = cloud.get("_apis/connectionData?connectOptions=1").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["deploymentType"], "hosted");
    assert_eq!(
        v["authenticatedUser"]["properties"]["Account"]["$value"],
        AdoSim::PAT_USER
    );
    let coll = Client {
        base: sim.collection_url(),
        auth: basic(AdoSim::ONPREM_USER, AdoSim::ONPREM_PASSWORD),
    };
    let url = format!(
        "{}/_apis/connectionData?api-version=7.1-preview.1",
        sim.collection_url()
    );
    let v = http("GET", &url, &[("Authorization", coll.auth.clone())], None)
        .await
        .json();
    assert_eq!(v["deploymentType"], "onPremises");
    assert_eq!(v["authenticatedUser"]["providerDisplayName"], "Builder");
    assert_eq!(cloud.get("_apis/projects").await.json()["count"], 0);
}

// ---- work items --------------------------------------------------------------------------

#[tokio::test]
async fn get_work_item_shapes() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let id = title(&sim, "Reset a forgotten password");
    let plain = c
        .get(&format!("Fabrikam/_apis/wit/workitems/{id}"))
        .await
        .json();
    assert_eq!(plain["id"], id);
    assert!(
        plain.get("relations").is_none(),
        "relations only with $expand"
    );
    assert_eq!(
        plain["url"],
        format!("{}/_apis/wit/workItems/{id}", sim.org_url())
    );
    let f = &plain["fields"];
    for k in [
        "System.Id",
        "System.AreaPath",
        "System.TeamProject",
        "System.IterationPath",
        "System.WorkItemType",
        "System.State",
        "System.Reason",
        "System.CreatedDate",
        "System.CreatedBy",
        "System.ChangedDate",
        "System.ChangedBy",
        "System.CommentCount",
        "System.Title",
        "System.Rev",
        "System.Watermark",
        "Microsoft.VSTS.Common.StateChangeDate",
        "Microsoft.VSTS.Common.Priority",
        "System.Parent",
    ] {
        assert!(f.get(k).is_some(), "missing {k}");
    }
    assert_eq!(f["System.Rev"], plain["rev"]);
    assert_eq!(f["System.AssignedTo"]["uniqueName"], "dana@contoso.example");
    assert!(f["System.AssignedTo"]["_links"]["avatar"]["href"].is_string());
    assert!(
        f.as_object()
            .map(|o| o.values().all(|v| !v.is_null()))
            .unwrap_or(false),
        "no null fields"
    );
    let date = f["System.ChangedDate"].as_str().unwrap_or_default();
    assert!(date.ends_with('Z') && date.len() == 24, "{date}");
    let all = c
        .get(&format!("Fabrikam/_apis/wit/workitems/{id}?$expand=all"))
        .await
        .json();
    let rels = all["relations"].as_array().cloned().unwrap_or_default();
    assert!(rels
        .iter()
        .any(|r| r["rel"] == "System.LinkTypes.Hierarchy-Reverse"));
    assert!(rels
        .iter()
        .any(|r| r["rel"] == "System.LinkTypes.Hierarchy-Forward"));
    // Same data under the on-prem prefix, URLs on that base.
    let coll = Client::new(sim.collection_url());
    let v = coll
        .get(&format!("_apis/wit/workitems/{id}?$expand=relations"))
        .await
        .json();
    assert!(v["url"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&sim.collection_url()));
    assert!(v["relations"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&sim.collection_url()));
    // fields + $expand cannot be combined; fields restricts.
    assert_eq!(
        c.get(&format!(
            "_apis/wit/workitems/{id}?fields=System.Title&$expand=all"
        ))
        .await
        .status,
        400
    );
    let only = c
        .get(&format!(
            "_apis/wit/workitems/{id}?fields=System.Title,System.AssignedTo,Custom.Objective"
        ))
        .await
        .json();
    assert_eq!(only["fields"].as_object().map(|o| o.len()), Some(2));
    assert!(only.get("_links").is_none());
    assert_eq!(c.get("_apis/wit/workitems/99999").await.status, 404);
    assert_eq!(c.get("Nope/_apis/wit/workitems/1").await.status, 404);
}

#[tokio::test]
async fn batch_and_list_limits() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let ids: Vec<i64> = (1..=201).collect();
    assert_eq!(
        c.post("Fabrikam/_apis/wit/workitemsbatch", &json!({"ids": ids}))
            .await
            .status,
        400
    );
    let ids200: Vec<i64> = (1..=200).collect();
    let r = c
        .post("Fabrikam/_apis/wit/workitemsbatch", &json!({"ids": ids200}))
        .await;
    assert_eq!(r.status, 404, "missing ids fail without errorPolicy");
    let r = c.post("Fabrikam/_apis/wit/workitemsbatch", &json!({"ids": [1, 9999, 2], "errorPolicy": "omit", "fields": ["System.Id", "System.Title"]})).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["count"], 3);
    assert!(v["value"][1].is_null());
    assert_eq!(
        v["value"][0]["fields"].as_object().map(|o| o.len()),
        Some(2)
    );
    let bad = c
        .post(
            "Fabrikam/_apis/wit/workitemsbatch",
            &json!({"ids": [1], "fields": ["System.Id"], "$expand": "all"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let list = c
        .get("_apis/wit/workitems?ids=1,2&$expand=relations")
        .await
        .json();
    assert_eq!(list["count"], 2);
    assert!(list["value"][1]["relations"].is_array());
    let many: Vec<String> = (1..=201).map(|i| i.to_string()).collect();
    assert_eq!(
        c.get(&format!("_apis/wit/workitems?ids={}", many.join(",")))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn create_with_parent_mirrors_link_and_records_events() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let parent = title(&sim, "Account management");
    let parent_rev = sim
        .work_item(parent)
        .and_then(|w| w["rev"].as_i64())
        .unwrap_or(0);
    let ops = json!([
        {"op": "add", "path": "/fields/System.Title", "value": "Export profile as PDF"},
        {"op": "add", "path": "/fields/System.Tags", "value": "customer; pdf"},
        {"op": "add", "path": "/fields/System.AssignedTo", "value": "Alex Developer <alex@contoso.example>"},
        {"op": "add", "path": "/fields/System.IterationPath", "value": "Fabrikam\\Sprint 2"},
        {"op": "add", "path": "/fields/Microsoft.VSTS.Scheduling.StoryPoints", "value": 3},
        {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": format!("{}/_apis/wit/workItems/{parent}", sim.org_url())}}
    ]);
    assert_eq!(
        c.post("Fabrikam/_apis/wit/workitems/$User%20Story", &ops)
            .await
            .status,
        415,
        "json-patch content type required"
    );
    assert_eq!(
        c.create("Fabrikam/_apis/wit/workitems/User%20Story", &ops)
            .await
            .status,
        404,
        "the $ is required"
    );
    let r = c
        .create("Fabrikam/_apis/wit/workitems/$User%20Story", &ops)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["rev"], 1);
    assert_eq!(v["fields"]["System.State"], "New");
    assert_eq!(v["fields"]["System.Reason"], "New");
    assert_eq!(v["fields"]["System.Parent"], parent);
    assert_eq!(
        v["fields"]["System.ChangedBy"]["uniqueName"],
        AdoSim::PAT_USER
    );
    assert_eq!(
        v["relations"][0]["rel"],
        "System.LinkTypes.Hierarchy-Reverse"
    );
    let id = v["id"].as_i64().unwrap_or(0);
    let p = sim.work_item(parent).unwrap_or_default();
    assert_eq!(
        p["rev"].as_i64(),
        Some(parent_rev + 1),
        "far end of the link gets a revision"
    );
    assert!(p["relations"]
        .as_array()
        .is_some_and(|r| r
            .iter()
            .any(|x| x["rel"] == "System.LinkTypes.Hierarchy-Forward"
                && x["url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(&format!("/{id}"))))));
    let events = sim.drain_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["eventType"], "workitem.created");
    assert_eq!(events[0]["resource"]["id"], id);
    assert_eq!(
        events[0]["resource"]["fields"]["System.AssignedTo"],
        "Alex Developer <alex@contoso.example>"
    );
    assert!(events[0].get("subscriptionId").is_none());
    assert_eq!(events[1]["eventType"], "workitem.updated");
    assert_eq!(events[1]["resource"]["workItemId"], parent);
    assert!(events[1]["resource"]["relations"]["added"].is_array());
    // Validation errors.
    let bad_field = c
        .create(
            "Fabrikam/_apis/wit/workitems/$Bug",
            &json!([
                {"op": "add", "path": "/fields/System.Title", "value": "x"},
                {"op": "add", "path": "/fields/System.Description", "value": "bugs use repro steps"}
            ]),
        )
        .await;
    assert_eq!(bad_field.status, 400);
    assert!(bad_field.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("TF51535"));
    for ops in [
        json!([{"op": "add", "path": "/fields/System.State", "value": "Active"}]),
        json!([{"op": "add", "path": "/fields/System.Title", "value": "x"}, {"op": "add", "path": "/fields/System.State", "value": "Doing"}]),
        json!([{"op": "add", "path": "/fields/System.Title", "value": "x"}, {"op": "add", "path": "/fields/System.IterationPath", "value": "Fabrikam\\Sprint 9"}]),
        json!([{"op": "add", "path": "/fields/System.Title", "value": "x"}, {"op": "add", "path": "/fields/System.AssignedTo", "value": "nobody@nowhere.example"}]),
        json!([{"op": "add", "path": "/fields/System.Title", "value": "x"}, {"op": "add", "path": "/fields/Custom.Risk", "value": "Extreme"}]),
    ] {
        assert_eq!(
            c.create("Fabrikam/_apis/wit/workitems/$Task", &ops)
                .await
                .status,
            400,
            "{ops}"
        );
    }
    // validateOnly saves nothing.
    let before = sim.work_item_ids().len();
    let r = c
        .create(
            "Fabrikam/_apis/wit/workitems/$Task?validateOnly=true",
            &json!([{"op": "add", "path": "/fields/System.Title", "value": "dry run"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(sim.work_item_ids().len(), before);
    assert!(sim.drain_events().is_empty());
}

#[tokio::test]
async fn patch_is_atomic_and_checks_rev() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let id = title(&sim, "Update profile details");
    let before = sim.work_item(id).unwrap_or_default();
    let rev = before["rev"].as_i64().unwrap_or(0);
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([
                {"op": "test", "path": "/rev", "value": rev},
                {"op": "add", "path": "/fields/System.Title", "value": "Changed"},
                {"op": "add", "path": "/fields/Nope.Field", "value": 1}
            ]),
        )
        .await;
    assert_eq!(r.status, 400);
    let after = sim.work_item(id).unwrap_or_default();
    assert_eq!(after, before, "nothing changed");
    assert!(sim.drain_events().is_empty());
    let stale = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([
                {"op": "test", "path": "/rev", "value": rev - 1},
                {"op": "add", "path": "/fields/System.Title", "value": "Changed"}
            ]),
        )
        .await;
    assert_eq!(stale.status, 412);
    // Second parent refused, on either end.
    let other_feature = title(&sim, "Order tracking");
    let second = c.patch(&format!("_apis/wit/workitems/{id}"), &json!([
        {"op": "add", "path": "/fields/System.Title", "value": "Changed"},
        {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": format!("{}/_apis/wit/workItems/{other_feature}", sim.org_url())}}
    ])).await;
    assert_eq!(second.status, 400);
    let via_parent = c.patch(&format!("_apis/wit/workitems/{other_feature}"), &json!([
        {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Hierarchy-Forward", "url": format!("{}/_apis/wit/workItems/{id}", sim.org_url())}}
    ])).await;
    assert_eq!(via_parent.status, 400);
    assert_eq!(sim.work_item(id).unwrap_or_default(), before);
    // Stale-rev fault even when the rev matches; only for patches with a rev test.
    sim.faults().stale_rev(1, 412);
    let plain = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([{"op": "add", "path": "/fields/System.Title", "value": "Changed once"}]),
        )
        .await;
    assert_eq!(plain.status, 200);
    let rev = plain.json()["rev"].as_i64().unwrap_or(0);
    assert_eq!(rev, before["rev"].as_i64().unwrap_or(0) + 1);
    let faulted = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([
                {"op": "test", "path": "/rev", "value": rev},
                {"op": "add", "path": "/fields/System.Title", "value": "Changed twice"}
            ]),
        )
        .await;
    assert_eq!(faulted.status, 412);
    let ok = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([
                {"op": "test", "path": "/rev", "value": rev},
                {"op": "add", "path": "/fields/System.Title", "value": "Changed twice"}
            ]),
        )
        .await;
    assert_eq!(ok.status, 200);
    // validateOnly leaves the rev alone.
    let vo = c
        .patch(
            &format!("_apis/wit/workitems/{id}?validateOnly=true"),
            &json!([{"op": "add", "path": "/fields/System.Title", "value": "dry"}]),
        )
        .await;
    assert_eq!(vo.status, 200);
    assert_eq!(
        sim.work_item(id).unwrap_or_default()["fields"]["System.Title"],
        "Changed twice"
    );
}

#[tokio::test]
async fn link_changes_bump_both_ends_and_tags_merge() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let a = title(&sim, "Update profile details");
    let b = title(&sim, "Crash when order list is empty");
    let rev = |id: i64| {
        sim.work_item(id)
            .and_then(|w| w["rev"].as_i64())
            .unwrap_or(0)
    };
    let (ra, rb) = (rev(a), rev(b));
    let r = c.patch(&format!("_apis/wit/workitems/{a}"), &json!([
        {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Related", "url": format!("{}/_apis/wit/workItems/{b}", sim.org_url()), "attributes": {"comment": "see also"}}}
    ])).await;
    assert_eq!(r.status, 200);
    assert_eq!((rev(a), rev(b)), (ra + 1, rb + 1));
    let rels = r.json()["relations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let idx = rels
        .iter()
        .position(|x| x["rel"] == "System.LinkTypes.Related")
        .unwrap_or(0);
    let r = c.patch(&format!("_apis/wit/workitems/{a}"), &json!([
        {"op": "replace", "path": format!("/relations/{idx}/attributes/comment"), "value": "edited"}
    ])).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["relations"][idx]["attributes"]["comment"],
        "edited"
    );
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{a}"),
            &json!([{"op": "remove", "path": format!("/relations/{idx}")}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!((rev(a), rev(b)), (ra + 3, rb + 3));
    assert!(sim
        .work_item(b)
        .is_some_and(|w| w["relations"]
            .as_array()
            .is_none_or(|r| !r.iter().any(|x| x["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("/{a}")))))));
    // Tags: add merges, replace overwrites, removing the last tag drops the field.
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{b}"),
            &json!([{"op": "add", "path": "/fields/System.Tags", "value": "Mobile; urgent"}]),
        )
        .await;
    assert_eq!(
        r.json()["fields"]["System.Tags"],
        "customer; Mobile; urgent"
    );
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{b}"),
            &json!([{"op": "replace", "path": "/fields/System.Tags", "value": "urgent"}]),
        )
        .await;
    assert_eq!(r.json()["fields"]["System.Tags"], "urgent");
    let r = c.patch(&format!("_apis/wit/workitems/{b}"), &json!([{"op": "replace", "path": "/fields/System.Tags", "value": ""}, {"op": "add", "path": "/fields/System.AssignedTo", "value": ""}])).await;
    assert!(r.json()["fields"].get("System.Tags").is_none());
    assert!(r.json()["fields"].get("System.AssignedTo").is_none());
    let tags = c.get("Fabrikam/_apis/wit/tags").await.json();
    assert!(tags["value"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x["name"] == "urgent")));
    // ChangedDate strictly increases.
    let w = sim.work_item(b).unwrap_or_default();
    let created = w["fields"]["System.CreatedDate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let changed = w["fields"]["System.ChangedDate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(changed > created);
}

#[tokio::test]
async fn state_changes_stamp_dates_and_history_counts_comments() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let id = title(&sim, "Update profile details");
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([
                {"op": "add", "path": "/fields/System.State", "value": "active"},
                {"op": "add", "path": "/fields/System.History", "value": "Starting now"}
            ]),
        )
        .await
        .json();
    assert_eq!(r["fields"]["System.State"], "Active");
    assert_eq!(r["fields"]["System.Reason"], "Implementation started");
    assert!(r["fields"]["Microsoft.VSTS.Common.ActivatedDate"].is_string());
    assert_eq!(r["fields"]["System.CommentCount"], 1);
    assert_eq!(r["fields"]["System.History"], "Starting now");
    let r = c
        .patch(
            &format!("_apis/wit/workitems/{id}"),
            &json!([{"op": "add", "path": "/fields/System.State", "value": "Closed"}]),
        )
        .await
        .json();
    assert!(r["fields"]["Microsoft.VSTS.Common.ClosedDate"].is_string());
    assert!(r["fields"].get("System.History").is_none());
    let updates = c
        .get(&format!("_apis/wit/workitems/{id}/updates"))
        .await
        .json();
    let last = updates["value"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["fields"]["System.State"]["oldValue"], "Active");
    assert_eq!(last["fields"]["System.State"]["newValue"], "Closed");
    let revs = c
        .get(&format!("_apis/wit/workitems/{id}/revisions"))
        .await
        .json();
    assert_eq!(revs["count"], r["rev"]);
}

// ---- WIQL ----------------------------------------------------------------------------------

#[tokio::test]
async fn wiql_over_http() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let q = |s: &str| json!({ "query": s });
    let r = c.post("Fabrikam/Fabrikam%20Team/_apis/wit/wiql", &q("SELECT [System.Id], [System.Title] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'User Story' AND [State] <> 'Removed' ORDER BY [Microsoft.VSTS.Scheduling.StoryPoints] DESC, [System.Id]")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["queryType"], "flat");
    assert_eq!(v["columns"][1]["referenceName"], "System.Title");
    assert_eq!(v["sortColumns"][0]["descending"], true);
    let ids: Vec<i64> = v["workItems"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 7);
    assert_eq!(
        ids[0],
        title(&sim, "See order status on mobile"),
        "8 points first"
    );
    let tagged = c.post("Fabrikam/_apis/wit/wiql", &q("SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'customer' AND ([System.State] = 'New' OR [System.State] = 'Resolved')")).await.json();
    assert_eq!(tagged["workItems"].as_array().map(Vec::len), Some(3));
    let top = c
        .post(
            "_apis/wit/wiql?$top=2",
            &q("SELECT [System.Id] FROM WorkItems ORDER BY [System.Id] DESC"),
        )
        .await
        .json();
    assert_eq!(top["workItems"].as_array().map(Vec::len), Some(2));
    let no_project = c
        .post(
            "_apis/wit/wiql",
            &q("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"),
        )
        .await;
    assert_eq!(no_project.status, 400);
    let bad = c
        .post(
            "_apis/wit/wiql",
            &q("SELECT [System.Id] FROM WorkItems WHERE [System.Id] = = 3"),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("VS402"));
    // Deleted items are excluded.
    let id = title(&sim, "Update profile details");
    sim.user_delete(id).expect("delete");
    let all = c
        .post(
            "_apis/wit/wiql",
            &q(&format!(
                "SELECT [System.Id] FROM WorkItems WHERE [System.Id] = {id}"
            )),
        )
        .await
        .json();
    assert_eq!(all["workItems"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn wiql_result_cap() {
    let sim = AdoSim::start().await;
    sim.create_project("Big", "Agile").expect("project");
    sim.seed_bulk("Big", 20_001);
    assert_eq!(sim.work_item_ids().len(), 20_001);
    assert!(
        sim.drain_events().is_empty(),
        "bulk seeding records no events"
    );
    let c = Client::new(sim.org_url());
    let q = json!({ "query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project" });
    let r = c.post("Big/_apis/wit/wiql", &q).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("VS402337"));
    let r = c.post("Big/_apis/wit/wiql?$top=500", &q).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["workItems"].as_array().map(Vec::len), Some(500));
    let narrowed =
        json!({ "query": "SELECT [System.Id] FROM WorkItems WHERE [System.Id] <= 20000" });
    assert_eq!(c.post("Big/_apis/wit/wiql", &narrowed).await.status, 200);
    // Hierarchy: every story-level item has a parent feature whose parent is an epic.
    let story = sim.find_by_title("Bulk User Story 2").expect("story");
    let w = sim.work_item(story).unwrap_or_default();
    let feature = w["fields"]["System.Parent"].as_i64().expect("parent");
    let f = sim.work_item(feature).unwrap_or_default();
    assert_eq!(f["fields"]["System.WorkItemType"], "Feature");
    let epic = f["fields"]["System.Parent"].as_i64().expect("epic");
    assert_eq!(
        sim.work_item(epic).unwrap_or_default()["fields"]["System.WorkItemType"],
        "Epic"
    );
}

// ---- events --------------------------------------------------------------------------------

#[tokio::test]
async fn events_for_every_kind() {
    let sim = AdoSim::start_seeded().await;
    let parent = title(&sim, "Order tracking");
    let id = sim.user_create(
        "Fabrikam",
        "User Story",
        json!({"System.Title": "Track a parcel", "System.Tags": "q3"}),
        Some(parent),
    );
    let created = sim.drain_events();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["eventType"], "workitem.created");
    assert_eq!(
        created[0]["resource"]["fields"]["System.CreatedBy"],
        "Dana Engineer <dana@contoso.example>"
    );
    assert!(created[0]["resourceContainers"]["project"]["id"].is_string());
    assert!(created[0]["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("created by Dana Engineer"));
    sim.user_update(
        id,
        json!({"System.AssignedTo": "alex@contoso.example", "System.State": "Active"}),
    )
    .expect("update");
    let upd = sim.drain_events();
    assert_eq!(upd.len(), 1);
    let res = &upd[0]["resource"];
    assert_eq!(res["workItemId"], id);
    assert_eq!(res["rev"], 2);
    assert!(
        res["fields"]["System.AssignedTo"].get("oldValue").is_none(),
        "was empty before"
    );
    assert_eq!(
        res["fields"]["System.AssignedTo"]["newValue"],
        "Alex Developer <alex@contoso.example>"
    );
    assert_eq!(res["fields"]["System.State"]["oldValue"], "New");
    assert_eq!(res["fields"]["System.Rev"]["newValue"], 2);
    assert_eq!(res["revision"]["id"], id);
    assert_eq!(
        res["revision"]["fields"]["System.AssignedTo"],
        "Alex Developer <alex@contoso.example>"
    );
    assert!(res["revisedBy"]["uniqueName"].is_string());
    sim.user_update(id, json!({"System.AssignedTo": null}))
        .expect("clear");
    let cleared = sim.drain_events();
    assert!(cleared[0]["resource"]["fields"]["System.AssignedTo"]
        .get("newValue")
        .is_none());
    // Re-parent: the item and both parents get revisions.
    let other = title(&sim, "Account management");
    sim.user_update(id, json!({"System.Parent": other}))
        .expect("reparent");
    let re = sim.drain_events();
    assert_eq!(re.len(), 3);
    assert_eq!(
        sim.work_item(id).unwrap_or_default()["fields"]["System.Parent"],
        other
    );
    sim.user_update(id, json!({"System.Parent": null}))
        .expect("unparent");
    assert!(sim.work_item(id).unwrap_or_default()["fields"]
        .get("System.Parent")
        .is_none());
    sim.drain_events();
    sim.user_delete(id).expect("delete");
    assert!(sim.is_in_recycle_bin(id));
    assert!(sim.work_item(id).is_none());
    let del = sim.drain_events();
    assert_eq!(del[0]["eventType"], "workitem.deleted");
    assert!(del[0]["resource"]["url"]
        .as_str()
        .unwrap_or_default()
        .ends_with(&format!("/_apis/wit/recyclebin/{id}")));
    sim.user_restore(id).expect("restore");
    let res = sim.drain_events();
    assert_eq!(res[0]["eventType"], "workitem.restored");
    assert_eq!(res[0]["resource"]["id"], id);
    let n: Vec<i64> = [&created[..], &upd[..], &del[..], &res[..]]
        .concat()
        .iter()
        .filter_map(|e| e["notificationId"].as_i64())
        .collect();
    assert!(
        n.windows(2).all(|w| w[0] < w[1]),
        "notification ids increase"
    );
}

#[tokio::test]
async fn subscriptions_and_filtered_delivery() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let pid = sim.project_id("Fabrikam").expect("pid");
    let body = json!({
        "publisherId": "tfs", "eventType": "workitem.updated", "resourceVersion": "1.0",
        "consumerId": "webHooks", "consumerActionId": "httpRequest",
        "publisherInputs": {"projectId": pid, "areaPath": "", "workItemType": "", "changedFields": ""},
        "consumerInputs": {"url": "http://127.0.0.1:9/hook", "basicAuthUsername": "hook", "basicAuthPassword": "s3cret", "httpHeaders": "X-Key:abc"}
    });
    let ro = Client {
        base: sim.org_url(),
        auth: basic("", AdoSim::READONLY_PAT),
    };
    assert_eq!(
        ro.post("_apis/hooks/subscriptions", &body).await.status,
        403
    );
    let r = c.post("_apis/hooks/subscriptions", &body).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(s["status"], "enabled");
    assert_eq!(s["consumerInputs"]["basicAuthPassword"], "********");
    assert_eq!(s["consumerInputs"]["httpHeaders"], "X-Key:********");
    assert!(s["publisherInputs"]["tfsSubscriptionId"].is_string());
    assert!(s["publisherInputs"]["hostId"].is_string());
    assert_eq!(
        sim.subscription_consumer_inputs(&sid).unwrap_or_default()["basicAuthPassword"],
        "s3cret"
    );
    assert_eq!(c.get("_apis/hooks/subscriptions").await.json()["count"], 1);
    let id = title(&sim, "Update profile details");
    sim.user_update(id, json!({"System.Title": "Edit profile"}))
        .expect("update");
    let ev = sim.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["subscriptionId"], sid);
    // Tailspin changes do not match the Fabrikam subscription; created events have no
    // subscription at all so they are still recorded without a subscriptionId.
    let t = title(&sim, "Loyalty points");
    sim.user_update(t, json!({"System.Title": "Loyalty programme"}))
        .expect("update");
    assert!(sim.drain_events().is_empty());
    sim.user_create(
        "Fabrikam",
        "Task",
        json!({"System.Title": "New task"}),
        None,
    );
    let ev = sim.drain_events();
    assert_eq!(ev.len(), 1);
    assert!(ev[0].get("subscriptionId").is_none());
    // Degraded subscriptions deliver nothing; PUT re-enables and keeps the secret.
    sim.set_subscription_status(&sid, "disabledBySystem");
    sim.user_update(id, json!({"System.Title": "Edit profile again"}))
        .expect("update");
    assert!(sim.drain_events().is_empty());
    let mut put = s.clone();
    put["status"] = json!("enabled");
    let r = c
        .send(
            "PUT",
            &format!("_apis/hooks/subscriptions/{sid}"),
            "application/json",
            &put,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.subscription_consumer_inputs(&sid).unwrap_or_default()["basicAuthPassword"],
        "s3cret"
    );
    assert_eq!(sim.subscriptions()[0]["status"], "enabled");
    assert_eq!(
        c.delete(&format!("_apis/hooks/subscriptions/{sid}"))
            .await
            .status,
        204
    );
    assert_eq!(
        c.get(&format!("_apis/hooks/subscriptions/{sid}"))
            .await
            .status,
        404
    );
}

// ---- recycle bin, metadata ----------------------------------------------------------------

#[tokio::test]
async fn recycle_bin_round_trip() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let id = title(&sim, "Update profile details");
    let r = c
        .delete(&format!("Fabrikam/_apis/wit/workitems/{id}"))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(
        c.get(&format!("_apis/wit/workitems/{id}")).await.status,
        404
    );
    let bin = c.get("Fabrikam/_apis/wit/recyclebin").await.json();
    assert_eq!(bin["count"], 1);
    let one = c
        .get(&format!("Fabrikam/_apis/wit/recyclebin/{id}"))
        .await
        .json();
    assert_eq!(one["resource"]["id"], id);
    let r = c
        .patch(
            &format!("Fabrikam/_apis/wit/recyclebin/{id}"),
            &json!({"isDeleted": false}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["resource"]["fields"]["System.Id"], id);
    assert_eq!(
        c.get(&format!("_apis/wit/workitems/{id}")).await.status,
        200
    );
    assert_eq!(
        c.delete(&format!("Fabrikam/_apis/wit/workitems/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        c.delete(&format!("Fabrikam/_apis/wit/recyclebin/{id}"))
            .await
            .status,
        204
    );
    assert!(!sim.is_in_recycle_bin(id));
    let other = title(&sim, "Reset a forgotten password");
    assert_eq!(
        c.delete(&format!(
            "Fabrikam/_apis/wit/workitems/{other}?destroy=true"
        ))
        .await
        .status,
        204
    );
    assert!(!sim.is_in_recycle_bin(other) && sim.work_item(other).is_none());
    let kinds: Vec<String> = sim
        .drain_events()
        .iter()
        .filter_map(|e| e["eventType"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        kinds,
        ["workitem.deleted", "workitem.restored", "workitem.deleted"]
    );
}

#[tokio::test]
async fn metadata_endpoints() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let p = c
        .get("_apis/projects/Fabrikam?includeCapabilities=true")
        .await
        .json();
    assert_eq!(
        p["capabilities"]["processTemplate"]["templateName"],
        "Agile"
    );
    let t = c
        .get("_apis/projects/Tailspin?includeCapabilities=true")
        .await
        .json();
    assert_eq!(
        t["capabilities"]["processTemplate"]["templateName"],
        "Scrum"
    );
    assert_eq!(c.get("_apis/projects?$top=1").await.json()["count"], 1);
    assert_eq!(c.get("_apis/projects/Nope").await.status, 404);
    let states = c
        .get("Fabrikam/_apis/wit/workitemtypes/User%20Story/states")
        .await
        .json();
    let cats: Vec<&str> = states["value"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["category"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(cats, ["Proposed", "InProgress", "Completed", "Removed"]);
    let epic = c
        .get("Fabrikam/_apis/wit/workitemtypes/Epic/states")
        .await
        .json();
    assert_eq!(epic["count"], 5);
    let task = c
        .get("Tailspin/_apis/wit/workitemtypes/Task/states")
        .await
        .json();
    assert_eq!(task["value"][0]["name"], "To Do");
    let fields = c
        .get("Fabrikam/_apis/wit/workitemtypes/User%20Story/fields?$expand=allowedValues")
        .await
        .json();
    let risk = fields["value"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["referenceName"] == "Custom.Risk"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(risk["allowedValues"], json!(["High", "Medium", "Low"]));
    let pbi = c
        .get("Tailspin/_apis/wit/workitemtypes/Product%20Backlog%20Item/fields")
        .await
        .json();
    assert!(pbi["value"].as_array().is_some_and(|a| a
        .iter()
        .any(|f| f["referenceName"] == "Microsoft.VSTS.Scheduling.Effort")));
    assert!(pbi["value"].as_array().is_some_and(|a| !a
        .iter()
        .any(|f| f["referenceName"] == "Microsoft.VSTS.Scheduling.StoryPoints")));
    let conf = c.get("_apis/wit/fields/Custom.Confidence").await.json();
    assert_eq!(conf["type"], "double");
    let risk = c.get("Fabrikam/_apis/wit/fields/Custom.Risk").await.json();
    assert_eq!(
        (risk["type"].as_str(), risk["isPicklist"].as_bool()),
        (Some("picklistString"), Some(true))
    );
    assert_eq!(
        c.get("_apis/wit/fields/System.AssignedTo").await.json()["isIdentity"],
        true
    );
    let nodes = c
        .get("Fabrikam/_apis/wit/classificationnodes?$depth=2")
        .await
        .json();
    assert_eq!(nodes["count"], 2);
    let it = c
        .get("Fabrikam/_apis/wit/classificationnodes/iterations?$depth=1")
        .await
        .json();
    assert_eq!(it["path"], "\\Fabrikam\\Iteration");
    assert_eq!(it["children"][0]["path"], "\\Fabrikam\\Iteration\\Sprint 1");
    assert!(it["children"][0]["attributes"]["startDate"]
        .as_str()
        .is_some_and(|d| d.ends_with("T00:00:00Z")));
    assert!(
        it["children"][2].get("attributes").is_none(),
        "Sprint 3 has no dates"
    );
    let created = c.post("Fabrikam/_apis/wit/classificationnodes/iterations", &json!({"name": "Sprint 4", "attributes": {"startDate": "2030-01-07T00:00:00Z", "finishDate": "2030-01-18T00:00:00Z"}})).await;
    assert_eq!(created.status, 201);
    assert_eq!(
        c.post(
            "Fabrikam/_apis/wit/classificationnodes/iterations",
            &json!({"name": "Sprint 4"})
        )
        .await
        .status,
        409
    );
    let r = c.create("Fabrikam/_apis/wit/workitems/$Task", &json!([{"op":"add","path":"/fields/System.Title","value":"later"},{"op":"add","path":"/fields/System.IterationPath","value":"Fabrikam\\Sprint 4"}])).await;
    assert_eq!(r.status, 200);
    let teams = c.get("_apis/projects/Fabrikam/teams").await.json();
    assert_eq!(teams["value"][0]["name"], "Fabrikam Team");
    let its = c
        .get("Fabrikam/Fabrikam%20Team/_apis/work/teamsettings/iterations")
        .await
        .json();
    assert_eq!(its["count"], 4);
    assert_eq!(its["value"][0]["path"], "Fabrikam\\Sprint 1");
    let node_id = it["children"][1]["identifier"].clone();
    let cur = c
        .get("Fabrikam/Fabrikam%20Team/_apis/work/teamsettings/iterations?$timeframe=current")
        .await
        .json();
    assert_eq!(cur["count"], 1);
    assert_eq!(
        cur["value"][0]["id"], node_id,
        "team iteration id = node identifier"
    );
    assert_eq!(cur["value"][0]["attributes"]["timeFrame"], "current");
    let tags = c.get("Fabrikam/_apis/wit/tags").await.json();
    let names: Vec<&str> = tags["value"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["customer", "q3", "tech-debt"]);
}

// ---- faults ------------------------------------------------------------------------------------

#[tokio::test]
async fn fault_injection() {
    let sim = AdoSim::start_seeded().await;
    let c = Client::new(sim.org_url());
    let f = sim.faults();
    f.rate_limit("wiql", 1, 7);
    let q = json!({"query": "SELECT [System.Id] FROM WorkItems"});
    let r = c.post("_apis/wit/wiql", &q).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert!(r.header("x-ratelimit-reset").is_some());
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("TF400733"));
    assert_eq!(c.post("_apis/wit/wiql", &q).await.status, 200);
    f.server_error("", 1, 503);
    assert_eq!(c.get("_apis/projects").await.status, 503);
    f.malformed_body("projects", 1);
    let r = c.get("_apis/projects").await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    f.sign_in_page("", 1);
    let r = c.get("_apis/projects").await;
    assert_eq!(r.status, 203);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    f.delay("projects", 1, 300);
    let t0 = std::time::Instant::now();
    assert_eq!(c.get("_apis/projects").await.status, 200);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    f.server_error("", 3, 500);
    f.clear();
    assert_eq!(c.get("_apis/projects").await.status, 200);
}
