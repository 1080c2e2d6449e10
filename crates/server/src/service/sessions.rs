//! Browser sessions as rules, apart from cookies: a session starts after a password check, is
//! resumed only while it is neither ended, idle too long, too old, nor its person disabled, and
//! ends for good (sign-out, timeout) so a copied token signs nobody in afterwards. Tokens are
//! random; only their SHA-256 is stored.

use super::{Principal, ServiceResult, blocking};
use crate::AppState;
use crate::auth;
use crate::store::{User, WebSession};

/// A session unused this long is ended: a browser left open in a site trailer signs itself out.
pub const IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// However busy, a session ends after a working day.
pub const MAX_SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// A session's last use is written at most this often.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A session just started: the token for the cookie (shown once, never stored) and the CSRF token
/// its forms carry.
#[derive(Debug)]
pub struct Started {
    pub token: String,
    pub csrf: String,
}

/// A session resumed from its token.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub principal: Principal,
    pub csrf: String,
    pub token_hash: String,
}

/// Starts a session for `user` (whose password was just checked), ending `previous` (the
/// session the browser still held, if any) in the same call.
pub async fn start(state: &AppState, user: &User, previous: Option<&str>) -> ServiceResult<Started> {
    let (token, token_hash) = auth::new_refresh_token();
    let (csrf, _) = auth::new_refresh_token();
    let now = (state.clock)();
    let session = WebSession {
        token_hash,
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_token: csrf.clone(),
        created_at_ms: now,
        last_seen_at_ms: now,
        ended_at_ms: None,
    };
    let previous = previous.map(auth::hash_refresh_token);
    let store = state.store.clone();
    blocking(move || {
        if let Some(previous) = previous {
            store.end_session(&previous, now, "signed in again")?;
        }
        Ok(store.create_session(&session)?)
    })
    .await?;
    Ok(Started { token, csrf })
}

/// The person behind a session token, if the session may still be used; a session found idle
/// too long, too old, or its person disabled is ended here.
pub async fn resume(state: &AppState, token: &str) -> ServiceResult<Option<Resumed>> {
    let token_hash = auth::hash_refresh_token(token);
    let now = (state.clock)();
    let store = state.store.clone();
    blocking(move || {
        let Some(session) = store.session(&token_hash)? else {
            return Ok(None);
        };
        if session.ended_at_ms.is_some() {
            return Ok(None);
        }
        let user = store.user(&session.tenant_id, &session.user_id)?;
        let ended_because = if now - session.last_seen_at_ms > IDLE_TIMEOUT_MS {
            Some("idle timeout")
        } else if now - session.created_at_ms > MAX_SESSION_MS {
            Some("session lifetime reached")
        } else {
            match &user {
                None => Some("account removed"),
                Some(u) if u.disabled => Some("account disabled"),
                Some(_) => None,
            }
        };
        if let Some(reason) = ended_because {
            store.end_session(&token_hash, now, reason)?;
            return Ok(None);
        }
        if now - session.last_seen_at_ms > TOUCH_EVERY_MS {
            store.touch_session(&token_hash, now)?;
        }
        Ok(user.map(|user| Resumed {
            principal: Principal::of(&user),
            csrf: session.csrf_token,
            token_hash,
        }))
    })
    .await
}

/// Ends a session for good (sign-out).
pub async fn end(state: &AppState, token_hash: &str) -> ServiceResult<()> {
    let now = (state.clock)();
    let store = state.store.clone();
    let token_hash = token_hash.to_owned();
    blocking(move || Ok(store.end_session(&token_hash, now, "signed out")?)).await
}
