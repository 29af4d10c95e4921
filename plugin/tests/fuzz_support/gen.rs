//! Structured inputs for the mapping-core target, built from fuzz bytes with `arbitrary`.
//! Names come mostly from a small vocabulary so that the two sides of a mapping meet often (a
//! random string almost never names an existing type or field), with arbitrary text mixed in.

use ado_sync_plugin::api::{
    AdoField, AdoIteration, AdoState, AdoWorkItemType, DeletePolicy, Direction, FieldDef,
    FieldEntry, FieldKind, FieldMapping, FieldValue, HostItem, ItemType, Mapping, ProjectDiscovery,
    Release, Side, Sprint, SprintMapping, Status, StatusCategory, StatusMapping, TypeMapping,
    WorkspaceSchema,
};
use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value};

const WORDS: &[&str] = &[
    "",
    " ",
    "Epic",
    "Feature",
    "User Story",
    "Task",
    "Bug",
    "Issue",
    "Product Backlog Item",
    "epic",
    "feature",
    "story",
    "task",
    "product",
    "New",
    "Active",
    "Resolved",
    "Closed",
    "Removed",
    "Done",
    "todo",
    "doing",
    "done",
    "title",
    "description",
    "tags",
    "effort",
    "area",
    "assignee",
    "value",
    "Agile",
    "Scrum",
    "CMMI",
    "Basic",
    "P",
    "P\\Sprint 1",
    "\\P\\Iteration\\Sprint 1",
    "\\P\\Area\\Web",
    "\\\\",
    "Sprint 1",
    "ado-sync-0123456789ab",
    "a; b;;A",
    "Dana <dana@example.com>",
    "<>",
    "><",
    "it's",
    "é",
    "NaN",
    "1e999",
    "-0",
    "https://dev.azure.com/org",
    "https://org.visualstudio.com/",
    "http://ado.local:8080/tfs/DefaultCollection//",
];

const FIELD_NAMES: &[&str] = &[
    "System.Title",
    "System.Description",
    "System.Tags",
    "System.State",
    "System.WorkItemType",
    "System.AreaPath",
    "System.IterationPath",
    "System.AssignedTo",
    "System.Rev",
    "System.TeamProject",
    "System.ChangedDate",
    "Microsoft.VSTS.Scheduling.StoryPoints",
    "Microsoft.VSTS.Scheduling.Effort",
    "Microsoft.VSTS.TCM.ReproSteps",
    "Microsoft.VSTS.Common.Priority",
    "Custom.X",
];

const RELS: &[&str] = &[
    "System.LinkTypes.Hierarchy-Reverse",
    "System.LinkTypes.Hierarchy-Forward",
    "System.LinkTypes.Related",
    "AttachedFile",
];

const KINDS: [FieldKind; 9] = [
    FieldKind::Text,
    FieldKind::RichText,
    FieldKind::Number,
    FieldKind::SingleSelect,
    FieldKind::MultiSelect,
    FieldKind::Date,
    FieldKind::User,
    FieldKind::Boolean,
    FieldKind::TreePath,
];

const CATEGORIES: [StatusCategory; 5] = [
    StatusCategory::Proposed,
    StatusCategory::InProgress,
    StatusCategory::Resolved,
    StatusCategory::Completed,
    StatusCategory::Removed,
];

/// A word: mostly from the vocabulary, sometimes arbitrary text.
pub fn word(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 6)? {
        u.arbitrary()
    } else {
        Ok(u.choose(WORDS)?.to_string())
    }
}

/// An ADO field reference name.
pub fn field_name(u: &mut Unstructured) -> Result<String> {
    if u.ratio(1, 5)? {
        word(u)
    } else {
        Ok(u.choose(FIELD_NAMES)?.to_string())
    }
}

fn list<T>(
    u: &mut Unstructured,
    max: usize,
    mut one: impl FnMut(&mut Unstructured) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| one(u)).collect()
}

fn opt<T>(
    u: &mut Unstructured,
    one: impl FnOnce(&mut Unstructured) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.arbitrary()? { Some(one(u)?) } else { None })
}

pub fn kind(u: &mut Unstructured) -> Result<FieldKind> {
    Ok(*u.choose(&KINDS)?)
}

pub fn category(u: &mut Unstructured) -> Result<StatusCategory> {
    Ok(*u.choose(&CATEGORIES)?)
}

fn direction(u: &mut Unstructured) -> Result<Direction> {
    Ok(*u.choose(&[Direction::ToAdo, Direction::ToHost, Direction::Both])?)
}

fn side(u: &mut Unstructured) -> Result<Side> {
    Ok(if u.arbitrary()? {
        Side::Host
    } else {
        Side::Ado
    })
}

/// A number: small integers, edge values and any `f64` (NaN and infinities included).
pub fn number(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => f64::from(u.int_in_range(-3i32..=10)?),
        1 => *u.choose(&[
            0.5,
            -0.0,
            1e-10,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ])?,
        _ => u.arbitrary()?,
    })
}

pub fn field_value(u: &mut Unstructured) -> Result<FieldValue> {
    Ok(match u.int_in_range(0..=8)? {
        0 => FieldValue::Text(word(u)?),
        1 => FieldValue::RichText(word(u)?),
        2 => FieldValue::Number(number(u)?),
        3 => FieldValue::SingleSelect(word(u)?),
        4 => FieldValue::MultiSelect(list(u, 3, word)?),
        5 => FieldValue::Date(word(u)?),
        6 => FieldValue::User(word(u)?),
        7 => FieldValue::Boolean(u.arbitrary()?),
        _ => FieldValue::TreePath(word(u)?),
    })
}

pub fn schema(u: &mut Unstructured) -> Result<WorkspaceSchema> {
    Ok(WorkspaceSchema {
        workspace_id: word(u)?,
        item_types: list(u, 6, |u| {
            Ok(ItemType {
                id: word(u)?,
                name: word(u)?,
                level: if u.ratio(1, 8)? {
                    u.arbitrary()?
                } else {
                    u.int_in_range(0..=5)?
                },
            })
        })?,
        statuses: list(u, 5, |u| {
            Ok(Status {
                id: word(u)?,
                name: word(u)?,
                category: category(u)?,
            })
        })?,
        sprints: list(u, 3, |u| {
            Ok(Sprint {
                id: word(u)?,
                name: word(u)?,
                start: opt(u, word)?,
                finish: opt(u, word)?,
            })
        })?,
        releases: list(u, 2, |u| {
            Ok(Release {
                id: word(u)?,
                name: word(u)?,
            })
        })?,
        fields: list(u, 6, |u| {
            Ok(FieldDef {
                id: word(u)?,
                name: word(u)?,
                kind: kind(u)?,
                options: list(u, 3, word)?,
            })
        })?,
    })
}

pub fn work_item_type(u: &mut Unstructured) -> Result<AdoWorkItemType> {
    Ok(AdoWorkItemType {
        name: word(u)?,
        reference_name: word(u)?,
        level: opt(u, |u| {
            if u.ratio(1, 8)? {
                u.arbitrary()
            } else {
                u.int_in_range(0..=4)
            }
        })?,
        states: list(u, 5, |u| {
            Ok(AdoState {
                name: word(u)?,
                category: category(u)?,
            })
        })?,
        fields: list(u, 4, field_name)?,
    })
}

pub fn project(u: &mut Unstructured) -> Result<ProjectDiscovery> {
    Ok(ProjectDiscovery {
        integration_id: word(u)?,
        process: word(u)?,
        work_item_types: list(u, 5, work_item_type)?,
        fields: list(u, 6, |u| {
            Ok(AdoField {
                reference_name: field_name(u)?,
                name: word(u)?,
                ado_type: word(u)?,
                kind: kind(u)?,
                read_only: u.arbitrary()?,
                allowed_values: list(u, 3, word)?,
            })
        })?,
        area_paths: list(u, 3, word)?,
        iterations: list(u, 3, |u| {
            Ok(AdoIteration {
                name: word(u)?,
                path: word(u)?,
                start: opt(u, word)?,
                finish: opt(u, word)?,
            })
        })?,
        tags: list(u, 3, word)?,
    })
}

pub fn mapping(u: &mut Unstructured) -> Result<Mapping> {
    Ok(Mapping {
        epic_is_product_level: u.arbitrary()?,
        types: list(u, 5, |u| {
            Ok(TypeMapping {
                host_type: word(u)?,
                ado_type: word(u)?,
            })
        })?,
        fields: list(u, 5, |u| {
            Ok(FieldMapping {
                host_field: word(u)?,
                ado_field: field_name(u)?,
                direction: direction(u)?,
                owner: side(u)?,
            })
        })?,
        statuses: list(u, 6, |u| {
            Ok(StatusMapping {
                host_status: word(u)?,
                ado_state: word(u)?,
                ado_type: opt(u, word)?,
            })
        })?,
        sprints: list(u, 3, |u| {
            Ok(SprintMapping {
                host_sprint: word(u)?,
                iteration_path: word(u)?,
            })
        })?,
        delete_policy: *u.choose(&[
            DeletePolicy::Unlink,
            DeletePolicy::SetRemoved,
            DeletePolicy::Recycle,
        ])?,
        default_area_path: opt(u, word)?,
    })
}

pub fn host_item(u: &mut Unstructured) -> Result<HostItem> {
    Ok(HostItem {
        id: word(u)?,
        item_type: word(u)?,
        title: word(u)?,
        description: opt(u, word)?,
        parent: opt(u, word)?,
        status: opt(u, word)?,
        sprint: opt(u, word)?,
        releases: list(u, 2, word)?,
        tags: list(u, 4, word)?,
        fields: list(u, 5, |u| {
            Ok(FieldEntry {
                field: word(u)?,
                value: opt(u, field_value)?,
            })
        })?,
    })
}

/// A JSON value, at most `depth` levels deep.
pub fn json(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let top = if depth == 0 { 4 } else { 6 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => match u.int_in_range(0..=2)? {
            0 => Value::from(u.int_in_range(-2i64..=10)?),
            1 => Value::from(u.arbitrary::<i64>()?),
            _ => serde_json::Number::from_f64(number(u)?)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        },
        3 | 4 => Value::String(word(u)?),
        5 => Value::Array(list(u, 3, |u| json(u, depth - 1))?),
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let key = field_name(u)?;
                map.insert(key, json(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// A work item id: mostly small and positive, sometimes anything.
pub fn id(u: &mut Unstructured) -> Result<i64> {
    if u.ratio(1, 8)? {
        u.arbitrary()
    } else {
        u.int_in_range(-1..=6)
    }
}

/// A work item as REST JSON: mostly well-shaped, with arbitrary values in its fields.
pub fn work_item_json(u: &mut Unstructured) -> Result<Value> {
    if u.ratio(1, 10)? {
        return json(u, 3);
    }
    let mut item = Map::new();
    item.insert("id".into(), Value::from(id(u)?));
    if u.arbitrary()? {
        item.insert("rev".into(), Value::from(id(u)?));
    }
    let mut fields = Map::new();
    for _ in 0..u.int_in_range(0..=8)? {
        let name = field_name(u)?;
        let value = if u.ratio(2, 3)? {
            Value::String(word(u)?)
        } else {
            json(u, 2)?
        };
        fields.insert(name, value);
    }
    item.insert("fields".into(), Value::Object(fields));
    if u.arbitrary()? {
        let relations = list(u, 3, |u| {
            let url = if u.ratio(3, 4)? {
                format!("https://dev.azure.com/org/_apis/wit/workItems/{}", id(u)?)
            } else {
                word(u)?
            };
            Ok(serde_json::json!({"rel": u.choose(RELS)?, "url": url}))
        })?;
        item.insert("relations".into(), Value::Array(relations));
    }
    Ok(Value::Object(item))
}
