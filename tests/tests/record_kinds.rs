//! The record-kind spec end to end, through a kind the server and the FFI were not edited for:
//! a tailgate meeting (kinds/tailgate_meeting, registered in one line) is made on one phone,
//! signed on two, held, synced, judged, listed with filters, shown with its timeline and read on
//! a third phone. A forged signature is refused by the kind's own write rule.

use e2e_tests::{Phone, TestServer, at, get_json};
use sync_core::fields;
use sync_core::kinds::tailgate_meeting::TailgateMeeting;
use sync_core::model::Body;
use sync_core::protocol::{RejectCode, Role};
use sync_core::{Error, Kind, ListFilter, lifecycle};

const LEAD: &str = "lead@acme.test";
const WORKER: &str = "worker@acme.test";
const SUPER: &str = "super@acme.test";

fn meeting_of(phone: &Phone, id: &str) -> TailgateMeeting {
    match phone.store.record(id).expect("record").record.body {
        Body::TailgateMeeting(m) => m,
        other => panic!("not a tailgate meeting: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_added_in_one_folder_round_trips_through_the_server() {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (WORKER, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut lead = Phone::sign_in(&server, &dir, LEAD).await;
    let mut worker = Phone::sign_in(&server, &dir, WORKER).await;
    let mut sup = Phone::sign_in(&server, &dir, SUPER).await;

    // Created from JSON, as a shell does through the generic FFI operations.
    let body = fields::new_body(
        Kind::TailgateMeeting,
        r#"{"title": "Lifting over the live line", "topics": ["Exclusion zone"], "crew": [],
            "signatures": {}, "status": "draft", "held": null}"#,
    )
    .expect("a new meeting from JSON");
    let id = lead
        .store
        .create(&company.site_a, None, body, at(0))
        .expect("create");
    lead.store
        .edit(&id, |r| {
            fields::set(r, "title", serde_json::json!("Lifting over the live line, pad 7"))
        })
        .expect("set by path");
    let err = lead.store.complete(&id, at(1)).unwrap_err();
    let Error::Blocked(findings) = err else {
        panic!("holding the meeting with no signature must be blocked: {err}")
    };
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "tailgate_meeting.signature_required"),
        "{findings:?}"
    );
    lead.store.sign(&id, at(2)).expect("lead signs");
    lead.sync().await;
    worker.sync().await;
    worker
        .store
        .sign(&id, at(3))
        .expect("worker signs on their own phone");
    worker.sync().await;
    lead.sync().await;
    lead.store.complete(&id, at(4)).expect("held");
    lead.sync().await;
    sup.sync().await;
    worker.sync().await;

    // Every phone converged on the same meeting.
    let on_lead = meeting_of(&lead, &id);
    assert_eq!(on_lead.signatures.len(), 2);
    assert_eq!(meeting_of(&worker, &id), on_lead);
    assert_eq!(meeting_of(&sup, &id), on_lead);
    let listed = sup
        .store
        .list(&ListFilter {
            kind: Some("tailgate_meeting".into()),
            ..ListFilter::default()
        })
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "held");
    assert_eq!(listed[0].completed_at_ms, Some(at(4).wall_ms));

    // The server projected, listed and judged it with the kind's own rules.
    let token = sup
        .store
        .credentials()
        .expect("creds")
        .expect("signed in")
        .access_token;
    let (status, page) = get_json(
        &format!(
            "{}/v1/records?kind=tailgate_meeting&status=held&title=pad%207",
            server.url
        ),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let rows = page["records"].as_array().expect("records");
    assert_eq!(rows.len(), 1, "{page}");
    assert_eq!(rows[0]["title"], "Lifting over the live line, pad 7");
    assert_eq!(rows[0]["closed_at_ms"], serde_json::Value::Null);
    let (status, detail) = get_json(&format!("{}/v1/records/{id}", server.url), &token).await;
    assert_eq!(status, 200, "{detail}");
    let events: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(events, ["created", "signed", "signed", "held"], "{detail}");

    // Another phone cannot sign in a colleague's name: the kind's write rule, on the server.
    let lead_id = lead.user_id();
    worker
        .store
        .edit(&id, |r| {
            let Body::TailgateMeeting(m) = &mut r.body else {
                unreachable!()
            };
            let mut forged = m.signatures[&lead_id].clone();
            forged.name = "someone else".into();
            m.signatures.insert(lead_id.clone(), forged);
            Ok(())
        })
        .expect("the phone records the edit");
    worker.sync().await;
    let rejection = worker
        .store
        .rejections()
        .expect("rejections")
        .into_iter()
        .find(|r| r.record_id == id)
        .expect("the forged signature is refused");
    assert_eq!(rejection.code, RejectCode::SignatureForged);
    sup.sync().await;
    assert_eq!(meeting_of(&sup, &id), on_lead, "nothing of the forgery landed");
}

/// A kind's lifecycle steps are its own: a tailgate meeting has no approval.
#[test]
fn steps_a_kind_lacks_are_refused_in_words() {
    let mut record = sync_core::Record {
        header: sync_core::Header {
            id: "m1".into(),
            kind: "tailgate_meeting".into(),
            schema_version: sync_core::model::SCHEMA_VERSION,
            tenant_id: "acme".into(),
            site_id: "site".into(),
            job_id: None,
            created_by: "u1".into(),
            created: at(0),
        },
        body: Body::TailgateMeeting(TailgateMeeting::new(
            "Ice on the lease road",
            vec!["Chains".into()],
        )),
    };
    let actor = lifecycle::Actor {
        user_id: "u2".into(),
        name: "Sup".into(),
    };
    let err = lifecycle::decide(
        &mut record,
        &actor,
        sync_core::model::ApprovalDecision::Approved,
        None,
        at(1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("have no 'approve' step"), "{err}");
}
