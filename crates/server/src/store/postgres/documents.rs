//! Documents, the per-company change feed, clock anchors and what one sync writes.

use super::Tx;
use postgres::types::ToSql;
use sync_core::Kind;
use sync_core::clock::ClockAnchor;
use sync_core::model::ANONYMOUS;
use sync_core::protocol::Role;

use super::super::{
    AcceptedChange, ActorOwner, AuditNote, DocumentStore, FeedEntry, PROGRAM_FACT_LOOKBACK_MS, Scope,
    StampSource, StoreError, StoreResult, StoredDoc, SyncWrite,
};
use super::{PgStore, audit_in};
use sync_core::{Flag, Projection};

/// A query argument of any type; [`refs`] lends them to the client.
pub(super) type Arg = Box<dyn ToSql + Sync + Send>;

pub(super) fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// SQL condition (and its arguments, numbered after those in `args`) limiting feed, document or
/// record rows to a scope. Workers see their own records plus the kinds shared at a site
/// (`Visibility::Site`; not near misses, which may be anonymous) at their sites; supervisors
/// everything at their sites; admins the whole company. The same rules as the SQLite store's,
/// held to by the conformance suite.
pub(super) fn scope_sql(scope: &Scope, args: &mut Vec<Arg>) -> String {
    args.push(Box::new(scope.tenant_id.clone()));
    let mut sql = format!("tenant_id = ${}", args.len());
    match scope.role {
        Role::Admin => {}
        Role::Supervisor => {
            args.push(Box::new(scope.sites.clone()));
            sql.push_str(&format!(" AND site_id = ANY(${})", args.len()));
        }
        Role::Worker => {
            args.push(Box::new(scope.user_id.clone()));
            let user = args.len();
            let shared: Vec<String> = Kind::shared_at_site().map(|k| k.as_str().to_owned()).collect();
            args.push(Box::new(shared));
            let kinds = args.len();
            args.push(Box::new(scope.sites.clone()));
            sql.push_str(&format!(
                " AND (created_by = ${user} OR (kind = ANY(${kinds}) AND site_id = ANY(${})))",
                args.len()
            ));
        }
    }
    sql
}

/// The feed columns a device's sync reads.
const FEED_COLUMNS: &str = "seq, doc_id, origin_device, octet_length(bytes)::bigint";

/// The feed entries in `scope` after `cursor`, oldest first, at most `limit`; `None` when the
/// scope can see nothing. As in the SQLite store, each thing a scope selects is one index range
/// in seq order (the worker's own records, each of its sites, or the whole company), each
/// limited, merged by seq: a new device reads its own scope, not the company's whole feed.
///
/// Anonymous reports never travel to phones (their stamps would name the reporter's phone).
fn feed_sql(scope: &Scope, cursor: u64, limit: u32) -> Option<(String, Vec<Arg>)> {
    let sites: std::collections::BTreeSet<&str> = scope.sites.iter().map(String::as_str).collect();
    let mut args: Vec<Arg> = vec![
        Box::new(scope.tenant_id.clone()),
        Box::new(cursor as i64),
        Box::new(i64::from(limit)),
    ];
    let range = |condition: &str| {
        format!(
            "(SELECT {FEED_COLUMNS} FROM feed WHERE tenant_id = $1{condition} AND seq > $2 \
             AND created_by <> '{ANONYMOUS}' ORDER BY seq LIMIT $3)"
        )
    };
    let mut arms = Vec::new();
    match scope.role {
        Role::Admin => arms.push(range("")),
        Role::Supervisor => {
            for site in sites {
                args.push(Box::new(site.to_owned()));
                arms.push(range(&format!(" AND site_id = ${}", args.len())));
            }
        }
        Role::Worker => {
            args.push(Box::new(scope.user_id.clone()));
            let user = args.len();
            arms.push(range(&format!(" AND created_by = ${user}")));
            if !sites.is_empty() {
                let shared: Vec<String> = Kind::shared_at_site().map(|k| k.as_str().to_owned()).collect();
                args.push(Box::new(shared));
                let kinds = args.len();
                // Their own records come from the range above, so not twice.
                for site in sites {
                    args.push(Box::new(site.to_owned()));
                    arms.push(range(&format!(
                        " AND site_id = ${} AND kind = ANY(${kinds}) AND created_by <> ${user}",
                        args.len()
                    )));
                }
            }
        }
    }
    if arms.is_empty() {
        return None;
    }
    Some((
        format!(
            "SELECT * FROM ({}) AS scope_feed ORDER BY seq LIMIT $3",
            arms.join(" UNION ALL ")
        ),
        args,
    ))
}

impl DocumentStore for PgStore {
    fn clock_anchors(
        &self,
        tenant_id: &str,
        device_boots: &[(String, String)],
    ) -> StoreResult<Vec<ClockAnchor>> {
        if device_boots.is_empty() {
            return Ok(Vec::new());
        }
        let devices: Vec<&str> = device_boots.iter().map(|(d, _)| d.as_str()).collect();
        let boots: Vec<&str> = device_boots.iter().map(|(_, b)| b.as_str()).collect();
        let rows = self.client()?.query(
            "SELECT device_id, boot_id, monotonic_ms, device_wall_ms, server_ms, uncertainty_ms FROM clock_anchors
             WHERE tenant_id = $1 AND (device_id, boot_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
             ORDER BY device_id, boot_id, server_ms",
            &[&tenant_id, &devices, &boots],
        )?;
        Ok(rows.iter().map(anchor_from_row).collect())
    }

    fn actor(&self, actor_hex: &str) -> StoreResult<Option<ActorOwner>> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT tenant_id, user_id, device_id, anonymous FROM actors WHERE actor = $1",
                &[&actor_hex],
            )?
            .map(|r| ActorOwner {
                tenant_id: r.get(0),
                user_id: r.get(1),
                device_id: r.get(2),
                anonymous: r.get(3),
            }))
    }

    fn register_actor(&self, actor_hex: &str, owner: &ActorOwner) -> StoreResult<()> {
        self.client()?.execute(
            "INSERT INTO actors (actor, tenant_id, user_id, device_id, anonymous) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[
                &actor_hex,
                &owner.tenant_id,
                &owner.user_id,
                &owner.device_id,
                &owner.anonymous,
            ],
        )?;
        Ok(())
    }

    fn actor_for_device(&self, device_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT actor FROM actors WHERE device_id = $1 AND NOT anonymous ORDER BY actor LIMIT 1",
                &[&device_id],
            )?
            .map(|r| r.get(0)))
    }

    fn document(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Option<StoredDoc>> {
        let mut client = self.client()?;
        let Some(row) = client.query_opt(
            "SELECT tenant_id, snapshot, snapshot_seq FROM documents WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &doc_id],
        )?
        else {
            return Ok(None);
        };
        let snapshot_seq: i64 = row.get(2);
        // Feed rows are never removed, so chunks read after a compaction that committed since
        // the row above are a superset of what the snapshot lacks: loading stays complete.
        let chunks = client
            .query(
                "SELECT bytes FROM feed WHERE tenant_id = $1 AND doc_id = $2 AND seq > $3 ORDER BY seq",
                &[&tenant_id, &doc_id, &snapshot_seq],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Some(StoredDoc {
            tenant_id: row.get(0),
            snapshot: row.get(1),
            chunks,
        }))
    }

    fn accept_all(&self, changes: &[AcceptedChange], audit: Option<&AuditNote>) -> StoreResult<()> {
        if changes.is_empty() {
            // An audit entry names the company of the change it describes: with no change it
            // has none, and would be lost without a word.
            return match audit {
                None => Ok(()),
                Some(note) => Err(StoreError::Invalid(format!(
                    "the audit entry {:?} describes no change",
                    note.action
                ))),
            };
        }
        self.transaction(|tx| {
            for change in changes {
                self.accept_in(tx, change)?;
            }
            if let (Some(note), Some(change)) = (audit, changes.first()) {
                audit_in(tx, &change.tenant_id, &note.user_id, &note.action, &note.detail)?;
            }
            Ok(())
        })
    }

    fn feed(&self, scope: &Scope, cursor: u64, limit: u32) -> StoreResult<Vec<FeedEntry>> {
        let Some((sql, args)) = feed_sql(scope, cursor, limit) else {
            return Ok(Vec::new());
        };
        let rows = self.client()?.query(&sql, &refs(&args))?;
        Ok(rows
            .iter()
            .map(|r| FeedEntry {
                seq: r.get::<_, i64>(0) as u64,
                doc_id: r.get(1),
                origin_device: r.get(2),
                bytes: r.get::<_, i64>(3) as usize,
            })
            .collect())
    }

    fn feed_head(&self, tenant_id: &str) -> StoreResult<u64> {
        // The committed entries' head, not `feed_heads` (which a write in flight has moved on).
        let seq: Option<i64> = self
            .client()?
            .query_one("SELECT max(seq) FROM feed WHERE tenant_id = $1", &[&tenant_id])?
            .get(0);
        Ok(seq.unwrap_or(0) as u64)
    }

    fn feed_check(&self, tenant_id: &str, seq: u64) -> StoreResult<Option<u64>> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        Ok(self
            .client()?
            .query_opt(
                "SELECT nonce FROM feed WHERE tenant_id = $1 AND seq = $2",
                &[&tenant_id, &seq],
            )?
            .map(|r| r.get::<_, i64>(0) as u64))
    }

    fn current_snapshot(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT snapshot FROM documents WHERE tenant_id = $1 AND id = $2 AND chunk_count = 0",
                &[&tenant_id, &doc_id],
            )?
            .map(|r| r.get(0)))
    }

    fn chunks_after(&self, tenant_id: &str, doc_id: &str, cursor: u64) -> StoreResult<Vec<Vec<u8>>> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        Ok(self
            .client()?
            .query(
                "SELECT bytes FROM feed WHERE tenant_id = $1 AND doc_id = $2 AND seq > $3 ORDER BY seq",
                &[&tenant_id, &doc_id, &cursor],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn in_scope(&self, scope: &Scope, doc_id: &str) -> StoreResult<bool> {
        let mut args = Vec::new();
        let condition = scope_sql(scope, &mut args);
        args.push(Box::new(doc_id.to_owned()));
        let sql = format!(
            "SELECT EXISTS(SELECT 1 FROM documents WHERE {condition} AND id = ${})",
            args.len()
        );
        Ok(self.client()?.query_one(&sql, &refs(&args))?.get(0))
    }

    fn commit_sync(&self, write: &SyncWrite<'_>) -> StoreResult<usize> {
        self.transaction(|tx| {
            if write.changes.is_empty() {
                // Only the clock anchor and the device's last-seen note: losing them to a crash
                // loses nothing anyone was told was saved (as on SQLite), so this commit does
                // not wait for its flush to disk. An idle sync then costs no fsync.
                tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
            let anchor = write.anchor;
            let queued = queue_for_anchor(tx, write)?;
            tx.execute(
                "INSERT INTO clock_anchors (boot_id, device_id, tenant_id, monotonic_ms, device_wall_ms, server_ms, uncertainty_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &anchor.boot_id,
                    &write.device_id,
                    &write.tenant_id,
                    &anchor.monotonic_ms,
                    &anchor.device_wall_ms,
                    &anchor.server_ms,
                    &anchor.uncertainty_ms,
                ],
            )?;
            tx.execute(
                "UPDATE devices SET last_sync_at_ms = $2, last_clock = $3 WHERE id = $1",
                &[&write.device_id, &write.synced_at_ms, &write.clock_note],
            )?;
            for change in write.changes {
                self.accept_in(tx, change)?;
            }
            Ok(queued)
        })
    }
}

fn anchor_from_row(r: &postgres::Row) -> ClockAnchor {
    ClockAnchor {
        device_id: r.get(0),
        boot_id: r.get(1),
        monotonic_ms: r.get(2),
        device_wall_ms: r.get(3),
        server_ms: r.get(4),
        uncertainty_ms: r.get(5),
    }
}

impl PgStore {
    /// One accepted push, inside the caller's transaction.
    fn accept_in(&self, tx: &mut Tx<'_>, change: &AcceptedChange) -> StoreResult<()> {
        let p = &change.projection;
        // First, so the company's writers queue here: everything below is then written by
        // one of them at a time, in feed order.
        let seq = self.next_seq(tx, &change.tenant_id)?;
        if let Some(from) = change.program_fact_from {
            queue_program_readers(tx, &change.tenant_id, from)?;
        }
        super::program::register_in(tx, &change.tenant_id, &change.register)?;
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2)",
                &[&change.tenant_id, &change.doc_id],
            )?
            .get(0);
        if !exists {
            // The first snapshot is the record as created; the feed chunk carries the same bytes.
            let first: &[u8] = change.snapshot.as_deref().unwrap_or(&change.chunk);
            tx.execute(
                "INSERT INTO documents (id, tenant_id, kind, site_id, created_by, snapshot, snapshot_seq, chunk_count)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, 0)",
                &[&change.doc_id, &change.tenant_id, &p.kind, &p.site_id, &p.created_by, &first],
            )?;
        }
        // Positive and non-zero, so 0 can mean "no entry".
        let nonce = (rand::random::<u64>() >> 2) as i64 + 1;
        tx.execute(
            "INSERT INTO feed (tenant_id, seq, doc_id, kind, site_id, created_by, origin_device, bytes, nonce)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &change.tenant_id,
                &seq,
                &change.doc_id,
                &p.kind,
                &p.site_id,
                &p.created_by,
                &change.origin_device,
                &change.chunk,
                &nonce,
            ],
        )?;
        match (&change.snapshot, exists) {
            (Some(snapshot), _) => {
                tx.execute(
                    "UPDATE documents SET snapshot = $3, snapshot_seq = $4, chunk_count = 0 WHERE tenant_id = $1 AND id = $2",
                    &[&change.tenant_id, &change.doc_id, snapshot, &seq],
                )?;
            }
            (None, true) => {
                tx.execute(
                    "UPDATE documents SET chunk_count = chunk_count + 1 WHERE tenant_id = $1 AND id = $2",
                    &[&change.tenant_id, &change.doc_id],
                )?;
            }
            (None, false) => {
                tx.execute(
                    "UPDATE documents SET snapshot_seq = $3 WHERE tenant_id = $1 AND id = $2",
                    &[&change.tenant_id, &change.doc_id, &seq],
                )?;
            }
        }
        write_verdict(
            tx,
            &change.tenant_id,
            p,
            &change.flags,
            &change.stamps,
            change.rejudge_at,
        )
    }
}

/// Queues the records a new clock anchor may judge differently: those with stamps from the same
/// device and boot made since its previous anchor (the new one is the nearest to them), or every
/// stamp of the boot when there was none or the two disagree (the boot's clock is then in doubt).
/// Records of this same request are judged with the anchor already.
fn queue_for_anchor(tx: &mut Tx<'_>, write: &SyncWrite<'_>) -> StoreResult<usize> {
    let anchor = write.anchor;
    let previous = tx
        .query_opt(
            "SELECT device_id, boot_id, monotonic_ms, device_wall_ms, server_ms, uncertainty_ms FROM clock_anchors
             WHERE tenant_id = $1 AND device_id = $2 AND boot_id = $3 ORDER BY server_ms DESC LIMIT 1",
            &[&write.tenant_id, &write.device_id, &anchor.boot_id],
        )?
        .map(|r| anchor_from_row(&r));
    let since = match previous {
        Some(previous) if sync_core::clock::consistent(&previous, anchor) => previous.monotonic_ms,
        _ => i64::MIN,
    };
    let in_request: Vec<&str> = write.changes.iter().map(|c| c.doc_id.as_str()).collect();
    let queued = tx.execute(
        "INSERT INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
         SELECT DISTINCT tenant_id, doc_id, 'a clock anchor arrived for the device that stamped it', $5::bigint
         FROM record_stamps
         WHERE tenant_id = $1 AND device_id = $2 AND boot_id = $3 AND monotonic_ms > $4
           AND NOT (doc_id = ANY($6))
         ON CONFLICT DO NOTHING",
        &[
            &write.tenant_id,
            &write.device_id,
            &anchor.boot_id,
            &since,
            &super::super::sqlite::now_ms(),
            &in_request,
        ],
    )?;
    Ok(queued as usize)
}

/// Queues the company's records whose flags read the program (JSEAs, pre-starts) made since a
/// qualification that counts from `from_ms` (less [`PROGRAM_FACT_LOOKBACK_MS`]): it arrived after
/// them and may change their flags.
fn queue_program_readers(tx: &mut Tx<'_>, tenant_id: &str, from_ms: i64) -> StoreResult<()> {
    let kinds: Vec<&str> = Kind::ALL
        .iter()
        .filter(|k| k.reads_program())
        .map(|k| k.as_str())
        .collect();
    tx.execute(
        "INSERT INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
         SELECT tenant_id, id, 'a qualification arrived after it', $3::bigint FROM records
         WHERE tenant_id = $1 AND kind = ANY($2) AND created_at_ms >= $3
         ON CONFLICT DO NOTHING",
        &[&tenant_id, &kinds, &(from_ms - PROGRAM_FACT_LOOKBACK_MS)],
    )?;
    Ok(())
}

/// Writes a record's projection row, its flags, where its stamps came from and when it is next
/// judged again.
pub(super) fn write_verdict(
    tx: &mut Tx<'_>,
    tenant_id: &str,
    p: &Projection,
    flags: &[Flag],
    stamps: &[StampSource],
    rejudge_at: Option<i64>,
) -> StoreResult<()> {
    match rejudge_at {
        Some(at) => tx.execute(
            "INSERT INTO rejudge_at (tenant_id, doc_id, at_ms) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, doc_id) DO UPDATE SET at_ms = EXCLUDED.at_ms",
            &[&tenant_id, &p.id, &at],
        )?,
        None => tx.execute(
            "DELETE FROM rejudge_at WHERE tenant_id = $1 AND doc_id = $2",
            &[&tenant_id, &p.id],
        )?,
    };
    let flag_codes = serde_json::to_string(&p.flags).unwrap_or_default();
    tx.execute(
        "INSERT INTO records (id, tenant_id, kind, site_id, job_id, status, title, created_by,
             created_at_ms, completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash,
             closed_at_ms, assignee, due_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
             kind = EXCLUDED.kind, site_id = EXCLUDED.site_id, job_id = EXCLUDED.job_id,
             status = EXCLUDED.status, title = EXCLUDED.title, created_by = EXCLUDED.created_by,
             created_at_ms = EXCLUDED.created_at_ms, completed_at_ms = EXCLUDED.completed_at_ms,
             work_started_at_ms = EXCLUDED.work_started_at_ms, flags = EXCLUDED.flags,
             blocking_findings = EXCLUDED.blocking_findings, conflicts = EXCLUDED.conflicts,
             content_hash = EXCLUDED.content_hash, closed_at_ms = EXCLUDED.closed_at_ms,
             assignee = EXCLUDED.assignee, due_at_ms = EXCLUDED.due_at_ms",
        &[
            &p.id,
            &tenant_id,
            &p.kind,
            &p.site_id,
            &p.job_id,
            &p.status,
            &p.title,
            &p.created_by,
            &p.created_at_ms,
            &p.completed_at_ms,
            &p.work_started_at_ms,
            &flag_codes,
            &i64::from(p.blocking_findings),
            &i64::from(p.conflicts),
            &p.content_hash,
            &p.closed_at_ms,
            &p.assignee,
            &p.due_at_ms,
        ],
    )?;
    tx.execute(
        "DELETE FROM record_flags WHERE tenant_id = $1 AND record_id = $2",
        &[&tenant_id, &p.id],
    )?;
    for flag in flags {
        tx.execute(
            "INSERT INTO record_flags (tenant_id, record_id, code, flag) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[
                &tenant_id,
                &p.id,
                &flag.code,
                &serde_json::to_string(flag).unwrap_or_default(),
            ],
        )?;
    }
    tx.execute(
        "DELETE FROM record_stamps WHERE tenant_id = $1 AND doc_id = $2",
        &[&tenant_id, &p.id],
    )?;
    for stamp in stamps {
        tx.execute(
            "INSERT INTO record_stamps (tenant_id, doc_id, device_id, boot_id, monotonic_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant_id, &p.id, &stamp.device_id, &stamp.boot_id, &stamp.monotonic_ms],
        )?;
    }
    Ok(())
}
