//! Flags: what the office and the auditor must see about a record, each naming its evidence.
//!
//! Computed here, by the code the phones also run, after every edit and every merge (DESIGN §2).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::model::{ApprovalDecision, Body, Jsea, NearMiss, NearMissStatus, PreStart, Record};
use crate::stamp::Stamp;

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
}

/// Every flag on the record, sorted so equal records give equal lists.
pub fn compute(record: &Record) -> Vec<Flag> {
    let mut flags = match &record.body {
        Body::Jsea(j) => jsea_flags(j),
        Body::PreStart(p) => prestart_flags(p),
        Body::NearMiss(n) => near_miss_flags(n),
    };
    flags.sort();
    flags
}

fn describe(stamp: &Stamp) -> String {
    format!(
        "device time {} ms (boot {}, monotonic {} ms)",
        stamp.wall_ms, stamp.boot_id, stamp.monotonic_ms
    )
}

fn minutes(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 60_000.0)
}

fn jsea_flags(jsea: &Jsea) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let Some(started) = &jsea.work_started {
        if let Some(completed) = &jsea.completed
            && completed.wall_ms > started.wall_ms
        {
            flags.push(
                Flag::new(
                    codes::COMPLETED_AFTER_WORK_STARTED,
                    format!(
                        "completed {} min after work started",
                        minutes(completed.wall_ms - started.wall_ms)
                    ),
                )
                .with("completed", describe(completed))
                .with("work_started", describe(started))
                .with("minutes_late", minutes(completed.wall_ms - started.wall_ms)),
            );
        }
        match &jsea.approval {
            Some(a) if a.decision == ApprovalDecision::Approved => {
                if a.stamp.wall_ms > started.wall_ms {
                    flags.push(
                        Flag::new(
                            codes::APPROVED_AFTER_WORK_STARTED,
                            format!(
                                "approved by {} {} min after work started",
                                a.by_name,
                                minutes(a.stamp.wall_ms - started.wall_ms)
                            ),
                        )
                        .with("approved", describe(&a.stamp))
                        .with("work_started", describe(started))
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
    for sig in jsea.signatures.values().filter(|s| s.content_hash != current) {
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
        && a.content_hash != current
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

fn near_miss_flags(n: &NearMiss) -> Vec<Flag> {
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
            .with("reported", describe(reported)),
        );
    }
    flags
}
