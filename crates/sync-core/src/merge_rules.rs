//! The safety-aware merge (DESIGN §3): no merge makes a record look safer than one of its authors
//! said it was.
//!
//! When people edit the same field at once, automerge keeps every value and last-writer-wins picks
//! one by actor id, which knows nothing about safety. Where that matters, the record is read
//! instead as:
//! - a near miss's potential severity: the highest any author gave;
//! - an incident's treatment: the most serious any author gave;
//! - a checklist item's result: failed if any author failed it;
//! - a hazard's risk: the highest severity and the highest likelihood any author gave, each on its own;
//! - a JSEA step, hazard or control marked removed: kept, when whoever removed it had not seen every
//!   edit of it, or someone restored it at the same time.
//!
//! The concurrent values stay in the document, and in `RecordDocument::conflicts`, until the
//! record is next edited. A person who changes such a field on purpose must be able to make their
//! value stand: [`write_deliberate_changes`] makes it supersede every concurrent value.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, Prop, ReadDoc, ScalarValue, Value};
use autosurgeon::{Hydrate, HydrateError};
use std::collections::BTreeMap;
use std::ops::RangeBounds;

use crate::error::{Error, Result};
use crate::kinds::incident::Treatment;
use crate::model::{
    Approval, ApprovalDecision, Body, ChecklistItem, Control, Hazard, ItemResult, Jsea, RiskRating, Severity,
    TaskStep,
};

pub(crate) const REMOVED: &str = "removed";

/// Applies the rules to `body`, freshly hydrated from `doc` with last-writer-wins values.
///
/// A record with no concurrent values and nothing removed costs a short scan per checklist item
/// or hazard; values are read in full only where authors disagreed, and history only for items
/// marked removed.
pub(crate) fn apply(doc: &AutoCommit, body: &mut Body) -> Result<()> {
    let Some(body_obj) = child(doc, &automerge::ROOT, body.kind().body_key())? else {
        return Ok(());
    };
    body.spec_mut().apply_merge_rules(doc, &body_obj)
}

/// The highest potential severity any author gave, where they disagreed.
pub(crate) fn highest_severity(doc: &AutoCommit, near_miss: &ObjId) -> Result<Option<Severity>> {
    const KEY: &str = "potential_severity";
    if !holds_concurrent_values(doc, near_miss, KEY) {
        return Ok(None);
    }
    Ok(doc
        .get_all(near_miss, KEY)?
        .iter()
        .filter_map(|(v, _)| v.as_str().and_then(Severity::parse))
        .max())
}

/// The most serious treatment any author gave an incident's injury, where they disagreed.
pub(crate) fn most_serious_treatment(doc: &AutoCommit, incident: &ObjId) -> Result<Option<Treatment>> {
    const KEY: &str = "treatment";
    if !holds_concurrent_values(doc, incident, KEY) {
        return Ok(None);
    }
    Ok(doc
        .get_all(incident, KEY)?
        .iter()
        .filter_map(|(v, _)| v.as_str().and_then(Treatment::parse))
        .max())
}

/// Where authors decided `key` (an [`Approval`]) of `obj` concurrently and disagreed, the
/// rejection: a fix one person found not to work is not made to look verified by another's
/// concurrent approval. `None` when there was no such disagreement.
pub(crate) fn rejection_stands(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<Approval>> {
    if !holds_concurrent_values(doc, obj, key) {
        return Ok(None);
    }
    for (value, id) in doc.get_all(obj, key)? {
        if !matches!(value, Value::Object(_)) {
            continue;
        }
        let decision: Approval = Hydrate::hydrate_map(doc, &id)
            .map_err(|e| Error::CorruptDocument(format!("a concurrent {key} does not read: {e}")))?;
        if decision.decision == ApprovalDecision::Rejected {
            return Ok(Some(decision));
        }
    }
    Ok(None)
}

/// A checklist item that any author failed reads as failed, whatever others answered meanwhile.
pub(crate) fn failures_stand(doc: &AutoCommit, body: &ObjId, items: &mut [ChecklistItem]) -> Result<()> {
    let Some(list) = child(doc, body, "items")? else {
        return Ok(());
    };
    let failed = ItemResult::Fail.as_str();
    for (item, item_obj) in items.iter_mut().zip(list_objects(doc, &list)) {
        if holds_concurrent_values(doc, &item_obj, "result")
            && doc
                .get_all(&item_obj, "result")?
                .iter()
                .any(|(v, _)| v.as_str() == Some(failed))
        {
            item.result = Some(ItemResult::Fail);
        }
    }
    Ok(())
}

pub(crate) fn apply_to_jsea(doc: &AutoCommit, jsea_obj: &ObjId, jsea: &mut Jsea) -> Result<()> {
    let Some(steps) = child(doc, jsea_obj, "steps")? else {
        return Ok(());
    };
    for (step, step_obj) in jsea.steps.iter_mut().zip(list_objects(doc, &steps)) {
        if step.removed {
            step.removed = removal_stands::<TaskStep>(doc, &step_obj)?;
        }
        let Some(hazards) = child(doc, &step_obj, "hazards")? else {
            continue;
        };
        for (hazard, hazard_obj) in step.hazards.iter_mut().zip(list_objects(doc, &hazards)) {
            highest_risk(doc, &hazard_obj, &mut hazard.risk)?;
            if hazard.removed {
                hazard.removed = removal_stands::<Hazard>(doc, &hazard_obj)?;
            }
            if !hazard.controls.iter().any(|c| c.removed) {
                continue;
            }
            let Some(controls) = child(doc, &hazard_obj, "controls")? else {
                continue;
            };
            for (control, control_obj) in hazard.controls.iter_mut().zip(list_objects(doc, &controls)) {
                if control.removed {
                    control.removed = removal_stands::<Control>(doc, &control_obj)?;
                }
            }
        }
    }
    Ok(())
}

/// Each of a hazard's severity and likelihood is the highest any author gave.
fn highest_risk(doc: &AutoCommit, hazard: &ObjId, risk: &mut RiskRating) -> Result<()> {
    let Some(risk_obj) = child(doc, hazard, "risk")? else {
        return Ok(());
    };
    // One scan flags the fields holding concurrent values; only those are read in full.
    let disputed: Vec<String> = doc
        .map_range(&risk_obj, ..)
        .filter(|entry| entry.conflict)
        .map(|entry| entry.key.into_owned())
        .collect();
    for key in disputed {
        let highest = doc
            .get_all(&risk_obj, key.as_str())?
            .iter()
            .filter_map(|(v, _)| v.as_u64().and_then(|n| u8::try_from(n).ok()))
            .max();
        match (key.as_str(), highest) {
            ("severity", Some(highest)) => risk.severity = highest,
            ("likelihood", Some(highest)) => risk.likelihood = highest,
            _ => {}
        }
    }
    Ok(())
}

/// A list item a person removes by marking it, so a concurrent edit is never lost.
trait Removable: Hydrate + PartialEq {
    fn set_removed(&mut self, removed: bool);
}

impl Removable for TaskStep {
    fn set_removed(&mut self, removed: bool) {
        self.removed = removed;
    }
}

impl Removable for Hazard {
    fn set_removed(&mut self, removed: bool) {
        self.removed = removed;
    }
}

impl Removable for Control {
    fn set_removed(&mut self, removed: bool) {
        self.removed = removed;
    }
}

/// Whether an item marked removed stays removed: only if nobody restored it meanwhile and the
/// changes that removed it saw the item as it is now. An edit they had not seen (made at the same
/// time, or after) means someone still needs the item, so it is kept.
///
/// Stored values are compared. A removal made through `RecordDocument::update` writes the item as
/// its author read it, so later edits that merely write back what the rules read change nothing.
fn removal_stands<T: Removable>(doc: &AutoCommit, item: &ObjId) -> Result<bool> {
    let mut removals = Vec::new();
    for (value, op) in doc.get_all(item, REMOVED)? {
        if value.as_bool() != Some(true) {
            return Ok(false);
        }
        match doc.hash_for_opid(&op) {
            Some(change) => removals.push(change),
            // Written in this device's open transaction, on top of everything it holds.
            None => return Ok(true),
        }
    }
    if removals.is_empty() {
        return Ok(false);
    }
    removals.sort();
    removals.dedup();
    let as_removed = content::<T>(
        &AtHeads {
            doc,
            heads: &removals,
        },
        item,
    )?;
    Ok(as_removed == content::<T>(doc, item)?)
}

/// An item's content as `doc` holds it, its own removal mark aside.
fn content<T: Removable>(doc: &impl autosurgeon::ReadDoc, item: &ObjId) -> Result<T> {
    let mut content = T::hydrate_map(doc, item)
        .map_err(|e: HydrateError| Error::CorruptDocument(format!("a removed item is unreadable: {e}")))?;
    content.set_removed(false);
    Ok(content)
}

/// The document as it stood at `heads`: what the people who made those changes had seen.
struct AtHeads<'a> {
    doc: &'a AutoCommit,
    heads: &'a [ChangeHash],
}

impl autosurgeon::ReadDoc for AtHeads<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.heads.to_vec()
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> std::result::Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        self.doc.get_at(obj, prop, self.heads)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        ReadDoc::object_type(self.doc, obj).ok()
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.doc.map_range_at(obj, range, self.heads)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        self.doc.list_range_at(obj, range, self.heads)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.doc.length_at(obj, self.heads)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> std::result::Result<String, AutomergeError> {
        self.doc.text_at(obj, self.heads)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> std::result::Result<Self::Parents<'_>, AutomergeError> {
        self.doc.parents_at(obj, self.heads)
    }

    fn is_empty(&self) -> bool {
        self.doc.keys_at(automerge::ROOT, self.heads).next().is_none()
    }
}

/// A field the rules guard, named by the ids of the items it sits in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    PotentialSeverity,
    Treatment,
    ChecklistResult { item: String },
    RiskSeverity { hazard: String },
    RiskLikelihood { hazard: String },
    StepRemoved { step: String },
    HazardRemoved { hazard: String },
    ControlRemoved { hazard: String, control: String },
}

impl Field {
    fn is_removal_mark(&self) -> bool {
        matches!(
            self,
            Field::StepRemoved { .. } | Field::HazardRemoved { .. } | Field::ControlRemoved { .. }
        )
    }
}

/// A guarded field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Guarded {
    Severity(Severity),
    Treatment(Treatment),
    Result(Option<ItemResult>),
    Rating(u8),
    Removed(bool),
}

impl Guarded {
    /// The value as autosurgeon stores it.
    fn scalar(&self) -> ScalarValue {
        match self {
            Guarded::Severity(s) => s.as_str().into(),
            Guarded::Treatment(t) => t.as_str().into(),
            Guarded::Result(Some(r)) => r.as_str().into(),
            Guarded::Result(None) => ScalarValue::Null,
            Guarded::Rating(n) => ScalarValue::Uint(u64::from(*n)),
            Guarded::Removed(removed) => ScalarValue::Boolean(*removed),
        }
    }
}

/// Every guarded field of `body` with its value, as its kind names them.
fn guarded_fields(body: &Body) -> BTreeMap<Field, Guarded> {
    let mut fields = BTreeMap::new();
    body.spec().guarded_fields(&mut fields);
    fields
}

/// The body to reconcile into the document after a person's edit: `edited`, except for removal
/// marks the person left alone that the rules set aside (one removal, made without seeing an
/// edit of the item). Those keep their stored `true`, so reconciling writes nothing there: a
/// `false` written by an unrelated edit would outweigh someone removing the item again at the
/// same time, having seen everything.
///
/// Every other guarded field is written as the rules read it. autosurgeon puts every value and
/// automerge settles concurrent values on any put, so writing back the last-writer-wins value
/// would settle a failure as a pass.
pub(crate) fn body_to_write(doc: &AutoCommit, stored: &Body, read: &Body, edited: &Body) -> Result<Body> {
    let mut body = edited.clone();
    let Some(body_obj) = child(doc, &automerge::ROOT, edited.kind().body_key())? else {
        return Ok(body);
    };
    let stored_values = guarded_fields(stored);
    let read_values = guarded_fields(read);
    let kept = Guarded::Removed(false);
    for (field, value) in guarded_fields(edited) {
        let set_aside = value == kept
            && read_values.get(&field) == Some(&kept)
            && stored_values.get(&field) == Some(&Guarded::Removed(true));
        if set_aside {
            let (obj, prop) = locate(doc, &body_obj, &field)?;
            if doc.get_all(&obj, prop)?.len() == 1 {
                body.spec_mut().set_removal_mark(&field, true);
            }
        }
    }
    Ok(body)
}

/// Writes each guarded field the person changed from what they read so that it holds only their
/// value, superseding every concurrent one; a removal mark is written by this change itself, so
/// the removal has seen every edit of the item and stands. Runs after the edit is reconciled.
pub(crate) fn write_deliberate_changes(doc: &mut AutoCommit, read: &Body, edited: &Body) -> Result<()> {
    let read_values = guarded_fields(read);
    let changed: Vec<(Field, Guarded)> = guarded_fields(edited)
        .into_iter()
        .filter(|(field, value)| read_values.get(field).is_some_and(|read| read != value))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let body_obj = child(doc, &automerge::ROOT, edited.kind().body_key())?
        .ok_or_else(|| Error::CorruptDocument("the record's body is missing after an edit".into()))?;
    for (field, value) in changed {
        let (obj, prop) = locate(doc, &body_obj, &field)?;
        let value = value.scalar();
        // A field holding only this value is settled. A removal mark must also be this change's
        // own (ops in the open transaction have no hash yet): whether a removal stands depends on
        // what the change that made it had seen.
        let settled = match doc.get_all(&obj, prop)?.as_slice() {
            [(Value::Scalar(s), op)] if s.as_ref() == &value => {
                !field.is_removal_mark() || doc.hash_for_opid(op).is_none()
            }
            _ => false,
        };
        if !settled {
            // automerge skips a put equal to the only value held and, among concurrent values,
            // keeps the existing op of an equal one: delete first so the value is this change's.
            doc.delete(&obj, prop)?;
            doc.put(&obj, prop, value)?;
        }
    }
    Ok(())
}

/// The object and key holding `field` in the document.
fn locate(doc: &AutoCommit, body_obj: &ObjId, field: &Field) -> Result<(ObjId, &'static str)> {
    let missing = || Error::CorruptDocument(format!("{field:?} is not in the document"));
    let located = match field {
        Field::PotentialSeverity => Some((body_obj.clone(), "potential_severity")),
        Field::Treatment => Some((body_obj.clone(), "treatment")),
        Field::ChecklistResult { item } => find_in(doc, body_obj, "items", item)?.map(|obj| (obj, "result")),
        Field::RiskSeverity { hazard } => match find_hazard(doc, body_obj, hazard)? {
            Some(hazard) => child(doc, &hazard, "risk")?.map(|risk| (risk, "severity")),
            None => None,
        },
        Field::RiskLikelihood { hazard } => match find_hazard(doc, body_obj, hazard)? {
            Some(hazard) => child(doc, &hazard, "risk")?.map(|risk| (risk, "likelihood")),
            None => None,
        },
        Field::StepRemoved { step } => find_in(doc, body_obj, "steps", step)?.map(|obj| (obj, REMOVED)),
        Field::HazardRemoved { hazard } => find_hazard(doc, body_obj, hazard)?.map(|obj| (obj, REMOVED)),
        Field::ControlRemoved { hazard, control } => match find_hazard(doc, body_obj, hazard)? {
            Some(hazard) => find_in(doc, &hazard, "controls", control)?.map(|obj| (obj, REMOVED)),
            None => None,
        },
    };
    located.ok_or_else(missing)
}

fn find_hazard(doc: &AutoCommit, jsea_obj: &ObjId, hazard_id: &str) -> Result<Option<ObjId>> {
    let Some(steps) = child(doc, jsea_obj, "steps")? else {
        return Ok(None);
    };
    for step in list_objects(doc, &steps) {
        if let Some(hazard) = find_in(doc, &step, "hazards", hazard_id)? {
            return Ok(Some(hazard));
        }
    }
    Ok(None)
}

/// The element whose `id` is `id` in the keyed list at `list_key` of `parent`.
fn find_in(doc: &AutoCommit, parent: &ObjId, list_key: &str, id: &str) -> Result<Option<ObjId>> {
    match child(doc, parent, list_key)? {
        Some(list) => find_by_id(doc, &list, id),
        None => Ok(None),
    }
}

/// The element of a keyed list whose `id` is `id`.
fn find_by_id(doc: &AutoCommit, list: &ObjId, id: &str) -> Result<Option<ObjId>> {
    for element in list_objects(doc, list) {
        if let Some((value, _)) = doc.get(&element, "id")?
            && value.as_str() == Some(id)
        {
            return Ok(Some(element));
        }
    }
    Ok(None)
}

/// Whether `key` of the map `obj` holds concurrent values. A one-key scan reports it for less than
/// reading every value does, and almost always the answer is no.
fn holds_concurrent_values(doc: &AutoCommit, obj: &ObjId, key: &str) -> bool {
    doc.map_range(obj, key.to_owned()..=key.to_owned())
        .any(|entry| entry.conflict)
}

/// The object at `prop` of `obj`, if there is one.
fn child(doc: &AutoCommit, obj: &ObjId, prop: impl Into<Prop>) -> Result<Option<ObjId>> {
    Ok(match doc.get(obj, prop)? {
        Some((Value::Object(_), id)) => Some(id),
        _ => None,
    })
}

/// The objects in a list, in order (the order hydration reads them in).
fn list_objects(doc: &AutoCommit, list: &ObjId) -> Vec<ObjId> {
    doc.list_range(list, ..)
        .filter(|element| matches!(element.value, automerge::ValueRef::Object(_)))
        .map(|element| element.id())
        .collect()
}
