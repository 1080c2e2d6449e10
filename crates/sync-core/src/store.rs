//! The device's local store: record documents as a snapshot plus incremental change chunks in
//! SQLite (WAL), the projection rows for lists, and the outbox of changes the server has not yet
//! acknowledged. Every acknowledged edit is one transaction: chunk, projection and outbox together.
//!
//! Write transactions begin IMMEDIATE: a deferred one that must upgrade to a writer fails at once
//! ("database is locked") if another connection, such as a sync running beside the UI, wrote in
//! between; an immediate one waits its turn under the busy timeout.

use automerge::{ActorId, ChangeHash};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::document::{Conflict, RecordDocument};
use crate::error::{Error, Result};
use crate::flags::{self, Flag};
use crate::lifecycle::{self, Actor};
use crate::model::{ANONYMOUS, ApprovalDecision, Body, Header, NearMiss, Record, SCHEMA_VERSION, new_id};
use crate::projection::{ListFilter, Projection};
use crate::protocol::{Limits, TokenResponse};
use crate::records_sql::{PROJECTION_COLUMNS, filter_conditions, order_sql, projection_from_row};
use crate::schema;
use crate::stamp::Stamp;
use crate::sync::Rejection;
use crate::sync::plan::{Action, Outgoing};
use crate::validate::{self, Finding};

/// Fold a document's chunks into a new snapshot once it has this many.
pub const COMPACT_AFTER_CHUNKS: i64 = 32;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The person signed in on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: String,
    pub tenant_id: String,
    pub display_name: String,
}

/// A record with everything a person needs to see about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordView {
    pub record: Record,
    pub findings: Vec<Finding>,
    pub flags: Vec<Flag>,
    pub conflicts: Vec<Conflict>,
    /// Actor id (hex) → user id of everyone who wrote to the record.
    pub authors: BTreeMap<String, String>,
    /// Local edits the server has not acknowledged yet.
    pub pending_sync: bool,
    /// Why the server refused this record's changes, if it did.
    pub rejection: Option<Rejection>,
    /// This phone filed the record anonymously: the only place it shows as the person's own.
    pub anonymous_by_me: bool,
}

/// An outbox entry: a record with edits the server has not acknowledged. These are exactly what
/// would be lost if the app's data were deleted now, so the app can list them by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub record_id: String,
    pub kind: String,
    /// The record's list title (task, unit or what happened).
    pub title: String,
    pub status: String,
    pub queued_at_ms: i64,
    /// Edits made here since the server last acknowledged the record.
    pub edits: i64,
    /// The server has never acknowledged any of it: the whole record exists only on this device.
    pub never_synced: bool,
}

/// The local store on one device.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    device_id: String,
    profile: Option<(Profile, ActorId)>,
}

/// The current wall time, Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Concatenated 32-byte change hashes, the compact form heads are stored in.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::CorruptDocument(format!(
            "heads of {} bytes are not whole hashes",
            bytes.len()
        )));
    }
    bytes
        .chunks_exact(32)
        .map(|c| ChangeHash::try_from(c).map_err(|e| Error::CorruptDocument(format!("bad change hash: {e}"))))
        .collect()
}

impl Store {
    /// Opens the store at `path`, creating it if the file does not exist.
    ///
    /// A file that is not a Muster store, or is damaged, is refused with a clear error and left
    /// exactly as it was.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        check_header(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&shown, e))?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| classify(&shown, e))?;
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| classify(&shown, e))?;
        if app_id != schema::APPLICATION_ID {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .map_err(|e| classify(&shown, e))?;
            if app_id != 0 || tables > 0 || version != 0 {
                return Err(Error::ForeignDatabase {
                    path: shown,
                    reason: format!(
                        "it is another application's SQLite database (application id {app_id:#x})"
                    ),
                });
            }
        }
        if version > schema::VERSION {
            return Err(Error::SchemaTooNew {
                found: version,
                supported: schema::VERSION,
            });
        }
        // WAL with synchronous=FULL: every commit syncs the WAL to storage before it returns, so
        // an edit shown to a person as saved (a signed JSEA, a reported near-miss) survives power
        // loss, not just an app crash. NORMAL would sync only at checkpoints: still consistent
        // after power loss, but the last commits could silently roll back, breaking "no
        // acknowledged write is ever lost". The price is one sync per commit; commits here are
        // human-paced edits and one per sync round trip, and measured against NORMAL the
        // difference on a create-and-save was lost in the noise of building the document.
        // fullfsync: on iOS a plain fsync leaves data in the drive's cache; F_FULLFSYNC flushes
        // it (the setting is ignored on Android and Linux, whose fsync already does).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| classify(&shown, e))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "fullfsync", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Room for every statement a sync runs per record (see `run`); the default holds 16.
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        if version < schema::VERSION {
            let tx = conn.transaction()?;
            schema::upgrade(&tx, version)?;
            tx.commit()?;
        }
        let device_id = match meta_get(&conn, "device_id")? {
            Some(id) => id,
            None => {
                let id = new_id();
                meta_set(&conn, "device_id", &id)?;
                id
            }
        };
        let mut store = Self {
            conn,
            path,
            device_id,
            profile: None,
        };
        if let Some(json) = meta_get(&store.conn, "profile")? {
            let profile: Profile = serde_json::from_str(&json)?;
            let actor = store.actor_for(&profile.user_id)?;
            store.profile = Some((profile, actor));
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Recovers what is readable of a damaged store into a new one; see [`crate::recovery`].
    /// For a file [`Store::open`] refused as damaged; the damaged file is moved aside, never deleted.
    pub fn recover(
        damaged: impl AsRef<Path>,
        new_path: impl AsRef<Path>,
    ) -> Result<crate::recovery::RecoveryReport> {
        crate::recovery::recover(damaged, new_path)
    }

    /// Random id minted when the store was created; stable for the life of the install.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref().map(|(p, _)| p)
    }

    /// This device's actor id for the signed-in user (one actor per device and user).
    pub fn actor(&self) -> Result<&ActorId> {
        self.profile.as_ref().map(|(_, a)| a).ok_or(Error::NotSignedIn)
    }

    /// Signs a person in on this device. Each user gets their own actor id on this device, so
    /// every change stays attributable to one person.
    pub fn sign_in(&mut self, profile: Profile) -> Result<()> {
        if profile.user_id.trim().is_empty() || profile.tenant_id.trim().is_empty() {
            return Err(Error::Invalid("a profile needs a user id and a company".into()));
        }
        if let Some(existing) = self.profile()
            && existing.tenant_id != profile.tenant_id
            && self.count_records()? > 0
        {
            return Err(Error::Invalid(format!(
                "this device holds records of company {}; it cannot be signed in to company {}",
                existing.tenant_id, profile.tenant_id
            )));
        }
        let actor = self.actor_for(&profile.user_id)?;
        meta_set(&self.conn, "profile", &serde_json::to_string(&profile)?)?;
        self.profile = Some((profile, actor));
        Ok(())
    }

    fn actor_for(&self, user_id: &str) -> Result<ActorId> {
        let key = format!("actor:{user_id}");
        match meta_get(&self.conn, &key)? {
            Some(hex) => ActorId::try_from(hex.as_str()).map_err(|e| Error::CorruptDatabase {
                path: self.path.display().to_string(),
                reason: format!("stored actor id is not hex: {e}"),
            }),
            None => {
                let actor = ActorId::random();
                meta_set(&self.conn, &key, &actor.to_hex_string())?;
                Ok(actor)
            }
        }
    }

    fn signed_in(&self) -> Result<(&Profile, &ActorId)> {
        self.profile
            .as_ref()
            .map(|(p, a)| (p, a))
            .ok_or(Error::NotSignedIn)
    }

    fn me(&self) -> Result<Actor> {
        let (p, _) = self.signed_in()?;
        Ok(Actor {
            user_id: p.user_id.clone(),
            name: p.display_name.clone(),
        })
    }

    /// Creates a record at `site_id` in the signed-in person's name and returns its id.
    pub fn create(
        &mut self,
        site_id: &str,
        job_id: Option<&str>,
        body: Body,
        stamp: Stamp,
    ) -> Result<String> {
        let (profile, actor) = self.signed_in()?;
        let (user_id, actor) = (profile.user_id.clone(), actor.clone());
        self.create_as(site_id, job_id, body, stamp, &user_id, actor)
    }

    /// Files a near miss anonymously (DESIGN §3): the document names no one. It is written by an
    /// actor of its own, used for this record only, so its actor id does not link it to the
    /// reporter's other records; `created_by` and the authors map say [`ANONYMOUS`]. The server
    /// links that actor to the person privately, for its write checks only. Only this phone
    /// shows the report as the person's own ([`RecordView::anonymous_by_me`]).
    pub fn create_anonymous_near_miss(
        &mut self,
        site_id: &str,
        job_id: Option<&str>,
        mut near_miss: NearMiss,
        stamp: Stamp,
    ) -> Result<String> {
        self.signed_in()?;
        near_miss.reporter_id = None;
        let actor = ActorId::random();
        let id = self.create_as(
            site_id,
            job_id,
            Body::NearMiss(near_miss),
            stamp,
            ANONYMOUS,
            actor.clone(),
        )?;
        Ok(id)
    }

    fn create_as(
        &mut self,
        site_id: &str,
        job_id: Option<&str>,
        body: Body,
        stamp: Stamp,
        author: &str,
        actor: ActorId,
    ) -> Result<String> {
        let (profile, _) = self.signed_in()?;
        let record = Record {
            header: Header {
                id: new_id(),
                kind: body.kind().as_str().to_owned(),
                schema_version: SCHEMA_VERSION,
                tenant_id: profile.tenant_id.clone(),
                site_id: site_id.to_owned(),
                job_id: job_id.map(str::to_owned),
                created_by: author.to_owned(),
                created: stamp,
            },
            body,
        };
        let mut doc = RecordDocument::create(actor, author, &record, now_ms())?;
        let snapshot = doc.save();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO documents (id, kind, snapshot, chunk_count, updated_at_ms) VALUES (?1, ?2, ?3, 0, ?4)",
            params![record.header.id, record.header.kind, snapshot, now_ms()],
        )?;
        if author == ANONYMOUS {
            // In the same transaction as the record, so the report is never left without the
            // actor that may change it.
            meta_set(
                &tx,
                &anonymous_actor_key(&record.header.id),
                &doc.actor().to_hex_string(),
            )?;
        }
        // A new document holds exactly the record it was made from, with one author and so no
        // conflicts: no need to read it back (a third of a create's time).
        write_projection_of(&tx, &record, 0)?;
        queue(&tx, &record.header.id)?;
        tx.commit()?;
        Ok(record.header.id)
    }

    /// The actor this device filed an anonymous record with, if it filed `id` anonymously.
    fn anonymous_actor(&self, id: &str) -> Result<Option<ActorId>> {
        meta_get(&self.conn, &anonymous_actor_key(id))?
            .map(|hex| {
                ActorId::try_from(hex.as_str()).map_err(|e| Error::CorruptDatabase {
                    path: self.path.display().to_string(),
                    reason: format!("stored anonymous actor id is not hex: {e}"),
                })
            })
            .transpose()
    }

    /// Who writes an edit to `id` from this device, and with which actor: the person, or for a
    /// report they filed anonymously, that report's own actor in no one's name.
    fn writer_for(&self, id: &str) -> Result<(String, ActorId)> {
        let (profile, actor) = self.signed_in()?;
        Ok(match self.anonymous_actor(id)? {
            Some(anonymous) => (ANONYMOUS.to_owned(), anonymous),
            None => (profile.user_id.clone(), actor.clone()),
        })
    }

    /// Loads a record's document with this device's actor.
    pub fn document(&self, id: &str) -> Result<RecordDocument> {
        let actor = self
            .profile
            .as_ref()
            .map(|(_, a)| a.clone())
            .unwrap_or_else(ActorId::random);
        load_document(&self.conn, id, actor)
    }

    /// Applies an edit made by the signed-in person, durably, in one transaction.
    pub fn edit<T>(&mut self, id: &str, edit: impl FnOnce(&mut Record) -> Result<T>) -> Result<T> {
        let (user_id, actor) = self.writer_for(id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut doc = load_document(&tx, id, actor)?;
        check_anonymity(&doc, &user_id)?;
        let before = doc.heads();
        let (out, change) = doc.update(&user_id, now_ms(), |record| {
            let out = edit(record)?;
            if record.header.is_anonymous() && record.body.spec().named_author().is_some() {
                return Err(Error::Invalid(
                    "an anonymous report names no reporter; file a new, named report instead".into(),
                ));
            }
            Ok(out)
        })?;
        if change.is_some() {
            let chunk = doc.save_after(&before);
            append_chunk(&tx, id, &chunk, &mut doc)?;
            write_projection(&tx, &doc)?;
            queue(&tx, id)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// The record with its findings, flags and open conflicts.
    pub fn record(&self, id: &str) -> Result<RecordView> {
        let doc = self.document(id)?;
        let pending: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE doc_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        let mut view = view(&doc, pending)?;
        view.rejection = self.rejections()?.into_iter().find(|r| r.record_id == id);
        view.anonymous_by_me = self.anonymous_actor(id)?.is_some();
        Ok(view)
    }

    /// Lists records from the projection in the filter's order, never loading a document.
    /// The time-bound flags on the records assigned to `user_id` (their certificates nearing or
    /// past expiry, their corrective actions past due), judged at `now_ms` by this phone's clock:
    /// the person's own alerts, offline. The server judges the same at its own clock for the
    /// office; stored list rows carry neither, since they would go stale as time passes.
    pub fn alerts_for(&self, user_id: &str, now_ms: i64) -> Result<Vec<(Projection, Flag)>> {
        let mine = ListFilter {
            assignee: Some(user_id.to_owned()),
            limit: Some(1_000),
            ..ListFilter::default()
        };
        let at_now = flags::Context {
            now_ms: Some(now_ms),
            ..flags::Context::default()
        };
        let mut alerts = Vec::new();
        for row in self.list(&mine)? {
            let record = self.record(&row.id)?.record;
            let timeless = flags::compute(&record);
            let timed: Vec<Flag> = flags::compute_in(&record, &at_now)
                .into_iter()
                .filter(|f| !timeless.contains(f))
                .collect();
            alerts.extend(timed.into_iter().map(|f| (row.clone(), f)));
        }
        Ok(alerts)
    }

    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Projection>> {
        let mut args = Vec::new();
        let mut sql = format!(
            "SELECT {PROJECTION_COLUMNS} FROM records WHERE 1=1{} ORDER BY {}",
            filter_conditions(filter, &mut args),
            order_sql(filter.order)
        );
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit} OFFSET {}", filter.offset.unwrap_or(0)));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), projection_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count_records(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))?)
    }

    /// Records with edits the server has not acknowledged, oldest first.
    pub fn pending(&self) -> Result<Vec<Pending>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.doc_id, d.kind, COALESCE(r.title, ''), COALESCE(r.status, ''), o.queued_at_ms, o.edits,
                    d.acked_heads IS NULL
             FROM outbox o JOIN documents d ON d.id = o.doc_id LEFT JOIN records r ON r.id = o.doc_id
             ORDER BY o.queued_at_ms, o.doc_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Pending {
                record_id: r.get(0)?,
                kind: r.get(1)?,
                title: r.get(2)?,
                status: r.get(3)?,
                queued_at_ms: r.get(4)?,
                edits: r.get(5)?,
                never_synced: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Folds a document's chunks into one snapshot.
    pub fn compact(&mut self, id: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut doc = load_document(&tx, id, ActorId::random())?;
        compact_in(&tx, id, &mut doc)?;
        tx.commit()?;
        Ok(())
    }

    /// Merges changes that arrived for a record (from the server, or another phone), creating
    /// the record if it is new here. Bad bytes are refused before anything is written.
    pub fn merge_remote(&mut self, id: &str, bytes: &[u8]) -> Result<()> {
        let actor = self
            .profile
            .as_ref()
            .map(|(_, a)| a.clone())
            .unwrap_or_else(ActorId::random);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        merge_in(&tx, id, bytes, actor)?;
        tx.commit()?;
        Ok(())
    }

    /// Merges another device's copy of a record (phone-to-phone over a hotspot, or in tests).
    pub fn merge_from(&mut self, other: &Store, id: &str) -> Result<()> {
        let mut theirs = other.document(id)?;
        let bytes = theirs.save();
        self.merge_remote(id, &bytes)
    }

    /// Ids of every record in the store.
    pub fn record_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM documents ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // Lifecycle steps, as the signed-in person.

    pub fn complete(&mut self, id: &str, stamp: Stamp) -> Result<()> {
        self.edit(id, |r| lifecycle::complete(r, stamp))
    }

    pub fn sign(&mut self, id: &str, stamp: Stamp) -> Result<()> {
        let me = self.me()?;
        self.edit(id, |r| lifecycle::sign(r, &me, stamp))
    }

    pub fn decide(
        &mut self,
        id: &str,
        decision: ApprovalDecision,
        comment: Option<String>,
        stamp: Stamp,
    ) -> Result<()> {
        let me = self.me()?;
        self.edit(id, |r| lifecycle::decide(r, &me, decision, comment, stamp))
    }

    pub fn start_work(&mut self, id: &str, stamp: Stamp) -> Result<()> {
        self.edit(id, |r| lifecycle::start_work(r, stamp))
    }

    pub fn close(&mut self, id: &str, stamp: Stamp) -> Result<()> {
        self.edit(id, |r| lifecycle::close(r, stamp))
    }

    pub fn reopen(&mut self, id: &str, reason: &str, stamp: Stamp) -> Result<()> {
        let me = self.me()?;
        self.edit(id, |r| lifecycle::reopen(r, &me, reason, stamp))
    }

    /// Resolves a conflicting field by choosing its value.
    pub fn resolve_conflict(&mut self, id: &str, path: &str, value: &str) -> Result<()> {
        let (user_id, actor) = self.writer_for(id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut doc = load_document(&tx, id, actor)?;
        check_anonymity(&doc, &user_id)?;
        let before = doc.heads();
        doc.resolve_conflict(&user_id, now_ms(), path, value)?;
        let chunk = doc.save_after(&before);
        append_chunk(&tx, id, &chunk, &mut doc)?;
        write_projection(&tx, &doc)?;
        queue(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Checks every page of the database file; use after a crash report or before a backup.
    pub fn check_integrity(&self) -> Result<()> {
        let result: String = self.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(Error::CorruptDatabase {
                path: self.path.display().to_string(),
                reason: result,
            })
        }
    }
}

/// Server credentials kept on the device so a phone offline for weeks can still sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub server_url: String,
    pub access_token: String,
    pub access_expires_at_ms: i64,
    pub refresh_token: String,
    pub limits: Limits,
}

/// What applying one sync answer changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub accepted: u32,
    pub received: u32,
    pub rejected: Vec<Rejection>,
}

impl Store {
    /// Saves the tokens from a login or refresh and signs the person in.
    pub fn save_credentials(&mut self, server_url: &str, tokens: &TokenResponse) -> Result<()> {
        self.sign_in(Profile {
            user_id: tokens.user.id.clone(),
            tenant_id: tokens.user.tenant_id.clone(),
            display_name: tokens.user.name.clone(),
        })?;
        let credentials = Credentials {
            server_url: server_url.trim_end_matches('/').to_owned(),
            access_token: tokens.access_token.clone(),
            access_expires_at_ms: tokens.access_expires_at_ms,
            refresh_token: tokens.refresh_token.clone(),
            limits: tokens.limits.clone(),
        };
        self.set_credentials(&credentials)
    }

    /// Replaces the stored credentials (a moved server address, tokens restored by support).
    pub fn set_credentials(&mut self, credentials: &Credentials) -> Result<()> {
        meta_set(&self.conn, "credentials", &serde_json::to_string(credentials)?)
    }

    pub fn credentials(&self) -> Result<Option<Credentials>> {
        match meta_get(&self.conn, "credentials")? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Keeps the equipment register as fetched, replacing the one kept before.
    pub fn save_equipment_register(&mut self, register: &crate::protocol::EquipmentRegister) -> Result<()> {
        meta_set(
            &self.conn,
            "equipment_register",
            &serde_json::to_string(register)?,
        )
    }

    /// The equipment register as last fetched, for naming units offline; `None` before the
    /// first fetch.
    pub fn equipment_register(&self) -> Result<Option<crate::protocol::EquipmentRegister>> {
        match meta_get(&self.conn, "equipment_register")? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Position in the server's change feed up to which this device has stored everything.
    pub fn cursor(&self) -> Result<u64> {
        Ok(meta_get(&self.conn, "cursor")?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }

    /// The cursor and the server's fingerprint of the feed entry it points at.
    pub fn cursor_with_check(&self) -> Result<(u64, u64)> {
        let check = meta_get(&self.conn, "cursor_check")?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((self.cursor()?, check))
    }

    /// Records whose history diverged from the server's, being reconciled with automerge's
    /// sync protocol.
    pub fn fallback_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key LIKE 'fallback:%' ORDER BY key")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The next automerge sync message for a record being reconciled (from an empty document
    /// when this device does not hold it).
    pub fn sync_message_for(&self, id: &str, state: &mut automerge::sync::State) -> Result<Option<Vec<u8>>> {
        let mut doc = match load_document(&self.conn, id, ActorId::random()) {
            Ok(doc) => doc,
            Err(Error::NotFound(_)) => RecordDocument::empty(ActorId::random()),
            Err(e) => return Err(e),
        };
        Ok(doc.generate_sync_message(state))
    }

    /// Applies the server's automerge sync message for a record, durably.
    pub fn receive_sync_message(
        &mut self,
        id: &str,
        state: &mut automerge::sync::State,
        message: &[u8],
    ) -> Result<()> {
        let actor = self
            .profile
            .as_ref()
            .map(|(_, a)| a.clone())
            .unwrap_or_else(ActorId::random);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = match load_document(&tx, id, actor.clone()) {
            Ok(doc) => Some(doc),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let existed = existing.is_some();
        let mut doc = existing.unwrap_or_else(|| RecordDocument::empty(actor));
        let before = doc.heads();
        doc.receive_sync_message(state, message)?;
        if doc.heads() != before {
            if existed {
                check_same_record(id, &doc)?;
                let chunk = doc.save_after(&before);
                append_chunk(&tx, id, &chunk, &mut doc)?;
                write_projection(&tx, &doc)?;
            } else if doc.has_record() {
                insert_received(&tx, id, &mut doc, None)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Asks the next sync to reconcile this record with the server through automerge's sync
    /// protocol, whatever either side believes the other has. A repair step for support staff;
    /// sync does it by itself when histories diverge.
    pub fn reconcile_with_server(&mut self, id: &str) -> Result<()> {
        meta_set(&self.conn, &format!("fallback:{id}"), id)
    }

    /// Both sides now hold the same history for the record: it is acknowledged as it stands.
    pub fn finish_fallback(&mut self, id: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Ok(mut doc) = load_document(&tx, id, ActorId::random()) {
            run(
                &tx,
                "UPDATE documents SET acked_heads = ?2 WHERE id = ?1",
                params![id, encode_heads(&doc.heads())],
            )?;
            run(&tx, "DELETE FROM outbox WHERE doc_id = ?1", [id])?;
        }
        run(&tx, "DELETE FROM meta WHERE key = ?1", [format!("fallback:{id}")])?;
        tx.commit()?;
        Ok(())
    }

    /// Records with changes to push, oldest first. A record the server refused for good is held
    /// back until someone edits it again; one refused for a passing reason is retried.
    pub fn outgoing(&self, max: usize) -> Result<Vec<Outgoing>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.doc_id, d.acked_heads FROM outbox o JOIN documents d ON d.id = o.doc_id
             LEFT JOIN rejections r ON r.doc_id = o.doc_id
             WHERE (r.doc_id IS NULL OR r.code = 'unknown_author')
               AND 'fallback:' || o.doc_id NOT IN (SELECT key FROM meta WHERE key LIKE 'fallback:%')
             ORDER BY o.queued_at_ms, o.doc_id LIMIT ?1",
        )?;
        let rows: Vec<(String, Option<Vec<u8>>)> = stmt
            .query_map([max as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, acked) in rows {
            let acked_heads = match acked {
                Some(bytes) => decode_heads(&bytes)?,
                None => Vec::new(),
            };
            let mut doc = load_document(&self.conn, &id, ActorId::random())?;
            let changes = if acked_heads.is_empty() {
                doc.save()
            } else {
                doc.save_after(&acked_heads)
            };
            out.push(Outgoing {
                heads: doc.heads(),
                id,
                acked_heads,
                changes,
            });
        }
        Ok(out)
    }

    /// Ids of records `outgoing` would offer, without loading their documents.
    pub fn sendable_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.doc_id FROM outbox o LEFT JOIN rejections r ON r.doc_id = o.doc_id
             WHERE (r.doc_id IS NULL OR r.code = 'unknown_author')
               AND 'fallback:' || o.doc_id NOT IN (SELECT key FROM meta WHERE key LIKE 'fallback:%')
             ORDER BY o.queued_at_ms, o.doc_id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Applies a sync answer and moves the cursor, in one transaction: either all of it is
    /// stored or none of it is, and the cursor never runs ahead of what is stored.
    pub fn apply_sync(
        &mut self,
        actions: Vec<Action>,
        (cursor, cursor_check): (u64, u64),
    ) -> Result<Applied> {
        let actor = self
            .profile
            .as_ref()
            .map(|(_, a)| a.clone())
            .unwrap_or_else(ActorId::random);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applied = Applied::default();
        for action in actions {
            match action {
                Action::Acknowledge { id, heads } => {
                    applied.accepted += 1;
                    run(
                        &tx,
                        "UPDATE documents SET acked_heads = ?2 WHERE id = ?1",
                        params![id, encode_heads(&heads)],
                    )?;
                    run(&tx, "DELETE FROM rejections WHERE doc_id = ?1", [&id])?;
                    let mut doc = load_document(&tx, &id, actor.clone())?;
                    if doc.heads() == heads {
                        run(&tx, "DELETE FROM outbox WHERE doc_id = ?1", [&id])?;
                    }
                }
                Action::ResendEverything => {
                    run(&tx, "UPDATE documents SET acked_heads = NULL", [])?;
                    run(&tx,
                        "INSERT INTO outbox (doc_id, queued_at_ms, edits) SELECT id, ?1, 1 FROM documents WHERE true
                         ON CONFLICT (doc_id) DO NOTHING",
                        [now_ms()],
                    )?;
                    run(&tx, "DELETE FROM meta WHERE key LIKE 'fallback:%'", [])?;
                    meta_set(&tx, "cursor", "0")?;
                    meta_set(&tx, "cursor_check", "0")?;
                    tx.commit()?;
                    return Ok(applied);
                }
                Action::Reconcile { id } => {
                    meta_set(&tx, &format!("fallback:{id}"), &id)?;
                }
                Action::Reject { id, code, reason } => {
                    let rejection = Rejection {
                        record_id: id,
                        code,
                        reason,
                        rejected_at_ms: now_ms(),
                    };
                    run(
                        &tx,
                        "INSERT OR REPLACE INTO rejections (doc_id, code, reason, rejected_at_ms) VALUES (?1, ?2, ?3, ?4)",
                        params![
                            rejection.record_id,
                            serde_json::to_value(code)?.as_str().unwrap_or_default(),
                            rejection.reason,
                            rejection.rejected_at_ms
                        ],
                    )?;
                    run(
                        &tx,
                        "DELETE FROM meta WHERE key = ?1",
                        [format!("fallback:{}", rejection.record_id)],
                    )?;
                    applied.rejected.push(rejection);
                }
                Action::Apply { id, bytes } => {
                    applied.received += 1;
                    let missing = match merge_in(&tx, &id, &bytes, actor.clone()) {
                        Ok(missing) => missing,
                        // Builds on history this device lacks, or damaged in transit: nothing of
                        // it was written; reconcile the record with automerge's sync protocol.
                        Err(
                            e @ (Error::CorruptDocument(_) | Error::Automerge(_) | Error::UnknownKind(_)),
                        ) => {
                            tracing::warn!(record = %id, error = %e, "update did not apply; reconciling instead");
                            true
                        }
                        Err(e) => return Err(e),
                    };
                    let key = format!("fallback:{id}");
                    if missing {
                        meta_set(&tx, &key, &id)?;
                    } else {
                        run(&tx, "DELETE FROM meta WHERE key = ?1", [&key])?;
                        // Not pending here: what arrived is, by definition, on the server.
                        let pending: bool = tx.query_row(
                            "SELECT EXISTS(SELECT 1 FROM outbox WHERE doc_id = ?1)",
                            [&id],
                            |r| r.get(0),
                        )?;
                        if !pending {
                            let mut doc = load_document(&tx, &id, actor.clone())?;
                            run(
                                &tx,
                                "UPDATE documents SET acked_heads = ?2 WHERE id = ?1",
                                params![id, encode_heads(&doc.heads())],
                            )?;
                        }
                    }
                }
            }
        }
        meta_set(&tx, "cursor", &cursor.to_string())?;
        meta_set(&tx, "cursor_check", &cursor_check.to_string())?;
        tx.commit()?;
        Ok(applied)
    }

    /// Records the server refused, with its reasons.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, code, reason, rejected_at_ms FROM rejections ORDER BY rejected_at_ms, doc_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (record_id, code, reason, rejected_at_ms) = row?;
            out.push(Rejection {
                record_id,
                code: serde_json::from_value(serde_json::Value::String(code))?,
                reason,
                rejected_at_ms,
            });
        }
        Ok(out)
    }
}

/// Refuses a merge result that mixes in another record's document. Such bytes are valid
/// automerge and merge without complaint, but they bring a second, concurrent `header` object:
/// whichever header wins the merge, the stored record would silently take on another record's
/// identity or fields. A record's own history creates its header once.
fn check_same_record(id: &str, doc: &RecordDocument) -> Result<()> {
    let headers = automerge::ReadDoc::get_all(doc.reader(), automerge::ROOT, "header")?.len();
    let header = doc.header()?;
    if header.id != id || headers > 1 {
        let other = if header.id != id {
            header.id
        } else {
            "another record".to_owned()
        };
        return Err(Error::CorruptDocument(format!(
            "the changes received for record {id} belong to {other}; nothing was merged"
        )));
    }
    Ok(())
}

/// Stores a record this device did not hold, received for `id`. `received` are the bytes it
/// came as, kept as its snapshot when they are already a saved document: saving it again would
/// cost a cold start about a tenth of its time for bytes no smaller.
fn insert_received(
    tx: &Connection,
    id: &str,
    doc: &mut RecordDocument,
    received: Option<&[u8]>,
) -> Result<()> {
    check_same_record(id, doc)?;
    let header = doc.header()?;
    let resaved;
    let snapshot = match received {
        Some(bytes) if is_saved_document(bytes) => bytes,
        _ => {
            resaved = doc.save();
            &resaved
        }
    };
    run(
        tx,
        "INSERT INTO documents (id, kind, snapshot, chunk_count, updated_at_ms) VALUES (?1, ?2, ?3, 0, ?4)",
        params![id, header.kind, snapshot, now_ms()],
    )?;
    write_projection(tx, doc)
}

/// Whether `bytes` begin with an automerge document chunk (what `save` writes), rather than
/// bare change chunks: the format's magic bytes, a 4-byte checksum, then the chunk type.
fn is_saved_document(bytes: &[u8]) -> bool {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const DOCUMENT_CHUNK: u8 = 0;
    bytes.len() > 8 && bytes[..4] == MAGIC && bytes[8] == DOCUMENT_CHUNK
}

/// Merges bytes into a record inside `tx`, creating it if new. Returns true when some changes
/// depend on history this device lacks (the server is then asked for the whole document).
fn merge_in(tx: &Connection, id: &str, bytes: &[u8], actor: ActorId) -> Result<bool> {
    let exists: bool = tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM documents WHERE id = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if exists {
        let mut doc = load_document(tx, id, actor)?;
        let before = doc.apply_bytes(bytes)?;
        check_same_record(id, &doc)?;
        let missing = !doc.missing_deps(&[]).is_empty();
        if doc.heads() != before {
            let chunk = doc.save_after(&before);
            append_chunk(tx, id, &chunk, &mut doc)?;
            write_projection(tx, &doc)?;
        }
        Ok(missing)
    } else {
        let mut doc = RecordDocument::load(bytes, actor)?;
        let missing = !doc.missing_deps(&[]).is_empty();
        insert_received(tx, id, &mut doc, Some(bytes))?;
        Ok(missing)
    }
}

fn check_header(path: &Path) -> Result<()> {
    let shown = path.display().to_string();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::CorruptDatabase {
                path: shown,
                reason: format!("cannot read the file: {e}"),
            });
        }
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => {
                return Err(Error::CorruptDatabase {
                    path: shown,
                    reason: format!("cannot read the file: {e}"),
                });
            }
        }
    }
    if read == 0 {
        return Ok(());
    }
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(Error::ForeignDatabase {
            path: shown,
            reason: "it is not an SQLite database".into(),
        });
    }
    Ok(())
}

fn classify(path: &str, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::CorruptDatabase {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        }
        _ => Error::Sqlite(e),
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    run(
        conn,
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn anonymous_actor_key(id: &str) -> String {
    format!("anonymous_actor:{id}")
}

/// An anonymous report is changed only with its own actor, from the phone that filed it: any
/// other writer would put a name into a document that must name no one.
fn check_anonymity(doc: &RecordDocument, author: &str) -> Result<()> {
    if doc.header()?.is_anonymous() && author != ANONYMOUS {
        return Err(Error::Invalid(
            "this report was filed anonymously; only the phone that filed it can change it".into(),
        ));
    }
    Ok(())
}

pub(crate) fn load_document(conn: &Connection, id: &str, actor: ActorId) -> Result<RecordDocument> {
    let snapshot: Vec<u8> = conn
        .query_row("SELECT snapshot FROM documents WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound(id.to_owned()))?;
    let mut stmt = conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks: Vec<Vec<u8>> = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    RecordDocument::load_chunks(&snapshot, chunks.iter().map(Vec::as_slice), actor)
}

fn append_chunk(conn: &Connection, id: &str, chunk: &[u8], doc: &mut RecordDocument) -> Result<()> {
    let count: i64 = conn.query_row(
        "UPDATE documents SET chunk_count = chunk_count + 1, updated_at_ms = ?2 WHERE id = ?1 RETURNING chunk_count",
        params![id, now_ms()],
        |r| r.get(0),
    )?;
    if count >= COMPACT_AFTER_CHUNKS {
        return compact_in(conn, id, doc);
    }
    run(
        conn,
        "INSERT INTO doc_chunks (doc_id, seq, bytes)
         VALUES (?1, COALESCE((SELECT max(seq) + 1 FROM doc_chunks WHERE doc_id = ?1), 0), ?2)",
        params![id, chunk],
    )?;
    Ok(())
}

fn compact_in(conn: &Connection, id: &str, doc: &mut RecordDocument) -> Result<()> {
    let snapshot = doc.save();
    run(conn, "DELETE FROM doc_chunks WHERE doc_id = ?1", [id])?;
    run(
        conn,
        "UPDATE documents SET snapshot = ?2, chunk_count = 0, updated_at_ms = ?3 WHERE id = ?1",
        params![id, snapshot, now_ms()],
    )?;
    Ok(())
}

fn queue(conn: &Connection, id: &str) -> Result<()> {
    run(conn, "DELETE FROM rejections WHERE doc_id = ?1", [id])?;
    run(
        conn,
        "INSERT INTO outbox (doc_id, queued_at_ms, edits) VALUES (?1, ?2, 1)
         ON CONFLICT (doc_id) DO UPDATE SET edits = edits + 1",
        params![id, now_ms()],
    )?;
    Ok(())
}

/// The record, its findings, flags and conflicts, as every reader sees them.
pub fn view(doc: &RecordDocument, pending_sync: bool) -> Result<RecordView> {
    let record = doc.record()?;
    Ok(RecordView {
        findings: validate::validate(&record),
        flags: flags::compute(&record),
        conflicts: doc.conflicts()?,
        authors: doc.authors()?,
        pending_sync,
        rejection: None,
        anonymous_by_me: false,
        record,
    })
}

/// Projects every record again from its document (a schema upgrade that adds projection columns).
/// A document that does not read keeps its old row; `check_integrity` and recovery deal with it.
pub(crate) fn reproject_all(conn: &Connection) -> Result<()> {
    let ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT id FROM documents")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in ids {
        if let Ok(doc) = load_document(conn, &id, ActorId::random()) {
            // Unreadable after loading (a kind this build does not know): keep the old row.
            let _ = write_projection(conn, &doc);
        }
    }
    Ok(())
}

/// Runs one statement through the connection's statement cache: a sync runs the same few
/// statements per record, thousands of times in a cold start, and parsing each anew had cost
/// a tenth of a cold start's time.
fn run(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Writes the projection row of the record as it stands in `doc`.
pub(crate) fn write_projection(conn: &Connection, doc: &RecordDocument) -> Result<()> {
    write_projection_of(conn, &doc.record()?, doc.conflicts()?.len())
}

/// Writes the projection row of `record`, which holds `conflicts` unresolved conflicts.
fn write_projection_of(conn: &Connection, record: &Record, conflicts: usize) -> Result<()> {
    let p = Projection::of(
        record,
        &flags::compute(record),
        &validate::validate(record),
        conflicts,
    );
    run(conn,
        "INSERT OR REPLACE INTO records (id, kind, tenant_id, site_id, job_id, status, title, created_by,
             created_at_ms, completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash,
             closed_at_ms, assignee, due_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            p.id,
            p.kind,
            p.tenant_id,
            p.site_id,
            p.job_id,
            p.status,
            p.title,
            p.created_by,
            p.created_at_ms,
            p.completed_at_ms,
            p.work_started_at_ms,
            serde_json::to_string(&p.flags)?,
            p.blocking_findings,
            p.conflicts,
            p.content_hash,
            p.closed_at_ms,
            p.assignee,
            p.due_at_ms
        ],
    )?;
    run(conn, "DELETE FROM record_flags WHERE record_id = ?1", [&p.id])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO record_flags (record_id, code) VALUES (?1, ?2)")?;
    for code in &p.flags {
        insert.execute(params![p.id, code])?;
    }
    Ok(())
}
