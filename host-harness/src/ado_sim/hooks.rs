//! Service hooks: the event envelopes ADO would POST for work item changes, and the
//! `_apis/hooks/subscriptions` resource.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{list, AdoError, HandlerResult, Reply};
use super::render::{self, IdentityStyle, ItemView};
use super::routes::Ctx;
use super::state::{Project, Relation, Revision, SimState, Subscription, WorkItem};
use super::util::{fmt_date, guid, pct_encode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Created,
    Updated,
    Deleted,
    Restored,
}

impl EventKind {
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Created => "workitem.created",
            EventKind::Updated => "workitem.updated",
            EventKind::Deleted => "workitem.deleted",
            EventKind::Restored => "workitem.restored",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deleted => "deleted",
            EventKind::Restored => "restored",
        }
    }
}

/// Event types the `tfs` publisher offers for work items.
pub(crate) const EVENT_TYPES: &[&str] = &[
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
    "workitem.commented",
];

const MASK: &str = "********";

/// `{"oldValue","newValue"}` per changed field (identities as `"Name <email>"` unless `style`
/// says otherwise). `System.History` only shows when it was added in the new revision.
pub(crate) fn field_diff(
    state: &SimState,
    base: &str,
    old: Option<&Revision>,
    new: &Revision,
    style: IdentityStyle,
) -> Map<String, Value> {
    let mut out = Map::new();
    let empty = std::collections::BTreeMap::new();
    let old_fields = old.map(|o| &o.fields).unwrap_or(&empty);
    let mut keys: Vec<&String> = old_fields.keys().chain(new.fields.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let o = old_fields.get(k.as_str());
        let n = new.fields.get(k.as_str());
        if o == n || (k == "System.History" && n.is_none()) {
            continue;
        }
        let mut d = Map::new();
        if let Some(o) = o {
            d.insert(
                "oldValue".into(),
                render::field_value(state, base, k, o, style),
            );
        }
        if let Some(n) = n {
            d.insert(
                "newValue".into(),
                render::field_value(state, base, k, n, style),
            );
        }
        out.insert(k.clone(), Value::Object(d));
    }
    out
}

/// `{added, removed, updated}` between two revisions, or `None` when links did not change.
pub(crate) fn relation_diff(base: &str, old: Option<&Revision>, new: &Revision) -> Option<Value> {
    let old_rel: &[Relation] = old.map(|o| o.relations.as_slice()).unwrap_or(&[]);
    let added: Vec<Value> = new
        .relations
        .iter()
        .filter(|r| !old_rel.iter().any(|o| o.same_link(r)))
        .map(|r| render::relation_json(base, r))
        .collect();
    let removed: Vec<Value> = old_rel
        .iter()
        .filter(|o| !new.relations.iter().any(|r| r.same_link(o)))
        .map(|r| render::relation_json(base, r))
        .collect();
    let updated: Vec<Value> = new
        .relations
        .iter()
        .filter(|r| {
            old_rel
                .iter()
                .any(|o| o.same_link(r) && o.attributes != r.attributes)
        })
        .map(|r| render::relation_json(base, r))
        .collect();
    if added.is_empty() && removed.is_empty() && updated.is_empty() {
        return None;
    }
    let mut o = Map::new();
    for (k, v) in [("added", added), ("removed", removed), ("updated", updated)] {
        if !v.is_empty() {
            o.insert(k.into(), Value::Array(v));
        }
    }
    Some(Value::Object(o))
}

/// A WorkItemUpdate (`/updates` entry, and the `resource` of `workitem.updated`).
/// `index` is the 0-based revision index; `style` picks the identity form of field values.
pub(crate) fn update_json(
    state: &SimState,
    base: &str,
    item: &WorkItem,
    index: usize,
    style: IdentityStyle,
    with_revision: bool,
) -> Value {
    let new = &item.revisions[index];
    let old = index.checked_sub(1).and_then(|i| item.revisions.get(i));
    let number = index + 1;
    let url = format!("{}/updates/{number}", render::work_item_url(base, item.id));
    let by = new.str_field("System.ChangedBy");
    let revised_by = match state.identity_of_stored(by) {
        Some(i) => {
            let mut r = render::identity_ref(base, i);
            r["name"] = json!(i.distinct());
            r
        }
        None => Value::Null,
    };
    // The date this revision was superseded; the latest is open-ended.
    let revised_date = item
        .revisions
        .get(index + 1)
        .map(|n| n.str_field("System.ChangedDate").to_string())
        .unwrap_or_else(|| "9999-01-01T00:00:00Z".to_string());
    let mut o = Map::new();
    o.insert("id".into(), json!(number));
    o.insert("workItemId".into(), json!(item.id));
    o.insert("rev".into(), json!(new.rev()));
    o.insert("revisedBy".into(), revised_by);
    o.insert("revisedDate".into(), json!(revised_date));
    o.insert(
        "fields".into(),
        Value::Object(field_diff(state, base, old, new, style)),
    );
    if let Some(r) = relation_diff(base, old, new) {
        o.insert("relations".into(), r);
    }
    if with_revision {
        let mut rev = render::work_item_json(
            state,
            item,
            new,
            &ItemView {
                base,
                fields: None,
                relations: true,
                links: false,
                identities: IdentityStyle::Distinct,
            },
        );
        rev["url"] = json!(format!(
            "{}/revisions/{}",
            render::work_item_url(base, item.id),
            new.rev()
        ));
        o.insert("revision".into(), rev);
    }
    o.insert(
        "_links".into(),
        json!({
            "self": { "href": url },
            "parent": { "href": render::work_item_url(base, item.id) },
            "workItemUpdates": { "href": format!("{}/updates", render::work_item_url(base, item.id)) }
        }),
    );
    o.insert("url".into(), json!(url));
    Value::Object(o)
}

fn area_under(item_area: &str, filter: &str) -> bool {
    let f = filter.trim().trim_start_matches('\\').to_lowercase();
    let a = item_area.to_lowercase();
    f.is_empty() || a == f || a.starts_with(&format!("{f}\\"))
}

fn subscription_matches(
    s: &Subscription,
    event_type: &str,
    project: &Project,
    rev: &Revision,
    changed: &Map<String, Value>,
) -> bool {
    let get = |o: &str, k: &str| -> String {
        s.body
            .get(o)
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let et = s
        .body
        .get("eventType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let status = s
        .body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("enabled");
    if !et.eq_ignore_ascii_case(event_type) || !(status == "enabled" || status == "onProbation") {
        return false;
    }
    let pid = get("publisherInputs", "projectId");
    if !pid.is_empty()
        && !pid.eq_ignore_ascii_case(&project.id.to_string())
        && !pid.eq_ignore_ascii_case(&project.name)
    {
        return false;
    }
    let wit = get("publisherInputs", "workItemType");
    if !wit.is_empty() && !wit.eq_ignore_ascii_case(rev.str_field("System.WorkItemType")) {
        return false;
    }
    if !area_under(
        rev.str_field("System.AreaPath"),
        &get("publisherInputs", "areaPath"),
    ) {
        return false;
    }
    let cf = get("publisherInputs", "changedFields");
    if event_type == "workitem.updated" && !cf.trim().is_empty() {
        let wanted: Vec<String> = cf
            .split(',')
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty())
            .collect();
        if !changed.keys().any(|k| wanted.contains(&k.to_lowercase())) {
            return false;
        }
    }
    true
}

/// Records the service-hook payload(s) for a change that was just saved.
///
/// One envelope per matching active subscription (`enabled`/`onProbation`, filters applied).
/// When no subscription at all exists for the event type, one envelope without
/// `subscriptionId` is recorded so tests can replay it.
pub(crate) fn record(state: &mut SimState, kind: EventKind, id: i64, actor: &str) {
    let base = state.base(super::state::Deployment::Cloud);
    let Some(item) = state.items.get(&id) else {
        return;
    };
    let Some(project) = state.project_by_id(item.project) else {
        return;
    };
    let cur = item.current();
    let index = item.revisions.len() - 1;
    let resource = match kind {
        EventKind::Updated => update_json(state, &base, item, index, IdentityStyle::Distinct, true),
        EventKind::Created | EventKind::Restored => render::work_item_json(
            state,
            item,
            cur,
            &ItemView {
                base: &base,
                fields: None,
                relations: true,
                links: true,
                identities: IdentityStyle::Distinct,
            },
        ),
        EventKind::Deleted => {
            let bin = format!("{base}/_apis/wit/recyclebin/{id}");
            let mut v = render::work_item_json(
                state,
                item,
                cur,
                &ItemView {
                    base: &base,
                    fields: None,
                    relations: false,
                    links: false,
                    identities: IdentityStyle::Distinct,
                },
            );
            v["_links"] = json!({
                "self": { "href": bin },
                "workItemType": { "href": format!("{base}/{}/_apis/wit/workItemTypes/{}", project.id, pct_encode(cur.str_field("System.WorkItemType"))) },
                "fields": { "href": format!("{base}/_apis/wit/fields") }
            });
            v["url"] = json!(bin);
            v
        }
    };
    let changed = match kind {
        EventKind::Updated => field_diff(
            state,
            &base,
            index.checked_sub(1).and_then(|i| item.revisions.get(i)),
            cur,
            IdentityStyle::Distinct,
        ),
        _ => Map::new(),
    };
    let who = state
        .identity_of_stored(actor)
        .map(|i| i.display.clone())
        .unwrap_or_else(|| actor.to_string());
    let title = cur.str_field("System.Title");
    let wtype = cur.str_field("System.WorkItemType");
    let html_url = format!("{base}/{}/_workitems/edit/{id}", pct_encode(&project.name));
    let head_text = format!("{wtype} #{id} ({title}) {} by {who}.", kind.verb());
    let link_text = if kind == EventKind::Deleted {
        head_text.clone()
    } else {
        format!("{head_text}\r\n({html_url})")
    };
    let head_html = format!(
        "<a href=\"{html_url}\">{wtype} #{id}</a> ({}) {} by {}.",
        html_escape(title),
        kind.verb(),
        html_escape(&who)
    );
    let head_md = format!(
        "[{wtype} #{id}]({html_url}) ({title}) {} by {who}.",
        kind.verb()
    );
    let details: Vec<String> = match kind {
        EventKind::Updated => changed
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "System.State"
                        | "System.AssignedTo"
                        | "System.Title"
                        | "System.IterationPath"
                        | "System.AreaPath"
                )
            })
            .map(|(k, v)| {
                let label = super::process::field(k)
                    .map(|f| f.name)
                    .unwrap_or(k.as_str());
                let nv = v
                    .get("newValue")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                format!("New {label}: {nv}")
            })
            .collect(),
        _ => vec![
            format!("Area: {}", cur.str_field("System.AreaPath")),
            format!("Iteration: {}", cur.str_field("System.IterationPath")),
            format!("State: {}", cur.str_field("System.State")),
        ],
    };
    let detailed = json!({
        "text": format!("{link_text}\r\n\r\n{}", details.iter().map(|d| format!("- {d}\r\n")).collect::<String>()),
        "html": format!("{head_html}<ul>\r\n{}</ul>", details.iter().map(|d| format!("<li>{}</li>", html_escape(d))).collect::<String>()),
        "markdown": format!("{head_md}\r\n\r\n{}", details.iter().map(|d| format!("* {d}\r\n")).collect::<String>())
    });
    let container =
        |id: Uuid, url: &str| json!({ "id": id.to_string(), "baseUrl": format!("{url}/") });
    let envelope = json!({
        "id": Uuid::new_v4().to_string(),
        "eventType": kind.event_type(),
        "publisherId": "tfs",
        "scope": "all",
        "message": { "text": link_text, "html": head_html, "markdown": head_md },
        "detailedMessage": detailed,
        "resource": resource,
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": container(state.collection_id, &base),
            "account": container(state.account_id, &base),
            "project": container(project.id, &base)
        },
        "createdDate": fmt_date(state.clock.peek())
    });
    let event_type = kind.event_type();
    let any_for_type = state.subscriptions.iter().any(|s| {
        s.body
            .get("eventType")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case(event_type))
    });
    let targets: Vec<(Uuid, Map<String, Value>)> = state
        .subscriptions
        .iter()
        .filter(|s| subscription_matches(s, event_type, project, cur, &changed))
        .map(|s| {
            (
                s.id,
                s.body
                    .get("consumerInputs")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    if !any_for_type {
        let mut e = envelope;
        e["notificationId"] = json!(state.next_notification);
        state.next_notification += 1;
        state.events.push(e);
        return;
    }
    for (sid, consumer) in targets {
        let mut e = envelope.clone();
        if let Some(o) = e.as_object_mut() {
            // Envelope field order as deliveries show it: subscription first.
            let mut ordered = Map::new();
            ordered.insert("subscriptionId".into(), json!(sid.to_string()));
            ordered.insert("notificationId".into(), json!(state.next_notification));
            for (k, v) in o.iter() {
                ordered.insert(k.clone(), v.clone());
            }
            *o = ordered;
        }
        state.next_notification += 1;
        let opt = |k: &str| {
            consumer
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase()
        };
        if opt("messagesToSend") == "none" {
            if let Some(o) = e.as_object_mut() {
                o.remove("message");
            }
        }
        if opt("detailedMessagesToSend") == "none" {
            if let Some(o) = e.as_object_mut() {
                o.remove("detailedMessage");
            }
        }
        match opt("resourceDetailsToSend").as_str() {
            "minimal" => {
                let r = &e["resource"];
                let mut m = Map::new();
                for k in ["id", "workItemId", "rev", "url"] {
                    if let Some(v) = r.get(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
                e["resource"] = Value::Object(m);
            }
            "none" => {
                if let Some(o) = e.as_object_mut() {
                    o.remove("resource");
                }
            }
            _ => {}
        }
        state.events.push(e);
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---- subscriptions REST -----------------------------------------------------------------

fn masked(s: &Subscription, base: &str) -> Value {
    let mut body = s.body.clone();
    if let Some(ci) = body
        .get_mut("consumerInputs")
        .and_then(Value::as_object_mut)
    {
        if ci
            .get("basicAuthPassword")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
        {
            ci.insert("basicAuthPassword".into(), json!(MASK));
        }
        if let Some(h) = ci.get("httpHeaders").and_then(Value::as_str) {
            let m: Vec<String> = h
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| match l.split_once(':') {
                    Some((k, _)) => format!("{k}:{MASK}"),
                    None => l.to_string(),
                })
                .collect();
            ci.insert("httpHeaders".into(), json!(m.join("\n")));
        }
    }
    body.insert(
        "url".into(),
        json!(format!("{base}/_apis/hooks/subscriptions/{}", s.id)),
    );
    Value::Object(body)
}

pub(crate) fn subscription_view(state: &SimState, s: &Subscription) -> Value {
    masked(s, &state.base(super::state::Deployment::Cloud))
}

fn validate(body: &Map<String, Value>) -> Result<(), AdoError> {
    let get = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let bad = |m: String| AdoError::bad_request("SubscriptionInputException", m);
    if get("publisherId") != "tfs" {
        return Err(bad(format!(
            "VS1050002: The publisher '{}' does not exist.",
            get("publisherId")
        )));
    }
    if !EVENT_TYPES.contains(&get("eventType")) {
        return Err(bad(format!(
            "VS1050003: The event type '{}' is not supported by the publisher 'tfs'.",
            get("eventType")
        )));
    }
    if get("consumerId") != "webHooks" || get("consumerActionId") != "httpRequest" {
        return Err(bad(format!(
            "VS1050004: The consumer '{}' / action '{}' does not exist.",
            get("consumerId"),
            get("consumerActionId")
        )));
    }
    let url = body
        .get("consumerInputs")
        .and_then(|c| c.get("url"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad(
            "VS1050005: The consumer input 'url' is required and must be an absolute HTTP(S) URL."
                .into(),
        ));
    }
    Ok(())
}

fn creator(state: &SimState, actor: &str) -> Value {
    match state.identity_of_stored(actor) {
        Some(i) => {
            json!({ "id": i.id.to_string(), "displayName": i.display, "uniqueName": i.unique })
        }
        None => json!({ "id": Uuid::nil().to_string() }),
    }
}

fn find_sub(state: &SimState, id: &str) -> Result<usize, AdoError> {
    state
        .subscriptions
        .iter()
        .position(|s| s.id.to_string().eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            AdoError::not_found(
                "SubscriptionNotFoundException",
                format!("VS1050010: The subscription '{id}' does not exist."),
            )
        })
}

pub(crate) fn handle_subscriptions(
    state: &mut SimState,
    ctx: &Ctx,
    rest: &[String],
) -> HandlerResult {
    let base = ctx.base.clone();
    match (ctx.method.as_str(), rest) {
        ("GET", []) => {
            let filters: Vec<(&str, String)> =
                ["publisherId", "eventType", "consumerId", "consumerActionId"]
                    .iter()
                    .filter_map(|k| ctx.q(k).map(|v| (*k, v.to_string())))
                    .collect();
            let values = state
                .subscriptions
                .iter()
                .filter(|s| {
                    filters.iter().all(|(k, v)| {
                        s.body
                            .get(*k)
                            .and_then(Value::as_str)
                            .is_some_and(|x| x.eq_ignore_ascii_case(v))
                    })
                })
                .map(|s| masked(s, &base))
                .collect();
            Ok(Reply::ok(list(values)))
        }
        ("POST", []) => {
            if !ctx.can_write {
                return Err(AdoError::new(
                    403,
                    "UnauthorizedRequestException",
                    "TF400813: The user is not authorized to access this resource. Creating service hook subscriptions requires project collection administrator permissions.",
                ));
            }
            let body = ctx.json_body()?;
            let mut body = body.as_object().cloned().ok_or_else(|| {
                AdoError::bad_request(
                    "SubscriptionInputException",
                    "VS1050001: The subscription body must be a JSON object.",
                )
            })?;
            validate(&body)?;
            state.sub_counter += 1;
            let id = guid(&format!("subscription:{}", state.sub_counter));
            let now = state.now_string();
            let who = creator(state, &ctx.actor_distinct);
            let pi = body.entry("publisherInputs").or_insert_with(|| json!({}));
            if let Some(pi) = pi.as_object_mut() {
                pi.insert(
                    "tfsSubscriptionId".into(),
                    json!(guid(&format!("tfs-subscription:{id}")).to_string()),
                );
                pi.insert("hostId".into(), json!(state.collection_id.to_string()));
            }
            let event = body
                .get("eventType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let url = body
                .get("consumerInputs")
                .and_then(|c| c.get("url"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            body.insert("id".into(), json!(id.to_string()));
            body.insert("status".into(), json!("enabled"));
            body.entry("resourceVersion").or_insert(json!("1.0"));
            body.insert(
                "eventDescription".into(),
                json!(format!("Any work item ({event})")),
            );
            body.insert(
                "actionDescription".into(),
                json!(format!("To host {}", url_host(&url))),
            );
            body.insert("createdBy".into(), who.clone());
            body.insert("createdDate".into(), json!(now));
            body.insert("modifiedBy".into(), who);
            body.insert("modifiedDate".into(), json!(now));
            body.insert("probationRetries".into(), json!(0));
            let sub = Subscription { id, body };
            let view = masked(&sub, &base);
            state.subscriptions.push(sub);
            Ok(Reply::ok(view))
        }
        ("GET", [id]) => {
            let i = find_sub(state, id)?;
            Ok(Reply::ok(masked(&state.subscriptions[i], &base)))
        }
        ("PUT", [id]) => {
            if !ctx.can_write {
                return Err(AdoError::read_only());
            }
            let i = find_sub(state, id)?;
            let body = ctx.json_body()?;
            let incoming = body.as_object().cloned().ok_or_else(|| {
                AdoError::bad_request(
                    "SubscriptionInputException",
                    "VS1050001: The subscription body must be a JSON object.",
                )
            })?;
            let mut merged = state.subscriptions[i].body.clone();
            for (k, v) in incoming {
                if matches!(k.as_str(), "id" | "createdBy" | "createdDate" | "url") {
                    continue;
                }
                if k == "consumerInputs" {
                    let old = merged
                        .get("consumerInputs")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    let mut ci = v.as_object().cloned().unwrap_or_default();
                    if ci.get("basicAuthPassword").and_then(Value::as_str) == Some(MASK) {
                        if let Some(p) = old.get("basicAuthPassword") {
                            ci.insert("basicAuthPassword".into(), p.clone());
                        }
                    }
                    if ci
                        .get("httpHeaders")
                        .and_then(Value::as_str)
                        .is_some_and(|h| h.contains(MASK))
                    {
                        if let Some(h) = old.get("httpHeaders") {
                            ci.insert("httpHeaders".into(), h.clone());
                        }
                    }
                    merged.insert(k, Value::Object(ci));
                    continue;
                }
                if k == "publisherInputs" {
                    let old = merged
                        .get("publisherInputs")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    let mut pi = v.as_object().cloned().unwrap_or_default();
                    for keep in ["tfsSubscriptionId", "hostId"] {
                        if let Some(x) = old.get(keep) {
                            pi.insert(keep.into(), x.clone());
                        }
                    }
                    merged.insert(k, Value::Object(pi));
                    continue;
                }
                merged.insert(k, v);
            }
            validate(&merged)?;
            let now = state.now_string();
            merged.insert("modifiedDate".into(), json!(now));
            merged.insert("modifiedBy".into(), creator(state, &ctx.actor_distinct));
            state.subscriptions[i].body = merged;
            Ok(Reply::ok(masked(&state.subscriptions[i], &base)))
        }
        ("DELETE", [id]) => {
            if !ctx.can_write {
                return Err(AdoError::read_only());
            }
            let i = find_sub(state, id)?;
            state.subscriptions.remove(i);
            Ok(Reply::no_content())
        }
        _ => Err(AdoError::no_route(&ctx.raw_path)),
    }
}

fn url_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}
