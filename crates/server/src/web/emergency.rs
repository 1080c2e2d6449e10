//! `/emergency-plans`: each site's emergency response plan and where it stands, its drills and
//! plan reviews, and the form to log a drill; `/emergency-plans/new?site=…`: the form that writes
//! a site's plan and makes it current.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::kinds::drill::DrillType;

use super::approvals::directory;
use super::leadership::{Done, Tab, day, nav, own_sites, people, tabs};
use super::session::Posted;
use super::view::{Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::emergency::{self, NewDrill, NewPlan};

#[derive(Template)]
#[template(path = "emergency_plans.html")]
struct PlansPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    sites: Vec<SiteView>,
    flagged: usize,
    may_write: bool,
    own_sites: Vec<(String, String)>,
    people: Vec<(String, String)>,
}

pub struct SiteView {
    pub id: String,
    pub name: String,
    pub standing: &'static str,
    pub class: &'static str,
    pub flagged: bool,
    pub plan_id: Option<String>,
    pub revised: String,
    pub muster_points: Vec<String>,
    pub hospital: String,
    pub contacts: Vec<String>,
    pub drills: Vec<String>,
}

fn drill_label(t: DrillType) -> &'static str {
    match t {
        DrillType::Drill => "Drill",
        DrillType::PlanReview => "Plan review",
    }
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let now = (state.clock)();
    let plans = emergency::sites(&state, &visitor.principal).await?;
    let sites: Vec<SiteView> = plans
        .iter()
        .map(|s| SiteView {
            id: s.site_id.clone(),
            name: s.site_name.clone(),
            standing: s.standing.label(),
            class: s.standing.class(),
            flagged: s.flagged(now),
            plan_id: s.plan_id.clone(),
            revised: day(&directory, &s.site_id, s.revised_ms),
            muster_points: s
                .plan
                .iter()
                .flat_map(|p| &p.muster_points)
                .map(|m| format!("{} ({:.5}, {:.5})", m.name, m.latitude, m.longitude))
                .collect(),
            hospital: s.plan.as_ref().map(|p| p.hospital.clone()).unwrap_or_default(),
            contacts: s
                .plan
                .iter()
                .flat_map(|p| &p.contacts)
                .map(|c| format!("{}: {} {}", c.role, c.name, c.phone))
                .collect(),
            drills: s
                .drills
                .iter()
                .map(|d| {
                    format!(
                        "{} {}: {}",
                        day(&directory, &s.site_id, d.held_ms),
                        drill_label(d.drill.drill_type),
                        d.drill.scenario
                    )
                })
                .collect(),
        })
        .collect();
    let page = PlansPage {
        nav: Some(nav(&visitor, "/emergency-plans", q.done.as_deref())),
        tabs: tabs("/emergency-plans"),
        flagged: sites.iter().filter(|s| s.flagged).count(),
        sites,
        may_write: visitor.principal.may_decide(),
        own_sites: own_sites(&directory, &visitor),
        people: people(&directory),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct ForSite {
    #[serde(default)]
    site: String,
}

#[derive(Template)]
#[template(path = "emergency_plan_new.html")]
struct NewPlanPage {
    nav: Option<Nav>,
    tabs: Vec<Tab>,
    site_id: String,
    site_name: String,
}

pub async fn new_plan(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ForSite>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let Some((site_id, site_name)) = own_sites(&directory, &visitor)
        .into_iter()
        .find(|(id, _)| *id == q.site)
    else {
        return Err(WebError::NotFound(format!(
            "there is no site {:?} among your sites",
            q.site
        )));
    };
    visitor.principal.require_decider()?;
    let page = NewPlanPage {
        nav: Some(nav(&visitor, "/emergency-plans", None)),
        tabs: tabs("/emergency-plans"),
        site_id,
        site_name,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    contact_role: Vec<String>,
    #[serde(default)]
    contact_name: Vec<String>,
    #[serde(default)]
    contact_phone: Vec<String>,
    #[serde(default)]
    muster_name: Vec<String>,
    #[serde(default)]
    muster_lat: Vec<String>,
    #[serde(default)]
    muster_lon: Vec<String>,
    #[serde(default)]
    hospital: String,
    #[serde(default)]
    hospital_route: String,
    #[serde(default)]
    equipment: String,
    #[serde(default)]
    first_aid: String,
    #[serde(default)]
    rescue_evacuation: String,
    #[serde(default)]
    alarms_communications: String,
}

fn coordinate(text: &str, what: &str, point: &str) -> Result<f64, WebError> {
    text.trim().parse::<f64>().map_err(|_| {
        WebError::Invalid(format!(
            "muster point {point:?}: enter its {what} as a number of degrees (like 53.4521)"
        ))
    })
}

pub async fn write_plan(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<PlanForm>,
) -> Result<Response, WebError> {
    let contacts = form
        .contact_role
        .iter()
        .enumerate()
        .map(|(n, role)| {
            (
                role.clone(),
                form.contact_name.get(n).cloned().unwrap_or_default(),
                form.contact_phone.get(n).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let mut muster_points = Vec::new();
    for (n, name) in form.muster_name.iter().enumerate() {
        let (lat, lon) = (
            form.muster_lat.get(n).map(String::as_str).unwrap_or(""),
            form.muster_lon.get(n).map(String::as_str).unwrap_or(""),
        );
        if name.trim().is_empty() && lat.trim().is_empty() && lon.trim().is_empty() {
            continue;
        }
        muster_points.push((
            name.clone(),
            coordinate(lat, "latitude", name)?,
            coordinate(lon, "longitude", name)?,
        ));
    }
    let new = NewPlan {
        site_id: form.site,
        contacts,
        muster_points,
        hospital: form.hospital,
        hospital_route: form.hospital_route,
        equipment: form.equipment.lines().map(str::to_owned).collect(),
        first_aid: form.first_aid,
        rescue_evacuation: form.rescue_evacuation,
        alarms_communications: form.alarms_communications,
    };
    emergency::write_plan(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/emergency-plans?done=plan_current").into_response())
}

#[derive(Debug, Deserialize)]
pub struct DrillForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    drill_type: String,
    #[serde(default)]
    scenario: String,
    #[serde(default)]
    participants: Vec<String>,
    #[serde(default)]
    lessons: String,
}

pub async fn log_drill(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<DrillForm>,
) -> Result<Response, WebError> {
    let new = NewDrill {
        site_id: form.site,
        drill_type: form.drill_type,
        scenario: form.scenario,
        participants: form.participants,
        lessons: form.lessons.lines().map(str::to_owned).collect(),
    };
    emergency::log_drill(&state, &visitor.principal, new).await?;
    Ok(Redirect::to("/emergency-plans?done=drill_logged").into_response())
}
