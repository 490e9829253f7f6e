//! Softmax, log-softmax and log-sum-exp: the normalisations of
//! classification losses and attention, each one op with a stable forward
//! rule and in-place kernels.
//!
//! All three shift every lane (or block, for log-sum-exp over several
//! axes) by its largest element before exponentiating, so that entries of
//! 1000 or -1000 neither overflow nor lose the result; the shift changes
//! the arithmetic, not the function, and carries no derivative. A maximum
//! that is infinite or NaN (or a lane that is empty) is not subtracted:
//! `-inf` entries then get weight 0, a lane of only `-inf` has log-sum-exp
//! `-inf` (as numpy and scipy give), `+inf` has log-sum-exp `+inf`, and a
//! NaN gives NaN.
//!
//! Why one op each rather than a composition of max, sub, exp, sum, log and
//! div: one node instead of six or more per call (a recorded
//! [`crate::Function`] replays one step, whose forward and VJP kernels run
//! in place on its planned buffers with no temporaries), an exact shift
//! instead of a derivative routed through max that has to cancel, and
//! `-inf` handled in one place. Their VJP and JVP rules are written with
//! tensor ops on the op's output `y`, so they are differentiable again.
//!
//! Every forward rule has an in-place kernel ([`Op::forward_into`]), and
//! log-sum-exp's VJP too ([`Op::vjp_into`]: `g * exp(a - y)`, elementwise,
//! the rule's arithmetic in the rule's order). Softmax and log-softmax have
//! none for their VJPs: theirs sum along the axis, and a kernel's lane sum
//! would not add in the order the recorded rule's `sum` does (ndarray sums
//! contiguous lanes in eight partial sums), so a gradient would change in
//! its last bits with `create_graph`; every sweep runs their graph rule.
//!
//! The derivatives, along the axis (or axes) with `p = exp(a - lse(a))`:
//!
//! * softmax `y = p`: `J = diag(y) - y y^T`, symmetric, so the VJP and the
//!   JVP are both `v -> y * (v - sum(v * y))`;
//! * log-softmax `y = a - lse(a)`: `J = I - 1 p^T` with `p = exp(y)`, so
//!   the VJP is `g - exp(y) * sum(g)` and the JVP `t - sum(exp(y) * t)`;
//! * log-sum-exp `y = lse(a)`: `dy/da = p = exp(a - y)`, so the VJP is
//!   `g * exp(a - y)` and the JVP `sum(t * exp(a - y))`.

use ndarray::{ArrayD, ArrayView1, ArrayViewD, ArrayViewMut1, ArrayViewMutD, Axis, IxDyn};

use super::reduce::{kept_shape, reduced_shape, resolve_axes};
use super::{JvpContext, Op, VjpContext, apply, normalize_axis, one};
use crate::alloc::{check_alloc, try_filled};
use crate::broadcast::reshape_to;
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{exp, mul, sub, sum};
use crate::sparse::{Curvature, Structure};
use crate::tensor::Tensor;

/// What a lane or block is shifted by: its largest element, or 0 when that
/// is infinite or NaN, or the lane is empty.
fn shift<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    let m = values
        .into_iter()
        .fold(f64::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    if m.is_finite() { m } else { 0.0 }
}

/// `log(sum(exp(a)))` of one lane or block, stably.
fn lse<'a>(values: impl IntoIterator<Item = &'a f64> + Clone) -> f64 {
    let m = shift(values.clone());
    let s = values.into_iter().fold(0.0, |s, &v| s + (v - m).exp());
    m + s.ln()
}

/// A kernel's operand or output whose shape is not the recorded one: a
/// bug in the caller, reported rather than indexed out of bounds.
fn shape_mismatch(op: &str, what: &str, got: &[usize], want: &[usize]) -> Error {
    Error::internal(format!(
        "{op}: {what} has shape {}, expected {}",
        fmt_shape(got),
        fmt_shape(want)
    ))
}

/// Softmax or log-softmax along one axis.
#[derive(Debug)]
pub(crate) struct Softmax {
    axis: usize,
    log: bool,
}

impl Softmax {
    /// The forward rule on one lane: `exp(a - m) / s` (softmax) or
    /// `a - m - log(s)` (log-softmax), `m` the shift and
    /// `s = sum(exp(a - m))`.
    fn lane(&self, a: ArrayView1<'_, f64>, mut y: ArrayViewMut1<'_, f64>) {
        let m = shift(a);
        if self.log {
            let l = a.iter().fold(0.0, |s, &v| s + (v - m).exp()).ln();
            y.iter_mut().zip(&a).for_each(|(y, &v)| *y = v - m - l);
        } else {
            let mut s = 0.0;
            for (y, &v) in y.iter_mut().zip(&a) {
                *y = (v - m).exp();
                s += *y;
            }
            y.iter_mut().for_each(|y| *y /= s);
        }
    }

    /// The forward rule into `out`, lane by lane.
    fn forward_lanes(
        &self,
        a: &ArrayViewD<'_, f64>,
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Result<()> {
        if a.shape() != out.shape() {
            return Err(shape_mismatch(
                self.name(),
                "the output",
                out.shape(),
                a.shape(),
            ));
        }
        // An empty operand has nothing to write (and its other axes may be
        // far longer than memory: no lanes are walked).
        if a.is_empty() {
            return Ok(());
        }
        let ax = Axis(self.axis);
        for (a, y) in a.lanes(ax).into_iter().zip(out.lanes_mut(ax)) {
            self.lane(a, y);
        }
        Ok(())
    }
}

impl Op for Softmax {
    fn name(&self) -> &'static str {
        if self.log { "log_softmax" } else { "softmax" }
    }

    /// Each output element depends on its whole lane along the axis, and
    /// nonlinearly: every pair of the lane couples.
    fn structure(&self, _operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::within_lanes(output, &[self.axis], Curvature::Among(vec![(0, 0)]))
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(vec![self.axis as u64])
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let mut out = try_filled(a.shape(), 0.0, self.name())?;
        self.forward_lanes(a, &mut out.view_mut())?;
        Ok(out)
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        Some(self.forward_lanes(&x[0], out))
    }

    /// Softmax: `y * (g - sum(g * y))`; log-softmax: `g - exp(y) * sum(g)`;
    /// sums along the axis (after the stacked ones), kept as 1.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let y = cx.output;
        let axis = [cx.axis(self.axis) as isize];
        one(if self.log {
            sub(g, &mul(&exp(y)?, &sum(g, Some(&axis), true)?)?)?
        } else {
            mul(y, &sub(g, &sum(&mul(g, y)?, Some(&axis), true)?)?)?
        })
    }

    /// Softmax: `y * (t - sum(t * y))` (its Jacobian is symmetric: the
    /// VJP's form); log-softmax: `t - sum(exp(y) * t)`.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let t = cx.tangent_or_zeros(0, &t[0])?;
        let y = cx.output;
        let axis = [cx.axis(self.axis) as isize];
        if self.log {
            sub(&t, &sum(&mul(&exp(y)?, &t)?, Some(&axis), true)?)
        } else {
            mul(y, &sub(&t, &sum(&mul(&t, y)?, Some(&axis), true)?)?)
        }
    }
}

/// The shared body of [`softmax`] and [`log_softmax`].
fn normalized(a: &Tensor, axis: isize, log: bool) -> Result<Tensor> {
    let arg = if log {
        "log_softmax: axis"
    } else {
        "softmax: axis"
    };
    let axis = normalize_axis(axis, a.ndim(), arg)?;
    apply(Softmax { axis, log }, vec![a.clone()])
}

/// Softmax of `a` along `axis` (negative counts from the end):
/// `exp(a - m) / sum(exp(a - m))` with `m` the lane's maximum, so large
/// entries do not overflow. `-inf` entries get 0; a lane of only `-inf`, or
/// one holding `+inf`, has no softmax and gives NaN. The VJP is
/// `y * (g - sum(g * y))` along the axis, and differentiable again.
///
/// ```
/// use jac_core::{Tensor, softmax};
/// let x = Tensor::from_vec(vec![1000.0, 1000.0, f64::NEG_INFINITY, 0.0, 0.0, 0.0], &[2, 3], false)?;
/// let y = softmax(&x, -1)?;
/// assert_eq!(y.to_vec()[..3], [0.5, 0.5, 0.0]);
/// assert!(y.to_vec()[3..].iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-16));
/// # Ok::<(), jac_core::Error>(())
/// ```
///
/// Errors: `Index` for an axis out of range (any axis of a 0-D tensor).
pub fn softmax(a: &Tensor, axis: isize) -> Result<Tensor> {
    normalized(a, axis, false)
}

/// Log-softmax of `a` along `axis` (negative counts from the end):
/// `a - m - log(sum(exp(a - m)))` with `m` the lane's maximum, so large
/// entries neither overflow nor lose precision. `-inf` entries stay
/// `-inf`; a lane of only `-inf`, or one holding `+inf`, gives NaN. The VJP
/// is `g - exp(y) * sum(g)` along the axis, and differentiable again.
///
/// ```
/// use jac_core::{Tensor, log_softmax};
/// let x = Tensor::from_vec(vec![-1000.0, -1000.0], &[2], false)?;
/// let y = log_softmax(&x, 0)?;
/// assert_eq!(y.to_vec(), vec![-(2f64.ln()); 2]);
/// # Ok::<(), jac_core::Error>(())
/// ```
///
/// Errors: `Index` for an axis out of range (any axis of a 0-D tensor).
pub fn log_softmax(a: &Tensor, axis: isize) -> Result<Tensor> {
    normalized(a, axis, true)
}

/// Log-sum-exp over `axes` (sorted, distinct).
#[derive(Debug)]
pub(crate) struct LogSumExp {
    axes: Vec<usize>,
    keepdim: bool,
    input_shape: Vec<usize>,
    /// The dims of the axes not reduced, in order: the output's shape
    /// without its kept unit axes.
    rest: Vec<usize>,
}

impl LogSumExp {
    /// The view of the reduced axes of `v` (the input's shape) at the
    /// output position `at` (indices of the axes not reduced).
    fn block<'v>(&self, mut v: ArrayViewD<'v, f64>, at: &IxDyn) -> ArrayViewD<'v, f64> {
        let mut k = self.rest.len();
        for ax in (0..self.input_shape.len()).rev() {
            if !self.axes.contains(&ax) {
                k -= 1;
                v = v.index_axis_move(Axis(ax), at[k]);
            }
        }
        v
    }

    /// [`LogSumExp::block`] of a view to write.
    fn block_mut<'v>(&self, mut v: ArrayViewMutD<'v, f64>, at: &IxDyn) -> ArrayViewMutD<'v, f64> {
        let mut k = self.rest.len();
        for ax in (0..self.input_shape.len()).rev() {
            if !self.axes.contains(&ax) {
                k -= 1;
                v = v.index_axis_move(Axis(ax), at[k]);
            }
        }
        v
    }

    fn output_shape(&self) -> Vec<usize> {
        reduced_shape(&self.input_shape, &self.axes, self.keepdim)
    }

    /// The forward rule into `out`, block by block (output positions in
    /// row-major order, as `out` iterates).
    fn forward_blocks(
        &self,
        a: &ArrayViewD<'_, f64>,
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Result<()> {
        if a.shape() != self.input_shape.as_slice() {
            return Err(shape_mismatch(
                "logsumexp",
                "the operand",
                a.shape(),
                &self.input_shape,
            ));
        }
        if out.shape() != self.output_shape().as_slice() {
            return Err(shape_mismatch(
                "logsumexp",
                "the output",
                out.shape(),
                &self.output_shape(),
            ));
        }
        for (y, at) in out.iter_mut().zip(ndarray::indices(&self.rest[..])) {
            *y = lse(&self.block(a.view(), &at));
        }
        Ok(())
    }
}

impl Op for LogSumExp {
    fn name(&self) -> &'static str {
        "logsumexp"
    }

    /// A reduction over the axes, nonlinear in every pair of its lane.
    fn structure(&self, _operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::reduced_with(
            &self.input_shape,
            &self.axes,
            output,
            Curvature::Among(vec![(0, 0)]),
        )
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        let mut bits = vec![u64::from(self.keepdim)];
        bits.extend(self.axes.iter().map(|&ax| ax as u64));
        Some(bits)
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let mut out = try_filled(&self.output_shape(), 0.0, "logsumexp")?;
        self.forward_blocks(&x[0], &mut out.view_mut())?;
        Ok(out)
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        Some(self.forward_blocks(&x[0], out))
    }

    /// `g * exp(a - y)`, the cotangent and `y` with the reduced axes kept
    /// as 1 (after the stacked ones): softmax over the axes, scaled.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let kept = kept_shape(&self.input_shape, &self.axes);
        let g = reshape_to(g, &cx.with_lead(&kept))?;
        one(mul(&g, &self.weights(cx.input(0), cx.output)?)?)
    }

    /// `sum(t * exp(a - y))` over the axes (after the stacked ones).
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let t = cx.tangent_or_zeros(0, &t[0])?;
        let weighted = mul(&t, &self.weights(cx.input(0), cx.output)?)?;
        let axes: Vec<isize> = self.axes.iter().map(|&ax| cx.axis(ax) as isize).collect();
        sum(&weighted, Some(&axes), self.keepdim)
    }

    /// Each output position adds `g * exp(a - y)` into its block of `acc`.
    fn vjp_into(
        &self,
        i: usize,
        x: &[ArrayViewD<'_, f64>],
        y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let (0, [a]) = (i, x) else { return None };
        if a.shape() != self.input_shape.as_slice() || acc.shape() != a.shape() {
            return Some(Err(shape_mismatch(
                "logsumexp",
                "a gradient",
                acc.shape(),
                &self.input_shape,
            )));
        }
        if g.shape() != y.shape() || y.shape() != self.output_shape().as_slice() {
            return Some(Err(shape_mismatch(
                "logsumexp",
                "a cotangent",
                g.shape(),
                &self.output_shape(),
            )));
        }
        for ((&y, &g), at) in y.iter().zip(g.iter()).zip(ndarray::indices(&self.rest[..])) {
            let mut acc = self.block_mut(acc.view_mut(), &at);
            for (acc, &a) in acc.iter_mut().zip(&self.block(a.view(), &at)) {
                *acc += g * (a - y).exp();
            }
        }
        Some(Ok(()))
    }

    /// Every input element takes part in the VJP.
    fn work(&self, inputs: &[Tensor], output: &ArrayD<f64>) -> usize {
        inputs.first().map_or(output.len(), Tensor::numel)
    }
}

impl LogSumExp {
    /// `exp(a - y)` with `y` kept to the input's rank: the softmax over the
    /// axes, in tensor ops (differentiable again through `y`).
    fn weights(&self, a: &Tensor, y: &Tensor) -> Result<Tensor> {
        let kept = kept_shape(&self.input_shape, &self.axes);
        exp(&sub(a, &reshape_to(y, &kept)?)?)
    }
}

/// `log(sum(exp(a)))` over `axes`, as [`crate::sum`] takes them (`None`:
/// every axis; negative axes count from the end), keeping reduced axes as 1
/// when `keepdim`. Computed as `m + log(sum(exp(a - m)))` with `m` the
/// maximum of each reduced block, so 1000 and -1000 do not overflow; a
/// block of only `-inf` gives `-inf` (and an empty block too), one holding
/// `+inf` gives `+inf`. The VJP is `g * exp(a - y)` (the softmax over the
/// axes), and differentiable again; where `y` is `-inf` it is NaN, as the
/// softmax of such a block is.
///
/// ```
/// use jac_core::{Tensor, grad, logsumexp};
/// let x = Tensor::from_vec(vec![1000.0, 1000.0, f64::NEG_INFINITY, f64::NEG_INFINITY], &[2, 2], true)?;
/// let y = logsumexp(&x, Some(&[1]), false)?;
/// assert_eq!(y.to_vec(), vec![1000.0 + 2f64.ln(), f64::NEG_INFINITY]);
/// let all = logsumexp(&x, None, false)?;
/// assert_eq!(all.to_vec(), vec![1000.0 + 2f64.ln()]);
/// // exp(a - y): 1/2 each to the rounding of 1000 + log 2, 0 for -inf.
/// let g = grad(&[all], &[x], None, false)?.remove(0).to_vec();
/// assert!((g[0] - 0.5).abs() < 1e-12 && (g[1] - 0.5).abs() < 1e-12);
/// assert_eq!(g[2..], [0.0, 0.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
///
/// Errors: `Index` for an axis out of range, `InvalidArgument` for an axis
/// given twice, `OutOfMemory` when the result cannot be allocated.
pub fn logsumexp(a: &Tensor, axes: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
    let axes = resolve_axes(a, axes, "logsumexp: axes")?;
    // Reducing an empty axis away can leave more elements than the input had.
    check_alloc(&reduced_shape(a.shape(), &axes, keepdim), "logsumexp")?;
    let rest = reduced_shape(a.shape(), &axes, false);
    apply(
        LogSumExp {
            axes,
            keepdim,
            input_shape: a.shape().to_vec(),
            rest,
        },
        vec![a.clone()],
    )
}
