//! Documents merged across devices: keyed lists, safety-aware rules, visible conflicts.

use automerge::ActorId;
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{
    ApprovalDecision, Body, ControlLevel, Header, Kind, Record, SCHEMA_VERSION, Severity,
};
use sync_core::{RecordDocument, Stamp, flags, sample, validate};

fn stamp(wall_ms: i64) -> Stamp {
    Stamp::new(wall_ms, wall_ms / 10, "boot-1")
}

fn record(body: Body) -> Record {
    Record {
        header: Header {
            id: "rec-1".into(),
            kind: body.kind().as_str().into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: "acme".into(),
            site_id: "site-4-12".into(),
            job_id: Some("job-77".into()),
            created_by: "lead".into(),
            created: stamp(1_000),
        },
        body,
    }
}

/// A second device holding a copy of `doc`, as after a sync.
fn copy(doc: &mut RecordDocument) -> RecordDocument {
    RecordDocument::load(&doc.save(), ActorId::random()).expect("copy loads")
}

fn jsea_of(doc: &RecordDocument) -> sync_core::model::Jsea {
    match doc.record().expect("hydrates").body {
        Body::Jsea(j) => j,
        other => panic!("expected a JSEA, got {other:?}"),
    }
}

#[test]
fn a_record_round_trips_through_its_document() {
    let original = record(Body::Jsea(sample::jsea()));
    let mut doc = RecordDocument::create(ActorId::random(), "lead", &original, 5_000).unwrap();
    let reloaded = RecordDocument::load(&doc.save(), ActorId::random()).unwrap();
    assert_eq!(reloaded.record().unwrap(), original);
    assert_eq!(reloaded.kind().unwrap(), Kind::Jsea);
    let authors = reloaded.authors().unwrap();
    assert_eq!(authors.values().collect::<Vec<_>>(), vec!["lead"]);
}

#[test]
fn concurrent_hazards_and_controls_from_two_phones_both_survive() {
    let mut a =
        RecordDocument::create(ActorId::random(), "lead", &record(Body::Jsea(sample::jsea())), 1).unwrap();
    let mut b = copy(&mut a);

    a.update("lead", 2, |r| {
        let Body::Jsea(j) = &mut r.body else {
            unreachable!()
        };
        j.steps[0].hazards.push(sample::hazard(
            "Noise from blowdown",
            2,
            4,
            &[("Hearing protection", ControlLevel::Ppe)],
        ));
        Ok(())
    })
    .unwrap();
    b.update("worker", 3, |r| {
        let Body::Jsea(j) = &mut r.body else {
            unreachable!()
        };
        j.steps[0].hazards.insert(
            0,
            sample::hazard(
                "Vehicle traffic on lease",
                4,
                2,
                &[("Spotter", ControlLevel::Administrative)],
            ),
        );
        j.steps[1].hazards[0].controls.push(
            sample::hazard(
                "x",
                1,
                1,
                &[("Hand tools with lanyards", ControlLevel::Engineering)],
            )
            .controls
            .remove(0),
        );
        Ok(())
    })
    .unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();

    let merged = jsea_of(&a);
    assert_eq!(merged, jsea_of(&b), "both phones see the same JSEA");
    let first_step: Vec<&str> = merged.steps[0]
        .hazards
        .iter()
        .map(|h| h.description.as_str())
        .collect();
    assert_eq!(
        first_step,
        vec![
            "Vehicle traffic on lease",
            "Stored pressure release",
            "H2S exposure",
            "Noise from blowdown"
        ]
    );
    assert_eq!(merged.steps[1].hazards[0].controls.len(), 3);
    assert!(
        a.conflicts().unwrap().is_empty(),
        "inserts into keyed lists do not conflict"
    );
    assert_eq!(a.authors().unwrap().len(), 2);
}

#[test]
fn potential_severity_merges_to_the_highest_any_author_gave() {
    let mut n = sample::near_miss(1_000);
    n.potential_severity = Severity::Medium;
    let mut a = RecordDocument::create(ActorId::random(), "w1", &record(Body::NearMiss(n)), 1).unwrap();
    let mut b = copy(&mut a);
    let mut c = copy(&mut a);
    let set = |doc: &mut RecordDocument, s: Severity| {
        doc.update("u", 9, |r| {
            let Body::NearMiss(n) = &mut r.body else {
                unreachable!()
            };
            n.potential_severity = s;
            Ok(())
        })
        .unwrap();
    };
    set(&mut a, Severity::Low);
    set(&mut b, Severity::Critical);
    set(&mut c, Severity::Low);
    a.merge(&mut b).unwrap();
    a.merge(&mut c).unwrap();
    let Body::NearMiss(merged) = a.record().unwrap().body else {
        unreachable!()
    };
    assert_eq!(merged.potential_severity, Severity::Critical);
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].path, "near_miss.potential_severity");

    // A person lowering it afterwards, knowingly, is a sequential edit and stands.
    set(&mut a, Severity::High);
    let Body::NearMiss(after) = a.record().unwrap().body else {
        unreachable!()
    };
    assert_eq!(after.potential_severity, Severity::High);
    assert!(a.conflicts().unwrap().is_empty());
}

#[test]
fn a_signature_goes_stale_when_the_signed_content_changes() {
    let lead = Actor {
        user_id: "lead".into(),
        name: "Dana Lead".into(),
    };
    let mut r = record(Body::Jsea(sample::jsea()));
    lifecycle::sign(&mut r, &lead, stamp(2_000)).unwrap();
    assert!(flags::compute(&r).is_empty(), "fresh signature is not stale");

    let Body::Jsea(j) = &mut r.body else {
        unreachable!()
    };
    j.steps[2].hazards[1].description = "Slips and trips on wet pad".into();
    let flags = flags::compute(&r);
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].code, flags::codes::STALE_SIGNATURE);
    assert_eq!(flags[0].evidence["signer"], "lead");

    // Re-signing vouches for the new content; a second person joining and signing leaves it valid.
    lifecycle::sign(&mut r, &lead, stamp(3_000)).unwrap();
    let worker = Actor {
        user_id: "w1".into(),
        name: "Sam Worker".into(),
    };
    lifecycle::sign(&mut r, &worker, stamp(3_500)).unwrap();
    let Body::Jsea(j) = &r.body else { unreachable!() };
    assert_eq!(j.crew, vec!["lead".to_string(), "w1".to_string()]);
    assert!(j.stale_signatures().is_empty());
}

#[test]
fn people_joining_the_crew_and_signing_in_turn_keep_earlier_signatures_valid() {
    let mut r = record(Body::Jsea(sample::jsea()));
    let signers = [
        ("lead", "Dana Lead"),
        ("w1", "Sam Worker"),
        ("w2", "Alex Arrived-Late"),
    ];
    for (i, (user_id, name)) in signers.into_iter().enumerate() {
        let actor = Actor {
            user_id: user_id.into(),
            name: name.into(),
        };
        lifecycle::sign(&mut r, &actor, stamp(2_000 + 500 * i as i64)).unwrap();
    }
    let Body::Jsea(j) = &r.body else { unreachable!() };
    assert_eq!(j.crew, vec!["lead", "w1", "w2"], "signing on joins the crew");
    let stale_flags = |r: &Record| -> Vec<String> {
        let mut signers: Vec<String> = flags::compute(r)
            .into_iter()
            .filter(|f| f.code == flags::codes::STALE_SIGNATURE)
            .map(|f| f.evidence["signer"].clone())
            .collect();
        signers.sort();
        signers
    };
    assert!(stale_flags(&r).is_empty(), "{:?}", flags::compute(&r));

    // Changing a control changes what everyone vouched for.
    let Body::Jsea(j) = &mut r.body else {
        unreachable!()
    };
    j.steps[0].hazards[0].controls[1].description = "Bleed to zero, verify two gauges".into();
    assert_eq!(stale_flags(&r), vec!["lead", "w1", "w2"]);
}

#[test]
fn concurrent_edits_of_one_field_stay_visible_until_resolved() {
    let mut a =
        RecordDocument::create(ActorId::random(), "lead", &record(Body::Jsea(sample::jsea())), 1).unwrap();
    let mut b = copy(&mut a);
    let set_task = |doc: &mut RecordDocument, task: &str| {
        doc.update("u", 5, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.task = task.into();
            Ok(())
        })
        .unwrap();
    };
    set_task(&mut a, "Replace valve A");
    set_task(&mut b, "Replace valve B");
    a.merge(&mut b).unwrap();
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "jsea.task");
    let mut seen = conflicts[0].values.clone();
    seen.sort();
    assert_eq!(seen, vec!["Replace valve A", "Replace valve B"]);

    a.resolve_conflict("lead", 6, "jsea.task", "Replace valve B")
        .unwrap();
    assert!(a.conflicts().unwrap().is_empty());
    assert_eq!(jsea_of(&a).task, "Replace valve B");
    assert!(a.resolve_conflict("lead", 7, "jsea.nope[3]", "x").is_err());
}

#[test]
fn completing_with_blocking_findings_fails_with_those_findings() {
    let mut r = record(Body::Jsea(sample::jsea()));
    let Body::Jsea(j) = &mut r.body else {
        unreachable!()
    };
    j.steps[1].hazards[0]
        .controls
        .retain(|c| c.level == ControlLevel::Ppe);
    let err = lifecycle::complete(&mut r.clone(), stamp(9)).unwrap_err();
    let sync_core::Error::Blocked(findings) = err else {
        panic!("expected Blocked, got {err:?}")
    };
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.contains(&"hazard 'Pinch points at flange' has only PPE controls and no justification"));
    assert!(messages.contains(&"at least one crew member must sign on"));
    let ppe = findings
        .iter()
        .find(|f| f.rule == "jsea.ppe_only_without_justification")
        .unwrap();
    assert_eq!(ppe.path, "steps[1].hazards[0].ppe_only_justification");

    // Fix both; completion then succeeds.
    let Body::Jsea(j) = &mut r.body else {
        unreachable!()
    };
    j.steps[1].hazards[0].ppe_only_justification =
        Some("Flange spreader unavailable on site; two-person lift".into());
    lifecycle::sign(
        &mut r,
        &Actor {
            user_id: "lead".into(),
            name: "Dana".into(),
        },
        stamp(10),
    )
    .unwrap();
    lifecycle::complete(&mut r, stamp(11)).unwrap();
    assert!(validate::validate(&r).iter().all(|f| !f.is_blocking()));
}

#[test]
fn flags_name_completion_after_work_started_and_missing_approval() {
    let lead = Actor {
        user_id: "lead".into(),
        name: "Dana".into(),
    };
    let sup = Actor {
        user_id: "sup".into(),
        name: "Chris Super".into(),
    };
    let mut late = record(Body::Jsea(sample::jsea()));
    lifecycle::start_work(&mut late, stamp(7 * 3_600_000)).unwrap();
    lifecycle::sign(&mut late, &lead, stamp(7 * 3_600_000 + 30 * 60_000)).unwrap();
    lifecycle::complete(&mut late, stamp(7 * 3_600_000 + 35 * 60_000)).unwrap();
    let codes: Vec<String> = flags::compute(&late).into_iter().map(|f| f.code).collect();
    assert!(
        codes.contains(&flags::codes::COMPLETED_AFTER_WORK_STARTED.to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&flags::codes::WORK_STARTED_WITHOUT_APPROVAL.to_string()),
        "{codes:?}"
    );
    let f = flags::compute(&late)
        .into_iter()
        .find(|f| f.code == flags::codes::COMPLETED_AFTER_WORK_STARTED)
        .unwrap();
    assert_eq!(f.evidence["minutes_late"], "35.0");

    let mut good = record(Body::Jsea(sample::jsea()));
    lifecycle::sign(&mut good, &lead, stamp(1_000)).unwrap();
    lifecycle::complete(&mut good, stamp(2_000)).unwrap();
    lifecycle::decide(&mut good, &sup, ApprovalDecision::Approved, None, stamp(3_000)).unwrap();
    lifecycle::start_work(&mut good, stamp(4_000)).unwrap();
    assert_eq!(flags::compute(&good), vec![], "done in order, nothing to flag");

    // Reopening for changed conditions requires completion and approval again.
    lifecycle::reopen(
        &mut good,
        &lead,
        "Wind shifted; H2S plume toward the pad",
        stamp(5_000),
    )
    .unwrap();
    let Body::Jsea(j) = &good.body else { unreachable!() };
    assert!(j.approval.is_none() && j.completed.is_none());
    assert!(lifecycle::decide(&mut good, &sup, ApprovalDecision::Approved, None, stamp(6_000)).is_err());
}

#[test]
fn bad_bytes_are_refused_and_leave_the_document_untouched() {
    let mut a =
        RecordDocument::create(ActorId::random(), "lead", &record(Body::Jsea(sample::jsea())), 1).unwrap();
    let before = a.record().unwrap();
    assert!(a.apply_bytes(b"definitely not automerge").is_err());
    assert!(RecordDocument::load(b"\x85\x6f\x4a\x83garbage", ActorId::random()).is_err());
    assert_eq!(a.record().unwrap(), before);

    // A valid automerge document that is not a record is refused too.
    let mut other = automerge::AutoCommit::new();
    assert!(RecordDocument::load(&other.save(), ActorId::random()).is_err());
}
