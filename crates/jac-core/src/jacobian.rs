//! Lazy Jacobians and Hessians with the semantics of PaddlePaddle's
//! `paddle.autograd.jacobian(ys, xs, batch_axis)` and `hessian`.
//!
//! Creating one computes nothing. Reading a block with an index evaluates
//! what the index touches and is not cached yet, by whichever direction
//! needs fewer sweeps ([`Mode::Auto`]): the uncached rows of y, a block of
//! rows per reverse sweep (stacked cotangents), or the uncached columns of
//! x, a block of columns per forward sweep (stacked tangents). Each row and
//! each column is cached once; an entry is read from whichever of the two
//! holds it, so it is never computed again the other way. A row of `ys[i]`
//! fills every block `(i, j)` at once, a column of `xs[j]` every block
//! `(i, j)` of its x.
//!
//! Shapes, as in Paddle:
//! - `batch_axis = None`: every y and x is 0-D or 1-D; block `(i, j)` is
//!   `[M_i, N_j]`, a 0-D side dropped (`[N]`, `[M]` or `[]`).
//! - `batch_axis = Some(0)`: every y and x is `[B]` or `[B, n]` with the same
//!   `B` (Paddle does not check; libjac refuses a mismatch); block `(i, j)` is
//!   `[B, M_i, N_j]`, a 1-D side dropped. Row `m` is the gradient of the
//!   batch sum of `y[:, m]`, so samples are assumed independent. For a `[B]`
//!   y the block is `[B, N]` (Paddle returns `[B, 1, N]` for `J[:]`; libjac
//!   follows the declared shape).
//!   A column `n` is the tangent of every y along a tangent of x that is 1
//!   at position `n` of every sample (one forward sweep for all samples).
//!   Rows and columns agree when samples are independent, which
//!   `batch_axis = 0` assumes; for a program whose samples interact, a row
//!   sums over the samples of y and a column over the samples of x, so read
//!   it with [`Mode::Reverse`] for Paddle's numbers.
//!
//! Indexing follows numpy exactly; see [`crate::index`] for where that differs
//! from Paddle.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::ArrayD;

use crate::alloc::{checked_numel, reserve, try_filled_vec};
use crate::backward::{grad, sweep_cotangents};
use crate::broadcast::from_vec;
use crate::cache::RowCache;
use crate::cotangent::{Cot, one_hot_rows};
use crate::error::{Error, Result, fmt_shape};
use crate::forward::jvp_stacked;
use crate::index::{AxisSelection, Index, Selection, normalize};
use crate::ops::sum;
use crate::parallel::{run_shares, threads_for};
use crate::tensor::Tensor;

/// One tensor or a tuple of tensors, as Paddle's `ys` and `xs` arguments; a
/// tuple nests the result even when it holds one tensor.
#[derive(Debug, Clone, Copy)]
pub enum Args<'a> {
    /// A single tensor.
    One(&'a Tensor),
    /// A tuple of tensors.
    Tuple(&'a [Tensor]),
}

impl<'a> Args<'a> {
    fn tensors(self) -> (Vec<Tensor>, bool) {
        match self {
            Args::One(t) => (vec![t.clone()], false),
            Args::Tuple(ts) => (ts.to_vec(), true),
        }
    }
}

impl<'a> From<&'a Tensor> for Args<'a> {
    fn from(t: &'a Tensor) -> Self {
        Args::One(t)
    }
}

impl<'a> From<&'a [Tensor]> for Args<'a> {
    fn from(ts: &'a [Tensor]) -> Self {
        Args::Tuple(ts)
    }
}

impl<'a> From<&'a Vec<Tensor>> for Args<'a> {
    fn from(ts: &'a Vec<Tensor>) -> Self {
        Args::Tuple(ts)
    }
}

impl<'a, const N: usize> From<&'a [Tensor; N]> for Args<'a> {
    fn from(ts: &'a [Tensor; N]) -> Self {
        Args::Tuple(ts)
    }
}

/// Paddle's nesting of results: a single object, or a tuple of nested
/// results (outer over ys, inner over xs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nested<T> {
    /// One result.
    Leaf(T),
    /// A tuple of results.
    Tuple(Vec<Nested<T>>),
}

impl<T> Nested<T> {
    /// The leaf, when this is not a tuple.
    pub fn leaf(&self) -> Option<&T> {
        match self {
            Nested::Leaf(t) => Some(t),
            Nested::Tuple(_) => None,
        }
    }

    /// Item `k` of a tuple.
    pub fn item(&self, k: usize) -> Option<&Nested<T>> {
        match self {
            Nested::Tuple(items) => items.get(k),
            Nested::Leaf(_) => None,
        }
    }
}

/// Rows and columns of a Jacobian computed without the caller's graph: a
/// recorded program ([`crate::Function`]) replayed at a point.
pub(crate) trait SweepSource: Send + Sync {
    /// The gradients of output `i` seeded with one-hot rows: for each row
    /// `r` of `rows`, a cotangent that is 1 at `s * per_sample + r` for
    /// every sample `s < samples`; one dense `[k, ..x.shape]` tensor per x.
    fn rows(
        &self,
        i: usize,
        rows: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>>;

    /// The tangents of every output along input `j`'s one-hot columns: for
    /// each column `c` of `columns`, a tangent of input `j` that is 1 at `s *
    /// per_sample + c` for every sample `s < samples` (the other inputs
    /// still); one dense `[k, ..y.shape]` tensor per output.
    fn columns(
        &self,
        j: usize,
        columns: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>>;
}

/// Which sweeps a read runs for what is not cached yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Per read, the direction with fewer sweeps over the uncached rows and
    /// columns it touches (reverse on a tie).
    #[default]
    Auto,
    /// Rows only, by reverse sweeps (Paddle's way).
    Reverse,
    /// Columns only, by forward sweeps.
    Forward,
}

impl Mode {
    fn code(self) -> u8 {
        match self {
            Mode::Auto => 0,
            Mode::Reverse => 1,
            Mode::Forward => 2,
        }
    }

    fn of_code(code: u8) -> Mode {
        match code {
            1 => Mode::Reverse,
            2 => Mode::Forward,
            _ => Mode::Auto,
        }
    }
}

/// Where the ys of a Jacobian come from.
enum Ys {
    /// Given by the caller.
    Given(Vec<Tensor>),
    /// Values only (constants, for the shapes), with rows from `source`.
    Replayed {
        ys: Vec<Tensor>,
        source: Box<dyn SweepSource>,
    },
    /// The gradient of `y` with respect to the xs, built with `create_graph`
    /// on the first read (a Hessian), so creating it computes nothing.
    GradientOf {
        y: Tensor,
        grads: OnceLock<Vec<Tensor>>,
        /// Held while building, so concurrent readers build it once. A build
        /// that fails (out of memory, say) is not kept: the next read tries
        /// again.
        building: Mutex<()>,
    },
}

/// The gradients one sweep produced for a block of `k` rows of one y, one
/// per x: dense `[k, ..x.shape]` values, or sparse rows when every op on the
/// way kept the one-hot seed sparse (an elementwise function has a diagonal
/// Jacobian). Rows point into it, so evaluating a block copies nothing.
struct RowBlock {
    k: usize,
    grads: Vec<Cot>,
}

/// One row of one y: row `t` of a block.
#[derive(Clone)]
struct Row {
    block: Arc<RowBlock>,
    t: usize,
}

impl Row {
    /// The row's `B * N_j` values in block `(i, j)`, densified into
    /// `scratch` when the row is sparse.
    fn values<'a>(&'a self, j: usize, scratch: &'a mut Vec<f64>) -> Result<&'a [f64]> {
        match &self.block.grads[j] {
            Cot::Dense(g) => {
                let data = g
                    .value()
                    .as_slice()
                    .ok_or_else(|| Error::internal("row block is not contiguous"))?;
                let per = data.len() / self.block.k;
                Ok(&data[self.t * per..(self.t + 1) * per])
            }
            Cot::Sparse(s) => {
                scratch.clear();
                scratch.resize(s.row_len(), 0.0);
                s.scatter_row(self.t, scratch);
                Ok(scratch)
            }
        }
    }
}

/// The tangents one forward sweep produced for a block of `k` columns of
/// one x: one dense `[k, ..y.shape]` tensor per y, in standard layout.
struct ColumnBlock {
    k: usize,
    tangents: Vec<Tensor>,
}

/// One column of one x: column `t` of a block.
#[derive(Clone)]
struct Column {
    block: Arc<ColumnBlock>,
    t: usize,
}

impl Column {
    /// The column's `B * M_i` values in block `(i, j)`: sample by sample,
    /// the derivatives of y_i's row entries.
    fn values(&self, i: usize) -> Result<&[f64]> {
        let data = self.block.tangents[i]
            .value()
            .as_slice()
            .ok_or_else(|| Error::internal("column block is not contiguous"))?;
        let per = data.len() / self.block.k.max(1);
        Ok(&data[self.t * per..(self.t + 1) * per])
    }
}

/// The row count and whether the row axis is part of the block shape.
#[derive(Debug, Clone, Copy)]
struct Side {
    len: usize,
    has_axis: bool,
}

/// Rows per sweep, by default: enough to turn a block of rows into
/// matrix-matrix products, few enough that a stacked cotangent stays near
/// 8 MiB whatever the width.
const ROW_BLOCK_ELEMENTS: usize = 1 << 20;
const MAX_BLOCK_ROWS: usize = 1024;

/// A checked, normalised read of one block, from
/// [`Jacobian::prepare_read`]: its shape is known, nothing is evaluated yet.
#[derive(Debug, Clone)]
pub struct Read {
    i: usize,
    j: usize,
    selection: Selection,
}

impl Read {
    /// The shape the read produces.
    pub fn shape(&self) -> Vec<usize> {
        self.selection.shape()
    }

    /// The number of elements the read produces.
    pub fn numel(&self) -> usize {
        self.selection.numel()
    }
}

/// A lazy Jacobian (or Hessian): a grid of blocks `(i, j)`, one per y and x.
///
/// `Send + Sync`: reads from many threads at once are safe, and each row is
/// computed exactly once. The Jacobian holds its ys and xs (and so the whole
/// graph) alive on its own.
///
/// ```
/// use jac_core::{Tensor, add, jacobian, index::Index};
/// // Paddle's example: y = x1 + x2, J = jacobian(y, (x1, x2)).
/// let x1 = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], true)?;
/// let x2 = Tensor::from_vec(vec![4.0, 5.0, 6.0], &[3], true)?;
/// let y = add(&x1, &x2)?;
/// let j = jacobian(&y, &[x1, x2], None)?;
/// assert_eq!(j.rows_evaluated(0)?, 0); // nothing computed yet
/// assert_eq!(j.block_shape(0, 1)?, vec![3, 3]);
/// let row = j.read(0, 1, &[Index::Int(1)])?;
/// assert_eq!(row.as_slice().unwrap(), &[0.0, 1.0, 0.0]);
/// assert_eq!(j.rows_evaluated(0)?, 1); // only the row asked for
/// # Ok::<(), jac_core::Error>(())
/// ```
pub struct Jacobian {
    ys: Ys,
    xs: Vec<Tensor>,
    /// `Some(B)` when batched.
    batch: Option<usize>,
    nest_ys: bool,
    nest_xs: bool,
    rows: Vec<Side>,
    cols: Vec<Side>,
    caches: Vec<RowCache<Row>>,
    /// One per x: its columns, filled by forward sweeps.
    column_caches: Vec<RowCache<Column>>,
    block_rows: AtomicUsize,
    mode: AtomicU8,
}

impl std::fmt::Debug for Jacobian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jacobian")
            .field("blocks", &self.blocks())
            .field("batch", &self.batch)
            .field("hessian", &matches!(self.ys, Ys::GradientOf { .. }))
            .field("replayed", &matches!(self.ys, Ys::Replayed { .. }))
            .finish()
    }
}

/// The lazy Jacobian of `ys` with respect to `xs` (each one tensor or a
/// tuple), with Paddle's `batch_axis` (`None` or `Some(0)`). Computes
/// nothing.
///
/// Errors: `BatchAxis` for another batch axis (checked first, as Paddle
/// does) or for batch sizes that differ, `Shape` for ranks the mode does not
/// accept, `NotDifferentiable` for an x that does not require grad,
/// `InvalidArgument` for an empty tuple.
///
/// ```
/// use jac_core::{Tensor, jacobian, mul, sum, index::Index};
/// // Batched: y[b] = x[b] * x[b] elementwise, J[b] = diag(2 x[b]).
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], true)?;
/// let j = jacobian(&mul(&x, &x)?, &x, Some(0))?;
/// assert_eq!(j.block_shape(0, 0)?, vec![2, 2, 2]);
/// let all = j.read(0, 0, &[])?;
/// assert_eq!(all.as_slice().unwrap(), &[2.0, 0.0, 0.0, 4.0, 6.0, 0.0, 0.0, 8.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn jacobian<'a>(
    ys: impl Into<Args<'a>>,
    xs: impl Into<Args<'a>>,
    batch_axis: Option<i64>,
) -> Result<Jacobian> {
    let batched = check_batch_axis(batch_axis)?;
    let (ys, nest_ys) = ys.into().tensors();
    let (xs, nest_xs) = xs.into().tensors();
    non_empty(&ys, "ys")?;
    let rows = sides(&ys, "ys", batched)?;
    let cols = sides(&xs, "xs", batched)?;
    let batch = check_xs_and_batch(&ys, &xs, batched)?;
    Ok(Jacobian::build(
        Ys::Given(ys),
        xs,
        batch,
        nest_ys,
        nest_xs,
        rows,
        cols,
    ))
}

/// The lazy Hessian of `y` with respect to `xs` (one tensor or a tuple):
/// the Jacobian of `grad(y, xs, create_graph = true)`, whose gradient is built
/// only when the first block is read. Blocks `(i, j)` are `d2y / dx_i dx_j`.
///
/// `y` has one element (`batch_axis = None`) or one per sample (`[B]` or
/// `[B, 1]` with `batch_axis = Some(0)`; samples are assumed independent).
///
/// Errors: `Shape` when y is not of that form (checked first, as Paddle
/// does), then as [`jacobian`].
///
/// ```
/// use jac_core::{Tensor, hessian, mul, sum};
/// // y = sum(x^3): H = diag(6x).
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2], true)?;
/// let y = sum(&mul(&mul(&x, &x)?, &x)?, None, false)?;
/// let h = hessian(&y, &x, None)?;
/// assert_eq!(h.read(0, 0, &[])?.as_slice().unwrap(), &[6.0, 0.0, 0.0, 12.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn hessian<'a>(
    y: &Tensor,
    xs: impl Into<Args<'a>>,
    batch_axis: Option<i64>,
) -> Result<Jacobian> {
    let per_sample = matches!(y.shape(), [_] | [_, 1]);
    match batch_axis {
        None if y.numel() != 1 => {
            return Err(Error::shape(format!(
                "y: a Hessian needs a y with exactly one element, got shape {} ({} elements)",
                fmt_shape(y.shape()),
                y.numel()
            )));
        }
        Some(_) if !per_sample => {
            return Err(Error::shape(format!(
                "y: a batched Hessian needs one value per sample, shape [B] or [B, 1], got {}",
                fmt_shape(y.shape())
            )));
        }
        _ => {}
    }
    let batched = check_batch_axis(batch_axis)?;
    let (xs, nest_xs) = xs.into().tensors();
    let cols = sides(&xs, "xs", batched)?;
    let batch = check_xs_and_batch(std::slice::from_ref(y), &xs, batched)?;
    let ys = Ys::GradientOf {
        y: y.clone(),
        grads: OnceLock::new(),
        building: Mutex::new(()),
    };
    Ok(Jacobian::build(
        ys,
        xs,
        batch,
        nest_xs,
        nest_xs,
        cols.clone(),
        cols,
    ))
}

/// The lazy Jacobian of a recorded program's outputs (their values `ys`)
/// with respect to its inputs (leaves `xs` holding the point), as
/// [`jacobian`] with a tuple of each, whose rows `source` computes.
pub(crate) fn replayed_jacobian(
    ys: Vec<Tensor>,
    xs: Vec<Tensor>,
    batch_axis: Option<i64>,
    source: Box<dyn SweepSource>,
) -> Result<Jacobian> {
    let batched = check_batch_axis(batch_axis)?;
    non_empty(&ys, "ys")?;
    let rows = sides(&ys, "ys", batched)?;
    let cols = sides(&xs, "xs", batched)?;
    let batch = check_xs_and_batch(&ys, &xs, batched)?;
    Ok(Jacobian::build(
        Ys::Replayed { ys, source },
        xs,
        batch,
        true,
        true,
        rows,
        cols,
    ))
}

fn check_batch_axis(batch_axis: Option<i64>) -> Result<bool> {
    match batch_axis {
        None => Ok(false),
        Some(0) => Ok(true),
        Some(a) => Err(Error::batch_axis(format!(
            "batch_axis: expected None or 0, got {a}"
        ))),
    }
}

fn non_empty(ts: &[Tensor], arg: &str) -> Result<()> {
    if ts.is_empty() {
        return Err(Error::invalid(format!(
            "{arg}: expected at least one tensor, got an empty tuple"
        )));
    }
    Ok(())
}

/// Checks the xs (non-empty, differentiable) and, when batched, that every
/// y and x has the batch size of `ys[0]`; returns that batch size.
fn check_xs_and_batch(ys: &[Tensor], xs: &[Tensor], batched: bool) -> Result<Option<usize>> {
    non_empty(xs, "xs")?;
    for (j, x) in xs.iter().enumerate() {
        if !x.requires_grad() {
            return Err(Error::not_differentiable(format!(
                "xs[{j}]: expected a tensor that requires grad, got a constant of shape {}",
                fmt_shape(x.shape())
            )));
        }
    }
    if !batched {
        return Ok(None);
    }
    let b = ys[0].shape().first().copied().unwrap_or(0);
    let all = ys.iter().map(|t| ("ys", t)).enumerate();
    let all = all.chain(xs.iter().map(|t| ("xs", t)).enumerate());
    for (k, (arg, t)) in all {
        let bt = t.shape().first().copied().unwrap_or(0);
        if bt != b {
            return Err(Error::batch_axis(format!(
                "{arg}[{k}]: batch size {bt} (shape {}) differs from ys[0]'s batch size {b}",
                fmt_shape(t.shape())
            )));
        }
    }
    Ok(Some(b))
}

/// The row (or column) side of each y (or x), checking its rank.
fn sides(ts: &[Tensor], arg: &str, batched: bool) -> Result<Vec<Side>> {
    ts.iter()
        .enumerate()
        .map(|(k, t)| {
            let (lo, hi) = if batched { (1, 2) } else { (0, 1) };
            if t.ndim() < lo || t.ndim() > hi {
                let mode = if batched {
                    "batch_axis = 0"
                } else {
                    "batch_axis = None"
                };
                return Err(Error::shape(format!(
                    "{arg}[{k}]: expected a {lo}-D or {hi}-D tensor with {mode}, got shape {}",
                    fmt_shape(t.shape())
                )));
            }
            let has_axis = t.ndim() == hi;
            Ok(Side {
                len: if has_axis { t.shape()[hi - 1] } else { 1 },
                has_axis,
            })
        })
        .collect()
}

impl Jacobian {
    fn build(
        ys: Ys,
        xs: Vec<Tensor>,
        batch: Option<usize>,
        nest_ys: bool,
        nest_xs: bool,
        rows: Vec<Side>,
        cols: Vec<Side>,
    ) -> Jacobian {
        let caches = rows.iter().map(|s| RowCache::new(s.len)).collect();
        let column_caches = cols.iter().map(|s| RowCache::new(s.len)).collect();
        let b = batch.unwrap_or(1).max(1);
        let widest = rows
            .iter()
            .chain(&cols)
            .map(|s| s.len.saturating_mul(b))
            .max()
            .unwrap_or(1)
            .max(1);
        let block_rows = (ROW_BLOCK_ELEMENTS / widest).clamp(1, MAX_BLOCK_ROWS);
        Jacobian {
            ys,
            xs,
            batch,
            nest_ys,
            nest_xs,
            rows,
            cols,
            caches,
            column_caches,
            block_rows: AtomicUsize::new(block_rows),
            mode: AtomicU8::new(Mode::Auto.code()),
        }
    }

    /// The grid: (number of ys, number of xs). A Hessian is square.
    pub fn blocks(&self) -> (usize, usize) {
        (self.rows.len(), self.cols.len())
    }

    /// Whether this is batched (`batch_axis = 0`).
    pub fn is_batched(&self) -> bool {
        self.batch.is_some()
    }

    /// Paddle's nesting of the blocks: a single `(0, 0)`, a tuple over the
    /// tuple argument, or a tuple (over ys) of tuples (over xs).
    pub fn structure(&self) -> Nested<(usize, usize)> {
        let (n, m) = self.blocks();
        let row = |i: usize| {
            if self.nest_xs {
                Nested::Tuple((0..m).map(|j| Nested::Leaf((i, j))).collect())
            } else {
                Nested::Leaf((i, 0))
            }
        };
        if self.nest_ys {
            Nested::Tuple((0..n).map(row).collect())
        } else {
            row(0)
        }
    }

    /// Sets how many rows one reverse sweep evaluates at most (at least 1):
    /// larger blocks mean fewer, larger products and more memory.
    pub fn set_block_rows(&self, rows: usize) {
        self.block_rows.store(rows.max(1), Ordering::Relaxed);
    }

    /// How many rows one reverse sweep (or columns one forward sweep)
    /// evaluates at most.
    pub fn block_rows(&self) -> usize {
        self.block_rows.load(Ordering::Relaxed)
    }

    /// Sets which sweeps later reads run for what is not cached (what is
    /// cached is read whichever way it was computed).
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode.code(), Ordering::Relaxed);
    }

    /// Which sweeps reads run.
    pub fn mode(&self) -> Mode {
        Mode::of_code(self.mode.load(Ordering::Relaxed))
    }

    fn check_block(&self, i: usize, j: usize) -> Result<()> {
        let (n, m) = self.blocks();
        if i >= n || j >= m {
            return Err(Error::index(format!(
                "block ({i}, {j}): expected i < {n} and j < {m}"
            )));
        }
        Ok(())
    }

    /// The shape of block `(i, j)`.
    ///
    /// Errors: `Index` for a block outside the grid.
    pub fn block_shape(&self, i: usize, j: usize) -> Result<Vec<usize>> {
        self.check_block(i, j)?;
        let mut shape = Vec::with_capacity(3);
        shape.extend(self.batch);
        let (r, c) = (self.rows[i], self.cols[j]);
        if r.has_axis {
            shape.push(r.len);
        }
        if c.has_axis {
            shape.push(c.len);
        }
        Ok(shape)
    }

    /// How many rows of `ys[i]` have been evaluated by reverse sweeps (each
    /// at most once; entries read from columns count in neither).
    ///
    /// Errors: `Index` for `i` outside the ys.
    pub fn rows_evaluated(&self, i: usize) -> Result<usize> {
        self.caches.get(i).map(RowCache::evaluated).ok_or_else(|| {
            Error::index(format!(
                "i: expected a y index below {}, got {i}",
                self.rows.len()
            ))
        })
    }

    /// How many columns of `xs[j]` have been evaluated by forward sweeps
    /// (each at most once; batched: per-sample columns, like rows).
    ///
    /// Errors: `Index` for `j` outside the xs.
    pub fn columns_evaluated(&self, j: usize) -> Result<usize> {
        self.column_caches
            .get(j)
            .map(RowCache::evaluated)
            .ok_or_else(|| {
                Error::index(format!(
                    "j: expected an x index below {}, got {j}",
                    self.cols.len()
                ))
            })
    }

    /// Normalises `index` for block `(i, j)`.
    fn select(&self, i: usize, j: usize, index: &[Index]) -> Result<Selection> {
        let shape = self.block_shape(i, j)?;
        normalize(index, &shape)
    }

    /// The shape that [`Jacobian::read`] returns for `index`, computing
    /// nothing.
    pub fn read_shape(&self, i: usize, j: usize, index: &[Index]) -> Result<Vec<usize>> {
        Ok(self.select(i, j, index)?.shape())
    }

    /// Block `(i, j)` indexed with numpy semantics (an empty `index` reads
    /// the whole block), evaluating only uncached rows the index touches.
    ///
    /// Errors: `Index` for a block outside the grid or a bad index,
    /// `InvalidArgument` for a slice step of 0; evaluation errors as
    /// [`crate::grad`].
    pub fn read(&self, i: usize, j: usize, index: &[Index]) -> Result<ArrayD<f64>> {
        let sel = self.select(i, j, index)?;
        let shape = sel.shape();
        let mut out = try_filled_vec(checked_numel(&shape, "read")?, 0.0, "read")?;
        self.gather(i, j, &sel, &mut out, true)?;
        from_vec(&shape, out)
    }

    /// As [`Jacobian::read`], writing row-major into `out`, whose length
    /// must equal the read's number of elements. Nothing is written on error.
    pub fn read_into(&self, i: usize, j: usize, index: &[Index], out: &mut [f64]) -> Result<()> {
        let read = self.prepare_read(i, j, index)?;
        self.read_prepared(&read, out)
    }

    /// Checks and normalises a read of block `(i, j)` without evaluating
    /// anything, so its shape can size a buffer before [`Jacobian::read_prepared`]
    /// fills it (one normalisation for both).
    ///
    /// Errors: as [`Jacobian::read_shape`].
    pub fn prepare_read(&self, i: usize, j: usize, index: &[Index]) -> Result<Read> {
        Ok(Read {
            i,
            j,
            selection: self.select(i, j, index)?,
        })
    }

    /// Performs a prepared read into `out`, whose length must equal
    /// [`Read::numel`]. Nothing is written on error.
    pub fn read_prepared(&self, read: &Read, out: &mut [f64]) -> Result<()> {
        let sel = &read.selection;
        if out.len() != sel.numel() {
            return Err(Error::invalid(format!(
                "out_len: expected {} (the number of elements of the read, shape {}), got {}",
                sel.numel(),
                fmt_shape(&sel.shape()),
                out.len()
            )));
        }
        self.gather(read.i, read.j, sel, out, false)
    }

    /// Ensures the rows `sel` touches, then copies the selection into `out`.
    /// When `out` is known to hold zeros (`zeroed`), sparse rows only write
    /// their entries: a diagonal Jacobian then touches one element per row,
    /// as a dense copy would not.
    fn gather(
        &self,
        i: usize,
        j: usize,
        sel: &Selection,
        out: &mut [f64],
        zeroed: bool,
    ) -> Result<()> {
        let mut axes = sel.axes().iter();
        let full = |len| AxisSelection::Range {
            start: 0,
            step: 1,
            len,
        };
        let one = AxisSelection::Position(0);
        let b_sel = match self.batch {
            Some(_) => *axes.next().unwrap_or(&one),
            None => one,
        };
        let m_sel = if self.rows[i].has_axis {
            *axes.next().unwrap_or(&full(self.rows[i].len))
        } else {
            one
        };
        let n_sel = if self.cols[j].has_axis {
            *axes.next().unwrap_or(&full(self.cols[j].len))
        } else {
            one
        };
        if out.is_empty() {
            return Ok(());
        }
        self.ensure_entries(i, j, &m_sel, &n_sel)?;

        let width = self.cols[j].len;
        let height = self.rows[i].len;
        let cache = &self.caches[i];
        let columns = &self.column_caches[j];
        let (n_m, n_n) = (m_sel.len(), n_sel.len());
        let contiguous = match n_sel {
            AxisSelection::Range {
                start,
                step: 1,
                len,
                ..
            } => Some((start, len)),
            AxisSelection::Position(p) => Some((p, 1)),
            AxisSelection::Range { .. } => None,
        };
        let mut scratch = Vec::new();
        // Entries of rows that are not cached are in columns: column by
        // column, each looked up once.
        let uncached: Vec<(usize, usize)> = m_sel
            .positions()
            .enumerate()
            .filter(|&(_, m)| cache.get(m).is_none())
            .collect();
        if !uncached.is_empty() {
            for (ni, n) in n_sel.positions().enumerate() {
                let column = columns.get(n).ok_or_else(|| {
                    Error::internal(format!(
                        "entries of column {n} of block ({i}, {j}) are in no evaluated row or column"
                    ))
                })?;
                let values = column.values(i)?;
                for (bi, b) in b_sel.positions().enumerate() {
                    let from = &values[b * height..(b + 1) * height];
                    for &(mi, m) in &uncached {
                        out[(bi * n_m + mi) * n_n + ni] = from[m];
                    }
                }
            }
        }
        // Row by row (a sparse row is densified once), each sample's stretch
        // to its place in the row-major (b, m, n) result.
        for (mi, m) in m_sel.positions().enumerate() {
            let Some(row) = cache.get(m) else {
                continue;
            };
            if zeroed && let Cot::Sparse(s) = &row.block.grads[j] {
                for (pos, v) in s.row(row.t) {
                    let (b, n) = (pos / width.max(1), pos % width.max(1));
                    if let (Some(bi), Some(ni)) = (b_sel.index_of(b), n_sel.index_of(n)) {
                        out[(bi * n_m + mi) * n_n + ni] += v;
                    }
                }
                continue;
            }
            let data = row.values(j, &mut scratch)?;
            for (bi, b) in b_sel.positions().enumerate() {
                let values = &data[b * width..(b + 1) * width];
                let base = (bi * n_m + mi) * n_n;
                let dest = &mut out[base..base + n_n];
                match contiguous {
                    Some((start, len)) => dest.copy_from_slice(&values[start..start + len]),
                    None => dest
                        .iter_mut()
                        .zip(n_sel.positions())
                        .for_each(|(o, n)| *o = values[n]),
                }
            }
        }
        Ok(())
    }

    /// The ys, building a Hessian's gradient on first use.
    fn ys(&self) -> Result<&[Tensor]> {
        match &self.ys {
            Ys::Given(ys) | Ys::Replayed { ys, .. } => Ok(ys),
            Ys::GradientOf { y, grads, building } => {
                if let Some(built) = grads.get() {
                    return Ok(built);
                }
                let _building = building.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(built) = grads.get() {
                    return Ok(built);
                }
                let total = sum(y, None, false)?;
                let built = grad(&[total], &self.xs, None, true)?;
                Ok(grads.get_or_init(|| built))
            }
        }
    }

    /// Makes every entry `(m, n)` of block `(i, j)` in `m_sel` x `n_sel`
    /// cached as part of a row or a column: the entries in neither are
    /// those of the uncached rows and uncached columns, covered by
    /// evaluating either all those rows or all those columns, whichever the
    /// mode picks.
    fn ensure_entries(
        &self,
        i: usize,
        j: usize,
        m_sel: &AxisSelection,
        n_sel: &AxisSelection,
    ) -> Result<()> {
        let missing = |positions: &mut dyn Iterator<Item = usize>,
                       cached: &dyn Fn(usize) -> bool| {
            let mut v: Vec<usize> = positions.filter(|&p| !cached(p)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let rows = missing(&mut m_sel.positions(), &|m| self.caches[i].get(m).is_some());
        if rows.is_empty() {
            return Ok(());
        }
        let columns = missing(&mut n_sel.positions(), &|n| {
            self.column_caches[j].get(n).is_some()
        });
        if columns.is_empty() {
            return Ok(());
        }
        let forward = match self.mode() {
            Mode::Reverse => false,
            Mode::Forward => true,
            Mode::Auto => columns.len() < rows.len(),
        };
        if forward {
            self.ensure_columns(j, &columns)
        } else {
            self.ensure_rows(i, &rows)
        }
    }

    /// Evaluates the uncached columns of `wanted` (sorted, distinct) of
    /// `xs[j]`, one forward sweep per block of columns.
    fn ensure_columns(&self, j: usize, wanted: &[usize]) -> Result<()> {
        self.column_caches[j].ensure(wanted, |columns| {
            let ys = self.ys()?;
            let work = ys.iter().fold(0usize, |w, y| w.saturating_add(y.0.work));
            let threads = threads_for(columns.len(), work.saturating_mul(columns.len()));
            if threads <= 1 {
                return self.evaluate_column_blocks(j, columns);
            }
            let share = columns.len().div_ceil(threads);
            let parts = run_shares(columns.chunks(share), |part| {
                self.evaluate_column_blocks(j, part)
            });
            let mut out = Vec::with_capacity(columns.len());
            for part in parts {
                out.extend(part?);
            }
            Ok(out)
        })
    }

    /// Evaluates `columns` (sorted) of `xs[j]`, a block per forward sweep.
    fn evaluate_column_blocks(&self, j: usize, columns: &[usize]) -> Result<Vec<Column>> {
        let mut out = Vec::with_capacity(columns.len());
        for chunk in columns.chunks(self.block_rows()) {
            out.extend(self.evaluate_columns(j, chunk)?);
        }
        Ok(out)
    }

    /// One forward sweep for the columns `columns` of `xs[j]`: stacked
    /// one-hot tangents (1 at the column of every sample when batched).
    fn evaluate_columns(&self, j: usize, columns: &[usize]) -> Result<Vec<Column>> {
        let k = columns.len();
        let x = &self.xs[j];
        let per_sample = self.cols[j].len;
        let samples = x.numel() / per_sample.max(1);
        let tangents = if let Ys::Replayed { source, .. } = &self.ys {
            source.columns(j, columns, samples, per_sample)?
        } else {
            let seed = one_hot_columns(columns, x.shape(), samples, per_sample)?;
            jvp_stacked(self.ys()?, std::slice::from_ref(x), &[seed], false)?
        };
        let tangents = tangents
            .into_iter()
            .map(|t| {
                if t.value().is_standard_layout() {
                    return Ok(t);
                }
                reserve(t.numel(), t.shape(), "read: columns")?;
                Ok(Tensor::constant(
                    t.value().as_standard_layout().into_owned(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let block = Arc::new(ColumnBlock { k, tangents });
        Ok((0..k)
            .map(|t| Column {
                block: Arc::clone(&block),
                t,
            })
            .collect())
    }

    /// Evaluates the uncached rows of `wanted` (sorted, distinct) of
    /// `ys[i]`, one sweep per block of rows.
    fn ensure_rows(&self, i: usize, wanted: &[usize]) -> Result<()> {
        self.caches[i].ensure(wanted, |rows| {
            let y = &self.ys()?[i];
            let side = self.rows[i];
            let threads = threads_for(rows.len(), y.0.work.saturating_mul(rows.len()));
            if threads <= 1 {
                return self.evaluate_blocks(i, y, side, rows);
            }
            // Contiguous shares of the rows, one per thread; this thread
            // takes the first (and any whose thread the OS refused).
            let share = rows.len().div_ceil(threads);
            let parts = run_shares(rows.chunks(share), |part| {
                self.evaluate_blocks(i, y, side, part)
            });
            let mut out = Vec::with_capacity(rows.len());
            for part in parts {
                out.extend(part?);
            }
            Ok(out)
        })
    }

    /// Evaluates `rows` (sorted) of `y`, a block of rows per sweep.
    fn evaluate_blocks(
        &self,
        i: usize,
        y: &Tensor,
        side: Side,
        rows: &[usize],
    ) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(self.block_rows()) {
            out.extend(self.evaluate(i, y, side, chunk)?);
        }
        Ok(out)
    }

    /// One sweep for the rows `rows` of `y` (whose row side is `side`):
    /// stacked one-hot cotangents, carried sparse (for every sample at once
    /// when batched).
    fn evaluate(&self, i: usize, y: &Tensor, side: Side, rows: &[usize]) -> Result<Vec<Row>> {
        let k = rows.len();
        // y is [M] or [] unbatched, [B, M] or [B] batched: row m is every
        // position whose last index (or only position) is m, one per sample.
        let per_sample = side.len;
        let samples = y.numel() / per_sample.max(1);
        if let Ys::Replayed { source, .. } = &self.ys {
            let grads = source.rows(i, rows, samples, per_sample)?;
            let block = Arc::new(RowBlock {
                k,
                grads: grads.into_iter().map(Cot::Dense).collect(),
            });
            return Ok((0..k)
                .map(|t| Row {
                    block: Arc::clone(&block),
                    t,
                })
                .collect());
        }
        let seed = one_hot_rows(rows, y.shape(), samples, per_sample)?;
        let grads = sweep_cotangents(
            std::slice::from_ref(y),
            &self.xs,
            vec![Cot::Sparse(seed)],
            &[k],
            false,
        )?;
        let grads = grads
            .into_iter()
            .map(|g| match g {
                Cot::Dense(t) if !t.value().is_standard_layout() => {
                    reserve(t.numel(), t.shape(), "read: rows")?;
                    Ok(Cot::Dense(Tensor::constant(
                        t.value().as_standard_layout().into_owned(),
                    )))
                }
                other => Ok(other),
            })
            .collect::<Result<_>>()?;
        let block = Arc::new(RowBlock { k, grads });
        Ok((0..k)
            .map(|t| Row {
                block: Arc::clone(&block),
                t,
            })
            .collect())
    }
}

/// `[k, ..shape]` one-hot tangents of a tensor of `shape` holding `samples`
/// samples of `per_sample` values: tangent `t` is 1 at `s * per_sample +
/// columns[t]` for every sample `s`.
pub(crate) fn one_hot_columns(
    columns: &[usize],
    shape: &[usize],
    samples: usize,
    per_sample: usize,
) -> Result<Tensor> {
    let numel = samples.saturating_mul(per_sample);
    let total = numel
        .checked_mul(columns.len())
        .ok_or_else(|| Error::out_of_memory("read: columns: more tangents than memory holds"))?;
    let mut data = try_filled_vec(total, 0.0, "read: columns")?;
    for (t, &c) in columns.iter().enumerate() {
        for s in 0..samples {
            data[t * numel + s * per_sample + c] = 1.0;
        }
    }
    let mut stacked = Vec::with_capacity(shape.len() + 1);
    stacked.push(columns.len());
    stacked.extend_from_slice(shape);
    Tensor::from_vec(data, &stacked, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::fault;
    use crate::error::ErrorKind;
    use crate::ops::mul;

    /// A refused allocation while a Hessian builds its gradient is an error
    /// of that read only: once memory is there again, a read succeeds.
    #[test]
    fn a_failed_gradient_build_is_retried_by_the_next_read() {
        let x = Tensor::from_vec(vec![1.0, 2.0], &[2], true).unwrap();
        let y = sum(&mul(&mul(&x, &x).unwrap(), &x).unwrap(), None, false).unwrap();
        let h = hessian(&y, &x, None).unwrap();
        let read = h.prepare_read(0, 0, &[]).unwrap();
        let mut out = [0.0; 4];
        fault::refuse_after(Some(0));
        let err = h.read_prepared(&read, &mut out).unwrap_err();
        fault::refuse_after(None);
        assert_eq!(err.kind(), ErrorKind::OutOfMemory, "{err}");
        assert_eq!(out, [0.0; 4], "nothing written on failure");
        let Ys::GradientOf { grads, .. } = &h.ys else {
            panic!("a Hessian's ys are a gradient")
        };
        assert!(grads.get().is_none(), "the failure was not kept");
        h.read_prepared(&read, &mut out).unwrap();
        assert_eq!(out, [6.0, 0.0, 0.0, 12.0]);
        assert_eq!(h.rows_evaluated(0).unwrap(), 2);
    }
}
