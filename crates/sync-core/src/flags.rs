//! Flags: what the office and the auditor must see about a record, each naming its evidence.
//!
//! Computed here, by the code the phones also run, after every edit and every merge (DESIGN §2).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::clock::{ClockContext, TrustedTime};
use crate::model::{ApprovalDecision, Body, Jsea, NearMiss, NearMissStatus, PreStart, Record};
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

/// Where each lifecycle stamp sits in a record's document.
pub mod paths {
    pub const CREATED: &str = "header/created";
    pub const JSEA_COMPLETED: &str = "jsea/completed";
    pub const JSEA_DECISION: &str = "jsea/approval/stamp";
    pub const JSEA_WORK_STARTED: &str = "jsea/work_started";
    pub const JSEA_CLOSED: &str = "jsea/closed";
    pub const JSEA_REOPENED: &str = "jsea/reopened/stamp";
    pub const PRE_START_SIGN_OFF: &str = "pre_start/sign_off/stamp";
    pub const PRE_START_COMPLETED: &str = "pre_start/completed";
    pub const NEAR_MISS_REPORTED: &str = "near_miss/reported";

    /// A crew member's signature on a JSEA.
    pub fn jsea_signature(user_id: &str) -> String {
        format!("jsea/signatures/{user_id}/stamp")
    }
}

/// A near-miss reported more than this long after it happened is flagged late.
pub const LATE_NEAR_MISS_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Flag {
    /// Stable code, e.g. `jsea.completed_after_work_started`.
    pub code: String,
    pub message: String,
    /// Named pieces of evidence: which stamps, which times, which field.
    pub evidence: BTreeMap<String, String>,
}

impl Flag {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            evidence: BTreeMap::new(),
        }
    }
    fn with(mut self, key: &str, value: impl Into<String>) -> Self {
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
    pub const OUT_OF_SERVICE: &str = "pre_start.out_of_service";
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
    let mut flags = match &record.body {
        Body::Jsea(j) => jsea_flags(j, context),
        Body::PreStart(p) => prestart_flags(p),
        Body::NearMiss(n) => near_miss_flags(n, anonymous),
    };
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
        for event in events.iter().filter(|e| ON_SITE_EVENTS.contains(&e.name)) {
            if let Some(flag) = place_flag(event.name, event.stamp, site) {
                flags.push(flag);
            }
        }
    }
    flags.sort();
    flags.dedup();
    flags
}

/// Events that happen at the work location; approvals and reports may come from elsewhere.
const ON_SITE_EVENTS: &[&str] = &["created", "signed", "completed", "work_started"];

/// The record's lifecycle events with their stamps, in the order the record lists them.
pub fn lifecycle_events(record: &Record) -> Vec<Event<'_>> {
    fn event<'r>(name: &'static str, by: Option<&'r String>, path: &str, stamp: &'r Stamp) -> Event<'r> {
        Event {
            name,
            by: by.map(String::as_str),
            path: path.to_owned(),
            stamp,
        }
    }
    let creator = (!record.header.is_anonymous()).then_some(&record.header.created_by);
    let mut events = vec![event("created", creator, paths::CREATED, &record.header.created)];
    match &record.body {
        Body::Jsea(j) => {
            events.extend(j.signatures.iter().map(|(key, s)| Event {
                name: "signed",
                by: Some(s.user_id.as_str()),
                path: paths::jsea_signature(key),
                stamp: &s.stamp,
            }));
            events.extend(
                j.completed
                    .iter()
                    .map(|s| event("completed", None, paths::JSEA_COMPLETED, s)),
            );
            events.extend(j.approval.iter().map(|a| {
                event(
                    a.decision.as_str(),
                    Some(&a.by_user_id),
                    paths::JSEA_DECISION,
                    &a.stamp,
                )
            }));
            events.extend(
                j.work_started
                    .iter()
                    .map(|s| event("work_started", None, paths::JSEA_WORK_STARTED, s)),
            );
            events.extend(
                j.closed
                    .iter()
                    .map(|s| event("closed", None, paths::JSEA_CLOSED, s)),
            );
            events.extend(
                j.reopened
                    .iter()
                    .map(|r| event("reopened", Some(&r.by_user_id), paths::JSEA_REOPENED, &r.stamp)),
            );
        }
        Body::PreStart(p) => {
            events.extend(
                p.sign_off
                    .iter()
                    .map(|s| event("signed", Some(&s.user_id), paths::PRE_START_SIGN_OFF, &s.stamp)),
            );
            events.extend(
                p.completed
                    .iter()
                    .map(|s| event("completed", None, paths::PRE_START_COMPLETED, s)),
            );
        }
        Body::NearMiss(n) => events.extend(
            n.reported
                .iter()
                .map(|s| event("reported", n.reporter_id.as_ref(), paths::NEAR_MISS_REPORTED, s)),
        ),
    }
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

fn describe(stamp: &Stamp) -> String {
    format!(
        "device time {} ms (boot {}, monotonic {} ms)",
        stamp.wall_ms, stamp.boot_id, stamp.monotonic_ms
    )
}

/// A stamp as evidence in an anonymous report: its device time only.
fn describe_anonymously(stamp: &Stamp) -> String {
    format!("device time {} ms", stamp.wall_ms)
}

fn minutes(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 60_000.0)
}

fn jsea_flags(jsea: &Jsea, context: &Context) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let Some(started) = &jsea.work_started {
        let started_at = context.time(paths::JSEA_WORK_STARTED, started);
        if let Some(completed) = &jsea.completed {
            let completed_at = context.time(paths::JSEA_COMPLETED, completed);
            if completed_at.ms > started_at.ms {
                flags.push(
                    Flag::new(
                        codes::COMPLETED_AFTER_WORK_STARTED,
                        format!(
                            "completed {} min after work started",
                            minutes(completed_at.ms - started_at.ms)
                        ),
                    )
                    .with("completed", describe(completed))
                    .with("work_started", describe(started))
                    .with("completed_at", completed_at.describe())
                    .with("work_started_at", started_at.describe())
                    .with("minutes_late", minutes(completed_at.ms - started_at.ms)),
                );
            }
        }
        match &jsea.approval {
            Some(a) if a.decision == ApprovalDecision::Approved => {
                let approved_at = context.time(paths::JSEA_DECISION, &a.stamp);
                if approved_at.ms > started_at.ms {
                    flags.push(
                        Flag::new(
                            codes::APPROVED_AFTER_WORK_STARTED,
                            format!(
                                "approved by {} {} min after work started",
                                a.by_name,
                                minutes(approved_at.ms - started_at.ms)
                            ),
                        )
                        .with("approved", describe(&a.stamp))
                        .with("work_started", describe(started))
                        .with("approved_at", approved_at.describe())
                        .with("work_started_at", started_at.describe())
                        .with("approver", a.by_user_id.clone()),
                    );
                }
            }
            Some(a) => flags.push(
                Flag::new(
                    codes::WORK_STARTED_WITHOUT_APPROVAL,
                    "work started although the JSEA was rejected",
                )
                .with("work_started", describe(started))
                .with("rejected_by", a.by_user_id.clone()),
            ),
            None => flags.push(
                Flag::new(
                    codes::WORK_STARTED_WITHOUT_APPROVAL,
                    "work started with no supervisor approval",
                )
                .with("work_started", describe(started)),
            ),
        }
    }
    for (si, step) in jsea.steps.iter().enumerate().filter(|(_, s)| !s.removed) {
        for (hi, hazard) in step.hazards.iter().enumerate().filter(|(_, h)| !h.removed) {
            if hazard.is_ppe_only() && !hazard.has_justification() {
                flags.push(
                    Flag::new(
                        codes::PPE_ONLY_WITHOUT_JUSTIFICATION,
                        format!(
                            "hazard '{}' is controlled by PPE alone with no justification",
                            hazard.description
                        ),
                    )
                    .with(
                        "field",
                        format!("steps[{si}].hazards[{hi}].ppe_only_justification"),
                    ),
                );
            }
        }
    }
    let current = jsea.content_hash();
    for sig in jsea
        .signatures
        .values()
        .filter(|s| !jsea.still_vouches(&s.content_hash, &current))
    {
        flags.push(
            Flag::new(
                codes::STALE_SIGNATURE,
                format!("{} signed a version of the JSEA that has since changed", sig.name),
            )
            .with("signer", sig.user_id.clone())
            .with("signed", describe(&sig.stamp))
            .with("signed_hash", sig.content_hash.clone())
            .with("current_hash", current.clone()),
        );
    }
    if let Some(a) = &jsea.approval
        && !jsea.still_vouches(&a.content_hash, &current)
    {
        flags.push(
            Flag::new(
                codes::STALE_APPROVAL,
                format!(
                    "{} decided on a version of the JSEA that has since changed",
                    a.by_name
                ),
            )
            .with("approver", a.by_user_id.clone())
            .with("decided", describe(&a.stamp))
            .with("approved_hash", a.content_hash.clone())
            .with("current_hash", current),
        );
    }
    flags
}

fn prestart_flags(p: &PreStart) -> Vec<Flag> {
    p.failed_critical_items()
        .map(|item| {
            Flag::new(
                codes::OUT_OF_SERVICE,
                format!("unit {} out of service: '{}' failed", p.unit.unit_id, item.label),
            )
            .with("unit", p.unit.unit_id.clone())
            .with("item", item.label.clone())
            .with("defect_note", item.defect_note.clone().unwrap_or_default())
        })
        .collect()
}

fn near_miss_flags(n: &NearMiss, anonymous: bool) -> Vec<Flag> {
    let mut flags = Vec::new();
    if n.status == NearMissStatus::Reported
        && let Some(reported) = &n.reported
        && reported.wall_ms - n.occurred_at_ms > LATE_NEAR_MISS_MS
    {
        flags.push(
            Flag::new(
                codes::LATE_NEAR_MISS,
                format!(
                    "reported {:.1} h after it happened",
                    (reported.wall_ms - n.occurred_at_ms) as f64 / 3_600_000.0
                ),
            )
            .with("occurred_at_ms", n.occurred_at_ms.to_string())
            .with(
                "reported",
                if anonymous {
                    describe_anonymously(reported)
                } else {
                    describe(reported)
                },
            ),
        );
    }
    flags
}
