//! Acknowledgement: a person reads something the program must show they were told (their right
//! to refuse dangerous work, the policy, the emergency plan, their responsibilities) and signs it
//! as themself.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{RIGHT_TO_REFUSE_STATEMENT, codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;

string_enum! {
    /// What was acknowledged.
    pub enum AckSubject {
        RightToRefuse => "right_to_refuse",
        Policy => "policy",
        EmergencyPlan => "emergency_plan",
        Responsibilities => "responsibilities",
    }
}

string_enum! {
    pub enum AckStatus {
        Draft => "draft",
        /// The person signed what they read.
        Signed => "signed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Acknowledgement {
    pub subject: AckSubject,
    /// The record acknowledged (a policy's or an emergency plan's id), where there is one.
    pub document_id: Option<String>,
    /// The words the person read and acknowledged.
    pub statement: String,
    /// User id of the person acknowledging; only they may sign.
    pub person_id: String,
    pub signature: Option<Signature>,
    pub status: AckStatus,
}

impl Acknowledgement {
    pub fn new(subject: AckSubject, person_id: impl Into<String>, statement: impl Into<String>) -> Self {
        Self {
            subject,
            document_id: None,
            statement: statement.into(),
            person_id: person_id.into(),
            signature: None,
            status: AckStatus::Draft,
        }
    }

    /// `person_id`'s acknowledgement of their right to refuse dangerous work, with the standard
    /// statement.
    pub fn right_to_refuse(person_id: impl Into<String>) -> Self {
        Self::new(AckSubject::RightToRefuse, person_id, RIGHT_TO_REFUSE_STATEMENT)
    }

    /// Hash of what the person signs: what they acknowledged, in the words they read.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            subject: AckSubject,
            document_id: &'a Option<String>,
            statement: &'a str,
            person_id: &'a str,
        }
        hash_json(&Signable {
            subject: self.subject,
            document_id: &self.document_id,
            statement: &self.statement,
            person_id: &self.person_id,
        })
    }
}
