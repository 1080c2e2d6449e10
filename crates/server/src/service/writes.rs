//! The server writing into a record: as a person from the browser (an automerge actor registered
//! to them, device `web:<user id>`), or as the server itself (the system writer, which raises
//! corrective actions). A person's change goes through the same write checks and the same storage
//! path as a change synced from a phone, so phones receive it on their next sync.

use automerge::ActorId;
use sync_core::RecordDocument;
use sync_core::clock::{SERVER_BOOT, SERVER_DEVICE_PREFIX};
use sync_core::lifecycle::{self, Actor};
use sync_core::model::{Body, Header, Record, SCHEMA_VERSION, new_id};
use sync_core::stamp::Stamp;

use super::records::{RecordDetail, detail_of};
use super::{Principal, ServiceError, ServiceResult, actions};
use crate::AppState;
use crate::store::{ActorOwner, AuditNote, RecordStore};
use crate::sync::{Author, Refusal, check_change, store_merged};

/// The user id the server writes under when it acts on its own: the creator of a corrective
/// action raised automatically, and the audit log's name for it. No person has this id (people's
/// ids are random UUIDs), and pages show it as "Raised automatically".
pub const SYSTEM_USER: &str = "system";

/// Writes `edit` into record `id` as `who`, stamped with the server's clock, after the same
/// checks a phone's change passes; `audit_action` names the change in the audit log, which
/// commits with it. Returns the record as stored.
pub(crate) fn write_as(
    state: &AppState,
    who: &Principal,
    id: &str,
    audit_action: &str,
    edit: impl FnOnce(&mut Record, &Actor, Stamp) -> ServiceResult<()>,
) -> ServiceResult<RecordDetail> {
    let store: &dyn RecordStore = state.store.as_ref();
    let not_found = || ServiceError::NotFound("no such record".into());
    if !store.in_scope(&who.scope(), id)? {
        return Err(not_found());
    }
    let now = (state.clock)();
    let stored_record = {
        let _held = state.doc_locks.hold(store, &who.tenant_id, id)?;
        let stored = store.document(&who.tenant_id, id)?.ok_or_else(not_found)?;
        // The device prefix is what lets this stamp's server boot id count as the server's clock.
        let web_device = format!("{SERVER_DEVICE_PREFIX}{}", who.user_id);
        let actor = registered_actor(store, &who.tenant_id, &who.user_id, &web_device)?;
        let mut doc =
            RecordDocument::load_chunks(&stored.snapshot, stored.chunks.iter().map(Vec::as_slice), actor)
                .map_err(ServiceError::internal)?;
        let before = doc.record().map_err(ServiceError::internal)?;
        let before_heads = doc.heads();
        let me = Actor {
            user_id: who.user_id.clone(),
            name: who.name.clone(),
        };
        let stamp = Stamp::new(now, 0, SERVER_BOOT);
        let (edited, _) = doc
            .update(&who.user_id, now, |r| Ok(edit(r, &me, stamp)))
            .map_err(|e| ServiceError::Conflict(e.to_string()))?;
        edited?;
        let after = doc.record().map_err(ServiceError::internal)?;
        let author = store
            .user(&who.tenant_id, &who.user_id)?
            .ok_or_else(|| ServiceError::Forbidden("unknown user".into()))?;
        let writer = Author {
            user: &author,
            anonymous: false,
        };
        check_change(store, &who.tenant_id, &writer, Some(&before), &after).map_err(refused)?;
        let audit = AuditNote {
            user_id: who.user_id.clone(),
            action: audit_action.to_owned(),
            detail: format!("record {id} from the browser"),
        };
        store_merged(
            store,
            &who.tenant_id,
            id,
            &web_device,
            &mut doc,
            &before_heads,
            stored.chunks.len(),
            false,
            Some(&audit),
            now,
        )
        .map_err(refused)?;
        after
    };
    // The corrective actions its failures raise, as after a sync.
    actions::after_stored(state, &who.tenant_id, &stored_record)?;
    detail_of(store, &who.tenant_id, id, now)?.ok_or_else(not_found)
}

/// How a record made from the browser leaves the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Creation {
    /// Taken straight through `lifecycle::complete` (raised, recorded).
    Complete,
    /// Signed by the person making it, then completed (minutes, a plan made current).
    SignAndComplete,
    /// Signed by the person making it, which is the kind's whole step (a policy).
    Sign,
    /// Left a draft for the person to finish later (an investigation still being written).
    Draft,
}

/// Creates a new record holding `body` at `site_id` as `who`, taken straight through
/// `lifecycle::complete` with the server's stamp (raised, recorded), after the same write checks a
/// phone's new record passes. A blocking finding is refused as `invalid_code` with every
/// finding's message; `audit` names the change in the audit log, which commits with it. Returns
/// the record as stored.
pub(crate) fn create_as(
    state: &AppState,
    who: &Principal,
    site_id: &str,
    body: Body,
    invalid_code: &'static str,
    audit: (&str, String),
) -> ServiceResult<Record> {
    create_with(state, who, site_id, body, Creation::Complete, invalid_code, audit)
}

/// [`create_as`], with the record signed by `who` first or left a draft, as `creation` says.
pub(crate) fn create_with(
    state: &AppState,
    who: &Principal,
    site_id: &str,
    body: Body,
    creation: Creation,
    invalid_code: &'static str,
    audit: (&str, String),
) -> ServiceResult<Record> {
    let store: &dyn RecordStore = state.store.as_ref();
    let now = (state.clock)();
    let stamp = Stamp::new(now, 0, SERVER_BOOT);
    let id = new_id();
    let mut record = Record {
        header: Header {
            id: id.clone(),
            kind: body.kind().as_str().to_owned(),
            schema_version: SCHEMA_VERSION,
            tenant_id: who.tenant_id.clone(),
            site_id: site_id.to_owned(),
            job_id: None,
            created_by: who.user_id.clone(),
            created: stamp.clone(),
        },
        body,
    };
    let blocked = refused_step(invalid_code);
    if matches!(creation, Creation::SignAndComplete | Creation::Sign) {
        let me = Actor {
            user_id: who.user_id.clone(),
            name: who.name.clone(),
        };
        lifecycle::sign(&mut record, &me, stamp.clone()).map_err(&blocked)?;
    }
    if creation == Creation::Complete || creation == Creation::SignAndComplete {
        lifecycle::complete(&mut record, stamp).map_err(&blocked)?;
    }
    // The device prefix is what lets this stamp's server boot id count as the server's clock.
    let web_device = format!("{SERVER_DEVICE_PREFIX}{}", who.user_id);
    let actor = registered_actor(store, &who.tenant_id, &who.user_id, &web_device)?;
    let author = store
        .user(&who.tenant_id, &who.user_id)?
        .ok_or_else(|| ServiceError::Forbidden("unknown user".into()))?;
    let writer = Author {
        user: &author,
        anonymous: false,
    };
    check_change(store, &who.tenant_id, &writer, None, &record).map_err(refused)?;
    let mut doc =
        RecordDocument::create(actor, &who.user_id, &record, now).map_err(ServiceError::internal)?;
    let (audit_action, audit_detail) = audit;
    let audit = AuditNote {
        user_id: who.user_id.clone(),
        action: audit_action.to_owned(),
        detail: format!("record {id} {audit_detail}"),
    };
    {
        let _held = state.doc_locks.hold(store, &who.tenant_id, &id)?;
        store_merged(
            store,
            &who.tenant_id,
            &id,
            &web_device,
            &mut doc,
            &[],
            0,
            true,
            Some(&audit),
            now,
        )
        .map_err(refused)?;
    }
    actions::after_stored(state, &who.tenant_id, &record)?;
    Ok(record)
}

/// A lifecycle step the kind refused, as `code` with every blocking finding's message (or the
/// refusal's own), so the person sees all that is in the way at once.
pub(crate) fn refused_step(code: &'static str) -> impl Fn(sync_core::Error) -> ServiceError {
    move |e| match e {
        sync_core::Error::Blocked(findings) => ServiceError::invalid(
            code,
            findings
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => ServiceError::invalid(code, other.to_string()),
    }
}

/// A refusal of the write checks, as the service says it.
pub(crate) fn refused(refusal: Refusal) -> ServiceError {
    match refusal {
        Refusal::Reject(_, reason) => ServiceError::Forbidden(reason),
        Refusal::Store(e) => e.into(),
    }
}

/// The automerge actor the server writes with for `user_id` on `device`, registered on first
/// use. Two first uses at once register two actors, both the user's: either may write.
pub(crate) fn registered_actor(
    store: &dyn RecordStore,
    tenant_id: &str,
    user_id: &str,
    device: &str,
) -> ServiceResult<ActorId> {
    if let Some(hex) = store.actor_for_device(device)? {
        return ActorId::try_from(hex.as_str()).map_err(ServiceError::internal);
    }
    let actor = ActorId::random();
    store.register_actor(
        &actor.to_hex_string(),
        &ActorOwner {
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            device_id: device.to_owned(),
            anonymous: false,
        },
    )?;
    Ok(actor)
}

/// The device the system writer's changes are registered to in `tenant_id`: one per company
/// (the actor registry names one company per actor), and under the server's device prefix so
/// its stamps count as the server's clock.
pub(crate) fn system_device(tenant_id: &str) -> String {
    format!("{SERVER_DEVICE_PREFIX}{SYSTEM_USER}:{tenant_id}")
}
