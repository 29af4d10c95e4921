//! Fingerprints of mapped values: equal fingerprints mean "nothing to sync", which is how echoes
//! of our own writes are recognised without filtering by user.

use crate::api::{FieldValue, HostItem};
use crate::core::values::format_tags;
use xxhash_rust::xxh3::Xxh3;

/// The values a fingerprint covers, borrowed and in a canonical order: fields by name (empty
/// ones left out), tags as one case-insensitive list, releases sorted.
#[derive(PartialEq)]
struct Canonical<'a> {
    id: &'a str,
    item_type: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    parent: Option<&'a str>,
    status: Option<&'a str>,
    sprint: Option<&'a str>,
    releases: Vec<&'a str>,
    tags: String,
    fields: Vec<(&'a str, Value<'a>)>,
}

/// A field value compared as its fingerprint sees it (serialised, NaN is `null` like any NaN).
struct Value<'a>(&'a FieldValue);

impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (FieldValue::Number(a), FieldValue::Number(b)) => a == b || a.is_nan() && b.is_nan(),
            (a, b) => a == b,
        }
    }
}

impl<'a> Canonical<'a> {
    fn of(item: &'a HostItem) -> Self {
        let mut fields: Vec<(&str, Value)> = item
            .fields
            .iter()
            .filter_map(|f| f.value.as_ref().map(|v| (f.field.as_str(), Value(v))))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        let mut releases: Vec<&str> = item.releases.iter().map(String::as_str).collect();
        releases.sort_unstable();
        Canonical {
            id: &item.id,
            item_type: &item.item_type,
            title: &item.title,
            description: item.description.as_deref(),
            parent: item.parent.as_deref(),
            status: item.status.as_deref(),
            sprint: item.sprint.as_deref(),
            releases,
            tags: format_tags(&item.tags).to_ascii_lowercase(),
            fields,
        }
    }
}

/// Whether two items carry the same values, as their fingerprints would tell, without
/// computing them (this is on every webhook's path).
pub fn same_values(a: &HostItem, b: &HostItem) -> bool {
    a.title == b.title && Canonical::of(a) == Canonical::of(b)
}

/// A fingerprint of the values a host item carries (order of fields and tags does not matter):
/// XXH3-128 over the canonical values, length-prefixed so no two items share an encoding (a
/// fingerprint tells changes apart; it guards nothing against an attacker).
pub fn of_host_item(item: &HostItem) -> String {
    let c = Canonical::of(item);
    let mut h = Xxh3::new();
    let mut text = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for s in [c.id, c.item_type, c.title] {
        text(s);
    }
    for o in [c.description, c.parent, c.status, c.sprint] {
        match o {
            Some(s) => text(s),
            None => text("\u{0}none"),
        }
    }
    text(&c.tags);
    text(&c.releases.len().to_string());
    for r in &c.releases {
        text(r);
    }
    for (name, Value(v)) in &c.fields {
        text(name);
        match v {
            FieldValue::Text(s) => (text("text"), text(s)),
            FieldValue::RichText(s) => (text("rich"), text(s)),
            FieldValue::Number(n) if n.is_nan() => (text("number"), text("NaN")),
            FieldValue::Number(n) => (text("number"), text(&n.to_string())),
            FieldValue::SingleSelect(s) => (text("select"), text(s)),
            FieldValue::MultiSelect(all) => {
                text("multi");
                text(&all.len().to_string());
                for s in all {
                    text(s);
                }
                continue;
            }
            FieldValue::Date(s) => (text("date"), text(s)),
            FieldValue::User(s) => (text("user"), text(s)),
            FieldValue::Boolean(b) => (text("boolean"), text(if *b { "true" } else { "false" })),
            FieldValue::TreePath(s) => (text("tree-path"), text(s)),
        };
    }
    format!("{:032x}", h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FieldEntry, FieldValue};

    fn item() -> HostItem {
        HostItem {
            id: "h1".into(),
            item_type: "story".into(),
            title: "T".into(),
            description: None,
            parent: None,
            status: Some("todo".into()),
            sprint: None,
            releases: vec![],
            tags: vec!["b".into(), "a".into()],
            fields: vec![
                FieldEntry {
                    field: "x".into(),
                    value: Some(FieldValue::Number(1.0)),
                },
                FieldEntry {
                    field: "a".into(),
                    value: Some(FieldValue::Text("v".into())),
                },
            ],
        }
    }

    #[test]
    fn order_does_not_matter_but_values_do() {
        let a = item();
        let mut b = item();
        b.fields.reverse();
        b.tags.reverse();
        assert_eq!(of_host_item(&a), of_host_item(&b));
        assert!(same_values(&a, &b));
        b.title = "U".into();
        assert_ne!(of_host_item(&a), of_host_item(&b));
        assert!(!same_values(&a, &b));
    }

    #[test]
    fn same_values_agrees_with_fingerprints() {
        let a = item();
        let variants: Vec<fn(&mut HostItem)> = vec![
            |i| i.tags = vec!["A".into(), "B".into()],
            |i| i.tags.push("c".into()),
            |i| i.fields[0].value = None,
            |i| i.fields[0].value = Some(FieldValue::Number(2.0)),
            |i| {
                i.fields.push(FieldEntry {
                    field: "z".into(),
                    value: None,
                })
            },
            |i| i.releases = vec!["r2".into(), "r1".into()],
            |i| i.description = Some("d".into()),
            |i| i.parent = Some("p".into()),
            |i| i.status = None,
            |i| i.sprint = Some("s".into()),
            |i| i.item_type = "bug".into(),
            |i| i.fields[0].value = Some(FieldValue::Number(f64::NAN)),
        ];
        for change in variants {
            let mut b = item();
            change(&mut b);
            assert_eq!(
                same_values(&a, &b),
                of_host_item(&a) == of_host_item(&b),
                "{b:?}"
            );
        }
    }
}
