//! The program kinds of issue 16 in the core: the policy and its yearly review, acknowledgements,
//! management meetings and the actions they raise, refusals of dangerous work, incidents and the
//! reportable prompt, investigations that must find more than worker error, the site emergency
//! plan and its drills, the tailgate meeting's emergency plan; and every one of them through its
//! document.

use automerge::ActorId;
use serde::Serialize;
use sync_core::flags::{self, Context};
use sync_core::kinds::acknowledgement::{AckStatus, AckSubject, Acknowledgement};
use sync_core::kinds::drill::{self, Drill, DrillStatus};
use sync_core::kinds::emergency_plan::{self, EmergencyPlan, PlanStatus};
use sync_core::kinds::incident::{self, Incident, IncidentStatus, RegulatorNotice, Treatment};
use sync_core::kinds::investigation::{self, Investigation, InvestigationAction, InvestigationStatus};
use sync_core::kinds::management_meeting::{ManagementMeeting, MeetingStatus};
use sync_core::kinds::policy::{self, Policy, PolicyStatus};
use sync_core::kinds::refusal_report::{self, RefusalOutcome, RefusalReport, RefusalStatus};
use sync_core::kinds::tailgate_meeting::{self, TailgateMeeting};
use sync_core::kinds::{KindBody, Writer};
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{Body, Header, Record, SCHEMA_VERSION};
use sync_core::program::raised_action_id;
use sync_core::protocol::{RejectCode, Role};
use sync_core::{Error, Finding, Flag, Kind, RecordDocument, Stamp, fields, sample, validate};

const DAY: i64 = 86_400_000;
const YEAR: i64 = 365 * DAY;
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

/// The record's body as kind `T`.
fn body<T: KindBody + Clone>(r: &Record) -> T {
    let mut b = r.body.clone();
    T::of_mut(&mut b).expect("the record's kind").clone()
}

/// A change to a body, named in a table of cases.
type Edit<T> = fn(&mut T);

fn edit<T: KindBody>(r: &mut Record, f: impl FnOnce(&mut T)) {
    f(T::of_mut(&mut r.body).expect("the record's kind"));
}

fn codes(flags: &[Flag]) -> Vec<&str> {
    flags.iter().map(|f| f.code.as_str()).collect()
}

fn flag<'a>(flags: &'a [Flag], code: &str) -> &'a Flag {
    flags
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} flag in {flags:?}"))
}

/// The rules of the findings a blocked step was refused with.
fn blocked_rules(err: Error) -> Vec<String> {
    match err {
        Error::Blocked(findings) => findings.into_iter().map(|f| f.rule).collect(),
        other => panic!("not blocked: {other}"),
    }
}

fn blocking(r: &Record) -> Vec<Finding> {
    validate::validate(r)
        .into_iter()
        .filter(Finding::is_blocking)
        .collect()
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

// Policy

#[test]
fn a_policy_signed_by_a_manager_falls_due_for_review_twelve_months_later() {
    let mut r = record(sample::policy());
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("no signature yet");
    assert_eq!(blocked_rules(err), ["policy.signature_required"]);

    let draft = r.clone();
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0)).expect("signed");
    let p: Policy = body(&r);
    assert_eq!(p.status, PolicyStatus::Signed);
    assert_eq!(p.last_signed_ms(), Some(T0));
    Body::check_write(Some(&draft.body), &r.body, &writer("owner", Role::Admin)).expect("a manager signs");
    lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("already signed");

    // Overdue twelve months after the last signature, judged again at that moment.
    assert!(flags::compute_in(&r, &at(T0 + YEAR - 1)).is_empty());
    let flags = flags::compute_in(&r, &at(T0 + YEAR));
    let overdue = flag(&flags, policy::codes::REVIEW_OVERDUE);
    assert_eq!(overdue.evidence["last_signed_by"], "owner");
    assert!(
        overdue.evidence["last_signed"].starts_with("2026-"),
        "{overdue:?}"
    );
    assert_eq!(r.body.spec().flags_change_at(T0), Some(T0 + YEAR));
    assert_eq!(r.body.spec().flags_change_at(T0 + YEAR), None);
    assert!(flags::compute(&r).is_empty(), "no clock, no overdue flag");

    // The yearly review: another manager signs the same content again, with a note.
    let signed = r.clone();
    lifecycle::sign(&mut r, &actor("gm"), stamp(T0 + YEAR + DAY)).expect("reviewed");
    edit(&mut r, |p: &mut Policy| {
        p.reviews[0].note = "No change: goals for next year added to the plan".into();
    });
    let p: Policy = body(&r);
    assert_eq!(p.reviews.len(), 1);
    assert_eq!(p.last_signer().map(|s| s.user_id.as_str()), Some("gm"));
    assert_eq!(p.last_signed_ms(), Some(T0 + YEAR + DAY));
    Body::check_write(Some(&signed.body), &r.body, &writer("gm", Role::Admin)).expect("a manager reviews");
    assert!(flags::compute_in(&r, &at(T0 + YEAR + 2 * DAY)).is_empty());
    assert_eq!(
        r.body.spec().flags_change_at(T0 + YEAR + 2 * DAY),
        Some(T0 + 2 * YEAR + DAY)
    );
    let events: Vec<_> = flags::lifecycle_events(&r)
        .iter()
        .map(|e| (e.name, e.by.map(str::to_owned)))
        .collect();
    assert_eq!(
        events,
        [
            ("created", Some("lead".into())),
            ("signed", Some("owner".into())),
            ("reviewed", Some("gm".into()))
        ]
    );
}

#[test]
fn only_a_manager_signs_the_policy_and_only_as_themself() {
    let draft = record(sample::policy());
    let mut by_worker = draft.clone();
    lifecycle::sign(&mut by_worker, &actor("ana"), stamp(T0)).unwrap();
    let refusal = Body::check_write(Some(&draft.body), &by_worker.body, &writer("ana", Role::Worker))
        .expect_err("a worker signs the policy");
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);
    assert!(refusal.message.contains("a manager does"), "{refusal:?}");
    Body::check_write(
        Some(&draft.body),
        &by_worker.body,
        &writer("ana", Role::Supervisor),
    )
    .expect_err("a supervisor is not a manager");

    // The manager's signature written from someone else's phone is forged.
    let mut by_owner = draft.clone();
    lifecycle::sign(&mut by_owner, &actor("owner"), stamp(T0)).unwrap();
    let refusal = Body::check_write(Some(&draft.body), &by_owner.body, &writer("gm", Role::Admin))
        .expect_err("signed in another's name");
    assert_eq!(refusal.code, RejectCode::SignatureForged);

    // A worker cannot add a review either.
    let mut reviewed = by_owner.clone();
    lifecycle::sign(&mut reviewed, &actor("ana"), stamp(T0 + YEAR)).unwrap();
    Body::check_write(Some(&by_owner.body), &reviewed.body, &writer("ana", Role::Worker))
        .expect_err("a worker's review");

    // An empty policy is not signed at all.
    let mut empty = record(Policy::new("Policy", " "));
    let err = lifecycle::sign(&mut empty, &actor("owner"), stamp(T0)).expect_err("no text");
    assert_eq!(blocked_rules(err), ["policy.text_required"]);
}

#[test]
fn a_policy_signature_stays_valid_until_the_text_changes_and_a_new_signature_vouches_again() {
    let mut r = record(sample::policy());
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0)).unwrap();
    // A review note is not the signed content.
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0 + DAY)).unwrap();
    edit(&mut r, |p: &mut Policy| {
        p.reviews[0].note = "Reviewed with the crew leads".into()
    });
    assert!(flags::compute(&r).is_empty());
    assert!(validate::validate(&r).is_empty(), "{:?}", validate::validate(&r));

    edit(&mut r, |p: &mut Policy| {
        p.text.push_str(" We stop work when it is unsafe.")
    });
    let flags = flags::compute(&r);
    let stale = flag(&flags, policy::codes::STALE_SIGNATURE);
    assert_eq!(stale.evidence["signer"], "owner");
    assert_ne!(stale.evidence["signed_hash"], stale.evidence["current_hash"]);
    assert!(rules(&validate::validate(&r)).contains(&"policy.signature_stale"));

    // Signed again over the new text: the policy as it reads is vouched for.
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0 + 2 * DAY)).unwrap();
    assert!(flags::compute(&r).is_empty());
    let p: Policy = body(&r);
    let evidence = r.body.spec().evidence();
    let signed_by = evidence.iter().find(|e| e.label == "Signed by").unwrap();
    assert!(signed_by.value.contains("an earlier text"), "{signed_by:?}");
    assert_eq!(p.reviews.len(), 2);
}

// Acknowledgement

#[test]
fn an_acknowledgement_is_signed_only_by_its_person() {
    let mut r = record(sample::acknowledgement("ana"));
    let ack: Acknowledgement = body(&r);
    assert_eq!(ack.subject, AckSubject::RightToRefuse);
    assert!(ack.statement.contains("right to refuse"), "{}", ack.statement);
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("unsigned");
    assert_eq!(blocked_rules(err), ["acknowledgement.signature_required"]);

    let err = lifecycle::sign(&mut r.clone(), &actor("sup"), stamp(T0)).expect_err("not their own");
    assert!(err.to_string().contains("only the person"), "{err}");

    let draft = r.clone();
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0)).expect("their own");
    lifecycle::complete(&mut r, stamp(T0)).expect("signed");
    assert_eq!(body::<Acknowledgement>(&r).status, AckStatus::Signed);
    Body::check_write(Some(&draft.body), &r.body, &writer("ana", Role::Worker)).expect("ana signs");
    let refusal = Body::check_write(Some(&draft.body), &r.body, &writer("sup", Role::Supervisor))
        .expect_err("written from the supervisor's phone");
    assert_eq!(refusal.code, RejectCode::SignatureForged);

    // A supervisor's own signature on ana's acknowledgement acknowledges nothing for her.
    let mut sup_signed = draft.clone();
    edit(&mut sup_signed, |a: &mut Acknowledgement| {
        a.signature = Some(sync_core::model::Signature {
            user_id: "sup".into(),
            name: "sup name".into(),
            content_hash: a.content_hash(),
            stamp: stamp(T0),
        });
    });
    let refusal = Body::check_write(
        Some(&draft.body),
        &sup_signed.body,
        &writer("sup", Role::Supervisor),
    )
    .expect_err("acknowledged for someone else");
    assert_eq!(refusal.code, RejectCode::SignatureForged);

    // The words changing after signing leave the signature vouching for the old words only.
    edit(&mut r, |a: &mut Acknowledgement| {
        a.statement.push_str(" Amended.")
    });
    assert_eq!(codes(&flags::compute(&r)), ["acknowledgement.stale_signature"]);
}

// Management meeting

#[test]
fn a_management_meetings_actions_are_raised_with_their_assignee_and_due_date() {
    let due = T0 + 30 * DAY;
    let mut r = record(sample::management_meeting("ops", due));
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("no signature");
    assert_eq!(blocked_rules(err), ["management_meeting.signature_required"]);
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0)).unwrap();
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).unwrap();
    assert!(
        r.body.spec().raised_actions().is_empty(),
        "a draft raises nothing"
    );
    let signed = r.clone();
    lifecycle::complete(&mut r, stamp(T0 + 1_000)).expect("held");
    let m: ManagementMeeting = body(&r);
    assert_eq!(m.status, MeetingStatus::Held);
    assert_eq!(m.attendees, ["owner", "sup"]);

    let seeds = r.body.spec().raised_actions();
    assert_eq!(seeds.len(), 1);
    assert_eq!(seeds[0].item_id, m.actions[0].id);
    assert_eq!(seeds[0].assignee.as_deref(), Some("ops"));
    assert_eq!(seeds[0].due_ms, Some(due));
    assert_eq!(seeds[0].action, m.actions[0].action);
    assert_eq!(seeds[0].hazard, m.actions[0].hazard);
    assert_ne!(
        raised_action_id("rec-1", &seeds[0].item_id),
        raised_action_id("rec-2", &seeds[0].item_id)
    );

    // Only a supervisor or manager records it, or records it held; attendees sign as themselves.
    Body::check_write(
        None,
        &record(sample::management_meeting("ops", due)).body,
        &writer("ana", Role::Worker),
    )
    .expect_err("a worker records a management meeting");
    Body::check_write(Some(&signed.body), &r.body, &writer("ana", Role::Worker))
        .expect_err("a worker holds it");
    Body::check_write(Some(&signed.body), &r.body, &writer("sup", Role::Supervisor))
        .expect("a supervisor holds it");
    let mut ana_signed = r.clone();
    lifecycle::sign(&mut ana_signed, &actor("ana"), stamp(T0 + DAY)).unwrap();
    Body::check_write(Some(&r.body), &ana_signed.body, &writer("ana", Role::Worker))
        .expect("her own signature");
    let refusal = Body::check_write(Some(&r.body), &ana_signed.body, &writer("sup", Role::Supervisor))
        .expect_err("signed for ana");
    assert_eq!(refusal.code, RejectCode::SignatureForged);

    // An action must be complete enough to be raised.
    edit(&mut r, |m: &mut ManagementMeeting| m.actions[0].assignee.clear());
    assert!(rules(&blocking(&r)).contains(&"management_meeting.action_assignee_required"));
}

// Refusal report

#[test]
fn a_refusal_closes_only_with_inspection_remedy_outcome_and_copies_and_is_flagged_open_until_then() {
    let mut r = record(sample::refusal_report("ana", T0));
    lifecycle::complete(&mut r, stamp(T0 + 600_000)).expect("reported");
    assert_eq!(body::<RefusalReport>(&r).status, RefusalStatus::Reported);
    let flags = flags::compute(&r);
    let open = flag(&flags, refusal_report::codes::OPEN);
    assert!(open.evidence["since"].starts_with("2026-"), "{open:?}");
    assert_eq!(open.evidence["worker"], "ana");

    // Each missing piece is named.
    let err = lifecycle::sign(&mut r.clone(), &actor("sup"), stamp(T0 + DAY)).expect_err("nothing done yet");
    assert_eq!(
        blocked_rules(err),
        [
            "refusal_report.inspection_required",
            "refusal_report.inspected_by_required",
            "refusal_report.remedy_required",
            "refusal_report.outcome_required",
            "refusal_report.copies_required",
        ]
    );
    let steps: [(&str, Edit<RefusalReport>); 4] = [
        ("refusal_report.inspection_required", |b| {
            b.inspection = "No gas monitor on site; wet well H2S 12 ppm".into();
            b.inspected_by = Some("sup".into());
        }),
        ("refusal_report.remedy_required", |b| {
            b.remedy = "Ventilated, gas tested, entry permit and rescue plan written".into();
        }),
        ("refusal_report.outcome_required", |b| {
            b.outcome = RefusalOutcome::HazardRemedied
        }),
        ("refusal_report.copies_required", |b| b.copies_given = true),
    ];
    for (rule, fix) in steps {
        let err = lifecycle::sign(&mut r.clone(), &actor("sup"), stamp(T0 + DAY)).expect_err("not yet");
        assert!(blocked_rules(err).iter().any(|r| r == rule), "{rule}");
        edit(&mut r, fix);
        if let Err(err) = lifecycle::sign(&mut r.clone(), &actor("sup"), stamp(T0 + DAY)) {
            assert!(!blocked_rules(err).iter().any(|r| r == rule), "{rule} fixed");
        }
    }
    let err = lifecycle::close(&mut r.clone(), stamp(T0 + DAY)).expect_err("closed by a signature");
    assert!(err.to_string().contains("sign it"), "{err}");

    let ready = r.clone();
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0 + DAY)).expect("closed");
    assert_eq!(body::<RefusalReport>(&r).status, RefusalStatus::Closed);
    assert!(flags::compute(&r).is_empty());
    Body::check_write(Some(&ready.body), &r.body, &writer("sup", Role::Supervisor))
        .expect("a supervisor closes");

    // A worker closing it, in their own name, is refused.
    let mut by_worker = ready.clone();
    lifecycle::sign(&mut by_worker, &actor("ana"), stamp(T0 + DAY)).unwrap();
    let refusal = Body::check_write(Some(&ready.body), &by_worker.body, &writer("ana", Role::Worker))
        .expect_err("a worker closes");
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);

    // The report changed after closing: the closure vouches for the old report only.
    edit(&mut r, |b: &mut RefusalReport| b.remedy.push_str(" (again)"));
    assert_eq!(codes(&flags::compute(&r)), [refusal_report::codes::STALE_CLOSURE]);
}

// Incident

#[test]
fn an_incident_that_may_be_reportable_is_flagged_until_the_regulator_is_told_or_a_supervisor_says_why_not() {
    let mut r = record(sample::incident("ana", T0));
    assert!(body::<Incident>(&r).reportable_reasons().is_empty());
    assert!(flags::compute(&r).is_empty());
    lifecycle::complete(&mut r, stamp(T0 + 1_000)).expect("reported");
    assert_eq!(body::<Incident>(&r).status, IncidentStatus::Reported);

    edit(&mut r, |i: &mut Incident| {
        i.treatment = Treatment::Hospitalized;
        i.occurrences = vec!["crane_or_hoist_collapse".into()];
    });
    let i: Incident = body(&r);
    assert_eq!(
        i.reportable_reasons(),
        [
            incident::reasons::HOSPITAL_OR_DEATH,
            incident::reasons::CRANE_OR_HOIST_COLLAPSE
        ]
    );
    let flags = flags::compute(&r);
    let prompt = flag(&flags, incident::codes::MAY_BE_REPORTABLE);
    assert!(
        prompt.evidence["reasons"]
            .contains("admitted to hospital or a death must be reported to Alberta OHS"),
        "{prompt:?}"
    );
    assert!(
        prompt.evidence["reasons"].contains("crane, derrick or hoist"),
        "{prompt:?}"
    );
    assert_eq!(prompt.evidence["treatment"], "hospitalized");

    for (occurrence, words) in [
        (
            "fire_or_explosion",
            "a fire or explosion that caused or could have caused serious injury",
        ),
        (
            "structural_collapse",
            "the collapse or failure of a building or structure",
        ),
    ] {
        let mut other = record(sample::incident("ana", T0));
        edit(&mut other, |i: &mut Incident| {
            i.occurrences = vec![occurrence.into()]
        });
        assert_eq!(body::<Incident>(&other).reportable_reasons(), [words]);
    }
    let mut fatal = record(sample::incident("ana", T0));
    edit(&mut fatal, |i: &mut Incident| i.treatment = Treatment::Fatal);
    assert_eq!(
        codes(&flags::compute(&fatal)),
        [incident::codes::MAY_BE_REPORTABLE]
    );

    // Told: the flag clears. Only a supervisor or manager records it.
    let flagged = r.clone();
    let mut told = r.clone();
    edit(&mut told, |i: &mut Incident| {
        i.regulator_notice = Some(RegulatorNotice {
            notified_ms: T0 + 3_600_000,
            by: "sup".into(),
            reference: "OHS-2026-04417".into(),
        });
        i.decided_reasons = i.reportable_reasons().iter().map(|r| r.to_string()).collect();
    });
    assert!(flags::compute(&told).is_empty());
    Body::check_write(Some(&flagged.body), &told.body, &writer("sup", Role::Supervisor))
        .expect("a supervisor");
    let refusal = Body::check_write(Some(&flagged.body), &told.body, &writer("ana", Role::Worker))
        .expect_err("a worker clears the prompt");
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);

    // Or a supervisor decides it is not reportable, with the reason; a blank reason is none.
    let mut decided = r.clone();
    edit(&mut decided, |i: &mut Incident| {
        i.not_reportable_reason = Some("  ".into());
        i.decided_reasons = i.reportable_reasons().iter().map(|r| r.to_string()).collect();
    });
    assert_eq!(
        codes(&flags::compute(&decided)),
        [incident::codes::MAY_BE_REPORTABLE]
    );
    edit(&mut decided, |i: &mut Incident| {
        i.not_reportable_reason = Some("Kept overnight for observation only, not admitted".into());
    });
    assert!(flags::compute(&decided).is_empty());
    Body::check_write(
        Some(&flagged.body),
        &decided.body,
        &writer("sup", Role::Supervisor),
    )
    .expect("a supervisor");
    Body::check_write(Some(&flagged.body), &decided.body, &writer("ana", Role::Worker))
        .expect_err("a worker");

    // Reported only in one's own name.
    let refusal = Body::check_write(
        None,
        &record(sample::incident("ana", T0)).body,
        &writer("ben", Role::Worker),
    )
    .expect_err("in ana's name");
    assert_eq!(refusal.code, RejectCode::AuthorMismatch);
}

#[test]
fn an_incidents_treatment_merges_to_the_most_serious_any_author_gave() {
    let mut a =
        RecordDocument::create(ActorId::random(), "ana", &record(sample::incident("ana", T0)), 1).unwrap();
    let mut b = RecordDocument::load(&a.save(), ActorId::random()).unwrap();
    let set = |doc: &mut RecordDocument, t: Treatment| {
        doc.update("u", 9, |r| {
            edit(r, |i: &mut Incident| i.treatment = t);
            Ok(())
        })
        .unwrap();
    };
    set(&mut a, Treatment::FirstAid);
    set(&mut b, Treatment::Hospitalized);
    a.merge(&mut b).unwrap();
    let merged = a.record().unwrap();
    assert_eq!(body::<Incident>(&merged).treatment, Treatment::Hospitalized);
    assert_eq!(
        codes(&flags::compute(&merged)),
        [incident::codes::MAY_BE_REPORTABLE]
    );
    // A person lowering it afterwards, knowingly, stands.
    set(&mut a, Treatment::MedicalAid);
    assert_eq!(
        body::<Incident>(&a.record().unwrap()).treatment,
        Treatment::MedicalAid
    );
}

// Investigation

fn ready_investigation() -> Record {
    record(sample::investigation("inc-1", "ops", T0 + 14 * DAY))
}

#[test]
fn an_investigation_that_blames_only_the_worker_or_only_asks_for_care_cannot_complete() {
    let mut r = ready_investigation();
    edit(&mut r, |i: &mut Investigation| {
        i.root_causes = vec![
            "Worker error".into(),
            "The labourer was careless and not paying attention".into(),
        ];
        i.actions[0].action = "Remind the crew to be more careful".into();
        i.actions.push(InvestigationAction {
            id: "a2".into(),
            action: "Retrain the labourer".into(),
            assignee: "ops".into(),
            due_ms: Some(T0 + 7 * DAY),
        });
    });
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).unwrap();
    let i: Investigation = body(&r);
    assert!(i.blames_worker_only());
    assert!(i.person_only_actions());
    let findings = blocking(&r);
    let worker = findings
        .iter()
        .find(|f| f.rule == investigation::codes::WORKER_ERROR_ONLY)
        .expect("worker error only");
    assert_eq!(worker.path, "root_causes");
    assert!(
        worker
            .message
            .contains("procedure, training, equipment, design, supervision or planning")
    );
    let person = findings
        .iter()
        .find(|f| f.rule == investigation::codes::PERSON_ONLY_ACTIONS)
        .expect("person only");
    assert_eq!(person.path, "actions");
    assert!(person.message.contains("changes the work"), "{}", person.message);
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("blocked");
    assert_eq!(
        blocked_rules(err),
        [
            investigation::codes::PERSON_ONLY_ACTIONS,
            investigation::codes::WORKER_ERROR_ONLY
        ]
    );

    // "Did not follow procedure" alone is still the worker; a procedure that was unclear is the system.
    edit(&mut r, |i: &mut Investigation| {
        i.root_causes = vec!["Did not follow procedure".into()];
    });
    assert!(body::<Investigation>(&r).blames_worker_only());
    edit(&mut r, |i: &mut Investigation| {
        i.root_causes
            .push("The lift procedure did not cover landing spools on the rack".into());
    });
    assert!(!body::<Investigation>(&r).blames_worker_only());
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("still person-only actions");
    assert!(blocked_rules(err).contains(&investigation::codes::PERSON_ONLY_ACTIONS.to_owned()));

    // An engineering control (and an administrative one) unblocks it.
    edit(&mut r, |i: &mut Investigation| {
        i.actions.push(InvestigationAction {
            id: "a3".into(),
            action: "Install landing chocks on the rack".into(),
            assignee: "ops".into(),
            due_ms: Some(T0 + 14 * DAY),
        });
        i.actions.push(InvestigationAction {
            id: "a4".into(),
            action: "Revise the lift plan to land spools hands-free".into(),
            assignee: "sup".into(),
            due_ms: Some(T0 + 14 * DAY),
        });
    });
    assert!(!body::<Investigation>(&r).person_only_actions());
    // Edited after signing: signed again before it completes.
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("stale sign-off");
    assert!(err.to_string().contains("signs it again"), "{err}");
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0 + DAY)).unwrap();
    lifecycle::complete(&mut r, stamp(T0 + DAY)).expect("completed");
    assert_eq!(body::<Investigation>(&r).status, InvestigationStatus::Completed);
    lifecycle::close(&mut r, stamp(T0 + 20 * DAY)).expect("closed");
    assert_eq!(body::<Investigation>(&r).status, InvestigationStatus::Closed);
}

#[test]
fn an_investigation_needs_each_part_and_raises_its_actions_once_completed() {
    let mut empty = record(Investigation::new(" "));
    let err = lifecycle::complete(&mut empty, stamp(T0)).expect_err("empty");
    assert_eq!(
        blocked_rules(err),
        [
            "investigation.action_required",
            "investigation.immediate_cause_required",
            "investigation.root_cause_required",
            "investigation.sequence_required",
            "investigation.signature_required",
            "investigation.subject_required",
        ]
    );
    let mut undated = ready_investigation();
    edit(&mut undated, |i: &mut Investigation| {
        i.actions[0].due_ms = None;
        i.actions[0].assignee = String::new();
    });
    let rules_found = blocking(&undated);
    assert!(rules(&rules_found).contains(&"investigation.action_due_date_required"));
    assert!(rules(&rules_found).contains(&"investigation.action_assignee_required"));
    assert!(rules_found.iter().any(|f| f.path == "actions[0].due_ms"));

    let mut r = ready_investigation();
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).unwrap();
    assert!(
        r.body.spec().raised_actions().is_empty(),
        "a draft raises nothing"
    );
    lifecycle::complete(&mut r, stamp(T0 + 1_000)).expect("completed");
    let i: Investigation = body(&r);
    let seeds = r.body.spec().raised_actions();
    assert_eq!(seeds.len(), 1);
    assert_eq!(seeds[0].item_id, i.actions[0].id);
    assert_eq!(seeds[0].action, i.actions[0].action);
    assert_eq!(seeds[0].assignee.as_deref(), Some("ops"));
    assert_eq!(seeds[0].due_ms, Some(T0 + 14 * DAY));
    assert!(seeds[0].hazard.contains("inc-1"), "{}", seeds[0].hazard);
    assert!(seeds[0].hazard.contains(&i.root_causes[0]), "{}", seeds[0].hazard);

    // Only a supervisor or manager writes one, and signs it as themself.
    let refusal = Body::check_write(None, &ready_investigation().body, &writer("ana", Role::Worker))
        .expect_err("a worker");
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);
    Body::check_write(
        None,
        &ready_investigation().body,
        &writer("sup", Role::Supervisor),
    )
    .expect("a supervisor");
    let unsigned = ready_investigation();
    let mut signed = unsigned.clone();
    lifecycle::sign(&mut signed, &actor("sup"), stamp(T0)).unwrap();
    Body::check_write(
        Some(&unsigned.body),
        &signed.body,
        &writer("sup", Role::Supervisor),
    )
    .expect("own");
    Body::check_write(Some(&unsigned.body), &signed.body, &writer("owner", Role::Admin)).expect_err("forged");
}

// Emergency plan and drills

#[test]
fn an_emergency_plan_is_made_current_only_with_every_section_and_a_sign_off() {
    let mut empty = record(EmergencyPlan::new());
    let err = lifecycle::complete(&mut empty.clone(), stamp(T0)).expect_err("empty");
    assert_eq!(
        blocked_rules(err),
        [
            "emergency_plan.alarms_communications_required",
            "emergency_plan.contacts_required",
            "emergency_plan.equipment_required",
            "emergency_plan.first_aid_required",
            "emergency_plan.hospital_required",
            "emergency_plan.hospital_route_required",
            "emergency_plan.muster_points_required",
            "emergency_plan.rescue_evacuation_required",
            "emergency_plan.signature_required",
        ]
    );
    let err = lifecycle::sign(&mut empty, &actor("sup"), stamp(T0)).expect_err("nothing to sign off");
    assert!(matches!(err, Error::Blocked(_)), "{err}");

    // One section missing at a time is named, with its path.
    let sections: [(&str, Edit<EmergencyPlan>); 5] = [
        ("emergency_plan.hospital_required", |p| p.hospital.clear()),
        ("emergency_plan.first_aid_required", |p| p.first_aid = " ".into()),
        ("emergency_plan.contact_phone_required", |p| {
            p.contacts[1].phone.clear()
        }),
        ("emergency_plan.muster_point_location_invalid", |p| {
            p.muster_points[0].latitude = 95.0
        }),
        ("emergency_plan.muster_point_location_invalid", |p| {
            p.muster_points[0].latitude = 0.0;
            p.muster_points[0].longitude = 0.0;
        }),
    ];
    for (rule, spoil) in sections {
        let mut r = record(sample::emergency_plan());
        edit(&mut r, spoil);
        let findings = blocking(&r);
        assert!(rules(&findings).contains(&rule), "{rule}: {findings:?}");
    }

    let mut r = record(sample::emergency_plan());
    let draft = r.clone();
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).expect("signed off");
    Body::check_write(Some(&draft.body), &r.body, &writer("sup", Role::Supervisor)).expect("a supervisor");
    let refusal =
        Body::check_write(Some(&draft.body), &r.body, &writer("sup", Role::Worker)).expect_err("a worker");
    assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);
    lifecycle::complete(&mut r, stamp(T0)).expect("made current");
    let plan: EmergencyPlan = body(&r);
    assert_eq!(plan.status, PlanStatus::Current);
    assert_eq!(plan.revised_ms(), Some(T0));
    assert!(flags::compute_in(&r, &at(T0 + DAY)).is_empty());
}

#[test]
fn a_current_emergency_plan_falls_due_for_review_and_goes_stale_when_edited() {
    let mut r = record(sample::emergency_plan());
    lifecycle::sign(&mut r, &actor("sup"), stamp(T0)).unwrap();
    lifecycle::complete(&mut r, stamp(T0)).unwrap();
    assert!(flags::compute_in(&r, &at(T0 + YEAR - 1)).is_empty());
    let flags = flags::compute_in(&r, &at(T0 + YEAR));
    let overdue = flag(&flags, emergency_plan::codes::REVIEW_OVERDUE);
    assert_eq!(overdue.evidence["revised_by"], "sup");
    assert_eq!(r.body.spec().flags_change_at(T0), Some(T0 + YEAR));
    assert_eq!(r.body.spec().flags_change_at(T0 + YEAR), None);

    // Edited after the sign-off: the site works to words nobody vouched for.
    edit(&mut r, |p: &mut EmergencyPlan| {
        p.hospital_route = "Gate 1 is closed: out gate 3".into()
    });
    let flags = flags::compute_in(&r, &at(T0 + DAY));
    assert_eq!(codes(&flags), [emergency_plan::codes::STALE_SIGNATURE]);
    assert_eq!(flags[0].evidence["signer"], "sup");

    // Signed off again: a new revision, current and dated now.
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0 + 2 * DAY)).unwrap();
    let plan: EmergencyPlan = body(&r);
    assert_eq!(plan.status, PlanStatus::Current);
    assert_eq!(plan.revised_ms(), Some(T0 + 2 * DAY));
    assert!(flags::compute_in(&r, &at(T0 + YEAR)).is_empty());
    assert_eq!(
        r.body.spec().flags_change_at(T0 + YEAR),
        Some(T0 + 2 * DAY + YEAR)
    );
}

#[test]
fn a_drill_is_held_with_its_participants_signatures() {
    let mut r = record(sample::drill(Some("plan-1")));
    let err = lifecycle::complete(&mut r.clone(), stamp(T0)).expect_err("nobody signed");
    assert_eq!(blocked_rules(err), ["drill.signature_required"]);
    let draft = r.clone();
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0)).unwrap();
    Body::check_write(Some(&draft.body), &r.body, &writer("ana", Role::Worker)).expect("her own");
    Body::check_write(Some(&draft.body), &r.body, &writer("ben", Role::Worker)).expect_err("for ana");
    lifecycle::sign(&mut r, &actor("ben"), stamp(T0 + 60_000)).unwrap();
    // Lessons are written after the drill and leave the signatures valid.
    edit(&mut r, |d: &mut Drill| {
        d.lessons = vec!["Head count took 9 minutes: use the sign-in sheet".into()]
    });
    assert!(flags::compute(&r).is_empty());
    lifecycle::complete(&mut r, stamp(T0 + 120_000)).expect("held");
    let d: Drill = body(&r);
    assert_eq!(d.status, DrillStatus::Held);
    assert_eq!(d.participants, ["ana", "ben"]);
    let events: Vec<_> = flags::lifecycle_events(&r).iter().map(|e| e.name).collect();
    assert_eq!(events, ["created", "signed", "signed", "held"]);

    edit(&mut r, |d: &mut Drill| {
        d.scenario = "Gas release at the wellhead".into()
    });
    let flags = flags::compute(&r);
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(flags.iter().all(|f| f.code == drill::codes::STALE_SIGNATURE));
}

// Tailgate meeting

#[test]
fn a_tailgate_meetings_old_signatures_stay_valid_and_a_reviewed_plan_joins_the_signed_content() {
    let meeting = TailgateMeeting::new("Lifts", vec!["Spotters".into(), "Exclusion zone".into()]);
    // The hash as it was computed before meetings named an emergency plan.
    #[derive(Serialize)]
    struct Before<'a> {
        title: &'a str,
        topics: &'a [String],
    }
    let old_hash = {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(&Before {
            title: &meeting.title,
            topics: &meeting.topics,
        })
        .unwrap();
        hex::encode(Sha256::digest(&bytes))
    };
    assert_eq!(meeting.emergency_plan_id, None);
    assert_eq!(
        meeting.content_hash(),
        old_hash,
        "signatures given before stay valid"
    );
    let mut r = record(meeting);
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0)).unwrap();
    assert!(flags::compute(&r).is_empty());

    // Naming the plan reviewed changes what was signed: ana signed a meeting without it.
    edit(&mut r, |m: &mut TailgateMeeting| {
        m.emergency_plan_id = Some("plan-1".into())
    });
    assert_ne!(body::<TailgateMeeting>(&r).content_hash(), old_hash);
    assert_eq!(
        codes(&flags::compute(&r)),
        [tailgate_meeting::codes::STALE_SIGNATURE]
    );
    lifecycle::sign(&mut r, &actor("ana"), stamp(T0 + 1_000)).unwrap();
    assert!(flags::compute(&r).is_empty());
    let evidence = r.body.spec().evidence();
    assert!(
        evidence
            .iter()
            .any(|e| e.label == "Emergency plan reviewed" && e.value == "plan-1")
    );
}

// Every new kind through its document

fn new_kind_records() -> Vec<Record> {
    vec![
        record(sample::policy()),
        record(sample::acknowledgement("ana")),
        record(sample::management_meeting("ops", T0 + 30 * DAY)),
        record(sample::refusal_report("ana", T0)),
        record(sample::incident("ana", T0)),
        record(sample::investigation("inc-1", "ops", T0 + 14 * DAY)),
        record(sample::emergency_plan()),
        record(sample::drill(Some("plan-1"))),
    ]
}

/// A field edit a person would make on each kind.
fn edit_some_field(r: &mut Record) {
    match &mut r.body {
        Body::Policy(p) => p.covers.retain(|c| c != "legal_compliance"),
        Body::Acknowledgement(a) => a.document_id = Some("policy-2026".into()),
        Body::ManagementMeeting(m) => m.items[0].notes.push_str("; one lost-time injury"),
        Body::RefusalReport(x) => x.inspection = "Gas test read 12 ppm H2S".into(),
        Body::Incident(i) => i.occurrences.push("fire_or_explosion".into()),
        Body::Investigation(i) => i.immediate_causes.push("No chocks on the rack".into()),
        Body::EmergencyPlan(p) => p.muster_points[0].latitude = 53.5470,
        Body::Drill(d) => d.lessons.push("Radio channel 4 was busy".into()),
        other => panic!("not a new kind: {:?}", other.kind()),
    }
}

#[test]
fn every_new_kind_is_created_edited_signed_and_read_back_through_its_document() {
    let records = new_kind_records();
    let kinds: Vec<Kind> = records.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Policy,
            Kind::Acknowledgement,
            Kind::ManagementMeeting,
            Kind::RefusalReport,
            Kind::Incident,
            Kind::Investigation,
            Kind::EmergencyPlan,
            Kind::Drill
        ]
    );
    for original in records {
        let kind = original.kind();
        assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        let mut doc = RecordDocument::create(ActorId::random(), "lead", &original, 1_000).unwrap();
        assert_eq!(doc.record().unwrap(), original, "{kind}");

        let mut edited = original.clone();
        edit_some_field(&mut edited);
        assert_ne!(edited, original, "{kind}: the edit changes something");
        let expected = edited.clone();
        doc.update("lead", 2_000, |r| {
            edit_some_field(r);
            Ok(())
        })
        .unwrap();
        let copy = RecordDocument::load(&doc.save(), ActorId::random()).unwrap();
        assert_eq!(copy.record().unwrap(), expected, "{kind}");
        assert_eq!(copy.kind().unwrap(), kind);

        // A signature and its stamp path survive the round trip (an incident has no signature,
        // and a refusal report's closes it; the acknowledgement is signed by its person).
        if !matches!(kind, Kind::Incident | Kind::RefusalReport) {
            let signer = if kind == Kind::Acknowledgement {
                "ana"
            } else {
                "sup"
            };
            let mut signed = expected.clone();
            lifecycle::sign(&mut signed, &actor(signer), stamp(T0 + DAY)).expect("signed");
            let mut doc = copy;
            doc.update(signer, 3_000, |r| {
                *r = signed.clone();
                Ok(())
            })
            .unwrap();
            let read = RecordDocument::load(&doc.save(), ActorId::random()).unwrap();
            assert_eq!(read.record().unwrap(), signed, "{kind}");
            let paths: Vec<String> = flags::lifecycle_events(&signed)
                .into_iter()
                .map(|e| e.path)
                .collect();
            let writers = read.stamp_writers(paths.iter().map(String::as_str)).unwrap();
            assert_eq!(
                writers.len(),
                paths.len(),
                "{kind}: every stamp found at its path"
            );
        }

        // The generic JSON path the shells use makes a new record of each kind.
        let json = fields::to_json(&original.body).unwrap();
        let body = fields::new_body(kind, &json.to_string()).unwrap();
        fields::check_new(&body).expect("a draft");
        assert_eq!(body, original.body);
    }
}

#[test]
fn a_policy_review_stamp_in_its_list_is_found_by_its_index() {
    let mut r = record(sample::policy());
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0)).unwrap();
    lifecycle::sign(&mut r, &actor("owner"), stamp(T0 + YEAR)).unwrap();
    let doc = RecordDocument::create(ActorId::random(), "owner", &r, 1_000).unwrap();
    let actor_hex = doc.actor().to_hex_string();
    let writers = doc
        .stamp_writers([policy::paths::SIGNED, policy::paths::review(0).as_str()])
        .unwrap();
    assert_eq!(writers.get(&policy::paths::review(0)), Some(&actor_hex));
    assert_eq!(writers.get(policy::paths::SIGNED), Some(&actor_hex));
}

#[test]
fn a_reportable_answer_covers_only_the_reasons_it_answered() {
    let mut r = record(sample::incident("ana", T0));
    edit(&mut r, |i: &mut Incident| {
        i.occurrences = vec!["fire_or_explosion".into()];
        i.status = IncidentStatus::Reported;
        i.not_reportable_reason = Some("Smouldering rag, out in seconds, nobody near".into());
        i.decided_reasons = i.reportable_reasons().iter().map(|r| r.to_string()).collect();
    });
    assert!(flags::compute(&r).is_empty(), "answered");
    // The treatment is raised afterwards (or on another phone at the same time): asked again,
    // for the new reason only.
    edit(&mut r, |i: &mut Incident| i.treatment = Treatment::Hospitalized);
    let flags = flags::compute(&r);
    let prompt = flag(&flags, incident::codes::MAY_BE_REPORTABLE);
    assert!(
        prompt.evidence["reasons"].contains("admitted to hospital"),
        "{prompt:?}"
    );
    assert!(!prompt.evidence["reasons"].contains("fire"), "{prompt:?}");
    // A flood is a reason too.
    let mut flood = record(sample::incident("ana", T0));
    edit(&mut flood, |i: &mut Incident| {
        i.occurrences = vec!["flood".into()]
    });
    assert_eq!(
        codes(&flags::compute(&flood)),
        [incident::codes::MAY_BE_REPORTABLE]
    );
}

#[test]
fn a_worker_cannot_take_a_reason_away_from_a_reported_incident() {
    let mut before = record(sample::incident("ana", T0));
    edit(&mut before, |i: &mut Incident| {
        i.treatment = Treatment::Hospitalized;
        i.occurrences = vec!["fire_or_explosion".into()];
        i.status = IncidentStatus::Reported;
    });
    for lower in [
        (|i: &mut Incident| i.treatment = Treatment::FirstAid) as Edit<Incident>,
        |i: &mut Incident| i.occurrences.clear(),
        |i: &mut Incident| i.decided_reasons = vec!["anything".into()],
    ] {
        let mut after = before.clone();
        edit(&mut after, lower);
        let refusal = Body::check_write(Some(&before.body), &after.body, &writer("ana", Role::Worker))
            .expect_err("a worker clears the prompt");
        assert_eq!(refusal.code, RejectCode::ApprovalNotPermitted);
        Body::check_write(Some(&before.body), &after.body, &writer("sup", Role::Supervisor))
            .expect("a supervisor decides");
    }
    // Adding detail that keeps every reason is anyone's.
    let mut more = before.clone();
    edit(&mut more, |i: &mut Incident| {
        i.location = "Generator enclosure, north side".into()
    });
    Body::check_write(Some(&before.body), &more.body, &writer("ana", Role::Worker)).expect("detail");
}

#[test]
fn signed_program_records_are_changed_only_by_those_who_sign_them() {
    let check = |before: &Record, after: &Record, who: Writer| {
        Body::check_write(Some(&before.body), &after.body, &who)
    };

    // A reported refusal is not withdrawn by a worker.
    let mut refusal = record(sample::refusal_report("wade", T0));
    lifecycle::complete(&mut refusal, stamp(T0 + 1)).expect("reported");
    let mut withdrawn = refusal.clone();
    edit(&mut withdrawn, |r: &mut RefusalReport| {
        r.status = RefusalStatus::Draft;
        r.reported = None;
    });
    assert_eq!(
        check(&refusal, &withdrawn, writer("wade", Role::Worker))
            .expect_err("worker")
            .code,
        RejectCode::ApprovalNotPermitted
    );
    check(&refusal, &withdrawn, writer("sup", Role::Supervisor)).expect("supervisor");

    // A signed acknowledgement says what its person signed: nobody else rewrites or withdraws it.
    let mut ack = record(sample::acknowledgement("wade"));
    lifecycle::sign(&mut ack, &actor("wade"), stamp(T0 + 2)).expect("signed");
    let mut reworded = ack.clone();
    edit(&mut reworded, |a: &mut Acknowledgement| {
        a.subject = AckSubject::Responsibilities
    });
    let mut withdrawn = ack.clone();
    edit(&mut withdrawn, |a: &mut Acknowledgement| a.signature = None);
    for after in [&reworded, &withdrawn] {
        assert_eq!(
            check(&ack, after, writer("sup", Role::Supervisor))
                .expect_err("not theirs")
                .code,
            RejectCode::SignatureForged
        );
    }
    check(&ack, &reworded, writer("wade", Role::Worker)).expect("their own");

    // A signed policy's words are the manager's.
    let mut signed = record(sample::policy());
    lifecycle::sign(&mut signed, &actor("olivia"), stamp(T0 + 3)).expect("signed");
    let mut rewritten = signed.clone();
    edit(&mut rewritten, |p: &mut Policy| {
        p.text.push_str(" Except on Fridays.")
    });
    assert_eq!(
        check(&signed, &rewritten, writer("sup", Role::Supervisor))
            .expect_err("a supervisor")
            .code,
        RejectCode::ApprovalNotPermitted
    );
    check(&signed, &rewritten, writer("olivia", Role::Admin)).expect("the manager");

    // A current emergency plan is changed only by those who sign plans off.
    let mut plan = record(sample::emergency_plan());
    lifecycle::sign(&mut plan, &actor("sup"), stamp(T0 + 4)).expect("signed off");
    lifecycle::complete(&mut plan, stamp(T0 + 5)).expect("current");
    let mut moved = plan.clone();
    edit(&mut moved, |p: &mut EmergencyPlan| {
        p.hospital = "Nowhere General".into()
    });
    assert_eq!(
        check(&plan, &moved, writer("wade", Role::Worker))
            .expect_err("a worker")
            .code,
        RejectCode::ApprovalNotPermitted
    );
    check(&plan, &moved, writer("sup", Role::Supervisor)).expect("a supervisor");

    // A held meeting's actions are not added to by a worker.
    let mut meeting = record(sample::management_meeting("lee", T0 + 86_400_000));
    lifecycle::sign(&mut meeting, &actor("sup"), stamp(T0 + 6)).expect("signed");
    lifecycle::complete(&mut meeting, stamp(T0 + 7)).expect("held");
    let mut added = meeting.clone();
    edit(&mut added, |m: &mut ManagementMeeting| {
        let mut extra = m.actions[0].clone();
        extra.id = "extra".into();
        extra.assignee = "wade".into();
        m.actions.push(extra);
    });
    assert_eq!(
        check(&meeting, &added, writer("wade", Role::Worker))
            .expect_err("a worker")
            .code,
        RejectCode::ApprovalNotPermitted
    );
    check(&meeting, &added, writer("sup", Role::Supervisor)).expect("a supervisor");
}

#[test]
fn two_managers_reviews_merged_in_either_order_are_each_their_own() {
    let mut signed = record(sample::policy());
    lifecycle::sign(&mut signed, &actor("olivia"), stamp(T0)).expect("signed");
    let mut by_olivia = signed.clone();
    lifecycle::sign(&mut by_olivia, &actor("olivia"), stamp(T0 + 10)).expect("her review");
    let mut by_max = signed.clone();
    lifecycle::sign(&mut by_max, &actor("max"), stamp(T0 + 11)).expect("his review");
    // The merge lists Olivia's review first; each phone sends the merged list.
    let mut merged = by_olivia.clone();
    let his = body::<Policy>(&by_max).reviews[0].clone();
    edit(&mut merged, |p: &mut Policy| p.reviews.push(his));
    Body::check_write(Some(&by_olivia.body), &merged.body, &writer("max", Role::Admin))
        .expect("Max adds his own");
    Body::check_write(Some(&by_max.body), &merged.body, &writer("olivia", Role::Admin))
        .expect("Olivia's, before Max's in the list");
    // Nobody removes another manager's review.
    let mut dropped = merged.clone();
    edit(&mut dropped, |p: &mut Policy| {
        p.reviews.remove(0);
    });
    let refusal = Body::check_write(Some(&merged.body), &dropped.body, &writer("max", Role::Admin))
        .expect_err("Olivia's review");
    assert_eq!(refusal.code, RejectCode::SignatureForged);
}
