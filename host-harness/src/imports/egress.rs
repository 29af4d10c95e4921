//! The one choke point every guest HTTP request passes: deny by default, allow only the origins
//! of configured ADO connections, optionally redirect an origin (tests: to the simulated ADO).
//! Allowed requests go out through one pooled client per host, so keep-alive connections (and
//! their TLS sessions) to ADO are reused across requests and calls.

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// `scheme://host[:port]`, lower-case.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{host}{port}", parsed.scheme()))
}

/// Which origins the guest may reach, and where some of them really go.
#[derive(Debug, Default, Clone)]
pub struct EgressPolicy {
    allowed: Vec<String>,
    redirects: Vec<(String, String)>,
    timeout_cap: Option<Duration>,
}

impl EgressPolicy {
    /// Allow the origin of `url`.
    pub fn allow(&mut self, url: &str) {
        if let Some(o) = origin_of(url) {
            if !self.allowed.contains(&o) {
                self.allowed.push(o);
            }
        }
    }

    /// Send requests for the origin of `from` to the origin of `to` instead (path kept).
    pub fn redirect(&mut self, from: &str, to: &str) {
        if let (Some(f), Some(t)) = (origin_of(from), origin_of(to)) {
            self.redirects.retain(|(x, _)| x != &f);
            self.redirects.push((f, t));
        }
    }

    /// Cap every timeout the guest sets (connect, first byte, between bytes) at `cap`, and use
    /// it where the guest sets none.
    pub fn cap_timeouts(&mut self, cap: Duration) {
        self.timeout_cap = Some(cap);
    }

    fn options(&self, guest: Option<RequestOptions>) -> Option<RequestOptions> {
        let Some(cap) = self.timeout_cap else {
            return guest;
        };
        let capped = |t: Option<Duration>| Some(t.map_or(cap, |t| t.min(cap)));
        let o = guest.unwrap_or_default();
        Some(RequestOptions {
            connect_timeout: capped(o.connect_timeout),
            first_byte_timeout: capped(o.first_byte_timeout),
            between_bytes_timeout: capped(o.between_bytes_timeout),
        })
    }

    /// Forget every allowed origin (redirects stay).
    pub fn clear_allowed(&mut self) {
        self.allowed.clear();
    }

    /// Whether the origin of `url` is allowed.
    pub fn allows(&self, url: &str) -> bool {
        origin_of(url).is_some_and(|o| self.allowed.contains(&o))
    }

    fn target(&self, origin: &str) -> Option<&str> {
        self.redirects
            .iter()
            .find(|(f, _)| f == origin)
            .map(|(_, t)| t.as_str())
    }
}

/// One request the guest attempted (no headers, so no credentials).
#[derive(Debug, Clone, PartialEq)]
pub struct EgressRecord {
    /// Method.
    pub method: String,
    /// The URL the guest asked for.
    pub url: String,
    /// Whether it was allowed.
    pub allowed: bool,
}

/// Timeouts the host applies when the guest sets none (it sets none today); a stalled ADO must
/// surface as a typed transport error, not hang the call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(120);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an idle keep-alive connection is kept for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The pooled HTTP/HTTPS client every store of one host shares (cheap to clone).
#[derive(Clone)]
pub struct EgressClient {
    client: Arc<Client<HttpsConnector<HttpConnector>, WasiBody>>,
}

impl Default for EgressClient {
    fn default() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(https);
        EgressClient {
            client: Arc::new(client),
        }
    }
}

impl EgressClient {
    async fn send(
        self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let connect = options
            .and_then(|o| o.connect_timeout)
            .unwrap_or(CONNECT_TIMEOUT);
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(FIRST_BYTE_TIMEOUT);
        let between_bytes = options
            .and_then(|o| o.between_bytes_timeout)
            .unwrap_or(BETWEEN_BYTES_TIMEOUT)
            .max(Duration::from_millis(1));
        let response = tokio::time::timeout(connect + first_byte, self.client.request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(|e| transport_error(&e))?;
        Ok(response.map(|body| {
            TimedBody {
                inner: body,
                limit: between_bytes,
                timer: Box::pin(tokio::time::sleep(between_bytes)),
            }
            .boxed_unsync()
        }))
    }
}

/// The `wasi:http` error code for a failed request, so the guest can tell an unreachable host
/// from a TLS failure or a dropped connection.
fn transport_error(e: &hyper_util::client::legacy::Error) -> HttpError {
    let chain = error_chain(e);
    if let Some(tls) = chain.iter().find_map(|c| c.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::InvalidCertificate(_) => HttpError::TlsCertificateError,
            rustls::Error::AlertReceived(alert) => HttpError::TlsAlertReceived {
                alert_id: None,
                alert_message: Some(format!("{alert:?}")),
            },
            _ => HttpError::TlsProtocolError,
        };
    }
    for cause in &chain {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return HttpError::ConnectionRefused,
                std::io::ErrorKind::TimedOut => return HttpError::ConnectionTimeout,
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                    return HttpError::ConnectionTerminated
                }
                _ => {}
            }
        }
        if let Some(h) = cause.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return HttpError::ConnectionTerminated;
            }
            if h.is_parse() {
                return HttpError::HttpProtocolError;
            }
        }
    }
    if e.is_connect() {
        HttpError::DestinationUnavailable
    } else {
        HttpError::HttpProtocolError
    }
}

/// `e` and its causes. `io::Error::source` skips the error it wraps, so wrapped errors are
/// walked through `get_ref` (rustls' errors arrive wrapped twice).
fn error_chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = Some(e);
    while let Some(cause) = next {
        chain.push(cause);
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => cause.source(),
            },
            None => cause.source(),
        };
    }
    chain
}

/// A response body that fails with a read timeout when no frame arrives for `limit`.
struct TimedBody {
    inner: hyper::body::Incoming,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + self.limit;
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::ConnectionTerminated
            }))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The `WasiHttpHooks` of one store.
pub struct EgressHooks {
    policy: Arc<RwLock<EgressPolicy>>,
    log: Arc<Mutex<Vec<EgressRecord>>>,
    client: EgressClient,
}

impl EgressHooks {
    /// Hooks enforcing `policy`, recording attempts in `log`, sending through `client`.
    pub fn new(
        policy: Arc<RwLock<EgressPolicy>>,
        log: Arc<Mutex<Vec<EgressRecord>>>,
        client: EgressClient,
    ) -> Self {
        EgressHooks {
            policy,
            log,
            client,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

fn empty_body() -> WasiBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Consume a guest body in the background so the guest's writes complete instead of failing
/// with "connection reset".
fn drain(body: WasiBody) {
    tokio::spawn(async move {
        let _ = body.collect().await;
    });
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>
    {
        let url = request.uri().to_string();
        let method = request.method().to_string();
        let policy = self.policy.read().map(|p| p.clone()).unwrap_or_default();
        let allowed = policy.allows(&url);
        if let Ok(mut log) = self.log.lock() {
            log.push(EgressRecord {
                method: method.clone(),
                url: url.clone(),
                allowed,
            });
        }
        let (mut parts, body) = request.into_parts();
        if !allowed {
            tracing::warn!(%method, origin = origin_of(&url).unwrap_or_default(), "guest egress denied");
            drain(body);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let redirected = origin_of(&url).and_then(|o| policy.target(&o).map(str::to_string));
        if let Some(target) = redirected.clone() {
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            match format!("{target}{path}").parse() {
                Ok(uri) => parts.uri = uri,
                Err(_) => {
                    drain(body);
                    return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
                }
            }
        }
        let body = if matches!(
            parts.method,
            http::Method::GET | http::Method::HEAD | http::Method::DELETE
        ) {
            drain(body);
            empty_body()
        } else {
            body
        };
        tracing::debug!(%method, url = %parts.uri, "guest egress");
        let request = http::Request::from_parts(parts, body);
        let client = self.client.clone();
        let options = policy.options(options);
        Box::new(async move {
            let response = client.send(request, options).await?;
            // The simulator's connection-reset fault (see `ado_sim::DROP_CONNECTION_HEADER`).
            if redirected.is_some()
                && response
                    .headers()
                    .contains_key(crate::ado_sim::DROP_CONNECTION_HEADER)
            {
                return Err(HttpError::ConnectionTerminated);
            }
            // The pool drives the connection; nothing is left for the caller to await.
            Ok((response, Box::new(async { Ok(()) }) as IoFuture))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_error_wrapped_twice_in_io_errors_is_found() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer = std::io::Error::other(inner);
        let chain = error_chain(&outer);
        assert_eq!(chain.len(), 3);
        assert!(matches!(
            chain[2].downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ));
    }

    #[test]
    fn policy_allows_only_configured_origins() {
        let mut p = EgressPolicy::default();
        p.allow("https://dev.azure.com/contoso");
        assert!(p.allows("https://dev.azure.com/other/_apis/projects"));
        assert!(p.allows("https://DEV.azure.com/contoso"));
        assert!(!p.allows("https://evil.example/contoso"));
        assert!(!p.allows("http://dev.azure.com/contoso"));
        assert!(!p.allows("not a url"));
        p.redirect("https://dev.azure.com", "http://127.0.0.1:9999");
        assert_eq!(
            p.target("https://dev.azure.com"),
            Some("http://127.0.0.1:9999")
        );
    }
}
