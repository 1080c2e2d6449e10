//! The demo's year: the records that show the safety program running through the twelve months
//! before the latest day, so the readiness report and every page have something true to show.
//! Made on the phones through the real protocol like the rest of the demo, and the same for the
//! same seed (the seed picks each month's tasks and the minutes they start).
//!
//! Across the year: the policy Olivia signed and reviewed; everyone's acknowledgement of the
//! right to refuse; quarterly management meetings; each site's emergency plan, reviewed at its
//! first tailgate meeting, and a drill; two JSEAs and a tailgate meeting a month at each site,
//! approved before work; a refusal of dangerous work, inspected and closed; incidents and their
//! investigations, one with its actions resolved and verified.
//!
//! And the gaps a real company has, which the readiness report ranks: Hana has not yet
//! acknowledged the right to refuse; one quarter went without a management meeting; the station's
//! plan is past its yearly review and was not covered at its first tailgate; the loader damage
//! investigation blames the operator and asks only for care; the glycol spill is not yet
//! investigated; the generator fire may be reportable and nobody has said.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync_core::Result;
use sync_core::kinds::acknowledgement::{AckSubject, Acknowledgement};
use sync_core::kinds::drill::{Drill, DrillStatus, DrillType};
use sync_core::kinds::emergency_plan::{EmergencyContact, EmergencyPlan, MusterPoint, PlanStatus};
use sync_core::kinds::incident::{Incident, IncidentType, Treatment};
use sync_core::kinds::investigation::{Investigation, InvestigationAction};
use sync_core::kinds::management_meeting::{ManagementMeeting, MeetingAction, MeetingItem};
use sync_core::kinds::policy::Policy;
use sync_core::kinds::refusal_report::{RefusalOutcome, RefusalReport};
use sync_core::kinds::tailgate_meeting::TailgateMeeting;
use sync_core::model::{ApprovalDecision, Body, Jsea};
use sync_core::program::raised_action_id;

use super::{
    Phones, SHOP, STATION_YARD, Site, SiteIds, WELL_PAD, When, Who, at, chemical_pump, compressor_valve,
    cooler_belts, daylighting, flowline_test, hot_work, invalid, oil_change, pig_receiver, rod_packing,
    tank_cleanout,
};

/// The seed the demo uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 2026;

/// How many days before the latest day the year's records start (the phones' boot is before).
pub(super) const YEAR_DAYS: u64 = 370;

const DAY_MS: i64 = 86_400_000;

/// Fills the year. The records come after the phones are signed in and before the week's.
pub(super) async fn fill(phones: &mut Phones, sites: &SiteIds, seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let policy_id = policy(phones, sites)?;
    phones.sync(&[Who::Olivia]).await?;
    acknowledgements(phones, sites, &policy_id)?;
    let plans = emergency_plans(phones, sites)?;
    first_tailgates(phones, sites, &plans)?;
    drill(phones, sites, &plans)?;
    let refusal = refusal_reported(phones, sites)?;
    let incidents = incidents(phones, sites)?;
    let jseas = monthly_work(phones, sites, &mut rng)?;
    // Twice: the phones that synced first receive what the later ones sent.
    phones.sync(&Who::ALL).await?;
    phones.sync(&Who::ALL).await?;

    let minutes = meetings(phones, sites)?;
    approve_monthly(phones, &jseas)?;
    close_refusal(phones, &refusal)?;
    let investigation = investigations(phones, sites, &incidents)?;
    phones.sync(&[Who::Sam]).await?;
    phones.sync(&[Who::Olivia]).await?;
    sign_minutes(phones, &minutes)?;
    phones.sync(&[Who::Olivia]).await?;

    phones.sync(&Who::LEADS).await?;
    work_monthly(phones, &jseas)?;
    phones.sync(&Who::ALL).await?;
    resolve_investigation_actions(phones, &investigation).await
}

// -- S1: the policy, acknowledgements, meetings, a refusal -----------------------------------------

const POLICY_TEXT: &str = "Demo Energy Services is committed to a safe and healthy workplace for \
everyone who works for us or with us. No job is so urgent that it cannot be done safely.

We will identify and control hazards before work starts, give our people the training, equipment \
and time to work safely, and look after their physical and psychological well-being.

Managers provide the resources and lead by example; supervisors make sure hazards are assessed and \
controlled on their sites; workers follow safe work practices, report hazards and near misses, and \
have the right to refuse dangerous work without reprisal; contractors meet the same standards.

We will meet or exceed the Alberta OHS Act, Regulation and Code, and review this policy every year.";

/// Olivia signs the policy at the start of the year and reviews it last month.
fn policy(phones: &mut Phones, sites: &SiteIds) -> Result<String> {
    let olivia = phones.of(Who::Olivia);
    let mut policy = Policy::new("Health and Safety Policy", POLICY_TEXT);
    policy.covers = sync_core::kinds::policy::POLICY_TOPICS
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let start = at(362, 9, 0, SHOP);
    let id = olivia.create(sites.id(Site::Well), None, Body::Policy(policy), start)?;
    olivia.sign(&id, start.plus(20))?;
    olivia.sign(&id, at(24, 14, 0, SHOP))?;
    olivia.store.edit(&id, |r| {
        if let Body::Policy(p) = &mut r.body
            && let Some(review) = p.reviews.last_mut()
        {
            review.note =
                "Reviewed with Sam against last year's incidents and the action log; no change needed."
                    .into();
        }
        Ok(())
    })?;
    Ok(id)
}

/// Each person acknowledges the right to refuse at their orientation and the policy once it is
/// signed; Hana, who joined in the autumn, has signed neither yet.
fn acknowledgements(phones: &mut Phones, sites: &SiteIds, policy_id: &str) -> Result<()> {
    for (who, site, ago) in [
        (Who::Sam, Site::Well, 361),
        (Who::Lee, Site::Well, 360),
        (Who::Wade, Site::Well, 360),
        (Who::Omar, Site::Station, 359),
    ] {
        let phone = phones.of(who);
        let person = phone.user_id.clone();
        let start = at(ago, 7, 45, site.spot());
        let refuse = Acknowledgement::right_to_refuse(&person);
        let id = phone.create(sites.id(site), None, Body::Acknowledgement(refuse), start)?;
        phone.sign(&id, start.plus(1))?;
        phone.complete(&id, start.plus(1))?;
        let mut policy = Acknowledgement::new(
            AckSubject::Policy,
            &person,
            "I have read the company's Health and Safety Policy and will work by it.",
        );
        policy.document_id = Some(policy_id.to_owned());
        let id = phone.create(sites.id(site), None, Body::Acknowledgement(policy), start.plus(2))?;
        phone.sign(&id, start.plus(3))?;
        phone.complete(&id, start.plus(3))?;
    }
    Ok(())
}

/// The quarterly management safety reviews Sam records and Olivia signs; the one due in the
/// spring never happened.
fn meetings(phones: &mut Phones, sites: &SiteIds) -> Result<Vec<(String, u64)>> {
    let olivia = phones.of(Who::Olivia).user_id.clone();
    let lee = phones.of(Who::Lee).user_id.clone();
    let held = [
        (
            345,
            vec![
                "Last year's incidents and near misses: 4 near misses, no lost time",
                "Open corrective actions reviewed: none overdue",
            ],
            None,
        ),
        (
            255,
            vec![
                "Q2: no incidents; near-miss reporting reminded at both sites' talks",
                "Inspection schedule kept at the wellsite; station extinguisher checks late once",
            ],
            None,
        ),
        (
            75,
            vec![
                "Incidents since the last review: hand laceration (investigated, its actions closed)",
                "Training matrix: Omar's ground disturbance ticket expires in about four months",
            ],
            Some((
                "Spill kits at both sites were found empty twice",
                "Stock a second spill kit in each truck and add it to the pre-start",
            )),
        ),
    ];
    let mut minutes = Vec::new();
    for (ago, safety_items, action) in held {
        let sam = phones.of(Who::Sam);
        let start = at(ago, 13, 0, SHOP);
        let mut meeting = ManagementMeeting::new("Quarterly management safety review");
        meeting.attendees = vec![sam.user_id.clone(), olivia.clone()];
        meeting.items = safety_items
            .into_iter()
            .enumerate()
            .map(|(n, topic)| MeetingItem {
                id: format!("item-{n}"),
                topic: topic.into(),
                notes: String::new(),
                safety: true,
            })
            .chain(std::iter::once(MeetingItem {
                id: "item-budget".into(),
                topic: "Next quarter's work and crew".into(),
                notes: String::new(),
                safety: false,
            }))
            .collect();
        if let Some((hazard, action)) = action {
            meeting.actions.push(MeetingAction {
                id: "spill-kits".into(),
                hazard: hazard.into(),
                action: action.into(),
                assignee: lee.clone(),
                due_ms: Some(sam.calendar.ms(ago, 13 * 60)? + 100 * DAY_MS),
            });
        }
        let id = sam.create(
            sites.id(Site::Well),
            None,
            Body::ManagementMeeting(meeting),
            start,
        )?;
        sam.sign(&id, start.plus(55))?;
        sam.complete(&id, start.plus(56))?;
        minutes.push((id, ago));
    }
    Ok(minutes)
}

/// Olivia signs each meeting's minutes from her tablet the next morning.
fn sign_minutes(phones: &mut Phones, minutes: &[(String, u64)]) -> Result<()> {
    let olivia = phones.of(Who::Olivia);
    for (id, ago) in minutes {
        olivia.sign(id, at(ago - 1, 8, 30, SHOP))?;
    }
    Ok(())
}

/// Wade refuses to enter the produced water tank without a standby person; Sam reports it.
fn refusal_reported(phones: &mut Phones, sites: &SiteIds) -> Result<(String, u64)> {
    let wade = phones.of(Who::Wade).user_id.clone();
    let sam = phones.of(Who::Sam);
    let ago = 200;
    let refused_ms = sam.calendar.ms(ago, 8 * 60 + 10)?;
    let report = RefusalReport::new(
        wade,
        "Entering the produced water tank for the clean-out",
        "No standby person at the hatch and the gas monitor's bump test was out of date",
        refused_ms,
    );
    let start = at(ago, 8, 30, STATION_YARD);
    let id = sam.create(sites.id(Site::Station), None, Body::RefusalReport(report), start)?;
    sam.complete(&id, start.plus(2))?;
    Ok((id, ago))
}

/// Sam inspects, fixes and closes the refusal the same day; Wade gets his copy.
fn close_refusal(phones: &mut Phones, (id, ago): &(String, u64)) -> Result<()> {
    let sam = phones.of(Who::Sam);
    let me = sam.user_id.clone();
    sam.store.edit(id, |r| {
        let Body::RefusalReport(report) = &mut r.body else {
            return Err(invalid("not a refusal report"));
        };
        report.inspection =
            "Confirmed: no standby person assigned and the monitor last bump-tested 9 days before".into();
        report.inspected_by = Some(me.clone());
        report.remedy =
            "Monitor bump-tested and logged; Omar assigned as standby with a radio; entry permit redone"
                .into();
        report.outcome = RefusalOutcome::HazardRemedied;
        report.copies_given = true;
        Ok(())
    })?;
    sam.sign(id, at(*ago, 11, 0, STATION_YARD))
}

// -- S6: plans, first tailgates, a drill -----------------------------------------------------------

/// The wellsite's plan, which its first tailgate and its drill go over.
struct Plans {
    well: String,
}

fn plan(hospital: &str, route: &str, muster: &[(&str, f64, f64)]) -> EmergencyPlan {
    EmergencyPlan {
        contacts: vec![
            EmergencyContact {
                id: "c-911".into(),
                role: "Emergency services".into(),
                name: "Ambulance, fire, RCMP".into(),
                phone: "911".into(),
            },
            EmergencyContact {
                id: "c-super".into(),
                role: "Supervisor".into(),
                name: "Sam Supervisor".into(),
                phone: "780-555-0142".into(),
            },
            EmergencyContact {
                id: "c-stars".into(),
                role: "Air ambulance (STARS)".into(),
                name: "STARS emergency link centre".into(),
                phone: "1-888-888-4567".into(),
            },
        ],
        muster_points: muster
            .iter()
            .enumerate()
            .map(|(n, (name, latitude, longitude))| MusterPoint {
                id: format!("m-{n}"),
                name: (*name).into(),
                latitude: *latitude,
                longitude: *longitude,
            })
            .collect(),
        hospital: hospital.into(),
        hospital_route: route.into(),
        equipment: vec![
            "20 lb ABC extinguishers: pad entrance and each truck".into(),
            "Spill kit: beside the tank farm".into(),
            "Eyewash: at the chemical shed".into(),
        ],
        first_aid: "Two Standard First Aid holders on every crew; Type 2 kit in each truck".into(),
        rescue_evacuation:
            "Stop work, muster upwind, head count by the crew lead, call 911; no rescue entry without SCBA"
                .into(),
        alarms_communications:
            "Three long horn blasts to muster; radio channel 4; satellite messenger in the lead's truck"
                .into(),
        status: PlanStatus::Draft,
        signature: None,
    }
}

/// Sam writes each site's plan: the station's a year and more ago, the wellsite's before its
/// first work of the year.
fn emergency_plans(phones: &mut Phones, sites: &SiteIds) -> Result<Plans> {
    let sam = phones.of(Who::Sam);
    let mut make = |site: Site, ago: u64, body: EmergencyPlan| -> Result<String> {
        let start = at(ago, 10, 0, site.spot());
        let id = sam.create(sites.id(site), None, Body::EmergencyPlan(body), start)?;
        sam.sign(&id, start.plus(30))?;
        sam.complete(&id, start.plus(31))?;
        Ok(id)
    };
    make(
        Site::Station,
        369,
        plan(
            "Drayton Valley Hospital",
            "Out the station gate east to Hwy 620, north on Hwy 22 to Drayton Valley: about 45 minutes",
            &[(
                "Station gate",
                STATION_YARD.lat + 0.0011,
                STATION_YARD.lon + 0.0018,
            )],
        ),
    )?;
    let well = make(
        Site::Well,
        332,
        plan(
            "Drayton Valley Hospital",
            "Lease road south 4 km to Range Road 71, east to Hwy 22, south to Drayton Valley: about 35 minutes",
            &[
                (
                    "Upwind muster point A (lease entrance)",
                    WELL_PAD.lat - 0.0012,
                    WELL_PAD.lon + 0.0009,
                ),
                (
                    "Muster point B (north fence)",
                    WELL_PAD.lat + 0.0014,
                    WELL_PAD.lon,
                ),
            ],
        ),
    )?;
    Ok(Plans { well })
}

/// Each site's first tailgate meeting of the year: the wellsite's goes over its new plan, the
/// station's does not.
fn first_tailgates(phones: &mut Phones, sites: &SiteIds, plans: &Plans) -> Result<()> {
    for (site, ago, plan_id, topics) in [
        (
            Site::Station,
            358,
            None,
            vec![
                "Winter driving on the station road",
                "Cold stress and warm-up breaks",
            ],
        ),
        (
            Site::Well,
            331,
            Some(plans.well.clone()),
            vec![
                "The site's emergency response plan: muster points, the route to hospital, the horn signal",
                "H2S: monitors on, upwind",
            ],
        ),
    ] {
        let phone = phones.of(super::lead(site));
        let start = at(ago, 6, 0, site.spot());
        let mut meeting = TailgateMeeting::new(
            "First tailgate meeting of the season",
            topics.into_iter().map(str::to_owned).collect(),
        );
        meeting.emergency_plan_id = plan_id;
        let id = phone.create(sites.id(site), None, Body::TailgateMeeting(meeting), start)?;
        phone.sign(&id, start.plus(1))?;
        phone.complete(&id, start.plus(14))?;
    }
    Ok(())
}

/// An H2S muster drill at the wellsite in the summer.
fn drill(phones: &mut Phones, sites: &SiteIds, plans: &Plans) -> Result<()> {
    let lee = phones.of(Who::Lee).user_id.clone();
    let wade = phones.of(Who::Wade).user_id.clone();
    let sam = phones.of(Who::Sam);
    let start = at(196, 9, 0, WELL_PAD);
    let drill = Drill {
        drill_type: DrillType::Drill,
        scenario: "H2S release at the separator: alarm, muster upwind, head count".into(),
        emergency_plan_id: Some(plans.well.clone()),
        participants: vec![sam.user_id.clone(), lee, wade],
        signatures: Default::default(),
        lessons: vec![
            "Everyone at muster point A within 3 minutes".into(),
            "The horn cannot be heard at the tank farm: add a second horn".into(),
        ],
        status: DrillStatus::Draft,
        held: None,
    };
    let id = sam.create(sites.id(Site::Well), None, Body::Drill(drill), start)?;
    sam.sign(&id, start.plus(25))?;
    sam.complete(&id, start.plus(26))?;
    Ok(())
}

// -- S5: incidents and investigations ---------------------------------------------------------------

struct Incidents {
    laceration: String,
    loader: String,
}

/// The completed investigation's id, and its actions as the server raised them: (action id,
/// who resolves it, how many days ago).
type Investigated = (String, Vec<(String, Who, u64)>);

/// The year's incidents, each reported on the phone of the person who saw it.
fn incidents(phones: &mut Phones, sites: &SiteIds) -> Result<Incidents> {
    let mut report =
        |who: Who, site: Site, ago: u64, build: &dyn Fn(i64, &str) -> Incident| -> Result<String> {
            let phone = phones.of(who);
            let occurred = phone.calendar.ms(ago, 10 * 60)?;
            let body = build(occurred, &phone.user_id.clone());
            let start = at(ago, 10, 20, site.spot());
            let id = phone.create(sites.id(site), None, Body::Incident(body), start)?;
            phone.complete(&id, start.plus(6))?;
            Ok(id)
        };
    let laceration = report(Who::Lee, Site::Well, 150, &|at, by| {
        let mut i = Incident::new(
            IncidentType::Injury,
            at,
            "Cut the back of the left hand on a sharp valve handle while changing it out",
            by,
        );
        i.location = "Wellhead, master valve".into();
        i.treatment = Treatment::FirstAid;
        i
    })?;
    let loader = report(Who::Omar, Site::Station, 60, &|at, by| {
        let mut i = Incident::new(
            IncidentType::Damage,
            at,
            "Loader bucket struck the pipe rack while reversing out of the bay; one support bent",
            by,
        );
        i.location = "Pipe rack beside the compressor building".into();
        i
    })?;
    report(Who::Omar, Site::Station, 19, &|at, by| {
        let mut i = Incident::new(
            IncidentType::Environmental,
            at,
            "About 20 litres of glycol spilled from a cracked hose at the dehydrator; contained on the gravel pad",
            by,
        );
        i.location = "Dehydrator skid".into();
        i.release = "Contained on site, under the reporting threshold; soil removed to the bin".into();
        i
    })?;
    report(Who::Lee, Site::Well, 3, &|at, by| {
        let mut i = Incident::new(
            IncidentType::Damage,
            at,
            "Small fire in the generator enclosure, put out with the pad extinguisher; wiring burned",
            by,
        );
        i.location = "Generator enclosure".into();
        i.occurrences = vec!["fire_or_explosion".into()];
        i
    })?;
    Ok(Incidents { laceration, loader })
}

/// Sam investigates the laceration properly and completes it; the loader investigation is
/// still a draft that blames the operator.
fn investigations(phones: &mut Phones, sites: &SiteIds, incidents: &Incidents) -> Result<Investigated> {
    let lee = phones.of(Who::Lee).user_id.clone();
    let omar = phones.of(Who::Omar).user_id.clone();
    let sam = phones.of(Who::Sam);
    let calendar = sam.calendar;
    let start = at(148, 13, 0, SHOP);
    let due = |days: u64| calendar.ms(148 - days, 17 * 60);
    let mut laceration = Investigation::new(&incidents.laceration);
    laceration.sequence = vec![
        "Lee changed the master valve handle with a pipe wrench on the handle's flat".into(),
        "The wrench slipped off the worn flat".into(),
        "The back of his hand struck the sharp edge of the old handle".into(),
    ];
    laceration.immediate_causes = vec!["Wrench slipped off a worn handle flat".into()];
    laceration.root_causes = vec![
        "No handle puller in the wellsite kit: the task was done with a pipe wrench".into(),
        "The valve-change JSEA template listed no hand protection for sharp edges".into(),
    ];
    laceration.actions = vec![
        InvestigationAction {
            id: "puller".into(),
            action: "Buy a valve handle puller for each truck's kit".into(),
            assignee: lee.clone(),
            due_ms: Some(due(14)?),
        },
        InvestigationAction {
            id: "template".into(),
            action: "Add cut-resistant gloves and the puller to the valve-change JSEA template".into(),
            assignee: sam.user_id.clone(),
            due_ms: Some(due(7)?),
        },
    ];
    let id = sam.create(sites.id(Site::Well), None, Body::Investigation(laceration), start)?;
    sam.sign(&id, start.plus(90))?;
    sam.complete(&id, start.plus(91))?;
    let actions = vec![
        (raised_action_id(&id, "puller"), Who::Lee, 140),
        (raised_action_id(&id, "template"), Who::Sam, 143),
    ];

    let mut loader = Investigation::new(&incidents.loader);
    loader.sequence = vec![
        "Omar reversed the loader out of the bay with the bucket raised".into(),
        "The bucket caught the pipe rack's end support".into(),
    ];
    loader.immediate_causes = vec!["Bucket carried high while reversing".into()];
    loader.root_causes = vec!["Operator not paying attention".into()];
    loader.actions = vec![InvestigationAction {
        id: "careful".into(),
        action: "Remind operators to be more careful when reversing".into(),
        assignee: omar,
        due_ms: Some(sam.calendar.ms(30, 17 * 60)?),
    }];
    let start = at(58, 15, 0, STATION_YARD);
    sam.create(sites.id(Site::Station), None, Body::Investigation(loader), start)?;
    Ok((id, actions))
}

/// The laceration investigation's actions, raised by the server: each assignee resolves theirs
/// on their phone, and Olivia, who resolved neither, verifies both.
async fn resolve_investigation_actions(phones: &mut Phones, (_, actions): &Investigated) -> Result<()> {
    phones.sync(&[Who::Lee, Who::Sam]).await?;
    for (id, who, ago) in actions {
        let phone = phones.of(*who);
        phone.store.edit(id, |r| {
            let Body::CorrectiveAction(a) = &mut r.body else {
                return Err(invalid("not a corrective action"));
            };
            a.resolution_note = Some("Done as written; photo of the kit and the new template on file".into());
            Ok(())
        })?;
        phone.sign(id, at(*ago, 15, 0, SHOP))?;
    }
    phones.sync(&[Who::Lee, Who::Sam, Who::Olivia]).await?;
    for (id, _, ago) in actions {
        phones.of(Who::Olivia).decide(
            id,
            ApprovalDecision::Approved,
            "Checked: the pullers are in both trucks and the template is updated",
            at(ago - 1, 9, 0, SHOP),
        )?;
    }
    phones.sync(&[Who::Olivia]).await
}

// -- S2/S3: the months of ordinary work -------------------------------------------------------------

/// One JSEA of the year's ordinary work.
pub(super) struct MonthlyJsea {
    id: String,
    by: Who,
    site: Site,
    ago: u64,
    minute: u32,
}

impl MonthlyJsea {
    fn start(&self) -> When {
        at(self.ago, 6, 0, self.site.spot()).plus(self.minute)
    }
}

/// Two JSEAs and a tailgate meeting each month at each site, between the year's start and the
/// demo's week; the seed picks the day, the task and the minute the crew starts.
fn monthly_work(phones: &mut Phones, sites: &SiteIds, rng: &mut StdRng) -> Result<Vec<MonthlyJsea>> {
    let well_tasks: [fn() -> Jsea; 4] = [flowline_test, daylighting, tank_cleanout, hot_work];
    let station_tasks: [fn() -> Jsea; 6] = [
        oil_change,
        cooler_belts,
        rod_packing,
        pig_receiver,
        chemical_pump,
        compressor_valve,
    ];
    let mut out = Vec::new();
    for month in 0..11u64 {
        for site in [Site::Well, Site::Station] {
            let lead = super::lead(site);
            // The year's work starts after each site's plan and first tailgate.
            let base = 325 - month * 29;
            for half in 0..2u64 {
                let ago = base - half * 14 - rng.random_range(0..5);
                let minute = rng.random_range(0..20);
                let body = match site {
                    Site::Well => well_tasks[rng.random_range(0..well_tasks.len())](),
                    Site::Station => station_tasks[rng.random_range(0..station_tasks.len())](),
                };
                let phone = phones.of(lead);
                let job = format!("{}-{}", site_code(site), ago);
                let plan = MonthlyJsea {
                    id: String::new(),
                    by: lead,
                    site,
                    ago,
                    minute,
                };
                let start = plan.start();
                let id = phone.create(sites.id(site), Some(&job), Body::Jsea(body), start)?;
                phone.sign(&id, start.plus(6))?;
                phone.complete(&id, start.plus(14))?;
                out.push(MonthlyJsea { id, ..plan });
            }
            let ago = base - 1;
            let phone = phones.of(lead);
            let start = at(ago, 5, 45, site.spot());
            let talk = TailgateMeeting::new(
                "Monthly safety talk",
                vec![match site {
                    Site::Well => "Line of fire around the pressure test".into(),
                    Site::Station => "Lock-out before belt and packing work".into(),
                }],
            );
            let id = phone.create(sites.id(site), None, Body::TailgateMeeting(talk), start)?;
            phone.sign(&id, start.plus(1))?;
            phone.complete(&id, start.plus(10))?;
        }
    }
    Ok(out)
}

fn site_code(site: Site) -> &'static str {
    match site {
        Site::Well => "W",
        Site::Station => "S",
    }
}

/// Sam approves each before work starts, from the shop: both sites start their day at once.
fn approve_monthly(phones: &mut Phones, jseas: &[MonthlyJsea]) -> Result<()> {
    let sam = phones.of(Who::Sam);
    for j in jseas {
        sam.decide(
            &j.id,
            ApprovalDecision::Approved,
            "Controls in place; go ahead",
            j.start().to(SHOP).plus(20),
        )?;
    }
    Ok(())
}

/// The crews start work once approved and close the JSEA at the end of the day.
fn work_monthly(phones: &mut Phones, jseas: &[MonthlyJsea]) -> Result<()> {
    for j in jseas {
        let phone = phones.of(j.by);
        phone.start_work(&j.id, j.start().plus(30))?;
        phone.close(&j.id, at(j.ago, 16, 30, j.site.spot()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_picks_the_same_days() {
        let pick = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..8).map(|_| rng.random_range(0..5u64)).collect::<Vec<_>>()
        };
        assert_eq!(pick(DEFAULT_SEED), pick(DEFAULT_SEED));
        assert_ne!(pick(DEFAULT_SEED), pick(DEFAULT_SEED + 1));
    }
}
