//! Scenarios 3 (throughput) and 6 (load) on each record store configuration in one run
//! (issue 17): (a) one server process on SQLite, (b) one on PostgreSQL, (c) two on one
//! PostgreSQL database. Each configuration gets a fresh store per scenario, the same company and
//! people written straight into that store, the server as separate processes (this binary's
//! `serve`, the same `server::run` as `muster-server`), and its records pushed through its own
//! sync endpoints, so only the store and the number of processes differ.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use server::store::RecordStore;
use server::store::postgres::PgStore;
use server::store::postgres::scratch::ScratchDatabase;
use server::store::sqlite::SqliteStore;

use crate::checks::Checks;
use crate::cpu::{CpuReading, CpuUse};
use crate::scenarios::{
    self, Crew, LoadRun, SLOW_SYNC, ServerProcess, THROUGHPUT_BATCH, ms, percentile, ratio,
};

/// What one `stores` run measures.
#[derive(Debug, Clone)]
pub struct StoresRun {
    /// New JSEAs pushed in scenario 3.
    pub records: usize,
    /// Phones pushing them, all at once.
    pub phones: usize,
    /// Devices syncing in scenario 6.
    pub devices: usize,
    pub seconds: u64,
    /// Records of another site each server holds before scenario 6 starts.
    pub load_records: usize,
    pub interval: Duration,
    /// Where to keep the server processes' logs (otherwise they go with their temporary
    /// directories once summarised).
    pub logs: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Configuration {
    Sqlite,
    Postgres { processes: usize },
}

impl Configuration {
    const ALL: [Self; 3] = [
        Self::Sqlite,
        Self::Postgres { processes: 1 },
        Self::Postgres { processes: 2 },
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "(a) one process, SQLite",
            Self::Postgres { processes: 1 } => "(b) one process, PostgreSQL",
            Self::Postgres { .. } => "(c) two processes, one PostgreSQL database",
        }
    }

    /// The configuration's letter, for file names.
    fn letter(self) -> &'static str {
        match self {
            Self::Sqlite => "a",
            Self::Postgres { processes: 1 } => "b",
            Self::Postgres { .. } => "c",
        }
    }

    fn processes(self) -> usize {
        match self {
            Self::Sqlite => 1,
            Self::Postgres { processes } => processes,
        }
    }
}

/// One configuration's server processes and the store under them, for one scenario. Dropping
/// it stops the processes, then drops its PostgreSQL database.
struct Deployment {
    configuration: Configuration,
    /// The processes' shared data directory (SQLite store, token signing key) and their logs.
    dir: tempfile::TempDir,
    database: Option<ScratchDatabase>,
    servers: Vec<ServerProcess>,
}

impl Deployment {
    /// `None` when the configuration needs PostgreSQL and none answers.
    fn create(configuration: Configuration) -> Option<Self> {
        let database = match configuration {
            Configuration::Sqlite => None,
            // The blocking PostgreSQL client runs a runtime of its own: off this one's workers.
            Configuration::Postgres { .. } => Some(tokio::task::block_in_place(|| {
                ScratchDatabase::create("benchmark")
            })?),
        };
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("data")).expect("data dir");
        Some(Self {
            configuration,
            dir,
            database,
            servers: Vec::new(),
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self, process: usize) -> PathBuf {
        self.dir.path().join(format!("server-{process}.log"))
    }

    /// Runs `work` on the store opened in this process, while no server process runs (set-up
    /// before, checks after), then closes it.
    fn with_store<T>(&self, work: impl FnOnce(&dyn RecordStore) -> T) -> T {
        tokio::task::block_in_place(|| {
            let store: Box<dyn RecordStore> = match &self.database {
                None => {
                    Box::new(SqliteStore::open(&self.data_dir().join("records.db")).expect("SQLite store"))
                }
                Some(database) => Box::new(PgStore::connect(database.url()).expect("PostgreSQL store")),
            };
            work(store.as_ref())
        })
    }

    /// Starts the configuration's processes one after another: the first writes the token
    /// signing key into the shared data directory, which the second then reads.
    async fn start(&mut self) {
        for process in 0..self.configuration.processes() {
            let log = std::fs::File::create(self.log_path(process)).expect("log file");
            let url = self.database.as_ref().map(|d| d.url().secret().to_owned());
            let server = ServerProcess::spawn(&self.data_dir(), url.as_deref(), log).await;
            self.servers.push(server);
        }
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(ServerProcess::pid).collect()
    }

    fn peak_rss_mib(&self) -> Vec<f64> {
        self.servers.iter().map(ServerProcess::peak_rss_mib).collect()
    }

    /// Stops the processes; what they logged (warnings and errors only), tagged by process. With
    /// `keep_in`, each log is also copied there as `<scenario>-<letter>-process-<n>.log`.
    fn stop(&mut self, scenario: &str, keep_in: Option<&Path>) -> Vec<String> {
        let processes = self.servers.len();
        self.servers.clear();
        (0..processes)
            .flat_map(|process| {
                if let Some(keep_in) = keep_in {
                    let name = format!("{scenario}-{}-process-{process}.log", self.configuration.letter());
                    std::fs::create_dir_all(keep_in)
                        .and_then(|()| std::fs::copy(self.log_path(process), keep_in.join(name)))
                        .expect("copy a server log");
                }
                let text = std::fs::read_to_string(self.log_path(process)).unwrap_or_default();
                without_colours(&text)
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(|line| format!("process {process}: {line}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.servers.clear();
        if let Some(database) = self.database.take() {
            // Dropping it connects with the blocking client, which must not run on a runtime thread.
            let _ = std::thread::spawn(move || drop(database)).join();
        }
    }
}

/// `text` without terminal colour codes (the server's log writer adds them).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A company with `workers` workers, each with a site of their own: its id and the workers'
/// `(email, site id)`.
fn company(store: &dyn RecordStore, password_hash: &str, workers: usize) -> (String, Vec<(String, String)>) {
    let company = store.create_company("Bench Energy").expect("company");
    let workers = (0..workers)
        .map(|n| scenarios::add_worker(store, &company.id, password_hash, n))
        .collect();
    (company.id, workers)
}

struct Throughput {
    configuration: Configuration,
    elapsed: Duration,
    records: usize,
    cpu: CpuUse,
    peak_rss: Vec<f64>,
    log: Vec<String>,
}

impl Throughput {
    fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }
}

struct Load {
    configuration: Configuration,
    seeding: Duration,
    run: LoadRun,
    peak_rss: Vec<f64>,
    log: Vec<String>,
}

/// Scenario 3 on `configuration`: `run.phones` phones push `run.records` new JSEAs, 100 per
/// request, phone i to process i % processes.
async fn throughput_on(
    configuration: Configuration,
    run: &StoresRun,
    password_hash: &str,
    checks: &mut Checks,
) -> Option<Throughput> {
    let mut deployment = Deployment::create(configuration)?;
    let (tenant, workers) = deployment.with_store(|store| company(store, password_hash, run.phones));
    deployment.start().await;
    let phones_dir = tempfile::tempdir().expect("dir");
    let queued = scenarios::queue_new_jseas(&phones_dir, &workers, &deployment.urls(), run.records).await;
    let total = queued.docs.len();
    let cpu_before = CpuReading::now(&deployment.pids());
    let (accepted, elapsed) = scenarios::push_queued(&queued).await;
    let cpu = CpuReading::now(&deployment.pids()).since(&cpu_before, elapsed.as_secs_f64());
    let peak_rss = deployment.peak_rss_mib();
    let log = deployment.stop("scenario-3", run.logs.as_deref());
    let label = configuration.label();
    checks.equal(&format!("{label}: records accepted"), accepted, total);
    let stored = deployment.with_store(|store| store.feed_head(&tenant).expect("feed head")) as usize;
    checks.equal(
        &format!("{label}: records stored (and the crews' orientations)"),
        stored,
        total + workers.len(),
    );
    Some(Throughput {
        configuration,
        elapsed,
        records: total,
        cpu,
        peak_rss,
        log,
    })
}

/// Scenario 6 on `configuration`: the server holds `run.load_records` records of one site
/// (pushed through its sync endpoints), then `run.devices` devices of a crew at another site,
/// device n on process n % processes, sync every `run.interval` for `run.seconds`.
async fn load_on(
    configuration: Configuration,
    run: &StoresRun,
    password_hash: &str,
    checks: &mut Checks,
) -> Option<Load> {
    let mut deployment = Deployment::create(configuration)?;
    let (tenant, seeder, crew) = deployment.with_store(|store| {
        let (tenant, workers) = company(store, password_hash, 2);
        let user_id = |email: &str| store.user_by_email(email).expect("lookup").expect("user").id;
        let seeder = (workers[0].0.clone(), workers[0].1.clone(), user_id(&workers[0].0));
        let crew = Crew {
            tenant: tenant.clone(),
            email: workers[1].0.clone(),
            user_id: user_id(&workers[1].0),
            site: workers[1].1.clone(),
        };
        (tenant, seeder, crew)
    });
    deployment.start().await;
    let urls = deployment.urls();
    let (seeder_email, seeder_site, seeder_id) = seeder;
    let seeding = Instant::now();
    scenarios::seed(
        &urls,
        &seeder_email,
        &tenant,
        &seeder_site,
        &seeder_id,
        run.load_records,
    )
    .await;
    let seeding = seeding.elapsed();
    let load =
        scenarios::drive_load(&deployment.servers, &crew, run.devices, run.seconds, run.interval).await;
    let peak_rss = deployment.peak_rss_mib();
    let log = deployment.stop("scenario-6", run.logs.as_deref());
    let label = configuration.label();
    checks.equal(&format!("{label}: failed or refused syncs"), load.errors, 0);
    checks.that(!load.timeline.is_empty(), || {
        format!("{label}: no sync completed")
    });
    Some(Load {
        configuration,
        seeding,
        run: load,
        peak_rss,
        log,
    })
}

/// Scenarios 3 and 6 on the three configurations, one after another in one run, each printed
/// with its ratios to configuration (a) of the same run.
pub async fn stores(run: StoresRun) -> Checks {
    let mut checks = Checks::new("stores");
    let password_hash = server::auth::hash_password(e2e_tests::PASSWORD).expect("hash");
    let started = Instant::now();

    let mut throughputs = Vec::new();
    for configuration in Configuration::ALL {
        let phase = Instant::now();
        match throughput_on(configuration, &run, &password_hash, &mut checks).await {
            Some(measured) => throughputs.push(measured),
            None => checks.that(false, || {
                format!("{}: PostgreSQL is unreachable", configuration.label())
            }),
        }
        eprintln!(
            "stores: scenario 3 on {} took {}",
            configuration.label(),
            ms(phase.elapsed())
        );
    }
    print_throughput(&run, &throughputs);

    let mut loads = Vec::new();
    for configuration in Configuration::ALL {
        let phase = Instant::now();
        match load_on(configuration, &run, &password_hash, &mut checks).await {
            Some(measured) => loads.push(measured),
            None => checks.that(false, || {
                format!("{}: PostgreSQL is unreachable", configuration.label())
            }),
        }
        eprintln!(
            "stores: scenario 6 on {} took {}",
            configuration.label(),
            ms(phase.elapsed())
        );
    }
    print_load(&run, &loads);

    println!("\n#### What the server processes logged (warnings and errors)\n");
    let logs = throughputs
        .iter()
        .map(|t| ("scenario 3", t.configuration, &t.log))
        .chain(loads.iter().map(|l| ("scenario 6", l.configuration, &l.log)));
    for (scenario, configuration, log) in logs {
        print_log(scenario, configuration, log);
    }
    println!("\nThe whole run took {:.0} s.", started.elapsed().as_secs_f64());
    checks
}

/// Per-process figures joined, e.g. "41 + 43 MiB".
fn per_process_mib(values: &[f64]) -> String {
    let each: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
    format!("{} MiB", each.join(" + "))
}

fn print_throughput(run: &StoresRun, measured: &[Throughput]) {
    println!(
        "\n### Stores, scenario 3: {} new JSEAs from {} phones, {THROUGHPUT_BATCH} per request (with two processes, phone i syncs with process i % 2)\n",
        run.records, run.phones
    );
    println!(
        "| configuration | time | new JSEAs/s | ÷ (a) | CPU while pushing: server / PostgreSQL / phones | peak server memory |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: |");
    let baseline = measured
        .iter()
        .find(|t| t.configuration == Configuration::Sqlite)
        .map(Throughput::rate);
    for t in measured {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} |",
            t.configuration.label(),
            ms(t.elapsed),
            t.rate(),
            baseline.map_or_else(|| "—".to_owned(), |b| ratio(t.rate(), b)),
            t.cpu.describe(),
            per_process_mib(&t.peak_rss)
        );
    }
}

fn print_load(run: &StoresRun, measured: &[Load]) {
    let pace = if run.interval.is_zero() {
        "back to back".to_owned()
    } else {
        format!("every {} ms", run.interval.as_millis())
    };
    println!(
        "\n### Stores, scenario 6: {} devices syncing {pace} for {} s, every tenth sync a near miss, against servers holding {} records of another site (with two processes, device n syncs with process n % 2)\n",
        run.devices, run.seconds, run.load_records
    );
    println!(
        "| configuration | filling {} records: records/s | first syncs at once: median | slowest | requests | errors | p50 | p99 | max | p50 ÷ (a) | p99 ÷ (a) | syncs over {} ms | records sent down per sync | CPU in the {} s: server / PostgreSQL / devices | peak server memory |",
        run.load_records,
        SLOW_SYNC.as_millis(),
        run.seconds
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    );
    let baseline = measured
        .iter()
        .find(|l| l.configuration == Configuration::Sqlite)
        .map(|l| l.run.latencies());
    for l in measured {
        let all = l.run.latencies();
        let against = |p: f64| {
            baseline.as_ref().map_or_else(
                || "—".to_owned(),
                |b| ratio(percentile(&all, p).as_secs_f64(), percentile(b, p).as_secs_f64()),
            )
        };
        let slow = all.iter().filter(|latency| **latency > SLOW_SYNC).count();
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {slow} | {:.1} | {} | {} |",
            l.configuration.label(),
            run.load_records as f64 / l.seeding.as_secs_f64(),
            ms(percentile(&l.run.first_latencies, 0.5)),
            ms(l.run.first_latencies.last().copied().unwrap_or_default()),
            all.len(),
            l.run.errors,
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            ms(all.last().copied().unwrap_or_default()),
            against(0.5),
            against(0.99),
            l.run.updates_received as f64 / all.len().max(1) as f64,
            l.run.cpu.describe(),
            per_process_mib(&l.peak_rss)
        );
    }
    for l in measured
        .iter()
        .filter(|l| l.run.timeline.iter().any(|(t, _)| *t > SLOW_SYNC))
    {
        println!("\n{}:", l.configuration.label());
        scenarios::print_slow_syncs(&l.run.timeline, run.seconds);
    }
}

/// A configuration's log: its slow-sync warnings counted, with the slowest quoted, and every
/// other line (a store error, a panic) quoted up to a few.
fn print_log(scenario: &str, configuration: Configuration, log: &[String]) {
    const SHOWN: usize = 5;
    let (slow, other): (Vec<&String>, Vec<&String>) = log.iter().partition(|l| l.contains("slow sync"));
    let total_ms = |line: &str| -> u64 {
        line.split_whitespace()
            .find_map(|field| field.strip_prefix("total_ms="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    println!(
        "- {scenario}, {}: {} slow-sync warnings, {} other lines",
        configuration.label(),
        slow.len(),
        other.len()
    );
    if let Some(slowest) = slow.iter().max_by_key(|l| total_ms(l)) {
        println!("  - slowest: `{slowest}`");
    }
    for line in other.iter().take(SHOWN) {
        println!("  - `{line}`");
    }
    if other.len() > SHOWN {
        println!("  - … and {} more", other.len() - SHOWN);
    }
}
