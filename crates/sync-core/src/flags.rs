//! Flags: what the office and the auditor must see about a record, each naming its evidence.
//!
//! Computed here, by the code the phones also run, after every edit and every merge (DESIGN §2).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::clock::{ClockContext, TrustedTime};
use crate::model::Record;
use crate::place::{self, Place, SiteArea};
use crate::stamp::Stamp;

/// What the flags may rest on beyond the record itself.
///
/// On a phone every part is usually empty: times are the device's own and places are not judged.
/// The server fills them from its clock anchors, its actor registry and the site's geofence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Clock anchors for correcting stamps; `None` compares device wall times as they are.
    pub clock: Option<ClockContext>,
    /// The device that wrote each stamp, by the stamp's [`Event::path`], as the server's own
    /// records show it (never the document's word). A stamp missing here is unverifiable.
    pub stamp_devices: BTreeMap<String, String>,
    /// The record's site boundary; `None` skips the place checks.
    pub site: Option<SiteArea>,
    /// The moment the time-dependent flags (an action past due, a certificate expiring) are
    /// judged at, Unix ms; `None` skips them. The server judges at its own clock and judges again
    /// when the next such moment passes ([`crate::kinds::RecordKind::flags_change_at`]).
    pub now_ms: Option<i64>,
    /// What the company's other records show about the people and equipment this record names;
    /// `None` skips the flags that need them (a phone does not hold the whole program).
    pub program: Option<crate::program::ProgramFacts>,
}

impl Context {
    /// The event's time, corrected as far as the context allows.
    pub fn time(&self, path: &str, stamp: &Stamp) -> TrustedTime {
        match &self.clock {
            Some(clock) => clock.correct(self.stamp_devices.get(path).map(String::as_str), stamp),
            None => TrustedTime {
                ms: stamp.wall_ms,
                uncertainty_ms: 0,
                basis: crate::clock::TimeBasis::DeviceClock,
                verified: false,
                note: None,
            },
        }
    }
}

/// One event in a record's life with its stamp: the timeline and the flags both read these.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    /// `created`, `signed`, `completed`, `approved`, `rejected`, `work_started`, `closed`,
    /// `reopened` or `reported`.
    pub name: &'static str,
    /// The person the event names, where it names one.
    pub by: Option<&'a str>,
    /// Where the stamp sits in the record's document, keys joined by `/` (`jsea/completed`).
    pub path: String,
    pub stamp: &'a Stamp,
}

impl<'a> Event<'a> {
    pub fn new(
        name: &'static str,
        by: Option<&'a String>,
        path: impl Into<String>,
        stamp: &'a Stamp,
    ) -> Self {
        Self {
            name,
            by: by.map(String::as_str),
            path: path.into(),
            stamp,
        }
    }
}

/// Where each lifecycle stamp sits in a record's document: the header's here, each kind's in
/// its own folder (`kinds::jsea::paths`).
pub mod paths {
    pub const CREATED: &str = "header/created";
}

/// A near-miss reported more than this long after it happened is flagged late.
pub const LATE_NEAR_MISS_MS: i64 = crate::kinds::near_miss::LATE_REPORT_MS;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Flag {
    /// Stable code, e.g. `jsea.completed_after_work_started`.
    pub code: String,
    pub message: String,
    /// Named pieces of evidence: which stamps, which times, which field.
    pub evidence: BTreeMap<String, String>,
}

impl Flag {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            evidence: BTreeMap::new(),
        }
    }
    pub(crate) fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.evidence.insert(key.to_owned(), value.into());
        self
    }
}

pub mod codes {
    pub const COMPLETED_AFTER_WORK_STARTED: &str = "jsea.completed_after_work_started";
    pub const WORK_STARTED_WITHOUT_APPROVAL: &str = "jsea.work_started_without_approval";
    pub const APPROVED_AFTER_WORK_STARTED: &str = "jsea.approved_after_work_started";
    pub const PPE_ONLY_WITHOUT_JUSTIFICATION: &str = "jsea.ppe_only_without_justification";
    pub const STALE_SIGNATURE: &str = "jsea.stale_signature";
    pub const STALE_APPROVAL: &str = "jsea.stale_approval";
    /// A crew member signed with no orientation at the site on record before signing.
    pub const SIGNER_NOT_ORIENTED: &str = "jsea.signer_not_oriented";
    pub const OUT_OF_SERVICE: &str = "pre_start.out_of_service";
    /// The operator had no verified competency on the unit's type of equipment that day.
    pub const OPERATOR_NOT_COMPETENT: &str = "pre_start.operator_not_competent";
    /// The operator lacked a certificate the unit requires, or it had expired that day.
    pub const CERTIFICATE_NOT_CURRENT: &str = "pre_start.certificate_not_current";
    pub const LATE_NEAR_MISS: &str = "near_miss.late_report";
    pub const UNVERIFIABLE_TIME: &str = "time.unverifiable";
    pub const OFF_SITE: &str = "place.off_site";
    pub const POOR_FIX: &str = "place.poor_fix";
    pub const MOCK_LOCATION: &str = "place.mock_location";
    pub const NO_FIX: &str = "place.no_fix";
}

/// Every flag on the record from the record alone (device clocks, no site boundary).
pub fn compute(record: &Record) -> Vec<Flag> {
    compute_in(record, &Context::default())
}

/// Every flag on the record, with times corrected and places judged as `context` allows,
/// sorted so equal records give equal lists.
pub fn compute_in(record: &Record, context: &Context) -> Vec<Flag> {
    // An anonymous report's evidence must not carry what could link it to a phone (boot id,
    // monotonic clock): the same readings appear in its reporter's other records.
    let anonymous = record.header.is_anonymous();
    let mut flags = record.body.spec().flags(context, anonymous);
    let events = lifecycle_events(record);
    if context.clock.is_some() {
        for event in &events {
            let t = context.time(&event.path, event.stamp);
            if !t.verified {
                let mut flag = Flag::new(
                    codes::UNVERIFIABLE_TIME,
                    format!("the time of '{}' cannot be verified", event.name),
                )
                .with("event", event.name)
                .with("device_time", crate::clock::format_utc(event.stamp.wall_ms))
                .with("reason", t.note.unwrap_or_default());
                if !anonymous {
                    flag = flag.with("boot", event.stamp.boot_id.clone());
                }
                flags.push(flag);
            }
        }
    }
    if let Some(site) = &context.site {
        let on_site = record.kind().on_site_events();
        for event in events.iter().filter(|e| on_site.contains(&e.name)) {
            if let Some(flag) = place_flag(event.name, event.stamp, site) {
                flags.push(flag);
            }
        }
    }
    flags.sort();
    flags.dedup();
    flags
}

/// The record's lifecycle events with their stamps, in the order the record lists them: its
/// creation, then its kind's events. The one timeline: flags, the record detail and reports read it.
pub fn lifecycle_events(record: &Record) -> Vec<Event<'_>> {
    let creator = (!record.header.is_anonymous()).then_some(&record.header.created_by);
    let mut events = vec![Event::new(
        "created",
        creator,
        paths::CREATED,
        &record.header.created,
    )];
    record.body.spec().events(&mut events);
    events
}

fn place_flag(event: &str, stamp: &Stamp, site: &SiteArea) -> Option<Flag> {
    let fix = stamp
        .fix
        .as_ref()
        .map(|f| {
            format!(
                "{:.5}, {:.5} ±{:.0} m ({})",
                f.lat, f.lon, f.accuracy_m, f.provider
            )
        })
        .unwrap_or_else(|| "none".into());
    let flag = match place::judge(stamp.fix.as_ref(), site) {
        Place::OnSite { .. } => return None,
        Place::OffSite {
            distance_m,
            accuracy_m,
        } => Flag::new(
            codes::OFF_SITE,
            format!("'{event}' was recorded {distance_m:.0} m outside the site"),
        )
        .with("distance_m", format!("{distance_m:.0}"))
        .with("accuracy_m", format!("{accuracy_m:.0}")),
        Place::TooInaccurate {
            accuracy_m,
            threshold_m,
        } => Flag::new(
            codes::POOR_FIX,
            format!("the fix for '{event}' (±{accuracy_m:.0} m) is too inaccurate to place it on site"),
        )
        .with("accuracy_m", format!("{accuracy_m:.0}"))
        .with("threshold_m", format!("{threshold_m:.0}")),
        Place::Mock => Flag::new(
            codes::MOCK_LOCATION,
            format!("the fix for '{event}' came from a mock-location app"),
        ),
        Place::NoFix => Flag::new(codes::NO_FIX, format!("no GPS fix was taken for '{event}'")),
    };
    Some(
        flag.with("event", event)
            .with("fix", fix)
            .with("device_time", crate::clock::format_utc(stamp.wall_ms)),
    )
}

pub(crate) fn describe(stamp: &Stamp) -> String {
    format!(
        "device time {} ms (boot {}, monotonic {} ms)",
        stamp.wall_ms, stamp.boot_id, stamp.monotonic_ms
    )
}

/// A stamp as evidence in an anonymous report: its device time only.
pub(crate) fn describe_anonymously(stamp: &Stamp) -> String {
    format!("device time {} ms", stamp.wall_ms)
}

pub(crate) fn minutes(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 60_000.0)
}
