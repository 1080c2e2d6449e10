//! Realistic sample records: used by the demo company, tests and benchmarks.

use crate::kinds::certificate::Certificate;
use crate::kinds::competency::Competency;
use crate::kinds::corrective_action::CorrectiveAction;
use crate::kinds::inspection::Inspection;
use crate::model::{
    ChecklistItem, Control, ControlLevel, EquipmentUnit, Hazard, Jsea, NearMiss, PreStart, RiskRating,
    Severity, TaskStep, new_id,
};
use crate::parts::Assignment;

fn control(description: &str, level: ControlLevel) -> Control {
    Control {
        id: new_id(),
        description: description.to_owned(),
        level,
        removed: false,
    }
}

/// A hazard with the given controls.
pub fn hazard(description: &str, severity: u8, likelihood: u8, controls: &[(&str, ControlLevel)]) -> Hazard {
    Hazard {
        id: new_id(),
        description: description.to_owned(),
        risk: RiskRating { severity, likelihood },
        controls: controls.iter().map(|(d, l)| control(d, *l)).collect(),
        ppe_only_justification: None,
        removed: false,
    }
}

pub fn step(description: &str, hazards: Vec<Hazard>) -> TaskStep {
    TaskStep {
        id: new_id(),
        description: description.to_owned(),
        hazards,
        removed: false,
    }
}

/// A typical wellsite JSEA: 3 steps, 6 hazards, 12 controls, ready for the crew to sign.
pub fn jsea() -> Jsea {
    use ControlLevel::*;
    let mut j = Jsea::new(
        "Replace wellhead valve on 4-12 pad",
        "Lease entrance gate, upwind",
    );
    j.location_description = Some("4-12-051-08W5, north pad".into());
    j.steps = vec![
        step(
            "Isolate and bleed down the line",
            vec![
                hazard(
                    "Stored pressure release",
                    5,
                    2,
                    &[
                        ("Lock out and tag out upstream valve", Engineering),
                        ("Bleed to zero, verify gauge", Administrative),
                    ],
                ),
                hazard(
                    "H2S exposure",
                    5,
                    2,
                    &[
                        ("Personal H2S monitor on each worker", Ppe),
                        ("Gas test before breaking containment", Administrative),
                    ],
                ),
            ],
        ),
        step(
            "Remove the old valve",
            vec![
                hazard(
                    "Pinch points at flange",
                    3,
                    3,
                    &[
                        ("Use flange spreader, hands clear", Engineering),
                        ("Impact gloves", Ppe),
                    ],
                ),
                hazard(
                    "Overhead load from picker",
                    4,
                    2,
                    &[
                        ("Tag lines, nobody under the load", Administrative),
                        ("Certified rigging inspected", Engineering),
                    ],
                ),
            ],
        ),
        step(
            "Install and pressure test the new valve",
            vec![
                hazard(
                    "Test pressure release",
                    5,
                    1,
                    &[
                        ("Barricade test zone", Engineering),
                        ("Test procedure TP-07 followed", Administrative),
                    ],
                ),
                hazard(
                    "Slips on wet pad",
                    2,
                    3,
                    &[("Sand the walkway", Elimination), ("Safety boots with grip", Ppe)],
                ),
            ],
        ),
    ];
    j
}

/// A pre-start checklist for a pickup truck, every item still unanswered.
pub fn prestart(operator_id: &str) -> PreStart {
    let mut p = PreStart::new(
        EquipmentUnit {
            unit_id: "PU-14".into(),
            make_model: "Ford F-350".into(),
            serial: Some("1FT8W3BT5NEC12345".into()),
            hour_meter: Some(4210.5),
        },
        operator_id,
    );
    p.items = vec![
        ChecklistItem::new("Brakes", true),
        ChecklistItem::new("Steering", true),
        ChecklistItem::new("Lights and signals", false),
        ChecklistItem::new("Tires and wheel nuts", true),
        ChecklistItem::new("Fire extinguisher charged", false),
        ChecklistItem::new("First aid kit stocked", false),
    ];
    p
}

/// A near-miss as a worker files it in 90 seconds.
pub fn near_miss(occurred_at_ms: i64) -> NearMiss {
    let mut n = NearMiss::new(
        "Picker swung load over the walkway while two workers were under it",
        occurred_at_ms,
        Severity::High,
    );
    n.immediate_actions = Some("Stopped the lift, re-briefed the crew on the exclusion zone".into());
    n
}

/// A corrective action as a supervisor raises it by hand, not yet raised.
pub fn corrective_action(assignee: &str, identified_ms: i64, due_ms: i64) -> CorrectiveAction {
    CorrectiveAction::new(
        "Guardrail missing on the east side of the pipe rack platform",
        "Install temporary guardrail and tag the platform until the permanent rail is fitted",
        Assignment {
            assignee: assignee.into(),
            due_ms: Some(due_ms),
        },
        identified_ms,
    )
}

/// A weekly site inspection's checklist, every item still unanswered.
pub fn inspection(inspector_id: &str) -> Inspection {
    Inspection::new(
        "Weekly site inspection",
        inspector_id,
        vec![
            ChecklistItem::new("Housekeeping: walkways clear", false),
            ChecklistItem::new("Fire extinguishers inspected and tagged", true),
            ChecklistItem::new("Spill kit stocked", false),
            ChecklistItem::new("Muster point sign visible", false),
        ],
    )
}

/// A certificate as the office enters it from the ticket.
pub fn certificate(
    holder_id: &str,
    certificate_type: &str,
    issued_ms: i64,
    expiry_ms: Option<i64>,
) -> Certificate {
    let mut c = Certificate::new(holder_id, certificate_type, "AB-20931", "Energy Safety Canada");
    c.issued_ms = Some(issued_ms);
    c.expiry_ms = expiry_ms;
    c.document_ref = Some("Training binder, tab 4".into());
    c
}

/// A competency verification on a loader, every item still unanswered.
pub fn competency(worker_id: &str, equipment_type: &str) -> Competency {
    Competency::new(
        worker_id,
        equipment_type,
        vec![
            ChecklistItem::new("Walk-around and pre-start done unprompted", true),
            ChecklistItem::new("Load handled within rated capacity", true),
            ChecklistItem::new("Spotter and blind spots used", true),
        ],
    )
}
