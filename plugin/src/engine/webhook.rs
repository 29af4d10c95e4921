//! ADO service-hook deliveries: validate, find the integration, map, and decide what the host
//! must change. Echoes of our own writes and stale or repeated deliveries change nothing.

use crate::api::{
    HostChange, IgnoredReason, Result, SyncError, WebhookOutcome, WebhookRequest, WebhookStatus,
};
use crate::core::convert::to_host;
use crate::core::fingerprint::of_host_item;
use crate::core::ids::host_id_for;
use crate::core::work_item::WorkItem;
use crate::engine::context::IntegrationContext;
use crate::engine::Engine;
use crate::store::keys;
use crate::store::records::{IntegrationRecord, LinkRecord, WebhookRecord};
use serde_json::Value;

/// ADO caps service-hook payloads at 2 MB.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// A delivery, parsed.
struct Event {
    kind: String,
    project_id: String,
    work_item: i64,
    rev: i64,
}

fn parse_event(body: &Value) -> Result<Event> {
    let kind = body
        .get("eventType")
        .and_then(Value::as_str)
        .ok_or_else(|| SyncError::BadPayload("missing eventType".into()))?
        .to_string();
    let resource = body
        .get("resource")
        .filter(|r| r.is_object())
        .ok_or_else(|| SyncError::BadPayload("missing resource".into()))?;
    let project_id = body
        .pointer("/resourceContainers/project/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (work_item, rev) = if kind == "workitem.updated" {
        let id = resource
            .get("workItemId")
            .and_then(Value::as_i64)
            .filter(|id| *id > 0)
            .or_else(|| resource.pointer("/revision/id").and_then(Value::as_i64))
            .ok_or_else(|| {
                SyncError::BadPayload("updated event without resource.workItemId".into())
            })?;
        let rev = resource
            .get("rev")
            .and_then(Value::as_i64)
            .or_else(|| resource.pointer("/revision/rev").and_then(Value::as_i64))
            .unwrap_or(0);
        (id, rev)
    } else {
        let id = resource
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| SyncError::BadPayload("event without resource.id".into()))?;
        (id, resource.get("rev").and_then(Value::as_i64).unwrap_or(0))
    };
    Ok(Event {
        kind,
        project_id,
        work_item,
        rev,
    })
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
        let schema = self.workspace_schema()?;
        if !request.path.split('/').any(|s| s == schema.workspace_id) {
            return Err(SyncError::BadPayload(format!(
                "the path '{}' is not this workspace's webhook URL",
                request.path
            )));
        }
        if request.body.len() > MAX_BODY {
            return Err(SyncError::BadPayload(format!(
                "body of {} bytes exceeds ADO's 2 MB payload cap",
                request.body.len()
            )));
        }
        if let Some((_, ct)) = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            if !ct.to_ascii_lowercase().contains("json") {
                return Err(SyncError::BadPayload(format!(
                    "content type '{ct}' is not JSON"
                )));
            }
        }
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| SyncError::BadPayload(format!("body is not JSON ({e})")))?;
        let event = parse_event(&body)?;
        let integrations: Vec<IntegrationRecord> = self.store().all(keys::INTEGRATIONS)?;
        let Some(integration) = integrations
            .iter()
            .find(|i| i.project_id.eq_ignore_ascii_case(&event.project_id))
        else {
            return Ok(WebhookOutcome::Ignored(IgnoredReason::ProjectNotIntegrated));
        };
        let ctx = self.context(&integration.id)?;
        let outcome = self.apply_event(&ctx, &event);
        self.note_event(&ctx.connection.id, &outcome)?;
        outcome
    }

    fn apply_event(&self, ctx: &IntegrationContext, event: &Event) -> Result<WebhookOutcome> {
        let store = self.store();
        let link = ctx.link_of_work_item(&store, event.work_item)?;
        match event.kind.as_str() {
            "workitem.created" | "workitem.updated" | "workitem.restored" => {}
            "workitem.deleted" => {
                let Some((mut l, version)) = link else {
                    return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate));
                };
                if l.fingerprint.is_empty() {
                    return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate));
                }
                l.fingerprint = String::new();
                l.ado_rev = event.rev.max(l.ado_rev);
                store.put_if(
                    &keys::link_by_work_item(&ctx.connection.id, l.work_item),
                    Some(version),
                    &l,
                )?;
                return Ok(WebhookOutcome::Applied(vec![HostChange::Delete(l.host_id)]));
            }
            _ => return Ok(WebhookOutcome::Ignored(IgnoredReason::EventNotHandled)),
        }
        if let Some((l, _)) = &link {
            if event.rev > 0 && event.rev < l.ado_rev {
                return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate));
            }
        }
        // Read the current state: deliveries can arrive late or out of order, and the current
        // item (with relations) is the only state worth applying.
        let client = self.client(&ctx.connection)?;
        let current = match client.work_item(event.work_item) {
            Ok(v) => WorkItem::from_json(&v)?,
            Err(SyncError::NotFound(_)) => {
                return Ok(WebhookOutcome::Ignored(IgnoredReason::Duplicate))
            }
            Err(e) => return Err(e),
        };
        let map = ctx.map_context();
        if map.host_type_of(current.work_item_type()).is_none() {
            return Ok(WebhookOutcome::Ignored(IgnoredReason::TypeNotMapped));
        }
        let host_id = link
            .as_ref()
            .map(|(l, _)| l.host_id.clone())
            .unwrap_or_else(|| host_id_for(&ctx.connection.id, current.id));
        let parent = match current.parent_id() {
            Some(p) => ctx.link_of_work_item(&store, p)?.map(|(l, _)| l.host_id),
            None => None,
        };
        let Some(mapped) = to_host(&map, &current, host_id.clone(), parent, None)? else {
            return Ok(WebhookOutcome::Ignored(IgnoredReason::TypeNotMapped));
        };
        let fingerprint = of_host_item(&mapped);
        if let Some((l, _)) = &link {
            if l.fingerprint == fingerprint {
                let reason = if l.ado_rev >= current.rev {
                    IgnoredReason::Echo
                } else {
                    IgnoredReason::Duplicate
                };
                return Ok(WebhookOutcome::Ignored(reason));
            }
        }
        let record = LinkRecord {
            host_id,
            work_item: current.id,
            integration_id: ctx.integration.id.clone(),
            ado_rev: current.rev,
            fingerprint,
            synced_at: self.http.now_rfc3339(),
        };
        let key = keys::link_by_work_item(&ctx.connection.id, current.id);
        if !store.put_if(&key, link.as_ref().map(|(_, v)| *v), &record)? {
            return Err(SyncError::Conflict(format!(
                "work item {} was synchronised by another instance meanwhile",
                current.id
            )));
        }
        store.put(
            &keys::link_by_host(&ctx.connection.id, &record.host_id),
            &record.work_item,
        )?;
        let change = if link
            .as_ref()
            .is_some_and(|(l, _)| !l.fingerprint.is_empty())
        {
            HostChange::Update(mapped)
        } else {
            HostChange::Create(mapped)
        };
        Ok(WebhookOutcome::Applied(vec![change]))
    }

    fn note_event(&self, connection: &str, outcome: &Result<WebhookOutcome>) -> Result<()> {
        let store = self.store();
        let key = keys::webhook(connection);
        for _ in 0..5 {
            let (mut record, version) = match store.get::<WebhookRecord>(&key)? {
                Some((r, v)) => (r, Some(v)),
                None => (WebhookRecord::default(), None),
            };
            record.last_event_at = Some(self.http.now_rfc3339());
            match outcome {
                Ok(WebhookOutcome::Applied(_)) => record.applied += 1,
                Ok(WebhookOutcome::Ignored(_)) => record.ignored += 1,
                Err(e) => {
                    record.rejected += 1;
                    record.last_error = Some(e.describe());
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
}
