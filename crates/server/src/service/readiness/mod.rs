//! The SECOR readiness report: for a window of local days (12 months by default), each element
//! and question of a catalogue (`catalogue.rs`, versioned data), the evidence its rule found in
//! the company's records (`rules.rs`), a score estimate, the 80 % overall line and the 50 % floor
//! per element, and the gaps ranked by the points they cost, each linking to what would close it.
//!
//! Everything here is an estimate from records: the real audit is a trained assessor's reading
//! of documents, interviews and observation. Questions estimated from records standing in for an
//! interview or observation are marked `proxy`; questions the records cannot answer are left to
//! the auditor and out of the score. Only the office admin reads it.

pub mod catalogue;
pub mod rules;

use chrono::NaiveDate;
use sync_core::kinds::KindSpec;
use sync_core::kinds::acknowledgement::{AckStatus, Acknowledgement};
use sync_core::kinds::corrective_action::CorrectiveAction;
use sync_core::kinds::emergency_plan::{self, EmergencyPlan, PlanStatus};
use sync_core::kinds::incident::{Incident, IncidentStatus};
use sync_core::kinds::investigation::{Investigation, InvestigationStatus};
use sync_core::kinds::jsea::{ControlLevel, Jsea};
use sync_core::kinds::management_meeting::{ManagementMeeting, MeetingStatus};
use sync_core::kinds::orientation::Orientation;
use sync_core::kinds::policy::{self, Policy, PolicyStatus};
use sync_core::kinds::pre_start::PreStart;
use sync_core::kinds::refusal_report::{RefusalReport, RefusalStatus};
use sync_core::kinds::tailgate_meeting::TailgateMeeting;
use sync_core::model::{ApprovalDecision, Body};
use sync_core::protocol::Role;
use sync_core::{ListFilter, Projection};

use self::catalogue::{Catalogue, Scoring};
use self::rules::{Evidence, Link, Measure, Window};
use super::time::{default_zone, local, zone_of};
use super::{Principal, ServiceError, ServiceResult, blocking, export};
use crate::AppState;
use crate::judge::stored_record;
use crate::store::{RecordStore, Scope};

/// Longest window a report covers.
pub const MAX_WINDOW_DAYS: i64 = 5 * 366;

/// What every report says about itself.
pub const ESTIMATE_NOTE: &str = "An estimate from the company's own records, not an audit score: \
     points are proposals, and an assessor reads documents, interviews people and observes sites.";

/// The catalogue a report used.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CatalogueInfo {
    pub id: String,
    pub name: String,
    pub version: String,
    pub source: String,
}

/// A catalogue the server offers (`?catalogue=<id>`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CatalogueChoice {
    pub id: String,
    pub name: String,
}

/// How a question was assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// Estimated from the records.
    Estimated,
    /// Nothing to judge in the window: out of earned and available points.
    NotApplicable,
    /// Assessed by the auditor, not estimated: out of the score.
    Auditor,
}

impl Assessment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Estimated => "estimated",
            Self::NotApplicable => "not_applicable",
            Self::Auditor => "auditor",
        }
    }
}

/// A question's gap: what is missing, and what would close it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GapText {
    pub sentence: String,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub id: String,
    pub ask: String,
    /// `documentation`, `interview`, `observation`.
    pub method: Vec<String>,
    /// Estimated from records standing in for an interview or observation.
    pub proxy: bool,
    /// `verified`, `partner_analog` or `inferred` (whether the question's subject was seen in a source).
    pub provenance: String,
    pub maps_to_questions: Vec<String>,
    pub scoring: Scoring,
    /// The question's proposed points.
    pub points: f64,
    pub rule_kind: String,
    /// The evidence rule in words.
    pub rule: String,
    pub assessment: Assessment,
    /// How many of the population meet the rule, of how many (estimated questions only).
    pub met: Option<u32>,
    pub population: Option<u32>,
    /// The share met, 0–100.
    pub share_percent: Option<f64>,
    /// Points earned (an estimate); `None` when out of the score.
    pub earned: Option<f64>,
    /// Points counted as available: the question's points when estimated, else 0.
    pub available: f64,
    /// What was found, in words.
    pub summary: String,
    /// The records found.
    pub evidence: Vec<Link>,
    pub gap: Option<GapText>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ElementResult {
    pub id: String,
    pub name: String,
    /// The catalogue's proposed weight, as information (the score weighs questions by points).
    pub proposed_weight: Option<f64>,
    pub covers: String,
    pub earned: f64,
    pub available: f64,
    /// Earned ÷ available, 0–100; `None` when no question of it was estimated.
    pub percent: Option<f64>,
    /// Under the per-element floor.
    pub below_floor: bool,
    pub questions: Vec<QuestionResult>,
}

/// One question that lost points, ranked by how many.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RankedGap {
    pub rank: u32,
    pub question_id: String,
    pub element_id: String,
    pub element_name: String,
    pub points_lost: f64,
    pub proxy: bool,
    pub sentence: String,
    pub links: Vec<Link>,
}

/// The readiness report. Every score in it is an estimate.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Always true: the scores are estimated from records.
    pub estimate: bool,
    pub note: String,
    pub catalogue: CatalogueInfo,
    pub catalogues: Vec<CatalogueChoice>,
    /// First day of the window, `YYYY-MM-DD`, in the company's time zone.
    pub from: String,
    /// Last day of the window, inclusive.
    pub to: String,
    pub time_zone: String,
    /// The catalogue's evidence window, in months.
    pub window_months: u32,
    pub earned: f64,
    pub available: f64,
    /// Σ earned ÷ Σ available, 0–100; `None` when nothing could be estimated.
    pub overall_percent: Option<f64>,
    /// The overall line to pass, 0–100 (80).
    pub pass_percent: f64,
    /// The floor every element needs, 0–100 (50).
    pub element_floor_percent: f64,
    /// Whether the estimate is at or over the line with every element at or over the floor.
    pub passes: bool,
    /// The estimate in one sentence.
    pub verdict: String,
    /// Questions assessed by the auditor, not estimated.
    pub auditor_questions: u32,
    /// The gaps, most points lost first.
    pub gaps: Vec<RankedGap>,
    pub elements: Vec<ElementResult>,
}

/// The window asked for: days in the company's zone; by default the catalogue's months up to
/// today.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub catalogue: Option<String>,
}

/// The report for `who` (the office admin only).
pub async fn report(state: &AppState, who: &Principal, ask: Ask) -> ServiceResult<Report> {
    if !who.is_admin() {
        return Err(ServiceError::Forbidden(
            "only the office admin reads the readiness report".into(),
        ));
    }
    let id = ask.catalogue.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let id = id.unwrap_or(catalogue::DEFAULT_ID);
    let catalogue = state.catalogues.get(id).cloned().ok_or_else(|| {
        let known: Vec<&str> = state.catalogues.all().iter().map(|c| c.id.as_str()).collect();
        ServiceError::invalid(
            "unknown_catalogue",
            format!(
                "there is no readiness catalogue {id:?}; this server has {}",
                known.join(", ")
            ),
        )
    })?;
    let zone = default_zone();
    let now_ms = (state.clock)();
    let today = local(now_ms, zone).map_or_else(|| chrono::Utc::now().date_naive(), |t| t.date_naive());
    let to = ask.to.unwrap_or(today);
    let from = ask
        .from
        .unwrap_or_else(|| rules::months_back(to, catalogue.window_months));
    if from > to {
        return Err(ServiceError::invalid(
            "bad_window",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if (to - from).num_days() >= MAX_WINDOW_DAYS {
        return Err(ServiceError::invalid(
            "bad_window",
            "a readiness window is at most five years",
        ));
    }
    let window = Window::new(from, to, zone)
        .ok_or_else(|| ServiceError::invalid("bad_window", format!("{from} to {to} is out of range")))?;
    let choices = state
        .catalogues
        .all()
        .iter()
        .map(|c| CatalogueChoice {
            id: c.id.clone(),
            name: c.name.clone(),
        })
        .collect();
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let mut evidence = Evidence::empty(window, now_ms);
        gather(&state, &who, &mut evidence)?;
        Ok(score(&catalogue, &evidence, choices))
    })
    .await
}

/// Scores a catalogue over gathered evidence: the pure heart of the report.
pub fn score(catalogue: &Catalogue, evidence: &Evidence, catalogues: Vec<CatalogueChoice>) -> Report {
    let mut elements = Vec::new();
    let mut gaps = Vec::new();
    let mut auditor_questions = 0;
    for (element_index, element) in catalogue.elements.iter().enumerate() {
        let mut questions = Vec::new();
        for q in &element.questions {
            let outcome = rules::evaluate(&q.rule, evidence);
            let mut result = QuestionResult {
                id: q.id.clone(),
                ask: q.ask.clone(),
                method: q.method.clone(),
                proxy: q.proxy,
                provenance: q.provenance.clone(),
                maps_to_questions: q.maps_to_questions.clone(),
                scoring: q.scoring,
                points: q.points,
                rule_kind: q.rule.kind().to_owned(),
                rule: rules::describe(&q.rule),
                assessment: Assessment::Auditor,
                met: None,
                population: None,
                share_percent: None,
                earned: None,
                available: 0.0,
                summary: "Assessed by the auditor, not estimated.".into(),
                evidence: Vec::new(),
                gap: None,
            };
            match outcome {
                None => auditor_questions += 1,
                Some(outcome) => {
                    result.summary = outcome.summary;
                    result.evidence = outcome.evidence;
                    match outcome.measure {
                        Measure::NotApplicable => result.assessment = Assessment::NotApplicable,
                        Measure::Share { met, of } => {
                            let share = f64::from(met) / f64::from(of);
                            let earned = match q.scoring {
                                Scoring::Proportional => q.points * share,
                                Scoring::AllOrNothing if met == of => q.points,
                                Scoring::AllOrNothing => 0.0,
                            };
                            result.assessment = Assessment::Estimated;
                            result.met = Some(met);
                            result.population = Some(of);
                            result.share_percent = Some(round(share * 100.0));
                            result.earned = Some(round(earned));
                            result.available = q.points;
                            let lost = q.points - earned;
                            if let Some(gap) = outcome.gap.filter(|_| lost > 1e-9) {
                                gaps.push((
                                    lost,
                                    element_index,
                                    RankedGap {
                                        rank: 0,
                                        question_id: q.id.clone(),
                                        element_id: element.id.clone(),
                                        element_name: element.name.clone(),
                                        points_lost: round(lost),
                                        proxy: q.proxy,
                                        sentence: gap.sentence.clone(),
                                        links: gap.links.clone(),
                                    },
                                ));
                                result.gap = Some(GapText {
                                    sentence: gap.sentence,
                                    links: gap.links,
                                });
                            }
                        }
                    }
                }
            }
            questions.push(result);
        }
        let earned: f64 = questions.iter().filter_map(|q| q.earned).sum();
        let available: f64 = questions.iter().map(|q| q.available).sum();
        let percent = (available > 0.0).then(|| round(earned / available * 100.0));
        elements.push(ElementResult {
            id: element.id.clone(),
            name: element.name.clone(),
            proposed_weight: element.proposed_weight,
            covers: element.covers.clone(),
            earned: round(earned),
            available: round(available),
            percent,
            // Judged on the unrounded share: 49.995 % is below a 50 % floor.
            below_floor: available > 0.0 && earned / available < catalogue.element_floor,
            questions,
        });
    }
    gaps.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let gaps: Vec<RankedGap> = gaps
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, gap))| RankedGap {
            rank: i as u32 + 1,
            ..gap
        })
        .collect();
    let earned: f64 = elements.iter().map(|e| e.earned).sum();
    let available: f64 = elements.iter().map(|e| e.available).sum();
    let overall = (available > 0.0).then(|| round(earned / available * 100.0));
    let pass_percent = round(catalogue.pass_overall * 100.0);
    let floor = round(catalogue.element_floor * 100.0);
    let below: Vec<&str> = elements
        .iter()
        .filter(|e| e.below_floor)
        .map(|e| e.id.as_str())
        .collect();
    let raw_earned: f64 = elements
        .iter()
        .flat_map(|e| &e.questions)
        .filter_map(|q| q.earned)
        .sum();
    // Judged on the unrounded share, so 79.995 % does not pass an 80 % line.
    let passes = available > 0.0 && raw_earned / available >= catalogue.pass_overall && below.is_empty();
    let verdict = match overall {
        None => "Nothing in this window could be estimated from the records.".to_owned(),
        Some(o) if passes => format!(
            "Estimated {o:.0} %: at or above the {pass_percent:.0} % line, every element at or above {floor:.0} %."
        ),
        Some(o) if below.is_empty() => {
            format!("Estimated {o:.0} %: below the {pass_percent:.0} % line.")
        }
        Some(o) => format!(
            "Estimated {o:.0} %: {} below the {floor:.0} % element floor ({}){}.",
            if below.len() == 1 {
                "one element is"
            } else {
                "elements are"
            },
            below.join(", "),
            if o >= pass_percent {
                ""
            } else {
                ", and under the overall line"
            }
        ),
    };
    let window = &evidence.window;
    Report {
        estimate: true,
        note: ESTIMATE_NOTE.into(),
        catalogue: CatalogueInfo {
            id: catalogue.id.clone(),
            name: catalogue.name.clone(),
            version: catalogue.version.clone(),
            source: catalogue.source.clone(),
        },
        catalogues,
        from: window.from.to_string(),
        to: window.to.to_string(),
        time_zone: window.zone.name().to_owned(),
        window_months: catalogue.window_months,
        earned: round(earned),
        available: round(available),
        overall_percent: overall,
        pass_percent,
        element_floor_percent: floor,
        passes,
        verdict,
        auditor_questions,
        gaps,
        elements,
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The whole company's records, as the office admin reads them.
fn company(tenant_id: &str) -> Scope {
    Scope {
        tenant_id: tenant_id.to_owned(),
        user_id: String::new(),
        role: Role::Admin,
        sites: Vec::new(),
    }
}

/// Every record created before the window's end, oldest first.
fn all_rows(store: &dyn RecordStore, tenant_id: &str, to_ms: i64) -> ServiceResult<Vec<Projection>> {
    let page = super::records::MAX_PAGE;
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let filter = ListFilter {
            created_to_ms: Some(to_ms),
            limit: Some(page),
            offset: Some(offset),
            order: sync_core::ListOrder::OldestCreated,
            ..ListFilter::default()
        };
        let batch = store.list_records(&company(tenant_id), &filter)?;
        let done = batch.len() < page as usize;
        rows.extend(batch);
        if done {
            return Ok(rows);
        }
        offset += page;
    }
}

/// Work records created this long before the window still count when their work started in it.
const LEAD_MS: i64 = 31 * 86_400_000;

/// Reads what the rules need from the store: people, sites, projections, and the bodies of the
/// records whose content the rules look into.
fn gather(state: &AppState, who: &Principal, ev: &mut Evidence) -> ServiceResult<()> {
    let store = state.store.as_ref();
    let tenant = who.tenant_id.as_str();
    ev.people = store
        .users(tenant)?
        .into_iter()
        .map(|u| rules::PersonEv {
            id: u.id,
            name: u.name,
            role: u.role,
            disabled: u.disabled,
        })
        .collect();
    ev.sites = store
        .sites(tenant)?
        .into_iter()
        .map(|s| rules::SiteEv {
            zone: zone_of(Some(&s)),
            id: s.id,
            name: s.name,
        })
        .collect();
    let window = ev.window;
    let mut tailgate_plans: Vec<(usize, String)> = Vec::new();
    for row in all_rows(store, tenant, window.to_ms)? {
        let recent = row.created_at_ms >= window.from_ms - LEAD_MS;
        let body = |store: &dyn RecordStore| -> ServiceResult<Option<Body>> {
            Ok(stored_record(store, tenant, &row.id)?.map(|r| r.body))
        };
        match row.kind.as_str() {
            k if k == Jsea::NAME && recent => {
                if let Some(Body::Jsea(j)) = body(store)? {
                    jsea_evidence(ev, &row, &j);
                }
            }
            k if k == TailgateMeeting::NAME && recent => {
                if let Some(Body::TailgateMeeting(t)) = body(store)? {
                    sign_ons(
                        ev,
                        &row,
                        t.signatures.values().map(|s| (&s.user_id, s.stamp.wall_ms)),
                    );
                    ev.tailgates.push(rules::TailgateEv {
                        id: row.id.clone(),
                        title: row.title.clone(),
                        site_id: row.site_id.clone(),
                        held_ms: t.held.as_ref().map(|s| s.wall_ms),
                        // Resolved against the site's own plans once every plan is read.
                        plan_reviewed: false,
                    });
                    if let Some(plan) = t.emergency_plan_id.as_deref().filter(|p| !p.trim().is_empty()) {
                        tailgate_plans.push((ev.tailgates.len() - 1, plan.to_owned()));
                    }
                }
            }
            k if k == Policy::NAME => {
                if let Some(Body::Policy(p)) = body(store)? {
                    let stale = row.flags.iter().any(|f| f == policy::codes::STALE_SIGNATURE);
                    ev.policies.push(rules::PolicyEv {
                        id: row.id.clone(),
                        title: row.title.clone(),
                        signed: p.status == PolicyStatus::Signed && p.signature.is_some() && !stale,
                        last_signed_ms: p.last_signed_ms(),
                        last_signer: p.last_signer().map(|s| s.user_id.clone()),
                        covers: p.covers.clone(),
                    });
                }
            }
            k if k == Acknowledgement::NAME => {
                if let Some(Body::Acknowledgement(a)) = body(store)? {
                    ev.acknowledgements.push(rules::AckEv {
                        id: row.id.clone(),
                        subject: a.subject.as_str().to_owned(),
                        person_id: a.person_id.clone(),
                        signed_ms: a
                            .signature
                            .as_ref()
                            .filter(|_| a.status == AckStatus::Signed)
                            .map(|s| s.stamp.wall_ms),
                    });
                }
            }
            k if k == ManagementMeeting::NAME && recent => {
                if let Some(Body::ManagementMeeting(m)) = body(store)? {
                    ev.meetings.push(rules::MeetingEv {
                        id: row.id.clone(),
                        title: row.title.clone(),
                        held_ms: m
                            .held
                            .as_ref()
                            .filter(|_| m.status == MeetingStatus::Held)
                            .map(|s| s.wall_ms),
                        safety_item: m.items.iter().any(|i| i.safety),
                    });
                }
            }
            k if k == RefusalReport::NAME && recent => {
                if let Some(Body::RefusalReport(r)) = body(store)? {
                    ev.refusals.push(rules::RefusalEv {
                        id: row.id.clone(),
                        title: row.title.clone(),
                        reported_ms: r.reported.as_ref().map(|s| s.wall_ms),
                        // Closed by a signature over the report as it stands.
                        closed: r.status == RefusalStatus::Closed
                            && r.closed
                                .as_ref()
                                .is_some_and(|s| s.content_hash == r.content_hash()),
                    });
                }
            }
            k if k == Incident::NAME && recent => {
                if let Some(Body::Incident(i)) = body(store)? {
                    ev.incidents.push(rules::IncidentEv {
                        id: row.id.clone(),
                        title: row.title.clone(),
                        reported_ms: i
                            .reported
                            .as_ref()
                            .filter(|_| i.status == IncidentStatus::Reported)
                            .map(|s| s.wall_ms),
                    });
                }
            }
            k if k == Investigation::NAME && recent => {
                let record = stored_record(store, tenant, &row.id)?;
                if let Some((record, Body::Investigation(i))) = record.map(|r| (r.clone(), r.body)) {
                    // Completed and signed off as it stands, with nothing left blocking it (a
                    // merge can bring a finding back after completion).
                    let completed = i.status != InvestigationStatus::Draft
                        && i.signature
                            .as_ref()
                            .is_some_and(|s| s.content_hash == i.content_hash())
                        && !sync_core::validate::validate(&record)
                            .iter()
                            .any(|f| f.is_blocking());
                    // A draft nobody has written causes or actions into has nothing to judge yet.
                    let written = !i.root_causes.is_empty() || !i.actions.is_empty();
                    if completed || written {
                        ev.investigations.push(rules::InvestigationEv {
                            id: row.id.clone(),
                            title: row.title.clone(),
                            subject_id: i.subject_id.clone(),
                            created_ms: row.created_at_ms,
                            completed,
                            // No root cause or no action written reaches no system cause.
                            blames_worker_only: i.blames_worker_only() || i.root_causes.is_empty(),
                            person_only_actions: i.person_only_actions() || i.actions.is_empty(),
                        });
                    }
                }
            }
            k if k == EmergencyPlan::NAME => {
                if let Some(Body::EmergencyPlan(p)) = body(store)? {
                    let stale = row
                        .flags
                        .iter()
                        .any(|f| f == emergency_plan::codes::STALE_SIGNATURE);
                    ev.plans.push(rules::PlanEv {
                        id: row.id.clone(),
                        site_id: row.site_id.clone(),
                        current: p.status == PlanStatus::Current && !stale,
                        revised_ms: p.revised_ms(),
                    });
                }
            }
            k if k == PreStart::NAME && recent => {
                if let Some(Body::PreStart(p)) = body(store)? {
                    sign_ons(ev, &row, p.sign_off.iter().map(|s| (&s.user_id, s.stamp.wall_ms)));
                }
            }
            k if k == Orientation::NAME => {
                if let Some(Body::Orientation(o)) = body(store)?
                    && let Some(signed) = &o.worker_signature
                {
                    ev.orientations.push(rules::OrientationEv {
                        id: row.id.clone(),
                        person_id: o.worker_id.clone(),
                        site_id: row.site_id.clone(),
                        signed_ms: signed.stamp.wall_ms,
                    });
                }
            }
            k if k == CorrectiveAction::NAME && recent => {
                if let Some(Body::CorrectiveAction(a)) = body(store)? {
                    action_evidence(ev, &row, &a);
                }
            }
            _ => {}
        }
        ev.records.push(rules::RecordEv {
            id: row.id,
            kind: row.kind,
            site_id: row.site_id,
            status: row.status,
            title: row.title,
            created_ms: row.created_at_ms,
            completed_ms: row.completed_at_ms,
            flags: row.flags,
        });
    }
    // A tailgate reviewed the plan only if it names one of its own site's plans.
    for (index, plan_id) in tailgate_plans {
        let tailgate = &mut ev.tailgates[index];
        tailgate.plan_reviewed = ev
            .plans
            .iter()
            .any(|p| p.id == plan_id && p.site_id == tailgate.site_id);
    }
    // An investigation is known by what it investigates.
    for investigation in &mut ev.investigations {
        if let Some(subject) = ev.records.iter().find(|r| r.id == investigation.subject_id) {
            investigation.title = format!("Investigation: {}", subject.title);
        }
    }
    // The inspection schedules' occurrences, as the inspections page judges them.
    let schedules = super::inspections::statuses_blocking(store, who, ev.now_ms)?;
    for status in schedules {
        for o in status.occurrences {
            ev.occurrences.push(rules::OccurrenceEv {
                schedule_title: status.schedule.title.clone(),
                site_id: status.schedule.site_id.clone(),
                starts_ms: o.window.starts_at_ms,
                status: o.status,
                record_id: o.record_id,
            });
        }
    }
    Ok(())
}

fn jsea_evidence(ev: &mut Evidence, row: &Projection, j: &Jsea) {
    let hazards = j
        .active_hazards()
        .map(|h| rules::HazardEv {
            description: h.description.clone(),
            above_ppe: h.active_controls().any(|c| c.level != ControlLevel::Ppe),
            justified: h.has_justification(),
        })
        .collect();
    ev.jseas.push(rules::JseaEv {
        id: row.id.clone(),
        title: row.title.clone(),
        site_id: row.site_id.clone(),
        created_ms: row.created_at_ms,
        completed_ms: row.completed_at_ms,
        work_started_ms: row.work_started_at_ms,
        flags: row.flags.clone(),
        hazards,
    });
    sign_ons(
        ev,
        row,
        j.signatures.values().map(|s| (&s.user_id, s.stamp.wall_ms)),
    );
}

fn sign_ons<'a>(ev: &mut Evidence, row: &Projection, signed: impl Iterator<Item = (&'a String, i64)>) {
    ev.sign_ons.extend(signed.map(|(person, ms)| rules::SignOnEv {
        person_id: person.clone(),
        site_id: row.site_id.clone(),
        record_id: row.id.clone(),
        signed_ms: ms,
    }));
}

fn action_evidence(ev: &mut Evidence, row: &Projection, a: &CorrectiveAction) {
    let verified_ms = a
        .verification
        .as_ref()
        .filter(|v| v.decision == ApprovalDecision::Approved && row.status == "closed")
        .map(|v| v.stamp.wall_ms);
    ev.actions.push(rules::ActionEv {
        id: row.id.clone(),
        title: row.title.clone(),
        source_kind: a.source.as_ref().map(|s| s.kind.clone()),
        identified_ms: a.identified_ms,
        due_ms: a.assignment.due_ms,
        resolved_ms: a.resolved.as_ref().map(|s| s.stamp.wall_ms),
        verified_ms,
    });
}

/// The CSV's columns: one row per question.
pub const CSV_COLUMNS: [&str; 17] = [
    "element",
    "element_name",
    "element_percent",
    "question",
    "ask",
    "method",
    "proxy",
    "provenance",
    "rule",
    "assessment",
    "met",
    "population",
    "share_percent",
    "points",
    "earned_estimate",
    "summary",
    "gap",
];

/// The report as CSV: one row per question, the window and the overall estimate in the first
/// columns' header row comment-free (a spreadsheet reads it as a table).
pub fn csv(report: &Report) -> ServiceResult<Vec<u8>> {
    let number = |x: Option<f64>| x.map(|x| format!("{x}")).unwrap_or_default();
    let rows = report.elements.iter().flat_map(|e| {
        e.questions.iter().map(move |q| {
            vec![
                e.id.clone(),
                e.name.clone(),
                number(e.percent),
                q.id.clone(),
                q.ask.clone(),
                q.method.join(" "),
                q.proxy.to_string(),
                q.provenance.clone(),
                q.rule_kind.clone(),
                q.assessment.as_str().to_owned(),
                q.met.map(|m| m.to_string()).unwrap_or_default(),
                q.population.map(|m| m.to_string()).unwrap_or_default(),
                number(q.share_percent),
                format!("{}", q.points),
                number(q.earned),
                q.summary.clone(),
                q.gap.as_ref().map(|g| g.sentence.clone()).unwrap_or_default(),
            ]
        })
    });
    export::table_csv(&CSV_COLUMNS, rows.collect::<Vec<_>>())
}

/// Keeps the per-kind readers honest about which kinds they read.
#[cfg(test)]
mod tests {
    use super::catalogue::{SECOR_SIX, parse};
    use super::rules::Evidence;
    use super::*;

    fn window() -> Window {
        Window::new(
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            default_zone(),
        )
        .unwrap()
    }

    #[test]
    fn an_empty_company_scores_only_what_it_lacks_and_lists_auditor_questions() {
        let six = parse(SECOR_SIX, "secor-six.toml").unwrap();
        let report = score(&six, &Evidence::empty(window(), window().to_ms), Vec::new());
        assert!(report.estimate);
        assert_eq!(report.auditor_questions, 3);
        // Policy (2 + 2), management review (2), the near miss (1) and the drill (2) are owed
        // with nothing on record; everything with no population is not applicable.
        assert_eq!(report.available, 9.0);
        assert_eq!(report.earned, 0.0);
        assert_eq!(report.overall_percent, Some(0.0));
        assert!(!report.passes);
        let first = &report.gaps[0];
        assert_eq!(first.rank, 1);
        assert_eq!(first.points_lost, 2.0);
        assert_eq!(first.element_id, "S1", "ties go by element order");
        let s6 = report.elements.iter().find(|e| e.id == "S6").unwrap();
        let plans = &s6.questions[0];
        assert_eq!(plans.assessment, Assessment::NotApplicable);
        assert_eq!(plans.available, 0.0);
        let csv = String::from_utf8(csv(&report).unwrap()).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        let questions: usize = six.elements.iter().map(|e| e.questions.len()).sum();
        assert_eq!(csv.lines().count(), questions + 1, "a row per question");
    }
}
