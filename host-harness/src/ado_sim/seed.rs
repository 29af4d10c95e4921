//! Deterministic seed data ("Fabrikam" on Agile, "Tailspin" on Scrum) and the bulk generator.

use serde_json::{json, Map, Value};
use time::{Date, Duration};

use super::error::AdoError;
use super::patch::{self, PatchOptions, Target};
use super::process::Process;
use super::render::work_item_url;
use super::state::{Deployment, RelTarget, Relation, SimState, HIER_FORWARD, HIER_REVERSE};

/// Builds `add /fields/…` ops (null values become `remove`) plus an optional parent link.
pub(crate) fn ops_for(state: &SimState, fields: &Value, parent: Option<i64>) -> Value {
    let mut ops = Vec::new();
    if let Some(o) = fields.as_object() {
        for (k, v) in o {
            if v.is_null() {
                ops.push(json!({ "op": "remove", "path": format!("/fields/{k}") }));
            } else {
                ops.push(json!({ "op": "add", "path": format!("/fields/{k}"), "value": v }));
            }
        }
    }
    if let Some(p) = parent {
        ops.push(json!({
            "op": "add",
            "path": "/relations/-",
            "value": { "rel": HIER_REVERSE, "url": work_item_url(&state.base(Deployment::Cloud), p) }
        }));
    }
    Value::Array(ops)
}

/// Creates an item through the normal patch path (events recorded).
pub(crate) fn create(
    state: &mut SimState,
    project: &str,
    wtype: &str,
    fields: &Value,
    parent: Option<i64>,
    actor: &str,
) -> Result<i64, AdoError> {
    let pid = state
        .project(project)
        .map(|p| p.id)
        .ok_or_else(|| AdoError::project_missing(project))?;
    let ops = ops_for(state, fields, parent);
    let plan = patch::plan(
        state,
        Target::Create {
            project: pid,
            type_name: wtype.to_string(),
        },
        &ops,
        PatchOptions::default(),
    )?;
    Ok(patch::apply(state, plan, actor))
}

fn actor(state: &SimState, unique: &str) -> String {
    state
        .identity(unique)
        .map(|i| i.distinct())
        .unwrap_or_else(|| unique.to_string())
}

fn sprint_dates(today: Date) -> [(Date, Date); 2] {
    // Sprints start on Mondays so the "current" one always contains today.
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let current_start = monday - Duration::days(7);
    [
        (
            current_start - Duration::days(14),
            current_start - Duration::days(1),
        ),
        (current_start, current_start + Duration::days(13)),
    ]
}

/// Adds the Fabrikam (Agile) and Tailspin (Scrum) projects with their items; clears events.
pub(crate) fn seed(state: &mut SimState) -> Result<(), AdoError> {
    let today = state.clock.today();
    let [s1, s2] = sprint_dates(today);

    let fab = state.add_project(
        "Fabrikam",
        "Fabrikam Fiber web and mobile apps",
        Process::Agile,
    );
    state.add_node(fab, false, &[], "Web", None);
    state.add_node(fab, false, &[], "Mobile", None);
    state.add_node(fab, true, &[], "Sprint 1", Some(s1));
    state.add_node(fab, true, &[], "Sprint 2", Some(s2));
    state.add_node(fab, true, &[], "Sprint 3", None);

    let priya = actor(state, "priya@contoso.example");
    let alex = actor(state, "alex@contoso.example");
    let jamie = actor(state, "jamie@contoso.example");
    let sam = actor(state, "sam@contoso.example");
    let dana = actor(state, super::state::DANA);

    let p = "Fabrikam";
    let epic1 = create(
        state,
        p,
        "Epic",
        &json!({
            "System.Title": "Customer self-service portal",
            "System.State": "Active",
            "System.Description": "<div>Let customers manage accounts and orders <b>without calling support</b>.</div>",
            "System.AssignedTo": "Priya Product <priya@contoso.example>",
            "System.Tags": "customer; q3",
            "Microsoft.VSTS.Common.Priority": 1,
            "Microsoft.VSTS.Common.BusinessValue": 400,
            "Custom.Objective": "Reduce support load",
            "Custom.KeyResult": "30% fewer support tickets by the end of Q3",
            "Custom.Risk": "Medium",
            "Custom.Confidence": 0.7
        }),
        None,
        &priya,
    )?;
    let epic2 = create(
        state,
        p,
        "Epic",
        &json!({
            "System.Title": "Platform reliability",
            "System.Description": "<p>Keep the platform up: observability, retire legacy APIs.</p>",
            "System.Tags": "tech-debt",
            "Microsoft.VSTS.Common.ValueArea": "Architectural",
            "Custom.Risk": "High"
        }),
        None,
        &sam,
    )?;
    let feat_account = create(
        state,
        p,
        "Feature",
        &json!({
            "System.Title": "Account management",
            "System.State": "Active",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "System.Description": "<div>Sign-in, password reset and profile editing.</div>",
            "Microsoft.VSTS.Common.BusinessValue": 200,
            "Custom.Objective": "Reduce support load"
        }),
        Some(epic1),
        &priya,
    )?;
    let feat_orders = create(
        state,
        p,
        "Feature",
        &json!({
            "System.Title": "Order tracking",
            "System.AreaPath": "Fabrikam\\Mobile",
            "System.Description": "<div>Customers follow their orders from the mobile app.</div>",
            "System.Tags": "customer"
        }),
        Some(epic1),
        &priya,
    )?;
    let feat_obs = create(
        state,
        p,
        "Feature",
        &json!({
            "System.Title": "Observability",
            "System.State": "Resolved",
            "System.Description": "<p>Logs, metrics and dashboards.</p>",
            "System.AssignedTo": "sam@contoso.example"
        }),
        Some(epic2),
        &sam,
    )?;
    let feat_legacy = create(
        state,
        p,
        "Feature",
        &json!({
            "System.Title": "Legacy API retirement",
            "System.State": "Removed",
            "System.Tags": "tech-debt"
        }),
        Some(epic2),
        &sam,
    )?;
    let s_signin = create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Sign in with a Microsoft account",
            "System.State": "Closed",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 1",
            "System.AssignedTo": "Alex Developer <alex@contoso.example>",
            "System.Description": "<div>As a customer I want to sign in with my <i>Microsoft account</i>.</div>",
            "Microsoft.VSTS.Common.AcceptanceCriteria": "<ul><li>Sign-in works with MSA</li><li>Errors are shown inline</li></ul>",
            "Microsoft.VSTS.Scheduling.StoryPoints": 5,
            "System.Tags": "customer"
        }),
        Some(feat_account),
        &alex,
    )?;
    let s_reset = create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Reset a forgotten password",
            "System.State": "Active",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "System.AssignedTo": "Dana Engineer <dana@contoso.example>",
            "System.Description": "<div>As a customer I can reset my password by e-mail.</div>",
            "Microsoft.VSTS.Scheduling.StoryPoints": 3,
            "Custom.Risk": "Low"
        }),
        Some(feat_account),
        &alex,
    )?;
    create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Update profile details",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 3",
            "System.Description": "<div>Change name, address and phone number.</div>",
            "Microsoft.VSTS.Scheduling.StoryPoints": 2
        }),
        Some(feat_account),
        &alex,
    )?;
    let s_mobile = create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "See order status on mobile",
            "System.AreaPath": "Fabrikam\\Mobile",
            "System.Description": "<div>Order list with status badges.</div>",
            "Microsoft.VSTS.Scheduling.StoryPoints": 8
        }),
        Some(feat_orders),
        &alex,
    )?;
    create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Push notifications for shipped orders",
            "System.State": "Active",
            "System.AreaPath": "Fabrikam\\Mobile",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "System.AssignedTo": "Alex Developer <alex@contoso.example>",
            "Microsoft.VSTS.Scheduling.StoryPoints": 5,
            "System.Tags": "q3"
        }),
        Some(feat_orders),
        &alex,
    )?;
    create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Structured logging for web tier",
            "System.State": "Closed",
            "System.IterationPath": "Fabrikam\\Sprint 1",
            "Microsoft.VSTS.Scheduling.StoryPoints": 3,
            "System.Tags": "tech-debt"
        }),
        Some(feat_obs),
        &sam,
    )?;
    create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Dashboards for error rates",
            "System.State": "Active",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "Microsoft.VSTS.Scheduling.StoryPoints": 5
        }),
        Some(feat_obs),
        &sam,
    )?;
    create(
        state,
        p,
        "User Story",
        &json!({
            "System.Title": "Remove SOAP endpoints",
            "System.State": "Removed",
            "System.Tags": "tech-debt"
        }),
        Some(feat_legacy),
        &sam,
    )?;
    create(
        state,
        p,
        "Task",
        &json!({
            "System.Title": "Add OAuth callback handler",
            "System.State": "Active",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "System.AssignedTo": "Dana Engineer <dana@contoso.example>",
            "Microsoft.VSTS.Common.Activity": "Development",
            "Microsoft.VSTS.Scheduling.RemainingWork": 4
        }),
        Some(s_reset),
        &dana,
    )?;
    create(
        state,
        p,
        "Task",
        &json!({
            "System.Title": "Write password reset e-mail template",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "Microsoft.VSTS.Common.Activity": "Design",
            "Microsoft.VSTS.Scheduling.RemainingWork": 2
        }),
        Some(s_reset),
        &alex,
    )?;
    create(
        state,
        p,
        "Task",
        &json!({
            "System.Title": "Load test the sign-in flow",
            "System.State": "Closed",
            "System.IterationPath": "Fabrikam\\Sprint 1",
            "Microsoft.VSTS.Common.Activity": "Testing",
            "Microsoft.VSTS.Scheduling.CompletedWork": 6
        }),
        Some(s_signin),
        &jamie,
    )?;
    create(
        state,
        p,
        "Bug",
        &json!({
            "System.Title": "Login button misaligned on Safari",
            "System.State": "Active",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 2",
            "System.AssignedTo": "jamie@contoso.example",
            "Microsoft.VSTS.TCM.ReproSteps": "<ol><li>Open the sign-in page in Safari 17</li><li>Look at the <b>Sign in</b> button</li></ol><p>Expected: centred. Actual: 12px to the left.</p>",
            "Microsoft.VSTS.Common.Severity": "3 - Medium",
            "Microsoft.VSTS.Scheduling.StoryPoints": 1
        }),
        Some(feat_account),
        &jamie,
    )?;
    let bug_crash = create(
        state,
        p,
        "Bug",
        &json!({
            "System.Title": "Crash when order list is empty",
            "System.AreaPath": "Fabrikam\\Mobile",
            "Microsoft.VSTS.TCM.ReproSteps": "<p>Open <i>Orders</i> with a new account: the app closes.</p>",
            "Microsoft.VSTS.Common.Severity": "2 - High",
            "Microsoft.VSTS.Common.Priority": 1,
            "System.Tags": "customer"
        }),
        None,
        &jamie,
    )?;
    create(
        state,
        p,
        "Bug",
        &json!({
            "System.Title": "Timeout exporting large reports",
            "System.State": "Resolved",
            "Microsoft.VSTS.TCM.ReproSteps": "<p>Export a report with more than 10,000 rows.</p>",
            "Microsoft.VSTS.Common.ResolvedReason": "Fixed",
            "System.Tags": "customer; q3"
        }),
        None,
        &jamie,
    )?;
    // A little history: a related link (both ends get a revision) and a comment.
    let link = json!([{ "op": "add", "path": "/relations/-", "value": {
        "rel": "System.LinkTypes.Related",
        "url": work_item_url(&state.base(Deployment::Cloud), s_mobile),
        "attributes": { "comment": "Same screen" }
    }}]);
    let plan = patch::plan(
        state,
        Target::Update { id: bug_crash },
        &link,
        PatchOptions::default(),
    )?;
    patch::apply(state, plan, &jamie);
    let comment = json!([{ "op": "add", "path": "/fields/System.History", "value": "<div>Verified on staging.</div>" }]);
    let plan = patch::plan(
        state,
        Target::Update { id: s_signin },
        &comment,
        PatchOptions::default(),
    )?;
    patch::apply(state, plan, &jamie);

    // Tailspin (Scrum).
    let tail = state.add_project("Tailspin", "Tailspin Toys flight booking", Process::Scrum);
    state.add_node(tail, true, &[], "Sprint 1", Some(s1));
    state.add_node(tail, true, &[], "Sprint 2", Some(s2));
    state.add_node(tail, false, &[], "Backend", None);
    let t = "Tailspin";
    let t_epic = create(
        state,
        t,
        "Epic",
        &json!({
            "System.Title": "Flight booking revamp",
            "System.State": "In Progress",
            "System.Description": "<div>Modernise seat and loyalty flows.</div>"
        }),
        None,
        &priya,
    )?;
    let t_seat = create(
        state,
        t,
        "Feature",
        &json!({
            "System.Title": "Seat selection",
            "System.State": "In Progress",
            "Microsoft.VSTS.Scheduling.Effort": 13
        }),
        Some(t_epic),
        &priya,
    )?;
    let t_loyalty = create(
        state,
        t,
        "Feature",
        &json!({
            "System.Title": "Loyalty points",
            "System.Tags": "q3"
        }),
        Some(t_epic),
        &priya,
    )?;
    let t_pbi = create(
        state,
        t,
        "Product Backlog Item",
        &json!({
            "System.Title": "Choose a seat on the seat map",
            "System.State": "Committed",
            "System.IterationPath": "Tailspin\\Sprint 2",
            "System.AssignedTo": "alex@contoso.example",
            "System.Description": "<div>Pick a seat from an interactive map.</div>",
            "Microsoft.VSTS.Common.AcceptanceCriteria": "<div>Seat is held for 10 minutes.</div>",
            "Microsoft.VSTS.Scheduling.Effort": 5
        }),
        Some(t_seat),
        &alex,
    )?;
    create(
        state,
        t,
        "Product Backlog Item",
        &json!({
            "System.Title": "Pay for extra legroom",
            "System.State": "Approved",
            "Microsoft.VSTS.Scheduling.Effort": 3
        }),
        Some(t_seat),
        &alex,
    )?;
    create(
        state,
        t,
        "Product Backlog Item",
        &json!({
            "System.Title": "Show points balance",
            "System.State": "Done",
            "System.IterationPath": "Tailspin\\Sprint 1",
            "Microsoft.VSTS.Scheduling.Effort": 2
        }),
        Some(t_loyalty),
        &alex,
    )?;
    create(
        state,
        t,
        "Task",
        &json!({
            "System.Title": "Render seat map SVG",
            "System.State": "In Progress",
            "System.IterationPath": "Tailspin\\Sprint 2",
            "System.AssignedTo": "Dana Engineer <dana@contoso.example>",
            "Microsoft.VSTS.Scheduling.RemainingWork": 6
        }),
        Some(t_pbi),
        &dana,
    )?;
    create(
        state,
        t,
        "Bug",
        &json!({
            "System.Title": "Seat map shows wrong cabin class",
            "System.State": "Committed",
            "System.IterationPath": "Tailspin\\Sprint 2",
            "Microsoft.VSTS.TCM.ReproSteps": "<p>Business rows are labelled Economy.</p>",
            "Microsoft.VSTS.Scheduling.Effort": 1
        }),
        Some(t_seat),
        &jamie,
    )?;
    state.events.clear();
    state.next_notification = 1;
    Ok(())
}

/// Adds `n` items to `project` as an Epic > Feature > story-level hierarchy (1 epic, up to 5
/// features per epic, up to 5 stories per feature). No events are recorded and parents get
/// no extra revisions.
pub(crate) fn bulk(state: &mut SimState, project: &str, n: usize) -> Result<Vec<i64>, AdoError> {
    let idx = state
        .projects
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(project))
        .ok_or_else(|| AdoError::project_missing(project))?;
    let pid = state.projects[idx].id;
    let pname = state.projects[idx].name.clone();
    let process = state.projects[idx].process;
    let areas: Vec<String> = std::iter::once(pname.clone())
        .chain(
            state.projects[idx]
                .areas
                .descendants()
                .into_iter()
                .map(|(rel, _)| format!("{pname}\\{}", rel.join("\\"))),
        )
        .collect();
    let iterations: Vec<String> = std::iter::once(pname.clone())
        .chain(
            state.projects[idx]
                .iterations
                .descendants()
                .into_iter()
                .map(|(rel, _)| format!("{pname}\\{}", rel.join("\\"))),
        )
        .collect();
    let people = [
        "alex@contoso.example",
        "priya@contoso.example",
        "jamie@contoso.example",
        "dana@contoso.example",
    ];
    let creator = actor(state, "sam@contoso.example");
    let mut ids = Vec::with_capacity(n);
    let (mut epic, mut feature): (Option<i64>, Option<i64>) = (None, None);
    let (mut features_in_epic, mut stories_in_feature) = (0usize, 0usize);
    for i in 0..n {
        let (wtype, parent) =
            if epic.is_none() || (features_in_epic >= 5 && stories_in_feature >= 5) {
                features_in_epic = 0;
                stories_in_feature = 5;
                ("Epic", None)
            } else if feature.is_none() || stories_in_feature >= 5 {
                features_in_epic += 1;
                stories_in_feature = 0;
                ("Feature", epic)
            } else {
                stories_in_feature += 1;
                (process.backlog_type(), feature)
            };
        let states: Vec<&str> = state.projects[idx]
            .wit_type(wtype)
            .map(|t| t.states.iter().map(|s| s.name).collect())
            .unwrap_or_default();
        let st = states
            .get(i % states.len().max(1))
            .copied()
            .unwrap_or("New");
        let mut fields = Map::new();
        fields.insert("System.Title".into(), json!(format!("Bulk {wtype} {i}")));
        fields.insert("System.State".into(), json!(st));
        fields.insert("System.AreaPath".into(), json!(areas[i % areas.len()]));
        fields.insert(
            "System.IterationPath".into(),
            json!(iterations[i % iterations.len()]),
        );
        fields.insert("Microsoft.VSTS.Common.Priority".into(), json!((i % 4) + 1));
        fields.insert(
            "System.Description".into(),
            json!(format!(
                "<div>Generated item <b>{i}</b> for load tests.</div>"
            )),
        );
        if i % 3 == 0 {
            fields.insert("System.AssignedTo".into(), json!(people[i % people.len()]));
        }
        if i % 7 == 0 {
            fields.insert(
                "System.Tags".into(),
                json!(if i % 2 == 0 { "bulk; perf" } else { "bulk" }),
            );
        }
        if wtype == process.backlog_type() {
            fields.insert(
                process.estimate_field().into(),
                json!([1, 2, 3, 5, 8][i % 5]),
            );
        }
        let ops = ops_for(state, &Value::Object(fields), None);
        let plan = patch::plan(
            state,
            Target::Create {
                project: pid,
                type_name: wtype.to_string(),
            },
            &ops,
            PatchOptions::default(),
        )?;
        let id = state.next_id;
        state.next_id += 1;
        let mut fields = plan.fields;
        if let Some(p) = parent {
            fields.insert("System.Parent".into(), json!(p));
        }
        let relations = parent
            .map(|p| {
                vec![Relation {
                    rel: HIER_REVERSE.to_string(),
                    target: RelTarget::Item(p),
                    attributes: [
                        ("isLocked".to_string(), json!(false)),
                        ("name".to_string(), json!("Parent")),
                    ]
                    .into_iter()
                    .collect(),
                }]
            })
            .unwrap_or_default();
        patch::commit(
            state,
            id,
            pid,
            fields,
            relations,
            &creator,
            true,
            false,
            &[],
            false,
        );
        if let Some(p) = parent {
            if let Some(r) = state.items.get_mut(&p).and_then(|w| w.revisions.last_mut()) {
                r.relations.push(Relation {
                    rel: HIER_FORWARD.to_string(),
                    target: RelTarget::Item(id),
                    attributes: [
                        ("isLocked".to_string(), json!(false)),
                        ("name".to_string(), json!("Child")),
                    ]
                    .into_iter()
                    .collect(),
                });
            }
        }
        match wtype {
            "Epic" => {
                epic = Some(id);
                feature = None;
            }
            "Feature" => feature = Some(id),
            _ => {}
        }
        ids.push(id);
    }
    Ok(ids)
}
