//! The admin's pages: `/people` (add someone, change role and sites, disable, reset a password),
//! `/devices` (revoke a phone) and `/audit` (who changed what).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::protocol::Role;

use super::approvals::{Done, directory};
use super::session::{NoFields, Posted};
use super::view::{Nav, notice, render, role_label};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::people::{NewPerson, PersonChange};
use crate::service::{audit, devices, people, sites};

pub struct SiteChoice {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

pub struct PersonView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub role_label: &'static str,
    pub sites: Vec<SiteChoice>,
    pub site_names: String,
    pub disabled: bool,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    nav: Option<Nav>,
    csrf: String,
    people: Vec<PersonView>,
    all_sites: Vec<SiteChoice>,
    roles: [(Role, &'static str); 3],
}

const ROLES: [Role; 3] = [Role::Worker, Role::Supervisor, Role::Admin];

pub async fn people(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let everyone = people::list(&state, who).await?;
    let site_list = sites::list(&state, who).await?;
    let choices = |chosen: &[String]| -> Vec<SiteChoice> {
        site_list
            .iter()
            .map(|s| SiteChoice {
                id: s.id.clone(),
                name: s.name.clone(),
                checked: chosen.contains(&s.id),
            })
            .collect()
    };
    let people = everyone
        .iter()
        .map(|u| PersonView {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role,
            role_label: role_label(u.role),
            site_names: site_list
                .iter()
                .filter(|s| u.sites.contains(&s.id))
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            sites: choices(&u.sites),
            disabled: u.disabled,
            is_me: u.id == who.user_id,
        })
        .collect();
    let page = PeoplePage {
        nav: Some(Nav::new(&visitor, "/people").with_notice(notice(q.done.as_deref()))),
        csrf: visitor.csrf.clone(),
        people,
        all_sites: choices(&[]),
        roles: ROLES.map(|role| (role, role_label(role))),
    };
    Ok(render(&page))
}

fn parse_role(text: &str) -> Result<Role, WebError> {
    ROLES
        .into_iter()
        .find(|role| role.as_str() == text)
        .ok_or_else(|| WebError::Invalid(format!("choose worker, supervisor or admin, not {text:?}")))
}

#[derive(Debug, Deserialize)]
pub struct AddPersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    sites: Vec<String>,
    #[serde(default)]
    password: String,
}

pub async fn add_person(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<AddPersonForm>,
) -> Result<Response, WebError> {
    let person = NewPerson {
        email: form.email,
        name: form.name,
        role: parse_role(&form.role)?,
        password: form.password,
        sites: form.sites,
    };
    people::add(&state, &visitor.principal, person).await?;
    Ok(Redirect::to("/people?done=person_added").into_response())
}

#[derive(Debug, Deserialize)]
pub struct ChangePersonForm {
    /// `save` (role and sites), `disable`, `enable` or `password`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    sites: Vec<String>,
    #[serde(default)]
    password: String,
}

pub async fn change_person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, form }: Posted<ChangePersonForm>,
) -> Result<Response, WebError> {
    let (change, done) = match form.action.as_str() {
        "save" => (
            PersonChange {
                role: Some(parse_role(&form.role)?),
                sites: Some(form.sites),
                ..PersonChange::default()
            },
            "person_changed",
        ),
        "disable" => (
            PersonChange {
                disabled: Some(true),
                ..PersonChange::default()
            },
            "disabled",
        ),
        "enable" => (
            PersonChange {
                disabled: Some(false),
                ..PersonChange::default()
            },
            "enabled",
        ),
        "password" => (
            PersonChange {
                password: Some(form.password),
                ..PersonChange::default()
            },
            "password_reset",
        ),
        other => return Err(WebError::Invalid(format!("there is no change {other:?}"))),
    };
    people::change(&state, &visitor.principal, &id, change).await?;
    Ok(Redirect::to(&format!("/people?done={done}")).into_response())
}

pub struct DeviceView {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub enrolled: String,
    pub last_sync: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    nav: Option<Nav>,
    csrf: String,
    devices: Vec<DeviceView>,
}

pub async fn devices(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let list = devices::list(&state, &visitor.principal).await?;
    let directory = directory(&state, &visitor).await?;
    let zone = crate::service::time::default_zone();
    let when = |ms: i64| crate::service::time::human(ms, zone);
    let page = DevicesPage {
        nav: Some(Nav::new(&visitor, "/devices").with_notice(notice(q.done.as_deref()))),
        csrf: visitor.csrf.clone(),
        devices: list
            .into_iter()
            .map(|d| DeviceView {
                owner: directory.person(&d.user_id),
                enrolled: when(d.enrolled_at_ms),
                last_sync: d.last_sync_at_ms.map_or_else(|| "never".into(), when),
                revoked: d.revoked_at_ms.map(when),
                id: d.id,
                name: d.name,
            })
            .collect(),
    };
    Ok(render(&page))
}

pub async fn revoke_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    devices::revoke(&state, &visitor.principal, &id).await?;
    Ok(Redirect::to("/devices?done=device_revoked").into_response())
}

pub struct AuditView {
    pub at: String,
    pub who: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditView>,
}

/// Entries the audit page shows.
const AUDIT_PAGE: u32 = 500;

pub async fn audit(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let entries = audit::log(&state, &visitor.principal, AUDIT_PAGE).await?;
    let directory = directory(&state, &visitor).await?;
    let zone = crate::service::time::default_zone();
    let page = AuditPage {
        nav: Some(Nav::new(&visitor, "/audit")),
        entries: entries
            .into_iter()
            .map(|e| AuditView {
                at: crate::service::time::human(e.at_ms, zone),
                who: if e.user_id == "system" {
                    "Muster".into()
                } else {
                    directory.person(&e.user_id)
                },
                action: e.action,
                detail: e.detail,
            })
            .collect(),
    };
    Ok(render(&page))
}
