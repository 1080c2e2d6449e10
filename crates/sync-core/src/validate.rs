//! Validation that explains itself: each rule yields a [`Finding`] naming the rule, the field and
//! what is wrong, in words a crew lead can act on.

use serde::{Deserialize, Serialize};

use crate::model::{Body, ItemResult, Jsea, NearMiss, PreStart, Record};

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
    fn blocking(rule: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.to_owned(),
            path: path.into(),
            message: message.into(),
            level: Level::Blocking,
        }
    }
    fn warning(rule: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
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
    match &record.body {
        Body::Jsea(j) => validate_jsea(j, &mut findings),
        Body::PreStart(p) => validate_prestart(p, &mut findings),
        Body::NearMiss(n) => validate_near_miss(n, &mut findings),
    }
    findings.sort();
    findings
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn validate_jsea(jsea: &Jsea, out: &mut Vec<Finding>) {
    if is_blank(&jsea.task) {
        out.push(Finding::blocking(
            "jsea.task_required",
            "task",
            "describe the task being assessed",
        ));
    }
    if is_blank(&jsea.muster_point) {
        out.push(Finding::blocking(
            "jsea.muster_point_required",
            "muster_point",
            "name the muster point for this work",
        ));
    }
    if jsea.active_steps().next().is_none() {
        out.push(Finding::blocking(
            "jsea.steps_required",
            "steps",
            "list at least one task step",
        ));
    }
    for (si, step) in jsea.steps.iter().enumerate().filter(|(_, s)| !s.removed) {
        let step_path = format!("steps[{si}]");
        if is_blank(&step.description) {
            out.push(Finding::blocking(
                "jsea.step_description_required",
                format!("{step_path}.description"),
                format!("step {} has no description", si + 1),
            ));
        }
        if step.active_hazards().next().is_none() {
            out.push(Finding::blocking(
                "jsea.hazards_required",
                format!("{step_path}.hazards"),
                format!("step '{}' has no hazards identified", step.description),
            ));
        }
        for (hi, hazard) in step.hazards.iter().enumerate().filter(|(_, h)| !h.removed) {
            let path = format!("{step_path}.hazards[{hi}]");
            if !hazard.risk.is_valid() {
                out.push(Finding::blocking(
                    "jsea.risk_rating_invalid",
                    format!("{path}.risk"),
                    format!(
                        "hazard '{}' needs a severity and likelihood from 1 to 5 (got {} and {})",
                        hazard.description, hazard.risk.severity, hazard.risk.likelihood
                    ),
                ));
            }
            if hazard.active_controls().next().is_none() {
                out.push(Finding::blocking(
                    "jsea.controls_required",
                    format!("{path}.controls"),
                    format!("hazard '{}' has no controls", hazard.description),
                ));
            } else if hazard.is_ppe_only() && !hazard.has_justification() {
                out.push(Finding::blocking(
                    "jsea.ppe_only_without_justification",
                    format!("{path}.ppe_only_justification"),
                    format!(
                        "hazard '{}' has only PPE controls and no justification",
                        hazard.description
                    ),
                ));
            }
        }
    }
    if jsea.signatures.is_empty() {
        out.push(Finding::blocking(
            "jsea.crew_signature_required",
            "signatures",
            "at least one crew member must sign on",
        ));
    }
    let current = jsea.content_hash();
    for (user, sig) in &jsea.signatures {
        if !jsea.still_vouches(&sig.content_hash, &current) {
            out.push(Finding::warning(
                "jsea.signature_stale",
                format!("signatures.{user}"),
                format!("{} signed an earlier version; the JSEA changed since", sig.name),
            ));
        }
    }
}

fn validate_prestart(p: &PreStart, out: &mut Vec<Finding>) {
    if is_blank(&p.unit.unit_id) {
        out.push(Finding::blocking(
            "pre_start.unit_required",
            "unit.unit_id",
            "name the equipment unit",
        ));
    }
    if p.items.is_empty() {
        out.push(Finding::blocking(
            "pre_start.items_required",
            "items",
            "the checklist has no items",
        ));
    }
    for (i, item) in p.items.iter().enumerate() {
        let path = format!("items[{i}]");
        match item.result {
            None => out.push(Finding::blocking(
                "pre_start.item_unanswered",
                format!("{path}.result"),
                format!("'{}' is not checked yet", item.label),
            )),
            Some(ItemResult::Fail) if item.defect_note.as_deref().is_none_or(is_blank) => {
                out.push(Finding::blocking(
                    "pre_start.defect_note_required",
                    format!("{path}.defect_note"),
                    format!("'{}' failed: describe the defect", item.label),
                ))
            }
            _ => {}
        }
    }
    for item in p.failed_critical_items() {
        out.push(Finding::warning(
            "pre_start.out_of_service",
            "unit",
            format!(
                "unit {} is out of service: critical item '{}' failed",
                p.unit.unit_id, item.label
            ),
        ));
    }
    if p.sign_off.is_none() {
        out.push(Finding::blocking(
            "pre_start.sign_off_required",
            "sign_off",
            "the operator must sign off",
        ));
    }
}

fn validate_near_miss(n: &NearMiss, out: &mut Vec<Finding>) {
    if is_blank(&n.what_happened) {
        out.push(Finding::blocking(
            "near_miss.what_happened_required",
            "what_happened",
            "say briefly what happened",
        ));
    }
    if n.occurred_at_ms <= 0 {
        out.push(Finding::blocking(
            "near_miss.when_required",
            "occurred_at_ms",
            "say when it happened",
        ));
    }
    if n.location_fix.is_none() && n.location_description.as_deref().is_none_or(is_blank) {
        out.push(Finding::warning(
            "near_miss.where_missing",
            "location_description",
            "no GPS fix and no description of where it happened",
        ));
    }
}
