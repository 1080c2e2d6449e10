//! The program flags end to end: the server fills what its other records show about the people
//! and the unit a record names (orientations, competencies, certificates, the equipment register),
//! and judges the record again when a qualification arrives after it.

use e2e_tests::{Phone, TestServer, at, get_json, orient};
use sync_core::flags::codes;
use sync_core::model::{Body, ItemResult};
use sync_core::protocol::Role;
use sync_core::sample;

const SUPER: &str = "super@acme.test";
const WORKER: &str = "worker@acme.test";
const NEWCOMER: &str = "newcomer@acme.test";

async fn flags_of(server: &TestServer, phone: &Phone, id: &str) -> Vec<serde_json::Value> {
    let token = phone
        .store
        .credentials()
        .expect("creds")
        .expect("signed in")
        .access_token;
    let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token).await;
    assert_eq!(status, 200, "{detail}");
    detail["flags"].as_array().expect("flags").clone()
}

fn not_oriented<'a>(flags: &'a [serde_json::Value], signer: &str) -> Option<&'a serde_json::Value> {
    flags
        .iter()
        .find(|f| f["code"] == codes::SIGNER_NOT_ORIENTED && f["evidence"]["signer"] == signer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsea_signer_without_an_orientation_is_flagged_until_an_earlier_one_arrives() {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            (SUPER, Role::Supervisor, &[0, 1]),
            (WORKER, Role::Worker, &[0]),
            (NEWCOMER, Role::Worker, &[0]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut sup = Phone::sign_in(&server, &dir, SUPER).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let mut newcomer = Phone::sign_in(&server, &dir, NEWCOMER).await;

    // The worker was oriented at this site last week, the newcomer this morning.
    orient(&mut worker, &company.site_a, -7 * 24 * 60);
    worker.sync().await;
    orient(&mut newcomer, &company.site_a, 10);

    let jsea = sup
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(20))
        .expect("jsea");
    sup.sync().await;
    worker.sync().await;
    worker.store.sign(&jsea, at(30)).expect("worker signs");
    worker.sync().await;
    // The newcomer's orientation reaches the server before their signature does.
    newcomer.sync().await;
    newcomer.store.sign(&jsea, at(31)).expect("newcomer signs");
    newcomer.sync().await;

    // Judged with every fact now held: the worker is oriented; the newcomer's orientation,
    // signed at minute 10, precedes their signature at minute 31.
    server::judge::drain_once(server.store(), server::store::sqlite::now_ms()).expect("judge queued");
    let flags = flags_of(&server, &sup, &jsea).await;
    assert!(not_oriented(&flags, &worker.user_id()).is_none(), "{flags:#?}");
    assert!(not_oriented(&flags, &newcomer.user_id()).is_none(), "{flags:#?}");

    // A crew member from another site signs with no orientation here: flagged with the evidence.
    let visitor_dir = tempfile::tempdir().expect("dir");
    let mut visitor = Phone::sign_in(&server, &visitor_dir, SUPER).await;
    visitor.sync().await;
    visitor.store.sign(&jsea, at(40)).expect("supervisor signs on");
    visitor.sync().await;
    let flags = flags_of(&server, &sup, &jsea).await;
    let flag = not_oriented(&flags, &sup.user_id()).unwrap_or_else(|| panic!("{flags:#?}"));
    assert_eq!(flag["evidence"]["site"], company.site_a.as_str());
    assert_eq!(flag["evidence"]["orientation"], "none on record");
    assert!(
        flag["evidence"]["signed_at"]
            .as_str()
            .is_some_and(|t| t.contains("UTC")),
        "{flag}"
    );

    // The supervisor's orientation, done on paper last month and entered late, lifts the flag:
    // the JSEA is judged again when it arrives.
    orient(&mut visitor, &company.site_a, -30 * 24 * 60);
    visitor.sync().await;
    server::judge::drain_once(server.store(), server::store::sqlite::now_ms()).expect("judge queued");
    let flags = flags_of(&server, &sup, &jsea).await;
    assert!(not_oriented(&flags, &sup.user_id()).is_none(), "{flags:#?}");
}

fn token_of(phone: &Phone) -> String {
    phone
        .store
        .credentials()
        .expect("creds")
        .expect("signed in")
        .access_token
}

fn flag_with<'a>(flags: &'a [serde_json::Value], code: &str) -> Option<&'a serde_json::Value> {
    flags.iter().find(|f| f["code"] == code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prestart_by_an_unqualified_operator_is_flagged_until_the_qualifications_are_on_record() {
    const OPERATOR: &str = "operator@acme.test";
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[(SUPER, Role::Supervisor, &[0]), (OPERATOR, Role::Worker, &[0])],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut sup = Phone::sign_in(&server, &dir, SUPER).await;
    let mut operator = Phone::sign_in(&server, &dir, OPERATOR).await;

    // The office types the loader and the ticket its operator needs.
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/equipment", server.url))
        .bearer_auth(token_of(&sup))
        .json(&serde_json::json!({
            "unit_id": "LD-3",
            "make_model": "Loader, CAT 950M",
            "equipment_type": "Loader",
            "required_certificates": ["Ground disturbance level II"],
        }))
        .send()
        .await
        .expect("register");
    assert_eq!(
        answer.status(),
        201,
        "{}",
        answer.text().await.unwrap_or_default()
    );

    // The operator checks "ld 3" (however they write it) and signs it off at minute 30.
    let mut check = sample::prestart(&operator.user_id());
    check.unit.unit_id = "ld 3".into();
    for item in &mut check.items {
        item.result = Some(ItemResult::Pass);
    }
    let pre_start = operator
        .store
        .create(&company.site_a, None, Body::PreStart(check), at(29))
        .expect("pre-start");
    operator.store.sign(&pre_start, at(30)).expect("sign off");
    operator.store.complete(&pre_start, at(31)).expect("complete");
    operator.sync().await;

    let flags = flags_of(&server, &sup, &pre_start).await;
    let competency = flag_with(&flags, codes::OPERATOR_NOT_COMPETENT).unwrap_or_else(|| panic!("{flags:#?}"));
    assert_eq!(competency["evidence"]["equipment_type"], "Loader");
    assert_eq!(competency["evidence"]["unit"], "LD-3");
    assert_eq!(competency["evidence"]["operator"], operator.user_id().as_str());
    assert_eq!(competency["evidence"]["competencies_held"], "none on record");
    let ticket = flag_with(&flags, codes::CERTIFICATE_NOT_CURRENT).unwrap_or_else(|| panic!("{flags:#?}"));
    assert_eq!(
        ticket["evidence"]["certificate_type"],
        "Ground disturbance level II"
    );
    assert_eq!(ticket["evidence"]["certificates_held"], "none on record");

    // The supervisor had verified the operator on loaders that morning and holds the ticket in
    // the binder; both reach the server after the pre-start, and it is judged again.
    let mut verification = sample::competency(&operator.user_id(), "loader");
    for item in &mut verification.items {
        item.result = Some(ItemResult::Pass);
    }
    let verified = sup
        .store
        .create(&company.site_a, None, Body::Competency(verification), at(0))
        .expect("competency");
    sup.store.sign(&verified, at(5)).expect("verifier signs");
    sup.store.complete(&verified, at(6)).expect("verified");
    let issued = at(0).wall_ms - 400 * 86_400_000;
    let ticket = sample::certificate(
        &operator.user_id(),
        "Ground disturbance level II",
        issued,
        Some(at(0).wall_ms + 600 * 86_400_000),
    );
    let recorded = sup
        .store
        .create(&company.site_a, None, Body::Certificate(ticket), at(7))
        .expect("certificate");
    sup.store.complete(&recorded, at(8)).expect("recorded");
    sup.sync().await;
    server::judge::drain_once(server.store(), server::store::sqlite::now_ms()).expect("judge queued");
    let flags = flags_of(&server, &sup, &pre_start).await;
    assert!(
        flag_with(&flags, codes::OPERATOR_NOT_COMPETENT).is_none(),
        "{flags:#?}"
    );
    assert!(
        flag_with(&flags, codes::CERTIFICATE_NOT_CURRENT).is_none(),
        "{flags:#?}"
    );
}
