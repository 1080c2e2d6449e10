//! Every rule about a health and safety policy: a manager's signature, the yearly review and a
//! signature that no longer matches the text.

use automerge::{AutoCommit, ObjId};
use std::collections::BTreeMap;

use super::{POLICY_TOPICS, Policy, PolicyStatus};
use crate::clock::format_utc;
use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::kinds::{
    EvidenceRow, KindFields, KindSpec, RecordKind, Visibility, WriteRefusal, Writer,
};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Signature, is_blank, signatures};
use crate::protocol::{RejectCode, Role};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Where each lifecycle stamp sits in a policy's document.
pub mod paths {
    pub const SIGNED: &str = "policy/signature/stamp";

    /// The `index`th review's signature.
    pub fn review(index: usize) -> String {
        format!("policy/reviews/{index}/signature/stamp")
    }
}

pub mod codes {
    /// Twelve months or more since a manager last signed it.
    pub const REVIEW_OVERDUE: &str = "policy.review_overdue";
    /// The policy reads differently from what its last signer signed.
    pub const STALE_SIGNATURE: &str = "policy.stale_signature";
}

const DAY_MS: i64 = 86_400_000;
/// A policy is reviewed and signed again at least this often.
pub const REVIEW_INTERVAL_MS: i64 = 365 * DAY_MS;

impl KindSpec for Policy {
    const NAME: &'static str = "policy";
    const LABEL: &'static str = "Health and safety policy";
    const VISIBILITY: Visibility = Visibility::Site;
    const ON_SITE_EVENTS: &'static [&'static str] = &[];
    const STATUSES: &'static [&'static str] = super::PolicyStatus::NAMES;
}

impl Policy {
    /// Findings that stop a manager signing: a signature on an empty policy vouches for nothing.
    fn content_findings(&self, out: &mut Vec<Finding>) {
        if is_blank(&self.title) {
            out.push(Finding::blocking("policy.title_required", "title", "give the policy a title"));
        }
        if is_blank(&self.text) {
            out.push(Finding::blocking(
                "policy.text_required",
                "text",
                "write the policy's text",
            ));
        }
    }

    /// The last signature, when it vouches for an earlier version of the policy.
    fn stale_last_signer(&self) -> Option<&Signature> {
        self.last_signer()
            .filter(|s| s.content_hash != self.content_hash())
    }
}

impl RecordKind for Policy {
    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn content_hash(&self) -> String {
        Policy::content_hash(self)
    }

    fn validate(&self, out: &mut Vec<Finding>) {
        self.content_findings(out);
        if self.signature.is_none() {
            out.push(Finding::blocking(
                "policy.signature_required",
                "signature",
                "a manager must sign the policy to make it the company's",
            ));
        }
        for topic in POLICY_TOPICS {
            if !self.covers_topic(topic) {
                out.push(Finding::warning(
                    "policy.topic_not_covered",
                    "covers",
                    format!("the policy does not say it covers '{topic}'"),
                ));
            }
        }
        for (i, topic) in self.covers.iter().enumerate() {
            if !POLICY_TOPICS.contains(&topic.as_str()) {
                out.push(Finding::warning(
                    "policy.topic_unknown",
                    format!("covers[{i}]"),
                    format!("'{topic}' is not a policy topic this app knows"),
                ));
            }
        }
        // Earlier signatures over earlier text are the policy's history; what matters is whether
        // the policy as it reads now is what its last signer signed.
        if let Some(sig) = self.stale_last_signer() {
            out.push(Finding::warning(
                "policy.signature_stale",
                "text",
                format!("{} signed the policy before it was changed: a manager must sign it again", sig.name),
            ));
        }
    }

    fn flags(&self, context: &Context, _anonymous: bool) -> Vec<Flag> {
        let mut flags = Vec::new();
        if let Some(sig) = self.stale_last_signer() {
            flags.push(
                signatures::stale_flag(codes::STALE_SIGNATURE, format!("{} signed a version of the policy that has since changed", sig.name), sig, &self.content_hash()),
            );
        }
        if let Some(now) = context.now_ms
            && self.status == PolicyStatus::Signed
            && let Some(last) = self.last_signer()
            && now >= last.stamp.wall_ms + REVIEW_INTERVAL_MS
        {
            flags.push(
                Flag::new(
                    codes::REVIEW_OVERDUE,
                    "the policy has not been reviewed and signed in the last 12 months",
                )
                .with("last_signed", format_utc(last.stamp.wall_ms))
                .with("last_signed_by", last.user_id.clone())
                .with("last_signer_name", last.name.clone())
                .with("review_due", format_utc(last.stamp.wall_ms + REVIEW_INTERVAL_MS))
                .with("judged_at", format_utc(now)),
            );
        }
        flags
    }

    fn flags_change_at(&self, now_ms: i64) -> Option<i64> {
        let due = self.last_signed_ms()? + REVIEW_INTERVAL_MS;
        (self.status == PolicyStatus::Signed && due > now_ms).then_some(due)
    }

    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>) {
        out.extend(
            self.signature
                .iter()
                .map(|s| Event::new("signed", Some(&s.user_id), paths::SIGNED, &s.stamp)),
        );
        out.extend(self.reviews.iter().enumerate().map(|(i, r)| {
            Event::new(
                "reviewed",
                Some(&r.signature.user_id),
                paths::review(i),
                &r.signature.stamp,
            )
        }));
    }

    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp)) {
        self.signature.iter_mut().for_each(|s| f(&mut s.stamp));
        self.reviews.iter_mut().for_each(|r| f(&mut r.signature.stamp));
    }

    fn fields(&self) -> KindFields<'_> {
        KindFields {
            completed: self.signature.as_ref().map(|s| &s.stamp),
            due_ms: self
                .last_signed_ms()
                .filter(|_| self.status == PolicyStatus::Signed)
                .map(|last| last + REVIEW_INTERVAL_MS),
            ..KindFields::default()
        }
    }

    fn evidence(&self) -> Vec<EvidenceRow> {
        let mut rows = vec![
            EvidenceRow::new("Title", &self.title),
            EvidenceRow::new("Policy", &self.text),
        ];
        for topic in POLICY_TOPICS {
            let covered = if self.covers_topic(topic) { "covered" } else { "not covered" };
            rows.push(EvidenceRow::new(format!("Covers {topic}"), covered));
        }
        let current = self.content_hash();
        let state = |s: &Signature| {
            if s.content_hash == current {
                "this text"
            } else {
                "an earlier text"
            }
        };
        if let Some(s) = &self.signature {
            rows.push(EvidenceRow::new("Signed by", format!("{} ({})", s.name, state(s))));
            rows.push(EvidenceRow::time("Signed", s.stamp.wall_ms));
        }
        for r in &self.reviews {
            let note = if is_blank(&r.note) {
                String::new()
            } else {
                format!(": {}", r.note)
            };
            rows.push(EvidenceRow::new(
                "Reviewed by",
                format!("{} ({}){note}", r.signature.name, state(&r.signature)),
            ));
            rows.push(EvidenceRow::time("Reviewed", r.signature.stamp.wall_ms));
        }
        rows
    }

    fn apply_merge_rules(&mut self, _doc: &AutoCommit, _body: &ObjId) -> Result<()> {
        // Nothing to guard: signatures are bound to the text, and reviews only add up.
        Ok(())
    }

    fn guarded_fields(&self, _out: &mut BTreeMap<Field, Guarded>) {}

    /// Makes a signed policy the company's (the signature is checked as a blocking finding).
    fn complete(&mut self, _stamp: Stamp) -> Result<()> {
        if self.status == PolicyStatus::Signed {
            return Err(Error::Lifecycle(
                "this policy is already signed: sign it again to record a review".into(),
            ));
        }
        self.status = PolicyStatus::Signed;
        Ok(())
    }

    /// A manager signs: the first signature makes it the company's policy; a later one is a
    /// yearly review of the policy as it then stands.
    fn sign(&mut self, signature: Signature) -> Result<()> {
        let mut findings = Vec::new();
        self.content_findings(&mut findings);
        if !findings.is_empty() {
            return Err(Error::Blocked(findings));
        }
        if self.signature.is_none() {
            self.signature = Some(signature);
            self.status = PolicyStatus::Signed;
        } else {
            self.review(signature, "");
        }
        Ok(())
    }

    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal> {
        let old_signature = before.and_then(|b| b.signature.as_ref());
        signatures::check_own_sign_off(old_signature, self.signature.as_ref(), writer)?;
        let no_reviews = Vec::new();
        let old_reviews = before.map_or(&no_reviews, |b| &b.reviews);
        // Reviews are matched by their signature, not their place in the list: two managers'
        // reviews merged from two phones may come in either order.
        for review in &self.reviews {
            let old = old_reviews
                .iter()
                .map(|r| &r.signature)
                .find(|s| **s == review.signature);
            signatures::check_own_sign_off(old, Some(&review.signature), writer)?;
        }
        if let Some(dropped) = old_reviews
            .iter()
            .find(|old| !self.reviews.iter().any(|r| r.signature == old.signature))
            && dropped.signature.user_id != writer.user_id
        {
            return Err(WriteRefusal::new(
                RejectCode::SignatureForged,
                format!(
                    "{} cannot remove {}'s review of the policy",
                    writer.name, dropped.signature.name
                ),
            ));
        }
        let signed_changed = old_signature != self.signature.as_ref()
            || *old_reviews != self.reviews
            || (before.map(|b| b.status) != Some(self.status) && self.status == PolicyStatus::Signed);
        // The words of a signed policy are the manager's: nobody else rewrites them.
        let reworded = before.is_some_and(|b| b.signature.is_some() && b.content_hash() != self.content_hash());
        if (signed_changed || reworded) && writer.role != Role::Admin {
            return Err(WriteRefusal::new(
                RejectCode::ApprovalNotPermitted,
                format!(
                    "{} may not sign or review the company's policy: a manager does",
                    writer.name
                ),
            ));
        }
        Ok(())
    }
}
