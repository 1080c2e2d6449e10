//! Identity: argon2 password hashes, short-lived JWT access tokens (tenant, user, role, device),
//! and long-lived, device-bound, single-use refresh tokens with reuse detection.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
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

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(ApiError::internal)?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
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
        // Counted per device before any store lookup, so a runaway phone costs the store nothing.
        state
            .limiters()
            .device_request(&state.rate_limits, &claims.device)
            .map_err(|refused| refused.into_error(&state.rate_limits))?;
        let store = state.store.clone();
        let (device, user) = tokio::task::spawn_blocking({
            let claims = claims.clone();
            move || {
                Ok::<_, crate::store::StoreError>((
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
