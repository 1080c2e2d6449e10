//! The company's people: adding someone, changing their role and sites, disabling them and
//! resetting their password. Admins only; the audit entry commits with each change.

use std::collections::BTreeMap;
use sync_core::protocol::Role;

use super::identity::{check_new_password, hash_new_password};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::{NewUser, User, UserChange};

/// A person to add, as an admin typed them.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// Site ids the person works at (workers) or supervises (supervisors).
    pub sites: Vec<String>,
}

/// What an admin changes about a person; `None` leaves it.
#[derive(Debug, Clone, Default)]
pub struct PersonChange {
    pub role: Option<Role>,
    pub sites: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// The checks a new person's details pass before anything is hashed or stored.
pub fn check_new_person(person: &NewPerson) -> ServiceResult<()> {
    let email = person.email.trim();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ServiceError::invalid(
            "invalid_user",
            "a user needs an email address like name@example.com",
        ));
    }
    if person.name.trim().is_empty() || person.name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "invalid_user",
            "a user needs a name of 1 to 200 characters",
        ));
    }
    check_new_password(&person.password)
}

/// Everyone's name in the person's company by user id: what records show in place of ids (the
/// names are on the records' signatures anyway). Anyone signed in may read it.
pub async fn names(state: &AppState, who: &Principal) -> ServiceResult<BTreeMap<String, String>> {
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || {
        Ok(store
            .users(&tenant)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect())
    })
    .await
}

pub async fn list(state: &AppState, who: &Principal) -> ServiceResult<Vec<User>> {
    who.require_admin()?;
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || Ok(store.users(&tenant)?)).await
}

/// Adds a person to the admin's company.
pub async fn add(state: &AppState, who: &Principal, person: NewPerson) -> ServiceResult<User> {
    who.require_admin()?;
    check_new_person(&person)?;
    let password_hash = hash_new_password(state, person.password).await?;
    let store = state.store.clone();
    let (tenant, by) = (who.tenant_id.clone(), who.user_id.clone());
    blocking(move || {
        let user = NewUser {
            email: person.email,
            name: person.name,
            role: person.role,
            password_hash,
            sites: person.sites,
        };
        Ok(store.create_user(&tenant, user, &by)?)
    })
    .await
}

/// Changes a person's role, sites, enabled state or password.
pub async fn change(
    state: &AppState,
    who: &Principal,
    user_id: &str,
    change: PersonChange,
) -> ServiceResult<User> {
    who.require_admin()?;
    if user_id == who.user_id
        && (change.disabled == Some(true) || change.role.is_some_and(|r| r != Role::Admin))
    {
        // Otherwise the last admin could lock the whole office out.
        return Err(ServiceError::invalid(
            "own_account",
            "you cannot disable yourself or give up your own admin role; ask another admin",
        ));
    }
    let password_hash = match change.password {
        Some(password) => Some(hash_new_password(state, password).await?),
        None => None,
    };
    let store = state.store.clone();
    let (tenant, by, user_id) = (who.tenant_id.clone(), who.user_id.clone(), user_id.to_owned());
    let now = (state.clock)();
    let change = UserChange {
        role: change.role,
        sites: change.sites,
        disabled: change.disabled,
        password_hash,
    };
    blocking(move || {
        store
            .update_user(&tenant, &user_id, &change, &by, now)?
            .ok_or_else(|| ServiceError::NotFound("no such person in this company".into()))
    })
    .await
}
