//! /inspections: a weekly schedule nobody has inspected for two weeks shows both missed windows
//! first, with their evidence, and the current week due; a supervisor adds a schedule through the
//! form.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDate;
use e2e_tests::{PASSWORD, TestServer};
use server::service::Principal;
use server::service::inspections::{self, Frequency, MISSED_FINDING, NewSchedule};
use server::store::ChecklistTemplateItem;

use crate::harness::{Browser, LEAD, SUPER, acme};

/// 2026-11-02 00:00 in Alberta (MST, UTC−7).
const MONDAY: i64 = 1_793_577_600_000 + 7 * 3_600_000;
const DAY: i64 = 86_400_000;

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
async fn missed_inspections_come_first_and_a_supervisor_adds_a_schedule() {
    let now = Arc::new(AtomicI64::new(MONDAY + DAY));
    let clock = now.clone();
    let server =
        TestServer::start_with(move |state| state.clock = Arc::new(move || clock.load(Ordering::SeqCst)))
            .await;
    let company = acme(&server);
    let supervisor = principal(&server, SUPER);
    inspections::create(
        &server.state,
        &supervisor,
        NewSchedule {
            site_id: company.site_a.clone(),
            title: "Weekly site inspection".into(),
            checklist: vec![
                ChecklistTemplateItem {
                    label: "Fire extinguishers charged and tagged".into(),
                    critical: true,
                },
                ChecklistTemplateItem {
                    label: "Walkways and stairs clear".into(),
                    critical: false,
                },
            ],
            frequency: Frequency::Weekly,
            starts_on: NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
            assignee: principal(&server, LEAD).user_id,
        },
    )
    .await
    .expect("schedule");
    // Two weeks and a day on, nobody has inspected.
    now.store(MONDAY + 15 * DAY, Ordering::SeqCst);

    let browser = Browser::start("inspections").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/inspections").await;
    browser.screenshot("inspections").await;
    assert_eq!(browser.h1().await, "Inspections");
    assert_eq!(browser.count("#missed li.missed-item").await, 2);
    let first = browser
        .text_of("#missed li.missed-item")
        .await
        .expect("a missed item");
    assert!(
        first.contains("Weekly site inspection") && first.contains("2026-11-09"),
        "newest first: {first}"
    );
    assert_eq!(browser.count("tr.occurrence[data-status=missed]").await, 2);
    assert_eq!(browser.count("tr.occurrence[data-status=due]").await, 1);
    browser.click("#missed details summary").await;
    browser.screenshot("inspections-evidence").await;
    assert!(browser.body_text().await.contains(MISSED_FINDING));

    // The supervisor adds a daily one through the form.
    let form = "form#add-schedule";
    browser
        .select(&format!("{form} select[name=site]"), &company.site_a)
        .await;
    browser
        .fill(&format!("{form} input[name=title]"), "Daily pad walk")
        .await;
    browser
        .fill(
            &format!("{form} textarea[name=items]"),
            "*Berms intact\nSpill kit stocked",
        )
        .await;
    browser
        .select(&format!("{form} select[name=frequency]"), "daily")
        .await;
    browser
        .select(
            &format!("{form} select[name=assignee]"),
            &principal(&server, LEAD).user_id,
        )
        .await;
    browser
        .click_to_load(&format!("{form} button[type=submit]"))
        .await;
    let status = browser.status_message().await.expect("a status message");
    assert!(status.contains("Schedule added"), "{status}");
    browser.screenshot("inspections-after-add").await;
    assert_eq!(browser.count("section.schedule").await, 2);
    let added = inspections::statuses(&server.state, &supervisor)
        .await
        .expect("statuses");
    let daily = added
        .iter()
        .find(|s| s.schedule.title == "Daily pad walk")
        .expect("added");
    assert_eq!(daily.schedule.rrule, "FREQ=DAILY");
    assert_eq!(daily.schedule.checklist.len(), 2);
    assert!(daily.schedule.checklist[0].critical);
    browser.quit().await;
    server.stop().await;
}
