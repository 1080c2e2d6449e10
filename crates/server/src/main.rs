//! `muster-server`: the sync server binary. Tracing is set up here and nowhere else.
//!
//! automerge logs strict-parse probes of incremental changes as errors; the server reports
//! refused changes itself, so automerge's own log is off by default (`RUST_LOG` overrides).

use clap::Parser;
use server::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,automerge=off")),
        )
        .init();
    match server::serve(Settings::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("muster-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
