//! Typed record models. Each record is one automerge document: a [`Header`] under the root key
//! `header` and the kind's body under the key named by [`Kind::body_key`]. The kinds themselves,
//! each with its rules, live in `crate::kinds`; the parts they share in `crate::parts`.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::stamp::Stamp;

pub use crate::kinds::jsea::{Control, ControlLevel, Hazard, Jsea, JseaStatus, RiskRating, TaskStep};
pub use crate::kinds::near_miss::{NearMiss, NearMissStatus, Severity};
pub use crate::kinds::pre_start::{EquipmentUnit, PreStart, PreStartStatus};
pub use crate::kinds::{Body, Kind};
pub use crate::parts::{
    Approval, ApprovalDecision, ChecklistItem, ItemResult, RecordLink, Reopening, Signature,
};

/// Version of the record document layout. Bumped when a kind's fields change incompatibly.
pub const SCHEMA_VERSION: u64 = 1;

/// Fields every record carries, written once at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Header {
    pub id: String,
    /// The kind as stored (`jsea`, `pre_start`, `near_miss`).
    pub kind: String,
    pub schema_version: u64,
    pub tenant_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    /// User who created the record, or [`ANONYMOUS`].
    pub created_by: String,
    pub created: Stamp,
}

/// The creator and author named by an anonymous report (DESIGN §3): the document names no one;
/// only the server's private actor registry links it to a person, for its write checks.
pub const ANONYMOUS: &str = "anonymous";

impl Header {
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }

    /// Whether the record was filed anonymously (only a near miss may be).
    pub fn is_anonymous(&self) -> bool {
        self.created_by == ANONYMOUS
    }
}

/// One whole record: header plus body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub header: Header,
    pub body: Body,
}

impl Record {
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }
    pub fn id(&self) -> &str {
        &self.header.id
    }
}

/// SHA-256 of a value's canonical JSON (struct fields in declaration order, maps sorted).
pub(crate) fn hash_json<T: Serialize>(value: &T) -> String {
    use sha2::{Digest, Sha256};
    // Serializing plain data structs to a Vec cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Ids for list items: random, so two phones never mint the same one offline.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A closed set of values stored as snake_case strings in documents and on the wire.
///
/// Stored as strings, not integers, so a document stays readable in any automerge tool and an
/// unknown value from a newer app version fails hydration with a clear message.
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value as stored, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str(self.as_str())
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Self::parse(s).ok_or_else(|| autosurgeon::HydrateError::unexpected(
                    concat!("a ", stringify!($name)),
                    format!("{s:?}"),
                ))
            }
        }
    };
}
pub(crate) use string_enum;
