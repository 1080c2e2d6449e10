//! `MusterStore`: the device's local store (`sync_core::Store`) as a uniffi object.
//!
//! Every method is a short, blocking SQLite transaction (a few milliseconds): call them from a
//! background thread or dispatcher, never the UI thread (see docs/mobile.md). Edits map onto
//! `Store::edit` with closures that only set fields; the rules (validation, lifecycle, flags,
//! merge) are all sync-core's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sync_core::model::{self as core, Body, Record, new_id};

use crate::error::Result;
use crate::types::{
    ControlLevel, EquipmentUnit, Finding, GpsFix, ItemResult, ListFilter, PendingChange, Profile,
    RecordSummary, RecordView, RecoveryReport, Rejection, Severity, Stamp,
};

/// One device's local store of field records.
#[derive(Debug, uniffi::Object)]
pub struct MusterStore {
    path: PathBuf,
    inner: Mutex<sync_core::Store>,
}

impl MusterStore {
    /// The core store. A panic inside an edit leaves nothing half-written (every edit is one
    /// transaction), so a poisoned lock is safe to take over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, sync_core::Store> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Re-reads the signed-in person after another connection (a sign-in) changed it.
    pub(crate) fn reload(&self) -> Result<()> {
        let fresh = sync_core::Store::open(&self.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    fn edit<T>(&self, id: &str, f: impl FnOnce(&mut Record) -> sync_core::Result<T>) -> Result<T> {
        Ok(self.lock().edit(id, f)?)
    }

    fn edit_jsea<T>(&self, id: &str, f: impl FnOnce(&mut core::Jsea) -> sync_core::Result<T>) -> Result<T> {
        self.edit(id, |r| f(jsea(r)?))
    }

    fn edit_pre_start<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut core::PreStart) -> sync_core::Result<T>,
    ) -> Result<T> {
        self.edit(id, |r| f(pre_start(r)?))
    }

    fn edit_near_miss<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut core::NearMiss) -> sync_core::Result<T>,
    ) -> Result<T> {
        self.edit(id, |r| f(near_miss(r)?))
    }

    fn create(&self, site_id: &str, job_id: Option<String>, body: Body, stamp: Stamp) -> Result<String> {
        Ok(self
            .lock()
            .create(site_id, job_id.as_deref(), body, stamp.into())?)
    }
}

fn wrong_kind(header: &sync_core::Header, wanted: &str) -> sync_core::Error {
    sync_core::Error::Invalid(format!(
        "record {} is a {}, not a {wanted}",
        header.id, header.kind
    ))
}

fn jsea(r: &mut Record) -> sync_core::Result<&mut core::Jsea> {
    match &mut r.body {
        Body::Jsea(j) => Ok(j),
        _ => Err(wrong_kind(&r.header, "JSEA")),
    }
}

fn pre_start(r: &mut Record) -> sync_core::Result<&mut core::PreStart> {
    match &mut r.body {
        Body::PreStart(p) => Ok(p),
        _ => Err(wrong_kind(&r.header, "pre-start")),
    }
}

fn near_miss(r: &mut Record) -> sync_core::Result<&mut core::NearMiss> {
    match &mut r.body {
        Body::NearMiss(n) => Ok(n),
        _ => Err(wrong_kind(&r.header, "near-miss")),
    }
}

fn missing(what: &str, id: &str) -> sync_core::Error {
    sync_core::Error::NotFound(format!("{what} {id}"))
}

fn step<'a>(j: &'a mut core::Jsea, step_id: &str) -> sync_core::Result<&'a mut core::TaskStep> {
    j.step_mut(step_id).ok_or_else(|| missing("step", step_id))
}

fn hazard<'a>(j: &'a mut core::Jsea, hazard_id: &str) -> sync_core::Result<&'a mut core::Hazard> {
    j.hazard_mut(hazard_id)
        .ok_or_else(|| missing("hazard", hazard_id))
}

fn control<'a>(j: &'a mut core::Jsea, control_id: &str) -> sync_core::Result<&'a mut core::Control> {
    j.steps
        .iter_mut()
        .flat_map(|s| s.hazards.iter_mut())
        .flat_map(|h| h.controls.iter_mut())
        .find(|c| c.id == control_id)
        .ok_or_else(|| missing("control", control_id))
}

fn item<'a>(p: &'a mut core::PreStart, item_id: &str) -> sync_core::Result<&'a mut core::ChecklistItem> {
    p.item_mut(item_id)
        .ok_or_else(|| missing("checklist item", item_id))
}

#[uniffi::export]
impl MusterStore {
    /// Opens the store at `path` (`MusterStore(path)` in Swift, Kotlin and Python), creating it if
    /// the file does not exist. A file that is not a Muster store, or is damaged, is refused with
    /// `MusterError.StoreUnusable` and left as it was.
    #[uniffi::constructor]
    pub fn new(path: String) -> Result<Arc<Self>> {
        let path = PathBuf::from(path);
        let inner = sync_core::Store::open(&path)?;
        Ok(Arc::new(Self {
            path,
            inner: Mutex::new(inner),
        }))
    }

    /// Random id minted when the store was created; stable for the life of the install.
    pub fn device_id(&self) -> String {
        self.lock().device_id().to_owned()
    }

    /// The person signed in on this device, if anyone.
    pub fn profile(&self) -> Option<Profile> {
        self.lock().profile().cloned().map(Into::into)
    }

    // -- create ---------------------------------------------------------------------------------

    /// Starts a JSEA/FLHA draft at a site; returns its id.
    pub fn create_jsea(
        &self,
        site_id: String,
        job_id: Option<String>,
        task: String,
        muster_point: String,
        stamp: Stamp,
    ) -> Result<String> {
        self.create(
            &site_id,
            job_id,
            Body::Jsea(core::Jsea::new(task, muster_point)),
            stamp,
        )
    }

    /// Starts an equipment pre-start for `unit`, done by the signed-in person; returns its id.
    pub fn create_pre_start(
        &self,
        site_id: String,
        job_id: Option<String>,
        unit: EquipmentUnit,
        stamp: Stamp,
    ) -> Result<String> {
        let operator = self
            .lock()
            .profile()
            .map(|p| p.user_id.clone())
            .ok_or(sync_core::Error::NotSignedIn)?;
        self.create(
            &site_id,
            job_id,
            Body::PreStart(core::PreStart::new(unit.into(), operator)),
            stamp,
        )
    }

    /// Starts a near-miss report; returns its id. A named report names the signed-in person as
    /// its reporter. An `anonymous` one names no one anywhere: not in the report, not as its
    /// creator, not as the author of any change (it is written by an actor of its own), and it
    /// can be changed only from this phone. Whether a report is anonymous is decided here, once:
    /// a document's history cannot be made anonymous afterwards.
    #[allow(clippy::too_many_arguments)]
    pub fn create_near_miss(
        &self,
        site_id: String,
        job_id: Option<String>,
        what_happened: String,
        occurred_at_ms: i64,
        potential_severity: Severity,
        anonymous: bool,
        stamp: Stamp,
    ) -> Result<String> {
        let mut body = core::NearMiss::new(what_happened, occurred_at_ms, potential_severity.into());
        let mut store = self.lock();
        if anonymous {
            return Ok(store.create_anonymous_near_miss(&site_id, job_id.as_deref(), body, stamp.into())?);
        }
        body.reporter_id = Some(
            store
                .profile()
                .map(|p| p.user_id.clone())
                .ok_or(sync_core::Error::NotSignedIn)?,
        );
        Ok(store.create(&site_id, job_id.as_deref(), Body::NearMiss(body), stamp.into())?)
    }

    // -- JSEA edits -----------------------------------------------------------------------------

    pub fn set_task(&self, record_id: String, task: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            j.task = task;
            Ok(())
        })
    }

    pub fn set_jsea_location(&self, record_id: String, description: Option<String>) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            j.location_description = description;
            Ok(())
        })
    }

    pub fn set_muster_point(&self, record_id: String, muster_point: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            j.muster_point = muster_point;
            Ok(())
        })
    }

    /// Adds a person to the crew list (signing on also adds the signer).
    pub fn add_crew_member(&self, record_id: String, user_id: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            if !j.crew.contains(&user_id) {
                j.crew.push(user_id);
            }
            Ok(())
        })
    }

    /// Adds a task step; returns its id.
    pub fn add_step(&self, record_id: String, description: String) -> Result<String> {
        self.edit_jsea(&record_id, |j| {
            let id = new_id();
            j.steps.push(core::TaskStep {
                id: id.clone(),
                description,
                hazards: Vec::new(),
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_step_description(
        &self,
        record_id: String,
        step_id: String,
        description: String,
    ) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            step(j, &step_id)?.description = description;
            Ok(())
        })
    }

    /// Marks a step removed; it stays in the document so a concurrent edit is never lost.
    pub fn remove_step(&self, record_id: String, step_id: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            step(j, &step_id)?.removed = true;
            Ok(())
        })
    }

    /// Adds a hazard to a step with its risk rating (severity and likelihood, 1–5); returns its id.
    pub fn add_hazard(
        &self,
        record_id: String,
        step_id: String,
        description: String,
        severity: u8,
        likelihood: u8,
    ) -> Result<String> {
        self.edit_jsea(&record_id, |j| {
            let id = new_id();
            step(j, &step_id)?.hazards.push(core::Hazard {
                id: id.clone(),
                description,
                risk: core::RiskRating { severity, likelihood },
                controls: Vec::new(),
                ppe_only_justification: None,
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_hazard_description(
        &self,
        record_id: String,
        hazard_id: String,
        description: String,
    ) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            hazard(j, &hazard_id)?.description = description;
            Ok(())
        })
    }

    pub fn set_hazard_risk(
        &self,
        record_id: String,
        hazard_id: String,
        severity: u8,
        likelihood: u8,
    ) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            hazard(j, &hazard_id)?.risk = core::RiskRating { severity, likelihood };
            Ok(())
        })
    }

    /// Why PPE alone is acceptable for this hazard; `None` clears it.
    pub fn set_ppe_justification(
        &self,
        record_id: String,
        hazard_id: String,
        justification: Option<String>,
    ) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            hazard(j, &hazard_id)?.ppe_only_justification = justification;
            Ok(())
        })
    }

    pub fn remove_hazard(&self, record_id: String, hazard_id: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            hazard(j, &hazard_id)?.removed = true;
            Ok(())
        })
    }

    /// Adds a control at a level of the hierarchy of controls; returns its id.
    pub fn add_control(
        &self,
        record_id: String,
        hazard_id: String,
        description: String,
        level: ControlLevel,
    ) -> Result<String> {
        self.edit_jsea(&record_id, |j| {
            let id = new_id();
            hazard(j, &hazard_id)?.controls.push(core::Control {
                id: id.clone(),
                description,
                level: level.into(),
                removed: false,
            });
            Ok(id)
        })
    }

    pub fn set_control(
        &self,
        record_id: String,
        control_id: String,
        description: String,
        level: ControlLevel,
    ) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            let c = control(j, &control_id)?;
            c.description = description;
            c.level = level.into();
            Ok(())
        })
    }

    pub fn remove_control(&self, record_id: String, control_id: String) -> Result<()> {
        self.edit_jsea(&record_id, |j| {
            control(j, &control_id)?.removed = true;
            Ok(())
        })
    }

    // -- pre-start edits ------------------------------------------------------------------------

    pub fn set_unit(&self, record_id: String, unit: EquipmentUnit) -> Result<()> {
        self.edit_pre_start(&record_id, |p| {
            p.unit = unit.into();
            Ok(())
        })
    }

    /// Adds a checklist item (a failed critical item puts the unit out of service); returns its id.
    pub fn add_checklist_item(&self, record_id: String, label: String, critical: bool) -> Result<String> {
        self.edit_pre_start(&record_id, |p| {
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
        self.edit_pre_start(&record_id, |p| {
            item(p, &item_id)?.result = result.map(Into::into);
            Ok(())
        })
    }

    pub fn set_defect_note(&self, record_id: String, item_id: String, note: Option<String>) -> Result<()> {
        self.edit_pre_start(&record_id, |p| {
            item(p, &item_id)?.defect_note = note;
            Ok(())
        })
    }

    // -- near-miss edits ------------------------------------------------------------------------

    pub fn set_what_happened(&self, record_id: String, what_happened: String) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.what_happened = what_happened;
            Ok(())
        })
    }

    pub fn set_occurred_at(&self, record_id: String, occurred_at_ms: i64) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.occurred_at_ms = occurred_at_ms;
            Ok(())
        })
    }

    /// Where it happened: words, a fix taken there, or both.
    pub fn set_near_miss_location(
        &self,
        record_id: String,
        description: Option<String>,
        fix: Option<GpsFix>,
    ) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.location_description = description;
            n.location_fix = fix.map(Into::into);
            Ok(())
        })
    }

    /// How bad it could have been. Merges keep the highest severity any author gave.
    pub fn set_potential_severity(&self, record_id: String, severity: Severity) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.potential_severity = severity.into();
            Ok(())
        })
    }

    pub fn set_immediate_actions(&self, record_id: String, actions: Option<String>) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.immediate_actions = actions;
            Ok(())
        })
    }

    pub fn add_witness(&self, record_id: String, witness: String) -> Result<()> {
        self.edit_near_miss(&record_id, |n| {
            n.witnesses.push(witness);
            Ok(())
        })
    }

    // -- lifecycle ------------------------------------------------------------------------------

    /// Every finding for the record as it stands (blocking and warnings).
    pub fn validate(&self, record_id: String) -> Result<Vec<Finding>> {
        let view = self.lock().record(&record_id)?;
        Ok(view.findings.into_iter().map(Into::into).collect())
    }

    /// Completes a JSEA or pre-start, or reports a near-miss. Refused with
    /// `MusterError.Blocked` listing every blocking finding when the record is not ready.
    pub fn complete(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().complete(&record_id, stamp.into())?)
    }

    /// Signs as the signed-in person: crew sign-on for a JSEA, operator sign-off for a pre-start.
    pub fn sign(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().sign(&record_id, stamp.into())?)
    }

    /// A supervisor approves a completed JSEA. The server refuses it from anyone else.
    pub fn approve(&self, record_id: String, comment: Option<String>, stamp: Stamp) -> Result<()> {
        Ok(self.lock().decide(
            &record_id,
            core::ApprovalDecision::Approved,
            comment,
            stamp.into(),
        )?)
    }

    /// A supervisor rejects a completed JSEA, saying why so the crew can fix it.
    pub fn reject(&self, record_id: String, comment: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().decide(
            &record_id,
            core::ApprovalDecision::Rejected,
            Some(comment),
            stamp.into(),
        )?)
    }

    /// Records that work started. Never refused for a missing approval: the flags show it.
    pub fn start_work(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().start_work(&record_id, stamp.into())?)
    }

    pub fn close(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().close(&record_id, stamp.into())?)
    }

    /// Conditions changed on site: the JSEA goes back to draft with the reason recorded.
    pub fn reopen(&self, record_id: String, reason: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().reopen(&record_id, &reason, stamp.into())?)
    }

    /// Resolves a conflicting field (see `RecordView.conflicts`) by choosing its value.
    pub fn resolve_conflict(&self, record_id: String, path: String, value: String) -> Result<()> {
        Ok(self.lock().resolve_conflict(&record_id, &path, &value)?)
    }

    // -- reads ----------------------------------------------------------------------------------

    /// One record with its findings, flags, conflicts, sync state and rejection.
    pub fn record(&self, record_id: String) -> Result<RecordView> {
        Ok(self.lock().record(&record_id)?.into())
    }

    /// Lists records from the projection, newest first, never loading a document.
    pub fn list(&self, filter: ListFilter) -> Result<Vec<RecordSummary>> {
        let rows = self.lock().list(&filter.into())?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records with changes the server has not acknowledged, oldest first.
    pub fn pending(&self) -> Result<Vec<PendingChange>> {
        Ok(self.lock().pending()?.into_iter().map(Into::into).collect())
    }

    /// How many records have changes waiting to sync (for a badge).
    pub fn pending_count(&self) -> Result<u32> {
        Ok(self.lock().pending()?.len() as u32)
    }

    /// Every record the server refused, with its reason. The records stay on the device.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        Ok(self.lock().rejections()?.into_iter().map(Into::into).collect())
    }

    /// Why the server refused this record's changes, if it did.
    pub fn rejection(&self, record_id: String) -> Result<Option<Rejection>> {
        let all = self.lock().rejections()?;
        Ok(all.into_iter().find(|r| r.record_id == record_id).map(Into::into))
    }

    /// Checks every page of the database file (after a crash report or before a backup).
    pub fn check_integrity(&self) -> Result<()> {
        Ok(self.lock().check_integrity()?)
    }
}

/// Recovers what is readable of a store `MusterStore(path)` refused as damaged
/// (`MusterError.StoreUnusable`): every readable record and its unsynced edits, the sign-in and
/// the device id go into a new store at `new_path` (which may be `damaged_path` itself), and the
/// damaged file is moved aside, never deleted. Open the result with `MusterStore(new_path)`; its
/// next sync brings back from the server every synced record the file lost. Blocking: call it
/// off the UI thread.
#[uniffi::export]
pub fn recover_store(damaged_path: String, new_path: String) -> Result<RecoveryReport> {
    Ok(sync_core::Store::recover(&damaged_path, &new_path)?.into())
}
