//! The demo company: created once with `--demo`, filled with a realistic day of records made on
//! simulated phones and synced through the real protocol, so everything the office sees took the
//! same path a crew's records take.

use std::path::Path;
use sync_core::model::{ApprovalDecision, Body, ItemResult};
use sync_core::place::Geofence;
use sync_core::protocol::Role;
use sync_core::sync::{RetryPolicy, SyncClient};
use sync_core::{GpsFix, Stamp, Store, sample};

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

fn print_logins(base_url: &str) {
    println!("\nMuster demo company \"{COMPANY}\" is ready at {base_url}");
    println!("Sign in (POST {base_url}/v1/auth/login) with password {PASSWORD:?} as:");
    println!("  {ADMIN:<26} office admin: users, devices, every record");
    println!("  {SUPERVISOR:<26} supervisor of both sites: approves JSEAs");
    println!("  {LEAD:<26} crew lead at 4-12 Wellsite");
    println!("  {WORKER:<26} worker at both sites");
    println!("API description: {base_url}/openapi.json\n");
}

/// Creates the demo company unless it exists, then prints how to sign in.
pub async fn ensure(state: &AppState, base_url: &str, data_dir: &Path) -> Result<(), String> {
    let store = state.store.clone();
    let exists = tokio::task::spawn_blocking(move || store.company_by_name(COMPANY))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if exists.is_none() {
        create(state, base_url, data_dir).await?;
    }
    print_logins(base_url);
    Ok(())
}

async fn create(state: &AppState, base_url: &str, data_dir: &Path) -> Result<(), String> {
    let store = state.store.clone();
    let hash = tokio::task::spawn_blocking(|| hash_password(PASSWORD))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.message)?;
    let (well, station) = tokio::task::spawn_blocking(move || {
        let company = store.create_company(COMPANY)?;
        let well = store.create_site(&company.id, "4-12 Wellsite", SYSTEM)?;
        let station = store.create_site(&company.id, "Brazeau Compressor Station", SYSTEM)?;
        let pad = Geofence::Circle {
            lat: 53.4521,
            lon: -115.0123,
            radius_m: 250.0,
        };
        store.set_site_area(&company.id, &well.id, Some(&pad), 50.0, SYSTEM)?;
        let yard = Geofence::Circle {
            lat: 53.1107,
            lon: -115.4408,
            radius_m: 300.0,
        };
        store.set_site_area(&company.id, &station.id, Some(&yard), 50.0, SYSTEM)?;
        let both = vec![well.id.clone(), station.id.clone()];
        for (email, name, role, sites) in [
            (ADMIN, "Olivia Office", Role::Admin, vec![]),
            (SUPERVISOR, "Sam Supervisor", Role::Supervisor, both.clone()),
            (LEAD, "Lee Lead", Role::Worker, vec![well.id.clone()]),
            (WORKER, "Wade Worker", Role::Worker, both.clone()),
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
        Ok::<_, crate::store::StoreError>((well.id, station.id))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    fill_day(base_url, &data_dir.join("demo-phones"), &well, &station)
        .await
        .map_err(|e| format!("demo records: {e}"))
}

/// Today's local time (Alberta, UTC−7) as Unix ms.
fn at(hour: i64, minute: i64) -> i64 {
    let now = sync_core::store::now_ms();
    let day = (now - 7 * 3_600_000).div_euclid(86_400_000) * 86_400_000;
    day + 7 * 3_600_000 + (hour * 60 + minute) * 60_000
}

fn stamp(hour: i64, minute: i64, lat: f64, lon: f64) -> Stamp {
    let wall = at(hour, minute);
    Stamp::new(wall, wall - at(5, 0) + 3_600_000, "demo-boot").with_fix(GpsFix {
        lat,
        lon,
        accuracy_m: 6.0,
        fix_time_ms: wall,
        provider: "gps".into(),
        mock: false,
    })
}

async fn phone(client: &SyncClient, dir: &Path, base_url: &str, email: &str) -> sync_core::Result<Store> {
    let mut store = Store::open(dir.join(format!("{}.db", email.split('@').next().unwrap_or("phone"))))?;
    client
        .login(&mut store, base_url, email, PASSWORD, "demo phone")
        .await?;
    Ok(store)
}

async fn fill_day(base_url: &str, dir: &Path, well: &str, station: &str) -> sync_core::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| sync_core::Error::Invalid(e.to_string()))?;
    let client = SyncClient::new(RetryPolicy::default())?;
    let quiet = |_| {};
    let mut lead = phone(&client, dir, base_url, LEAD).await?;
    let mut worker = phone(&client, dir, base_url, WORKER).await?;
    let mut supervisor = phone(&client, dir, base_url, SUPERVISOR).await?;
    let (wlat, wlon) = (53.4521, -115.0123);
    let (slat, slon) = (53.1107, -115.4408);

    // 06:30 at the wellsite: the lead starts the JSEA, the worker signs on from his phone,
    // the supervisor approves before work starts at 07:05. Done right.
    let good = lead.create(
        well,
        Some("WO-2291"),
        Body::Jsea(sample::jsea()),
        stamp(6, 30, wlat, wlon),
    )?;
    lead.sign(&good, stamp(6, 41, wlat, wlon))?;
    client.sync(&mut lead, &quiet).await?;
    client.sync(&mut worker, &quiet).await?;
    worker.sign(&good, stamp(6, 44, wlat, wlon))?;
    client.sync(&mut worker, &quiet).await?;
    client.sync(&mut lead, &quiet).await?;
    lead.sign(&good, stamp(6, 47, wlat, wlon))?;
    lead.complete(&good, stamp(6, 50, wlat, wlon))?;
    client.sync(&mut lead, &quiet).await?;
    client.sync(&mut supervisor, &quiet).await?;
    supervisor.decide(
        &good,
        ApprovalDecision::Approved,
        Some("Good: H2S monitors on everyone".into()),
        stamp(6, 58, wlat, wlon),
    )?;
    client.sync(&mut supervisor, &quiet).await?;
    client.sync(&mut lead, &quiet).await?;
    lead.start_work(&good, stamp(7, 5, wlat, wlon))?;

    // 07:00 pre-start on the picker truck: all good.
    let truck = lead.create(
        well,
        None,
        Body::PreStart(sample::prestart(
            &lead.profile().map(|p| p.user_id.clone()).unwrap_or_default(),
        )),
        stamp(7, 0, wlat, wlon),
    )?;
    lead.edit(&truck, |r| {
        if let Body::PreStart(p) = &mut r.body {
            for item in &mut p.items {
                item.result = Some(ItemResult::Pass);
            }
        }
        Ok(())
    })?;
    lead.sign(&truck, stamp(7, 2, wlat, wlon))?;
    lead.complete(&truck, stamp(7, 2, wlat, wlon))?;

    // At the compressor station the worker started work at 07:10 and filled the JSEA at 07:40.
    let late = worker.create(
        station,
        Some("WO-2295"),
        Body::Jsea(sample::jsea()),
        stamp(7, 38, slat, slon),
    )?;
    worker.edit(&late, |r| {
        if let Body::Jsea(j) = &mut r.body {
            j.task = "Compressor valve inspection, unit C-2".into();
            j.muster_point = "Station gate, north side".into();
        }
        Ok(())
    })?;
    worker.start_work(&late, stamp(7, 10, slat, slon))?;
    worker.sign(&late, stamp(7, 39, slat, slon))?;
    worker.complete(&late, stamp(7, 40, slat, slon))?;

    // 07:15 a pre-start at the station finds bad brakes: the unit is out of service.
    let worker_id = worker.profile().map(|p| p.user_id.clone()).unwrap_or_default();
    let loader = worker.create(
        station,
        None,
        Body::PreStart(sample::prestart(&worker_id)),
        stamp(7, 15, slat, slon),
    )?;
    worker.edit(&loader, |r| {
        if let Body::PreStart(p) = &mut r.body {
            p.unit.unit_id = "LD-03".into();
            p.unit.make_model = "CAT 950 loader".into();
            for item in &mut p.items {
                item.result = Some(ItemResult::Pass);
            }
            p.items[0].result = Some(ItemResult::Fail);
            p.items[0].defect_note = Some("Service brake pedal soft, stops long".into());
        }
        Ok(())
    })?;
    worker.sign(&loader, stamp(7, 18, slat, slon))?;
    worker.complete(&loader, stamp(7, 18, slat, slon))?;

    // 11:40 a near-miss at the wellsite.
    let mut near_miss = sample::near_miss(at(11, 32));
    near_miss.reporter_id = Some(worker_id);
    near_miss.location_description = Some("Pad walkway beside the picker".into());
    let nm = worker.create(well, None, Body::NearMiss(near_miss), stamp(11, 40, wlat, wlon))?;
    worker.complete(&nm, stamp(11, 41, wlat, wlon))?;

    // 14:05 the lead files one anonymously: the office sees what happened, not who said so.
    let mut unnamed = sample::near_miss(at(13, 50));
    unnamed.what_happened = "Crew skipped the gas test before entering the tank enclosure".into();
    unnamed.location_description = Some("Tank enclosure, east hatch".into());
    let anonymous = lead.create_anonymous_near_miss(well, None, unnamed, stamp(14, 5, wlat, wlon))?;
    lead.complete(&anonymous, stamp(14, 6, wlat, wlon))?;

    // 17:30 the phones reach signal.
    for store in [&mut lead, &mut worker, &mut supervisor] {
        client.sync(store, &quiet).await?;
    }
    Ok(())
}
