//! Device-side sync: a pure planner (`plan`) and the HTTP executor (`client`).

pub mod client;
pub mod plan;

pub use client::{RetryPolicy, SyncClient, SyncProgress};

use serde::{Deserialize, Serialize};

use crate::protocol::RejectCode;

/// A record the server refused, kept on the device with the server's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub record_id: String,
    pub code: RejectCode,
    pub reason: String,
    pub rejected_at_ms: i64,
}

/// What one `sync()` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Round trips made.
    pub round_trips: u32,
    /// Records whose changes the server accepted.
    pub accepted: u32,
    /// Records the server refused this time, with reasons.
    pub rejected: Vec<Rejection>,
    /// Records that received changes from the server.
    pub received: u32,
    /// Request and response body bytes, for the curious and for benchmarks.
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub cursor: u64,
}
