//! In-memory ports for the fuzz entry points: storage, vault, and an HTTP double that either
//! answers from a script (the ADO response target) or plays a small fixed ADO (the webhook target).

use ado_sync_plugin::ports::{Http, HttpRequest, HttpResponse, Kv, KvError, TransportError, Vault};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// The last version handed out, and every key's value and version.
type KvState = (u64, BTreeMap<String, (Vec<u8>, u64)>);

/// Versioned key-value storage; versions come from one counter (no ABA).
#[derive(Default)]
pub struct MemKv {
    state: RefCell<KvState>,
}

impl MemKv {
    /// Every key and value (versions left out), for before/after comparisons.
    pub fn dump(&self) -> BTreeMap<String, Vec<u8>> {
        self.state
            .borrow()
            .1
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }
}

impl Kv for MemKv {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        Ok(self.state.borrow().1.get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<u64, KvError> {
        let mut s = self.state.borrow_mut();
        s.0 += 1;
        let version = s.0;
        s.1.insert(key.to_string(), (value.to_vec(), version));
        Ok(version)
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        self.state.borrow_mut().1.remove(key);
        Ok(())
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        Ok(self
            .state
            .borrow()
            .1
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>, KvError> {
        let mut s = self.state.borrow_mut();
        if s.1.get(key).map(|(_, v)| *v) != expected {
            return Ok(None);
        }
        s.0 += 1;
        let version = s.0;
        s.1.insert(key.to_string(), (value.to_vec(), version));
        Ok(Some(version))
    }
}

/// A secret vault in memory.
#[derive(Default)]
pub struct MemVault {
    secrets: RefCell<HashMap<String, String>>,
}

impl Vault for MemVault {
    fn put(&self, name: &str, value: &str) -> Result<(), String> {
        self.secrets
            .borrow_mut()
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.secrets.borrow().get(name).cloned())
    }

    fn forget(&self, name: &str) -> Result<(), String> {
        self.secrets.borrow_mut().remove(name);
        Ok(())
    }
}

/// Most requests one fuzz input may cause. A bounded set of ADO answers must never make the
/// plugin send requests without end; passing this is reported as a finding (a panic). The bound
/// is what the design allows: past WIQL's row cap, a sync reads each mapped type in id windows of
/// 19,000 up to its highest id, and ids are 32-bit (4 types × 113,025 windows, and some slack).
pub const MAX_REQUESTS: u32 = 500_000;

/// How the HTTP double answers.
pub enum Answers {
    /// The answers in turn, starting again after the last (none: every request fails to connect).
    Script(Vec<HttpResponse>),
    /// A small fixed ADO: `GET …/workitems/{id}` answers a User Story, anything else 404.
    FixedAdo,
}

/// The HTTP double.
pub struct FakeHttp {
    answers: Answers,
    sent: Cell<u32>,
}

impl FakeHttp {
    /// A double answering as told.
    pub fn new(answers: Answers) -> Self {
        FakeHttp {
            answers,
            sent: Cell::new(0),
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u32 {
        self.sent.get()
    }
}

/// A JSON response.
pub fn json_response(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The work item the fixed ADO holds under `id`.
pub fn fixed_work_item(id: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "rev": 9,
        "fields": {
            "System.WorkItemType": "User Story",
            "System.State": "Active",
            "System.Title": format!("read from ADO {id}"),
            "System.TeamProject": "Fuzz",
            "System.IterationPath": "Fuzz\\Sprint 1",
            "System.ChangedDate": "2026-02-03T04:05:06.789Z"
        },
        "relations": [
            {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "https://dev.azure.com/fuzz/_apis/wit/workItems/1"}
        ]
    })
}

impl Http for FakeHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let n = self.sent.get();
        assert!(
            n < MAX_REQUESTS,
            "runaway: more than {MAX_REQUESTS} requests for one input (last {} {})",
            request.method,
            request.url
        );
        self.sent.set(n + 1);
        match &self.answers {
            Answers::Script(list) if list.is_empty() => {
                Err(TransportError::unreachable("connection refused"))
            }
            Answers::Script(list) => Ok(list[n as usize % list.len()].clone()),
            Answers::FixedAdo => {
                let path = request.url.split('?').next().unwrap_or_default();
                let id = path
                    .rsplit_once("/_apis/wit/workitems/")
                    .and_then(|(_, id)| id.parse::<i64>().ok());
                Ok(match (request.method, id) {
                    ("GET", Some(id)) => json_response(200, &fixed_work_item(id)),
                    _ => json_response(404, &serde_json::json!({"message": "not in the fake"})),
                })
            }
        }
    }

    fn sleep_ms(&self, _millis: u64) {}

    fn now_rfc3339(&self) -> String {
        "2026-03-01T00:00:00Z".into()
    }

    fn random_hex(&self, bytes: usize) -> String {
        "ab".repeat(bytes)
    }
}
