//! Trusted time: a stamp's device wall time corrected with what the server learned about that
//! device's clock, or marked unverifiable.
//!
//! At every sync the device reports its wall and monotonic clocks and boot id; the server notes its
//! own time on receipt. That sample is an *anchor*: within one boot, the monotonic clock ticks at
//! real time whatever the user does to the wall clock, so a stamp from the same boot maps to server
//! time as `anchor.server + (stamp.monotonic - anchor.monotonic)`. The uncertainty is the anchor's
//! own (half the round trip) plus clock drift over the gap.
//!
//! A boot id is only the device's word and is unique only on that device (Android's boot count is
//! a small integer many phones share), so anchors belong to one device: a stamp is judged only
//! against anchors from the device that wrote it, as the server knows from its own actor registry.
//! A GNSS fix time is evidence too, not proof: where it and the device's anchors disagree beyond
//! their uncertainties, the time is not verified.

use serde::{Deserialize, Serialize};

use crate::stamp::Stamp;

/// Boot id of stamps the server itself makes (decisions taken in the browser).
pub const SERVER_BOOT: &str = "server";

/// Device ids the server gives its own writers (a person deciding in the browser). A stamp with
/// boot id [`SERVER_BOOT`] is the server's only when a device of this kind wrote it.
pub const SERVER_DEVICE_PREFIX: &str = "web:";

/// Worst-case drift of a phone's monotonic clock, parts per million (0.36 s per hour).
pub const DRIFT_PPM: i64 = 100;

/// A fix time is trusted when the OS reported a satellite fix this accurate or better.
pub const GNSS_UNCERTAINTY_MS: i64 = 1_000;

/// A wall clock further than this from the anchored time is reported as changed.
pub const CLOCK_JUMP_MS: i64 = 120_000;

/// One clock sample from a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnchor {
    /// The device that synced (from its token, never from the request).
    pub device_id: String,
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
    /// Anchors of the devices whose stamps are to be corrected.
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

    /// The time of a stamp written by `device` (`None` when the server cannot tell which device
    /// wrote it): carried from that device's anchors in the same boot, checked against GNSS
    /// time where the fix has it; GNSS time alone when the boot never synced; otherwise the
    /// device's word, marked unverifiable with the reason.
    pub fn correct(&self, device: Option<&str>, stamp: &Stamp) -> TrustedTime {
        let Some(device) = device else {
            return unverified(
                stamp,
                "the server cannot tell which device recorded this, so no clock anchor applies",
            );
        };
        if stamp.boot_id == SERVER_BOOT {
            if device.starts_with(SERVER_DEVICE_PREFIX) {
                return TrustedTime {
                    ms: stamp.wall_ms,
                    uncertainty_ms: 0,
                    basis: TimeBasis::Server,
                    verified: true,
                    note: None,
                };
            }
            return unverified(stamp, "a device's stamp claims to be the server's own");
        }
        let anchored = self.anchored(device, stamp);
        let gnss = stamp
            .fix
            .as_ref()
            .filter(|f| is_gnss(&f.provider) && !f.mock && f.fix_time_ms > 0);
        match (anchored, gnss) {
            (Some(Ok(carried)), Some(fix)) => {
                let apart = fix.fix_time_ms - carried.ms;
                if apart.abs() > GNSS_UNCERTAINTY_MS + carried.uncertainty_ms {
                    return unverified(
                        stamp,
                        &format!(
                            "the GPS fix time ({}) and the device's clock carried from its sync ({}) disagree by {}",
                            format_utc(fix.fix_time_ms),
                            format_utc(carried.ms),
                            format_span(apart)
                        ),
                    );
                }
                if carried.uncertainty_ms <= GNSS_UNCERTAINTY_MS {
                    return carried;
                }
                TrustedTime {
                    ms: fix.fix_time_ms,
                    uncertainty_ms: GNSS_UNCERTAINTY_MS,
                    basis: TimeBasis::Gnss,
                    verified: true,
                    note: carried.note,
                }
            }
            (Some(Ok(carried)), None) => carried,
            (Some(Err(why)), _) => unverified(stamp, why),
            (None, Some(fix)) => TrustedTime {
                ms: fix.fix_time_ms,
                uncertainty_ms: GNSS_UNCERTAINTY_MS,
                basis: TimeBasis::Gnss,
                verified: true,
                note: Some("GPS time alone: this boot of the device never synced to check it against".into()),
            },
            (None, None) => unverified(
                stamp,
                "no sync from the boot this was recorded in (the device restarted before syncing) and no GPS time",
            ),
        }
    }

    /// The stamp's time carried through the monotonic clock from `device`'s anchors in the same
    /// boot; `None` without such anchors, `Err` when they contradict each other.
    fn anchored(&self, device: &str, stamp: &Stamp) -> Option<Result<TrustedTime, &'static str>> {
        let mut same_boot: Vec<&ClockAnchor> = self
            .anchors
            .iter()
            .filter(|a| a.device_id == device && a.boot_id == stamp.boot_id)
            .collect();
        if same_boot.is_empty() {
            return None;
        }
        same_boot.sort_by_key(|a| a.server_ms);
        // Within one boot the monotonic clock must advance with real time between anchors.
        if same_boot.windows(2).any(|pair| !consistent(pair[0], pair[1])) {
            return Some(Err(
                "the device's monotonic clock went backwards or jumped between syncs",
            ));
        }
        if stamp.monotonic_ms < 0 {
            return Some(Err("the stamp's monotonic time is negative"));
        }
        let anchor = same_boot
            .iter()
            .min_by_key(|a| (a.monotonic_ms - stamp.monotonic_ms).abs())?;
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
        Some(Ok(TrustedTime {
            ms,
            uncertainty_ms,
            basis: TimeBasis::Monotonic,
            verified: true,
            note,
        }))
    }
}

/// Whether two anchors of one boot (`earlier` taken first by server time) agree: the monotonic
/// clock advanced by the real time between them, within their uncertainties and drift.
pub fn consistent(earlier: &ClockAnchor, later: &ClockAnchor) -> bool {
    let mono = later.monotonic_ms - earlier.monotonic_ms;
    let real = later.server_ms - earlier.server_ms;
    let slack = earlier.uncertainty_ms + later.uncertainty_ms + real.abs() * DRIFT_PPM / 1_000_000 + 2_000;
    mono >= 0 && (mono - real).abs() <= slack
}

fn unverified(stamp: &Stamp, why: &str) -> TrustedTime {
    TrustedTime {
        ms: stamp.wall_ms,
        uncertainty_ms: 0,
        basis: TimeBasis::DeviceClock,
        verified: false,
        note: Some(why.to_owned()),
    }
}

/// A signed span of time for evidence, to the nearest minute from a minute up: `3 h 2 min`,
/// `14 min`, `40 s`.
fn format_span(ms: i64) -> String {
    let secs = (ms.unsigned_abs() + 500) / 1000;
    let sign = if ms < 0 { "-" } else { "" };
    let minutes = (secs + 30) / 60;
    match secs {
        s if s < 60 => format!("{sign}{s} s"),
        _ if minutes >= 60 => format!("{sign}{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{sign}{minutes} min"),
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
        anchor_of("d1", boot, mono, wall, server)
    }

    fn anchor_of(device: &str, boot: &str, mono: i64, wall: i64, server: i64) -> ClockAnchor {
        ClockAnchor {
            device_id: device.into(),
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
        let t = ctx.correct(Some("d1"), &stamp);
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
        let t = ctx.correct(Some("d1"), &stamp);
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
        let t = ctx.correct(Some("d1"), &stamp);
        assert!(!t.verified);
        assert!(t.note.as_deref().unwrap_or("").contains("restarted"));

        let with_fix = stamp.with_fix(gps(T0 - HOUR + 5_000));
        let t = ctx.correct(Some("d1"), &with_fix);
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
        let t = ctx.correct(Some("d1"), &Stamp::new(T0, 2 * HOUR, "b1"));
        assert!(!t.verified);
        assert!(t.note.as_deref().unwrap_or("").contains("backwards"));
    }

    fn gps(fix_time_ms: i64) -> GpsFix {
        GpsFix {
            lat: 53.0,
            lon: -115.0,
            accuracy_m: 4.0,
            fix_time_ms,
            provider: "gps".into(),
            mock: false,
        }
    }

    /// Two phones report the same boot id (Android's boot count is a small shared integer) and
    /// their clocks are days apart: each phone's stamps are carried from its own anchors only.
    #[test]
    fn anchors_of_another_device_with_the_same_boot_id_never_apply() {
        const DAY: i64 = 24 * HOUR;
        let ctx = ClockContext::new(vec![
            // Phone A: wall clock right, synced at T0 one hour into its boot "3".
            anchor_of("phone-a", "3", HOUR, T0, T0),
            // Phone B: wall clock four days slow, synced at T0 + 10 min, five hours into boot "3".
            anchor_of(
                "phone-b",
                "3",
                5 * HOUR,
                T0 - 4 * DAY + 10 * 60_000,
                T0 + 10 * 60_000,
            ),
        ]);
        // Each phone stamps an event 30 minutes after its own sync.
        let a = Stamp::new(T0 + 30 * 60_000, HOUR + 30 * 60_000, "3");
        let b = Stamp::new(T0 - 4 * DAY + 40 * 60_000, 5 * HOUR + 30 * 60_000, "3");
        let at_a = ctx.correct(Some("phone-a"), &a);
        let at_b = ctx.correct(Some("phone-b"), &b);
        assert_eq!((at_a.ms, at_a.verified), (T0 + 30 * 60_000, true));
        assert_eq!((at_b.ms, at_b.verified), (T0 + 40 * 60_000, true));
        assert_eq!(at_a.note, None, "no clock change happened on phone A");
        assert_eq!(at_b.note, None, "no clock change happened on phone B");
        // A stamp whose writer the server cannot name is judged against no one's anchors.
        assert!(!ctx.correct(None, &a).verified);
        // Phone C claims boot "3" too but never synced: nothing vouches for its clock.
        let c = ctx.correct(Some("phone-c"), &a);
        assert!(!c.verified && c.note.as_deref().unwrap_or("").contains("restarted"));
    }

    /// A fix time is the device's word too: where it and the anchored clock disagree, neither is
    /// taken, and both are shown.
    #[test]
    fn a_gnss_time_that_disagrees_with_the_anchors_is_not_verified() {
        let ctx = ClockContext::new(vec![anchor("b1", 0, T0, T0)]);
        // 20 minutes after the sync; the fix claims 3 hours earlier (a phone whose clock was set
        // back reporting fused fixes stamped by it, or a mock app).
        let stamp =
            Stamp::new(T0 + 20 * 60_000, 20 * 60_000, "b1").with_fix(gps(T0 - 3 * HOUR + 20 * 60_000));
        let t = ctx.correct(Some("d1"), &stamp);
        assert!(!t.verified, "{t:?}");
        let note = t.note.unwrap_or_default();
        assert!(note.contains("disagree by -3 h 0 min"), "{note}");
        assert!(note.contains(&format_utc(T0 + 20 * 60_000)), "{note}");

        // Agreeing within their uncertainties: verified, on the tighter of the two.
        let agreeing = Stamp::new(T0 + 20 * 60_000, 20 * 60_000, "b1").with_fix(gps(T0 + 20 * 60_000 + 700));
        let t = ctx.correct(Some("d1"), &agreeing);
        assert!(t.verified);
        assert_eq!(t.ms, T0 + 20 * 60_000);
        assert_eq!(t.basis, TimeBasis::Monotonic);
    }

    #[test]
    fn only_the_server_writes_server_stamps() {
        let ctx = ClockContext::default();
        let stamp = Stamp::new(T0, 0, SERVER_BOOT);
        let t = ctx.correct(Some("web:user-1"), &stamp);
        assert_eq!((t.basis, t.verified), (TimeBasis::Server, true));
        let forged = ctx.correct(Some("phone-a"), &stamp);
        assert!(!forged.verified);
        assert!(
            forged
                .note
                .unwrap_or_default()
                .contains("claims to be the server")
        );
    }

    #[test]
    fn spans_print_to_the_nearest_minute() {
        assert_eq!(format_span(-(3 * HOUR - 200)), "-3 h 0 min");
        assert_eq!(format_span(14 * 60_000 + 29_000), "14 min");
        assert_eq!(format_span(40_400), "40 s");
        assert_eq!(format_span(2 * HOUR + 61_000), "2 h 1 min");
    }

    #[test]
    fn dates_print_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_000_000_000), "2026-11-18 11:06:40 UTC");
    }
}
