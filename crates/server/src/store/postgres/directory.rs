//! Companies, their people and their sites; and the audit log.

use postgres::Row;

use super::Tx;
use sync_core::place::{DEFAULT_MAX_ACCURACY_M, Geofence, SiteArea};
use sync_core::protocol::Role;

use super::super::sqlite::now_ms;
use super::super::{
    AuditEntry, AuditStore, Company, DEFAULT_TIME_ZONE, DirectoryStore, NewUser, Site, StoreError,
    StoreResult, User, UserChange,
};
use super::{PgStore, audit_in, new_id, unique_violation};

const USER_COLUMNS: &str = "id, tenant_id, email, name, role, password_hash, sites, disabled";

fn user_from_row(r: &Row) -> StoreResult<User> {
    let role: String = r.try_get(4)?;
    let sites: String = r.try_get(6)?;
    Ok(User {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        email: r.try_get(2)?,
        name: r.try_get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Worker),
        password_hash: r.try_get(5)?,
        sites: serde_json::from_str(&sites).unwrap_or_default(),
        disabled: r.try_get(7)?,
    })
}

const SITE_COLUMNS: &str = "id, tenant_id, name, geofence, max_accuracy_m, time_zone";

fn site_from_row(r: &Row) -> StoreResult<Site> {
    let geofence: Option<String> = r.try_get(3)?;
    Ok(Site {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        name: r.try_get(2)?,
        geofence: geofence.and_then(|g| serde_json::from_str(&g).ok()),
        max_accuracy_m: r.try_get(4)?,
        time_zone: r.try_get(5)?,
    })
}

/// A new company, inside the caller's transaction.
fn insert_company_in(tx: &mut Tx<'_>, name: &str) -> StoreResult<Company> {
    let company = Company {
        id: new_id(),
        name: name.trim().to_owned(),
    };
    if company.name.is_empty() {
        return Err(StoreError::Invalid("a company needs a name".into()));
    }
    match tx.execute(
        "INSERT INTO companies (id, name) VALUES ($1, $2)",
        &[&company.id, &company.name],
    ) {
        Ok(_) => Ok(company),
        Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!("company {:?}", company.name))),
        Err(e) => Err(e.into()),
    }
}

/// Refuses any site id that is not the company's.
fn check_sites_in(tx: &mut Tx<'_>, tenant_id: &str, sites: &[String]) -> StoreResult<()> {
    for site in sites {
        let known: bool = tx
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM sites WHERE id = $1 AND tenant_id = $2)",
                &[site, &tenant_id],
            )?
            .try_get(0)?;
        if !known {
            return Err(StoreError::Invalid(format!("no site {site} in this company")));
        }
    }
    Ok(())
}

/// A new person, inside the caller's transaction (which also writes the audit entry).
fn insert_user_in(tx: &mut Tx<'_>, tenant_id: &str, user: NewUser) -> StoreResult<User> {
    check_sites_in(tx, tenant_id, &user.sites)?;
    let created = User {
        id: new_id(),
        tenant_id: tenant_id.to_owned(),
        email: user.email.trim().to_lowercase(),
        name: user.name.trim().to_owned(),
        role: user.role,
        password_hash: user.password_hash,
        sites: user.sites,
        disabled: false,
    };
    if created.email.is_empty() || created.name.is_empty() {
        return Err(StoreError::Invalid(
            "a person needs a name and an email address".into(),
        ));
    }
    let sites = serde_json::to_string(&created.sites).unwrap_or_else(|_| "[]".into());
    let inserted = tx.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE)"),
        &[
            &created.id,
            &created.tenant_id,
            &created.email,
            &created.name,
            &created.role.as_str(),
            &created.password_hash,
            &sites,
        ],
    );
    match inserted {
        Ok(_) => Ok(created),
        // The unique index on lower(email): an address is one person's however it is written.
        Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!(
            "a user with email {}",
            created.email
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Ends every open browser session of a person; returns how many.
fn end_sessions_in(tx: &mut Tx<'_>, tenant_id: &str, user_id: &str, now: i64) -> StoreResult<usize> {
    let ended = tx.execute(
        "UPDATE web_sessions SET ended_at_ms = $3 WHERE tenant_id = $1 AND user_id = $2 AND ended_at_ms IS NULL",
        &[&tenant_id, &user_id, &now],
    )?;
    Ok(usize::try_from(ended).unwrap_or(usize::MAX))
}

/// Site names for an audit entry, in the order given; `none` for no sites.
fn site_names_in(tx: &mut Tx<'_>, tenant_id: &str, sites: &[String]) -> StoreResult<String> {
    if sites.is_empty() {
        return Ok("none".into());
    }
    let mut names = Vec::with_capacity(sites.len());
    for site in sites {
        // A site gone since it was assigned is named by its id.
        let found: Option<String> = tx
            .query_opt(
                "SELECT name FROM sites WHERE id = $1 AND tenant_id = $2",
                &[site, &tenant_id],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        names.push(found.unwrap_or_else(|| site.clone()));
    }
    Ok(names.join(", "))
}

/// "1 phone", "2 phones".
fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl DirectoryStore for PgStore {
    fn create_company(&self, name: &str) -> StoreResult<Company> {
        self.transaction(|tx| insert_company_in(tx, name))
    }

    fn is_empty(&self) -> StoreResult<bool> {
        Ok(self
            .client()?
            .query_one("SELECT NOT EXISTS(SELECT 1 FROM companies)", &[])?
            .try_get(0)?)
    }

    fn create_first_company(&self, company_name: &str, admin: NewUser) -> StoreResult<(Company, User)> {
        self.transaction(|tx| {
            // The check and the inserts must be one step, as under SQLite's single writer: two
            // first-run set-ups at once (in two processes) cannot both pass it. The lock lets
            // nobody else add a company until this transaction ends; reads go on.
            tx.batch_execute("LOCK TABLE companies IN SHARE ROW EXCLUSIVE MODE")?;
            let any_company: bool = tx
                .query_one("SELECT EXISTS(SELECT 1 FROM companies)", &[])?
                .try_get(0)?;
            if any_company {
                return Err(StoreError::Conflict(
                    "a company (first-run set-up is done)".into(),
                ));
            }
            let company = insert_company_in(tx, company_name)?;
            let admin = insert_user_in(tx, &company.id, admin.clone())?;
            audit_in(
                tx,
                &company.id,
                &admin.id,
                "company.created",
                &format!(
                    "{} with its first {}: {} ({})",
                    company.name,
                    admin.role.as_str(),
                    admin.name,
                    admin.email
                ),
            )?;
            Ok((company, admin))
        })
    }

    fn company_by_name(&self, name: &str) -> StoreResult<Option<Company>> {
        self.client()?
            .query_opt("SELECT id, name FROM companies WHERE name = $1", &[&name])?
            .map(|r| {
                Ok(Company {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                })
            })
            .transpose()
    }

    fn create_site(&self, tenant_id: &str, name: &str, by: &str) -> StoreResult<Site> {
        let site = Site {
            id: new_id(),
            tenant_id: tenant_id.to_owned(),
            name: name.trim().to_owned(),
            geofence: None,
            max_accuracy_m: DEFAULT_MAX_ACCURACY_M,
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
        };
        if site.name.is_empty() {
            return Err(StoreError::Invalid("a site needs a name".into()));
        }
        self.transaction(|tx| {
            let inserted = tx.execute(
                "INSERT INTO sites (id, tenant_id, name, time_zone) VALUES ($1, $2, $3, $4)",
                &[&site.id, &site.tenant_id, &site.name, &site.time_zone],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => return Err(StoreError::Conflict(format!("site {name:?}"))),
                Err(e) => return Err(e.into()),
            }
            audit_in(tx, tenant_id, by, "site.created", &site.name)
        })?;
        Ok(site)
    }

    fn sites(&self, tenant_id: &str) -> StoreResult<Vec<Site>> {
        // Byte order, as SQLite's default (BINARY) collation sorts, whatever the database's locale.
        self.client()?
            .query(
                &format!("SELECT {SITE_COLUMNS} FROM sites WHERE tenant_id = $1 ORDER BY name COLLATE \"C\""),
                &[&tenant_id],
            )?
            .iter()
            .map(site_from_row)
            .collect()
    }

    fn site(&self, tenant_id: &str, site_id: &str) -> StoreResult<Option<Site>> {
        self.client()?
            .query_opt(
                &format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1 AND tenant_id = $2"),
                &[&site_id, &tenant_id],
            )?
            .as_ref()
            .map(site_from_row)
            .transpose()
    }

    fn update_site(
        &self,
        tenant_id: &str,
        site_id: &str,
        name: &str,
        time_zone: &str,
        by: &str,
    ) -> StoreResult<bool> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a site needs a name".into()));
        }
        if time_zone.trim().is_empty() {
            return Err(StoreError::Invalid("a site needs a time zone".into()));
        }
        self.transaction(|tx| {
            // Locked: the audit entry names what the site was, so no other change may come between.
            let before = tx.query_opt(
                "SELECT name, time_zone FROM sites WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
                &[&site_id, &tenant_id],
            )?;
            let Some(before) = before else {
                return Ok(false);
            };
            let old_name: String = before.try_get(0)?;
            let old_zone: String = before.try_get(1)?;
            let mut changes = Vec::new();
            if old_name != name {
                changes.push(format!("name {old_name} → {name}"));
            }
            if old_zone != time_zone {
                changes.push(format!("time zone {old_zone} → {time_zone}"));
            }
            if changes.is_empty() {
                return Ok(true);
            }
            let updated = tx.execute(
                "UPDATE sites SET name = $3, time_zone = $4 WHERE id = $1 AND tenant_id = $2",
                &[&site_id, &tenant_id, &name, &time_zone],
            );
            match updated {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => return Err(StoreError::Conflict(format!("site {name:?}"))),
                Err(e) => return Err(e.into()),
            }
            audit_in(
                tx,
                tenant_id,
                by,
                "site.updated",
                &format!("{old_name}: {}", changes.join("; ")),
            )?;
            Ok(true)
        })
    }

    fn set_site_area(
        &self,
        tenant_id: &str,
        site_id: &str,
        geofence: Option<&Geofence>,
        max_accuracy_m: f64,
        by: &str,
    ) -> StoreResult<bool> {
        let json = geofence.map(|g| serde_json::to_string(g).unwrap_or_default());
        self.transaction(|tx| {
            let changed = tx.execute(
                "UPDATE sites SET geofence = $3, max_accuracy_m = $4 WHERE id = $1 AND tenant_id = $2",
                &[&site_id, &tenant_id, &json, &max_accuracy_m],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            // Every record at the site was judged against the old boundary (or none).
            tx.execute(
                "INSERT INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
                 SELECT tenant_id, id, 'the site boundary changed', $3::BIGINT
                 FROM documents WHERE tenant_id = $1 AND site_id = $2
                 ON CONFLICT DO NOTHING",
                &[&tenant_id, &site_id, &now_ms()],
            )?;
            audit_in(tx, tenant_id, by, "site.boundary", site_id)?;
            Ok(true)
        })
    }

    fn site_area(&self, tenant_id: &str, site_id: &str) -> StoreResult<Option<SiteArea>> {
        let row = self.client()?.query_opt(
            "SELECT geofence, max_accuracy_m FROM sites WHERE id = $1 AND tenant_id = $2",
            &[&site_id, &tenant_id],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let json: Option<String> = row.try_get(0)?;
        let max_accuracy_m: f64 = row.try_get(1)?;
        let Some(json) = json else {
            return Ok(None);
        };
        let geofence = serde_json::from_str(&json)
            .map_err(|e| StoreError::Backend(format!("site {site_id} geofence unreadable: {e}")))?;
        Ok(Some(SiteArea {
            geofence,
            max_accuracy_m,
        }))
    }

    fn create_user(&self, tenant_id: &str, user: NewUser, by: &str) -> StoreResult<User> {
        self.transaction(|tx| {
            let created = insert_user_in(tx, tenant_id, user.clone())?;
            audit_in(
                tx,
                tenant_id,
                by,
                "user.created",
                &format!(
                    "{} ({}) as {}",
                    created.name,
                    created.email,
                    created.role.as_str()
                ),
            )?;
            Ok(created)
        })
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        // Emails are stored lowercase; lower() on both sides is what the unique index covers.
        self.client()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"),
                &[&email.trim().to_lowercase()],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        self.client()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND tenant_id = $2"),
                &[&user_id, &tenant_id],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    fn users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        // Byte order, as SQLite's default (BINARY) collation sorts, whatever the database's locale.
        self.client()?
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY name COLLATE \"C\""),
                &[&tenant_id],
            )?
            .iter()
            .map(user_from_row)
            .collect()
    }

    fn update_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        change: &UserChange,
        by: &str,
        now_ms: i64,
    ) -> StoreResult<Option<User>> {
        self.transaction(|tx| {
            // Locked until the change commits: the audit entry says what the person was, and a
            // browser sign-in (which reads the row FOR SHARE) waits, so it either comes before
            // a disabling and is ended by it, or after and is refused.
            let before = tx.query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE"
                ),
                &[&user_id, &tenant_id],
            )?;
            let Some(before) = before.as_ref().map(user_from_row).transpose()? else {
                return Ok(None);
            };
            if let Some(sites) = &change.sites {
                check_sites_in(tx, tenant_id, sites)?;
            }
            let after = User {
                role: change.role.unwrap_or(before.role),
                sites: change.sites.clone().unwrap_or_else(|| before.sites.clone()),
                disabled: change.disabled.unwrap_or(before.disabled),
                password_hash: change
                    .password_hash
                    .clone()
                    .unwrap_or_else(|| before.password_hash.clone()),
                ..before.clone()
            };

            // What changed, in words for the audit log; never the hash.
            let mut changes = Vec::new();
            if after.role != before.role {
                changes.push(format!("role {} → {}", before.role.as_str(), after.role.as_str()));
            }
            if after.sites != before.sites {
                changes.push(format!(
                    "sites {} → {}",
                    site_names_in(tx, tenant_id, &before.sites)?,
                    site_names_in(tx, tenant_id, &after.sites)?
                ));
            }
            if after.disabled && !before.disabled {
                // Disabled means signed out everywhere: browsers at once; phones at once too, as
                // every request checks the person, and for good, as their refresh tokens are
                // deleted. The phones are not revoked: once enabled again, the person signs in
                // on the same phone. (Spending the tokens instead would make the phone's next
                // refresh look like a replay and revoke it.)
                //
                // Their phones are locked before their tokens, the order a refresh and a
                // revocation take them in, so none of these waits on another in a circle.
                tx.query(
                    "SELECT 1 FROM devices
                     WHERE id IN (SELECT device_id FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2)
                     ORDER BY id FOR NO KEY UPDATE",
                    &[&tenant_id, &user_id],
                )?;
                let phones: i64 = tx
                    .query_one(
                        "SELECT count(DISTINCT device_id) FROM refresh_tokens
                         WHERE tenant_id = $1 AND user_id = $2 AND used_at_ms IS NULL",
                        &[&tenant_id, &user_id],
                    )?
                    .try_get(0)?;
                tx.execute(
                    "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2",
                    &[&tenant_id, &user_id],
                )?;
                let sessions = end_sessions_in(tx, tenant_id, user_id, now_ms)?;
                changes.push(format!(
                    "disabled ({} signed out, {} ended)",
                    count_of(usize::try_from(phones).unwrap_or(0), "phone", "phones"),
                    count_of(sessions, "browser session", "browser sessions")
                ));
            } else if !after.disabled && before.disabled {
                changes.push("enabled".into());
            }
            if change.password_hash.is_some() {
                // A reset password is meant to shut out whoever knew the old one.
                let sessions = end_sessions_in(tx, tenant_id, user_id, now_ms)?;
                changes.push(format!(
                    "password reset ({} ended)",
                    count_of(sessions, "browser session", "browser sessions")
                ));
            }
            if changes.is_empty() {
                return Ok(Some(before));
            }
            let sites = serde_json::to_string(&after.sites).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "UPDATE users SET role = $3, sites = $4, disabled = $5, password_hash = $6
                 WHERE id = $1 AND tenant_id = $2",
                &[
                    &user_id,
                    &tenant_id,
                    &after.role.as_str(),
                    &sites,
                    &after.disabled,
                    &after.password_hash,
                ],
            )?;
            audit_in(
                tx,
                tenant_id,
                by,
                "user.updated",
                &format!("{} ({}): {}", after.name, after.email, changes.join("; ")),
            )?;
            Ok(Some(after))
        })
    }
}

impl AuditStore for PgStore {
    fn audit(&self, tenant_id: &str, user_id: &str, action: &str, detail: &str) -> StoreResult<()> {
        self.client()?.execute(
            "INSERT INTO audit_log (tenant_id, at_ms, user_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant_id, &now_ms(), &user_id, &action, &detail],
        )?;
        Ok(())
    }

    fn audit_log(&self, tenant_id: &str, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.client()?
            .query(
                "SELECT at_ms, user_id, action, detail FROM audit_log
                 WHERE tenant_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
                &[&tenant_id, &i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at_ms: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    action: r.try_get(2)?,
                    detail: r.try_get(3)?,
                })
            })
            .collect()
    }
}
