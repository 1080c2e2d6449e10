//! /people: an admin adds a worker in the browser, and the new worker signs in on a phone and
//! syncs the records of the site they were given.

use e2e_tests::{PASSWORD, Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::sample;

use crate::harness::{ADMIN, Browser, LEAD, WORKER, acme, completed_jsea};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_worker_who_then_signs_in_on_a_phone() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    // Records already at the sites: the new hire should get site A's, not site B's.
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let at_a = completed_jsea(&mut worker, &company.site_a, "Valve swap at A", 0);
    let at_b = completed_jsea(&mut worker, &company.site_b, "Flare check at B", 10);
    worker.sync().await;

    let browser = Browser::start("people").await;
    browser.sign_in(&server.url, ADMIN, PASSWORD).await;
    browser.open(&server.url, "/people").await;
    browser.screenshot("people").await;
    let before = browser.count("table#people tr[data-user-id]").await;
    assert!(before >= 4, "Acme's four people are listed ({before})");
    assert!(browser.body_text().await.contains(LEAD));

    let email = "new.hire@acme.test";
    let password = "a long enough password";
    let form = "form#add-person";
    browser
        .fill(&format!("{form} input[name=name]"), "Nadia New-Hire")
        .await;
    browser
        .fill(&format!("{form} input[name=email][type=email]"), email)
        .await;
    browser
        .select(&format!("{form} select[name=role]"), "worker")
        .await;
    browser
        .click(&format!(
            "{form} input[type=checkbox][name=sites][value=\"{}\"]",
            company.site_a
        ))
        .await;
    browser
        .fill(&format!("{form} input[name=password][type=password]"), password)
        .await;
    browser.screenshot("people-form-filled").await;
    browser
        .click_to_load(&format!("{form} button[type=submit], {form} input[type=submit]"))
        .await;
    let status = browser.status_message().await;
    assert!(status.is_some(), "no status message after adding a person");
    browser.screenshot("people-after-add").await;
    assert_eq!(browser.count("table#people tr[data-user-id]").await, before + 1);
    let mut listed = false;
    for row in browser
        .find_all(thirtyfour::By::Css("table#people tr[data-user-id]"))
        .await
        .expect("rows")
    {
        listed |= row.text().await.expect("text").contains(email);
    }
    assert!(listed, "{email} is in the people table");

    // The new worker signs in on a phone with the password the admin set, and syncs.
    let mut hire = Phone::sign_in_with_password(&server, &dir, email, password).await;
    let report = hire.sync().await;
    assert!(report.received >= 1, "{report:?}");
    assert!(
        hire.store.record(&at_a).is_ok(),
        "site A's JSEA reached the phone"
    );
    assert!(
        hire.store.record(&at_b).is_err(),
        "site B's did not: the hire works at site A only"
    );
    let profile = hire.store.profile().expect("signed in").clone();
    assert_eq!(profile.display_name, "Nadia New-Hire");
    let user = server
        .store()
        .user(&company.id, &profile.user_id)
        .expect("lookup")
        .expect("the new person is stored");
    assert_eq!(
        (user.email.as_str(), user.role, user.sites.clone()),
        (
            email,
            sync_core::protocol::Role::Worker,
            vec![company.site_a.clone()]
        )
    );
    let own = hire
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(at(20).wall_ms)),
            at(21),
        )
        .expect("a near miss of their own");
    assert_eq!(hire.sync().await.accepted, 1);
    assert!(
        server
            .store()
            .document(&company.id, &own)
            .expect("lookup")
            .is_some()
    );
    browser.quit().await;
    server.stop().await;
}
