//! Sites: their boundaries (checked before they are stored, and every record at the site judged
//! again after a change), names and time zones, and what happened there lately.

use sync_core::kinds::KindSpec;
use sync_core::kinds::jsea::Jsea;
use sync_core::model::Body;
use sync_core::place::{DEFAULT_MAX_ACCURACY_M, Geofence};
use sync_core::{ListFilter, Projection};

use super::records::detail_of;

use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::Site;

/// Every site of the person's company (everyone may read the list: phones pick sites from it).
pub async fn list(state: &AppState, who: &Principal) -> ServiceResult<Vec<Site>> {
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || Ok(store.sites(&tenant)?)).await
}

/// A boundary and accuracy threshold a person typed, checked.
pub fn check_boundary(geofence: Option<&Geofence>, max_accuracy_m: f64) -> ServiceResult<()> {
    if let Some(g) = geofence {
        g.validate()
            .map_err(|m| ServiceError::invalid("invalid_geofence", m))?;
    }
    if !(max_accuracy_m.is_finite() && max_accuracy_m > 0.0) {
        return Err(ServiceError::invalid(
            "invalid_geofence",
            "max_accuracy_m must be a positive number of metres",
        ));
    }
    Ok(())
}

/// An IANA time zone name this server knows, e.g. `America/Edmonton`.
pub fn check_time_zone(name: &str) -> ServiceResult<chrono_tz::Tz> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        ServiceError::invalid(
            "invalid_time_zone",
            format!("{name:?} is not a time zone name such as America/Edmonton"),
        )
    })
}

fn check_site_name(name: &str) -> ServiceResult<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "invalid_site",
            "a site needs a name of 1 to 200 characters",
        ));
    }
    Ok(())
}

/// Creates a site, with a boundary when one is given.
pub async fn create(
    state: &AppState,
    who: &Principal,
    name: String,
    geofence: Option<Geofence>,
    max_accuracy_m: Option<f64>,
) -> ServiceResult<Site> {
    who.require_admin()?;
    check_site_name(&name)?;
    let max = max_accuracy_m.unwrap_or(DEFAULT_MAX_ACCURACY_M);
    check_boundary(geofence.as_ref(), max)?;
    let store = state.store.clone();
    let (tenant, by) = (who.tenant_id.clone(), who.user_id.clone());
    blocking(move || {
        let mut site = store.create_site(&tenant, name.trim(), &by)?;
        if geofence.is_some() || max_accuracy_m.is_some() {
            store.set_site_area(&tenant, &site.id, geofence.as_ref(), max, &by)?;
            site.geofence = geofence;
            site.max_accuracy_m = max;
        }
        Ok(site)
    })
    .await
}

/// Sets or clears a site's boundary; the site's records are judged again against it.
pub async fn set_boundary(
    state: &AppState,
    who: &Principal,
    site_id: &str,
    geofence: Option<Geofence>,
    max_accuracy_m: Option<f64>,
) -> ServiceResult<()> {
    who.require_admin()?;
    let max = max_accuracy_m.unwrap_or(DEFAULT_MAX_ACCURACY_M);
    check_boundary(geofence.as_ref(), max)?;
    let store = state.store.clone();
    let (tenant, by, site_id) = (who.tenant_id.clone(), who.user_id.clone(), site_id.to_owned());
    let found =
        blocking(move || Ok(store.set_site_area(&tenant, &site_id, geofence.as_ref(), max, &by)?)).await?;
    if !found {
        return Err(ServiceError::NotFound("no such site in this company".into()));
    }
    state.rejudge.wake();
    Ok(())
}

/// Renames a site or changes the time zone its pages show times in.
pub async fn update(
    state: &AppState,
    who: &Principal,
    site_id: &str,
    name: &str,
    time_zone: &str,
) -> ServiceResult<()> {
    who.require_admin()?;
    check_site_name(name)?;
    let zone = check_time_zone(time_zone)?;
    let store = state.store.clone();
    let (tenant, by, site_id, name) = (
        who.tenant_id.clone(),
        who.user_id.clone(),
        site_id.to_owned(),
        name.trim().to_owned(),
    );
    let found = blocking(move || Ok(store.update_site(&tenant, &site_id, &name, zone.name(), &by)?)).await?;
    if found {
        Ok(())
    } else {
        Err(ServiceError::NotFound("no such site in this company".into()))
    }
}

/// A site with its latest records, as far as the person may read them.
#[derive(Debug, Clone)]
pub struct SiteActivity {
    pub site: Site,
    pub recent: Vec<Projection>,
    /// The muster point the site's latest JSEA names (the site's emergency plan, once it has
    /// one, will say it instead).
    pub muster_point: Option<String>,
}

/// How many recent records the sites page shows per site.
pub const RECENT_PER_SITE: u32 = 5;

pub async fn with_activity(state: &AppState, who: &Principal) -> ServiceResult<Vec<SiteActivity>> {
    let store = state.store.clone();
    let scope = who.scope();
    let now_ms = (state.clock)();
    blocking(move || {
        let mut out = Vec::new();
        for site in store.sites(&scope.tenant_id)? {
            let filter = ListFilter {
                site_id: Some(site.id.clone()),
                limit: Some(RECENT_PER_SITE),
                ..ListFilter::default()
            };
            let recent = store.list_records(&scope, &filter)?;
            let latest_jsea = ListFilter {
                kind: Some(Jsea::NAME.to_owned()),
                limit: Some(1),
                ..filter
            };
            let muster_point = match store.list_records(&scope, &latest_jsea)?.first() {
                Some(row) => detail_of(store.as_ref(), &scope.tenant_id, &row.id, now_ms)?.and_then(|d| {
                    match d.record.body {
                        Body::Jsea(jsea) => Some(jsea.muster_point),
                        _ => None,
                    }
                }),
                None => None,
            };
            out.push(SiteActivity {
                site,
                recent,
                muster_point,
            });
        }
        Ok(out)
    })
    .await
}
