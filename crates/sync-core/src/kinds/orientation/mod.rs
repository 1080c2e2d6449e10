//! Site orientation: a worker new to a site goes over the safety program, the site's hazards,
//! its emergency procedures and their right to refuse dangerous work (OHS Act s.17), acknowledges
//! each, and signs. A JSEA signed at a site by a worker with no orientation there is flagged.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::paths;

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;
use crate::stamp::Stamp;

string_enum! {
    pub enum OrientationStatus {
        Draft => "draft",
        /// Every topic acknowledged and the worker's signature on it.
        Signed => "signed",
    }
}

string_enum! {
    /// What every orientation covers.
    pub enum OrientationTopic {
        SafetyProgram => "safety_program",
        SiteHazards => "site_hazards",
        EmergencyProcedures => "emergency_procedures",
        RightToRefuse => "right_to_refuse",
    }
}

impl OrientationTopic {
    /// The topic as the worker reads it.
    pub fn label(self) -> &'static str {
        match self {
            OrientationTopic::SafetyProgram => "The company's health and safety program",
            OrientationTopic::SiteHazards => "This site's hazards and their controls",
            OrientationTopic::EmergencyProcedures => "Emergency procedures, muster point and first aid",
            OrientationTopic::RightToRefuse => "The right to refuse dangerous work",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Acknowledgement {
    pub topic: OrientationTopic,
    pub acknowledged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Orientation {
    /// User id of the worker oriented.
    pub worker_id: String,
    /// Who gave the orientation, in words (a supervisor, the safety coordinator).
    pub given_by: String,
    pub acknowledgements: Vec<Acknowledgement>,
    pub status: OrientationStatus,
    /// The worker's signature over every acknowledgement.
    pub worker_signature: Option<Signature>,
    pub completed: Option<Stamp>,
}

impl Orientation {
    /// An orientation of `worker_id` with every topic listed and none acknowledged yet.
    pub fn new(worker_id: impl Into<String>, given_by: impl Into<String>) -> Self {
        Self {
            worker_id: worker_id.into(),
            given_by: given_by.into(),
            acknowledgements: OrientationTopic::ALL
                .iter()
                .map(|&topic| Acknowledgement {
                    topic,
                    acknowledged: false,
                })
                .collect(),
            status: OrientationStatus::Draft,
            worker_signature: None,
            completed: None,
        }
    }

    /// Marks `topic` acknowledged.
    pub fn acknowledge(&mut self, topic: OrientationTopic) {
        match self.acknowledgements.iter_mut().find(|a| a.topic == topic) {
            Some(a) => a.acknowledged = true,
            None => self.acknowledgements.push(Acknowledgement {
                topic,
                acknowledged: true,
            }),
        }
    }

    /// Hash of what the worker signs: who is oriented and each acknowledgement.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            worker_id: &'a str,
            acknowledgements: &'a [Acknowledgement],
        }
        hash_json(&Signable {
            worker_id: &self.worker_id,
            acknowledgements: &self.acknowledgements,
        })
    }
}
