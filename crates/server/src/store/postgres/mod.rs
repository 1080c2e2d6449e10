//! The PostgreSQL record store: several server processes share one company record
//! (docs/adr/0003-record-store-boundary.md, docs/deploy.md).
//!
//! Blocking, like the trait: the `postgres` client with an r2d2 pool, called from the blocking
//! threads every store call already runs on. Each concern's methods live in a file of their
//! own; this file holds the connection, the migrations, the error mapping and what the
//! concerns share.

mod access;
mod directory;
mod documents;
mod program;
mod projection;
pub mod schema;
pub mod scratch;

use std::fmt;
use std::time::Duration;

use std::collections::HashMap;

use postgres::error::SqlState;
use postgres::{NoTls, Row, Statement, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use super::{RecordStore, StoreError, StoreResult};

type Pool = r2d2::Pool<Manager>;
type Pooled = r2d2::PooledConnection<Manager>;

/// A connection and the statements prepared on it. Preparing a statement is a round trip and a
/// parse and plan in PostgreSQL; the store runs the same few dozen statements over and over, so
/// each connection prepares each once (docs/BENCHMARKS.md, "Stores").
struct Conn {
    client: postgres::Client,
    statements: Statements,
}

/// Statements prepared on one connection, by their SQL. A list's paging is written into its SQL,
/// so the set is bounded by forgetting everything once it is large; a dropped statement is closed
/// on the server.
#[derive(Default)]
struct Statements(HashMap<String, Statement>);

const MAX_STATEMENTS: usize = 256;

impl Statements {
    fn get(
        &mut self,
        sql: &str,
        prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
    ) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        if self.0.len() >= MAX_STATEMENTS {
            self.0.clear();
        }
        let statement = prepare(sql)?;
        self.0.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// r2d2's PostgreSQL manager, with each connection's prepared statements kept beside it.
struct Manager(PostgresConnectionManager<NoTls>);

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.0.connect()?,
            statements: Statements::default(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// A transaction whose statements are prepared once per connection. The same calls as
/// `postgres::Transaction`, with the SQL given as text.
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut Statements,
}

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let tx = &mut self.tx;
        self.statements.get(sql, |sql| tx.prepare(sql))
    }

    pub(super) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub(super) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }

    pub(super) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }

    /// Statements without parameters, run as they are (not prepared).
    pub(super) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.tx.batch_execute(sql)
    }
}

/// Runs `work`, which uses the blocking client, where that may block. The client drives its own
/// runtime, which tokio refuses to start on a thread that is driving async tasks: the server
/// calls the store from blocking threads, but a call from an async thread (a handler, a test's
/// async body) must not bring the process down. On the multi-threaded runtime that thread hands
/// its tasks over for the call (`block_in_place`); on a single-threaded one the call runs on a
/// thread of its own.
fn off_async<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => work(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        Ok(_) => std::thread::scope(|s| s.spawn(work).join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
    }
}

/// A pooled connection whose calls are safe from any thread ([`off_async`]). `None` only while
/// it is dropped: a broken connection is closed where it is returned, which blocks too.
struct Client(Option<Pooled>);

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(pooled) = self.0.take() {
            off_async(move || drop(pooled));
        }
    }
}

pub(super) type Params<'a> = &'a [&'a (dyn postgres::types::ToSql + Sync)];

impl Client {
    fn new(pooled: Pooled) -> Self {
        Self(Some(pooled))
    }

    fn conn(&mut self) -> &mut Pooled {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }

    /// The connection's statement for `sql`, prepared on first use.
    fn statement(&mut self, sql: &str) -> Result<(&mut postgres::Client, Statement), postgres::Error> {
        let Conn { client, statements } = &mut **self.conn();
        let statement = statements.get(sql, |sql| client.prepare(sql))?;
        Ok((client, statement))
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        off_async(|| {
            let (client, statement) = self.statement(sql)?;
            client.query(&statement, params)
        })
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        off_async(|| {
            let (client, statement) = self.statement(sql)?;
            client.query_one(&statement, params)
        })
    }

    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        off_async(|| {
            let (client, statement) = self.statement(sql)?;
            client.query_opt(&statement, params)
        })
    }

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        off_async(|| {
            let (client, statement) = self.statement(sql)?;
            client.execute(&statement, params)
        })
    }

    /// Statements without parameters, run as they are (not prepared).
    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        off_async(|| self.conn().client.batch_execute(sql))
    }
}

/// Where the record store is (`--database-url`): empty, a `sqlite:` path or a `postgres://`
/// connection string, whose password never reaches a log: `Display` and `Debug` show it as `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl DatabaseUrl {
    /// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
    pub fn is_postgres(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The connection string itself, password and all: for connecting only, never for a log.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_password(&self.0)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted()).finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also a `password=` query
/// parameter. Text that is not a URL is returned as it is (it holds no password we can find).
pub fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(query) = out.find('?') {
        let (head, tail) = out.split_at(query + 1);
        let params: Vec<String> = tail
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{head}{}", params.join("&"));
    }
    out
}

/// How many connections one process keeps for store calls. The blocking thread pool is larger,
/// but a store call is short; callers beyond this wait for a connection.
const POOL_SIZE: u32 = 16;
/// Connections that hold a request's record locks (advisory locks live on a session, so one is
/// held for as long as the records are): a second pool, so a request holding locks and
/// waiting for a store connection can never be waited on by one holding a store connection.
const LOCK_POOL_SIZE: u32 = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Times a transaction is tried when PostgreSQL cancels it to break a deadlock or a
/// serialization conflict: it did nothing, and the same writes succeed on a later try.
const TRANSACTION_TRIES: usize = 5;

pub struct PgStore {
    /// Store calls' connections and record holds' (see [`LOCK_POOL_SIZE`]); `None` only while
    /// the store is dropped.
    pools: Option<Pools>,
    url: DatabaseUrl,
    /// Held between taking a feed seq and committing, to show a delayed commit never lets a
    /// reader skip an entry (the conformance suite's out-of-order test). Zero in service.
    commit_delay: std::sync::Mutex<Duration>,
}

struct Pools {
    store: Pool,
    locks: Pool,
}

impl PgStore {
    fn pools(&self) -> &Pools {
        self.pools
            .as_ref()
            .unwrap_or_else(|| unreachable!("the pools are taken only on drop"))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection blocks on its runtime: never on an async thread.
        if let Some(pools) = self.pools.take() {
            off_async(move || drop(pools));
        }
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &DatabaseUrl) -> StoreResult<Self> {
        let config: postgres::Config = url
            .secret()
            .parse()
            .map_err(|e| StoreError::Invalid(format!("the database URL {url} cannot be read: {e}")))?;
        // One plain connection first: its error says why (refused, unknown database, wrong
        // password), where the pool's would only say it timed out.
        off_async(|| config.connect(NoTls).map(drop))
            .map_err(|e| StoreError::Backend(format!("cannot connect to {url}: {}", describe(&e))))?;
        let build = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(CONNECT_TIMEOUT)
                .build(Manager(PostgresConnectionManager::new(config.clone(), NoTls)))
                .map_err(|e| StoreError::Backend(format!("cannot open a connection pool to {url}: {e}")))
        };
        let pool = build(POOL_SIZE)?;
        let locks = build(LOCK_POOL_SIZE)?;
        let store = Self {
            pools: Some(Pools { store: pool, locks }),
            url: url.clone(),
            commit_delay: std::sync::Mutex::new(Duration::ZERO),
        };
        let found = store.transaction(schema::migrate)?;
        if found < schema::VERSION {
            tracing::info!(url = %url, from = found, to = schema::VERSION, "migrated the PostgreSQL record store");
        }
        Ok(store)
    }

    /// The database this store uses, without its password.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Holds every write that takes a feed seq for `delay` between taking it and committing.
    /// For tests that show a reader never skips an entry committed late.
    pub fn delay_commits(&self, delay: Duration) {
        *self.commit_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    fn client(&self) -> StoreResult<Client> {
        off_async(|| self.pools().store.get())
            .map(Client::new)
            .map_err(|e| StoreError::Backend(format!("no connection to the database at {}: {e}", self.url)))
    }

    /// Runs `work` in a transaction and commits it, trying again when PostgreSQL cancelled it to
    /// break a deadlock or a serialization conflict (nothing of it was written).
    fn transaction<T: Send>(&self, work: impl FnMut(&mut Tx<'_>) -> StoreResult<T> + Send) -> StoreResult<T> {
        let mut client = self.client()?;
        off_async(|| Self::transaction_on(client.conn(), work))
    }

    fn transaction_on<T>(
        conn: &mut Conn,
        mut work: impl FnMut(&mut Tx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = (|| {
                let Conn { client, statements } = &mut *conn;
                let mut tx = Tx {
                    tx: client.transaction()?,
                    statements,
                };
                let value = work(&mut tx)?;
                tx.tx.commit()?;
                Ok(value)
            })();
            match attempt {
                Err(StoreError::Retry(why)) if tries < TRANSACTION_TRIES => {
                    tracing::debug!(%why, tries, "transaction cancelled by the database; trying again");
                }
                Err(StoreError::Retry(why)) => {
                    return Err(StoreError::Backend(format!(
                        "the database cancelled the transaction {tries} times: {why}"
                    )));
                }
                other => return other,
            }
        }
    }

    /// Takes the company's next feed position: the counter row stays locked until the caller's
    /// transaction ends, so the company's entries commit in seq order.
    fn next_seq(&self, tx: &mut Tx<'_>, tenant_id: &str) -> StoreResult<i64> {
        let seq: i64 = tx
            .query_one(
                "INSERT INTO feed_heads (tenant_id, seq) VALUES ($1, 1)
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = feed_heads.seq + 1
                 RETURNING seq",
                &[&tenant_id],
            )?
            .get(0);
        let delay = *self.commit_delay.lock().unwrap_or_else(|p| p.into_inner());
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        Ok(seq)
    }
}

impl RecordStore for PgStore {
    fn health(&self) -> StoreResult<()> {
        self.client()?.batch_execute("SELECT 1")?;
        Ok(())
    }

    fn hold_records(&self, tenant_id: &str, ids: &[String]) -> StoreResult<super::RecordHold> {
        let mut keys: Vec<i64> = ids.iter().map(|id| record_lock_key(tenant_id, id)).collect();
        // One order for every process, so two holders never each wait for the other.
        keys.sort_unstable();
        keys.dedup();
        let mut client = off_async(|| self.pools().locks.get())
            .map(Client::new)
            .map_err(|e| {
                StoreError::Backend(format!("no connection to the database at {}: {e}", self.url))
            })?;
        // One round trip for the lot: `unnest` yields the keys in the array's (sorted) order.
        client.execute(
            "SELECT pg_advisory_lock(key) FROM unnest($1::bigint[]) AS key",
            &[&keys],
        )?;
        Ok(super::RecordHold::new(AdvisoryLocks { client: Some(client) }))
    }

    fn shared_rate_buckets(&self) -> Option<&dyn super::SharedBuckets> {
        Some(self)
    }
}

/// The database's clock in Unix ms: one clock for every process sharing the buckets.
const DATABASE_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// How long until a bucket holding `tokens` has a whole one again.
fn wait_for_token(tokens: f64, per_second: f64) -> Duration {
    Duration::from_secs_f64(((1.0 - tokens) / per_second.max(f64::MIN_POSITIVE)).max(0.0))
}

impl super::SharedBuckets for PgStore {
    fn take_token(&self, key: &str, capacity: f64, per_second: f64) -> StoreResult<Result<(), Duration>> {
        let mut client = self.client()?;
        // Refill and spend in one statement: two processes spending from one bucket at once
        // take turns on its row, so neither spends a token the other already took.
        let spent = client.query_opt(
            &format!(
                "INSERT INTO rate_buckets AS b (key, tokens, at_ms) VALUES ($1::text, $2::float8 - 1, {DATABASE_NOW_MS})
                 ON CONFLICT (key) DO UPDATE SET
                     tokens = LEAST($2::float8, b.tokens + GREATEST(0, {DATABASE_NOW_MS} - b.at_ms) / 1000.0 * $3::float8) - 1,
                     at_ms = {DATABASE_NOW_MS}
                 WHERE LEAST($2::float8, b.tokens + GREATEST(0, {DATABASE_NOW_MS} - b.at_ms) / 1000.0 * $3::float8) >= 1
                 RETURNING tokens"
            ),
            &[&key, &capacity, &per_second],
        )?;
        if spent.is_some() {
            // Now and then, forget buckets full again (keys an attacker invents cost rows only
            // while used).
            if rand::random::<u16>() < 64 {
                client.execute(
                    &format!("DELETE FROM rate_buckets WHERE at_ms < {DATABASE_NOW_MS} - 86400000"),
                    &[],
                )?;
            }
            return Ok(Ok(()));
        }
        // Refused: the bucket was empty. Answer its wait (a whole token's, if it refilled since).
        Ok(match self.has_token(key, capacity, per_second)? {
            Err(wait) => Err(wait),
            Ok(()) => Err(wait_for_token(0.0, per_second)),
        })
    }

    fn has_token(&self, key: &str, capacity: f64, per_second: f64) -> StoreResult<Result<(), Duration>> {
        let tokens: Option<f64> = self
            .client()?
            .query_opt(
                &format!(
                    "SELECT LEAST($2::float8, tokens + GREATEST(0, {DATABASE_NOW_MS} - at_ms) / 1000.0 * $3::float8)
                     FROM rate_buckets WHERE key = $1::text"
                ),
                &[&key, &capacity, &per_second],
            )?
            .map(|r| r.get(0));
        Ok(match tokens {
            Some(tokens) if tokens < 1.0 => Err(wait_for_token(tokens, per_second)),
            _ => Ok(()),
        })
    }
}

/// A record's advisory-lock key: the first eight bytes of the SHA-256 of its company and id.
/// Two records sharing a key only wait for each other now and then.
fn record_lock_key(tenant_id: &str, doc_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(tenant_id.as_bytes())
        .chain_update([0])
        .chain_update(doc_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Records held across processes, released when dropped; if the process dies, PostgreSQL ends its
/// session and releases them.
struct AdvisoryLocks {
    client: Option<Client>,
}

impl Drop for AdvisoryLocks {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else {
            return;
        };
        // This connection holds nothing but these locks. If releasing fails the connection is
        // broken, and the pool discards it rather than lend it out: PostgreSQL then ends its
        // session, which releases them.
        if let Err(e) = client.batch_execute("SELECT pg_advisory_unlock_all()") {
            tracing::warn!(error = %e, "could not release record locks; their connection is dropped");
        }
    }
}

/// The driver's error with its causes ("error connecting to server: Connection refused").
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("database error {}: {}", db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// "The database cancelled this transaction; try it again" — the caller's retry loop only.
fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

pub(super) fn unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if retryable(&e) {
            return StoreError::Retry(e.to_string());
        }
        let (code, message) = match e.code() {
            Some(&SqlState::DISK_FULL) | Some(&SqlState::OUT_OF_MEMORY) => {
                ("storage_full", "the database's disk is full")
            }
            Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => (
                "storage_read_only",
                "the database takes no writes (a read-only replica or recovery)",
            ),
            Some(&SqlState::IO_ERROR) => ("storage_io_error", "the database cannot write to its disk"),
            _ => {
                // The driver's message names no password; the URL is never part of it.
                return StoreError::Backend(describe(&e));
            }
        };
        tracing::error!(code, error = %e, "record store cannot write");
        StoreError::CannotWrite {
            code,
            message: format!("{message}: nothing was stored; keep the changes and send them again later"),
        }
    }
}

/// The system clock, Unix ms (for the upkeep the store does on its own only).
fn new_id() -> String {
    sync_core::model::new_id()
}

/// An audit entry, inside the transaction of the change it describes.
fn audit_in(tx: &mut Tx<'_>, tenant_id: &str, user_id: &str, action: &str, detail: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit_log (tenant_id, at_ms, user_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&tenant_id, &super::sqlite::now_ms(), &user_id, &action, &detail],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_urls_password_never_shows() {
        let url = DatabaseUrl::new("postgres://muster:s3cret@db.internal:5432/muster?sslmode=disable");
        assert_eq!(
            url.to_string(),
            "postgres://muster:***@db.internal:5432/muster?sslmode=disable"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            redact_password("postgresql://u@h/db?password=hunter2&application_name=m"),
            "postgresql://u@h/db?password=***&application_name=m"
        );
        assert_eq!(redact_password("postgres://h/db"), "postgres://h/db");
        // An @ in the path or query is not the password's end.
        assert_eq!(
            redact_password("postgres://a:b@h/db?options=x@y"),
            "postgres://a:***@h/db?options=x@y"
        );
    }

    #[test]
    fn a_records_lock_key_is_its_companys() {
        assert_eq!(record_lock_key("t1", "doc"), record_lock_key("t1", "doc"));
        assert_ne!(record_lock_key("t1", "doc"), record_lock_key("t2", "doc"));
        assert_ne!(record_lock_key("t1", "ab"), record_lock_key("t1a", "b"));
    }
}
