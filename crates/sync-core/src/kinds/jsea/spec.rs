//! Every rule about a JSEA: validation, flags, timeline, lifecycle and who may write what.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Jsea, JseaStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag, codes, describe, minutes};
use crate::kinds::{EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer};
use crate::merge_rules::{self, Field, Guarded};
use crate::parts::{
    Approval, ApprovalDecision, Reopening, SignOn, Signature, approval, is_blank, signatures,
};
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a JSEA's document.
pub mod paths {
    pub const COMPLETED: &str = "jsea/completed";
    pub const DECISION: &str = "jsea/approval/stamp";
    pub const WORK_STARTED: &str = "jsea/work_started";
    pub const CLOSED: &str = "jsea/closed";
    pub const REOPENED: &str = "jsea/reopened/stamp";

    /// A crew member's signature.
    pub fn signature(user_id: &str) -> String {
        format!("jsea/signatures/{user_id}/stamp")
    }
}

/// Crew members who signed the JSEA at a site where they had not signed an orientation before
/// signing (the site's hazards and emergency procedures are what the orientation covers).
fn unoriented_signers(jsea: &Jsea, context: &Context) -> Vec<Flag> {
    let Some(program) = &context.program else {
        return Vec::new();
    };
    jsea.signatures
        .values()
        .filter_map(|sig| {
            let at = context.time(&paths::signature(&sig.user_id), &sig.stamp).ms;
            let person = program.people.get(&sig.user_id);
            if person.is_some_and(|p| p.oriented(&program.site_id, at).is_some()) {
                return None;
            }
            let later = person
                .into_iter()
                .flat_map(|p| &p.orientations)
                .filter(|o| o.site_id == program.site_id)
                .map(|o| o.signed_ms)
                .min();
            let orientation = match later {
                Some(ms) => format!("signed later, {}", crate::clock::format_utc(ms)),
                None => "none on record".to_owned(),
            };
            Some(
                Flag::new(
                    codes::SIGNER_NOT_ORIENTED,
                    format!(
                        "{} signed the JSEA without a site orientation on record",
                        sig.name
                    ),
                )
                .with("signer", sig.user_id.clone())
                .with("site", program.site_id.clone())
                .with("signed_at", crate::clock::format_utc(at))
                .with("orientation", orientation),
            )
        })
        .collect()
}

impl KindSpec for Jsea {
    const NAME: &'static str = "jsea";
    const LABEL: &'static str = "JSEA / FLHA";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["created", "signed", "completed", "work_started"];
    const STATUSES: &'static [&'static str] = super::JseaStatus::NAMES;
    const READS_PROGRAM: bool = true;
}

impl RecordKind for Jsea {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.task.clone()
    }

    fn content_hash(&self) -> String {
        Jsea::content_hash(self)
    }

    fn still_vouches(&self, signed: &str, current: &str) -> bool {
        Jsea::still_vouches(self, signed, current)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.task) {
            out.push(Finding::blocking(
                "jsea.task_required",
                "task",
                "describe the task being assessed",
            ));
        }
        if is_blank(&self.muster_point) {
            out.push(Finding::blocking(
                "jsea.muster_point_required",
                "muster_point",
                "name the muster point for this work",
            ));
        }
        if self.active_steps().next().is_none() {
            out.push(Finding::blocking(
                "jsea.steps_required",
                "steps",
                "list at least one task step",
            ));
        }
        for (si, step) in self.steps.iter().enumerate().filter(|(_, s)| !s.removed) {
            let step_path = format!("steps[{si}]");
            if is_blank(&step.description) {
                out.push(Finding::blocking(
                    "jsea.step_description_required",
                    format!("{step_path}.description"),
                    format!("step {} has no description", si + 1),
                ));
            }
            if step.active_hazards().next().is_none() {
                out.push(Finding::blocking(
                    "jsea.hazards_required",
                    format!("{step_path}.hazards"),
                    format!("step '{}' has no hazards identified", step.description),
                ));
            }
            for (hi, hazard) in step.hazards.iter().enumerate().filter(|(_, h)| !h.removed) {
                let path = format!("{step_path}.hazards[{hi}]");
                if !hazard.risk.is_valid() {
                    out.push(Finding::blocking(
                        "jsea.risk_rating_invalid",
                        format!("{path}.risk"),
                        format!(
                            "hazard '{}' needs a severity and likelihood from 1 to 5 (got {} and {})",
                            hazard.description, hazard.risk.severity, hazard.risk.likelihood
                        ),
                    ));
                }
                if hazard.active_controls().next().is_none() {
                    out.push(Finding::blocking(
                        "jsea.controls_required",
                        format!("{path}.controls"),
                        format!("hazard '{}' has no controls", hazard.description),
                    ));
                } else if hazard.is_ppe_only() && !hazard.has_justification() {
                    out.push(Finding::blocking(
                        "jsea.ppe_only_without_justification",
                        format!("{path}.ppe_only_justification"),
                        format!(
                            "hazard '{}' has only PPE controls and no justification",
                            hazard.description
                        ),
                    ));
                }
            }
        }
        if self.signatures.is_empty() {
            out.push(Finding::blocking(
                "jsea.crew_signature_required",
                "signatures",
                "at least one crew member must sign on",
            ));
        }
        let current = self.content_hash();
        for (user, sig) in &self.signatures {
            if !self.still_vouches(&sig.content_hash, &current) {
                out.push(Finding::warning(
                    "jsea.signature_stale",
                    format!("signatures.{user}"),
                    format!("{} signed an earlier version; the JSEA changed since", sig.name),
                ));
            }
        }
    }

    fn program_needs(&self) -> crate::program::ProgramNeeds {
        crate::program::ProgramNeeds {
            people: self.signatures.keys().cloned().collect(),
            unit_id: None,
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if let Some(started) = &self.work_started {
            work_started_flags(self, started, context, &mut flags);
        }
        for (si, step) in self.steps.iter().enumerate().filter(|(_, s)| !s.removed) {
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
        flags.extend(unoriented_signers(self, context));
        let current = self.content_hash();
        for sig in self
            .signatures
            .values()
            .filter(|s| !self.still_vouches(&s.content_hash, &current))
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
        if let Some(a) = &self.approval
            && !self.still_vouches(&a.content_hash, &current)
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

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.signatures
                .iter()
                .map(|(key, s)| Event::new("signed", Some(&s.user_id), paths::signature(key), &s.stamp)),
        );
        out.extend(
            self.completed
                .iter()
                .map(|s| Event::new("completed", None, paths::COMPLETED, s)),
        );
        out.extend(self.approval.iter().map(|a| {
            Event::new(
                a.decision.as_str(),
                Some(&a.by_user_id),
                paths::DECISION,
                &a.stamp,
            )
        }));
        out.extend(
            self.work_started
                .iter()
                .map(|s| Event::new("work_started", None, paths::WORK_STARTED, s)),
        );
        out.extend(
            self.closed
                .iter()
                .map(|s| Event::new("closed", None, paths::CLOSED, s)),
        );
        out.extend(
            self.reopened
                .iter()
                .map(|r| Event::new("reopened", Some(&r.by_user_id), paths::REOPENED, &r.stamp)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signatures.values_mut().for_each(|s| f(&mut s.stamp));
        self.completed.iter_mut().for_each(&mut *f);
        self.approval.iter_mut().for_each(|a| f(&mut a.stamp));
        self.work_started.iter_mut().for_each(&mut *f);
        self.closed.iter_mut().for_each(&mut *f);
        self.reopened.iter_mut().for_each(|r| f(&mut r.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.completed.as_ref(),
            work_started: self.work_started.as_ref(),
            closed: self.closed.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![EvidenceRow::new("Task", &self.task)];
        if let Some(location) = &self.location_description {
            rows.push(EvidenceRow::new("Location", location));
        }
        rows.push(EvidenceRow::new("Muster point", &self.muster_point));
        for (n, step) in self.active_steps().enumerate() {
            rows.push(EvidenceRow::new(format!("Step {}", n + 1), &step.description));
            for hazard in step.active_hazards() {
                let controls: Vec<String> = hazard
                    .active_controls()
                    .map(|c| format!("{} ({})", c.description, c.level))
                    .collect();
                rows.push(EvidenceRow::new(
                    format!("Hazard, risk {}", hazard.risk.score()),
                    format!("{}: {}", hazard.description, controls.join("; ")),
                ));
                if let Some(why) = &hazard.ppe_only_justification {
                    rows.push(EvidenceRow::new("Why PPE alone", why));
                }
            }
        }
        let current = self.content_hash();
        for sig in self.signatures.values() {
            let state = if self.still_vouches(&sig.content_hash, &current) {
                "valid"
            } else {
                "stale: the JSEA changed after signing"
            };
            rows.push(EvidenceRow::new("Signed by", format!("{} ({state})", sig.name)));
        }
        if let Some(a) = &self.approval {
            let comment = a.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
            rows.push(EvidenceRow::new(
                "Decision",
                format!("{} by {}{comment}", a.decision, a.by_name),
            ));
        }
        if let Some(r) = &self.reopened {
            rows.push(EvidenceRow::new("Reopened", &r.reason));
        }
        rows
    }

    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()> {
        merge_rules::apply_to_jsea(doc, body, self)
    }

    fn guarded_fields(&self, out: &mut BTreeMap<Field, Guarded>) {
        for step in &self.steps {
            let field = Field::StepRemoved {
                step: step.id.clone(),
            };
            out.insert(field, Guarded::Removed(step.removed));
            for hazard in &step.hazards {
                let id = || hazard.id.clone();
                out.insert(
                    Field::RiskSeverity { hazard: id() },
                    Guarded::Rating(hazard.risk.severity),
                );
                out.insert(
                    Field::RiskLikelihood { hazard: id() },
                    Guarded::Rating(hazard.risk.likelihood),
                );
                out.insert(
                    Field::HazardRemoved { hazard: id() },
                    Guarded::Removed(hazard.removed),
                );
                for control in &hazard.controls {
                    let field = Field::ControlRemoved {
                        hazard: id(),
                        control: control.id.clone(),
                    };
                    out.insert(field, Guarded::Removed(control.removed));
                }
            }
        }
    }

    fn set_removal_mark(&mut self, field: &Field, removed: bool) {
        let mark = match field {
            Field::StepRemoved { step } => self.step_mut(step).map(|s| &mut s.removed),
            Field::HazardRemoved { hazard } => self.hazard_mut(hazard).map(|h| &mut h.removed),
            Field::ControlRemoved { hazard, control } => self
                .hazard_mut(hazard)
                .and_then(|h| h.controls.iter_mut().find(|c| c.id == *control))
                .map(|c| &mut c.removed),
            _ => None,
        };
        if let Some(mark) = mark {
            *mark = removed;
        }
    }

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        let rejected = self
            .approval
            .as_ref()
            .is_some_and(|a| a.decision == ApprovalDecision::Rejected);
        if self.status == JseaStatus::Closed || (self.completed.is_some() && !rejected) {
            return Err(Error::Lifecycle(format!(
                "a JSEA that is {} cannot be completed again",
                self.status
            )));
        }
        // A completion made after work started keeps work_started, so the flag shows it.
        self.status = if self.work_started.is_some() {
            JseaStatus::WorkStarted
        } else {
            JseaStatus::Completed
        };
        self.completed = Some(stamp);
        self.approval = None;
        Ok(())
    }

    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.status == JseaStatus::Closed {
            return Err(Error::Lifecycle("a closed JSEA cannot be signed".into()));
        }
        SignOn {
            crew: &mut self.crew,
            signatures: &mut self.signatures,
        }
        .sign(signature);
        Ok(())
    }

    fn decide(&mut self, approval: Approval) -> Result<()> {
        if self.completed.is_none() {
            return Err(Error::Lifecycle(
                "the crew has not completed this JSEA yet".into(),
            ));
        }
        if self.status == JseaStatus::Closed {
            return Err(Error::Lifecycle(
                "a closed JSEA cannot be approved or rejected".into(),
            ));
        }
        if self.work_started.is_none() {
            self.status = match approval.decision {
                ApprovalDecision::Approved => JseaStatus::Approved,
                ApprovalDecision::Rejected => JseaStatus::Rejected,
            };
        }
        self.approval = Some(approval);
        Ok(())
    }

    /// Never refused for a missing approval: the crew's word is recorded and the flags show what
    /// was missing.
    fn start_work(&mut self, stamp: Stamp) -> Result<()> {
        if self.work_started.is_some() {
            return Err(Error::Lifecycle("work on this JSEA already started".into()));
        }
        if self.status == JseaStatus::Closed {
            return Err(Error::Lifecycle("this JSEA is closed".into()));
        }
        self.work_started = Some(stamp);
        self.status = JseaStatus::WorkStarted;
        Ok(())
    }

    fn close(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == JseaStatus::Closed {
            return Err(Error::Lifecycle("this JSEA is already closed".into()));
        }
        self.closed = Some(stamp);
        self.status = JseaStatus::Closed;
        Ok(())
    }

    /// Conditions changed: the JSEA goes back to draft and must be completed and approved again.
    fn reopen(&mut self, reopening: Reopening) -> Result<()> {
        if self.status == JseaStatus::Draft {
            return Err(Error::Lifecycle("this JSEA is still a draft".into()));
        }
        self.reopened = Some(reopening);
        self.status = JseaStatus::Draft;
        self.completed = None;
        self.approval = None;
        self.closed = None;
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_signatures(before.map(|b| &b.signatures), &self.signatures, writer)?;
        let cleared_by_lifecycle =
            before.is_some_and(|b| b.reopened != self.reopened || b.completed != self.completed);
        approval::check_decision(
            before.map(|b| &b.approval),
            &self.approval,
            cleared_by_lifecycle,
            writer,
            "JSEAs",
        )?;
        let status_changed = before.map(|b| b.status) != Some(self.status);
        if status_changed
            && matches!(self.status, JseaStatus::Approved | JseaStatus::Rejected)
            && !writer.supervises()
        {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!("{} may not mark a JSEA {}", writer.name, self.status),
            ));
        }
        Ok(())
    }
}

fn work_started_flags(jsea: &Jsea, started: &Stamp, context: &Context, flags: &mut Vec<Flag>) {
    let started_at = context.time(paths::WORK_STARTED, started);
    if let Some(completed) = &jsea.completed {
        let completed_at = context.time(paths::COMPLETED, completed);
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
            let approved_at = context.time(paths::DECISION, &a.stamp);
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
