//! A supervisor's approval queue and decision. A decision taken here is written into the record as
//! that supervisor (with an automerge actor registered to them), through the same checks and the
//! same storage path as a decision synced from a phone, so the crew's phones receive it on their
//! next sync.

use sync_core::kinds::KindSpec;
use sync_core::kinds::jsea::JseaStatus;
use sync_core::lifecycle;
use sync_core::model::ApprovalDecision;
use sync_core::{Kind, ListFilter, ListOrder};

use super::records::{RecordDetail, detail_of};
use super::{Principal, ServiceError, ServiceResult, blocking, writes};
use crate::AppState;

/// How many waiting JSEAs one queue shows; older ones come first, so none is starved.
pub const QUEUE_LENGTH: u32 = 100;

/// Completed JSEAs on the person's sites waiting for a decision, oldest first.
pub async fn queue(state: &AppState, who: &Principal) -> ServiceResult<Vec<RecordDetail>> {
    who.require_decider()?;
    let store = state.store.clone();
    let scope = who.scope();
    let now_ms = (state.clock)();
    blocking(move || {
        let filter = ListFilter {
            kind: Some(sync_core::kinds::jsea::Jsea::NAME.to_owned()),
            status: Some(JseaStatus::Completed.as_str().to_owned()),
            order: ListOrder::OldestCompleted,
            limit: Some(QUEUE_LENGTH),
            ..ListFilter::default()
        };
        let mut waiting = Vec::new();
        for row in store.list_records(&scope, &filter)? {
            if let Some(detail) = detail_of(store.as_ref(), &scope.tenant_id, &row.id, now_ms)? {
                waiting.push(detail);
            }
        }
        Ok(waiting)
    })
    .await
}

/// Approves or rejects a completed JSEA as `who`. A rejection needs a comment the crew can act on.
pub async fn decide(
    state: &AppState,
    who: &Principal,
    id: &str,
    decision: ApprovalDecision,
    comment: Option<String>,
) -> ServiceResult<RecordDetail> {
    who.require_decider()?;
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || decide_blocking(&state, &who, &id, decision, comment)).await
}

fn decide_blocking(
    state: &AppState,
    who: &Principal,
    id: &str,
    decision: ApprovalDecision,
    comment: Option<String>,
) -> ServiceResult<RecordDetail> {
    let action = format!("jsea.{}", decision.as_str());
    writes::write_as(state, who, id, &action, |record, me, stamp| {
        if record.kind() != Kind::Jsea {
            return Err(ServiceError::Conflict(format!(
                "a {} is not approved; only a JSEA is",
                record.kind().label()
            )));
        }
        lifecycle::decide(record, me, decision, comment, stamp)
            .map_err(|e| ServiceError::Conflict(e.to_string()))
    })
}
