//! One record as one automerge document: typed reads and writes through autosurgeon, merges, the
//! safety-aware merge rules (DESIGN §3) and the conflicts still waiting for a person.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, Prop, ReadDoc, ScalarValue, Value};
use autosurgeon::reconcile_prop;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::merge_rules;
use crate::model::{Body, Header, Kind, Record};
use crate::tree;

const HEADER_KEY: &str = "header";
/// Maps each actor id (hex) that wrote to the document to the user id behind it.
const AUTHORS_KEY: &str = "authors";

/// Two or more concurrent values for one field, kept until a person picks one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    /// Dotted path, e.g. `jsea.task` or `jsea.steps[0].description`.
    pub path: String,
    /// The competing values as text, winner first.
    pub values: Vec<String>,
}

/// A record document read whole, from one walk of it: the record with the merge rules applied,
/// the conflicts still waiting for a person, and who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRead {
    pub record: Record,
    pub conflicts: Vec<Conflict>,
    /// Actor id (hex) → user id, as [`RecordDocument::authors`].
    pub authors: BTreeMap<String, String>,
}

/// One walk of the document, before the merge rules.
struct Walk {
    /// The record as last-writer-wins leaves it.
    stored: Record,
    /// Body fields holding concurrent values: their dotted path and the props leading there.
    conflicted: Vec<(String, Vec<Prop>)>,
    /// Whether any item of the body is marked removed (the merge rules may restore it).
    removal_marks: bool,
    authors: BTreeMap<String, String>,
}

/// A record's automerge document, owned by one actor (one device and user).
#[derive(Debug)]
pub struct RecordDocument {
    doc: AutoCommit,
    /// The last whole read, kept until the document changes: a push is read by the write
    /// checks, the flags and the projection, and each would otherwise walk it again.
    read: OnceLock<DocumentRead>,
}

impl RecordDocument {
    /// A new document holding `record`, written by `actor` on behalf of `user_id`.
    ///
    /// Written in one batch from the record's tree (`init_root_from_hydrate`), the same values of
    /// the same types autosurgeon's reconcile writes field by field (a test holds the two equal),
    /// at a fraction of the cost: an empty document has nothing to compare against.
    pub fn create(actor: ActorId, user_id: &str, record: &Record, time_ms: i64) -> Result<Self> {
        let unwritable =
            |e: serde::de::value::Error| Error::Invalid(format!("record cannot be written: {e}"));
        let actor_hex = actor.to_hex_string();
        let mut this = Self::of(AutoCommit::new().with_actor(actor));
        let authors: std::collections::HashMap<String, automerge::hydrate::Value> = [(
            actor_hex,
            automerge::hydrate::Value::from(ScalarValue::Str(user_id.into())),
        )]
        .into();
        let root: std::collections::HashMap<String, automerge::hydrate::Value> = [
            (
                HEADER_KEY.to_owned(),
                tree::to_tree(&record.header).map_err(unwritable)?,
            ),
            (
                record.body.kind().body_key().to_owned(),
                record.body.to_tree().map_err(unwritable)?,
            ),
            (
                AUTHORS_KEY.to_owned(),
                automerge::hydrate::Value::Map(authors.into()),
            ),
        ]
        .into();
        this.doc.init_root_from_hydrate(&root.into())?;
        this.commit(time_ms, "create");
        Ok(this)
    }

    /// Loads a saved document (snapshot or incremental bytes), checking it holds a record.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self> {
        let doc = AutoCommit::load(bytes)
            .map_err(|e| Error::CorruptDocument(format!("not an automerge document: {e}")))?
            .with_actor(actor);
        let this = Self::of(doc);
        this.header()?;
        Ok(this)
    }

    fn of(doc: AutoCommit) -> Self {
        Self {
            doc,
            read: OnceLock::new(),
        }
    }

    /// The document to change: the kept read no longer holds.
    fn doc_mut(&mut self) -> &mut AutoCommit {
        self.read.take();
        &mut self.doc
    }

    /// Loads a snapshot followed by incremental chunks.
    pub fn load_chunks<'a>(
        snapshot: &[u8],
        chunks: impl IntoIterator<Item = &'a [u8]>,
        actor: ActorId,
    ) -> Result<Self> {
        let mut doc = AutoCommit::load(snapshot)
            .map_err(|e| Error::CorruptDocument(format!("snapshot does not load: {e}")))?
            .with_actor(actor);
        for chunk in chunks {
            doc.load_incremental(chunk)
                .map_err(|e| Error::CorruptDocument(format!("change chunk does not load: {e}")))?;
        }
        let this = Self::of(doc);
        this.header()?;
        Ok(this)
    }

    pub fn header(&self) -> Result<Header> {
        if let Some(read) = self.read.get() {
            return Ok(read.record.header.clone());
        }
        let header = match self.doc.get(automerge::ROOT, HEADER_KEY)? {
            Some((Value::Object(_), obj)) => self.doc.hydrate(&obj, None)?,
            Some((Value::Scalar(s), _)) => automerge::hydrate::Value::Scalar(s.into_owned()),
            None => return Err(Error::CorruptDocument("document has no record header".into())),
        };
        read_header(&header)
    }

    pub fn kind(&self) -> Result<Kind> {
        let header = self.header()?;
        header
            .kind()
            .ok_or_else(|| Error::UnknownKind(header.kind.clone()))
    }

    /// The record as it stands, with the safety-aware merge rules applied (see `merge_rules`).
    pub fn record(&self) -> Result<Record> {
        Ok(self.read()?.record.clone())
    }

    /// The record, its conflicts and its authors, read in one walk of the document and kept
    /// until the document changes.
    pub fn read(&self) -> Result<&DocumentRead> {
        if let Some(read) = self.read.get() {
            return Ok(read);
        }
        let read = self.finish(self.walk()?)?;
        Ok(self.read.get_or_init(|| read))
    }

    /// One walk of the whole document (automerge's own hydrate), read into the typed record.
    fn walk(&self) -> Result<Walk> {
        let automerge::hydrate::Value::Map(root) = self.doc.hydrate(automerge::ROOT, None)? else {
            return Err(Error::CorruptDocument("the document's root is not a map".into()));
        };
        let header = read_header(
            root.get(HEADER_KEY)
                .ok_or_else(|| Error::CorruptDocument("document has no record header".into()))?,
        )?;
        let kind = header
            .kind()
            .ok_or_else(|| Error::UnknownKind(header.kind.clone()))?;
        let key = kind.body_key();
        let body_value = root.get(key).ok_or_else(|| {
            Error::CorruptDocument(format!("{key} unreadable: the document holds no {key}"))
        })?;
        let body = Body::from_tree(kind, body_value)
            .map_err(|e| Error::CorruptDocument(format!("{key} unreadable: {e}")))?;
        let mut walk = Walk {
            stored: Record { header, body },
            conflicted: Vec::new(),
            removal_marks: false,
            authors: BTreeMap::new(),
        };
        let mut props = vec![Prop::Map(key.to_owned())];
        mark_conflicts(body_value, key.to_owned(), &mut props, &mut walk);
        if let Some(automerge::hydrate::Value::Map(authors)) = root.get(AUTHORS_KEY) {
            for (actor, user) in authors.iter() {
                if let automerge::hydrate::Value::Scalar(ScalarValue::Str(user)) = &user.value {
                    walk.authors.insert(actor.clone(), user.to_string());
                }
            }
        }
        Ok(walk)
    }

    /// The walk's record with the merge rules applied, and its conflicts' competing values.
    fn finish(&self, walk: Walk) -> Result<DocumentRead> {
        let mut record = walk.stored;
        // Every merge rule acts on a field holding concurrent values or on an item marked
        // removed; a record with neither (nearly every record) needs no second look.
        if !walk.conflicted.is_empty() || walk.removal_marks {
            merge_rules::apply(&self.doc, &mut record.body)?;
        }
        let mut conflicts = Vec::with_capacity(walk.conflicted.len());
        for (path, props) in walk.conflicted {
            let (parent, last) = self.locate_props(props, &path)?;
            let values = self.doc.get_all(&parent, last)?;
            conflicts.push(Conflict {
                path,
                values: values.iter().map(|(v, _)| display_value(v)).collect(),
            });
        }
        conflicts.sort();
        Ok(DocumentRead {
            record,
            conflicts,
            authors: walk.authors,
        })
    }

    /// Applies a person's edit: hydrate, let `edit` change the typed record, reconcile the
    /// difference into the document and commit it stamped with `time_ms`.
    /// Returns the new change's hash, or `None` when the edit changed nothing.
    pub fn update<T>(
        &mut self,
        user_id: &str,
        time_ms: i64,
        edit: impl FnOnce(&mut Record) -> Result<T>,
    ) -> Result<(T, Option<ChangeHash>)> {
        let walk = self.walk()?;
        let stored = walk.stored.clone();
        let before = self.finish(walk)?.record;
        let mut record = before.clone();
        let out = edit(&mut record)?;
        if record.header.id != before.header.id || record.header.kind != before.header.kind {
            return Err(Error::Invalid("a record's id and kind cannot change".into()));
        }
        if record.body.kind() != before.body.kind() {
            return Err(Error::Invalid("a record's kind cannot change".into()));
        }
        if record == before {
            return Ok((out, None));
        }
        self.read.take();
        reconcile_prop(&mut self.doc, automerge::ROOT, HEADER_KEY, &record.header)?;
        // What the person changed in a field the merge rules guard must supersede every
        // concurrent value; what they left alone is written as they read it.
        let body = merge_rules::body_to_write(&self.doc, &stored.body, &before.body, &record.body)?;
        self.write_body(&body)?;
        merge_rules::write_deliberate_changes(&mut self.doc, &before.body, &record.body)?;
        self.note_author(user_id)?;
        Ok((out, self.commit(time_ms, "edit")))
    }

    fn write_body(&mut self, body: &Body) -> Result<()> {
        body.reconcile_into(self.doc_mut())?;
        Ok(())
    }

    fn note_author(&mut self, user_id: &str) -> Result<()> {
        // Whatever the author map says after this, a kept read no longer says it.
        self.read.take();
        let actor = self.doc.get_actor().to_hex_string();
        let authors = match self.doc.get(automerge::ROOT, AUTHORS_KEY)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => self.doc.put_object(automerge::ROOT, AUTHORS_KEY, ObjType::Map)?,
        };
        let known = self
            .doc
            .get(&authors, actor.as_str())?
            .and_then(|(v, _)| v.as_str().map(str::to_owned));
        if known.as_deref() != Some(user_id) {
            self.doc.put(&authors, actor, user_id)?;
        }
        Ok(())
    }

    fn commit(&mut self, time_ms: i64, message: &str) -> Option<ChangeHash> {
        // automerge change times are Unix seconds.
        self.doc_mut().commit_with(
            CommitOptions::default()
                .with_time(time_ms.div_euclid(1000))
                .with_message(message),
        )
    }

    /// Actor id (hex) → user id for everyone who wrote to this document.
    pub fn authors(&self) -> Result<BTreeMap<String, String>> {
        Ok(self.read()?.authors.clone())
    }

    /// The actor (hex) whose change wrote each stamp's clock reading, for the stamps at `paths`
    /// (keys joined by `/`, as [`crate::flags::Event::path`]). The server maps these actors to
    /// devices from its own registry, so a stamp is judged against its own device's clock. A
    /// stamp whose monotonic time or boot id holds concurrent values (two devices stamped the
    /// same event at once) is left out: no one device's anchors apply to it.
    pub fn stamp_writers<'p>(
        &self,
        paths: impl IntoIterator<Item = &'p str>,
    ) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        'stamps: for path in paths {
            let mut obj = automerge::ROOT;
            for key in path.split('/') {
                // A stamp in a list (a policy's reviews) is named by its index there.
                let prop = match (self.doc.object_type(&obj), key.parse::<usize>()) {
                    (Ok(ObjType::List), Ok(index)) => Prop::Seq(index),
                    _ => Prop::Map(key.to_owned()),
                };
                match self.doc.get(&obj, prop)? {
                    Some((Value::Object(_), id)) => obj = id,
                    _ => continue 'stamps,
                }
            }
            // Reconcile leaves the boot id untouched when a new stamp repeats it, so its writer
            // may be an earlier device; the value is the same either way. The monotonic reading
            // is always written anew, and its writer is the device whose clock it is.
            if self.doc.get_all(&obj, "boot_id")?.len() != 1 {
                continue;
            }
            if let [(_, ObjId::Id(_, actor, _))] = self.doc.get_all(&obj, "monotonic_ms")?.as_slice() {
                out.insert(path.to_owned(), actor.to_hex_string());
            }
        }
        Ok(out)
    }

    /// Merges another copy of this record's document. Returns the hashes of changes that were new.
    pub fn merge(&mut self, other: &mut RecordDocument) -> Result<Vec<ChangeHash>> {
        let my_id = self.header()?.id;
        let their_id = other.header()?.id;
        if my_id != their_id {
            return Err(Error::Invalid(format!(
                "cannot merge record {their_id} into record {my_id}"
            )));
        }
        Ok(self.doc_mut().merge(&mut other.doc)?)
    }

    /// Applies changes received as bytes (the output of [`save_after`](Self::save_after) or a
    /// full save). Returns the heads before, so callers can tell what was new.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<Vec<ChangeHash>> {
        self.apply_bytes_and_read(bytes).map(|(before, _)| before)
    }

    /// [`apply_bytes`](Self::apply_bytes), also returning the record as it now reads (checked
    /// anyway, so callers need not read it again); `None` when `bytes` is empty.
    pub fn apply_bytes_and_read(&mut self, bytes: &[u8]) -> Result<(Vec<ChangeHash>, Option<Record>)> {
        let before = self.doc.get_heads();
        if bytes.is_empty() {
            return Ok((before, None));
        }
        // automerge's incremental load skips chunks it cannot parse; parse strictly first so
        // damaged bytes are reported, never silently half-applied.
        let mut probe = match AutoCommit::load_with_options(bytes, automerge::LoadOptions::default()) {
            // Into an empty document, the strictly parsed bytes are the result: no second load.
            Ok(parsed) if before.is_empty() => parsed,
            // Every chunk parsed; some changes build on history loaded below.
            Ok(_) | Err(automerge::AutomergeError::MissingDeps) => {
                let mut probe = self.doc.fork();
                probe
                    .load_incremental(bytes)
                    .map_err(|e| Error::CorruptDocument(format!("changes do not load: {e}")))?;
                probe
            }
            Err(e) => return Err(Error::CorruptDocument(format!("changes do not parse: {e}"))),
        };
        probe.set_actor(self.doc.get_actor().clone());
        let probe = Self::of(probe);
        // The merged result must still be a readable record before the real document takes it.
        let record = probe.record()?;
        *self = probe;
        Ok((before, Some(record)))
    }

    /// Whether `bytes` parse but build on changes they do not contain: applied to an empty
    /// document they would wait for history that is somewhere else.
    pub fn needs_history(bytes: &[u8]) -> bool {
        matches!(
            automerge::Automerge::load_with_options(bytes, automerge::LoadOptions::default()),
            Err(automerge::AutomergeError::MissingDeps)
        )
    }

    /// An empty document to replay changes into one at a time (see [`apply_change`](Self::apply_change)).
    pub fn empty(actor: ActorId) -> Self {
        Self::of(AutoCommit::new().with_actor(actor))
    }

    /// An independent copy at the same state (and the same kept read).
    pub fn fork(&mut self) -> Self {
        Self {
            doc: self.doc.fork(),
            read: self.read.clone(),
        }
    }

    /// Changes not in the ancestry of `heads`, in causal order.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<automerge::Change> {
        self.doc.get_changes(heads)
    }

    /// Applies one change (whose dependencies must be present).
    pub fn apply_change(&mut self, change: automerge::Change) -> Result<()> {
        self.doc_mut().apply_changes([change])?;
        Ok(())
    }

    /// Whether a record header exists yet (false for an empty replay target).
    pub fn has_record(&self) -> bool {
        matches!(self.doc.get(automerge::ROOT, HEADER_KEY), Ok(Some(_)))
    }

    /// The next automerge sync-protocol message to the peer whose state is `state`, if any.
    pub fn generate_sync_message(&mut self, state: &mut automerge::sync::State) -> Option<Vec<u8>> {
        use automerge::sync::SyncDoc;
        self.doc.sync().generate_sync_message(state).map(|m| m.encode())
    }

    /// Applies an automerge sync-protocol message from the peer. The result must still be a
    /// readable record (checked on a copy first); nothing is applied otherwise.
    pub fn receive_sync_message(&mut self, state: &mut automerge::sync::State, message: &[u8]) -> Result<()> {
        use automerge::sync::SyncDoc;
        let decoded = || {
            automerge::sync::Message::decode(message)
                .map_err(|e| Error::CorruptDocument(format!("not an automerge sync message: {e}")))
        };
        let mut probe = self.doc.fork();
        let mut probe_state = state.clone();
        probe.sync().receive_sync_message(&mut probe_state, decoded()?)?;
        let probed = Self::of(probe);
        if probed.has_record() {
            probed.record()?;
        }
        self.doc_mut().sync().receive_sync_message(state, decoded()?)?;
        Ok(())
    }

    /// Whether every one of `heads` is in this document.
    pub fn has_all(&mut self, heads: &[ChangeHash]) -> bool {
        heads.iter().all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Every change as one compact snapshot.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes that are not ancestors of `heads`, as incremental bytes.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Changes `heads` depend on that this document lacks.
    pub fn missing_deps(&mut self, heads: &[ChangeHash]) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(heads)
    }

    /// Actor ids of the changes not in `heads`' ancestry, with their Unix-second times.
    pub fn changes_after(&mut self, heads: &[ChangeHash]) -> Vec<(ActorId, i64)> {
        // Metadata only: decoding whole changes costs more than the rest of a push's checks.
        self.doc
            .get_changes_meta(heads)
            .into_iter()
            .map(|c| (c.actor.into_owned(), c.timestamp))
            .collect()
    }

    pub fn actor(&self) -> &ActorId {
        self.doc.get_actor()
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        self.doc_mut()
    }

    /// The document for reading only: unlike [`automerge`](Self::automerge), it keeps the read
    /// already made.
    pub fn reader(&self) -> &AutoCommit {
        &self.doc
    }

    /// Fields with concurrent values a person has not yet resolved.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(self.read()?.conflicts.clone())
    }

    /// Resolves a scalar conflict at `path` (as reported by [`conflicts`](Self::conflicts)) by
    /// writing `value` over every concurrent value.
    pub fn resolve_conflict(&mut self, user_id: &str, time_ms: i64, path: &str, value: &str) -> Result<()> {
        self.read.take();
        let (parent, last) = self.locate(path)?;
        let current = self.doc.get_all(&parent, last.clone())?;
        let scalar = match current.first() {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(_) => ScalarValue::Str(value.into()),
                ScalarValue::Int(_) => ScalarValue::Int(
                    value
                        .parse()
                        .map_err(|_| Error::Invalid(format!("{path} needs a whole number")))?,
                ),
                ScalarValue::Uint(_) => ScalarValue::Uint(
                    value
                        .parse()
                        .map_err(|_| Error::Invalid(format!("{path} needs a whole number")))?,
                ),
                ScalarValue::F64(_) => ScalarValue::F64(
                    value
                        .parse()
                        .map_err(|_| Error::Invalid(format!("{path} needs a number")))?,
                ),
                ScalarValue::Boolean(_) => ScalarValue::Boolean(
                    value
                        .parse()
                        .map_err(|_| Error::Invalid(format!("{path} needs true or false")))?,
                ),
                _ => return Err(Error::Invalid(format!("{path} cannot be resolved as text"))),
            },
            _ => return Err(Error::Invalid(format!("{path} is not a conflicting plain value"))),
        };
        self.doc.put(&parent, last, scalar)?;
        self.record()?;
        self.note_author(user_id)?;
        self.commit(time_ms, "resolve conflict");
        Ok(())
    }

    fn locate(&self, path: &str) -> Result<(ObjId, Prop)> {
        let bad = || Error::Invalid(format!("no field at path {path}"));
        let mut props = Vec::new();
        for part in path.split('.') {
            let (name, indexes) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            props.push(Prop::Map(name.to_owned()));
            for index in indexes.split(']').filter(|s| !s.is_empty()) {
                let n = index
                    .trim_start_matches('[')
                    .parse::<usize>()
                    .map_err(|_| bad())?;
                props.push(Prop::Seq(n));
            }
        }
        self.locate_props(props, path)
    }

    /// The object holding the last of `props` (a path from the root), and that last prop.
    fn locate_props(&self, mut props: Vec<Prop>, path: &str) -> Result<(ObjId, Prop)> {
        let bad = || Error::Invalid(format!("no field at path {path}"));
        let last = props.pop().ok_or_else(bad)?;
        let mut obj = automerge::ROOT;
        for prop in props {
            match self.doc.get(&obj, prop)? {
                Some((Value::Object(_), id)) => obj = id,
                _ => return Err(bad()),
            }
        }
        Ok((obj, last))
    }
}

fn read_header(value: &automerge::hydrate::Value) -> Result<Header> {
    tree::read(value).map_err(|e| Error::CorruptDocument(format!("record header unreadable: {e}")))
}

/// Notes the fields of `value` (at `path`, reached by `props`) holding concurrent values, and
/// any item marked removed. Only the winning value of a field is walked into: losers' insides
/// are not what anyone sees.
fn mark_conflicts(value: &automerge::hydrate::Value, path: String, props: &mut Vec<Prop>, walk: &mut Walk) {
    use automerge::hydrate::Value as Tree;
    let mut visit = |prop: Prop, child: &Tree, conflict: bool, walk: &mut Walk| {
        let child_path = match &prop {
            Prop::Map(key) => format!("{path}.{key}"),
            Prop::Seq(i) => format!("{path}[{i}]"),
        };
        props.push(prop);
        if conflict {
            walk.conflicted.push((child_path.clone(), props.clone()));
        }
        if matches!(child, Tree::Map(_) | Tree::List(_)) {
            mark_conflicts(child, child_path, props, walk);
        }
        props.pop();
    };
    match value {
        Tree::Map(map) => {
            for (key, entry) in map.iter() {
                if key == merge_rules::REMOVED && entry.value == Tree::Scalar(ScalarValue::Boolean(true)) {
                    walk.removal_marks = true;
                }
                visit(Prop::Map(key.clone()), &entry.value, entry.conflict, walk);
            }
        }
        Tree::List(list) => {
            for (i, item) in list.iter().enumerate() {
                visit(Prop::Seq(i), &item.value, item.conflict, walk);
            }
        }
        Tree::Scalar(_) | Tree::Text(_) => {}
    }
}

fn display_value(value: &Value<'_>) -> String {
    match value {
        Value::Object(t) => format!("({t})"),
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Signature;
    use crate::sample;
    use crate::stamp::{GpsFix, Stamp};

    /// The reconcile path `create` replaced, kept as the oracle for the batch write.
    fn created_by_reconcile(actor: ActorId, user_id: &str, record: &Record) -> RecordDocument {
        let mut doc = RecordDocument::of(AutoCommit::new().with_actor(actor));
        reconcile_prop(&mut doc.doc, automerge::ROOT, HEADER_KEY, &record.header).unwrap();
        doc.write_body(&record.body).unwrap();
        doc.note_author(user_id).unwrap();
        doc.commit(1_000, "create");
        doc
    }

    fn stamp() -> Stamp {
        Stamp::new(1_764_000_000_000, 42_000, "boot-1").with_fix(GpsFix {
            lat: 53.5,
            lon: -113.5,
            accuracy_m: 8.0,
            fix_time_ms: 1_764_000_000_000,
            provider: "gps".into(),
            mock: false,
        })
    }

    /// A new record of `body`, created by `u1` at site `s1`.
    fn record_of(body: Body) -> Record {
        Record {
            header: Header {
                id: crate::model::new_id(),
                kind: body.kind().as_str().into(),
                schema_version: crate::model::SCHEMA_VERSION,
                tenant_id: "t1".into(),
                site_id: "s1".into(),
                job_id: None,
                created_by: "u1".into(),
                created: stamp(),
            },
            body,
        }
    }

    fn bodies() -> Vec<Body> {
        use crate::kinds::orientation::Orientation;
        use crate::kinds::tailgate_meeting::TailgateMeeting;
        let mut jsea = sample::jsea();
        jsea.crew = vec!["u1".into()];
        jsea.signatures.insert(
            "u1".into(),
            Signature {
                user_id: "u1".into(),
                name: "Lee".into(),
                content_hash: jsea.content_hash(),
                stamp: stamp(),
            },
        );
        vec![
            Body::Jsea(jsea),
            Body::PreStart(sample::prestart("u1")),
            Body::NearMiss(sample::near_miss(1_764_000_000_000)),
            Body::TailgateMeeting(TailgateMeeting::new("Lifts", vec!["Spotters".into()])),
            Body::CorrectiveAction(sample::corrective_action("u1", 1, 2)),
            Body::Inspection(sample::inspection("u1")),
            Body::Orientation(Orientation::new("u1", "Sam")),
            Body::Certificate(sample::certificate("u1", "h2s_alive", 1, Some(2))),
            Body::Competency(sample::competency("u1", "loader")),
            Body::Policy(sample::policy()),
            Body::Acknowledgement(sample::acknowledgement("u1")),
            Body::ManagementMeeting(sample::management_meeting("u1", 2)),
            Body::RefusalReport(sample::refusal_report("u1", 1)),
            Body::Incident(sample::incident("u1", 1)),
            Body::Investigation(sample::investigation("inc-1", "u1", 2)),
            Body::EmergencyPlan(sample::emergency_plan()),
            Body::Drill(sample::drill(Some("plan-1"))),
        ]
    }

    #[test]
    fn a_new_document_holds_what_reconciling_its_record_would_write() {
        let kinds: std::collections::BTreeSet<Kind> = bodies().iter().map(Body::kind).collect();
        assert_eq!(kinds.len(), Kind::ALL.len(), "every kind is covered");
        for body in bodies() {
            let record = record_of(body);
            let actor = ActorId::random();
            let mut batch = RecordDocument::create(actor.clone(), "u1", &record, 1_000).unwrap();
            let reconciled = created_by_reconcile(actor, "u1", &record);
            // Equal trees, scalar types included (an `Int` where reconcile writes a `Uint` would
            // make every later edit rewrite the field).
            assert_eq!(
                batch.doc.hydrate(automerge::ROOT, None).unwrap(),
                reconciled.doc.hydrate(automerge::ROOT, None).unwrap(),
                "{}",
                record.kind()
            );
            assert_eq!(batch.record().unwrap(), record);
            // Reconciling the same record over the batch-written document finds nothing to write.
            reconcile_prop(&mut batch.doc, automerge::ROOT, HEADER_KEY, &record.header).unwrap();
            batch.write_body(&record.body).unwrap();
            batch.note_author("u1").unwrap();
            assert!(batch.commit(2_000, "again").is_none(), "{}", record.kind());
        }
    }

    /// A kept read never outlives a change: after resolving a conflict the document names its
    /// resolver among its authors, and the conflict is gone.
    #[test]
    fn a_kept_read_is_dropped_by_every_change() {
        let record = record_of(Body::Jsea(sample::jsea()));
        let mut first = RecordDocument::create(ActorId::random(), "u1", &record, 1_000).unwrap();
        let mut second = RecordDocument::load(&first.save(), ActorId::random()).unwrap();
        for (doc, user, task) in [(&mut first, "u1", "Lift A"), (&mut second, "u2", "Lift B")] {
            doc.update(user, 2_000, |r| {
                if let Body::Jsea(j) = &mut r.body {
                    j.task = task.into();
                }
                Ok(())
            })
            .unwrap();
        }
        first.merge(&mut second).unwrap();
        let mut resolver = RecordDocument::load(&first.save(), ActorId::random()).unwrap();
        assert_eq!(
            resolver.conflicts().unwrap().len(),
            1,
            "read and kept before the change"
        );
        resolver
            .resolve_conflict("u3", 3_000, "jsea.task", "Lift C")
            .unwrap();
        assert!(resolver.conflicts().unwrap().is_empty());
        let resolver_actor = resolver.actor().to_hex_string();
        assert_eq!(
            resolver
                .authors()
                .unwrap()
                .get(&resolver_actor)
                .map(String::as_str),
            Some("u3")
        );
        let Body::Jsea(j) = resolver.record().unwrap().body else {
            panic!("a JSEA");
        };
        assert_eq!(j.task, "Lift C");
    }
}
