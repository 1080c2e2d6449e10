//! Trusted time: a stamp's device wall time corrected with what the server learned about that
//! device's clock, or marked unverifiable.
//!
//! At every sync the device reports its wall and monotonic clocks and boot id; the server notes its
//! own time on receipt. That sample is an *anchor*: within one boot, the monotonic clock ticks at
//! real time whatever the user does to the wall clock, so a stamp from the same boot maps to server
//! time as `anchor.server + (stamp.monotonic - anchor.monotonic)`. The uncertainty is the anchor's
//! own (half the round trip) plus clock drift over the gap.

use serde::{Deserialize, Serialize};

use crate::stamp::Stamp;

/// Boot id of stamps the server itself makes (decisions taken in the browser).
pub const SERVER_BOOT: &str = "server";

/// Worst-case drift of a phone's monotonic clock, parts per million (0.36 s per hour).
pub const DRIFT_PPM: i64 = 100;

/// A fix time is trusted when the OS reported a satellite fix this accurate or better.
pub const GNSS_UNCERTAINTY_MS: i64 = 1_000;

/// A wall clock further than this from the anchored time is reported as changed.
pub const CLOCK_JUMP_MS: i64 = 120_000;

/// One clock sample from a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnchor {
    pub boot_id: String,
    pub monotonic_ms: i64,
    pub device_wall_ms: i64,
    /// Server time when the sample was taken (its best estimate).
    pub server_ms: i64,
    /// How far `server_ms` may be off, ms.
    pub uncertainty_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBasis {
    /// Carried from a sync in the same boot through the monotonic clock.
    Monotonic,
    /// The satellite time of the GPS fix taken with the event.
    Gnss,
    /// The server's own clock (a decision made on the server).
    Server,
    /// Only the device's wall clock, which nothing vouches for.
    DeviceClock,
}

/// A stamp's time as far as it can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedTime {
    /// Best estimate, Unix ms (the device's wall time when unverifiable).
    pub ms: i64,
    pub uncertainty_ms: i64,
    pub basis: TimeBasis,
    /// False when nothing but the device's own clock speaks for this time.
    pub verified: bool,
    /// Why it is unverifiable, or what was noticed (a changed wall clock).
    pub note: Option<String>,
}

impl TrustedTime {
    /// Whether this time is certainly after `other` (their uncertainty windows do not overlap).
    pub fn certainly_after(&self, other: &TrustedTime) -> bool {
        self.ms - self.uncertainty_ms > other.ms + other.uncertainty_ms
    }

    pub fn describe(&self) -> String {
        let when = format_utc(self.ms);
        let basis = match self.basis {
            TimeBasis::Monotonic => "device clock corrected at sync",
            TimeBasis::Gnss => "GPS satellite time",
            TimeBasis::Server => "server clock",
            TimeBasis::DeviceClock => "device clock only, unverified",
        };
        let mut out = format!("{when} ± {} s ({basis})", (self.uncertainty_ms + 999) / 1000);
        if let Some(note) = &self.note {
            out.push_str(&format!("; {note}"));
        }
        out
    }
}

/// What is known about device clocks, for correcting stamps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockContext {
    pub anchors: Vec<ClockAnchor>,
}

fn is_gnss(provider: &str) -> bool {
    matches!(
        provider.to_ascii_lowercase().as_str(),
        "gps" | "gnss" | "satellite"
    )
}

impl ClockContext {
    pub fn new(anchors: Vec<ClockAnchor>) -> Self {
        Self { anchors }
    }

    /// The stamp's time, preferring GNSS fix time, then a same-boot anchor; otherwise the
    /// device's word, marked unverifiable with the reason.
    pub fn correct(&self, stamp: &Stamp) -> TrustedTime {
        if stamp.boot_id == SERVER_BOOT {
            return TrustedTime {
                ms: stamp.wall_ms,
                uncertainty_ms: 0,
                basis: TimeBasis::Server,
                verified: true,
                note: None,
            };
        }
        if let Some(fix) = stamp
            .fix
            .as_ref()
            .filter(|f| is_gnss(&f.provider) && !f.mock && f.fix_time_ms > 0)
        {
            return TrustedTime {
                ms: fix.fix_time_ms,
                uncertainty_ms: GNSS_UNCERTAINTY_MS,
                basis: TimeBasis::Gnss,
                verified: true,
                note: None,
            };
        }
        let mut same_boot: Vec<&ClockAnchor> = self
            .anchors
            .iter()
            .filter(|a| a.boot_id == stamp.boot_id)
            .collect();
        if same_boot.is_empty() {
            return self.unverified(stamp, "no sync from the boot this was recorded in (the device restarted before syncing) and no GPS time");
        }
        same_boot.sort_by_key(|a| a.server_ms);
        // Within one boot the monotonic clock must advance with real time between anchors.
        for pair in same_boot.windows(2) {
            let mono = pair[1].monotonic_ms - pair[0].monotonic_ms;
            let real = pair[1].server_ms - pair[0].server_ms;
            let slack =
                pair[0].uncertainty_ms + pair[1].uncertainty_ms + real.abs() * DRIFT_PPM / 1_000_000 + 2_000;
            if mono < 0 || (mono - real).abs() > slack {
                return self.unverified(
                    stamp,
                    "the device's monotonic clock went backwards or jumped between syncs",
                );
            }
        }
        if stamp.monotonic_ms < 0 {
            return self.unverified(stamp, "the stamp's monotonic time is negative");
        }
        let anchor = same_boot
            .iter()
            .min_by_key(|a| (a.monotonic_ms - stamp.monotonic_ms).abs())
            .expect("same_boot is not empty");
        let gap = stamp.monotonic_ms - anchor.monotonic_ms;
        let ms = anchor.server_ms + gap;
        let uncertainty_ms = anchor.uncertainty_ms + gap.abs() * DRIFT_PPM / 1_000_000;
        // What the wall clock said against where the monotonic clock puts it.
        let wall_error = stamp.wall_ms - (anchor.device_wall_ms + gap);
        let note = (wall_error.abs() > CLOCK_JUMP_MS).then(|| {
            format!(
                "the device's wall clock was changed by {} min between this event and the sync",
                wall_error / 60_000
            )
        });
        TrustedTime {
            ms,
            uncertainty_ms,
            basis: TimeBasis::Monotonic,
            verified: true,
            note,
        }
    }

    fn unverified(&self, stamp: &Stamp, why: &str) -> TrustedTime {
        TrustedTime {
            ms: stamp.wall_ms,
            uncertainty_ms: 0,
            basis: TimeBasis::DeviceClock,
            verified: false,
            note: Some(why.to_owned()),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for evidence a person reads.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::GpsFix;

    const HOUR: i64 = 3_600_000;
    const T0: i64 = 1_795_000_000_000;

    fn anchor(boot: &str, mono: i64, wall: i64, server: i64) -> ClockAnchor {
        ClockAnchor {
            boot_id: boot.into(),
            monotonic_ms: mono,
            device_wall_ms: wall,
            server_ms: server,
            uncertainty_ms: 200,
        }
    }

    #[test]
    fn a_slow_clock_is_corrected_through_the_monotonic_clock() {
        // The phone's clock is 3 h slow; it synced at T0 (mono 50 min) and stamped 20 min later.
        let ctx = ClockContext::new(vec![anchor("b1", 50 * 60_000, T0 - 3 * HOUR, T0)]);
        let stamp = Stamp::new(T0 - 3 * HOUR + 20 * 60_000, 70 * 60_000, "b1");
        let t = ctx.correct(&stamp);
        assert_eq!(t.basis, TimeBasis::Monotonic);
        assert_eq!(t.ms, T0 + 20 * 60_000);
        assert!(t.verified && t.note.is_none());
        assert_eq!(t.uncertainty_ms, 200 + 20 * 60_000 * DRIFT_PPM / 1_000_000);
    }

    #[test]
    fn a_clock_set_back_is_seen_and_corrected() {
        let ctx = ClockContext::new(vec![anchor("b1", 0, T0, T0)]);
        // 40 min after the sync the user set the clock back an hour.
        let stamp = Stamp::new(T0 + 40 * 60_000 - HOUR, 40 * 60_000, "b1");
        let t = ctx.correct(&stamp);
        assert_eq!(t.ms, T0 + 40 * 60_000);
        assert!(
            t.note.as_deref().unwrap_or("").contains("changed by -60 min"),
            "{t:?}"
        );
    }

    #[test]
    fn a_reboot_before_syncing_leaves_only_gps_time_or_nothing() {
        let ctx = ClockContext::new(vec![anchor("b2", 10, T0, T0)]);
        let stamp = Stamp::new(T0 - HOUR, 999_999, "b1");
        let t = ctx.correct(&stamp);
        assert!(!t.verified);
        assert!(t.note.as_deref().unwrap_or("").contains("restarted"));

        let with_fix = stamp.with_fix(GpsFix {
            lat: 53.0,
            lon: -115.0,
            accuracy_m: 4.0,
            fix_time_ms: T0 - HOUR + 5_000,
            provider: "gps".into(),
            mock: false,
        });
        let t = ctx.correct(&with_fix);
        assert_eq!(
            (t.basis, t.ms, t.verified),
            (TimeBasis::Gnss, T0 - HOUR + 5_000, true)
        );
    }

    #[test]
    fn a_monotonic_clock_running_backwards_is_unverifiable() {
        let ctx = ClockContext::new(vec![
            anchor("b1", 5 * HOUR, T0, T0),
            anchor("b1", HOUR, T0 + HOUR, T0 + HOUR),
        ]);
        let t = ctx.correct(&Stamp::new(T0, 2 * HOUR, "b1"));
        assert!(!t.verified);
        assert!(t.note.as_deref().unwrap_or("").contains("backwards"));
    }

    #[test]
    fn dates_print_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_000_000_000), "2026-11-18 11:06:40 UTC");
    }
}
