//! The simulated organisation's data model.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::process::{Process, WitType};
use super::util::{fmt_date, guid};
use super::SimRequest;

/// A person known to the organisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Identity {
    pub id: Uuid,
    pub display: String,
    pub unique: String,
    pub descriptor: String,
}

impl Identity {
    pub fn new(display: &str, unique: &str) -> Self {
        use base64::Engine as _;
        let id = guid(&format!("identity:{}", unique.to_lowercase()));
        let prefix = if unique.contains('\\') { "win" } else { "aad" };
        let descriptor = format!(
            "{prefix}.{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(id.to_string())
        );
        Identity {
            id,
            display: display.to_string(),
            unique: unique.to_string(),
            descriptor,
        }
    }

    /// `"Display Name <unique>"`, the form stored in fields and sent in webhooks.
    pub fn distinct(&self) -> String {
        format!("{} <{}>", self.display, self.unique)
    }
}

/// A classification node (area or iteration).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub id: i64,
    pub identifier: Uuid,
    pub name: String,
    pub start: Option<Date>,
    pub finish: Option<Date>,
    pub children: Vec<Node>,
}

impl Node {
    /// Finds a node by its path below this node (`["Sprint 1"]`), case-insensitively.
    pub fn find(&self, rel: &[&str]) -> Option<&Node> {
        match rel.split_first() {
            None => Some(self),
            Some((first, rest)) => self
                .children
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(first))
                .and_then(|c| c.find(rest)),
        }
    }

    pub fn find_mut(&mut self, rel: &[&str]) -> Option<&mut Node> {
        match rel.split_first() {
            None => Some(self),
            Some((first, rest)) => self
                .children
                .iter_mut()
                .find(|c| c.name.eq_ignore_ascii_case(first))
                .and_then(|c| c.find_mut(rest)),
        }
    }

    /// All nodes below (not including) this one, each with its names path relative to this node.
    pub fn descendants(&self) -> Vec<(Vec<String>, &Node)> {
        let mut out = Vec::new();
        for c in &self.children {
            out.push((vec![c.name.clone()], c));
            for (mut p, n) in c.descendants() {
                p.insert(0, c.name.clone());
                out.push((p, n));
            }
        }
        out
    }

    pub fn find_by_id(&self, id: i64) -> Option<(Vec<String>, &Node)> {
        if self.id == id {
            return Some((Vec::new(), self));
        }
        self.descendants().into_iter().find(|(_, n)| n.id == id)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub id: Uuid,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub(crate) struct TagDef {
    pub id: Uuid,
    pub name: String,
    pub last_updated: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub process: Process,
    pub types: Vec<WitType>,
    pub areas: Node,
    pub iterations: Node,
    pub teams: Vec<Team>,
    pub tags: Vec<TagDef>,
    pub last_update: String,
}

impl Project {
    pub fn wit_type(&self, name: &str) -> Option<&WitType> {
        self.types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
    }

    pub fn root(&self, iterations: bool) -> &Node {
        if iterations {
            &self.iterations
        } else {
            &self.areas
        }
    }

    /// Resolves a field-form tree path (`Project\Sprint 1`) to its canonical spelling and node.
    pub fn tree_path(&self, iterations: bool, path: &str) -> Option<(String, &Node)> {
        let parts: Vec<&str> = path
            .trim()
            .trim_start_matches('\\')
            .split('\\')
            .map(str::trim)
            .collect();
        let (first, rest) = parts.split_first()?;
        if !first.eq_ignore_ascii_case(&self.name) {
            return None;
        }
        let root = self.root(iterations);
        let node = root.find(rest)?;
        let mut canonical = vec![self.name.clone()];
        let mut cur = root;
        for r in rest {
            let next = cur
                .children
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(r))?;
            canonical.push(next.name.clone());
            cur = next;
        }
        Some((canonical.join("\\"), node))
    }

    pub fn team(&self, name_or_id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| {
            t.name.eq_ignore_ascii_case(name_or_id) || t.id.to_string() == name_or_id.to_lowercase()
        })
    }

    pub fn register_tags(&mut self, tags: &[String], now: &str) {
        for t in tags {
            if let Some(existing) = self
                .tags
                .iter_mut()
                .find(|d| d.name.eq_ignore_ascii_case(t))
            {
                existing.last_updated = now.to_string();
            } else {
                self.tags.push(TagDef {
                    id: guid(&format!("tag:{}:{}", self.id, t.to_lowercase())),
                    name: t.clone(),
                    last_updated: now.to_string(),
                });
            }
        }
    }
}

/// Where a relation points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RelTarget {
    Item(i64),
    Url(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relation {
    pub rel: String,
    pub target: RelTarget,
    pub attributes: Map<String, Value>,
}

impl Relation {
    pub fn same_link(&self, other: &Relation) -> bool {
        self.rel.eq_ignore_ascii_case(&other.rel) && self.target == other.target
    }
}

/// One saved revision: the complete field set and relations at that rev.
#[derive(Debug, Clone)]
pub(crate) struct Revision {
    pub fields: BTreeMap<String, Value>,
    pub relations: Vec<Relation>,
}

impl Revision {
    pub fn rev(&self) -> i64 {
        self.fields
            .get("System.Rev")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    pub fn str_field(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    pub fn parent(&self) -> Option<i64> {
        self.relations.iter().find_map(|r| match r.target {
            RelTarget::Item(id) if r.rel == HIER_REVERSE => Some(id),
            _ => None,
        })
    }
}

pub(crate) const HIER_FORWARD: &str = "System.LinkTypes.Hierarchy-Forward";
pub(crate) const HIER_REVERSE: &str = "System.LinkTypes.Hierarchy-Reverse";

#[derive(Debug, Clone)]
pub(crate) struct Deleted {
    pub date: String,
    pub by: String,
}

#[derive(Debug, Clone)]
pub(crate) struct WorkItem {
    pub id: i64,
    pub project: Uuid,
    /// Every revision in order; the last one is the current state.
    pub revisions: Vec<Revision>,
    pub deleted: Option<Deleted>,
}

impl WorkItem {
    pub fn current(&self) -> &Revision {
        // Invariant: a stored work item always has at least one revision.
        &self.revisions[self.revisions.len() - 1]
    }

    pub fn rev(&self) -> i64 {
        self.current().rev()
    }
}

/// A service-hook subscription as stored (secrets in clear).
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: Uuid,
    pub body: Map<String, Value>,
}

/// Which deployment a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deployment {
    Cloud,
    OnPrem,
}

/// A strictly increasing clock: every tick is at least 1 ms after the previous one and never
/// behind the wall clock.
#[derive(Debug, Clone)]
pub(crate) struct SimClock {
    last: OffsetDateTime,
}

impl SimClock {
    pub fn new() -> Self {
        let now = OffsetDateTime::now_utc();
        let ms = now.millisecond();
        let last = now
            .replace_nanosecond(u32::from(ms) * 1_000_000)
            .unwrap_or(now);
        SimClock { last }
    }

    pub fn tick(&mut self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        let next = self.last + Duration::milliseconds(1);
        let chosen = if now > next { now } else { next };
        let ms = chosen.millisecond();
        self.last = chosen
            .replace_nanosecond(u32::from(ms) * 1_000_000)
            .unwrap_or(chosen);
        self.last
    }

    pub fn peek(&self) -> OffsetDateTime {
        self.last
    }

    pub fn today(&self) -> Date {
        OffsetDateTime::now_utc().date()
    }
}

/// Identities the sim knows (unique names).
pub(crate) const SERVICE_USER: &str = "sync-service@contoso.example";
pub(crate) const READER_USER: &str = "riley.reader@contoso.example";
pub(crate) const DANA: &str = "dana@contoso.example";

/// All mutable state behind the sim's mutex.
pub(crate) struct SimState {
    pub uri: String,
    pub org_name: String,
    pub collection_id: Uuid,
    pub account_id: Uuid,
    pub deployment_id: Uuid,
    pub clock: SimClock,
    pub projects: Vec<Project>,
    pub items: BTreeMap<i64, WorkItem>,
    pub next_id: i64,
    pub next_node_id: i64,
    pub watermark: i64,
    pub identities: Vec<Identity>,
    pub subscriptions: Vec<Subscription>,
    pub events: Vec<Value>,
    pub next_notification: i64,
    pub requests: Vec<SimRequest>,
    pub sub_counter: u64,
    /// Rows a WIQL query may return before VS402337 (20,000 in ADO; tests lower it).
    pub wiql_cap: usize,
}

impl SimState {
    pub fn new(uri: String) -> Self {
        let identities = vec![
            Identity::new("Sync Service", SERVICE_USER),
            Identity::new("Riley Reader", READER_USER),
            Identity::new("Dana Engineer", DANA),
            Identity::new("Builder", "FABRIKAM\\builder"),
            Identity::new("Alex Developer", "alex@contoso.example"),
            Identity::new("Priya Product", "priya@contoso.example"),
            Identity::new("Jamie Tester", "jamie@contoso.example"),
            Identity::new("Sam Architect", "sam@contoso.example"),
        ];
        SimState {
            uri,
            org_name: "contoso".to_string(),
            collection_id: guid("collection:contoso"),
            account_id: guid("account:contoso"),
            deployment_id: guid("deployment:contoso"),
            clock: SimClock::new(),
            projects: Vec::new(),
            items: BTreeMap::new(),
            next_id: 1,
            next_node_id: 1,
            watermark: 1000,
            identities,
            subscriptions: Vec::new(),
            events: Vec::new(),
            next_notification: 1,
            requests: Vec::new(),
            sub_counter: 0,
            wiql_cap: super::wit::WIQL_CAP,
        }
    }

    /// Base URL for the org (cloud) or collection (on-prem).
    pub fn base(&self, d: Deployment) -> String {
        match d {
            Deployment::Cloud => format!("{}/{}", self.uri, self.org_name),
            Deployment::OnPrem => format!("{}/tfs/DefaultCollection", self.uri),
        }
    }

    pub fn identity(&self, unique: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.unique.eq_ignore_ascii_case(unique))
    }

    /// Resolves a write value: `"Name <email>"`, a unique name, a display name or an
    /// IdentityRef-like object.
    pub fn resolve_identity(&self, v: &Value) -> Option<&Identity> {
        match v {
            Value::String(s) => {
                let s = s.trim();
                if let (Some(lt), true) = (s.rfind('<'), s.ends_with('>')) {
                    let unique = &s[lt + 1..s.len() - 1];
                    return self.identity(unique.trim());
                }
                self.identity(s).or_else(|| {
                    let mut it = self
                        .identities
                        .iter()
                        .filter(|i| i.display.eq_ignore_ascii_case(s));
                    match (it.next(), it.next()) {
                        (Some(one), None) => Some(one),
                        _ => None,
                    }
                })
            }
            Value::Object(o) => {
                if let Some(u) = o.get("uniqueName").and_then(Value::as_str) {
                    return self.identity(u);
                }
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    return self
                        .identities
                        .iter()
                        .find(|i| i.id.to_string().eq_ignore_ascii_case(id));
                }
                if let Some(d) = o.get("descriptor").and_then(Value::as_str) {
                    return self.identities.iter().find(|i| i.descriptor == d);
                }
                o.get("displayName")
                    .and_then(|d| self.resolve_identity(&Value::String(d.to_string())))
            }
            _ => None,
        }
    }

    /// Identity from a stored `"Name <unique>"` string.
    pub fn identity_of_stored(&self, stored: &str) -> Option<&Identity> {
        self.resolve_identity(&Value::String(stored.to_string()))
    }

    pub fn project(&self, name_or_id: &str) -> Option<&Project> {
        let key = name_or_id.trim();
        self.projects
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(key) || p.id.to_string() == key.to_lowercase())
    }

    pub fn project_by_id(&self, id: Uuid) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    /// Live (not deleted) item.
    pub fn live(&self, id: i64) -> Option<&WorkItem> {
        self.items.get(&id).filter(|w| w.deleted.is_none())
    }

    pub fn next_watermark(&mut self) -> i64 {
        // ADO's watermark is organisation-wide, so a single item sees it jump by more than 1.
        self.watermark += 3;
        self.watermark
    }

    pub fn now_string(&mut self) -> String {
        fmt_date(self.clock.tick())
    }

    pub fn alloc_node_id(&mut self) -> i64 {
        let id = self.next_node_id;
        self.next_node_id += 1;
        id
    }

    /// Creates a project with root nodes and a default team; returns its index.
    pub fn add_project(&mut self, name: &str, description: &str, process: Process) -> usize {
        let pid = guid(&format!("project:{}", name.to_lowercase()));
        let areas = Node {
            id: self.alloc_node_id(),
            identifier: guid(&format!("node:{pid}:area")),
            name: name.to_string(),
            start: None,
            finish: None,
            children: Vec::new(),
        };
        let iterations = Node {
            id: self.alloc_node_id(),
            identifier: guid(&format!("node:{pid}:iteration")),
            name: name.to_string(),
            start: None,
            finish: None,
            children: Vec::new(),
        };
        let now = self.now_string();
        self.projects.push(Project {
            id: pid,
            name: name.to_string(),
            description: description.to_string(),
            process,
            types: process.types(),
            areas,
            iterations,
            teams: vec![Team {
                id: guid(&format!("team:{pid}:default")),
                name: format!("{name} Team"),
                description: "The default project team.".to_string(),
            }],
            tags: Vec::new(),
            last_update: now,
        });
        self.projects.len() - 1
    }

    /// Adds a child node under `parent_rel` (path below the root); returns the new node.
    pub fn add_node(
        &mut self,
        project_idx: usize,
        iterations: bool,
        parent_rel: &[&str],
        name: &str,
        dates: Option<(Date, Date)>,
    ) -> Option<Node> {
        let id = self.alloc_node_id();
        let project = self.projects.get_mut(project_idx)?;
        let pid = project.id;
        let root = if iterations {
            &mut project.iterations
        } else {
            &mut project.areas
        };
        let parent = root.find_mut(parent_rel)?;
        if parent
            .children
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
        {
            return None;
        }
        let mut full: Vec<String> = parent_rel.iter().map(|s| s.to_lowercase()).collect();
        full.push(name.to_lowercase());
        let node = Node {
            id,
            identifier: guid(&format!(
                "node:{pid}:{}:{}",
                if iterations { "iteration" } else { "area" },
                full.join("\\")
            )),
            name: name.to_string(),
            start: dates.map(|d| d.0),
            finish: dates.map(|d| d.1),
            children: Vec::new(),
        };
        parent.children.push(node.clone());
        Some(node)
    }
}
