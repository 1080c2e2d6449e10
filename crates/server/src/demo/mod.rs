//! The demo company: created once with `--demo` and filled with six working days of records made
//! on simulated phones and synced through the real protocol, so everything the office sees took
//! the same path a crew's records take (the server's write checks, judging, flags and feed).
//!
//! Two sites west of Drayton Valley, a supervisor and four crew members, each with a phone. Every
//! day (Alberta time; the latest is the last day whose morning has passed) both crews hold a
//! tailgate meeting, do a pre-start on their unit and fill a JSEA that the supervisor approves
//! from his phone before work starts. Among those, so every office page has something to show:
//! JSEAs completed this morning and waiting for approval on both sites (one changed after a crew
//! member signed it, so his signature is stale), a rejected JSEA on each site, two JSEAs completed
//! after work started, one filled in at the shop instead of on the lease, a loader out of service,
//! and near misses (one anonymous, one off site on the lease road, one reported days late).
//!
//! The phones work through the day in phases, as crews do: the lead starts the records and signs,
//! the crew signs on from their own phones, the lead completes, the supervisor decides, the crew
//! starts work and closes. Each phase ends with the phones syncing; a change the server refuses
//! fails the demo.

use std::path::Path;

use chrono::{Days, NaiveDate, TimeZone, Timelike};
use chrono_tz::America::Edmonton;
use sync_core::kinds::tailgate_meeting::TailgateMeeting;
use sync_core::model::{
    ApprovalDecision, Body, ChecklistItem, ControlLevel, EquipmentUnit, Hazard, ItemResult, Jsea, Severity,
    TaskStep,
};
use sync_core::place::Geofence;
use sync_core::protocol::{ClockSample, Role};
use sync_core::sample::{self, hazard, step};
use sync_core::sync::{RetryPolicy, SyncClient};
use sync_core::{Error, GpsFix, Result, Stamp, Store};

mod program;
mod year;

pub use year::DEFAULT_SEED;

use crate::AppState;
use crate::auth::hash_password;
use crate::store::NewUser;

/// Who the audit log names for what the demo sets up.
const SYSTEM: &str = "system";

pub const COMPANY: &str = "Demo Energy Services Ltd.";
/// Every demo account's password.
pub const PASSWORD: &str = "muster-demo-2026";

pub const ADMIN: &str = "office@demo.muster";
pub const SUPERVISOR: &str = "supervisor@demo.muster";
pub const LEAD: &str = "lead@demo.muster";
pub const WORKER: &str = "worker@demo.muster";
pub const OPERATOR: &str = "operator@demo.muster";
pub const HELPER: &str = "helper@demo.muster";

pub const WELLSITE: &str = "4-12 Wellsite";
pub const STATION: &str = "Brazeau Compressor Station";

/// How many working days of records the demo makes, the latest one included.
pub const DAYS: u64 = 6;

fn print_logins(base_url: &str) {
    println!("\nMuster demo company \"{COMPANY}\" is ready at {base_url}");
    println!("  Browser: open {base_url}/ and sign in ({base_url}/signin) with one of the accounts below");
    println!(
        "  API:     POST {base_url}/v1/auth/login with the same accounts (described at {base_url}/openapi.json)"
    );
    println!("Accounts, each with the password {PASSWORD:?}:");
    for (email, what) in [
        (ADMIN, "office admin: people, devices, sites, every record"),
        (SUPERVISOR, "supervisor of both sites: approves JSEAs"),
        (LEAD, "crew lead at 4-12 Wellsite"),
        (
            OPERATOR,
            "equipment operator, crew lead at Brazeau Compressor Station",
        ),
        (WORKER, "worker at both sites"),
        (HELPER, "helper at Brazeau Compressor Station"),
    ] {
        println!("  {email:<26} {what}");
    }
    println!();
}

/// Creates the demo company unless it exists, then prints how to sign in.
pub async fn ensure(state: &AppState, base_url: &str, data_dir: &Path) -> Result<(), String> {
    ensure_seeded(state, base_url, data_dir, DEFAULT_SEED).await
}

/// [`ensure`], the year's records picked by `seed` (the same seed makes the same year).
pub async fn ensure_seeded(
    state: &AppState,
    base_url: &str,
    data_dir: &Path,
    seed: u64,
) -> Result<(), String> {
    let store = state.store.clone();
    let exists = tokio::task::spawn_blocking(move || store.company_by_name(COMPANY))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if exists.is_none() {
        create(state, base_url, data_dir, seed).await?;
    }
    print_logins(base_url);
    Ok(())
}

/// The company, its sites and people, then the records, made on phones. Fails if the server
/// refuses any change a phone sends.
async fn create(state: &AppState, base_url: &str, data_dir: &Path, seed: u64) -> Result<(), String> {
    let store = state.store.clone();
    let hash = tokio::task::spawn_blocking(|| hash_password(PASSWORD))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.message)?;
    let calendar = Calendar::now().map_err(|e| e.to_string())?;
    let sites = tokio::task::spawn_blocking(move || {
        let company = store.create_company(COMPANY)?;
        let well = store.create_site(&company.id, WELLSITE, SYSTEM)?;
        let station = store.create_site(&company.id, STATION, SYSTEM)?;
        let pad = Geofence::Circle {
            lat: WELL_PAD.lat,
            lon: WELL_PAD.lon,
            radius_m: 250.0,
        };
        store.set_site_area(&company.id, &well.id, Some(&pad), 50.0, SYSTEM)?;
        let yard = Geofence::Circle {
            lat: STATION_YARD.lat,
            lon: STATION_YARD.lon,
            radius_m: 300.0,
        };
        store.set_site_area(&company.id, &station.id, Some(&yard), 50.0, SYSTEM)?;
        let both = vec![well.id.clone(), station.id.clone()];
        let at_well = vec![well.id.clone()];
        let at_station = vec![station.id.clone()];
        for (email, name, role, sites) in [
            (ADMIN, "Olivia Office", Role::Admin, vec![]),
            (SUPERVISOR, "Sam Supervisor", Role::Supervisor, both.clone()),
            (LEAD, "Lee Lead", Role::Worker, at_well),
            (WORKER, "Wade Worker", Role::Worker, both),
            (OPERATOR, "Omar Operator", Role::Worker, at_station.clone()),
            (HELPER, "Hana Helper", Role::Worker, at_station),
        ] {
            store.create_user(
                &company.id,
                NewUser {
                    email: email.into(),
                    name: name.into(),
                    role,
                    password_hash: hash.clone(),
                    sites,
                },
                SYSTEM,
            )?;
        }
        store.audit(&company.id, SYSTEM, "company.created", "demo company")?;
        let sites = SiteIds {
            well: well.id,
            station: station.id,
        };
        let person = |email: &str| {
            store
                .user_by_email(email)?
                .map(|u| u.id)
                .ok_or_else(|| crate::store::StoreError::Invalid(format!("{email} was not created")))
        };
        let opened = calendar
            .ms(program::HISTORY_DAYS, 8 * 60)
            .map_err(|e| crate::store::StoreError::Invalid(format!("the demo's calendar: {e}")))?;
        let office = person(ADMIN)?;
        program::register(
            store.as_ref(),
            &company.id,
            &[&PICKER, &LOADER, &PICKUP],
            &office,
            opened,
        )?;
        let schedules = program::schedules(
            store.as_ref(),
            &company.id,
            &sites,
            &person(SUPERVISOR)?,
            &person(OPERATOR)?,
            &office,
            calendar,
        )?;
        Ok::<_, crate::store::StoreError>((sites, schedules))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let (sites, schedules) = sites;
    fill(
        base_url,
        &data_dir.join("demo-phones"),
        &sites,
        &schedules,
        calendar,
        seed,
    )
    .await
    .map_err(|e| format!("demo records: {e}"))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

// -- time and place ------------------------------------------------------------------------------

/// The days the demo fills, in Alberta time. Day `ago` 0 is the latest: today once the morning's
/// records are past (from 08:00), yesterday before that, so no record is stamped in the future.
#[derive(Debug, Clone, Copy)]
struct Calendar {
    latest: NaiveDate,
}

impl Calendar {
    fn now() -> Result<Self> {
        let now = Edmonton
            .timestamp_millis_opt(sync_core::store::now_ms())
            .single()
            .ok_or_else(|| invalid("the system clock reads no valid time"))?;
        let today = now.date_naive();
        let latest = if now.hour() >= 8 {
            Some(today)
        } else {
            today.pred_opt()
        };
        Ok(Self {
            latest: latest.ok_or_else(|| invalid("the system clock is at the start of time"))?,
        })
    }

    fn date(self, ago: u64) -> Result<NaiveDate> {
        self.latest
            .checked_sub_days(Days::new(ago))
            .ok_or_else(|| invalid("the demo's days fall before the calendar starts"))
    }

    /// Unix ms of `minute` past midnight, Alberta time, `ago` days before the latest day.
    fn ms(self, ago: u64, minute: u32) -> Result<i64> {
        let local = self
            .date(ago)?
            .and_hms_opt(minute / 60, minute % 60, 0)
            .ok_or_else(|| invalid(format!("minute {minute} is not in a day")))?;
        Edmonton
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| invalid(format!("{local} does not exist in Alberta")))
    }
}

/// Where a phone is when it stamps an event.
#[derive(Debug, Clone, Copy)]
struct Spot {
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    /// People move about a site: fixes spread up to about 120 m from the spot.
    spread: bool,
}

/// The 4-12 wellsite's pad (its geofence: 250 m around this point).
const WELL_PAD: Spot = Spot {
    lat: 53.4521,
    lon: -115.0123,
    accuracy_m: 4.0,
    spread: true,
};
/// Brazeau Compressor Station's yard (its geofence: 300 m around this point).
const STATION_YARD: Spot = Spot {
    lat: 53.1107,
    lon: -115.4408,
    accuracy_m: 4.0,
    spread: true,
};
/// The company's shop in Drayton Valley, 25 km from the wellsite.
const SHOP: Spot = Spot {
    lat: 53.2226,
    lon: -114.9768,
    accuracy_m: 9.0,
    spread: false,
};
/// A blind corner on the lease road, 1.6 km south of the wellsite's gate.
const LEASE_ROAD: Spot = Spot {
    lat: 53.4378,
    lon: -115.0201,
    accuracy_m: 7.0,
    spread: false,
};

/// When and where an event happens: `minute` past midnight, `ago` days before the latest day.
#[derive(Debug, Clone, Copy)]
struct When {
    ago: u64,
    minute: u32,
    spot: Spot,
}

fn at(ago: u64, hour: u32, minute: u32, spot: Spot) -> When {
    When {
        ago,
        minute: hour * 60 + minute,
        spot,
    }
}

impl When {
    fn plus(self, minutes: u32) -> Self {
        Self {
            minute: self.minute + minutes,
            ..self
        }
    }

    fn to(self, spot: Spot) -> Self {
        Self { spot, ..self }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    Well,
    Station,
}

impl Site {
    fn spot(self) -> Spot {
        match self {
            Site::Well => WELL_PAD,
            Site::Station => STATION_YARD,
        }
    }
}

#[derive(Debug, Clone)]
struct SiteIds {
    well: String,
    station: String,
}

impl SiteIds {
    fn id(&self, site: Site) -> &str {
        match site {
            Site::Well => &self.well,
            Site::Station => &self.station,
        }
    }
}

// -- people and their phones ---------------------------------------------------------------------

/// The people who carry phones, in the order of [`Who::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Sam,
    Lee,
    Wade,
    Omar,
    Hana,
    /// The office admin, on a tablet: the policy, the minutes she signs, verifications.
    Olivia,
}

impl Who {
    const ALL: [Who; 6] = [Who::Sam, Who::Lee, Who::Wade, Who::Omar, Who::Hana, Who::Olivia];
    const CREW: [Who; 4] = [Who::Lee, Who::Wade, Who::Omar, Who::Hana];
    /// Those who start JSEAs or meetings: they complete, start work and close.
    const LEADS: [Who; 3] = [Who::Lee, Who::Omar, Who::Wade];

    fn email(self) -> &'static str {
        match self {
            Who::Sam => SUPERVISOR,
            Who::Lee => LEAD,
            Who::Wade => WORKER,
            Who::Omar => OPERATOR,
            Who::Hana => HELPER,
            Who::Olivia => ADMIN,
        }
    }

    fn short(self) -> &'static str {
        match self {
            Who::Sam => "sam",
            Who::Lee => "lee",
            Who::Wade => "wade",
            Who::Omar => "omar",
            Who::Hana => "hana",
            Who::Olivia => "olivia",
        }
    }

    fn device(self) -> &'static str {
        match self {
            Who::Sam => "Sam's iPhone 15",
            Who::Lee => "Lee's Galaxy XCover6 Pro",
            Who::Wade => "Wade's Pixel 7a",
            Who::Omar => "Omar's Sonim XP10",
            Who::Hana => "Hana's iPhone SE",
            Who::Olivia => "Olivia's iPad",
        }
    }
}

/// A simulated phone: its own store, signed in through the real sign-in, stamping events with the
/// demo's calendar and GPS fixes.
struct Phone {
    who: Who,
    client: SyncClient,
    store: Store,
    user_id: String,
    calendar: Calendar,
    /// The phone has run since before the first day's shift: one boot, one monotonic clock.
    boot_id: String,
    booted_ms: i64,
    /// Fixes taken so far: spreads positions and seconds without a random generator.
    fixes: u32,
}

impl Phone {
    async fn sign_in(dir: &Path, base_url: &str, who: Who, calendar: Calendar) -> Result<Self> {
        // One boot since before the program's first record: months of stamps anchor through it.
        let booted_ms = calendar.ms(year::YEAR_DAYS, 4 * 60 + 30)?;
        let boot_id = format!("{}-{}", who.short(), calendar.date(year::YEAR_DAYS)?);
        // The phone's clocks as it reports them at each sync: the server anchors the week's
        // stamps to its own time through the monotonic clock of this one boot.
        let boot = boot_id.clone();
        let clock = std::sync::Arc::new(move || {
            let now = sync_core::store::now_ms();
            ClockSample {
                wall_ms: now,
                monotonic_ms: now - booted_ms,
                boot_id: boot.clone(),
                last_round_trip_ms: 0,
            }
        });
        let client = SyncClient::new(RetryPolicy::default())?.with_clock(clock);
        let mut store = Store::open(dir.join(format!("{}.db", who.short())))?;
        let user = client
            .login(&mut store, base_url, who.email(), PASSWORD, who.device())
            .await?;
        Ok(Self {
            who,
            client,
            store,
            user_id: user.id,
            calendar,
            boot_id,
            booted_ms,
            fixes: 0,
        })
    }

    /// A stamp as the phone makes it: wall time, the monotonic clock and a satellite fix.
    fn stamp(&mut self, when: When) -> Result<Stamp> {
        let n = self.fixes;
        self.fixes += 1;
        let wall = self.calendar.ms(when.ago, when.minute)? + i64::from((n * 37 + 11) % 60) * 1000;
        let (mut lat, mut lon) = (when.spot.lat, when.spot.lon);
        if when.spot.spread {
            // About ±90 m north-south and ±80 m east-west: inside either site's boundary.
            lat += (f64::from((n * 7919 + 13) % 101) / 100.0 - 0.5) * 0.0016;
            lon += (f64::from((n * 104_729 + 7) % 97) / 96.0 - 0.5) * 0.0024;
        }
        Ok(
            Stamp::new(wall, wall - self.booted_ms, self.boot_id.clone()).with_fix(GpsFix {
                lat,
                lon,
                accuracy_m: when.spot.accuracy_m + f64::from(n % 5),
                fix_time_ms: wall,
                provider: "gps".into(),
                mock: false,
            }),
        )
    }

    fn create(&mut self, site: &str, job: Option<&str>, body: Body, when: When) -> Result<String> {
        let stamp = self.stamp(when)?;
        self.store.create(site, job, body, stamp)
    }

    fn sign(&mut self, id: &str, when: When) -> Result<()> {
        let stamp = self.stamp(when)?;
        self.store.sign(id, stamp)
    }

    fn complete(&mut self, id: &str, when: When) -> Result<()> {
        let stamp = self.stamp(when)?;
        self.store.complete(id, stamp)
    }

    fn start_work(&mut self, id: &str, when: When) -> Result<()> {
        let stamp = self.stamp(when)?;
        self.store.start_work(id, stamp)
    }

    fn close(&mut self, id: &str, when: When) -> Result<()> {
        let stamp = self.stamp(when)?;
        self.store.close(id, stamp)
    }

    fn decide(&mut self, id: &str, decision: ApprovalDecision, comment: &str, when: When) -> Result<()> {
        let stamp = self.stamp(when)?;
        self.store.decide(id, decision, Some(comment.to_owned()), stamp)
    }

    /// Syncs; any change the server refuses fails the demo.
    async fn sync(&mut self) -> Result<()> {
        let report = self
            .client
            .sync(&mut self.store, &|_: sync_core::sync::SyncProgress| {})
            .await?;
        if let Some(first) = report.rejected.first() {
            return Err(invalid(format!(
                "the server refused {} change(s) from {}'s phone; record {}: {:?}: {}",
                report.rejected.len(),
                self.who.short(),
                first.record_id,
                first.code,
                first.reason
            )));
        }
        Ok(())
    }
}

struct Phones(Vec<Phone>);

impl Phones {
    fn of(&mut self, who: Who) -> &mut Phone {
        &mut self.0[who as usize]
    }

    async fn sync(&mut self, who: &[Who]) -> Result<()> {
        for &person in who {
            self.of(person).sync().await?;
        }
        Ok(())
    }
}

/// Who works where each day, besides the crew lead (Lee at the wellsite, Omar at the station):
/// Wade spends two days at the station.
fn crew(site: Site, ago: u64) -> &'static [Who] {
    match (site, ago) {
        (Site::Well, 3 | 4) => &[],
        (Site::Well, _) => &[Who::Wade],
        (Site::Station, 3 | 4) => &[Who::Hana, Who::Wade],
        (Site::Station, _) => &[Who::Hana],
    }
}

fn lead(site: Site) -> Who {
    match site {
        Site::Well => Who::Lee,
        Site::Station => Who::Omar,
    }
}

// -- the records -----------------------------------------------------------------------------------

/// What becomes of a JSEA after the crew starts it.
enum Outcome {
    /// Approved before work started (the comment), worked, closed at the end of the day.
    Approved(&'static str),
    /// Rejected with the comment; the work waits.
    Rejected(&'static str),
    /// Completed this morning, waiting for the supervisor.
    Waiting,
    /// Waiting, and changed after the crew signed: the lead added this hazard to the first step
    /// and signed again, so the others' signatures no longer vouch for it.
    ChangedAfterSigning(Box<Hazard>),
    /// Work started with the JSEA still a draft, completed half an hour later; approved after
    /// the fact (the comment) or never.
    StartedFirst(Option<&'static str>),
}

struct JseaPlan {
    ago: u64,
    site: Site,
    job: &'static str,
    by: Who,
    crew: &'static [Who],
    /// When the lead starts it.
    hour: u32,
    minute: u32,
    /// Where it was filled in and signed, when not on the site.
    filled_at: Option<Spot>,
    body: Jsea,
    outcome: Outcome,
}

impl JseaPlan {
    fn start(&self) -> When {
        at(
            self.ago,
            self.hour,
            self.minute,
            self.filled_at.unwrap_or(self.site.spot()),
        )
    }

    /// Minutes after the start when the lead signs; the crew follow two minutes apart.
    fn signed_after(&self) -> u32 {
        match self.outcome {
            Outcome::StartedFirst(_) => 28,
            _ => 6,
        }
    }
}

/// Minutes after the start: completion, the supervisor's decision and the start of work.
const COMPLETED: u32 = 14;
const DECIDED: u32 = 22;
const WORK_STARTS: u32 = 30;

fn jsea(task: &str, location: &str, muster_point: &str, steps: Vec<TaskStep>) -> Jsea {
    let mut j = Jsea::new(task, muster_point);
    j.location_description = Some(location.into());
    j.steps = steps;
    j
}

const WELL_LOCATION: &str = "4-12-051-08W5, wellhead and flowline riser";
const WELL_MUSTER: &str = "Lease entrance gate, upwind";
const STATION_LOCATION: &str = "SE-22-048-11W5, compressor building";
const STATION_MUSTER: &str = "Station gate, north side";

fn flowline_test() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Pressure test flowline 4-12 to battery",
        "4-12-051-08W5, flowline riser to the battery",
        WELL_MUSTER,
        vec![
            step(
                "Isolate the flowline and install test blinds",
                vec![
                    hazard(
                        "H2S release when breaking flanges",
                        5,
                        2,
                        &[
                            (
                                "Purge the line to flare with nitrogen before breaking",
                                Engineering,
                            ),
                            ("Gas test for H2S and LEL before and every 30 min", Administrative),
                            ("Personal H2S monitor on each worker", Ppe),
                        ],
                    ),
                    hazard(
                        "Pinch points setting the blinds",
                        3,
                        3,
                        &[
                            ("Flange spreader and blind handling tool", Engineering),
                            ("Impact gloves", Ppe),
                        ],
                    ),
                ],
            ),
            step(
                "Pressure up with the test pump to 1.25 times MOP",
                vec![
                    hazard(
                        "Line rupture at test pressure",
                        5,
                        1,
                        &[
                            (
                                "Barricade a 30 m test zone; only the pump operator inside",
                                Engineering,
                            ),
                            (
                                "Test to procedure TP-07: hold at half pressure, then full",
                                Administrative,
                            ),
                        ],
                    ),
                    hazard(
                        "High-pressure hose whip",
                        4,
                        2,
                        &[
                            ("Whip checks on every hose connection", Engineering),
                            (
                                "Hoses and fittings rated for the test pressure, inspected",
                                Administrative,
                            ),
                        ],
                    ),
                ],
            ),
            step(
                "Bleed down and remove the test equipment",
                vec![
                    hazard(
                        "Stored pressure in the line",
                        5,
                        2,
                        &[
                            ("Bleed through the test manifold to the tank", Engineering),
                            ("Verify zero on two gauges before breaking", Administrative),
                        ],
                    ),
                    hazard(
                        "Slips on an icy pad",
                        2,
                        3,
                        &[
                            ("Clear and sand the work area first", Elimination),
                            ("Ice cleats on boots", Ppe),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn daylighting() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Hydrovac daylight buried flowline at the tie-in",
        "4-12-051-08W5, flowline tie-in 40 m east of the wellhead",
        WELL_MUSTER,
        vec![
            step(
                "Confirm locates and set up the hydrovac",
                vec![
                    hazard(
                        "Striking a buried line",
                        5,
                        2,
                        &[
                            ("Hydrovac only within 1 m of the locate marks", Substitution),
                            ("Ground disturbance permit and locates on site", Administrative),
                        ],
                    ),
                    hazard(
                        "Hydrovac truck backing on the pad",
                        4,
                        2,
                        &[("Spotter for every backing move", Administrative)],
                    ),
                ],
            ),
            step(
                "Excavate to the pipe and expose the tie-in",
                vec![
                    hazard(
                        "Open excavation: falls into the hole",
                        4,
                        2,
                        &[
                            ("Barricade and cover the excavation", Engineering),
                            ("Nobody in the hole; inspect from the edge", Administrative),
                        ],
                    ),
                    hazard(
                        "High-pressure water wand",
                        3,
                        2,
                        &[
                            ("Dead-man trigger on the wand", Engineering),
                            ("Face shield and rain gear", Ppe),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn skid_lift(task: &str) -> Jsea {
    use ControlLevel::*;
    jsea(
        task,
        "4-12-051-08W5, separator pad north of the wellhead",
        WELL_MUSTER,
        vec![
            step(
                "Set up picker truck P-14 and its outriggers",
                vec![hazard(
                    "Outrigger sinking into soft ground",
                    4,
                    2,
                    &[
                        ("Crane mats under every outrigger pad", Engineering),
                        (
                            "Check ground conditions and the buried line locates",
                            Administrative,
                        ),
                    ],
                )],
            ),
            step(
                "Rig and lift the skid",
                vec![
                    hazard(
                        "Suspended load falling on workers",
                        5,
                        2,
                        &[
                            ("Certified rigging, inspected before the lift", Engineering),
                            ("Tag lines, one signaler, nobody under the load", Administrative),
                        ],
                    ),
                    hazard(
                        "Pinch points at the skid and rigging",
                        3,
                        3,
                        &[
                            ("Hands off the load; push with tag lines only", Administrative),
                            ("Impact gloves", Ppe),
                        ],
                    ),
                ],
            ),
            step(
                "Land the skid and unhook",
                vec![hazard(
                    "Working at heights on the skid to unhook",
                    4,
                    2,
                    &[
                        ("Unhook from the ground with a release hook", Elimination),
                        ("Ladder tied off if anyone must climb", Engineering),
                    ],
                )],
            ),
        ],
    )
}

fn power_line() -> Hazard {
    use ControlLevel::*;
    hazard(
        "Overhead power line along the east lease edge",
        5,
        2,
        &[
            (
                "Set the picker on the west side: the boom cannot reach the line",
                Elimination,
            ),
            ("Dedicated spotter and a 7 m limit of approach", Administrative),
        ],
    )
}

fn hot_work() -> Jsea {
    use ControlLevel::*;
    let mut burns = hazard(
        "Burns from slag and hot metal",
        3,
        2,
        &[("Welding jacket, gauntlets and face shield", Ppe)],
    );
    burns.ppe_only_justification =
        Some("Manual welding: the welder's hands and face cannot be kept away from the work".into());
    jsea(
        "Hot work: weld repair on the pipe rack support",
        "4-12-051-08W5, pipe rack between the wellhead and the separator",
        WELL_MUSTER,
        vec![
            step(
                "Prepare the area for hot work",
                vec![hazard(
                    "Fire from sparks near process piping",
                    5,
                    2,
                    &[
                        ("Hot work permit signed by the lead", Administrative),
                        ("Fire blankets over the flanges below", Engineering),
                    ],
                )],
            ),
            step(
                "Weld the cracked support",
                vec![
                    burns,
                    hazard(
                        "Welding fumes",
                        3,
                        3,
                        &[
                            ("Portable fume extractor at the arc", Engineering),
                            ("Work upwind of the plume", Administrative),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn tank_cleanout() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Vac out tank T-2 bottoms with the vac truck",
        "4-12-051-08W5, production tank T-2",
        WELL_MUSTER,
        vec![
            step(
                "Spot the vac truck and hook up",
                vec![
                    hazard(
                        "Vac truck backing toward the tank",
                        4,
                        2,
                        &[("Spotter for every backing move", Administrative)],
                    ),
                    hazard(
                        "Static ignition of tank vapours",
                        5,
                        1,
                        &[
                            ("Bond and ground the truck to the tank", Engineering),
                            (
                                "No phones or ignition sources in the tank enclosure",
                                Administrative,
                            ),
                        ],
                    ),
                ],
            ),
            step(
                "Open the thief hatch and vac the bottoms",
                vec![hazard(
                    "H2S from the thief hatch",
                    5,
                    3,
                    &[
                        ("Vac through the cleanout valve; hatch stays shut", Elimination),
                        ("Gas test at the hatch before opening", Administrative),
                        ("SCBA on the worker at the hatch", Ppe),
                    ],
                )],
            ),
        ],
    )
}

fn chemical_pump() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Swap the chemical injection pump on the wellhead",
        WELL_LOCATION,
        WELL_MUSTER,
        vec![
            step(
                "Isolate and bleed the injection line",
                vec![hazard(
                    "Stored pressure in the injection line",
                    4,
                    2,
                    &[
                        ("Close and tag the injection valve at the wellhead", Engineering),
                        ("Bleed to zero before loosening fittings", Administrative),
                    ],
                )],
            ),
            step(
                "Remove the old pump and set the new one",
                vec![
                    hazard(
                        "Methanol splash",
                        3,
                        2,
                        &[
                            ("Drain the pump head into a closed pail", Engineering),
                            ("Goggles and nitrile gloves", Ppe),
                        ],
                    ),
                    hazard(
                        "Back strain lifting the pump",
                        2,
                        3,
                        &[("Two-person lift, pump on a dolly", Administrative)],
                    ),
                ],
            ),
        ],
    )
}

fn compressor_valve() -> Jsea {
    use ControlLevel::*;
    let mut noise = hazard(
        "Noise from the running compressor next to it",
        3,
        4,
        &[("Double hearing protection in the building", Ppe)],
    );
    noise.ppe_only_justification =
        Some("Unit C-1 must keep running to hold sales pressure; its noise cannot be shut off".into());
    jsea(
        "Replace compressor valve, unit C-2",
        STATION_LOCATION,
        STATION_MUSTER,
        vec![
            step(
                "Lock out unit C-2 and blow it down",
                vec![
                    hazard(
                        "Unexpected start of the compressor",
                        5,
                        2,
                        &[
                            ("Lock out the driver and the starter at the MCC", Engineering),
                            ("Try-start after locking out", Administrative),
                        ],
                    ),
                    hazard(
                        "Sour gas released during blowdown",
                        5,
                        2,
                        &[
                            ("Blow down to the flare stack, not the building", Engineering),
                            ("Personal H2S monitor on each worker", Ppe),
                        ],
                    ),
                ],
            ),
            step(
                "Pull the valve cover and change the valve",
                vec![
                    hazard(
                        "Pinch points at the valve cover",
                        3,
                        3,
                        &[
                            ("Jack bolts to lift the cover evenly", Engineering),
                            ("Impact gloves", Ppe),
                        ],
                    ),
                    noise,
                ],
            ),
        ],
    )
}

fn oil_change() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Change oil and filters on compressor C-1",
        STATION_LOCATION,
        STATION_MUSTER,
        vec![
            step(
                "Shut down and lock out C-1",
                vec![hazard(
                    "Unexpected start of the compressor",
                    5,
                    2,
                    &[
                        ("Lock out the driver and the starter at the MCC", Engineering),
                        ("Try-start after locking out", Administrative),
                    ],
                )],
            ),
            step(
                "Drain the oil and change the filters",
                vec![
                    hazard(
                        "Burns from hot oil",
                        3,
                        3,
                        &[
                            ("Let the crankcase cool below 50 °C first", Administrative),
                            ("Drain through the hose to a closed drum", Engineering),
                        ],
                    ),
                    hazard(
                        "Oil spill on the floor",
                        2,
                        3,
                        &[
                            ("Closed drain line removes the open pan", Elimination),
                            ("Absorbent pads at the drain", Engineering),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn rod_packing() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Repack rod packing on compressor C-1",
        STATION_LOCATION,
        STATION_MUSTER,
        vec![step(
            "Lock out C-1, vent the distance piece and repack",
            vec![
                hazard(
                    "Unexpected start of the compressor",
                    5,
                    2,
                    &[
                        ("Lock out the driver and the starter at the MCC", Engineering),
                        ("Try-start after locking out", Administrative),
                    ],
                ),
                hazard(
                    "Gas trapped in the distance piece",
                    4,
                    2,
                    &[
                        ("Vent the distance piece to the flare header", Engineering),
                        ("Gas test before opening", Administrative),
                    ],
                ),
            ],
        )],
    )
}

fn cooler_belts() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Replace fan belts on the aerial cooler (working at heights)",
        "SE-22-048-11W5, aerial cooler platform",
        STATION_MUSTER,
        vec![
            step(
                "Lock out the cooler fan",
                vec![hazard(
                    "Fan blades turning in the wind or starting",
                    5,
                    1,
                    &[
                        ("Lock out the fan motor at the MCC", Engineering),
                        ("Pin the fan blades before reaching in", Administrative),
                    ],
                )],
            ),
            step(
                "Climb to the platform and change the belts",
                vec![
                    hazard(
                        "Fall from the cooler platform",
                        5,
                        2,
                        &[
                            ("Work from the guard-railed platform", Engineering),
                            ("Fall protection plan and rescue plan reviewed", Administrative),
                            ("Full-body harness tied off to the anchor point", Ppe),
                        ],
                    ),
                    hazard(
                        "Tools dropped on people below",
                        3,
                        2,
                        &[
                            ("Tool lanyards on every hand tool", Engineering),
                            ("Barricade below the platform", Administrative),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn confined_space() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Confined space entry: inspect scrubber vessel V-101",
        "SE-22-048-11W5, inlet scrubber V-101",
        STATION_MUSTER,
        vec![
            step(
                "Isolate, purge and ventilate V-101",
                vec![hazard(
                    "Toxic or oxygen-deficient atmosphere in the vessel",
                    5,
                    3,
                    &[
                        ("Blind all lines to the vessel", Engineering),
                        ("Forced-air ventilation throughout the entry", Engineering),
                        ("Continuous gas monitoring at the manway", Administrative),
                    ],
                )],
            ),
            step(
                "Enter and inspect the vessel",
                vec![hazard(
                    "Entrant cannot get out unaided",
                    5,
                    2,
                    &[
                        ("Entry permit; attendant at the manway", Administrative),
                        ("Harness and retrieval line on the entrant", Ppe),
                    ],
                )],
            ),
        ],
    )
}

fn pig_receiver() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Pull and clean the pig from the sales line receiver",
        "SE-22-048-11W5, sales line pig receiver",
        STATION_MUSTER,
        vec![
            step(
                "Isolate and bleed the receiver",
                vec![hazard(
                    "Pressure trapped behind the pig",
                    5,
                    2,
                    &[
                        ("Double block and bleed verified before opening", Engineering),
                        ("Zero on the receiver gauge and the bleed open", Administrative),
                    ],
                )],
            ),
            step(
                "Open the door, pull the pig, clean up",
                vec![
                    hazard(
                        "Iron sulfide igniting as it dries",
                        4,
                        2,
                        &[(
                            "Keep pig debris wet until it is in the closed bin",
                            Administrative,
                        )],
                    ),
                    hazard(
                        "H2S from the opened receiver",
                        5,
                        2,
                        &[
                            ("Purge the receiver with nitrogen before opening", Engineering),
                            ("Personal H2S monitor on each worker", Ppe),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn blowdown() -> Jsea {
    use ControlLevel::*;
    jsea(
        "Blow down and isolate compressor C-1 for a valve change",
        STATION_LOCATION,
        STATION_MUSTER,
        vec![step(
            "Shut down, lock out and blow down C-1",
            vec![
                hazard(
                    "Unexpected start of the compressor",
                    5,
                    2,
                    &[
                        ("Lock out the driver and the starter at the MCC", Engineering),
                        ("Try-start after locking out", Administrative),
                    ],
                ),
                hazard(
                    "Gas release at the blowdown valve",
                    5,
                    2,
                    &[
                        ("Blow down to the flare stack", Engineering),
                        ("Gas test around the unit before work", Administrative),
                    ],
                ),
            ],
        )],
    )
}

/// Every JSEA of the demo's days.
fn jsea_plans() -> Vec<JseaPlan> {
    use Outcome::*;
    use Site::*;
    let plan = |ago, site, job, hour, minute, body, outcome| JseaPlan {
        ago,
        site,
        job,
        by: lead(site),
        crew: crew(site, ago),
        hour,
        minute,
        filled_at: None,
        body,
        outcome,
    };
    vec![
        // Five days ago.
        plan(
            5,
            Well,
            "WO-2291",
            6,
            30,
            sample::jsea(),
            Approved("Good: H2S monitors on everyone and the bleed-down checked on two gauges."),
        ),
        plan(
            5,
            Station,
            "WO-2290",
            6,
            35,
            compressor_valve(),
            Approved("Approved. Keep C-1's noise in mind: double hearing protection."),
        ),
        // Four days ago: the wellsite's JSEA was filled in and signed at the shop in town.
        JseaPlan {
            filled_at: Some(SHOP),
            ..plan(
                4,
                Well,
                "WO-2294",
                5,
                35,
                daylighting(),
                Approved("OK, but fill it in on the lease next time, not at the shop."),
            )
        },
        plan(4, Station, "WO-2293", 6, 40, oil_change(), Approved("Approved.")),
        // Three days ago: at the station Wade started on the packing at 07:10 and filled the
        // JSEA half an hour later.
        plan(
            3,
            Well,
            "WO-2297",
            6,
            40,
            skid_lift("Lift out the old separator skid with picker P-14"),
            Approved("Approved. Mats under every outrigger, the pad is soft."),
        ),
        JseaPlan {
            by: Who::Wade,
            crew: &[Who::Hana],
            ..plan(
                3,
                Station,
                "WO-2296",
                7,
                5,
                rod_packing(),
                StartedFirst(Some(
                    "Approved after the fact. Call me before starting next time.",
                )),
            )
        },
        // Two days ago.
        plan(
            2,
            Well,
            "WO-2301",
            6,
            25,
            hot_work(),
            Rejected(
                "No fire watch is named and there is no gas test interval. Add both and resubmit before anyone strikes an arc.",
            ),
        ),
        plan(
            2,
            Station,
            "WO-2299",
            6,
            30,
            cooler_belts(),
            Approved("Approved."),
        ),
        // Yesterday: the afternoon pump swap started before its JSEA was done.
        plan(
            1,
            Well,
            "WO-2303",
            6,
            30,
            tank_cleanout(),
            Approved("Approved: vac through the cleanout, keep the hatch shut."),
        ),
        plan(1, Well, "WO-2305", 13, 5, chemical_pump(), StartedFirst(None)),
        plan(
            1,
            Station,
            "WO-2302",
            6,
            35,
            confined_space(),
            Rejected(
                "The attendant is also listed as an entrant and no rescue plan is named. Fix both and resubmit; no entry until then.",
            ),
        ),
        // The latest morning: four waiting for the supervisor.
        plan(0, Well, "WO-2308", 6, 15, flowline_test(), Waiting),
        plan(
            0,
            Well,
            "WO-2309",
            6,
            50,
            skid_lift("Set the new separator skid with picker P-14"),
            ChangedAfterSigning(Box::new(power_line())),
        ),
        plan(0, Station, "WO-2306", 6, 25, pig_receiver(), Waiting),
        plan(0, Station, "WO-2307", 7, 0, blowdown(), Waiting),
    ]
}

struct TalkPlan {
    ago: u64,
    site: Site,
    title: &'static str,
    topics: &'static [&'static str],
}

fn talk_plans() -> Vec<TalkPlan> {
    const WELL: [(&str, &[&str]); 6] = [
        (
            "H2S and the muster point",
            &[
                "Wind direction and the upwind muster point at the lease gate",
                "Bump test every H2S monitor before work",
                "Buddy system in the tank enclosure",
            ],
        ),
        (
            "Ground disturbance at the tie-in",
            &[
                "Locates are on site; hydrovac only within 1 m of the marks",
                "Spotter for every truck backing on the pad",
            ],
        ),
        (
            "Lifting with picker P-14",
            &[
                "Exclusion zone under the load",
                "Tag lines and one signaler",
                "Soft ground: mats under every outrigger",
            ],
        ),
        (
            "Hot work and fire watch",
            &[
                "Hot work permit before any arc",
                "Fire watch stays 30 min after the last weld",
                "Last week's near miss: load over the walkway",
            ],
        ),
        (
            "Vac truck on location",
            &[
                "Bond and ground before vacuuming",
                "Thief hatch stays shut",
                "Gas test at the tank enclosure",
            ],
        ),
        (
            "Pressure testing and overhead lines",
            &[
                "Test zone barricade: only the pump operator inside",
                "Overhead power line along the east lease edge",
                "Icy pad: sand before work",
            ],
        ),
    ];
    const STATION_TALKS: [(&str, &[&str]); 6] = [
        (
            "Lockout on the compressors",
            &[
                "Lock out the driver and the starter; try-start every time",
                "One lock per person on the lockout board",
            ],
        ),
        (
            "Hot oil and spills",
            &[
                "Let the crankcase cool before draining",
                "Spill kit location at the building door",
            ],
        ),
        (
            "Noise in the compressor building",
            &[
                "Double hearing protection while a unit runs",
                "Radio check outside the building",
            ],
        ),
        (
            "Working at heights on the cooler",
            &[
                "Tie off on the platform anchor, not the handrail",
                "Rescue plan: who brings the rescue kit",
                "Barricade below the platform",
            ],
        ),
        (
            "Confined space: scrubber V-101",
            &[
                "No entry without a permit and a named attendant",
                "Continuous gas monitoring at the manway",
            ],
        ),
        (
            "Pig receiver and loader L-3",
            &[
                "Trapped pressure behind the pig: double block and bleed",
                "Keep pig debris wet",
                "Loader L-3 crept on the slope yesterday: chock it",
            ],
        ),
    ];
    let mut plans = Vec::new();
    for ago in (0..DAYS).rev() {
        let index = (DAYS - 1 - ago) as usize;
        for (site, (title, topics)) in [(Site::Well, WELL[index]), (Site::Station, STATION_TALKS[index])] {
            plans.push(TalkPlan {
                ago,
                site,
                title,
                topics,
            });
        }
    }
    plans
}

/// A unit the crews check before use, its serial, hours five days ago and the checklist items
/// beyond the standard ones.
struct Unit {
    unit_id: &'static str,
    make_model: &'static str,
    serial: &'static str,
    hours: f64,
    site: Site,
    extra: &'static [(&'static str, bool)],
}

const PICKER: Unit = Unit {
    unit_id: "P-14",
    make_model: "Picker truck, Manitex 30112S on a Kenworth T880",
    serial: "1NKZX4TX8KJ251144",
    hours: 6120.5,
    site: Site::Well,
    extra: &[
        ("Outriggers, pads and crane mats", true),
        ("Boom, hoist cable and hook latch", true),
        ("Load moment indicator", true),
        ("Load chart in the cab", false),
    ],
};

const LOADER: Unit = Unit {
    unit_id: "L-3",
    make_model: "Loader, CAT 950M",
    serial: "CAT0950MCKTS01734",
    hours: 11_842.0,
    site: Site::Station,
    extra: &[
        ("Bucket, pins and quick coupler", true),
        ("Backup alarm", true),
        ("Seat belt", true),
        ("Hydraulic hoses, no leaks", false),
    ],
};

const PICKUP: Unit = Unit {
    unit_id: "PU-22",
    make_model: "Pickup, Ford F-350",
    serial: "1FT8W3BT5NEC22871",
    hours: 3_310.0,
    site: Site::Well,
    extra: &[("Spare tire and jack", false)],
};

// -- making the days -----------------------------------------------------------------------------

/// The phones make every record, phase by phase, syncing after each.
async fn fill(
    base_url: &str,
    dir: &Path,
    sites: &SiteIds,
    schedules: &program::Schedules,
    calendar: Calendar,
    seed: u64,
) -> Result<()> {
    // A store from an earlier demo company would push records the server knows nothing of.
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| invalid(format!("cannot clear {}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| invalid(format!("cannot create {}: {e}", dir.display())))?;
    let mut phones = Vec::new();
    for who in Who::ALL {
        phones.push(Phone::sign_in(dir, base_url, who, calendar).await?);
    }
    let mut phones = Phones(phones);

    // The months before: orientations, competencies, tickets.
    program::orientations(&mut phones, sites)?;
    program::competencies(&mut phones, sites)?;
    program::certificates(&mut phones, sites)?;
    program::inspections(&mut phones, sites, schedules)?;
    phones.sync(&Who::ALL).await?;
    year::fill(&mut phones, sites, seed).await?;

    // The crew leads start their JSEAs and tailgate meetings and sign them; pre-starts and near
    // misses are done on the spot.
    let mut jseas = Vec::new();
    for plan in jsea_plans() {
        let phone = phones.of(plan.by);
        let start = plan.start();
        let id = phone.create(
            sites.id(plan.site),
            Some(plan.job),
            Body::Jsea(plan.body.clone()),
            start,
        )?;
        if let Outcome::StartedFirst(_) = plan.outcome {
            phone.start_work(&id, start.plus(5).to(plan.site.spot()))?;
        }
        phone.sign(&id, start.plus(plan.signed_after()))?;
        jseas.push((plan, id));
    }
    let mut talks = Vec::new();
    for plan in talk_plans() {
        let phone = phones.of(lead(plan.site));
        let start = at(plan.ago, 6, 0, plan.site.spot());
        let meeting = TailgateMeeting::new(plan.title, plan.topics.iter().map(|t| t.to_string()).collect());
        let id = phone.create(sites.id(plan.site), None, Body::TailgateMeeting(meeting), start)?;
        phone.sign(&id, start.plus(1))?;
        talks.push((plan, id));
    }
    pre_starts(&mut phones, sites)?;
    let ladder_near_miss = near_misses(&mut phones, sites, calendar)?;
    phones.sync(&Who::CREW).await?;

    // The crew sign on from their own phones.
    phones.sync(&[Who::Wade, Who::Hana]).await?;
    for (plan, id) in &jseas {
        let first = plan.start().to(plan.site.spot()).plus(plan.signed_after() + 2);
        for (n, &who) in plan.crew.iter().enumerate() {
            phones.of(who).sign(id, first.plus(2 * n as u32))?;
        }
    }
    for (plan, id) in &talks {
        let first = at(plan.ago, 6, 3, plan.site.spot());
        for (n, &who) in crew(plan.site, plan.ago).iter().enumerate() {
            phones.of(who).sign(id, first.plus(n as u32))?;
        }
    }
    phones.sync(&[Who::Wade, Who::Hana]).await?;

    // The leads complete them. One JSEA changes after the crew signed: the lead adds a hazard
    // and signs again, and the others' signatures no longer vouch for it.
    phones.sync(&Who::LEADS).await?;
    for (plan, id) in &jseas {
        let phone = phones.of(plan.by);
        let start = plan.start();
        let done = match &plan.outcome {
            Outcome::StartedFirst(_) => start.plus(35),
            Outcome::ChangedAfterSigning(added) => {
                let added = (**added).clone();
                phone.store.edit(id, |r| {
                    let Body::Jsea(j) = &mut r.body else {
                        return Err(invalid("not a JSEA"));
                    };
                    j.steps[0].hazards.push(added);
                    Ok(())
                })?;
                phone.sign(id, start.plus(COMPLETED + 1))?;
                start.plus(COMPLETED + 3)
            }
            _ => start.plus(COMPLETED),
        };
        phone.complete(id, done)?;
    }
    for (plan, id) in &talks {
        phones
            .of(lead(plan.site))
            .complete(id, at(plan.ago, 6, 14, plan.site.spot()))?;
    }
    phones.sync(&Who::LEADS).await?;

    // The supervisor decides from his phone, at the site or from the shop.
    let sam = phones.of(Who::Sam);
    sam.sync().await?;
    for (plan, id) in &jseas {
        let from = match plan.filled_at {
            Some(spot) => spot,
            None if plan.ago % 2 == 0 => plan.site.spot(),
            None => SHOP,
        };
        let when = plan.start().to(from);
        match plan.outcome {
            Outcome::Approved(comment) => {
                sam.decide(id, ApprovalDecision::Approved, comment, when.plus(DECIDED))?
            }
            Outcome::Rejected(comment) => {
                sam.decide(id, ApprovalDecision::Rejected, comment, when.plus(DECIDED))?
            }
            Outcome::StartedFirst(Some(comment)) => {
                sam.decide(id, ApprovalDecision::Approved, comment, when.plus(100))?;
            }
            _ => {}
        }
    }
    sam.sync().await?;

    // Work starts once approved; each JSEA worked is closed at the end of the day.
    phones.sync(&Who::LEADS).await?;
    for (plan, id) in &jseas {
        let phone = phones.of(plan.by);
        let site = plan.site.spot();
        let closed = at(plan.ago, 16, 10 + 7 * plan.ago as u32, site);
        match plan.outcome {
            Outcome::Approved(_) => {
                // From the shop, the drive to the site comes first.
                let drive = if plan.filled_at.is_some() { 25 } else { 0 };
                phone.start_work(id, plan.start().to(site).plus(WORK_STARTS + drive))?;
                phone.close(id, closed)?;
            }
            Outcome::StartedFirst(_) => phone.close(id, closed.plus(20))?,
            _ => {}
        }
    }

    phones.sync(&Who::ALL).await?;
    program::corrective_actions(&mut phones, sites, &ladder_near_miss).await?;

    // The phones reach signal at the end of the day; everyone ends up with everything, and
    // nothing is left unsent.
    phones.sync(&Who::ALL).await?;
    for phone in &phones.0 {
        let pending = phone.store.pending()?;
        if let Some(first) = pending.first() {
            return Err(invalid(format!(
                "{}'s phone still holds {} unsent record(s), first {} ({})",
                phone.who.short(),
                pending.len(),
                first.record_id,
                first.title
            )));
        }
        if let Some(refused) = phone.store.rejections()?.first() {
            return Err(invalid(format!(
                "the server refused record {} from {}'s phone: {}",
                refused.record_id,
                phone.who.short(),
                refused.reason
            )));
        }
    }
    Ok(())
}

/// Every morning's pre-starts: picker P-14 at the wellsite, loader L-3 at the station. The
/// latest morning the loader's brakes fail: out of service. Two days ago Wade's pickup has a
/// marker light out, which does not stop it.
fn pre_starts(phones: &mut Phones, sites: &SiteIds) -> Result<()> {
    let mut checks = Vec::new();
    for ago in (0..DAYS).rev() {
        let failed = (ago == 0).then_some((
            "Brakes",
            "Service brake pedal soft, stops long. Tagged out at the key; mechanic called.",
        ));
        checks.push((ago, &PICKER, Who::Lee, 6, 20, None));
        // Omar's day off three days ago: Hana, not yet verified on the loader, checks it.
        let loader_operator = if ago == 3 { Who::Hana } else { Who::Omar };
        checks.push((ago, &LOADER, loader_operator, 6, 15, failed));
    }
    checks.push((
        2,
        &PICKUP,
        Who::Wade,
        6,
        35,
        Some(("Lights and signals", "Left rear marker light out; bulb ordered.")),
    ));
    for (ago, unit, who, hour, minute, failed) in checks {
        let phone = phones.of(who);
        let mut check = sample::prestart(&phone.user_id);
        check.unit = EquipmentUnit {
            unit_id: unit.unit_id.into(),
            make_model: unit.make_model.into(),
            serial: Some(unit.serial.into()),
            hour_meter: Some(unit.hours + 7.5 * (DAYS - ago) as f64),
        };
        check.items.extend(
            unit.extra
                .iter()
                .map(|&(label, critical)| ChecklistItem::new(label, critical)),
        );
        for item in &mut check.items {
            item.result = Some(ItemResult::Pass);
            if let Some((label, note)) = failed
                && item.label == label
            {
                item.result = Some(ItemResult::Fail);
                item.defect_note = Some(note.into());
            }
        }
        let start = at(ago, hour, minute, unit.site.spot());
        let id = phone.create(sites.id(unit.site), None, Body::PreStart(check), start)?;
        phone.sign(&id, start.plus(6))?;
        phone.complete(&id, start.plus(7))?;
    }
    Ok(())
}

/// Near misses: the picker's load over the walkway, a gauge fitting letting go, a water hauler
/// on the lease road (filed from the road, off site), the skipped gas test (anonymous), a ladder
/// slipping (reported two days late) and the loader creeping on the slope.
/// Returns the ladder report's id (a corrective action follows it up).
fn near_misses(phones: &mut Phones, sites: &SiteIds, calendar: Calendar) -> Result<String> {
    struct Report {
        ago: u64,
        site: Site,
        by: Who,
        /// When it happened: days before the latest day, hour, minute.
        happened: (u64, u32, u32),
        reported: (u32, u32),
        spot: Spot,
        /// What happened, when not the sample's load over the walkway.
        what: Option<&'static str>,
        location: &'static str,
        severity: Severity,
        actions: Option<&'static str>,
        anonymous: bool,
    }
    let reports = [
        Report {
            ago: 3,
            site: Site::Well,
            by: Who::Lee,
            happened: (3, 10, 41),
            reported: (10, 52),
            spot: WELL_PAD,
            what: None,
            location: "Pad walkway beside the picker",
            severity: Severity::High,
            actions: None,
            anonymous: false,
        },
        Report {
            ago: 3,
            site: Site::Station,
            by: Who::Omar,
            happened: (3, 9, 15),
            reported: (9, 31),
            spot: STATION_YARD,
            what: Some(
                "Gauge fitting on the discharge bottle let go during bleed-down; nobody was in line with it",
            ),
            location: "Compressor C-2 discharge bottle",
            severity: Severity::Medium,
            actions: Some(
                "Replaced the fitting with a rated one; bleed-downs done from the side from now on",
            ),
            anonymous: false,
        },
        Report {
            ago: 2,
            site: Site::Well,
            by: Who::Wade,
            happened: (2, 5, 51),
            reported: (5, 58),
            spot: LEASE_ROAD,
            what: Some(
                "Water hauler came around the blind corner on the lease road in our lane; both trucks stopped in time",
            ),
            location: "Lease road, blind corner 1.6 km south of the 4-12 gate",
            severity: Severity::High,
            actions: Some("Called the water hauling dispatcher; asked for a radio call-out at the corner"),
            anonymous: false,
        },
        Report {
            ago: 1,
            site: Site::Well,
            by: Who::Lee,
            happened: (1, 13, 50),
            reported: (14, 5),
            spot: WELL_PAD,
            what: Some("Crew skipped the gas test before entering the tank enclosure"),
            location: "Tank enclosure, east hatch",
            severity: Severity::High,
            actions: None,
            anonymous: true,
        },
        Report {
            ago: 1,
            site: Site::Station,
            by: Who::Hana,
            happened: (3, 14, 20),
            reported: (15, 40),
            spot: STATION_YARD,
            what: Some(
                "Extension ladder slid sideways on the cooler platform grating while I was on it; it was not tied off",
            ),
            location: "Aerial cooler platform",
            severity: Severity::Medium,
            actions: Some("Ladder tied off at the top and footed from now on"),
            anonymous: false,
        },
        Report {
            ago: 1,
            site: Site::Station,
            by: Who::Omar,
            happened: (1, 15, 5),
            reported: (15, 12),
            spot: STATION_YARD,
            what: Some(
                "Loader L-3 crept forward on the slope by the pipe yard with the service brake applied",
            ),
            location: "Pipe yard slope, east of the compressor building",
            severity: Severity::Medium,
            actions: Some("Bucket down, park brake set, wheels chocked; loader to be checked in the morning"),
            anonymous: false,
        },
    ];
    let mut ladder = None;
    for report in reports {
        let (days, hour, minute) = report.happened;
        let mut near_miss = sample::near_miss(calendar.ms(days, hour * 60 + minute)?);
        if let Some(what) = report.what {
            near_miss.what_happened = what.into();
        }
        near_miss.potential_severity = report.severity;
        near_miss.immediate_actions = report.actions.map(Into::into).or(near_miss.immediate_actions);
        near_miss.location_description = Some(report.location.into());
        let phone = phones.of(report.by);
        let filed = at(report.ago, report.reported.0, report.reported.1, report.spot);
        let id = if report.anonymous {
            near_miss.immediate_actions = None;
            let stamp = phone.stamp(filed)?;
            phone
                .store
                .create_anonymous_near_miss(sites.id(report.site), None, near_miss, stamp)?
        } else {
            near_miss.reporter_id = Some(phone.user_id.clone());
            if days == report.ago {
                // Filed where it happened: the fix says where.
                near_miss.location_fix = phone.stamp(filed)?.fix;
            }
            phone.create(sites.id(report.site), None, Body::NearMiss(near_miss), filed)?
        };
        phone.complete(&id, filed.plus(1))?;
        if report.what.is_some_and(|w| w.starts_with("Extension ladder")) {
            ladder = Some(id);
        }
    }
    ladder.ok_or_else(|| invalid("the ladder near miss was not filed"))
}
