//! Gradient export: one reverse sweep.

use crate::boundary::call;
use crate::ptr::{into_handle, slice_mut};
use crate::status::JacStatus;
use crate::tensor::{JacTensor, tensor_list};

/// Gradients of the `n_ys` tensors `ys` with respect to the `n_xs` tensors
/// `xs`: for each x, the sum over i of `grad_ys[i] . d ys[i] / d x`, shaped
/// like x. `grad_ys` is NULL (cotangents of ones) or holds one tensor per y,
/// shaped like it. `out_grads` has `n_xs` slots, each receiving a new handle
/// (free each with `jac_tensor_free`); nothing is written on failure.
///
/// An x that the ys do not depend on gets zeros (so does every x when
/// `n_ys` is 0); an x given twice gets its gradient in both slots. With
/// `n_xs` 0 nothing is computed, and `xs` and `out_grads` may be NULL. With `create_graph` the sweep is recorded, so the
/// gradients can be differentiated again (Hessians, higher orders); without
/// it the gradients are constants. The graph is not consumed: the same ys
/// can be differentiated any number of times.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL array or entry (with a non-zero
/// count; `out_grads` counts `n_xs`), `JAC_ERR_NOT_DIFFERENTIABLE` for an x that
/// does not require grad, `JAC_ERR_SHAPE` for a cotangent shaped unlike its y.
///
/// # Safety
/// `ys` is NULL or valid for `n_ys` reads, `xs` for `n_xs` reads, `grad_ys`
/// NULL or valid for `n_ys` reads, each entry NULL or a live handle;
/// `out_grads` is NULL or valid for `n_xs` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_grad(
    ys: *const *const JacTensor,
    n_ys: usize,
    xs: *const *const JacTensor,
    n_xs: usize,
    grad_ys: *const *const JacTensor,
    create_graph: bool,
    out_grads: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_grad", || {
        // SAFETY: pointer arguments per this function's contract.
        let ys = unsafe { tensor_list(ys, n_ys, "ys") }?;
        let xs = unsafe { tensor_list(xs, n_xs, "xs") }?;
        let grad_ys = if grad_ys.is_null() {
            None
        } else {
            Some(unsafe { tensor_list(grad_ys, n_ys, "grad_ys") }?)
        };
        // NULL with `n_xs` 0 is the empty buffer, as for every other length.
        let slots = unsafe { slice_mut(out_grads, n_xs, "out_grads") }?;
        let grads = jac_core::grad(&ys, &xs, grad_ys.as_deref(), create_graph)?;
        for (slot, g) in slots.iter_mut().zip(grads) {
            *slot = into_handle::<JacTensor>(g);
        }
        Ok(())
    })
}
