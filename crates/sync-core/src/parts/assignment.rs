//! Who must do something, and by when: corrective actions, inspections and training all carry one.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::is_blank;
use crate::validate::Finding;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct Assignment {
    /// User id of the person responsible.
    pub assignee: String,
    /// When it is due, Unix milliseconds; `None` when no date was set.
    pub due_ms: Option<i64>,
}

impl Assignment {
    /// Whether the work is past due at `now_ms` and not yet done.
    pub fn overdue(&self, now_ms: i64, done: bool) -> bool {
        !done && self.due_ms.is_some_and(|due| due < now_ms)
    }
}

/// Findings for an assignment at `path`: someone must own it. `rule` prefixes the rule ids.
pub fn validate(assignment: &Assignment, rule: &str, path: &str, out: &mut Vec<Finding>) {
    if is_blank(&assignment.assignee) {
        out.push(Finding::blocking(
            &format!("{rule}.assignee_required"),
            format!("{path}.assignee"),
            "name the person responsible",
        ));
    }
    if assignment.due_ms.is_some_and(|d| d <= 0) {
        out.push(Finding::blocking(
            &format!("{rule}.due_date_invalid"),
            format!("{path}.due_ms"),
            "the due date is not a real date",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_only_when_past_due_and_not_done() {
        let a = Assignment {
            assignee: "u1".into(),
            due_ms: Some(1_000),
        };
        assert!(a.overdue(1_001, false));
        assert!(!a.overdue(1_001, true));
        assert!(!a.overdue(999, false));
        let mut findings = Vec::new();
        validate(
            &Assignment {
                assignee: " ".into(),
                due_ms: Some(0),
            },
            "action",
            "assignment",
            &mut findings,
        );
        let rules: Vec<_> = findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["action.assignee_required", "action.due_date_invalid"]);
    }
}
