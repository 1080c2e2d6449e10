//! Browser sessions: the sign-in page, a random session token in an HttpOnly, SameSite=Lax cookie
//! (Secure when served over TLS), stored only as its SHA-256; an idle timeout and a longest
//! lifetime; sign-out that ends the session in the store, so a copied cookie signs nobody in
//! afterwards; and a per-session CSRF token every form post must carry.

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
use super::view::{Nav, notice, render_with_status};
use crate::AppState;
use crate::auth;
use crate::ratelimit::ClientAddress;
use crate::service::{Principal, ServiceError, identity};
use crate::store::WebSession;

pub const SESSION_COOKIE: &str = "muster_session";
/// A session unused this long is ended: a browser left open in a site trailer signs itself out.
pub const IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// However busy, a session ends after a working day.
pub const MAX_SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// A session's last use is written at most this often.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

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
        let token_hash = auth::hash_refresh_token(&token);
        let now = (state.clock)();
        let store = state.store.clone();
        let found = {
            let token_hash = token_hash.clone();
            crate::service::blocking(move || {
                let Some(session) = store.session(&token_hash)? else {
                    return Ok(None);
                };
                if session.ended_at_ms.is_some() {
                    return Ok(None);
                }
                let ended_because = if now - session.last_seen_at_ms > IDLE_TIMEOUT_MS {
                    Some("idle timeout")
                } else if now - session.created_at_ms > MAX_SESSION_MS {
                    Some("session lifetime reached")
                } else {
                    None
                };
                let user = store.user(&session.tenant_id, &session.user_id)?;
                let ended_because = ended_because.or(match &user {
                    None => Some("account removed"),
                    Some(u) if u.disabled => Some("account disabled"),
                    Some(_) => None,
                });
                if let Some(reason) = ended_because {
                    store.end_session(&token_hash, now, reason)?;
                    return Ok(None);
                }
                if now - session.last_seen_at_ms > TOUCH_EVERY_MS {
                    store.touch_session(&token_hash, now)?;
                }
                Ok(user.map(|user| (Principal::of(&user), session.csrf_token)))
            })
            .await
            .map_err(WebError::from)?
        };
        let (principal, csrf) = found.ok_or(WebError::SignIn)?;
        Ok(Visitor {
            principal,
            csrf,
            token_hash,
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
                alert: Some(alert),
                notice: None,
            };
            return render_with_status(status, &page);
        }
    };
    let (token, token_hash) = auth::new_refresh_token();
    let (csrf, _) = auth::new_refresh_token();
    let now = (state.clock)();
    let session = WebSession {
        token_hash,
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_token: csrf,
        created_at_ms: now,
        last_seen_at_ms: now,
        ended_at_ms: None,
    };
    let store = state.store.clone();
    // A session the browser still held ends here: one browser, one session.
    let previous = jar
        .get(SESSION_COOKIE)
        .map(|c| auth::hash_refresh_token(c.value()));
    let saved = crate::service::blocking(move || {
        if let Some(previous) = previous {
            store.end_session(&previous, now, "signed in again")?;
        }
        Ok(store.create_session(&session)?)
    })
    .await;
    if let Err(e) = saved {
        return WebError::from(e).into_response();
    }
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(served_over_tls(&state, &headers))
        .path("/")
        .build();
    (jar.add(cookie), Redirect::to("/")).into_response()
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Posted { visitor, .. }: Posted<NoFields>,
) -> Response {
    let store = state.store.clone();
    let now = (state.clock)();
    let token_hash = visitor.token_hash.clone();
    if let Err(e) =
        crate::service::blocking(move || Ok(store.end_session(&token_hash, now, "signed out")?)).await
    {
        return WebError::from(e).into_response();
    }
    let gone = Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(served_over_tls(&state, &headers))
        .path("/")
        .build();
    (jar.remove(gone), Redirect::to("/signin?done=signed_out")).into_response()
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
