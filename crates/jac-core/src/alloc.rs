//! Allocations whose size depends on the input, made fallible.
//!
//! Rust aborts the process when an allocation is refused, so every buffer
//! sized by the host's data is either taken with `try_reserve` here or, when
//! ndarray allocates it inside one of its methods, preceded by [`check_alloc`],
//! which asks the allocator for that much first and hands it straight back.
//! A refusal is then an `OutOfMemory` error the host can act on. Small
//! buffers are not probed: below [`PROBE_ELEMENTS`] a refused allocation
//! means the process is out of memory whatever libjac does.

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result, fmt_shape};

/// The product of `shape`, or `OutOfMemory` naming `arg` when it overflows
/// or when that many float64 values could never be addressed. The product
/// of the non-zero dims is bounded too: an empty tensor with a huge dim is
/// refused by ndarray, and reducing its empty axis away would ask for that
/// huge allocation.
pub(crate) fn checked_numel(shape: &[usize], arg: &str) -> Result<usize> {
    let limit = isize::MAX as usize / std::mem::size_of::<f64>();
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= limit);
    match nonzero {
        Some(_) if shape.contains(&0) => Ok(0),
        Some(n) => Ok(n),
        None => Err(Error::out_of_memory(format!(
            "{arg}: the product of {} overflows the address space",
            fmt_shape(shape)
        ))),
    }
}

/// From this many elements (1 MiB of f64) on, a buffer ndarray allocates
/// itself is asked of the allocator first.
pub(crate) const PROBE_ELEMENTS: usize = 1 << 17;

fn refused(numel: usize, shape: &[usize], arg: &str) -> Error {
    Error::out_of_memory(format!(
        "{arg}: allocating {numel} float64 values for shape {} was refused",
        fmt_shape(shape)
    ))
}

/// Checks that `numel` more float64 values can be allocated, asking the
/// allocator when the amount is large. `shape` and `arg` only word the error.
pub(crate) fn reserve(numel: usize, shape: &[usize], arg: &str) -> Result<()> {
    fault::check(numel, shape, arg)?;
    if numel >= PROBE_ELEMENTS {
        let mut probe: Vec<f64> = Vec::new();
        probe
            .try_reserve_exact(numel)
            .map_err(|_| refused(numel, shape, arg))?;
    }
    Ok(())
}

/// Checks that an array of `shape` can be allocated: the size must not
/// overflow and, for large arrays, the allocator must grant it.
pub(crate) fn check_alloc(shape: &[usize], arg: &str) -> Result<()> {
    let numel = checked_numel(shape, arg)?;
    reserve(numel, shape, arg)
}

/// An empty vector with room for `len` values, or `OutOfMemory`.
pub(crate) fn try_with_capacity(len: usize, arg: &str) -> Result<Vec<f64>> {
    fault::check(len, &[len], arg)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| refused(len, &[len], arg))?;
    Ok(v)
}

/// `len` copies of `value`, or `OutOfMemory`.
pub(crate) fn try_filled_vec(len: usize, value: f64, arg: &str) -> Result<Vec<f64>> {
    let mut v = try_with_capacity(len, arg)?;
    v.resize(len, value);
    Ok(v)
}

/// An array of `shape` filled with `value`, or `OutOfMemory`.
pub(crate) fn try_filled(shape: &[usize], value: f64, arg: &str) -> Result<ArrayD<f64>> {
    let numel = checked_numel(shape, arg)?;
    let data = try_filled_vec(numel, value, arg)?;
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| Error::internal(format!("{arg}: {e}")))
}

/// An array of `shape` filled with zeros, or `OutOfMemory`.
pub(crate) fn try_zeros(shape: &[usize], arg: &str) -> Result<ArrayD<f64>> {
    try_filled(shape, 0.0, arg)
}

/// Refusals on demand, for tests of what happens after one: from the n-th
/// checked allocation of this thread on, every one is refused.
pub(crate) mod fault {
    use crate::error::Result;

    #[cfg(test)]
    thread_local! {
        static REFUSE_FROM: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }

    /// Refuses every checked allocation of this thread after `n` more have
    /// been granted (`None`: stop refusing).
    #[cfg(test)]
    pub(crate) fn refuse_after(n: Option<usize>) {
        REFUSE_FROM.with(|r| r.set(n));
    }

    #[cfg(test)]
    pub(crate) fn check(numel: usize, shape: &[usize], arg: &str) -> Result<()> {
        REFUSE_FROM.with(|r| match r.get() {
            Some(0) => Err(super::refused(numel, shape, arg)),
            Some(n) => {
                r.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        })
    }

    #[cfg(not(test))]
    #[inline(always)]
    pub(crate) fn check(_numel: usize, _shape: &[usize], _arg: &str) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn huge_requests_are_refused_not_aborted() {
        let err = try_zeros(&[1 << 40, 1 << 10], "x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfMemory);
        assert!(err.message().starts_with("x: allocating"), "{err}");
        let err = check_alloc(&[1 << 31, 1 << 31], "y").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfMemory);
        assert!(try_with_capacity(usize::MAX / 16, "z").is_err());
        assert_eq!(try_zeros(&[2, 0, 1 << 50], "e").unwrap().len(), 0);
        assert_eq!(try_filled(&[2, 3], 1.5, "f").unwrap().sum(), 9.0);
    }

    #[test]
    fn injected_refusals_start_after_the_granted_count() {
        fault::refuse_after(Some(1));
        assert!(try_zeros(&[2], "a").is_ok());
        assert_eq!(
            try_zeros(&[2], "b").unwrap_err().kind(),
            ErrorKind::OutOfMemory
        );
        fault::refuse_after(None);
        assert!(try_zeros(&[2], "c").is_ok());
    }
}
