//! Ops that move whole rows along one axis: gather (numpy's `take` with a
//! list of indices), its adjoint scatter_add, and the inclusive cumulative
//! sum, which is the same walk over rows with a running sum.
//!
//! In row-major order an operand of these ops is `outer` blocks of `len`
//! rows along the axis, each row `inner` contiguous values: every kernel
//! here copies or adds whole rows, never element by element through an
//! index iterator, and the VJPs add into the rows an index touches only.
//! (Cumsum is here rather than with the reductions because it keeps its
//! operand's shape and walks the same rows as a gather.)

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use super::{Flat, JvpContext, Op, VjpContext, apply, normalize_axis, one};
use crate::alloc::check_alloc;
use crate::broadcast::from_vec;
use crate::cotangent::{Cot, Sparse};
use crate::error::{Error, Result, fmt_shape};
use crate::tensor::Tensor;

/// The positions `idx` (each below `len`) along `axis` of an operand whose
/// rows hold `inner` values (0 when the operand is empty): which row of
/// the longer side (a gather's input, a scatter's output) each row of the
/// shorter side is.
#[derive(Debug, Clone)]
struct Rows {
    axis: usize,
    idx: Arc<[usize]>,
    len: usize,
    inner: usize,
}

impl Rows {
    /// The rows of `idx` along `axis` of an operand of `shape`, whose length
    /// along the axis is `len` (the longer side's).
    fn new(shape: &[usize], axis: usize, idx: Arc<[usize]>, len: usize) -> Rows {
        Rows {
            axis,
            idx,
            len,
            inner: inner(shape, axis),
        }
    }

    /// The same positions, on operands with `lead` more leading axes.
    fn shifted(&self, lead: usize) -> Rows {
        Rows {
            axis: self.axis + lead,
            ..self.clone()
        }
    }

    /// `shape` with the axis replaced by `n`.
    fn with_len(&self, shape: &[usize], n: usize) -> Vec<usize> {
        let mut out = shape.to_vec();
        out[self.axis] = n;
        out
    }

    /// `f(short row, long row)` for every index and block, as ranges of
    /// flat positions, on a shorter side of `short_len` values.
    fn for_each_row(&self, short_len: usize, mut f: impl FnMut(usize, usize)) {
        let (inner, n) = (self.inner, self.idx.len());
        // Empty: nothing moves, and the other dims may be far longer than
        // memory.
        if short_len == 0 || inner == 0 || n == 0 {
            return;
        }
        let (short_block, long_block) = (n * inner, self.len * inner);
        for b in 0..short_len / short_block {
            for (j, &p) in self.idx.iter().enumerate() {
                f(b * short_block + j * inner, b * long_block + p * inner);
            }
        }
    }

    /// Copies the indexed rows of `long` into `short`.
    fn take(&self, long: &[f64], short: &mut [f64]) {
        let inner = self.inner;
        self.for_each_row(short.len(), |s, l| {
            if let (Some(dst), Some(src)) = (short.get_mut(s..s + inner), long.get(l..l + inner)) {
                dst.copy_from_slice(src);
            }
        });
    }

    /// Adds the rows of `short` into the indexed rows of `long` (repeated
    /// indices add up).
    fn put_add(&self, short: &[f64], long: &mut [f64]) {
        let inner = self.inner;
        self.for_each_row(short.len(), |s, l| {
            if let (Some(src), Some(dst)) = (short.get(s..s + inner), long.get_mut(l..l + inner)) {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            }
        });
    }

    /// Adds the indexed rows of `long` into `short`.
    fn take_add(&self, long: &[f64], short: &mut [f64]) {
        let inner = self.inner;
        self.for_each_row(short.len(), |s, l| {
            if let (Some(dst), Some(src)) = (short.get_mut(s..s + inner), long.get(l..l + inner)) {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            }
        });
    }

    fn attributes(&self) -> Vec<u64> {
        [self.axis, self.len, self.inner]
            .into_iter()
            .chain(self.idx.iter().copied())
            .map(|v| v as u64)
            .collect()
    }
}

/// The number of values after `axis` of `shape` (0 for an empty shape,
/// whose other dims may overflow).
fn inner(shape: &[usize], axis: usize) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    shape[axis + 1..].iter().product()
}

/// A row-major slice of `a`: `a` itself when it is contiguous, else a copy
/// (operands of a graph rule may be strided views).
fn contiguous<'a>(a: &'a ArrayViewD<'_, f64>) -> std::borrow::Cow<'a, [f64]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    }
}

/// An array of `shape` from `fill` of a buffer of its length: zeros, or
/// (`overwritten`, for a fill that writes every value) whatever a recycled
/// buffer held.
fn build(
    shape: &[usize],
    op: &str,
    overwritten: bool,
    fill: impl FnOnce(&mut [f64]),
) -> Result<ArrayD<f64>> {
    let len = crate::alloc::checked_numel(shape, op)?;
    let mut data = if overwritten {
        crate::pool::scratch(len)?
    } else {
        crate::pool::zeros(len)?
    };
    fill(&mut data);
    from_vec(shape, data)
}

/// Adds into `acc` (a view of an operand's cotangent, or of a planned
/// buffer) through a row-major slice of it.
fn add_into(acc: &mut ArrayViewMutD<'_, f64>, f: impl FnOnce(&mut [f64])) -> Result<()> {
    match acc.as_slice_mut() {
        Some(s) => f(s),
        None => {
            let mut s: Vec<f64> = acc.iter().copied().collect();
            f(&mut s);
            acc.iter_mut().zip(s).for_each(|(a, v)| *a = v);
        }
    }
    Ok(())
}

/// Writes `out` (a planned buffer) through a row-major slice of it.
fn write_into(out: &mut ArrayViewMutD<'_, f64>, f: impl FnOnce(&mut [f64])) -> Result<()> {
    out.fill(0.0);
    add_into(out, f)
}

/// `a`'s rows at `at`'s positions: the output has `a`'s shape with the
/// axis of length `idx.len()`.
#[derive(Debug)]
pub(crate) struct Gather {
    at: Rows,
}

impl Op for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(self.at.attributes())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let shape = self.at.with_len(a.shape(), self.at.idx.len());
        let a = contiguous(a);
        build(&shape, "gather", true, |out| self.at.take(&a, out))
    }

    /// The cotangent's rows added into the rows they came from: a
    /// scatter-add into the input's shape (stacked axes first).
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(scatter_rows(g, &self.at.shifted(cx.lead))?)
    }

    /// The same rows of the tangent (gather is linear).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        gather_rows(&cx.tangent_or_zeros(0, &t[0])?, &self.at.shifted(cx.lead()))
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let a = contiguous(x.first()?);
        Some(write_into(out, |out| self.at.take(&a, out)))
    }

    fn vjp_into(
        &self,
        _i: usize,
        _x: &[ArrayViewD<'_, f64>],
        _y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let g = contiguous(g);
        Some(add_into(acc, |acc| self.at.put_add(&g, acc)))
    }

    /// A sparse cotangent stays sparse: each entry moves to the input
    /// position its row was taken from (a Jacobian row of a gathered
    /// residual touches a few rows of the input).
    fn vjp_sparse(&self, cx: &VjpContext<'_>, g: &Sparse) -> Option<Result<Vec<Option<Cot>>>> {
        let at = &self.at;
        let (inner, n) = (at.inner, at.idx.len());
        if inner == 0 || n == 0 {
            return None;
        }
        let (short_block, long_block) = (n * inner, at.len * inner);
        let moved: Arc<[usize]> = g
            .positions
            .iter()
            .map(|&p| {
                let (b, rest) = (p / short_block, p % short_block);
                let (j, r) = (rest / inner, rest % inner);
                b * long_block + at.idx[j] * inner + r
            })
            .collect();
        let sparse = Sparse {
            shape: IxDyn(cx.input(0).shape()),
            positions: moved,
            ..g.clone()
        };
        Some(Ok(vec![Some(Cot::Sparse(sparse))]))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

/// A recorded program runs a gather on its planned buffers: a copy of
/// each indexed row, and a VJP that adds into those rows only.
impl Flat for Gather {
    fn linear(&self) -> bool {
        true
    }

    fn applies(&self, _inputs: &mut dyn Iterator<Item = &[usize]>, _output: &[usize]) -> bool {
        true
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        if let [x] = x {
            self.at.take(x, out);
        }
    }

    fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        self.at.put_add(g, acc);
    }
}

/// Zeros of length `at.len` along the axis with `a`'s rows added at
/// `at`'s positions.
#[derive(Debug)]
pub(crate) struct ScatterAdd {
    at: Rows,
}

impl Op for ScatterAdd {
    fn name(&self) -> &'static str {
        "scatter_add"
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(self.at.attributes())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let shape = self.at.with_len(a.shape(), self.at.len);
        let a = contiguous(a);
        build(&shape, "scatter_add", false, |out| self.at.put_add(&a, out))
    }

    /// Each row of the input reads the row it was added into: a gather of
    /// the cotangent.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(gather_rows(g, &self.at.shifted(cx.lead))?)
    }

    /// The tangent scattered the same way (scatter_add is linear).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        scatter_rows(&cx.tangent_or_zeros(0, &t[0])?, &self.at.shifted(cx.lead()))
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let a = contiguous(x.first()?);
        Some(write_into(out, |out| self.at.put_add(&a, out)))
    }

    fn vjp_into(
        &self,
        _i: usize,
        _x: &[ArrayViewD<'_, f64>],
        _y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let g = contiguous(g);
        Some(add_into(acc, |acc| self.at.take_add(&g, acc)))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

/// A recorded program runs a scatter-add on its planned buffers: zeros,
/// then each row added in; its VJP adds the indexed rows of the cotangent.
impl Flat for ScatterAdd {
    fn linear(&self) -> bool {
        true
    }

    fn applies(&self, _inputs: &mut dyn Iterator<Item = &[usize]>, _output: &[usize]) -> bool {
        true
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        out.fill(0.0);
        if let [x] = x {
            self.at.put_add(x, out);
        }
    }

    fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        self.at.take_add(g, acc);
    }
}

/// Checks `idx` against an axis of length `len` and resolves negative
/// entries, into a fallibly allocated list.
fn resolve(idx: &[i64], len: usize, op: &str, of: &str) -> Result<Arc<[usize]>> {
    let mut out = Vec::new();
    out.try_reserve_exact(idx.len()).map_err(|_| {
        Error::out_of_memory(format!("{op}: idx: {} indices were refused", idx.len()))
    })?;
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    for (k, &i) in idx.iter().enumerate() {
        if !(-n..n).contains(&i) {
            return Err(Error::index(format!(
                "{op}: idx[{k}]: expected an index in [{}, {n}) for {of}, got {i}",
                -n
            )));
        }
        out.push(if i < 0 { (i + n) as usize } else { i as usize });
    }
    Ok(out.into())
}

/// The rows of `a` at `at`'s positions (checked), as a new node.
fn gather_rows(a: &Tensor, at: &Rows) -> Result<Tensor> {
    let at = Rows::new(a.shape(), at.axis, at.idx.clone(), at.len);
    check_alloc(&at.with_len(a.shape(), at.idx.len()), "gather")?;
    apply(Gather { at }, vec![a.clone()])
}

/// `a`'s rows added at `at`'s positions into zeros of length `at.len`, as
/// a new node.
fn scatter_rows(a: &Tensor, at: &Rows) -> Result<Tensor> {
    let at = Rows::new(a.shape(), at.axis, at.idx.clone(), at.len);
    check_alloc(&at.with_len(a.shape(), at.len), "scatter_add")?;
    apply(ScatterAdd { at }, vec![a.clone()])
}

/// The entries of `a` at positions `idx` along `axis`: numpy's
/// `take(a, idx, axis)` for a list of indices. The output has `a`'s shape
/// with that axis of length `idx.len()`; negative entries of `idx` and a
/// negative `axis` count from the end, and an index may repeat. The
/// gradient adds each row of the cotangent into the row it was taken from.
///
/// Errors: `Index` for an axis out of range (any axis of a 0-D tensor) or
/// an index outside `[-len, len)`, `OutOfMemory` when the output cannot be
/// allocated.
///
/// ```
/// use jac_core::{Tensor, gather};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2], false)?;
/// let rows = gather(&a, 0, &[2, 0, -1])?;
/// assert_eq!(rows.shape(), &[3, 2]);
/// assert_eq!(rows.to_vec(), vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
/// assert_eq!(gather(&a, 1, &[1])?.to_vec(), vec![2.0, 4.0, 6.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn gather(a: &Tensor, axis: isize, idx: &[i64]) -> Result<Tensor> {
    let axis = normalize_axis(axis, a.ndim(), "gather: axis")?;
    let len = a.shape()[axis];
    let of = format!("axis {axis} of length {len}");
    let idx = resolve(idx, len, "gather", &of)?;
    gather_rows(
        a,
        &Rows {
            axis,
            idx,
            len,
            inner: 0,
        },
    )
}

/// The adjoint of [`gather`]: zeros shaped like `a` but of length `dim`
/// along `axis`, with each row `j` of `a` along the axis added into row
/// `idx[j]` (`out[.., idx[j], ..] += a[.., j, ..]`; repeated indices add
/// up). `idx` has one entry per row of `a` along the axis; negative entries
/// count from the end of `dim`, a negative `axis` from the end of `a`'s
/// axes. The gradient gathers the cotangent's rows back.
///
/// Errors: `Index` for an axis out of range or an index outside
/// `[-dim, dim)`, `Shape` when `idx.len()` differs from `a`'s length along
/// the axis, `OutOfMemory` when the output cannot be allocated.
///
/// ```
/// use jac_core::{Tensor, scatter_add};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], false)?;
/// let out = scatter_add(&a, 0, &[1, -1, 1], 4)?;
/// assert_eq!(out.to_vec(), vec![0.0, 4.0, 0.0, 2.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn scatter_add(a: &Tensor, axis: isize, idx: &[i64], dim: usize) -> Result<Tensor> {
    let axis = normalize_axis(axis, a.ndim(), "scatter_add: axis")?;
    let rows = a.shape()[axis];
    if idx.len() != rows {
        return Err(Error::shape(format!(
            "scatter_add: idx has {} indices, expected one per row of a along axis {axis}, \
             which has length {rows} (a has shape {})",
            idx.len(),
            fmt_shape(a.shape())
        )));
    }
    let idx = resolve(idx, dim, "scatter_add", &format!("dim {dim}"))?;
    scatter_rows(
        a,
        &Rows {
            axis,
            idx,
            len: dim,
            inner: 0,
        },
    )
}

/// The inclusive cumulative sum along an axis of `len` rows of `inner`
/// values, from the first row (`reverse`: from the last).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cumsum {
    axis: usize,
    reverse: bool,
    len: usize,
    inner: usize,
}

impl Cumsum {
    fn new(shape: &[usize], axis: usize, reverse: bool) -> Cumsum {
        Cumsum {
            axis,
            reverse,
            len: shape[axis],
            inner: inner(shape, axis),
        }
    }

    /// The same sum in the other direction, after `lead` stacked axes, for
    /// an operand of `shape`.
    fn on(&self, shape: &[usize], lead: usize, reverse: bool) -> Cumsum {
        Cumsum::new(shape, self.axis + lead, reverse)
    }

    /// Adds the running sums of `x` (row-major, `outer` blocks of `len`
    /// rows of `inner` values) into `out`, lane by lane in the sum's
    /// direction: the same additions, in the same order, whether `out`
    /// starts at zero (the forward rule) or holds a gradient (its VJP).
    fn add_scan(&self, x: &[f64], out: &mut [f64]) {
        let (len, inner) = (self.len, self.inner);
        let block = len * inner;
        if block == 0 || x.len() != out.len() {
            return;
        }
        for (xb, ob) in x.chunks_exact(block).zip(out.chunks_exact_mut(block)) {
            for lane in 0..inner {
                let mut s = 0.0;
                let mut step = |j: usize| {
                    let p = j * inner + lane;
                    s += xb[p];
                    ob[p] += s;
                };
                if self.reverse {
                    (0..len).rev().for_each(&mut step);
                } else {
                    (0..len).for_each(&mut step);
                }
            }
        }
    }
}

impl Op for Cumsum {
    fn name(&self) -> &'static str {
        "cumsum"
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        let fields = [self.axis, usize::from(self.reverse), self.len, self.inner];
        Some(fields.iter().map(|&v| v as u64).collect())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let data = contiguous(a);
        build(a.shape(), "cumsum", false, |out| self.add_scan(&data, out))
    }

    /// `out_j = sum_{m <= j} a_m`, so `d L / d a_m = sum_{j >= m} g_j`: the
    /// cumulative sum of the cotangent from the other end.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let op = self.on(g.shape(), cx.lead, !self.reverse);
        one(apply(op, vec![g.clone()])?)
    }

    /// The cumulative sum of the tangent (cumsum is linear).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let t = cx.tangent_or_zeros(0, &t[0])?;
        let op = self.on(t.shape(), cx.lead(), self.reverse);
        apply(op, vec![t])
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let a = contiguous(x.first()?);
        Some(write_into(out, |out| self.add_scan(&a, out)))
    }

    fn vjp_into(
        &self,
        _i: usize,
        _x: &[ArrayViewD<'_, f64>],
        _y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let g = contiguous(g);
        let back = Cumsum {
            reverse: !self.reverse,
            ..*self
        };
        Some(add_into(acc, |acc| back.add_scan(&g, acc)))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

/// A recorded program runs a cumulative sum on its planned buffers, and
/// its VJP (the sum from the other end) straight into the gradient.
impl Flat for Cumsum {
    fn linear(&self) -> bool {
        true
    }

    fn applies(&self, _inputs: &mut dyn Iterator<Item = &[usize]>, _output: &[usize]) -> bool {
        true
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        out.fill(0.0);
        if let [x] = x {
            self.add_scan(x, out);
        }
    }

    fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        let back = Cumsum {
            reverse: !self.reverse,
            ..*self
        };
        back.add_scan(g, acc);
    }
}

/// The inclusive cumulative sum of `a` along `axis` (negative counts from
/// the end): `out[.., j, ..] = sum_{m <= j} a[.., m, ..]`, numpy's
/// `cumsum(a, axis)`. The gradient is the cumulative sum of the cotangent
/// taken from the last row back.
///
/// Errors: `Index` for an axis out of range (any axis of a 0-D tensor).
///
/// ```
/// use jac_core::{Tensor, cumsum};
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], false)?;
/// assert_eq!(cumsum(&a, 1)?.to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
/// assert_eq!(cumsum(&a, -2)?.to_vec(), vec![1.0, 2.0, 3.0, 5.0, 7.0, 9.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn cumsum(a: &Tensor, axis: isize) -> Result<Tensor> {
    let axis = normalize_axis(axis, a.ndim(), "cumsum: axis")?;
    apply(Cumsum::new(a.shape(), axis, false), vec![a.clone()])
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};

    use super::*;

    /// 0, 1, 2, ... of `shape`, and the same values in column-major
    /// memory order (a strided view of them, as a transposed operand is).
    fn both_layouts(shape: &[usize]) -> (ArrayD<f64>, ArrayD<f64>) {
        let n: usize = shape.iter().product();
        let a = ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|k| k as f64).collect()).unwrap();
        let mut f = ArrayD::zeros(IxDyn(shape).f());
        f.assign(&a);
        (a, f)
    }

    /// Every op of the family with its rule: forward, `forward_into` (on a
    /// planned buffer of garbage, and on a strided one), the flat kernels,
    /// and `vjp_into` against the flat VJP, for standard and strided
    /// operands.
    #[test]
    fn in_place_kernels_agree_with_the_rules_for_any_layout() {
        let idx: Arc<[usize]> = vec![2, 0, 2, 1].into();
        let shape = [2, 3, 2];
        let ops: Vec<(Box<dyn Op>, Vec<usize>)> = vec![
            (
                Box::new(Gather {
                    at: Rows::new(&shape, 1, idx.clone(), 3),
                }),
                vec![2, 4, 2],
            ),
            (
                Box::new(ScatterAdd {
                    at: Rows::new(&[2, 4, 2], 1, idx.clone(), 3),
                }),
                vec![2, 3, 2],
            ),
            (Box::new(Cumsum::new(&shape, 1, false)), vec![2, 3, 2]),
            (Box::new(Cumsum::new(&shape, 2, true)), vec![2, 3, 2]),
        ];
        for (op, out_shape) in ops {
            let in_shape: Vec<usize> = if op.name() == "scatter_add" {
                vec![2, 4, 2]
            } else {
                shape.to_vec()
            };
            let (a, strided) = both_layouts(&in_shape);
            let want = op.forward(&[a.view()]).unwrap();
            assert_eq!(want.shape(), &out_shape[..], "{}", op.name());
            assert_eq!(
                op.forward(&[strided.view()]).unwrap(),
                want,
                "{}",
                op.name()
            );
            let mut flat = vec![f64::NAN; want.len()];
            op.flat()
                .unwrap()
                .forward_flat(&[a.as_slice().unwrap()], &mut flat);
            assert_eq!(flat, want.as_slice().unwrap(), "{}: flat", op.name());
            let (_, mut planned) = both_layouts(&out_shape);
            planned.fill(f64::NAN);
            op.forward_into(&[strided.view()], &mut planned.view_mut())
                .unwrap()
                .unwrap();
            assert_eq!(planned, want, "{}: forward_into", op.name());

            let (g, g_strided) = both_layouts(&out_shape);
            let mut flat = vec![0.5; a.len()];
            op.flat()
                .unwrap()
                .vjp_flat(0, &[], &[], g.as_slice().unwrap(), &mut flat);
            let (_, mut acc) = both_layouts(&in_shape);
            acc.fill(0.5);
            op.vjp_into(0, &[], &want.view(), &g_strided.view(), &mut acc.view_mut())
                .unwrap()
                .unwrap();
            let acc: Vec<f64> = acc.iter().copied().collect();
            assert_eq!(acc, flat, "{}: vjp_into", op.name());
            assert!(flat.iter().any(|&v| v != 0.5), "{}: no gradient", op.name());
        }
    }
}
