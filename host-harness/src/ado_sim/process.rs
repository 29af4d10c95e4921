//! Process templates: the field catalogue and the work item types of the Agile and Scrum
//! processes (a realistic subset).

/// Field data types, as `GET _apis/wit/fields` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    String,
    Integer,
    Double,
    DateTime,
    PlainText,
    Html,
    TreePath,
    History,
    Boolean,
    Identity,
    PicklistString,
}

impl FieldKind {
    pub fn api_name(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Integer => "integer",
            FieldKind::Double => "double",
            FieldKind::DateTime => "dateTime",
            FieldKind::PlainText => "plainText",
            FieldKind::Html => "html",
            FieldKind::TreePath => "treePath",
            FieldKind::History => "history",
            FieldKind::Boolean => "boolean",
            FieldKind::Identity => "identity",
            FieldKind::PicklistString => "picklistString",
        }
    }
}

/// One field of the organisation's field catalogue.
#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    pub ref_name: &'static str,
    pub name: &'static str,
    pub kind: FieldKind,
    pub read_only: bool,
    /// Allowed values (picklists and rule-limited string fields).
    pub allowed: &'static [&'static str],
    pub help: &'static str,
}

impl FieldDef {
    pub fn is_picklist(&self) -> bool {
        self.kind == FieldKind::PicklistString
    }
}

const fn f(
    ref_name: &'static str,
    name: &'static str,
    kind: FieldKind,
    read_only: bool,
) -> FieldDef {
    FieldDef {
        ref_name,
        name,
        kind,
        read_only,
        allowed: &[],
        help: "",
    }
}

const fn fa(
    ref_name: &'static str,
    name: &'static str,
    kind: FieldKind,
    allowed: &'static [&'static str],
    help: &'static str,
) -> FieldDef {
    FieldDef {
        ref_name,
        name,
        kind,
        read_only: false,
        allowed,
        help,
    }
}

use FieldKind as K;

/// Every field the sim knows, organisation-wide.
pub(crate) static FIELDS: &[FieldDef] = &[
    f("System.Id", "ID", K::Integer, true),
    fa(
        "System.Title",
        "Title",
        K::String,
        &[],
        "One-line summary of the item",
    ),
    f("System.State", "State", K::String, false),
    f("System.Reason", "Reason", K::String, false),
    fa(
        "System.AreaPath",
        "Area Path",
        K::TreePath,
        &[],
        "The area of the product with which this item is associated",
    ),
    fa(
        "System.IterationPath",
        "Iteration Path",
        K::TreePath,
        &[],
        "The iteration within which this item will be done",
    ),
    fa(
        "System.AssignedTo",
        "Assigned To",
        K::Identity,
        &[],
        "Who is working on the item now",
    ),
    f("System.Tags", "Tags", K::PlainText, false),
    f("System.WorkItemType", "Work Item Type", K::String, true),
    f("System.TeamProject", "Team Project", K::String, true),
    f("System.CreatedDate", "Created Date", K::DateTime, true),
    f("System.CreatedBy", "Created By", K::Identity, true),
    f("System.ChangedDate", "Changed Date", K::DateTime, true),
    f("System.ChangedBy", "Changed By", K::Identity, true),
    f(
        "System.AuthorizedDate",
        "Authorized Date",
        K::DateTime,
        true,
    ),
    f("System.AuthorizedAs", "Authorized As", K::Identity, true),
    f("System.RevisedDate", "Revised Date", K::DateTime, true),
    f("System.Rev", "Rev", K::Integer, true),
    f("System.Watermark", "Watermark", K::Integer, true),
    f("System.CommentCount", "Comment Count", K::Integer, true),
    fa(
        "System.History",
        "History",
        K::History,
        &[],
        "Comments and change notes on the item",
    ),
    f("System.Description", "Description", K::Html, false),
    f("System.AreaId", "Area ID", K::Integer, true),
    f("System.IterationId", "Iteration ID", K::Integer, true),
    f("System.NodeName", "Node Name", K::String, true),
    f("System.Parent", "Parent", K::Integer, true),
    f(
        "System.BoardColumnDone",
        "Board Column Done",
        K::Boolean,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.StateChangeDate",
        "State Change Date",
        K::DateTime,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ActivatedDate",
        "Activated Date",
        K::DateTime,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ActivatedBy",
        "Activated By",
        K::Identity,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ResolvedDate",
        "Resolved Date",
        K::DateTime,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ResolvedBy",
        "Resolved By",
        K::Identity,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ClosedDate",
        "Closed Date",
        K::DateTime,
        true,
    ),
    f(
        "Microsoft.VSTS.Common.ClosedBy",
        "Closed By",
        K::Identity,
        true,
    ),
    fa(
        "Microsoft.VSTS.Common.Priority",
        "Priority",
        K::Integer,
        &["1", "2", "3", "4"],
        "How important the item is to the business, from 1 (highest) to 4 (lowest)",
    ),
    fa(
        "Microsoft.VSTS.Common.ValueArea",
        "Value Area",
        K::String,
        &["Architectural", "Business"],
        "Business = delivers value to a user or another system; Architectural = technical work",
    ),
    f(
        "Microsoft.VSTS.Common.BusinessValue",
        "Business Value",
        K::Integer,
        false,
    ),
    f(
        "Microsoft.VSTS.Common.TimeCriticality",
        "Time Criticality",
        K::Double,
        false,
    ),
    f(
        "Microsoft.VSTS.Common.StackRank",
        "Stack Rank",
        K::Double,
        false,
    ),
    f(
        "Microsoft.VSTS.Common.BacklogPriority",
        "Backlog Priority",
        K::Double,
        false,
    ),
    fa(
        "Microsoft.VSTS.Common.AcceptanceCriteria",
        "Acceptance Criteria",
        K::Html,
        &[],
        "Criteria the work must meet to be accepted",
    ),
    fa(
        "Microsoft.VSTS.Common.Severity",
        "Severity",
        K::String,
        &["1 - Critical", "2 - High", "3 - Medium", "4 - Low"],
        "How badly the defect hurts users",
    ),
    fa(
        "Microsoft.VSTS.Common.Activity",
        "Activity",
        K::String,
        &[
            "Deployment",
            "Design",
            "Development",
            "Documentation",
            "Requirements",
            "Testing",
        ],
        "Kind of work the item needs",
    ),
    f(
        "Microsoft.VSTS.Common.ResolvedReason",
        "Resolved Reason",
        K::String,
        false,
    ),
    fa(
        "Microsoft.VSTS.Scheduling.StoryPoints",
        "Story Points",
        K::Double,
        &[],
        "The size of work estimated for implementing this item",
    ),
    fa(
        "Microsoft.VSTS.Scheduling.Effort",
        "Effort",
        K::Double,
        &[],
        "The estimated effort to implement this item",
    ),
    f(
        "Microsoft.VSTS.Scheduling.OriginalEstimate",
        "Original Estimate",
        K::Double,
        false,
    ),
    f(
        "Microsoft.VSTS.Scheduling.RemainingWork",
        "Remaining Work",
        K::Double,
        false,
    ),
    f(
        "Microsoft.VSTS.Scheduling.CompletedWork",
        "Completed Work",
        K::Double,
        false,
    ),
    f(
        "Microsoft.VSTS.Scheduling.StartDate",
        "Start Date",
        K::DateTime,
        false,
    ),
    f(
        "Microsoft.VSTS.Scheduling.TargetDate",
        "Target Date",
        K::DateTime,
        false,
    ),
    f(
        "Microsoft.VSTS.TCM.ReproSteps",
        "Repro Steps",
        K::Html,
        false,
    ),
    f(
        "Microsoft.VSTS.TCM.SystemInfo",
        "System Info",
        K::Html,
        false,
    ),
    f("Microsoft.VSTS.Build.FoundIn", "Found In", K::String, false),
    fa(
        "Custom.Objective",
        "Objective",
        K::String,
        &[],
        "The objective this item contributes to",
    ),
    fa(
        "Custom.KeyResult",
        "Key Result",
        K::String,
        &[],
        "The measurable key result",
    ),
    fa(
        "Custom.Risk",
        "Risk",
        K::PicklistString,
        &["High", "Medium", "Low"],
        "Delivery risk",
    ),
    fa(
        "Custom.Confidence",
        "Confidence",
        K::Double,
        &[],
        "Confidence in the estimate (0..1)",
    ),
    fa(
        "Custom.Releases",
        "Releases",
        K::String,
        &[],
        "The releases the item ships in, separated by ';'",
    ),
];

/// Looks a field up by reference name or display name, case-insensitively.
pub(crate) fn field(name: &str) -> Option<&'static FieldDef> {
    let name = name.trim();
    FIELDS
        .iter()
        .find(|f| f.ref_name.eq_ignore_ascii_case(name))
        .or_else(|| FIELDS.iter().find(|f| f.name.eq_ignore_ascii_case(name)))
}

/// Fields that every work item type has.
pub(crate) const CORE_FIELDS: &[&str] = &[
    "System.Id",
    "System.Title",
    "System.State",
    "System.Reason",
    "System.AreaPath",
    "System.IterationPath",
    "System.AssignedTo",
    "System.Tags",
    "System.WorkItemType",
    "System.TeamProject",
    "System.CreatedDate",
    "System.CreatedBy",
    "System.ChangedDate",
    "System.ChangedBy",
    "System.AuthorizedDate",
    "System.AuthorizedAs",
    "System.RevisedDate",
    "System.Rev",
    "System.Watermark",
    "System.CommentCount",
    "System.History",
    "System.AreaId",
    "System.IterationId",
    "System.NodeName",
    "System.Parent",
    "Microsoft.VSTS.Common.StateChangeDate",
    "Microsoft.VSTS.Common.ActivatedDate",
    "Microsoft.VSTS.Common.ActivatedBy",
    "Microsoft.VSTS.Common.ClosedDate",
    "Microsoft.VSTS.Common.ClosedBy",
    "Microsoft.VSTS.Common.Priority",
];

/// State categories, as the API spells them.
pub(crate) const PROPOSED: &str = "Proposed";
pub(crate) const IN_PROGRESS: &str = "InProgress";
pub(crate) const RESOLVED: &str = "Resolved";
pub(crate) const COMPLETED: &str = "Completed";
pub(crate) const REMOVED: &str = "Removed";

#[derive(Debug, Clone)]
pub(crate) struct StateDef {
    pub name: &'static str,
    pub color: &'static str,
    pub category: &'static str,
}

const fn st(name: &'static str, color: &'static str, category: &'static str) -> StateDef {
    StateDef {
        name,
        color,
        category,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct WitType {
    pub name: &'static str,
    pub ref_name: &'static str,
    pub description: &'static str,
    pub color: &'static str,
    pub icon: &'static str,
    pub states: Vec<StateDef>,
    /// Reference names of the type's fields (core fields included).
    pub fields: Vec<&'static str>,
}

impl WitType {
    pub fn has_field(&self, ref_name: &str) -> bool {
        self.fields.iter().any(|f| f.eq_ignore_ascii_case(ref_name))
    }

    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
    }

    pub fn initial_state(&self) -> &'static str {
        self.states.first().map(|s| s.name).unwrap_or("New")
    }

    pub fn always_required(&self, ref_name: &str) -> bool {
        matches!(
            ref_name,
            "System.Title"
                | "System.State"
                | "System.AreaId"
                | "System.IterationId"
                | "System.WorkItemType"
        )
    }

    pub fn default_value(&self, ref_name: &str) -> Option<&'static str> {
        match ref_name {
            "System.State" => Some(self.initial_state()),
            "Microsoft.VSTS.Common.Priority" => Some("2"),
            "Microsoft.VSTS.Common.ValueArea" => Some("Business"),
            "Microsoft.VSTS.Common.Severity" => Some("3 - Medium"),
            _ => None,
        }
    }
}

/// Reason recorded when an item enters `state` (first save or transition).
pub(crate) fn default_reason(type_name: &str, state: &str, is_new: bool) -> String {
    let r = match (state, is_new) {
        ("New", true) if type_name == "Bug" => "New defect reported",
        ("New", true) if type_name == "Product Backlog Item" => "New backlog item",
        ("New", true) => "New",
        ("New", false) => "Moved to the backlog",
        ("To Do", true) => "New task",
        ("To Do", false) => "Work stopped",
        ("Approved", _) => "Approved by the Product Owner",
        ("Committed", _) => "Commitment made by the team",
        ("Active", _) => "Implementation started",
        ("In Progress", _) => "Work started",
        ("Resolved", _) => "Code complete and unit tests pass",
        ("Closed", _) => "Acceptance tests pass",
        ("Done", _) => "Work finished",
        ("Removed", _) => "Removed from the backlog",
        _ => "",
    };
    if r.is_empty() {
        format!("Moved to state {state}")
    } else {
        r.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    Agile,
    Scrum,
}

impl Process {
    pub fn parse(s: &str) -> Option<Process> {
        if s.eq_ignore_ascii_case("agile") {
            Some(Process::Agile)
        } else if s.eq_ignore_ascii_case("scrum") {
            Some(Process::Scrum)
        } else {
            None
        }
    }

    pub fn template_name(self) -> &'static str {
        match self {
            Process::Agile => "Agile",
            Process::Scrum => "Scrum",
        }
    }

    /// The well-known system process GUIDs.
    pub fn template_type_id(self) -> &'static str {
        match self {
            Process::Agile => "adcc42ab-9882-485e-a3ed-7678f01f66bc",
            Process::Scrum => "6b724908-ef14-45cf-84f8-768b5384da45",
        }
    }

    /// The requirement-level ("story") type name.
    pub fn backlog_type(self) -> &'static str {
        match self {
            Process::Agile => "User Story",
            Process::Scrum => "Product Backlog Item",
        }
    }

    pub fn estimate_field(self) -> &'static str {
        match self {
            Process::Agile => "Microsoft.VSTS.Scheduling.StoryPoints",
            Process::Scrum => "Microsoft.VSTS.Scheduling.Effort",
        }
    }

    pub fn types(self) -> Vec<WitType> {
        match self {
            Process::Agile => agile_types(),
            Process::Scrum => scrum_types(),
        }
    }
}

fn with_core(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = CORE_FIELDS.to_vec();
    for e in extra {
        if !v.contains(e) {
            v.push(e);
        }
    }
    v
}

const CUSTOM: &[&str] = &[
    "Custom.Objective",
    "Custom.KeyResult",
    "Custom.Risk",
    "Custom.Confidence",
    "Custom.Releases",
];

fn agile_types() -> Vec<WitType> {
    let portfolio_states = vec![
        st("New", "b2b2b2", PROPOSED),
        st("Active", "007acc", IN_PROGRESS),
        st("Resolved", "ff9d00", RESOLVED),
        st("Closed", "339933", COMPLETED),
        st("Removed", "ffffff", REMOVED),
    ];
    let portfolio_fields = |extra: &[&'static str]| {
        let mut v = with_core(&[
            "System.Description",
            "Microsoft.VSTS.Common.AcceptanceCriteria",
            "Microsoft.VSTS.Common.ValueArea",
            "Microsoft.VSTS.Common.BusinessValue",
            "Microsoft.VSTS.Common.TimeCriticality",
            "Microsoft.VSTS.Common.StackRank",
            "Microsoft.VSTS.Common.ResolvedDate",
            "Microsoft.VSTS.Common.ResolvedBy",
            "Microsoft.VSTS.Scheduling.Effort",
            "Microsoft.VSTS.Scheduling.StartDate",
            "Microsoft.VSTS.Scheduling.TargetDate",
        ]);
        v.extend_from_slice(extra);
        v.extend_from_slice(CUSTOM);
        v
    };
    vec![
        WitType {
            name: "Epic",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Epic",
            description: "A large body of work that groups features",
            color: "FF7B00",
            icon: "icon_crown",
            states: portfolio_states.clone(),
            fields: portfolio_fields(&[]),
        },
        WitType {
            name: "Feature",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Feature",
            description: "A shippable capability made of backlog items",
            color: "773B93",
            icon: "icon_trophy",
            states: portfolio_states,
            fields: portfolio_fields(&[]),
        },
        WitType {
            name: "User Story",
            ref_name: "Microsoft.VSTS.WorkItemTypes.UserStory",
            description: "Something a user wants to do with the product",
            color: "009CCC",
            icon: "icon_book",
            states: vec![
                st("New", "b2b2b2", PROPOSED),
                st("Active", "007acc", IN_PROGRESS),
                st("Closed", "339933", COMPLETED),
                st("Removed", "ffffff", REMOVED),
            ],
            fields: {
                let mut v = with_core(&[
                    "System.Description",
                    "Microsoft.VSTS.Common.AcceptanceCriteria",
                    "Microsoft.VSTS.Common.ValueArea",
                    "Microsoft.VSTS.Common.StackRank",
                    "Microsoft.VSTS.Common.ResolvedDate",
                    "Microsoft.VSTS.Common.ResolvedBy",
                    "Microsoft.VSTS.Scheduling.StoryPoints",
                ]);
                v.extend_from_slice(CUSTOM);
                v
            },
        },
        WitType {
            name: "Task",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Task",
            description: "A unit of work for one person",
            color: "F2CB1D",
            icon: "icon_clipboard",
            states: vec![
                st("New", "b2b2b2", PROPOSED),
                st("Active", "007acc", IN_PROGRESS),
                st("Closed", "339933", COMPLETED),
                st("Removed", "ffffff", REMOVED),
            ],
            fields: with_core(&[
                "System.Description",
                "Microsoft.VSTS.Common.Activity",
                "Microsoft.VSTS.Common.StackRank",
                "Microsoft.VSTS.Scheduling.OriginalEstimate",
                "Microsoft.VSTS.Scheduling.RemainingWork",
                "Microsoft.VSTS.Scheduling.CompletedWork",
            ]),
        },
        WitType {
            name: "Bug",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Bug",
            description:
                "A defect: what goes wrong, how to reproduce it, and the work to fix and verify it",
            color: "CC293D",
            icon: "icon_insect",
            states: vec![
                st("New", "b2b2b2", PROPOSED),
                st("Active", "007acc", IN_PROGRESS),
                st("Resolved", "ff9d00", RESOLVED),
                st("Closed", "339933", COMPLETED),
            ],
            fields: with_core(&[
                "Microsoft.VSTS.TCM.ReproSteps",
                "Microsoft.VSTS.TCM.SystemInfo",
                "Microsoft.VSTS.Common.Severity",
                "Microsoft.VSTS.Common.Activity",
                "Microsoft.VSTS.Common.StackRank",
                "Microsoft.VSTS.Common.ResolvedDate",
                "Microsoft.VSTS.Common.ResolvedBy",
                "Microsoft.VSTS.Common.ResolvedReason",
                "Microsoft.VSTS.Common.AcceptanceCriteria",
                "Microsoft.VSTS.Scheduling.StoryPoints",
                "Microsoft.VSTS.Scheduling.OriginalEstimate",
                "Microsoft.VSTS.Scheduling.RemainingWork",
                "Microsoft.VSTS.Scheduling.CompletedWork",
                "Microsoft.VSTS.Build.FoundIn",
            ]),
        },
    ]
}

fn scrum_types() -> Vec<WitType> {
    let portfolio_states = vec![
        st("New", "b2b2b2", PROPOSED),
        st("In Progress", "007acc", IN_PROGRESS),
        st("Done", "339933", COMPLETED),
        st("Removed", "ffffff", REMOVED),
    ];
    let backlog_states = vec![
        st("New", "b2b2b2", PROPOSED),
        st("Approved", "5688E0", PROPOSED),
        st("Committed", "007acc", IN_PROGRESS),
        st("Done", "339933", COMPLETED),
        st("Removed", "ffffff", REMOVED),
    ];
    let portfolio_fields = with_core(&[
        "System.Description",
        "Microsoft.VSTS.Common.AcceptanceCriteria",
        "Microsoft.VSTS.Common.ValueArea",
        "Microsoft.VSTS.Common.BusinessValue",
        "Microsoft.VSTS.Common.TimeCriticality",
        "Microsoft.VSTS.Common.BacklogPriority",
        "Microsoft.VSTS.Scheduling.Effort",
        "Microsoft.VSTS.Scheduling.StartDate",
        "Microsoft.VSTS.Scheduling.TargetDate",
    ]);
    vec![
        WitType {
            name: "Epic",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Epic",
            description: "A large body of work that groups features",
            color: "FF7B00",
            icon: "icon_crown",
            states: portfolio_states.clone(),
            fields: portfolio_fields.clone(),
        },
        WitType {
            name: "Feature",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Feature",
            description: "A shippable capability made of backlog items",
            color: "773B93",
            icon: "icon_trophy",
            states: portfolio_states,
            fields: portfolio_fields,
        },
        WitType {
            name: "Product Backlog Item",
            ref_name: "Microsoft.VSTS.WorkItemTypes.ProductBacklogItem",
            description: "Something a user wants to do with the product",
            color: "009CCC",
            icon: "icon_list",
            states: backlog_states.clone(),
            fields: with_core(&[
                "System.Description",
                "Microsoft.VSTS.Common.AcceptanceCriteria",
                "Microsoft.VSTS.Common.ValueArea",
                "Microsoft.VSTS.Common.BusinessValue",
                "Microsoft.VSTS.Common.BacklogPriority",
                "Microsoft.VSTS.Scheduling.Effort",
            ]),
        },
        WitType {
            name: "Task",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Task",
            description: "A unit of work for one person",
            color: "F2CB1D",
            icon: "icon_clipboard",
            states: vec![
                st("To Do", "b2b2b2", PROPOSED),
                st("In Progress", "007acc", IN_PROGRESS),
                st("Done", "339933", COMPLETED),
                st("Removed", "ffffff", REMOVED),
            ],
            fields: with_core(&[
                "System.Description",
                "Microsoft.VSTS.Common.Activity",
                "Microsoft.VSTS.Common.BacklogPriority",
                "Microsoft.VSTS.Scheduling.RemainingWork",
            ]),
        },
        WitType {
            name: "Bug",
            ref_name: "Microsoft.VSTS.WorkItemTypes.Bug",
            description:
                "A defect: what goes wrong, how to reproduce it, and the work to fix and verify it",
            color: "CC293D",
            icon: "icon_insect",
            states: backlog_states,
            fields: with_core(&[
                "Microsoft.VSTS.TCM.ReproSteps",
                "Microsoft.VSTS.TCM.SystemInfo",
                "Microsoft.VSTS.Common.AcceptanceCriteria",
                "Microsoft.VSTS.Common.Severity",
                "Microsoft.VSTS.Common.BacklogPriority",
                "Microsoft.VSTS.Scheduling.Effort",
                "Microsoft.VSTS.Build.FoundIn",
            ]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_field_is_in_the_catalogue() {
        for p in [Process::Agile, Process::Scrum] {
            for t in p.types() {
                for fr in &t.fields {
                    assert!(field(fr).is_some(), "{} lists unknown field {fr}", t.name);
                }
            }
        }
    }

    #[test]
    fn agile_bug_has_repro_steps_not_description() {
        let bug = Process::Agile
            .types()
            .into_iter()
            .find(|t| t.name == "Bug")
            .expect("bug");
        assert!(bug.has_field("Microsoft.VSTS.TCM.ReproSteps"));
        assert!(!bug.has_field("System.Description"));
        assert!(bug.has_field("Microsoft.VSTS.Scheduling.StoryPoints"));
    }

    #[test]
    fn lookup_by_display_name() {
        assert_eq!(field("state").map(|f| f.ref_name), Some("System.State"));
        assert_eq!(
            field("Work Item Type").map(|f| f.ref_name),
            Some("System.WorkItemType")
        );
        assert!(field("Nope.Nope").is_none());
    }
}
