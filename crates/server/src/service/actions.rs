//! Corrective actions: raised automatically for a failure a stored record reports (a failed
//! critical pre-start item, an inspection finding), raised by hand from the browser, resolved by
//! the assignee and verified by someone else; the log, filtered, and its CSV.
//!
//! An action raised for a failure has the id [`raised_action_id`] of the record and the item, and
//! is created only when no record has that id yet, under that id's record lock: two phones
//! syncing the same failed pre-start, or a retry, raise it once. The server creates it as the
//! system writer ([`SYSTEM_USER`], an automerge actor registered to it in each company), stamped
//! with the server's clock; phones receive it on their next sync like any record.

use std::collections::{BTreeMap, BTreeSet};
use sync_core::RecordDocument;
use sync_core::clock::SERVER_BOOT;
use sync_core::kinds::KindSpec;
use sync_core::kinds::corrective_action::{ActionStatus, CorrectiveAction, codes};
use sync_core::lifecycle;
use sync_core::model::{ApprovalDecision, Body, Header, Record, SCHEMA_VERSION};
use sync_core::parts::{Assignment, RecordLink};
use sync_core::program::{ActionSeed, raised_action_id};
use sync_core::protocol::Role;
use sync_core::stamp::Stamp;
use sync_core::{Kind, ListFilter, Projection};

use super::records::{RecordDetail, detail_of};
use super::writes::{SYSTEM_USER, refused, registered_actor, system_device, write_as};
use super::{Principal, ServiceError, ServiceResult, blocking, export};
use crate::AppState;
use crate::judge::stored_record;
use crate::store::{AuditNote, RecordStore, Scope, StoreResult, User};
use crate::sync::store_merged;

const DAY_MS: i64 = 86_400_000;

/// How long the assignee has to fix a failed pre-start: the unit is out of service meanwhile.
pub const PRE_START_DUE_MS: i64 = 2 * DAY_MS;
/// How long the assignee has to fix an inspection finding (or any other failure).
pub const FINDING_DUE_MS: i64 = 7 * DAY_MS;

/// Most actions one log shows or exports.
pub const MAX_ACTIONS: u32 = 5_000;

/// Raises a corrective action for each failure `record` reports that has none yet. Called after
/// the record's own commit, without its record lock held (raising takes the new action's lock);
/// the register changes the record makes commit with it instead (`equipment::register_writes`).
pub fn after_stored(state: &AppState, tenant_id: &str, record: &Record) -> ServiceResult<()> {
    for seed in record.body.spec().raised_actions() {
        raise_for_failure(state, tenant_id, record, &seed)?;
    }
    Ok(())
}

/// Whether storing `record` raises anything, so the sync path keeps only those records for
/// [`after_stored`].
pub fn acts_on(record: &Record) -> bool {
    !record.body.spec().raised_actions().is_empty()
}

/// Creates the action for one failure unless it exists. Returns whether it was created.
fn raise_for_failure(
    state: &AppState,
    tenant_id: &str,
    source: &Record,
    seed: &ActionSeed,
) -> ServiceResult<bool> {
    let store = state.store.as_ref();
    let id = raised_action_id(&source.header.id, &seed.item_id);
    let _held = state.doc_locks.hold(store, tenant_id, &id)?;
    if store.document(tenant_id, &id)?.is_some() {
        return Ok(false);
    }
    let now = (state.clock)();
    // A person and a date the record itself set (a meeting's or an investigation's action) stand;
    // otherwise the action goes to the site's default owner, due after the kind's usual time.
    let assignee = match seed.assignee.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(named) => named.to_owned(),
        None => default_assignee(store, tenant_id, source)?,
    };
    let due_in = if source.kind() == Kind::PreStart {
        PRE_START_DUE_MS
    } else {
        FINDING_DUE_MS
    };
    // The hazard was identified when the failure was recorded, not when a phone reached signal:
    // the fix is due counting from then. A device clock ahead of the server's counts as now.
    let identified = source
        .body
        .spec()
        .fields()
        .completed
        .map_or(now, |stamp| stamp.wall_ms.min(now));
    let mut action = CorrectiveAction::new(
        seed.hazard.clone(),
        seed.action.clone(),
        Assignment {
            assignee,
            due_ms: Some(seed.due_ms.filter(|due| *due > 0).unwrap_or(identified + due_in)),
        },
        identified,
    );
    action.source = Some(RecordLink {
        kind: source.header.kind.clone(),
        record_id: source.header.id.clone(),
        item_id: Some(seed.item_id.clone()),
    });
    action.unit_id = seed.unit_id.clone();
    let stamp = Stamp::new(now, 0, SERVER_BOOT);
    let mut record = Record {
        header: Header {
            id: id.clone(),
            kind: CorrectiveAction::NAME.to_owned(),
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant_id.to_owned(),
            site_id: source.header.site_id.clone(),
            job_id: source.header.job_id.clone(),
            created_by: SYSTEM_USER.to_owned(),
            created: stamp.clone(),
        },
        body: Body::CorrectiveAction(action),
    };
    lifecycle::complete(&mut record, stamp).map_err(|e| {
        ServiceError::internal(format!(
            "the action raised for {} is not complete: {e}",
            source.header.id
        ))
    })?;
    let device = system_device(tenant_id);
    let actor = registered_actor(store, tenant_id, SYSTEM_USER, &device)?;
    let mut doc = RecordDocument::create(actor, SYSTEM_USER, &record, now).map_err(ServiceError::internal)?;
    let audit = AuditNote {
        user_id: SYSTEM_USER.to_owned(),
        action: "corrective_action.raised".into(),
        detail: format!(
            "action {id} for the failure of item {} in {} {}",
            seed.item_id,
            source.kind().label(),
            source.header.id
        ),
    };
    store_merged(
        store,
        tenant_id,
        &id,
        &device,
        &mut doc,
        &[],
        0,
        true,
        Some(&audit),
        now,
    )
    .map_err(refused)?;
    Ok(true)
}

/// Who a raised action goes to: a supervisor of the record's site (the first by name), else an
/// admin (the first by name), else the person who made the record, so it always has an owner.
fn default_assignee(store: &dyn RecordStore, tenant_id: &str, source: &Record) -> StoreResult<String> {
    let mut people: Vec<User> = store
        .users(tenant_id)?
        .into_iter()
        .filter(|u| !u.disabled)
        .collect();
    people.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    let site = &source.header.site_id;
    let supervisor = people
        .iter()
        .find(|u| u.role == Role::Supervisor && u.sites.contains(site));
    let admin = people.iter().find(|u| u.role == Role::Admin);
    Ok(supervisor
        .or(admin)
        .map_or_else(|| source.header.created_by.clone(), |u| u.id.clone()))
}

/// Which actions a log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Showing {
    /// Every action.
    #[default]
    All,
    /// Raised and not yet resolved.
    Open,
    /// Resolved, waiting for someone to verify the fix.
    AwaitingVerification,
    /// Past due and not closed (flagged `corrective_action.overdue`).
    Overdue,
    /// Verified fixed.
    Closed,
}

impl Showing {
    pub const ALL: [Showing; 5] = [
        Showing::All,
        Showing::Open,
        Showing::AwaitingVerification,
        Showing::Overdue,
        Showing::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Showing::All => "",
            Showing::Open => "open",
            Showing::AwaitingVerification => "resolved",
            Showing::Overdue => "overdue",
            Showing::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Showing::All => "All",
            Showing::Open => "Open",
            Showing::AwaitingVerification => "Awaiting verification",
            Showing::Overdue => "Overdue",
            Showing::Closed => "Closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }
}

/// The log's filters; `None` is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub showing: Showing,
    pub assignee: Option<String>,
    /// The kind of record that raised it (`pre_start`), or [`RAISED_BY_HAND`].
    pub source_kind: Option<String>,
    pub site_id: Option<String>,
}

/// The source filter's value for actions raised on their own, with no source record.
pub const RAISED_BY_HAND: &str = "none";

/// One action of the log: its list row and the action itself.
#[derive(Debug, Clone)]
pub struct ActionEntry {
    pub row: Projection,
    pub header: Header,
    pub action: CorrectiveAction,
    pub overdue: bool,
}

impl ActionEntry {
    /// The kind of record that raised it, or `None` for one raised on its own.
    pub fn source_kind(&self) -> Option<&str> {
        self.action.source.as_ref().map(|s| s.kind.as_str())
    }
}

/// The corrective actions in the person's scope matching `filter`, newest first.
pub async fn list(
    state: &AppState,
    who: &Principal,
    filter: ActionFilter,
) -> ServiceResult<Vec<ActionEntry>> {
    let store = state.store.clone();
    let scope = who.scope();
    blocking(move || entries(store.as_ref(), &scope, &filter)).await
}

fn entries(store: &dyn RecordStore, scope: &Scope, filter: &ActionFilter) -> ServiceResult<Vec<ActionEntry>> {
    let list_filter = ListFilter {
        kind: Some(CorrectiveAction::NAME.to_owned()),
        site_id: filter.site_id.clone(),
        assignee: filter.assignee.clone(),
        status: match filter.showing {
            Showing::Open => Some(ActionStatus::Open.as_str().to_owned()),
            Showing::AwaitingVerification => Some(ActionStatus::Resolved.as_str().to_owned()),
            Showing::Closed => Some(ActionStatus::Closed.as_str().to_owned()),
            Showing::All | Showing::Overdue => None,
        },
        flag: (filter.showing == Showing::Overdue).then(|| codes::OVERDUE.to_owned()),
        limit: Some(MAX_ACTIONS),
        ..ListFilter::default()
    };
    let mut found = Vec::new();
    for row in store.list_records(scope, &list_filter)? {
        let Some(record) = stored_record(store, &scope.tenant_id, &row.id)? else {
            continue;
        };
        let Body::CorrectiveAction(action) = record.body else {
            continue;
        };
        let entry = ActionEntry {
            overdue: row.flags.iter().any(|f| f == codes::OVERDUE),
            row,
            header: record.header,
            action,
        };
        let source_matches = match filter.source_kind.as_deref() {
            None => true,
            Some(RAISED_BY_HAND) => entry.source_kind().is_none(),
            Some(kind) => entry.source_kind() == Some(kind),
        };
        if source_matches {
            found.push(entry);
        }
    }
    Ok(found)
}

/// The CSV export's columns, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "id",
    "site",
    "status",
    "overdue",
    "hazard",
    "action",
    "unit",
    "source_kind",
    "source_record",
    "assignee",
    "raised_by",
    "identified_at",
    "due_at",
    "resolved_by",
    "closed_at",
];

/// The log matching `filter` as CSV, with the same rules as the records export (BOM, site-zone
/// times, formulas defused).
pub async fn csv(state: &AppState, who: &Principal, filter: ActionFilter) -> ServiceResult<Vec<u8>> {
    let store = state.store.clone();
    let scope = who.scope();
    blocking(move || {
        let found = entries(store.as_ref(), &scope, &filter)?;
        let sites: BTreeMap<String, crate::store::Site> = store
            .sites(&scope.tenant_id)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let names = names_of(store.as_ref(), &scope.tenant_id)?;
        let person = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
        let rows = found.iter().map(|e| {
            let site = sites.get(&e.header.site_id);
            let zone = super::time::zone_of(site);
            let time = |ms: Option<i64>| ms.map(|ms| super::time::iso(ms, zone)).unwrap_or_default();
            vec![
                e.header.id.clone(),
                site.map_or_else(|| e.header.site_id.clone(), |s| s.name.clone()),
                e.action.status.as_str().to_owned(),
                if e.overdue { "yes" } else { "no" }.to_owned(),
                e.action.hazard.clone(),
                e.action.action.clone(),
                e.action.unit_id.clone().unwrap_or_default(),
                e.source_kind().unwrap_or_default().to_owned(),
                e.action
                    .source
                    .as_ref()
                    .map(|s| s.record_id.clone())
                    .unwrap_or_default(),
                person(&e.action.assignment.assignee),
                person(&e.header.created_by),
                time(Some(e.action.identified_ms)),
                time(e.action.assignment.due_ms),
                e.action
                    .resolved
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                time(e.row.closed_at_ms),
            ]
        });
        export::table_csv(&CSV_COLUMNS, rows)
    })
    .await
}

/// People's names by id, the system writer's included.
fn names_of(store: &dyn RecordStore, tenant_id: &str) -> StoreResult<BTreeMap<String, String>> {
    let mut names: BTreeMap<String, String> = store
        .users(tenant_id)?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    names.insert(SYSTEM_USER.to_owned(), RAISED_AUTOMATICALLY.to_owned());
    Ok(names)
}

/// How pages and exports name the system writer.
pub const RAISED_AUTOMATICALLY: &str = "Raised automatically";

/// An action raised by hand, as a supervisor or admin types it.
#[derive(Debug, Clone, Default)]
pub struct NewAction {
    pub site_id: String,
    pub hazard: String,
    pub action: String,
    pub assignee: String,
    pub due_ms: Option<i64>,
    /// The record the hazard was found in, if any; it must be one the person may read.
    pub source_record: Option<String>,
    /// A unit to hold out of service until the action is closed.
    pub unit_id: Option<String>,
}

/// Raises an action as `who` (a supervisor or admin), written through the same checks as one
/// raised on a phone.
pub async fn raise(state: &AppState, who: &Principal, new: NewAction) -> ServiceResult<RecordDetail> {
    require_verifier(who, "raises a corrective action from the office")?;
    let (state2, who2) = (state.clone(), who.clone());
    blocking(move || raise_blocking(&state2, &who2, new)).await
}

fn raise_blocking(state: &AppState, who: &Principal, new: NewAction) -> ServiceResult<RecordDetail> {
    let store: &dyn RecordStore = state.store.as_ref();
    let invalid = |m: String| ServiceError::invalid("invalid_action", m);
    let site_id = new.site_id.trim();
    if store.site(&who.tenant_id, site_id)?.is_none()
        || !(who.is_admin() || who.sites.iter().any(|s| s == site_id))
    {
        return Err(invalid(format!("there is no site {site_id} among your sites")));
    }
    if new.hazard.trim().is_empty() {
        return Err(invalid("describe the hazard or deficiency found".into()));
    }
    if new.action.trim().is_empty() {
        return Err(invalid("say what will be done about it".into()));
    }
    let assignee = new.assignee.trim();
    let assignee_user = store
        .user(&who.tenant_id, assignee)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid(format!("there is no one with id {assignee:?} to assign it to")))?;
    let now = (state.clock)();
    let Some(due_ms) = new.due_ms else {
        return Err(invalid("set a date it must be done by".into()));
    };
    let source = match new
        .source_record
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(source_id) => {
            let not_found = || {
                invalid(format!(
                    "there is no record {source_id} you may read to link it to"
                ))
            };
            if !store.in_scope(&who.scope(), source_id)? {
                return Err(not_found());
            }
            let source = stored_record(store, &who.tenant_id, source_id)?.ok_or_else(not_found)?;
            Some(RecordLink {
                kind: source.header.kind,
                record_id: source.header.id,
                item_id: None,
            })
        }
    };
    let mut action = CorrectiveAction::new(
        new.hazard.trim(),
        new.action.trim(),
        Assignment {
            assignee: assignee_user.id.clone(),
            due_ms: Some(due_ms),
        },
        now,
    );
    action.source = source;
    action.unit_id = new.unit_id.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let record = super::writes::create_as(
        state,
        who,
        site_id,
        Body::CorrectiveAction(action),
        "invalid_action",
        ("corrective_action.raised", "from the browser".into()),
    )?;
    let id = record.header.id;
    detail_of(store, &who.tenant_id, &id, now)?
        .ok_or_else(|| ServiceError::internal("the action just raised is gone"))
}

fn require_verifier(who: &Principal, what: &str) -> ServiceResult<()> {
    if who.may_decide() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "only a supervisor or the office admin {what}"
        )))
    }
}

fn as_action(record: &mut Record) -> ServiceResult<&mut CorrectiveAction> {
    let label = record.kind().label();
    match &mut record.body {
        Body::CorrectiveAction(action) => Ok(action),
        _ => Err(ServiceError::Conflict(format!(
            "a {label} is not resolved or verified; only a corrective action is"
        ))),
    }
}

/// Resolves an open action as `who`: what was done, and their signature. The assignee resolves
/// it; a supervisor or admin may too (then someone else verifies the fix).
pub async fn resolve(
    state: &AppState,
    who: &Principal,
    id: &str,
    note: String,
) -> ServiceResult<RecordDetail> {
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        write_as(
            &state,
            &who,
            &id,
            "corrective_action.resolved",
            |record, me, stamp| {
                let action = as_action(record)?;
                if action.assignment.assignee != who.user_id && !who.may_decide() {
                    return Err(ServiceError::Forbidden(
                        "only the person the action is assigned to, or a supervisor, resolves it".into(),
                    ));
                }
                if note.trim().is_empty() {
                    return Err(ServiceError::invalid(
                        "invalid_action",
                        "say what was done to fix it before resolving",
                    ));
                }
                action.resolution_note = Some(note.trim().to_owned());
                lifecycle::sign(record, me, stamp).map_err(|e| ServiceError::Conflict(e.to_string()))
            },
        )
    })
    .await
}

/// Verifies a resolved action as `who` (a supervisor or admin who did not resolve it): the fix
/// worked (closed, its unit back in service) or it did not (open again, with why).
pub async fn verify(
    state: &AppState,
    who: &Principal,
    id: &str,
    fixed: bool,
    comment: Option<String>,
) -> ServiceResult<RecordDetail> {
    require_verifier(who, "verifies a fix")?;
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if !fixed && comment.is_none() {
        return Err(ServiceError::invalid(
            "invalid_action",
            "say what is still wrong when the fix did not work",
        ));
    }
    let decision = if fixed {
        ApprovalDecision::Approved
    } else {
        ApprovalDecision::Rejected
    };
    let audit = if fixed {
        "corrective_action.verified"
    } else {
        "corrective_action.not_verified"
    };
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        write_as(&state, &who, &id, audit, |record, me, stamp| {
            as_action(record)?;
            lifecycle::decide(record, me, decision, comment, stamp)
                .map_err(|e| ServiceError::Conflict(e.to_string()))
        })
    })
    .await
}

/// One action whole, for its page.
pub async fn detail(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> ServiceResult<(RecordDetail, CorrectiveAction)> {
    let detail = super::records::detail(state, who, id).await?;
    match &detail.record.body {
        Body::CorrectiveAction(action) => {
            let action = action.clone();
            Ok((detail, action))
        }
        _ => Err(ServiceError::NotFound(format!("{id} is not a corrective action"))),
    }
}

/// The kinds a source filter offers: those whose failures raise actions, and "raised by hand".
pub fn source_kinds() -> Vec<(String, String)> {
    let mut kinds: BTreeSet<(String, String)> = [Kind::PreStart, Kind::Inspection, Kind::NearMiss]
        .into_iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    kinds.insert((RAISED_BY_HAND.to_owned(), "Raised on its own".to_owned()));
    kinds.into_iter().collect()
}
