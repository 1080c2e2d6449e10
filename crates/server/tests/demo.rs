//! `--demo`: the demo company is made through the real protocol, once, and gives every office
//! page something to show: JSEAs waiting for approval on both sites, decisions both ways, the
//! flags (completed after work started, a stale signature, a unit out of service, off site, a
//! late report), every record kind, an anonymous near miss and several days of records.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::TimeZone;
use server::store::sqlite::SqliteStore;
use server::store::{RecordStore, Scope};
use server::{AppState, demo, launch_with_listener};
use sync_core::flags::codes;
use sync_core::model::{ApprovalDecision, Body};
use sync_core::protocol::Role;
use sync_core::{Kind, ListFilter, Projection};

fn all(store: &dyn RecordStore, scope: &Scope, filter: ListFilter) -> Vec<Projection> {
    store
        .list_records(
            scope,
            &ListFilter {
                limit: Some(1000),
                ..filter
            },
        )
        .expect("records list")
}

fn kind(kind: Kind) -> ListFilter {
    ListFilter {
        kind: Some(kind.as_str().to_owned()),
        ..ListFilter::default()
    }
}

fn flagged(code: &str) -> ListFilter {
    ListFilter {
        flag: Some(code.to_owned()),
        ..ListFilter::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_company_fills_every_office_page_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn RecordStore> =
        Arc::new(SqliteStore::open(&dir.path().join("records.db")).expect("store opens"));
    let state = AppState::new(store.clone(), b"demo test signing secret, 32 bytes!");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(launch_with_listener(state.clone(), listener, async {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    demo::ensure(&state, &url, dir.path())
        .await
        .expect("demo company made");
    println!("demo company made in {:.1} s", started.elapsed().as_secs_f64());

    let company = store
        .company_by_name(demo::COMPANY)
        .expect("company read")
        .expect("demo company exists");
    let admin = store
        .user_by_email(demo::ADMIN)
        .expect("user read")
        .expect("office admin exists");
    let scope = Scope {
        tenant_id: company.id.clone(),
        user_id: admin.id,
        role: Role::Admin,
        sites: Vec::new(),
    };
    let sites = store.sites(&company.id).expect("sites");
    assert_eq!(sites.len(), 2);
    let records = all(&*store, &scope, ListFilter::default());

    // Made once: a second start changes nothing.
    demo::ensure(&state, &url, dir.path())
        .await
        .expect("demo ensured again");
    assert_eq!(all(&*store, &scope, ListFilter::default()).len(), records.len());

    // Every kind, at both sites, over at least five days in Alberta.
    for k in Kind::ALL {
        assert!(
            !all(&*store, &scope, kind(*k)).is_empty(),
            "the demo has no {}",
            k.as_str()
        );
    }
    let site_ids: BTreeSet<&str> = records.iter().map(|r| r.site_id.as_str()).collect();
    assert_eq!(site_ids.len(), 2, "records at both sites");
    let days: BTreeSet<chrono::NaiveDate> = records
        .iter()
        .map(|r| {
            chrono_tz::America::Edmonton
                .timestamp_millis_opt(r.created_at_ms)
                .single()
                .expect("a valid time")
                .date_naive()
        })
        .collect();
    assert!(days.len() >= 5, "records on {} days: {days:?}", days.len());
    let now = sync_core::store::now_ms();
    assert!(
        records.iter().all(|r| r.created_at_ms <= now),
        "no record is stamped in the future"
    );

    // At least three JSEAs completed and waiting for a supervisor, on both sites.
    let waiting = all(
        &*store,
        &scope,
        ListFilter {
            status: Some("completed".into()),
            ..kind(Kind::Jsea)
        },
    );
    assert!(waiting.len() >= 3, "{} JSEAs wait for approval", waiting.len());
    let waiting_sites: BTreeSet<&str> = waiting.iter().map(|r| r.site_id.as_str()).collect();
    assert_eq!(waiting_sites.len(), 2, "JSEAs wait for approval at both sites");

    // Decisions both ways, made on the supervisor's phone.
    let supervisor = store
        .user_by_email(demo::SUPERVISOR)
        .expect("user read")
        .expect("supervisor exists");
    let mut decisions = BTreeSet::new();
    let mut levels = BTreeSet::new();
    let mut stale = 0;
    for row in all(&*store, &scope, kind(Kind::Jsea)) {
        let detail =
            server::routes::detail_of(&*store, &company.id, &row.id, server::store::sqlite::now_ms())
                .expect("detail read")
                .expect("record exists");
        let Body::Jsea(jsea) = &detail.record.body else {
            panic!("{} is not a JSEA", row.id);
        };
        if let Some(approval) = &jsea.approval {
            assert_eq!(approval.by_user_id, supervisor.id);
            decisions.insert(approval.decision);
        }
        for hazard in jsea.active_hazards() {
            assert!(hazard.risk.is_valid());
            levels.extend(hazard.active_controls().map(|c| c.level));
        }
        if !jsea.stale_signatures().is_empty() {
            stale += 1;
            assert!(
                detail.flags.iter().any(|f| f.code == codes::STALE_SIGNATURE),
                "a stale signature is flagged"
            );
        }
    }
    assert!(decisions.contains(&ApprovalDecision::Approved));
    assert!(decisions.contains(&ApprovalDecision::Rejected));
    assert!(
        levels.len() >= 4,
        "controls at {} levels of the hierarchy",
        levels.len()
    );
    assert!(stale >= 1, "a JSEA whose signature went stale");
    assert!(
        waiting
            .iter()
            .any(|r| r.flags.iter().any(|f| f == codes::STALE_SIGNATURE))
    );

    // The flags the office pages filter on.
    for code in [
        codes::COMPLETED_AFTER_WORK_STARTED,
        codes::STALE_SIGNATURE,
        codes::OUT_OF_SERVICE,
        codes::OFF_SITE,
        codes::LATE_NEAR_MISS,
    ] {
        assert!(
            !all(&*store, &scope, flagged(code)).is_empty(),
            "nothing is flagged {code}"
        );
    }
    let out_of_service = all(&*store, &scope, flagged(codes::OUT_OF_SERVICE));
    assert!(out_of_service.iter().all(|r| r.kind == "pre_start"));

    // An anonymous near miss names no one anywhere in its detail.
    let anonymous: Vec<_> = all(&*store, &scope, kind(Kind::NearMiss))
        .into_iter()
        .filter(|r| r.created_by == sync_core::model::ANONYMOUS)
        .collect();
    assert!(!anonymous.is_empty(), "an anonymous near miss");
    for row in &anonymous {
        let detail =
            server::routes::detail_of(&*store, &company.id, &row.id, server::store::sqlite::now_ms())
                .expect("detail read")
                .expect("record exists");
        let Body::NearMiss(report) = &detail.record.body else {
            panic!("{} is not a near miss", row.id);
        };
        assert!(report.reporter_id.is_none());
    }

    // A tailgate meeting held with several attendees' signatures.
    let meetings = all(&*store, &scope, kind(Kind::TailgateMeeting));
    let signed_by_several = meetings.iter().any(|row| {
        let detail =
            server::routes::detail_of(&*store, &company.id, &row.id, server::store::sqlite::now_ms())
                .expect("detail read")
                .expect("record exists");
        matches!(&detail.record.body, Body::TailgateMeeting(m) if m.signatures.len() >= 2)
    });
    assert!(
        signed_by_several,
        "a tailgate meeting signed by several attendees"
    );

    // The program behind the forms. Records still queued are judged first, as the pages would.
    while server::judge::drain_once(&*store, server::store::sqlite::now_ms()).expect("judge") > 0 {}
    let actions = all(&*store, &scope, kind(Kind::CorrectiveAction));
    let statuses: BTreeSet<&str> = actions.iter().map(|r| r.status.as_str()).collect();
    for status in ["open", "resolved", "closed"] {
        assert!(statuses.contains(status), "an action {status}: {statuses:?}");
    }
    assert!(
        actions.iter().any(|r| r.created_by == "system"),
        "an action the server raised for a failure"
    );
    let overdue = all(
        &*store,
        &scope,
        flagged(sync_core::kinds::corrective_action::codes::OVERDUE),
    );
    assert!(!overdue.is_empty(), "an overdue action");
    let loader = store
        .equipment_unit(&company.id, "L-3")
        .expect("register read")
        .expect("the loader is registered");
    assert_eq!(loader.equipment_type, "Loader");
    let not_competent = all(&*store, &scope, flagged(codes::OPERATOR_NOT_COMPETENT));
    assert_eq!(not_competent.len(), 1, "Hana's loader check, and only hers");
    for code in [
        sync_core::kinds::certificate::codes::EXPIRING,
        sync_core::kinds::certificate::codes::EXPIRED,
    ] {
        assert!(
            !all(&*store, &scope, flagged(code)).is_empty(),
            "a certificate flagged {code}"
        );
    }
    let office = server::service::Principal::of(
        &store
            .user_by_email(demo::ADMIN)
            .expect("user read")
            .expect("office admin exists"),
    );
    let schedules = server::service::inspections::statuses(&state, &office)
        .await
        .expect("schedules");
    assert_eq!(schedules.len(), 2);
    let missed: usize = schedules.iter().map(|s| s.missed()).sum();
    assert_eq!(missed, 1, "one missed inspection");

    let _ = stop.send(());
    let _ = server.await;
}
