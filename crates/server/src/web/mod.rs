//! The office and supervisor pages: server-rendered askama templates (checked at compile time),
//! plain forms with redirect-after-post, no script and nothing fetched at run time. Handlers stay
//! thin over the service layer; a browser signs in with a session cookie (`session`), never a
//! bearer token, and every form post carries the session's CSRF token.

mod actions;
mod admin;
mod approvals;
mod emergency;
mod equipment;
mod error;
mod flags;
mod incidents;
mod inspections;
mod leadership;
mod readiness;
mod records;
mod session;
mod setup;
mod sites;
mod training;
mod view;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use crate::service::sessions::{IDLE_TIMEOUT_MS, MAX_SESSION_MS};
pub use error::WebError;
pub use records::csv_response;
pub use session::{SESSION_COOKIE, Visitor};

use crate::AppState;

/// Largest form body a page accepts.
const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The pages' routes, merged into the server's router.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(session::sign_in_page).post(session::sign_in))
        .route("/signout", post(session::sign_out))
        .route("/setup", get(setup::page).post(setup::create))
        .route("/approvals", get(approvals::queue))
        .route("/approvals/{id}", post(approvals::decide))
        .route("/records", get(records::list))
        .route("/records.csv", get(records::csv))
        .route("/records/{id}", get(records::detail))
        .route("/flags", get(flags::list))
        .route("/sites", get(sites::list).post(sites::create))
        .route("/sites/{id}", post(sites::update))
        .route("/sites/{id}/boundary", post(sites::set_boundary))
        .route("/people", get(admin::people).post(admin::add_person))
        .route("/people/{id}", post(admin::change_person))
        .route("/devices", get(admin::devices))
        .route("/devices/{id}/revoke", post(admin::revoke_device))
        .route("/audit", get(admin::audit))
        .route("/inspections", get(inspections::page).post(inspections::add))
        .route("/inspections.csv", get(inspections::csv))
        .route("/inspections/{id}/end", post(inspections::end))
        .route("/training", get(training::matrix))
        .route("/training.csv", get(training::csv))
        .route("/training/alerts", get(training::alerts))
        .route("/training/certificates", post(training::record_certificate))
        .route("/actions", get(actions::list).post(actions::raise))
        .route("/actions.csv", get(actions::csv))
        .route("/actions/{id}", get(actions::detail))
        .route("/actions/{id}/resolve", post(actions::resolve))
        .route("/actions/{id}/verify", post(actions::verify))
        .route("/equipment", get(equipment::list).post(equipment::add))
        .route("/equipment.csv", get(equipment::csv))
        .route("/equipment/{id}", post(equipment::update))
        .route("/policy", get(leadership::policy).post(leadership::write_policy))
        .route("/policy/{id}/review", post(leadership::review_policy))
        .route(
            "/meetings",
            get(leadership::meetings).post(leadership::record_meeting),
        )
        .route(
            "/refusals",
            get(leadership::refusals).post(leadership::report_refusal),
        )
        .route("/refusals/{id}/close", post(leadership::close_refusal))
        .route("/incidents", get(incidents::list).post(incidents::report))
        .route("/incidents/{id}/reportable", post(incidents::decide_reportable))
        .route("/investigations", post(incidents::start))
        .route("/investigations/{id}", get(incidents::show).post(incidents::save))
        .route(
            "/emergency-plans",
            get(emergency::list).post(emergency::write_plan),
        )
        .route("/emergency-plans/new", get(emergency::new_plan))
        .route("/drills", post(emergency::log_drill))
        .route("/readiness", get(readiness::page))
        .route("/readiness.csv", get(readiness::csv))
        .route("/static/muster.css", get(stylesheet))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(axum::middleware::from_fn(same_origin_posts))
        .with_state(state)
}

/// Supervisors land on their approval queue, everyone else on the records.
async fn home(visitor: Visitor) -> Redirect {
    if visitor.principal.may_decide() {
        Redirect::to("/approvals")
    } else {
        Redirect::to("/records")
    }
}

const STYLESHEET: &str = include_str!("../../static/muster.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// No script runs, nothing loads from elsewhere and no page is framed. The referrer policy is
/// `same-origin`: a link to another site never tells it which record was open, while this
/// server's own form posts keep the `Origin` header the CSRF check reads (`no-referrer` would make
/// browsers send `Origin: null`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Set on every answer of the server (pages, JSON and the fallbacks alike).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages hold a company's records: never kept by a shared cache or the back button's store.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A form post from another site is refused before anything reads it: the browser says where a
/// request came from (`Sec-Fetch-Site`, `Origin`), and only this server's own pages may post. The
/// per-session CSRF token is checked as well, by each form's extractor.
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let headers = request.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross_site = matches!(fetch_site, Some(site) if site != "same-origin" && site != "none");
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let foreign_origin = match (origin, host) {
            // Browsers send `Origin: null` from sandboxed and privacy-sensitive contexts.
            (Some(origin), Some(host)) => origin_host(origin) != Some(host),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if cross_site || foreign_origin {
            return WebError::Forbidden(
                "this form was sent from another site; open the page here and send it again".into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// `host[:port]` of an `Origin` header (`https://example.com:8443`).
fn origin_host(origin: &str) -> Option<&str> {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_names_its_host_and_port() {
        assert_eq!(origin_host("http://127.0.0.1:8080"), Some("127.0.0.1:8080"));
        assert_eq!(origin_host("https://muster.example"), Some("muster.example"));
        assert_eq!(origin_host("null"), None);
    }
}
