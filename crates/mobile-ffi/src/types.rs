//! Records and enums the shells see, each mirroring a sync-core type.
//!
//! Nothing here decides anything. The mirrors are generated: `mirror_record!` writes the struct
//! from its field list and the conversions field by field through [`Mirror`], `mirror_enum!`
//! maps an enum variant by variant. A type whose shape differs from the core's (a flattened
//! risk rating, durations as milliseconds) converts by hand. A kind's own forms live in
//! `kinds/<kind>.rs`.

use std::collections::{BTreeMap, HashMap};

use sync_core::model as core;

/// A conversion between a core value and its mirror, field by field: identity for plain values,
/// element-wise through options, lists and maps.
pub(crate) trait Mirror<T> {
    fn mirror(self) -> T;
}

macro_rules! plain_values {
    ($($t:ty),+) => { $(impl Mirror<$t> for $t { fn mirror(self) -> $t { self } })+ };
}
plain_values!(String, bool, u8, u32, u64, i64, f64);

impl<A: Mirror<B>, B> Mirror<Option<B>> for Option<A> {
    fn mirror(self) -> Option<B> {
        self.map(Mirror::mirror)
    }
}

impl<A: Mirror<B>, B> Mirror<Vec<B>> for Vec<A> {
    fn mirror(self) -> Vec<B> {
        self.into_iter().map(Mirror::mirror).collect()
    }
}

impl<A: Mirror<B>, B> Mirror<HashMap<String, B>> for BTreeMap<String, A> {
    fn mirror(self) -> HashMap<String, B> {
        self.into_iter().map(|(k, v)| (k, v.mirror())).collect()
    }
}

/// A map keyed by person shown as a list, in key order (signatures by signer).
impl<A: Mirror<B>, B> Mirror<Vec<B>> for BTreeMap<String, A> {
    fn mirror(self) -> Vec<B> {
        self.into_values().map(Mirror::mirror).collect()
    }
}

/// A uniffi record mirroring a core struct with the same field names. `<=` converts from the
/// core only (a read model); `<=>` both ways (a value the shell also hands in).
macro_rules! mirror_record {
    (@struct $(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, uniffi::Record)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),+ }
    };
    ($(#[$meta:meta])* $name:ident <= $core:path { $($body:tt)+ }) => {
        mirror_record!(@struct $(#[$meta])* $name { $($body)+ });
        mirror_record!(@from $core => $name { $($body)+ });
    };
    ($(#[$meta:meta])* $name:ident <=> $core:path { $($body:tt)+ }) => {
        mirror_record!(@struct $(#[$meta])* $name { $($body)+ });
        mirror_record!(@from $core => $name { $($body)+ });
        mirror_record!(@from $name => $core { $($body)+ });
    };
    (@from $from:path => $to:path { $($(#[$fmeta:meta])* $field:ident: $ty:ty),+ $(,)? }) => {
        impl From<$from> for $to {
            fn from(v: $from) -> Self {
                Self { $($field: Mirror::mirror(v.$field)),+ }
            }
        }
        impl Mirror<$to> for $from {
            fn mirror(self) -> $to {
                self.into()
            }
        }
    };
}
pub(crate) use mirror_record;

/// Maps a facade enum and a core enum onto each other, variant by variant.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident <=> $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($variant),+ }

        impl From<$name> for $core {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => <$core>::$variant),+ }
            }
        }

        impl From<$core> for $name {
            fn from(v: $core) -> Self {
                match v { $(<$core>::$variant => $name::$variant),+ }
            }
        }

        impl Mirror<$name> for $core {
            fn mirror(self) -> $name {
                self.into()
            }
        }

        impl Mirror<$core> for $name {
            fn mirror(self) -> $core {
                self.into()
            }
        }
    };
}
pub(crate) use mirror_enum;

// ---------------------------------------------------------------------------------------------
// Stamps

mirror_record! {
    /// A GPS fix exactly as the phone's OS reported it (mirrors `sync_core::GpsFix`).
    GpsFix <=> sync_core::GpsFix {
        lat: f64,
        lon: f64,
        /// Horizontal accuracy (68% radius) in metres, as the OS reports it.
        accuracy_m: f64,
        /// When the fix was taken, Unix milliseconds.
        fix_time_ms: i64,
        /// `gps`, `fused`, `network`, … as the OS names it.
        provider: String,
        /// The OS said the fix came from a mock-location provider.
        mock: bool,
    }
}

mirror_record! {
    /// Device time and place of one lifecycle event, made by the shell (mirrors `sync_core::Stamp`).
    ///
    /// `monotonic_ms` is time since boot (Android `SystemClock.elapsedRealtime()`, iOS
    /// `clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW)`), and `boot_id` names the boot it belongs to.
    Stamp <=> sync_core::Stamp {
        /// Device wall-clock time, Unix milliseconds.
        wall_ms: i64,
        monotonic_ms: i64,
        boot_id: String,
        /// The latest fix, if the shell has one. A missing fix never blocks anyone.
        #[uniffi(default)]
        fix: Option<GpsFix>,
    }
}

// ---------------------------------------------------------------------------------------------
// Enums mirrored one to one

/// Mirrors every kind the core registers: a kind added there appears here without an edit.
macro_rules! mirror_record_kind {
    ($($variant:ident),+) => {
        mirror_enum! {
            /// The kinds of field record (mirrors `sync_core::Kind`).
            RecordKind <=> sync_core::Kind { $($variant),+ }
        }
    };
}
sync_core::for_each_record_kind!(mirror_record_kind);

impl RecordKind {
    pub(crate) fn name(self) -> &'static str {
        sync_core::Kind::from(self).as_str()
    }
}

mirror_enum! {
    /// A supervisor's decision on a record (mirrors `ApprovalDecision`).
    ApprovalDecision <=> core::ApprovalDecision { Approved, Rejected }
}

mirror_enum! {
    /// One checklist answer (mirrors `ItemResult`).
    ItemResult <=> core::ItemResult { Pass, Fail, NotApplicable }
}

mirror_enum! {
    /// Whether a finding stops completion (mirrors `sync_core::Level`).
    FindingLevel <=> sync_core::Level { Blocking, Warning }
}

mirror_enum! {
    /// Why the server refused a record's changes (mirrors `protocol::RejectCode`).
    RejectCode <=> sync_core::protocol::RejectCode {
        WrongTenant, OutOfScope, SignatureForged, ApprovalNotPermitted, HeaderChanged,
        UnknownAuthor, AuthorMismatch, Malformed, UnknownKind,
    }
}

mirror_enum! {
    /// A person's role in the company (mirrors `protocol::Role`).
    Role <=> sync_core::protocol::Role { Worker, Supervisor, Admin }
}

// ---------------------------------------------------------------------------------------------
// Findings, flags, conflicts

mirror_record! {
    /// One validation finding: the rule, the field and what is wrong (mirrors `sync_core::Finding`).
    Finding <= sync_core::Finding {
        /// Stable rule id, e.g. `jsea.ppe_only_without_justification`.
        rule: String,
        /// Path of the field concerned, e.g. `steps[0].hazards[1].controls`.
        path: String,
        /// Words a crew lead can act on.
        message: String,
        level: FindingLevel,
    }
}

mirror_record! {
    /// A flag the office and the auditor see, with its evidence (mirrors `sync_core::Flag`).
    Flag <= sync_core::Flag {
        /// Stable code, e.g. `jsea.work_started_without_approval`.
        code: String,
        message: String,
        /// Named evidence: which stamps, which times, which field.
        evidence: HashMap<String, String>,
    }
}

mirror_record! {
    /// Concurrent values for one field, kept until a person picks one (mirrors `Conflict`).
    Conflict <= sync_core::Conflict {
        /// Dotted path, e.g. `jsea.task`.
        path: String,
        /// The competing values as text, the current winner first.
        values: Vec<String>,
    }
}

// ---------------------------------------------------------------------------------------------
// Read model of one record, and the parts kinds share

mirror_record! {
    /// Fields every record carries (mirrors `sync_core::Header`).
    RecordHeader <= sync_core::Header {
        id: String,
        /// The kind as stored: `jsea`, `pre_start`, `near_miss`, ….
        kind: String,
        schema_version: u64,
        tenant_id: String,
        site_id: String,
        job_id: Option<String>,
        created_by: String,
        created: Stamp,
    }
}

mirror_record! {
    /// A signature bound to the hash of what was signed (mirrors `parts::Signature`).
    Signature <= core::Signature {
        user_id: String,
        name: String,
        content_hash: String,
        stamp: Stamp,
    }
}

mirror_record! {
    /// A supervisor's decision bound to the content it approved (mirrors `parts::Approval`).
    Approval <= core::Approval {
        decision: ApprovalDecision,
        by_user_id: String,
        by_name: String,
        comment: Option<String>,
        content_hash: String,
        stamp: Stamp,
    }
}

mirror_record! {
    /// Why a record went back to draft (mirrors `parts::Reopening`).
    Reopening <= core::Reopening {
        reason: String,
        by_user_id: String,
        stamp: Stamp,
    }
}

mirror_record! {
    /// One checklist item (mirrors `parts::ChecklistItem`).
    ChecklistItem <= core::ChecklistItem {
        id: String,
        label: String,
        critical: bool,
        result: Option<ItemResult>,
        defect_note: Option<String>,
    }
}

/// The body of a record, by kind (mirrors `sync_core::Body`).
#[expect(
    clippy::large_enum_variant,
    reason = "a read model handed across the FFI one record at a time; boxing buys nothing"
)]
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum RecordBody {
    Jsea {
        form: crate::kinds::jsea::JseaForm,
    },
    PreStart {
        form: crate::kinds::pre_start::PreStartForm,
    },
    NearMiss {
        form: crate::kinds::near_miss::NearMissForm,
    },
    /// A kind with no typed form here: its body as JSON (`MusterStore.recordJson` gives the same),
    /// edited with the generic operations (`setField`, `addListItem`, `removeListItem`).
    Other {
        kind: RecordKind,
        json: String,
    },
}

impl From<sync_core::Body> for RecordBody {
    fn from(b: sync_core::Body) -> Self {
        match b {
            sync_core::Body::Jsea(j) => RecordBody::Jsea { form: j.into() },
            sync_core::Body::PreStart(p) => RecordBody::PreStart { form: p.into() },
            sync_core::Body::NearMiss(n) => RecordBody::NearMiss { form: n.into() },
            #[allow(unreachable_patterns, reason = "kinds registered after the three with forms")]
            other => RecordBody::Other {
                kind: other.kind().into(),
                json: sync_core::fields::to_json(&other)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            },
        }
    }
}

mirror_record! {
    /// Why the server refused a record's changes; the record stays on the device (mirrors
    /// `sync::Rejection`).
    Rejection <= sync_core::sync::Rejection {
        record_id: String,
        code: RejectCode,
        reason: String,
        rejected_at_ms: i64,
    }
}

/// One record with everything a person needs to see about it (mirrors `store::RecordView`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordView {
    pub header: RecordHeader,
    pub body: RecordBody,
    /// Status as shown in lists (`draft`, `completed`, …).
    pub status: String,
    /// A one-line title for lists.
    pub title: String,
    pub findings: Vec<Finding>,
    pub flags: Vec<Flag>,
    pub conflicts: Vec<Conflict>,
    /// Actor id (hex) → user id of everyone who wrote to the record.
    pub authors: HashMap<String, String>,
    /// Local edits the server has not acknowledged yet.
    pub pending_sync: bool,
    /// Why the server refused this record's changes, if it did.
    pub rejection: Option<Rejection>,
    /// This phone filed the report anonymously: the only place it shows as the person's own.
    pub anonymous_by_me: bool,
}

impl From<sync_core::RecordView> for RecordView {
    fn from(v: sync_core::RecordView) -> Self {
        Self {
            status: v.record.body.status().to_owned(),
            title: v.record.body.title(),
            header: v.record.header.into(),
            body: v.record.body.into(),
            findings: v.findings.mirror(),
            flags: v.flags.mirror(),
            conflicts: v.conflicts.mirror(),
            authors: v.authors.mirror(),
            pending_sync: v.pending_sync,
            rejection: v.rejection.mirror(),
            anonymous_by_me: v.anonymous_by_me,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lists

mirror_record! {
    /// One record as a list row, read from the projection (mirrors `sync_core::Projection`).
    RecordSummary <= sync_core::Projection {
        id: String,
        kind: String,
        tenant_id: String,
        site_id: String,
        job_id: Option<String>,
        status: String,
        title: String,
        created_by: String,
        created_at_ms: i64,
        /// When it was completed, signed off or reported.
        completed_at_ms: Option<i64>,
        work_started_at_ms: Option<i64>,
        closed_at_ms: Option<i64>,
        /// The person responsible, for kinds that assign one.
        assignee: Option<String>,
        due_at_ms: Option<i64>,
        /// Flag codes, sorted.
        flags: Vec<String>,
        blocking_findings: u32,
        conflicts: u32,
        content_hash: String,
    }
}

/// Filters for listing records; every field is optional and they combine with AND
/// (mirrors `sync_core::ListFilter`).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct ListFilter {
    #[uniffi(default)]
    pub kind: Option<RecordKind>,
    #[uniffi(default)]
    pub site_id: Option<String>,
    /// Status as stored, e.g. `draft`, `work_started`.
    #[uniffi(default)]
    pub status: Option<String>,
    /// Only records carrying this flag code.
    #[uniffi(default)]
    pub flag: Option<String>,
    #[uniffi(default)]
    pub created_by: Option<String>,
    /// Created at or after, Unix ms.
    #[uniffi(default)]
    pub created_from_ms: Option<i64>,
    /// Created before, Unix ms.
    #[uniffi(default)]
    pub created_to_ms: Option<i64>,
    /// Completed (signed off, reported) at or after, Unix ms.
    #[uniffi(default)]
    pub completed_from_ms: Option<i64>,
    /// Completed before, Unix ms.
    #[uniffi(default)]
    pub completed_to_ms: Option<i64>,
    /// Only records assigned to this person.
    #[uniffi(default)]
    pub assignee: Option<String>,
    /// Only records due before this time, Unix ms.
    #[uniffi(default)]
    pub due_before_ms: Option<i64>,
    /// `true`: closed records only; `false`: open ones only.
    #[uniffi(default)]
    pub closed: Option<bool>,
    /// Only records whose title contains this text.
    #[uniffi(default)]
    pub title_contains: Option<String>,
    /// Page size; `None` lists everything.
    #[uniffi(default)]
    pub limit: Option<u32>,
    #[uniffi(default)]
    pub offset: Option<u32>,
}

impl From<ListFilter> for sync_core::ListFilter {
    fn from(f: ListFilter) -> Self {
        Self {
            kind: f.kind.map(|k| k.name().to_owned()),
            site_id: f.site_id,
            status: f.status,
            flag: f.flag,
            created_by: f.created_by,
            created_from_ms: f.created_from_ms,
            created_to_ms: f.created_to_ms,
            completed_from_ms: f.completed_from_ms,
            completed_to_ms: f.completed_to_ms,
            assignee: f.assignee,
            due_before_ms: f.due_before_ms,
            closed: f.closed,
            title_contains: f.title_contains,
            limit: f.limit,
            offset: f.offset,
            flagged: None,
            order: sync_core::ListOrder::default(),
        }
    }
}

mirror_record! {
    /// A record with edits the server has not acknowledged (mirrors `store::Pending`): exactly
    /// what would be lost if the app's data were deleted before the next sync.
    PendingChange <= sync_core::store::Pending {
        record_id: String,
        kind: String,
        title: String,
        status: String,
        queued_at_ms: i64,
        /// Edits made on this device since the server last acknowledged the record.
        edits: i64,
        /// The server has never acknowledged any of it: the whole record exists only on this device.
        never_synced: bool,
    }
}

/// A record kind as the shells list it (from the core's registry).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KindInfo {
    pub kind: RecordKind,
    /// As stored and on the wire (`pre_start`).
    pub name: String,
    /// As people read it (`Equipment pre-start`).
    pub label: String,
}

// ---------------------------------------------------------------------------------------------
// People and sync

mirror_record! {
    /// The person signed in on this device (mirrors `store::Profile`).
    Profile <= sync_core::Profile {
        user_id: String,
        tenant_id: String,
        display_name: String,
    }
}

mirror_record! {
    /// Who signed in, as the server knows them (mirrors `protocol::UserInfo`).
    UserInfo <= sync_core::protocol::UserInfo {
        id: String,
        tenant_id: String,
        email: String,
        name: String,
        role: Role,
        /// Ids of the sites this person works at.
        sites: Vec<String>,
    }
}

mirror_record! {
    /// Progress of a running sync, reported after every round trip (mirrors `SyncProgress`).
    SyncProgress <= sync_core::sync::SyncProgress {
        round_trips: u32,
        sent: u32,
        received: u32,
        /// Records still waiting to be sent.
        pending: u32,
    }
}

mirror_record! {
    /// What one sync did (mirrors `sync::SyncReport`).
    SyncReport <= sync_core::sync::SyncReport {
        round_trips: u32,
        /// Records whose changes the server accepted.
        accepted: u32,
        /// Records the server refused this time, with reasons; they stay on the device.
        rejected: Vec<Rejection>,
        /// Records that received changes from the server.
        received: u32,
        bytes_up: u64,
        bytes_down: u64,
        cursor: u64,
    }
}

/// The device's clocks at one moment, for the server's clock-offset estimate
/// (mirrors `protocol::ClockSample`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClockSample {
    pub wall_ms: i64,
    pub monotonic_ms: i64,
    pub boot_id: String,
}

impl From<ClockSample> for sync_core::protocol::ClockSample {
    fn from(c: ClockSample) -> Self {
        Self {
            wall_ms: c.wall_ms,
            monotonic_ms: c.monotonic_ms,
            boot_id: c.boot_id,
            // The sync client measures round trips itself and reports its own figure.
            last_round_trip_ms: 0,
        }
    }
}

/// How hard a sync tries before reporting the server unreachable (mirrors `RetryPolicy`).
/// Nothing queued is dropped either way.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncSettings {
    pub attempts: u32,
    pub first_delay_ms: u64,
    pub max_delay_ms: u64,
    pub request_timeout_ms: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        sync_core::sync::RetryPolicy::default().into()
    }
}

impl From<sync_core::sync::RetryPolicy> for SyncSettings {
    fn from(p: sync_core::sync::RetryPolicy) -> Self {
        Self {
            attempts: p.attempts,
            first_delay_ms: p.first_delay.as_millis() as u64,
            max_delay_ms: p.max_delay.as_millis() as u64,
            request_timeout_ms: p.request_timeout.as_millis() as u64,
        }
    }
}

impl From<SyncSettings> for sync_core::sync::RetryPolicy {
    fn from(s: SyncSettings) -> Self {
        use std::time::Duration;
        Self {
            attempts: s.attempts,
            first_delay: Duration::from_millis(s.first_delay_ms),
            max_delay: Duration::from_millis(s.max_delay_ms),
            request_timeout: Duration::from_millis(s.request_timeout_ms),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recovery of a damaged store

mirror_record! {
    /// Data a recovery could not bring back (mirrors `recovery::Unrecovered`).
    Unrecovered <= sync_core::recovery::Unrecovered {
        /// The record it belonged to, when anything left in the file still names it.
        record_id: Option<String>,
        reason: String,
    }
}

/// What `recover_store` recovered and what it could not read (mirrors `recovery::RecoveryReport`).
/// `pending_lost` names the records whose unsynced edits are gone: show them to the person.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecoveryReport {
    /// Where the damaged file was moved, unchanged; it is never deleted.
    pub damaged_moved_to: String,
    pub recovered_to: String,
    pub header_rebuilt: bool,
    pub problems: Vec<String>,
    pub records_recovered: Vec<String>,
    pub records_incomplete: Vec<Unrecovered>,
    pub records_lost: Vec<Unrecovered>,
    pub pending_recovered: Vec<String>,
    pub pending_lost: Vec<String>,
    pub device_id_recovered: bool,
    pub profile_recovered: bool,
    pub credentials_recovered: bool,
}

impl From<sync_core::recovery::RecoveryReport> for RecoveryReport {
    fn from(r: sync_core::recovery::RecoveryReport) -> Self {
        Self {
            damaged_moved_to: r.damaged_moved_to.display().to_string(),
            recovered_to: r.recovered_to.display().to_string(),
            header_rebuilt: r.header_rebuilt,
            problems: r.problems,
            records_recovered: r.records_recovered,
            records_incomplete: r.records_incomplete.mirror(),
            records_lost: r.records_lost.mirror(),
            pending_recovered: r.pending_recovered,
            pending_lost: r.pending_lost,
            device_id_recovered: r.device_id_recovered,
            profile_recovered: r.profile_recovered,
            credentials_recovered: r.credentials_recovered,
        }
    }
}

mirror_record! {
    /// A unit of the company's equipment register as the phone keeps it
    /// (`MusterSyncClient.refresh_equipment_register`), for naming units on pre-starts offline.
    RegisterUnit <= sync_core::protocol::RegisterUnit {
        /// The unit number as the register writes it (`L-3`).
        unit_id: String,
        make_model: String,
        serial: Option<String>,
        /// What competencies are verified on (`Loader`).
        equipment_type: String,
        /// Certificate types its operator must hold, current on the day.
        required_certificates: Vec<String>,
        hour_meter: Option<f64>,
        /// False while a corrective action holds it out of service: warn before the check.
        in_service: bool,
    }
}

/// One of the signed-in person's own alerts (`MusterStore.my_alerts`): a time-bound flag on a
/// record assigned to them, judged at this phone's clock.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Alert {
    pub record_id: String,
    /// The record's kind as stored (`certificate`, `corrective_action`).
    pub kind: String,
    pub title: String,
    pub flag: Flag,
}
