//! /approvals: a supervisor approves or rejects the JSEAs a crew completed on their phones, and the
//! decision reaches the phones; a worker is refused the page; a decision posted without its form's
//! security token changes nothing.

use e2e_tests::{PASSWORD, Phone, TestServer};
use sync_core::model::{ApprovalDecision, JseaStatus};

use crate::harness::{Browser, LEAD, SUPER, WORKER, acme, completed_jsea, jsea_on, status_on_server};

/// A server with Acme's crew and two JSEAs the lead completed and synced, waiting for a decision.
async fn two_waiting() -> (TestServer, tempfile::TempDir, Phone, String, String) {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let first = completed_jsea(
        &mut lead,
        &company.site_a,
        "Replace wellhead valve on 4-12 pad",
        0,
    );
    let second = completed_jsea(&mut lead, &company.site_a, "Pressure test the flowline", 10);
    assert_eq!(lead.sync().await.accepted, 2);
    (server, dir, lead, first, second)
}

async fn waiting_ids(browser: &Browser) -> Vec<String> {
    browser
        .attrs("article.approval", "id")
        .await
        .into_iter()
        .map(|id| id.trim_start_matches("approval-").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_approves_a_jsea_and_the_phone_sees_it() {
    let (server, _dir, mut lead, first, second) = two_waiting().await;
    let browser = Browser::start("approve").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    assert_eq!(
        browser.path().await,
        "/approvals",
        "a supervisor lands on the approval queue"
    );
    browser.screenshot("approvals").await;

    let mut waiting = waiting_ids(&browser).await;
    waiting.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(waiting, expected, "both completed JSEAs wait for a decision");
    assert_eq!(
        browser.text_of(&format!("#approval-{first} h2")).await.as_deref(),
        Some("Replace wellhead valve on 4-12 pad")
    );

    let form = format!("#approval-{first} form.decide");
    assert_eq!(
        browser.attrs(&form, "action").await,
        vec![format!("/approvals/{first}")]
    );
    browser
        .fill(&format!("{form} textarea[name=comment]"), "Good to go")
        .await;
    browser
        .click_to_load(&format!("{form} button[name=decision][value=approved]"))
        .await;
    let status = browser.status_message().await;
    assert!(status.is_some(), "no status message after approving");
    browser.screenshot("approvals-after-approve").await;
    assert_eq!(
        waiting_ids(&browser).await,
        vec![second.clone()],
        "the approved JSEA left the queue; the other is still there"
    );

    // The lead's phone syncs and holds the supervisor's approval.
    lead.sync().await;
    let jsea = jsea_on(&lead, &first);
    assert_eq!(jsea.status, JseaStatus::Approved);
    let approval = jsea.approval.expect("the approval reached the phone");
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert_eq!(approval.comment.as_deref(), Some("Good to go"));
    let listed = lead.store.list(&sync_core::ListFilter::default()).expect("list");
    let row = listed.iter().find(|p| p.id == first).expect("listed");
    assert_eq!(row.status, "approved");
    assert_eq!(
        jsea_on(&lead, &second).status,
        JseaStatus::Completed,
        "the other JSEA is untouched"
    );
    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_rejects_a_jsea_with_a_comment_the_phone_receives() {
    let (server, _dir, mut lead, first, second) = two_waiting().await;
    let browser = Browser::start("reject").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/approvals").await;
    browser.screenshot("approvals").await;

    let comment = "Add a spotter for the reversing vac truck, then re-sign";
    let form = format!("#approval-{second} form.decide");
    browser
        .fill(&format!("{form} textarea[name=comment]"), comment)
        .await;
    browser
        .click_to_load(&format!("{form} button[name=decision][value=rejected]"))
        .await;
    assert!(
        browser.status_message().await.is_some(),
        "no status message after rejecting"
    );
    browser.screenshot("approvals-after-reject").await;
    assert_eq!(waiting_ids(&browser).await, vec![first.clone()]);

    lead.sync().await;
    let jsea = jsea_on(&lead, &second);
    assert_eq!(jsea.status, JseaStatus::Rejected);
    let rejection = jsea.approval.expect("the rejection reached the phone");
    assert_eq!(rejection.decision, ApprovalDecision::Rejected);
    assert_eq!(rejection.comment.as_deref(), Some(comment));
    assert_eq!(jsea_on(&lead, &first).status, JseaStatus::Completed);

    // The record page shows the decision and its comment.
    browser.open(&server.url, &format!("/records/{second}")).await;
    browser.screenshot("record-rejected").await;
    let approvals = browser
        .text_of("section#approvals")
        .await
        .expect("an approvals section");
    assert!(approvals.contains(comment), "{approvals}");
    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_is_refused_the_approval_queue() {
    let (server, _dir, _lead, first, _second) = two_waiting().await;
    let browser = Browser::start("worker-refused").await;
    browser.sign_in(&server.url, WORKER, PASSWORD).await;
    assert_eq!(browser.path().await, "/records", "a worker lands on the records");
    browser.screenshot("records").await;

    browser.open(&server.url, "/approvals").await;
    browser.screenshot("approvals").await;
    assert_eq!(browser.h1().await, "Not allowed");
    assert_eq!(browser.count("article.approval").await, 0);
    let http = browser.http(&server.url).await;
    assert_eq!(http.get("/approvals").await.status().as_u16(), 403);

    // Nor may a worker post a decision, token or not.
    let page = http.get("/records").await.text().await.expect("page");
    assert!(
        !page.contains(&format!("/approvals/{first}")),
        "no decision form for a worker"
    );
    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_posted_without_its_security_token_is_refused() {
    let (server, _dir, lead, first, _second) = two_waiting().await;
    let browser = Browser::start("csrf").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/approvals").await;

    let form = format!("#approval-{first} form.decide");
    let removed = browser
        .execute(
            "const input = document.querySelector(arguments[0] + ' input[name=csrf]');
             if (!input) { return false; }
             input.remove();
             return true;",
            vec![serde_json::json!(form)],
        )
        .await
        .expect("script")
        .convert::<bool>()
        .expect("bool");
    assert!(removed, "the approval form carries a hidden csrf input");
    browser.screenshot("approvals-without-token").await;
    browser
        .click_to_load(&format!("{form} button[name=decision][value=approved]"))
        .await;
    browser.screenshot("refused").await;
    assert_eq!(browser.h1().await, "Not allowed");
    let text = browser.body_text().await;
    assert!(text.contains("security token"), "{text}");

    // Nothing changed: still completed and waiting, on the server and in the queue.
    assert_eq!(status_on_server(&server, &lead, &first).await, "completed");
    browser.open(&server.url, "/approvals").await;
    assert_eq!(browser.count(&format!("#approval-{first}")).await, 1);
    browser.quit().await;
    server.stop().await;
}
