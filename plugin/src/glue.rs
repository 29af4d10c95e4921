//! WIT glue, compiled only for the component: each export calls the engine, and the imports
//! (storage, secrets, `wasi:http` through wstd) are wrapped as the engine's ports.

use crate::api::bindings::ado_sync::plugin::{secrets, storage};
use crate::api::bindings::exports::ado_sync::plugin::{configure, map_item, on_webhook, sync_once};
use crate::api::{
    AdoPatch, ConnectionInfo, ConnectionTarget, HealOutcome, HistoryEntry, HostItem, ItemRef,
    Mapping, ProjectDiscovery, ProjectIntegration, ProvisionOutcome, SyncError, SyncOutcome,
    SyncRequest, WebhookOutcome, WebhookRequest, WebhookStatus, WorkspaceSchema,
};
use crate::engine::Engine;
use crate::ports::{Http, HttpRequest, HttpResponse, Kv, KvError, TransportError, Vault};
use wstd::http::{Body, Client, Method, Request};

struct Component;

/// How long to wait for a connection to ADO.
const CONNECT_TIMEOUT_SECS: u64 = 30;
/// How long to wait for ADO's answer to start, and between parts of it (ADO itself gives up on
/// a request after about 100 s). A host may cap both lower.
const ANSWER_TIMEOUT_SECS: u64 = 120;

/// `wasi:http/outgoing-handler` through wstd.
struct WasiHttp;

/// Tell a TLS failure from an unreachable host by the `wasi:http` error code the host gave.
fn transport_error(e: &wstd::http::Error) -> TransportError {
    use wstd::http::error::ErrorCode;
    match e.downcast_ref::<ErrorCode>() {
        Some(
            code @ (ErrorCode::TlsProtocolError
            | ErrorCode::TlsCertificateError
            | ErrorCode::TlsAlertReceived(_)),
        ) => TransportError::tls(format!("{code:?}")),
        Some(code @ ErrorCode::HttpRequestDenied) => TransportError::denied(format!("{code:?}")),
        _ => TransportError::unreachable(format!("{e}")),
    }
}

async fn send_async(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|e| TransportError::unreachable(e.to_string()))?;
    let mut builder = Request::builder().method(method).uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let body = if request.body.is_empty() {
        Body::empty()
    } else {
        Body::from(request.body)
    };
    let req = builder
        .body(body)
        .map_err(|e| TransportError::unreachable(format!("invalid request: {e}")))?;
    let mut client = Client::new();
    client.set_connect_timeout(wstd::time::Duration::from_secs(CONNECT_TIMEOUT_SECS));
    client.set_first_byte_timeout(wstd::time::Duration::from_secs(ANSWER_TIMEOUT_SECS));
    client.set_between_bytes_timeout(wstd::time::Duration::from_secs(ANSWER_TIMEOUT_SECS));
    let response = client.send(req).await.map_err(|e| transport_error(&e))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = response.into_body();
    let bytes = body
        .contents()
        .await
        .map_err(|e| TransportError::unreachable(format!("reading the response body: {e}")))?
        .to_vec();
    Ok(HttpResponse {
        status,
        headers,
        body: bytes,
    })
}

impl Http for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        wstd::runtime::block_on(send_async(request.clone()))
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        let owned: Vec<HttpRequest> = requests.to_vec();
        wstd::runtime::block_on(async move {
            let tasks: Vec<_> = owned
                .into_iter()
                .map(|r| wstd::runtime::spawn(send_async(r)))
                .collect();
            let mut out = Vec::with_capacity(tasks.len());
            for task in tasks {
                out.push(task.await);
            }
            out
        })
    }

    fn sleep_ms(&self, millis: u64) {
        // The sleep future must be created inside the runtime (it registers with the reactor).
        wstd::runtime::block_on(async move {
            wstd::task::sleep(wstd::time::Duration::from_millis(millis)).await
        });
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        wstd::rand::get_random_bytes(&mut buf);
        buf.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn now_rfc3339(&self) -> String {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

/// The `storage` import.
struct HostKv;

fn kv_err(e: storage::StorageError) -> KvError {
    KvError(match e {
        storage::StorageError::Unavailable(m) => format!("unavailable: {m}"),
        storage::StorageError::TooLarge(m) => format!("too large: {m}"),
    })
}

impl Kv for HostKv {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        storage::get(key)
            .map(|e| e.map(|e| (e.value, e.version)))
            .map_err(kv_err)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<u64, KvError> {
        storage::set(key, value).map_err(kv_err)
    }
    fn delete(&self, key: &str) -> Result<(), KvError> {
        storage::delete(key).map_err(kv_err)
    }
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        storage::list_keys(prefix).map_err(kv_err)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>, KvError> {
        storage::compare_and_swap(key, expected, value).map_err(kv_err)
    }
}

/// The `secrets` import.
struct HostVault;

impl Vault for HostVault {
    fn put(&self, name: &str, value: &str) -> Result<(), String> {
        secrets::put(name, value)
    }
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        secrets::get(name)
    }
    fn forget(&self, name: &str) -> Result<(), String> {
        secrets::forget(name)
    }
}

fn engine<T>(f: impl FnOnce(&Engine) -> T) -> T {
    f(&Engine::new(&WasiHttp, &HostKv, &HostVault))
}

impl configure::Guest for Component {
    fn set_workspace_schema(schema: WorkspaceSchema) -> Result<(), SyncError> {
        engine(|e| e.set_workspace_schema(&schema))
    }
    fn connect(name: String, target: ConnectionTarget) -> Result<ConnectionInfo, SyncError> {
        engine(|e| e.connect(&name, &target))
    }
    fn update_connection(
        id: String,
        target: ConnectionTarget,
    ) -> Result<ConnectionInfo, SyncError> {
        engine(|e| e.update_connection(&id, &target))
    }
    fn rename_connection(id: String, name: String) -> Result<ConnectionInfo, SyncError> {
        engine(|e| e.rename_connection(&id, &name))
    }
    fn disconnect(id: String) -> Result<(), SyncError> {
        engine(|e| e.disconnect(&id))
    }
    fn list_connections() -> Result<Vec<ConnectionInfo>, SyncError> {
        engine(|e| e.list_connections())
    }
    fn add_project(
        connection: String,
        name: String,
        project: String,
    ) -> Result<ProjectIntegration, SyncError> {
        engine(|e| e.add_project(&connection, &name, &project))
    }
    fn remove_project(id: String) -> Result<(), SyncError> {
        engine(|e| e.remove_project(&id))
    }
    fn list_projects() -> Result<Vec<ProjectIntegration>, SyncError> {
        engine(|e| e.list_projects())
    }
    fn discover(id: String) -> Result<ProjectDiscovery, SyncError> {
        engine(|e| e.discover(&id))
    }
    fn propose_mapping(id: String, epic_is_product_level: bool) -> Result<Mapping, SyncError> {
        engine(|e| e.propose_mapping(&id, epic_is_product_level))
    }
    fn set_mapping(id: String, mapping: Mapping) -> Result<(), SyncError> {
        engine(|e| e.set_mapping(&id, &mapping))
    }
    fn get_mapping(id: String) -> Result<Mapping, SyncError> {
        engine(|e| e.get_mapping(&id))
    }
}

impl on_webhook::Guest for Component {
    fn handle(request: WebhookRequest) -> Result<WebhookOutcome, SyncError> {
        engine(|e| e.handle_webhook(&request))
    }
    fn handle_batch(requests: Vec<WebhookRequest>) -> Vec<Result<WebhookOutcome, SyncError>> {
        engine(|e| e.handle_webhooks(&requests))
    }
    fn webhook_path() -> Result<String, SyncError> {
        engine(|e| e.webhook_path())
    }
    fn status(connection: String) -> Result<WebhookStatus, SyncError> {
        engine(|e| e.webhook_status(&connection))
    }
    fn provision(
        connection: String,
        public_base_url: String,
    ) -> Result<ProvisionOutcome, SyncError> {
        engine(|e| e.provision(&connection, &public_base_url))
    }
    fn heal(connection: String) -> Result<HealOutcome, SyncError> {
        engine(|e| e.heal(&connection))
    }
}

impl sync_once::Guest for Component {
    fn run(request: SyncRequest) -> Result<SyncOutcome, SyncError> {
        engine(|e| e.sync_once(&request))
    }
    fn history(integration: String, item: ItemRef) -> Result<Vec<HistoryEntry>, SyncError> {
        engine(|e| e.history(&integration, &item))
    }
}

impl map_item::Guest for Component {
    fn to_ado(integration: String, item: HostItem) -> Result<AdoPatch, SyncError> {
        engine(|e| e.map_to_ado(&integration, &item))
    }
    fn to_host(integration: String, work_item_json: String) -> Result<HostItem, SyncError> {
        engine(|e| e.map_to_host(&integration, &work_item_json))
    }
}

crate::api::bindings::export!(Component with_types_in crate::api::bindings);
