//! WIQL for an ADO → host sync. WIQL returns ids only and caps results at 20,000 rows, so the
//! query can be narrowed to an id window.

use crate::api::{AdoWorkItemType, StatusCategory};

/// Quote a WIQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The WIQL selecting the work items of `types` in the project, optionally only open ones, only
/// those with one of `tags`, and only ids in `(after, up_to]`.
pub fn select_ids(
    types: &[&AdoWorkItemType],
    open_only: bool,
    tags: &[String],
    window: Option<(i64, i64)>,
) -> String {
    let mut clauses = vec!["[System.TeamProject] = @project".to_string()];
    let names: Vec<String> = types.iter().map(|t| quote(&t.name)).collect();
    clauses.push(format!("[System.WorkItemType] IN ({})", names.join(", ")));
    if open_only {
        let mut closed: Vec<String> = types
            .iter()
            .flat_map(|t| t.states.iter())
            .filter(|s| {
                matches!(
                    s.category,
                    StatusCategory::Completed | StatusCategory::Removed
                )
            })
            .map(|s| quote(&s.name))
            .collect();
        closed.sort();
        closed.dedup();
        if !closed.is_empty() {
            clauses.push(format!("[System.State] NOT IN ({})", closed.join(", ")));
        }
    }
    if !tags.is_empty() {
        let any: Vec<String> = tags
            .iter()
            .map(|t| format!("[System.Tags] CONTAINS {}", quote(t.trim())))
            .collect();
        clauses.push(format!("({})", any.join(" OR ")));
    }
    if let Some((after, up_to)) = window {
        clauses.push(format!("[System.Id] > {after} AND [System.Id] <= {up_to}"));
    }
    format!(
        "SELECT [System.Id] FROM WorkItems WHERE {} ORDER BY [System.Id] ASC",
        clauses.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AdoState;

    #[test]
    fn builds_filters_and_windows() {
        let story = AdoWorkItemType {
            name: "User Story".into(),
            reference_name: String::new(),
            level: Some(2),
            states: vec![
                AdoState {
                    name: "New".into(),
                    category: StatusCategory::Proposed,
                },
                AdoState {
                    name: "Closed".into(),
                    category: StatusCategory::Completed,
                },
                AdoState {
                    name: "Removed".into(),
                    category: StatusCategory::Removed,
                },
            ],
            fields: vec![],
        };
        let q = select_ids(&[&story], true, &["it's".into()], Some((0, 10_000)));
        assert!(q.contains("[System.WorkItemType] IN ('User Story')"));
        assert!(q.contains("[System.State] NOT IN ('Closed', 'Removed')"));
        assert!(q.contains("([System.Tags] CONTAINS 'it''s')"));
        assert!(q.contains("[System.Id] > 0 AND [System.Id] <= 10000"));
        let all = select_ids(&[&story], false, &[], None);
        assert!(!all.contains("State"));
        assert!(!all.contains("Tags"));
    }
}
