//! The security suite: every endpoint of `server::app` refused to the wrong caller, with the right
//! status and without a trace in the record store.
//!
//! Stances the suite pins down:
//! - **Another company's ids** answer exactly as an id that does not exist: 404 for an id in the
//!   path, the same 4xx (or the same empty list) for an id in the body or query, the same sync
//!   answer for a push. Existence is never revealed, and 403 is never used for tenancy. Record
//!   ids are each company's own: a new record pushed under an id another company uses is a
//!   record of the pusher's company, and the other company's record is untouched.
//! - **Roles**: a worker or supervisor on an admin endpoint, or a worker deciding on a JSEA, gets 403.
//! - **Tokens**: none, expired, signed with another key, `alg: none`, or of a revoked device: 401.
//! - **CSRF**: the API authenticates by the `Authorization: Bearer` header only and never reads
//!   cookies, and its bodies are JSON or postcard only. A browser form post (urlencoded, multipart
//!   or text/plain, with whatever cookies) therefore carries no credentials and has the wrong
//!   content type: it is refused with 401 (authenticated endpoints) or 415 (sign-in and refresh).
//!   A cross-origin `fetch` with a JSON body needs a CORS preflight, which the server never grants.
//! - **Password guessing** is limited per account and per client address: 429 with `Retry-After`.

use std::collections::BTreeSet;
use std::time::Duration;

use automerge::ActorId;
use base64::Engine;
use e2e_tests::{PASSWORD, Phone, TestServer, at};
use sync_core::model::{Body, Header, Record, SCHEMA_VERSION};
use sync_core::protocol::{
    self, ClockSample, DocPush, PROTOCOL_VERSION, PushOutcome, RejectCode, Role, SYNC_CONTENT_TYPE,
    SyncRequest, SyncResponse, TokenResponse,
};
use sync_core::{RecordDocument, sample};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    /// Anyone signed in to the company.
    Member,
    Supervisor,
    Admin,
}

/// Where an endpoint takes another company's id, if it takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForeignId {
    None,
    /// An id in the path: 404, as for an id that does not exist.
    InPath,
    /// An id in the body or query: the same answer as for an id that does not exist.
    InBodyOrQuery,
    /// A push to another company's record id: the same answer as for an id nobody has.
    SyncPush,
}

/// Which of the test's ids an endpoint is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The caller's own company.
    Own,
    /// The other company.
    Foreign,
    /// An id nobody has.
    MadeUp,
}

#[derive(Debug)]
enum Payload {
    Empty,
    Json(serde_json::Value),
    Sync(Vec<u8>),
}

/// One row per endpoint: adding a route means adding a row (the OpenAPI check fails until then).
#[derive(Debug)]
struct Endpoint {
    method: &'static str,
    path: &'static str,
    access: Access,
    changes_state: bool,
    foreign: ForeignId,
    /// The request: `path` with its `{id}` filled in, query included, and the body.
    request: fn(&Ids, Side) -> (String, Payload),
}

/// Ids of both companies' things, and the caller's own user for sync pushes.
#[derive(Debug, Clone)]
struct Ids {
    acme_tenant: String,
    acme_admin: String,
    acme_site: String,
    acme_record: String,
    acme_device: String,
    acme_worker: String,
    other_site: String,
    other_record: String,
    other_device: String,
    other_worker: String,
    /// A unit in Acme's equipment register, and one in the other company's.
    acme_unit: String,
    other_unit: String,
}

impl Ids {
    fn site(&self, side: Side) -> String {
        match side {
            Side::Own => self.acme_site.clone(),
            Side::Foreign => self.other_site.clone(),
            Side::MadeUp => "019a0000-0000-7000-8000-00000000beef".into(),
        }
    }
    fn record(&self, side: Side) -> String {
        match side {
            Side::Own => self.acme_record.clone(),
            Side::Foreign => self.other_record.clone(),
            Side::MadeUp => "019a0000-0000-7000-8000-00000000cafe".into(),
        }
    }
    fn user(&self, side: Side) -> String {
        match side {
            Side::Own => self.acme_worker.clone(),
            Side::Foreign => self.other_worker.clone(),
            Side::MadeUp => "019a0000-0000-7000-8000-00000000f00d".into(),
        }
    }
    fn unit(&self, side: Side) -> String {
        match side {
            Side::Own => self.acme_unit.clone(),
            Side::Foreign => self.other_unit.clone(),
            Side::MadeUp => "NO-SUCH-UNIT-9".into(),
        }
    }
    fn device(&self, side: Side) -> String {
        match side {
            Side::Own => self.acme_device.clone(),
            Side::Foreign => self.other_device.clone(),
            Side::MadeUp => "no-such-device".into(),
        }
    }
}

fn sync_request(pushes: Vec<DocPush>) -> Vec<u8> {
    protocol::encode(&SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: 0,
        cursor_check: 0,
        clock: ClockSample {
            wall_ms: 1_795_000_000_000,
            monotonic_ms: 1,
            boot_id: "security".into(),
            last_round_trip_ms: 0,
        },
        pushes,
        doc_sync: vec![],
    })
}

/// A new near-miss under `doc_id`, written by Acme's admin in Acme: a push to that id.
fn near_miss_push(ids: &Ids, doc_id: &str) -> DocPush {
    let record = Record {
        header: Header {
            id: doc_id.into(),
            kind: "near_miss".into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: ids.acme_tenant.clone(),
            site_id: ids.acme_site.clone(),
            job_id: None,
            created_by: ids.acme_admin.clone(),
            created: at(5),
        },
        body: Body::NearMiss(sample::near_miss(1_795_000_000_000)),
    };
    let mut doc =
        RecordDocument::create(ActorId::random(), &ids.acme_admin, &record, 1_795_000_000_000).expect("doc");
    DocPush {
        doc_id: doc_id.into(),
        base_heads: vec![],
        changes: doc.save(),
    }
}

fn endpoints() -> Vec<Endpoint> {
    use serde_json::json;
    vec![
        Endpoint {
            method: "GET",
            path: "/healthz",
            access: Access::Public,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/healthz".into(), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/sync/limits",
            access: Access::Public,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/sync/limits".into(), Payload::Empty),
        },
        Endpoint {
            method: "POST",
            path: "/v1/auth/login",
            access: Access::Public,
            changes_state: true,
            foreign: ForeignId::None,
            request: |_, _| {
                let login = json!({"email": "lead@acme.test", "password": PASSWORD,
                    "device_id": "csrf-victim", "device_name": "browser"});
                ("/v1/auth/login".into(), Payload::Json(login))
            },
        },
        Endpoint {
            method: "POST",
            path: "/v1/auth/refresh",
            access: Access::Public,
            changes_state: true,
            foreign: ForeignId::None,
            request: |_, _| {
                let body = json!({"refresh_token": "not-a-refresh-token"});
                ("/v1/auth/refresh".into(), Payload::Json(body))
            },
        },
        Endpoint {
            method: "POST",
            path: "/v1/admin/users",
            access: Access::Admin,
            changes_state: true,
            foreign: ForeignId::InBodyOrQuery,
            request: |ids, side| {
                let body = json!({"email": "intruder@acme.test", "name": "Intruder", "role": "admin",
                    "password": "long enough password", "sites": [ids.site(side)]});
                ("/v1/admin/users".into(), Payload::Json(body))
            },
        },
        Endpoint {
            method: "GET",
            path: "/v1/admin/users",
            access: Access::Admin,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/admin/users".into(), Payload::Empty),
        },
        Endpoint {
            method: "PATCH",
            path: "/v1/admin/users/{id}",
            access: Access::Admin,
            changes_state: true,
            foreign: ForeignId::InPath,
            request: |ids, side| {
                let body = json!({"role": "admin", "password": "a password someone else knows"});
                (format!("/v1/admin/users/{}", ids.user(side)), Payload::Json(body))
            },
        },
        Endpoint {
            method: "POST",
            path: "/v1/admin/sites",
            access: Access::Admin,
            changes_state: true,
            foreign: ForeignId::None,
            request: |_, _| {
                let body = json!({"name": "Intruder's site"});
                ("/v1/admin/sites".into(), Payload::Json(body))
            },
        },
        Endpoint {
            method: "PUT",
            path: "/v1/admin/sites/{id}/boundary",
            access: Access::Admin,
            changes_state: true,
            foreign: ForeignId::InPath,
            request: |ids, side| {
                let body = json!({"geofence": {"type": "circle", "lat": 10.0, "lon": 10.0, "radius_m": 5.0},
                    "max_accuracy_m": 1000.0});
                (
                    format!("/v1/admin/sites/{}/boundary", ids.site(side)),
                    Payload::Json(body),
                )
            },
        },
        Endpoint {
            method: "POST",
            path: "/v1/records/{id}/decision",
            access: Access::Supervisor,
            changes_state: true,
            foreign: ForeignId::InPath,
            request: |ids, side| {
                let body = json!({"decision": "rejected", "comment": "redo it"});
                (
                    format!("/v1/records/{}/decision", ids.record(side)),
                    Payload::Json(body),
                )
            },
        },
        Endpoint {
            method: "GET",
            path: "/v1/admin/devices",
            access: Access::Admin,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/admin/devices".into(), Payload::Empty),
        },
        Endpoint {
            method: "POST",
            path: "/v1/admin/devices/{id}/revoke",
            access: Access::Admin,
            changes_state: true,
            foreign: ForeignId::InPath,
            request: |ids, side| {
                (
                    format!("/v1/admin/devices/{}/revoke", ids.device(side)),
                    Payload::Empty,
                )
            },
        },
        Endpoint {
            method: "GET",
            path: "/v1/admin/audit",
            access: Access::Admin,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/admin/audit".into(), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/readiness",
            access: Access::Admin,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| {
                (
                    "/v1/readiness?from=2026-01-01&to=2026-11-30".into(),
                    Payload::Empty,
                )
            },
        },
        Endpoint {
            method: "GET",
            path: "/v1/readiness.csv",
            access: Access::Admin,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/readiness.csv".into(), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/sites",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/sites".into(), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/records",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::InBodyOrQuery,
            request: |ids, side| (format!("/v1/records?site={}", ids.site(side)), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/records.csv",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::InBodyOrQuery,
            request: |ids, side| (format!("/v1/records.csv?site={}", ids.site(side)), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/inspection-schedules",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/inspection-schedules".into(), Payload::Empty),
        },
        Endpoint {
            method: "POST",
            path: "/v1/inspection-schedules",
            access: Access::Supervisor,
            changes_state: true,
            foreign: ForeignId::InBodyOrQuery,
            request: |ids, side| {
                let body = json!({"site_id": ids.site(side), "title": "Intruder's rounds",
                    "checklist": [{"label": "Gate locked", "critical": true}], "frequency": "weekly",
                    "starts_on": "2026-11-02", "assignee": ids.user(side)});
                ("/v1/inspection-schedules".into(), Payload::Json(body))
            },
        },
        Endpoint {
            method: "GET",
            path: "/v1/records/{id}",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::InPath,
            request: |ids, side| (format!("/v1/records/{}", ids.record(side)), Payload::Empty),
        },
        Endpoint {
            method: "GET",
            path: "/v1/equipment",
            access: Access::Member,
            changes_state: false,
            foreign: ForeignId::None,
            request: |_, _| ("/v1/equipment".into(), Payload::Empty),
        },
        Endpoint {
            method: "POST",
            path: "/v1/equipment",
            access: Access::Supervisor,
            changes_state: true,
            foreign: ForeignId::None,
            request: |_, _| {
                let body = json!({"unit_id": "INTRUDER-1", "make_model": "Intruder's loader"});
                ("/v1/equipment".into(), Payload::Json(body))
            },
        },
        Endpoint {
            method: "PATCH",
            path: "/v1/equipment/{unit_id}",
            access: Access::Supervisor,
            changes_state: true,
            foreign: ForeignId::InPath,
            request: |ids, side| {
                let body = json!({"required_certificates": [], "equipment_type": ""});
                (format!("/v1/equipment/{}", ids.unit(side)), Payload::Json(body))
            },
        },
        Endpoint {
            method: "POST",
            path: "/v1/sync",
            access: Access::Member,
            changes_state: true,
            foreign: ForeignId::SyncPush,
            request: |ids, side| {
                // Changes building on history the server would hold if it had the record: the
                // answer says whether it does, so it is the probe for another company's ids.
                let pushes = match side {
                    Side::Own => vec![],
                    side => vec![DocPush {
                        base_heads: vec![[7; 32]],
                        ..near_miss_push(ids, &ids.record(side))
                    }],
                };
                ("/v1/sync".into(), Payload::Sync(sync_request(pushes)))
            },
        },
    ]
}

/// A plain HTTP client. Building the sync client first installs the process's TLS crypto provider,
/// which reqwest asks for even when it only speaks plain HTTP.
fn http() -> reqwest::Client {
    let _ = sync_core::sync::SyncClient::new(e2e_tests::quick_retries());
    reqwest::Client::new()
}

/// The status, error code and body of one answer.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    code: Option<String>,
    body: serde_json::Value,
    sync: Option<SyncResponse>,
}

async fn call(
    server: &TestServer,
    endpoint: &Endpoint,
    ids: &Ids,
    side: Side,
    token: Option<&str>,
) -> Answer {
    let (path, payload) = (endpoint.request)(ids, side);
    let http = http();
    let url = format!("{}{path}", server.url);
    let mut request = match endpoint.method {
        "GET" => http.get(&url),
        "PUT" => http.put(&url),
        "PATCH" => http.patch(&url),
        "POST" => http.post(&url),
        other => panic!("no test client for method {other}"),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request = match payload {
        Payload::Empty => request,
        Payload::Json(body) => request.json(&body),
        Payload::Sync(bytes) => request.header("content-type", SYNC_CONTENT_TYPE).body(bytes),
    };
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let is_sync = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == SYNC_CONTENT_TYPE.as_bytes());
    let bytes = response.bytes().await.expect("body");
    if is_sync {
        let sync: SyncResponse = protocol::decode(&bytes).expect("sync response");
        return Answer {
            status,
            code: None,
            body: serde_json::Value::Null,
            sync: Some(sync),
        };
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        code: body["error"]["code"].as_str().map(str::to_owned),
        body,
        sync: None,
    }
}

async fn login(server: &TestServer, email: &str, device_id: &str) -> TokenResponse {
    let response = http()
        .post(format!("{}/v1/auth/login", server.url))
        .json(
            &serde_json::json!({"email": email, "password": PASSWORD, "device_id": device_id,
            "device_name": "security test"}),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 200, "{email} signs in");
    response.json().await.expect("tokens")
}

/// Two companies with people, records and devices; tokens for every kind of caller.
struct World {
    server: TestServer,
    ids: Ids,
    tenants: Vec<String>,
    worker: String,
    supervisor: String,
    admin: String,
    revoked: String,
    expired: String,
    wrong_key: String,
    alg_none: String,
    _dir: tempfile::TempDir,
}

fn user_id(server: &TestServer, email: &str) -> String {
    server
        .store()
        .user_by_email(email)
        .expect("read")
        .expect("user")
        .id
}

async fn world() -> World {
    let server = TestServer::start().await;
    let acme = server.company(
        "Acme Energy",
        &[
            ("lead@acme.test", Role::Worker, &[0]),
            ("sup@acme.test", Role::Supervisor, &[0]),
            ("office@acme.test", Role::Admin, &[]),
        ],
    );
    let other = server.company(
        "Other Oilfield",
        &[
            ("crew@other.test", Role::Worker, &[0]),
            ("office@other.test", Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, "lead@acme.test").await;
    let acme_record = lead
        .store
        .create(&acme.site_a, None, Body::Jsea(sample::jsea()), at(1))
        .expect("jsea");
    lead.store.sign(&acme_record, at(2)).expect("sign");
    lead.store.complete(&acme_record, at(2)).expect("complete");
    assert_eq!(lead.sync().await.accepted, 1);
    let mut crew = Phone::sign_in(&server, &dir, "crew@other.test").await;
    let other_record = crew
        .store
        .create(
            &other.site_a,
            None,
            Body::NearMiss(sample::near_miss(at(3).wall_ms)),
            at(3),
        )
        .expect("near miss");
    assert_eq!(crew.sync().await.accepted, 1);

    let worker = lead.store.credentials().expect("c").expect("c").access_token;
    let supervisor = login(&server, "sup@acme.test", "sup-phone").await.access_token;
    let admin_login = login(&server, "office@acme.test", "office-laptop").await;
    let revoked = login(&server, "office@acme.test", "stolen-laptop")
        .await
        .access_token;
    assert!(
        server
            .store()
            .revoke_device(&acme.id, "stolen-laptop", "system")
            .expect("revoke")
    );

    // Forged tokens, each claiming to be Acme's admin on the admin's enrolled device.
    let claims = server
        .state
        .keys
        .verify(&admin_login.access_token)
        .expect("own token verifies");
    let mut stale = claims.clone();
    stale.iat -= 3_600;
    stale.exp = stale.iat + 900;
    let expired = server.state.keys.issue(&stale).expect("issue");
    let wrong_key = server::auth::Keys::from_secret(b"another server's secret, 32 bytes+")
        .issue(&claims)
        .expect("issue");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(serde_json::to_vec(&claims).expect("claims"))
    );

    let ids = Ids {
        acme_tenant: acme.id.clone(),
        acme_admin: admin_login.user.id.clone(),
        acme_site: acme.site_a.clone(),
        acme_record,
        acme_device: lead.store.device_id().to_owned(),
        acme_worker: user_id(&server, "lead@acme.test"),
        other_site: other.site_a.clone(),
        other_record,
        other_device: crew.store.device_id().to_owned(),
        other_worker: user_id(&server, "crew@other.test"),
        acme_unit: "LD-3".into(),
        other_unit: "OTHER-7".into(),
    };
    for (tenant, unit) in [(&acme.id, &ids.acme_unit), (&other.id, &ids.other_unit)] {
        let row = server::store::EquipmentUnit {
            unit_id: unit.clone(),
            make_model: "Cat 950".into(),
            serial: None,
            equipment_type: "Loader".into(),
            required_certificates: vec![],
            hour_meter: Some(100.0),
            added_at_ms: 1,
            added_by: "system".into(),
            added_from_record: None,
            retired: false,
        };
        let note = server::store::AuditNote {
            user_id: "system".into(),
            action: "equipment.added".into(),
            detail: unit.clone(),
        };
        server
            .store()
            .add_equipment_unit(tenant, &row, &note)
            .expect("unit");
    }
    World {
        server,
        ids,
        tenants: vec![acme.id, other.id],
        worker,
        supervisor,
        admin: admin_login.access_token,
        revoked,
        expired,
        wrong_key,
        alg_none,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_table_covers_every_documented_endpoint() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = http()
        .get(format!("{}/openapi.json", server.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let mut documented = BTreeSet::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let tabled: BTreeSet<String> = endpoints()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(
        documented, tabled,
        "every endpoint needs a row in this suite's table (and every row an endpoint)"
    );
    // Everything the OpenAPI document says needs a token is in the table as needing one.
    for endpoint in endpoints() {
        let operation = &doc["paths"][endpoint.path][endpoint.method.to_lowercase()];
        let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured,
            endpoint.access != Access::Public,
            "{} {}: the document's security and the table disagree",
            endpoint.method,
            endpoint.path
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_refuses_the_wrong_caller_and_keeps_no_trace() {
    let w = world().await;
    let tenants: Vec<&str> = w.tenants.iter().map(String::as_str).collect();
    let before = w.server.snapshot(&tenants);
    let mut checked = 0;

    for endpoint in endpoints() {
        let name = format!("{} {}", endpoint.method, endpoint.path);
        if endpoint.access != Access::Public {
            for (what, token, code) in [
                ("no token", None, "token_missing"),
                ("an expired token", Some(&w.expired), "token_expired"),
                (
                    "a token signed with another key",
                    Some(&w.wrong_key),
                    "token_invalid",
                ),
                ("an alg:none token", Some(&w.alg_none), "token_invalid"),
                ("a revoked device's token", Some(&w.revoked), "device_revoked"),
            ] {
                let answer = call(&w.server, &endpoint, &w.ids, Side::Own, token.map(String::as_str)).await;
                assert_eq!(
                    (answer.status, answer.code.as_deref()),
                    (401, Some(code)),
                    "{name} with {what}: {}",
                    answer.body
                );
                checked += 1;
            }
        }

        let lower_roles: &[(&str, &String)] = match endpoint.access {
            Access::Admin => &[("a worker", &w.worker), ("a supervisor", &w.supervisor)],
            Access::Supervisor => &[("a worker", &w.worker)],
            Access::Member | Access::Public => &[],
        };
        for (who, token) in lower_roles {
            let answer = call(&w.server, &endpoint, &w.ids, Side::Own, Some(token)).await;
            assert_eq!(
                (answer.status, answer.code.as_deref()),
                (403, Some("forbidden")),
                "{name} by {who}: {}",
                answer.body
            );
            checked += 1;
        }

        // Acme's admin, who may do everything in Acme, with the other company's ids.
        match endpoint.foreign {
            ForeignId::None => {}
            ForeignId::InPath | ForeignId::InBodyOrQuery => {
                let foreign = call(&w.server, &endpoint, &w.ids, Side::Foreign, Some(&w.admin)).await;
                let made_up = call(&w.server, &endpoint, &w.ids, Side::MadeUp, Some(&w.admin)).await;
                if endpoint.foreign == ForeignId::InPath {
                    assert_eq!(
                        foreign.status, 404,
                        "{name} with another company's id: {}",
                        foreign.body
                    );
                } else {
                    assert!(
                        foreign.status == 200 || (400..500).contains(&foreign.status),
                        "{name} with another company's id: {}",
                        foreign.body
                    );
                }
                assert_eq!(
                    (foreign.status, &foreign.code),
                    (made_up.status, &made_up.code),
                    "{name}: another company's id must look like one that does not exist"
                );
                if foreign.status == 200 {
                    assert_eq!(
                        foreign.body, made_up.body,
                        "{name}: same answer as for no such id"
                    );
                }
                checked += 1;
            }
            ForeignId::SyncPush => {
                let foreign = call(&w.server, &endpoint, &w.ids, Side::Foreign, Some(&w.admin)).await;
                let made_up = call(&w.server, &endpoint, &w.ids, Side::MadeUp, Some(&w.admin)).await;
                let (foreign, made_up) = (
                    foreign.sync.expect("a sync answer"),
                    made_up.sync.expect("a sync answer"),
                );
                assert_eq!(foreign.results.len(), 1);
                assert_eq!(
                    (&foreign.results[0].outcome, foreign.updates.len(), foreign.more),
                    (&made_up.results[0].outcome, made_up.updates.len(), made_up.more),
                    "{name}: a push to another company's id is answered as for an id nobody has"
                );
                assert_eq!(foreign.results[0].outcome, PushOutcome::NeedFull);
                assert!(
                    foreign.updates.iter().all(|u| u.doc_id == w.ids.acme_record),
                    "only Acme's own record comes back: {:?}",
                    foreign.updates.iter().map(|u| &u.doc_id).collect::<Vec<_>>()
                );
                checked += 1;
            }
        }

        // CSRF: what a browser form on another site can send. No bearer header, whatever cookies.
        if endpoint.changes_state {
            let (path, payload) = (endpoint.request)(&w.ids, Side::Own);
            let fields = match &payload {
                Payload::Json(serde_json::Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect(),
                _ => vec![("a".to_owned(), "b".to_owned())],
            };
            let urlencoded = fields
                .iter()
                .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            let multipart = fields
                .iter()
                .map(|(k, v)| format!("--xyz\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"))
                .collect::<String>()
                + "--xyz--\r\n";
            let text = fields
                .iter()
                .map(|(k, v)| format!("{k}={v}\r\n"))
                .collect::<String>();
            for (content_type, body) in [
                ("application/x-www-form-urlencoded", urlencoded),
                ("multipart/form-data; boundary=xyz", multipart),
                ("text/plain", text),
            ] {
                let http = http();
                let url = format!("{}{path}", w.server.url);
                let method = reqwest::Method::from_bytes(endpoint.method.as_bytes()).expect("method");
                let request = http.request(method, &url);
                let response = request
                    .header("content-type", content_type)
                    .header("cookie", format!("session={}; token={}", w.admin, w.admin))
                    .header("origin", "https://evil.example")
                    .body(body)
                    .send()
                    .await
                    .expect("form post");
                let status = response.status().as_u16();
                let expected = if endpoint.access == Access::Public {
                    415
                } else {
                    401
                };
                assert_eq!(status, expected, "{name}: a {content_type} form post is refused");
                assert!(
                    response.headers().get("access-control-allow-origin").is_none(),
                    "{name}: no CORS grant"
                );
                checked += 1;
            }
        }
    }

    let after = w.server.snapshot(&tenants);
    assert!(
        before == after,
        "refused requests changed the store:\nbefore {before:#}\nafter {after:#}"
    );
    assert!(checked > 100, "{checked} refusals checked");
    w.server.stop().await;
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

async fn refresh(server: &TestServer, refresh_token: &str) -> (u16, serde_json::Value) {
    let response = http()
        .post(format!("{}/v1/auth/refresh", server.url))
        .json(&serde_json::json!({"refresh_token": refresh_token}))
        .send()
        .await
        .expect("refresh");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_revokes_the_device_and_every_token_it_holds() {
    let w = world().await;
    let first = login(&w.server, "lead@acme.test", "lead-tablet").await;
    let (status, body) = refresh(&w.server, &first.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let second: TokenResponse = serde_json::from_value(body).expect("tokens");
    let records = format!("{}/v1/records", w.server.url);
    assert_eq!(e2e_tests::get_json(&records, &second.access_token).await.0, 200);

    // The spent token comes back: someone copied it. The whole device is shut out.
    let (status, body) = refresh(&w.server, &first.refresh_token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("refresh_token_reused")),
        "{body}"
    );
    for (which, token) in [("old", &first.access_token), ("new", &second.access_token)] {
        let (status, body) = e2e_tests::get_json(&records, token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("device_revoked")),
            "the {which} access token: {body}"
        );
    }
    let (status, body) = refresh(&w.server, &second.refresh_token).await;
    assert_eq!(status, 401, "the new refresh token: {body}");
    let device = w
        .server
        .store()
        .device("lead-tablet")
        .expect("lookup")
        .expect("device");
    assert!(device.revoked_at_ms.is_some());
    let audit = w
        .server
        .store()
        .audit_log(&w.ids.acme_tenant, 100)
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "device.revoked" && e.detail.contains("lead-tablet")),
        "{audit:?}"
    );
    // Signing in again on that device is refused too: the office must see to it.
    let response = http()
        .post(format!("{}/v1/auth/login", w.server.url))
        .json(
            &serde_json::json!({"email": "lead@acme.test", "password": PASSWORD,
            "device_id": "lead-tablet", "device_name": "again"}),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 403);
    w.server.stop().await;
}

async fn try_login(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    http()
        .post(format!("{}/v1/auth/login", server.url))
        .json(
            &serde_json::json!({"email": email, "password": password, "device_id": "guesser",
            "device_name": "guesser"}),
        )
        .send()
        .await
        .expect("login")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_locked_out_per_account_until_the_window_passes() {
    let server = TestServer::start_with(|s| {
        s.rate_limits.login_failures_per_account = 3;
        // One failure is forgiven every 4 s: long enough that three slow argon2 checks lock the
        // account even on a busy machine, short enough to wait out.
        s.rate_limits.login_window = Duration::from_secs(12);
    })
    .await;
    let company = server.company("Acme Energy", &[("lead@acme.test", Role::Worker, &[0])]);
    let before = server.snapshot(&[&company.id]);
    for guess in ["password1", "letmein", "acme2026"] {
        let response = try_login(&server, "lead@acme.test", guess).await;
        assert_eq!(response.status().as_u16(), 401, "{guess}");
    }
    // Locked: even the right password is refused now, so guessing learns nothing.
    let mut unlocked_at = std::time::Instant::now();
    for password in ["hunter2", PASSWORD] {
        let response = try_login(&server, "LEAD@acme.test ", password).await;
        assert_eq!(response.status().as_u16(), 429);
        let wait = retry_after(&response);
        assert!((1..=4).contains(&wait), "Retry-After {wait}");
        unlocked_at = std::time::Instant::now() + Duration::from_secs(wait);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "too_many_failed_logins", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("wrong passwords for this account") && message.contains("try again in"),
            "{message}"
        );
    }
    // Another account is not locked by this one's failures.
    let other = try_login(&server, "someone@acme.test", "guess").await;
    assert_eq!(other.status().as_u16(), 401);
    assert_eq!(
        server.snapshot(&[&company.id]),
        before,
        "refused sign-ins leave no trace"
    );

    tokio::time::sleep(unlocked_at.saturating_duration_since(std::time::Instant::now())).await;
    let response = try_login(&server, "lead@acme.test", PASSWORD).await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "the right password works after the wait"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_across_many_accounts_from_one_address_is_locked_out() {
    let server = TestServer::start_with(|s| s.rate_limits.login_failures_per_address = 4).await;
    server.company("Acme Energy", &[("lead@acme.test", Role::Worker, &[0])]);
    for n in 0..4 {
        let response = try_login(&server, &format!("user{n}@acme.test"), "Summer2026!").await;
        assert_eq!(response.status().as_u16(), 401);
    }
    let response = try_login(&server, "lead@acme.test", PASSWORD).await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(retry_after(&response) >= 1);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_failed_logins");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("from this address"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_over_its_request_rate_gets_429_with_retry_after_and_others_carry_on() {
    let server = TestServer::start_with(|s| {
        s.rate_limits.device_burst = 3;
        // A token back every 2 s: the four quick requests below fit well inside that.
        s.rate_limits.device_per_second = 0.5;
    })
    .await;
    server.company(
        "Acme Energy",
        &[
            ("lead@acme.test", Role::Worker, &[0]),
            ("sup@acme.test", Role::Supervisor, &[0]),
        ],
    );
    let busy = login(&server, "lead@acme.test", "busy-phone").await.access_token;
    let calm = login(&server, "sup@acme.test", "calm-phone").await.access_token;
    let sites = format!("{}/v1/sites", server.url);
    for _ in 0..3 {
        assert_eq!(e2e_tests::get_json(&sites, &busy).await.0, 200);
    }
    let response = http().get(&sites).bearer_auth(&busy).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 429);
    let wait = retry_after(&response);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("this device sent more requests"),
        "{body}"
    );
    assert_eq!(
        e2e_tests::get_json(&sites, &calm).await.0,
        200,
        "another device is not slowed"
    );
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        e2e_tests::get_json(&sites, &busy).await.0,
        200,
        "after the wait it works"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_large_body_a_too_slow_request_and_unknown_routes_get_clear_json_errors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|s| s.request_timeout = Duration::from_millis(500)).await;
    let response = http()
        .post(format!("{}/v1/auth/login", server.url))
        .header("content-type", "application/json")
        .body(format!("{{\"email\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "body_too_large", "{body}");

    // A client that announces a body and then stalls.
    let address = server.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\"",
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") || !answer.ends_with(b"}") {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("an answer within the timeout");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let (_, json) = answer.split_once("\r\n\r\n").expect("body");
    let body: serde_json::Value = serde_json::from_str(json).expect("a JSON error");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");

    let response = http()
        .get(format!("{}/v1/no-such-endpoint", server.url))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unknown_endpoint");
    let response = http()
        .delete(format!("{}/v1/records", server.url))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status().as_u16(), 405);
    assert!(
        response.headers().get("allow").is_some(),
        "405 names the methods served"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    server.stop().await;
}

/// A company's records name only its own sites: an admin (who may write at any of the
/// company's sites) cannot file a record at another company's site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_file_a_record_at_another_companys_site() {
    let server = TestServer::start().await;
    let acme = server.company("Acme Energy", &[("office@acme.test", Role::Admin, &[])]);
    let other = server.company("Other Oilfield", &[("office@other.test", Role::Admin, &[])]);
    let dir = tempfile::tempdir().expect("dir");
    let mut admin = Phone::sign_in(&server, &dir, "office@acme.test").await;
    let foreign = admin
        .store
        .create(
            &other.site_a,
            None,
            Body::NearMiss(sample::near_miss(1_795_000_000_000)),
            at(1),
        )
        .expect("the phone keeps what it is given");
    let own = admin
        .store
        .create(
            &acme.site_a,
            None,
            Body::NearMiss(sample::near_miss(1_795_000_000_000)),
            at(2),
        )
        .expect("create");
    let report = admin.sync().await;
    assert_eq!(report.accepted, 1, "{report:?}");
    let rejection = admin
        .store
        .rejections()
        .expect("lookup")
        .into_iter()
        .find(|r| r.record_id == foreign)
        .expect("refused");
    assert_eq!(rejection.code, RejectCode::OutOfScope);
    assert!(rejection.reason.contains("no site"), "{}", rejection.reason);
    assert!(
        server
            .store()
            .document(&acme.id, &foreign)
            .expect("lookup")
            .is_none()
    );
    assert!(server.store().document(&acme.id, &own).expect("lookup").is_some());
    // Site lookups are the company's own: another company's site id finds nothing.
    assert!(
        server
            .store()
            .site(&acme.id, &other.site_a)
            .expect("lookup")
            .is_none()
    );
    server.stop().await;
}

/// Record ids are each company's own. A new record pushed under an id another company uses is
/// accepted as for any new id, as a record of the pusher's company; the other company's record
/// is untouched, and each company reads only its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_id_another_company_uses_is_a_new_id_here() {
    let w = world().await;
    let before_other = w.server.snapshot(&[w.tenants[1].as_str()]);
    let push = near_miss_push(&w.ids, &w.ids.other_record);
    let response = http()
        .post(format!("{}/v1/sync", w.server.url))
        .bearer_auth(&w.admin)
        .header("content-type", SYNC_CONTENT_TYPE)
        .body(sync_request(vec![push]))
        .send()
        .await
        .expect("sync");
    assert_eq!(response.status().as_u16(), 200);
    let answer: SyncResponse = protocol::decode(&response.bytes().await.expect("body")).expect("answer");
    assert_eq!(answer.results[0].outcome, PushOutcome::Accepted);
    assert_eq!(
        w.server.snapshot(&[w.tenants[1].as_str()]),
        before_other,
        "the other company's record and everything else of theirs is untouched"
    );
    let store = w.server.store();
    let ours = store
        .document(&w.ids.acme_tenant, &w.ids.other_record)
        .expect("lookup")
        .expect("stored for Acme");
    let theirs = store
        .document(&w.tenants[1], &w.ids.other_record)
        .expect("lookup")
        .expect("still theirs");
    assert_ne!(ours.snapshot, theirs.snapshot);
    let (status, detail) = e2e_tests::get_json(
        &format!("{}/v1/records/{}", w.server.url, w.ids.other_record),
        &w.admin,
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["record"]["header"]["tenant_id"],
        w.ids.acme_tenant.as_str()
    );
    w.server.stop().await;
}
