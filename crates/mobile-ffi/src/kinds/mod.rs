//! Typed forms and editors for the kinds whose shells have them, one file per kind. A kind
//! without a file here is still complete in the shells: `RecordKind` follows the core's registry,
//! its body reads as `RecordBody.Other` and `fields.rs`'s generic operations edit it.

pub mod jsea;
pub mod near_miss;
pub mod pre_start;

fn missing(what: &str, id: &str) -> sync_core::Error {
    sync_core::Error::NotFound(format!("{what} {id}"))
}
