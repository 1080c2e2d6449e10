//! Tailgate meeting (toolbox talk): the crew meets before work, goes over the day's topics and
//! each attendee signs. The smallest kind with a sign-on: it shows what a new kind needs.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;
use crate::stamp::Stamp;

string_enum! {
    pub enum TailgateStatus {
        Draft => "draft",
        Held => "held",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct TailgateMeeting {
    /// What the meeting was about, e.g. "Lifting over the live line".
    pub title: String,
    /// Each topic covered (hazards of the day, the site's emergency plan, a recent near miss).
    pub topics: Vec<String>,
    /// User ids of the attendees; signing adds the signer. Not part of the signed content.
    pub crew: Vec<String>,
    /// Attendees' signatures, keyed by user id.
    pub signatures: BTreeMap<String, Signature>,
    pub status: TailgateStatus,
    /// When the meeting was recorded as held.
    pub held: Option<Stamp>,
    /// The site's emergency plan reviewed at this meeting (its record id), where one was.
    pub emergency_plan_id: Option<String>,
}

impl TailgateMeeting {
    pub fn new(title: impl Into<String>, topics: Vec<String>) -> Self {
        Self {
            title: title.into(),
            topics,
            crew: Vec::new(),
            signatures: BTreeMap::new(),
            status: TailgateStatus::Draft,
            held: None,
            emergency_plan_id: None,
        }
    }

    /// Hash of what attendees sign: the title and the topics, and the emergency plan reviewed
    /// when there is one. A meeting with none hashes as before the plan was added, so the
    /// signatures given then stay valid.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            title: &'a str,
            topics: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            emergency_plan_id: Option<&'a str>,
        }
        hash_json(&Signable {
            title: &self.title,
            topics: &self.topics,
            emergency_plan_id: self.emergency_plan_id.as_deref(),
        })
    }
}
