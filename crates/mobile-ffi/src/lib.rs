//! The uniffi facade over sync-core for the iOS (Swift) and Android (Kotlin) shells.
//!
//! Thin by rule (DESIGN §2): objects wrap core objects, records and enums mirror core types with
//! `From` conversions, and there is no business logic here. Validation, lifecycle rules, flags
//! and merges are all sync-core's. The API, its threading and how the shells build it are in
//! docs/mobile.md.
//!
//! | file | concern |
//! | --- | --- |
//! | `error.rs` | `MusterError`, the one public error, mapped from `sync_core::Error` |
//! | `types.rs` | records and enums mirrored from the core (stamps, forms, findings, flags, lists) |
//! | `fields.rs` | the generic operations any kind is edited with (create from JSON, set a field by path, add or remove a list item, read as JSON) and `record_kinds` |
//! | `store.rs` | `MusterStore`: the local store, record creation, fine-grained edits, lifecycle, reads; `recover_store` for a damaged one |
//! | `sync.rs` | `MusterSyncClient`: async sign-in and sync, progress observer, cancel |

uniffi::setup_scaffolding!();

pub mod error;
pub mod fields;
pub mod store;
pub mod sync;
pub mod types;

pub use error::MusterError;
pub use store::{MusterStore, recover_store};
pub use sync::{DeviceClock, MusterSyncClient, SyncObserver};

/// Version of the Rust core the shell is linked against, for support screens and bug reports.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A fresh random id, the same kind the core mints for records and list items.
#[uniffi::export]
pub fn new_id() -> String {
    sync_core::model::new_id()
}

#[cfg(test)]
mod tests;
