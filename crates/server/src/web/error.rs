//! What a page answers when it cannot do what was asked: a page a person can read (never JSON),
//! with the status that says why, or a redirect to the sign-in page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::view::{Nav, render_with_status, sentence};
use crate::service::ServiceError;

#[derive(Debug)]
pub enum WebError {
    /// No session, or it ended: sign in (again).
    SignIn,
    Forbidden(String),
    /// The form's CSRF token is missing or not this session's.
    BadSecurityToken,
    NotFound(String),
    Invalid(String),
    TooManyRequests(String),
    /// Our fault: logged, shown only as "something went wrong".
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    heading: &'static str,
    message: String,
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated { .. } => WebError::SignIn,
            ServiceError::Forbidden(m) => WebError::Forbidden(m),
            ServiceError::NotFound(m) => WebError::NotFound(m),
            ServiceError::Invalid { message, .. } | ServiceError::Conflict(message) => {
                WebError::Invalid(message)
            }
            ServiceError::TooManyRequests { message, .. } => WebError::TooManyRequests(message),
            ServiceError::Store(crate::store::StoreError::Conflict(what)) => {
                WebError::Invalid(format!("{what} already exists"))
            }
            ServiceError::Store(crate::store::StoreError::Invalid(m)) => WebError::Invalid(m),
            ServiceError::Store(crate::store::StoreError::CannotWrite { message, .. }) => {
                WebError::Internal(message)
            }
            ServiceError::Store(e) => WebError::Internal(e.to_string()),
            ServiceError::Internal(m) => WebError::Internal(m),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            WebError::SignIn => return Redirect::to("/signin").into_response(),
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            WebError::BadSecurityToken => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "This form's security token is missing or out of date, so nothing was changed. \
                 Open the page again and send the form from there."
                    .to_owned(),
            ),
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            WebError::Invalid(m) => (StatusCode::BAD_REQUEST, "That did not work", m),
            WebError::TooManyRequests(m) => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", m),
            WebError::Internal(detail) => {
                tracing::error!(%detail, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side; it has been logged. Nothing you sent was lost: try again in a moment."
                        .to_owned(),
                )
            }
        };
        render_with_status(
            status,
            &ErrorPage {
                nav: None,
                heading,
                message: sentence(&message),
            },
        )
    }
}
