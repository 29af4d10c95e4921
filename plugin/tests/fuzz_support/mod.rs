//! The fuzz entry points, shared by the `cargo fuzz` targets (`fuzz/fuzz_targets/*.rs` include
//! this module by path) and by `plugin/tests/fuzz_regressions.rs`, which replays the committed
//! seeds and every regression input through the very same functions in plain `cargo test`.
//!
//! Each entry point takes raw bytes, must never panic, and asserts a few properties that hold for
//! any input; a broken property is a panic, which is what the fuzzer reports.
#![allow(dead_code)]

pub mod fakes;
pub mod fixture;
pub mod gen;

use ado_sync_plugin::ado::errors::{ado_message, classify, exhausted, is_wiql_cap};
use ado_sync_plugin::ado::AdoClient;
use ado_sync_plugin::api::{
    AdoFilter, HostItem, HostScope, IgnoredReason, SyncDirection, SyncError, SyncRequest,
    WebhookOutcome, WebhookRequest,
};
use ado_sync_plugin::core::convert::{to_ado, to_host, MapContext};
use ado_sync_plugin::core::fingerprint::of_host_item;
use ado_sync_plugin::core::mapping::validate;
use ado_sync_plugin::core::merge::merge;
use ado_sync_plugin::core::order::parents_first;
use ado_sync_plugin::core::paths::{node_path_to_field_path, normalise_base_url, same_path};
use ado_sync_plugin::core::propose::propose;
use ado_sync_plugin::core::query::{quote, select_ids};
use ado_sync_plugin::core::values::{
    ado_to_host, format_tags, host_to_ado, identity_unique_name, parse_tags, same_tags, same_value,
};
use ado_sync_plugin::core::work_item::{id_from_url, list_items, WorkItem};
use ado_sync_plugin::engine::webhook::parse_delivery;
use ado_sync_plugin::engine::Engine;
use ado_sync_plugin::ports::HttpResponse;
use arbitrary::Unstructured;
use fakes::{Answers, FakeHttp};
use std::collections::BTreeMap;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their directory under `fuzz/seeds/`.
pub const TARGETS: [(&str, Target); 3] = [
    ("webhook", webhook),
    ("mapping", mapping),
    ("ado_responses", ado_responses),
];

// ---------------------------------------------------------------------------------------------
// Webhook: any bytes as the body of an otherwise well-formed, authenticated delivery.
// ---------------------------------------------------------------------------------------------

/// Parse the body as a delivery, then run the whole `handle` path on a configured workspace.
/// Properties: a rejected delivery changes nothing but the webhook counters; an ignored one
/// (for a reason decided before any item is read) leaves links alone; delivering the same body
/// again never applies anything a second time.
pub fn webhook(data: &[u8]) {
    let _ = parse_delivery(data);
    let (kv, vault) = fixture::configured();
    let http = FakeHttp::new(Answers::FixedAdo);
    let engine = Engine::new(&http, &kv, &vault);
    let request = delivery(data.to_vec());
    let before = kv.dump();
    let first = engine.handle_webhook(&request);
    let after = kv.dump();
    match &first {
        Err(e) => assert_eq!(
            without(&before, &["webhook/"]),
            without(&after, &["webhook/"]),
            "a rejected delivery ({e:?}) changed the sync state"
        ),
        Ok(WebhookOutcome::Ignored(
            reason @ (IgnoredReason::ProjectNotIntegrated
            | IgnoredReason::EventNotHandled
            | IgnoredReason::NotLinked
            | IgnoredReason::TypeNotMapped),
        )) => assert_eq!(
            without(&before, &["webhook/", "history/"]),
            without(&after, &["webhook/", "history/"]),
            "an ignored delivery ({reason:?}) changed links"
        ),
        Ok(_) => {}
    }
    let second = engine.handle_webhook(&request);
    if let (Ok(_), Ok(WebhookOutcome::Applied(changes))) = (&first, &second) {
        panic!("the same delivery was applied twice: {changes:?}");
    }
    batch(data);
}

/// The bytes split at `0xFF` into several deliveries, the first repeated at the end: one
/// `handle_webhooks` call gives each the result, and leaves the storage, that delivering them
/// one by one does.
fn batch(data: &[u8]) {
    let mut requests: Vec<WebhookRequest> = data
        .split(|b| *b == 0xFF)
        .map(|body| delivery(body.to_vec()))
        .collect();
    requests.push(requests[0].clone());
    let http = FakeHttp::new(Answers::FixedAdo);
    let (kv, vault) = fixture::configured();
    let together = Engine::new(&http, &kv, &vault).handle_webhooks(&requests);
    let (kv_one, vault_one) = fixture::configured();
    let engine = Engine::new(&http, &kv_one, &vault_one);
    let one_by_one: Vec<_> = requests.iter().map(|r| engine.handle_webhook(r)).collect();
    assert_eq!(
        together, one_by_one,
        "a batch decides as single deliveries do"
    );
    assert_eq!(kv.dump(), kv_one.dump(), "a batch leaves the same storage");
}

/// An authenticated delivery to the fixture's webhook path.
pub fn delivery(body: Vec<u8>) -> WebhookRequest {
    use ado_sync_plugin::ado::auth::{basic_header, Credentials};
    use ado_sync_plugin::engine::webhook::DELIVERY_USER;
    WebhookRequest {
        path: format!("/webhooks/{}/ado", fixture::WORKSPACE),
        headers: vec![
            (
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            ),
            (
                "Authorization".into(),
                basic_header(&Credentials::UserPassword(
                    DELIVERY_USER,
                    fixture::WEBHOOK_SECRET,
                )),
            ),
        ],
        body,
    }
}

fn without(dump: &BTreeMap<String, Vec<u8>>, prefixes: &[&str]) -> BTreeMap<String, Vec<u8>> {
    dump.iter()
        .filter(|(k, _)| !prefixes.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mapping core: validate, propose, convert, merge, values, paths, query, order.
// ---------------------------------------------------------------------------------------------

/// Build a schema, a project, a mapping, items and work items from the bytes and run the pure
/// core over them.
pub fn mapping(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = mapping_case(&mut u);
}

fn mapping_case(u: &mut Unstructured) -> arbitrary::Result<()> {
    let schema = gen::schema(u)?;
    let project = gen::project(u)?;
    let proposed = propose(&schema, &project, u.arbitrary()?);
    let _ = validate(&proposed, &schema, &project);
    let mapping = if u.arbitrary()? {
        proposed
    } else {
        gen::mapping(u)?
    };
    let _ = validate(&mapping, &schema, &project);
    let ctx = MapContext {
        connection_id: "c1",
        base_url: "https://dev.azure.com/org",
        project_name: "P",
        types: &project.work_item_types,
        schema: &schema,
        mapping: &mapping,
    };

    let current = WorkItem::from_json(&gen::work_item_json(u)?).ok();
    let existing = if u.arbitrary()? {
        Some(gen::host_item(u)?)
    } else {
        None
    };
    if let Some(wi) = &current {
        let _ = (wi.parent_id(), wi.parent_relation_index(), wi.project());
        let parent = if u.arbitrary()? {
            Some(gen::word(u)?)
        } else {
            None
        };
        if let Ok(Some(item)) = to_host(&ctx, wi, "h".into(), parent, existing.as_ref()) {
            assert!(
                item.fields.windows(2).all(|w| w[0].field <= w[1].field),
                "fields are sorted"
            );
            assert!(
                !item
                    .tags
                    .iter()
                    .any(|t| ado_sync_plugin::core::convert::is_marker(t)),
                "marker tags stay hidden from the host"
            );
        }
    }

    let item = gen::host_item(u)?;
    let parent = if u.arbitrary()? {
        Some(gen::id(u)?)
    } else {
        None
    };
    if let Ok((_, ops)) = to_ado(&ctx, &item, current.as_ref(), parent) {
        for op in &ops {
            assert!(
                op.value != Some(serde_json::Value::Null),
                "no patch writes null: {op:?}"
            );
            assert!(
                op.path.starts_with("/fields/")
                    || op.path.starts_with("/relations/")
                    || op.path == "/rev",
                "patch path {}",
                op.path
            );
        }
        if current.is_some() && !ops.is_empty() {
            assert_eq!(
                (ops[0].op, ops[0].path.as_str()),
                ("test", "/rev"),
                "an update starts with test /rev"
            );
        }
    }

    let host = gen::host_item(u)?;
    let ado = gen::host_item(u)?;
    let base = if u.arbitrary()? {
        Some(gen::host_item(u)?)
    } else {
        None
    };
    let merged = merge(base.as_ref(), &host, &ado, &mapping.fields);
    assert!(merged
        .target
        .fields
        .windows(2)
        .all(|w| w[0].field <= w[1].field));
    let settled = merge(Some(&host), &host, &host, &mapping.fields);
    assert!(
        settled.conflicts.is_empty() && settled.from_ado.is_empty(),
        "an item merged with itself has no changes or conflicts: {settled:?}"
    );
    assert_eq!(of_host_item(&settled.target), of_host_item(&host));

    values(u)?;
    paths_and_query(u, &project)?;
    order(u)
}

fn values(u: &mut Unstructured) -> arbitrary::Result<()> {
    let raw = gen::word(u)?;
    let tags = parse_tags(&raw);
    assert!(tags
        .iter()
        .all(|t| !t.is_empty() && !t.contains(';') && t.trim() == t));
    assert!(
        same_tags(&parse_tags(&format_tags(&tags)), &tags),
        "tags survive a format/parse round trip: {tags:?}"
    );
    let value = gen::json(u, 2)?;
    let _ = identity_unique_name(&value);
    let kind = gen::kind(u)?;
    if let Some(host) = ado_to_host(kind, &value) {
        assert!(
            same_value(kind, Some(&value), Some(&host)),
            "an ADO value is the same as its own host value: {value} → {host:?}"
        );
        let _ = host_to_ado(&host);
    }
    let host = gen::field_value(u)?;
    let _ = same_value(kind, Some(&host_to_ado(&host)), Some(&host));
    Ok(())
}

fn paths_and_query(
    u: &mut Unstructured,
    project: &ado_sync_plugin::api::ProjectDiscovery,
) -> arbitrary::Result<()> {
    let path = gen::word(u)?;
    let field_path = node_path_to_field_path(&path);
    assert!(same_path(&field_path, &field_path));
    let cloud = u.arbitrary()?;
    if let Ok(url) = normalise_base_url(&path, cloud) {
        assert_eq!(
            normalise_base_url(&url, cloud).as_deref(),
            Ok(url.as_str()),
            "normalising is idempotent"
        );
    }
    let text = gen::word(u)?;
    let quoted = quote(&text);
    assert!(
        quoted.len() >= 2
            && quoted.starts_with('\'')
            && quoted.ends_with('\'')
            && !quoted[1..quoted.len() - 1].replace("''", "").contains('\''),
        "a quoted literal cannot be closed early: {quoted}"
    );
    let types: Vec<_> = project.work_item_types.iter().collect();
    let tags = (0..u.int_in_range(0..=2)?)
        .map(|_| gen::word(u))
        .collect::<arbitrary::Result<Vec<_>>>()?;
    let window = if u.arbitrary()? {
        Some((u.arbitrary()?, u.arbitrary()?))
    } else {
        None
    };
    let query = select_ids(&types, u.arbitrary()?, &tags, window);
    assert!(query.starts_with("SELECT [System.Id] FROM WorkItems WHERE "));
    Ok(())
}

fn order(u: &mut Unstructured) -> arbitrary::Result<()> {
    let items = (0..u.int_in_range(0..=8)?)
        .map(|_| {
            Ok((
                u.int_in_range(0..=5)?,
                if u.arbitrary()? {
                    Some(u.int_in_range(0..=5)?)
                } else {
                    None
                },
            ))
        })
        .collect::<arbitrary::Result<Vec<(i64, Option<i64>)>>>()?;
    let mut order = parents_first(&items);
    order.sort_unstable();
    assert_eq!(
        order,
        (0..items.len()).collect::<Vec<_>>(),
        "every item exactly once"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ADO responses: scripted answers to the typed client and the engine's ADO reads.
// ---------------------------------------------------------------------------------------------

const STATUSES: [u16; 16] = [
    200, 200, 200, 200, 201, 203, 204, 302, 400, 401, 403, 404, 409, 412, 429, 503,
];

/// The answers of a script: the segments between `0xFF` bytes (never part of UTF-8 text), each
/// `[status, headers, body…]`. The status byte picks from [`STATUSES`] (values from 0xF0 on are
/// taken as odd statuses); the header byte's bits add a JSON content type, `Retry-After`
/// (its upper bits, in seconds) and `X-RateLimit-Delay`, or a malformed `Retry-After`.
pub fn script(data: &[u8]) -> Vec<HttpResponse> {
    data.split(|b| *b == 0xFF)
        .map(|segment| {
            let status_byte = segment.first().copied().unwrap_or(0);
            let flags = segment.get(1).copied().unwrap_or(1);
            let status = if status_byte >= 0xF0 {
                u16::from(status_byte) * 3 - 600
            } else {
                STATUSES[usize::from(status_byte) % STATUSES.len()]
            };
            let mut headers = Vec::new();
            if flags & 1 == 1 {
                headers.push(("content-type".into(), "application/json".into()));
            } else {
                headers.push(("content-type".into(), "text/html; charset=utf-8".into()));
            }
            if flags & 2 == 2 {
                headers.push(("retry-after".into(), (flags >> 4).to_string()));
            }
            if flags & 4 == 4 {
                headers.push(("x-ratelimit-delay".into(), "0.5".into()));
            }
            if flags & 8 == 8 {
                headers.push(("retry-after".into(), "Wed, 21 Oct 2026 07:28:00 GMT".into()));
            }
            HttpResponse {
                status,
                headers,
                body: segment.get(2..).unwrap_or_default().to_vec(),
            }
        })
        .collect()
}

/// The first byte picks what is asked of ADO; the rest is the script of its answers.
pub fn ado_responses(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let answers = if rest.is_empty() {
        Vec::new()
    } else {
        script(rest)
    };
    for response in &answers {
        let _ = (
            classify(response),
            exhausted(response),
            ado_message(&response.body),
        );
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&response.body) {
            let _ = WorkItem::from_json(&v).map(|w| w.parent_id());
            for item in list_items(&v) {
                let _ = WorkItem::from_json(item);
            }
        }
        let _ = id_from_url(&String::from_utf8_lossy(&response.body));
    }
    let http = FakeHttp::new(Answers::Script(answers));
    let client = AdoClient::new(&http, "https://dev.azure.com/fuzz", "Basic eDpwYXQ=".into());
    let project = ado_sync_plugin::ado::resources::Project {
        id: fixture::PROJECT_ID.into(),
        name: fixture::PROJECT.into(),
        process: "Agile".into(),
    };
    let checked = |r: Result<(), SyncError>| {
        if let Err(e) = r {
            let _ = is_wiql_cap(&e);
            let _ = e.describe();
        }
    };
    match op % 14 {
        0 => checked(client.connection_data().map(drop)),
        1 => checked(client.check_projects_readable()),
        2 => checked(client.project("Fuzz Project").map(drop)),
        3 => checked(client.discover(&project).map(drop)),
        4 => checked(
            client
                .wiql("Fuzz", "SELECT [System.Id] FROM WorkItems")
                .map(drop),
        ),
        5 => checked(client.wiql_top("Fuzz", "SELECT 1", 1).map(drop)),
        6 => checked(
            client
                .work_item(7)
                .and_then(|v| WorkItem::from_json(&v))
                .map(drop),
        ),
        7 => checked(
            client
                .create_work_item("Fuzz", "User Story", &[])
                .and_then(|v| WorkItem::from_json(&v))
                .map(drop),
        ),
        8 => {
            let requests: Vec<_> = [&[1i64, 2][..], &[3], &[4, 5, 6]]
                .iter()
                .map(|ids| client.batch_request("Fuzz", ids))
                .collect();
            for answer in client.send_many(&requests) {
                checked(answer.map(|body| {
                    for v in body.as_ref().map(list_items).unwrap_or(&[]) {
                        let _ = WorkItem::from_json(v);
                    }
                }));
            }
        }
        n => {
            let (kv, vault) = fixture::configured();
            let engine = Engine::new(&http, &kv, &vault);
            match n {
                9 => checked(
                    engine
                        .sync_once(&sync_request(SyncDirection::AdoToHost))
                        .map(drop),
                ),
                10 => checked(
                    engine
                        .sync_once(&sync_request(SyncDirection::HostToAdo))
                        .map(drop),
                ),
                11 => checked(engine.heal(fixture::CONNECTION).map(drop)),
                12 => checked(
                    engine
                        .provision(fixture::CONNECTION, "https://hooks.example.com")
                        .map(drop),
                ),
                _ => {
                    let item = fixture::host_item("h-2", "story", Some("h-1"));
                    checked(engine.map_to_ado(fixture::INTEGRATION, &item).map(drop));
                    // A delivery without fields makes the webhook read the item from ADO.
                    let body = serde_json::json!({
                        "eventType": "workitem.created",
                        "resource": {"id": 2, "rev": 6},
                        "resourceContainers": {"project": {"id": fixture::PROJECT_ID}}
                    });
                    checked(
                        engine
                            .handle_webhook(&delivery(body.to_string().into_bytes()))
                            .map(drop),
                    );
                }
            }
        }
    }
}

pub fn sync_request(direction: SyncDirection) -> SyncRequest {
    let mut host_items: Vec<HostItem> = fixture::linked_items()
        .into_iter()
        .map(|(mut item, _, _)| {
            item.title.push_str(" (edited)");
            item
        })
        .collect();
    host_items.push(fixture::host_item("h-new", "story", Some("h-1")));
    SyncRequest {
        integration: fixture::INTEGRATION.into(),
        direction,
        ado_filter: AdoFilter {
            open_only: false,
            work_item_types: vec![],
            tags: vec![],
        },
        host_scope: HostScope::WholeWorkspace,
        host_items,
        dry_run: false,
        page_size: None,
        cursor: None,
    }
}
