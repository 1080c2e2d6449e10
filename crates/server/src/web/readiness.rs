//! `/readiness`: the SECOR readiness estimate for a window of days (the office admin only): the
//! overall estimate against the 80 % line, the gaps ranked by the points they cost (first), and
//! each element against the 50 % floor with its questions, the share each rule found, the points,
//! and the evidence; `/readiness.csv`: one row per question.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::inspections::{csv_download, parse_date};
use super::view::{Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::readiness::rules::Link;
use crate::service::readiness::{self, Assessment, GapText, RankedGap, Report};

/// The form's fields; an empty one takes the default (the last 12 months, the six sections).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadinessForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    catalogue: String,
}

impl ReadinessForm {
    fn ask(&self) -> Result<readiness::Ask, WebError> {
        let date = |value: &str, what: &str| {
            let value = value.trim();
            (!value.is_empty()).then(|| parse_date(value, what)).transpose()
        };
        Ok(readiness::Ask {
            from: date(&self.from, "first day")?,
            to: date(&self.to, "last day")?,
            catalogue: Some(self.catalogue.trim().to_owned()).filter(|c| !c.is_empty()),
        })
    }
}

#[derive(Template)]
#[template(path = "readiness.html")]
struct ReadinessPage {
    nav: Option<Nav>,
    report: Report,
    overall: String,
    meter: f64,
    elements: Vec<ElementView>,
    csv_href: String,
}

struct ElementView {
    id: String,
    name: String,
    percent: String,
    meter: f64,
    below_floor: bool,
    estimated: bool,
    points: String,
    weight: String,
    covers: String,
    questions: Vec<QuestionView>,
}

struct QuestionView {
    id: String,
    ask: String,
    method: String,
    proxy: bool,
    provenance: String,
    maps_to: String,
    rule: String,
    /// `estimated`, `not_applicable`, `auditor`: a CSS hook.
    assessment: &'static str,
    share: String,
    points: String,
    summary: String,
    evidence: Vec<Link>,
    gap: Option<GapText>,
}

fn number(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn view(report: &Report) -> Vec<ElementView> {
    report
        .elements
        .iter()
        .map(|e| ElementView {
            id: e.id.clone(),
            name: e.name.clone(),
            percent: e
                .percent
                .map_or_else(|| "not estimated".into(), |p| format!("{p:.0} %")),
            meter: e.percent.unwrap_or(0.0),
            below_floor: e.below_floor,
            estimated: e.percent.is_some(),
            points: format!("{} of {} points", number(e.earned), number(e.available)),
            weight: e
                .proposed_weight
                .map(|w| format!("{:.0} %", w * 100.0))
                .unwrap_or_default(),
            covers: e.covers.clone(),
            questions: e
                .questions
                .iter()
                .map(|q| QuestionView {
                    id: q.id.clone(),
                    ask: q.ask.clone(),
                    method: q.method.join(", "),
                    proxy: q.proxy,
                    provenance: q.provenance.replace('_', " "),
                    maps_to: q.maps_to_questions.join(", "),
                    rule: q.rule.clone(),
                    assessment: q.assessment.as_str(),
                    share: match (q.assessment, q.met, q.population) {
                        (Assessment::Estimated, Some(met), Some(of)) => {
                            format!("{met} of {of} ({:.0} %)", q.share_percent.unwrap_or_default())
                        }
                        (Assessment::NotApplicable, ..) => "not applicable".into(),
                        _ => "assessed by the auditor, not estimated".into(),
                    },
                    points: match q.earned {
                        Some(earned) => format!("{} of {}", number(earned), number(q.points)),
                        None => format!("{} (not counted)", number(q.points)),
                    },
                    summary: q.summary.clone(),
                    evidence: q.evidence.clone(),
                    gap: q.gap.clone(),
                })
                .collect(),
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(form): Query<ReadinessForm>,
) -> Result<Response, WebError> {
    let report = readiness::report(&state, &visitor.principal, form.ask()?).await?;
    let csv_href = format!(
        "/readiness.csv?from={}&to={}&catalogue={}",
        report.from, report.to, report.catalogue.id
    );
    Ok(render(&ReadinessPage {
        nav: Some(Nav::new(&visitor, "/readiness")),
        overall: report
            .overall_percent
            .map_or_else(|| "not estimated".into(), |p| format!("{p:.0} %")),
        meter: report.overall_percent.unwrap_or(0.0),
        elements: view(&report),
        csv_href,
        report,
    }))
}

pub async fn csv(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(form): Query<ReadinessForm>,
) -> Result<Response, WebError> {
    let report = readiness::report(&state, &visitor.principal, form.ask()?).await?;
    Ok(csv_download("readiness", readiness::csv(&report)?))
}

/// A gap's rank and points, as the list shows them.
pub fn lost(gap: &RankedGap) -> String {
    let points = number(gap.points_lost);
    let unit = if points == "1" { "point" } else { "points" };
    format!("−{points} {unit}")
}
