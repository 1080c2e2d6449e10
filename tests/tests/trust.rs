//! Approval before work, the work-start gate, and time and place an auditor can trust: wrong and
//! changed phone clocks, reboots before syncing, fixes on, off and at the edge of a site, and
//! approvals by the wrong people; end to end through the server.

use e2e_tests::{DeviceClock, Phone, TestServer, World, get_json};
use serde_json::Value;
use sync_core::model::{ApprovalDecision, Body, ControlLevel};
use sync_core::place::Geofence;
use sync_core::protocol::{RejectCode, Role};
use sync_core::{GpsFix, flags, sample};

const LEAD: &str = "lead@acme.test";
const SUPER: &str = "super@acme.test";
const OTHER_SUPER: &str = "other-super@acme.test";
const ADMIN: &str = "office@acme.test";
const HOUR: i64 = 3_600_000;
const CENTRE: (f64, f64) = (53.4500, -115.0100);

struct Setup {
    world: World,
    server: TestServer,
    company: e2e_tests::Company,
    dir: tempfile::TempDir,
    admin_token: String,
}

async fn setup() -> Setup {
    let world = World::new();
    let clock = world.server_clock();
    let server = TestServer::start_with(move |state| state.clock = clock).await;
    let company = server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (OTHER_SUPER, Role::Supervisor, &[1]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let pad = Geofence::Circle {
        lat: CENTRE.0,
        lon: CENTRE.1,
        radius_m: 300.0,
    };
    server
        .store()
        .set_site_area(&company.id, &company.site_a, Some(&pad), 50.0, "system")
        .expect("geofence");
    let dir = tempfile::tempdir().expect("dir");
    let admin = Phone::sign_in(&server, &dir, ADMIN).await;
    let admin_token = admin.store.credentials().expect("c").expect("c").access_token;
    Setup {
        world,
        server,
        company,
        dir,
        admin_token,
    }
}

impl Setup {
    async fn detail(&self, id: &str) -> Value {
        let (status, detail) =
            get_json(&format!("{}/v1/records/{id}", self.server.url), &self.admin_token).await;
        assert_eq!(status, 200, "{detail}");
        detail
    }

    /// The server's flags on the record, but for the crew's missing site orientations: these
    /// crews have none on record, and what is judged here is time and place.
    async fn server_flags(&self, id: &str) -> Vec<String> {
        let detail = self.detail(id).await;
        detail["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| f["code"].as_str().unwrap_or("").to_owned())
            .filter(|code| code != flags::codes::SIGNER_NOT_ORIENTED)
            .collect()
    }
}

fn fix_at(metres_north: f64, accuracy_m: f64) -> GpsFix {
    GpsFix {
        lat: CENTRE.0 + metres_north / 111_195.0,
        lon: CENTRE.1,
        accuracy_m,
        fix_time_ms: 0,
        provider: "fused".into(),
        mock: false,
    }
}

fn codes(flags: &[sync_core::Flag]) -> Vec<&str> {
    flags.iter().map(|f| f.code.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_three_hours_slow_is_corrected_and_not_falsely_flagged() {
    let s = setup().await;
    let lead_clock = DeviceClock::new(&s.world, -3 * HOUR);
    let sup_clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &lead_clock).await;
    let mut sup = Phone::sign_in_with_clock(&s.server, &s.dir, SUPER, &sup_clock).await;
    lead.sync().await; // 06:00: the server learns the lead's clock

    s.world.set(6, 30);
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            lead_clock.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    s.world.set(6, 45);
    lead.store
        .sign(&id, lead_clock.stamp(Some(fix_at(10.0, 5.0))))
        .expect("sign");
    s.world.set(6, 50);
    lead.store
        .complete(&id, lead_clock.stamp(Some(fix_at(10.0, 5.0))))
        .expect("complete");
    lead.sync().await;
    sup.sync().await;
    s.world.set(6, 58);
    sup.store
        .decide(
            &id,
            ApprovalDecision::Approved,
            None,
            sup_clock.stamp(Some(fix_at(20.0, 5.0))),
        )
        .expect("approve");
    sup.sync().await;
    lead.sync().await;
    s.world.set(7, 5);
    lead.store
        .start_work(&id, lead_clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("work starts");
    lead.sync().await;

    // Taken at their word, the phones disagree: approval 06:58 looks later than work at 04:05.
    let on_phone = lead.store.record(&id).expect("view");
    assert!(codes(&on_phone.flags).contains(&flags::codes::APPROVED_AFTER_WORK_STARTED));
    // Corrected through each phone's monotonic clock, the server sees the true order.
    let flags = s.server_flags(&id).await;
    assert!(flags.is_empty(), "{flags:?}");
    let detail = s.detail(&id).await;
    let started = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["event"] == "work_started")
        .expect("event");
    assert_eq!(started["time"]["basis"], "monotonic");
    let corrected = started["time"]["ms"].as_i64().expect("ms");
    assert!(
        (corrected - World::at(7, 5)).abs() <= 2_000,
        "corrected {corrected} vs true {}",
        World::at(7, 5)
    );
    assert_eq!(
        started["stamp"]["wall_ms"].as_i64(),
        Some(World::at(7, 5) - 3 * HOUR)
    );
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_back_cannot_hide_a_late_jsea() {
    let s = setup().await;
    let clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &clock).await;
    lead.sync().await;
    s.world.set(7, 0);
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            clock.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    s.world.set(7, 5);
    lead.store
        .start_work(&id, clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("start");
    // Someone sets the phone back an hour before filling the form at 07:40.
    clock.change_wall_clock(-HOUR);
    s.world.set(7, 39);
    lead.store
        .sign(&id, clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("sign");
    s.world.set(7, 40);
    lead.store
        .complete(&id, clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("complete");
    s.world.set(17, 30);
    lead.sync().await;

    let on_phone = lead.store.record(&id).expect("view");
    assert!(
        !codes(&on_phone.flags).contains(&flags::codes::COMPLETED_AFTER_WORK_STARTED),
        "the wall clock says 06:40"
    );
    let detail = s.detail(&id).await;
    let flag = detail["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["code"] == flags::codes::COMPLETED_AFTER_WORK_STARTED)
        .expect("the server sees it");
    assert_eq!(flag["evidence"]["minutes_late"], "35.0");
    let completed_at = flag["evidence"]["completed_at"].as_str().unwrap_or("");
    assert!(
        completed_at.contains("corrected at sync") && completed_at.contains("changed by -60 min"),
        "{completed_at}"
    );
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_before_syncing_leaves_times_unverifiable_unless_gps_vouches() {
    let s = setup().await;

    // Synced earlier in the same boot: the anchor carries across the reboot.
    let synced = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &synced).await;
    lead.sync().await;
    s.world.set(6, 30);
    let carried = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::NearMiss(sample::near_miss(World::at(6, 20))),
            synced.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    lead.store
        .complete(&carried, synced.stamp(Some(fix_at(0.0, 5.0))))
        .expect("report");
    synced.reboot();
    s.world.set(17, 0);
    lead.sync().await;
    assert!(
        !s.server_flags(&carried)
            .await
            .contains(&flags::codes::UNVERIFIABLE_TIME.to_string())
    );

    // Never synced in the boot the report was made in: its times cannot be verified.
    let dir2 = tempfile::tempdir().expect("dir");
    let fresh = DeviceClock::new(&s.world, 0);
    let mut phone = Phone::sign_in_with_clock(&s.server, &dir2, LEAD, &fresh).await;
    s.world.set(17, 5);
    let lost = phone
        .store
        .create(
            &s.company.site_a,
            None,
            Body::NearMiss(sample::near_miss(World::at(17, 0))),
            fresh.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    phone
        .store
        .complete(&lost, fresh.stamp(Some(fix_at(0.0, 5.0))))
        .expect("report");
    // The same events with a satellite fix are vouched for by GPS time.
    let mut gnss = fix_at(0.0, 5.0);
    gnss.provider = "gps".into();
    gnss.fix_time_ms = s.world.now();
    let vouched = phone
        .store
        .create(
            &s.company.site_a,
            None,
            Body::NearMiss(sample::near_miss(World::at(17, 0))),
            fresh.stamp(Some(gnss.clone())),
        )
        .expect("create");
    phone
        .store
        .complete(&vouched, fresh.stamp(Some(gnss)))
        .expect("report");
    fresh.reboot();
    s.world.set(17, 30);
    phone.sync().await;

    let detail = s.detail(&lost).await;
    let unverifiable: Vec<&Value> = detail["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f["code"] == flags::codes::UNVERIFIABLE_TIME)
        .collect();
    assert_eq!(unverifiable.len(), 2, "created and reported: {detail}");
    assert!(
        unverifiable[0]["evidence"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("restarted")
    );
    assert!(
        !s.server_flags(&vouched)
            .await
            .contains(&flags::codes::UNVERIFIABLE_TIME.to_string())
    );
    let detail = s.detail(&vouched).await;
    assert_eq!(detail["timeline"][0]["time"]["basis"], "gnss");
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_on_off_and_at_the_edge_of_a_site_are_judged_with_evidence() {
    let s = setup().await;
    let clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &clock).await;
    lead.sync().await;
    // Created at the centre; signed at 310 m (10 m outside, ±15 m: cannot say it was off site);
    // completed 2 km away; work started with no fix at all.
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            clock.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    lead.store
        .sign(&id, clock.stamp(Some(fix_at(310.0, 15.0))))
        .expect("sign");
    lead.store
        .complete(&id, clock.stamp(Some(fix_at(2_000.0, 8.0))))
        .expect("complete");
    lead.store.start_work(&id, clock.stamp(None)).expect("start");
    // A pre-start from a mock-location app, completed with a poor fix.
    let user = lead.user_id();
    let mut mock = fix_at(0.0, 3.0);
    mock.mock = true;
    let pre = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::PreStart(sample::prestart(&user)),
            clock.stamp(Some(mock)),
        )
        .expect("create");
    lead.store
        .edit(&pre, |r| {
            let Body::PreStart(p) = &mut r.body else {
                unreachable!()
            };
            for item in &mut p.items {
                item.result = Some(sync_core::model::ItemResult::Pass);
            }
            Ok(())
        })
        .expect("answer");
    lead.store
        .sign(&pre, clock.stamp(Some(fix_at(0.0, 80.0))))
        .expect("sign");
    lead.store
        .complete(&pre, clock.stamp(Some(fix_at(0.0, 80.0))))
        .expect("complete");
    lead.sync().await;

    let detail = s.detail(&id).await;
    let flags = detail["flags"].as_array().expect("flags");
    let off: Vec<&Value> = flags
        .iter()
        .filter(|f| f["code"] == flags::codes::OFF_SITE)
        .collect();
    assert_eq!(off.len(), 1, "only the completion was off site: {flags:?}");
    assert_eq!(off[0]["evidence"]["event"], "completed");
    let distance: f64 = off[0]["evidence"]["distance_m"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .expect("metres");
    assert!((distance - 1_700.0).abs() < 20.0, "{distance}");
    let no_fix: Vec<&Value> = flags
        .iter()
        .filter(|f| f["code"] == flags::codes::NO_FIX)
        .collect();
    assert_eq!(no_fix.len(), 1);
    assert_eq!(no_fix[0]["evidence"]["event"], "work_started");

    let codes = s.server_flags(&pre).await;
    assert!(
        codes.contains(&flags::codes::MOCK_LOCATION.to_string()),
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| *c == flags::codes::POOR_FIX).count(),
        2,
        "sign-off and completion: {codes:?}"
    );
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_supervisor_of_the_site_approves_and_an_edit_makes_approval_stale() {
    let s = setup().await;
    let clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &clock).await;
    let mut other = Phone::sign_in_with_clock(&s.server, &s.dir, OTHER_SUPER, &clock).await;
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            clock.stamp(Some(fix_at(0.0, 5.0))),
        )
        .expect("create");
    lead.store
        .sign(&id, clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("sign");
    lead.store
        .complete(&id, clock.stamp(Some(fix_at(0.0, 5.0))))
        .expect("complete");
    lead.sync().await;

    // The crew lead approves his own JSEA on his phone: refused, kept, marked.
    let mut own = lead.store.document(&id).expect("doc");
    let dir2 = tempfile::tempdir().expect("dir");
    let mut lead2 = Phone::sign_in_with_clock(&s.server, &dir2, LEAD, &clock).await;
    lead2.store.merge_remote(&id, &own.save()).expect("copy");
    lead2
        .store
        .decide(&id, ApprovalDecision::Approved, None, clock.stamp(None))
        .expect("local");
    let report = lead2.sync().await;
    assert_eq!(
        report.rejected.first().map(|r| r.code),
        Some(RejectCode::ApprovalNotPermitted)
    );

    // A supervisor of another site, handed the JSEA over a hotspot: refused too, as someone who
    // may not write at this site at all.
    other.store.merge_remote(&id, &own.save()).expect("copy");
    other
        .store
        .decide(&id, ApprovalDecision::Approved, None, clock.stamp(None))
        .expect("local");
    let report = other.sync().await;
    assert_eq!(
        report.rejected.first().map(|r| r.code),
        Some(RejectCode::OutOfScope)
    );
    assert!(
        report.rejected[0]
            .reason
            .contains("may not write records at site"),
        "{}",
        report.rejected[0].reason
    );
    // ...and from the browser they cannot even see it.
    let other_token = other.store.credentials().expect("c").expect("c").access_token;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/records/{id}/decision", s.server.url))
        .bearer_auth(&other_token)
        .json(&serde_json::json!({"decision": "approved"}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 404);

    // The site's supervisor approves from the browser; the crew sees it on their next sync.
    let dir3 = tempfile::tempdir().expect("dir");
    let sup = Phone::sign_in(&s.server, &dir3, SUPER).await;
    let sup_token = sup.store.credentials().expect("c").expect("c").access_token;
    let http = reqwest::Client::new();
    let refused = http
        .post(format!("{}/v1/records/{id}/decision", s.server.url))
        .bearer_auth(&sup_token)
        .json(&serde_json::json!({"decision": "rejected"}))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status().as_u16(), 409, "a rejection needs a comment");
    let approved = http
        .post(format!("{}/v1/records/{id}/decision", s.server.url))
        .bearer_auth(&sup_token)
        .json(&serde_json::json!({"decision": "approved", "comment": "Good to go"}))
        .send()
        .await
        .expect("post");
    assert_eq!(approved.status().as_u16(), 200);
    let detail: Value = approved.json().await.expect("json");
    assert_eq!(detail["record"]["body"]["status"], "approved");
    assert_eq!(
        detail["timeline"].as_array().expect("t").last().expect("e")["time"]["basis"],
        "server"
    );
    lead.sync().await;
    let view = lead.store.record(&id).expect("view");
    let Body::Jsea(j) = &view.record.body else {
        unreachable!()
    };
    assert_eq!(
        j.approval.as_ref().map(|a| a.comment.as_deref()),
        Some(Some("Good to go"))
    );

    // The crew edits the approved content: the approval goes stale.
    lead.store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.steps[0].hazards.push(sample::hazard(
                "Ice on the pad",
                3,
                3,
                &[("Sand", ControlLevel::Engineering)],
            ));
            Ok(())
        })
        .expect("edit");
    lead.sync().await;
    let flags = s.server_flags(&id).await;
    assert!(
        flags.contains(&flags::codes::STALE_APPROVAL.to_string()),
        "{flags:?}"
    );
    s.server.stop().await;
}

/// A JSEA the lead creates, signs and completes on site now, stamped by the lead's `clock`.
fn complete_on_site(s: &Setup, lead: &mut Phone, clock: &DeviceClock) -> String {
    let on_site = || Some(fix_at(0.0, 5.0));
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            clock.stamp(on_site()),
        )
        .expect("create");
    lead.store.sign(&id, clock.stamp(on_site())).expect("sign");
    lead.store
        .complete(&id, clock.stamp(on_site()))
        .expect("complete");
    id
}

/// The event times in a record detail's timeline, by event name (the first of each).
fn timeline_times(detail: &Value) -> Vec<(String, i64, bool, Value)> {
    detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("").to_owned(),
                e["time"]["ms"].as_i64().unwrap_or(0),
                e["time"]["verified"].as_bool().unwrap_or(false),
                e["time"]["note"].clone(),
            )
        })
        .collect()
}

/// Two phones report the same boot id (Android's boot count is a small integer many phones
/// share) and their clocks are days apart. Each phone's stamps are corrected from its own syncs
/// only: the times are right, and no note claims a clock change that never happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_phones_with_the_same_boot_id_keep_their_own_clocks() {
    let s = setup().await;
    const DAY: i64 = 24 * HOUR;
    let lead_clock = DeviceClock::booted(&s.world, 0, "7", HOUR);
    let sup_clock = DeviceClock::booted(&s.world, -4 * DAY, "7", 5 * HOUR);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &lead_clock).await;
    let mut sup = Phone::sign_in_with_clock(&s.server, &s.dir, SUPER, &sup_clock).await;
    lead.sync().await;
    sup.sync().await;

    s.world.set(6, 30);
    let on_site = || Some(fix_at(0.0, 5.0));
    let id = complete_on_site(&s, &mut lead, &lead_clock);
    lead.sync().await;
    sup.sync().await;
    s.world.set(6, 40);
    sup.store
        .decide(&id, ApprovalDecision::Approved, None, sup_clock.stamp(on_site()))
        .expect("approve");
    sup.sync().await;
    lead.sync().await;
    s.world.set(6, 50);
    lead.store
        .start_work(&id, lead_clock.stamp(on_site()))
        .expect("work starts");
    lead.sync().await;

    let detail = s.detail(&id).await;
    let times = timeline_times(&detail);
    let expected = [
        ("created", World::at(6, 30)),
        ("signed", World::at(6, 30)),
        ("completed", World::at(6, 30)),
        ("approved", World::at(6, 40)),
        ("work_started", World::at(6, 50)),
    ];
    assert_eq!(times.len(), expected.len(), "{times:?}");
    for ((event, ms, verified, note), (want_event, want_ms)) in times.iter().zip(expected) {
        assert_eq!(event, want_event, "{times:?}");
        assert!(
            *verified,
            "{event} is verified from its own phone's syncs: {times:?}"
        );
        assert!(
            (ms - want_ms).abs() <= 3_000,
            "{event} at {ms}, truly at {want_ms}: {times:?}"
        );
        assert!(note.is_null(), "{event}: no clock change happened: {note}");
    }
    let codes = s.server_flags(&id).await;
    for wrong in [
        flags::codes::UNVERIFIABLE_TIME,
        flags::codes::APPROVED_AFTER_WORK_STARTED,
        flags::codes::COMPLETED_AFTER_WORK_STARTED,
    ] {
        assert!(!codes.iter().any(|c| c == wrong), "{wrong} in {codes:?}");
    }
}

/// A GPS fix time is the phone's word too: one three hours from where the phone's synced clock
/// puts the event is not verified, and both times are shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gps_time_that_disagrees_with_the_phones_synced_clock_is_not_verified() {
    let s = setup().await;
    let lead_clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &lead_clock).await;
    lead.sync().await;
    s.world.set(6, 30);
    let fix = GpsFix {
        fix_time_ms: World::at(3, 30),
        provider: "gps".into(),
        ..fix_at(0.0, 5.0)
    };
    let id = lead
        .store
        .create(
            &s.company.site_a,
            None,
            Body::NearMiss(sample::near_miss(1)),
            lead_clock.stamp(Some(fix)),
        )
        .expect("create");
    lead.sync().await;
    let detail = s.detail(&id).await;
    let (_, _, verified, note) = timeline_times(&detail)
        .into_iter()
        .find(|(event, ..)| event == "created")
        .expect("created");
    assert!(!verified, "{detail}");
    let note = note.as_str().unwrap_or("");
    assert!(note.contains("disagree by -3 h"), "{note}");
    assert!(
        s.server_flags(&id)
            .await
            .iter()
            .any(|c| c == flags::codes::UNVERIFIABLE_TIME)
    );
}

async fn records_flagged(s: &Setup, code: &str) -> Vec<String> {
    let (status, page) = get_json(
        &format!("{}/v1/records?flag={code}", s.server.url),
        &s.admin_token,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

/// Polls the list filter until `id` is (or is not) flagged `code`: the background worker judges
/// records again within a few seconds of the facts arriving.
async fn wait_for_flag(s: &Setup, code: &str, id: &str, flagged: bool) {
    for _ in 0..100 {
        if records_flagged(s, code).await.iter().any(|r| r == id) == flagged {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{id} flagged {code}: expected {flagged} within 10 s");
}

/// A site boundary drawn after records were stored judges them: the office's list filter, the
/// flags and the detail agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boundary_drawn_later_judges_the_records_already_stored() {
    let s = setup().await;
    let mut other = Phone::sign_in(&s.server, &s.dir, OTHER_SUPER).await;
    // Site B has no boundary yet; the pre-start is done 2 km north of where it will be.
    let id = other
        .store
        .create(
            &s.company.site_b,
            None,
            Body::PreStart(sample::prestart(&other.user_id())),
            e2e_tests::at(1).with_fix(fix_at(2_000.0, 5.0)),
        )
        .expect("create");
    other.sync().await;
    assert!(!records_flagged(&s, flags::codes::OFF_SITE).await.contains(&id));

    let response = reqwest::Client::new()
        .put(format!(
            "{}/v1/admin/sites/{}/boundary",
            s.server.url, s.company.site_b
        ))
        .bearer_auth(&s.admin_token)
        .json(&serde_json::json!({
            "geofence": {"type": "circle", "lat": CENTRE.0, "lon": CENTRE.1, "radius_m": 300.0}
        }))
        .send()
        .await
        .expect("set boundary");
    assert_eq!(response.status().as_u16(), 204);
    wait_for_flag(&s, flags::codes::OFF_SITE, &id, true).await;
    let detail = s.detail(&id).await;
    let off_site = detail["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["code"] == flags::codes::OFF_SITE)
        .unwrap_or_else(|| panic!("{detail}"));
    let distance: f64 = off_site["evidence"]["distance_m"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("distance");
    assert!((1_650.0..1_750.0).contains(&distance), "{off_site}");
}

/// A phone restarted before it synced stamps a JSEA offline; another phone carries the JSEA to
/// the server (its times cannot be verified yet). When the first phone syncs that evening, in
/// the same boot, its clock anchor arrives and the JSEA is judged again: verified times, no flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_anchors_arriving_after_the_record_judge_it_again() {
    let s = setup().await;
    let lead_clock = DeviceClock::new(&s.world, 0);
    let sup_clock = DeviceClock::new(&s.world, 0);
    let mut lead = Phone::sign_in_with_clock(&s.server, &s.dir, LEAD, &lead_clock).await;
    let mut sup = Phone::sign_in_with_clock(&s.server, &s.dir, SUPER, &sup_clock).await;
    // Yesterday's record makes the lead's phone known to the server.
    lead.store
        .create(
            &s.company.site_a,
            None,
            Body::NearMiss(sample::near_miss(1)),
            lead_clock.stamp(None),
        )
        .expect("create");
    lead.sync().await;
    sup.sync().await;

    s.world.set(6, 5);
    lead_clock.reboot();
    s.world.set(6, 30);
    let on_site = || Some(fix_at(0.0, 5.0));
    let id = complete_on_site(&s, &mut lead, &lead_clock);
    // The phones meet on a hotspot; the supervisor approves and later reaches signal first.
    sup.store.merge_from(&lead.store, &id).expect("hotspot");
    s.world.set(6, 40);
    sup.store
        .decide(&id, ApprovalDecision::Approved, None, sup_clock.stamp(on_site()))
        .expect("approve");
    s.world.set(7, 0);
    sup.sync().await;
    assert!(
        records_flagged(&s, flags::codes::UNVERIFIABLE_TIME)
            .await
            .contains(&id),
        "the lead's times cannot be verified before the lead's phone syncs"
    );

    s.world.set(17, 30);
    lead.sync().await;
    wait_for_flag(&s, flags::codes::UNVERIFIABLE_TIME, &id, false).await;
    let detail = s.detail(&id).await;
    let created = timeline_times(&detail)
        .into_iter()
        .find(|(event, ..)| event == "created")
        .expect("created");
    assert!(created.2, "{created:?}");
    assert!((created.1 - World::at(6, 30)).abs() <= 10_000, "{created:?}");
    assert!(
        !s.server_flags(&id)
            .await
            .iter()
            .any(|c| c == flags::codes::UNVERIFIABLE_TIME)
    );
}
