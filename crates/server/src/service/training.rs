//! Training and competency: who is oriented at which site, verified on which equipment, and holds
//! which certificates until when, read from the records themselves (orientation, competency and
//! certificate; the projection's assignee is the person each is about). The expiry alerts are the
//! certificates' own flags (`certificate.expiring` at 90, 60 and 30 days, `certificate.expired`),
//! judged again by the `Rejudger` as each threshold passes.
//!
//! The office records a certificate from the browser as a new `certificate` record written by
//! that person, through the same write checks as a phone's push, so the holder's phone receives it.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use sync_core::kinds::certificate::{Certificate, CertificateStatus, codes};
use sync_core::kinds::competency::{Competency, CompetencyStatus};
use sync_core::kinds::orientation::{Orientation, OrientationStatus};
use sync_core::kinds::{KindSpec, RecordKind};
use sync_core::model::{Body, Record};
use sync_core::protocol::Role;
use sync_core::{Flag, ListFilter};

use super::time::{day_start_ms, iso, zone_of};
use super::{Principal, ServiceError, ServiceResult, blocking, export};
use crate::AppState;
use crate::judge::stored_record;
use crate::store::{RecordStore, Scope, Site, User};

/// A signed site orientation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrientationHeld {
    pub record_id: String,
    pub site_id: String,
    pub signed_ms: i64,
}

/// A verified competency on a type of equipment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompetencyHeld {
    pub record_id: String,
    pub site_id: String,
    pub equipment_type: String,
    pub verified_ms: i64,
    /// User id of the supervisor who verified it.
    pub verified_by: String,
    pub verifier_name: String,
}

/// Where a certificate stands at the server's clock, as its flags say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "standing")]
pub enum Standing {
    Current,
    /// It does not expire.
    Lifetime,
    /// Within an alert: `alert` is "90 days", "60 days" or "30 days".
    Expiring {
        alert: String,
        days_left: i64,
    },
    Expired,
}

impl Standing {
    /// A CSS hook and a filter value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Standing::Current => "current",
            Standing::Lifetime => "lifetime",
            Standing::Expiring { .. } => "expiring",
            Standing::Expired => "expired",
        }
    }

    pub fn label(&self) -> String {
        match self {
            Standing::Current => "Current".into(),
            Standing::Lifetime => "Does not expire".into(),
            Standing::Expiring { alert, days_left } => {
                format!("Expires in {days_left} days ({alert} alert)")
            }
            Standing::Expired => "Expired".into(),
        }
    }
}

/// A recorded certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertificateHeld {
    pub record_id: String,
    pub site_id: String,
    pub certificate_type: String,
    pub number: String,
    pub issuer: String,
    pub issued_ms: Option<i64>,
    pub expiry_ms: Option<i64>,
    pub document_ref: Option<String>,
    pub standing: Standing,
    /// Its expiry flag with the evidence, if it carries one.
    pub flag: Option<Flag>,
}

/// One person's row of the training matrix.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PersonTraining {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
    pub orientations: Vec<OrientationHeld>,
    pub competencies: Vec<CompetencyHeld>,
    pub certificates: Vec<CertificateHeld>,
}

impl PersonTraining {
    /// The orientation at `site_id`, the latest if there are several.
    pub fn orientation_at(&self, site_id: &str) -> Option<&OrientationHeld> {
        self.orientations
            .iter()
            .filter(|o| o.site_id == site_id)
            .max_by_key(|o| o.signed_ms)
    }
}

/// The people whose training `who` may see: a worker only themself, a supervisor everyone who
/// shares one of their sites, the office admin everyone. Disabled people are left out.
pub(crate) fn visible_people(store: &dyn RecordStore, who: &Principal) -> ServiceResult<Vec<User>> {
    let mut people: Vec<User> = store
        .users(&who.tenant_id)?
        .into_iter()
        .filter(|u| !u.disabled)
        .filter(|u| match who.role {
            Role::Admin => true,
            Role::Supervisor => u.id == who.user_id || u.sites.iter().any(|s| who.sites.contains(s)),
            Role::Worker => u.id == who.user_id,
        })
        .collect();
    people.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(people)
}

/// Reads every record of the company: the training records of a person are theirs wherever
/// they were recorded; who may see whose is decided by [`visible_people`].
fn company(tenant_id: &str) -> Scope {
    Scope {
        tenant_id: tenant_id.to_owned(),
        user_id: String::new(),
        role: Role::Admin,
        sites: Vec::new(),
    }
}

/// Every row of `kind` in `status`, for one person or for everyone, paged through.
fn all_rows(
    store: &dyn RecordStore,
    tenant_id: &str,
    kind: &str,
    status: &str,
    assignee: Option<&str>,
    flag: Option<&str>,
) -> ServiceResult<Vec<sync_core::Projection>> {
    let page_size = super::records::MAX_PAGE;
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let filter = ListFilter {
            kind: Some(kind.to_owned()),
            status: Some(status.to_owned()),
            assignee: assignee.map(str::to_owned),
            flag: flag.map(str::to_owned),
            limit: Some(page_size),
            offset: Some(offset),
            ..ListFilter::default()
        };
        let page = store.list_records(&company(tenant_id), &filter)?;
        let done = page.len() < page_size as usize;
        rows.extend(page);
        if done {
            return Ok(rows);
        }
        offset += page_size;
    }
}

/// The training matrix: one row per person `who` may see.
pub async fn matrix(state: &AppState, who: &Principal) -> ServiceResult<Vec<PersonTraining>> {
    let (store, who) = (state.store.clone(), who.clone());
    blocking(move || matrix_blocking(store.as_ref(), &who)).await
}

fn matrix_blocking(store: &dyn RecordStore, who: &Principal) -> ServiceResult<Vec<PersonTraining>> {
    let people = visible_people(store, who)?;
    let names: BTreeMap<String, String> = store
        .users(&who.tenant_id)?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let only = (who.role == Role::Worker).then_some(who.user_id.as_str());
    let mut rows: BTreeMap<String, PersonTraining> = people
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                PersonTraining {
                    user_id: u.id.clone(),
                    name: u.name.clone(),
                    role: u.role,
                    sites: u.sites.clone(),
                    orientations: Vec::new(),
                    competencies: Vec::new(),
                    certificates: Vec::new(),
                },
            )
        })
        .collect();
    let tenant = who.tenant_id.as_str();
    for (kind, status) in [
        (Orientation::NAME, OrientationStatus::Signed.as_str()),
        (Competency::NAME, CompetencyStatus::Verified.as_str()),
        (Certificate::NAME, CertificateStatus::Recorded.as_str()),
    ] {
        for row in all_rows(store, tenant, kind, status, only, None)? {
            let Some(person) = row.assignee.as_deref().and_then(|id| rows.get_mut(id)) else {
                continue;
            };
            let Some(record) = stored_record(store, tenant, &row.id)? else {
                continue;
            };
            let site_id = record.header.site_id.clone();
            match record.body {
                Body::Orientation(o) => {
                    person
                        .orientations
                        .extend(o.worker_signature.map(|s| OrientationHeld {
                            record_id: row.id.clone(),
                            site_id,
                            signed_ms: s.stamp.wall_ms,
                        }))
                }
                Body::Competency(c) => person.competencies.extend(c.verifier.map(|s| CompetencyHeld {
                    record_id: row.id.clone(),
                    site_id,
                    equipment_type: c.equipment_type,
                    verified_ms: s.stamp.wall_ms,
                    verifier_name: names.get(&s.user_id).cloned().unwrap_or_else(|| s.name.clone()),
                    verified_by: s.user_id,
                })),
                Body::Certificate(c) => {
                    let flags = store.record_flags(tenant, &row.id)?;
                    person
                        .certificates
                        .push(certificate_held(&row.id, site_id, c, &flags));
                }
                _ => {}
            }
        }
    }
    let mut matrix: Vec<PersonTraining> = people.iter().filter_map(|u| rows.remove(&u.id)).collect();
    for person in &mut matrix {
        person.orientations.sort_by_key(|o| o.signed_ms);
        person
            .competencies
            .sort_by(|a, b| a.equipment_type.cmp(&b.equipment_type));
        person.certificates.sort_by(|a, b| {
            a.certificate_type
                .cmp(&b.certificate_type)
                .then(a.expiry_ms.cmp(&b.expiry_ms))
        });
    }
    Ok(matrix)
}

fn certificate_held(record_id: &str, site_id: String, c: Certificate, flags: &[Flag]) -> CertificateHeld {
    let flag = flags
        .iter()
        .find(|f| f.code == codes::EXPIRED || f.code == codes::EXPIRING)
        .cloned();
    let standing = match &flag {
        Some(f) if f.code == codes::EXPIRED => Standing::Expired,
        Some(f) => Standing::Expiring {
            alert: f.evidence.get("alert").cloned().unwrap_or_default(),
            days_left: f
                .evidence
                .get("days_left")
                .and_then(|d| d.parse().ok())
                .unwrap_or_default(),
        },
        None if c.expiry_ms.is_none() => Standing::Lifetime,
        None => Standing::Current,
    };
    CertificateHeld {
        record_id: record_id.to_owned(),
        site_id,
        certificate_type: c.certificate_type,
        number: c.number,
        issuer: c.issuer,
        issued_ms: c.issued_ms,
        expiry_ms: c.expiry_ms,
        document_ref: c.document_ref,
        standing,
        flag,
    }
}

/// An expiry alert: a certificate within 90, 60 or 30 days of expiry, or expired.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpiryAlert {
    pub holder_id: String,
    pub holder_name: String,
    pub certificate: CertificateHeld,
}

impl ExpiryAlert {
    /// "90 days", "60 days", "30 days" or "expired".
    pub fn alert(&self) -> String {
        match &self.certificate.standing {
            Standing::Expiring { alert, .. } => alert.clone(),
            _ => "expired".into(),
        }
    }
}

/// Every certificate with an expiry flag: a worker's own, everyone's (whom they may see) for the
/// office. Expired first, then by expiry, soonest first.
pub async fn alerts(state: &AppState, who: &Principal) -> ServiceResult<Vec<ExpiryAlert>> {
    let (store, who) = (state.store.clone(), who.clone());
    blocking(move || {
        let store = store.as_ref();
        let tenant = who.tenant_id.as_str();
        let people: BTreeMap<String, String> = visible_people(store, &who)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        let only = (who.role == Role::Worker).then_some(who.user_id.as_str());
        let recorded = CertificateStatus::Recorded.as_str();
        let mut alerts = Vec::new();
        for code in [codes::EXPIRED, codes::EXPIRING] {
            for row in all_rows(store, tenant, Certificate::NAME, recorded, only, Some(code))? {
                let Some(holder) = row.assignee.as_deref().filter(|id| people.contains_key(*id)) else {
                    continue;
                };
                let Some(Record {
                    header,
                    body: Body::Certificate(c),
                }) = stored_record(store, tenant, &row.id)?
                else {
                    continue;
                };
                let flags = store.record_flags(tenant, &row.id)?;
                alerts.push(ExpiryAlert {
                    holder_id: holder.to_owned(),
                    holder_name: people[holder].clone(),
                    certificate: certificate_held(&row.id, header.site_id, c, &flags),
                });
            }
        }
        alerts.sort_by_key(|a| {
            (
                a.certificate.standing != Standing::Expired,
                a.certificate.expiry_ms,
            )
        });
        Ok(alerts)
    })
    .await
}

/// A certificate the office enters from its document.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub holder_id: String,
    pub certificate_type: String,
    pub number: String,
    pub issuer: String,
    pub issued_on: NaiveDate,
    /// `None` for one that does not expire.
    pub expires_on: Option<NaiveDate>,
    pub document_ref: Option<String>,
}

/// Records a certificate as the office admin `who`: a new `certificate` record at one of the
/// holder's sites (the company's first site for a holder on none), written through the same
/// checks as a phone's push. Returns the record's id.
pub async fn record_certificate(
    state: &AppState,
    who: &Principal,
    new: NewCertificate,
) -> ServiceResult<String> {
    if !who.is_admin() {
        return Err(ServiceError::Forbidden(
            "only the office admin records certificates from the web".into(),
        ));
    }
    let (state, who) = (state.clone(), who.clone());
    blocking(move || record_blocking(&state, &who, new)).await
}

fn record_blocking(state: &AppState, who: &Principal, new: NewCertificate) -> ServiceResult<String> {
    let store: &dyn RecordStore = state.store.as_ref();
    let holder = store
        .user(&who.tenant_id, &new.holder_id)?
        .ok_or_else(|| ServiceError::NotFound("no such person to hold the certificate".into()))?;
    let sites = store.sites(&who.tenant_id)?;
    let site: &Site = holder
        .sites
        .iter()
        .find_map(|id| sites.iter().find(|s| &s.id == id))
        .or_else(|| sites.first())
        .ok_or_else(|| {
            ServiceError::invalid(
                "no_site",
                "the company has no site to keep the record at; add one first",
            )
        })?;
    let zone = zone_of(Some(site));
    let date_ms = |day: NaiveDate| {
        day_start_ms(day, zone)
            .ok_or_else(|| ServiceError::invalid("bad_date", format!("{day} is out of range")))
    };
    let mut certificate = Certificate::new(
        holder.id.clone(),
        new.certificate_type.trim(),
        new.number.trim(),
        new.issuer.trim(),
    );
    certificate.issued_ms = Some(date_ms(new.issued_on)?);
    certificate.expiry_ms = new.expires_on.map(date_ms).transpose()?;
    certificate.document_ref = new
        .document_ref
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    let detail = format!("from the browser: {} for {}", certificate.title(), holder.name);
    let record = super::writes::create_as(
        state,
        who,
        &site.id,
        Body::Certificate(certificate),
        "certificate_incomplete",
        ("certificate.recorded", detail),
    )?;
    Ok(record.header.id)
}

/// The export's columns: one row per person and qualification.
pub const CSV_COLUMNS: [&str; 11] = [
    "person",
    "role",
    "qualification",
    "what",
    "site",
    "number",
    "issuer",
    "date",
    "expires",
    "standing",
    "record_id",
];

/// The training matrix the person may see, as CSV bytes. Dates are in the record's site's zone.
pub async fn csv(state: &AppState, who: &Principal) -> ServiceResult<Vec<u8>> {
    let matrix = matrix(state, who).await?;
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    let sites: BTreeMap<String, Site> = blocking(move || {
        Ok(store
            .sites(&tenant)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect())
    })
    .await?;
    let site_name = |id: &str| sites.get(id).map_or_else(|| id.to_owned(), |s| s.name.clone());
    let time = |site_id: &str, ms: Option<i64>| {
        ms.map(|ms| iso(ms, zone_of(sites.get(site_id))))
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for person in &matrix {
        let role = person.role.as_str().to_owned();
        for o in &person.orientations {
            rows.push(vec![
                person.name.clone(),
                role.clone(),
                "orientation".into(),
                format!("Site orientation: {}", site_name(&o.site_id)),
                site_name(&o.site_id),
                String::new(),
                String::new(),
                time(&o.site_id, Some(o.signed_ms)),
                String::new(),
                "signed".into(),
                o.record_id.clone(),
            ]);
        }
        for c in &person.competencies {
            rows.push(vec![
                person.name.clone(),
                role.clone(),
                "competency".into(),
                c.equipment_type.clone(),
                site_name(&c.site_id),
                String::new(),
                format!("verified by {}", c.verifier_name),
                time(&c.site_id, Some(c.verified_ms)),
                String::new(),
                "verified".into(),
                c.record_id.clone(),
            ]);
        }
        for c in &person.certificates {
            rows.push(vec![
                person.name.clone(),
                role.clone(),
                "certificate".into(),
                c.certificate_type.clone(),
                site_name(&c.site_id),
                c.number.clone(),
                c.issuer.clone(),
                time(&c.site_id, c.issued_ms),
                time(&c.site_id, c.expiry_ms),
                c.standing.as_str().into(),
                c.record_id.clone(),
            ]);
        }
    }
    export::table_csv(&CSV_COLUMNS, rows)
}
