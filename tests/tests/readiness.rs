//! The SECOR readiness report end to end: records made on phones and synced, then
//! `GET /v1/readiness` shows the shares the rules found (JSEAs completed and approved before
//! work, hazards with a control above PPE, people oriented before their first day, near misses),
//! the gaps ranked and linked to the records that would close them; a site with work and no
//! emergency plan is a gap until its plan is made current; a worker and a supervisor are refused;
//! the CSV has one row per question; the office's page shows the estimate.

use e2e_tests::{PASSWORD, Phone, TestServer, at, get_json, orient, web_sign_in};
use sync_core::kinds::jsea::ControlLevel;
use sync_core::kinds::tailgate_meeting::TailgateMeeting;
use sync_core::model::{ApprovalDecision, Body};
use sync_core::protocol::Role;
use sync_core::sample;

const OFFICE: &str = "office@acme.test";
const SUPER: &str = "super@acme.test";
const OLD_HAND: &str = "oldhand@acme.test";
const NEWCOMER: &str = "newcomer@acme.test";

/// The window the report is asked for: it holds every stamp `at()` makes (2026-11-18).
const WINDOW: &str = "from=2026-01-01&to=2026-11-30";

fn token_of(phone: &Phone) -> String {
    phone
        .store
        .credentials()
        .expect("creds")
        .expect("signed in")
        .access_token
}

fn question<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .flat_map(|e| e["questions"].as_array().expect("questions"))
        .find(|q| q["id"] == id)
        .unwrap_or_else(|| panic!("question {id} in {report:#}"))
}

fn share(report: &serde_json::Value, id: &str) -> (u64, u64) {
    let q = question(report, id);
    assert_eq!(q["assessment"], "estimated", "{q:#}");
    (
        q["met"].as_u64().expect("met"),
        q["population"].as_u64().expect("population"),
    )
}

async fn status_of(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readiness_report_estimates_from_synced_records_and_only_the_office_reads_it() {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            (OFFICE, Role::Admin, &[]),
            (SUPER, Role::Supervisor, &[0]),
            (OLD_HAND, Role::Worker, &[0]),
            (NEWCOMER, Role::Worker, &[0]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let office = Phone::sign_in(&server, &dir, OFFICE).await;
    let mut sup = Phone::sign_in(&server, &dir, SUPER).await;
    let mut old_hand = Phone::sign_in(&server, &dir, OLD_HAND).await;
    let mut newcomer = Phone::sign_in(&server, &dir, NEWCOMER).await;

    // The old hand was oriented at the site last week; the newcomer never was.
    orient(&mut old_hand, &company.site_a, -7 * 24 * 60);
    old_hand.sync().await;

    // A JSEA done right: signed, completed and approved before work starts.
    let good = sup
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(0))
        .expect("jsea");
    sup.sync().await;
    old_hand.sync().await;
    old_hand.store.sign(&good, at(5)).expect("sign");
    old_hand.store.complete(&good, at(10)).expect("complete");
    old_hand.sync().await;
    sup.sync().await;
    sup.store
        .decide(&good, ApprovalDecision::Approved, None, at(15))
        .expect("approve");
    sup.store.start_work(&good, at(20)).expect("start");
    sup.sync().await;

    // The newcomer's crew starts work first and fills the JSEA afterwards, unapproved.
    let late = newcomer
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(100))
        .expect("jsea");
    newcomer.store.start_work(&late, at(101)).expect("start");
    newcomer.store.sign(&late, at(110)).expect("sign");
    newcomer.store.complete(&late, at(111)).expect("complete");
    newcomer.sync().await;

    // A JSEA left in draft with one hazard controlled by PPE alone and no reason given (it cannot
    // be completed so).
    let mut hurried = sample::jsea();
    hurried.steps.push(sample::step(
        "Run the pump",
        vec![sample::hazard("Noise", 3, 3, &[("Ear plugs", ControlLevel::Ppe)])],
    ));
    let draft = sup
        .store
        .create(&company.site_a, None, Body::Jsea(hurried), at(300))
        .expect("jsea");
    assert!(
        sup.store.complete(&draft, at(301)).is_err(),
        "PPE alone blocks completing it"
    );
    sup.sync().await;

    // A near miss is reported.
    let near_miss = old_hand
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(at(200).wall_ms)),
            at(201),
        )
        .expect("near miss");
    old_hand.store.complete(&near_miss, at(202)).expect("report");
    old_hand.sync().await;

    let url = format!("{}/v1/readiness?{WINDOW}", server.url);
    let (status, report) = get_json(&url, &token_of(&office)).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["estimate"], true);
    assert_eq!(report["catalogue"]["id"], "secor-six");
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("2026-01-01"), Some("2026-11-30"))
    );
    assert_eq!(report["pass_percent"], 80.0);
    assert_eq!(report["element_floor_percent"], 50.0);

    // S2: one JSEA of two completed before work, one of two approved before work; 18 of the
    // 19 hazards have a control above PPE.
    assert_eq!(share(&report, "S2.q1"), (1, 2));
    assert_eq!(share(&report, "S2.q3"), (1, 2));
    assert_eq!(share(&report, "S2.q2"), (18, 19));
    // S3: the old hand was oriented before signing; the newcomer was not.
    assert_eq!(share(&report, "S3.q1"), (1, 2));
    // S5: a near miss was reported.
    assert_eq!(share(&report, "S5.q1"), (1, 1));
    assert_eq!(question(&report, "S5.q1")["earned"], 1.0);
    // A question the records cannot answer is left to the auditor and out of the score.
    let auditor = question(&report, "S1.q6");
    assert_eq!(auditor["assessment"], "auditor");
    assert_eq!(auditor["available"], 0.0);
    assert_eq!(question(&report, "S1.q4")["proxy"], true);

    // The gaps are ranked by points lost, and the JSEA gap links the late JSEA.
    let gaps = report["gaps"].as_array().expect("gaps");
    let lost: Vec<f64> = gaps
        .iter()
        .map(|g| g["points_lost"].as_f64().expect("lost"))
        .collect();
    assert!(lost.windows(2).all(|w| w[0] >= w[1]), "{lost:?}");
    assert_eq!(gaps[0]["rank"], 1);
    let jsea_gap = gaps
        .iter()
        .find(|g| g["question_id"] == "S2.q1")
        .expect("S2.q1 gap");
    assert_eq!(jsea_gap["points_lost"], 1.5);
    assert!(
        jsea_gap["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["href"] == format!("/records/{late}")),
        "{jsea_gap:#}"
    );
    let orientation_gap = gaps
        .iter()
        .find(|g| g["question_id"] == "S3.q1")
        .expect("S3.q1 gap");
    assert!(
        orientation_gap["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["label"]
                .as_str()
                .is_some_and(|t| t.starts_with("newcomer at Site A"))),
        "{orientation_gap:#}"
    );

    // S6: the site had work and no emergency plan: a gap naming the site, linked to the form.
    assert_eq!(share(&report, "S6.q1"), (0, 1));
    let plan_gap = gaps
        .iter()
        .find(|g| g["question_id"] == "S6.q1")
        .expect("S6.q1 gap");
    assert_eq!(plan_gap["sentence"], "1 of 1 site has no current emergency plan.");
    assert_eq!(
        plan_gap["links"][0]["href"],
        format!("/emergency-plans/new?site={}", company.site_a)
    );
    // S1: neither worker has acknowledged the right to refuse (estimated from records: a proxy).
    assert_eq!(share(&report, "S1.q4"), (0, 2));

    // The supervisor's plan for the site, signed off the day before work began, reaches the
    // server; the crew reviews it at the first tailgate meeting; the old hand acknowledges the
    // right to refuse.
    let plan = sup
        .store
        .create(
            &company.site_a,
            None,
            Body::EmergencyPlan(sample::emergency_plan()),
            at(-24 * 60),
        )
        .expect("plan");
    sup.store.sign(&plan, at(-23 * 60)).expect("sign off");
    sup.store.complete(&plan, at(-23 * 60)).expect("made current");
    let mut talk = TailgateMeeting::new("Start of the valve job", vec!["The site's emergency plan".into()]);
    talk.emergency_plan_id = Some(plan.clone());
    let tailgate = sup
        .store
        .create(&company.site_a, None, Body::TailgateMeeting(talk), at(1))
        .expect("tailgate");
    sup.store.sign(&tailgate, at(2)).expect("sign on");
    sup.store.complete(&tailgate, at(3)).expect("held");
    sup.sync().await;
    let me = old_hand.user_id();
    let ack = old_hand
        .store
        .create(
            &company.site_a,
            None,
            Body::Acknowledgement(sample::acknowledgement(&me)),
            at(300),
        )
        .expect("acknowledgement");
    old_hand.store.sign(&ack, at(301)).expect("sign");
    old_hand.store.complete(&ack, at(301)).expect("complete");
    old_hand.sync().await;

    let (status, report) = get_json(&url, &token_of(&office)).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(share(&report, "S6.q1"), (1, 1));
    assert_eq!(share(&report, "S6.q2"), (1, 1));
    assert_eq!(share(&report, "S1.q4"), (1, 2));
    let gaps = report["gaps"].as_array().expect("gaps");
    assert!(gaps.iter().all(|g| g["question_id"] != "S6.q1"), "{gaps:#?}");
    assert!(
        question(&report, "S6.q1")["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|l| l["href"] == format!("/records/{plan}"))
    );

    // Only the office reads it.
    for phone in [&sup, &newcomer] {
        assert_eq!(status_of(&url, &token_of(phone)).await, 403);
        let csv = format!("{}/v1/readiness.csv?{WINDOW}", server.url);
        assert_eq!(status_of(&csv, &token_of(phone)).await, 403);
    }
    // A bad date or an unknown catalogue says what was wrong.
    let (status, error) = get_json(
        &format!("{}/v1/readiness?from=yesterday", server.url),
        &token_of(&office),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("YYYY-MM-DD")),
        "{error}"
    );
    let (status, error) = get_json(
        &format!("{}/v1/readiness?catalogue=acsa-2099", server.url),
        &token_of(&office),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("secor-six")),
        "{error}"
    );

    // The CSV: a row per question, the same shares.
    let csv = reqwest::Client::new()
        .get(format!("{}/v1/readiness.csv?{WINDOW}", server.url))
        .bearer_auth(token_of(&office))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().await.expect("bytes");
    let mut reader = csv::Reader::from_reader(bytes.strip_prefix("\u{feff}".as_bytes()).expect("a BOM"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let questions: usize = report["elements"]
        .as_array()
        .expect("elements")
        .iter()
        .map(|e| e["questions"].as_array().expect("questions").len())
        .sum();
    assert_eq!(rows.len(), questions);
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let s2q1 = rows
        .iter()
        .find(|r| &r[column("question")] == "S2.q1")
        .expect("S2.q1 row");
    assert_eq!((&s2q1[column("met")], &s2q1[column("population")]), ("1", "2"));

    // The page: the office sees the estimate and the gaps; a worker is refused.
    let cookie = web_sign_in(&server.url, OFFICE, PASSWORD).await;
    let page = reqwest::Client::new()
        .get(format!("{}/readiness?{WINDOW}", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Overall estimate"), "{html}");
    assert!(html.contains("proxy: estimated from records"));
    assert!(html.contains("assessed by the auditor, not estimated"));
    assert!(html.contains(&format!("/records/{late}")));
    let worker_cookie = web_sign_in(&server.url, NEWCOMER, PASSWORD).await;
    let refused = reqwest::Client::new()
        .get(format!("{}/readiness", server.url))
        .header("cookie", &worker_cookie)
        .send()
        .await
        .expect("page");
    assert_eq!(refused.status(), 403);
}

/// A certifying partner's own catalogue: one element, a rule the server computes and one it does
/// not (left to the auditor).
const PARTNER: &str = r#"
schema = "muster.readiness-catalogue"
schema_version = 1
id = "partner-2027"
name = "A partner's SECOR tool, 2027"
version = "2027.1"
window_months = 12
pass = { overall = 0.8, element_floor = 0.5 }

[[element]]
id = "E10"
name = "Investigations and reporting"

[[element.question]]
id = "E10.1"
ask = "Are near misses reported?"
points = 5
scoring = "all_or_nothing"
method = ["documentation"]
provenance = "verified"
rule = { kind = "count_at_least", record_kind = "near_miss", n = 1 }

[[element.question]]
id = "E10.2"
ask = "Can workers describe how to report a near miss?"
points = 3
scoring = "proportional"
method = ["interview"]
provenance = "inferred"
rule = { kind = "worker_interviews" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_catalogue_is_chosen_by_id_and_a_bad_one_stops_the_server_naming_the_file() {
    let catalogues = tempfile::tempdir().expect("dir");
    std::fs::write(catalogues.path().join("partner.toml"), PARTNER).expect("write");
    let loaded = server::service::readiness::catalogue::Catalogues::load(catalogues.path()).expect("loads");
    let server = TestServer::start_with(move |state| state.catalogues = std::sync::Arc::new(loaded)).await;
    server.company("Acme Energy", &[(OFFICE, Role::Admin, &[])]);
    let dir = tempfile::tempdir().expect("dir");
    let office = Phone::sign_in(&server, &dir, OFFICE).await;

    let url = format!("{}/v1/readiness?{WINDOW}&catalogue=partner-2027", server.url);
    let (status, report) = get_json(&url, &token_of(&office)).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["catalogue"]["id"], "partner-2027");
    let offered: Vec<&str> = report["catalogues"]
        .as_array()
        .expect("catalogues")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(offered, ["secor-six", "partner-2027"]);
    // No near miss: the question is owed and lost; the interview is the auditor's.
    assert_eq!(share(&report, "E10.1"), (0, 1));
    assert_eq!(question(&report, "E10.2")["assessment"], "auditor");
    assert_eq!(report["available"], 5.0);
    assert_eq!(report["auditor_questions"], 1);
    assert_eq!(report["gaps"][0]["question_id"], "E10.1");

    // The server binary refuses to start on a catalogue it cannot read, and says which and why.
    let data = tempfile::tempdir().expect("data dir");
    std::fs::create_dir(data.path().join("catalogues")).expect("mkdir");
    let broken = data.path().join("catalogues").join("broken.toml");
    std::fs::write(&broken, PARTNER.replace("points = 5", "points = -5")).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fault-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .expect("run the server");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(&broken.display().to_string()), "{said}");
    assert!(said.contains("question E10.1: points = -5"), "{said}");
}
