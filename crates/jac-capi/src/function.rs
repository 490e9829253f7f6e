//! Function handles: a program recorded once from tensors, evaluated,
//! differentiated and Jacobian'd at new inputs given as caller buffers.

use jac_core::{Buffers, Function};

use crate::boundary::{Failure, call, release};
use crate::convert::write_shape;
use crate::jacobian::{JacJacobian, batch_axis};
use crate::ptr::{HandleKind, HandleType, Out, free_handle, handle, into_handle, slice, slice_mut};
use crate::status::JacStatus;
use crate::tensor::{JacTensor, tensor_list};

/// An opaque handle to a recorded function: the program between some input
/// tensors and some output tensors, evaluated at new input values.
///
/// Made by `jac_function_new`, freed with `jac_function_free`. Immutable:
/// any number of threads may evaluate one function at once, each call with
/// its own workspace. Freeing the tensors it was made from does not affect
/// it. Every call checks the handle's type tag, as for `JacTensor`.
///
/// Replay is exact for what libjac records: ops whose derivative depends on
/// values (relu, abs, max, min) take their branch from the new inputs. What the
/// host decided in C from values it read (which op to call, a mask it built
/// for `jac_where`) is not recorded: it stays as it was when recording.
pub struct JacFunction {
    _opaque: [u8; 0],
}

impl HandleType for JacFunction {
    type Value = Function;
    const KIND: HandleKind = HandleKind::Function;
}

/// # Safety
/// `p` is NULL or a live handle (of any type).
pub(crate) unsafe fn function_arg<'a>(
    p: *const JacFunction,
    arg: &str,
) -> Result<&'a Function, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { handle(p, arg) }
}

/// The lengths array of a buffer list, checked against `f` before any
/// buffer is looked at.
///
/// # Safety
/// `lens` is NULL or valid for `f`'s count of reads.
unsafe fn lens<'a>(
    f: &Function,
    buffers: Buffers,
    lens: *const usize,
) -> Result<&'a [usize], Failure> {
    let n = if buffers.per_input() {
        f.n_inputs()
    } else {
        f.n_outputs()
    };
    // SAFETY: forwarded caller contract.
    let lens = unsafe { slice(lens, n, buffers.lens_arg()) }?;
    f.check_lens(buffers, lens)?;
    Ok(lens)
}

/// The read-only buffers of a pointer array, each of its checked length.
///
/// # Safety
/// `ptrs` is NULL or valid for `lens.len()` reads, each entry NULL or valid
/// for its length of reads.
unsafe fn buffers<'a>(
    ptrs: *const *const f64,
    lens: &[usize],
    arg: &str,
) -> Result<Vec<&'a [f64]>, Failure> {
    // SAFETY: forwarded caller contract.
    let ptrs = unsafe { slice(ptrs, lens.len(), arg) }?;
    ptrs.iter()
        .zip(lens)
        .enumerate()
        // SAFETY: each entry per the caller contract; the entry's name is
        // only formatted when it is refused.
        .map(|(k, (&p, &len))| {
            unsafe { slice(p, len, arg) }
                .or_else(|_| unsafe { slice(p, len, &format!("{arg}[{k}]")) })
        })
        .collect()
}

/// The writable buffers of a pointer array, each of its checked length.
///
/// # Safety
/// `ptrs` is NULL or valid for `lens.len()` reads, each entry NULL or valid
/// for its length of writes, no two overlapping and none overlapping an
/// input.
unsafe fn buffers_mut<'a>(
    ptrs: *const *mut f64,
    lens: &[usize],
    arg: &str,
) -> Result<Vec<&'a mut [f64]>, Failure> {
    // SAFETY: forwarded caller contract.
    let ptrs = unsafe { slice(ptrs, lens.len(), arg) }?;
    ptrs.iter()
        .zip(lens)
        .enumerate()
        // SAFETY: as in `buffers`.
        .map(|(k, (&p, &len))| {
            unsafe { slice_mut(p, len, arg) }
                .or_else(|_| unsafe { slice_mut(p, len, &format!("{arg}[{k}]")) })
        })
        .collect()
}

/// The input buffers of an evaluation: lengths first, then the buffers.
///
/// # Safety
/// As [`lens`] and [`buffers`].
pub(crate) unsafe fn inputs<'a>(
    f: &Function,
    input: *const *const f64,
    in_lens: *const usize,
) -> Result<Vec<&'a [f64]>, Failure> {
    // SAFETY: forwarded caller contract.
    let lens = unsafe { lens(f, Buffers::Inputs, in_lens) }?;
    unsafe { buffers(input, lens, "in") }
}

/// Records the program from the `n_inputs` tensors `inputs` (leaves that
/// require grad, each given once) to the `n_outputs` tensors `outputs` (any
/// tensors, repeats allowed). Every other tensor the outputs depend on is
/// captured as a constant with its current value; an output that depends on
/// no input is allowed (its derivatives are 0). Shapes are fixed: every
/// later evaluation takes buffers of the recorded inputs' sizes. `*out`
/// receives a handle to free with `jac_function_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (a NULL array, entry or `out`),
/// `JAC_ERR_INVALID_ARGUMENT` (`n_inputs` or `n_outputs` 0, an input that is
/// the result of an op, an input given twice),
/// `JAC_ERR_NOT_DIFFERENTIABLE` (an input that does not require grad).
///
/// # Safety
/// `inputs` is NULL or valid for `n_inputs` reads and `outputs` for
/// `n_outputs` reads, each entry NULL or a live tensor handle; `out` is NULL
/// or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_new(
    inputs: *const *const JacTensor,
    n_inputs: usize,
    outputs: *const *const JacTensor,
    n_outputs: usize,
    out: *mut *mut JacFunction,
) -> JacStatus {
    call("jac_function_new", || {
        // SAFETY: pointer arguments per this function's contract.
        let inputs = unsafe { tensor_list(inputs, n_inputs, "inputs") }?;
        let outputs = unsafe { tensor_list(outputs, n_outputs, "outputs") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let f = Function::new(&inputs, &outputs)?;
        out.write(into_handle::<JacFunction>(f));
        Ok(())
    })
}

/// Frees a function handle; NULL is ignored. Jacobians made from it live on.
/// A live handle of another type is not freed (the reason is left in
/// `jac_last_error()`).
///
/// # Safety
/// `f` is NULL or a live handle not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_free(f: *mut JacFunction) {
    // SAFETY: per this function's contract.
    release("jac_function_free", || unsafe { free_handle(f, "f") })
}

/// Writes the number of inputs to `*out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL argument.
///
/// # Safety
/// `f` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_n_inputs(
    f: *const JacFunction,
    out: *mut usize,
) -> JacStatus {
    call("jac_function_n_inputs", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(f.n_inputs());
        Ok(())
    })
}

/// Writes the number of outputs to `*out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL argument.
///
/// # Safety
/// `f` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_n_outputs(
    f: *const JacFunction,
    out: *mut usize,
) -> JacStatus {
    call("jac_function_n_outputs", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(f.n_outputs());
        Ok(())
    })
}

fn index_failure(i: usize, n: usize, what: &str) -> Failure {
    Failure::new(
        JacStatus::JacErrIndex,
        format!("i: expected an {what} index in [0, {n}), got {i}"),
    )
}

/// Writes the dims of input `i` to `shape_out` (capacity `cap`) and their
/// count to `*ndim_out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` (`i` past the last
/// input), `JAC_ERR_INVALID_ARGUMENT` (`cap` too small; nothing written).
///
/// # Safety
/// `f` is NULL or a live handle; `shape_out` is NULL or valid for `cap`
/// writes; `ndim_out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_input_shape(
    f: *const JacFunction,
    i: usize,
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> JacStatus {
    call("jac_function_input_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let shape = f
            .input_shape(i)
            .ok_or_else(|| index_failure(i, f.n_inputs(), "input"))?;
        unsafe { write_shape(shape, shape_out, cap, ndim_out) }
    })
}

/// Writes the dims of output `i` to `shape_out` (capacity `cap`) and their
/// count to `*ndim_out`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` (`i` past the last
/// output), `JAC_ERR_INVALID_ARGUMENT` (`cap` too small; nothing written).
///
/// # Safety
/// As `jac_function_input_shape`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_output_shape(
    f: *const JacFunction,
    i: usize,
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> JacStatus {
    call("jac_function_output_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let shape = f
            .output_shape(i)
            .ok_or_else(|| index_failure(i, f.n_outputs(), "output"))?;
        unsafe { write_shape(shape, shape_out, cap, ndim_out) }
    })
}

/// Evaluates the outputs at new inputs. `in` holds one row-major buffer per
/// input and `in_lens` their lengths, each equal to that input's numel;
/// `out` and `out_lens` the same for the outputs. Nothing is written on
/// failure.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (a NULL array, or a NULL buffer with a
/// non-zero length), `JAC_ERR_INVALID_ARGUMENT` (a length that is not its
/// tensor's numel; lengths are checked before any buffer is read),
/// `JAC_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `f` is NULL or a live handle; `in` and `in_lens` are NULL or valid for
/// one read per input, each `in[k]` valid for `in_lens[k]` reads; `out` and
/// `out_lens` the same per output, each `out[k]` valid for `out_lens[k]`
/// writes. Output buffers overlap neither each other nor an input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_eval(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    out: *const *mut f64,
    out_lens: *const usize,
) -> JacStatus {
    call("jac_function_eval", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let lens = unsafe { lens(f, Buffers::Outputs, out_lens) }?;
        let mut outs = unsafe { buffers_mut(out, lens, "out") }?;
        f.eval_into(&xs, &mut outs)?;
        Ok(())
    })
}

/// A vector-Jacobian product at new inputs: for each input `j`,
/// `grads[j] = sum_i cot[i] . d outputs[i] / d inputs[j]`, shaped like
/// input `j`. `cot` holds one buffer per output (its numel in `cot_lens`),
/// or is NULL for ones for every output (`cot_lens` may then be NULL too);
/// `grads` and `grad_lens` one buffer per input. Nothing is written on
/// failure.
///
/// Returns as `jac_function_eval`, for `cot` and `grads` too.
///
/// # Safety
/// As `jac_function_eval`, with `cot`/`cot_lens` (when `cot` is not NULL)
/// one per output and `grads`/`grad_lens` one per input, each `grads[k]`
/// valid for `grad_lens[k]` writes and overlapping nothing else.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_vjp(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    cot: *const *const f64,
    cot_lens: *const usize,
    grads: *const *mut f64,
    grad_lens: *const usize,
) -> JacStatus {
    call("jac_function_vjp", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let cots = if cot.is_null() {
            None
        } else {
            let lens = unsafe { lens(f, Buffers::Cotangents, cot_lens) }?;
            Some(unsafe { buffers(cot, lens, "cot") }?)
        };
        let lens = unsafe { lens(f, Buffers::Gradients, grad_lens) }?;
        let mut gs = unsafe { buffers_mut(grads, lens, "grads") }?;
        f.vjp_into(&xs, cots.as_deref(), &mut gs)?;
        Ok(())
    })
}

/// A Jacobian-vector product at new inputs, by one forward sweep: for each
/// output `i`, `out_tan[i] = sum_j d outputs[i] / d inputs[j] . tan[j]`,
/// shaped like output `i`. `tan` and `tan_lens` hold one buffer per input
/// (tangents are required: NULL is `JAC_ERR_NULL_ARGUMENT`), `out_tan` and
/// `out_tan_lens` one per output. Nothing is written on failure.
///
/// Returns as `jac_function_eval`, for `tan` and `out_tan` too.
///
/// # Safety
/// As `jac_function_eval`, with `tan`/`tan_lens` one per input and
/// `out_tan`/`out_tan_lens` one per output, each `out_tan[k]` valid for
/// `out_tan_lens[k]` writes and overlapping nothing else.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_jvp(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    tan: *const *const f64,
    tan_lens: *const usize,
    out_tan: *const *mut f64,
    out_tan_lens: *const usize,
) -> JacStatus {
    call("jac_function_jvp", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let lens_t = unsafe { lens(f, Buffers::Tangents, tan_lens) }?;
        let ts = unsafe { buffers(tan, lens_t, "tan") }?;
        let lens_o = unsafe { lens(f, Buffers::OutputTangents, out_tan_lens) }?;
        let mut outs = unsafe { buffers_mut(out_tan, lens_o, "out_tan") }?;
        f.jvp_into(&xs, &ts, &mut outs)?;
        Ok(())
    })
}

/// The Hessian of output `output` (a 0-D output) at new inputs times `v`,
/// forward over reverse: for each input `j`, `out[j] = sum_k d2 outputs[output]
/// / d inputs[j] d inputs[k] . v[k]`, shaped like input `j`. `v`/`v_lens` and
/// `out`/`out_lens` hold one buffer per input. Nothing is written on
/// failure.
///
/// Returns `JAC_ERR_INDEX` for an output past the last, `JAC_ERR_SHAPE` for
/// an output that is not 0-D, then as `jac_function_eval` for `in`, `v` and
/// `out`.
///
/// # Safety
/// As `jac_function_eval`, with `v`/`v_lens` and `out`/`out_lens` one per
/// input, each `out[k]` valid for `out_lens[k]` writes and overlapping
/// nothing else.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_hvp(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    output: usize,
    v: *const *const f64,
    v_lens: *const usize,
    out: *const *mut f64,
    out_lens: *const usize,
) -> JacStatus {
    call("jac_function_hvp", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        f.check_scalar_output(output)?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let lens_v = unsafe { lens(f, Buffers::Directions, v_lens) }?;
        let vs = unsafe { buffers(v, lens_v, "v") }?;
        let lens_o = unsafe { lens(f, Buffers::Products, out_lens) }?;
        let mut outs = unsafe { buffers_mut(out, lens_o, "out") }?;
        f.hvp_into(&xs, output, &vs, &mut outs)?;
        Ok(())
    })
}

/// The lazy Jacobian of the outputs with respect to the inputs at new
/// inputs (buffers as for `jac_function_eval`): block `(i, j)` is
/// `d outputs[i] / d inputs[j]`, with the semantics and `batch_axis` of
/// `jac_jacobian_new`. Creating it evaluates the outputs and nothing else;
/// reads evaluate the rows they touch. `*out` receives a handle to free with
/// `jac_jacobian_free`; it does not depend on `f` staying alive.
///
/// Returns as `jac_function_eval` for the buffers, then as
/// `jac_jacobian_new` (`JAC_ERR_BATCH_AXIS`, `JAC_ERR_SHAPE`).
///
/// # Safety
/// `f` is NULL or a live handle; `in`/`in_lens` as for `jac_function_eval`;
/// `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_jacobian(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    batch_axis: i64,
    out: *mut *mut JacJacobian,
) -> JacStatus {
    call("jac_function_jacobian", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let out = unsafe { Out::new(out, "out") }?;
        let jacobian = f.jacobian(&xs, self::batch_axis(batch_axis))?;
        out.write(into_handle::<JacJacobian>(jacobian));
        Ok(())
    })
}

/// The lazy Hessian of output `output` with respect to the inputs at new
/// inputs (buffers as for `jac_function_eval`), with the semantics and
/// `batch_axis` of `jac_hessian_new`: `n_inputs x n_inputs` blocks. `*out`
/// receives a handle to free with `jac_jacobian_free`.
///
/// Returns `JAC_ERR_INDEX` (`output` past the last output) before the
/// buffers, then as `jac_function_eval` for them, then as `jac_hessian_new`
/// (`JAC_ERR_SHAPE` for an output that is not one value, or one per sample;
/// `JAC_ERR_BATCH_AXIS`).
///
/// # Safety
/// As `jac_function_jacobian`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_hessian(
    f: *const JacFunction,
    r#in: *const *const f64,
    in_lens: *const usize,
    output: usize,
    batch_axis: i64,
    out: *mut *mut JacJacobian,
) -> JacStatus {
    call("jac_function_hessian", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        f.check_output(output)?;
        let xs = unsafe { inputs(f, r#in, in_lens) }?;
        let out = unsafe { Out::new(out, "out") }?;
        let hessian = f.hessian(&xs, output, self::batch_axis(batch_axis))?;
        out.write(into_handle::<JacJacobian>(hessian));
        Ok(())
    })
}
