//! A work item as the REST API returns it, read leniently: empty fields are missing, lists may
//! arrive as `value` or `values`, relations only with `$expand=relations`.

use crate::api::{Result, SyncError};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

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
        Ok(WorkItem {
            id,
            rev,
            fields,
            relations: relations_of(value.get("relations")),
        })
    }

    /// A work item from a payload's parts, with only the `fields` that `wanted` names: the
    /// others are skipped while parsing, without building values for them.
    pub fn from_parts(
        id: i64,
        rev: i64,
        fields: &RawValue,
        relations: Option<&RawValue>,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<WorkItem> {
        let mut de = serde_json::Deserializer::from_str(fields.get());
        let fields = Named(&wanted)
            .deserialize(&mut de)
            .and_then(|f| de.end().map(|()| f))
            .map_err(|e| SyncError::BadPayload(format!("work item {id}: fields: {e}")))?;
        Ok(WorkItem {
            id,
            rev,
            fields,
            relations: relations.map(relations_from_text).unwrap_or_default(),
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

/// Relations `(rel, url)` of a `relations` array; entries without both are skipped.
fn relations_of(relations: Option<&Value>) -> Vec<(String, String)> {
    relations
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
        .unwrap_or_default()
}

/// Relations `(rel, url)` of a `relations` array in JSON text. The usual shape (an array of
/// objects) is read without building values for the entries' other parts (`attributes`).
fn relations_from_text(raw: &RawValue) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Entry {
        rel: Option<Value>,
        url: Option<Value>,
    }
    match serde_json::from_str::<Vec<Entry>>(raw.get()) {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|e| match (e.rel?, e.url?) {
                (Value::String(rel), Value::String(url)) => Some((rel, url)),
                _ => None,
            })
            .collect(),
        Err(_) => relations_of(serde_json::from_str::<Value>(raw.get()).ok().as_ref()),
    }
}

/// Reads a JSON object of fields, keeping the ones whose name passes the filter.
struct Named<'f, F>(&'f F);

/// An object key, borrowed from the text unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Named<'_, F> {
    type Value = Map<String, Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Named<'_, F> {
    type Value = Map<String, Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(name)) = map.next_key()? {
            if (self.0)(&name) {
                out.insert(name.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
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
    fn parts_keep_only_the_wanted_fields() {
        let raw = |text: &str| -> Box<RawValue> { serde_json::from_str(text).unwrap() };
        let fields = raw(
            r#"{"System.Title": "T", "System.CreatedBy": {"displayName": "A", "_links": {}},
                "Custom.\u0052isk": "High", "System.State": "New"}"#,
        );
        let wi = WorkItem::from_parts(5, 3, &fields, None, |f| f != "System.CreatedBy").unwrap();
        assert_eq!((wi.id, wi.rev), (5, 3));
        assert_eq!(
            Value::Object(wi.fields),
            json!({"System.Title": "T", "Custom.Risk": "High", "System.State": "New"})
        );
        assert!(WorkItem::from_parts(5, 3, &raw("[1]"), None, |_| true).is_err());
    }

    #[test]
    fn parts_read_relations_of_any_shape() {
        let raw = |text: &str| -> Box<RawValue> { serde_json::from_str(text).unwrap() };
        let fields = raw("{}");
        let relations = |text: &str| {
            WorkItem::from_parts(5, 3, &fields, Some(&raw(text)), |_| true)
                .unwrap()
                .relations
        };
        let child = "https://x/_apis/wit/workItems/8";
        // The usual shape, attributes skipped.
        let usual = format!(
            r#"[{{"rel": "System.LinkTypes.Hierarchy-Forward", "url": "{child}", "attributes": {{"isLocked": false}}}}]"#
        );
        assert_eq!(
            relations(&usual),
            [(
                "System.LinkTypes.Hierarchy-Forward".to_string(),
                child.to_string()
            )]
        );
        // Odd entries (no string url, not an object) are skipped, the rest kept.
        let odd = r#"[{"rel": "System.LinkTypes.Related", "url": 7}, 3,
            {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "https://x/_apis/wit/workItems/2"}]"#;
        let wi = WorkItem {
            relations: relations(odd),
            ..WorkItem::from_parts(5, 3, &fields, None, |_| true).unwrap()
        };
        assert_eq!((wi.relations.len(), wi.parent_id()), (1, Some(2)));
        assert!(relations("null").is_empty());
        assert!(relations(r#"{"rel": "x"}"#).is_empty());
    }

    #[test]
    fn rejects_missing_id_and_reads_envelopes() {
        assert!(WorkItem::from_json(&json!({"fields": {}})).is_err());
        assert_eq!(list_items(&json!({"count": 1, "values": [1]})).len(), 1);
        assert_eq!(list_items(&json!([1, 2])).len(), 2);
        assert_eq!(list_items(&json!({"x": 1})).len(), 0);
    }
}
