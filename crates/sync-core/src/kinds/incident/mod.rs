//! Incident report (SECOR element 5): an injury, damage or environmental incident, with the prompt
//! to tell the regulator when the OHS Act may require it.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{OCCURRENCES, codes, paths, reasons};

use crate::model::{hash_json, string_enum};
use crate::stamp::Stamp;

string_enum! {
    pub enum IncidentType {
        Injury => "injury",
        Damage => "damage",
        Environmental => "environmental",
    }
}

string_enum! {
    /// The most serious treatment an injury needed. Ordered: merges keep the most serious any
    /// author gave.
    pub enum Treatment {
        None => "none",
        FirstAid => "first_aid",
        MedicalAid => "medical_aid",
        LostTime => "lost_time",
        Hospitalized => "hospitalized",
        Fatal => "fatal",
    }
}

string_enum! {
    pub enum IncidentStatus {
        Draft => "draft",
        Reported => "reported",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Incident {
    pub incident_type: IncidentType,
    pub occurred_ms: i64,
    pub description: String,
    /// Where on the site, in words.
    pub location: String,
    /// For an injury: the most serious treatment given.
    pub treatment: Treatment,
    /// Dangerous occurrences (each a reason the regulator may need to know), ticked by the reporter:
    /// "fire_or_explosion", "structural_collapse", "crane_or_hoist_collapse", "uncontrolled_release".
    pub occurrences: Vec<String>,
    /// For environmental: a release reported under its own rules, in words.
    pub release: String,
    /// The regulator was told: when, by whom (user id), and the reference they gave.
    pub regulator_notice: Option<RegulatorNotice>,
    /// A supervisor decided it is not reportable, with the reason.
    pub not_reportable_reason: Option<String>,
    /// The reportable reasons in force when the notice or the decision was recorded. The answer
    /// covers those alone: a reason that appears later (a treatment raised, an occurrence ticked,
    /// either merged in from another phone) raises the prompt again. Absent from a report
    /// nobody has answered, so a phone's form may leave it out.
    #[serde(default)]
    pub decided_reasons: Vec<String>,
    pub reported_by: String,
    pub status: IncidentStatus,
    pub reported: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct RegulatorNotice {
    pub notified_ms: i64,
    /// User id of the person who told the regulator.
    pub by: String,
    pub reference: String,
}

impl Incident {
    pub fn new(
        incident_type: IncidentType,
        occurred_ms: i64,
        description: impl Into<String>,
        reported_by: impl Into<String>,
    ) -> Self {
        Self {
            incident_type,
            occurred_ms,
            description: description.into(),
            location: String::new(),
            treatment: Treatment::None,
            occurrences: Vec::new(),
            release: String::new(),
            regulator_notice: None,
            not_reportable_reason: None,
            decided_reasons: Vec::new(),
            reported_by: reported_by.into(),
            status: IncidentStatus::Draft,
            reported: None,
        }
    }

    /// The rules that make it possibly reportable, each in words (empty = none).
    pub fn reportable_reasons(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.treatment >= Treatment::Hospitalized {
            out.push(reasons::HOSPITAL_OR_DEATH);
        }
        for (occurrence, reason) in OCCURRENCES {
            if self.occurrences.iter().any(|o| o == occurrence) {
                out.push(*reason);
            }
        }
        out
    }

    /// Whether someone has dealt with the reportable prompt, for every reason it now has: the
    /// regulator was told, or a supervisor decided it is not reportable, with the reasons then in
    /// force covering today's.
    pub fn reportability_decided(&self) -> bool {
        self.undecided_reasons().is_empty()
    }

    /// The reportable reasons nobody has answered: all of them until the regulator is told or a
    /// supervisor gives a reason it is not reportable, then those that appeared since.
    pub fn undecided_reasons(&self) -> Vec<&'static str> {
        let answered = self.regulator_notice.is_some()
            || self.not_reportable_reason.as_deref().is_some_and(|r| !r.trim().is_empty());
        self.reportable_reasons()
            .into_iter()
            .filter(|reason| !(answered && self.decided_reasons.iter().any(|d| d == reason)))
            .collect()
    }

    /// Hash of the report as made (incidents carry no signature; kept for the common contract).
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            incident_type: IncidentType,
            occurred_ms: i64,
            description: &'a str,
            location: &'a str,
            treatment: Treatment,
            occurrences: &'a [String],
            release: &'a str,
        }
        hash_json(&Signable {
            incident_type: self.incident_type,
            occurred_ms: self.occurred_ms,
            description: &self.description,
            location: &self.location,
            treatment: self.treatment,
            occurrences: &self.occurrences,
            release: &self.release,
        })
    }
}
