//! Who may come in: browser sessions, enrolled devices and their refresh tokens.
//!
//! Where a read decides a write, the row read is locked until the transaction ends, so two server
//! processes doing the same thing at once give the answers SQLite's single writer gives one after
//! the other. A device's row is always locked before its refresh tokens' (here, and where
//! disabling a person deletes theirs), so these locks never wait on each other in a circle.

use postgres::Row;

use super::Tx;

use super::super::sqlite::now_ms;
use super::super::{
    AccessStore, Device, DeviceSignIn, REFRESH_GRACE_MS, RefreshUse, StoreError, StoreResult, WebSession,
};
use super::{PgStore, audit_in, unique_violation};

const DEVICE_COLUMNS: &str = "id, tenant_id, user_id, name, enrolled_at_ms, last_sync_at_ms, revoked_at_ms";

fn device_from_row(r: &Row) -> StoreResult<Device> {
    Ok(Device {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        name: r.try_get(3)?,
        enrolled_at_ms: r.try_get(4)?,
        last_sync_at_ms: r.try_get(5)?,
        revoked_at_ms: r.try_get(6)?,
    })
}

const SESSION_COLUMNS: &str =
    "token_hash, tenant_id, user_id, csrf_token, created_at_ms, last_seen_at_ms, ended_at_ms";

fn session_from_row(r: &Row) -> StoreResult<WebSession> {
    Ok(WebSession {
        token_hash: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        csrf_token: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
        last_seen_at_ms: r.try_get(5)?,
        ended_at_ms: r.try_get(6)?,
    })
}

/// The device's row, locked until the transaction ends. `NO KEY UPDATE`, the lock an update of
/// its other columns takes: refresh tokens being inserted for it (their foreign key) need not wait.
fn locked_device(tx: &mut Tx<'_>, device_id: &str) -> StoreResult<Option<Device>> {
    tx.query_opt(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1 FOR NO KEY UPDATE"),
        &[&device_id],
    )?
    .as_ref()
    .map(device_from_row)
    .transpose()
}

/// Enrolls (or re-enrolls) a device, inside the caller's transaction.
fn enroll_in(
    tx: &mut Tx<'_>,
    tenant_id: &str,
    user_id: &str,
    device_id: &str,
    name: &str,
) -> StoreResult<Device> {
    let mut existing = locked_device(tx, device_id)?;
    if existing.is_none() {
        let inserted = tx.execute(
            "INSERT INTO devices (id, tenant_id, user_id, name, enrolled_at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
            &[&device_id, &tenant_id, &user_id, &name, &now_ms()],
        )?;
        if inserted == 0 {
            // Another process enrolled it first and has committed: this is a re-enrollment.
            existing = locked_device(tx, device_id)?;
        }
    }
    match existing {
        Some(d) if d.revoked_at_ms.is_some() => {
            return Err(StoreError::Invalid(
                "this device was revoked by the company's admin".into(),
            ));
        }
        Some(d) if d.tenant_id != tenant_id => {
            return Err(StoreError::Invalid(
                "this device is enrolled with another company".into(),
            ));
        }
        Some(_) => {
            tx.execute(
                "UPDATE devices SET user_id = $2, name = $3 WHERE id = $1",
                &[&device_id, &user_id, &name],
            )?;
        }
        None => {}
    }
    device_from_row(&tx.query_one(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"),
        &[&device_id],
    )?)
}

/// Revokes a device and spends every refresh token it holds, so it can no longer refresh.
/// False if the company has no such device.
fn revoke_device_in(tx: &mut Tx<'_>, tenant_id: &str, device_id: &str, now: i64) -> StoreResult<bool> {
    let changed = tx.execute(
        "UPDATE devices SET revoked_at_ms = COALESCE(revoked_at_ms, $3) WHERE id = $1 AND tenant_id = $2",
        &[&device_id, &tenant_id, &now],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE refresh_tokens SET used_at_ms = COALESCE(used_at_ms, $2) WHERE device_id = $1",
        &[&device_id, &now],
    )?;
    Ok(true)
}

const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, device_id, user_id, tenant_id, expires_at_ms)
     VALUES ($1, $2, $3, $4, $5)";

impl AccessStore for PgStore {
    fn create_session(&self, session: &WebSession) -> StoreResult<()> {
        self.transaction(|tx| {
            // Shared-locked: a disabling of the person (which ends their sessions) waits for this
            // sign-in to commit, or this waits for it and then reads them disabled.
            let disabled: Option<bool> = tx
                .query_opt(
                    "SELECT disabled FROM users WHERE id = $1 AND tenant_id = $2 FOR SHARE",
                    &[&session.user_id, &session.tenant_id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            match disabled {
                None => {
                    return Err(StoreError::Invalid(format!(
                        "no user {} in this company",
                        session.user_id
                    )));
                }
                Some(true) => {
                    return Err(StoreError::Invalid(format!(
                        "user {} is disabled and cannot sign in",
                        session.user_id
                    )));
                }
                Some(false) => {}
            }
            let inserted = tx.execute(
                &format!("INSERT INTO web_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                &[
                    &session.token_hash,
                    &session.tenant_id,
                    &session.user_id,
                    &session.csrf_token,
                    &session.created_at_ms,
                    &session.last_seen_at_ms,
                    &session.ended_at_ms,
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => {
                    return Err(StoreError::Conflict("a browser session with this token".into()));
                }
                Err(e) => return Err(e.into()),
            }
            audit_in(
                tx,
                &session.tenant_id,
                &session.user_id,
                "web.sign_in",
                "signed in from a browser",
            )
        })
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<WebSession>> {
        self.client()?
            .query_opt(
                &format!("SELECT {SESSION_COLUMNS} FROM web_sessions WHERE token_hash = $1"),
                &[&token_hash],
            )?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        self.transaction(|tx| {
            // Every page view touches its session. Losing the last touches to a crash only makes
            // an idle timeout come a little early, so they skip waiting for the flush to disk
            // (SQLite's store lowers `synchronous` for them, the same trade).
            tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            // Never backwards, whatever order two requests' touches arrive in.
            tx.execute(
                "UPDATE web_sessions SET last_seen_at_ms = GREATEST(last_seen_at_ms, $2)
                 WHERE token_hash = $1 AND ended_at_ms IS NULL",
                &[&token_hash, &now_ms],
            )?;
            Ok(())
        })
    }

    fn end_session(&self, token_hash: &str, now_ms: i64, reason: &str) -> StoreResult<()> {
        self.transaction(|tx| {
            // Locked: of two sign-outs at once, the second finds the session ended and writes
            // no second audit entry.
            let open = tx.query_opt(
                "SELECT tenant_id, user_id FROM web_sessions
                 WHERE token_hash = $1 AND ended_at_ms IS NULL FOR UPDATE",
                &[&token_hash],
            )?;
            let Some(open) = open else {
                return Ok(());
            };
            let tenant_id: String = open.try_get(0)?;
            let user_id: String = open.try_get(1)?;
            tx.execute(
                "UPDATE web_sessions SET ended_at_ms = $2 WHERE token_hash = $1",
                &[&token_hash, &now_ms],
            )?;
            audit_in(tx, &tenant_id, &user_id, "web.sign_out", reason)
        })
    }

    fn enroll_device(
        &self,
        tenant_id: &str,
        user_id: &str,
        device_id: &str,
        name: &str,
    ) -> StoreResult<Device> {
        self.transaction(|tx| enroll_in(tx, tenant_id, user_id, device_id, name))
    }

    fn sign_in_device(&self, sign_in: &DeviceSignIn<'_>) -> StoreResult<Device> {
        self.transaction(|tx| {
            let device = enroll_in(
                tx,
                sign_in.tenant_id,
                sign_in.user_id,
                sign_in.device_id,
                sign_in.device_name,
            )?;
            tx.execute(
                INSERT_REFRESH_TOKEN,
                &[
                    &sign_in.refresh_hash,
                    &sign_in.device_id,
                    &sign_in.user_id,
                    &sign_in.tenant_id,
                    &sign_in.refresh_expires_at_ms,
                ],
            )?;
            audit_in(
                tx,
                sign_in.tenant_id,
                sign_in.user_id,
                "device.login",
                &format!("signed in on device {}", sign_in.device_id),
            )?;
            Ok(device)
        })
    }

    fn device(&self, device_id: &str) -> StoreResult<Option<Device>> {
        self.client()?
            .query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"),
                &[&device_id],
            )?
            .as_ref()
            .map(device_from_row)
            .transpose()
    }

    fn devices(&self, tenant_id: &str) -> StoreResult<Vec<Device>> {
        self.client()?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE tenant_id = $1 ORDER BY enrolled_at_ms"),
                &[&tenant_id],
            )?
            .iter()
            .map(device_from_row)
            .collect()
    }

    fn revoke_device(&self, tenant_id: &str, device_id: &str, by: &str) -> StoreResult<bool> {
        self.transaction(|tx| {
            if !revoke_device_in(tx, tenant_id, device_id, now_ms())? {
                return Ok(false);
            }
            audit_in(tx, tenant_id, by, "device.revoked", device_id)?;
            Ok(true)
        })
    }

    fn save_refresh_token(
        &self,
        token_hash: &str,
        device_id: &str,
        user_id: &str,
        tenant_id: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.client()?.execute(
            INSERT_REFRESH_TOKEN,
            &[&token_hash, &device_id, &user_id, &tenant_id, &expires_at_ms],
        )?;
        Ok(())
    }

    fn rotate_refresh_token(
        &self,
        token_hash: &str,
        claimed_device: Option<&str>,
        next_hash: &str,
        next_expires_at_ms: i64,
        now: i64,
    ) -> StoreResult<RefreshUse> {
        self.transaction(|tx| {
            // The token's device (a token never changes device), to lock the device first: every
            // rotation of the device's tokens then runs one at a time, in the same lock order as
            // a revocation. Two processes presenting the same token at once: the second waits
            // here, then reads the token as the first left it, spent.
            let device_id: Option<String> = tx
                .query_opt(
                    "SELECT device_id FROM refresh_tokens WHERE token_hash = $1",
                    &[&token_hash],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let Some(device_id) = device_id else {
                return Ok(RefreshUse::Unknown);
            };
            let revoked: bool = tx
                .query_one(
                    "SELECT revoked_at_ms IS NOT NULL FROM devices WHERE id = $1 FOR NO KEY UPDATE",
                    &[&device_id],
                )?
                .try_get(0)?;
            let row = tx.query_opt(
                "SELECT user_id, tenant_id, expires_at_ms, used_at_ms, replaced_by FROM refresh_tokens
                 WHERE token_hash = $1 FOR UPDATE",
                &[&token_hash],
            )?;
            // Gone while the device was waited for (its person was disabled): as if never issued.
            let Some(row) = row else {
                return Ok(RefreshUse::Unknown);
            };
            let user_id: String = row.try_get(0)?;
            let tenant_id: String = row.try_get(1)?;
            let expires: i64 = row.try_get(2)?;
            let used_at: Option<i64> = row.try_get(3)?;
            let replaced_by: Option<String> = row.try_get(4)?;
            if revoked {
                return Ok(RefreshUse::Reused { device_id });
            }
            if expires < now {
                return Ok(RefreshUse::Expired);
            }
            let spend_into_successor = |tx: &mut Tx<'_>| -> StoreResult<()> {
                tx.execute(
                    "UPDATE refresh_tokens SET used_at_ms = COALESCE(used_at_ms, $2), replaced_by = $3
                     WHERE token_hash = $1",
                    &[&token_hash, &now, &next_hash],
                )?;
                tx.execute(
                    INSERT_REFRESH_TOKEN,
                    &[&next_hash, &device_id, &user_id, &tenant_id, &next_expires_at_ms],
                )?;
                Ok(())
            };
            let Some(used_at) = used_at else {
                spend_into_successor(tx)?;
                return Ok(RefreshUse::Valid {
                    device_id,
                    user_id,
                    tenant_id,
                });
            };
            // Presented again. The phone whose answer was lost holds exactly this token and never
            // received its successor: within the grace window, from its own device, while the
            // successor is unused, it gets a new one and the unreceived successor is spent, so a
            // copy of it presented later still counts as a reuse.
            let successor_unused = match &replaced_by {
                Some(next) => tx
                    .query_opt(
                        "SELECT used_at_ms IS NULL FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                        &[next],
                    )?
                    .map(|r| r.try_get::<_, bool>(0))
                    .transpose()?
                    .unwrap_or(false),
                None => false,
            };
            let lost_answer = successor_unused
                && claimed_device == Some(device_id.as_str())
                && now - used_at <= REFRESH_GRACE_MS;
            if lost_answer {
                tx.execute(
                    "UPDATE refresh_tokens SET used_at_ms = $2 WHERE token_hash = $1",
                    &[&replaced_by, &now],
                )?;
                spend_into_successor(tx)?;
                return Ok(RefreshUse::Valid {
                    device_id,
                    user_id,
                    tenant_id,
                });
            }
            // Replay of a spent token: whoever holds the chain now is not to be trusted.
            tx.execute(
                "UPDATE devices SET revoked_at_ms = $2 WHERE id = $1",
                &[&device_id, &now],
            )?;
            tx.execute(
                "UPDATE refresh_tokens SET used_at_ms = COALESCE(used_at_ms, $2) WHERE device_id = $1",
                &[&device_id, &now],
            )?;
            audit_in(
                tx,
                &tenant_id,
                "system",
                "device.revoked",
                &format!("refresh token reused for device {device_id}"),
            )?;
            Ok(RefreshUse::Reused { device_id })
        })
    }
}
