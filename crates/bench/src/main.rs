//! `muster-bench`: end-to-end figures for the sync paths, each beside a baseline measured in the
//! same run. Micro paths (local store) are criterion benches in sync-core.
//!
//! ```text
//! cargo run --release -p bench -- wire --records 10000
//! cargo run --release -p bench -- throughput --records 5000
//! cargo run --release -p bench -- cold --records 10000
//! cargo run --release -p bench -- growth --sizes 1000,10000,100000
//! cargo run --release -p bench -- load --devices 200 --seconds 60 --records 100000 [--interval-ms 1000]
//! cargo run --release -p bench -- peer --sizes 1000,2000
//! cargo run -p bench -- smoke      # tiny versions of everything, for CI
//! ```

mod baseline;
mod peer;
mod proxy;
mod scenarios;

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "muster-bench", about = "Speed, bytes and load of Muster's sync paths")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Bytes on the wire (bodies and headers) for a new JSEA, a one-field edit and an idle sync.
    Wire {
        #[arg(long, default_value_t = 10_000)]
        records: usize,
    },
    /// New records reconciled per second, beside a raw SQLite insert and a plain JSON endpoint.
    Throughput {
        #[arg(long, default_value_t = 5_000)]
        records: usize,
        #[arg(long, default_value_t = 4)]
        devices: usize,
    },
    /// A new device receiving every record.
    Cold {
        #[arg(long, default_value_t = 10_000)]
        records: usize,
    },
    /// New records, cold start and idle sync against servers already holding each size.
    Growth {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        sizes: Vec<usize>,
        /// New records pushed into each server, to time.
        #[arg(long, default_value_t = 1_000)]
        new: usize,
    },
    /// Many devices syncing at once against one server holding `records`.
    Load {
        #[arg(long, default_value_t = 200)]
        devices: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 10_000)]
        records: usize,
        /// Time between one device's syncs; 0 sends them back to back (a stress run).
        #[arg(long, default_value_t = 1_000)]
        interval_ms: u64,
    },
    /// The same documents synced by samod (the Rust automerge-repo) beside Muster: cold and idle.
    Peer {
        #[arg(long, value_delimiter = ',', default_value = "1000,2000")]
        sizes: Vec<usize>,
    },
    /// Runs the server, as `muster-server` does (the load scenario measures it in its own process).
    #[command(hide = true)]
    Serve {
        #[command(flatten)]
        settings: server::Settings,
    },
    /// Every scenario at a tiny size, to keep the harness working (CI).
    Smoke,
}

fn main() {
    server::runtime().expect("tokio runtime").block_on(bench());
}

async fn bench() {
    let cli = Cli::parse();
    sync_core::sync::client::install_tls_provider();
    println!(
        "muster-bench on {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        scenarios::today()
    );
    match cli.scenario {
        Scenario::Wire { records } => scenarios::wire(records).await,
        Scenario::Throughput { records, devices } => scenarios::throughput(records, devices).await,
        Scenario::Cold { records } => scenarios::cold(records).await,
        Scenario::Growth { sizes, new } => scenarios::growth(&sizes, new).await,
        Scenario::Load {
            devices,
            seconds,
            records,
            interval_ms,
        } => scenarios::load(devices, seconds, records, Duration::from_millis(interval_ms)).await,
        Scenario::Peer { sizes } => peer::peer(&sizes).await,
        Scenario::Serve { settings } => {
            // Warnings only (slow syncs among them), on stderr beside the bench's own report.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,automerge=off")),
                )
                .init();
            if let Err(message) = server::run(settings).await {
                eprintln!("muster-bench serve: {message}");
                std::process::exit(1);
            }
        }
        Scenario::Smoke => {
            scenarios::wire(50).await;
            scenarios::throughput(200, 2).await;
            scenarios::cold(100).await;
            scenarios::growth(&[50], 20).await;
            scenarios::load(5, 2, 50, Duration::from_millis(100)).await;
            peer::peer(&[20]).await;
            println!("smoke: 6 passed, 0 failed");
        }
    }
}
