//! Documents merged across devices: keyed lists, safety-aware rules, visible conflicts.

use automerge::ActorId;
use automerge::transaction::Transactable;
use automerge::{ObjId, ReadDoc};
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{
    ApprovalDecision, Body, ControlLevel, Header, ItemResult, Jsea, Kind, PreStart, Record, SCHEMA_VERSION,
    Severity,
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

/// A copy of `doc` on a device whose actor id is `byte` repeated: tests pick which of two
/// concurrent writes automerge's last-writer-wins favours (the higher actor id).
fn copy_on(doc: &mut RecordDocument, byte: u8) -> RecordDocument {
    RecordDocument::load(&doc.save(), ActorId::from([byte; 16])).expect("copy loads")
}

/// Both orders of two devices' actor ids: whichever one last-writer-wins favours.
const BOTH_ORDERS: [(u8, u8); 2] = [(0x01, 0xfe), (0xfe, 0x01)];

fn jsea_of(doc: &RecordDocument) -> Jsea {
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

fn prestart_of(doc: &RecordDocument) -> PreStart {
    match doc.record().expect("hydrates").body {
        Body::PreStart(p) => p,
        other => panic!("expected a pre-start, got {other:?}"),
    }
}

fn edit_prestart(doc: &mut RecordDocument, edit: impl FnOnce(&mut PreStart)) {
    doc.update("u", 9, |r| {
        let Body::PreStart(p) = &mut r.body else {
            unreachable!()
        };
        edit(p);
        Ok(())
    })
    .unwrap();
}

fn edit_jsea(doc: &mut RecordDocument, edit: impl FnOnce(&mut Jsea)) {
    doc.update("u", 9, |r| {
        let Body::Jsea(j) = &mut r.body else {
            unreachable!()
        };
        edit(j);
        Ok(())
    })
    .unwrap();
}

fn set_result(doc: &mut RecordDocument, item: usize, result: Option<ItemResult>) {
    edit_prestart(doc, |p| p.items[item].result = result);
}

fn set_risk(doc: &mut RecordDocument, hazard_id: &str, severity: u8, likelihood: u8) {
    edit_jsea(doc, |j| {
        let risk = &mut j.hazard_mut(hazard_id).expect("hazard exists").risk;
        risk.severity = severity;
        risk.likelihood = likelihood;
    });
}

fn conflict_values(doc: &RecordDocument, path: &str) -> Vec<String> {
    let conflicts = doc.conflicts().unwrap();
    let mut values = conflicts
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no conflict at {path}: {conflicts:?}"))
        .values
        .clone();
    values.sort();
    values
}

/// Two phones holding `record` after a sync, on actor ids `first` and `second`.
fn two_phones(record: &Record, first: u8, second: u8) -> (RecordDocument, RecordDocument) {
    let mut origin = RecordDocument::create(ActorId::random(), "lead", record, 1).unwrap();
    (copy_on(&mut origin, first), copy_on(&mut origin, second))
}

fn merge_both_ways(a: &mut RecordDocument, b: &mut RecordDocument) {
    a.merge(b).unwrap();
    b.merge(a).unwrap();
}

#[test]
fn concurrent_pass_and_fail_on_a_checklist_item_read_as_fail_with_the_conflict_shown() {
    for (pass_phone, fail_phone) in BOTH_ORDERS {
        let (mut a, mut b) = two_phones(
            &record(Body::PreStart(sample::prestart("op"))),
            pass_phone,
            fail_phone,
        );
        set_result(&mut a, 0, Some(ItemResult::Pass));
        set_result(&mut b, 0, Some(ItemResult::Fail));
        // An unanswered item or "not applicable" does not outweigh a failure either.
        set_result(&mut a, 1, Some(ItemResult::NotApplicable));
        set_result(&mut b, 1, Some(ItemResult::Fail));
        set_result(&mut a, 3, Some(ItemResult::Pass));
        set_result(&mut b, 3, Some(ItemResult::Fail));
        set_result(&mut a, 3, None);
        merge_both_ways(&mut a, &mut b);

        for doc in [&a, &b] {
            let p = prestart_of(doc);
            let results: Vec<_> = p.items.iter().map(|i| i.result).collect();
            assert_eq!(
                results[..4],
                [
                    Some(ItemResult::Fail),
                    Some(ItemResult::Fail),
                    None,
                    Some(ItemResult::Fail)
                ]
            );
            assert!(p.out_of_service());
            assert_eq!(
                conflict_values(doc, "pre_start.items[0].result"),
                vec!["fail", "pass"]
            );
            assert_eq!(
                conflict_values(doc, "pre_start.items[1].result"),
                vec!["fail", "not_applicable"]
            );
            assert_eq!(
                conflict_values(doc, "pre_start.items[3].result"),
                vec!["fail", "null"]
            );
            let out_of_service = flags::compute(&doc.record().unwrap())
                .into_iter()
                .filter(|f| f.code == flags::codes::OUT_OF_SERVICE)
                .count();
            assert_eq!(out_of_service, 3);
        }
    }
}

#[test]
fn an_unrelated_edit_after_the_merge_keeps_the_failure() {
    for (pass_phone, fail_phone) in BOTH_ORDERS {
        let (mut a, mut b) = two_phones(
            &record(Body::PreStart(sample::prestart("op"))),
            pass_phone,
            fail_phone,
        );
        set_result(&mut a, 0, Some(ItemResult::Pass));
        set_result(&mut b, 0, Some(ItemResult::Fail));
        merge_both_ways(&mut a, &mut b);

        set_result(&mut a, 4, Some(ItemResult::Pass));
        b.merge(&mut a).unwrap();
        for doc in [&a, &b] {
            let p = prestart_of(doc);
            assert_eq!(p.items[0].result, Some(ItemResult::Fail));
            assert_eq!(p.items[4].result, Some(ItemResult::Pass));
        }
    }
}

#[test]
fn a_person_can_set_a_failed_item_back_to_pass_after_the_merge() {
    for (pass_phone, fail_phone) in BOTH_ORDERS {
        let (mut a, mut b) = two_phones(
            &record(Body::PreStart(sample::prestart("op"))),
            pass_phone,
            fail_phone,
        );
        set_result(&mut a, 0, Some(ItemResult::Pass));
        set_result(&mut b, 0, Some(ItemResult::Fail));
        merge_both_ways(&mut a, &mut b);
        assert_eq!(prestart_of(&a).items[0].result, Some(ItemResult::Fail));

        // The brakes were fixed and checked again: the operator passes the item on purpose.
        set_result(&mut a, 0, Some(ItemResult::Pass));
        b.merge(&mut a).unwrap();
        for doc in [&a, &b] {
            let p = prestart_of(doc);
            assert_eq!(p.items[0].result, Some(ItemResult::Pass));
            assert!(!p.out_of_service());
            assert!(doc.conflicts().unwrap().is_empty());
        }
    }
}

#[test]
fn concurrent_risk_ratings_read_as_the_higher_severity_and_likelihood() {
    for (low_phone, high_phone) in BOTH_ORDERS {
        let jsea = sample::jsea();
        let test_release = jsea.steps[2].hazards[0].id.clone(); // 5 × 1
        let overhead_load = jsea.steps[1].hazards[1].id.clone(); // 4 × 2
        let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), low_phone, high_phone);
        set_risk(&mut a, &test_release, 2, 2);
        set_risk(&mut b, &test_release, 4, 3);
        // Each field on its own: the higher severity from one phone, the higher likelihood from the other.
        set_risk(&mut a, &overhead_load, 1, 4);
        set_risk(&mut b, &overhead_load, 3, 1);
        merge_both_ways(&mut a, &mut b);

        for doc in [&a, &b] {
            let mut j = jsea_of(doc);
            let risk = j.hazard_mut(&test_release).unwrap().risk;
            assert_eq!((risk.severity, risk.likelihood), (4, 3));
            let risk = j.hazard_mut(&overhead_load).unwrap().risk;
            assert_eq!((risk.severity, risk.likelihood), (3, 4));
            assert_eq!(
                conflict_values(doc, "jsea.steps[2].hazards[0].risk.severity"),
                vec!["2", "4"]
            );
            assert_eq!(
                conflict_values(doc, "jsea.steps[1].hazards[1].risk.likelihood"),
                vec!["1", "4"]
            );
        }

        // Someone who looked at both lowers the rating on purpose, even to a value one phone gave.
        set_risk(&mut a, &test_release, 2, 2);
        set_risk(&mut a, &overhead_load, 3, 1);
        b.merge(&mut a).unwrap();
        for doc in [&a, &b] {
            let mut j = jsea_of(doc);
            let risk = j.hazard_mut(&test_release).unwrap().risk;
            assert_eq!((risk.severity, risk.likelihood), (2, 2));
            let risk = j.hazard_mut(&overhead_load).unwrap().risk;
            assert_eq!((risk.severity, risk.likelihood), (3, 1));
            assert!(doc.conflicts().unwrap().is_empty());
        }
    }
}

/// An edit of the hazard with this id, described for assertion messages.
type HazardEdit = (&'static str, fn(&mut Jsea, &str));

#[test]
fn removing_a_hazard_while_another_phone_edits_it_keeps_the_hazard() {
    let edits: [HazardEdit; 3] = [
        ("description", |j, id| {
            j.hazard_mut(id).unwrap().description = "Pinch points at flange and spreader".into()
        }),
        ("new control", |j, id| {
            let control = sample::hazard(
                "",
                1,
                1,
                &[("Second worker watches hands", ControlLevel::Administrative)],
            )
            .controls
            .remove(0);
            j.hazard_mut(id).unwrap().controls.push(control);
        }),
        ("existing control", |j, id| {
            j.hazard_mut(id).unwrap().controls[1].level = ControlLevel::Engineering
        }),
    ];
    for (what, edit) in edits {
        for (remover, editor) in BOTH_ORDERS {
            let jsea = sample::jsea();
            let pinch = jsea.steps[1].hazards[0].id.clone();
            let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), remover, editor);
            edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
            edit_jsea(&mut b, |j| edit(j, &pinch));
            let edited = jsea_of(&b).hazard_mut(&pinch).unwrap().clone();
            merge_both_ways(&mut a, &mut b);

            for doc in [&a, &b] {
                let mut j = jsea_of(doc);
                let hazard = j.hazard_mut(&pinch).unwrap();
                assert!(!hazard.removed, "{what}: the edited hazard is kept");
                assert_eq!(*hazard, edited, "{what}");
            }

            // Removing it again, now having seen the edit, stands.
            edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
            b.merge(&mut a).unwrap();
            for doc in [&a, &b] {
                assert!(jsea_of(doc).hazard_mut(&pinch).unwrap().removed, "{what}");
            }
        }
    }
}

#[test]
fn removing_a_kept_hazard_again_stands_while_someone_else_edits_the_record() {
    for (remover, editor) in BOTH_ORDERS {
        let jsea = sample::jsea();
        let pinch = jsea.steps[1].hazards[0].id.clone();
        let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), remover, editor);
        edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
        edit_jsea(&mut b, |j| {
            j.hazard_mut(&pinch).unwrap().description = "Pinch points at flange and spreader".into()
        });
        merge_both_ways(&mut a, &mut b);

        // A removes it again knowingly while B, meanwhile, only edits the task.
        edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
        edit_jsea(&mut b, |j| {
            j.task = "Replace wellhead valve on 4-12 pad (second crew)".into()
        });
        assert!(
            !jsea_of(&b).hazard_mut(&pinch).unwrap().removed,
            "still kept on B"
        );
        merge_both_ways(&mut a, &mut b);
        for doc in [&a, &b] {
            let mut j = jsea_of(doc);
            assert!(j.hazard_mut(&pinch).unwrap().removed);
            assert_eq!(j.task, "Replace wellhead valve on 4-12 pad (second crew)");
        }
    }
}

#[test]
fn an_unrelated_edit_does_not_bring_back_a_hazard_removed_after_a_risk_disagreement() {
    for (low_phone, high_phone) in BOTH_ORDERS {
        let jsea = sample::jsea();
        let test_release = jsea.steps[2].hazards[0].id.clone();
        let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), low_phone, high_phone);
        set_risk(&mut a, &test_release, 2, 2);
        set_risk(&mut b, &test_release, 4, 3);
        merge_both_ways(&mut a, &mut b);
        // A saw both ratings and removes the hazard; B, having received that, edits something else.
        edit_jsea(&mut a, |j| j.hazard_mut(&test_release).unwrap().removed = true);
        b.merge(&mut a).unwrap();
        edit_jsea(&mut b, |j| j.muster_point = "North gate".into());
        a.merge(&mut b).unwrap();
        for doc in [&a, &b] {
            let mut j = jsea_of(doc);
            assert!(j.hazard_mut(&test_release).unwrap().removed);
            assert_eq!(j.muster_point, "North gate");
        }
    }
}

#[test]
fn removing_a_step_or_control_while_another_phone_edits_it_keeps_it() {
    let jsea = sample::jsea();
    let step = jsea.steps[2].id.clone();
    let hazard = jsea.steps[0].hazards[1].id.clone();
    let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), 0x01, 0xfe);
    edit_jsea(&mut a, |j| {
        j.step_mut(&step).unwrap().removed = true;
        j.hazard_mut(&hazard).unwrap().controls[0].removed = true;
    });
    edit_jsea(&mut b, |j| {
        // An edit deep inside the step counts as an edit of the step.
        j.step_mut(&step).unwrap().hazards[1].ppe_only_justification = Some("Boots are the control".into());
        j.hazard_mut(&hazard).unwrap().controls[0].description = "Personal H2S monitor, bump tested".into();
    });
    merge_both_ways(&mut a, &mut b);
    for doc in [&a, &b] {
        let mut j = jsea_of(doc);
        assert!(!j.step_mut(&step).unwrap().removed);
        assert!(!j.hazard_mut(&hazard).unwrap().controls[0].removed);
    }
}

#[test]
fn a_removal_made_after_seeing_the_edit_stands() {
    let jsea = sample::jsea();
    let pinch = jsea.steps[1].hazards[0].id.clone();
    let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), 0x01, 0xfe);
    edit_jsea(&mut b, |j| {
        j.hazard_mut(&pinch).unwrap().description = "Pinch points at flange and spreader".into()
    });
    a.merge(&mut b).unwrap();
    edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
    b.merge(&mut a).unwrap();
    for doc in [&a, &b] {
        assert!(jsea_of(doc).hazard_mut(&pinch).unwrap().removed);
        assert!(doc.conflicts().unwrap().is_empty());
    }
    // Two people removing it at once, neither editing, is a removal too.
    let jsea = sample::jsea();
    let pinch = jsea.steps[1].hazards[0].id.clone();
    let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), 0x01, 0xfe);
    edit_jsea(&mut a, |j| j.hazard_mut(&pinch).unwrap().removed = true);
    edit_jsea(&mut b, |j| j.hazard_mut(&pinch).unwrap().removed = true);
    merge_both_ways(&mut a, &mut b);
    for doc in [&a, &b] {
        assert!(jsea_of(doc).hazard_mut(&pinch).unwrap().removed);
    }
}

/// The document object of `steps[step].hazards[hazard]`.
fn hazard_object(doc: &mut RecordDocument, step: usize, hazard: usize) -> ObjId {
    let am = doc.automerge();
    let object = |parent: &ObjId, prop: automerge::Prop| match am.get(parent, prop).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("expected an object, got {other:?}"),
    };
    let body = object(&automerge::ROOT, "jsea".into());
    let steps = object(&body, "steps".into());
    let step = object(&steps, step.into());
    let hazards = object(&step, "hazards".into());
    object(&hazards, hazard.into())
}

#[test]
fn a_concurrent_removal_and_restoration_reads_as_kept() {
    let mut jsea = sample::jsea();
    jsea.steps[1].hazards[0].removed = true;
    let (mut a, mut b) = two_phones(&record(Body::Jsea(jsea)), 0x01, 0xfe);
    // A restores the hazard; B restores it and removes it again, without seeing A's change.
    let writes: [(&mut RecordDocument, &[bool]); 2] = [(&mut a, &[false]), (&mut b, &[false, true])];
    for (doc, values) in writes {
        let hazard = hazard_object(doc, 1, 0);
        for removed in values {
            doc.automerge().put(&hazard, "removed", *removed).unwrap();
            doc.automerge().commit();
        }
    }
    merge_both_ways(&mut a, &mut b);
    for doc in [&a, &b] {
        assert!(!jsea_of(doc).steps[1].hazards[0].removed);
        assert_eq!(
            conflict_values(doc, "jsea.steps[1].hazards[0].removed"),
            vec!["false", "true"]
        );
    }
}

/// Another automerge client (the JavaScript library writes strings as text objects by default)
/// edits a record: its text fields, in the header, the body and inside list items, still read,
/// and the record keeps working with this core's own edits.
#[test]
fn a_record_whose_strings_are_text_objects_is_readable() {
    use automerge::{AutoCommit, ObjType};
    let original = record(Body::Jsea(sample::jsea()));
    let mut doc = RecordDocument::create(ActorId::random(), "lead", &original, 5_000).unwrap();
    let mut foreign = AutoCommit::load(&doc.save()).unwrap();
    let as_text = |doc: &mut AutoCommit, obj: &ObjId, key: &str, text: &str| {
        let t = doc.put_object(obj, key, ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, text).unwrap();
    };
    let (_, header) = foreign.get(automerge::ROOT, "header").unwrap().unwrap();
    as_text(&mut foreign, &header, "site_id", "site-4-12");
    let (_, body) = foreign.get(automerge::ROOT, "jsea").unwrap().unwrap();
    as_text(
        &mut foreign,
        &body,
        "task",
        "Replace the wellhead valve, by another app",
    );
    as_text(&mut foreign, &body, "status", "draft");
    let (_, steps) = foreign.get(&body, "steps").unwrap().unwrap();
    let (_, first_step) = foreign.get(&steps, 0).unwrap().unwrap();
    as_text(&mut foreign, &first_step, "description", "Isolate the line");

    let mut read = RecordDocument::load(&foreign.save(), ActorId::random()).expect("loads");
    let record = read.record().expect("a record with text objects reads");
    assert_eq!(record.header, original.header);
    let Body::Jsea(j) = &record.body else {
        panic!("a JSEA")
    };
    assert_eq!(j.task, "Replace the wellhead valve, by another app");
    assert_eq!(j.steps[0].description, "Isolate the line");
    assert!(
        validate::validate(&record)
            .iter()
            .all(|f| f.rule != "jsea.task_required")
    );

    // This core's next edit writes plain strings again and loses nothing the other app wrote.
    read.update("lead", 6_000, |r| {
        let Body::Jsea(j) = &mut r.body else {
            unreachable!()
        };
        j.muster_point = "Gate 2".into();
        Ok(())
    })
    .expect("edit");
    let Body::Jsea(after) = read.record().expect("reads").body else {
        panic!("a JSEA")
    };
    assert_eq!(after.task, "Replace the wellhead valve, by another app");
    assert_eq!(after.muster_point, "Gate 2");
}
