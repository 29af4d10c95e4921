//! Mapping one item either way: an ADO work item → the host item it becomes, and a host item →
//! the JSON Patch that creates or updates its work item. Sync, webhooks and map-item share this.

use crate::api::{
    AdoWorkItemType, Direction, FieldEntry, FieldValue, HostItem, Mapping, Result, SyncError,
    WorkspaceSchema,
};
use crate::core::mapping::host_field_kind;
use crate::core::paths::same_path;
use crate::core::propose::description_field;
use crate::core::values::{
    ado_to_host, format_tags, host_to_ado, parse_tags, same_tags, same_value,
};
use crate::core::work_item::{WorkItem, PARENT_REL};
use serde_json::{json, Value};

/// Prefix of the marker tag a work item created from the host carries.
pub const MARKER_PREFIX: &str = "ado-sync-";

/// The marker tag of a host item: lets a crashed create be found instead of repeated.
pub fn marker_tag(host_id: &str) -> String {
    crate::core::ids::short_id("ado-sync", &[host_id])
}

/// Whether a tag is one of our markers (never shown to the host).
pub fn is_marker(tag: &str) -> bool {
    tag.starts_with(MARKER_PREFIX)
}

/// Everything needed to map items of one project integration.
pub struct MapContext<'a> {
    /// The connection id (part of deterministic host ids).
    pub connection_id: &'a str,
    /// The organisation or collection URL (for relation URLs).
    pub base_url: &'a str,
    /// The ADO project's name.
    pub project_name: &'a str,
    /// The ADO project's work item types (hierarchy, states, fields).
    pub types: &'a [AdoWorkItemType],
    /// What the host workspace holds.
    pub schema: &'a WorkspaceSchema,
    /// The mapping.
    pub mapping: &'a Mapping,
}

/// One JSON Patch operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// `add`, `replace`, `remove` or `test`.
    pub op: &'static str,
    /// JSON pointer.
    pub path: String,
    /// Value; none for `remove`.
    pub value: Option<Value>,
}

impl PatchOp {
    /// Set the value at `path`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        PatchOp {
            op: "add",
            path: path.into(),
            value: Some(value),
        }
    }
    fn remove(path: impl Into<String>) -> Self {
        PatchOp {
            op: "remove",
            path: path.into(),
            value: None,
        }
    }
    /// The JSON of a patch document.
    pub fn to_json(ops: &[PatchOp]) -> Value {
        Value::Array(
            ops.iter()
                .map(|o| match &o.value {
                    Some(v) => json!({"op": o.op, "path": o.path, "value": v}),
                    None => json!({"op": o.op, "path": o.path}),
                })
                .collect(),
        )
    }
}

impl MapContext<'_> {
    /// The host type an ADO type maps to.
    pub fn host_type_of(&self, ado_type: &str) -> Option<&str> {
        self.mapping
            .types
            .iter()
            .find(|t| t.ado_type.eq_ignore_ascii_case(ado_type))
            .map(|t| t.host_type.as_str())
    }

    /// The ADO type a host type maps to.
    pub fn ado_type_of(&self, host_type: &str) -> Option<&AdoWorkItemType> {
        let name = &self
            .mapping
            .types
            .iter()
            .find(|t| t.host_type == host_type)?
            .ado_type;
        self.types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(name))
    }

    fn ado_type_named(&self, name: &str) -> Option<&AdoWorkItemType> {
        self.types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(name))
    }

    /// The host status for an ADO state of a type: an explicit mapping first, then the first host
    /// status of the state's category.
    pub fn host_status_for(&self, ado_type: &str, state: &str) -> Option<String> {
        let category = self
            .ado_type_named(ado_type)
            .and_then(|t| t.states.iter().find(|s| s.name.eq_ignore_ascii_case(state)))
            .map(|s| s.category);
        let explicit: Vec<&str> = self
            .mapping
            .statuses
            .iter()
            .filter(|s| {
                s.ado_state.eq_ignore_ascii_case(state)
                    && s.ado_type
                        .as_ref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(ado_type))
            })
            .map(|s| s.host_status.as_str())
            .collect();
        // Several host statuses may map to one state (a type without `Resolved`, say): prefer the
        // one of the state's own category.
        let same_category = explicit.iter().find(|id| {
            self.schema
                .statuses
                .iter()
                .any(|h| &h.id == *id && Some(h.category) == category)
        });
        if let Some(id) = same_category.or(explicit.first()) {
            return Some(id.to_string());
        }
        let category = category?;
        self.schema
            .statuses
            .iter()
            .find(|s| s.category == category)
            .map(|s| s.id.clone())
    }

    /// The ADO state for a host status on a type.
    pub fn ado_state_for(&self, ado_type: &AdoWorkItemType, host_status: &str) -> Option<String> {
        self.mapping
            .statuses
            .iter()
            .filter(|s| s.host_status == host_status)
            .filter(|s| {
                s.ado_type
                    .as_ref()
                    .is_none_or(|t| t.eq_ignore_ascii_case(&ado_type.name))
            })
            .find(|s| {
                ado_type
                    .states
                    .iter()
                    .any(|st| st.name.eq_ignore_ascii_case(&s.ado_state))
            })
            .map(|s| s.ado_state.clone())
    }

    /// The host sprint for an iteration path.
    pub fn sprint_for(&self, iteration_path: &str) -> Option<String> {
        self.mapping
            .sprints
            .iter()
            .find(|s| same_path(&s.iteration_path, iteration_path))
            .map(|s| s.host_sprint.clone())
    }

    /// The ADO field host releases are kept in, and the mapping's direction, when mapped.
    pub fn releases_field(&self) -> Option<(&str, Direction)> {
        self.mapping
            .fields
            .iter()
            .find(|f| f.host_field == RELEASES)
            .map(|f| (f.ado_field.as_str(), f.direction))
    }

    /// Host release ids for the release names an ADO field holds (`;`-separated, as ADO keeps
    /// lists in text fields); names the host does not know are skipped.
    pub fn releases_from_ado(&self, text: &str) -> Vec<String> {
        parse_tags(text)
            .iter()
            .filter_map(|name| {
                self.schema
                    .releases
                    .iter()
                    .find(|r| r.name.eq_ignore_ascii_case(name) || r.id == *name)
                    .map(|r| r.id.clone())
            })
            .collect()
    }

    /// Whether an ADO release name is one of the host's releases.
    fn is_host_release(&self, name: &str) -> bool {
        self.schema
            .releases
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name) || r.id == name)
    }

    /// The release names of host release ids (unknown ids are kept as they are).
    fn release_names(&self, ids: &[String]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                self.schema
                    .releases
                    .iter()
                    .find(|r| r.id == *id)
                    .map(|r| r.name.clone())
                    .unwrap_or_else(|| id.clone())
            })
            .collect()
    }

    /// The iteration path for a host sprint.
    pub fn iteration_for(&self, sprint: &str) -> Option<String> {
        self.mapping
            .sprints
            .iter()
            .find(|s| s.host_sprint == sprint)
            .map(|s| s.iteration_path.clone())
    }

    /// The REST URL of a work item (for relations).
    pub fn work_item_url(&self, id: i64) -> String {
        format!("{}/_apis/wit/workItems/{id}", self.base_url)
    }
}

/// The fields of a work item [`to_host`] may read, whatever the mapping: the rest are the
/// mapping's ADO fields.
const FIELDS_ALWAYS_READ: [&str; 7] = [
    "System.WorkItemType",
    "System.Title",
    "System.Description",
    "Microsoft.VSTS.TCM.ReproSteps",
    "System.State",
    "System.IterationPath",
    "System.Tags",
];

/// A set of field reference names, looked up many times per work item.
#[derive(Debug, Clone, Default)]
pub struct FieldNames(Vec<String>);

impl FieldNames {
    /// Whether the set holds `name`. Names are ordered by length first: most names in a payload
    /// differ in length from every wanted one, and comparing lengths is cheaper than comparing
    /// long shared prefixes (`Microsoft.VSTS.…`).
    pub fn contains(&self, name: &str) -> bool {
        self.0
            .binary_search_by(|f| f.len().cmp(&name.len()).then_with(|| f.as_str().cmp(name)))
            .is_ok()
    }
}

/// The work item fields a mapping's [`to_host`] reads: a work item read with only these
/// becomes the same host item as the whole work item.
pub fn fields_read_by_to_host(mapping: &Mapping) -> FieldNames {
    let mut names: Vec<String> = FIELDS_ALWAYS_READ
        .iter()
        .map(|f| f.to_string())
        .chain(mapping.fields.iter().map(|f| f.ado_field.clone()))
        .collect();
    names.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    names.dedup();
    FieldNames(names)
}

/// The host item a work item becomes. `existing` is the linked host item, whose values are kept
/// where the mapping does not bring them from ADO. `None` when the type is not mapped.
pub fn to_host(
    ctx: &MapContext,
    wi: &WorkItem,
    host_id: String,
    parent_host_id: Option<String>,
    existing: Option<&HostItem>,
) -> Result<Option<HostItem>> {
    let ado_type_name = wi.work_item_type();
    let Some(host_type) = ctx.host_type_of(ado_type_name) else {
        return Ok(None);
    };
    let ado_type = ctx.ado_type_named(ado_type_name);
    let desc_field = ado_type
        .map(description_field)
        .unwrap_or("System.Description");
    let mut item = existing.cloned().unwrap_or(HostItem {
        id: host_id.clone(),
        item_type: host_type.to_string(),
        title: String::new(),
        description: None,
        parent: None,
        status: None,
        sprint: None,
        releases: Vec::new(),
        tags: Vec::new(),
        fields: Vec::new(),
    });
    item.id = host_id;
    item.item_type = host_type.to_string();
    item.title = wi.str_field("System.Title").unwrap_or_default().to_string();
    item.description = wi
        .str_field(desc_field)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    item.parent = parent_host_id;
    item.status = ctx.host_status_for(ado_type_name, wi.state());
    item.sprint = wi
        .str_field("System.IterationPath")
        .and_then(|p| ctx.sprint_for(p));
    item.tags = wi
        .str_field("System.Tags")
        .map(parse_tags)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !is_marker(t))
        .collect();
    if let Some((ado_field, direction)) = ctx.releases_field() {
        if direction != Direction::ToAdo {
            item.releases = ctx.releases_from_ado(wi.str_field(ado_field).unwrap_or_default());
        }
    }
    for fm in &ctx.mapping.fields {
        if fm.direction == Direction::ToAdo || is_built_in(&fm.host_field) {
            continue;
        }
        let Some(kind) = host_field_kind(ctx.schema, &fm.host_field) else {
            continue;
        };
        let value = wi
            .fields
            .get(&fm.ado_field)
            .and_then(|v| ado_to_host(kind, v));
        set_field(&mut item.fields, &fm.host_field, value);
    }
    item.fields.sort_by(|a, b| a.field.cmp(&b.field));
    Ok(Some(item))
}

/// The host field name of an item's releases in a mapping.
pub const RELEASES: &str = "releases";

fn is_built_in(field: &str) -> bool {
    matches!(field, "title" | "description" | "tags" | RELEASES)
}

fn set_field(fields: &mut Vec<FieldEntry>, id: &str, value: Option<crate::api::FieldValue>) {
    match fields.iter_mut().find(|f| f.field == id) {
        Some(entry) => entry.value = value,
        None => fields.push(FieldEntry {
            field: id.to_string(),
            value,
        }),
    }
}

/// The JSON Patch that brings ADO in line with a host item: a create when `current` is `None`,
/// otherwise an update of only what differs, starting with a `test /rev`. `parent` is the
/// parent's work item id (already linked). Returns the ADO type name and the operations; an
/// update with nothing to change returns no operations at all.
pub fn to_ado(
    ctx: &MapContext,
    item: &HostItem,
    current: Option<&WorkItem>,
    parent: Option<i64>,
) -> Result<(String, Vec<PatchOp>)> {
    let ado_type = ctx.ado_type_of(&item.item_type).ok_or_else(|| {
        SyncError::invalid(
            "item.item-type",
            format!(
                "host item type '{}' is not mapped to an ADO type",
                item.item_type
            ),
        )
    })?;
    let field = |name: &str| current.and_then(|c| c.fields.get(name));
    let mut ops: Vec<PatchOp> = Vec::new();
    let put = |ops: &mut Vec<PatchOp>, name: &str, value: Option<Value>| {
        let path = format!("/fields/{name}");
        match (value, field(name)) {
            (Some(v), Some(cur)) if &v == cur => {}
            (Some(v), _) => ops.push(PatchOp::add(path, v)),
            (None, Some(_)) => ops.push(PatchOp::remove(path)),
            (None, None) => {}
        }
    };

    if item.title.trim().is_empty() {
        return Err(SyncError::invalid(
            "item.title",
            "an item needs a title to exist in ADO",
        ));
    }
    put(
        &mut ops,
        "System.Title",
        Some(Value::String(item.title.clone())),
    );
    put(
        &mut ops,
        description_field(ado_type),
        item.description
            .clone()
            .filter(|d| !d.is_empty())
            .map(Value::String),
    );
    if let Some(status) = &item.status {
        let state = ctx.ado_state_for(ado_type, status).ok_or_else(|| {
            SyncError::invalid(
                "item.status",
                format!(
                    "host status '{status}' has no mapped state on ADO type '{}'",
                    ado_type.name
                ),
            )
        })?;
        let same = field("System.State")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case(&state));
        if !same {
            ops.push(PatchOp::add("/fields/System.State", Value::String(state)));
        }
    }
    let iteration = match &item.sprint {
        Some(sprint) => Some(ctx.iteration_for(sprint).ok_or_else(|| {
            SyncError::invalid(
                "item.sprint",
                format!("host sprint '{sprint}' is not mapped to an iteration"),
            )
        })?),
        None => None,
    };
    let current_iteration = field("System.IterationPath").and_then(Value::as_str);
    match (&iteration, current_iteration) {
        (Some(want), Some(cur)) if same_path(want, cur) => {}
        (Some(want), _) => ops.push(PatchOp::add("/fields/System.IterationPath", json!(want))),
        // Unmapped in the host: move to the project root, unless ADO holds an unmapped iteration
        // the host cannot express (then leave it alone).
        (None, Some(cur)) if ctx.sprint_for(cur).is_some() => ops.push(PatchOp::add(
            "/fields/System.IterationPath",
            json!(ctx.project_name),
        )),
        (None, _) => {}
    }
    if current.is_none() {
        if let Some(area) = &ctx.mapping.default_area_path {
            ops.push(PatchOp::add("/fields/System.AreaPath", json!(area)));
        }
    }
    let current_tags = field("System.Tags")
        .and_then(Value::as_str)
        .map(parse_tags)
        .unwrap_or_default();
    let (markers, visible): (Vec<String>, Vec<String>) =
        current_tags.into_iter().partition(|t| is_marker(t));
    if !same_tags(&visible, &item.tags) {
        let mut all = item.tags.clone();
        all.extend(markers);
        if all.is_empty() {
            ops.push(PatchOp::remove("/fields/System.Tags"));
        } else {
            ops.push(PatchOp::add(
                "/fields/System.Tags",
                json!(format_tags(&all)),
            ));
        }
    }
    if let Some((ado_field, direction)) = ctx.releases_field() {
        if direction != Direction::ToHost {
            // Names the host does not know stay in ADO: they are not the host's to remove.
            let current = field(ado_field)
                .and_then(Value::as_str)
                .map(parse_tags)
                .unwrap_or_default();
            let (known, foreign): (Vec<String>, Vec<String>) =
                current.into_iter().partition(|n| ctx.is_host_release(n));
            let wanted = ctx.release_names(&item.releases);
            if !same_tags(&known, &wanted) {
                let mut all = wanted;
                all.extend(foreign);
                let path = format!("/fields/{ado_field}");
                if all.is_empty() {
                    ops.push(PatchOp::remove(path));
                } else {
                    ops.push(PatchOp::add(path, json!(format_tags(&all))));
                }
            }
        }
    }
    for fm in &ctx.mapping.fields {
        if fm.direction == Direction::ToHost || is_built_in(&fm.host_field) {
            continue;
        }
        let Some(kind) = host_field_kind(ctx.schema, &fm.host_field) else {
            continue;
        };
        let host_value = item
            .fields
            .iter()
            .find(|f| f.field == fm.host_field)
            .and_then(|f| f.value.as_ref());
        if let Some(FieldValue::Number(n)) = host_value {
            if !n.is_finite() {
                return Err(SyncError::invalid(
                    format!("item.fields.{}", fm.host_field),
                    format!("{n} is not a number ADO can hold"),
                ));
            }
        }
        if !same_value(kind, field(&fm.ado_field), host_value) {
            let path = format!("/fields/{}", fm.ado_field);
            match host_value {
                Some(v) => ops.push(PatchOp::add(path, host_to_ado(v))),
                None if field(&fm.ado_field).is_some() => ops.push(PatchOp::remove(path)),
                None => {}
            }
        }
    }
    let current_parent = current.and_then(WorkItem::parent_id);
    if current_parent != parent {
        if let Some(index) = current.and_then(WorkItem::parent_relation_index) {
            ops.push(PatchOp::remove(format!("/relations/{index}")));
        }
        if let Some(p) = parent {
            ops.push(PatchOp::add(
                "/relations/-",
                json!({"rel": PARENT_REL, "url": ctx.work_item_url(p)}),
            ));
        }
    }
    if let Some(cur) = current {
        if !ops.is_empty() {
            ops.insert(
                0,
                PatchOp {
                    op: "test",
                    path: "/rev".into(),
                    value: Some(json!(cur.rev)),
                },
            );
        }
    }
    Ok((ado_type.name.clone(), ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        AdoState, DeletePolicy, FieldDef, FieldKind, FieldMapping, ItemType, Release, Side, Sprint,
        SprintMapping, Status, StatusCategory, StatusMapping, TypeMapping,
    };
    use serde_json::value::RawValue;

    fn ado_type(name: &str, fields: &[&str]) -> AdoWorkItemType {
        AdoWorkItemType {
            name: name.into(),
            reference_name: format!("Microsoft.VSTS.WorkItemTypes.{name}"),
            level: Some(2),
            states: vec![AdoState {
                name: "Active".into(),
                category: StatusCategory::InProgress,
            }],
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn field(host: &str, ado: &str) -> FieldMapping {
        FieldMapping {
            host_field: host.into(),
            ado_field: ado.into(),
            direction: Direction::Both,
            owner: Side::Ado,
        }
    }

    fn def(id: &str, kind: FieldKind) -> FieldDef {
        FieldDef {
            id: id.into(),
            name: id.into(),
            kind,
            options: vec!["High".into(), "Low".into()],
        }
    }

    #[test]
    fn a_work_item_read_with_only_the_fields_to_host_reads_maps_the_same() {
        let types = [
            ado_type("User Story", &["System.Title", "System.Description"]),
            ado_type("Bug", &["System.Title", "Microsoft.VSTS.TCM.ReproSteps"]),
        ];
        let schema = WorkspaceSchema {
            workspace_id: "ws".into(),
            item_types: vec![ItemType {
                id: "story".into(),
                name: "Story".into(),
                level: 2,
            }],
            statuses: vec![Status {
                id: "doing".into(),
                name: "Doing".into(),
                category: StatusCategory::InProgress,
            }],
            sprints: vec![Sprint {
                id: "s1".into(),
                name: "Sprint 1".into(),
                start: None,
                finish: None,
            }],
            releases: vec![Release {
                id: "r1".into(),
                name: "2026.1".into(),
            }],
            fields: vec![
                def("effort", FieldKind::Number),
                def("risk", FieldKind::SingleSelect),
                def("area", FieldKind::TreePath),
                def("owner", FieldKind::User),
            ],
        };
        let mapping = Mapping {
            epic_is_product_level: true,
            types: ["User Story", "Bug"]
                .map(|t| TypeMapping {
                    host_type: "story".into(),
                    ado_type: t.into(),
                })
                .into(),
            // Title, description and tags are read whatever the mapping says.
            fields: vec![
                field(RELEASES, "Custom.Release"),
                field("effort", "Microsoft.VSTS.Scheduling.StoryPoints"),
                field("risk", "Custom.Risk"),
                field("area", "System.AreaPath"),
                field("owner", "System.AssignedTo"),
            ],
            statuses: vec![StatusMapping {
                host_status: "doing".into(),
                ado_state: "Active".into(),
                ado_type: None,
            }],
            sprints: vec![SprintMapping {
                host_sprint: "s1".into(),
                iteration_path: "P\\Sprint 1".into(),
            }],
            delete_policy: DeletePolicy::Unlink,
            default_area_path: None,
        };
        let ctx = MapContext {
            connection_id: "c",
            base_url: "https://dev.azure.com/o",
            project_name: "P",
            types: &types,
            schema: &schema,
            mapping: &mapping,
        };
        let read = fields_read_by_to_host(&mapping);
        for ty in ["User Story", "Bug"] {
            let fields = json!({
                "System.WorkItemType": ty,
                "System.Title": "Checkout",
                "System.Description": "<p>story text</p>",
                "Microsoft.VSTS.TCM.ReproSteps": "<p>steps</p>",
                "System.State": "Active",
                "System.IterationPath": "P\\Sprint 1",
                "System.Tags": "a; b",
                "Custom.Release": "2026.1",
                "Microsoft.VSTS.Scheduling.StoryPoints": 5,
                "Custom.Risk": "High",
                "System.AreaPath": "P\\Web",
                "System.AssignedTo": {"uniqueName": "ann@example.com", "displayName": "Ann"},
                "System.CreatedBy": {"uniqueName": "bob@example.com", "displayName": "Bob"},
                "System.Reason": "New",
                "System.CommentCount": 2,
                "Microsoft.VSTS.Common.Priority": 2,
            });
            let whole = WorkItem::from_json(&json!({"id": 7, "rev": 4, "fields": fields})).unwrap();
            let raw = RawValue::from_string(fields.to_string()).unwrap();
            let part = WorkItem::from_parts(7, 4, &raw, None, |f| read.contains(f)).unwrap();
            assert!(part.fields.len() < whole.fields.len());
            assert!(whole
                .fields
                .keys()
                .all(|f| read.contains(f) == part.fields.contains_key(f)));
            let host = |wi: &WorkItem| to_host(&ctx, wi, "h".into(), None, None).unwrap();
            let from_whole = host(&whole).expect("mapped");
            assert_eq!(host(&part), Some(from_whole.clone()), "{ty}");
            // Every part of the mapping brought a value, so a field left out would show.
            assert!(from_whole.description.is_some() && from_whole.sprint.is_some());
            assert!(from_whole.status.is_some() && !from_whole.releases.is_empty());
            assert!(!from_whole.tags.is_empty());
            assert!(from_whole.fields.iter().all(|f| f.value.is_some()));
            assert_eq!(from_whole.fields.len(), 4);
        }
    }
}
