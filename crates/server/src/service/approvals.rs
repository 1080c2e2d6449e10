//! A supervisor's approval queue and decision. A decision taken here is written into the record as
//! that supervisor (with an automerge actor registered to them), through the same checks and the
//! same storage path as a decision synced from a phone, so the crew's phones receive it on their
//! next sync.

use automerge::ActorId;
use sync_core::RecordDocument;
use sync_core::clock::{SERVER_BOOT, SERVER_DEVICE_PREFIX};
use sync_core::kinds::KindSpec;
use sync_core::kinds::jsea::JseaStatus;
use sync_core::lifecycle::{self, Actor};
use sync_core::model::ApprovalDecision;
use sync_core::stamp::Stamp;
use sync_core::{Kind, ListFilter, ListOrder};

use super::records::{RecordDetail, detail_of};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{ActorOwner, AuditNote, RecordStore};
use crate::sync::{Author, Refusal, check_change, store_merged};

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
    let store: &dyn RecordStore = state.store.as_ref();
    let not_found = || ServiceError::NotFound("no such record".into());
    if !store.in_scope(&who.scope(), id)? {
        return Err(not_found());
    }
    let _held = state.doc_locks.lock(id);
    let stored = store.document(&who.tenant_id, id)?.ok_or_else(not_found)?;
    // The device prefix is what lets this stamp's server boot id count as the server's clock.
    let web_device = format!("{SERVER_DEVICE_PREFIX}{}", who.user_id);
    let actor = web_actor(store, who, &web_device)?;
    let mut doc =
        RecordDocument::load_chunks(&stored.snapshot, stored.chunks.iter().map(Vec::as_slice), actor)
            .map_err(ServiceError::internal)?;
    let before = doc.record().map_err(ServiceError::internal)?;
    if before.kind() != Kind::Jsea {
        return Err(ServiceError::Conflict(format!(
            "a {} is not approved; only a JSEA is",
            before.kind().label()
        )));
    }
    let before_heads = doc.heads();
    let me = Actor {
        user_id: who.user_id.clone(),
        name: who.name.clone(),
    };
    let now = (state.clock)();
    let stamp = Stamp::new(now, 0, SERVER_BOOT);
    doc.update(&who.user_id, now, |r| {
        lifecycle::decide(r, &me, decision, comment, stamp)
    })
    .map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let after = doc.record().map_err(ServiceError::internal)?;
    let author = store
        .user(&who.tenant_id, &who.user_id)?
        .ok_or_else(|| ServiceError::Forbidden("unknown user".into()))?;
    let refused = |r: Refusal| match r {
        Refusal::Reject(_, reason) => ServiceError::Forbidden(reason),
        Refusal::Store(e) => e.into(),
    };
    let writer = Author {
        user: &author,
        anonymous: false,
    };
    check_change(store, &who.tenant_id, &writer, Some(&before), &after).map_err(refused)?;
    let audit = AuditNote {
        user_id: who.user_id.clone(),
        action: format!("jsea.{}", decision.as_str()),
        detail: format!("record {id} from the browser"),
    };
    store_merged(
        store,
        &who.tenant_id,
        id,
        &web_device,
        &mut doc,
        &before_heads,
        stored.chunks.len(),
        false,
        Some(&audit),
        now,
    )
    .map_err(refused)?;
    detail_of(store, &who.tenant_id, id, now)?.ok_or_else(not_found)
}

/// The automerge actor that writes for this person from the browser, registered on first use.
pub(crate) fn web_actor(
    store: &dyn RecordStore,
    who: &Principal,
    web_device: &str,
) -> ServiceResult<ActorId> {
    if let Some(hex) = store.actor_for_device(web_device)? {
        return ActorId::try_from(hex.as_str()).map_err(ServiceError::internal);
    }
    let actor = ActorId::random();
    store.register_actor(
        &actor.to_hex_string(),
        &ActorOwner {
            tenant_id: who.tenant_id.clone(),
            user_id: who.user_id.clone(),
            device_id: web_device.to_owned(),
            anonymous: false,
        },
    )?;
    Ok(actor)
}
