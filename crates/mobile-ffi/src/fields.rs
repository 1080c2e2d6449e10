//! The generic operations every kind is edited with: create from JSON, set a field by path, add
//! or remove a list item, read the body as JSON. A kind registered in the core is usable from the
//! shells through these without a line here. Values travel as JSON text; the core reads them
//! into the kind's own types and refuses a wrong type with what it expected.

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{KindInfo, RecordKind, Stamp};

fn json(text: &str, what: &str) -> Result<sync_core::fields::Value> {
    Ok(sync_core::fields::parse(text, what)?)
}

/// Every record kind this build knows, in the order lists show them.
#[uniffi::export]
pub fn record_kinds() -> Vec<KindInfo> {
    sync_core::Kind::ALL
        .iter()
        .map(|&k| KindInfo {
            kind: k.into(),
            name: k.as_str().to_owned(),
            label: k.label().to_owned(),
        })
        .collect()
}

#[uniffi::export]
impl MusterStore {
    /// Creates a record of `kind` from its body as JSON (the fields of the kind's form, without
    /// `kind`); returns its id. Lifecycle fields must start empty: they change through steps.
    pub fn create_record(
        &self,
        kind: RecordKind,
        site_id: String,
        job_id: Option<String>,
        body_json: String,
        stamp: Stamp,
    ) -> Result<String> {
        let body = sync_core::fields::new_body(kind.into(), &body_json)?;
        Ok(self
            .lock()
            .create(&site_id, job_id.as_deref(), body, stamp.into())?)
    }

    /// Sets the field at `path` (`unit/serial`, `items/{item id}/defect_note`) to `value_json`
    /// (`null` clears an optional field).
    pub fn set_field(&self, record_id: String, path: String, value_json: String) -> Result<()> {
        let value = json(&value_json, "the value")?;
        Ok(self
            .lock()
            .edit(&record_id, |r| sync_core::fields::set(r, &path, value))?)
    }

    /// Appends an item (a JSON object) to the list at `path`; returns the item's id.
    pub fn add_list_item(&self, record_id: String, path: String, item_json: String) -> Result<String> {
        let item = json(&item_json, "the item")?;
        Ok(self
            .lock()
            .edit(&record_id, |r| sync_core::fields::add_item(r, &path, item))?)
    }

    /// Removes (or, where items carry a removal mark, marks removed) the item `item_id` of the
    /// list at `path`.
    pub fn remove_list_item(&self, record_id: String, path: String, item_id: String) -> Result<()> {
        Ok(self
            .lock()
            .edit(&record_id, |r| sync_core::fields::remove_item(r, &path, &item_id))?)
    }

    /// The record's body as JSON, with `kind` naming its kind.
    pub fn record_json(&self, record_id: String) -> Result<String> {
        let view = self.lock().record(&record_id)?;
        Ok(sync_core::fields::to_json(&view.record.body)?.to_string())
    }
}
