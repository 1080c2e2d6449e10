//! What one record's flags may need from the rest of the safety program: whether the people it
//! names were oriented at the site, held the competency for the equipment and held its required
//! certificates when they acted; and what corrective action a failure raises.
//!
//! The server fills [`ProgramFacts`] from its records (certificates, competency verifications,
//! orientations, the equipment register) and the kinds' flags read them here, so the rule is the
//! core's and the server only supplies facts. A phone holds only part of the program and leaves
//! them out, so it never raises these flags on a guess.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::clock::format_utc;

/// The program's facts about the people and the equipment unit a record names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgramFacts {
    /// The record's site, where orientations count.
    pub site_id: String,
    /// What each person named by the record holds, by user id. A person missing here holds nothing.
    pub people: BTreeMap<String, Qualifications>,
    /// The unit a pre-start names, as the equipment register has it; `None` when it names none
    /// the register knows.
    pub unit: Option<RegisteredUnit>,
}

/// A person's orientations, competencies and certificates on record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Qualifications {
    pub orientations: Vec<OrientationHeld>,
    pub competencies: Vec<CompetencyHeld>,
    pub certificates: Vec<CertificateHeld>,
}

/// A signed site orientation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrientationHeld {
    pub record_id: String,
    pub site_id: String,
    /// When the worker signed it, Unix ms.
    pub signed_ms: i64,
}

/// A verified competency on one type of equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetencyHeld {
    pub record_id: String,
    pub equipment_type: String,
    /// When the verifier signed it, Unix ms.
    pub verified_ms: i64,
}

/// A certificate (ticket) on record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateHeld {
    pub record_id: String,
    pub certificate_type: String,
    pub number: String,
    /// When it was issued, Unix ms, where known.
    pub issued_ms: Option<i64>,
    /// When it expires, Unix ms; `None` for a certificate that does not expire.
    pub expiry_ms: Option<i64>,
}

/// A unit in the company's equipment register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredUnit {
    pub unit_id: String,
    /// The type competencies are verified on (`loader`, `pickup`); empty when not yet set.
    pub equipment_type: String,
    /// Certificate types an operator of this unit must hold, current on the day.
    pub required_certificates: Vec<String>,
}

impl Qualifications {
    /// The orientation at `site_id` signed at or before `at_ms`, if any.
    pub fn oriented(&self, site_id: &str, at_ms: i64) -> Option<&OrientationHeld> {
        self.orientations
            .iter()
            .filter(|o| o.site_id == site_id && o.signed_ms <= at_ms)
            .min_by_key(|o| o.signed_ms)
    }

    /// The competency on `equipment_type` verified at or before `at_ms`, if any.
    pub fn competent(&self, equipment_type: &str, at_ms: i64) -> Option<&CompetencyHeld> {
        self.competencies
            .iter()
            .filter(|c| same_name(&c.equipment_type, equipment_type) && c.verified_ms <= at_ms)
            .min_by_key(|c| c.verified_ms)
    }

    /// The certificates of `certificate_type` on record, most lasting first.
    fn certificates_of<'a>(&'a self, certificate_type: &'a str) -> impl Iterator<Item = &'a CertificateHeld> {
        self.certificates
            .iter()
            .filter(move |c| same_name(&c.certificate_type, certificate_type))
    }
}

/// What a record's program flags need to know: the people whose qualifications count and the
/// equipment unit it names. Empty for most kinds, so judging them looks nothing up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramNeeds {
    pub people: Vec<String>,
    pub unit_id: Option<String>,
}

impl ProgramNeeds {
    pub fn is_empty(&self) -> bool {
        self.people.is_empty() && self.unit_id.is_none()
    }
}

/// A unit number as the register matches it: letters and digits only, upper case, so "ld-3",
/// "LD 3" and "LD3" are one unit.
pub fn unit_key(unit_id: &str) -> String {
    unit_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Types and certificate names as people type them: case and surrounding space do not matter.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Why an operator was not qualified to run a unit at a moment, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unqualified {
    /// No competency on the unit's type verified before the moment.
    NoCompetency {
        equipment_type: String,
        /// Competencies the person holds, in words, for the evidence.
        held: String,
    },
    /// A required certificate missing, or expired on the day.
    Certificate {
        certificate_type: String,
        /// "none on record", or "No. 123 expired 2026-10-01 00:00 UTC".
        found: String,
    },
}

/// Every way `operator` was unqualified for `unit` at `at_ms`. An empty equipment type asks no
/// competency (the register has not typed the unit yet).
pub fn operator_gaps(
    unit: &RegisteredUnit,
    operator: Option<&Qualifications>,
    at_ms: i64,
) -> Vec<Unqualified> {
    let none = Qualifications::default();
    let person = operator.unwrap_or(&none);
    let mut gaps = Vec::new();
    if !unit.equipment_type.trim().is_empty() && person.competent(&unit.equipment_type, at_ms).is_none() {
        let held: Vec<String> = person
            .competencies
            .iter()
            .map(|c| format!("{} (verified {})", c.equipment_type, format_utc(c.verified_ms)))
            .collect();
        gaps.push(Unqualified::NoCompetency {
            equipment_type: unit.equipment_type.clone(),
            held: if held.is_empty() {
                "none on record".into()
            } else {
                held.join("; ")
            },
        });
    }
    for required in &unit.required_certificates {
        let mut found = Vec::new();
        let mut current = false;
        for cert in person.certificates_of(required) {
            let issued = cert.issued_ms.is_none_or(|i| i <= at_ms);
            let unexpired = cert.expiry_ms.is_none_or(|e| e >= at_ms);
            current |= issued && unexpired;
            found.push(match cert.expiry_ms {
                Some(e) if e < at_ms => format!("No. {} expired {}", cert.number, format_utc(e)),
                Some(e) => format!("No. {} expires {}", cert.number, format_utc(e)),
                None => format!("No. {} (no expiry)", cert.number),
            });
        }
        if !current {
            gaps.push(Unqualified::Certificate {
                certificate_type: required.clone(),
                found: if found.is_empty() {
                    "none on record".into()
                } else {
                    found.join("; ")
                },
            });
        }
    }
    gaps
}

/// A corrective action the server raises for a failure in a record: one per failed item, with an
/// id of its own derived from the record and the item, so a failure synced twice (two phones, a
/// retry) raises it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSeed {
    /// The failed checklist item the action is for.
    pub item_id: String,
    pub hazard: String,
    /// What must be done, as first written; the assignee may rewrite it.
    pub action: String,
    /// The equipment unit held out of service until the action is closed.
    pub unit_id: Option<String>,
    /// Who must do it (user id), where the record named someone (a meeting's or an
    /// investigation's action); `None` leaves it to the server's default owner.
    pub assignee: Option<String>,
    /// When it is due, Unix ms, where the record set a date; `None` leaves the server's default.
    pub due_ms: Option<i64>,
}

/// The id of the action raised for `item_id` of record `record_id`: the same on every server
/// process and every retry.
pub fn raised_action_id(record_id: &str, item_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("corrective-action\0{record_id}\0{item_id}").as_bytes());
    format!("ca-{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn unit() -> RegisteredUnit {
        RegisteredUnit {
            unit_id: "LD-3".into(),
            equipment_type: "Loader".into(),
            required_certificates: vec!["Ground disturbance".into()],
        }
    }

    #[test]
    fn a_competency_or_certificate_counts_only_from_its_own_day() {
        let person = Qualifications {
            competencies: vec![CompetencyHeld {
                record_id: "c1".into(),
                equipment_type: " loader".into(),
                verified_ms: 10 * DAY,
            }],
            certificates: vec![CertificateHeld {
                record_id: "t1".into(),
                certificate_type: "ground disturbance".into(),
                number: "GD-77".into(),
                issued_ms: Some(DAY),
                expiry_ms: Some(20 * DAY),
            }],
            ..Qualifications::default()
        };
        assert!(operator_gaps(&unit(), Some(&person), 15 * DAY).is_empty());
        let before = operator_gaps(&unit(), Some(&person), 5 * DAY);
        assert!(
            matches!(&before[..], [Unqualified::NoCompetency { .. }]),
            "{before:?}"
        );
        let after = operator_gaps(&unit(), Some(&person), 21 * DAY);
        match &after[..] {
            [Unqualified::Certificate { found, .. }] => assert!(found.contains("GD-77 expired"), "{found}"),
            other => panic!("{other:?}"),
        }
        let stranger = operator_gaps(&unit(), None, 15 * DAY);
        assert_eq!(stranger.len(), 2);
    }

    #[test]
    fn unit_numbers_match_however_they_are_written() {
        assert_eq!(unit_key(" ld-3"), unit_key("LD 3"));
        assert_eq!(unit_key("LD3"), "LD3");
        assert_ne!(unit_key("LD-3"), unit_key("LD-30"));
    }

    #[test]
    fn a_raised_actions_id_depends_only_on_the_record_and_the_item() {
        assert_eq!(raised_action_id("r1", "i1"), raised_action_id("r1", "i1"));
        assert_ne!(raised_action_id("r1", "i1"), raised_action_id("r1", "i2"));
        assert_ne!(raised_action_id("r1", "i1"), raised_action_id("r2", "i1"));
    }
}
