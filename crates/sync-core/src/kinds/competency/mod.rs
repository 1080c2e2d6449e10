//! Competency verification: a verifier watches a worker run one type of equipment, goes through
//! the checklist and signs. A pre-start by an operator with no such verification is flagged.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::paths;

use crate::model::{hash_json, string_enum};
use crate::parts::{ChecklistItem, Signature};
use crate::stamp::Stamp;

string_enum! {
    pub enum CompetencyStatus {
        Draft => "draft",
        /// Every item passed and the verifier signed.
        Verified => "verified",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Competency {
    /// User id of the worker verified.
    pub worker_id: String,
    /// The type of equipment, as the register types its units (`loader`).
    pub equipment_type: String,
    pub items: Vec<ChecklistItem>,
    pub status: CompetencyStatus,
    /// The verifier's signature: someone other than the worker, a supervisor or admin.
    pub verifier: Option<Signature>,
    pub verified: Option<Stamp>,
}

impl Competency {
    pub fn new(worker_id: impl Into<String>, equipment_type: impl Into<String>, items: Vec<ChecklistItem>) -> Self {
        Self {
            worker_id: worker_id.into(),
            equipment_type: equipment_type.into(),
            items,
            status: CompetencyStatus::Draft,
            verifier: None,
            verified: None,
        }
    }

    /// Hash of what the verifier signs: the worker, the equipment type and every answer.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            worker_id: &'a str,
            equipment_type: &'a str,
            items: &'a [ChecklistItem],
        }
        hash_json(&Signable {
            worker_id: &self.worker_id,
            equipment_type: &self.equipment_type,
            items: &self.items,
        })
    }
}
