//! Inspection schedules end to end, on a simulated server clock: a weekly schedule added over the
//! API, fetched by the inspector's phone, which files inspections from its checklist template; one
//! done in week 1, week 2's finished in week 3, none in week 3 → done, late, missed (with the
//! schedule's `inspection.missed` flag and its evidence), and week 4 due. The page and the CSV show
//! the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use e2e_tests::{Phone, TestServer, get_json, web_sign_in};
use server::service::Principal;
use server::service::inspections::{self, MISSED, MISSED_FINDING, OccurrenceStatus};
use sync_core::kinds::inspection::Inspection;
use sync_core::model::Body;
use sync_core::parts::{ChecklistItem, ItemResult};
use sync_core::protocol::{ClockSample, Role};
use sync_core::stamp::Stamp;

const INSPECTOR: &str = "inspector@acme.test";
const SUPER: &str = "sup@acme.test";
const ADMIN: &str = "office@acme.test";

const DAY: i64 = 86_400_000;
const WEEK: i64 = 7 * DAY;
/// 2026-11-02 00:00 in Alberta (MST, UTC−7): the schedule's first day.
const MONDAY: i64 = 1_793_577_600_000 + 7 * 3_600_000;

/// One simulated time for the server and the inspector's phone (whose clock is right).
#[derive(Debug, Clone)]
struct Time(Arc<AtomicI64>);

impl Time {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    /// A stamp on the phone, which booted a day before the schedule began.
    fn stamp(&self) -> Stamp {
        Stamp::new(self.now(), self.now() - (MONDAY - DAY), "inspector-boot")
    }
}

async fn setup() -> (TestServer, Time, e2e_tests::Company) {
    let time = Time(Arc::new(AtomicI64::new(MONDAY + DAY + 8 * 3_600_000)));
    let clock = time.clone();
    let server = TestServer::start_with(move |state| state.clock = Arc::new(move || clock.now())).await;
    let company = server.company(
        "Acme Energy",
        &[
            (INSPECTOR, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    (server, time, company)
}

async fn phone(server: &TestServer, dir: &tempfile::TempDir, email: &str, time: &Time) -> Phone {
    let mut phone = Phone::sign_in(server, dir, email).await;
    let clock = time.clone();
    phone.client = phone.client.clone().with_clock(Arc::new(move || {
        let s = clock.stamp();
        ClockSample {
            wall_ms: s.wall_ms,
            monotonic_ms: s.monotonic_ms,
            boot_id: s.boot_id,
            last_round_trip_ms: 0,
        }
    }));
    phone
}

fn token(phone: &Phone) -> String {
    phone
        .store
        .credentials()
        .expect("read")
        .expect("signed in")
        .access_token
}

fn principal(server: &TestServer, email: &str) -> Principal {
    Principal::of(
        &server
            .store()
            .user_by_email(email)
            .expect("lookup")
            .expect("user"),
    )
}

async fn post_json(url: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// The phone's inspection from the schedule as the API gave it: its title and checklist, every
/// item answered.
fn from_template(view: &serde_json::Value, inspector: &str) -> Inspection {
    let schedule = &view["schedule"];
    let items = schedule["checklist"]
        .as_array()
        .expect("checklist")
        .iter()
        .map(|item| {
            let mut checked = ChecklistItem::new(
                item["label"].as_str().expect("label"),
                item["critical"].as_bool().expect("critical"),
            );
            checked.result = Some(ItemResult::Pass);
            checked
        })
        .collect();
    let mut inspection = Inspection::new(schedule["title"].as_str().expect("title"), inspector, items);
    inspection.schedule_id = Some(schedule["id"].as_str().expect("id").to_owned());
    inspection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_schedule_is_done_late_missed_and_due() {
    let (server, time, company) = setup().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut inspector = phone(&server, &dir, INSPECTOR, &time).await;
    let supervisor = phone(&server, &dir, SUPER, &time).await;
    let inspector_id = inspector.user_id();

    // The supervisor adds the schedule; a worker may not.
    let new = serde_json::json!({
        "site_id": company.site_a,
        "title": "Weekly site inspection",
        "checklist": [
            {"label": "Fire extinguishers charged and tagged", "critical": true},
            {"label": "Walkways and stairs clear", "critical": false},
        ],
        "frequency": "weekly",
        "starts_on": "2026-11-02",
        "assignee": inspector_id,
    });
    let url = format!("{}/v1/inspection-schedules", server.url);
    let (status, body) = post_json(&url, &token(&inspector), &new).await;
    assert_eq!(status, 403, "a worker adds no schedule: {body}");
    let (status, created) = post_json(&url, &token(&supervisor), &new).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["rrule"], "FREQ=WEEKLY");
    assert_eq!(created["starts_at_ms"], MONDAY);

    // Week 1: the phone fetches the schedule and files an inspection from its template.
    let (status, schedules) = get_json(&url, &token(&inspector)).await;
    assert_eq!(status, 200, "{schedules}");
    let view = &schedules.as_array().expect("list")[0];
    assert_eq!(view["frequency"], "Every week");
    assert_eq!(view["schedule"]["checklist"][0]["critical"], true);
    assert_eq!(view["next_due"]["starts_at_ms"], MONDAY);
    assert_eq!(view["next_due"]["ends_at_ms"], MONDAY + WEEK);
    let week_1 = inspector
        .store
        .create(
            &company.site_a,
            None,
            Body::Inspection(from_template(view, &inspector_id)),
            time.stamp(),
        )
        .expect("create");
    inspector.store.sign(&week_1, time.stamp()).expect("sign");
    inspector.store.complete(&week_1, time.stamp()).expect("complete");
    assert_eq!(inspector.sync().await.accepted, 1);

    // Week 2: started on Wednesday, finished only on week 3's Tuesday.
    time.set(MONDAY + WEEK + 2 * DAY);
    let (_, schedules) = get_json(&url, &token(&inspector)).await;
    let view = &schedules.as_array().expect("list")[0];
    assert_eq!(view["next_due"]["starts_at_ms"], MONDAY + WEEK, "week 2 is due");
    let week_2 = inspector
        .store
        .create(
            &company.site_a,
            None,
            Body::Inspection(from_template(view, &inspector_id)),
            time.stamp(),
        )
        .expect("create");
    assert_eq!(inspector.sync().await.accepted, 1);
    time.set(MONDAY + 2 * WEEK + DAY);
    inspector.store.sign(&week_2, time.stamp()).expect("sign");
    inspector.store.complete(&week_2, time.stamp()).expect("complete");
    assert_eq!(inspector.sync().await.accepted, 1);

    // Week 3: nobody inspects. Week 4, Tuesday: the office looks.
    time.set(MONDAY + 3 * WEEK + DAY);
    let statuses = inspections::statuses(&server.state, &principal(&server, ADMIN))
        .await
        .expect("statuses");
    assert_eq!(statuses.len(), 1);
    let status = &statuses[0];
    let seen: Vec<(OccurrenceStatus, Option<&str>)> = status
        .occurrences
        .iter()
        .map(|o| (o.status, o.record_id.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (OccurrenceStatus::Done, Some(week_1.as_str())),
            (OccurrenceStatus::Late, Some(week_2.as_str())),
            (OccurrenceStatus::Missed, None),
            (OccurrenceStatus::Due, None),
        ]
    );
    let flag = status.occurrences[2]
        .flag
        .as_ref()
        .expect("the schedule carries the missed flag");
    assert_eq!(flag.code, MISSED);
    assert_eq!(
        flag.evidence["schedule"],
        format!("Weekly site inspection ({})", status.schedule.id)
    );
    assert_eq!(flag.evidence["site"], "Site A");
    assert_eq!(flag.evidence["window_start"], "2026-11-16T00:00:00-07:00");
    assert_eq!(flag.evidence["window_end"], "2026-11-23T00:00:00-07:00");
    assert_eq!(flag.evidence["inspection_records"], MISSED_FINDING);
    assert!(
        status.occurrences.iter().filter(|o| o.flag.is_some()).count() == 1,
        "only the missed occurrence is flagged"
    );

    // The phone sees week 4 due and one missed.
    let (_, schedules) = get_json(&url, &token(&inspector)).await;
    let view = &schedules.as_array().expect("list")[0];
    assert_eq!(view["next_due"]["starts_at_ms"], MONDAY + 3 * WEEK);
    assert_eq!(view["missed"], 1);

    // The page shows the missed one first, with its evidence, and links the inspections.
    let cookie = web_sign_in(&server.url, SUPER, e2e_tests::PASSWORD).await;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{}/inspections", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let missed_at = page.find("Missed inspections").expect("a missed section");
    assert!(
        missed_at < page.find("data-schedule-id").expect("the schedule"),
        "missed first"
    );
    assert!(page.contains(MISSED_FINDING));
    assert!(page.contains(&format!("/records/{week_1}")));
    assert!(page.contains(&format!("/records/{week_2}")));
    assert_eq!(page.matches(r#"data-status="late""#).count(), 1);

    // /flags lists the missed window beside the flagged records, linking to its schedule.
    let flags = http
        .get(format!("{}/flags", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("flags page")
        .text()
        .await
        .expect("html");
    assert!(flags.contains(r#"data-flag="inspection.missed""#), "{flags}");
    assert_eq!(
        flags.matches("/inspections#schedule-").count(),
        1,
        "one missed window"
    );

    // The CSV: one row per occurrence with its status.
    let bytes = http
        .get(format!("{}/inspections.csv", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("csv")
        .bytes()
        .await
        .expect("bytes");
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), inspections::CSV_COLUMNS);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    let statuses: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[5].as_str(), r[7].as_str(), r[10].as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("2026-11-02T00:00:00-07:00", "done", ""),
            ("2026-11-09T00:00:00-07:00", "late", ""),
            ("2026-11-16T00:00:00-07:00", "missed", MISSED),
            ("2026-11-23T00:00:00-07:00", "due", ""),
        ]
    );
    assert_eq!(rows[0][8], week_1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_stay_on_their_sites() {
    let (server, time, company) = setup().await;
    let dir = tempfile::tempdir().expect("dir");
    let supervisor = phone(&server, &dir, SUPER, &time).await;
    let inspector = phone(&server, &dir, INSPECTOR, &time).await;
    let url = format!("{}/v1/inspection-schedules", server.url);
    let at = |site: &str| {
        serde_json::json!({
            "site_id": site, "title": "Daily pad walk", "checklist": [{"label": "Berms intact"}],
            "frequency": "every_n_days", "every_days": 2, "starts_on": "2026-11-02",
            "assignee": inspector.user_id(),
        })
    };
    // A supervisor adds schedules only at their own sites.
    let (status, body) = post_json(&url, &token(&supervisor), &at(&company.site_b)).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post_json(&url, &token(&supervisor), &at(&company.site_a)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["rrule"], "FREQ=DAILY;INTERVAL=2");
    // A schedule with nothing to check is refused with the reason.
    let mut empty = at(&company.site_a);
    empty["checklist"] = serde_json::json!([]);
    let (status, body) = post_json(&url, &token(&supervisor), &empty).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_checklist")),
        "{body}"
    );

    // Another company's people see none of them.
    let other = server.company("Other Oilfield", &[("crew@other.test", Role::Worker, &[0])]);
    let crew = phone(&server, &dir, "crew@other.test", &time).await;
    let (status, list) = get_json(&url, &token(&crew)).await;
    assert_eq!((status, list), (200, serde_json::json!([])));
    let (status, body) = post_json(&url, &token(&supervisor), &at(&other.site_a)).await;
    assert_eq!(status, 404, "another company's site is no site: {body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_schedule_owes_nothing_after_its_end_and_keeps_what_it_owed_before() {
    let (server, time, company) = setup().await;
    let dir = tempfile::tempdir().expect("dir");
    let supervisor = phone(&server, &dir, SUPER, &time).await;
    let inspector = phone(&server, &dir, INSPECTOR, &time).await;
    let new = serde_json::json!({
        "site_id": company.site_a,
        "title": "Weekly walk of the old pad",
        "checklist": [{"label": "Gate locked", "critical": false}],
        "frequency": "weekly",
        "starts_on": "2026-11-02",
        "assignee": inspector.user_id(),
    });
    let url = format!("{}/v1/inspection-schedules", server.url);
    let (status, created) = post_json(&url, &token(&supervisor), &new).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let people =
        |email: &str| Principal::of(&server.store().user_by_email(email).expect("read").expect("user"));
    let missed = |time: &Time| {
        let (state, who) = (server.state.clone(), people(ADMIN));
        let _ = time;
        async move {
            let statuses = inspections::statuses(&state, &who).await.expect("statuses");
            let schedule = statuses.into_iter().next().expect("the schedule");
            (
                schedule.missed(),
                schedule.schedule.ended_at_ms,
                schedule.next_due,
            )
        }
    };

    // Two weeks pass with nobody walking the pad; then the pad is handed back and the schedule ends.
    time.set(MONDAY + 2 * WEEK + DAY);
    assert_eq!(missed(&time).await.0, 2);
    let refused = inspections::end(&server.state, &people(INSPECTOR), &id).await;
    assert!(refused.is_err(), "a worker ends no schedule");
    inspections::end(&server.state, &people(SUPER), &id)
        .await
        .expect("ended");
    let again = inspections::end(&server.state, &people(SUPER), &id).await;
    assert!(again.is_err(), "ended once");

    // Months later it still owes only the two it missed, and nothing is due.
    time.set(MONDAY + 12 * WEEK);
    let (count, ended, next_due) = missed(&time).await;
    assert_eq!(count, 2, "nothing owed after the end");
    assert_eq!(ended, Some(MONDAY + 2 * WEEK + DAY));
    assert!(next_due.is_none(), "{next_due:?}");
}
