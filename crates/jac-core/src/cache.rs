//! A cache of rows, each computed exactly once, also when many threads ask
//! for overlapping rows at the same time.
//!
//! A reader claims the missing rows nobody is computing, computes them (in
//! blocks, as it likes), publishes each through its `OnceLock`, and wakes the
//! readers waiting for rows it held. Rows claimed by another thread are waited
//! for, not recomputed. When a computation fails or panics, its claims are
//! released, so a waiting reader claims those rows itself and sees the error
//! itself instead of waiting forever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// Rows `0..len` of type `R`, filled on demand.
pub(crate) struct RowCache<R> {
    rows: Vec<OnceLock<R>>,
    claimed: Mutex<Vec<bool>>,
    released: Condvar,
    evaluated: AtomicUsize,
}

impl<R> RowCache<R> {
    pub(crate) fn new(len: usize) -> RowCache<R> {
        RowCache {
            rows: (0..len).map(|_| OnceLock::new()).collect(),
            claimed: Mutex::new(vec![false; len]),
            released: Condvar::new(),
            evaluated: AtomicUsize::new(0),
        }
    }

    /// How many rows have been computed so far.
    pub(crate) fn evaluated(&self) -> usize {
        self.evaluated.load(Ordering::Acquire)
    }

    /// Row `r`, if it has been computed.
    pub(crate) fn get(&self, r: usize) -> Option<&R> {
        self.rows.get(r).and_then(OnceLock::get)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Vec<bool>>> {
        // A poisoned lock only means another reader panicked between claiming
        // and releasing; the claim flags themselves are still consistent.
        Ok(self.claimed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Makes every row of `wanted` (sorted, distinct, in range) available.
    /// `compute` receives the rows this thread claimed (sorted) and returns
    /// them in the same order.
    pub(crate) fn ensure(
        &self,
        wanted: &[usize],
        mut compute: impl FnMut(&[usize]) -> Result<Vec<R>>,
    ) -> Result<()> {
        loop {
            let mut mine = Vec::new();
            let mut waiting = false;
            {
                let mut claimed = self.lock()?;
                for &r in wanted {
                    if self.rows[r].get().is_some() {
                        continue;
                    }
                    if claimed[r] {
                        waiting = true;
                    } else {
                        claimed[r] = true;
                        mine.push(r);
                    }
                }
            }
            if !mine.is_empty() {
                let release = Release {
                    cache: self,
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
                    if self.rows[r].set(v).is_ok() {
                        self.evaluated.fetch_add(1, Ordering::AcqRel);
                    }
                }
                drop(release);
            }
            if !waiting {
                return Ok(());
            }
            let mut claimed = self.lock()?;
            while wanted
                .iter()
                .any(|&r| claimed[r] && self.rows[r].get().is_none())
            {
                claimed = self
                    .released
                    .wait(claimed)
                    .unwrap_or_else(|p| p.into_inner());
            }
            // Loop: rows another reader gave up on are claimed by this one now.
        }
    }
}

/// Releases a set of claims when dropped, on success, error or unwinding.
struct Release<'a, R> {
    cache: &'a RowCache<R>,
    rows: &'a [usize],
}

impl<R> Drop for Release<'_, R> {
    fn drop(&mut self) {
        let mut claimed = self.cache.claimed.lock().unwrap_or_else(|p| p.into_inner());
        for &r in self.rows {
            claimed[r] = false;
        }
        drop(claimed);
        self.cache.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

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
