//! Time arithmetic on RFC 3339 strings (the WASI clock and ADO's dates both come as text).

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// `at` minus `minutes`, as RFC 3339 UTC; `None` when `at` is not RFC 3339.
pub fn minutes_before(at: &str, minutes: i64) -> Option<String> {
    let t = OffsetDateTime::parse(at.trim(), &Rfc3339).ok()?;
    let earlier = t.checked_sub(Duration::minutes(minutes))?;
    earlier
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_before_crosses_midnight_and_rejects_garbage() {
        assert_eq!(
            minutes_before("2026-12-04T00:05:00Z", 10).as_deref(),
            Some("2026-12-03T23:55:00Z")
        );
        assert_eq!(
            minutes_before("2026-12-04T10:00:00.5+02:00", 0).as_deref(),
            Some("2026-12-04T08:00:00.5Z")
        );
        assert_eq!(minutes_before("yesterday", 10), None);
    }
}
