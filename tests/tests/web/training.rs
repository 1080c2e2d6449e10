//! /training: the office opens the training matrix, sees a worker's expiring certificate
//! highlighted, records another worker's certificate through the form and sees it in the matrix;
//! /training/alerts lists both with their holders and dates.

use chrono::{Days, NaiveDate, Utc};
use e2e_tests::{PASSWORD, TestServer};
use server::service::Principal;
use server::service::training::{self, NewCertificate};

use crate::harness::{ADMIN, Browser, LEAD, WORKER, acme};

fn principal(server: &TestServer, email: &str) -> Principal {
    Principal::of(
        &server
            .store()
            .user_by_email(email)
            .expect("lookup")
            .expect("user"),
    )
}

fn in_days(days: u64) -> NaiveDate {
    Utc::now()
        .date_naive()
        .checked_add_days(Days::new(days))
        .expect("date")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_sees_the_matrix_and_records_a_certificate() {
    let server = TestServer::start().await;
    acme(&server);
    let worker = principal(&server, WORKER);
    let lead = principal(&server, LEAD);
    // The worker's first-aid ticket expires in 40 days: the 60-day alert.
    training::record_certificate(
        &server.state,
        &principal(&server, ADMIN),
        NewCertificate {
            holder_id: worker.user_id.clone(),
            certificate_type: "Standard First Aid".into(),
            number: "SFA-20417".into(),
            issuer: "Canadian Red Cross".into(),
            issued_on: in_days(40).checked_sub_days(Days::new(3 * 365)).expect("date"),
            expires_on: Some(in_days(40)),
            document_ref: Some("Office binder 3".into()),
        },
    )
    .await
    .expect("recorded");

    let browser = Browser::start("training").await;
    browser.sign_in(&server.url, ADMIN, PASSWORD).await;
    browser.open(&server.url, "/training").await;
    browser.screenshot("training").await;
    assert_eq!(browser.h1().await, "Training and competency");
    let worker_row = format!("table#matrix tr[data-user-id=\"{}\"]", worker.user_id);
    let expiring = browser
        .text_of(&format!("{worker_row} li.cert.expiring"))
        .await
        .expect("the worker's certificate is highlighted as expiring");
    assert!(
        expiring.contains("SFA-20417") && expiring.contains("60 days alert"),
        "{expiring}"
    );
    assert_eq!(browser.count("table#matrix li.cert.expired").await, 0);

    // The lead's H2S ticket, entered from its document; it expires in 20 days.
    let form = "form#record-certificate";
    browser
        .select(&format!("{form} select[name=holder]"), &lead.user_id)
        .await;
    browser
        .fill(&format!("{form} input[name=certificate_type]"), "H2S Alive")
        .await;
    browser
        .fill(&format!("{form} input[name=number]"), "H2S-778")
        .await;
    browser
        .fill(&format!("{form} input[name=issuer]"), "Energy Safety Canada")
        .await;
    // A date field's typing depends on the browser's locale: set its value as a person's picker does.
    for (name, day) in [
        (
            "issued_on",
            in_days(20).checked_sub_days(Days::new(3 * 365)).expect("date"),
        ),
        ("expires_on", in_days(20)),
    ] {
        browser
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![
                    serde_json::json!(format!("{form} input[name={name}]")),
                    serde_json::json!(day.format("%Y-%m-%d").to_string()),
                ],
            )
            .await
            .expect("set the date");
    }
    browser
        .fill(&format!("{form} input[name=document_ref]"), "Scan h2s-778.pdf")
        .await;
    browser.screenshot("training-form-filled").await;
    browser
        .click_to_load(&format!("{form} button[type=submit]"))
        .await;
    let status = browser.status_message().await.expect("a status message");
    assert!(status.contains("Certificate recorded"), "{status}");
    browser.screenshot("training-after-record").await;
    let lead_row = format!("table#matrix tr[data-user-id=\"{}\"]", lead.user_id);
    let recorded = browser
        .text_of(&format!("{lead_row} li.cert"))
        .await
        .expect("the lead's certificate is in the matrix");
    assert!(recorded.contains("H2S Alive No. H2S-778"), "{recorded}");
    assert!(recorded.contains("30 days alert"), "{recorded}");

    // The alerts: both, soonest expiry first, with holder and date.
    browser.open(&server.url, "/training/alerts").await;
    browser.screenshot("training-alerts").await;
    let rows = browser
        .find_all(thirtyfour::By::Css("table#alerts tbody tr"))
        .await
        .expect("rows");
    let mut seen = Vec::new();
    for row in rows {
        seen.push(row.text().await.expect("text"));
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].contains("30 days") && seen[0].contains("lead") && seen[0].contains(&in_days(20).to_string()),
        "{seen:?}"
    );
    assert!(
        seen[1].contains("60 days")
            && seen[1].contains("worker")
            && seen[1].contains(&in_days(40).to_string()),
        "{seen:?}"
    );
    browser.quit().await;
    server.stop().await;
}
