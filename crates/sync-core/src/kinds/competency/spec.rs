//! Every rule about a competency verification: a full checklist with every item passed, signed by
//! a verifier who is not the worker.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Competency, CompetencyStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::model::ItemResult;
use crate::parts::{Signature, checklist, is_blank, signatures};
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a competency verification's document.
pub mod paths {
    pub const VERIFIER: &str = "competency/verifier/stamp";
    pub const VERIFIED: &str = "competency/verified";
}

impl KindSpec for Competency {
    const NAME: &'static str = "competency";
    const LABEL: &'static str = "Competency verification";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["signed"];
    const STATUSES: &'static [&'static str] = super::CompetencyStatus::NAMES;
}

impl RecordKind for Competency {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("{} competency: {}", self.equipment_type, self.worker_id)
    }

    fn content_hash(&self) -> String {
        Competency::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.worker_id) {
            out.push(Finding::blocking(
                "competency.worker_required",
                "worker_id",
                "name the worker verified",
            ));
        }
        if is_blank(&self.equipment_type) {
            out.push(Finding::blocking(
                "competency.equipment_type_required",
                "equipment_type",
                "name the type of equipment",
            ));
        }
        checklist::validate(&self.items, "competency", "items", out);
        for (i, item) in self.items.iter().enumerate() {
            if item.result == Some(ItemResult::Fail) {
                out.push(Finding::blocking(
                    "competency.item_failed",
                    format!("items[{i}].result"),
                    format!("'{}' was not shown competently: verify again after training", item.label),
                ));
            }
        }
        match &self.verifier {
            None => out.push(Finding::blocking(
                "competency.verifier_signature_required",
                "verifier",
                "the verifier must sign",
            )),
            Some(sig) if sig.content_hash != self.content_hash() => out.push(Finding::warning(
                "competency.signature_stale",
                "verifier",
                format!("{} signed before the checklist changed", sig.name),
            )),
            Some(_) => {}
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        Vec::new()
    }

    fn program_fact_from(&self) -> Option<i64> {
        let verifier = self.verifier.as_ref()?;
        (self.status == CompetencyStatus::Verified).then_some(verifier.stamp.wall_ms)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.verifier
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::VERIFIER, &s.stamp)),
        );
        out.extend(
            self.verified
                .iter()
                .map(|s| Event::new("verified", None, paths::VERIFIED, s)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.verifier.iter_mut().for_each(|s| f(&mut s.stamp));
        self.verified.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.verified.as_ref(),
            assignee: Some(&self.worker_id),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::person("Worker", &self.worker_id),
            EvidenceRow::new("Equipment type", &self.equipment_type),
        ];
        rows.extend(checklist::evidence_rows(&self.items));
        if let Some(sig) = &self.verifier {
            rows.push(EvidenceRow::new("Verified by", &sig.name));
            rows.push(EvidenceRow::time("Verified", sig.stamp.wall_ms));
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
        if self.status == CompetencyStatus::Verified {
            return Err(Error::Lifecycle("this competency is already verified".into()));
        }
        self.status = CompetencyStatus::Verified;
        self.verified = Some(stamp);
        Ok(())
    }

    fn sign(&mut self, signature: Signature) -> Result<()> {
        if signature.user_id == self.worker_id {
            return Err(Error::Lifecycle(
                "a worker cannot verify their own competency: the verifier signs".into(),
            ));
        }
        self.verifier = Some(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let before_sig = before.and_then(|b| b.verifier.as_ref());
        signatures::check_own_sign_off(before_sig, self.verifier.as_ref(), writer)?;
        if before_sig != self.verifier.as_ref() && self.verifier.is_some() {
            if writer.user_id == self.worker_id {
                return Err(WriteRefusal::new(
                    RejectCode::SignatureForged,
                    format!("{} cannot verify their own competency", writer.name),
                ));
            }
            if !writer.supervises() {
                return Err(WriteRefusal::new(
                    RejectCode::ApprovalNotPermitted,
                    format!("{} may not verify competencies: a supervisor or admin does", writer.name),
                ));
            }
        }
        Ok(())
    }
}
