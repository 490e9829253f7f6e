//! Recycled buffers for large arrays.
//!
//! A Jacobian read allocates, fills and drops the same few large
//! temporaries (stacked cotangents, product outputs) sweep after sweep, and
//! read after read. Freed to the system allocator, each comes back as fresh
//! pages that fault in one by one on first touch, which costs as much as the
//! arithmetic on them. Large buffers freed by graph nodes are kept here
//! instead (a bounded amount) and handed to the next large output.

use std::sync::Mutex;

use crate::alloc::{try_filled_vec, try_with_capacity};
use crate::error::Result;

/// Buffers shorter than this (64 KiB of f64) go back to the allocator,
/// which recycles small blocks well on its own.
pub(crate) const MIN_LEN: usize = 1 << 13;
/// At most this many buffers, and this many bytes, are kept.
const MAX_BUFFERS: usize = 16;
const MAX_BYTES: usize = 256 << 20;

static POOL: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

fn lock() -> std::sync::MutexGuard<'static, Vec<Vec<f64>>> {
    // The pool holds plain buffers: a panic elsewhere cannot leave it torn.
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The best-fitting pooled buffer that `fits` (smallest capacity, at most
/// twice `len`, so memory is not wasted), taken out of the pool.
fn take(len: usize, fits: impl Fn(&Vec<f64>) -> bool) -> Option<Vec<f64>> {
    if len < MIN_LEN {
        return None;
    }
    let mut pool = lock();
    let best = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| fits(b) && b.capacity() / 2 <= len)
        .min_by_key(|(_, b)| b.capacity())
        .map(|(k, _)| k)?;
    Some(pool.swap_remove(best))
}

/// An empty vector with room for `len` values: a recycled buffer when one
/// fits, else a new one, or `OutOfMemory` when the allocator refuses.
pub(crate) fn with_capacity(len: usize) -> Result<Vec<f64>> {
    match take(len, |b| b.capacity() >= len) {
        Some(mut buffer) => {
            buffer.clear();
            Ok(buffer)
        }
        None => try_with_capacity(len, "buffer"),
    }
}

/// `f` of every element of `a`, in row-major order, into a recycled buffer
/// when `a` is large and contiguous.
pub(crate) fn map(
    a: &ndarray::ArrayViewD<'_, f64>,
    f: impl Fn(f64) -> f64,
) -> Result<ndarray::ArrayD<f64>> {
    let mut v = with_capacity(a.len())?;
    match a.as_slice() {
        Some(src) => v.extend(src.iter().map(|&x| f(x))),
        None => v.extend(a.iter().map(|&x| f(x))),
    }
    ndarray::ArrayD::from_shape_vec(a.raw_dim(), v)
        .map_err(|e| crate::error::Error::internal(format!("map: {e}")))
}

/// `len` zeros.
pub(crate) fn zeros(len: usize) -> Result<Vec<f64>> {
    let mut v = with_capacity(len)?;
    v.resize(len, 0.0);
    Ok(v)
}

/// `len` values of no particular content, for an output the caller
/// overwrites whole (a product with beta = 0): a recycled buffer as it was
/// left, or fresh zeros, which the system hands out without writing them.
pub(crate) fn scratch(len: usize) -> Result<Vec<f64>> {
    match take(len, |b| b.len() >= len) {
        Some(mut buffer) => {
            buffer.truncate(len);
            Ok(buffer)
        }
        None => try_filled_vec(len, 0.0, "buffer"),
    }
}

/// Takes back a buffer that is no longer needed.
pub(crate) fn recycle(buffer: Vec<f64>) {
    if buffer.capacity() < MIN_LEN {
        return;
    }
    let mut pool = lock();
    let held: usize = pool.iter().map(|b| b.capacity() * size_of::<f64>()).sum();
    if pool.len() < MAX_BUFFERS && held + buffer.capacity() * size_of::<f64>() <= MAX_BYTES {
        pool.push(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_large_enough_and_small_ones_are_not_kept() {
        recycle(zeros(MIN_LEN * 3).unwrap());
        let again = with_capacity(MIN_LEN * 3).unwrap();
        assert!(again.is_empty());
        assert!(again.capacity() >= MIN_LEN * 3);
        let zeroed = zeros(MIN_LEN * 2).unwrap();
        assert!(zeroed.iter().all(|&v| v == 0.0));
        recycle(zeroed);
        assert_eq!(scratch(MIN_LEN + 5).unwrap().len(), MIN_LEN + 5);
        recycle(zeros(10).unwrap());
        assert!(lock().iter().all(|b| b.capacity() >= MIN_LEN));
        assert!(lock().len() <= MAX_BUFFERS);
    }
}
