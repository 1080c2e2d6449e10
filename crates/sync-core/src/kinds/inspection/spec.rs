//! Every rule about an inspection: a complete checklist with findings described, the
//! inspector's sign-off, and the corrective actions its findings raise.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Inspection, InspectionStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::parts::{Signature, checklist, is_blank, signatures};
use crate::program::ActionSeed;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in an inspection's document.
pub mod paths {
    pub const SIGN_OFF: &str = "inspection/sign_off/stamp";
    pub const COMPLETED: &str = "inspection/completed";
}

impl KindSpec for Inspection {
    const NAME: &'static str = "inspection";
    const LABEL: &'static str = "Inspection";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["created", "signed", "completed"];
    const STATUSES: &'static [&'static str] = super::InspectionStatus::NAMES;
}

impl RecordKind for Inspection {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn content_hash(&self) -> String {
        Inspection::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.title) {
            out.push(Finding::blocking(
                "inspection.title_required",
                "title",
                "say what is inspected",
            ));
        }
        if is_blank(&self.inspector_id) {
            out.push(Finding::blocking(
                "inspection.inspector_required",
                "inspector_id",
                "name the inspector",
            ));
        }
        checklist::validate(&self.items, "inspection", "items", out);
        if self.sign_off.is_none() {
            out.push(Finding::blocking(
                "inspection.sign_off_required",
                "sign_off",
                "the inspector must sign off",
            ));
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        // A finding is followed up on the corrective action it raises, where its overdue flag
        // lives; a missed inspection is the schedule's flag, since no record exists for it.
        Vec::new()
    }

    fn raised_actions(&self) -> Vec<ActionSeed> {
        if self.status != InspectionStatus::Completed {
            return Vec::new();
        }
        checklist::failures_to_act_on(&self.items, false, &self.title, None)
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
            assignee: Some(&self.inspector_id),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("Inspection", &self.title),
            EvidenceRow::person("Inspector", &self.inspector_id),
        ];
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
        if self.status == InspectionStatus::Completed {
            return Err(Error::Lifecycle("this inspection is already completed".into()));
        }
        self.status = InspectionStatus::Completed;
        self.completed = Some(stamp);
        Ok(())
    }

    fn sign(&mut self, signature: Signature) -> Result<()> {
        if self.inspector_id != signature.user_id {
            return Err(Error::Lifecycle("only the inspector signs the inspection off".into()));
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
