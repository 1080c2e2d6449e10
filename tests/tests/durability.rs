//! A reinstall that kept no local data loses only what the server never acknowledged, and the app
//! could have listed exactly that beforehand.

use std::collections::{BTreeMap, BTreeSet};

use e2e_tests::{Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::{Record, sample};

const LEAD: &str = "lead@acme.test";

fn set_task(phone: &mut Phone, id: &str, task: &str) {
    phone
        .store
        .edit(id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.task = task.into();
            Ok(())
        })
        .expect("edit");
}

fn records(phone: &Phone) -> BTreeMap<String, Record> {
    phone
        .store
        .record_ids()
        .expect("ids")
        .into_iter()
        .map(|id| {
            let record = phone.store.record(&id).expect("record").record;
            (id, record)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinstall_loses_exactly_the_unacknowledged_edits_the_app_listed() {
    let server = TestServer::start().await;
    let company = server.company("Acme Energy", &[(LEAD, Role::Worker, &[0])]);
    let old_install = tempfile::tempdir().expect("dir");
    let mut phone = Phone::sign_in(&server, &old_install, LEAD).await;

    // Morning: three JSEAs and a near-miss, synced at the truck.
    let jsea = |phone: &mut Phone, task: &str, minute| {
        let mut body = sample::jsea();
        body.task = task.into();
        phone
            .store
            .create(&company.site_a, Some("WO-9"), Body::Jsea(body), at(minute))
            .expect("create")
    };
    let edited_after_sync = jsea(&mut phone, "Pull rods on well 4", 0);
    let untouched = jsea(&mut phone, "Hot oil the flowline", 5);
    let edited_and_synced = jsea(&mut phone, "Change out the choke", 10);
    phone.sync().await;
    set_task(
        &mut phone,
        &edited_and_synced,
        "Change out the choke and the seat",
    );
    let near_miss = phone
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(1_795_000_000_000)),
            at(20),
        )
        .expect("near-miss");
    phone.sync().await;
    assert!(phone.store.pending().expect("pending").is_empty());
    let acknowledged = records(&phone);

    // Afternoon, no signal: more edits and a new record that never reach the server.
    set_task(&mut phone, &edited_after_sync, "Pull rods on well 4, then swab");
    let never_synced = jsea(&mut phone, "Rig down and move to pad 7", 300);

    // The app lists exactly what would be lost, by record and with what is unsynced about it.
    let pending = phone.store.pending().expect("pending");
    let listed: BTreeSet<String> = pending.iter().map(|p| p.record_id.clone()).collect();
    assert_eq!(
        listed,
        BTreeSet::from([edited_after_sync.clone(), never_synced.clone()])
    );
    let edit = pending
        .iter()
        .find(|p| p.record_id == edited_after_sync)
        .expect("listed");
    assert_eq!(
        (
            edit.kind.as_str(),
            edit.title.as_str(),
            edit.edits,
            edit.never_synced
        ),
        ("jsea", "Pull rods on well 4, then swab", 1, false)
    );
    let new = pending
        .iter()
        .find(|p| p.record_id == never_synced)
        .expect("listed");
    assert_eq!(
        (new.title.as_str(), new.never_synced),
        ("Rig down and move to pad 7", true)
    );

    // The app is reinstalled and its data is gone.
    let path = phone.store.path().to_path_buf();
    drop(phone);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(&file);
    }
    drop(old_install);

    let new_install = tempfile::tempdir().expect("dir");
    let mut phone = Phone::sign_in(&server, &new_install, LEAD).await;
    phone.sync().await;
    let restored = records(&phone);

    // Every acknowledged edit is back, as the server acknowledged it; the listed ones are not.
    assert_eq!(restored, acknowledged);
    assert!(restored.contains_key(&untouched) && restored.contains_key(&near_miss));
    let Body::Jsea(j) = &restored[&edited_and_synced].body else {
        unreachable!()
    };
    assert_eq!(j.task, "Change out the choke and the seat");
    let Body::Jsea(j) = &restored[&edited_after_sync].body else {
        unreachable!()
    };
    assert_eq!(j.task, "Pull rods on well 4");
    assert!(!restored.contains_key(&never_synced));
    assert!(phone.store.pending().expect("pending").is_empty());
    server.stop().await;
}
