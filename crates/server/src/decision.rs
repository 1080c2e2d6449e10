//! A supervisor's decision on a JSEA taken in the browser: the server writes it into the record
//! as that supervisor (with an actor registered to them), through the same checks and the same
//! storage path as a decision synced from a phone.

use automerge::ActorId;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use sync_core::RecordDocument;
use sync_core::clock::{SERVER_BOOT, SERVER_DEVICE_PREFIX};
use sync_core::lifecycle::{self, Actor};
use sync_core::model::ApprovalDecision;
use sync_core::protocol::Role;
use sync_core::stamp::Stamp;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::routes::{RecordDetail, detail_of};
use crate::store::{ActorOwner, AuditNote, RecordStore};
use crate::sync::{Author, Refusal, check_change, store_merged};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionRequest {
    #[schema(value_type = DecisionName)]
    pub decision: ApprovalDecision,
    /// Required when rejecting: what the crew must change.
    pub comment: Option<String>,
}

/// `approved` or `rejected`: the OpenAPI document's description of `ApprovalDecision`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // only describes the wire form
pub enum DecisionName {
    Approved,
    Rejected,
}

/// Approves or rejects a completed JSEA (supervisors of the record's site only).
#[utoipa::path(post, path = "/v1/records/{id}/decision", tag = "records", request_body = DecisionRequest,
    params(("id" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordDetail), (status = 403, body = sync_core::protocol::ErrorBody),
        (status = 404, body = sync_core::protocol::ErrorBody), (status = 409, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionRequest>,
) -> ApiResult<Json<RecordDetail>> {
    if !matches!(caller.claims.role, Role::Supervisor | Role::Admin) {
        return Err(ApiError::forbidden(
            "only a supervisor approves or rejects a JSEA",
        ));
    }
    let state2 = state.clone();
    let detail = tokio::task::spawn_blocking(move || decide_blocking(&state2, &caller, &id, body)).await??;
    Ok(Json(detail))
}

fn decide_blocking(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: DecisionRequest,
) -> ApiResult<RecordDetail> {
    let store: &dyn RecordStore = state.store.as_ref();
    if !store.in_scope(&caller.scope(), id)? {
        return Err(ApiError::not_found("no such record"));
    }
    let _held = state.doc_locks.lock(id);
    let stored = store
        .document(&caller.claims.tenant, id)?
        .ok_or_else(|| ApiError::not_found("no such record"))?;
    // The device prefix is what lets this stamp's server boot id count as the server's clock.
    let web_device = format!("{SERVER_DEVICE_PREFIX}{}", caller.claims.sub);
    let actor = web_actor(store, caller, &web_device)?;
    let mut doc =
        RecordDocument::load_chunks(&stored.snapshot, stored.chunks.iter().map(Vec::as_slice), actor)
            .map_err(ApiError::internal)?;
    let before = doc.record().map_err(ApiError::internal)?;
    let before_heads = doc.heads();
    let me = Actor {
        user_id: caller.claims.sub.clone(),
        name: caller.name.clone(),
    };
    let now = (state.clock)();
    let stamp = Stamp::new(now, 0, SERVER_BOOT);
    doc.update(&caller.claims.sub, now, |r| {
        lifecycle::decide(r, &me, body.decision, body.comment, stamp)
    })
    .map_err(|e| ApiError::conflict(e.to_string()))?;
    let after = doc.record().map_err(ApiError::internal)?;
    let author = store
        .user(&caller.claims.tenant, &caller.claims.sub)?
        .ok_or_else(|| ApiError::forbidden("unknown user"))?;
    let refused = |r: Refusal| match r {
        Refusal::Reject(_, reason) => ApiError::forbidden(reason),
        Refusal::Store(e) => e.into(),
    };
    let writer = Author {
        user: &author,
        anonymous: false,
    };
    check_change(store, caller, &writer, Some(&before), &after).map_err(refused)?;
    let audit = AuditNote {
        user_id: caller.claims.sub.clone(),
        action: format!("jsea.{}", body.decision.as_str()),
        detail: format!("record {id} from the browser"),
    };
    store_merged(
        store,
        &caller.claims.tenant,
        id,
        &web_device,
        &mut doc,
        &before_heads,
        stored.chunks.len(),
        false,
        Some(&audit),
    )
    .map_err(refused)?;
    detail_of(store, &caller.claims.tenant, id)
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found("no such record"))
}

/// The automerge actor that writes for this person from the browser, registered on first use.
fn web_actor(store: &dyn RecordStore, caller: &Caller, web_device: &str) -> ApiResult<ActorId> {
    if let Some(hex) = store.actor_for_device(web_device)? {
        return ActorId::try_from(hex.as_str()).map_err(ApiError::internal);
    }
    let actor = ActorId::random();
    store.register_actor(
        &actor.to_hex_string(),
        &ActorOwner {
            tenant_id: caller.claims.tenant.clone(),
            user_id: caller.claims.sub.clone(),
            device_id: web_device.to_owned(),
            anonymous: false,
        },
    )?;
    Ok(actor)
}
