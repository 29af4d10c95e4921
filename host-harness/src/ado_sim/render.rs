//! JSON rendering of the data model in the REST API's shapes.

use serde_json::{json, Map, Value};

use super::process::{self, FieldDef, FieldKind, WitType};
use super::state::{Identity, Node, Project, RelTarget, Relation, Revision, SimState, WorkItem};
use super::util::{fmt_day, pct_encode};

/// How identity fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityStyle {
    /// IdentityRef objects (REST 5.0+).
    Ref,
    /// `"Name <email>"` strings (webhook samples).
    Distinct,
}

/// Which parts of a work item to render.
#[derive(Debug, Clone)]
pub(crate) struct ItemView<'a> {
    pub base: &'a str,
    pub fields: Option<&'a [String]>,
    pub relations: bool,
    pub links: bool,
    pub identities: IdentityStyle,
}

impl<'a> ItemView<'a> {
    pub fn full(base: &'a str) -> Self {
        ItemView {
            base,
            fields: None,
            relations: true,
            links: true,
            identities: IdentityStyle::Ref,
        }
    }
}

pub(crate) fn identity_ref(base: &str, i: &Identity) -> Value {
    json!({
        "displayName": i.display,
        "url": format!("{base}/_apis/Identities/{}", i.id),
        "_links": { "avatar": { "href": format!("{base}/_apis/GraphProfile/MemberAvatars/{}", i.descriptor) } },
        "id": i.id.to_string(),
        "uniqueName": i.unique,
        "imageUrl": format!("{base}/_api/_common/identityImage?id={}", i.id),
        "descriptor": i.descriptor
    })
}

pub(crate) fn work_item_url(base: &str, id: i64) -> String {
    format!("{base}/_apis/wit/workItems/{id}")
}

pub(crate) fn relation_json(base: &str, r: &Relation) -> Value {
    let url = match &r.target {
        RelTarget::Item(id) => work_item_url(base, *id),
        RelTarget::Url(u) => u.clone(),
    };
    json!({ "rel": r.rel, "url": url, "attributes": Value::Object(r.attributes.clone()) })
}

/// Renders one field value for output.
pub(crate) fn field_value(
    state: &SimState,
    base: &str,
    name: &str,
    v: &Value,
    style: IdentityStyle,
) -> Value {
    let is_identity = process::field(name).is_some_and(|f| f.kind == FieldKind::Identity);
    if is_identity && style == IdentityStyle::Ref {
        if let Some(i) = v.as_str().and_then(|s| state.identity_of_stored(s)) {
            return identity_ref(base, i);
        }
    }
    v.clone()
}

pub(crate) fn fields_json(
    state: &SimState,
    base: &str,
    rev: &Revision,
    only: Option<&[String]>,
    style: IdentityStyle,
) -> Value {
    let mut out = Map::new();
    match only {
        Some(list) => {
            for want in list {
                let canonical = process::field(want).map(|f| f.ref_name.to_string());
                let key = canonical.unwrap_or_else(|| want.clone());
                if let Some(v) = rev.fields.get(&key) {
                    out.insert(key.clone(), field_value(state, base, &key, v, style));
                }
            }
        }
        None => {
            for (k, v) in &rev.fields {
                out.insert(k.clone(), field_value(state, base, k, v, style));
            }
        }
    }
    Value::Object(out)
}

pub(crate) fn item_links(state: &SimState, base: &str, item: &WorkItem, rev: &Revision) -> Value {
    let id = item.id;
    let project = state.project_by_id(item.project);
    let pid = project.map(|p| p.id.to_string()).unwrap_or_default();
    let pname = project.map(|p| p.name.clone()).unwrap_or_default();
    let url = work_item_url(base, id);
    json!({
        "self": { "href": url },
        "workItemUpdates": { "href": format!("{url}/updates") },
        "workItemRevisions": { "href": format!("{url}/revisions") },
        "workItemComments": { "href": format!("{url}/comments") },
        "html": { "href": format!("{base}/{}/_workitems/edit/{id}", pct_encode(&pname)) },
        "workItemType": { "href": format!("{base}/{pid}/_apis/wit/workItemTypes/{}", pct_encode(rev.str_field("System.WorkItemType"))) },
        "fields": { "href": format!("{base}/_apis/wit/fields") }
    })
}

/// A work item (at a given revision) in the REST shape.
pub(crate) fn work_item_json(
    state: &SimState,
    item: &WorkItem,
    rev: &Revision,
    view: &ItemView,
) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(item.id));
    o.insert("rev".into(), json!(rev.rev()));
    o.insert(
        "fields".into(),
        fields_json(state, view.base, rev, view.fields, view.identities),
    );
    if view.relations && !rev.relations.is_empty() {
        o.insert(
            "relations".into(),
            Value::Array(
                rev.relations
                    .iter()
                    .map(|r| relation_json(view.base, r))
                    .collect(),
            ),
        );
    }
    if view.links && view.fields.is_none() {
        o.insert("_links".into(), item_links(state, view.base, item, rev));
    }
    o.insert("url".into(), json!(work_item_url(view.base, item.id)));
    Value::Object(o)
}

// ---- metadata --------------------------------------------------------------------------

pub(crate) fn field_def_json(base: &str, f: &FieldDef) -> Value {
    let ops: &[(&str, &str)] = match f.kind {
        FieldKind::TreePath => &[
            ("SupportedOperations.Under", "Under"),
            ("SupportedOperations.NotUnder", "Not Under"),
            ("SupportedOperations.Equals", "="),
            ("SupportedOperations.NotEquals", "<>"),
            ("SupportedOperations.In", "In"),
        ],
        FieldKind::Html | FieldKind::History | FieldKind::PlainText => &[
            ("SupportedOperations.Contains", "Contains"),
            ("SupportedOperations.NotContains", "Does Not Contain"),
            ("SupportedOperations.ContainsWords", "Contains Words"),
        ],
        _ => &[
            ("SupportedOperations.Equals", "="),
            ("SupportedOperations.NotEquals", "<>"),
            ("SupportedOperations.GreaterThan", ">"),
            ("SupportedOperations.LessThan", "<"),
            ("SupportedOperations.GreaterThanEquals", ">="),
            ("SupportedOperations.LessThanEquals", "<="),
            ("SupportedOperations.In", "In"),
            ("SupportedOperations.NotIn", "Not In"),
        ],
    };
    let mut o = json!({
        "name": f.name,
        "referenceName": f.ref_name,
        "description": f.help,
        "type": f.kind.api_name(),
        "usage": "workItem",
        "readOnly": f.read_only,
        "canSortBy": !matches!(f.kind, FieldKind::Html | FieldKind::History | FieldKind::PlainText),
        "isQueryable": true,
        "supportedOperations": ops.iter().map(|(r, n)| json!({"referenceName": r, "name": n})).collect::<Vec<_>>(),
        "isIdentity": f.kind == FieldKind::Identity,
        "isPicklist": f.is_picklist(),
        "isPicklistSuggested": false,
        "url": format!("{base}/_apis/wit/fields/{}", f.ref_name)
    });
    if f.is_picklist() {
        o["picklistId"] = json!(super::util::guid(&format!("picklist:{}", f.ref_name)).to_string());
    }
    o
}

fn field_ref_json(base: &str, f: &FieldDef) -> Value {
    json!({
        "referenceName": f.ref_name,
        "name": f.name,
        "url": format!("{base}/_apis/wit/fields/{}", f.ref_name)
    })
}

fn dependent_fields(base: &str, ref_name: &str) -> Vec<Value> {
    let deps: &[&str] = match ref_name {
        "System.AreaPath" => &["System.AreaId"],
        "System.IterationPath" => &["System.IterationId"],
        "System.AreaId" => &["System.AreaPath"],
        "System.IterationId" => &["System.IterationPath"],
        "System.State" => &["System.Reason"],
        "System.AssignedTo" => &["System.ChangedBy"],
        _ => &[],
    };
    deps.iter()
        .filter_map(|d| process::field(d))
        .map(|f| field_ref_json(base, f))
        .collect()
}

/// A field of a work item type (`…/workitemtypes/{type}/fields`).
pub(crate) fn type_field_json(
    state: &SimState,
    base: &str,
    t: &WitType,
    f: &FieldDef,
    expand: bool,
) -> Value {
    let mut o = json!({
        "alwaysRequired": t.always_required(f.ref_name),
        "referenceName": f.ref_name,
        "name": f.name,
        "url": format!("{base}/_apis/wit/fields/{}", f.ref_name)
    });
    if !f.help.is_empty() {
        o["helpText"] = json!(f.help);
    }
    if expand {
        let default = t.default_value(f.ref_name).map(|d| {
            if f.kind == FieldKind::Integer {
                d.parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| json!(d))
            } else {
                json!(d)
            }
        });
        o["defaultValue"] = default.unwrap_or(Value::Null);
        let allowed: Vec<Value> = match f.ref_name {
            "System.State" => t.states.iter().map(|s| json!(s.name)).collect(),
            "System.AssignedTo" => state
                .identities
                .iter()
                .map(|i| {
                    json!({"displayName": i.display, "id": i.id.to_string(), "uniqueName": i.unique, "descriptor": i.descriptor})
                })
                .collect(),
            _ if f.kind == FieldKind::Integer => f
                .allowed
                .iter()
                .map(|a| a.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(a)))
                .collect(),
            _ => f.allowed.iter().map(|a| json!(a)).collect(),
        };
        o["allowedValues"] = Value::Array(allowed);
        o["dependentFields"] = Value::Array(dependent_fields(base, f.ref_name));
    }
    o
}

pub(crate) fn type_fields(t: &WitType) -> Vec<&'static FieldDef> {
    t.fields.iter().filter_map(|r| process::field(r)).collect()
}

pub(crate) fn wit_type_json(state: &SimState, base: &str, p: &Project, t: &WitType) -> Value {
    let instances: Vec<Value> = type_fields(t)
        .into_iter()
        .map(|f| type_field_json(state, base, t, f, false))
        .collect();
    let mut transitions = Map::new();
    transitions.insert(
        String::new(),
        json!([{ "to": t.initial_state(), "actions": null }]),
    );
    for s in &t.states {
        let mut to = vec![json!({"to": s.name, "actions": null})];
        for o in &t.states {
            if o.name != s.name {
                to.push(json!({"to": o.name, "actions": null}));
            }
        }
        transitions.insert(s.name.to_string(), Value::Array(to));
    }
    let url = format!(
        "{base}/{}/_apis/wit/workItemTypes/{}",
        p.id,
        pct_encode(t.name)
    );
    json!({
        "name": t.name,
        "referenceName": t.ref_name,
        "description": t.description,
        "color": t.color,
        "icon": { "id": t.icon, "url": format!("{base}/_apis/wit/workItemIcons/{}?color={}&v=2", t.icon, t.color) },
        "isDisabled": false,
        "fields": instances.clone(),
        "fieldInstances": instances,
        "states": t.states.iter().map(state_json).collect::<Vec<_>>(),
        "transitions": Value::Object(transitions),
        "_links": { "self": { "href": url } },
        "url": url
    })
}

pub(crate) fn state_json(s: &process::StateDef) -> Value {
    json!({ "name": s.name, "color": s.color, "category": s.category })
}

// ---- classification nodes ---------------------------------------------------------------

pub(crate) fn node_url(base: &str, p: &Project, iterations: bool, rel: &[String]) -> String {
    let mut url = format!(
        "{base}/{}/_apis/wit/classificationNodes/{}",
        p.id,
        if iterations { "Iterations" } else { "Areas" }
    );
    for r in rel {
        url.push('/');
        url.push_str(&pct_encode(r));
    }
    url
}

/// A classification node with `depth` levels of children. `rel` is the path below the root.
pub(crate) fn node_json(
    base: &str,
    p: &Project,
    iterations: bool,
    rel: &[String],
    n: &Node,
    depth: u32,
    with_links: bool,
) -> Value {
    let structure = if iterations { "Iteration" } else { "Area" };
    let mut path = format!("\\{}\\{structure}", p.name);
    for r in rel {
        path.push('\\');
        path.push_str(r);
    }
    let url = node_url(base, p, iterations, rel);
    let mut o = Map::new();
    o.insert("id".into(), json!(n.id));
    o.insert("identifier".into(), json!(n.identifier.to_string()));
    o.insert("name".into(), json!(n.name));
    o.insert(
        "structureType".into(),
        json!(if iterations { "iteration" } else { "area" }),
    );
    o.insert("hasChildren".into(), json!(!n.children.is_empty()));
    o.insert("path".into(), json!(path));
    if n.start.is_some() || n.finish.is_some() {
        o.insert(
            "attributes".into(),
            json!({
                "startDate": n.start.map(fmt_day),
                "finishDate": n.finish.map(fmt_day)
            }),
        );
    }
    if depth > 0 && !n.children.is_empty() {
        let kids: Vec<Value> = n
            .children
            .iter()
            .map(|c| {
                let mut r = rel.to_vec();
                r.push(c.name.clone());
                node_json(base, p, iterations, &r, c, depth - 1, false)
            })
            .collect();
        o.insert("children".into(), Value::Array(kids));
    }
    if with_links {
        let mut links = json!({ "self": { "href": url } });
        if !rel.is_empty() {
            links["parent"] =
                json!({ "href": node_url(base, p, iterations, &rel[..rel.len() - 1]) });
        }
        o.insert("_links".into(), links);
    }
    o.insert("url".into(), json!(url));
    Value::Object(o)
}
