//! The scenarios. Each prints a markdown table; docs/BENCHMARKS.md collects them.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::ActorId;
use e2e_tests::{Phone, TestServer, at, quick_retries};
use server::store::{NewUser, RecordStore};
use sync_core::model::{Body, Header, Record, SCHEMA_VERSION, Signature, new_id};
use sync_core::protocol::{
    self, ClockSample, DocPush, PROTOCOL_VERSION, PushOutcome, Role, SYNC_CONTENT_TYPE, SyncRequest,
    SyncResponse,
};
use sync_core::sync::SyncClient;
use sync_core::{RecordDocument, Stamp, Store, sample};

use crate::checks::Checks;
use crate::cpu::{CpuReading, CpuUse};
use crate::{baseline, proxy};

pub fn today() -> String {
    sync_core::clock::format_utc(sync_core::store::now_ms())[..10].to_owned()
}

/// A typical JSEA as one phone pushes it: 3 steps, 6 hazards, 12 controls, signed by the
/// phone's user (the server refuses signatures in anyone else's name, so crew members' own
/// signatures arrive from their own phones).
fn typical_jsea(user_id: &str) -> Body {
    let mut j = sample::jsea();
    j.crew = vec![user_id.to_owned()];
    let hash = j.content_hash();
    j.signatures.insert(
        user_id.into(),
        Signature {
            user_id: user_id.into(),
            name: "Crew lead".into(),
            content_hash: hash,
            stamp: at(5),
        },
    );
    Body::Jsea(j)
}

struct Bench {
    server: TestServer,
    tenant: String,
    dir: tempfile::TempDir,
    hash: String,
}

impl Bench {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let company = server.company("Bench Energy", &[("office@bench.test", Role::Admin, &[])]);
        let hash = server::auth::hash_password(e2e_tests::PASSWORD).expect("hash");
        Self {
            server,
            tenant: company.id,
            dir: tempfile::tempdir().expect("dir"),
            hash,
        }
    }

    fn worker(&self, n: usize) -> (String, String) {
        add_worker(self.server.store(), &self.tenant, &self.hash, n)
    }

    async fn phone(&self, email: &str, url: &str) -> Phone {
        phone_in(&self.dir, url, email, "bench").await
    }
}

/// A worker with a site of their own, so devices in one run do not see each other's records:
/// `(email, site id)`.
pub(crate) fn add_worker(
    store: &dyn RecordStore,
    tenant: &str,
    password_hash: &str,
    n: usize,
) -> (String, String) {
    let site = store
        .create_site(tenant, &format!("Site {n}"), "system")
        .expect("site");
    let email = format!("worker{n}@bench.test");
    store
        .create_user(
            tenant,
            NewUser {
                email: email.clone(),
                name: format!("Worker {n}"),
                role: Role::Worker,
                password_hash: password_hash.to_owned(),
                sites: vec![site.id.clone()],
            },
            "system",
        )
        .expect("user");
    (email, site.id)
}

/// A phone with a fresh store in `dir`, signed in to `url` as `email` under `device_name`.
pub(crate) async fn phone_in(dir: &tempfile::TempDir, url: &str, email: &str, device_name: &str) -> Phone {
    let mut store = Store::open(dir.path().join(format!("{}.db", new_id()))).expect("store");
    let client = SyncClient::new(quick_retries()).expect("client");
    client
        .login(&mut store, url, email, e2e_tests::PASSWORD, device_name)
        .await
        .expect("login");
    Phone {
        store,
        client,
        url: url.to_owned(),
    }
}

fn fill(phone: &mut Phone, site: &str, n: usize, mix: bool) {
    let user = phone.user_id();
    for i in 0..n {
        let body = if mix && i % 3 == 2 {
            Body::NearMiss(sample::near_miss(1 + i as i64))
        } else {
            typical_jsea(&user)
        };
        phone
            .store
            .create(site, None, body, at(i as i64))
            .expect("create");
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "—".into()
    } else {
        format!("{:.2}", a / b)
    }
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip").len()
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Peak resident memory of this process (server and clients together), MiB.
/// VmHWM (peak resident set) from a /proc status file, in MiB.
fn peak_rss_of(status: &str) -> f64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn wire(records: usize) -> Checks {
    let mut checks = Checks::new("wire");
    let bench = Bench::new().await;
    let (email, site) = bench.worker(0);
    let target = bench.server.url.trim_start_matches("http://").to_owned();
    let (url, counter) = proxy::start(target).await;
    let mut phone = bench.phone(&email, &url).await;
    fill(&mut phone, &site, records, true);
    phone.sync().await;
    counter.take();

    let id = phone
        .store
        .create(&site, None, typical_jsea(&phone.user_id()), at(9_000))
        .expect("create");
    // What compressing request bodies would give, before deciding to (docs/BENCHMARKS.md).
    let new_jsea_push_gzipped: usize = encoded_pushes(&phone, 1).iter().map(|b| gzip_len(b)).sum();
    let new_jsea = phone.sync().await;
    let new_wire = counter.take();
    let json = serde_json::to_vec(&phone.store.record(&id).expect("view").record).expect("json");

    phone
        .store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.muster_point = "South gate".into();
            Ok(())
        })
        .expect("edit");
    let edit = phone.sync().await;
    let edit_wire = counter.take();

    let mut idle_times = Vec::new();
    let mut idle = phone.sync().await;
    let idle_wire = counter.take();
    for _ in 0..50 {
        let started = Instant::now();
        idle = phone.sync().await;
        idle_times.push(started.elapsed());
    }
    counter.take();
    idle_times.sort();

    println!("\n### Bytes on the wire ({records} records on the device)\n");
    println!("| path | bodies up | bodies down | bodies total | headers + framing | on the wire |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, r, w) in [
        ("(a) a new JSEA", &new_jsea, new_wire),
        ("(b) a one-field edit", &edit, edit_wire),
        ("(c) nothing changed", &idle, idle_wire),
    ] {
        let bodies = r.bytes_up + r.bytes_down;
        let total = w.0 + w.1;
        println!(
            "| {name} | {} | {} | {bodies} | {} | {total} |",
            r.bytes_up,
            r.bytes_down,
            total.saturating_sub(bodies)
        );
    }
    checks.equal("the new JSEA accepted", new_jsea.accepted, 1);
    checks.equal("the edit accepted", edit.accepted, 1);
    checks.equal(
        "nothing queued at the end",
        phone.store.pending().expect("pending").len(),
        0,
    );
    // Ceilings far above today's figures (docs/BENCHMARKS.md): a broken exchange, not a slow one.
    checks.within(
        "new JSEA bodies, bytes",
        (new_jsea.bytes_up + new_jsea.bytes_down) as f64,
        64_000.0,
    );
    checks.within(
        "one-field edit bodies, bytes",
        (edit.bytes_up + edit.bytes_down) as f64,
        4_000.0,
    );
    checks.within(
        "idle sync bodies, bytes",
        (idle.bytes_up + idle.bytes_down) as f64,
        1_000.0,
    );
    checks.within(
        "idle sync on the wire, bytes",
        (idle_wire.0 + idle_wire.1) as f64,
        4_000.0,
    );
    let gz = gzip_len(&json);
    // Bytes do not depend on the machine: 1.57 today, so a doubling fails.
    checks.within(
        "new JSEA bodies ÷ gzip of its plain JSON",
        (new_jsea.bytes_up + new_jsea.bytes_down) as f64 / gz as f64,
        2.5,
    );
    println!(
        "\nNew JSEA: sync bodies {} B vs its plain JSON {} B, gzipped {gz} B: ratio to gzip {}.",
        new_jsea.bytes_up + new_jsea.bytes_down,
        json.len(),
        ratio((new_jsea.bytes_up + new_jsea.bytes_down) as f64, gz as f64)
    );
    println!(
        "Its push gzipped would be {new_jsea_push_gzipped} B (sent: {} B): bodies {} B, ratio to gzip {}.",
        new_jsea.bytes_up,
        new_jsea_push_gzipped as u64 + new_jsea.bytes_down,
        ratio(
            (new_jsea_push_gzipped as u64 + new_jsea.bytes_down) as f64,
            gz as f64
        )
    );
    println!(
        "Idle sync round trip (client-observed, includes the server's time): median {}, p99 {}.",
        ms(percentile(&idle_times, 0.5)),
        ms(percentile(&idle_times, 0.99))
    );
    bench.server.stop().await;
    checks
}

/// Request bodies pushing every queued record of `phone`, `batch` records each.
fn encoded_pushes(phone: &Phone, batch: usize) -> Vec<Vec<u8>> {
    let outgoing = phone.store.outgoing(usize::MAX).expect("outgoing");
    outgoing
        .chunks(batch)
        .map(|chunk| {
            protocol::encode(&SyncRequest {
                version: PROTOCOL_VERSION,
                cursor: 0,
                cursor_check: 0,
                clock: ClockSample {
                    wall_ms: 1,
                    monotonic_ms: 1,
                    boot_id: "bench".into(),
                    last_round_trip_ms: 1,
                },
                pushes: chunk
                    .iter()
                    .map(|o| DocPush {
                        doc_id: o.id.clone(),
                        base_heads: vec![],
                        changes: o.changes.clone(),
                    })
                    .collect(),
                doc_sync: vec![],
            })
        })
        .collect()
}

/// A sync request from a simulated device: its feed position `(cursor, check)`, its clock
/// `(boot id, monotonic ms, last round trip ms)` sampled now, and its pushes.
fn sync_body(position: (u64, u64), clock: (&str, i64, u32), pushes: Vec<DocPush>) -> Vec<u8> {
    protocol::encode(&SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: position.0,
        cursor_check: position.1,
        clock: ClockSample {
            wall_ms: sync_core::store::now_ms(),
            monotonic_ms: clock.1,
            boot_id: clock.0.into(),
            last_round_trip_ms: clock.2,
        },
        pushes,
        doc_sync: vec![],
    })
}

async fn post_sync(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<SyncResponse, String> {
    let response = http
        .post(format!("{url}/v1/sync"))
        .bearer_auth(token)
        .header("content-type", SYNC_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    protocol::decode(&bytes)
}

/// Floors for scenario 3's ratios, at about 0.6 of an idle run's (a release build's differ from
/// the smoke run's debug build, where Muster's own code is unoptimised and the baselines' code
/// mostly is).
#[derive(Debug, Clone, Copy)]
pub struct ThroughputFloors {
    pub json: f64,
    pub crdt: f64,
}

impl ThroughputFloors {
    /// A release build on an idle 2-core machine: ≈ 0.8 of the JSON endpoint, ≈ 0.6 of the CRDT limit.
    pub const RELEASE: Self = Self {
        json: 0.45,
        crdt: 0.35,
    };
}

/// Scenario 3's request size: new records per push.
pub(crate) const THROUGHPUT_BATCH: usize = 100;

/// Scenario 3's phones with their new records made and encoded, ready to push.
pub(crate) struct QueuedPushes {
    /// Each new record's id and its changes as pushed.
    pub docs: Vec<(String, Vec<u8>)>,
    /// Each new record as a plain form, for the JSON baseline.
    pub forms: Vec<Record>,
    /// Per phone: the server it talks to, its access token, and its requests in order.
    requests: Vec<(String, String, Vec<Vec<u8>>)>,
}

/// Signs in one phone per worker `(email, site)` (phone i to `urls[i % urls.len()]`), orients
/// its crew at its site, and queues `records` new JSEAs spread over the phones, in requests of
/// [`THROUGHPUT_BATCH`].
pub(crate) async fn queue_new_jseas(
    dir: &tempfile::TempDir,
    workers: &[(String, String)],
    urls: &[String],
    records: usize,
) -> QueuedPushes {
    let per = records.div_ceil(workers.len().max(1));
    let mut phones = Vec::new();
    for (n, (email, site)) in workers.iter().enumerate() {
        let mut phone = phone_in(dir, &urls[n % urls.len()], email, "bench").await;
        // A company's crews are oriented at their sites, so their JSEAs carry no
        // `jsea.signer_not_oriented` flag (a flag row per signer would be the odd case).
        e2e_tests::orient(&mut phone, site, -24 * 60);
        phone.sync().await;
        fill(&mut phone, site, per, false);
        phones.push(phone);
    }
    let mut queued = QueuedPushes {
        docs: Vec::new(),
        forms: Vec::new(),
        requests: Vec::new(),
    };
    for phone in &phones {
        for o in phone.store.outgoing(usize::MAX).expect("outgoing") {
            queued.forms.push(phone.store.record(&o.id).expect("view").record);
            queued.docs.push((o.id, o.changes));
        }
        let token = phone.store.credentials().expect("c").expect("c").access_token;
        queued
            .requests
            .push((phone.url.clone(), token, encoded_pushes(phone, THROUGHPUT_BATCH)));
    }
    queued
}

/// Sends the queued requests, every phone at once and each phone's one after another: the
/// records accepted and the time it took.
pub(crate) async fn push_queued(queued: &QueuedPushes) -> (usize, Duration) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (url, token, bodies) in queued.requests.clone() {
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0usize;
            for body in bodies {
                let answer = post_sync(&http, &url, &token, body).await.expect("sync");
                accepted += answer
                    .results
                    .iter()
                    .filter(|r| r.outcome == PushOutcome::Accepted)
                    .count();
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("device");
    }
    (accepted, started.elapsed())
}

pub async fn throughput(records: usize, devices: usize, floors: ThroughputFloors) -> Checks {
    let mut checks = Checks::new("throughput");
    let bench = Bench::new().await;
    let workers: Vec<(String, String)> = (0..devices).map(|n| bench.worker(n)).collect();
    let queued = queue_new_jseas(
        &bench.dir,
        &workers,
        std::slice::from_ref(&bench.server.url),
        records,
    )
    .await;
    let total = queued.docs.len();
    let (accepted, muster) = push_queued(&queued).await;
    let QueuedPushes { docs, forms, .. } = queued;
    checks.equal("records accepted", accepted, total);
    checks.equal(
        "records stored (and the crews' orientations)",
        bench.server.store().feed_head(&bench.tenant).expect("feed head") as usize,
        total + devices,
    );
    let raw = tokio::task::block_in_place(|| baseline::raw_sqlite(bench.dir.path(), &docs, THROUGHPUT_BATCH));
    let rest = baseline::json_rest(bench.dir.path(), &forms, devices).await;
    let crdt = tokio::task::block_in_place(|| baseline::crdt_limit(&docs));

    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "\n### Server throughput: {total} new JSEAs from {devices} devices, {THROUGHPUT_BATCH} per request\n"
    );
    println!("| path | time | records/s | Muster's rate ÷ this |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| Muster sync (checks, merge, projection, flags; SQLite store) | {} | {:.0} | 1.00 |",
        ms(muster),
        rate(muster)
    );
    println!(
        "| (a) raw SQLite insert of the same document bytes | {} | {:.0} | {} |",
        ms(raw),
        rate(raw),
        ratio(rate(muster), rate(raw))
    );
    println!(
        "| (b) plain JSON REST endpoint, one form per request | {} | {:.0} | {} |",
        ms(rest),
        rate(rest),
        ratio(rate(muster), rate(rest))
    );
    println!(
        "| (c) CRDT limit: bare automerge load, merge into an empty copy and save, {} threads | {} | {:.0} | {} |",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
        ms(crdt),
        rate(crdt),
        ratio(rate(muster), rate(crdt))
    );
    checks.within("records/s", rate(muster), f64::MAX);
    checks.at_least(
        "Muster ÷ plain JSON endpoint",
        rate(muster) / rate(rest),
        floors.json,
    );
    checks.at_least("Muster ÷ CRDT limit", rate(muster) / rate(crdt), floors.crdt);
    bench.server.stop().await;
    checks
}

/// `ceiling` bounds the cold start's time ÷ its same-run limit.
pub async fn cold(records: usize, ceiling: f64) -> Checks {
    let mut checks = Checks::new("cold");
    let bench = Bench::new().await;
    let (email, site) = bench.worker(0);
    let mut first = bench.phone(&email, &bench.server.url).await;
    fill(&mut first, &site, records, true);
    first.sync().await;

    let mut fresh = bench.phone(&email, &bench.server.url).await;
    let started = Instant::now();
    let report = fresh.sync().await;
    let elapsed = started.elapsed();
    checks.equal(
        "records on the new device",
        fresh.store.count_records().expect("count") as usize,
        records,
    );
    let docs: Vec<(String, Vec<u8>)> = fresh
        .store
        .record_ids()
        .expect("ids")
        .into_iter()
        .map(|id| {
            let bytes = fresh.store.document(&id).expect("doc").save();
            (id, bytes)
        })
        .collect();
    let saved: usize = docs.iter().map(|(_, bytes)| bytes.len()).sum();
    let page = records.div_ceil(report.round_trips.max(1) as usize);
    let limit = tokio::task::block_in_place(|| baseline::cold_limit(bench.dir.path(), &docs, page));
    println!("\n### Cold start: a new device receives {records} records\n");
    println!(
        "| time | limit: load the saved documents and store them, no checks | time ÷ limit | round trips | bytes down | sum of saved documents | bytes ÷ saved |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {} | {} | {} | {saved} | {} |",
        ms(elapsed),
        ms(limit),
        ratio(elapsed.as_secs_f64(), limit.as_secs_f64()),
        report.round_trips,
        report.bytes_down,
        ratio(report.bytes_down as f64, saved as f64)
    );
    checks.within(
        "bytes down ÷ saved documents",
        report.bytes_down as f64 / saved.max(1) as f64,
        1.3,
    );
    // ≈ 1.3–1.6 on an idle machine, release or debug alike (both sides load the same documents).
    checks.within(
        "cold start ÷ its limit",
        elapsed.as_secs_f64() / limit.as_secs_f64().max(f64::MIN_POSITIVE),
        ceiling,
    );
    bench.server.stop().await;
    checks
}

/// How costs grow with what the server already holds. For each size: a server holding that many
/// records takes `new` more, fills a new device, and answers that device's next (idle) sync.
pub async fn growth(sizes: &[usize], new: usize) -> Checks {
    let mut checks = Checks::new("growth");
    // Each row as it is measured: the largest size takes many minutes.
    println!("\n### Growth: cost against records already held\n");
    println!(
        "| records on the server | {new} new records: records/s | queued to be judged again before them | cold start: time | cold start: records/s | cold bytes ÷ saved size | idle sync: bytes up + down | idle sync: time |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &size in sizes {
        let bench = Bench::new().await;
        let (email, site) = bench.worker(0);
        let user = bench
            .server
            .store()
            .user_by_email(&email)
            .expect("lookup")
            .expect("user");
        let url = bench.server.url.clone();
        let urls = std::slice::from_ref(&url);
        seed(urls, &email, &bench.tenant, &site, &user.id, size).await;
        // Work the filling left behind (records queued to be judged again) runs beside the
        // timed push and would be counted against it.
        let backlog = bench.server.store().rejudge_queue(u32::MAX).expect("queue").len();
        let started = Instant::now();
        seed(urls, &email, &bench.tenant, &site, &user.id, new).await;
        let new_rate = new as f64 / started.elapsed().as_secs_f64();

        let mut fresh = bench.phone(&email, &url).await;
        let started = Instant::now();
        let cold = fresh.sync().await;
        let cold_time = started.elapsed();
        let held = fresh.store.count_records().expect("count") as usize;
        checks.equal("records on the new device", held, size + new);
        let saved: usize = fresh
            .store
            .record_ids()
            .expect("ids")
            .iter()
            .map(|id| fresh.store.document(id).expect("doc").save().len())
            .sum();
        let started = Instant::now();
        let idle = fresh.sync().await;
        let idle_time = started.elapsed();
        checks.equal("records received by an idle sync", idle.received, 0);
        checks.within(
            "idle sync bodies, bytes",
            (idle.bytes_up + idle.bytes_down) as f64,
            1_000.0,
        );
        println!(
            "| {held} | {new_rate:.0} | {backlog} | {} | {:.0} | {} | {} | {} |",
            ms(cold_time),
            held as f64 / cold_time.as_secs_f64(),
            ratio(cold.bytes_down as f64, saved as f64),
            idle.bytes_up + idle.bytes_down,
            ms(idle_time),
        );
        let _ = std::io::stdout().flush();
        bench.server.stop().await;
    }
    checks
}

/// Pushes `records` new records (two JSEAs to one near miss) for `email` through the sync
/// endpoint, several requests in flight: the quick way to fill a server for the load run. With
/// several server processes (one store) the four requests in flight are dealt out among them.
pub(crate) async fn seed(urls: &[String], email: &str, tenant: &str, site: &str, user: &str, records: usize) {
    const BATCH: usize = 200;
    let token = login(&reqwest::Client::new(), &urls[0], email, "seeder").await;
    // Each task is a phone of its own boot, whose clock runs in real time. A clock that did not
    // (it once counted records, and four tasks shared one boot, so samples arrived out of
    // order) looked like a clock jump at every sync, and the server queued every record of
    // that boot to be judged again: work growing with what was held, beside the timed push.
    let boot = Instant::now();
    let mut tasks = Vec::new();
    let per_task = records.div_ceil(4);
    for t in 0..4 {
        let (url, token, tenant, site, user) = (
            urls[t % urls.len()].clone(),
            token.clone(),
            tenant.to_owned(),
            site.to_owned(),
            user.to_owned(),
        );
        let count = per_task.min(records.saturating_sub(t * per_task));
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let actor = ActorId::random();
            let boot_id = format!("seed-{t}");
            let mut made = 0;
            while made < count {
                let n = BATCH.min(count - made);
                let pushes = (made..made + n)
                    .map(|i| {
                        let stamp = Stamp::new(
                            sync_core::store::now_ms(),
                            boot.elapsed().as_millis() as i64,
                            boot_id.as_str(),
                        );
                        seed_push(&actor, &tenant, &site, &user, i, stamp)
                    })
                    .collect();
                made += n;
                let clock = (boot_id.as_str(), boot.elapsed().as_millis() as i64, 5);
                let body = sync_body((0, 0), clock, pushes);
                let answer = post_sync(&http, &url, &token, body).await.expect("seed sync");
                assert!(
                    answer.results.iter().all(|r| r.outcome == PushOutcome::Accepted),
                    "seed records accepted"
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("seeder");
    }
}

async fn login(http: &reqwest::Client, url: &str, email: &str, device: &str) -> String {
    let login = sync_core::protocol::LoginRequest {
        email: email.to_owned(),
        password: e2e_tests::PASSWORD.into(),
        device_id: format!("{device}-{}", new_id()),
        device_name: device.into(),
    };
    let answer: sync_core::protocol::TokenResponse = http
        .post(format!("{url}/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    answer.access_token
}

fn seed_push(actor: &ActorId, tenant: &str, site: &str, user: &str, i: usize, created: Stamp) -> DocPush {
    let now = created.wall_ms;
    let (kind, body) = if i % 3 == 2 {
        ("near_miss", Body::NearMiss(sample::near_miss(now - 60_000)))
    } else {
        ("jsea", typical_jsea(user))
    };
    let record = Record {
        header: Header {
            id: new_id(),
            kind: kind.into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant.into(),
            site_id: site.into(),
            job_id: None,
            created_by: user.into(),
            created,
        },
        body,
    };
    let mut doc = RecordDocument::create(actor.clone(), user, &record, now).expect("doc");
    DocPush {
        doc_id: record.header.id,
        base_heads: vec![],
        changes: doc.save(),
    }
}

/// A server in a process of its own (this binary's `serve` command), so its memory is measured
/// apart from the simulated devices.
pub(crate) struct ServerProcess {
    child: std::process::Child,
    pub url: String,
    /// The data directory when this process owns it (a copy of an in-process server's store).
    _dir: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// A process serving a copy of `server`'s store.
    async fn start(server: &TestServer) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        server.backup(&dir.path().join("records.db"));
        let mut process = Self::spawn(dir.path(), None, std::process::Stdio::inherit()).await;
        process._dir = Some(dir);
        process
    }

    /// A process on `data_dir` (its SQLite store and token signing key) or, with
    /// `database_url`, on that PostgreSQL database, its warnings written to `log`. Processes
    /// sharing one data directory share its signing key: start them one after another, so
    /// the first has written the key before the next reads it.
    pub(crate) async fn spawn(
        data_dir: &std::path::Path,
        database_url: Option<&str>,
        log: impl Into<std::process::Stdio>,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut command = std::process::Command::new(std::env::current_exe().expect("own path"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir);
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("server process starts");
        // Held by its guard from here on, so it is killed and reaped however this ends.
        let mut server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: None,
        };
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if http.get(format!("{}/healthz", server.url)).send().await.is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server process for {} exited: {status}", server.url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server process did not answer on {}", server.url);
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident memory so far.
    pub(crate) fn peak_rss_mib(&self) -> f64 {
        peak_rss_of(&format!("/proc/{}/status", self.child.id()))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The devices of a load run: the crew at one site, in one company.
pub(crate) struct Crew {
    pub tenant: String,
    pub email: String,
    pub user_id: String,
    pub site: String,
}

/// What a load run measured.
pub(crate) struct LoadRun {
    /// Each device's first sync (from cursor 0), sorted.
    pub first_latencies: Vec<Duration>,
    /// Each steady-state sync that succeeded: its latency and when it was sent after the start.
    pub timeline: Vec<(Duration, Duration)>,
    /// Steady-state syncs that failed or had a push refused.
    pub errors: usize,
    /// Records the steady-state syncs' answers carried down (other devices' near misses).
    pub updates_received: usize,
    /// The servers' peak memory, summed over the processes: after the sign-ins, after the
    /// first syncs, and at the end.
    pub signed_in_rss: f64,
    pub first_synced_rss: f64,
    pub end_rss: f64,
    /// CPU used during the steady state.
    pub cpu: CpuUse,
}

impl LoadRun {
    /// The steady-state latencies, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = self.timeline.iter().map(|(latency, _)| *latency).collect();
        all.sort();
        all
    }
}

fn peak_rss_sum(servers: &[ServerProcess]) -> f64 {
    servers.iter().map(ServerProcess::peak_rss_mib).sum()
}

/// `devices` devices of `crew` sign in (device n to `servers[n % servers.len()]`, and it syncs
/// there from then on), sync from cursor 0 all at once, then sync every `interval` (zero: back
/// to back) for `seconds`; every tenth sync of a device files a new near miss.
pub(crate) async fn drive_load(
    servers: &[ServerProcess],
    crew: &Crew,
    devices: usize,
    seconds: u64,
    interval: Duration,
) -> LoadRun {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()
        .expect("client");
    let mut signed_in = Vec::new();
    for n in 0..devices {
        let url = servers[n % servers.len()].url.clone();
        let token = login(&http, &url, &crew.email, &format!("load-{n}")).await;
        signed_in.push((url, token));
    }
    let signed_in_rss = peak_rss_sum(servers);
    // Each device's first sync (from cursor 0, reading past the records of other sites) is a cold
    // start, scenario 4's business: all of them at once, timed apart from the steady state.
    let mut first = Vec::new();
    for (url, token) in &signed_in {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        first.push(tokio::spawn(async move {
            let sent = Instant::now();
            let body = sync_body((0, 0), ("load", 0, 0), vec![]);
            let answer = post_sync(&http, &url, &token, body).await.expect("first sync");
            (answer.cursor, answer.cursor_check, sent.elapsed())
        }));
    }
    let mut positions = Vec::new();
    let mut first_latencies = Vec::new();
    for task in first {
        let (cursor, check, latency) = task.await.expect("first sync");
        positions.push((cursor, check));
        first_latencies.push(latency);
    }
    first_latencies.sort();
    let first_synced_rss = peak_rss_sum(servers);
    let pids: Vec<u32> = servers.iter().map(ServerProcess::pid).collect();
    let cpu_before = CpuReading::now(&pids);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let updates_received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (n, ((url, token), position)) in signed_in.into_iter().zip(positions).enumerate() {
        let http = http.clone();
        let latencies = latencies.clone();
        let errors = errors.clone();
        let updates_received = updates_received.clone();
        let tenant = crew.tenant.clone();
        let user = crew.user_id.clone();
        let site = crew.site.clone();
        tasks.push(tokio::spawn(async move {
            // Devices start spread over one interval, as phones coming into signal would.
            let mut next = started + interval.mul_f64(n as f64 / devices as f64);
            let actor = ActorId::random();
            let (mut cursor, mut check) = position;
            let mut i = 0u64;
            while next < deadline {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let pushes = if i % 10 == 9 {
                    vec![near_miss_push(&actor, &tenant, &site, &user)]
                } else {
                    vec![]
                };
                let body = sync_body((cursor, check), ("load", i as i64, 5), pushes);
                let sent = Instant::now();
                match post_sync(&http, &url, &token, body).await {
                    Ok(answer) if answer.results.iter().all(|r| r.outcome == PushOutcome::Accepted) => {
                        let latency = sent.elapsed();
                        cursor = answer.cursor;
                        check = answer.cursor_check;
                        updates_received
                            .fetch_add(answer.updates.len(), std::sync::atomic::Ordering::Relaxed);
                        latencies
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((latency, sent - started));
                    }
                    _ => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                i += 1;
                if next < Instant::now() {
                    // Running late: the next sync goes out at once rather than in a burst.
                    next = Instant::now();
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("device");
    }
    let cpu = CpuReading::now(&pids).since(&cpu_before, started.elapsed().as_secs_f64());
    let timeline = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
    LoadRun {
        first_latencies,
        timeline,
        errors: errors.load(std::sync::atomic::Ordering::SeqCst),
        updates_received: updates_received.load(std::sync::atomic::Ordering::Relaxed),
        signed_in_rss,
        first_synced_rss,
        end_rss: peak_rss_sum(servers),
        cpu,
    }
}

/// `devices` phones syncing every `interval` (none: back to back) for `seconds`, against a
/// server process holding `records` records.
pub async fn load(devices: usize, seconds: u64, records: usize, interval: Duration) -> Checks {
    let mut checks = Checks::new("load");
    let bench = Bench::new().await;
    let (email, site) = bench.worker(0);
    let seeder = bench
        .server
        .store()
        .user_by_email(&email)
        .expect("lookup")
        .expect("user");
    let seeding = Instant::now();
    seed(
        std::slice::from_ref(&bench.server.url),
        &email,
        &bench.tenant,
        &site,
        &seeder.id,
        records,
    )
    .await;
    let seeding = seeding.elapsed();

    // The load devices belong to a crew at another site: their syncs are mostly idle, with a
    // near-miss filed now and then.
    let (crew_email, crew_site) = bench.worker(1);
    let crew_user = bench
        .server
        .store()
        .user_by_email(&crew_email)
        .expect("lookup")
        .expect("user");
    let crew = Crew {
        tenant: bench.tenant.clone(),
        email: crew_email,
        user_id: crew_user.id,
        site: crew_site,
    };
    let server = ServerProcess::start(&bench.server).await;
    let idle_rss = server.peak_rss_mib();
    let servers = std::slice::from_ref(&server);
    let run = drive_load(servers, &crew, devices, seconds, interval).await;
    let all = run.latencies();
    let errors = run.errors;
    let pace = if interval.is_zero() {
        "back to back".to_owned()
    } else {
        format!("every {} ms", interval.as_millis())
    };
    println!(
        "\n### Load: {devices} devices syncing {pace} for {seconds} s against a server process holding {records} records (seeded in {})\n",
        ms(seeding)
    );
    println!(
        "First syncs of all {devices} devices at once (from cursor 0): median {}, slowest {}.\n",
        ms(percentile(&run.first_latencies, 0.5)),
        ms(run.first_latencies.last().copied().unwrap_or_default())
    );
    println!(
        "Peak server memory after the {devices} sign-ins: {:.0} MiB; after the first syncs: {:.0} MiB.\n",
        run.signed_in_rss, run.first_synced_rss
    );
    println!(
        "| requests | requests/s | errors | p50 | p99 | max | server memory before load | peak server memory |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {:.0} | {errors} | {} | {} | {} | {idle_rss:.0} MiB | {:.0} MiB |",
        all.len(),
        all.len() as f64 / seconds as f64,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
        run.end_rss
    );
    print_slow_syncs(&run.timeline, seconds);
    checks.equal("failed or refused syncs", errors, 0);
    checks.that(!all.is_empty(), || "no sync completed".to_owned());
    checks.within("peak server memory, MiB", run.end_rss, 1_024.0);
    drop(server);
    bench.server.stop().await;
    checks
}

/// The load scenario's target for one sync: slower ones are counted and placed in time.
pub(crate) const SLOW_SYNC: Duration = Duration::from_millis(250);

/// When the slow syncs (over the 250 ms target) were sent, in 5-second buckets: a stall at the
/// start reads differently from one that recurs.
pub(crate) fn print_slow_syncs(timeline: &[(Duration, Duration)], seconds: u64) {
    const SLOW: Duration = SLOW_SYNC;
    const BUCKET_S: u64 = 5;
    let buckets = seconds.div_ceil(BUCKET_S).max(1) as usize;
    let mut slow = vec![(0usize, Duration::ZERO); buckets];
    for (latency, sent_at) in timeline.iter().filter(|(latency, _)| *latency > SLOW) {
        let bucket = ((sent_at.as_secs() / BUCKET_S) as usize).min(buckets - 1);
        slow[bucket].0 += 1;
        slow[bucket].1 = slow[bucket].1.max(*latency);
    }
    let total: usize = slow.iter().map(|(n, _)| n).sum();
    println!(
        "\nSyncs over {} ms: {total}, by when they were sent:\n",
        SLOW.as_millis()
    );
    println!("| sent at | slow syncs | slowest |");
    println!("| --- | ---: | ---: |");
    for (i, (n, worst)) in slow.iter().enumerate().filter(|(_, (n, _))| *n > 0) {
        let from = i as u64 * BUCKET_S;
        println!("| {from}–{} s | {n} | {} |", from + BUCKET_S, ms(*worst));
    }
}

fn near_miss_push(actor: &ActorId, tenant: &str, site: &str, user: &str) -> DocPush {
    let now = sync_core::store::now_ms();
    let record = Record {
        header: Header {
            id: new_id(),
            kind: "near_miss".into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant.into(),
            site_id: site.into(),
            job_id: None,
            created_by: user.into(),
            created: Stamp::new(now, 1, "load"),
        },
        body: Body::NearMiss(sample::near_miss(now - 60_000)),
    };
    let mut doc = RecordDocument::create(actor.clone(), user, &record, now).expect("doc");
    DocPush {
        doc_id: record.header.id,
        base_heads: vec![],
        changes: doc.save(),
    }
}
