//! A record's page as the office reads it: every moment in the site's time zone (the timeline's
//! corrected times and the kind's own times alike), and an anonymous report anonymous.

use e2e_tests::{PASSWORD, Phone, TestServer, at, web_sign_in};
use sync_core::protocol::Role;
use sync_core::sample;

const REPORTER: &str = "reporter@acme.test";
const OFFICE: &str = "office@acme.test";

#[tokio::test(flavor = "multi_thread")]
async fn a_near_miss_page_shows_its_times_in_the_sites_zone_and_names_no_reporter() {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[(REPORTER, Role::Worker, &[0]), (OFFICE, Role::Admin, &[])],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut reporter = Phone::sign_in(&server, &dir, REPORTER).await;
    // at(0) is 2026-11-18 11:06:40 UTC: 04:06 in Alberta (MST).
    let id = reporter
        .store
        .create_anonymous_near_miss(&company.site_a, None, sample::near_miss(at(0).wall_ms), at(0))
        .expect("near miss");
    assert_eq!(reporter.sync().await.accepted, 1);

    let cookie = web_sign_in(&server.url, OFFICE, PASSWORD).await;
    let page = reqwest::Client::new()
        .get(format!("{}/records/{id}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .expect("record page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<dt>When</dt><dd>2026-11-18 04:06 MST</dd>"),
        "the near miss's own time in the site's zone: {html}"
    );
    assert!(!html.contains(" UTC</dd>"), "no UTC time among the content rows");
    assert!(
        html.contains("When: 2026-11-18 04:06 MST"),
        "the timeline in the site's zone"
    );
    assert!(html.contains("<dt>Created by</dt><dd>Anonymous</dd>"));
    assert!(
        !html.contains("reporter"),
        "the reporter is named nowhere on the page"
    );
}
