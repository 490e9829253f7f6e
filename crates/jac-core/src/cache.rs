//! A cache of rows, each computed exactly once, also when many threads ask
//! for overlapping rows at the same time.
//!
//! A reader claims the missing rows nobody is computing, computes them (in
//! blocks, as it likes), publishes each through its `OnceLock`, and wakes the
//! readers waiting for rows it held. Rows claimed by another thread are waited
//! for, not recomputed. When a computation fails or panics, its claims are
//! released, so a waiting reader claims those rows itself and sees the error
//! itself instead of waiting forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// One row: its value once computed, and whether a reader is computing it
/// (read and written only under the cache's lock).
struct Slot<R> {
    row: OnceLock<R>,
    claimed: AtomicBool,
}

/// Rows `0..len` of type `R`, filled on demand. The slots themselves are
/// allocated on the first read that needs one: a cache over an empty batch
/// may have a row count far beyond memory, and creating a Jacobian
/// allocates nothing that depends on its size.
pub(crate) struct RowCache<R> {
    len: usize,
    slots: OnceLock<Box<[Slot<R>]>>,
    claims: Mutex<()>,
    released: Condvar,
    /// Readers waiting on `released` (changed under `claims`): a release
    /// wakes them only when there are some, since every notification is a
    /// system call.
    waiters: AtomicUsize,
    evaluated: AtomicUsize,
}

impl<R> RowCache<R> {
    pub(crate) fn new(len: usize) -> RowCache<R> {
        RowCache {
            len,
            slots: OnceLock::new(),
            claims: Mutex::new(()),
            released: Condvar::new(),
            waiters: AtomicUsize::new(0),
            evaluated: AtomicUsize::new(0),
        }
    }

    /// How many rows have been computed so far.
    pub(crate) fn evaluated(&self) -> usize {
        self.evaluated.load(Ordering::Acquire)
    }

    /// Row `r`, if it has been computed.
    pub(crate) fn get(&self, r: usize) -> Option<&R> {
        self.slots.get()?.get(r).and_then(|s| s.row.get())
    }

    /// The slots, allocated (fallibly) on first use.
    fn slots(&self) -> Result<&[Slot<R>]> {
        if let Some(slots) = self.slots.get() {
            return Ok(slots);
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(self.len).map_err(|_| {
            Error::out_of_memory(format!(
                "row cache: allocating {} row slots was refused",
                self.len
            ))
        })?;
        slots.extend((0..self.len).map(|_| Slot {
            row: OnceLock::new(),
            claimed: AtomicBool::new(false),
        }));
        // Another reader may have won the race: either set of slots is empty.
        let _ = self.slots.set(slots.into_boxed_slice());
        self.slots
            .get()
            .map(|s| &s[..])
            .ok_or_else(|| Error::internal("row cache: slots vanished"))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A poisoned lock only means another reader panicked between claiming
        // and releasing; the claim flags themselves are still consistent.
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claimed(slots: &[Slot<R>], r: usize) -> bool {
        slots[r].claimed.load(Ordering::Relaxed)
    }

    fn set_claimed(slots: &[Slot<R>], r: usize, claimed: bool) {
        slots[r].claimed.store(claimed, Ordering::Relaxed);
    }

    /// Makes every row of `wanted` (sorted, distinct, in range) available.
    /// `compute` receives the rows this thread claimed (sorted) and returns
    /// them in the same order.
    pub(crate) fn ensure(
        &self,
        wanted: &[usize],
        mut compute: impl FnMut(&[usize]) -> Result<Vec<R>>,
    ) -> Result<()> {
        if wanted.is_empty() {
            return Ok(());
        }
        let slots = self.slots()?;
        if let Some(&r) = wanted.iter().find(|&&r| r >= self.len) {
            return Err(Error::internal(format!(
                "row cache: row {r} asked of {} rows",
                self.len
            )));
        }
        loop {
            let mut mine = Vec::new();
            let mut waiting = false;
            {
                let _claims = self.lock();
                for &r in wanted {
                    if slots[r].row.get().is_some() {
                        continue;
                    }
                    if Self::claimed(slots, r) {
                        waiting = true;
                    } else {
                        Self::set_claimed(slots, r, true);
                        mine.push(r);
                    }
                }
            }
            if !mine.is_empty() {
                let release = Release {
                    cache: self,
                    slots,
                    rows: &mine,
                };
                let values = compute(&mine)?;
                if values.len() != mine.len() {
                    return Err(Error::internal(format!(
                        "row cache: asked for {} rows, computed {}",
                        mine.len(),
                        values.len()
                    )));
                }
                for (&r, v) in mine.iter().zip(values) {
                    if slots[r].row.set(v).is_ok() {
                        self.evaluated.fetch_add(1, Ordering::AcqRel);
                    }
                }
                drop(release);
            }
            if !waiting {
                return Ok(());
            }
            let mut claims = self.lock();
            self.waiters.fetch_add(1, Ordering::SeqCst);
            while wanted
                .iter()
                .any(|&r| Self::claimed(slots, r) && slots[r].row.get().is_none())
            {
                claims = self
                    .released
                    .wait(claims)
                    .unwrap_or_else(|p| p.into_inner());
            }
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            drop(claims);
            // Loop: rows another reader gave up on are claimed by this one now.
        }
    }
}

/// Releases a set of claims when dropped, on success, error or unwinding.
struct Release<'a, R> {
    cache: &'a RowCache<R>,
    slots: &'a [Slot<R>],
    rows: &'a [usize],
}

impl<R> Drop for Release<'_, R> {
    fn drop(&mut self) {
        let claims = self.cache.lock();
        for &r in self.rows {
            RowCache::set_claimed(self.slots, r, false);
        }
        // A reader that starts waiting later sees the claims released.
        let waiting = self.cache.waiters.load(Ordering::SeqCst) > 0;
        drop(claims);
        if waiting {
            self.cache.released.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_cache_of_more_rows_than_memory_costs_nothing_until_a_row_is_read() {
        let cache = RowCache::<usize>::new(1 << 60);
        assert!(cache.get(3).is_none());
        assert_eq!(cache.evaluated(), 0);
        cache.ensure(&[], |_| panic!("nothing to compute")).unwrap();
        let err = cache.ensure(&[3], |rows| Ok(rows.to_vec())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfMemory, "{err}");
        assert_eq!(cache.evaluated(), 0);
    }

    #[test]
    fn each_row_is_computed_once_under_contention() {
        let cache = Arc::new(RowCache::<usize>::new(64));
        let calls = Arc::new((0..64).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let cache = Arc::clone(&cache);
                let calls = Arc::clone(&calls);
                std::thread::spawn(move || {
                    let wanted: Vec<usize> = (t * 4..t * 4 + 32).collect();
                    cache
                        .ensure(&wanted, |rows| {
                            std::thread::yield_now();
                            Ok(rows
                                .iter()
                                .map(|&r| {
                                    calls[r].fetch_add(1, Ordering::SeqCst);
                                    r * 10
                                })
                                .collect())
                        })
                        .unwrap();
                    for r in wanted {
                        assert_eq!(cache.get(r), Some(&(r * 10)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let touched = (0..60).count();
        assert_eq!(cache.evaluated(), touched);
        for (r, c) in calls.iter().enumerate() {
            let want = usize::from(r < 60);
            assert_eq!(c.load(Ordering::SeqCst), want, "row {r}");
        }
    }

    #[test]
    fn a_failed_computation_releases_its_rows() {
        let cache = RowCache::<usize>::new(4);
        let err = cache
            .ensure(&[1, 2], |_| Err(Error::internal("boom")))
            .unwrap_err();
        assert_eq!(err.message(), "boom");
        assert_eq!(cache.evaluated(), 0);
        cache.ensure(&[1, 2], |rows| Ok(rows.to_vec())).unwrap();
        assert_eq!(cache.get(2), Some(&2));
        assert_eq!(cache.evaluated(), 2);
    }
}
