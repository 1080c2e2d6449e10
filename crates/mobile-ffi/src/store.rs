//! `MusterStore`: the device's local store (`sync_core::Store`) as a uniffi object.
//!
//! Every method is a short, blocking SQLite transaction (a few milliseconds): call them from a
//! background thread or dispatcher, never the UI thread (see docs/mobile.md). This file holds
//! what every kind shares (open, lifecycle steps, reads); each kind's typed editor is in
//! `kinds/<kind>.rs` and the generic editor in `fields.rs`. Edits map onto `Store::edit` with
//! closures that only set fields; the rules (validation, lifecycle, flags, merge) are all
//! sync-core's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sync_core::kinds::KindBody;
use sync_core::model::Body;

use crate::error::Result;
use crate::types::{
    Alert, Finding, ListFilter, PendingChange, Profile, RecordSummary, RecordView, RecoveryReport,
    RegisterUnit, Rejection, Stamp,
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

    /// Edits a record of kind `K` through `f`; a record of another kind is refused as invalid.
    pub(crate) fn edit_as<K: KindBody, T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut K) -> sync_core::Result<T>,
    ) -> Result<T> {
        Ok(self.lock().edit(id, |r| {
            let kind = r.header.kind.clone();
            let body = K::of_mut(&mut r.body).ok_or_else(|| {
                sync_core::Error::Invalid(format!("record {id} is a {kind}, not a {}", K::LABEL))
            })?;
            f(body)
        })?)
    }

    /// The signed-in person's user id.
    pub(crate) fn signed_in_user(&self) -> Result<String> {
        Ok(self
            .lock()
            .profile()
            .map(|p| p.user_id.clone())
            .ok_or(sync_core::Error::NotSignedIn)?)
    }

    pub(crate) fn create(
        &self,
        site_id: &str,
        job_id: Option<String>,
        body: Body,
        stamp: Stamp,
    ) -> Result<String> {
        Ok(self
            .lock()
            .create(site_id, job_id.as_deref(), body, stamp.into())?)
    }
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

    /// The signed-in person's own alerts, judged at this phone's clock: their certificates 90, 60
    /// or 30 days from expiry or expired, their corrective actions past due. Offline, and
    /// nothing before sign-in. The office sees the same on the server's pages.
    pub fn my_alerts(&self) -> Result<Vec<Alert>> {
        let store = self.lock();
        let Some(me) = store.profile().map(|p| p.user_id.clone()) else {
            return Ok(Vec::new());
        };
        let alerts = store.alerts_for(&me, sync_core::store::now_ms())?;
        Ok(alerts
            .into_iter()
            .map(|(row, flag)| Alert {
                record_id: row.id,
                kind: row.kind,
                title: row.title,
                flag: flag.into(),
            })
            .collect())
    }

    /// The equipment register as last fetched (empty before the first fetch), for the pre-start's
    /// unit picker. A unit the register lacks may still be named: the server adds it on sync.
    pub fn equipment_register(&self) -> Result<Vec<RegisterUnit>> {
        let register = self.lock().equipment_register()?;
        Ok(register
            .map(|r| r.units.into_iter().map(Into::into).collect())
            .unwrap_or_default())
    }

    /// The register's unit numbered `unit_id`, however it is written (`ld 3` finds `LD-3`).
    pub fn equipment_unit(&self, unit_id: String) -> Result<Option<RegisterUnit>> {
        let register = self.lock().equipment_register()?;
        Ok(register.and_then(|r| r.unit(&unit_id).cloned()).map(Into::into))
    }

    // -- lifecycle ------------------------------------------------------------------------------

    /// Every finding for the record as it stands (blocking and warnings).
    pub fn validate(&self, record_id: String) -> Result<Vec<Finding>> {
        let view = self.lock().record(&record_id)?;
        Ok(view.findings.into_iter().map(Into::into).collect())
    }

    /// The kind's completing step: completes a JSEA, pre-start, inspection or orientation,
    /// reports a near-miss, raises a corrective action, records a certificate, marks a competency
    /// verified. Refused with `MusterError.Blocked` listing every blocking finding when the record
    /// is not ready.
    pub fn complete(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().complete(&record_id, stamp.into())?)
    }

    /// Signs as the signed-in person: crew sign-on for a JSEA, operator sign-off for a pre-start,
    /// the inspector's sign-off, the worker's own orientation, the verifier's signature on a
    /// competency, the resolver's on a corrective action (resolving it: set `resolution_note`
    /// first).
    pub fn sign(&self, record_id: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().sign(&record_id, stamp.into())?)
    }

    /// A supervisor approves a completed JSEA, or verifies that a resolved corrective action's
    /// fix worked (closing it; never the resolver). The server refuses it from anyone else.
    pub fn approve(&self, record_id: String, comment: Option<String>, stamp: Stamp) -> Result<()> {
        Ok(self.lock().decide(
            &record_id,
            sync_core::model::ApprovalDecision::Approved,
            comment,
            stamp.into(),
        )?)
    }

    /// A supervisor rejects a completed JSEA, or finds a corrective action's fix did not work
    /// (it goes back to open), saying why so the crew can fix it.
    pub fn reject(&self, record_id: String, comment: String, stamp: Stamp) -> Result<()> {
        Ok(self.lock().decide(
            &record_id,
            sync_core::model::ApprovalDecision::Rejected,
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
