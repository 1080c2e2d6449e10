//! Test harness: a real server on 127.0.0.1:0 with a temporary record store, and phones, each
//! with its own SQLite store, signing in and syncing over HTTP. The tests live in `tests/tests/`.

pub mod faults;

use std::sync::Arc;
use std::time::Duration;

use server::AppState;
use server::store::{NewUser, RecordStore};
use sync_core::protocol::Role;
use sync_core::sync::{RetryPolicy, SyncClient, SyncReport};
use sync_core::{GpsFix, Stamp, Store};

pub const PASSWORD: &str = "correct horse battery";

/// A running server and its store.
#[derive(Debug)]
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A company made for a test: ids of its sites and the emails of its people.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub site_a: String,
    pub site_b: String,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server, letting the test adjust its state (limits, token lifetime) first.
    pub async fn start_with(adjust: impl FnOnce(&mut AppState)) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), adjust).await
    }

    /// Starts a server on the store in `dir` (a new one if the directory is empty).
    pub async fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut AppState)) -> Self {
        let store =
            server::store::sqlite::SqliteStore::open(&dir.path().join("records.db")).expect("store opens");
        let mut state = AppState::new(Arc::new(store), b"test signing secret, 32 bytes min!");
        adjust(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::launch_with_listener(state.clone(), listener, async {
            let _ = rx.await;
        }));
        Self {
            url,
            state,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn store(&self) -> &dyn RecordStore {
        self.state.store.as_ref()
    }

    /// Everything a refused request could have changed, for the given companies: users, sites,
    /// devices, the audit log, the change feed, and every record with its detail and flags. A
    /// device's last contact time is left out: a sync that was heard and then refused per record
    /// is contact. The security suites compare it before and after each refusal.
    pub fn snapshot(&self, tenants: &[&str]) -> serde_json::Value {
        let store = self.store();
        let mut all = serde_json::Map::new();
        for tenant in tenants {
            let scope = server::store::Scope {
                tenant_id: (*tenant).into(),
                user_id: "security-suite".into(),
                role: Role::Admin,
                sites: vec![],
            };
            let filter = sync_core::ListFilter {
                limit: Some(10_000),
                ..sync_core::ListFilter::default()
            };
            let records = store.list_records(&scope, &filter).expect("records");
            let details: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    let now_ms = (self.state.clock)();
                    let detail = server::routes::detail_of(store, tenant, &r.id, now_ms).expect("detail");
                    serde_json::to_value(detail).expect("json")
                })
                .collect();
            let mut devices = serde_json::to_value(store.devices(tenant).expect("devices")).expect("json");
            for device in devices.as_array_mut().expect("devices") {
                device["last_sync_at_ms"] = serde_json::Value::Null;
            }
            let users: Vec<String> = store
                .users(tenant)
                .expect("users")
                .iter()
                .map(|u| format!("{u:?}"))
                .collect();
            all.insert(
                (*tenant).into(),
                serde_json::json!({
                    "users": users,
                    "sites": store.sites(tenant).expect("sites"),
                    "devices": devices,
                    "audit": store.audit_log(tenant, 10_000).expect("audit"),
                    "feed_head": store.feed_head(tenant).expect("feed head"),
                    "records": records,
                    "details": details,
                }),
            );
        }
        serde_json::Value::Object(all)
    }

    pub fn company(&self, name: &str, people: &[(&str, Role, &[usize])]) -> Company {
        let store = self.store();
        let company = store.create_company(name).expect("company");
        let a = store.create_site(&company.id, "Site A", "system").expect("site");
        let b = store.create_site(&company.id, "Site B", "system").expect("site");
        let hash = server::auth::hash_password(PASSWORD).expect("hash");
        for (email, role, sites) in people {
            let sites = sites
                .iter()
                .map(|i| if *i == 0 { a.id.clone() } else { b.id.clone() })
                .collect();
            store
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
        }
        Company {
            id: company.id,
            site_a: a.id,
            site_b: b.id,
        }
    }

    /// A consistent copy of the record store, as a nightly backup would take it.
    pub fn backup(&self, to: &std::path::Path) {
        let conn = rusqlite::Connection::open(self.dir.path().join("records.db")).expect("open for backup");
        conn.execute("VACUUM INTO ?1", [to.display().to_string()])
            .expect("backup");
    }

    /// Stops the server, puts `backup` in place of its store, and starts it again (on a new port).
    pub async fn restore(mut self, backup: &std::path::Path) -> Self {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let state = self.state.clone();
        drop(state);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("dir"));
        drop(self);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("records.db{suffix}")));
        }
        std::fs::copy(backup, dir.path().join("records.db")).expect("restore backup");
        Self::start_in(dir, |_| {}).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A phone: its own SQLite store and sync client.
#[derive(Debug)]
pub struct Phone {
    pub store: Store,
    pub client: SyncClient,
    pub url: String,
}

pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        request_timeout: Duration::from_secs(20),
    }
}

/// Signs in on the sign-in page as a browser does (a form post from the server's own origin) and
/// returns the session cookie to send back (`muster_session=…`).
pub async fn web_sign_in(url: &str, email: &str, password: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let signed_in = http
        .post(format!("{url}/signin"))
        .header("origin", url)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "{email} signs in on the page");
    signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

impl Phone {
    pub async fn sign_in(server: &TestServer, dir: &tempfile::TempDir, email: &str) -> Phone {
        Self::sign_in_with_password(server, dir, email, PASSWORD).await
    }

    pub async fn sign_in_with_password(
        server: &TestServer,
        dir: &tempfile::TempDir,
        email: &str,
        password: &str,
    ) -> Phone {
        let path = dir.path().join(format!("{}.db", email.replace(['@', '.'], "_")));
        let mut store = Store::open(&path).expect("phone store");
        let client = SyncClient::new(quick_retries()).expect("client");
        client
            .login(&mut store, &server.url, email, password, "test phone")
            .await
            .expect("login");
        Phone {
            store,
            client,
            url: server.url.clone(),
        }
    }

    pub async fn sync(&mut self) -> SyncReport {
        self.client.sync(&mut self.store, &|_| {}).await.expect("sync")
    }

    pub fn user_id(&self) -> String {
        self.store.profile().expect("signed in").user_id.clone()
    }
}

/// A stamp at `minutes` past 06:00 on a fixed day, on site.
/// The worker's orientation at the site, signed by the worker at `minute`.
pub fn orient(phone: &mut Phone, site: &str, minute: i64) -> String {
    let me = phone.user_id();
    let id = phone
        .store
        .create(
            site,
            None,
            sync_core::model::Body::Orientation(sync_core::kinds::orientation::Orientation::new(
                &me,
                "Sam Super",
            )),
            at(minute),
        )
        .expect("create");
    phone
        .store
        .edit(&id, |r| {
            if let sync_core::model::Body::Orientation(o) = &mut r.body {
                for topic in sync_core::kinds::orientation::OrientationTopic::ALL {
                    o.acknowledge(*topic);
                }
            }
            Ok(())
        })
        .expect("acknowledge");
    phone.store.sign(&id, at(minute)).expect("sign");
    phone.store.complete(&id, at(minute)).expect("complete");
    id
}

pub fn at(minutes: i64) -> Stamp {
    let wall = 1_795_000_000_000 + minutes * 60_000;
    Stamp::new(wall, 1_000_000 + minutes * 60_000, "boot-1").with_fix(GpsFix {
        lat: 53.45,
        lon: -115.01,
        accuracy_m: 5.0,
        fix_time_ms: wall,
        provider: "gps".into(),
        mock: false,
    })
}

/// GETs JSON from the server with a bearer token.
pub async fn get_json(url: &str, token: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// Simulated time for clock tests: one true clock the server reads, and per-phone wall clocks,
/// monotonic clocks and boots that the test can skew, set back and restart.
#[derive(Debug, Clone)]
pub struct World {
    true_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl World {
    /// A world whose true time starts at 06:00 UTC-7 on 2026-11-18.
    pub fn new() -> Self {
        Self {
            true_ms: Arc::new(std::sync::atomic::AtomicI64::new(Self::at(6, 0))),
        }
    }

    /// Unix ms of `hh:mm` Alberta time (UTC−7) on the world's day.
    pub fn at(hour: i64, minute: i64) -> i64 {
        1_795_046_400_000 + 7 * 3_600_000 + (hour * 60 + minute) * 60_000
    }

    pub fn now(&self) -> i64 {
        self.true_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves true time to `hh:mm`.
    pub fn set(&self, hour: i64, minute: i64) {
        self.true_ms
            .store(Self::at(hour, minute), std::sync::atomic::Ordering::SeqCst);
    }

    /// The server's clock in this world.
    pub fn server_clock(&self) -> Arc<dyn Fn() -> i64 + Send + Sync> {
        let world = self.clone();
        Arc::new(move || world.now())
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// A phone's clocks in a [`World`].
#[derive(Debug)]
pub struct DeviceClock {
    world: World,
    state: std::sync::Mutex<(i64, String, i64)>, // (wall offset, boot id, true time at boot)
}

impl DeviceClock {
    pub fn new(world: &World, wall_offset_ms: i64) -> Arc<Self> {
        Arc::new(Self {
            world: world.clone(),
            state: std::sync::Mutex::new((
                wall_offset_ms,
                sync_core::model::new_id(),
                world.now() - 3_600_000,
            )),
        })
    }

    /// A phone whose boot id is `boot_id` (Android's boot count is a small integer many phones
    /// share) and which booted `up_for_ms` ago.
    pub fn booted(world: &World, wall_offset_ms: i64, boot_id: &str, up_for_ms: i64) -> Arc<Self> {
        Arc::new(Self {
            world: world.clone(),
            state: std::sync::Mutex::new((wall_offset_ms, boot_id.to_owned(), world.now() - up_for_ms)),
        })
    }

    fn read(&self) -> (i64, String, i64) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The person changes the phone's wall clock by `delta_ms`.
    pub fn change_wall_clock(&self, delta_ms: i64) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0 += delta_ms;
    }

    /// The phone restarts: a new boot id, the monotonic clock from zero.
    pub fn reboot(&self) {
        let now = self.world.now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1 = sync_core::model::new_id();
        state.2 = now;
    }

    /// A stamp for an event now, with an optional fix.
    pub fn stamp(&self, fix: Option<GpsFix>) -> Stamp {
        let (offset, boot, booted_at) = self.read();
        let now = self.world.now();
        Stamp {
            wall_ms: now + offset,
            monotonic_ms: now - booted_at,
            boot_id: boot,
            fix,
        }
    }

    pub fn source(self: &Arc<Self>) -> sync_core::sync::client::ClockSource {
        let clock = self.clone();
        Arc::new(move || {
            let s = clock.stamp(None);
            sync_core::protocol::ClockSample {
                wall_ms: s.wall_ms,
                monotonic_ms: s.monotonic_ms,
                boot_id: s.boot_id,
                last_round_trip_ms: 0,
            }
        })
    }
}

impl Phone {
    /// Signs in a phone whose clocks are `clock`'s.
    pub async fn sign_in_with_clock(
        server: &TestServer,
        dir: &tempfile::TempDir,
        email: &str,
        clock: &Arc<DeviceClock>,
    ) -> Phone {
        let mut phone = Self::sign_in(server, dir, email).await;
        phone.client = phone.client.clone().with_clock(clock.source());
        phone
    }
}
