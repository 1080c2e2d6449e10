//! Every rule about an incident: what reporting needs, the reportable prompt and who may answer
//! it, and the most serious treatment standing through a merge.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Incident, IncidentStatus, IncidentType, Treatment};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{self, Field, Guarded};
use crate::parts::is_blank;
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in an incident's document.
pub mod paths {
    pub const REPORTED: &str = "incident/reported";
}

pub mod codes {
    /// The OHS Act may require telling the regulator, and nobody has said it was done or why not.
    pub const MAY_BE_REPORTABLE: &str = "incident.may_be_reportable";
}

/// Why an incident may have to be reported to Alberta OHS, in words (OHS Act, serious injuries
/// and incidents).
pub mod reasons {
    pub const HOSPITAL_OR_DEATH: &str =
        "an injury admitted to hospital or a death must be reported to Alberta OHS as soon as possible (OHS Act)";
    pub const FIRE_OR_EXPLOSION: &str = "a fire or explosion that caused or could have caused serious injury";
    pub const FLOOD: &str = "a flood that caused or could have caused serious injury";
    pub const CRANE_OR_HOIST_COLLAPSE: &str = "the collapse or upset of a crane, derrick or hoist";
    pub const STRUCTURAL_COLLAPSE: &str = "the collapse or failure of a building or structure";
    pub const UNCONTROLLED_RELEASE: &str =
        "an uncontrolled release of a hazardous substance that caused or could have caused serious injury";
}

/// The dangerous occurrences a reporter may tick, each with the reason it may be reportable.
pub const OCCURRENCES: &[(&str, &str)] = &[
    ("fire_or_explosion", reasons::FIRE_OR_EXPLOSION),
    ("flood", reasons::FLOOD),
    ("structural_collapse", reasons::STRUCTURAL_COLLAPSE),
    ("crane_or_hoist_collapse", reasons::CRANE_OR_HOIST_COLLAPSE),
    ("uncontrolled_release", reasons::UNCONTROLLED_RELEASE),
];

impl KindSpec for Incident {
    const NAME: &'static str = "incident";
    const LABEL: &'static str = "Incident";
    /// It may name an injured worker: their colleagues do not read it.
    const VISIBILITY: Visibility = Visibility::CreatorAndSupervisors;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::IncidentStatus::NAMES;
}

impl RecordKind for Incident {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        let kind = match self.incident_type {
            IncidentType::Injury => "Injury",
            IncidentType::Damage => "Damage",
            IncidentType::Environmental => "Environmental incident",
        };
        let first_line = self.description.lines().next().unwrap_or_default();
        format!("{kind}: {first_line}")
    }

    fn content_hash(&self) -> String {
        Incident::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.description) {
            out.push(Finding::blocking(
                "incident.description_required",
                "description",
                "describe what happened",
            ));
        }
        if self.occurred_ms <= 0 {
            out.push(Finding::blocking(
                "incident.occurred_required",
                "occurred_ms",
                "say when it happened",
            ));
        }
        for (i, occurrence) in self.occurrences.iter().enumerate() {
            if !OCCURRENCES.iter().any(|(known, _)| known == occurrence) {
                out.push(Finding::warning(
                    "incident.occurrence_unknown",
                    format!("occurrences[{i}]"),
                    format!("'{occurrence}' is not a dangerous occurrence this app knows"),
                ));
            }
        }
        if self.incident_type == IncidentType::Environmental && is_blank(&self.release) {
            out.push(Finding::warning(
                "incident.release_missing",
                "release",
                "say what was released, how much, and whether it was reported under the environmental rules",
            ));
        }
        if let Some(notice) = &self.regulator_notice {
            if is_blank(&notice.by) {
                out.push(Finding::warning(
                    "incident.notice_by_missing",
                    "regulator_notice.by",
                    "name who told the regulator",
                ));
            }
            if notice.notified_ms <= 0 {
                out.push(Finding::warning(
                    "incident.notice_time_missing",
                    "regulator_notice.notified_ms",
                    "say when the regulator was told",
                ));
            }
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        let reasons = self.undecided_reasons();
        if reasons.is_empty() {
            return Vec::new();
        }
        vec![
            Flag::new(
                codes::MAY_BE_REPORTABLE,
                "the incident may have to be reported to Alberta OHS: record the notice, or a supervisor's reason it is not reportable",
            )
            .with("reasons", reasons.join("; "))
            .with("treatment", self.treatment.as_str())
            .with("occurrences", self.occurrences.join(", "))
            .with("occurred", format_utc(self.occurred_ms)),
        ]
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.reported
                .iter()
                .map(|s| {
                    let by = Some(&self.reported_by).filter(|r| !is_blank(r));
                    Event::new("reported", by, paths::REPORTED, s)
                }),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.reported.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.reported.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("Type", self.incident_type.as_str()),
            EvidenceRow::time("Occurred", self.occurred_ms),
            EvidenceRow::new("What happened", &self.description),
            EvidenceRow::new("Where", &self.location),
        ];
        if self.incident_type == IncidentType::Injury || self.treatment != Treatment::None {
            rows.push(EvidenceRow::new("Treatment", self.treatment.as_str()));
        }
        for occurrence in &self.occurrences {
            rows.push(EvidenceRow::new("Dangerous occurrence", occurrence));
        }
        if !is_blank(&self.release) {
            rows.push(EvidenceRow::new("Release", &self.release));
        }
        for reason in self.reportable_reasons() {
            rows.push(EvidenceRow::new("May be reportable", reason));
        }
        if let Some(notice) = &self.regulator_notice {
            rows.push(EvidenceRow::time("Regulator told", notice.notified_ms));
            rows.push(EvidenceRow::person("Told by", &notice.by));
            rows.push(EvidenceRow::new("Regulator's reference", &notice.reference));
        }
        if let Some(reason) = &self.not_reportable_reason {
            rows.push(EvidenceRow::new("Not reportable because", reason));
        }
        rows.push(EvidenceRow::person("Reported by", &self.reported_by));
        rows
    }

    /// Two people recording the treatment at once: the most serious stands, so a merge never
    /// turns a hospital admission into first aid (and never drops the reportable prompt).
    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()> {
        if let Some(most_serious) = merge_rules::most_serious_treatment(doc, body)? {
            self.treatment = most_serious;
        }
        Ok(())
    }

    fn guarded_fields(&self, out: &mut BTreeMap<Field, Guarded>) {
        out.insert(Field::Treatment, Guarded::Treatment(self.treatment));
    }

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == IncidentStatus::Reported {
            return Err(Error::Lifecycle("this incident is already reported".into()));
        }
        self.status = IncidentStatus::Reported;
        self.reported = Some(stamp);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let old_reporter = before.map(|b| b.reported_by.as_str());
        if old_reporter != Some(self.reported_by.as_str())
            && !is_blank(&self.reported_by)
            && self.reported_by != writer.user_id
        {
            return Err(WriteRefusal::new(
                RejectCode::AuthorMismatch,
                format!("{} cannot report in someone else's name", writer.name),
            ));
        }
        // Either answer clears the reportable prompt, so only a supervisor or manager gives one.
        let answered = match before {
            Some(b) => {
                b.regulator_notice != self.regulator_notice
                    || b.not_reportable_reason != self.not_reportable_reason
                    || b.decided_reasons != self.decided_reasons
            }
            None => {
                self.regulator_notice.is_some()
                    || self.not_reportable_reason.is_some()
                    || !self.decided_reasons.is_empty()
            }
        };
        // Once reported, taking away a reason it may be reportable (a treatment lowered, an
        // occurrence unticked) clears the prompt too: the same people decide it.
        let lowered = before.is_some_and(|b| {
            b.status == IncidentStatus::Reported
                && b.reportable_reasons()
                    .iter()
                    .any(|reason| !self.reportable_reasons().contains(reason))
        });
        if lowered && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not take away a reason a reported incident may be reportable: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        if answered && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not record whether an incident was reported to the regulator: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        Ok(())
    }
}
