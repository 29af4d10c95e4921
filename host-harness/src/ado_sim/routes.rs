//! The catch-all responder: records the request, applies faults, checks the org prefix,
//! authentication and api-version, then dispatches on method + path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use wiremock::{Request, Respond, ResponseTemplate};

use super::error::{AdoError, HandlerResult, Reply, ReplyBody};
use super::faults::{FaultKind, Faults};
use super::state::{Deployment, SimState, DANA, READER_USER, SERVICE_USER};
use super::util::pct_decode;
use super::{hooks, meta, wit, AdoSim, SimRequest};

/// Everything a handler needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub method: String,
    pub deployment: Deployment,
    /// `{uri}/contoso` or `{uri}/tfs/DefaultCollection`, whichever the request used.
    pub base: String,
    /// Decoded path segments between the prefix and `_apis` (project, team).
    pub scope: Vec<String>,
    /// Decoded path segments after `_apis`.
    pub api: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub content_type: String,
    /// Unique name of the authenticated identity.
    pub actor: String,
    /// `"Name <unique>"` of the authenticated identity (stored form).
    pub actor_distinct: String,
    pub can_write: bool,
    pub raw_path: String,
}

impl Ctx {
    /// Query parameter, name compared case-insensitively.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn q_bool(&self, name: &str) -> bool {
        self.q(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn json_body(&self) -> Result<Value, AdoError> {
        if self.body.is_empty() {
            return Err(AdoError::bad_request(
                "VssPropertyValidationException",
                "VS403448: The request body is required.",
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            AdoError::bad_request(
                "VssRequestContentException",
                format!("VS403449: The request body is not valid JSON: {e}"),
            )
        })
    }

    pub fn project_name(&self) -> Option<&str> {
        self.scope.first().map(String::as_str)
    }

    pub fn team_name(&self) -> Option<&str> {
        self.scope.get(1).map(String::as_str)
    }
}

/// The wiremock responder holding the shared state.
pub(crate) struct SimResponder {
    pub state: Arc<Mutex<SimState>>,
    pub faults: Faults,
}

impl Respond for SimResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let raw_path = req.url.path().to_string();
        let decoded = pct_decode(&raw_path);
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.requests.push(SimRequest {
            method: req.method.as_str().to_string(),
            path: raw_path.clone(),
            query: req.url.query().unwrap_or_default().to_string(),
            headers: headers.clone(),
            body: req.body.clone(),
        });
        let taken = self.faults.take(&[&raw_path, &decoded]);
        let answer = |state: &mut SimState| {
            dispatch(state, &self.faults, req, &headers).unwrap_or_else(Reply::from)
        };
        let mut t = match taken.fault {
            Some(FaultKind::Reset) => cut_short(to_template(answer(&mut state))),
            Some(FaultKind::PartialList) => to_template(null_every_third(answer(&mut state))),
            Some(kind) => to_template(fault_reply(&state, kind)),
            None => to_template(answer(&mut state)),
        };
        drop(state);
        if let Some(ms) = taken.delay_millis {
            t = t.set_delay(Duration::from_millis(ms));
        }
        t
    }
}

fn to_template(reply: Reply) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(reply.status);
    for (k, v) in &reply.headers {
        t = t.append_header(k.as_str(), v.as_str());
    }
    t = t.append_header("x-vss-e2eid", uuid::Uuid::new_v4().to_string().as_str());
    match reply.body {
        ReplyBody::Json(v) => t.set_body_raw(
            serde_json::to_vec(&v).unwrap_or_default(),
            "application/json; charset=utf-8; api-version=7.1",
        ),
        ReplyBody::Empty => t,
        ReplyBody::Raw { bytes, mime } => t.set_body_raw(bytes, &mime),
    }
}

/// Header on an answer the egress choke point must not hand over: for a request redirected to
/// the simulator it reports the connection as terminated instead (the request was processed,
/// the answer is lost), which wiremock alone cannot do.
pub const DROP_CONNECTION_HEADER: &str = "x-ado-sim-drop-connection";

fn cut_short(t: ResponseTemplate) -> ResponseTemplate {
    t.insert_header(DROP_CONNECTION_HEADER, "1")
}

fn null_every_third(mut reply: Reply) -> Reply {
    if let ReplyBody::Json(v) = &mut reply.body {
        if let Some(list) = v.get_mut("value").and_then(Value::as_array_mut) {
            for (i, entry) in list.iter_mut().enumerate() {
                if i % 3 == 1 {
                    *entry = Value::Null;
                }
            }
        }
    }
    reply
}

pub(crate) fn sign_in_page(uri: &str) -> Reply {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head><meta charset=\"utf-8\"><title>Azure DevOps Services | Sign In</title></head>\n<body>\n<form id=\"signin\" action=\"{uri}/_signin\" method=\"post\">\n<p>Sign in to continue to Azure DevOps.</p>\n<input type=\"email\" name=\"loginfmt\" />\n</form>\n</body>\n</html>\n"
    );
    Reply::raw(203, html.into_bytes(), "text/html; charset=utf-8")
}

fn fault_reply(state: &SimState, kind: FaultKind) -> Reply {
    match kind {
        FaultKind::RateLimit { retry_after_secs } => {
            let reset =
                time::OffsetDateTime::now_utc().unix_timestamp() + i64::from(retry_after_secs);
            Reply::from(AdoError::new(
                429,
                "RequestBlockedException",
                "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'. For more information on why your request was blocked, see the topic \"Rate limits\" on the Microsoft Web site.",
            ))
            .with_header("Retry-After", retry_after_secs.to_string())
            .with_header("X-RateLimit-Resource", "Core")
            .with_header("X-RateLimit-Delay", format!("{retry_after_secs}.000"))
            .with_header("X-RateLimit-Limit", "200")
            .with_header("X-RateLimit-Remaining", "0")
            .with_header("X-RateLimit-Reset", reset.to_string())
        }
        FaultKind::ServerError { status } => {
            let (key, msg) = if status == 503 {
                (
                    "ServiceUnavailableException",
                    "TF400898: The service is temporarily unavailable. Try again later.",
                )
            } else {
                (
                    "SqlTransientException",
                    "TF246017: Azure DevOps Services could not connect to the database. Verify that the server that is hosting the database is operational.",
                )
            };
            Reply::from(AdoError::new(status, key, msg))
        }
        FaultKind::Malformed => Reply::raw(
            200,
            br#"{"count":3,"value":[{"id":1,"rev":2,"fields":{"System.Title":"trunc"#.to_vec(),
            "application/json; charset=utf-8; api-version=7.1",
        ),
        FaultKind::SignIn => sign_in_page(&state.uri),
        // Delays, resets and partial lists are applied on top of the normal answer and never
        // reach here.
        FaultKind::Delay { .. } | FaultKind::Reset | FaultKind::PartialList => {
            Reply::from(AdoError::no_route(""))
        }
    }
}

struct Auth {
    actor: &'static str,
    can_write: bool,
}

fn unauthorized(uri: &str) -> Reply {
    Reply::from(AdoError::new(
        401,
        "UnauthorizedRequestException",
        "TF400813: The user '' is not authorized to access this resource.",
    ))
    .with_header(
        "WWW-Authenticate",
        "Bearer authorization_uri=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000",
    )
    .with_header("WWW-Authenticate", format!("Basic realm=\"{uri}/\""))
    .with_header("X-VSS-AuthenticateError", "TF400813")
}

fn authenticate(
    state: &SimState,
    headers: &[(String, String)],
    dep: Deployment,
) -> Result<Auth, Reply> {
    let header = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let Some(encoded) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    else {
        return Err(unauthorized(&state.uri));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let (user, pass) = decoded.split_once(':').unwrap_or(("", ""));
    if pass == AdoSim::EXPIRED_PAT {
        return Err(sign_in_page(&state.uri));
    }
    if pass == AdoSim::PAT {
        return Ok(Auth {
            actor: SERVICE_USER,
            can_write: true,
        });
    }
    if pass == AdoSim::READONLY_PAT {
        return Ok(Auth {
            actor: READER_USER,
            can_write: false,
        });
    }
    if dep == Deployment::OnPrem
        && user.eq_ignore_ascii_case(AdoSim::ONPREM_USER)
        && pass == AdoSim::ONPREM_PASSWORD
    {
        return Ok(Auth {
            actor: "FABRIKAM\\builder",
            can_write: true,
        });
    }
    Err(unauthorized(&state.uri))
}

/// Accepts `N.N`, `N.N-preview` and `N.N-preview.N` up to 7.1 (previews of later versions too).
fn check_api_version(v: &str, method: &str) -> Result<(), AdoError> {
    let v = v.trim();
    let (num, preview) = match v.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (v, None),
    };
    let parsed = num
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let preview_ok = preview.is_none_or(|p| {
        let p = p.to_lowercase();
        p == "preview"
            || p.strip_prefix("preview.")
                .is_some_and(|n| n.parse::<u32>().is_ok())
    });
    match parsed {
        Some((major, minor)) if preview_ok => {
            if preview.is_none() && (major, minor) > (7, 1) {
                return Err(AdoError::bad_request(
                    "VssVersionOutOfRangeException",
                    format!("VS403509: The requested REST API version of {v} is out of range for this server. The latest REST API version for this server is 7.1."),
                ));
            }
            Ok(())
        }
        _ => Err(AdoError::bad_request(
            "VssInvalidApiVersionException",
            format!("VS403510: The api-version '{v}' for the \"{method}\" request is not valid."),
        )),
    }
}

fn dispatch(
    state: &mut SimState,
    faults: &Faults,
    req: &Request,
    headers: &[(String, String)],
) -> HandlerResult {
    let raw_path = req.url.path().to_string();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut method = req.method.as_str().to_uppercase();
    let override_method = header("x-http-method-override");
    if method == "POST" && !override_method.is_empty() {
        method = override_method.to_uppercase();
    }
    let lower = raw_path.to_lowercase();
    let (deployment, rest) = if lower == "/contoso" || lower.starts_with("/contoso/") {
        (Deployment::Cloud, &raw_path["/contoso".len()..])
    } else if lower == "/tfs/defaultcollection" || lower.starts_with("/tfs/defaultcollection/") {
        (
            Deployment::OnPrem,
            &raw_path["/tfs/defaultcollection".len()..],
        )
    } else {
        return Err(AdoError::not_found(
            "HostNotFoundException",
            format!("TF400813: The organization or collection for '{raw_path}' does not exist."),
        ));
    };
    let auth = match authenticate(state, headers, deployment) {
        Ok(a) => a,
        Err(reply) => return Ok(reply),
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(pct_decode)
        .collect();
    let Some(apis) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("_apis"))
    else {
        return Err(AdoError::no_route(&raw_path));
    };
    let query: Vec<(String, String)> = req
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let accept = header("accept");
    let version = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.clone())
        .or_else(|| {
            accept
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("api-version="))
                .map(str::to_string)
        });
    let Some(version) = version else {
        return Err(AdoError::bad_request(
            "VssVersionNotSpecifiedException",
            format!("VS403508: No api-version was supplied for the \"{method}\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0')."),
        ));
    };
    check_api_version(&version, &method)?;
    let actor_distinct = state
        .identity(auth.actor)
        .map(|i| i.distinct())
        .unwrap_or_else(|| auth.actor.to_string());
    let ctx = Ctx {
        method,
        deployment,
        base: state.base(deployment),
        scope: segments[..apis].to_vec(),
        api: segments[apis + 1..].to_vec(),
        query,
        body: req.body.clone(),
        content_type: header("content-type").to_lowercase(),
        actor: auth.actor.to_string(),
        actor_distinct,
        can_write: auth.can_write,
        raw_path,
    };
    route(state, &ctx, faults)
}

fn route(state: &mut SimState, ctx: &Ctx, faults: &Faults) -> HandlerResult {
    let api: Vec<String> = ctx.api.iter().map(|s| s.to_lowercase()).collect();
    let a: Vec<&str> = api.iter().map(String::as_str).collect();
    let m = ctx.method.as_str();
    let read_only_post = matches!(a.as_slice(), ["wit", "wiql"] | ["wit", "workitemsbatch"]);
    if matches!(m, "POST" | "PATCH" | "PUT" | "DELETE") && !ctx.can_write && !read_only_post {
        return Err(AdoError::read_only());
    }
    let scope_len = ctx.scope.len();
    match (m, a.as_slice()) {
        ("GET", ["connectiondata"]) if scope_len == 0 => meta::connection_data(state, ctx),
        ("GET", ["projects"]) if scope_len == 0 => meta::projects(state, ctx),
        ("GET", ["projects", _]) if scope_len == 0 => meta::project(state, ctx, &ctx.api[1]),
        ("GET", ["projects", _, "teams"]) if scope_len == 0 => meta::teams(state, ctx, &ctx.api[1]),
        (_, ["hooks", "subscriptions", ..]) if scope_len == 0 => {
            hooks::handle_subscriptions(state, ctx, &ctx.api[2..])
        }
        ("GET", ["work", "teamsettings", "iterations", ..]) if (1..=2).contains(&scope_len) => {
            meta::team_iterations(state, ctx, ctx.api.get(3).map(String::as_str))
        }
        (_, ["wit", ..]) if scope_len <= 2 => wit_route(state, ctx, faults, &a[1..]),
        _ => Err(AdoError::no_route(&ctx.raw_path)),
    }
}

fn wit_route(state: &mut SimState, ctx: &Ctx, faults: &Faults, a: &[&str]) -> HandlerResult {
    let m = ctx.method.as_str();
    let orig = &ctx.api[1..];
    let team_ok = ctx.scope.len() <= 1 || matches!(a, ["wiql"]);
    if !team_ok {
        return Err(AdoError::no_route(&ctx.raw_path));
    }
    match (m, a) {
        ("GET", ["workitemtypes"]) => meta::work_item_types(state, ctx, None),
        ("GET", ["workitemtypes", _]) => meta::work_item_types(state, ctx, Some(&orig[1])),
        ("GET", ["workitemtypes", _, "states"]) => meta::type_states(state, ctx, &orig[1]),
        ("GET", ["workitemtypes", _, "fields"]) => meta::type_fields(state, ctx, &orig[1], None),
        ("GET", ["workitemtypes", _, "fields", _]) => {
            meta::type_fields(state, ctx, &orig[1], Some(&orig[3]))
        }
        ("GET", ["fields"]) => meta::fields(state, ctx, None),
        ("GET", ["fields", _]) => meta::fields(state, ctx, Some(&orig[1])),
        ("GET", ["classificationnodes"]) => meta::nodes_root(state, ctx),
        ("GET", ["classificationnodes", _, ..]) => meta::node_get(state, ctx, &orig[1], &orig[2..]),
        ("POST", ["classificationnodes", _, ..]) => {
            meta::node_create(state, ctx, &orig[1], &orig[2..])
        }
        ("GET", ["tags"]) => meta::tags(state, ctx),
        ("POST", ["wiql"]) => wit::wiql(state, ctx),
        ("POST", ["workitemsbatch"]) => wit::batch(state, ctx),
        ("GET", ["workitems"]) => wit::list_items(state, ctx),
        ("POST" | "PATCH", ["workitems", t]) if t.starts_with('$') => {
            wit::create(state, ctx, &orig[1][1..])
        }
        ("GET", ["workitems", id]) => wit::get(state, ctx, id),
        ("PATCH", ["workitems", id]) => wit::update(state, ctx, faults, id),
        ("DELETE", ["workitems", id]) => wit::delete(state, ctx, id),
        ("GET", ["workitems", id, "updates"]) => wit::updates(state, ctx, id, None),
        ("GET", ["workitems", id, "updates", n]) => wit::updates(state, ctx, id, Some(n)),
        ("GET", ["workitems", id, "revisions"]) => wit::revisions(state, ctx, id, None),
        ("GET", ["workitems", id, "revisions", n]) => wit::revisions(state, ctx, id, Some(n)),
        ("GET", ["recyclebin"]) => wit::recycle_list(state, ctx),
        ("GET", ["recyclebin", id]) => wit::recycle_get(state, ctx, id),
        ("PATCH", ["recyclebin", id]) => wit::recycle_restore(state, ctx, id),
        ("DELETE", ["recyclebin", id]) => wit::recycle_destroy(state, ctx, id),
        _ => Err(AdoError::no_route(&ctx.raw_path)),
    }
}

/// The identity used by `AdoSim::user_*`.
pub(crate) fn dana(state: &SimState) -> String {
    state
        .identity(DANA)
        .map(|i| i.distinct())
        .unwrap_or_else(|| DANA.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in [
            "7.1",
            "7.0",
            "5.1-preview",
            "7.1-preview.4",
            "7.2-preview.1",
            "1.0",
        ] {
            assert!(check_api_version(ok, "GET").is_ok(), "{ok}");
        }
        for bad in ["7.2", "abc", "7", "7.1-beta", ""] {
            assert!(check_api_version(bad, "GET").is_err(), "{bad}");
        }
    }
}
