//! JSON Patch application for work item create/update: validation into a [`Plan`]
//! (nothing changes), then [`apply`] (saves every touched item and records events).
//!
//! The whole patch is atomic: any error leaves every work item untouched.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::AdoError;
use super::hooks::{self, EventKind};
use super::process::{self, default_reason, FieldDef, FieldKind, WitType};
use super::state::{RelTarget, Relation, Revision, SimState, WorkItem, HIER_FORWARD, HIER_REVERSE};
use super::util::{fmt_date, join_tags, json_as_f64, json_as_i64, parse_instant, split_tags};

/// Work-item link types: (reference name, display name, opposite end).
pub(crate) const LINK_TYPES: &[(&str, &str, &str)] = &[
    (HIER_FORWARD, "Child", HIER_REVERSE),
    (HIER_REVERSE, "Parent", HIER_FORWARD),
    (
        "System.LinkTypes.Related",
        "Related",
        "System.LinkTypes.Related",
    ),
    (
        "System.LinkTypes.Dependency-Forward",
        "Successor",
        "System.LinkTypes.Dependency-Reverse",
    ),
    (
        "System.LinkTypes.Dependency-Reverse",
        "Predecessor",
        "System.LinkTypes.Dependency-Forward",
    ),
    (
        "System.LinkTypes.Duplicate-Forward",
        "Duplicate",
        "System.LinkTypes.Duplicate-Reverse",
    ),
    (
        "System.LinkTypes.Duplicate-Reverse",
        "Duplicate Of",
        "System.LinkTypes.Duplicate-Forward",
    ),
];

/// Resource links whose url is not a work item.
pub(crate) const RESOURCE_LINKS: &[&str] = &["Hyperlink", "ArtifactLink", "AttachedFile"];

/// Fields `bypassRules=true` lets a caller write although they are read-only.
const BYPASS_WRITABLE: &[&str] = &[
    "System.CreatedDate",
    "System.CreatedBy",
    "System.ChangedDate",
    "System.ChangedBy",
];

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PatchOptions {
    pub bypass_rules: bool,
}

/// What is being patched.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Create { project: Uuid, type_name: String },
    Update { id: i64 },
}

/// A change planned on the far end of a work-item link.
#[derive(Debug, Clone)]
pub(crate) enum MirrorEdit {
    Add {
        other: i64,
        rel: String,
        attributes: Map<String, Value>,
    },
    Remove {
        other: i64,
        rel: String,
    },
    SetAttr {
        other: i64,
        rel: String,
        key: String,
        value: Option<Value>,
    },
}

impl MirrorEdit {
    fn other(&self) -> i64 {
        match self {
            MirrorEdit::Add { other, .. }
            | MirrorEdit::Remove { other, .. }
            | MirrorEdit::SetAttr { other, .. } => *other,
        }
    }
}

/// A validated change, ready to save.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub target: Target,
    pub project: Uuid,
    pub fields: BTreeMap<String, Value>,
    pub relations: Vec<Relation>,
    pub mirrors: Vec<MirrorEdit>,
    pub state_changed: bool,
    pub history_added: bool,
    /// Fields the caller set explicitly through bypassRules (not overwritten by stamping).
    pub bypassed: Vec<String>,
}

fn invalid_patch(msg: impl Into<String>) -> AdoError {
    AdoError::bad_request("JsonPatchOperationException", msg)
}

fn rule_error(f: &FieldDef, codes: &str) -> AdoError {
    AdoError::bad_request(
        "RuleValidationException",
        format!(
            "TF401320: Rule Error for field {}. Error code: {codes}.",
            f.name
        ),
    )
}

pub(crate) fn canonical_link(rel: &str) -> Option<(&'static str, &'static str, &'static str)> {
    LINK_TYPES
        .iter()
        .copied()
        .find(|(r, _, _)| r.eq_ignore_ascii_case(rel.trim()))
}

/// Parses the work item id at the end of a relation url (`…/_apis/wit/workItems/12`).
pub(crate) fn id_from_url(url: &str) -> Option<i64> {
    let lower = url.to_lowercase();
    let pos = lower.rfind("/workitems/")?;
    let tail = &url[pos + "/workitems/".len()..];
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Converts a JSON value written to a field into its stored form (`None` = clear).
fn convert(
    state: &SimState,
    project_name: &str,
    f: &FieldDef,
    v: &Value,
    bypass: bool,
) -> Result<Option<Value>, AdoError> {
    if v.is_null() || v.as_str().is_some_and(|s| s.is_empty()) {
        return Ok(None);
    }
    let bad = || {
        AdoError::bad_request(
            "WorkItemFieldInvalidException",
            format!(
                "VS402625: The value '{}' is not valid for field '{}' of type '{}'.",
                match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                f.ref_name,
                f.kind.api_name()
            ),
        )
    };
    let out = match f.kind {
        FieldKind::Integer => Value::from(json_as_i64(v).ok_or_else(bad)?),
        FieldKind::Double => {
            let n = json_as_f64(v).ok_or_else(bad)?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        FieldKind::Boolean => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(bad()),
        },
        FieldKind::DateTime => {
            let s = v.as_str().ok_or_else(bad)?;
            Value::String(fmt_date(parse_instant(s).ok_or_else(bad)?))
        }
        FieldKind::Identity => {
            let i = state.resolve_identity(v).ok_or_else(|| {
                if bypass {
                    bad()
                } else {
                    rule_error(f, "HasValues, LimitedToValues, ValidIdentity")
                }
            })?;
            Value::String(i.distinct())
        }
        FieldKind::TreePath => {
            let s = v.as_str().ok_or_else(bad)?;
            let p = state.project(project_name).ok_or_else(bad)?;
            let iterations = f.ref_name == "System.IterationPath";
            let (canonical, _) = p.tree_path(iterations, s).ok_or_else(|| {
                AdoError::bad_request(
                    "WorkItemFieldInvalidTreeNameException",
                    format!(
                        "TF401347: Invalid tree name given for work item -1, field '{}'.",
                        f.ref_name
                    ),
                )
            })?;
            Value::String(canonical)
        }
        _ => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(bad()),
            };
            if f.kind == FieldKind::String && s.chars().count() > 255 {
                return Err(rule_error(f, "InvalidTooLong"));
            }
            if !f.allowed.is_empty() && !bypass {
                let canon = f
                    .allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(s.trim()))
                    .ok_or_else(|| rule_error(f, "LimitedToValues"))?;
                Value::String((*canon).to_string())
            } else {
                Value::String(s)
            }
        }
    };
    if f.kind == FieldKind::Integer && !f.allowed.is_empty() && !bypass {
        let s = out.to_string();
        if !f.allowed.contains(&s.as_str()) {
            return Err(rule_error(f, "LimitedToValues"));
        }
    }
    Ok(Some(out))
}

fn attr_map(v: Option<&Value>) -> Result<Map<String, Value>, AdoError> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(invalid_patch(
            "VS403434: Relation attributes must be an object.",
        )),
    }
}

fn ancestors(state: &SimState, id: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cur = id;
    while let Some(p) = state.items.get(&cur).and_then(|w| w.current().parent()) {
        if out.contains(&p) || p == id {
            break;
        }
        out.push(p);
        cur = p;
    }
    out
}

/// Validates `ops` against the current state and returns what would be saved.
pub(crate) fn plan(
    state: &SimState,
    target: Target,
    ops: &Value,
    opts: PatchOptions,
) -> Result<Plan, AdoError> {
    let ops = ops.as_array().ok_or_else(|| {
        invalid_patch(
            "VS403436: The request body must be a JSON Patch document (an array of operations).",
        )
    })?;
    let (project_id, mut fields, mut relations, self_id, cur_rev) = match &target {
        Target::Create { project, .. } => (*project, BTreeMap::new(), Vec::new(), None, 0),
        Target::Update { id } => {
            let w = state
                .live(*id)
                .ok_or_else(|| AdoError::work_item_missing(*id))?;
            let cur = w.current();
            let mut fields = cur.fields.clone();
            fields.remove("System.History");
            (
                w.project,
                fields,
                cur.relations.clone(),
                Some(*id),
                cur.rev(),
            )
        }
    };
    let project = state
        .project_by_id(project_id)
        .ok_or_else(|| AdoError::project_missing(&project_id.to_string()))?;
    let type_name = match &target {
        Target::Create { type_name, .. } => type_name.clone(),
        Target::Update { .. } => fields
            .get("System.WorkItemType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    let wtype: &WitType = project.wit_type(&type_name).ok_or_else(|| {
        AdoError::not_found(
            "WorkItemTypeNotFoundException",
            format!(
                "VS402323: Work item type {type_name} does not exist in project {}.",
                project.name
            ),
        )
    })?;
    let old_state = fields
        .get("System.State")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut explicit_reason = false;
    let mut history_added = false;
    let mut mirrors: Vec<MirrorEdit> = Vec::new();
    let mut bypassed = Vec::new();

    for op in ops {
        let o = op.as_object().ok_or_else(|| {
            invalid_patch("VS403437: Each JSON Patch operation must be an object.")
        })?;
        let kind = o
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        let path = o.get("path").and_then(Value::as_str).ok_or_else(|| {
            invalid_patch("VS403438: A JSON Patch operation is missing its path.")
        })?;
        let value = o.get("value");
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (kind.as_str(), segs.as_slice()) {
            ("test", ["rev"]) => {
                let want = value.and_then(json_as_i64);
                if self_id.is_some() && want != Some(cur_rev) {
                    return Err(AdoError::new(
                        412,
                        "WorkItemRevisionMismatchException",
                        format!(
                            "TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes. (Expected revision {}, current revision {cur_rev}.)",
                            value.map(Value::to_string).unwrap_or_default()
                        ),
                    ));
                }
            }
            ("test", ["id"]) => {}
            ("test", ["fields", name]) => {
                let f = process::field(name).ok_or_else(|| field_missing(name))?;
                let cur = fields.get(f.ref_name).cloned().unwrap_or(Value::Null);
                let want = value.cloned().unwrap_or(Value::Null);
                let same = match (&cur, &want) {
                    (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                    (a, b) => {
                        a == b
                            || json_as_f64(a)
                                .zip(json_as_f64(b))
                                .is_some_and(|(x, y)| x == y)
                    }
                };
                if !same {
                    return Err(AdoError::new(
                        412,
                        "WorkItemRevisionMismatchException",
                        format!(
                            "TF26071: The test operation on field {} failed.",
                            f.ref_name
                        ),
                    ));
                }
            }
            ("add" | "replace" | "remove", ["fields", name]) => {
                let f = process::field(name).ok_or_else(|| field_missing(name))?;
                if !wtype.has_field(f.ref_name) {
                    return Err(field_missing(name));
                }
                if f.read_only {
                    if opts.bypass_rules && BYPASS_WRITABLE.contains(&f.ref_name) {
                        bypassed.push(f.ref_name.to_string());
                    } else {
                        return Err(AdoError::bad_request(
                            "WorkItemFieldReadOnlyException",
                            format!(
                                "TF401326: Invalid field status 'ReadOnly' for field '{}'.",
                                f.ref_name
                            ),
                        ));
                    }
                }
                let new_val = if kind == "remove" {
                    None
                } else {
                    let v = value.ok_or_else(|| {
                        invalid_patch(format!(
                            "VS403439: Operation '{kind}' on {path} needs a value."
                        ))
                    })?;
                    match f.ref_name {
                        "System.State" => {
                            let s = v.as_str().unwrap_or_default();
                            let def = wtype
                                .state(s)
                                .ok_or_else(|| rule_error(f, "LimitedToValues, InvalidEmpty"))?;
                            Some(Value::String(def.name.to_string()))
                        }
                        "System.History" => {
                            let s = match v {
                                Value::String(s) => s.clone(),
                                Value::Null => String::new(),
                                other => other.to_string(),
                            };
                            if s.is_empty() {
                                None
                            } else {
                                history_added = true;
                                Some(Value::String(s))
                            }
                        }
                        "System.Tags" => {
                            let mut tags = split_tags(v.as_str().unwrap_or_default());
                            if kind == "add" {
                                if let Some(old) = fields.get("System.Tags").and_then(Value::as_str)
                                {
                                    let mut merged = split_tags(old);
                                    merged.append(&mut tags);
                                    tags = merged;
                                }
                            }
                            let joined = join_tags(tags);
                            if joined.is_empty() {
                                None
                            } else {
                                Some(Value::String(joined))
                            }
                        }
                        _ => convert(state, &project.name, f, v, opts.bypass_rules)?,
                    }
                };
                if f.ref_name == "System.Reason" {
                    explicit_reason = new_val.is_some();
                }
                match new_val {
                    Some(v) => {
                        fields.insert(f.ref_name.to_string(), v);
                    }
                    None => {
                        fields.remove(f.ref_name);
                    }
                }
            }
            ("add", ["relations", "-"]) => {
                let v = value.and_then(Value::as_object).ok_or_else(|| {
                    invalid_patch("VS403440: A relation must be an object with rel and url.")
                })?;
                let rel = v.get("rel").and_then(Value::as_str).unwrap_or_default();
                let url = v.get("url").and_then(Value::as_str).unwrap_or_default();
                if rel.is_empty() || url.is_empty() {
                    return Err(invalid_patch("VS403440: A relation must have rel and url."));
                }
                let mut attributes = attr_map(v.get("attributes"))?;
                if let Some((canon, name, opposite)) = canonical_link(rel) {
                    let other = id_from_url(url).ok_or_else(|| {
                        AdoError::bad_request(
                            "WorkItemLinkInvalidException",
                            format!("TF201063: The url '{url}' does not identify a work item."),
                        )
                    })?;
                    if state.live(other).is_none() {
                        return Err(AdoError::bad_request(
                            "WorkItemLinkInvalidException",
                            format!("TF201036: You cannot add a link to work item {other} because it does not exist or has been deleted."),
                        ));
                    }
                    if Some(other) == self_id {
                        return Err(AdoError::bad_request(
                            "WorkItemLinkInvalidException",
                            "TF201034: A work item cannot be linked to itself.",
                        ));
                    }
                    let rel_obj = Relation {
                        rel: canon.to_string(),
                        target: RelTarget::Item(other),
                        attributes: Map::new(),
                    };
                    if relations.iter().any(|r| r.same_link(&rel_obj)) {
                        return Err(AdoError::bad_request(
                            "WorkItemLinkAlreadyExistsException",
                            format!("TF201035: The link of type '{canon}' to work item {other} already exists."),
                        ));
                    }
                    if canon == HIER_REVERSE {
                        if relations.iter().any(|r| r.rel == HIER_REVERSE) {
                            return Err(one_parent(self_id, other));
                        }
                        if let Some(me) = self_id {
                            if ancestors(state, other).contains(&me) {
                                return Err(cycle(me, other));
                            }
                        }
                    }
                    if canon == HIER_FORWARD {
                        let other_has_parent = state.live(other).and_then(|w| w.current().parent()).is_some()
                            || mirrors.iter().any(|m| matches!(m, MirrorEdit::Add { other: o, rel, .. } if *o == other && rel == HIER_REVERSE));
                        if other_has_parent {
                            return Err(one_parent(Some(other), self_id.unwrap_or(0)));
                        }
                        if let Some(me) = self_id {
                            if ancestors(state, me).contains(&other) {
                                return Err(cycle(other, me));
                            }
                        }
                    }
                    attributes.entry("isLocked").or_insert(Value::Bool(false));
                    attributes.insert("name".into(), Value::String(name.to_string()));
                    let mut mirror_attrs = attributes.clone();
                    let opposite_name = canonical_link(opposite).map(|l| l.1).unwrap_or(name);
                    mirror_attrs.insert("name".into(), Value::String(opposite_name.to_string()));
                    mirrors.push(MirrorEdit::Add {
                        other,
                        rel: opposite.to_string(),
                        attributes: mirror_attrs,
                    });
                    relations.push(Relation {
                        attributes,
                        ..rel_obj
                    });
                } else if let Some(canon) =
                    RESOURCE_LINKS.iter().find(|r| r.eq_ignore_ascii_case(rel))
                {
                    let r = Relation {
                        rel: (*canon).to_string(),
                        target: RelTarget::Url(url.to_string()),
                        attributes,
                    };
                    if relations.iter().any(|x| x.same_link(&r)) {
                        return Err(AdoError::bad_request(
                            "WorkItemLinkAlreadyExistsException",
                            format!("TF201035: The link '{url}' already exists."),
                        ));
                    }
                    relations.push(r);
                } else {
                    return Err(AdoError::bad_request(
                        "WorkItemLinkTypeNotFoundException",
                        format!("TF201077: The link type '{rel}' does not exist."),
                    ));
                }
            }
            ("remove", ["relations", idx]) => {
                let i = rel_index(idx, relations.len())?;
                let r = relations.remove(i);
                if let (RelTarget::Item(other), Some((_, _, opposite))) =
                    (&r.target, canonical_link(&r.rel))
                {
                    mirrors.push(MirrorEdit::Remove {
                        other: *other,
                        rel: opposite.to_string(),
                    });
                }
            }
            ("add" | "replace" | "remove", ["relations", idx, "attributes", key]) => {
                let i = rel_index(idx, relations.len())?;
                let key = (*key).to_string();
                let val = if kind == "remove" {
                    None
                } else {
                    Some(value.cloned().unwrap_or(Value::Null))
                };
                let r = &mut relations[i];
                match &val {
                    Some(v) => {
                        r.attributes.insert(key.clone(), v.clone());
                    }
                    None => {
                        r.attributes.remove(&key);
                    }
                }
                if let (RelTarget::Item(other), Some((_, _, opposite))) =
                    (&r.target, canonical_link(&r.rel))
                {
                    mirrors.push(MirrorEdit::SetAttr {
                        other: *other,
                        rel: opposite.to_string(),
                        key,
                        value: val,
                    });
                }
            }
            ("add" | "replace", ["multilineFieldsFormat", _]) => {}
            (op @ ("copy" | "move"), _) => {
                return Err(invalid_patch(format!(
                    "VS403441: The JSON Patch operation '{op}' is not supported."
                )));
            }
            ("add" | "replace" | "remove" | "test", _) => {
                return Err(invalid_patch(format!(
                    "VS403442: The path '{path}' is not valid for operation '{kind}'."
                )));
            }
            _ => {
                return Err(invalid_patch(format!(
                    "VS403443: Unknown JSON Patch operation '{kind}'."
                )));
            }
        }
    }

    // Defaults for a new item.
    if self_id.is_none() {
        fields.insert("System.TeamProject".into(), json!(project.name));
        fields.insert("System.WorkItemType".into(), json!(wtype.name));
        fields
            .entry("System.State".to_string())
            .or_insert_with(|| json!(wtype.initial_state()));
        fields
            .entry("System.AreaPath".to_string())
            .or_insert_with(|| json!(project.name));
        fields
            .entry("System.IterationPath".to_string())
            .or_insert_with(|| json!(project.name));
        for r in [
            "Microsoft.VSTS.Common.Priority",
            "Microsoft.VSTS.Common.ValueArea",
            "Microsoft.VSTS.Common.Severity",
        ] {
            if wtype.has_field(r) && !fields.contains_key(r) {
                if let Some(d) = wtype.default_value(r) {
                    let v = d
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| json!(d));
                    fields.insert(r.to_string(), v);
                }
            }
        }
        fields.insert("System.CommentCount".into(), json!(0));
    }
    let title_ok = fields
        .get("System.Title")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    if !title_ok {
        let f = process::field("System.Title").ok_or_else(|| field_missing("System.Title"))?;
        return Err(rule_error(f, "Required, InvalidEmpty"));
    }
    let new_state = fields
        .get("System.State")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let state_changed = old_state.as_deref() != Some(new_state.as_str());
    if state_changed && !explicit_reason {
        fields.insert(
            "System.Reason".into(),
            json!(default_reason(wtype.name, &new_state, self_id.is_none())),
        );
    }
    // Tree ids.
    for (path_field, id_field, iterations) in [
        ("System.AreaPath", "System.AreaId", false),
        ("System.IterationPath", "System.IterationId", true),
    ] {
        let path = fields
            .get(path_field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some((_, node)) = project.tree_path(iterations, &path) {
            fields.insert(id_field.into(), json!(node.id));
            if !iterations {
                fields.insert("System.NodeName".into(), json!(node.name));
            }
        }
    }
    set_parent_field(&mut fields, &relations);
    Ok(Plan {
        target,
        project: project_id,
        fields,
        relations,
        mirrors,
        state_changed,
        history_added,
        bypassed,
    })
}

fn field_missing(name: &str) -> AdoError {
    AdoError::bad_request(
        "WorkItemFieldNotFoundException",
        format!("TF51535: Cannot find field {name}."),
    )
}

fn one_parent(child: Option<i64>, parent: i64) -> AdoError {
    AdoError::bad_request(
        "WorkItemLinkInvalidException",
        format!(
            "TF201036: You cannot add a Child link between work items {parent} and {} because a work item can have only one Parent link.",
            child.map(|c| c.to_string()).unwrap_or_else(|| "(new)".into())
        ),
    )
}

fn cycle(a: i64, b: i64) -> AdoError {
    AdoError::bad_request(
        "WorkItemLinkInvalidException",
        format!("TF201063: Adding a link between work items {a} and {b} would create a circular relationship."),
    )
}

fn rel_index(idx: &str, len: usize) -> Result<usize, AdoError> {
    idx.parse::<usize>()
        .ok()
        .filter(|i| *i < len)
        .ok_or_else(|| {
            invalid_patch(format!(
                "VS403444: Relation index {idx} is out of range (the item has {len} relations)."
            ))
        })
}

fn set_parent_field(fields: &mut BTreeMap<String, Value>, relations: &[Relation]) {
    let parent = relations.iter().find_map(|r| match r.target {
        RelTarget::Item(id) if r.rel == HIER_REVERSE => Some(id),
        _ => None,
    });
    match parent {
        Some(p) => {
            fields.insert("System.Parent".into(), json!(p));
        }
        None => {
            fields.remove("System.Parent");
        }
    }
}

/// Stamps system fields on a new revision and stores it; records the service-hook event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn commit(
    state: &mut SimState,
    id: i64,
    project: Uuid,
    mut fields: BTreeMap<String, Value>,
    relations: Vec<Relation>,
    actor: &str,
    state_changed: bool,
    history_added: bool,
    bypassed: &[String],
    record_event: bool,
) {
    let now = state.clock.tick();
    let now_s = fmt_date(now);
    let prev_rev = state.items.get(&id).map(WorkItem::rev).unwrap_or(0);
    let is_new = prev_rev == 0;
    let keep = |f: &str| bypassed.iter().any(|b| b == f);
    fields.insert("System.Id".into(), json!(id));
    fields.insert("System.Rev".into(), json!(prev_rev + 1));
    if !keep("System.ChangedDate") {
        fields.insert("System.ChangedDate".into(), json!(now_s));
    }
    if !keep("System.ChangedBy") {
        fields.insert("System.ChangedBy".into(), json!(actor));
    }
    fields.insert("System.AuthorizedDate".into(), json!(now_s));
    fields.insert("System.AuthorizedAs".into(), json!(actor));
    fields.insert("System.RevisedDate".into(), json!("9999-01-01T00:00:00Z"));
    let wm = state.next_watermark();
    fields.insert("System.Watermark".into(), json!(wm));
    if is_new {
        if !keep("System.CreatedDate") {
            let created = fields
                .get("System.ChangedDate")
                .cloned()
                .unwrap_or(json!(now_s));
            fields.insert("System.CreatedDate".into(), created);
        }
        if !keep("System.CreatedBy") {
            fields.insert("System.CreatedBy".into(), json!(actor));
        }
    }
    if history_added {
        let c = fields
            .get("System.CommentCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        fields.insert("System.CommentCount".into(), json!(c + 1));
    }
    if state_changed {
        let changed = fields
            .get("System.ChangedDate")
            .cloned()
            .unwrap_or(json!(now_s));
        fields.insert(
            "Microsoft.VSTS.Common.StateChangeDate".into(),
            changed.clone(),
        );
        let category = state
            .project_by_id(project)
            .and_then(|p| {
                p.wit_type(
                    fields
                        .get("System.WorkItemType")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
            })
            .and_then(|t| {
                t.state(
                    fields
                        .get("System.State")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
            })
            .map(|s| s.category)
            .unwrap_or(process::PROPOSED);
        let set = |fields: &mut BTreeMap<String, Value>, date: &str, by: &str, on: bool| {
            if on {
                fields.insert(date.into(), changed.clone());
                fields.insert(by.into(), json!(actor));
            } else {
                fields.remove(date);
                fields.remove(by);
            }
        };
        let (act, res, clo) = match category {
            process::PROPOSED => (false, false, false),
            process::IN_PROGRESS => (true, false, false),
            process::RESOLVED => (true, true, false),
            _ => (true, true, true),
        };
        let keep_existing = |fields: &BTreeMap<String, Value>, f: &str| fields.contains_key(f);
        if !(act && keep_existing(&fields, "Microsoft.VSTS.Common.ActivatedDate")) {
            set(
                &mut fields,
                "Microsoft.VSTS.Common.ActivatedDate",
                "Microsoft.VSTS.Common.ActivatedBy",
                act,
            );
        }
        let has_resolved = state
            .project_by_id(project)
            .and_then(|p| {
                p.wit_type(
                    fields
                        .get("System.WorkItemType")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )
            })
            .is_some_and(|t| t.has_field("Microsoft.VSTS.Common.ResolvedDate"));
        if has_resolved && !(res && keep_existing(&fields, "Microsoft.VSTS.Common.ResolvedDate")) {
            set(
                &mut fields,
                "Microsoft.VSTS.Common.ResolvedDate",
                "Microsoft.VSTS.Common.ResolvedBy",
                res,
            );
        }
        set(
            &mut fields,
            "Microsoft.VSTS.Common.ClosedDate",
            "Microsoft.VSTS.Common.ClosedBy",
            clo,
        );
    }
    if let Some(tags) = fields.get("System.Tags").and_then(Value::as_str) {
        let tags = split_tags(tags);
        if let Some(p) = state.projects.iter_mut().find(|p| p.id == project) {
            p.register_tags(&tags, &now_s);
        }
    }
    let revision = Revision { fields, relations };
    match state.items.get_mut(&id) {
        Some(w) => w.revisions.push(revision),
        None => {
            state.items.insert(
                id,
                WorkItem {
                    id,
                    project,
                    revisions: vec![revision],
                    deleted: None,
                },
            );
        }
    }
    if record_event {
        let kind = if is_new {
            EventKind::Created
        } else {
            EventKind::Updated
        };
        hooks::record(state, kind, id, actor);
    }
}

/// Saves a validated plan; returns the id of the created/updated item.
pub(crate) fn apply(state: &mut SimState, plan: Plan, actor: &str) -> i64 {
    let id = match plan.target {
        Target::Update { id } => id,
        Target::Create { .. } => {
            let id = state.next_id;
            state.next_id += 1;
            id
        }
    };
    commit(
        state,
        id,
        plan.project,
        plan.fields,
        plan.relations,
        actor,
        plan.state_changed,
        plan.history_added,
        &plan.bypassed,
        true,
    );
    // Far ends of links, one save per touched item, in first-touched order.
    let mut order: Vec<i64> = Vec::new();
    for m in &plan.mirrors {
        if !order.contains(&m.other()) {
            order.push(m.other());
        }
    }
    for other in order {
        // Links to items in the recycle bin are left alone.
        let Some(w) = state.live(other) else {
            continue;
        };
        let project = w.project;
        let cur = w.current();
        let mut fields = cur.fields.clone();
        fields.remove("System.History");
        let mut relations = cur.relations.clone();
        for m in plan.mirrors.iter().filter(|m| m.other() == other) {
            match m {
                MirrorEdit::Add {
                    rel, attributes, ..
                } => relations.push(Relation {
                    rel: rel.clone(),
                    target: RelTarget::Item(id),
                    attributes: attributes.clone(),
                }),
                MirrorEdit::Remove { rel, .. } => {
                    if let Some(i) = relations
                        .iter()
                        .position(|r| r.rel == *rel && r.target == RelTarget::Item(id))
                    {
                        relations.remove(i);
                    }
                }
                MirrorEdit::SetAttr {
                    rel, key, value, ..
                } => {
                    if let Some(r) = relations
                        .iter_mut()
                        .find(|r| r.rel == *rel && r.target == RelTarget::Item(id))
                    {
                        match value {
                            Some(v) => {
                                r.attributes.insert(key.clone(), v.clone());
                            }
                            None => {
                                r.attributes.remove(key);
                            }
                        }
                    }
                }
            }
        }
        set_parent_field(&mut fields, &relations);
        commit(
            state,
            other,
            project,
            fields,
            relations,
            actor,
            false,
            false,
            &[],
            true,
        );
    }
    id
}

/// The item a plan would produce, for `validateOnly=true` answers (nothing is stored).
pub(crate) fn preview(state: &SimState, plan: &Plan) -> WorkItem {
    let (id, mut revisions) = match plan.target {
        Target::Update { id } => (
            id,
            state
                .items
                .get(&id)
                .map(|w| w.revisions.clone())
                .unwrap_or_default(),
        ),
        Target::Create { .. } => (0, Vec::new()),
    };
    let rev = revisions.last().map(Revision::rev).unwrap_or(0);
    let mut fields = plan.fields.clone();
    fields.insert("System.Rev".into(), json!(rev));
    revisions.push(Revision {
        fields,
        relations: plan.relations.clone(),
    });
    WorkItem {
        id,
        project: plan.project,
        revisions,
        deleted: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_urls() {
        assert_eq!(
            id_from_url("http://x/contoso/_apis/wit/workItems/12"),
            Some(12)
        );
        assert_eq!(
            id_from_url("http://x/contoso/_apis/wit/workitems/7?x=1"),
            Some(7)
        );
        assert_eq!(id_from_url("http://x/contoso/_apis/wit/fields"), None);
    }

    #[test]
    fn link_names_are_case_insensitive() {
        assert_eq!(
            canonical_link("System.LinkTypes.Dependency-forward").map(|l| l.0),
            Some("System.LinkTypes.Dependency-Forward")
        );
        assert!(canonical_link("Nope").is_none());
    }
}
