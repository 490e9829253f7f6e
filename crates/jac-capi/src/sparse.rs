//! Sparse Jacobian and Hessian handles: a function's structural pattern,
//! detected and coloured once, evaluated at new inputs by compressed sweeps.

use jac_core::Sparse;

use crate::boundary::{Failure, call, release};
use crate::function::{JacFunction, function_arg, inputs};
use crate::ptr::{HandleKind, HandleType, Out, free_handle, handle, into_handle, slice_mut};
use crate::status::JacStatus;

/// An opaque handle to a sparse Jacobian or Hessian of a `JacFunction`:
/// its structural pattern (valid at every point: an entry that is zero at
/// every point is left out, one that is zero only at some points, such as
/// the other branch of a relu, is kept), its colouring, and the program to
/// evaluate it with.
///
/// Made by `jac_function_sparse_jacobian` or `jac_function_sparse_hessian`,
/// freed with `jac_sparse_free`. Immutable: any number of threads may query
/// and evaluate one at once. It does not depend on the `JacFunction`
/// staying alive. Every call checks the handle's type tag.
pub struct JacSparse {
    _opaque: [u8; 0],
}

impl HandleType for JacSparse {
    type Value = Sparse;
    const KIND: HandleKind = HandleKind::Sparse;
}

/// # Safety
/// `p` is NULL or a live handle (of any type).
unsafe fn sparse_arg<'a>(p: *const JacSparse, arg: &str) -> Result<&'a Sparse, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { handle(p, arg) }
}

/// The sparse Jacobian of output `output` with respect to input `input`:
/// rows are the output's elements and columns the input's (each flattened
/// row-major). Detects the structural pattern on the recorded program once,
/// colours it by columns (forward sweeps) and by rows (reverse sweeps) and
/// keeps the direction with fewer colours. Evaluates nothing. `*out`
/// receives a handle to free with `jac_sparse_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (`f` or `out` NULL),
/// `JAC_ERR_INVALID_ARGUMENT` (`f` not a function handle), `JAC_ERR_INDEX`
/// (`output` or `input` past the last), `JAC_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `f` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_sparse_jacobian(
    f: *const JacFunction,
    output: usize,
    input: usize,
    out: *mut *mut JacSparse,
) -> JacStatus {
    call("jac_function_sparse_jacobian", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let sparse = f.sparse_jacobian(output, input)?;
        out.write(into_handle::<JacSparse>(sparse));
        Ok(())
    })
}

/// The sparse Hessian of output `output`, which must be 0-D: rows and
/// columns are every input's elements, flattened and concatenated in input
/// order; both triangles are listed. Detects the pattern of the second
/// derivative on the recorded program once and star-colours it; each
/// evaluation runs one Hessian-vector product per colour. `*out` receives
/// a handle to free with `jac_sparse_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (`f` or `out` NULL),
/// `JAC_ERR_INVALID_ARGUMENT` (`f` not a function handle), `JAC_ERR_INDEX`
/// (`output` past the last), `JAC_ERR_SHAPE` (an output that is not 0-D),
/// `JAC_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// As `jac_function_sparse_jacobian`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_function_sparse_hessian(
    f: *const JacFunction,
    output: usize,
    out: *mut *mut JacSparse,
) -> JacStatus {
    call("jac_function_sparse_hessian", || {
        // SAFETY: pointer arguments per this function's contract.
        let f = unsafe { function_arg(f, "f") }?;
        let out = unsafe { Out::new(out, "out") }?;
        let sparse = f.sparse_hessian(output)?;
        out.write(into_handle::<JacSparse>(sparse));
        Ok(())
    })
}

/// Frees a sparse handle; NULL is ignored. A live handle of another type is
/// not freed (the reason is left in `jac_last_error()`).
///
/// # Safety
/// `s` is NULL or a live handle not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_free(s: *mut JacSparse) {
    // SAFETY: per this function's contract.
    release("jac_sparse_free", || unsafe { free_handle(s, "s") })
}

/// Writes the numbers of rows and columns to `*n_rows` and `*n_cols`: for
/// a Jacobian the output's and the input's numbers of elements, for a
/// Hessian the total number of input elements, twice.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL argument,
/// `JAC_ERR_INVALID_ARGUMENT` for a handle of another type.
///
/// # Safety
/// `s` is NULL or a live handle; `n_rows` and `n_cols` are NULL or valid
/// for one write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_shape(
    s: *const JacSparse,
    n_rows: *mut usize,
    n_cols: *mut usize,
) -> JacStatus {
    call("jac_sparse_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let s = unsafe { sparse_arg(s, "s") }?;
        let n_rows = unsafe { Out::new(n_rows, "n_rows") }?;
        let n_cols = unsafe { Out::new(n_cols, "n_cols") }?;
        let (m, n) = s.shape();
        n_rows.write(m);
        n_cols.write(n);
        Ok(())
    })
}

/// Writes the number of structural nonzeros (the pattern's entries) to
/// `*out`.
///
/// Returns as `jac_sparse_shape`.
///
/// # Safety
/// `s` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_nnz(s: *const JacSparse, out: *mut usize) -> JacStatus {
    call("jac_sparse_nnz", || {
        // SAFETY: pointer arguments per this function's contract.
        let s = unsafe { sparse_arg(s, "s") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(s.nnz());
        Ok(())
    })
}

/// Writes the number of colours to `*out`: the number of compressed sweeps
/// (forward, reverse or Hessian-vector) one `jac_sparse_eval` runs.
///
/// Returns as `jac_sparse_shape`.
///
/// # Safety
/// `s` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_colors(s: *const JacSparse, out: *mut usize) -> JacStatus {
    call("jac_sparse_colors", || {
        // SAFETY: pointer arguments per this function's contract.
        let s = unsafe { sparse_arg(s, "s") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(s.colors());
        Ok(())
    })
}

/// The `nnz` length check every buffer of the pattern's size gets.
fn check_nnz(s: &Sparse, nnz: usize) -> Result<(), Failure> {
    if nnz != s.nnz() {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!(
                "nnz: expected {} (the pattern's number of entries), got {nnz}",
                s.nnz()
            ),
        ));
    }
    Ok(())
}

/// Writes the pattern in coordinate form: `rows[k]` and `cols[k]` are the
/// row and column (0-based, into the flattened output and input) of entry
/// `k`, sorted by row, then column. Both buffers hold `nnz` values, which
/// must equal `jac_sparse_nnz` (0 with NULL buffers for an empty pattern).
/// Nothing is written on failure.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (`s`, or a buffer with `nnz > 0`),
/// `JAC_ERR_INVALID_ARGUMENT` (`nnz` not the pattern's, a handle of another
/// type).
///
/// # Safety
/// `s` is NULL or a live handle; `rows` and `cols` are NULL or valid for
/// `nnz` writes each, and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_pattern(
    s: *const JacSparse,
    rows: *mut i64,
    cols: *mut i64,
    nnz: usize,
) -> JacStatus {
    call("jac_sparse_pattern", || {
        // SAFETY: pointer arguments per this function's contract.
        let s = unsafe { sparse_arg(s, "s") }?;
        check_nnz(s, nnz)?;
        let rows_out = unsafe { slice_mut(rows, nnz, "rows") }?;
        let cols_out = unsafe { slice_mut(cols, nnz, "cols") }?;
        let (r, c) = s.pattern();
        let index = |v: usize| {
            i64::try_from(v).map_err(|_| {
                Failure::new(
                    JacStatus::JacErrOutOfMemory,
                    "rows: an index does not fit int64_t",
                )
            })
        };
        let r = r.iter().map(|&v| index(v)).collect::<Result<Vec<_>, _>>()?;
        let c = c.iter().map(|&v| index(v)).collect::<Result<Vec<_>, _>>()?;
        rows_out.copy_from_slice(&r);
        cols_out.copy_from_slice(&c);
        Ok(())
    })
}

/// Evaluates the entries at new inputs, in pattern order, into `values`
/// (`nnz` values, which must equal `jac_sparse_nnz`): one compressed sweep
/// per colour. `in` holds one row-major buffer per input of the function
/// and `in_lens` their lengths, each equal to that input's numel. Nothing
/// is written on failure.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (`s`, `in`, `in_lens`, a buffer with a
/// non-zero length, or `values` with `nnz > 0`), `JAC_ERR_INVALID_ARGUMENT`
/// (`nnz` not the pattern's, a length that is not its input's numel, a
/// handle of another type), `JAC_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `s` is NULL or a live handle; `in` and `in_lens` are NULL or valid for
/// one read per input, each `in[k]` valid for `in_lens[k]` reads; `values`
/// is NULL or valid for `nnz` writes and overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_sparse_eval(
    s: *const JacSparse,
    r#in: *const *const f64,
    in_lens: *const usize,
    values: *mut f64,
    nnz: usize,
) -> JacStatus {
    call("jac_sparse_eval", || {
        // SAFETY: pointer arguments per this function's contract.
        let s = unsafe { sparse_arg(s, "s") }?;
        let xs = unsafe { inputs(s.function(), r#in, in_lens) }?;
        check_nnz(s, nnz)?;
        let values = unsafe { slice_mut(values, nnz, "values") }?;
        s.eval_into(&xs, values)?;
        Ok(())
    })
}
