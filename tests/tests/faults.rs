//! Fault injection end to end. The promise under test: no edit a device saw acknowledged is ever
//! lost, and every device converges with the server, whatever fails and when.
//!
//! - the server process SIGKILLed at seeded random moments during concurrent syncs, restarted;
//! - a proxy that drops answers, duplicates requests and delivers held requests out of order;
//! - a device process SIGKILLed while it writes;
//! - the server's data directory full, then read-only.
//!
//! Every schedule comes from a seed and prints it when it fails. `MUSTER_FAULT_SCHEDULES` sets how
//! many seeds each test runs (default 4, about a minute on two cores); `MUSTER_FAULT_SEED` the
//! first seed. The long run:
//!
//! ```sh
//! MUSTER_FAULT_SCHEDULES=50 cargo test -p e2e-tests --test faults -- --nocapture
//! ```
//!
//! The server runs as the `fault-server` binary of this package (`server::run`, as `muster-server`
//! runs it), whose path Cargo hands to these tests as `CARGO_BIN_EXE_fault-server`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_tests::faults::{
    self, Device, FaultProxy, FaultRates, ServerProcess, Tmpfs, assert_converged,
    assert_nothing_acknowledged_was_lost, comparable, server_documents,
};
use e2e_tests::{TestServer, get_json};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::sync::RetryPolicy;
use sync_core::{Store, sample};

const LEAD: &str = "lead@faultline.test";
const WORKER: &str = "worker@faultline.test";
const SUPER: &str = "super@faultline.test";
const ADMIN: &str = "office@faultline.test";

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// The seeds every test runs: `MUSTER_FAULT_SCHEDULES` of them from `MUSTER_FAULT_SEED`.
fn seeds() -> std::ops::Range<u64> {
    let first = env_number("MUSTER_FAULT_SEED", 1);
    first..first + env_number("MUSTER_FAULT_SCHEDULES", 4)
}

/// Names the seed of a schedule that panics, so the failure can be replayed alone.
struct SeedReport {
    test: &'static str,
    seed: u64,
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} failed at seed {}: replay with MUSTER_FAULT_SEED={} MUSTER_FAULT_SCHEDULES=1",
                self.test, self.seed, self.seed
            );
        }
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[derive(Debug, Default)]
struct KillFigures {
    kills: u32,
    acknowledgements_checked: usize,
    records: usize,
    syncs_ok: u32,
    syncs_failed: u32,
}

/// Three phones edit and sync concurrently while the server is SIGKILLed and restarted.
async fn server_kill_schedule(seed: u64) -> KillFigures {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).expect("data dir");
    let db = data_dir.join("records.db");
    let company = faults::seed_company(
        &db,
        &[
            (LEAD, Role::Worker),
            (WORKER, Role::Worker),
            (SUPER, Role::Supervisor),
        ],
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_fault-server"));
    let mut server = ServerProcess::start(binary, &data_dir, &dir.path().join("server.log")).await;
    let mut devices = Vec::new();
    for email in [LEAD, WORKER, SUPER] {
        devices.push(Device::sign_in(dir.path(), &server.url(), email, faults::impatient_retries()).await);
    }

    let mut tasks = Vec::new();
    for mut device in devices {
        let (device_seed, edits) = (rng.random::<u64>(), rng.random_range(8..16));
        let site = company.site_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(device_seed);
            for _ in 0..edits {
                device.random_edit(&mut rng, &site, false);
                if rng.random_bool(0.6) {
                    let _ = device.sync().await;
                }
                tokio::time::sleep(ms(rng.random_range(0..30))).await;
            }
            // The last edits may stay queued: the clean round below sends them.
            device
        }));
    }
    // The kills land wherever the phones happen to be: mid-request, mid-commit, between syncs.
    for _ in 0..rng.random_range(2..5) {
        tokio::time::sleep(ms(rng.random_range(5..250))).await;
        server.kill();
        tokio::time::sleep(ms(rng.random_range(0..40))).await;
        server.restart().await;
    }
    let mut devices = Vec::new();
    for task in tasks {
        devices.push(task.await.expect("device task"));
    }

    // One more kill, then the store on disk must hold everything any phone saw acknowledged.
    server.kill();
    let context = format!("server-kill seed {seed}");
    let mut on_disk = server_documents(&db);
    let mut checked = assert_nothing_acknowledged_was_lost(&devices, &mut on_disk, &context);
    drop(on_disk);

    server.restart().await;
    for _ in 0..2 {
        for device in &mut devices {
            device
                .sync()
                .await
                .unwrap_or_else(|e| panic!("{context}: clean sync of {} failed: {e}", device.email));
        }
    }
    server.kill();
    let mut on_disk = server_documents(&db);
    checked += assert_nothing_acknowledged_was_lost(&devices, &mut on_disk, &context);
    let records = assert_converged(&devices, &[SUPER], &mut on_disk, &context);
    KillFigures {
        kills: server.kills,
        acknowledgements_checked: checked,
        records,
        syncs_ok: devices.iter().map(|d| d.syncs_ok).sum(),
        syncs_failed: devices.iter().map(|d| d.syncs_failed).sum(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_server_kills_at_random_moments() {
    let started = Instant::now();
    let mut total = KillFigures::default();
    let mut schedules = 0;
    for seed in seeds() {
        let report = SeedReport {
            test: "server kills",
            seed,
        };
        let figures = server_kill_schedule(seed).await;
        drop(report);
        assert!(figures.records > 0, "seed {seed}: the phones made records");
        schedules += 1;
        total.kills += figures.kills;
        total.acknowledgements_checked += figures.acknowledgements_checked;
        total.records += figures.records;
        total.syncs_ok += figures.syncs_ok;
        total.syncs_failed += figures.syncs_failed;
    }
    // How many syncs a kill cuts off depends on timing; that the kills happened does not.
    assert!(
        total.kills >= 3 * schedules,
        "every schedule kills the server: {total:?}"
    );
    eprintln!(
        "server kills: {schedules} schedules, {} kills, {} syncs ok, {} syncs cut off, {} records, \
         {} acknowledgements checked, 0 lost, {:.1} s",
        total.kills,
        total.syncs_ok,
        total.syncs_failed,
        total.records,
        total.acknowledgements_checked,
        started.elapsed().as_secs_f64()
    );
}

/// The same seeded edits by three phones, synced through `proxy_rates`. Returns the server's
/// records by label in comparable form, and the proxy's counts.
async fn proxied_run(
    seed: u64,
    rates: FaultRates,
) -> (BTreeMap<String, serde_json::Value>, (u32, u32, u32, u32)) {
    let context = format!("proxy seed {seed} with {rates:?}");
    let server = TestServer::start().await;
    let company = server.company(
        "Fault Line Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (WORKER, Role::Worker, &[0]),
            (SUPER, Role::Supervisor, &[0]),
        ],
    );
    let proxy = FaultProxy::start(&server.url, rates, seed).await;
    // Patient enough that no sync gives up: the runs stay comparable edit for edit.
    let patient = RetryPolicy {
        attempts: 12,
        first_delay: ms(2),
        max_delay: ms(20),
        request_timeout: Duration::from_secs(10),
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut devices = Vec::new();
    for email in [LEAD, WORKER, SUPER] {
        devices.push(Device::sign_in(dir.path(), &proxy.url, email, patient.clone()).await);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..rng.random_range(20..36) {
        let device = &mut devices[rng.random_range(0..3)];
        device.random_edit(&mut rng, &company.site_a, true);
        if rng.random_bool(0.5) {
            device
                .sync()
                .await
                .unwrap_or_else(|e| panic!("{context}: sync of {} failed: {e}", device.email));
        }
    }
    for _ in 0..2 {
        for device in &mut devices {
            device
                .sync()
                .await
                .unwrap_or_else(|e| panic!("{context}: final sync of {} failed: {e}", device.email));
        }
    }
    let stats = proxy.stats.get();
    proxy.stop();

    let db = server.dir.path().join("records.db");
    let mut on_server = server_documents(&db);
    assert_nothing_acknowledged_was_lost(&devices, &mut on_server, &context);
    assert_converged(&devices, &[SUPER], &mut on_server, &context);
    // A replayed or late push adds nothing: no change is in the feed twice.
    let conn = rusqlite::Connection::open(&db).expect("open feed");
    let repeated: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM feed GROUP BY doc_id, bytes HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("feed");
    assert_eq!(repeated, 0, "{context}: the same change stored twice in the feed");

    let mut names: BTreeMap<String, String> = BTreeMap::new();
    names.insert(company.id.clone(), "company".into());
    names.insert(company.site_a.clone(), "site".into());
    for device in &devices {
        names.insert(device.user_id.clone(), device.email.clone());
    }
    let mut by_label = BTreeMap::new();
    let records: Vec<_> = on_server
        .iter_mut()
        .map(|(id, doc)| (id.clone(), doc.record().expect("server record")))
        .collect();
    for (id, record) in &records {
        let label = match &record.body {
            Body::Jsea(j) => j.task.clone(),
            Body::NearMiss(m) => m.what_happened.clone(),
            other => panic!("{context}: unexpected record {other:?}"),
        };
        names.insert(id.clone(), label);
    }
    for (id, record) in &records {
        let label = names[id].clone();
        let previous = by_label.insert(label.clone(), comparable(record, &names));
        assert!(previous.is_none(), "{context}: two records made by edit {label}");
    }
    server.stop().await;
    (by_label, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_answers_and_duplicated_or_late_requests_change_nothing() {
    let started = Instant::now();
    let faulty = FaultRates {
        drop_answer: 12,
        duplicate: 12,
        hold: 10,
    };
    let (mut dropped, mut duplicated, mut reordered, mut forwarded, mut records) = (0, 0, 0, 0, 0);
    for seed in seeds() {
        let report = SeedReport {
            test: "proxy faults",
            seed,
        };
        let (clean, _) = proxied_run(
            seed,
            FaultRates {
                drop_answer: 0,
                duplicate: 0,
                hold: 0,
            },
        )
        .await;
        let (with_faults, stats) = proxied_run(seed, faulty).await;
        assert_eq!(
            with_faults.keys().collect::<Vec<_>>(),
            clean.keys().collect::<Vec<_>>(),
            "seed {seed}: the same records"
        );
        for (label, record) in &clean {
            assert_eq!(
                &with_faults[label], record,
                "seed {seed}: record {label} differs from the fault-free run"
            );
        }
        drop(report);
        forwarded += stats.0;
        dropped += stats.1;
        duplicated += stats.2;
        reordered += stats.3;
        records += clean.len();
    }
    assert!(
        dropped > 0 && duplicated > 0 && reordered > 0,
        "every fault was injected"
    );
    eprintln!(
        "proxy faults: {} schedules, {forwarded} requests forwarded, {dropped} answers dropped, \
         {duplicated} requests duplicated, {reordered} held and delivered late, {records} records equal \
         to the fault-free run, 0 lost, {:.1} s",
        seeds().count(),
        started.elapsed().as_secs_f64()
    );
}

/// What a killed `fault-device` reported: edit number → record id.
fn read_committed(lines: &str, committed: &mut BTreeMap<u64, String>) {
    for line in lines.lines() {
        let mut words = line.split(' ');
        match (
            words.next(),
            words.next().and_then(|n| n.parse().ok()),
            words.next(),
        ) {
            (Some("committed"), Some(n), Some(id)) => {
                committed.insert(n, id.to_owned());
            }
            _ => panic!("unexpected line from fault-device: {line:?}"),
        }
    }
}

/// The newest edit a record on the device shows: its creation label or its muster point.
fn newest_edit(body: &Body) -> (u64, u64) {
    let number = |text: &str| text.strip_prefix("edit ").and_then(|n| n.parse::<u64>().ok());
    match body {
        Body::Jsea(j) => {
            let created = number(&j.task).expect("labelled JSEA");
            (created, number(&j.muster_point).unwrap_or(created).max(created))
        }
        Body::NearMiss(m) => {
            let created = number(&m.what_happened).expect("labelled near-miss");
            (created, created)
        }
        other => panic!("unexpected record {other:?}"),
    }
}

/// Kills a writing device several times; after each kill the store opens, passes its integrity
/// check and holds every edit reported committed (plus, at most, the one in flight).
fn device_kill_schedule(seed: u64) -> (u32, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.db");
    let mut committed: BTreeMap<u64, String> = BTreeMap::new();
    // Edits that may have committed without being reported: each kill's in-flight edit.
    let mut in_flight: BTreeSet<u64> = BTreeSet::new();
    let mut next = 1;
    let kills = rng.random_range(3..6);
    for kill in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fault-device"))
            .arg(&path)
            .arg(rng.random::<u64>().to_string())
            .arg(next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fault-device runs");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut seen = String::new();
        for _ in 0..rng.random_range(1..40) {
            if stdout.read_line(&mut seen).expect("read") == 0 {
                let stderr = faults::drain(child.stderr.as_mut().expect("stderr"));
                panic!("seed {seed}: fault-device stopped by itself: {stderr}");
            }
        }
        // Then a random moment into the next edits: before, during or after a commit.
        std::thread::sleep(Duration::from_micros(rng.random_range(0..4_000)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        seen.push_str(&faults::drain(&mut stdout));
        let before = committed.len();
        read_committed(&seen, &mut committed);
        assert!(
            committed.len() > before,
            "seed {seed}: kill {kill} came after some edits"
        );
        let last = *committed.keys().next_back().expect("some edit");
        in_flight.insert(last + 1);
        next = last + 2;

        let store = Store::open(&path)
            .unwrap_or_else(|e| panic!("seed {seed}: the store does not open after kill {kill}: {e}"));
        store
            .check_integrity()
            .unwrap_or_else(|e| panic!("seed {seed}: integrity check after kill {kill}: {e}"));
        let mut newest: BTreeMap<String, u64> = BTreeMap::new();
        for id in store.record_ids().expect("ids") {
            let view = store.record(&id).expect("record reads");
            let (created, latest) = newest_edit(&view.record.body);
            assert!(
                committed.get(&created) == Some(&id) || in_flight.contains(&created),
                "seed {seed}: record {id} made by edit {created}, which was never reported"
            );
            newest.insert(id, latest);
        }
        for (n, id) in &committed {
            let latest = newest
                .get(id)
                .unwrap_or_else(|| panic!("seed {seed}: edit {n} reported committed, record {id} is gone"));
            assert!(
                *latest >= *n,
                "seed {seed}: edit {n} on {id} reported committed, lost"
            );
        }
        for (id, latest) in &newest {
            assert!(
                committed.get(latest) == Some(id) || in_flight.contains(latest),
                "seed {seed}: {id} shows edit {latest}, which was never made on it"
            );
        }
        let pending: BTreeSet<String> = store
            .pending()
            .expect("pending")
            .into_iter()
            .map(|p| p.record_id)
            .collect();
        assert_eq!(
            pending,
            newest.keys().cloned().collect(),
            "seed {seed}: every record waits in the outbox"
        );
    }
    (kills, committed.len())
}

#[test]
fn a_device_killed_mid_write_keeps_every_committed_edit() {
    let started = Instant::now();
    let (mut kills, mut edits) = (0, 0);
    for seed in seeds() {
        let report = SeedReport {
            test: "device kills",
            seed,
        };
        let (k, e) = device_kill_schedule(seed);
        drop(report);
        kills += k;
        edits += e;
    }
    eprintln!(
        "device kills: {} schedules, {kills} kills, {edits} edits reported committed, 0 lost, {:.1} s",
        seeds().count(),
        started.elapsed().as_secs_f64()
    );
}

/// A JSEA heavy enough that storing it must grow the server's files.
fn bulky_jsea(rng: &mut StdRng, label: &str) -> Body {
    let mut jsea = sample::jsea();
    jsea.task = label.into();
    jsea.location_description = Some(
        (0..200_000)
            .map(|_| char::from(rng.random_range(b'a'..=b'z')))
            .collect(),
    );
    Body::Jsea(jsea)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_directory_refuses_writes_clearly_and_loses_nothing() {
    let mount = Tmpfs::mount("8m").unwrap_or_else(|e| {
        panic!("this test needs a tmpfs for the server's data directory (run as root): {e}")
    });
    let data = tempfile::tempdir_in(&mount.path).expect("data dir on the tmpfs");
    let server = TestServer::start_in(data, |_| {}).await;
    let company = server.company(
        "Fault Line Energy",
        &[(LEAD, Role::Worker, &[0]), (ADMIN, Role::Admin, &[])],
    );
    let phones = tempfile::tempdir().expect("phones");
    let mut lead = Device::sign_in(phones.path(), &server.url, LEAD, e2e_tests::quick_retries()).await;
    let office = Device::sign_in(phones.path(), &server.url, ADMIN, e2e_tests::quick_retries()).await;
    let token = office.store.credentials().expect("c").expect("c").access_token;
    let mut rng = StdRng::seed_from_u64(7);
    let before = lead
        .store
        .create(
            &company.site_a,
            None,
            bulky_jsea(&mut rng, "before"),
            e2e_tests::at(1),
        )
        .expect("create");
    lead.sync().await.expect("sync with space");

    let filler = faults::fill(&mount.path);
    let mut made = vec![before.clone()];
    for i in 0..4 {
        made.push(
            lead.store
                .create(
                    &company.site_a,
                    None,
                    bulky_jsea(&mut rng, &format!("full {i}")),
                    e2e_tests::at(2 + i),
                )
                .expect("the phone's own store is elsewhere"),
        );
    }
    let error = lead.sync().await.expect_err("no space to store the pushes");
    let sync_core::Error::Server {
        status,
        code,
        message,
    } = &error
    else {
        panic!("expected the server's refusal, got {error}");
    };
    assert_eq!(
        (*status, code.as_str()),
        (507, "storage_full"),
        "a full disk is reported as such: {message}"
    );
    assert!(message.contains("full"), "{message}");

    // Reads go on: health and the office's list.
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let (status, list) = get_json(&format!("{}/v1/records", server.url), &token).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&str> = list["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(listed, vec![before.as_str()]);
    let waiting: BTreeSet<String> = lead
        .store
        .pending()
        .expect("pending")
        .into_iter()
        .map(|p| p.record_id)
        .collect();
    assert_eq!(
        waiting,
        made[1..].iter().cloned().collect(),
        "the phone keeps its edits queued"
    );

    // Space returns: the next sync stores everything.
    std::fs::remove_file(&filler).expect("remove filler");
    let report = lead.sync().await.expect("sync once there is space");
    assert_eq!(report.accepted, 4);
    assert!(lead.store.pending().expect("pending").is_empty());
    for id in &made {
        assert!(
            server
                .store()
                .document(&company.id, id)
                .expect("lookup")
                .is_some(),
            "{id} stored"
        );
    }
    server.stop().await;
    drop(mount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_refuses_writes_clearly_and_is_used_again_once_writable() {
    let mount = Tmpfs::mount("16m").unwrap_or_else(|e| {
        panic!("this test needs a tmpfs for the server's data directory (run as root): {e}")
    });
    let data = tempfile::tempdir_in(&mount.path).expect("data dir on the tmpfs");
    let mut server = TestServer::start_in(data, |_| {}).await;
    let company = server.company(
        "Fault Line Energy",
        &[(LEAD, Role::Worker, &[0]), (ADMIN, Role::Admin, &[])],
    );
    let phones = tempfile::tempdir().expect("phones");
    let mut lead = Device::sign_in(phones.path(), &server.url, LEAD, e2e_tests::quick_retries()).await;
    let mut office = Device::sign_in(phones.path(), &server.url, ADMIN, e2e_tests::quick_retries()).await;
    let before = lead
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(1)),
            e2e_tests::at(1),
        )
        .expect("create");
    lead.sync().await.expect("sync while writable");

    // The file system goes read-only under a stopped server (Linux refuses to remount a file
    // system read-only while files on it are open for writing), and the server starts on it.
    let data = std::mem::replace(
        &mut server.dir,
        tempfile::tempdir().expect("an empty stand-in, so stopping keeps the data directory"),
    );
    server.stop().await;
    mount
        .remount("ro")
        .unwrap_or_else(|e| panic!("cannot make the data directory read-only: {e}"));
    let server = restart_on(data, &mut lead, &mut office).await;
    let after = lead
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(2)),
            e2e_tests::at(2),
        )
        .expect("the phone's own store is elsewhere");
    let error = lead.sync().await.expect_err("a read-only store takes no pushes");
    let sync_core::Error::Server {
        status,
        code,
        message,
    } = &error
    else {
        panic!("expected the server's refusal, got {error}");
    };
    assert_eq!(
        (*status, code.as_str()),
        (503, "storage_read_only"),
        "a read-only store is reported as such: {message}"
    );
    assert!(message.contains("read-only"), "{message}");

    // Reads go on.
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let token = office.store.credentials().expect("c").expect("c").access_token;
    let (status, list) = get_json(&format!("{}/v1/records", server.url), &token).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["records"][0]["id"], before.as_str());
    let waiting: Vec<String> = lead
        .store
        .pending()
        .expect("pending")
        .into_iter()
        .map(|p| p.record_id)
        .collect();
    assert_eq!(waiting, vec![after.clone()], "the phone keeps its edit queued");

    // Writable again: the same server, without a restart, takes the phone's queued edit (SQLite
    // opened the files read-only; the store opens its writer again once the disk takes writes).
    mount.remount("rw").expect("writable again");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let report = lead.sync().await.expect("sync once writable, without a restart");
    assert_eq!(report.accepted, 1);
    assert!(lead.store.pending().expect("pending").is_empty());
    for id in [&before, &after] {
        assert!(
            server
                .store()
                .document(&company.id, id)
                .expect("lookup")
                .is_some(),
            "{id} stored"
        );
    }
    server.stop().await;
    drop(mount);
}

/// Starts a server on `data` again and points the phones at its new address.
async fn restart_on(data: tempfile::TempDir, lead: &mut Device, office: &mut Device) -> TestServer {
    let server = TestServer::start_in(data, |_| {}).await;
    for device in [lead, office] {
        let mut credentials = device.store.credentials().expect("c").expect("c");
        credentials.server_url = server.url.clone();
        device.store.set_credentials(&credentials).expect("new address");
    }
    server
}

/// A phone in poor signal refreshes its token and the answer is lost: the server spent the token,
/// the phone still holds it. Presenting it again from the same phone, at once, is the lost answer
/// coming round again, not a thief: the phone is not revoked and its edits go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_answer_was_lost_does_not_revoke_the_phone() {
    // Access tokens that expire at once: every sync refreshes first.
    let server = TestServer::start_with(|state| state.access_ttl_ms = 1).await;
    let company = server.company("Fault Line Energy", &[(LEAD, Role::Worker, &[0])]);
    let proxy = FaultProxy::start(
        &server.url,
        FaultRates {
            drop_answer: 0,
            duplicate: 0,
            hold: 0,
        },
        1,
    )
    .await;
    let phones = tempfile::tempdir().expect("phones");
    let mut lead = Device::sign_in(phones.path(), &proxy.url, LEAD, e2e_tests::quick_retries()).await;
    let spent = lead.store.credentials().expect("c").expect("c").refresh_token;
    let id = lead
        .store
        .create(
            &company.site_a,
            None,
            Body::NearMiss(sample::near_miss(1)),
            e2e_tests::at(1),
        )
        .expect("create");

    proxy.lose_refresh_answers(1);
    let report = lead
        .sync()
        .await
        .expect("the sync goes through after the refresh answer was lost");
    assert_eq!(report.accepted, 1);
    assert_eq!(proxy.stats.get().1, 1, "one refresh answer was lost");
    let device_id = lead.store.device_id().to_owned();
    let device = server
        .store()
        .device(&device_id)
        .expect("lookup")
        .expect("device");
    assert_eq!(device.revoked_at_ms, None, "the phone is not revoked");
    assert!(
        server
            .store()
            .document(&company.id, &id)
            .expect("lookup")
            .is_some()
    );
    // The chain goes on as usual from the token the phone now holds.
    lead.sync().await.expect("the next sync refreshes normally");
    assert_ne!(
        lead.store.credentials().expect("c").expect("c").refresh_token,
        spent
    );

    // The token whose answer was lost, presented again once its successor is in use, is a
    // copy in someone else's hands: the device is revoked as before.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/auth/refresh", server.url))
        .json(&serde_json::json!({"refresh_token": spent, "device_id": device_id}))
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "refresh_token_reused", "{body}");
    let device = server
        .store()
        .device(&device_id)
        .expect("lookup")
        .expect("device");
    assert!(device.revoked_at_ms.is_some());
    proxy.stop();
    server.stop().await;
}
