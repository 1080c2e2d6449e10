//! Signatures bound to the hash of what was signed, and the two ways kinds collect them: a crew's
//! sign-on (anyone may join and sign; joining never makes another signature stale) and a single
//! sign-off by a named person.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::kinds::{WriteRefusal, Writer};
use crate::protocol::RejectCode;
use crate::stamp::Stamp;

/// A person's signature, bound to the hash of the content they signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Signature {
    pub user_id: String,
    /// Name as printed on the form at signing time.
    pub name: String,
    /// Hex SHA-256 of the record's signable content when signed.
    pub content_hash: String,
    pub stamp: Stamp,
}

/// A crew's sign-on: the people on the work, and their signatures keyed by user id, so a person
/// signs once from any of their phones. Kinds keep both fields in their own body (the document
/// layout names them `crew` and `signatures`) and lend them to these rules.
#[derive(Debug)]
pub struct SignOn<'a> {
    pub crew: &'a mut Vec<String>,
    pub signatures: &'a mut BTreeMap<String, Signature>,
}

impl SignOn<'_> {
    /// Adds `signature`, joining its signer to the crew first if they were not listed. The crew
    /// list is never part of signed content, so a late joiner leaves every other signature valid.
    pub fn sign(self, signature: Signature) {
        if !self.crew.contains(&signature.user_id) {
            self.crew.push(signature.user_id.clone());
        }
        self.signatures.insert(signature.user_id.clone(), signature);
    }
}

/// A person signs, or withdraws a signature, only as themself: every signature that differs
/// between `before` and `after` must be the writer's own, under their own key.
pub fn check_own_signatures(
    before: Option<&BTreeMap<String, Signature>>,
    after: &BTreeMap<String, Signature>,
    writer: &Writer,
) -> Result<(), WriteRefusal> {
    let none = BTreeMap::new();
    let before = before.unwrap_or(&none);
    for key in before.keys().chain(after.keys()) {
        let (old, new) = (before.get(key), after.get(key));
        if old != new && (key != &writer.user_id || new.is_some_and(|s| s.user_id != writer.user_id)) {
            return Err(WriteRefusal::new(
                RejectCode::SignatureForged,
                format!("{} cannot sign or unsign for {key}", writer.name),
            ));
        }
    }
    Ok(())
}

/// A sign-off, when it changes, names the writer.
pub fn check_own_sign_off(
    before: Option<&Signature>,
    after: Option<&Signature>,
    writer: &Writer,
) -> Result<(), WriteRefusal> {
    if before != after && after.is_some_and(|s| s.user_id != writer.user_id) {
        return Err(WriteRefusal::new(
            RejectCode::SignatureForged,
            format!("{} cannot sign off for someone else", writer.name),
        ));
    }
    Ok(())
}

/// A sign-on's signatures judged against the content as it stands: a signature over other
/// content vouches for nothing now, and the record says so the same way for every kind that
/// collects a sign-on (a warning finding, a flag with the evidence, a line of its report).
#[derive(Debug)]
pub struct SignedContent<'a> {
    pub signatures: &'a BTreeMap<String, Signature>,
    /// The hash of the signable content now.
    pub current: String,
    /// What was signed, as a sentence names it ("the topics", "the minutes").
    pub content: &'a str,
}

impl SignedContent<'_> {
    fn stale(&self) -> impl Iterator<Item = (&String, &Signature)> {
        self.signatures
            .iter()
            .filter(|(_, s)| s.content_hash != self.current)
    }

    /// A warning under `rule` for each signature made before the content changed.
    pub fn findings(&self, rule: &str, out: &mut Vec<crate::validate::Finding>) {
        out.extend(self.stale().map(|(user, sig)| {
            crate::validate::Finding::warning(
                rule,
                format!("signatures.{user}"),
                format!("{} signed before {} changed", sig.name, self.content),
            )
        }));
    }

    /// A flag under `code` for each such signature, naming the signer and both hashes.
    pub fn flags(&self, code: &str) -> Vec<crate::flags::Flag> {
        self.stale()
            .map(|(_, sig)| {
                let message = format!(
                    "{} signed {} as they were before they changed",
                    sig.name, self.content
                );
                stale_flag(code, message, sig, &self.current)
            })
            .collect()
    }

    /// A report row under `label` for each signer: valid, or stale and why.
    pub fn evidence(&self, label: &str) -> Vec<crate::kinds::EvidenceRow> {
        self.signatures
            .values()
            .map(|sig| {
                let state = if sig.content_hash == self.current {
                    "valid".to_owned()
                } else {
                    format!("stale: {} changed after signing", self.content)
                };
                crate::kinds::EvidenceRow::new(label, format!("{} ({state})", sig.name))
            })
            .collect()
    }
}

/// The flag that says `sig` was made over other content than the record holds now (`current`),
/// with the evidence every such flag carries: who signed, when, and both hashes.
pub fn stale_flag(code: &str, message: String, sig: &Signature, current: &str) -> crate::flags::Flag {
    crate::flags::Flag::new(code, message)
        .with("signer", sig.user_id.clone())
        .with("signed", crate::clock::format_utc(sig.stamp.wall_ms))
        .with("signed_hash", sig.content_hash.clone())
        .with("current_hash", current.to_owned())
}
