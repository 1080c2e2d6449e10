//! Reading records: lists from the projection, and one record's detail (its merged content,
//! timeline with corrected times and places, flags with evidence, findings and conflicts).

use serde::Serialize;
use sync_core::place::{self, Place};
use sync_core::{Flag, ListFilter, Projection};

use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::StoreError;

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 1000;

/// Records in the person's scope matching `filter` (its page size capped at [`MAX_PAGE`]).
pub async fn list(
    state: &AppState,
    who: &Principal,
    mut filter: ListFilter,
) -> ServiceResult<Vec<Projection>> {
    filter.limit = Some(filter.limit.unwrap_or(100).clamp(1, MAX_PAGE));
    let store = state.store.clone();
    let scope = who.scope();
    blocking(move || Ok(store.list_records(&scope, &filter)?)).await
}

/// The person's newest flagged records, at most [`MAX_PAGE`].
pub async fn flagged(state: &AppState, who: &Principal) -> ServiceResult<Vec<Projection>> {
    let filter = ListFilter {
        flagged: Some(true),
        limit: Some(MAX_PAGE),
        ..ListFilter::default()
    };
    list(state, who, filter).await
}

/// One record the person may read, or `NotFound` (another company's record and a missing one
/// look the same from outside).
pub async fn detail(state: &AppState, who: &Principal, id: &str) -> ServiceResult<RecordDetail> {
    let store = state.store.clone();
    let scope = who.scope();
    let id = id.to_owned();
    let now_ms = (state.clock)();
    blocking(move || {
        if !store.in_scope(&scope, &id)? {
            return Ok(None);
        }
        Ok(detail_of(store.as_ref(), &scope.tenant_id, &id, now_ms)?)
    })
    .await?
    .ok_or_else(|| ServiceError::NotFound("no such record".into()))
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
    /// Where the stamp's fix puts the event against the site's boundary; none when the site has
    /// no boundary.
    #[schema(value_type = Option<Object>)]
    pub place: Option<Place>,
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
            place: context
                .site
                .as_ref()
                .map(|site| place::judge(event.stamp.fix.as_ref(), site)),
            stamp: event.stamp.clone(),
        })
        .collect();
    events.sort_by_key(|e| e.time.ms);
    events
}

/// A record's detail as stored: the merged record, its timeline, and its flags, judged with the
/// same knowledge as the timeline (a record still waiting to be judged again is judged first).
pub fn detail_of(
    store: &dyn crate::store::RecordStore,
    tenant_id: &str,
    id: &str,
    now_ms: i64,
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
            now_ms,
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
    let (context, _) = crate::judge::context(store, &doc.tenant_id, &loaded, &view.record, &[], now_ms)?;
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

/// Every record of `kind` in `scope` (optionally at one site), newest first, with its list row
/// and its content as stored: what the program pages read.
pub(crate) fn records_of_kind(
    store: &dyn crate::store::RecordStore,
    scope: &crate::store::Scope,
    kind: sync_core::Kind,
    site_id: Option<&str>,
) -> ServiceResult<Vec<(Projection, sync_core::model::Record)>> {
    const PAGE: u32 = 1000;
    let mut found = Vec::new();
    // Page through: a list asked for without a limit is cut at the store's default page.
    for page in 0.. {
        let filter = ListFilter {
            kind: Some(kind.as_str().to_owned()),
            site_id: site_id.map(str::to_owned),
            limit: Some(PAGE),
            offset: Some(page * PAGE),
            ..ListFilter::default()
        };
        let rows = store.list_records(scope, &filter)?;
        let last_page = rows.len() < PAGE as usize;
        for row in rows {
            if let Some(record) = crate::judge::stored_record(store, &scope.tenant_id, &row.id)? {
                found.push((row, record));
            }
        }
        if last_page {
            break;
        }
    }
    Ok(found)
}
