//! Every rule about a drill: the scenario, the participants' own signatures, held.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Drill, DrillStatus, DrillType};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::signatures::SignedContent;
use crate::parts::{SignOn, Signature, is_blank, signatures};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a drill's document.
pub mod paths {
    pub const HELD: &str = "drill/held";

    /// A participant's signature.
    pub fn signature(user_id: &str) -> String {
        format!("drill/signatures/{user_id}/stamp")
    }
}

pub mod codes {
    /// A participant signed a scenario that changed after they signed.
    pub const STALE_SIGNATURE: &str = "drill.stale_signature";
}

impl KindSpec for Drill {
    const NAME: &'static str = "drill";
    const LABEL: &'static str = "Emergency drill";
    const VISIBILITY: Visibility = Visibility::Site;
    /// A drill is practised at the site.
    const ON_SITE_EVENTS: &'static [&'static str] = &["signed", "held"];
    const STATUSES: &'static [&'static str] = super::DrillStatus::NAMES;
}

impl DrillType {
    /// The type as people read it.
    pub fn label(self) -> &'static str {
        match self {
            DrillType::Drill => "Drill",
            DrillType::PlanReview => "Emergency plan review",
        }
    }
}

impl Drill {
    /// The attendees' signatures against what they signed, as it stands now.
    fn signed_content(&self) -> SignedContent<'_> {
        SignedContent {
            signatures: &self.signatures,
            current: self.content_hash(),
            content: "the scenario",
        }
    }
}

impl RecordKind for Drill {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("{}: {}", self.drill_type.label(), self.scenario)
    }

    fn content_hash(&self) -> String {
        Drill::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.scenario) {
            out.push(Finding::blocking(
                "drill.scenario_required",
                "scenario",
                "say what was practised or reviewed",
            ));
        }
        if self.drill_type == DrillType::PlanReview && self.emergency_plan_id.as_deref().is_none_or(is_blank) {
            out.push(Finding::warning(
                "drill.plan_missing",
                "emergency_plan_id",
                "say which emergency plan was reviewed",
            ));
        }
        if self.signatures.is_empty() {
            out.push(Finding::blocking(
                "drill.signature_required",
                "signatures",
                "at least one participant must sign",
            ));
        }
        self.signed_content().findings("drill.signature_stale", out);
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        self.signed_content().flags(codes::STALE_SIGNATURE)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(self.signatures.iter().map(|(key, s)| {
            Event::new("signed", Some(&s.user_id), paths::signature(key), &s.stamp)
        }));
        out.extend(self.held.iter().map(|s| Event::new("held", None, paths::HELD, s)));
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signatures.values_mut().for_each(|s| f(&mut s.stamp));
        self.held.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.held.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("Type", self.drill_type.label()),
            EvidenceRow::new("Scenario", &self.scenario),
        ];
        if let Some(plan) = &self.emergency_plan_id {
            rows.push(EvidenceRow::new("Emergency plan", plan));
        }
        rows.extend(self.lessons.iter().map(|l| EvidenceRow::new("Lesson", l)));
        rows.extend(self.signed_content().evidence("Took part"));
        if let Some(held) = &self.held {
            rows.push(EvidenceRow::time("Held", held.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: participants, signatures and lessons only add up.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == DrillStatus::Held {
            return Err(Error::Lifecycle("this drill is already recorded as held".into()));
        }
        self.status = DrillStatus::Held;
        self.held = Some(stamp);
        Ok(())
    }

    /// A participant signs that they took part, joining the participants if not listed.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        SignOn {
            crew: &mut self.participants,
            signatures: &mut self.signatures,
        }
        .sign(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_signatures(before.map(|b| &b.signatures), &self.signatures, writer)
    }
}
