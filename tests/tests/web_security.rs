//! The web pages' security suite: every page and form of `server::web` refused to the wrong
//! caller, with the right answer and without a trace in the record store; markup typed on a phone
//! shown as text; the pages' security headers; the session cookie; the sign-in page's limits.
//!
//! Stances the suite pins down (the pages' side of `security.rs`):
//! - **No session, an expired one, a signed-out one**: every page and every form answers 303 to
//!   `/signin`. An expired session is ended in the store and stays ended when the clock goes back;
//!   a signed-out cookie replayed signs nobody in.
//! - **Another company's ids** answer exactly as ids nobody has: 404 "Not found" for an id in the
//!   path, the same refusal for one in a form or query, and a list never shows another company's
//!   data. 403 is never used for tenancy.
//! - **Roles**: a worker on a supervisor's or an admin's page or form, and a supervisor on an
//!   admin's, gets 403 "Not allowed".
//! - **CSRF**: a form post needs its own session's token (403 naming the security token
//!   otherwise), and a post another site sent (`Origin`, `Sec-Fetch-Site`) is refused even with a
//!   valid cookie and token.
//! - Every refused form would have done harm: the same requests from the least role allowed, sent
//!   last, all succeed and change the store.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use e2e_tests::{PASSWORD, Phone, TestServer, at};
use server::store::{NewUser, Scope};
use server::web::{IDLE_TIMEOUT_MS, MAX_SESSION_MS, SESSION_COOKIE};
use sync_core::kinds::corrective_action::CorrectiveAction;
use sync_core::model::Body;
use sync_core::parts::Assignment;
use sync_core::protocol::Role;
use sync_core::{ListFilter, sample};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Who may use a page or form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone signed in to the company.
    Member,
    Supervisor,
    Admin,
}

/// Where a page or form takes an id, if it takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForeignId {
    /// None: a page lists only the caller's company; a form without one is the caller's own
    /// business and is not sent with another company's session.
    None,
    /// An id in the path: 404 "Not found", as for an id nobody has.
    InPath,
    /// An id in the form: the same refusal as for an id nobody has.
    InForm,
}

/// The ids a request is made with: one company's, or ids nobody has.
#[derive(Debug, Clone)]
struct Ids {
    site: String,
    /// A completed JSEA waiting for approval.
    record: String,
    /// A worker.
    person: String,
    /// A phone.
    device: String,
    /// An open corrective action assigned to the worker.
    action: String,
    /// A unit in the equipment register.
    unit: String,
    /// An inspection schedule at the site.
    schedule: String,
    /// The company's signed policy.
    policy: String,
    /// A reported refusal at the site, naming the worker.
    refusal: String,
    /// A reported incident at the site.
    incident: String,
    /// A draft investigation of that incident.
    investigation: String,
}

impl Ids {
    fn made_up() -> Self {
        Self {
            site: "019a0000-0000-7000-8000-00000000beef".into(),
            record: "019a0000-0000-7000-8000-00000000cafe".into(),
            person: "019a0000-0000-7000-8000-00000000f00d".into(),
            device: "no-such-device".into(),
            action: "019a0000-0000-7000-8000-00000000acac".into(),
            unit: "NO-SUCH-UNIT".into(),
            schedule: "no-such-schedule".into(),
            policy: "019a0000-0000-7000-8000-00000000b0b0".into(),
            refusal: "019a0000-0000-7000-8000-00000000d0d0".into(),
            incident: "019a0000-0000-7000-8000-00000000e0e0".into(),
            investigation: "019a0000-0000-7000-8000-00000000a1a1".into(),
        }
    }

    /// `body` with these ids replaced by their names, to compare answers about different ids.
    fn neutral(&self, body: &str) -> String {
        body.replace(&self.site, "{site}")
            .replace(&self.record, "{record}")
            .replace(&self.person, "{person}")
            .replace(&self.device, "{device}")
            .replace(&self.action, "{action}")
            .replace(&self.unit, "{unit}")
            .replace(&self.policy, "{policy}")
            .replace(&self.refusal, "{refusal}")
            .replace(&self.incident, "{incident}")
            .replace(&self.investigation, "{investigation}")
    }
}

type Fields = Vec<(&'static str, String)>;

/// One row per page or form of `server::web::routes` (a test checks the table against them).
#[derive(Debug)]
struct Page {
    method: Method,
    path: &'static str,
    access: Access,
    foreign: ForeignId,
    /// Where the least role allowed lands: `""` for the page itself (200), else the start of the
    /// redirect's `Location`.
    lands: &'static str,
    /// The request with `path`'s `{id}` filled in, and the form's fields (without `csrf`): for the
    /// allowed caller, a change that succeeds.
    request: fn(&Ids) -> (String, Fields),
}

fn pages() -> Vec<Page> {
    use Access::*;
    use Method::*;
    let page = |method, path, access, foreign, lands, request| Page {
        method,
        path,
        access,
        foreign,
        lands,
        request,
    };
    vec![
        page(Get, "/", Member, ForeignId::None, "/records", |_| {
            ("/".into(), vec![])
        }),
        page(Get, "/approvals", Supervisor, ForeignId::None, "", |_| {
            ("/approvals".into(), vec![])
        }),
        page(Get, "/records", Member, ForeignId::None, "", |_| {
            ("/records".into(), vec![])
        }),
        page(Get, "/records.csv", Member, ForeignId::None, "", |_| {
            ("/records.csv".into(), vec![])
        }),
        page(Get, "/records/{id}", Member, ForeignId::InPath, "", |ids| {
            (format!("/records/{}", ids.record), vec![])
        }),
        page(Get, "/flags", Member, ForeignId::None, "", |_| {
            ("/flags".into(), vec![])
        }),
        page(Get, "/sites", Member, ForeignId::None, "", |_| {
            ("/sites".into(), vec![])
        }),
        page(Get, "/people", Admin, ForeignId::None, "", |_| {
            ("/people".into(), vec![])
        }),
        page(Get, "/devices", Admin, ForeignId::None, "", |_| {
            ("/devices".into(), vec![])
        }),
        page(Get, "/audit", Admin, ForeignId::None, "", |_| {
            ("/audit".into(), vec![])
        }),
        page(Get, "/readiness", Admin, ForeignId::None, "", |_| {
            ("/readiness?from=2026-01-01&to=2026-11-30".into(), vec![])
        }),
        page(Get, "/readiness.csv", Admin, ForeignId::None, "", |_| {
            ("/readiness.csv".into(), vec![])
        }),
        page(
            Post,
            "/approvals/{id}",
            Supervisor,
            ForeignId::InPath,
            "/approvals?done=approved",
            |ids| {
                let form = vec![("decision", "approved".into()), ("comment", "Looks right".into())];
                (format!("/approvals/{}", ids.record), form)
            },
        ),
        page(
            Post,
            "/sites",
            Admin,
            ForeignId::None,
            "/sites?done=site_added",
            |_| ("/sites".into(), vec![("name", "Intruder's site".into())]),
        ),
        page(
            Post,
            "/sites/{id}",
            Admin,
            ForeignId::InPath,
            "/sites?done=site_saved",
            |ids| {
                let form = vec![
                    ("name", "Renamed by someone else".into()),
                    ("time_zone", "America/Toronto".into()),
                ];
                (format!("/sites/{}", ids.site), form)
            },
        ),
        page(
            Post,
            "/sites/{id}/boundary",
            Admin,
            ForeignId::InPath,
            "/sites?done=boundary_saved",
            |ids| {
                let form = vec![
                    ("shape", "circle".into()),
                    ("lat", "10".into()),
                    ("lon", "10".into()),
                    ("radius_m", "50".into()),
                    ("polygon", String::new()),
                    ("max_accuracy_m", "100".into()),
                ];
                (format!("/sites/{}/boundary", ids.site), form)
            },
        ),
        page(
            Post,
            "/people",
            Admin,
            ForeignId::InForm,
            "/people?done=person_added",
            |ids| {
                let form = vec![
                    ("name", "Intruder".into()),
                    ("email", "intruder@acme.test".into()),
                    ("role", "admin".into()),
                    ("sites", ids.site.clone()),
                    ("password", "a long enough password".into()),
                ];
                ("/people".into(), form)
            },
        ),
        page(
            Post,
            "/people/{id}",
            Admin,
            ForeignId::InPath,
            "/people?done=password_reset",
            |ids| {
                // Taking over someone's account: the most harmful change a person's form makes.
                let form = vec![
                    ("action", "password".into()),
                    ("password", "taken over in 2026".into()),
                ];
                (format!("/people/{}", ids.person), form)
            },
        ),
        page(
            Post,
            "/devices/{id}/revoke",
            Admin,
            ForeignId::InPath,
            "/devices?done=device_revoked",
            |ids| (format!("/devices/{}/revoke", ids.device), vec![]),
        ),
        page(Get, "/inspections", Member, ForeignId::None, "", |_| {
            ("/inspections".into(), vec![])
        }),
        page(Get, "/inspections.csv", Member, ForeignId::None, "", |_| {
            ("/inspections.csv".into(), vec![])
        }),
        page(
            Post,
            "/inspections",
            Supervisor,
            ForeignId::InForm,
            "/inspections?done=schedule_added",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("title", "Intruder's rounds".into()),
                    ("items", "*Gate locked\nFence intact".into()),
                    ("frequency", "weekly".into()),
                    ("every_days", String::new()),
                    ("starts_on", "2026-11-02".into()),
                    ("assignee", ids.person.clone()),
                ];
                ("/inspections".into(), form)
            },
        ),
        page(
            Post,
            "/inspections/{id}/end",
            Supervisor,
            ForeignId::InPath,
            "/inspections?done=schedule_ended",
            |ids| (format!("/inspections/{}/end", ids.schedule), vec![]),
        ),
        page(Get, "/training", Member, ForeignId::None, "", |_| {
            ("/training".into(), vec![])
        }),
        page(Get, "/training.csv", Member, ForeignId::None, "", |_| {
            ("/training.csv".into(), vec![])
        }),
        page(Get, "/training/alerts", Member, ForeignId::None, "", |_| {
            ("/training/alerts".into(), vec![])
        }),
        page(
            Post,
            "/training/certificates",
            Admin,
            ForeignId::InForm,
            "/training?done=certificate_recorded",
            |ids| {
                let form = vec![
                    ("holder", ids.person.clone()),
                    ("certificate_type", "Forged ticket".into()),
                    ("number", "F-1".into()),
                    ("issuer", "Nobody".into()),
                    ("issued_on", "2026-01-05".into()),
                    ("expires_on", "2029-01-05".into()),
                    ("document_ref", String::new()),
                ];
                ("/training/certificates".into(), form)
            },
        ),
        page(Get, "/actions", Member, ForeignId::None, "", |_| {
            ("/actions".into(), vec![])
        }),
        page(Get, "/actions.csv", Member, ForeignId::None, "", |_| {
            ("/actions.csv".into(), vec![])
        }),
        page(Get, "/actions/{id}", Member, ForeignId::InPath, "", |ids| {
            (format!("/actions/{}", ids.action), vec![])
        }),
        page(
            Post,
            "/actions",
            Supervisor,
            ForeignId::InForm,
            "/actions?done=raised",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("hazard", "Intruder's hazard".into()),
                    ("action", "Intruder's action".into()),
                    ("assignee", ids.person.clone()),
                    ("due", "2026-12-31".into()),
                    ("unit", String::new()),
                    ("source", String::new()),
                ];
                ("/actions".into(), form)
            },
        ),
        // The worker resolves the action assigned to them; then a supervisor verifies it.
        page(
            Post,
            "/actions/{id}/resolve",
            Member,
            ForeignId::InPath,
            "/actions?done=resolved",
            |ids| {
                let form = vec![("note", "Refitted the guard".into())];
                (format!("/actions/{}/resolve", ids.action), form)
            },
        ),
        page(
            Post,
            "/actions/{id}/verify",
            Supervisor,
            ForeignId::InPath,
            "/actions?done=verified",
            |ids| {
                let form = vec![("outcome", "fixed".into()), ("comment", String::new())];
                (format!("/actions/{}/verify", ids.action), form)
            },
        ),
        page(Get, "/equipment", Member, ForeignId::None, "", |_| {
            ("/equipment".into(), vec![])
        }),
        page(Get, "/equipment.csv", Member, ForeignId::None, "", |_| {
            ("/equipment.csv".into(), vec![])
        }),
        page(
            Post,
            "/equipment",
            Supervisor,
            ForeignId::None,
            "/equipment?done=unit_added",
            |_| {
                let form = vec![
                    ("unit_id", "INTRUDER-1".into()),
                    ("make_model", "Intruder's loader".into()),
                    ("serial", String::new()),
                    ("equipment_type", String::new()),
                    ("required_certificates", String::new()),
                    ("hour_meter", String::new()),
                ];
                ("/equipment".into(), form)
            },
        ),
        page(
            Post,
            "/equipment/{id}",
            Supervisor,
            ForeignId::InPath,
            "/equipment?done=unit_saved",
            |ids| {
                let form = vec![
                    ("make_model", "Renamed by someone else".into()),
                    ("serial", String::new()),
                    ("equipment_type", String::new()),
                    ("required_certificates", String::new()),
                    ("hour_meter", "1".into()),
                ];
                (format!("/equipment/{}", ids.unit), form)
            },
        ),
        page(Get, "/policy", Member, ForeignId::None, "", |_| {
            ("/policy".into(), vec![])
        }),
        page(
            Post,
            "/policy",
            Admin,
            ForeignId::InForm,
            "/policy?done=policy_signed",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("title", "Forged policy".into()),
                    ("text", "Safety comes last.".into()),
                    ("covers", "legal_compliance".into()),
                ];
                ("/policy".into(), form)
            },
        ),
        page(
            Post,
            "/policy/{id}/review",
            Admin,
            ForeignId::InPath,
            "/policy?done=policy_reviewed",
            |ids| {
                (
                    format!("/policy/{}/review", ids.policy),
                    vec![("note", "Nothing checked".into())],
                )
            },
        ),
        page(Get, "/meetings", Member, ForeignId::None, "", |_| {
            ("/meetings".into(), vec![])
        }),
        page(
            Post,
            "/meetings",
            Supervisor,
            ForeignId::InForm,
            "/meetings?done=meeting_recorded",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("title", "Forged minutes".into()),
                    ("attendees", ids.person.clone()),
                    ("safety_items", "Nothing reviewed".into()),
                ];
                ("/meetings".into(), form)
            },
        ),
        page(Get, "/refusals", Member, ForeignId::None, "", |_| {
            ("/refusals".into(), vec![])
        }),
        page(
            Post,
            "/refusals",
            Supervisor,
            ForeignId::InForm,
            "/refusals?done=refusal_reported",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("worker", ids.person.clone()),
                    ("work_refused", "Forged refusal".into()),
                    ("hazard", "None".into()),
                    ("refused_on", "2026-11-20".into()),
                ];
                ("/refusals".into(), form)
            },
        ),
        page(
            Post,
            "/refusals/{id}/close",
            Supervisor,
            ForeignId::InPath,
            "/refusals?done=refusal_closed",
            |ids| {
                let form = vec![
                    ("inspection", "Not inspected at all".into()),
                    ("remedy", "Nothing".into()),
                    ("outcome", "no_undue_hazard".into()),
                    ("copies_given", "yes".into()),
                ];
                (format!("/refusals/{}/close", ids.refusal), form)
            },
        ),
        page(Get, "/incidents", Supervisor, ForeignId::None, "", |_| {
            ("/incidents".into(), vec![])
        }),
        page(
            Post,
            "/incidents",
            Supervisor,
            ForeignId::InForm,
            "/incidents?done=incident_reported",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("incident_type", "damage".into()),
                    ("occurred_on", "2026-11-20".into()),
                    ("description", "Forged incident".into()),
                    ("location", String::new()),
                    ("treatment", "none".into()),
                ];
                ("/incidents".into(), form)
            },
        ),
        page(
            Post,
            "/incidents/{id}/reportable",
            Supervisor,
            ForeignId::InPath,
            "/incidents?done=reportable_decided",
            |ids| {
                let form = vec![
                    ("decision", "not_reportable".into()),
                    ("reason", "Forged: nobody checked".into()),
                ];
                (format!("/incidents/{}/reportable", ids.incident), form)
            },
        ),
        page(
            Post,
            "/investigations",
            Supervisor,
            ForeignId::InForm,
            "/investigations/",
            |ids| {
                let form = vec![("root_causes", "Forged cause".into())];
                (format!("/investigations?subject={}", ids.incident), form)
            },
        ),
        page(
            Get,
            "/investigations/{id}",
            Supervisor,
            ForeignId::InPath,
            "",
            |ids| (format!("/investigations/{}", ids.investigation), vec![]),
        ),
        page(
            Post,
            "/investigations/{id}",
            Supervisor,
            ForeignId::InPath,
            "/investigations/",
            |ids| {
                let form = vec![("root_causes", "Forged cause".into())];
                (format!("/investigations/{}", ids.investigation), form)
            },
        ),
        page(Get, "/emergency-plans", Member, ForeignId::None, "", |_| {
            ("/emergency-plans".into(), vec![])
        }),
        page(
            Get,
            "/emergency-plans/new",
            Supervisor,
            ForeignId::InForm,
            "",
            |ids| (format!("/emergency-plans/new?site={}", ids.site), vec![]),
        ),
        page(
            Post,
            "/emergency-plans",
            Supervisor,
            ForeignId::InForm,
            "/emergency-plans?done=plan_current",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("contact_role", "Emergency services".into()),
                    ("contact_name", "Ambulance".into()),
                    ("contact_phone", "911".into()),
                    ("muster_name", "Forged muster point".into()),
                    ("muster_lat", "53.45".into()),
                    ("muster_lon", "-115.01".into()),
                    ("hospital", "Nowhere General".into()),
                    ("hospital_route", "Nowhere".into()),
                    ("equipment", "Nothing".into()),
                    ("first_aid", "None".into()),
                    ("rescue_evacuation", "None".into()),
                    ("alarms_communications", "None".into()),
                ];
                ("/emergency-plans".into(), form)
            },
        ),
        page(
            Post,
            "/drills",
            Supervisor,
            ForeignId::InForm,
            "/emergency-plans?done=drill_logged",
            |ids| {
                let form = vec![
                    ("site", ids.site.clone()),
                    ("drill_type", "drill".into()),
                    ("scenario", "Forged drill".into()),
                ];
                ("/drills".into(), form)
            },
        ),
        page(
            Post,
            "/signout",
            Member,
            ForeignId::None,
            "/signin?done=signed_out",
            |_| ("/signout".into(), vec![]),
        ),
    ]
}

/// Pages anyone may open: signing in, first-run set-up (refused once a company exists, checked
/// below) and the stylesheet.
const PUBLIC: [&str; 5] = [
    "GET /signin",
    "POST /signin",
    "GET /setup",
    "POST /setup",
    "GET /static/muster.css",
];

/// A browser session: the cookie's value and the CSRF token its pages carry.
#[derive(Debug, Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn token_hash(&self) -> String {
        server::auth::hash_refresh_token(&self.cookie)
    }
}

/// One answer: status, redirect target, headers and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The `muster_session` cookie this answer sets, with its attributes.
    fn session_cookie(&self) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
    }

    /// What the status and redirect say, for assertions: `303 /signin`, `403`, `200`.
    fn outcome(&self) -> String {
        match &self.location {
            Some(to) => format!("{} {to}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// A browser without a cookie jar that does not follow redirects. Building the sync client first
/// installs the process's TLS crypto provider, which reqwest asks for even for plain HTTP.
fn http() -> reqwest::Client {
    let _ = sync_core::sync::SyncClient::new(e2e_tests::quick_retries());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `application/x-www-form-urlencoded` escaping, as a browser does it.
fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".into(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A request as a browser on this server's own page sends it: a form post carries
/// `Origin: <server>` and `Sec-Fetch-Site: same-origin` unless `headers` says otherwise (an empty
/// value leaves the header out).
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, String)],
    headers: &[(&str, &str)],
) -> Answer {
    let http = http();
    let url = format!("{}{path}", server.url);
    let mut sent: Vec<(String, String)> = Vec::new();
    if method == Method::Post {
        sent.push(("origin".into(), server.url.clone()));
        sent.push(("sec-fetch-site".into(), "same-origin".into()));
    }
    for (name, value) in headers {
        sent.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            sent.push((name.to_ascii_lowercase(), (*value).to_owned()));
        }
    }
    let mut request = match method {
        Method::Get => http.get(&url),
        Method::Post => {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            http.post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        }
    };
    for (name, value) in &sent {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("{SESSION_COOKIE}={cookie}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Answer {
        status,
        location,
        headers,
        body,
    }
}

/// `fields` with a `csrf` field first.
fn with_csrf(csrf: &str, fields: &[(&'static str, String)]) -> Fields {
    let mut all = vec![("csrf", csrf.to_owned())];
    all.extend(fields.iter().cloned());
    all
}

/// The CSRF token in a signed-in page's forms.
fn csrf_of(html: &str) -> Option<String> {
    let (_, rest) = html.split_once(r#"name="csrf" value=""#)?;
    let token = rest.split('"').next()?;
    (!token.is_empty()).then(|| token.to_owned())
}

/// The value of a `Set-Cookie: muster_session=…; …` line.
fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.trim()
        .strip_prefix(&format!("{SESSION_COOKIE}="))
        .unwrap_or_default()
        .to_owned()
}

/// The attributes of a `Set-Cookie` line, lower-cased (`httponly`, `samesite=lax`, `path=/`).
fn cookie_attributes(set_cookie: &str) -> BTreeSet<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

async fn post_sign_in(server: &TestServer, email: &str, password: &str, headers: &[(&str, &str)]) -> Answer {
    let form = vec![("email", email.to_owned()), ("password", password.to_owned())];
    send(server, Method::Post, "/signin", None, &form, headers).await
}

/// Signs `email` in as a browser does and reads the CSRF token off a signed-in page.
async fn sign_in(server: &TestServer, email: &str) -> Session {
    let answer = post_sign_in(server, email, PASSWORD, &[]).await;
    assert_eq!(answer.outcome(), "303 /", "{email} signs in: {}", answer.body);
    let set = answer.session_cookie().expect("a session cookie");
    let cookie = cookie_value(&set);
    assert!(cookie.len() >= 32, "a long random session token: {set}");
    let page = send(server, Method::Get, "/records", Some(&cookie), &[], &[]).await;
    assert_eq!(page.status, 200, "{email} opens the records: {}", page.body);
    let csrf = csrf_of(&page.body).expect("a CSRF token in the page");
    Session { cookie, csrf }
}

async fn sign_out(server: &TestServer, session: &Session) {
    let answer = send(
        server,
        Method::Post,
        "/signout",
        Some(&session.cookie),
        &with_csrf(&session.csrf, &[]),
        &[],
    )
    .await;
    assert_eq!(answer.outcome(), "303 /signin?done=signed_out", "{}", answer.body);
    let gone = answer.session_cookie().expect("the cookie is cleared");
    assert_eq!(cookie_value(&gone), "", "{gone}");
}

/// A record's status as the server stores it.
fn status_of(server: &TestServer, tenant: &str, id: &str) -> String {
    let scope = Scope {
        tenant_id: tenant.into(),
        user_id: "web-security-suite".into(),
        role: Role::Admin,
        sites: vec![],
    };
    server
        .store()
        .list_records(&scope, &ListFilter::default())
        .expect("records")
        .into_iter()
        .find(|r| r.id == id)
        .expect("the record")
        .status
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// A server whose clock is the wall clock plus an offset the test moves.
async fn server_with_clock(adjust: impl FnOnce(&mut server::AppState)) -> (TestServer, Arc<AtomicI64>) {
    let offset = Arc::new(AtomicI64::new(0));
    let clock = offset.clone();
    let server = TestServer::start_with(move |s| {
        s.clock = Arc::new(move || wall_ms() + clock.load(Ordering::SeqCst));
        adjust(s);
    })
    .await;
    (server, offset)
}

/// Acme's people (names are the emails' first parts, unlike anything of the other company's).
const LEAD: &str = "avery.acme@acme.test";
const HELPER: &str = "harper.acme@acme.test";
const SUPER: &str = "sasha.acme@acme.test";
const ADMIN: &str = "olive.acme@acme.test";
const OTHER_CREW: &str = "casey.other@other.test";
const OTHER_ADMIN: &str = "blake.other@other.test";
const ACME_TASK: &str = "Acme only: swap the 7-B separator";

/// Two companies on one server. Acme has a completed JSEA waiting for approval, a phone, and a
/// session for each kind of caller; the other company has its own record, phone and admin.
struct World {
    server: TestServer,
    /// Added to the server's clock.
    offset: Arc<AtomicI64>,
    acme: Ids,
    acme_tenant: String,
    tenants: Vec<String>,
    /// Acme's data as it could appear in a page: the other company must never see any of it.
    acme_markers: Vec<String>,
    worker: Session,
    supervisor: Session,
    admin: Session,
    /// The same admin signed in from a second browser.
    admin_elsewhere: Session,
    other_admin: Session,
    signed_out: Session,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let (server, offset) = server_with_clock(|_| {}).await;
    let acme = server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (HELPER, Role::Worker, &[1]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let other = server.company(
        "Other Oilfield",
        &[(OTHER_CREW, Role::Worker, &[0]), (OTHER_ADMIN, Role::Admin, &[])],
    );
    // Site names of its own: the harness names every company's sites "Site A" and "Site B".
    for (site, name) in [(&acme.site_a, "Acme North Pad"), (&acme.site_b, "Acme South Pad")] {
        assert!(
            server
                .store()
                .update_site(&acme.id, site, name, "America/Edmonton", "system")
                .expect("rename")
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut jsea = sample::jsea();
    jsea.task = ACME_TASK.into();
    let record = lead
        .store
        .create(&acme.site_a, None, Body::Jsea(jsea), at(1))
        .expect("jsea");
    lead.store.sign(&record, at(2)).expect("sign");
    lead.store.complete(&record, at(3)).expect("complete");
    let action = lead
        .store
        .create(
            &acme.site_a,
            None,
            Body::CorrectiveAction(CorrectiveAction::new(
                "Acme only: the 7-B pump's coupling guard is missing",
                "Refit the coupling guard",
                Assignment {
                    assignee: lead.user_id(),
                    due_ms: Some(at(3).wall_ms + 7 * 86_400_000),
                },
                at(3).wall_ms,
            )),
            at(3),
        )
        .expect("action");
    lead.store.complete(&action, at(3)).expect("raise");
    assert_eq!(lead.sync().await.accepted, 2);
    server
        .store()
        .add_equipment_unit(
            &acme.id,
            &server::store::EquipmentUnit {
                unit_id: "ACME-LD-3".into(),
                make_model: "Cat 950 loader".into(),
                serial: None,
                equipment_type: "Loader".into(),
                required_certificates: vec![],
                hour_meter: None,
                added_at_ms: 1,
                added_by: "system".into(),
                added_from_record: None,
                retired: false,
            },
            &server::store::AuditNote {
                user_id: "system".into(),
                action: "equipment.added".into(),
                detail: "ACME-LD-3".into(),
            },
        )
        .expect("unit");
    server
        .store()
        .create_inspection_schedule(&server::store::InspectionSchedule {
            id: "acme-weekly-walk".into(),
            tenant_id: acme.id.clone(),
            site_id: acme.site_a.clone(),
            title: "Acme weekly walk".into(),
            checklist: vec![server::store::ChecklistTemplateItem {
                label: "Gate locked".into(),
                critical: false,
            }],
            rrule: "FREQ=WEEKLY".into(),
            starts_at_ms: at(0).wall_ms,
            assignee: lead.user_id(),
            created_by: "system".into(),
            created_at_ms: at(0).wall_ms,
            ended_at_ms: None,
        })
        .expect("schedule");
    let mut crew = Phone::sign_in(&server, &dir, OTHER_CREW).await;
    crew.store
        .create(
            &other.site_a,
            None,
            Body::NearMiss(sample::near_miss(at(4).wall_ms)),
            at(4),
        )
        .expect("near miss");
    assert_eq!(crew.sync().await.accepted, 1);
    assert_eq!(status_of(&server, &acme.id, &record), "completed");

    let store = server.store();
    let helper = store.user_by_email(HELPER).expect("lookup").expect("helper");
    let (policy, refusal, incident, investigation) =
        program_records(&server, &mut lead, &acme.site_a, &helper.id).await;
    let ids = Ids {
        site: acme.site_a.clone(),
        record: record.clone(),
        person: helper.id,
        device: lead.store.device_id().to_owned(),
        action,
        unit: "ACME-LD-3".into(),
        schedule: "acme-weekly-walk".into(),
        policy,
        refusal,
        incident,
        investigation,
    };
    let mut acme_markers = vec![
        acme.id.clone(),
        record,
        ACME_TASK.to_owned(),
        ids.device.clone(),
        ids.action.clone(),
        "the 7-B pump's coupling guard".to_owned(),
        ids.policy.clone(),
        ids.refusal.clone(),
        ids.incident.clone(),
        ids.investigation.clone(),
        "Acme only:".to_owned(),
    ];
    for user in store.users(&acme.id).expect("users") {
        acme_markers.extend([user.id, user.name, user.email]);
    }
    for site in store.sites(&acme.id).expect("sites") {
        acme_markers.extend([site.id, site.name]);
    }

    let signed_out = sign_in(&server, ADMIN).await;
    sign_out(&server, &signed_out).await;
    let ended = store
        .session(&signed_out.token_hash())
        .expect("lookup")
        .expect("the session is kept");
    assert!(
        ended.ended_at_ms.is_some(),
        "sign-out ends the session in the store"
    );

    World {
        worker: sign_in(&server, LEAD).await,
        supervisor: sign_in(&server, SUPER).await,
        admin: sign_in(&server, ADMIN).await,
        admin_elsewhere: sign_in(&server, ADMIN).await,
        other_admin: sign_in(&server, OTHER_ADMIN).await,
        signed_out,
        server,
        offset,
        acme: ids,
        acme_tenant: acme.id.clone(),
        tenants: vec![acme.id, other.id],
        acme_markers,
        _dir: dir,
    }
}

/// Acme's program records the program pages act on: a signed policy, a reported refusal, an
/// incident reported on the lead's phone and a draft investigation of it.
async fn program_records(
    server: &TestServer,
    lead: &mut Phone,
    site: &str,
    worker: &str,
) -> (String, String, String, String) {
    use server::service::{Principal, incidents, leadership};
    use sync_core::kinds::incident::{Incident, IncidentType};
    let principal = |email: &str| {
        Principal::of(
            &server
                .store()
                .user_by_email(email)
                .expect("lookup")
                .expect("user"),
        )
    };
    let policy = leadership::write_policy(
        &server.state,
        &principal(ADMIN),
        leadership::NewPolicy {
            site_id: site.into(),
            title: "Acme only: Health and Safety Policy".into(),
            text: "Acme puts safety first.".into(),
            covers: vec!["commitment_and_goals".into()],
        },
    )
    .await
    .expect("policy");
    let refusal = leadership::report_refusal(
        &server.state,
        &principal(SUPER),
        leadership::NewRefusal {
            site_id: site.into(),
            worker_id: worker.into(),
            work_refused: "Acme only: entering the flare knockout drum".into(),
            hazard: "No gas test".into(),
            refused_ms: at(0).wall_ms,
        },
    )
    .await
    .expect("refusal");
    let incident = lead
        .store
        .create(
            site,
            None,
            Body::Incident(Incident::new(
                IncidentType::Damage,
                at(4).wall_ms,
                "Acme only: the picker's outrigger cracked a culvert lid",
                lead.user_id(),
            )),
            at(4),
        )
        .expect("incident");
    lead.store.complete(&incident, at(5)).expect("reported");
    assert_eq!(lead.sync().await.accepted, 1);
    let investigation = incidents::start_investigation(
        &server.state,
        &principal(SUPER),
        &incident,
        incidents::InvestigationForm::default(),
    )
    .await
    .expect("investigation");
    (policy, refusal, incident, investigation)
}

impl World {
    /// `page`'s request with `ids`, sent with `cookie` and, in the form, `csrf`.
    async fn call(
        &self,
        page: &Page,
        ids: &Ids,
        cookie: Option<&str>,
        csrf: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let (path, fields) = (page.request)(ids);
        let fields = match csrf {
            Some(csrf) => with_csrf(csrf, &fields),
            None => fields,
        };
        send(&self.server, page.method, &path, cookie, &fields, headers).await
    }

    /// The first of Acme's markers in `body`, other than the ids the request itself named.
    fn acme_data_in(&self, body: &str, asked_for: &Ids) -> Option<String> {
        let asked = [
            &asked_for.site,
            &asked_for.record,
            &asked_for.person,
            &asked_for.device,
            &asked_for.action,
            &asked_for.unit,
        ];
        self.acme_markers
            .iter()
            .filter(|m| !asked.contains(m))
            .find(|m| body.contains(m.as_str()))
            .cloned()
    }
}

#[test]
fn the_page_table_covers_every_route_of_the_pages() {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/server/src/web/mod.rs"
    ))
    .expect("the pages' routes");
    let mut routed = BTreeSet::new();
    // Each `.route(` call, however rustfmt wrapped it: up to the next call on the router.
    for call in source.split(".route(").skip(1) {
        let call = call.split(".layer(").next().unwrap_or(call).trim_start();
        let Some(rest) = call.strip_prefix('"') else {
            continue;
        };
        let path = rest.split('"').next().expect("a path");
        let handlers = rest.split_once(',').map_or("", |(_, h)| h);
        if handlers.trim_start().starts_with("get(") {
            routed.insert(format!("GET {path}"));
        }
        if handlers.contains("post(") {
            routed.insert(format!("POST {path}"));
        }
    }
    assert!(routed.len() > 10, "the routes were read: {routed:?}");
    let mut tabled: BTreeSet<String> = pages()
        .iter()
        .map(|p| {
            let method = if p.method == Method::Get { "GET" } else { "POST" };
            format!("{method} {}", p.path)
        })
        .collect();
    tabled.extend(PUBLIC.iter().map(|p| (*p).to_owned()));
    assert_eq!(
        routed, tabled,
        "every page and form needs a row in this suite's table (and every row a route)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_form_refuses_the_wrong_caller_and_keeps_no_trace() {
    let w = world().await;
    let server = &w.server;
    let tenants: Vec<&str> = w.tenants.iter().map(String::as_str).collect();
    let made_up = Ids::made_up();
    let before = server.snapshot(&tenants);
    let mut checked = 0;

    for page in pages() {
        let name = format!(
            "{} {}",
            if page.method == Method::Get { "GET" } else { "POST" },
            page.path
        );
        let is_form = page.method == Method::Post;

        // No session, or one signed out: sign in (again). A form carries a real token all the same.
        for (who, cookie, csrf) in [
            ("no session", None, Some(w.admin.csrf.as_str())),
            (
                "a signed-out session",
                Some(w.signed_out.cookie.as_str()),
                Some(w.signed_out.csrf.as_str()),
            ),
            (
                "a made-up session",
                Some("bm90LWEtc2Vzc2lvbi10b2tlbi1hdC1hbGwtYXQtYWxs"),
                Some(w.admin.csrf.as_str()),
            ),
        ] {
            let csrf = if is_form { csrf } else { None };
            let answer = w.call(&page, &w.acme, cookie, csrf, &[]).await;
            assert_eq!(
                answer.outcome(),
                "303 /signin",
                "{name} with {who}: {}",
                answer.body
            );
            assert!(
                w.acme_data_in(&answer.body, &Ids::made_up()).is_none(),
                "{name} with {who} shows nothing"
            );
            checked += 1;
        }

        // A lower role, with its own valid session and token.
        let lower: &[(&str, &Session)] = match page.access {
            Access::Admin => &[("a worker", &w.worker), ("a supervisor", &w.supervisor)],
            Access::Supervisor => &[("a worker", &w.worker)],
            Access::Member => &[],
        };
        for (who, session) in lower {
            let csrf = is_form.then_some(session.csrf.as_str());
            let answer = w.call(&page, &w.acme, Some(&session.cookie), csrf, &[]).await;
            assert_eq!(answer.outcome(), "403", "{name} by {who}: {}", answer.body);
            assert!(
                answer.body.contains("Not allowed"),
                "{name} by {who}: {}",
                answer.body
            );
            checked += 1;
        }

        // The other company's admin, who may do everything in their own company, with Acme's ids.
        let other = &w.other_admin;
        let other_csrf = is_form.then_some(other.csrf.as_str());
        match (page.foreign, page.method) {
            (ForeignId::None, Method::Post) => {}
            (ForeignId::None, Method::Get) => {
                let answer = w.call(&page, &w.acme, Some(&other.cookie), None, &[]).await;
                assert!(
                    answer.status == 200 || answer.status == 303,
                    "{name} by the other company's admin: {}",
                    answer.outcome()
                );
                if let Some(leak) = w.acme_data_in(&answer.body, &made_up) {
                    panic!(
                        "{name} shows the other company's admin Acme's {leak:?}:\n{}",
                        answer.body
                    );
                }
                checked += 1;
            }
            (ForeignId::InPath | ForeignId::InForm, _) => {
                let foreign = w.call(&page, &w.acme, Some(&other.cookie), other_csrf, &[]).await;
                let nobodys = w
                    .call(&page, &made_up, Some(&other.cookie), other_csrf, &[])
                    .await;
                if page.foreign == ForeignId::InPath {
                    assert_eq!(
                        foreign.outcome(),
                        "404",
                        "{name} with Acme's id, by the other company's admin: {}",
                        foreign.body
                    );
                    assert!(foreign.body.contains("Not found"), "{name}: {}", foreign.body);
                } else {
                    assert!(
                        (400..500).contains(&foreign.status) && foreign.status != 403,
                        "{name} with Acme's id in the form, by the other company's admin: {}",
                        foreign.outcome()
                    );
                }
                assert_eq!(
                    (foreign.outcome(), w.acme.neutral(&foreign.body)),
                    (nobodys.outcome(), made_up.neutral(&nobodys.body)),
                    "{name}: Acme's id must look like an id nobody has"
                );
                if let Some(leak) = w.acme_data_in(&foreign.body, &w.acme) {
                    panic!(
                        "{name} shows the other company's admin Acme's {leak:?}:\n{}",
                        foreign.body
                    );
                }
                checked += 1;
            }
        }

        if !is_form {
            continue;
        }
        let admin = &w.admin;

        // The session's own token, and no other, in the form.
        for (what, csrf) in [
            ("no security token", None),
            ("an empty security token", Some("")),
            (
                "the same person's token from another browser",
                Some(w.admin_elsewhere.csrf.as_str()),
            ),
            ("another person's token", Some(w.worker.csrf.as_str())),
            ("the session cookie as the token", Some(admin.cookie.as_str())),
        ] {
            let answer = w.call(&page, &w.acme, Some(&admin.cookie), csrf, &[]).await;
            assert_eq!(answer.outcome(), "403", "{name} with {what}: {}", answer.body);
            assert!(
                answer.body.contains("security token"),
                "{name} with {what}: {}",
                answer.body
            );
            checked += 1;
        }

        // Sent from another site: refused even with the admin's cookie and token.
        let other_port = "http://127.0.0.1:1";
        for (what, headers) in [
            (
                "Origin: https://evil.example",
                &[("origin", "https://evil.example"), ("sec-fetch-site", "")][..],
            ),
            (
                "Origin: https://evil.example and Sec-Fetch-Site: cross-site",
                &[
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "cross-site"),
                ][..],
            ),
            (
                "Sec-Fetch-Site: cross-site",
                &[("sec-fetch-site", "cross-site")][..],
            ),
            (
                "Sec-Fetch-Site: same-site",
                &[("sec-fetch-site", "same-site")][..],
            ),
            ("Origin: null", &[("origin", "null"), ("sec-fetch-site", "")][..]),
            (
                "an Origin on another port",
                &[("origin", other_port), ("sec-fetch-site", "")][..],
            ),
        ] {
            let answer = w
                .call(&page, &w.acme, Some(&admin.cookie), Some(&admin.csrf), headers)
                .await;
            assert_eq!(answer.outcome(), "403", "{name} with {what}: {}", answer.body);
            assert!(
                answer.body.contains("Not allowed"),
                "{name} with {what}: {}",
                answer.body
            );
            checked += 1;
        }
    }

    // First-run set-up is closed once a company exists.
    let guess = "not-the-setup-token";
    let answer = send(
        server,
        Method::Get,
        &format!("/setup?token={guess}"),
        None,
        &[],
        &[],
    )
    .await;
    assert_eq!(answer.outcome(), "403", "{}", answer.body);
    let form = vec![
        ("token", guess.to_owned()),
        ("company", "Takeover Ltd".to_owned()),
        ("name", "Mallory".to_owned()),
        ("email", "mallory@evil.example".to_owned()),
        ("password", "a long enough password".to_owned()),
    ];
    let answer = send(server, Method::Post, "/setup", None, &form, &[]).await;
    assert_eq!(answer.outcome(), "403", "{}", answer.body);
    checked += 2;

    let after = server.snapshot(&tenants);
    assert!(
        before == after,
        "refused requests changed the store:\nbefore {before:#}\nafter {after:#}"
    );
    // The same, said plainly.
    let store = server.store();
    assert_eq!(status_of(server, &w.acme_tenant, &w.acme.record), "completed");
    assert!(
        store
            .user_by_email("intruder@acme.test")
            .expect("lookup")
            .is_none()
    );
    assert!(
        store
            .user_by_email("mallory@evil.example")
            .expect("lookup")
            .is_none()
    );
    let site = store
        .site(&w.acme_tenant, &w.acme.site)
        .expect("lookup")
        .expect("site");
    assert_eq!((site.name.as_str(), &site.geofence), ("Acme North Pad", &None));
    assert!(
        store
            .device(&w.acme.device)
            .expect("lookup")
            .expect("device")
            .revoked_at_ms
            .is_none()
    );
    for session in [&w.admin, &w.worker, &w.supervisor, &w.other_admin] {
        let page = send(server, Method::Get, "/records", Some(&session.cookie), &[], &[]).await;
        assert_eq!(page.status, 200, "no refused sign-out ended a session");
    }
    assert!(checked > 150, "{checked} refusals checked");
    w.server.stop().await;
}

/// Another company's ids in a list's query find nothing, just as ids nobody has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_companys_ids_in_a_query_find_nothing() {
    let w = world().await;
    let made_up = Ids::made_up();
    let queries: [fn(&Ids) -> String; 6] = [
        |ids| format!("/records?site={}", ids.site),
        |ids| format!("/records?person={}", ids.person),
        |ids| {
            format!(
                "/records?site={}&person={}&status=completed&kind=jsea",
                ids.site, ids.person
            )
        },
        |ids| format!("/records.csv?site={}", ids.site),
        |ids| format!("/records.csv?person={}", ids.person),
        |ids| format!("/records.csv?site={}&status=completed&kind=jsea", ids.site),
    ];
    let cookie = Some(w.other_admin.cookie.as_str());
    for query in queries {
        let foreign_path = query(&w.acme);
        let foreign = send(&w.server, Method::Get, &foreign_path, cookie, &[], &[]).await;
        let nobodys = send(&w.server, Method::Get, &query(&made_up), cookie, &[], &[]).await;
        assert_eq!(foreign.outcome(), "200", "{foreign_path}: {}", foreign.body);
        assert_eq!(
            w.acme.neutral(&foreign.body),
            made_up.neutral(&nobodys.body),
            "{foreign_path}: the same page as for ids nobody has"
        );
        if let Some(leak) = w.acme_data_in(&foreign.body, &w.acme) {
            panic!("{foreign_path} shows Acme's {leak:?}:\n{}", foreign.body);
        }
    }
    w.server.stop().await;
}

/// Sessions left idle past `IDLE_TIMEOUT_MS` end on their next use, on every page and form, and
/// stay ended when the clock goes back. The only trace is each session's end in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends_on_every_page_and_form_and_stays_ended() {
    let w = world().await;
    let server = &w.server;
    let tenants: Vec<&str> = w.tenants.iter().map(String::as_str).collect();
    let mut idle = Vec::new();
    for _ in pages() {
        idle.push(sign_in(server, ADMIN).await);
    }
    let mut before = server.snapshot(&tenants);

    for (page, session) in pages().iter().zip(&idle) {
        let csrf = (page.method == Method::Post).then_some(session.csrf.as_str());
        w.offset.store(IDLE_TIMEOUT_MS + 1_000, Ordering::SeqCst);
        let answer = w.call(page, &w.acme, Some(&session.cookie), csrf, &[]).await;
        assert_eq!(
            answer.outcome(),
            "303 /signin",
            "{} when idle: {}",
            page.path,
            answer.body
        );
        w.offset.store(0, Ordering::SeqCst);
        let again = w.call(page, &w.acme, Some(&session.cookie), csrf, &[]).await;
        assert_eq!(
            again.outcome(),
            "303 /signin",
            "{} with the clock back: {}",
            page.path,
            again.body
        );
        let stored = server
            .store()
            .session(&session.token_hash())
            .expect("lookup")
            .expect("kept");
        assert!(stored.ended_at_ms.is_some(), "{}: ended in the store", page.path);
    }

    let mut after = server.snapshot(&tenants);
    let acme = w.acme_tenant.as_str();
    let audit_before = before[acme]["audit"].take();
    let audit_after = after[acme]["audit"].take();
    assert_eq!(before, after, "idle sessions changed nothing but the audit log");
    let seen: Vec<&serde_json::Value> = audit_before.as_array().expect("audit").iter().collect();
    let new: Vec<&serde_json::Value> = audit_after
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| !seen.contains(e))
        .collect();
    assert_eq!(new.len(), idle.len(), "one entry per session ended: {new:#?}");
    for entry in new {
        assert_eq!(
            (entry["action"].as_str(), entry["detail"].as_str()),
            (Some("web.sign_out"), Some("idle timeout")),
            "{entry}"
        );
    }
    assert_eq!(status_of(server, acme, &w.acme.record), "completed");
    // The sessions in use all along carry on.
    let page = send(server, Method::Get, "/people", Some(&w.admin.cookie), &[], &[]).await;
    assert_eq!(page.status, 200);
    w.server.stop().await;
}

/// A session kept busy still ends after `MAX_SESSION_MS`; a disabled person's session ends at
/// once; signing in again from the same browser ends the session it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_sessions_end_after_a_working_day_and_disabled_people_are_signed_out() {
    let (server, offset) = server_with_clock(|_| {}).await;
    server.company(
        "Acme Energy",
        &[(LEAD, Role::Worker, &[0]), (ADMIN, Role::Admin, &[])],
    );
    let busy = sign_in(&server, ADMIN).await;
    let step = IDLE_TIMEOUT_MS - 60_000;
    let mut elapsed = 0;
    while elapsed + step < MAX_SESSION_MS {
        elapsed += step;
        offset.store(elapsed, Ordering::SeqCst);
        let page = send(&server, Method::Get, "/records", Some(&busy.cookie), &[], &[]).await;
        assert_eq!(page.status, 200, "still in use after {elapsed} ms");
    }
    offset.store(MAX_SESSION_MS + 1_000, Ordering::SeqCst);
    let page = send(&server, Method::Get, "/records", Some(&busy.cookie), &[], &[]).await;
    assert_eq!(
        page.outcome(),
        "303 /signin",
        "a session lasts a working day at most"
    );
    offset.store(0, Ordering::SeqCst);
    let page = send(&server, Method::Get, "/records", Some(&busy.cookie), &[], &[]).await;
    assert_eq!(page.outcome(), "303 /signin", "and stays ended");

    let admin = sign_in(&server, ADMIN).await;
    let worker = sign_in(&server, LEAD).await;
    let lead = server.store().user_by_email(LEAD).expect("lookup").expect("lead");
    let phones = tempfile::tempdir().expect("dir");
    let mut phone = Phone::sign_in(&server, &phones, LEAD).await;
    phone.sync().await;
    let answer = send(
        &server,
        Method::Post,
        &format!("/people/{}", lead.id),
        Some(&admin.cookie),
        &with_csrf(&admin.csrf, &[("action", "disable".into())]),
        &[],
    )
    .await;
    assert_eq!(answer.outcome(), "303 /people?done=disabled", "{}", answer.body);
    let page = send(&server, Method::Get, "/records", Some(&worker.cookie), &[], &[]).await;
    assert_eq!(page.outcome(), "303 /signin", "a disabled person's session ends");
    let answer = post_sign_in(&server, LEAD, PASSWORD, &[]).await;
    assert_eq!(
        answer.status, 401,
        "a disabled person cannot sign in: {}",
        answer.body
    );
    assert!(answer.body.contains(r#"role="alert""#), "{}", answer.body);
    assert!(answer.session_cookie().is_none());
    assert!(
        phone.client.sync(&mut phone.store, &|_| {}).await.is_err(),
        "a disabled person's phone cannot sync"
    );

    // Enabled again, they sign in on the same phone: it was signed out, not revoked.
    let answer = send(
        &server,
        Method::Post,
        &format!("/people/{}", lead.id),
        Some(&admin.cookie),
        &with_csrf(&admin.csrf, &[("action", "enable".into())]),
        &[],
    )
    .await;
    assert_eq!(answer.outcome(), "303 /people?done=enabled", "{}", answer.body);
    let device_id = phone.store.device_id().to_owned();
    drop(phone);
    let mut phone = Phone::sign_in(&server, &phones, LEAD).await;
    assert_eq!(phone.store.device_id(), device_id, "the same phone");
    phone.sync().await;

    // Signing in again with the old cookie still in the browser ends the old session.
    let form = vec![("email", ADMIN.to_owned()), ("password", PASSWORD.to_owned())];
    let again = send(&server, Method::Post, "/signin", Some(&admin.cookie), &form, &[]).await;
    assert_eq!(again.outcome(), "303 /", "{}", again.body);
    let page = send(&server, Method::Get, "/records", Some(&admin.cookie), &[], &[]).await;
    assert_eq!(page.outcome(), "303 /signin", "the old session ended");
    server.stop().await;
}

/// The same requests the suite refuses, from the least role allowed, all succeed: every refusal
/// above stood between a caller and a real change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refused_requests_succeed_for_the_right_caller() {
    let w = world().await;
    let server = &w.server;
    let store = server.store();
    let helper_before = store.user_by_email(HELPER).expect("lookup").expect("helper");
    for page in pages() {
        let session = match page.access {
            Access::Member => &w.worker,
            Access::Supervisor => &w.supervisor,
            Access::Admin => &w.admin,
        };
        let csrf = (page.method == Method::Post).then_some(session.csrf.as_str());
        let answer = w.call(&page, &w.acme, Some(&session.cookie), csrf, &[]).await;
        if page.lands.is_empty() {
            assert_eq!(answer.outcome(), "200", "{}: {}", page.path, answer.body);
        } else {
            assert_eq!(answer.status, 303, "{}: {}", page.path, answer.body);
            // A form that makes a record lands on that record's own page: its id is new.
            let location = answer.location.as_deref().unwrap_or_default();
            if page.lands.ends_with('/') {
                assert!(location.starts_with(page.lands), "{}: {location}", page.path);
            } else {
                assert_eq!(location, page.lands, "{}", page.path);
            }
        }
    }
    let tenant = &w.acme_tenant;
    assert_eq!(status_of(server, tenant, &w.acme.record), "approved");
    assert!(
        store
            .user_by_email("intruder@acme.test")
            .expect("lookup")
            .is_some()
    );
    let site = store.site(tenant, &w.acme.site).expect("lookup").expect("site");
    assert_eq!(site.name, "Renamed by someone else");
    assert!(site.geofence.is_some());
    assert!(
        store
            .sites(tenant)
            .expect("sites")
            .iter()
            .any(|s| s.name == "Intruder's site")
    );
    let helper = store.user_by_email(HELPER).expect("lookup").expect("helper");
    assert_ne!(helper.password_hash, helper_before.password_hash);
    let device = store.device(&w.acme.device).expect("lookup").expect("device");
    assert!(device.revoked_at_ms.is_some());
    let page = send(server, Method::Get, "/records", Some(&w.worker.cookie), &[], &[]).await;
    assert_eq!(page.outcome(), "303 /signin", "the worker signed out");
    w.server.stop().await;
}

/// Within a company, a supervisor reaches only the JSEAs of their own sites and a worker only
/// what their sites share: another site's JSEA is "Not found" and in no list, and cannot be
/// decided on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_and_a_worker_reach_only_their_own_sites() {
    const SITE_B_TASK: &str = "Site B only: pig the east line";
    let server = TestServer::start().await;
    let acme = server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (HELPER, Role::Worker, &[1]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut helper = Phone::sign_in(&server, &dir, HELPER).await;
    let mut jsea = sample::jsea();
    jsea.task = SITE_B_TASK.into();
    let id = helper
        .store
        .create(&acme.site_b, None, Body::Jsea(jsea), at(1))
        .expect("jsea");
    helper.store.sign(&id, at(2)).expect("sign");
    helper.store.complete(&id, at(3)).expect("complete");
    assert_eq!(helper.sync().await.accepted, 1);
    let tenants = [acme.id.as_str()];
    let before = server.snapshot(&tenants);

    for (who, email, lists) in [
        (
            "site A's supervisor",
            SUPER,
            &["/", "/approvals", "/records", "/records.csv", "/flags", "/sites"][..],
        ),
        (
            "a worker at site A",
            LEAD,
            &["/", "/records", "/records.csv", "/flags", "/sites"][..],
        ),
    ] {
        let session = sign_in(&server, email).await;
        let cookie = Some(session.cookie.as_str());
        for path in lists {
            let answer = send(&server, Method::Get, path, cookie, &[], &[]).await;
            assert!(answer.status == 200 || answer.status == 303, "{path} by {who}");
            for hidden in [SITE_B_TASK, id.as_str()] {
                assert!(!answer.body.contains(hidden), "{path} shows {who} site B's JSEA");
            }
        }
        let answer = send(&server, Method::Get, &format!("/records/{id}"), cookie, &[], &[]).await;
        assert_eq!(
            answer.outcome(),
            "404",
            "site B's JSEA for {who}: {}",
            answer.body
        );
        assert!(!answer.body.contains(SITE_B_TASK));
        let decide = with_csrf(
            &session.csrf,
            &[("decision", "approved".into()), ("comment", String::new())],
        );
        let answer = send(
            &server,
            Method::Post,
            &format!("/approvals/{id}"),
            cookie,
            &decide,
            &[],
        )
        .await;
        let expected = if email == SUPER { "404" } else { "403" };
        assert_eq!(
            answer.outcome(),
            expected,
            "{who} decides on site B's JSEA: {}",
            answer.body
        );
    }
    let after = server.snapshot(&tenants);
    let without_audit = |mut s: serde_json::Value| {
        s[&acme.id]["audit"].take();
        s
    };
    assert_eq!(
        without_audit(before),
        without_audit(after),
        "nothing but the sign-ins changed"
    );
    assert_eq!(status_of(&server, &acme.id, &id), "completed");
    server.stop().await;
}

/// `text` escaped in `body`, with either spelling of the entities: named (`&lt;`) or numeric
/// (`&#60;`, askama's).
fn shown_as_text(body: &str, text: &str) -> bool {
    let named = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let numeric = text
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    body.contains(&named) || body.contains(&numeric)
}

/// Markup typed on a phone or into a form is shown as text on every page that shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_from_phones_and_forms_is_shown_as_text() {
    const TASK: &str = "<script>alert(1)</script>";
    const NAME: &str = "<img src=x onerror=alert(1)>";
    const MUSTER: &str = "\"><script>alert(2)</script>";
    const COMMENT: &str = "<script>alert(3)</script>";
    const SITE: &str = "x\" autofocus onfocus=\"alert(4)";
    const FORMULA: &str = "=HYPERLINK(\"https://evil.example\",\"open\")";
    let server = TestServer::start().await;
    let acme = server.company(
        "Acme Energy",
        &[(SUPER, Role::Supervisor, &[0]), (ADMIN, Role::Admin, &[])],
    );
    let store = server.store();
    store
        .create_user(
            &acme.id,
            NewUser {
                email: "img@acme.test".into(),
                name: NAME.into(),
                role: Role::Worker,
                password_hash: server::auth::hash_password(PASSWORD).expect("hash"),
                sites: vec![acme.site_a.clone()],
            },
            "system",
        )
        .expect("user");
    let dir = tempfile::tempdir().expect("dir");
    let mut phone = Phone::sign_in(&server, &dir, "img@acme.test").await;
    let mut jsea = sample::jsea();
    jsea.task = TASK.into();
    jsea.muster_point = MUSTER.into();
    let id = phone
        .store
        .create(&acme.site_a, None, Body::Jsea(jsea), at(1))
        .expect("jsea");
    phone.store.sign(&id, at(2)).expect("sign");
    phone.store.complete(&id, at(3)).expect("complete");
    assert_eq!(phone.sync().await.accepted, 1);

    let supervisor = sign_in(&server, SUPER).await;
    let admin = sign_in(&server, ADMIN).await;
    let worker = sign_in(&server, "img@acme.test").await;
    let raw = ["<script>alert", "<img src=x", "\"><script", "\" autofocus"];
    let check = |what: &str, answer: &Answer, shown: &[&str]| {
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        for markup in raw {
            assert!(
                !answer.body.contains(markup),
                "{what} has raw markup {markup:?}:\n{}",
                answer.body
            );
        }
        for text in shown {
            assert!(
                shown_as_text(&answer.body, text),
                "{what} shows {text:?} as text:\n{}",
                answer.body
            );
        }
    };
    let get = |path: String, session: &Session| {
        let cookie = session.cookie.clone();
        let server = &server;
        async move { send(server, Method::Get, &path, Some(&cookie), &[], &[]).await }
    };
    let record = format!("/records/{id}");
    check(
        "/approvals",
        &get("/approvals".into(), &supervisor).await,
        &[TASK, NAME, MUSTER],
    );
    check("/records", &get("/records".into(), &admin).await, &[TASK, NAME]);
    check(&record, &get(record.clone(), &admin).await, &[TASK, NAME]);
    check("/people", &get("/people".into(), &admin).await, &[NAME]);
    check("/sites", &get("/sites".into(), &admin).await, &[TASK, MUSTER]);
    check("/devices", &get("/devices".into(), &admin).await, &[NAME]);
    check("/audit", &get("/audit".into(), &admin).await, &[NAME]);
    check("/flags", &get("/flags".into(), &admin).await, &[]);
    check(
        "the worker's own /records",
        &get("/records".into(), &worker).await,
        &[NAME],
    );

    // A rejection's comment and a site's name, typed into the pages' own forms.
    let answer = send(
        &server,
        Method::Post,
        &format!("/approvals/{id}"),
        Some(&supervisor.cookie),
        &with_csrf(
            &supervisor.csrf,
            &[("decision", "rejected".into()), ("comment", COMMENT.into())],
        ),
        &[],
    )
    .await;
    assert_eq!(
        answer.outcome(),
        "303 /approvals?done=rejected",
        "{}",
        answer.body
    );
    let answer = send(
        &server,
        Method::Post,
        &format!("/sites/{}", acme.site_a),
        Some(&admin.cookie),
        &with_csrf(
            &admin.csrf,
            &[("name", SITE.into()), ("time_zone", "America/Edmonton".into())],
        ),
        &[],
    )
    .await;
    assert_eq!(answer.outcome(), "303 /sites?done=site_saved", "{}", answer.body);
    check(&record, &get(record.clone(), &admin).await, &[COMMENT]);
    check(
        "/sites after the rename",
        &get("/sites".into(), &admin).await,
        &[SITE],
    );
    check(
        "/records after the rename",
        &get("/records".into(), &admin).await,
        &[SITE],
    );
    check(
        "/people after the rename",
        &get("/people".into(), &admin).await,
        &[SITE],
    );

    // In the spreadsheet export a cell that would run as a formula is text.
    let mut jsea = sample::jsea();
    jsea.task = FORMULA.into();
    phone
        .store
        .create(&acme.site_a, None, Body::Jsea(jsea), at(10))
        .expect("jsea");
    assert_eq!(phone.sync().await.accepted, 1);
    let csv = get("/records.csv".into(), &admin).await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("'=HYPERLINK("), "{}", csv.body);
    for line in csv.body.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(!cell.starts_with(['=', '+', '@']), "a formula cell: {line}");
        }
    }
    server.stop().await;
}

/// What a case sends: its name, method, path, session cookie, form and extra headers.
type Case<'a> = (
    &'a str,
    Method,
    String,
    Option<&'a str>,
    Fields,
    Vec<(&'a str, &'a str)>,
);

/// Every page, redirect and refusal carries the headers that keep pages unframed, script-free,
/// uncached and unsniffed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_refusal_carries_the_security_headers() {
    let w = world().await;
    let server = &w.server;
    let admin = Some(w.admin.cookie.as_str());
    let worker = Some(w.worker.cookie.as_str());
    let mut answers: Vec<(String, Answer)> = Vec::new();
    for page in pages().iter().filter(|p| p.method == Method::Get) {
        let session = if page.access == Access::Member && page.path == "/" {
            worker
        } else {
            admin
        };
        let (path, _) = (page.request)(&w.acme);
        let answer = send(server, Method::Get, &path, session, &[], &[]).await;
        assert!(
            answer.status == 200 || answer.status == 303,
            "{path}: {}",
            answer.outcome()
        );
        answers.push((format!("GET {path}"), answer));
    }
    let cases: Vec<Case> = vec![
        (
            "the sign-in page",
            Method::Get,
            "/signin".into(),
            None,
            vec![],
            vec![],
        ),
        (
            "a redirect to sign in",
            Method::Get,
            "/records".into(),
            None,
            vec![],
            vec![],
        ),
        (
            "403 for a role",
            Method::Get,
            "/people".into(),
            worker,
            vec![],
            vec![],
        ),
        (
            "404",
            Method::Get,
            format!("/records/{}", Ids::made_up().record),
            admin,
            vec![],
            vec![],
        ),
        (
            "400",
            Method::Get,
            "/records?kind=nonsense".into(),
            admin,
            vec![],
            vec![],
        ),
        (
            "403 for a missing token",
            Method::Post,
            "/sites".into(),
            admin,
            vec![("name", "x".into())],
            vec![],
        ),
        (
            "403 for another site",
            Method::Post,
            "/sites".into(),
            admin,
            vec![("csrf", w.admin.csrf.clone()), ("name", "x".into())],
            vec![("origin", "https://evil.example")],
        ),
        (
            "401 for a wrong password",
            Method::Post,
            "/signin".into(),
            None,
            vec![("email", ADMIN.into()), ("password", "wrong".into())],
            vec![],
        ),
        (
            "the set-up page refused",
            Method::Get,
            "/setup?token=x".into(),
            None,
            vec![],
            vec![],
        ),
    ];
    for (what, method, path, cookie, fields, headers) in cases {
        let answer = send(server, method, &path, cookie, &fields, &headers).await;
        answers.push((format!("{what} ({})", answer.outcome()), answer));
    }
    let stylesheet = send(server, Method::Get, "/static/muster.css", None, &[], &[]).await;
    assert_eq!(stylesheet.status, 200);
    answers.push(("the stylesheet".to_owned(), stylesheet));

    let expected = [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
    ];
    for (what, answer) in &answers {
        let csp = answer.header("content-security-policy").unwrap_or_else(|| {
            panic!("{what}: no Content-Security-Policy");
        });
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert!(directives.contains(&"frame-ancestors 'none'"), "{what}: {csp}");
        assert!(directives.contains(&"default-src 'none'"), "{what}: {csp}");
        assert!(!csp.contains("'unsafe-inline'"), "{what}: {csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{what}: {csp}");
        assert!(!csp.contains("script-src"), "{what}: no script allowed: {csp}");
        for (name, value) in expected {
            assert_eq!(answer.header(name), Some(value), "{what}: {name}");
        }
        if what != "the stylesheet" {
            assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
        }
    }
    // Pages are HTML and the export is CSV, each said outright (nosniff relies on it).
    for (what, answer) in &answers {
        let content_type = answer.header("content-type").unwrap_or_default();
        if answer.status == 303 {
            continue;
        }
        if what == "the stylesheet" {
            assert!(content_type.starts_with("text/css"), "{what}: {content_type}");
        } else if what.contains(".csv") {
            assert!(content_type.starts_with("text/csv"), "{what}: {content_type}");
            let disposition = answer.header("content-disposition").unwrap_or_default();
            assert!(
                disposition.starts_with("attachment"),
                "{what}: a download: {disposition}"
            );
        } else {
            assert!(content_type.starts_with("text/html"), "{what}: {content_type}");
        }
    }
    w.server.stop().await;
}

/// The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure exactly when the browser came over
/// TLS; a new random value at every sign-in, whatever cookie the browser brought.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_httponly_lax_and_secure_over_tls() {
    let server = TestServer::start().await;
    server.company("Acme Energy", &[(ADMIN, Role::Admin, &[])]);
    for (what, headers, secure) in [
        ("plain HTTP", &[][..], false),
        (
            "X-Forwarded-Proto: http",
            &[("x-forwarded-proto", "http")][..],
            false,
        ),
        (
            "X-Forwarded-Proto: https",
            &[("x-forwarded-proto", "https")][..],
            true,
        ),
        (
            "X-Forwarded-Proto: HTTPS",
            &[("x-forwarded-proto", "HTTPS")][..],
            true,
        ),
    ] {
        let answer = post_sign_in(&server, ADMIN, PASSWORD, headers).await;
        assert_eq!(answer.outcome(), "303 /", "{what}: {}", answer.body);
        let set = answer.session_cookie().expect("a session cookie");
        let attributes = cookie_attributes(&set);
        for wanted in ["httponly", "samesite=lax", "path=/"] {
            assert!(attributes.contains(wanted), "{what}: {wanted} in {set}");
        }
        assert_eq!(attributes.contains("secure"), secure, "{what}: Secure in {set}");
        assert!(
            !attributes.iter().any(|a| a.starts_with("domain=")),
            "{what}: a host-only cookie: {set}"
        );
        // Signing out clears it with the same attributes.
        let cookie = cookie_value(&set);
        let page = send(&server, Method::Get, "/records", Some(&cookie), &[], &[]).await;
        let session = Session {
            csrf: csrf_of(&page.body).expect("csrf"),
            cookie,
        };
        let answer = send(
            &server,
            Method::Post,
            "/signout",
            Some(&session.cookie),
            &with_csrf(&session.csrf, &[]),
            headers,
        )
        .await;
        assert_eq!(answer.outcome(), "303 /signin?done=signed_out", "{what}");
        let gone = answer.session_cookie().expect("the cookie is cleared");
        let attributes = cookie_attributes(&gone);
        assert_eq!(cookie_value(&gone), "", "{what}: {gone}");
        assert!(
            attributes.contains("max-age=0") || attributes.iter().any(|a| a.starts_with("expires=")),
            "{what}: the cookie expires: {gone}"
        );
        for wanted in ["httponly", "samesite=lax", "path=/"] {
            assert!(attributes.contains(wanted), "{what}: {wanted} in {gone}");
        }
        assert_eq!(attributes.contains("secure"), secure, "{what}: Secure in {gone}");
    }

    // A cookie planted before sign-in is never adopted: sign-in issues a new random token.
    let planted = "cGxhbnRlZC1ieS1hbi1hdHRhY2tlci0wMTIzNDU2Nzg5";
    let answer = send(
        &server,
        Method::Post,
        "/signin",
        Some(planted),
        &[("email", ADMIN.into()), ("password", PASSWORD.into())],
        &[],
    )
    .await;
    let set = answer.session_cookie().expect("a session cookie");
    assert_ne!(cookie_value(&set), planted);
    let first = sign_in(&server, ADMIN).await;
    let second = sign_in(&server, ADMIN).await;
    assert_ne!(first.cookie, second.cookie);
    assert_ne!(first.csrf, second.csrf, "each session has its own CSRF token");
    assert_ne!(first.csrf, first.cookie);
    server.stop().await;

    // A server told its browsers come over HTTPS marks the cookie Secure whatever the headers say.
    let server = TestServer::start_with(|s| s.secure_cookies = true).await;
    server.company("Acme Energy", &[(ADMIN, Role::Admin, &[])]);
    let answer = post_sign_in(&server, ADMIN, PASSWORD, &[("x-forwarded-proto", "http")]).await;
    let set = answer.session_cookie().expect("a session cookie");
    assert!(cookie_attributes(&set).contains("secure"), "{set}");
    server.stop().await;
}

/// The JSON API authenticates by bearer token only: the browser's session cookie opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_ignores_the_session_cookie() {
    let w = world().await;
    for path in ["/v1/records", "/v1/sites", "/v1/admin/users", "/v1/admin/audit"] {
        let answer = send(&w.server, Method::Get, path, Some(&w.admin.cookie), &[], &[]).await;
        assert_eq!(
            answer.status, 401,
            "GET {path} with only the cookie: {}",
            answer.body
        );
        let body: serde_json::Value = serde_json::from_str(&answer.body).expect("a JSON error");
        assert_eq!(body["error"]["code"], "token_missing", "{path}: {body}");
    }
    w.server.stop().await;
}

/// Wrong passwords on the sign-in page: 401 with an alert; then the API's per-account limit, shared
/// with the API: 429 with the reason, even for the right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures_are_shown_and_rate_limited_like_the_apis() {
    let server = TestServer::start_with(|s| s.rate_limits.login_failures_per_account = 3).await;
    let company = server.company(
        "Acme Energy",
        &[(ADMIN, Role::Admin, &[]), (LEAD, Role::Worker, &[0])],
    );
    let before = server.snapshot(&[&company.id]);
    for guess in ["password1", "letmein", "acme2026"] {
        let answer = post_sign_in(&server, ADMIN, guess, &[]).await;
        assert_eq!(answer.status, 401, "{guess}: {}", answer.body);
        assert!(answer.body.contains(r#"role="alert""#), "{}", answer.body);
        assert!(
            answer.body.contains("Email or password is wrong."),
            "{}",
            answer.body
        );
        assert!(answer.body.contains(ADMIN), "the email is kept in the form");
        assert!(!answer.body.contains(guess), "the password is never echoed");
        assert!(
            answer.session_cookie().is_none(),
            "no session for a wrong password"
        );
    }
    for password in ["hunter2", PASSWORD] {
        let answer = post_sign_in(&server, ADMIN, password, &[]).await;
        assert_eq!(answer.status, 429, "locked: {}", answer.body);
        assert!(answer.body.contains(r#"role="alert""#), "{}", answer.body);
        assert!(
            answer.body.contains("wrong passwords for this account") && answer.body.contains("try again in"),
            "the reason: {}",
            answer.body
        );
        assert!(answer.session_cookie().is_none(), "no session while locked");
    }
    // The API's sign-in for the same account is locked too: one limit for both doors.
    let response = http()
        .post(format!("{}/v1/auth/login", server.url))
        .json(
            &serde_json::json!({"email": ADMIN, "password": PASSWORD, "device_id": "web-guesser",
            "device_name": "guesser"}),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 429);
    // Another account is not locked by this one's failures.
    let answer = post_sign_in(&server, LEAD, PASSWORD, &[]).await;
    assert_eq!(answer.outcome(), "303 /");
    // A sign-in form posted from another site is refused before the password is checked.
    let answer = post_sign_in(&server, LEAD, PASSWORD, &[("origin", "https://evil.example")]).await;
    assert_eq!(answer.outcome(), "403", "{}", answer.body);
    assert!(answer.session_cookie().is_none());
    let after = server.snapshot(&[&company.id]);
    let audit = |s: &serde_json::Value| s[&company.id]["audit"].as_array().expect("audit").len();
    assert_eq!(
        audit(&after),
        audit(&before) + 1,
        "only the worker's sign-in is logged"
    );
    server.stop().await;

    // Guessing across accounts from one address is locked out too.
    let server = TestServer::start_with(|s| s.rate_limits.login_failures_per_address = 3).await;
    server.company("Acme Energy", &[(ADMIN, Role::Admin, &[])]);
    for n in 0..3 {
        let answer = post_sign_in(&server, &format!("user{n}@acme.test"), "Summer2026!", &[]).await;
        assert_eq!(answer.status, 401);
    }
    let answer = post_sign_in(&server, ADMIN, PASSWORD, &[]).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.body.contains("from this address"), "{}", answer.body);
    assert!(answer.body.contains(r#"role="alert""#));
    server.stop().await;
}
