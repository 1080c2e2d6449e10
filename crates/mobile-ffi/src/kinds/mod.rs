//! Typed forms, constructors and editors for the kinds whose shells have them, one file per kind
//! (`checklist.rs` is the checklist editor the checklist kinds share). A kind without a file here,
//! or with only a constructor, is still complete in the shells: `RecordKind` follows the core's
//! registry, its body reads as `RecordBody.Other` and `fields.rs`'s generic operations edit it.

pub mod checklist;
pub mod corrective_action;
pub mod jsea;
pub mod near_miss;
pub mod orientation;
pub mod pre_start;

fn missing(what: &str, id: &str) -> sync_core::Error {
    sync_core::Error::NotFound(format!("{what} {id}"))
}
