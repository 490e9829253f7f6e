//! The one statement of an elementwise op's derivative.
//!
//! An elementwise op states `d output / d input` once, as an expression in
//! [`Algebra`], generic over what it is evaluated on: `f64`, element by
//! element, for the unrecorded sweeps' partials (a cotangent scaled in one
//! pass, a sparse cotangent carried sparse); [`Tensor`], for the recorded
//! VJP `g * d`, which is itself differentiable (Hessians, any order). A
//! forward-mode rule (`t * d`) will use the same statement. This is the role
//! of JAX's `defjvp` rules and PyTorch's `derivatives.yaml`: no sweep keeps
//! its own copy of a derivative.

use ndarray::{ArrayViewD, Zip};

use crate::cotangent::BroadcastMap;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;

/// What derivative expressions are written in: elementwise arithmetic and
/// the functions derivatives need, on numbers or on tensors.
///
/// Piecewise-constant functions (a step, a sign) are constants on tensors,
/// so their derivative is 0, as it should be almost everywhere.
pub(crate) trait Algebra: Sized + Clone {
    fn neg(&self) -> Result<Self>;
    fn mul(&self, other: &Self) -> Result<Self>;
    fn div(&self, other: &Self) -> Result<Self>;
    fn recip(&self) -> Result<Self>;
    fn scale(&self, s: f64) -> Result<Self>;
    fn add_scalar(&self, s: f64) -> Result<Self>;
    fn square(&self) -> Result<Self>;
    fn powf(&self, p: f64) -> Result<Self>;
    fn sin(&self) -> Result<Self>;
    fn cos(&self) -> Result<Self>;
    fn sigmoid(&self) -> Result<Self>;
    fn exp(&self) -> Result<Self>;
    fn log(&self) -> Result<Self>;
    fn add(&self, other: &Self) -> Result<Self>;
    /// `self ^ e` elementwise (the op `pow` on tensors).
    fn pow(&self, e: &Self) -> Result<Self>;
    /// `f` of each value, as a constant.
    fn piecewise(&self, f: impl Fn(f64) -> f64) -> Result<Self>;
    /// `f` of each pair of values (broadcast), as a constant.
    fn piecewise2(&self, other: &Self, f: impl Fn(f64, f64) -> f64) -> Result<Self>;
    /// `self` where `keep` is non-zero, else 0: selected, not multiplied,
    /// so what is dropped may be infinite or NaN.
    fn keep_where(&self, keep: &Self) -> Result<Self>;

    /// `1 - self`.
    fn one_minus(&self) -> Result<Self> {
        self.neg()?.add_scalar(1.0)
    }
}

impl Algebra for f64 {
    fn neg(&self) -> Result<f64> {
        Ok(-self)
    }
    fn mul(&self, other: &f64) -> Result<f64> {
        Ok(self * other)
    }
    fn div(&self, other: &f64) -> Result<f64> {
        Ok(self / other)
    }
    fn recip(&self) -> Result<f64> {
        Ok(1.0 / self)
    }
    fn scale(&self, s: f64) -> Result<f64> {
        Ok(self * s)
    }
    fn add_scalar(&self, s: f64) -> Result<f64> {
        Ok(self + s)
    }
    fn square(&self) -> Result<f64> {
        Ok(self * self)
    }
    fn powf(&self, p: f64) -> Result<f64> {
        Ok(f64::powf(*self, p))
    }
    fn sin(&self) -> Result<f64> {
        Ok(f64::sin(*self))
    }
    fn cos(&self) -> Result<f64> {
        Ok(f64::cos(*self))
    }
    fn sigmoid(&self) -> Result<f64> {
        Ok(sigmoid_value(*self))
    }
    fn exp(&self) -> Result<f64> {
        Ok(f64::exp(*self))
    }
    fn log(&self) -> Result<f64> {
        Ok(f64::ln(*self))
    }
    fn add(&self, other: &f64) -> Result<f64> {
        Ok(self + other)
    }
    fn pow(&self, e: &f64) -> Result<f64> {
        Ok(f64::powf(*self, *e))
    }
    fn piecewise(&self, f: impl Fn(f64) -> f64) -> Result<f64> {
        Ok(f(*self))
    }
    fn piecewise2(&self, other: &f64, f: impl Fn(f64, f64) -> f64) -> Result<f64> {
        Ok(f(*self, *other))
    }
    fn keep_where(&self, keep: &f64) -> Result<f64> {
        Ok(if *keep != 0.0 { *self } else { 0.0 })
    }
}

impl Algebra for Tensor {
    fn neg(&self) -> Result<Tensor> {
        ops::neg(self)
    }
    fn mul(&self, other: &Tensor) -> Result<Tensor> {
        ops::mul(self, other)
    }
    fn div(&self, other: &Tensor) -> Result<Tensor> {
        ops::div(self, other)
    }
    fn recip(&self) -> Result<Tensor> {
        // 1 / x, not x^-1: the same bits as the numbers' `1.0 / x`.
        ops::div(&Tensor::scalar(1.0), self)
    }
    fn scale(&self, s: f64) -> Result<Tensor> {
        ops::scale(self, s)
    }
    fn add_scalar(&self, s: f64) -> Result<Tensor> {
        ops::add_scalar(self, s)
    }
    fn square(&self) -> Result<Tensor> {
        ops::square(self)
    }
    fn powf(&self, p: f64) -> Result<Tensor> {
        ops::pow_scalar(self, p)
    }
    fn sin(&self) -> Result<Tensor> {
        ops::sin(self)
    }
    fn cos(&self) -> Result<Tensor> {
        ops::cos(self)
    }
    fn sigmoid(&self) -> Result<Tensor> {
        ops::sigmoid(self)
    }
    fn exp(&self) -> Result<Tensor> {
        ops::exp(self)
    }
    fn log(&self) -> Result<Tensor> {
        ops::log(self)
    }
    fn add(&self, other: &Tensor) -> Result<Tensor> {
        ops::add(self, other)
    }
    fn pow(&self, e: &Tensor) -> Result<Tensor> {
        ops::pow(self, e)
    }
    fn piecewise(&self, f: impl Fn(f64) -> f64) -> Result<Tensor> {
        Ok(Tensor::constant(self.value().mapv(f)))
    }
    fn piecewise2(&self, other: &Tensor, f: impl Fn(f64, f64) -> f64) -> Result<Tensor> {
        let (a, b) = (self.value(), other.value());
        let shape = crate::broadcast::broadcast_shapes(a.shape(), b.shape(), "derivative")?;
        crate::alloc::check_alloc(&shape, "derivative")?;
        let value = crate::broadcast::zip_map(&a.view(), &b.view(), &shape, f)?;
        Ok(Tensor::constant(value))
    }
    fn keep_where(&self, keep: &Tensor) -> Result<Tensor> {
        ops::where_(keep, self, &Tensor::scalar(0.0))
    }
}

/// A number and its directional derivative (`v + t ε`, `ε² = 0`): the
/// algebra a replay evaluates a derivative statement on to get the
/// statement's own derivative along a tangent, for second-order passes
/// (Hessian-vector products) from the same one statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dual {
    pub(crate) v: f64,
    pub(crate) t: f64,
}

impl Dual {
    pub(crate) fn new(v: f64, t: f64) -> Dual {
        Dual { v, t }
    }

    /// `self.t * d`, and 0 when the tangent is 0 (so an infinite or NaN
    /// `d` along a direction not taken adds nothing).
    fn along(self, d: f64) -> f64 {
        if self.t == 0.0 { 0.0 } else { self.t * d }
    }
}

impl Algebra for Dual {
    fn neg(&self) -> Result<Dual> {
        Ok(Dual::new(-self.v, -self.t))
    }
    fn mul(&self, o: &Dual) -> Result<Dual> {
        Ok(Dual::new(self.v * o.v, self.along(o.v) + o.along(self.v)))
    }
    fn div(&self, o: &Dual) -> Result<Dual> {
        let q = self.v / o.v;
        Ok(Dual::new(q, (self.t - o.along(q)) / o.v))
    }
    fn recip(&self) -> Result<Dual> {
        let r = 1.0 / self.v;
        Ok(Dual::new(r, -self.along(r * r)))
    }
    fn scale(&self, s: f64) -> Result<Dual> {
        Ok(Dual::new(self.v * s, self.t * s))
    }
    fn add_scalar(&self, s: f64) -> Result<Dual> {
        Ok(Dual::new(self.v + s, self.t))
    }
    fn square(&self) -> Result<Dual> {
        Ok(Dual::new(self.v * self.v, self.along(2.0 * self.v)))
    }
    fn powf(&self, p: f64) -> Result<Dual> {
        let d = if p == 0.0 {
            0.0
        } else {
            p * f64::powf(self.v, p - 1.0)
        };
        Ok(Dual::new(f64::powf(self.v, p), self.along(d)))
    }
    fn sin(&self) -> Result<Dual> {
        Ok(Dual::new(f64::sin(self.v), self.along(f64::cos(self.v))))
    }
    fn cos(&self) -> Result<Dual> {
        Ok(Dual::new(f64::cos(self.v), -self.along(f64::sin(self.v))))
    }
    fn sigmoid(&self) -> Result<Dual> {
        let s = sigmoid_value(self.v);
        Ok(Dual::new(s, self.along(s * (1.0 - s))))
    }
    fn exp(&self) -> Result<Dual> {
        let e = f64::exp(self.v);
        Ok(Dual::new(e, self.along(e)))
    }
    fn log(&self) -> Result<Dual> {
        Ok(Dual::new(f64::ln(self.v), self.along(1.0 / self.v)))
    }
    fn add(&self, o: &Dual) -> Result<Dual> {
        Ok(Dual::new(self.v + o.v, self.t + o.t))
    }
    fn pow(&self, e: &Dual) -> Result<Dual> {
        let y = f64::powf(self.v, e.v);
        let d_base = if e.v == 0.0 {
            0.0
        } else {
            e.v * f64::powf(self.v, e.v - 1.0)
        };
        let d_exponent = if self.v == 0.0 && e.v >= 0.0 {
            0.0
        } else {
            y * f64::ln(self.v)
        };
        Ok(Dual::new(y, self.along(d_base) + e.along(d_exponent)))
    }
    fn piecewise(&self, f: impl Fn(f64) -> f64) -> Result<Dual> {
        Ok(Dual::new(f(self.v), 0.0))
    }
    fn piecewise2(&self, o: &Dual, f: impl Fn(f64, f64) -> f64) -> Result<Dual> {
        Ok(Dual::new(f(self.v, o.v), 0.0))
    }
    fn keep_where(&self, keep: &Dual) -> Result<Dual> {
        Ok(if keep.v != 0.0 {
            *self
        } else {
            Dual::new(0.0, 0.0)
        })
    }
}

/// A derivative evaluated on duals, as one dual (a constant has no
/// tangent).
pub(crate) fn dual(d: Result<Derivative<Dual>>) -> Dual {
    match d {
        Ok(Derivative::Varying(v)) => v,
        Ok(Derivative::Constant(c)) => Dual::new(c, 0.0),
        Err(_) => Dual::new(f64::NAN, f64::NAN),
    }
}

/// `d output / d input` of an elementwise op: the same number at every
/// element (which the sweeps exploit), or an expression of the values.
pub(crate) enum Derivative<E> {
    Constant(f64),
    Varying(E),
}

/// The recorded VJP of an elementwise op: `g * d`, which broadcasts `d` (at
/// the input's shape) up to a stacked cotangent.
pub(crate) fn times(g: &Tensor, d: Derivative<Tensor>) -> Result<Tensor> {
    match d {
        Derivative::Constant(1.0) => Ok(g.clone()),
        Derivative::Constant(c) => ops::scale(g, c),
        Derivative::Varying(d) => ops::mul(g, &d),
    }
}

/// The recorded JVP of an elementwise op: the sum over the given tangents
/// of `t_i * d_i`, each tangent aligned to the output first, `d_i` the same
/// statement of the derivative that [`times`] gives the VJP.
pub(crate) fn tangent_times(
    cx: &ops::JvpContext<'_>,
    tangents: &[Option<Tensor>],
    derivative: impl Fn(usize) -> Result<Derivative<Tensor>>,
) -> Result<Tensor> {
    let mut sum: Option<Tensor> = None;
    for (i, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        let term = times(&cx.aligned(i, t)?, derivative(i)?)?;
        sum = Some(match sum {
            None => term,
            Some(s) => ops::add(&s, &term)?,
        });
    }
    sum.ok_or_else(|| Error::internal("jvp: an op got no tangent"))
}

/// A derivative evaluated on numbers, as one value: the algebra of `f64`
/// cannot fail, so the `Result` only carries the shape of the generic
/// statement.
pub(crate) fn number(d: Result<Derivative<f64>>) -> f64 {
    match d {
        Ok(Derivative::Varying(v) | Derivative::Constant(v)) => v,
        Err(_) => f64::NAN,
    }
}

/// The logistic function, without overflow for large `|v|`.
pub(crate) fn sigmoid_value(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// `sign(v)`, 0 at 0.
pub(crate) fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The share of a derivative that goes to `p` when the smaller of `p` and
/// `q` is taken: 1 when `p` is smaller, a half at a tie, else 0.
pub(crate) fn smaller_share(p: f64, q: f64) -> f64 {
    if p < q {
        1.0
    } else if p == q {
        0.5
    } else {
        0.0
    }
}

/// 1 where `v > 0`, else 0.
pub(crate) fn step(v: f64) -> f64 {
    f64::from(u8::from(v > 0.0))
}

type View<'a> = ArrayViewD<'a, f64>;
type ViewMut<'a> = ndarray::ArrayViewMutD<'a, f64>;

/// `out = f(a, b)` elementwise with numpy broadcasting, in place; `out`
/// has the broadcast shape.
pub(crate) fn zip_into(
    a: &View<'_>,
    b: &View<'_>,
    out: &mut ViewMut<'_>,
    f: impl Fn(f64, f64) -> f64,
) -> Result<()> {
    if let (Some(xa), Some(xb), Some(os)) = (a.as_slice(), b.as_slice(), out.as_slice_mut()) {
        if xa.len() == os.len() && xb.len() == os.len() && a.shape() == b.shape() {
            os.iter_mut()
                .zip(xa.iter().zip(xb))
                .for_each(|(o, (&p, &q))| *o = f(p, q));
            return Ok(());
        }
        if xb.len() == 1 && xa.len() == os.len() {
            let q = xb[0];
            os.iter_mut().zip(xa).for_each(|(o, &p)| *o = f(p, q));
            return Ok(());
        }
        if xa.len() == 1 && xb.len() == os.len() {
            let p = xa[0];
            os.iter_mut().zip(xb).for_each(|(o, &q)| *o = f(p, q));
            return Ok(());
        }
    }
    let shape = out.shape().to_vec();
    let (av, bv) = (broadcast(a, &shape)?, broadcast(b, &shape)?);
    Zip::from(out)
        .and(&av)
        .and(&bv)
        .for_each(|o, &p, &q| *o = f(p, q));
    Ok(())
}

/// `acc += sum over broadcast axes of g * d(a, b, y)`, for input `i` of a
/// two-input op; `acc` has that input's shape, `g` and `y` the output's.
pub(crate) fn accumulate_binary(
    i: usize,
    a: &View<'_>,
    b: &View<'_>,
    y: &View<'_>,
    g: &View<'_>,
    acc: &mut ViewMut<'_>,
    d: impl Fn(f64, f64, f64) -> f64,
) -> Result<()> {
    let shape = y.shape().to_vec();
    same_shape(g.shape(), y.shape())?;
    if acc.shape() == shape.as_slice() {
        if let (Some(xa), Some(xb), Some(ys), Some(gs), Some(accs)) = (
            a.as_slice(),
            b.as_slice(),
            y.as_slice(),
            g.as_slice(),
            acc.as_slice_mut(),
        ) && xa.len() == accs.len()
            && xb.len() == accs.len()
        {
            for (k, acc) in accs.iter_mut().enumerate() {
                *acc += gs[k] * d(xa[k], xb[k], ys[k]);
            }
            return Ok(());
        }
        let (av, bv) = (broadcast(a, &shape)?, broadcast(b, &shape)?);
        Zip::from(acc)
            .and(&av)
            .and(&bv)
            .and(y)
            .and(g)
            .for_each(|acc, &a, &b, &y, &g| *acc += g * d(a, b, y));
        return Ok(());
    }
    // Input i was broadcast: each output element adds into the input
    // element it came from.
    let input = if i == 0 { a } else { b };
    same_shape(input.shape(), acc.shape())?;
    let map = BroadcastMap::new(&shape, acc.shape());
    let (av, bv) = (broadcast(a, &shape)?, broadcast(b, &shape)?);
    let accs = acc
        .as_slice_mut()
        .ok_or_else(|| Error::internal("accumulate_binary: a gradient buffer is not contiguous"))?;
    // Every iterator walks its array in logical (row-major) order, so the
    // count is the flat output position.
    let elements = y.iter().zip(g.iter()).zip(av.iter().zip(bv.iter()));
    for (flat, ((&y, &g), (&a, &b))) in elements.enumerate() {
        accs[map.map(flat)] += g * d(a, b, y);
    }
    Ok(())
}

/// `acc += g * c` elementwise (shapes equal): a constant derivative.
pub(crate) fn accumulate_scaled(g: &View<'_>, c: f64, acc: &mut ViewMut<'_>) -> Result<()> {
    same_shape(g.shape(), acc.shape())?;
    if let (Some(gs), Some(accs)) = (g.as_slice(), acc.as_slice_mut()) {
        accs.iter_mut().zip(gs).for_each(|(a, &g)| *a += g * c);
    } else {
        Zip::from(acc).and(g).for_each(|a, &g| *a += g * c);
    }
    Ok(())
}

fn broadcast<'a>(a: &'a View<'_>, shape: &[usize]) -> Result<View<'a>> {
    a.broadcast(ndarray::IxDyn(shape)).ok_or_else(|| {
        Error::internal(format!(
            "elementwise kernel: shape {:?} does not broadcast to {shape:?}",
            a.shape()
        ))
    })
}

fn same_shape(a: &[usize], b: &[usize]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "elementwise kernel: shapes {a:?} and {b:?} differ"
        )))
    }
}

// Flat kernels (ops::Flat): operands are as long as the output, or one
// value broadcast to every element; a gradient one long sums over all.

/// `out = f(x)` elementwise.
pub(crate) fn map_flat(x: &[f64], out: &mut [f64], f: impl Fn(f64) -> f64) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
}

/// `out = f(a, b)` elementwise.
pub(crate) fn zip_flat(a: &[f64], b: &[f64], out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    let n = out.len();
    match (a.len() == n, b.len() == n, a.first(), b.first()) {
        (true, true, _, _) => out
            .iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(o, (&p, &q))| *o = f(p, q)),
        (true, false, _, Some(&q)) => out.iter_mut().zip(a).for_each(|(o, &p)| *o = f(p, q)),
        (false, true, Some(&p), _) => out.iter_mut().zip(b).for_each(|(o, &q)| *o = f(p, q)),
        (false, false, Some(&p), Some(&q)) => out.fill(f(p, q)),
        _ => {}
    }
}

/// `acc += c * g`, summed when `acc` is one value for many.
pub(crate) fn add_scaled_flat(g: &[f64], c: f64, acc: &mut [f64]) {
    match acc {
        [a] if g.len() != 1 => *a += c * g.iter().sum::<f64>(),
        _ => acc.iter_mut().zip(g).for_each(|(a, &v)| *a += c * v),
    }
}

/// `acc += g * d(x, y)` elementwise (one-operand ops).
pub(crate) fn accumulate_map_flat(
    x: &[f64],
    y: &[f64],
    g: &[f64],
    acc: &mut [f64],
    d: impl Fn(f64, f64) -> f64,
) {
    for (((a, &g), &x), &y) in acc.iter_mut().zip(g).zip(x).zip(y) {
        *a += g * d(x, y);
    }
}

/// `out = t * d(x, y)` elementwise (one-operand ops): the tangent, from the
/// derivative [`accumulate_map_flat`] multiplies cotangents by.
pub(crate) fn tangent_map_flat(
    x: &[f64],
    y: &[f64],
    t: &[f64],
    out: &mut [f64],
    d: impl Fn(f64, f64) -> f64,
) {
    for ((o, &t), (&x, &y)) in out.iter_mut().zip(t).zip(x.iter().zip(y)) {
        *o = t * d(x, y);
    }
}

/// Row `r` of `k` stacked tangent rows of `len` values each (`None` when
/// there is no tangent or the rows are short).
pub(crate) fn tangent_row(t: Option<&[f64]>, r: usize, len: usize) -> Option<&[f64]> {
    t.and_then(|t| t.get(r * len..(r + 1) * len))
}

/// Elements per chunk of the stacked-row kernels: the derivatives of a
/// chunk are evaluated once onto the stack, then every row takes them in a
/// plain (vectorizable) pass.
const ROW_CHUNK: usize = 256;

/// [`tangent_map_flat`] for `k` stacked rows of tangents and outputs: each
/// derivative evaluated once for every row (the same products).
pub(crate) fn tangent_map_rows(
    x: &[f64],
    y: &[f64],
    t: &[f64],
    out: &mut [f64],
    k: usize,
    d: impl Fn(f64, f64) -> f64,
) -> bool {
    let n = y.len();
    if x.len() != n || t.len() != k * n || out.len() != k * n {
        return false;
    }
    let mut ds = [0.0; ROW_CHUNK];
    for start in (0..n).step_by(ROW_CHUNK) {
        let len = ROW_CHUNK.min(n - start);
        let ds = &mut ds[..len];
        for ((d_e, &x), &y) in ds
            .iter_mut()
            .zip(&x[start..start + len])
            .zip(&y[start..start + len])
        {
            *d_e = d(x, y);
        }
        times_rows(out, t, ds, n, start, k);
    }
    true
}

/// `out = t * ds` on elements `start..start + ds.len()` of each of `k`
/// rows of `n` values.
fn times_rows(out: &mut [f64], t: &[f64], ds: &[f64], n: usize, start: usize, k: usize) {
    let len = ds.len();
    for r in 0..k {
        let at = r * n + start;
        for ((o, &t), &d) in out[at..at + len].iter_mut().zip(&t[at..at + len]).zip(ds) {
            *o = t * d;
        }
    }
}

/// [`tangent_zip_flat`] for `k` stacked rows when nothing is broadcast:
/// each derivative evaluated once for every row (the same products and
/// sums as row by row). `false`, with nothing written, when an operand or
/// a tangent row is broadcast.
pub(crate) fn tangent_zip_rows(
    a: &[f64],
    b: &[f64],
    y: &[f64],
    tangents: [Option<&[f64]>; 2],
    out: &mut [f64],
    k: usize,
    d: impl Fn(usize, f64, f64, f64) -> f64,
) -> bool {
    let n = y.len();
    if a.len() != n
        || b.len() != n
        || out.len() != k * n
        || tangents.iter().flatten().any(|t| t.len() != k * n)
    {
        return false;
    }
    let (mut d0, mut d1) = ([0.0; ROW_CHUNK], [0.0; ROW_CHUNK]);
    for start in (0..n).step_by(ROW_CHUNK) {
        let len = ROW_CHUNK.min(n - start);
        let span = start..start + len;
        let (a, b, y) = (&a[span.clone()], &b[span.clone()], &y[span]);
        match tangents {
            [Some(ta), Some(tb)] => {
                for e in 0..len {
                    d0[e] = d(0, a[e], b[e], y[e]);
                    d1[e] = d(1, a[e], b[e], y[e]);
                }
                for r in 0..k {
                    let at = r * n + start;
                    let (ta, tb) = (&ta[at..at + len], &tb[at..at + len]);
                    for (e, o) in out[at..at + len].iter_mut().enumerate() {
                        *o = ta[e] * d0[e] + tb[e] * d1[e];
                    }
                }
            }
            [Some(t), None] | [None, Some(t)] => {
                let i = usize::from(tangents[0].is_none());
                for e in 0..len {
                    d0[e] = d(i, a[e], b[e], y[e]);
                }
                times_rows(out, t, &d0[..len], n, start, k);
            }
            [None, None] => {}
        }
    }
    if tangents == [None, None] {
        out.fill(0.0);
    }
    true
}

/// `out = sum over the given tangents of t_i * d(i, a, b, y)` for a
/// two-operand op, an operand and its tangent one value when broadcast;
/// a missing tangent is zero and its derivative is not evaluated.
pub(crate) fn tangent_zip_flat(
    a: &[f64],
    b: &[f64],
    y: &[f64],
    tangents: [Option<&[f64]>; 2],
    out: &mut [f64],
    d: impl Fn(usize, f64, f64, f64) -> f64,
) {
    let n = out.len();
    let full = |s: &[f64]| s.len() == n;
    if full(a) && full(b) && full(y) && tangents.iter().flatten().all(|t| full(t)) {
        // Nothing broadcast: one plain pass per case.
        let rows = out.iter_mut().zip(a.iter().zip(b)).zip(y);
        match tangents {
            [Some(ta), Some(tb)] => {
                for (k, ((o, (&p, &q)), &v)) in rows.enumerate() {
                    *o = ta[k] * d(0, p, q, v) + tb[k] * d(1, p, q, v);
                }
            }
            [Some(t), None] | [None, Some(t)] => {
                let i = usize::from(tangents[0].is_none());
                for (k, ((o, (&p, &q)), &v)) in rows.enumerate() {
                    *o = t[k] * d(i, p, q, v);
                }
            }
            [None, None] => out.fill(0.0),
        }
        return;
    }
    let at = |s: &[f64], k: usize| if s.len() == 1 { s[0] } else { s[k] };
    for (k, o) in out.iter_mut().enumerate() {
        let (p, q, v) = (at(a, k), at(b, k), y[k]);
        let mut sum = 0.0;
        for (i, t) in tangents.iter().enumerate() {
            if let Some(t) = t {
                sum += at(t, k) * d(i, p, q, v);
            }
        }
        *o = sum;
    }
}

/// The second-order VJP of one operand of an elementwise op (see
/// [`super::Flat::hvp_flat`]): `d(a, b, y)` evaluated on duals gives the
/// partial and its derivative along the tangents; an operand (and its
/// tangent) of one value is broadcast, an accumulator of one value sums.
#[allow(
    clippy::too_many_arguments,
    reason = "the values, tangents and cotangents of one step"
)]
pub(crate) fn accumulate_dual_flat(
    a: &[f64],
    ta: Option<&[f64]>,
    b: &[f64],
    tb: Option<&[f64]>,
    y: &[f64],
    ty: Option<&[f64]>,
    g: &[f64],
    gt: &[f64],
    acc: &mut [f64],
    acc_t: &mut [f64],
    d: impl Fn(Dual, Dual, Dual) -> Dual,
) {
    let n = y.len();
    let full = |t: Option<&[f64]>| t.is_none_or(|t| t.len() == n);
    if [a.len(), b.len(), g.len(), gt.len(), acc.len(), acc_t.len()]
        .iter()
        .all(|&len| len == n)
        && full(ta)
        && full(tb)
        && full(ty)
    {
        // No broadcasting: the same arithmetic without a branch per element
        // on which operands and tangents there are.
        let (ta, tb, ty) = (ta.unwrap_or(&[]), tb.unwrap_or(&[]), ty.unwrap_or(&[]));
        let run = match (!ta.is_empty(), !tb.is_empty(), !ty.is_empty()) {
            (false, false, false) => dual_same_len::<false, false, false>,
            (true, false, false) => dual_same_len::<true, false, false>,
            (false, true, false) => dual_same_len::<false, true, false>,
            (true, true, false) => dual_same_len::<true, true, false>,
            (false, false, true) => dual_same_len::<false, false, true>,
            (true, false, true) => dual_same_len::<true, false, true>,
            (false, true, true) => dual_same_len::<false, true, true>,
            (true, true, true) => dual_same_len::<true, true, true>,
        };
        return run(a, ta, b, tb, y, ty, g, gt, acc, acc_t, &d);
    }
    let at = |s: &[f64], k: usize| if s.len() == 1 { s[0] } else { s[k] };
    let tangent = |t: Option<&[f64]>, k: usize| t.map_or(0.0, |t| at(t, k));
    let sums = acc.len() == 1 && y.len() != 1;
    for k in 0..y.len() {
        let (gv, gtv) = (g[k], gt[k]);
        if gv == 0.0 && gtv == 0.0 {
            continue;
        }
        let d = d(
            Dual::new(at(a, k), tangent(ta, k)),
            Dual::new(at(b, k), tangent(tb, k)),
            Dual::new(y[k], tangent(ty, k)),
        );
        let j = if sums { 0 } else { k };
        acc[j] += gv * d.v;
        acc_t[j] += gtv * d.v + if gv == 0.0 { 0.0 } else { gv * d.t };
    }
}

/// [`accumulate_dual_flat`] when every slice has the result's length; the
/// tangents whose flag is false are absent (zero).
#[allow(
    clippy::too_many_arguments,
    reason = "the values, tangents and cotangents of one step"
)]
#[inline(always)]
fn dual_same_len<const TA: bool, const TB: bool, const TY: bool>(
    a: &[f64],
    ta: &[f64],
    b: &[f64],
    tb: &[f64],
    y: &[f64],
    ty: &[f64],
    g: &[f64],
    gt: &[f64],
    acc: &mut [f64],
    acc_t: &mut [f64],
    d: &impl Fn(Dual, Dual, Dual) -> Dual,
) {
    let n = y.len();
    let (a, b, g, gt, acc, acc_t) = (
        &a[..n],
        &b[..n],
        &g[..n],
        &gt[..n],
        &mut acc[..n],
        &mut acc_t[..n],
    );
    let (ta, tb, ty) = (
        &ta[..if TA { n } else { 0 }],
        &tb[..if TB { n } else { 0 }],
        &ty[..if TY { n } else { 0 }],
    );
    for k in 0..n {
        let (gv, gtv) = (g[k], gt[k]);
        if gv == 0.0 && gtv == 0.0 {
            continue;
        }
        let d = d(
            Dual::new(a[k], if TA { ta[k] } else { 0.0 }),
            Dual::new(b[k], if TB { tb[k] } else { 0.0 }),
            Dual::new(y[k], if TY { ty[k] } else { 0.0 }),
        );
        acc[k] += gv * d.v;
        acc_t[k] += gtv * d.v + if gv == 0.0 { 0.0 } else { gv * d.t };
    }
}

/// `acc += g * d(a, b, y)` for one operand of a two-operand op, summed
/// when that operand is one value broadcast.
pub(crate) fn accumulate_zip_flat(
    a: &[f64],
    b: &[f64],
    y: &[f64],
    g: &[f64],
    acc: &mut [f64],
    d: impl Fn(f64, f64, f64) -> f64,
) {
    let n = y.len();
    let at = |s: &[f64], k: usize| if s.len() == 1 { s[0] } else { s[k] };
    if a.len() == n && b.len() == n && acc.len() == n {
        for ((((acc, &g), &a), &b), &y) in acc.iter_mut().zip(g).zip(a).zip(b).zip(y) {
            *acc += g * d(a, b, y);
        }
    } else if acc.len() == n && g.len() == n {
        for (k, acc) in acc.iter_mut().enumerate() {
            *acc += g[k] * d(at(a, k), at(b, k), y[k]);
        }
    } else if let [acc] = acc
        && g.len() == n
    {
        *acc += (0..n)
            .map(|k| g[k] * d(at(a, k), at(b, k), y[k]))
            .sum::<f64>();
    }
}
