//! The equipment pre-start form and its editor: the unit. Its checklist is edited with the
//! checklist editor every checklist kind shares (`checklist.rs`).

use sync_core::model::{self as core, Body};

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{ChecklistItem, Mirror, Signature, Stamp, mirror_enum, mirror_record};

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
}
