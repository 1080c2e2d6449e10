//! JSON endpoints: sign-in, admin, the office's read API, limits and health.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sync_core::protocol::{Limits, LoginRequest, RefreshRequest, Role, TokenResponse};
use sync_core::{Flag, ListFilter, Projection};

use crate::AppState;
use crate::auth::{self, Caller, Claims, REFRESH_TTL_MS};
use crate::error::{ApiError, ApiResult, JsonBody, QueryParams};
use crate::ratelimit::ClientAddress;
use crate::store::sqlite::now_ms;
use crate::store::{AuditEntry, Device, NewUser, RefreshUse, Site, StoreError};

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
    let limiters = state.limiters();
    // A locked account or address is refused before its password is checked, so guessing stops.
    limiters
        .login_allowed(&state.rate_limits, &request.email, address)
        .map_err(|refused| refused.into_error(&state.rate_limits))?;
    if request.device_id.trim().is_empty() || request.device_id.len() > 64 {
        return Err(ApiError::bad_request(
            "invalid_device_id",
            "device_id must be 1 to 64 characters",
        ));
    }
    let store = state.store.clone();
    let email = request.email.clone();
    let user = blocking(move || store.user_by_email(&email)).await?;
    let password = request.password.clone();
    let bad = || {
        limiters.login_failed(&state.rate_limits, &request.email, address);
        ApiError::unauthorized("bad_credentials", "email or password is wrong")
    };
    let Some(user) = user else {
        // Spend the same time as a real check so response timing does not reveal accounts.
        let _ = state
            .passwords
            .run(move || auth::check_against_nobody(&password))
            .await;
        return Err(bad());
    };
    let hash = user.password_hash.clone();
    let ok = state
        .passwords
        .run(move || auth::verify_password(&password, &hash))
        .await?;
    if !ok || user.disabled {
        return Err(bad());
    }
    let store = state.store.clone();
    let (tenant, user_id, device_id, name) = (
        user.tenant_id.clone(),
        user.id.clone(),
        request.device_id.clone(),
        request.device_name.clone(),
    );
    tokio::task::spawn_blocking(move || store.enroll_device(&tenant, &user_id, &device_id, &name))
        .await?
        .map_err(|e| match e {
            StoreError::Invalid(m) => ApiError::forbidden(m),
            other => other.into(),
        })?;
    let mut response = access(&state, &user, &request.device_id)?;
    let (refresh_token, hash) = auth::new_refresh_token();
    response.refresh_token = refresh_token;
    let store = state.store.clone();
    let (tenant, user_id, device_id) = (user.tenant_id.clone(), user.id.clone(), request.device_id.clone());
    blocking(move || {
        store.save_refresh_token(&hash, &device_id, &user_id, &tenant, now_ms() + REFRESH_TTL_MS)?;
        store.audit(
            &tenant,
            &user_id,
            "device.login",
            &format!("signed in on device {device_id}"),
        )
    })
    .await?;
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
    responses((status = 201, body = UserView), (status = 403, body = sync_core::protocol::ErrorBody), (status = 409, body = sync_core::protocol::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    caller.require_admin()?;
    if !body.email.contains('@') || body.name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_user",
            "a user needs a name and an email address",
        ));
    }
    if body.password.chars().count() < 10 {
        return Err(ApiError::bad_request(
            "weak_password",
            "passwords need at least 10 characters",
        ));
    }
    let password = body.password.clone();
    let password_hash = state
        .passwords
        .run(move || auth::hash_password(&password))
        .await??;
    let store = state.store.clone();
    let tenant = caller.claims.tenant.clone();
    let by = caller.claims.sub.clone();
    let user = blocking(move || {
        store.create_user(
            &tenant,
            NewUser {
                email: body.email,
                name: body.name,
                role: body.role,
                password_hash,
                sites: body.sites,
            },
            &by,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// The company's users.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", responses((status = 200, body = Vec<UserView>)), security(("bearer" = [])))]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<UserView>>> {
    caller.require_admin()?;
    let store = state.store.clone();
    let users = blocking(move || store.users(&caller.claims.tenant)).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
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

fn check_boundary(geofence: Option<&sync_core::place::Geofence>, max_accuracy_m: f64) -> ApiResult<()> {
    if let Some(g) = geofence {
        g.validate()
            .map_err(|m| ApiError::bad_request("invalid_geofence", m))?;
    }
    if !(max_accuracy_m.is_finite() && max_accuracy_m > 0.0) {
        return Err(ApiError::bad_request(
            "invalid_geofence",
            "max_accuracy_m must be a positive number of metres",
        ));
    }
    Ok(())
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
    caller.require_admin()?;
    let max = body
        .max_accuracy_m
        .unwrap_or(sync_core::place::DEFAULT_MAX_ACCURACY_M);
    check_boundary(body.geofence.as_ref(), max)?;
    let store = state.store.clone();
    let found = blocking(move || {
        store.set_site_area(
            &caller.claims.tenant,
            &id,
            body.geofence.as_ref(),
            max,
            &caller.claims.sub,
        )
    })
    .await?;
    if found {
        state.rejudge.wake();
    }
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such site in this company"))
    }
}

/// Creates a site (a lease, yard or job location).
#[utoipa::path(post, path = "/v1/admin/sites", tag = "admin", request_body = CreateSite, responses((status = 201, body = Site)), security(("bearer" = [])))]
pub async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    caller.require_admin()?;
    let max = body
        .max_accuracy_m
        .unwrap_or(sync_core::place::DEFAULT_MAX_ACCURACY_M);
    check_boundary(body.geofence.as_ref(), max)?;
    let store = state.store.clone();
    let site = blocking(move || {
        let (tenant, by) = (&caller.claims.tenant, &caller.claims.sub);
        let mut site = store.create_site(tenant, &body.name, by)?;
        if body.geofence.is_some() || body.max_accuracy_m.is_some() {
            store.set_site_area(tenant, &site.id, body.geofence.as_ref(), max, by)?;
            site.geofence = body.geofence;
            site.max_accuracy_m = max;
        }
        Ok(site)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(site)))
}

/// The company's sites.
#[utoipa::path(get, path = "/v1/sites", tag = "records", responses((status = 200, body = Vec<Site>)), security(("bearer" = [])))]
pub async fn list_sites(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Site>>> {
    let store = state.store.clone();
    Ok(Json(blocking(move || store.sites(&caller.claims.tenant)).await?))
}

/// Enrolled devices.
#[utoipa::path(get, path = "/v1/admin/devices", tag = "admin", responses((status = 200, body = Vec<Device>)), security(("bearer" = [])))]
pub async fn list_devices(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Device>>> {
    caller.require_admin()?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || store.devices(&caller.claims.tenant)).await?,
    ))
}

/// Revokes a device: its tokens stop working at once.
#[utoipa::path(post, path = "/v1/admin/devices/{id}/revoke", tag = "admin", params(("id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = sync_core::protocol::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let store = state.store.clone();
    let found = blocking(move || store.revoke_device(&caller.claims.tenant, &id, &caller.claims.sub)).await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such device in this company"))
    }
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
    caller.require_admin()?;
    let store = state.store.clone();
    Ok(Json(
        blocking(move || store.audit_log(&caller.claims.tenant, q.limit.unwrap_or(100).min(1000))).await?,
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
    /// Page size, at most 1000 (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
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
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let filter = ListFilter {
        kind: q.kind,
        site_id: q.site,
        status: q.status,
        flag: q.flag,
        created_by: q.author,
        created_from_ms: q.from,
        created_to_ms: q.to,
        completed_from_ms: q.completed_from,
        completed_to_ms: q.completed_to,
        assignee: q.assignee,
        due_before_ms: q.due_before,
        closed: q.closed,
        title_contains: q.title,
        limit: Some(limit),
        offset: Some(offset),
    };
    let store = state.store.clone();
    let scope = caller.scope();
    let records = blocking(move || store.list_records(&scope, &filter)).await?;
    Ok(Json(RecordPage {
        records,
        limit,
        offset,
    }))
}

/// One event in a record's life, with its stamp.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    /// `created`, `signed`, `completed`, `approved`, `rejected`, `work_started`, `closed`, `reopened`, `reported`.
    pub event: String,
    /// User id, where the event names one.
    pub by: Option<String>,
    #[schema(value_type = Object)]
    pub stamp: sync_core::Stamp,
    /// The stamp's time corrected with the device's clock anchors, or marked unverified.
    #[schema(value_type = Object)]
    pub time: sync_core::clock::TrustedTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordDetail {
    #[schema(value_type = Object)]
    pub record: sync_core::Record,
    pub timeline: Vec<TimelineEvent>,
    #[schema(value_type = Vec<Object>)]
    pub flags: Vec<Flag>,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<sync_core::Finding>,
    #[schema(value_type = Vec<Object>)]
    pub conflicts: Vec<sync_core::Conflict>,
    /// Actor id → user id of everyone who wrote to the record.
    pub authors: std::collections::BTreeMap<String, String>,
}

/// The record's events in time order, each with its time corrected as the flags saw it.
fn timeline(record: &sync_core::Record, context: &sync_core::flags::Context) -> Vec<TimelineEvent> {
    let mut events: Vec<TimelineEvent> = sync_core::flags::lifecycle_events(record)
        .into_iter()
        .map(|event| TimelineEvent {
            event: event.name.to_owned(),
            by: event.by.map(str::to_owned),
            time: context.time(&event.path, event.stamp),
            stamp: event.stamp.clone(),
        })
        .collect();
    events.sort_by_key(|e| e.time.ms);
    events
}

/// One record with its stamps timeline, signatures, flags with evidence, findings and conflicts.
#[utoipa::path(get, path = "/v1/records/{id}", tag = "records", params(("id" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordDetail), (status = 404, body = sync_core::protocol::ErrorBody)), security(("bearer" = [])))]
pub async fn record_detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordDetail>> {
    let store = state.store.clone();
    let scope = caller.scope();
    let found = blocking(move || {
        // Another company's record and a missing one look the same from outside.
        if !store.in_scope(&scope, &id)? {
            return Ok(None);
        }
        detail_of(store.as_ref(), &scope.tenant_id, &id)
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such record"))
}

/// A record's detail as stored: the merged record, its timeline, and its flags, judged with the
/// same knowledge as the timeline (a record still waiting to be judged again is judged first).
pub fn detail_of(
    store: &dyn crate::store::RecordStore,
    tenant_id: &str,
    id: &str,
) -> Result<Option<RecordDetail>, StoreError> {
    if store.awaits_rejudging(tenant_id, id)? {
        // Facts arrived since the record was judged: judge it now, as the worker would, so the
        // flags shown beside this timeline are the ones that list filters find.
        crate::judge::rejudge(
            store,
            &crate::store::Rejudge {
                tenant_id: tenant_id.to_owned(),
                doc_id: id.to_owned(),
                reason: "read before the worker reached it".into(),
            },
        )?;
    }
    let Some(doc) = store.document(tenant_id, id)? else {
        return Ok(None);
    };
    let flags = store.record_flags(tenant_id, id)?;
    let loaded = sync_core::RecordDocument::load_chunks(
        &doc.snapshot,
        doc.chunks.iter().map(Vec::as_slice),
        automerge::ActorId::random(),
    )
    .map_err(|e| StoreError::Backend(format!("stored record {id} does not load: {e}")))?;
    let mut view = sync_core::store::view(&loaded, false)
        .map_err(|e| StoreError::Backend(format!("stored record {id} does not read: {e}")))?;
    let (context, _) = crate::judge::context(store, &doc.tenant_id, &loaded, &view.record, &[])?;
    let mut timeline = timeline(&view.record, &context);
    if view.record.header.is_anonymous() {
        // The boot id and monotonic clock of an anonymous report's stamps are also in its
        // reporter's other records: withhold them, keep the corrected times.
        for_each_stamp(&mut view.record, withhold_device_clues);
        for event in &mut timeline {
            withhold_device_clues(&mut event.stamp);
        }
    }
    Ok(Some(RecordDetail {
        timeline,
        record: view.record,
        flags,
        findings: view.findings,
        conflicts: view.conflicts,
        authors: view.authors,
    }))
}

/// What an anonymous report's stamps show in place of the reporter's phone's clock readings.
pub const WITHHELD: &str = "withheld: anonymous report";

fn withhold_device_clues(stamp: &mut sync_core::Stamp) {
    stamp.boot_id = WITHHELD.to_owned();
    stamp.monotonic_ms = 0;
}

fn for_each_stamp(record: &mut sync_core::Record, mut f: impl FnMut(&mut sync_core::Stamp)) {
    f(&mut record.header.created);
    record.body.spec_mut().for_each_stamp(&mut f);
}
