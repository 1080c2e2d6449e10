//! Incident investigation (SECOR element 5, OHS Act): what happened, its immediate and root
//! causes, and the actions that change the work so it does not happen again. A root cause that
//! only blames the worker, or actions that only ask people to be careful, are findings an auditor
//! rejects, so they block completing it.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

mod spec;

pub use spec::{codes, paths};

use crate::model::{hash_json, string_enum};
use crate::parts::{Signature, is_blank};
use crate::stamp::Stamp;

string_enum! {
    pub enum InvestigationStatus {
        Draft => "draft",
        Completed => "completed",
        Closed => "closed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Investigation {
    /// The incident or near miss investigated (record id).
    pub subject_id: String,
    /// What happened, in order.
    pub sequence: Vec<String>,
    pub immediate_causes: Vec<String>,
    pub root_causes: Vec<String>,
    pub actions: Vec<InvestigationAction>,
    /// The lead investigator's sign-off over the whole investigation.
    pub signature: Option<Signature>,
    pub status: InvestigationStatus,
    pub completed: Option<Stamp>,
    pub closed: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct InvestigationAction {
    pub id: String,
    pub action: String,
    /// User id of the person responsible.
    pub assignee: String,
    pub due_ms: Option<i64>,
}

/// Words that put a cause on the worker alone.
const BLAME: &[&str] = &[
    "worker error",
    "human error",
    "operator error",
    "employee error",
    "carelessness",
    "careless",
    "not paying attention",
    "did not pay attention",
    "didn't pay attention",
    "inattention",
    "inattentive",
    "complacency",
    "complacent",
    "did not follow procedure",
    "didn't follow procedure",
    "failed to follow procedure",
    "not following procedure",
    "did not follow the procedure",
    "didn't follow the procedure",
    "failed to follow the procedure",
    "not following the procedure",
    "did not follow procedures",
    "failed to follow procedures",
    "not following procedures",
    "lack of attention",
    "lack of focus",
    "rushing",
];

/// Words that name the system of work: a cause that names one of them is about the system.
const SYSTEM: &[&str] = &[
    "procedure",
    "training",
    "trained",
    "equipment",
    "tool",
    "design",
    "supervis",
    "planning",
    "plan ",
    "schedul",
    "workload",
    "staffing",
    "maintenance",
    "guard",
    "lighting",
    "signage",
    "communication",
    "hazard assessment",
    "jsea",
    "flha",
    "inspection",
    "layout",
    "housekeeping",
    "ppe",
    "instruction",
    "not provided",
    "unclear",
    "missing",
    "inadequate",
    "insufficient",
];

/// Actions that only ask a person to behave better.
const BEHAVIOUR: &[&str] = &[
    "be more careful",
    "be careful",
    "more care",
    "remind",
    "pay attention",
    "pay more attention",
    "retrain",
    "re-train",
    "discipline",
    "written warning",
    "verbal warning",
    "warning letter",
    "talk to the worker",
    "talk to worker",
    "speak to the worker",
    "spoke to the worker",
    "counsel",
    "coach",
    "stay focused",
    "slow down",
    "follow procedure",
    "follow the procedure",
];

/// Words that name a control that changes the work (elimination, substitution, engineering or an
/// administrative change to how the work is done).
const CONTROL: &[&str] = &[
    "install",
    "replace",
    "repair",
    "redesign",
    "design",
    "eliminat",
    "substitut",
    "engineer",
    "guard",
    "barrier",
    "interlock",
    "rail",
    "lockout",
    "isolat",
    "exclusion zone",
    "procedure",
    "template",
    "lift plan",
    "revise",
    "rewrite",
    "modify",
    "provide",
    "purchase",
    "buy",
    "relocat",
    "remove",
    "signage",
    "permit",
    "checklist",
    "schedul",
    "staffing",
    "lighting",
    "automat",
    "hazard assessment",
    "inspect",
    "mainten",
];

/// Whether `text`, less every phrase in `phrases` it holds, still names one of `others`. `None`
/// when it holds none of `phrases`.
fn beyond(text: &str, phrases: &[&str], others: &[&str]) -> Option<bool> {
    let mut rest = format!(" {} ", text.to_lowercase());
    let mut matched = false;
    for phrase in phrases {
        if rest.contains(phrase) {
            matched = true;
            rest = rest.replace(phrase, " ");
        }
    }
    matched.then(|| others.iter().any(|o| rest.contains(o)))
}

/// A root cause that only says the worker erred: it names a blame and nothing in the system.
pub fn blames_worker(cause: &str) -> bool {
    beyond(cause, BLAME, SYSTEM) == Some(false)
}

/// An action that only asks a person to behave better: no change to the work.
pub fn asks_only_behaviour(action: &str) -> bool {
    beyond(action, BEHAVIOUR, CONTROL) == Some(false)
}

impl Investigation {
    pub fn new(subject_id: impl Into<String>) -> Self {
        Self {
            subject_id: subject_id.into(),
            sequence: Vec::new(),
            immediate_causes: Vec::new(),
            root_causes: Vec::new(),
            actions: Vec::new(),
            signature: None,
            status: InvestigationStatus::Draft,
            completed: None,
            closed: None,
        }
    }

    /// Every root cause names only the worker (worker error, human error, careless, not paying
    /// attention, complacency, did not follow procedure): a finding, not a cause.
    pub fn blames_worker_only(&self) -> bool {
        let mut causes = self.root_causes.iter().filter(|c| !is_blank(c)).peekable();
        causes.peek().is_some() && causes.all(|c| blames_worker(c))
    }

    /// Every action only asks a person to behave better (be more careful, remind the crew, pay
    /// attention, retrain alone, discipline): no change to the system of work.
    pub fn person_only_actions(&self) -> bool {
        let mut actions = self.actions.iter().filter(|a| !is_blank(&a.action)).peekable();
        actions.peek().is_some() && actions.all(|a| asks_only_behaviour(&a.action))
    }

    /// Hash of what the lead investigator signs: the whole investigation.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Signable<'a> {
            subject_id: &'a str,
            sequence: &'a [String],
            immediate_causes: &'a [String],
            root_causes: &'a [String],
            actions: &'a [InvestigationAction],
        }
        hash_json(&Signable {
            subject_id: &self.subject_id,
            sequence: &self.sequence,
            immediate_causes: &self.immediate_causes,
            root_causes: &self.root_causes,
            actions: &self.actions,
        })
    }
}
