//! `/approvals`: a supervisor's queue of completed JSEAs on their sites, oldest first, each shown
//! whole (task, hazards with risk and controls by hierarchy level, the crew's signatures, where
//! and when it was completed) with approve and reject in one step.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::kinds::jsea::{ControlLevel, Jsea};
use sync_core::model::{ApprovalDecision, Body};

use super::session::Posted;
use super::view::{Directory, Nav, PlaceView, TimeView, describe_place, describe_time, notice, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::records::RecordDetail;
use crate::service::{approvals, people, sites};

#[derive(Debug, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct QueuePage {
    nav: Option<Nav>,
    waiting: Vec<WaitingJsea>,
}

pub struct WaitingJsea {
    pub id: String,
    pub task: String,
    pub site: String,
    pub location: Option<String>,
    pub muster_point: String,
    pub completed_by: String,
    pub completed_at: Option<TimeView>,
    pub completed_place: Option<PlaceView>,
    pub steps: Vec<StepView>,
    pub signatures: Vec<SignatureView>,
    /// Crew members listed but not signed.
    pub unsigned: Vec<String>,
    pub flags: Vec<String>,
}

pub struct StepView {
    pub description: String,
    pub hazards: Vec<HazardView>,
}

pub struct HazardView {
    pub description: String,
    pub risk: String,
    /// `low`, `medium`, `high`: a CSS hook; `risk` says it in words.
    pub risk_level: &'static str,
    /// Controls grouped by hierarchy level, most effective first.
    pub controls: Vec<(&'static str, Vec<String>)>,
    pub ppe_only_justification: Option<String>,
}

pub struct SignatureView {
    pub name: String,
    pub valid: bool,
    pub state: &'static str,
    pub when: String,
}

pub async fn queue(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let waiting = approvals::queue(&state, who).await?;
    let directory = directory(&state, &visitor).await?;
    let page = QueuePage {
        nav: Some(Nav::new(&visitor, "/approvals").with_notice(notice(q.done.as_deref()))),
        waiting: waiting
            .iter()
            .filter_map(|d| waiting_jsea(d, &directory))
            .collect(),
    };
    Ok(render(&page))
}

/// Names for the people and sites a page shows.
pub(super) async fn directory(state: &AppState, visitor: &Visitor) -> Result<Directory, WebError> {
    let who = &visitor.principal;
    Ok(Directory {
        sites: sites::list(state, who)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect(),
        people: people::names(state, who).await?,
    })
}

pub fn waiting_jsea(detail: &RecordDetail, directory: &Directory) -> Option<WaitingJsea> {
    let Body::Jsea(jsea) = &detail.record.body else {
        return None;
    };
    let header = &detail.record.header;
    let zone = directory.zone(&header.site_id);
    let completed = detail.timeline.iter().rev().find(|e| e.event == "completed");
    Some(WaitingJsea {
        id: header.id.clone(),
        task: jsea.task.clone(),
        site: directory.site_name(&header.site_id),
        location: jsea.location_description.clone(),
        muster_point: jsea.muster_point.clone(),
        completed_by: completed
            .and_then(|e| e.by.as_deref())
            .map_or_else(|| directory.person(&header.created_by), |by| directory.person(by)),
        completed_at: completed.map(|e| describe_time(&e.time, zone)),
        completed_place: completed.map(|e| describe_place(e.place.as_ref())),
        steps: steps(jsea),
        signatures: signatures(jsea, directory, zone),
        unsigned: jsea
            .crew
            .iter()
            .filter(|id| !jsea.signatures.contains_key(*id))
            .map(|id| directory.person(id))
            .collect(),
        flags: detail.flags.iter().map(|f| f.message.clone()).collect(),
    })
}

pub fn steps(jsea: &Jsea) -> Vec<StepView> {
    jsea.active_steps()
        .map(|step| StepView {
            description: step.description.clone(),
            hazards: step
                .active_hazards()
                .map(|hazard| {
                    let score = hazard.risk.score();
                    let risk_level = match score {
                        15.. => "high",
                        8..=14 => "medium",
                        _ => "low",
                    };
                    HazardView {
                        description: hazard.description.clone(),
                        risk: format!(
                            "{} risk {score} (severity {} × likelihood {})",
                            capitalised(risk_level),
                            hazard.risk.severity,
                            hazard.risk.likelihood
                        ),
                        risk_level,
                        controls: controls_by_level(hazard),
                        ppe_only_justification: hazard.ppe_only_justification.clone(),
                    }
                })
                .collect(),
        })
        .collect()
}

fn controls_by_level(hazard: &sync_core::kinds::jsea::Hazard) -> Vec<(&'static str, Vec<String>)> {
    const LEVELS: [(ControlLevel, &str); 5] = [
        (ControlLevel::Elimination, "Elimination"),
        (ControlLevel::Substitution, "Substitution"),
        (ControlLevel::Engineering, "Engineering"),
        (ControlLevel::Administrative, "Administrative"),
        (ControlLevel::Ppe, "PPE"),
    ];
    LEVELS
        .iter()
        .filter_map(|(level, label)| {
            let controls: Vec<String> = hazard
                .active_controls()
                .filter(|c| c.level == *level)
                .map(|c| c.description.clone())
                .collect();
            (!controls.is_empty()).then_some((*label, controls))
        })
        .collect()
}

pub fn signatures(jsea: &Jsea, directory: &Directory, zone: chrono_tz::Tz) -> Vec<SignatureView> {
    let current = jsea.content_hash();
    jsea.signatures
        .values()
        .map(|signature| {
            let valid = jsea.still_vouches(&signature.content_hash, &current);
            SignatureView {
                name: if signature.name.trim().is_empty() {
                    directory.person(&signature.user_id)
                } else {
                    signature.name.clone()
                },
                valid,
                state: if valid {
                    "Valid: signed this content"
                } else {
                    "Stale: the JSEA changed after this signature"
                },
                when: crate::service::time::human(signature.stamp.wall_ms, zone),
            }
        })
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    comment: Option<String>,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<DecideForm>,
) -> Result<Response, WebError> {
    let decision = ApprovalDecision::parse(&form.decision)
        .ok_or_else(|| WebError::Invalid("choose Approve or Reject".into()))?;
    approvals::decide(&state, &visitor.principal, &id, decision, form.comment).await?;
    Ok(Redirect::to(&format!("/approvals?done={}", decision.as_str())).into_response())
}
