//! Sending requests to ADO with the right headers, retrying what ADO asks us to retry, and
//! turning every other answer into a typed error.

use crate::ado::errors::{classify, exhausted, Verdict};
use crate::api::{Result, SyncError};
use crate::ports::{Http, HttpRequest, HttpResponse, TransportError, TransportFailure};
use serde_json::Value;
use std::cell::Cell;

/// The api-version sent with every request.
pub const API_VERSION: &str = "7.1";
/// Retries of a throttled (429) request before giving up with `rate-limited`.
const MAX_THROTTLE_RETRIES: u32 = 5;
/// Longest single wait we accept from `Retry-After` before handing the wait to the host instead.
const MAX_WAIT_MS: u64 = 30_000;
/// Retries of a 5xx answer, with doubling backoff from `FIRST_BACKOFF_MS`.
const MAX_SERVER_RETRIES: u32 = 3;
const FIRST_BACKOFF_MS: u64 = 200;
/// Retries of a read that got no answer (timeout, connection dropped), with the same backoff.
/// Writes are never resent blindly: a create may have happened (the marker reconciles it on the
/// next run) and an update is re-read and re-decided by the engine.
const MAX_TRANSPORT_RETRIES: u32 = 3;

/// Whether sending `request` twice is harmless: GETs, WIQL queries and batch reads.
fn is_read(request: &HttpRequest) -> bool {
    let path = request.url.split('?').next().unwrap_or_default();
    request.method == "GET"
        || request.method == "POST"
            && (path.ends_with("/_apis/wit/wiql") || path.ends_with("/_apis/wit/workitemsbatch"))
}

/// Percent-encode one path segment (project and type names may hold spaces).
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A client bound to one organisation or collection and one set of credentials.
pub struct AdoClient<'a> {
    http: &'a dyn Http,
    base_url: String,
    authorization: String,
    sent: Cell<u32>,
}

impl<'a> AdoClient<'a> {
    /// A client for `base_url` sending `authorization` (see [`crate::ado::auth::basic_header`]).
    pub fn new(http: &'a dyn Http, base_url: &str, authorization: String) -> Self {
        AdoClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            authorization,
            sent: Cell::new(0),
        }
    }

    /// The organisation or collection URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests_sent(&self) -> u32 {
        self.sent.get()
    }

    /// Build a request for `path` (relative to the base URL, may carry a query).
    pub fn request(
        &self,
        method: &'static str,
        path: &str,
        body: Option<(&str, &Value)>,
    ) -> HttpRequest {
        let sep = if path.contains('?') { '&' } else { '?' };
        let version = if path.contains("api-version=") {
            String::new()
        } else {
            format!("{sep}api-version={API_VERSION}")
        };
        let mut headers = vec![
            ("authorization".to_string(), self.authorization.clone()),
            ("accept".to_string(), "application/json".to_string()),
        ];
        let body = match body {
            Some((content_type, value)) => {
                headers.push(("content-type".to_string(), content_type.to_string()));
                serde_json::to_vec(value).unwrap_or_default()
            }
            None => Vec::new(),
        };
        HttpRequest {
            method,
            url: format!(
                "{}/{}{version}",
                self.base_url,
                path.trim_start_matches('/')
            ),
            headers,
            body,
        }
    }

    /// Send a request, retrying throttling and server errors, and return its JSON body.
    pub fn send(&self, request: &HttpRequest) -> Result<Option<Value>> {
        let mut throttled = 0;
        let mut server_errors = 0;
        let mut unanswered = 0;
        loop {
            let response = match self.send_once(request) {
                Ok(r) => r,
                Err(e)
                    if e.failure == TransportFailure::Unreachable
                        && is_read(request)
                        && unanswered < MAX_TRANSPORT_RETRIES =>
                {
                    unanswered += 1;
                    self.http.sleep_ms(FIRST_BACKOFF_MS << (unanswered - 1));
                    continue;
                }
                Err(e) => return Err(transport(e)),
            };
            match self.judge(&response, &mut throttled, &mut server_errors) {
                Step::Done(result) => return result,
                Step::Wait(ms) => self.http.sleep_ms(ms),
            }
        }
    }

    /// Send several independent requests concurrently (where the host allows), each with the same
    /// retry rules; results keep the order.
    pub fn send_many(&self, requests: &[HttpRequest]) -> Vec<Result<Option<Value>>> {
        let first = self.http.send_all(requests);
        self.sent.set(self.sent.get() + requests.len() as u32);
        first
            .into_iter()
            .zip(requests)
            .map(|(answer, request)| {
                let response = match answer {
                    Ok(r) => r,
                    Err(e)
                        if is_read(request)
                            && matches!(e.failure, TransportFailure::Unreachable) =>
                    {
                        self.http.sleep_ms(FIRST_BACKOFF_MS);
                        return self.send(request);
                    }
                    Err(e) => return Err(transport(e)),
                };
                let (mut throttled, mut server_errors) = (0, 0);
                match self.judge(&response, &mut throttled, &mut server_errors) {
                    Step::Done(result) => result,
                    Step::Wait(ms) => {
                        self.http.sleep_ms(ms);
                        self.send(request)
                    }
                }
            })
            .collect()
    }

    /// `GET` a path.
    pub fn get(&self, path: &str) -> Result<Value> {
        self.send(&self.request("GET", path, None))
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// `POST` JSON to a path.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(&self.request("POST", path, Some(("application/json", body))))
            .map(|v| v.unwrap_or(Value::Null))
    }

    fn send_once(
        &self,
        request: &HttpRequest,
    ) -> std::result::Result<HttpResponse, TransportError> {
        self.sent.set(self.sent.get() + 1);
        self.http.send(request)
    }

    fn judge(&self, response: &HttpResponse, throttled: &mut u32, server_errors: &mut u32) -> Step {
        match classify(response) {
            Verdict::Ok(body) => Step::Done(Ok(body)),
            Verdict::Fail(e) => Step::Done(Err(e)),
            Verdict::RetryAfter(ms) => {
                *throttled += 1;
                if *throttled > MAX_THROTTLE_RETRIES || ms > MAX_WAIT_MS {
                    Step::Done(Err(exhausted(response)))
                } else {
                    Step::Wait(ms)
                }
            }
            Verdict::RetryServer => {
                *server_errors += 1;
                if *server_errors > MAX_SERVER_RETRIES {
                    Step::Done(Err(exhausted(response)))
                } else {
                    Step::Wait(FIRST_BACKOFF_MS << (*server_errors - 1))
                }
            }
        }
    }
}

enum Step {
    Done(Result<Option<Value>>),
    Wait(u64),
}

/// The typed error for a request that got no HTTP answer.
fn transport(e: TransportError) -> SyncError {
    match e.failure {
        TransportFailure::Tls => SyncError::TlsFailed(e.message),
        TransportFailure::Unreachable | TransportFailure::Denied => {
            SyncError::Unreachable(e.message)
        }
    }
}
