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
}
