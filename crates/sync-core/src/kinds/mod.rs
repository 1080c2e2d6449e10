//! Record kinds, each one folder: the kind's model (its body in the document) and its spec, the
//! [`RecordKind`] and [`KindSpec`] implementations that hold every rule about it. Phone and server
//! both read the rules from here, so they cannot disagree.
//!
//! Adding a kind: write its folder (`tailgate_meeting/` is the smallest), then add one line to the
//! `record_kinds!` list at the end of this file. That line adds it to [`Kind`] and [`Body`], to the
//! document's hydrate and reconcile, to every dispatch below and to [`Kind::ALL`]; the compiler then
//! names any rule the kind has not stated. ARCHITECTURE.md, "Adding a record kind", walks through it.

use automerge::{AutoCommit, ObjId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::flags::{Context, Event, Flag};
use crate::merge_rules::{Field, Guarded};
use crate::parts::{Approval, Reopening, Signature};
use crate::protocol::{RejectCode, Role};
use crate::stamp::Stamp;
use crate::validate::Finding;

/// Who may read a kind's records in lists, the feed and detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone who works at the record's site, and the office.
    Site,
    /// Its creator, and the supervisors and admins of its site: a worker sees only their own,
    /// because the record may be anonymous or name a colleague.
    CreatorAndSupervisors,
}

/// What a kind is, independent of any one record.
pub trait KindSpec {
    /// The kind as stored in documents and on the wire, snake_case (`pre_start`).
    const NAME: &'static str;
    /// The kind as people read it (`Equipment pre-start`).
    const LABEL: &'static str;
    const VISIBILITY: Visibility;
    /// Events that happen at the work location, so a fix off the site boundary is flagged;
    /// approvals and reports may come from anywhere.
    const ON_SITE_EVENTS: &'static [&'static str];
    /// Every status a record of this kind can have, in its life's order (list filters offer them).
    const STATUSES: &'static [&'static str];
    /// Whether its flags read the program's facts ([`RecordKind::program_needs`]), so a
    /// qualification arriving late judges its records again.
    const READS_PROGRAM: bool = false;
}

/// The person writing a change, as the server's records show them (never the document's word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub user_id: String,
    pub name: String,
    pub role: Role,
}

impl Writer {
    /// Whether the writer may make a supervisor's decisions (the site check is the caller's).
    pub fn supervises(&self) -> bool {
        crate::parts::approval::may_decide(self.role)
    }
}

/// A change a kind's write rules refuse, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRefusal {
    pub code: RejectCode,
    pub message: String,
}

impl WriteRefusal {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The kind-specific columns of a record's list row (the rest come from the header).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindFields<'a> {
    /// When the record was completed, signed off or reported.
    pub completed: Option<&'a Stamp>,
    pub work_started: Option<&'a Stamp>,
    pub closed: Option<&'a Stamp>,
    /// The person responsible, where the kind assigns one.
    pub assignee: Option<&'a str>,
    pub due_ms: Option<i64>,
}

/// One row of a record's evidence in a report: a label and what the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRow {
    pub label: String,
    pub value: String,
    /// Set when the row is a moment (Unix ms): `value` then says it in UTC, and a reader that
    /// knows the site's time zone shows it in that zone instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// Set when the row names a person: `value` is their user id, and a reader that knows the
    /// company's people shows their name instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl EvidenceRow {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            at_ms: None,
            user_id: None,
        }
    }

    /// A row that names a person by user id, until a reader shows their name.
    pub fn person(label: impl Into<String>, user_id: &str) -> Self {
        Self {
            user_id: Some(user_id.to_owned()),
            ..Self::new(label, user_id)
        }
    }

    /// A row that is a moment, written in UTC until a reader shows it in the site's zone.
    pub fn time(label: impl Into<String>, at_ms: i64) -> Self {
        Self {
            at_ms: Some(at_ms),
            ..Self::new(label, crate::clock::format_utc(at_ms))
        }
    }
}

/// A lifecycle step the kind does not have.
fn no_such_step(label: &str, step: &str) -> Error {
    Error::Lifecycle(format!("{label} records have no '{step}' step"))
}

/// A kind's body type, reached from a [`Body`] that holds one (generated for every kind).
pub trait KindBody: KindSpec + Sized {
    fn of_mut(body: &mut Body) -> Option<&mut Self>;
}

/// A kind's label from a body of it, so [`RecordKind`]'s defaults can name the kind.
pub trait KindLabel {
    fn kind_label(&self) -> &'static str;
}

impl<T: KindSpec> KindLabel for T {
    fn kind_label(&self) -> &'static str {
        T::LABEL
    }
}

/// Every rule about one kind's records. Only the rules with a safe default have one: nobody may
/// be anonymous, nothing guarded needs a removal mark, a signature vouches only for the exact
/// hash, and a lifecycle step the kind does not override is refused. Every other rule must be
/// stated, so a new kind cannot silently skip one.
pub trait RecordKind: KindLabel {
    /// Status as shown in lists (`draft`, `completed`, …).
    fn status(&self) -> &'static str;
    /// A one-line title for lists.
    fn title(&self) -> String;
    /// Hex SHA-256 of the content a signature or approval vouches for.
    fn content_hash(&self) -> String;
    /// Whether a signature or approval bound to `signed` still vouches for the content, `current`
    /// being [`content_hash`](Self::content_hash) now.
    fn still_vouches(&self, signed: &str, current: &str) -> bool {
        signed == current
    }
    /// Findings about the body, appended to `out` (the record-wide ones are the caller's).
    fn validate(&self, out: &mut Vec<Finding>);
    /// The kind's own flags. `anonymous` withholds what could link the report to a phone.
    fn flags(&self, context: &Context, anonymous: bool) -> Vec<Flag>;
    /// The body's lifecycle events after creation, in the order the record lists them.
    fn events<'a>(&'a self, out: &mut Vec<Event<'a>>);
    /// Calls `f` on every stamp in the body (to withhold an anonymous report's device clues).
    fn for_each_stamp(&mut self, f: &mut dyn FnMut(&mut Stamp));
    /// What the list row shows beyond the header.
    fn fields(&self) -> KindFields<'_>;
    /// The body as rows of a report, in reading order.
    fn evidence(&self) -> Vec<EvidenceRow>;

    /// The safety-aware merge rules (`merge_rules`): corrects the last-writer-wins body, read
    /// from `doc`'s object `body`, where its authors disagreed on a guarded field.
    fn apply_merge_rules(&mut self, doc: &AutoCommit, body: &ObjId) -> Result<()>;
    /// Every field the merge rules guard, with its value (none for a kind without such fields).
    fn guarded_fields(&self, out: &mut BTreeMap<Field, Guarded>);
    /// Sets a removal mark among [`guarded_fields`](Self::guarded_fields).
    fn set_removal_mark(&mut self, _field: &Field, _removed: bool) {}

    /// The corrective actions this record's failures raise (a failed critical pre-start item, an
    /// inspection finding); the server raises each once ([`crate::program::ActionSeed`]).
    fn raised_actions(&self) -> Vec<crate::program::ActionSeed> {
        Vec::new()
    }
    /// Whose qualifications and which equipment unit the program flags need
    /// ([`crate::program::ProgramFacts`]); nothing for a kind without such flags.
    fn program_needs(&self) -> crate::program::ProgramNeeds {
        crate::program::ProgramNeeds::default()
    }
    /// For a record that is itself a program fact (a signed orientation, a verified competency,
    /// a recorded certificate): the moment from which it counts. Records of kinds that read the
    /// program and were made since then are judged again when it arrives.
    fn program_fact_from(&self) -> Option<i64> {
        None
    }
    /// The next moment after `now_ms` at which the record's time-dependent flags change (an
    /// action falling due, a certificate entering its next expiry alert), so the server judges it
    /// again then; `None` when nothing will change with time alone.
    fn flags_change_at(&self, _now_ms: i64) -> Option<i64> {
        None
    }

    /// Whether the record may be filed with no creator named. Only a kind that asks no name may.
    fn may_be_anonymous(&self) -> bool {
        false
    }
    /// Whether this body names a person as its author in a field of its own, besides the
    /// header (a near miss's reporter). An anonymous report may not.
    fn named_author(&self) -> Option<&str> {
        None
    }

    /// Marks the record done (completed, reported). Blocking findings are checked before.
    fn complete(&mut self, stamp: Stamp) -> Result<()>;
    fn sign(&mut self, _signature: Signature) -> Result<()> {
        Err(no_such_step(self.kind_label(), "sign"))
    }
    fn decide(&mut self, _approval: Approval) -> Result<()> {
        Err(no_such_step(self.kind_label(), "approve"))
    }
    fn start_work(&mut self, _stamp: Stamp) -> Result<()> {
        Err(no_such_step(self.kind_label(), "start work"))
    }
    fn close(&mut self, _stamp: Stamp) -> Result<()> {
        Err(no_such_step(self.kind_label(), "close"))
    }
    fn reopen(&mut self, _reopening: Reopening) -> Result<()> {
        Err(no_such_step(self.kind_label(), "reopen"))
    }

    /// Whether `writer` may turn `before` (absent for a new record) into this body. The
    /// record-wide rules (company, site, header, anonymity) are checked before.
    fn check_write(&self, before: Option<&Self>, writer: &Writer) -> Result<(), WriteRefusal>
    where
        Self: Sized;
}

/// Registers the record kinds: `Variant(module::Type),` per kind, in the order lists show them;
/// `module` is the kind's folder. (`$d` is a `$` handed in, so the callback macro written here
/// can have variables of its own.)
macro_rules! record_kinds {
    (($d:tt) $($variant:ident($module:ident :: $ty:ident)),+ $(,)?) => {
        $(pub mod $module;)+

        /// Calls `$callback! { Jsea, PreStart, … }` with every registered kind's variant, so other
        /// crates (the FFI's mirrored `RecordKind`) follow the list without being edited.
        #[macro_export]
        macro_rules! for_each_record_kind {
            ($d callback:ident) => {
                $d callback! { $($variant),+ }
            };
        }

        /// The kinds of record this build understands.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($variant),+ }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::NAME),+ }
            }

            /// The kind as people read it.
            pub fn label(self) -> &'static str {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::LABEL),+ }
            }

            pub fn visibility(self) -> Visibility {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::VISIBILITY),+ }
            }

            pub fn on_site_events(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::ON_SITE_EVENTS),+ }
            }

            pub fn statuses(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::STATUSES),+ }
            }

            pub fn reads_program(self) -> bool {
                match self { $(Kind::$variant => <$module::$ty as KindSpec>::READS_PROGRAM),+ }
            }
        }

        /// The body of a record, by kind.
        #[allow(
            clippy::large_enum_variant,
            reason = "records are handled one at a time; boxing buys nothing"
        )]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum Body { $($variant($module::$ty)),+ }

        $(
            impl From<$module::$ty> for Body {
                fn from(body: $module::$ty) -> Self {
                    Body::$variant(body)
                }
            }

            impl KindBody for $module::$ty {
                fn of_mut(body: &mut Body) -> Option<&mut Self> {
                    match body {
                        Body::$variant(b) => Some(b),
                        #[allow(unreachable_patterns, reason = "a build with one kind")]
                        _ => None,
                    }
                }
            }
        )+

        impl Body {
            pub fn kind(&self) -> Kind {
                match self { $(Body::$variant(_) => Kind::$variant),+ }
            }

            /// The kind's rules for this body.
            pub fn spec(&self) -> &dyn RecordKind {
                match self { $(Body::$variant(b) => b),+ }
            }

            pub fn spec_mut(&mut self) -> &mut dyn RecordKind {
                match self { $(Body::$variant(b) => b),+ }
            }

            /// The kind's write rules for `writer` turning `before` into `after`.
            pub fn check_write(before: Option<&Body>, after: &Body, writer: &Writer) -> Result<(), WriteRefusal> {
                match (before, after) {
                    $(
                        (None, Body::$variant(a)) => a.check_write(None, writer),
                        (Some(Body::$variant(b)), Body::$variant(a)) => a.check_write(Some(b), writer),
                    )+
                    (Some(_), _) => Err(WriteRefusal::new(
                        RejectCode::HeaderChanged,
                        "a record's kind cannot change",
                    )),
                }
            }

            /// Reads the body of kind `kind` from the document read whole ([`crate::tree`]).
            pub(crate) fn from_tree(
                kind: Kind,
                value: &automerge::hydrate::Value,
            ) -> std::result::Result<Body, serde::de::value::Error> {
                Ok(match kind {
                    $(Kind::$variant => Body::$variant(crate::tree::read(value)?),)+
                })
            }

            /// The body as the hydrated value reconciling it would write ([`crate::tree::to_tree`]).
            pub(crate) fn to_tree(&self) -> std::result::Result<automerge::hydrate::Value, serde::de::value::Error> {
                match self {
                    $(Body::$variant(b) => crate::tree::to_tree(b)),+
                }
            }

            /// Writes the body into the document under its kind's root key.
            pub(crate) fn reconcile_into(&self, doc: &mut AutoCommit) -> std::result::Result<(), autosurgeon::ReconcileError> {
                let key = self.kind().body_key();
                match self {
                    $(Body::$variant(b) => autosurgeon::reconcile_prop(doc, automerge::ROOT, key, b)),+
                }
            }
        }
    };
}

impl Kind {
    /// The root key holding this kind's body in the document.
    pub fn body_key(self) -> &'static str {
        self.as_str()
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The kinds every worker at a site may read.
    pub fn shared_at_site() -> impl Iterator<Item = Kind> {
        Kind::ALL
            .iter()
            .copied()
            .filter(|k| k.visibility() == Visibility::Site)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown record kind {s:?}")))
    }
}

impl Body {
    pub fn status(&self) -> &'static str {
        self.spec().status()
    }

    pub fn title(&self) -> String {
        self.spec().title()
    }

    pub fn content_hash(&self) -> String {
        self.spec().content_hash()
    }
}

record_kinds! {
    ($)
    Jsea(jsea::Jsea),
    PreStart(pre_start::PreStart),
    NearMiss(near_miss::NearMiss),
    TailgateMeeting(tailgate_meeting::TailgateMeeting),
    CorrectiveAction(corrective_action::CorrectiveAction),
    Inspection(inspection::Inspection),
    Orientation(orientation::Orientation),
    Certificate(certificate::Certificate),
    Competency(competency::Competency),
    Policy(policy::Policy),
    Acknowledgement(acknowledgement::Acknowledgement),
    ManagementMeeting(management_meeting::ManagementMeeting),
    RefusalReport(refusal_report::RefusalReport),
    Incident(incident::Incident),
    Investigation(investigation::Investigation),
    EmergencyPlan(emergency_plan::EmergencyPlan),
    Drill(drill::Drill),
}
