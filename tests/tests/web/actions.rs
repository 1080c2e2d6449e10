//! /actions: a supervisor sees the actions failed pre-starts raised, the overdue one flagged once
//! the server's clock passes its due date, verifies the one a worker resolved on a phone (its unit
//! back in service on /equipment), raises one from the office, and downloads exactly the filtered
//! rows as CSV.

use e2e_tests::{PASSWORD, Phone, TestServer, World, at};
use sync_core::model::Body;
use sync_core::parts::ItemResult;
use sync_core::program::raised_action_id;
use sync_core::{Stamp, sample};

use crate::harness::{Browser, LEAD, SUPER, WORKER, acme, parse_csv};

const CSV_HEADER: &str = "id,site,status,overdue,hazard,action,unit,source_kind,source_record,assignee,raised_by,identified_at,due_at,resolved_by,closed_at";

/// A completed pre-start of `unit` on `phone` with `fail` failed; the action it raises.
/// A pre-start with `fail` failed, done at `wall_ms` (the world's time): its action counts from then.
fn failed_pre_start(phone: &mut Phone, site: &str, unit: &str, fail: &str, wall_ms: i64) -> String {
    let stamp = |minute: i64| {
        Stamp::new(
            wall_ms + minute * 60_000,
            wall_ms / 10 + minute * 60_000,
            "boot-1",
        )
    };
    let mut pre_start = sample::prestart(&phone.user_id());
    pre_start.unit.unit_id = unit.into();
    let mut failed = String::new();
    for item in &mut pre_start.items {
        if item.label == fail {
            item.result = Some(ItemResult::Fail);
            item.defect_note = Some("found on the walk-around".into());
            failed = item.id.clone();
        } else {
            item.result = Some(ItemResult::Pass);
        }
    }
    let id = phone
        .store
        .create(site, None, Body::PreStart(pre_start), stamp(0))
        .expect("pre-start");
    phone.store.sign(&id, stamp(1)).expect("sign off");
    phone.store.complete(&id, stamp(2)).expect("complete");
    raised_action_id(&id, &failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_open_and_overdue_actions_verifies_one_and_downloads_the_filtered_csv() {
    let world = World::new();
    let clock = world.server_clock();
    let server = TestServer::start_with(move |state| state.clock = clock).await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;

    // Monday: the loader's brakes fail. Thursday: the pickup's steering. Nobody has fixed the
    // brakes by Thursday, two days after they were due.
    let brakes = failed_pre_start(&mut lead, &company.site_a, "LD-3", "Brakes", world.now());
    assert_eq!(lead.sync().await.accepted, 1);
    world.set(6 + 72, 0);
    let steering = failed_pre_start(&mut lead, &company.site_a, "PU-14", "Steering", world.now());
    assert_eq!(lead.sync().await.accepted, 1);
    server::judge::drain_once(server.store(), world.now()).expect("judge");
    // The lead fixes the brakes and resolves the action on the phone.
    lead.sync().await;
    lead.store
        .edit(&brakes, |r| {
            let Body::CorrectiveAction(a) = &mut r.body else {
                unreachable!()
            };
            a.resolution_note = Some("New brake pads and a bled line; tested on the pad".into());
            Ok(())
        })
        .expect("note");
    lead.store.sign(&brakes, at(20)).expect("resolve");
    assert_eq!(lead.sync().await.accepted, 1);

    let browser = Browser::start("actions").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/actions").await;
    browser.screenshot("log").await;
    let rows = browser.attrs("table#actions tbody tr", "data-record-id").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.contains(&brakes) && rows.contains(&steering), "{rows:?}");
    for id in &rows {
        assert_eq!(
            browser
                .count(&format!("tr[data-record-id=\"{id}\"] a[href=\"/records/{id}\"]"))
                .await,
            1,
            "row {id} links to its record"
        );
    }
    let brakes_row = browser
        .text_of(&format!("tr[data-record-id=\"{brakes}\"]"))
        .await
        .expect("row");
    assert!(
        brakes_row.contains("Overdue") && brakes_row.contains("Awaiting verification"),
        "{brakes_row}"
    );
    assert!(brakes_row.contains("Raised automatically"), "{brakes_row}");
    assert!(
        brakes_row.contains("super"),
        "assigned to the site's supervisor: {brakes_row}"
    );
    let steering_row = browser
        .text_of(&format!("tr[data-record-id=\"{steering}\"]"))
        .await
        .expect("row");
    assert!(
        steering_row.contains("Open") && !steering_row.contains("Overdue"),
        "{steering_row}"
    );

    // The overdue tab: only the brakes, with the flag's evidence on its page.
    browser
        .click_to_load("nav.tabs a[href^=\"/actions?show=overdue\"]")
        .await;
    browser.screenshot("overdue").await;
    assert_eq!(
        browser.attrs("table#actions tbody tr", "data-record-id").await,
        vec![brakes.clone()]
    );
    browser.open(&server.url, &format!("/actions/{brakes}")).await;
    browser.screenshot("resolved-action").await;
    let flag = browser
        .text_of("li.flag[data-flag=\"corrective_action.overdue\"]")
        .await
        .expect("the overdue flag");
    assert!(
        flag.contains("past its due date") && flag.contains("due"),
        "{flag}"
    );
    assert!(
        browser.body_text().await.contains("New brake pads"),
        "what was done is shown"
    );

    // Verify the fix: closed, the loader back in service.
    browser.click("#verify input[value=fixed]").await;
    browser.click_to_load("#verify button[type=submit]").await;
    assert_eq!(browser.path().await, "/actions?done=verified");
    assert!(
        browser
            .status_message()
            .await
            .is_some_and(|m| m.contains("Verified")),
        "a notice says what happened"
    );
    browser.screenshot("verified").await;
    let brakes_row = browser
        .text_of(&format!("tr[data-record-id=\"{brakes}\"]"))
        .await
        .expect("row");
    assert!(
        brakes_row.contains("Closed") && !brakes_row.contains("Overdue"),
        "{brakes_row}"
    );
    browser.open(&server.url, "/equipment").await;
    browser.screenshot("equipment").await;
    let loader = browser.text_of("tr[data-unit=\"LD-3\"]").await.expect("loader");
    assert!(
        loader.contains("In service") && loader.contains("Back in service"),
        "{loader}"
    );
    let pickup = browser.text_of("tr[data-unit=\"PU-14\"]").await.expect("pickup");
    assert!(
        pickup.contains("Out of service") && pickup.contains("Added from the field"),
        "{pickup}"
    );

    // Raise one from the office, assigned to a worker.
    browser.open(&server.url, "/actions").await;
    browser
        .select("form#raise-action select[name=site]", &company.site_a)
        .await;
    browser
        .fill(
            "form#raise-action textarea[name=hazard]",
            "Eyewash station out of date",
        )
        .await;
    browser
        .fill(
            "form#raise-action textarea[name=action]",
            "Replace the eyewash bottles",
        )
        .await;
    let worker_id = server
        .store()
        .user_by_email(WORKER)
        .expect("lookup")
        .expect("worker")
        .id;
    browser
        .select("form#raise-action select[name=assignee]", &worker_id)
        .await;
    browser
        .execute(
            "document.querySelector('form#raise-action input[name=due]').value = '2026-11-30';",
            Vec::new(),
        )
        .await
        .expect("due date");
    browser
        .click_to_load("form#raise-action button[type=submit]")
        .await;
    assert_eq!(
        browser.path().await,
        "/actions?done=raised",
        "{}",
        browser.body_text().await
    );
    let rows = browser.attrs("table#actions tbody tr", "data-record-id").await;
    assert_eq!(rows.len(), 3, "{rows:?}");

    // Open actions assigned to the supervisor, found in pre-starts: the steering only, in the
    // table and in its CSV.
    browser
        .click_to_load("nav.tabs a[href^=\"/actions?show=open\"]")
        .await;
    let supervisor_id = server
        .store()
        .user_by_email(SUPER)
        .expect("lookup")
        .expect("supervisor")
        .id;
    browser
        .select("form#filters select[name=assignee]", &supervisor_id)
        .await;
    browser
        .select("form#filters select[name=source]", "pre_start")
        .await;
    browser.click_to_load("form#filters button[type=submit]").await;
    browser.screenshot("filtered").await;
    let path = browser.path().await;
    assert!(
        path.contains("show=open") && path.contains("source=pre_start") && path.contains(&supervisor_id),
        "{path}"
    );
    let shown = browser.attrs("table#actions tbody tr", "data-record-id").await;
    assert_eq!(shown, vec![steering.clone()]);
    let href = browser.attrs("a#csv", "href").await.remove(0);
    assert!(
        href.starts_with("/actions.csv?") && href.contains("show=open"),
        "{href}"
    );
    let http = browser.http(&server.url).await;
    let response = http.get(&href).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("csv");
    let rows = parse_csv(&text);
    assert_eq!(rows[0].join(","), CSV_HEADER);
    let body = &rows[1..];
    assert_eq!(body.len(), 1, "{rows:?}");
    let row = &body[0];
    assert_eq!(row[0], steering);
    assert_eq!(row[2], "open");
    assert_eq!(row[3], "no");
    assert_eq!(row[6], "PU-14");
    assert_eq!(row[7], "pre_start");
    assert_eq!(row[9], "super");
    assert_eq!(row[10], "Raised automatically");

    // The closed ones, as CSV straight from the same filters.
    let closed = parse_csv(
        &http
            .get("/actions.csv?show=closed")
            .await
            .text()
            .await
            .expect("csv"),
    );
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert_eq!(
        (closed[1][0].as_str(), closed[1][13].as_str()),
        (brakes.as_str(), "lead")
    );
    browser.quit().await;
    server.stop().await;
}
