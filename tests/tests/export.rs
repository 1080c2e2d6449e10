//! The CSV export over the JSON API, as a spreadsheet user gets it: one row per record matching the
//! filters, stable columns, ISO-8601 times with the site's offset (Alberta's daylight saving by
//! the time-zone database), UTF-8 with a byte-order mark, formulas defused, anonymous reports
//! anonymous.

use e2e_tests::{Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::sample;

const LEAD: &str = "lead@acme.test";
const REPORTER: &str = "reporter@acme.test";
const OFFICE: &str = "office@acme.test";

async fn csv(server: &TestServer, token: &str, query: &str) -> (u16, String, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .get(format!("{}/v1/records.csv?{query}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("export");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.expect("body"))
}

fn rows(text: &str) -> Vec<Vec<String>> {
    let body = text.strip_prefix('\u{feff}').expect("a byte-order mark first");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_has_one_row_per_filtered_record_in_the_sites_time() {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0, 1]),
            (REPORTER, Role::Worker, &[0]),
            (OFFICE, Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut reporter = Phone::sign_in(&server, &dir, REPORTER).await;
    let office = Phone::sign_in(&server, &dir, OFFICE).await;
    let token = office.store.credentials().expect("c").expect("c").access_token;

    let mut tricky = sample::jsea();
    tricky.task = "=HYPERLINK(\"http://evil.example\",\"click\")".into();
    let jsea = lead
        .store
        .create(&company.site_a, None, Body::Jsea(tricky), at(0))
        .expect("jsea");
    lead.store.sign(&jsea, at(5)).expect("sign");
    lead.store.complete(&jsea, at(10)).expect("complete");
    let elsewhere = lead
        .store
        .create(&company.site_b, None, Body::Jsea(sample::jsea()), at(20))
        .expect("jsea at the other site");
    let lead_id = server
        .store()
        .user_by_email(LEAD)
        .expect("read")
        .expect("lead")
        .id;
    let pre_start = lead
        .store
        .create(
            &company.site_a,
            None,
            Body::PreStart(sample::prestart(&lead_id)),
            at(30),
        )
        .expect("pre-start");
    assert_eq!(lead.sync().await.accepted, 3);
    let anonymous = reporter
        .store
        .create_anonymous_near_miss(&company.site_a, None, sample::near_miss(at(40).wall_ms), at(40))
        .expect("near miss");
    assert_eq!(reporter.sync().await.accepted, 1);

    let (status, content_type, text) = csv(&server, &token, &format!("site={}", company.site_a)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let table = rows(&text);
    assert_eq!(
        table[0],
        [
            "id",
            "kind",
            "site",
            "status",
            "title",
            "created_by",
            "created_at",
            "completed_at",
            "work_started_at",
            "closed_at",
            "assignee",
            "due_at",
            "flags"
        ]
    );
    let ids: Vec<&str> = table[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        ids,
        [anonymous.as_str(), pre_start.as_str(), jsea.as_str()],
        "newest first, site A only"
    );
    assert!(!ids.contains(&elsewhere.as_str()));

    let jsea_row = &table[3];
    assert_eq!(jsea_row[1], "jsea");
    assert_eq!(jsea_row[3], "completed");
    assert!(
        jsea_row[4].starts_with("'=HYPERLINK"),
        "a formula is shown as text: {}",
        jsea_row[4]
    );
    assert_eq!(jsea_row[5], "lead", "the creator by name");
    // at(0) is 1_795_000_000_000 ms: 2026-11-18 11:06:40 UTC, 04:06:40 in Alberta (MST, -07:00).
    assert_eq!(jsea_row[6], "2026-11-18T04:06:40-07:00");
    assert_eq!(jsea_row[7], "2026-11-18T04:16:40-07:00");
    assert_eq!(jsea_row[8], "", "work has not started");
    let near_miss_row = &table[1];
    assert_eq!(
        near_miss_row[5], "anonymous",
        "an anonymous report stays anonymous"
    );
    assert!(
        !text.contains(REPORTER) && !text.contains("reporter"),
        "the reporter is named nowhere"
    );

    let (_, _, only_jseas) = csv(&server, &token, "kind=jsea&sort=title").await;
    let jsea_ids: Vec<String> = rows(&only_jseas)[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(jsea_ids.len(), 2);
    assert!(jsea_ids.contains(&jsea) && jsea_ids.contains(&elsewhere));

    let (status, _, refused) = csv(&server, &token, "sort=sideways").await;
    assert_eq!(status, 400);
    assert!(refused.contains("sort must be one of"), "{refused}");
}
