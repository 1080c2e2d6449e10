//! The audit log: who changed what, newest first. Admins only.

use super::{Principal, ServiceResult, blocking};
use crate::AppState;
use crate::store::AuditEntry;

/// The most entries one read returns.
pub const MAX_ENTRIES: u32 = 1000;

pub async fn log(state: &AppState, who: &Principal, limit: u32) -> ServiceResult<Vec<AuditEntry>> {
    who.require_admin()?;
    let store = state.store.clone();
    let tenant = who.tenant_id.clone();
    blocking(move || Ok(store.audit_log(&tenant, limit.clamp(1, MAX_ENTRIES))?)).await
}
