//! Property: random concurrent edits on three devices, merged in any order, converge to the same
//! record, the same projection, the same findings, flags and conflicts.

use automerge::ActorId;
use proptest::prelude::*;
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{Body, ControlLevel, Header, Record, SCHEMA_VERSION, Severity};
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
        (0..20usize).prop_map(|pick| Op::Justify { pick }),
        (0..4u8).prop_map(|text| Op::EditTask { text }),
        Just(Op::Sign),
        (0..4usize).prop_map(|level| Op::SetSeverity { level }),
        (0..3usize).prop_map(|from| Op::Receive { from }),
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
                let hazards: Vec<String> = j
                    .steps
                    .iter()
                    .flat_map(|s| s.hazards.iter().map(|h| h.id.clone()))
                    .collect();
                let id = &hazards[pick % hazards.len()];
                let level = ControlLevel::ALL[*level];
                let c = sample::hazard("", 1, 1, &[(&format!("control by {user} at {t}"), level)])
                    .controls
                    .remove(0);
                j.hazard_mut(id).expect("hazard exists").controls.push(c);
            }
            (Body::Jsea(j), Op::RemoveHazard { pick }) => {
                let hazards: Vec<String> = j
                    .steps
                    .iter()
                    .flat_map(|s| s.hazards.iter().map(|h| h.id.clone()))
                    .collect();
                j.hazard_mut(&hazards[pick % hazards.len()])
                    .expect("hazard exists")
                    .removed = true;
            }
            (Body::Jsea(j), Op::Justify { pick }) => {
                let hazards: Vec<String> = j
                    .steps
                    .iter()
                    .flat_map(|s| s.hazards.iter().map(|h| h.id.clone()))
                    .collect();
                j.hazard_mut(&hazards[pick % hazards.len()])
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
    // A fresh install receiving only the merged bytes sees the same.
    let mut merged = RecordDocument::load(&devices[2].save(), ActorId::random()).unwrap();
    assert_eq!(observed(&merged), first);
    assert_eq!(merged.heads().len(), devices[0].heads().len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn jsea_edits_converge(ops in prop::collection::vec((0..3usize, op()), 1..40), order in prop::collection::vec(0..3usize, 3)) {
        run(jsea_record(), ops, order);
    }

    #[test]
    fn near_miss_edits_converge(ops in prop::collection::vec((0..3usize, op()), 1..30), order in prop::collection::vec(0..3usize, 3)) {
        run(near_miss_record(), ops, order);
    }
}
