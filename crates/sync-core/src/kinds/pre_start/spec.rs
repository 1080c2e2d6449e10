//! Every rule about an equipment pre-start: validation, the out-of-service flag, timeline,
//! lifecycle and who may sign it off.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{PreStart, PreStartStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag, codes};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::parts::{Signature, checklist, is_blank, signatures};
use crate::program::{self, ActionSeed, ProgramNeeds, Unqualified};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a pre-start's document.
pub mod paths {
    pub const SIGN_OFF: &str = "pre_start/sign_off/stamp";
    pub const COMPLETED: &str = "pre_start/completed";
}

impl PreStart {
    /// The operator's competency and certificates for the registered unit at the moment they
    /// signed off (or completed, or started), corrected as the context allows.
    fn operator_flags(&self, context: &Context) -> Vec<Flag> {
        let Some(program) = &context.program else {
            return Vec::new();
        };
        let Some(unit) = &program.unit else {
            return Vec::new();
        };
        let (path, stamp) = match (&self.sign_off, &self.completed) {
            (Some(s), _) => (paths::SIGN_OFF, &s.stamp),
            (None, Some(c)) => (paths::COMPLETED, c),
            (None, None) => return Vec::new(),
        };
        let at = context.time(path, stamp).ms;
        program::operator_gaps(unit, program.people.get(&self.operator_id), at)
            .into_iter()
            .map(|gap| match gap {
                Unqualified::NoCompetency { equipment_type, held } => Flag::new(
                    codes::OPERATOR_NOT_COMPETENT,
                    format!(
                        "the operator had no verified competency on {equipment_type} equipment when checking unit {}",
                        unit.unit_id
                    ),
                )
                .with("competencies_held", held)
                .with("equipment_type", equipment_type),
                Unqualified::Certificate { certificate_type, found } => Flag::new(
                    codes::CERTIFICATE_NOT_CURRENT,
                    format!(
                        "unit {} requires a current {certificate_type} certificate; the operator's was not current that day",
                        unit.unit_id
                    ),
                )
                .with("certificate_type", certificate_type)
                .with("certificates_held", found),
            })
            .map(|flag| {
                flag.with("operator", self.operator_id.clone())
                    .with("unit", unit.unit_id.clone())
                    .with("at", crate::clock::format_utc(at))
            })
            .collect()
    }
}

impl KindSpec for PreStart {
    const NAME: &'static str = "pre_start";
    const LABEL: &'static str = "Equipment pre-start";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["created", "signed", "completed"];
    const STATUSES: &'static [&'static str] = super::PreStartStatus::NAMES;
    const READS_PROGRAM: bool = true;
}

impl RecordKind for PreStart {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        let unit = &self.unit;
        if unit.make_model.is_empty() {
            format!("Pre-start {}", unit.unit_id)
        } else {
            format!("Pre-start {} ({})", unit.unit_id, unit.make_model)
        }
    }

    fn content_hash(&self) -> String {
        PreStart::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.unit.unit_id) {
            out.push(Finding::blocking(
                "pre_start.unit_required",
                "unit.unit_id",
                "name the equipment unit",
            ));
        }
        checklist::validate(&self.items, "pre_start", "items", out);
        for item in self.failed_critical_items() {
            out.push(Finding::warning(
                "pre_start.out_of_service",
                "unit",
                format!(
                    "unit {} is out of service: critical item '{}' failed",
                    self.unit.unit_id, item.label
                ),
            ));
        }
        if self.sign_off.is_none() {
            out.push(Finding::blocking(
                "pre_start.sign_off_required",
                "sign_off",
                "the operator must sign off",
            ));
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self
            .failed_critical_items()
            .map(|item| {
                Flag::new(
                    codes::OUT_OF_SERVICE,
                    format!(
                        "unit {} out of service: '{}' failed",
                        self.unit.unit_id, item.label
                    ),
                )
                .with("unit", self.unit.unit_id.clone())
                .with("item", item.label.clone())
                .with("defect_note", item.defect_note.clone().unwrap_or_default())
            })
            .collect();
        flags.extend(self.operator_flags(context));
        flags
    }

    fn program_needs(&self) -> ProgramNeeds {
        ProgramNeeds {
            people: vec![self.operator_id.clone()],
            unit_id: Some(self.unit.unit_id.clone()),
        }
    }

    fn raised_actions(&self) -> Vec<ActionSeed> {
        if self.status != PreStartStatus::Completed {
            return Vec::new();
        }
        let context = format!("Pre-start of unit {}", self.unit.unit_id);
        checklist::failures_to_act_on(&self.items, true, &context, Some(&self.unit.unit_id))
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.sign_off
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGN_OFF, &s.stamp)),
        );
        out.extend(
            self.completed
                .iter()
                .map(|s| Event::new("completed", None, paths::COMPLETED, s)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.sign_off.iter_mut().for_each(|s| f(&mut s.stamp));
        self.completed.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.completed.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![EvidenceRow::new("Unit", self.title())];
        if let Some(serial) = &self.unit.serial {
            rows.push(EvidenceRow::new("Serial", serial));
        }
        if let Some(hours) = self.unit.hour_meter {
            rows.push(EvidenceRow::new("Hour meter", format!("{hours}")));
        }
        rows.push(EvidenceRow::person("Operator", &self.operator_id));
        rows.extend(checklist::evidence_rows(&self.items));
        if let Some(s) = &self.sign_off {
            rows.push(EvidenceRow::new("Signed off by", &s.name));
        }
        rows
    }

    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()> {
        merge_rules::failures_stand(doc, body, &mut self.items)
    }

    fn guarded_fields(&self, out: &mut BTreeMap<Field, Guarded>) {
        checklist::guard_results(&self.items, out);
    }

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == PreStartStatus::Completed {
            return Err(Error::Lifecycle("this pre-start is already completed".into()));
        }
        self.status = PreStartStatus::Completed;
        self.completed = Some(stamp);
        Ok(())
    }

    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.operator_id != signature.user_id {
            return Err(Error::Lifecycle(
                "only the operator who did the check signs it off".into(),
            ));
        }
        self.sign_off = Some(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_sign_off(
            before.and_then(|b| b.sign_off.as_ref()),
            self.sign_off.as_ref(),
            writer,
        )
    }
}
