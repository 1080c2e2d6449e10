//! Emergency response (SECOR S6) from the office: each site's emergency response plan (OHS Code
//! s.115–117) and where it stands (current, due for its yearly review, missing), the drills and
//! plan reviews logged, and the sites with activity and no current plan, which are flagged.
//!
//! A plan is a record at its site, so every phone assigned to the site receives it on sync and
//! keeps it offline like any record.

use sync_core::Kind;
use sync_core::kinds::drill::{Drill, DrillStatus, DrillType};
use sync_core::kinds::emergency_plan::{EmergencyContact, EmergencyPlan, MusterPoint, PlanStatus};
use sync_core::model::{Body, new_id};

use super::leadership::{active_person, own_site};
use super::records::records_of_kind;
use super::writes::{Creation, create_with};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{RecordStore, Scope};

const DAY_MS: i64 = 86_400_000;
/// A plan is reviewed every year; older than this it is no longer current.
pub const PLAN_REVIEW_MS: i64 = 365 * DAY_MS;
/// The records that show work at a site.
const WORK: [Kind; 5] = [
    Kind::Jsea,
    Kind::PreStart,
    Kind::TailgateMeeting,
    Kind::Inspection,
    Kind::NearMiss,
];

/// A site counts as active when it has a work record from this long ago or later.
pub const ACTIVE_WINDOW_MS: i64 = 30 * DAY_MS;

/// Where one site's plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStanding {
    Current,
    /// Revised more than a year ago.
    ReviewOverdue,
    /// A plan written but not made current (not signed off).
    DraftOnly,
    /// Changed after its sign-off: nobody has signed off what it says now.
    ChangedSinceSignOff,
    Missing,
}

impl PlanStanding {
    pub fn label(self) -> &'static str {
        match self {
            PlanStanding::Current => "Current",
            PlanStanding::ReviewOverdue => "Review overdue",
            PlanStanding::DraftOnly => "Draft only, not signed off",
            PlanStanding::ChangedSinceSignOff => "Changed since its sign-off",
            PlanStanding::Missing => "No plan",
        }
    }

    /// A CSS hook.
    pub fn class(self) -> &'static str {
        match self {
            PlanStanding::Current => "current",
            _ => "expired",
        }
    }
}

/// One site: its plan, when it was last active, and its drills.
#[derive(Debug, Clone)]
pub struct SitePlan {
    pub site_id: String,
    pub site_name: String,
    pub standing: PlanStanding,
    /// The plan in force (or the latest draft).
    pub plan_id: Option<String>,
    pub plan: Option<EmergencyPlan>,
    pub revised_ms: Option<i64>,
    /// The latest record made at the site, Unix ms.
    pub last_activity_ms: Option<i64>,
    pub drills: Vec<DrillEntry>,
}

impl SitePlan {
    /// Active lately and without a current plan: the flag the office sees.
    pub fn flagged(&self, now_ms: i64) -> bool {
        self.standing != PlanStanding::Current
            && self
                .last_activity_ms
                .is_some_and(|t| t >= now_ms - ACTIVE_WINDOW_MS)
    }
}

#[derive(Debug, Clone)]
pub struct DrillEntry {
    pub record_id: String,
    pub held_ms: Option<i64>,
    pub drill: Drill,
}

/// Every site in `who`'s scope with its plan and drills.
pub async fn sites(state: &AppState, who: &Principal) -> ServiceResult<Vec<SitePlan>> {
    let store = state.store.clone();
    let scope = who.scope();
    let now = (state.clock)();
    blocking(move || site_plans(store.as_ref(), &scope, now)).await
}

/// [`sites`] on the store's thread.
pub(crate) fn site_plans(
    store: &dyn RecordStore,
    scope: &Scope,
    now_ms: i64,
) -> ServiceResult<Vec<SitePlan>> {
    let plans = records_of_kind(store, scope, Kind::EmergencyPlan, None)?;
    let drills = records_of_kind(store, scope, Kind::Drill, None)?;
    let mut out = Vec::new();
    for site in store.sites(&scope.tenant_id)? {
        if scope.role != sync_core::protocol::Role::Admin && !scope.sites.contains(&site.id) {
            continue;
        }
        // Work at the site, not the program's paperwork kept with its records.
        let mut last_activity_ms = None;
        for kind in WORK {
            let newest = sync_core::ListFilter {
                kind: Some(kind.as_str().to_owned()),
                site_id: Some(site.id.clone()),
                limit: Some(1),
                ..sync_core::ListFilter::default()
            };
            let latest = store
                .list_records(scope, &newest)?
                .first()
                .map(|row| row.created_at_ms);
            last_activity_ms = last_activity_ms.max(latest);
        }
        let here = plans.iter().filter(|(row, _)| row.site_id == site.id);
        let mut current: Option<(String, EmergencyPlan, i64)> = None;
        let mut draft: Option<(String, EmergencyPlan)> = None;
        let mut changed: Option<(String, EmergencyPlan)> = None;
        for (row, record) in here {
            let Body::EmergencyPlan(plan) = &record.body else {
                continue;
            };
            let signed_as_it_stands = plan
                .signature
                .as_ref()
                .is_some_and(|s| s.content_hash == plan.content_hash());
            if plan.status == PlanStatus::Current && !signed_as_it_stands {
                changed = Some((row.id.clone(), plan.clone()));
                continue;
            }
            match (plan.status, plan.revised_ms()) {
                (PlanStatus::Current, Some(revised)) if signed_as_it_stands => {
                    if current.as_ref().is_none_or(|(_, _, r)| *r < revised) {
                        current = Some((row.id.clone(), plan.clone(), revised));
                    }
                }
                _ => {
                    if draft.is_none() {
                        draft = Some((row.id.clone(), plan.clone()));
                    }
                }
            }
        }
        let (standing, plan_id, plan, revised_ms) = match (current, changed, draft) {
            (Some((id, plan, revised)), _, _) => (
                if revised + PLAN_REVIEW_MS < now_ms {
                    PlanStanding::ReviewOverdue
                } else {
                    PlanStanding::Current
                },
                Some(id),
                Some(plan),
                Some(revised),
            ),
            (None, Some((id, plan)), _) => (PlanStanding::ChangedSinceSignOff, Some(id), Some(plan), None),
            (None, None, Some((id, plan))) => (PlanStanding::DraftOnly, Some(id), Some(plan), None),
            (None, None, None) => (PlanStanding::Missing, None, None, None),
        };
        let mut site_drills: Vec<DrillEntry> = drills
            .iter()
            .filter(|(row, _)| row.site_id == site.id)
            .filter_map(|(row, record)| match &record.body {
                Body::Drill(drill) => Some(DrillEntry {
                    record_id: row.id.clone(),
                    held_ms: drill.held.as_ref().map(|s| s.wall_ms),
                    drill: drill.clone(),
                }),
                _ => None,
            })
            .collect();
        site_drills.sort_by_key(|d| std::cmp::Reverse(d.held_ms));
        out.push(SitePlan {
            site_id: site.id.clone(),
            site_name: site.name.clone(),
            standing,
            plan_id,
            plan,
            revised_ms,
            last_activity_ms,
            drills: site_drills,
        });
    }
    out.sort_by(|a, b| a.site_name.cmp(&b.site_name));
    Ok(out)
}

/// A site's plan as the office writes it.
#[derive(Debug, Clone, Default)]
pub struct NewPlan {
    pub site_id: String,
    /// (role, name, phone) per contact.
    pub contacts: Vec<(String, String, String)>,
    /// (name, latitude, longitude) per muster point.
    pub muster_points: Vec<(String, f64, f64)>,
    pub hospital: String,
    pub hospital_route: String,
    pub equipment: Vec<String>,
    pub first_aid: String,
    pub rescue_evacuation: String,
    pub alarms_communications: String,
}

/// Writes a site's plan and signs it off as `who` (a supervisor or manager), making it the
/// site's current plan from now. The kind refuses a plan missing any section, naming each.
pub async fn write_plan(state: &AppState, who: &Principal, new: NewPlan) -> ServiceResult<String> {
    who.require_decider()?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let site_id = own_site(state.store.as_ref(), &who, &new.site_id)?;
        let plan = EmergencyPlan {
            contacts: new
                .contacts
                .into_iter()
                .filter(|(role, name, phone)| {
                    !(role.trim().is_empty() && name.trim().is_empty() && phone.trim().is_empty())
                })
                .map(|(role, name, phone)| EmergencyContact {
                    id: new_id(),
                    role: role.trim().to_owned(),
                    name: name.trim().to_owned(),
                    phone: phone.trim().to_owned(),
                })
                .collect(),
            muster_points: new
                .muster_points
                .into_iter()
                .map(|(name, latitude, longitude)| MusterPoint {
                    id: new_id(),
                    name: name.trim().to_owned(),
                    latitude,
                    longitude,
                })
                .collect(),
            hospital: new.hospital.trim().to_owned(),
            hospital_route: new.hospital_route.trim().to_owned(),
            equipment: new
                .equipment
                .into_iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect(),
            first_aid: new.first_aid.trim().to_owned(),
            rescue_evacuation: new.rescue_evacuation.trim().to_owned(),
            alarms_communications: new.alarms_communications.trim().to_owned(),
            status: PlanStatus::Draft,
            signature: None,
        };
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::EmergencyPlan(plan),
            Creation::SignAndComplete,
            "invalid_plan",
            ("emergency_plan.made_current", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}

/// A drill or plan review as the office logs it.
#[derive(Debug, Clone)]
pub struct NewDrill {
    pub site_id: String,
    pub drill_type: String,
    pub scenario: String,
    pub participants: Vec<String>,
    pub lessons: Vec<String>,
}

/// Logs a drill or plan review held today at the site, signed by `who` (a supervisor or manager);
/// participants sign on their phones.
pub async fn log_drill(state: &AppState, who: &Principal, new: NewDrill) -> ServiceResult<String> {
    who.require_decider()?;
    let drill_type = DrillType::parse(new.drill_type.trim()).ok_or_else(|| {
        ServiceError::invalid(
            "invalid_drill",
            format!("there is no drill type {:?}", new.drill_type),
        )
    })?;
    let (state, who) = (state.clone(), who.clone());
    blocking(move || {
        let store = state.store.as_ref();
        let site_id = own_site(store, &who, &new.site_id)?;
        let plan_id = site_plans(store, &who.scope(), (state.clock)())?
            .into_iter()
            .find(|s| s.site_id == site_id)
            .and_then(|s| s.plan_id);
        let mut participants = Vec::new();
        for id in new.participants.iter().chain(std::iter::once(&who.user_id)) {
            let user = active_person(store, &who, id)?;
            if !participants.contains(&user.id) {
                participants.push(user.id);
            }
        }
        let drill = Drill {
            drill_type,
            scenario: new.scenario.trim().to_owned(),
            emergency_plan_id: plan_id,
            participants,
            signatures: Default::default(),
            lessons: new
                .lessons
                .into_iter()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect(),
            status: DrillStatus::Draft,
            held: None,
        };
        let record = create_with(
            &state,
            &who,
            &site_id,
            Body::Drill(drill),
            Creation::SignAndComplete,
            "invalid_drill",
            ("drill.logged", "from the browser".into()),
        )?;
        Ok(record.header.id)
    })
    .await
}
