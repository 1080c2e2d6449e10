//! The record store's conformance suite: what every backend of [`RecordStore`] must do, written
//! once against the trait and run on each backend (matrix-rust-sdk's `statestore_integration_tests!`,
//! atuin's `tests-database`). `record_store_conformance!(name, constructor)` expands to one
//! `#[test]` per behaviour in a module `name`; each test opens its own fresh store.
//!
//! A backend is added with a [`Backend`] (a fresh, empty store; the same database opened again)
//! and one line: `record_store_conformance!(postgres, PostgresBackend::fresh());`. A backend
//! whose client is async blocks on its own runtime inside `fresh` and `reopen`: the trait is
//! blocking (docs/adr/0003-record-store-boundary.md).
//!
//! The SQLite schema's upgrade from older versions is tested beside its migrations
//! (`store::schema::tests`); here a backend's own data must survive it being opened again.

use automerge::ActorId;
use server::store::postgres::PgStore;
use server::store::postgres::scratch::ScratchDatabase;
use server::store::sqlite::SqliteStore;
use server::store::{
    AcceptedChange, AuditNote, ChecklistTemplateItem, DeviceSignIn, EquipmentHold, EquipmentUnit,
    InspectionSchedule, Judgement, NewUser, REFRESH_GRACE_MS, RecordStore, RefreshUse, RegisterWrite, Scope,
    Site, StoreError, SyncWrite, User, UserChange, WebSession,
};
use std::time::Duration;
use sync_core::clock::ClockAnchor;
use sync_core::model::{ANONYMOUS, Body, Header, JseaStatus, SCHEMA_VERSION, new_id};
use sync_core::place::Geofence;
use sync_core::protocol::Role;
use sync_core::{Flag, ListFilter, Projection, Record, RecordDocument, Stamp, sample};

/// A store under test and whatever must live as long as it (a temporary directory, a database
/// to drop).
trait Backend: Sized {
    fn store(&self) -> &dyn RecordStore;
    /// Closes the store and opens the same database again, as a restarted server does.
    fn reopen(self) -> Self;
    /// Holds every write of feed entries this long before it commits (zero: none).
    fn delay_commits(&self, delay: Duration);
    /// The same database opened as a second server process would, when the backend may be
    /// shared by several processes (PostgreSQL); `None` for a store one process owns (SQLite,
    /// whose single writer and in-process record locks are what keep it consistent).
    fn another_process(&self) -> Option<Box<dyn RecordStore>>;
}

/// Expands to one `#[test]` per behaviour, each on a fresh store from `$open` (an `Option`:
/// `None` when the backend's server is unreachable and the test is skipped, said on stderr).
macro_rules! record_store_conformance {
    ($backend:ident, $open:expr) => {
        record_store_conformance!(@tests $backend, $open, [
            a_company_is_found_by_name_once_the_store_has_one,
            sites_are_created_renamed_and_listed_per_company,
            a_person_is_found_by_email_and_an_email_is_taken_once,
            an_admin_changes_a_persons_role_and_sites,
            a_disabled_person_cannot_start_a_browser_session,
            another_companys_ids_find_nothing,
            a_signed_in_device_refreshes_into_a_successor,
            a_revoked_device_cannot_refresh_or_enroll_again,
            a_reused_refresh_token_revokes_its_device,
            a_lost_answer_is_forgiven_once_within_the_grace,
            an_unknown_or_expired_refresh_token_is_refused,
            a_browser_session_is_touched_forward_and_ended_once,
            an_accepted_record_reads_back_as_its_document,
            the_feed_is_in_seq_order_and_pages_without_gaps,
            a_cursor_returns_only_later_entries,
            a_sync_stores_its_changes_its_anchor_and_the_devices_last_sync,
            a_worker_sees_their_sites_shared_records_and_their_own,
            a_supervisor_sees_their_sites_and_an_admin_the_whole_company,
            anonymous_reports_never_travel_in_the_feed,
            another_companys_feed_is_invisible,
            records_are_listed_by_kind_site_status_and_creator,
            records_are_listed_by_flag_and_created_range,
            a_list_pages_by_limit_and_offset,
            a_records_flags_are_stored_with_it,
            a_new_boundary_queues_the_sites_records_to_be_judged_again,
            a_judgement_of_a_record_changed_since_is_not_written,
            a_record_whose_flags_change_with_time_is_queued_when_due,
            an_equipment_unit_is_added_updated_and_taken_once_per_number,
            register_writes_commit_with_their_record,
            an_inspection_schedule_is_created_listed_and_ended_once,
            audit_entries_are_listed_newest_first_per_company,
            an_audit_note_without_its_change_is_refused_not_lost,
            a_reopened_store_keeps_its_data,
            a_reader_never_skips_an_entry_committed_late,
            two_processes_writing_one_record_lose_nothing,
            two_processes_rotating_one_refresh_token_spend_it_once,
            a_rate_limit_holds_across_processes,
        ]);
    };
    (@tests $backend:ident, $open:expr, [$($test:ident),* $(,)?]) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $test() {
                    if let Some(backend) = $open {
                        super::$test(backend);
                    }
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Backends

struct SqliteBackend {
    dir: tempfile::TempDir,
    store: SqliteStore,
}

impl SqliteBackend {
    fn fresh() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("records.db")).expect("store opens");
        Self { dir, store }
    }
}

impl Backend for SqliteBackend {
    fn store(&self) -> &dyn RecordStore {
        &self.store
    }

    fn reopen(self) -> Self {
        let Self { dir, store } = self;
        drop(store);
        let store = SqliteStore::open(&dir.path().join("records.db")).expect("store opens again");
        Self { dir, store }
    }

    fn delay_commits(&self, delay: Duration) {
        self.store.delay_commits(delay);
    }

    fn another_process(&self) -> Option<Box<dyn RecordStore>> {
        None
    }
}

record_store_conformance!(sqlite, Some(crate::SqliteBackend::fresh()));

/// A database of its own on the machine's PostgreSQL, dropped after the test.
struct PostgresBackend {
    // Declared first so the store's connections close before the database is dropped.
    store: PgStore,
    database: ScratchDatabase,
}

impl PostgresBackend {
    fn fresh() -> Option<Self> {
        let database = ScratchDatabase::create("the PostgreSQL record store conformance test")?;
        let store = PgStore::connect(database.url()).expect("store connects and migrates");
        Some(Self { store, database })
    }
}

impl Backend for PostgresBackend {
    fn store(&self) -> &dyn RecordStore {
        &self.store
    }

    fn reopen(self) -> Self {
        let Self { store, database } = self;
        drop(store);
        let store = PgStore::connect(database.url()).expect("store connects again");
        Self { store, database }
    }

    fn delay_commits(&self, delay: Duration) {
        self.store.delay_commits(delay);
    }

    fn another_process(&self) -> Option<Box<dyn RecordStore>> {
        Some(Box::new(
            PgStore::connect(self.database.url()).expect("a second store connects"),
        ))
    }
}

record_store_conformance!(postgres, crate::PostgresBackend::fresh());

// ---------------------------------------------------------------------------------------------
// Helpers

/// A fixed moment (2026-11-29) the tests' times count from.
const T0: i64 = 1_764_374_400_000;
const HOUR: i64 = 3_600_000;

/// A company with two sites, an admin, a supervisor at site A and a worker at sites A and B.
struct Company {
    id: String,
    a: Site,
    b: Site,
    admin: User,
    supervisor: User,
    worker: User,
}

fn new_user(email: &str, role: Role, sites: &[&Site]) -> NewUser {
    NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap_or("someone").into(),
        role,
        password_hash: format!("hash-of-{email}"),
        sites: sites.iter().map(|s| s.id.clone()).collect(),
    }
}

fn company(store: &dyn RecordStore, name: &str) -> Company {
    let slug = name.to_lowercase();
    let id = store.create_company(name).expect("company").id;
    let a = store.create_site(&id, "Site A", "setup").expect("site A");
    let b = store.create_site(&id, "Site B", "setup").expect("site B");
    let user = |who: &str, role, sites: &[&Site]| {
        store
            .create_user(&id, new_user(&format!("{who}@{slug}.test"), role, sites), "setup")
            .expect("user")
    };
    let admin = user("ann", Role::Admin, &[]);
    let supervisor = user("sam", Role::Supervisor, &[&a]);
    let worker = user("lee", Role::Worker, &[&a, &b]);
    Company {
        id,
        a,
        b,
        admin,
        supervisor,
        worker,
    }
}

fn scope_of(user: &User) -> Scope {
    Scope {
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        role: user.role,
        sites: user.sites.clone(),
    }
}

fn flag(code: &str) -> Flag {
    Flag {
        code: code.into(),
        message: format!("{code} raised"),
        evidence: Default::default(),
    }
}

/// A record as a phone creates it: its header, and its document saved whole.
struct Made {
    record: Record,
    doc: RecordDocument,
}

fn record(tenant_id: &str, site_id: &str, created_by: &str, created_ms: i64, body: Body) -> Made {
    let record = Record {
        header: Header {
            id: new_id(),
            kind: body.kind().as_str().into(),
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant_id.into(),
            site_id: site_id.into(),
            job_id: None,
            created_by: created_by.into(),
            created: Stamp::new(created_ms, 5_000, "boot-1"),
        },
        body,
    };
    let doc = RecordDocument::create(ActorId::random(), created_by, &record, created_ms).expect("document");
    Made { record, doc }
}

fn jsea(tenant_id: &str, site_id: &str, created_by: &str, created_ms: i64) -> Made {
    record(
        tenant_id,
        site_id,
        created_by,
        created_ms,
        Body::Jsea(sample::jsea()),
    )
}

/// What the sync path stores for a new record: its whole document as the first chunk and the
/// snapshot, and its projection with `flags`.
fn created(made: &mut Made, origin_device: &str, flags: &[Flag]) -> AcceptedChange {
    let bytes = made.doc.save();
    AcceptedChange {
        tenant_id: made.record.header.tenant_id.clone(),
        doc_id: made.record.header.id.clone(),
        origin_device: origin_device.into(),
        chunk: bytes.clone(),
        snapshot: Some(bytes),
        projection: Projection::of(&made.record, flags, &[], 0),
        flags: flags.to_vec(),
        stamps: Vec::new(),
        rejudge_at: None,
        program_fact_from: None,
        register: Vec::new(),
    }
}

/// A small real edit: the JSEA's task or the pre-start's hour meter.
fn revise(r: &mut Record) {
    match &mut r.body {
        Body::Jsea(j) => j.task.push_str(" (revised)"),
        Body::PreStart(p) => p.unit.hour_meter = Some(p.unit.hour_meter.unwrap_or(0.0) + 1.0),
        other => panic!("no edit for {}", other.kind()),
    }
}

/// What the sync path stores for an edit of a stored record: the new changes only.
fn edited(made: &mut Made, origin_device: &str, edit: impl FnOnce(&mut Record)) -> AcceptedChange {
    let before = made.doc.heads();
    let author = made.record.header.created_by.clone();
    let (_, change) = made
        .doc
        .update(&author, made.record.header.created.wall_ms + HOUR, |r| {
            edit(r);
            Ok(())
        })
        .expect("edit");
    assert!(change.is_some(), "an edit changes the record");
    made.record = made.doc.record().expect("record");
    AcceptedChange {
        chunk: made.doc.save_after(&before),
        snapshot: None,
        ..created(made, origin_device, &[])
    }
}

fn accept(store: &dyn RecordStore, changes: &[AcceptedChange]) {
    store.accept_all(changes, None).expect("accepted");
}

fn feed_ids(store: &dyn RecordStore, scope: &Scope) -> Vec<String> {
    let mut ids: Vec<String> = store
        .feed(scope, 0, 1000)
        .expect("feed")
        .into_iter()
        .map(|e| e.doc_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

fn listed(store: &dyn RecordStore, scope: &Scope, filter: ListFilter) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_records(scope, &filter)
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids
}

fn actions(store: &dyn RecordStore, tenant_id: &str) -> Vec<String> {
    store
        .audit_log(tenant_id, 1000)
        .expect("audit log")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

fn sign_in(store: &dyn RecordStore, user: &User, device_id: &str, refresh_hash: &str) {
    store
        .sign_in_device(&DeviceSignIn {
            tenant_id: &user.tenant_id,
            user_id: &user.id,
            device_id,
            device_name: "Lee's phone",
            refresh_hash,
            refresh_expires_at_ms: T0 + 30 * 24 * HOUR,
        })
        .expect("signed in");
}

fn rotate(store: &dyn RecordStore, token: &str, device: Option<&str>, next: &str, now: i64) -> RefreshUse {
    store
        .rotate_refresh_token(token, device, next, T0 + 60 * 24 * HOUR, now)
        .expect("rotate")
}

fn web_session(token_hash: &str, user: &User) -> WebSession {
    WebSession {
        token_hash: token_hash.into(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_token: format!("csrf-{token_hash}"),
        created_at_ms: T0,
        last_seen_at_ms: T0,
        ended_at_ms: None,
    }
}

fn unit(unit_id: &str, by: &str) -> EquipmentUnit {
    EquipmentUnit {
        unit_id: unit_id.into(),
        make_model: "CAT 950".into(),
        serial: Some("SN-1".into()),
        equipment_type: "Loader".into(),
        required_certificates: vec!["loader_operator".into()],
        hour_meter: Some(1200.0),
        added_at_ms: T0,
        added_by: by.into(),
        added_from_record: None,
        retired: false,
    }
}

fn note(user: &User, action: &str) -> AuditNote {
    AuditNote {
        user_id: user.id.clone(),
        action: action.into(),
        detail: format!("{action} by {}", user.name),
    }
}

// ---------------------------------------------------------------------------------------------
// Directory: companies, sites, people

fn a_company_is_found_by_name_once_the_store_has_one(b: impl Backend) {
    let store = b.store();
    assert!(store.is_empty().expect("empty"), "a fresh store is a first run");
    assert_eq!(store.company_by_name("Acme").expect("read"), None);
    let acme = store.create_company("Acme").expect("company");
    assert!(!store.is_empty().expect("empty"));
    assert_eq!(store.company_by_name("Acme").expect("read"), Some(acme.clone()));
    let other = store.create_company("Other").expect("company");
    assert_ne!(acme.id, other.id);
    store.health().expect("a working store is healthy");
}

fn sites_are_created_renamed_and_listed_per_company(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let other = company(store, "Other");
    let names = |tenant: &str| -> Vec<String> {
        let mut names: Vec<String> = store
            .sites(tenant)
            .expect("sites")
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&acme.id), ["Site A", "Site B"]);
    assert!(
        store
            .sites(&acme.id)
            .expect("sites")
            .iter()
            .all(|s| s.tenant_id == acme.id)
    );
    assert!(
        store
            .update_site(&acme.id, &acme.a.id, "North pad", "America/Regina", "ann")
            .expect("update")
    );
    let renamed = store.site(&acme.id, &acme.a.id).expect("read").expect("site");
    assert_eq!(renamed.name, "North pad");
    assert_eq!(renamed.time_zone, "America/Regina");
    assert_eq!(names(&acme.id), ["North pad", "Site B"]);
    assert_eq!(
        names(&other.id),
        ["Site A", "Site B"],
        "another company's sites are its own"
    );
    let logged = actions(store, &acme.id);
    assert!(logged.contains(&"site.created".to_owned()), "{logged:?}");
    assert!(logged.contains(&"site.updated".to_owned()), "{logged:?}");
}

fn a_person_is_found_by_email_and_an_email_is_taken_once(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let found = store.user_by_email("lee@acme.test").expect("read").expect("user");
    assert_eq!(found, acme.worker);
    assert_eq!(found.sites, [acme.a.id.clone(), acme.b.id.clone()]);
    assert_eq!(
        store.user(&acme.id, &acme.worker.id).expect("read"),
        Some(acme.worker.clone())
    );
    assert_eq!(store.users(&acme.id).expect("users").len(), 3);
    assert_eq!(store.user_by_email("nobody@acme.test").expect("read"), None);
    let again = store.create_user(&acme.id, new_user("lee@acme.test", Role::Worker, &[]), "ann");
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert!(actions(store, &acme.id).contains(&"user.created".to_owned()));
}

fn an_admin_changes_a_persons_role_and_sites(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let change = UserChange {
        role: Some(Role::Supervisor),
        sites: Some(vec![acme.b.id.clone()]),
        ..UserChange::default()
    };
    let changed = store
        .update_user(&acme.id, &acme.worker.id, &change, &acme.admin.id, T0)
        .expect("update")
        .expect("user");
    assert_eq!(changed.role, Role::Supervisor);
    assert_eq!(changed.sites, std::slice::from_ref(&acme.b.id));
    assert_eq!(
        store.user(&acme.id, &acme.worker.id).expect("read"),
        Some(changed)
    );
    let other = company(store, "Other");
    let foreign_site = UserChange {
        sites: Some(vec![other.a.id.clone()]),
        ..UserChange::default()
    };
    assert!(
        store
            .update_user(&acme.id, &acme.worker.id, &foreign_site, &acme.admin.id, T0)
            .is_err(),
        "another company's site is refused"
    );
    assert_eq!(
        store
            .user(&acme.id, &acme.worker.id)
            .expect("read")
            .expect("user")
            .sites,
        std::slice::from_ref(&acme.b.id)
    );
    assert!(actions(store, &acme.id).contains(&"user.updated".to_owned()));
}

fn a_disabled_person_cannot_start_a_browser_session(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    store
        .create_session(&web_session("s-1", &acme.worker))
        .expect("session");
    let disable = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    let disabled = store
        .update_user(&acme.id, &acme.worker.id, &disable, &acme.admin.id, T0 + 1)
        .expect("update")
        .expect("user");
    assert!(disabled.disabled);
    assert_eq!(
        store.session("s-1").expect("read").expect("session").ended_at_ms,
        Some(T0 + 1),
        "disabling ends their sessions"
    );
    let refused = store.create_session(&web_session("s-2", &acme.worker));
    assert!(matches!(refused, Err(StoreError::Invalid(_))), "{refused:?}");
    assert_eq!(store.session("s-2").expect("read"), None);
}

fn another_companys_ids_find_nothing(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let other = company(store, "Other");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut made, "phone-1", &[flag("jsea.late")])]);
    let doc_id = made.record.header.id.clone();
    store
        .enroll_device(&acme.id, &acme.worker.id, "phone-1", "phone")
        .expect("enroll");
    store
        .add_equipment_unit(
            &acme.id,
            &unit("LD-3", &acme.admin.id),
            &note(&acme.admin, "equipment.added"),
        )
        .expect("unit");

    assert_eq!(store.site(&other.id, &acme.a.id).expect("read"), None);
    assert_eq!(store.site_area(&other.id, &acme.a.id).expect("read"), None);
    assert_eq!(store.user(&other.id, &acme.worker.id).expect("read"), None);
    assert!(
        !store
            .update_site(&other.id, &acme.a.id, "Taken", "America/Edmonton", "x")
            .expect("update")
    );
    assert!(
        store
            .update_user(&other.id, &acme.worker.id, &UserChange::default(), "x", T0)
            .expect("update")
            .is_none()
    );
    assert!(!store.revoke_device(&other.id, "phone-1", "x").expect("revoke"));
    assert!(store.document(&other.id, &doc_id).expect("read").is_none());
    assert!(
        store
            .current_snapshot(&other.id, &doc_id)
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .chunks_after(&other.id, &doc_id, 0)
            .expect("read")
            .is_empty()
    );
    assert!(store.record_flags(&other.id, &doc_id).expect("read").is_empty());
    assert!(!store.in_scope(&scope_of(&other.admin), &doc_id).expect("scope"));
    assert_eq!(store.equipment_unit(&other.id, "LD-3").expect("read"), None);
    assert!(store.devices(&other.id).expect("devices").is_empty());
    assert_eq!(
        store.device("phone-1").expect("read").expect("device").tenant_id,
        acme.id
    );
    // The device is enrolled with Acme: another company cannot take it over.
    assert!(
        store
            .enroll_device(&other.id, &other.worker.id, "phone-1", "phone")
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// Devices, refresh tokens and browser sessions

fn a_signed_in_device_refreshes_into_a_successor(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    let device = store.device("phone-1").expect("read").expect("device");
    assert_eq!(device.user_id, acme.worker.id);
    assert_eq!(device.revoked_at_ms, None);
    assert_eq!(store.devices(&acme.id).expect("devices"), [device]);
    assert!(actions(store, &acme.id).contains(&"device.login".to_owned()));
    let valid = RefreshUse::Valid {
        device_id: "phone-1".into(),
        user_id: acme.worker.id.clone(),
        tenant_id: acme.id.clone(),
    };
    assert_eq!(rotate(store, "r-1", Some("phone-1"), "r-2", T0), valid);
    assert_eq!(rotate(store, "r-2", Some("phone-1"), "r-3", T0 + 1), valid);
}

fn a_revoked_device_cannot_refresh_or_enroll_again(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    assert!(
        store
            .revoke_device(&acme.id, "phone-1", &acme.admin.id)
            .expect("revoke")
    );
    assert!(
        store
            .device("phone-1")
            .expect("read")
            .expect("device")
            .revoked_at_ms
            .is_some()
    );
    assert!(!matches!(
        rotate(store, "r-1", Some("phone-1"), "r-2", T0),
        RefreshUse::Valid { .. }
    ));
    let again = store.enroll_device(&acme.id, &acme.worker.id, "phone-1", "phone");
    assert!(matches!(again, Err(StoreError::Invalid(_))), "{again:?}");
    assert!(actions(store, &acme.id).contains(&"device.revoked".to_owned()));
}

fn a_reused_refresh_token_revokes_its_device(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    assert!(matches!(
        rotate(store, "r-1", Some("phone-1"), "r-2", T0),
        RefreshUse::Valid { .. }
    ));
    assert!(matches!(
        rotate(store, "r-2", Some("phone-1"), "r-3", T0 + 1),
        RefreshUse::Valid { .. }
    ));
    // A copy of the first token, replayed by someone else.
    assert_eq!(
        rotate(store, "r-1", None, "r-x", T0 + 2),
        RefreshUse::Reused {
            device_id: "phone-1".into()
        }
    );
    assert!(
        store
            .device("phone-1")
            .expect("read")
            .expect("device")
            .revoked_at_ms
            .is_some()
    );
    // The phone's own current token is spent with it.
    assert!(!matches!(
        rotate(store, "r-3", Some("phone-1"), "r-4", T0 + 3),
        RefreshUse::Valid { .. }
    ));
}

fn a_lost_answer_is_forgiven_once_within_the_grace(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    assert!(matches!(
        rotate(store, "r-1", Some("phone-1"), "r-2", T0),
        RefreshUse::Valid { .. }
    ));
    // The answer carrying r-2 never arrived: the phone presents r-1 again.
    assert!(matches!(
        rotate(store, "r-1", Some("phone-1"), "r-2b", T0 + REFRESH_GRACE_MS / 2),
        RefreshUse::Valid { .. }
    ));
    // The successor it never received is spent: a copy of it is a reuse.
    assert!(matches!(
        rotate(
            store,
            "r-2",
            Some("phone-1"),
            "r-3",
            T0 + REFRESH_GRACE_MS / 2 + 1
        ),
        RefreshUse::Reused { .. }
    ));

    sign_in(store, &acme.worker, "phone-2", "q-1");
    assert!(matches!(
        rotate(store, "q-1", Some("phone-2"), "q-2", T0),
        RefreshUse::Valid { .. }
    ));
    // Past the grace, the same presentation is a reuse.
    assert!(matches!(
        rotate(store, "q-1", Some("phone-2"), "q-2b", T0 + REFRESH_GRACE_MS + 1),
        RefreshUse::Reused { .. }
    ));
}

fn an_unknown_or_expired_refresh_token_is_refused(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    assert_eq!(rotate(store, "never-issued", None, "n", T0), RefreshUse::Unknown);
    store
        .enroll_device(&acme.id, &acme.worker.id, "phone-1", "phone")
        .expect("enroll");
    store
        .save_refresh_token("r-old", "phone-1", &acme.worker.id, &acme.id, T0 - 1)
        .expect("save");
    assert_eq!(
        rotate(store, "r-old", Some("phone-1"), "r-new", T0),
        RefreshUse::Expired
    );
    assert_eq!(
        rotate(store, "r-new", Some("phone-1"), "r-3", T0),
        RefreshUse::Unknown
    );
}

fn a_browser_session_is_touched_forward_and_ended_once(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let session = web_session("s-1", &acme.supervisor);
    store.create_session(&session).expect("created");
    assert_eq!(store.session("s-1").expect("read"), Some(session.clone()));
    let duplicate = store.create_session(&session);
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");
    store.touch_session("s-1", T0 + 10).expect("touch");
    store.touch_session("s-1", T0 + 5).expect("a late touch");
    assert_eq!(
        store
            .session("s-1")
            .expect("read")
            .expect("session")
            .last_seen_at_ms,
        T0 + 10
    );
    store.end_session("s-1", T0 + 20, "signed out").expect("end");
    store.end_session("s-1", T0 + 30, "again").expect("end again");
    let ended = store.session("s-1").expect("read").expect("session");
    assert_eq!(
        ended.ended_at_ms,
        Some(T0 + 20),
        "ending an ended session changes nothing"
    );
    store.touch_session("s-1", T0 + 40).expect("touch");
    assert_eq!(
        store
            .session("s-1")
            .expect("read")
            .expect("session")
            .last_seen_at_ms,
        T0 + 10
    );
    let logged = actions(store, &acme.id);
    assert_eq!(logged.iter().filter(|a| *a == "web.sign_in").count(), 1);
    assert_eq!(logged.iter().filter(|a| *a == "web.sign_out").count(), 1);
    assert_eq!(store.session("unknown").expect("read"), None);
}

// ---------------------------------------------------------------------------------------------
// Documents and the change feed

fn an_accepted_record_reads_back_as_its_document(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    let id = made.record.header.id.clone();
    accept(store, &[created(&mut made, "phone-1", &[])]);
    let snapshot = store
        .current_snapshot(&acme.id, &id)
        .expect("read")
        .expect("nothing after the snapshot");
    let loaded = RecordDocument::load(&snapshot, ActorId::random()).expect("loads");
    assert_eq!(loaded.record().expect("record"), made.record);

    let edit = edited(&mut made, "phone-1", |r| {
        if let Body::Jsea(j) = &mut r.body {
            j.task = "Replace the wellhead valve and gasket".into();
        }
    });
    let chunk = edit.chunk.clone();
    accept(store, &[edit]);
    assert_eq!(
        store.current_snapshot(&acme.id, &id).expect("read"),
        None,
        "a chunk to replay now"
    );
    let stored = store.document(&acme.id, &id).expect("read").expect("document");
    assert_eq!(stored.tenant_id, acme.id);
    assert_eq!(stored.chunks, [chunk]);
    let chunks: Vec<&[u8]> = stored.chunks.iter().map(Vec::as_slice).collect();
    let loaded = RecordDocument::load_chunks(&stored.snapshot, chunks, ActorId::random()).expect("loads");
    assert_eq!(loaded.record().expect("record"), made.record);
    let first = store.feed(&scope_of(&acme.admin), 0, 10).expect("feed")[0].seq;
    assert_eq!(
        store.chunks_after(&acme.id, &id, first).expect("chunks"),
        stored.chunks
    );
    assert_eq!(
        store.record_seq(&acme.id, &id).expect("seq"),
        store.feed_head(&acme.id).expect("head")
    );
}

fn the_feed_is_in_seq_order_and_pages_without_gaps(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let admin = scope_of(&acme.admin);
    assert_eq!(store.feed_head(&acme.id).expect("head"), 0);
    assert!(store.feed(&admin, 0, 10).expect("feed").is_empty());
    let mut made: Vec<Made> = (0..5)
        .map(|i| jsea(&acme.id, &acme.a.id, &acme.worker.id, T0 + i))
        .collect();
    // One request with three records, then two requests of one, then an edit.
    let first: Vec<AcceptedChange> = made[..3].iter_mut().map(|m| created(m, "phone-1", &[])).collect();
    accept(store, &first);
    accept(store, &[created(&mut made[3], "phone-2", &[])]);
    accept(store, &[created(&mut made[4], "phone-1", &[])]);
    accept(store, &[edited(&mut made[0], "phone-1", revise)]);
    let all = store.feed(&admin, 0, 100).expect("feed");
    let order: Vec<&str> = all.iter().map(|e| e.doc_id.as_str()).collect();
    let expected: Vec<&str> = [0, 1, 2, 3, 4, 0]
        .iter()
        .map(|&i| made[i].record.header.id.as_str())
        .collect();
    assert_eq!(order, expected, "entries in the order they were stored");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "seq rises");
    assert_eq!(all[3].origin_device, "phone-2");
    assert!(all.iter().all(|e| e.bytes > 0));
    assert_eq!(store.feed_head(&acme.id).expect("head"), all[5].seq);
    // Paging by the last seq seen returns every entry once, in order, at any page size.
    for page in 1..=4 {
        let mut cursor = 0;
        let mut paged = Vec::new();
        loop {
            let entries = store.feed(&admin, cursor, page).expect("feed");
            if entries.is_empty() {
                break;
            }
            assert!(entries.len() <= page as usize);
            cursor = entries.last().map(|e| e.seq).unwrap_or(cursor);
            paged.extend(entries.into_iter().map(|e| e.seq));
        }
        let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
        assert_eq!(paged, seqs, "page size {page}");
    }
    for e in &all {
        assert!(
            store
                .feed_check(&acme.id, e.seq)
                .expect("check")
                .is_some_and(|n| n > 0)
        );
    }
    assert_eq!(
        store.feed_check(&acme.id, all[5].seq + 1000).expect("check"),
        None
    );
}

fn a_cursor_returns_only_later_entries(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let admin = scope_of(&acme.admin);
    let mut early = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut early, "phone-1", &[])]);
    let cursor = store.feed_head(&acme.id).expect("head");
    let mut late = jsea(&acme.id, &acme.b.id, &acme.worker.id, T0 + 1);
    accept(store, &[created(&mut late, "phone-1", &[])]);
    let after = store.feed(&admin, cursor, 100).expect("feed");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].doc_id, late.record.header.id);
    assert!(after[0].seq > cursor);
    assert!(
        store.feed(&admin, after[0].seq, 100).expect("feed").is_empty(),
        "nothing after the head"
    );
}

fn a_sync_stores_its_changes_its_anchor_and_the_devices_last_sync(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    let anchor = ClockAnchor {
        device_id: "phone-1".into(),
        boot_id: "boot-1".into(),
        monotonic_ms: 9_000,
        device_wall_ms: T0 + 4_000,
        server_ms: T0 + 4_100,
        uncertainty_ms: 50,
    };
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    let changes = [created(&mut made, "phone-1", &[])];
    store
        .commit_sync(&SyncWrite {
            tenant_id: &acme.id,
            device_id: "phone-1",
            anchor: &anchor,
            synced_at_ms: T0 + 4_100,
            clock_note: "{}",
            changes: &changes,
        })
        .expect("committed");
    assert_eq!(
        feed_ids(store, &scope_of(&acme.admin)),
        [made.record.header.id.clone()]
    );
    assert_eq!(
        store
            .device("phone-1")
            .expect("read")
            .expect("device")
            .last_sync_at_ms,
        Some(T0 + 4_100)
    );
    let anchors = store
        .clock_anchors(&acme.id, &[("phone-1".into(), "boot-1".into())])
        .expect("anchors");
    assert_eq!(anchors, [anchor]);
    assert!(
        store
            .clock_anchors(&acme.id, &[("phone-1".into(), "boot-2".into())])
            .expect("anchors")
            .is_empty()
    );
}

/// Acme's records for the scope tests: a JSEA at each site by someone else, a near miss at
/// site A by someone else, and the worker's own near miss at site B.
struct Spread {
    jsea_a: String,
    jsea_b: String,
    near_miss_a: String,
    own_near_miss_b: String,
    jsea_elsewhere: String,
}

fn spread(store: &dyn RecordStore, acme: &Company) -> Spread {
    let elsewhere = store.create_site(&acme.id, "Site C", "ann").expect("site C");
    let near_miss = || Body::NearMiss(sample::near_miss(T0));
    let mut made = [
        jsea(&acme.id, &acme.a.id, &acme.supervisor.id, T0),
        jsea(&acme.id, &acme.b.id, &acme.admin.id, T0),
        record(&acme.id, &acme.a.id, &acme.supervisor.id, T0, near_miss()),
        record(&acme.id, &acme.b.id, &acme.worker.id, T0, near_miss()),
        jsea(&acme.id, &elsewhere.id, &acme.admin.id, T0),
    ];
    let changes: Vec<AcceptedChange> = made.iter_mut().map(|m| created(m, "phone-1", &[])).collect();
    accept(store, &changes);
    let id = |i: usize| made[i].record.header.id.clone();
    Spread {
        jsea_a: id(0),
        jsea_b: id(1),
        near_miss_a: id(2),
        own_near_miss_b: id(3),
        jsea_elsewhere: id(4),
    }
}

fn a_worker_sees_their_sites_shared_records_and_their_own(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let s = spread(store, &acme);
    let worker = scope_of(&acme.worker);
    let expected = sorted(&[&s.jsea_a, &s.jsea_b, &s.own_near_miss_b]);
    assert_eq!(feed_ids(store, &worker), expected);
    assert_eq!(listed(store, &worker, ListFilter::default()), expected);
    assert!(store.in_scope(&worker, &s.jsea_a).expect("scope"));
    assert!(store.in_scope(&worker, &s.own_near_miss_b).expect("scope"));
    assert!(
        !store.in_scope(&worker, &s.near_miss_a).expect("scope"),
        "another's near miss"
    );
    assert!(
        !store.in_scope(&worker, &s.jsea_elsewhere).expect("scope"),
        "not their site"
    );
    // Without sites, a worker still sees their own records.
    let siteless = Scope {
        sites: Vec::new(),
        ..worker
    };
    assert_eq!(
        feed_ids(store, &siteless),
        std::slice::from_ref(&s.own_near_miss_b)
    );
}

fn a_supervisor_sees_their_sites_and_an_admin_the_whole_company(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let s = spread(store, &acme);
    let supervisor = scope_of(&acme.supervisor);
    let expected = sorted(&[&s.jsea_a, &s.near_miss_a]);
    assert_eq!(feed_ids(store, &supervisor), expected);
    assert_eq!(listed(store, &supervisor, ListFilter::default()), expected);
    assert!(store.in_scope(&supervisor, &s.near_miss_a).expect("scope"));
    assert!(!store.in_scope(&supervisor, &s.jsea_b).expect("scope"));
    let everything = sorted(&[
        &s.jsea_a,
        &s.jsea_b,
        &s.near_miss_a,
        &s.own_near_miss_b,
        &s.jsea_elsewhere,
    ]);
    let admin = scope_of(&acme.admin);
    assert_eq!(feed_ids(store, &admin), everything);
    assert_eq!(listed(store, &admin, ListFilter::default()), everything);
    assert!(store.in_scope(&admin, &s.jsea_elsewhere).expect("scope"));
    assert!(!store.in_scope(&admin, "no-such-record").expect("scope"));
}

fn anonymous_reports_never_travel_in_the_feed(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut anonymous = record(
        &acme.id,
        &acme.a.id,
        ANONYMOUS,
        T0,
        Body::NearMiss(sample::near_miss(T0)),
    );
    accept(store, &[created(&mut anonymous, "phone-1", &[])]);
    let id = anonymous.record.header.id.clone();
    let admin = scope_of(&acme.admin);
    assert!(store.feed(&admin, 0, 100).expect("feed").is_empty());
    assert!(
        store
            .feed(&scope_of(&acme.supervisor), 0, 100)
            .expect("feed")
            .is_empty()
    );
    // The office still reads it.
    assert_eq!(
        listed(store, &admin, ListFilter::default()),
        std::slice::from_ref(&id)
    );
    assert!(store.document(&acme.id, &id).expect("read").is_some());
}

fn another_companys_feed_is_invisible(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let other = company(store, "Other");
    let mut ours = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut ours, "phone-1", &[])]);
    // The same record id in another company is a different record.
    let mut theirs = jsea(&other.id, &other.a.id, &other.worker.id, T0);
    theirs.record.header.id = ours.record.header.id.clone();
    theirs.doc =
        RecordDocument::create(ActorId::random(), &other.worker.id, &theirs.record, T0).expect("doc");
    accept(store, &[created(&mut theirs, "phone-9", &[])]);
    let ours_feed = store.feed(&scope_of(&acme.admin), 0, 100).expect("feed");
    let theirs_feed = store.feed(&scope_of(&other.admin), 0, 100).expect("feed");
    assert_eq!(ours_feed.len(), 1);
    assert_eq!(theirs_feed.len(), 1);
    assert_eq!(ours_feed[0].origin_device, "phone-1");
    assert_eq!(theirs_feed[0].origin_device, "phone-9");
    assert_eq!(store.feed_head(&acme.id).expect("head"), ours_feed[0].seq);
    assert_eq!(store.feed_head(&other.id).expect("head"), theirs_feed[0].seq);
    // Positions may be numbered per company (PostgreSQL) or across companies (SQLite): either
    // way, asking at another company never answers our entry's fingerprint.
    assert_ne!(
        store.feed_check(&other.id, ours_feed[0].seq).expect("check"),
        store.feed_check(&acme.id, ours_feed[0].seq).expect("check")
    );
    let stored = store
        .document(&other.id, &theirs.record.header.id)
        .expect("read")
        .expect("doc");
    let loaded = RecordDocument::load(&stored.snapshot, ActorId::random()).expect("loads");
    assert_eq!(loaded.record().expect("record").header.tenant_id, other.id);
    let listed_other = store
        .list_records(&scope_of(&other.admin), &ListFilter::default())
        .expect("list");
    assert_eq!(listed_other.len(), 1);
    assert_eq!(listed_other[0].tenant_id, other.id);
}

// ---------------------------------------------------------------------------------------------
// Projections, filters and flags

/// Acme's records for the filter tests, by when they were created.
fn listed_records(store: &dyn RecordStore, acme: &Company) -> Vec<Made> {
    let completed = {
        let mut j = sample::jsea();
        j.status = JseaStatus::Completed;
        Body::Jsea(j)
    };
    let mut made = vec![
        jsea(&acme.id, &acme.a.id, &acme.worker.id, T0),
        record(&acme.id, &acme.a.id, &acme.worker.id, T0 + HOUR, completed),
        jsea(&acme.id, &acme.b.id, &acme.supervisor.id, T0 + 2 * HOUR),
        record(
            &acme.id,
            &acme.b.id,
            &acme.worker.id,
            T0 + 3 * HOUR,
            Body::NearMiss(sample::near_miss(T0)),
        ),
    ];
    let changes: Vec<AcceptedChange> = made
        .iter_mut()
        .enumerate()
        .map(|(i, m)| {
            let flags = if i % 2 == 1 {
                vec![flag("record.late")]
            } else {
                Vec::new()
            };
            created(m, "phone-1", &flags)
        })
        .collect();
    accept(store, &changes);
    made
}

fn ids_of(made: &[Made], which: &[usize]) -> Vec<String> {
    let mut ids: Vec<String> = which.iter().map(|&i| made[i].record.header.id.clone()).collect();
    ids.sort();
    ids
}

fn records_are_listed_by_kind_site_status_and_creator(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let made = listed_records(store, &acme);
    let admin = scope_of(&acme.admin);
    let by = |filter: ListFilter| listed(store, &admin, filter);
    assert_eq!(by(ListFilter::default()), ids_of(&made, &[0, 1, 2, 3]));
    assert_eq!(
        by(ListFilter {
            kind: Some("near_miss".into()),
            ..ListFilter::default()
        }),
        ids_of(&made, &[3])
    );
    assert_eq!(
        by(ListFilter {
            site_id: Some(acme.b.id.clone()),
            ..ListFilter::default()
        }),
        ids_of(&made, &[2, 3])
    );
    assert_eq!(
        by(ListFilter {
            kind: Some("jsea".into()),
            status: Some("completed".into()),
            ..ListFilter::default()
        }),
        ids_of(&made, &[1])
    );
    assert_eq!(
        by(ListFilter {
            created_by: Some(acme.supervisor.id.clone()),
            ..ListFilter::default()
        }),
        ids_of(&made, &[2])
    );
    let one = store
        .list_records(
            &admin,
            &ListFilter {
                kind: Some("near_miss".into()),
                ..ListFilter::default()
            },
        )
        .expect("list");
    assert_eq!(
        one,
        [Projection::of(&made[3].record, &[flag("record.late")], &[], 0)],
        "the projection as written"
    );
}

fn records_are_listed_by_flag_and_created_range(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let made = listed_records(store, &acme);
    let admin = scope_of(&acme.admin);
    let by = |filter: ListFilter| listed(store, &admin, filter);
    assert_eq!(
        by(ListFilter {
            flag: Some("record.late".into()),
            ..ListFilter::default()
        }),
        ids_of(&made, &[1, 3])
    );
    assert_eq!(
        by(ListFilter {
            flagged: Some(false),
            ..ListFilter::default()
        }),
        ids_of(&made, &[0, 2])
    );
    assert!(
        by(ListFilter {
            flag: Some("no.such.flag".into()),
            ..ListFilter::default()
        })
        .is_empty()
    );
    // From is inclusive, to exclusive.
    assert_eq!(
        by(ListFilter {
            created_from_ms: Some(T0 + HOUR),
            created_to_ms: Some(T0 + 3 * HOUR),
            ..ListFilter::default()
        }),
        ids_of(&made, &[1, 2])
    );
}

fn a_list_pages_by_limit_and_offset(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let made = listed_records(store, &acme);
    let admin = scope_of(&acme.admin);
    let page = |limit, offset| -> Vec<String> {
        store
            .list_records(
                &admin,
                &ListFilter {
                    limit: Some(limit),
                    offset: Some(offset),
                    ..ListFilter::default()
                },
            )
            .expect("list")
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    let id = |i: usize| made[i].record.header.id.clone();
    // Newest created first unless asked.
    assert_eq!(page(2, 0), [id(3), id(2)]);
    assert_eq!(page(2, 2), [id(1), id(0)]);
    assert!(page(2, 4).is_empty());
}

fn a_records_flags_are_stored_with_it(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    let mut late = flag("jsea.completed_after_work_started");
    late.evidence.insert("completed".into(), "10:42".into());
    let flags = vec![flag("jsea.a_flag"), late];
    accept(store, &[created(&mut made, "phone-1", &flags)]);
    let id = made.record.header.id.clone();
    let mut stored = store.record_flags(&acme.id, &id).expect("flags");
    stored.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(stored, flags);
    // An edit judged with no flags clears them.
    accept(store, &[edited(&mut made, "phone-1", revise)]);
    assert!(store.record_flags(&acme.id, &id).expect("flags").is_empty());
    assert!(
        store
            .record_flags(&acme.id, "no-such-record")
            .expect("flags")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Judging again

fn judgement(store: &dyn RecordStore, tenant_id: &str, made: &Made, flags: &[Flag]) -> Judgement {
    Judgement {
        tenant_id: tenant_id.into(),
        doc_id: made.record.header.id.clone(),
        seq: store.record_seq(tenant_id, &made.record.header.id).expect("seq"),
        projection: Projection::of(&made.record, flags, &[], 0),
        flags: flags.to_vec(),
        stamps: Vec::new(),
        rejudge_at: None,
    }
}

fn fence() -> Geofence {
    Geofence::Circle {
        lat: 53.5,
        lon: -113.5,
        radius_m: 300.0,
    }
}

fn a_new_boundary_queues_the_sites_records_to_be_judged_again(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut at_a = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    let mut at_b = jsea(&acme.id, &acme.b.id, &acme.worker.id, T0);
    accept(
        store,
        &[
            created(&mut at_a, "phone-1", &[]),
            created(&mut at_b, "phone-1", &[]),
        ],
    );
    assert!(store.rejudge_queue(10).expect("queue").is_empty());
    let fence = fence();
    assert!(
        store
            .set_site_area(&acme.id, &acme.a.id, Some(&fence), 50.0, &acme.admin.id)
            .expect("boundary")
    );
    assert!(store.site_area(&acme.id, &acme.a.id).expect("area").is_some());
    let queue = store.rejudge_queue(10).expect("queue");
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0].doc_id, at_a.record.header.id);
    assert_eq!(queue[0].tenant_id, acme.id);
    assert!(
        store
            .awaits_rejudging(&acme.id, &at_a.record.header.id)
            .expect("queued")
    );
    assert!(
        !store
            .awaits_rejudging(&acme.id, &at_b.record.header.id)
            .expect("queued")
    );
    // Judged again: the new flags are written and the record leaves the queue.
    let written = store
        .write_judgements(&[judgement(store, &acme.id, &at_a, &[flag("stamp.off_site")])])
        .expect("written");
    assert_eq!(written, 1);
    assert!(
        !store
            .awaits_rejudging(&acme.id, &at_a.record.header.id)
            .expect("queued")
    );
    assert_eq!(
        store
            .record_flags(&acme.id, &at_a.record.header.id)
            .expect("flags"),
        [flag("stamp.off_site")]
    );
    // A record that cannot be read is taken off without a judgement.
    store
        .set_site_area(&acme.id, &acme.b.id, Some(&fence), 50.0, &acme.admin.id)
        .expect("boundary");
    assert!(
        store
            .awaits_rejudging(&acme.id, &at_b.record.header.id)
            .expect("queued")
    );
    store
        .dequeue_rejudge(&acme.id, &at_b.record.header.id)
        .expect("dequeued");
    assert!(store.rejudge_queue(10).expect("queue").is_empty());
}

fn a_judgement_of_a_record_changed_since_is_not_written(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut made, "phone-1", &[])]);
    let fence = fence();
    store
        .set_site_area(&acme.id, &acme.a.id, Some(&fence), 50.0, &acme.admin.id)
        .expect("boundary");
    let stale = judgement(store, &acme.id, &made, &[flag("stale.verdict")]);
    accept(store, &[edited(&mut made, "phone-1", revise)]);
    assert!(store.record_seq(&acme.id, &made.record.header.id).expect("seq") > stale.seq);
    assert_eq!(store.write_judgements(&[stale]).expect("written"), 0);
    assert!(
        store
            .record_flags(&acme.id, &made.record.header.id)
            .expect("flags")
            .is_empty()
    );
    assert!(
        store
            .awaits_rejudging(&acme.id, &made.record.header.id)
            .expect("queued"),
        "still queued"
    );
}

fn a_record_whose_flags_change_with_time_is_queued_when_due(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    let due = T0 + 24 * HOUR;
    let change = AcceptedChange {
        rejudge_at: Some(due),
        ..created(&mut made, "phone-1", &[])
    };
    accept(store, &[change]);
    assert_eq!(store.queue_due_rejudges(due - 1).expect("queue"), 0);
    assert!(store.rejudge_queue(10).expect("queue").is_empty());
    assert_eq!(store.queue_due_rejudges(due).expect("queue"), 1);
    let queue = store.rejudge_queue(10).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].doc_id, made.record.header.id);
    assert_eq!(
        store.queue_due_rejudges(due + 1).expect("queue"),
        0,
        "queued once"
    );
}

// ---------------------------------------------------------------------------------------------
// Equipment register and inspection schedules

fn an_equipment_unit_is_added_updated_and_taken_once_per_number(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let loader = unit("LD-3", &acme.admin.id);
    store
        .add_equipment_unit(&acme.id, &loader, &note(&acme.admin, "equipment.added"))
        .expect("added");
    assert_eq!(
        store.equipment_unit(&acme.id, "LD-3").expect("read"),
        Some(loader.clone())
    );
    assert_eq!(
        store.equipment_unit(&acme.id, "ld 3").expect("read"),
        Some(loader.clone()),
        "by its key"
    );
    let same = store.add_equipment_unit(
        &acme.id,
        &unit("ld3", &acme.admin.id),
        &note(&acme.admin, "equipment.added"),
    );
    assert!(matches!(same, Err(StoreError::Conflict(_))), "{same:?}");
    let serviced = EquipmentUnit {
        make_model: "CAT 950M".into(),
        hour_meter: Some(1300.0),
        ..loader.clone()
    };
    assert!(
        store
            .update_equipment_unit(&acme.id, &serviced, &note(&acme.admin, "equipment.updated"))
            .expect("updated")
    );
    assert_eq!(store.equipment_units(&acme.id).expect("register"), [serviced]);
    assert!(
        !store
            .update_equipment_unit(
                &acme.id,
                &unit("EX-1", "x"),
                &note(&acme.admin, "equipment.updated")
            )
            .expect("updated")
    );
    let logged = actions(store, &acme.id);
    assert!(
        logged.contains(&"equipment.added".to_owned()) && logged.contains(&"equipment.updated".to_owned())
    );
}

fn register_writes_commit_with_their_record(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let mut prestart = record(
        &acme.id,
        &acme.a.id,
        &acme.worker.id,
        T0,
        Body::PreStart(sample::prestart(&acme.worker.id)),
    );
    let named = EquipmentUnit {
        added_from_record: Some(prestart.record.header.id.clone()),
        ..unit("LD-7", &acme.worker.id)
    };
    let hold = EquipmentHold {
        unit_key: sync_core::program::unit_key("LD-7"),
        action_id: "action-1".into(),
        source_record: prestart.record.header.id.clone(),
        held_at_ms: T0,
        released_at_ms: None,
    };
    let change = AcceptedChange {
        register: vec![
            RegisterWrite::FieldUnit(named.clone()),
            RegisterWrite::Hold(hold.clone()),
        ],
        ..created(&mut prestart, "phone-1", &[])
    };
    accept(store, &[change]);
    assert_eq!(store.equipment_units(&acme.id).expect("register"), [named]);
    assert_eq!(
        store.equipment_holds(&acme.id).expect("holds"),
        std::slice::from_ref(&hold)
    );
    // A lower meter reading synced late never turns the meter back; a higher one raises it.
    for (hours, expected) in [(1100.0, 1200.0), (1250.0, 1250.0)] {
        let reading = EquipmentUnit {
            hour_meter: Some(hours),
            ..unit("LD-7", &acme.worker.id)
        };
        let again = AcceptedChange {
            register: vec![RegisterWrite::FieldUnit(reading)],
            ..edited(&mut prestart, "phone-1", revise)
        };
        accept(store, &[again]);
        let meter = store
            .equipment_unit(&acme.id, "LD-7")
            .expect("read")
            .expect("unit")
            .hour_meter;
        assert_eq!(meter, Some(expected));
    }
    let release = AcceptedChange {
        register: vec![RegisterWrite::Release {
            action_id: "action-1".into(),
            at_ms: T0 + HOUR,
        }],
        ..edited(&mut prestart, "phone-1", revise)
    };
    accept(store, &[release]);
    assert_eq!(
        store.equipment_holds(&acme.id).expect("holds"),
        [EquipmentHold {
            released_at_ms: Some(T0 + HOUR),
            ..hold
        }]
    );
    let logged = actions(store, &acme.id);
    for action in [
        "equipment.added_from_field",
        "equipment.held",
        "equipment.released",
    ] {
        assert_eq!(
            logged.iter().filter(|a| *a == action).count(),
            1,
            "{action}: {logged:?}"
        );
    }
}

fn an_inspection_schedule_is_created_listed_and_ended_once(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let schedule = |id: &str, site: &Site| InspectionSchedule {
        id: id.into(),
        tenant_id: acme.id.clone(),
        site_id: site.id.clone(),
        title: "Weekly site walk".into(),
        checklist: vec![ChecklistTemplateItem {
            label: "Fire extinguishers charged".into(),
            critical: true,
        }],
        rrule: "FREQ=WEEKLY;INTERVAL=1".into(),
        starts_at_ms: T0,
        assignee: acme.supervisor.id.clone(),
        created_by: acme.admin.id.clone(),
        created_at_ms: T0,
        ended_at_ms: None,
    };
    let walk_a = schedule("walk-a", &acme.a);
    let walk_b = schedule("walk-b", &acme.b);
    store.create_inspection_schedule(&walk_a).expect("created");
    store.create_inspection_schedule(&walk_b).expect("created");
    assert_eq!(
        store.inspection_schedule(&acme.id, "walk-a").expect("read"),
        Some(walk_a.clone())
    );
    assert_eq!(
        store
            .inspection_schedules(&acme.id, Some(&acme.a.id))
            .expect("list"),
        std::slice::from_ref(&walk_a)
    );
    assert_eq!(store.inspection_schedules(&acme.id, None).expect("list").len(), 2);
    assert!(
        store
            .end_inspection_schedule(&acme.id, "walk-a", T0 + HOUR, &acme.admin.id)
            .expect("end")
    );
    assert!(
        !store
            .end_inspection_schedule(&acme.id, "walk-a", T0 + 2 * HOUR, &acme.admin.id)
            .expect("end")
    );
    assert_eq!(
        store
            .inspection_schedule(&acme.id, "walk-a")
            .expect("read")
            .expect("schedule")
            .ended_at_ms,
        Some(T0 + HOUR)
    );
    let other = company(store, "Other");
    assert_eq!(
        store.inspection_schedule(&other.id, "walk-a").expect("read"),
        None
    );
    assert!(
        !store
            .end_inspection_schedule(&other.id, "walk-b", T0, "x")
            .expect("end")
    );
    let logged = actions(store, &acme.id);
    assert!(logged.contains(&"inspection_schedule.created".to_owned()));
    assert!(logged.contains(&"inspection_schedule.ended".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Audit log

fn audit_entries_are_listed_newest_first_per_company(b: impl Backend) {
    let store = b.store();
    let acme = store.create_company("Acme").expect("company");
    let other = store.create_company("Other").expect("company");
    for action in ["first", "second", "third"] {
        store
            .audit(&acme.id, "ann", action, &format!("the {action} thing"))
            .expect("audit");
    }
    store
        .audit(&other.id, "kim", "theirs", "another company's")
        .expect("audit");
    let log = store.audit_log(&acme.id, 10).expect("log");
    let order: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(order, ["third", "second", "first"]);
    assert!(log.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
    assert_eq!(log[0].user_id, "ann");
    assert_eq!(log[0].detail, "the third thing");
    assert_eq!(
        store.audit_log(&acme.id, 2).expect("log").len(),
        2,
        "at most the limit"
    );
    assert_eq!(actions(store, &other.id), ["theirs"]);
    // An audit note given with a push commits with it.
    let mut made = jsea(&acme.id, "site", "ann", T0);
    store
        .accept_all(
            &[created(&mut made, "phone-1", &[])],
            Some(&AuditNote {
                user_id: "ann".into(),
                action: "record.created".into(),
                detail: "from the office".into(),
            }),
        )
        .expect("accepted");
    assert_eq!(
        store.audit_log(&acme.id, 1).expect("log")[0].action,
        "record.created"
    );
}

fn an_audit_note_without_its_change_is_refused_not_lost(b: impl Backend) {
    let store = b.store();
    let acme = store.create_company("Acme").expect("company");
    let before = store.audit_log(&acme.id, 10).expect("log").len();
    let refused = store.accept_all(
        &[],
        Some(&AuditNote {
            user_id: "ann".into(),
            action: "record.created".into(),
            detail: "with no record".into(),
        }),
    );
    assert!(
        matches!(&refused, Err(server::store::StoreError::Invalid(m)) if m.contains("record.created")),
        "{refused:?}"
    );
    assert_eq!(store.audit_log(&acme.id, 10).expect("log").len(), before);
    store.accept_all(&[], None).expect("nothing to write is nothing");
}

// ---------------------------------------------------------------------------------------------
// Migrations

fn a_reopened_store_keeps_its_data(b: impl Backend) {
    let (acme, id, head, unit_id) = {
        let store = b.store();
        let acme = company(store, "Acme");
        let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
        accept(store, &[created(&mut made, "phone-1", &[flag("jsea.late")])]);
        sign_in(store, &acme.worker, "phone-1", "r-1");
        store
            .add_equipment_unit(
                &acme.id,
                &unit("LD-3", &acme.admin.id),
                &note(&acme.admin, "equipment.added"),
            )
            .expect("unit");
        let head = store.feed_head(&acme.id).expect("head");
        (acme, made.record.header.id.clone(), head, "LD-3")
    };
    let b = b.reopen();
    let store = b.store();
    assert!(!store.is_empty().expect("empty"));
    assert_eq!(
        store.user_by_email("lee@acme.test").expect("read"),
        Some(acme.worker.clone())
    );
    assert_eq!(store.sites(&acme.id).expect("sites").len(), 2);
    assert_eq!(store.feed_head(&acme.id).expect("head"), head);
    assert_eq!(feed_ids(store, &scope_of(&acme.admin)), std::slice::from_ref(&id));
    assert!(store.document(&acme.id, &id).expect("read").is_some());
    assert_eq!(
        store.record_flags(&acme.id, &id).expect("flags"),
        [flag("jsea.late")]
    );
    assert!(store.equipment_unit(&acme.id, unit_id).expect("read").is_some());
    assert!(matches!(
        rotate(store, "r-1", Some("phone-1"), "r-2", T0),
        RefreshUse::Valid { .. }
    ));
    // A record stored after the reopening continues the feed.
    let mut later = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0 + 1);
    accept(store, &[created(&mut later, "phone-1", &[])]);
    assert!(store.feed_head(&acme.id).expect("head") > head);
}

// ---------------------------------------------------------------------------------------------
// Several writers at once

/// A write commits after a later one has taken its feed position: a device reading the feed
/// meanwhile must not move its cursor past the late entry. Each reader pages through the feed
/// by cursor, as devices do, while two writers overlap (the first holds its commit back); every
/// entry must reach every reader.
fn a_reader_never_skips_an_entry_committed_late(b: impl Backend) {
    let store = b.store();
    let acme = company(store, "Acme");
    let admin = scope_of(&acme.admin);
    let mut seed = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut seed, "phone-0", &[])]);
    b.delay_commits(Duration::from_millis(300));
    let mut slow = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0 + 1);
    let mut fast = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0 + 2);
    let (slow_change, fast_change) = (
        created(&mut slow, "phone-1", &[]),
        created(&mut fast, "phone-2", &[]),
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut cursor = 0;
            let mut seen = Vec::new();
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                for entry in store.feed(&admin, cursor, 100).expect("feed") {
                    cursor = entry.seq;
                    seen.push(entry.doc_id);
                }
                if done {
                    return seen;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let first = s.spawn(|| accept(store, std::slice::from_ref(&slow_change)));
        std::thread::sleep(Duration::from_millis(50));
        let second = s.spawn(|| accept(store, std::slice::from_ref(&fast_change)));
        first.join().expect("first writer");
        second.join().expect("second writer");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().expect("reader")
    });
    b.delay_commits(Duration::ZERO);
    let mut expected = sorted(&[
        &seed.record.header.id,
        &slow.record.header.id,
        &fast.record.header.id,
    ]);
    let mut got = seen.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "every entry reached the reader once: {seen:?}");
    let all = store.feed(&admin, 0, 100).expect("feed");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// Two server processes store edits of the same record at once, each as a sync does: hold the
/// record, read it, merge, write the new changes (and, as compaction does, a fresh snapshot).
/// No edit is lost: a snapshot written from a stale read would drop the other's changes.
fn two_processes_writing_one_record_lose_nothing(b: impl Backend) {
    let Some(second) = b.another_process() else {
        return;
    };
    let store = b.store();
    let acme = company(store, "Acme");
    let mut made = jsea(&acme.id, &acme.a.id, &acme.worker.id, T0);
    accept(store, &[created(&mut made, "phone-0", &[])]);
    let id = made.record.header.id.clone();
    const EDITS: usize = 12;
    let write = |process: &dyn RecordStore, who: &str| {
        for n in 0..EDITS {
            let _held = process
                .hold_records(&acme.id, std::slice::from_ref(&id))
                .expect("hold");
            let stored = process.document(&acme.id, &id).expect("read").expect("stored");
            let mut doc = RecordDocument::load_chunks(
                &stored.snapshot,
                stored.chunks.iter().map(Vec::as_slice),
                ActorId::random(),
            )
            .expect("loads");
            let before = doc.heads();
            let (_, change) = doc
                .update(&acme.worker.id, T0 + HOUR, |r| {
                    if let Body::Jsea(j) = &mut r.body {
                        j.task.push_str(&format!(" [{who}{n}]"));
                    }
                    Ok(())
                })
                .expect("edit");
            assert!(change.is_some());
            let record = doc.record().expect("record");
            let snapshot = doc.save();
            process
                .accept_all(
                    &[AcceptedChange {
                        tenant_id: acme.id.clone(),
                        doc_id: id.clone(),
                        origin_device: format!("phone-{who}"),
                        chunk: doc.save_after(&before),
                        snapshot: Some(snapshot),
                        projection: Projection::of(&record, &[], &[], 0),
                        flags: Vec::new(),
                        stamps: Vec::new(),
                        rejudge_at: None,
                        program_fact_from: None,
                        register: Vec::new(),
                    }],
                    None,
                )
                .expect("stored");
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| write(store, "a"));
        s.spawn(|| write(second.as_ref(), "b"));
    });
    let stored = store.document(&acme.id, &id).expect("read").expect("stored");
    let doc = RecordDocument::load_chunks(
        &stored.snapshot,
        stored.chunks.iter().map(Vec::as_slice),
        ActorId::random(),
    )
    .expect("loads");
    let Body::Jsea(jsea) = doc.record().expect("record").body else {
        panic!("a JSEA");
    };
    for who in ["a", "b"] {
        for n in 0..EDITS {
            assert!(
                jsea.task.contains(&format!("[{who}{n}]")),
                "edit {who}{n} kept: {}",
                jsea.task
            );
        }
    }
    let listed = store
        .list_records(&scope_of(&acme.admin), &ListFilter::default())
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].content_hash,
        Projection::of(&doc.record().expect("record"), &[], &[], 0).content_hash,
        "the list row is the merged record's, not one process's stale view"
    );
}

/// A phone's refresh reaches two processes at once (a retry through the load balancer): one
/// exchange succeeds, the other is the replay it is, and the token is spent once.
fn two_processes_rotating_one_refresh_token_spend_it_once(b: impl Backend) {
    let Some(second) = b.another_process() else {
        return;
    };
    let store = b.store();
    let acme = company(store, "Acme");
    sign_in(store, &acme.worker, "phone-1", "r-1");
    let answers = std::thread::scope(|s| {
        let one = s.spawn(|| rotate(store, "r-1", None, "r-2a", T0));
        let two = s.spawn(|| rotate(second.as_ref(), "r-1", None, "r-2b", T0));
        [one.join().expect("one"), two.join().expect("two")]
    });
    let valid = answers
        .iter()
        .filter(|a| matches!(a, RefreshUse::Valid { .. }))
        .count();
    assert_eq!(valid, 1, "exactly one exchange succeeds: {answers:?}");
    assert!(
        answers.iter().any(|a| matches!(a, RefreshUse::Reused { .. })),
        "the other is a replay (no device was named, so no grace): {answers:?}"
    );
}

/// A device's request budget spent through two processes is one budget: spread over them it
/// runs out as soon as it would on one, and says how long to wait.
fn a_rate_limit_holds_across_processes(b: impl Backend) {
    let Some(second) = b.another_process() else {
        return;
    };
    let (Some(one), Some(two)) = (b.store().shared_rate_buckets(), second.shared_rate_buckets()) else {
        panic!("a store several processes share keeps its rate limits in the store");
    };
    // Three requests at once, then one every ten seconds.
    let (capacity, per_second) = (3.0, 0.1);
    assert_eq!(
        one.take_token("device:phone-1", capacity, per_second)
            .expect("take"),
        Ok(())
    );
    assert_eq!(
        two.take_token("device:phone-1", capacity, per_second)
            .expect("take"),
        Ok(())
    );
    assert_eq!(
        one.take_token("device:phone-1", capacity, per_second)
            .expect("take"),
        Ok(())
    );
    let refused = two
        .take_token("device:phone-1", capacity, per_second)
        .expect("take");
    let wait = refused.expect_err("the fourth request is refused, whichever process it reaches");
    assert!(
        wait > Duration::from_secs(5) && wait <= Duration::from_secs(10),
        "about ten seconds until the next token: {wait:?}"
    );
    assert!(
        one.has_token("device:phone-1", capacity, per_second)
            .expect("check")
            .is_err()
    );
    // Another key has its own budget; looking does not spend.
    assert_eq!(
        one.has_token("device:phone-2", capacity, per_second)
            .expect("check"),
        Ok(())
    );
    assert_eq!(
        two.take_token("device:phone-2", capacity, per_second)
            .expect("take"),
        Ok(())
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL from async threads

/// The blocking PostgreSQL client refuses to run on a thread that drives async tasks. The server
/// calls the store from blocking threads, but a call from an async one (a handler, a harness)
/// must answer rather than bring the process down, on either kind of runtime, and dropping the
/// store there must not either.
async fn postgres_answers_on_an_async_thread() {
    let Some(database) = ScratchDatabase::create("the PostgreSQL store on an async thread") else {
        return;
    };
    let store = PgStore::connect(database.url()).expect("connects");
    store.health().expect("health");
    let acme = company(&store, "Acme");
    assert_eq!(
        server::store::DirectoryStore::sites(&store, &acme.id)
            .expect("sites")
            .len(),
        2
    );
    let held = store
        .hold_records(&acme.id, &["a-record".to_owned()])
        .expect("hold");
    drop(held);
    drop(store);
    drop(database);
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_answers_on_a_single_threaded_runtime() {
    postgres_answers_on_an_async_thread().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_on_a_multi_threaded_runtime() {
    postgres_answers_on_an_async_thread().await;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL migrations

/// Processes of a rolling upgrade start at once on a new database: one migrates, the others wait
/// for it and find nothing to do; a database a newer release wrote is refused, saying so.
#[test]
fn postgres_migrates_once_when_processes_start_together_and_refuses_a_newer_schema() {
    let Some(database) = ScratchDatabase::create("PostgreSQL migrations") else {
        return;
    };
    let stores: Vec<PgStore> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..4)
            .map(|_| s.spawn(|| PgStore::connect(database.url()).expect("starts")))
            .collect();
        starting.into_iter().map(|t| t.join().expect("start")).collect()
    });
    let acme = company(&stores[0], "Acme");
    let later: &dyn RecordStore = &stores[3];
    assert!(
        later
            .company_by_name("Acme")
            .expect("read")
            .is_some_and(|c| c.id == acme.id)
    );
    drop(stores);
    let mut admin = ::postgres::Client::connect(database.url().secret(), ::postgres::NoTls).expect("connect");
    let versions: Vec<i32> = admin
        .query("SELECT version FROM muster_schema ORDER BY version", &[])
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=server::store::postgres::schema::VERSION).collect::<Vec<_>>()
    );
    admin
        .execute("INSERT INTO muster_schema (version) VALUES (999)", &[])
        .expect("a newer release's version");
    drop(admin);
    let refused = PgStore::connect(database.url()).expect_err("a newer schema is refused");
    assert!(
        refused.to_string().contains("newer server (schema 999"),
        "{refused}"
    );
}
