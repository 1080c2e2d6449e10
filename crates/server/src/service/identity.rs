//! Who is asking (from a bearer token or a browser session, already checked by the edge), and the
//! password rules shared by the API's sign-in and the sign-in page.

use std::net::IpAddr;
use sync_core::protocol::Role;

use super::{ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::auth;
use crate::store::{Scope, User};

/// The signed-in person a service call acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
}

impl Principal {
    pub fn of(user: &User) -> Self {
        Self {
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            name: user.name.clone(),
            role: user.role,
            sites: user.sites.clone(),
        }
    }

    /// What this person may read: decided from who they are, never from the request.
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.tenant_id.clone(),
            user_id: self.user_id.clone(),
            role: self.role,
            sites: self.sites.clone(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> ServiceResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only the company's office admin may do this".into(),
            ))
        }
    }

    /// Supervisors (and admins) approve or reject JSEAs.
    pub fn may_decide(&self) -> bool {
        sync_core::parts::approval::may_decide(self.role)
    }

    pub fn require_decider(&self) -> ServiceResult<()> {
        if self.may_decide() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only a supervisor approves or rejects a JSEA".into(),
            ))
        }
    }
}

/// The shortest password anyone may set.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer passwords are refused before hashing: argon2's cost grows with them.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The password rules, the same for the API and the pages.
pub fn check_new_password(password: &str) -> ServiceResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "weak_password",
            format!("passwords need at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ServiceError::invalid(
            "password_too_long",
            format!("passwords may be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A new argon2 hash, computed on the password threads.
pub async fn hash_new_password(state: &AppState, password: String) -> ServiceResult<String> {
    check_new_password(&password)?;
    state
        .passwords
        .run(move || auth::hash_password(&password))
        .await
        .map_err(|e| ServiceError::internal(e.message))?
        .map_err(|e| ServiceError::internal(e.message))
}

/// Checks an email and password under the sign-in rate limits (per account and per address), the
/// same for a phone's sign-in and the sign-in page. Unknown emails take as long as known ones.
pub async fn check_password(
    state: &AppState,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> ServiceResult<User> {
    let limiters = state.limiters();
    // A locked account or address is refused before its password is checked, so guessing stops.
    limiters
        .login_allowed(&state.rate_limits, email, address)
        .map_err(|refused| refused.into_service_error(&state.rate_limits))?;
    let store = state.store.clone();
    let lookup = email.to_owned();
    let user = blocking(move || Ok(store.user_by_email(&lookup)?)).await?;
    let password = password.to_owned();
    let wrong = || {
        limiters.login_failed(&state.rate_limits, email, address);
        ServiceError::Unauthenticated {
            code: "bad_credentials",
            message: "email or password is wrong".into(),
        }
    };
    let Some(user) = user else {
        // Spend the same time as a real check so response timing does not reveal accounts.
        let _ = state
            .passwords
            .run(move || auth::check_against_nobody(&password))
            .await;
        return Err(wrong());
    };
    let hash = user.password_hash.clone();
    let matches = state
        .passwords
        .run(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| ServiceError::internal(e.message))?;
    if !matches || user.disabled {
        return Err(wrong());
    }
    Ok(user)
}
