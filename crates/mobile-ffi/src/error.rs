//! The one public error of the facade: a small enum with a human-readable `reason` on every
//! variant, mapped from the core's rich `sync_core::Error`.
//!
//! Swift sees it as `MusterError` (an `Error`), Kotlin as `MusterException` subclasses, Python as
//! `MusterError.*` exceptions. Every variant carries `reason`, the sentence to show a person.

use crate::types::Finding;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum MusterError {
    /// The local database cannot be used: another app's file, damaged, or from a newer app.
    /// Nothing was changed in the file.
    #[error("{reason}")]
    StoreUnusable { reason: String },

    /// No record (or step, hazard, control, item) with that id.
    #[error("{reason}")]
    NotFound { reason: String },

    /// Nobody is signed in on this device yet: log in first.
    #[error("{reason}")]
    NotSignedIn { reason: String },

    /// The input is not acceptable (empty where something is required, wrong record kind, …).
    #[error("{reason}")]
    Invalid { reason: String },

    /// The record cannot be completed yet; `findings` lists every blocking finding.
    #[error("{reason}")]
    Blocked { reason: String, findings: Vec<Finding> },

    /// This lifecycle step is not allowed for the record as it stands.
    #[error("{reason}")]
    NotAllowedNow { reason: String },

    /// The server cannot be reached; everything stays queued for the next sync.
    #[error("{reason}")]
    Offline { reason: String },

    /// The server refused the request; `code` is its machine-readable reason.
    #[error("{reason}")]
    Server {
        status: u16,
        code: String,
        reason: String,
    },

    /// The sign-in is no longer valid (refresh token revoked or expired): log in again.
    #[error("{reason}")]
    SignInRequired { reason: String },

    /// The sync was cancelled; everything not yet acknowledged stays queued.
    #[error("{reason}")]
    Cancelled { reason: String },

    /// Something inside the core failed (database, document, protocol). The reason names it.
    #[error("{reason}")]
    Internal { reason: String },
}

impl From<sync_core::Error> for MusterError {
    fn from(e: sync_core::Error) -> Self {
        use sync_core::Error as E;
        let reason = e.to_string();
        match e {
            E::ForeignDatabase { .. } | E::CorruptDatabase { .. } | E::SchemaTooNew { .. } => {
                MusterError::StoreUnusable { reason }
            }
            E::NotFound(_) => MusterError::NotFound { reason },
            E::NotSignedIn => MusterError::NotSignedIn { reason },
            E::Invalid(_) | E::UnknownKind(_) => MusterError::Invalid { reason },
            E::Blocked(findings) => MusterError::Blocked {
                reason,
                findings: findings.into_iter().map(Into::into).collect(),
            },
            E::Lifecycle(_) => MusterError::NotAllowedNow { reason },
            E::Offline(_) => MusterError::Offline { reason },
            E::Server { status, code, .. } => MusterError::Server { status, code, reason },
            E::SignInRequired(_) => MusterError::SignInRequired { reason },
            E::Cancelled => MusterError::Cancelled { reason },
            // Damaged documents, database, protocol and encoding errors, and any variant the
            // core adds later: the reason names what failed.
            _ => MusterError::Internal { reason },
        }
    }
}

/// The facade's result type.
pub type Result<T, E = MusterError> = std::result::Result<T, E>;
