//! Field values between ADO's JSON and the host's typed values: tags, identities, numbers.

use crate::api::{FieldKind, FieldValue};
use serde_json::Value;

/// Split `System.Tags` (`"a; b"`) into trimmed, non-empty tags, dropping case-insensitive repeats.
pub fn parse_tags(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in raw.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            out.push(tag.to_string());
        }
    }
    out
}

/// Join tags the way ADO writes them.
pub fn format_tags(tags: &[String]) -> String {
    let mut sorted: Vec<&String> = tags.iter().collect();
    sorted.sort_by_key(|t| t.to_ascii_lowercase());
    sorted.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    sorted
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Tags compared as ADO does: order and case do not matter.
pub fn same_tags(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut n: Vec<String> = v.iter().map(|t| t.trim().to_ascii_lowercase()).collect();
        n.sort();
        n.dedup();
        n
    };
    norm(a) == norm(b)
}

/// The unique name (e-mail/UPN) of an identity value: an IdentityRef object, a
/// `"Display Name <name@example.com>"` string, or a bare unique name.
pub fn identity_unique_name(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get("uniqueName")
            .and_then(Value::as_str)
            .or_else(|| map.get("displayName").and_then(Value::as_str))
            .map(str::to_string),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match (s.rfind('<'), s.rfind('>')) {
                (Some(open), Some(close)) if open < close => {
                    Some(s[open + 1..close].trim().to_string())
                }
                _ => Some(s.to_string()),
            }
        }
        _ => None,
    }
}

/// Convert an ADO field value to a host value of `kind`. `None` when the value is empty or cannot
/// be read as that kind.
pub fn ado_to_host(kind: FieldKind, value: &Value) -> Option<FieldValue> {
    let text = || match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let out = match kind {
        FieldKind::Text => FieldValue::Text(text()?),
        FieldKind::RichText => FieldValue::RichText(text()?),
        // A number read from text may be "NaN" or overflow to infinity; neither is a value ADO
        // can hold (and NaN never equals itself, so the pair would never settle).
        FieldKind::Number => FieldValue::Number(match value {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse().ok().filter(|n: &f64| n.is_finite())?,
            _ => return None,
        }),
        FieldKind::SingleSelect => FieldValue::SingleSelect(text()?),
        FieldKind::MultiSelect => FieldValue::MultiSelect(parse_tags(&text()?)),
        FieldKind::Date => FieldValue::Date(text()?),
        FieldKind::User => FieldValue::User(identity_unique_name(value)?),
        FieldKind::Boolean => FieldValue::Boolean(match value {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => return None,
        }),
        FieldKind::TreePath => FieldValue::TreePath(text()?),
    };
    match &out {
        FieldValue::Text(s) | FieldValue::RichText(s) | FieldValue::SingleSelect(s)
            if s.is_empty() =>
        {
            None
        }
        _ => Some(out),
    }
}

/// The JSON ADO expects for a host value.
pub fn host_to_ado(value: &FieldValue) -> Value {
    match value {
        FieldValue::Text(s)
        | FieldValue::RichText(s)
        | FieldValue::SingleSelect(s)
        | FieldValue::Date(s)
        | FieldValue::User(s)
        | FieldValue::TreePath(s) => Value::String(s.clone()),
        FieldValue::Number(n) => serde_json::Number::from_f64(*n)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        FieldValue::MultiSelect(v) => Value::String(v.join(";")),
        FieldValue::Boolean(b) => Value::Bool(*b),
    }
}

/// Two numbers are the same value: equal within rounding, or both the same infinity, or both
/// NaN (an item handed in by the host may hold one; it must still equal itself).
pub fn same_number(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() < 1e-9 || (a.is_nan() && b.is_nan())
}

/// Whether an ADO value and a host value mean the same (used to skip no-op writes).
pub fn same_value(kind: FieldKind, ado: Option<&Value>, host: Option<&FieldValue>) -> bool {
    let from_ado = ado.and_then(|v| ado_to_host(kind, v));
    match (from_ado.as_ref(), host) {
        (None, None) => true,
        (Some(FieldValue::Number(a)), Some(FieldValue::Number(b))) => same_number(*a, *b),
        (Some(FieldValue::User(a)), Some(FieldValue::User(b))) => a.eq_ignore_ascii_case(b),
        (Some(FieldValue::TreePath(a)), Some(FieldValue::TreePath(b))) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_parse_and_format() {
        assert_eq!(parse_tags(" a; b ;;A; c"), vec!["a", "b", "c"]);
        assert_eq!(
            format_tags(&["q3".into(), "Customer".into()]),
            "Customer; q3"
        );
        assert!(same_tags(
            &["A".into(), "b".into()],
            &["B".into(), "a".into()]
        ));
    }

    #[test]
    fn identities_in_every_shape() {
        assert_eq!(
            identity_unique_name(&json!({"displayName":"Dana","uniqueName":"dana@x.example"})),
            Some("dana@x.example".into())
        );
        assert_eq!(
            identity_unique_name(&json!("Dana Engineer <dana@x.example>")),
            Some("dana@x.example".into())
        );
        assert_eq!(
            identity_unique_name(&json!("dana@x.example")),
            Some("dana@x.example".into())
        );
        assert_eq!(identity_unique_name(&json!("")), None);
        assert_eq!(identity_unique_name(&json!(3)), None);
    }

    #[test]
    fn values_convert_by_kind() {
        assert_eq!(
            ado_to_host(FieldKind::Number, &json!(5.0)),
            Some(FieldValue::Number(5.0))
        );
        assert_eq!(
            ado_to_host(FieldKind::Number, &json!("8")),
            Some(FieldValue::Number(8.0))
        );
        assert_eq!(ado_to_host(FieldKind::Number, &json!("eight")), None);
        assert_eq!(ado_to_host(FieldKind::Text, &json!("")), None);
        assert_eq!(host_to_ado(&FieldValue::Number(3.0)), json!(3.0));
        assert!(same_value(
            FieldKind::Number,
            Some(&json!(3)),
            Some(&FieldValue::Number(3.0))
        ));
        assert!(!same_value(FieldKind::Text, Some(&json!("a")), None));
    }
}
