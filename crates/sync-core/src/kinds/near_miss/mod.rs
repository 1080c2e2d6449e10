//! Near-miss report: fillable in 90 seconds, so only what happened, when and how bad it could have
//! been are required.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{LATE_REPORT_MS, paths};

use crate::model::{hash_json, string_enum};
use crate::stamp::{GpsFix, Stamp};

string_enum! {
    /// How bad it could have been. Ordered: merges keep the highest any author gave.
    pub enum Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

string_enum! {
    pub enum NearMissStatus {
        Draft => "draft",
        Reported => "reported",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct NearMiss {
    pub what_happened: String,
    /// When it happened, Unix milliseconds as the reporter remembers it.
    pub occurred_at_ms: i64,
    pub location_description: Option<String>,
    /// Where it happened, if the reporter was there when filing.
    pub location_fix: Option<GpsFix>,
    pub potential_severity: Severity,
    pub immediate_actions: Option<String>,
    /// `None` when the reporter chose to stay anonymous.
    pub reporter_id: Option<String>,
    pub witnesses: Vec<String>,
    pub status: NearMissStatus,
    pub reported: Option<Stamp>,
}

impl NearMiss {
    pub fn new(what_happened: impl Into<String>, occurred_at_ms: i64, potential_severity: Severity) -> Self {
        Self {
            what_happened: what_happened.into(),
            occurred_at_ms,
            location_description: None,
            location_fix: None,
            potential_severity,
            immediate_actions: None,
            reporter_id: None,
            witnesses: Vec::new(),
            status: NearMissStatus::Draft,
            reported: None,
        }
    }

    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            what_happened: &'a str,
            occurred_at_ms: i64,
            location_description: &'a Option<String>,
            potential_severity: Severity,
            immediate_actions: &'a Option<String>,
        }
        hash_json(&Signable {
            what_happened: &self.what_happened,
            occurred_at_ms: self.occurred_at_ms,
            location_description: &self.location_description,
            potential_severity: self.potential_severity,
            immediate_actions: &self.immediate_actions,
        })
    }
}
