//! Typed record models. Each record is one automerge document: a [`Header`] under the root key
//! `header` and the kind's body under the key named by [`Kind::body_key`].

pub mod jsea;
pub mod near_miss;
pub mod prestart;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::stamp::Stamp;

pub use jsea::{
    Approval, ApprovalDecision, Control, ControlLevel, Hazard, Jsea, JseaStatus, RiskRating, TaskStep,
};
pub use near_miss::{NearMiss, NearMissStatus, Severity};
pub use prestart::{ChecklistItem, EquipmentUnit, ItemResult, PreStart, PreStartStatus};

/// Version of the record document layout. Bumped when a kind's fields change incompatibly.
pub const SCHEMA_VERSION: u64 = 1;

/// The kinds of record this build understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Jsea,
    PreStart,
    NearMiss,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Jsea, Kind::PreStart, Kind::NearMiss];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Jsea => "jsea",
            Kind::PreStart => "pre_start",
            Kind::NearMiss => "near_miss",
        }
    }

    /// The root key holding this kind's body in the document.
    pub fn body_key(self) -> &'static str {
        self.as_str()
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// A person's signature, bound to the hash of the content they signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Signature {
    pub user_id: String,
    /// Name as printed on the form at signing time.
    pub name: String,
    /// Hex SHA-256 of the record's signable content when signed.
    pub content_hash: String,
    pub stamp: Stamp,
}

/// The body of a record, by kind.
#[expect(
    clippy::large_enum_variant,
    reason = "records are handled one at a time; boxing buys nothing"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Jsea(Jsea),
    PreStart(PreStart),
    NearMiss(NearMiss),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Jsea(_) => Kind::Jsea,
            Body::PreStart(_) => Kind::PreStart,
            Body::NearMiss(_) => Kind::NearMiss,
        }
    }

    /// Status as shown in lists (`draft`, `completed`, …).
    pub fn status(&self) -> &'static str {
        match self {
            Body::Jsea(j) => j.status.as_str(),
            Body::PreStart(p) => p.status.as_str(),
            Body::NearMiss(n) => n.status.as_str(),
        }
    }

    /// A one-line title for lists.
    pub fn title(&self) -> String {
        match self {
            Body::Jsea(j) => j.task.clone(),
            Body::PreStart(p) => {
                let unit = &p.unit;
                if unit.make_model.is_empty() {
                    format!("Pre-start {}", unit.unit_id)
                } else {
                    format!("Pre-start {} ({})", unit.unit_id, unit.make_model)
                }
            }
            Body::NearMiss(n) => n.what_happened.chars().take(80).collect(),
        }
    }

    /// Hex SHA-256 of the content a signature or approval vouches for.
    pub fn content_hash(&self) -> String {
        match self {
            Body::Jsea(j) => j.content_hash(),
            Body::PreStart(p) => p.content_hash(),
            Body::NearMiss(n) => n.content_hash(),
        }
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
