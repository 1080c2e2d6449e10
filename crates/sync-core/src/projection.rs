//! The projection of a record into one query row, so lists and filters never load documents.

use serde::{Deserialize, Serialize};

use crate::flags::Flag;
use crate::model::Record;
use crate::validate::Finding;

/// One record as a list row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub id: String,
    pub kind: String,
    pub tenant_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    pub status: String,
    pub title: String,
    pub created_by: String,
    /// Device wall time of the creation stamp, Unix ms.
    pub created_at_ms: i64,
    /// When it was completed, signed off or reported (device wall time, Unix ms).
    pub completed_at_ms: Option<i64>,
    pub work_started_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// The person responsible, for kinds that assign one.
    pub assignee: Option<String>,
    pub due_at_ms: Option<i64>,
    /// Flag codes, sorted.
    pub flags: Vec<String>,
    pub blocking_findings: u32,
    pub conflicts: u32,
    pub content_hash: String,
}

impl Projection {
    pub fn of(record: &Record, flags: &[Flag], findings: &[Finding], conflicts: usize) -> Self {
        let fields = record.body.spec().fields();
        let mut codes: Vec<String> = flags.iter().map(|f| f.code.clone()).collect();
        codes.dedup();
        Self {
            id: record.header.id.clone(),
            kind: record.header.kind.clone(),
            tenant_id: record.header.tenant_id.clone(),
            site_id: record.header.site_id.clone(),
            job_id: record.header.job_id.clone(),
            status: record.body.status().to_owned(),
            title: record.body.title(),
            created_by: record.header.created_by.clone(),
            created_at_ms: record.header.created.wall_ms,
            completed_at_ms: fields.completed.map(|s| s.wall_ms),
            work_started_at_ms: fields.work_started.map(|s| s.wall_ms),
            closed_at_ms: fields.closed.map(|s| s.wall_ms),
            assignee: fields.assignee.map(str::to_owned),
            due_at_ms: fields.due_ms,
            flags: codes,
            blocking_findings: findings.iter().filter(|f| f.is_blocking()).count() as u32,
            conflicts: conflicts as u32,
            content_hash: record.body.content_hash(),
        }
    }
}

/// Filters for listing records; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListFilter {
    pub kind: Option<String>,
    pub site_id: Option<String>,
    pub status: Option<String>,
    /// Only records carrying this flag code.
    pub flag: Option<String>,
    /// `Some(true)`: only records carrying any flag; `Some(false)`: only unflagged ones.
    pub flagged: Option<bool>,
    pub created_by: Option<String>,
    /// Created at or after, Unix ms.
    pub created_from_ms: Option<i64>,
    /// Created before, Unix ms.
    pub created_to_ms: Option<i64>,
    /// Completed (signed off, reported) at or after, Unix ms.
    pub completed_from_ms: Option<i64>,
    /// Completed before, Unix ms.
    pub completed_to_ms: Option<i64>,
    /// Only records assigned to this person.
    pub assignee: Option<String>,
    /// Only records due before this time, Unix ms (overdue lists).
    pub due_before_ms: Option<i64>,
    /// `Some(true)`: only closed records; `Some(false)`: only open ones.
    pub closed: Option<bool>,
    /// Only records whose title contains this text (case-insensitive for ASCII).
    pub title_contains: Option<String>,
    /// Page size; `None` lists everything.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// The order of the list (newest created first unless asked).
    pub order: ListOrder,
}

/// How a record list is sorted. Ties are broken by record id, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    #[default]
    NewestCreated,
    OldestCreated,
    /// Most recently completed first; records not completed last.
    NewestCompleted,
    /// Completed longest ago first (an approval queue); records not completed last.
    OldestCompleted,
    Title,
}

impl ListOrder {
    pub const ALL: [ListOrder; 5] = [
        ListOrder::NewestCreated,
        ListOrder::OldestCreated,
        ListOrder::NewestCompleted,
        ListOrder::OldestCompleted,
        ListOrder::Title,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListOrder::NewestCreated => "newest_created",
            ListOrder::OldestCreated => "oldest_created",
            ListOrder::NewestCompleted => "newest_completed",
            ListOrder::OldestCompleted => "oldest_completed",
            ListOrder::Title => "title",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The `ORDER BY` clause over a `records` table.
    pub fn sql(self) -> &'static str {
        match self {
            ListOrder::NewestCreated => "created_at_ms DESC, id",
            ListOrder::OldestCreated => "created_at_ms ASC, id",
            ListOrder::NewestCompleted => "completed_at_ms IS NULL, completed_at_ms DESC, id",
            ListOrder::OldestCompleted => "completed_at_ms IS NULL, completed_at_ms ASC, id",
            ListOrder::Title => "title COLLATE NOCASE, id",
        }
    }
}

/// The projection's columns, in the order [`Projection::from_row`] reads them. The device store
/// and the server's SQLite record store both keep projections in a `records` table with these.
pub const PROJECTION_COLUMNS: &str = "id, kind, tenant_id, site_id, job_id, status, title, created_by, created_at_ms, \
     completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash, closed_at_ms, assignee, \
     due_at_ms";

impl Projection {
    /// Reads a row selected with [`PROJECTION_COLUMNS`].
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
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
}

impl ListFilter {
    /// SQL conditions for this filter over a `records` table (and `record_flags (record_id, code)`),
    /// each starting with ` AND `. Arguments are appended to `args`, numbered after those there.
    /// Paging is left to the caller.
    pub fn sql_conditions(&self, args: &mut Vec<rusqlite::types::Value>) -> String {
        let mut sql = String::new();
        let mut push = |clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(v) = &self.kind {
            push(" AND kind = ?", v.clone().into());
        }
        if let Some(v) = &self.site_id {
            push(" AND site_id = ?", v.clone().into());
        }
        if let Some(v) = &self.status {
            push(" AND status = ?", v.clone().into());
        }
        if let Some(v) = &self.created_by {
            push(" AND created_by = ?", v.clone().into());
        }
        if let Some(v) = self.created_from_ms {
            push(" AND created_at_ms >= ?", v.into());
        }
        if let Some(v) = self.created_to_ms {
            push(" AND created_at_ms < ?", v.into());
        }
        if let Some(v) = self.completed_from_ms {
            push(" AND completed_at_ms >= ?", v.into());
        }
        if let Some(v) = self.completed_to_ms {
            push(" AND completed_at_ms < ?", v.into());
        }
        if let Some(v) = &self.assignee {
            push(" AND assignee = ?", v.clone().into());
        }
        if let Some(v) = self.due_before_ms {
            push(" AND due_at_ms < ?", v.into());
        }
        if let Some(v) = &self.title_contains {
            // LIKE's wildcards in the person's text are matched literally.
            let escaped = v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            push(" AND title LIKE ? ESCAPE '\\'", format!("%{escaped}%").into());
        }
        if let Some(v) = &self.flag {
            push(
                " AND id IN (SELECT record_id FROM record_flags WHERE code = ?)",
                v.clone().into(),
            );
        }
        match self.flagged {
            Some(true) => sql.push_str(" AND flags <> '[]'"),
            Some(false) => sql.push_str(" AND flags = '[]'"),
            None => {}
        }
        match self.closed {
            Some(true) => sql.push_str(" AND closed_at_ms IS NOT NULL"),
            Some(false) => sql.push_str(" AND closed_at_ms IS NULL"),
            None => {}
        }
        sql
    }
}
