//! Job Safety and Environmental Analysis / Field Level Hazard Assessment (OHS Code s.7–9).

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod spec;

pub use spec::paths;

use crate::model::{hash_json, string_enum};
use crate::parts::{Approval, Reopening, Signature};
use crate::stamp::Stamp;

string_enum! {
    /// Where a JSEA is in its life: draft → completed → approved → work started → closed.
    pub enum JseaStatus {
        Draft => "draft",
        Completed => "completed",
        Approved => "approved",
        Rejected => "rejected",
        WorkStarted => "work_started",
        Closed => "closed",
    }
}

string_enum! {
    /// The hierarchy of controls (OHS Code s.9), most effective first.
    pub enum ControlLevel {
        Elimination => "elimination",
        Substitution => "substitution",
        Engineering => "engineering",
        Administrative => "administrative",
        Ppe => "ppe",
    }
}

/// Severity × likelihood, each 1 (lowest) to 5 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct RiskRating {
    pub severity: u8,
    pub likelihood: u8,
}

impl RiskRating {
    pub fn score(self) -> u8 {
        self.severity.saturating_mul(self.likelihood)
    }
    pub fn is_valid(self) -> bool {
        (1..=5).contains(&self.severity) && (1..=5).contains(&self.likelihood)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Control {
    #[key]
    pub id: String,
    pub description: String,
    pub level: ControlLevel,
    /// Removed items stay in the document so a concurrent edit is never lost.
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Hazard {
    #[key]
    pub id: String,
    pub description: String,
    pub risk: RiskRating,
    pub controls: Vec<Control>,
    /// Why PPE alone is acceptable; required when every control is PPE.
    pub ppe_only_justification: Option<String>,
    pub removed: bool,
}

impl Hazard {
    pub fn active_controls(&self) -> impl Iterator<Item = &Control> {
        self.controls.iter().filter(|c| !c.removed)
    }

    /// True when the hazard has controls and every one of them is PPE.
    pub fn is_ppe_only(&self) -> bool {
        let mut any = false;
        for control in self.active_controls() {
            if control.level != ControlLevel::Ppe {
                return false;
            }
            any = true;
        }
        any
    }

    pub fn has_justification(&self) -> bool {
        self.ppe_only_justification
            .as_deref()
            .is_some_and(|j| !j.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct TaskStep {
    #[key]
    pub id: String,
    pub description: String,
    pub hazards: Vec<Hazard>,
    pub removed: bool,
}

impl TaskStep {
    pub fn active_hazards(&self) -> impl Iterator<Item = &Hazard> {
        self.hazards.iter().filter(|h| !h.removed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Jsea {
    pub task: String,
    pub location_description: Option<String>,
    /// User ids of the crew on this task; signing on adds the signer. Not part of the signed
    /// content (see [`Jsea::content_hash`]).
    pub crew: Vec<String>,
    pub steps: Vec<TaskStep>,
    pub muster_point: String,
    pub status: JseaStatus,
    /// Crew sign-on, keyed by user id: a person signs once, from any of their phones.
    pub signatures: BTreeMap<String, Signature>,
    pub completed: Option<Stamp>,
    pub approval: Option<Approval>,
    pub work_started: Option<Stamp>,
    pub closed: Option<Stamp>,
    /// The latest reopening; earlier ones remain in the document's history.
    pub reopened: Option<Reopening>,
}

impl Jsea {
    pub fn new(task: impl Into<String>, muster_point: impl Into<String>) -> Self {
        Self {
            task: task.into(),
            location_description: None,
            crew: Vec::new(),
            steps: Vec::new(),
            muster_point: muster_point.into(),
            status: JseaStatus::Draft,
            signatures: BTreeMap::new(),
            completed: None,
            approval: None,
            work_started: None,
            closed: None,
            reopened: None,
        }
    }

    pub fn active_steps(&self) -> impl Iterator<Item = &TaskStep> {
        self.steps.iter().filter(|s| !s.removed)
    }

    pub fn active_hazards(&self) -> impl Iterator<Item = &Hazard> {
        self.active_steps().flat_map(|s| s.active_hazards())
    }

    pub fn step_mut(&mut self, step_id: &str) -> Option<&mut TaskStep> {
        self.steps.iter_mut().find(|s| s.id == step_id)
    }

    pub fn hazard_mut(&mut self, hazard_id: &str) -> Option<&mut Hazard> {
        self.steps
            .iter_mut()
            .flat_map(|s| s.hazards.iter_mut())
            .find(|h| h.id == hazard_id)
    }

    /// Hash of what the crew signs and the supervisor approves: the task, location, steps,
    /// hazards, controls, justifications and muster point. The crew list, signatures, approval and
    /// lifecycle stamps are excluded: someone joining mid-shift and signing on vouches for the same
    /// work, so it must not make anyone else's signature stale.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            task: &'a str,
            location_description: &'a Option<String>,
            steps: Vec<&'a TaskStep>,
            muster_point: &'a str,
        }
        hash_json(&Signable {
            task: &self.task,
            location_description: &self.location_description,
            steps: self.active_steps().collect(),
            muster_point: &self.muster_point,
        })
    }

    /// Whether a signature or approval bound to `signed` still vouches for the JSEA as it
    /// stands, `current` being [`content_hash`](Self::content_hash) now. Signatures made before
    /// the crew list left the signed content were bound to a hash that included it: such a one
    /// still vouches while the content and the crew are both as they were, so upgrading never
    /// turns every earlier signature stale.
    pub fn still_vouches(&self, signed: &str, current: &str) -> bool {
        signed == current || signed == self.content_hash_with_crew()
    }

    /// The signed-content hash of releases before 2026-11-29, which also covered the crew list.
    fn content_hash_with_crew(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            task: &'a str,
            location_description: &'a Option<String>,
            crew: &'a [String],
            steps: Vec<&'a TaskStep>,
            muster_point: &'a str,
        }
        hash_json(&Signable {
            task: &self.task,
            location_description: &self.location_description,
            crew: &self.crew,
            steps: self.active_steps().collect(),
            muster_point: &self.muster_point,
        })
    }

    /// Signatures made over content that has since changed.
    pub fn stale_signatures(&self) -> Vec<&Signature> {
        let current = self.content_hash();
        self.signatures
            .values()
            .filter(|s| !self.still_vouches(&s.content_hash, &current))
            .collect()
    }

    /// The approval, if it is for the content as it stands now.
    pub fn current_approval(&self) -> Option<&Approval> {
        let current = self.content_hash();
        self.approval
            .as_ref()
            .filter(|a| self.still_vouches(&a.content_hash, &current))
    }
}

#[cfg(test)]
mod tests {
    use crate::sample;

    /// A signature made before the crew list left the signed content is bound to the older hash:
    /// it still vouches while the content and the crew are as they were, and goes stale when
    /// either changes (it signed the crew list too).
    #[test]
    fn a_signature_over_the_older_hash_still_vouches_for_unchanged_content() {
        let mut jsea = sample::jsea();
        jsea.crew = vec!["lead".into()];
        let older = jsea.content_hash_with_crew();
        let current = jsea.content_hash();
        assert_ne!(older, current);
        assert!(jsea.still_vouches(&older, &current));
        assert!(jsea.still_vouches(&current, &current));

        jsea.task = "Replace the wellhead valve".into();
        let changed = jsea.content_hash();
        assert!(!jsea.still_vouches(&older, &changed));
        assert!(!jsea.still_vouches(&current, &changed));
    }
}
