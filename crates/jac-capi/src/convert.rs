//! Conversions between C values (int64 dims and axes, shape buffers with a
//! capacity) and the engine's.

use crate::boundary::Failure;
use crate::ptr::{Out, slice, slice_mut};
use crate::status::JacStatus;

/// Dims from C, each non-negative.
pub(crate) fn dims(shape: &[i64], arg: &str) -> Result<Vec<usize>, Failure> {
    shape
        .iter()
        .enumerate()
        .map(|(k, &d)| {
            usize::try_from(d).map_err(|_| {
                Failure::new(
                    JacStatus::JacErrInvalidArgument,
                    format!("{arg}[{k}]: expected a dim >= 0, got {d}"),
                )
            })
        })
        .collect()
}

/// The number of elements of `shape`, or `JAC_ERR_OUT_OF_MEMORY` naming
/// `arg` when the product of its non-zero dims overflows or could never be
/// addressed as float64 values.
///
/// Zero dims are left out of the product on purpose: `[i64::MAX, 2, 0]`
/// has no elements, but ndarray (and so the engine) refuses it, and a huge
/// dim of an empty tensor comes back as a huge allocation as soon as an op
/// reduces the empty axis away.
pub(crate) fn numel(shape: &[usize], arg: &str) -> Result<usize, Failure> {
    shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / size_of::<f64>())
        .map(|n| if shape.contains(&0) { 0 } else { n })
        .ok_or_else(|| {
            Failure::new(
                JacStatus::JacErrOutOfMemory,
                format!(
                    "{arg}: the dims of {shape:?} overflow the address space \
                     (the product of the non-zero dims is too large)"
                ),
            )
        })
}

/// Axes, permutations and reshape dims from C, as the engine's `isize`.
pub(crate) fn signed(values: &[i64]) -> Vec<isize> {
    // isize is 64-bit on every target libjac builds for.
    values.iter().map(|&v| v as isize).collect()
}

/// Writes `shape` into the caller's buffer of capacity `cap` and its length
/// to `ndim_out`; nothing is written when `cap` is too small.
///
/// # Safety
/// `shape_out` is NULL or valid for `cap` writes; `ndim_out` is NULL or
/// valid for one write.
pub(crate) unsafe fn write_shape(
    shape: &[usize],
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded caller contract.
    let ndim_out = unsafe { Out::new(ndim_out, "ndim_out") }?;
    if cap < shape.len() {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!(
                "cap: shape_out must hold at least {} dims, got capacity {cap}",
                shape.len()
            ),
        ));
    }
    // SAFETY: forwarded caller contract; only `shape.len()` entries written.
    let buffer = unsafe { slice_mut(shape_out, shape.len(), "shape_out") }?;
    for (slot, &d) in buffer.iter_mut().zip(shape) {
        *slot = d as i64;
    }
    ndim_out.write(shape.len());
    Ok(())
}

/// An optional list of int64 values: NULL with `n = 0` is the empty list.
///
/// # Safety
/// As [`slice`].
pub(crate) unsafe fn int64s<'a>(p: *const i64, n: usize, arg: &str) -> Result<&'a [i64], Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { slice(p, n, arg) }
}
