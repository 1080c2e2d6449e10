//! Equipment pre-start (pre-use) inspection.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::paths;

use crate::model::{hash_json, string_enum};
use crate::parts::{ChecklistItem, Signature};
use crate::stamp::Stamp;

string_enum! {
    pub enum PreStartStatus {
        Draft => "draft",
        Completed => "completed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct EquipmentUnit {
    /// The company's unit number, e.g. `PU-14`.
    pub unit_id: String,
    pub make_model: String,
    pub serial: Option<String>,
    pub hour_meter: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct PreStart {
    pub unit: EquipmentUnit,
    /// User id of the operator doing the check.
    pub operator_id: String,
    pub items: Vec<ChecklistItem>,
    pub status: PreStartStatus,
    pub sign_off: Option<Signature>,
    pub completed: Option<Stamp>,
}

impl PreStart {
    pub fn new(unit: EquipmentUnit, operator_id: impl Into<String>) -> Self {
        Self {
            unit,
            operator_id: operator_id.into(),
            items: Vec::new(),
            status: PreStartStatus::Draft,
            sign_off: None,
            completed: None,
        }
    }

    /// Critical items that failed: any one puts the unit out of service.
    pub fn failed_critical_items(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.items.iter().filter(|i| i.failed_critically())
    }

    pub fn out_of_service(&self) -> bool {
        self.failed_critical_items().next().is_some()
    }

    pub fn item_mut(&mut self, item_id: &str) -> Option<&mut ChecklistItem> {
        self.items.iter_mut().find(|i| i.id == item_id)
    }

    /// Hash of what the operator signs off: the unit and every item's answer.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            unit: &'a EquipmentUnit,
            operator_id: &'a str,
            items: &'a [ChecklistItem],
        }
        hash_json(&Signable {
            unit: &self.unit,
            operator_id: &self.operator_id,
            items: &self.items,
        })
    }
}
