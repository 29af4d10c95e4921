//! ADO service-hook deliveries: authenticate, validate, find the integration, and decide what
//! the host must change. Echoes of our own writes and stale or repeated deliveries change
//! nothing. Also provisioning of the subscriptions and healing after ADO degraded them.

use crate::ado::auth::{basic_header, Credentials};
use crate::api::{
    ActionKind, HealOutcome, HistoryEntry, HostChange, IgnoredReason, ProvisionOutcome, Result,
    SubscriptionInfo, SyncError, WebhookOutcome, WebhookRequest, WebhookStatus, WorkspaceSchema,
};
use crate::core::clock::minutes_before;
use crate::core::query::{quote, select_ids};
use crate::core::work_item::{list_items, WorkItem};
use crate::engine::context::IntegrationContext;
use crate::engine::sync::incoming::Incoming;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{ConnectionRecord, IntegrationRecord, WebhookRecord};
use serde::Deserialize as _;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// How far the first gap-filling watermark reaches back before provisioning.
const CLOCK_SKEW_MINUTES: i64 = 10;

/// ADO caps service-hook payloads at 2 MB.
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// The user name of the delivery credential.
pub const DELIVERY_USER: &str = "ado-sync";
/// The events the webhook subscribes to.
pub const EVENTS: [&str; 4] = [
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
];

/// A delivery, parsed. It borrows the body: the work item's fields stay text until the
/// integration's mapping says which of them are read.
#[derive(Debug)]
pub struct Event<'a> {
    /// `workitem.updated`, …
    pub kind: String,
    /// The project GUID.
    pub project_id: String,
    /// The work item id.
    pub work_item: i64,
    /// The revision the event is about (0 when unknown).
    pub rev: i64,
    /// The work item as of the event (`resource`, or `resource.revision` for updates), when the
    /// payload carries its fields.
    pub snapshot: Option<Snapshot<'a>>,
    /// Whether the snapshot's links are known: it has `relations`, or it is an update whose
    /// links did not change (no `resource.relations`).
    pub links_known: bool,
}

/// A payload's work item, its fields not parsed yet.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// `fields`: a JSON object.
    fields: &'a RawValue,
    /// `relations`, when the key is present (`null` included).
    relations: Option<&'a RawValue>,
    /// The snapshot's own `rev`, else the event's.
    rev: i64,
}

/// A snapshot read with the fields a mapping needs.
pub struct SnapshotItem {
    /// The work item.
    pub work_item: WorkItem,
    /// Whether the payload carries its relations (when not, they may have changed).
    pub has_relations: bool,
    /// `System.ChangedDate` of that revision, when present.
    pub changed_date: Option<String>,
}

impl<'a> Snapshot<'a> {
    /// The work item of a payload's parts, when its `fields` is an object; its revision is its
    /// own `rev`, else the event's.
    fn of(
        fields: Option<&'a RawValue>,
        relations: Option<&'a RawValue>,
        rev: Option<&Value>,
        event_rev: i64,
    ) -> Option<Snapshot<'a>> {
        fields.filter(|f| is_object(f)).map(|fields| Snapshot {
            fields,
            relations,
            rev: rev.and_then(Value::as_i64).unwrap_or(event_rev),
        })
    }

    /// Whether the payload carries the work item's relations.
    pub fn has_relations(&self) -> bool {
        self.relations.is_some()
    }

    /// The work item `id` with the fields `wanted` names (and its change date).
    pub fn read(&self, id: i64, wanted: impl Fn(&str) -> bool) -> Result<SnapshotItem> {
        let mut work_item = WorkItem::from_parts(id, self.rev, self.fields, self.relations, |f| {
            f == CHANGED_DATE || wanted(f)
        })?;
        let changed_date = if wanted(CHANGED_DATE) {
            work_item.str_field(CHANGED_DATE).map(str::to_string)
        } else {
            match work_item.fields.remove(CHANGED_DATE) {
                Some(Value::String(d)) => Some(d),
                _ => None,
            }
        };
        Ok(SnapshotItem {
            work_item,
            has_relations: self.has_relations(),
            changed_date,
        })
    }
}

const CHANGED_DATE: &str = "System.ChangedDate";

/// The parts of a delivery the plugin reads; the rest (messages, dates, the notification's ids,
/// the resource's links) is skipped while parsing, without building values for it.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "eventType")]
    event_type: Option<Value>,
    #[serde(default, borrow, deserialize_with = "an_object")]
    resource: Option<Resource<'a>>,
    #[serde(rename = "resourceContainers")]
    resource_containers: Option<Containers>,
}

/// `resourceContainers`: only the project's id is read.
#[derive(serde::Deserialize)]
struct Containers {
    project: Option<IdOf>,
}

#[derive(serde::Deserialize)]
struct IdOf {
    id: Option<Value>,
}

/// The resource's parts. An update's work item is its `revision` (its `fields` are the delta);
/// the other events' work item is the resource itself.
#[derive(serde::Deserialize)]
struct Resource<'a> {
    id: Option<Value>,
    #[serde(rename = "workItemId")]
    work_item_id: Option<Value>,
    rev: Option<Value>,
    /// Kept as text: an update's delta is not read, the others' fields are read later.
    #[serde(borrow)]
    fields: Option<&'a RawValue>,
    /// Kept when present, `null` included (a present key tells the links are known).
    #[serde(default, borrow, deserialize_with = "kept")]
    relations: Option<&'a RawValue>,
    #[serde(default, borrow)]
    revision: AnyRevision<'a>,
}

/// The parts of an update's revision (any JSON object; anything else has none).
#[derive(serde::Deserialize, Default)]
struct Revision<'a> {
    id: Option<Value>,
    rev: Option<Value>,
    #[serde(borrow)]
    fields: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "kept")]
    relations: Option<&'a RawValue>,
}

/// `resource.revision` read in the same pass as the rest: an object's parts, or none for any
/// other JSON value.
#[derive(Default)]
struct AnyRevision<'a>(Revision<'a>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for AnyRevision<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct Any<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Any<'a> {
            type Value = AnyRevision<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                Revision::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(AnyRevision)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AnyRevision::default())
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(AnyRevision::default())
            }
        }
        d.deserialize_any(Any(std::marker::PhantomData))
    }
}

fn kept<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<&'a RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The resource, which must be a JSON object.
fn an_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Resource<'de>>, D::Error> {
    struct Object;
    impl<'de> serde::de::Visitor<'de> for Object {
        type Value = Option<Resource<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object as the resource")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            Resource::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_map(Object)
}

/// Whether raw JSON is an object.
fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

/// Read the parts of a delivery's body the plugin needs. `workitem.updated` carries a
/// WorkItemUpdate (id = update number; the work item id is `workItemId` or `revision.id`); the
/// others carry the work item itself.
pub fn parse_delivery(body: &[u8]) -> Result<Event<'_>> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| SyncError::BadPayload(format!("body is not a service-hook delivery ({e})")))?;
    let kind = envelope
        .event_type
        .as_ref()
        .and_then(Value::as_str)
        .ok_or_else(|| SyncError::BadPayload("missing eventType".into()))?
        .to_string();
    let resource = envelope
        .resource
        .ok_or_else(|| SyncError::BadPayload("missing resource".into()))?;
    let project_id = envelope
        .resource_containers
        .and_then(|c| c.project?.id)
        .as_ref()
        .and_then(Value::as_str)
        .ok_or_else(|| SyncError::BadPayload("missing resourceContainers.project.id".into()))?
        .to_string();
    let positive = |v: Option<&Value>| v.and_then(Value::as_i64).filter(|id| *id > 0);
    let updated = kind == "workitem.updated";
    let links_in_update = resource.relations.is_some();
    // The work item as of the event: an update's revision, or the resource itself.
    let (work_item, rev, snapshot) = if updated {
        let revision = resource.revision.0;
        // `workItemId` 0 or missing is a known artefact of the documented sample: fall back to the
        // revision. Any other non-positive or non-integer value is a malformed payload.
        let declared = match &resource.work_item_id {
            None => None,
            Some(v) => match v.as_i64() {
                Some(0) => None,
                Some(id) if id > 0 => Some(id),
                _ => {
                    return Err(SyncError::BadPayload(format!(
                        "resource.workItemId is not a work item id: {v}"
                    )))
                }
            },
        };
        let id = declared
            .or_else(|| positive(revision.id.as_ref()))
            .ok_or_else(|| {
                SyncError::BadPayload("updated event without resource.workItemId".into())
            })?;
        let rev = positive(resource.rev.as_ref())
            .or_else(|| positive(revision.rev.as_ref()))
            .unwrap_or(0);
        let snapshot = Snapshot::of(
            revision.fields,
            revision.relations,
            revision.rev.as_ref(),
            rev,
        );
        (id, rev, snapshot)
    } else {
        let id = positive(resource.id.as_ref())
            .ok_or_else(|| SyncError::BadPayload("event without a positive resource.id".into()))?;
        let rev = positive(resource.rev.as_ref()).unwrap_or(0);
        let snapshot = Snapshot::of(
            resource.fields,
            resource.relations,
            resource.rev.as_ref(),
            rev,
        );
        (id, rev, snapshot)
    };
    let links_known =
        snapshot.as_ref().is_some_and(Snapshot::has_relations) || (updated && !links_in_update);
    Ok(Event {
        kind,
        project_id,
        work_item,
        rev,
        snapshot,
        links_known,
    })
}

fn authenticate(expected: Option<&str>, request: &WebhookRequest) -> Result<()> {
    let Some(expected) = expected else {
        return Err(SyncError::AuthFailed(
            "the webhook of this connection is not provisioned; no delivery is accepted".into(),
        ));
    };
    match header(request, "authorization") {
        Some(got) if same_secret(got.trim(), expected) => Ok(()),
        Some(_) => Err(SyncError::AuthFailed(
            "the delivery credential is wrong".into(),
        )),
        None => Err(SyncError::AuthFailed(
            "the delivery carries no credential".into(),
        )),
    }
}

/// What the deliveries of one call share, read once.
#[derive(Default)]
struct Deliveries {
    /// The time of the call: every decision in it is recorded at this time.
    now: String,
    schema: Option<Rc<WorkspaceSchema>>,
    integrations: Option<Vec<Rc<IntegrationRecord>>>,
    credentials: HashMap<String, Option<String>>,
    contexts: HashMap<String, Rc<IntegrationContext>>,
    notes: HashMap<String, EventNote>,
    parents: ParentHosts,
}

/// The host ids of parents found linked during a call, by connection and work item: siblings
/// share a parent, and a link's host id never changes (deliveries mark links, never remove
/// them), so a parent is read once per call. Parents not linked are read again.
#[derive(Default)]
struct ParentHosts(HashMap<String, HashMap<i64, String>>);

impl ParentHosts {
    fn host_of(
        &mut self,
        ctx: &IntegrationContext,
        store: &crate::store::Store,
        work_item: i64,
    ) -> Result<Option<String>> {
        let connection = &ctx.connection.id;
        if let Some(host) = self.0.get(connection).and_then(|m| m.get(&work_item)) {
            return Ok(Some(host.clone()));
        }
        let found = ctx.host_of_work_item(store, work_item)?;
        if let Some(host) = &found {
            self.0
                .entry(connection.clone())
                .or_default()
                .insert(work_item, host.clone());
        }
        Ok(found)
    }
}

/// The health counters of one connection's deliveries in a call, written once at its end.
#[derive(Default)]
struct EventNote {
    applied: u64,
    ignored: u64,
    rejected: u64,
    last_event_at: Option<String>,
    last_error: Option<String>,
    watermark: Option<String>,
}

impl EventNote {
    fn event(&mut self, outcome: &WebhookOutcome, now: String, changed_date: Option<&str>) {
        match outcome {
            WebhookOutcome::Applied(_) => self.applied += 1,
            WebhookOutcome::Ignored(_) => self.ignored += 1,
        }
        self.last_event_at = Some(now);
        if let Some(d) = changed_date {
            if self.watermark.as_deref().is_none_or(|w| w < d) {
                self.watermark = Some(d.to_string());
            }
        }
    }

    fn rejected(&mut self, e: &SyncError) {
        self.rejected += 1;
        self.last_error = Some(e.describe());
    }
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Compare without leaking where the first difference is.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Engine<'_> {
    /// The webhook path of this workspace.
    pub fn webhook_path(&self) -> Result<String> {
        Ok(format!(
            "/webhooks/{}/ado",
            self.workspace_schema()?.workspace_id
        ))
    }

    /// Handle one delivery.
    pub fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome> {
        self.handle_webhooks(std::slice::from_ref(request))
            .pop()
            .unwrap_or_else(|| Err(SyncError::Internal("no outcome for the delivery".into())))
    }

    /// Handle deliveries in order, each with the result `handle_webhook` would give it. What
    /// every delivery needs (schema, integrations, delivery credentials, mapping contexts) is
    /// read once, and the health counters are written once per connection.
    pub fn handle_webhooks(&self, requests: &[WebhookRequest]) -> Vec<Result<WebhookOutcome>> {
        let mut session = Deliveries {
            now: self.http.now_rfc3339(),
            ..Deliveries::default()
        };
        let outcomes = requests
            .iter()
            .map(|r| self.deliver(&mut session, r))
            .collect();
        for (connection, note) in session.notes {
            // Health counters are telemetry: failing to write them must not undo a decision
            // whose link writes already happened.
            let _ = self.note_events(&connection, &note);
        }
        outcomes
    }

    fn deliver(
        &self,
        session: &mut Deliveries,
        request: &WebhookRequest,
    ) -> Result<WebhookOutcome> {
        let schema = match &session.schema {
            Some(s) => s,
            None => session.schema.insert(self.shared_workspace_schema()?),
        };
        if request.path.split('?').next()
            != Some(format!("/webhooks/{}/ado", schema.workspace_id).as_str())
        {
            return Err(SyncError::BadPayload(format!(
                "'{}' is not this workspace's webhook path",
                request.path
            )));
        }
        if request.body.len() > MAX_BODY {
            return Err(SyncError::BadPayload(format!(
                "body of {} bytes exceeds ADO's 2 MB payload cap",
                request.body.len()
            )));
        }
        match header(request, "content-type") {
            Some(ct) if ct.to_ascii_lowercase().contains("json") => {}
            Some(ct) => {
                return Err(SyncError::BadPayload(format!(
                    "content type '{ct}' is not JSON"
                )))
            }
            None => return Err(SyncError::BadPayload("missing content type".into())),
        }
        let mut event = parse_delivery(&request.body)?;
        let integrations = match &session.integrations {
            Some(i) => i,
            None => session
                .integrations
                .insert(self.store().all_settings(keys::INTEGRATIONS)?),
        };
        let Some(integration) = integrations
            .iter()
            .find(|i| i.project_id.eq_ignore_ascii_case(&event.project_id))
        else {
            return Ok(WebhookOutcome::Ignored(IgnoredReason::ProjectNotIntegrated));
        };
        let connection = integration.connection_id.clone();
        let integration_id = integration.id.clone();
        let note = session.notes.entry(connection.clone()).or_default();
        let expected = match session.credentials.get(&connection) {
            Some(c) => c.clone(),
            None => {
                let c = self.delivery_credential(&connection)?;
                session.credentials.insert(connection.clone(), c.clone());
                c
            }
        };
        if let Err(e) = authenticate(expected.as_deref(), request) {
            note.rejected(&e);
            return Err(e);
        }
        if !session.contexts.contains_key(&integration_id) {
            let ctx = self.shared_context(integration, schema)?;
            session.contexts.insert(integration_id.clone(), ctx);
        }
        let Some(ctx) = session.contexts.get(&integration_id) else {
            return Err(SyncError::Internal("integration context missing".into()));
        };
        // The payload's work item, with the fields this integration's mapping reads.
        let snapshot = event
            .snapshot
            .take()
            .map(|s| s.read(event.work_item, |f| ctx.reads_field(f)))
            .transpose();
        let mut snapshot = match snapshot {
            Ok(s) => s,
            Err(e) => {
                note.rejected(&e);
                return Err(e);
            }
        };
        let changed_date = snapshot.as_mut().and_then(|s| s.changed_date.take());
        let outcome = self.apply_event(ctx, &event, snapshot, &mut session.parents, &session.now);
        match &outcome {
            Ok(o) => note.event(o, session.now.clone(), changed_date.as_deref()),
            Err(e) => note.rejected(e),
        }
        outcome
    }

    /// The `Authorization` value deliveries of a connection must carry; `None` until provisioned.
    fn delivery_credential(&self, connection: &str) -> Result<Option<String>> {
        let secret = self
            .vault
            .get(&keys::webhook_secret(connection))
            .map_err(SyncError::storage)?;
        Ok(secret.map(|s| basic_header(&Credentials::UserPassword(DELIVERY_USER, &s))))
    }

    /// Decide what an event means for the host; `snapshot` is the payload's work item, when it
    /// carries one.
    fn apply_event(
        &self,
        ctx: &IntegrationContext,
        event: &Event,
        snapshot: Option<SnapshotItem>,
        parents: &mut ParentHosts,
        now: &str,
    ) -> Result<WebhookOutcome> {
        let store = self.store();
        let link = ctx.link_of_work_item(&store, event.work_item)?;
        let trigger = format!("webhook {}", event.kind);
        match event.kind.as_str() {
            "workitem.created" | "workitem.updated" | "workitem.restored" => {}
            "workitem.deleted" => {
                let Some((mut l, version)) = link else {
                    return Ok(WebhookOutcome::Ignored(IgnoredReason::NotLinked));
                };
                if l.deleted_in_ado {
                    return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate));
                }
                l.deleted_in_ado = true;
                l.ado_rev = event.rev.max(l.ado_rev);
                ctx.put_link(&store, &l, Some(version))?;
                self.history_entry(
                    ctx,
                    now,
                    &trigger,
                    ActionKind::Delete,
                    Some(l.host_id.clone()),
                    event.work_item,
                    "deleted in ADO (recycle bin)",
                );
                return Ok(WebhookOutcome::Applied(vec![HostChange::Delete(l.host_id)]));
            }
            _ => return Ok(WebhookOutcome::Ignored(IgnoredReason::EventNotHandled)),
        }
        if let Some((l, _)) = &link {
            if event.rev > 0 && event.rev < l.ado_rev {
                return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate));
            }
        }
        // The payload's snapshot is the item at the event's revision, which is not older than
        // anything applied (checked above). Read the item from ADO only when the payload lacks
        // what is needed: its fields, or its links when they may have changed.
        let linked_parent = link.as_ref().and_then(|(l, _)| l.base.parent.clone());
        let from_payload = snapshot
            .filter(|s| event.links_known && (link.is_some() || s.has_relations))
            .map(|s| s.work_item);
        let (current, parent_host) = match from_payload {
            Some(wi) if wi.relations.is_empty() && event.kind == "workitem.updated" => {
                (wi, linked_parent)
            }
            found => {
                let wi = match found {
                    Some(wi) => wi,
                    None => match self.client(&ctx.connection)?.work_item(event.work_item) {
                        Ok(v) => WorkItem::from_json(&v)?,
                        Err(SyncError::NotFound(_)) => {
                            return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate))
                        }
                        Err(e) => return Err(e),
                    },
                };
                let parent = match wi.parent_id() {
                    Some(p) => parents.host_of(ctx, &store, p)?,
                    None => None,
                };
                (wi, parent)
            }
        };
        if ctx
            .map_context()
            .host_type_of(current.work_item_type())
            .is_none()
        {
            return Ok(WebhookOutcome::Ignored(IgnoredReason::TypeNotMapped));
        }
        let linked_rev = link.as_ref().map(|(l, _)| l.ado_rev);
        let decision = self.take_from_ado(
            ctx,
            &store,
            Incoming {
                work_item: &current,
                existing: None,
                host_known: false,
                parent_host,
                link,
                dry_run: false,
            },
            now,
        )?;
        match decision.change {
            Some(change) => {
                self.history_entry(
                    ctx,
                    now,
                    &trigger,
                    decision.action,
                    decision.host_id,
                    current.id,
                    &decision.reason,
                );
                Ok(WebhookOutcome::Applied(vec![change]))
            }
            None => {
                let ours = linked_rev.is_some_and(|rev| rev >= current.rev);
                let reason = if ours {
                    IgnoredReason::Echo
                } else {
                    IgnoredReason::Duplicate
                };
                self.history_entry(
                    ctx,
                    now,
                    &trigger,
                    ActionKind::Skip,
                    decision.host_id,
                    current.id,
                    &format!("{reason:?}: nothing new for the host"),
                );
                Ok(WebhookOutcome::Ignored(reason))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn history_entry(
        &self,
        ctx: &IntegrationContext,
        at: &str,
        trigger: &str,
        action: ActionKind,
        host_id: Option<String>,
        work_item: i64,
        reason: &str,
    ) {
        self.record_history(
            &ctx.connection.id,
            HistoryEntry {
                at: at.to_string(),
                trigger: trigger.to_string(),
                action,
                host_id,
                work_item: Some(work_item),
                reason: reason.to_string(),
            },
        );
    }

    fn note_events(&self, connection: &str, note: &EventNote) -> Result<()> {
        let store = self.store();
        let key = keys::webhook(connection);
        for _ in 0..5 {
            let (mut record, version) = match store.get::<WebhookRecord>(&key)? {
                Some((r, v)) => (r, Some(v)),
                None => (WebhookRecord::default(), None),
            };
            record.applied += note.applied;
            record.ignored += note.ignored;
            record.rejected += note.rejected;
            if note.last_event_at.is_some() {
                record.last_event_at.clone_from(&note.last_event_at);
            }
            if note.last_error.is_some() {
                record.last_error.clone_from(&note.last_error);
            }
            if let Some(d) = &note.watermark {
                if record.watermark.as_deref().is_none_or(|w| w < d.as_str()) {
                    record.watermark = Some(d.clone());
                }
            }
            if store.put_if(&key, version, &record)? {
                return Ok(());
            }
        }
        Err(SyncError::Conflict(
            "webhook counters kept changing; gave up".into(),
        ))
    }

    /// Webhook health of a connection.
    pub fn webhook_status(&self, connection: &str) -> Result<WebhookStatus> {
        let store = self.store();
        if store.get::<Value>(&keys::connection(connection))?.is_none() {
            return Err(SyncError::NotFound(format!("connection '{connection}'")));
        }
        let r: WebhookRecord = store.value(&keys::webhook(connection))?.unwrap_or_default();
        Ok(WebhookStatus {
            connection: connection.to_string(),
            connected: r.last_event_at.is_some(),
            last_event_at: r.last_event_at,
            applied: r.applied,
            ignored: r.ignored,
            rejected: r.rejected,
            last_error: r.last_error,
        })
    }

    fn connection_and_integrations(
        &self,
        connection: &str,
    ) -> Result<(ConnectionRecord, Vec<IntegrationRecord>)> {
        let conn: ConnectionRecord = self
            .store()
            .value(&keys::connection(connection))?
            .ok_or_else(|| SyncError::NotFound(format!("connection '{connection}'")))?;
        let integrations: Vec<IntegrationRecord> = self
            .store()
            .all::<IntegrationRecord>(keys::INTEGRATIONS)?
            .into_iter()
            .filter(|i| i.connection_id == connection)
            .collect();
        Ok((conn, integrations))
    }

    fn our_subscriptions(
        &self,
        client: &crate::ado::AdoClient,
        url: &str,
        integrations: &[IntegrationRecord],
    ) -> Result<Vec<(SubscriptionInfo, String)>> {
        let list = client.get("_apis/hooks/subscriptions")?;
        Ok(list_items(&list)
            .iter()
            .filter(|s| s.pointer("/consumerInputs/url").and_then(Value::as_str) == Some(url))
            .filter_map(|s| {
                let project_id = s
                    .pointer("/publisherInputs/projectId")
                    .and_then(Value::as_str)?
                    .to_string();
                let project = integrations
                    .iter()
                    .find(|i| i.project_id.eq_ignore_ascii_case(&project_id))?
                    .project_name
                    .clone();
                Some((
                    SubscriptionInfo {
                        id: s.get("id")?.as_str()?.to_string(),
                        event_type: s.get("eventType")?.as_str()?.to_string(),
                        project,
                        status: s
                            .get("status")
                            .and_then(Value::as_str)
                            .unwrap_or("enabled")
                            .to_string(),
                    },
                    project_id,
                ))
            })
            .collect())
    }

    fn subscription_body(url: &str, project_id: &str, event: &str, secret: &str) -> Value {
        json!({
            "publisherId": "tfs",
            "eventType": event,
            "resourceVersion": "1.0",
            "consumerId": "webHooks",
            "consumerActionId": "httpRequest",
            "publisherInputs": { "projectId": project_id },
            "consumerInputs": {
                "url": url,
                "basicAuthUsername": DELIVERY_USER,
                "basicAuthPassword": secret,
                "resourceDetailsToSend": "all",
                "messagesToSend": "none",
                "detailedMessagesToSend": "none"
            }
        })
    }

    fn create_subscription(
        client: &crate::ado::AdoClient,
        url: &str,
        integration: &IntegrationRecord,
        event: &str,
        secret: &str,
    ) -> Result<SubscriptionInfo> {
        let body = Self::subscription_body(url, &integration.project_id, event, secret);
        let v = client.post("_apis/hooks/subscriptions", &body)?;
        let text = |key: &str, default: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        Ok(SubscriptionInfo {
            id: text("id", ""),
            event_type: event.to_string(),
            project: integration.project_name.clone(),
            status: text("status", "enabled"),
        })
    }

    /// Create the subscriptions for every integrated project of a connection (idempotent).
    pub fn provision(&self, connection: &str, public_base_url: &str) -> Result<ProvisionOutcome> {
        let base = public_base_url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(base)
            .map_err(|e| SyncError::invalid("public-base-url", format!("not a URL ({e})")))?;
        if parsed.scheme() != "https" && parsed.scheme() != "http" {
            return Err(SyncError::invalid(
                "public-base-url",
                "must be an http(s) URL (ADO requires https)",
            ));
        }
        let url = format!("{base}{}", self.webhook_path()?);
        let (conn, integrations) = self.connection_and_integrations(connection)?;
        if integrations.is_empty() {
            return Err(SyncError::invalid(
                "connection",
                "add a project to the connection before provisioning its webhook",
            ));
        }
        let secret_name = keys::webhook_secret(connection);
        let secret = match self.vault.get(&secret_name).map_err(SyncError::storage)? {
            Some(s) => s,
            None => {
                let s = self.http.random_hex(24);
                self.vault
                    .put(&secret_name, &s)
                    .map_err(SyncError::storage)?;
                s
            }
        };
        let client = self.client(&conn)?;
        let hook_url = url.clone();
        let projects = integrations
            .iter()
            .map(|i| i.project_name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let conn_name = conn.name.clone();
        let manual = move |reason: &str| {
            format!(
                "The credentials of '{}' may not create service hooks ({reason}). Ask a Project Collection Administrator to add, for each project ({}), one Web Hooks subscription per event ({}) in Project settings > Service hooks, with URL {hook_url}, basic authentication user '{DELIVERY_USER}' and the password shown by `ado-sync status --show-webhook-credential`, resource version 1.0, and messages to send: none.",
                conn_name,
                projects,
                EVENTS.join(", ")
            )
        };
        let existing = match self.our_subscriptions(&client, &url, &integrations) {
            Ok(e) => e,
            Err(SyncError::PermissionDenied(m)) => {
                return Ok(ProvisionOutcome {
                    url,
                    subscriptions: vec![],
                    created: 0,
                    manual_steps: Some(manual(&m)),
                });
            }
            Err(e) => return Err(e),
        };
        let mut subscriptions: Vec<SubscriptionInfo> =
            existing.iter().map(|(s, _)| s.clone()).collect();
        let mut created = 0;
        for integration in &integrations {
            for event in EVENTS {
                if existing.iter().any(|(s, p)| {
                    s.event_type == event && p.eq_ignore_ascii_case(&integration.project_id)
                }) {
                    continue;
                }
                match Self::create_subscription(&client, &url, integration, event, &secret) {
                    Ok(info) => {
                        created += 1;
                        subscriptions.push(info);
                    }
                    Err(SyncError::PermissionDenied(m)) => {
                        return Ok(ProvisionOutcome {
                            url,
                            subscriptions,
                            created,
                            manual_steps: Some(manual(&m)),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.start_webhook_record(connection, &url)?;
        Ok(ProvisionOutcome {
            url,
            subscriptions,
            created,
            manual_steps: None,
        })
    }

    /// Record the webhook's URL and, before any event arrived, where gap-filling starts: a
    /// little before now (ADO's clock may lag ours), so edits made while the first deliveries
    /// failed are found by `heal` too.
    fn start_webhook_record(&self, connection: &str, url: &str) -> Result<()> {
        let key = keys::webhook(connection);
        let (mut record, version) = match self.store().get::<WebhookRecord>(&key)? {
            Some((r, v)) => (r, Some(v)),
            None => (WebhookRecord::default(), None),
        };
        record.url = Some(url.to_string());
        if record.watermark.is_none() {
            record.watermark = minutes_before(&self.http.now_rfc3339(), CLOCK_SKEW_MINUTES);
        }
        if !self.store().put_if(&key, version, &record)? {
            return Err(SyncError::Conflict(
                "webhook state changed meanwhile; provision again".into(),
            ));
        }
        Ok(())
    }

    /// Re-enable degraded subscriptions and fill the gap since the last event.
    pub fn heal(&self, connection: &str) -> Result<HealOutcome> {
        let (conn, integrations) = self.connection_and_integrations(connection)?;
        let record: WebhookRecord = self
            .store()
            .value(&keys::webhook(connection))?
            .unwrap_or_default();
        let url = record.url.clone().ok_or_else(|| {
            SyncError::invalid(
                "connection",
                "the webhook is not provisioned; call provision first",
            )
        })?;
        let client = self.client(&conn)?;
        let secret = self
            .vault
            .get(&keys::webhook_secret(connection))
            .map_err(SyncError::storage)?
            .unwrap_or_default();
        let mut recreated = 0;
        let mut subscriptions = Vec::new();
        let existing = self.our_subscriptions(&client, &url, &integrations)?;
        for (sub, project_id) in &existing {
            let mut info = sub.clone();
            if sub.status != "enabled" {
                let mut body = Self::subscription_body(&url, project_id, &sub.event_type, &secret);
                body["id"] = json!(sub.id);
                body["status"] = json!("enabled");
                let path = format!(
                    "_apis/hooks/subscriptions/{}",
                    crate::ado::client::seg(&sub.id)
                );
                let answer = client.send(&client.request(
                    "PUT",
                    &path,
                    Some(("application/json", &body)),
                ))?;
                info.status = answer
                    .as_ref()
                    .and_then(|v| v.get("status"))
                    .and_then(Value::as_str)
                    .unwrap_or("enabled")
                    .to_string();
                recreated += 1;
            }
            subscriptions.push(info);
        }
        for integration in &integrations {
            for event in EVENTS {
                if existing.iter().any(|(s, p)| {
                    s.event_type == event && p.eq_ignore_ascii_case(&integration.project_id)
                }) {
                    continue;
                }
                subscriptions.push(Self::create_subscription(
                    &client,
                    &url,
                    integration,
                    event,
                    &secret,
                )?);
                recreated += 1;
            }
        }
        let mut changes = Vec::new();
        let mut gap_filled = 0;
        if let Some(watermark) = &record.watermark {
            for integration in &integrations {
                let ctx = match self.context(&integration.id) {
                    Ok(c) => c,
                    Err(SyncError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let types = self.selected_types(&ctx, &[])?;
                let query = select_ids(&types, false, &[], None).replace(
                    " ORDER BY",
                    &format!(" AND [System.ChangedDate] >= {} ORDER BY", quote(watermark)),
                );
                let ids = client.wiql_precise(&ctx.integration.project_name, &query)?;
                let store = self.store();
                let now = self.http.now_rfc3339();
                for chunk in ids.chunks(crate::ado::resources::BATCH_LIMIT) {
                    let answer =
                        client.send(&client.batch_request(&ctx.integration.project_name, chunk))?;
                    let items: Vec<WorkItem> = answer
                        .as_ref()
                        .map(list_items)
                        .unwrap_or(&[])
                        .iter()
                        .filter(|v| !v.is_null())
                        .filter_map(|v| WorkItem::from_json(v).ok())
                        .collect();
                    for wi in &items {
                        let parent_host = match wi.parent_id() {
                            Some(p) => ctx.host_of_work_item(&store, p)?,
                            None => None,
                        };
                        let d = self.take_from_ado(
                            &ctx,
                            &store,
                            Incoming {
                                work_item: wi,
                                existing: None,
                                host_known: false,
                                parent_host,
                                link: ctx.link_of_work_item(&store, wi.id)?,
                                dry_run: false,
                            },
                            &now,
                        )?;
                        if let Some(change) = d.change {
                            gap_filled += 1;
                            self.history_entry(
                                &ctx,
                                &now,
                                "heal gap-fill",
                                d.action,
                                d.host_id,
                                wi.id,
                                &d.reason,
                            );
                            changes.push(change);
                        }
                    }
                }
            }
        }
        Ok(HealOutcome {
            recreated,
            subscriptions,
            gap_filled,
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(body: &Value) -> Vec<u8> {
        serde_json::to_vec(body).unwrap()
    }

    #[test]
    fn updated_events_use_the_work_item_id_not_the_update_id() {
        let body = json!({
            "eventType": "workitem.updated",
            "resource": {"id": 3, "workItemId": 42, "rev": 7, "revision": {"id": 42, "rev": 7, "fields": {"System.ChangedDate": "2026-01-02T03:04:05Z"}}},
            "resourceContainers": {"project": {"id": "p-1"}}
        });
        let body = bytes(&body);
        let e = parse_delivery(&body).unwrap();
        assert_eq!((e.work_item, e.rev), (42, 7));
        let item = e.snapshot.unwrap().read(42, |_| false).unwrap();
        assert_eq!(item.changed_date.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert!(
            item.work_item.fields.is_empty(),
            "only wanted fields are kept"
        );
        assert_eq!((item.work_item.id, item.work_item.rev), (42, 7));
    }

    #[test]
    fn sample_artefacts_fall_back_to_the_revision() {
        let body = json!({
            "eventType": "workitem.updated",
            "resource": {"id": 2, "workItemId": 0, "revision": {"id": 5, "rev": 2}},
            "resourceContainers": {"project": {"id": "p"}}
        });
        assert_eq!(parse_delivery(&bytes(&body)).unwrap().work_item, 5);
    }

    #[test]
    fn malformed_events_are_bad_payloads() {
        for body in [
            json!({}),
            json!({"eventType": "workitem.created"}),
            json!({"eventType": "workitem.created", "resource": "x", "resourceContainers": {"project": {"id": "p"}}}),
            json!({"eventType": "workitem.created", "resource": {"id": -1}, "resourceContainers": {"project": {"id": "p"}}}),
            json!({"eventType": "workitem.created", "resource": {"id": 1}}),
            json!({"eventType": "workitem.updated", "resource": {"id": 1}, "resourceContainers": {"project": {"id": "p"}}}),
        ] {
            assert!(
                matches!(parse_delivery(&bytes(&body)), Err(SyncError::BadPayload(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
