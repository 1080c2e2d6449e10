//! Every rule about a certificate: what must be on record, and the expiry alerts.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{Certificate, CertificateStatus};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::model::hash_json;
use crate::parts::is_blank;
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a certificate's document.
pub mod paths {
    pub const RECORDED: &str = "certificate/recorded";
}

pub mod codes {
    /// Expires within 90, 60 or 30 days (the evidence says which alert).
    pub const EXPIRING: &str = "certificate.expiring";
    pub const EXPIRED: &str = "certificate.expired";
}

/// Days before expiry at which the worker and the office are alerted, furthest first.
pub const ALERT_DAYS: [i64; 3] = [90, 60, 30];

const DAY_MS: i64 = 86_400_000;

impl KindSpec for Certificate {
    const NAME: &'static str = "certificate";
    const LABEL: &'static str = "Certificate";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::CertificateStatus::NAMES;
}

impl Certificate {
    /// The alert due at `now_ms`: the nearest threshold already reached, in days, or `None`.
    fn alert_at(&self, now_ms: i64) -> Option<i64> {
        let expiry = self.expiry_ms?;
        ALERT_DAYS
            .iter()
            .rev()
            .copied()
            .find(|days| now_ms >= expiry - days * DAY_MS)
    }
}

impl RecordKind for Certificate {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        if is_blank(&self.number) {
            self.certificate_type.clone()
        } else {
            format!("{} No. {}", self.certificate_type, self.number)
        }
    }

    fn content_hash(&self) -> String {
        hash_json(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.holder_id) {
            out.push(Finding::blocking(
                "certificate.holder_required",
                "holder_id",
                "name the worker who holds it",
            ));
        }
        if is_blank(&self.certificate_type) {
            out.push(Finding::blocking(
                "certificate.type_required",
                "certificate_type",
                "say what the certificate is for",
            ));
        }
        if is_blank(&self.number) {
            out.push(Finding::blocking(
                "certificate.number_required",
                "number",
                "enter the certificate number as printed",
            ));
        }
        if is_blank(&self.issuer) {
            out.push(Finding::blocking(
                "certificate.issuer_required",
                "issuer",
                "name who issued it",
            ));
        }
        if self.issued_ms.is_none() {
            out.push(Finding::blocking(
                "certificate.issued_required",
                "issued_ms",
                "enter the date it was issued",
            ));
        }
        if let (Some(issued), Some(expiry)) = (self.issued_ms, self.expiry_ms)
            && expiry <= issued
        {
            out.push(Finding::blocking(
                "certificate.expiry_before_issue",
                "expiry_ms",
                format!(
                    "it cannot expire ({}) before it was issued ({})",
                    format_utc(expiry),
                    format_utc(issued)
                ),
            ));
        }
        if self.document_ref.as_deref().is_none_or(is_blank) {
            out.push(Finding::warning(
                "certificate.document_missing",
                "document_ref",
                "say where the certificate document is kept",
            ));
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let (Some(now), Some(expiry)) = (context.now_ms, self.expiry_ms) else {
            return Vec::new();
        };
        if self.status == CertificateStatus::Draft {
            return Vec::new();
        }
        let flag = if now >= expiry {
            Flag::new(
                codes::EXPIRED,
                format!("{} expired {}", self.title(), format_utc(expiry)),
            )
        } else if let Some(days) = self.alert_at(now) {
            let left = (expiry - now + DAY_MS - 1) / DAY_MS;
            Flag::new(
                codes::EXPIRING,
                format!("{} expires in {left} days", self.title()),
            )
            .with("alert", format!("{days} days"))
            .with("days_left", left.to_string())
        } else {
            return Vec::new();
        };
        vec![
            flag.with("holder", self.holder_id.clone())
                .with("certificate_type", self.certificate_type.clone())
                .with("number", self.number.clone())
                .with("expiry", format_utc(expiry))
                .with("judged_at", format_utc(now)),
        ]
    }

    fn flags_change_at(&self, now_ms: i64) -> Option<i64> {
        let expiry = self.expiry_ms?;
        ALERT_DAYS
            .iter()
            .map(|days| expiry - days * DAY_MS)
            .chain([expiry])
            .filter(|at| *at > now_ms)
            .min()
    }

    fn program_fact_from(&self) -> Option<i64> {
        (self.status == CertificateStatus::Recorded).then_some(self.issued_ms?)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.recorded
                .iter()
                .map(|s| Event::new("recorded", None, paths::RECORDED, s)),
        );
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.recorded.iter_mut().for_each(f);
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.recorded.as_ref(),
            assignee: Some(&self.holder_id),
            due_ms: self.expiry_ms,
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::person("Holder", &self.holder_id),
            EvidenceRow::new("Certificate", &self.certificate_type),
            EvidenceRow::new("Number", &self.number),
            EvidenceRow::new("Issuer", &self.issuer),
        ];
        if let Some(issued) = self.issued_ms {
            rows.push(EvidenceRow::time("Issued", issued));
        }
        match self.expiry_ms {
            Some(expiry) => rows.push(EvidenceRow::time("Expires", expiry)),
            None => rows.push(EvidenceRow::new("Expires", "does not expire")),
        }
        if let Some(doc) = &self.document_ref {
            rows.push(EvidenceRow::new("Document", doc));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // One person enters a certificate from its document; concurrent edits stay visible as
        // conflicts until someone checks the document again.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    fn complete(&mut self, stamp: Stamp) -> Result<()> {
        if self.status == CertificateStatus::Recorded {
            return Err(Error::Lifecycle("this certificate is already on record".into()));
        }
        self.status = CertificateStatus::Recorded;
        self.recorded = Some(stamp);
        Ok(())
    }

    fn check_write(&self, _before: Option<&Self>, _writer: &Writer) -> Result<(), WriteRefusal> {
        // No signature to forge: who entered it is the record's history.
        Ok(())
    }
}
