//! Validating a mapping against the host workspace schema and the discovered ADO project.

use crate::api::{
    Direction, FieldKind, FieldTypeMismatch, Mapping, ProjectDiscovery, Result, SyncError,
    WorkspaceSchema,
};
use crate::core::kinds;
use crate::core::paths::same_path;

/// Host field names every item has, mapped without a field definition.
pub const BUILT_IN_FIELDS: [(&str, FieldKind); 4] = [
    ("title", FieldKind::Text),
    ("description", FieldKind::RichText),
    ("tags", FieldKind::MultiSelect),
    ("releases", FieldKind::MultiSelect),
];

/// The kind of a host field (a definition or a built-in).
pub fn host_field_kind(schema: &WorkspaceSchema, field: &str) -> Option<FieldKind> {
    BUILT_IN_FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, k)| *k)
        .or_else(|| schema.fields.iter().find(|f| f.id == field).map(|f| f.kind))
}

/// The host level an ADO backlog level maps to; `None` past the deepest level a host can have
/// (a discovery snapshot read back from storage is not trusted to hold only ADO's small levels).
pub fn host_level_for(ado_level: u8, epic_is_product_level: bool) -> Option<u8> {
    if epic_is_product_level {
        Some(ado_level)
    } else {
        ado_level.checked_add(1)
    }
}

/// Check a mapping; the first problem found is returned as a typed error naming the field.
pub fn validate(
    mapping: &Mapping,
    schema: &WorkspaceSchema,
    project: &ProjectDiscovery,
) -> Result<()> {
    if mapping.types.is_empty() {
        return Err(SyncError::invalid(
            "mapping.types",
            "map at least one item type",
        ));
    }
    for (i, t) in mapping.types.iter().enumerate() {
        let at = format!("mapping.types[{i}]");
        let host = schema
            .item_types
            .iter()
            .find(|h| h.id == t.host_type)
            .ok_or_else(|| {
                SyncError::invalid(
                    &at,
                    format!("host item type '{}' does not exist", t.host_type),
                )
            })?;
        let ado = project
            .work_item_types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(&t.ado_type))
            .ok_or_else(|| {
                SyncError::invalid(
                    &at,
                    format!(
                        "ADO work item type '{}' does not exist in the project",
                        t.ado_type
                    ),
                )
            })?;
        if mapping.types[..i]
            .iter()
            .any(|o| o.ado_type.eq_ignore_ascii_case(&t.ado_type))
        {
            return Err(SyncError::invalid(
                &at,
                format!("ADO type '{}' is mapped twice", t.ado_type),
            ));
        }
        if mapping.types[..i]
            .iter()
            .any(|o| o.host_type == t.host_type)
        {
            return Err(SyncError::invalid(
                &at,
                format!("host type '{}' is mapped twice", t.host_type),
            ));
        }
        if let Some(level) = ado.level {
            let Some(expected) = host_level_for(level, mapping.epic_is_product_level) else {
                return Err(SyncError::invalid(
                    &at,
                    format!(
                        "'{}' is at ADO backlog level {level}, below the deepest host level",
                        ado.name
                    ),
                ));
            };
            if host.level != expected {
                return Err(SyncError::invalid(
                    &at,
                    format!(
                        "'{}' is at ADO backlog level {level}, so it maps to host level {expected} ({}), but '{}' is at level {}",
                        ado.name,
                        if mapping.epic_is_product_level { "Epic is the Product level" } else { "Epic is one level below Product" },
                        host.name,
                        host.level
                    ),
                ));
            }
        }
    }

    for (i, f) in mapping.fields.iter().enumerate() {
        let at = format!("mapping.fields[{i}]");
        let host_kind = host_field_kind(schema, &f.host_field).ok_or_else(|| {
            SyncError::invalid(
                format!("{at}.host-field"),
                format!("host field '{}' does not exist", f.host_field),
            )
        })?;
        let ado = project
            .fields
            .iter()
            .find(|a| a.reference_name.eq_ignore_ascii_case(&f.ado_field))
            .ok_or_else(|| {
                SyncError::invalid(
                    format!("{at}.ado-field"),
                    format!("ADO field '{}' does not exist in the project", f.ado_field),
                )
            })?;
        let on_a_mapped_type = mapping.types.iter().any(|t| {
            project
                .work_item_types
                .iter()
                .find(|w| w.name.eq_ignore_ascii_case(&t.ado_type))
                .is_some_and(|w| {
                    w.fields.is_empty()
                        || w.fields
                            .iter()
                            .any(|x| x.eq_ignore_ascii_case(&ado.reference_name))
                })
        });
        if !on_a_mapped_type {
            return Err(SyncError::invalid(
                format!("{at}.ado-field"),
                format!(
                    "ADO field '{}' is not on any of the mapped work item types",
                    ado.reference_name
                ),
            ));
        }
        if !kinds::fits(host_kind, ado.kind) {
            return Err(SyncError::FieldTypeMismatch(FieldTypeMismatch {
                host_field: f.host_field.clone(),
                host_kind,
                ado_field: ado.reference_name.clone(),
                ado_type: ado.ado_type.clone(),
            }));
        }
        if ado.read_only && f.direction != Direction::ToHost {
            return Err(SyncError::invalid(
                format!("{at}.direction"),
                format!(
                    "ADO field '{}' is read-only, so it can only flow to the host",
                    ado.reference_name
                ),
            ));
        }
        if mapping.fields[..i]
            .iter()
            .any(|o| o.host_field == f.host_field)
        {
            return Err(SyncError::invalid(
                &at,
                format!("host field '{}' is mapped twice", f.host_field),
            ));
        }
    }

    for (i, s) in mapping.statuses.iter().enumerate() {
        let at = format!("mapping.statuses[{i}]");
        if !schema.statuses.iter().any(|h| h.id == s.host_status) {
            return Err(SyncError::invalid(
                &at,
                format!("host status '{}' does not exist", s.host_status),
            ));
        }
        let types: Vec<_> = project
            .work_item_types
            .iter()
            .filter(|w| match &s.ado_type {
                Some(t) => w.name.eq_ignore_ascii_case(t),
                None => mapping
                    .types
                    .iter()
                    .any(|m| m.ado_type.eq_ignore_ascii_case(&w.name)),
            })
            .collect();
        if types.is_empty() {
            return Err(SyncError::invalid(
                &at,
                format!(
                    "ADO type '{}' is not a mapped type of the project",
                    s.ado_type.clone().unwrap_or_default()
                ),
            ));
        }
        if !types.iter().any(|w| {
            w.states
                .iter()
                .any(|st| st.name.eq_ignore_ascii_case(&s.ado_state))
        }) {
            return Err(SyncError::invalid(
                &at,
                format!(
                    "ADO state '{}' does not exist on the mapped types",
                    s.ado_state
                ),
            ));
        }
    }
    // Every host status must reach a real state of every mapped ADO type.
    for t in &mapping.types {
        let Some(ado) = project
            .work_item_types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(&t.ado_type))
        else {
            continue;
        };
        for status in &schema.statuses {
            let mapped = mapping.statuses.iter().any(|s| {
                s.host_status == status.id
                    && s.ado_type
                        .as_ref()
                        .is_none_or(|ty| ty.eq_ignore_ascii_case(&ado.name))
                    && ado
                        .states
                        .iter()
                        .any(|st| st.name.eq_ignore_ascii_case(&s.ado_state))
            });
            if !mapped {
                return Err(SyncError::invalid(
                    "mapping.statuses",
                    format!(
                        "host status '{}' has no state of ADO type '{}' (its states: {})",
                        status.name,
                        ado.name,
                        ado.states
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }

    for (i, s) in mapping.sprints.iter().enumerate() {
        let at = format!("mapping.sprints[{i}]");
        if !schema.sprints.iter().any(|h| h.id == s.host_sprint) {
            return Err(SyncError::invalid(
                &at,
                format!("host sprint '{}' does not exist", s.host_sprint),
            ));
        }
        if !project
            .iterations
            .iter()
            .any(|it| same_path(&it.path, &s.iteration_path))
        {
            return Err(SyncError::invalid(
                &at,
                format!(
                    "iteration '{}' does not exist in the project",
                    s.iteration_path
                ),
            ));
        }
    }
    if let Some(area) = &mapping.default_area_path {
        if !project.area_paths.iter().any(|a| same_path(a, area)) {
            return Err(SyncError::invalid(
                "mapping.default-area-path",
                format!("area '{area}' does not exist in the project"),
            ));
        }
    }
    Ok(())
}
