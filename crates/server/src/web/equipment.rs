//! `/equipment`: the equipment register (in or out of service and the record that changed it,
//! type, required certificates, hour meter; units added from the field marked for a check), add
//! and edit forms for supervisors and admins; `/equipment.csv`: the same as a spreadsheet.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::actions::csv_download;
use super::approvals::directory;
use super::session::Posted;
use super::view::{Directory, Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::equipment::{self, StatusChange, UnitChange, UnitDetails, UnitStatus};
use crate::service::{ServiceError, export, time};

pub struct UnitRow {
    pub unit_id: String,
    pub make_model: String,
    pub serial: String,
    pub equipment_type: String,
    pub required_certificates: String,
    pub hour_meter: String,
    pub in_service: bool,
    /// In words: what changed its status last, and when.
    pub status_note: String,
    /// The record that changed it (the failed pre-start, or the closed action).
    pub status_record: Option<String>,
    /// The actions holding it now.
    pub holds: Vec<String>,
    /// Named first on a pre-start and not yet typed by the office: its details need a check.
    pub from_field: bool,
    /// Named first on a pre-start (and since checked).
    pub named_in_field: bool,
    pub added: String,
}

fn hours(h: Option<f64>) -> String {
    h.map(|h| format!("{h}")).unwrap_or_default()
}

fn unit_row(status: &UnitStatus, directory: &Directory) -> UnitRow {
    let u = &status.unit;
    let zone = time::default_zone();
    let (status_note, status_record) = match &status.last_change {
        None => (String::new(), None),
        Some(StatusChange::Held {
            at_ms, source_record, ..
        }) => (
            format!(
                "Out of service since {}: a failure found in",
                time::human(*at_ms, zone)
            ),
            Some(source_record.clone()),
        ),
        Some(StatusChange::Released { at_ms, action_id }) => (
            format!("Back in service since {}: closed by", time::human(*at_ms, zone)),
            Some(action_id.clone()),
        ),
    };
    UnitRow {
        unit_id: u.unit_id.clone(),
        make_model: u.make_model.clone(),
        serial: u.serial.clone().unwrap_or_default(),
        equipment_type: u.equipment_type.clone(),
        required_certificates: u.required_certificates.join(", "),
        hour_meter: hours(u.hour_meter),
        in_service: status.in_service(),
        status_note,
        status_record,
        holds: status.open_holds.iter().map(|h| h.action_id.clone()).collect(),
        from_field: u.added_from_record.is_some() && u.equipment_type.trim().is_empty(),
        named_in_field: u.added_from_record.is_some(),
        added: format!(
            "{} by {}",
            time::human(u.added_at_ms, zone),
            directory.person(&u.added_by)
        ),
    }
}

fn notice(done: &str) -> Option<String> {
    let text = match done {
        "unit_added" => "Unit added to the register.",
        "unit_saved" => "Unit saved.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "equipment.html")]
struct RegisterPage {
    nav: Option<Nav>,
    csrf: String,
    may_edit: bool,
    units: Vec<UnitRow>,
    out_of_service: usize,
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let units = equipment::list(&state, &visitor.principal).await?;
    let directory = directory(&state, &visitor).await?;
    let page = RegisterPage {
        nav: Some(Nav::new(&visitor, "/equipment").with_notice(notice(&q.done))),
        csrf: visitor.csrf.clone(),
        may_edit: visitor.principal.may_decide(),
        out_of_service: units.iter().filter(|u| !u.in_service()).count(),
        units: units.iter().map(|u| unit_row(u, &directory)).collect(),
    };
    Ok(render(&page))
}

/// The register's CSV columns, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "unit",
    "make_model",
    "serial",
    "equipment_type",
    "required_certificates",
    "hour_meter",
    "in_service",
    "status_changed_by",
    "held_by_actions",
    "added_at",
    "added_from_record",
];

pub async fn csv(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let units = equipment::list(&state, &visitor.principal).await?;
    let zone = time::default_zone();
    let rows = units.iter().map(|s| {
        let u = &s.unit;
        vec![
            u.unit_id.clone(),
            u.make_model.clone(),
            u.serial.clone().unwrap_or_default(),
            u.equipment_type.clone(),
            u.required_certificates.join("; "),
            hours(u.hour_meter),
            if s.in_service() { "yes" } else { "no" }.to_owned(),
            match &s.last_change {
                None => String::new(),
                Some(StatusChange::Held { source_record, .. }) => source_record.clone(),
                Some(StatusChange::Released { action_id, .. }) => action_id.clone(),
            },
            s.open_holds
                .iter()
                .map(|h| h.action_id.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            time::iso(u.added_at_ms, zone),
            u.added_from_record.clone().unwrap_or_default(),
        ]
    });
    let bytes = export::table_csv(&CSV_COLUMNS, rows).map_err(WebError::from)?;
    Ok(csv_download(bytes, "equipment"))
}

#[derive(Debug, Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    make_model: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    equipment_type: String,
    /// Certificate types, one per line or separated by commas.
    #[serde(default)]
    required_certificates: String,
    #[serde(default)]
    hour_meter: String,
}

impl UnitForm {
    fn certificates(&self) -> Vec<String> {
        self.required_certificates
            .split(['\n', ','])
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect()
    }

    fn hour_meter(&self) -> Result<Option<f64>, WebError> {
        let text = self.hour_meter.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>().map(Some).map_err(|_| {
            WebError::Invalid(format!(
                "the hour meter must be a number of hours, like 4210.5, not {text:?}"
            ))
        })
    }
}

pub async fn add(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<UnitForm>,
) -> Result<Response, WebError> {
    let details = UnitDetails {
        hour_meter: form.hour_meter()?,
        required_certificates: form.certificates(),
        unit_id: form.unit_id,
        make_model: form.make_model,
        serial: Some(form.serial),
        equipment_type: form.equipment_type,
    };
    equipment::add(&state, &visitor.principal, details)
        .await
        .map_err(WebError::from)?;
    Ok(Redirect::to("/equipment?done=unit_added").into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Path(unit_id): Path<String>,
    Posted { visitor, form }: Posted<UnitForm>,
) -> Result<Response, WebError> {
    let change = UnitChange {
        hour_meter: form.hour_meter()?,
        required_certificates: Some(form.certificates()),
        make_model: Some(form.make_model),
        serial: Some(form.serial),
        equipment_type: Some(form.equipment_type),
    };
    equipment::change(&state, &visitor.principal, &unit_id, change)
        .await
        .map_err(|e| match e {
            // The register's own wording already says which unit.
            ServiceError::NotFound(m) => WebError::NotFound(m),
            other => other.into(),
        })?;
    Ok(Redirect::to("/equipment?done=unit_saved").into_response())
}
