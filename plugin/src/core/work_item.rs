//! A work item as the REST API returns it, read leniently: empty fields are missing, lists may
//! arrive as `value` or `values`, relations only with `$expand=relations`.

use crate::api::{Result, SyncError};
use serde_json::{Map, Value};

/// Link type of the parent end of a hierarchy link (on the child).
pub const PARENT_REL: &str = "System.LinkTypes.Hierarchy-Reverse";

/// A work item's id, revision, fields and relations.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// Work item id.
    pub id: i64,
    /// Revision.
    pub rev: i64,
    /// Fields by reference name (empty fields are absent).
    pub fields: Map<String, Value>,
    /// Relations `(rel, target url)`, in ADO's order (indexes matter for removal).
    pub relations: Vec<(String, String)>,
}

impl WorkItem {
    /// Read a work item from REST JSON.
    pub fn from_json(value: &Value) -> Result<WorkItem> {
        let fields = value
            .get("fields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Self::with_fields(value, fields)
    }

    /// Read a work item from REST JSON it may keep (its fields are moved, not copied).
    pub fn from_owned(mut value: Value) -> Result<WorkItem> {
        let fields = match value.get_mut("fields").map(Value::take) {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        Self::with_fields(&value, fields)
    }

    fn with_fields(value: &Value, fields: Map<String, Value>) -> Result<WorkItem> {
        let id = value
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| SyncError::BadPayload("work item without a numeric id".into()))?;
        let rev = value
            .get("rev")
            .and_then(Value::as_i64)
            .or_else(|| fields.get("System.Rev").and_then(Value::as_i64))
            .unwrap_or(0);
        let relations = value
            .get("relations")
            .and_then(Value::as_array)
            .map(|rels| {
                rels.iter()
                    .filter_map(|r| {
                        Some((
                            r.get("rel")?.as_str()?.to_string(),
                            r.get("url")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(WorkItem {
            id,
            rev,
            fields,
            relations,
        })
    }

    /// A string field.
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// `System.WorkItemType`.
    pub fn work_item_type(&self) -> &str {
        self.str_field("System.WorkItemType").unwrap_or("")
    }

    /// `System.State`.
    pub fn state(&self) -> &str {
        self.str_field("System.State").unwrap_or("")
    }

    /// `System.TeamProject`.
    pub fn project(&self) -> &str {
        self.str_field("System.TeamProject").unwrap_or("")
    }

    /// The parent's work item id, from the hierarchy link.
    pub fn parent_id(&self) -> Option<i64> {
        self.relations
            .iter()
            .find(|(rel, _)| rel == PARENT_REL)
            .and_then(|(_, url)| id_from_url(url))
    }

    /// Index of the parent relation, for removal.
    pub fn parent_relation_index(&self) -> Option<usize> {
        self.relations.iter().position(|(rel, _)| rel == PARENT_REL)
    }
}

/// The work item id at the end of a REST URL (`…/workItems/42`).
pub fn id_from_url(url: &str) -> Option<i64> {
    url.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

/// The items of a list envelope: `{"count","value"}` (or `values`), or a bare array.
pub fn list_items(value: &Value) -> &[Value] {
    if let Some(arr) = value.as_array() {
        return arr;
    }
    value
        .get("value")
        .or_else(|| value.get("values"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_work_item_with_parent() {
        let wi = WorkItem::from_json(&json!({
            "id": 5, "rev": 3,
            "fields": {"System.WorkItemType": "Task", "System.State": "New"},
            "relations": [
                {"rel": "System.LinkTypes.Related", "url": "https://x/_apis/wit/workItems/9"},
                {"rel": PARENT_REL, "url": "https://x/_apis/wit/workItems/2"}
            ]
        }))
        .unwrap();
        assert_eq!(wi.parent_id(), Some(2));
        assert_eq!(wi.parent_relation_index(), Some(1));
        assert_eq!(wi.work_item_type(), "Task");
    }

    #[test]
    fn rejects_missing_id_and_reads_envelopes() {
        assert!(WorkItem::from_json(&json!({"fields": {}})).is_err());
        assert_eq!(list_items(&json!({"count": 1, "values": [1]})).len(), 1);
        assert_eq!(list_items(&json!([1, 2])).len(), 2);
        assert_eq!(list_items(&json!({"x": 1})).len(), 0);
    }
}
