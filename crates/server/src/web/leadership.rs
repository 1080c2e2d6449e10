//! `/policy`: the company's health and safety policy (its standing, a new one written and signed
//! by a manager, this year's review) and who has acknowledged it and the right to refuse;
//! `/meetings`: management meetings' minutes and a form to record one; `/refusals`: refusal
//! reports, reported and closed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::kinds::policy::POLICY_TOPICS;
use sync_core::kinds::refusal_report::{RefusalOutcome, RefusalStatus};

use super::approvals::directory;
use super::inspections::parse_date;
use super::session::Posted;
use super::view::{Directory, Nav, render, role_label};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::leadership::{
    self, NewMeeting, NewMeetingAction, NewPolicy, NewRefusal, RefusalClosing, right_to_refuse_statement,
};
use crate::service::time;

#[derive(Debug, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// The program pages' tabs, the current one marked.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub fn tabs(current: &str) -> Vec<Tab> {
    [
        ("/policy", "Policy and acknowledgements"),
        ("/meetings", "Management meetings"),
        ("/refusals", "Refusals"),
        ("/incidents", "Incidents and investigations"),
        ("/emergency-plans", "Emergency plans and drills"),
    ]
    .into_iter()
    .map(|(href, label)| Tab {
        href,
        label,
        current: href == current,
    })
    .collect()
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "policy_signed" => "Policy signed. It is the company's policy from today.",
        "policy_reviewed" => "Review recorded. The next one is due in a year.",
        "meeting_recorded" => "Minutes recorded. Actions raised are on the action log.",
        "refusal_reported" => "Refusal reported. Inspect, fix and close it here.",
        "refusal_closed" => "Refusal closed. Give the worker their copy of the report.",
        "incident_reported" => "Incident reported.",
        "reportable_decided" => "Saved.",
        "investigation_saved" => "Investigation saved.",
        "investigation_completed" => "Investigation completed. Its actions are on the action log.",
        "investigation_blocked" => "Saved, but not completed: the findings below must be addressed first.",
        "plan_current" => "Plan made current. Every phone at the site receives it on its next sync.",
        "drill_logged" => "Drill logged.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// A date in the zone of the record's site.
pub fn day(directory: &Directory, site_id: &str, ms: Option<i64>) -> String {
    ms.and_then(|ms| time::local(ms, directory.zone(site_id)))
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub fn nav(visitor: &Visitor, current: &'static str, done: Option<&str>) -> Nav {
    Nav::new(visitor, current).with_notice(notice(done))
}

/// Sites `visitor` may write at, for the forms' site choice.
pub fn own_sites(directory: &Directory, visitor: &Visitor) -> Vec<(String, String)> {
    let who = &visitor.principal;
    let mut sites: Vec<(String, String)> = directory
        .sites
        .values()
        .filter(|s| who.is_admin() || who.sites.contains(&s.id))
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    sites
}

pub fn people(directory: &Directory) -> Vec<(String, String)> {
    let mut people: Vec<(String, String)> = directory.people.clone().into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    people
}

// -- /policy -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    policy: Option<PolicyView>,
    people: Vec<AckRow>,
    missing_right_to_refuse: usize,
    statement: String,
    is_admin: bool,
    sites: Vec<(String, String)>,
    topics: Vec<(&'static str, &'static str)>,
}

pub struct PolicyView {
    pub id: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub covers: Vec<&'static str>,
    pub signed: String,
    pub signer: String,
    pub review_due: String,
    pub problems: Vec<String>,
    pub reviews: Vec<String>,
}

pub struct AckRow {
    pub user_id: String,
    pub name: String,
    pub role: &'static str,
    pub right_to_refuse: Option<String>,
    pub policy: Option<String>,
}

fn topic_label(tag: &str) -> &'static str {
    match tag {
        "commitment_and_goals" => "Management's commitment and goals",
        "worker_wellbeing_physical_psychological" => "Workers' physical and psychological well-being",
        "responsibilities_all_parties" => "Duties of managers, supervisors, workers and contractors",
        "legal_compliance" => "Following the OHS Act, Regulation and Code",
        _ => "Another topic",
    }
}

pub async fn policy(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let found = leadership::overview(&state, &visitor.principal).await?;
    let policy = found.policy.as_ref().map(|p| PolicyView {
        id: p.record_id.clone(),
        title: p.policy.title.clone(),
        paragraphs: p
            .policy
            .text
            .split("\n\n")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        covers: p.policy.covers.iter().map(|t| topic_label(t)).collect(),
        signed: day(&directory, &p.site_id, p.last_signed_ms),
        signer: p.last_signer_name.clone(),
        review_due: day(&directory, &p.site_id, p.review_due_ms),
        problems: p.problems(),
        reviews: p
            .policy
            .reviews
            .iter()
            .map(|r| {
                let note = if r.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.note)
                };
                format!(
                    "{} by {}{note}",
                    day(&directory, &p.site_id, Some(r.signature.stamp.wall_ms)),
                    r.signature.name
                )
            })
            .collect(),
    });
    let site = found
        .policy
        .as_ref()
        .map(|p| p.site_id.clone())
        .unwrap_or_default();
    let people: Vec<AckRow> = found
        .people
        .iter()
        .map(|p| AckRow {
            user_id: p.user_id.clone(),
            name: p.name.clone(),
            role: role_label(p.role),
            right_to_refuse: p.right_to_refuse_ms.map(|ms| day(&directory, &site, Some(ms))),
            policy: p.policy_ms.map(|ms| day(&directory, &site, Some(ms))),
        })
        .collect();
    let page = PolicyPage {
        nav: Some(nav(&visitor, "/policy", q.done.as_deref())),
        tabs: tabs("/policy"),
        missing_right_to_refuse: found
            .people
            .iter()
            .filter(|p| p.role == sync_core::protocol::Role::Worker && p.right_to_refuse_ms.is_none())
            .count(),
        policy,
        people,
        statement: right_to_refuse_statement(),
        is_admin: visitor.principal.is_admin(),
        sites: own_sites(&directory, &visitor),
        topics: POLICY_TOPICS.iter().map(|t| (*t, topic_label(t))).collect(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    covers: Vec<String>,
}

pub async fn write_policy(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<PolicyForm>,
) -> Result<Response, WebError> {
    let new = NewPolicy {
        site_id: form.site,
        title: form.title,
        text: form.text.replace("\r\n", "\n"),
        covers: form.covers,
    };
    leadership::write_policy(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/policy?done=policy_signed").into_response())
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    note: String,
}

pub async fn review_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<ReviewForm>,
) -> Result<Response, WebError> {
    leadership::review_policy(&state, &visitor.principal, &id, form.note).await?;
    Ok(Redirect::to("/policy?done=policy_reviewed").into_response())
}

// -- /meetings -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    meetings: Vec<MeetingView>,
    may_record: bool,
    sites: Vec<(String, String)>,
    people: Vec<(String, String)>,
}

pub struct MeetingView {
    pub id: String,
    pub title: String,
    pub held: String,
    pub site: String,
    pub attendees: Vec<String>,
    pub safety_items: Vec<String>,
    pub other_items: Vec<String>,
    pub actions: Vec<String>,
}

pub async fn meetings(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let found = leadership::overview(&state, &visitor.principal).await?;
    let meetings = found
        .meetings
        .iter()
        .map(|m| MeetingView {
            id: m.record_id.clone(),
            title: m.meeting.title.clone(),
            held: day(&directory, &m.site_id, m.held_ms),
            site: directory.site_name(&m.site_id),
            attendees: m
                .meeting
                .attendees
                .iter()
                .map(|id| {
                    let signed = if m.meeting.signatures.contains_key(id) {
                        ""
                    } else {
                        " (not signed)"
                    };
                    format!("{}{signed}", directory.person(id))
                })
                .collect(),
            safety_items: m
                .meeting
                .items
                .iter()
                .filter(|i| i.safety)
                .map(|i| i.topic.clone())
                .collect(),
            other_items: m
                .meeting
                .items
                .iter()
                .filter(|i| !i.safety)
                .map(|i| i.topic.clone())
                .collect(),
            actions: m
                .meeting
                .actions
                .iter()
                .map(|a| {
                    format!(
                        "{} ({}, due {})",
                        a.action,
                        directory.person(&a.assignee),
                        day(&directory, &m.site_id, a.due_ms)
                    )
                })
                .collect(),
        })
        .collect();
    let page = MeetingsPage {
        nav: Some(nav(&visitor, "/meetings", q.done.as_deref())),
        tabs: tabs("/meetings"),
        meetings,
        may_record: visitor.principal.may_decide(),
        sites: own_sites(&directory, &visitor),
        people: people(&directory),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct MeetingForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    attendees: Vec<String>,
    /// One item per line.
    #[serde(default)]
    safety_items: String,
    #[serde(default)]
    other_items: String,
    #[serde(default)]
    action: Vec<String>,
    #[serde(default)]
    assignee: Vec<String>,
    #[serde(default)]
    due: Vec<String>,
}

/// The non-blank lines of a text area, trimmed: one item each.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The end of `date` in the zone of `site_id`: when something due that day falls due.
fn end_of_day(directory: &Directory, site_id: &str, date: &str, what: &str) -> Result<i64, WebError> {
    let day = parse_date(date, what)?;
    let next = day.succ_opt().unwrap_or(day);
    time::day_start_ms(next, directory.zone(site_id))
        .map(|ms| ms - 1)
        .ok_or_else(|| WebError::Invalid(format!("the {what} does not exist in the site's time zone")))
}

/// The start of `date` in the zone of `site_id`, for a moment people give as a day.
pub fn start_of_day(directory: &Directory, site_id: &str, date: &str, what: &str) -> Result<i64, WebError> {
    time::day_start_ms(parse_date(date, what)?, directory.zone(site_id))
        .ok_or_else(|| WebError::Invalid(format!("the {what} does not exist in the site's time zone")))
}

/// The action rows a form sends: the rows left blank are skipped, a half-filled one is refused.
pub fn action_rows(
    directory: &Directory,
    site_id: &str,
    action: &[String],
    assignee: &[String],
    due: &[String],
) -> Result<Vec<(String, String, i64)>, WebError> {
    let mut rows = Vec::new();
    for (n, text) in action.iter().enumerate() {
        let (who, date) = (
            assignee.get(n).map(String::as_str).unwrap_or(""),
            due.get(n).map(String::as_str).unwrap_or(""),
        );
        if text.trim().is_empty() {
            continue;
        }
        if who.trim().is_empty() || date.trim().is_empty() {
            return Err(WebError::Invalid(format!(
                "action {:?}: choose who does it and the date it is due",
                text.trim()
            )));
        }
        rows.push((
            text.trim().to_owned(),
            who.trim().to_owned(),
            end_of_day(directory, site_id, date, "due date")?,
        ));
    }
    Ok(rows)
}

pub async fn record_meeting(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<MeetingForm>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let actions = action_rows(&directory, &form.site, &form.action, &form.assignee, &form.due)?
        .into_iter()
        .map(|(action, assignee, due_ms)| NewMeetingAction {
            action,
            assignee,
            due_ms,
        })
        .collect();
    let new = NewMeeting {
        site_id: form.site,
        title: form.title,
        attendees: form.attendees,
        safety_items: lines(&form.safety_items),
        other_items: lines(&form.other_items),
        actions,
    };
    leadership::record_meeting(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/meetings?done=meeting_recorded").into_response())
}

// -- /refusals -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "refusals.html")]
struct RefusalsPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    refusals: Vec<RefusalView>,
    may_record: bool,
    sites: Vec<(String, String)>,
    people: Vec<(String, String)>,
    outcomes: Vec<(&'static str, &'static str)>,
}

pub struct RefusalView {
    pub id: String,
    pub worker: String,
    pub site: String,
    pub refused: String,
    pub work: String,
    pub hazard: String,
    pub open: bool,
    pub inspection: String,
    pub remedy: String,
    pub outcome: &'static str,
    pub copies_given: bool,
}

fn outcome_label(outcome: RefusalOutcome) -> &'static str {
    match outcome {
        RefusalOutcome::Pending => "Pending",
        RefusalOutcome::HazardRemedied => "Hazard remedied, work resumed",
        RefusalOutcome::WorkChanged => "Work changed or reassigned",
        RefusalOutcome::NoUndueHazard => "Inspected: no undue hazard found",
        RefusalOutcome::ReferredToOhs => "Referred to an OHS officer",
    }
}

pub async fn refusals(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let found = leadership::overview(&state, &visitor.principal).await?;
    let refusals = found
        .refusals
        .iter()
        .map(|r| RefusalView {
            id: r.record_id.clone(),
            worker: directory.person(&r.report.worker_id),
            site: directory.site_name(&r.site_id),
            refused: directory.time(&r.site_id, r.report.refused_ms),
            work: r.report.work_refused.clone(),
            hazard: r.report.hazard.clone(),
            // A closure over a report that changed since no longer closes it.
            open: r.report.status != RefusalStatus::Closed
                || r.report
                    .closed
                    .as_ref()
                    .is_none_or(|s| s.content_hash != r.report.content_hash()),
            inspection: r.report.inspection.clone(),
            remedy: r.report.remedy.clone(),
            outcome: outcome_label(r.report.outcome),
            copies_given: r.report.copies_given,
        })
        .collect();
    let page = RefusalsPage {
        nav: Some(nav(&visitor, "/refusals", q.done.as_deref())),
        tabs: tabs("/refusals"),
        refusals,
        may_record: visitor.principal.may_decide(),
        sites: own_sites(&directory, &visitor),
        people: people(&directory),
        outcomes: RefusalOutcome::ALL
            .iter()
            .filter(|o| **o != RefusalOutcome::Pending)
            .map(|o| (o.as_str(), outcome_label(*o)))
            .collect(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct RefusalForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    worker: String,
    #[serde(default)]
    work_refused: String,
    #[serde(default)]
    hazard: String,
    #[serde(default)]
    refused_on: String,
}

pub async fn report_refusal(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<RefusalForm>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let refused_ms = start_of_day(&directory, &form.site, &form.refused_on, "day of the refusal")?;
    let new = NewRefusal {
        site_id: form.site,
        worker_id: form.worker,
        work_refused: form.work_refused,
        hazard: form.hazard,
        refused_ms,
    };
    leadership::report_refusal(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/refusals?done=refusal_reported").into_response())
}

#[derive(Debug, Deserialize)]
pub struct CloseRefusalForm {
    #[serde(default)]
    inspection: String,
    #[serde(default)]
    remedy: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    copies_given: Option<String>,
}

pub async fn close_refusal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<CloseRefusalForm>,
) -> Result<Response, WebError> {
    let closing = RefusalClosing {
        inspection: form.inspection,
        remedy: form.remedy,
        outcome: form.outcome,
        copies_given: form.copies_given.is_some(),
    };
    leadership::close_refusal(&state, &visitor.principal, &id, closing).await?;
    Ok(Redirect::to("/refusals?done=refusal_closed").into_response())
}
