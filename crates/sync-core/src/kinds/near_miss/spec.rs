//! Every rule about a near-miss report: few required fields, the late-report flag, anonymity.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{NearMiss, NearMissStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag, codes, describe, describe_anonymously};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::parts::is_blank;
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a near miss's document.
pub mod paths {
    pub const REPORTED: &str = "near_miss/reported";
}

/// A near-miss reported more than this long after it happened is flagged late.
pub const LATE_REPORT_MS: i64 = 24 * 60 * 60 * 1000;

impl KindSpec for NearMiss {
    const NAME: &'static str = "near_miss";
    const LABEL: &'static str = "Near miss";
    // A report may be anonymous or name a colleague: workers read only their own.
    const VISIBILITY: Visibility = Visibility::CreatorAndSupervisors;
    const ON_SITE_EVENTS: &'static [&'static str] = &["created"];
    const STATUSES: &'static [&'static str] = super::NearMissStatus::NAMES;
}

impl RecordKind for NearMiss {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.what_happened.chars().take(80).collect()
    }

    fn content_hash(&self) -> String {
        NearMiss::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.what_happened) {
            out.push(Finding::blocking(
                "near_miss.what_happened_required",
                "what_happened",
                "say briefly what happened",
            ));
        }
        if self.occurred_at_ms <= 0 {
            out.push(Finding::blocking(
                "near_miss.when_required",
                "occurred_at_ms",
                "say when it happened",
            ));
        }
        if self.location_fix.is_none() && self.location_description.as_deref().is_none_or(is_blank) {
            out.push(Finding::warning(
                "near_miss.where_missing",
                "location_description",
                "no GPS fix and no description of where it happened",
            ));
        }
    }

    fn flags(&self, _context: &Context, anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.status == NearMissStatus::Reported
            && let Some(reported) = &self.reported
            && reported.wall_ms - self.occurred_at_ms > LATE_REPORT_MS
        {
            flags.push(
                Flag::new(
                    codes::LATE_NEAR_MISS,
                    format!(
                        "reported {:.1} h after it happened",
                        (reported.wall_ms - self.occurred_at_ms) as f64 / 3_600_000.0
                    ),
                )
                .with("occurred_at_ms", self.occurred_at_ms.to_string())
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

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.reported
                .iter()
                .map(|s| Event::new("reported", self.reporter_id.as_ref(), paths::REPORTED, s)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.reported.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.reported.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("What happened", &self.what_happened),
            EvidenceRow::time("When", self.occurred_at_ms),
            EvidenceRow::new("Potential severity", self.potential_severity.as_str()),
        ];
        if let Some(place) = &self.location_description {
            rows.push(EvidenceRow::new("Where", place));
        }
        if let Some(actions) = &self.immediate_actions {
            rows.push(EvidenceRow::new("Immediate actions", actions));
        }
        rows.push(EvidenceRow::new(
            "Reported by",
            self.reporter_id.as_deref().unwrap_or("not named"),
        ));
        rows
    }

    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()> {
        if let Some(highest) = merge_rules::highest_severity(doc, body)? {
            self.potential_severity = highest;
        }
        Ok(())
    }

    fn guarded_fields(&self, out: &mut BTreeMap<Field, Guarded>) {
        out.insert(
            Field::PotentialSeverity,
            Guarded::Severity(self.potential_severity),
        );
    }

    /// A near miss asks no name: it may be filed anonymously, as long as it names no reporter.
    fn may_be_anonymous(&self) -> bool {
        true
    }

    fn named_author(&self) -> Option<&str> {
        self.reporter_id.as_deref()
    }

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == NearMissStatus::Reported {
            return Err(Error::Lifecycle("this near-miss is already reported".into()));
        }
        self.status = NearMissStatus::Reported;
        self.reported = Some(stamp);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let old = before.and_then(|b| b.reporter_id.as_ref());
        if old != self.reporter_id.as_ref() && self.reporter_id.as_ref().is_some_and(|r| r != &writer.user_id)
        {
            return Err(WriteRefusal::new(
                RejectCode::AuthorMismatch,
                format!("{} cannot report in someone else's name", writer.name),
            ));
        }
        Ok(())
    }
}
