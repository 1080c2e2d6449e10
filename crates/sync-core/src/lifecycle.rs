//! Lifecycle steps (complete, sign, approve or reject, start work, close, reopen, report).
//!
//! Each step checks that it makes sense for the record as it stands and stamps the event. Who may
//! take a step (only a supervisor approves, a person signs only as themself) is the server's
//! decision from the token; the phone checks the same rules early so people learn at once.

use crate::error::{Error, Result};
use crate::model::{
    Approval, ApprovalDecision, Body, JseaStatus, NearMissStatus, PreStartStatus, Record, Signature,
};
use crate::stamp::Stamp;
use crate::validate::{self, Finding};

/// Who takes a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub name: String,
}

fn blocking(record: &Record) -> Vec<Finding> {
    validate::validate(record)
        .into_iter()
        .filter(Finding::is_blocking)
        .collect()
}

/// Marks the record done: a JSEA completed (crew signed), a pre-start completed, a near-miss
/// reported. Refused with every blocking finding when the record is not ready; nothing is lost.
pub fn complete(record: &mut Record, stamp: Stamp) -> Result<()> {
    let findings = blocking(record);
    if !findings.is_empty() {
        return Err(Error::Blocked(findings));
    }
    match &mut record.body {
        Body::Jsea(j) => {
            let rejected = j
                .approval
                .as_ref()
                .is_some_and(|a| a.decision == ApprovalDecision::Rejected);
            if j.status == JseaStatus::Closed || (j.completed.is_some() && !rejected) {
                return Err(Error::Lifecycle(format!(
                    "a JSEA that is {} cannot be completed again",
                    j.status
                )));
            }
            // A completion made after work started keeps work_started, so the flag shows it.
            j.status = if j.work_started.is_some() {
                JseaStatus::WorkStarted
            } else {
                JseaStatus::Completed
            };
            j.completed = Some(stamp);
            j.approval = None;
        }
        Body::PreStart(p) => {
            if p.status == PreStartStatus::Completed {
                return Err(Error::Lifecycle("this pre-start is already completed".into()));
            }
            p.status = PreStartStatus::Completed;
            p.completed = Some(stamp);
        }
        Body::NearMiss(n) => {
            if n.status == NearMissStatus::Reported {
                return Err(Error::Lifecycle("this near-miss is already reported".into()));
            }
            n.status = NearMissStatus::Reported;
            n.reported = Some(stamp);
        }
    }
    Ok(())
}

/// Signs the record as `actor`: crew sign-on for a JSEA (joining the crew if not listed yet), the
/// operator's sign-off for a pre-start. The signature is bound to the hash of the content as it
/// stands; a JSEA's crew list is not part of that content, so joining leaves other signatures valid.
pub fn sign(record: &mut Record, actor: &Actor, stamp: Stamp) -> Result<()> {
    let content_hash = record.body.content_hash();
    let signature = Signature {
        user_id: actor.user_id.clone(),
        name: actor.name.clone(),
        content_hash,
        stamp,
    };
    match &mut record.body {
        Body::Jsea(j) => {
            if j.status == JseaStatus::Closed {
                return Err(Error::Lifecycle("a closed JSEA cannot be signed".into()));
            }
            if !j.crew.contains(&actor.user_id) {
                j.crew.push(actor.user_id.clone());
            }
            j.signatures.insert(actor.user_id.clone(), signature);
        }
        Body::PreStart(p) => {
            if p.operator_id != actor.user_id {
                return Err(Error::Lifecycle(
                    "only the operator who did the check signs it off".into(),
                ));
            }
            p.sign_off = Some(signature);
        }
        Body::NearMiss(_) => return Err(Error::Lifecycle("near-miss reports are not signed".into())),
    }
    Ok(())
}

/// A supervisor approves or rejects a completed JSEA. A rejection needs a comment the crew can act on.
pub fn decide(
    record: &mut Record,
    actor: &Actor,
    decision: ApprovalDecision,
    comment: Option<String>,
    stamp: Stamp,
) -> Result<()> {
    let content_hash = record.body.content_hash();
    let Body::Jsea(j) = &mut record.body else {
        return Err(Error::Lifecycle("only a JSEA is approved".into()));
    };
    if j.completed.is_none() {
        return Err(Error::Lifecycle(
            "the crew has not completed this JSEA yet".into(),
        ));
    }
    if j.status == JseaStatus::Closed {
        return Err(Error::Lifecycle(
            "a closed JSEA cannot be approved or rejected".into(),
        ));
    }
    let comment = comment.filter(|c| !c.trim().is_empty());
    if decision == ApprovalDecision::Rejected && comment.is_none() {
        return Err(Error::Invalid(
            "say why the JSEA is rejected so the crew can fix it".into(),
        ));
    }
    j.approval = Some(Approval {
        decision,
        by_user_id: actor.user_id.clone(),
        by_name: actor.name.clone(),
        comment,
        content_hash,
        stamp,
    });
    if j.work_started.is_none() {
        j.status = match decision {
            ApprovalDecision::Approved => JseaStatus::Approved,
            ApprovalDecision::Rejected => JseaStatus::Rejected,
        };
    }
    Ok(())
}

/// Records that work started. Never refused for a missing approval: the crew's word is recorded
/// and the flags show what was missing.
pub fn start_work(record: &mut Record, stamp: Stamp) -> Result<()> {
    let Body::Jsea(j) = &mut record.body else {
        return Err(Error::Lifecycle("work is started against a JSEA".into()));
    };
    if j.work_started.is_some() {
        return Err(Error::Lifecycle("work on this JSEA already started".into()));
    }
    if j.status == JseaStatus::Closed {
        return Err(Error::Lifecycle("this JSEA is closed".into()));
    }
    j.work_started = Some(stamp);
    j.status = JseaStatus::WorkStarted;
    Ok(())
}

pub fn close(record: &mut Record, stamp: Stamp) -> Result<()> {
    let Body::Jsea(j) = &mut record.body else {
        return Err(Error::Lifecycle("only a JSEA is closed".into()));
    };
    if j.status == JseaStatus::Closed {
        return Err(Error::Lifecycle("this JSEA is already closed".into()));
    }
    j.closed = Some(stamp);
    j.status = JseaStatus::Closed;
    Ok(())
}

/// Conditions changed: the JSEA goes back to draft and must be completed and approved again.
pub fn reopen(record: &mut Record, actor: &Actor, reason: &str, stamp: Stamp) -> Result<()> {
    let Body::Jsea(j) = &mut record.body else {
        return Err(Error::Lifecycle("only a JSEA is reopened".into()));
    };
    if reason.trim().is_empty() {
        return Err(Error::Invalid("say what changed on site".into()));
    }
    if j.status == JseaStatus::Draft {
        return Err(Error::Lifecycle("this JSEA is still a draft".into()));
    }
    j.reopened = Some(crate::model::jsea::Reopening {
        reason: reason.trim().to_owned(),
        by_user_id: actor.user_id.clone(),
        stamp,
    });
    j.status = JseaStatus::Draft;
    j.completed = None;
    j.approval = None;
    j.closed = None;
    Ok(())
}
