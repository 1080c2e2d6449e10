//! The checklist editor every kind with a checklist shares: equipment pre-starts, inspections
//! and competency verifications. Answers are the typed `ItemResult`, so a shell never spells
//! `"fail"` by hand; what a failure means (out of service, a finding, not yet competent) is the
//! kind's rule in the core.

use sync_core::model::{self as core, Body};

use super::missing;
use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{ItemResult, Mirror};

/// The record's checklist, or why it has none.
fn checklist(body: &mut Body) -> sync_core::Result<&mut Vec<core::ChecklistItem>> {
    match body {
        Body::PreStart(p) => Ok(&mut p.items),
        Body::Inspection(i) => Ok(&mut i.items),
        Body::Competency(c) => Ok(&mut c.items),
        other => Err(sync_core::Error::Invalid(format!(
            "a {} has no checklist",
            other.kind().label()
        ))),
    }
}

fn item<'a>(body: &'a mut Body, item_id: &str) -> sync_core::Result<&'a mut core::ChecklistItem> {
    checklist(body)?
        .iter_mut()
        .find(|i| i.id == item_id)
        .ok_or_else(|| missing("checklist item", item_id))
}

impl MusterStore {
    fn edit_checklist<T>(
        &self,
        record_id: &str,
        f: impl FnOnce(&mut Body) -> sync_core::Result<T>,
    ) -> Result<T> {
        Ok(self.lock().edit(record_id, |r| f(&mut r.body))?)
    }
}

#[uniffi::export]
impl MusterStore {
    /// Adds an item to the checklist of a pre-start, inspection or competency verification;
    /// returns its id. `critical`: on a pre-start a failure puts the unit out of service.
    pub fn add_checklist_item(&self, record_id: String, label: String, critical: bool) -> Result<String> {
        self.edit_checklist(&record_id, |body| {
            let item = core::ChecklistItem::new(label, critical);
            let id = item.id.clone();
            checklist(body)?.push(item);
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
        self.edit_checklist(&record_id, |body| {
            item(body, &item_id)?.result = result.mirror();
            Ok(())
        })
    }

    /// What is wrong with a failed item (required before completing with a failure).
    pub fn set_defect_note(&self, record_id: String, item_id: String, note: Option<String>) -> Result<()> {
        self.edit_checklist(&record_id, |body| {
            item(body, &item_id)?.defect_note = note;
            Ok(())
        })
    }
}
