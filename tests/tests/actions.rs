//! Corrective actions and the equipment register, end to end: a failed critical pre-start synced
//! from two phones at once raises exactly one action (the server's, stamped with its clock), the
//! unit goes out of service with the pre-start named as the reason, the assignee resolves it on a
//! phone, a supervisor verifies it on another and the unit is back; the resolver cannot verify
//! their own fix; an action past its due date is flagged with its evidence once the server's
//! clock passes it; a unit named offline that the register lacked is added on sync.

use e2e_tests::{Phone, TestServer, World, at, get_json};
use serde_json::{Value, json};
use sync_core::kinds::corrective_action::{ActionStatus, codes};
use sync_core::model::{ApprovalDecision, Body, Record};
use sync_core::parts::{Approval, ItemResult};
use sync_core::program::raised_action_id;
use sync_core::protocol::{RejectCode, Role};
use sync_core::{Kind, ListFilter, Stamp, sample};

const OPERATOR: &str = "olu.operator@acme.test";
const MECHANIC: &str = "mo.mechanic@acme.test";
/// First by name among the site's supervisors: raised actions go to her.
const ASSIGNEE: &str = "bea.boss@acme.test";
const SUPER: &str = "sam.super@acme.test";
const ADMIN: &str = "ada.admin@acme.test";
const DAY: i64 = 86_400_000;

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
            (OPERATOR, Role::Worker, &[0]),
            (MECHANIC, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
            (ASSIGNEE, Role::Supervisor, &[0]),
            (ADMIN, Role::Admin, &[]),
        ],
    );
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

fn user_id(server: &TestServer, email: &str) -> String {
    server
        .store()
        .user_by_email(email)
        .expect("lookup")
        .expect("user")
        .id
}

/// A completed pre-start of `unit` on the operator's phone, every item passed but `fail`, which
/// failed with a note. Returns the record id and the failed item's id.
/// A stamp `minutes` after 05:50 on the world's first day: pre-starts are done just before the
/// server's clock reads 06:00, and the actions they raise count from then.
fn field_stamp(minutes: i64) -> Stamp {
    let wall = World::at(5, 50) + minutes * 60_000;
    Stamp::new(wall, 1_000_000 + minutes * 60_000, "boot-1")
}

fn failed_pre_start(phone: &mut Phone, site: &str, unit: &str, fail: &str) -> (String, String) {
    let (id, failed) = checked_pre_start(phone, site, unit, fail);
    phone.store.sign(&id, field_stamp(1)).expect("sign off");
    phone.store.complete(&id, field_stamp(2)).expect("complete");
    (id, failed)
}

/// The same pre-start, checked but not yet signed off or completed.
fn checked_pre_start(phone: &mut Phone, site: &str, unit: &str, fail: &str) -> (String, String) {
    let operator = phone.user_id();
    let mut pre_start = sample::prestart(&operator);
    pre_start.unit.unit_id = unit.into();
    pre_start.unit.make_model = "Cat 950 loader".into();
    pre_start.unit.hour_meter = Some(5_120.0);
    let mut failed = String::new();
    for item in &mut pre_start.items {
        if item.label == fail {
            item.result = Some(ItemResult::Fail);
            item.defect_note = Some("pedal goes to the floor".into());
            failed = item.id.clone();
        } else {
            item.result = Some(ItemResult::Pass);
        }
    }
    assert!(!failed.is_empty(), "the sample has an item {fail:?}");
    let id = phone
        .store
        .create(site, None, Body::PreStart(pre_start), field_stamp(0))
        .expect("pre-start");
    (id, failed)
}

fn actions_in(server: &TestServer, tenant: &str) -> Vec<sync_core::Projection> {
    let scope = server::store::Scope {
        tenant_id: tenant.into(),
        user_id: "test".into(),
        role: Role::Admin,
        sites: vec![],
    };
    let filter = ListFilter {
        kind: Some(Kind::CorrectiveAction.as_str().into()),
        ..ListFilter::default()
    };
    server.store().list_records(&scope, &filter).expect("list")
}

fn stored(server: &TestServer, tenant: &str, id: &str) -> Record {
    server::judge::stored_record(server.store(), tenant, id)
        .expect("read")
        .expect("stored")
}

async fn register(s: &Setup) -> Vec<Value> {
    let (status, body) = get_json(&format!("{}/v1/equipment", s.server.url), &s.admin_token).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a list").clone()
}

fn unit<'a>(register: &'a [Value], unit_id: &str) -> &'a Value {
    register
        .iter()
        .find(|u| u["unit_id"] == unit_id)
        .unwrap_or_else(|| panic!("unit {unit_id} in {register:#?}"))
}

async fn post_json(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pre_start_from_two_phones_raises_one_action_holds_the_unit_until_verified() {
    let s = setup().await;
    let (server, tenant) = (&s.server, s.company.id.clone());
    let raised_at = s.world.now();

    // The office registers the loader; the field writes its number its own way.
    let (status, body) = post_json(
        &format!("{}/v1/equipment", server.url),
        &s.admin_token,
        &json!({"unit_id": "LD-3", "make_model": "Cat 950 loader", "equipment_type": "Loader",
                "required_certificates": ["Ground disturbance"], "hour_meter": 5000.0}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["in_service"], true);
    let (status, body) = post_json(
        &format!("{}/v1/equipment", server.url),
        &s.admin_token,
        &json!({"unit_id": "ld 3", "make_model": "Another loader"}),
    )
    .await;
    assert_eq!(
        status, 409,
        "the same unit written another way is refused: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("already has unit LD-3"),
        "{body}"
    );
    let (status, body) = post_json(
        &format!("{}/v1/equipment", server.url),
        &s.admin_token,
        &json!({"unit_id": "GR-1", "make_model": "  "}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("make and model"),
        "{body}"
    );

    // The operator fails the brakes (the draft reaches the server while there is signal, which
    // raises nothing) and signs it off offline; the mechanic's phone takes a copy over the hotspot
    // and adds what they saw. Both phones reach signal at once.
    let mut operator = Phone::sign_in(server, &s.dir, OPERATOR).await;
    let mut mechanic = Phone::sign_in(server, &s.dir, MECHANIC).await;
    let (pre_start, brakes) = checked_pre_start(&mut operator, &s.company.site_a, "ld 3", "Brakes");
    assert_eq!(operator.sync().await.accepted, 1);
    assert!(actions_in(server, &tenant).is_empty(), "a draft raises nothing");
    operator.store.sign(&pre_start, field_stamp(1)).expect("sign off");
    operator
        .store
        .complete(&pre_start, field_stamp(2))
        .expect("complete");
    mechanic
        .store
        .merge_from(&operator.store, &pre_start)
        .expect("hotspot copy");
    mechanic
        .store
        .edit(&pre_start, |r| {
            let Body::PreStart(p) = &mut r.body else {
                unreachable!()
            };
            let lights = p
                .items
                .iter_mut()
                .find(|i| i.label == "Lights and signals")
                .expect("item");
            lights.defect_note = Some("left marker light dim".into());
            Ok(())
        })
        .expect("mechanic's note");
    let (a, b) = tokio::join!(operator.sync(), mechanic.sync());
    assert_eq!((a.accepted, b.accepted), (1, 1), "{a:?} {b:?}");

    let action_id = raised_action_id(&pre_start, &brakes);
    let actions = actions_in(server, &tenant);
    assert_eq!(
        actions.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![action_id.as_str()],
        "exactly one action, with the failure's own id"
    );
    let record = stored(server, &tenant, &action_id);
    assert_eq!(record.header.created_by, "system");
    assert_eq!(record.header.site_id, s.company.site_a);
    let Body::CorrectiveAction(action) = &record.body else {
        panic!("{record:?}")
    };
    assert_eq!(action.status, ActionStatus::Open);
    let source = action.source.as_ref().expect("the source is named");
    assert_eq!(
        (
            source.kind.as_str(),
            source.record_id.as_str(),
            source.item_id.as_deref()
        ),
        ("pre_start", pre_start.as_str(), Some(brakes.as_str()))
    );
    assert_eq!(action.unit_id.as_deref(), Some("ld 3"));
    assert!(
        action.hazard.contains("'Brakes' failed: pedal goes to the floor"),
        "{}",
        action.hazard
    );
    assert_eq!(action.assignment.assignee, user_id(server, ASSIGNEE));
    // Identified when the operator completed the pre-start, due two days from then.
    let completed = field_stamp(2).wall_ms;
    assert_eq!(action.identified_ms, completed);
    assert_eq!(action.assignment.due_ms, Some(completed + 2 * DAY));
    let (status, detail) = get_json(&format!("{}/v1/records/{action_id}", server.url), &s.admin_token).await;
    assert_eq!(status, 200, "{detail}");
    let raised = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["event"] == "raised")
        .expect("a raised event");
    assert_eq!(raised["time"]["basis"], "server", "{raised}");
    assert_eq!(raised["time"]["verified"], true, "{raised}");
    assert_eq!(raised["time"]["ms"], raised_at, "{raised}");

    // The unit is out of service, and the register says which pre-start took it out.
    let units = register(&s).await;
    let loader = unit(&units, "LD-3");
    assert_eq!(loader["in_service"], false, "{loader}");
    assert_eq!(loader["open_holds"][0]["action_id"], action_id.as_str());
    assert_eq!(loader["open_holds"][0]["source_record"], pre_start.as_str());
    assert_eq!(loader["status_changed_by"]["change"], "out_of_service");
    assert_eq!(loader["status_changed_by"]["record_id"], pre_start.as_str());
    assert_eq!(
        loader["hour_meter"], 5_120.0,
        "the pre-start's reading is the latest"
    );
    assert_eq!(
        units.len(),
        1,
        "a unit the register has is not added again: {units:#?}"
    );

    // Every phone at the site receives the action on its next sync.
    operator.sync().await;
    mechanic.sync().await;
    for phone in [&operator, &mechanic] {
        let view = phone
            .store
            .record(&action_id)
            .expect("the action reached the phone");
        assert_eq!(view.record.header.created_by, "system");
    }

    // The assignee fixes it and resolves it on her phone.
    let mut assignee = Phone::sign_in(server, &s.dir, ASSIGNEE).await;
    assignee.sync().await;
    assignee
        .store
        .edit(&action_id, |r| {
            let Body::CorrectiveAction(a) = &mut r.body else {
                unreachable!()
            };
            a.resolution_note = Some("Replaced the master cylinder; bled the lines; tested".into());
            Ok(())
        })
        .expect("note");
    assignee.store.sign(&action_id, at(60)).expect("resolve");
    assert_eq!(assignee.sync().await.accepted, 1);
    assert_eq!(
        actions_in(server, &tenant)[0].status,
        "resolved",
        "resolved, and the unit stays held until someone verifies the fix"
    );
    assert_eq!(unit(&register(&s).await, "LD-3")["in_service"], false);

    // She cannot verify her own fix: her phone would not let her, and a forged verification is
    // refused by the server with the reason.
    let me = sync_core::lifecycle::Actor {
        user_id: assignee.user_id(),
        name: "bea.boss".into(),
    };
    let refused_locally = assignee
        .store
        .decide(&action_id, ApprovalDecision::Approved, None, at(61));
    assert!(refused_locally.is_err(), "{refused_locally:?}");
    assignee
        .store
        .edit(&action_id, |r| {
            let Body::CorrectiveAction(a) = &mut r.body else {
                unreachable!()
            };
            a.verification = Some(Approval::new(
                ApprovalDecision::Approved,
                &me,
                None,
                a.content_hash(),
                at(61),
            )?);
            a.status = ActionStatus::Closed;
            Ok(())
        })
        .expect("forged verification");
    let report = assignee.sync().await;
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let refusal = &report.rejected[0];
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);
    assert!(
        refusal
            .reason
            .contains("resolved this action and cannot also verify it"),
        "{}",
        refusal.reason
    );
    assert_eq!(actions_in(server, &tenant)[0].status, "resolved");

    // Another supervisor verifies it on his phone: closed, and the loader is back in service.
    let mut supervisor = Phone::sign_in(server, &s.dir, SUPER).await;
    supervisor.sync().await;
    supervisor
        .store
        .decide(&action_id, ApprovalDecision::Approved, None, at(90))
        .expect("verify");
    assert_eq!(supervisor.sync().await.accepted, 1);
    assert_eq!(actions_in(server, &tenant)[0].status, "closed");
    let units = register(&s).await;
    let loader = unit(&units, "LD-3");
    assert_eq!(loader["in_service"], true, "{loader}");
    assert_eq!(loader["open_holds"], json!([]));
    assert_eq!(loader["status_changed_by"]["change"], "back_in_service");
    assert_eq!(loader["status_changed_by"]["record_id"], action_id.as_str());

    // A retry of the pre-start's sync, or a later edit, raises nothing new.
    operator
        .store
        .edit(&pre_start, |r| {
            let Body::PreStart(p) = &mut r.body else {
                unreachable!()
            };
            p.items[0].defect_note = Some("pedal goes to the floor; towed to the shop".into());
            Ok(())
        })
        .expect("edit");
    assert_eq!(operator.sync().await.accepted, 1);
    assert_eq!(actions_in(server, &tenant).len(), 1);
    assert_eq!(actions_in(server, &tenant)[0].status, "closed");
    let audit = server.store().audit_log(&tenant, 100).expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "corrective_action.raised")
            .count(),
        1
    );
    assert!(audit.iter().any(|e| e.action == "equipment.held"));
    assert!(audit.iter().any(|e| e.action == "equipment.released"));
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_past_its_due_date_is_flagged_overdue_with_its_evidence() {
    let s = setup().await;
    let (server, tenant) = (&s.server, s.company.id.clone());
    let mut operator = Phone::sign_in(server, &s.dir, OPERATOR).await;
    let (pre_start, steering) = failed_pre_start(&mut operator, &s.company.site_a, "PU-14", "Steering");
    assert_eq!(operator.sync().await.accepted, 1);
    let action_id = raised_action_id(&pre_start, &steering);
    let due = field_stamp(2).wall_ms + 2 * DAY;
    let overdue_flags = |server: &TestServer| -> Vec<sync_core::Flag> {
        server
            .store()
            .record_flags(&tenant, &action_id)
            .expect("flags")
            .into_iter()
            .filter(|f| f.code == codes::OVERDUE)
            .collect()
    };
    server::judge::drain_once(server.store(), s.world.now()).expect("judge");
    assert!(overdue_flags(server).is_empty(), "not due yet");

    // A day and a half later: still not due.
    s.world.set(6 + 36, 0);
    server::judge::drain_once(server.store(), s.world.now()).expect("judge");
    assert!(overdue_flags(server).is_empty(), "not due yet");

    // Three days later, nobody has fixed it: judged again as time passes, it is flagged.
    s.world.set(6 + 72, 0);
    server::judge::drain_once(server.store(), s.world.now()).expect("judge");
    let flags = overdue_flags(server);
    assert_eq!(flags.len(), 1, "{flags:?}");
    let flag = &flags[0];
    assert!(
        flag.message.contains("1 day past its due date"),
        "{}",
        flag.message
    );
    let evidence = &flag.evidence;
    assert_eq!(evidence["assignee"], user_id(server, ASSIGNEE));
    assert_eq!(evidence["due"], sync_core::clock::format_utc(due));
    assert_eq!(evidence["status"], "open");
    let (status, page) = get_json(
        &format!(
            "{}/v1/records?kind=corrective_action&flag={}",
            server.url,
            codes::OVERDUE
        ),
        &s.admin_token,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["records"][0]["id"], action_id.as_str(), "{page}");
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_named_offline_that_the_register_lacks_is_added_on_sync() {
    let s = setup().await;
    let server = &s.server;
    let mut operator = Phone::sign_in(server, &s.dir, OPERATOR).await;
    let operator_id = operator.user_id();
    let mut pre_start = sample::prestart(&operator_id);
    pre_start.unit.unit_id = "EX-12".into();
    pre_start.unit.make_model = "Deere 350G excavator".into();
    pre_start.unit.hour_meter = Some(812.0);
    for item in &mut pre_start.items {
        item.result = Some(ItemResult::Pass);
    }
    // A draft names a unit too, but a half-typed number is not a unit yet.
    let id = operator
        .store
        .create(&s.company.site_a, None, Body::PreStart(pre_start), at(0))
        .expect("pre-start");
    assert_eq!(operator.sync().await.accepted, 1);
    assert!(register(&s).await.is_empty(), "a draft adds nothing");

    operator.store.sign(&id, at(1)).expect("sign");
    operator.store.complete(&id, at(2)).expect("complete");
    assert_eq!(operator.sync().await.accepted, 1);
    let units = register(&s).await;
    let excavator = unit(&units, "EX-12");
    assert_eq!(excavator["make_model"], "Deere 350G excavator");
    assert_eq!(excavator["added_from_record"], id.as_str());
    assert_eq!(excavator["added_by"], operator_id.as_str());
    assert_eq!(excavator["hour_meter"], 812.0);
    assert_eq!(excavator["equipment_type"], "", "the office types it");
    assert_eq!(excavator["in_service"], true);
    assert!(actions_in(server, &s.company.id).is_empty(), "nothing failed");

    // The office completes its details; the field's number stays.
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/equipment/ex%2012", server.url))
        .bearer_auth(&s.admin_token)
        .json(&json!({"equipment_type": "Excavator", "required_certificates": ["Ground disturbance"]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        (
            &body["unit_id"],
            &body["equipment_type"],
            &body["required_certificates"]
        ),
        (
            &json!("EX-12"),
            &json!("Excavator"),
            &json!(["Ground disturbance"])
        )
    );
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/equipment/NOPE-1", server.url))
        .bearer_auth(&s.admin_token)
        .json(&json!({"equipment_type": "Excavator"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status().as_u16(), 404);
    let audit = server.store().audit_log(&s.company.id, 100).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "equipment.added_from_field" && e.user_id == operator_id),
        "{audit:#?}"
    );
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_keeps_the_register_to_name_units_offline_and_sees_a_held_unit_out_of_service() {
    let s = setup().await;
    let mut operator = Phone::sign_in(&s.server, &s.dir, OPERATOR).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/equipment", s.server.url))
        .bearer_auth(&s.admin_token)
        .json(&serde_json::json!({"unit_id": "LD-3", "make_model": "Cat 950 loader", "equipment_type": "Loader"}))
        .send()
        .await
        .expect("register");
    assert_eq!(answer.status(), 201);
    assert_eq!(operator.store.equipment_register().expect("read"), None);

    let register = operator
        .client
        .refresh_equipment_register(&mut operator.store)
        .await
        .expect("fetched");
    let kept = operator.store.equipment_register().expect("read").expect("kept");
    assert_eq!(kept, register);
    let loader = kept.unit("ld 3").expect("found however it is written");
    assert_eq!(
        (loader.make_model.as_str(), loader.in_service),
        ("Cat 950 loader", true)
    );

    // The brakes fail: once the action is raised, the phone's next fetch shows the unit held.
    failed_pre_start(&mut operator, &s.company.site_a, "LD-3", "Brakes");
    assert_eq!(operator.sync().await.accepted, 1);
    let register = operator
        .client
        .refresh_equipment_register(&mut operator.store)
        .await
        .expect("fetched");
    assert!(!register.unit("LD-3").expect("listed").in_service);

    // Out of signal, the fetch fails and the phone still has what it kept.
    let url = s.server.url.clone();
    s.server.stop().await;
    let offline = operator
        .client
        .refresh_equipment_register(&mut operator.store)
        .await;
    assert!(
        matches!(offline, Err(sync_core::Error::Offline(_))),
        "{offline:?} from {url}"
    );
    assert_eq!(operator.store.equipment_register().expect("read"), Some(register));
}
