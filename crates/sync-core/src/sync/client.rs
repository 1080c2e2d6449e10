//! The sync executor: HTTP over reqwest (rustls with the ring provider), token refresh, and retry
//! with backoff. Queued changes are never given up: a failed call leaves them in the outbox and
//! the next call picks them up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::{
    self, ClockSample, DocSyncMessage, EquipmentRegister, ErrorBody, LoginRequest, RefreshRequest,
    RegisterUnit, SYNC_CONTENT_TYPE, SyncResponse, TokenResponse, UserInfo,
};
use crate::store::Store;
use crate::sync::{SyncReport, plan};

/// Automerge sync rounds allowed per diverged record in one call; the rest waits for next sync.
const MAX_RECONCILE_ROUNDS: u32 = 8;

/// How hard to try before reporting the server unreachable. Nothing queued is dropped either way.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Progress of a sync, reported after every round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProgress {
    pub round_trips: u32,
    pub sent: u32,
    pub received: u32,
    /// Records still waiting to be sent.
    pub pending: u32,
}

/// Reads the device's clocks for the clock exchange. Phones pass their own (monotonic since boot
/// and the boot id); the default reads this process's clocks.
pub type ClockSource = Arc<dyn Fn() -> ClockSample + Send + Sync>;

#[derive(Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    policy: RetryPolicy,
    clock: ClockSource,
    cancel: Arc<AtomicBool>,
    /// The last sync round trip, ms, reported with the next clock sample.
    last_round_trip_ms: Arc<AtomicU32>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn process_clock() -> ClockSource {
    let started = std::time::Instant::now();
    let boot = crate::model::new_id();
    Arc::new(move || ClockSample {
        wall_ms: now_ms(),
        monotonic_ms: started.elapsed().as_millis() as i64,
        boot_id: boot.clone(),
        last_round_trip_ms: 0,
    })
}

enum Attempt<T> {
    Done(T),
    /// Worth trying again after a pause (network trouble, 5xx, 429).
    Retry(Error),
}

/// Makes ring the process's TLS provider (once; later calls change nothing). Ring, not aws-lc:
/// the core cross-compiles for iOS and Android without a C toolchain. Programs that build their
/// own reqwest clients beside the core call this first.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl SyncClient {
    pub fn new(policy: RetryPolicy) -> Result<Self> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Offline(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            policy,
            clock: process_clock(),
            cancel: Arc::new(AtomicBool::new(false)),
            last_round_trip_ms: Arc::new(AtomicU32::new(0)),
        })
    }

    pub fn with_clock(mut self, clock: ClockSource) -> Self {
        self.clock = clock;
        self
    }

    /// Asks a running sync to stop after the current round trip. Nothing is lost.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Signs in on this device: enrolls it with the server and keeps the tokens in the store.
    pub async fn login(
        &self,
        store: &mut Store,
        server_url: &str,
        email: &str,
        password: &str,
        device_name: &str,
    ) -> Result<UserInfo> {
        let url = format!("{}/v1/auth/login", server_url.trim_end_matches('/'));
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            device_id: store.device_id().to_owned(),
            device_name: device_name.to_owned(),
        };
        let response = self.http.post(&url).json(&body).send().await.map_err(offline)?;
        let tokens: TokenResponse = json_or_error(response).await?;
        store.save_credentials(server_url, &tokens)?;
        Ok(tokens.user)
    }

    /// Exchanges a refresh token for new tokens (the old one is spent).
    pub async fn refresh(&self, store: &mut Store) -> Result<()> {
        let credentials = store.credentials()?.ok_or(Error::NotSignedIn)?;
        let url = format!("{}/v1/auth/refresh", credentials.server_url);
        let response = self
            .http
            .post(&url)
            .json(&RefreshRequest {
                refresh_token: credentials.refresh_token.clone(),
                device_id: Some(store.device_id().to_owned()),
            })
            .send()
            .await
            .map_err(offline)?;
        match json_or_error::<TokenResponse>(response).await {
            Ok(tokens) => store.save_credentials(&credentials.server_url, &tokens),
            Err(Error::Server {
                status: 401, message, ..
            }) => Err(Error::SignInRequired(message)),
            Err(e) => Err(e),
        }
    }

    /// Fetches the company's equipment register and keeps it in the store, so the operator can
    /// name a unit the office knows while offline. Offline, the kept one stays as it was.
    pub async fn refresh_equipment_register(&self, store: &mut Store) -> Result<EquipmentRegister> {
        let mut refreshed = false;
        loop {
            let credentials = store.credentials()?.ok_or(Error::NotSignedIn)?;
            if credentials.access_expires_at_ms - 30_000 < now_ms() && !refreshed {
                self.refresh(store).await?;
                refreshed = true;
                continue;
            }
            let response = self
                .http
                .get(format!("{}/v1/equipment", credentials.server_url))
                .bearer_auth(&credentials.access_token)
                .send()
                .await
                .map_err(offline)?;
            match json_or_error::<Vec<RegisterUnit>>(response).await {
                Ok(units) => {
                    let register = EquipmentRegister {
                        fetched_at_ms: now_ms(),
                        units,
                    };
                    store.save_equipment_register(&register)?;
                    return Ok(register);
                }
                // The clock said the token was fresh but the server disagrees: refresh once.
                Err(Error::Server {
                    status: 401, code, ..
                }) if code == "token_expired" && !refreshed => {
                    self.refresh(store).await?;
                    refreshed = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Pushes every queued change and pulls everything new, in as few round trips as the
    /// server's limits allow. `progress` is told after each round trip.
    pub async fn sync(
        &self,
        store: &mut Store,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
    ) -> Result<SyncReport> {
        self.cancel.store(false, Ordering::SeqCst);
        let mut report = SyncReport::default();
        let mut retry_later = std::collections::HashSet::new();
        // Automerge sync states of records being reconciled in this call, and how many rounds
        // each has had (a reconciliation that does not settle waits for the next sync).
        let mut reconciling: std::collections::HashMap<String, (automerge::sync::State, u32)> =
            Default::default();
        loop {
            if self.cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            let credentials = store.credentials()?.ok_or(Error::NotSignedIn)?;
            let limits = credentials.limits.clone();
            let outgoing: Vec<_> = store
                .outgoing(limits.max_pushes as usize + retry_later.len())?
                .into_iter()
                .filter(|o| !retry_later.contains(&o.id))
                .take(limits.max_pushes as usize)
                .collect();
            let mut doc_sync = Vec::new();
            for id in store.fallback_ids()? {
                let (state, rounds) = reconciling.entry(id.clone()).or_default();
                if *rounds >= MAX_RECONCILE_ROUNDS {
                    continue;
                }
                *rounds += 1;
                match store.sync_message_for(&id, state)? {
                    Some(message) => doc_sync.push(DocSyncMessage { doc_id: id, message }),
                    None => {
                        // Nothing more to say: if the server also had nothing, both agree.
                        store.finish_fallback(&id)?;
                        reconciling.remove(&id);
                    }
                }
            }
            let mut clock = (self.clock)();
            clock.last_round_trip_ms = self.last_round_trip_ms.load(Ordering::SeqCst);
            let (request, plan) =
                plan::request(store.cursor_with_check()?, clock, outgoing, doc_sync, &limits);
            let body = protocol::encode(&request);
            let answer = self.exchange(store, &body).await?;
            report.round_trips += 1;
            report.bytes_up += body.len() as u64;
            report.bytes_down += answer.1 as u64;
            let answer = answer.0;
            let more = answer.more;
            let cursor = (answer.cursor, answer.cursor_check);
            let replies = answer.doc_sync.clone();
            let actions = plan::response(&plan, answer)?;
            let applied = store.apply_sync(actions, cursor)?;
            for reply in replies {
                if let Some((state, _)) = reconciling.get_mut(&reply.doc_id) {
                    store.receive_sync_message(&reply.doc_id, state, &reply.message)?;
                }
            }
            report.accepted += applied.accepted;
            report.received += applied.received;
            report.cursor = cursor.0;
            for r in &applied.rejected {
                if r.code.retryable() {
                    retry_later.insert(r.record_id.clone());
                }
            }
            report.rejected.extend(applied.rejected);
            // Records still to send in this call: not refused for good, not waiting on a passing
            // reason (those go again next sync rather than spinning here).
            let to_send = store
                .sendable_ids()?
                .into_iter()
                .filter(|id| !retry_later.contains(id))
                .count();
            progress(SyncProgress {
                round_trips: report.round_trips,
                sent: report.accepted,
                received: report.received,
                pending: to_send as u32,
            });
            let unsettled = store.fallback_ids()?.into_iter().any(|id| {
                reconciling
                    .get(&id)
                    .is_none_or(|(_, rounds)| *rounds < MAX_RECONCILE_ROUNDS)
            });
            if !more && to_send == 0 && !unsettled {
                return Ok(report);
            }
            if report.round_trips > 10_000 {
                return Err(Error::Protocol(
                    "sync did not settle after 10,000 round trips".into(),
                ));
            }
        }
    }

    /// One sync round trip with token refresh and retries.
    async fn exchange(&self, store: &mut Store, body: &[u8]) -> Result<(SyncResponse, usize)> {
        let mut delay = self.policy.first_delay;
        let mut last = Error::Offline("no attempt made".into());
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(jitter(delay)).await;
                delay = (delay * 2).min(self.policy.max_delay);
            }
            if self.cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            let credentials = store.credentials()?.ok_or(Error::NotSignedIn)?;
            if credentials.access_expires_at_ms - 30_000 < now_ms() {
                match self.refresh(store).await {
                    Ok(()) => {}
                    Err(
                        e @ (Error::Offline(_)
                        | Error::Server {
                            status: 500..=599, ..
                        }),
                    ) => {
                        last = e;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            match self.post_sync(store, body).await? {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Retry(e) => {
                    tracing::info!(attempt, error = %e, "sync round trip failed; will retry");
                    last = e;
                }
            }
        }
        Err(last)
    }

    async fn post_sync(&self, store: &mut Store, body: &[u8]) -> Result<Attempt<(SyncResponse, usize)>> {
        let credentials = store.credentials()?.ok_or(Error::NotSignedIn)?;
        let url = format!("{}/v1/sync", credentials.server_url);
        let started = std::time::Instant::now();
        let sent = self
            .http
            .post(&url)
            .bearer_auth(&credentials.access_token)
            .header(reqwest::header::CONTENT_TYPE, SYNC_CONTENT_TYPE)
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(offline(e))),
        };
        let status = response.status();
        if status.is_success() {
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => return Ok(Attempt::Retry(offline(e))),
            };
            let answer: SyncResponse = protocol::decode(&bytes).map_err(Error::Protocol)?;
            let rtt = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
            self.last_round_trip_ms.store(rtt.max(1), Ordering::SeqCst);
            return Ok(Attempt::Done((answer, bytes.len())));
        }
        let error = server_error(response).await;
        match &error {
            Error::Server {
                status: 401, code, ..
            } if code == "token_expired" => {
                // The clock said the token was fresh but the server disagrees: refresh now.
                self.refresh(store).await?;
                Ok(Attempt::Retry(error))
            }
            Error::Server {
                status: 429 | 500..=599,
                ..
            } => Ok(Attempt::Retry(error)),
            _ => Err(error),
        }
    }
}

fn jitter(delay: Duration) -> Duration {
    // Spread retries of many phones regaining signal at once: 50–100% of the delay.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    delay.mul_f64(0.5 + (nanos % 1000) as f64 / 2000.0)
}

fn offline(e: reqwest::Error) -> Error {
    Error::Offline(e.to_string())
}

async fn server_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Error::Server {
            status,
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => Error::Server {
            status,
            code: format!("http_{status}"),
            message: text.chars().take(200).collect(),
        },
    }
}

async fn json_or_error<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    if response.status().is_success() {
        response
            .json()
            .await
            .map_err(|e| Error::Protocol(format!("unexpected answer from the server: {e}")))
    } else {
        Err(server_error(response).await)
    }
}
