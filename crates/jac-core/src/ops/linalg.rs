//! Matrix products with numpy's `matmul` semantics.
//!
//! A 1-D left operand is a row vector and a 1-D right operand a column
//! vector, their unit axis removed from the result; leading (batch) axes
//! broadcast. Products run through ndarray's `general_mat_mul`; when the right
//! operand has no batch axes, a batched left operand is folded into one tall
//! matrix so the whole product is a single kernel call (this is what makes a
//! block of stacked cotangent rows cost one matrix-matrix product).

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, Ix1, Ix2,
    IxDyn,
};

use super::{Flat, JvpContext, Op, VjpContext, apply};
use crate::alloc::{check_alloc, try_zeros};
use crate::broadcast::{broadcast_shapes, reshape_to};
use crate::cotangent::{Cot, Sparse};
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{mul, transpose};
use crate::simd::Mad;
use crate::sparse::{Curvature, Dep, Structure};
use crate::tensor::Tensor;

/// Shapes of one product, with 1-D operands promoted to matrices.
#[derive(Debug, Clone)]
struct Plan {
    batch: Vec<usize>,
    m: usize,
    n: usize,
    p: usize,
    out: Vec<usize>,
}

fn plan(a: &[usize], b: &[usize]) -> Result<Plan> {
    for (arg, s) in [("a", a), ("b", b)] {
        if s.is_empty() {
            return Err(Error::shape(format!(
                "matmul: {arg} must have at least 1 axis, got a 0-D operand (use mul for scalars)"
            )));
        }
    }
    let a_e: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b_e: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, n) = (a_e[a_e.len() - 2], a_e[a_e.len() - 1]);
    let (n_b, p) = (b_e[b_e.len() - 2], b_e[b_e.len() - 1]);
    if n != n_b {
        return Err(Error::shape(format!(
            "matmul: inner dimensions differ: a has shape {} ({n} columns), b has shape {} ({n_b} rows)",
            fmt_shape(a),
            fmt_shape(b)
        )));
    }
    let batch = broadcast_shapes(&a_e[..a_e.len() - 2], &b_e[..b_e.len() - 2], "matmul")?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(p);
    }
    check_alloc(&out, "matmul")?;
    Ok(Plan {
        batch,
        m,
        n,
        p,
        out,
    })
}

/// `a` as a `[.., rows, cols]` view (a 1-D `a` as one row or one column).
fn promoted<'a>(a: &ArrayViewD<'a, f64>, as_row: bool) -> Result<ArrayViewD<'a, f64>> {
    if a.ndim() > 1 {
        return Ok(a.clone());
    }
    let ax = if as_row { 0 } else { 1 };
    Ok(a.clone().insert_axis(Axis(ax)))
}

fn matrix<'a>(v: ArrayViewD<'a, f64>) -> Result<ArrayView2<'a, f64>> {
    v.into_dimensionality::<Ix2>()
        .map_err(|e| Error::internal(format!("matmul: {e}")))
}

/// The batch item `flat` (row-major over `batch`) of a view broadcast to
/// `batch ++ [r, c]`.
fn batch_item<'a>(v: &ArrayViewD<'a, f64>, batch: &[usize], flat: usize) -> ArrayViewD<'a, f64> {
    let mut item = v.clone();
    let mut rest = flat;
    let mut stride: usize = batch.iter().product();
    for &d in batch {
        stride /= d;
        item = item.index_axis_move(Axis(0), rest / stride);
        rest %= stride;
    }
    item
}

/// `v` broadcast to `batch ++ matrix`.
fn broadcast_batch<'b>(
    v: &'b ArrayViewD<'_, f64>,
    batch: &[usize],
    matrix: [usize; 2],
) -> Result<ArrayViewD<'b, f64>> {
    let shape = [batch, &matrix[..]].concat();
    v.broadcast(IxDyn(&shape))
        .ok_or_else(|| Error::internal("matmul: batch axes were not checked"))
}

fn vector<'a>(v: ArrayViewD<'a, f64>) -> Result<ndarray::ArrayView1<'a, f64>> {
    v.into_dimensionality::<Ix1>()
        .map_err(|e| Error::internal(format!("matmul: {e}")))
}

crate::simd::dispatch! {
    /// `y = A x` for a row-major `A` of `y.len()` rows: four rows at a time,
    /// so each load of `x` serves four dot products, each kept in four lanes
    /// the compiler turns into vector arithmetic. Streams `A` once, without
    /// the copy a packed product would make of it.
    fn mat_vec(a: &[f64], x: &[f64], y: &mut [f64]) = mat_vec_body
}

#[inline(always)]
fn mat_vec_body<M: Mad>(a: &[f64], x: &[f64], y: &mut [f64]) {
    let n = x.len();
    if n == 0 {
        y.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let full = y.len() / 4 * 4;
    for (yb, ab) in y.chunks_exact_mut(4).zip(a.chunks_exact(4 * n)) {
        let (r0, rest) = ab.split_at(n);
        let (r1, rest) = rest.split_at(n);
        let (r2, r3) = rest.split_at(n);
        yb.copy_from_slice(&dot4::<M>(x, [r0, r1, r2, r3]));
    }
    for (v, row) in y[full..].iter_mut().zip(a[full * n..].chunks_exact(n)) {
        *v = dot4::<M>(x, [row, row, row, row])[0];
    }
}

/// The dot products of `x` with four rows, each kept in four lanes the
/// compiler turns into vector arithmetic (no closure: a closure would be
/// compiled outside the caller's target features).
#[inline(always)]
fn dot4<M: Mad>(x: &[f64], r: [&[f64]; 4]) -> [f64; 4] {
    let n = x.len();
    let mut acc = [[0.0f64; 4]; 4];
    let chunks = x
        .chunks_exact(4)
        .zip(r[0].chunks_exact(4))
        .zip(r[1].chunks_exact(4))
        .zip(r[2].chunks_exact(4))
        .zip(r[3].chunks_exact(4));
    for ((((xs, q0), q1), q2), q3) in chunks {
        for l in 0..4 {
            acc[0][l] = M::mad(acc[0][l], q0[l], xs[l]);
            acc[1][l] = M::mad(acc[1][l], q1[l], xs[l]);
            acc[2][l] = M::mad(acc[2][l], q2[l], xs[l]);
            acc[3][l] = M::mad(acc[3][l], q3[l], xs[l]);
        }
    }
    let split = n - n % 4;
    let mut out = [0.0; 4];
    for k in 0..4 {
        let mut tail = 0.0;
        for (a, b) in r[k][split..].iter().zip(&x[split..]) {
            tail += a * b;
        }
        out[k] = (acc[k][0] + acc[k][1]) + (acc[k][2] + acc[k][3]) + tail;
    }
    out
}

crate::simd::dispatch! {
    /// `y = x^T B` for a row-major `B` of `x.len()` rows: `y` accumulates
    /// four rows of `B` per pass. Streams `B` once.
    fn vec_mat(x: &[f64], b: &[f64], y: &mut [f64]) = vec_mat_body
}

#[inline(always)]
fn vec_mat_body<M: Mad>(x: &[f64], b: &[f64], y: &mut [f64]) {
    let p = y.len();
    y.iter_mut().for_each(|v| *v = 0.0);
    if p == 0 {
        return;
    }
    let full = x.len() / 4 * 4;
    for (xs, rows) in x.chunks_exact(4).zip(b.chunks_exact(4 * p)) {
        let (r0, rest) = rows.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        let (c0, c1, c2, c3) = (xs[0], xs[1], xs[2], xs[3]);
        for ((((v, &e0), &e1), &e2), &e3) in y.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *v += (c0 * e0 + c1 * e1) + (c2 * e2 + c3 * e3);
        }
    }
    for (&c, r) in x[full..].iter().zip(b[full * p..].chunks_exact(p)) {
        for (v, &e) in y.iter_mut().zip(r) {
            *v = M::mad(*v, c, e);
        }
    }
}

crate::simd::dispatch! {
    /// `out = A B` for a short `A` (`k` rows of `m`: the stacked cotangent
    /// rows of a small read) and a row-major `B` (`m` rows of `p`): each
    /// group of four rows of `B` is read once and added into every output
    /// row, instead of packing a copy of `B` as a general product does.
    fn rows_mat(a: &[f64], m: usize, b: &[f64], p: usize, out: &mut [f64]) = rows_mat_body
}

#[inline(always)]
fn rows_mat_body<M: Mad>(a: &[f64], m: usize, b: &[f64], p: usize, out: &mut [f64]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    if p == 0 || m == 0 {
        return;
    }
    let full = m / 4 * 4;
    for (r, rows) in b.chunks_exact(4 * p).enumerate() {
        let (r0, rest) = rows.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        for (arow, orow) in a.chunks_exact(m).zip(out.chunks_exact_mut(p)) {
            let c = &arow[4 * r..4 * r + 4];
            let (c0, c1, c2, c3) = (c[0], c[1], c[2], c[3]);
            for ((((v, &e0), &e1), &e2), &e3) in orow.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
                *v += (c0 * e0 + c1 * e1) + (c2 * e2 + c3 * e3);
            }
        }
    }
    for (i, row) in b[full * p..].chunks_exact(p).enumerate() {
        for (arow, orow) in a.chunks_exact(m).zip(out.chunks_exact_mut(p)) {
            let c = arow[full + i];
            for (v, &e) in orow.iter_mut().zip(row) {
                *v = M::mad(*v, c, e);
            }
        }
    }
}

/// `out = A B` for a row-major `A` (`n` values per row) and a narrow
/// row-major `B` (`n` rows of `p <= FEW_ROWS`: stacked tangent columns, a
/// 3 x 3 rotation): four rows of `A` at a time against `B` padded to a
/// width of 4, 8 or 16, so each element of `A` is read once and multiplies
/// a whole row of `B` held in registers. A packed product would copy all of
/// `A` first, which costs as much as this whole product when `p` is small.
fn mat_cols(a: &[f64], n: usize, b: &[f64], p: usize, out: &mut [f64]) -> Result<()> {
    let width = match p {
        0 => return Ok(()),
        1..=4 => 4,
        5..=8 => 8,
        _ => 16,
    };
    let mut padded = crate::pool::scratch(n * width)?;
    for (row, src) in padded.chunks_exact_mut(width).zip(b.chunks_exact(p)) {
        row[..p].copy_from_slice(src);
        row[p..].iter_mut().for_each(|v| *v = 0.0);
    }
    let bp = &padded[..];
    let rows = |a: &[f64], out: &mut [f64]| match width {
        4 => mat_cols_4(a, n, bp, p, out),
        8 => mat_cols_8(a, n, bp, p, out),
        _ => mat_cols_16(a, n, bp, p, out),
    };
    let m = out.len() / p;
    let threads = crate::parallel::threads_for(m / 4, a.len());
    if threads <= 1 {
        rows(a, out);
    } else {
        // Whole groups of four rows per thread.
        let share = m.div_ceil(threads).div_ceil(4) * 4;
        crate::parallel::run_shares(
            out.chunks_mut(share * p).zip(a.chunks(share * n)),
            |(o, a)| rows(a, o),
        );
    }
    crate::pool::recycle(padded);
    Ok(())
}

crate::simd::dispatch! {
    fn mat_cols_4(a: &[f64], n: usize, bp: &[f64], p: usize, out: &mut [f64]) = mat_cols_body::<4>
}
crate::simd::dispatch! {
    fn mat_cols_8(a: &[f64], n: usize, bp: &[f64], p: usize, out: &mut [f64]) = mat_cols_body::<8>
}
crate::simd::dispatch! {
    fn mat_cols_16(a: &[f64], n: usize, bp: &[f64], p: usize, out: &mut [f64]) = mat_cols_body::<16>
}

/// [`mat_cols`] on rows of `A` with `B` padded to `W` lanes (`bp`).
#[inline(always)]
fn mat_cols_body<M: Mad, const W: usize>(
    a: &[f64],
    n: usize,
    bp: &[f64],
    p: usize,
    out: &mut [f64],
) {
    for (o, rs) in out.chunks_exact_mut(4 * p).zip(a.chunks_exact(4 * n)) {
        let (r0, rest) = rs.split_at(n);
        let (r1, rest) = rest.split_at(n);
        let (r2, r3) = rest.split_at(n);
        let mut acc = [[0.0f64; W]; 4];
        for ((((bi, &c0), &c1), &c2), &c3) in bp.chunks_exact(W).zip(r0).zip(r1).zip(r2).zip(r3) {
            for l in 0..W {
                acc[0][l] = M::mad(acc[0][l], c0, bi[l]);
                acc[1][l] = M::mad(acc[1][l], c1, bi[l]);
                acc[2][l] = M::mad(acc[2][l], c2, bi[l]);
                acc[3][l] = M::mad(acc[3][l], c3, bi[l]);
            }
        }
        for (o, acc) in o.chunks_exact_mut(p).zip(&acc) {
            store(o, acc);
        }
    }
    let full = out.len() / (4 * p) * 4;
    for (o, r) in out[full * p..]
        .chunks_exact_mut(p)
        .zip(a[full * n..].chunks_exact(n))
    {
        let mut acc = [0.0f64; W];
        for (bi, &c) in bp.chunks_exact(W).zip(r) {
            for l in 0..W {
                acc[l] = M::mad(acc[l], c, bi[l]);
            }
        }
        store(o, &acc);
    }
}

/// The first `o.len()` lanes of `acc` into `o`, lane by lane: a copy of a
/// few values that would otherwise be a call to `memcpy`.
#[inline(always)]
fn store<const W: usize>(o: &mut [f64], acc: &[f64; W]) {
    for (l, &v) in acc.iter().enumerate() {
        if let Some(o) = o.get_mut(l) {
            *o = v;
        }
    }
}

/// `c = x y` for matrices: narrow contiguous right operands through
/// [`mat_cols`], everything else through `general_mat_mul` (`c` is
/// overwritten).
fn product_2d(
    x: &ArrayView2<'_, f64>,
    y: &ArrayView2<'_, f64>,
    c: &mut ndarray::ArrayViewMut2<'_, f64>,
) -> Result<()> {
    let (n, p) = y.dim();
    if p <= FEW_ROWS
        && let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice())
        && let Some(cs) = c.as_slice_mut()
    {
        return mat_cols(xs, n, ys, p, cs);
    }
    general_mat_mul(1.0, x, y, 0.0, c);
    Ok(())
}

/// `out = a b` for matrices, into row-major `out` (overwritten): few
/// rows (a small read's stacked cotangents, folded batch items included)
/// through [`rows_mat`], the rest through [`product_2d`]. Every 2-D
/// product of [`product`] and of [`Matmul::jvp_into`] chooses here.
fn matrix_product_into(
    a: &ArrayView2<'_, f64>,
    b: &ArrayView2<'_, f64>,
    out: &mut [f64],
) -> Result<()> {
    let (m, n) = a.dim();
    let p = b.ncols();
    if n == 0 {
        out.fill(0.0);
        return Ok(());
    }
    if m <= FEW_ROWS {
        let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
        if let (Some(av), Some(bv)) = (a.as_slice(), b.as_slice()) {
            rows_mat(av, n, bv, p, out);
            return Ok(());
        }
    }
    let mut c = ndarray::ArrayViewMut2::from_shape((m, p), out)
        .map_err(|e| Error::internal(format!("matmul: {e}")))?;
    product_2d(a, b, &mut c)
}

/// Above this many values, a right operand is worth packing once for all
/// stacked rows of a tangent ([`Matmul::jvp_into`] declines).
const LARGE_RIGHT: usize = 4096;

/// Up to this many rows on the left, a product goes through [`rows_mat`].
const FEW_ROWS: usize = 16;

fn product(a: &ArrayViewD<'_, f64>, b: &ArrayViewD<'_, f64>, plan: &Plan) -> Result<ArrayD<f64>> {
    let (m, n, p) = (plan.m, plan.n, plan.p);
    // Nothing to multiply: an empty output (whose batch axes may be far
    // longer than memory) or an empty inner dimension (a sum of nothing).
    if n == 0 || plan.out.contains(&0) {
        return try_zeros(&plan.out, "matmul");
    }
    let rows: usize = plan.batch.iter().product();
    // Products with a vector go through the matrix-vector kernel, which
    // streams the matrix once instead of packing a copy of it.
    if b.ndim() == 1 {
        let out = if a.ndim() == 1 {
            ArrayD::from_elem(IxDyn(&[]), vector(a.view())?.dot(&vector(b.view())?))
        } else {
            let tall = a.as_standard_layout();
            let x = b.as_standard_layout();
            let mut y = crate::pool::scratch(rows * m)?;
            match (tall.as_slice(), x.as_slice()) {
                (Some(a), Some(x)) => {
                    // Large matrices: contiguous shares of the rows per thread.
                    let threads = crate::parallel::threads_for(y.len() / 4, a.len());
                    crate::parallel::for_each_chunk(&mut y, 4, a, n, threads, |a, y| {
                        mat_vec(a, x, y)
                    });
                }
                _ => return Err(Error::internal("matmul: operands are not contiguous")),
            }
            Array1::from_vec(y).into_dyn()
        };
        return out
            .into_shape_with_order(IxDyn(&plan.out))
            .map_err(|e| Error::internal(format!("matmul: {e}")));
    }
    if a.ndim() == 1 && b.ndim() == 2 {
        let x = a.as_standard_layout();
        let m2 = b.as_standard_layout();
        let mut y = vec![0.0; p];
        match (x.as_slice(), m2.as_slice()) {
            (Some(x), Some(m2)) => vec_mat(x, m2, &mut y),
            _ => return Err(Error::internal("matmul: operands are not contiguous")),
        }
        return Ok(Array1::from_vec(y).into_dyn());
    }
    let a_e = promoted(a, true)?;
    let b_e = promoted(b, false)?;
    // Every product below runs with beta = 0: the output is overwritten
    // whole and never read, so any initialized buffer will do.
    let mut out_e = Array2::from_shape_vec((rows * m, p), crate::pool::scratch(rows * m * p)?)
        .map_err(|e| Error::internal(format!("matmul: {e}")))?;
    let out = out_e
        .as_slice_mut()
        .ok_or_else(|| Error::internal("matmul: a new output is not contiguous"))?;
    if plan.batch.is_empty() {
        matrix_product_into(&matrix(a_e)?, &matrix(b_e)?, out)?;
    } else if b_e.ndim() == 2 {
        // Fold every batch item of `a` into one tall matrix: one kernel call.
        let a_b = broadcast_batch(&a_e, &plan.batch, [m, n])?;
        let tall = a_b.as_standard_layout();
        let tall = tall
            .view()
            .into_shape_with_order((rows * m, n))
            .map_err(|e| Error::internal(format!("matmul: {e}")))?;
        matrix_product_into(&tall, &matrix(b_e)?, out)?;
    } else {
        let a_b = broadcast_batch(&a_e, &plan.batch, [m, n])?;
        let b_b = broadcast_batch(&b_e, &plan.batch, [n, p])?;
        for t in 0..rows {
            let x = matrix(batch_item(&a_b, &plan.batch, t))?;
            let y = matrix(batch_item(&b_b, &plan.batch, t))?;
            let mut c = out_e.slice_mut(ndarray::s![t * m..(t + 1) * m, ..]);
            product_2d(&x, &y, &mut c)?;
        }
    }
    out_e
        .into_dyn()
        .into_shape_with_order(IxDyn(&plan.out))
        .map_err(|e| Error::internal(format!("matmul: {e}")))
}

/// Matrix product.
#[derive(Debug)]
pub(crate) struct Matmul {
    plan: Plan,
    /// Which operands are vectors (1-D).
    vectors: (bool, bool),
}

/// Up to this many operand values, an unbatched product with a vector runs
/// as a flat kernel on a replay's buffers (no views to build per step);
/// larger ones keep the array path, which splits work across threads.
const FLAT_VALUES: usize = 1 << 14;

/// Products with a vector, without batch axes: the kernels [`product`]
/// and [`vector_product_vjp`] run, on row-major buffers.
impl Flat for Matmul {
    fn applies(&self, inputs: &mut dyn Iterator<Item = &[usize]>, output: &[usize]) -> bool {
        let (Some(a), Some(b), None) = (inputs.next(), inputs.next(), inputs.next()) else {
            return false;
        };
        let values = a
            .iter()
            .product::<usize>()
            .saturating_add(b.iter().product());
        self.plan.batch.is_empty()
            && (a.len(), b.len()) != (2, 2)
            && a.len() <= 2
            && b.len() <= 2
            && (a.len() == 1, b.len() == 1) == self.vectors
            && self.plan.n > 0
            && !output.contains(&0)
            && values <= FLAT_VALUES
    }

    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        let [a, b] = x else { return };
        match self.vectors {
            (true, true) => {
                if let Some(o) = out.first_mut() {
                    *o = ArrayView1::from(*a).dot(&ArrayView1::from(*b));
                }
            }
            (false, true) => mat_vec(a, b, out),
            (true, false) => vec_mat(a, b, out),
            (false, false) => {}
        }
    }

    fn vjp_flat(&self, i: usize, x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
        if let [a, b] = x {
            vector_product_vjp(i, self.vectors, a, b, g, acc);
        }
    }

    /// `ta b + a tb`, each product by the forward kernel and summed as the
    /// graph rule adds them.
    fn jvp_flat(&self, x: &[&[f64]], _y: &[f64], t: &[Option<&[f64]>], out: &mut [f64]) -> bool {
        let ([a, b], [ta, tb]) = (x, t) else {
            return false;
        };
        match (ta, tb) {
            (Some(ta), None) => self.forward_flat(&[ta, b], out),
            (None, Some(tb)) => self.forward_flat(&[a, tb], out),
            (Some(ta), Some(tb)) => {
                self.forward_flat(&[ta, b], out);
                let mut second = vec![0.0; out.len()];
                self.forward_flat(&[a, tb], &mut second);
                out.iter_mut().zip(&second).for_each(|(o, &v)| *o += v);
            }
            (None, None) => out.fill(0.0),
        }
        true
    }
}

impl Op for Matmul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    /// Its plan follows from the operands' shapes.
    fn attributes(&self) -> Option<Vec<u64>> {
        Some(Vec::new())
    }

    /// `c[.., i, j] = sum_k a[.., i, k] b[.., k, j]`: each output element
    /// depends on row `i` of `a` and column `j` of `b` (of its batch item,
    /// batch axes broadcast), each product term coupling one `a_ik` with
    /// one `b_kj`.
    fn structure(&self, operands: &[&[usize]], _output: &[usize]) -> Result<Structure> {
        let [a, b] = operands else {
            return Err(Error::internal("matmul: expected two operands"));
        };
        let Plan { batch, m, n, p, .. } = &self.plan;
        let (m, n, p) = (*m, *n, *p);
        // Each operand's batch axes (a 1-D operand has none), broadcast.
        let batch_of = |s: &[usize]| s[..s.len().saturating_sub(2)].to_vec();
        let (map_a, map_b) = (
            crate::cotangent::BroadcastMap::new(batch, &batch_of(a)),
            crate::cotangent::BroadcastMap::new(batch, &batch_of(b)),
        );
        // Without output elements per item there is nothing to visit,
        // however many items the batch axes count.
        let items = if m * p == 0 || batch.contains(&0) {
            0
        } else {
            crate::ops::numel(batch)
                .ok_or_else(|| Error::out_of_memory("matmul: structure larger than memory"))?
        };
        let total = items
            .checked_mul(m * p)
            .and_then(|e| e.checked_mul(2 * n))
            .ok_or_else(|| Error::out_of_memory("matmul: structure larger than memory"))?;
        crate::alloc::reserve(total, &[total], "matmul: structure")?;
        let mut offsets = Vec::with_capacity(items * m * p + 1);
        let mut deps = Vec::with_capacity(total);
        offsets.push(0);
        for item in 0..items {
            let (ia, ib) = (map_a.map(item), map_b.map(item));
            for i in 0..m {
                for j in 0..p {
                    for k in 0..n {
                        deps.push(Dep {
                            operand: 0,
                            element: (ia * m + i) * n + k,
                        });
                        deps.push(Dep {
                            operand: 1,
                            element: (ib * n + k) * p + j,
                        });
                    }
                    offsets.push(deps.len());
                }
            }
        }
        Ok(Structure::Map {
            offsets,
            deps,
            curvature: Curvature::Products,
        })
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        product(&x[0], &x[1], &self.plan)
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }

    /// Without batch axes: the products of [`Op::vjp`] on the views, with
    /// the same kernels (so the same numbers), added into `acc`, with no
    /// graph nodes in between.
    fn vjp_into(
        &self,
        i: usize,
        x: &[ArrayViewD<'_, f64>],
        _y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let [a, b] = x else { return None };
        if !self.plan.batch.is_empty() || a.ndim() > 2 || b.ndim() > 2 {
            return None;
        }
        if a.is_empty() || b.is_empty() || g.is_empty() {
            // Every entry of the gradient is a sum over nothing.
            return Some(Ok(()));
        }
        Some(add_product_vjp(i, a, b, g, acc))
    }

    /// `ta b + a tb` for matrices, each product written straight into
    /// `out` (the second through a recycled buffer).
    fn jvp_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        _y: &ArrayViewD<'_, f64>,
        t: &[Option<ArrayViewD<'_, f64>>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        let [a, b] = x else { return None };
        if !self.plan.batch.is_empty() || a.ndim() != 2 || b.ndim() != 2 {
            return None;
        }
        // A tangent of `a` against a large `b`: the graph rule stacks the
        // rows of every tangent into one product that packs `b` once,
        // where row by row would pack it per row.
        if t.first().is_some_and(Option::is_some) && b.len() > LARGE_RIGHT {
            return None;
        }
        let out = out.as_slice_mut()?;
        Some((|| {
            let mut written = false;
            for (i, tangent) in t.iter().enumerate() {
                let Some(tangent) = tangent else { continue };
                let (l, r) = if i == 0 { (tangent, b) } else { (a, tangent) };
                let (l, r) = (matrix(l.view())?, matrix(r.view())?);
                if !written {
                    matrix_product_into(&l, &r, out)?;
                    written = true;
                    continue;
                }
                let mut term = crate::pool::scratch(out.len())?;
                matrix_product_into(&l, &r, &mut term)?;
                out.iter_mut().zip(&term).for_each(|(o, &v)| *o += v);
                crate::pool::recycle(term);
            }
            if !written {
                out.fill(0.0);
            }
            Ok(())
        })())
    }

    /// A product costs its multiply-adds.
    fn work(&self, _inputs: &[Tensor], _output: &ArrayD<f64>) -> usize {
        let p = &self.plan;
        [p.m, p.n, p.p]
            .iter()
            .fold(p.batch.iter().product::<usize>(), |w, &d| {
                w.saturating_mul(d)
            })
    }

    /// `ta b + a tb`: each tangent gets unit batch axes after the stacked
    /// ones (so the stacked axes lead the product's batch), a vector
    /// becomes a row (`a`) or a column (`b`), and the product is reshaped
    /// to `L ++ output shape`.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let (a, b) = (cx.input(0), cx.input(1));
        let lead_out = cx.with_lead(&self.plan.out);
        if a.numel() == 0 || b.numel() == 0 {
            return Tensor::zeros(&lead_out);
        }
        let batch = self.plan.batch.len();
        let lifted = |x: &Tensor, tx: &Tensor, vector: [usize; 2]| -> Result<Tensor> {
            let mut shape = cx.lead_shape.to_vec();
            if x.ndim() == 1 {
                shape.extend(std::iter::repeat_n(1, batch));
                shape.extend(vector);
            } else {
                shape.extend(std::iter::repeat_n(1, batch.saturating_sub(x.ndim() - 2)));
                shape.extend_from_slice(x.shape());
            }
            reshape_to(tx, &shape)
        };
        let n = self.plan.n;
        // Without batch axes and with at most one stacked axis, the k
        // tangents go through one matrix product, not k products of a
        // vector: `[k, n] b`, `[k m, n] b`, and `tb a^T` as `(a tb^T)^T`.
        let plain = batch == 0 && cx.lead() <= 1 && b.ndim() <= 2 && a.ndim() <= 2;
        let k = cx.lead_shape.iter().product::<usize>();
        let mut sum: Option<Tensor> = None;
        for (i, tangent) in t.iter().enumerate() {
            let Some(tangent) = tangent else { continue };
            let product = match (i, plain, a.ndim(), b.ndim()) {
                (0, true, 1, 2) => matmul(tangent, b)?,
                (0, true, 2, _) => {
                    let rows = reshape_to(tangent, &[k * self.plan.m, n])?;
                    matmul(&rows, b)?
                }
                (1, true, 2, 1) if cx.lead() == 0 => matmul(a, tangent)?,
                // (a tb^T)^T: copies the k x n tangents and k x m products,
                // not a itself.
                (1, true, 2, 1) => {
                    let columns = matmul(a, &transpose(tangent, &[1, 0])?)?;
                    transpose(&columns, &[1, 0])?
                }
                (0, _, _, _) => matmul(&lifted(a, tangent, [1, n])?, b)?,
                _ => matmul(a, &lifted(b, tangent, [n, 1])?)?,
            };
            let term = reshape_to(&product, &lead_out)?;
            sum = Some(match sum {
                None => term,
                Some(s) => crate::ops::add(&s, &term)?,
            });
        }
        sum.ok_or_else(|| Error::internal("matmul: jvp got no tangent"))
    }

    /// For matrices, `da = g b^T` and `db = a^T g`; a 1-D operand's unit axis
    /// is put back in the cotangent first and taken out of its gradient after.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b, g) = (cx.input(0), cx.input(1), g);
        if a.numel() == 0 || b.numel() == 0 || g.numel() == 0 {
            // Every entry of both gradients is a sum over nothing, and the
            // products below would form per-sample intermediates of a batch
            // that may be huge when it holds no values.
            let zeros = |i: usize| -> Result<Option<Tensor>> {
                cx.needs(i)
                    .then(|| Tensor::zeros(&cx.with_lead(cx.input(i).shape())))
                    .transpose()
            };
            return Ok(vec![zeros(0)?, zeros(1)?]);
        }
        let lead_out = cx.with_lead(&self.plan.out);
        let mut grad_a = None;
        let mut grad_b = None;
        match (a.ndim(), b.ndim()) {
            (1, 1) => {
                let g1 = reshape_to(g, &[&lead_out[..], &[1]].concat())?;
                if cx.needs(0) {
                    grad_a = Some(mul(&g1, b)?);
                }
                if cx.needs(1) {
                    grad_b = Some(mul(&g1, a)?);
                }
            }
            (_, 1) => {
                if cx.needs(0) {
                    let column = reshape_to(g, &[&lead_out[..], &[1]].concat())?;
                    grad_a = Some(mul(&column, b)?);
                }
                if cx.needs(1) {
                    grad_b = Some(if a.ndim() == 2 {
                        matmul(g, a)?
                    } else {
                        let row = reshape_to(g, &unit_before_last(&lead_out))?;
                        drop_second_last(&matmul(&row, a)?)?
                    });
                }
            }
            (1, _) => {
                if cx.needs(0) {
                    grad_a = Some(if b.ndim() == 2 {
                        matmul(g, &transpose_last2(b)?)?
                    } else {
                        let row = reshape_to(g, &unit_before_last(&lead_out))?;
                        drop_second_last(&matmul(&row, &transpose_last2(b)?)?)?
                    });
                }
                if cx.needs(1) {
                    let row = reshape_to(g, &unit_before_last(&lead_out))?;
                    let column = reshape_to(a, &[self.plan.n, 1])?;
                    grad_b = Some(mul(&column, &row)?);
                }
            }
            _ => {
                if cx.needs(0) {
                    grad_a = Some(matmul(g, &transpose_last2(b)?)?);
                }
                if cx.needs(1) {
                    grad_b = Some(matmul(&transpose_last2(a)?, g)?);
                }
            }
        }
        Ok(vec![grad_a, grad_b])
    }

    /// With a sparse cotangent, the gradient of the vector (or row-batch)
    /// operand is a sum of a few scaled rows or columns of the constant one:
    /// a gather instead of a product with a mostly-zero matrix.
    fn vjp_sparse(&self, cx: &VjpContext<'_>, g: &Sparse) -> Option<Result<Vec<Option<Cot>>>> {
        let (a, b) = (cx.input(0).value(), cx.input(1).value());
        let (n, p) = (self.plan.n, self.plan.p);
        let (which, grad, shape) = match (a.ndim(), b.ndim()) {
            // y = A x: dy_i/dx = row i of A.
            (2, 1) if !cx.needs(0) => {
                let a2 = a.view().into_dimensionality::<Ix2>().ok()?;
                (1, gather(g, 1, n, |i| a2.row(i), |_| 0), vec![n])
            }
            // y = x B: dy_j/dx = column j of B.
            (1, 2) if !cx.needs(1) => {
                let b2 = b.view().into_dimensionality::<Ix2>().ok()?;
                (0, gather(g, 1, n, |j| b2.column(j), |_| 0), vec![n])
            }
            // Y = X B: dY_ij/dX = column j of B, in row i.
            (2, 2) if !cx.needs(1) => {
                // B's columns as contiguous rows of B^T: many samples gather
                // the same few columns.
                let bt = b
                    .view()
                    .into_dimensionality::<Ix2>()
                    .ok()?
                    .t()
                    .as_standard_layout()
                    .into_owned();
                let m = self.plan.m;
                (
                    0,
                    gather(g, m, n, |pos| bt.row(pos % p), |pos| pos / p),
                    vec![m, n],
                )
            }
            _ => return None,
        };
        let mut full = vec![g.k];
        full.extend_from_slice(&shape);
        let grad = grad.and_then(|grad| {
            grad.into_dyn()
                .into_shape_with_order(IxDyn(&full))
                .map_err(|e| Error::internal(format!("matmul: {e}")))
        });
        let grad = grad.map(|v| Cot::Dense(Tensor::constant(v)));
        let mut grads = vec![None, None];
        Some(grad.map(|grad| {
            grads[which] = Some(grad);
            grads
        }))
    }
}

/// The `[k, rows * width]` gradient of a sparse cotangent's rows where
/// output entry `pos` contributes `value * line(pos)` to the stretch
/// `at(pos)` of its row.
fn gather<'a>(
    g: &Sparse,
    rows: usize,
    width: usize,
    line: impl Fn(usize) -> ArrayView1<'a, f64>,
    at: impl Fn(usize) -> usize,
) -> Result<Array2<f64>> {
    let len = crate::alloc::checked_numel(&[g.k, rows, width], "matmul: gradient")?;
    let mut out = Array2::from_shape_vec((g.k, rows * width), crate::pool::zeros(len)?)
        .map_err(|e| Error::internal(format!("matmul: {e}")))?;
    for (t, mut row) in out.outer_iter_mut().enumerate() {
        for (pos, v) in g.row(t) {
            let start = at(pos) * width;
            row.slice_mut(ndarray::s![start..start + width])
                .scaled_add(v, &line(pos));
        }
    }
    Ok(out)
}

/// `shape` with a unit axis inserted before its last axis.
fn unit_before_last(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.insert(s.len() - 1, 1);
    s
}

/// Removes the unit second-to-last axis of `t`.
fn drop_second_last(t: &Tensor) -> Result<Tensor> {
    let mut s = t.shape().to_vec();
    s.remove(s.len() - 2);
    reshape_to(t, &s)
}

/// Swaps the last two axes.
/// `acc += d (a @ b) / d operand i` applied to `g`, for operands of at most
/// two axes: outer products as the elementwise products [`Op::vjp`] forms,
/// the rest through [`product`] with a transposed operand made row-major as
/// its transpose op would.
fn add_product_vjp(
    i: usize,
    a: &ArrayViewD<'_, f64>,
    b: &ArrayViewD<'_, f64>,
    g: &ArrayViewD<'_, f64>,
    acc: &mut ArrayViewMutD<'_, f64>,
) -> Result<()> {
    let contiguous = || Error::internal("matmul: a gradient buffer is not contiguous");
    if a.ndim() == 1 || b.ndim() == 1 {
        let vectors = (a.ndim() == 1, b.ndim() == 1);
        let (a, b, g) = (
            a.as_standard_layout(),
            b.as_standard_layout(),
            g.as_standard_layout(),
        );
        let (Some(a), Some(b), Some(g)) = (a.as_slice(), b.as_slice(), g.as_slice()) else {
            return Err(contiguous());
        };
        vector_product_vjp(
            i,
            vectors,
            a,
            b,
            g,
            acc.as_slice_mut().ok_or_else(contiguous)?,
        );
        return Ok(());
    }
    let add = |acc: &mut ArrayViewMutD<'_, f64>, grad: ArrayD<f64>| -> Result<()> {
        if grad.shape() != acc.shape() {
            return Err(Error::internal(format!(
                "matmul: a gradient of shape {} for an operand of shape {}",
                fmt_shape(grad.shape()),
                fmt_shape(acc.shape())
            )));
        }
        ndarray::Zip::from(acc).and(&grad).for_each(|a, &v| *a += v);
        Ok(())
    };
    let times = |l: &ArrayViewD<'_, f64>, r: &ArrayViewD<'_, f64>| -> Result<ArrayD<f64>> {
        product(l, r, &plan(l.shape(), r.shape())?)
    };
    let transposed = |t: &ArrayViewD<'_, f64>| t.t().as_standard_layout().into_owned();
    // Matrices: da = g @ b^T, db = a^T @ g.
    if i == 0 {
        add(acc, times(g, &transposed(b).view())?)
    } else {
        add(acc, times(&transposed(a).view(), g)?)
    }
}

/// `acc += d (a @ b) / d operand i` applied to `g` when `a` or `b` is a
/// vector (`vectors`: which; no batch axes), on row-major buffers: outer
/// products as the elementwise products [`Op::vjp`] forms, the rest
/// through the vector-matrix kernel [`product`] runs, after the transpose
/// of `b` its transpose op would make (the same numbers as the graph rule).
fn vector_product_vjp(
    i: usize,
    vectors: (bool, bool),
    a: &[f64],
    b: &[f64],
    g: &[f64],
    acc: &mut [f64],
) {
    // acc[j, k] += col[j] * row[k] (`col` may be one value: one row).
    let outer = |acc: &mut [f64], col: &[f64], row: &[f64]| {
        for (acc, &c) in acc.chunks_exact_mut(row.len().max(1)).zip(col) {
            acc.iter_mut().zip(row).for_each(|(a, &r)| *a += c * r);
        }
    };
    let add = |acc: &mut [f64], grad: &[f64]| acc.iter_mut().zip(grad).for_each(|(a, &v)| *a += v);
    match (vectors, i) {
        // g is 0-D (two vectors) or [m] (a matrix and a vector): g b, g a.
        ((_, true), 0) => outer(acc, g, b),
        ((true, true), _) => outer(acc, g, a),
        // db = g @ a.
        ((false, true), _) => {
            let mut db = vec![0.0; acc.len()];
            vec_mat(g, a, &mut db);
            add(acc, &db);
        }
        // g is [p]: da = g @ b^T, db = a (column) * g.
        ((true, false), 0) => {
            let (n, p) = (a.len(), g.len());
            let mut b_t = vec![0.0; n * p];
            for (k, row) in b.chunks_exact(p.max(1)).enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    b_t[j * n + k] = v;
                }
            }
            let mut da = vec![0.0; n];
            vec_mat(g, &b_t, &mut da);
            add(acc, &da);
        }
        ((true, false), _) => outer(acc, a, g),
        ((false, false), _) => {}
    }
}

fn transpose_last2(t: &Tensor) -> Result<Tensor> {
    let nd = t.ndim() as isize;
    let perm: Vec<isize> = (0..nd - 2).chain([nd - 1, nd - 2]).collect();
    transpose(t, &perm)
}

/// The matrix product of `a` and `b` with numpy's `matmul` rules: 1-D
/// operands are promoted to a row (left) or column (right) and the unit axis
/// is removed from the result; batch axes broadcast.
///
/// Errors: `Shape` for a 0-D operand, inner dimensions that differ, or batch
/// axes that do not broadcast.
///
/// ```
/// use jac_core::{Tensor, matmul};
/// let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], false)?;
/// let x = Tensor::from_vec(vec![1.0, 0.0, -1.0], &[3], false)?;
/// assert_eq!(matmul(&w, &x)?.to_vec(), vec![-2.0, -2.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let plan = plan(a.shape(), b.shape())?;
    let vectors = (a.ndim() == 1, b.ndim() == 1);
    apply(Matmul { plan, vectors }, vec![a.clone(), b.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{Fused, Plain};

    /// Deterministic values in [-1, 1) that are not small integers (so a
    /// product's rounding shows).
    fn values(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    /// `A B` summed in order, for `m x n` times `n x p`.
    fn naive(a: &[f64], b: &[f64], m: usize, n: usize, p: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * p];
        for i in 0..m {
            for j in 0..p {
                out[i * p + j] = (0..n).map(|k| a[i * n + k] * b[k * p + j]).sum();
            }
        }
        out
    }

    fn assert_close(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-13 * (1.0 + w.abs()),
                "{what}: entry {k}: {g} vs {w}"
            );
        }
    }

    /// Every kernel, in both variants where the CPU has FMA, on shapes
    /// with and without a tail of rows or lanes, against the naive sum.
    #[test]
    fn the_streaming_kernels_agree_with_the_naive_product() {
        for (m, n) in [(1, 1), (3, 5), (4, 4), (9, 7), (13, 1)] {
            let a = values(m * n, 1);
            let x = values(n, 2);
            let mut y = vec![f64::NAN; m];
            mat_vec(&a, &x, &mut y);
            assert_close(&y, &naive(&a, &x, m, n, 1), &format!("mat_vec {m}x{n}"));
            mat_vec_body::<Plain>(&a, &x, &mut y);
            assert_close(
                &y,
                &naive(&a, &x, m, n, 1),
                &format!("mat_vec plain {m}x{n}"),
            );
            let xm = values(m, 3);
            let mut z = vec![f64::NAN; n];
            vec_mat(&xm, &a, &mut z);
            assert_close(&z, &naive(&xm, &a, 1, m, n), &format!("vec_mat {m}x{n}"));
            for p in 1..=FEW_ROWS {
                let b = values(n * p, 4 + p as u64);
                let want = naive(&a, &b, m, n, p);
                let mut out = vec![f64::NAN; m * p];
                mat_cols(&a, n, &b, p, &mut out).unwrap();
                assert_close(&out, &want, &format!("mat_cols {m}x{n}x{p}"));
                rows_mat(&a, n, &b, p, &mut out);
                assert_close(&out, &want, &format!("rows_mat {m}x{n}x{p}"));
                // The other variant than the CPU picks, through the padded rows.
                let width = if p <= 4 {
                    4
                } else if p <= 8 {
                    8
                } else {
                    16
                };
                let mut padded = vec![0.0; n * width];
                for (row, src) in padded.chunks_exact_mut(width).zip(b.chunks_exact(p)) {
                    row[..p].copy_from_slice(src);
                }
                let mut plain = vec![f64::NAN; m * p];
                let mut fused = vec![f64::NAN; m * p];
                match width {
                    4 => {
                        mat_cols_body::<Plain, 4>(&a, n, &padded, p, &mut plain);
                        mat_cols_body::<Fused, 4>(&a, n, &padded, p, &mut fused);
                    }
                    8 => {
                        mat_cols_body::<Plain, 8>(&a, n, &padded, p, &mut plain);
                        mat_cols_body::<Fused, 8>(&a, n, &padded, p, &mut fused);
                    }
                    _ => {
                        mat_cols_body::<Plain, 16>(&a, n, &padded, p, &mut plain);
                        mat_cols_body::<Fused, 16>(&a, n, &padded, p, &mut fused);
                    }
                }
                assert_close(&plain, &want, &format!("mat_cols plain {m}x{n}x{p}"));
                assert_close(&fused, &want, &format!("mat_cols fused {m}x{n}x{p}"));
            }
        }
    }

    /// A product large enough to split over threads: each share takes
    /// whole groups of four rows, and the result is the one thread's.
    #[test]
    fn a_narrow_product_split_over_threads_equals_the_unsplit_one() {
        let (m, n, p) = (1027, 1031, 5);
        let a = values(m * n, 7);
        let b = values(n * p, 8);
        let mut split = vec![f64::NAN; m * p];
        mat_cols(&a, n, &b, p, &mut split).unwrap();
        let mut padded = vec![0.0; n * 8];
        for (row, src) in padded.chunks_exact_mut(8).zip(b.chunks_exact(p)) {
            row[..p].copy_from_slice(src);
        }
        let mut whole = vec![f64::NAN; m * p];
        mat_cols_8(&a, n, &padded, p, &mut whole);
        assert_eq!(split, whole);
        assert_close(&whole, &naive(&a, &b, m, n, p), "1027 x 1031 x 5");
    }
}
