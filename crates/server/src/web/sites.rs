//! `/sites`: each site's boundary (coordinates and radius, or the polygon's corners), accuracy
//! limit, time zone, muster point and latest records; an admin adds sites and edits them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::place::Geofence;

use super::approvals::{Done, directory};
use super::records::{Row, row};
use super::session::Posted;
use super::view::{Nav, notice, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::sites;

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    nav: Option<Nav>,
    sites: Vec<SiteView>,
    is_admin: bool,
    csrf: String,
}

pub struct SiteView {
    pub id: String,
    pub name: String,
    pub boundary: String,
    pub shape: &'static str,
    pub lat: String,
    pub lon: String,
    pub radius_m: String,
    pub polygon: String,
    pub max_accuracy_m: String,
    pub time_zone: String,
    pub muster_point: String,
    pub recent: Vec<Row>,
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let activity = sites::with_activity(&state, &visitor.principal).await?;
    let sites = activity
        .into_iter()
        .map(|a| {
            let site = a.site;
            let (shape, lat, lon, radius, polygon, boundary) = match &site.geofence {
                None => (
                    "none",
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "No boundary set: places are not checked".to_owned(),
                ),
                Some(Geofence::Circle { lat, lon, radius_m }) => (
                    "circle",
                    lat.to_string(),
                    lon.to_string(),
                    radius_m.to_string(),
                    String::new(),
                    format!("Circle of {radius_m:.0} m around {lat:.5}, {lon:.5}"),
                ),
                Some(Geofence::Polygon { lon_lat }) => (
                    "polygon",
                    String::new(),
                    String::new(),
                    String::new(),
                    lon_lat
                        .iter()
                        .map(|[lon, lat]| format!("{lat}, {lon}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    format!(
                        "Polygon with {} corners: {}",
                        lon_lat.len(),
                        lon_lat
                            .iter()
                            .map(|[lon, lat]| format!("{lat:.5}, {lon:.5}"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                ),
            };
            SiteView {
                id: site.id.clone(),
                name: site.name.clone(),
                boundary,
                shape,
                lat,
                lon,
                radius_m: radius,
                polygon,
                max_accuracy_m: site.max_accuracy_m.to_string(),
                time_zone: site.time_zone.clone(),
                muster_point: a
                    .muster_point
                    .unwrap_or_else(|| "Not named yet (no JSEA at this site)".into()),
                recent: a.recent.iter().map(|p| row(p, &directory)).collect(),
            }
        })
        .collect();
    let page = SitesPage {
        nav: Some(Nav::new(&visitor, "/sites").with_notice(notice(q.done.as_deref()))),
        sites,
        is_admin: visitor.principal.is_admin(),
        csrf: visitor.csrf.clone(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct NewSiteForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<NewSiteForm>,
) -> Result<Response, WebError> {
    sites::create(&state, &visitor.principal, form.name, None, None).await?;
    Ok(Redirect::to("/sites?done=site_added").into_response())
}

#[derive(Debug, Deserialize)]
pub struct SiteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<SiteForm>,
) -> Result<Response, WebError> {
    sites::update(&state, &visitor.principal, &id, &form.name, &form.time_zone).await?;
    Ok(Redirect::to("/sites?done=site_saved").into_response())
}

#[derive(Debug, Deserialize)]
pub struct BoundaryForm {
    /// `none`, `circle` or `polygon`.
    #[serde(default)]
    shape: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    radius_m: String,
    /// One `lat, lon` corner per line.
    #[serde(default)]
    polygon: String,
    #[serde(default)]
    max_accuracy_m: String,
}

fn number(text: &str, what: &str) -> Result<f64, WebError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| WebError::Invalid(format!("{what} must be a number, not {text:?}")))
}

impl BoundaryForm {
    fn geofence(&self) -> Result<Option<Geofence>, WebError> {
        match self.shape.as_str() {
            "none" => Ok(None),
            "circle" => Ok(Some(Geofence::Circle {
                lat: number(&self.lat, "Latitude")?,
                lon: number(&self.lon, "Longitude")?,
                radius_m: number(&self.radius_m, "Radius")?,
            })),
            "polygon" => {
                let mut corners = Vec::new();
                for line in self.polygon.lines().filter(|l| !l.trim().is_empty()) {
                    let (lat, lon) = line.split_once(',').ok_or_else(|| {
                        WebError::Invalid(format!("each corner is \"latitude, longitude\"; {line:?} is not"))
                    })?;
                    corners.push([number(lon, "Longitude")?, number(lat, "Latitude")?]);
                }
                Ok(Some(Geofence::Polygon { lon_lat: corners }))
            }
            other => Err(WebError::Invalid(format!(
                "choose no boundary, a circle or a polygon, not {other:?}"
            ))),
        }
    }
}

pub async fn set_boundary(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<BoundaryForm>,
) -> Result<Response, WebError> {
    let geofence = form.geofence()?;
    let max_accuracy_m = if form.max_accuracy_m.trim().is_empty() {
        None
    } else {
        Some(number(&form.max_accuracy_m, "The accuracy limit")?)
    };
    sites::set_boundary(&state, &visitor.principal, &id, geofence, max_accuracy_m).await?;
    Ok(Redirect::to("/sites?done=boundary_saved").into_response())
}
