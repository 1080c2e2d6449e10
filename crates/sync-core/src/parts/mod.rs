//! Parts that several record kinds share, written once: signatures (with the late-joiner rule),
//! a supervisor's approval, checklist items, an assignee with a due date, links to other records
//! and references to attachments. A kind embeds the part's type and calls its rules from its spec.

pub mod approval;
pub mod assignment;
pub mod attachments;
pub mod checklist;
pub mod links;
pub mod signatures;

pub use approval::{Approval, ApprovalDecision, Reopening};
pub use assignment::Assignment;
pub use attachments::AttachmentRef;
pub use checklist::{ChecklistItem, ItemResult};
pub use links::RecordLink;
pub use signatures::{SignOn, Signature};

pub(crate) fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}
