//! Turning C pointers into Rust values: NULL checks that name the argument,
//! buffers with their lengths (a zero length with a NULL pointer is the
//! empty buffer), and handle ownership. With `boundary.rs` this is the only
//! file with unsafe pointer casts.

use std::ptr::NonNull;

use crate::boundary::Failure;
use crate::status::JacStatus;

fn null(arg: &str) -> Failure {
    Failure::new(
        JacStatus::JacErrNullArgument,
        format!("{arg} must not be NULL"),
    )
}

fn check_buffer<T>(p: *const T, len: usize, arg: &str) -> Result<(), Failure> {
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: a length of {len} elements is larger than any buffer"),
        ));
    }
    if !p.is_aligned() {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: pointer is not aligned for its element type"),
        ));
    }
    Ok(())
}

/// The value behind a handle.
///
/// # Safety
/// `p` is NULL or a live handle of type `T` made by [`into_handle`].
pub(crate) unsafe fn handle<'a, T>(p: *const T, arg: &str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL handles point to a live boxed `T` (caller contract).
    unsafe { p.as_ref() }.ok_or_else(|| null(arg))
}

/// A read-only buffer of `len` elements.
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` initialized elements that
/// are not written during the call.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, arg: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(arg));
    }
    check_buffer(p, len, arg)?;
    // SAFETY: non-NULL, aligned, in-bounds for `len` elements (caller contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable buffer of `len` `f64`s (or other plain values).
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` writable elements that
/// nothing else accesses during the call.
pub(crate) unsafe fn slice_mut<'a, T: Copy>(
    p: *mut T,
    len: usize,
    arg: &str,
) -> Result<&'a mut [T], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null(arg));
    }
    check_buffer(p, len, arg)?;
    // SAFETY: non-NULL, aligned, writable for `len` elements and unaliased
    // (caller contract). `T: Copy` plain values: any bit pattern written
    // by C is a valid value.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// `f` of each handle in an array of `n` handle pointers, each non-NULL.
///
/// # Safety
/// As [`slice`] for the array, and as [`handle`] for each entry.
pub(crate) unsafe fn handles<T, U>(
    p: *const *const T,
    n: usize,
    arg: &str,
    f: impl Fn(&T) -> U,
) -> Result<Vec<U>, Failure> {
    // SAFETY: forwarded caller contract.
    let ptrs = unsafe { slice(p, n, arg) }?;
    ptrs.iter()
        .enumerate()
        .map(|(k, &h)| {
            // SAFETY: each entry is NULL or a live handle (caller contract).
            // The entry's name is only formatted when it is NULL.
            unsafe { h.as_ref() }
                .map(&f)
                .ok_or_else(|| null(&format!("{arg}[{k}]")))
        })
        .collect()
}

/// A place to write one result, checked for NULL up front and written only
/// when the call succeeds.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `p` is NULL or valid for a write of one `T`.
    pub(crate) unsafe fn new(p: *mut T, arg: &str) -> Result<Out<T>, Failure> {
        let p = NonNull::new(p).ok_or_else(|| null(arg))?;
        if !p.as_ptr().is_aligned() {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!("{arg}: pointer is not aligned for its type"),
            ));
        }
        Ok(Out(p))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL and aligned in `new`; valid for writes by
        // the caller contract. `write` does not read or drop the old value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Moves `value` to the heap and gives C its handle.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is ignored.
///
/// # Safety
/// `p` is NULL or a live handle of type `T`, not used afterwards.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: made by `Box::into_raw` in `into_handle` (caller contract).
        drop(unsafe { Box::from_raw(p) });
    }
}
