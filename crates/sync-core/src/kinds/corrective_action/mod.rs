//! Corrective action: a hazard found (a failed pre-start item, an inspection finding, a near
//! miss, an investigation), what will be done about it, who does it by when, who resolved it, and
//! the verification, by someone other than the resolver, that the fix worked.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::{Approval, Assignment, RecordLink, Signature};
use crate::stamp::Stamp;

string_enum! {
    pub enum ActionStatus {
        Draft => "draft",
        /// Raised and waiting for its fix.
        Open => "open",
        /// The assignee says it is fixed; waiting for verification.
        Resolved => "resolved",
        /// Verified fixed by someone other than the resolver.
        Closed => "closed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct CorrectiveAction {
    /// The record (and item) the hazard was found in; `None` for one raised on its own.
    pub source: Option<RecordLink>,
    /// The hazard or deficiency found.
    pub hazard: String,
    /// What will be done about it.
    pub action: String,
    pub assignment: Assignment,
    /// When the hazard was identified, Unix ms.
    pub identified_ms: i64,
    /// The equipment unit this action holds out of service until it is closed.
    pub unit_id: Option<String>,
    pub status: ActionStatus,
    /// When it was raised (opened).
    pub raised: Option<Stamp>,
    /// What was done to fix it, written by the resolver before signing.
    pub resolution_note: Option<String>,
    /// The resolver's signature: who resolved it and when.
    pub resolved: Option<Signature>,
    /// The verification that the fix worked (approved) or did not (rejected, back to open).
    pub verification: Option<Approval>,
}

impl CorrectiveAction {
    pub fn new(
        hazard: impl Into<String>,
        action: impl Into<String>,
        assignment: Assignment,
        identified_ms: i64,
    ) -> Self {
        Self {
            source: None,
            hazard: hazard.into(),
            action: action.into(),
            assignment,
            identified_ms,
            unit_id: None,
            status: ActionStatus::Draft,
            raised: None,
            resolution_note: None,
            resolved: None,
            verification: None,
        }
    }

    /// Whether the action still needs work at `now_ms` and its due date has passed.
    pub fn overdue(&self, now_ms: i64) -> bool {
        self.status != ActionStatus::Draft
            && self
                .assignment
                .overdue(now_ms, self.status == ActionStatus::Closed)
    }

    /// Hash of what the resolver and the verifier vouch for: the hazard, the action and what
    /// was done.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            hazard: &'a str,
            action: &'a str,
            unit_id: &'a Option<String>,
            resolution_note: &'a Option<String>,
        }
        hash_json(&Signable {
            hazard: &self.hazard,
            action: &self.action,
            unit_id: &self.unit_id,
            resolution_note: &self.resolution_note,
        })
    }
}
