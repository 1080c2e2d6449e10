//! Management and leadership (SECOR S1) from the office: the company's health and safety policy
//! (written and signed by a manager, reviewed every year), who has acknowledged it and the right
//! to refuse dangerous work, the management meetings' minutes with the actions they raise, and the
//! refusal reports from the refusal to its outcome.
//!
//! Every record is written through the same checks and storage path as one from a phone
//! (`writes`), so a phone at the record's site receives it on its next sync, and the rules
//! (who may sign a policy, what a refusal needs before it closes) are the kinds' own.

use std::collections::BTreeMap;
use sync_core::Kind;
use sync_core::kinds::acknowledgement::{AckSubject, Acknowledgement};
use sync_core::kinds::management_meeting::{ManagementMeeting, MeetingAction, MeetingItem, MeetingStatus};
use sync_core::kinds::policy::Policy;
use sync_core::kinds::refusal_report::{RefusalOutcome, RefusalReport};
use sync_core::lifecycle;
use sync_core::model::{Body, Record, new_id};
use sync_core::protocol::Role;

use super::records::records_of_kind;
use super::writes::{Creation, create_with, refused_step, write_as};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{RecordStore, User};

const DAY_MS: i64 = 86_400_000;
/// A policy is reviewed every year: a signature older than this is overdue.
pub const POLICY_REVIEW_MS: i64 = 365 * DAY_MS;

/// The company's current policy and where it stands.
#[derive(Debug, Clone)]
pub struct PolicyStanding {
    pub record_id: String,
    pub site_id: String,
    pub policy: Policy,
    /// When it was last signed or reviewed, Unix ms.
    pub last_signed_ms: Option<i64>,
    pub last_signer_id: Option<String>,
    pub last_signer_name: String,
    /// The last signer still works here as a manager (an active admin).
    pub signer_current: bool,
    /// When the next yearly review is due.
    pub review_due_ms: Option<i64>,
    pub overdue: bool,
    /// The words changed after the last signature: nobody has signed what it says now.
    pub changed_since_signed: bool,
}

impl PolicyStanding {
    /// What is wrong with it, in words; empty when it is current.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.last_signed_ms.is_none() {
            out.push("it has not been signed by a manager".to_owned());
        }
        if self.changed_since_signed {
            out.push(
                "its words changed after it was last signed: a manager must sign what it says now".to_owned(),
            );
        }
        if self.overdue {
            out.push("its yearly review is overdue".to_owned());
        }
        if self.last_signed_ms.is_some() && !self.signer_current {
            out.push(format!(
                "{} no longer works here as a manager: a current manager must sign it",
                self.last_signer_name
            ));
        }
        out
    }
}

/// One person's acknowledgements: when they signed the right to refuse and the current policy.
#[derive(Debug, Clone)]
pub struct PersonAcknowledgements {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub right_to_refuse_ms: Option<i64>,
    pub policy_ms: Option<i64>,
}

/// A management meeting's minutes as the list shows them.
#[derive(Debug, Clone)]
pub struct MeetingEntry {
    pub record_id: String,
    pub site_id: String,
    pub held_ms: Option<i64>,
    pub meeting: ManagementMeeting,
}

/// A refusal report as the list shows it.
#[derive(Debug, Clone)]
pub struct RefusalEntry {
    pub record_id: String,
    pub site_id: String,
    pub report: RefusalReport,
}

/// Everything the `/policy` and `/meetings` pages show.
#[derive(Debug, Clone)]
pub struct Leadership {
    pub policy: Option<PolicyStanding>,
    pub people: Vec<PersonAcknowledgements>,
    pub meetings: Vec<MeetingEntry>,
    pub refusals: Vec<RefusalEntry>,
}

/// The policy, acknowledgements, minutes and refusal reports in `who`'s scope at `now_ms`.
pub async fn overview(state: &AppState, who: &Principal) -> ServiceResult<Leadership> {
    let store = state.store.clone();
    let scope = who.scope();
    let who = who.clone();
    let now = (state.clock)();
    blocking(move || {
        let store = store.as_ref();
        let users = store.users(&scope.tenant_id)?;
        // The policy is addressed to everyone in the company, wherever its record is kept.
        let company = crate::store::Scope {
            role: Role::Admin,
            sites: Vec::new(),
            ..scope.clone()
        };
        let policies = records_of_kind(store, &company, Kind::Policy, None)?;
        let policy = current_policy(policies.iter().map(|(_, r)| r), &users, now);
        // A person's acknowledgements count wherever they were signed; whose are shown is decided
        // below by who may see whom.
        let acks = records_of_kind(store, &company, Kind::Acknowledgement, None)?;
        // Whose acknowledgements this person may see, as on the training matrix: a worker
        // their own, a supervisor the people of their sites, the office everyone.
        let mut people: Vec<PersonAcknowledgements> = super::training::visible_people(store, &who)?
            .iter()
            .map(|u| PersonAcknowledgements {
                user_id: u.id.clone(),
                name: u.name.clone(),
                role: u.role,
                right_to_refuse_ms: None,
                policy_ms: None,
            })
            .collect();
        for (_, record) in &acks {
            let Body::Acknowledgement(ack) = &record.body else {
                continue;
            };
            // Signed by its person over what it says now.
            let Some(signature) = ack
                .signature
                .as_ref()
                .filter(|s| s.user_id == ack.person_id && s.content_hash == ack.content_hash())
            else {
                continue;
            };
            let Some(person) = people.iter_mut().find(|p| p.user_id == ack.person_id) else {
                continue;
            };
            let at = Some(signature.stamp.wall_ms);
            match ack.subject {
                AckSubject::RightToRefuse => person.right_to_refuse_ms = person.right_to_refuse_ms.max(at),
                // Only an acknowledgement of the policy in force counts for it.
                AckSubject::Policy if policy.as_ref().map(|p| &p.record_id) == ack.document_id.as_ref() => {
                    person.policy_ms = person.policy_ms.max(at)
                }
                _ => {}
            }
        }
        people.sort_by(|a, b| a.name.cmp(&b.name));
        let mut meetings: Vec<MeetingEntry> = records_of_kind(store, &scope, Kind::ManagementMeeting, None)?
            .into_iter()
            .filter_map(|(row, record)| match record.body {
                Body::ManagementMeeting(meeting) => Some(MeetingEntry {
                    record_id: row.id,
                    site_id: row.site_id,
                    held_ms: meeting.held.as_ref().map(|s| s.wall_ms),
                    meeting,
                }),
                _ => None,
            })
            .collect();
        meetings.sort_by_key(|m| std::cmp::Reverse(m.held_ms));
        let mut refusals: Vec<RefusalEntry> = records_of_kind(store, &scope, Kind::RefusalReport, None)?
            .into_iter()
            .filter_map(|(row, record)| match record.body {
                Body::RefusalReport(report) => Some(RefusalEntry {
                    record_id: row.id,
                    site_id: row.site_id,
                    report,
                }),
                _ => None,
            })
            .collect();
        refusals.sort_by_key(|r| std::cmp::Reverse(r.report.refused_ms));
        Ok(Leadership {
            policy,
            people,
            meetings,
            refusals,
        })
    })
    .await
}

/// The policy in force: of the signed ones, the one signed or reviewed last; else the newest
/// draft.
pub fn current_policy<'a>(
    policies: impl Iterator<Item = &'a Record>,
    users: &[User],
    now_ms: i64,
) -> Option<PolicyStanding> {
    policies
        .filter_map(|record| match &record.body {
            Body::Policy(policy) => Some((record, policy)),
            _ => None,
        })
        .max_by_key(|(record, policy)| (policy.last_signed_ms(), record.header.created.wall_ms))
        .map(|(record, policy)| {
            let last = policy.last_signer();
            let last_signed_ms = policy.last_signed_ms();
            let signer = last.and_then(|s| users.iter().find(|u| u.id == s.user_id));
            let review_due_ms = last_signed_ms.map(|t| t + POLICY_REVIEW_MS);
            PolicyStanding {
                record_id: record.header.id.clone(),
                site_id: record.header.site_id.clone(),
                policy: policy.clone(),
                last_signed_ms,
                last_signer_id: last.map(|s| s.user_id.clone()),
                last_signer_name: last.map(|s| s.name.clone()).unwrap_or_default(),
                signer_current: signer.is_some_and(|u| !u.disabled && u.role == Role::Admin),
                review_due_ms,
                overdue: review_due_ms.is_some_and(|due| due < now_ms),
                changed_since_signed: last.is_some_and(|s| s.content_hash != policy.content_hash()),
            }
        })
}

/// A new policy from the office.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub site_id: String,
    pub title: String,
    pub text: String,
    /// Which of the policy topics the text covers.
    pub covers: Vec<String>,
}

/// Writes a new policy and signs it as `who`, a manager: it is the company's policy from now.
pub async fn write_policy(state: &AppState, who: &Principal, new: NewPolicy) -> ServiceResult<String> {
    who.require_admin()?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let site_id = own_site(state.store.as_ref(), &who, &new.site_id)?;
        let policy = Policy {
            title: new.title.trim().to_owned(),
            text: new.text.trim().to_owned(),
            covers: new.covers,
            status: sync_core::kinds::policy::PolicyStatus::Draft,
            signature: None,
            reviews: Vec::new(),
        };
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::Policy(policy),
            Creation::Sign,
            "invalid_policy",
            ("policy.signed", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}

/// Records this year's review of policy `id` as `who`, a manager: their signature over the same
/// text, with what the review found.
pub async fn review_policy(state: &AppState, who: &Principal, id: &str, note: String) -> ServiceResult<()> {
    who.require_admin()?;
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        write_as(&state, &who, &id, "policy.reviewed", |record, me, stamp| {
            if !matches!(record.body, Body::Policy(_)) {
                return Err(ServiceError::Conflict("only a policy is reviewed here".into()));
            }
            lifecycle::sign(record, me, stamp).map_err(refused_step("invalid_review"))?;
            if let Body::Policy(policy) = &mut record.body
                && let Some(review) = policy.reviews.last_mut()
            {
                review.note = note.trim().to_owned();
            }
            Ok(())
        })?;
        Ok(())
    })
    .await
}

/// New minutes of a management meeting.
#[derive(Debug, Clone, Default)]
pub struct NewMeeting {
    pub site_id: String,
    pub title: String,
    pub attendees: Vec<String>,
    /// Items reviewing safety performance (incidents, inspections, actions, statistics).
    pub safety_items: Vec<String>,
    pub other_items: Vec<String>,
    pub actions: Vec<NewMeetingAction>,
}

#[derive(Debug, Clone)]
pub struct NewMeetingAction {
    pub action: String,
    pub assignee: String,
    pub due_ms: i64,
}

/// Records a management meeting held today, signed by `who` (a supervisor or manager); each
/// action raised goes on the corrective action log.
pub async fn record_meeting(state: &AppState, who: &Principal, new: NewMeeting) -> ServiceResult<String> {
    who.require_decider()?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let store = state.store.as_ref();
        let site_id = own_site(store, &who, &new.site_id)?;
        let mut attendees = Vec::new();
        for id in new.attendees.iter().chain(std::iter::once(&who.user_id)) {
            let user = active_person(store, &who, id)?;
            if !attendees.contains(&user.id) {
                attendees.push(user.id);
            }
        }
        let item = |topic: &String, safety: bool| MeetingItem {
            id: new_id(),
            topic: topic.trim().to_owned(),
            notes: String::new(),
            safety,
        };
        let items = new
            .safety_items
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| item(t, true))
            .chain(
                new.other_items
                    .iter()
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| item(t, false)),
            )
            .collect();
        let mut actions = Vec::new();
        for a in &new.actions {
            let assignee = active_person(store, &who, &a.assignee)?;
            actions.push(MeetingAction {
                id: new_id(),
                hazard: new.title.trim().to_owned(),
                action: a.action.trim().to_owned(),
                assignee: assignee.id,
                due_ms: Some(a.due_ms),
            });
        }
        let meeting = ManagementMeeting {
            title: new.title.trim().to_owned(),
            attendees,
            signatures: BTreeMap::new(),
            items,
            actions,
            status: MeetingStatus::Draft,
            held: None,
        };
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::ManagementMeeting(meeting),
            Creation::SignAndComplete,
            "invalid_meeting",
            ("management_meeting.recorded", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}

/// A refusal of dangerous work, as the supervisor writes it down.
#[derive(Debug, Clone)]
pub struct NewRefusal {
    pub site_id: String,
    pub worker_id: String,
    pub work_refused: String,
    pub hazard: String,
    pub refused_ms: i64,
}

/// Reports a refusal as `who` (a supervisor or manager).
pub async fn report_refusal(state: &AppState, who: &Principal, new: NewRefusal) -> ServiceResult<String> {
    who.require_decider()?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let store = state.store.as_ref();
        let site_id = own_site(store, &who, &new.site_id)?;
        let worker = active_person(store, &who, &new.worker_id)?;
        let report = RefusalReport::new(
            worker.id,
            new.work_refused.trim(),
            new.hazard.trim(),
            new.refused_ms,
        );
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::RefusalReport(report),
            Creation::Complete,
            "invalid_refusal",
            ("refusal_report.reported", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}

/// What the inspection of a refusal found and how it ended.
#[derive(Debug, Clone)]
pub struct RefusalClosing {
    pub inspection: String,
    pub remedy: String,
    pub outcome: String,
    pub copies_given: bool,
}

/// Closes refusal report `id` as `who` (a supervisor or manager), who inspected: what they found,
/// what was done, the outcome and that the worker has a copy. The kind's rules refuse a report
/// missing any of them, naming each.
pub async fn close_refusal(
    state: &AppState,
    who: &Principal,
    id: &str,
    closing: RefusalClosing,
) -> ServiceResult<()> {
    who.require_decider()?;
    let outcome = RefusalOutcome::parse(closing.outcome.trim()).ok_or_else(|| {
        ServiceError::invalid(
            "invalid_refusal",
            format!("there is no outcome {:?}", closing.outcome),
        )
    })?;
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        write_as(&state, &who, &id, "refusal_report.closed", |record, me, stamp| {
            let Body::RefusalReport(report) = &mut record.body else {
                return Err(ServiceError::Conflict(
                    "only a refusal report is closed here".into(),
                ));
            };
            report.inspection = closing.inspection.trim().to_owned();
            report.inspected_by = Some(me.user_id.clone());
            report.remedy = closing.remedy.trim().to_owned();
            report.outcome = outcome;
            report.copies_given = closing.copies_given;
            // The closer's signature over the whole report is what closes it.
            lifecycle::sign(record, me, stamp).map_err(refused_step("invalid_refusal"))
        })?;
        Ok(())
    })
    .await
}

/// A site `who` may write at, or a refusal naming the id.
pub(crate) fn own_site(store: &dyn RecordStore, who: &Principal, site_id: &str) -> ServiceResult<String> {
    let site_id = site_id.trim();
    if store.site(&who.tenant_id, site_id)?.is_some()
        && (who.is_admin() || who.sites.iter().any(|s| s == site_id))
    {
        Ok(site_id.to_owned())
    } else {
        Err(ServiceError::invalid(
            "invalid_site",
            format!("there is no site {site_id:?} among your sites"),
        ))
    }
}

/// A person of `who`'s company who still works there, or a refusal naming the id.
pub(crate) fn active_person(store: &dyn RecordStore, who: &Principal, user_id: &str) -> ServiceResult<User> {
    let user_id = user_id.trim();
    store
        .user(&who.tenant_id, user_id)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            ServiceError::invalid(
                "invalid_person",
                format!("there is no one with id {user_id:?} here"),
            )
        })
}

/// The acknowledgement a worker signs of the right to refuse, for the form that shows it.
pub fn right_to_refuse_statement() -> String {
    Acknowledgement::right_to_refuse("").statement
}
