//! Recovery of damaged device stores, on real SQLite files damaged the ways disks and crashes
//! damage them: garbage over pages in the middle, a truncated file, a zeroed header.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use automerge::ActorId;
use rusqlite::Connection;
use sync_core::model::Body;
use sync_core::protocol::Limits;
use sync_core::store::Credentials;
use sync_core::sync::plan::Action;
use sync_core::{Error, Profile, Record, RecordDocument, Stamp, Store, sample};

const RECORDS: usize = 48;

fn stamp(wall_ms: i64) -> Stamp {
    Stamp::new(wall_ms, wall_ms / 10, "boot-1")
}

fn credentials() -> Credentials {
    Credentials {
        server_url: "https://muster.example".into(),
        access_token: "access".into(),
        access_expires_at_ms: 1_790_000_900_000,
        refresh_token: "refresh-for-this-phone".into(),
        limits: Limits {
            protocol_versions: vec![1],
            max_body_bytes: 8 << 20,
            max_pushes: 500,
            max_update_bytes: 4 << 20,
        },
    }
}

/// What an intact store held, and where SQLite put its rows.
#[derive(Debug)]
struct Original {
    records: BTreeMap<String, Record>,
    pending: BTreeSet<String>,
    device_id: String,
    profile: Profile,
    /// Record id → row id of its document row.
    document_rowids: BTreeMap<String, i64>,
    /// Record id → row ids of its change chunks.
    chunk_rowids: BTreeMap<String, Vec<i64>>,
    page_size: u64,
}

/// A store with JSEAs, pre-starts and near-misses; half acknowledged by the server, some edited
/// since (so they carry change chunks and are pending again), some never synced.
fn filled_store(path: &Path) -> Original {
    let mut store = Store::open(path).expect("open");
    store
        .sign_in(Profile {
            user_id: "lead".into(),
            tenant_id: "acme".into(),
            display_name: "Crew Lead".into(),
        })
        .expect("sign in");
    store.set_credentials(&credentials()).expect("credentials");
    let mut ids = Vec::new();
    for i in 0..RECORDS {
        let at = 1_790_000_000_000 + i as i64 * 60_000;
        let body = match i % 3 {
            0 => Body::Jsea(sample::jsea()),
            1 => Body::PreStart(sample::prestart("lead")),
            _ => Body::NearMiss(sample::near_miss(at)),
        };
        ids.push(
            store
                .create("site-a", Some("WO-7"), body, stamp(at))
                .expect("create"),
        );
    }
    let acknowledged: Vec<Action> = ids
        .iter()
        .step_by(2)
        .map(|id| Action::Acknowledge {
            id: id.clone(),
            heads: store.document(id).expect("doc").heads(),
        })
        .collect();
    store.apply_sync(acknowledged, (9, 77)).expect("acknowledge");
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 4 == 0 || i % 5 == 1) {
        for round in 0..2 {
            store
                .edit(id, |r| {
                    match &mut r.body {
                        Body::Jsea(j) => j.muster_point = format!("Gate {i}.{round}"),
                        Body::PreStart(p) => p.unit.hour_meter = Some(1_000.0 + i as f64 + round as f64),
                        Body::NearMiss(n) => n.what_happened = format!("Swinging load, report {i}.{round}"),
                        other => unreachable!("the fixture makes only the first three kinds: {other:?}"),
                    }
                    Ok(())
                })
                .expect("edit");
        }
    }
    let records = ids
        .iter()
        .map(|id| (id.clone(), store.record(id).expect("record").record))
        .collect();
    let pending = store
        .pending()
        .expect("pending")
        .into_iter()
        .map(|p| p.record_id)
        .collect();
    let device_id = store.device_id().to_owned();
    let profile = store.profile().expect("profile").clone();
    drop(store);

    let conn = Connection::open(path).expect("inspect");
    let document_rowids = conn
        .prepare("SELECT id, rowid FROM documents")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut chunk_rowids: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let rows: Vec<(String, i64)> = conn
        .prepare("SELECT doc_id, rowid FROM doc_chunks ORDER BY doc_id, seq")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    for (id, rowid) in rows {
        chunk_rowids.entry(id).or_default().push(rowid);
    }
    let page_size = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .expect("page size") as u64;
    Original {
        records,
        pending,
        device_id,
        profile,
        document_rowids,
        chunk_rowids,
        page_size,
    }
}

/// Pages of `table`'s b-tree of the given type (`leaf`, `internal`, `overflow`), from SQLite's
/// own page map.
fn pages_of(path: &Path, table: &str, page_type: &str) -> Vec<u64> {
    let conn = Connection::open(path).expect("inspect");
    conn.prepare("SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = ?2 ORDER BY pageno")
        .expect("dbstat")
        .query_map([table, page_type], |r| r.get::<_, i64>(0).map(|p| p as u64))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("pages")
}

/// Overwrites whole pages (numbered from 1) with pseudo-random garbage.
fn garble_pages(path: &Path, page_size: u64, pages: &[u64]) {
    let mut bytes = std::fs::read(path).expect("read");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for page in pages {
        let start = ((page - 1) * page_size) as usize;
        for byte in &mut bytes[start..start + page_size as usize] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
    }
    std::fs::write(path, bytes).expect("write");
}

/// Records plain SQLite can still read from the damaged file, row by row at the row ids the
/// intact file had: what recovery must at least find, without knowing those row ids.
fn readable_records(damaged: &Path, original: &Original) -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("probe.db");
    std::fs::copy(damaged, &copy).expect("copy");
    let Ok(conn) = Connection::open(&copy) else {
        return BTreeSet::new();
    };
    let mut readable = BTreeSet::new();
    for (id, rowid) in &original.document_rowids {
        let Ok(snapshot) = conn.query_row(
            "SELECT snapshot FROM documents NOT INDEXED WHERE rowid = ?1 AND id = ?2",
            rusqlite::params![rowid, id],
            |r| r.get::<_, Vec<u8>>(0),
        ) else {
            continue;
        };
        let chunks: Result<Vec<Vec<u8>>, _> = original
            .chunk_rowids
            .get(id)
            .into_iter()
            .flatten()
            .map(|rowid| {
                conn.query_row(
                    "SELECT bytes FROM doc_chunks NOT INDEXED WHERE rowid = ?1",
                    [rowid],
                    |r| r.get::<_, Vec<u8>>(0),
                )
            })
            .collect();
        let Ok(chunks) = chunks else { continue };
        if RecordDocument::load_chunks(&snapshot, chunks.iter().map(Vec::as_slice), ActorId::random())
            .and_then(|d| d.record())
            .is_ok_and(|r| r == original.records[id])
        {
            readable.insert(id.clone());
        }
    }
    readable
}

/// Everything a recovered store must hold for the records it recovered.
fn check_recovered(
    recovered_path: &Path,
    original: &Original,
    report: &sync_core::recovery::RecoveryReport,
) -> BTreeSet<String> {
    let store = Store::open(recovered_path).expect("the recovered store opens");
    store.check_integrity().expect("the recovered store is sound");
    assert_eq!(store.device_id(), original.device_id);
    assert_eq!(store.profile(), Some(&original.profile));
    assert_eq!(store.credentials().expect("credentials"), Some(credentials()));
    assert_eq!(store.cursor_with_check().expect("cursor"), (0, 0));
    let held: BTreeSet<String> = store.record_ids().expect("ids").into_iter().collect();
    let whole: BTreeSet<String> = report.records_recovered.iter().cloned().collect();
    let incomplete: BTreeSet<String> = report
        .records_incomplete
        .iter()
        .map(|u| u.record_id.clone().expect("an incomplete record is named"))
        .collect();
    assert_eq!(
        held,
        whole.union(&incomplete).cloned().collect(),
        "the report lists exactly the records the store holds"
    );
    for id in &whole {
        assert_eq!(
            &store.record(id).expect("recovered record").record,
            &original.records[id],
            "record {id} changed in recovery"
        );
    }
    for id in &incomplete {
        // Readable, the same record, missing only some later edits.
        let record = store.record(id).expect("incomplete record").record;
        assert_eq!(record.header, original.records[id].header);
        if original.pending.contains(id) {
            assert!(
                report.pending_lost.contains(id),
                "{id}'s lost unsynced edits are not reported"
            );
        }
    }
    assert_eq!(store.count_records().expect("projection"), held.len() as i64);
    let pending: BTreeSet<String> = store
        .pending()
        .expect("pending")
        .into_iter()
        .map(|p| p.record_id)
        .collect();
    for id in &original.pending {
        if held.contains(id) {
            assert!(
                pending.contains(id),
                "unacknowledged record {id} is no longer queued"
            );
        } else {
            assert!(
                report.pending_lost.contains(id),
                "lost unacknowledged record {id} is not reported"
            );
        }
    }
    held
}

fn aside_of(report: &sync_core::recovery::RecoveryReport) -> PathBuf {
    assert!(
        report
            .damaged_moved_to
            .display()
            .to_string()
            .contains(".damaged-"),
        "{}",
        report.damaged_moved_to.display()
    );
    report.damaged_moved_to.clone()
}

#[test]
fn garbage_over_document_pages_loses_only_the_records_on_them() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let original = filled_store(&path);
    let leaves = pages_of(&path, "documents", "leaf");
    assert!(leaves.len() >= 4, "documents span {} leaf pages", leaves.len());
    let hit = [leaves[leaves.len() / 2], leaves[leaves.len() / 2 + 1]];
    garble_pages(&path, original.page_size, &hit);
    let damaged_bytes = std::fs::read(&path).expect("read");

    assert!(matches!(
        Store::open(&path).and_then(|s| s.check_integrity()),
        Err(Error::CorruptDatabase { .. })
    ));
    let readable = readable_records(&path, &original);
    let new_path = dir.path().join("recovered.db");
    let report = Store::recover(&path, &new_path).expect("recover");

    assert_eq!(
        std::fs::read(aside_of(&report)).expect("moved aside"),
        damaged_bytes
    );
    assert!(!path.exists());
    let held = check_recovered(&new_path, &original, &report);
    assert!(
        held.is_superset(&readable),
        "missed readable records: {:?}",
        readable.difference(&held)
    );
    let lost: BTreeSet<String> = original
        .records
        .keys()
        .filter(|id| !held.contains(*id))
        .cloned()
        .collect();
    assert!(!lost.is_empty(), "the damaged pages held records");
    assert!(
        held.len() >= RECORDS - 8,
        "only {} of {RECORDS} recovered",
        held.len()
    );
    // The projection still names every lost record, so the report does too.
    let named: BTreeSet<String> = report
        .records_lost
        .iter()
        .filter_map(|l| l.record_id.clone())
        .collect();
    assert_eq!(named, lost);
    assert!(!report.problems.is_empty());
}

#[test]
fn an_unreadable_outbox_is_rebuilt_from_what_the_server_acknowledged() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let original = filled_store(&path);
    let outbox_pages = pages_of(&path, "outbox", "leaf");
    garble_pages(&path, original.page_size, &outbox_pages);

    let report = Store::recover(&path, &path).expect("recover in place");
    let held = check_recovered(&path, &original, &report);
    assert_eq!(held.len(), RECORDS, "only the outbox was damaged");
    let pending: BTreeSet<String> = report.pending_recovered.iter().cloned().collect();
    // Exactly the records with history beyond what the server acknowledged: nothing is lost and
    // nothing acknowledged is queued again.
    assert_eq!(pending, original.pending);
    assert!(report.pending_lost.is_empty());
}

#[test]
fn a_truncated_file_keeps_every_record_on_the_pages_left() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let original = filled_store(&path);
    let length = std::fs::metadata(&path).expect("size").len();
    let pages = length / original.page_size;
    let file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
    file.set_len(pages * 6 / 10 * original.page_size)
        .expect("truncate");
    drop(file);

    let readable = readable_records(&path, &original);
    let new_path = dir.path().join("recovered.db");
    let report = Store::recover(&path, &new_path).expect("recover");
    let held = check_recovered(&new_path, &original, &report);
    assert!(
        held.is_superset(&readable),
        "missed readable records: {:?}",
        readable.difference(&held)
    );
    assert!(held.len() < RECORDS, "a truncated file cannot hold every record");
    assert!(!held.is_empty(), "the pages left hold records");
    let accounted = report.records_recovered.len() + report.records_lost.len();
    assert!(accounted >= held.len());
}

#[test]
fn a_zeroed_header_is_rebuilt_and_every_record_recovered() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let original = filled_store(&path);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[..100].fill(0);
    std::fs::write(&path, &bytes).expect("write");

    let refused = Store::open(&path).expect_err("a zeroed header is refused");
    assert!(
        matches!(
            refused,
            Error::ForeignDatabase { .. } | Error::CorruptDatabase { .. }
        ),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        bytes,
        "refusal left the file as it was"
    );

    let report = Store::recover(&path, &path).expect("recover in place");
    assert!(report.header_rebuilt);
    assert_eq!(std::fs::read(aside_of(&report)).expect("moved aside"), bytes);
    let held = check_recovered(&path, &original, &report);
    assert_eq!(held.len(), RECORDS);
    assert_eq!(
        report.pending_recovered.iter().cloned().collect::<BTreeSet<_>>(),
        original.pending
    );
    assert!(report.records_lost.is_empty() && report.records_incomplete.is_empty());
}

#[test]
fn recovery_refuses_to_overwrite_another_file_and_leaves_the_damaged_one_in_place() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    filled_store(&path);
    let before = std::fs::read(&path).expect("read");
    let taken = dir.path().join("taken.db");
    std::fs::write(&taken, b"someone else's file").expect("write");
    let err = Store::recover(&path, &taken).expect_err("refused");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert_eq!(std::fs::read(&taken).expect("read"), b"someone else's file");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 300]).expect("write");
    let err = Store::recover(&junk, dir.path().join("out.db")).expect_err("nothing to recover");
    assert!(matches!(err, Error::CorruptDatabase { .. }), "{err:?}");
    assert_eq!(
        std::fs::read(&junk).expect("the file is back where it was"),
        vec![0x5a; 300]
    );
    assert!(!dir.path().join("out.db").exists());
}

#[test]
fn commits_still_in_the_write_ahead_log_are_recovered_with_the_damaged_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let original = filled_store(&path);
    // Power is lost while the store is open: its latest commits are only in the WAL.
    let mut store = Store::open(&path).expect("open");
    let late: Vec<String> = (0..3)
        .map(|i| {
            store
                .create(
                    "site-a",
                    None,
                    Body::NearMiss(sample::near_miss(1_790_100_000_000 + i)),
                    stamp(1_790_100_000_000 + i),
                )
                .expect("create")
        })
        .collect();
    let copy = dir.path().join("after-power-loss.db");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::copy(
        dir.path().join("phone.db-wal"),
        dir.path().join("after-power-loss.db-wal"),
    )
    .expect("copy wal");
    drop(store);
    let mut bytes = std::fs::read(&copy).expect("read");
    bytes[..100].fill(0);
    std::fs::write(&copy, &bytes).expect("damage the header");

    let report = Store::recover(&copy, &copy).expect("recover");
    assert!(std::fs::metadata(format!("{}-wal", report.damaged_moved_to.display())).is_ok());
    let store = Store::open(&copy).expect("open the recovered store");
    let held: BTreeSet<String> = store.record_ids().expect("ids").into_iter().collect();
    assert_eq!(held.len(), RECORDS + late.len(), "{:?}", report.problems);
    let pending: BTreeSet<String> = store
        .pending()
        .expect("pending")
        .into_iter()
        .map(|p| p.record_id)
        .collect();
    assert!(
        late.iter().all(|id| pending.contains(id)),
        "the late records are still queued"
    );
    assert!(original.pending.is_subset(&pending));
}
