//! Certificate (ticket): a worker's training certificate with its number, issuer and expiry, and
//! a reference to the document. Alerts at 90, 60 and 30 days before expiry and on expiry are its
//! flags, judged at the server's clock.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{ALERT_DAYS, codes, paths};

use crate::model::string_enum;
use crate::stamp::Stamp;

string_enum! {
    pub enum CertificateStatus {
        Draft => "draft",
        /// On record: its details entered and checked against the document.
        Recorded => "recorded",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Certificate {
    /// User id of the worker who holds it.
    pub holder_id: String,
    /// What it certifies, e.g. "Standard First Aid", "H2S Alive", "Ground disturbance".
    pub certificate_type: String,
    pub number: String,
    pub issuer: String,
    /// When it was issued, Unix ms.
    pub issued_ms: Option<i64>,
    /// When it expires, Unix ms; `None` for one that does not expire.
    pub expiry_ms: Option<i64>,
    /// Where the document is: a file name, a folder, or an attachment's hash.
    pub document_ref: Option<String>,
    pub status: CertificateStatus,
    pub recorded: Option<Stamp>,
}

impl Certificate {
    pub fn new(
        holder_id: impl Into<String>,
        certificate_type: impl Into<String>,
        number: impl Into<String>,
        issuer: impl Into<String>,
    ) -> Self {
        Self {
            holder_id: holder_id.into(),
            certificate_type: certificate_type.into(),
            number: number.into(),
            issuer: issuer.into(),
            issued_ms: None,
            expiry_ms: None,
            document_ref: None,
            status: CertificateStatus::Draft,
            recorded: None,
        }
    }
}
