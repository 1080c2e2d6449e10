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
