//! Browser sessions at the HTTP edge: the sign-in page, the session token in an HttpOnly,
//! SameSite=Lax cookie (Secure when served over TLS), sign-out, and the per-session CSRF token
//! every form post must carry. When a session starts, resumes and ends is `service::sessions`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::error::WebError;
use super::view::{Nav, notice, render_with_status, sentence};
use crate::AppState;
use crate::ratelimit::ClientAddress;
use crate::service::{Principal, ServiceError, identity, sessions};

pub const SESSION_COOKIE: &str = "muster_session";

/// The signed-in person behind a page request.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub principal: Principal,
    /// This session's CSRF token, put in every form the page shows.
    pub csrf: String,
    token_hash: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .ok_or(WebError::SignIn)?
            .value()
            .to_owned();
        let resumed = sessions::resume(state, &token).await?.ok_or(WebError::SignIn)?;
        Ok(Visitor {
            principal: resumed.principal,
            csrf: resumed.csrf,
            token_hash: resumed.token_hash,
        })
    }
}

/// A form posted from a signed-in page: the session's, with its CSRF token checked (in constant
/// time) before the form is read.
#[derive(Debug)]
pub struct Posted<T> {
    pub visitor: Visitor,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| WebError::Invalid(format!("the form could not be read: {}", e.body_text())))?;
        let offered = serde_html_form::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf)
            .unwrap_or_default();
        if !bool::from(offered.as_bytes().ct_eq(visitor.csrf.as_bytes())) {
            return Err(WebError::BadSecurityToken);
        }
        let form = serde_html_form::from_bytes(&bytes)
            .map_err(|e| WebError::Invalid(format!("the form could not be read: {e}")))?;
        Ok(Posted { visitor, form })
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    nav: Option<Nav>,
    email: String,
    alert: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    done: Option<String>,
}

pub async fn sign_in_page(
    visitor: Result<Visitor, WebError>,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    if visitor.is_ok() {
        return Redirect::to("/").into_response();
    }
    render_with_status(
        StatusCode::OK,
        &SignInPage {
            nav: None,
            email: String::new(),
            alert: None,
            notice: notice(query.done.as_deref()),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    jar: CookieJar,
    axum::extract::Form(form): axum::extract::Form<SignInForm>,
) -> Response {
    let email = form.email.trim().to_owned();
    let user = match identity::check_password(&state, &email, &form.password, address).await {
        Ok(user) => user,
        Err(e) => {
            let (status, alert) = match e {
                ServiceError::Unauthenticated { message, .. } => (StatusCode::UNAUTHORIZED, message),
                ServiceError::TooManyRequests { message, .. } => (StatusCode::TOO_MANY_REQUESTS, message),
                other => return WebError::from(other).into_response(),
            };
            let page = SignInPage {
                nav: None,
                email,
                alert: Some(sentence(&alert)),
                notice: None,
            };
            return render_with_status(status, &page);
        }
    };
    let previous = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    let started = match sessions::start(&state, &user, previous.as_deref()).await {
        Ok(started) => started,
        Err(e) => return WebError::from(e).into_response(),
    };
    let cookie = session_cookie(&state, &headers, started.token);
    (jar.add(cookie), Redirect::to("/")).into_response()
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Posted { visitor, .. }: Posted<NoFields>,
) -> Response {
    if let Err(e) = sessions::end(&state, &visitor.token_hash).await {
        return WebError::from(e).into_response();
    }
    let gone = session_cookie(&state, &headers, String::new());
    (jar.remove(gone), Redirect::to("/signin?done=signed_out")).into_response()
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Lax (no other site's form or
/// subrequest carries it), for the whole site, Secure over TLS.
fn session_cookie(state: &AppState, headers: &HeaderMap, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(served_over_tls(state, headers))
        .path("/")
        .build()
}

/// Whether the browser reached us over TLS: the server's own setting, or a TLS-terminating proxy
/// saying so (this only ever makes the cookie stricter).
fn served_over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A form with nothing but its CSRF token (sign-out, revoke).
#[derive(Debug, Deserialize)]
pub struct NoFields {}
