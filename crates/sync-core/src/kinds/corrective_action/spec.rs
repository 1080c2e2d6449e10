//! Every rule about a corrective action: what it needs before it is raised, the overdue flag,
//! resolving, and verification by someone other than the resolver.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{ActionStatus, CorrectiveAction};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::model::ApprovalDecision;
use crate::parts::{Approval, Signature, approval, assignment, is_blank, signatures};
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a corrective action's document.
pub mod paths {
    pub const RAISED: &str = "corrective_action/raised";
    pub const RESOLVED: &str = "corrective_action/resolved/stamp";
    pub const VERIFIED: &str = "corrective_action/verification/stamp";
}

pub mod codes {
    /// Not closed and past its due date.
    pub const OVERDUE: &str = "corrective_action.overdue";
    /// Verified fixed by a person who did not see the fix vouched for (the content changed after).
    pub const STALE_VERIFICATION: &str = "corrective_action.stale_verification";
}

const DAY_MS: i64 = 86_400_000;

impl KindSpec for CorrectiveAction {
    const NAME: &'static str = "corrective_action";
    const LABEL: &'static str = "Corrective action";
    const VISIBILITY: Visibility = Visibility::Site;
    /// A fix is verified where the hazard was: resolving and verifying happen at the work.
    const ON_SITE_EVENTS: &'static [&'static str] = &["resolved", "verified"];
    const STATUSES: &'static [&'static str] = super::ActionStatus::NAMES;
}

impl RecordKind for CorrectiveAction {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        if is_blank(&self.action) {
            self.hazard.clone()
        } else {
            self.action.clone()
        }
    }

    fn content_hash(&self) -> String {
        CorrectiveAction::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.hazard) {
            out.push(Finding::blocking(
                "corrective_action.hazard_required",
                "hazard",
                "describe the hazard or deficiency found",
            ));
        }
        if is_blank(&self.action) {
            out.push(Finding::blocking(
                "corrective_action.action_required",
                "action",
                "say what will be done about it",
            ));
        }
        assignment::validate(&self.assignment, "corrective_action", "assignment", out);
        if self.assignment.due_ms.is_none() {
            out.push(Finding::blocking(
                "corrective_action.due_date_required",
                "assignment.due_ms",
                "set a date it must be done by",
            ));
        }
        if self.identified_ms <= 0 {
            out.push(Finding::blocking(
                "corrective_action.identified_required",
                "identified_ms",
                "say when the hazard was identified",
            ));
        }
        if let Some(source) = &self.source
            && !source.kind_is_known()
        {
            out.push(Finding::warning(
                "corrective_action.source_unknown",
                "source.kind",
                format!("the source record's kind '{}' is not one this app knows", source.kind),
            ));
        }
        if let Some(resolved) = &self.resolved
            && resolved.content_hash != self.content_hash()
        {
            out.push(Finding::warning(
                "corrective_action.resolution_stale",
                "resolved",
                format!("{} resolved a version of the action that has since changed", resolved.name),
            ));
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if let Some(now) = context.now_ms
            && self.overdue(now)
            && let Some(due) = self.assignment.due_ms
        {
            let days = (now - due) / DAY_MS;
            flags.push(
                Flag::new(
                    codes::OVERDUE,
                    format!("the corrective action is {} past its due date", days_in_words(days)),
                )
                .with("assignee", self.assignment.assignee.clone())
                .with("due", format_utc(due))
                .with("judged_at", format_utc(now))
                .with("status", self.status.as_str()),
            );
        }
        if let Some(v) = &self.verification
            && v.decision == ApprovalDecision::Approved
            && v.content_hash != self.content_hash()
        {
            flags.push(
                Flag::new(
                    codes::STALE_VERIFICATION,
                    format!("{} verified a version of the action that has since changed", v.by_name),
                )
                .with("verifier", v.by_user_id.clone())
                .with("verified_hash", v.content_hash.clone())
                .with("current_hash", self.content_hash()),
            );
        }
        flags
    }

    fn flags_change_at(&self, now_ms: i64) -> Option<i64> {
        let due = self.assignment.due_ms?;
        (self.status != ActionStatus::Closed && self.status != ActionStatus::Draft && due > now_ms)
            .then_some(due + 1)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(self.raised.iter().map(|s| Event::new("raised", None, paths::RAISED, s)));
        out.extend(
            self.resolved
                .iter()
                .map(|s| Event::new("resolved", Some(&s.user_id), paths::RESOLVED, &s.stamp)),
        );
        out.extend(self.verification.iter().map(|v| {
            let name = match v.decision {
                ApprovalDecision::Approved => "verified",
                ApprovalDecision::Rejected => "not_verified",
            };
            Event::new(name, Some(&v.by_user_id), paths::VERIFIED, &v.stamp)
        }));
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.raised.iter_mut().for_each(&mut *f);
        self.resolved.iter_mut().for_each(|s| f(&mut s.stamp));
        self.verification.iter_mut().for_each(|v| f(&mut v.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.resolved.as_ref().map(|s| &s.stamp),
            closed: self
                .verification
                .as_ref()
                .filter(|_| self.status == ActionStatus::Closed)
                .map(|v| &v.stamp),
            assignee: Some(&self.assignment.assignee),
            due_ms: self.assignment.due_ms,
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = Vec::new();
        if let Some(source) = &self.source {
            let kind = crate::kinds::Kind::parse(&source.kind).map_or(source.kind.as_str(), |k| k.label());
            rows.push(EvidenceRow::new("Source", format!("{kind} {}", source.record_id)));
        }
        rows.push(EvidenceRow::new("Hazard", &self.hazard));
        rows.push(EvidenceRow::new("Action", &self.action));
        if let Some(unit) = &self.unit_id {
            rows.push(EvidenceRow::new("Unit held out of service", unit));
        }
        rows.push(EvidenceRow::person("Assigned to", &self.assignment.assignee));
        rows.push(EvidenceRow::time("Identified", self.identified_ms));
        if let Some(due) = self.assignment.due_ms {
            rows.push(EvidenceRow::time("Due", due));
        }
        if let Some(note) = &self.resolution_note {
            rows.push(EvidenceRow::new("What was done", note));
        }
        if let Some(s) = &self.resolved {
            rows.push(EvidenceRow::new("Resolved by", &s.name));
            rows.push(EvidenceRow::time("Resolved", s.stamp.wall_ms));
        }
        if let Some(v) = &self.verification {
            let outcome = match v.decision {
                ApprovalDecision::Approved => "fix verified",
                ApprovalDecision::Rejected => "fix not verified",
            };
            let comment = v.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
            rows.push(EvidenceRow::new("Verification", format!("{outcome} by {}{comment}", v.by_name)));
        }
        rows
    }

    /// Two people verifying at once and disagreeing: the fix did not work (the action is open
    /// again, its resolution no longer standing), whichever write last-writer-wins favoured.
    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()> {
        if let Some(rejection) = merge_rules::rejection_stands(doc, body, "verification")? {
            self.verification = Some(rejection);
            self.status = ActionStatus::Open;
            self.resolved = None;
        }
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    /// Raises the action: it is open from now and its assignee is on the hook.
    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status != ActionStatus::Draft {
            return Err(Error::Lifecycle("this corrective action is already raised".into()));
        }
        self.status = ActionStatus::Open;
        self.raised = Some(stamp);
        Ok(())
    }

    /// The resolver signs that the fix is done, after writing what was done.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.status != ActionStatus::Open {
            return Err(Error::Lifecycle(format!(
                "only an open corrective action is resolved; this one is {}",
                self.status
            )));
        }
        if self.resolution_note.as_deref().is_none_or(is_blank) {
            return Err(Error::Invalid("say what was done to fix it before resolving".into()));
        }
        self.status = ActionStatus::Resolved;
        self.resolved = Some(signature);
        Ok(())
    }

    /// Verification: the fix worked (closed), or it did not (open again, the reason kept).
    fn decide(&mut self, verification: Approval) -> Result<()> {
        if self.status != ActionStatus::Resolved {
            return Err(Error::Lifecycle(format!(
                "only a resolved corrective action is verified; this one is {}",
                self.status
            )));
        }
        if self
            .resolved
            .as_ref()
            .is_some_and(|r| r.user_id == verification.by_user_id)
        {
            return Err(Error::Lifecycle(
                "the person who resolved an action cannot verify it: someone else checks the fix".into(),
            ));
        }
        self.status = match verification.decision {
            ApprovalDecision::Approved => ActionStatus::Closed,
            ApprovalDecision::Rejected => ActionStatus::Open,
        };
        if verification.decision == ApprovalDecision::Rejected {
            self.resolved = None;
        }
        self.verification = Some(verification);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_sign_off(
            before.and_then(|b| b.resolved.as_ref()),
            self.resolved.as_ref(),
            writer,
        )?;
        approval::check_decision(
            before.map(|b| &b.verification),
            &self.verification,
            false,
            writer,
            "corrective actions",
        )?;
        // A failed verification clears the resolution (the lifecycle, not a forgery), so the
        // resolver is read from before the change too.
        let verified_now =
            self.verification.is_some() && before.map(|b| &b.verification) != Some(&self.verification);
        if verified_now {
            let resolver = before.and_then(|b| b.resolved.as_ref()).or(self.resolved.as_ref());
            if resolver.is_some_and(|r| r.user_id == writer.user_id) {
                return Err(WriteRefusal::new(
                    RejectCode::ApprovalNotPermitted,
                    format!("{} resolved this action and cannot also verify it", writer.name),
                ));
            }
        }
        Ok(())
    }
}

fn days_in_words(days: i64) -> String {
    match days {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}
