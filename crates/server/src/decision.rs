//! A supervisor's decision on a JSEA taken over the API: the service writes it into the record as
//! that supervisor (`service::approvals`), as the approval page does.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use sync_core::model::ApprovalDecision;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, JsonBody};
use crate::service::approvals;
use crate::service::records::RecordDetail;

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
    let detail = approvals::decide(&state, &caller.principal(), &id, body.decision, body.comment).await?;
    Ok(Json(detail))
}
