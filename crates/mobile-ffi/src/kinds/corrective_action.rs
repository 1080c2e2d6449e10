//! Raising a corrective action from a phone: the hazard, what will be done, who does it by when.
//! The rest of its life is the lifecycle steps every kind shares (`complete` raises it, `sign`
//! resolves it, `approve`/`reject` verify the fix) and `set_field` for the resolution note; the
//! rules are the core's (`sync_core::kinds::corrective_action`).

use sync_core::kinds::corrective_action::CorrectiveAction;
use sync_core::parts::Assignment;

use crate::error::Result;
use crate::store::MusterStore;
use crate::types::Stamp;

#[uniffi::export]
impl MusterStore {
    /// Starts a corrective action draft at a site; returns its id. `assignee` is the user id of
    /// the person who must fix it, `due_ms` when it must be done by (required to raise it), and
    /// `identified_ms` when the hazard was found. Raise it with `complete`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_corrective_action(
        &self,
        site_id: String,
        job_id: Option<String>,
        hazard: String,
        action: String,
        assignee: String,
        due_ms: Option<i64>,
        identified_ms: i64,
        stamp: Stamp,
    ) -> Result<String> {
        let body = CorrectiveAction::new(hazard, action, Assignment { assignee, due_ms }, identified_ms);
        self.create(&site_id, job_id, body.into(), stamp)
    }
}
