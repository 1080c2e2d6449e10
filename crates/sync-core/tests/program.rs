//! The program kinds in the core: a corrective action's life and its overdue flag, expiry
//! alerts, the program flags on pre-starts and JSEAs with their evidence, the actions failures
//! raise, and a failed inspection item that stays failed through a merge.

use automerge::ActorId;
use std::collections::BTreeMap;
use sync_core::flags::{self, Context, codes};
use sync_core::kinds::certificate::{self, Certificate};
use sync_core::kinds::corrective_action::{self, ActionStatus, CorrectiveAction};
use sync_core::kinds::orientation::{Orientation, OrientationTopic};
use sync_core::kinds::{Writer, certificate::CertificateStatus};
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{ApprovalDecision, Body, Header, ItemResult, Record, SCHEMA_VERSION};
use sync_core::program::{
    self, CertificateHeld, CompetencyHeld, OrientationHeld, ProgramFacts, Qualifications, RegisteredUnit,
};
use sync_core::protocol::Role;
use sync_core::{Flag, RecordDocument, Stamp, sample, validate};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_780_000_000_000;

fn stamp(wall_ms: i64) -> Stamp {
    Stamp::new(wall_ms, wall_ms / 10, "boot-1")
}

fn record(body: impl Into<Body>) -> Record {
    let body = body.into();
    Record {
        header: Header {
            id: "rec-1".into(),
            kind: body.kind().as_str().into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: "acme".into(),
            site_id: "site-4-12".into(),
            job_id: None,
            created_by: "lead".into(),
            created: stamp(T0),
        },
        body,
    }
}

fn actor(user_id: &str) -> Actor {
    Actor {
        user_id: user_id.into(),
        name: format!("{user_id} name"),
    }
}

fn writer(user_id: &str, role: Role) -> Writer {
    Writer {
        user_id: user_id.into(),
        name: format!("{user_id} name"),
        role,
    }
}

fn at(now_ms: i64) -> Context {
    Context {
        now_ms: Some(now_ms),
        ..Context::default()
    }
}

fn flag<'a>(flags: &'a [Flag], code: &str) -> &'a Flag {
    flags
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} flag in {flags:?}"))
}

fn action_of(record: &Record) -> &CorrectiveAction {
    match &record.body {
        Body::CorrectiveAction(a) => a,
        other => panic!("not an action: {other:?}"),
    }
}

#[test]
fn an_action_is_raised_resolved_and_verified_by_someone_else() {
    let mut r = record(sample::corrective_action("lead", T0, T0 + 7 * DAY));
    lifecycle::complete(&mut r, stamp(T0 + 1_000)).expect("raised");
    assert_eq!(action_of(&r).status, ActionStatus::Open);

    let err = lifecycle::sign(&mut r, &actor("lead"), stamp(T0 + DAY)).expect_err("no note yet");
    assert!(err.to_string().contains("say what was done"), "{err}");
    if let Body::CorrectiveAction(a) = &mut r.body {
        a.resolution_note = Some("Temporary rail installed, platform tagged".into());
    }
    let before = r.clone();
    lifecycle::sign(&mut r, &actor("lead"), stamp(T0 + DAY)).expect("resolved");
    assert_eq!(action_of(&r).status, ActionStatus::Resolved);

    // The resolver cannot verify their own fix: refused by the core and by the write rule.
    let mut own = r.clone();
    let err = lifecycle::decide(
        &mut own,
        &actor("lead"),
        ApprovalDecision::Approved,
        None,
        stamp(T0 + 2 * DAY),
    )
    .expect_err("own fix");
    assert!(err.to_string().contains("cannot verify"), "{err}");

    let resolved = r.clone();
    lifecycle::decide(
        &mut r,
        &actor("sup"),
        ApprovalDecision::Approved,
        None,
        stamp(T0 + 2 * DAY),
    )
    .expect("verified");
    assert_eq!(action_of(&r).status, ActionStatus::Closed);
    Body::check_write(Some(&resolved.body), &r.body, &writer("sup", Role::Supervisor))
        .expect("a supervisor verifies");
    // A phone that skips the core's check and writes the resolver's own verification.
    let mut self_verified = r.clone();
    if let Body::CorrectiveAction(a) = &mut self_verified.body
        && let Some(v) = &mut a.verification
    {
        v.by_user_id = "lead".into();
    }
    let refusal = Body::check_write(
        Some(&resolved.body),
        &self_verified.body,
        &writer("lead", Role::Supervisor),
    )
    .expect_err("written as the resolver");
    assert!(refusal.message.contains("cannot also verify"), "{refusal:?}");
    let refusal =
        Body::check_write(Some(&resolved.body), &r.body, &writer("sup", Role::Worker)).expect_err("a worker");
    assert!(refusal.message.contains("may not approve"), "{refusal:?}");
    // The resolver's signature is their own.
    Body::check_write(Some(&before.body), &resolved.body, &writer("lead", Role::Worker))
        .expect("own resolution");
    Body::check_write(
        Some(&before.body),
        &resolved.body,
        &writer("someone", Role::Worker),
    )
    .expect_err("forged");

    // The timeline names each step and who took it.
    let events: Vec<_> = flags::lifecycle_events(&r)
        .iter()
        .map(|e| (e.name, e.by.map(str::to_owned)))
        .collect();
    assert_eq!(
        events,
        [
            ("created", Some("lead".into())),
            ("raised", None),
            ("resolved", Some("lead".into())),
            ("verified", Some("sup".into()))
        ]
    );
}

#[test]
fn a_fix_that_did_not_work_sends_the_action_back_open() {
    let mut r = record(sample::corrective_action("lead", T0, T0 + 7 * DAY));
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    if let Body::CorrectiveAction(a) = &mut r.body {
        a.resolution_note = Some("Tagged it".into());
    }
    lifecycle::sign(&mut r, &actor("lead"), stamp(T0 + DAY)).unwrap();
    let err = lifecycle::decide(
        &mut r.clone(),
        &actor("sup"),
        ApprovalDecision::Rejected,
        None,
        stamp(T0),
    )
    .expect_err("a rejection says why");
    assert!(err.to_string().contains("say why"), "{err}");
    lifecycle::decide(
        &mut r,
        &actor("sup"),
        ApprovalDecision::Rejected,
        Some("A tag is not a rail: install the rail".into()),
        stamp(T0 + 2 * DAY),
    )
    .unwrap();
    let a = action_of(&r);
    assert_eq!(a.status, ActionStatus::Open);
    assert!(a.resolved.is_none(), "the resolution no longer stands");
    assert_eq!(
        a.verification.as_ref().and_then(|v| v.comment.as_deref()),
        Some("A tag is not a rail: install the rail")
    );
}

#[test]
fn an_open_action_past_due_is_flagged_with_its_evidence_and_a_closed_one_is_not() {
    let due = T0 + 7 * DAY;
    let mut r = record(sample::corrective_action("lead", T0, due));
    // A draft is not yet anyone's work.
    assert!(flags::compute_in(&r, &at(due + 3 * DAY)).is_empty());
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    assert!(flags::compute_in(&r, &at(due - 1)).is_empty());
    assert!(
        flags::compute_in(&r, &Context::default()).is_empty(),
        "no clock, no overdue flag"
    );
    let flags = flags::compute_in(&r, &at(due + 3 * DAY));
    let overdue = flag(&flags, corrective_action::codes::OVERDUE);
    assert!(overdue.message.contains("3 days past"), "{}", overdue.message);
    assert_eq!(overdue.evidence["assignee"], "lead");
    assert_eq!(overdue.evidence["status"], "open");
    assert!(
        overdue.evidence["due"].starts_with("2026-"),
        "{:?}",
        overdue.evidence
    );
    // It is judged again the moment it falls due.
    assert_eq!(r.body.spec().flags_change_at(T0), Some(due + 1));
    assert_eq!(r.body.spec().flags_change_at(due + 1), None);

    if let Body::CorrectiveAction(a) = &mut r.body {
        a.resolution_note = Some("Rail installed".into());
    }
    lifecycle::sign(&mut r, &actor("lead"), stamp(due + DAY)).unwrap();
    lifecycle::decide(
        &mut r,
        &actor("sup"),
        ApprovalDecision::Approved,
        None,
        stamp(due + 2 * DAY),
    )
    .unwrap();
    assert!(
        flags::compute_in(&r, &at(due + 3 * DAY)).is_empty(),
        "closed late is not overdue"
    );
}

#[test]
fn a_certificate_alerts_at_90_60_and_30_days_and_on_expiry() {
    let expiry = T0 + 200 * DAY;
    let mut r = record(sample::certificate(
        "op",
        "Ground disturbance",
        T0 - 800 * DAY,
        Some(expiry),
    ));
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    let alert_at = |now: i64| {
        flags::compute_in(&r, &at(now))
            .iter()
            .find(|f| f.code == certificate::codes::EXPIRING)
            .map(|f| f.evidence["alert"].clone())
    };
    assert_eq!(alert_at(expiry - 91 * DAY), None);
    assert_eq!(alert_at(expiry - 90 * DAY).as_deref(), Some("90 days"));
    assert_eq!(alert_at(expiry - 45 * DAY).as_deref(), Some("60 days"));
    assert_eq!(alert_at(expiry - 30 * DAY).as_deref(), Some("30 days"));
    let flags = flags::compute_in(&r, &at(expiry + DAY));
    let expired = flag(&flags, certificate::codes::EXPIRED);
    assert_eq!(expired.evidence["holder"], "op");
    assert_eq!(expired.evidence["number"], "AB-20931");
    // The next moment its alerts change, from any moment before expiry.
    let spec = r.body.spec();
    assert_eq!(spec.flags_change_at(T0), Some(expiry - 90 * DAY));
    assert_eq!(spec.flags_change_at(expiry - 90 * DAY), Some(expiry - 60 * DAY));
    assert_eq!(spec.flags_change_at(expiry - DAY), Some(expiry));
    assert_eq!(spec.flags_change_at(expiry), None);
    // A draft certificate raises nothing; one with no expiry never alerts.
    let draft = record(sample::certificate("op", "H2S Alive", T0, Some(T0 + DAY)));
    assert!(flags::compute_in(&draft, &at(T0 + 2 * DAY)).is_empty());
    let mut lasting = record(sample::certificate("op", "WHMIS", T0, None));
    lifecycle::complete(&mut lasting, stamp(T0)).unwrap();
    assert!(flags::compute_in(&lasting, &at(T0 + 9_000 * DAY)).is_empty());
}

#[test]
fn a_certificate_that_expires_before_it_was_issued_is_refused_with_both_dates() {
    let mut c: Certificate = sample::certificate("op", "First aid", T0, Some(T0 - DAY));
    let findings = validate::validate(&record(c.clone()));
    let f = findings
        .iter()
        .find(|f| f.rule == "certificate.expiry_before_issue")
        .expect("finding");
    assert!(f.message.contains("before it was issued"), "{}", f.message);
    c.expiry_ms = Some(T0 + DAY);
    let mut r = record(c);
    lifecycle::complete(&mut r, stamp(T0)).expect("ready");
    assert!(matches!(&r.body, Body::Certificate(c) if c.status == CertificateStatus::Recorded));
}

fn loader() -> RegisteredUnit {
    RegisteredUnit {
        unit_id: "PU-14".into(),
        equipment_type: "Pickup".into(),
        required_certificates: vec!["Defensive driving".into()],
    }
}

fn signed_prestart(operator: &str, at_ms: i64) -> Record {
    let mut r = record(sample::prestart(operator));
    if let Body::PreStart(p) = &mut r.body {
        for item in &mut p.items {
            item.result = Some(ItemResult::Pass);
        }
    }
    lifecycle::sign(&mut r, &actor(operator), stamp(at_ms)).unwrap();
    lifecycle::complete(&mut r, stamp(at_ms)).unwrap();
    r
}

fn program(people: BTreeMap<String, Qualifications>, unit: Option<RegisteredUnit>) -> Context {
    Context {
        program: Some(ProgramFacts {
            site_id: "site-4-12".into(),
            people,
            unit,
        }),
        ..Context::default()
    }
}

#[test]
fn a_prestart_by_an_operator_without_competency_or_a_current_ticket_is_flagged_with_evidence() {
    let r = signed_prestart("op", T0);
    let nobody = flags::compute_in(&r, &program(BTreeMap::new(), Some(loader())));
    let competency = flag(&nobody, codes::OPERATOR_NOT_COMPETENT);
    assert_eq!(competency.evidence["operator"], "op");
    assert_eq!(competency.evidence["unit"], "PU-14");
    assert_eq!(competency.evidence["equipment_type"], "Pickup");
    assert_eq!(competency.evidence["competencies_held"], "none on record");
    let ticket = flag(&nobody, codes::CERTIFICATE_NOT_CURRENT);
    assert_eq!(ticket.evidence["certificate_type"], "Defensive driving");
    assert_eq!(ticket.evidence["certificates_held"], "none on record");

    let qualified = Qualifications {
        competencies: vec![CompetencyHeld {
            record_id: "comp-1".into(),
            equipment_type: "pickup".into(),
            verified_ms: T0 - DAY,
        }],
        certificates: vec![CertificateHeld {
            record_id: "cert-1".into(),
            certificate_type: "Defensive Driving".into(),
            number: "DD-5".into(),
            issued_ms: Some(T0 - 400 * DAY),
            expiry_ms: Some(T0 - 10 * DAY),
        }],
        ..Qualifications::default()
    };
    let people = BTreeMap::from([("op".to_owned(), qualified)]);
    let expired = flags::compute_in(&r, &program(people.clone(), Some(loader())));
    assert!(
        expired.iter().all(|f| f.code != codes::OPERATOR_NOT_COMPETENT),
        "{expired:?}"
    );
    let ticket = flag(&expired, codes::CERTIFICATE_NOT_CURRENT);
    assert!(
        ticket.evidence["certificates_held"].contains("DD-5 expired"),
        "{:?}",
        ticket.evidence
    );

    // An unregistered unit or a phone's partial knowledge raises none of these.
    assert!(flags::compute_in(&r, &program(people, None)).is_empty());
    assert!(flags::compute(&r).is_empty());
}

#[test]
fn a_jsea_signer_with_no_orientation_at_the_site_before_signing_is_flagged() {
    let mut r = record(sample::jsea());
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0)).unwrap();
    lifecycle::sign(&mut r, &actor("ben"), stamp(T0)).unwrap();
    let oriented = |site: &str, signed_ms: i64| Qualifications {
        orientations: vec![OrientationHeld {
            record_id: "or-1".into(),
            site_id: site.into(),
            signed_ms,
        }],
        ..Qualifications::default()
    };
    let people = BTreeMap::from([
        ("ana".to_owned(), oriented("site-4-12", T0 - DAY)),
        ("ben".to_owned(), oriented("site-4-12", T0 + DAY)),
    ]);
    let flags = flags::compute_in(&r, &program(people, None));
    let unoriented: Vec<_> = flags
        .iter()
        .filter(|f| f.code == codes::SIGNER_NOT_ORIENTED)
        .collect();
    assert_eq!(unoriented.len(), 1, "{flags:?}");
    assert_eq!(unoriented[0].evidence["signer"], "ben");
    assert!(
        unoriented[0].evidence["orientation"].starts_with("signed later"),
        "{:?}",
        unoriented[0].evidence
    );

    let elsewhere = BTreeMap::from([
        ("ana".to_owned(), oriented("another-site", T0 - DAY)),
        ("ben".to_owned(), oriented("site-4-12", T0 - DAY)),
    ]);
    let flags = flags::compute_in(&r, &program(elsewhere, None));
    let ana = flag(&flags, codes::SIGNER_NOT_ORIENTED);
    assert_eq!(ana.evidence["signer"], "ana");
    assert_eq!(ana.evidence["orientation"], "none on record");
}

#[test]
fn an_orientation_needs_every_topic_and_the_workers_own_signature() {
    let mut r = record(Orientation::new("ana", "Sam Supervisor"));
    let err = lifecycle::sign(&mut r, &actor("ben"), stamp(T0)).expect_err("someone else");
    assert!(err.to_string().contains("only the worker"), "{err}");
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0)).unwrap();
    let blocked = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("topics unacknowledged");
    assert!(blocked.to_string().contains("right to refuse"), "{blocked}");
    if let Body::Orientation(o) = &mut r.body {
        for topic in OrientationTopic::ALL {
            o.acknowledge(*topic);
        }
    }
    // The signature was given before the acknowledgements: it no longer vouches for them.
    let stale = validate::validate(&r);
    assert!(
        stale.iter().any(|f| f.rule == "orientation.signature_stale"),
        "{stale:?}"
    );
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0 + 1)).unwrap();
    lifecycle::complete(&mut r, stamp(T0 + 2)).expect("oriented");
}

#[test]
fn a_worker_cannot_verify_their_own_competency_and_a_worker_cannot_verify_anyone() {
    let mut r = record(sample::competency("op", "Loader"));
    if let Body::Competency(c) = &mut r.body {
        for item in &mut c.items {
            item.result = Some(ItemResult::Pass);
        }
    }
    let err = lifecycle::sign(&mut r.clone(), &actor("op"), stamp(T0)).expect_err("own");
    assert!(err.to_string().contains("cannot verify their own"), "{err}");
    let before = r.clone();
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).unwrap();
    lifecycle::complete(&mut r, stamp(T0)).expect("verified");
    Body::check_write(Some(&before.body), &r.body, &writer("sup", Role::Supervisor)).expect("supervisor");
    let refusal =
        Body::check_write(Some(&before.body), &r.body, &writer("sup", Role::Worker)).expect_err("worker");
    assert!(refusal.message.contains("may not verify"), "{refusal:?}");
}

#[test]
fn failures_raise_one_action_each_with_an_id_of_their_own() {
    let mut r = record(sample::prestart("op"));
    if let Body::PreStart(p) = &mut r.body {
        for item in &mut p.items {
            item.result = Some(ItemResult::Pass);
        }
        p.items[0].result = Some(ItemResult::Fail);
        p.items[0].defect_note = Some("Pedal to the floor".into());
        // A non-critical failure is fixed on the unit's schedule, not by a raised action.
        p.items[2].result = Some(ItemResult::Fail);
        p.items[2].defect_note = Some("Left signal out".into());
    }
    assert!(
        r.body.spec().raised_actions().is_empty(),
        "a draft raises nothing yet"
    );
    lifecycle::sign(&mut r, &actor("op"), stamp(T0)).unwrap();
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    let seeds = r.body.spec().raised_actions();
    assert_eq!(seeds.len(), 1, "{seeds:?}");
    assert_eq!(seeds[0].unit_id.as_deref(), Some("PU-14"));
    assert!(
        seeds[0].hazard.contains("'Brakes' failed: Pedal to the floor"),
        "{}",
        seeds[0].hazard
    );
    assert_eq!(
        program::raised_action_id("rec-1", &seeds[0].item_id),
        program::raised_action_id("rec-1", &seeds[0].item_id)
    );

    let mut inspection = record(sample::inspection("sup"));
    if let Body::Inspection(i) = &mut inspection.body {
        for item in &mut i.items {
            item.result = Some(ItemResult::Pass);
        }
        i.items[2].result = Some(ItemResult::Fail);
        i.items[2].defect_note = Some("Spill kit empty".into());
    }
    lifecycle::sign(&mut inspection, &actor("sup"), stamp(T0)).unwrap();
    lifecycle::complete(&mut inspection, stamp(T0)).unwrap();
    let seeds = inspection.body.spec().raised_actions();
    assert_eq!(seeds.len(), 1, "every finding raises one, critical or not");
    assert_eq!(seeds[0].unit_id, None);
}

#[test]
fn an_inspection_item_failed_on_one_phone_stays_failed_after_the_merge() {
    let original = record(sample::inspection("sup"));
    let mut a = RecordDocument::create(ActorId::from([0x01; 16]), "sup", &original, T0).unwrap();
    let mut b = RecordDocument::load(&a.save(), ActorId::from([0xfe; 16])).unwrap();
    let item_id = match &original.body {
        Body::Inspection(i) => i.items[1].id.clone(),
        _ => unreachable!(),
    };
    for (doc, result) in [(&mut a, ItemResult::Fail), (&mut b, ItemResult::Pass)] {
        let item_id = item_id.clone();
        doc.update("sup", T0 + 10, move |r| {
            if let Body::Inspection(i) = &mut r.body
                && let Some(item) = i.items.iter_mut().find(|i| i.id == item_id)
            {
                item.result = Some(result);
            }
            Ok(())
        })
        .unwrap();
    }
    a.merge(&mut b).unwrap();
    let merged = a.record().unwrap();
    match merged.body {
        Body::Inspection(i) => assert_eq!(i.items[1].result, Some(ItemResult::Fail)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_verifiers_disagreeing_at_once_leave_the_action_open_whichever_write_wins() {
    for (first, second) in [(0x01u8, 0xfeu8), (0xfe, 0x01)] {
        let mut r = record(sample::corrective_action("lead", T0, T0 + 7 * DAY));
        lifecycle::complete(&mut r, stamp(T0)).unwrap();
        if let Body::CorrectiveAction(a) = &mut r.body {
            a.resolution_note = Some("Rail installed".into());
        }
        lifecycle::sign(&mut r, &actor("lead"), stamp(T0 + DAY)).unwrap();
        let mut approving = RecordDocument::create(ActorId::from([first; 16]), "lead", &r, T0).unwrap();
        let mut rejecting = RecordDocument::load(&approving.save(), ActorId::from([second; 16])).unwrap();
        approving
            .update("sup", T0 + 2 * DAY, |r| {
                lifecycle::decide(
                    r,
                    &actor("sup"),
                    ApprovalDecision::Approved,
                    None,
                    stamp(T0 + 2 * DAY),
                )
            })
            .unwrap();
        rejecting
            .update("safety", T0 + 2 * DAY, |r| {
                lifecycle::decide(
                    r,
                    &actor("safety"),
                    ApprovalDecision::Rejected,
                    Some("The rail is not anchored".into()),
                    stamp(T0 + 2 * DAY),
                )
            })
            .unwrap();
        approving.merge(&mut rejecting).unwrap();
        let merged = approving.record().unwrap();
        let a = action_of(&merged);
        assert_eq!(a.status, ActionStatus::Open, "actor order {first:#x}/{second:#x}");
        assert_eq!(
            a.verification.as_ref().map(|v| v.decision),
            Some(ApprovalDecision::Rejected)
        );
        assert!(a.resolved.is_none());
    }
}

#[test]
fn a_verification_of_an_action_changed_afterwards_is_flagged_stale_with_both_hashes() {
    let mut r = record(sample::corrective_action("lead", T0, T0 + 7 * DAY));
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    if let Body::CorrectiveAction(a) = &mut r.body {
        a.resolution_note = Some("Rail installed".into());
    }
    lifecycle::sign(&mut r, &actor("lead"), stamp(T0 + DAY)).unwrap();
    lifecycle::decide(
        &mut r,
        &actor("sup"),
        ApprovalDecision::Approved,
        None,
        stamp(T0 + 2 * DAY),
    )
    .unwrap();
    assert!(flags::compute_in(&r, &at(T0 + 3 * DAY)).is_empty());
    let verified_hash = r.body.content_hash();
    // Someone rewrites what was done after the supervisor checked it.
    if let Body::CorrectiveAction(a) = &mut r.body {
        a.resolution_note = Some("Rail ordered".into());
    }
    let flags = flags::compute_in(&r, &at(T0 + 3 * DAY));
    let stale = flag(&flags, corrective_action::codes::STALE_VERIFICATION);
    assert_eq!(stale.evidence["verifier"], "sup");
    assert_eq!(stale.evidence["verified_hash"], verified_hash);
    assert_eq!(stale.evidence["current_hash"], r.body.content_hash());
    assert!(
        validate::validate(&r)
            .iter()
            .any(|f| f.rule == "corrective_action.resolution_stale"),
        "the resolver's signature no longer vouches either"
    );
}
