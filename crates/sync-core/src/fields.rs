//! Editing any kind's body by path, so a shell can fill a new kind's form with a handful of
//! generic operations instead of one setter per field.
//!
//! A path names fields with `/` (`unit/serial`); below a list, a segment picks the item whose
//! `id` it is (`items/4f2a…/defect_note`). The body is edited as JSON and read back into its
//! kind's type, so a value of the wrong type is refused with serde's words for what was expected.
//! Lifecycle fields (status, signatures, approvals, stamps) change only through lifecycle steps:
//! an edit that would change the record's status or timeline is refused.

pub use serde_json::Value;

use crate::error::{Error, Result};
use crate::flags::lifecycle_events;
use crate::model::{Body, Record, new_id};

/// Sets the field at `path` to `value` (JSON `null` clears an optional field).
pub fn set(record: &mut Record, path: &str, value: Value) -> Result<()> {
    edit_json(record, |body| {
        let (parent, last) = locate_parent(body, path)?;
        match parent {
            Value::Object(map) if map.contains_key(last) => {
                map.insert(last.to_owned(), value);
                Ok(())
            }
            _ => Err(no_such(path)),
        }
    })
}

/// Appends `item` (a JSON object) to the list at `path`, giving it a fresh `id` when it has none
/// and the list's items carry ids. Returns the item's id (empty for a list of plain values).
pub fn add_item(record: &mut Record, path: &str, item: Value) -> Result<String> {
    let mut id = String::new();
    edit_json(record, |body| {
        let Value::Array(list) = locate(body, path)? else {
            return Err(Error::Invalid(format!("{path} is not a list")));
        };
        let mut item = item;
        if let Value::Object(fields) = &mut item {
            let given = fields.get("id").and_then(Value::as_str).map(str::to_owned);
            id = given.unwrap_or_else(new_id);
            fields.insert("id".into(), Value::String(id.clone()));
            // A kind whose list items are only ever marked removed starts them unremoved.
            if list.first().is_some_and(|first| first.get("removed").is_some()) {
                fields.entry("removed").or_insert(Value::Bool(false));
            }
        }
        list.push(item);
        Ok(())
    })?;
    Ok(id)
}

/// Removes the item `item_id` from the list at `path`. Items that carry a `removed` mark are
/// marked, not deleted, so a concurrent edit of them is never lost.
pub fn remove_item(record: &mut Record, path: &str, item_id: &str) -> Result<()> {
    edit_json(record, |body| {
        let Value::Array(list) = locate(body, path)? else {
            return Err(Error::Invalid(format!("{path} is not a list")));
        };
        let index = list
            .iter()
            .position(|i| i.get("id").and_then(Value::as_str) == Some(item_id))
            .ok_or_else(|| Error::NotFound(format!("{path}/{item_id}")))?;
        match list[index].get_mut("removed") {
            Some(mark) => *mark = Value::Bool(true),
            None => {
                list.remove(index);
            }
        }
        Ok(())
    })
}

/// Parses `text` as JSON; `what` names it in the error ("the value").
pub fn parse(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Invalid(format!("{what} is not JSON: {e}")))
}

/// A new record's body of `kind` from a JSON object of its form's fields (without `kind`).
pub fn new_body(kind: crate::model::Kind, text: &str) -> Result<Body> {
    let Value::Object(mut fields) = parse(text, "the body")? else {
        return Err(Error::Invalid(
            "the body must be a JSON object of the form's fields".into(),
        ));
    };
    fields.insert("kind".into(), kind.as_str().into());
    let body: Body = serde_json::from_value(Value::Object(fields))
        .map_err(|e| Error::Invalid(format!("not a valid {}: {e}", kind.label())))?;
    check_new(&body)?;
    Ok(body)
}

/// Refuses a body for a new record that already holds lifecycle events (signatures, approvals,
/// completions): those are stamped by lifecycle steps, never written in.
pub fn check_new(body: &Body) -> Result<()> {
    let mut events = Vec::new();
    body.spec().events(&mut events);
    if body.status() != NEW_STATUS || !events.is_empty() {
        return Err(Error::Lifecycle(
            "a new record starts as a draft, with no signatures, approvals or lifecycle stamps".into(),
        ));
    }
    Ok(())
}

/// The status every kind starts in, before any lifecycle step.
const NEW_STATUS: &str = "draft";

/// The body as JSON, as the generic operations see it (`kind` names the kind).
pub fn to_json(body: &Body) -> Result<Value> {
    Ok(serde_json::to_value(body)?)
}

fn edit_json(record: &mut Record, edit: impl FnOnce(&mut Value) -> Result<()>) -> Result<()> {
    let mut json = to_json(&record.body)?;
    edit(&mut json)?;
    let body: Body = serde_json::from_value(json)
        .map_err(|e| Error::Invalid(format!("the {} would not be valid: {e}", record.kind().label())))?;
    if body.kind() != record.kind() {
        return Err(Error::Invalid("a record's kind cannot change".into()));
    }
    let edited = Record {
        header: record.header.clone(),
        body,
    };
    if edited.body.status() != record.body.status() || lifecycle_events(&edited) != lifecycle_events(record) {
        return Err(Error::Lifecycle(
            "status, signatures, approvals and stamps change only through a lifecycle step".into(),
        ));
    }
    record.body = edited.body;
    Ok(())
}

fn no_such(path: &str) -> Error {
    Error::NotFound(format!("no field {path}"))
}

/// The value at `path`.
fn locate<'a>(body: &'a mut Value, path: &str) -> Result<&'a mut Value> {
    let mut at = body;
    for segment in segments(path)? {
        at = step(at, segment).ok_or_else(|| no_such(path))?;
    }
    Ok(at)
}

/// The object holding the last segment of `path`, and that segment.
fn locate_parent<'a, 'p>(body: &'a mut Value, path: &'p str) -> Result<(&'a mut Value, &'p str)> {
    let segments = segments(path)?;
    let (last, parents) = segments.split_last().ok_or_else(|| no_such(path))?;
    let mut at = body;
    for segment in parents {
        at = step(at, segment).ok_or_else(|| no_such(path))?;
    }
    Ok((at, last))
}

fn segments(path: &str) -> Result<Vec<&str>> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) || segments.first() == Some(&"kind") {
        return Err(Error::Invalid(format!("{path:?} is not a field path")));
    }
    Ok(segments)
}

fn step<'a>(at: &'a mut Value, segment: &str) -> Option<&'a mut Value> {
    match at {
        Value::Object(map) => map.get_mut(segment),
        Value::Array(list) => list
            .iter_mut()
            .find(|item| item.get("id").and_then(Value::as_str) == Some(segment)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Header, ItemResult, SCHEMA_VERSION};
    use crate::sample;
    use serde_json::json;

    fn stamp(ms: i64) -> crate::Stamp {
        crate::Stamp {
            wall_ms: ms,
            monotonic_ms: ms,
            boot_id: "boot".into(),
            fix: None,
        }
    }

    fn record(body: Body) -> Record {
        Record {
            header: Header {
                id: "r1".into(),
                kind: body.kind().as_str().into(),
                schema_version: SCHEMA_VERSION,
                tenant_id: "acme".into(),
                site_id: "site".into(),
                job_id: None,
                created_by: "u1".into(),
                created: stamp(1),
            },
            body,
        }
    }

    #[test]
    fn fields_and_list_items_are_edited_by_path() {
        let mut r = record(Body::PreStart(sample::prestart("u1")));
        set(&mut r, "unit/serial", json!("SN-1")).unwrap();
        let id = add_item(
            &mut r,
            "items",
            json!({"label": "Horn", "critical": false, "result": null, "defect_note": null}),
        )
        .unwrap();
        set(&mut r, &format!("items/{id}/result"), json!("fail")).unwrap();
        let Body::PreStart(p) = &r.body else {
            unreachable!()
        };
        assert_eq!(p.unit.serial.as_deref(), Some("SN-1"));
        assert_eq!(p.items.last().unwrap().result, Some(ItemResult::Fail));
        remove_item(&mut r, "items", &id).unwrap();
        let Body::PreStart(p) = &r.body else {
            unreachable!()
        };
        assert!(
            p.items.iter().all(|i| i.id != id),
            "items with no removal mark are deleted"
        );
    }

    #[test]
    fn wrong_types_unknown_paths_and_lifecycle_fields_are_refused() {
        let mut r = record(Body::Jsea(sample::jsea()));
        let before = r.clone();
        let wrong = set(&mut r, "task", json!(5)).unwrap_err().to_string();
        assert!(wrong.contains("invalid type"), "{wrong}");
        assert!(matches!(
            set(&mut r, "no_such", json!("x")),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            set(&mut r, "kind", json!("near_miss")),
            Err(Error::Invalid(_))
        ));
        let lifecycle = set(&mut r, "status", json!("approved")).unwrap_err();
        assert!(matches!(lifecycle, Error::Lifecycle(_)), "{lifecycle}");
        assert!(set(&mut r, "completed", serde_json::to_value(stamp(2)).unwrap()).is_err());
        assert_eq!(r, before, "a refused edit changes nothing");
    }

    #[test]
    fn removing_a_jsea_step_marks_it_removed() {
        let mut r = record(Body::Jsea(sample::jsea()));
        let Body::Jsea(j) = &r.body else { unreachable!() };
        let step = j.steps[0].id.clone();
        remove_item(&mut r, "steps", &step).unwrap();
        let Body::Jsea(j) = &r.body else { unreachable!() };
        assert!(j.steps[0].removed);
    }
}
