//! Management meeting minutes (SECOR element 1): the managers and supervisors review the safety
//! program's performance; the actions they raise go on the corrective action log.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;
use crate::stamp::Stamp;

string_enum! {
    pub enum MeetingStatus {
        Draft => "draft",
        Held => "held",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct ManagementMeeting {
    pub title: String,
    /// User ids of those present; signing adds the signer. Not part of the signed content.
    pub attendees: Vec<String>,
    /// Attendees' signatures over the minutes, keyed by user id.
    pub signatures: BTreeMap<String, Signature>,
    /// Items reviewed, in order.
    pub items: Vec<MeetingItem>,
    /// Actions raised; each becomes a corrective action on the log (raised_actions).
    pub actions: Vec<MeetingAction>,
    pub status: MeetingStatus,
    pub held: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct MeetingItem {
    pub id: String,
    pub topic: String,
    pub notes: String,
    /// The item reviews safety performance (incidents, inspections, actions, statistics).
    pub safety: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct MeetingAction {
    pub id: String,
    pub hazard: String,
    pub action: String,
    /// User id of the person responsible.
    pub assignee: String,
    pub due_ms: Option<i64>,
}

impl ManagementMeeting {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            attendees: Vec::new(),
            signatures: BTreeMap::new(),
            items: Vec::new(),
            actions: Vec::new(),
            status: MeetingStatus::Draft,
            held: None,
        }
    }

    /// Hash of what attendees sign: the minutes (title, items and actions), not who else attended.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            title: &'a str,
            items: &'a [MeetingItem],
            actions: &'a [MeetingAction],
        }
        hash_json(&Signable {
            title: &self.title,
            items: &self.items,
            actions: &self.actions,
        })
    }
}
