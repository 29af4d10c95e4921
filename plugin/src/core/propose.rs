//! Proposed default mappings for the Agile, Scrum, Basic and CMMI processes.

use crate::api::{
    AdoWorkItemType, DeletePolicy, Direction, FieldMapping, Mapping, ProjectDiscovery, Side,
    SprintMapping, StatusCategory, StatusMapping, TypeMapping, WorkspaceSchema,
};
use crate::core::mapping::{host_field_kind, host_level_for};
use crate::core::paths::same_path;

/// The backlog level of a work item type by its name in the standard processes (0 = Epic).
/// Custom types outside the backlog hierarchy get `None`.
pub fn backlog_level(type_name: &str) -> Option<u8> {
    match type_name.to_ascii_lowercase().as_str() {
        "epic" => Some(0),
        "feature" => Some(1),
        "user story" | "product backlog item" | "requirement" | "issue" => Some(2),
        "task" => Some(3),
        _ => None,
    }
}

/// The estimate field of a process (Agile StoryPoints, Scrum/Basic Effort, CMMI Size).
pub fn estimate_field(process: &str) -> &'static str {
    match process.to_ascii_lowercase().as_str() {
        "agile" => "Microsoft.VSTS.Scheduling.StoryPoints",
        "cmmi" => "Microsoft.VSTS.Scheduling.Size",
        _ => "Microsoft.VSTS.Scheduling.Effort",
    }
}

/// The ADO field that holds an item's main text: Agile Bugs keep it in ReproSteps.
pub fn description_field(ty: &AdoWorkItemType) -> &'static str {
    let has = |f: &str| ty.fields.iter().any(|x| x.eq_ignore_ascii_case(f));
    if !has("System.Description") && has("Microsoft.VSTS.TCM.ReproSteps") {
        "Microsoft.VSTS.TCM.ReproSteps"
    } else {
        "System.Description"
    }
}

/// Categories to try, in order, when a type has no state of the wanted category.
fn category_fallbacks(c: StatusCategory) -> [StatusCategory; 3] {
    use StatusCategory::*;
    match c {
        Proposed => [Proposed, InProgress, Completed],
        InProgress => [InProgress, Proposed, Resolved],
        Resolved => [Resolved, Completed, InProgress],
        Completed => [Completed, Resolved, Removed],
        Removed => [Removed, Completed, Resolved],
    }
}

/// Default host-field → ADO-field pairs, by host field id or name (lower case).
fn default_field_targets(process: &str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("area", "System.AreaPath"),
        ("story points", estimate_field(process)),
        ("story-points", estimate_field(process)),
        ("effort", estimate_field(process)),
        ("estimate", estimate_field(process)),
        ("objective", "Custom.Objective"),
        ("key result", "Custom.KeyResult"),
        ("key-result", "Custom.KeyResult"),
        ("value", "Microsoft.VSTS.Common.BusinessValue"),
        ("priority", "Microsoft.VSTS.Common.Priority"),
        ("assignee", "System.AssignedTo"),
        ("assigned to", "System.AssignedTo"),
        (
            "acceptance criteria",
            "Microsoft.VSTS.Common.AcceptanceCriteria",
        ),
    ]
}

/// Propose a mapping: types by hierarchy level (shifted by one when Epic is not the Product
/// level), default fields that exist on both sides with the same kind, statuses by category,
/// sprints by name.
pub fn propose(
    schema: &WorkspaceSchema,
    project: &ProjectDiscovery,
    epic_is_product_level: bool,
) -> Mapping {
    let mut types = Vec::new();
    for ado in &project.work_item_types {
        let host = match ado.level {
            Some(level) => {
                let want = host_level_for(level, epic_is_product_level);
                schema.item_types.iter().find(|h| h.level == want)
            }
            None => schema
                .item_types
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(&ado.name)),
        };
        if let Some(host) = host {
            if !types.iter().any(|t: &TypeMapping| t.host_type == host.id) {
                types.push(TypeMapping {
                    host_type: host.id.clone(),
                    ado_type: ado.name.clone(),
                });
            }
        }
    }

    let mut fields = Vec::new();
    for (host_name, ado_ref) in default_field_targets(&project.process) {
        let Some(def) = schema.fields.iter().find(|f| {
            f.id.eq_ignore_ascii_case(host_name) || f.name.eq_ignore_ascii_case(host_name)
        }) else {
            continue;
        };
        let Some(ado) = project
            .fields
            .iter()
            .find(|f| f.reference_name.eq_ignore_ascii_case(ado_ref))
        else {
            continue;
        };
        if host_field_kind(schema, &def.id) != Some(ado.kind)
            || fields.iter().any(|f: &FieldMapping| f.host_field == def.id)
        {
            continue;
        }
        let owner_is_ado = ado_ref == "System.AreaPath" || ado_ref == "System.AssignedTo";
        fields.push(FieldMapping {
            host_field: def.id.clone(),
            ado_field: ado.reference_name.clone(),
            direction: if ado.read_only {
                Direction::ToHost
            } else {
                Direction::Both
            },
            owner: if owner_is_ado { Side::Ado } else { Side::Host },
        });
    }

    let mut statuses = Vec::new();
    for t in &types {
        let Some(ado) = project
            .work_item_types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(&t.ado_type))
        else {
            continue;
        };
        for status in &schema.statuses {
            let state = category_fallbacks(status.category)
                .iter()
                .find_map(|c| ado.states.iter().find(|s| s.category == *c));
            if let Some(state) = state {
                statuses.push(StatusMapping {
                    host_status: status.id.clone(),
                    ado_state: state.name.clone(),
                    ado_type: Some(ado.name.clone()),
                });
            }
        }
    }

    let sprints = schema
        .sprints
        .iter()
        .filter_map(|sprint| {
            project
                .iterations
                .iter()
                .find(|it| {
                    it.name.eq_ignore_ascii_case(&sprint.name) || same_path(&it.path, &sprint.name)
                })
                .map(|it| SprintMapping {
                    host_sprint: sprint.id.clone(),
                    iteration_path: it.path.clone(),
                })
        })
        .collect();

    Mapping {
        epic_is_product_level,
        types,
        fields,
        statuses,
        sprints,
        delete_policy: DeletePolicy::Unlink,
        default_area_path: None,
    }
}
