//! Every rule about a drill: the scenario, the participants' own signatures, held.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Drill, DrillStatus, DrillType};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
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
        let current = self.content_hash();
        for (user, sig) in &self.signatures {
            if sig.content_hash != current {
                out.push(Finding::warning(
                    "drill.signature_stale",
                    format!("signatures.{user}"),
                    format!("{} signed before the scenario changed", sig.name),
                ));
            }
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        let current = self.content_hash();
        self.signatures
            .values()
            .filter(|s| s.content_hash != current)
            .map(|sig| {
                Flag::new(
                    codes::STALE_SIGNATURE,
                    format!("{} signed a scenario that has since changed", sig.name),
                )
                .with("signer", sig.user_id.clone())
                .with("signed", format_utc(sig.stamp.wall_ms))
                .with("signed_hash", sig.content_hash.clone())
                .with("current_hash", current.clone())
            })
            .collect()
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
        let current = self.content_hash();
        for sig in self.signatures.values() {
            let state = if sig.content_hash == current {
                "valid"
            } else {
                "stale: the scenario changed after signing"
            };
            rows.push(EvidenceRow::new("Took part", format!("{} ({state})", sig.name)));
        }
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
