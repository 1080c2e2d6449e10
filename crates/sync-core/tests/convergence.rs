//! Property: random concurrent edits on three devices, merged in any order, converge to the same
//! record, the same projection, the same findings, flags and conflicts, and the safety-aware merge
//! rules hold in the result.

use automerge::ActorId;
use proptest::prelude::*;
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{
    Body, Control, ControlLevel, Header, ItemResult, Jsea, Record, SCHEMA_VERSION, Severity,
};
use sync_core::{Projection, RecordDocument, Stamp, flags, sample, validate};

#[derive(Debug, Clone)]
enum Op {
    AddHazard {
        step: usize,
        severity: u8,
    },
    AddControl {
        pick: usize,
        level: usize,
    },
    RemoveHazard {
        pick: usize,
    },
    EditHazard {
        pick: usize,
    },
    RemoveControl {
        pick: usize,
    },
    RemoveStep {
        step: usize,
    },
    SetRisk {
        pick: usize,
        severity: u8,
        likelihood: u8,
    },
    /// `result` indexes pass, fail, not applicable, unanswered.
    SetResult {
        item: usize,
        result: usize,
    },
    Justify {
        pick: usize,
    },
    EditTask {
        text: u8,
    },
    Sign,
    SetSeverity {
        level: usize,
    },
    /// Device `from` sends its document to this device.
    Receive {
        from: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..=5u8).prop_map(|(step, severity)| Op::AddHazard { step, severity }),
        (0..20usize, 0..5usize).prop_map(|(pick, level)| Op::AddControl { pick, level }),
        (0..20usize).prop_map(|pick| Op::RemoveHazard { pick }),
        (0..20usize).prop_map(|pick| Op::EditHazard { pick }),
        (0..40usize).prop_map(|pick| Op::RemoveControl { pick }),
        (0..3usize).prop_map(|step| Op::RemoveStep { step }),
        (0..20usize, 1..=5u8, 1..=5u8).prop_map(|(pick, severity, likelihood)| Op::SetRisk {
            pick,
            severity,
            likelihood
        }),
        (0..20usize).prop_map(|pick| Op::Justify { pick }),
        (0..4u8).prop_map(|text| Op::EditTask { text }),
        Just(Op::Sign),
        (0..4usize).prop_map(|level| Op::SetSeverity { level }),
        (0..3usize).prop_map(|from| Op::Receive { from }),
    ]
}

/// A pre-start has fewer things to edit: mostly answers, and syncs between them.
fn prestart_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6usize, 0..4usize).prop_map(|(item, result)| Op::SetResult { item, result }),
        1 => (0..3usize).prop_map(|from| Op::Receive { from }),
    ]
}

fn jsea_record() -> Record {
    Record {
        header: Header {
            id: "jsea-1".into(),
            kind: "jsea".into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: "acme".into(),
            site_id: "site-a".into(),
            job_id: None,
            created_by: "u0".into(),
            created: Stamp::new(1, 1, "b"),
        },
        body: Body::Jsea(sample::jsea()),
    }
}

fn near_miss_record() -> Record {
    Record {
        header: Header {
            id: "nm-1".into(),
            kind: "near_miss".into(),
            ..jsea_record().header
        },
        body: Body::NearMiss(sample::near_miss(1)),
    }
}

fn prestart_record() -> Record {
    Record {
        header: Header {
            id: "ps-1".into(),
            kind: "pre_start".into(),
            ..jsea_record().header
        },
        body: Body::PreStart(sample::prestart("u0")),
    }
}

/// The id of the hazard `pick` lands on, counting every hazard in every step.
fn hazard_id(j: &Jsea, pick: usize) -> String {
    let hazards: Vec<&str> = j
        .steps
        .iter()
        .flat_map(|s| s.hazards.iter().map(|h| h.id.as_str()))
        .collect();
    hazards[pick % hazards.len()].to_owned()
}

fn apply(doc: &mut RecordDocument, device: usize, op: &Op, t: i64) {
    let user = format!("u{device}");
    let actor = Actor {
        user_id: user.clone(),
        name: user.clone(),
    };
    let result = doc.update(&user, t, |r| {
        match (&mut r.body, op) {
            (Body::Jsea(j), Op::AddHazard { step, severity }) => {
                let h = sample::hazard(&format!("hazard by {user} at {t}"), *severity, 2, &[]);
                j.steps[*step].hazards.push(h);
            }
            (Body::Jsea(j), Op::AddControl { pick, level }) => {
                let id = &hazard_id(j, *pick);
                let level = ControlLevel::ALL[*level];
                let c = sample::hazard("", 1, 1, &[(&format!("control by {user} at {t}"), level)])
                    .controls
                    .remove(0);
                j.hazard_mut(id).expect("hazard exists").controls.push(c);
            }
            (Body::Jsea(j), Op::RemoveHazard { pick }) => {
                j.hazard_mut(&hazard_id(j, *pick)).expect("hazard exists").removed = true;
            }
            (Body::Jsea(j), Op::EditHazard { pick }) => {
                j.hazard_mut(&hazard_id(j, *pick))
                    .expect("hazard exists")
                    .description = format!("hazard edited by {user} at {t}");
            }
            (Body::Jsea(j), Op::RemoveControl { pick }) => {
                let mut controls: Vec<&mut Control> = j
                    .steps
                    .iter_mut()
                    .flat_map(|s| s.hazards.iter_mut())
                    .flat_map(|h| h.controls.iter_mut())
                    .collect();
                let count = controls.len();
                controls[pick % count].removed = true;
            }
            (Body::Jsea(j), Op::RemoveStep { step }) => j.steps[*step].removed = true,
            (
                Body::Jsea(j),
                Op::SetRisk {
                    pick,
                    severity,
                    likelihood,
                },
            ) => {
                let risk = &mut j.hazard_mut(&hazard_id(j, *pick)).expect("hazard exists").risk;
                risk.severity = *severity;
                risk.likelihood = *likelihood;
            }
            (Body::PreStart(p), Op::SetResult { item, result }) => {
                p.items[*item].result = ItemResult::ALL.get(*result).copied();
            }
            (Body::Jsea(j), Op::Justify { pick }) => {
                j.hazard_mut(&hazard_id(j, *pick))
                    .expect("hazard exists")
                    .ppe_only_justification = Some(format!("justified by {user}"));
            }
            (Body::Jsea(j), Op::EditTask { text }) => j.task = format!("task variant {text}"),
            (Body::Jsea(_), Op::Sign) => lifecycle::sign(r, &actor, Stamp::new(t, t, "b"))?,
            (Body::NearMiss(n), Op::SetSeverity { level }) => n.potential_severity = Severity::ALL[*level],
            _ => {}
        }
        Ok(())
    });
    result.expect("edit applies");
}

/// Everything a reader derives from a document.
fn observed(
    doc: &RecordDocument,
) -> (
    Record,
    Projection,
    Vec<sync_core::Finding>,
    Vec<sync_core::Flag>,
    Vec<sync_core::Conflict>,
) {
    let record = doc.record().unwrap();
    let findings = validate::validate(&record);
    let flags = flags::compute(&record);
    let conflicts = doc.conflicts().unwrap();
    let projection = Projection::of(&record, &flags, &findings, conflicts.len());
    (record, projection, findings, flags, conflicts)
}

fn run(initial: Record, ops: Vec<(usize, Op)>, order: Vec<usize>) {
    let mut origin = RecordDocument::create(ActorId::random(), "u0", &initial, 0).unwrap();
    let bytes = origin.save();
    let mut devices: Vec<RecordDocument> = (0..3)
        .map(|_| RecordDocument::load(&bytes, ActorId::random()).unwrap())
        .collect();
    for (t, (device, op)) in ops.iter().enumerate() {
        if let Op::Receive { from } = op {
            if from != device {
                let sent = devices[*from].save();
                devices[*device].apply_bytes(&sent).unwrap();
            }
        } else {
            apply(&mut devices[*device], *device, op, t as i64 + 10);
        }
    }
    // Each device receives the others' documents in its own order.
    let saved: Vec<Vec<u8>> = devices.iter_mut().map(|d| d.save()).collect();
    for (i, device) in devices.iter_mut().enumerate() {
        for k in 0..3 {
            let from = (order[i] + k) % 3;
            device.apply_bytes(&saved[from]).unwrap();
        }
    }
    let first = observed(&devices[0]);
    for device in &devices[1..] {
        assert_eq!(observed(device), first);
    }
    rules_hold(&first.0, &first.4);
    // A fresh install receiving only the merged bytes sees the same.
    let mut merged = RecordDocument::load(&devices[2].save(), ActorId::random()).unwrap();
    assert_eq!(observed(&merged), first);
    assert_eq!(merged.heads().len(), devices[0].heads().len());
}

/// The list indexes in a conflict path such as `jsea.steps[1].hazards[0].risk.severity`.
fn indexes(path: &str) -> Vec<usize> {
    path.split('[')
        .skip(1)
        .filter_map(|part| part.split(']').next()?.parse().ok())
        .collect()
}

/// Where authors disagree, the merged record reads as the least safe of what they said.
fn rules_hold(record: &Record, conflicts: &[sync_core::Conflict]) {
    for conflict in conflicts {
        let at = indexes(&conflict.path);
        let values = &conflict.values;
        match &record.body {
            Body::PreStart(p) if conflict.path.ends_with(".result") && values.iter().any(|v| v == "fail") => {
                assert_eq!(p.items[at[0]].result, Some(ItemResult::Fail), "{conflict:?}");
            }
            Body::Jsea(j) if conflict.path.contains(".risk.") => {
                let risk = j.steps[at[0]].hazards[at[1]].risk;
                let read = if conflict.path.ends_with(".severity") {
                    risk.severity
                } else {
                    risk.likelihood
                };
                let highest = values.iter().filter_map(|v| v.parse::<u8>().ok()).max();
                assert_eq!(Some(read), highest, "{conflict:?}");
            }
            Body::Jsea(j) if conflict.path.ends_with(".removed") && values.iter().any(|v| v == "false") => {
                let step = &j.steps[at[0]];
                let removed = match at[1..] {
                    [] => step.removed,
                    [h] => step.hazards[h].removed,
                    [h, c] => step.hazards[h].controls[c].removed,
                    _ => unreachable!("{conflict:?}"),
                };
                assert!(!removed, "{conflict:?}");
            }
            Body::NearMiss(n) if conflict.path.ends_with(".potential_severity") => {
                let highest = values.iter().filter_map(|v| Severity::parse(v)).max();
                assert_eq!(Some(n.potential_severity), highest, "{conflict:?}");
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn jsea_edits_converge(ops in prop::collection::vec((0..3usize, op()), 1..40), order in prop::collection::vec(0..3usize, 3)) {
        run(jsea_record(), ops, order);
    }

    #[test]
    fn prestart_edits_converge(ops in prop::collection::vec((0..3usize, prestart_op()), 1..30), order in prop::collection::vec(0..3usize, 3)) {
        run(prestart_record(), ops, order);
    }

    #[test]
    fn near_miss_edits_converge(ops in prop::collection::vec((0..3usize, op()), 1..30), order in prop::collection::vec(0..3usize, 3)) {
        run(near_miss_record(), ops, order);
    }
}
