//! /flags: a JSEA completed after work had started is listed under its flag and links to its
//! record page, which shows the flag's message and evidence.

use e2e_tests::{PASSWORD, Phone, TestServer, at, get_json};
use sync_core::flags::codes::{COMPLETED_AFTER_WORK_STARTED, WORK_STARTED_WITHOUT_APPROVAL};

use crate::harness::{Browser, SUPER, WORKER, acme, completed_jsea, new_jsea};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsea_completed_after_work_started_is_flagged_with_its_evidence() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;

    // In order: completed at 06:03, work started at 06:30.
    let on_time = completed_jsea(&mut worker, &company.site_a, "Swap the separator dump valve", 0);
    worker.store.start_work(&on_time, at(30)).expect("start");
    // Out of order: work started at 07:10, the JSEA completed at 07:40.
    let late = new_jsea(&mut worker, &company.site_b, "Hot tap on the sales line", 68);
    worker.store.start_work(&late, at(70)).expect("start");
    worker.store.sign(&late, at(99)).expect("sign");
    worker.store.complete(&late, at(100)).expect("complete");
    assert_eq!(worker.sync().await.accepted, 2);

    // What the server judged, through its JSON API, to compare the pages with.
    let token = worker
        .store
        .credentials()
        .expect("credentials")
        .expect("signed in")
        .access_token;
    let (status, detail) = get_json(&format!("{}/v1/records/{late}", server.url), &token).await;
    assert_eq!(status, 200, "{detail}");
    let flag = detail["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["code"] == COMPLETED_AFTER_WORK_STARTED)
        .expect("the server flagged the late JSEA")
        .clone();

    let browser = Browser::start("flags").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/flags").await;
    browser.screenshot("flags").await;
    let group = format!("section.flag-group[data-flag=\"{COMPLETED_AFTER_WORK_STARTED}\"]");
    assert_eq!(browser.count(&group).await, 1, "a group for the flag");
    let linked: Vec<String> = browser
        .attrs(&format!("{group} a[href^=\"/records/\"]"), "href")
        .await;
    assert_eq!(
        linked,
        vec![format!("/records/{late}")],
        "only the late JSEA is under this flag"
    );
    // Both started work with no approval: the JSEA done in order is listed under that flag only.
    let unapproved = browser
        .attrs(
            &format!(
                "section.flag-group[data-flag=\"{WORK_STARTED_WITHOUT_APPROVAL}\"] a[href^=\"/records/\"]"
            ),
            "href",
        )
        .await;
    assert!(
        unapproved.contains(&format!("/records/{on_time}")),
        "{unapproved:?}"
    );

    browser
        .click_to_load(&format!("{group} a[href=\"/records/{late}\"]"))
        .await;
    assert_eq!(browser.path().await, format!("/records/{late}"));
    browser.screenshot("record").await;
    assert_eq!(browser.h1().await, "Hot tap on the sales line");
    let shown = browser
        .text_of(&format!(
            "section#flags li.flag[data-flag=\"{COMPLETED_AFTER_WORK_STARTED}\"]"
        ))
        .await
        .expect("the flag on the record page");
    let message = flag["message"].as_str().expect("message");
    assert!(shown.contains(message), "message {message:?} not in {shown:?}");
    assert!(
        message.contains("30"),
        "completed 30 min after work started: {message}"
    );
    for (name, value) in flag["evidence"].as_object().expect("evidence") {
        let value = value.as_str().expect("evidence is text");
        assert!(
            shown.contains(value),
            "evidence {name} = {value:?} not shown in {shown:?}"
        );
    }
    for section in [
        "timeline",
        "flags",
        "signatures",
        "approvals",
        "content",
        "conflicts",
    ] {
        assert_eq!(
            browser.count(&format!("section#{section}")).await,
            1,
            "record page section {section}"
        );
    }
    let timeline = browser.text_of("section#timeline").await.unwrap_or_default();
    assert!(!timeline.trim().is_empty(), "the timeline lists events");
    browser.quit().await;
    server.stop().await;
}
