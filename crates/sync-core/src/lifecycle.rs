//! Lifecycle steps (complete, sign, approve or reject, start work, close, reopen, report).
//!
//! Each step checks what every kind shares (blocking findings before completing, a signature
//! bound to the content as it stands, a rejection with a reason) and hands the rest to the kind's
//! spec, which checks that the step makes sense for the record and stamps the event. Who may take
//! a step (only a supervisor approves, a person signs only as themself) is the kind's write rule,
//! which the server applies from the token; the phone checks the same rules early.

use crate::error::{Error, Result};
use crate::model::{Approval, ApprovalDecision, Record, Reopening, Signature};
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
    record.body.spec_mut().complete(stamp)
}

/// Signs the record as `actor`: crew sign-on for a JSEA (joining the crew if not listed yet), the
/// operator's sign-off for a pre-start. The signature is bound to the hash of the content as it
/// stands; a JSEA's crew list is not part of that content, so joining leaves other signatures valid.
pub fn sign(record: &mut Record, actor: &Actor, stamp: Stamp) -> Result<()> {
    let signature = Signature {
        user_id: actor.user_id.clone(),
        name: actor.name.clone(),
        content_hash: record.body.content_hash(),
        stamp,
    };
    record.body.spec_mut().sign(signature)
}

/// A supervisor approves or rejects a completed record. A rejection needs a comment the crew can
/// act on.
pub fn decide(
    record: &mut Record,
    actor: &Actor,
    decision: ApprovalDecision,
    comment: Option<String>,
    stamp: Stamp,
) -> Result<()> {
    let approval = Approval::new(decision, actor, comment, record.body.content_hash(), stamp)?;
    record.body.spec_mut().decide(approval)
}

/// Records that work started. Never refused for a missing approval: the crew's word is recorded
/// and the flags show what was missing.
pub fn start_work(record: &mut Record, stamp: Stamp) -> Result<()> {
    record.body.spec_mut().start_work(stamp)
}

pub fn close(record: &mut Record, stamp: Stamp) -> Result<()> {
    record.body.spec_mut().close(stamp)
}

/// Conditions changed: the record goes back to draft and must be completed and approved again.
pub fn reopen(record: &mut Record, actor: &Actor, reason: &str, stamp: Stamp) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid("say what changed on site".into()));
    }
    record.body.spec_mut().reopen(Reopening {
        reason: reason.trim().to_owned(),
        by_user_id: actor.user_id.clone(),
        stamp,
    })
}
