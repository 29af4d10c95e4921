//! A native driver of the same core (feature `native`, never built for wasm32): the engine's
//! ports implemented with a small blocking HTTP client (`ureq`) and in-memory storage and vault.
//!
//! It exists so benchmarks can run the engine compiled natively against the same simulated ADO
//! the component talks to, and compare. It is not a product host: there is no egress policy
//! beyond an optional origin rewrite, and storage does not survive the process.
//!
//! ```no_run
//! use ado_sync_plugin::engine::Engine;
//! use ado_sync_plugin::native::{MemoryKv, MemoryVault, NativeHttp};
//! let http = NativeHttp::new().redirect("https://dev.azure.com", "http://127.0.0.1:8080");
//! let (kv, vault) = (MemoryKv::new(), MemoryVault::new());
//! let engine = Engine::new(&http, &kv, &vault);
//! # let _ = engine;
//! ```

use crate::ports::{Http, HttpRequest, HttpResponse, Kv, KvError, TransportError, Vault};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Largest response body read (ADO batch reads of 200 items stay far below).
const MAX_BODY_BYTES: u64 = 64 << 20;

/// Blocking HTTP over `ureq`, with a pooled agent; `send_all` runs one thread per request.
#[derive(Clone)]
pub struct NativeHttp {
    agent: ureq::Agent,
    redirects: Vec<(String, String)>,
}

impl Default for NativeHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeHttp {
    /// A client with 30 s connect and 120 s read timeouts; HTTP redirects are not followed
    /// (the engine sees ADO's answers as they are).
    pub fn new() -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(120))
            .redirects(0)
            .max_idle_connections_per_host(16)
            .build();
        NativeHttp {
            agent,
            redirects: Vec::new(),
        }
    }

    /// Send requests for URLs starting with `from` to `to` instead (benchmarks point ADO's
    /// origin at the simulator, as the wasm host's egress policy does).
    pub fn redirect(mut self, from: &str, to: &str) -> Self {
        self.redirects.push((
            from.trim_end_matches('/').to_string(),
            to.trim_end_matches('/').to_string(),
        ));
        self
    }

    fn target(&self, url: &str) -> String {
        for (from, to) in &self.redirects {
            if let Some(rest) = url.strip_prefix(from.as_str()) {
                if rest.is_empty() || rest.starts_with(['/', '?']) {
                    return format!("{to}{rest}");
                }
            }
        }
        url.to_string()
    }
}

fn into_response(response: ureq::Response) -> Result<HttpResponse, TransportError> {
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|name| {
            let value = response.header(&name)?.to_string();
            Some((name.to_ascii_lowercase(), value))
        })
        .collect();
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_BODY_BYTES)
        .read_to_end(&mut body)
        .map_err(|e| TransportError::unreachable(format!("reading the response body: {e}")))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

impl Http for NativeHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut call = self
            .agent
            .request(request.method, &self.target(&request.url));
        for (name, value) in &request.headers {
            call = call.set(name, value);
        }
        let answer = if request.body.is_empty() {
            call.call()
        } else {
            call.send_bytes(&request.body)
        };
        match answer {
            Ok(response) | Err(ureq::Error::Status(_, response)) => into_response(response),
            Err(ureq::Error::Transport(t)) => Err(TransportError::unreachable(t.to_string())),
        }
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        if requests.len() < 2 {
            return requests.iter().map(|r| self.send(r)).collect();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = requests
                .iter()
                .map(|r| scope.spawn(move || self.send(r)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(TransportError::unreachable(
                            "request thread panicked".to_string(),
                        ))
                    })
                })
                .collect()
        })
    }

    fn sleep_ms(&self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }

    fn now_rfc3339(&self) -> String {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
        if from_os.is_err() {
            // No /dev/urandom (not Linux/Unix): std's per-process random hash keys.
            use std::hash::{BuildHasher, Hasher};
            for (i, chunk) in buf.chunks_mut(8).enumerate() {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_usize(i);
                let word = h.finish().to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
        buf.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last version handed out, and every key's value and version.
type KvState = (u64, BTreeMap<String, (Vec<u8>, u64)>);

/// In-memory versioned key-value storage. Versions come from one counter, so a key deleted and
/// written again never reuses a version (compare-and-swap has no ABA).
#[derive(Default)]
pub struct MemoryKv {
    inner: Mutex<KvState>,
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        lock(&self.inner).1.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Kv for MemoryKv {
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, u64)>, KvError> {
        Ok(lock(&self.inner).1.get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<u64, KvError> {
        let mut g = lock(&self.inner);
        g.0 += 1;
        let version = g.0;
        g.1.insert(key.to_string(), (value.to_vec(), version));
        Ok(version)
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        lock(&self.inner).1.remove(key);
        Ok(())
    }

    fn list_keys(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        Ok(lock(&self.inner)
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
        let mut g = lock(&self.inner);
        if g.1.get(key).map(|(_, v)| *v) != expected {
            return Ok(None);
        }
        g.0 += 1;
        let version = g.0;
        g.1.insert(key.to_string(), (value.to_vec(), version));
        Ok(Some(version))
    }
}

/// In-memory secret vault.
#[derive(Default)]
pub struct MemoryVault {
    secrets: Mutex<HashMap<String, String>>,
}

impl MemoryVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Vault for MemoryVault {
    fn put(&self, name: &str, value: &str) -> Result<(), String> {
        lock(&self.secrets).insert(name.to_string(), value.to_string());
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(lock(&self.secrets).get(name).cloned())
    }

    fn forget(&self, name: &str) -> Result<(), String> {
        lock(&self.secrets).remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_versions_never_repeat_and_cas_checks_them() {
        let kv = MemoryKv::new();
        let v1 = kv.set("a", b"1").expect("set");
        assert_eq!(kv.compare_and_swap("a", None, b"x").expect("cas"), None);
        let v2 = kv
            .compare_and_swap("a", Some(v1), b"2")
            .expect("cas")
            .expect("won");
        assert!(v2 > v1);
        kv.delete("a").expect("delete");
        let v3 = kv
            .compare_and_swap("a", None, b"3")
            .expect("cas")
            .expect("won");
        assert!(v3 > v2, "no ABA after delete");
        kv.set("ab", b"").expect("set");
        kv.set("b", b"").expect("set");
        assert_eq!(kv.list_keys("a").expect("list"), ["a", "ab"]);
        assert_eq!(kv.get("a").expect("get"), Some((b"3".to_vec(), v3)));
    }

    #[test]
    fn redirect_rewrites_only_the_origin_prefix() {
        let http = NativeHttp::new().redirect("https://dev.azure.com/contoso/", "http://sim:1");
        assert_eq!(
            http.target("https://dev.azure.com/contoso/_apis/x?y=1"),
            "http://sim:1/_apis/x?y=1"
        );
        assert_eq!(
            http.target("https://dev.azure.com/contosoX/_apis"),
            "https://dev.azure.com/contosoX/_apis"
        );
    }

    #[test]
    fn vault_round_trips_and_random_hex_has_the_length() {
        let vault = MemoryVault::new();
        vault.put("s", "v").expect("put");
        assert_eq!(vault.get("s").expect("get").as_deref(), Some("v"));
        vault.forget("s").expect("forget");
        assert_eq!(vault.get("s").expect("get"), None);
        let hex = NativeHttp::new().random_hex(16);
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
