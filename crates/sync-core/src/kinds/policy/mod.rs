//! Health and safety policy (SECOR element 1): the company's commitment in its own words, signed
//! by a manager to make it the company's policy and signed again at each yearly review.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{REVIEW_INTERVAL_MS, codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::Signature;

string_enum! {
    pub enum PolicyStatus {
        Draft => "draft",
        /// Signed by a manager: the company's policy.
        Signed => "signed",
    }
}

/// What a policy must cover; the manager ticks each one its text covers.
pub const POLICY_TOPICS: &[&str] = &[
    "commitment_and_goals",
    "worker_wellbeing_physical_psychological",
    "responsibilities_all_parties",
    "legal_compliance",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Policy {
    pub title: String,
    pub text: String,
    /// Which of [`POLICY_TOPICS`] the text covers (the manager ticks them).
    pub covers: Vec<String>,
    pub status: PolicyStatus,
    /// The manager's signature that makes it the company's policy (content: title, text, covers).
    pub signature: Option<Signature>,
    /// Each yearly review: a manager re-signs the same content, with a note.
    pub reviews: Vec<PolicyReview>,
}

/// A yearly review: the reviewing manager's signature over the policy as it then stood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct PolicyReview {
    pub signature: Signature,
    pub note: String,
}

impl Policy {
    pub fn new(title: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            text: text.into(),
            covers: Vec::new(),
            status: PolicyStatus::Draft,
            signature: None,
            reviews: Vec::new(),
        }
    }

    /// The latest of the signature and the reviews, Unix ms (wall time of the stamp).
    pub fn last_signed_ms(&self) -> Option<i64> {
        self.last_signer().map(|s| s.stamp.wall_ms)
    }

    /// Who signed last (the signature or the latest review).
    pub fn last_signer(&self) -> Option<&Signature> {
        self.signatures()
            .fold(None, |latest: Option<&Signature>, s| match latest {
                Some(l) if l.stamp.wall_ms > s.stamp.wall_ms => Some(l),
                _ => Some(s),
            })
    }

    /// The first signature, then each review's, in the order they were given.
    pub fn signatures(&self) -> impl Iterator<Item = &Signature> {
        self.signature
            .iter()
            .chain(self.reviews.iter().map(|r| &r.signature))
    }

    /// Records a yearly review with its note: the reviewer's signature over the policy as it stands.
    /// The lifecycle's `sign` on a signed policy does the same with an empty note.
    pub fn review(&mut self, signature: Signature, note: impl Into<String>) {
        self.reviews.push(PolicyReview {
            signature,
            note: note.into(),
        });
    }

    /// Whether `topic` (one of [`POLICY_TOPICS`]) is ticked.
    pub fn covers_topic(&self, topic: &str) -> bool {
        self.covers.iter().any(|c| c == topic)
    }

    /// Hash of what a manager signs: the title, the text and the topics it covers.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            title: &'a str,
            text: &'a str,
            covers: &'a [String],
        }
        hash_json(&Signable {
            title: &self.title,
            text: &self.text,
            covers: &self.covers,
        })
    }
}
