//! Several server processes on one PostgreSQL record store, end to end.
//!
//! - two `fault-server` processes share a database behind a round-robin balancer while phones
//!   edit the same records concurrently and the processes are SIGKILLed in turn;
//! - the database is restored to an older `pg_dump` and the phones bring it up to date again.
//!
//! Each test makes a database of its own on the machine's PostgreSQL (`ScratchDatabase`) and is
//! skipped, saying so, when none answers (under `CI=true` it fails instead). The kill schedule
//! comes from `MUSTER_FAULT_SEED` (default 1); a failing run names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use e2e_tests::faults::{
    self, Balancer, Device, ServerProcess, assert_converged, assert_nothing_acknowledged_was_lost,
    feed_record_ids, server_documents_in,
};
use e2e_tests::{at, get_json};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::store::postgres::PgStore;
use server::store::postgres::scratch::ScratchDatabase;
use server::store::{ProjectionStore, RecordStore};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::{Flag, RecordDocument, sample};

const LEAD: &str = "lead@faultline.test";
const WORKER: &str = "worker@faultline.test";
const SUPER: &str = "super@faultline.test";
const CREW: [(&str, Role); 3] = [
    (LEAD, Role::Worker),
    (WORKER, Role::Worker),
    (SUPER, Role::Supervisor),
];

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn fault_server() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_fault-server"))
}

/// Names the seed of a run that panics, so it can be replayed.
struct SeedReport(u64);

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failed at seed {0}: replay with MUSTER_FAULT_SEED={0}", self.0);
        }
    }
}

/// Shows the end of each server log when the test panics: what the processes said last.
struct LogsOnPanic(Vec<PathBuf>);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for log in &self.0 {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                // Backtrace frames would crowd out the messages.
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|line| {
                        let line = line.trim_start();
                        !line.starts_with("at ") && !line.starts_with(|c: char| c.is_ascii_digit())
                    })
                    .collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                eprintln!("--- the end of {}:\n{tail}", log.display());
            }
        }
    }
}

/// Every record in the company's change feed, loaded from `store`.
fn documents(store: &dyn RecordStore, tenant_id: &str) -> BTreeMap<String, RecordDocument> {
    let ids: Vec<(String, String)> = feed_record_ids(store, tenant_id)
        .into_iter()
        .map(|id| (tenant_id.to_owned(), id))
        .collect();
    server_documents_in(store, &ids)
}

fn connect(database: &ScratchDatabase) -> PgStore {
    PgStore::connect(database.url()).expect("the scratch database opens")
}

fn access_token(device: &Device) -> String {
    device
        .store
        .credentials()
        .expect("credentials")
        .expect("signed in")
        .access_token
}

/// The flags `/v1/records/{id}` shows on the server at `url`.
async fn flags_served(url: &str, id: &str, token: &str) -> Vec<Flag> {
    let (status, detail) = get_json(&format!("{url}/v1/records/{id}"), token).await;
    assert_eq!(status, 200, "{url}/v1/records/{id}: {detail}");
    serde_json::from_value(detail["flags"].clone()).unwrap_or_else(|e| panic!("flags of {id}: {e}: {detail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_converge_and_lose_nothing_when_one_is_killed() {
    let Some(database) = ScratchDatabase::create("two_processes_on_one_database") else {
        return;
    };
    let seed = match std::env::var("MUSTER_FAULT_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("MUSTER_FAULT_SEED={value:?} is not a number")),
        Err(_) => 1,
    };
    let _report = SeedReport(seed);
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let store = connect(&database);
    let company = faults::seed_company_in(&store, &CREW);

    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).expect("data dir");
    let logs = [dir.path().join("first.log"), dir.path().join("second.log")];
    let _logs = LogsOnPanic(logs.to_vec());
    let database_url = ["--database-url", database.url().secret()];
    // The first start writes the token signing key the second must share: one after the other.
    let mut processes = [
        ServerProcess::start_with(fault_server(), &data_dir, &logs[0], &database_url).await,
        ServerProcess::start_with(fault_server(), &data_dir, &logs[1], &database_url).await,
    ];
    let balancer = Balancer::start(&[processes[0].url(), processes[1].url()]).await;
    let mut devices = Vec::new();
    for (email, _) in CREW {
        devices.push(Device::sign_in(dir.path(), &balancer.url, email, faults::impatient_retries()).await);
    }

    // One JSEA every phone holds before the concurrent phase, so all of them edit it at once.
    let mut jsea = sample::jsea();
    jsea.task = "Shared JSEA".into();
    let shared = devices[0]
        .store
        .create(&company.site_id, None, Body::Jsea(jsea), at(0))
        .expect("create the shared JSEA");
    for device in &mut devices {
        device
            .sync()
            .await
            .unwrap_or_else(|e| panic!("{} cannot sync before the faults: {e}", device.email));
        assert!(device.store.record_ids().expect("ids").contains(&shared));
    }

    let kills_done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for mut device in devices {
        let device_seed = rng.random::<u64>();
        let (site, shared, kills_done) = (company.site_id.clone(), shared.clone(), kills_done.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(device_seed);
            let mine = format!("{} was here", device.email);
            device
                .store
                .edit(&shared, |r| {
                    if let Body::Jsea(j) = &mut r.body {
                        j.muster_point = mine.clone();
                    }
                    Ok(())
                })
                .expect("edit the shared JSEA");
            // Editing until the kills are over puts every kill among syncs in flight.
            let mut edits = 0;
            while edits < 15 || (!kills_done.load(Ordering::SeqCst) && edits < 60) {
                device.random_edit(&mut rng, &site, false);
                edits += 1;
                if rng.random_bool(0.6) {
                    let _ = device.sync().await;
                }
                tokio::time::sleep(ms(rng.random_range(0..30))).await;
            }
            device
        }));
    }
    let planned_kills = rng.random_range(2..=3);
    let mut victim = rng.random_range(0..2);
    for _ in 0..planned_kills {
        tokio::time::sleep(ms(rng.random_range(100..600))).await;
        processes[victim].kill();
        tokio::time::sleep(ms(rng.random_range(20..200))).await;
        processes[victim].restart().await;
        victim = 1 - victim;
    }
    kills_done.store(true, Ordering::SeqCst);
    let mut devices = Vec::new();
    for task in tasks {
        devices.push(task.await.expect("device task"));
    }

    let mut checked = assert_nothing_acknowledged_was_lost(
        &devices,
        &mut documents(&store, &company.tenant_id),
        "after the kills",
    );
    for round in 0..2 {
        for device in &mut devices {
            device
                .sync()
                .await
                .unwrap_or_else(|e| panic!("clean sync {round} of {} failed: {e}", device.email));
        }
    }
    let context = format!("two processes, seed {seed}");
    let mut on_server = documents(&store, &company.tenant_id);
    checked += assert_nothing_acknowledged_was_lost(&devices, &mut on_server, &context);
    // The supervisor holds exactly the records of the feed: every entry reached its phone.
    let records = assert_converged(&devices, &[SUPER], &mut on_server, &context);
    let fed: BTreeSet<String> = on_server.keys().cloned().collect();
    let everything = sync_core::ListFilter {
        limit: Some(10_000),
        ..sync_core::ListFilter::default()
    };
    let listed: BTreeSet<String> = store
        .list_records(&faults::admin_scope(&company.tenant_id), &everything)
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        listed, fed,
        "{context}: the list and the feed name the same records"
    );

    // Each process reads the same flags from the shared store. Asked first, a process judges a
    // record still waiting for the background judge, so the store's flags are read last.
    let token = access_token(&devices[2]);
    let mut flagged = 0;
    for id in &fed {
        let first = flags_served(&processes[0].url(), id, &token).await;
        let second = flags_served(&processes[1].url(), id, &token).await;
        let stored = store.record_flags(&company.tenant_id, id).expect("flags");
        assert_eq!(
            first, stored,
            "{context}: flags of {id} through the first process"
        );
        assert_eq!(
            second, stored,
            "{context}: flags of {id} through the second process"
        );
        flagged += usize::from(!stored.is_empty());
    }

    let kills: u32 = processes.iter().map(|p| p.kills).sum();
    assert_eq!(kills, planned_kills, "{context}: every planned kill happened");
    let syncs = balancer.stats.syncs();
    assert!(
        syncs.iter().all(|&n| n > 0),
        "{context}: both processes answered syncs: {syncs:?}"
    );
    eprintln!(
        "two processes: seed {seed}, {kills} kills, {} syncs ok, {} syncs cut off, syncs answered {syncs:?}, \
         {} failovers, {} requests cut off, {records} records ({flagged} flagged), {checked} acknowledgements \
         checked, 0 lost, {:.1} s",
        devices.iter().map(|d| d.syncs_ok).sum::<u32>(),
        devices.iter().map(|d| d.syncs_failed).sum::<u32>(),
        balancer.stats.failovers.load(Ordering::SeqCst),
        balancer.stats.cut_off.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    balancer.stop();
}

/// Runs a PostgreSQL client tool, failing with its output when it is missing or fails.
fn run_tool(tool: &str, args: &[&str]) {
    let binary = PathBuf::from("/usr/bin").join(tool);
    assert!(
        binary.is_file(),
        "{} is missing: install the PostgreSQL client tools (apt-get install postgresql-client-15)",
        binary.display()
    );
    let output = Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    assert!(
        output.status.success(),
        "{tool} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Acknowledgements a device got after `before` was taken: new records, or new heads.
fn acknowledged_since(
    devices: &[Device],
    before: &[BTreeMap<String, Vec<ChangeHash>>],
) -> Vec<(String, String, Vec<ChangeHash>)> {
    let mut since = Vec::new();
    for (device, before) in devices.iter().zip(before) {
        for (id, heads) in &device.acknowledged {
            if before.get(id) != Some(heads) {
                since.push((device.email.clone(), id.clone(), heads.clone()));
            }
        }
    }
    since
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restore_to_an_older_backup_makes_phones_resend_not_lose() {
    let Some(database) = ScratchDatabase::create("a_postgres_restore_to_an_older_backup") else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(7);
    let company = faults::seed_company_in(&connect(&database), &CREW);
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).expect("data dir");
    let log = dir.path().join("server.log");
    let restored_log = dir.path().join("restored.log");
    let _logs = LogsOnPanic(vec![log.clone(), restored_log.clone()]);
    let mut server = ServerProcess::start_with(
        fault_server(),
        &data_dir,
        &log,
        &["--database-url", database.url().secret()],
    )
    .await;
    let mut devices = Vec::new();
    for (email, _) in CREW {
        devices.push(Device::sign_in(dir.path(), &server.url(), email, faults::impatient_retries()).await);
    }
    let jsea = devices[0]
        .store
        .create(&company.site_id, None, Body::Jsea(sample::jsea()), at(1))
        .expect("create");
    for device in &mut devices {
        device.random_edit(&mut rng, &company.site_id, false);
    }
    // Two rounds: every phone holds everything at the backup, so what changes after it is new.
    for _ in 0..2 {
        for device in &mut devices {
            device.sync().await.expect("sync before the backup");
        }
    }
    let backup = dir.path().join("nightly.dump");
    run_tool(
        "pg_dump",
        &[
            "-Fc",
            &format!("--dbname={}", database.url().secret()),
            &format!("--file={}", backup.display()),
        ],
    );
    let at_backup: Vec<_> = devices.iter().map(|d| d.acknowledged.clone()).collect();

    // After the backup: edits the server acknowledges and is about to lose.
    devices[0].store.sign(&jsea, at(2)).expect("sign");
    devices[1]
        .store
        .create(
            &company.site_id,
            None,
            Body::NearMiss(sample::near_miss(5)),
            at(3),
        )
        .expect("create");
    for device in &mut devices {
        device.random_edit(&mut rng, &company.site_id, false);
    }
    for _ in 0..2 {
        for device in &mut devices {
            device.sync().await.expect("sync after the backup");
        }
    }
    for device in &devices {
        assert!(
            device.store.pending().expect("pending").is_empty(),
            "{} has everything acknowledged",
            device.email
        );
    }
    let since_backup = acknowledged_since(&devices, &at_backup);
    assert!(
        since_backup.iter().any(|(_, id, _)| *id == jsea),
        "the signature came after the backup: {since_backup:?}"
    );
    server.kill();

    let Some(restored) = ScratchDatabase::create("a_postgres_restore_to_an_older_backup (restored)") else {
        panic!("PostgreSQL went away during the test");
    };
    run_tool(
        "pg_restore",
        &[
            "--no-owner",
            &format!("--dbname={}", restored.url().secret()),
            &backup.to_string_lossy(),
        ],
    );
    // Connected after the restore: connecting to an empty database would create the schema.
    let store = connect(&restored);
    {
        let mut at_restore = documents(&store, &company.tenant_id);
        for (email, id, heads) in &since_backup {
            assert!(
                at_restore.get_mut(id).is_none_or(|doc| !doc.has_all(heads)),
                "{id} as acknowledged to {email} after the backup is already in the restored database"
            );
        }
    }

    // The same data directory: the same signing key, so the phones' tokens still hold.
    let restored_server = ServerProcess::start_with(
        fault_server(),
        &data_dir,
        &restored_log,
        &["--database-url", restored.url().secret()],
    )
    .await;
    for device in &mut devices {
        let mut credentials = device.store.credentials().expect("c").expect("signed in");
        credentials.server_url = restored_server.url();
        device.store.set_credentials(&credentials).expect("new address");
    }
    for round in 0..2 {
        for device in &mut devices {
            device
                .sync()
                .await
                .unwrap_or_else(|e| panic!("sync {round} of {} with the restored server: {e}", device.email));
        }
    }

    let context = "after the restore";
    let mut on_server = documents(&store, &company.tenant_id);
    for (email, id, heads) in &since_backup {
        let doc = on_server
            .get_mut(id)
            .unwrap_or_else(|| panic!("{context}: {id}, acknowledged to {email}, was not sent again"));
        assert!(
            doc.has_all(heads),
            "{context}: {id} lacks changes acknowledged to {email} after the backup"
        );
    }
    let checked = assert_nothing_acknowledged_was_lost(&devices, &mut on_server, context);
    let records = assert_converged(&devices, &[SUPER], &mut on_server, context);
    let signed = on_server
        .get_mut(&jsea)
        .expect("the JSEA")
        .record()
        .expect("record");
    let Body::Jsea(signed) = signed.body else {
        panic!("{jsea} is a JSEA")
    };
    assert!(
        signed.signatures.contains_key(&devices[0].user_id),
        "the signature made after the backup is back"
    );
    eprintln!(
        "postgres restore: {} acknowledgements after the backup sent again, {checked} checked, {records} records",
        since_backup.len()
    );
}
