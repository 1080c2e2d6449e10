//! The core's error type. The FFI and HTTP edges map it to their own small public errors.

use crate::validate::Finding;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the local database at {path} is not a Muster store: {reason}")]
    ForeignDatabase { path: String, reason: String },

    #[error("the local database at {path} is damaged ({reason}); it was left untouched")]
    CorruptDatabase { path: String, reason: String },

    #[error("the local database was written by a newer app (schema {found}, this app knows {supported})")]
    SchemaTooNew { found: u32, supported: u32 },

    #[error("a stored record document is damaged: {0}")]
    CorruptDocument(String),

    #[error("unknown record kind {0:?}")]
    UnknownKind(String),

    #[error("no record with id {0}")]
    NotFound(String),

    #[error("no one is signed in on this device")]
    NotSignedIn,

    #[error("{0}")]
    Invalid(String),

    #[error("the record cannot be completed yet: {}", summarize(.0))]
    Blocked(Vec<Finding>),

    #[error("this step is not allowed now: {0}")]
    Lifecycle(String),

    #[error("sync protocol error: {0}")]
    Protocol(String),

    #[error("the server cannot be reached: {0}")]
    Offline(String),

    #[error("the server refused the request ({code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },

    #[error("sign in again: {0}")]
    SignInRequired(String),

    #[error("sync was cancelled; everything not yet acknowledged stays queued")]
    Cancelled,

    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("document error: {0}")]
    Automerge(Box<automerge::AutomergeError>),

    #[error("document write error: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),

    #[error("encoding error: {0}")]
    Json(#[from] serde_json::Error),
}

fn summarize(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.is_blocking())
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

// Boxed: automerge's errors are large and every `Result` in the core would carry their size.
impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        Error::Reconcile(Box::new(e))
    }
}
