//! The equipment register: the company's units, their type, the certificates their operators
//! need and their hour meter; which are out of service and why.
//!
//! A unit is out of service while a corrective action holds it (`equipment_holds`): a raised
//! action naming a unit opens a hold, and storing that action closed releases it. A pre-start
//! naming a unit number the register lacks adds it, so a phone offline can check a unit nobody
//! typed in yet; the office completes its details later ("added from the field").

use std::collections::BTreeMap;
use sync_core::kinds::corrective_action::ActionStatus;
use sync_core::kinds::pre_start::PreStartStatus;
use sync_core::model::{Body, Record};
use sync_core::program::unit_key;

use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{
    AuditNote, EquipmentHold, EquipmentUnit, RecordStore, RegisterWrite, StoreError, StoreResult,
};

/// Longest unit number, model or serial the register keeps.
const MAX_FIELD_CHARS: usize = 200;

/// A unit as the register shows it: its row, whether it is in service, and the record that
/// changed that last.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitStatus {
    pub unit: EquipmentUnit,
    /// The holds still open: the actions that keep it out of service.
    pub open_holds: Vec<EquipmentHold>,
    /// What changed its status last, if anything ever did.
    pub last_change: Option<StatusChange>,
}

impl UnitStatus {
    pub fn in_service(&self) -> bool {
        self.open_holds.is_empty()
    }
}

/// The record behind a unit's last change of status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// Taken out of service by the failure in `source_record` (a pre-start), held by `action_id`.
    Held {
        at_ms: i64,
        source_record: String,
        action_id: String,
    },
    /// Returned to service by closing `action_id`.
    Released { at_ms: i64, action_id: String },
}

/// Details of a unit as an admin or supervisor types them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitDetails {
    pub unit_id: String,
    pub make_model: String,
    pub serial: Option<String>,
    pub equipment_type: String,
    pub required_certificates: Vec<String>,
    pub hour_meter: Option<f64>,
}

/// A change to a unit; `None` leaves that detail as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitChange {
    pub make_model: Option<String>,
    /// `Some("")` clears the serial.
    pub serial: Option<String>,
    pub equipment_type: Option<String>,
    pub required_certificates: Option<Vec<String>>,
    pub hour_meter: Option<f64>,
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn require_keeper(who: &Principal) -> ServiceResult<()> {
    if who.may_decide() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "only a supervisor or the office admin changes the equipment register".into(),
        ))
    }
}

/// The company's register with each unit's status. Anyone signed in may read it: crews check
/// whether a unit is out of service before they use it.
pub async fn list(state: &AppState, who: &Principal) -> ServiceResult<Vec<UnitStatus>> {
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || Ok(register(store.as_ref(), &tenant)?)).await
}

/// One unit with its status, by its number however it is written.
pub async fn unit(state: &AppState, who: &Principal, unit_id: &str) -> ServiceResult<UnitStatus> {
    let key = unit_key(unit_id);
    list(state, who)
        .await?
        .into_iter()
        .find(|u| unit_key(&u.unit.unit_id) == key)
        .ok_or_else(|| no_unit(unit_id))
}

fn no_unit(unit_id: &str) -> ServiceError {
    ServiceError::NotFound(format!("there is no unit {unit_id} in the equipment register"))
}

/// Every unit of the company with its holds, by unit number.
pub fn register(store: &dyn RecordStore, tenant_id: &str) -> StoreResult<Vec<UnitStatus>> {
    let mut holds: BTreeMap<String, Vec<EquipmentHold>> = BTreeMap::new();
    for hold in store.equipment_holds(tenant_id)? {
        holds.entry(hold.unit_key.clone()).or_default().push(hold);
    }
    Ok(store
        .equipment_units(tenant_id)?
        .into_iter()
        .map(|unit| {
            let held = holds.remove(&unit_key(&unit.unit_id)).unwrap_or_default();
            status_of(unit, &held)
        })
        .collect())
}

fn status_of(unit: EquipmentUnit, holds: &[EquipmentHold]) -> UnitStatus {
    let mut changes: Vec<StatusChange> = Vec::new();
    for hold in holds {
        changes.push(StatusChange::Held {
            at_ms: hold.held_at_ms,
            source_record: hold.source_record.clone(),
            action_id: hold.action_id.clone(),
        });
        if let Some(at_ms) = hold.released_at_ms {
            changes.push(StatusChange::Released {
                at_ms,
                action_id: hold.action_id.clone(),
            });
        }
    }
    let at = |c: &StatusChange| match c {
        StatusChange::Held { at_ms, .. } | StatusChange::Released { at_ms, .. } => *at_ms,
    };
    // A unit still held is out of service because of its latest open hold, whatever was
    // released after it.
    let open_holds: Vec<EquipmentHold> = holds
        .iter()
        .filter(|h| h.released_at_ms.is_none())
        .cloned()
        .collect();
    let last_change = if open_holds.is_empty() {
        changes.into_iter().max_by_key(at)
    } else {
        changes
            .into_iter()
            .filter(|c| matches!(c, StatusChange::Held { action_id, .. } if open_holds.iter().any(|h| &h.action_id == action_id)))
            .max_by_key(at)
    };
    UnitStatus {
        unit,
        open_holds,
        last_change,
    }
}

/// The checks a unit's details pass before they are stored.
fn checked(details: UnitDetails) -> ServiceResult<UnitDetails> {
    let invalid = |m: String| ServiceError::invalid("invalid_unit", m);
    let unit_id = details.unit_id.trim().to_owned();
    if unit_key(&unit_id).is_empty() {
        return Err(invalid(
            "a unit needs a unit number with at least one letter or digit, like LD-3".into(),
        ));
    }
    let make_model = details.make_model.trim().to_owned();
    if make_model.is_empty() {
        return Err(invalid(format!(
            "unit {unit_id} needs a make and model, like \"Cat 950 loader\""
        )));
    }
    for (name, value) in [
        ("unit number", unit_id.as_str()),
        ("make and model", make_model.as_str()),
        ("serial", details.serial.as_deref().unwrap_or("")),
        ("equipment type", details.equipment_type.as_str()),
    ] {
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(invalid(format!(
                "the {name} is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
    }
    if let Some(hours) = details.hour_meter
        && (!hours.is_finite() || hours < 0.0)
    {
        return Err(invalid(format!(
            "the hour meter reads a number of hours of 0 or more, not {hours}"
        )));
    }
    let mut required: Vec<String> = Vec::new();
    for cert in &details.required_certificates {
        let cert = cert.trim();
        if cert.is_empty() {
            continue;
        }
        if cert.chars().count() > MAX_FIELD_CHARS {
            return Err(invalid(format!(
                "a certificate name is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
        if !required.iter().any(|c| sync_core::program::same_name(c, cert)) {
            required.push(cert.to_owned());
        }
    }
    Ok(UnitDetails {
        unit_id,
        make_model,
        serial: details
            .serial
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        equipment_type: details.equipment_type.trim().to_owned(),
        required_certificates: required,
        hour_meter: details.hour_meter,
    })
}

/// Adds a unit typed by a supervisor or admin. A unit number the register has (however it is
/// written: "ld 3" is "LD-3") is refused.
pub async fn add(state: &AppState, who: &Principal, details: UnitDetails) -> ServiceResult<UnitStatus> {
    require_keeper(who)?;
    let details = checked(details)?;
    let (store, who2, now) = (state.store.clone(), who.clone(), (state.clock)());
    let unit_id = details.unit_id.clone();
    blocking(move || {
        let unit = EquipmentUnit {
            unit_id: details.unit_id,
            make_model: details.make_model,
            serial: details.serial,
            equipment_type: details.equipment_type,
            required_certificates: details.required_certificates,
            hour_meter: details.hour_meter,
            added_at_ms: now,
            added_by: who2.user_id.clone(),
            added_from_record: None,
            retired: false,
        };
        let audit = AuditNote {
            user_id: who2.user_id.clone(),
            action: "equipment.added".into(),
            detail: format!("unit {} ({})", unit.unit_id, unit.make_model),
        };
        match store.add_equipment_unit(&who2.tenant_id, &unit, &audit) {
            Err(StoreError::Conflict(_)) => {
                let existing = store
                    .equipment_unit(&who2.tenant_id, &unit.unit_id)?
                    .map_or_else(|| unit.unit_id.clone(), |u| u.unit_id);
                Err(ServiceError::Conflict(format!(
                    "the register already has unit {existing}; edit it instead of adding {} again",
                    unit.unit_id
                )))
            }
            other => Ok(other?),
        }
    })
    .await?;
    unit(state, who, &unit_id).await
}

/// Changes a unit's details (its number stays: it is what the field writes on pre-starts).
pub async fn change(
    state: &AppState,
    who: &Principal,
    unit_id: &str,
    change: UnitChange,
) -> ServiceResult<UnitStatus> {
    require_keeper(who)?;
    let current = unit(state, who, unit_id).await?.unit;
    let details = checked(UnitDetails {
        unit_id: current.unit_id.clone(),
        make_model: change.make_model.unwrap_or(current.make_model.clone()),
        serial: match change.serial {
            Some(serial) => Some(serial),
            None => current.serial.clone(),
        },
        equipment_type: change.equipment_type.unwrap_or(current.equipment_type.clone()),
        required_certificates: change
            .required_certificates
            .unwrap_or(current.required_certificates.clone()),
        hour_meter: change.hour_meter.or(current.hour_meter),
    })?;
    let (store, tenant, by) = (state.store.clone(), who.tenant_id.clone(), who.user_id.clone());
    blocking(move || {
        let unit = EquipmentUnit {
            make_model: details.make_model,
            serial: details.serial,
            equipment_type: details.equipment_type,
            required_certificates: details.required_certificates,
            hour_meter: details.hour_meter,
            ..current
        };
        let audit = AuditNote {
            user_id: by,
            action: "equipment.updated".into(),
            detail: format!("unit {} ({})", unit.unit_id, unit.make_model),
        };
        if store.update_equipment_unit(&tenant, &unit, &audit)? {
            Ok(())
        } else {
            Err(no_unit(&unit.unit_id))
        }
    })
    .await?;
    unit(state, who, unit_id).await
}

/// What storing `record` changes in the equipment register, committed with the record: a unit a
/// completed pre-start names (added when the register lacks it, its hour meter raised), or the
/// hold a corrective action places on its unit (open or resolved) and releases (closed).
pub fn register_writes(record: &Record, now_ms: i64) -> Vec<RegisterWrite> {
    match &record.body {
        // A draft's unit number may be half typed: only a completed check names a unit.
        Body::PreStart(p) if p.status == PreStartStatus::Completed && !blank(&p.unit.unit_id) => {
            let operator = if blank(&p.operator_id) {
                record.header.created_by.clone()
            } else {
                p.operator_id.clone()
            };
            vec![RegisterWrite::FieldUnit(EquipmentUnit {
                unit_id: p.unit.unit_id.trim().to_owned(),
                make_model: p.unit.make_model.trim().to_owned(),
                serial: p.unit.serial.clone().filter(|s| !blank(s)),
                equipment_type: String::new(),
                required_certificates: Vec::new(),
                hour_meter: p.unit.hour_meter.filter(|h| h.is_finite() && *h >= 0.0),
                added_at_ms: now_ms,
                added_by: operator,
                added_from_record: Some(record.header.id.clone()),
                retired: false,
            })]
        }
        Body::CorrectiveAction(action) => {
            let Some(unit_id) = action.unit_id.as_deref().filter(|u| !unit_key(u).is_empty()) else {
                return Vec::new();
            };
            match action.status {
                ActionStatus::Open | ActionStatus::Resolved => vec![RegisterWrite::Hold(EquipmentHold {
                    unit_key: unit_key(unit_id),
                    action_id: record.header.id.clone(),
                    source_record: action
                        .source
                        .as_ref()
                        .map_or_else(|| record.header.id.clone(), |s| s.record_id.clone()),
                    held_at_ms: now_ms,
                    released_at_ms: None,
                })],
                ActionStatus::Closed => vec![RegisterWrite::Release {
                    action_id: record.header.id.clone(),
                    at_ms: now_ms,
                }],
                ActionStatus::Draft => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> EquipmentUnit {
        EquipmentUnit {
            unit_id: "LD-3".into(),
            make_model: "Cat 950".into(),
            serial: None,
            equipment_type: "Loader".into(),
            required_certificates: vec![],
            hour_meter: None,
            added_at_ms: 0,
            added_by: "u".into(),
            added_from_record: None,
            retired: false,
        }
    }

    fn hold(action: &str, held: i64, released: Option<i64>) -> EquipmentHold {
        EquipmentHold {
            unit_key: "LD3".into(),
            action_id: action.into(),
            source_record: format!("pre-start of {action}"),
            held_at_ms: held,
            released_at_ms: released,
        }
    }

    #[test]
    fn a_unit_is_out_of_service_while_any_hold_is_open_and_names_what_changed_it() {
        let status = status_of(unit(), &[]);
        assert!(status.in_service() && status.last_change.is_none());

        let status = status_of(unit(), &[hold("a1", 10, None), hold("a2", 20, Some(30))]);
        assert!(!status.in_service());
        assert_eq!(
            status.last_change,
            Some(StatusChange::Held {
                at_ms: 10,
                source_record: "pre-start of a1".into(),
                action_id: "a1".into()
            }),
            "the open hold says why, not the later release of another"
        );

        let status = status_of(unit(), &[hold("a1", 10, Some(40)), hold("a2", 20, Some(30))]);
        assert!(status.in_service());
        assert_eq!(
            status.last_change,
            Some(StatusChange::Released {
                at_ms: 40,
                action_id: "a1".into()
            })
        );
    }

    #[test]
    fn blank_or_duplicate_details_are_refused_or_tidied() {
        let blank = checked(UnitDetails {
            unit_id: " - ".into(),
            make_model: "Cat".into(),
            ..UnitDetails::default()
        });
        assert!(matches!(blank, Err(ServiceError::Invalid { .. })), "{blank:?}");
        let no_model = checked(UnitDetails {
            unit_id: "LD-3".into(),
            ..UnitDetails::default()
        });
        assert!(
            matches!(&no_model, Err(ServiceError::Invalid { message, .. }) if message.contains("make and model")),
            "{no_model:?}"
        );
        let tidy = checked(UnitDetails {
            unit_id: " LD-3 ".into(),
            make_model: "Cat 950".into(),
            serial: Some("  ".into()),
            required_certificates: vec![
                "Ground disturbance".into(),
                " ground disturbance".into(),
                "".into(),
            ],
            ..UnitDetails::default()
        })
        .expect("valid");
        assert_eq!(tidy.unit_id, "LD-3");
        assert_eq!(tidy.serial, None);
        assert_eq!(tidy.required_certificates, vec!["Ground disturbance".to_owned()]);
    }
}
