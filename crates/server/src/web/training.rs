//! `/training`: the training matrix (people × site orientations, verified competencies,
//! certificates with their expiry, expired and expiring ones highlighted) and the office's form to
//! record a certificate; `/training/alerts`: the expiry alerts (90, 60 and 30 days, expired) with
//! the holder and the date; `/training.csv`: one row per person and qualification.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::approvals::directory;
use super::inspections::{csv_download, parse_date};
use super::session::Posted;
use super::view::{Directory, Nav, render, role_label};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::training::{self, CertificateHeld, NewCertificate};

#[derive(Debug, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "training.html")]
struct MatrixPage {
    nav: Option<Nav>,
    /// Site names, the matrix's orientation columns.
    sites: Vec<(String, String)>,
    rows: Vec<PersonRow>,
    alert_count: usize,
    /// The record form, for the office admin.
    form: Option<CertificateForm>,
}

pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    /// One cell per site column: the date signed, or `None`.
    pub orientations: Vec<Option<String>>,
    pub competencies: Vec<String>,
    pub certificates: Vec<CertificateView>,
}

pub struct CertificateView {
    pub record_id: String,
    pub what: String,
    pub expires: String,
    /// `current`, `lifetime`, `expiring`, `expired`: a CSS hook; `standing` says it in words.
    pub class: &'static str,
    pub standing: String,
}

pub struct CertificateForm {
    pub people: Vec<(String, String)>,
}

/// A date in the zone of the record's site, as people write it.
fn date(directory: &Directory, site_id: &str, ms: Option<i64>) -> Option<String> {
    let zone = directory.zone(site_id);
    ms.and_then(|ms| crate::service::time::local(ms, zone))
        .map(|t| t.format("%Y-%m-%d").to_string())
}

fn certificate_view(c: &CertificateHeld, directory: &Directory) -> CertificateView {
    let number = if c.number.is_empty() {
        String::new()
    } else {
        format!(" No. {}", c.number)
    };
    CertificateView {
        record_id: c.record_id.clone(),
        what: format!("{}{number}", c.certificate_type),
        expires: date(directory, &c.site_id, c.expiry_ms)
            .map_or_else(|| "does not expire".into(), |d| format!("expires {d}")),
        class: c.standing.as_str(),
        standing: c.standing.label(),
    }
}

pub async fn matrix(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let directory = directory(&state, &visitor).await?;
    let matrix = training::matrix(&state, who).await?;
    let alerts = training::alerts(&state, who).await?;
    let mut sites: Vec<(String, String)> = directory
        .sites
        .values()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    let rows = matrix
        .iter()
        .map(|person| PersonRow {
            id: person.user_id.clone(),
            name: person.name.clone(),
            role: role_label(person.role),
            orientations: sites
                .iter()
                .map(|(site_id, _)| {
                    person
                        .orientation_at(site_id)
                        .and_then(|o| date(&directory, site_id, Some(o.signed_ms)))
                })
                .collect(),
            competencies: person
                .competencies
                .iter()
                .map(|c| {
                    format!(
                        "{}, verified {} by {}",
                        c.equipment_type,
                        date(&directory, &c.site_id, Some(c.verified_ms)).unwrap_or_default(),
                        c.verifier_name
                    )
                })
                .collect(),
            certificates: person
                .certificates
                .iter()
                .map(|c| certificate_view(c, &directory))
                .collect(),
        })
        .collect();
    let form = who.is_admin().then(|| {
        let mut people: Vec<(String, String)> = directory.people.clone().into_iter().collect();
        people.sort_by(|a, b| a.1.cmp(&b.1));
        CertificateForm { people }
    });
    let notice = match q.done.as_deref() {
        Some("certificate_recorded") => {
            Some("Certificate recorded. The holder's phone receives it on its next sync.".to_owned())
        }
        _ => None,
    };
    let page = MatrixPage {
        nav: Some(Nav::new(&visitor, "/training").with_notice(notice)),
        sites,
        rows,
        alert_count: alerts.len(),
        form,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "training_alerts.html")]
struct AlertsPage {
    nav: Option<Nav>,
    alerts: Vec<AlertView>,
}

pub struct AlertView {
    pub record_id: String,
    /// "90 days", "60 days", "30 days" or "expired".
    pub alert: String,
    /// `expiring` or `expired`: a CSS hook.
    pub class: &'static str,
    pub holder: String,
    pub what: String,
    pub expires: String,
    pub message: String,
}

pub async fn alerts(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let alerts = training::alerts(&state, &visitor.principal).await?;
    let page = AlertsPage {
        nav: Some(Nav::new(&visitor, "/training/alerts")),
        alerts: alerts
            .iter()
            .map(|a| {
                let view = certificate_view(&a.certificate, &directory);
                AlertView {
                    record_id: a.certificate.record_id.clone(),
                    alert: a.alert(),
                    class: a.certificate.standing.as_str(),
                    holder: a.holder_name.clone(),
                    what: view.what,
                    expires: date(&directory, &a.certificate.site_id, a.certificate.expiry_ms)
                        .unwrap_or_default(),
                    message: a
                        .certificate
                        .flag
                        .as_ref()
                        .map(|f| f.message.clone())
                        .unwrap_or_default(),
                }
            })
            .collect(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct RecordCertificateForm {
    #[serde(default)]
    holder: String,
    #[serde(default)]
    certificate_type: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    issued_on: String,
    /// Empty for a certificate that does not expire.
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    document_ref: String,
}

pub async fn record_certificate(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<RecordCertificateForm>,
) -> Result<Response, WebError> {
    let expires_on = match form.expires_on.trim() {
        "" => None,
        day => Some(parse_date(day, "expiry date")?),
    };
    let new = NewCertificate {
        holder_id: form.holder,
        certificate_type: form.certificate_type,
        number: form.number,
        issuer: form.issuer,
        issued_on: parse_date(&form.issued_on, "issue date")?,
        expires_on,
        document_ref: Some(form.document_ref),
    };
    training::record_certificate(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/training?done=certificate_recorded").into_response())
}

pub async fn csv(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let bytes = training::csv(&state, &visitor.principal).await?;
    Ok(csv_download("training", bytes))
}
