//! Lazy Jacobian and Hessian handles: creation, shape queries, indexed
//! reads into caller buffers, the rows-evaluated counter.

use jac_core::index::Index;
use jac_core::{Jacobian, Mode};

use crate::boundary::{Failure, call, release};
use crate::convert::write_shape;
use crate::ptr::{HandleKind, HandleType, Out, free_handle, handle, into_handle, slice, slice_mut};
use crate::status::JacStatus;
use crate::tensor::{JacTensor, tensor_arg, tensor_list};

/// An opaque handle to a lazy Jacobian or Hessian: a grid of blocks
/// `(i, j)`, one per y and x (a Hessian: one per pair of xs).
///
/// Creating it computes nothing; reads evaluate only the rows they touch,
/// each once, and cache them. It holds its graph alive on its own: freeing
/// the tensor handles it was made from does not affect it. Safe to read from
/// several threads at once (each row is still computed exactly once); free it
/// exactly once, when no call is using it.
///
/// As for `JacTensor`, every call checks the handle's type tag: a live
/// handle of another type is `JAC_ERR_INVALID_ARGUMENT` naming the argument
/// and both types, while a freed or made-up pointer is undefined behaviour.
pub struct JacJacobian {
    _opaque: [u8; 0],
}

impl HandleType for JacJacobian {
    type Value = Jacobian;
    const KIND: HandleKind = HandleKind::Jacobian;
}

/// What one item of an index is.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JacIndexKind {
    /// `:`, the whole axis (`start`, `stop`, `step` ignored).
    JacIndexAll = 0,
    /// One position, `start` (negative counts from the end); the axis is
    /// dropped from the result, as in numpy.
    JacIndexInt = 1,
    /// `start:stop:step` with Python semantics: `JAC_SLICE_NONE` for an
    /// omitted bound (or step), negative bounds count from the end,
    /// out-of-range bounds clamp, `step` != 0, negative steps reverse.
    JacIndexSlice = 2,
    /// `...`: as many `:` as the other items leave (at most one).
    JacIndexEllipsis = 3,
}

/// Which sweeps a Jacobian's reads run for what is not cached yet.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::enum_variant_names,
    reason = "cbindgen turns JacModeAuto into the contract's JAC_MODE_AUTO"
)]
pub enum JacMode {
    /// Per read, the direction with fewer sweeps over the uncached rows and
    /// columns it touches (reverse on a tie). The default.
    JacModeAuto = 0,
    /// Rows only, by reverse sweeps (Paddle's way).
    JacModeReverse = 1,
    /// Columns only, by forward sweeps.
    JacModeForward = 2,
}

/// A mode as a C caller may store it: any `int32_t`, so an unknown mode is
/// an error rather than undefined behaviour (the header spells it
/// `JacMode`).
pub type JacModeCode = i32;

/// An index kind as a C caller may store it: any `int32_t`, so an unknown
/// kind is an error rather than undefined behaviour (the header spells it
/// `JacIndexKind`).
pub type JacIndexKindCode = i32;

/// One item of an index such as `J[1, 2:8:2, ...]`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct JacIndex {
    /// One of `JAC_INDEX_ALL`, `JAC_INDEX_INT`, `JAC_INDEX_SLICE`,
    /// `JAC_INDEX_ELLIPSIS`.
    pub kind: JacIndexKindCode,
    /// The position (`JAC_INDEX_INT`) or the first position of a slice.
    pub start: i64,
    /// One past the last position of a slice (exclusive).
    pub stop: i64,
    /// The stride of a slice.
    pub step: i64,
}

/// `JAC_SLICE_NONE`, an omitted bound.
const SLICE_NONE: i64 = i64::MIN;
/// `JAC_BATCH_NONE`, no batch axis.
const BATCH_NONE: i64 = i64::MIN;

fn bound(b: i64) -> Option<i64> {
    (b != SLICE_NONE).then_some(b)
}

fn convert_index(items: &[JacIndex]) -> Result<Vec<Index>, Failure> {
    items
        .iter()
        .enumerate()
        .map(|(k, item)| match item.kind {
            0 => Ok(Index::All),
            1 => Ok(Index::Int(item.start)),
            2 => Ok(Index::Slice {
                start: bound(item.start),
                stop: bound(item.stop),
                step: bound(item.step).unwrap_or(1),
            }),
            3 => Ok(Index::Ellipsis),
            other => Err(Failure::new(
                JacStatus::JacErrIndex,
                format!(
                    "index[{k}].kind: expected JAC_INDEX_ALL (0), JAC_INDEX_INT (1), \
                     JAC_INDEX_SLICE (2) or JAC_INDEX_ELLIPSIS (3), got {other}"
                ),
            )),
        })
        .collect()
}

/// A count of ys or xs must be at least 1; the message names the count
/// (the engine, which sees a list, would name the list).
fn at_least_one(n: usize, arg: &str, what: &str) -> Result<(), Failure> {
    if n == 0 {
        return Err(Failure::new(
            JacStatus::JacErrInvalidArgument,
            format!("{arg}: expected at least one {what}, got 0"),
        ));
    }
    Ok(())
}

pub(crate) fn batch_axis(b: i64) -> Option<i64> {
    (b != BATCH_NONE).then_some(b)
}

/// # Safety
/// `p` is NULL or a live handle (of any type).
unsafe fn jacobian_arg<'a>(p: *const JacJacobian, arg: &str) -> Result<&'a Jacobian, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { handle(p, arg) }
}

/// A lazy Jacobian of the `n_ys` tensors `ys` with respect to the `n_xs`
/// tensors `xs`, with PaddlePaddle's semantics: block `(i, j)` is
/// `d ys[i] / d xs[j]`. Computes nothing.
///
/// `batch_axis` is `JAC_BATCH_NONE` (every y and x 0-D or 1-D; block
/// `[M, N]`, a 0-D side dropped) or 0 (every y and x `[B]` or `[B, n]` with
/// the same B; block `[B, M, N]`, a 1-D side dropped; row m is the gradient
/// of the batch sum of `y[:, m]`, so samples are assumed independent).
/// `*out` receives a handle to free with `jac_jacobian_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` (NULL array, entry or `out`) and
/// `JAC_ERR_INVALID_ARGUMENT` (`n_ys` or `n_xs` 0) before anything else,
/// `JAC_ERR_BATCH_AXIS` (another batch axis, checked before the shapes;
/// batch sizes that differ),
/// `JAC_ERR_SHAPE` (a rank the mode does not accept),
/// `JAC_ERR_NOT_DIFFERENTIABLE` (an x that does not require grad).
///
/// # Safety
/// `ys` is NULL or valid for `n_ys` reads and `xs` for `n_xs` reads, each
/// entry NULL or a live tensor handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_new(
    ys: *const *const JacTensor,
    n_ys: usize,
    xs: *const *const JacTensor,
    n_xs: usize,
    batch_axis: i64,
    out: *mut *mut JacJacobian,
) -> JacStatus {
    call("jac_jacobian_new", || {
        // SAFETY: pointer arguments per this function's contract.
        let ys = unsafe { tensor_list(ys, n_ys, "ys") }?;
        let xs = unsafe { tensor_list(xs, n_xs, "xs") }?;
        let out = unsafe { Out::new(out, "out") }?;
        at_least_one(n_ys, "n_ys", "y")?;
        at_least_one(n_xs, "n_xs", "x")?;
        let jacobian = jac_core::jacobian(&ys, &xs, self::batch_axis(batch_axis))?;
        out.write(into_handle::<JacJacobian>(jacobian));
        Ok(())
    })
}

/// A lazy Hessian of `y` with respect to the `n_xs` tensors `xs`: the
/// Jacobian of the gradient of `y` (built, with `create_graph`, only on the
/// first read), with `n_xs x n_xs` blocks, block `(i, j)` being
/// `d2 y / d xs[i] d xs[j]`. `y` has one element (`JAC_BATCH_NONE`) or one
/// per sample (`[B]` or `[B, 1]` with batch axis 0). `*out` receives a handle
/// to free with `jac_jacobian_free`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` and `JAC_ERR_INVALID_ARGUMENT` (`n_xs`
/// 0) before anything else, `JAC_ERR_SHAPE` (y not of that form, checked
/// before the batch axis and the xs; a rank the mode does not accept),
/// `JAC_ERR_BATCH_AXIS`, `JAC_ERR_NOT_DIFFERENTIABLE`.
///
/// # Safety
/// `y` is NULL or a live handle; `xs` is NULL or valid for `n_xs` reads of
/// NULL or live handles; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_hessian_new(
    y: *const JacTensor,
    xs: *const *const JacTensor,
    n_xs: usize,
    batch_axis: i64,
    out: *mut *mut JacJacobian,
) -> JacStatus {
    call("jac_hessian_new", || {
        // SAFETY: pointer arguments per this function's contract.
        let y = unsafe { tensor_arg(y, "y") }?;
        let xs = unsafe { tensor_list(xs, n_xs, "xs") }?;
        let out = unsafe { Out::new(out, "out") }?;
        at_least_one(n_xs, "n_xs", "x")?;
        let jacobian = jac_core::hessian(y, &xs, self::batch_axis(batch_axis))?;
        out.write(into_handle::<JacJacobian>(jacobian));
        Ok(())
    })
}

/// Writes the grid size: `*n_rows` ys (a Hessian: xs) by `*n_cols` xs.
///
/// Returns `JAC_ERR_NULL_ARGUMENT` for a NULL argument.
///
/// # Safety
/// `jac` is NULL or a live handle; `n_rows` and `n_cols` are NULL or valid for
/// one write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_blocks(
    jac: *const JacJacobian,
    n_rows: *mut usize,
    n_cols: *mut usize,
) -> JacStatus {
    call("jac_jacobian_blocks", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let n_rows = unsafe { Out::new(n_rows, "n_rows") }?;
        let n_cols = unsafe { Out::new(n_cols, "n_cols") }?;
        let (r, c) = jac.blocks();
        n_rows.write(r);
        n_cols.write(c);
        Ok(())
    })
}

/// Writes the shape of block `(i, j)` to `shape_out` (capacity `cap`; at
/// most 3 dims) and its number of dims to `*ndim_out`. Computes nothing.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` (a block outside the
/// grid), `JAC_ERR_INVALID_ARGUMENT` (`cap` too small; nothing written).
///
/// # Safety
/// `jac` is NULL or a live handle; `shape_out` is NULL or valid for `cap`
/// writes; `ndim_out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_block_shape(
    jac: *const JacJacobian,
    i: usize,
    j: usize,
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> JacStatus {
    call("jac_jacobian_block_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let shape = jac.block_shape(i, j)?;
        unsafe { write_shape(&shape, shape_out, cap, ndim_out) }
    })
}

/// Writes the shape that `jac_jacobian_read` returns for the `n_index`
/// items of `index` on block `(i, j)` (numpy semantics: an int drops its
/// axis; `n_index` 0 reads the whole block). Computes nothing.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` (a block outside the
/// grid, too many indices, an int out of range, two ellipses, an unknown
/// kind), `JAC_ERR_INVALID_ARGUMENT` (a slice step of 0, `cap` too small).
///
/// # Safety
/// `jac` is NULL or a live handle; `index` is NULL or valid for `n_index`
/// reads; `shape_out` is NULL or valid for `cap` writes; `ndim_out` is NULL
/// or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_read_shape(
    jac: *const JacJacobian,
    i: usize,
    j: usize,
    index: *const JacIndex,
    n_index: usize,
    shape_out: *mut i64,
    cap: usize,
    ndim_out: *mut usize,
) -> JacStatus {
    call("jac_jacobian_read_shape", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let index = convert_index(unsafe { slice(index, n_index, "index") }?)?;
        let shape = jac.read_shape(i, j, &index)?;
        unsafe { write_shape(&shape, shape_out, cap, ndim_out) }
    })
}

/// Reads block `(i, j)` indexed by the `n_index` items of `index` into
/// `out` (row-major), whose length `out_len` must equal the read's number of
/// elements (see `jac_jacobian_read_shape`). Evaluates only the rows of
/// `ys[i]` that the index touches and that are not cached yet, caching each;
/// a row of `ys[i]` fills every block `(i, *)` at once. Nothing is written on
/// failure.
///
/// A large read splits its rows across threads: at most `JAC_NUM_THREADS`
/// of them, an environment variable read once, at the first large read or
/// matrix product, and clamped to the machine's available parallelism (the
/// cores this process may use); unset, 0 or anything but a positive count
/// means the available parallelism. Small reads stay on the calling thread,
/// and so does the share of a thread the OS refuses to start: the values
/// never depend on the threads.
///
/// Returns the statuses of `jac_jacobian_read_shape`, plus
/// `JAC_ERR_INVALID_ARGUMENT` for a wrong `out_len`.
///
/// # Safety
/// `jac` is NULL or a live handle; `index` is NULL or valid for `n_index`
/// reads; `out` is NULL or valid for `out_len` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_read(
    jac: *const JacJacobian,
    i: usize,
    j: usize,
    index: *const JacIndex,
    n_index: usize,
    out: *mut f64,
    out_len: usize,
) -> JacStatus {
    call("jac_jacobian_read", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let index = convert_index(unsafe { slice(index, n_index, "index") }?)?;
        let read = jac.prepare_read(i, j, &index)?;
        if out_len != read.numel() {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                format!(
                    "out_len: expected {} (the number of elements of the read), got {out_len}",
                    read.numel()
                ),
            ));
        }
        let out = unsafe { slice_mut(out, out_len, "out") }?;
        Ok(jac.read_prepared(&read, out)?)
    })
}

/// Writes how many rows of `ys[i]` (a Hessian: of the gradient of `xs[i]`)
/// have been evaluated so far by reverse sweeps; each row is evaluated at
/// most once. Entries a read took from columns (`jac_jacobian_set_mode`)
/// count in neither this nor `jac_jacobian_columns_evaluated`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` for `i` outside the grid.
///
/// # Safety
/// `jac` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_rows_evaluated(
    jac: *const JacJacobian,
    i: usize,
    out: *mut usize,
) -> JacStatus {
    call("jac_jacobian_rows_evaluated", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(jac.rows_evaluated(i)?);
        Ok(())
    })
}

/// Writes how many columns of `xs[j]` (a Hessian: of `xs[j]` as well) have
/// been evaluated so far by forward sweeps; each column is evaluated at most
/// once. Batched, columns are per-sample columns, like rows. Entries read
/// from rows count here no more than entries read from columns count in
/// `jac_jacobian_rows_evaluated`.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INDEX` for `j` outside the grid.
///
/// # Safety
/// `jac` is NULL or a live handle; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_columns_evaluated(
    jac: *const JacJacobian,
    j: usize,
    out: *mut usize,
) -> JacStatus {
    call("jac_jacobian_columns_evaluated", || {
        // SAFETY: pointer arguments per this function's contract.
        let jac = unsafe { jacobian_arg(jac, "jac") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(jac.columns_evaluated(j)?);
        Ok(())
    })
}

/// Sets which sweeps later reads run for what they touch and is not cached:
/// `JAC_MODE_AUTO` (the default) picks, per read, rows by reverse sweeps or
/// columns by forward sweeps, whichever needs fewer; `JAC_MODE_REVERSE`
/// rows only; `JAC_MODE_FORWARD` columns only. What is cached is read
/// whichever way it was computed, and results do not depend on the mode,
/// except for a batched Jacobian (`batch_axis` 0) of a program whose samples
/// interact, which that mode assumes they do not: there a row sums over the
/// samples of y (Paddle's numbers: use `JAC_MODE_REVERSE`) and a column over
/// the samples of x.
///
/// As `jac_jacobian_set_block_rows`, it changes the Jacobian for every later
/// read from any thread; a read already running may finish with the old
/// mode.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INVALID_ARGUMENT` for a mode
/// that is none of the three.
///
/// # Safety
/// `jac` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_set_mode(
    jac: *mut JacJacobian,
    mode: JacModeCode,
) -> JacStatus {
    call("jac_jacobian_set_mode", || {
        // SAFETY: pointer arguments per this function's contract; the mode
        // is atomic inside the Jacobian (see jac_jacobian_set_block_rows).
        let jac = unsafe { jacobian_arg(jac.cast_const(), "jac") }?;
        let mode = match mode {
            m if m == JacMode::JacModeAuto as i32 => Mode::Auto,
            m if m == JacMode::JacModeReverse as i32 => Mode::Reverse,
            m if m == JacMode::JacModeForward as i32 => Mode::Forward,
            other => {
                return Err(Failure::new(
                    JacStatus::JacErrInvalidArgument,
                    format!(
                        "mode: expected JAC_MODE_AUTO (0), JAC_MODE_REVERSE (1) or \
                         JAC_MODE_FORWARD (2), got {other}"
                    ),
                ));
            }
        };
        jac.set_mode(mode);
        Ok(())
    })
}

/// Sets how many rows one reverse sweep (and columns one forward sweep)
/// evaluates at most (`rows` >= 1): larger blocks turn more matrix-vector
/// products into matrix-matrix ones and use more memory. Results do not
/// depend on it.
///
/// It changes the Jacobian, hence the non-const handle: every later read
/// (from any thread) uses the new size; a read already running may finish
/// with the old one.
///
/// Returns `JAC_ERR_NULL_ARGUMENT`, `JAC_ERR_INVALID_ARGUMENT` for `rows` 0.
///
/// # Safety
/// `jac` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_set_block_rows(
    jac: *mut JacJacobian,
    rows: usize,
) -> JacStatus {
    call("jac_jacobian_set_block_rows", || {
        // SAFETY: pointer arguments per this function's contract. The
        // setting is atomic inside the Jacobian, so a shared reference is
        // enough (other threads may be reading it).
        let jac = unsafe { jacobian_arg(jac.cast_const(), "jac") }?;
        if rows == 0 {
            return Err(Failure::new(
                JacStatus::JacErrInvalidArgument,
                "rows: expected at least 1, got 0",
            ));
        }
        jac.set_block_rows(rows);
        Ok(())
    })
}

/// Frees a Jacobian or Hessian handle; NULL is ignored.
///
/// A live handle of another type (a `JacTensor *`) is not freed: the call
/// does nothing but leave the reason in `jac_last_error()`, since it returns
/// no status.
///
/// # Safety
/// `jac` is NULL or a live handle not used after this call. Freeing a handle
/// twice, or a pointer libjac did not make, is undefined behaviour.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jac_jacobian_free(jac: *mut JacJacobian) {
    // SAFETY: per this function's contract.
    release("jac_jacobian_free", || unsafe { free_handle(jac, "jac") })
}
