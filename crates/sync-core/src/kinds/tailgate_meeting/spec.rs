//! Every rule about a tailgate meeting.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{TailgateMeeting, TailgateStatus};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::signatures::SignedContent;
use crate::parts::{SignOn, Signature, is_blank, signatures};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a tailgate meeting's document.
pub mod paths {
    pub const HELD: &str = "tailgate_meeting/held";

    /// An attendee's signature.
    pub fn signature(user_id: &str) -> String {
        format!("tailgate_meeting/signatures/{user_id}/stamp")
    }
}

pub mod codes {
    /// An attendee signed topics that changed after they signed.
    pub const STALE_SIGNATURE: &str = "tailgate_meeting.stale_signature";
}

impl KindSpec for TailgateMeeting {
    const NAME: &'static str = "tailgate_meeting";
    const LABEL: &'static str = "Tailgate meeting";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["created", "signed", "held"];
    const STATUSES: &'static [&'static str] = super::TailgateStatus::NAMES;
}

impl TailgateMeeting {
    /// The attendees' signatures against what they signed, as it stands now.
    fn signed_content(&self) -> SignedContent<'_> {
        SignedContent {
            signatures: &self.signatures,
            current: self.content_hash(),
            content: "the topics",
        }
    }
}

impl RecordKind for TailgateMeeting {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn content_hash(&self) -> String {
        TailgateMeeting::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.title) {
            out.push(Finding::blocking(
                "tailgate_meeting.title_required",
                "title",
                "say what the meeting was about",
            ));
        }
        if !self.topics.iter().any(|t| !is_blank(t)) {
            out.push(Finding::blocking(
                "tailgate_meeting.topics_required",
                "topics",
                "list at least one topic covered",
            ));
        }
        if self.signatures.is_empty() {
            out.push(Finding::blocking(
                "tailgate_meeting.signature_required",
                "signatures",
                "at least one attendee must sign",
            ));
        }
        self.signed_content().findings("tailgate_meeting.signature_stale", out);
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        self.signed_content().flags(codes::STALE_SIGNATURE)
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
        rows.extend(self.topics.iter().map(|t| EvidenceRow::new("Topic", t)));
        if let Some(plan) = &self.emergency_plan_id {
            rows.push(EvidenceRow::new("Emergency plan reviewed", plan));
        }
        rows.extend(self.signed_content().evidence("Attended"));
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing here can be made to look safer by a merge: topics and signatures only add up.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == TailgateStatus::Held {
            return Err(Error::Lifecycle("this meeting is already recorded as held".into()));
        }
        self.status = TailgateStatus::Held;
        self.held = Some(stamp);
        Ok(())
    }

    /// An attendee signs, before or after the meeting is recorded (someone arriving late signs
    /// when they are briefed).
    fn sign(&mut self, signature: Signature) -> Result<()> {
        SignOn {
            crew: &mut self.crew,
            signatures: &mut self.signatures,
        }
        .sign(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_signatures(before.map(|b| &b.signatures), &self.signatures, writer)
    }
}
