//! Records and enums the shells see, each mirroring a sync-core type with `From` conversions.
//!
//! Nothing here decides anything: a conversion copies fields, and an enum maps one to one.

use std::collections::HashMap;

use sync_core::model as core;

// ---------------------------------------------------------------------------------------------
// Stamps

/// A GPS fix exactly as the phone's OS reported it (mirrors `sync_core::GpsFix`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy (68% radius) in metres, as the OS reports it.
    pub accuracy_m: f64,
    /// When the fix was taken, Unix milliseconds.
    pub fix_time_ms: i64,
    /// `gps`, `fused`, `network`, … as the OS names it.
    pub provider: String,
    /// The OS said the fix came from a mock-location provider.
    pub mock: bool,
}

/// Device time and place of one lifecycle event, made by the shell (mirrors `sync_core::Stamp`).
///
/// `monotonic_ms` is time since boot (Android `SystemClock.elapsedRealtime()`, iOS
/// `clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW)`), and `boot_id` names the boot it belongs to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Stamp {
    /// Device wall-clock time, Unix milliseconds.
    pub wall_ms: i64,
    pub monotonic_ms: i64,
    pub boot_id: String,
    /// The latest fix, if the shell has one. A missing fix never blocks anyone.
    #[uniffi(default)]
    pub fix: Option<GpsFix>,
}

impl From<GpsFix> for sync_core::GpsFix {
    fn from(f: GpsFix) -> Self {
        Self {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            fix_time_ms: f.fix_time_ms,
            provider: f.provider,
            mock: f.mock,
        }
    }
}

impl From<sync_core::GpsFix> for GpsFix {
    fn from(f: sync_core::GpsFix) -> Self {
        Self {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            fix_time_ms: f.fix_time_ms,
            provider: f.provider,
            mock: f.mock,
        }
    }
}

impl From<Stamp> for sync_core::Stamp {
    fn from(s: Stamp) -> Self {
        Self {
            wall_ms: s.wall_ms,
            monotonic_ms: s.monotonic_ms,
            boot_id: s.boot_id,
            fix: s.fix.map(Into::into),
        }
    }
}

impl From<sync_core::Stamp> for Stamp {
    fn from(s: sync_core::Stamp) -> Self {
        Self {
            wall_ms: s.wall_ms,
            monotonic_ms: s.monotonic_ms,
            boot_id: s.boot_id,
            fix: s.fix.map(Into::into),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Enums mirrored one to one

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
    };
}

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
    fn name(self) -> &'static str {
        sync_core::Kind::from(self).as_str()
    }
}

mirror_enum! {
    /// Where a JSEA is in its life (mirrors `JseaStatus`).
    JseaStatus <=> core::JseaStatus { Draft, Completed, Approved, Rejected, WorkStarted, Closed }
}

mirror_enum! {
    /// The hierarchy of controls, OHS Code s.9, most effective first (mirrors `ControlLevel`).
    ControlLevel <=> core::ControlLevel { Elimination, Substitution, Engineering, Administrative, Ppe }
}

mirror_enum! {
    /// A supervisor's decision on a JSEA (mirrors `ApprovalDecision`).
    ApprovalDecision <=> core::ApprovalDecision { Approved, Rejected }
}

mirror_enum! {
    /// Mirrors `PreStartStatus`.
    PreStartStatus <=> core::PreStartStatus { Draft, Completed }
}

mirror_enum! {
    /// One checklist answer (mirrors `ItemResult`).
    ItemResult <=> core::ItemResult { Pass, Fail, NotApplicable }
}

mirror_enum! {
    /// How bad a near-miss could have been; merges keep the highest (mirrors `Severity`).
    Severity <=> core::Severity { Low, Medium, High, Critical }
}

mirror_enum! {
    /// Mirrors `NearMissStatus`.
    NearMissStatus <=> core::NearMissStatus { Draft, Reported }
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

/// One validation finding: the rule, the field and what is wrong (mirrors `sync_core::Finding`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Finding {
    /// Stable rule id, e.g. `jsea.ppe_only_without_justification`.
    pub rule: String,
    /// Path of the field concerned, e.g. `steps[0].hazards[1].controls`.
    pub path: String,
    /// Words a crew lead can act on.
    pub message: String,
    pub level: FindingLevel,
}

impl From<sync_core::Finding> for Finding {
    fn from(f: sync_core::Finding) -> Self {
        Self {
            rule: f.rule,
            path: f.path,
            message: f.message,
            level: f.level.into(),
        }
    }
}

/// A flag the office and the auditor see, with its evidence (mirrors `sync_core::Flag`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Flag {
    /// Stable code, e.g. `jsea.work_started_without_approval`.
    pub code: String,
    pub message: String,
    /// Named evidence: which stamps, which times, which field.
    pub evidence: HashMap<String, String>,
}

impl From<sync_core::Flag> for Flag {
    fn from(f: sync_core::Flag) -> Self {
        Self {
            code: f.code,
            message: f.message,
            evidence: f.evidence.into_iter().collect(),
        }
    }
}

/// Concurrent values for one field, kept until a person picks one (mirrors `Conflict`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Conflict {
    /// Dotted path, e.g. `jsea.task`.
    pub path: String,
    /// The competing values as text, the current winner first.
    pub values: Vec<String>,
}

impl From<sync_core::Conflict> for Conflict {
    fn from(c: sync_core::Conflict) -> Self {
        Self {
            path: c.path,
            values: c.values,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Read model of one record

/// Fields every record carries (mirrors `sync_core::Header`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordHeader {
    pub id: String,
    /// The kind as stored: `jsea`, `pre_start`, `near_miss`.
    pub kind: String,
    pub schema_version: u64,
    pub tenant_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    pub created_by: String,
    pub created: Stamp,
}

impl From<sync_core::Header> for RecordHeader {
    fn from(h: sync_core::Header) -> Self {
        Self {
            id: h.id,
            kind: h.kind,
            schema_version: h.schema_version,
            tenant_id: h.tenant_id,
            site_id: h.site_id,
            job_id: h.job_id,
            created_by: h.created_by,
            created: h.created.into(),
        }
    }
}

/// A signature bound to the hash of what was signed (mirrors `model::Signature`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Signature {
    pub user_id: String,
    pub name: String,
    pub content_hash: String,
    pub stamp: Stamp,
}

impl From<core::Signature> for Signature {
    fn from(s: core::Signature) -> Self {
        Self {
            user_id: s.user_id,
            name: s.name,
            content_hash: s.content_hash,
            stamp: s.stamp.into(),
        }
    }
}

/// Mirrors `model::Control`. Removed controls stay, marked, so concurrent edits are never lost.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Control {
    pub id: String,
    pub description: String,
    pub level: ControlLevel,
    pub removed: bool,
}

impl From<core::Control> for Control {
    fn from(c: core::Control) -> Self {
        Self {
            id: c.id,
            description: c.description,
            level: c.level.into(),
            removed: c.removed,
        }
    }
}

/// Mirrors `model::Hazard` with its risk rating (severity × likelihood, 1–5 each).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Hazard {
    pub id: String,
    pub description: String,
    pub severity: u8,
    pub likelihood: u8,
    pub controls: Vec<Control>,
    pub ppe_only_justification: Option<String>,
    pub removed: bool,
}

impl From<core::Hazard> for Hazard {
    fn from(h: core::Hazard) -> Self {
        Self {
            id: h.id,
            description: h.description,
            severity: h.risk.severity,
            likelihood: h.risk.likelihood,
            controls: h.controls.into_iter().map(Into::into).collect(),
            ppe_only_justification: h.ppe_only_justification,
            removed: h.removed,
        }
    }
}

/// Mirrors `model::TaskStep`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskStep {
    pub id: String,
    pub description: String,
    pub hazards: Vec<Hazard>,
    pub removed: bool,
}

impl From<core::TaskStep> for TaskStep {
    fn from(s: core::TaskStep) -> Self {
        Self {
            id: s.id,
            description: s.description,
            hazards: s.hazards.into_iter().map(Into::into).collect(),
            removed: s.removed,
        }
    }
}

/// Mirrors `model::Approval`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Approval {
    pub decision: ApprovalDecision,
    pub by_user_id: String,
    pub by_name: String,
    pub comment: Option<String>,
    pub content_hash: String,
    pub stamp: Stamp,
}

impl From<core::Approval> for Approval {
    fn from(a: core::Approval) -> Self {
        Self {
            decision: a.decision.into(),
            by_user_id: a.by_user_id,
            by_name: a.by_name,
            comment: a.comment,
            content_hash: a.content_hash,
            stamp: a.stamp.into(),
        }
    }
}

/// Mirrors `jsea::Reopening`: why a JSEA went back to draft.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Reopening {
    pub reason: String,
    pub by_user_id: String,
    pub stamp: Stamp,
}

impl From<core::Reopening> for Reopening {
    fn from(r: core::Reopening) -> Self {
        Self {
            reason: r.reason,
            by_user_id: r.by_user_id,
            stamp: r.stamp.into(),
        }
    }
}

/// A JSEA/FLHA as a form (mirrors `model::Jsea`). Signatures are listed by signer.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct JseaForm {
    pub task: String,
    pub location_description: Option<String>,
    pub crew: Vec<String>,
    pub steps: Vec<TaskStep>,
    pub muster_point: String,
    pub status: JseaStatus,
    pub signatures: Vec<Signature>,
    pub completed: Option<Stamp>,
    pub approval: Option<Approval>,
    pub work_started: Option<Stamp>,
    pub closed: Option<Stamp>,
    pub reopened: Option<Reopening>,
}

impl From<core::Jsea> for JseaForm {
    fn from(j: core::Jsea) -> Self {
        Self {
            task: j.task,
            location_description: j.location_description,
            crew: j.crew,
            steps: j.steps.into_iter().map(Into::into).collect(),
            muster_point: j.muster_point,
            status: j.status.into(),
            signatures: j.signatures.into_values().map(Into::into).collect(),
            completed: j.completed.map(Into::into),
            approval: j.approval.map(Into::into),
            work_started: j.work_started.map(Into::into),
            closed: j.closed.map(Into::into),
            reopened: j.reopened.map(Into::into),
        }
    }
}

/// The equipment unit a pre-start is for (mirrors `model::EquipmentUnit`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EquipmentUnit {
    /// The company's unit number, e.g. `PU-14`.
    pub unit_id: String,
    pub make_model: String,
    #[uniffi(default)]
    pub serial: Option<String>,
    #[uniffi(default)]
    pub hour_meter: Option<f64>,
}

impl From<EquipmentUnit> for core::EquipmentUnit {
    fn from(u: EquipmentUnit) -> Self {
        Self {
            unit_id: u.unit_id,
            make_model: u.make_model,
            serial: u.serial,
            hour_meter: u.hour_meter,
        }
    }
}

impl From<core::EquipmentUnit> for EquipmentUnit {
    fn from(u: core::EquipmentUnit) -> Self {
        Self {
            unit_id: u.unit_id,
            make_model: u.make_model,
            serial: u.serial,
            hour_meter: u.hour_meter,
        }
    }
}

/// Mirrors `model::ChecklistItem`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub label: String,
    pub critical: bool,
    pub result: Option<ItemResult>,
    pub defect_note: Option<String>,
}

impl From<core::ChecklistItem> for ChecklistItem {
    fn from(i: core::ChecklistItem) -> Self {
        Self {
            id: i.id,
            label: i.label,
            critical: i.critical,
            result: i.result.map(Into::into),
            defect_note: i.defect_note,
        }
    }
}

/// An equipment pre-start as a form (mirrors `model::PreStart`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PreStartForm {
    pub unit: EquipmentUnit,
    pub operator_id: String,
    pub items: Vec<ChecklistItem>,
    pub status: PreStartStatus,
    pub sign_off: Option<Signature>,
    pub completed: Option<Stamp>,
}

impl From<core::PreStart> for PreStartForm {
    fn from(p: core::PreStart) -> Self {
        Self {
            unit: p.unit.into(),
            operator_id: p.operator_id,
            items: p.items.into_iter().map(Into::into).collect(),
            status: p.status.into(),
            sign_off: p.sign_off.map(Into::into),
            completed: p.completed.map(Into::into),
        }
    }
}

/// A near-miss report as a form (mirrors `model::NearMiss`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearMissForm {
    pub what_happened: String,
    pub occurred_at_ms: i64,
    pub location_description: Option<String>,
    pub location_fix: Option<GpsFix>,
    pub potential_severity: Severity,
    pub immediate_actions: Option<String>,
    /// `None` when the report was filed anonymously.
    pub reporter_id: Option<String>,
    pub witnesses: Vec<String>,
    pub status: NearMissStatus,
    pub reported: Option<Stamp>,
}

impl From<core::NearMiss> for NearMissForm {
    fn from(n: core::NearMiss) -> Self {
        Self {
            what_happened: n.what_happened,
            occurred_at_ms: n.occurred_at_ms,
            location_description: n.location_description,
            location_fix: n.location_fix.map(Into::into),
            potential_severity: n.potential_severity.into(),
            immediate_actions: n.immediate_actions,
            reporter_id: n.reporter_id,
            witnesses: n.witnesses,
            status: n.status.into(),
            reported: n.reported.map(Into::into),
        }
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
        form: JseaForm,
    },
    PreStart {
        form: PreStartForm,
    },
    NearMiss {
        form: NearMissForm,
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

/// Why the server refused a record's changes; the record stays on the device (mirrors
/// `sync::Rejection`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Rejection {
    pub record_id: String,
    pub code: RejectCode,
    pub reason: String,
    pub rejected_at_ms: i64,
}

impl From<sync_core::sync::Rejection> for Rejection {
    fn from(r: sync_core::sync::Rejection) -> Self {
        Self {
            record_id: r.record_id,
            code: r.code.into(),
            reason: r.reason,
            rejected_at_ms: r.rejected_at_ms,
        }
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
            findings: v.findings.into_iter().map(Into::into).collect(),
            flags: v.flags.into_iter().map(Into::into).collect(),
            conflicts: v.conflicts.into_iter().map(Into::into).collect(),
            authors: v.authors.into_iter().collect(),
            pending_sync: v.pending_sync,
            rejection: v.rejection.map(Into::into),
            anonymous_by_me: v.anonymous_by_me,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lists

/// One record as a list row, read from the projection (mirrors `sync_core::Projection`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordSummary {
    pub id: String,
    pub kind: String,
    pub tenant_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    pub status: String,
    pub title: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub completed_at_ms: Option<i64>,
    pub work_started_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// The person responsible, for kinds that assign one.
    pub assignee: Option<String>,
    pub due_at_ms: Option<i64>,
    /// Flag codes, sorted.
    pub flags: Vec<String>,
    pub blocking_findings: u32,
    pub conflicts: u32,
    pub content_hash: String,
}

impl From<sync_core::Projection> for RecordSummary {
    fn from(p: sync_core::Projection) -> Self {
        Self {
            id: p.id,
            kind: p.kind,
            tenant_id: p.tenant_id,
            site_id: p.site_id,
            job_id: p.job_id,
            status: p.status,
            title: p.title,
            created_by: p.created_by,
            created_at_ms: p.created_at_ms,
            completed_at_ms: p.completed_at_ms,
            work_started_at_ms: p.work_started_at_ms,
            closed_at_ms: p.closed_at_ms,
            assignee: p.assignee,
            due_at_ms: p.due_at_ms,
            flags: p.flags,
            blocking_findings: p.blocking_findings,
            conflicts: p.conflicts,
            content_hash: p.content_hash,
        }
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
        }
    }
}

/// A record with edits the server has not acknowledged (mirrors `store::Pending`): exactly what
/// would be lost if the app's data were deleted before the next sync.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PendingChange {
    pub record_id: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub queued_at_ms: i64,
    /// Edits made on this device since the server last acknowledged the record.
    pub edits: i64,
    /// The server has never acknowledged any of it: the whole record exists only on this device.
    pub never_synced: bool,
}

impl From<sync_core::store::Pending> for PendingChange {
    fn from(p: sync_core::store::Pending) -> Self {
        Self {
            record_id: p.record_id,
            kind: p.kind,
            title: p.title,
            status: p.status,
            queued_at_ms: p.queued_at_ms,
            edits: p.edits,
            never_synced: p.never_synced,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// People and sync

/// The person signed in on this device (mirrors `store::Profile`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Profile {
    pub user_id: String,
    pub tenant_id: String,
    pub display_name: String,
}

impl From<sync_core::Profile> for Profile {
    fn from(p: sync_core::Profile) -> Self {
        Self {
            user_id: p.user_id,
            tenant_id: p.tenant_id,
            display_name: p.display_name,
        }
    }
}

/// Who signed in, as the server knows them (mirrors `protocol::UserInfo`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UserInfo {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Ids of the sites this person works at.
    pub sites: Vec<String>,
}

impl From<sync_core::protocol::UserInfo> for UserInfo {
    fn from(u: sync_core::protocol::UserInfo) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            name: u.name,
            role: u.role.into(),
            sites: u.sites,
        }
    }
}

/// Progress of a running sync, reported after every round trip (mirrors `SyncProgress`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    pub round_trips: u32,
    pub sent: u32,
    pub received: u32,
    /// Records still waiting to be sent.
    pub pending: u32,
}

impl From<sync_core::sync::SyncProgress> for SyncProgress {
    fn from(p: sync_core::sync::SyncProgress) -> Self {
        Self {
            round_trips: p.round_trips,
            sent: p.sent,
            received: p.received,
            pending: p.pending,
        }
    }
}

/// What one sync did (mirrors `sync::SyncReport`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub round_trips: u32,
    /// Records whose changes the server accepted.
    pub accepted: u32,
    /// Records the server refused this time, with reasons; they stay on the device.
    pub rejected: Vec<Rejection>,
    /// Records that received changes from the server.
    pub received: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub cursor: u64,
}

impl From<sync_core::sync::SyncReport> for SyncReport {
    fn from(r: sync_core::sync::SyncReport) -> Self {
        Self {
            round_trips: r.round_trips,
            accepted: r.accepted,
            rejected: r.rejected.into_iter().map(Into::into).collect(),
            received: r.received,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            cursor: r.cursor,
        }
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

/// Data a recovery could not bring back (mirrors `recovery::Unrecovered`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Unrecovered {
    /// The record it belonged to, when anything left in the file still names it.
    pub record_id: Option<String>,
    pub reason: String,
}

impl From<sync_core::recovery::Unrecovered> for Unrecovered {
    fn from(u: sync_core::recovery::Unrecovered) -> Self {
        Self {
            record_id: u.record_id,
            reason: u.reason,
        }
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
            records_incomplete: r.records_incomplete.into_iter().map(Into::into).collect(),
            records_lost: r.records_lost.into_iter().map(Into::into).collect(),
            pending_recovered: r.pending_recovered,
            pending_lost: r.pending_lost,
            device_id_recovered: r.device_id_recovered,
            profile_recovered: r.profile_recovered,
            credentials_recovered: r.credentials_recovered,
        }
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
