//! The facade called as the shells call it, on real SQLite files. The full field day against a
//! live server runs from Python and Kotlin (scripts/test-bindings.sh).

use crate::kinds::jsea::ControlLevel;
use crate::types::{GpsFix, ListFilter, RecordBody, RecordKind, Stamp};
use crate::{MusterError, MusterStore};

fn stamp(wall_ms: i64) -> Stamp {
    Stamp {
        wall_ms,
        monotonic_ms: wall_ms - 1_700_000_000_000,
        boot_id: "boot-1".into(),
        fix: Some(GpsFix {
            lat: 55.17,
            lon: -118.79,
            accuracy_m: 6.0,
            fix_time_ms: wall_ms - 2_000,
            provider: "gps".into(),
            mock: false,
        }),
    }
}

fn signed_in_store(dir: &tempfile::TempDir) -> std::sync::Arc<MusterStore> {
    let path = dir.path().join("phone.db");
    {
        let mut core = sync_core::Store::open(&path).expect("core store");
        core.sign_in(sync_core::Profile {
            user_id: "u-lead".into(),
            tenant_id: "t-1".into(),
            display_name: "Crew Lead".into(),
        })
        .expect("sign in");
    }
    MusterStore::new(path.display().to_string()).expect("store opens")
}

#[test]
fn reports_the_crate_version() {
    assert_eq!(crate::core_version(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_jsea_is_filled_blocked_then_completed_with_findings_and_stamps_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let t0 = 1_790_000_000_000;
    let id = store
        .create_jsea(
            "site-1".into(),
            None,
            "Replace wellhead valve".into(),
            "North gate".into(),
            stamp(t0),
        )
        .expect("create");
    let step = store
        .add_step(id.clone(), "Isolate and bleed".into())
        .expect("step");
    let hazard = store
        .add_hazard(id.clone(), step.clone(), "Trapped pressure".into(), 4, 3)
        .expect("hazard");
    store
        .add_control(
            id.clone(),
            hazard.clone(),
            "Face shield".into(),
            ControlLevel::Ppe,
        )
        .expect("control");

    // PPE only, no justification, nobody signed: completion is refused with the findings.
    let err = store
        .complete(id.clone(), stamp(t0 + 60_000))
        .expect_err("blocked");
    let MusterError::Blocked { reason, findings } = err else {
        panic!("expected Blocked, got {err:?}");
    };
    let rules: Vec<_> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(
        rules.contains(&"jsea.ppe_only_without_justification"),
        "{rules:?}"
    );
    assert!(rules.contains(&"jsea.crew_signature_required"), "{rules:?}");
    assert!(reason.contains("no justification"), "{reason}");

    store
        .set_ppe_justification(
            id.clone(),
            hazard,
            Some("Valve design leaves no other option".into()),
        )
        .expect("justify");
    store.sign(id.clone(), stamp(t0 + 120_000)).expect("sign");
    store.complete(id.clone(), stamp(t0 + 180_000)).expect("complete");

    let view = store.record(id.clone()).expect("view");
    assert_eq!(view.status, "completed");
    assert!(view.pending_sync);
    let RecordBody::Jsea { form } = view.body else {
        panic!("not a JSEA");
    };
    assert_eq!(form.signatures.len(), 1);
    assert_eq!(form.steps[0].hazards[0].controls[0].level, ControlLevel::Ppe);
    assert_eq!(
        view.header.created.fix.as_ref().map(|f| f.provider.as_str()),
        Some("gps")
    );
    assert_eq!(store.pending_count().expect("pending"), 1);

    let rows = store
        .list(ListFilter {
            kind: Some(RecordKind::Jsea),
            status: Some("completed".into()),
            ..ListFilter::default()
        })
        .expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
}

#[test]
fn wrong_kind_unknown_ids_and_foreign_files_are_public_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let id = store
        .create_near_miss(
            "site-1".into(),
            None,
            "Load swung toward a worker".into(),
            1_790_000_000_000,
            crate::kinds::near_miss::Severity::High,
            false,
            stamp(1_790_000_100_000),
        )
        .expect("near-miss");
    assert!(matches!(
        store.add_step(id.clone(), "nope".into()),
        Err(MusterError::Invalid { .. })
    ));
    assert!(matches!(
        store.set_item_result(id, "missing".into(), None),
        Err(MusterError::Invalid { .. })
    ));
    assert!(matches!(
        store.record("no-such-record".into()),
        Err(MusterError::NotFound { .. })
    ));

    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "shopping list: gloves, flagging tape, coffee").expect("write");
    let err = MusterStore::new(junk.display().to_string()).expect_err("refused");
    assert!(matches!(err, MusterError::StoreUnusable { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(&junk).expect("read"),
        "shopping list: gloves, flagging tape, coffee"
    );
}

#[test]
fn nothing_can_be_written_before_sign_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = MusterStore::new(dir.path().join("new.db").display().to_string()).expect("open");
    assert!(store.profile().is_none());
    let err = store
        .create_jsea("site".into(), None, "task".into(), "gate".into(), stamp(1))
        .expect_err("not signed in");
    assert!(matches!(err, MusterError::NotSignedIn { .. }), "{err:?}");
}

#[test]
fn a_damaged_store_is_refused_then_recovered_in_place_with_its_unsynced_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let id = store
        .create_near_miss(
            "site-1".into(),
            None,
            "Pipe rolled off the rack".into(),
            1_790_000_000_000,
            crate::kinds::near_miss::Severity::Medium,
            true,
            stamp(1_790_000_100_000),
        )
        .expect("near-miss");
    let path = store.path().display().to_string();
    drop(store);

    let mut bytes = std::fs::read(&path).expect("read");
    bytes[..100].fill(0);
    std::fs::write(&path, &bytes).expect("damage the header");
    let err = MusterStore::new(path.clone()).expect_err("refused");
    assert!(matches!(err, MusterError::StoreUnusable { .. }), "{err:?}");

    let report = crate::recover_store(path.clone(), path.clone()).expect("recover");
    assert_eq!(report.records_recovered, vec![id.clone()]);
    assert_eq!(report.pending_recovered, vec![id.clone()]);
    assert!(report.pending_lost.is_empty() && report.records_lost.is_empty());
    assert!(report.profile_recovered && report.header_rebuilt);
    assert_eq!(
        std::fs::read(&report.damaged_moved_to).expect("kept aside"),
        bytes
    );

    let store = MusterStore::new(path).expect("the recovered store opens");
    assert_eq!(store.profile().map(|p| p.user_id), Some("u-lead".into()));
    let pending = store.pending().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].record_id, id);
    assert_eq!(pending[0].title, "Pipe rolled off the rack");
    assert!(pending[0].never_synced);
}

#[test]
fn a_corrective_action_is_raised_resolved_and_refused_to_its_own_resolver() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let t0 = 1_790_000_000_000;
    let day = 86_400_000;
    let id = store
        .create_corrective_action(
            "site-1".into(),
            None,
            "Handrail loose on the tank stairs".into(),
            "Re-weld the handrail bracket".into(),
            "u-lead".into(),
            None,
            t0,
            stamp(t0),
        )
        .expect("create");
    let err = store
        .complete(id.clone(), stamp(t0 + 1))
        .expect_err("no due date");
    let MusterError::Blocked { findings, .. } = err else {
        panic!("expected Blocked, got {err:?}");
    };
    let rules: Vec<_> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["corrective_action.due_date_required"]);
    store
        .set_field(id.clone(), "assignment/due_ms".into(), (t0 + 7 * day).to_string())
        .expect("due date");
    store.complete(id.clone(), stamp(t0 + 2)).expect("raise");
    assert_eq!(store.record(id.clone()).expect("view").status, "open");

    let err = store.sign(id.clone(), stamp(t0 + 3)).expect_err("no note");
    assert!(matches!(err, MusterError::Invalid { .. }), "{err:?}");
    store
        .set_field(
            id.clone(),
            "resolution_note".into(),
            "\"Bracket re-welded\"".into(),
        )
        .expect("note");
    store.sign(id.clone(), stamp(t0 + 4)).expect("resolve");
    let err = store
        .approve(id.clone(), None, stamp(t0 + 5))
        .expect_err("own resolution");
    let MusterError::NotAllowedNow { reason } = err else {
        panic!("expected NotAllowedNow, got {err:?}");
    };
    assert!(reason.contains("cannot verify it"), "{reason}");
    let row = &store
        .list(ListFilter {
            kind: Some(RecordKind::CorrectiveAction),
            ..ListFilter::default()
        })
        .expect("list")[0];
    assert_eq!(
        (row.status.as_str(), row.assignee.as_deref(), row.due_at_ms),
        ("resolved", Some("u-lead"), Some(t0 + 7 * day))
    );
}

#[test]
fn an_orientation_is_acknowledged_topic_by_topic_and_signed_by_its_worker() {
    use crate::kinds::orientation::orientation_topics;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let t0 = 1_790_000_000_000;
    let id = store
        .create_orientation(
            "site-1".into(),
            None,
            "u-lead".into(),
            "Sam Supervisor".into(),
            stamp(t0),
        )
        .expect("create");
    let topics = orientation_topics();
    assert_eq!(topics.len(), 4);
    let blocking = store.validate(id.clone()).expect("findings");
    let unacknowledged = blocking
        .iter()
        .filter(|f| f.rule == "orientation.topic_unacknowledged")
        .count();
    assert_eq!(unacknowledged, 4);
    for t in &topics {
        store.acknowledge_topic(id.clone(), t.topic).expect("acknowledge");
    }
    store.sign(id.clone(), stamp(t0 + 1)).expect("sign");
    store.complete(id.clone(), stamp(t0 + 2)).expect("complete");
    assert_eq!(store.record(id).expect("view").status, "signed");
}

#[test]
fn the_checklist_editor_fills_an_inspection_and_refuses_a_kind_without_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = signed_in_store(&dir);
    let t0 = 1_790_000_000_000;
    let body =
        r#"{"title": "Weekly site inspection", "inspector_id": "u-lead", "items": [], "status": "draft"}"#;
    let id = store
        .create_record(
            RecordKind::Inspection,
            "site-1".into(),
            None,
            body.into(),
            stamp(t0),
        )
        .expect("create");
    let exits = store
        .add_checklist_item(id.clone(), "Exits clear".into(), false)
        .expect("item");
    store
        .set_item_result(id.clone(), exits.clone(), Some(crate::types::ItemResult::Fail))
        .expect("fail");
    store
        .set_defect_note(id.clone(), exits, Some("Pallets stacked at the east door".into()))
        .expect("note");
    store.sign(id.clone(), stamp(t0 + 1)).expect("sign off");
    store.complete(id.clone(), stamp(t0 + 2)).expect("complete");
    assert_eq!(store.record(id).expect("view").status, "completed");

    let talk = store
        .create_orientation("site-1".into(), None, "u-lead".into(), "Sam".into(), stamp(t0))
        .expect("orientation");
    let err = store
        .add_checklist_item(talk, "Brakes".into(), true)
        .expect_err("no checklist");
    let MusterError::Invalid { reason } = err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(reason.contains("has no checklist"), "{reason}");
}
