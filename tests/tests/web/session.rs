//! Sessions: the cookie's attributes, pages that need a session, and signing out ending the session
//! on the server, so the old cookie replayed gets nothing.

use e2e_tests::{PASSWORD, TestServer};
use thirtyfour::SameSite;

use crate::harness::{Browser, CookieClient, LEAD, acme, location, without_query};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_signing_out_the_old_cookie_is_sent_to_the_sign_in_page() {
    let server = TestServer::start().await;
    acme(&server);
    let browser = Browser::start("signout").await;

    // No session: sent to the sign-in page.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = anonymous
        .get(format!("{}/records", server.url))
        .send()
        .await
        .expect("get");
    assert!(
        matches!(response.status().as_u16(), 302 | 303),
        "{}",
        response.status()
    );
    assert_eq!(without_query(&location(&response)), "/signin");

    // A wrong password: the form again, with an alert, and no session.
    browser.open(&server.url, "/signin").await;
    browser.fill("form#signin input[name=email]", LEAD).await;
    browser
        .fill("form#signin input[name=password]", "not the password")
        .await;
    browser.click_to_load("form#signin button[type=submit]").await;
    browser.screenshot("signin-failed").await;
    assert!(
        browser.text_of("p[role=alert]").await.is_some(),
        "a failed sign-in says so"
    );
    assert_eq!(browser.count("form#signout").await, 0);

    browser.sign_in(&server.url, LEAD, PASSWORD).await;
    assert_eq!(browser.path().await, "/records");
    browser.screenshot("records").await;
    let cookie = browser.session_cookie().await;
    assert_eq!(cookie.http_only, Some(true), "{cookie:?}");
    assert_eq!(cookie.same_site, Some(SameSite::Lax), "{cookie:?}");
    assert!(browser.count("nav a").await > 0, "a signed-in page has a nav");

    // The cookie, replayed outside the browser, works while the session lasts.
    let replay = CookieClient::new(&server.url, &cookie.value);
    let response = replay.get("/records").await;
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.expect("page");
    assert!(page.contains("id=\"filters\""), "not the records page: {page}");

    browser.sign_out().await;
    browser.screenshot("signed-out").await;
    assert_eq!(
        without_query(&browser.path().await),
        "/signin",
        "signing out ends on the sign-in page"
    );
    assert_eq!(browser.count("form#signin").await, 1);
    browser.open(&server.url, "/records").await;
    assert_eq!(
        without_query(&browser.path().await),
        "/signin",
        "the browser's session is gone"
    );

    // The old cookie, replayed: redirected to sign in, and the records are not shown.
    let response = replay.get("/records").await;
    let status = response.status().as_u16();
    assert!(matches!(status, 302 | 303), "old cookie got {status}");
    assert_eq!(without_query(&location(&response)), "/signin");
    let body = response.text().await.unwrap_or_default();
    assert!(!body.contains("id=\"filters\""), "{body}");
    browser.quit().await;
    server.stop().await;
}
