//! The lazy Jacobian and Hessian against Paddle's documented semantics:
//! nesting, 0-D and batched shapes, values (hand-derived, analytic or central
//! differences), numpy indexing, and the error for every bad input.
//!
//! Expected values are written as math in the comments next to them.

use jac_core::index::Index;
use jac_core::{
    Args, ErrorKind, Jacobian, Nested, Tensor, add, add_scalar, cos, div, exp, grad, hessian,
    jacobian, log, matmul, mul, neg, relu, reshape, scale, sigmoid, sin, slice, sqrt, square, sub,
    sum, tanh,
};

// ---------------------------------------------------------------------------
// Helpers

/// A leaf that requires grad.
fn leaf(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape, true).unwrap()
}

/// A constant.
fn konst(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape, false).unwrap()
}

/// Block `(i, k)` read with `index`: its shape and row-major values.
fn read(j: &Jacobian, i: usize, k: usize, index: &[Index]) -> (Vec<usize>, Vec<f64>) {
    let a = j
        .read(i, k, index)
        .unwrap_or_else(|e| panic!("block ({i}, {k}) {index:?}: {e:?}"));
    (a.shape().to_vec(), a.iter().copied().collect())
}

/// The whole block `(i, k)`.
fn full(j: &Jacobian, i: usize, k: usize) -> (Vec<usize>, Vec<f64>) {
    read(j, i, k, &[])
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: lengths ({got:?} vs {want:?})"
    );
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {k}: got {g:.12e}, want {w:.12e}\n got {got:?}\nwant {want:?}"
        );
    }
}

/// Checks block `(i, k)` against a shape and values.
fn assert_block(j: &Jacobian, i: usize, k: usize, shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(
        j.block_shape(i, k).unwrap(),
        shape,
        "block ({i}, {k}) shape"
    );
    let (s, v) = full(j, i, k);
    assert_eq!(s, shape, "block ({i}, {k}) read shape");
    assert_close(&v, want, tol, &format!("block ({i}, {k})"));
}

/// The `n x n` identity, row-major.
fn eye(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect()
}

/// `diag(d)`, row-major.
fn diag(d: &[f64]) -> Vec<f64> {
    let n = d.len();
    (0..n * n)
        .map(|k| if k / n == k % n { d[k / n] } else { 0.0 })
        .collect()
}

/// A small deterministic generator (SplitMix64) for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }

    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A program of the xs, rebuilt from new leaves for each evaluation.
type Program<'a> = &'a dyn Fn(&[Tensor]) -> Tensor;

/// Fresh leaves (requiring grad) with the values and shapes of `xs`.
fn leaves_like(xs: &[Tensor], values: &[Vec<f64>]) -> Vec<Tensor> {
    xs.iter()
        .zip(values)
        .map(|(x, v)| leaf(v, x.shape()))
        .collect()
}

/// The step of the central differences: truncation error ~h^2, rounding
/// ~1e-16 / h, both near 1e-10 here.
const H: f64 = 1e-5;

/// Central differences `(g(x + h e_k) - g(x - h e_k)) / 2h` of a vector
/// function `g` of the values of `xs`, for every element `k` of `xs[col]`:
/// the row-major `[len(g), numel(xs[col])]` matrix.
fn central(g: &dyn Fn(&[Vec<f64>]) -> Vec<f64>, xs: &[Tensor], col: usize) -> Vec<f64> {
    let base: Vec<Vec<f64>> = xs.iter().map(Tensor::to_vec).collect();
    let n = base[col].len();
    let mut columns = Vec::with_capacity(n);
    for k in 0..n {
        let mut p = base.clone();
        p[col][k] += H;
        let plus = g(&p);
        p[col][k] -= 2.0 * H;
        let minus = g(&p);
        columns.push(
            plus.iter()
                .zip(&minus)
                .map(|(a, b)| (a - b) / (2.0 * H))
                .collect::<Vec<_>>(),
        );
    }
    let m = columns.first().map_or(0, Vec::len);
    (0..m * n).map(|e| columns[e % n][e / n]).collect()
}

/// Central differences of `f`'s output with respect to `xs[col]`.
fn fd_jacobian(f: Program<'_>, xs: &[Tensor], col: usize) -> Vec<f64> {
    central(&|v| f(&leaves_like(xs, v)).to_vec(), xs, col)
}

/// Central differences of the gradient of `sum(f)` with respect to
/// `xs[row]`, taken with respect to `xs[col]`: a Hessian block from first
/// derivatives only.
fn fd_hessian(f: Program<'_>, xs: &[Tensor], row: usize, col: usize) -> Vec<f64> {
    central(
        &|v| {
            let xs = leaves_like(xs, v);
            let y = sum(&f(&xs), None, false).unwrap();
            grad(&[y], &xs, None, false).unwrap()[row].to_vec()
        },
        xs,
        col,
    )
}

/// The per-sample blocks `[B, M, N]` of a full `[B*M, B*N]` matrix (samples
/// are independent, so everything else is zero, which is asserted too).
fn per_sample(full: &[f64], b: usize, m: usize, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(b * m * n);
    for (e, &v) in full.iter().enumerate() {
        let (r, c) = (e / (b * n), e % (b * n));
        if r / m == c / n {
            out.push(v);
        } else {
            assert!(v.abs() < 1e-9, "test program mixes samples at ({r}, {c})");
        }
    }
    // `full` is walked row-major, and within one sample's rows the columns
    // of that sample come in order: the result is [b][m][n].
    out
}

// ---------------------------------------------------------------------------
// The seed example and nesting

#[test]
fn seed_example_y_is_x1_plus_x2() {
    // Paddle's docstring: y = x1 + x2, J = jacobian(y, (x1, x2)); dy/dx1 =
    // dy/dx2 = I.
    let x1 = leaf(&[-0.4624, 0.6623, 0.38], &[3]);
    let x2 = leaf(&[1.0051, 0.7353, 1.9495], &[3]);
    let y = add(&x1, &x2).unwrap();
    let j = jacobian(&y, &[x1, x2], None).unwrap();
    assert_eq!(j.blocks(), (1, 2));
    assert_eq!(
        j.structure(),
        Nested::Tuple(vec![Nested::Leaf((0, 0)), Nested::Leaf((0, 1))])
    );
    assert_block(&j, 0, 0, &[3, 3], &eye(3), 0.0);
    assert_block(&j, 0, 1, &[3, 3], &eye(3), 0.0);
    assert!(!j.is_batched());
}

/// (what, ys, xs, expected structure, expected grid).
type NestCase<'a> = (
    &'static str,
    Args<'a>,
    Args<'a>,
    Nested<(usize, usize)>,
    (usize, usize),
);

#[test]
fn nesting_follows_paddle_for_every_combination() {
    let a = leaf(&[0.5, -1.0], &[2]);
    let b = leaf(&[2.0, 0.25, 3.0], &[3]);
    let y1 = mul(&a, &a).unwrap(); // [2]
    let y2 = sin(&b).unwrap(); // [3]
    let leaf00 = || Nested::Leaf((0, 0));
    let l = |i, k| Nested::Leaf((i, k));
    let t = Nested::Tuple;

    let ys_tuple = [y1.clone(), y2.clone()];
    let xs_tuple = [a.clone(), b.clone()];
    let cases: Vec<NestCase<'_>> = vec![
        (
            "tensor/tensor",
            Args::One(&y1),
            Args::One(&a),
            leaf00(),
            (1, 1),
        ),
        (
            "tensor/tuple",
            Args::One(&y1),
            Args::Tuple(&xs_tuple),
            t(vec![l(0, 0), l(0, 1)]),
            (1, 2),
        ),
        (
            "tuple/tensor",
            Args::Tuple(&ys_tuple),
            Args::One(&b),
            t(vec![l(0, 0), l(1, 0)]),
            (2, 1),
        ),
        (
            "tuple/tuple",
            Args::Tuple(&ys_tuple),
            Args::Tuple(&xs_tuple),
            t(vec![t(vec![l(0, 0), l(0, 1)]), t(vec![l(1, 0), l(1, 1)])]),
            (2, 2),
        ),
        // A 1-tuple still nests, as in Paddle.
        (
            "tensor/1-tuple",
            Args::One(&y1),
            Args::Tuple(std::slice::from_ref(&a)),
            t(vec![leaf00()]),
            (1, 1),
        ),
        (
            "1-tuple/tensor",
            Args::Tuple(std::slice::from_ref(&y1)),
            Args::One(&a),
            t(vec![leaf00()]),
            (1, 1),
        ),
        (
            "1-tuple/1-tuple",
            Args::Tuple(std::slice::from_ref(&y1)),
            Args::Tuple(std::slice::from_ref(&a)),
            t(vec![t(vec![leaf00()])]),
            (1, 1),
        ),
    ];
    for (what, ys, xs, structure, blocks) in cases {
        let j = jacobian(ys, xs, None).unwrap();
        assert_eq!(j.structure(), structure, "{what}");
        assert_eq!(j.blocks(), blocks, "{what}");
    }

    // Where the blocks land in tuple/tuple: (i, k) = d ys[i] / d xs[k].
    let j = jacobian(&ys_tuple, &xs_tuple, None).unwrap();
    // d(a*a)/da = diag(2a); d sin(b)/db = diag(cos b); the cross blocks are 0.
    assert_block(&j, 0, 0, &[2, 2], &diag(&[1.0, -2.0]), 1e-15);
    assert_block(&j, 0, 1, &[2, 3], &[0.0; 6], 0.0);
    assert_block(&j, 1, 0, &[3, 2], &[0.0; 6], 0.0);
    let cosb: Vec<f64> = [2.0f64, 0.25, 3.0].iter().map(|v| v.cos()).collect();
    assert_block(&j, 1, 1, &[3, 3], &diag(&cosb), 1e-15);

    // A Hessian nests over xs twice: one x gives one block, a tuple of xs
    // (even a 1-tuple) a tuple of tuples.
    let s = sum(&mul(&y1, &a).unwrap(), None, false).unwrap();
    let h = hessian(&s, &a, None).unwrap();
    assert_eq!(h.structure(), leaf00());
    let h = hessian(&s, std::slice::from_ref(&a), None).unwrap();
    assert_eq!(h.structure(), t(vec![t(vec![leaf00()])]));
    let h = hessian(&s, &xs_tuple, None).unwrap();
    assert_eq!(
        h.structure(),
        t(vec![t(vec![l(0, 0), l(0, 1)]), t(vec![l(1, 0), l(1, 1)])])
    );
    assert_eq!(h.blocks(), (2, 2));
    // s = sum(a^3): H = diag(6a), and b does not appear.
    assert_block(&h, 0, 0, &[2, 2], &diag(&[3.0, -6.0]), 1e-14);
    assert_block(&h, 0, 1, &[2, 3], &[0.0; 6], 0.0);
    assert_block(&h, 1, 0, &[3, 2], &[0.0; 6], 0.0);
    assert_block(&h, 1, 1, &[3, 3], &[0.0; 9], 0.0);
}

// ---------------------------------------------------------------------------
// 0-D shapes, unbatched

#[test]
fn zero_d_sides_drop_out_of_the_block_shape() {
    let a = leaf(&[0.7], &[]);
    let x = leaf(&[0.1, -0.2, 0.3, 0.4], &[4]);

    // 0-D y, 0-D x: y = a sin(a), dy/da = sin a + a cos a, shape [].
    let y = mul(&a, &sin(&a).unwrap()).unwrap();
    let j = jacobian(&y, &a, None).unwrap();
    assert_block(&j, 0, 0, &[], &[0.7f64.sin() + 0.7 * 0.7f64.cos()], 1e-15);
    // A 0-D block takes no index but `...` (numpy: `()[...]` is the value).
    assert_eq!(read(&j, 0, 0, &[Index::Ellipsis]).0, Vec::<usize>::new());
    for bad in [[Index::All], [Index::Int(0)]] {
        assert_eq!(j.read(0, 0, &bad).unwrap_err().kind(), ErrorKind::Index);
    }

    // 0-D y, [N] x: y = sum(exp(x)), dy/dx = exp(x), shape [N].
    let y = sum(&exp(&x).unwrap(), None, false).unwrap();
    let j = jacobian(&y, &x, None).unwrap();
    let want: Vec<f64> = x.to_vec().iter().map(|v| v.exp()).collect();
    assert_block(&j, 0, 0, &[4], &want, 1e-15);
    assert_eq!(read(&j, 0, 0, &[Index::Int(2)]), (vec![], vec![want[2]]));

    // [M] y, 0-D x: y = a^2 x, dy/da = 2 a x, shape [M].
    let y = mul(&mul(&a, &a).unwrap(), &x).unwrap();
    let j = jacobian(&y, &a, None).unwrap();
    let want: Vec<f64> = x.to_vec().iter().map(|v| 2.0 * 0.7 * v).collect();
    assert_block(&j, 0, 0, &[4], &want, 1e-15);

    // Mixed in one tuple: (0-D y, [M] y) x (0-D x, [N] x).
    let y0 = mul(&a, &sum(&x, None, false).unwrap()).unwrap(); // a sum(x)
    let y1 = mul(&a, &x).unwrap(); // a x
    let j = jacobian(&[y0, y1], &[a.clone(), x.clone()], None).unwrap();
    assert_block(&j, 0, 0, &[], &[0.6], 1e-15); // d/da a sum(x) = sum(x)
    assert_block(&j, 0, 1, &[4], &[0.7; 4], 1e-15); // d/dx a sum(x) = a 1
    assert_block(&j, 1, 0, &[4], &x.to_vec(), 1e-15); // d/da a x = x
    assert_block(&j, 1, 1, &[4, 4], &diag(&[0.7; 4]), 1e-15); // a I
}

// ---------------------------------------------------------------------------
// Batched Jacobians

#[test]
fn batched_jacobian_of_matrices_is_b_m_n() {
    // y[b] = tanh(W^T x[b]) for x [B=3, N=2], W [N=2, M=4]:
    // J[b, m, n] = (1 - y[b, m]^2) W[n, m].
    let mut rng = Rng(11);
    let (b, n, m) = (3, 2, 4);
    let x = leaf(&rng.vec(b * n, -1.0, 1.0), &[b, n]);
    let w_data = rng.vec(n * m, -1.0, 1.0);
    let w = konst(&w_data, &[n, m]);
    let f = |xs: &[Tensor]| tanh(&matmul(&xs[0], &w).unwrap()).unwrap();
    let y = f(std::slice::from_ref(&x));
    let j = jacobian(&y, &x, Some(0)).unwrap();
    assert!(j.is_batched());
    let yv = y.to_vec();
    let want: Vec<f64> = (0..b * m * n)
        .map(|e| {
            let (s, r, c) = (e / (m * n), (e / n) % m, e % n);
            (1.0 - yv[s * m + r].powi(2)) * w_data[c * m + r]
        })
        .collect();
    assert_block(&j, 0, 0, &[b, m, n], &want, 1e-14);
    let fd = per_sample(&fd_jacobian(&f, &[x], 0), b, m, n);
    assert_close(&want, &fd, 1e-8, "finite differences");
}

#[test]
fn batched_jacobian_drops_a_1d_side() {
    let mut rng = Rng(12);
    let (b, n, m) = (4, 3, 2);
    let x = leaf(&rng.vec(b * n, -1.0, 1.0), &[b, n]);
    let v = leaf(&rng.vec(b, -1.0, 1.0), &[b]);
    let c = rng.vec(m, -1.0, 1.0);

    // [B] y, [B, N] x: y[b] = sum_n tanh(x[b, n]) x[b, n];
    // J[b, n] = tanh(x) + x (1 - tanh(x)^2), shape [B, N].
    let fy = |xs: &[Tensor]| {
        sum(
            &mul(&tanh(&xs[0]).unwrap(), &xs[0]).unwrap(),
            Some(&[1]),
            false,
        )
        .unwrap()
    };
    let j = jacobian(&fy(std::slice::from_ref(&x)), &x, Some(0)).unwrap();
    let want: Vec<f64> = x
        .to_vec()
        .iter()
        .map(|&t| t.tanh() + t * (1.0 - t.tanh().powi(2)))
        .collect();
    assert_block(&j, 0, 0, &[b, n], &want, 1e-14);
    let fd = per_sample(&fd_jacobian(&fy, std::slice::from_ref(&x), 0), b, 1, n);
    assert_close(&want, &fd, 1e-8, "[B] y: finite differences");

    // [B, M] y, [B] x: y[b, m] = exp(v[b] c[m]); J[b, m] = c[m] exp(v[b] c[m]),
    // shape [B, M].
    let ck = konst(&c, &[1, m]);
    let fx = |xs: &[Tensor]| {
        let col = reshape(&xs[0], &[-1, 1]).unwrap();
        exp(&mul(&col, &ck).unwrap()).unwrap()
    };
    let j = jacobian(&fx(std::slice::from_ref(&v)), &v, Some(0)).unwrap();
    let vv = v.to_vec();
    let want: Vec<f64> = (0..b * m)
        .map(|e| c[e % m] * (vv[e / m] * c[e % m]).exp())
        .collect();
    assert_block(&j, 0, 0, &[b, m], &want, 1e-14);
    let fd = per_sample(&fd_jacobian(&fx, std::slice::from_ref(&v), 0), b, m, 1);
    assert_close(&want, &fd, 1e-8, "[B] x: finite differences");

    // [B] y, [B] x: y = v sin(v); J[b] = sin(v) + v cos(v), shape [B].
    let y = mul(&v, &sin(&v).unwrap()).unwrap();
    let j = jacobian(&y, &v, Some(0)).unwrap();
    let want: Vec<f64> = vv.iter().map(|&t| t.sin() + t * t.cos()).collect();
    assert_block(&j, 0, 0, &[b], &want, 1e-15);
}

#[test]
fn batched_tuples_match_finite_differences() {
    // ys = (y1 [B, M], y2 [B]) of xs = (x [B, N], v [B]), every block.
    let mut rng = Rng(13);
    let (b, n, m) = (3, 4, 2);
    let x = leaf(&rng.vec(b * n, -1.0, 1.0), &[b, n]);
    let v = leaf(&rng.vec(b, -1.0, 1.0), &[b]);
    let w = konst(&rng.vec(n * m, -1.0, 1.0), &[n, m]);
    let f1 = |xs: &[Tensor]| {
        let col = reshape(&xs[1], &[-1, 1]).unwrap();
        sigmoid(&mul(&matmul(&xs[0], &w).unwrap(), &col).unwrap()).unwrap()
    };
    let f2 = |xs: &[Tensor]| {
        let s = sum(&square(&xs[0]).unwrap(), Some(&[-1]), false).unwrap();
        mul(&cos(&xs[1]).unwrap(), &s).unwrap()
    };
    let xs = [x, v];
    let j = jacobian(&[f1(&xs), f2(&xs)], &xs, Some(0)).unwrap();
    let sides = [(0, n), (1, 1)]; // (index, columns per sample)
    let programs: [(Program<'_>, usize); 2] = [(&f1, m), (&f2, 1)];
    for (i, (f, rows)) in programs.into_iter().enumerate() {
        for (k, cols) in sides {
            let mut shape = vec![b];
            shape.extend((i == 0).then_some(rows));
            shape.extend((k == 0).then_some(cols));
            let want = per_sample(&fd_jacobian(f, &xs, k), b, rows, cols);
            assert_block(&j, i, k, &shape, &want, 1e-8);
        }
    }
}

// ---------------------------------------------------------------------------
// Hessians against analytic values

#[test]
fn hessian_of_a_tanh_mlp_is_analytic() {
    // f(x, b1) = w2 . tanh(z), z = W1 x + b1, t = tanh(z).
    // df/dz = w2 (1 - t^2); d2f/dz2 = D = diag(w2 * (-2 t (1 - t^2))).
    // H_xx = W1^T D W1, H_x,b1 = W1^T D, H_b1,x = D W1, H_b1,b1 = D.
    let mut rng = Rng(21);
    let (n, hdim) = (3, 4);
    let w1 = rng.vec(hdim * n, -1.0, 1.0);
    let b1v = rng.vec(hdim, -0.5, 0.5);
    let w2 = rng.vec(hdim, -1.0, 1.0);
    let xv = rng.vec(n, -1.0, 1.0);
    let x = leaf(&xv, &[n]);
    let b1 = leaf(&b1v, &[hdim]);
    let z = add(&matmul(&konst(&w1, &[hdim, n]), &x).unwrap(), &b1).unwrap();
    let y = matmul(&konst(&w2, &[hdim]), &tanh(&z).unwrap()).unwrap();
    assert_eq!(y.shape(), &[] as &[usize]);

    let d: Vec<f64> = (0..hdim)
        .map(|r| {
            let zr: f64 = (0..n).map(|c| w1[r * n + c] * xv[c]).sum::<f64>() + b1v[r];
            let t = zr.tanh();
            w2[r] * (-2.0 * t * (1.0 - t * t))
        })
        .collect();
    let hxx: Vec<f64> = (0..n * n)
        .map(|e| {
            let (p, q) = (e / n, e % n);
            (0..hdim)
                .map(|r| w1[r * n + p] * d[r] * w1[r * n + q])
                .sum()
        })
        .collect();
    let hxb: Vec<f64> = (0..n * hdim)
        .map(|e| w1[(e % hdim) * n + e / hdim] * d[e % hdim])
        .collect();
    let hbx: Vec<f64> = (0..hdim * n)
        .map(|e| d[e / n] * w1[(e / n) * n + e % n])
        .collect();

    let h = hessian(&y, &[x.clone(), b1], None).unwrap();
    assert_block(&h, 0, 0, &[n, n], &hxx, 1e-14);
    assert_block(&h, 0, 1, &[n, hdim], &hxb, 1e-14);
    assert_block(&h, 1, 0, &[hdim, n], &hbx, 1e-14);
    assert_block(&h, 1, 1, &[hdim, hdim], &diag(&d), 1e-14);

    // With respect to x alone: the same H_xx.
    let h = hessian(&y, &x, None).unwrap();
    assert_block(&h, 0, 0, &[n, n], &hxx, 1e-14);
}

#[test]
fn hessian_of_rosenbrock_is_tridiagonal() {
    // f = sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, i < n-1:
    // H[i, i]   = 1200 x_i^2 - 400 x_{i+1} + 2   (i < n-1)
    //           + 200                          (i > 0)
    // H[i, i+1] = H[i+1, i] = -400 x_i, everything else 0.
    let xv = [-1.2, 1.0, 0.5, -0.3, 0.8, 1.1];
    let n = xv.len();
    let x = leaf(&xv, &[n]);
    let head = slice(&x, 0, None, Some(-1), 1).unwrap(); // x[:-1]
    let tail = slice(&x, 0, Some(1), None, 1).unwrap(); // x[1:]
    let a = square(&sub(&tail, &square(&head).unwrap()).unwrap()).unwrap();
    let c = square(&add_scalar(&neg(&head).unwrap(), 1.0).unwrap()).unwrap();
    let y = sum(&add(&scale(&a, 100.0).unwrap(), &c).unwrap(), None, false).unwrap();

    let mut want = vec![0.0; n * n];
    for i in 0..n {
        if i + 1 < n {
            want[i * n + i] += 1200.0 * xv[i] * xv[i] - 400.0 * xv[i + 1] + 2.0;
            want[i * n + i + 1] = -400.0 * xv[i];
            want[(i + 1) * n + i] = -400.0 * xv[i];
        }
        if i > 0 {
            want[i * n + i] += 200.0;
        }
    }
    let h = hessian(&y, &x, None).unwrap();
    assert_block(&h, 0, 0, &[n, n], &want, 1e-13);
}

#[test]
fn hessian_of_log_sum_exp_is_diag_p_minus_p_pt() {
    // f = log(sum(exp(x))), p = softmax(x): H = diag(p) - p p^T.
    let xv = [0.3, -1.2, 2.0, 0.0, 0.7];
    let n = xv.len();
    let x = leaf(&xv, &[n]);
    let y = log(&sum(&exp(&x).unwrap(), None, false).unwrap()).unwrap();
    let total: f64 = xv.iter().map(|v| v.exp()).sum();
    let p: Vec<f64> = xv.iter().map(|v| v.exp() / total).collect();
    let want: Vec<f64> = (0..n * n)
        .map(|e| {
            let (r, c) = (e / n, e % n);
            let d = if r == c { p[r] } else { 0.0 };
            d - p[r] * p[c]
        })
        .collect();
    let h = hessian(&y, &x, None).unwrap();
    assert_block(&h, 0, 0, &[n, n], &want, 1e-14);
    // Every row sums to 0 (f(x + c 1) = f(x) + c).
    let (_, v) = full(&h, 0, 0);
    for r in 0..n {
        assert!(v[r * n..(r + 1) * n].iter().sum::<f64>().abs() < 1e-15);
    }
}

#[test]
fn hessians_through_square_sqrt_div_and_relu_match_finite_differences() {
    // Paddle has no double-grad for sqrt and divide; libjac differentiates
    // them twice. f = sum(sqrt(x) z^2 / (x + 1.5) + relu(z) z x^2) over
    // x > 0 and z away from 0 (relu's kink).
    let x = leaf(&[0.4, 1.3, 2.2], &[3]);
    let z = leaf(&[-0.9, 0.6, 1.4], &[3]);
    let f = |xs: &[Tensor]| {
        let (x, z) = (&xs[0], &xs[1]);
        let den = add_scalar(x, 1.5).unwrap();
        let a = div(&mul(&sqrt(x).unwrap(), &square(z).unwrap()).unwrap(), &den).unwrap();
        let b = mul(&mul(&relu(z).unwrap(), z).unwrap(), &square(x).unwrap()).unwrap();
        sum(&add(&a, &b).unwrap(), None, false).unwrap()
    };
    let xs = [x, z];
    let h = hessian(&f(&xs), &xs, None).unwrap();
    for i in 0..2 {
        for k in 0..2 {
            let want = fd_hessian(&f, &xs, i, k);
            assert_block(&h, i, k, &[3, 3], &want, 1e-8);
        }
    }
    // And one entry by hand: d2f/dz0^2 = 2 sqrt(x0) / (x0 + 1.5), as
    // relu(z0) = 0 for z0 < 0.
    let (_, v) = full(&h, 1, 1);
    assert_close(&[v[0]], &[2.0 * 0.4f64.sqrt() / 1.9], 1e-14, "d2f/dz0^2");
}

#[test]
fn batched_hessians_are_per_sample() {
    let mut rng = Rng(31);
    let (b, n) = (3, 3);

    // y[b] = sum_n x[b, n]^3 + x[b, 0] x[b, 1]: H[b] = diag(6 x[b]) + e0 e1^T
    // + e1 e0^T.
    let xv = rng.vec(b * n, -1.0, 1.0);
    let x = leaf(&xv, &[b, n]);
    let cubes = sum(&mul(&square(&x).unwrap(), &x).unwrap(), Some(&[1]), false).unwrap();
    let x0 = reshape(&slice(&x, 1, Some(0), Some(1), 1).unwrap(), &[-1]).unwrap();
    let x1 = reshape(&slice(&x, 1, Some(1), Some(2), 1).unwrap(), &[-1]).unwrap();
    let y = add(&cubes, &mul(&x0, &x1).unwrap()).unwrap();
    assert_eq!(y.shape(), &[b]);
    let want: Vec<f64> = (0..b * n * n)
        .map(|e| {
            let (s, r, c) = (e / (n * n), (e / n) % n, e % n);
            let d = if r == c { 6.0 * xv[s * n + r] } else { 0.0 };
            d + if (r, c) == (0, 1) || (r, c) == (1, 0) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let h = hessian(&y, &x, Some(0)).unwrap();
    assert!(h.is_batched());
    assert_block(&h, 0, 0, &[b, n, n], &want, 1e-14);

    // A [B, 1] y is accepted too and gives the same Hessian.
    let h = hessian(&reshape(&y, &[-1, 1]).unwrap(), &x, Some(0)).unwrap();
    assert_block(&h, 0, 0, &[b, n, n], &want, 1e-14);

    // Tuple xs (x [B, N], v [B]): y[b] = sin(v[b]) sum_n tanh(x[b, n])^2,
    // every block against finite differences of the gradient.
    let x = leaf(&rng.vec(b * n, -1.0, 1.0), &[b, n]);
    let v = leaf(&rng.vec(b, -1.0, 1.0), &[b]);
    let f = |xs: &[Tensor]| {
        let s = sum(&square(&tanh(&xs[0]).unwrap()).unwrap(), Some(&[1]), false).unwrap();
        mul(&sin(&xs[1]).unwrap(), &s).unwrap()
    };
    let xs = [x, v];
    let h = hessian(&f(&xs), &xs, Some(0)).unwrap();
    let widths = [n, 1];
    for i in 0..2 {
        for k in 0..2 {
            let mut shape = vec![b];
            shape.extend((i == 0).then_some(n));
            shape.extend((k == 0).then_some(n));
            let want = per_sample(&fd_hessian(&f, &xs, i, k), b, widths[i], widths[k]);
            assert_block(&h, i, k, &shape, &want, 1e-8);
        }
    }
}

// ---------------------------------------------------------------------------
// Independent xs

#[test]
fn an_x_the_ys_do_not_depend_on_gives_a_zero_block() {
    let x = leaf(&[0.1, 0.2], &[2]);
    let unused = leaf(&[1.0, 2.0, 3.0], &[3]);
    let y = exp(&x).unwrap();
    let j = jacobian(&y, &[x.clone(), unused.clone()], None).unwrap();
    assert_block(
        &j,
        0,
        0,
        &[2, 2],
        &diag(&[0.1f64.exp(), 0.2f64.exp()]),
        1e-15,
    );
    assert_block(&j, 0, 1, &[2, 3], &[0.0; 6], 0.0);
    // Also when no y depends on any x at all.
    let j = jacobian(&y, &unused, None).unwrap();
    assert_block(&j, 0, 0, &[2, 3], &[0.0; 6], 0.0);
    // And for a constant y.
    let c = konst(&[1.0, 2.0], &[2]);
    let j = jacobian(&c, &x, None).unwrap();
    assert_block(&j, 0, 0, &[2, 2], &[0.0; 4], 0.0);
    // A Hessian of a y that is linear in one x and ignores the other.
    let y = sum(&mul(&x, &konst(&[3.0, -1.0], &[2])).unwrap(), None, false).unwrap();
    let h = hessian(&y, &[x, unused], None).unwrap();
    assert_block(&h, 0, 0, &[2, 2], &[0.0; 4], 0.0);
    assert_block(&h, 0, 1, &[2, 3], &[0.0; 6], 0.0);
    assert_block(&h, 1, 1, &[3, 3], &[0.0; 9], 0.0);
}

// ---------------------------------------------------------------------------
// Random programs against central differences

/// One step of a random program over a pool of tensors (each 0-D or 1-D).
enum Step {
    Unary(usize, usize),
    /// `op(pool[a], C pool[b])` with `C` projecting `pool[b]` to `pool[a]`'s
    /// length (none when `pool[b]` is 0-D and broadcasts).
    Binary(usize, usize, usize, Option<Tensor>),
}

const UNARY: [fn(&Tensor) -> jac_core::Result<Tensor>; 7] =
    [sin, cos, tanh, sigmoid, square, neg, |t| {
        exp(&scale(t, 0.5)?)
    }];

/// `op(a, b)` for the binary ops of random programs; `div` keeps its
/// denominator at least 1.
fn binary(op: usize, a: &Tensor, b: &Tensor) -> Tensor {
    match op {
        0 => add(a, b),
        1 => sub(a, b),
        2 => mul(a, b),
        _ => div(a, &add_scalar(&square(b).unwrap(), 1.0).unwrap()),
    }
    .unwrap()
}

struct RandomProgram {
    shapes: Vec<Vec<usize>>,
    steps: Vec<Step>,
    /// Projects the last tensor to the output (a `[M]` y), or sums it (0-D).
    out: Option<Tensor>,
}

impl RandomProgram {
    fn new(rng: &mut Rng) -> RandomProgram {
        let n_xs = 1 + rng.below(3);
        let shapes: Vec<Vec<usize>> = (0..n_xs)
            .map(|_| match rng.below(4) {
                0 => vec![],
                _ => vec![1 + rng.below(4)],
            })
            .collect();
        let mut lens: Vec<usize> = shapes
            .iter()
            .map(|s| s.first().copied().unwrap_or(0))
            .collect();
        let mut steps = Vec::new();
        for _ in 0..4 + rng.below(5) {
            let a = rng.below(lens.len());
            if rng.below(3) == 0 {
                steps.push(Step::Unary(a, rng.below(UNARY.len())));
                lens.push(lens[a]);
            } else {
                let b = rng.below(lens.len());
                let proj = (lens[b] > 0).then(|| {
                    let rows = lens[a].max(1);
                    let data = rng.vec(rows * lens[b], -1.0, 1.0);
                    if lens[a] == 0 {
                        konst(&data, &[lens[b]])
                    } else {
                        konst(&data, &[rows, lens[b]])
                    }
                });
                steps.push(Step::Binary(a, b, rng.below(4), proj));
                lens.push(lens[a]);
            }
        }
        let last = *lens.last().unwrap();
        let out = (rng.below(3) != 0).then(|| {
            let m = 1 + rng.below(4);
            let data = rng.vec(m * last.max(1), -1.0, 1.0);
            if last == 0 {
                konst(&data, &[m])
            } else {
                konst(&data, &[m, last])
            }
        });
        RandomProgram { shapes, steps, out }
    }

    fn run(&self, xs: &[Tensor]) -> Tensor {
        let mut pool: Vec<Tensor> = xs.to_vec();
        for step in &self.steps {
            let t = match step {
                Step::Unary(a, op) => UNARY[*op](&pool[*a]).unwrap(),
                Step::Binary(a, b, op, proj) => {
                    let rhs = match proj {
                        Some(c) => matmul(c, &pool[*b]).unwrap(),
                        None => pool[*b].clone(),
                    };
                    binary(*op, &pool[*a], &rhs)
                }
            };
            pool.push(t);
        }
        let last = pool.last().unwrap();
        match &self.out {
            Some(c) if last.ndim() == 0 => mul(c, last).unwrap(),
            Some(c) => matmul(c, last).unwrap(),
            None => sum(last, None, false).unwrap(),
        }
    }
}

#[test]
fn random_programs_match_central_differences() {
    let mut rng = Rng(0x5eed);
    let (mut checked, mut nonzero) = (0, 0);
    for program in 0..12 {
        let p = RandomProgram::new(&mut rng);
        let xs: Vec<Tensor> = p
            .shapes
            .iter()
            .map(|s| leaf(&rng.vec(s.iter().product(), -1.0, 1.0), s))
            .collect();
        let f = |xs: &[Tensor]| p.run(xs);
        let y = f(&xs);
        let j = jacobian(&y, &xs, None).unwrap();
        for (k, x) in xs.iter().enumerate() {
            let mut shape = y.shape().to_vec();
            shape.extend_from_slice(x.shape());
            let want = fd_jacobian(&f, &xs, k);
            assert_eq!(j.block_shape(0, k).unwrap(), shape, "program {program}");
            let (s, v) = full(&j, 0, k);
            assert_eq!(s, shape);
            assert_close(&v, &want, 1e-8, &format!("program {program}, x{k}"));
            checked += 1;
            nonzero += usize::from(v.iter().any(|e| e.abs() > 1e-3));
        }
        // Second order too, for a scalar made of the program.
        let s = sum(&y, None, false).unwrap();
        let h = hessian(&s, &xs, None).unwrap();
        let g = |xs: &[Tensor]| sum(&p.run(xs), None, false).unwrap();
        for i in 0..xs.len() {
            for k in 0..xs.len() {
                let want = fd_hessian(&g, &xs, i, k);
                let (_, v) = full(&h, i, k);
                assert_close(&v, &want, 1e-7, &format!("program {program}, H({i}, {k})"));
            }
        }
    }
    // The programs are not trivial: most blocks are far from zero.
    assert!(
        checked >= 12 && 2 * nonzero > checked,
        "{nonzero} of {checked}"
    );
}

// ---------------------------------------------------------------------------
// Indexing with numpy's semantics

/// `J = A` with `A[m, n] = 10 m + n` (distinct entries): y = A x.
fn indexed_jacobian() -> Jacobian {
    let a: Vec<f64> = (0..20).map(|e| f64::from(10 * (e / 5) + e % 5)).collect();
    let x = leaf(&[0.5; 5], &[5]);
    let y = matmul(&konst(&a, &[4, 5]), &x).unwrap();
    jacobian(&y, &x, None).unwrap()
}

fn sl(start: Option<i64>, stop: Option<i64>, step: i64) -> Index {
    Index::Slice { start, stop, step }
}

/// (index, numpy's rows, numpy's columns, numpy's result shape).
type IndexCase = (Vec<Index>, Vec<i32>, Vec<i32>, Vec<usize>);

/// Positions along one axis.
type Sel = Vec<usize>;

/// (index, numpy's samples, rows, columns, numpy's result shape).
type BatchedIndexCase = (Vec<Index>, Sel, Sel, Sel, Vec<usize>);

#[test]
fn every_index_form_matches_numpy() {
    let j = indexed_jacobian();
    use Index::{All, Ellipsis as E, Int};
    // (index, numpy's rows, numpy's columns, numpy's result shape): the
    // values are A[r, c] for r in rows, c in columns, row-major.
    let all_r = vec![0, 1, 2, 3];
    let all_c = vec![0, 1, 2, 3, 4];
    let cases: Vec<IndexCase> = vec![
        // Nothing, `:`, `...`: the whole block.
        (vec![], all_r.clone(), all_c.clone(), vec![4, 5]),
        (vec![All], all_r.clone(), all_c.clone(), vec![4, 5]),
        (vec![E], all_r.clone(), all_c.clone(), vec![4, 5]),
        (vec![All, All], all_r.clone(), all_c.clone(), vec![4, 5]),
        // An int drops its axis; fewer indices than axes keep the rest.
        (vec![Int(2)], vec![2], all_c.clone(), vec![5]),
        (vec![Int(-1)], vec![3], all_c.clone(), vec![5]),
        (vec![Int(-4)], vec![0], all_c.clone(), vec![5]),
        (vec![Int(1), All], vec![1], all_c.clone(), vec![5]),
        (vec![All, Int(3)], all_r.clone(), vec![3], vec![4]),
        (vec![All, Int(-5)], all_r.clone(), vec![0], vec![4]),
        (vec![Int(-4), Int(-5)], vec![0], vec![0], vec![]),
        (vec![Int(3), Int(4)], vec![3], vec![4], vec![]),
        // `...` stands for the axes the other items leave.
        (vec![E, Int(1)], all_r.clone(), vec![1], vec![4]),
        (vec![Int(0), E], vec![0], all_c.clone(), vec![5]),
        (vec![Int(2), E, Int(1)], vec![2], vec![1], vec![]),
        (vec![E, Int(2), Int(1)], vec![2], vec![1], vec![]),
        // Slices with omitted and negative bounds.
        (
            vec![sl(Some(1), None, 1)],
            vec![1, 2, 3],
            all_c.clone(),
            vec![3, 5],
        ),
        (
            vec![sl(None, Some(2), 1)],
            vec![0, 1],
            all_c.clone(),
            vec![2, 5],
        ),
        (
            vec![sl(Some(-2), None, 1)],
            vec![2, 3],
            all_c.clone(),
            vec![2, 5],
        ),
        (
            vec![sl(None, Some(-1), 1)],
            vec![0, 1, 2],
            all_c.clone(),
            vec![3, 5],
        ),
        (
            vec![sl(None, None, 2), sl(Some(1), None, 2)],
            vec![0, 2],
            vec![1, 3],
            vec![2, 2],
        ),
        (
            vec![Int(1), sl(Some(1), Some(4), 1)],
            vec![1],
            vec![1, 2, 3],
            vec![3],
        ),
        // Negative steps.
        (
            vec![sl(None, None, -1)],
            vec![3, 2, 1, 0],
            all_c.clone(),
            vec![4, 5],
        ),
        (
            vec![All, sl(None, None, -1)],
            all_r.clone(),
            vec![4, 3, 2, 1, 0],
            vec![4, 5],
        ),
        (
            vec![sl(Some(3), Some(0), -1), sl(Some(-1), None, -2)],
            vec![3, 2, 1],
            vec![4, 2, 0],
            vec![3, 3],
        ),
        (
            vec![sl(Some(-2), None, -3)],
            vec![2],
            all_c.clone(),
            vec![1, 5],
        ),
        // Out-of-range slice bounds clamp.
        (
            vec![sl(Some(1), Some(100), 1)],
            vec![1, 2, 3],
            all_c.clone(),
            vec![3, 5],
        ),
        (
            vec![sl(Some(-100), Some(2), 1)],
            vec![0, 1],
            all_c.clone(),
            vec![2, 5],
        ),
        (
            vec![sl(Some(100), None, -1)],
            all_r.iter().rev().copied().collect(),
            all_c.clone(),
            vec![4, 5],
        ),
        (
            vec![All, sl(Some(3), Some(99), 1)],
            all_r.clone(),
            vec![3, 4],
            vec![4, 2],
        ),
        // Empty selections.
        (
            vec![sl(Some(0), Some(0), 1)],
            vec![],
            all_c.clone(),
            vec![0, 5],
        ),
        (
            vec![sl(Some(3), Some(1), 1)],
            vec![],
            all_c.clone(),
            vec![0, 5],
        ),
        (
            vec![sl(Some(5), Some(9), 1)],
            vec![],
            all_c.clone(),
            vec![0, 5],
        ),
        (
            vec![sl(Some(2), Some(2), 1), Int(1)],
            vec![],
            vec![1],
            vec![0],
        ),
        (
            vec![All, sl(Some(0), Some(0), 1)],
            all_r.clone(),
            vec![],
            vec![4, 0],
        ),
    ];
    for (index, rows, cols, shape) in cases {
        let want: Vec<f64> = rows
            .iter()
            .flat_map(|&r| cols.iter().map(move |&c| f64::from(10 * r + c)))
            .collect();
        let (s, v) = read(&j, 0, 0, &index);
        assert_eq!(s, shape, "J{index:?}: shape");
        assert_eq!(v, want, "J{index:?}: values");
        assert_eq!(j.read_shape(0, 0, &index).unwrap(), shape, "J{index:?}");
        let mut out = vec![f64::NAN; want.len()];
        j.read_into(0, 0, &index, &mut out).unwrap();
        assert_eq!(out, want, "J{index:?}: read_into");
    }
}

#[test]
fn indices_on_batched_and_1d_blocks_match_numpy() {
    // y[b] = (b + 1) (A x[b]) with A[r, c] = 10 r + c, so every entry of
    // J[b, r, c] = (b + 1) (10 r + c) is known.
    let (bsz, m, n) = (3, 2, 4);
    let bmat: Vec<f64> = (0..m * n)
        .map(|e| f64::from((10 * (e / n) + e % n) as i32))
        .collect();
    let factor = konst(&[1.0, 2.0, 3.0], &[bsz, 1]);
    let x = leaf(&[0.1; 12], &[bsz, n]);
    let bt: Vec<f64> = (0..n * m).map(|e| bmat[(e % m) * n + e / m]).collect();
    let y = mul(&matmul(&x, &konst(&bt, &[n, m])).unwrap(), &factor).unwrap();
    let j = jacobian(&y, &x, Some(0)).unwrap();
    // J[b, r, c] = (b + 1) (10 r + c).
    let at = |b: usize, r: usize, c: usize| (b as f64 + 1.0) * (10 * r + c) as f64;
    use Index::{All, Ellipsis as E, Int};
    let (ab, ar, ac): (Sel, Sel, Sel) = ((0..bsz).collect(), (0..m).collect(), (0..n).collect());
    let cases: Vec<BatchedIndexCase> = vec![
        (vec![], ab.clone(), ar.clone(), ac.clone(), vec![3, 2, 4]),
        (vec![Int(1)], vec![1], ar.clone(), ac.clone(), vec![2, 4]),
        (
            vec![All, Int(1)],
            ab.clone(),
            vec![1],
            ac.clone(),
            vec![3, 4],
        ),
        (vec![E, Int(0)], ab.clone(), ar.clone(), vec![0], vec![3, 2]),
        (
            vec![Int(-1), E],
            vec![2],
            ar.clone(),
            ac.clone(),
            vec![2, 4],
        ),
        (
            vec![Int(0), E, Int(-1)],
            vec![0],
            ar.clone(),
            vec![3],
            vec![2],
        ),
        (
            vec![Int(2), Int(1), Int(3)],
            vec![2],
            vec![1],
            vec![3],
            vec![],
        ),
        (
            vec![sl(None, None, -2), E, sl(Some(1), None, 2)],
            vec![2, 0],
            ar.clone(),
            vec![1, 3],
            vec![2, 2, 2],
        ),
        (
            vec![All, All, sl(None, None, -1)],
            ab.clone(),
            ar.clone(),
            vec![3, 2, 1, 0],
            vec![3, 2, 4],
        ),
    ];
    for (index, bs, rs, cs, shape) in cases {
        let mut want = Vec::new();
        for &b in &bs {
            for &r in &rs {
                for &c in &cs {
                    want.push(at(b, r, c));
                }
            }
        }
        assert_eq!(read(&j, 0, 0, &index), (shape, want), "J{index:?}");
    }

    // A 1-D block (0-D y): y = sum(w x), J = w.
    let w = [5.0, 6.0, 7.0];
    let x = leaf(&[1.0; 3], &[3]);
    let y = sum(&mul(&x, &konst(&w, &[3])).unwrap(), None, false).unwrap();
    let j = jacobian(&y, &x, None).unwrap();
    assert_eq!(read(&j, 0, 0, &[Int(-1)]), (vec![], vec![7.0]));
    assert_eq!(
        read(&j, 0, 0, &[sl(None, None, -1)]),
        (vec![3], vec![7.0, 6.0, 5.0])
    );
    assert_eq!(read(&j, 0, 0, &[E]), (vec![3], w.to_vec()));
    for bad in [
        vec![Int(0), Int(0)],
        vec![All, Int(1)],
        vec![Int(3)],
        vec![Int(-4)],
    ] {
        let err = j.read(0, 0, &bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Index, "J{bad:?}: {err}");
    }
}

#[test]
fn bad_indices_are_errors_of_the_right_kind() {
    let j = indexed_jacobian();
    use Index::{All, Ellipsis as E, Int};
    let cases: Vec<(Vec<Index>, ErrorKind, &str)> = vec![
        (vec![Int(4)], ErrorKind::Index, "index 4 is out of range"),
        (vec![Int(-5)], ErrorKind::Index, "index -5 is out of range"),
        (vec![All, Int(5)], ErrorKind::Index, "index[1]"),
        (vec![All, Int(-6)], ErrorKind::Index, "index -6"),
        (
            vec![Int(0), Int(0), Int(0)],
            ErrorKind::Index,
            "too many indices",
        ),
        (vec![All, All, E, All], ErrorKind::Index, "too many indices"),
        (vec![E, E], ErrorKind::Index, "at most one '...'"),
        (
            vec![sl(None, None, 0)],
            ErrorKind::InvalidArgument,
            "step must not be 0",
        ),
        (
            vec![All, sl(Some(1), Some(2), 0)],
            ErrorKind::InvalidArgument,
            "step",
        ),
    ];
    for (index, kind, text) in cases {
        for err in [
            j.read(0, 0, &index).unwrap_err(),
            j.read_shape(0, 0, &index).unwrap_err(),
            j.read_into(0, 0, &index, &mut [0.0; 20]).unwrap_err(),
        ] {
            assert_eq!(err.kind(), kind, "J{index:?}: {err}");
            assert!(err.message().contains(text), "J{index:?}: {err}");
        }
    }
    // A bad index evaluates nothing.
    assert_eq!(j.rows_evaluated(0).unwrap(), 0);

    // read_into with a buffer of the wrong length: InvalidArgument, and the
    // buffer is left as it was.
    let mut out = [-1.0; 4];
    let err = j.read_into(0, 0, &[Int(0)], &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("out_len"), "{err}");
    assert!(err.message().contains('5'), "{err}");
    assert_eq!(out, [-1.0; 4]);
}

// ---------------------------------------------------------------------------
// Bad inputs

/// Asserts `result` is an error of `kind` whose message contains every
/// string of `names`.
fn assert_err<T: std::fmt::Debug>(result: jac_core::Result<T>, kind: ErrorKind, names: &[&str]) {
    let err = result.expect_err("expected an error");
    assert_eq!(err.kind(), kind, "{err}");
    for name in names {
        assert!(
            err.message().contains(name),
            "{err:?} does not name {name:?}"
        );
    }
}

#[test]
fn bad_ranks_are_shape_errors() {
    let v = leaf(&[1.0, 2.0], &[2]);
    let m = leaf(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let cube = leaf(&[0.5; 8], &[2, 2, 2]);
    let a = leaf(&[3.0], &[]);
    let y2 = sin(&m).unwrap();
    // Unbatched: a 2-D y or x.
    assert_err(
        jacobian(&y2, &m, None),
        ErrorKind::Shape,
        &["ys[0]", "[2, 2]"],
    );
    assert_err(
        jacobian(&v, &m, None),
        ErrorKind::Shape,
        &["xs[0]", "[2, 2]"],
    );
    assert_err(
        jacobian(&[v.clone(), y2.clone()], &v, None),
        ErrorKind::Shape,
        &["ys[1]"],
    );
    assert_err(
        jacobian(&v, &[v.clone(), m.clone()], None),
        ErrorKind::Shape,
        &["xs[1]"],
    );
    // Batched: a 3-D y, a 3-D x, a 0-D y or x.
    let y3 = sin(&cube).unwrap();
    assert_err(
        jacobian(&y3, &cube, Some(0)),
        ErrorKind::Shape,
        &["ys[0]", "[2, 2, 2]"],
    );
    assert_err(
        jacobian(&m, &cube, Some(0)),
        ErrorKind::Shape,
        &["xs[0]", "[2, 2, 2]"],
    );
    let y0 = mul(&a, &a).unwrap();
    assert_err(
        jacobian(&y0, &v, Some(0)),
        ErrorKind::Shape,
        &["ys[0]", "[]"],
    );
    // A 0-D x has no batch axis: a rank error, not a batch mismatch.
    let yv = mul(&v, &a).unwrap();
    assert_err(
        jacobian(&yv, &a, Some(0)),
        ErrorKind::Shape,
        &["xs[0]", "[]"],
    );
    assert_err(
        hessian(&sum(&yv, None, false).unwrap(), &a, Some(0)),
        ErrorKind::Shape,
        &["y"],
    );
    let per_sample = sum(&m, Some(&[1]), false).unwrap();
    assert_err(
        hessian(&per_sample, &a, Some(0)),
        ErrorKind::Shape,
        &["xs[0]", "[]"],
    );
    assert_err(
        hessian(&per_sample, &cube, Some(0)),
        ErrorKind::Shape,
        &["xs[0]"],
    );
}

#[test]
fn bad_batch_axes_are_refused_before_ranks() {
    let cube = leaf(&[0.5; 8], &[2, 2, 2]);
    let y = sin(&cube).unwrap(); // a rank no mode accepts
    for axis in [1, -1, 2, i64::MIN] {
        assert_err(
            jacobian(&y, &cube, Some(axis)),
            ErrorKind::BatchAxis,
            &["batch_axis", &axis.to_string()],
        );
    }
    let m = leaf(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let s = sum(&square(&m).unwrap(), Some(&[1]), false).unwrap(); // [2]
    // For a Hessian, Paddle checks y first; for a valid per-sample y the
    // batch axis is what is wrong.
    for axis in [1, -1] {
        assert_err(
            hessian(&s, &m, Some(axis)),
            ErrorKind::BatchAxis,
            &["batch_axis"],
        );
    }
}

#[test]
fn mismatched_batch_sizes_are_refused() {
    // Paddle accepts these silently (reference case b_mismatched_batch_sizes);
    // libjac refuses.
    let x3 = leaf(&[0.1; 6], &[3, 2]);
    let x4 = leaf(&[0.2; 8], &[4, 2]);
    let v4 = leaf(&[0.3; 4], &[4]);
    let y4 = matmul(&konst(&[1.0; 12], &[4, 3]), &x3).unwrap(); // [4, 2]
    assert_err(
        jacobian(&y4, &x3, Some(0)),
        ErrorKind::BatchAxis,
        &["xs[0]", "batch size 3", "4"],
    );
    assert_err(
        jacobian(&y4, &[x4.clone(), x3.clone()], Some(0)),
        ErrorKind::BatchAxis,
        &["xs[1]", "batch size 3"],
    );
    let y3 = sin(&x3).unwrap();
    assert_err(
        jacobian(&[y4, y3], &x4, Some(0)),
        ErrorKind::BatchAxis,
        &["ys[1]", "batch size 3"],
    );
    let s4 = sum(&x4, Some(&[1]), false).unwrap();
    assert_err(
        hessian(&s4, &[v4, x3], Some(0)),
        ErrorKind::BatchAxis,
        &["xs[1]"],
    );
}

#[test]
fn hessians_of_non_scalars_are_shape_errors() {
    let x = leaf(&[1.0, 2.0, 3.0], &[3]);
    let y = square(&x).unwrap(); // [3]
    assert_err(
        hessian(&y, &x, None),
        ErrorKind::Shape,
        &["y", "[3]", "one element"],
    );
    let m = leaf(&[0.5; 6], &[3, 2]);
    let y = square(&m).unwrap(); // [3, 2]: not one value per sample
    assert_err(hessian(&y, &m, Some(0)), ErrorKind::Shape, &["y", "[3, 2]"]);
    // Paddle checks y before the batch axis (err_h_batch_axis_1_bad_ys).
    assert_err(hessian(&y, &m, Some(1)), ErrorKind::Shape, &["y"]);
    let s = sum(&y, None, false).unwrap(); // 0-D with batch_axis 0
    assert_err(hessian(&s, &m, Some(0)), ErrorKind::Shape, &["y", "[]"]);
    // One element is enough unbatched, whatever the shape: [1, 1] works.
    let one = reshape(&sum(&square(&x).unwrap(), None, false).unwrap(), &[1, 1]).unwrap();
    let h = hessian(&one, &x, None).unwrap();
    assert_block(&h, 0, 0, &[3, 3], &diag(&[2.0; 3]), 0.0);
}

#[test]
fn xs_without_grad_are_not_differentiable() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let c = konst(&[3.0, 4.0], &[2]);
    let y = mul(&x, &c).unwrap();
    assert_err(
        jacobian(&y, &c, None),
        ErrorKind::NotDifferentiable,
        &["xs[0]"],
    );
    assert_err(
        jacobian(&y, &[x.clone(), c.clone()], None),
        ErrorKind::NotDifferentiable,
        &["xs[1]"],
    );
    let s = sum(&y, None, false).unwrap();
    assert_err(
        hessian(&s, &[x.clone(), c.clone()], None),
        ErrorKind::NotDifferentiable,
        &["xs[1]"],
    );
    // A detached copy of a differentiable leaf is a constant.
    let d = x.detach();
    assert_err(
        jacobian(&y, &d, None),
        ErrorKind::NotDifferentiable,
        &["xs[0]"],
    );
}

#[test]
fn empty_tuples_are_invalid_arguments() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let y = sin(&x).unwrap();
    let none: [Tensor; 0] = [];
    assert_err(
        jacobian(&none, &x, None),
        ErrorKind::InvalidArgument,
        &["ys", "empty"],
    );
    assert_err(
        jacobian(&y, &none, None),
        ErrorKind::InvalidArgument,
        &["xs", "empty"],
    );
    assert_err(
        jacobian(&none, &none, Some(0)),
        ErrorKind::InvalidArgument,
        &["ys"],
    );
    let s = sum(&y, None, false).unwrap();
    assert_err(
        hessian(&s, &none, None),
        ErrorKind::InvalidArgument,
        &["xs", "empty"],
    );
}

#[test]
fn blocks_outside_the_grid_are_index_errors() {
    let x = leaf(&[1.0, 2.0], &[2]);
    let v = leaf(&[3.0], &[1]);
    let y = sin(&x).unwrap();
    let j = jacobian(&y, &[x.clone(), v], None).unwrap(); // grid (1, 2)
    for (i, k) in [(1, 0), (0, 2), (5, 5), (usize::MAX, 0)] {
        assert_err(j.block_shape(i, k), ErrorKind::Index, &["block"]);
        assert_err(j.read(i, k, &[]), ErrorKind::Index, &["block"]);
        assert_err(j.read_shape(i, k, &[]), ErrorKind::Index, &["block"]);
        assert_err(
            j.read_into(i, k, &[], &mut [0.0; 2]),
            ErrorKind::Index,
            &["block"],
        );
    }
    assert_err(j.rows_evaluated(1), ErrorKind::Index, &["1"]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 0);
}

// ---------------------------------------------------------------------------
// Lifetime

#[test]
fn a_jacobian_keeps_its_graph_alive_after_the_caller_drops_every_tensor() {
    // y = sin(x * x): J = diag(2 x cos(x^2)); y2 = sum(x^3): H = diag(6 x).
    let xv = [0.3, -0.8, 1.1];
    let (j, h) = {
        let x = leaf(&xv, &[3]);
        let y = sin(&mul(&x, &x).unwrap()).unwrap();
        let cube = sum(&mul(&square(&x).unwrap(), &x).unwrap(), None, false).unwrap();
        let j = jacobian(&y, &x, None).unwrap();
        let h = hessian(&cube, std::slice::from_ref(&x), None).unwrap();
        drop((x, y, cube));
        (j, h)
    };
    let want: Vec<f64> = xv.iter().map(|&v| 2.0 * v * (v * v).cos()).collect();
    assert_block(&j, 0, 0, &[3, 3], &diag(&want), 1e-15);
    let want: Vec<f64> = xv.iter().map(|&v| 6.0 * v).collect();
    assert_block(&h, 0, 0, &[3, 3], &diag(&want), 1e-14);
    // Moved to another thread, still alive and readable.
    let row = std::thread::spawn(move || read(&j, 0, 0, &[Index::Int(1)]))
        .join()
        .unwrap();
    assert_eq!(row.0, vec![3]);
    assert_close(
        &row.1,
        &[0.0, 2.0 * -0.8 * 0.64f64.cos(), 0.0],
        1e-15,
        "row 1",
    );
}

// ---------------------------------------------------------------------------
// Edge cases

#[test]
fn leaves_as_ys_repeated_xs_and_constant_ys() {
    let x = leaf(&[0.5, -2.0, 1.5], &[3]);
    // y = x itself: J = I.
    let j = jacobian(&x, &x, None).unwrap();
    assert_block(&j, 0, 0, &[3, 3], &eye(3), 0.0);
    // The same x twice: both blocks are d(x^2)/dx = diag(2x).
    let y = square(&x).unwrap();
    let j = jacobian(&y, &[x.clone(), x.clone()], None).unwrap();
    assert_block(&j, 0, 0, &[3, 3], &diag(&[1.0, -4.0, 3.0]), 0.0);
    assert_block(&j, 0, 1, &[3, 3], &diag(&[1.0, -4.0, 3.0]), 0.0);
    // The Hessian of a constant (and of a y that is x, linear): zeros.
    let c = konst(&[4.0], &[]);
    let h = hessian(&c, &x, None).unwrap();
    assert_block(&h, 0, 0, &[3, 3], &[0.0; 9], 0.0);
    let a = leaf(&[2.0], &[]);
    let h = hessian(&a, &[a.clone(), x], None).unwrap();
    assert_block(&h, 0, 0, &[], &[0.0], 0.0);
    assert_block(&h, 0, 1, &[3], &[0.0; 3], 0.0);
    assert_block(&h, 1, 1, &[3, 3], &[0.0; 9], 0.0);
}

#[test]
fn empty_axes_give_empty_blocks() {
    // x [0]: y = sum(x) is 0-D, block [0]; y = x gives [0, 0].
    let x = leaf(&[], &[0]);
    let j = jacobian(&sum(&x, None, false).unwrap(), &x, None).unwrap();
    assert_block(&j, 0, 0, &[0], &[], 0.0);
    let j = jacobian(&x, &x, None).unwrap();
    assert_block(&j, 0, 0, &[0, 0], &[], 0.0);
    // y [3] of x [0]: [3, 0]; y [0] of v [2]: [0, 2].
    let v = leaf(&[1.0, 2.0], &[2]);
    let y = mul(&v, &sum(&x, None, false).unwrap()).unwrap();
    let j = jacobian(&[y, x.clone()], &[x.clone(), v], None).unwrap();
    assert_block(&j, 0, 0, &[2, 0], &[], 0.0);
    assert_block(&j, 0, 1, &[2, 2], &[0.0; 4], 0.0);
    assert_block(&j, 1, 1, &[0, 2], &[], 0.0);
    assert_eq!(j.rows_evaluated(1).unwrap(), 0);
    // A batch of 0 samples.
    let xb = leaf(&[], &[0, 3]);
    let j = jacobian(&sin(&xb).unwrap(), &xb, Some(0)).unwrap();
    assert_block(&j, 0, 0, &[0, 3, 3], &[], 0.0);
    assert_eq!(read(&j, 0, 0, &[Index::All, Index::Int(1)]).0, vec![0, 3]);
}
