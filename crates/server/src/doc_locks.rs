//! Per-record write locks. A sync request checks and stores all its records together, so it
//! holds every one of them until its single commit. Taking the whole set at once (all or
//! nothing) means two requests can never each hold a record the other waits for, and requests
//! about different records never wait for each other.
//!
//! A store that several server processes share (PostgreSQL) holds the records across them as
//! well ([`RecordStore::hold_records`]), after this process's own lock: writers in one process
//! queue here without taking a database connection each.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::store::{RecordHold, RecordStore, StoreResult};

#[derive(Debug, Default)]
pub struct DocLocks {
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

/// The records a writer holds; released when dropped.
#[derive(Debug)]
pub struct HeldDocs<'a> {
    locks: &'a DocLocks,
    ids: Vec<String>,
}

impl DocLocks {
    /// Waits until none of `ids` is held by another writer, then holds them all.
    pub fn lock_all(&self, ids: impl IntoIterator<Item = String>) -> HeldDocs<'_> {
        let mut ids: Vec<String> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut held = self.held();
        while ids.iter().any(|id| held.contains(id)) {
            held = self.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.extend(ids.iter().cloned());
        HeldDocs { locks: self, ids }
    }

    pub fn lock(&self, id: &str) -> HeldDocs<'_> {
        self.lock_all([id.to_owned()])
    }

    /// Holds the company's records `ids` in this process and, where the store is shared by
    /// several processes, in every one of them.
    pub fn hold_all(
        &self,
        store: &dyn RecordStore,
        tenant_id: &str,
        ids: impl IntoIterator<Item = String>,
    ) -> StoreResult<Held<'_>> {
        let here = self.lock_all(ids);
        let across = store.hold_records(tenant_id, &here.ids)?;
        Ok(Held {
            _across: across,
            _here: here,
        })
    }

    /// [`DocLocks::hold_all`] for one record.
    pub fn hold(&self, store: &dyn RecordStore, tenant_id: &str, id: &str) -> StoreResult<Held<'_>> {
        self.hold_all(store, tenant_id, [id.to_owned()])
    }

    fn held(&self) -> MutexGuard<'_, HashSet<String>> {
        // The set is only touched by the short blocks above and in Drop: never left half-changed.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Records held in this process and across processes; the shared hold is released first.
#[derive(Debug)]
pub struct Held<'a> {
    _across: RecordHold,
    _here: HeldDocs<'a>,
}

impl Drop for HeldDocs<'_> {
    fn drop(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let mut held = self.locks.held();
        for id in &self.ids {
            held.remove(id);
        }
        drop(held);
        self.locks.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn overlapping_sets_exclude_each_other_and_disjoint_sets_do_not() {
        let locks = Arc::new(DocLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        // Every set shares "shared", in a different order each time.
                        let ids = if n % 2 == 0 {
                            vec!["shared".to_owned(), format!("own-{n}")]
                        } else {
                            vec![format!("own-{n}"), "shared".to_owned()]
                        };
                        let _held = locks.lock_all(ids);
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("no deadlock, no panic");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "two writers held the same record");

        let a = locks.lock_all(["a".to_owned(), "b".to_owned()]);
        let c = locks.lock("c");
        assert_eq!(locks.held().len(), 3, "disjoint sets are held at once");
        drop((a, c));
        assert!(locks.held().is_empty());
    }
}
