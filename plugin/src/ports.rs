//! The capabilities the engine needs from its surroundings, as small traits. In the component
//! they are backed by the WIT imports (`glue`); in native tests by in-memory fakes.

/// An HTTP request to ADO.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs (Authorization included).
    pub headers: Vec<(String, String)>,
    /// Request body; empty for none.
    pub body: Vec<u8>,
}

/// An HTTP response from ADO.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers with lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The request never got an HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportError {
    /// Why, as far as the transport can tell.
    pub failure: TransportFailure,
    /// What the transport said.
    pub message: String,
}

/// The kinds of transport failure an admin fixes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// DNS, refused or reset connection, time-out: worth resending a read.
    Unreachable,
    /// The host's egress policy refused the request: resending cannot help.
    Denied,
    /// The TLS handshake failed: an untrusted, expired or mismatched certificate, or a protocol
    /// mismatch (common with on-prem servers behind a corporate CA).
    Tls,
}

impl TransportError {
    /// A host that could not be reached.
    pub fn unreachable(message: impl Into<String>) -> Self {
        TransportError {
            failure: TransportFailure::Unreachable,
            message: message.into(),
        }
    }

    /// A request the host's egress policy refused.
    pub fn denied(message: impl Into<String>) -> Self {
        TransportError {
            failure: TransportFailure::Denied,
            message: message.into(),
        }
    }

    /// A failed TLS handshake.
    pub fn tls(message: impl Into<String>) -> Self {
        TransportError {
            failure: TransportFailure::Tls,
            message: message.into(),
        }
    }
}

/// Outgoing HTTP (`wasi:http/outgoing-handler` in the component), plus the clock and entropy
/// WASI gives.
pub trait Http {
    /// Send one request.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Send several requests, concurrently where the implementation can. Results keep the order.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }

    /// Wait before a retry (ADO's `Retry-After`).
    fn sleep_ms(&self, millis: u64);

    /// Current time, RFC 3339 UTC.
    fn now_rfc3339(&self) -> String;

    /// `bytes` random bytes from the system's secure source, as lower-case hex.
    fn random_hex(&self, bytes: usize) -> String;
}

/// A storage failure reported by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct KvError(pub String);

/// The host's durable key-value storage (the `storage` import).
pub trait Kv {
    /// Read a key and its version.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError>;
    /// Write unconditionally; returns the new version.
    fn set(&self, key: &str, value: &[u8]) -> Result<u64, KvError>;
    /// Delete a key.
    fn delete(&self, key: &str) -> Result<(), KvError>;
    /// Keys with this prefix, ascending.
    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, KvError>;
    /// Write only if the version matches (`None`: only if absent). `Ok(None)` when another writer won.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
    ) -> Result<Option<u64>, KvError>;
}

/// The host's secret vault (the `secrets` import).
pub trait Vault {
    /// Store a secret.
    fn put(&self, name: &str, value: &str) -> Result<(), String>;
    /// Read a secret.
    fn get(&self, name: &str) -> Result<Option<String>, String>;
    /// Forget a secret.
    fn forget(&self, name: &str) -> Result<(), String>;
}
