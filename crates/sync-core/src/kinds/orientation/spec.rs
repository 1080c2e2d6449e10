//! Every rule about a site orientation: each topic acknowledged, and the worker's own signature.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Orientation, OrientationStatus, OrientationTopic};
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Signature, is_blank, signatures};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in an orientation's document.
pub mod paths {
    pub const SIGNED: &str = "orientation/worker_signature/stamp";
    pub const COMPLETED: &str = "orientation/completed";
}

impl KindSpec for Orientation {
    const NAME: &'static str = "orientation";
    const LABEL: &'static str = "Site orientation";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &["signed"];
    const STATUSES: &'static [&'static str] = super::OrientationStatus::NAMES;
}

impl RecordKind for Orientation {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        format!("Orientation of {}", self.worker_id)
    }

    fn content_hash(&self) -> String {
        Orientation::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.worker_id) {
            out.push(Finding::blocking(
                "orientation.worker_required",
                "worker_id",
                "name the worker oriented",
            ));
        }
        for topic in OrientationTopic::ALL {
            let acknowledged = self
                .acknowledgements
                .iter()
                .any(|a| a.topic == *topic && a.acknowledged);
            if !acknowledged {
                out.push(Finding::blocking(
                    "orientation.topic_unacknowledged",
                    "acknowledgements",
                    format!("'{}' is not acknowledged yet", topic.label()),
                ));
            }
        }
        match &self.worker_signature {
            None => out.push(Finding::blocking(
                "orientation.signature_required",
                "worker_signature",
                "the worker must sign the orientation",
            )),
            Some(sig) if sig.content_hash != self.content_hash() => out.push(Finding::warning(
                "orientation.signature_stale",
                "worker_signature",
                "the acknowledgements changed after the worker signed",
            )),
            Some(_) => {}
        }
    }

    fn flags(&self, _context: &Context, _anonymous: bool) -> Vec<Flag> {
        Vec::new()
    }

    fn program_fact_from(&self) -> Option<i64> {
        let signed = self.worker_signature.as_ref()?;
        (self.status == OrientationStatus::Signed).then_some(signed.stamp.wall_ms)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.worker_signature
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGNED, &s.stamp)),
        );
        out.extend(
            self.completed
                .iter()
                .map(|s| Event::new("completed", None, paths::COMPLETED, s)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.worker_signature.iter_mut().for_each(|s| f(&mut s.stamp));
        self.completed.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.completed.as_ref(),
            assignee: Some(&self.worker_id),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::person("Worker", &self.worker_id),
            EvidenceRow::new("Given by", &self.given_by),
        ];
        for topic in OrientationTopic::ALL {
            let acknowledged = self
                .acknowledgements
                .iter()
                .any(|a| a.topic == *topic && a.acknowledged);
            rows.push(EvidenceRow::new(
                topic.label(),
                if acknowledged { "acknowledged" } else { "not acknowledged" },
            ));
        }
        if let Some(sig) = &self.worker_signature {
            rows.push(EvidenceRow::new("Signed by", &sig.name));
            rows.push(EvidenceRow::time("Signed", sig.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // An acknowledgement withdrawn on one phone and given on another reads as given, but the
        // worker's signature is bound to the acknowledgements as they stood, so it goes stale.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == OrientationStatus::Signed {
            return Err(Error::Lifecycle("this orientation is already signed".into()));
        }
        self.status = OrientationStatus::Signed;
        self.completed = Some(stamp);
        Ok(())
    }

    /// The worker signs their own orientation, once every topic is acknowledged.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        if signature.user_id != self.worker_id {
            return Err(Error::Lifecycle("only the worker oriented signs the orientation".into()));
        }
        self.worker_signature = Some(signature);
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        signatures::check_own_sign_off(
            before.and_then(|b| b.worker_signature.as_ref()),
            self.worker_signature.as_ref(),
            writer,
        )
    }
}
