//! The equipment pre-start form and its editor: the unit, checklist answers and defect notes.

use sync_core::model::{self as core, Body};

use super::missing;
use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{ChecklistItem, ItemResult, Mirror, Signature, Stamp, mirror_enum, mirror_record};

mirror_enum! {
    /// Mirrors `PreStartStatus`.
    PreStartStatus <=> core::PreStartStatus { Draft, Completed }
}

mirror_record! {
    /// The equipment unit a pre-start is for (mirrors `EquipmentUnit`).
    EquipmentUnit <=> core::EquipmentUnit {
        /// The company's unit number, e.g. `PU-14`.
        unit_id: String,
        make_model: String,
        #[uniffi(default)]
        serial: Option<String>,
        #[uniffi(default)]
        hour_meter: Option<f64>,
    }
}

mirror_record! {
    /// An equipment pre-start as a form (mirrors `PreStart`).
    PreStartForm <= core::PreStart {
        unit: EquipmentUnit,
        operator_id: String,
        items: Vec<ChecklistItem>,
        status: PreStartStatus,
        sign_off: Option<Signature>,
        completed: Option<Stamp>,
    }
}

fn item<'a>(p: &'a mut core::PreStart, item_id: &str) -> sync_core::Result<&'a mut core::ChecklistItem> {
    p.item_mut(item_id)
        .ok_or_else(|| missing("checklist item", item_id))
}

#[uniffi::export]
impl MusterStore {
    /// Starts an equipment pre-start for `unit`, done by the signed-in person; returns its id.
    pub fn create_pre_start(
        &self,
        site_id: String,
        job_id: Option<String>,
        unit: EquipmentUnit,
        stamp: Stamp,
    ) -> Result<String> {
        let operator = self.signed_in_user()?;
        self.create(
            &site_id,
            job_id,
            Body::PreStart(core::PreStart::new(unit.into(), operator)),
            stamp,
        )
    }

    pub fn set_unit(&self, record_id: String, unit: EquipmentUnit) -> Result<()> {
        self.edit_as(&record_id, |p: &mut core::PreStart| {
            p.unit = unit.into();
            Ok(())
        })
    }

    /// Adds a checklist item (a failed critical item puts the unit out of service); returns its id.
    pub fn add_checklist_item(&self, record_id: String, label: String, critical: bool) -> Result<String> {
        self.edit_as(&record_id, |p: &mut core::PreStart| {
            let item = core::ChecklistItem::new(label, critical);
            let id = item.id.clone();
            p.items.push(item);
            Ok(id)
        })
    }

    /// Answers a checklist item; `None` clears the answer.
    pub fn set_item_result(
        &self,
        record_id: String,
        item_id: String,
        result: Option<ItemResult>,
    ) -> Result<()> {
        self.edit_as(&record_id, |p: &mut core::PreStart| {
            item(p, &item_id)?.result = result.mirror();
            Ok(())
        })
    }

    pub fn set_defect_note(&self, record_id: String, item_id: String, note: Option<String>) -> Result<()> {
        self.edit_as(&record_id, |p: &mut core::PreStart| {
            item(p, &item_id)?.defect_note = note;
            Ok(())
        })
    }
}
