//! Metadata endpoints: connection data, projects, teams, work item types, fields,
//! classification nodes, team iterations and tags.

use serde_json::{json, Value};
use time::Date;

use super::error::{list, AdoError, HandlerResult, Reply};
use super::process;
use super::render;
use super::routes::Ctx;
use super::state::{Deployment, Node, Project, SimState};
use super::util::{fmt_day, parse_instant, pct_encode};

pub(crate) fn project_idx(state: &SimState, ctx: &Ctx) -> Result<usize, AdoError> {
    let name = ctx
        .project_name()
        .ok_or_else(|| AdoError::no_route(&ctx.raw_path))?;
    find_project(state, name)
}

pub(crate) fn find_project(state: &SimState, name: &str) -> Result<usize, AdoError> {
    state
        .projects
        .iter()
        .position(|p| {
            p.name.eq_ignore_ascii_case(name.trim())
                || p.id.to_string() == name.trim().to_lowercase()
        })
        .ok_or_else(|| AdoError::project_missing(name))
}

pub(crate) fn connection_data(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let me = state
        .identity(&ctx.actor)
        .cloned()
        .ok_or_else(|| AdoError::no_route(&ctx.raw_path))?;
    let user = json!({
        "id": me.id.to_string(),
        "descriptor": format!("Microsoft.IdentityModel.Claims.ClaimsIdentity;{}", me.unique),
        "subjectDescriptor": me.descriptor,
        "providerDisplayName": me.display,
        "isActive": true,
        "properties": { "Account": { "$type": "System.String", "$value": me.unique } },
        "resourceVersion": 2,
        "metaTypeId": 0
    });
    let (deployment_type, vdir) = match ctx.deployment {
        Deployment::Cloud => ("hosted", "/"),
        Deployment::OnPrem => ("onPremises", "/tfs/"),
    };
    Ok(Reply::ok(json!({
        "authenticatedUser": user.clone(),
        "authorizedUser": user,
        "instanceId": state.collection_id.to_string(),
        "deploymentId": state.deployment_id.to_string(),
        "deploymentType": deployment_type,
        "locationServiceData": {
            "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
            "defaultAccessMappingMoniker": "PublicAccessMapping",
            "lastChangeId": 1,
            "lastChangeId64": 1,
            "accessMappings": [{
                "displayName": "Public Access Mapping",
                "moniker": "PublicAccessMapping",
                "accessPoint": ctx.base,
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "virtualDirectory": ""
            }]
        },
        "webApplicationRelativeDirectory": vdir
    })))
}

fn project_ref(base: &str, p: &Project) -> Value {
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "description": p.description,
        "url": format!("{base}/_apis/projects/{}", p.id),
        "state": "wellFormed",
        "revision": 10,
        "visibility": "private",
        "lastUpdateTime": p.last_update
    })
}

pub(crate) fn projects(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let skip = ctx
        .q("$skip")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let top = ctx
        .q("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100);
    let values = state
        .projects
        .iter()
        .skip(skip)
        .take(top)
        .map(|p| project_ref(&ctx.base, p))
        .collect();
    Ok(Reply::ok(list(values)))
}

pub(crate) fn project(state: &SimState, ctx: &Ctx, name: &str) -> HandlerResult {
    let p = &state.projects[find_project(state, name)?];
    let mut v = project_ref(&ctx.base, p);
    let team = &p.teams[0];
    v["_links"] = json!({
        "self": { "href": format!("{}/_apis/projects/{}", ctx.base, p.id) },
        "collection": { "href": format!("{}/_apis/projectCollections/{}", ctx.base, state.collection_id) },
        "web": { "href": format!("{}/{}", ctx.base, pct_encode(&p.name)) }
    });
    v["defaultTeam"] = json!({
        "id": team.id.to_string(),
        "name": team.name,
        "url": format!("{}/_apis/projects/{}/teams/{}", ctx.base, p.id, team.id)
    });
    if ctx.q_bool("includeCapabilities") {
        v["capabilities"] = json!({
            "versioncontrol": { "sourceControlType": "Git", "gitEnabled": "True", "tfvcEnabled": "False" },
            "processTemplate": {
                "templateName": p.process.template_name(),
                "templateTypeId": p.process.template_type_id()
            }
        });
    }
    Ok(Reply::ok(v))
}

pub(crate) fn teams(state: &SimState, ctx: &Ctx, name: &str) -> HandlerResult {
    let p = &state.projects[find_project(state, name)?];
    let values = p
        .teams
        .iter()
        .map(|t| {
            json!({
                "id": t.id.to_string(),
                "name": t.name,
                "url": format!("{}/_apis/projects/{}/teams/{}", ctx.base, p.id, t.id),
                "description": t.description,
                "identityUrl": format!("{}/_apis/Identities/{}", ctx.base, t.id),
                "projectName": p.name,
                "projectId": p.id.to_string()
            })
        })
        .collect();
    Ok(Reply::ok(list(values)))
}

fn time_frame(n: &Node, today: Date) -> &'static str {
    match (n.start, n.finish) {
        (Some(_), Some(f)) if f < today => "past",
        (Some(s), Some(f)) if s <= today && today <= f => "current",
        _ => "future",
    }
}

pub(crate) fn team_iterations(state: &SimState, ctx: &Ctx, id: Option<&str>) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    let team = match ctx.team_name() {
        Some(t) => p.team(t).ok_or_else(|| {
            AdoError::not_found(
                "TeamNotFoundException",
                format!("VS403325: The team with id or name '{t}' does not exist."),
            )
        })?,
        None => &p.teams[0],
    };
    let today = state.clock.today();
    let team_base = format!("{}/{}/{}/_apis/work/teamsettings", ctx.base, p.id, team.id);
    let render_it = |rel: &[String], n: &Node, links: bool| {
        let url = format!("{team_base}/iterations/{}", n.identifier);
        let mut path = p.name.clone();
        for r in rel {
            path.push('\\');
            path.push_str(r);
        }
        let mut v = json!({
            "id": n.identifier.to_string(),
            "name": n.name,
            "path": path,
            "attributes": {
                "startDate": n.start.map(fmt_day),
                "finishDate": n.finish.map(fmt_day),
                "timeFrame": time_frame(n, today)
            },
            "url": url
        });
        if links {
            v["_links"] = json!({
                "self": { "href": url },
                "project": { "href": format!("{}/_apis/projects/{}", ctx.base, p.id) },
                "team": { "href": format!("{}/_apis/projects/{}/teams/{}", ctx.base, p.id, team.id) },
                "teamSettings": { "href": team_base },
                "teamIterations": { "href": format!("{team_base}/iterations") },
                "classificationNode": { "href": render::node_url(&ctx.base, p, true, rel) }
            });
        }
        v
    };
    let all = p.iterations.descendants();
    match id {
        Some(id) => {
            let (rel, n) = all
                .iter()
                .find(|(_, n)| n.identifier.to_string().eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    AdoError::not_found(
                        "TeamSettingsIterationNotFoundException",
                        format!("VS403326: The iteration '{id}' is not selected for this team."),
                    )
                })?;
            Ok(Reply::ok(render_it(rel, n, true)))
        }
        None => {
            let current_only = ctx
                .q("$timeframe")
                .is_some_and(|t| t.eq_ignore_ascii_case("current"));
            let values = all
                .iter()
                .filter(|(_, n)| !current_only || time_frame(n, today) == "current")
                .map(|(rel, n)| render_it(rel, n, false))
                .collect();
            Ok(Reply::ok(list(values)))
        }
    }
}

pub(crate) fn work_item_types(state: &SimState, ctx: &Ctx, name: Option<&str>) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    match name {
        Some(n) => {
            let t = p.wit_type(n).ok_or_else(|| type_missing(n))?;
            Ok(Reply::ok(render::wit_type_json(state, &ctx.base, p, t)))
        }
        None => Ok(Reply::ok(list(
            p.types
                .iter()
                .map(|t| render::wit_type_json(state, &ctx.base, p, t))
                .collect(),
        ))),
    }
}

fn type_missing(n: &str) -> AdoError {
    AdoError::not_found(
        "WorkItemTypeNotFoundException",
        format!("VS402323: Work item type {n} does not exist."),
    )
}

pub(crate) fn type_states(state: &SimState, ctx: &Ctx, name: &str) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    let t = p.wit_type(name).ok_or_else(|| type_missing(name))?;
    Ok(Reply::ok(list(
        t.states.iter().map(render::state_json).collect(),
    )))
}

pub(crate) fn type_fields(
    state: &SimState,
    ctx: &Ctx,
    name: &str,
    field: Option<&str>,
) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    let t = p.wit_type(name).ok_or_else(|| type_missing(name))?;
    let expand = ctx.q("$expand").is_some_and(|e| {
        let e = e.to_lowercase();
        e.contains("allowedvalues") || e.contains("dependentfields") || e == "all"
    });
    match field {
        Some(f) => {
            let def = process::field(f)
                .filter(|d| t.has_field(d.ref_name))
                .ok_or_else(|| field_missing(f))?;
            Ok(Reply::ok(render::type_field_json(
                state, &ctx.base, t, def, expand,
            )))
        }
        None => Ok(Reply::ok(list(
            render::type_fields(t)
                .into_iter()
                .map(|d| render::type_field_json(state, &ctx.base, t, d, expand))
                .collect(),
        ))),
    }
}

fn field_missing(f: &str) -> AdoError {
    AdoError::not_found(
        "WorkItemFieldNotFoundException",
        format!("TF51535: Cannot find field {f}."),
    )
}

pub(crate) fn fields(state: &SimState, ctx: &Ctx, field: Option<&str>) -> HandlerResult {
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    match field {
        Some(f) => {
            let def = process::field(f).ok_or_else(|| field_missing(f))?;
            Ok(Reply::ok(render::field_def_json(&ctx.base, def)))
        }
        None => Ok(Reply::ok(list(
            process::FIELDS
                .iter()
                .map(|d| render::field_def_json(&ctx.base, d))
                .collect(),
        ))),
    }
}

fn depth(ctx: &Ctx) -> u32 {
    ctx.q("$depth").and_then(|d| d.parse().ok()).unwrap_or(0)
}

fn group(g: &str) -> Result<bool, AdoError> {
    match g.to_lowercase().as_str() {
        "iterations" | "iteration" => Ok(true),
        "areas" | "area" => Ok(false),
        _ => Err(AdoError::bad_request(
            "ClassificationNodeInvalidStructureTypeException",
            format!(
                "VS402485: The structure group '{g}' is not valid. Use 'Areas' or 'Iterations'."
            ),
        )),
    }
}

pub(crate) fn nodes_root(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    if let Some(ids) = ctx.q("ids") {
        let mut values = Vec::new();
        for raw in ids.split(',').filter(|s| !s.trim().is_empty()) {
            let id: i64 = raw.trim().parse().map_err(|_| {
                AdoError::bad_request(
                    "ClassificationNodeInvalidIdException",
                    format!("VS402486: '{raw}' is not a valid node id."),
                )
            })?;
            let found = [true, false].into_iter().find_map(|it| {
                p.root(it)
                    .find_by_id(id)
                    .map(|(rel, n)| (it, rel, n.clone()))
            });
            match found {
                Some((it, rel, n)) => values.push(render::node_json(
                    &ctx.base,
                    p,
                    it,
                    &rel,
                    &n,
                    depth(ctx),
                    true,
                )),
                None if ctx
                    .q("errorPolicy")
                    .is_some_and(|e| e.eq_ignore_ascii_case("omit")) => {}
                None => return Err(node_missing(raw)),
            }
        }
        return Ok(Reply::ok(list(values)));
    }
    let d = depth(ctx);
    let values = vec![
        render::node_json(&ctx.base, p, false, &[], &p.areas, d, true),
        render::node_json(&ctx.base, p, true, &[], &p.iterations, d, true),
    ];
    Ok(Reply::ok(list(values)))
}

fn node_missing(path: &str) -> AdoError {
    AdoError::not_found(
        "ClassificationNodeDoesNotExistException",
        format!("VS402485: The node '{path}' does not exist."),
    )
}

pub(crate) fn node_get(state: &SimState, ctx: &Ctx, g: &str, rel: &[String]) -> HandlerResult {
    let iterations = group(g)?;
    let p = &state.projects[project_idx(state, ctx)?];
    let rel_refs: Vec<&str> = rel.iter().map(String::as_str).collect();
    let n = p
        .root(iterations)
        .find(&rel_refs)
        .ok_or_else(|| node_missing(&rel.join("\\")))?;
    // Canonical spelling of the path.
    let mut canonical = Vec::new();
    let mut cur = p.root(iterations);
    for r in &rel_refs {
        if let Some(next) = cur.children.iter().find(|c| c.name.eq_ignore_ascii_case(r)) {
            canonical.push(next.name.clone());
            cur = next;
        }
    }
    Ok(Reply::ok(render::node_json(
        &ctx.base,
        p,
        iterations,
        &canonical,
        n,
        depth(ctx),
        true,
    )))
}

pub(crate) fn node_create(
    state: &mut SimState,
    ctx: &Ctx,
    g: &str,
    parent: &[String],
) -> HandlerResult {
    let iterations = group(g)?;
    let idx = project_idx(state, ctx)?;
    let body = ctx.json_body()?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            AdoError::bad_request(
                "ClassificationNodeInvalidNameException",
                "VS402487: The node name is required.",
            )
        })?
        .to_string();
    if name.contains('\\') || name.contains('/') {
        return Err(AdoError::bad_request(
            "ClassificationNodeInvalidNameException",
            format!("VS402488: The node name '{name}' contains invalid characters."),
        ));
    }
    let date = |k: &str| -> Result<Option<Date>, AdoError> {
        match body.get("attributes").and_then(|a| a.get(k)) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(parse_instant)
                .map(|t| Some(t.date()))
                .ok_or_else(|| {
                    AdoError::bad_request(
                        "ClassificationNodeInvalidDateException",
                        format!("VS402489: '{v}' is not a valid {k}."),
                    )
                }),
        }
    };
    let (start, finish) = (date("startDate")?, date("finishDate")?);
    let dates = match (start, finish) {
        (Some(s), Some(f)) if iterations => {
            if f < s {
                return Err(AdoError::bad_request(
                    "ClassificationNodeInvalidDateException",
                    "VS402490: The finish date must be on or after the start date.",
                ));
            }
            Some((s, f))
        }
        (None, None) => None,
        _ if !iterations => None,
        _ => {
            return Err(AdoError::bad_request(
                "ClassificationNodeInvalidDateException",
                "VS402491: An iteration needs both a start and a finish date, or neither.",
            ))
        }
    };
    let parent_refs: Vec<&str> = parent.iter().map(String::as_str).collect();
    if state.projects[idx]
        .root(iterations)
        .find(&parent_refs)
        .is_none()
    {
        return Err(node_missing(&parent.join("\\")));
    }
    let node = state
        .add_node(idx, iterations, &parent_refs, &name, dates)
        .ok_or_else(|| {
            AdoError::new(
                409,
                "ClassificationNodeDuplicateNameException",
                format!("VS402371: Classification node name {name} is already in use by a different child of parent classification node."),
            )
        })?;
    let p = &state.projects[idx];
    let mut rel: Vec<String> = Vec::new();
    let mut cur = p.root(iterations);
    for r in &parent_refs {
        if let Some(next) = cur.children.iter().find(|c| c.name.eq_ignore_ascii_case(r)) {
            rel.push(next.name.clone());
            cur = next;
        }
    }
    rel.push(node.name.clone());
    Ok(Reply::json(
        201,
        render::node_json(&ctx.base, p, iterations, &rel, &node, 0, true),
    ))
}

pub(crate) fn tags(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let p = &state.projects[project_idx(state, ctx)?];
    let mut tags = p.tags.clone();
    tags.sort_by_key(|t| t.name.to_lowercase());
    let values = tags
        .iter()
        .map(|t| {
            json!({
                "id": t.id.to_string(),
                "name": t.name,
                "url": format!("{}/{}/_apis/wit/tags/{}", ctx.base, p.id, t.id),
                "lastUpdated": t.last_updated
            })
        })
        .collect();
    Ok(Reply::ok(list(values)))
}
