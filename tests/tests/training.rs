//! Training and competency end to end, on a simulated server clock: a certificate the office
//! records from the web, expiring in 45 days, raises the 60-day alert; past 30 days before expiry
//! the 30-day alert; after expiry `certificate.expired` with its evidence (the queued records
//! judged deterministically with `judge::drain_once`). The holder's phone receives it. The matrix
//! lists a worker's orientation, competency and certificate, and a worker sees only their own row.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use e2e_tests::{PASSWORD, Phone, TestServer, at, web_sign_in};
use server::service::Principal;
use server::service::training::{self, Standing};
use sync_core::kinds::certificate::codes;
use sync_core::kinds::competency::Competency;
use sync_core::kinds::orientation::{Orientation, OrientationTopic};
use sync_core::model::Body;
use sync_core::parts::{ChecklistItem, ItemResult};
use sync_core::protocol::Role;

const WORKER: &str = "operator@acme.test";
const SUPER: &str = "sup@acme.test";
const ADMIN: &str = "office@acme.test";

const DAY: i64 = 86_400_000;
/// 2026-11-02 12:00 in Alberta (MST, UTC−7).
const NOV_2_NOON: i64 = 1_793_577_600_000 + 19 * 3_600_000;

fn principal(server: &TestServer, email: &str) -> Principal {
    Principal::of(
        &server
            .store()
            .user_by_email(email)
            .expect("lookup")
            .expect("user"),
    )
}

/// The CSRF token in a signed-in page's forms.
fn csrf_of(html: &str) -> String {
    let (_, rest) = html.split_once(r#"name="csrf" value=""#).expect("a form");
    rest.split('"').next().expect("token").to_owned()
}

async fn page(server: &TestServer, cookie: &str, path: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_recorded_on_the_web_raises_its_expiry_alerts_and_the_matrix_shows_it() {
    let now = Arc::new(AtomicI64::new(NOV_2_NOON));
    let clock = now.clone();
    let server =
        TestServer::start_with(move |state| state.clock = Arc::new(move || clock.load(Ordering::SeqCst)))
            .await;
    let company = server.company(
        "Acme Energy",
        &[
            (WORKER, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let mut supervisor = Phone::sign_in(&server, &dir, SUPER).await;
    let worker_id = worker.user_id();

    // The worker's site orientation, given by the supervisor and signed by the worker.
    let mut orientation = Orientation::new(&worker_id, supervisor.user_id());
    for topic in OrientationTopic::ALL.iter() {
        orientation.acknowledge(*topic);
    }
    let oriented = worker
        .store
        .create(&company.site_a, None, Body::Orientation(orientation), at(1))
        .expect("orientation");
    worker.store.sign(&oriented, at(2)).expect("sign");
    worker.store.complete(&oriented, at(2)).expect("complete");
    assert_eq!(worker.sync().await.accepted, 1);

    // The supervisor verifies the worker on loaders.
    let mut item = ChecklistItem::new("Pre-use walk-around", true);
    item.result = Some(ItemResult::Pass);
    let competency = supervisor
        .store
        .create(
            &company.site_a,
            None,
            Body::Competency(Competency::new(&worker_id, "Loader", vec![item])),
            at(3),
        )
        .expect("competency");
    supervisor.store.sign(&competency, at(4)).expect("verify");
    supervisor.store.complete(&competency, at(4)).expect("complete");
    assert_eq!(supervisor.sync().await.accepted, 1);

    // The office records the worker's first-aid ticket from its document: it expires in 45 days.
    let office = web_sign_in(&server.url, ADMIN, PASSWORD).await;
    let csrf = csrf_of(&page(&server, &office, "/training").await);
    let recorded = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/training/certificates", server.url))
        .header("cookie", &office)
        .header("origin", &server.url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("holder", worker_id.as_str()),
            ("certificate_type", "Standard First Aid"),
            ("number", "SFA-20417"),
            ("issuer", "Canadian Red Cross"),
            ("issued_on", "2023-12-17"),
            ("expires_on", "2026-12-17"),
            ("document_ref", "Office binder 3"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(recorded.status(), 303);
    assert_eq!(
        recorded.headers()["location"],
        "/training?done=certificate_recorded"
    );

    let admin = principal(&server, ADMIN);
    let alerts = training::alerts(&server.state, &admin).await.expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert.holder_id, worker_id);
    assert_eq!(alert.alert(), "60 days");
    assert_eq!(
        alert.certificate.standing,
        Standing::Expiring {
            alert: "60 days".into(),
            days_left: 45
        }
    );
    let certificate_id = alert.certificate.record_id.clone();
    // The worker sees their own alert.
    let own = training::alerts(&server.state, &principal(&server, WORKER))
        .await
        .expect("alerts");
    assert_eq!(own.len(), 1);

    // The holder's phone receives the certificate the office recorded.
    worker.sync().await;
    let on_phone = worker.store.record(&certificate_id).expect("on the phone");
    let Body::Certificate(ticket) = &on_phone.record.body else {
        panic!("a certificate: {:?}", on_phone.record.body);
    };
    assert_eq!(
        (ticket.number.as_str(), ticket.holder_id.as_str()),
        ("SFA-20417", worker_id.as_str())
    );

    // The matrix: the worker's orientation, competency and certificate.
    let matrix = training::matrix(&server.state, &admin).await.expect("matrix");
    assert_eq!(matrix.len(), 3, "everyone, for the office");
    let row = matrix
        .iter()
        .find(|r| r.user_id == worker_id)
        .expect("the worker's row");
    assert_eq!(row.orientations.len(), 1);
    assert_eq!(row.orientations[0].site_id, company.site_a);
    assert_eq!(row.orientations[0].record_id, oriented);
    assert_eq!(row.competencies.len(), 1);
    assert_eq!(row.competencies[0].equipment_type, "Loader");
    assert_eq!(row.competencies[0].verifier_name, "sup");
    assert_eq!(row.certificates.len(), 1);
    assert_eq!(row.certificates[0].certificate_type, "Standard First Aid");
    // A worker sees only their own row, on the page too.
    let own = training::matrix(&server.state, &principal(&server, WORKER))
        .await
        .expect("matrix");
    assert_eq!(
        own.iter().map(|r| r.user_id.as_str()).collect::<Vec<_>>(),
        [worker_id.as_str()]
    );
    let worker_cookie = web_sign_in(&server.url, WORKER, PASSWORD).await;
    let worker_page = page(&server, &worker_cookie, "/training").await;
    assert_eq!(worker_page.matches("data-user-id=").count(), 1);
    assert!(
        !worker_page.contains("record-certificate"),
        "no form for a worker"
    );
    // The CSV: one row per person and qualification.
    let csv = page(&server, &office, "/training.csv").await;
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let kinds: Vec<(String, String, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| &r[0] == "operator")
        .map(|r| (r[2].to_owned(), r[3].to_owned(), r[9].to_owned()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "orientation".into(),
                "Site orientation: Site A".into(),
                "signed".into()
            ),
            ("competency".into(), "Loader".into(), "verified".into()),
            (
                "certificate".into(),
                "Standard First Aid".into(),
                "expiring".into()
            ),
        ]
    );

    // 2026-11-18 noon: 28.5 days left, the 30-day alert.
    now.store(NOV_2_NOON + 16 * DAY, Ordering::SeqCst);
    server::judge::drain_once(server.store(), NOV_2_NOON + 16 * DAY).expect("judged");
    let alerts = training::alerts(&server.state, &admin).await.expect("alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].alert(), "30 days");
    // Sixteen days on, the office signs in again (the session's idle timeout passed).
    let office = web_sign_in(&server.url, ADMIN, PASSWORD).await;
    let page_html = page(&server, &office, "/training/alerts").await;
    assert!(
        page_html.contains("30 days") && page_html.contains("SFA-20417"),
        "{page_html}"
    );

    // 2026-12-18 noon: expired, with its evidence.
    now.store(NOV_2_NOON + 46 * DAY, Ordering::SeqCst);
    server::judge::drain_once(server.store(), NOV_2_NOON + 46 * DAY).expect("judged");
    let flags = server
        .store()
        .record_flags(&company.id, &certificate_id)
        .expect("flags");
    let codes_now: Vec<&str> = flags.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes_now, [codes::EXPIRED]);
    let expired = &flags[0];
    assert_eq!(expired.evidence["holder"], worker_id);
    assert_eq!(expired.evidence["certificate_type"], "Standard First Aid");
    assert_eq!(expired.evidence["number"], "SFA-20417");
    assert!(
        expired.evidence["expiry"].starts_with("2026-12-17"),
        "{:?}",
        expired.evidence
    );
    assert!(expired.evidence.contains_key("judged_at"));
    let alerts = training::alerts(&server.state, &admin).await.expect("alerts");
    assert_eq!((alerts.len(), alerts[0].alert()), (1, "expired".to_owned()));
    assert_eq!(alerts[0].certificate.standing, Standing::Expired);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_office_records_certificates_and_a_blank_one_is_refused_with_the_reason() {
    let server = TestServer::start().await;
    server.company(
        "Acme Energy",
        &[
            (WORKER, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let worker_id = principal(&server, WORKER).user_id;
    let ticket = |number: &str| training::NewCertificate {
        holder_id: worker_id.clone(),
        certificate_type: "H2S Alive".into(),
        number: number.into(),
        issuer: "Energy Safety Canada".into(),
        issued_on: chrono_date(2026, 1, 5),
        expires_on: Some(chrono_date(2029, 1, 5)),
        document_ref: None,
    };
    let refused =
        training::record_certificate(&server.state, &principal(&server, SUPER), ticket("H-1")).await;
    assert!(
        matches!(refused, Err(server::service::ServiceError::Forbidden(_))),
        "{refused:?}"
    );
    let blank = training::record_certificate(&server.state, &principal(&server, ADMIN), ticket("  ")).await;
    match blank {
        Err(server::service::ServiceError::Invalid { message, .. }) => {
            assert!(message.contains("certificate number"), "{message}");
        }
        other => panic!("a blank number is refused: {other:?}"),
    }
    let id = training::record_certificate(&server.state, &principal(&server, ADMIN), ticket("H-1"))
        .await
        .expect("recorded");
    let audit = server
        .store()
        .audit_log(&principal(&server, ADMIN).tenant_id, 10)
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "certificate.recorded" && e.detail.contains(&id)),
        "{audit:?}"
    );
    server.stop().await;
}

fn chrono_date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date")
}
