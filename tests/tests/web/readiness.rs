//! /readiness in a browser: the office sees the overall estimate against the 80 % line, the
//! ranked gaps before the elements, the badges that say what is estimated and what is left to the
//! auditor, and follows the emergency-plan gap to the form that closes it; a worker is refused.

use e2e_tests::{PASSWORD, Phone, TestServer};

use crate::harness::{ADMIN, Browser, LEAD, WORKER, acme, completed_jsea};

/// The window asked for: it holds every stamp the phones make.
const PAGE: &str = "/readiness?from=2026-01-01&to=2026-11-30";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_reads_the_estimate_and_follows_a_gap_to_what_closes_it() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    completed_jsea(&mut lead, &company.site_a, "Replace the wellhead valve", 10);
    lead.sync().await;

    let browser = Browser::start("readiness").await;
    browser.sign_in(&server.url, ADMIN, PASSWORD).await;
    browser.open(&server.url, PAGE).await;
    browser.screenshot("readiness").await;
    assert!(browser.h1().await.starts_with("SECOR readiness"));
    assert_eq!(browser.attrs("input#from", "value").await, ["2026-01-01"]);
    assert_eq!(browser.attrs("input#to", "value").await, ["2026-11-30"]);
    let overall = browser.text_of("#overall").await.expect("the overall estimate");
    assert!(overall.contains("line 80 %"), "{overall}");
    assert!(
        browser
            .text_of("#verdict")
            .await
            .expect("verdict")
            .contains("Estimated")
    );

    // The gaps come first, most points lost first, then the six elements.
    let text = browser.body_text().await;
    let gaps_at = text.find("Gaps, most points first").expect("gaps");
    let elements_at = text.find("S1 Management & Leadership:").expect("elements");
    assert!(gaps_at < elements_at, "the gaps are listed before the elements");
    assert_eq!(browser.count("section.element").await, 6);
    assert!(browser.count("ol.gaps li.gap").await >= 3);
    assert_eq!(browser.count("li.question[data-assessment=auditor]").await, 3);
    assert!(text.contains("proxy: estimated from records"));
    assert!(text.contains("assessed by the auditor, not estimated"));

    // The site worked without an emergency plan: the gap links the form for that site.
    let plan_gap = "ol.gaps li.gap[data-question=\"S6.q1\"]";
    let sentence = browser
        .text_of(&format!("{plan_gap} .sentence"))
        .await
        .expect("S6.q1 gap");
    assert_eq!(sentence, "1 of 1 site has no current emergency plan.");
    browser.click_to_load(&format!("{plan_gap} ul.links a")).await;
    assert_eq!(
        browser.path().await,
        format!("/emergency-plans/new?site={}", company.site_a)
    );
    browser.quit().await;

    // A worker is refused the page.
    let worker = Browser::start("readiness-worker").await;
    worker.sign_in(&server.url, WORKER, PASSWORD).await;
    worker.open(&server.url, PAGE).await;
    assert_eq!(worker.h1().await, "Not allowed");
    worker.quit().await;
}
