//! Refusal report (OHS Act, right to refuse): a worker refused work they believed dangerous; the
//! employer inspects, deals with the danger and gives the worker the written report.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;
use crate::stamp::Stamp;

string_enum! {
    pub enum RefusalStatus {
        Draft => "draft",
        /// The refusal is on record; the inspection and remedy follow.
        Reported => "reported",
        /// Closed by a supervisor or manager, whose signature covers the whole report.
        Closed => "closed",
    }
}

string_enum! {
    /// How the refusal was resolved.
    pub enum RefusalOutcome {
        Pending => "pending",
        HazardRemedied => "hazard_remedied",
        WorkChanged => "work_changed",
        NoUndueHazard => "no_undue_hazard",
        ReferredToOhs => "referred_to_ohs",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct RefusalReport {
    /// User id of the worker who refused.
    pub worker_id: String,
    pub work_refused: String,
    /// The danger the worker believed there was.
    pub hazard: String,
    pub refused_ms: i64,
    /// What the employer's inspection found, and who inspected (user id).
    pub inspection: String,
    pub inspected_by: Option<String>,
    /// What was done about it.
    pub remedy: String,
    pub outcome: RefusalOutcome,
    /// The written report was given to the worker (and the HSC/HSR where there is one).
    pub copies_given: bool,
    pub status: RefusalStatus,
    pub reported: Option<Stamp>,
    /// Closed by a supervisor or manager: their signature over the whole report.
    pub closed: Option<Signature>,
}

impl RefusalReport {
    pub fn new(
        worker_id: impl Into<String>,
        work_refused: impl Into<String>,
        hazard: impl Into<String>,
        refused_ms: i64,
    ) -> Self {
        Self {
            worker_id: worker_id.into(),
            work_refused: work_refused.into(),
            hazard: hazard.into(),
            refused_ms,
            inspection: String::new(),
            inspected_by: None,
            remedy: String::new(),
            outcome: RefusalOutcome::Pending,
            copies_given: false,
            status: RefusalStatus::Draft,
            reported: None,
            closed: None,
        }
    }

    /// Hash of what the closing signature vouches for: the whole report.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            worker_id: &'a str,
            work_refused: &'a str,
            hazard: &'a str,
            refused_ms: i64,
            inspection: &'a str,
            inspected_by: &'a Option<String>,
            remedy: &'a str,
            outcome: RefusalOutcome,
            copies_given: bool,
        }
        hash_json(&Signable {
            worker_id: &self.worker_id,
            work_refused: &self.work_refused,
            hazard: &self.hazard,
            refused_ms: self.refused_ms,
            inspection: &self.inspection,
            inspected_by: &self.inspected_by,
            remedy: &self.remedy,
            outcome: self.outcome,
            copies_given: self.copies_given,
        })
    }
}
