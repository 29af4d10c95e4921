//! The simulator on the network: listening on a chosen port (`ado-sync sim --port`), and
//! delivering its service-hook events over real HTTP to the URLs of the stored subscriptions,
//! with their consumer inputs (basic-auth user and password, extra `httpHeaders`), as ADO's
//! `webHooks` consumer does.

use super::{faults::Faults, routes, seed, state::SimState, AdoSim};
use crate::http_client;
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

/// How long ADO waits for a webhook endpoint to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryResult {
    /// The subscription the event was for (`None`: no subscription exists for its type).
    pub subscription_id: Option<String>,
    /// ADO's notification id.
    pub notification_id: Option<i64>,
    /// `workitem.updated`, …
    pub event_type: String,
    /// Where it was sent.
    pub url: Option<String>,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// The endpoint's answer (as text, cut at 2 KiB).
    pub response: String,
    /// Why it was not delivered (transport failure, no subscription, subscription disabled).
    pub error: Option<String>,
    /// The event itself, to deliver again.
    #[serde(skip)]
    pub event: Value,
}

impl DeliveryResult {
    /// Whether the endpoint accepted it (2xx).
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(event: Value, sid: Option<String>, url: Option<String>, error: String) -> Self {
        DeliveryResult {
            subscription_id: sid,
            notification_id: event.get("notificationId").and_then(Value::as_i64),
            event_type: event_type(&event),
            url,
            status: None,
            response: String::new(),
            error: Some(error),
            event,
        }
    }
}

fn event_type(event: &Value) -> String {
    event
        .get("eventType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn input<'a>(inputs: &'a Value, key: &str) -> &'a str {
    inputs.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The headers ADO's `webHooks` consumer sends for these consumer inputs.
pub fn delivery_headers(inputs: &Value) -> Vec<(String, String)> {
    let mut headers = vec![(
        "content-type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )];
    let (user, password) = (
        input(inputs, "basicAuthUsername"),
        input(inputs, "basicAuthPassword"),
    );
    if !user.is_empty() || !password.is_empty() {
        headers.push((
            "authorization".into(),
            http_client::basic_auth(user, password),
        ));
    }
    for line in input(inputs, "httpHeaders").lines() {
        if let Some((k, v)) = line.split_once(':') {
            if !k.trim().is_empty() {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    headers
}

impl AdoSim {
    /// Like [`AdoSim::start_seeded`], listening on `listener` (a fixed port for `ado-sync sim`).
    pub async fn start_seeded_on(listener: std::net::TcpListener) -> anyhow::Result<AdoSim> {
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        let mut st = SimState::new(server.uri());
        seed::seed(&mut st).map_err(|e| anyhow::anyhow!("seed failed: {}", e.message))?;
        let state = Arc::new(Mutex::new(st));
        let faults = Faults::default();
        Mock::given(any())
            .respond_with(routes::SimResponder {
                state: state.clone(),
                faults: faults.clone(),
            })
            .mount(&server)
            .await;
        Ok(AdoSim {
            server,
            state,
            faults,
        })
    }

    /// Deliver every pending service-hook event (see [`AdoSim::drain_events`]) to its
    /// subscription's URL, one after the other in order. Events that fail are not queued again:
    /// pass the failed results' `event`s to [`AdoSim::deliver`] to retry them, as ADO does.
    pub async fn deliver_events(&self) -> Vec<DeliveryResult> {
        let events = self.drain_events();
        self.deliver(events).await
    }

    /// Deliver these events (in order) to their subscriptions' URLs.
    pub async fn deliver(&self, events: Vec<Value>) -> Vec<DeliveryResult> {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            out.push(self.deliver_one(event).await);
        }
        out
    }

    /// The headers ADO sends with the delivery of `event` (its subscription's credential and
    /// custom headers); `None` when no subscription produced it.
    pub fn delivery_headers_for(&self, event: &Value) -> Option<Vec<(String, String)>> {
        let sid = event.get("subscriptionId").and_then(Value::as_str)?;
        self.subscription_consumer_inputs(sid)
            .map(|inputs| delivery_headers(&inputs))
    }

    /// The `Authorization` value ADO sends with the delivery of `event`, if any.
    pub fn delivery_authorization(&self, event: &Value) -> Option<String> {
        self.delivery_headers_for(event)?
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v)
    }

    async fn deliver_one(&self, event: Value) -> DeliveryResult {
        let Some(sid) = event
            .get("subscriptionId")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return DeliveryResult::failed(
                event,
                None,
                None,
                "no subscription exists for this event type".into(),
            );
        };
        let Some(inputs) = self.subscription_consumer_inputs(&sid) else {
            return DeliveryResult::failed(
                event,
                Some(sid),
                None,
                "the subscription was deleted".into(),
            );
        };
        let status = self
            .subscriptions()
            .iter()
            .find(|s| s.get("id").and_then(Value::as_str) == Some(sid.as_str()))
            .and_then(|s| s.get("status").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "enabled".into());
        if status != "enabled" && status != "onProbation" {
            return DeliveryResult::failed(
                event,
                Some(sid),
                None,
                format!("the subscription is {status}"),
            );
        }
        let url = input(&inputs, "url").to_string();
        let body = match serde_json::to_vec(&event) {
            Ok(b) => b,
            Err(e) => return DeliveryResult::failed(event, Some(sid), Some(url), e.to_string()),
        };
        let headers = delivery_headers(&inputs);
        match http_client::send("POST", &url, &headers, body, DELIVERY_TIMEOUT).await {
            Ok(r) => DeliveryResult {
                subscription_id: Some(sid),
                notification_id: event.get("notificationId").and_then(Value::as_i64),
                event_type: event_type(&event),
                url: Some(url),
                status: Some(r.status),
                response: String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(2048)
                    .collect(),
                error: None,
                event,
            },
            Err(e) => DeliveryResult::failed(event, Some(sid), Some(url), e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn consumer_inputs_become_headers() {
        let h = delivery_headers(&json!({
            "url": "http://x/y",
            "basicAuthUsername": "ado-sync",
            "basicAuthPassword": "s3cret",
            "httpHeaders": "X-One: 1\nX-Two:two"
        }));
        assert!(h.contains(&(
            "authorization".into(),
            http_client::basic_auth("ado-sync", "s3cret")
        )));
        assert!(h.contains(&("X-One".into(), "1".into())));
        assert!(h.contains(&("X-Two".into(), "two".into())));
        assert_eq!(delivery_headers(&json!({"url": "http://x"})).len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn events_reach_the_subscription_url_with_its_credentials() {
        let target = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/hook"))
            .and(wiremock::matchers::header(
                "authorization",
                http_client::basic_auth("u", "p").as_str(),
            ))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .expect(1)
            .mount(&target)
            .await;
        let sim = AdoSim::start_seeded().await;
        let org = sim.org_url();
        let subscribe = json!({
            "publisherId": "tfs", "eventType": "workitem.created", "resourceVersion": "1.0",
            "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {},
            "consumerInputs": {"url": format!("{}/hook", target.uri()), "basicAuthUsername": "u", "basicAuthPassword": "p"}
        });
        let created = http_client::send(
            "POST",
            &format!("{org}/_apis/hooks/subscriptions?api-version=7.1"),
            &[
                ("content-type".into(), "application/json".into()),
                (
                    "authorization".into(),
                    http_client::basic_auth("", AdoSim::PAT),
                ),
            ],
            serde_json::to_vec(&subscribe).unwrap(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(
            created.status,
            200,
            "{}",
            String::from_utf8_lossy(&created.body)
        );
        let _ = sim.drain_events();
        sim.user_create(
            "Fabrikam",
            "Task",
            json!({"System.Title": "Delivered"}),
            None,
        );
        let results = sim.deliver_events().await;
        assert_eq!(results.len(), 1, "{results:?}");
        assert!(results[0].delivered(), "{results:?}");
        assert_eq!(results[0].event_type, "workitem.created");
        let received = target.received_requests().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(body["resource"]["fields"]["System.Title"], "Delivered");
    }
}
