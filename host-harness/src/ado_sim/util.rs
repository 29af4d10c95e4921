//! Small helpers: date formatting and parsing, percent-encoding, GUIDs.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

/// Namespace for the sim's deterministic v5 GUIDs.
const SIM_NAMESPACE: Uuid = Uuid::from_u128(0x5f1d_0c2a_8e7b_4c39_9a61_0d2e_ad0b_5e11);

/// Deterministic GUID derived from a name.
pub(crate) fn guid(name: &str) -> Uuid {
    Uuid::new_v5(&SIM_NAMESPACE, name.as_bytes())
}

/// `2024-05-01T10:11:12.123Z` (always UTC, always milliseconds).
pub(crate) fn fmt_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2024-05-01T00:00:00Z`: how ADO writes date-only values (iteration dates).
pub(crate) fn fmt_day(d: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}T00:00:00Z",
        d.year(),
        u8::from(d.month()),
        d.day()
    )
}

/// A parsed date literal: either a full instant or a whole day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DateLit {
    Instant(OffsetDateTime),
    Day(Date),
}

/// Parses RFC 3339 (with or without fraction, `Z` or offset), `YYYY-MM-DDTHH:MM:SS` (UTC),
/// `YYYY-MM-DD` and `MM/DD/YYYY`.
pub(crate) fn parse_date(s: &str) -> Option<DateLit> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(DateLit::Instant(t.to_offset(UtcOffset::UTC)));
    }
    let no_zone = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(p) = PrimitiveDateTime::parse(s.trim_end_matches('Z'), &no_zone) {
        return Some(DateLit::Instant(p.assume_utc()));
    }
    let frac = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    if let Ok(p) = PrimitiveDateTime::parse(s.trim_end_matches('Z'), &frac) {
        return Some(DateLit::Instant(p.assume_utc()));
    }
    let day = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &day) {
        return Some(DateLit::Day(d));
    }
    let us = format_description!("[month padding:none]/[day padding:none]/[year]");
    if let Ok(d) = Date::parse(s, &us) {
        return Some(DateLit::Day(d));
    }
    None
}

/// Parses any accepted date form into an instant (days become midnight UTC).
pub(crate) fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    match parse_date(s)? {
        DateLit::Instant(t) => Some(t),
        DateLit::Day(d) => Some(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc()),
    }
}

/// Midnight UTC of the given day as an instant.
pub(crate) fn day_start(d: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc()
}

/// Encodes one URL path segment (everything but RFC 3986 unreserved characters).
pub(crate) fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; malformed escapes are kept literally.
pub(crate) fn pct_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a `System.Tags` value (`"a; b"`) into trimmed, non-empty tags.
pub(crate) fn split_tags(s: &str) -> Vec<String> {
    s.split(';')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Joins tags the way ADO stores them: de-duplicated case-insensitively, sorted, `"; "`.
pub(crate) fn join_tags(tags: Vec<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    out.sort_by_key(|t| t.to_lowercase());
    out.join("; ")
}

/// Trims a JSON number to an integer when it has no fraction.
pub(crate) fn json_as_i64(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn json_as_f64(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let t = parse_instant("2024-03-05T06:07:08.9Z").expect("parse");
        assert_eq!(fmt_date(t), "2024-03-05T06:07:08.900Z");
        assert!(matches!(parse_date("2024-03-05"), Some(DateLit::Day(_))));
        assert!(matches!(parse_date("3/5/2024"), Some(DateLit::Day(_))));
        assert_eq!(
            fmt_date(parse_instant("2024-03-05T01:00:00+01:00").expect("offset")),
            "2024-03-05T00:00:00.000Z"
        );
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn percent_coding() {
        assert_eq!(pct_encode("User Story"), "User%20Story");
        assert_eq!(pct_decode("User%20Story"), "User Story");
        assert_eq!(pct_decode("100%"), "100%");
        assert_eq!(pct_decode("%E2%9C%93"), "\u{2713}");
    }

    #[test]
    fn tags() {
        assert_eq!(join_tags(split_tags("b; A ;a;; c")), "A; b; c".to_string());
    }
}
