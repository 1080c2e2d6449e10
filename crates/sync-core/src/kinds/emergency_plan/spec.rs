//! Every rule about a site emergency plan: every section before it is made current, the sign-off
//! by a supervisor or manager, the yearly review, and a signed plan edited since.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{EmergencyPlan, PlanStatus};
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

/// Where each lifecycle stamp sits in an emergency plan's document.
pub mod paths {
    pub const SIGNED: &str = "emergency_plan/signature/stamp";
}

pub mod codes {
    /// Twelve months or more since the current revision was signed off.
    pub const REVIEW_OVERDUE: &str = "emergency_plan.review_overdue";
    /// The plan was edited after its sign-off: the site may be working to words nobody vouched for.
    pub const STALE_SIGNATURE: &str = "emergency_plan.stale_signature";
}

const DAY_MS: i64 = 86_400_000;
/// A current plan is reviewed and signed off again at least this often.
pub const REVIEW_INTERVAL_MS: i64 = 365 * DAY_MS;

impl KindSpec for EmergencyPlan {
    const NAME: &'static str = "emergency_plan";
    const LABEL: &'static str = "Emergency response plan";
    /// Every phone assigned to the site receives it and keeps it offline.
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::PlanStatus::NAMES;
}

impl EmergencyPlan {
    /// A finding per section that is missing or unusable.
    fn section_findings(&self, out: &mut Vec<Finding>) {
        if self.contacts.is_empty() {
            out.push(Finding::blocking(
                "emergency_plan.contacts_required",
                "contacts",
                "list who to call in an emergency",
            ));
        }
        for (i, c) in self.contacts.iter().enumerate() {
            for (field, value, message) in [
                ("role", &c.role, "say what this contact is called for"),
                ("name", &c.name, "name the contact"),
                ("phone", &c.phone, "give the contact's phone number"),
            ] {
                if is_blank(value) {
                    out.push(Finding::blocking(
                        &format!("emergency_plan.contact_{field}_required"),
                        format!("contacts[{i}].{field}"),
                        message,
                    ));
                }
            }
        }
        if self.muster_points.is_empty() {
            out.push(Finding::blocking(
                "emergency_plan.muster_points_required",
                "muster_points",
                "mark at least one muster point",
            ));
        }
        for (i, m) in self.muster_points.iter().enumerate() {
            if is_blank(&m.name) {
                out.push(Finding::blocking(
                    "emergency_plan.muster_point_name_required",
                    format!("muster_points[{i}].name"),
                    "name the muster point",
                ));
            }
            let in_range = (-90.0..=90.0).contains(&m.latitude) && (-180.0..=180.0).contains(&m.longitude);
            // 0, 0 is the coordinates a form sends when nobody set them.
            let unset = m.latitude == 0.0 && m.longitude == 0.0;
            if !in_range || unset || !m.latitude.is_finite() || !m.longitude.is_finite() {
                out.push(Finding::blocking(
                    "emergency_plan.muster_point_location_invalid",
                    format!("muster_points[{i}]"),
                    format!("'{}' has no real location: set its latitude and longitude", m.name),
                ));
            }
        }
        let text_sections = [
            ("hospital", &self.hospital, "name the nearest hospital"),
            ("hospital_route", &self.hospital_route, "describe the way to the hospital"),
            ("first_aid", &self.first_aid, "describe the first aid on site"),
            (
                "rescue_evacuation",
                &self.rescue_evacuation,
                "describe how people are rescued and the site evacuated",
            ),
            (
                "alarms_communications",
                &self.alarms_communications,
                "describe the alarms and how the site communicates in an emergency",
            ),
        ];
        for (field, value, message) in text_sections {
            if is_blank(value) {
                out.push(Finding::blocking(
                    &format!("emergency_plan.{field}_required"),
                    field,
                    message,
                ));
            }
        }
        if !self.equipment.iter().any(|e| !is_blank(e)) {
            out.push(Finding::blocking(
                "emergency_plan.equipment_required",
                "equipment",
                "list the emergency equipment and where it is",
            ));
        }
    }

    /// The sign-off, when it vouches for an earlier version of the plan.
    fn stale_signature(&self) -> Option<&Signature> {
        self.signature
            .as_ref()
            .filter(|s| s.content_hash != self.content_hash())
    }
}

impl RecordKind for EmergencyPlan {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        match self.revised_ms() {
            Some(revised) if self.status == PlanStatus::Current => {
                format!("Emergency response plan (revised {})", format_utc(revised))
            }
            _ => "Emergency response plan".to_owned(),
        }
    }

    fn content_hash(&self) -> String {
        EmergencyPlan::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        self.section_findings(out);
        match &self.signature {
            None => out.push(Finding::blocking(
                "emergency_plan.signature_required",
                "signature",
                "a supervisor or manager must sign off the plan to make it current",
            )),
            Some(sig) if sig.content_hash != self.content_hash() => out.push(Finding::warning(
                "emergency_plan.signature_stale",
                "signature",
                format!("{} signed off the plan before it was changed: sign it off again", sig.name),
            )),
            Some(_) => {}
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if let Some(sig) = self.stale_signature() {
            flags.push(
                signatures::stale_flag(codes::STALE_SIGNATURE, format!("the plan was changed after {} signed it off", sig.name), sig, &self.content_hash()),
            );
        }
        if let Some(now) = context.now_ms
            && self.status == PlanStatus::Current
            && let Some(sig) = &self.signature
            && now >= sig.stamp.wall_ms + REVIEW_INTERVAL_MS
        {
            flags.push(
                Flag::new(
                    codes::REVIEW_OVERDUE,
                    "the emergency plan has not been reviewed and signed off in the last 12 months",
                )
                .with("revised", format_utc(sig.stamp.wall_ms))
                .with("revised_by", sig.user_id.clone())
                .with("review_due", format_utc(sig.stamp.wall_ms + REVIEW_INTERVAL_MS))
                .with("judged_at", format_utc(now)),
            );
        }
        flags
    }

    fn flags_change_at(&self, now_ms: i64) -> Option<i64> {
        let due = self.revised_ms()? + REVIEW_INTERVAL_MS;
        (self.status == PlanStatus::Current && due > now_ms).then_some(due)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.signature
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGNED, &s.stamp)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signature.iter_mut().for_each(|s| f(&mut s.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.signature.as_ref().map(|s| &s.stamp),
            due_ms: self
                .revised_ms()
                .filter(|_| self.status == PlanStatus::Current)
                .map(|revised| revised + REVIEW_INTERVAL_MS),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = Vec::new();
        for c in &self.contacts {
            rows.push(EvidenceRow::new(
                format!("Contact: {}", c.role),
                format!("{}, {}", c.name, c.phone),
            ));
        }
        for m in &self.muster_points {
            rows.push(EvidenceRow::new(
                "Muster point",
                format!("{} ({:.5}, {:.5})", m.name, m.latitude, m.longitude),
            ));
        }
        rows.push(EvidenceRow::new("Hospital", &self.hospital));
        rows.push(EvidenceRow::new("Route to hospital", &self.hospital_route));
        rows.extend(self.equipment.iter().map(|e| EvidenceRow::new("Equipment", e)));
        rows.push(EvidenceRow::new("First aid", &self.first_aid));
        rows.push(EvidenceRow::new("Rescue and evacuation", &self.rescue_evacuation));
        rows.push(EvidenceRow::new("Alarms and communications", &self.alarms_communications));
        if let Some(sig) = &self.signature {
            let state = if sig.content_hash == self.content_hash() {
                "this plan"
            } else {
                "an earlier version of the plan"
            };
            rows.push(EvidenceRow::new("Signed off by", format!("{} ({state})", sig.name)));
            rows.push(EvidenceRow::time("Revised", sig.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: contacts, muster points and equipment only add up, and a merged
        // edit leaves the sign-off stale, which is flagged.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    /// Makes the signed-off revision current (every section and the sign-off are checked as
    /// blocking findings before).
    fn complete(&mut self, _stamp: Stamp) -> Result<()> {
        if self.status == PlanStatus::Current {
            return Err(Error::Lifecycle(
                "this plan is already current: sign it off again to make a new revision".into(),
            ));
        }
        if self.stale_signature().is_some() {
            return Err(Error::Lifecycle(
                "the plan changed after it was signed off: sign it off again".into(),
            ));
        }
        self.status = PlanStatus::Current;
        Ok(())
    }

    /// A supervisor or manager signs off every section as it stands; on a current plan this is
    /// a new revision, dated by this signature.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        let mut findings = Vec::new();
        self.section_findings(&mut findings);
        if !findings.is_empty() {
            return Err(Error::Blocked(findings));
        }
        self.signature = Some(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let old = before.and_then(|b| b.signature.as_ref());
        signatures::check_own_sign_off(old, self.signature.as_ref(), writer)?;
        let made_current =
            before.map(|b| b.status) != Some(self.status) && self.status == PlanStatus::Current;
        // A current plan is what crews muster by: only the people who sign it off change it.
        let changed_current =
            before.is_some_and(|b| b.status == PlanStatus::Current && b.content_hash() != self.content_hash());
        if (old != self.signature.as_ref() || made_current || changed_current) && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not sign off an emergency plan: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        Ok(())
    }
}
