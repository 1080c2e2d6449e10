//! A site orientation from a phone: the core's topic list (the shell never spells a topic), one
//! acknowledgement at a time, then the worker's `sign` and `complete`. Acknowledgements are a
//! list without item ids, so the generic `set_field` cannot reach one: this editor does.

use sync_core::kinds::orientation::{Orientation, OrientationTopic as CoreTopic};

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::{Mirror, Stamp, mirror_enum};

mirror_enum! {
    /// What every orientation covers (mirrors `OrientationTopic`).
    OrientationTopic <=> CoreTopic { SafetyProgram, SiteHazards, EmergencyProcedures, RightToRefuse }
}

/// One orientation topic as the worker reads it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrientationTopicInfo {
    pub topic: OrientationTopic,
    /// As stored (`right_to_refuse`).
    pub name: String,
    /// As the worker reads it ("The right to refuse dangerous work").
    pub label: String,
}

/// Every topic an orientation covers, in the order the form shows them.
#[uniffi::export]
pub fn orientation_topics() -> Vec<OrientationTopicInfo> {
    CoreTopic::ALL
        .iter()
        .map(|&t| OrientationTopicInfo {
            topic: t.into(),
            name: t.as_str().to_owned(),
            label: t.label().to_owned(),
        })
        .collect()
}

#[uniffi::export]
impl MusterStore {
    /// Starts the orientation of `worker_id` at a site, every topic listed and none acknowledged
    /// yet; `given_by` names who gives it, in words. Returns its id.
    pub fn create_orientation(
        &self,
        site_id: String,
        job_id: Option<String>,
        worker_id: String,
        given_by: String,
        stamp: Stamp,
    ) -> Result<String> {
        self.create(
            &site_id,
            job_id,
            Orientation::new(worker_id, given_by).into(),
            stamp,
        )
    }

    /// Marks a topic acknowledged by the worker.
    pub fn acknowledge_topic(&self, record_id: String, topic: OrientationTopic) -> Result<()> {
        self.edit_as(&record_id, |o: &mut Orientation| {
            o.acknowledge(topic.into());
            Ok(())
        })
    }
}
