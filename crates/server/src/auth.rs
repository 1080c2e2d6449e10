//! Identity: argon2 password hashes, short-lived JWT access tokens (tenant, user, role, device),
//! and long-lived, device-bound, single-use refresh tokens with reuse detection.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::LazyLock;
use sync_core::protocol::Role;

use crate::AppState;
use crate::error::ApiError;
use crate::store::Scope;

/// Access tokens live this long; a phone refreshes before each sync when needed.
pub const ACCESS_TTL_MS: i64 = 15 * 60 * 1000;
/// Refresh tokens live this long: a phone offline for weeks can still sync on its return.
pub const REFRESH_TTL_MS: i64 = 90 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub tenant: String,
    pub role: Role,
    pub device: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    pub iat: i64,
}

#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Verifies signature, algorithm (HS256 only; `none` and others are refused) and expiry.
    /// A header naming critical extensions (`crit`) is refused: RFC 7515 §4.1.11 requires a
    /// recipient to reject extensions it does not understand, and this server understands none.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        if header_names_critical_extensions(token) {
            return Err(ApiError::unauthorized(
                "token_invalid",
                "the access token's header lists critical extensions (crit) this server does not understand",
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => {
                        ApiError::unauthorized("token_expired", "the access token has expired; refresh it")
                    }
                    _ => {
                        ApiError::unauthorized("token_invalid", format!("the access token is not valid: {e}"))
                    }
                }
            })
    }
}

/// Whether the token's header carries a `crit` member (a header that does not parse is refused
/// by the decoder with its own reason).
fn header_names_critical_extensions(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|header| header.crit.is_some())
}

type PasswordJob = Box<dyn FnOnce() + Send>;

/// Password hashes and checks, on threads of their own (the server starts one), so that no more
/// run at once than there are threads, each with its argon2 memory kept (`with_argon2_memory`).
#[derive(Debug)]
pub struct PasswordWorkers {
    jobs: std::sync::mpsc::Sender<PasswordJob>,
}

impl PasswordWorkers {
    /// Starts `threads` workers; they stop when this is dropped.
    pub fn start(threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<PasswordJob>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        // The queue's lock is released before the job runs.
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("the operating system starts a thread");
        }
        Self { jobs }
    }

    /// Runs `work` on a password thread and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| ApiError::internal("password checks are not running"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a password check stopped before answering"))
    }
}

/// A new PHC-format argon2id hash of `password` (argon2's default parameters), computed in the
/// thread's kept memory like every check.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(ApiError::internal)?;
    let (algorithm, version, params) = (
        argon2::Algorithm::default(),
        argon2::Version::default(),
        argon2::Params::default(),
    );
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(ApiError::internal)?;
    let output_len = params.output_len().unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN);
    let hash = Output::init_with(output_len, |out| {
        argon2_into(algorithm, version, params.clone(), password, raw_salt, out)
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(ApiError::internal)?;
    let phc = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: (&params).try_into().map_err(ApiError::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

thread_local! {
    static ARGON2_MEMORY: RefCell<Vec<argon2::Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `blocks` of argon2 working memory (19 MiB with the default parameters), kept
/// by the thread for its next check. Allocated afresh for each check, glibc's allocator kept the
/// freed buffers anyway, several per thread: 200 sign-ins took the server from 13 to 204 MiB
/// (docs/BENCHMARKS.md, load).
fn with_argon2_memory<T>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    ARGON2_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// argon2 of `password` and `salt` into `out`, in the thread's kept memory.
fn argon2_into(
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: argon2::Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let blocks = params.block_count();
    let argon2 = argon2::Argon2::new(algorithm, version, params);
    with_argon2_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
    })
}

/// Whether `password` matches the stored PHC-format `hash`, under the hash's own parameters;
/// what argon2's `PasswordVerifier` does, in the thread's kept memory.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        argon2::Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(argon2::Version::default()), argon2::Version::try_from)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut computed = vec![0u8; expected.len()];
    let hashed = argon2_into(algorithm, version, params, password, salt, &mut computed);
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == expected)
}

/// Spends a real password check's time on a sign-in for an unknown email, so the answer's timing
/// does not tell which emails have accounts.
pub fn check_against_nobody(password: &str) {
    static NOBODY: LazyLock<Option<String>> =
        LazyLock::new(|| hash_password("no account has this password").ok());
    if let Some(hash) = NOBODY.as_deref() {
        verify_password(password, hash);
    }
}

/// A new refresh token and the hash under which it is stored (the token itself never is).
pub fn new_refresh_token() -> (String, String) {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated caller, from the bearer token alone, checked against the device registry
/// so a revoked phone is shut out at once rather than when its token expires.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Claims,
    pub sites: Vec<String>,
    pub name: String,
}

impl Caller {
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.claims.tenant.clone(),
            user_id: self.claims.sub.clone(),
            role: self.claims.role,
            sites: self.sites.clone(),
        }
    }

    /// The same person for the service layer.
    pub fn principal(&self) -> crate::service::Principal {
        crate::service::Principal {
            tenant_id: self.claims.tenant.clone(),
            user_id: self.claims.sub.clone(),
            name: self.name.clone(),
            role: self.claims.role,
            sites: self.sites.clone(),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.claims.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the company's office admin may do this"))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("token_missing", "send Authorization: Bearer <access token>")
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "token_invalid",
                    "the Authorization header must be 'Bearer <token>'",
                )
            })?;
        let claims = state.keys.verify(token.trim())?;
        let store = state.store.clone();
        let (limiters, limits) = (state.limiters.clone(), state.rate_limits.clone());
        // Counted per device before any store lookup, so a runaway phone costs the store nothing.
        // On a blocking thread: where several processes share the store, so do the buckets.
        let (device, user) = tokio::task::spawn_blocking({
            let claims = claims.clone();
            move || {
                limiters
                    .device_request(&limits, &claims.device)
                    .map_err(|refused| refused.into_error(&limits))?;
                Ok::<_, ApiError>((
                    store.device(&claims.device)?,
                    store.user(&claims.tenant, &claims.sub)?,
                ))
            }
        })
        .await??;
        let device =
            device.ok_or_else(|| ApiError::unauthorized("device_unknown", "this device is not enrolled"))?;
        if device.revoked_at_ms.is_some() {
            return Err(ApiError::unauthorized(
                "device_revoked",
                "this device was revoked; sign in again",
            ));
        }
        if device.tenant_id != claims.tenant || device.user_id != claims.sub {
            return Err(ApiError::unauthorized(
                "token_invalid",
                "the token does not match the enrolled device",
            ));
        }
        let user = user
            .ok_or_else(|| ApiError::unauthorized("user_unknown", "the signed-in user no longer exists"))?;
        if user.disabled {
            return Err(ApiError::unauthorized(
                "user_disabled",
                "this account is disabled",
            ));
        }
        Ok(Caller {
            sites: user.sites,
            name: user.name,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// `verify_password` must agree with argon2's own verifier, whatever parameters, algorithm
    /// and version a stored hash names.
    #[test]
    fn password_checks_agree_with_argon2s_own_verifier() {
        let salt = SaltString::encode_b64(b"sixteen byte slt").expect("salt");
        let mut hashes = vec![hash_password("correct horse battery").expect("hash")];
        for (algorithm, version, m_cost, t_cost, p_cost, output) in [
            (argon2::Algorithm::Argon2i, argon2::Version::V0x10, 1024, 1, 1, 16),
            (argon2::Algorithm::Argon2d, argon2::Version::V0x13, 2048, 3, 2, 64),
            (argon2::Algorithm::Argon2id, argon2::Version::V0x13, 512, 2, 4, 32),
        ] {
            let params = argon2::Params::new(m_cost, t_cost, p_cost, Some(output)).expect("params");
            let hasher = argon2::Argon2::new(algorithm, version, params);
            let hash = hasher
                .hash_password(b"correct horse battery", &salt)
                .expect("hash")
                .to_string();
            hashes.push(hash);
        }
        for hash in &hashes {
            let parsed = PasswordHash::new(hash).expect("parses");
            for attempt in [
                "correct horse battery",
                "correct horse batterx",
                "",
                "correct horse battery ",
            ] {
                let theirs = argon2::Argon2::default()
                    .verify_password(attempt.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(
                    verify_password(attempt, hash),
                    theirs,
                    "{attempt:?} against {hash}"
                );
                assert_eq!(theirs, attempt == "correct horse battery");
            }
        }
        // Not a hash at all, or a hash with its output cut: refused, never a panic.
        assert!(!verify_password("correct horse battery", "not a hash"));
        let cut = &hashes[0][..hashes[0].len() - 8];
        assert!(!verify_password("correct horse battery", cut));
    }
}
