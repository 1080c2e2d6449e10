//! Every rule about an investigation: what completing and closing need (causes beyond the worker,
//! actions that change the work), the actions raised on the log, and that only a supervisor or
//! manager writes one.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Investigation, InvestigationStatus};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Signature, is_blank, signatures};
use crate::program::ActionSeed;
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in an investigation's document.
pub mod paths {
    pub const SIGNED: &str = "investigation/signature/stamp";
    pub const COMPLETED: &str = "investigation/completed";
    pub const CLOSED: &str = "investigation/closed";
}

pub mod codes {
    /// Every root cause blames only the worker.
    pub const WORKER_ERROR_ONLY: &str = "investigation.worker_error_only";
    /// Every action only asks a person to behave better.
    pub const PERSON_ONLY_ACTIONS: &str = "investigation.person_only_actions";
    /// The investigation changed after the lead investigator signed it.
    pub const STALE_SIGNATURE: &str = "investigation.stale_signature";
}

impl KindSpec for Investigation {
    const NAME: &'static str = "investigation";
    const LABEL: &'static str = "Investigation";
    /// It names the people involved: their colleagues do not read it.
    const VISIBILITY: Visibility = Visibility::CreatorAndSupervisors;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::InvestigationStatus::NAMES;
}

impl Investigation {
    /// Every finding that blocks completing and closing.
    fn blocking_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        self.validate(&mut out);
        out.retain(Finding::is_blocking);
        out
    }

    /// Refuses a step when the sign-off vouches for an earlier version of the investigation.
    fn signed_as_it_stands(&self) -> Result<()> {
        if self.signature.as_ref().is_some_and(|s| s.content_hash != self.content_hash()) {
            return Err(Error::Lifecycle(
                "the investigation changed after it was signed: the lead investigator signs it again".into(),
            ));
        }
        Ok(())
    }
}

/// A finding when `list` holds no entry with text.
fn required_list(list: &[String], rule: &str, path: &str, message: &str, out: &mut Vec<Finding>) {
    if !list.iter().any(|s| !is_blank(s)) {
        out.push(Finding::blocking(rule, path, message));
    }
}

impl RecordKind for Investigation {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("Investigation of {}", self.subject_id)
    }

    fn content_hash(&self) -> String {
        Investigation::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.subject_id) {
            out.push(Finding::blocking(
                "investigation.subject_required",
                "subject_id",
                "name the incident or near miss investigated",
            ));
        }
        required_list(
            &self.sequence,
            "investigation.sequence_required",
            "sequence",
            "write what happened, step by step",
            out,
        );
        required_list(
            &self.immediate_causes,
            "investigation.immediate_cause_required",
            "immediate_causes",
            "name at least one immediate cause",
            out,
        );
        required_list(
            &self.root_causes,
            "investigation.root_cause_required",
            "root_causes",
            "name at least one root cause",
            out,
        );
        if self.blames_worker_only() {
            out.push(Finding::blocking(
                codes::WORKER_ERROR_ONLY,
                "root_causes",
                "every root cause blames the worker: an auditor wants what in the system of work let it \
                 happen (the procedure, training, equipment, design, supervision or planning)",
            ));
        }
        if !self.actions.iter().any(|a| !is_blank(&a.action)) {
            out.push(Finding::blocking(
                "investigation.action_required",
                "actions",
                "name at least one action, with who does it and by when",
            ));
        }
        for (i, action) in self.actions.iter().enumerate() {
            if is_blank(&action.action) {
                out.push(Finding::blocking(
                    "investigation.action_text_required",
                    format!("actions[{i}].action"),
                    "say what will be done",
                ));
            }
            if is_blank(&action.assignee) {
                out.push(Finding::blocking(
                    "investigation.action_assignee_required",
                    format!("actions[{i}].assignee"),
                    "name the person responsible",
                ));
            }
            if action.due_ms.is_none_or(|d| d <= 0) {
                out.push(Finding::blocking(
                    "investigation.action_due_date_required",
                    format!("actions[{i}].due_ms"),
                    "set a date it must be done by",
                ));
            }
        }
        if self.person_only_actions() {
            out.push(Finding::blocking(
                codes::PERSON_ONLY_ACTIONS,
                "actions",
                "every action asks a person to behave better: an auditor wants a control that changes the \
                 work (eliminate the hazard, substitute, engineer it out, or change the procedure, \
                 training, equipment or planning)",
            ));
        }
        match &self.signature {
            None => out.push(Finding::blocking(
                "investigation.signature_required",
                "signature",
                "the lead investigator must sign the investigation",
            )),
            Some(sig) if sig.content_hash != self.content_hash() => out.push(Finding::warning(
                "investigation.signature_stale",
                "signature",
                format!("{} signed before the investigation changed", sig.name),
            )),
            Some(_) => {}
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        let current = self.content_hash();
        self.signature
            .iter()
            .filter(|s| s.content_hash != current)
            .map(|sig| {
                signatures::stale_flag(codes::STALE_SIGNATURE, format!("{} signed a version of the investigation that has since changed", sig.name), sig, &current)
            })
            .collect()
    }

    /// Once completed, each action goes on the corrective action log, to its assignee by its date.
    fn raised_actions(&self) -> Vec<ActionSeed> {
        if self.status == InvestigationStatus::Draft {
            return Vec::new();
        }
        let causes: Vec<&str> = self
            .root_causes
            .iter()
            .filter(|c| !is_blank(c))
            .map(String::as_str)
            .collect();
        let hazard = if causes.is_empty() {
            format!("Found by the investigation of {}", self.subject_id)
        } else {
            format!("Found by the investigation of {}: {}", self.subject_id, causes.join("; "))
        };
        self.actions
            .iter()
            .filter(|a| !is_blank(&a.action))
            .map(|a| ActionSeed {
                item_id: a.id.clone(),
                hazard: hazard.clone(),
                action: a.action.clone(),
                unit_id: None,
                assignee: Some(a.assignee.clone()).filter(|p| !is_blank(p)),
                due_ms: a.due_ms.filter(|d| *d > 0),
            })
            .collect()
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.signature
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGNED, &s.stamp)),
        );
        out.extend(
            self.completed
                .iter()
                .map(|s| Event::new("completed", None, paths::COMPLETED, s)),
        );
        out.extend(self.closed.iter().map(|s| Event::new("closed", None, paths::CLOSED, s)));
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signature.iter_mut().for_each(|s| f(&mut s.stamp));
        self.completed.iter_mut().for_each(&mut *f);
        self.closed.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.completed.as_ref(),
            closed: self.closed.as_ref(),
            assignee: self.signature.as_ref().map(|s| s.user_id.as_str()),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![EvidenceRow::new("Investigated", &self.subject_id)];
        rows.extend(self.sequence.iter().map(|s| EvidenceRow::new("What happened", s)));
        rows.extend(
            self.immediate_causes
                .iter()
                .map(|c| EvidenceRow::new("Immediate cause", c)),
        );
        rows.extend(self.root_causes.iter().map(|c| EvidenceRow::new("Root cause", c)));
        for a in &self.actions {
            let due = a
                .due_ms
                .map(|d| format!(", due {}", format_utc(d)))
                .unwrap_or_default();
            rows.push(EvidenceRow::new("Action", format!("{} ({}{due})", a.action, a.assignee)));
        }
        if let Some(sig) = &self.signature {
            let state = if sig.content_hash == self.content_hash() {
                "this investigation"
            } else {
                "an earlier version"
            };
            rows.push(EvidenceRow::new("Signed by", format!("{} ({state})", sig.name)));
            rows.push(EvidenceRow::time("Signed", sig.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: the causes and actions are lists that only add up in a merge, so
        // no one's cause or action is lost, and the sign-off is bound to what it signed.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status != InvestigationStatus::Draft {
            return Err(Error::Lifecycle("this investigation is already completed".into()));
        }
        self.signed_as_it_stands()?;
        self.status = InvestigationStatus::Completed;
        self.completed = Some(stamp);
        Ok(())
    }

    /// The lead investigator signs off the whole investigation, again after a change to a
    /// completed one.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.status == InvestigationStatus::Closed {
            return Err(Error::Lifecycle("a closed investigation is not signed again".into()));
        }
        self.signature = Some(signature);
        Ok(())
    }

    /// Closed once completed, and only while nothing blocks it (an edit since may have).
    fn close(&mut self, stamp: Stamp) -> Result<()> {
        if self.status != InvestigationStatus::Completed {
            return Err(Error::Lifecycle(format!(
                "only a completed investigation is closed; this one is {}",
                self.status
            )));
        }
        let findings = self.blocking_findings();
        if !findings.is_empty() {
            return Err(Error::Blocked(findings));
        }
        self.signed_as_it_stands()?;
        self.status = InvestigationStatus::Closed;
        self.closed = Some(stamp);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        if !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!("{} may not write investigations: a supervisor or manager does", writer.name),
            ));
        }
        signatures::check_own_sign_off(
            before.and_then(|b| b.signature.as_ref()),
            self.signature.as_ref(),
            writer,
        )
    }
}
