//! Checklist items: a label, whether a failure is critical, the answer and a note on a defect.
//! Merged so that an item any author failed stays failed (`merge_rules`).

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::is_blank;
use crate::model::string_enum;
use crate::validate::Finding;

string_enum! {
    pub enum ItemResult {
        Pass => "pass",
        Fail => "fail",
        NotApplicable => "not_applicable",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct ChecklistItem {
    #[key]
    pub id: String,
    pub label: String,
    /// A failed critical item puts the unit (or the work) out of service.
    pub critical: bool,
    /// Unanswered until someone checks it.
    pub result: Option<ItemResult>,
    pub defect_note: Option<String>,
}

impl ChecklistItem {
    pub fn new(label: impl Into<String>, critical: bool) -> Self {
        Self {
            id: crate::model::new_id(),
            label: label.into(),
            critical,
            result: None,
            defect_note: None,
        }
    }

    pub fn failed_critically(&self) -> bool {
        self.critical && self.result == Some(ItemResult::Fail)
    }
}

/// Findings for a checklist at `path` (`items`): at least one item, every item answered, every
/// failure described. `rule` prefixes the rule ids (`pre_start`).
pub fn validate(items: &[ChecklistItem], rule: &str, path: &str, out: &mut Vec<Finding>) {
    if items.is_empty() {
        out.push(Finding::blocking(
            &format!("{rule}.items_required"),
            path,
            "the checklist has no items",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        match item.result {
            None => out.push(Finding::blocking(
                &format!("{rule}.item_unanswered"),
                format!("{item_path}.result"),
                format!("'{}' is not checked yet", item.label),
            )),
            Some(ItemResult::Fail) if item.defect_note.as_deref().is_none_or(is_blank) => {
                out.push(Finding::blocking(
                    &format!("{rule}.defect_note_required"),
                    format!("{item_path}.defect_note"),
                    format!("'{}' failed: describe the defect", item.label),
                ))
            }
            _ => {}
        }
    }
}
