//! Ops that move values without arithmetic: reshape, transpose, slice (and
//! its adjoint, slice-scatter), concat, stack, broadcast_to.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use super::{Flat, JvpContext, Op, VjpContext, apply, normalize_axis, one};
use crate::alloc::{check_alloc, checked_numel, reserve, try_zeros};
use crate::broadcast::{broadcast_shapes, reshape_to, view_as};
use crate::cotangent::{Cot, Sparse};
use crate::error::{Error, Result, fmt_shape};
use crate::index::slice_indices;
use crate::sparse::Structure;
use crate::tensor::Tensor;

/// An owned, row-major copy of a view.
fn standard(a: ArrayViewD<'_, f64>) -> ArrayD<f64> {
    a.as_standard_layout().into_owned()
}

/// Reshape to a fixed shape of the same number of elements (row-major).
#[derive(Debug)]
pub(crate) struct Reshape {
    shape: Vec<usize>,
}

impl Op for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(self.shape.iter().map(|&d| d as u64).collect())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        standard(x[0].view())
            .into_shape_with_order(IxDyn(&self.shape))
            .map_err(|e| Error::internal(format!("reshape: {e}")))
    }

    /// Reshape the cotangent back to the input's shape.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(reshape_to(g, &cx.with_lead(cx.input(0).shape()))?)
    }

    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        reshape_to(&cx.tangent_or_zeros(0, &t[0])?, &cx.with_lead(&self.shape))
    }

    /// Row-major positions are the same before and after a reshape.
    fn vjp_sparse(&self, cx: &VjpContext<'_>, g: &Sparse) -> Option<Result<Vec<Option<Cot>>>> {
        let moved = Sparse {
            shape: IxDyn(cx.input(0).shape()),
            ..g.clone()
        };
        Some(Ok(vec![Some(Cot::Sparse(moved))]))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

/// Row-major order is the same before and after: a copy, or no step at all
/// where the program keeps both in one buffer.
impl Flat for Reshape {
    fn is_view(&self) -> bool {
        true
    }

    fn linear(&self) -> bool {
        true
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        if let [x] = x {
            out.iter_mut().zip(*x).for_each(|(o, &v)| *o = v);
        }
    }

    fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        acc.iter_mut().zip(g).for_each(|(a, &v)| *a += v);
    }
}

/// `a` with a new `shape` of the same number of elements, in row-major
/// order. One dim may be -1: it is inferred.
///
/// Errors: `Shape` when the element counts differ, `InvalidArgument` for a
/// negative dim other than a single -1, `OutOfMemory` when the product
/// overflows.
pub fn reshape(a: &Tensor, shape: &[isize]) -> Result<Tensor> {
    let mut inferred = None;
    let mut dims = Vec::with_capacity(shape.len());
    for (k, &d) in shape.iter().enumerate() {
        if d == -1 && inferred.is_none() {
            inferred = Some(k);
            dims.push(1);
        } else if d < 0 {
            return Err(Error::invalid(format!(
                "reshape: shape[{k}] must be >= 0 (or a single -1), got {d} in {shape:?}"
            )));
        } else {
            dims.push(d as usize);
        }
    }
    let known = checked_numel(&dims, "reshape: shape")?;
    if let Some(k) = inferred {
        if known == 0 || !a.numel().is_multiple_of(known) {
            return Err(Error::shape(format!(
                "reshape: cannot infer the -1 of {shape:?} for an input of shape {} ({} elements)",
                fmt_shape(a.shape()),
                a.numel()
            )));
        }
        dims[k] = a.numel() / known;
    } else if known != a.numel() {
        return Err(Error::shape(format!(
            "reshape: shape {} has {known} elements, the input of shape {} has {}",
            fmt_shape(&dims),
            fmt_shape(a.shape()),
            a.numel()
        )));
    }
    apply(Reshape { shape: dims }, vec![a.clone()])
}

/// Permutation of axes.
#[derive(Debug)]
pub(crate) struct Transpose {
    perm: Vec<usize>,
}

impl Op for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(self.perm.iter().map(|&d| d as u64).collect())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        Ok(standard(x[0].view().permuted_axes(IxDyn(&self.perm))))
    }

    /// Apply the inverse permutation, leaving the stacked axes first.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut inverse = vec![0; self.perm.len()];
        for (k, &p) in self.perm.iter().enumerate() {
            inverse[p] = k;
        }
        let perm: Vec<isize> = (0..cx.lead)
            .chain(inverse.iter().map(|&p| cx.axis(p)))
            .map(|p| p as isize)
            .collect();
        one(transpose(g, &perm)?)
    }

    /// The same permutation, after the stacked axes.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let perm: Vec<isize> = (0..cx.lead())
            .chain(self.perm.iter().map(|&p| cx.axis(p)))
            .map(|p| p as isize)
            .collect();
        transpose(&cx.tangent_or_zeros(0, &t[0])?, &perm)
    }
}

/// `a` with its axes permuted: output axis `k` is input axis `perm[k]`
/// (negative entries count from the end).
///
/// Errors: `InvalidArgument` when `perm` is not a permutation of the axes
/// (wrong length or a repeated axis), `Index` for an axis out of range.
pub fn transpose(a: &Tensor, perm: &[isize]) -> Result<Tensor> {
    if perm.len() != a.ndim() {
        return Err(Error::invalid(format!(
            "transpose: perm must have {} entries for an operand of shape {}, got {perm:?}",
            a.ndim(),
            fmt_shape(a.shape())
        )));
    }
    let perm = super::normalize_axes(perm, a.ndim(), "transpose: perm")?;
    if perm.iter().enumerate().all(|(k, &p)| k == p) {
        return Ok(a.clone());
    }
    apply(Transpose { perm }, vec![a.clone()])
}

/// The positions `start + k * step`, `k < len`, along one axis.
#[derive(Debug, Clone, Copy)]
struct Strided {
    axis: usize,
    start: usize,
    step: isize,
    len: usize,
}

impl Strided {
    /// Lazily: on an empty operand the axis may be far longer than memory.
    fn positions(&self) -> impl Iterator<Item = usize> + use<> {
        let (start, step) = (self.start as isize, self.step);
        (0..self.len).map(move |k| (start + k as isize * step) as usize)
    }

    /// The operand's shape with this axis restricted to the positions.
    fn sliced_shape(&self, shape: &[usize]) -> Vec<usize> {
        let mut out = shape.to_vec();
        out[self.axis] = self.len;
        out
    }

    /// The positions as an ndarray slice of the axis (`len` > 0): the range
    /// from the lowest to the highest, walked by `step` from `start` (for a
    /// negative step, ndarray walks back from the range's end).
    fn as_slice(&self) -> ndarray::Slice {
        let last = self.start as isize + (self.len as isize - 1) * self.step;
        let (low, high) = if self.step > 0 {
            (self.start as isize, last + 1)
        } else {
            (last, self.start as isize + 1)
        };
        ndarray::Slice::new(low, Some(high), self.step)
    }

    /// The same positions, on an operand with `lead` more leading axes.
    fn shifted(self, lead: usize) -> Strided {
        Strided {
            axis: self.axis + lead,
            ..self
        }
    }
}

/// The positions of a slice along one axis, as a gather.
#[derive(Debug)]
pub(crate) struct Slice {
    at: Strided,
    /// The operand's length along the axis, and its number of values
    /// after the axis (0 for an empty operand), for the flat kernels.
    axis_len: usize,
    inner: usize,
}

impl Op for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        let at = self.at;
        let fields = [
            at.axis,
            at.start,
            at.step as usize,
            at.len,
            self.axis_len,
            self.inner,
        ];
        Some(fields.iter().map(|&v| v as u64).collect())
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let at = self.at;
        if a.is_empty() {
            return try_zeros(&at.sliced_shape(a.shape()), "slice");
        }
        reserve(a.len() / a.shape()[at.axis] * at.len, a.shape(), "slice")?;
        if at.step == 1 {
            let view = a.slice_axis(
                Axis(at.axis),
                ndarray::Slice::from(at.start..at.start + at.len),
            );
            return Ok(standard(view));
        }
        if at.len == 0 {
            return try_zeros(&at.sliced_shape(a.shape()), "slice");
        }
        Ok(standard(a.slice_axis(Axis(at.axis), at.as_slice())))
    }

    /// Scatter the cotangent back into zeros at the sliced positions.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let full = cx.with_lead(cx.input(0).shape());
        one(apply(
            SliceScatter {
                at: self.at.shifted(cx.lead),
                shape: full,
            },
            vec![g.clone()],
        )?)
    }

    /// The same positions of the tangent.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        slice_strided(&cx.tangent_or_zeros(0, &t[0])?, self.at.shifted(cx.lead()))
    }

    /// A sparse cotangent stays sparse: each entry moves to the operand
    /// position it was sliced from (a Jacobian row of a few sliced columns
    /// touches a few entries of the operand, not a zero-filled copy of it).
    fn vjp_sparse(&self, cx: &VjpContext<'_>, g: &Sparse) -> Option<Result<Vec<Option<Cot>>>> {
        let (inner, at) = (self.inner, self.at);
        if inner == 0 || at.len == 0 {
            return None;
        }
        let (out_block, in_block) = (at.len * inner, self.axis_len * inner);
        let moved: std::sync::Arc<[usize]> = g
            .positions
            .iter()
            .map(|&p| {
                let (b, rest) = (p / out_block, p % out_block);
                let (k, r) = (rest / inner, rest % inner);
                let from = (at.start as isize + k as isize * at.step) as usize;
                b * in_block + from * inner + r
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

/// In row-major order an operand is `outer` blocks of `axis_len` rows of
/// `inner` values, and its slice the same blocks of the chosen rows.
impl Flat for Slice {
    fn applies(&self, _inputs: &mut dyn Iterator<Item = &[usize]>, _output: &[usize]) -> bool {
        true
    }

    fn linear(&self) -> bool {
        true
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        let [x] = x else { return };
        if self.inner == 1 {
            // Rows of one value (a slice of the last axis): a copy call
            // per value would cost more than the value.
            self.for_each_row(out.len(), x.len(), |to, from| {
                if let (Some(dst), Some(&src)) = (out.get_mut(to.start), x.get(from.start)) {
                    *dst = src;
                }
            });
            return;
        }
        self.for_each_row(out.len(), x.len(), |to, from| {
            if let (Some(dst), Some(src)) = (out.get_mut(to), x.get(from)) {
                dst.copy_from_slice(src);
            }
        });
    }

    /// Adds the cotangent into the sliced positions only: no zero tensor of
    /// the input's size per slice.
    fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        self.for_each_row(g.len(), acc.len(), |to, from| {
            if let (Some(src), Some(dst)) = (g.get(to), acc.get_mut(from)) {
                dst.iter_mut().zip(src).for_each(|(a, &v)| *a += v);
            }
        });
    }
}

impl Slice {
    /// `f(output row, operand row)` for every row the slice takes, as
    /// ranges of flat positions, for an output of `out_len` and an operand
    /// of `in_len` values.
    fn for_each_row(
        &self,
        out_len: usize,
        in_len: usize,
        mut f: impl FnMut(std::ops::Range<usize>, std::ops::Range<usize>),
    ) {
        let (inner, at) = (self.inner, self.at);
        let (out_block, in_block) = (at.len * inner, self.axis_len * inner);
        // Empty: the axis may be far longer than memory, and nothing moves.
        if out_len == 0 || in_block == 0 {
            return;
        }
        let blocks = (out_len / out_block).min(in_len / in_block);
        for b in 0..blocks {
            for (k, p) in at.positions().enumerate() {
                let to = b * out_block + k * inner;
                let from = b * in_block + p * inner;
                f(to..to + inner, from..from + inner);
            }
        }
    }
}

/// `a` restricted along `axis` to the Python slice `start:stop:step`
/// (`None` bounds are omitted; negative bounds count from the end;
/// out-of-range bounds clamp; negative steps reverse).
///
/// Errors: `Index` for an axis out of range, `InvalidArgument` for step 0.
///
/// ```
/// use jac_core::{Tensor, slice};
/// let x = Tensor::from_vec((0..6).map(f64::from).collect(), &[6], false)?;
/// assert_eq!(slice(&x, 0, Some(-2), None, -2)?.to_vec(), vec![4.0, 2.0, 0.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn slice(
    a: &Tensor,
    axis: isize,
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
) -> Result<Tensor> {
    let axis = normalize_axis(axis, a.ndim(), "slice: axis")?;
    let (start, step, len) = slice_indices(start, stop, step, a.shape()[axis], "slice: step")?;
    slice_strided(
        a,
        Strided {
            axis,
            start,
            step,
            len,
        },
    )
}

fn slice_strided(a: &Tensor, at: Strided) -> Result<Tensor> {
    if at.step == 1 && at.start == 0 && at.len == a.shape()[at.axis] {
        return Ok(a.clone());
    }
    let shape = a.shape();
    let inner = if a.numel() == 0 {
        0
    } else {
        shape[at.axis + 1..].iter().product()
    };
    let axis_len = shape[at.axis];
    apply(
        Slice {
            at,
            axis_len,
            inner,
        },
        vec![a.clone()],
    )
}

/// The adjoint of [`Slice`]: places its input at strided positions of a zero
/// tensor of `shape`.
#[derive(Debug)]
pub(crate) struct SliceScatter {
    at: Strided,
    shape: Vec<usize>,
}

impl Op for SliceScatter {
    fn name(&self) -> &'static str {
        "slice_scatter"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let mut out = try_zeros(&self.shape, "slice: gradient")?;
        if x[0].is_empty() {
            return Ok(out);
        }
        if self.at.len == 0 {
            return Ok(out);
        }
        // One strided assignment, not a view per position.
        out.slice_axis_mut(Axis(self.at.axis), self.at.as_slice())
            .assign(&x[0]);
        Ok(out)
    }

    /// Gather the same positions back.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(slice_strided(g, self.at.shifted(cx.lead))?)
    }

    /// The tangent scattered the same way.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        apply(
            SliceScatter {
                at: self.at.shifted(cx.lead()),
                shape: cx.with_lead(&self.shape),
            },
            vec![cx.tangent_or_zeros(0, &t[0])?],
        )
    }
}

/// Joins tensors along an existing axis.
#[derive(Debug)]
pub(crate) struct Concat {
    axis: usize,
}

impl Op for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    /// Into a row-major result (ndarray's `concatenate` keeps its
    /// operands' memory order along other axes, so an op after it, such as
    /// a sum, would add in another order than the same op on a replay's
    /// planned, row-major buffer).
    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let first = x
            .first()
            .ok_or_else(|| Error::internal("concat: no operands"))?;
        let mut shape = first.shape().to_vec();
        shape[self.axis] = x.iter().map(|a| a.shape()[self.axis]).sum();
        let mut out = try_zeros(&shape, "concat")?;
        let mut at = 0;
        for a in x {
            let len = a.shape()[self.axis];
            // An empty operand moves nothing (and assigning it would walk
            // every lane of a huge empty shape).
            if !a.is_empty() {
                out.slice_axis_mut(Axis(self.axis), ndarray::Slice::from(at..at + len))
                    .assign(a);
            }
            at += len;
        }
        Ok(out)
    }

    /// Each input gets its own stretch of the cotangent.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut offset = 0;
        let mut grads = Vec::with_capacity(cx.inputs.len());
        for (k, input) in cx.inputs.iter().enumerate() {
            let len = input.shape()[self.axis];
            let at = Strided {
                axis: cx.axis(self.axis),
                start: offset,
                step: 1,
                len,
            };
            grads.push(if cx.needs(k) {
                Some(slice_strided(g, at)?)
            } else {
                None
            });
            offset += len;
        }
        Ok(grads)
    }

    /// The tangents joined the same way (zeros for inputs without one).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let ts = (0..cx.inputs.len())
            .map(|k| cx.tangent_or_zeros(k, &t[k]))
            .collect::<Result<Vec<_>>>()?;
        concat(&ts, cx.axis(self.axis) as isize)
    }
}

/// Checks the list of a concat or stack: not empty, every shape alike.
fn check_list<'a>(ts: &'a [Tensor], op: &str) -> Result<&'a Tensor> {
    ts.first()
        .ok_or_else(|| Error::invalid(format!("{op}: ts must hold at least one tensor, got 0")))
}

/// `ts` joined along `axis` (negative counts from the end); every shape must
/// match except along `axis`.
///
/// Errors: `InvalidArgument` for an empty list, `Index` for a bad axis,
/// `Shape` for shapes that differ elsewhere.
pub fn concat(ts: &[Tensor], axis: isize) -> Result<Tensor> {
    let first = check_list(ts, "concat")?;
    let axis = normalize_axis(axis, first.ndim(), "concat: axis")?;
    let mut total = 0usize;
    for (k, t) in ts.iter().enumerate() {
        let same_elsewhere = t.ndim() == first.ndim()
            && t.shape()
                .iter()
                .zip(first.shape())
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !same_elsewhere {
            return Err(Error::shape(format!(
                "concat: ts[{k}] has shape {}, expected {} except along axis {axis}",
                fmt_shape(t.shape()),
                fmt_shape(first.shape())
            )));
        }
        total = total.checked_add(t.shape()[axis]).ok_or_else(|| {
            Error::out_of_memory("concat: the total length along the axis overflows".to_string())
        })?;
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = total;
    check_alloc(&shape, "concat")?;
    apply(Concat { axis }, ts.to_vec())
}

/// Joins tensors of one shape along a new axis.
#[derive(Debug)]
pub(crate) struct Stack {
    axis: usize,
}

impl Op for Stack {
    fn name(&self) -> &'static str {
        "stack"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    /// Into a row-major result, as [`Concat`] for the same reason.
    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let first = x
            .first()
            .ok_or_else(|| Error::internal("stack: no operands"))?;
        let mut shape = first.shape().to_vec();
        shape.insert(self.axis, x.len());
        let mut out = try_zeros(&shape, "stack")?;
        if out.is_empty() {
            return Ok(out);
        }
        for (k, a) in x.iter().enumerate() {
            out.index_axis_mut(Axis(self.axis), k).assign(a);
        }
        Ok(out)
    }

    /// Input `k` gets position `k` of the new axis, with that axis dropped.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut grads = Vec::with_capacity(cx.inputs.len());
        for (k, input) in cx.inputs.iter().enumerate() {
            grads.push(if cx.needs(k) {
                let at = Strided {
                    axis: cx.axis(self.axis),
                    start: k,
                    step: 1,
                    len: 1,
                };
                let picked = slice_strided(g, at)?;
                Some(reshape_to(&picked, &cx.with_lead(input.shape()))?)
            } else {
                None
            });
        }
        Ok(grads)
    }

    /// The tangents stacked the same way (zeros for inputs without one).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let ts = (0..cx.inputs.len())
            .map(|k| cx.tangent_or_zeros(k, &t[k]))
            .collect::<Result<Vec<_>>>()?;
        stack(&ts, cx.axis(self.axis) as isize)
    }
}

/// `ts` (all of one shape) joined along a new `axis`, which may be
/// `-(ndim + 1) ..= ndim`.
///
/// Errors: `InvalidArgument` for an empty list, `Index` for a bad axis,
/// `Shape` for shapes that differ.
pub fn stack(ts: &[Tensor], axis: isize) -> Result<Tensor> {
    let first = check_list(ts, "stack")?;
    let n = first.ndim() as isize;
    let axis = normalize_axis(axis, first.ndim() + 1, "stack: axis").map_err(|_| {
        Error::index(format!(
            "stack: axis: expected an axis in [{}, {n}] to stack {n}-D tensors, got {axis}",
            -n - 1
        ))
    })?;
    if let Some((k, t)) = ts
        .iter()
        .enumerate()
        .find(|(_, t)| t.shape() != first.shape())
    {
        return Err(Error::shape(format!(
            "stack: ts[{k}] has shape {}, expected {} like ts[0]",
            fmt_shape(t.shape()),
            fmt_shape(first.shape())
        )));
    }
    let mut shape = first.shape().to_vec();
    shape.insert(axis, ts.len());
    check_alloc(&shape, "stack")?;
    apply(Stack { axis }, ts.to_vec())
}

/// Numpy broadcasting of one tensor to a larger shape.
#[derive(Debug)]
pub(crate) struct BroadcastTo {
    shape: Vec<usize>,
}

impl Op for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }

    /// It only moves values: its forward rule on named elements tells.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::moved(self, operands, output)
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        Ok(standard(view_as(&x[0], &self.shape)?))
    }

    /// The cotangent as is: the sweep's `sum_to` folds it to the input.
    /// The tangent aligned to the output: the sweep broadcasts it.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        cx.aligned(0, &cx.tangent_or_zeros(0, &t[0])?)
    }

    fn vjp(&self, _cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(g.clone())
    }
}

/// `a` broadcast to `shape` with numpy's rules.
///
/// Errors: `Shape` when `a` does not broadcast to `shape`.
pub fn broadcast_to(a: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if a.shape() == shape {
        return Ok(a.clone());
    }
    // The rule first: a call that is not a broadcast is a shape error
    // whatever its size, and only a valid one asks for its output.
    let joined = broadcast_shapes(a.shape(), shape, "broadcast_to")?;
    if joined != shape {
        return Err(Error::shape(format!(
            "broadcast_to: shape {} does not broadcast to {}",
            fmt_shape(a.shape()),
            fmt_shape(shape)
        )));
    }
    check_alloc(shape, "broadcast_to")?;
    apply(
        BroadcastTo {
            shape: shape.to_vec(),
        },
        vec![a.clone()],
    )
}
