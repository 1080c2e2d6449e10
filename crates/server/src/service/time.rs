//! Times as people read them: stored in UTC (Unix ms), shown in the site's time zone with its
//! offset, daylight saving by chrono-tz.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use crate::store::{DEFAULT_TIME_ZONE, Site};

/// The site's zone, or Alberta's when the site names none this build knows.
pub fn zone_of(site: Option<&Site>) -> Tz {
    site.and_then(|s| s.time_zone.parse().ok())
        .unwrap_or_else(default_zone)
}

pub fn default_zone() -> Tz {
    DEFAULT_TIME_ZONE.parse().unwrap_or(chrono_tz::America::Edmonton)
}

pub fn local(ms: i64, zone: Tz) -> Option<DateTime<Tz>> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&zone))
}

/// ISO-8601 with the zone's offset, to the second: `2026-11-27T07:42:10-07:00`.
pub fn iso(ms: i64, zone: Tz) -> String {
    local(ms, zone).map_or_else(String::new, |t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// For pages: `2026-11-27 07:42 MST`.
pub fn human(ms: i64, zone: Tz) -> String {
    local(ms, zone).map_or_else(
        || "unknown time".into(),
        |t| t.format("%Y-%m-%d %H:%M %Z").to_string(),
    )
}

/// The start of a calendar day in the zone, as Unix ms (a date filter's bound). A day that starts
/// in a daylight-saving gap starts at the earliest valid time.
pub fn day_start_ms(day: NaiveDate, zone: Tz) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alberta_times_carry_their_daylight_saving_offset() {
        let zone = default_zone();
        // 2026-07-01 12:00 UTC is 06:00 MDT; 2026-12-01 12:00 UTC is 05:00 MST.
        assert_eq!(iso(1_782_907_200_000, zone), "2026-07-01T06:00:00-06:00");
        assert_eq!(iso(1_796_126_400_000, zone), "2026-12-01T05:00:00-07:00");
        assert_eq!(human(1_796_126_400_000, zone), "2026-12-01 05:00 MST");
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        let zone = default_zone();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            iso(day_start_ms(day, zone).unwrap(), zone),
            "2026-12-01T00:00:00-07:00"
        );
    }
}
