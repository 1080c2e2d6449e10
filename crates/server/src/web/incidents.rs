//! `/incidents`: incidents and near misses with their investigations, the prompt when an incident
//! may be reportable to the regulator (and what was decided), a form to report an incident;
//! `/investigations/{id}`: one investigation with its findings, saved and completed from its form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::kinds::incident::{IncidentType, Treatment};
use sync_core::kinds::investigation::InvestigationStatus;

use super::approvals::directory;
use super::leadership::{Done, Tab, action_rows, day, lines, nav, own_sites, people, start_of_day, tabs};
use super::session::Posted;
use super::view::{Directory, Nav, render, sentence};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::incidents::{
    self, InvestigationEntry, InvestigationForm, NewIncident, NewInvestigationAction, ReportableDecision,
    treatment_label,
};

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    events: Vec<EventView>,
    sites: Vec<(String, String)>,
    types: Vec<(&'static str, &'static str)>,
    treatments: Vec<(&'static str, &'static str)>,
    occurrences: Vec<(&'static str, &'static str)>,
}

pub struct EventView {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub site: String,
    pub occurred: String,
    pub what: String,
    pub reportable_open: Vec<String>,
    pub reportable_decision: Option<String>,
    pub investigations: Vec<InvestigationLink>,
}

pub struct InvestigationLink {
    pub id: String,
    pub status: &'static str,
    pub findings: usize,
}

fn status_label(status: InvestigationStatus) -> &'static str {
    match status {
        InvestigationStatus::Draft => "Being written",
        InvestigationStatus::Completed => "Completed",
        InvestigationStatus::Closed => "Closed",
    }
}

fn type_label(t: IncidentType) -> &'static str {
    match t {
        IncidentType::Injury => "Injury",
        IncidentType::Damage => "Damage to equipment or property",
        IncidentType::Environmental => "Environmental (spill or release)",
    }
}

/// The dangerous occurrences a reporter may tick, as the kind names them.
const OCCURRENCES: &[(&str, &str)] = &[
    ("fire_or_explosion", "A fire or explosion"),
    ("flood", "A flood"),
    (
        "structural_collapse",
        "Collapse or failure of a building or structure",
    ),
    (
        "crane_or_hoist_collapse",
        "Collapse or upset of a crane, derrick or hoist",
    ),
    (
        "uncontrolled_release",
        "An uncontrolled release of a hazardous substance",
    ),
];

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let events = incidents::overview(&state, &visitor.principal).await?;
    let page = IncidentsPage {
        nav: Some(nav(&visitor, "/incidents", q.done.as_deref())),
        tabs: tabs("/incidents"),
        events: events
            .iter()
            .map(|e| EventView {
                id: e.record_id.clone(),
                kind: e.kind.label(),
                title: e.title.clone(),
                site: directory.site_name(&e.site_id),
                occurred: directory.time(&e.site_id, e.occurred_ms),
                what: e.what.clone(),
                reportable_open: e.reportable_open.iter().map(|r| sentence(r)).collect(),
                reportable_decision: e.reportable_decision.clone(),
                investigations: e
                    .investigations
                    .iter()
                    .map(|i| InvestigationLink {
                        id: i.record_id.clone(),
                        status: status_label(i.investigation.status),
                        findings: i.blocking.len(),
                    })
                    .collect(),
            })
            .collect(),
        sites: own_sites(&directory, &visitor),
        types: IncidentType::ALL
            .iter()
            .map(|t| (t.as_str(), type_label(*t)))
            .collect(),
        treatments: Treatment::ALL
            .iter()
            .map(|t| (t.as_str(), treatment_label(*t)))
            .collect(),
        occurrences: OCCURRENCES.to_vec(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct IncidentForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    incident_type: String,
    #[serde(default)]
    occurred_on: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    occurrences: Vec<String>,
}

pub async fn report(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<IncidentForm>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let occurred_ms = start_of_day(&directory, &form.site, &form.occurred_on, "day it happened")?;
    let new = NewIncident {
        site_id: form.site,
        incident_type: form.incident_type,
        occurred_ms,
        description: form.description,
        location: form.location,
        treatment: form.treatment,
        occurrences: form.occurrences,
    };
    incidents::report_incident(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/incidents?done=incident_reported").into_response())
}

#[derive(Debug, Deserialize)]
pub struct ReportableForm {
    /// `reported` or `not_reportable`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reported_on: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide_reportable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<ReportableForm>,
) -> Result<Response, WebError> {
    let decision = match form.decision.as_str() {
        "reported" => {
            let directory = directory(&state, &visitor).await?;
            let detail = crate::service::records::detail(&state, &visitor.principal, &id).await?;
            ReportableDecision::Reported {
                notified_ms: start_of_day(
                    &directory,
                    &detail.record.header.site_id,
                    &form.reported_on,
                    "day OHS was told",
                )?,
                reference: form.reference,
            }
        }
        "not_reportable" => ReportableDecision::NotReportable { reason: form.reason },
        other => {
            return Err(WebError::Invalid(format!(
                "say whether it was reported or is not reportable, not {other:?}"
            )));
        }
    };
    incidents::decide_reportable(&state, &visitor.principal, &id, decision).await?;
    Ok(Redirect::to("/incidents?done=reportable_decided").into_response())
}

#[derive(Debug, Deserialize)]
pub struct InvestigationFields {
    #[serde(default)]
    sequence: String,
    #[serde(default)]
    immediate_causes: String,
    #[serde(default)]
    root_causes: String,
    #[serde(default)]
    action: Vec<String>,
    #[serde(default)]
    assignee: Vec<String>,
    #[serde(default)]
    due: Vec<String>,
    /// Set by the "Complete" button.
    #[serde(default)]
    complete: Option<String>,
}

impl InvestigationFields {
    /// The form as the service takes it, and why its action rows could not be read, if they
    /// could not: the rest is saved all the same, keeping the actions already written.
    fn to_form(&self, directory: &Directory, site_id: &str) -> (InvestigationForm, Option<WebError>) {
        let (actions, problem) =
            match action_rows(directory, site_id, &self.action, &self.assignee, &self.due) {
                Ok(rows) => (
                    Some(
                        rows.into_iter()
                            .map(|(action, assignee, due_ms)| NewInvestigationAction {
                                action,
                                assignee,
                                due_ms,
                            })
                            .collect(),
                    ),
                    None,
                ),
                Err(problem) => (None, Some(problem)),
            };
        let form = InvestigationForm {
            sequence: lines(&self.sequence),
            immediate_causes: lines(&self.immediate_causes),
            root_causes: lines(&self.root_causes),
            actions,
        };
        (form, problem)
    }
}

#[derive(Debug, Deserialize)]
pub struct Subject {
    #[serde(default)]
    subject: String,
}

/// Starts an investigation of the incident or near miss named in the query.
pub async fn start(
    State(state): State<AppState>,
    Query(subject): Query<Subject>,
    Posted { visitor, form }: Posted<InvestigationFields>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let detail = crate::service::records::detail(&state, &visitor.principal, &subject.subject).await?;
    let (fields, problem) = form.to_form(&directory, &detail.record.header.site_id);
    if let Some(problem) = problem {
        return Err(problem);
    }
    let id = incidents::start_investigation(&state, &visitor.principal, &subject.subject, fields).await?;
    Ok(Redirect::to(&format!("/investigations/{id}?done=investigation_saved")).into_response())
}

#[derive(Template)]
#[template(path = "investigation.html")]
struct InvestigationPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    id: String,
    subject_id: String,
    subject: String,
    site: String,
    status: &'static str,
    editable: bool,
    findings: Vec<String>,
    sequence: String,
    immediate_causes: String,
    root_causes: String,
    /// (action, assignee id, due date) per row, with blank rows to add more.
    actions: Vec<(String, String, String)>,
    people: Vec<(String, String)>,
    signed: String,
}

fn investigation_page(
    visitor: &Visitor,
    directory: &Directory,
    entry: &InvestigationEntry,
    subject: String,
    done: Option<&str>,
) -> InvestigationPage {
    let i = &entry.investigation;
    let mut actions: Vec<(String, String, String)> = i
        .actions
        .iter()
        .map(|a| {
            (
                a.action.clone(),
                a.assignee.clone(),
                day(directory, &entry.site_id, a.due_ms),
            )
        })
        .collect();
    while actions.len() < 3 {
        actions.push(Default::default());
    }
    InvestigationPage {
        nav: Some(nav(visitor, "/incidents", done)),
        tabs: tabs("/incidents"),
        id: entry.record_id.clone(),
        subject_id: entry.subject_id.clone(),
        subject,
        site: directory.site_name(&entry.site_id),
        status: status_label(i.status),
        editable: i.status == InvestigationStatus::Draft,
        findings: entry.blocking.iter().map(|f| sentence(&f.message)).collect(),
        sequence: i.sequence.join("\n"),
        immediate_causes: i.immediate_causes.join("\n"),
        root_causes: i.root_causes.join("\n"),
        actions,
        people: people(directory),
        signed: i
            .signature
            .as_ref()
            .map(|s| format!("{}, {}", s.name, directory.time(&entry.site_id, s.stamp.wall_ms)))
            .unwrap_or_default(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let entry = incidents::investigation(&state, &visitor.principal, &id).await?;
    let subject = crate::service::records::detail(&state, &visitor.principal, &entry.subject_id)
        .await
        .map(|d| d.record.body.title())
        .unwrap_or_else(|_| entry.subject_id.clone());
    Ok(render(&investigation_page(
        &visitor,
        &directory,
        &entry,
        subject,
        q.done.as_deref(),
    )))
}

pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<InvestigationFields>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let entry = incidents::investigation(&state, &visitor.principal, &id).await?;
    let (fields, problem) = form.to_form(&directory, &entry.site_id);
    let complete = form.complete.is_some() && problem.is_none();
    let saved = incidents::save_investigation(&state, &visitor.principal, &id, fields, complete).await;
    if let Some(problem) = problem {
        // Everything else the form held is saved; the person fixes the action row.
        saved?;
        return Err(match problem {
            WebError::Invalid(message) => {
                WebError::Invalid(format!("The rest is saved, but not the actions: {message}"))
            }
            other => other,
        });
    }
    let done = match saved {
        Ok(()) if complete => "investigation_completed",
        Ok(()) => "investigation_saved",
        // What the form held is saved; the page lists the findings still in the way.
        Err(crate::service::ServiceError::Invalid {
            code: "investigation_blocked",
            ..
        }) => "investigation_blocked",
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("/investigations/{id}?done={done}")).into_response())
}
