//! Fingerprints of mapped values: equal fingerprints mean "nothing to sync", which is how echoes
//! of our own writes are recognised without filtering by user.

use crate::api::HostItem;
use crate::core::values::format_tags;
use sha2::{Digest, Sha256};

/// A fingerprint of the values a host item carries (order of fields and tags does not matter).
pub fn of_host_item(item: &HostItem) -> String {
    let mut canonical = item.clone();
    canonical.fields.sort_by(|a, b| a.field.cmp(&b.field));
    canonical.fields.retain(|f| f.value.is_some());
    canonical.tags = vec![format_tags(&canonical.tags).to_ascii_lowercase()];
    canonical.releases.sort();
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
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
        b.title = "U".into();
        assert_ne!(of_host_item(&a), of_host_item(&b));
    }
}
