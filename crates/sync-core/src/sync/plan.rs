//! The sync planner: pure decisions about what to send and what to do with the answer. The
//! executor (`client.rs`) does the I/O; the store applies the actions in one transaction.

use automerge::ChangeHash;

use crate::error::{Error, Result};
use crate::protocol::{
    ClockSample, DocPush, DocSyncMessage, Limits, PROTOCOL_VERSION, PushOutcome, RejectCode, SyncRequest,
    SyncResponse,
};

/// A record with changes the server has not acknowledged, as the store hands it to the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: String,
    /// Heads the server acknowledged; empty when it has never seen the record (or lost it).
    pub acked_heads: Vec<ChangeHash>,
    /// Changes after `acked_heads` (the whole document when `acked_heads` is empty).
    pub changes: Vec<u8>,
    /// The record's heads now: what the server will hold once it accepts `changes`.
    pub heads: Vec<ChangeHash>,
}

/// What was sent, kept to interpret the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub cursor: u64,
    pub pushed: Vec<(String, Vec<ChangeHash>)>,
    /// Records with changes that did not fit in this request.
    pub left_over: usize,
    /// Records being reconciled with automerge sync messages in this request.
    pub reconciling: Vec<String>,
}

/// What the store must do with an answer, all in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The server holds this record up to `heads`.
    Acknowledge { id: String, heads: Vec<ChangeHash> },
    /// Histories diverged: reconcile the record with automerge's sync protocol.
    Reconcile { id: String },
    /// Keep the record and its changes, and show why they were refused.
    Reject {
        id: String,
        code: RejectCode,
        reason: String,
    },
    /// Merge what the server sent.
    Apply { id: String, bytes: Vec<u8> },
    /// The server lost history this device saw: offer every record again, pull from the start.
    ResendEverything,
}

/// Builds a request within the server's limits: oldest changes first, at most `max_pushes`
/// records, and no more bytes than fit in the body with room for framing.
pub fn request(
    (cursor, cursor_check): (u64, u64),
    clock: ClockSample,
    outgoing: Vec<Outgoing>,
    doc_sync: Vec<DocSyncMessage>,
    limits: &Limits,
) -> (SyncRequest, Plan) {
    let budget = limits.max_body_bytes.saturating_sub(4096) as usize;
    let mut used = 0usize;
    let mut pushes = Vec::new();
    let mut plan = Plan {
        cursor,
        ..Plan::default()
    };
    let total = outgoing.len();
    for doc in outgoing {
        let size = doc.changes.len() + doc.id.len() + 8;
        let fits = pushes.len() < limits.max_pushes as usize && (used + size <= budget || pushes.is_empty());
        if !fits {
            break;
        }
        used += size;
        plan.pushed.push((doc.id.clone(), doc.heads));
        pushes.push(DocPush {
            doc_id: doc.id,
            // The changes name their own dependencies; the server checks those.
            base_heads: Vec::new(),
            changes: doc.changes,
        });
    }
    plan.left_over = total - pushes.len();
    plan.reconciling = doc_sync.iter().map(|m| m.doc_id.clone()).collect();
    let request = SyncRequest {
        version: PROTOCOL_VERSION,
        cursor,
        cursor_check,
        clock,
        pushes,
        doc_sync,
    };
    (request, plan)
}

/// Checks an answer against what was sent and turns it into store actions.
pub fn response(plan: &Plan, answer: SyncResponse) -> Result<Vec<Action>> {
    if answer.version != PROTOCOL_VERSION {
        return Err(Error::Protocol(format!(
            "server answered with protocol version {}, this app speaks {PROTOCOL_VERSION}",
            answer.version
        )));
    }
    if answer.reset {
        return Ok(vec![Action::ResendEverything]);
    }
    if answer.cursor < plan.cursor {
        return Err(Error::Protocol(format!(
            "server moved the cursor backwards ({} after {})",
            answer.cursor, plan.cursor
        )));
    }
    let mut actions = Vec::new();
    for result in answer.results {
        if plan.reconciling.contains(&result.doc_id) {
            // Reconciled records are acknowledged when both sides agree, not by heads here.
            if let PushOutcome::Rejected { code, reason } = result.outcome {
                actions.push(Action::Reject {
                    id: result.doc_id,
                    code,
                    reason,
                });
            }
            continue;
        }
        let Some((_, heads)) = plan.pushed.iter().find(|(id, _)| *id == result.doc_id) else {
            return Err(Error::Protocol(format!(
                "server answered for record {} which was not sent",
                result.doc_id
            )));
        };
        actions.push(match result.outcome {
            PushOutcome::Accepted => Action::Acknowledge {
                id: result.doc_id,
                heads: heads.clone(),
            },
            PushOutcome::NeedFull => Action::Reconcile { id: result.doc_id },
            PushOutcome::Rejected { code, reason } => Action::Reject {
                id: result.doc_id,
                code,
                reason,
            },
        });
    }
    for update in answer.updates {
        actions.push(Action::Apply {
            id: update.doc_id,
            bytes: update.changes,
        });
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DocUpdate, PushResult};

    fn limits(max_pushes: u32, max_body_bytes: u64) -> Limits {
        Limits {
            protocol_versions: vec![1],
            max_body_bytes,
            max_pushes,
            max_update_bytes: 1 << 20,
        }
    }

    fn clock() -> ClockSample {
        ClockSample {
            wall_ms: 1,
            monotonic_ms: 1,
            boot_id: "b".into(),
            last_round_trip_ms: 0,
        }
    }

    fn outgoing(id: &str, bytes: usize) -> Outgoing {
        Outgoing {
            id: id.into(),
            acked_heads: vec![],
            changes: vec![7; bytes],
            heads: vec![ChangeHash([1; 32])],
        }
    }

    #[test]
    fn a_request_respects_the_push_and_byte_limits() {
        let docs = vec![outgoing("a", 10), outgoing("b", 10), outgoing("c", 10)];
        let (req, plan) = request((5, 0), clock(), docs.clone(), Vec::new(), &limits(2, 1 << 20));
        assert_eq!(req.pushes.len(), 2);
        assert_eq!(plan.left_over, 1);
        assert_eq!(req.cursor, 5);

        let (req, plan) = request((5, 0), clock(), docs, Vec::new(), &limits(10, 4096 + 45));
        assert_eq!(req.pushes.len(), 2, "third does not fit in the byte budget");
        assert_eq!(plan.left_over, 1);

        // A record bigger than the budget still goes alone rather than never.
        let (req, _) = request(
            (0, 0),
            clock(),
            vec![outgoing("big", 10_000)],
            vec![],
            &limits(10, 5000),
        );
        assert_eq!(req.pushes.len(), 1);
    }

    #[test]
    fn an_answer_becomes_store_actions() {
        let (_, plan) = request(
            (0, 0),
            clock(),
            vec![outgoing("a", 1), outgoing("b", 1), outgoing("c", 1)],
            vec![],
            &limits(9, 1 << 20),
        );
        let answer = SyncResponse {
            version: PROTOCOL_VERSION,
            server_time_ms: 9,
            results: vec![
                PushResult {
                    doc_id: "a".into(),
                    outcome: PushOutcome::Accepted,
                },
                PushResult {
                    doc_id: "b".into(),
                    outcome: PushOutcome::NeedFull,
                },
                PushResult {
                    doc_id: "c".into(),
                    outcome: PushOutcome::Rejected {
                        code: RejectCode::SignatureForged,
                        reason: "x".into(),
                    },
                },
            ],
            updates: vec![DocUpdate {
                doc_id: "z".into(),
                changes: vec![1, 2],
                snapshot: false,
            }],
            cursor: 3,
            cursor_check: 0,
            more: false,
            doc_sync: vec![],
            reset: false,
        };
        let actions = response(&plan, answer).unwrap();
        assert_eq!(actions.len(), 4);
        assert_eq!(
            actions[0],
            Action::Acknowledge {
                id: "a".into(),
                heads: vec![ChangeHash([1; 32])]
            }
        );
        assert_eq!(actions[1], Action::Reconcile { id: "b".into() });
        assert!(matches!(
            &actions[2],
            Action::Reject {
                code: RejectCode::SignatureForged,
                ..
            }
        ));
        assert_eq!(
            actions[3],
            Action::Apply {
                id: "z".into(),
                bytes: vec![1, 2]
            }
        );
    }

    #[test]
    fn a_confused_answer_is_refused() {
        let (_, plan) = request(
            (4, 0),
            clock(),
            vec![outgoing("a", 1)],
            Vec::new(),
            &limits(9, 1 << 20),
        );
        let base = SyncResponse {
            version: PROTOCOL_VERSION,
            server_time_ms: 0,
            results: vec![],
            updates: vec![],
            cursor: 4,
            cursor_check: 0,
            more: false,
            doc_sync: vec![],
            reset: false,
        };
        assert!(
            response(
                &plan,
                SyncResponse {
                    version: 99,
                    ..base.clone()
                }
            )
            .is_err()
        );
        assert!(
            response(
                &plan,
                SyncResponse {
                    cursor: 3,
                    ..base.clone()
                }
            )
            .is_err()
        );
        let stray = SyncResponse {
            results: vec![PushResult {
                doc_id: "nope".into(),
                outcome: PushOutcome::Accepted,
            }],
            ..base
        };
        assert!(response(&plan, stray).is_err());
    }
}
