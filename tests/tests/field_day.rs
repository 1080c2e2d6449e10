//! A field day end to end: a real server on 127.0.0.1:0, three phones with their own SQLite
//! stores, offline edits, concurrent edits and sign-on, syncs in several orders, convergence,
//! flags, tenancy, token refresh and rejected changes kept on the phone.

use e2e_tests::{Phone, TestServer, at, get_json};
use sync_core::model::{ApprovalDecision, Body, ControlLevel, JseaStatus};
use sync_core::protocol::{RejectCode, Role};
use sync_core::{flags, sample};

const LEAD: &str = "lead@acme.test";
const WORKER: &str = "worker@acme.test";
const SUPER: &str = "super@acme.test";
const ADMIN: &str = "office@acme.test";

async fn acme(server: &TestServer) -> e2e_tests::Company {
    server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (WORKER, Role::Worker, &[0, 1]),
            (SUPER, Role::Supervisor, &[0, 1]),
            (ADMIN, Role::Admin, &[]),
        ],
    )
}

fn jsea_of(phone: &Phone, id: &str) -> sync_core::model::Jsea {
    match phone.store.record(id).expect("record").record.body {
        Body::Jsea(j) => j,
        other => panic!("not a JSEA: {other:?}"),
    }
}

async fn admin_token(server: &TestServer) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let phone = Phone::sign_in(server, &dir, ADMIN).await;
    phone
        .store
        .credentials()
        .expect("creds")
        .expect("signed in")
        .access_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_phones_converge_and_the_late_jsea_is_flagged() {
    let server = TestServer::start().await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let mut sup = Phone::sign_in(&server, &dir, SUPER).await;

    // 06:30, no signal: the lead starts the JSEA and it reaches the worker's phone on a hotspot.
    let id = lead
        .store
        .create(&company.site_a, Some("WO-1"), Body::Jsea(sample::jsea()), at(30))
        .expect("create");
    lead.sync().await;
    worker.sync().await;

    // Offline again: both add hazards to the same step, both sign on, from their own phones.
    lead.store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.steps[0].hazards.push(sample::hazard(
                "Vehicle traffic",
                4,
                2,
                &[("Spotter", ControlLevel::Administrative)],
            ));
            Ok(())
        })
        .expect("lead edit");
    worker
        .store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.steps[0].hazards.push(sample::hazard(
                "Noise",
                2,
                4,
                &[("Hearing protection", ControlLevel::Ppe)],
            ));
            j.steps[0]
                .hazards
                .last_mut()
                .expect("just added")
                .ppe_only_justification = Some("Short exposure, under 10 min".into());
            Ok(())
        })
        .expect("worker edit");
    lead.store.sign(&id, at(40)).expect("lead signs");
    worker.store.sign(&id, at(41)).expect("worker signs");

    // Signal returns in the order worker, lead, worker.
    worker.sync().await;
    lead.sync().await;
    worker.sync().await;
    let merged = jsea_of(&lead, &id);
    let names: Vec<&str> = merged.steps[0]
        .hazards
        .iter()
        .map(|h| h.description.as_str())
        .collect();
    assert!(
        names.contains(&"Vehicle traffic") && names.contains(&"Noise"),
        "{names:?}"
    );
    assert_eq!(merged.signatures.len(), 2);
    assert_eq!(jsea_of(&worker, &id), merged);

    // Both signed content that changed after; they re-sign the merged version and complete.
    lead.store.sign(&id, at(44)).expect("re-sign");
    lead.sync().await;
    worker.sync().await;
    worker.store.sign(&id, at(45)).expect("re-sign");
    worker.store.complete(&id, at(50)).expect("complete");
    worker.sync().await;

    // The supervisor approves from the truck, offline, then syncs; the crew sees it.
    sup.sync().await;
    sup.store
        .decide(&id, ApprovalDecision::Approved, None, at(58))
        .expect("approve");
    sup.sync().await;
    lead.sync().await;
    lead.store.start_work(&id, at(65)).expect("work starts");
    lead.sync().await;
    worker.sync().await;
    sup.sync().await;

    // Every phone and the server hold the same record.
    let on_lead = lead.store.record(&id).expect("lead view");
    for phone in [&worker, &sup] {
        let view = phone.store.record(&id).expect("view");
        assert_eq!(view.record, on_lead.record);
        assert_eq!(view.flags, on_lead.flags);
    }
    assert_eq!(jsea_of(&lead, &id).status, JseaStatus::WorkStarted);
    assert!(on_lead.flags.is_empty(), "done in order: {:?}", on_lead.flags);
    let token = admin_token(&server).await;
    let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token).await;
    assert_eq!(status, 200);
    let on_server: sync_core::Record = serde_json::from_value(detail["record"].clone()).expect("record json");
    assert_eq!(on_server, on_lead.record);
    let events: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        events,
        vec![
            "created",
            "signed",
            "signed",
            "completed",
            "approved",
            "work_started"
        ]
    );

    // At site B the worker starts work at 07:10 and completes the JSEA at 07:40.
    let late = worker
        .store
        .create(&company.site_b, None, Body::Jsea(sample::jsea()), at(68))
        .expect("create");
    worker.store.start_work(&late, at(70)).expect("start");
    worker.store.sign(&late, at(99)).expect("sign");
    worker.store.complete(&late, at(100)).expect("complete");
    worker.sync().await;
    let (_, flagged) = get_json(
        &format!(
            "{}/v1/records?flag={}",
            server.url,
            flags::codes::COMPLETED_AFTER_WORK_STARTED
        ),
        &token,
    )
    .await;
    let ids: Vec<&str> = flagged["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, vec![late.as_str()], "only the late JSEA is flagged");
    let (_, detail) = get_json(&format!("{}/v1/records/{late}", server.url), &token).await;
    let flag = detail["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["code"] == flags::codes::COMPLETED_AFTER_WORK_STARTED)
        .expect("flag with evidence");
    assert_eq!(flag["evidence"]["minutes_late"], "30.0");

    // The lead works only at site A: the late JSEA at site B is not on the lead's phone.
    lead.sync().await;
    assert!(lead.store.record(&late).is_err());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_changes_nothing() {
    use sync_core::protocol::{
        self, ClockSample, DocPush, PROTOCOL_VERSION, SYNC_CONTENT_TYPE, SyncRequest, SyncResponse,
    };
    let server = TestServer::start().await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let id = lead
        .store
        .create(&company.site_a, None, Body::NearMiss(sample::near_miss(5)), at(1))
        .expect("create");
    let mut doc = lead.store.document(&id).expect("doc");
    let request = SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: 0,
        cursor_check: 0,
        clock: ClockSample {
            wall_ms: 1,
            monotonic_ms: 1,
            boot_id: "b".into(),
            last_round_trip_ms: 0,
        },
        pushes: vec![DocPush {
            doc_id: id.clone(),
            base_heads: vec![],
            changes: doc.save(),
        }],
        doc_sync: vec![],
    };
    let body = protocol::encode(&request);
    let token = lead
        .store
        .credentials()
        .expect("creds")
        .expect("some")
        .access_token;
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..2 {
        // The first answer is "lost": the phone never reads it and sends the same bytes again.
        let bytes = http
            .post(format!("{}/v1/sync", server.url))
            .bearer_auth(&token)
            .header("content-type", SYNC_CONTENT_TYPE)
            .body(body.clone())
            .send()
            .await
            .expect("post")
            .bytes()
            .await
            .expect("body");
        answers.push(protocol::decode::<SyncResponse>(&bytes).expect("answer"));
    }
    assert_eq!(answers[0].results, answers[1].results);
    let head = server.store().feed_head(&company.id).expect("head");
    assert_eq!(head, 1, "the replay added nothing to the change feed");
    // The phone's own sync afterwards also changes nothing on the server.
    lead.sync().await;
    assert_eq!(server.store().feed_head(&company.id).expect("head"), 1);
    assert!(lead.store.pending().expect("pending").is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_company_cannot_read_or_write_another_companys_records() {
    let server = TestServer::start().await;
    let acme = acme(&server).await;
    server.company(
        "Borealis Drilling",
        &[
            ("rig@borealis.test", Role::Worker, &[0]),
            ("boss@borealis.test", Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut rival = Phone::sign_in(&server, &dir, "rig@borealis.test").await;
    let id = lead
        .store
        .create(&acme.site_a, None, Body::Jsea(sample::jsea()), at(1))
        .expect("create");
    lead.sync().await;

    // Reading: not in lists, not by id, not through sync.
    let rival_token = rival.store.credentials().expect("c").expect("c").access_token;
    let (status, _) = get_json(&format!("{}/v1/records/{id}", server.url), &rival_token).await;
    assert_eq!(status, 404);
    let (_, list) = get_json(&format!("{}/v1/records", server.url), &rival_token).await;
    assert_eq!(list["records"].as_array().expect("records").len(), 0);
    rival.sync().await;
    assert!(rival.store.record(&id).is_err());

    // Writing: a copy of Acme's record pushed from Borealis is refused and changes nothing.
    let mut copy = lead.store.document(&id).expect("doc");
    rival
        .store
        .merge_remote(&id, &copy.save())
        .expect("copied onto the rival phone");
    rival
        .store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.task = "vandalised".into();
            Ok(())
        })
        .expect("local edit");
    let report = rival.sync().await;
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].code, RejectCode::WrongTenant);
    let admin = admin_token(&server).await;
    let (_, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &admin).await;
    assert_eq!(
        detail["record"]["body"]["task"],
        "Replace wellhead valve on 4-12 pad"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_and_the_sync_goes_through() {
    let server = TestServer::start_with(|state| state.access_ttl_ms = 1_000).await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let before = lead.store.credentials().expect("c").expect("c");
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    // Make the phone believe its token is still fresh, so the server is the one to say no.
    let mut stale = before.clone();
    stale.access_expires_at_ms = i64::MAX / 2;
    lead.store.set_credentials(&stale).expect("save");
    let id = lead
        .store
        .create(&company.site_a, None, Body::NearMiss(sample::near_miss(9)), at(2))
        .expect("create");
    let report = lead.sync().await;
    assert_eq!(report.accepted, 1);
    let after = lead.store.credentials().expect("c").expect("c");
    assert_ne!(after.refresh_token, before.refresh_token, "refresh tokens rotate");
    assert!(server.store().document(&company.id, &id).expect("doc").is_some());

    // The spent refresh token, replayed, revokes the device.
    let replay = reqwest::Client::new()
        .post(format!("{}/v1/auth/refresh", server.url))
        .json(&serde_json::json!({ "refresh_token": before.refresh_token }))
        .send()
        .await
        .expect("post");
    assert_eq!(replay.status().as_u16(), 401);
    let body: serde_json::Value = replay.json().await.expect("json");
    assert_eq!(body["error"]["code"], "refresh_token_reused");
    let err = lead
        .client
        .sync(&mut lead.store, &|_| {})
        .await
        .expect_err("revoked device cannot sync");
    assert!(
        err.to_string().contains("revoked") || err.to_string().contains("sign in"),
        "{err}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_stays_on_the_phone_with_its_reason() {
    let server = TestServer::start().await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let id = worker
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(1))
        .expect("create");
    worker.store.sign(&id, at(2)).expect("sign");
    worker.store.complete(&id, at(3)).expect("complete");
    worker.sync().await;

    // A tampered app writes an approval in the supervisor's name.
    worker
        .store
        .edit(&id, |r| {
            let hash = r.body.content_hash();
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.approval = Some(sync_core::model::Approval {
                decision: ApprovalDecision::Approved,
                by_user_id: "the-supervisor".into(),
                by_name: "Sam Supervisor".into(),
                comment: None,
                content_hash: hash,
                stamp: at(4),
            });
            j.status = JseaStatus::Approved;
            Ok(())
        })
        .expect("local edit");
    let report = worker.sync().await;
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].code, RejectCode::ApprovalNotPermitted);

    // Kept on the phone, marked, with the reason; still queued; the server unchanged.
    let view = worker.store.record(&id).expect("still here");
    let rejection = view.rejection.expect("marked");
    assert_eq!(rejection.code, RejectCode::ApprovalNotPermitted);
    assert!(
        rejection.reason.contains("may not approve"),
        "{}",
        rejection.reason
    );
    assert!(view.pending_sync);
    assert!(jsea_of(&worker, &id).approval.is_some());
    let admin = admin_token(&server).await;
    let (_, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &admin).await;
    assert_eq!(detail["record"]["body"]["status"], "completed");

    // Signing on for someone else is refused the same way, on another record.
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let other = lead
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(5))
        .expect("create");
    lead.store
        .edit(&other, |r| {
            let hash = r.body.content_hash();
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.signatures.insert(
                "someone-else".into(),
                sync_core::model::Signature {
                    user_id: "someone-else".into(),
                    name: "Not Me".into(),
                    content_hash: hash,
                    stamp: at(6),
                },
            );
            Ok(())
        })
        .expect("local edit");
    let report = lead.sync().await;
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].code, RejectCode::SignatureForged);
    assert!(
        server
            .store()
            .document(&company.id, &other)
            .expect("lookup")
            .is_none(),
        "nothing stored half-way"
    );
    assert_eq!(
        lead.store
            .record(&other)
            .expect("kept")
            .rejection
            .expect("marked")
            .code,
        RejectCode::SignatureForged
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_call_drains_an_outbox_bigger_than_the_server_limits() {
    let server = TestServer::start_with(|state| {
        let mut limits = server::default_limits();
        limits.max_pushes = 7;
        limits.max_update_bytes = 10_000;
        state.limits = std::sync::Arc::new(limits);
    })
    .await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    for i in 0..30 {
        lead.store
            .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(i))
            .expect("create");
    }
    let report = lead.sync().await;
    assert_eq!(report.accepted, 30);
    assert!(
        report.round_trips >= 5,
        "30 records at 7 per request: {}",
        report.round_trips
    );
    assert!(lead.store.pending().expect("pending").is_empty());

    // The worker pulls them in pages of about 10 kB and ends with all 30.
    let report = worker.sync().await;
    assert!(report.round_trips > 1, "paged: {report:?}");
    assert_eq!(worker.store.count_records().expect("count"), 30);
    let idle = worker.sync().await;
    assert_eq!((idle.round_trips, idle.received), (1, 0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_backup_is_brought_up_to_date_by_automerge_sync() {
    let server = TestServer::start().await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let id = lead
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(1))
        .expect("create");
    lead.sync().await;
    let backup = dir.path().join("nightly.db");
    server.backup(&backup);

    // After the backup: more edits, acknowledged by the server that is about to be lost.
    lead.store.sign(&id, at(2)).expect("sign");
    let lost = lead
        .store
        .create(&company.site_a, None, Body::NearMiss(sample::near_miss(5)), at(3))
        .expect("create");
    lead.sync().await;
    assert!(lead.store.pending().expect("pending").is_empty());

    let server = server.restore(&backup).await;
    assert!(
        server
            .store()
            .document(&company.id, &lost)
            .expect("lookup")
            .is_none(),
        "the restore lost it"
    );
    let mut credentials = lead.store.credentials().expect("c").expect("c");
    credentials.server_url = server.url.clone();
    lead.store.set_credentials(&credentials).expect("new address");

    // The phone knows nothing happened; its next edit builds on history the server lacks.
    lead.store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.muster_point = "Lease road gate".into();
            Ok(())
        })
        .expect("edit");
    let report = lead.sync().await;
    assert!(report.round_trips >= 2, "{report:?}");
    assert!(
        lead.store.pending().expect("pending").is_empty(),
        "{:?}",
        lead.store.pending()
    );
    assert!(lead.store.fallback_ids().expect("ids").is_empty());
    let admin_token = admin_token(&server).await;
    let (_, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &admin_token).await;
    let on_server: sync_core::Record = serde_json::from_value(detail["record"].clone()).expect("record");
    assert_eq!(
        on_server,
        lead.store.record(&id).expect("view").record,
        "the signature and the edit are back"
    );
    // The record created after the backup had been acknowledged by the lost server: the phone
    // sees the server is behind its cursor and sends everything again.
    assert!(
        server
            .store()
            .document(&company.id, &lost)
            .expect("lookup")
            .is_some(),
        "the lost record is back"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diverged_knowledge_is_reconciled_with_automerge_sync() {
    let server = TestServer::start().await;
    let company = acme(&server).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let id = lead
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(1))
        .expect("create");
    lead.sync().await;
    worker.sync().await;

    // Both edit offline; the lead syncs first.
    lead.store.sign(&id, at(2)).expect("sign");
    lead.sync().await;
    worker
        .store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.muster_point = "Upwind at the flare stack".into();
            Ok(())
        })
        .expect("edit");
    // The worker's phone no longer trusts what it believes the server has for this record.
    worker.store.reconcile_with_server(&id).expect("mark");
    let report = worker.sync().await;
    assert!(report.round_trips >= 2, "{report:?}");
    assert!(worker.store.fallback_ids().expect("ids").is_empty(), "reconciled");
    assert!(
        worker.store.pending().expect("pending").is_empty(),
        "acknowledged"
    );
    lead.sync().await;
    let merged = jsea_of(&lead, &id);
    assert_eq!(merged.muster_point, "Upwind at the flare stack");
    assert!(merged.signatures.contains_key(&lead.user_id()));
    assert_eq!(jsea_of(&worker, &id), merged);
    let admin = admin_token(&server).await;
    let (_, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &admin).await;
    assert_eq!(
        detail["record"]["body"]["muster_point"],
        "Upwind at the flare stack"
    );
    server.stop().await;
}
