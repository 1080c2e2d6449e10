//! What the same work costs without Muster, measured in the same run: a raw SQLite insert of the
//! same document bytes (the storage limit), and a plain JSON REST endpoint that parses the form and
//! inserts a row (what a simple app would do).

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use rusqlite::{Connection, params};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn open(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.execute_batch("CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, bytes BLOB NOT NULL)")
        .expect("table");
    conn
}

/// Inserts `docs` in transactions of `batch`, as the server commits one request's records.
pub fn raw_sqlite(dir: &std::path::Path, docs: &[(String, Vec<u8>)], batch: usize) -> Duration {
    let mut conn = open(&dir.join("raw.db"));
    let started = Instant::now();
    for chunk in docs.chunks(batch.max(1)) {
        let tx = conn.transaction().expect("tx");
        for (id, bytes) in chunk {
            tx.execute("INSERT INTO docs (id, bytes) VALUES (?1, ?2)", params![id, bytes])
                .expect("insert");
        }
        tx.commit().expect("commit");
    }
    started.elapsed()
}

/// POSTs each record as JSON to a plain axum endpoint that parses it and inserts a row.
pub async fn json_rest(dir: &std::path::Path, records: &[sync_core::Record], concurrency: usize) -> Duration {
    let conn = Arc::new(Mutex::new(open(&dir.join("rest.db"))));
    let app = axum::Router::new()
        .route("/records", post(insert))
        .with_state(conn);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/records", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let started = Instant::now();
    let per = records.len().div_ceil(concurrency.max(1));
    let mut tasks = Vec::new();
    for part in records.chunks(per.max(1)) {
        let part = part.to_vec();
        let http = http.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for record in part {
                let status = http.post(&url).json(&record).send().await.expect("post").status();
                assert!(status.is_success(), "{status}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let elapsed = started.elapsed();
    server.abort();
    elapsed
}

async fn insert(
    State(conn): State<Arc<Mutex<Connection>>>,
    Json(record): Json<sync_core::Record>,
) -> &'static str {
    let json = serde_json::to_string(&record).unwrap_or_default();
    let id = record.header.id.clone();
    tokio::task::spawn_blocking(move || {
        let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "INSERT INTO docs (id, bytes) VALUES (?1, ?2)",
            params![id, json.into_bytes()],
        )
        .expect("insert");
    })
    .await
    .expect("insert task");
    "ok"
}

/// The CRDT limit: bare automerge work on the same pushed bytes, with no checks and no storage.
/// Each document is loaded (parsed and its ops indexed), merged into an empty server-side copy,
/// and saved, on as many threads as the server has cores, as the server spreads requests.
pub fn crdt_limit(docs: &[(String, Vec<u8>)]) -> Duration {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in docs.chunks(docs.len().div_ceil(threads).max(1)) {
            scope.spawn(move || {
                for (_, bytes) in part {
                    let mut pushed = automerge::AutoCommit::load(bytes).expect("load");
                    let mut server = automerge::AutoCommit::new();
                    server.merge(&mut pushed).expect("merge");
                    std::hint::black_box(server.save());
                }
            });
        }
    });
    started.elapsed()
}

/// The cold-start limit: the same saved documents loaded into automerge and written to a fresh
/// store of the phone's settings (WAL, synchronous=FULL), `batch` to a transaction as a page of
/// the feed arrives, with no checks, projection or feed.
pub fn cold_limit(dir: &std::path::Path, docs: &[(String, Vec<u8>)], batch: usize) -> Duration {
    let mut conn = open(&dir.join("cold-limit.db"));
    let started = Instant::now();
    for chunk in docs.chunks(batch.max(1)) {
        let tx = conn.transaction().expect("tx");
        for (id, bytes) in chunk {
            std::hint::black_box(automerge::AutoCommit::load(bytes).expect("load"));
            tx.execute("INSERT INTO docs (id, bytes) VALUES (?1, ?2)", params![id, bytes])
                .expect("insert");
        }
        tx.commit().expect("commit");
    }
    started.elapsed()
}
