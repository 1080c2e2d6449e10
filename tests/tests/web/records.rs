//! /records: filtering, the CSV download of exactly the filtered records, and titles shown as text
//! however much they look like markup.

use e2e_tests::{PASSWORD, Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::sample;

use crate::harness::{Browser, SUPER, WORKER, acme, completed_jsea, new_jsea, parse_csv};

const CSV_HEADER: &str = "id,kind,site,status,title,created_by,created_at,completed_at,work_started_at,closed_at,assignee,due_at,flags";

/// ISO-8601 date and time with an offset (`Z` or `±hh:mm`), e.g. `2026-11-18T06:03:00-07:00`.
fn is_iso_with_offset(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date_time = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16);
    let offset = s.ends_with('Z') || {
        let tail = &b[b.len().saturating_sub(6)..];
        tail.len() == 6
            && (tail[0] == b'+' || tail[0] == b'-')
            && tail[1..3].iter().all(u8::is_ascii_digit)
            && tail[3] == b':'
            && tail[4..6].iter().all(u8::is_ascii_digit)
    };
    date_time && offset
}

#[test]
fn iso_times_with_offsets_are_recognised() {
    assert!(is_iso_with_offset("2026-11-18T06:03:00-07:00"));
    assert!(is_iso_with_offset("2026-11-18T13:03:00.250Z"));
    assert!(!is_iso_with_offset("2026-11-18 06:03"));
    assert!(!is_iso_with_offset("2026-11-18T06:03:00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_download_holds_exactly_the_filtered_records() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    // At site A: three JSEAs (two completed, one a draft, one titled with a comma and quotes) and
    // a near miss; at site B one JSEA. The filter kind=jsea, site=A must give exactly the three.
    let mut wanted = vec![
        completed_jsea(&mut worker, &company.site_a, "Replace wellhead valve", 0),
        completed_jsea(&mut worker, &company.site_a, "Lift \"the\" pump, then flush", 10),
        new_jsea(&mut worker, &company.site_a, "Drain the knockout drum", 20),
    ];
    let elsewhere = completed_jsea(&mut worker, &company.site_b, "Site B flare check", 30);
    let near_miss = worker
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(at(40).wall_ms)),
            at(41),
        )
        .expect("near miss");
    assert_eq!(worker.sync().await.accepted, 5);

    let browser = Browser::start("csv").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    browser.open(&server.url, "/records").await;
    browser.screenshot("records").await;
    let all = browser.attrs("table#records tbody tr", "data-record-id").await;
    for id in wanted.iter().chain([&elsewhere, &near_miss]) {
        assert!(all.contains(id), "{id} unfiltered: {all:?}");
    }

    browser.select("form#filters select[name=kind]", "jsea").await;
    browser
        .select("form#filters select[name=site]", &company.site_a)
        .await;
    browser.click_to_load("form#filters button[type=submit]").await;
    let path = browser.path().await;
    assert!(
        path.starts_with("/records?") && path.contains("kind=jsea") && path.contains(&company.site_a),
        "{path}"
    );
    browser.screenshot("records-filtered").await;
    let shown = browser.attrs("table#records tbody tr", "data-record-id").await;
    let mut sorted = shown.clone();
    sorted.sort();
    wanted.sort();
    assert_eq!(sorted, wanted, "the table shows the three JSEAs at site A");
    for id in &shown {
        assert_eq!(
            browser
                .count(&format!(
                    "table#records tbody tr[data-record-id=\"{id}\"] a[href=\"/records/{id}\"]"
                ))
                .await,
            1,
            "row {id} links to its record"
        );
    }

    let href = browser.attrs("a#csv", "href").await;
    assert_eq!(href.len(), 1, "one Download CSV link");
    let href = &href[0];
    assert!(
        href.contains("/records.csv?") && href.contains("kind=jsea") && href.contains(&company.site_a),
        "{href}"
    );
    let http = browser.http(&server.url).await;
    let response = http.get(href).await;
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        content_type.starts_with("text/csv") && content_type.contains("charset=utf-8"),
        "{content_type}"
    );
    let bytes = response.bytes().await.expect("body");
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let rows = parse_csv(&text);
    assert_eq!(rows.first().map(|r| r.join(",")).as_deref(), Some(CSV_HEADER));
    let body = &rows[1..];
    let ids: Vec<String> = body.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, shown, "the CSV has the table's rows, in its order");
    let titles_on_page: Vec<String> = {
        let mut titles = Vec::new();
        for id in &shown {
            titles.push(
                browser
                    .text_of(&format!("tr[data-record-id=\"{id}\"] a[href=\"/records/{id}\"]"))
                    .await
                    .unwrap_or_default(),
            );
        }
        titles
    };
    for (row, title) in body.iter().zip(&titles_on_page) {
        assert_eq!(row.len(), 13, "{row:?}");
        assert_eq!(row[1], "jsea");
        assert_eq!(&row[4], title, "the title column matches the page");
        assert!(is_iso_with_offset(&row[6]), "created_at {:?}", row[6]);
        let completed = row[3] == "completed";
        assert_eq!(
            !row[7].is_empty(),
            completed,
            "completed_at only when completed: {row:?}"
        );
        if completed {
            assert!(is_iso_with_offset(&row[7]), "completed_at {:?}", row[7]);
        }
    }
    assert!(
        body.iter().any(|r| r[4] == "Lift \"the\" pump, then flush"),
        "quotes and commas survive the CSV"
    );
    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_that_looks_like_a_script_is_shown_as_text() {
    let server = TestServer::start().await;
    let company = acme(&server);
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let title = "<script>alert(1)</script>";
    let id = completed_jsea(&mut worker, &company.site_a, title, 0);
    assert_eq!(worker.sync().await.accepted, 1);

    let browser = Browser::start("xss").await;
    browser.sign_in(&server.url, SUPER, PASSWORD).await;
    let http = browser.http(&server.url).await;
    for (page, path) in [
        ("records", "/records".to_owned()),
        ("record", format!("/records/{id}")),
        ("approvals", "/approvals".to_owned()),
    ] {
        browser.open(&server.url, &path).await;
        assert!(!browser.alert_open().await, "an alert opened on {path}");
        browser.screenshot(page).await;
        let source = browser.source().await.expect("source");
        assert!(source.contains("&lt;script&gt;"), "{path}: not escaped");
        let html = http.get(&path).await.text().await.expect("html");
        assert!(
            html.contains("script&") && html.contains("alert(1)") && !html.contains("<script>alert(1)"),
            "{path} sends the title unescaped: {}",
            html.lines()
                .filter(|l| l.contains("alert(1)"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    browser.open(&server.url, "/records").await;
    assert_eq!(
        browser
            .text_of(&format!("tr[data-record-id=\"{id}\"] a[href=\"/records/{id}\"]"))
            .await
            .as_deref(),
        Some(title),
        "the title reads as typed"
    );
    browser
        .click_to_load(&format!("tr[data-record-id=\"{id}\"] a[href=\"/records/{id}\"]"))
        .await;
    assert_eq!(browser.h1().await, title);
    assert!(!browser.alert_open().await);
    browser.quit().await;
    server.stop().await;
}
