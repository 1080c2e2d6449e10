//! JSON endpoints: sign-in, admin, the office's read API, limits and health. Thin over the
//! service layer (`crate::service`), which the pages share.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sync_core::protocol::{Limits, LoginRequest, RefreshRequest, Role, TokenResponse};
use sync_core::{ListFilter, ListOrder, Projection};

use crate::AppState;
use crate::auth::{self, Caller, Claims, REFRESH_TTL_MS};
use crate::error::{ApiError, ApiResult, JsonBody, QueryParams};
use crate::ratelimit::ClientAddress;
use crate::service::people::{NewPerson, PersonChange};
use crate::service::{audit, devices, export, identity, inspections, people, readiness, records, sites};
use crate::store::sqlite::now_ms;
use crate::store::{AuditEntry, Device, DeviceSignIn, RefreshUse, Site, StoreError};

pub use crate::service::records::{RecordDetail, TimelineEvent, WITHHELD, detail_of};

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

/// Answers 200 when the record store can be read.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Store usable"), (status = 503, description = "Store unusable")))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.health()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "record store unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "record store unavailable"),
    }
}

/// What the sync endpoint accepts.
#[utoipa::path(get, path = "/v1/sync/limits", tag = "sync", responses((status = 200, body = Limits)))]
pub async fn limits(State(state): State<AppState>) -> Json<Limits> {
    Json(state.limits.as_ref().clone())
}

/// An access token for the person on the device, with an empty refresh token for the caller to
/// fill.
fn access(state: &AppState, user: &crate::store::User, device_id: &str) -> ApiResult<TokenResponse> {
    let now = now_ms();
    let claims = Claims {
        sub: user.id.clone(),
        tenant: user.tenant_id.clone(),
        role: user.role,
        device: device_id.to_owned(),
        iat: now / 1000,
        exp: (now + state.access_ttl_ms) / 1000,
    };
    Ok(TokenResponse {
        access_token: state.keys.issue(&claims)?,
        access_expires_at_ms: (now + state.access_ttl_ms) / 1000 * 1000,
        refresh_token: String::new(),
        user: user.info(),
        limits: state.limits.as_ref().clone(),
    })
}

/// Signs a person in on a device, enrolling the device.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = sync_core::protocol::ErrorBody), (status = 400, body = sync_core::protocol::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if request.device_id.trim().is_empty() || request.device_id.len() > 64 {
        return Err(ApiError::bad_request(
            "invalid_device_id",
            "device_id must be 1 to 64 characters",
        ));
    }
    let user = identity::check_password(&state, &request.email, &request.password, address).await?;
    let (refresh_token, refresh_hash) = auth::new_refresh_token();
    let store = state.store.clone();
    let (tenant, user_id, device_id, name) = (
        user.tenant_id.clone(),
        user.id.clone(),
        request.device_id.clone(),
        request.device_name.clone(),
    );
    tokio::task::spawn_blocking(move || {
        store.sign_in_device(&DeviceSignIn {
            tenant_id: &tenant,
            user_id: &user_id,
            device_id: &device_id,
            device_name: &name,
            refresh_hash: &refresh_hash,
            refresh_expires_at_ms: now_ms() + REFRESH_TTL_MS,
        })
    })
    .await?
    .map_err(|e| match e {
        StoreError::Invalid(m) => ApiError::forbidden(m),
        other => other.into(),
    })?;
    let mut response = access(&state, &user, &request.device_id)?;
    response.refresh_token = refresh_token;
    Ok(Json(response))
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting a spent
/// one revokes the device, except the token just exchanged, presented again from its own device
/// within a few minutes while its successor is unused (the answer carrying it was lost).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = sync_core::protocol::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let store = state.store.clone();
    let hash = auth::hash_refresh_token(&request.refresh_token);
    let (next_token, next_hash) = auth::new_refresh_token();
    let outcome = blocking(move || {
        store.rotate_refresh_token(
            &hash,
            request.device_id.as_deref(),
            &next_hash,
            now_ms() + REFRESH_TTL_MS,
            now_ms(),
        )
    })
    .await?;
    let (device_id, user_id, tenant_id) = match outcome {
        RefreshUse::Valid {
            device_id,
            user_id,
            tenant_id,
        } => (device_id, user_id, tenant_id),
        RefreshUse::Reused { .. } => {
            return Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the device is revoked, sign in again",
            ));
        }
        RefreshUse::Expired => {
            return Err(ApiError::unauthorized(
                "refresh_token_expired",
                "the refresh token expired; sign in again",
            ));
        }
        RefreshUse::Unknown => {
            return Err(ApiError::unauthorized(
                "refresh_token_invalid",
                "unknown refresh token; sign in again",
            ));
        }
    };
    let store = state.store.clone();
    let user = blocking(move || store.user(&tenant_id, &user_id))
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            ApiError::unauthorized("user_disabled", "this account no longer exists or is disabled")
        })?;
    let mut response = access(&state, &user, &device_id)?;
    response.refresh_token = next_token;
    Ok(Json(response))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    #[schema(pattern = "@")]
    pub email: String,
    #[schema(pattern = r"\S")]
    pub name: String,
    pub role: Role,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    pub password: String,
    /// Site ids the person works at (workers) or supervises (supervisors).
    #[serde(default)]
    pub sites: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
}

impl From<crate::store::User> for UserView {
    fn from(u: crate::store::User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            sites: u.sites,
        }
    }
}

/// Creates a user in the admin's company.
#[utoipa::path(post, path = "/v1/admin/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 400, body = sync_core::protocol::ErrorBody), (status = 403, body = sync_core::protocol::ErrorBody), (status = 409, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let person = NewPerson {
        email: body.email,
        name: body.name,
        role: body.role,
        password: body.password,
        sites: body.sites,
    };
    let user = people::add(&state, &caller.principal(), person).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// The company's users.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", responses((status = 200, body = Vec<UserView>)), security(("bearer" = [])))]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<UserView>>> {
    let users = people::list(&state, &caller.principal()).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// What an admin changes about a person; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeUser {
    pub role: Option<Role>,
    /// Site ids the person works at or supervises (replaces the list).
    pub sites: Option<Vec<String>>,
    /// `true` disables the account: its phones can no longer refresh and its browser sessions end.
    pub disabled: Option<bool>,
    /// A new password (at least 10 characters); the person's browser sessions end.
    #[schema(min_length = 10)]
    pub password: Option<String>,
}

/// Changes a person's role, sites, enabled state or password.
#[utoipa::path(patch, path = "/v1/admin/users/{id}", tag = "admin", request_body = ChangeUser,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = sync_core::protocol::ErrorBody), (status = 403, body = sync_core::protocol::ErrorBody), (status = 404, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChangeUser>,
) -> ApiResult<Json<UserView>> {
    let change = PersonChange {
        role: body.role,
        sites: body.sites,
        disabled: body.disabled,
        password: body.password,
    };
    let user = people::change(&state, &caller.principal(), &id, change).await?;
    Ok(Json(user.into()))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CreateSite {
    pub name: String,
    /// Optional boundary; see `SiteBoundary`.
    #[schema(value_type = Option<GeofenceSchema>)]
    pub geofence: Option<sync_core::place::Geofence>,
    #[schema(exclusive_minimum = 0.0)]
    pub max_accuracy_m: Option<f64>,
}

/// A site boundary as the API takes it: a circle, or a polygon of at least three `[lon, lat]`
/// vertices. The OpenAPI document's description of `sync_core::place::Geofence`, which the
/// handlers read.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)] // only describes the wire form
pub enum GeofenceSchema {
    Circle {
        #[schema(minimum = -90.0, maximum = 90.0)]
        lat: f64,
        #[schema(minimum = -180.0, maximum = 180.0)]
        lon: f64,
        #[schema(exclusive_minimum = 0.0)]
        radius_m: f64,
    },
    Polygon {
        #[schema(min_items = 3)]
        lon_lat: Vec<[f64; 2]>,
    },
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SiteBoundary {
    /// `{"type": "circle", "lat": 53.45, "lon": -115.0, "radius_m": 200}` or
    /// `{"type": "polygon", "lon_lat": [[-115.01, 53.44], ...]}`; null clears it.
    #[schema(value_type = Option<GeofenceSchema>)]
    pub geofence: Option<sync_core::place::Geofence>,
    /// Fixes less accurate than this cannot place an event (default 50 m).
    #[schema(exclusive_minimum = 0.0)]
    pub max_accuracy_m: Option<f64>,
}

/// Sets or clears a site's boundary and accuracy threshold. Records synced afterwards are judged
/// against it.
#[utoipa::path(put, path = "/v1/admin/sites/{id}/boundary", tag = "admin", request_body = SiteBoundary,
    params(("id" = String, Path, description = "Site id")),
    responses((status = 204, description = "Saved"), (status = 400, body = sync_core::protocol::ErrorBody), (status = 404, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_site_boundary(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SiteBoundary>,
) -> ApiResult<StatusCode> {
    sites::set_boundary(
        &state,
        &caller.principal(),
        &id,
        body.geofence,
        body.max_accuracy_m,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a site (a lease, yard or job location).
#[utoipa::path(post, path = "/v1/admin/sites", tag = "admin", request_body = CreateSite, responses((status = 201, body = Site)), security(("bearer" = [])))]
pub async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    let site = sites::create(
        &state,
        &caller.principal(),
        body.name,
        body.geofence,
        body.max_accuracy_m,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(site)))
}

/// The company's sites.
#[utoipa::path(get, path = "/v1/sites", tag = "records", responses((status = 200, body = Vec<Site>)), security(("bearer" = [])))]
pub async fn list_sites(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Site>>> {
    Ok(Json(sites::list(&state, &caller.principal()).await?))
}

/// Enrolled devices.
#[utoipa::path(get, path = "/v1/admin/devices", tag = "admin", responses((status = 200, body = Vec<Device>)), security(("bearer" = [])))]
pub async fn list_devices(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Device>>> {
    Ok(Json(devices::list(&state, &caller.principal()).await?))
}

/// Revokes a device: its tokens stop working at once.
#[utoipa::path(post, path = "/v1/admin/devices/{id}/revoke", tag = "admin", params(("id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = sync_core::protocol::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    devices::revoke(&state, &caller.principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub limit: Option<u32>,
}

/// The admin actions log.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>)), security(("bearer" = [])))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(
        audit::log(&state, &caller.principal(), q.limit.unwrap_or(100)).await?,
    ))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RecordQuery {
    /// A record kind as stored: `jsea`, `pre_start`, `near_miss`, ….
    pub kind: Option<String>,
    pub site: Option<String>,
    pub status: Option<String>,
    /// A flag code, e.g. `jsea.completed_after_work_started`.
    pub flag: Option<String>,
    /// User id of the creator.
    pub author: Option<String>,
    /// Created at or after, Unix ms.
    pub from: Option<i64>,
    /// Created before, Unix ms.
    pub to: Option<i64>,
    /// Completed (signed off, reported) at or after, Unix ms.
    pub completed_from: Option<i64>,
    /// Completed before, Unix ms.
    pub completed_to: Option<i64>,
    /// User id of the person responsible, for kinds that assign one.
    pub assignee: Option<String>,
    /// Due before, Unix ms.
    pub due_before: Option<i64>,
    /// `true`: closed records only; `false`: open ones only.
    pub closed: Option<bool>,
    /// Text the title contains.
    pub title: Option<String>,
    /// `true`: flagged records only; `false`: unflagged ones only.
    pub flagged: Option<bool>,
    /// `newest_created` (default), `oldest_created`, `newest_completed`, `oldest_completed` or
    /// `title`.
    pub sort: Option<String>,
    /// Page size, at most 1000 (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl RecordQuery {
    /// The store's filter for these parameters (paging aside).
    fn filter(&self) -> ApiResult<ListFilter> {
        let order = match self.sort.as_deref() {
            None => ListOrder::default(),
            Some(text) => ListOrder::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!(
                        "sort must be one of {}",
                        ListOrder::ALL.map(ListOrder::as_str).join(", ")
                    ),
                )
            })?,
        };
        Ok(ListFilter {
            kind: self.kind.clone(),
            site_id: self.site.clone(),
            status: self.status.clone(),
            flag: self.flag.clone(),
            flagged: self.flagged,
            created_by: self.author.clone(),
            created_from_ms: self.from,
            created_to_ms: self.to,
            completed_from_ms: self.completed_from,
            completed_to_ms: self.completed_to,
            assignee: self.assignee.clone(),
            due_before_ms: self.due_before,
            closed: self.closed,
            title_contains: self.title.clone(),
            limit: None,
            offset: None,
            order,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordPage {
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Projection>,
    pub limit: u32,
    pub offset: u32,
}

/// Lists records in the caller's scope, newest first.
#[utoipa::path(get, path = "/v1/records", tag = "records", params(RecordQuery), responses((status = 200, body = RecordPage)), security(("bearer" = [])))]
pub async fn list_records(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<RecordQuery>,
) -> ApiResult<Json<RecordPage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, records::MAX_PAGE);
    let offset = q.offset.unwrap_or(0);
    let filter = ListFilter {
        limit: Some(limit),
        offset: Some(offset),
        ..q.filter()?
    };
    let records = records::list(&state, &caller.principal(), filter).await?;
    Ok(Json(RecordPage {
        records,
        limit,
        offset,
    }))
}

/// Every record matching the filters as CSV (paging ignored): one row per record, stable column
/// names (`id, kind, site, status, title, created_by, created_at, completed_at, work_started_at,
/// closed_at, assignee, due_at, flags`), ISO-8601 times with the site's offset, UTF-8 with a BOM.
#[utoipa::path(get, path = "/v1/records.csv", tag = "records", params(RecordQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = sync_core::protocol::ErrorBody)), security(("bearer" = [])))]
pub async fn export_records(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<RecordQuery>,
) -> ApiResult<axum::response::Response> {
    let bytes = export::records_csv(&state, &caller.principal(), q.filter()?).await?;
    Ok(crate::web::csv_response(bytes))
}

/// One record with its stamps timeline, signatures, flags with evidence, findings and conflicts.
#[utoipa::path(get, path = "/v1/records/{id}", tag = "records", params(("id" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordDetail), (status = 404, body = sync_core::protocol::ErrorBody)), security(("bearer" = [])))]
pub async fn record_detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordDetail>> {
    Ok(Json(records::detail(&state, &caller.principal(), &id).await?))
}

/// An inspection schedule as a phone needs it to fill an inspection: the checklist template, the
/// rule in words and the window the next inspection is due in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InspectionScheduleView {
    pub schedule: crate::store::InspectionSchedule,
    /// The rule in words, e.g. "Every week".
    pub frequency: String,
    /// The window the next inspection is due in (the current one if it is not done yet); none
    /// once the schedule has ended.
    pub next_due: Option<inspections::Window>,
    /// How many closed windows passed with no completed inspection.
    pub missed: usize,
}

impl From<inspections::ScheduleStatus> for InspectionScheduleView {
    fn from(status: inspections::ScheduleStatus) -> Self {
        Self {
            frequency: inspections::describe(&status.schedule.rrule),
            next_due: status.next_due,
            missed: status.missed(),
            schedule: status.schedule,
        }
    }
}

/// A unit of the equipment register as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitView {
    /// The unit number as the register writes it (`LD-3`); matched without case, spaces or dashes.
    pub unit_id: String,
    pub make_model: String,
    pub serial: Option<String>,
    /// What competencies are verified on (`Loader`); empty until someone types the unit.
    pub equipment_type: String,
    /// Certificate types its operator must hold, current on the day.
    pub required_certificates: Vec<String>,
    pub hour_meter: Option<f64>,
    pub added_at_ms: i64,
    /// The user who added it, or who first named it on a pre-start.
    pub added_by: String,
    /// The pre-start that named a unit the register lacked, which added it: its details need a check.
    pub added_from_record: Option<String>,
    /// False while any corrective action holds it out of service.
    pub in_service: bool,
    /// The holds keeping it out of service now.
    pub open_holds: Vec<HoldView>,
    /// The record that changed its status last: the failed pre-start, or the action whose closing
    /// returned it to service.
    pub status_changed_by: Option<StatusChangeView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldView {
    /// The corrective action that must be closed first.
    pub action_id: String,
    /// The record whose failure raised the action.
    pub source_record: String,
    pub held_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChangeView {
    /// `out_of_service` or `back_in_service`.
    pub change: String,
    /// The record behind it: the failed pre-start, or the closed action.
    pub record_id: String,
    pub action_id: String,
    pub at_ms: i64,
}

impl From<crate::service::equipment::UnitStatus> for UnitView {
    fn from(status: crate::service::equipment::UnitStatus) -> Self {
        use crate::service::equipment::StatusChange;
        let in_service = status.in_service();
        let u = status.unit;
        UnitView {
            unit_id: u.unit_id,
            make_model: u.make_model,
            serial: u.serial,
            equipment_type: u.equipment_type,
            required_certificates: u.required_certificates,
            hour_meter: u.hour_meter,
            added_at_ms: u.added_at_ms,
            added_by: u.added_by,
            added_from_record: u.added_from_record,
            in_service,
            open_holds: status
                .open_holds
                .into_iter()
                .map(|h| HoldView {
                    action_id: h.action_id,
                    source_record: h.source_record,
                    held_at_ms: h.held_at_ms,
                })
                .collect(),
            status_changed_by: status.last_change.map(|c| match c {
                StatusChange::Held {
                    at_ms,
                    source_record,
                    action_id,
                } => StatusChangeView {
                    change: "out_of_service".into(),
                    record_id: source_record,
                    action_id,
                    at_ms,
                },
                StatusChange::Released { at_ms, action_id } => StatusChangeView {
                    change: "back_in_service".into(),
                    record_id: action_id.clone(),
                    action_id,
                    at_ms,
                },
            }),
        }
    }
}

/// The inspection schedules of the caller's sites and those assigned to them (the office admin:
/// the company's), each with its checklist template and next due window.
#[utoipa::path(get, path = "/v1/inspection-schedules", tag = "inspections",
    responses((status = 200, body = Vec<InspectionScheduleView>)), security(("bearer" = [])))]
pub async fn list_inspection_schedules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<InspectionScheduleView>>> {
    let statuses = inspections::statuses(&state, &caller.principal()).await?;
    Ok(Json(statuses.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateInspectionSchedule {
    pub site_id: String,
    /// What is inspected, e.g. "Weekly site inspection".
    pub title: String,
    pub checklist: Vec<crate::store::ChecklistTemplateItem>,
    /// `daily`, `weekly`, `monthly` or `every_n_days` (with `every_days`).
    pub frequency: String,
    pub every_days: Option<u32>,
    /// The first day at the site, `YYYY-MM-DD`; occurrences start at the site's local midnight.
    pub starts_on: String,
    /// User id of the inspector.
    pub assignee: String,
}

/// Adds an inspection schedule at one of the caller's sites (supervisors and the office admin).
#[utoipa::path(post, path = "/v1/inspection-schedules", tag = "inspections", request_body = CreateInspectionSchedule,
    responses((status = 201, body = crate::store::InspectionSchedule), (status = 400, body = sync_core::protocol::ErrorBody),
        (status = 403, body = sync_core::protocol::ErrorBody), (status = 404, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_inspection_schedule(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateInspectionSchedule>,
) -> ApiResult<(StatusCode, Json<crate::store::InspectionSchedule>)> {
    let who = caller.principal();
    if !who.may_decide() {
        return Err(ApiError::forbidden(
            "only a supervisor or the office adds inspection schedules",
        ));
    }
    let starts_on = chrono::NaiveDate::parse_from_str(body.starts_on.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("bad_date", "starts_on must be a date, YYYY-MM-DD"))?;
    let new = inspections::NewSchedule {
        site_id: body.site_id,
        title: body.title,
        checklist: body.checklist,
        frequency: inspections::Frequency::parse(&body.frequency, body.every_days)?,
        starts_on,
        assignee: body.assignee,
    };
    let schedule = inspections::create(&state, &who, new).await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// The company's equipment register, each unit with its status.
#[utoipa::path(get, path = "/v1/equipment", tag = "equipment", responses((status = 200, body = Vec<UnitView>)), security(("bearer" = [])))]
pub async fn list_equipment(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<UnitView>>> {
    let units = crate::service::equipment::list(&state, &caller.principal()).await?;
    Ok(Json(units.into_iter().map(Into::into).collect()))
}

/// A unit to add to the register.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// The unit number (`LD-3`); refused when the register has it, however it is written.
    #[schema(min_length = 1, max_length = 200)]
    pub unit_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub make_model: String,
    pub serial: Option<String>,
    /// What competencies are verified on (`Loader`).
    pub equipment_type: Option<String>,
    /// Certificate types its operator must hold.
    pub required_certificates: Option<Vec<String>>,
    #[schema(minimum = 0.0)]
    pub hour_meter: Option<f64>,
}

/// Adds a unit to the register (supervisors and admins).
#[utoipa::path(post, path = "/v1/equipment", tag = "equipment", request_body = NewUnit,
    responses((status = 201, body = UnitView), (status = 400, body = sync_core::protocol::ErrorBody), (status = 403, body = sync_core::protocol::ErrorBody), (status = 409, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_equipment(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUnit>,
) -> ApiResult<(StatusCode, Json<UnitView>)> {
    let details = crate::service::equipment::UnitDetails {
        unit_id: body.unit_id,
        make_model: body.make_model,
        serial: body.serial,
        equipment_type: body.equipment_type.unwrap_or_default(),
        required_certificates: body.required_certificates.unwrap_or_default(),
        hour_meter: body.hour_meter,
    };
    let unit = crate::service::equipment::add(&state, &caller.principal(), details).await?;
    Ok((StatusCode::CREATED, Json(unit.into())))
}

/// What changes about a unit; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitChangeBody {
    #[schema(min_length = 1, max_length = 200)]
    pub make_model: Option<String>,
    /// An empty string clears it.
    pub serial: Option<String>,
    pub equipment_type: Option<String>,
    /// Replaces the list.
    pub required_certificates: Option<Vec<String>>,
    #[schema(minimum = 0.0)]
    pub hour_meter: Option<f64>,
}

/// Changes a unit's details (supervisors and admins). Its number stays.
#[utoipa::path(patch, path = "/v1/equipment/{unit_id}", tag = "equipment", request_body = UnitChangeBody,
    params(("unit_id" = String, Path, description = "Unit number, however it is written")),
    responses((status = 200, body = UnitView), (status = 400, body = sync_core::protocol::ErrorBody), (status = 403, body = sync_core::protocol::ErrorBody), (status = 404, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_equipment(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit_id): Path<String>,
    JsonBody(body): JsonBody<UnitChangeBody>,
) -> ApiResult<Json<UnitView>> {
    let change = crate::service::equipment::UnitChange {
        make_model: body.make_model,
        serial: body.serial,
        equipment_type: body.equipment_type,
        required_certificates: body.required_certificates,
        hour_meter: body.hour_meter,
    };
    let unit = crate::service::equipment::change(&state, &caller.principal(), &unit_id, change).await?;
    Ok(Json(unit.into()))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadinessQuery {
    /// First day of the window, `YYYY-MM-DD`, in the company's time zone (default: the
    /// catalogue's window, 12 months, ending on `to`).
    pub from: Option<String>,
    /// Last day of the window, inclusive (default: today).
    pub to: Option<String>,
    /// The catalogue's id (default `secor-six`); see `catalogues` in the answer for the others.
    pub catalogue: Option<String>,
}

impl ReadinessQuery {
    fn ask(&self) -> ApiResult<readiness::Ask> {
        let date = |name: &str, value: &Option<String>| -> ApiResult<Option<chrono::NaiveDate>> {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                        ApiError::bad_request("bad_date", format!("{name} must be a date, YYYY-MM-DD"))
                    })
                })
                .transpose()
        };
        Ok(readiness::Ask {
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            catalogue: self.catalogue.clone(),
        })
    }
}

/// The SECOR readiness estimate over a window (office admin only): each element and question of
/// the catalogue with the evidence its rule found, the share met, points earned as an estimate,
/// the overall line and the per-element floor, and the gaps ranked by points lost, each with
/// links to what would close it. Questions the records cannot answer are left to the auditor.
#[utoipa::path(get, path = "/v1/readiness", tag = "readiness", params(ReadinessQuery),
    responses((status = 200, body = readiness::Report), (status = 400, body = sync_core::protocol::ErrorBody),
        (status = 403, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn readiness_report(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ReadinessQuery>,
) -> ApiResult<Json<readiness::Report>> {
    Ok(Json(
        readiness::report(&state, &caller.principal(), q.ask()?).await?,
    ))
}

/// The readiness estimate as CSV (office admin only): one row per question (`element,
/// element_name, element_percent, question, ask, method, proxy, provenance, rule, assessment,
/// met, population, share_percent, points, earned_estimate, summary, gap`), UTF-8 with a BOM.
#[utoipa::path(get, path = "/v1/readiness.csv", tag = "readiness", params(ReadinessQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = sync_core::protocol::ErrorBody),
        (status = 403, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn readiness_csv(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ReadinessQuery>,
) -> ApiResult<axum::response::Response> {
    let report = readiness::report(&state, &caller.principal(), q.ask()?).await?;
    Ok(crate::web::csv_response(readiness::csv(&report)?))
}
