//! A supervisor's decision on a record, bound to the content it approved, and the reopening that
//! sends a record back to draft when conditions change.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kinds::{WriteRefusal, Writer};
use crate::model::string_enum;
use crate::protocol::{RejectCode, Role};
use crate::stamp::Stamp;

string_enum! {
    pub enum ApprovalDecision {
        Approved => "approved",
        Rejected => "rejected",
    }
}

/// A supervisor's decision, bound to the content it approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Approval {
    pub decision: ApprovalDecision,
    pub by_user_id: String,
    pub by_name: String,
    pub comment: Option<String>,
    pub content_hash: String,
    pub stamp: Stamp,
}

impl Approval {
    /// A decision as `by` makes it. A rejection needs a comment the crew can act on.
    pub fn new(
        decision: ApprovalDecision,
        by: &crate::lifecycle::Actor,
        comment: Option<String>,
        content_hash: String,
        stamp: Stamp,
    ) -> Result<Self> {
        let comment = comment.filter(|c| !c.trim().is_empty());
        if decision == ApprovalDecision::Rejected && comment.is_none() {
            return Err(Error::Invalid(
                "say why it is rejected so the crew can fix it".into(),
            ));
        }
        Ok(Self {
            decision,
            by_user_id: by.user_id.clone(),
            by_name: by.name.clone(),
            comment,
            content_hash,
            stamp,
        })
    }
}

/// Why a record was reopened after conditions changed (OHS Code s.7(4) for a hazard assessment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Reopening {
    pub reason: String,
    pub by_user_id: String,
    pub stamp: Stamp,
}

/// Only a supervisor (or admin) of the record's site decides, and only in their own name. An
/// approval cleared by a reopening or a new completion is not a decision and anyone may make it.
/// `label` names the kind in the refusal ("JSEAs").
pub fn check_decision(
    before: Option<&Option<Approval>>,
    after: &Option<Approval>,
    cleared_by_lifecycle: bool,
    writer: &Writer,
    label: &str,
) -> Result<(), WriteRefusal> {
    let changed = before != Some(after) && !(before.is_none() && after.is_none());
    if !changed {
        return Ok(());
    }
    let cleared = after.is_none() && cleared_by_lifecycle;
    let in_own_name = after.as_ref().is_none_or(|a| a.by_user_id == writer.user_id);
    if cleared || (writer.supervises() && in_own_name) {
        return Ok(());
    }
    Err(WriteRefusal::new(
        RejectCode::ApprovalNotPermitted,
        format!("{} may not approve or reject {label} at this site", writer.name),
    ))
}

/// Whether `role` may mark a record approved or rejected.
pub fn may_decide(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}
