//! `/inspections`: each site's inspection schedules with every occurrence's status (done, late,
//! missed, due) and the inspection that decided it, missed ones first and with their evidence; a
//! form for supervisors to add a schedule. `/inspections.csv`: one row per occurrence.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::approvals::directory;
use super::session::{NoFields, Posted};
use super::view::{Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::inspections::{self, Frequency, NewSchedule, OccurrenceStatus};
use crate::service::time::human;
use crate::store::ChecklistTemplateItem;

/// Occurrences a schedule shows on the page, newest first; the CSV holds them all.
const SHOWN: usize = 12;

#[derive(Debug, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "inspections.html")]
struct InspectionsPage {
    nav: Option<Nav>,
    missed: Vec<MissedView>,
    sites: Vec<SiteSchedules>,
    /// The add form, for supervisors and the office.
    form: Option<ScheduleForm>,
}

pub struct MissedView {
    pub schedule: String,
    pub site: String,
    pub window: String,
    pub message: String,
    pub evidence: Vec<(String, String)>,
}

pub struct SiteSchedules {
    pub name: String,
    pub schedules: Vec<ScheduleView>,
}

pub struct ScheduleView {
    pub id: String,
    pub title: String,
    pub frequency: String,
    pub assignee: String,
    pub starts: String,
    pub ended: Option<String>,
    pub next_due: Option<String>,
    pub checklist: Vec<ChecklistTemplateItem>,
    pub counts: String,
    /// Newest first.
    pub occurrences: Vec<OccurrenceView>,
    /// How many older occurrences the page leaves to the CSV.
    pub older: usize,
}

pub struct OccurrenceView {
    pub window: String,
    /// `done`, `late`, `missed`, `due`: a CSS hook; `label` says it in words.
    pub status: &'static str,
    pub label: &'static str,
    pub record_id: Option<String>,
    pub completed: Option<String>,
}

pub struct ScheduleForm {
    pub sites: Vec<(String, String)>,
    pub people: Vec<(String, String)>,
    pub today: String,
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let directory = directory(&state, &visitor).await?;
    let all = inspections::statuses(&state, who).await?;
    let mut missed = Vec::new();
    let mut by_site: Vec<SiteSchedules> = Vec::new();
    for status in &all {
        let zone = status.zone();
        let schedule = &status.schedule;
        let site = directory.site_name(&schedule.site_id);
        let window = |w: &inspections::Window| {
            format!("{} to {}", human(w.starts_at_ms, zone), human(w.ends_at_ms, zone))
        };
        for occurrence in status.occurrences.iter().rev() {
            if let Some(flag) = &occurrence.flag {
                missed.push(MissedView {
                    schedule: schedule.title.clone(),
                    site: site.clone(),
                    window: window(&occurrence.window),
                    message: flag.message.clone(),
                    evidence: flag
                        .evidence
                        .iter()
                        .map(|(k, v)| (k.replace('_', " "), v.clone()))
                        .collect(),
                });
            }
        }
        let count = |s: OccurrenceStatus| status.occurrences.iter().filter(|o| o.status == s).count();
        let view = ScheduleView {
            id: schedule.id.clone(),
            title: schedule.title.clone(),
            frequency: inspections::describe(&schedule.rrule),
            assignee: directory.person(&schedule.assignee),
            starts: human(schedule.starts_at_ms, zone),
            ended: schedule.ended_at_ms.map(|ms| human(ms, zone)),
            next_due: status.next_due.as_ref().map(window),
            checklist: schedule.checklist.clone(),
            counts: format!(
                "{} done, {} late, {} missed",
                count(OccurrenceStatus::Done),
                count(OccurrenceStatus::Late),
                count(OccurrenceStatus::Missed)
            ),
            occurrences: status
                .occurrences
                .iter()
                .rev()
                .take(SHOWN)
                .map(|o| OccurrenceView {
                    window: window(&o.window),
                    status: o.status.as_str(),
                    label: o.status.label(),
                    record_id: o.record_id.clone(),
                    completed: o.completed_at_ms.map(|ms| human(ms, zone)),
                })
                .collect(),
            older: status.occurrences.len().saturating_sub(SHOWN),
        };
        match by_site.iter_mut().find(|s| s.name == site) {
            Some(group) => group.schedules.push(view),
            None => by_site.push(SiteSchedules {
                name: site,
                schedules: vec![view],
            }),
        }
    }
    by_site.sort_by(|a, b| a.name.cmp(&b.name));
    let form = if who.may_decide() {
        let mut site_choices: Vec<(String, String)> = directory
            .sites
            .values()
            .filter(|s| who.is_admin() || who.sites.contains(&s.id))
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect();
        site_choices.sort_by(|a, b| a.1.cmp(&b.1));
        let mut people: Vec<(String, String)> = directory.people.clone().into_iter().collect();
        people.sort_by(|a, b| a.1.cmp(&b.1));
        let zone = crate::service::time::default_zone();
        let today = crate::service::time::local((state.clock)(), zone)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        Some(ScheduleForm {
            sites: site_choices,
            people,
            today,
        })
    } else {
        None
    };
    let page = InspectionsPage {
        nav: Some(Nav::new(&visitor, "/inspections").with_notice(notice(q.done.as_deref()))),
        missed,
        sites: by_site,
        form,
    };
    Ok(render(&page))
}

fn notice(done: Option<&str>) -> Option<String> {
    match done? {
        "schedule_added" => Some("Schedule added. The assignee's phone lists it on its next sync.".into()),
        "schedule_ended" => {
            Some("Schedule ended. Nothing after today is owed; what was owed before stays on record.".into())
        }
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub struct AddScheduleForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    title: String,
    /// One item per line; a line starting with `*` is a critical item.
    #[serde(default)]
    items: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    every_days: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    assignee: String,
}

pub async fn add(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<AddScheduleForm>,
) -> Result<Response, WebError> {
    let every_days = match form.every_days.trim() {
        "" => None,
        days => Some(
            days.parse()
                .map_err(|_| WebError::Invalid("every how many days must be a whole number".into()))?,
        ),
    };
    let frequency = Frequency::parse(&form.frequency, every_days)?;
    let starts_on = parse_date(&form.starts_on, "start date")?;
    let checklist = form
        .items
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.strip_prefix('*') {
            Some(label) => ChecklistTemplateItem {
                label: label.trim().to_owned(),
                critical: true,
            },
            None => ChecklistTemplateItem {
                label: line.to_owned(),
                critical: false,
            },
        })
        .collect();
    let new = NewSchedule {
        site_id: form.site,
        title: form.title,
        checklist,
        frequency,
        starts_on,
        assignee: form.assignee,
    };
    inspections::create(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/inspections?done=schedule_added").into_response())
}

/// Ends a schedule (a site closed, an inspection no longer required): no window after now is
/// owed, and what was owed before stays on record.
pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    inspections::end(&state, &visitor.principal, &id).await?;
    Ok(Redirect::to("/inspections?done=schedule_ended").into_response())
}

/// A form's `YYYY-MM-DD` date.
pub(super) fn parse_date(value: &str, what: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| WebError::Invalid(format!("enter the {what} as a date (YYYY-MM-DD)")))
}

pub async fn csv(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let bytes = inspections::csv(&state, &visitor.principal).await?;
    Ok(csv_download("inspections", bytes))
}

/// A CSV download named for its list and the day.
pub(super) fn csv_download(list: &str, bytes: Vec<u8>) -> Response {
    let day = chrono::Utc::now().format("%Y-%m-%d");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"muster-{list}-{day}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
