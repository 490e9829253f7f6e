//! Reductions: sum and mean over all or given axes, max and min along one
//! axis.

use ndarray::{ArrayD, ArrayViewD, Axis};

use super::{JvpContext, Op, VjpContext, apply, normalize_axes, normalize_axis, one};
use crate::alloc::{check_alloc, reserve, try_filled, try_zeros};
use crate::broadcast::reshape_to;
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{broadcast_to, div, mul, scale};
use crate::sparse::Structure;
use crate::tensor::Tensor;

/// The input shape with every reduced axis kept as 1.
pub(super) fn kept_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(k, &d)| if axes.contains(&k) { 1 } else { d })
        .collect()
}

/// The output shape: reduced axes dropped, or kept as 1 with `keepdim`.
pub(super) fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    if keepdim {
        return kept_shape(shape, axes);
    }
    shape
        .iter()
        .enumerate()
        .filter(|(k, _)| !axes.contains(k))
        .map(|(_, &d)| d)
        .collect()
}

/// Sum over `axes` (sorted, distinct).
#[derive(Debug)]
pub(crate) struct Sum {
    axes: Vec<usize>,
    input_shape: Vec<usize>,
    keepdim: bool,
}

impl Op for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }

    /// Each output element is the sum of its lane: linear.
    fn structure(&self, _operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::reduced(&self.input_shape, &self.axes, output)
    }

    /// Sums axis by axis from the last, so every intermediate is smaller
    /// than the input, and keeps reduced axes by inserting them: no step
    /// assumes a memory layout (a stacked or transposed operand is strided).
    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let a = &x[0];
        let out_shape = reduced_shape(&self.input_shape, &self.axes, self.keepdim);
        // An empty operand sums to zeros without walking its (maybe huge)
        // dims; a full reduction is one number.
        if a.is_empty() {
            return try_zeros(&out_shape, "sum");
        }
        if self.axes.len() == a.ndim() {
            return try_filled(&out_shape, a.sum(), "sum");
        }
        let mut acc: Option<ArrayD<f64>> = None;
        for &ax in self.axes.iter().rev() {
            let from = acc.as_ref().map_or(a.view(), |s| s.view());
            reserve(from.len() / from.shape()[ax], &out_shape, "sum")?;
            acc = Some(from.sum_axis(Axis(ax)));
        }
        let mut summed = match acc {
            Some(s) => s,
            None => {
                reserve(a.len(), a.shape(), "sum")?;
                a.to_owned()
            }
        };
        if self.keepdim {
            for &ax in &self.axes {
                summed.insert_axis_inplace(Axis(ax));
            }
        }
        if summed.shape() != out_shape.as_slice() {
            return Err(Error::internal(format!(
                "sum: computed shape {}, expected {}",
                fmt_shape(summed.shape()),
                fmt_shape(&out_shape)
            )));
        }
        Ok(summed)
    }

    /// Every input element gets the cotangent of the sum it fed: reshape the
    /// cotangent to keep the reduced axes as 1, then broadcast.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let kept = cx.with_lead(&kept_shape(&self.input_shape, &self.axes));
        let g = reshape_to(g, &kept)?;
        one(broadcast_to(&g, &cx.with_lead(&self.input_shape))?)
    }

    /// The tangent summed over the same axes, after the stacked ones.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        apply(
            Sum {
                axes: self.axes.iter().map(|&ax| cx.axis(ax)).collect(),
                input_shape: cx.with_lead(&self.input_shape),
                keepdim: self.keepdim,
            },
            vec![cx.tangent_or_zeros(0, &t[0])?],
        )
    }
}

/// Sum of `a` over `axes` (`None`: every axis; negative axes count from the
/// end), keeping reduced axes as 1 when `keepdim`.
///
/// Errors: `Index` for an axis out of range, `InvalidArgument` for an axis
/// given twice.
pub fn sum(a: &Tensor, axes: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
    let axes = resolve_axes(a, axes, "sum: axes")?;
    // Reducing an empty axis away can leave more elements than the input had.
    check_alloc(&reduced_shape(a.shape(), &axes, keepdim), "sum")?;
    apply(
        Sum {
            axes,
            input_shape: a.shape().to_vec(),
            keepdim,
        },
        vec![a.clone()],
    )
}

/// The axes a reduction takes (`None`: every axis), resolved and sorted.
pub(super) fn resolve_axes(a: &Tensor, axes: Option<&[isize]>, arg: &str) -> Result<Vec<usize>> {
    let mut axes = match axes {
        None => (0..a.ndim()).collect(),
        Some(list) => normalize_axes(list, a.ndim(), arg)?,
    };
    axes.sort_unstable();
    Ok(axes)
}

/// Mean of `a` over `axes`, as [`sum`] divided by the number of elements
/// reduced (NaN for an empty reduction, as in numpy).
///
/// ```
/// use jac_core::{Tensor, mean};
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2], false)?;
/// assert_eq!(mean(&x, Some(&[0]), false)?.to_vec(), vec![2.0, 3.5]);
/// assert_eq!(mean(&x, None, true)?.shape(), &[1, 1]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn mean(a: &Tensor, axes: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
    let resolved = resolve_axes(a, axes, "mean: axes")?;
    check_alloc(&reduced_shape(a.shape(), &resolved, keepdim), "mean")?;
    let count: usize = resolved.iter().map(|&ax| a.shape()[ax]).product();
    let total = apply(
        Sum {
            axes: resolved,
            input_shape: a.shape().to_vec(),
            keepdim,
        },
        vec![a.clone()],
    )?;
    if count == 0 {
        div(&total, &Tensor::scalar(0.0))
    } else {
        scale(&total, 1.0 / count as f64)
    }
}

/// Which extreme [`Extremum`] picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Max,
    Min,
}

impl Pick {
    fn name(self) -> &'static str {
        match self {
            Pick::Max => "max",
            Pick::Min => "min",
        }
    }

    fn mask_name(self) -> &'static str {
        match self {
            Pick::Max => "max: mask",
            Pick::Min => "min: mask",
        }
    }

    /// Whether `v` beats the best value so far.
    fn beats(self, v: f64, best: f64) -> bool {
        match self {
            Pick::Max => v > best,
            Pick::Min => v < best,
        }
    }
}

/// Max or min along one axis: one rule for both, which differ only in the
/// comparison that picks each lane's element.
#[derive(Debug)]
pub(crate) struct Extremum {
    axis: usize,
    keepdim: bool,
    pick: Pick,
}

/// The position of the first extreme of a lane; a NaN wins, as in numpy.
fn first_extreme(lane: ArrayViewD<'_, f64>, pick: Pick) -> usize {
    let mut best = 0;
    let mut best_value = f64::NAN;
    for (k, &v) in lane.iter().enumerate() {
        if v.is_nan() {
            return k;
        }
        if k == 0 || pick.beats(v, best_value) {
            best = k;
            best_value = v;
        }
    }
    best
}

impl Op for Extremum {
    fn name(&self) -> &'static str {
        self.pick.name()
    }

    /// Each output element depends on its whole lane (which element is
    /// the extreme moves with the point) and is piecewise linear in it.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        let input = operands
            .first()
            .ok_or_else(|| Error::internal("max: no operand"))?;
        Structure::reduced(input, &[self.axis], output)
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let ax = Axis(self.axis);
        let out = x[0].map_axis(ax, |lane| lane[first_extreme(lane.into_dyn(), self.pick)]);
        Ok(if self.keepdim {
            out.insert_axis(ax)
        } else {
            out
        })
    }

    /// The cotangent flows to the first extreme element of each lane only
    /// (a subgradient at ties, as numpy's argmax and argmin pick).
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let input = cx.input(0);
        let kept = cx.with_lead(&kept_shape(input.shape(), &[self.axis]));
        let g = reshape_to(g, &kept)?;
        one(mul(&g, &self.first_extremes(input)?)?)
    }

    /// The tangent at the same element of each lane.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let t = cx.tangent_or_zeros(0, &t[0])?;
        let picked = mul(&t, &self.first_extremes(cx.input(0))?)?;
        sum(&picked, Some(&[cx.axis(self.axis) as isize]), self.keepdim)
    }
}

impl Extremum {
    /// A constant of the input's shape: 1 at the first extreme of each
    /// lane, 0 elsewhere.
    fn first_extremes(&self, input: &Tensor) -> Result<Tensor> {
        let input = input.value();
        let ax = Axis(self.axis);
        let mut mask = try_zeros(input.shape(), self.pick.mask_name())?;
        for (lane, mut mask_lane) in input.lanes(ax).into_iter().zip(mask.lanes_mut(ax)) {
            mask_lane[first_extreme(lane.into_dyn(), self.pick)] = 1.0;
        }
        Ok(Tensor::constant(mask))
    }
}

/// The shared body of [`max`] and [`min`].
fn extremum(a: &Tensor, axis: isize, keepdim: bool, pick: Pick) -> Result<Tensor> {
    let name = pick.name();
    let axis = normalize_axis(axis, a.ndim(), &format!("{name}: axis"))?;
    if a.shape()[axis] == 0 {
        return Err(Error::shape(format!(
            "{name}: axis {axis} of shape {} is empty; a {} needs at least one element",
            fmt_shape(a.shape()),
            match pick {
                Pick::Max => "maximum",
                Pick::Min => "minimum",
            }
        )));
    }
    apply(
        Extremum {
            axis,
            keepdim,
            pick,
        },
        vec![a.clone()],
    )
}

/// Max of `a` along `axis` (negative counts from the end), keeping it as 1
/// when `keepdim`. The gradient goes to the first maximal element of each
/// lane (a NaN counts as the maximum, as in numpy).
///
/// ```
/// use jac_core::{Tensor, grad, max};
/// let x = Tensor::from_vec(vec![1.0, 5.0, 5.0, 2.0], &[2, 2], true)?;
/// let m = max(&x, 1, false)?;
/// assert_eq!(m.to_vec(), vec![5.0, 5.0]);
/// // The tie in row 0 sends the gradient to its first 5 only.
/// let g = grad(&[m], &[x], None, false)?;
/// assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
///
/// Errors: `Index` for an axis out of range, `Shape` when that axis is empty.
pub fn max(a: &Tensor, axis: isize, keepdim: bool) -> Result<Tensor> {
    extremum(a, axis, keepdim, Pick::Max)
}

/// Min of `a` along `axis` (negative counts from the end), keeping it as 1
/// when `keepdim`. The gradient goes to the first minimal element of each
/// lane (a NaN counts as the minimum, as in numpy), and the JVP takes that
/// element's tangent.
///
/// ```
/// use jac_core::{Tensor, grad, min};
/// let x = Tensor::from_vec(vec![3.0, 1.0, 1.0, 2.0, 4.0, 0.5], &[2, 3], true)?;
/// let m = min(&x, -1, true)?;
/// assert_eq!(m.shape(), &[2, 1]);
/// assert_eq!(m.to_vec(), vec![1.0, 0.5]);
/// // The tie in row 0 sends the gradient to its first 1 only.
/// let g = grad(&[m], &[x], None, false)?;
/// assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
///
/// Errors: `Index` for an axis out of range, `Shape` when that axis is empty.
pub fn min(a: &Tensor, axis: isize, keepdim: bool) -> Result<Tensor> {
    extremum(a, axis, keepdim, Pick::Min)
}
