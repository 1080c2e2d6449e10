//! Wire types shared by the sync client and the server. See `docs/protocol.md`.
//!
//! The sync exchange (`POST /v1/sync`) is postcard-encoded: automerge change bytes dominate it and
//! JSON would base64 them. Everything else (login, limits, records) is JSON.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// Content type of sync requests and responses.
pub const SYNC_CONTENT_TYPE: &str = "application/vnd.muster.sync+postcard";

/// A change hash, 32 bytes.
pub type Hash = [u8; 32];

/// The device's clocks at the moment it sent the request, for the server's clock-offset estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSample {
    pub wall_ms: i64,
    pub monotonic_ms: i64,
    pub boot_id: String,
    /// The round trip of the previous sync as the device timed it (0: unknown). The server takes
    /// half of it as the uncertainty of this sample.
    pub last_round_trip_ms: u32,
}

/// One record's changes the server has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    pub doc_id: String,
    /// Heads the changes build on, if the device names them. Optional: every automerge change
    /// names its own dependencies, and the server finds missing history from those, so devices
    /// leave this empty and save 33 bytes per edited record.
    pub base_heads: Vec<Hash>,
    /// Automerge changes the server has not acknowledged (or the whole document).
    pub changes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub version: u16,
    /// Position in the server's change feed up to which this device has durably stored
    /// everything. Sending it acknowledges the previous response.
    pub cursor: u64,
    /// The fingerprint the server gave with `cursor`: a server restored from a backup has no entry
    /// with this fingerprint at that position, and says so with `reset`.
    pub cursor_check: u64,
    pub clock: ClockSample,
    pub pushes: Vec<DocPush>,
    /// Automerge sync-protocol messages for records whose history diverged from the server's
    /// (the server lacks what a push builds on, or an update built on what this device lacks).
    pub doc_sync: Vec<DocSyncMessage>,
}

/// One automerge sync-protocol message (`automerge::sync::Message::encode`) for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSyncMessage {
    pub doc_id: String,
    pub message: Vec<u8>,
}

/// Why the server refused a record's changes. The device keeps the record and shows the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The record belongs to another company.
    WrongTenant,
    /// The record is at a site this person may not write to.
    OutOfScope,
    /// Someone other than the signer wrote a signature.
    SignatureForged,
    /// An approval or rejection by someone who is not a supervisor of the site, or not in their name.
    ApprovalNotPermitted,
    /// The record header (id, kind, company, creator) was changed.
    HeaderChanged,
    /// A change was made on a device the server has not seen for that person; retried later.
    UnknownAuthor,
    /// A change claims to be by someone other than the person whose device made it.
    AuthorMismatch,
    /// The bytes are not valid automerge changes or the result is not a readable record.
    Malformed,
    /// The record kind is not known to this server.
    UnknownKind,
}

impl RejectCode {
    /// Whether sending the same changes again later can succeed.
    pub fn retryable(self) -> bool {
        matches!(self, RejectCode::UnknownAuthor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushOutcome {
    /// Stored durably on the server; the device may mark these changes acknowledged.
    Accepted,
    /// The server lacks history the changes depend on: reconcile the record with automerge's
    /// sync protocol (`doc_sync`).
    NeedFull,
    Rejected {
        code: RejectCode,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    pub doc_id: String,
    pub outcome: PushOutcome,
}

/// Changes for a record the device lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocUpdate {
    pub doc_id: String,
    /// Automerge bytes: incremental changes, or a whole-document snapshot when `snapshot`.
    pub changes: Vec<u8>,
    pub snapshot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub version: u16,
    pub server_time_ms: i64,
    pub results: Vec<PushResult>,
    pub updates: Vec<DocUpdate>,
    /// The device stores the updates and this cursor together, then sends it next time.
    pub cursor: u64,
    /// Fingerprint of the feed entry at `cursor`, sent back with it.
    pub cursor_check: u64,
    /// More updates are waiting: sync again at once.
    pub more: bool,
    /// Replies to the request's `doc_sync` messages (none for a record once both sides agree).
    pub doc_sync: Vec<DocSyncMessage>,
    /// The server's history is behind the device's cursor (it was restored from a backup): the
    /// device must offer every record again and pull from cursor 0.
    pub reset: bool,
}

/// What the server accepts, advertised at `GET /v1/sync/limits` and in the login answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    pub protocol_versions: Vec<u16>,
    /// Largest request body, bytes.
    pub max_body_bytes: u64,
    /// Most records pushed in one request.
    pub max_pushes: u32,
    /// Updates in one response stop after about this many bytes; `more` says to come back.
    pub max_update_bytes: u64,
}

/// An error body from any endpoint: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Machine-readable reason, e.g. `token_expired`, `unsupported_protocol_version`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Worker,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "worker" => Some(Role::Worker),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The device's own id (`Store::device_id`); the device is enrolled under it.
    pub device_id: String,
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// The device presenting the token. The token presented just before the current one is
    /// accepted again, for a short while, only from its own device (its answer was lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// A unit of the company's equipment register as a phone keeps it, so an operator offline names a
/// unit the office knows (`GET /v1/equipment`; fields the phone does not use are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterUnit {
    /// The unit number as the register writes it (`L-3`).
    pub unit_id: String,
    pub make_model: String,
    #[serde(default)]
    pub serial: Option<String>,
    /// What competencies are verified on (`Loader`); empty until the office types the unit.
    #[serde(default)]
    pub equipment_type: String,
    /// Certificate types its operator must hold, current on the day.
    #[serde(default)]
    pub required_certificates: Vec<String>,
    #[serde(default)]
    pub hour_meter: Option<f64>,
    /// False while a corrective action holds it out of service.
    pub in_service: bool,
}

/// The register as the phone last fetched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquipmentRegister {
    /// When it was fetched, by the phone's clock (Unix ms).
    pub fetched_at_ms: i64,
    pub units: Vec<RegisterUnit>,
}

impl EquipmentRegister {
    /// The unit numbered `unit_id`, however it is written ([`crate::program::unit_key`]).
    pub fn unit(&self, unit_id: &str) -> Option<&RegisterUnit> {
        let key = crate::program::unit_key(unit_id);
        self.units
            .iter()
            .find(|u| crate::program::unit_key(&u.unit_id) == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    pub access_expires_at_ms: i64,
    /// Long-lived, bound to this device, single use: each refresh returns a new one.
    pub refresh_token: String,
    pub user: UserInfo,
    pub limits: Limits,
}

/// Encodes a sync message.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // postcard only fails on writer errors, and a Vec never fails.
    postcard::to_allocvec(message).unwrap_or_default()
}

/// Reads the protocol version at the front of a sync message without decoding the rest, so an
/// unknown version is reported as such rather than as a malformed body.
pub fn peek_version(bytes: &[u8]) -> Result<u16, String> {
    postcard::take_from_bytes::<u16>(bytes)
        .map(|(v, _)| v)
        .map_err(|e| format!("the body does not start with a protocol version: {e}"))
}

/// Decodes a sync message, saying what was wrong.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("malformed sync message: {e}"))
}
