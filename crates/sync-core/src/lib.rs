//! Muster's shared core: the field records (JSEA/FLHA, equipment pre-start, near-miss) as automerge
//! documents, their validation and flags, the safety-aware merge, and the device's local store.
//!
//! The phones (through `mobile-ffi`) and the server run this same code, so a flag the office sees
//! is computed exactly as the phone computes it.

pub mod clock;
pub mod document;
pub mod error;
pub mod fields;
pub mod flags;
pub mod kinds;
pub mod lifecycle;
pub mod merge_rules;
pub mod model;
pub mod parts;
pub mod place;
pub mod program;
pub mod projection;
pub mod protocol;
mod records_sql;
pub mod recovery;
pub mod sample;
pub mod schema;
pub mod stamp;
pub mod store;
pub mod sync;
pub mod tree;
pub mod validate;

pub use document::{Conflict, RecordDocument};
pub use error::{Error, Result};
pub use flags::Flag;
pub use model::{Body, Header, Kind, Record};
pub use projection::{ListFilter, ListOrder, Projection};
pub use stamp::{GpsFix, Stamp};
pub use store::{Profile, RecordView, Store};
pub use validate::{Finding, Level};
