//! The Muster sync server: identity, the sync endpoint, the company record store and the office's
//! read API. `app(state)` builds the router for in-process tests; `launch_with_listener` serves it
//! on a listener the caller chose (end-to-end tests bind `127.0.0.1:0`).

pub mod auth;
pub mod decision;
pub mod demo;
pub mod doc_locks;
pub mod error;
pub mod judge;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod service;
pub mod store;
pub mod sync;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use sync_core::protocol::{Limits, PROTOCOL_VERSION};

use crate::store::RecordStore;
use crate::store::sqlite::SqliteStore;

/// Command-line flags, each with an environment equivalent.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "muster-server", version, about = "Muster sync server")]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "MUSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite record store and the token signing key.
    #[arg(long, env = "MUSTER_DATA_DIR", default_value = "./muster-data")]
    pub data_dir: PathBuf,
    /// Record store location. Empty (the default) uses `<data-dir>/records.db`; a `sqlite:` path
    /// picks another file; a `postgres://user:password@host/db` URL uses PostgreSQL, which
    /// several server processes may share (docs/deploy.md). The password is never logged.
    #[arg(long, env = "MUSTER_DATABASE_URL", default_value = "", hide_env_values = true)]
    pub database_url: store::postgres::DatabaseUrl,
    /// Create the demo company (once) and print how to sign in.
    #[arg(long, env = "MUSTER_DEMO")]
    pub demo: bool,
    /// The seed the demo's year of records is made from: the same seed makes the same year.
    #[arg(long, env = "MUSTER_DEMO_SEED", default_value_t = demo::DEFAULT_SEED)]
    pub demo_seed: u64,
    /// On a first run, create the company and its first admin with this email (a password is
    /// generated and printed once) instead of printing a set-up link.
    #[arg(long, env = "MUSTER_INIT_ADMIN", value_name = "EMAIL")]
    pub init_admin: Option<String>,
    /// The company's name for `--init-admin`.
    #[arg(long, env = "MUSTER_COMPANY_NAME", default_value = "My company")]
    pub company_name: String,
    /// Mark the browser session cookie Secure (set this when browsers reach the server over
    /// HTTPS, e.g. through a TLS-terminating proxy; `X-Forwarded-Proto: https` also sets it).
    #[arg(long, env = "MUSTER_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

/// A clock reading Unix ms: the server's, or a simulated one in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Shared state of the running server.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn RecordStore>,
    pub keys: auth::Keys,
    pub limits: Arc<Limits>,
    /// Lifetime of access tokens; tests shorten it to exercise refresh.
    pub access_ttl_ms: i64,
    /// The server's clock for clock anchors and server-made stamps (Unix ms); tests simulate it.
    pub clock: Clock,
    /// Per-device request and failed sign-in limits; tests tighten them.
    pub rate_limits: ratelimit::RateLimits,
    /// A request still unanswered after this long gets 408 with a JSON error.
    pub request_timeout: Duration,
    limiters: Arc<ratelimit::Limiters>,
    /// Pushes to one record are applied one at a time.
    pub(crate) doc_locks: Arc<doc_locks::DocLocks>,
    /// Syncs worked on at once. More would only share the same cores, each holding its own
    /// database connection and cache: a burst of devices waits its turn in the queue instead.
    pub(crate) sync_slots: Arc<tokio::sync::Semaphore>,
    /// Password hashes and checks, on threads of their own.
    pub(crate) passwords: Arc<auth::PasswordWorkers>,
    /// Judges records again, in the background, when facts arrive after them.
    pub rejudge: Arc<judge::Rejudger>,
    /// The first run's one-time set-up token, while the store has no company.
    pub setup: Arc<service::setup::SetupGate>,
    /// Mark session cookies Secure (browsers reach the server over HTTPS).
    pub secure_cookies: bool,
    /// The readiness catalogues: the built-in one and the data directory's `catalogues/*.toml`.
    pub catalogues: Arc<service::readiness::catalogue::Catalogues>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("limits", &self.limits)
            .field("rate_limits", &self.rate_limits)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn RecordStore>, signing_secret: &[u8]) -> Self {
        let limiters = Arc::new(ratelimit::Limiters::for_store(store.clone()));
        Self {
            rejudge: Arc::new(judge::Rejudger::start(
                store.clone(),
                Arc::new(store::sqlite::now_ms),
            )),
            store,
            keys: auth::Keys::from_secret(signing_secret),
            limits: Arc::new(default_limits()),
            access_ttl_ms: auth::ACCESS_TTL_MS,
            clock: Arc::new(store::sqlite::now_ms),
            rate_limits: ratelimit::RateLimits::default(),
            request_timeout: REQUEST_TIMEOUT,
            limiters,
            doc_locks: Arc::default(),
            sync_slots: Arc::new(tokio::sync::Semaphore::new(cores() * 2)),
            passwords: Arc::new(auth::PasswordWorkers::start(PASSWORD_THREADS)),
            setup: Arc::default(),
            secure_cookies: false,
            catalogues: Arc::default(),
        }
    }

    pub(crate) fn limiters(&self) -> &ratelimit::Limiters {
        &self.limiters
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

pub fn default_limits() -> Limits {
    Limits {
        protocol_versions: vec![PROTOCOL_VERSION],
        max_body_bytes: 8 * 1024 * 1024,
        max_pushes: 500,
        max_update_bytes: 4 * 1024 * 1024,
    }
}

/// Largest JSON body accepted by the non-sync endpoints.
const JSON_BODY_LIMIT: usize = 64 * 1024;

/// Default for `AppState::request_timeout`: long enough for a full sync on a slow cellular link.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn app(state: AppState) -> Router {
    // The state's clock is final here (tests set a simulated one after `AppState::new`).
    state.rejudge.set_clock(state.clock.clone());
    let sync_limit = state.limits.max_body_bytes as usize;
    let json = Router::new()
        .route("/v1/auth/login", post(routes::login))
        .route("/v1/auth/refresh", post(routes::refresh))
        .route(
            "/v1/admin/users",
            post(routes::create_user).get(routes::list_users),
        )
        .route("/v1/admin/sites", post(routes::create_site))
        .route(
            "/v1/admin/sites/{id}/boundary",
            axum::routing::put(routes::set_site_boundary),
        )
        .route("/v1/records/{id}/decision", post(decision::decide))
        .route("/v1/admin/devices", get(routes::list_devices))
        .route("/v1/admin/devices/{id}/revoke", post(routes::revoke_device))
        .route("/v1/admin/audit", get(routes::audit_log))
        .route("/v1/sites", get(routes::list_sites))
        .route("/v1/records", get(routes::list_records))
        .route("/v1/records.csv", get(routes::export_records))
        .route("/v1/admin/users/{id}", axum::routing::patch(routes::change_user))
        .route("/v1/records/{id}", get(routes::record_detail))
        .route("/v1/sync/limits", get(routes::limits))
        .route(
            "/v1/inspection-schedules",
            get(routes::list_inspection_schedules).post(routes::create_inspection_schedule),
        )
        .route(
            "/v1/equipment",
            get(routes::list_equipment).post(routes::add_equipment),
        )
        .route(
            "/v1/equipment/{unit_id}",
            axum::routing::patch(routes::change_equipment),
        )
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));
    let sync = Router::new()
        .route("/v1/readiness", get(routes::readiness_report))
        .route("/v1/readiness.csv", get(routes::readiness_csv))
        .route("/v1/sync", post(sync::sync))
        .layer(DefaultBodyLimit::max(sync_limit));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/openapi.json", get(openapi::serve))
        .merge(json)
        .merge(sync)
        .merge(web::routes(state.clone()))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(axum::middleware::from_fn(web::security_headers))
        .with_state(state)
}

/// Answers 408 with a JSON error when a request (including reading its body) takes longer than
/// `request_timeout`.
async fn time_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request was not received and answered within {} s; send it again",
                state.request_timeout.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

async fn unknown_endpoint(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "unknown_endpoint",
        format!("there is no endpoint {}; see /openapi.json", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} {} is not served; see /openapi.json", method, uri.path()),
    )
}

/// Opens the record store the settings name.
pub fn open_store(settings: &Settings) -> Result<Arc<dyn RecordStore>, String> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            settings.data_dir.display()
        )
    })?;
    let url = settings.database_url.secret().trim();
    let path = if url.is_empty() {
        settings.data_dir.join("records.db")
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        PathBuf::from(path.trim_start_matches("//"))
    } else if store::postgres::DatabaseUrl::is_postgres(url) {
        let url = store::postgres::DatabaseUrl::new(url);
        let store = store::postgres::PgStore::connect(&url)
            .map_err(|e| format!("cannot open the PostgreSQL record store: {e}"))?;
        tracing::info!(database = %url, "record store: PostgreSQL");
        return Ok(Arc::new(store));
    } else {
        return Err(format!(
            "unsupported --database-url {:?}: use sqlite:<path> or postgres://user:password@host/database",
            store::postgres::redact_password(url)
        ));
    };
    let store =
        SqliteStore::open(&path).map_err(|e| format!("cannot open record store {}: {e}", path.display()))?;
    Ok(Arc::new(store))
}

/// The token signing secret: kept in the data directory, created on first start.
pub fn signing_secret(settings: &Settings) -> Result<Vec<u8>, String> {
    let path = settings.data_dir.join("token-signing.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        Ok(_) => Err(format!("{} is too short to be a signing key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            write_private(&path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(secret.to_vec())
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Serves `state` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn launch_with_listener(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connection info gives the sign-in limit the client's address.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

/// On an empty store: creates the company for `--init-admin`, or prints the one-time set-up link.
async fn first_run(state: &AppState, settings: &Settings, base_url: &str) -> Result<(), String> {
    if let Some(email) = &settings.init_admin {
        match service::setup::init_admin(state, &settings.company_name, email).await {
            Ok(Some(password)) => {
                println!("\nCreated {:?} with office admin {email}.", settings.company_name);
                println!(
                    "Sign in at {base_url}/signin with the password {password} (shown once; change it on the People page).\n"
                );
            }
            Ok(None) => println!(
                "--init-admin ignored: this record store already has a company; sign in at {base_url}/signin"
            ),
            Err(e) => return Err(format!("cannot create the first admin: {e}")),
        }
        return Ok(());
    }
    if let Some(token) = service::setup::open_if_empty(state)
        .await
        .map_err(|e| format!("cannot read the record store: {e}"))?
    {
        println!(
            "\nThis Muster server has no company yet. Open this link once to create it and its first admin:"
        );
        println!("  {base_url}/setup?token={token}\n");
    }
    Ok(())
}

/// The runtime the server runs on. Blocking work (store reads and writes, sync exchanges) is
/// bounded by the read connections, the writer and the sync slots, so a few dozen blocking
/// threads serve it all; tokio's default of 512 let a burst of phones grow 135 threads, each
/// with its own stack and allocator cache, for no gain (docs/BENCHMARKS.md, load).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
}

const MAX_BLOCKING_THREADS: usize = 16;

/// Password checks run one at a time: each keeps 19 MiB of argon2 memory, and a sign-in is rare
/// (a refresh token lasts 90 days). A sign-in takes about 15 ms here, so a crew of 200 phones
/// signing in at once waits 3 s at worst.
const PASSWORD_THREADS: usize = 1;

/// Runs the server on a runtime of its own until it is stopped: what a server binary's `main` does.
pub fn serve(settings: Settings) -> Result<(), String> {
    runtime()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(run(settings))
}

/// Runs the server as the binary does, on the caller's runtime.
pub async fn run(settings: Settings) -> Result<(), String> {
    // Opening a store connects, migrates and may wait on other processes' migrations: blocking
    // work, kept off the async threads like every other store call.
    let store = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || open_store(&settings))
            .await
            .map_err(|e| format!("opening the record store stopped: {e}"))??
    };
    let secret = signing_secret(&settings)?;
    let mut state = AppState::new(store, &secret);
    state.secure_cookies = settings.secure_cookies;
    let catalogues = settings.data_dir.join("catalogues");
    state.catalogues =
        Arc::new(service::readiness::catalogue::Catalogues::load(&catalogues).map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("listening on http://{address}");
    let server = tokio::spawn(launch_with_listener(state.clone(), listener, shutdown_signal()));
    let base_url = format!("http://{address}");
    if settings.demo {
        demo::ensure_seeded(&state, &base_url, &settings.data_dir, settings.demo_seed).await?;
    } else {
        first_run(&state, &settings, &base_url).await?;
    }
    server
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
