//! Stamps: the time and place evidence attached to every lifecycle event (DESIGN §4).

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

/// A GPS fix as the phone's OS reported it. The core never asks for one; the shell passes it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy (68% radius) in metres, as reported by the OS.
    pub accuracy_m: f64,
    /// When the fix was taken, Unix milliseconds (GNSS time where the provider gives it).
    pub fix_time_ms: i64,
    /// `gps`, `fused`, `network`, … as the OS names it.
    pub provider: String,
    /// The OS said the fix came from a mock-location provider.
    pub mock: bool,
}

/// Device time and place of one lifecycle event.
///
/// Wall time alone cannot be trusted (clocks are wrong or set back); the monotonic time and boot id
/// let the server carry a clock-offset estimate across an offline gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Stamp {
    /// Device wall-clock time, Unix milliseconds.
    pub wall_ms: i64,
    /// Device monotonic clock (time since boot), milliseconds.
    pub monotonic_ms: i64,
    /// Identifies one boot of the device; monotonic times compare only within one boot.
    pub boot_id: String,
    pub fix: Option<GpsFix>,
}

impl Stamp {
    /// A stamp without a fix: a missing fix is recorded as missing, it never blocks anyone.
    pub fn new(wall_ms: i64, monotonic_ms: i64, boot_id: impl Into<String>) -> Self {
        Self {
            wall_ms,
            monotonic_ms,
            boot_id: boot_id.into(),
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: GpsFix) -> Self {
        self.fix = Some(fix);
        self
    }
}
