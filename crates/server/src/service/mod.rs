//! What the JSON API and the pages do, written once: records and their export, approvals, people,
//! devices, sites, the audit log and first-run set-up. No HTTP here: each edge (`api`, `web`)
//! turns a request into a call and a [`ServiceError`] into its own answer (a JSON error, a page).
//! Every change writes its audit entry in the same store transaction as the change.

pub mod actions;
pub mod approvals;
pub mod audit;
pub mod devices;
pub mod emergency;
pub mod equipment;
pub mod export;
pub mod identity;
pub mod incidents;
pub mod inspections;
pub mod leadership;
pub mod people;
pub mod readiness;
pub mod records;
pub mod sessions;
pub mod setup;
pub mod sites;
pub mod time;
pub mod training;
pub mod writes;

pub use identity::Principal;

use crate::store::StoreError;

/// Why a service call did not do what was asked, in words the person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not signed in, or the credentials are wrong.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// Signed in, but this person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Missing, or another company's: the two look the same from outside.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong; `code` is stable for programs, the message is for people.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The thing exists already, or the record moved on.
    #[error("{0}")]
    Conflict(String),
    /// A rate limit refused it; try again after the wait.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our fault; logged in full at the edge, shown only as "internal error".
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ServiceResult<T> + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work).await?
}
