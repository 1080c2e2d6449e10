//! Judging a record: its flags computed with what the server knows beyond the record itself,
//! and judging it again when more becomes known.
//!
//! A stamp is judged against the clock anchors of the device that wrote it, as the actor
//! registry shows it (never the document's word). Facts that arrive after a record was stored
//! (anchors from a later sync of the same boot, a site boundary drawn afterwards) queue the
//! records they affect; a worker thread judges them again, and the record detail does so at once
//! for a record still queued, so detail, list filters and flags never disagree.

use automerge::ActorId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::Duration;
use sync_core::clock::{ClockAnchor, ClockContext};
use sync_core::kinds::KindSpec;
use sync_core::kinds::certificate::{Certificate, CertificateStatus};
use sync_core::kinds::competency::{Competency, CompetencyStatus};
use sync_core::kinds::orientation::{Orientation, OrientationStatus};
use sync_core::model::Body;
use sync_core::model::Record;
use sync_core::program::{
    CertificateHeld, CompetencyHeld, OrientationHeld, ProgramFacts, Qualifications, RegisteredUnit,
};
use sync_core::{Flag, Projection, RecordDocument, flags, validate};

use crate::Clock;
use crate::store::{Judgement, RecordStore, Rejudge, StampSource, StoreError, StoreResult};

/// What the server concludes about a record as it stands.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub flags: Vec<Flag>,
    pub projection: Projection,
    pub stamps: Vec<StampSource>,
    /// What the flags rested on: the detail's timeline is corrected with the same.
    pub context: flags::Context,
    /// When its time-dependent flags next change.
    pub rejudge_at: Option<i64>,
}

/// The flags' context for a record at `now_ms`: the device behind each stamp, those devices'
/// anchors for the boots the stamps name (stored, plus `fresh` ones from the request being
/// handled), the company's site boundary, and the program's facts about the people and unit it
/// names. Also where each stamp came from, for [`StampSource`] rows.
pub fn context(
    store: &dyn RecordStore,
    tenant_id: &str,
    doc: &RecordDocument,
    record: &Record,
    fresh: &[ClockAnchor],
    now_ms: i64,
) -> StoreResult<(flags::Context, Vec<StampSource>)> {
    let events = flags::lifecycle_events(record);
    let writers = doc
        .stamp_writers(events.iter().map(|e| e.path.as_str()))
        .map_err(|e| StoreError::Backend(format!("record {} unreadable: {e}", record.header.id)))?;
    let mut devices_of_actors: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut stamp_devices = BTreeMap::new();
    let mut stamps = Vec::new();
    for event in &events {
        let Some(actor) = writers.get(&event.path) else {
            continue;
        };
        if !devices_of_actors.contains_key(actor.as_str()) {
            let owner = store
                .actor(actor)?
                .filter(|owner| owner.tenant_id == tenant_id)
                .map(|owner| owner.device_id);
            devices_of_actors.insert(actor, owner);
        }
        if let Some(Some(device)) = devices_of_actors.get(actor.as_str()) {
            stamp_devices.insert(event.path.clone(), device.clone());
            stamps.push(StampSource {
                device_id: device.clone(),
                boot_id: event.stamp.boot_id.clone(),
                monotonic_ms: event.stamp.monotonic_ms,
            });
        }
    }
    let mut device_boots: Vec<(String, String)> = stamps
        .iter()
        .map(|s| (s.device_id.clone(), s.boot_id.clone()))
        .collect();
    device_boots.sort();
    device_boots.dedup();
    let mut anchors = store.clock_anchors(tenant_id, &device_boots)?;
    anchors.extend(
        fresh
            .iter()
            .filter(|a| {
                device_boots
                    .binary_search_by(|(d, b)| (d.as_str(), b.as_str()).cmp(&(&a.device_id, &a.boot_id)))
                    .is_ok()
            })
            .cloned(),
    );
    stamps.sort_by(|a, b| {
        (&a.device_id, &a.boot_id, a.monotonic_ms).cmp(&(&b.device_id, &b.boot_id, b.monotonic_ms))
    });
    stamps.dedup();
    Ok((
        flags::Context {
            clock: Some(ClockContext::new(anchors)),
            stamp_devices,
            site: store.site_area(tenant_id, &record.header.site_id)?,
            now_ms: Some(now_ms),
            program: program_facts(store, tenant_id, record)?,
        },
        stamps,
    ))
}

/// What the company's records show about the people and the unit `record` names, or `None` when
/// its kind needs nothing (most records: no lookup at all).
fn program_facts(
    store: &dyn RecordStore,
    tenant_id: &str,
    record: &Record,
) -> StoreResult<Option<ProgramFacts>> {
    let needs = record.body.spec().program_needs();
    if needs.is_empty() {
        return Ok(None);
    }
    let people = qualifications(store, tenant_id, &needs.people)?;
    let unit = match &needs.unit_id {
        Some(unit_id) => store
            .equipment_unit(tenant_id, unit_id)?
            .filter(|u| !u.retired)
            .map(|u| RegisteredUnit {
                unit_id: u.unit_id,
                equipment_type: u.equipment_type,
                required_certificates: u.required_certificates,
            }),
        None => None,
    };
    Ok(Some(ProgramFacts {
        site_id: record.header.site_id.clone(),
        people,
        unit,
    }))
}

/// What each of `people` holds: their signed orientations, verified competencies and recorded
/// certificates, read from the records themselves (found in one query by the projection's
/// assignee, the person each is about). Everyone named gets an entry, if only an empty one.
fn qualifications(
    store: &dyn RecordStore,
    tenant_id: &str,
    people: &[String],
) -> StoreResult<BTreeMap<String, Qualifications>> {
    let mut held: BTreeMap<String, Qualifications> = people
        .iter()
        .map(|p| (p.clone(), Qualifications::default()))
        .collect();
    let counted = [
        (Orientation::NAME, OrientationStatus::Signed.as_str()),
        (Competency::NAME, CompetencyStatus::Verified.as_str()),
        (Certificate::NAME, CertificateStatus::Recorded.as_str()),
    ];
    for id in store.assigned_records(tenant_id, people, &counted)? {
        let Some(record) = stored_record(store, tenant_id, &id)? else {
            continue;
        };
        let site_id = record.header.site_id.clone();
        match record.body {
            Body::Orientation(o) => {
                if let (Some(person), Some(s)) = (held.get_mut(&o.worker_id), o.worker_signature) {
                    person.orientations.push(OrientationHeld {
                        record_id: id,
                        site_id,
                        signed_ms: s.stamp.wall_ms,
                    });
                }
            }
            Body::Competency(c) => {
                if let (Some(person), Some(s)) = (held.get_mut(&c.worker_id), c.verifier) {
                    person.competencies.push(CompetencyHeld {
                        record_id: id,
                        equipment_type: c.equipment_type,
                        verified_ms: s.stamp.wall_ms,
                    });
                }
            }
            Body::Certificate(c) => {
                if let Some(person) = held.get_mut(&c.holder_id) {
                    person.certificates.push(CertificateHeld {
                        record_id: id,
                        certificate_type: c.certificate_type,
                        number: c.number,
                        issued_ms: c.issued_ms,
                        expiry_ms: c.expiry_ms,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(held)
}

/// A stored record read from its document, or `None` if it is not stored.
///
/// Judging every JSEA reads its signers' orientations, and the training and action pages read a
/// record per row: the same few documents over and over, each read an automerge load. Records
/// already read are kept by the SHA-256 of their stored bytes, so an entry can never be stale
/// (changed bytes are a different key) and hashing a stored document costs a few microseconds.
pub fn stored_record(store: &dyn RecordStore, tenant_id: &str, id: &str) -> StoreResult<Option<Record>> {
    use sha2::{Digest, Sha256};
    static READ: LazyLock<Mutex<HashMap<[u8; 32], Record>>> = LazyLock::new(Default::default);
    /// At most this many records kept (a few KB each in memory: a company's orientations,
    /// competencies and certificates fit); when full, the memo starts afresh.
    const KEPT: usize = 1024;

    let Some(stored) = store.document(tenant_id, id)? else {
        return Ok(None);
    };
    let mut hasher = Sha256::new();
    hasher.update(tenant_id.as_bytes());
    hasher.update([0]);
    hasher.update((stored.snapshot.len() as u64).to_le_bytes());
    hasher.update(&stored.snapshot);
    for chunk in &stored.chunks {
        hasher.update((chunk.len() as u64).to_le_bytes());
        hasher.update(chunk);
    }
    let key: [u8; 32] = hasher.finalize().into();
    let memo = || READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(record) = memo().get(&key) {
        return Ok(Some(record.clone()));
    }
    let doc = RecordDocument::load_chunks(
        &stored.snapshot,
        stored.chunks.iter().map(Vec::as_slice),
        ActorId::random(),
    )
    .map_err(|e| StoreError::Backend(format!("stored record {id} does not load: {e}")))?;
    let record = doc
        .record()
        .map_err(|e| StoreError::Backend(format!("stored record {id} does not read: {e}")))?;
    let mut kept = memo();
    if kept.len() >= KEPT {
        kept.clear();
    }
    kept.insert(key, record.clone());
    Ok(Some(record))
}

/// Judges `record`, the record `doc` holds now, at the server's time `now_ms`.
pub fn judge(
    store: &dyn RecordStore,
    tenant_id: &str,
    doc: &RecordDocument,
    record: &Record,
    fresh: &[ClockAnchor],
    now_ms: i64,
) -> Result<Verdict, JudgeError> {
    let conflicts = doc.conflicts()?;
    let findings = validate::validate(record);
    let (context, stamps) = context(store, tenant_id, doc, record, fresh, now_ms)?;
    let flags = flags::compute_in(record, &context);
    let projection = Projection::of(record, &flags, &findings, conflicts.len());
    Ok(Verdict {
        flags,
        projection,
        stamps,
        context,
        rejudge_at: record.body.spec().flags_change_at(now_ms),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Record(#[from] sync_core::Error),
}

impl From<JudgeError> for StoreError {
    fn from(e: JudgeError) -> Self {
        match e {
            JudgeError::Store(e) => e,
            JudgeError::Record(e) => StoreError::Backend(format!("stored record unreadable: {e}")),
        }
    }
}

/// Judges a queued record again from what is stored now, and writes the judgement. Idempotent:
/// judging twice writes the same. Returns false when the record changed meanwhile (it stays
/// queued for the next round).
pub fn rejudge(store: &dyn RecordStore, item: &Rejudge, now_ms: i64) -> StoreResult<bool> {
    let judgement = judge_again(store, item, now_ms)?;
    Ok(store.write_judgements(&judgement.into_iter().collect::<Vec<_>>())? == 1)
}

/// A queued record's new judgement, from what is stored now; `None` if it is no longer stored.
fn judge_again(store: &dyn RecordStore, item: &Rejudge, now_ms: i64) -> StoreResult<Option<Judgement>> {
    // The feed position first, then the document: a push landing between makes the document
    // newer than the position, and the write is refused rather than going back in time.
    let seq = store.record_seq(&item.tenant_id, &item.doc_id)?;
    let Some(stored) = store.document(&item.tenant_id, &item.doc_id)? else {
        return Ok(None);
    };
    let doc = RecordDocument::load_chunks(
        &stored.snapshot,
        stored.chunks.iter().map(Vec::as_slice),
        ActorId::random(),
    )
    .map_err(|e| StoreError::Backend(format!("stored record {} does not load: {e}", item.doc_id)))?;
    let record = doc
        .record()
        .map_err(|e| StoreError::Backend(format!("stored record {} does not read: {e}", item.doc_id)))?;
    let verdict = judge(store, &stored.tenant_id, &doc, &record, &[], now_ms)?;
    Ok(Some(Judgement {
        tenant_id: item.tenant_id.clone(),
        doc_id: item.doc_id.clone(),
        seq,
        projection: verdict.projection,
        flags: verdict.flags,
        stamps: verdict.stamps,
        rejudge_at: verdict.rejudge_at,
    }))
}

/// Records judged again per round; the worker sleeps between rounds only when the queue is empty.
const BATCH: u32 = 200;

/// How often the worker looks at the queue when nobody wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(2);

/// The worker thread that drains the re-judging queue in the background, in bounded rounds.
pub struct Rejudger {
    signal: Arc<(Mutex<Wake>, Condvar)>,
    clock: Arc<Mutex<Clock>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Wake {
    pending: bool,
    stop: bool,
}

impl std::fmt::Debug for Rejudger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rejudger").finish_non_exhaustive()
    }
}

impl Rejudger {
    /// Starts the worker, judging at `clock` (Unix ms).
    pub fn start(store: Arc<dyn RecordStore>, clock: Clock) -> Self {
        let signal = Arc::new((Mutex::new(Wake::default()), Condvar::new()));
        let shared = signal.clone();
        let clock = Arc::new(Mutex::new(clock));
        let worker_clock = clock.clone();
        let thread = std::thread::Builder::new()
            .name("rejudge".into())
            .spawn(move || work(store.as_ref(), &worker_clock, &shared))
            .ok();
        Self {
            signal,
            clock,
            thread,
        }
    }

    /// Judges at `clock` from now on, so a simulated clock in tests moves due dates and expiry
    /// alerts as real time would.
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// Tells the worker that records were queued.
    pub fn wake(&self) {
        let (lock, wake) = &*self.signal;
        lock.lock().unwrap_or_else(|p| p.into_inner()).pending = true;
        wake.notify_one();
    }
}

impl Drop for Rejudger {
    fn drop(&mut self) {
        let (lock, wake) = &*self.signal;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn work(store: &dyn RecordStore, clock: &Mutex<Clock>, signal: &(Mutex<Wake>, Condvar)) {
    let (lock, wake) = signal;
    let mut failing = false;
    loop {
        {
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            if !state.pending && !state.stop {
                state = wake
                    .wait_timeout(state, IDLE_WAIT)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if state.stop {
                return;
            }
            state.pending = false;
        }
        let now_ms = (clock.lock().unwrap_or_else(|p| p.into_inner()))();
        match drain_once(store, now_ms) {
            Ok(judged) => {
                failing = false;
                if judged == BATCH as usize {
                    // More waiting: go on without sleeping.
                    lock.lock().unwrap_or_else(|p| p.into_inner()).pending = true;
                }
            }
            // Said once while it lasts (a full disk), not every round.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "judging records again failed; retrying");
            }
            Err(_) => {}
        }
    }
}

/// One bounded round: judges up to [`BATCH`] queued records, reading each, then writes every
/// judgement in one transaction (a queue of thousands after an upgrade costs the writer a commit
/// per round, not one per record). Returns how many it looked at.
pub fn drain_once(store: &dyn RecordStore, now_ms: i64) -> StoreResult<usize> {
    store.queue_due_rejudges(now_ms)?;
    let queued = store.rejudge_queue(BATCH)?;
    let mut judgements = Vec::with_capacity(queued.len());
    for item in &queued {
        match judge_again(store, item, now_ms) {
            Ok(judgement) => judgements.extend(judgement),
            Err(e @ StoreError::CannotWrite { .. }) => return Err(e),
            Err(e) => {
                // A record that cannot be read cannot be judged however often it is tried: it
                // keeps its last judgement, and the log says why.
                tracing::error!(doc = %item.doc_id, error = %e, "record could not be judged again");
                store.dequeue_rejudge(&item.tenant_id, &item.doc_id)?;
            }
        }
    }
    // The store failing (a full disk) leaves the queue as it is for the next round.
    store.write_judgements(&judgements)?;
    Ok(queued.len())
}
