//! The company record store behind one trait. `sqlite` is the embedded default (one process, one
//! file); `postgres` lets several server processes share one company record. Both pass the same
//! conformance suite (`crates/server/tests/store_conformance.rs`).

pub mod postgres;
pub mod schema;
pub mod sqlite;
mod sqlite_records;

use serde::{Deserialize, Serialize};
use sync_core::clock::ClockAnchor;
use sync_core::place::{Geofence, SiteArea};
use sync_core::protocol::Role;
use sync_core::{Flag, ListFilter, Projection};

use crate::error::ApiError;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("record store failure: {0}")]
    Backend(String),
    /// The disk under the store takes no writes (full, read-only, failing): nothing was stored,
    /// reads still work, and the same request may succeed later.
    #[error("{message}")]
    CannotWrite { code: &'static str, message: String },
    /// The database cancelled the transaction to break a deadlock or a serialization conflict:
    /// nothing was written and the same transaction may be tried again (the PostgreSQL store
    /// does, a few times, before answering `Backend`).
    #[error("the database asked for the transaction to be tried again: {0}")]
    Retry(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let (code, message) = match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => ("storage_full", "the server's disk is full"),
            Some(ErrorCode::ReadOnly) => ("storage_read_only", "the server's record store is read-only"),
            Some(ErrorCode::SystemIoFailure) => ("storage_io_error", "the server cannot write to its disk"),
            _ => return StoreError::Backend(e.to_string()),
        };
        tracing::error!(code, error = %e, "record store cannot write");
        StoreError::CannotWrite {
            code,
            message: format!("{message}: nothing was stored; keep the changes and send them again later"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            StoreError::Invalid(message) => ApiError::bad_request("invalid", message),
            StoreError::Backend(message) => ApiError::internal(message),
            StoreError::Retry(message) => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "storage_busy",
                format!("the record store is busy ({message}): nothing was stored; send it again"),
            ),
            StoreError::CannotWrite { code, message } => {
                let status = if code == "storage_full" {
                    axum::http::StatusCode::INSUFFICIENT_STORAGE
                } else {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                };
                ApiError::new(status, code, message)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Company {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Site {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The site boundary: `{"type": "circle", "lat", "lon", "radius_m"}` or
    /// `{"type": "polygon", "lon_lat": [[lon, lat], ...]}`; none until the office sets one.
    #[schema(value_type = Option<Object>)]
    pub geofence: Option<Geofence>,
    /// Fixes less accurate than this cannot place an event on or off the site.
    pub max_accuracy_m: f64,
    /// The IANA time zone the site's pages show times in (stored times are UTC).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

/// Where a site is unless the office says otherwise: Alberta.
pub const DEFAULT_TIME_ZONE: &str = "America/Edmonton";

fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub sites: Vec<String>,
    pub disabled: bool,
}

impl User {
    pub fn info(&self) -> sync_core::protocol::UserInfo {
        sync_core::protocol::UserInfo {
            id: self.id.clone(),
            tenant_id: self.tenant_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            sites: self.sites.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub name: String,
    pub enrolled_at_ms: i64,
    pub last_sync_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// Who wrote with an automerge actor id: registered on the first push from that person's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorOwner {
    pub tenant_id: String,
    pub user_id: String,
    pub device_id: String,
    /// An actor a phone made for one anonymous report: its documents say `anonymous`, and this
    /// link to the person is used for write checks only, never shown.
    pub anonymous: bool,
}

/// What [`RecordStore::sign_in_device`] writes.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSignIn<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub device_name: &'a str,
    /// The SHA-256 of the new refresh token (the token itself is never stored).
    pub refresh_hash: &'a str,
    pub refresh_expires_at_ms: i64,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid and now spent; its successor is stored. Also the answer for the token just before
    /// the current one, presented again from its own device within [`REFRESH_GRACE_MS`] while
    /// its successor was never used: the answer carrying the successor was lost.
    Valid {
        device_id: String,
        user_id: String,
        tenant_id: String,
    },
    /// Already spent: someone replayed it. The device has been revoked.
    Reused {
        device_id: String,
    },
    Unknown,
    Expired,
}

/// How long after a refresh the phone may present the token it exchanged again, when the answer
/// never reached it (a poor signal). The successor it never received is revoked instead, so a
/// copy of the old token replayed by someone else is still caught when the phone next refreshes.
pub const REFRESH_GRACE_MS: i64 = 10 * 60 * 1000;

/// An audit-log entry written in the same transaction as the change it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// The person who acted, or `system`.
    pub user_id: String,
    pub action: String,
    pub detail: String,
}

/// Where one stamp of a record came from: the device that wrote it (from the actor registry),
/// its boot and monotonic reading. Kept per record so anchors arriving later find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampSource {
    pub device_id: String,
    pub boot_id: String,
    pub monotonic_ms: i64,
}

/// A record waiting to be judged again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejudge {
    pub tenant_id: String,
    pub doc_id: String,
    pub reason: String,
}

/// A record's stored document: the last snapshot plus the change chunks since.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub tenant_id: String,
    pub snapshot: Vec<u8>,
    pub chunks: Vec<Vec<u8>>,
}

/// Everything written when a push is accepted, in one transaction.
#[derive(Debug, Clone)]
pub struct AcceptedChange {
    pub tenant_id: String,
    pub doc_id: String,
    pub origin_device: String,
    /// New changes only (the output of `save_after(heads before)`).
    pub chunk: Vec<u8>,
    /// A fresh snapshot, when the chunk count says it is time to compact.
    pub snapshot: Option<Vec<u8>>,
    pub projection: Projection,
    pub flags: Vec<Flag>,
    /// The record's stamps by the devices that wrote them.
    pub stamps: Vec<StampSource>,
    /// When its time-dependent flags next change (the record is judged again then).
    pub rejudge_at: Option<i64>,
    /// For a qualification (orientation, competency, certificate): the moment it counts from.
    /// The company's records that read the program, made since then, are judged again.
    pub program_fact_from: Option<i64>,
    /// What the record changes in the equipment register, written with it.
    pub register: Vec<RegisterWrite>,
}

/// A change to the equipment register that a stored record makes, committed with the record.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterWrite {
    /// A unit a completed pre-start names: added when the register lacks it (with its audit
    /// entry), and its hour meter raised to the reading when that is higher (a meter only counts
    /// up, so a pre-start synced late never turns it back).
    FieldUnit(EquipmentUnit),
    /// An open or resolved corrective action holds its unit out of service; holding it again for
    /// the same action changes nothing.
    Hold(EquipmentHold),
    /// A closed action releases its hold, if it had one.
    Release { action_id: String, at_ms: i64 },
}

/// How far before a qualification's moment the records it may change are looked for: a JSEA
/// created the day before and signed after the orientation is judged again too.
pub const PROGRAM_FACT_LOOKBACK_MS: i64 = 7 * 86_400_000;

/// A record judged again: what to write if it has not changed since (`seq`, its latest feed
/// position when it was read).
#[derive(Debug, Clone)]
pub struct Judgement {
    pub tenant_id: String,
    pub doc_id: String,
    pub seq: u64,
    pub projection: Projection,
    pub flags: Vec<Flag>,
    pub stamps: Vec<StampSource>,
    pub rejudge_at: Option<i64>,
}

/// What one sync request stores: the device's clock sample as an anchor, a note of the sync on
/// the device's row, and every push accepted.
#[derive(Debug, Clone)]
pub struct SyncWrite<'a> {
    pub tenant_id: &'a str,
    pub device_id: &'a str,
    pub anchor: &'a ClockAnchor,
    pub synced_at_ms: i64,
    /// The clock sample as JSON, shown to admins beside the device.
    pub clock_note: &'a str,
    pub changes: &'a [AcceptedChange],
}

/// Who may read what: decided from the token, never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: String,
    pub user_id: String,
    pub role: Role,
    pub sites: Vec<String>,
}

/// One row of the change feed the store returns for a device.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub seq: u64,
    pub doc_id: String,
    pub origin_device: String,
    pub bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub user_id: String,
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub sites: Vec<String>,
}

/// A change to a person's account made by an admin; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    /// Site ids, each checked to be the company's.
    pub sites: Option<Vec<String>>,
    /// Disabling ends the person's browser sessions and deletes their refresh tokens (their
    /// phones are signed out, not revoked); enabling lets them sign in again, on the same phones.
    pub disabled: Option<bool>,
    /// A new argon2 hash; setting one ends the person's browser sessions.
    pub password_hash: Option<String>,
}

/// A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a
/// copy of the database signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub token_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    /// Compared in constant time with the token every form post carries.
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    /// Set on sign-out: the cookie then signs nobody in, even if replayed.
    pub ended_at_ms: Option<i64>,
}

/// The company record store: each concern below, on one backend. Callers hold a
/// `dyn RecordStore`; a backend implements the concerns one by one, and one conformance suite
/// (`crates/server/tests/store_conformance.rs`) holds every backend to the same contract
/// (docs/adr/0003-record-store-boundary.md).
pub trait RecordStore:
    DirectoryStore
    + AccessStore
    + AuditStore
    + DocumentStore
    + ProjectionStore
    + ProgramStore
    + Send
    + Sync
    + 'static
{
    /// Cheap check that the store answers and can write.
    fn health(&self) -> StoreResult<()>;

    /// Holds the company's records `ids` against writers in other server processes until the
    /// hold is dropped (writers in this process wait on `DocLocks` first). A store only one
    /// process opens needs nothing more, which is the default.
    fn hold_records(&self, _tenant_id: &str, _ids: &[String]) -> StoreResult<RecordHold> {
        Ok(RecordHold::default())
    }

    /// Rate-limit buckets every server process shares, where the store is shared by several
    /// (PostgreSQL); `None` when one process's memory is the right place for them (SQLite).
    fn shared_rate_buckets(&self) -> Option<&dyn SharedBuckets> {
        None
    }
}

/// Token buckets kept in the shared store, so a limit holds however requests are spread over
/// processes. Times are the database's clock, one clock for every process.
pub trait SharedBuckets {
    /// Spends one token of `key`'s bucket (`capacity` tokens, refilled at `per_second`); if none
    /// is left, how long until one is.
    fn take_token(
        &self,
        key: &str,
        capacity: f64,
        per_second: f64,
    ) -> StoreResult<Result<(), std::time::Duration>>;
    /// Whether `key` has a token, without spending it; if not, how long until it has.
    fn has_token(
        &self,
        key: &str,
        capacity: f64,
        per_second: f64,
    ) -> StoreResult<Result<(), std::time::Duration>>;
}

/// Records held across processes by [`RecordStore::hold_records`]; released when dropped.
#[derive(Default)]
pub struct RecordHold(Option<Box<dyn Send>>);

impl RecordHold {
    pub fn new(held: impl Send + 'static) -> Self {
        Self(Some(Box::new(held)))
    }
}

impl std::fmt::Debug for RecordHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RecordHold(held)"
        } else {
            "RecordHold(none)"
        })
    }
}

/// Companies, their people and their sites (names, boundaries, time zones).
pub trait DirectoryStore {
    fn create_company(&self, name: &str) -> StoreResult<Company>;
    fn company_by_name(&self, name: &str) -> StoreResult<Option<Company>>;
    /// Creates a site; the audit entry (`site.created`, by `by`) commits with it.
    fn create_site(&self, tenant_id: &str, name: &str, by: &str) -> StoreResult<Site>;
    fn sites(&self, tenant_id: &str) -> StoreResult<Vec<Site>>;
    /// The company's site, if it has one by that id.
    fn site(&self, tenant_id: &str, site_id: &str) -> StoreResult<Option<Site>>;
    /// Sets (or clears) a site's boundary and queues the site's records to be judged again; the
    /// audit entry (`site.boundary`, by `by`) commits with it. False if the site is not in the
    /// company.
    fn set_site_area(
        &self,
        tenant_id: &str,
        site_id: &str,
        geofence: Option<&Geofence>,
        max_accuracy_m: f64,
        by: &str,
    ) -> StoreResult<bool>;
    /// The company's site's boundary, if it has one.
    fn site_area(&self, tenant_id: &str, site_id: &str) -> StoreResult<Option<SiteArea>>;
    /// Creates a user; the audit entry (`user.created`, by `by`) commits with it.
    fn create_user(&self, tenant_id: &str, user: NewUser, by: &str) -> StoreResult<User>;
    fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    fn users(&self, tenant_id: &str) -> StoreResult<Vec<User>>;
    /// Changes a person's role, sites, enabled state or password; the audit entry (`user.updated`,
    /// by `by`, naming what changed but never the hash) commits with it. `None` if the person is not
    /// in the company.
    fn update_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        change: &UserChange,
        by: &str,
        now_ms: i64,
    ) -> StoreResult<Option<User>>;
    /// Whether no company exists yet (a first run).
    fn is_empty(&self) -> StoreResult<bool>;
    /// Creates a company and its first admin in one transaction, with the audit entry
    /// (`company.created`). Refused with `Conflict` once any company exists: first-run set-up
    /// happens once.
    fn create_first_company(&self, company_name: &str, admin: NewUser) -> StoreResult<(Company, User)>;
    /// Changes a site's name or time zone (an IANA name, already checked); audit entry
    /// (`site.updated`) in the same transaction. False if the site is not the company's.
    fn update_site(
        &self,
        tenant_id: &str,
        site_id: &str,
        name: &str,
        time_zone: &str,
        by: &str,
    ) -> StoreResult<bool>;
}

/// Who may come in: browser sessions, enrolled devices and their refresh tokens.
pub trait AccessStore {
    /// Stores a new browser session, with the audit entry (`web.sign_in`) in the same transaction.
    fn create_session(&self, session: &WebSession) -> StoreResult<()>;
    /// The session with this token hash, ended or not.
    fn session(&self, token_hash: &str) -> StoreResult<Option<WebSession>>;
    /// Records that the session was used at `now_ms` (the idle timeout counts from here).
    fn touch_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()>;
    /// Ends a session (sign-out or idle timeout), with the audit entry (`web.sign_out`, naming
    /// `reason`) in the same transaction. Ending an ended session changes nothing.
    fn end_session(&self, token_hash: &str, now_ms: i64, reason: &str) -> StoreResult<()>;
    /// Enrolls (or re-enrolls) a device for a user. Refused if the device was revoked.
    fn enroll_device(
        &self,
        tenant_id: &str,
        user_id: &str,
        device_id: &str,
        name: &str,
    ) -> StoreResult<Device>;
    /// A person signing in on a phone: enrolls the device, stores its first refresh token and
    /// writes the audit entry (`device.login`), in one transaction.
    fn sign_in_device(&self, sign_in: &DeviceSignIn<'_>) -> StoreResult<Device>;
    fn device(&self, device_id: &str) -> StoreResult<Option<Device>>;
    fn devices(&self, tenant_id: &str) -> StoreResult<Vec<Device>>;
    /// Revokes a device and every refresh token it holds; the audit entry (`device.revoked`, by
    /// `by`) commits with it. Returns false if not found.
    fn revoke_device(&self, tenant_id: &str, device_id: &str, by: &str) -> StoreResult<bool>;
    fn save_refresh_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        tenant_id: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// Exchanges a refresh token for its successor (`next_hash`, stored in the same
    /// transaction); a reused one revokes its device, except the grace case of
    /// [`RefreshUse::Valid`]. `device_id` is the device the caller says it is.
    fn rotate_refresh_token(
        &self,
        token_hash: &str,
        device_id: Option<&str>,
        next_hash: &str,
        next_expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<RefreshUse>;
}

/// The audit log (most entries are written by the change they describe, in its transaction).
pub trait AuditStore {
    fn audit(&self, tenant_id: &str, user_id: &str, action: &str, detail: &str) -> StoreResult<()>;
    fn audit_log(&self, tenant_id: &str, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

/// The records themselves: automerge actors, stored documents, the per-company change feed
/// and what one sync writes, with the clock anchors it brings.
pub trait DocumentStore {
    /// Every clock sample of the company for the given (device, boot) pairs.
    fn clock_anchors(
        &self,
        tenant_id: &str,
        device_boots: &[(String, String)],
    ) -> StoreResult<Vec<ClockAnchor>>;
    fn actor(&self, actor_hex: &str) -> StoreResult<Option<ActorOwner>>;
    fn register_actor(&self, actor_hex: &str, owner: &ActorOwner) -> StoreResult<()>;
    /// The actor registered for a device, if any (used for the server's own browser actors).
    fn actor_for_device(&self, device_id: &str) -> StoreResult<Option<String>>;
    /// The company's stored document for `doc_id`. A record id is its company's: another
    /// company's record with the same id is a different record, and invisible here.
    fn document(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Option<StoredDoc>>;
    /// Writes accepted pushes (each: chunk, feed entry, projection and flags) in one
    /// transaction, with the audit entry that describes them, if any.
    fn accept_all(&self, changes: &[AcceptedChange], audit: Option<&AuditNote>) -> StoreResult<()>;
    /// Feed entries after `cursor` in the scope, oldest first, at most `limit`.
    fn feed(&self, scope: &Scope, cursor: u64, limit: u32) -> StoreResult<Vec<FeedEntry>>;
    /// The latest feed position in the company.
    fn feed_head(&self, tenant_id: &str) -> StoreResult<u64>;
    /// The fingerprint of the company's feed entry at `seq`, if there is one.
    fn feed_check(&self, tenant_id: &str, seq: u64) -> StoreResult<Option<u64>>;
    /// The record's stored snapshot if nothing was added since it (no chunks to replay).
    fn current_snapshot(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Chunks of one record after `cursor`, oldest first.
    fn chunks_after(&self, tenant_id: &str, doc_id: &str, cursor: u64) -> StoreResult<Vec<Vec<u8>>>;
    /// Whether the scope may read `doc_id`.
    fn in_scope(&self, scope: &Scope, doc_id: &str) -> StoreResult<bool>;
    /// Everything one sync request writes, in one transaction: one flush to disk per request,
    /// however many records it carries. Records the new clock anchor may judge differently are
    /// queued to be judged again; returns how many.
    fn commit_sync(&self, write: &SyncWrite<'_>) -> StoreResult<usize>;
}

/// What is read from the records: list rows and flags, and the queue of records to judge again.
pub trait ProjectionStore {
    fn list_records(&self, scope: &Scope, filter: &ListFilter) -> StoreResult<Vec<Projection>>;
    fn record_flags(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Vec<Flag>>;
    /// Records waiting to be judged again, oldest first, at most `limit`.
    fn rejudge_queue(&self, limit: u32) -> StoreResult<Vec<Rejudge>>;
    /// Whether `doc_id` waits to be judged again.
    fn awaits_rejudging(&self, tenant_id: &str, doc_id: &str) -> StoreResult<bool>;
    /// The latest feed position of a record (what a judgement was made from).
    fn record_seq(&self, tenant_id: &str, doc_id: &str) -> StoreResult<u64>;
    /// Writes new judgements and takes their records off the queue, in one transaction, except
    /// for records changed since they were read (the change's own judgement stands; they stay
    /// queued). Returns how many were written.
    fn write_judgements(&self, judgements: &[Judgement]) -> StoreResult<usize>;
    /// Takes a record off the queue without judging it (it cannot be read).
    fn dequeue_rejudge(&self, tenant_id: &str, doc_id: &str) -> StoreResult<()>;
    /// Queues every record whose time-dependent flags change at or before `now_ms` (an action
    /// fell due, a certificate reached an expiry alert); returns how many.
    fn queue_due_rejudges(&self, now_ms: i64) -> StoreResult<usize>;
    /// The ids of the company's records assigned to any of `people` whose (kind, status) is one
    /// of `kinds`, in one query (the qualifications a record's flags read, however many people
    /// it names).
    fn assigned_records(
        &self,
        tenant_id: &str,
        people: &[String],
        kinds: &[(&str, &str)],
    ) -> StoreResult<Vec<String>>;
}

/// The program's own tables: the equipment register, its holds, and inspection schedules.
pub trait ProgramStore {
    /// The register's unit numbered `unit_id` (matched by [`sync_core::program::unit_key`]).
    fn equipment_unit(&self, tenant_id: &str, unit_id: &str) -> StoreResult<Option<EquipmentUnit>>;
    /// Stores a new inspection schedule; the audit entry (`inspection_schedule.created`, by its
    /// creator) commits with it.
    fn create_inspection_schedule(&self, schedule: &InspectionSchedule) -> StoreResult<()>;
    /// The company's inspection schedules, ended ones too, at one site or at every site; oldest first.
    fn inspection_schedules(
        &self,
        tenant_id: &str,
        site_id: Option<&str>,
    ) -> StoreResult<Vec<InspectionSchedule>>;
    /// The company's schedule with this id.
    fn inspection_schedule(&self, tenant_id: &str, id: &str) -> StoreResult<Option<InspectionSchedule>>;
    /// Ends a schedule at `at_ms` (no occurrences after it); the audit entry
    /// (`inspection_schedule.ended`, by `by`) commits with it. False if the company has no such
    /// schedule or it had ended already.
    fn end_inspection_schedule(&self, tenant_id: &str, id: &str, at_ms: i64, by: &str) -> StoreResult<bool>;
    /// The company's whole register, by unit number.
    fn equipment_units(&self, tenant_id: &str) -> StoreResult<Vec<EquipmentUnit>>;
    /// Adds a unit to the register with its audit entry, in one transaction. `Conflict` when the
    /// company has a unit of the same number (however it is written).
    fn add_equipment_unit(&self, tenant_id: &str, unit: &EquipmentUnit, audit: &AuditNote)
    -> StoreResult<()>;
    /// Replaces the details of the unit numbered `unit.unit_id` (its number, added and retired
    /// fields stay), with its audit entry. False when the company has no such unit.
    fn update_equipment_unit(
        &self,
        tenant_id: &str,
        unit: &EquipmentUnit,
        audit: &AuditNote,
    ) -> StoreResult<bool>;
    /// Every hold of the company, open and released, oldest first.
    fn equipment_holds(&self, tenant_id: &str) -> StoreResult<Vec<EquipmentHold>>;
}

/// A unit held out of service by a corrective action, until the action is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquipmentHold {
    /// The unit as [`sync_core::program::unit_key`] writes it (`LD3`).
    pub unit_key: String,
    pub action_id: String,
    /// The record whose failure raised the action (a pre-start), or the action itself when it
    /// was raised on its own.
    pub source_record: String,
    pub held_at_ms: i64,
    pub released_at_ms: Option<i64>,
}

/// A unit in the company's equipment register.
#[derive(Debug, Clone, PartialEq)]
pub struct EquipmentUnit {
    /// The unit number as the register writes it (`LD-3`).
    pub unit_id: String,
    pub make_model: String,
    pub serial: Option<String>,
    /// What competencies are verified on (`Loader`); empty until someone types the unit.
    pub equipment_type: String,
    /// Certificate types its operator must hold, current on the day.
    pub required_certificates: Vec<String>,
    pub hour_meter: Option<f64>,
    pub added_at_ms: i64,
    /// The user who added it, or who named it first on a phone.
    pub added_by: String,
    /// The record that named a unit the register did not hold, which added it.
    pub added_from_record: Option<String>,
    pub retired: bool,
}

/// One item of an inspection schedule's checklist template: each inspection filed from the
/// schedule starts with these items, unanswered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChecklistTemplateItem {
    pub label: String,
    /// A failed critical item is a finding that puts the work out of service.
    #[serde(default)]
    pub critical: bool,
}

/// A site's recurring inspection: what is inspected, its checklist template, how often (an RFC
/// 5545 rule expanded in the site's time zone from `starts_at_ms`), and who does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InspectionSchedule {
    pub id: String,
    pub tenant_id: String,
    pub site_id: String,
    pub title: String,
    pub checklist: Vec<ChecklistTemplateItem>,
    /// The recurrence as an RFC 5545 `RRULE` value, e.g. `FREQ=WEEKLY;INTERVAL=1`.
    pub rrule: String,
    /// The first occurrence, Unix ms (local midnight of the start date at the site).
    pub starts_at_ms: i64,
    /// User id of the person who does the inspections.
    pub assignee: String,
    pub created_by: String,
    pub created_at_ms: i64,
    /// When the schedule was ended; no occurrence starts after it.
    pub ended_at_ms: Option<i64>,
}
