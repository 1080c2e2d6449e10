//! Realistic sample records: used by the demo company, tests and benchmarks.

use crate::kinds::acknowledgement::Acknowledgement;
use crate::kinds::certificate::Certificate;
use crate::kinds::competency::Competency;
use crate::kinds::corrective_action::CorrectiveAction;
use crate::kinds::drill::{Drill, DrillType};
use crate::kinds::emergency_plan::{EmergencyContact, EmergencyPlan, MusterPoint};
use crate::kinds::incident::{Incident, IncidentType, Treatment};
use crate::kinds::inspection::Inspection;
use crate::kinds::investigation::{Investigation, InvestigationAction};
use crate::kinds::management_meeting::{ManagementMeeting, MeetingAction, MeetingItem};
use crate::kinds::policy::{POLICY_TOPICS, Policy};
use crate::kinds::refusal_report::RefusalReport;
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

/// A health and safety policy ready for a manager to sign, every topic ticked.
pub fn policy() -> Policy {
    let mut p = Policy::new(
        "Health and safety policy",
        "We commit to preventing injury and illness, and we set yearly safety goals and report on \
         them. We look after our workers' physical and psychological wellbeing. Managers, \
         supervisors, workers, contractors and visitors each have duties we train them in. We meet \
         or exceed the Alberta OHS Act, Regulation and Code.",
    );
    p.covers = POLICY_TOPICS.iter().map(|t| (*t).to_owned()).collect();
    p
}

/// A worker's acknowledgement of their right to refuse dangerous work, not yet signed.
pub fn acknowledgement(person_id: &str) -> Acknowledgement {
    Acknowledgement::right_to_refuse(person_id)
}

/// Management meeting minutes with a safety review and one action, not yet signed.
pub fn management_meeting(assignee: &str, due_ms: i64) -> ManagementMeeting {
    let mut m = ManagementMeeting::new("Quarterly safety management meeting");
    m.items = vec![
        MeetingItem {
            id: new_id(),
            topic: "Incidents, near misses and open actions this quarter".into(),
            notes: "Two near misses at the lift; three actions overdue".into(),
            safety: true,
        },
        MeetingItem {
            id: new_id(),
            topic: "Budget for the new spill kits".into(),
            notes: "Approved".into(),
            safety: false,
        },
    ];
    m.actions = vec![MeetingAction {
        id: new_id(),
        hazard: "Corrective actions past due at the pipe rack".into(),
        action: "Close out the three overdue pipe rack actions".into(),
        assignee: assignee.into(),
        due_ms: Some(due_ms),
    }];
    m
}

/// A worker's refusal of work they believed dangerous, not yet reported.
pub fn refusal_report(worker_id: &str, refused_ms: i64) -> RefusalReport {
    RefusalReport::new(
        worker_id,
        "Entering the wet well to clear the pump intake",
        "No gas test and no rescue plan for the confined space",
        refused_ms,
    )
}

/// An injury that needed medical aid, not yet reported.
pub fn incident(reporter_id: &str, occurred_ms: i64) -> Incident {
    let mut i = Incident::new(
        IncidentType::Injury,
        occurred_ms,
        "Labourer's hand caught between the pipe and the rack while landing a spool",
        reporter_id,
    );
    i.location = "Pipe rack, east bay".into();
    i.treatment = Treatment::MedicalAid;
    i
}

/// An investigation with a system root cause and an engineering action, not yet signed.
pub fn investigation(subject_id: &str, assignee: &str, due_ms: i64) -> Investigation {
    let mut inv = Investigation::new(subject_id);
    inv.sequence = vec![
        "The spool was lowered onto the rack with a tag line".into(),
        "The labourer steadied it by hand at the landing point".into(),
        "The spool rolled and pinched his hand against the rack".into(),
    ];
    inv.immediate_causes = vec!["Hand between the load and a fixed object".into()];
    inv.root_causes = vec!["The lift plan had no landing chocks and no hands-free landing method".into()];
    inv.actions = vec![InvestigationAction {
        id: new_id(),
        action: "Install landing chocks on the rack and add hands-free landing to the lift plan".into(),
        assignee: assignee.into(),
        due_ms: Some(due_ms),
    }];
    inv
}

/// A site emergency plan with every section written, not yet signed off.
pub fn emergency_plan() -> EmergencyPlan {
    let mut plan = EmergencyPlan::new();
    plan.contacts = vec![
        EmergencyContact {
            id: new_id(),
            role: "Emergency services".into(),
            name: "911".into(),
            phone: "911".into(),
        },
        EmergencyContact {
            id: new_id(),
            role: "Site supervisor".into(),
            name: "Dana Whitford".into(),
            phone: "780-555-0142".into(),
        },
    ];
    plan.muster_points = vec![MusterPoint {
        id: new_id(),
        name: "Gate 2 parking lot".into(),
        latitude: 53.5461,
        longitude: -113.4938,
    }];
    plan.hospital = "Royal Alexandra Hospital, 10240 Kingsway NW, Edmonton".into();
    plan.hospital_route = "Out gate 2, north on 97 Street, west on Kingsway: 12 minutes".into();
    plan.equipment = vec![
        "First aid kit (No. 2) and AED in the site trailer".into(),
        "Spill kit at the fuel tank".into(),
        "Fire extinguishers at each stair tower".into(),
    ];
    plan.first_aid =
        "Two first aiders per shift (names on the trailer board); the kit is in the trailer".into();
    plan.rescue_evacuation =
        "Three long blasts on the air horn: stop work, make equipment safe, walk to the muster point; \
         the supervisor counts heads against the sign-in sheet"
            .into();
    plan.alarms_communications =
        "Air horn at the trailer; radio channel 4 for emergencies; the supervisor calls 911".into();
    plan
}

/// A fire evacuation drill, not yet signed.
pub fn drill(emergency_plan_id: Option<&str>) -> Drill {
    let mut d = Drill::new(
        DrillType::Drill,
        "Fire at the fuel tank: evacuate to the muster point",
    );
    d.emergency_plan_id = emergency_plan_id.map(str::to_owned);
    d
}
