//! The device store on real SQLite files: durability, projection, outbox, refusal of foreign files.

use sync_core::model::{ApprovalDecision, Body, ItemResult, JseaStatus};
use sync_core::store::COMPACT_AFTER_CHUNKS;
use sync_core::{Error, ListFilter, Profile, Stamp, Store, flags, sample, schema};

fn stamp(wall_ms: i64) -> Stamp {
    Stamp::new(wall_ms, wall_ms / 10, "boot-1")
}

fn profile(user: &str) -> Profile {
    Profile {
        user_id: user.into(),
        tenant_id: "acme".into(),
        display_name: format!("{user} name"),
    }
}

fn open(dir: &tempfile::TempDir, name: &str, user: &str) -> Store {
    let mut store = Store::open(dir.path().join(name)).unwrap();
    store.sign_in(profile(user)).unwrap();
    store
}

#[test]
fn every_committed_edit_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let id = {
        let mut store = Store::open(&path).unwrap();
        store.sign_in(profile("lead")).unwrap();
        let id = store
            .create("site-a", Some("job-1"), Body::Jsea(sample::jsea()), stamp(1_000))
            .unwrap();
        store.sign(&id, stamp(2_000)).unwrap();
        store
            .edit(&id, |r| {
                let Body::Jsea(j) = &mut r.body else {
                    unreachable!()
                };
                j.muster_point = "North gate".into();
                Ok(())
            })
            .unwrap();
        store.sign(&id, stamp(2_500)).unwrap();
        store.complete(&id, stamp(3_000)).unwrap();
        id
        // Dropped without any shutdown step, as when the app is killed.
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.profile().unwrap().user_id, "lead");
    let view = store.record(&id).unwrap();
    let Body::Jsea(j) = &view.record.body else {
        unreachable!()
    };
    assert_eq!(j.muster_point, "North gate");
    assert_eq!(j.status, JseaStatus::Completed);
    assert!(view.pending_sync);
    assert_eq!(store.pending().unwrap()[0].edits, 5);
}

#[test]
fn listing_filters_come_from_the_projection() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, "p.db", "lead");
    let a = store
        .create("site-a", None, Body::Jsea(sample::jsea()), stamp(1_000))
        .unwrap();
    let b = store
        .create(
            "site-b",
            None,
            Body::NearMiss(sample::near_miss(500)),
            stamp(2_000),
        )
        .unwrap();
    let c = store
        .create(
            "site-a",
            None,
            Body::PreStart(sample::prestart("lead")),
            stamp(3_000),
        )
        .unwrap();
    store.start_work(&a, stamp(4_000)).unwrap();

    let ids = |f: ListFilter| {
        store
            .list(&f)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(ListFilter::default()), vec![c.clone(), b.clone(), a.clone()]);
    assert_eq!(
        ids(ListFilter {
            site_id: Some("site-a".into()),
            ..Default::default()
        }),
        vec![c.clone(), a.clone()]
    );
    assert_eq!(
        ids(ListFilter {
            kind: Some("near_miss".into()),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(ListFilter {
            status: Some("work_started".into()),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    assert_eq!(
        ids(ListFilter {
            flag: Some(flags::codes::WORK_STARTED_WITHOUT_APPROVAL.into()),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    assert_eq!(
        ids(ListFilter {
            created_from_ms: Some(2_000),
            created_to_ms: Some(3_000),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(ListFilter {
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        }),
        vec![b]
    );
    let row = &store
        .list(&ListFilter {
            kind: Some("pre_start".into()),
            ..Default::default()
        })
        .unwrap()[0];
    assert_eq!(row.title, "Pre-start PU-14 (Ford F-350)");
    assert_eq!(row.blocking_findings, 7, "six unanswered items and no sign-off");
}

#[test]
fn a_prestart_with_a_failed_critical_item_puts_the_unit_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, "p.db", "op");
    let id = store
        .create("site-a", None, Body::PreStart(sample::prestart("op")), stamp(1))
        .unwrap();
    store
        .edit(&id, |r| {
            let Body::PreStart(p) = &mut r.body else {
                unreachable!()
            };
            for item in &mut p.items {
                item.result = Some(ItemResult::Pass);
            }
            p.items[0].result = Some(ItemResult::Fail);
            Ok(())
        })
        .unwrap();
    store.sign(&id, stamp(2)).unwrap();
    let err = store.complete(&id, stamp(3)).unwrap_err();
    assert!(
        err.to_string().contains("'Brakes' failed: describe the defect"),
        "{err}"
    );
    store
        .edit(&id, |r| {
            let Body::PreStart(p) = &mut r.body else {
                unreachable!()
            };
            p.items[0].defect_note = Some("Pedal goes to the floor".into());
            Ok(())
        })
        .unwrap();
    store.sign(&id, stamp(4)).unwrap();
    store.complete(&id, stamp(5)).unwrap();
    let view = store.record(&id).unwrap();
    assert_eq!(view.flags[0].code, flags::codes::OUT_OF_SERVICE);
    assert_eq!(view.flags[0].evidence["defect_note"], "Pedal goes to the floor");
}

#[test]
fn blocked_completion_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, "p.db", "lead");
    let id = store
        .create("site-a", None, Body::Jsea(sample::jsea()), stamp(1))
        .unwrap();
    store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.task = "Typed offline, must not vanish".into();
            Ok(())
        })
        .unwrap();
    let Err(Error::Blocked(findings)) = store.complete(&id, stamp(2)) else {
        panic!("expected Blocked")
    };
    assert_eq!(findings[0].rule, "jsea.crew_signature_required");
    let view = store.record(&id).unwrap();
    let Body::Jsea(j) = &view.record.body else {
        unreachable!()
    };
    assert_eq!(j.task, "Typed offline, must not vanish");
    assert_eq!(j.status, JseaStatus::Draft);
}

#[test]
fn chunks_compact_into_a_snapshot_without_changing_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, "p.db", "lead");
    let id = store
        .create("site-a", None, Body::NearMiss(sample::near_miss(1)), stamp(1))
        .unwrap();
    for i in 0..(COMPACT_AFTER_CHUNKS + 5) {
        store
            .edit(&id, |r| {
                let Body::NearMiss(n) = &mut r.body else {
                    unreachable!()
                };
                n.immediate_actions = Some(format!("action {i}"));
                Ok(())
            })
            .unwrap();
    }
    let before = store.record(&id).unwrap().record;
    store.compact(&id).unwrap();
    assert_eq!(store.record(&id).unwrap().record, before);
    let Body::NearMiss(n) = before.body else {
        unreachable!()
    };
    assert_eq!(n.immediate_actions.as_deref(), Some("action 36"));
}

#[test]
fn a_new_records_projection_matches_its_document_read_back() {
    // `create` writes the projection from the record in hand rather than reading the new
    // document back; a phone that receives the document must list it identically.
    let dir = tempfile::tempdir().unwrap();
    let mut lead = open(&dir, "lead.db", "lead");
    let mut office = open(&dir, "office.db", "office");
    let mut jsea = sample::jsea();
    jsea.muster_point = "  North gate\u{301} ".into();
    let bodies = [
        Body::Jsea(jsea),
        Body::PreStart(sample::prestart("lead")),
        Body::NearMiss(sample::near_miss(500)),
    ];
    for body in bodies {
        let id = lead
            .create("site-a", Some("job-1"), body.clone(), stamp(1_000))
            .unwrap();
        office.merge_from(&lead, &id).unwrap();
        assert_eq!(lead.record(&id).unwrap().record.body, body);
    }
    let all = ListFilter::default();
    assert_eq!(lead.list(&all).unwrap(), office.list(&all).unwrap());
    assert_eq!(lead.list(&all).unwrap().len(), 3);
}

#[test]
fn a_record_received_whole_or_as_bare_changes_is_stored_and_editable() {
    let dir = tempfile::tempdir().unwrap();
    let mut lead = open(&dir, "lead.db", "lead");
    let id = lead
        .create("site-a", None, Body::Jsea(sample::jsea()), stamp(1))
        .unwrap();
    lead.sign(&id, stamp(2)).unwrap();
    let mut doc = lead.document(&id).unwrap();
    // A saved document is kept as it came; bare changes are saved into a snapshot. Both must
    // reopen as the same record and take the next edit.
    let received = [("whole.db", doc.save()), ("changes.db", doc.save_after(&[]))];
    for (name, bytes) in &received {
        open(&dir, name, "w1").merge_remote(&id, bytes).unwrap();
        let mut phone = Store::open(dir.path().join(name)).unwrap();
        assert_eq!(
            phone.record(&id).unwrap().record,
            lead.record(&id).unwrap().record,
            "{name}"
        );
        phone.sign(&id, stamp(3)).unwrap();
        let view = phone.record(&id).unwrap();
        let Body::Jsea(j) = &view.record.body else {
            unreachable!()
        };
        assert_eq!(
            j.signatures.keys().collect::<Vec<_>>(),
            vec!["lead", "w1"],
            "{name}"
        );
    }
}

#[test]
fn two_phones_merge_a_jsea_and_a_supervisor_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut lead = open(&dir, "lead.db", "lead");
    let mut worker = open(&dir, "worker.db", "w1");
    let mut sup = open(&dir, "sup.db", "sup");
    let id = lead
        .create("site-a", None, Body::Jsea(sample::jsea()), stamp(1))
        .unwrap();
    worker.merge_from(&lead, &id).unwrap();
    lead.sign(&id, stamp(2)).unwrap();
    worker.sign(&id, stamp(3)).unwrap();
    lead.merge_from(&worker, &id).unwrap();
    // Both joined the crew concurrently; signatures bind the work, not the crew list, so both
    // stand. The lead signing the merged record again changes nothing but the stamp.
    lead.sign(&id, stamp(4)).unwrap();
    let view = lead.record(&id).unwrap();
    let Body::Jsea(j) = &view.record.body else {
        unreachable!()
    };
    assert_eq!(j.signatures.keys().collect::<Vec<_>>(), vec!["lead", "w1"]);
    assert_eq!(view.authors.len(), 2);
    lead.complete(&id, stamp(5)).unwrap();
    sup.merge_from(&lead, &id).unwrap();
    sup.decide(&id, ApprovalDecision::Approved, None, stamp(6))
        .unwrap();
    lead.merge_from(&sup, &id).unwrap();
    let view = lead.record(&id).unwrap();
    let Body::Jsea(j) = &view.record.body else {
        unreachable!()
    };
    assert_eq!(j.status, JseaStatus::Approved);
    assert_eq!(j.approval.as_ref().unwrap().by_name, "sup name");
}

#[test]
fn a_foreign_or_damaged_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.db");
    std::fs::write(&text, b"shopping list: gloves, flagging tape").unwrap();
    let err = Store::open(&text).unwrap_err();
    assert!(matches!(err, Error::ForeignDatabase { .. }), "{err}");
    assert!(err.to_string().contains("not an SQLite database"));
    assert_eq!(
        std::fs::read(&text).unwrap(),
        b"shopping list: gloves, flagging tape"
    );

    let other_app = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other_app).unwrap();
        conn.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');")
            .unwrap();
    }
    let before = std::fs::read(&other_app).unwrap();
    let err = Store::open(&other_app).unwrap_err();
    assert!(matches!(err, Error::ForeignDatabase { .. }), "{err}");
    assert_eq!(std::fs::read(&other_app).unwrap(), before);

    // A Muster store whose pages were overwritten in the middle.
    let damaged = dir.path().join("damaged.db");
    {
        let mut store = open(&dir, "damaged.db", "lead");
        for i in 0..50 {
            store
                .create("site-a", None, Body::NearMiss(sample::near_miss(i + 1)), stamp(i))
                .unwrap();
        }
    }
    let mut bytes = std::fs::read(&damaged).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len.min(4096 * 6)] {
        *b = 0xA5;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let outcome = Store::open(&damaged).and_then(|s| {
        s.check_integrity()?;
        s.list(&ListFilter::default())
    });
    let err = outcome.unwrap_err();
    assert!(
        matches!(err, Error::CorruptDatabase { .. } | Error::Sqlite(_)),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        bytes,
        "a damaged store is never overwritten"
    );
}

#[test]
fn a_store_from_a_newer_app_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
}

#[test]
fn an_upgraded_store_matches_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(Store::open(&fresh).unwrap());
    // Every older version this build can meet, brought forward step by step.
    for version in schema::OLDEST_UPGRADABLE..schema::VERSION {
        let old = dir.path().join(format!("v{version}.db"));
        {
            let conn = rusqlite::Connection::open(&old).unwrap();
            conn.execute_batch(&schema::historical(version).unwrap()).unwrap();
            conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        drop(Store::open(&old).unwrap());
        let a = rusqlite::Connection::open(&old).unwrap();
        let b = rusqlite::Connection::open(&fresh).unwrap();
        assert_eq!(
            schema::dump(&a).unwrap(),
            schema::dump(&b).unwrap(),
            "upgrade from v{version}"
        );
    }
    let b = rusqlite::Connection::open(&fresh).unwrap();
    let v: u32 = b.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, schema::VERSION);
}

#[test]
fn an_update_that_builds_on_missing_history_is_set_aside_for_reconciliation() {
    use sync_core::sync::plan::Action;
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(&dir, "a.db", "lead");
    let mut b = open(&dir, "b.db", "w1");
    let id = a
        .create("site-a", None, Body::NearMiss(sample::near_miss(1)), stamp(1))
        .unwrap();
    let mut doc = a.document(&id).unwrap();
    let before = doc.heads();
    a.edit(&id, |r| {
        let Body::NearMiss(n) = &mut r.body else {
            unreachable!()
        };
        n.immediate_actions = Some("Barricaded".into());
        Ok(())
    })
    .unwrap();
    let chunk = a.document(&id).unwrap().save_after(&before);

    let applied = b
        .apply_sync(
            vec![
                Action::Apply {
                    id: id.clone(),
                    bytes: chunk,
                },
                Action::Apply {
                    id: "damaged".into(),
                    bytes: b"\x85\x6f\x4a\x83 not a change".to_vec(),
                },
            ],
            (7, 99),
        )
        .unwrap();
    assert_eq!(applied.received, 2);
    let mut expected = vec!["damaged".to_string(), id.clone()];
    expected.sort();
    assert_eq!(b.fallback_ids().unwrap(), expected);
    assert!(b.record(&id).is_err(), "nothing half-applied");
    assert_eq!(b.cursor_with_check().unwrap(), (7, 99));
}

/// A version 2 store's records gain the new projection columns from their documents when the
/// store is upgraded: a closed JSEA lists as closed at once, before any further edit.
#[test]
fn upgrading_to_the_generic_projection_projects_every_record_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let id = {
        let mut store = open(&dir, "v2.db", "lead");
        let id = store
            .create("site-a", None, Body::Jsea(sample::jsea()), stamp(1))
            .unwrap();
        store.close(&id, stamp(2)).unwrap();
        id
    };
    {
        // Back to version 2's shape: without the columns version 3 added.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP INDEX records_by_assignee; DROP INDEX records_by_due;
             ALTER TABLE records DROP COLUMN closed_at_ms; ALTER TABLE records DROP COLUMN assignee;
             ALTER TABLE records DROP COLUMN due_at_ms; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let closed = store
        .list(&sync_core::ListFilter {
            closed: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].id, id);
    assert_eq!(closed[0].closed_at_ms, Some(stamp(2).wall_ms));
}

#[test]
fn a_persons_own_alerts_are_judged_at_the_phones_clock_and_name_only_their_records() {
    const DAY: i64 = 86_400_000;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, "alerts.db", "lead");
    let t0 = 1_780_000_000_000;
    let mine = store
        .create(
            "site-1",
            None,
            Body::CorrectiveAction(sample::corrective_action("lead", t0, t0 + 7 * DAY)),
            stamp(t0),
        )
        .unwrap();
    store.complete(&mine, stamp(t0 + 1)).unwrap();
    let theirs = store
        .create(
            "site-1",
            None,
            Body::CorrectiveAction(sample::corrective_action("sam", t0, t0 + 7 * DAY)),
            stamp(t0),
        )
        .unwrap();
    store.complete(&theirs, stamp(t0 + 1)).unwrap();
    assert!(
        store.alerts_for("lead", t0 + 6 * DAY).unwrap().is_empty(),
        "not due yet"
    );
    let alerts = store.alerts_for("lead", t0 + 9 * DAY).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].0.id, mine);
    assert_eq!(alerts[0].1.code, "corrective_action.overdue");
    // The stored row and the record's own flags carry no time-bound flag.
    assert!(store.record(&mine).unwrap().flags.is_empty());
    assert!(
        store
            .list(&ListFilter::default())
            .unwrap()
            .iter()
            .all(|r| r.flags.is_empty())
    );
}
