//! Bad input never panics, never allocates absurd memory, and never silently changes a valid
//! record: the sync protocol decoder, document loading and merging, and the store's handling of a
//! decoded sync answer, fed random bytes and mutated real encodings.
//!
//! `MUSTER_FUZZ_CASES` sets the number of inputs per target (default small, so `cargo test` stays
//! fast); `scripts/fuzz.sh` runs the long version and adds up the `fuzz-inputs` lines printed here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::ActorId;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use sync_core::model::Body;
use sync_core::protocol::{
    self, ClockSample, DocPush, DocSyncMessage, DocUpdate, PROTOCOL_VERSION, PushOutcome, PushResult,
    RejectCode, SyncRequest, SyncResponse,
};
use sync_core::sync::plan;
use sync_core::{Error, Profile, RecordDocument, Stamp, Store, sample};

/// Inputs per target: `MUSTER_FUZZ_CASES`, or a small default for an ordinary `cargo test`.
fn cases(default: u32) -> u32 {
    std::env::var("MUSTER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` on `cases` inputs from `strategy` and prints how many were tried.
fn fuzz<S: Strategy>(
    target: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let tried = AtomicU64::new(0);
    let started = Instant::now();
    let mut runner = TestRunner::new(Config {
        cases,
        // Shrinking a failure over a large document can take long; the first failure is enough.
        max_shrink_iters: 256,
        // Inputs come from seeds built at run time, so there is no source file to persist to;
        // a failure prints the minimal input instead.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |input| {
        tried.fetch_add(1, Ordering::Relaxed);
        test(input)
    });
    println!(
        "fuzz-inputs {target}: {} inputs in {:.1}s",
        tried.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

/// One way of damaging bytes, as a bad network, disk or attacker would.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: Index,
        bit: u8,
    },
    SetByte {
        at: Index,
        value: u8,
    },
    Truncate {
        keep: Index,
    },
    /// Replaces a range with other bytes (possibly longer or shorter).
    Splice {
        at: Index,
        remove: u8,
        insert: Vec<u8>,
    },
    /// Copies a range of the input elsewhere in it (a repeated or misplaced field).
    Duplicate {
        from: Index,
        len: u8,
        to: Index,
    },
    /// Writes a varint claiming a huge length over one byte, as a corrupted length prefix would.
    HugeLength {
        at: Index,
        claim: u64,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        1 => any::<Index>().prop_map(|keep| Mutation::Truncate { keep }),
        1 => (any::<Index>(), 0u8..16, prop::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(at, remove, insert)| Mutation::Splice { at, remove, insert }),
        1 => (any::<Index>(), 1u8..64, any::<Index>()).prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        2 => (any::<Index>(), prop_oneof![
                Just(u32::MAX as u64),
                Just(4u64 << 30),
                Just(u64::MAX),
                Just(1u64 << 40),
                1_000_000u64..100_000_000,
            ])
            .prop_map(|(at, claim)| Mutation::HugeLength { at, claim }),
    ]
}

fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match m {
            Mutation::FlipBit { at, bit } => bytes[at.index(len)] ^= 1 << bit,
            Mutation::SetByte { at, value } => bytes[at.index(len)] = *value,
            Mutation::Truncate { keep } => bytes.truncate(keep.index(len)),
            Mutation::Splice { at, remove, insert } => {
                let start = at.index(len);
                let end = (start + *remove as usize).min(len);
                bytes.splice(start..end, insert.iter().copied());
            }
            Mutation::Duplicate { from, len: n, to } => {
                let start = from.index(len);
                let end = (start + *n as usize).min(len);
                let piece = bytes[start..end].to_vec();
                let to = to.index(len);
                bytes.splice(to..to, piece);
            }
            Mutation::HugeLength { at, claim } => {
                let at = at.index(len);
                bytes.splice(at..at + 1, varint(*claim));
            }
        }
    }
    bytes
}

/// Real inputs with up to four mutations, mostly; sometimes a real input as it is (valid bytes
/// must still be handled right, e.g. another record's valid document), or random bytes.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let intact = prop::sample::select(seeds.clone());
    let real = (
        prop::sample::select(seeds),
        prop::collection::vec(mutation(), 1..5),
    )
        .prop_map(|(seed, ms)| mutate(seed, &ms));
    prop_oneof![
        16 => real,
        1 => intact,
        2 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

fn profile() -> Profile {
    Profile {
        user_id: "lead".into(),
        tenant_id: "acme".into(),
        display_name: "Crew Lead".into(),
    }
}

fn stamp(wall_ms: i64) -> Stamp {
    Stamp::new(wall_ms, wall_ms / 10, "boot-1")
}

/// A real JSEA document and the incremental changes of two later edits.
struct RealDocument {
    snapshot: Vec<u8>,
    /// Bytes for the first edit, then the second (each `save_after` the previous heads).
    changes: Vec<Vec<u8>>,
    /// Snapshot before the edits, to which `changes` apply in order.
    base: Vec<u8>,
}

fn real_document() -> RealDocument {
    let actor = ActorId::random();
    let store_dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(store_dir.path().join("seed.db")).expect("store");
    store.sign_in(profile()).expect("sign in");
    let id = store
        .create(
            "site-a",
            None,
            Body::Jsea(sample::jsea()),
            stamp(1_790_000_000_000),
        )
        .expect("create");
    let mut doc = store.document(&id).expect("document");
    let base = doc.save();
    let mut doc = RecordDocument::load(&base, actor).expect("load");
    let mut changes = Vec::new();
    for muster_point in ["North gate", "Lease road entrance"] {
        let before = doc.heads();
        doc.update("lead", 1_790_000_100_000, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.muster_point = muster_point.into();
            Ok(())
        })
        .expect("edit");
        changes.push(doc.save_after(&before));
    }
    RealDocument {
        snapshot: doc.save(),
        changes,
        base,
    }
}

fn real_request(doc: &RealDocument) -> SyncRequest {
    let mut base = RecordDocument::load(&doc.base, ActorId::random()).expect("base");
    let mut state = automerge::sync::State::new();
    let message = base
        .generate_sync_message(&mut state)
        .expect("a first sync message");
    SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: 41,
        cursor_check: 0x5eed_cafe_f00d,
        clock: ClockSample {
            wall_ms: 1_790_000_000_000,
            monotonic_ms: 123_456,
            boot_id: "8c1f6e0e-boot".into(),
            last_round_trip_ms: 180,
        },
        pushes: vec![
            DocPush {
                doc_id: "rec-1".into(),
                base_heads: vec![[7; 32], [9; 32]],
                changes: doc.changes[0].clone(),
            },
            DocPush {
                doc_id: "rec-2".into(),
                base_heads: Vec::new(),
                changes: doc.snapshot.clone(),
            },
        ],
        doc_sync: vec![DocSyncMessage {
            doc_id: "rec-3".into(),
            message,
        }],
    }
}

fn real_response(doc: &RealDocument) -> SyncResponse {
    SyncResponse {
        version: PROTOCOL_VERSION,
        server_time_ms: 1_790_000_000_500,
        results: vec![
            PushResult {
                doc_id: "rec-1".into(),
                outcome: PushOutcome::Accepted,
            },
            PushResult {
                doc_id: "rec-2".into(),
                outcome: PushOutcome::Rejected {
                    code: RejectCode::OutOfScope,
                    reason: "site-b is not one of your sites".into(),
                },
            },
            PushResult {
                doc_id: "rec-4".into(),
                outcome: PushOutcome::NeedFull,
            },
        ],
        updates: vec![
            DocUpdate {
                doc_id: "rec-5".into(),
                changes: doc.snapshot.clone(),
                snapshot: true,
            },
            DocUpdate {
                doc_id: "rec-1".into(),
                changes: doc.changes[1].clone(),
                snapshot: false,
            },
        ],
        cursor: 57,
        cursor_check: 0xdead_beef,
        more: false,
        doc_sync: Vec::new(),
        reset: false,
    }
}

fn protocol_seeds(doc: &RealDocument) -> Vec<Vec<u8>> {
    vec![
        protocol::encode(&real_request(doc)),
        protocol::encode(&real_response(doc)),
    ]
}

/// A decode attempt that failed must say it was a malformed sync message.
fn check_decode_error(error: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        error.starts_with("malformed sync message: ") && error.len() > 24,
        "unclear error: {error}"
    );
    Ok(())
}

#[test]
fn protocol_decoder_refuses_damaged_messages_without_panicking() {
    let doc = real_document();
    let seeds = protocol_seeds(&doc);
    fuzz("protocol", cases(512), mutated(seeds), |bytes| {
        let _ = protocol::peek_version(&bytes);
        match protocol::decode::<SyncRequest>(&bytes) {
            // Whatever decodes must encode back to a message that decodes the same.
            Ok(request) => {
                let again = protocol::decode::<SyncRequest>(&protocol::encode(&request));
                prop_assert_eq!(again.as_ref(), Ok(&request));
            }
            Err(e) => check_decode_error(&e)?,
        }
        match protocol::decode::<SyncResponse>(&bytes) {
            Ok(response) => {
                let again = protocol::decode::<SyncResponse>(&protocol::encode(&response));
                prop_assert_eq!(again.as_ref(), Ok(&response));
            }
            Err(e) => check_decode_error(&e)?,
        }
        Ok(())
    });
}

/// The largest virtual memory this process has reserved so far, from the kernel.
fn peak_virtual_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_length_prefix_claiming_gigabytes_fails_fast_without_allocating_it() {
    let doc = real_document();
    let claims = [4u64 << 30, u32::MAX as u64, 1 << 40, u64::MAX >> 1];
    // Real messages with their byte fields cut short: every kind of length prefix is still
    // there, and there are fewer positions to try.
    let mut request = real_request(&doc);
    for push in &mut request.pushes {
        push.changes.truncate(40);
    }
    request.doc_sync[0].message.truncate(40);
    let mut response = real_response(&doc);
    for update in &mut response.updates {
        update.changes.truncate(40);
    }
    let seeds = [protocol::encode(&request), protocol::encode(&response)];
    let peak_before = peak_virtual_bytes();
    let started_all = Instant::now();
    let mut tried = 0u32;
    for seed in seeds {
        // Every position of a real message, so every length prefix in it is hit: the pushes and
        // updates counts, each string's and byte array's length, the heads count.
        for at in 0..seed.len() {
            for claim in claims {
                for replace in [true, false] {
                    let mut bytes = seed.clone();
                    let end = if replace { at + 1 } else { at };
                    bytes.splice(at..end, varint(claim));
                    let started = Instant::now();
                    let request = protocol::decode::<SyncRequest>(&bytes);
                    let response = protocol::decode::<SyncResponse>(&bytes);
                    let took = started.elapsed();
                    tried += 1;
                    assert!(
                        took < Duration::from_millis(200),
                        "decoding a {}-byte message claiming {claim} bytes at {at} took {took:?}",
                        bytes.len()
                    );
                    for error in [request.err(), response.err()].into_iter().flatten() {
                        assert!(error.starts_with("malformed sync message: "), "{error}");
                    }
                }
            }
        }
    }
    println!(
        "fuzz-inputs length-prefix: {tried} inputs in {:.1}s",
        started_all.elapsed().as_secs_f64()
    );
    // A single 4 GB reservation would show here; the decoder's own allocations are bounded by
    // the bytes actually present (serde caps pre-allocation from a claimed length at 1 MiB).
    if let (Some(before), Some(after)) = (peak_before, peak_virtual_bytes()) {
        assert!(
            after.saturating_sub(before) < 2 << 30,
            "peak virtual memory grew by {} MiB while decoding claimed lengths",
            (after - before) >> 20
        );
    }
}

fn check_document_error(e: &Error) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(
            e,
            Error::CorruptDocument(_) | Error::UnknownKind(_) | Error::Automerge(_)
        ),
        "unexpected error kind: {e:?}"
    );
    prop_assert!(!e.to_string().trim().is_empty());
    Ok(())
}

#[test]
fn loading_damaged_documents_is_refused_without_panicking() {
    let doc = real_document();
    let mut seeds = vec![doc.snapshot.clone(), doc.base.clone()];
    seeds.extend(doc.changes.iter().cloned());
    let original = RecordDocument::load(&doc.snapshot, ActorId::random()).expect("original");
    let original_record = original.record().expect("original record");
    fuzz("document-load", cases(192), mutated(seeds), |bytes| {
        match RecordDocument::load(&bytes, ActorId::random()) {
            Ok(loaded) => {
                // Whatever loads must be readable without panicking, whatever it holds.
                let _ = loaded.record();
                let _ = loaded.conflicts();
                let _ = loaded.authors();
                if bytes == doc.snapshot {
                    prop_assert_eq!(loaded.record().ok(), Some(original_record.clone()));
                }
            }
            Err(e) => check_document_error(&e)?,
        }
        match RecordDocument::load_chunks(&doc.base, [bytes.as_slice()], ActorId::random()) {
            Ok(loaded) => {
                let _ = loaded.record();
            }
            Err(e) => check_document_error(&e)?,
        }
        Ok(())
    });
}

#[test]
fn damaged_changes_never_silently_change_a_valid_document() {
    let doc = real_document();
    let mut seeds = doc.changes.clone();
    seeds.push(doc.snapshot.clone());
    fuzz("document-apply", cases(192), mutated(seeds), |bytes| {
        let mut target = RecordDocument::load(&doc.base, ActorId::random()).expect("base");
        let saved_before = target.save();
        let record_before = target.record().expect("record");
        let heads_before = target.heads();
        match target.apply_bytes(&bytes) {
            Ok(returned) => {
                prop_assert_eq!(returned, heads_before.clone());
                // Nothing of the original history may be lost, and the result is still a record.
                prop_assert!(target.has_all(&heads_before));
                prop_assert!(
                    target.record().is_ok(),
                    "merged document is not a readable record"
                );
                prop_assert_eq!(target.header().expect("header"), record_before.header);
            }
            Err(e) => {
                check_document_error(&e)?;
                prop_assert_eq!(target.heads(), heads_before);
                prop_assert_eq!(target.save(), saved_before, "refused bytes changed the document");
            }
        }
        Ok(())
    });
}

/// A real store with one record, and the decoded-answer path a sync takes into it.
#[test]
fn a_damaged_sync_answer_leaves_the_store_as_it_was() {
    let doc = real_document();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path().join("phone.db")).expect("store");
    store.sign_in(profile()).expect("sign in");
    let id = store
        .create(
            "site-a",
            None,
            Body::Jsea(sample::jsea()),
            stamp(1_790_000_000_000),
        )
        .expect("create");
    let mut mine = store.document(&id).expect("document");
    let my_heads = mine.heads();
    // Answers that speak of the record this store holds, so merges really reach it.
    let mut answer = real_response(&doc);
    answer.results.clear();
    answer.updates = vec![
        DocUpdate {
            doc_id: id.clone(),
            changes: mine.save(),
            snapshot: true,
        },
        DocUpdate {
            doc_id: "rec-5".into(),
            changes: doc.snapshot.clone(),
            snapshot: true,
        },
    ];
    let seeds = vec![protocol::encode(&answer), protocol::encode(&real_response(&doc))];
    let plan = plan::Plan {
        cursor: 12,
        pushed: vec![("rec-1".into(), Vec::new())],
        ..plan::Plan::default()
    };
    let view_before = store.record(&id).expect("view");
    // The runner takes a shared closure; each case borrows the store for its own duration.
    let store = std::cell::RefCell::new(store);
    fuzz("store-apply-answer", cases(96), mutated(seeds), |bytes| {
        let Ok(response) = protocol::decode::<SyncResponse>(&bytes) else {
            return Ok(());
        };
        let cursor = (response.cursor, response.cursor_check);
        let Ok(actions) = plan::response(&plan, response) else {
            return Ok(());
        };
        let mut store = store.borrow_mut();
        let cursor_before = store.cursor_with_check().expect("cursor");
        match store.apply_sync(actions, cursor) {
            Ok(_) => {
                // The local record keeps everything it had and is still readable.
                let mut now = store.document(&id).expect("record still loads");
                prop_assert!(now.has_all(&my_heads));
                prop_assert!(store.record(&id).is_ok());
            }
            Err(e) => {
                prop_assert_eq!(store.cursor_with_check().expect("cursor"), cursor_before);
                prop_assert_eq!(store.record(&id).expect("view"), view_before.clone(), "{}", e);
            }
        }
        Ok(())
    });
    assert!(store.borrow().check_integrity().is_ok());
}

#[test]
fn damaged_remote_bytes_merged_into_the_store_never_change_the_stored_record() {
    let doc = real_document();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path().join("phone.db")).expect("store");
    store.sign_in(profile()).expect("sign in");
    let id = store
        .create(
            "site-a",
            None,
            Body::Jsea(sample::jsea()),
            stamp(1_790_000_000_000),
        )
        .expect("create");
    let mut base = store.document(&id).expect("document");
    let heads = base.heads();
    store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.task = "Swap the separator's relief valve".into();
            Ok(())
        })
        .expect("edit");
    let mut edited = store.document(&id).expect("document");
    let seeds = vec![edited.save_after(&heads), edited.save(), doc.snapshot.clone()];
    let store = std::cell::RefCell::new(store);
    fuzz("store-merge", cases(48), mutated(seeds), |bytes| {
        let mut store = store.borrow_mut();
        let before = store.record(&id).expect("view");
        let pending_before = store.pending().expect("pending");
        match store.merge_remote(&id, &bytes) {
            Ok(()) => {
                let after = store.record(&id).expect("a merged record stays readable");
                prop_assert_eq!(after.record.header, before.record.header);
            }
            Err(e) => {
                check_document_error(&e)?;
                prop_assert_eq!(store.record(&id).expect("view"), before);
            }
        }
        prop_assert_eq!(store.pending().expect("pending"), pending_before);
        Ok(())
    });
}

/// Valid automerge bytes that belong to another record: merging them would mix two records'
/// headers, and whichever header won the merge would silently rename the stored record.
#[test]
fn another_records_valid_document_is_refused_and_the_stored_record_kept() {
    let doc = real_document();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path().join("phone.db")).expect("store");
    store.sign_in(profile()).expect("sign in");
    let mut ids = Vec::new();
    // Several records, so that whichever way the merge's header conflict falls, one shows it.
    for minute in 0..6 {
        ids.push(
            store
                .create(
                    "site-a",
                    None,
                    Body::NearMiss(sample::near_miss(1_790_000_000_000)),
                    stamp(1_790_000_000_000 + minute * 60_000),
                )
                .expect("create"),
        );
    }
    for id in &ids {
        let before = store.record(id).expect("view");
        let err = store
            .merge_remote(id, &doc.snapshot)
            .expect_err("another record's document is refused");
        assert!(matches!(err, Error::CorruptDocument(_)), "{err:?}");
        assert!(err.to_string().contains(id.as_str()), "{err}");
        assert_eq!(store.record(id).expect("view"), before);
    }
    assert_eq!(store.count_records().expect("count"), ids.len() as i64);
}
