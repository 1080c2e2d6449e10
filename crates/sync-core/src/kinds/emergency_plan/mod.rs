//! Site emergency response plan (OHS Code s.115–117): who to call, where to muster, the hospital
//! and the way there, the equipment and where it is, first aid, rescue and evacuation, alarms.
//! Every phone assigned to the site keeps it, so it is there with no signal.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{REVIEW_INTERVAL_MS, codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;

string_enum! {
    pub enum PlanStatus {
        Draft => "draft",
        /// Signed off: the plan the site works to.
        Current => "current",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct EmergencyPlan {
    pub contacts: Vec<EmergencyContact>,
    pub muster_points: Vec<MusterPoint>,
    pub hospital: String,
    pub hospital_route: String,
    /// Emergency equipment and where it is.
    pub equipment: Vec<String>,
    pub first_aid: String,
    pub rescue_evacuation: String,
    pub alarms_communications: String,
    pub status: PlanStatus,
    /// The supervisor's or manager's sign-off that makes this revision current; its stamp is the
    /// revision date.
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct EmergencyContact {
    pub id: String,
    /// What they are called for (site supervisor, first aider, fire department).
    pub role: String,
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct MusterPoint {
    pub id: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

impl EmergencyPlan {
    /// An empty plan, every section still to write.
    pub fn new() -> Self {
        Self {
            contacts: Vec::new(),
            muster_points: Vec::new(),
            hospital: String::new(),
            hospital_route: String::new(),
            equipment: Vec::new(),
            first_aid: String::new(),
            rescue_evacuation: String::new(),
            alarms_communications: String::new(),
            status: PlanStatus::Draft,
            signature: None,
        }
    }

    /// The revision date: when the sign-off that made it current was given, Unix ms.
    pub fn revised_ms(&self) -> Option<i64> {
        self.signature.as_ref().map(|s| s.stamp.wall_ms)
    }

    /// Hash of what the sign-off vouches for: every section of the plan.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            contacts: &'a [EmergencyContact],
            muster_points: &'a [MusterPoint],
            hospital: &'a str,
            hospital_route: &'a str,
            equipment: &'a [String],
            first_aid: &'a str,
            rescue_evacuation: &'a str,
            alarms_communications: &'a str,
        }
        hash_json(&Signable {
            contacts: &self.contacts,
            muster_points: &self.muster_points,
            hospital: &self.hospital,
            hospital_route: &self.hospital_route,
            equipment: &self.equipment,
            first_aid: &self.first_aid,
            rescue_evacuation: &self.rescue_evacuation,
            alarms_communications: &self.alarms_communications,
        })
    }
}

impl Default for EmergencyPlan {
    fn default() -> Self {
        Self::new()
    }
}
