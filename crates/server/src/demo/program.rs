//! The demo's safety program over the months before the week of forms: every crew member's site
//! orientation, the competencies the supervisor verified, the tickets the office keeps (one
//! expiring within 60 days, one within 30, one expired), corrective actions closed, overdue and
//! waiting for verification, and two inspection schedules with their inspections (one late, one
//! missed, one finding). The records are made on the phones, through the real protocol; the
//! schedules, like the sites, by the office.

use sync_core::kinds::certificate::Certificate;
use sync_core::kinds::competency::Competency;
use sync_core::kinds::corrective_action::CorrectiveAction;
use sync_core::kinds::orientation::{Orientation, OrientationTopic};
use sync_core::model::{ApprovalDecision, Body, ChecklistItem, ItemResult, RecordLink};
use sync_core::parts::Assignment;
use sync_core::{Kind, Result};

use chrono::{Months, NaiveDate};
use chrono_tz::America::Edmonton;
use sync_core::kinds::inspection::Inspection;

use super::{Calendar, Phones, SHOP, STATION_YARD, Site, SiteIds, WELL_PAD, Who, at, invalid};
use crate::service::inspections::Frequency;
use crate::service::time::day_start_ms;
use crate::store::{
    AuditNote, ChecklistTemplateItem, EquipmentUnit, InspectionSchedule, RecordStore, StoreError,
};

/// How many days before the latest day the program's records start.
pub(super) const HISTORY_DAYS: u64 = 120;

const DAY_MS: i64 = 86_400_000;

/// Who is oriented at which site, and how many days ago.
const ORIENTATIONS: &[(Who, Site, u64)] = &[
    (Who::Sam, Site::Well, 364),
    (Who::Sam, Site::Station, 364),
    (Who::Lee, Site::Well, 363),
    (Who::Wade, Site::Well, 363),
    (Who::Wade, Site::Station, 362),
    (Who::Omar, Site::Station, 362),
    (Who::Hana, Site::Station, 60),
];

/// Each crew member orients at their sites on their own phone: every topic acknowledged, then
/// their signature.
pub(super) fn orientations(phones: &mut Phones, sites: &SiteIds) -> Result<()> {
    for &(who, site, ago) in ORIENTATIONS {
        let phone = phones.of(who);
        let start = at(ago, 7, 0, site.spot());
        let mut orientation = Orientation::new(&phone.user_id, "Sam Supervisor");
        for topic in OrientationTopic::ALL {
            orientation.acknowledge(*topic);
        }
        let id = phone.create(sites.id(site), None, Body::Orientation(orientation), start)?;
        phone.sign(&id, start.plus(40))?;
        phone.complete(&id, start.plus(41))?;
    }
    Ok(())
}

/// The supervisor verifies Lee on the picker truck, Omar on the loader and Wade on the company's
/// pickups (light vehicle check-out). Hana has no loader
/// verification yet: the morning she does the loader's pre-start, it is flagged.
pub(super) fn competencies(phones: &mut Phones, sites: &SiteIds) -> Result<()> {
    let verified = [
        (Who::Lee, Site::Well, "Picker truck", 100),
        (Who::Omar, Site::Station, "Loader", 99),
        (Who::Wade, Site::Well, "Pickup", 98),
    ];
    for (who, site, equipment_type, ago) in verified {
        let worker = phones.of(who).user_id.clone();
        let sam = phones.of(Who::Sam);
        let mut competency = Competency::new(
            worker,
            equipment_type,
            vec![
                ChecklistItem::new("Walk-around and pre-start done unprompted", true),
                ChecklistItem::new("Controls, limits and the load chart explained", true),
                ChecklistItem::new("Worked within rated capacity with a spotter", true),
                ChecklistItem::new("Parked, lowered and locked out correctly", true),
            ],
        );
        for item in &mut competency.items {
            item.result = Some(ItemResult::Pass);
        }
        let start = at(ago, 9, 0, site.spot());
        let id = sam.create(sites.id(site), None, Body::Competency(competency), start)?;
        sam.sign(&id, start.plus(95))?;
        sam.complete(&id, start.plus(96))?;
    }
    Ok(())
}

/// The tickets the office keeps, entered by the supervisor from the documents. Expiries count from
/// the latest day, so the alerts read the same whenever the demo is made.
pub(super) fn certificates(phones: &mut Phones, sites: &SiteIds) -> Result<()> {
    struct Ticket {
        who: Who,
        site: Site,
        certificate_type: &'static str,
        number: &'static str,
        issuer: &'static str,
        /// Days since it was issued and until it expires (negative: expired), from the latest day.
        issued_ago: i64,
        expires_in: Option<i64>,
    }
    let tickets = [
        Ticket {
            who: Who::Lee,
            site: Site::Well,
            certificate_type: "Boom truck operator",
            number: "BT-118274",
            issuer: "Alberta Apprenticeship and Industry Training",
            issued_ago: 700,
            expires_in: Some(395),
        },
        Ticket {
            who: Who::Lee,
            site: Site::Well,
            certificate_type: "Standard First Aid with CPR C",
            number: "SFA-55120",
            issuer: "Canadian Red Cross",
            issued_ago: 400,
            expires_in: Some(695),
        },
        Ticket {
            who: Who::Omar,
            site: Site::Station,
            certificate_type: "Ground disturbance level II",
            number: "GD2-30917",
            issuer: "Energy Safety Canada",
            issued_ago: 1_050,
            expires_in: Some(45),
        },
        Ticket {
            who: Who::Wade,
            site: Site::Well,
            certificate_type: "H2S Alive",
            number: "H2S-774102",
            issuer: "Energy Safety Canada",
            issued_ago: 1_070,
            expires_in: Some(25),
        },
        Ticket {
            who: Who::Hana,
            site: Site::Station,
            certificate_type: "Standard First Aid with CPR C",
            number: "SFA-48811",
            issuer: "St. John Ambulance",
            issued_ago: 1_107,
            expires_in: Some(-12),
        },
    ];
    let latest = phones.of(Who::Sam).calendar.ms(0, 0)?;
    for ticket in tickets {
        let holder = phones.of(ticket.who).user_id.clone();
        let sam = phones.of(Who::Sam);
        let mut certificate = Certificate::new(holder, ticket.certificate_type, ticket.number, ticket.issuer);
        certificate.issued_ms = Some(latest - ticket.issued_ago * DAY_MS);
        certificate.expiry_ms = ticket.expires_in.map(|days| latest + days * DAY_MS);
        certificate.document_ref = Some(format!("Training binder, {}", ticket.who.short()));
        let when = at(95, 13, 0, SHOP);
        let id = sam.create(sites.id(ticket.site), None, Body::Certificate(certificate), when)?;
        sam.complete(&id, when.plus(2))?;
    }
    Ok(())
}

/// An action the supervisor raises by hand: what, who, and its days (from the latest day).
struct Raised {
    site: Site,
    hazard: &'static str,
    action: &'static str,
    assignee: Who,
    raised_ago: u64,
    due_in_days: u64,
    source: Option<(Kind, String)>,
    /// Resolved by the assignee this many days ago, with what was done.
    resolved: Option<(u64, &'static str)>,
    /// Verified by the supervisor this many days ago.
    verified_ago: Option<u64>,
}

/// Corrective actions the supervisor raised by hand: one closed months ago, one overdue on the
/// lease road, one from Hana's ladder near miss resolved and waiting for his check. Raised on his
/// phone, resolved on the assignee's, verified on his: each step synced, as in the field.
pub(super) async fn corrective_actions(
    phones: &mut Phones,
    sites: &SiteIds,
    ladder_near_miss: &str,
) -> Result<()> {
    let actions = [
        Raised {
            site: Site::Station,
            hazard: "Aerial cooler platform: toe board missing on the east side",
            action: "Fit a toe board to the east side of the platform",
            assignee: Who::Omar,
            raised_ago: 80,
            due_in_days: 7,
            source: None,
            resolved: Some((
                76,
                "Toe board fabricated and bolted on; checked the other three sides too",
            )),
            verified_ago: Some(75),
        },
        Raised {
            site: Site::Well,
            hazard: "Lease road blind corner: the 'Radio your kilometre' sign is faded and leaning",
            action: "Replace the corner sign and post a radio call-out sign at the gate",
            assignee: Who::Lee,
            raised_ago: 20,
            due_in_days: 14,
            source: None,
            resolved: None,
            verified_ago: None,
        },
        Raised {
            site: Site::Station,
            hazard: "Extension ladder not tied off on the cooler platform grating",
            action: "Tie-off points on the platform; brief the crew on footing and tying off ladders",
            assignee: Who::Omar,
            raised_ago: 1,
            due_in_days: 7,
            source: Some((Kind::NearMiss, ladder_near_miss.to_owned())),
            resolved: Some((
                0,
                "Two tie-off eyes welded on; ladder use covered at this morning's tailgate",
            )),
            verified_ago: None,
        },
    ];
    let mut raised_ids = Vec::new();
    for raised in &actions {
        let assignee = phones.of(raised.assignee).user_id.clone();
        let start = at(raised.raised_ago, 11, 0, raised.site.spot());
        let identified = phones.of(Who::Sam).calendar.ms(raised.raised_ago, 10 * 60 + 30)?;
        let mut action = CorrectiveAction::new(
            raised.hazard,
            raised.action,
            Assignment {
                assignee,
                due_ms: Some(identified + raised.due_in_days as i64 * DAY_MS),
            },
            identified,
        );
        action.source = raised.source.clone().map(|(kind, record_id)| RecordLink {
            kind: kind.as_str().into(),
            record_id,
            item_id: None,
        });
        let sam = phones.of(Who::Sam);
        let id = sam.create(sites.id(raised.site), None, Body::CorrectiveAction(action), start)?;
        sam.complete(&id, start.plus(1))?;
        raised_ids.push(id);
    }
    phones.sync(&[Who::Sam, Who::Lee, Who::Omar]).await?;
    for (raised, id) in actions.iter().zip(&raised_ids) {
        let Some((ago, note)) = raised.resolved else {
            continue;
        };
        let phone = phones.of(raised.assignee);
        phone.store.edit(id, |r| {
            let Body::CorrectiveAction(a) = &mut r.body else {
                return Err(invalid("not a corrective action"));
            };
            a.resolution_note = Some(note.into());
            Ok(())
        })?;
        phone.sign(id, at(ago, 15, 30, raised.site.spot()))?;
    }
    phones.sync(&[Who::Lee, Who::Omar, Who::Sam]).await?;
    for (raised, id) in actions.iter().zip(&raised_ids) {
        if let Some(ago) = raised.verified_ago {
            let when = at(ago, 10, 0, raised.site.spot());
            phones.of(Who::Sam).decide(
                id,
                ApprovalDecision::Approved,
                "Checked on site: done as written",
                when,
            )?;
        }
    }
    phones.sync(&[Who::Sam]).await
}

/// The inspection schedules the demo's records are filed against.
#[derive(Debug, Clone)]
pub(super) struct Schedules {
    /// The wellsite's weekly site inspection, by the supervisor.
    pub weekly: InspectionSchedule,
    /// The station's monthly fire extinguisher and eyewash check, by the operator.
    pub monthly: InspectionSchedule,
}

/// Weeks of the wellsite's weekly inspection the demo covers, the current one included.
const WEEKS: u64 = 9;
/// Months of the station's monthly check.
const MONTHS: u32 = 4;

fn template(items: &[(&str, bool)]) -> Vec<ChecklistTemplateItem> {
    items
        .iter()
        .map(|&(label, critical)| ChecklistTemplateItem {
            label: label.into(),
            critical,
        })
        .collect()
}

/// The two schedules, set up by the office admin before the records (as a company does).
pub(super) fn schedules(
    store: &dyn RecordStore,
    company_id: &str,
    sites: &SiteIds,
    supervisor: &str,
    operator: &str,
    office: &str,
    calendar: Calendar,
) -> Result<Schedules, StoreError> {
    let date = |ago: u64| {
        calendar
            .date(ago)
            .map_err(|e| StoreError::Invalid(format!("the demo's calendar: {e}")))
    };
    let weekly_start = date((WEEKS - 1) * 7)?;
    let monthly_start = date(0)?
        .checked_sub_months(Months::new(MONTHS - 1))
        .ok_or_else(|| StoreError::Invalid("the demo's months fall before the calendar".into()))?;
    let make = |id: &str,
                site: &str,
                title: &str,
                items: &[(&str, bool)],
                frequency: Frequency,
                start: NaiveDate,
                assignee: &str| {
        let starts_at_ms = day_start_ms(start, Edmonton)
            .ok_or_else(|| StoreError::Invalid(format!("{start} has no midnight in Alberta")))?;
        let schedule = InspectionSchedule {
            id: id.into(),
            tenant_id: company_id.into(),
            site_id: site.into(),
            title: title.into(),
            checklist: template(items),
            rrule: frequency.rrule(start),
            starts_at_ms,
            assignee: assignee.into(),
            created_by: office.into(),
            created_at_ms: starts_at_ms,
            ended_at_ms: None,
        };
        store.create_inspection_schedule(&schedule)?;
        Ok::<_, StoreError>(schedule)
    };
    Ok(Schedules {
        weekly: make(
            "demo-weekly-site-inspection",
            &sites.well,
            "Weekly site inspection",
            &[
                ("Housekeeping: walkways and stairs clear", false),
                ("Fire extinguishers in place, tagged, charged", true),
                ("Spill kit stocked", false),
                ("Muster point sign visible from the pad", false),
                ("Wind sock up and visible", true),
            ],
            Frequency::Weekly,
            weekly_start,
            supervisor,
        )?,
        monthly: make(
            "demo-monthly-extinguishers",
            &sites.station,
            "Monthly fire extinguisher and eyewash check",
            &[
                ("Every extinguisher tagged this month, pin and seal intact", true),
                ("Eyewash station flushed, water clear", true),
                ("First aid kit stocked", false),
            ],
            Frequency::Monthly,
            monthly_start,
            operator,
        )?,
    })
}

/// The inspections filed against the schedules: the weekly one done each week the day after its
/// window opens, except one done late and one missed three weeks ago; last week's found the spill
/// kit empty (its corrective action is raised by the server). The monthly check done each month.
pub(super) fn inspections(phones: &mut Phones, sites: &SiteIds, schedules: &Schedules) -> Result<()> {
    for week in 1..WEEKS {
        let window_ago = week * 7;
        let (started_ago, completed_ago) = match week {
            // Missed: nobody got to it that week.
            3 => continue,
            // Started in its window, finished after the next one opened: late.
            5 => (window_ago - 6, window_ago - 8),
            _ => (window_ago - 1, window_ago - 1),
        };
        let failed = (week == 1).then_some((
            "Spill kit stocked",
            "Spill kit empty after the glycol spill cleanup",
        ));
        let sam = phones.of(Who::Sam);
        file(
            sam,
            sites.id(Site::Well),
            &schedules.weekly,
            started_ago,
            completed_ago,
            WELL_PAD,
            failed,
        )?;
    }
    let latest = phones.of(Who::Omar).calendar.date(0)?;
    let first = latest
        .checked_sub_months(Months::new(MONTHS - 1))
        .ok_or_else(|| invalid("the demo's months fall before the calendar"))?;
    for month in 0..MONTHS {
        let window = first
            .checked_add_months(Months::new(month))
            .ok_or_else(|| invalid("the demo's months run past the calendar"))?;
        let ago = (latest - window).num_days() as u64;
        // This month's check is done two days in; the current month's only once it has started.
        let Some(done_ago) = ago.checked_sub(2) else {
            continue;
        };
        let omar = phones.of(Who::Omar);
        file(
            omar,
            sites.id(Site::Station),
            &schedules.monthly,
            done_ago,
            done_ago,
            STATION_YARD,
            None,
        )?;
    }
    Ok(())
}

/// One inspection from `schedule`'s template, started and completed on the given days at 10:00.
fn file(
    phone: &mut super::Phone,
    site: &str,
    schedule: &InspectionSchedule,
    started_ago: u64,
    completed_ago: u64,
    spot: super::Spot,
    failed: Option<(&str, &str)>,
) -> Result<()> {
    let items = schedule
        .checklist
        .iter()
        .map(|t| {
            let mut item = ChecklistItem::new(&t.label, t.critical);
            item.result = Some(ItemResult::Pass);
            if let Some((label, note)) = failed
                && t.label == label
            {
                item.result = Some(ItemResult::Fail);
                item.defect_note = Some(note.into());
            }
            item
        })
        .collect();
    let mut inspection = Inspection::new(&schedule.title, &phone.user_id, items);
    inspection.schedule_id = Some(schedule.id.clone());
    let id = phone.create(
        site,
        None,
        Body::Inspection(inspection),
        at(started_ago, 10, 0, spot),
    )?;
    phone.sign(&id, at(completed_ago, 10, 40, spot))?;
    phone.complete(&id, at(completed_ago, 10, 41, spot))?;
    Ok(())
}

/// The office's equipment register: each unit's type (what competencies are verified on) and the
/// tickets its operator must hold. The picker needs a boom truck ticket.
pub(super) fn register(
    store: &dyn RecordStore,
    company_id: &str,
    units: &[&super::Unit],
    office: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    for unit in units {
        let (equipment_type, required): (&str, &[&str]) = match unit.unit_id {
            "P-14" => ("Picker truck", &["Boom truck operator"]),
            "L-3" => ("Loader", &[]),
            _ => ("Pickup", &[]),
        };
        let entry = EquipmentUnit {
            unit_id: unit.unit_id.into(),
            make_model: unit.make_model.into(),
            serial: Some(unit.serial.into()),
            equipment_type: equipment_type.into(),
            required_certificates: required.iter().map(|c| c.to_string()).collect(),
            hour_meter: Some(unit.hours),
            added_at_ms: at_ms,
            added_by: office.into(),
            added_from_record: None,
            retired: false,
        };
        let audit = AuditNote {
            user_id: office.into(),
            action: "equipment.added".into(),
            detail: format!("unit {} for the demo company", unit.unit_id),
        };
        store.add_equipment_unit(company_id, &entry, &audit)?;
    }
    Ok(())
}
