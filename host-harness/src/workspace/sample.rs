//! A sample product workspace (the demo's and the tests' host product): Product > Epic > Feature
//! > Story > Task, five statuses, three sprints, releases and OKR-style fields.

use crate::api::{
    FieldDef, FieldKind, ItemType, Release, Sprint, Status, StatusCategory, WorkspaceSchema,
};

fn t(id: &str, name: &str, level: u8) -> ItemType {
    ItemType {
        id: id.into(),
        name: name.into(),
        level,
    }
}

fn s(id: &str, name: &str, category: StatusCategory) -> Status {
    Status {
        id: id.into(),
        name: name.into(),
        category,
    }
}

fn f(id: &str, name: &str, kind: FieldKind, options: &[&str]) -> FieldDef {
    FieldDef {
        id: id.into(),
        name: name.into(),
        kind,
        options: options.iter().map(|o| o.to_string()).collect(),
    }
}

/// The sample schema for workspace `workspace_id`.
pub fn schema(workspace_id: &str) -> WorkspaceSchema {
    WorkspaceSchema {
        workspace_id: workspace_id.into(),
        item_types: vec![
            t("product", "Product", 0),
            t("epic", "Epic", 1),
            t("feature", "Feature", 2),
            t("story", "Story", 3),
            t("task", "Task", 4),
        ],
        statuses: vec![
            s("backlog", "Backlog", StatusCategory::Proposed),
            s("in-progress", "In progress", StatusCategory::InProgress),
            s("in-review", "In review", StatusCategory::Resolved),
            s("done", "Done", StatusCategory::Completed),
            s("wont-do", "Won't do", StatusCategory::Removed),
        ],
        sprints: (1..=3)
            .map(|n| Sprint {
                id: format!("sprint-{n}"),
                name: format!("Sprint {n}"),
                start: None,
                finish: None,
            })
            .collect(),
        releases: vec![
            Release {
                id: "r-2026-1".into(),
                name: "2026.1".into(),
            },
            Release {
                id: "r-2026-2".into(),
                name: "2026.2".into(),
            },
        ],
        fields: vec![
            f("objective", "Objective", FieldKind::Text, &[]),
            f("key-result", "Key result", FieldKind::Text, &[]),
            f("value", "Value", FieldKind::Number, &[]),
            f("effort", "Effort", FieldKind::Number, &[]),
            f("area", "Area", FieldKind::TreePath, &[]),
            f("assignee", "Assignee", FieldKind::User, &[]),
            f(
                "risk",
                "Risk",
                FieldKind::SingleSelect,
                &["High", "Medium", "Low"],
            ),
        ],
    }
}
