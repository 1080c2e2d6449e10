//! Validation that explains itself: each rule yields a [`Finding`] naming the rule, the field and
//! what is wrong, in words a crew lead can act on.

use serde::{Deserialize, Serialize};

use crate::model::Record;

/// Whether a finding stops the record from being completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Completing the record is refused until this is fixed.
    Blocking,
    /// Shown to the person; the record may still be completed.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `jsea.ppe_only_without_justification`.
    pub rule: String,
    /// Path of the field concerned, e.g. `steps[1].hazards[0].ppe_only_justification`.
    pub path: String,
    pub message: String,
    pub level: Level,
}

impl Finding {
    pub(crate) fn blocking(rule: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_owned(),
            path: path.into(),
            message: message.into(),
            level: Level::Blocking,
        }
    }
    pub(crate) fn warning(rule: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_owned(),
            path: path.into(),
            message: message.into(),
            level: Level::Warning,
        }
    }
    pub fn is_blocking(&self) -> bool {
        self.level == Level::Blocking
    }
}

/// Every finding for the record as it stands, sorted so that equal records give equal lists.
pub fn validate(record: &Record) -> Vec<Finding> {
    let mut findings = Vec::new();
    if record.header.site_id.trim().is_empty() {
        findings.push(Finding::blocking(
            "record.site_required",
            "header.site_id",
            "the record has no site",
        ));
    }
    record.body.spec().validate(&mut findings);
    findings.sort();
    findings
}
