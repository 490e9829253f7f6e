//! Sweep exports: gradients (one reverse sweep) and Jacobian-vector
//! products (one forward sweep).

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

/// Tangents of the `n_ys` tensors `ys` along the direction `tangents` of
/// the `n_xs` tensors `xs` (a Jacobian-vector product, forward mode): for
/// each y, the sum over j of `d y / d xs[j] . tangents[j]`, shaped like y.
/// `tangents` holds one tensor per x, shaped like it. `out_tangents` has
/// `n_ys` slots, each receiving a new handle (free each with
/// `jac_tensor_free`); nothing is written on failure.
///
/// A y that no x reaches gets zeros (so does every y when `n_xs` is 0; then
/// `xs` and `tangents` may be NULL). An x computed from another x gets its
/// own tangent plus what flows into it, so for every v and u the dot product
/// of v with `jac_jvp(u)` equals that of `jac_grad(v)` with u; an x given
/// twice gets both tangents. With `create_graph` the sweep is recorded, so
/// the tangents can be differentiated again (forward over reverse gives
/// Hessian-vector products; forward over forward, second directional
/// derivatives); without it they are constants. The graph is not consumed.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL array or entry (with a
/// non-zero count; `tangents` counts `n_xs`, `out_tangents` `n_ys`),
/// `JAC_ERR_NOT_DIFFERENTIABLE` for an x that does not require grad,
/// `JAC_ERR_SHAPE` for a tangent shaped unlike its x.
///
/// # Safety
/// `ys` is NULL or valid for `n_ys` reads, `xs` and `tangents` for `n_xs`
/// reads, each entry NULL or a live handle; `out_tangents` is NULL or valid
/// for `n_ys` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jvp(
    ys: *const *const JacTensor,
    n_ys: usize,
    xs: *const *const JacTensor,
    n_xs: usize,
    tangents: *const *const JacTensor,
    create_graph: bool,
    out_tangents: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_jvp", || {
        // SAFETY: pointer arguments per this function's contract.
        let ys = unsafe { tensor_list(ys, n_ys, "ys") }?;
        let xs = unsafe { tensor_list(xs, n_xs, "xs") }?;
        let tangents = unsafe { tensor_list(tangents, n_xs, "tangents") }?;
        let slots = unsafe { slice_mut(out_tangents, n_ys, "out_tangents") }?;
        let results = jac_core::jvp(&ys, &xs, &tangents, create_graph)?;
        for (slot, t) in slots.iter_mut().zip(results) {
            *slot = into_handle::<JacTensor>(t);
        }
        Ok(())
    })
}
