//! The evidence rules: each a pure function from the evidence gathered for a window to an
//! [`Outcome`] (how many of a population meet the rule, what was found, and the gap in words with
//! the records, people or pages that would close it). Nothing here reads the store or the clock.

use chrono::{Datelike, Months, NaiveDate};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};
use sync_core::protocol::Role;

use super::catalogue::Rule;
use crate::service::time;

/// The topics a safety policy covers, as the policy kind lists them.
pub use sync_core::kinds::policy::POLICY_TOPICS;

/// The source an `actions_closed` rule names for actions raised by hand (no source record).
pub const RAISED_BY_HAND: &str = "manual";

/// Most quarters a window is cut into (five years').
const MAX_QUARTERS: u32 = 21;

/// Most links one list of evidence or one gap carries; the summary gives the full count.
pub const MAX_LINKS: usize = 25;

/// A link to a record, a person or a page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Link {
    pub label: String,
    pub href: String,
}

impl Link {
    pub fn new(label: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            href: href.into(),
        }
    }

    fn record(id: &str, label: impl Into<String>) -> Self {
        Self::new(label, format!("/records/{id}"))
    }

    /// An investigation, on the page where it is written and completed.
    fn investigation(id: &str, label: impl Into<String>) -> Self {
        Self::new(label, format!("/investigations/{id}"))
    }

    /// A record by its title and the day it was completed at its site.
    fn dated(record: &RecordEv, ev: &Evidence) -> Self {
        let when = record.completed_ms.unwrap_or(record.created_ms);
        Self::record(
            &record.id,
            format!("{}, {}", record.title, day(when, ev.site_zone(&record.site_id))),
        )
    }

    fn person(person: &PersonEv) -> Self {
        Self::new(person.name.clone(), format!("/people#person-{}", person.id))
    }
}

/// The report's window: local days `from` to `to` inclusive, in the company's zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: Tz,
    /// Start of `from`, Unix ms.
    pub from_ms: i64,
    /// Start of the day after `to` (exclusive), Unix ms.
    pub to_ms: i64,
}

impl Window {
    pub fn new(from: NaiveDate, to: NaiveDate, zone: Tz) -> Option<Self> {
        let from_ms = time::day_start_ms(from, zone)?;
        let to_ms = time::day_start_ms(to.succ_opt()?, zone)?;
        (from_ms < to_ms).then_some(Self {
            from,
            to,
            zone,
            from_ms,
            to_ms,
        })
    }

    pub fn contains(&self, ms: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&ms)
    }

    /// The moment `months` before the window's end (same local time of day).
    pub fn months_before_end(&self, months: u32) -> i64 {
        self.to
            .succ_opt()
            .and_then(|d| d.checked_sub_months(Months::new(months)))
            .and_then(|d| time::day_start_ms(d, self.zone))
            .unwrap_or(i64::MIN)
    }

    /// Consecutive three-month periods from the window's start, the last cut at its end: a
    /// 12-month window has four. Each starts three whole months after the window's first day
    /// (counted from it, so a start on the 30th does not drift through February).
    pub fn quarters(&self) -> Vec<(NaiveDate, NaiveDate, i64, i64)> {
        let mut quarters = Vec::new();
        for k in 0..=(MAX_QUARTERS) {
            let Some(start) = self.from.checked_add_months(Months::new(3 * k)) else {
                break;
            };
            if start > self.to {
                break;
            }
            let next = self
                .from
                .checked_add_months(Months::new(3 * (k + 1)))
                .unwrap_or(NaiveDate::MAX);
            let last = next.pred_opt().unwrap_or(next).min(self.to);
            let (Some(s), Some(e)) = (
                time::day_start_ms(start, self.zone),
                last.succ_opt().and_then(|d| time::day_start_ms(d, self.zone)),
            ) else {
                break;
            };
            quarters.push((start, last, s, e));
        }
        quarters
    }

    fn date(&self, ms: i64) -> String {
        day(ms, self.zone)
    }
}

/// A person as the rules see them.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonEv {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteEv {
    pub id: String,
    pub name: String,
    pub zone: Tz,
}

/// Any record, from its projection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordEv {
    pub id: String,
    pub kind: String,
    pub site_id: String,
    pub status: String,
    pub title: String,
    pub created_ms: i64,
    /// Completed, signed off, reported or held.
    pub completed_ms: Option<i64>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyEv {
    pub id: String,
    pub title: String,
    pub signed: bool,
    pub last_signed_ms: Option<i64>,
    pub last_signer: Option<String>,
    pub covers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeetingEv {
    pub id: String,
    pub title: String,
    pub held_ms: Option<i64>,
    /// An item reviews safety performance.
    pub safety_item: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AckEv {
    pub id: String,
    pub subject: String,
    pub person_id: String,
    pub signed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefusalEv {
    pub id: String,
    pub title: String,
    pub reported_ms: Option<i64>,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HazardEv {
    pub description: String,
    /// A control above PPE (elimination, substitution, engineering, administrative).
    pub above_ppe: bool,
    /// A written reason PPE alone is acceptable.
    pub justified: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JseaEv {
    pub id: String,
    pub title: String,
    pub site_id: String,
    pub created_ms: i64,
    pub completed_ms: Option<i64>,
    pub work_started_ms: Option<i64>,
    pub flags: Vec<String>,
    pub hazards: Vec<HazardEv>,
}

/// Someone signing work at a site: a JSEA's crew, a tailgate meeting's attendees, a pre-start's
/// operator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignOnEv {
    pub person_id: String,
    pub site_id: String,
    pub record_id: String,
    pub signed_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrientationEv {
    pub id: String,
    pub person_id: String,
    pub site_id: String,
    pub signed_ms: i64,
}

/// How one scheduled inspection went.
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceEv {
    pub schedule_title: String,
    pub site_id: String,
    pub starts_ms: i64,
    pub status: crate::service::inspections::OccurrenceStatus,
    pub record_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionEv {
    pub id: String,
    pub title: String,
    /// The kind of the record it was raised from (`None` for one raised by hand).
    pub source_kind: Option<String>,
    pub identified_ms: i64,
    pub due_ms: Option<i64>,
    /// When the assignee signed it resolved.
    pub resolved_ms: Option<i64>,
    /// When someone else verified the fix (an approving verification, the action closed).
    pub verified_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvestigationEv {
    pub id: String,
    pub title: String,
    pub subject_id: String,
    pub created_ms: i64,
    /// Completed or closed (a draft does not yet investigate its subject).
    pub completed: bool,
    pub blames_worker_only: bool,
    pub person_only_actions: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentEv {
    pub id: String,
    pub title: String,
    pub reported_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanEv {
    pub id: String,
    pub site_id: String,
    /// Made current (signed).
    pub current: bool,
    pub revised_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TailgateEv {
    pub id: String,
    pub title: String,
    pub site_id: String,
    pub held_ms: Option<i64>,
    pub plan_reviewed: bool,
}

/// Everything the rules read, gathered once for the window.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub window: Window,
    /// The server's clock: an action not due yet is left out.
    pub now_ms: i64,
    pub policy_topics: Vec<String>,
    pub people: Vec<PersonEv>,
    pub sites: Vec<SiteEv>,
    pub records: Vec<RecordEv>,
    pub policies: Vec<PolicyEv>,
    pub meetings: Vec<MeetingEv>,
    pub acknowledgements: Vec<AckEv>,
    pub refusals: Vec<RefusalEv>,
    pub jseas: Vec<JseaEv>,
    pub sign_ons: Vec<SignOnEv>,
    pub orientations: Vec<OrientationEv>,
    pub occurrences: Vec<OccurrenceEv>,
    pub actions: Vec<ActionEv>,
    pub investigations: Vec<InvestigationEv>,
    pub incidents: Vec<IncidentEv>,
    pub plans: Vec<PlanEv>,
    pub tailgates: Vec<TailgateEv>,
}

impl Evidence {
    /// Nothing found, for `window`.
    pub fn empty(window: Window, now_ms: i64) -> Self {
        Self {
            window,
            now_ms,
            policy_topics: POLICY_TOPICS.iter().map(|t| (*t).to_owned()).collect(),
            people: Vec::new(),
            sites: Vec::new(),
            records: Vec::new(),
            policies: Vec::new(),
            meetings: Vec::new(),
            acknowledgements: Vec::new(),
            refusals: Vec::new(),
            jseas: Vec::new(),
            sign_ons: Vec::new(),
            orientations: Vec::new(),
            occurrences: Vec::new(),
            actions: Vec::new(),
            investigations: Vec::new(),
            incidents: Vec::new(),
            plans: Vec::new(),
            tailgates: Vec::new(),
        }
    }

    fn person(&self, id: &str) -> Option<&PersonEv> {
        self.people.iter().find(|p| p.id == id)
    }

    fn person_name(&self, id: &str) -> String {
        self.person(id).map_or_else(|| id.to_owned(), |p| p.name.clone())
    }

    fn site(&self, id: &str) -> Option<&SiteEv> {
        self.sites.iter().find(|s| s.id == id)
    }

    fn site_name(&self, id: &str) -> String {
        self.site(id).map_or_else(|| id.to_owned(), |s| s.name.clone())
    }

    fn site_zone(&self, id: &str) -> Tz {
        self.site(id).map_or(self.window.zone, |s| s.zone)
    }

    /// The latest signed policy as it stood at the window's end.
    fn current_policy(&self) -> Option<(&PolicyEv, i64)> {
        self.policies
            .iter()
            .filter(|p| p.signed)
            .filter_map(|p| {
                p.last_signed_ms
                    .filter(|ms| *ms < self.window.to_ms)
                    .map(|ms| (p, ms))
            })
            .max_by_key(|(p, ms)| (*ms, p.id.clone()))
    }

    /// Each site's first work in the window (any record but the program's own papers), by site.
    fn first_work(&self) -> BTreeMap<String, i64> {
        let mut first: BTreeMap<String, i64> = BTreeMap::new();
        for r in self
            .records
            .iter()
            .filter(|r| !NOT_WORK.contains(&r.kind.as_str()) && self.window.contains(r.created_ms))
        {
            let at = first.entry(r.site_id.clone()).or_insert(r.created_ms);
            *at = (*at).min(r.created_ms);
        }
        first
    }
}

/// Kinds that are the program's papers, not work at a site: they do not make a site active.
pub const NOT_WORK: [&str; 9] = [
    "emergency_plan",
    "orientation",
    "competency",
    "investigation",
    "policy",
    "acknowledgement",
    "management_meeting",
    "certificate",
    "corrective_action",
];

/// How much of its population a question's rule found met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Share {
        met: u32,
        of: u32,
    },
    /// Nothing to judge in the window: the question leaves both earned and available points.
    NotApplicable,
}

impl Measure {
    fn of(met: usize, of: usize) -> Self {
        if of == 0 {
            Self::NotApplicable
        } else {
            Self::Share {
                met: met as u32,
                of: of as u32,
            }
        }
    }

    /// The share met, 0 to 1; `None` when not applicable.
    pub fn share(self) -> Option<f64> {
        match self {
            Self::Share { met, of } if of > 0 => Some(f64::from(met) / f64::from(of)),
            _ => None,
        }
    }
}

/// What closes a question's gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// In words: "3 of 9 sites have no current emergency plan".
    pub sentence: String,
    pub links: Vec<Link>,
}

/// A rule's finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measure: Measure,
    /// What was found, in words.
    pub summary: String,
    /// The records that count for it.
    pub evidence: Vec<Link>,
    /// Present when not everything met the rule.
    pub gap: Option<Gap>,
}

impl Outcome {
    fn not_applicable(summary: impl Into<String>) -> Self {
        Self {
            measure: Measure::NotApplicable,
            summary: summary.into(),
            evidence: Vec::new(),
            gap: None,
        }
    }

    fn new(met: usize, of: usize, summary: String, evidence: Vec<Link>, gap: Option<Gap>) -> Self {
        Self {
            measure: Measure::of(met, of),
            summary,
            evidence: capped(evidence),
            gap: gap.filter(|_| met < of).map(|g| Gap {
                links: capped(g.links),
                ..g
            }),
        }
    }
}

fn capped(mut links: Vec<Link>) -> Vec<Link> {
    links.truncate(MAX_LINKS);
    links
}

fn gap(sentence: String, links: Vec<Link>) -> Option<Gap> {
    Some(Gap { sentence, links })
}

fn day(ms: i64, zone: Tz) -> String {
    time::local(ms, zone).map_or_else(|| "an unknown day".into(), |t| t.format("%Y-%m-%d").to_string())
}

/// The end (exclusive) of the local day holding `ms`.
fn day_end(ms: i64, zone: Tz) -> i64 {
    time::local(ms, zone)
        .and_then(|t| t.date_naive().succ_opt())
        .and_then(|d| time::day_start_ms(d, zone))
        .unwrap_or(ms)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "3 of 9" and the noun.
fn of(met: usize, of: usize, noun: &str) -> String {
    format!("{met} of {of} {noun}")
}

/// The kinds an action comes from, in words: "inspections, pre-starts or raised by hand".
fn source_words(sources: &[String]) -> String {
    let words: Vec<String> = sources
        .iter()
        .map(|k| match k.as_str() {
            RAISED_BY_HAND => "raised by hand".to_owned(),
            "pre_start" => "pre-starts".to_owned(),
            "near_miss" => "near misses".to_owned(),
            other => format!("{}s", other.replace('_', " ")),
        })
        .collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

/// The rule in words, for the report beside each question.
pub fn describe(rule: &Rule) -> String {
    match rule {
        Rule::PolicyCurrent { max_age_months } => format!(
            "A signed safety policy whose last signer is an active manager, signed or reviewed in the {max_age_months} months before the window's end."
        ),
        Rule::PolicyCovers => "Share of the four policy topics (commitment and goals, physical and psychological well-being, everyone's responsibilities, legal compliance) the current policy covers.".into(),
        Rule::ManagementReview => "Share of the window's quarters with a held management meeting that has an item reviewing safety performance.".into(),
        Rule::Acknowledged { subject } => format!(
            "Share of active workers with a signed acknowledgement of {}.",
            subject.replace('_', " ")
        ),
        Rule::RefusalsClosed => "Share of work refusals reported in the window that are closed (inspected, remedied, copies given).".into(),
        Rule::JseaBeforeWork => "Share of JSEAs with work started in the window that were completed before work started.".into(),
        Rule::ApprovedBeforeWork => "Share of JSEAs with work started in the window that a supervisor approved before work started.".into(),
        Rule::ControlsAbovePpe => "Share of hazards in the window's JSEAs with a control above PPE, or a written reason PPE alone is enough.".into(),
        Rule::OrientedBeforeWork => "Share of people who signed JSEAs, tailgate meetings or pre-starts at a site in the window with a signed orientation at that site by their first day there.".into(),
        Rule::RecordsWithoutFlags { record_kind, codes } => format!(
            "Share of {} records completed in the window carrying none of the flags {}.",
            record_kind.replace('_', "-"),
            codes.join(", ")
        ),
        Rule::InspectionsOnTime => "Scheduled inspections in the window done on time, out of those done, late or missed.".into(),
        Rule::ActionsClosed {
            sources,
            require_verification,
        } => format!(
            "Corrective actions raised in the window from {} closed{} by their due date; open ones not yet due are left out.",
            source_words(sources),
            if *require_verification { " and verified" } else { "" }
        ),
        Rule::CountAtLeast { record_kind, n } => format!(
            "At least {n} {} record{} in the window.",
            record_kind.replace('_', "-"),
            if *n == 1 { "" } else { "s" }
        ),
        Rule::InvestigationsSound => "Share of investigations in the window whose root causes go beyond worker error and whose actions change the work, not only ask people to be careful.".into(),
        Rule::IncidentsInvestigated => "Share of incidents reported in the window with an investigation.".into(),
        Rule::SitesWithPlan { max_age_months } => format!(
            "Share of sites with work in the window that had a current emergency plan on or before their first day of work, revised within {max_age_months} months of the window's end."
        ),
        Rule::PlanReviewedAtFirstTailgate => "Share of sites with work in the window whose first tailgate meeting reviewed the site's emergency plan.".into(),
        Rule::Manual => "Assessed by the auditor (interview, observation or documents the records do not hold): not estimated.".into(),
        Rule::Unknown(kind) => format!(
            "Rule {kind:?} is not one this server computes: assessed by the auditor, not estimated."
        ),
    }
}

/// Evaluates one rule. `None` for a question the auditor assesses.
pub fn evaluate(rule: &Rule, ev: &Evidence) -> Option<Outcome> {
    Some(match rule {
        Rule::PolicyCurrent { max_age_months } => policy_current(ev, *max_age_months),
        Rule::PolicyCovers => policy_covers(ev),
        Rule::ManagementReview => management_review(ev),
        Rule::Acknowledged { subject } => acknowledged(ev, subject),
        Rule::RefusalsClosed => refusals_closed(ev),
        Rule::JseaBeforeWork => jsea_before_work(ev, false),
        Rule::ApprovedBeforeWork => jsea_before_work(ev, true),
        Rule::ControlsAbovePpe => controls_above_ppe(ev),
        Rule::OrientedBeforeWork => oriented_before_work(ev),
        Rule::RecordsWithoutFlags { record_kind, codes } => records_without_flags(ev, record_kind, codes),
        Rule::InspectionsOnTime => inspections_on_time(ev),
        Rule::ActionsClosed {
            sources,
            require_verification,
        } => actions_closed(ev, sources, *require_verification),
        Rule::CountAtLeast { record_kind, n } => count_at_least(ev, record_kind, *n),
        Rule::InvestigationsSound => investigations_sound(ev),
        Rule::IncidentsInvestigated => incidents_investigated(ev),
        Rule::SitesWithPlan { max_age_months } => sites_with_plan(ev, *max_age_months),
        Rule::PlanReviewedAtFirstTailgate => plan_reviewed_at_first_tailgate(ev),
        Rule::Manual | Rule::Unknown(_) => return None,
    })
}

fn policy_current(ev: &Evidence, max_age_months: u32) -> Outcome {
    let Some((policy, signed_ms)) = ev.current_policy() else {
        return Outcome::new(
            0,
            1,
            "No signed safety policy.".into(),
            Vec::new(),
            gap(
                "There is no signed safety policy: a manager writes and signs one.".into(),
                vec![Link::new("Safety policy", "/policy")],
            ),
        );
    };
    let signer = policy.last_signer.as_deref().unwrap_or_default();
    let signer_name = ev.person_name(signer);
    let active_manager = ev
        .person(signer)
        .is_some_and(|p| p.role == Role::Admin && !p.disabled);
    let fresh = signed_ms >= ev.window.months_before_end(max_age_months);
    let when = ev.window.date(signed_ms);
    let summary = format!("\"{}\" last signed {when} by {signer_name}.", policy.title);
    let problem = match (active_manager, fresh) {
        (true, true) => None,
        (false, true) => Some(format!(
            "The policy was last signed by {signer_name}, who is not an active manager: a current manager reviews and signs it."
        )),
        (true, false) => Some(format!(
            "The policy was last signed or reviewed {when}, more than {max_age_months} months before {}: a manager reviews and signs it again.",
            ev.window.to
        )),
        (false, false) => Some(format!(
            "The policy was last signed {when} by {signer_name}, who is not an active manager, more than {max_age_months} months ago: a current manager reviews and signs it."
        )),
    };
    let met = usize::from(problem.is_none());
    Outcome::new(
        met,
        1,
        summary,
        vec![Link::record(&policy.id, policy.title.clone())],
        problem.and_then(|p| {
            gap(
                p,
                vec![
                    Link::new("Safety policy", "/policy"),
                    Link::record(&policy.id, policy.title.clone()),
                ],
            )
        }),
    )
}

fn policy_covers(ev: &Evidence) -> Outcome {
    let topics = &ev.policy_topics;
    let Some((policy, _)) = ev.current_policy() else {
        return Outcome::new(
            0,
            topics.len(),
            "No signed safety policy.".into(),
            Vec::new(),
            gap(
                format!(
                    "There is no signed safety policy to cover the {} topics.",
                    topics.len()
                ),
                vec![Link::new("Safety policy", "/policy")],
            ),
        );
    };
    let missing: Vec<&String> = topics.iter().filter(|t| !policy.covers.contains(t)).collect();
    let met = topics.len() - missing.len();
    Outcome::new(
        met,
        topics.len(),
        format!("\"{}\" covers {}.", policy.title, of(met, topics.len(), "topics")),
        vec![Link::record(&policy.id, policy.title.clone())],
        gap(
            format!(
                "The policy does not cover {}.",
                missing
                    .iter()
                    .map(|t| t.replace('_', " "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            vec![Link::new("Safety policy", "/policy")],
        ),
    )
}

fn management_review(ev: &Evidence) -> Outcome {
    let quarters = ev.window.quarters();
    let mut evidence = Vec::new();
    let mut bare = Vec::new();
    for (first, last, start, end) in &quarters {
        let held: Vec<&MeetingEv> = ev
            .meetings
            .iter()
            .filter(|m| m.safety_item && m.held_ms.is_some_and(|ms| (*start..*end).contains(&ms)))
            .collect();
        if held.is_empty() {
            bare.push(format!("{first} to {last}"));
        }
        evidence.extend(held.iter().map(|m| Link::record(&m.id, m.title.clone())));
    }
    let met = quarters.len() - bare.len();
    Outcome::new(
        met,
        quarters.len(),
        format!(
            "{} with a minuted management review of safety.",
            of(met, quarters.len(), "quarters")
        ),
        evidence,
        gap(
            format!(
                "{} had no minuted management review of safety ({}).",
                of(bare.len(), quarters.len(), "quarters"),
                bare.join("; ")
            ),
            vec![Link::new("Management meetings", "/meetings")],
        ),
    )
}

fn acknowledged(ev: &Evidence, subject: &str) -> Outcome {
    let workers: Vec<&PersonEv> = ev
        .people
        .iter()
        .filter(|p| p.role == Role::Worker && !p.disabled)
        .collect();
    let words = subject.replace('_', " ");
    if workers.is_empty() {
        return Outcome::not_applicable("No active workers: not applicable.");
    }
    let signed = |p: &PersonEv| {
        ev.acknowledgements.iter().find(|a| {
            a.subject == subject && a.person_id == p.id && a.signed_ms.is_some_and(|ms| ms < ev.window.to_ms)
        })
    };
    let evidence: Vec<Link> = workers
        .iter()
        .filter_map(|p| signed(p).map(|a| Link::record(&a.id, format!("{}: {words}", p.name))))
        .collect();
    let missing: Vec<&PersonEv> = workers.iter().copied().filter(|p| signed(p).is_none()).collect();
    let met = workers.len() - missing.len();
    let mut links: Vec<Link> = missing.iter().map(|p| Link::person(p)).collect();
    links.push(Link::new("Acknowledgements", "/policy"));
    Outcome::new(
        met,
        workers.len(),
        format!(
            "{} signed an acknowledgement of {words}.",
            of(met, workers.len(), "active workers")
        ),
        evidence,
        gap(
            format!(
                "{} {} not signed an acknowledgement of {words}: {}.",
                of(missing.len(), workers.len(), "active workers"),
                if missing.len() == 1 { "has" } else { "have" },
                missing
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            links,
        ),
    )
}

fn refusals_closed(ev: &Evidence) -> Outcome {
    let reported: Vec<&RefusalEv> = ev
        .refusals
        .iter()
        .filter(|r| r.reported_ms.is_some_and(|ms| ev.window.contains(ms)))
        .collect();
    if reported.is_empty() {
        return Outcome::not_applicable("No work refusals reported in the window: not applicable.");
    }
    let open: Vec<&&RefusalEv> = reported.iter().filter(|r| !r.closed).collect();
    let met = reported.len() - open.len();
    Outcome::new(
        met,
        reported.len(),
        format!(
            "{} closed.",
            of(met, reported.len(), "refusals reported in the window")
        ),
        reported
            .iter()
            .map(|r| Link::record(&r.id, r.title.clone()))
            .collect(),
        gap(
            format!(
                "{} still open: record the inspection, the remedy and the copies given, then close {}.",
                of(open.len(), reported.len(), "work refusals are"),
                if open.len() == 1 { "it" } else { "each" }
            ),
            open.iter()
                .map(|r| Link::record(&r.id, r.title.clone()))
                .collect(),
        ),
    )
}

fn jsea_before_work(ev: &Evidence, approval: bool) -> Outcome {
    use sync_core::flags::codes;
    let started: Vec<&JseaEv> = ev
        .jseas
        .iter()
        .filter(|j| j.work_started_ms.is_some_and(|ms| ev.window.contains(ms)))
        .collect();
    if started.is_empty() {
        return Outcome::not_applicable("No JSEA with work started in the window: not applicable.");
    }
    let late = |j: &JseaEv| {
        if approval {
            j.flags
                .iter()
                .any(|f| f == codes::APPROVED_AFTER_WORK_STARTED || f == codes::WORK_STARTED_WITHOUT_APPROVAL)
        } else {
            j.completed_ms.is_none() || j.flags.iter().any(|f| f == codes::COMPLETED_AFTER_WORK_STARTED)
        }
    };
    let bad: Vec<&&JseaEv> = started.iter().filter(|j| late(j)).collect();
    let met = started.len() - bad.len();
    let (done, failed) = if approval {
        (
            "approved before work started",
            "were not approved by a supervisor before work started",
        )
    } else {
        (
            "completed before work started",
            "were completed after work started, or not at all",
        )
    };
    Outcome::new(
        met,
        started.len(),
        format!(
            "{} {done}.",
            of(met, started.len(), "JSEAs with work started in the window")
        ),
        started
            .iter()
            .filter(|j| !late(j))
            .map(|j| Link::record(&j.id, j.title.clone()))
            .collect(),
        gap(
            format!("{} {failed}.", of(bad.len(), started.len(), "JSEAs")),
            bad.iter().map(|j| Link::record(&j.id, j.title.clone())).collect(),
        ),
    )
}

fn controls_above_ppe(ev: &Evidence) -> Outcome {
    let in_window: Vec<&JseaEv> = ev
        .jseas
        .iter()
        .filter(|j| ev.window.contains(j.created_ms))
        .collect();
    let hazards: Vec<(&JseaEv, &HazardEv)> = in_window
        .iter()
        .flat_map(|j| j.hazards.iter().map(move |h| (*j, h)))
        .collect();
    if hazards.is_empty() {
        return Outcome::not_applicable("No hazards assessed in the window: not applicable.");
    }
    let weak: Vec<&(&JseaEv, &HazardEv)> = hazards
        .iter()
        .filter(|(_, h)| !h.above_ppe && !h.justified)
        .collect();
    let met = hazards.len() - weak.len();
    let mut weak_jseas: Vec<Link> = weak
        .iter()
        .map(|(j, _)| Link::record(&j.id, j.title.clone()))
        .collect();
    weak_jseas.dedup();
    Outcome::new(
        met,
        hazards.len(),
        format!(
            "{} have a control above PPE or a reason PPE alone is enough.",
            of(met, hazards.len(), "hazards in the window's JSEAs")
        ),
        in_window
            .iter()
            .map(|j| Link::record(&j.id, j.title.clone()))
            .collect(),
        gap(
            format!(
                "{} rely on PPE alone with no reason given (e.g. \"{}\"): add an engineering or administrative control, or say why PPE is enough.",
                of(weak.len(), hazards.len(), "hazards"),
                weak.first().map_or("", |(_, h)| h.description.as_str())
            ),
            weak_jseas,
        ),
    )
}

fn oriented_before_work(ev: &Evidence) -> Outcome {
    // Each person's first signing day at each site in the window.
    let mut first: BTreeMap<(String, String), &SignOnEv> = BTreeMap::new();
    for s in ev.sign_ons.iter().filter(|s| ev.window.contains(s.signed_ms)) {
        let entry = first.entry((s.person_id.clone(), s.site_id.clone())).or_insert(s);
        if s.signed_ms < entry.signed_ms {
            *entry = s;
        }
    }
    if first.is_empty() {
        return Outcome::not_applicable("Nobody signed work at a site in the window: not applicable.");
    }
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    for ((person, site), s) in &first {
        let by = day_end(s.signed_ms, ev.site_zone(site));
        let oriented = ev
            .orientations
            .iter()
            .filter(|o| &o.person_id == person && &o.site_id == site && o.signed_ms < by)
            .min_by_key(|o| o.signed_ms);
        match oriented {
            Some(o) => evidence.push(Link::record(
                &o.id,
                format!(
                    "{}: orientation at {}",
                    ev.person_name(person),
                    ev.site_name(site)
                ),
            )),
            None => missing.push((person, site, s)),
        }
    }
    let met = first.len() - missing.len();
    let mut links: Vec<Link> = missing
        .iter()
        .map(|(person, site, s)| {
            Link::record(
                &s.record_id,
                format!(
                    "{} at {}, first worked {}",
                    ev.person_name(person),
                    ev.site_name(site),
                    day(s.signed_ms, ev.site_zone(site))
                ),
            )
        })
        .collect();
    links.push(Link::new("Training matrix", "/training"));
    Outcome::new(
        met,
        first.len(),
        format!(
            "{} were oriented there by their first day.",
            of(met, first.len(), "people working at a site")
        ),
        evidence,
        gap(
            format!(
                "{} worked at a site with no orientation there by their first day.",
                of(missing.len(), first.len(), "people")
            ),
            links,
        ),
    )
}

fn completed_in_window<'a>(ev: &'a Evidence, kind: &'a str) -> impl Iterator<Item = &'a RecordEv> + 'a {
    ev.records
        .iter()
        .filter(move |r| r.kind == kind && r.completed_ms.is_some_and(|ms| ev.window.contains(ms)))
}

fn records_without_flags(ev: &Evidence, kind: &str, codes: &[String]) -> Outcome {
    let records: Vec<&RecordEv> = completed_in_window(ev, kind).collect();
    let noun = format!("{} records", kind.replace('_', "-"));
    if records.is_empty() {
        return Outcome::not_applicable(format!("No {noun} completed in the window: not applicable."));
    }
    let flagged: Vec<&&RecordEv> = records
        .iter()
        .filter(|r| r.flags.iter().any(|f| codes.contains(f)))
        .collect();
    let met = records.len() - flagged.len();
    Outcome::new(
        met,
        records.len(),
        format!(
            "{} carry none of {}.",
            of(met, records.len(), &noun),
            codes.join(", ")
        ),
        records
            .iter()
            .filter(|r| !r.flags.iter().any(|f| codes.contains(f)))
            .map(|r| Link::dated(r, ev))
            .collect(),
        gap(
            format!(
                "{} in the window are flagged {}.",
                of(flagged.len(), records.len(), &noun),
                codes.join(" or ")
            ),
            flagged.iter().map(|r| Link::dated(r, ev)).collect(),
        ),
    )
}

fn inspections_on_time(ev: &Evidence) -> Outcome {
    use crate::service::inspections::OccurrenceStatus as S;
    let judged: Vec<&OccurrenceEv> = ev
        .occurrences
        .iter()
        .filter(|o| ev.window.contains(o.starts_ms) && o.status != S::Due)
        .collect();
    if judged.is_empty() {
        return Outcome::not_applicable("No scheduled inspection fell due in the window: not applicable.");
    }
    let done: Vec<&&OccurrenceEv> = judged.iter().filter(|o| o.status == S::Done).collect();
    let late = judged.iter().filter(|o| o.status == S::Late).count();
    let missed = judged.iter().filter(|o| o.status == S::Missed).count();
    let mut links: Vec<Link> = judged
        .iter()
        .filter(|o| o.status == S::Late)
        .filter_map(|o| {
            o.record_id.as_deref().map(|id| {
                Link::record(
                    id,
                    format!("{} at {} (late)", o.schedule_title, ev.site_name(&o.site_id)),
                )
            })
        })
        .collect();
    links.insert(0, Link::new("Inspection schedules", "/inspections"));
    Outcome::new(
        done.len(),
        judged.len(),
        format!(
            "{} done on time.",
            of(done.len(), judged.len(), "scheduled inspections")
        ),
        done.iter()
            .filter_map(|o| {
                o.record_id
                    .as_deref()
                    .map(|id| Link::record(id, o.schedule_title.clone()))
            })
            .collect(),
        gap(
            format!(
                "{} were late ({late}) or missed ({missed}).",
                of(late + missed, judged.len(), "scheduled inspections")
            ),
            links,
        ),
    )
}

fn actions_closed(ev: &Evidence, sources: &[String], require_verification: bool) -> Outcome {
    let judged_at = ev.now_ms.min(ev.window.to_ms);
    let mut counted = Vec::new();
    let mut failed = Vec::new();
    let mut open_not_due = 0;
    for a in ev.actions.iter().filter(|a| {
        ev.window.contains(a.identified_ms)
            && sources
                .iter()
                .any(|k| k == a.source_kind.as_deref().unwrap_or(RAISED_BY_HAND))
    }) {
        let done_ms = if require_verification {
            a.verified_ms
        } else {
            a.resolved_ms.or(a.verified_ms)
        };
        match (done_ms, a.due_ms) {
            (Some(done), Some(due)) if done > due => failed.push((a, "closed late")),
            (Some(_), _) => counted.push(a),
            (None, Some(due)) if due < judged_at => failed.push((a, "overdue")),
            (None, _) => open_not_due += 1,
        }
    }
    let total = counted.len() + failed.len();
    let noun = format!("corrective actions from {}", source_words(sources));
    if total == 0 {
        return Outcome::not_applicable(format!(
            "No {noun} raised in the window have come due{}: not applicable.",
            if open_not_due > 0 {
                format!(" ({open_not_due} open, not yet due)")
            } else {
                String::new()
            }
        ));
    }
    let closed = if require_verification {
        "closed and verified"
    } else {
        "closed"
    };
    let mut links: Vec<Link> = failed
        .iter()
        .map(|(a, why)| Link::record(&a.id, format!("{} ({why})", a.title)))
        .collect();
    links.push(Link::new("Corrective actions", "/actions"));
    Outcome::new(
        counted.len(),
        total,
        format!(
            "{} {closed} by their due date{}.",
            of(counted.len(), total, &noun),
            if open_not_due > 0 {
                format!(
                    "; {} left out",
                    plural(
                        open_not_due,
                        "open action not yet due is",
                        "open actions not yet due are"
                    )
                )
            } else {
                String::new()
            }
        ),
        counted
            .iter()
            .map(|a| Link::record(&a.id, a.title.clone()))
            .collect(),
        gap(
            format!(
                "{} were not {closed} by their due date.",
                of(failed.len(), total, &noun)
            ),
            links,
        ),
    )
}

fn count_at_least(ev: &Evidence, kind: &str, n: u32) -> Outcome {
    let found: Vec<&RecordEv> = completed_in_window(ev, kind).collect();
    let noun = kind.replace('_', "-");
    let met = found.len() >= n as usize;
    let page = match kind {
        "drill" => Link::new("Emergency plans and drills", "/emergency-plans"),
        "incident" | "near_miss" => Link::new("Incidents and near misses", "/incidents"),
        _ => Link::new("Records", format!("/records?kind={kind}")),
    };
    Outcome::new(
        usize::from(met),
        1,
        format!(
            "{} in the window (at least {n} wanted).",
            plural(found.len(), &format!("{noun} record"), &format!("{noun} records"))
        ),
        found.iter().map(|r| Link::dated(r, ev)).collect(),
        gap(
            if found.is_empty() {
                format!("No {noun} records in the window; at least {n} wanted.")
            } else {
                format!(
                    "Only {} in the window; at least {n} wanted.",
                    plural(found.len(), &format!("{noun} record"), &format!("{noun} records"))
                )
            },
            vec![page],
        ),
    )
}

fn investigations_sound(ev: &Evidence) -> Outcome {
    let in_window: Vec<&InvestigationEv> = ev
        .investigations
        .iter()
        .filter(|i| ev.window.contains(i.created_ms))
        .collect();
    if in_window.is_empty() {
        return Outcome::not_applicable("No investigations in the window: not applicable.");
    }
    let weak: Vec<&&InvestigationEv> = in_window
        .iter()
        .filter(|i| i.blames_worker_only || i.person_only_actions)
        .collect();
    let met = in_window.len() - weak.len();
    Outcome::new(
        met,
        in_window.len(),
        format!(
            "{} reach a system cause and set actions that change the work.",
            of(met, in_window.len(), "investigations")
        ),
        in_window
            .iter()
            .filter(|i| !i.blames_worker_only && !i.person_only_actions)
            .map(|i| Link::investigation(&i.id, i.title.clone()))
            .collect(),
        gap(
            format!(
                "{} blame the worker alone or only ask people to be more careful: name a system cause (procedure, training, equipment, supervision, planning) and a control that changes the work.",
                of(weak.len(), in_window.len(), "investigations")
            ),
            weak.iter()
                .map(|i| {
                    let why = match (i.blames_worker_only, i.person_only_actions) {
                        (true, true) => "worker blamed, person-only actions",
                        (true, false) => "worker blamed",
                        _ => "person-only actions",
                    };
                    Link::investigation(&i.id, format!("{} ({why})", i.title))
                })
                .collect(),
        ),
    )
}

fn incidents_investigated(ev: &Evidence) -> Outcome {
    let reported: Vec<&IncidentEv> = ev
        .incidents
        .iter()
        .filter(|i| i.reported_ms.is_some_and(|ms| ev.window.contains(ms)))
        .collect();
    if reported.is_empty() {
        return Outcome::not_applicable("No incidents reported in the window: not applicable.");
    }
    let subjects: BTreeSet<&str> = ev
        .investigations
        .iter()
        .filter(|i| i.completed)
        .map(|i| i.subject_id.as_str())
        .collect();
    let bare: Vec<&&IncidentEv> = reported
        .iter()
        .filter(|i| !subjects.contains(i.id.as_str()))
        .collect();
    let met = reported.len() - bare.len();
    let mut links: Vec<Link> = bare
        .iter()
        .map(|i| Link::record(&i.id, i.title.clone()))
        .collect();
    links.push(Link::new("Incidents", "/incidents"));
    Outcome::new(
        met,
        reported.len(),
        format!(
            "{} have an investigation.",
            of(met, reported.len(), "incidents reported in the window")
        ),
        ev.investigations
            .iter()
            .filter(|i| i.completed && reported.iter().any(|r| r.id == i.subject_id))
            .map(|i| Link::investigation(&i.id, i.title.clone()))
            .collect(),
        gap(
            format!(
                "{} have no investigation.",
                of(bare.len(), reported.len(), "incidents")
            ),
            links,
        ),
    )
}

fn sites_with_plan(ev: &Evidence, max_age_months: u32) -> Outcome {
    let first = ev.first_work();
    if first.is_empty() {
        return Outcome::not_applicable("No site had work in the window: not applicable.");
    }
    let oldest = ev.window.months_before_end(max_age_months);
    let mut evidence = Vec::new();
    let mut none = Vec::new();
    let mut after = Vec::new();
    for (site, first_ms) in &first {
        let plans: Vec<(&PlanEv, i64)> = ev
            .plans
            .iter()
            .filter(|p| &p.site_id == site && p.current)
            .filter_map(|p| p.revised_ms.filter(|ms| *ms < ev.window.to_ms).map(|ms| (p, ms)))
            .collect();
        let latest = plans.iter().max_by_key(|(_, ms)| *ms);
        let before_work = day_end(*first_ms, ev.site_zone(site));
        match latest {
            Some((plan, revised)) if *revised >= oldest => {
                if plans.iter().any(|(_, ms)| *ms < before_work) {
                    evidence.push(Link::record(
                        &plan.id,
                        format!("Emergency plan: {}", ev.site_name(site)),
                    ));
                } else {
                    after.push((site, *plan, *first_ms));
                }
            }
            _ => none.push(site),
        }
    }
    let met = first.len() - none.len() - after.len();
    let sites = |n: usize| if n == 1 { "site" } else { "sites" };
    let (has, its) = (
        |n: usize| if n == 1 { "has" } else { "have" },
        |n: usize| if n == 1 { "its plan" } else { "their plans" },
    );
    let sentence = match (none.len(), after.len()) {
        (n, 0) => format!(
            "{n} of {} {} {} no current emergency plan.",
            first.len(),
            sites(first.len()),
            has(n)
        ),
        (0, a) => format!(
            "{a} of {} {} had {} only after work began there.",
            first.len(),
            sites(first.len()),
            its(a)
        ),
        (n, a) => format!(
            "{n} of {} {} {} no current emergency plan, and {a} had {} only after work began there.",
            first.len(),
            sites(first.len()),
            has(n),
            its(a)
        ),
    };
    let mut links: Vec<Link> = none
        .iter()
        .map(|site| {
            Link::new(
                format!("Make a plan for {}", ev.site_name(site)),
                format!("/emergency-plans/new?site={site}"),
            )
        })
        .collect();
    links.extend(after.iter().map(|(site, plan, first_ms)| {
        Link::record(
            &plan.id,
            format!(
                "{}: plan revised after first work on {}",
                ev.site_name(site),
                day(*first_ms, ev.site_zone(site))
            ),
        )
    }));
    Outcome::new(
        met,
        first.len(),
        format!(
            "{} had a current emergency plan by their first day of work.",
            of(met, first.len(), "sites with work in the window")
        ),
        evidence,
        gap(sentence, links),
    )
}

fn plan_reviewed_at_first_tailgate(ev: &Evidence) -> Outcome {
    let first = ev.first_work();
    if first.is_empty() {
        return Outcome::not_applicable("No site had work in the window: not applicable.");
    }
    let mut evidence = Vec::new();
    let mut links = Vec::new();
    for site in first.keys() {
        let first_meeting = ev
            .tailgates
            .iter()
            .filter(|t| &t.site_id == site)
            .filter_map(|t| t.held_ms.filter(|ms| ev.window.contains(*ms)).map(|ms| (t, ms)))
            .min_by_key(|(t, ms)| (*ms, t.id.clone()));
        match first_meeting {
            Some((t, _)) if t.plan_reviewed => evidence.push(Link::record(
                &t.id,
                format!("{}: {}", ev.site_name(site), t.title),
            )),
            Some((t, _)) => links.push(Link::record(
                &t.id,
                format!("{}: {} (plan not reviewed)", ev.site_name(site), t.title),
            )),
            None => links.push(Link::new(
                format!("{}: no tailgate meeting in the window", ev.site_name(site)),
                format!("/records?kind=tailgate_meeting&site={site}"),
            )),
        }
    }
    let met = evidence.len();
    Outcome::new(
        met,
        first.len(),
        format!(
            "{} reviewed the emergency plan at their first tailgate meeting.",
            of(met, first.len(), "sites with work in the window")
        ),
        evidence,
        gap(
            format!(
                "{} did not review the emergency plan at their first tailgate meeting in the window.",
                of(first.len() - met, first.len(), "sites")
            ),
            links,
        ),
    )
}

/// Whole local months between two dates, for the report's default window.
pub fn months_back(to: NaiveDate, months: u32) -> NaiveDate {
    to.checked_sub_months(Months::new(months))
        .and_then(|d| d.succ_opt())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year() - 1, 1, 1).unwrap_or(to))
}

#[cfg(test)]
mod tests;
