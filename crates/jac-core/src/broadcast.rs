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
    if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
        return zip_broadcast(x, a.shape(), y, b.shape(), shape, f);
    }
    let av = view_as(a, shape)?;
    let bv = view_as(b, shape)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&p, &q| f(p, q)))
}

/// `f` of row-major `a` and `b` (of shapes `sa`, `sb`) broadcast to
/// `shape`, in one pass over the output: the axes are merged wherever
/// both operands run on contiguously (or both stay put), so the inner loop
/// is as long as possible and knows at compile time whether each operand
/// moves; the outer axes are counted with an odometer. A broadcast scalar
/// row (`[n, 1]` against `[k, n, 3]`) costs one offset update per row, not
/// an index computation per element.
fn zip_broadcast(
    a: &[f64],
    sa: &[usize],
    b: &[f64],
    sb: &[usize],
    shape: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> Result<ArrayD<f64>> {
    let n = crate::ops::numel(shape)
        .ok_or_else(|| Error::out_of_memory("broadcast: too many values"))?;
    let mut out = crate::pool::with_capacity(n)?;
    if n == 0 {
        return from_vec(shape, out);
    }
    // Per output axis (longer than 1): its length and each operand's
    // stride along it (0 where broadcast), innermost last.
    let strides = |s: &[usize]| -> Vec<usize> {
        let mut st = vec![0; shape.len()];
        let mut step = 1;
        for (k, &d) in s.iter().enumerate().rev() {
            let axis = shape.len() - s.len() + k;
            st[axis] = if d == 1 { 0 } else { step };
            step *= d;
        }
        st
    };
    let (ta, tb) = (strides(sa), strides(sb));
    let mut axes: Vec<(usize, usize, usize)> = Vec::with_capacity(shape.len());
    for k in 0..shape.len() {
        if shape[k] == 1 {
            continue;
        }
        let (len, x, y) = (shape[k], ta[k], tb[k]);
        // Merge into the axis outside it when both operands continue it.
        if let Some(last) = axes.last_mut()
            && last.1 == x * len
            && last.2 == y * len
        {
            *last = (last.0 * len, x, y);
            continue;
        }
        axes.push((len, x, y));
    }
    let (inner, ia, ib) = axes.pop().unwrap_or((1, 0, 0));
    let outer = &axes;
    let mut idx = vec![0usize; outer.len()];
    let (mut oa, mut ob) = (0usize, 0usize);
    let rows = n / inner;
    for _ in 0..rows {
        let (ra, rb) = (&a[oa..], &b[ob..]);
        match (ia, ib) {
            (1, 1) => out.extend(ra[..inner].iter().zip(&rb[..inner]).map(|(&p, &q)| f(p, q))),
            (1, 0) => {
                let q = rb[0];
                out.extend(ra[..inner].iter().map(|&p| f(p, q)));
            }
            (0, 1) => {
                let p = ra[0];
                out.extend(rb[..inner].iter().map(|&q| f(p, q)));
            }
            _ => out.extend((0..inner).map(|j| f(ra[j * ia], rb[j * ib]))),
        }
        // The next row: the innermost outer axis that has not run out.
        for k in (0..outer.len()).rev() {
            let (len, x, y) = outer[k];
            idx[k] += 1;
            oa += x;
            ob += y;
            if idx[k] < len {
                break;
            }
            idx[k] = 0;
            oa -= x * len;
            ob -= y * len;
        }
    }
    from_vec(shape, out)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of shapes of up to three axes from dims {1, 2, 3} that
    /// broadcast, with leading axes missing on either side: the merged
    /// strided pass equals ndarray's broadcasting element for element.
    #[test]
    fn the_strided_pass_equals_broadcasting_for_every_pattern() {
        let mut shapes: Vec<Vec<usize>> = vec![vec![]];
        for nd in 1..=3 {
            let mut all = vec![vec![]];
            for _ in 0..nd {
                all = all
                    .into_iter()
                    .flat_map(|s: Vec<usize>| {
                        [1, 2, 3].into_iter().map(move |d| {
                            let mut t = s.clone();
                            t.push(d);
                            t
                        })
                    })
                    .collect();
            }
            shapes.extend(all);
        }
        let values = |s: &[usize], seed: f64| -> ArrayD<f64> {
            let n: usize = s.iter().product();
            from_vec(s, (0..n).map(|k| (k as f64 + seed).sin()).collect()).unwrap()
        };
        let mut checked = 0;
        for sa in &shapes {
            for sb in &shapes {
                let Ok(shape) = broadcast_shapes(sa, sb, "test") else {
                    continue;
                };
                let (a, b) = (values(sa, 0.3), values(sb, 1.7));
                let f = |p: f64, q: f64| 3.0 * p - q * q;
                let got = zip_broadcast(
                    a.as_slice().unwrap(),
                    sa,
                    b.as_slice().unwrap(),
                    sb,
                    &shape,
                    f,
                )
                .unwrap();
                let (av, bv) = (view_as(&a, &shape).unwrap(), view_as(&b, &shape).unwrap());
                let want = Zip::from(&av).and(&bv).map_collect(|&p, &q| f(p, q));
                assert_eq!(got, want, "{sa:?} with {sb:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 940, "pairs of shapes that broadcast");
    }
}
