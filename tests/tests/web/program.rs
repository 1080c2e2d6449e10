//! The program pages in the browser: the office follows a gap on the readiness report to the
//! investigation behind it, addresses its findings and completes it, and the gap closes; a site
//! with work and no emergency plan is flagged, the office writes its plan from the flag, and the
//! phone at the site receives it to keep offline; a worker's acknowledgement signed on the phone
//! shows on the policy page.

use e2e_tests::{PASSWORD, Phone, TestServer, at};
use server::service::Principal;
use server::service::incidents::{self, InvestigationForm, NewInvestigationAction};
use sync_core::kinds::acknowledgement::Acknowledgement;
use sync_core::kinds::incident::{Incident, IncidentType};
use sync_core::model::Body;

use crate::harness::{ADMIN, Browser, LEAD, SUPER, acme, completed_jsea};

fn principal(server: &TestServer, email: &str) -> Principal {
    Principal::of(
        &server
            .store()
            .user_by_email(email)
            .expect("lookup")
            .expect("user"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readiness_gap_is_followed_to_its_investigation_and_closed() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let incident = Incident::new(
        IncidentType::Damage,
        at(0).wall_ms,
        "The picker's boom struck the light tower while slewing",
        lead.user_id(),
    );
    let incident_id = lead
        .store
        .create(&company.site_a, None, Body::Incident(incident), at(1))
        .expect("report");
    lead.store.complete(&incident_id, at(2)).expect("reported");
    let report = lead.sync().await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    // The supervisor's first go at the investigation blames the operator and asks for care.
    let supervisor = principal(&server, SUPER);
    let due_ms = at(0).wall_ms + 10 * 86_400_000;
    let investigation_id = incidents::start_investigation(
        &server.state,
        &supervisor,
        &incident_id,
        InvestigationForm {
            sequence: vec!["Slewed the boom with the tower inside the swing radius".into()],
            immediate_causes: vec!["Boom inside the light tower's clearance".into()],
            root_causes: vec!["Operator error: not paying attention".into()],
            actions: Some(vec![NewInvestigationAction {
                action: "Remind the operator to be more careful".into(),
                assignee: lead.user_id(),
                due_ms,
            }]),
        },
    )
    .await
    .expect("investigation saved as a draft");

    let browser = Browser::start("program_gap").await;
    browser.sign_in(&server.url, ADMIN, PASSWORD).await;
    browser.open(&server.url, "/readiness").await;
    browser.screenshot("readiness").await;
    let link = format!("a[href=\"/investigations/{investigation_id}\"]");
    assert_eq!(
        browser.count(&format!("#gaps {link}")).await,
        1,
        "the gap names the investigation that blames the worker"
    );
    browser.click_to_load(&format!("#gaps {link}")).await;
    assert_eq!(
        browser.path().await,
        format!("/investigations/{investigation_id}")
    );
    browser.screenshot("investigation_with_findings").await;
    let findings = browser
        .text_of("#findings")
        .await
        .expect("the findings are listed");
    assert!(findings.to_lowercase().contains("worker"), "{findings}");

    // Completing it as it stands is refused, and nothing typed is lost.
    browser.click_to_load("#complete").await;
    assert_eq!(
        browser.text_of("#investigation-status").await.as_deref(),
        Some("Being written")
    );
    assert!(browser.text_of("#findings").await.is_some());

    browser
        .fill(
            "#root",
            "No exclusion zone was marked around the light tower\nThe lift plan did not cover slewing near fixed equipment",
        )
        .await;
    // A half-filled action row is refused, and the causes typed with it are kept.
    browser
        .fill(
            "form#investigation div.row-fields:nth-of-type(2) input[name=action]",
            "Spotter for every slew near fixed equipment",
        )
        .await;
    browser
        .click_to_load("form#investigation button[type=submit]:not(#complete)")
        .await;
    let refused = browser.body_text().await;
    assert!(refused.contains("The rest is saved"), "{refused}");
    browser
        .open(&server.url, &format!("/investigations/{investigation_id}"))
        .await;
    let kept = browser.text_of("#root").await.unwrap_or_default();
    assert!(kept.contains("No exclusion zone"), "{kept}");
    browser
        .fill(
            "form#investigation input[name=action]",
            "Mark a 3 m exclusion zone around the light tower with cones and add it to the lift plan",
        )
        .await;
    browser.click_to_load("#complete").await;
    browser.screenshot("investigation_completed").await;
    assert_eq!(
        browser.text_of("#investigation-status").await.as_deref(),
        Some("Completed")
    );
    assert!(browser.text_of("#findings").await.is_none());

    browser.open(&server.url, "/readiness").await;
    assert_eq!(
        browser.count(&format!("#gaps {link}")).await,
        0,
        "the gap closed once the investigation found system causes"
    );
    browser.screenshot("readiness_after").await;
    browser.quit().await;
}

/// Fills the plan form on the open page, the hospital only when given, and sends it.
async fn fill_plan(browser: &Browser, hospital: Option<&str>) {
    let form = "form#plan";
    browser
        .fill(&format!("{form} input[name=muster_name]"), "Lease entrance")
        .await;
    browser
        .fill(&format!("{form} input[name=muster_lat]"), "53.4510")
        .await;
    browser
        .fill(&format!("{form} input[name=muster_lon]"), "-115.0114")
        .await;
    if let Some(hospital) = hospital {
        browser.fill("#hospital", hospital).await;
    }
    browser
        .fill("#route", "Lease road south to Hwy 22, south to Drayton Valley")
        .await;
    browser
        .fill(
            "#equipment",
            "Extinguisher at the pad entrance\nSpill kit by the tanks",
        )
        .await;
    browser
        .fill("#first-aid", "Two first aiders on the crew; kit in the truck")
        .await;
    browser
        .fill("#rescue", "Stop work, muster, head count, call 911")
        .await;
    browser
        .fill("#alarms", "Three horn blasts; radio channel 4")
        .await;
    browser
        .click_to_load(&format!("{form} button[type=submit]"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_a_plan_gets_one_from_its_flag_and_the_phone_keeps_it() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    completed_jsea(&mut lead, &company.site_a, "Set the pump jack", 0);
    let ack = lead
        .store
        .create(
            &company.site_a,
            None,
            Body::Acknowledgement(Acknowledgement::right_to_refuse(lead.user_id())),
            at(5),
        )
        .expect("acknowledgement");
    lead.store.sign(&ack, at(6)).expect("signed by the worker");
    lead.store.complete(&ack, at(6)).expect("done");
    let report = lead.sync().await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    let browser = Browser::start("program_plan").await;
    browser.sign_in(&server.url, ADMIN, PASSWORD).await;
    browser.open(&server.url, "/policy").await;
    browser.screenshot("policy").await;
    let lead_row = format!("table#acks tr[data-user-id=\"{}\"]", lead.user_id());
    let signed = browser.text_of(&lead_row).await.expect("the lead's row");
    assert!(signed.contains("Signed"), "{signed}");

    browser.open(&server.url, "/flags").await;
    let flagged = "section[data-flag=\"site.no_emergency_plan\"]";
    let listed = browser
        .text_of(flagged)
        .await
        .expect("the site without a plan is flagged");
    assert!(listed.contains("Site A"), "{listed}");
    browser
        .click_to_load(&format!(
            "{flagged} a[href=\"/emergency-plans/new?site={}\"]",
            company.site_a
        ))
        .await;
    browser.screenshot("emergency_plan_new").await;

    // Sent with the hospital missing: refused, naming it.
    fill_plan(&browser, None).await;
    let refusal = browser.body_text().await;
    assert!(refusal.to_lowercase().contains("hospital"), "{refusal}");

    browser
        .open(
            &server.url,
            &format!("/emergency-plans/new?site={}", company.site_a),
        )
        .await;
    fill_plan(&browser, Some("Drayton Valley Hospital")).await;
    assert_eq!(browser.path().await, "/emergency-plans?done=plan_current");
    browser.screenshot("emergency_plans").await;
    let row = browser
        .text_of(&format!("table#plans tr[data-site-id=\"{}\"]", company.site_a))
        .await
        .expect("site A's row");
    assert!(row.contains("Current") && row.contains("Lease entrance"), "{row}");
    browser.open(&server.url, "/flags").await;
    assert_eq!(browser.count(flagged).await, 0, "the flag is gone");

    // The lead's phone receives the plan and keeps it offline.
    let report = lead.sync().await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let plans: Vec<_> = lead
        .store
        .list(&sync_core::ListFilter {
            kind: Some("emergency_plan".into()),
            ..Default::default()
        })
        .expect("list on the phone");
    assert_eq!(plans.len(), 1, "{plans:?}");
    let plan = lead
        .store
        .record(&plans[0].id)
        .expect("the plan on the phone")
        .record;
    match plan.body {
        Body::EmergencyPlan(p) => {
            assert_eq!(p.hospital, "Drayton Valley Hospital");
            assert_eq!(p.muster_points[0].name, "Lease entrance");
        }
        other => panic!("not a plan: {other:?}"),
    }
    browser.quit().await;
}
