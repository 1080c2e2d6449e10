//! Site inspection schedules and whether each occurrence was done.
//!
//! A schedule's recurrence is an RFC 5545 `RRULE` made from the form's choice (daily, weekly,
//! monthly, every N days) and expanded by the `rrule` crate in the site's time zone, so a weekly
//! inspection starts at local midnight across daylight saving changes. Each occurrence's window
//! runs until the next occurrence. The inspection records filed against the schedule (kind
//! `inspection`, `schedule_id` = the schedule's id, completed) decide each window: an inspection
//! belongs to the window it was started in, and is *done* when completed before that window
//! closed, *late* when after. A closed window with none is *missed*; an open one is *due*. A missed
//! inspection has no record to carry a flag, so the schedule carries `inspection.missed`.

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use sync_core::kinds::KindSpec;
use sync_core::kinds::inspection::{Inspection, InspectionStatus};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::{Flag, ListFilter};

use super::time::{human, iso, zone_of};
use super::{Principal, ServiceError, ServiceResult, blocking, export};
use crate::AppState;
use crate::store::{ChecklistTemplateItem, InspectionSchedule, RecordStore, Scope, Site};

/// The flag a schedule carries for each occurrence nobody inspected.
pub const MISSED: &str = "inspection.missed";

/// What the evidence says was looked for and not found.
pub const MISSED_FINDING: &str = "no completed inspection with this schedule id";

/// Occurrences expanded per schedule at most (a daily schedule's twenty-seven years).
const MAX_OCCURRENCES: usize = 10_000;

/// Longest checklist template and title a schedule takes.
const MAX_ITEMS: usize = 200;
const MAX_TEXT: usize = 500;

/// How often an inspection recurs, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    EveryDays(u32),
}

impl Frequency {
    /// The form's choice: `daily`, `weekly`, `monthly`, or `every_n_days` with `every_days`.
    pub fn parse(choice: &str, every_days: Option<u32>) -> ServiceResult<Self> {
        match (choice.trim(), every_days) {
            ("daily", _) => Ok(Self::Daily),
            ("weekly", _) => Ok(Self::Weekly),
            ("monthly", _) => Ok(Self::Monthly),
            ("every_n_days", Some(days @ 1..=366)) => Ok(Self::EveryDays(days)),
            ("every_n_days", _) => Err(ServiceError::invalid(
                "bad_frequency",
                "say every how many days, from 1 to 366",
            )),
            (other, _) => Err(ServiceError::invalid(
                "bad_frequency",
                format!("unknown frequency {other:?}: choose daily, weekly, monthly or every_n_days"),
            )),
        }
    }

    /// The RFC 5545 rule, starting on `start` (its day of the month matters for a monthly one).
    pub fn rrule(self, start: NaiveDate) -> String {
        use chrono::Datelike;
        match self {
            Self::Daily => "FREQ=DAILY".into(),
            Self::Weekly => "FREQ=WEEKLY".into(),
            // A month without the start's day (the 30th in February) takes its last day instead
            // of being skipped, as a plain FREQ=MONTHLY would.
            Self::Monthly if start.day() > 28 => {
                let days: Vec<String> = (28..=start.day()).map(|d| d.to_string()).collect();
                format!("FREQ=MONTHLY;BYMONTHDAY={};BYSETPOS=-1", days.join(","))
            }
            Self::Monthly => "FREQ=MONTHLY".into(),
            Self::EveryDays(days) => format!("FREQ=DAILY;INTERVAL={days}"),
        }
    }
}

/// A schedule's rule in words, for pages and exports.
pub fn describe(rrule: &str) -> String {
    let parts: BTreeMap<&str, &str> = rrule.split(';').filter_map(|p| p.split_once('=')).collect();
    let interval = parts.get("INTERVAL").copied().unwrap_or("1");
    match (parts.get("FREQ").copied(), interval) {
        (Some("DAILY"), "1") => "Every day".into(),
        (Some("DAILY"), n) => format!("Every {n} days"),
        (Some("WEEKLY"), "1") => "Every week".into(),
        (Some("MONTHLY"), "1") => "Every month".into(),
        _ => format!("Rule {rrule}"),
    }
}

/// A new schedule as the form or the API gives it.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub site_id: String,
    pub title: String,
    pub checklist: Vec<ChecklistTemplateItem>,
    pub frequency: Frequency,
    /// The first day, at the site.
    pub starts_on: NaiveDate,
    pub assignee: String,
}

/// The span an occurrence is to be done in: from its start until the next occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Window {
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    /// Completed within its window.
    Done,
    /// Completed after its window closed.
    Late,
    /// None completed, and the window has closed.
    Missed,
    /// None completed yet; the window is still open.
    Due,
}

impl OccurrenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Late => "late",
            Self::Missed => "missed",
            Self::Due => "due",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Done => "Done",
            Self::Late => "Late",
            Self::Missed => "Missed",
            Self::Due => "Due",
        }
    }
}

/// One occurrence of a schedule and what decided it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Occurrence {
    pub window: Window,
    pub status: OccurrenceStatus,
    /// The inspection that fulfilled it.
    pub record_id: Option<String>,
    /// When that inspection was completed (corrected time).
    pub completed_at_ms: Option<i64>,
    /// `inspection.missed` with its evidence, for a missed one.
    pub flag: Option<Flag>,
}

/// A schedule with every occurrence from its start until now.
#[derive(Debug, Clone)]
pub struct ScheduleStatus {
    pub schedule: InspectionSchedule,
    pub site: Option<Site>,
    /// Oldest first; the last may be due.
    pub occurrences: Vec<Occurrence>,
    /// The window the next inspection is due in: the current one if not done yet, else the next.
    pub next_due: Option<Window>,
}

impl ScheduleStatus {
    pub fn zone(&self) -> Tz {
        zone_of(self.site.as_ref())
    }

    pub fn missed(&self) -> usize {
        self.occurrences
            .iter()
            .filter(|o| o.status == OccurrenceStatus::Missed)
            .count()
    }
}

/// Adds a schedule at a site of the supervisor's (an admin's: any of the company's).
pub async fn create(
    state: &AppState,
    who: &Principal,
    new: NewSchedule,
) -> ServiceResult<InspectionSchedule> {
    if !who.may_decide() {
        return Err(ServiceError::Forbidden(
            "only a supervisor or the office adds inspection schedules".into(),
        ));
    }
    let store = state.store.clone();
    let who = who.clone();
    let now_ms = (state.clock)();
    blocking(move || {
        let store = store.as_ref();
        let site = store
            .site(&who.tenant_id, &new.site_id)?
            .filter(|site| who.is_admin() || who.sites.contains(&site.id))
            .ok_or_else(|| ServiceError::NotFound("no such site among yours".into()))?;
        store
            .user(&who.tenant_id, &new.assignee)?
            .filter(|u| !u.disabled)
            .ok_or_else(|| ServiceError::NotFound("no such person to assign the inspections to".into()))?;
        let title = new.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > MAX_TEXT {
            return Err(ServiceError::invalid(
                "bad_title",
                format!("say what is inspected, in at most {MAX_TEXT} characters"),
            ));
        }
        let checklist: Vec<ChecklistTemplateItem> = new
            .checklist
            .into_iter()
            .map(|item| ChecklistTemplateItem {
                label: item.label.trim().to_owned(),
                critical: item.critical,
            })
            .filter(|item| !item.label.is_empty())
            .collect();
        if checklist.is_empty() || checklist.len() > MAX_ITEMS {
            return Err(ServiceError::invalid(
                "bad_checklist",
                format!("list the items to check, one to {MAX_ITEMS}"),
            ));
        }
        if let Some(long) = checklist.iter().find(|i| i.label.chars().count() > MAX_TEXT) {
            return Err(ServiceError::invalid(
                "bad_checklist",
                format!(
                    "the item {:?}… is longer than {MAX_TEXT} characters",
                    long.label.chars().take(40).collect::<String>()
                ),
            ));
        }
        let zone = zone_of(Some(&site));
        let starts_at_ms = super::time::day_start_ms(new.starts_on, zone)
            .ok_or_else(|| ServiceError::invalid("bad_date", "the start date is out of range"))?;
        let schedule = InspectionSchedule {
            id: sync_core::model::new_id(),
            tenant_id: who.tenant_id.clone(),
            site_id: site.id.clone(),
            title,
            checklist,
            rrule: new.frequency.rrule(new.starts_on),
            starts_at_ms,
            assignee: new.assignee,
            created_by: who.user_id.clone(),
            created_at_ms: now_ms,
            ended_at_ms: None,
        };
        // A rule the crate cannot expand is refused here, not on every page that reads it.
        occurrence_starts(&schedule, zone, starts_at_ms)?;
        store.create_inspection_schedule(&schedule)?;
        Ok(schedule)
    })
    .await
}

/// Ends a schedule now: no occurrence after this is owed.
pub async fn end(state: &AppState, who: &Principal, id: &str) -> ServiceResult<()> {
    if !who.may_decide() {
        return Err(ServiceError::Forbidden(
            "only a supervisor or the office ends inspection schedules".into(),
        ));
    }
    let (store, who, id) = (state.store.clone(), who.clone(), id.to_owned());
    let now_ms = (state.clock)();
    blocking(move || {
        let not_found = || ServiceError::NotFound("no such inspection schedule".into());
        let schedule = store
            .inspection_schedule(&who.tenant_id, &id)?
            .filter(|s| who.is_admin() || who.sites.contains(&s.site_id))
            .ok_or_else(not_found)?;
        if !store.end_inspection_schedule(&who.tenant_id, &schedule.id, now_ms, &who.user_id)? {
            return Err(ServiceError::Conflict("this schedule has ended already".into()));
        }
        Ok(())
    })
    .await
}

/// The schedules the person may read: an admin's company's, anyone else's sites' and those
/// assigned to them (the assignee's phone needs its schedule even at a site it is not on).
fn readable(store: &dyn RecordStore, who: &Principal) -> ServiceResult<Vec<InspectionSchedule>> {
    Ok(store
        .inspection_schedules(&who.tenant_id, None)?
        .into_iter()
        .filter(|s| who.is_admin() || who.sites.contains(&s.site_id) || s.assignee == who.user_id)
        .collect())
}

/// The person's schedules, each with every occurrence until now and what became of it.
pub async fn statuses(state: &AppState, who: &Principal) -> ServiceResult<Vec<ScheduleStatus>> {
    let (store, who) = (state.store.clone(), who.clone());
    let now_ms = (state.clock)();
    blocking(move || statuses_blocking(store.as_ref(), &who, now_ms)).await
}

/// [`statuses`] at `now_ms`, on the caller's thread (the readiness report reads it).
pub(crate) fn statuses_blocking(
    store: &dyn RecordStore,
    who: &Principal,
    now_ms: i64,
) -> ServiceResult<Vec<ScheduleStatus>> {
    let sites: BTreeMap<String, Site> = store
        .sites(&who.tenant_id)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let schedules = readable(store, who)?;
    let mut done_by_schedule = completed_inspections(store, &who.tenant_id, &schedules, now_ms)?;
    schedules
        .into_iter()
        .map(|schedule| {
            let site = sites.get(&schedule.site_id).cloned();
            let inspections = done_by_schedule.remove(&schedule.id).unwrap_or_default();
            status_of(schedule, site, &inspections, now_ms)
        })
        .collect()
}

/// A completed inspection filed against a schedule, with its corrected times.
#[derive(Debug, Clone)]
struct Filed {
    record_id: String,
    started_ms: i64,
    completed_ms: i64,
}

/// Every completed inspection at the schedules' sites naming one of them, by schedule id.
fn completed_inspections(
    store: &dyn RecordStore,
    tenant_id: &str,
    schedules: &[InspectionSchedule],
    now_ms: i64,
) -> ServiceResult<BTreeMap<String, Vec<Filed>>> {
    let company = Scope {
        tenant_id: tenant_id.to_owned(),
        user_id: String::new(),
        role: Role::Admin,
        sites: Vec::new(),
    };
    let mut site_ids: Vec<&str> = schedules.iter().map(|s| s.site_id.as_str()).collect();
    site_ids.sort_unstable();
    site_ids.dedup();
    let mut by_schedule: BTreeMap<String, Vec<Filed>> = BTreeMap::new();
    for site_id in site_ids {
        let mut offset = 0;
        loop {
            let filter = ListFilter {
                kind: Some(Inspection::NAME.to_owned()),
                site_id: Some(site_id.to_owned()),
                status: Some(InspectionStatus::Completed.as_str().to_owned()),
                limit: Some(super::records::MAX_PAGE),
                offset: Some(offset),
                ..ListFilter::default()
            };
            let page = store.list_records(&company, &filter)?;
            for row in &page {
                let Some(detail) = super::records::detail_of(store, tenant_id, &row.id, now_ms)? else {
                    continue;
                };
                let Body::Inspection(inspection) = &detail.record.body else {
                    continue;
                };
                let Some(schedule_id) = inspection.schedule_id.clone() else {
                    continue;
                };
                // The corrected times the flags use: a phone's clock set back does not make a
                // late inspection look done.
                let when = |event: &str| {
                    detail
                        .timeline
                        .iter()
                        .find(|e| e.event == event)
                        .map(|e| e.time.ms)
                };
                let (Some(started_ms), Some(completed_ms)) = (when("created"), when("completed")) else {
                    continue;
                };
                by_schedule.entry(schedule_id).or_default().push(Filed {
                    record_id: row.id.clone(),
                    started_ms,
                    completed_ms,
                });
            }
            if page.len() < super::records::MAX_PAGE as usize {
                break;
            }
            offset += super::records::MAX_PAGE;
        }
    }
    Ok(by_schedule)
}

/// The starts of a schedule's occurrences, oldest first: every one at or before `until_ms` (and
/// before the schedule ended), then the one after, which closes the last window.
fn occurrence_starts(schedule: &InspectionSchedule, zone: Tz, until_ms: i64) -> ServiceResult<Vec<i64>> {
    let bad_rule = |e: &dyn std::fmt::Display| {
        ServiceError::internal(format!("schedule {} rule {:?}: {e}", schedule.id, schedule.rrule))
    };
    let rule: rrule::RRule<rrule::Unvalidated> = schedule.rrule.parse().map_err(|e| bad_rule(&e))?;
    let start: DateTime<rrule::Tz> = zone
        .timestamp_millis_opt(schedule.starts_at_ms)
        .single()
        .ok_or_else(|| bad_rule(&"its start is out of range"))?
        .with_timezone(&rrule::Tz::Tz(zone));
    let set = rule.build(start).map_err(|e| bad_rule(&e))?;
    let last_ms = schedule.ended_at_ms.map_or(until_ms, |ended| ended.min(until_ms));
    let mut starts = Vec::new();
    for occurrence in (&set).into_iter().take(MAX_OCCURRENCES) {
        let ms = occurrence.timestamp_millis();
        starts.push(ms);
        if ms > last_ms {
            break;
        }
    }
    Ok(starts)
}

/// What became of each of the schedule's occurrences until `now_ms`.
fn status_of(
    schedule: InspectionSchedule,
    site: Option<Site>,
    filed: &[Filed],
    now_ms: i64,
) -> ServiceResult<ScheduleStatus> {
    let zone = zone_of(site.as_ref());
    let starts = occurrence_starts(&schedule, zone, now_ms)?;
    let ended_ms = schedule.ended_at_ms.unwrap_or(i64::MAX);
    // Windows whose start has come (and not after the schedule ended), each closed by the next.
    let windows: Vec<Window> = starts
        .windows(2)
        .map(|pair| Window {
            starts_at_ms: pair[0],
            ends_at_ms: pair[1],
        })
        .filter(|w| w.starts_at_ms <= now_ms && w.starts_at_ms <= ended_ms)
        .collect();
    // Each inspection belongs to the window it was started in (one started before the first
    // belongs to the first); the earliest completed one there decides it.
    let mut fulfilled: Vec<Option<&Filed>> = vec![None; windows.len()];
    let mut in_order: Vec<&Filed> = filed.iter().collect();
    in_order.sort_by_key(|f| (f.completed_ms, f.record_id.clone()));
    for inspection in in_order {
        let Some(index) = windows
            .iter()
            .rposition(|w| w.starts_at_ms <= inspection.started_ms)
            .or((!windows.is_empty()).then_some(0))
        else {
            continue;
        };
        fulfilled[index].get_or_insert(inspection);
    }
    let site_name = site
        .as_ref()
        .map_or_else(|| schedule.site_id.clone(), |s| s.name.clone());
    let occurrences: Vec<Occurrence> = windows
        .iter()
        .zip(fulfilled)
        // A window still open when the schedule ended is no longer owed, unless it was done.
        .filter(|(window, by)| by.is_some() || window.ends_at_ms <= ended_ms)
        .map(|(window, by)| {
            let status = match by {
                Some(f) if f.completed_ms < window.ends_at_ms => OccurrenceStatus::Done,
                Some(_) => OccurrenceStatus::Late,
                None if window.ends_at_ms <= now_ms => OccurrenceStatus::Missed,
                None => OccurrenceStatus::Due,
            };
            Occurrence {
                window: *window,
                status,
                record_id: by.map(|f| f.record_id.clone()),
                completed_at_ms: by.map(|f| f.completed_ms),
                flag: (status == OccurrenceStatus::Missed)
                    .then(|| missed_flag(&schedule, &site_name, window, zone)),
            }
        })
        .collect();
    let next_due = match occurrences.last() {
        Some(current) if current.status == OccurrenceStatus::Due => Some(current.window),
        _ if schedule.ended_at_ms.is_some() => None,
        // The current window is done (or none has started yet): the next one is due.
        _ => {
            let after: Vec<i64> = starts.iter().copied().filter(|s| *s > now_ms).collect();
            match after.as_slice() {
                [next, following, ..] => Some(Window {
                    starts_at_ms: *next,
                    ends_at_ms: *following,
                }),
                [next] => next_window_after(&schedule, zone, *next)?,
                [] => None,
            }
        }
    };
    Ok(ScheduleStatus {
        schedule,
        site,
        occurrences,
        next_due,
    })
}

/// The window starting at the occurrence `start_ms`, closed by the occurrence after it.
fn next_window_after(
    schedule: &InspectionSchedule,
    zone: Tz,
    start_ms: i64,
) -> ServiceResult<Option<Window>> {
    let starts = occurrence_starts(schedule, zone, start_ms)?;
    Ok(starts
        .iter()
        .position(|s| *s == start_ms)
        .and_then(|i| starts.get(i + 1))
        .map(|end| Window {
            starts_at_ms: start_ms,
            ends_at_ms: *end,
        }))
}

fn missed_flag(schedule: &InspectionSchedule, site_name: &str, window: &Window, zone: Tz) -> Flag {
    let evidence = [
        ("schedule", format!("{} ({})", schedule.title, schedule.id)),
        ("site", site_name.to_owned()),
        ("window_start", iso(window.starts_at_ms, zone)),
        ("window_end", iso(window.ends_at_ms, zone)),
        ("inspection_records", MISSED_FINDING.to_owned()),
    ];
    Flag {
        code: MISSED.to_owned(),
        message: format!(
            "{} due from {} to {} was not done",
            schedule.title,
            human(window.starts_at_ms, zone),
            human(window.ends_at_ms, zone)
        ),
        evidence: evidence.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

/// The export's columns, in order: one row per occurrence.
pub const CSV_COLUMNS: [&str; 11] = [
    "schedule_id",
    "schedule",
    "site",
    "frequency",
    "assignee",
    "window_start",
    "window_end",
    "status",
    "record_id",
    "completed_at",
    "flag",
];

/// Every occurrence of the person's schedules, as CSV bytes.
pub async fn csv(state: &AppState, who: &Principal) -> ServiceResult<Vec<u8>> {
    let all = statuses(state, who).await?;
    let names = super::people::names(state, who).await?;
    let person = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let mut rows = Vec::new();
    for status in &all {
        let zone = status.zone();
        let schedule = &status.schedule;
        for occurrence in &status.occurrences {
            rows.push(vec![
                schedule.id.clone(),
                schedule.title.clone(),
                status
                    .site
                    .as_ref()
                    .map_or_else(|| schedule.site_id.clone(), |s| s.name.clone()),
                describe(&schedule.rrule),
                person(&schedule.assignee),
                iso(occurrence.window.starts_at_ms, zone),
                iso(occurrence.window.ends_at_ms, zone),
                occurrence.status.as_str().to_owned(),
                occurrence.record_id.clone().unwrap_or_default(),
                occurrence
                    .completed_at_ms
                    .map(|ms| iso(ms, zone))
                    .unwrap_or_default(),
                occurrence
                    .flag
                    .as_ref()
                    .map(|f| f.code.clone())
                    .unwrap_or_default(),
            ]);
        }
    }
    export::table_csv(&CSV_COLUMNS, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rrule: &str, starts_on: NaiveDate, zone: Tz) -> InspectionSchedule {
        InspectionSchedule {
            id: "s1".into(),
            tenant_id: "t".into(),
            site_id: "site".into(),
            title: "Weekly site inspection".into(),
            checklist: vec![],
            rrule: rrule.into(),
            starts_at_ms: super::super::time::day_start_ms(starts_on, zone).expect("start"),
            assignee: "u".into(),
            created_by: "u".into(),
            created_at_ms: 0,
            ended_at_ms: None,
        }
    }

    #[test]
    fn a_weekly_schedule_starts_at_local_midnight_across_daylight_saving() {
        let zone = super::super::time::default_zone();
        let start = NaiveDate::from_ymd_opt(2026, 10, 26).expect("date");
        let s = schedule(&Frequency::Weekly.rrule(start), start, zone);
        let until =
            super::super::time::day_start_ms(NaiveDate::from_ymd_opt(2026, 11, 10).expect("date"), zone)
                .expect("until");
        let starts: Vec<String> = occurrence_starts(&s, zone, until)
            .expect("expands")
            .into_iter()
            .map(|ms| iso(ms, zone))
            .collect();
        // Alberta leaves daylight saving on 1 November 2026.
        assert_eq!(
            starts,
            [
                "2026-10-26T00:00:00-06:00",
                "2026-11-02T00:00:00-07:00",
                "2026-11-09T00:00:00-07:00",
                "2026-11-16T00:00:00-07:00",
            ]
        );
    }

    #[test]
    fn a_monthly_schedule_on_the_31st_falls_on_each_months_last_day() {
        let zone = super::super::time::default_zone();
        let start = NaiveDate::from_ymd_opt(2027, 1, 31).expect("date");
        let s = schedule(&Frequency::Monthly.rrule(start), start, zone);
        let until =
            super::super::time::day_start_ms(NaiveDate::from_ymd_opt(2027, 4, 1).expect("date"), zone)
                .expect("until");
        let days: Vec<String> = occurrence_starts(&s, zone, until)
            .expect("expands")
            .into_iter()
            .map(|ms| iso(ms, zone)[..10].to_owned())
            .collect();
        assert_eq!(days, ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]);
    }

    #[test]
    fn each_window_is_done_late_missed_or_due() {
        let zone = super::super::time::default_zone();
        let start = NaiveDate::from_ymd_opt(2026, 11, 2).expect("date");
        let s = schedule(&Frequency::Weekly.rrule(start), start, zone);
        let week = 7 * 86_400_000;
        let day = 86_400_000;
        let w1 = s.starts_at_ms;
        let filed = [
            Filed {
                record_id: "on-time".into(),
                started_ms: w1 + day,
                completed_ms: w1 + day + 3_600_000,
            },
            Filed {
                record_id: "late".into(),
                started_ms: w1 + week + 6 * day,
                completed_ms: w1 + 2 * week + day,
            },
        ];
        let now = w1 + 3 * week + 2 * day;
        let status = status_of(s, None, &filed, now).expect("status");
        let seen: Vec<(&str, Option<&str>)> = status
            .occurrences
            .iter()
            .map(|o| (o.status.as_str(), o.record_id.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                ("done", Some("on-time")),
                ("late", Some("late")),
                ("missed", None),
                ("due", None)
            ]
        );
        let flag = status.occurrences[2].flag.as_ref().expect("missed flag");
        assert_eq!(flag.code, MISSED);
        assert_eq!(flag.evidence["window_start"], "2026-11-16T00:00:00-07:00");
        assert_eq!(flag.evidence["window_end"], "2026-11-23T00:00:00-07:00");
        assert_eq!(flag.evidence["inspection_records"], MISSED_FINDING);
        assert_eq!(status.next_due, Some(status.occurrences[3].window));
    }

    #[test]
    fn the_forms_choices_make_rules_in_words() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).expect("date");
        for (choice, every, words) in [
            ("daily", None, "Every day"),
            ("weekly", None, "Every week"),
            ("monthly", None, "Every month"),
            ("every_n_days", Some(14), "Every 14 days"),
        ] {
            let rule = Frequency::parse(choice, every).expect("parses").rrule(day);
            assert_eq!(describe(&rule), words);
        }
        assert!(Frequency::parse("every_n_days", None).is_err());
        assert!(Frequency::parse("hourly", None).is_err());
    }
}
