//! Enrolled phones: the list an admin reads, and revoking one (its tokens stop working at once).

use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::Device;

pub async fn list(state: &AppState, who: &Principal) -> ServiceResult<Vec<Device>> {
    who.require_admin()?;
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || Ok(store.devices(&tenant)?)).await
}

pub async fn revoke(state: &AppState, who: &Principal, device_id: &str) -> ServiceResult<()> {
    who.require_admin()?;
    let store = state.store.clone();
    let (tenant, by, device_id) = (who.tenant_id.clone(), who.user_id.clone(), device_id.to_owned());
    let found = blocking(move || Ok(store.revoke_device(&tenant, &device_id, &by)?)).await?;
    if found {
        Ok(())
    } else {
        Err(ServiceError::NotFound("no such device in this company".into()))
    }
}
