//! Tensor handles: creation from caller data, queries, reading values out,
//! freeing.

use jac_core::Tensor;

use crate::boundary::{Failure, call, release};
use crate::convert::{dims, int64s, numel, signed, write_shape};
use crate::ptr::{
    HandleKind, HandleType, Out, free_handle, handle, handles, into_handle, slice, slice_mut,
};
use crate::status::JacStatus;

/// An opaque handle to a float64 tensor: a node of the graph.
///
/// Made by `jac_tensor_new` and by every op; freed with `jac_tensor_free`.
/// Freeing a handle never invalidates graphs, gradients or Jacobians that use
/// its node (they hold it themselves). A handle is immutable and may be used
/// from several threads at once; free it exactly once, when no call is using
/// it.
///
/// Every handle starts with a tag naming its type, which every call checks:
/// a live handle of another type (a `JacJacobian *` cast to `JacTensor *`)
/// is `JAC_ERR_INVALID_ARGUMENT`, with a message naming the argument, the
/// type expected and the type given. The check does not make other pointers
/// safe: passing a freed handle, or a pointer libjac did not make, is
/// undefined behaviour (freeing overwrites the tag, so that some uses after
/// free and double frees are reported, but the memory may be reused at once).
pub struct JacTensor {
    _opaque: [u8; 0],
}

impl HandleType for JacTensor {
    type Value = Tensor;
    const KIND: HandleKind = HandleKind::Tensor;
}

/// Gives C a new handle to `tensor`.
pub(crate) fn new_handle(tensor: Tensor, out: Out<*mut JacTensor>) {
    out.write(into_handle::<JacTensor>(tensor));
}

/// The tensor behind a handle argument.
///
/// # Safety
/// `p` is NULL or a live handle (of any type).
pub(crate) unsafe fn tensor_arg<'a>(p: *const JacTensor, arg: &str) -> Result<&'a Tensor, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { handle(p, arg) }
}

/// The tensors behind an array of `n` handles, each non-NULL.
///
/// # Safety
/// `p` is NULL or valid for `n` reads of NULL or live handles (of any type).
pub(crate) unsafe fn tensor_list(
    p: *const *const JacTensor,
    n: usize,
    arg: &str,
) -> Result<Vec<Tensor>, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { handles(p, n, arg, Tensor::clone) }
}

/// Creates a tensor from `len` row-major values of the given shape.
///
/// `shape` has `ndim` dims, each >= 0; `ndim` 0 makes a 0-D scalar (`shape`
/// may then be NULL) and `len` must equal the product of the dims. The values
/// are copied: the caller keeps ownership of `data` and `shape`. With
/// `requires_grad`, gradients and Jacobians can be taken with respect to the
/// new tensor. On success `*out` receives a handle to free with
/// `jac_tensor_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (NULL `out`, or NULL `data`/`shape` with a
/// non-zero length), `JAC_ERR_INVALID_ARGUMENT` (a negative dim, or `len`
/// different from the product of `shape`), `JAC_ERR_OUT_OF_MEMORY` (the
/// product overflows). `data` is not read unless `len` is right.
///
/// # Safety
/// `data` is valid for `len` reads, `shape` for `ndim` reads, `out` for one
/// write (each may be NULL as described).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_new(
    data: *const f64,
    len: usize,
    shape: *const i64,
    ndim: usize,
    requires_grad: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_tensor_new", || {
        // SAFETY: pointer arguments per this function's contract.
        let out = unsafe { Out::new(out, "out") }?;
        let shape = dims(unsafe { int64s(shape, ndim, "shape") }?, "shape")?;
        // `len` is checked before `data` is read: a wrong length must not
        // make libjac copy a buffer of the caller's claimed size.
        let numel = numel(&shape, "shape")?;
        if len != numel {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!("len: expected {numel} (the product of shape {shape:?}), got {len}"),
            ));
        }
        let data = unsafe { slice(data, len, "data") }?;
        let tensor = Tensor::from_slice(data, &shape, requires_grad)?;
        new_handle(tensor, out);
        Ok(())
    })
}

/// Frees a tensor handle; NULL is ignored. The node lives on while graphs,
/// gradients or Jacobians use it.
///
/// A live handle of another type (a `JacJacobian *`) is not freed: the call
/// does nothing but leave the reason in `jac_last_error()`, since it returns
/// no status.
///
/// # Safety
/// `t` is NULL or a live handle not used after this call. Freeing a handle
/// twice, or a pointer libjac did not make, is undefined behaviour.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_free(t: *mut JacTensor) {
    // SAFETY: per this function's contract.
    release("jac_tensor_free", || unsafe { free_handle(t, "t") })
}

/// Writes the number of axes of `t` to `*out` (0 for a scalar).
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `out`.
///
/// # Safety
/// `t` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_ndim(t: *const JacTensor, out: *mut usize) -> JacStatus {
    call("jac_tensor_ndim", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(t.ndim());
        Ok(())
    })
}

/// Writes the dims of `t` to `shape_out` (capacity `cap`) and their count to
/// `*ndim_out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `ndim_out` (or a NULL
/// `shape_out` for a tensor with axes), `JAC_ERR_INVALID_ARGUMENT` when `cap`
/// is below the number of axes (nothing is written).
///
/// # Safety
/// `t` is NULL or a live handle; `shape_out` is NULL or valid for `cap`
/// writes; `ndim_out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_shape(
    t: *const JacTensor,
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> JacStatus {
    call("jac_tensor_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        unsafe { write_shape(t.shape(), shape_out, cap, ndim_out) }
    })
}

/// Writes the number of elements of `t` to `*out` (1 for a scalar).
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `out`.
///
/// # Safety
/// `t` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_numel(t: *const JacTensor, out: *mut usize) -> JacStatus {
    call("jac_tensor_numel", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(t.numel());
        Ok(())
    })
}

/// Writes whether `t` requires grad to `*out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `out`.
///
/// # Safety
/// `t` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_requires_grad(
    t: *const JacTensor,
    out: *mut bool,
) -> JacStatus {
    call("jac_tensor_requires_grad", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(t.requires_grad());
        Ok(())
    })
}

/// Copies the values of `t`, row-major, into `out`, whose length `out_len`
/// must equal the number of elements.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` (or a NULL `out` with a
/// non-zero `out_len`), `JAC_ERR_INVALID_ARGUMENT` when `out_len` differs
/// from the number of elements (nothing is written).
///
/// # Safety
/// `t` is NULL or a live handle; `out` is NULL or valid for `out_len`
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_read(
    t: *const JacTensor,
    out: *mut f64,
    out_len: usize,
) -> JacStatus {
    call("jac_tensor_read", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        if out_len != t.numel() {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!(
                    "out_len: expected {} (the number of elements of t), got {out_len}",
                    t.numel()
                ),
            ));
        }
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        Ok(t.read_into(out)?)
    })
}

/// Creates a tensor of the `ndim` dims of `shape` with every element
/// `value` (any double, NaN and infinities included, as `jac_tensor_new`
/// takes them). `ndim` 0 makes a 0-D scalar (`shape` may then be NULL).
/// With `requires_grad`, derivatives can be taken with respect to it. On
/// success `*out` receives a handle to free with `jac_tensor_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (NULL `out`, or NULL `shape` with a
/// non-zero `ndim`), `JAC_ERR_INVALID_ARGUMENT` (a negative dim),
/// `JAC_ERR_OUT_OF_MEMORY` (the product of the dims overflows, or the
/// values cannot be allocated).
///
/// # Safety
/// `shape` is NULL or valid for `ndim` reads; `out` is NULL or valid for one
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_full(
    value: f64,
    shape: *const i64,
    ndim: usize,
    requires_grad: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_tensor_full", || {
        // SAFETY: pointer arguments per this function's contract.
        let out = unsafe { Out::new(out, "out") }?;
        let shape = dims(unsafe { int64s(shape, ndim, "shape") }?, "shape")?;
        numel(&shape, "shape")?;
        new_handle(Tensor::full(&shape, value, requires_grad)?, out);
        Ok(())
    })
}

/// Writes to `*out` a second handle to the node of `t`: the same value,
/// the same `requires_grad`, the same place in every graph (a gradient with
/// respect to one is a gradient with respect to the other). Each handle is
/// freed with `jac_tensor_free`, in either order; freeing one leaves the
/// other valid. Bindings use it to copy their tensor objects without a
/// reference count of their own. Copies no values.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `out`.
///
/// # Safety
/// `t` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_clone(
    t: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_tensor_clone", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(t.clone(), out);
        Ok(())
    })
}

/// Writes to `*out` the one element of `t` at `index`: `ndim` positions,
/// one per axis of `t` (0 for a scalar, `index` may then be NULL), each
/// from 0, a negative position counting from the end of its axis. Copies
/// nothing else: for reading a few elements of a large tensor.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `t` or `out` (or NULL `index`
/// with `ndim` > 0), `JAC_ERR_INVALID_ARGUMENT` when `ndim` differs from
/// the number of axes of `t`, `JAC_ERR_INDEX` for a position outside its
/// axis. Nothing is written on failure.
///
/// # Safety
/// `t` is NULL or a live handle; `index` is NULL or valid for `ndim` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tensor_read_element(
    t: *const JacTensor,
    index: *const i64,
    ndim: usize,
    out: *mut f64,
) -> JacStatus {
    call("jac_tensor_read_element", || {
        // SAFETY: pointer arguments per this function's contract.
        let t = unsafe { tensor_arg(t, "t") }?;
        let index = signed(unsafe { int64s(index, ndim, "index") }?);
        let out = unsafe { Out::new(out, "out") }?;
        out.write(t.element(&index)?);
        Ok(())
    })
}
