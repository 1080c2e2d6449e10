//! A link from one record to another in the same company: a corrective action names the
//! pre-start, inspection or near miss that raised it.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct RecordLink {
    /// The linked record's kind as stored (`pre_start`).
    pub kind: String,
    pub record_id: String,
    /// The list item within it, where the link is to one (a checklist item's id).
    pub item_id: Option<String>,
}

impl RecordLink {
    /// Whether the link names a kind this build knows.
    pub fn kind_is_known(&self) -> bool {
        crate::kinds::Kind::parse(&self.kind).is_some()
    }
}
