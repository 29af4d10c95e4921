//! The one choke point every guest HTTP request passes: deny by default, allow only the origins
//! of configured ADO connections, optionally redirect an origin (tests: to the simulated ADO).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
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

/// The `WasiHttpHooks` of one store.
pub struct EgressHooks {
    policy: Arc<RwLock<EgressPolicy>>,
    log: Arc<Mutex<Vec<EgressRecord>>>,
}

impl EgressHooks {
    /// Hooks enforcing `policy`, recording attempts in `log`.
    pub fn new(policy: Arc<RwLock<EgressPolicy>>, log: Arc<Mutex<Vec<EgressRecord>>>) -> Self {
        EgressHooks { policy, log }
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
        if let Some(target) = origin_of(&url).and_then(|o| policy.target(&o).map(str::to_string)) {
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
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
