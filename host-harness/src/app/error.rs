//! One error type for everything the runnable host does, with a stable `kind` that the CLI turns
//! into an exit code and the server into an HTTP status. Messages never contain secrets: the
//! plugin never echoes credentials, and the host's own messages name fields, not values.

use crate::api::SyncError;
use crate::runtime::errors::describe;
use crate::{CallError, HostError};
use serde_json::{json, Value};

/// What went wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The plugin answered with a typed (business) error.
    #[error("{}", describe(.0))]
    Plugin(SyncError),
    /// The host could not complete a call (component missing, trap, deadline).
    #[error(transparent)]
    Host(#[from] HostError),
    /// The database could not be read or written.
    #[error("database: {0}")]
    Storage(String),
    /// The operating system refused something (a socket, a file).
    #[error("{0}")]
    Io(String),
    /// The caller's input is wrong (a flag, a file, a request body); `field` names it.
    #[error("invalid {field}: {message}")]
    Input {
        /// The field, flag or file at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl From<CallError> for AppError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Plugin(e) => AppError::Plugin(e),
            CallError::Host(e) => AppError::Host(e),
        }
    }
}

impl From<crate::imports::storage::StorageFailure> for AppError {
    fn from(e: crate::imports::storage::StorageFailure) -> Self {
        AppError::Storage(e.0)
    }
}

impl AppError {
    /// A caller input error.
    pub fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Input {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A database error.
    pub fn storage(e: impl std::fmt::Display) -> Self {
        AppError::Storage(e.to_string())
    }

    /// A stable, kebab-case name: the WIT variant for plugin errors, `host`, `storage` or
    /// `invalid-input` otherwise.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Plugin(e) => match e {
                SyncError::InvalidConfig(_) => "invalid-config",
                SyncError::FieldTypeMismatch(_) => "field-type-mismatch",
                SyncError::AuthFailed(_) => "auth-failed",
                SyncError::PermissionDenied(_) => "permission-denied",
                SyncError::NotFound(_) => "not-found",
                SyncError::RateLimited(_) => "rate-limited",
                SyncError::Conflict(_) => "conflict",
                SyncError::AdoError(_) => "ado-error",
                SyncError::Unreachable(_) => "unreachable",
                SyncError::TlsFailed(_) => "tls-failed",
                SyncError::Storage(_) => "storage",
                SyncError::BadPayload(_) => "bad-payload",
                SyncError::Internal(_) => "internal",
            },
            AppError::Host(_) => "host",
            AppError::Storage(_) => "storage",
            AppError::Io(_) => "io",
            AppError::Input { .. } => "invalid-input",
        }
    }

    /// The field at fault, when the error names one.
    pub fn field(&self) -> Option<String> {
        match self {
            AppError::Plugin(SyncError::InvalidConfig(f)) => Some(f.field.clone()),
            AppError::Plugin(SyncError::FieldTypeMismatch(m)) => Some(m.host_field.clone()),
            AppError::Input { field, .. } => Some(field.clone()),
            _ => None,
        }
    }

    /// How long to wait before retrying, when ADO said so.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            AppError::Plugin(SyncError::RateLimited(r)) => Some(r.retry_after_ms),
            _ => None,
        }
    }

    /// `{ "error": { "kind", "message", … } }`, the body of every error the server returns and
    /// what `--json` prints.
    pub fn to_json(&self) -> Value {
        let mut e = json!({ "kind": self.kind(), "message": self.to_string() });
        if let Some(f) = self.field() {
            e["field"] = json!(f);
        }
        match self {
            AppError::Plugin(SyncError::FieldTypeMismatch(m)) => {
                e["host_field"] = json!(m.host_field);
                e["host_kind"] = json!(kebab(&format!("{:?}", m.host_kind)));
                e["ado_field"] = json!(m.ado_field);
                e["ado_type"] = json!(m.ado_type);
            }
            AppError::Plugin(SyncError::AdoError(f)) => e["ado_status"] = json!(f.status),
            _ => {}
        }
        if let Some(ms) = self.retry_after_ms() {
            e["retry_after_ms"] = json!(ms);
        }
        json!({ "error": e })
    }
}

/// Parse JSON input (a request body, a mapping file); an error names the path of the field at
/// fault, e.g. `fields[2].direction: unknown variant ...`.
pub fn parse_json<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            what.to_string()
        } else {
            format!("{what} {path}")
        };
        AppError::input(field, e.into_inner().to_string())
    })
}

/// `SomeVariant` → `some-variant` (for enum names in JSON and human output).
pub fn kebab(debug_name: &str) -> String {
    let head = debug_name.split(['(', ' ', '{']).next().unwrap_or_default();
    let name = head.rsplit("::").next().unwrap_or_default();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FieldKind, FieldTypeMismatch, InvalidField};

    #[test]
    fn kinds_and_fields_are_named() {
        let e = AppError::Plugin(SyncError::InvalidConfig(InvalidField {
            field: "types[0].ado-type".into(),
            message: "no such type".into(),
        }));
        assert_eq!(e.kind(), "invalid-config");
        assert_eq!(e.to_json()["error"]["field"], "types[0].ado-type");
        let m = AppError::Plugin(SyncError::FieldTypeMismatch(FieldTypeMismatch {
            host_field: "value".into(),
            host_kind: FieldKind::Number,
            ado_field: "System.Title".into(),
            ado_type: "string".into(),
        }));
        let j = m.to_json();
        assert_eq!(j["error"]["kind"], "field-type-mismatch");
        assert_eq!(j["error"]["ado_field"], "System.Title");
        assert!(j["error"]["message"].as_str().unwrap().contains("value"));
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            n: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            list: Vec<Inner>,
        }
        let e = parse_json::<Outer>("mapping", br#"{"list":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(e.field().as_deref(), Some("mapping list[1].n"));
        assert_eq!(e.kind(), "invalid-input");
    }

    #[test]
    fn kebab_case_of_debug_names() {
        assert_eq!(kebab("NotLinked"), "not-linked");
        assert_eq!(kebab("Echo"), "echo");
        assert_eq!(kebab("IgnoredReason::NotLinked"), "not-linked");
        assert_eq!(kebab("AdoToHost"), "ado-to-host");
    }
}
