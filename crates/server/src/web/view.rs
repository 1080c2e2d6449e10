//! What every page shares: the navigation bar, rendering a template to a response, and the
//! little formatting the templates need (times in the site's zone, names for ids).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::BTreeMap;
use sync_core::protocol::Role;

use super::Visitor;
use crate::service::time;
use crate::store::Site;

/// The bar at the top of every signed-in page.
#[derive(Debug, Clone)]
pub struct Nav {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
    pub is_admin: bool,
    pub may_decide: bool,
    /// The page's path, to mark the current link.
    pub current: &'static str,
    /// What the last form post did, shown once after its redirect.
    pub notice: Option<String>,
}

impl Nav {
    pub fn new(visitor: &Visitor, current: &'static str) -> Self {
        Self {
            name: visitor.principal.name.clone(),
            role: role_label(visitor.principal.role),
            csrf: visitor.csrf.clone(),
            is_admin: visitor.principal.is_admin(),
            may_decide: visitor.principal.may_decide(),
            current,
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    /// `aria-current` for a link to `path`.
    pub fn is(&self, path: &str) -> bool {
        self.current == path
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Worker => "Worker",
        Role::Supervisor => "Supervisor",
        Role::Admin => "Office admin",
    }
}

pub fn render(page: &impl Template) -> Response {
    render_with_status(StatusCode::OK, page)
}

pub fn render_with_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; it has been logged",
            )
                .into_response()
        }
    }
}

/// Names and zones for the ids a page shows.
#[derive(Debug, Default)]
pub struct Directory {
    pub sites: BTreeMap<String, Site>,
    pub people: BTreeMap<String, String>,
}

impl Directory {
    pub fn site_name(&self, id: &str) -> String {
        self.sites
            .get(id)
            .map_or_else(|| id.to_owned(), |s| s.name.clone())
    }

    /// A person's name; an anonymous report's author stays anonymous.
    pub fn person(&self, id: &str) -> String {
        if id == sync_core::model::ANONYMOUS {
            return "Anonymous".into();
        }
        if id == crate::service::writes::SYSTEM_USER {
            return crate::service::actions::RAISED_AUTOMATICALLY.into();
        }
        self.people.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    pub fn zone(&self, site_id: &str) -> chrono_tz::Tz {
        time::zone_of(self.sites.get(site_id))
    }

    pub fn time(&self, site_id: &str, ms: i64) -> String {
        time::human(ms, self.zone(site_id))
    }
}

/// Fixed messages for the notices a redirect-after-post asks for (`?done=…`), so a link cannot
/// make a page say something the server did not.
pub fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "approved" => "Approved. The crew's phones receive the decision on their next sync.",
        "rejected" => "Rejected. The crew's phones receive the decision and your comment on their next sync.",
        "person_added" => "Person added. They can sign in on a phone or here now.",
        "person_changed" => "Saved.",
        "password_reset" => "Password reset. Their browser sessions were ended.",
        "disabled" => "Disabled. Their phones and browser sessions are signed out.",
        "enabled" => "Enabled. They can sign in again.",
        "device_revoked" => "Device revoked. It cannot sync again; its owner signs in on another phone.",
        "site_added" => "Site added.",
        "site_saved" => "Site saved.",
        "boundary_saved" => "Boundary saved. The site's records are being checked against it again.",
        "signed_out" => "You are signed out.",
        "company_created" => "Your company is set up. Sign in with the email and password you chose.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// A corrected time as a person reads it: local time, its uncertainty and what it rests on, or
/// "unverifiable" and why.
/// A record's evidence row as a page shows it: a moment in the site's zone, a person by name.
pub fn evidence_row(
    row: sync_core::kinds::EvidenceRow,
    directory: &Directory,
    zone: chrono_tz::Tz,
) -> (String, String) {
    let value = match (row.at_ms, &row.user_id) {
        (Some(ms), _) => time::human(ms, zone),
        (None, Some(user_id)) => directory.person(user_id),
        (None, None) => row.value,
    };
    (row.label, value)
}

pub fn describe_time(time: &sync_core::clock::TrustedTime, zone: chrono_tz::Tz) -> TimeView {
    use sync_core::clock::TimeBasis;
    let when = time::human(time.ms, zone);
    let basis = match time.basis {
        TimeBasis::Monotonic => "device clock, corrected at sync",
        TimeBasis::Gnss => "GPS satellite time",
        TimeBasis::Server => "server clock",
        TimeBasis::DeviceClock => "device clock only",
    };
    let seconds = (time.uncertainty_ms + 999) / 1000;
    let text = if time.verified {
        format!("{when} ± {seconds} s ({basis})")
    } else {
        format!("{when} (device clock, unverifiable)")
    };
    TimeView {
        text,
        why_unverified: (!time.verified).then(|| {
            time.note
                .clone()
                .unwrap_or_else(|| "nothing but the phone's own clock speaks for this time".into())
        }),
    }
}

#[derive(Debug, Clone)]
pub struct TimeView {
    pub text: String,
    /// Set when nothing but the phone's own clock speaks for the time.
    pub why_unverified: Option<String>,
}

/// Where an event happened against the site's boundary, in words; never by colour alone.
pub fn describe_place(place: Option<&sync_core::place::Place>) -> PlaceView {
    use sync_core::place::Place;
    let (verdict, text) = match place {
        None => ("unknown", "Not checked: the site has no boundary set".to_owned()),
        Some(Place::OnSite {
            distance_m,
            accuracy_m,
        }) if *distance_m <= 0.0 => (
            "on_site",
            format!("On site: inside the boundary (fix accurate to ±{accuracy_m:.0} m)"),
        ),
        Some(Place::OnSite {
            distance_m,
            accuracy_m,
        }) => (
            "on_site",
            format!("On site: {distance_m:.0} m outside the boundary, within the fix's ±{accuracy_m:.0} m"),
        ),
        Some(Place::OffSite {
            distance_m,
            accuracy_m,
        }) => (
            "off_site",
            format!("Off site: {distance_m:.0} m outside the boundary (fix accurate to ±{accuracy_m:.0} m)"),
        ),
        Some(Place::TooInaccurate {
            accuracy_m,
            threshold_m,
        }) => (
            "unknown",
            format!(
                "Unknown: the fix (±{accuracy_m:.0} m) is less accurate than the site's {threshold_m:.0} m limit"
            ),
        ),
        Some(Place::Mock) => (
            "unknown",
            "Unverifiable: the phone reported a mock location".to_owned(),
        ),
        Some(Place::NoFix) => ("unknown", "No GPS fix was taken".to_owned()),
    };
    PlaceView { verdict, text }
}

#[derive(Debug, Clone)]
pub struct PlaceView {
    /// `on_site`, `off_site` or `unknown`: a CSS hook; the text says the same in words.
    pub verdict: &'static str,
    pub text: String,
}

/// A query string of the non-empty pairs, for links that keep a list's filters.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    serde_html_form::to_string(&kept).unwrap_or_default()
}

/// The service's messages are written for the API (lower case, no full stop); a page shows them as
/// a sentence.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
