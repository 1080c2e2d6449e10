//! Incident investigation (SECOR S5) from the office: incidents (injury, damage, environmental)
//! beside the near misses, the prompt when one may be reportable to the regulator and what was
//! decided about it, and investigations: the sequence of events, immediate and root causes and the
//! corrective actions, with the kind's findings ("worker error" as the only root cause, actions
//! that only ask people to be careful) shown and blocking completion until addressed.

use sync_core::Kind;
use sync_core::kinds::incident::{Incident, IncidentStatus, IncidentType, RegulatorNotice, Treatment};
use sync_core::kinds::investigation::{Investigation, InvestigationAction, InvestigationStatus};
use sync_core::lifecycle;
use sync_core::model::{Body, new_id};
use sync_core::validate::{Finding, Level};

use super::leadership::{active_person, own_site};
use super::records::records_of_kind;
use super::writes::{Creation, create_with, refused_step, write_as};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::judge::stored_record;

/// What happened: an incident or a near miss, with its investigations.
#[derive(Debug, Clone)]
pub struct EventEntry {
    pub record_id: String,
    pub site_id: String,
    /// `incident` or `near_miss`.
    pub kind: Kind,
    pub title: String,
    pub occurred_ms: i64,
    /// For an incident: its type and treatment in words; for a near miss its potential severity.
    pub what: String,
    /// The rules that make it possibly reportable, while nobody has said what was done about them.
    pub reportable_open: Vec<String>,
    /// "Reported to OHS on …, reference …" or "Not reportable: …", once decided.
    pub reportable_decision: Option<String>,
    pub investigations: Vec<InvestigationEntry>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct InvestigationEntry {
    pub record_id: String,
    pub site_id: String,
    pub subject_id: String,
    pub investigation: Investigation,
    /// Findings that stop it being completed or closed, with their messages.
    pub blocking: Vec<Finding>,
}

/// The `/incidents` page: every incident and near miss in `who`'s scope, newest first, each with
/// its investigations; and the investigations whose subject is not among them.
pub async fn overview(state: &AppState, who: &Principal) -> ServiceResult<Vec<EventEntry>> {
    who.require_decider()?;
    let store = state.store.clone();
    let scope = who.scope();
    blocking(move || {
        let store = store.as_ref();
        let investigations: Vec<InvestigationEntry> =
            records_of_kind(store, &scope, Kind::Investigation, None)?
                .into_iter()
                .filter_map(|(row, record)| {
                    let blocking = blocking_findings(&record);
                    match record.body {
                        Body::Investigation(investigation) => Some(InvestigationEntry {
                            record_id: row.id,
                            site_id: row.site_id,
                            subject_id: investigation.subject_id.clone(),
                            investigation,
                            blocking,
                        }),
                        _ => None,
                    }
                })
                .collect();
        let mut events = Vec::new();
        for kind in [Kind::Incident, Kind::NearMiss] {
            for (row, record) in records_of_kind(store, &scope, kind, None)? {
                let (occurred_ms, what, reportable_open, reportable_decision) = match &record.body {
                    Body::Incident(incident) => (
                        incident.occurred_ms,
                        incident_words(incident),
                        incident
                            .undecided_reasons()
                            .iter()
                            .map(|r| r.to_string())
                            .collect(),
                        reportable_decision(incident),
                    ),
                    Body::NearMiss(near_miss) => (
                        near_miss.occurred_at_ms,
                        format!("potential severity {}", near_miss.potential_severity.as_str()),
                        Vec::new(),
                        None,
                    ),
                    _ => continue,
                };
                events.push(EventEntry {
                    investigations: investigations
                        .iter()
                        .filter(|i| i.subject_id == row.id)
                        .cloned()
                        .collect(),
                    record_id: row.id,
                    site_id: row.site_id,
                    kind,
                    title: row.title,
                    occurred_ms,
                    what,
                    reportable_open,
                    reportable_decision,
                    flags: row.flags,
                });
            }
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.occurred_ms));
        Ok(events)
    })
    .await
}

fn incident_words(incident: &Incident) -> String {
    let kind = match incident.incident_type {
        IncidentType::Injury => "Injury",
        IncidentType::Damage => "Damage",
        IncidentType::Environmental => "Environmental",
    };
    match incident.incident_type {
        IncidentType::Injury => format!("{kind}, {}", treatment_label(incident.treatment)),
        _ => kind.to_owned(),
    }
}

pub fn treatment_label(treatment: Treatment) -> &'static str {
    match treatment {
        Treatment::None => "no treatment",
        Treatment::FirstAid => "first aid",
        Treatment::MedicalAid => "medical aid",
        Treatment::LostTime => "lost time",
        Treatment::Hospitalized => "admitted to hospital",
        Treatment::Fatal => "fatal",
    }
}

fn reportable_decision(incident: &Incident) -> Option<String> {
    if let Some(notice) = &incident.regulator_notice {
        return Some(format!(
            "Reported to Alberta OHS, reference {}",
            if notice.reference.is_empty() {
                "not given"
            } else {
                &notice.reference
            }
        ));
    }
    incident
        .not_reportable_reason
        .as_ref()
        .map(|reason| format!("Not reportable: {reason}"))
}

/// The blocking findings of a stored investigation that the person must address: the missing
/// sign-off is left out, because signing off is the completing step itself.
fn blocking_findings(record: &sync_core::model::Record) -> Vec<Finding> {
    sync_core::validate::validate(record)
        .into_iter()
        .filter(|f| f.level == Level::Blocking && f.rule != "investigation.signature_required")
        .collect()
}

/// An incident reported from the office.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub site_id: String,
    pub incident_type: String,
    pub occurred_ms: i64,
    pub description: String,
    pub location: String,
    pub treatment: String,
    pub occurrences: Vec<String>,
}

/// Reports an incident as `who`.
pub async fn report_incident(state: &AppState, who: &Principal, new: NewIncident) -> ServiceResult<String> {
    who.require_decider()?;
    let invalid = |m: String| ServiceError::invalid("invalid_incident", m);
    let incident_type = IncidentType::parse(new.incident_type.trim())
        .ok_or_else(|| invalid(format!("there is no incident type {:?}", new.incident_type)))?;
    let treatment = Treatment::parse(new.treatment.trim())
        .ok_or_else(|| invalid(format!("there is no treatment {:?}", new.treatment)))?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let site_id = own_site(state.store.as_ref(), &who, &new.site_id)?;
        let incident = Incident {
            incident_type,
            occurred_ms: new.occurred_ms,
            description: new.description.trim().to_owned(),
            location: new.location.trim().to_owned(),
            treatment,
            occurrences: new.occurrences,
            release: String::new(),
            regulator_notice: None,
            not_reportable_reason: None,
            decided_reasons: Vec::new(),
            reported_by: who.user_id.clone(),
            status: IncidentStatus::Draft,
            reported: None,
        };
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::Incident(incident),
            Creation::Complete,
            "invalid_incident",
            ("incident.reported", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}

/// What was decided about an incident that may be reportable.
#[derive(Debug, Clone)]
pub enum ReportableDecision {
    Reported { notified_ms: i64, reference: String },
    NotReportable { reason: String },
}

/// Records what was done about incident `id`'s reportable prompt, as `who` (a supervisor or
/// manager).
pub async fn decide_reportable(
    state: &AppState,
    who: &Principal,
    id: &str,
    decision: ReportableDecision,
) -> ServiceResult<()> {
    who.require_decider()?;
    if let ReportableDecision::NotReportable { reason } = &decision
        && reason.trim().is_empty()
    {
        return Err(ServiceError::invalid(
            "invalid_incident",
            "say why it is not reportable",
        ));
    }
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        write_as(
            &state,
            &who,
            &id,
            "incident.reportable_decided",
            |record, me, _| {
                let Body::Incident(incident) = &mut record.body else {
                    return Err(ServiceError::Conflict("only an incident is reported here".into()));
                };
                // The answer covers the reasons in force now; one that appears later asks again.
                incident.decided_reasons = incident
                    .reportable_reasons()
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect();
                match decision {
                    ReportableDecision::Reported {
                        notified_ms,
                        reference,
                    } => {
                        incident.regulator_notice = Some(RegulatorNotice {
                            notified_ms,
                            by: me.user_id.clone(),
                            reference: reference.trim().to_owned(),
                        })
                    }
                    ReportableDecision::NotReportable { reason } => {
                        incident.not_reportable_reason = Some(reason.trim().to_owned())
                    }
                }
                Ok(())
            },
        )?;
        Ok(())
    })
    .await
}

/// An investigation as the form writes it: one line per step, cause and action.
#[derive(Debug, Clone, Default)]
pub struct InvestigationForm {
    pub sequence: Vec<String>,
    pub immediate_causes: Vec<String>,
    pub root_causes: Vec<String>,
    /// `None` keeps the actions already written (the form's action rows could not be read).
    pub actions: Option<Vec<NewInvestigationAction>>,
}

#[derive(Debug, Clone)]
pub struct NewInvestigationAction {
    pub action: String,
    pub assignee: String,
    pub due_ms: i64,
}

fn lines(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Starts the investigation of incident or near miss `subject_id` as `who`, saved as a draft:
/// its findings show on its page until they are addressed and it is completed.
pub async fn start_investigation(
    state: &AppState,
    who: &Principal,
    subject_id: &str,
    form: InvestigationForm,
) -> ServiceResult<String> {
    who.require_decider()?;
    let (state, who, subject_id) = (state.clone(), who.clone(), subject_id.trim().to_owned());
    blocking(move || {
        let store = state.store.as_ref();
        let not_found = || {
            ServiceError::invalid(
                "invalid_investigation",
                format!("there is no incident or near miss {subject_id} you may read"),
            )
        };
        if !store.in_scope(&who.scope(), &subject_id)? {
            return Err(not_found());
        }
        let subject = stored_record(store, &who.tenant_id, &subject_id)?.ok_or_else(not_found)?;
        if !matches!(subject.kind(), Kind::Incident | Kind::NearMiss) {
            return Err(not_found());
        }
        let mut investigation = Investigation::new(&subject_id);
        fill(store, &who, &mut investigation, form)?;
        let record = create_with(
            &state,
            &who,
            &subject.header.site_id,
            Body::Investigation(investigation),
            Creation::Draft,
            "invalid_investigation",
            (
                "investigation.started",
                format!("of {subject_id} from the browser"),
            ),
        )?;
        Ok(record.header.id)
    })
    .await
}

fn fill(
    store: &dyn crate::store::RecordStore,
    who: &Principal,
    investigation: &mut Investigation,
    form: InvestigationForm,
) -> ServiceResult<()> {
    investigation.sequence = lines(form.sequence);
    investigation.immediate_causes = lines(form.immediate_causes);
    investigation.root_causes = lines(form.root_causes);
    let Some(new_actions) = form.actions else {
        return Ok(());
    };
    let mut actions = Vec::new();
    for (n, a) in new_actions.into_iter().enumerate() {
        let assignee = active_person(store, who, &a.assignee)?;
        // Keep the ids of actions already written, so an action raised from them stays theirs.
        let id = investigation
            .actions
            .get(n)
            .map_or_else(new_id, |existing| existing.id.clone());
        actions.push(InvestigationAction {
            id,
            action: a.action.trim().to_owned(),
            assignee: assignee.id,
            due_ms: Some(a.due_ms),
        });
    }
    investigation.actions = actions;
    Ok(())
}

/// One investigation with its findings, for its page.
pub async fn investigation(state: &AppState, who: &Principal, id: &str) -> ServiceResult<InvestigationEntry> {
    who.require_decider()?;
    let store = state.store.clone();
    let (scope, id) = (who.scope(), id.to_owned());
    blocking(move || {
        let store = store.as_ref();
        let not_found = || ServiceError::NotFound("no such investigation".into());
        if !store.in_scope(&scope, &id)? {
            return Err(not_found());
        }
        let record = stored_record(store, &scope.tenant_id, &id)?.ok_or_else(not_found)?;
        let blocking = blocking_findings(&record);
        let site_id = record.header.site_id.clone();
        match record.body {
            Body::Investigation(investigation) => Ok(InvestigationEntry {
                record_id: id,
                site_id,
                subject_id: investigation.subject_id.clone(),
                investigation,
                blocking,
            }),
            _ => Err(not_found()),
        }
    })
    .await
}

/// Saves investigation `id` as the form has it, as `who`; with `complete`, the lead signs it off
/// and completes it, which the kind refuses (naming every finding) while a finding stands.
pub async fn save_investigation(
    state: &AppState,
    who: &Principal,
    id: &str,
    form: InvestigationForm,
    complete: bool,
) -> ServiceResult<()> {
    who.require_decider()?;
    let (state, who, id) = (state.clone(), who.clone(), id.to_owned());
    blocking(move || {
        let store = state.store.clone();
        let action = "investigation.saved";
        write_as(&state, &who, &id, action, |record, _, _| {
            let Body::Investigation(investigation) = &mut record.body else {
                return Err(ServiceError::Conflict(
                    "only an investigation is saved here".into(),
                ));
            };
            if investigation.status != InvestigationStatus::Draft {
                return Err(ServiceError::Conflict(
                    "this investigation is completed; its actions are followed on the action log".into(),
                ));
            }
            fill(store.as_ref(), &who, investigation, form)
        })?;
        // Completing is a second write, so what the form held is saved even when a finding
        // still blocks it.
        if complete {
            write_as(
                &state,
                &who,
                &id,
                "investigation.completed",
                |record, me, stamp| {
                    let blocked = refused_step("investigation_blocked");
                    lifecycle::sign(record, me, stamp.clone()).map_err(&blocked)?;
                    lifecycle::complete(record, stamp).map_err(&blocked)
                },
            )?;
        }
        Ok(())
    })
    .await
}
