//! Op exports: each checks its handles and out pointer, calls the engine's op
//! and hands back a new tensor handle. No math happens here.

use jac_core::{ErrorKind, Result as CoreResult, Tensor};

use crate::boundary::{Failure, call};
use crate::convert::{dims, int64s, numel, signed};
use crate::ptr::Out;
use crate::status::JacStatus;
use crate::tensor::{JacTensor, new_handle, tensor_arg, tensor_list};

/// The shared body of the one-operand exports.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
unsafe fn unary(
    name: &str,
    a: *const JacTensor,
    out: *mut *mut JacTensor,
    op: fn(&Tensor) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(op(a)?, out);
        Ok(())
    })
}

/// The shared body of the two-operand exports.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
unsafe fn binary(
    name: &str,
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
    op: fn(&Tensor, &Tensor) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let b = unsafe { tensor_arg(b, "b") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let t = op(a, b).map_err(|e| naming_shapes(e, &[("a", a), ("b", b)]))?;
        new_handle(t, out);
        Ok(())
    })
}

/// A shape error of an op with several operands, with each operand's name
/// and shape appended: the engine's message gives the shapes that clash
/// but not which argument each one is.
fn naming_shapes(e: jac_core::Error, operands: &[(&str, &Tensor)]) -> Failure {
    if e.kind() != ErrorKind::Shape {
        return e.into();
    }
    let named: Vec<String> = operands
        .iter()
        .map(|(name, t)| format!("{name} has shape {:?}", t.shape()))
        .collect();
    Failure::new(
        JacStatus::JacErrShape,
        format!("{} ({})", e.message(), named.join(", ")),
    )
}

/// The shared body of the exports with a scalar attribute.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
unsafe fn with_scalar(
    name: &str,
    a: *const JacTensor,
    s: f64,
    out: *mut *mut JacTensor,
    op: fn(&Tensor, f64) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(op(a, s)?, out);
        Ok(())
    })
}

/// Elementwise `-a`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_neg(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_neg", a, out, jac_core::neg) }
}

/// Elementwise `exp(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_exp(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_exp", a, out, jac_core::exp) }
}

/// Elementwise the natural `log(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_log(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_log", a, out, jac_core::log) }
}

/// Elementwise `sin(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sin(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_sin", a, out, jac_core::sin) }
}

/// Elementwise `cos(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_cos(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_cos", a, out, jac_core::cos) }
}

/// Elementwise `tan(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tan(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_tan", a, out, jac_core::tan) }
}

/// Elementwise `tanh(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_tanh(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_tanh", a, out, jac_core::tanh) }
}

/// Elementwise the logistic `1 / (1 + exp(-a))`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sigmoid(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_sigmoid", a, out, jac_core::sigmoid) }
}

/// Elementwise `max(a, 0)` (derivative 0 at 0); `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_relu(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_relu", a, out, jac_core::relu) }
}

/// Elementwise `log(1 + exp(a))`, computed without overflow; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_softplus(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_softplus", a, out, jac_core::softplus) }
}

/// Elementwise `sqrt(a)`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sqrt(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_sqrt", a, out, jac_core::sqrt) }
}

/// Elementwise `a * a`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_square(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_square", a, out, jac_core::square) }
}

/// Elementwise `|a|` (derivative 0 at 0); `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_abs(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_abs", a, out, jac_core::abs) }
}

/// Elementwise `a + b` with numpy broadcasting; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_add(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_add", a, b, out, jac_core::add) }
}

/// Elementwise `a - b` with numpy broadcasting; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sub(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_sub", a, b, out, jac_core::sub) }
}

/// Elementwise `a * b` with numpy broadcasting; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_mul(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_mul", a, b, out, jac_core::mul) }
}

/// Elementwise `a / b` with numpy broadcasting; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_div(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_div", a, b, out, jac_core::div) }
}

/// The matrix product with numpy's `matmul` rules: a 1-D `a` is a row, a
/// 1-D `b` a column (the unit axis is dropped from the result), leading
/// batch axes broadcast (e.g. `[B, m, n] x [n, p]`). `*out` receives a new
/// handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` for a 0-D operand, inner dimensions that differ or batch
/// axes that do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_matmul(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_matmul", a, b, out, jac_core::matmul) }
}

/// Elementwise `s * a`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`,
/// `JAC_ERR_INVALID_ARGUMENT` when `s` is NaN or infinite.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_scale(
    a: *const JacTensor,
    s: f64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { with_scalar("jac_scale", a, s, out, jac_core::scale) }
}

/// Elementwise `a + s`; `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`,
/// `JAC_ERR_INVALID_ARGUMENT` when `s` is NaN or infinite.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_add_scalar(
    a: *const JacTensor,
    s: f64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { with_scalar("jac_add_scalar", a, s, out, jac_core::add_scalar) }
}

/// Elementwise `a ^ p` (NaN for a negative base with a non-integer `p`, as in numpy); `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`,
/// `JAC_ERR_INVALID_ARGUMENT` when `p` is NaN or infinite.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_pow_scalar(
    a: *const JacTensor,
    p: f64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { with_scalar("jac_pow_scalar", a, p, out, jac_core::pow_scalar) }
}

/// The shared body of `jac_sum` and `jac_mean`.
///
/// # Safety
/// As `jac_sum`.
unsafe fn reduction(
    name: &str,
    a: *const JacTensor,
    axes: *const i64,
    n_axes: usize,
    keepdim: bool,
    out: *mut *mut JacTensor,
    op: fn(&Tensor, Option<&[isize]>, bool) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let axes = signed(unsafe { int64s(axes, n_axes, "axes") }?);
        let out = unsafe { Out::new(out, "out") }?;
        let axes = if axes.is_empty() {
            None
        } else {
            Some(&axes[..])
        };
        new_handle(op(a, axes, keepdim)?, out);
        Ok(())
    })
}

/// The sum of `a` over the `n_axes` axes in `axes` (negative axes count from
/// the end); `n_axes` 0 sums every axis (`axes` may then be NULL). With
/// `keepdim`, reduced axes stay as 1. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `axes`
/// with `n_axes` > 0), `JAC_ERR_INDEX` for an axis out of range,
/// `JAC_ERR_INVALID_ARGUMENT` for an axis given twice.
///
/// # Safety
/// `a` is NULL or a live handle; `axes` is NULL or valid for `n_axes` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sum(
    a: *const JacTensor,
    axes: *const i64,
    n_axes: usize,
    keepdim: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { reduction("jac_sum", a, axes, n_axes, keepdim, out, jac_core::sum) }
}

/// The mean of `a` over `axes`, with the arguments and statuses of
/// `jac_sum` (an empty reduction gives NaN, as in numpy).
///
/// # Safety
/// As `jac_sum`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_mean(
    a: *const JacTensor,
    axes: *const i64,
    n_axes: usize,
    keepdim: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { reduction("jac_mean", a, axes, n_axes, keepdim, out, jac_core::mean) }
}

/// The maximum of `a` along `axis` (negative counts from the end); with
/// `keepdim` the axis stays as 1. The gradient flows to the first maximal
/// element of each lane. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`, `JAC_ERR_INDEX`
/// for an axis out of range (any axis of a 0-D tensor), `JAC_ERR_SHAPE` for
/// an empty axis.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_max(
    a: *const JacTensor,
    axis: i64,
    keepdim: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_max", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::max(a, axis as isize, keepdim)?, out);
        Ok(())
    })
}

/// The minimum of `a` along `axis` (negative counts from the end); with
/// `keepdim` the axis stays as 1. The gradient flows to the first minimal
/// element of each lane (a NaN counts as the minimum, as in numpy), and a
/// tangent is taken at that element. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`, `JAC_ERR_INDEX`
/// for an axis out of range (any axis of a 0-D tensor), `JAC_ERR_SHAPE` for
/// an empty axis.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_min(
    a: *const JacTensor,
    axis: i64,
    keepdim: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_min", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::min(a, axis as isize, keepdim)?, out);
        Ok(())
    })
}

/// `log(sum(exp(a)))` over the `n_axes` axes in `axes`, with the arguments
/// and statuses of `jac_sum` (`n_axes` 0 reduces every axis; `axes` may
/// then be NULL). Computed as `m + log(sum(exp(a - m)))` with `m` the
/// maximum of each reduced block, so large entries do not overflow; a block
/// of only `-INFINITY` (or an empty one) gives `-INFINITY`, one holding
/// `+INFINITY` gives `+INFINITY`. The gradient is `g * exp(a - y)`, the
/// softmax over the axes (NaN where `y` is `-INFINITY`).
///
/// # Safety
/// As `jac_sum`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_logsumexp(
    a: *const JacTensor,
    axes: *const i64,
    n_axes: usize,
    keepdim: bool,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe {
        reduction(
            "jac_logsumexp",
            a,
            axes,
            n_axes,
            keepdim,
            out,
            jac_core::logsumexp,
        )
    }
}

/// The shared body of `jac_softmax` and `jac_log_softmax`.
///
/// # Safety
/// As `jac_softmax`.
unsafe fn along_axis(
    name: &str,
    a: *const JacTensor,
    axis: i64,
    out: *mut *mut JacTensor,
    op: fn(&Tensor, isize) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(op(a, axis as isize)?, out);
        Ok(())
    })
}

/// The softmax of `a` along `axis` (negative counts from the end):
/// `exp(a - m) / sum(exp(a - m))` with `m` the maximum of each lane, so
/// large entries do not overflow. `-INFINITY` entries get 0; a lane of only
/// `-INFINITY`, or one holding `+INFINITY`, gives NaN. `*out` receives a
/// new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`, `JAC_ERR_INDEX`
/// for an axis out of range (any axis of a 0-D tensor).
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_softmax(
    a: *const JacTensor,
    axis: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { along_axis("jac_softmax", a, axis, out, jac_core::softmax) }
}

/// The log-softmax of `a` along `axis`: `a - m - log(sum(exp(a - m)))`
/// with `m` the maximum of each lane, so large entries neither overflow nor
/// lose precision. `-INFINITY` entries stay `-INFINITY`; a lane of only
/// `-INFINITY`, or one holding `+INFINITY`, gives NaN. Arguments and
/// statuses as `jac_softmax`.
///
/// # Safety
/// As `jac_softmax`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_log_softmax(
    a: *const JacTensor,
    axis: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { along_axis("jac_log_softmax", a, axis, out, jac_core::log_softmax) }
}

/// `a` with the `ndim` dims of `shape` (row-major; the same number of
/// elements). One dim may be -1 and is then inferred. `*out` receives a new
/// handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `shape`
/// with `ndim` > 0), `JAC_ERR_SHAPE` when the number of elements differs,
/// `JAC_ERR_INVALID_ARGUMENT` for another negative dim,
/// `JAC_ERR_OUT_OF_MEMORY` when the product overflows.
///
/// # Safety
/// `a` is NULL or a live handle; `shape` is NULL or valid for `ndim` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_reshape(
    a: *const JacTensor,
    shape: *const i64,
    ndim: usize,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_reshape", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let dims = unsafe { int64s(shape, ndim, "shape") }?;
        let out = unsafe { Out::new(out, "out") }?;
        // The engine reports negative dims; sizes it cannot represent (such
        // as [i64::MAX, 2, 0], which has no elements) are refused here.
        let given: Vec<usize> = dims
            .iter()
            .filter_map(|&d| usize::try_from(d).ok())
            .collect();
        numel(&given, "shape").map_err(|_| {
            Failure::new(
                JacStatus::JacErrOutOfMemory,
                format!("shape: the dims of {dims:?} overflow the address space"),
            )
        })?;
        new_handle(jac_core::reshape(a, &signed(dims))?, out);
        Ok(())
    })
}

/// `a` with its axes permuted: output axis `k` is input axis `perm[k]`;
/// `ndim` must equal the number of axes of `a`. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `perm`
/// with `ndim` > 0), `JAC_ERR_INVALID_ARGUMENT` for a wrong `ndim` or a
/// repeated axis, `JAC_ERR_INDEX` for an axis out of range.
///
/// # Safety
/// `a` is NULL or a live handle; `perm` is NULL or valid for `ndim` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_transpose(
    a: *const JacTensor,
    perm: *const i64,
    ndim: usize,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_transpose", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let perm = signed(unsafe { int64s(perm, ndim, "perm") }?);
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::transpose(a, &perm)?, out);
        Ok(())
    })
}

/// `a` broadcast to the `ndim` dims of `shape` with numpy's rules: the
/// trailing axes of `a` line up with those of `shape`, and each is equal or
/// 1 (stretched); `shape` may add leading axes. The gradient sums back over
/// the stretched axes. `*out` receives a new handle (to the same node when
/// the shapes are equal).
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `shape`
/// with `ndim` > 0), `JAC_ERR_INVALID_ARGUMENT` for a negative dim,
/// `JAC_ERR_OUT_OF_MEMORY` when the product of the dims overflows,
/// `JAC_ERR_SHAPE` when `a` does not broadcast to `shape`.
///
/// # Safety
/// `a` is NULL or a live handle; `shape` is NULL or valid for `ndim` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_broadcast_to(
    a: *const JacTensor,
    shape: *const i64,
    ndim: usize,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_broadcast_to", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let shape = dims(unsafe { int64s(shape, ndim, "shape") }?, "shape")?;
        let out = unsafe { Out::new(out, "out") }?;
        numel(&shape, "shape")?;
        let t = jac_core::broadcast_to(a, &shape).map_err(|e| {
            if e.kind() == ErrorKind::Shape {
                Failure::new(
                    JacStatus::JacErrShape,
                    format!(
                        "shape: a of shape {:?} does not broadcast to {shape:?}",
                        a.shape()
                    ),
                )
            } else {
                e.into()
            }
        })?;
        new_handle(t, out);
        Ok(())
    })
}

/// An omitted slice bound: `JAC_SLICE_NONE` maps to Python's `None`.
fn bound(b: i64) -> Option<i64> {
    (b != i64::MIN).then_some(b)
}

/// `a` restricted along `axis` to the Python slice `start:stop:step`
/// (`JAC_SLICE_NONE` for an omitted bound, or an omitted `step`, which is
/// 1; negative bounds count from the end; out-of-range bounds clamp; a
/// negative `step` reverses). `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`, `JAC_ERR_INDEX`
/// for an axis out of range, `JAC_ERR_INVALID_ARGUMENT` for `step` 0.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_slice(
    a: *const JacTensor,
    axis: i64,
    start: i64,
    stop: i64,
    step: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_slice", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        // An omitted step is 1, as in Python and as `JacIndex` reads it;
        // passing INT64_MIN through would reverse the axis instead.
        let step = bound(step).unwrap_or(1);
        let t = jac_core::slice(a, axis as isize, bound(start), bound(stop), step)?;
        new_handle(t, out);
        Ok(())
    })
}

/// The shared body of `jac_concat` and `jac_stack`.
///
/// # Safety
/// As `jac_concat`.
unsafe fn join(
    name: &str,
    ts: *const *const JacTensor,
    n: usize,
    axis: i64,
    out: *mut *mut JacTensor,
    op: fn(&[Tensor], isize) -> CoreResult<Tensor>,
) -> JacStatus {
    call(name, || {
        // SAFETY: forwarded caller contract.
        let tensors = unsafe { tensor_list(ts, n, "ts") }?;
        let out = unsafe { Out::new(out, "out") }?;
        if tensors.is_empty() {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                "n: expected at least one tensor, got 0",
            ));
        }
        new_handle(op(&tensors, axis as isize)?, out);
        Ok(())
    })
}

/// The `n` tensors of `ts` joined along an existing `axis` (negative counts
/// from the end); their shapes must match except along `axis`. `*out`
/// receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `ts`, entry of `ts` or `out`,
/// `JAC_ERR_INVALID_ARGUMENT` for `n` 0, `JAC_ERR_INDEX` for an axis out of
/// range, `JAC_ERR_SHAPE` for shapes that differ elsewhere.
///
/// # Safety
/// `ts` is NULL or valid for `n` reads of NULL or live handles; `out` is NULL
/// or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_concat(
    ts: *const *const JacTensor,
    n: usize,
    axis: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { join("jac_concat", ts, n, axis, out, jac_core::concat) }
}

/// The `n` tensors of `ts`, all of one shape, joined along a new `axis`
/// (from `-(ndim + 1)` to `ndim`). Arguments and statuses as `jac_concat`.
///
/// # Safety
/// As `jac_concat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_stack(
    ts: *const *const JacTensor,
    n: usize,
    axis: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { join("jac_stack", ts, n, axis, out, jac_core::stack) }
}

/// `a` where `mask` is non-zero, else `b`, elementwise; the three shapes
/// broadcast together. No gradient flows to the mask; a mask made by a
/// comparison (`jac_less`, ...) is recomputed when a `JacFunction` replays,
/// so the branch follows the new point. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `mask`, `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `mask`, `a` and `b` are NULL or live handles; `out` is NULL or valid for
/// one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_where(
    mask: *const JacTensor,
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_where", || {
        // SAFETY: pointer arguments per this function's contract.
        let mask = unsafe { tensor_arg(mask, "mask") }?;
        let a = unsafe { tensor_arg(a, "a") }?;
        let b = unsafe { tensor_arg(b, "b") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let t = jac_core::where_(mask, a, b)
            .map_err(|e| naming_shapes(e, &[("mask", mask), ("a", a), ("b", b)]))?;
        new_handle(t, out);
        Ok(())
    })
}

// Ops that real programs branch and bound with.

/// A mask, elementwise with numpy broadcasting: 1.0 where `a < b`, else 0.0
/// (NaN compares false). The mask requires no grad; when an operand depends
/// on a differentiable leaf it is recorded, so a `JacFunction` recomputes it
/// at every replay (use it with `jac_where` or as a factor). `*out` receives
/// a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_less(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_less", a, b, out, jac_core::less) }
}

/// A mask, elementwise with numpy broadcasting: 1.0 where `a <= b`, else 0.0
/// (NaN compares false). The mask requires no grad; when an operand depends
/// on a differentiable leaf it is recorded, so a `JacFunction` recomputes it
/// at every replay (use it with `jac_where` or as a factor). `*out` receives
/// a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_less_equal(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_less_equal", a, b, out, jac_core::less_equal) }
}

/// A mask, elementwise with numpy broadcasting: 1.0 where `a > b`, else 0.0
/// (NaN compares false). The mask requires no grad; when an operand depends
/// on a differentiable leaf it is recorded, so a `JacFunction` recomputes it
/// at every replay (use it with `jac_where` or as a factor). `*out` receives
/// a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_greater(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_greater", a, b, out, jac_core::greater) }
}

/// A mask, elementwise with numpy broadcasting: 1.0 where `a >= b`, else 0.0
/// (NaN compares false). The mask requires no grad; when an operand depends
/// on a differentiable leaf it is recorded, so a `JacFunction` recomputes it
/// at every replay (use it with `jac_where` or as a factor). `*out` receives
/// a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_greater_equal(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_greater_equal", a, b, out, jac_core::greater_equal) }
}

/// A mask, elementwise with numpy broadcasting: 1.0 where `a == b`, else 0.0
/// (NaN compares false). The mask requires no grad; when an operand depends
/// on a differentiable leaf it is recorded, so a `JacFunction` recomputes it
/// at every replay (use it with `jac_where` or as a factor). `*out` receives
/// a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_equal(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_equal", a, b, out, jac_core::equal) }
}

/// The smaller of `a` and `b`, elementwise with numpy broadcasting (NaN
/// when either is NaN). The derivative goes to the smaller operand, half to
/// each where they are equal. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_minimum(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_minimum", a, b, out, jac_core::minimum) }
}

/// The larger of `a` and `b`, elementwise with numpy broadcasting (NaN
/// when either is NaN). The derivative goes to the larger operand, half to
/// each where they are equal. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_maximum(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_maximum", a, b, out, jac_core::maximum) }
}

/// `a ^ b`, elementwise with numpy broadcasting (NaN for a negative base
/// with a non-integer exponent). d/da = `b a^(b-1)` (0 where `b` = 0),
/// d/db = `a^b log(a)` (0 where `a` = 0 and `b` >= 0). `*out` receives a new
/// handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_pow(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_pow", a, b, out, jac_core::pow) }
}

/// `atan2(a, b)`, the angle of the point `(b, a)` in `[-pi, pi]`,
/// elementwise with numpy broadcasting; d/da = `b / (a^2 + b^2)`, d/db =
/// `-a / (a^2 + b^2)`. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a`, `b` or `out`,
/// `JAC_ERR_SHAPE` when the shapes do not broadcast.
///
/// # Safety
/// `a` and `b` are NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_atan2(
    a: *const JacTensor,
    b: *const JacTensor,
    out: *mut *mut JacTensor,
) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { binary("jac_atan2", a, b, out, jac_core::atan2) }
}

/// The error function `erf(a)` elementwise, to within two units in the
/// last place; derivative `2/sqrt(pi) exp(-a^2)`. `*out` receives a new
/// handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_erf(a: *const JacTensor, out: *mut *mut JacTensor) -> JacStatus {
    // SAFETY: per this function's contract.
    unsafe { unary("jac_erf", a, out, jac_core::erf) }
}

/// `a` limited to `[lo, hi]` elementwise (NaN stays NaN); an infinite bound
/// is no bound. The derivative is 1 strictly inside the bounds and 0
/// elsewhere (as Paddle's `clip`). `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`,
/// `JAC_ERR_INVALID_ARGUMENT` when `lo` or `hi` is NaN or `lo > hi`.
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_clamp(
    a: *const JacTensor,
    lo: f64,
    hi: f64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_clamp", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::clamp(a, lo, hi)?, out);
        Ok(())
    })
}

/// The entries of `a` at the `n_idx` positions `idx` along `axis`: numpy's
/// `take(a, idx, axis)`. The output has `a`'s shape with that axis of
/// length `n_idx`; negative indices and a negative `axis` count from the
/// end, and an index may repeat. The gradient adds each row of the
/// cotangent into the row it was taken from. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `idx`
/// with `n_idx` > 0), `JAC_ERR_INDEX` for an axis out of range (any axis of
/// a 0-D tensor) or an index outside `[-len, len)` of that axis,
/// `JAC_ERR_OUT_OF_MEMORY` when the output cannot be allocated.
///
/// # Safety
/// `a` is NULL or a live handle; `idx` is NULL or valid for `n_idx` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_gather(
    a: *const JacTensor,
    axis: i64,
    idx: *const i64,
    n_idx: usize,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_gather", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let idx = unsafe { int64s(idx, n_idx, "idx") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::gather(a, axis as isize, idx)?, out);
        Ok(())
    })
}

/// The adjoint of `jac_gather`: zeros shaped like `a` but of length `dim`
/// along `axis`, with row `j` of `a` along the axis added into row
/// `idx[j]` (`out[.., idx[j], ..] += a[.., j, ..]`; repeated indices add
/// up). `n_idx` must equal `a`'s length along `axis`; negative indices
/// count from the end of `dim`, a negative `axis` from the end of `a`'s
/// axes. The gradient gathers the cotangent's rows back. `*out` receives a
/// new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out` (or NULL `idx`
/// with `n_idx` > 0), `JAC_ERR_INVALID_ARGUMENT` for a negative `dim`,
/// `JAC_ERR_INDEX` for an axis out of range or an index outside
/// `[-dim, dim)`, `JAC_ERR_SHAPE` when `n_idx` differs from `a`'s length
/// along `axis`, `JAC_ERR_OUT_OF_MEMORY` when the output cannot be
/// allocated.
///
/// # Safety
/// `a` is NULL or a live handle; `idx` is NULL or valid for `n_idx` reads;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_scatter_add(
    a: *const JacTensor,
    axis: i64,
    idx: *const i64,
    n_idx: usize,
    dim: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_scatter_add", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let idx = unsafe { int64s(idx, n_idx, "idx") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let dim = usize::try_from(dim).map_err(|_| {
            Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!("dim: expected a length >= 0, got {dim}"),
            )
        })?;
        new_handle(jac_core::scatter_add(a, axis as isize, idx, dim)?, out);
        Ok(())
    })
}

/// The inclusive cumulative sum of `a` along `axis` (negative counts from
/// the end): `out[.., j, ..] = sum over m <= j of a[.., m, ..]`, numpy's
/// `cumsum(a, axis)`. The gradient is the cumulative sum of the cotangent
/// from the last row back. `*out` receives a new handle.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL `a` or `out`, `JAC_ERR_INDEX`
/// for an axis out of range (any axis of a 0-D tensor).
///
/// # Safety
/// `a` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_cumsum(
    a: *const JacTensor,
    axis: i64,
    out: *mut *mut JacTensor,
) -> JacStatus {
    call("jac_cumsum", || {
        // SAFETY: pointer arguments per this function's contract.
        let a = unsafe { tensor_arg(a, "a") }?;
        let out = unsafe { Out::new(out, "out") }?;
        new_handle(jac_core::cumsum(a, axis as isize)?, out);
        Ok(())
    })
}
