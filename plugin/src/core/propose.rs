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
    // Keep in step with `DESCRIPTION_FIELDS`.
    let has = |f: &str| ty.fields.iter().any(|x| x.eq_ignore_ascii_case(f));
    if !has("System.Description") && has("Microsoft.VSTS.TCM.ReproSteps") {
        "Microsoft.VSTS.TCM.ReproSteps"
    } else {
        "System.Description"
    }
}

/// The fields [`description_field`] looks for.
const DESCRIPTION_FIELDS: [&str; 2] = ["System.Description", "Microsoft.VSTS.TCM.ReproSteps"];

/// Work item types as a sync needs them: each type's field list keeps only the fields a sync
/// asks about ([`description_field`]); names, levels and states are kept whole.
pub fn types_for_sync(mut types: Vec<AdoWorkItemType>) -> Vec<AdoWorkItemType> {
    for ty in &mut types {
        ty.fields
            .retain(|f| DESCRIPTION_FIELDS.iter().any(|d| d.eq_ignore_ascii_case(f)));
    }
    types
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

/// Whether an ADO field is on at least one of the mapped types (a snapshot without per-type
/// field lists counts as yes).
fn on_a_mapped_type(project: &ProjectDiscovery, types: &[TypeMapping], field: &str) -> bool {
    types.iter().any(|t| {
        project
            .work_item_types
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(&t.ado_type))
            .is_some_and(|w| {
                w.fields.is_empty() || w.fields.iter().any(|f| f.eq_ignore_ascii_case(field))
            })
    })
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
                schema.item_types.iter().find(|h| Some(h.level) == want)
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
        if !on_a_mapped_type(project, &types, &ado.reference_name)
            || host_field_kind(schema, &def.id) != Some(ado.kind)
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

    // Releases live in a text field named Release(s) where the process has one (ADO has no
    // release concept of its own; tags stay tags).
    if !schema.releases.is_empty() {
        let releases_field = project.fields.iter().find(|f| {
            let named = |n: &str| {
                ["Release", "Releases"].iter().any(|w| {
                    n.eq_ignore_ascii_case(w) || n.eq_ignore_ascii_case(&format!("Custom.{w}"))
                })
            };
            (named(&f.reference_name) || named(&f.name))
                && f.kind == crate::api::FieldKind::Text
                && !f.read_only
                && on_a_mapped_type(project, &types, &f.reference_name)
        });
        if let Some(ado) = releases_field {
            fields.push(FieldMapping {
                host_field: "releases".into(),
                ado_field: ado.reference_name.clone(),
                direction: Direction::Both,
                owner: Side::Host,
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AdoField, AdoState, FieldDef, FieldKind, ItemType, Status};

    fn ty(name: &str, states: &[(&str, StatusCategory)]) -> AdoWorkItemType {
        AdoWorkItemType {
            name: name.into(),
            reference_name: String::new(),
            level: backlog_level(name),
            states: states
                .iter()
                .map(|(n, c)| AdoState {
                    name: n.to_string(),
                    category: *c,
                })
                .collect(),
            fields: vec![],
        }
    }

    fn project(process: &str, types: Vec<AdoWorkItemType>, estimate: &str) -> ProjectDiscovery {
        ProjectDiscovery {
            integration_id: "i".into(),
            process: process.into(),
            work_item_types: types,
            fields: vec![AdoField {
                reference_name: estimate.into(),
                name: "Estimate".into(),
                ado_type: "double".into(),
                kind: FieldKind::Number,
                read_only: false,
                allowed_values: vec![],
            }],
            area_paths: vec![],
            iterations: vec![],
            tags: vec![],
        }
    }

    fn schema() -> WorkspaceSchema {
        WorkspaceSchema {
            workspace_id: "w".into(),
            item_types: ["product", "epic", "feature", "story", "task"]
                .iter()
                .enumerate()
                .map(|(i, id)| ItemType {
                    id: id.to_string(),
                    name: id.to_string(),
                    level: i as u8,
                })
                .collect(),
            statuses: vec![
                Status {
                    id: "todo".into(),
                    name: "To do".into(),
                    category: StatusCategory::Proposed,
                },
                Status {
                    id: "doing".into(),
                    name: "Doing".into(),
                    category: StatusCategory::InProgress,
                },
                Status {
                    id: "review".into(),
                    name: "Review".into(),
                    category: StatusCategory::Resolved,
                },
                Status {
                    id: "done".into(),
                    name: "Done".into(),
                    category: StatusCategory::Completed,
                },
            ],
            sprints: vec![],
            releases: vec![],
            fields: vec![FieldDef {
                id: "effort".into(),
                name: "Effort".into(),
                kind: FieldKind::Number,
                options: vec![],
            }],
        }
    }

    #[test]
    fn types_for_sync_keep_the_description_fields_and_whole_states() {
        let mut bug = ty("Bug", &[("Active", StatusCategory::InProgress)]);
        bug.fields = ["System.Title", "microsoft.vsts.tcm.reprosteps", "Custom.X"]
            .map(String::from)
            .into();
        let kept = types_for_sync(vec![bug.clone()]);
        assert_eq!(kept[0].fields, ["microsoft.vsts.tcm.reprosteps"]);
        assert_eq!((&kept[0].name, &kept[0].states), (&bug.name, &bug.states));
        assert_eq!(description_field(&kept[0]), description_field(&bug));
        assert_eq!(description_field(&bug), "Microsoft.VSTS.TCM.ReproSteps");
    }

    #[test]
    fn basic_process_maps_issues_and_effort_with_fallback_states() {
        use StatusCategory::*;
        let basic = project(
            "Basic",
            vec![
                ty(
                    "Epic",
                    &[
                        ("To Do", Proposed),
                        ("Doing", InProgress),
                        ("Done", Completed),
                    ],
                ),
                ty(
                    "Issue",
                    &[
                        ("To Do", Proposed),
                        ("Doing", InProgress),
                        ("Done", Completed),
                    ],
                ),
                ty(
                    "Task",
                    &[
                        ("To Do", Proposed),
                        ("Doing", InProgress),
                        ("Done", Completed),
                    ],
                ),
            ],
            "Microsoft.VSTS.Scheduling.Effort",
        );
        let m = propose(&schema(), &basic, false);
        let pairs: Vec<(&str, &str)> = m
            .types
            .iter()
            .map(|t| (t.ado_type.as_str(), t.host_type.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("Epic", "epic"), ("Issue", "story"), ("Task", "task")]
        );
        assert_eq!(m.fields[0].ado_field, "Microsoft.VSTS.Scheduling.Effort");
        // Basic has no Resolved state: "Review" falls back to Done.
        assert!(m
            .statuses
            .iter()
            .any(|s| s.host_status == "review" && s.ado_state == "Done"));
        crate::core::mapping::validate(&m, &schema(), &basic).expect("the proposal is valid");
    }

    #[test]
    fn cmmi_process_uses_size_and_requirements() {
        use StatusCategory::*;
        let states = [
            ("Proposed", Proposed),
            ("Active", InProgress),
            ("Resolved", InProgress),
            ("Closed", Completed),
        ];
        let cmmi = project(
            "CMMI",
            vec![
                ty("Epic", &states),
                ty("Feature", &states),
                ty("Requirement", &states),
                ty("Task", &states),
            ],
            "Microsoft.VSTS.Scheduling.Size",
        );
        let m = propose(&schema(), &cmmi, true);
        let pairs: Vec<(&str, &str)> = m
            .types
            .iter()
            .map(|t| (t.ado_type.as_str(), t.host_type.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Epic", "product"),
                ("Feature", "epic"),
                ("Requirement", "feature"),
                ("Task", "story")
            ]
        );
        assert_eq!(m.fields[0].ado_field, "Microsoft.VSTS.Scheduling.Size");
        crate::core::mapping::validate(&m, &schema(), &cmmi).expect("the proposal is valid");
    }
}
