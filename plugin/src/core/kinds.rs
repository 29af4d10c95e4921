//! ADO field types and the host field kinds they correspond to.

use crate::api::FieldKind;

/// The host kind of an ADO field type (`string`, `html`, `double`, …). `picklist` tells whether a
/// `string` field is a picklist; `identity` whether it holds people.
pub fn kind_of_ado_type(ado_type: &str, is_picklist: bool, is_identity: bool) -> FieldKind {
    if is_identity {
        return FieldKind::User;
    }
    match ado_type {
        "html" | "history" => FieldKind::RichText,
        "integer" | "double" | "picklistInteger" | "picklistDouble" => {
            if is_picklist && ado_type.starts_with("picklist") {
                FieldKind::SingleSelect
            } else {
                FieldKind::Number
            }
        }
        "dateTime" => FieldKind::Date,
        "boolean" => FieldKind::Boolean,
        "identity" => FieldKind::User,
        "treePath" => FieldKind::TreePath,
        "picklistString" => FieldKind::SingleSelect,
        "string" if is_picklist => FieldKind::SingleSelect,
        // plainText, string, guid and anything new are text.
        _ => FieldKind::Text,
    }
}

/// Whether a host field of `host` kind can be kept in an ADO field of `ado` kind: the same kind,
/// or a multi-select in a text field (ADO has no multi-select type; lists live in text fields as
/// `a; b`, as tags do).
pub fn fits(host: FieldKind, ado: FieldKind) -> bool {
    host == ado || (host == FieldKind::MultiSelect && ado == FieldKind::Text)
}

/// A readable name of a host field kind, for error messages.
pub fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::RichText => "rich text",
        FieldKind::Number => "number",
        FieldKind::SingleSelect => "single select",
        FieldKind::MultiSelect => "multi select",
        FieldKind::Date => "date",
        FieldKind::User => "user",
        FieldKind::Boolean => "boolean",
        FieldKind::TreePath => "tree path",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_select_fits_a_text_field_and_nothing_else_crosses_kinds() {
        assert!(fits(FieldKind::MultiSelect, FieldKind::Text));
        assert!(fits(FieldKind::Number, FieldKind::Number));
        assert!(!fits(FieldKind::Text, FieldKind::MultiSelect));
        assert!(!fits(FieldKind::Text, FieldKind::RichText));
        assert!(!fits(FieldKind::MultiSelect, FieldKind::SingleSelect));
    }

    #[test]
    fn ado_types_map_to_kinds() {
        assert_eq!(kind_of_ado_type("html", false, false), FieldKind::RichText);
        assert_eq!(kind_of_ado_type("double", false, false), FieldKind::Number);
        assert_eq!(kind_of_ado_type("integer", false, false), FieldKind::Number);
        assert_eq!(
            kind_of_ado_type("picklistString", true, false),
            FieldKind::SingleSelect
        );
        assert_eq!(
            kind_of_ado_type("string", true, false),
            FieldKind::SingleSelect
        );
        assert_eq!(kind_of_ado_type("string", false, true), FieldKind::User);
        assert_eq!(
            kind_of_ado_type("treePath", false, false),
            FieldKind::TreePath
        );
        assert_eq!(kind_of_ado_type("plainText", false, false), FieldKind::Text);
        assert_eq!(kind_of_ado_type("dateTime", false, false), FieldKind::Date);
    }
}
