//! An anonymous near miss is anonymous on every read path (DESIGN §3): no one in the company,
//! worker, supervisor or admin, can learn who filed it from the record list, its detail, the
//! feed to other phones or the audit log. Only the reporter's own phone shows it as theirs; the
//! server keeps the link privately, and its write checks still hold.

use automerge::ActorId;
use e2e_tests::{DeviceClock, Phone, TestServer, World, get_json};
use serde_json::Value;
use sync_core::model::{ANONYMOUS, Body, Header, Record, SCHEMA_VERSION};
use sync_core::protocol::{
    self, ClockSample, DocPush, PROTOCOL_VERSION, PushOutcome, RejectCode, Role, SYNC_CONTENT_TYPE,
    SyncRequest, SyncResponse,
};
use sync_core::{GpsFix, RecordDocument, sample};

const REPORTER: &str = "rachel.reyes@acme.test";
const WORKER: &str = "worker@acme.test";
const SUPER: &str = "super@acme.test";
const ADMIN: &str = "office@acme.test";
/// The reporter's phone's boot id: it appears in the stamps of the reporter's other records.
const BOOT: &str = "reporter-boot-5b1f";

fn token(phone: &Phone) -> String {
    phone.store.credentials().expect("c").expect("c").access_token
}

fn fix() -> GpsFix {
    GpsFix {
        lat: 53.45,
        lon: -115.01,
        accuracy_m: 6.0,
        fix_time_ms: 0,
        provider: "fused".into(),
        mock: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_near_miss_names_no_one_on_any_read_path() {
    let world = World::new();
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            (REPORTER, Role::Worker, &[0]),
            (WORKER, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let clock = DeviceClock::booted(&world, 0, BOOT, 3_600_000);
    let mut reporter = Phone::sign_in_with_clock(&server, &dir, REPORTER, &clock).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let mut supervisor = Phone::sign_in(&server, &dir, SUPER).await;
    let mut admin = Phone::sign_in(&server, &dir, ADMIN).await;

    // The reporter's named work: the same phone, boot and clocks.
    let named = reporter
        .store
        .create(
            &company.site_a,
            None,
            Body::Jsea(sample::jsea()),
            clock.stamp(Some(fix())),
        )
        .expect("named JSEA");
    world.set(7, 0);
    let id = reporter
        .store
        .create_anonymous_near_miss(
            &company.site_a,
            None,
            sample::near_miss(World::at(6, 50)),
            clock.stamp(Some(fix())),
        )
        .expect("anonymous near miss");
    reporter
        .store
        .complete(&id, clock.stamp(Some(fix())))
        .expect("report");
    let report = reporter.sync().await;
    assert_eq!(report.accepted, 2, "{report:?}");

    let reporter_id = reporter.user_id();
    let personal_actor = reporter.store.actor().expect("actor").to_hex_string();
    let clues = [
        reporter_id.clone(),
        REPORTER.to_owned(),
        "rachel.reyes".to_owned(),
        reporter.store.device_id().to_owned(),
        BOOT.to_owned(),
        personal_actor.clone(),
    ];
    let names_no_one = |what: &str, value: &Value| {
        let text = value.to_string();
        for clue in &clues {
            assert!(
                !text.contains(clue.as_str()),
                "{what} names the reporter ({clue}): {text}"
            );
        }
    };

    // The office and the site's supervisor see the report, and nothing of who filed it.
    for (who, phone) in [("supervisor", &supervisor), ("admin", &admin)] {
        let (status, list) = get_json(
            &format!("{}/v1/records?kind=near_miss", server.url),
            &token(phone),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        let row = list["records"]
            .as_array()
            .expect("records")
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("the {who} sees the report: {list}"));
        assert_eq!(row["created_by"], ANONYMOUS);
        names_no_one(&format!("the {who}'s list row"), row);

        let (status, by_author) = get_json(
            &format!("{}/v1/records?author={reporter_id}", server.url),
            &token(phone),
        )
        .await;
        assert_eq!(status, 200, "{by_author}");
        let found: Vec<&str> = by_author["records"]
            .as_array()
            .expect("records")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(
            found,
            vec![named.as_str()],
            "filtering by the reporter finds only named work"
        );

        let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token(phone)).await;
        assert_eq!(status, 200, "{detail}");
        names_no_one(&format!("the {who}'s detail"), &detail);
        assert_eq!(detail["record"]["header"]["created_by"], ANONYMOUS);
        assert!(
            detail["authors"]
                .as_object()
                .expect("authors")
                .values()
                .all(|v| v == ANONYMOUS),
            "{detail}"
        );
        // The times are still corrected and shown; only the phone's clock readings are withheld.
        let reported = detail["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .find(|e| e["event"] == "reported")
            .unwrap_or_else(|| panic!("{detail}"));
        assert_eq!(reported["by"], Value::Null);
        assert_eq!(reported["time"]["verified"], true, "{reported}");
    }

    // Another worker at the site does not see it at all.
    let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token(&worker)).await;
    assert_eq!(status, 404, "{detail}");

    // The feed: no other phone receives the report.
    for (who, phone) in [
        ("worker", &mut worker),
        ("supervisor", &mut supervisor),
        ("admin", &mut admin),
    ] {
        phone.sync().await;
        assert!(
            phone.store.record(&id).is_err(),
            "the {who}'s phone holds the report"
        );
        assert!(
            phone.store.record(&named).is_ok(),
            "the {who}'s phone still receives the reporter's named work"
        );
    }

    // The audit log says nothing of the report.
    let (status, audit) = get_json(&format!("{}/v1/admin/audit", server.url), &token(&admin)).await;
    assert_eq!(status, 200, "{audit}");
    assert!(!audit.to_string().contains(&id), "{audit}");

    // Only the reporter's phone shows it as theirs, and its document names no one.
    let view = reporter.store.record(&id).expect("reporter's view");
    assert!(view.anonymous_by_me);
    assert_eq!(view.record.header.created_by, ANONYMOUS);
    assert_eq!(view.authors.values().collect::<Vec<_>>(), vec![ANONYMOUS]);
    assert!(!view.authors.contains_key(&personal_actor));
    assert!(!reporter.store.record(&named).expect("named").anonymous_by_me);

    // The server keeps the link, privately, for its write checks.
    let anonymous_actor = view.authors.keys().next().expect("actor");
    let owner = server
        .store()
        .actor(anonymous_actor)
        .expect("lookup")
        .expect("registered");
    assert!(owner.anonymous);
    assert_eq!(owner.user_id, reporter_id);

    // The reporter adds to the report later, still anonymously, through the report's own actor.
    reporter
        .store
        .edit(&id, |r| {
            if let Body::NearMiss(n) = &mut r.body {
                n.immediate_actions = Some("Stopped the entry and re-briefed the crew".into());
            }
            Ok(())
        })
        .expect("an anonymous edit");
    let report = reporter.sync().await;
    assert_eq!(report.accepted, 1, "{report:?}");
    let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token(&admin)).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["record"]["body"]["immediate_actions"],
        "Stopped the entry and re-briefed the crew"
    );
    names_no_one("the admin's detail after the edit", &detail);
    assert_eq!(reporter.store.record(&id).expect("view").authors.len(), 1);

    // The reporter cannot name themselves afterwards: the history would say who it was.
    let named_now = reporter.store.edit(&id, |r| {
        if let Body::NearMiss(n) = &mut r.body {
            n.reporter_id = Some(reporter_id.clone());
        }
        Ok(())
    });
    assert!(named_now.is_err(), "an anonymous report cannot be given a name");
    server.stop().await;
}

/// Only a near miss is filed anonymously: a JSEA claiming to be anonymous is refused, so the
/// anonymous actor cannot hide who wrote anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_near_miss_can_be_anonymous() {
    let server = TestServer::start().await;
    let company = server.company("Acme Energy", &[(WORKER, Role::Worker, &[0])]);
    let dir = tempfile::tempdir().expect("dir");
    let worker = Phone::sign_in(&server, &dir, WORKER).await;
    let record = Record {
        header: Header {
            id: sync_core::model::new_id(),
            kind: "jsea".into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: company.id.clone(),
            site_id: company.site_a.clone(),
            job_id: None,
            created_by: ANONYMOUS.into(),
            created: e2e_tests::at(1),
        },
        body: Body::Jsea(sample::jsea()),
    };
    let mut doc =
        RecordDocument::create(ActorId::random(), ANONYMOUS, &record, 1_795_000_000_000).expect("doc");
    let body = protocol::encode(&SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: 0,
        cursor_check: 0,
        clock: ClockSample {
            wall_ms: 1_795_000_000_000,
            monotonic_ms: 1,
            boot_id: "b".into(),
            last_round_trip_ms: 0,
        },
        pushes: vec![DocPush {
            doc_id: record.header.id.clone(),
            base_heads: vec![],
            changes: doc.save(),
        }],
        doc_sync: vec![],
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url))
        .bearer_auth(token(&worker))
        .header("content-type", SYNC_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .expect("sync");
    assert_eq!(response.status().as_u16(), 200);
    let answer: SyncResponse = protocol::decode(&response.bytes().await.expect("body")).expect("answer");
    assert!(
        matches!(
            &answer.results[0].outcome,
            PushOutcome::Rejected {
                code: RejectCode::AuthorMismatch,
                ..
            }
        ),
        "{:?}",
        answer.results
    );
    assert!(
        server
            .store()
            .document(&company.id, &record.header.id)
            .expect("lookup")
            .is_none()
    );
    server.stop().await;
}
