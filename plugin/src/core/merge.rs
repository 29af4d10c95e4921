//! Three-way merge of one item, field by field. `base` holds the values both sides last agreed
//! on; a side "changed" a field when its value differs from `base`. A field changed on one side
//! flows to the other; changed on both, the owner side wins. This is what keeps a sync from
//! overwriting an edit made on the other side since the last sync (no lost updates).

use crate::api::{Direction, FieldEntry, FieldMapping, FieldValue, HostItem, Side};
use crate::core::values::{same_number, same_tags};

/// The built-in parts of an item and who owns them when both sides changed them: ADO owns the
/// workflow (state, iteration), the host owns the product data.
const BUILT_INS: [(&str, Side); 6] = [
    ("title", Side::Host),
    ("description", Side::Host),
    ("parent", Side::Host),
    ("status", Side::Ado),
    ("sprint", Side::Ado),
    ("tags", Side::Host),
];

/// A field changed on both sides, and how it was settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The host field (or built-in name).
    pub field: String,
    /// The side whose value was kept.
    pub winner: Side,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The values both sides should hold.
    pub target: HostItem,
    /// Fields whose value comes from ADO (changed in ADO, or ADO won).
    pub from_ado: Vec<String>,
    /// Fields whose value comes from the host.
    pub from_host: Vec<String>,
    /// Fields changed on both sides.
    pub conflicts: Vec<Conflict>,
}

/// One part of an item, borrowed from it.
#[derive(Clone, Copy, PartialEq)]
enum Part<'a> {
    Text(Option<&'a str>),
    Tags(&'a [String]),
    Value(Option<&'a FieldValue>),
}

fn same(a: Part, b: Part) -> bool {
    match (a, b) {
        (Part::Tags(x), Part::Tags(y)) => same_tags(x, y),
        (Part::Value(Some(FieldValue::Number(x))), Part::Value(Some(FieldValue::Number(y)))) => {
            same_number(*x, *y)
        }
        _ => a == b,
    }
}

fn get<'a>(item: &'a HostItem, field: &str) -> Part<'a> {
    match field {
        "title" => Part::Text(Some(&item.title)),
        "description" => Part::Text(item.description.as_deref()),
        "parent" => Part::Text(item.parent.as_deref()),
        "status" => Part::Text(item.status.as_deref()),
        "sprint" => Part::Text(item.sprint.as_deref()),
        "tags" => Part::Tags(&item.tags),
        "releases" => Part::Tags(&item.releases),
        other => Part::Value(
            item.fields
                .iter()
                .find(|f| f.field == other)
                .and_then(|f| f.value.as_ref()),
        ),
    }
}

fn set(item: &mut HostItem, field: &str, part: Part) {
    let text = |v: Option<&str>| v.map(str::to_string);
    match (field, part) {
        ("title", Part::Text(v)) => item.title = v.unwrap_or_default().to_string(),
        ("description", Part::Text(v)) => item.description = text(v),
        ("parent", Part::Text(v)) => item.parent = text(v),
        ("status", Part::Text(v)) => item.status = text(v),
        ("sprint", Part::Text(v)) => item.sprint = text(v),
        ("tags", Part::Tags(v)) => item.tags = v.to_vec(),
        ("releases", Part::Tags(v)) => item.releases = v.to_vec(),
        (other, Part::Value(v)) => match item.fields.iter_mut().find(|f| f.field == other) {
            Some(entry) => entry.value = v.cloned(),
            None => item.fields.push(FieldEntry {
                field: other.to_string(),
                value: v.cloned(),
            }),
        },
        _ => {}
    }
}

/// Merge `host` and `ado` (both already in host terms) over `base`. Without a base (first sync
/// of a pair) every field with a value on only one side takes it, and differing values go to the
/// owner. Custom fields follow their mapping's direction and owner.
pub fn merge(
    base: Option<&HostItem>,
    host: &HostItem,
    ado: &HostItem,
    fields: &[FieldMapping],
) -> Merged {
    let mut target = host.clone();
    let (mut from_ado, mut from_host, mut conflicts) = (vec![], vec![], vec![]);
    let mut parts: Vec<(String, Side, Direction)> = BUILT_INS
        .iter()
        .map(|(f, s)| (f.to_string(), *s, Direction::Both))
        .collect();
    for fm in fields {
        if let Some(p) = parts.iter_mut().find(|(f, _, _)| f == &fm.host_field) {
            p.1 = fm.owner;
            p.2 = fm.direction;
        } else {
            parts.push((fm.host_field.clone(), fm.owner, fm.direction));
        }
    }
    for (field, owner, direction) in parts {
        let (h, a) = (get(host, &field), get(ado, &field));
        if same(h, a) {
            continue;
        }
        let (host_changed, ado_changed) = match base {
            Some(b) => {
                let b = get(b, &field);
                (!same(h, b), !same(a, b))
            }
            None => (true, true),
        };
        let take_ado = match direction {
            Direction::ToHost => true,
            Direction::ToAdo => false,
            Direction::Both => match (host_changed, ado_changed) {
                (true, false) => false,
                (false, true) => true,
                _ => {
                    let winner = if base.is_none() && get_is_empty(h) {
                        Side::Ado
                    } else if base.is_none() && get_is_empty(a) {
                        Side::Host
                    } else {
                        owner
                    };
                    if base.is_some() {
                        conflicts.push(Conflict {
                            field: field.clone(),
                            winner,
                        });
                    }
                    winner == Side::Ado
                }
            },
        };
        if take_ado {
            set(&mut target, &field, a);
            from_ado.push(field);
        } else {
            from_host.push(field);
        }
    }
    target.fields.sort_by(|x, y| x.field.cmp(&y.field));
    Merged {
        target,
        from_ado,
        from_host,
        conflicts,
    }
}

fn get_is_empty(p: Part) -> bool {
    match p {
        Part::Text(v) => v.is_none_or(str::is_empty),
        Part::Tags(v) => v.is_empty(),
        Part::Value(v) => v.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(item: &HostItem, field: &str) -> Option<FieldValue> {
        match get(item, field) {
            Part::Value(v) => v.cloned(),
            _ => None,
        }
    }

    fn item(title: &str, status: &str, effort: Option<f64>) -> HostItem {
        HostItem {
            id: "h".into(),
            item_type: "story".into(),
            title: title.into(),
            description: None,
            parent: None,
            status: Some(status.into()),
            sprint: None,
            releases: vec![],
            tags: vec![],
            fields: vec![FieldEntry {
                field: "effort".into(),
                value: effort.map(FieldValue::Number),
            }],
        }
    }

    fn effort_mapping(owner: Side) -> Vec<FieldMapping> {
        vec![FieldMapping {
            host_field: "effort".into(),
            ado_field: "X".into(),
            direction: Direction::Both,
            owner,
        }]
    }

    #[test]
    fn one_sided_changes_flow_across() {
        let base = item("A", "backlog", Some(1.0));
        let host = item("A2", "backlog", Some(1.0));
        let ado = item("A", "done", Some(3.0));
        let m = merge(Some(&base), &host, &ado, &effort_mapping(Side::Host));
        assert_eq!(m.target.title, "A2");
        assert_eq!(m.target.status.as_deref(), Some("done"));
        assert_eq!(custom(&m.target, "effort"), Some(FieldValue::Number(3.0)));
        assert!(m.conflicts.is_empty());
        assert_eq!(m.from_host, vec!["title"]);
    }

    #[test]
    fn both_sided_changes_go_to_the_owner() {
        let base = item("A", "backlog", Some(1.0));
        let host = item("H", "in-progress", Some(2.0));
        let ado = item("D", "done", Some(5.0));
        let m = merge(Some(&base), &host, &ado, &effort_mapping(Side::Ado));
        assert_eq!(m.target.title, "H", "host owns the title");
        assert_eq!(
            m.target.status.as_deref(),
            Some("done"),
            "ADO owns the status"
        );
        assert_eq!(
            custom(&m.target, "effort"),
            Some(FieldValue::Number(5.0)),
            "mapping says ADO owns effort"
        );
        assert_eq!(m.conflicts.len(), 3);
    }

    #[test]
    fn directions_are_one_way() {
        let base = item("A", "backlog", Some(1.0));
        let host = item("A", "backlog", Some(2.0));
        let ado = item("A", "backlog", Some(1.0));
        let to_host_only = vec![FieldMapping {
            host_field: "effort".into(),
            ado_field: "X".into(),
            direction: Direction::ToHost,
            owner: Side::Host,
        }];
        let m = merge(Some(&base), &host, &ado, &to_host_only);
        assert_eq!(
            custom(&m.target, "effort"),
            Some(FieldValue::Number(1.0)),
            "host edits of a to-host field are overwritten"
        );
    }

    #[test]
    fn first_sync_fills_empty_sides() {
        let mut host = item("A", "backlog", None);
        host.description = Some("<p>host</p>".into());
        let ado = item("A", "backlog", Some(8.0));
        let m = merge(None, &host, &ado, &effort_mapping(Side::Host));
        assert_eq!(custom(&m.target, "effort"), Some(FieldValue::Number(8.0)));
        assert_eq!(m.target.description.as_deref(), Some("<p>host</p>"));
    }
}
