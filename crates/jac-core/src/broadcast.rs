//! Numpy broadcasting and its inverse, [`sum_to`], which the sweep applies to
//! every gradient in one place.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

use crate::error::{Error, Result, fmt_shape};
use crate::ops::{reshape, sum};
use crate::tensor::Tensor;

/// The broadcast of two shapes (numpy rules: align on the right; each pair of
/// dims must be equal or one of them 1).
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize], op: &str) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for (k, o) in out.iter_mut().enumerate() {
        let da = dim_from_right(a, n - 1 - k);
        let db = dim_from_right(b, n - 1 - k);
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(Error::shape(format!(
                    "{op}: shapes {} and {} cannot be broadcast: axis {} has {x} vs {y}",
                    fmt_shape(a),
                    fmt_shape(b),
                    k as isize - n as isize
                )));
            }
        };
    }
    // No size check here: a broadcast of batch axes (matmul) or of two
    // operands (where) is not what gets allocated; callers check outputs.
    Ok(out)
}

/// The dim `k` places from the right, 1 where `shape` is shorter.
fn dim_from_right(shape: &[usize], k: usize) -> usize {
    if k < shape.len() {
        shape[shape.len() - 1 - k]
    } else {
        1
    }
}

/// A view of `a` broadcast to `shape`, which the caller has checked.
pub(crate) fn view_as<'a, S: ndarray::Data<Elem = f64>>(
    a: &'a ndarray::ArrayBase<S, IxDyn>,
    shape: &[usize],
) -> Result<ArrayViewD<'a, f64>> {
    a.broadcast(IxDyn(shape)).ok_or_else(|| {
        Error::internal(format!(
            "broadcast of {} to {} was not checked",
            fmt_shape(a.shape()),
            fmt_shape(shape)
        ))
    })
}

/// `f` applied elementwise to `a` and `b` broadcast to `shape`, with fast
/// paths for equal contiguous shapes and for a one-element operand.
pub(crate) fn zip_map(
    a: &ArrayViewD<'_, f64>,
    b: &ArrayViewD<'_, f64>,
    shape: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> Result<ArrayD<f64>> {
    if a.shape() == shape
        && b.shape() == shape
        && let (Some(x), Some(y)) = (a.as_slice(), b.as_slice())
    {
        let mut data = crate::pool::with_capacity(x.len())?;
        data.extend(x.iter().zip(y).map(|(&p, &q)| f(p, q)));
        return ArrayD::from_shape_vec(a.raw_dim(), data)
            .map_err(|e| Error::internal(format!("{e}")));
    }
    if b.len() == 1 && a.shape() == shape {
        let q = b.iter().next().copied().unwrap_or_default();
        return Ok(a.mapv(|p| f(p, q)));
    }
    if a.len() == 1 && b.shape() == shape {
        let p = a.iter().next().copied().unwrap_or_default();
        return Ok(b.mapv(|q| f(p, q)));
    }
    let av = view_as(a, shape)?;
    let bv = view_as(b, shape)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&p, &q| f(p, q)))
}

/// An array of `shape` from row-major `data` whose length the caller made
/// right.
pub(crate) fn from_vec(shape: &[usize], data: Vec<f64>) -> Result<ArrayD<f64>> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| Error::internal(format!("{e}")))
}

/// Sums `g`, shaped `L ++ s` with `lead` leading axes `L` and `s`
/// broadcastable to `target`, down to `L ++ target`: the inverse of
/// broadcasting, applied by the sweep to every gradient. Built from
/// differentiable ops, so it is recorded under `create_graph`.
pub(crate) fn sum_to(g: Tensor, lead: usize, target: &[usize]) -> Result<Tensor> {
    let shape = g.shape();
    if shape.len() >= lead && &shape[lead..] == target {
        return Ok(g);
    }
    let rest = shape.len().saturating_sub(lead);
    if shape.len() < lead || rest < target.len() {
        return Err(Error::internal(format!(
            "gradient of shape {} cannot be summed to {} after {lead} stacked axes",
            fmt_shape(shape),
            fmt_shape(target)
        )));
    }
    let extra = rest - target.len();
    let mut axes: Vec<isize> = (lead..lead + extra).map(|a| a as isize).collect();
    for (k, &t) in target.iter().enumerate() {
        let d = shape[lead + extra + k];
        if d != t {
            if t != 1 {
                return Err(Error::internal(format!(
                    "gradient of shape {} does not broadcast to {} (after {lead} stacked axes)",
                    fmt_shape(shape),
                    fmt_shape(target)
                )));
            }
            axes.push((lead + extra + k) as isize);
        }
    }
    let mut out_shape = shape[..lead].to_vec();
    out_shape.extend_from_slice(target);
    let summed = if axes.is_empty() {
        g
    } else {
        sum(&g, Some(&axes), false)?
    };
    reshape_to(&summed, &out_shape)
}

/// Reshape to a shape of known, non-negative dims.
pub(crate) fn reshape_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if t.shape() == shape {
        return Ok(t.clone());
    }
    let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    reshape(t, &dims)
}
