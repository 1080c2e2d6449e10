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

/// Every item's answer as a field the merge rules guard (a failure stands).
pub fn guard_results(
    items: &[ChecklistItem],
    out: &mut std::collections::BTreeMap<crate::merge_rules::Field, crate::merge_rules::Guarded>,
) {
    for item in items {
        let field = crate::merge_rules::Field::ChecklistResult {
            item: item.id.clone(),
        };
        out.insert(field, crate::merge_rules::Guarded::Result(item.result));
    }
}

/// The failed items, as corrective actions to raise (`unit_id` names the unit they hold out of
/// service). `critical_only` raises only for critical items.
pub fn failures_to_act_on(
    items: &[ChecklistItem],
    critical_only: bool,
    context: &str,
    unit_id: Option<&str>,
) -> Vec<crate::program::ActionSeed> {
    items
        .iter()
        .filter(|i| i.result == Some(ItemResult::Fail) && (i.critical || !critical_only))
        .map(|item| crate::program::ActionSeed {
            item_id: item.id.clone(),
            hazard: match item.defect_note.as_deref().filter(|n| !is_blank(n)) {
                Some(note) => format!("{context}: '{}' failed: {note}", item.label),
                None => format!("{context}: '{}' failed", item.label),
            },
            action: format!("Fix '{}' and check it again", item.label),
            unit_id: unit_id.map(str::to_owned),
            assignee: None,
            due_ms: None,
        })
        .collect()
}

/// Every item as a report row: its label (marked when critical) and its answer, with the
/// defect note of a failure.
pub fn evidence_rows(items: &[ChecklistItem]) -> impl Iterator<Item = crate::kinds::EvidenceRow> + '_ {
    items.iter().map(|item| {
        let result = item.result.map_or("not checked", |r| r.as_str());
        let critical = if item.critical { " (critical)" } else { "" };
        let note = item
            .defect_note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        crate::kinds::EvidenceRow::new(format!("{}{critical}", item.label), format!("{result}{note}"))
    })
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
