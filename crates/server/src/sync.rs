//! `POST /v1/sync`: accept each record's changes after checking who may write what, then answer
//! with what the device lacks from the company's change feed, within its scope.

use automerge::{ActorId, ChangeHash};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use sync_core::RecordDocument;
use sync_core::clock::ClockAnchor;
use sync_core::model::{ANONYMOUS, Body, Record};
use sync_core::protocol::{
    self, DocPush, DocSyncMessage, DocUpdate, PROTOCOL_VERSION, PushOutcome, PushResult, RejectCode, Role,
    SYNC_CONTENT_TYPE, SyncRequest, SyncResponse,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::judge;
use crate::store::sqlite::now_ms;
use crate::store::{AcceptedChange, ActorOwner, AuditNote, RecordStore, Scope, StoreError, SyncWrite};

/// Compact a server document into a new snapshot after this many chunks.
const COMPACT_AFTER_CHUNKS: usize = 32;

/// A sync slower than this is logged with where its time went (the load target's p99).
const SLOW_SYNC: Duration = Duration::from_millis(250);

/// Where one sync's time went, so that a slow one can be traced to the phase that waited.
#[derive(Default)]
struct Phases {
    /// Waiting for one of the bounded sync slots.
    slot: Duration,
    /// Waiting for a blocking thread to start the exchange.
    queued: Duration,
    /// Waiting for other requests to release records this one pushes.
    record_locks: Duration,
    /// Loading, merging and checking the pushed records.
    checks: Duration,
    /// The one commit of the request (including the wait for the writer connection).
    commit: Duration,
    /// Reconciling diverged records and reading the feed for what the device lacks.
    answer: Duration,
}

impl Phases {
    /// Time since `mark`, moving the mark on to now.
    fn lap(mark: &mut Instant) -> Duration {
        let now = Instant::now();
        let lap = now - *mark;
        *mark = now;
        lap
    }
}

/// Sync exchange.
#[utoipa::path(
    post, path = "/v1/sync", tag = "sync",
    request_body(content = Vec<u8>, content_type = "application/vnd.muster.sync+postcard",
        description = "A postcard-encoded SyncRequest (see docs/protocol.md)"),
    responses(
        (status = 200, description = "A postcard-encoded SyncResponse", content_type = "application/vnd.muster.sync+postcard"),
        (status = 400, description = "Malformed body or unsupported protocol version", body = sync_core::protocol::ErrorBody),
        (status = 401, description = "Missing, invalid or expired token, or revoked device", body = sync_core::protocol::ErrorBody),
        (status = 413, description = "Body larger than the advertised limit", body = sync_core::protocol::ErrorBody),
        (status = 415, description = "Wrong content type", body = sync_core::protocol::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body = body?;
    let received_ms = (state.clock)();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != SYNC_CONTENT_TYPE {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the sync body as {SYNC_CONTENT_TYPE}, not {content_type:?}"),
        ));
    }
    let version =
        protocol::peek_version(&body).map_err(|m| ApiError::bad_request("malformed_sync_message", m))?;
    if !state.limits.protocol_versions.contains(&version) {
        return Err(ApiError::bad_request(
            "unsupported_protocol_version",
            format!(
                "protocol version {version} is not supported; this server speaks {:?}",
                state.limits.protocol_versions
            ),
        ));
    }
    let request: SyncRequest =
        protocol::decode(&body).map_err(|m| ApiError::bad_request("malformed_sync_message", m))?;
    if request.pushes.len() > state.limits.max_pushes as usize {
        return Err(ApiError::bad_request(
            "too_many_pushes",
            format!(
                "{} records in one request; the limit is {}",
                request.pushes.len(),
                state.limits.max_pushes
            ),
        ));
    }
    let started = Instant::now();
    let _slot = state
        .sync_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the server is shutting down"))?;
    let mut phases = Phases {
        slot: started.elapsed(),
        ..Phases::default()
    };
    let state2 = state.clone();
    let device = caller.claims.device.clone();
    let pushes = request.pushes.len();
    let spawned = Instant::now();
    let (response, phases) = tokio::task::spawn_blocking(move || {
        phases.queued = spawned.elapsed();
        let response = exchange(&state2, &caller, request, received_ms, &mut phases);
        (response, phases)
    })
    .await?;
    let total = started.elapsed();
    if total > SLOW_SYNC {
        let ms = |d: Duration| d.as_millis() as u64;
        tracing::warn!(
            %device,
            pushes,
            total_ms = ms(total),
            slot_ms = ms(phases.slot),
            queued_ms = ms(phases.queued),
            record_locks_ms = ms(phases.record_locks),
            checks_ms = ms(phases.checks),
            commit_ms = ms(phases.commit),
            answer_ms = ms(phases.answer),
            "slow sync"
        );
    }
    let response = response?;
    Ok((
        [(header::CONTENT_TYPE, SYNC_CONTENT_TYPE)],
        protocol::encode(&response),
    )
        .into_response())
}

fn exchange(
    state: &AppState,
    caller: &Caller,
    request: SyncRequest,
    received_ms: i64,
    phases: &mut Phases,
) -> ApiResult<SyncResponse> {
    let store = state.store.as_ref();
    let mut mark = Instant::now();
    // The device read its clocks just before sending: the true time of the sample lies within
    // one trip before our receipt. Half the previous round trip is our best estimate of that trip.
    let rtt = i64::from(request.clock.last_round_trip_ms);
    let (server_ms, uncertainty_ms) = if rtt > 0 {
        (received_ms - rtt / 2, rtt / 2 + 50)
    } else {
        (received_ms, 2_000)
    };
    let anchor = ClockAnchor {
        device_id: caller.claims.device.clone(),
        boot_id: request.clock.boot_id.clone(),
        monotonic_ms: request.clock.monotonic_ms,
        device_wall_ms: request.clock.wall_ms,
        server_ms,
        uncertainty_ms,
    };
    let clock_note = serde_json::json!({
        "wall_ms": request.clock.wall_ms,
        "monotonic_ms": request.clock.monotonic_ms,
        "boot_id": request.clock.boot_id,
        "server_ms": now_ms(),
    })
    .to_string();
    let mut results = Vec::with_capacity(request.pushes.len());
    let acted_on = {
        // Every record of the request is held from its check to the request's one commit, so
        // each push is checked against the document as it will be stored over. A flush to disk
        // per request rather than per record is what lets one server take thousands of
        // records a second (docs/BENCHMARKS.md).
        let _held = state.doc_locks.hold_all(
            store,
            &caller.claims.tenant,
            request.pushes.iter().map(|p| p.doc_id.clone()),
        )?;
        phases.record_locks = Phases::lap(&mut mark);
        let fresh_anchors = std::slice::from_ref(&anchor);
        let mut accepted = Vec::new();
        let mut acted_on = Vec::new();
        let mut seen = HashSet::new();
        for push in request.pushes {
            let doc_id = push.doc_id.clone();
            let outcome = if !seen.insert(doc_id.clone()) {
                PushOutcome::Rejected {
                    code: RejectCode::Malformed,
                    reason: "the record was sent twice in one request".into(),
                }
            } else {
                match accept_push(store, caller, push, fresh_anchors, received_ms) {
                    Ok((outcome, change)) => {
                        if let Some(Accepted { change, program }) = change {
                            accepted.extend(change);
                            acted_on.extend(program);
                        }
                        outcome
                    }
                    Err(Refusal::Reject(code, reason)) => PushOutcome::Rejected { code, reason },
                    Err(Refusal::Store(e)) => return Err(e.into()),
                }
            };
            if let PushOutcome::Rejected { code, reason } = &outcome {
                tracing::info!(doc = %doc_id, device = %caller.claims.device, ?code, %reason, "push refused");
            }
            results.push(PushResult { doc_id, outcome });
        }
        phases.checks = Phases::lap(&mut mark);
        let queued = store.commit_sync(&SyncWrite {
            tenant_id: &caller.claims.tenant,
            device_id: &caller.claims.device,
            anchor: &anchor,
            synced_at_ms: now_ms(),
            clock_note: &clock_note,
            changes: &accepted,
        })?;
        if queued > 0 {
            state.rejudge.wake();
        }
        phases.commit = Phases::lap(&mut mark);
        acted_on
    };
    // After the commit and with the request's records released: what the stored records set
    // going elsewhere (a failure's corrective action, the equipment register).
    for record in &acted_on {
        program_effects(state, &caller.claims.tenant, record);
    }
    let mut doc_sync = Vec::new();
    for message in request.doc_sync {
        let doc_id = message.doc_id.clone();
        let mut stored_program = Vec::new();
        let held = state.doc_locks.hold(store, &caller.claims.tenant, &doc_id)?;
        let reconciled = reconcile(store, caller, message, received_ms, &mut stored_program);
        drop(held);
        for record in &stored_program {
            program_effects(state, &caller.claims.tenant, record);
        }
        match reconciled {
            Ok((outcome, reply)) => {
                if let Some(outcome) = outcome {
                    results.push(PushResult {
                        doc_id: doc_id.clone(),
                        outcome,
                    });
                }
                if let Some(message) = reply {
                    doc_sync.push(DocSyncMessage { doc_id, message });
                }
            }
            Err(Refusal::Reject(code, reason)) => results.push(PushResult {
                doc_id,
                outcome: PushOutcome::Rejected { code, reason },
            }),
            Err(Refusal::Store(e)) => return Err(e.into()),
        }
    }
    let cursor_known = request.cursor == 0
        || store.feed_check(&caller.claims.tenant, request.cursor)? == Some(request.cursor_check);
    if !cursor_known {
        // This device has seen feed entries we no longer have: we were restored from a backup.
        tracing::warn!(device = %caller.claims.device, cursor = request.cursor, "device is ahead of the feed; asking it to resend");
        return Ok(SyncResponse {
            version: PROTOCOL_VERSION,
            server_time_ms: now_ms(),
            results,
            updates: Vec::new(),
            cursor: 0,
            cursor_check: 0,
            more: true,
            doc_sync,
            reset: true,
        });
    }
    let (updates, cursor, more) = updates_for(store, caller, request.cursor, state.limits.max_update_bytes)?;
    phases.answer = Phases::lap(&mut mark);
    Ok(SyncResponse {
        version: PROTOCOL_VERSION,
        server_time_ms: now_ms(),
        results,
        updates,
        cursor,
        cursor_check: if cursor == 0 {
            0
        } else {
            store.feed_check(&caller.claims.tenant, cursor)?.unwrap_or(0)
        },
        more,
        doc_sync,
        reset: false,
    })
}

/// One round of automerge's sync protocol for a record whose history diverged. The server keeps
/// no sync state between requests: each message carries the peer's heads and a bloom filter of
/// what it has, which is enough to answer. Changes received go through the same checks and the
/// same storage path as a push.
fn reconcile(
    store: &dyn RecordStore,
    caller: &Caller,
    message: DocSyncMessage,
    now_ms: i64,
    stored_program: &mut Vec<Record>,
) -> Result<(Option<PushOutcome>, Option<Vec<u8>>), Refusal> {
    if !valid_doc_id(&message.doc_id) {
        return reject(
            RejectCode::Malformed,
            format!("record id {:?} is not a valid id", message.doc_id),
        );
    }
    // Record ids are the company's own: another company's record with this id is not seen here.
    let stored = store.document(&caller.claims.tenant, &message.doc_id)?;
    let mut doc = match &stored {
        Some(_) if !store.in_scope(&caller.scope(), &message.doc_id)? => {
            return reject(
                RejectCode::OutOfScope,
                "this record is outside what this person may see",
            );
        }
        Some(d) => {
            let doc = RecordDocument::load_chunks(
                &d.snapshot,
                d.chunks.iter().map(Vec::as_slice),
                ActorId::random(),
            )?;
            // An anonymous report goes back only to the phone that filed it, as in the feed.
            if doc.header()?.is_anonymous() && !filed_from(store, &doc, &caller.claims.device)? {
                return reject(
                    RejectCode::OutOfScope,
                    "this record is outside what this person may see",
                );
            }
            doc
        }
        None => RecordDocument::empty(ActorId::random()),
    };
    let mut sync_state = automerge::sync::State::new();
    let before = doc.heads();
    let mut theirs = doc.fork();
    theirs
        .receive_sync_message(&mut sync_state, &message.message)
        .map_err(|e| Refusal::Reject(RejectCode::Malformed, e.to_string()))?;
    let mut outcome = None;
    if theirs.heads() != before && theirs.has_record() {
        let changes = if before.is_empty() {
            theirs.save()
        } else {
            theirs.save_after(&before)
        };
        let push = DocPush {
            doc_id: message.doc_id.clone(),
            base_heads: before.iter().map(|h| h.0).collect(),
            changes,
        };
        let (result, change) = accept_push(store, caller, push, &[], now_ms)?;
        if let Some(Accepted { change, program }) = change {
            if let Some(change) = change {
                store.accept_all(&[change], None)?;
            }
            stored_program.extend(program);
        }
        if result == PushOutcome::Accepted {
            doc = theirs;
        }
        outcome = Some(result);
    }
    Ok((outcome, doc.generate_sync_message(&mut sync_state)))
}

/// Whether an anonymous report was filed from `device`: one of its writers is an anonymous
/// actor registered to that device.
fn filed_from(store: &dyn RecordStore, doc: &RecordDocument, device: &str) -> Result<bool, Refusal> {
    for actor in doc.authors()?.keys() {
        if store
            .actor(actor)?
            .is_some_and(|owner| owner.anonymous && owner.device_id == device)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) enum Refusal {
    Reject(RejectCode, String),
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

impl From<sync_core::Error> for Refusal {
    fn from(e: sync_core::Error) -> Self {
        Refusal::Reject(RejectCode::Malformed, e.to_string())
    }
}

fn reject<T>(code: RejectCode, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::Reject(code, reason.into()))
}

fn valid_doc_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the records a sync stored set going elsewhere in the program. The records are stored
/// and acknowledged whatever happens here, so a failure is logged rather than failing the sync.
fn program_effects(state: &AppState, tenant_id: &str, record: &Record) {
    if let Err(e) = crate::service::actions::after_stored(state, tenant_id, record) {
        tracing::error!(doc = %record.header.id, error = %e, "the corrective actions a stored record raises were not written");
    }
}

/// A push accepted: what to store, and the record when storing it sets something going elsewhere
/// ([`crate::service::actions::acts_on`]), replayed or not.
struct Accepted {
    /// `None` for a replay of changes already stored.
    change: Option<AcceptedChange>,
    program: Option<Record>,
}

/// Checks and stores one record's changes. Nothing is written unless every change passes.
/// `fresh_anchors` are clock anchors from this request, not stored yet.
fn accept_push(
    store: &dyn RecordStore,
    caller: &Caller,
    push: DocPush,
    fresh_anchors: &[ClockAnchor],
    now_ms: i64,
) -> Result<(PushOutcome, Option<Accepted>), Refusal> {
    if !valid_doc_id(&push.doc_id) {
        return reject(
            RejectCode::Malformed,
            format!("record id {:?} is not a valid id", push.doc_id),
        );
    }
    let server_actor = ActorId::random();
    // Record ids are the company's own: a push to an id another company uses is answered
    // exactly as for an id nobody has, and a record it creates is this company's alone.
    let stored = store.document(&caller.claims.tenant, &push.doc_id)?;
    let mut current = match &stored {
        Some(doc) => Some(RecordDocument::load_chunks(
            &doc.snapshot,
            doc.chunks.iter().map(Vec::as_slice),
            server_actor.clone(),
        )?),
        None => None,
    };
    let base_heads: Vec<ChangeHash> = push.base_heads.iter().map(|h| ChangeHash(*h)).collect();
    // The merged document as it would be, built in a scratch copy.
    let (mut merged, merged_record) = match current.as_mut() {
        Some(doc) => {
            if !doc.has_all(&base_heads) {
                return Ok((PushOutcome::NeedFull, None));
            }
            let mut fork = doc.fork();
            let (_, record) = fork.apply_bytes_and_read(&push.changes)?;
            (fork, record)
        }
        None => {
            if !base_heads.is_empty() {
                // The device believes the server has this record, but it does not (restored backup).
                return Ok((PushOutcome::NeedFull, None));
            }
            let mut fresh = RecordDocument::empty(server_actor.clone());
            match fresh.apply_bytes_and_read(&push.changes) {
                Ok((_, record)) => (fresh, record),
                // Changes building on history we do not hold: the device believes we hold this
                // record (we were restored from a backup). It sends the whole record instead.
                Err(_) if RecordDocument::needs_history(&push.changes) => {
                    return Ok((PushOutcome::NeedFull, None));
                }
                Err(e) => return reject(RejectCode::Malformed, e.to_string()),
            }
        }
    };
    if !merged.missing_deps(&[]).is_empty() {
        return Ok((PushOutcome::NeedFull, None));
    }
    let before_heads = match current.as_mut() {
        Some(doc) => doc.heads(),
        None => Vec::new(),
    };
    let new_changes = merged.changes_after(&before_heads);
    if new_changes.is_empty() {
        // A replay of changes already stored: nothing to store twice. What storing the record
        // set going is done again (it is idempotent): a server stopped between a commit and
        // raising its corrective actions raises them when the phone sends the push again.
        let program = merged_record
            .filter(crate::service::actions::acts_on)
            .map(|record| Accepted {
                change: None,
                program: Some(record),
            });
        return Ok((PushOutcome::Accepted, program));
    }

    // Who made each change, from the server's own registry: never from the document's word.
    let authors_in_doc = merged.authors()?;
    let mut owners: BTreeMap<String, ActorOwner> = BTreeMap::new();
    for (actor, _) in &new_changes {
        let actor = actor.to_hex_string();
        if owners.contains_key(&actor) {
            continue;
        }
        let claimed = authors_in_doc.get(&actor);
        let anonymous = claimed.is_some_and(|c| c == ANONYMOUS);
        let owner = match store.actor(&actor)? {
            Some(owner) => owner,
            // A phone's own actor, or one it made for a report it files anonymously: the link
            // to the person is kept here, privately, for the write checks below.
            None if claimed == Some(&caller.claims.sub) || anonymous => {
                let owner = ActorOwner {
                    tenant_id: caller.claims.tenant.clone(),
                    user_id: caller.claims.sub.clone(),
                    device_id: caller.claims.device.clone(),
                    anonymous,
                };
                store.register_actor(&actor, &owner)?;
                owner
            }
            None => {
                return reject(
                    RejectCode::UnknownAuthor,
                    format!(
                        "changes by {} were made on a phone that has not synced yet; they are kept and sent again",
                        claimed.map_or("an unknown person", String::as_str)
                    ),
                );
            }
        };
        if owner.tenant_id != caller.claims.tenant {
            return reject(
                RejectCode::WrongTenant,
                "changes were made by a person of another company",
            );
        }
        let expected = if owner.anonymous {
            ANONYMOUS
        } else {
            owner.user_id.as_str()
        };
        if claimed.map(String::as_str) != Some(expected) {
            // Never name the person behind an anonymous actor, not even to its own phone.
            let made_by = if owner.anonymous {
                "an anonymous reporter"
            } else {
                owner.user_id.as_str()
            };
            return reject(
                RejectCode::AuthorMismatch,
                format!(
                    "a change names {} as its author but was made by {made_by}",
                    claimed.map_or("nobody", String::as_str),
                ),
            );
        }
        owners.insert(actor, owner);
    }

    // Replay change by change, checking each against its author's rights. A single new change
    // needs no replay: the merged document is its result.
    let single_change = new_changes.len() == 1;
    let (mut replay, changes) = match current.as_mut() {
        _ if single_change => (RecordDocument::empty(server_actor), vec![None]),
        Some(doc) => (
            doc.fork(),
            merged
                .changes_since(&before_heads)
                .into_iter()
                .map(Some)
                .collect(),
        ),
        None => (
            RecordDocument::empty(server_actor),
            merged
                .changes_since(&before_heads)
                .into_iter()
                .map(Some)
                .collect(),
        ),
    };
    let mut previous: Option<Record> = current.as_ref().map(|d| d.record()).transpose()?;
    let mut users = BTreeMap::new();
    for change in changes {
        let actor = match &change {
            Some(change) => change.actor_id(),
            None => &new_changes[0].0,
        };
        let owner = &owners[&actor.to_hex_string()];
        if !users.contains_key(&owner.user_id) {
            let user = store.user(&owner.tenant_id, &owner.user_id)?.ok_or_else(|| {
                Refusal::Reject(RejectCode::UnknownAuthor, format!("no user {}", owner.user_id))
            })?;
            users.insert(owner.user_id.clone(), user);
        }
        let author = Author {
            user: &users[&owner.user_id],
            anonymous: owner.anonymous,
        };
        let next = match change {
            // The only change: its result is the merged record, already read.
            None => match &merged_record {
                Some(record) => record.clone(),
                None => continue,
            },
            Some(change) => {
                replay.apply_change(change)?;
                if !replay.has_record() {
                    continue;
                }
                replay
                    .record()
                    .map_err(|e| Refusal::Reject(RejectCode::Malformed, e.to_string()))?
            }
        };
        check_change(store, &caller.claims.tenant, &author, previous.as_ref(), &next)?;
        previous = Some(next);
    }

    let chunk_count = stored.as_ref().map_or(0, |d| d.chunks.len());
    // After the replay, the last record checked is the merged record: no need to read it again.
    let record = match previous {
        Some(record) => record,
        None => merged.record()?,
    };
    let program = crate::service::actions::acts_on(&record).then(|| record.clone());
    let change = prepare_merged(
        store,
        record,
        &caller.claims.tenant,
        &push.doc_id,
        &caller.claims.device,
        &mut merged,
        &before_heads,
        chunk_count,
        // A new record's pushed bytes loaded alone: they are its whole document.
        current.is_none().then_some(push.changes.as_slice()),
        fresh_anchors,
        now_ms,
    )?;
    Ok((
        PushOutcome::Accepted,
        Some(Accepted {
            change: Some(change),
            program,
        }),
    ))
}

/// Stores a merged record: the new chunk, the feed entry, the projection and the flags, with
/// the audit entry describing the change, in one transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per writer; a struct would only rename them"
)]
pub(crate) fn store_merged(
    store: &dyn RecordStore,
    tenant_id: &str,
    doc_id: &str,
    origin_device: &str,
    merged: &mut RecordDocument,
    before_heads: &[ChangeHash],
    chunk_count: usize,
    is_new: bool,
    audit: Option<&AuditNote>,
    now_ms: i64,
) -> Result<(), Refusal> {
    let record = merged.record()?;
    let document = is_new.then(|| merged.save());
    let change = prepare_merged(
        store,
        record,
        tenant_id,
        doc_id,
        origin_device,
        merged,
        before_heads,
        chunk_count,
        document.as_deref(),
        &[],
        now_ms,
    )?;
    store.accept_all(std::slice::from_ref(&change), audit)?;
    Ok(())
}

/// Everything to write for a merged record: the new chunk, the projection and the flags.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per writer; a struct would only rename them"
)]
fn prepare_merged(
    store: &dyn RecordStore,
    record: Record,
    tenant_id: &str,
    doc_id: &str,
    origin_device: &str,
    merged: &mut RecordDocument,
    before_heads: &[ChangeHash],
    chunk_count: usize,
    new_document: Option<&[u8]>,
    fresh_anchors: &[ClockAnchor],
    now_ms: i64,
) -> Result<AcceptedChange, Refusal> {
    let verdict =
        judge::judge(store, tenant_id, merged, &record, fresh_anchors, now_ms).map_err(|e| match e {
            judge::JudgeError::Store(e) => Refusal::Store(e),
            judge::JudgeError::Record(e) => e.into(),
        })?;
    // A new record's first feed entry is its snapshot: one encoding, and the smaller one. The
    // snapshot is the document as pushed (a phone sends a new record saved whole), not saved
    // again here: the same bytes, without another pass over every op.
    let (chunk, snapshot) = match new_document {
        Some(document) => (document.to_vec(), Some(document.to_vec())),
        None => (
            merged.save_after(before_heads),
            (chunk_count + 1 >= COMPACT_AFTER_CHUNKS).then(|| merged.save()),
        ),
    };
    Ok(AcceptedChange {
        tenant_id: tenant_id.to_owned(),
        doc_id: doc_id.to_owned(),
        origin_device: origin_device.to_owned(),
        chunk,
        snapshot,
        projection: verdict.projection,
        flags: verdict.flags,
        stamps: verdict.stamps,
        rejudge_at: verdict.rejudge_at,
        program_fact_from: record.body.spec().program_fact_from(),
        register: crate::service::equipment::register_writes(&record, now_ms),
    })
}

/// The writer of one change as the server knows it: the person, and whether they wrote through
/// an anonymous report's own actor.
pub(crate) struct Author<'a> {
    pub user: &'a crate::store::User,
    pub anonymous: bool,
}

fn may_write_site(author: &crate::store::User, site_id: &str) -> bool {
    author.role == Role::Admin || author.sites.iter().any(|s| s == site_id)
}

/// The per-field-group write rules, for one change by `author` turning `before` into `after`.
pub(crate) fn check_change(
    store: &dyn RecordStore,
    tenant_id: &str,
    author: &Author<'_>,
    before: Option<&Record>,
    after: &Record,
) -> Result<(), Refusal> {
    let (who, anonymous) = (&author.user.id, author.anonymous);
    let author = author.user;
    match before {
        None => {
            if after.header.tenant_id != tenant_id {
                return reject(RejectCode::WrongTenant, "the record names another company");
            }
            // A company's records name only its own sites, whoever writes them (an admin may
            // write at any site, but only at the company's).
            if store.site(tenant_id, &after.header.site_id)?.is_none() {
                return reject(
                    RejectCode::OutOfScope,
                    format!("there is no site {} in this company", after.header.site_id),
                );
            }
            let named_creator = if anonymous { ANONYMOUS } else { who.as_str() };
            if after.header.created_by != named_creator {
                return reject(
                    RejectCode::AuthorMismatch,
                    "a record can only be created in its creator's own name (or, for a near miss, anonymously)",
                );
            }
        }
        Some(before) => {
            if before.header != after.header {
                return reject(
                    RejectCode::HeaderChanged,
                    "a record's id, kind, company, site and creator cannot change",
                );
            }
        }
    }
    if after.header.is_anonymous() {
        let spec = after.body.spec();
        if !spec.may_be_anonymous() || spec.named_author().is_some() {
            return reject(
                RejectCode::AuthorMismatch,
                format!(
                    "a {} is not filed anonymously; only a report that asks no name may be, and it names no author",
                    after.kind().label()
                ),
            );
        }
    } else if anonymous {
        return reject(
            RejectCode::AuthorMismatch,
            "an anonymous report's writer can change only that report",
        );
    }
    if after.header.kind().is_none() {
        return reject(
            RejectCode::UnknownKind,
            format!("unknown record kind {:?}", after.header.kind),
        );
    }
    if !may_write_site(author, &after.header.site_id) {
        return reject(
            RejectCode::OutOfScope,
            format!(
                "{} may not write records at site {}",
                author.name, after.header.site_id
            ),
        );
    }
    // What only this kind decides: who may sign, approve, report in whose name.
    let writer = sync_core::kinds::Writer {
        user_id: who.clone(),
        name: author.name.clone(),
        role: author.role,
    };
    if let Err(refusal) = Body::check_write(before.map(|b| &b.body), &after.body, &writer) {
        return reject(refusal.code, refusal.message);
    }
    Ok(())
}

/// What the device lacks: records changed in its scope since `cursor`, excluding what it sent
/// itself, as change chunks (or a snapshot when that is smaller or the device starts cold).
fn updates_for(
    store: &dyn RecordStore,
    caller: &Caller,
    cursor: u64,
    max_bytes: u64,
) -> Result<(Vec<DocUpdate>, u64, bool), StoreError> {
    const PAGE: u32 = 2_000;
    let scope: Scope = caller.scope();
    let device = &caller.claims.device;
    let mut updates = Vec::new();
    let mut used = 0u64;
    let head = store.feed_head(&scope.tenant_id)?;
    let entries = store.feed(&scope, cursor, PAGE)?;
    let mut included = HashSet::new();
    let mut new_cursor = cursor;
    let mut more = false;
    for entry in &entries {
        if entry.seq > head {
            // Committed after we read the head: the next sync picks it up.
            more = true;
            break;
        }
        if included.contains(&entry.doc_id) || &entry.origin_device == device {
            new_cursor = entry.seq;
            continue;
        }
        if used >= max_bytes && !updates.is_empty() {
            more = true;
            break;
        }
        let (changes, snapshot) = if cursor == 0 {
            (snapshot_of(store, &scope.tenant_id, &entry.doc_id)?, true)
        } else {
            let bytes: Vec<u8> = store
                .chunks_after(&scope.tenant_id, &entry.doc_id, cursor)?
                .concat();
            // A record created after the cursor travels smaller as its compressed snapshot than as
            // its raw change chunks; the snapshot is free when nothing was added since it.
            match store.current_snapshot(&scope.tenant_id, &entry.doc_id)? {
                Some(snapshot) if snapshot.len() < bytes.len() => (snapshot, true),
                _ => (bytes, false),
            }
        };
        used += changes.len() as u64;
        included.insert(entry.doc_id.clone());
        updates.push(DocUpdate {
            doc_id: entry.doc_id.clone(),
            changes,
            snapshot,
        });
        new_cursor = entry.seq;
    }
    if !more {
        if entries.len() as u32 == PAGE {
            more = true;
        } else {
            // Everything in scope up to the head is covered; skip the rest of the company's feed.
            new_cursor = new_cursor.max(head);
        }
    }
    Ok((updates, new_cursor, more))
}

fn snapshot_of(store: &dyn RecordStore, tenant_id: &str, id: &str) -> Result<Vec<u8>, StoreError> {
    let doc = store
        .document(tenant_id, id)?
        .ok_or_else(|| StoreError::Backend(format!("record {id} is in the feed but not stored")))?;
    if doc.chunks.is_empty() {
        return Ok(doc.snapshot);
    }
    let mut loaded = RecordDocument::load_chunks(
        &doc.snapshot,
        doc.chunks.iter().map(Vec::as_slice),
        ActorId::random(),
    )
    .map_err(|e| StoreError::Backend(format!("stored record {id} does not load: {e}")))?;
    Ok(loaded.save())
}
