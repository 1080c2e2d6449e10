//! Recovery of a damaged device store: everything still readable is copied into a fresh store,
//! the damaged file is moved aside (never deleted), and a report says exactly what was recovered
//! and what could not be read.
//!
//! A damaged page loses the rows on it, not the rest of the file, so rows are read one at a time
//! and by several routes: a full scan of each table, a scan through its index, and a lookup of
//! every row id, skipping what errors. Documents are rebuilt from their snapshot and whichever
//! change chunks survive, and the projection is recomputed from them rather than trusted.
//! The outbox (edits the server never acknowledged) is what matters most: when it cannot be read
//! whole, every recovered record whose history goes beyond what the server acknowledged is
//! queued again, since sending an edit the server already has changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use automerge::ActorId;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::document::RecordDocument;
use crate::error::{Error, Result};
use crate::schema;
use crate::store::{self, Store, decode_heads, encode_heads, now_ms};

/// At most this many problems are listed in a report; the count of the rest is given.
const MAX_PROBLEMS: usize = 100;

/// Row ids are probed this far past the last one seen, so rows behind a damaged page are found.
const ROWID_PROBE_MARGIN: i64 = 256;

/// Data that could not be recovered, with the record it belonged to when that is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unrecovered {
    pub record_id: Option<String>,
    pub reason: String,
}

/// What [`recover`] recovered and what it could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Where the damaged file now is, unchanged (with its `-wal` beside it if it had one).
    pub damaged_moved_to: PathBuf,
    /// The new store holding everything recovered.
    pub recovered_to: PathBuf,
    /// The file's 100-byte header was unreadable and was rebuilt (in a working copy) to read it.
    pub header_rebuilt: bool,
    /// What SQLite's integrity check and the row-by-row reading reported.
    pub problems: Vec<String>,
    /// Records recovered whole.
    pub records_recovered: Vec<String>,
    /// Records recovered without some of their later edits (a change chunk was unreadable).
    pub records_incomplete: Vec<Unrecovered>,
    /// Records (or rows of unknown records) that could not be read at all.
    pub records_lost: Vec<Unrecovered>,
    /// Records with unacknowledged edits, queued again in the new store.
    pub pending_recovered: Vec<String>,
    /// Records whose unacknowledged edits could not be read, wholly or partly: these edits exist
    /// nowhere else.
    pub pending_lost: Vec<String>,
    pub device_id_recovered: bool,
    pub profile_recovered: bool,
    pub credentials_recovered: bool,
}

/// Rows read so far, and what went wrong reading them.
#[derive(Debug, Default)]
struct Reader {
    problems: Vec<String>,
    dropped_problems: usize,
}

impl Reader {
    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        } else {
            self.dropped_problems += 1;
        }
    }

    /// Every row `sql` yields before the first error; the error is noted, not returned.
    fn scan<T>(
        &mut self,
        conn: &Connection,
        sql: &str,
        args: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> (Vec<T>, bool) {
        let mut out = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let mut stmt = conn.prepare(sql)?;
            for item in stmt.query_map(args, row)? {
                out.push(item?);
            }
            Ok(())
        })();
        match result {
            Ok(()) => (out, true),
            Err(e) => {
                self.problem(format!("reading stopped early ({sql}): {e}"));
                (out, false)
            }
        }
    }
}

/// One document row as read from the damaged file.
#[derive(Debug)]
struct DocumentRow {
    snapshot: Vec<u8>,
    chunk_count: i64,
    acked_heads: Option<Vec<u8>>,
}

/// Copies every readable record, the outbox, refusals, and the sign-in of the store at `damaged`
/// into a new store at `new_path`, after moving the damaged file aside to
/// `<damaged>.damaged-<unix ms>`. `new_path` may be `damaged` itself, so the app can reopen the
/// store where it always was.
///
/// The recovered store's feed cursor starts from zero, so the next sync pulls back from the
/// server every acknowledged record this file lost; the new store is moved into place only once
/// it is complete.
pub fn recover(damaged: impl AsRef<Path>, new_path: impl AsRef<Path>) -> Result<RecoveryReport> {
    let damaged = damaged.as_ref();
    let new_path = new_path.as_ref();
    if !damaged.is_file() {
        return Err(Error::Invalid(format!(
            "there is no store file at {} to recover",
            damaged.display()
        )));
    }
    if new_path != damaged && new_path.exists() {
        return Err(Error::Invalid(format!(
            "{} already exists; recover into a path that is free",
            new_path.display()
        )));
    }
    let aside = suffixed(damaged, &format!(".damaged-{}", now_ms()));
    move_with_journal(damaged, &aside)?;

    let work = suffixed(new_path, ".recovery-source");
    let building = suffixed(new_path, ".recovering");
    for leftover in [&work, &building] {
        remove_with_journal(leftover)?;
    }
    let outcome = copy_with_journal(&aside, &work).and_then(|()| recover_from_copy(&work, &building));
    remove_with_journal(&work)?;
    let mut report = match outcome {
        Ok(report) => report,
        Err(e) => {
            // Nothing recovered: the damaged file goes back where it was, as it was.
            remove_with_journal(&building)?;
            move_with_journal(&aside, damaged)?;
            return Err(e);
        }
    };
    std::fs::rename(&building, new_path).map_err(|e| io_error(new_path, "move the recovered store to", e))?;
    report.damaged_moved_to = aside;
    report.recovered_to = new_path.to_path_buf();
    Ok(report)
}

fn recover_from_copy(work: &Path, building: &Path) -> Result<RecoveryReport> {
    let mut reader = Reader::default();
    let header_rebuilt = match open_readable(work) {
        Ok(()) => false,
        Err(first) => {
            reader.problem(format!("the file does not open as a database: {first}"));
            rebuild_header(work)?;
            true
        }
    };
    let old = Connection::open_with_flags(work, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| unreadable(work, e))?;
    let (messages, _) = reader.scan(&old, "PRAGMA integrity_check(50)", [], |r| r.get::<_, String>(0));
    for message in messages.into_iter().filter(|m| m != "ok") {
        reader.problem(format!("integrity check: {message}"));
    }

    let meta = read_meta(&mut reader, &old);
    let (documents, unread_rowids) = read_documents(&mut reader, &old);
    let chunks = read_chunks(&mut reader, &old);
    let (outbox, outbox_whole) = read_outbox(&mut reader, &old, documents.keys());
    let (rejections, _) = reader.scan(
        &old,
        "SELECT doc_id, code, reason, rejected_at_ms FROM rejections",
        [],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    );
    // Ids the file still names anywhere: a record missing from them all cannot be named.
    let mut named: BTreeSet<String> = documents.keys().cloned().collect();
    for sql in [
        "SELECT id FROM records",
        "SELECT doc_id FROM outbox",
        "SELECT DISTINCT doc_id FROM doc_chunks",
        "SELECT doc_id FROM rejections",
    ] {
        named.extend(reader.scan(&old, sql, [], |r| r.get::<_, String>(0)).0);
    }
    drop(old);

    let mut report = RecoveryReport {
        damaged_moved_to: PathBuf::new(),
        recovered_to: PathBuf::new(),
        header_rebuilt,
        problems: Vec::new(),
        records_recovered: Vec::new(),
        records_incomplete: Vec::new(),
        records_lost: Vec::new(),
        pending_recovered: Vec::new(),
        pending_lost: Vec::new(),
        device_id_recovered: meta.contains_key("device_id"),
        profile_recovered: meta.contains_key("profile"),
        credentials_recovered: meta.contains_key("credentials"),
    };

    let mut new = Store::open(building)?;
    let tx = new.conn.transaction()?;
    for (key, value) in &meta {
        // The cursor restarts so that the server sends back what this file lost.
        if key == "cursor" || key == "cursor_check" || key.starts_with("fallback:") {
            continue;
        }
        store::meta_set(&tx, key, value)?;
    }
    for id in &named {
        let Some(row) = documents.get(id) else {
            report.records_lost.push(Unrecovered {
                record_id: Some(id.clone()),
                reason: "its document row is unreadable".into(),
            });
            if outbox.contains_key(id) {
                report.pending_lost.push(id.clone());
            }
            continue;
        };
        let (mut doc, missing_chunks) = match rebuild_document(id, row, &chunks) {
            Ok(rebuilt) => rebuilt,
            Err(reason) => {
                reader.problem(format!("record {id}: {reason}"));
                report.records_lost.push(Unrecovered {
                    record_id: Some(id.clone()),
                    reason,
                });
                if outbox.contains_key(id) {
                    report.pending_lost.push(id.clone());
                }
                continue;
            }
        };
        let acked = row
            .acked_heads
            .as_deref()
            .and_then(|bytes| decode_heads(bytes).ok())
            .filter(|heads| !heads.is_empty() && doc.has_all(heads));
        let beyond_acked = acked.as_ref() != Some(&doc.heads());
        let queued = outbox.get(id).copied();
        let pending = queued.is_some() || (!outbox_whole && beyond_acked);
        let kind = doc.header()?.kind;
        tx.execute(
            "INSERT INTO documents (id, kind, snapshot, chunk_count, acked_heads, updated_at_ms)
             VALUES (?1, ?2, ?3, 0, ?4, ?5)",
            params![id, kind, doc.save(), acked.as_deref().map(encode_heads), now_ms()],
        )?;
        store::write_projection(&tx, &doc)?;
        if pending {
            let (queued_at_ms, edits) = queued.unwrap_or((now_ms(), 1));
            tx.execute(
                "INSERT INTO outbox (doc_id, queued_at_ms, edits) VALUES (?1, ?2, ?3)",
                params![id, queued_at_ms, edits],
            )?;
            report.pending_recovered.push(id.clone());
        }
        if missing_chunks.is_empty() {
            report.records_recovered.push(id.clone());
        } else {
            if pending {
                report.pending_lost.push(id.clone());
            }
            report.records_incomplete.push(Unrecovered {
                record_id: Some(id.clone()),
                reason: format!(
                    "unreadable change chunks (numbers {}); the edits in them are missing",
                    missing_chunks
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    // Unreadable document rows beyond those of records named elsewhere in the file.
    let named_unreadable = report
        .records_lost
        .iter()
        .filter(|l| l.record_id.as_ref().is_some_and(|id| !documents.contains_key(id)))
        .count();
    let unnamed = unread_rowids.len().saturating_sub(named_unreadable);
    if unnamed > 0 {
        report.records_lost.push(Unrecovered {
            record_id: None,
            reason: format!(
                "{unnamed} more document rows are unreadable and nothing left in the file names their records"
            ),
        });
    }
    for (id, code, reason, at) in rejections {
        if documents.contains_key(&id)
            && report
                .records_lost
                .iter()
                .all(|l| l.record_id.as_ref() != Some(&id))
        {
            tx.execute(
                "INSERT OR REPLACE INTO rejections (doc_id, code, reason, rejected_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![id, code, reason, at],
            )?;
        }
    }
    tx.commit()?;
    drop(new);
    if reader.dropped_problems > 0 {
        let more = reader.dropped_problems;
        reader.problems.push(format!("… and {more} more problems"));
    }
    report.problems = reader.problems;
    Ok(report)
}

/// Loads the snapshot and then each readable chunk in order, skipping damaged ones; returns the
/// document and the chunk numbers that were missing or unreadable.
fn rebuild_document(
    id: &str,
    row: &DocumentRow,
    chunks: &BTreeMap<(String, i64), Vec<u8>>,
) -> std::result::Result<(RecordDocument, Vec<i64>), String> {
    let mut doc = RecordDocument::load(&row.snapshot, ActorId::random())
        .map_err(|e| format!("its snapshot does not load: {e}"))?;
    let header = doc.header().map_err(|e| e.to_string())?;
    if header.id != id {
        return Err(format!("its snapshot holds another record ({})", header.id));
    }
    let mine: BTreeMap<i64, &Vec<u8>> = chunks
        .range((id.to_owned(), i64::MIN)..=(id.to_owned(), i64::MAX))
        .map(|((_, seq), bytes)| (*seq, bytes))
        .collect();
    let mut missing = Vec::new();
    let last = mine
        .keys()
        .next_back()
        .copied()
        .unwrap_or(-1)
        .max(row.chunk_count - 1);
    for seq in 0..=last {
        match mine.get(&seq) {
            Some(bytes) => {
                if doc.apply_bytes(bytes).is_err() {
                    missing.push(seq);
                }
            }
            None => missing.push(seq),
        }
    }
    doc.record()
        .map_err(|e| format!("it is not a readable record: {e}"))?;
    Ok((doc, missing))
}

fn read_meta(reader: &mut Reader, conn: &Connection) -> BTreeMap<String, String> {
    let mut meta: BTreeMap<String, String> = reader
        .scan(conn, "SELECT key, value FROM meta", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .0
        .into_iter()
        .collect();
    let by_rowid = probe_rowids(reader, conn, "meta", |conn, rowid| {
        conn.prepare_cached("SELECT key, value FROM meta NOT INDEXED WHERE rowid = ?1")?
            .query_row([rowid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .optional()
    });
    for (_, (key, value)) in by_rowid.0 {
        meta.entry(key).or_insert(value);
    }
    meta
}

/// Document rows by id, and the row ids whose rows could not be read.
fn read_documents(reader: &mut Reader, conn: &Connection) -> (BTreeMap<String, DocumentRow>, Vec<i64>) {
    let row = |r: &rusqlite::Row<'_>| {
        Ok((
            r.get::<_, String>(0)?,
            DocumentRow {
                snapshot: r.get(1)?,
                chunk_count: r.get(2)?,
                acked_heads: r.get(3)?,
            },
        ))
    };
    let mut documents: BTreeMap<String, DocumentRow> = reader
        .scan(
            conn,
            "SELECT id, snapshot, chunk_count, acked_heads FROM documents NOT INDEXED",
            [],
            row,
        )
        .0
        .into_iter()
        .collect();
    let (found, unread) = probe_rowids(reader, conn, "documents", |conn, rowid| {
        conn.prepare_cached(
            "SELECT id, snapshot, chunk_count, acked_heads FROM documents NOT INDEXED WHERE rowid = ?1",
        )?
        .query_row([rowid], row)
        .optional()
    });
    for (_, (id, doc)) in found {
        documents.entry(id).or_insert(doc);
    }
    // Ids only the index still knows: look each one up through it.
    let (indexed, _) = reader.scan(
        conn,
        "SELECT id FROM documents INDEXED BY sqlite_autoindex_documents_1",
        [],
        |r| r.get::<_, String>(0),
    );
    for id in indexed {
        if documents.contains_key(&id) {
            continue;
        }
        match conn
            .query_row(
                "SELECT id, snapshot, chunk_count, acked_heads FROM documents WHERE id = ?1",
                [&id],
                row,
            )
            .optional()
        {
            Ok(Some((id, doc))) => {
                documents.insert(id, doc);
            }
            Ok(None) => {}
            Err(e) => reader.problem(format!("record {id}: document row unreadable: {e}")),
        }
    }
    (documents, unread)
}

fn read_chunks(reader: &mut Reader, conn: &Connection) -> BTreeMap<(String, i64), Vec<u8>> {
    let row = |r: &rusqlite::Row<'_>| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, i64>(1)?),
            r.get::<_, Vec<u8>>(2)?,
        ))
    };
    let mut chunks: BTreeMap<(String, i64), Vec<u8>> = reader
        .scan(
            conn,
            "SELECT doc_id, seq, bytes FROM doc_chunks NOT INDEXED",
            [],
            row,
        )
        .0
        .into_iter()
        .collect();
    let (found, unread) = probe_rowids(reader, conn, "doc_chunks", |conn, rowid| {
        conn.prepare_cached("SELECT doc_id, seq, bytes FROM doc_chunks NOT INDEXED WHERE rowid = ?1")?
            .query_row([rowid], row)
            .optional()
    });
    for (_, (key, bytes)) in found {
        chunks.entry(key).or_insert(bytes);
    }
    if !unread.is_empty() {
        reader.problem(format!("{} change chunk rows are unreadable", unread.len()));
    }
    chunks
}

/// Outbox entries by record id (queued at, edits), and whether the whole table was read.
fn read_outbox<'a>(
    reader: &mut Reader,
    conn: &Connection,
    ids: impl Iterator<Item = &'a String>,
) -> (BTreeMap<String, (i64, i64)>, bool) {
    let row =
        |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
    let (scanned, whole) = reader.scan(
        conn,
        "SELECT doc_id, queued_at_ms, edits FROM outbox NOT INDEXED",
        [],
        row,
    );
    let mut outbox: BTreeMap<String, (i64, i64)> = scanned.into_iter().collect();
    let (found, unread) = probe_rowids(reader, conn, "outbox", |conn, rowid| {
        conn.prepare_cached("SELECT doc_id, queued_at_ms, edits FROM outbox NOT INDEXED WHERE rowid = ?1")?
            .query_row([rowid], row)
            .optional()
    });
    for (_, (id, entry)) in found {
        outbox.entry(id).or_insert(entry);
    }
    for id in ids {
        if outbox.contains_key(id) {
            continue;
        }
        if let Ok(Some(entry)) = conn
            .query_row(
                "SELECT queued_at_ms, edits FROM outbox WHERE doc_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        {
            outbox.insert(id.clone(), entry);
        }
    }
    (outbox, whole && unread.is_empty())
}

/// Looks up every row id of `table` from 1 to past the largest one seen, one at a time, so rows
/// on intact pages behind a damaged one are still found. Returns the rows found and the row ids
/// whose lookup failed.
fn probe_rowids<T>(
    reader: &mut Reader,
    conn: &Connection,
    table: &str,
    lookup: impl Fn(&Connection, i64) -> rusqlite::Result<Option<T>>,
) -> (Vec<(i64, T)>, Vec<i64>) {
    // The largest row id any route can still tell (the table itself, or its primary key index);
    // probing runs a margin past it.
    let mut highest = 0i64;
    for sql in [
        format!("SELECT max(rowid) FROM {table} NOT INDEXED"),
        format!("SELECT rowid FROM {table} NOT INDEXED"),
        format!("SELECT rowid FROM {table} INDEXED BY sqlite_autoindex_{table}_1"),
    ] {
        let (rowids, _) = reader.scan(conn, &sql, [], |r| r.get::<_, Option<i64>>(0));
        highest = highest.max(rowids.into_iter().flatten().max().unwrap_or(0));
    }
    let mut found = Vec::new();
    let mut unread = Vec::new();
    let mut rowid = 1i64;
    let mut last_found = 0i64;
    // Only rows found extend the search: past the end of a damaged tree every lookup may fail.
    while rowid <= highest || rowid - last_found <= ROWID_PROBE_MARGIN {
        match lookup(conn, rowid) {
            Ok(Some(row)) => {
                found.push((rowid, row));
                last_found = rowid;
            }
            Ok(None) => {}
            Err(_) => unread.push(rowid),
        }
        rowid += 1;
    }
    unread.retain(|id| *id <= last_found.max(highest));
    (found, unread)
}

/// Whether SQLite reads the file's header and its table list.
fn open_readable(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
    Ok(())
}

/// Writes a plausible 100-byte database header over the working copy's damaged one, trying each
/// page size the file's length allows until SQLite finds the store's tables behind it.
fn rebuild_header(path: &Path) -> Result<()> {
    let original = std::fs::read(path).map_err(|e| io_error(path, "read", e))?;
    if original.len() < 512 {
        return Err(Error::CorruptDatabase {
            path: path.display().to_string(),
            reason: format!("only {} bytes are left; nothing can be recovered", original.len()),
        });
    }
    let has_wal = suffixed(path, "-wal").exists();
    for page_size in [4096u32, 1024, 2048, 8192, 16384, 32768, 65536, 512] {
        let pages = original.len() as u32 / page_size;
        if pages == 0 {
            continue;
        }
        let mut bytes = original.clone();
        bytes[..100].copy_from_slice(&database_header(page_size, pages, has_wal));
        std::fs::write(path, &bytes).map_err(|e| io_error(path, "write", e))?;
        if open_readable(path).is_ok() && has_store_tables(path) {
            return Ok(());
        }
    }
    std::fs::write(path, &original).map_err(|e| io_error(path, "write", e))?;
    Err(Error::CorruptDatabase {
        path: path.display().to_string(),
        reason: "its header is damaged and no page size reads the store's tables behind it".into(),
    })
}

fn has_store_tables(path: &Path) -> bool {
    Connection::open(path)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('documents', 'outbox', 'meta')",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .is_ok_and(|n| n == 3)
}

/// The SQLite file header (https://sqlite.org/fileformat.html §1.3) for a store of `pages` pages.
fn database_header(page_size: u32, pages: u32, wal: bool) -> [u8; 100] {
    let mut h = [0u8; 100];
    h[..16].copy_from_slice(b"SQLite format 3\0");
    // 65536 is written as 1.
    let size_field = if page_size == 65536 {
        1u16
    } else {
        page_size as u16
    };
    h[16..18].copy_from_slice(&size_field.to_be_bytes());
    let format = if wal { 2 } else { 1 };
    h[18] = format;
    h[19] = format;
    h[20] = 0; // reserved bytes per page
    h[21] = 64; // max embedded payload fraction
    h[22] = 32; // min embedded payload fraction
    h[23] = 32; // leaf payload fraction
    h[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
    h[28..32].copy_from_slice(&pages.to_be_bytes()); // size in pages, valid with the counter below
    h[40..44].copy_from_slice(&1u32.to_be_bytes()); // schema cookie
    h[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
    h[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
    h[60..64].copy_from_slice(&schema::VERSION.to_be_bytes());
    h[68..72].copy_from_slice(&schema::APPLICATION_ID.to_be_bytes());
    h[92..96].copy_from_slice(&1u32.to_be_bytes()); // version-valid-for = change counter
    h[96..100].copy_from_slice(&(rusqlite::version_number() as u32).to_be_bytes());
    h
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The journal files SQLite keeps beside a database in WAL mode.
const JOURNALS: [&str; 2] = ["-wal", "-shm"];

fn move_with_journal(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| io_error(from, "move aside", e))?;
    for journal in JOURNALS {
        let source = suffixed(from, journal);
        if source.exists() {
            std::fs::rename(&source, suffixed(to, journal))
                .map_err(|e| io_error(&source, "move aside", e))?;
        }
    }
    Ok(())
}

fn copy_with_journal(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| io_error(from, "copy", e))?;
    let wal = suffixed(from, "-wal");
    if wal.exists() {
        std::fs::copy(&wal, suffixed(to, "-wal")).map_err(|e| io_error(&wal, "copy", e))?;
    }
    Ok(())
}

fn remove_with_journal(path: &Path) -> Result<()> {
    for file in [path.to_path_buf(), suffixed(path, "-wal"), suffixed(path, "-shm")] {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&file, "remove", e)),
        }
    }
    Ok(())
}

fn io_error(path: &Path, action: &str, e: std::io::Error) -> Error {
    Error::Invalid(format!("cannot {action} {}: {e}", path.display()))
}

fn unreadable(path: &Path, e: rusqlite::Error) -> Error {
    Error::CorruptDatabase {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
