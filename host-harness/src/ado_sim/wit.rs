//! Work item endpoints: get, list, batch, create, update, delete, WIQL, updates, revisions and
//! the recycle bin.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::error::{list, AdoError, HandlerResult, Reply};
use super::faults::Faults;
use super::hooks::{self, EventKind};
use super::meta::{find_project, project_idx};
use super::patch::{self, PatchOptions, Target};
use super::process;
use super::render::{self, IdentityStyle, ItemView};
use super::routes::Ctx;
use super::state::{Deleted, RelTarget, Revision, SimState, WorkItem};
use super::util::parse_instant;
use super::wiql;

/// Maximum ids per list or batch request.
pub(crate) const MAX_IDS: usize = 200;
/// Maximum rows a WIQL query may return.
pub(crate) const WIQL_CAP: usize = 20_000;

fn parse_id(raw: &str) -> Result<i64, AdoError> {
    raw.trim().parse::<i64>().map_err(|_| {
        AdoError::bad_request(
            "InvalidArgumentValueException",
            format!("VS403450: The work item id '{raw}' is not a valid integer."),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expand {
    None,
    Relations,
    Fields,
    Links,
    All,
}

fn parse_expand(raw: Option<&str>) -> Result<Option<Expand>, AdoError> {
    let Some(raw) = raw else { return Ok(None) };
    Ok(Some(match raw.trim().to_lowercase().as_str() {
        "none" => Expand::None,
        "relations" => Expand::Relations,
        "fields" => Expand::Fields,
        "links" => Expand::Links,
        "all" => Expand::All,
        other => {
            return Err(AdoError::bad_request(
                "InvalidArgumentValueException",
                format!("VS403451: '{other}' is not a valid value for $expand. Use none, relations, fields, links or all."),
            ))
        }
    }))
}

/// Validates and canonicalises a `fields` list.
fn parse_fields(list: Vec<String>) -> Result<Option<Vec<String>>, AdoError> {
    let list: Vec<String> = list
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Ok(None);
    }
    list.iter()
        .map(|f| {
            process::field(f)
                .map(|d| d.ref_name.to_string())
                .ok_or_else(|| {
                    AdoError::bad_request(
                        "WorkItemFieldNotFoundException",
                        format!("TF51535: Cannot find field {f}."),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn no_expand_with_fields() -> AdoError {
    AdoError::bad_request(
        "ConflictingParametersException",
        "VS403437: The expand parameter can not be used with the fields parameter.",
    )
}

/// The revision current at `as_of` (or the latest).
fn revision_at(w: &WorkItem, as_of: Option<OffsetDateTime>) -> Option<&Revision> {
    match as_of {
        None => Some(w.current()),
        Some(t) => w
            .revisions
            .iter()
            .rev()
            .find(|r| parse_instant(r.str_field("System.ChangedDate")).is_some_and(|c| c <= t)),
    }
}

fn parse_as_of(raw: Option<&str>) -> Result<Option<OffsetDateTime>, AdoError> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_instant(s).map(Some).ok_or_else(|| {
            AdoError::bad_request(
                "InvalidArgumentValueException",
                format!("VS403452: '{s}' is not a valid asOf date."),
            )
        }),
    }
}

struct Fetch {
    fields: Option<Vec<String>>,
    expand: Option<Expand>,
    as_of: Option<OffsetDateTime>,
    omit: bool,
}

fn view<'a>(base: &'a str, f: &'a Fetch) -> ItemView<'a> {
    let e = f.expand.unwrap_or(Expand::None);
    ItemView {
        base,
        fields: f.fields.as_deref(),
        relations: matches!(e, Expand::Relations | Expand::All),
        links: f.fields.is_none(),
        identities: IdentityStyle::Ref,
    }
}

fn fetch_many(state: &SimState, base: &str, ids: &[i64], f: &Fetch) -> HandlerResult {
    if ids.is_empty() {
        return Err(AdoError::bad_request(
            "InvalidArgumentValueException",
            "VS403453: At least one work item id is required.",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(AdoError::bad_request(
            "WorkItemsBatchLimitExceededException",
            format!("VS403474: The number of work item ids in the request ({}) exceeds the limit of {MAX_IDS}.", ids.len()),
        ));
    }
    let v = view(base, f);
    let mut values = Vec::with_capacity(ids.len());
    for id in ids {
        let found = state
            .live(*id)
            .and_then(|w| revision_at(w, f.as_of).map(|r| (w, r)));
        match found {
            Some((w, r)) => values.push(render::work_item_json(state, w, r, &v)),
            None if f.omit => values.push(Value::Null),
            None => return Err(AdoError::work_item_missing(*id)),
        }
    }
    Ok(Reply::ok(list(values)))
}

fn is_omit(p: Option<&str>) -> Result<bool, AdoError> {
    match p.map(|s| s.trim().to_lowercase()) {
        None => Ok(false),
        Some(s) if s == "omit" => Ok(true),
        Some(s) if s == "fail" || s.is_empty() => Ok(false),
        Some(s) => Err(AdoError::bad_request(
            "InvalidArgumentValueException",
            format!("VS403454: '{s}' is not a valid errorPolicy."),
        )),
    }
}

pub(crate) fn list_ids(raw: &str) -> Result<Vec<i64>, AdoError> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_id)
        .collect()
}

pub(crate) fn list_items(state: &SimState, ctx: &Ctx) -> HandlerResult {
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    let ids = list_ids(ctx.q("ids").unwrap_or_default())?;
    let fields = parse_fields(
        ctx.q("fields")
            .map(|f| f.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    )?;
    let expand = parse_expand(ctx.q("$expand"))?;
    if fields.is_some() && expand.is_some() {
        return Err(no_expand_with_fields());
    }
    let f = Fetch {
        fields,
        expand,
        as_of: parse_as_of(ctx.q("asOf"))?,
        omit: is_omit(ctx.q("errorPolicy"))?,
    };
    fetch_many(state, &ctx.base, &ids, &f)
}

pub(crate) fn batch(state: &SimState, ctx: &Ctx) -> HandlerResult {
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    let body = ctx.json_body()?;
    let ids: Vec<i64> = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            AdoError::bad_request(
                "InvalidArgumentValueException",
                "VS403453: The request body must contain an 'ids' array.",
            )
        })?
        .iter()
        .map(|v| {
            super::util::json_as_i64(v).ok_or_else(|| {
                AdoError::bad_request(
                    "InvalidArgumentValueException",
                    format!("VS403450: The work item id '{v}' is not a valid integer."),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let fields = parse_fields(
        body.get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    )?;
    let expand = parse_expand(body.get("$expand").and_then(Value::as_str))?;
    if fields.is_some() && expand.is_some() {
        return Err(no_expand_with_fields());
    }
    let f = Fetch {
        fields,
        expand,
        as_of: parse_as_of(body.get("asOf").and_then(Value::as_str))?,
        omit: is_omit(body.get("errorPolicy").and_then(Value::as_str))?,
    };
    fetch_many(state, &ctx.base, &ids, &f)
}

pub(crate) fn get(state: &SimState, ctx: &Ctx, raw_id: &str) -> HandlerResult {
    let id = parse_id(raw_id)?;
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    let fields = parse_fields(
        ctx.q("fields")
            .map(|f| f.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    )?;
    let expand = parse_expand(ctx.q("$expand"))?;
    if fields.is_some() && expand.is_some() {
        return Err(no_expand_with_fields());
    }
    let f = Fetch {
        fields,
        expand,
        as_of: parse_as_of(ctx.q("asOf"))?,
        omit: false,
    };
    let w = state
        .live(id)
        .ok_or_else(|| AdoError::work_item_missing(id))?;
    let r = revision_at(w, f.as_of).ok_or_else(|| AdoError::work_item_missing(id))?;
    Ok(Reply::ok(render::work_item_json(
        state,
        w,
        r,
        &view(&ctx.base, &f),
    )))
}

fn require_patch_content(ctx: &Ctx) -> Result<(), AdoError> {
    if ctx.content_type.contains("application/json-patch+json") {
        Ok(())
    } else {
        Err(AdoError::new(
            415,
            "VssRequestContentTypeNotSupportedException",
            format!(
                "VS403455: The content type '{}' is not supported. Work item create and update take 'application/json-patch+json'.",
                ctx.content_type
            ),
        ))
    }
}

fn options(ctx: &Ctx) -> PatchOptions {
    PatchOptions {
        bypass_rules: ctx.q_bool("bypassRules"),
    }
}

pub(crate) fn create(state: &mut SimState, ctx: &Ctx, type_name: &str) -> HandlerResult {
    let idx = project_idx(state, ctx)?;
    require_patch_content(ctx)?;
    let ops = ctx.json_body()?;
    let project = state.projects[idx].id;
    let plan = patch::plan(
        state,
        Target::Create {
            project,
            type_name: type_name.to_string(),
        },
        &ops,
        options(ctx),
    )?;
    let full = ItemView::full(&ctx.base);
    if ctx.q_bool("validateOnly") {
        let preview = patch::preview(state, &plan);
        return Ok(Reply::ok(render::work_item_json(
            state,
            &preview,
            preview.current(),
            &full,
        )));
    }
    let id = patch::apply(state, plan, &ctx.actor_distinct);
    let w = state
        .live(id)
        .ok_or_else(|| AdoError::work_item_missing(id))?;
    Ok(Reply::ok(render::work_item_json(
        state,
        w,
        w.current(),
        &full,
    )))
}

pub(crate) fn update(
    state: &mut SimState,
    ctx: &Ctx,
    faults: &Faults,
    raw_id: &str,
) -> HandlerResult {
    let id = parse_id(raw_id)?;
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    require_patch_content(ctx)?;
    let ops = ctx.json_body()?;
    let has_rev_test = ops.as_array().is_some_and(|a| {
        a.iter().any(|o| {
            o.get("op").and_then(Value::as_str) == Some("test")
                && o.get("path").and_then(Value::as_str) == Some("/rev")
        })
    });
    if state.live(id).is_none() {
        return Err(AdoError::work_item_missing(id));
    }
    if has_rev_test {
        if let Some(status) = faults.take_stale_rev() {
            return Err(AdoError::new(
                status,
                "WorkItemRevisionMismatchException",
                "TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes.",
            ));
        }
    }
    let plan = patch::plan(state, Target::Update { id }, &ops, options(ctx))?;
    let full = ItemView::full(&ctx.base);
    if ctx.q_bool("validateOnly") {
        let preview = patch::preview(state, &plan);
        return Ok(Reply::ok(render::work_item_json(
            state,
            &preview,
            preview.current(),
            &full,
        )));
    }
    patch::apply(state, plan, &ctx.actor_distinct);
    let w = state
        .live(id)
        .ok_or_else(|| AdoError::work_item_missing(id))?;
    Ok(Reply::ok(render::work_item_json(
        state,
        w,
        w.current(),
        &full,
    )))
}

/// Soft-deletes (recycle bin) and records `workitem.deleted`.
pub(crate) fn soft_delete(state: &mut SimState, id: i64, actor: &str) -> Result<(), AdoError> {
    if state.live(id).is_none() {
        return Err(AdoError::work_item_missing(id));
    }
    let date = state.now_string();
    if let Some(w) = state.items.get_mut(&id) {
        w.deleted = Some(Deleted {
            date,
            by: actor.to_string(),
        });
    }
    hooks::record(state, EventKind::Deleted, id, actor);
    Ok(())
}

/// Permanently removes an item and every link pointing at it.
pub(crate) fn destroy(state: &mut SimState, id: i64) {
    state.items.remove(&id);
    for w in state.items.values_mut() {
        for r in &mut w.revisions {
            r.relations.retain(|rel| rel.target != RelTarget::Item(id));
        }
    }
}

pub(crate) fn restore(state: &mut SimState, id: i64, actor: &str) -> Result<(), AdoError> {
    match state.items.get_mut(&id) {
        Some(w) if w.deleted.is_some() => w.deleted = None,
        _ => return Err(recycle_missing(id)),
    }
    hooks::record(state, EventKind::Restored, id, actor);
    Ok(())
}

pub(crate) fn delete(state: &mut SimState, ctx: &Ctx, raw_id: &str) -> HandlerResult {
    let id = parse_id(raw_id)?;
    if ctx.project_name().is_some() {
        project_idx(state, ctx)?;
    }
    if state.live(id).is_none() {
        return Err(AdoError::work_item_missing(id));
    }
    if ctx.q_bool("destroy") {
        destroy(state, id);
    } else {
        soft_delete(state, id, &ctx.actor_distinct)?;
    }
    Ok(Reply::no_content())
}

pub(crate) fn wiql(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let project = match ctx.project_name() {
        Some(p) => Some(state.projects[find_project(state, p)?].name.clone()),
        None => None,
    };
    if let (Some(p), Some(t)) = (ctx.project_name(), ctx.team_name()) {
        let idx = find_project(state, p)?;
        state.projects[idx].team(t).ok_or_else(|| {
            AdoError::not_found(
                "TeamNotFoundException",
                format!("VS403325: The team with id or name '{t}' does not exist."),
            )
        })?;
    }
    let body = ctx.json_body()?;
    let text = body.get("query").and_then(Value::as_str).ok_or_else(|| {
        AdoError::bad_request(
            "WiqlQueryMissingException",
            "VS402336: The request body must contain a 'query'.",
        )
    })?;
    let wiql_err = |e: wiql::WiqlError| AdoError::bad_request("WiqlSyntaxException", e.0);
    let q = wiql::parse(text).map_err(wiql_err)?;
    let env = wiql::Env {
        project,
        today: state.clock.today(),
        me: ctx.actor_distinct.clone(),
    };
    let bound = q
        .filter
        .as_ref()
        .map(|f| wiql::bind(f, &env))
        .transpose()
        .map_err(wiql_err)?;
    let columns = q
        .columns
        .iter()
        .map(|c| wiql::resolve_field(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(wiql_err)?;
    let order = q
        .order
        .iter()
        .map(|(c, d)| wiql::resolve_field(c).map(|f| (f, *d)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(wiql_err)?;
    let top = match ctx.q("$top") {
        None => None,
        Some(t) => Some(t.trim().parse::<usize>().map_err(|_| {
            AdoError::bad_request(
                "InvalidArgumentValueException",
                format!("VS403456: '{t}' is not a valid value for $top."),
            )
        })?),
    };
    let mut hits: Vec<&Revision> = state
        .items
        .values()
        .filter(|w| w.deleted.is_none())
        .map(WorkItem::current)
        .filter(|r| bound.as_ref().is_none_or(|b| wiql::eval(b, &r.fields)))
        .collect();
    let cap = state.wiql_cap;
    let limit = top.unwrap_or(usize::MAX).min(cap);
    if hits.len() > cap && top.is_none_or(|t| t > cap) {
        return Err(AdoError::bad_request(
            "WorkItemTrackingQueryResultSizeLimitExceededException",
            format!("VS402337: The number of work items returned exceeds the size limit of {cap}. Change the query to return fewer work items."),
        ));
    }
    hits.sort_by(|a, b| {
        wiql::compare_for_sort(&order, &a.fields, &b.fields).then_with(|| {
            let id = |r: &Revision| {
                r.fields
                    .get("System.Id")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            id(a).cmp(&id(b))
        })
    });
    hits.truncate(limit);
    let field_ref = |f: &process::FieldDef| json!({ "referenceName": f.ref_name, "name": f.name, "url": format!("{}/_apis/wit/fields/{}", ctx.base, f.ref_name) });
    Ok(Reply::ok(json!({
        "queryType": "flat",
        "queryResultType": "workItem",
        "asOf": super::util::fmt_date(state.clock.peek()),
        "columns": columns.iter().map(|f| field_ref(f)).collect::<Vec<_>>(),
        "sortColumns": order.iter().map(|(f, d)| json!({ "field": field_ref(f), "descending": d })).collect::<Vec<_>>(),
        "workItems": hits.iter().map(|r| {
            let id = r.fields.get("System.Id").and_then(Value::as_i64).unwrap_or(0);
            json!({ "id": id, "url": render::work_item_url(&ctx.base, id) })
        }).collect::<Vec<_>>()
    })))
}

fn paged(ctx: &Ctx, values: Vec<Value>) -> Vec<Value> {
    let skip = ctx
        .q("$skip")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let top = ctx
        .q("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    values.into_iter().skip(skip).take(top).collect()
}

pub(crate) fn updates(state: &SimState, ctx: &Ctx, raw_id: &str, n: Option<&str>) -> HandlerResult {
    let id = parse_id(raw_id)?;
    let w = state
        .live(id)
        .ok_or_else(|| AdoError::work_item_missing(id))?;
    match n {
        Some(n) => {
            let i = parse_id(n)?;
            let idx = usize::try_from(i - 1)
                .ok()
                .filter(|i| *i < w.revisions.len())
                .ok_or_else(|| {
                    AdoError::not_found(
                        "WorkItemUpdateNotFoundException",
                        format!("VS403457: Update {n} of work item {id} does not exist."),
                    )
                })?;
            Ok(Reply::ok(hooks::update_json(
                state,
                &ctx.base,
                w,
                idx,
                IdentityStyle::Ref,
                false,
            )))
        }
        None => {
            let all = (0..w.revisions.len())
                .map(|i| hooks::update_json(state, &ctx.base, w, i, IdentityStyle::Ref, false))
                .collect();
            Ok(Reply::ok(list(paged(ctx, all))))
        }
    }
}

pub(crate) fn revisions(
    state: &SimState,
    ctx: &Ctx,
    raw_id: &str,
    n: Option<&str>,
) -> HandlerResult {
    let id = parse_id(raw_id)?;
    let w = state
        .live(id)
        .ok_or_else(|| AdoError::work_item_missing(id))?;
    let expand = parse_expand(ctx.q("$expand"))?;
    let f = Fetch {
        fields: None,
        expand,
        as_of: None,
        omit: false,
    };
    let v = view(&ctx.base, &f);
    match n {
        Some(n) => {
            let rev = parse_id(n)?;
            let r = w.revisions.iter().find(|r| r.rev() == rev).ok_or_else(|| {
                AdoError::not_found(
                    "WorkItemRevisionNotFoundException",
                    format!("VS403458: Revision {rev} of work item {id} does not exist."),
                )
            })?;
            Ok(Reply::ok(render::work_item_json(state, w, r, &v)))
        }
        None => {
            let all = w
                .revisions
                .iter()
                .map(|r| render::work_item_json(state, w, r, &v))
                .collect();
            Ok(Reply::ok(list(paged(ctx, all))))
        }
    }
}

fn recycle_missing(id: i64) -> AdoError {
    AdoError::not_found(
        "WorkItemNotFoundInRecycleBinException",
        format!("VS403459: Work item {id} is not in the recycle bin."),
    )
}

fn deleted_item<'a>(
    state: &'a SimState,
    ctx: &Ctx,
    raw_id: &str,
) -> Result<&'a WorkItem, AdoError> {
    let id = parse_id(raw_id)?;
    let w = state
        .items
        .get(&id)
        .filter(|w| w.deleted.is_some())
        .ok_or_else(|| recycle_missing(id))?;
    if let Some(p) = ctx.project_name() {
        let idx = find_project(state, p)?;
        if state.projects[idx].id != w.project {
            return Err(recycle_missing(id));
        }
    }
    Ok(w)
}

/// WorkItemDelete: `{id, code, type, name, project, deletedDate, deletedBy, url, resource}`.
fn work_item_delete(state: &SimState, ctx: &Ctx, w: &WorkItem, url: String) -> Value {
    let cur = w.current();
    let (date, by) = w
        .deleted
        .as_ref()
        .map(|d| (d.date.clone(), d.by.clone()))
        .unwrap_or_else(|| (String::new(), String::new()));
    json!({
        "id": w.id,
        "code": 200,
        "type": cur.str_field("System.WorkItemType"),
        "name": cur.str_field("System.Title"),
        "project": cur.str_field("System.TeamProject"),
        "deletedDate": date,
        "deletedBy": by,
        "url": url,
        "resource": render::work_item_json(state, w, cur, &ItemView::full(&ctx.base))
    })
}

pub(crate) fn recycle_list(state: &SimState, ctx: &Ctx) -> HandlerResult {
    let idx = project_idx(state, ctx)?;
    let pid = state.projects[idx].id;
    let values = state
        .items
        .values()
        .filter(|w| w.deleted.is_some() && w.project == pid)
        .map(
            |w| json!({ "id": w.id, "url": format!("{}/_apis/wit/recycleBin/{}", ctx.base, w.id) }),
        )
        .collect();
    Ok(Reply::ok(list(values)))
}

pub(crate) fn recycle_get(state: &SimState, ctx: &Ctx, raw_id: &str) -> HandlerResult {
    let w = deleted_item(state, ctx, raw_id)?;
    let url = format!("{}/_apis/wit/recycleBin/{}", ctx.base, w.id);
    Ok(Reply::ok(work_item_delete(state, ctx, w, url)))
}

pub(crate) fn recycle_restore(state: &mut SimState, ctx: &Ctx, raw_id: &str) -> HandlerResult {
    let id = deleted_item(state, ctx, raw_id)?.id;
    let body = ctx.json_body()?;
    if body.get("isDeleted").and_then(Value::as_bool) != Some(false) {
        return Err(AdoError::bad_request(
            "InvalidArgumentValueException",
            "VS403460: To restore a work item send {\"isDeleted\": false}.",
        ));
    }
    let snapshot = state
        .items
        .get(&id)
        .cloned()
        .ok_or_else(|| recycle_missing(id))?;
    restore(state, id, &ctx.actor_distinct)?;
    let url = render::work_item_url(&ctx.base, id);
    let mut out = work_item_delete(state, ctx, &snapshot, url);
    if let Some(w) = state.items.get(&id) {
        out["resource"] = render::work_item_json(state, w, w.current(), &ItemView::full(&ctx.base));
    }
    Ok(Reply::ok(out))
}

pub(crate) fn recycle_destroy(state: &mut SimState, ctx: &Ctx, raw_id: &str) -> HandlerResult {
    let id = deleted_item(state, ctx, raw_id)?.id;
    destroy(state, id);
    Ok(Reply::no_content())
}
