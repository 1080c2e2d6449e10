//! List rows and flags, and the queue of records to judge again.

use sync_core::{Flag, ListFilter, ListOrder, Projection};

use super::super::{Judgement, ProjectionStore, Rejudge, Scope, StoreError, StoreResult};
use super::PgStore;
use super::documents::{Arg, refs, scope_sql, write_verdict};

/// The projection's columns, in the order [`projection_from_row`] reads them.
const PROJECTION_COLUMNS: &str = "id, kind, tenant_id, site_id, job_id, status, title, created_by, created_at_ms, \
     completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash, closed_at_ms, assignee, \
     due_at_ms";

fn projection_from_row(r: &postgres::Row) -> Projection {
    let flags: String = r.get(11);
    Projection {
        id: r.get(0),
        kind: r.get(1),
        tenant_id: r.get(2),
        site_id: r.get(3),
        job_id: r.get(4),
        status: r.get(5),
        title: r.get(6),
        created_by: r.get(7),
        created_at_ms: r.get(8),
        completed_at_ms: r.get(9),
        work_started_at_ms: r.get(10),
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        blocking_findings: u32::try_from(r.get::<_, i64>(12)).unwrap_or(u32::MAX),
        conflicts: u32::try_from(r.get::<_, i64>(13)).unwrap_or(u32::MAX),
        content_hash: r.get(14),
        closed_at_ms: r.get(15),
        assignee: r.get(16),
        due_at_ms: r.get(17),
    }
}

/// The `ORDER BY` clause for a list; ties broken by id so pages never overlap. Records not
/// completed sort last in the completed orders (`IS NULL` is false before true).
fn order_sql(order: ListOrder) -> &'static str {
    match order {
        ListOrder::NewestCreated => "created_at_ms DESC, id",
        ListOrder::OldestCreated => "created_at_ms ASC, id",
        ListOrder::NewestCompleted => "completed_at_ms IS NULL, completed_at_ms DESC, id",
        ListOrder::OldestCompleted => "completed_at_ms IS NULL, completed_at_ms ASC, id",
        ListOrder::Title => "lower(title), id",
    }
}

/// The filter's conditions over `records`, each starting with ` AND `, arguments numbered after
/// those in `args`. The flag condition is keyed by company and record.
fn filter_sql(filter: &ListFilter, args: &mut Vec<Arg>) -> String {
    let mut sql = String::new();
    let mut push = |clause: &str, value: Arg| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(v) = &filter.kind {
        push(" AND kind = ?", Box::new(v.clone()));
    }
    if let Some(v) = &filter.site_id {
        push(" AND site_id = ?", Box::new(v.clone()));
    }
    if let Some(v) = &filter.status {
        push(" AND status = ?", Box::new(v.clone()));
    }
    if let Some(v) = &filter.created_by {
        push(" AND created_by = ?", Box::new(v.clone()));
    }
    if let Some(v) = filter.created_from_ms {
        push(" AND created_at_ms >= ?", Box::new(v));
    }
    if let Some(v) = filter.created_to_ms {
        push(" AND created_at_ms < ?", Box::new(v));
    }
    if let Some(v) = filter.completed_from_ms {
        push(" AND completed_at_ms >= ?", Box::new(v));
    }
    if let Some(v) = filter.completed_to_ms {
        push(" AND completed_at_ms < ?", Box::new(v));
    }
    if let Some(v) = &filter.assignee {
        push(" AND assignee = ?", Box::new(v.clone()));
    }
    if let Some(v) = filter.due_before_ms {
        push(" AND due_at_ms < ?", Box::new(v));
    }
    if let Some(v) = &filter.title_contains {
        // LIKE's wildcards in the person's text are matched literally (`\` is ILIKE's escape).
        let escaped = v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        push(" AND title ILIKE ?", Box::new(format!("%{escaped}%")));
    }
    if let Some(v) = &filter.flag {
        push(
            " AND EXISTS (SELECT 1 FROM record_flags f WHERE f.tenant_id = records.tenant_id \
             AND f.record_id = records.id AND f.code = ?)",
            Box::new(v.clone()),
        );
    }
    match filter.flagged {
        Some(true) => sql.push_str(" AND flags <> '[]'"),
        Some(false) => sql.push_str(" AND flags = '[]'"),
        None => {}
    }
    match filter.closed {
        Some(true) => sql.push_str(" AND closed_at_ms IS NOT NULL"),
        Some(false) => sql.push_str(" AND closed_at_ms IS NULL"),
        None => {}
    }
    sql
}

impl ProjectionStore for PgStore {
    fn list_records(&self, scope: &Scope, filter: &ListFilter) -> StoreResult<Vec<Projection>> {
        let mut args = Vec::new();
        let scope = scope_sql(scope, &mut args);
        let conditions = filter_sql(filter, &mut args);
        let sql = format!(
            "SELECT {PROJECTION_COLUMNS} FROM records WHERE {scope}{conditions} ORDER BY {} LIMIT {} OFFSET {}",
            order_sql(filter.order),
            filter.limit.unwrap_or(100).min(1000),
            filter.offset.unwrap_or(0)
        );
        let rows = self.client()?.query(&sql, &refs(&args))?;
        Ok(rows.iter().map(projection_from_row).collect())
    }

    fn record_flags(&self, tenant_id: &str, doc_id: &str) -> StoreResult<Vec<Flag>> {
        let rows = self.client()?.query(
            "SELECT flag FROM record_flags WHERE tenant_id = $1 AND record_id = $2 ORDER BY code, flag",
            &[&tenant_id, &doc_id],
        )?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get::<_, &str>(0))
                    .map_err(|e| StoreError::Backend(format!("stored flag: {e}")))
            })
            .collect()
    }

    fn rejudge_queue(&self, limit: u32) -> StoreResult<Vec<Rejudge>> {
        let rows = self.client()?.query(
            "SELECT tenant_id, doc_id, reason FROM rejudge_queue ORDER BY queued_at_ms, doc_id LIMIT $1",
            &[&i64::from(limit)],
        )?;
        Ok(rows
            .iter()
            .map(|r| Rejudge {
                tenant_id: r.get(0),
                doc_id: r.get(1),
                reason: r.get(2),
            })
            .collect())
    }

    fn awaits_rejudging(&self, tenant_id: &str, doc_id: &str) -> StoreResult<bool> {
        Ok(self
            .client()?
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM rejudge_queue WHERE tenant_id = $1 AND doc_id = $2)",
                &[&tenant_id, &doc_id],
            )?
            .get(0))
    }

    fn record_seq(&self, tenant_id: &str, doc_id: &str) -> StoreResult<u64> {
        let seq: Option<i64> = self
            .client()?
            .query_one(
                "SELECT max(seq) FROM feed WHERE tenant_id = $1 AND doc_id = $2",
                &[&tenant_id, &doc_id],
            )?
            .get(0);
        Ok(seq.unwrap_or(0) as u64)
    }

    fn write_judgements(&self, judgements: &[Judgement]) -> StoreResult<usize> {
        if judgements.is_empty() {
            return Ok(0);
        }
        self.transaction(|tx| {
            // A judgement can always be made again from the stored records, and its queue entry
            // goes with it: losing the last ones to a crash only queues them again. No flush.
            tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            let mut written = 0;
            for judgement in judgements {
                let (tenant_id, doc_id) = (judgement.tenant_id.as_str(), judgement.doc_id.as_str());
                // The document's row first: a sync storing this record updates it, so from here
                // until commit no new entry of the record can land, and the next statement (a
                // fresh snapshot) reads its latest seq for certain.
                let exists = tx
                    .query_opt(
                        "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                        &[&tenant_id, &doc_id],
                    )?
                    .is_some();
                if exists {
                    let seq: Option<i64> = tx
                        .query_one(
                            "SELECT max(seq) FROM feed WHERE tenant_id = $1 AND doc_id = $2",
                            &[&tenant_id, &doc_id],
                        )?
                        .get(0);
                    // Changed since it was read: judged again next round.
                    if seq.unwrap_or(0) as u64 != judgement.seq {
                        continue;
                    }
                    write_verdict(
                        tx,
                        tenant_id,
                        &judgement.projection,
                        &judgement.flags,
                        &judgement.stamps,
                        judgement.rejudge_at,
                    )?;
                    written += 1;
                }
                tx.execute(
                    "DELETE FROM rejudge_queue WHERE tenant_id = $1 AND doc_id = $2",
                    &[&tenant_id, &doc_id],
                )?;
            }
            Ok(written)
        })
    }

    fn dequeue_rejudge(&self, tenant_id: &str, doc_id: &str) -> StoreResult<()> {
        self.client()?.execute(
            "DELETE FROM rejudge_queue WHERE tenant_id = $1 AND doc_id = $2",
            &[&tenant_id, &doc_id],
        )?;
        Ok(())
    }

    fn queue_due_rejudges(&self, now_ms: i64) -> StoreResult<usize> {
        self.transaction(|tx| {
            // Taken and queued in one statement, so two processes' workers never both queue
            // the same due record (and neither loses one).
            let queued = tx.execute(
                "WITH due AS (DELETE FROM rejudge_at WHERE at_ms <= $1 RETURNING tenant_id, doc_id)
                 INSERT INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
                 SELECT tenant_id, doc_id, 'its flags change with time', $1 FROM due
                 ON CONFLICT DO NOTHING",
                &[&now_ms],
            )?;
            Ok(queued as usize)
        })
    }

    fn assigned_records(
        &self,
        tenant_id: &str,
        people: &[String],
        kinds: &[(&str, &str)],
    ) -> StoreResult<Vec<String>> {
        if people.is_empty() || kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kind_names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        let statuses: Vec<&str> = kinds.iter().map(|(_, s)| *s).collect();
        // Per person, oldest first, as the SQLite store answers: people in the order given.
        let rows = self.client()?.query(
            "SELECT r.id FROM unnest($2::text[]) WITH ORDINALITY AS p(person, n)
             JOIN records r ON r.tenant_id = $1 AND r.assignee = p.person
             WHERE (r.kind, r.status) IN (SELECT * FROM unnest($3::text[], $4::text[]))
             ORDER BY p.n, r.created_at_ms, r.id",
            &[&tenant_id, &people, &kind_names, &statuses],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
