//! The device store's SQL over its `records` table: the projection's columns, a list filter's
//! conditions and orders. Each record store keeps its own (the server's SQLite and PostgreSQL
//! stores have theirs: docs/adr/0003-record-store-boundary.md), since what may differ between them
//! (parameter markers, case folding, how flags are keyed) is SQL, while `ListFilter` is plain data.

use crate::projection::{ListFilter, ListOrder, Projection};

/// The projection's columns, in the order [`projection_from_row`] reads them.
pub(crate) const PROJECTION_COLUMNS: &str = "id, kind, tenant_id, site_id, job_id, status, title, created_by, created_at_ms, \
     completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash, closed_at_ms, assignee, \
     due_at_ms";

/// Reads a row selected with [`PROJECTION_COLUMNS`].
pub(crate) fn projection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Projection> {
    let flags: String = r.get(11)?;
    Ok(Projection {
        id: r.get(0)?,
        kind: r.get(1)?,
        tenant_id: r.get(2)?,
        site_id: r.get(3)?,
        job_id: r.get(4)?,
        status: r.get(5)?,
        title: r.get(6)?,
        created_by: r.get(7)?,
        created_at_ms: r.get(8)?,
        completed_at_ms: r.get(9)?,
        work_started_at_ms: r.get(10)?,
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        blocking_findings: r.get(12)?,
        conflicts: r.get(13)?,
        content_hash: r.get(14)?,
        closed_at_ms: r.get(15)?,
        assignee: r.get(16)?,
        due_at_ms: r.get(17)?,
    })
}

/// SQL conditions for this filter over a `records` table (and `record_flags (record_id, code)`),
/// each starting with ` AND `. Arguments are appended to `args`, numbered after those there.
/// Paging is left to the caller.
pub(crate) fn filter_conditions(filter: &ListFilter, args: &mut Vec<rusqlite::types::Value>) -> String {
    let mut sql = String::new();
    let mut push = |clause: &str, value: rusqlite::types::Value| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(v) = &filter.kind {
        push(" AND kind = ?", v.clone().into());
    }
    if let Some(v) = &filter.site_id {
        push(" AND site_id = ?", v.clone().into());
    }
    if let Some(v) = &filter.status {
        push(" AND status = ?", v.clone().into());
    }
    if let Some(v) = &filter.created_by {
        push(" AND created_by = ?", v.clone().into());
    }
    if let Some(v) = filter.created_from_ms {
        push(" AND created_at_ms >= ?", v.into());
    }
    if let Some(v) = filter.created_to_ms {
        push(" AND created_at_ms < ?", v.into());
    }
    if let Some(v) = filter.completed_from_ms {
        push(" AND completed_at_ms >= ?", v.into());
    }
    if let Some(v) = filter.completed_to_ms {
        push(" AND completed_at_ms < ?", v.into());
    }
    if let Some(v) = &filter.assignee {
        push(" AND assignee = ?", v.clone().into());
    }
    if let Some(v) = filter.due_before_ms {
        push(" AND due_at_ms < ?", v.into());
    }
    if let Some(v) = &filter.title_contains {
        // LIKE's wildcards in the person's text are matched literally.
        let escaped = v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        push(" AND title LIKE ? ESCAPE '\\'", format!("%{escaped}%").into());
    }
    if let Some(v) = &filter.flag {
        push(
            " AND id IN (SELECT record_id FROM record_flags WHERE code = ?)",
            v.clone().into(),
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

/// The `ORDER BY` clause over a `records` table.
pub(crate) fn order_sql(order: ListOrder) -> &'static str {
    match order {
        ListOrder::NewestCreated => "created_at_ms DESC, id",
        ListOrder::OldestCreated => "created_at_ms ASC, id",
        ListOrder::NewestCompleted => "completed_at_ms IS NULL, completed_at_ms DESC, id",
        ListOrder::OldestCompleted => "completed_at_ms IS NULL, completed_at_ms ASC, id",
        ListOrder::Title => "title COLLATE NOCASE, id",
    }
}
