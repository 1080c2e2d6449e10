//! The near-miss form and its editor; filing anonymously is decided once, at creation.

use sync_core::model::{self as core, Body};

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{GpsFix, Mirror, Stamp, mirror_enum, mirror_record};

mirror_enum! {
    /// How bad a near-miss could have been; merges keep the highest (mirrors `Severity`).
    Severity <=> core::Severity { Low, Medium, High, Critical }
}

mirror_enum! {
    /// Mirrors `NearMissStatus`.
    NearMissStatus <=> core::NearMissStatus { Draft, Reported }
}

mirror_record! {
    /// A near-miss report as a form (mirrors `NearMiss`).
    NearMissForm <= core::NearMiss {
        what_happened: String,
        occurred_at_ms: i64,
        location_description: Option<String>,
        location_fix: Option<GpsFix>,
        potential_severity: Severity,
        immediate_actions: Option<String>,
        /// `None` when the report was filed anonymously.
        reporter_id: Option<String>,
        witnesses: Vec<String>,
        status: NearMissStatus,
        reported: Option<Stamp>,
    }
}

#[uniffi::export]
impl MusterStore {
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
        if anonymous {
            let mut store = self.lock();
            return Ok(store.create_anonymous_near_miss(&site_id, job_id.as_deref(), body, stamp.into())?);
        }
        body.reporter_id = Some(self.signed_in_user()?);
        self.create(&site_id, job_id, Body::NearMiss(body), stamp)
    }

    pub fn set_what_happened(&self, record_id: String, what_happened: String) -> Result<()> {
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
            n.what_happened = what_happened;
            Ok(())
        })
    }

    pub fn set_occurred_at(&self, record_id: String, occurred_at_ms: i64) -> Result<()> {
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
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
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
            n.location_description = description;
            n.location_fix = fix.mirror();
            Ok(())
        })
    }

    /// How bad it could have been. Merges keep the highest severity any author gave.
    pub fn set_potential_severity(&self, record_id: String, severity: Severity) -> Result<()> {
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
            n.potential_severity = severity.into();
            Ok(())
        })
    }

    pub fn set_immediate_actions(&self, record_id: String, actions: Option<String>) -> Result<()> {
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
            n.immediate_actions = actions;
            Ok(())
        })
    }

    pub fn add_witness(&self, record_id: String, witness: String) -> Result<()> {
        self.edit_as(&record_id, |n: &mut core::NearMiss| {
            n.witnesses.push(witness);
            Ok(())
        })
    }
}
