//! A stateful simulated Azure DevOps (REST api-version 7.1) built on `wiremock`.
//!
//! One catch-all mock dispatches every request on method + path into handlers over shared
//! state. The same data is served under the cloud prefix (`{uri}/contoso`) and the on-prem
//! collection prefix (`{uri}/tfs/DefaultCollection`). See the sub-modules:
//!
//! * [`routes`]: request recording, faults, prefix/auth/api-version checks, dispatch;
//! * `meta`, `wit`, `hooks`: the handlers; `wiql`: the query language subset;
//! * `state`, `process`: the data model and process templates; `patch`: JSON Patch engine;
//! * `render`: REST shapes; `seed`: deterministic seed data; [`faults`]: fault injection.

pub mod delivery;
mod error;
pub mod faults;
mod hooks;
mod meta;
mod patch;
mod process;
mod render;
pub(crate) mod routes;
mod seed;
mod state;
mod util;
mod wiql;
mod wit;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

pub use faults::Faults;

/// The parent's id in a work item's REST JSON (its `Hierarchy-Reverse` relation), as a client
/// reads it from [`AdoSim::work_item`].
pub fn parent_of(work_item: &Value) -> Option<i64> {
    work_item["relations"]
        .as_array()?
        .iter()
        .find(|r| r["rel"] == state::HIER_REVERSE)?["url"]
        .as_str()?
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}
pub use routes::DROP_CONNECTION_HEADER;

use patch::{PatchOptions, Target};
use render::ItemView;
use state::{Deployment, SimState};

/// One request as the sim received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRequest {
    pub method: String,
    /// Raw (still percent-encoded) path.
    pub path: String,
    /// Raw query string without `?` (empty when none).
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SimRequest {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The credentials the sim accepts, also available as `AdoSim::PAT` etc.
pub struct SimCredentials;

impl SimCredentials {
    pub const PAT: &'static str = AdoSim::PAT;
    pub const READONLY_PAT: &'static str = AdoSim::READONLY_PAT;
    pub const EXPIRED_PAT: &'static str = AdoSim::EXPIRED_PAT;
    pub const ONPREM_USER: &'static str = AdoSim::ONPREM_USER;
    pub const ONPREM_PASSWORD: &'static str = AdoSim::ONPREM_PASSWORD;
}

/// The simulated organisation.
pub struct AdoSim {
    server: MockServer,
    state: Arc<Mutex<SimState>>,
    faults: Faults,
}

impl AdoSim {
    /// Valid, full scopes, project-collection administrator (acts as "Sync Service").
    pub const PAT: &'static str = "sim-pat-0123456789abcdefghijklmnopqrstuv";
    /// Valid, read only: writes answer 403, hook subscription create answers 403.
    pub const READONLY_PAT: &'static str = "sim-pat-readonly-0000000000000000000";
    /// Every request answers 203 with an HTML sign-in page.
    pub const EXPIRED_PAT: &'static str = "sim-pat-expired-00000000000000000000";
    /// On-prem Basic user (only under the collection prefix).
    pub const ONPREM_USER: &'static str = "FABRIKAM\\builder";
    pub const ONPREM_PASSWORD: &'static str = "sim-password-Secr3t!";

    /// Unique name of the identity behind [`AdoSim::PAT`] (`System.ChangedBy` of REST writes).
    pub const PAT_USER: &'static str = state::SERVICE_USER;
    /// Unique name of the identity behind [`AdoSim::READONLY_PAT`].
    pub const READONLY_USER: &'static str = state::READER_USER;
    /// Unique name of the person behind `user_*` ("Dana Engineer").
    pub const DANA: &'static str = state::DANA;

    async fn boot(seeded: bool) -> AdoSim {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let mut st = SimState::new(server.uri());
        if seeded {
            if let Err(e) = seed::seed(&mut st) {
                panic!("ado_sim seed failed: {}", e.message);
            }
        }
        let state = Arc::new(Mutex::new(st));
        let faults = Faults::default();
        Mock::given(any())
            .respond_with(routes::SimResponder {
                state: state.clone(),
                faults: faults.clone(),
            })
            .mount(&server)
            .await;
        AdoSim {
            server,
            state,
            faults,
        }
    }

    /// Empty organisation (no projects), default credentials.
    pub async fn start() -> AdoSim {
        Self::boot(false).await
    }

    /// Organisation with the "Fabrikam" (Agile) and "Tailspin" (Scrum) seed projects.
    pub async fn start_seeded() -> AdoSim {
        Self::boot(true).await
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:PORT`: the server root.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Cloud organisation base: `{uri}/contoso`.
    pub fn org_url(&self) -> String {
        self.lock().base(Deployment::Cloud)
    }

    /// On-prem collection base: `{uri}/tfs/DefaultCollection` (same data as [`Self::org_url`]).
    pub fn collection_url(&self) -> String {
        self.lock().base(Deployment::OnPrem)
    }

    /// Everything the sim received, in order.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// The work item as `GET …/workitems/{id}?$expand=all` returns it under [`Self::org_url`]
    /// (`None` when absent or deleted).
    pub fn work_item(&self, id: i64) -> Option<Value> {
        let st = self.lock();
        let base = st.base(Deployment::Cloud);
        let w = st.live(id)?;
        Some(render::work_item_json(
            &st,
            w,
            w.current(),
            &ItemView::full(&base),
        ))
    }

    /// Live (not deleted) ids, ascending.
    pub fn work_item_ids(&self) -> Vec<i64> {
        self.lock()
            .items
            .values()
            .filter(|w| w.deleted.is_none())
            .map(|w| w.id)
            .collect()
    }

    pub fn is_in_recycle_bin(&self, id: i64) -> bool {
        self.lock()
            .items
            .get(&id)
            .is_some_and(|w| w.deleted.is_some())
    }

    /// Id of the live item with exactly this title (the first one when several match).
    pub fn find_by_title(&self, title: &str) -> Option<i64> {
        self.lock()
            .items
            .values()
            .filter(|w| w.deleted.is_none())
            .find(|w| w.current().str_field("System.Title") == title)
            .map(|w| w.id)
    }

    /// Project GUID by name.
    pub fn project_id(&self, name: &str) -> Option<String> {
        self.lock().project(name).map(|p| p.id.to_string())
    }

    /// Adds an empty project ("Agile" or "Scrum") with a default team; returns its GUID.
    pub fn create_project(&self, name: &str, process: &str) -> anyhow::Result<String> {
        let process = process::Process::parse(process)
            .ok_or_else(|| anyhow::anyhow!("unknown process {process}; use Agile or Scrum"))?;
        let mut st = self.lock();
        if st.project(name).is_some() {
            anyhow::bail!("project {name} already exists");
        }
        let idx = st.add_project(name, "", process);
        Ok(st.projects[idx].id.to_string())
    }

    fn user_patch(&self, target: Target, ops: &Value) -> anyhow::Result<i64> {
        let mut st = self.lock();
        let actor = routes::dana(&st);
        let plan = patch::plan(&st, target, ops, PatchOptions::default())
            .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.status))?;
        Ok(patch::apply(&mut st, plan, &actor))
    }

    /// "Dana Engineer" creates an item in ADO's UI. Panics on invalid input (test helper).
    pub fn user_create(
        &self,
        project: &str,
        work_item_type: &str,
        fields: Value,
        parent: Option<i64>,
    ) -> i64 {
        let (pid, ops) = {
            let st = self.lock();
            let pid = st
                .project(project)
                .map(|p| p.id)
                .unwrap_or_else(|| panic!("user_create: no project {project}"));
            (pid, seed::ops_for(&st, &fields, parent))
        };
        self.user_patch(
            Target::Create {
                project: pid,
                type_name: work_item_type.to_string(),
            },
            &ops,
        )
        .unwrap_or_else(|e| panic!("user_create failed: {e}"))
    }

    /// "Dana Engineer" edits fields (`null` clears). `"System.Parent": id` re-parents,
    /// `"System.Parent": null` removes the parent.
    pub fn user_update(&self, id: i64, fields: Value) -> anyhow::Result<()> {
        let ops = {
            let st = self.lock();
            let w = st
                .live(id)
                .ok_or_else(|| anyhow::anyhow!("work item {id} does not exist"))?;
            let mut plain = fields.as_object().cloned().unwrap_or_default();
            let parent = plain.remove("System.Parent");
            let mut ops = seed::ops_for(&st, &Value::Object(plain), None);
            if let (Some(p), Some(arr)) = (parent, ops.as_array_mut()) {
                if let Some(i) = w
                    .current()
                    .relations
                    .iter()
                    .position(|r| r.rel == state::HIER_REVERSE)
                {
                    arr.push(
                        serde_json::json!({ "op": "remove", "path": format!("/relations/{i}") }),
                    );
                }
                if let Some(new_parent) = util::json_as_i64(&p) {
                    arr.push(serde_json::json!({
                        "op": "add",
                        "path": "/relations/-",
                        "value": { "rel": state::HIER_REVERSE, "url": render::work_item_url(&st.base(Deployment::Cloud), new_parent) }
                    }));
                }
            }
            ops
        };
        self.user_patch(Target::Update { id }, &ops).map(|_| ())
    }

    /// "Dana Engineer" deletes the item (to the recycle bin).
    pub fn user_delete(&self, id: i64) -> anyhow::Result<()> {
        let mut st = self.lock();
        let actor = routes::dana(&st);
        wit::soft_delete(&mut st, id, &actor).map_err(|e| anyhow::anyhow!("{}", e.message))
    }

    /// "Dana Engineer" restores the item from the recycle bin.
    pub fn user_restore(&self, id: i64) -> anyhow::Result<()> {
        let mut st = self.lock();
        let actor = routes::dana(&st);
        wit::restore(&mut st, id, &actor).map_err(|e| anyhow::anyhow!("{}", e.message))
    }

    /// Adds `n` items to `project` as an Epic > Feature > story-level hierarchy with realistic
    /// fields; records no events. Panics when the project does not exist (test helper).
    pub fn seed_bulk(&self, project: &str, n: usize) {
        let mut st = self.lock();
        if let Err(e) = seed::bulk(&mut st, project, n) {
            panic!("seed_bulk failed: {}", e.message);
        }
    }

    /// Every service-hook payload produced since the last drain, in order.
    ///
    /// One envelope per matching active subscription (with `subscriptionId` and
    /// `notificationId`); when no subscription exists for the event type at all, one envelope
    /// without `subscriptionId`.
    pub fn drain_events(&self) -> Vec<Value> {
        std::mem::take(&mut self.lock().events)
    }

    /// Subscriptions as `GET _apis/hooks/subscriptions` returns them (secrets masked).
    pub fn subscriptions(&self) -> Vec<Value> {
        let st = self.lock();
        st.subscriptions
            .iter()
            .map(|s| hooks::subscription_view(&st, s))
            .collect()
    }

    /// The stored (unmasked) `consumerInputs` of a subscription, e.g. to deliver events with
    /// its basic-auth credentials and headers.
    pub fn subscription_consumer_inputs(&self, id: &str) -> Option<Value> {
        self.lock()
            .subscriptions
            .iter()
            .find(|s| s.id.to_string().eq_ignore_ascii_case(id))
            .and_then(|s| s.body.get("consumerInputs").cloned())
    }

    /// Sets `status` (`enabled`, `onProbation`, `disabledBySystem`, …) of a subscription.
    pub fn set_subscription_status(&self, id: &str, status: &str) {
        let mut st = self.lock();
        let now = st.now_string();
        if let Some(s) = st
            .subscriptions
            .iter_mut()
            .find(|s| s.id.to_string().eq_ignore_ascii_case(id))
        {
            s.body
                .insert("status".into(), Value::String(status.to_string()));
            s.body.insert("modifiedDate".into(), Value::String(now));
        }
    }

    /// Lower (or restore) the WIQL row cap, to test queries past it without 20,000 items.
    pub fn set_wiql_cap(&self, cap: usize) {
        self.lock().wiql_cap = cap;
    }

    /// Fault-injection handle (cheap clone).
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }
}
