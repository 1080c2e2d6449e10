//! `fault-server`: the sync server as a process the fault tests can SIGKILL and restart. It runs
//! `server::run` with the same flags as `muster-server`; it lives in this package because Cargo
//! gives integration tests the path of their own package's binaries only (`CARGO_BIN_EXE_*`), and
//! a `target/<profile>/muster-server` found by path may be stale when only this package was rebuilt.

use clap::Parser;
use server::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,automerge=off")),
        )
        .init();
    match server::serve(Settings::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fault-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
