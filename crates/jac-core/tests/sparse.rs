//! Sparse Jacobians and Hessians of recorded functions: for every op family
//! the detected pattern is exactly right (every entry outside it is zero at
//! every random point, and every entry in it is nonzero at one of them), the
//! compressed evaluation gives the dense Jacobian's or Hessian's values,
//! known structures take the known number of colours, and bad arguments are
//! refused with the right kind and nothing written.

mod common;

use common::{Domain, Rng, seed_from, values};
use jac_core::{
    ErrorKind, Function, Sparse, Sweep, Tensor, abs, add, add_scalar, atan2, broadcast_to, clamp,
    concat, cos, cumsum, div, erf, exp, gather, greater, less, log, log_softmax, logsumexp, matmul,
    max, maximum, mean, min, minimum, mul, neg, pow, pow_scalar, relu, reshape, scale, scatter_add,
    sigmoid, sin, slice, softmax, softplus, sqrt, square, stack, sub, sum, tan, tanh, transpose,
    where_,
};

type Built = jac_core::Result<Vec<Tensor>>;

/// Records `build` from inputs of `shapes` (recorded at 0.5 everywhere:
/// the pattern must not depend on the recording point). The function's
/// inputs and outputs are flat (the program reshapes them), so that its
/// dense Jacobians and Hessians (Paddle's semantics: 0-D or 1-D sides)
/// exist; rows and columns are the same row-major elements.
fn record(shapes: &[&[usize]], build: impl Fn(&[Tensor]) -> Built) -> Function {
    let leaves: Vec<Tensor> = shapes
        .iter()
        .map(|s| {
            Tensor::from_vec(vec![0.5; s.iter().product()], &[s.iter().product()], true).unwrap()
        })
        .collect();
    let xs: Vec<Tensor> = leaves
        .iter()
        .zip(shapes)
        .map(|(x, s)| reshape(x, &s.iter().map(|&d| d as isize).collect::<Vec<_>>()).unwrap())
        .collect();
    let ys: Vec<Tensor> = build(&xs)
        .expect("the program builds")
        .into_iter()
        .map(|y| {
            if y.ndim() > 1 {
                reshape(&y, &[-1]).unwrap()
            } else {
                y
            }
        })
        .collect();
    Function::new(&leaves, &ys).expect("the program records")
}

fn numel(f: &Function, input: usize) -> usize {
    f.input_shape(input).unwrap().iter().product()
}

/// Random points: one buffer per input.
fn points(f: &Function, domain: Domain, name: &str, count: usize) -> Vec<Vec<Vec<f64>>> {
    let mut rng = Rng::new(seed_from(name));
    (0..count)
        .map(|_| {
            (0..f.n_inputs())
                .map(|k| values(f.input_shape(k).unwrap(), domain, &mut rng))
                .collect()
        })
        .collect()
}

fn refs(point: &[Vec<f64>]) -> Vec<&[f64]> {
    point.iter().map(Vec::as_slice).collect()
}

/// The dense block `d output / d input` at `point`, row-major `m x n`.
fn dense_jacobian(f: &Function, point: &[Vec<f64>], output: usize, input: usize) -> Vec<f64> {
    let j = f.jacobian(&refs(point), None).unwrap();
    j.read(output, input, &[])
        .unwrap()
        .iter()
        .copied()
        .collect()
}

/// The dense Hessian of `output` with respect to every input, `n x n`.
fn dense_hessian(f: &Function, point: &[Vec<f64>], output: usize) -> Vec<f64> {
    let h = f.hessian(&refs(point), output, None).unwrap();
    let sizes: Vec<usize> = (0..f.n_inputs()).map(|k| numel(f, k)).collect();
    let n: usize = sizes.iter().sum();
    let starts: Vec<usize> = sizes
        .iter()
        .scan(0, |s, &k| {
            *s += k;
            Some(*s - k)
        })
        .collect();
    let mut out = vec![0.0; n * n];
    for (i, (&si, &ni)) in starts.iter().zip(&sizes).enumerate() {
        for (j, (&sj, &nj)) in starts.iter().zip(&sizes).enumerate() {
            let block: Vec<f64> = h.read(i, j, &[]).unwrap().iter().copied().collect();
            for r in 0..ni {
                for c in 0..nj {
                    out[(si + r) * n + sj + c] = block[r * nj + c];
                }
            }
        }
    }
    out
}

/// Compares the sparse evaluation with the dense matrices at `pts`: the
/// values in the pattern agree, every entry outside it is exactly zero,
/// and (when `exact`) every entry in it is nonzero at some point.
fn check(
    sp: &Sparse,
    dense: impl Fn(&[Vec<f64>]) -> Vec<f64>,
    pts: &[Vec<Vec<f64>>],
    exact: bool,
    what: &str,
) {
    let (m, n) = sp.shape();
    let (rows, cols) = sp.pattern();
    assert_eq!(rows.len(), sp.nnz(), "{what}: rows");
    assert_eq!(cols.len(), sp.nnz(), "{what}: cols");
    for k in 1..sp.nnz() {
        assert!(
            (rows[k - 1], cols[k - 1]) < (rows[k], cols[k]),
            "{what}: the pattern is not sorted by row, then column, at {k}"
        );
    }
    let mut in_pattern = vec![false; m * n];
    for (&r, &c) in rows.iter().zip(cols) {
        assert!(r < m && c < n, "{what}: entry ({r}, {c}) outside {m} x {n}");
        in_pattern[r * n + c] = true;
    }
    let mut seen = vec![false; sp.nnz()];
    for (p, point) in pts.iter().enumerate() {
        let d = dense(point);
        assert_eq!(d.len(), m * n, "{what}: dense size");
        for (k, &v) in d.iter().enumerate() {
            if !in_pattern[k] {
                assert_eq!(
                    v,
                    0.0,
                    "{what}: entry ({}, {}) is {v} at point {p} but not in the pattern",
                    k / n,
                    k % n
                );
            }
        }
        let mut values = vec![f64::NAN; sp.nnz()];
        sp.eval_into(&refs(point), &mut values).unwrap();
        for (k, (&r, &c)) in rows.iter().zip(cols).enumerate() {
            let expected = d[r * n + c];
            let tol = 1e-12 * (1.0 + expected.abs());
            assert!(
                (values[k] - expected).abs() <= tol,
                "{what}: entry ({r}, {c}) at point {p}: sparse {} vs dense {expected}",
                values[k]
            );
            seen[k] |= expected != 0.0;
        }
    }
    if exact {
        for (k, (&r, &c)) in rows.iter().zip(cols).enumerate() {
            assert!(seen[k], "{what}: entry ({r}, {c}) is zero at every point");
        }
    }
}

/// The sparse Jacobian of `(output, input)` checked against the dense one
/// at four random points.
fn check_jacobian(
    f: &Function,
    output: usize,
    input: usize,
    domain: Domain,
    exact: bool,
    what: &str,
) -> Sparse {
    let sp = f.sparse_jacobian(output, input).unwrap();
    let pts = points(f, domain, what, 4);
    check(
        &sp,
        |p| dense_jacobian(f, p, output, input),
        &pts,
        exact,
        what,
    );
    sp
}

/// The sparse Hessian of `output` checked against the dense one at four
/// random points.
fn check_hessian(f: &Function, output: usize, domain: Domain, exact: bool, what: &str) -> Sparse {
    let sp = f.sparse_hessian(output).unwrap();
    assert_eq!(sp.sweep(), Sweep::HessianVector);
    let pts = points(f, domain, what, 4);
    check(&sp, |p| dense_hessian(f, p, output), &pts, exact, what);
    sp
}

type Unary = fn(&Tensor) -> jac_core::Result<Tensor>;

/// Every elementwise op of one operand, whether it is nonlinear, and where
/// it is defined.
fn unary_ops() -> Vec<(&'static str, Unary, bool, Domain)> {
    let pos = Domain::Uniform(0.2, 1.5);
    let any = Domain::AwayFromZero(0.1, 1.2);
    vec![
        ("exp", exp, true, any),
        ("log", log, true, pos),
        ("sin", sin, true, any),
        ("cos", cos, true, any),
        ("tan", tan, true, any),
        ("tanh", tanh, true, any),
        ("sigmoid", sigmoid, true, any),
        ("softplus", softplus, true, any),
        ("sqrt", sqrt, true, pos),
        ("square", square, true, any),
        ("erf", erf, true, any),
        ("pow_scalar 3", |a| pow_scalar(a, 3.0), true, any),
        ("neg", neg, false, any),
        ("relu", relu, false, pos),
        ("abs", abs, false, any),
        ("scale", |a| scale(a, -2.5), false, any),
        ("add_scalar", |a| add_scalar(a, 0.75), false, any),
        ("pow_scalar 1", |a| pow_scalar(a, 1.0), false, any),
        (
            "clamp",
            |a| clamp(a, -0.5, 0.5),
            false,
            Domain::Uniform(-0.4, 0.4),
        ),
    ]
}

#[test]
fn should_find_the_diagonal_of_every_unary_op() {
    for (name, op, nonlinear, domain) in unary_ops() {
        let f = record(&[&[2, 3]], |x| {
            let y = op(&x[0])?;
            Ok(vec![y.clone(), sum(&y, None, false)?])
        });
        let j = check_jacobian(&f, 0, 0, domain, true, name);
        assert_eq!(j.pattern().0, [0, 1, 2, 3, 4, 5], "{name}");
        assert_eq!(j.pattern().1, [0, 1, 2, 3, 4, 5], "{name}");
        assert_eq!(j.colors(), 1, "{name}: a diagonal takes one colour");
        let h = check_hessian(&f, 1, domain, true, name);
        // Nonlinear: the diagonal; (piecewise) linear: nothing at all.
        assert_eq!(h.nnz(), if nonlinear { 6 } else { 0 }, "{name}: Hessian");
        assert_eq!(
            h.colors(),
            usize::from(nonlinear),
            "{name}: Hessian colours"
        );
    }
}

#[test]
fn should_find_nothing_for_a_constant_power() {
    let f = record(&[&[4]], |x| {
        let y = pow_scalar(&x[0], 0.0)?;
        Ok(vec![y.clone(), sum(&y, None, false)?])
    });
    let j = check_jacobian(&f, 0, 0, Domain::Uniform(0.5, 1.0), true, "pow 0");
    assert_eq!((j.nnz(), j.colors()), (0, 0));
    let mut none: [f64; 0] = [];
    j.eval_into(&[&[1.0, 2.0, 3.0, 4.0]], &mut none).unwrap();
}

type Binary = fn(&Tensor, &Tensor) -> jac_core::Result<Tensor>;

#[test]
fn should_follow_broadcasting_in_binary_ops() {
    // The last flag: whether every entry is nonzero at some point (not
    // for minimum and maximum, whose derivative goes to one side).
    let ops: [(&str, Binary, Domain, bool); 8] = [
        ("add", add, Domain::AwayFromZero(0.2, 1.0), true),
        ("sub", sub, Domain::AwayFromZero(0.2, 1.0), true),
        ("mul", mul, Domain::AwayFromZero(0.2, 1.0), true),
        ("div", div, Domain::AwayFromZero(0.2, 1.0), true),
        ("pow", pow, Domain::Uniform(0.3, 1.5), true),
        ("atan2", atan2, Domain::AwayFromZero(0.2, 1.0), true),
        ("minimum", minimum, Domain::Distinct, false),
        ("maximum", maximum, Domain::Distinct, false),
    ];
    for (name, op, domain, exact) in ops {
        // x: [3, 1], v: [4] -> [3, 4]: element (i, j) of x_i and v_j.
        let f = record(&[&[3, 1], &[4]], |x| {
            let y = op(&x[0], &x[1])?;
            Ok(vec![y.clone(), sum(&y, None, false)?])
        });
        let jx = check_jacobian(&f, 0, 0, domain, exact, name);
        assert_eq!(jx.shape(), (12, 3));
        assert_eq!(
            jx.pattern().1,
            (0..12).map(|e| e / 4).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(jx.colors(), 1, "{name}: each row has one x");
        let jv = check_jacobian(&f, 0, 1, domain, exact, name);
        assert_eq!(
            jv.pattern().1,
            (0..12).map(|e| e % 4).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(jv.colors(), 1, "{name}: each row has one v");
        check_hessian(&f, 1, domain, true, name);
    }
}

#[test]
fn should_couple_only_what_a_binary_op_multiplies() {
    let f = record(&[&[3], &[3]], |x| {
        let (a, b) = (&x[0], &x[1]);
        Ok(vec![
            sum(&mul(a, b)?, None, false)?, // x_i v_i: off-diagonal blocks only
            sum(&div(a, b)?, None, false)?, // d2/da2 = 0: no x-x entries
            sum(&add(&square(a)?, b)?, None, false)?, // x-x diagonal only
            sum(&mul(a, a)?, None, false)?, // one operand twice: its diagonal
        ])
    });
    let d = Domain::AwayFromZero(0.3, 1.0);
    let h = check_hessian(&f, 0, d, true, "mul");
    assert_eq!(h.pattern().0, [0, 1, 2, 3, 4, 5]);
    assert_eq!(h.pattern().1, [3, 4, 5, 0, 1, 2]);
    let h = check_hessian(&f, 1, d, true, "div");
    assert_eq!(h.pattern().0, [0, 1, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(h.pattern().1, [3, 4, 5, 0, 3, 1, 4, 2, 5]);
    let h = check_hessian(&f, 2, d, true, "square + v");
    assert_eq!(h.pattern(), (&[0usize, 1, 2][..], &[0usize, 1, 2][..]));
    let h = check_hessian(&f, 3, d, true, "x * x");
    assert_eq!(h.pattern(), (&[0usize, 1, 2][..], &[0usize, 1, 2][..]));
}

#[test]
fn should_see_no_dependence_through_a_comparison_and_both_branches_of_where() {
    let f = record(&[&[4], &[4]], |x| {
        let (a, b) = (&x[0], &x[1]);
        let mask = less(a, b)?;
        let y = where_(&mask, &square(a)?, &sin(b)?)?;
        let gated = mul(&greater(a, &Tensor::scalar(0.0))?, b)?;
        Ok(vec![
            y.clone(),
            sum(&y, None, false)?,
            mask,
            gated.clone(),
            sum(&mul(&gated, &gated)?, None, false)?,
        ])
    });
    let d = Domain::Distinct;
    // Both branches: y_i depends on a_i and b_i; the mask on neither.
    // (Each entry is zero where the other branch is taken.)
    let ja = check_jacobian(&f, 0, 0, d, false, "where a");
    assert_eq!(ja.pattern().1, [0, 1, 2, 3]);
    let jb = check_jacobian(&f, 0, 1, d, false, "where b");
    assert_eq!(jb.pattern().1, [0, 1, 2, 3]);
    let h = check_hessian(&f, 1, d, false, "where");
    assert_eq!(h.pattern().0, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(h.pattern().1, [0, 1, 2, 3, 4, 5, 6, 7]);
    for input in 0..2 {
        let j = check_jacobian(&f, 2, input, d, true, "mask");
        assert_eq!((j.nnz(), j.colors()), (0, 0));
    }
    // mask(a) * b: no entry for a at all.
    assert_eq!(check_jacobian(&f, 3, 0, d, true, "gated a").nnz(), 0);
    assert_eq!(check_jacobian(&f, 3, 1, d, false, "gated b").nnz(), 4);
    let h = check_hessian(&f, 4, d, false, "gated^2");
    assert_eq!(h.pattern().1, [4, 5, 6, 7]);
}

#[test]
fn should_map_indices_through_shape_ops() {
    // Each output is a permutation, a selection or a repetition of x's
    // elements: one entry per row, where the op moves it.
    let f = record(&[&[2, 3]], |x| {
        let x = &x[0];
        let t = transpose(x, &[1, 0])?; // [3, 2]
        Ok(vec![
            reshape(x, &[3, 2])?,
            t.clone(),
            slice(x, 1, None, None, -2)?, // columns 2, 0
            concat(&[slice(x, 0, Some(1), None, 1)?, x.clone()], 0)?, // [3, 3]
            stack(&[x.clone(), neg(x)?], 1)?, // [2, 2, 3]
            broadcast_to(&slice(x, 0, Some(0), Some(1), 1)?, &[2, 2, 3])?,
            sum(&mul(&reshape(&t, &[6])?, &reshape(x, &[6])?)?, None, false)?,
        ])
    });
    let d = Domain::AwayFromZero(0.2, 1.0);
    let cols = |o: usize| {
        check_jacobian(&f, o, 0, d, true, "shape")
            .pattern()
            .1
            .to_vec()
    };
    assert_eq!(cols(0), [0, 1, 2, 3, 4, 5]);
    assert_eq!(cols(1), [0, 3, 1, 4, 2, 5]);
    assert_eq!(cols(2), [2, 0, 5, 3]);
    assert_eq!(cols(3), [3, 4, 5, 0, 1, 2, 3, 4, 5]);
    assert_eq!(cols(4), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    assert_eq!(cols(5), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    // t . x pairs x_(i, j) with x_(j', i') as the transpose moved it.
    let h = check_hessian(&f, 6, d, true, "transpose . x");
    let dense = dense_hessian(&f, &points(&f, d, "h", 1)[0], 6);
    assert_eq!(h.nnz(), dense.iter().filter(|&&v| v != 0.0).count());
}

#[test]
fn should_take_whole_lanes_in_reductions() {
    let f = record(&[&[2, 3]], |x| {
        let x = &x[0];
        Ok(vec![
            sum(x, Some(&[1]), false)?,
            mean(x, Some(&[0]), true)?,
            max(x, 1, false)?,
            sum(&square(&max(x, 0, false)?)?, None, false)?,
            sum(&square(&sum(x, Some(&[1]), false)?)?, None, false)?,
        ])
    });
    let d = Domain::Distinct;
    let j = check_jacobian(&f, 0, 0, d, true, "sum");
    assert_eq!(j.pattern().0, [0, 0, 0, 1, 1, 1]);
    assert_eq!(j.pattern().1, [0, 1, 2, 3, 4, 5]);
    let j = check_jacobian(&f, 1, 0, d, true, "mean");
    assert_eq!(j.pattern().0, [0, 0, 1, 1, 2, 2]);
    assert_eq!(j.pattern().1, [0, 3, 1, 4, 2, 5]);
    // Max: the whole lane, though only one element is nonzero at a point.
    let j = check_jacobian(&f, 2, 0, d, false, "max");
    assert_eq!(j.pattern().0, [0, 0, 0, 1, 1, 1]);
    // Rows share no column: one reverse sweep.
    assert_eq!((j.sweep(), j.colors()), (Sweep::Reverse, 1));
    // max then square: each column's pair couples with itself.
    let h = check_hessian(&f, 3, d, false, "max^2");
    assert_eq!(h.pattern().0, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    assert_eq!(h.pattern().1, [0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5]);
    // (row sum)^2: each row's block is dense.
    let h = check_hessian(&f, 4, d, true, "sum^2");
    assert_eq!(h.nnz(), 18);
    assert_eq!(h.colors(), 3);
}

#[test]
fn should_follow_rows_and_columns_in_a_matrix_product() {
    let w = Tensor::from_vec(vec![0.5, -1.0, 0.75, 2.0, 1.5, 0.25], &[3, 2], false).unwrap();
    let f = record(&[&[2, 3], &[2, 2], &[2, 3, 2]], |x| {
        Ok(vec![
            matmul(&x[0], &w)?,                          // [2, 2]: row i of x
            matmul(&x[0], &transpose(&x[0], &[1, 0])?)?, // x x^T
            sum(&matmul(&x[1], &x[1])?, None, false)?,   // a product with itself
            matmul(&x[2], &slice(&x[1], 0, Some(0), Some(1), 1)?.reshaped())?, // batched
            sum(&matmul(&x[0], &x[2])?, None, false)?,   // a_ik b_bkj
        ])
    });
    let d = Domain::AwayFromZero(0.2, 1.0);
    let j = check_jacobian(&f, 0, 0, d, true, "x W");
    assert_eq!(j.pattern().0, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    assert_eq!(j.pattern().1, [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    check_jacobian(&f, 1, 0, d, true, "x x^T");
    check_hessian(&f, 2, d, true, "sum(X X)");
    check_jacobian(&f, 3, 2, d, true, "batched");
    check_jacobian(&f, 3, 1, d, true, "batched, right");
    let h = check_hessian(&f, 4, d, true, "a_ik b_kj");
    // Only x0 with x2 couple: x0's row (i, k) meets x2's (b, k, j) for
    // every b and j: 6 x0 entries times 2 x 2 = 24, both ways.
    assert_eq!(h.nnz(), 48);
}

/// `[1, 2] -> [2]` without touching the values.
trait Flatten {
    fn reshaped(&self) -> Tensor;
}

impl Flatten for Tensor {
    fn reshaped(&self) -> Tensor {
        reshape(self, &[-1]).unwrap()
    }
}

/// `y_i = sin(x_(i-1)) + x_i^2 + x_(i+1) x_i`, zero-padded at the ends.
fn tridiagonal(x: &Tensor, n: usize) -> jac_core::Result<Tensor> {
    let zero = Tensor::zeros(&[1])?;
    let lo = concat(
        &[zero.clone(), slice(x, 0, Some(0), Some(n as i64 - 1), 1)?],
        0,
    )?;
    let hi = concat(&[slice(x, 0, Some(1), None, 1)?, zero], 0)?;
    add(&add(&sin(&lo)?, &square(x)?)?, &mul(&hi, x)?)
}

#[test]
fn should_colour_a_tridiagonal_jacobian_with_three_colours() {
    let n = 12;
    let f = record(&[&[n]], |x| {
        let y = tridiagonal(&x[0], n)?;
        Ok(vec![y.clone(), sum(&mul(&y, &y)?, None, false)?])
    });
    let j = check_jacobian(
        &f,
        0,
        0,
        Domain::AwayFromZero(0.2, 1.0),
        true,
        "tridiagonal",
    );
    assert_eq!(j.nnz(), 3 * n - 2);
    assert_eq!(j.colors(), 3);
    // sum(y^2): J^T J and y's own curvature: a pentadiagonal Hessian.
    let h = check_hessian(&f, 1, Domain::AwayFromZero(0.2, 1.0), true, "pentadiagonal");
    assert_eq!(h.nnz(), 5 * n - 6);
    assert!(
        h.colors() <= 6,
        "a star colouring of a band of width 5: {}",
        h.colors()
    );
}

#[test]
fn should_colour_an_arrow_hessian_with_two_colours() {
    // f = x_0 sum(x) + sum(x^3): row and column 0 full, and the diagonal.
    let n = 10;
    let f = record(&[&[n]], |x| {
        let x = &x[0];
        let x0 = slice(x, 0, Some(0), Some(1), 1)?;
        let cubes = sum(&pow_scalar(x, 3.0)?, None, false)?;
        Ok(vec![add(&sum(&mul(&x0, x)?, None, false)?, &cubes)?])
    });
    let h = check_hessian(&f, 0, Domain::AwayFromZero(0.2, 1.0), true, "arrow");
    assert_eq!(h.nnz(), 3 * n - 2);
    assert_eq!(h.colors(), 2);
}

#[test]
fn should_sweep_in_the_direction_with_fewer_colours() {
    let w: Vec<f64> = (0..40 * 3).map(|k| ((k * 7) % 11) as f64 - 5.5).collect();
    let w = Tensor::from_vec(w, &[40, 3], false).unwrap();
    let f = record(&[&[3], &[40]], |x| {
        Ok(vec![
            tanh(&matmul(&w, &x[0])?)?,           // tall and dense: 3 columns
            sum(&exp(&x[1])?, Some(&[0]), true)?, // wide: one row
        ])
    });
    let tall = check_jacobian(&f, 0, 0, Domain::AwayFromZero(0.2, 1.0), true, "tall");
    assert_eq!((tall.sweep(), tall.colors()), (Sweep::Forward, 3));
    let wide = check_jacobian(&f, 1, 1, Domain::AwayFromZero(0.2, 1.0), true, "wide");
    assert_eq!((wide.sweep(), wide.colors()), (Sweep::Reverse, 1));
    // An output that does not depend on the input: nothing to evaluate.
    let none = check_jacobian(
        &f,
        1,
        0,
        Domain::AwayFromZero(0.2, 1.0),
        true,
        "independent",
    );
    assert_eq!((none.nnz(), none.colors(), none.shape()), (0, 0, (1, 3)));
}

/// A program through every op family at once, against the dense Jacobians
/// and Hessian (superset only where max or relu make entries vanish).
#[test]
fn should_agree_with_dense_derivatives_on_a_mixed_program() {
    let f = record(&[&[6], &[3]], |x| {
        let (x, v) = (&reshape(&x[0], &[2, 3])?, &x[1]);
        let w = Tensor::from_vec(vec![0.3, -0.2, 0.5, 0.1, 0.4, -0.6], &[3, 2], false)?;
        let h = tanh(&matmul(x, &w)?)?; // [2, 2]
        let hv = mul(&broadcast_to(&reshape(v, &[1, 3])?, &[2, 3])?, x)?; // [2, 3]
        let a = sigmoid(&sub(&hv, &neg(&sin(x)?)?)?)?;
        let b = div(&softplus(&cos(&hv)?)?, &add_scalar(&square(x)?, 1.0)?)?;
        let rev = slice(&concat(&[a.clone(), b], 1)?, 1, None, None, -2)?; // [2, 3]
        let st = stack(&[rev, a], 0)?; // [2, 2, 3]
        let m = max(&st, -1, true)?; // [2, 2, 1]
        let y0 = reshape(
            &add(
                &mean(&st, Some(&[0]), false)?,
                &reshape(&sum(&m, Some(&[0, 2]), false)?, &[2, 1])?,
            )?,
            &[-1],
        )?;
        let y1 = add(
            &sum(&mul(&h, &h)?, None, false)?,
            &sum(&mul(&y0, &y0)?, None, false)?,
        )?;
        Ok(vec![y0, y1])
    });
    let d = Domain::Distinct;
    check_jacobian(&f, 0, 0, d, false, "mixed, x");
    check_jacobian(&f, 0, 1, d, false, "mixed, v");
    check_jacobian(&f, 1, 0, d, false, "mixed scalar, x");
    check_hessian(&f, 1, d, false, "mixed");
}

#[test]
fn should_refuse_bad_arguments() {
    let f = record(&[&[3], &[2]], |x| {
        Ok(vec![sin(&x[0])?, sum(&mul(&x[1], &x[1])?, None, false)?])
    });
    let kind = |r: jac_core::Result<Sparse>| r.unwrap_err().kind();
    assert_eq!(kind(f.sparse_jacobian(2, 0)), ErrorKind::Index);
    assert_eq!(kind(f.sparse_jacobian(0, 2)), ErrorKind::Index);
    let e = f.sparse_jacobian(0, 5).unwrap_err();
    assert_eq!(
        e.message(),
        "input: expected an input index in [0, 2), got 5"
    );
    assert_eq!(kind(f.sparse_hessian(2)), ErrorKind::Index);
    let e = f.sparse_hessian(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert!(
        e.message()
            .starts_with("output: a sparse Hessian needs a 0-D output"),
        "{}",
        e.message()
    );

    let j = f.sparse_jacobian(0, 0).unwrap();
    let mut values = [7.0; 3];
    let (x, v) = ([0.1, 0.2, 0.3], [1.0, 2.0]);
    let fail = |r: jac_core::Result<()>| r.unwrap_err();
    let e = fail(j.eval_into(&[&x], &mut values));
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.message().starts_with("in: expected 2 buffers"),
        "{}",
        e.message()
    );
    let e = fail(j.eval_into(&[&x[..2], &v], &mut values));
    assert!(
        e.message().starts_with("in_lens[0]: expected 3"),
        "{}",
        e.message()
    );
    let e = fail(j.eval_into(&[&x, &v], &mut values[..2]));
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        e.message(),
        "values: expected 3 values (the pattern's nnz), got 2"
    );
    assert_eq!(values, [7.0; 3], "nothing is written on error");
    j.eval_into(&[&x, &v], &mut values).unwrap();
    assert_eq!(values, x.map(f64::cos));
}

#[test]
fn a_sparse_matrix_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sparse>();
}

#[test]
fn should_handle_an_output_that_is_an_input_and_zero_d_inputs() {
    let x = Tensor::from_vec(vec![0.5; 3], &[3], true).unwrap();
    let s = Tensor::from_vec(vec![0.5], &[], true).unwrap();
    let y = mul(&s, &s).unwrap();
    let c = exp(&Tensor::scalar(1.0)).unwrap();
    let f = Function::new(&[x.clone(), s.clone()], &[x, y, c]).unwrap();
    let d = Domain::AwayFromZero(0.2, 1.0);
    // y = x: the identity, by either direction.
    let j = check_jacobian(&f, 0, 0, d, true, "identity");
    assert_eq!((j.nnz(), j.colors()), (3, 1));
    // A 0-D input and output: one entry, 2 s; its Hessian, 2.
    let j = check_jacobian(&f, 1, 1, d, true, "s^2");
    assert_eq!((j.shape(), j.nnz()), ((1, 1), 1));
    let h = check_hessian(&f, 1, d, true, "s^2");
    assert_eq!(h.pattern(), (&[3usize][..], &[3usize][..]));
    // A constant output: nothing.
    let h = check_hessian(&f, 2, d, true, "constant");
    assert_eq!((h.shape(), h.nnz(), h.colors()), ((4, 4), 0, 0));
}

/// min takes its lanes as max does; gather and scatter_add follow their
/// indices, cumsum its prefixes, softmax and log_softmax their lanes,
/// logsumexp its reduced lanes (nonlinearly).
#[test]
fn should_follow_gathers_scans_and_softmax_lanes() {
    let f = record(&[&[2, 3]], |x| {
        let x = &x[0];
        Ok(vec![
            min(x, 0, false)?,
            gather(x, 1, &[2, 0])?,
            scatter_add(x, 1, &[1, 1, 0], 2)?,
            cumsum(x, 1)?,
            softmax(x, 1)?,
            log_softmax(x, 0)?,
            sum(&square(&logsumexp(x, Some(&[1]), false)?)?, None, false)?,
        ])
    });
    let d = Domain::Distinct;
    let j = check_jacobian(&f, 0, 0, d, false, "min");
    assert_eq!(j.pattern().1, [0, 3, 1, 4, 2, 5]);
    let j = check_jacobian(&f, 1, 0, d, true, "gather");
    assert_eq!(j.pattern().1, [2, 0, 5, 3]);
    // out[i, 0] = x[i, 2], out[i, 1] = x[i, 0] + x[i, 1].
    let j = check_jacobian(&f, 2, 0, d, true, "scatter_add");
    assert_eq!(j.pattern().0, [0, 1, 1, 2, 3, 3]);
    assert_eq!(j.pattern().1, [2, 0, 1, 5, 3, 4]);
    let j = check_jacobian(&f, 3, 0, d, true, "cumsum");
    assert_eq!(j.pattern().1, [0, 0, 1, 0, 1, 2, 3, 3, 4, 3, 4, 5]);
    let j = check_jacobian(&f, 4, 0, d, true, "softmax");
    assert_eq!((j.nnz(), j.colors()), (18, 3));
    let j = check_jacobian(&f, 5, 0, d, true, "log_softmax");
    assert_eq!(j.pattern().1, [0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5]);
    let h = check_hessian(&f, 6, d, true, "logsumexp^2");
    assert_eq!((h.nnz(), h.colors()), (18, 3));
}

#[test]
fn threads_evaluate_one_sparse_matrix_at_once() {
    let n = 16;
    let f = record(&[&[n]], |x| {
        let y = tridiagonal(&x[0], n)?;
        Ok(vec![y.clone(), sum(&mul(&y, &y)?, None, false)?])
    });
    let (j, h) = (
        f.sparse_jacobian(0, 0).unwrap(),
        f.sparse_hessian(1).unwrap(),
    );
    let pts = points(&f, Domain::AwayFromZero(0.2, 1.0), "threads", 4);
    let serial = |s: &Sparse, p: &[Vec<f64>]| {
        let mut v = vec![0.0; s.nnz()];
        s.eval_into(&refs(p), &mut v).unwrap();
        v
    };
    let want: Vec<(Vec<f64>, Vec<f64>)> =
        pts.iter().map(|p| (serial(&j, p), serial(&h, p))).collect();
    std::thread::scope(|scope| {
        for (p, w) in pts.iter().zip(&want) {
            let (j, h) = (&j, &h);
            scope.spawn(move || {
                for _ in 0..5 {
                    assert_eq!(serial(j, p), w.0);
                    assert_eq!(serial(h, p), w.1);
                }
            });
        }
    });
}

/// A product of huge empty operands (batch axes of 2^50 items, empty
/// matrices) has an empty structure at once: it used to visit every batch
/// item (a hang the fuzzer found through `jac_function_sparse_jacobian`,
/// with 10^10 items; this one would run for days).
#[test]
fn should_find_an_empty_pattern_for_a_product_of_huge_empty_operands() {
    let shape: &[usize] = &[1 << 20, 1 << 20, 1 << 10, 0, 0];
    let f = record(&[shape], |x| {
        let e = exp(&x[0])?;
        Ok(vec![
            matmul(&e, &x[0])?,
            sum(&matmul(&e, &x[0])?, None, false)?,
        ])
    });
    let j = f.sparse_jacobian(0, 0).unwrap();
    assert_eq!(j.nnz(), 0);
    let h = f.sparse_hessian(1).unwrap();
    assert_eq!(h.nnz(), 0);
}

/// One step of a random program: a new node from the pool (every node 2-D,
/// so that shapes broadcast, reduce with keepdim and transpose simply).
fn random_step(pool: &[Tensor], rng: &mut Rng) -> (String, jac_core::Result<Tensor>) {
    let pick = |rng: &mut Rng| pool[rng.below(pool.len())].clone();
    let p = pick(rng);
    let axis = rng.below(2) as isize;
    let broadcasts = |a: &Tensor, b: &Tensor| {
        a.shape()
            .iter()
            .zip(b.shape())
            .all(|(&m, &n)| m == n || m == 1 || n == 1)
    };
    let partner = |rng: &mut Rng| {
        let mates: Vec<&Tensor> = pool.iter().filter(|q| broadcasts(&p, q)).collect();
        mates[rng.below(mates.len())].clone()
    };
    let unary = unary_ops();
    match rng.below(12) {
        0..=2 => {
            let (name, op, _, domain) = unary[rng.below(unary.len())];
            // Keep log and sqrt in their domain.
            let r = if matches!(domain, Domain::Uniform(lo, _) if lo > 0.0) {
                add_scalar(&square(&p).unwrap(), 0.5).and_then(|q| op(&q))
            } else {
                op(&p)
            };
            (name.to_string(), r)
        }
        3 | 4 => {
            let q = partner(rng);
            let k = rng.below(8);
            let r = match k {
                0 => add(&p, &q),
                1 => sub(&p, &q),
                2 => mul(&p, &q),
                3 => div(&p, &add_scalar(&square(&q).unwrap(), 0.5).unwrap()),
                4 => maximum(&p, &q),
                5 => minimum(&p, &q),
                6 => atan2(&p, &add_scalar(&q, 2.5).unwrap()),
                _ => pow(&add_scalar(&square(&p).unwrap(), 0.5).unwrap(), &q),
            };
            (
                [
                    "add", "sub", "mul", "div", "maximum", "minimum", "atan2", "pow",
                ][k]
                    .to_string(),
                r,
            )
        }
        5 => {
            let k = rng.below(8);
            let r = match k {
                0 => sum(&p, Some(&[axis]), true),
                1 => mean(&p, Some(&[axis]), true),
                2 => max(&p, axis, true),
                3 => min(&p, axis, true),
                4 => logsumexp(&p, Some(&[axis]), true),
                5 => softmax(&p, axis),
                6 => log_softmax(&p, axis),
                _ => cumsum(&p, axis),
            };
            (
                format!(
                    "{} axis {axis}",
                    [
                        "sum",
                        "mean",
                        "max",
                        "min",
                        "logsumexp",
                        "softmax",
                        "log_softmax",
                        "cumsum"
                    ][k]
                ),
                r,
            )
        }
        6 => ("transpose".into(), transpose(&p, &[1, 0])),
        7 => {
            let q = pick(rng);
            let (m, k) = (p.shape()[0], p.shape()[1]);
            let r = if q.shape()[0] == k {
                matmul(&p, &q)
            } else {
                let _ = m;
                matmul(&p, &transpose(&p, &[1, 0]).unwrap())
            };
            ("matmul".into(), r)
        }
        8 => {
            let len = p.shape()[axis as usize];
            let idx: Vec<i64> = (0..1 + rng.below(3))
                .map(|_| rng.below(len) as i64)
                .collect();
            if rng.below(2) == 0 {
                (
                    format!("gather axis {axis} {idx:?}"),
                    gather(&p, axis, &idx),
                )
            } else {
                let dim = len + rng.below(2);
                let idx: Vec<i64> = (0..len).map(|_| rng.below(dim) as i64).collect();
                (
                    format!("scatter_add axis {axis} {idx:?} dim {dim}"),
                    scatter_add(&p, axis, &idx, dim),
                )
            }
        }
        9 => {
            let step = [-1, 2, -2][rng.below(3)];
            (
                format!("slice axis {axis} step {step}"),
                slice(&p, axis, None, None, step),
            )
        }
        10 => {
            let q = pick(rng);
            let other = 1 - axis as usize;
            if q.shape()[other] == p.shape()[other] {
                ("concat".into(), concat(&[p.clone(), q], axis))
            } else if q.shape() == p.shape() {
                (
                    "stack+sum".into(),
                    stack(&[p.clone(), q], 0).and_then(|s| sum(&s, Some(&[0]), false)),
                )
            } else {
                (
                    "broadcast_to".into(),
                    broadcast_to(&p, &[3, 3]).or_else(|_| broadcast_to(&p, &[2, p.shape()[1]])),
                )
            }
        }
        _ => {
            let q = partner(rng);
            let mask = if rng.below(2) == 0 {
                greater(&p, &q)
            } else {
                less(&p, &q)
            };
            ("where".into(), mask.and_then(|m| where_(&m, &p, &q)))
        }
    }
}

/// Random programs of every op family, 3 to 7 steps deep from three
/// inputs that broadcast against each other, ending in `sum(sin(.))` of
/// the last node (so every entry of its pattern is curved): the sparse
/// Hessian's pattern holds every nonzero of the dense Hessian at random
/// points, and its values are the dense ones.
#[test]
fn random_programs_of_every_op_family_have_exact_sparse_hessians() {
    let mut rng = Rng::new(seed_from("random sparse Hessians"));
    let shapes: [&[usize]; 3] = [&[2, 3], &[1, 3], &[2, 1]];
    for program in 0..300 {
        let steps = 3 + rng.below(5);
        let names = std::cell::RefCell::new(String::new());
        let plan: Vec<u64> = (0..1).map(|_| rng.next_u64()).collect();
        let f = record(&shapes, |xs| {
            let mut rng = Rng::new(plan[0]);
            let mut pool: Vec<Tensor> = xs.to_vec();
            let mut described = Vec::new();
            for _ in 0..steps {
                let (name, node) = random_step(&pool, &mut rng);
                match node {
                    Ok(t) if t.ndim() == 2 && t.numel() > 0 => {
                        described.push(format!("{name} -> {:?}", t.shape()));
                        pool.push(t);
                    }
                    _ => described.push(format!("{name} (skipped)")),
                }
            }
            let last = pool.last().unwrap();
            let y = sum(&sin(last)?, None, false)?;
            *names.borrow_mut() = described.join(", ");
            Ok(vec![y])
        });
        let what = format!("program {program}: {}", names.borrow());
        check_hessian(&f, 0, Domain::Uniform(-1.0, 1.0), false, &what);
    }
}
