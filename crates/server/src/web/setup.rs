//! `/setup?token=…`: the first run's page. The server prints the link once when it starts on an
//! empty store; whoever opens it names the company and becomes its first admin, then signs in.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sync_core::protocol::Role;

use super::WebError;
use super::view::{Nav, render, render_with_status};
use crate::AppState;
use crate::service::people::NewPerson;
use crate::service::{ServiceError, setup};

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    nav: Option<Nav>,
    token: String,
    company: String,
    name: String,
    email: String,
    alert: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Result<Response, WebError> {
    if !state.setup.admits(&q.token) {
        return Err(not_open());
    }
    Ok(render(&SetupPage {
        nav: None,
        token: q.token,
        company: String::new(),
        name: String::new(),
        email: String::new(),
        alert: None,
    }))
}

fn not_open() -> WebError {
    WebError::Forbidden(
        "This set-up link is not valid. It works once, while the server has no company; \
         sign in instead, or start the server on an empty data directory for a new link."
            .into(),
    )
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    axum::extract::Form(form): axum::extract::Form<SetupForm>,
) -> Result<Response, WebError> {
    let admin = NewPerson {
        email: form.email.clone(),
        name: form.name.clone(),
        role: Role::Admin,
        password: form.password,
        sites: Vec::new(),
    };
    match setup::create_company(&state, &form.token, &form.company, admin).await {
        Ok(_) => Ok(Redirect::to("/signin?done=company_created").into_response()),
        Err(ServiceError::Forbidden(_)) => Err(not_open()),
        Err(ServiceError::Invalid { message, .. }) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &SetupPage {
                nav: None,
                token: form.token,
                company: form.company,
                name: form.name,
                email: form.email,
                alert: Some(message),
            },
        )),
        Err(other) => Err(other.into()),
    }
}
