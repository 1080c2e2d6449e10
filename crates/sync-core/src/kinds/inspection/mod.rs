//! Site inspection: a checklist from the schedule's template, walked by the inspector; each
//! failed item is a finding, and each finding raises a corrective action.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::paths;

use crate::model::{hash_json, string_enum};
use crate::parts::{ChecklistItem, Signature};
use crate::stamp::Stamp;

string_enum! {
    pub enum InspectionStatus {
        Draft => "draft",
        Completed => "completed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Inspection {
    /// The schedule this inspection fulfils (the server's id), `None` for one done unscheduled.
    pub schedule_id: Option<String>,
    /// What is inspected, e.g. "Weekly site inspection".
    pub title: String,
    /// User id of the inspector.
    pub inspector_id: String,
    /// The checklist; a failed item, with its note, is a finding.
    pub items: Vec<ChecklistItem>,
    pub status: InspectionStatus,
    pub sign_off: Option<Signature>,
    pub completed: Option<Stamp>,
}

impl Inspection {
    pub fn new(title: impl Into<String>, inspector_id: impl Into<String>, items: Vec<ChecklistItem>) -> Self {
        Self {
            schedule_id: None,
            title: title.into(),
            inspector_id: inspector_id.into(),
            items,
            status: InspectionStatus::Draft,
            sign_off: None,
            completed: None,
        }
    }

    /// Hash of what the inspector signs: the title and every item's answer.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            title: &'a str,
            inspector_id: &'a str,
            items: &'a [ChecklistItem],
        }
        hash_json(&Signable {
            title: &self.title,
            inspector_id: &self.inspector_id,
            items: &self.items,
        })
    }
}
