//! The Muster sync server.

use axum::{Router, http::StatusCode, routing::get};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Command-line flags, each with an environment equivalent.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "muster-server", version, about = "Muster sync server")]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "MUSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite record store and the signing key.
    #[arg(long, env = "MUSTER_DATA_DIR", default_value = "./muster-data")]
    pub data_dir: PathBuf,
}

pub fn app() -> Router {
    Router::new().route("/healthz", get(|| async { StatusCode::OK }))
}

pub async fn run(settings: Settings) -> std::io::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}
