//! First run: a server with no company prints a one-time set-up link; whoever opens it names the
//! company and becomes its first admin. `--init-admin EMAIL` does the same from the command line.

use base64::Engine;
use subtle::ConstantTimeEq;
use sync_core::protocol::Role;

use super::identity::hash_new_password;
use super::people::{NewPerson, check_new_person};
use super::{ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{Company, NewUser, StoreError, User};

/// The one-time set-up token, while the store has no company. A token is made only when the store
/// is empty, and forgotten once the company exists.
#[derive(Debug, Default)]
pub struct SetupGate {
    token: std::sync::Mutex<Option<String>>,
}

impl SetupGate {
    /// A new token (replacing any earlier one); shown once, in the server's output.
    pub fn open(&self) -> String {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        *self.lock() = Some(token.clone());
        token
    }

    pub fn is_open(&self) -> bool {
        self.lock().is_some()
    }

    /// Whether `offered` is the current token, compared in constant time.
    pub fn admits(&self, offered: &str) -> bool {
        self.lock()
            .as_deref()
            .is_some_and(|token| bool::from(token.as_bytes().ct_eq(offered.as_bytes())))
    }

    fn close(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.token.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens the set-up gate if the store holds no company; the token to print, if so.
pub async fn open_if_empty(state: &AppState) -> ServiceResult<Option<String>> {
    let store = state.store.clone();
    let empty = blocking(move || Ok(store.is_empty()?)).await?;
    Ok(empty.then(|| state.setup.open()))
}

/// Creates the company and its first admin, when `token` is the set-up token.
pub async fn create_company(
    state: &AppState,
    token: &str,
    company_name: &str,
    admin: NewPerson,
) -> ServiceResult<(Company, User)> {
    if !state.setup.admits(token) {
        return Err(ServiceError::Forbidden(
            "this set-up link is not valid (it works once, while the server has no company); \
             restart the server on an empty data directory for a new one"
                .into(),
        ));
    }
    let created = create_first(state, company_name, admin).await?;
    state.setup.close();
    Ok(created)
}

/// `--init-admin`: creates the company and its first admin (named "Office admin") with a random
/// password, returned to be shown once; `None` when the store already has a company.
pub async fn init_admin(state: &AppState, company_name: &str, email: &str) -> ServiceResult<Option<String>> {
    let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
    let admin = NewPerson {
        email: email.to_owned(),
        name: "Office admin".into(),
        role: Role::Admin,
        password: password.clone(),
        sites: Vec::new(),
    };
    match create_first(state, company_name, admin).await {
        Ok(_) => Ok(Some(password)),
        Err(ServiceError::Store(StoreError::Conflict(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the company and its first admin (the set-up page and `--init-admin`).
pub async fn create_first(
    state: &AppState,
    company_name: &str,
    admin: NewPerson,
) -> ServiceResult<(Company, User)> {
    let company_name = company_name.trim().to_owned();
    if company_name.is_empty() || company_name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "invalid_company",
            "the company needs a name of 1 to 200 characters",
        ));
    }
    let admin = NewPerson {
        role: Role::Admin,
        sites: Vec::new(),
        ..admin
    };
    check_new_person(&admin)?;
    let password_hash = hash_new_password(state, admin.password).await?;
    let store = state.store.clone();
    blocking(move || {
        let user = NewUser {
            email: admin.email,
            name: admin.name,
            role: Role::Admin,
            password_hash,
            sites: Vec::new(),
        };
        Ok(store.create_first_company(&company_name, user)?)
    })
    .await
}
