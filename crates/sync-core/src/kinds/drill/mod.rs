//! Emergency drill or plan review (OHS Code s.116): the crew practises the emergency plan, or
//! goes over it, signs that they took part, and writes what to fix.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;
use crate::stamp::Stamp;

string_enum! {
    pub enum DrillType {
        Drill => "drill",
        PlanReview => "plan_review",
    }
}

string_enum! {
    pub enum DrillStatus {
        Draft => "draft",
        Held => "held",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Drill {
    pub drill_type: DrillType,
    /// What was practised or reviewed.
    pub scenario: String,
    pub emergency_plan_id: Option<String>,
    /// User ids of those who took part; signing adds the signer. Not part of the signed content.
    pub participants: Vec<String>,
    /// Participants' signatures, keyed by user id.
    pub signatures: BTreeMap<String, Signature>,
    /// What went well, what to fix.
    pub lessons: Vec<String>,
    pub status: DrillStatus,
    pub held: Option<Stamp>,
}

impl Drill {
    pub fn new(drill_type: DrillType, scenario: impl Into<String>) -> Self {
        Self {
            drill_type,
            scenario: scenario.into(),
            emergency_plan_id: None,
            participants: Vec::new(),
            signatures: BTreeMap::new(),
            lessons: Vec::new(),
            status: DrillStatus::Draft,
            held: None,
        }
    }

    /// Hash of what participants sign: that they took part in this drill of this plan. The
    /// lessons are written afterwards and leave their signatures valid.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            drill_type: DrillType,
            scenario: &'a str,
            emergency_plan_id: &'a Option<String>,
        }
        hash_json(&Signable {
            drill_type: self.drill_type,
            scenario: &self.scenario,
            emergency_plan_id: &self.emergency_plan_id,
        })
    }
}
