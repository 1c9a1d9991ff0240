//! Instants typed by people and scripts: the audit log's `since` and `until`, in the JSON API
//! and in the console's filter form.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Unix seconds from Unix seconds, an RFC 3339 time, or a time without an offset as an HTML
/// `datetime-local` field sends it (`2025-05-01T09:30`, seconds optional), read as UTC.
pub fn parse_instant(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds);
    }
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(at.unix_timestamp());
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(value, &minutes)
        .or_else(|_| PrimitiveDateTime::parse(value, &seconds))
        .ok()
        .map(|at| at.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_seconds_rfc_3339_or_a_local_time_in_utc() {
        assert_eq!(parse_instant("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_instant("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_instant("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_instant("2023-11-14T22:13"), Some(1_699_999_980));
        assert_eq!(parse_instant("2023-11-14T22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_instant("yesterday"), None);
    }
}
