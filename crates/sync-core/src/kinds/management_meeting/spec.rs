//! Every rule about management meeting minutes: who records them, the attendees' own signatures,
//! and the actions raised on the corrective action log.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{ManagementMeeting, MeetingStatus};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::signatures::SignedContent;
use crate::parts::{SignOn, Signature, is_blank, signatures};
use crate::program::ActionSeed;
use crate::protocol::RejectCode;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a meeting's document.
pub mod paths {
    pub const HELD: &str = "management_meeting/held";

    /// An attendee's signature.
    pub fn signature(user_id: &str) -> String {
        format!("management_meeting/signatures/{user_id}/stamp")
    }
}

pub mod codes {
    /// An attendee signed minutes that changed after they signed.
    pub const STALE_SIGNATURE: &str = "management_meeting.stale_signature";
}

impl KindSpec for ManagementMeeting {
    const NAME: &'static str = "management_meeting";
    const LABEL: &'static str = "Management meeting";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::MeetingStatus::NAMES;
}

impl ManagementMeeting {
    /// The attendees' signatures against what they signed, as it stands now.
    fn signed_content(&self) -> SignedContent<'_> {
        SignedContent {
            signatures: &self.signatures,
            current: self.content_hash(),
            content: "the minutes",
        }
    }
}

impl RecordKind for ManagementMeeting {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn content_hash(&self) -> String {
        ManagementMeeting::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.title) {
            out.push(Finding::blocking(
                "management_meeting.title_required",
                "title",
                "say what the meeting was",
            ));
        }
        if !self.items.iter().any(|i| !is_blank(&i.topic)) {
            out.push(Finding::blocking(
                "management_meeting.items_required",
                "items",
                "list at least one item reviewed",
            ));
        }
        if !self.items.iter().any(|i| i.safety) {
            out.push(Finding::warning(
                "management_meeting.no_safety_review",
                "items",
                "no item reviews safety performance (incidents, inspections, actions, statistics)",
            ));
        }
        // Each action becomes a corrective action, which needs all of these to be raised.
        for (i, action) in self.actions.iter().enumerate() {
            for (field, value, message) in [
                ("hazard", &action.hazard, "say what hazard or gap the action deals with"),
                ("action", &action.action, "say what will be done"),
                ("assignee", &action.assignee, "name the person responsible"),
            ] {
                if is_blank(value) {
                    out.push(Finding::blocking(
                        &format!("management_meeting.action_{field}_required"),
                        format!("actions[{i}].{field}"),
                        message,
                    ));
                }
            }
            if action.due_ms.is_some_and(|d| d <= 0) {
                out.push(Finding::blocking(
                    "management_meeting.action_due_date_invalid",
                    format!("actions[{i}].due_ms"),
                    "the due date is not a real date",
                ));
            }
        }
        if self.signatures.is_empty() {
            out.push(Finding::blocking(
                "management_meeting.signature_required",
                "signatures",
                "at least one attendee must sign the minutes",
            ));
        }
        self.signed_content().findings("management_meeting.signature_stale", out);
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        self.signed_content().flags(codes::STALE_SIGNATURE)
    }

    /// Once held, each action goes on the corrective action log, to its assignee by its date.
    fn raised_actions(&self) -> Vec<ActionSeed> {
        if self.status != MeetingStatus::Held {
            return Vec::new();
        }
        self.actions
            .iter()
            .filter(|a| !is_blank(&a.action))
            .map(|a| ActionSeed {
                item_id: a.id.clone(),
                hazard: if is_blank(&a.hazard) {
                    format!("Raised at the management meeting '{}'", self.title)
                } else {
                    a.hazard.clone()
                },
                action: a.action.clone(),
                unit_id: None,
                assignee: Some(a.assignee.clone()).filter(|p| !is_blank(p)),
                due_ms: a.due_ms.filter(|d| *d > 0),
            })
            .collect()
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(self.signatures.iter().map(|(key, s)| {
            Event::new("signed", Some(&s.user_id), paths::signature(key), &s.stamp)
        }));
        out.extend(self.held.iter().map(|s| Event::new("held", None, paths::HELD, s)));
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signatures.values_mut().for_each(|s| f(&mut s.stamp));
        self.held.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.held.as_ref(),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![EvidenceRow::new("Title", &self.title)];
        for item in &self.items {
            let label = if item.safety { "Safety performance reviewed" } else { "Item" };
            let notes = if is_blank(&item.notes) {
                String::new()
            } else {
                format!(": {}", item.notes)
            };
            rows.push(EvidenceRow::new(label, format!("{}{notes}", item.topic)));
        }
        for action in &self.actions {
            let due = action
                .due_ms
                .map(|d| format!(", due {}", format_utc(d)))
                .unwrap_or_default();
            rows.push(EvidenceRow::new(
                "Action",
                format!("{} ({}): {}{due}", action.action, action.assignee, action.hazard),
            ));
        }
        rows.extend(self.signed_content().evidence("Attended"));
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: items, actions and signatures only add up, and each signature is
        // bound to the minutes as they stood.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == MeetingStatus::Held {
            return Err(Error::Lifecycle("this meeting is already recorded as held".into()));
        }
        self.status = MeetingStatus::Held;
        self.held = Some(stamp);
        Ok(())
    }

    /// An attendee signs the minutes, joining the attendees if not listed.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        SignOn {
            crew: &mut self.attendees,
            signatures: &mut self.signatures,
        }
        .sign(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_signatures(before.map(|b| &b.signatures), &self.signatures, writer)?;
        let recorded_held = before.map(|b| (b.status, &b.held)) != Some((self.status, &self.held))
            && (self.status == MeetingStatus::Held || self.held.is_some());
        // A held meeting's actions go on the log with their owners and dates: only the people
        // who record meetings add to them or change them afterwards.
        let actions_changed =
            before.is_some_and(|b| b.status == MeetingStatus::Held && b.actions != self.actions);
        if (before.is_none() || recorded_held || actions_changed) && !writer.supervises() {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not record a management meeting: a supervisor or manager does",
                    writer.name
                ),
            ));
        }
        Ok(())
    }
}
