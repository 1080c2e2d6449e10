//! References to attachments (photos, drawn signatures, scanned certificates). The bytes live
//! outside the record's document, addressed by their SHA-256; a record holds only the reference.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct AttachmentRef {
    /// Hex SHA-256 of the bytes.
    #[key]
    pub sha256: String,
    /// The media type as read from the content (`image/jpeg`), not from a file name.
    pub media_type: String,
    pub bytes: u64,
    pub caption: Option<String>,
}

impl AttachmentRef {
    /// Whether `sha256` has the shape of a hex SHA-256.
    pub fn well_formed(&self) -> bool {
        self.sha256.len() == 64 && self.sha256.bytes().all(|b| b.is_ascii_hexdigit())
    }
}
