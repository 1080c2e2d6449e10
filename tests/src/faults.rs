//! Fault injection for the end-to-end tests: the server as a real process that a test SIGKILLs
//! and restarts, a proxy that drops answers and duplicates and reorders requests, tmpfs mounts
//! for a full or read-only data directory, and seeded device workloads that remember every edit
//! the server acknowledged, so a test can prove none was lost.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::ChangeHash;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::store::sqlite::SqliteStore;
use server::store::{NewUser, RecordStore, Scope};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::sync::{RetryPolicy, SyncClient, SyncReport};
use sync_core::{Record, RecordDocument, Store, sample};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::PASSWORD;

/// A company seeded straight into a record store file, before any server process opens it.
#[derive(Debug, Clone)]
pub struct SeededCompany {
    pub tenant_id: String,
    pub site_id: String,
    /// User id by email.
    pub users: BTreeMap<String, String>,
}

/// Creates a company with one site and `people` on it in the record store at `db`.
pub fn seed_company(db: &Path, people: &[(&str, Role)]) -> SeededCompany {
    let store = SqliteStore::open(db).expect("record store opens for seeding");
    seed_company_in(&store, people)
}

/// Creates a company with one site and `people` on it in `store` (SQLite or PostgreSQL).
pub fn seed_company_in(store: &dyn RecordStore, people: &[(&str, Role)]) -> SeededCompany {
    let company = store.create_company("Fault Line Energy").expect("company");
    let site = store.create_site(&company.id, "Pad 7", "system").expect("site");
    let hash = server::auth::hash_password(PASSWORD).expect("hash");
    let mut users = BTreeMap::new();
    for (email, role) in people {
        let sites = if *role == Role::Admin {
            vec![]
        } else {
            vec![site.id.clone()]
        };
        let user = store
            .create_user(
                &company.id,
                NewUser {
                    email: (*email).into(),
                    name: email.split('@').next().unwrap_or("someone").into(),
                    role: *role,
                    password_hash: hash.clone(),
                    sites,
                },
                "system",
            )
            .expect("user");
        users.insert((*email).to_owned(), user.id);
    }
    SeededCompany {
        tenant_id: company.id,
        site_id: site.id,
        users,
    }
}

/// A plain HTTP client for the harness (health checks, the proxy's upstream calls).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    // reqwest is built without a default TLS provider in this workspace: install the core's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}

/// A port that was free a moment ago; the caller retries if someone took it since.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// The server binary run as a child process on a data directory, killed with SIGKILL
/// (`Child::kill` on Unix) and restarted on the same port so devices keep their server URL.
pub struct ServerProcess {
    binary: PathBuf,
    pub data_dir: PathBuf,
    log: PathBuf,
    /// Flags beyond `--listen` and `--data-dir` (`--database-url …`), on every start and restart.
    extra_args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
    pub kills: u32,
}

impl std::fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The extra flags may carry a database URL: its password stays out of test output.
        let extra_args: Vec<String> = self
            .extra_args
            .iter()
            .map(|a| server::store::postgres::redact_password(a))
            .collect();
        f.debug_struct("ServerProcess")
            .field("data_dir", &self.data_dir)
            .field("extra_args", &extra_args)
            .field("port", &self.port)
            .field("kills", &self.kills)
            .finish_non_exhaustive()
    }
}

impl ServerProcess {
    /// Starts `binary` (the tests pass `env!("CARGO_BIN_EXE_fault-server")`) on `data_dir`,
    /// appending its output to `log`, on a free port (another one if the first was taken).
    pub async fn start(binary: &Path, data_dir: &Path, log: &Path) -> Self {
        Self::start_with(binary, data_dir, log, &[]).await
    }

    /// [`ServerProcess::start`] with more flags, e.g. `["--database-url", url]`.
    pub async fn start_with(binary: &Path, data_dir: &Path, log: &Path, extra_args: &[&str]) -> Self {
        assert!(
            binary.is_file(),
            "server binary {} is missing: build it with `cargo build -p e2e-tests --bins`",
            binary.display()
        );
        let mut server = Self {
            binary: binary.to_owned(),
            data_dir: data_dir.to_owned(),
            log: log.to_owned(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            port: 0,
            child: None,
            kills: 0,
        };
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn_and_wait().await {
                return server;
            }
        }
        panic!(
            "the server did not start on any of 5 ports:\n{}",
            server.log_text()
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process again after a kill, on the same port.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running server");
        // The port was ours until the kill; give the kernel a moment if it is still held.
        for _ in 0..50 {
            if self.spawn_and_wait().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the server did not restart on port {}:\n{}",
            self.port,
            self.log_text()
        );
    }

    /// SIGKILL: no shutdown hook runs, in-flight requests and transactions are cut short.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Spawns the process and waits for `/healthz`; false if it exited first (port taken).
    async fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let child = Command::new(&self.binary)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        self.child = Some(child);
        let http = http_client(Duration::from_millis(500));
        let health = format!("{}/healthz", self.url());
        for _ in 0..2_000 {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().expect("child status").is_some()
            {
                self.child = None;
                return false;
            }
            if let Ok(response) = http.get(&health).send().await
                && response.status().is_success()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server never answered {health}:\n{}", self.log_text());
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every document in a record store file, loaded as the server would load it.
pub fn server_documents(db: &Path) -> BTreeMap<String, RecordDocument> {
    let store = SqliteStore::open(db).expect("record store opens after the run");
    let ids: Vec<(String, String)> = {
        let conn = rusqlite::Connection::open(db).expect("open for ids");
        let mut statement = conn.prepare("SELECT tenant_id, id FROM documents").expect("ids");
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("ids")
            .collect::<Result<_, _>>()
            .expect("ids")
    };
    server_documents_in(&store, &ids)
}

/// The documents `ids` (tenant, record id) in `store`, loaded as the server would load them.
pub fn server_documents_in(
    store: &dyn RecordStore,
    ids: &[(String, String)],
) -> BTreeMap<String, RecordDocument> {
    ids.iter()
        .map(|(tenant, id)| {
            let stored = store
                .document(tenant, id)
                .expect("read")
                .expect("listed, so stored");
            let doc = RecordDocument::load_chunks(
                &stored.snapshot,
                stored.chunks.iter().map(Vec::as_slice),
                automerge::ActorId::random(),
            )
            .unwrap_or_else(|e| panic!("server document {id} does not load: {e}"));
            (id.clone(), doc)
        })
        .collect()
}

/// An office admin's view of a company: sees every site.
pub fn admin_scope(tenant_id: &str) -> Scope {
    Scope {
        tenant_id: tenant_id.to_owned(),
        user_id: "e2e-harness".into(),
        role: Role::Admin,
        sites: vec![],
    }
}

/// The ids of every record in the company's change feed, read from the first entry on.
pub fn feed_record_ids(store: &dyn RecordStore, tenant_id: &str) -> BTreeSet<String> {
    let scope = admin_scope(tenant_id);
    let mut ids = BTreeSet::new();
    let mut cursor = 0;
    loop {
        let page = store.feed(&scope, cursor, 500).expect("feed");
        let Some(last) = page.last() else {
            return ids;
        };
        cursor = last.seq;
        ids.extend(page.into_iter().map(|entry| entry.doc_id));
    }
}

/// Retries short enough that a device gives up during a server restart and tries again later.
pub fn impatient_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
    }
}

/// A phone in a fault test: its store, its client, and the heads at which the server
/// acknowledged each record (its outbox entry cleared), which the server must still hold.
#[derive(Debug)]
pub struct Device {
    pub email: String,
    pub user_id: String,
    pub store: Store,
    pub client: SyncClient,
    pub acknowledged: BTreeMap<String, Vec<ChangeHash>>,
    pub syncs_ok: u32,
    pub syncs_failed: u32,
    edits: u32,
}

/// What a seeded edit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    CreateJsea,
    CreateNearMiss,
    MusterPoint,
    Sign,
    NearMissLocation,
}

impl Device {
    pub async fn sign_in(dir: &Path, url: &str, email: &str, policy: RetryPolicy) -> Device {
        let path = dir.join(format!("{}.db", email.replace(['@', '.'], "_")));
        let mut store = Store::open(&path).expect("device store");
        let client = SyncClient::new(policy).expect("client");
        let user = client
            .login(&mut store, url, email, PASSWORD, "fault phone")
            .await
            .unwrap_or_else(|e| panic!("{email} cannot sign in: {e}"));
        Device {
            email: email.to_owned(),
            user_id: user.id,
            store,
            client,
            acknowledged: BTreeMap::new(),
            syncs_ok: 0,
            syncs_failed: 0,
            edits: 0,
        }
    }

    /// One sync; whatever its outcome, notes every record whose outbox entry is now clear.
    pub async fn sync(&mut self) -> Result<SyncReport, sync_core::Error> {
        let result = self.client.sync(&mut self.store, &|_| {}).await;
        match &result {
            Ok(_) => self.syncs_ok += 1,
            Err(_) => self.syncs_failed += 1,
        }
        self.note_acknowledged();
        result
    }

    fn note_acknowledged(&mut self) {
        let waiting: BTreeSet<String> = self
            .store
            .pending()
            .expect("pending")
            .into_iter()
            .map(|p| p.record_id)
            .chain(self.store.fallback_ids().expect("fallback ids"))
            .collect();
        for id in self.store.record_ids().expect("ids") {
            if !waiting.contains(&id) {
                let heads = self.store.document(&id).expect("document").heads();
                self.acknowledged.insert(id, heads);
            }
        }
    }

    /// One seeded edit as a crew member would make it. With `own_records_only`, scalar fields
    /// are written only on records this device created, so no two devices write the same field
    /// and the merged result does not depend on the order edits reach the server.
    pub fn random_edit(&mut self, rng: &mut StdRng, site_id: &str, own_records_only: bool) -> EditKind {
        self.edits += 1;
        let n = self.edits as i64;
        let label = format!("{} #{n}", self.email);
        // Candidates in label order, not id order: ids are random, and a seed must pick the
        // same record in every run.
        let mut jseas = Vec::new();
        let mut own_near_misses = Vec::new();
        for id in self.store.record_ids().expect("ids") {
            let record = self.store.record(&id).expect("record").record;
            let own = record.header.created_by == self.user_id;
            match record.body {
                Body::Jsea(j) if j.status != sync_core::model::JseaStatus::Closed => {
                    jseas.push((j.task, id, own))
                }
                Body::NearMiss(m) if own => own_near_misses.push((m.what_happened, id)),
                _ => {}
            }
        }
        jseas.sort();
        own_near_misses.sort();
        let jseas: Vec<(String, bool)> = jseas.into_iter().map(|(_, id, own)| (id, own)).collect();
        let own_near_misses: Vec<String> = own_near_misses.into_iter().map(|(_, id)| id).collect();
        let editable: Vec<&String> = jseas
            .iter()
            .filter(|(_, own)| *own || !own_records_only)
            .map(|(id, _)| id)
            .collect();
        let roll = rng.random_range(0..100);
        let stamp = crate::at(n);
        if roll < 25 || jseas.is_empty() {
            let mut jsea = sample::jsea();
            jsea.task = label;
            self.store
                .create(site_id, None, Body::Jsea(jsea), stamp)
                .expect("create JSEA");
            EditKind::CreateJsea
        } else if roll < 45 || (roll < 90 && own_near_misses.is_empty() && roll >= 70) {
            let mut near_miss = sample::near_miss(stamp.wall_ms);
            near_miss.what_happened = label;
            self.store
                .create(site_id, None, Body::NearMiss(near_miss), stamp)
                .expect("create near-miss");
            EditKind::CreateNearMiss
        } else if roll < 70 && !editable.is_empty() {
            let id = editable[rng.random_range(0..editable.len())].clone();
            self.store
                .edit(&id, |r| {
                    if let Body::Jsea(j) = &mut r.body {
                        j.muster_point = label.clone();
                    }
                    Ok(())
                })
                .expect("edit muster point");
            EditKind::MusterPoint
        } else if roll < 90 && !own_near_misses.is_empty() {
            let id = own_near_misses[rng.random_range(0..own_near_misses.len())].clone();
            self.store
                .edit(&id, |r| {
                    if let Body::NearMiss(m) = &mut r.body {
                        m.location_description = Some(label.clone());
                    }
                    Ok(())
                })
                .expect("edit near-miss");
            EditKind::NearMissLocation
        } else {
            let (id, _) = &jseas[rng.random_range(0..jseas.len())];
            self.store.sign(id, stamp).expect("sign");
            EditKind::Sign
        }
    }
}

/// Asserts that every record each device saw acknowledged is on the server with at least the
/// acknowledged changes. Returns how many (device, record) acknowledgements were checked.
pub fn assert_nothing_acknowledged_was_lost(
    devices: &[Device],
    server: &mut BTreeMap<String, RecordDocument>,
    context: &str,
) -> usize {
    let mut checked = 0;
    for device in devices {
        for (id, heads) in &device.acknowledged {
            let Some(doc) = server.get_mut(id) else {
                panic!(
                    "{context}: record {id} acknowledged to {} is not on the server",
                    device.email
                );
            };
            assert!(
                doc.has_all(heads),
                "{context}: record {id} acknowledged to {} at heads {heads:?} lacks some of them on the server",
                device.email
            );
            checked += 1;
        }
    }
    checked
}

/// Asserts that every device holds exactly what the server holds for each record it has, and
/// that each device in `full_view` holds every record on the server. Returns the record count.
pub fn assert_converged(
    devices: &[Device],
    full_view: &[&str],
    server: &mut BTreeMap<String, RecordDocument>,
    context: &str,
) -> usize {
    for device in devices {
        let pending = device.store.pending().expect("pending");
        assert!(
            pending.is_empty(),
            "{context}: {} still has {pending:?} queued",
            device.email
        );
        let ids: BTreeSet<String> = device.store.record_ids().expect("ids").into_iter().collect();
        for id in &ids {
            let doc = server
                .get_mut(id)
                .unwrap_or_else(|| panic!("{context}: {id} on {} is not on the server", device.email));
            let mut mine = device.store.document(id).expect("document");
            let (mut theirs, mut ours) = (doc.heads(), mine.heads());
            theirs.sort();
            ours.sort();
            assert_eq!(
                ours, theirs,
                "{context}: {id} has other heads on {}",
                device.email
            );
            assert_eq!(
                mine.record().expect("device record"),
                doc.record().expect("server record"),
                "{context}: {id} differs on {}",
                device.email
            );
        }
        if full_view.contains(&device.email.as_str()) {
            let on_server: BTreeSet<String> = server.keys().cloned().collect();
            assert_eq!(
                ids, on_server,
                "{context}: {} does not hold every record",
                device.email
            );
        }
    }
    server.len()
}

/// Counts of what a [`FaultProxy`] did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub forwarded: AtomicU32,
    pub dropped: AtomicU32,
    pub duplicated: AtomicU32,
    pub reordered: AtomicU32,
}

impl ProxyStats {
    pub fn get(&self) -> (u32, u32, u32, u32) {
        (
            self.forwarded.load(Ordering::SeqCst),
            self.dropped.load(Ordering::SeqCst),
            self.duplicated.load(Ordering::SeqCst),
            self.reordered.load(Ordering::SeqCst),
        )
    }
}

/// How often a [`FaultProxy`] does what to a sync request, in percent.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    /// The server processes the request; the answer never reaches the device.
    pub drop_answer: u32,
    /// The server receives the request twice; the device gets the answer to the second.
    pub duplicate: u32,
    /// The request is held (the device sees the connection fail) and delivered after a later one.
    pub hold: u32,
}

#[derive(Debug, Clone)]
struct HttpRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// An HTTP/1.1 proxy between devices and the server that injects faults into `POST /v1/sync`
/// by seeded choice, and loses the answers of as many token refreshes as a test asks; every other
/// request passes through untouched. One request per connection.
#[derive(Debug)]
pub struct FaultProxy {
    pub url: String,
    pub stats: Arc<ProxyStats>,
    lost_refreshes: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    rates: FaultRates,
    rng: Mutex<StdRng>,
    held: Mutex<Vec<HttpRequest>>,
    stats: Arc<ProxyStats>,
    /// Token refreshes still to lose the answer of (the server processes them).
    lost_refreshes: Arc<AtomicU32>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, rates: FaultRates, seed: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stats = Arc::new(ProxyStats::default());
        let lost_refreshes = Arc::new(AtomicU32::new(0));
        let state = Arc::new(ProxyState {
            lost_refreshes: lost_refreshes.clone(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: http_client(Duration::from_secs(30)),
            rates,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            held: Mutex::new(Vec::new()),
            stats: stats.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = state.serve(socket).await;
                });
            }
        });
        Self {
            url,
            stats,
            lost_refreshes,
            task,
        }
    }

    /// The answers to the next `count` token refreshes are lost after the server handled them.
    pub fn lose_refresh_answers(&self, count: u32) {
        self.lost_refreshes.store(count, Ordering::SeqCst);
    }

    /// Stops accepting connections; a request still held is never delivered.
    pub fn stop(self) {
        self.task.abort();
    }
}

enum Fault {
    None,
    DropAnswer,
    Duplicate,
    Hold,
}

impl ProxyState {
    fn choose(&self, request: &HttpRequest) -> Fault {
        if request.method == "POST"
            && request.path == "/v1/auth/refresh"
            && self
                .lost_refreshes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Fault::DropAnswer;
        }
        if request.method != "POST" || request.path != "/v1/sync" {
            return Fault::None;
        }
        let roll = self
            .rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(0..100);
        let FaultRates {
            drop_answer,
            duplicate,
            hold,
        } = self.rates;
        if roll < drop_answer {
            Fault::DropAnswer
        } else if roll < drop_answer + duplicate {
            Fault::Duplicate
        } else if roll < drop_answer + duplicate + hold {
            Fault::Hold
        } else {
            Fault::None
        }
    }

    async fn serve(&self, mut socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let Some(request) = read_request(&mut socket).await? else {
            return Ok(());
        };
        let answer = match self.choose(&request) {
            Fault::Hold => {
                self.held.lock().unwrap_or_else(|p| p.into_inner()).push(request);
                self.stats.reordered.fetch_add(1, Ordering::SeqCst);
                // The device sees the connection close unanswered, like a timeout.
                return Ok(());
            }
            Fault::None => self.forward(&request).await,
            Fault::DropAnswer => {
                let _ = self.forward(&request).await;
                self.stats.dropped.fetch_add(1, Ordering::SeqCst);
                self.deliver_held().await;
                return Ok(());
            }
            Fault::Duplicate => {
                let _ = self.forward(&request).await;
                self.stats.duplicated.fetch_add(1, Ordering::SeqCst);
                self.forward(&request).await
            }
        };
        // Held requests reach the server only after this later one: out of order.
        self.deliver_held().await;
        match answer {
            Some(answer) => write_answer(&mut socket, answer).await,
            None => Ok(()),
        }
    }

    async fn deliver_held(&self) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        for request in held {
            let _ = self.forward(&request).await;
        }
    }

    /// Sends the request to the server; `None` when the server could not be reached.
    async fn forward(&self, request: &HttpRequest) -> Option<(u16, String, Vec<u8>)> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).ok()?;
        let response = send_upstream(&self.http, &self.upstream, method, request)
            .await
            .ok()?;
        self.stats.forwarded.fetch_add(1, Ordering::SeqCst);
        read_answer(response).await.ok()
    }
}

/// Sends `request` to `upstream` (`http://host:port`) as it came, less the hop-by-hop headers.
async fn send_upstream(
    http: &reqwest::Client,
    upstream: &str,
    method: reqwest::Method,
    request: &HttpRequest,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut builder = http
        .request(method, format!("{upstream}{}", request.path))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if !["host", "connection", "content-length"].contains(&name.as_str()) {
            builder = builder.header(name, value);
        }
    }
    builder.send().await
}

/// An upstream's answer: status, content type and body.
async fn read_answer(response: reqwest::Response) -> Result<(u16, String, Vec<u8>), reqwest::Error> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let body = response.bytes().await?.to_vec();
    Ok((status, content_type, body))
}

/// Writes an answer and closes the connection (one request per connection).
async fn write_answer(
    socket: &mut tokio::net::TcpStream,
    (status, content_type, body): (u16, String, Vec<u8>),
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown"),
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(&body).await?;
    socket.shutdown().await
}

/// Counts of what a [`Balancer`] did.
#[derive(Debug, Default)]
pub struct BalancerStats {
    /// Requests each upstream answered, in the order the upstreams were given.
    pub answered: Vec<AtomicU32>,
    /// `POST /v1/sync` requests each upstream answered.
    pub syncs: Vec<AtomicU32>,
    /// Requests passed to the next upstream because the chosen one refused the connection.
    pub failovers: AtomicU32,
    /// Requests an upstream took and never answered (it died): answered 502, as nginx does.
    pub cut_off: AtomicU32,
}

impl BalancerStats {
    fn count(counters: &[AtomicU32]) -> Vec<u32> {
        counters.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    }

    pub fn answered(&self) -> Vec<u32> {
        Self::count(&self.answered)
    }

    pub fn syncs(&self) -> Vec<u32> {
        Self::count(&self.syncs)
    }
}

/// A round-robin load balancer in front of several server processes: each request goes to the
/// next upstream; one that refuses the connection (it is down) is skipped for the next, as a
/// balancer with health checks skips it. A request an upstream took and died on is not sent
/// again (it may have been applied): the device gets 502 and retries. One request per connection.
#[derive(Debug)]
pub struct Balancer {
    pub url: String,
    pub stats: Arc<BalancerStats>,
    task: tokio::task::JoinHandle<()>,
}

struct BalancerState {
    upstreams: Vec<String>,
    http: reqwest::Client,
    next: AtomicU32,
    stats: Arc<BalancerStats>,
}

impl Balancer {
    pub async fn start(upstreams: &[String]) -> Self {
        assert!(!upstreams.is_empty(), "a balancer needs an upstream");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind balancer");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stats = Arc::new(BalancerStats {
            answered: upstreams.iter().map(|_| AtomicU32::new(0)).collect(),
            syncs: upstreams.iter().map(|_| AtomicU32::new(0)).collect(),
            ..BalancerStats::default()
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let state = Arc::new(BalancerState {
            upstreams: upstreams
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            // No pooled connections: a connection to a process killed since would fail as a
            // cut-off request instead of a refused connection.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(0)
                .build()
                .expect("HTTP client"),
            next: AtomicU32::new(0),
            stats: stats.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = state.serve(socket).await;
                });
            }
        });
        Self { url, stats, task }
    }

    /// Stops accepting connections.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl BalancerState {
    async fn serve(&self, mut socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let Some(request) = read_request(&mut socket).await? else {
            return Ok(());
        };
        let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
            return write_answer(&mut socket, gateway_error(400, "not an HTTP method")).await;
        };
        let count = self.upstreams.len();
        let first = self.next.fetch_add(1, Ordering::SeqCst) as usize;
        for offset in 0..count {
            let upstream = (first + offset) % count;
            let answer =
                match send_upstream(&self.http, &self.upstreams[upstream], method.clone(), &request).await {
                    Ok(response) => read_answer(response).await,
                    Err(e) if e.is_connect() => {
                        self.stats.failovers.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    Err(e) => Err(e),
                };
            let Ok(answer) = answer else {
                self.stats.cut_off.fetch_add(1, Ordering::SeqCst);
                return write_answer(
                    &mut socket,
                    gateway_error(502, "the upstream closed the connection"),
                )
                .await;
            };
            self.stats.answered[upstream].fetch_add(1, Ordering::SeqCst);
            if request.method == "POST" && request.path == "/v1/sync" {
                self.stats.syncs[upstream].fetch_add(1, Ordering::SeqCst);
            }
            return write_answer(&mut socket, answer).await;
        }
        write_answer(&mut socket, gateway_error(503, "no upstream is up")).await
    }
}

fn gateway_error(status: u16, why: &str) -> (u16, String, Vec<u8>) {
    (status, "text/plain".into(), why.as_bytes().to_vec())
}

/// Reads one HTTP/1.1 request with a `content-length` body (what reqwest sends).
async fn read_request(socket: &mut tokio::net::TcpStream) -> std::io::Result<Option<HttpRequest>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(HttpRequest {
        method,
        path,
        headers,
        body,
    }))
}

/// A tmpfs mounted on a fresh directory, unmounted (lazily if still busy) when dropped, so a
/// failing test never leaves a mount behind.
#[derive(Debug)]
pub struct Tmpfs {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount` takes it: `4m`). Needs root.
    pub fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().to_owned();
        run_mount(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size}"),
            "tmpfs",
            &path.to_string_lossy(),
        ])?;
        Ok(Self { path, _dir: dir })
    }

    /// `mount -o remount,<options>` on this tmpfs.
    pub fn remount(&self, options: &str) -> Result<(), String> {
        run_mount(&["-o", &format!("remount,{options}"), &self.path.to_string_lossy()])
    }
}

fn run_mount(args: &[&str]) -> Result<(), String> {
    let output = Command::new("mount")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run mount {args:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let path = self.path.to_string_lossy().into_owned();
        let unmounted = Command::new("umount")
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").args(["-l", &path]).status();
        }
    }
}

/// Fills the file system holding `dir` with a file until writes fail for lack of space.
pub fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let block = vec![0xA5u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&block).and_then(|_| file.sync_all()) {
            assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC, got {e}");
            break;
        }
    }
    // Whatever fits in less than a block goes too, so the file system is full to the byte.
    for size in [4096usize, 512, 1] {
        while file
            .write_all(&block[..size])
            .and_then(|_| file.sync_all())
            .is_ok()
        {}
    }
    path
}

/// Reads all of a child's remaining stdout.
pub fn drain(stdout: &mut impl Read) -> String {
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    rest
}

/// The record a server or device document holds, with ids replaced by the names in `names`,
/// ids the test does not control (steps, hazards) and content hashes dropped, and lists of
/// names sorted: what two runs of the same edits can be compared on.
pub fn comparable(record: &Record, names: &BTreeMap<String, String>) -> serde_json::Value {
    fn walk(value: serde_json::Value, names: &BTreeMap<String, String>) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(names.get(&s).cloned().unwrap_or(s)),
            Value::Array(items) => {
                let mut items: Vec<Value> = items.into_iter().map(|v| walk(v, names)).collect();
                if items.iter().all(Value::is_string) {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
                Value::Array(items)
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| k != "id" && k != "content_hash")
                    .map(|(k, v)| (names.get(&k).cloned().unwrap_or(k), walk(v, names)))
                    .collect(),
            ),
            other => other,
        }
    }
    walk(serde_json::to_value(record).expect("record json"), names)
}
