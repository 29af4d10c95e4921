//! Fault injection: throttling, server errors, delays, malformed bodies, sign-in pages and
//! stale-revision failures, each for a limited number of matching requests.

use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FaultKind {
    RateLimit {
        retry_after_secs: u32,
    },
    ServerError {
        status: u16,
    },
    Delay {
        millis: u64,
    },
    Malformed,
    SignIn,
    /// The request is processed, then the connection drops mid-answer.
    Reset,
    /// The request is processed; every third entry of the answer's `value` list comes back
    /// `null` (what `errorPolicy: omit` gives for items that could not be read).
    PartialList,
}

#[derive(Debug, Clone)]
struct Fault {
    kind: FaultKind,
    path_contains: String,
    remaining: usize,
    /// Matching requests to let through before the fault starts.
    skip: usize,
}

#[derive(Debug, Default)]
struct Inner {
    faults: Vec<Fault>,
    stale_rev: Vec<(usize, u16)>,
}

/// Cheap clone handle onto the sim's fault table. Each injected fault applies to the next
/// `times` requests whose path contains `path_contains` (empty = any request).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

/// What the router must do for one request.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Taken {
    pub delay_millis: Option<u64>,
    pub fault: Option<FaultKind>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, kind: FaultKind, path_contains: &str, times: usize) {
        if times == 0 {
            return;
        }
        self.lock().faults.push(Fault {
            kind,
            path_contains: path_contains.to_string(),
            remaining: times,
            skip: 0,
        });
    }

    /// The fault added last starts only after `skip` more requests matching it went through
    /// normally (to hit the middle of a run).
    pub fn defer_last(&self, skip: usize) {
        if let Some(f) = self.lock().faults.last_mut() {
            f.skip = skip;
        }
    }

    /// Requests still to be failed (pending stale-rev failures included); deferred faults
    /// count in full.
    pub fn remaining(&self) -> usize {
        let g = self.lock();
        g.faults.iter().map(|f| f.remaining).sum::<usize>()
            + g.stale_rev.iter().map(|(n, _)| n).sum::<usize>()
    }

    /// 429 with `Retry-After`, `X-RateLimit-*` headers and a TF400733 body.
    pub fn rate_limit(&self, path_contains: &str, times: usize, retry_after_secs: u32) {
        self.push(
            FaultKind::RateLimit { retry_after_secs },
            path_contains,
            times,
        );
    }

    /// `status` (500, 503, …) with an ADO error body.
    pub fn server_error(&self, path_contains: &str, times: usize, status: u16) {
        self.push(FaultKind::ServerError { status }, path_contains, times);
    }

    /// Answers normally, but only after `millis`.
    pub fn delay(&self, path_contains: &str, times: usize, millis: u64) {
        self.push(FaultKind::Delay { millis }, path_contains, times);
    }

    /// 200 with `application/json` content type and truncated JSON.
    pub fn malformed_body(&self, path_contains: &str, times: usize) {
        self.push(FaultKind::Malformed, path_contains, times);
    }

    /// 203 with an HTML sign-in page (what an expired PAT gets).
    pub fn sign_in_page(&self, path_contains: &str, times: usize) {
        self.push(FaultKind::SignIn, path_contains, times);
    }

    /// The request is processed (its writes happen), then the connection drops before the
    /// answer is complete: the client sees the connection closed mid-response.
    pub fn connection_reset(&self, path_contains: &str, times: usize) {
        self.push(FaultKind::Reset, path_contains, times);
    }

    /// The request is processed, but every third entry of the answer's `value` list is `null`
    /// (a batch read where some items could not be read).
    pub fn partial_list(&self, path_contains: &str, times: usize) {
        self.push(FaultKind::PartialList, path_contains, times);
    }

    /// The next `times` PATCHes that carry a `test /rev` op fail with `status` (412 or 400),
    /// even when the revision matches.
    pub fn stale_rev(&self, times: usize, status: u16) {
        if times > 0 {
            self.lock().stale_rev.push((times, status));
        }
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.faults.clear();
        g.stale_rev.clear();
    }

    /// Consumes at most one delay and one other fault matching `paths` (raw and decoded path);
    /// deferred faults that match count the request against their `skip` instead.
    pub(crate) fn take(&self, paths: &[&str]) -> Taken {
        let mut g = self.lock();
        let mut taken = Taken::default();
        let (mut delay, mut other) = (None, None);
        for (i, f) in g.faults.iter_mut().enumerate() {
            let matches = f.remaining > 0
                && (f.path_contains.is_empty()
                    || paths.iter().any(|p| p.contains(f.path_contains.as_str())));
            if !matches {
                continue;
            }
            if f.skip > 0 {
                f.skip -= 1;
                continue;
            }
            let slot = if matches!(f.kind, FaultKind::Delay { .. }) {
                &mut delay
            } else {
                &mut other
            };
            if slot.is_none() {
                *slot = Some(i);
            }
        }
        if let Some(i) = delay {
            g.faults[i].remaining -= 1;
            if let FaultKind::Delay { millis } = g.faults[i].kind {
                taken.delay_millis = Some(millis);
            }
        }
        if let Some(i) = other {
            g.faults[i].remaining -= 1;
            taken.fault = Some(g.faults[i].kind.clone());
        }
        g.faults.retain(|f| f.remaining > 0);
        taken
    }

    /// Consumes one pending stale-rev failure, returning its status.
    pub(crate) fn take_stale_rev(&self) -> Option<u16> {
        let mut g = self.lock();
        let first = g.stale_rev.first_mut()?;
        first.0 -= 1;
        let status = first.1;
        g.stale_rev.retain(|(n, _)| *n > 0);
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_per_matching_request() {
        let f = Faults::default();
        f.rate_limit("wiql", 2, 3);
        f.delay("", 1, 10);
        assert_eq!(f.take(&["/contoso/_apis/projects"]).fault, None);
        let t = f.take(&["/contoso/Fabrikam/_apis/wit/wiql"]);
        assert_eq!(
            t.fault,
            Some(FaultKind::RateLimit {
                retry_after_secs: 3
            })
        );
        assert_eq!(
            t.delay_millis, None,
            "the single delay went to the first request"
        );
        assert!(f.take(&["x/wiql"]).fault.is_some());
        assert!(f.take(&["x/wiql"]).fault.is_none());
    }

    #[test]
    fn a_deferred_fault_lets_matching_requests_through_first() {
        let f = Faults::default();
        f.server_error("workitems", 2, 503);
        f.defer_last(3);
        assert_eq!(f.remaining(), 2);
        for _ in 0..3 {
            assert_eq!(f.take(&["/wit/workitems/1"]).fault, None);
        }
        assert_eq!(
            f.take(&["/projects"]).fault,
            None,
            "not matching: not counted"
        );
        assert!(f.take(&["/wit/workitems/1"]).fault.is_some());
        assert!(f.take(&["/wit/workitems/1"]).fault.is_some());
        assert_eq!(f.take(&["/wit/workitems/1"]).fault, None);
        assert_eq!(f.remaining(), 0);
    }

    #[test]
    fn stale_rev_counts_down_and_clear_resets() {
        let f = Faults::default();
        f.stale_rev(2, 412);
        assert_eq!(f.take_stale_rev(), Some(412));
        assert_eq!(f.take_stale_rev(), Some(412));
        assert_eq!(f.take_stale_rev(), None);
        f.server_error("", 5, 503);
        f.clear();
        assert_eq!(f.take(&["/any"]), Taken::default());
    }
}
