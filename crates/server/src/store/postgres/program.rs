//! The program's own tables: the equipment register, its holds, and inspection schedules.

use postgres::Row;

use super::Tx;
use sync_core::program::unit_key;

use super::super::{
    AuditNote, EquipmentHold, EquipmentUnit, InspectionSchedule, ProgramStore, RegisterWrite, StoreError,
    StoreResult,
};
use super::{PgStore, audit_in, unique_violation};

/// Who the audit log names for what the server does on its own (holds opened and released).
const SYSTEM_WRITER: &str = "system";

/// The columns [`equipment_unit_from_row`] reads, in its order.
const EQUIPMENT_COLUMNS: &str =
    "unit_id, make_model, serial, equipment_type, required_certificates, hour_meter,
     added_at_ms, added_by, added_from_record, retired";

fn equipment_unit_from_row(r: &Row) -> StoreResult<EquipmentUnit> {
    let required: String = r.try_get(4)?;
    Ok(EquipmentUnit {
        unit_id: r.try_get(0)?,
        make_model: r.try_get(1)?,
        serial: r.try_get(2)?,
        equipment_type: r.try_get(3)?,
        // Written by this store from a Vec<String>; an unreadable list requires nothing rather
        // than failing every pre-start of the unit.
        required_certificates: serde_json::from_str(&required).unwrap_or_default(),
        hour_meter: r.try_get(5)?,
        added_at_ms: r.try_get(6)?,
        added_by: r.try_get(7)?,
        added_from_record: r.try_get(8)?,
        retired: r.try_get(9)?,
    })
}

/// The columns [`inspection_schedule_from_row`] reads, in its order.
const SCHEDULE_COLUMNS: &str = "id, tenant_id, site_id, title, checklist, rrule, starts_at_ms, assignee,
     created_by, created_at_ms, ended_at_ms";

fn inspection_schedule_from_row(r: &Row) -> StoreResult<InspectionSchedule> {
    let id: String = r.try_get(0)?;
    let checklist: String = r.try_get(4)?;
    // Written by this store from the typed template: unreadable is a fault, as in SQLite's store.
    let checklist = serde_json::from_str(&checklist)
        .map_err(|e| StoreError::Backend(format!("inspection schedule {id}: checklist unreadable: {e}")))?;
    Ok(InspectionSchedule {
        id,
        tenant_id: r.try_get(1)?,
        site_id: r.try_get(2)?,
        title: r.try_get(3)?,
        checklist,
        rrule: r.try_get(5)?,
        starts_at_ms: r.try_get(6)?,
        assignee: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at_ms: r.try_get(9)?,
        ended_at_ms: r.try_get(10)?,
    })
}

/// Inserts a unit unless the company has one of the same number; true when inserted. A unit
/// inserted at the same moment by another process is waited for, then counts as there.
fn insert_equipment_unit(tx: &mut Tx<'_>, tenant_id: &str, unit: &EquipmentUnit) -> StoreResult<bool> {
    let required = serde_json::to_string(&unit.required_certificates).unwrap_or_else(|_| "[]".into());
    let inserted = tx.execute(
        "INSERT INTO equipment_units (tenant_id, unit_key, unit_id, make_model, serial,
             equipment_type, required_certificates, hour_meter, added_at_ms, added_by, added_from_record, retired)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (tenant_id, unit_key) DO NOTHING",
        &[
            &tenant_id,
            &unit_key(&unit.unit_id),
            &unit.unit_id.trim(),
            &unit.make_model,
            &unit.serial,
            &unit.equipment_type,
            &required,
            &unit.hour_meter,
            &unit.added_at_ms,
            &unit.added_by,
            &unit.added_from_record,
            &unit.retired,
        ],
    )?;
    Ok(inserted == 1)
}

/// Applies the register changes a stored record makes, in the record's transaction; each change
/// that does something writes its audit entry with it.
pub(super) fn register_in(tx: &mut Tx<'_>, tenant_id: &str, writes: &[RegisterWrite]) -> StoreResult<()> {
    for write in writes {
        match write {
            RegisterWrite::FieldUnit(unit) => {
                if insert_equipment_unit(tx, tenant_id, unit)? {
                    let from = unit.added_from_record.as_deref().unwrap_or("a record");
                    audit_in(
                        tx,
                        tenant_id,
                        &unit.added_by,
                        "equipment.added_from_field",
                        &format!("unit {} named by {from}", unit.unit_id),
                    )?;
                } else if let Some(hours) = unit.hour_meter {
                    // The condition is checked again on the row as it is when locked: two
                    // readings at once leave the higher.
                    tx.execute(
                        "UPDATE equipment_units SET hour_meter = $3
                         WHERE tenant_id = $1 AND unit_key = $2 AND (hour_meter IS NULL OR hour_meter < $3)",
                        &[&tenant_id, &unit_key(&unit.unit_id), &hours],
                    )?;
                }
            }
            RegisterWrite::Hold(hold) => {
                let opened = tx.execute(
                    "INSERT INTO equipment_holds
                         (tenant_id, unit_key, action_id, source_record, held_at_ms, released_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (tenant_id, action_id) DO NOTHING",
                    &[
                        &tenant_id,
                        &hold.unit_key,
                        &hold.action_id,
                        &hold.source_record,
                        &hold.held_at_ms,
                        &hold.released_at_ms,
                    ],
                )? == 1;
                if opened {
                    audit_in(
                        tx,
                        tenant_id,
                        SYSTEM_WRITER,
                        "equipment.held",
                        &format!(
                            "unit {} out of service until action {} is closed (found in {})",
                            hold.unit_key, hold.action_id, hold.source_record
                        ),
                    )?;
                }
            }
            RegisterWrite::Release { action_id, at_ms } => {
                let unit: Option<String> = tx
                    .query_opt(
                        "UPDATE equipment_holds SET released_at_ms = $3
                         WHERE tenant_id = $1 AND action_id = $2 AND released_at_ms IS NULL RETURNING unit_key",
                        &[&tenant_id, action_id, at_ms],
                    )?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                if let Some(unit) = unit {
                    audit_in(
                        tx,
                        tenant_id,
                        SYSTEM_WRITER,
                        "equipment.released",
                        &format!("unit {unit} back in service: action {action_id} closed"),
                    )?;
                }
            }
        }
    }
    Ok(())
}

impl ProgramStore for PgStore {
    fn equipment_unit(&self, tenant_id: &str, unit_id: &str) -> StoreResult<Option<EquipmentUnit>> {
        let key = unit_key(unit_id);
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {EQUIPMENT_COLUMNS} FROM equipment_units WHERE tenant_id = $1 AND unit_key = $2"
                ),
                &[&tenant_id, &key],
            )?
            .as_ref()
            .map(equipment_unit_from_row)
            .transpose()
    }

    fn equipment_units(&self, tenant_id: &str) -> StoreResult<Vec<EquipmentUnit>> {
        // Byte order, as SQLite's default (BINARY) collation sorts, whatever the database's locale.
        self.client()?
            .query(
                &format!(
                    "SELECT {EQUIPMENT_COLUMNS} FROM equipment_units WHERE tenant_id = $1 ORDER BY unit_key COLLATE \"C\""
                ),
                &[&tenant_id],
            )?
            .iter()
            .map(equipment_unit_from_row)
            .collect()
    }

    fn add_equipment_unit(
        &self,
        tenant_id: &str,
        unit: &EquipmentUnit,
        audit: &AuditNote,
    ) -> StoreResult<()> {
        self.transaction(|tx| {
            if !insert_equipment_unit(tx, tenant_id, unit)? {
                return Err(StoreError::Conflict(format!("unit {}", unit.unit_id)));
            }
            audit_in(tx, tenant_id, &audit.user_id, &audit.action, &audit.detail)
        })
    }

    fn update_equipment_unit(
        &self,
        tenant_id: &str,
        unit: &EquipmentUnit,
        audit: &AuditNote,
    ) -> StoreResult<bool> {
        let required = serde_json::to_string(&unit.required_certificates).unwrap_or_else(|_| "[]".into());
        let key = unit_key(&unit.unit_id);
        self.transaction(|tx| {
            let changed = tx.execute(
                "UPDATE equipment_units SET make_model = $3, serial = $4, equipment_type = $5,
                     required_certificates = $6, hour_meter = $7
                 WHERE tenant_id = $1 AND unit_key = $2",
                &[
                    &tenant_id,
                    &key,
                    &unit.make_model,
                    &unit.serial,
                    &unit.equipment_type,
                    &required,
                    &unit.hour_meter,
                ],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            audit_in(tx, tenant_id, &audit.user_id, &audit.action, &audit.detail)?;
            Ok(true)
        })
    }

    fn equipment_holds(&self, tenant_id: &str) -> StoreResult<Vec<EquipmentHold>> {
        self.client()?
            .query(
                "SELECT unit_key, action_id, source_record, held_at_ms, released_at_ms FROM equipment_holds
                 WHERE tenant_id = $1 ORDER BY held_at_ms, action_id COLLATE \"C\"",
                &[&tenant_id],
            )?
            .iter()
            .map(|r| {
                Ok(EquipmentHold {
                    unit_key: r.try_get(0)?,
                    action_id: r.try_get(1)?,
                    source_record: r.try_get(2)?,
                    held_at_ms: r.try_get(3)?,
                    released_at_ms: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn create_inspection_schedule(&self, schedule: &InspectionSchedule) -> StoreResult<()> {
        let checklist = serde_json::to_string(&schedule.checklist)
            .map_err(|e| StoreError::Invalid(format!("checklist template: {e}")))?;
        self.transaction(|tx| {
            let inserted = tx.execute(
                &format!(
                    "INSERT INTO inspection_schedules ({SCHEDULE_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ),
                &[
                    &schedule.id,
                    &schedule.tenant_id,
                    &schedule.site_id,
                    &schedule.title,
                    &checklist,
                    &schedule.rrule,
                    &schedule.starts_at_ms,
                    &schedule.assignee,
                    &schedule.created_by,
                    &schedule.created_at_ms,
                    &schedule.ended_at_ms,
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "inspection schedule {}",
                        schedule.id
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            audit_in(
                tx,
                &schedule.tenant_id,
                &schedule.created_by,
                "inspection_schedule.created",
                &format!(
                    "{} ({}) at site {}, {}",
                    schedule.title, schedule.id, schedule.site_id, schedule.rrule
                ),
            )
        })
    }

    fn inspection_schedules(
        &self,
        tenant_id: &str,
        site_id: Option<&str>,
    ) -> StoreResult<Vec<InspectionSchedule>> {
        self.client()?
            .query(
                &format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM inspection_schedules
                     WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR site_id = $2)
                     ORDER BY created_at_ms, id COLLATE \"C\""
                ),
                &[&tenant_id, &site_id],
            )?
            .iter()
            .map(inspection_schedule_from_row)
            .collect()
    }

    fn inspection_schedule(&self, tenant_id: &str, id: &str) -> StoreResult<Option<InspectionSchedule>> {
        self.client()?
            .query_opt(
                &format!(
                    "SELECT {SCHEDULE_COLUMNS} FROM inspection_schedules WHERE tenant_id = $1 AND id = $2"
                ),
                &[&tenant_id, &id],
            )?
            .as_ref()
            .map(inspection_schedule_from_row)
            .transpose()
    }

    fn end_inspection_schedule(&self, tenant_id: &str, id: &str, at_ms: i64, by: &str) -> StoreResult<bool> {
        self.transaction(|tx| {
            // Re-checked on the locked row: of two ends at once, the second changes nothing.
            let ended = tx.execute(
                "UPDATE inspection_schedules SET ended_at_ms = $3
                 WHERE tenant_id = $1 AND id = $2 AND ended_at_ms IS NULL",
                &[&tenant_id, &id, &at_ms],
            )?;
            if ended == 0 {
                return Ok(false);
            }
            audit_in(
                tx,
                tenant_id,
                by,
                "inspection_schedule.ended",
                &format!("schedule {id}"),
            )?;
            Ok(true)
        })
    }
}
