//! `/actions`: the corrective action log (open, awaiting verification, overdue, closed; by
//! assignee, source kind and site), its CSV (`/actions.csv`, same filters), raising an action
//! from the office; `/actions/{id}`: one action with resolve and verify.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use sync_core::kinds::corrective_action::{ActionStatus, CorrectiveAction};

use super::approvals::directory;
use super::records::{Choice, EventView, FlagView};
use super::session::Posted;
use super::view::{Directory, Nav, describe_place, describe_time, evidence_row, query_string, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::actions::{self, ActionEntry, ActionFilter, NewAction, Showing};
use crate::service::time;

/// The log's filters as the links and form send them; an empty field is no filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionFilters {
    /// `open`, `resolved`, `overdue`, `closed`, or empty for every action.
    #[serde(default)]
    show: String,
    #[serde(default)]
    assignee: String,
    /// The kind of record that raised it, or `none`.
    #[serde(default)]
    source: String,
    #[serde(default)]
    site: String,
    /// A notice after a form post.
    #[serde(default)]
    done: String,
}

impl ActionFilters {
    fn to_filter(&self) -> Result<ActionFilter, WebError> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let showing = Showing::parse(&self.show).ok_or_else(|| {
            WebError::Invalid(format!(
                "show open, resolved, overdue or closed actions, not {:?}",
                self.show
            ))
        })?;
        if !self.source.is_empty() && !actions::source_kinds().iter().any(|(k, _)| *k == self.source) {
            return Err(WebError::Invalid(format!(
                "there is no source kind {:?}",
                self.source
            )));
        }
        Ok(ActionFilter {
            showing,
            assignee: some(&self.assignee),
            source_kind: some(&self.source),
            site_id: some(&self.site),
        })
    }

    fn query_with_show(&self, show: &str) -> String {
        query_string(&[
            ("show", show),
            ("assignee", &self.assignee),
            ("source", &self.source),
            ("site", &self.site),
        ])
    }
}

pub struct ShowLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct ActionRow {
    pub id: String,
    pub hazard: String,
    pub action: String,
    pub site: String,
    pub status: &'static str,
    pub overdue: bool,
    pub assignee: String,
    pub due: String,
    pub source: String,
    pub source_id: Option<String>,
    pub unit: String,
    pub raised_by: String,
    /// The link to the action's own page, named for what can be done there.
    pub next_step: &'static str,
}

fn status_label(status: ActionStatus) -> &'static str {
    match status {
        ActionStatus::Draft => "Draft",
        ActionStatus::Open => "Open",
        ActionStatus::Resolved => "Awaiting verification",
        ActionStatus::Closed => "Closed",
    }
}

fn source_label(action: &CorrectiveAction) -> String {
    match &action.source {
        None => "Raised on its own".into(),
        Some(link) => {
            sync_core::Kind::parse(&link.kind).map_or_else(|| link.kind.clone(), |k| k.label().to_owned())
        }
    }
}

fn action_row(entry: &ActionEntry, directory: &Directory) -> ActionRow {
    let site = &entry.header.site_id;
    ActionRow {
        id: entry.header.id.clone(),
        hazard: entry.action.hazard.clone(),
        action: entry.action.action.clone(),
        site: directory.site_name(site),
        status: status_label(entry.action.status),
        overdue: entry.overdue,
        assignee: directory.person(&entry.action.assignment.assignee),
        due: entry
            .action
            .assignment
            .due_ms
            .map(|ms| directory.time(site, ms))
            .unwrap_or_default(),
        source: source_label(&entry.action),
        source_id: entry.action.source.as_ref().map(|s| s.record_id.clone()),
        unit: entry.action.unit_id.clone().unwrap_or_default(),
        raised_by: directory.person(&entry.header.created_by),
        next_step: match entry.action.status {
            ActionStatus::Draft | ActionStatus::Open => "Resolve",
            ActionStatus::Resolved => "Verify the fix",
            ActionStatus::Closed => "How it was closed",
        },
    }
}

/// Options for a `<select>`, by label (people and sites by name, not by id).
fn choices(options: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    let mut options: Vec<(String, String)> = options.into_iter().collect();
    options.sort_by(|a, b| a.1.to_lowercase().cmp(&b.1.to_lowercase()).then(a.0.cmp(&b.0)));
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// Fixed messages for this page's redirects, so a link cannot make it say anything else.
fn notice(done: &str) -> Option<String> {
    let text = match done {
        "raised" => "Action raised. The assignee's phone receives it on its next sync.",
        "resolved" => "Resolved. A supervisor who did not resolve it verifies the fix.",
        "verified" => "Verified: the action is closed and any unit it held is back in service.",
        "not_verified" => "Not verified: the action is open again, with your comment.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Template)]
#[template(path = "actions.html")]
struct LogPage {
    nav: Option<Nav>,
    csrf: String,
    may_raise: bool,
    shows: Vec<ShowLink>,
    showing: &'static str,
    show: String,
    assignees: Vec<Choice>,
    sources: Vec<Choice>,
    sites: Vec<Choice>,
    raise_sites: Vec<Choice>,
    people: Vec<Choice>,
    rows: Vec<ActionRow>,
    csv_href: String,
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<ActionFilters>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let filter = filters.to_filter()?;
    let directory = directory(&state, &visitor).await?;
    let found = actions::list(&state, who, filter.clone()).await?;
    let people: Vec<(String, String)> = directory
        .people
        .iter()
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    let page = LogPage {
        nav: Some(Nav::new(&visitor, "/actions").with_notice(notice(&filters.done))),
        csrf: visitor.csrf.clone(),
        may_raise: who.may_decide(),
        shows: Showing::ALL
            .iter()
            .map(|s| ShowLink {
                label: s.label(),
                href: format!("/actions?{}", filters.query_with_show(s.as_str())),
                current: *s == filter.showing,
            })
            .collect(),
        showing: filter.showing.label(),
        show: filters.show.clone(),
        assignees: choices(people.clone(), &filters.assignee),
        sources: choices(actions::source_kinds(), &filters.source),
        sites: choices(
            directory.sites.values().map(|s| (s.id.clone(), s.name.clone())),
            &filters.site,
        ),
        raise_sites: choices(
            directory
                .sites
                .values()
                .filter(|s| who.is_admin() || who.sites.contains(&s.id))
                .map(|s| (s.id.clone(), s.name.clone())),
            "",
        ),
        people: choices(people, ""),
        rows: found.iter().map(|e| action_row(e, &directory)).collect(),
        csv_href: format!("/actions.csv?{}", filters.query_with_show(&filters.show)),
    };
    Ok(render(&page))
}

pub async fn csv(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<ActionFilters>,
) -> Result<Response, WebError> {
    let bytes = actions::csv(&state, &visitor.principal, filters.to_filter()?).await?;
    Ok(csv_download(bytes, "actions"))
}

/// A CSV download offered as a file named for the list and the day.
pub(super) fn csv_download(bytes: Vec<u8>, list: &str) -> Response {
    let day = chrono::Utc::now().format("%Y-%m-%d");
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"muster-{list}-{day}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct RaiseForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    hazard: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    assignee: String,
    /// `YYYY-MM-DD`: due by the end of that day at the site.
    #[serde(default)]
    due: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    unit: String,
}

pub async fn raise(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<RaiseForm>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    // Refused before the form is read further: the form names the company's people and sites.
    if !who.may_decide() {
        return Err(WebError::Forbidden(
            "only a supervisor or the office admin raises a corrective action from the office".into(),
        ));
    }
    let directory = directory(&state, &visitor).await?;
    let due_ms = if form.due.trim().is_empty() {
        None
    } else {
        let day = NaiveDate::parse_from_str(form.due.trim(), "%Y-%m-%d").map_err(|_| {
            WebError::Invalid(format!(
                "the due date must be a date like 2026-12-01, not {:?}",
                form.due
            ))
        })?;
        day.succ_opt()
            .and_then(|next| time::day_start_ms(next, directory.zone(form.site.trim())))
    };
    let new = NewAction {
        site_id: form.site,
        hazard: form.hazard,
        action: form.action,
        assignee: form.assignee,
        due_ms,
        source_record: Some(form.source),
        unit_id: Some(form.unit),
    };
    actions::raise(&state, who, new).await?;
    Ok(Redirect::to("/actions?done=raised").into_response())
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    nav: Option<Nav>,
    csrf: String,
    id: String,
    title: String,
    status: &'static str,
    overdue: bool,
    site: String,
    assignee: String,
    raised_by: String,
    source: String,
    source_id: Option<String>,
    content: Vec<(String, String)>,
    flags: Vec<FlagView>,
    timeline: Vec<EventView>,
    may_resolve: bool,
    may_verify: bool,
    /// Why the visitor cannot verify, when they could otherwise.
    verify_note: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn detail(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let (detail, action) = actions::detail(&state, who, &id).await?;
    let directory = directory(&state, &visitor).await?;
    let header = &detail.record.header;
    let zone = directory.zone(&header.site_id);
    let resolver = action.resolved.as_ref().map(|s| s.user_id.clone());
    let is_resolver = resolver.as_deref() == Some(who.user_id.as_str());
    let may_verify = action.status == ActionStatus::Resolved && who.may_decide() && !is_resolver;
    let page = ActionPage {
        nav: Some(Nav::new(&visitor, "/actions").with_notice(notice(&q.done))),
        csrf: visitor.csrf.clone(),
        id: header.id.clone(),
        title: if action.action.trim().is_empty() {
            action.hazard.clone()
        } else {
            action.action.clone()
        },
        status: status_label(action.status),
        overdue: detail
            .flags
            .iter()
            .any(|f| f.code == sync_core::kinds::corrective_action::codes::OVERDUE),
        site: directory.site_name(&header.site_id),
        assignee: directory.person(&action.assignment.assignee),
        raised_by: directory.person(&header.created_by),
        source: source_label(&action),
        source_id: action.source.as_ref().map(|s| s.record_id.clone()),
        content: sync_core::kinds::RecordKind::evidence(&action)
            .into_iter()
            .filter(|row| row.label != "Source")
            .map(|row| evidence_row(row, &directory, zone))
            .collect(),
        flags: detail.flags.iter().map(|f| FlagView::of(f, &directory)).collect(),
        timeline: detail
            .timeline
            .iter()
            .map(|e| EventView {
                event: e.event.replace('_', " "),
                by: e.by.as_deref().map(|by| directory.person(by)).unwrap_or_default(),
                time: describe_time(&e.time, zone),
                place: describe_place(e.place.as_ref()),
            })
            .collect(),
        may_resolve: action.status == ActionStatus::Open
            && (action.assignment.assignee == who.user_id || who.may_decide()),
        may_verify,
        verify_note: (action.status == ActionStatus::Resolved && who.may_decide() && is_resolver)
            .then(|| "You resolved this action: someone else verifies the fix.".to_owned()),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    note: String,
}

pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<ResolveForm>,
) -> Result<Response, WebError> {
    actions::resolve(&state, &visitor.principal, &id, form.note).await?;
    Ok(Redirect::to("/actions?done=resolved").into_response())
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    /// `fixed` or `not_fixed`.
    #[serde(default)]
    outcome: String,
    comment: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<VerifyForm>,
) -> Result<Response, WebError> {
    let fixed = match form.outcome.as_str() {
        "fixed" => true,
        "not_fixed" => false,
        other => {
            return Err(WebError::Invalid(format!(
                "choose whether the fix worked, not {other:?}"
            )));
        }
    };
    actions::verify(&state, &visitor.principal, &id, fixed, form.comment).await?;
    let done = if fixed { "verified" } else { "not_verified" };
    Ok(Redirect::to(&format!("/actions?done={done}")).into_response())
}
