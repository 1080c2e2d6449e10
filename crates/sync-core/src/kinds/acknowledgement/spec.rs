//! Every rule about an acknowledgement: the person's own signature over the words they read.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{AckStatus, AckSubject, Acknowledgement};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Signature, is_blank, signatures};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// What a worker acknowledges about their right to refuse (OHS Act).
pub const RIGHT_TO_REFUSE_STATEMENT: &str = "I have been told that I have the right to refuse \
work I believe is dangerous to my health or safety or to anyone else's (Alberta OHS Act). If I \
refuse, I tell my supervisor or employer right away why, and the work is inspected and the \
danger dealt with before anyone is asked to do it; the refusal is written up and I receive a \
copy. No one may discipline, dismiss or otherwise act against me for refusing in good faith.";

/// Where each lifecycle stamp sits in an acknowledgement's document.
pub mod paths {
    pub const SIGNED: &str = "acknowledgement/signature/stamp";
}

pub mod codes {
    /// The words changed after the person signed them.
    pub const STALE_SIGNATURE: &str = "acknowledgement.stale_signature";
}

impl KindSpec for Acknowledgement {
    const NAME: &'static str = "acknowledgement";
    const LABEL: &'static str = "Acknowledgement";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::AckStatus::NAMES;
}

impl AckSubject {
    /// The subject as people read it.
    pub fn label(self) -> &'static str {
        match self {
            AckSubject::RightToRefuse => "The right to refuse dangerous work",
            AckSubject::Policy => "The health and safety policy",
            AckSubject::EmergencyPlan => "The site's emergency response plan",
            AckSubject::Responsibilities => "Health and safety responsibilities",
        }
    }
}

impl RecordKind for Acknowledgement {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("{}: {}", self.subject.label(), self.person_id)
    }

    fn content_hash(&self) -> String {
        Acknowledgement::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.person_id) {
            out.push(Finding::blocking(
                "acknowledgement.person_required",
                "person_id",
                "name the person acknowledging",
            ));
        }
        if is_blank(&self.statement) {
            out.push(Finding::blocking(
                "acknowledgement.statement_required",
                "statement",
                "write the words the person reads and acknowledges",
            ));
        }
        let names_a_record = matches!(self.subject, AckSubject::Policy | AckSubject::EmergencyPlan);
        if names_a_record && self.document_id.as_deref().is_none_or(is_blank) {
            out.push(Finding::warning(
                "acknowledgement.document_missing",
                "document_id",
                format!("say which {} was acknowledged", self.subject.label().to_lowercase()),
            ));
        }
        match &self.signature {
            None => out.push(Finding::blocking(
                "acknowledgement.signature_required",
                "signature",
                "the person must sign what they acknowledge",
            )),
            Some(sig) if sig.content_hash != self.content_hash() => out.push(Finding::warning(
                "acknowledgement.signature_stale",
                "signature",
                format!("{} signed words that have since changed", sig.name),
            )),
            Some(_) => {}
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        let current = self.content_hash();
        self.signature
            .iter()
            .filter(|s| s.content_hash != current)
            .map(|sig| {
                signatures::stale_flag(codes::STALE_SIGNATURE, format!("{} acknowledged words that have since changed", sig.name), sig, &current)
            })
            .collect()
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.signature
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGNED, &s.stamp)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signature.iter_mut().for_each(|s| f(&mut s.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.signature.as_ref().map(|s| &s.stamp),
            assignee: Some(&self.person_id),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("Subject", self.subject.label()),
            EvidenceRow::person("Person", &self.person_id),
        ];
        if let Some(doc) = &self.document_id {
            rows.push(EvidenceRow::new("Document", doc));
        }
        rows.push(EvidenceRow::new("Statement", &self.statement));
        if let Some(sig) = &self.signature {
            let state = if sig.content_hash == self.content_hash() {
                "these words"
            } else {
                "words that have since changed"
            };
            rows.push(EvidenceRow::new("Signed by", format!("{} ({state})", sig.name)));
            rows.push(EvidenceRow::time("Signed", sig.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: the one signature is bound to the words it acknowledged.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, _stamp: Stamp) -> Result<()> {
        if self.status == AckStatus::Signed {
            return Err(Error::Lifecycle("this acknowledgement is already signed".into()));
        }
        self.status = AckStatus::Signed;
        Ok(())
    }

    /// Only the person acknowledging signs: no one acknowledges for someone else.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        if signature.user_id != self.person_id {
            return Err(Error::Lifecycle(
                "only the person acknowledging signs the acknowledgement".into(),
            ));
        }
        self.signature = Some(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_sign_off(
            before.and_then(|b| b.signature.as_ref()),
            self.signature.as_ref(),
            writer,
        )?;
        // Once signed it is that person's word: only they change what it says or withdraw it.
        if let Some(b) = before
            && b.signature.is_some()
            && (b.content_hash() != self.content_hash() || self.signature.is_none())
            && writer.user_id != b.person_id
        {
            return Err(WriteRefusal::new(
                crate::protocol::RejectCode::SignatureForged,
                format!(
                    "{} cannot change or withdraw {}'s signed acknowledgement",
                    writer.name, b.person_id
                ),
            ));
        }
        // Their own signature on another person's acknowledgement is no acknowledgement either.
        let signed_now = before.and_then(|b| b.signature.as_ref()) != self.signature.as_ref();
        if signed_now && self.signature.is_some() && writer.user_id != self.person_id {
            return Err(WriteRefusal::new(
                crate::protocol::RejectCode::SignatureForged,
                format!("{} cannot acknowledge for {}", writer.name, self.person_id),
            ));
        }
        Ok(())
    }
}
