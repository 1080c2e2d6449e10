//! Rate limits: how often one device may call the API, and how many wrong passwords one account
//! or one client address may try. Each is a token bucket per key; a refused caller is told how
//! long to wait (`Retry-After`).
//!
//! A small bucket of our own rather than `governor`: governor pulls a second `hashbrown` version
//! into the build, and the sign-in limit needs to look at a bucket without spending from it
//! (only failed sign-ins count), which governor's keyed limiter does not offer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;

/// The rate limits' settings. The defaults are generous: a phone syncs every few seconds at the
/// most, and the load benchmark (200 devices syncing in a tight loop) drives about 3 requests per
/// second per device, so only a runaway client or a password-guessing script meets them.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Requests one device may make at once, after a quiet spell.
    pub device_burst: u32,
    /// Requests per second one device may keep making.
    pub device_per_second: f64,
    /// Failed sign-ins one account (email) may have within `login_window`.
    pub login_failures_per_account: u32,
    /// Failed sign-ins one client address may have within `login_window`, over all accounts.
    pub login_failures_per_address: u32,
    /// The window over which failed sign-ins are counted; the budget refills evenly across it.
    pub login_window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            device_burst: 600,
            device_per_second: 50.0,
            login_failures_per_account: 10,
            login_failures_per_address: 100,
            login_window: Duration::from_secs(15 * 60),
        }
    }
}

impl RateLimits {
    fn device_rule(&self) -> Rule {
        Rule {
            capacity: f64::from(self.device_burst.max(1)),
            per_second: self.device_per_second.max(f64::MIN_POSITIVE),
        }
    }

    fn failures_rule(&self, allowed: u32) -> Rule {
        let allowed = f64::from(allowed.max(1));
        Rule {
            capacity: allowed,
            per_second: allowed / self.login_window.as_secs_f64().max(0.001),
        }
    }
}

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub capacity: f64,
    pub per_second: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, rule: Rule, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        Bucket {
            tokens: (self.tokens + elapsed * rule.per_second).min(rule.capacity),
            at: now,
        }
    }

    /// How long until one whole token is back.
    fn wait(self, rule: Rule) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / rule.per_second).max(0.0))
    }
}

/// Token buckets by key. Full buckets are forgotten when the map grows, so keys an attacker
/// invents (unknown emails) cost memory only while they are being used.
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Keys kept before full buckets are swept out.
const SWEEP_AT: usize = 10_000;

impl Buckets {
    /// Spends one token for `key`, or says how long to wait for one.
    pub fn take(&self, key: &str, rule: Rule, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= SWEEP_AT && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.refilled(rule, now).tokens < rule.capacity);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: rule.capacity,
            at: now,
        });
        let refilled = bucket.refilled(rule, now);
        if refilled.tokens >= 1.0 {
            *bucket = Bucket {
                tokens: refilled.tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            Err(refilled.wait(rule))
        }
    }

    /// Whether `key` has a token, without spending it; if not, how long to wait for one.
    pub fn check(&self, key: &str, rule: Rule, now: Instant) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(key) {
            Some(bucket) => {
                let refilled = bucket.refilled(rule, now);
                if refilled.tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(refilled.wait(rule))
                }
            }
            None => Ok(()),
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limiters' state, shared by every request of one server; kept in the record store when
/// several server processes share it (PostgreSQL), so a limit holds however a load balancer
/// spreads the requests.
#[derive(Default)]
pub struct Limiters {
    devices: Buckets,
    failed_logins_by_account: Buckets,
    failed_logins_by_address: Buckets,
    shared: Option<std::sync::Arc<dyn crate::store::RecordStore>>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("devices", &self.devices)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// A shared bucket's answer; one the store cannot give lets the request through: a limit is no
/// reason to refuse work the store could do.
fn let_through(answer: crate::store::StoreResult<Result<(), Duration>>) -> Result<(), Duration> {
    answer.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "shared rate limit unreadable; request let through");
        Ok(())
    })
}

/// One bucket, in this process or in the shared store.
enum Bucketed<'a> {
    Here(&'a Buckets),
    Shared(&'a dyn crate::store::SharedBuckets, &'static str),
}

impl Bucketed<'_> {
    fn take(&self, key: &str, rule: Rule, now: Instant) -> Result<(), Duration> {
        match self {
            Bucketed::Here(buckets) => buckets.take(key, rule, now),
            Bucketed::Shared(shared, namespace) => {
                let_through(shared.take_token(&format!("{namespace}:{key}"), rule.capacity, rule.per_second))
            }
        }
    }

    fn check(&self, key: &str, rule: Rule, now: Instant) -> Result<(), Duration> {
        match self {
            Bucketed::Here(buckets) => buckets.check(key, rule, now),
            Bucketed::Shared(shared, namespace) => {
                let_through(shared.has_token(&format!("{namespace}:{key}"), rule.capacity, rule.per_second))
            }
        }
    }
}

/// Why a request was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Device(Duration),
    Account(Duration),
    Address(Duration),
}

impl Limiters {
    /// Limiters whose buckets live in `store` when it is shared by several processes.
    pub fn for_store(store: std::sync::Arc<dyn crate::store::RecordStore>) -> Self {
        let shared = store.shared_rate_buckets().is_some().then_some(store);
        Self {
            shared,
            ..Self::default()
        }
    }

    fn bucket<'a>(&'a self, here: &'a Buckets, namespace: &'static str) -> Bucketed<'a> {
        match self.shared.as_deref().and_then(|s| s.shared_rate_buckets()) {
            Some(shared) => Bucketed::Shared(shared, namespace),
            None => Bucketed::Here(here),
        }
    }

    /// Counts one request from `device_id`.
    pub fn device_request(&self, limits: &RateLimits, device_id: &str) -> Result<(), Refused> {
        self.bucket(&self.devices, "device")
            .take(device_id, limits.device_rule(), Instant::now())
            .map_err(Refused::Device)
    }

    /// Whether a sign-in for `email` from `address` may be tried at all.
    pub fn login_allowed(
        &self,
        limits: &RateLimits,
        email: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Refused> {
        let now = Instant::now();
        self.bucket(&self.failed_logins_by_account, "account")
            .check(
                &account_key(email),
                limits.failures_rule(limits.login_failures_per_account),
                now,
            )
            .map_err(Refused::Account)?;
        if let Some(address) = address {
            self.bucket(&self.failed_logins_by_address, "address")
                .check(
                    &address.to_string(),
                    limits.failures_rule(limits.login_failures_per_address),
                    now,
                )
                .map_err(Refused::Address)?;
        }
        Ok(())
    }

    /// Counts a failed sign-in against the account and the address.
    pub fn login_failed(&self, limits: &RateLimits, email: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        // An empty bucket refuses the next attempt in `login_allowed`; nothing more to do here.
        let _ = self.bucket(&self.failed_logins_by_account, "account").take(
            &account_key(email),
            limits.failures_rule(limits.login_failures_per_account),
            now,
        );
        if let Some(address) = address {
            let _ = self.bucket(&self.failed_logins_by_address, "address").take(
                &address.to_string(),
                limits.failures_rule(limits.login_failures_per_address),
                now,
            );
        }
    }
}

/// Emails are matched as the store matches them (trimmed, lower case), so `A@x` and `a@x ` share
/// one budget.
fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The client's address, when the server was started with connection info (tests that call
/// `app(state)` directly have none).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

impl Refused {
    /// The HTTP answer: 429, `Retry-After`, and what was wrong in words.
    pub fn into_error(self, limits: &RateLimits) -> ApiError {
        let (code, message, seconds) = self.describe(limits);
        ApiError::too_many_requests(code, message, seconds)
    }

    /// The same refusal for the service layer (the sign-in page shows it).
    pub fn into_service_error(self, limits: &RateLimits) -> crate::service::ServiceError {
        let (code, message, retry_after_secs) = self.describe(limits);
        crate::service::ServiceError::TooManyRequests {
            code,
            message,
            retry_after_secs,
        }
    }

    /// Code, message and whole seconds to wait.
    fn describe(self, limits: &RateLimits) -> (&'static str, String, u64) {
        let (code, wait, message) = match self {
            Refused::Device(wait) => (
                "rate_limited",
                wait,
                format!(
                    "this device sent more requests than the server accepts ({} at once, then {} per second)",
                    limits.device_burst, limits.device_per_second
                ),
            ),
            Refused::Account(wait) => (
                "too_many_failed_logins",
                wait,
                format!(
                    "too many wrong passwords for this account ({} within {} minutes)",
                    limits.login_failures_per_account,
                    minutes(limits.login_window)
                ),
            ),
            Refused::Address(wait) => (
                "too_many_failed_logins",
                wait,
                format!(
                    "too many failed sign-ins from this address ({} within {} minutes)",
                    limits.login_failures_per_address,
                    minutes(limits.login_window)
                ),
            ),
        };
        let seconds = retry_after_secs(wait);
        (code, format!("{message}; try again in {seconds} s"), seconds)
    }
}

fn minutes(window: Duration) -> String {
    let minutes = window.as_secs_f64() / 60.0;
    if minutes.fract() == 0.0 {
        format!("{minutes:.0}")
    } else {
        format!("{minutes:.2}")
    }
}

/// Whole seconds to wait, rounded up, at least one: what `Retry-After` can say.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule {
        capacity: 3.0,
        per_second: 1.0,
    };

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_the_wait_until_the_next_token() {
        let buckets = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.take("phone", RULE, t0), Ok(()));
        }
        assert_eq!(buckets.take("phone", RULE, t0), Err(Duration::from_secs(1)));
        let half = t0 + Duration::from_millis(500);
        assert_eq!(buckets.take("phone", RULE, half), Err(Duration::from_millis(500)));
        assert_eq!(buckets.take("phone", RULE, t0 + Duration::from_secs(1)), Ok(()));
        // Another key has its own bucket.
        assert_eq!(buckets.take("other", RULE, t0), Ok(()));
    }

    #[test]
    fn a_refused_attempt_spends_nothing_and_the_bucket_refills_only_to_its_capacity() {
        let buckets = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            buckets.take("k", RULE, t0).expect("burst");
        }
        for _ in 0..10 {
            assert!(buckets.take("k", RULE, t0).is_err());
        }
        assert_eq!(buckets.take("k", RULE, t0 + Duration::from_secs(1)), Ok(()));
        let much_later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(buckets.take("k", RULE, much_later), Ok(()));
        }
        assert!(buckets.take("k", RULE, much_later).is_err());
    }

    #[test]
    fn check_looks_without_spending() {
        let buckets = Buckets::default();
        let t0 = Instant::now();
        assert_eq!(buckets.check("k", RULE, t0), Ok(()));
        assert!(buckets.is_empty(), "a look creates no bucket");
        for _ in 0..3 {
            buckets.take("k", RULE, t0).expect("burst");
        }
        assert_eq!(buckets.check("k", RULE, t0), Err(Duration::from_secs(1)));
        assert_eq!(buckets.check("k", RULE, t0 + Duration::from_secs(2)), Ok(()));
        assert_eq!(buckets.check("k", RULE, t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn full_buckets_are_swept_when_many_keys_pile_up() {
        let buckets = Buckets::default();
        let t0 = Instant::now();
        for n in 0..SWEEP_AT {
            buckets.take(&format!("guess-{n}@x"), RULE, t0).expect("first");
        }
        assert_eq!(buckets.len(), SWEEP_AT);
        // Once they have refilled, the next new key sweeps them out.
        buckets
            .take("fresh", RULE, t0 + Duration::from_secs(10))
            .expect("fresh");
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn failed_sign_ins_lock_the_account_for_the_window_share_and_count_emails_as_the_store_does() {
        let limits = RateLimits {
            login_failures_per_account: 2,
            login_failures_per_address: 100,
            login_window: Duration::from_secs(60),
            ..RateLimits::default()
        };
        let limiters = Limiters::default();
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        limiters.login_failed(&limits, "Lead@Acme.test", address);
        assert_eq!(limiters.login_allowed(&limits, "lead@acme.test", address), Ok(()));
        limiters.login_failed(&limits, " lead@acme.test", address);
        match limiters.login_allowed(&limits, "lead@acme.test", address) {
            Err(Refused::Account(wait)) => {
                assert!(
                    wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
                    "{wait:?}"
                )
            }
            other => panic!("expected the account to be locked, got {other:?}"),
        }
        assert_eq!(
            limiters.login_allowed(&limits, "other@acme.test", address),
            Ok(())
        );
    }

    #[test]
    fn failed_sign_ins_from_one_address_over_many_accounts_lock_the_address() {
        let limits = RateLimits {
            login_failures_per_account: 100,
            login_failures_per_address: 3,
            ..RateLimits::default()
        };
        let limiters = Limiters::default();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..3 {
            limiters.login_failed(&limits, &format!("user{n}@acme.test"), address);
        }
        assert!(matches!(
            limiters.login_allowed(&limits, "new@acme.test", address),
            Err(Refused::Address(_))
        ));
        assert_eq!(
            limiters.login_allowed(&limits, "new@acme.test", Some(IpAddr::from([10, 0, 0, 3]))),
            Ok(())
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(90)), 90);
    }
}
