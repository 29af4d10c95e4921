//! Classifying ADO's answers into typed errors. Pure, so every status is unit-tested.

use crate::api::{AdoFailure, RateLimit, SyncError};
use crate::ports::HttpResponse;
use serde_json::Value;

/// What to do with a response.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A JSON body (or none, for 204).
    Ok(Option<Value>),
    /// Wait this long, then send the same request again.
    RetryAfter(u64),
    /// A server error worth retrying with backoff.
    RetryServer,
    /// A final, typed failure.
    Fail(SyncError),
}

/// ADO's error message (`message` of its error body), without anything that could be a secret.
pub fn ado_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        });
    message.trim().to_string()
}

fn retry_after_ms(resp: &HttpResponse) -> u64 {
    let secs = |name: &str| resp.header(name).and_then(|v| v.trim().parse::<f64>().ok());
    let s = secs("retry-after")
        .or_else(|| secs("x-ratelimit-delay"))
        .unwrap_or(1.0);
    (s.max(0.0) * 1000.0) as u64
}

fn is_json(resp: &HttpResponse) -> bool {
    match resp.header("content-type") {
        Some(ct) => ct.to_ascii_lowercase().contains("json"),
        None => false,
    }
}

/// Classify a response.
pub fn classify(resp: &HttpResponse) -> Verdict {
    let status = resp.status;
    match status {
        203 => Verdict::Fail(SyncError::AuthFailed(
            "ADO answered with a sign-in page (HTTP 203): the token or password is wrong or has expired".into(),
        )),
        200..=299 => {
            if status == 204 || resp.body.is_empty() {
                return Verdict::Ok(None);
            }
            if !is_json(resp) {
                return Verdict::Fail(SyncError::AuthFailed(
                    "ADO answered with a non-JSON page instead of data: the credentials were not accepted".into(),
                ));
            }
            match serde_json::from_slice(&resp.body) {
                Ok(v) => Verdict::Ok(Some(v)),
                Err(e) => Verdict::Fail(SyncError::AdoError(AdoFailure {
                    status,
                    message: format!("ADO sent a malformed JSON body ({e})"),
                })),
            }
        }
        401 => Verdict::Fail(SyncError::AuthFailed(format!(
            "ADO rejected the credentials (HTTP 401): {}",
            ado_message(&resp.body)
        ))),
        403 => Verdict::Fail(SyncError::PermissionDenied(ado_message(&resp.body))),
        404 => Verdict::Fail(SyncError::NotFound(ado_message(&resp.body))),
        409 | 412 => Verdict::Fail(SyncError::Conflict(ado_message(&resp.body))),
        429 => Verdict::RetryAfter(retry_after_ms(resp)),
        500..=599 => Verdict::RetryServer,
        _ => Verdict::Fail(SyncError::AdoError(AdoFailure {
            status,
            message: ado_message(&resp.body),
        })),
    }
}

/// The final error once retries are used up.
pub fn exhausted(resp: &HttpResponse) -> SyncError {
    match resp.status {
        429 => SyncError::RateLimited(RateLimit {
            retry_after_ms: retry_after_ms(resp),
            message: ado_message(&resp.body),
        }),
        status => SyncError::AdoError(AdoFailure {
            status,
            message: ado_message(&resp.body),
        }),
    }
}

/// Whether an error says a WIQL query passed the 20,000-row cap.
pub fn is_wiql_cap(err: &SyncError) -> bool {
    matches!(err, SyncError::AdoError(f) if f.status == 400 && f.message.contains("VS402337"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_become_typed_errors() {
        assert!(matches!(
            classify(&resp(203, "text/html", "<html>")),
            Verdict::Fail(SyncError::AuthFailed(_))
        ));
        assert!(matches!(
            classify(&resp(200, "text/html", "<html>")),
            Verdict::Fail(SyncError::AuthFailed(_))
        ));
        assert!(matches!(
            classify(&resp(401, "application/json", "{}")),
            Verdict::Fail(SyncError::AuthFailed(_))
        ));
        assert!(matches!(
            classify(&resp(403, "application/json", "{}")),
            Verdict::Fail(SyncError::PermissionDenied(_))
        ));
        assert!(
            matches!(classify(&resp(404, "application/json", r#"{"message":"TF401232: gone"}"#)), Verdict::Fail(SyncError::NotFound(m)) if m.starts_with("TF401232"))
        );
        assert!(matches!(
            classify(&resp(412, "application/json", "{}")),
            Verdict::Fail(SyncError::Conflict(_))
        ));
        assert_eq!(
            classify(&resp(503, "application/json", "{}")),
            Verdict::RetryServer
        );
        assert!(matches!(
            classify(&resp(200, "application/json", "{\"a\"")),
            Verdict::Fail(SyncError::AdoError(_))
        ));
        assert_eq!(classify(&resp(204, "", "")), Verdict::Ok(None));
    }

    #[test]
    fn rate_limits_carry_the_wait() {
        let mut r = resp(429, "application/json", "{}");
        r.headers.push(("retry-after".into(), "3".into()));
        assert_eq!(classify(&r), Verdict::RetryAfter(3000));
        assert!(matches!(
            exhausted(&r),
            SyncError::RateLimited(RateLimit {
                retry_after_ms: 3000,
                ..
            })
        ));
    }
}
