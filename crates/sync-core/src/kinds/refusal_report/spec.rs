//! Every rule about a refusal report: what reporting needs, what closing needs (each named), the
//! open flag, and that only a supervisor or manager closes it, in their own name.
//!
//! Closing is a signature over the whole report, so it is the lifecycle's `sign` step taken on a
//! reported refusal; the bare `close` step, which names no one, is refused.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{RefusalOutcome, RefusalReport, RefusalStatus};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Signature, is_blank, signatures};
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a refusal report's document.
pub mod paths {
    pub const REPORTED: &str = "refusal_report/reported";
    pub const CLOSED: &str = "refusal_report/closed/stamp";
}

pub mod codes {
    /// Reported and not yet closed: the danger may still be there.
    pub const OPEN: &str = "refusal_report.open";
    /// The report changed after the supervisor or manager closed it.
    pub const STALE_CLOSURE: &str = "refusal_report.stale_closure";
}

impl KindSpec for RefusalReport {
    const NAME: &'static str = "refusal_report";
    const LABEL: &'static str = "Refusal of dangerous work";
    /// It names a worker: their colleagues do not read it.
    const VISIBILITY: Visibility = Visibility::CreatorAndSupervisors;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::RefusalStatus::NAMES;
}

impl RefusalReport {
    /// What closing still needs, each finding naming its field.
    pub fn close_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if is_blank(&self.inspection) {
            out.push(Finding::blocking(
                "refusal_report.inspection_required",
                "inspection",
                "write what the inspection of the refused work found",
            ));
        }
        if self.inspected_by.as_deref().is_none_or(is_blank) {
            out.push(Finding::blocking(
                "refusal_report.inspected_by_required",
                "inspected_by",
                "name who inspected the refused work",
            ));
        }
        if is_blank(&self.remedy) {
            out.push(Finding::blocking(
                "refusal_report.remedy_required",
                "remedy",
                "write what was done about the danger",
            ));
        }
        if self.outcome == RefusalOutcome::Pending {
            out.push(Finding::blocking(
                "refusal_report.outcome_required",
                "outcome",
                "say how the refusal was resolved",
            ));
        }
        if !self.copies_given {
            out.push(Finding::blocking(
                "refusal_report.copies_required",
                "copies_given",
                "give the worker (and the health and safety committee or representative) a copy of the report",
            ));
        }
        out
    }
}

impl RecordKind for RefusalReport {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("Refused: {}", self.work_refused)
    }

    fn content_hash(&self) -> String {
        RefusalReport::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.worker_id) {
            out.push(Finding::blocking(
                "refusal_report.worker_required",
                "worker_id",
                "name the worker who refused",
            ));
        }
        if is_blank(&self.work_refused) {
            out.push(Finding::blocking(
                "refusal_report.work_required",
                "work_refused",
                "say what work was refused",
            ));
        }
        if is_blank(&self.hazard) {
            out.push(Finding::blocking(
                "refusal_report.hazard_required",
                "hazard",
                "say what danger the worker believed there was",
            ));
        }
        if self.refused_ms <= 0 {
            out.push(Finding::blocking(
                "refusal_report.refused_required",
                "refused_ms",
                "say when the work was refused",
            ));
        }
        // Once reported, what closing needs is shown, so the supervisor sees what is left.
        if self.status == RefusalStatus::Reported {
            out.extend(self.close_findings());
        }
        if let Some(sig) = &self.closed
            && sig.content_hash != self.content_hash()
        {
            out.push(Finding::warning(
                "refusal_report.closure_stale",
                "closed",
                format!("{} closed a version of the report that has since changed", sig.name),
            ));
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.status == RefusalStatus::Reported
            && self.closed.is_none()
            && let Some(reported) = &self.reported
        {
            flags.push(
                Flag::new(
                    codes::OPEN,
                    "a refusal of dangerous work is reported and not yet closed",
                )
                .with("since", format_utc(reported.wall_ms))
                .with("refused", format_utc(self.refused_ms))
                .with("worker", self.worker_id.clone())
                .with("outcome", self.outcome.as_str()),
            );
        }
        if let Some(sig) = &self.closed
            && sig.content_hash != self.content_hash()
        {
            flags.push(
                Flag::new(
                    codes::STALE_CLOSURE,
                    format!("{} closed a version of the report that has since changed", sig.name),
                )
                .with("closed_by", sig.user_id.clone())
                .with("closed", format_utc(sig.stamp.wall_ms))
                .with("signed_hash", sig.content_hash.clone())
                .with("current_hash", self.content_hash()),
            );
        }
        flags
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.reported
                .iter()
                .map(|s| Event::new("reported", None, paths::REPORTED, s)),
        );
        out.extend(
            self.closed
                .iter()
                .map(|s| Event::new("closed", Some(&s.user_id), paths::CLOSED, &s.stamp)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.reported.iter_mut().for_each(&mut *f);
        self.closed.iter_mut().for_each(|s| f(&mut s.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.reported.as_ref(),
            closed: self.closed.as_ref().map(|s| &s.stamp),
            assignee: self.inspected_by.as_deref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::person("Worker", &self.worker_id),
            EvidenceRow::new("Work refused", &self.work_refused),
            EvidenceRow::new("Danger believed", &self.hazard),
            EvidenceRow::time("Refused", self.refused_ms),
            EvidenceRow::new("Inspection found", &self.inspection),
        ];
        if let Some(by) = &self.inspected_by {
            rows.push(EvidenceRow::person("Inspected by", by));
        }
        rows.push(EvidenceRow::new("Remedy", &self.remedy));
        rows.push(EvidenceRow::new("Outcome", self.outcome.as_str()));
        rows.push(EvidenceRow::new(
            "Copies given",
            if self.copies_given { "yes" } else { "no" },
        ));
        if let Some(sig) = &self.closed {
            let state = if sig.content_hash == self.content_hash() {
                "this report"
            } else {
                "an earlier version of the report"
            };
            rows.push(EvidenceRow::new("Closed by", format!("{} ({state})", sig.name)));
            rows.push(EvidenceRow::time("Closed", sig.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: a merge cannot close a refusal, since closing is a signature bound
        // to the report as it stood, and the open flag reads the status and that signature.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    /// Reports the refusal.
    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status != RefusalStatus::Draft {
            return Err(Error::Lifecycle("this refusal is already reported".into()));
        }
        self.status = RefusalStatus::Reported;
        self.reported = Some(stamp);
        Ok(())
    }

    /// A supervisor or manager closes the reported refusal with their signature over the whole
    /// report, once the inspection, remedy, outcome and copies are on it.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.status != RefusalStatus::Reported {
            return Err(Error::Lifecycle(format!(
                "only a reported refusal is closed; this one is {}",
                self.status
            )));
        }
        let findings = self.close_findings();
        if !findings.is_empty() {
            return Err(Error::Blocked(findings));
        }
        self.status = RefusalStatus::Closed;
        self.closed = Some(signature);
        Ok(())
    }

    fn close(&mut self, _stamp: Stamp) -> Result<()> {
        Err(Error::Lifecycle(
            "a refusal report is closed by a supervisor's or manager's signature: sign it to close it".into(),
        ))
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let old = before.and_then(|b| b.closed.as_ref());
        signatures::check_own_sign_off(old, self.closed.as_ref(), writer)?;
        let closing = old != self.closed.as_ref()
            || (before.map(|b| b.status) != Some(self.status) && self.status == RefusalStatus::Closed);
        // Taking a reported refusal back to a draft, or changing when it was reported, would
        // clear its open flag and drop it from the record: the same people decide that.
        let reverted = before.is_some_and(|b| {
            b.reported != self.reported || (b.status != RefusalStatus::Draft && self.status == RefusalStatus::Draft)
        });
        if reverted && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not withdraw a reported refusal: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        if closing && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not close a refusal report: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        Ok(())
    }
}
