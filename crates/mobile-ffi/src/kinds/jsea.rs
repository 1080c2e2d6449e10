//! The JSEA/FLHA form and its editor: steps, hazards with their risk, controls by hierarchy level.

use sync_core::model::{self as core, Body, new_id};

use super::missing;
use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{Approval, Mirror, Reopening, Signature, Stamp, mirror_enum, mirror_record};

mirror_enum! {
    /// Where a JSEA is in its life (mirrors `JseaStatus`).
    JseaStatus <=> core::JseaStatus { Draft, Completed, Approved, Rejected, WorkStarted, Closed }
}

mirror_enum! {
    /// The hierarchy of controls, OHS Code s.9, most effective first (mirrors `ControlLevel`).
    ControlLevel <=> core::ControlLevel { Elimination, Substitution, Engineering, Administrative, Ppe }
}

mirror_record! {
    /// Mirrors `Control`. Removed controls stay, marked, so concurrent edits are never lost.
    Control <= core::Control {
        id: String,
        description: String,
        level: ControlLevel,
        removed: bool,
    }
}

/// Mirrors `Hazard` with its risk rating (severity × likelihood, 1–5 each) flattened.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Hazard {
    pub id: String,
    pub description: String,
    pub severity: u8,
    pub likelihood: u8,
    pub controls: Vec<Control>,
    pub ppe_only_justification: Option<String>,
    pub removed: bool,
}

impl Mirror<Hazard> for core::Hazard {
    fn mirror(self) -> Hazard {
        Hazard {
            id: self.id,
            description: self.description,
            severity: self.risk.severity,
            likelihood: self.risk.likelihood,
            controls: self.controls.mirror(),
            ppe_only_justification: self.ppe_only_justification,
            removed: self.removed,
        }
    }
}

mirror_record! {
    /// Mirrors `TaskStep`.
    TaskStep <= core::TaskStep {
        id: String,
        description: String,
        hazards: Vec<Hazard>,
        removed: bool,
    }
}

mirror_record! {
    /// A JSEA/FLHA as a form (mirrors `Jsea`). Signatures are listed by signer.
    JseaForm <= core::Jsea {
        task: String,
        location_description: Option<String>,
        crew: Vec<String>,
        steps: Vec<TaskStep>,
        muster_point: String,
        status: JseaStatus,
        signatures: Vec<Signature>,
        completed: Option<Stamp>,
        approval: Option<Approval>,
        work_started: Option<Stamp>,
        closed: Option<Stamp>,
        reopened: Option<Reopening>,
    }
}

fn step<'a>(j: &'a mut core::Jsea, step_id: &str) -> sync_core::Result<&'a mut core::TaskStep> {
    j.step_mut(step_id).ok_or_else(|| missing("step", step_id))
}

fn hazard<'a>(j: &'a mut core::Jsea, hazard_id: &str) -> sync_core::Result<&'a mut core::Hazard> {
    j.hazard_mut(hazard_id)
        .ok_or_else(|| missing("hazard", hazard_id))
}

fn control<'a>(j: &'a mut core::Jsea, control_id: &str) -> sync_core::Result<&'a mut core::Control> {
    j.steps
        .iter_mut()
        .flat_map(|s| s.hazards.iter_mut())
        .flat_map(|h| h.controls.iter_mut())
        .find(|c| c.id == control_id)
        .ok_or_else(|| missing("control", control_id))
}

#[uniffi::export]
impl MusterStore {
    /// Starts a JSEA/FLHA draft at a site; returns its id.
    pub fn create_jsea(
        &self,
        site_id: String,
        job_id: Option<String>,
        task: String,
        muster_point: String,
        stamp: Stamp,
    ) -> Result<String> {
        self.create(
            &site_id,
            job_id,
            Body::Jsea(core::Jsea::new(task, muster_point)),
            stamp,
        )
    }

    pub fn set_task(&self, record_id: String, task: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            j.task = task;
            Ok(())
        })
    }

    pub fn set_jsea_location(&self, record_id: String, description: Option<String>) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            j.location_description = description;
            Ok(())
        })
    }

    pub fn set_muster_point(&self, record_id: String, muster_point: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            j.muster_point = muster_point;
            Ok(())
        })
    }

    /// Adds a person to the crew list (signing on also adds the signer).
    pub fn add_crew_member(&self, record_id: String, user_id: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            if !j.crew.contains(&user_id) {
                j.crew.push(user_id);
            }
            Ok(())
        })
    }

    /// Adds a task step; returns its id.
    pub fn add_step(&self, record_id: String, description: String) -> Result<String> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            let id = new_id();
            j.steps.push(core::TaskStep {
                id: id.clone(),
                description,
                hazards: Vec::new(),
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_step_description(
        &self,
        record_id: String,
        step_id: String,
        description: String,
    ) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            step(j, &step_id)?.description = description;
            Ok(())
        })
    }

    /// Marks a step removed; it stays in the document so a concurrent edit is never lost.
    pub fn remove_step(&self, record_id: String, step_id: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            step(j, &step_id)?.removed = true;
            Ok(())
        })
    }

    /// Adds a hazard to a step with its risk rating (severity and likelihood, 1–5); returns its id.
    pub fn add_hazard(
        &self,
        record_id: String,
        step_id: String,
        description: String,
        severity: u8,
        likelihood: u8,
    ) -> Result<String> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            let id = new_id();
            step(j, &step_id)?.hazards.push(core::Hazard {
                id: id.clone(),
                description,
                risk: core::RiskRating { severity, likelihood },
                controls: Vec::new(),
                ppe_only_justification: None,
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_hazard_description(
        &self,
        record_id: String,
        hazard_id: String,
        description: String,
    ) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            hazard(j, &hazard_id)?.description = description;
            Ok(())
        })
    }

    pub fn set_hazard_risk(
        &self,
        record_id: String,
        hazard_id: String,
        severity: u8,
        likelihood: u8,
    ) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            hazard(j, &hazard_id)?.risk = core::RiskRating { severity, likelihood };
            Ok(())
        })
    }

    /// Why PPE alone is acceptable for this hazard; `None` clears it.
    pub fn set_ppe_justification(
        &self,
        record_id: String,
        hazard_id: String,
        justification: Option<String>,
    ) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            hazard(j, &hazard_id)?.ppe_only_justification = justification;
            Ok(())
        })
    }

    pub fn remove_hazard(&self, record_id: String, hazard_id: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            hazard(j, &hazard_id)?.removed = true;
            Ok(())
        })
    }

    /// Adds a control at a level of the hierarchy of controls; returns its id.
    pub fn add_control(
        &self,
        record_id: String,
        hazard_id: String,
        description: String,
        level: ControlLevel,
    ) -> Result<String> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            let id = new_id();
            hazard(j, &hazard_id)?.controls.push(core::Control {
                id: id.clone(),
                description,
                level: level.into(),
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_control(
        &self,
        record_id: String,
        control_id: String,
        description: String,
        level: ControlLevel,
    ) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            let c = control(j, &control_id)?;
            c.description = description;
            c.level = level.into();
            Ok(())
        })
    }

    pub fn remove_control(&self, record_id: String, control_id: String) -> Result<()> {
        self.edit_as(&record_id, |j: &mut core::Jsea| {
            control(j, &control_id)?.removed = true;
            Ok(())
        })
    }
}
