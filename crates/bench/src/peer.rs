//! Scenario 7: the same documents synced by `samod` (the Rust automerge-repo) beside Muster, in
//! one run. samod runs two in-process repos over a real TCP loopback connection with its own
//! length-delimited framing; the bytes are counted on the accepting side's socket, both ways.
//! Muster runs its real server and a fresh device behind the byte-counting proxy.

use crate::checks::Checks;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use automerge::{ActorId, Automerge, ChangeHash};
use e2e_tests::{Phone, TestServer, at};
use samod::{BackoffConfig, DocHandle, DocumentId, PeerId, Repo};
use sync_core::model::{Body, Header, Record, SCHEMA_VERSION, Signature, new_id};
use sync_core::protocol::{
    self, ClockSample, DocPush, PROTOCOL_VERSION, PushOutcome, Role, SYNC_CONTENT_TYPE, SyncRequest,
    SyncResponse,
};
use sync_core::{RecordDocument, Stamp, sample};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use crate::proxy::{self, Counter};

/// Time, bodies up and down, and everything else on the wire (headers, framing).
#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    time: Duration,
    up: u64,
    down: u64,
    overhead: u64,
}

impl Measured {
    fn bytes(&self) -> u64 {
        self.up + self.down
    }
}

#[derive(Debug)]
struct SizeResult {
    records: usize,
    saved_bytes: usize,
    samod_cold: Measured,
    samod_reconnect: Measured,
    muster_cold: Measured,
    muster_idle: Measured,
}

pub async fn peer(sizes: &[usize]) -> Checks {
    let mut checks = Checks::new("peer");
    let mut results = Vec::new();
    for &records in sizes {
        let result = one_size(records).await;
        checks.within(
            "Muster's cold bytes ÷ saved documents",
            result.muster_cold.bytes() as f64 / result.saved_bytes.max(1) as f64,
            3.0,
        );
        checks.within(
            "Muster's idle sync bodies, bytes",
            result.muster_idle.bytes() as f64,
            1_000.0,
        );
        checks.within("samod's cold bytes", result.samod_cold.bytes() as f64, f64::MAX);
        results.push(result);
    }
    print_table(&results);
    checks
}

async fn one_size(records: usize) -> SizeResult {
    let server = TestServer::start().await;
    let email = "peer@bench.test";
    let company = server.company("Peer Energy", &[(email, Role::Worker, &[0])]);
    let user = server
        .store()
        .user_by_email(email)
        .expect("lookup")
        .expect("user")
        .id;
    let documents = typical_documents(&company.id, &company.site_a, &user, records);
    let saved_bytes = documents.iter().map(|(_, bytes)| bytes.len()).sum();

    let dir = tempfile::tempdir().expect("dir");
    let seeder = device(&dir, &server.url, email).await;
    let token = seeder
        .store
        .credentials()
        .expect("credentials")
        .expect("signed in")
        .access_token;
    seed(&server.url, &token, &documents).await;
    eprintln!("peer: {records} records seeded; Muster cold start and idle sync");
    let (muster_cold, muster_idle) = muster_cold_and_idle(&server, &dir, email, records).await;
    // Stopped first, so samod has the cores to itself as Muster had.
    server.stop().await;

    eprintln!("peer: samod cold sync and reconnect");
    let (samod_cold, samod_reconnect) = samod_cold_and_reconnect(&documents).await;
    SizeResult {
        records,
        saved_bytes,
        samod_cold,
        samod_reconnect,
        muster_cold,
        muster_idle,
    }
}

/// `count` typical JSEAs (3 steps, 6 hazards, 12 controls, signed by their author) as one phone
/// would create them: the saved bytes of each record's document, with its record id.
fn typical_documents(tenant: &str, site: &str, user: &str, count: usize) -> Vec<(String, Vec<u8>)> {
    let actor = ActorId::random();
    (0..count)
        .map(|i| {
            let now = sync_core::store::now_ms();
            let mut jsea = sample::jsea();
            jsea.crew = vec![user.to_owned()];
            let hash = jsea.content_hash();
            jsea.signatures.insert(
                user.into(),
                Signature {
                    user_id: user.into(),
                    name: "Crew lead".into(),
                    content_hash: hash,
                    stamp: at(5),
                },
            );
            let record = Record {
                header: Header {
                    id: new_id(),
                    kind: "jsea".into(),
                    schema_version: SCHEMA_VERSION,
                    tenant_id: tenant.into(),
                    site_id: site.into(),
                    job_id: None,
                    created_by: user.into(),
                    created: Stamp::new(now, i as i64, "peer"),
                },
                body: Body::Jsea(jsea),
            };
            let mut document = RecordDocument::create(actor.clone(), user, &record, now).expect("document");
            (record.header.id, document.save())
        })
        .collect()
}

async fn device(dir: &tempfile::TempDir, url: &str, email: &str) -> Phone {
    crate::scenarios::phone_in(dir, url, email, "peer bench").await
}

/// Pushes the documents through the sync endpoint, as their author's phone would.
async fn seed(url: &str, token: &str, documents: &[(String, Vec<u8>)]) {
    const BATCH: usize = 200;
    let http = reqwest::Client::new();
    for (n, chunk) in documents.chunks(BATCH).enumerate() {
        let body = protocol::encode(&SyncRequest {
            version: PROTOCOL_VERSION,
            cursor: 0,
            cursor_check: 0,
            clock: ClockSample {
                wall_ms: sync_core::store::now_ms(),
                monotonic_ms: n as i64,
                boot_id: "peer-seed".into(),
                last_round_trip_ms: 5,
            },
            pushes: chunk
                .iter()
                .map(|(id, bytes)| DocPush {
                    doc_id: id.clone(),
                    base_heads: vec![],
                    changes: bytes.clone(),
                })
                .collect(),
            doc_sync: vec![],
        });
        let response = http
            .post(format!("{url}/v1/sync"))
            .bearer_auth(token)
            .header("content-type", SYNC_CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .expect("seed sync");
        assert!(
            response.status().is_success(),
            "seed sync: HTTP {}",
            response.status()
        );
        let answer: SyncResponse = protocol::decode(&response.bytes().await.expect("body")).expect("decode");
        assert!(
            answer.results.iter().all(|r| r.outcome == PushOutcome::Accepted),
            "seed records accepted"
        );
    }
}

/// A fresh device (signed in through the counting proxy) receiving every record, then one sync
/// with nothing changed.
async fn muster_cold_and_idle(
    server: &TestServer,
    dir: &tempfile::TempDir,
    email: &str,
    records: usize,
) -> (Measured, Measured) {
    let (url, counter) = proxy::start(server.url.trim_start_matches("http://").to_owned()).await;
    let mut fresh = device(dir, &url, email).await;
    counter.take();

    let started = Instant::now();
    let cold = fresh.sync().await;
    let cold_time = started.elapsed();
    let cold_wire = counter.take();
    assert_eq!(
        fresh.store.count_records().expect("count") as usize,
        records,
        "every record arrived"
    );

    let started = Instant::now();
    let idle = fresh.sync().await;
    let idle_time = started.elapsed();
    let idle_wire = counter.take();
    assert_eq!(idle.received, 0, "nothing changed");

    let measured = |time, up, down, (wire_up, wire_down): (u64, u64)| Measured {
        time,
        up,
        down,
        overhead: (wire_up + wire_down).saturating_sub(up + down),
    };
    (
        measured(cold_time, cold.bytes_up, cold.bytes_down, cold_wire),
        measured(idle_time, idle.bytes_up, idle.bytes_down, idle_wire),
    )
}

/// A socket that counts the bytes it reads (`up`: sent by the fresh peer) and writes (`down`).
struct CountedStream<S> {
    inner: S,
    counter: Counter,
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        this.counter.up.fetch_add(read as u64, Ordering::SeqCst);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = &poll {
            this.counter.down.fetch_add(*written as u64, Ordering::SeqCst);
        }
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// samod's background chatter (acknowledging sync messages) may trail the moment every document
/// is in sync: wait until the socket has been quiet for a while before reading the counter.
async fn quiet(counter: &Counter) {
    let total = || counter.up.load(Ordering::SeqCst) + counter.down.load(Ordering::SeqCst);
    let mut last = total();
    let mut quiet_checks = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = total();
        quiet_checks = if now == last { quiet_checks + 1 } else { 0 };
        if quiet_checks == 5 {
            return;
        }
        last = now;
    }
}

/// Generous, so that a stalled samod sync fails the run rather than hanging it.
fn deadline(records: usize) -> Duration {
    Duration::from_secs(120) + Duration::from_millis(records as u64 * 500)
}

/// Repo A holds the documents; a fresh repo B dials it over TCP and finds every one by id. Then B
/// drops the connection and dials again with everything already present.
async fn samod_cold_and_reconnect(documents: &[(String, Vec<u8>)]) -> (Measured, Measured) {
    let holder = Repo::build_tokio()
        .with_peer_id(PeerId::from("holder"))
        .load()
        .await;
    let mut wanted: Vec<(DocumentId, Vec<ChangeHash>)> = Vec::with_capacity(documents.len());
    for (_, bytes) in documents {
        let handle = holder
            .create(Automerge::load(bytes).expect("load"))
            .await
            .expect("create");
        let heads = handle.with_document(|d| d.get_heads());
        wanted.push((handle.document_id().clone(), heads));
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let acceptor = holder
        .make_acceptor(samod::Url::parse(&format!("tcp://{address}")).expect("url"))
        .expect("acceptor");
    let counter = Counter::default();
    let accepting = {
        let (acceptor, counter) = (acceptor.clone(), counter.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let counted = CountedStream {
                    inner: socket,
                    counter: counter.clone(),
                };
                if acceptor.accept_tokio_io(counted).is_err() {
                    return;
                }
            }
        })
    };

    let fresh = Repo::build_tokio()
        .with_peer_id(PeerId::from("fresh"))
        .load()
        .await;
    let url = samod::Url::parse(&format!("tcp://{address}")).expect("url");

    let started = Instant::now();
    let dialer = fresh
        .dial_tcp(url.clone(), BackoffConfig::default())
        .expect("dial");
    dialer.established().await.expect("connected");
    let connection = dialer.connection_id().expect("connection");
    let mut finding = tokio::task::JoinSet::new();
    for (id, heads) in &wanted {
        let (find, heads) = (fresh.find(id.clone()), heads.clone());
        finding.spawn(async move {
            let handle = find.await.expect("repo running").expect("found on the peer");
            if handle.with_document(|d| d.get_heads()) != heads {
                handle.we_have_their_changes(connection).await;
            }
            assert_eq!(handle.with_document(|d| d.get_heads()), heads, "the peer's heads");
            handle
        });
    }
    let handles: Vec<DocHandle> = tokio::time::timeout(deadline(wanted.len()), finding.join_all())
        .await
        .expect("samod cold sync finished in time");
    let cold_time = started.elapsed();
    quiet(&counter).await;
    let (cold_up, cold_down) = counter.take();

    eprintln!("peer: samod cold sync of {} documents done", wanted.len());
    dialer.close();
    // The holder's side is the one counted, so its seeing the connection go is what matters.
    tokio::time::timeout(Duration::from_secs(30), async {
        while acceptor.connection_count() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the holder saw the fresh peer disconnect");
    quiet(&counter).await;
    counter.take();

    let started = Instant::now();
    let dialer = fresh.dial_tcp(url, BackoffConfig::default()).expect("dial");
    dialer.established().await.expect("connected");
    let connection = dialer.connection_id().expect("connection");
    let mut syncing = tokio::task::JoinSet::new();
    for handle in handles {
        syncing.spawn(async move {
            handle.they_have_our_changes(connection).await;
            handle.we_have_their_changes(connection).await;
        });
    }
    tokio::time::timeout(deadline(wanted.len()), syncing.join_all())
        .await
        .expect("samod reconnect finished in time");
    let reconnect_time = started.elapsed();
    quiet(&counter).await;
    let (reconnect_up, reconnect_down) = counter.take();

    dialer.close();
    accepting.abort();
    fresh.stop().await;
    holder.stop().await;
    (
        Measured {
            time: cold_time,
            up: cold_up,
            down: cold_down,
            overhead: 0,
        },
        Measured {
            time: reconnect_time,
            up: reconnect_up,
            down: reconnect_down,
            overhead: 0,
        },
    )
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn times(a: f64, b: f64) -> String {
    if b == 0.0 {
        "—".into()
    } else {
        format!("{:.2}", a / b)
    }
}

fn print_table(results: &[SizeResult]) {
    println!("\n### A peer: samod 0.16 beside Muster, the same typical JSEA documents\n");
    println!(
        "| records | path | samod time | samod bytes (up / down) | Muster time | Muster bodies (up / down) | Muster headers + framing | samod bytes ÷ Muster bodies | samod time ÷ Muster time |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        for (path, samod, muster) in [
            ("cold sync, fresh peer / device", r.samod_cold, r.muster_cold),
            (
                "reconnect / sync, nothing changed",
                r.samod_reconnect,
                r.muster_idle,
            ),
        ] {
            println!(
                "| {} | {path} | {} | {} ({} / {}) | {} | {} ({} / {}) | {} | {} | {} |",
                r.records,
                seconds(samod.time),
                samod.bytes(),
                samod.up,
                samod.down,
                seconds(muster.time),
                muster.bytes(),
                muster.up,
                muster.down,
                muster.overhead,
                times(samod.bytes() as f64, muster.bytes() as f64),
                times(samod.time.as_secs_f64(), muster.time.as_secs_f64()),
            );
        }
    }
    println!(
        "\nsamod runs over a raw TCP stream with its own framing (a 4-byte length before each CBOR \
         message): its bytes are everything on the socket, and it has no HTTP headers. Muster's \
         bodies are the sync protocol's own; its headers and HTTP framing are counted apart by the proxy."
    );
    for r in results {
        println!(
            "{} records: saved documents {} B in all; samod's reconnect {:.0} B per document; Muster's idle \
             sync {} B in all, headers included, whatever the count.",
            r.records,
            r.saved_bytes,
            r.samod_reconnect.bytes() as f64 / r.records as f64,
            r.muster_idle.bytes() + r.muster_idle.overhead,
        );
    }
    if let [first, .., last] = results {
        let growth = |a: Duration, b: Duration| {
            (b.as_secs_f64() / a.as_secs_f64()).ln() / (last.records as f64 / first.records as f64).ln()
        };
        let samod_exponent = growth(first.samod_cold.time, last.samod_cold.time);
        let muster_exponent = growth(first.muster_cold.time, last.muster_cold.time);
        let at_ten_thousand = |time: Duration, exponent: f64| {
            time.as_secs_f64() * (10_000.0 / last.records as f64).powf(exponent)
        };
        println!(
            "\nCold sync time from {} to {} records grew as records^{samod_exponent:.2} for samod and \
             records^{muster_exponent:.2} for Muster (1.00 is linear). Carried on at those rates, 10,000 records \
             would take samod about {:.0} s and Muster about {:.0} s: a rough guide from two points on a noisy \
             machine, not a measurement.",
            first.records,
            last.records,
            at_ten_thousand(last.samod_cold.time, samod_exponent),
            at_ten_thousand(last.muster_cold.time, muster_exponent),
        );
    }
}
