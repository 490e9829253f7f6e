//! min, softmax, log_softmax and logsumexp beyond the finite-difference
//! checks of `gradcheck.rs`: values and derivatives against closed forms
//! computed in plain f64, extreme entries (1000, -1000, `-inf`, `+inf`,
//! NaN, empty blocks), ties for min, full and batched Jacobians and
//! Hessians read lazily in both directions, and recorded `Function`s
//! replayed at new points against the program built there.

mod common;

use common::{Domain, Rng, arr, assert_close, assert_values, seed_from, tensor, values};
use jac_core::index::Index;
use jac_core::{
    Function, Mode, Tensor, add_scalar, grad, hessian, jacobian, jvp, log_softmax, logsumexp, max,
    min, mul, neg, softmax, sum,
};

const INF: f64 = f64::INFINITY;

/// `exp(x - m) / sum(exp(x - m))` of one lane in plain f64, `m` its maximum.
fn softmax_ref(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// `m + log(sum(exp(x - m)))` of one lane in plain f64.
fn lse_ref(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The rows of a row-major `[rows, n]` buffer.
fn rows(x: &[f64], n: usize) -> impl Iterator<Item = &[f64]> {
    x.chunks(n)
}

fn bits(a: &[f64]) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Two rows far apart in scale, with entries spread over a few units.
const X: [f64; 8] = [0.3, -1.2, 0.8, 0.1, 2.5, 2.4, -0.7, 1.9];

#[test]
fn entries_of_1000_and_minus_1000_neither_overflow_nor_underflow() {
    // Without the shift exp(1000) is inf and exp(-1000) is 0.
    assert!(1000f64.exp().is_infinite() && (-1000f64).exp() == 0.0);
    for c in [1000.0, -1000.0] {
        let shifted: Vec<f64> = X.iter().map(|v| v + c).collect();
        let x = tensor(&shifted, &[2, 4], true);
        let what = |op: &str| format!("{op} at {c:+}");

        // The reference on the shifted entries themselves (the same
        // arithmetic) and on the unshifted ones (the same function: the
        // entries of x + c round to ~1e-13).
        let p = softmax(&x, 1).unwrap();
        let want: Vec<f64> = rows(&shifted, 4).flat_map(softmax_ref).collect();
        assert_values(&p, &[2, 4], &want, 1e-16, &what("softmax"));
        let unshifted: Vec<f64> = rows(&X, 4).flat_map(softmax_ref).collect();
        assert_values(&p, &[2, 4], &unshifted, 1e-12, &what("softmax"));

        let lp = log_softmax(&x, -1).unwrap();
        let want: Vec<f64> = rows(&shifted, 4)
            .flat_map(|r| {
                let l = lse_ref(r);
                r.iter().map(move |v| v - l)
            })
            .collect();
        assert_values(&lp, &[2, 4], &want, 1e-13, &what("log_softmax"));
        let unshifted_log: Vec<f64> = unshifted.iter().map(|p| p.ln()).collect();
        assert_values(&lp, &[2, 4], &unshifted_log, 1e-12, &what("log_softmax"));

        let l = logsumexp(&x, Some(&[1]), false).unwrap();
        let want: Vec<f64> = rows(&X, 4).map(|r| lse_ref(r) + c).collect();
        assert_close(l.value(), &arr(want, &[2]), 1e-15, 0.0, &what("logsumexp"));
        let all = logsumexp(&x, None, false).unwrap();
        assert_close(
            all.value(),
            &arr(vec![lse_ref(&X) + c], &[]),
            1e-15,
            0.0,
            &what("logsumexp of all"),
        );

        // d logsumexp / dx = softmax, finite and shift-invariant.
        let g = grad(&[l], std::slice::from_ref(&x), None, false).unwrap();
        assert_values(&g[0], &[2, 4], &unshifted, 1e-12, &what("d logsumexp"));
        // The VJP of softmax along w at x + c is the one at x.
        let w = tensor(
            &[0.5, -1.0, 0.25, 2.0, -0.5, 1.5, 1.0, -2.0],
            &[2, 4],
            false,
        );
        let at = tensor(&X, &[2, 4], true);
        let loss = |x: &Tensor| sum(&mul(&softmax(x, 1).unwrap(), &w).unwrap(), None, false);
        let g = grad(&[loss(&x).unwrap()], std::slice::from_ref(&x), None, false).unwrap();
        let g0 = grad(
            &[loss(&at).unwrap()],
            std::slice::from_ref(&at),
            None,
            false,
        )
        .unwrap();
        assert!(g[0].to_vec().iter().all(|v| v.is_finite()));
        assert_close(g[0].value(), g0[0].value(), 0.0, 1e-12, &what("d softmax"));
    }
}

#[test]
fn minus_infinity_gets_no_weight_and_a_lane_of_it_has_logsumexp_minus_infinity() {
    let (a, b) = (0.5f64, 1.0f64);
    let x = tensor(&[a, -INF, b, -INF, -INF, -INF], &[2, 3], true);
    let l = logsumexp(&x, Some(&[-1]), false).unwrap();
    let lse = (a.exp() + b.exp()).ln();
    assert_eq!(l.value().as_slice().unwrap()[1], -INF, "all -inf");
    assert!((l.to_vec()[0] - lse).abs() < 1e-15);
    // The gradient is the softmax: 0 at -inf, NaN where y is -inf (the
    // softmax of a lane of -inf is undefined).
    let g = grad(&[l], std::slice::from_ref(&x), None, false).unwrap()[0].to_vec();
    let (pa, pb) = (a.exp() / (a.exp() + b.exp()), b.exp() / (a.exp() + b.exp()));
    assert!((g[0] - pa).abs() < 1e-15 && g[1] == 0.0 && (g[2] - pb).abs() < 1e-15);
    assert!(g[3..].iter().all(|v| v.is_nan()), "{g:?}");

    // Only the finite lane: softmax, log_softmax and their derivatives.
    let x = tensor(&[a, -INF, b], &[3], true);
    let p = softmax(&x, 0).unwrap();
    assert_values(&p, &[3], &[pa, 0.0, pb], 1e-15, "softmax");
    let lp = log_softmax(&x, 0).unwrap();
    let lp_v = lp.to_vec();
    assert_eq!(lp_v[1], -INF);
    assert!((lp_v[0] - (a - lse)).abs() < 1e-15 && (lp_v[2] - (b - lse)).abs() < 1e-15);
    let w = tensor(&[1.0, -2.0, 0.5], &[3], false);
    let gp = grad(
        std::slice::from_ref(&p),
        std::slice::from_ref(&x),
        Some(std::slice::from_ref(&w)),
        false,
    )
    .unwrap();
    // y (w - <w, y>): 0 at the -inf entry.
    let dot = pa * 1.0 + pb * 0.5;
    assert_values(
        &gp[0],
        &[3],
        &[pa * (1.0 - dot), 0.0, pb * (0.5 - dot)],
        1e-15,
        "d softmax",
    );
    let gl = grad(
        std::slice::from_ref(&lp),
        std::slice::from_ref(&x),
        Some(std::slice::from_ref(&w)),
        false,
    )
    .unwrap();
    // w - exp(y) sum(w): the -inf entry keeps its own cotangent.
    let total = 1.0 - 2.0 + 0.5;
    assert_values(
        &gl[0],
        &[3],
        &[1.0 - pa * total, -2.0, 0.5 - pb * total],
        1e-15,
        "d log_softmax",
    );
    // Forward mode agrees: sum(t * p) for logsumexp, finite.
    let t = tensor(&[0.3, 7.0, -0.4], &[3], false);
    let l = logsumexp(&x, None, false).unwrap();
    let jt = jvp(&[l], std::slice::from_ref(&x), &[t], false).unwrap();
    assert!((jt[0].to_vec()[0] - (0.3 * pa - 0.4 * pb)).abs() < 1e-15);
}

#[test]
fn plus_infinity_nan_and_empty_blocks_follow_numpy() {
    let x = tensor(&[1.0, INF, -INF, INF, 2.0, f64::NAN], &[3, 2], false);
    let l = logsumexp(&x, Some(&[1]), false).unwrap().to_vec();
    assert_eq!(l[..2], [INF, INF]);
    assert!(l[2].is_nan());
    // A lane with +inf, or only -inf, has no softmax.
    let p = softmax(&tensor(&[1.0, INF], &[2], false), 0)
        .unwrap()
        .to_vec();
    assert!(p[1].is_nan() && p[0] == 0.0, "{p:?}");
    let p = softmax(&tensor(&[-INF, -INF], &[2], false), 0)
        .unwrap()
        .to_vec();
    assert!(p.iter().all(|v| v.is_nan()), "{p:?}");
    let p = log_softmax(&tensor(&[-INF, -INF], &[2], false), 0)
        .unwrap()
        .to_vec();
    assert!(p.iter().all(|v| v.is_nan()), "{p:?}");

    // The log of an empty sum: -inf, per block; an empty result is empty.
    let e = Tensor::from_vec(vec![], &[2, 0], true).unwrap();
    let l = logsumexp(&e, Some(&[1]), true).unwrap();
    assert_eq!((l.shape(), l.to_vec()), (&[2, 1][..], vec![-INF, -INF]));
    assert_eq!(logsumexp(&e, Some(&[0]), false).unwrap().shape(), &[0]);
    assert_eq!(logsumexp(&e, None, false).unwrap().to_vec(), vec![-INF]);
    assert_eq!(softmax(&e, 1).unwrap().shape(), &[2, 0]);
    assert_eq!(log_softmax(&e, 0).unwrap().shape(), &[2, 0]);
    let g = grad(
        &[softmax(&e, 0).unwrap()],
        std::slice::from_ref(&e),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), &[2, 0]);
}

#[test]
fn min_ties_send_the_gradient_and_the_tangent_to_the_first_minimum() {
    // Row 0 ties at 1 (positions 1, 2), row 1 at 2 (positions 0, 1).
    let x = tensor(&[3.0, 1.0, 1.0, 2.0, 2.0, 5.0], &[2, 3], true);
    let m = min(&x, 1, false).unwrap();
    assert_eq!(m.to_vec(), vec![1.0, 2.0]);
    let g = grad(
        std::slice::from_ref(&m),
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    let t = tensor(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[2, 3], false);
    let jt = jvp(&[m], std::slice::from_ref(&x), &[t], false).unwrap();
    assert_eq!(jt[0].to_vec(), vec![20.0, 40.0]);

    // Down the columns (no ties): rows 1, 0, 0 hold the minima.
    let m0 = min(&x, 0, true).unwrap();
    assert_eq!(
        (m0.shape(), m0.to_vec()),
        (&[1, 3][..], vec![2.0, 1.0, 1.0])
    );
    let g = grad(&[m0], std::slice::from_ref(&x), None, false).unwrap();
    assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);

    // A NaN is the minimum, as in numpy, and takes the gradient.
    let x = tensor(&[1.0, f64::NAN, 0.0], &[3], true);
    let m = min(&x, 0, false).unwrap();
    assert!(m.to_vec()[0].is_nan());
    let g = grad(&[m], std::slice::from_ref(&x), None, false).unwrap();
    assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 0.0]);
}

#[test]
fn min_is_minus_the_max_of_minus_x_with_the_same_derivatives() {
    let mut rng = Rng::new(seed_from("min as max"));
    let v = values(&[3, 5], Domain::Distinct, &mut rng);
    let x = tensor(&v, &[3, 5], true);
    let w = tensor(
        &values(&[5], Domain::Uniform(-1.0, 1.0), &mut rng),
        &[5],
        false,
    );
    for axis in [0, -2] {
        let a = mul(&min(&x, axis, false).unwrap(), &w).unwrap();
        let b = mul(
            &neg(&max(&neg(&x).unwrap(), axis, false).unwrap()).unwrap(),
            &w,
        )
        .unwrap();
        assert_eq!(a.to_vec(), b.to_vec());
        let ga = grad(&[a], std::slice::from_ref(&x), None, false).unwrap();
        let gb = grad(&[b], std::slice::from_ref(&x), None, false).unwrap();
        assert_eq!(ga[0].to_vec(), gb[0].to_vec());
        assert!(ga[0].to_vec().iter().any(|&g| g != 0.0));
    }
}

/// `diag(p) - p p^T` for each row of `p` (`[rows, n]`), row-major.
fn softmax_jacobians(p: &[f64], n: usize) -> Vec<f64> {
    rows(p, n)
        .flat_map(|p| {
            (0..n * n).map(move |k| {
                let (i, j) = (k / n, k % n);
                if i == j {
                    p[i] - p[i] * p[j]
                } else {
                    -p[i] * p[j]
                }
            })
        })
        .collect()
}

#[test]
fn jacobians_through_softmax_are_diag_p_minus_p_p_t_in_both_directions() {
    let x = tensor(&X[..4], &[4], true);
    let p = softmax_ref(&X[..4]);
    for mode in [Mode::Reverse, Mode::Forward] {
        let j = jacobian(&softmax(&x, 0).unwrap(), &x, None).unwrap();
        j.set_mode(mode);
        let want = softmax_jacobians(&p, 4);
        assert_close(
            &j.read(0, 0, &[]).unwrap(),
            &arr(want.clone(), &[4, 4]),
            0.0,
            1e-15,
            &format!("{mode:?}: softmax"),
        );
        // log_softmax: J_ij = [i = j] - p_j.
        let j = jacobian(&log_softmax(&x, -1).unwrap(), &x, None).unwrap();
        j.set_mode(mode);
        let want: Vec<f64> = (0..16)
            .map(|k| f64::from(u8::from(k / 4 == k % 4)) - p[k % 4])
            .collect();
        assert_close(
            &j.read(0, 0, &[]).unwrap(),
            &arr(want, &[4, 4]),
            0.0,
            1e-15,
            &format!("{mode:?}: log_softmax"),
        );
        // logsumexp of a vector: the gradient row p.
        let j = jacobian(&logsumexp(&x, None, false).unwrap(), &x, None).unwrap();
        j.set_mode(mode);
        assert_close(
            &j.read(0, 0, &[]).unwrap(),
            &arr(p.clone(), &[4]),
            0.0,
            1e-15,
            &format!("{mode:?}: logsumexp"),
        );
    }
}

#[test]
fn batched_jacobians_through_softmax_and_logsumexp_are_per_sample() {
    let x = tensor(&X, &[2, 4], true);
    let p: Vec<f64> = rows(&X, 4).flat_map(softmax_ref).collect();
    for mode in [Mode::Reverse, Mode::Forward] {
        let j = jacobian(&softmax(&x, -1).unwrap(), &x, Some(0)).unwrap();
        j.set_mode(mode);
        assert_eq!(j.block_shape(0, 0).unwrap(), vec![2, 4, 4]);
        let want = softmax_jacobians(&p, 4);
        // Row 2 of every sample first, then the whole block.
        let row = j.read(0, 0, &[Index::All, Index::Int(2)]).unwrap();
        let want_row: Vec<f64> = (0..2)
            .flat_map(|b| want[b * 16 + 8..b * 16 + 12].to_vec())
            .collect();
        assert_close(&row, &arr(want_row, &[2, 4]), 0.0, 1e-15, "row 2");
        let all = j.read(0, 0, &[]).unwrap();
        assert_close(
            &all,
            &arr(want, &[2, 4, 4]),
            0.0,
            1e-15,
            &format!("{mode:?}"),
        );

        // A per-sample logsumexp: block [B, N] holding each sample's p.
        let l = logsumexp(&x, Some(&[1]), false).unwrap();
        let j = jacobian(&l, &x, Some(0)).unwrap();
        j.set_mode(mode);
        let block = j.read(0, 0, &[]).unwrap();
        assert_close(&block, &arr(p.clone(), &[2, 4]), 0.0, 1e-15, "logsumexp");
    }
}

#[test]
fn hessians_of_logsumexp_are_diag_p_minus_p_p_t() {
    let x = tensor(&X[..4], &[4], true);
    let p = softmax_ref(&X[..4]);
    let h = hessian(&logsumexp(&x, Some(&[0]), false).unwrap(), &x, None).unwrap();
    let got = h.read(0, 0, &[]).unwrap();
    assert_close(
        &got,
        &arr(softmax_jacobians(&p, 4), &[4, 4]),
        0.0,
        1e-15,
        "H",
    );

    // Per sample, with the batch first: one [N, N] block per row.
    let x = tensor(&X, &[2, 4], true);
    let p: Vec<f64> = rows(&X, 4).flat_map(softmax_ref).collect();
    let h = hessian(&logsumexp(&x, Some(&[-1]), false).unwrap(), &x, Some(0)).unwrap();
    let got = h.read(0, 0, &[]).unwrap();
    assert_close(
        &got,
        &arr(softmax_jacobians(&p, 4), &[2, 4, 4]),
        0.0,
        1e-15,
        "batched H",
    );
}

/// One output per op and variant, from `x` of shape `[3, 4]`.
fn program(x: &Tensor) -> Vec<Tensor> {
    let r = || -> jac_core::Result<Vec<Tensor>> {
        let s = softmax(x, 1)?;
        let ls = log_softmax(&add_scalar(x, 1000.0)?, 0)?;
        let l = logsumexp(&mul(&s, x)?, Some(&[0]), true)?;
        let all = logsumexp(&mul(&ls, &s)?, None, false)?;
        let m = min(&mul(x, &l)?, -1, false)?;
        Ok(vec![s, ls, l, m, all])
    };
    r().expect("the program builds")
}

fn point(rng: &mut Rng) -> Vec<f64> {
    values(&[3, 4], Domain::Distinct, rng)
}

#[test]
fn recorded_programs_replay_at_new_points_as_built_there() {
    let mut rng = Rng::new(seed_from("softmax replay"));
    let x0 = tensor(&point(&mut rng), &[3, 4], true);
    let ys0 = program(&x0);
    let f = Function::new(std::slice::from_ref(&x0), &ys0).unwrap();
    // The row-wise outputs, softmax and min, for a batched Jacobian.
    let g_rows =
        Function::new(std::slice::from_ref(&x0), &[ys0[0].clone(), ys0[3].clone()]).unwrap();
    for trial in 0..3 {
        let at = point(&mut rng);
        let x = tensor(&at, &[3, 4], true);
        let ys = program(&x);
        let what = |k: usize| format!("trial {trial}, output {k}");

        let mut outs: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.eval_into(&[&at], &mut bufs).unwrap();
        for (k, (got, y)) in outs.iter().zip(&ys).enumerate() {
            assert_eq!(bits(got), bits(&y.to_vec()), "{}", what(k));
        }

        let cots: Vec<Vec<f64>> = ys
            .iter()
            .map(|y| values(y.shape(), Domain::Uniform(-1.0, 1.0), &mut rng))
            .collect();
        let seeds: Vec<Tensor> = cots
            .iter()
            .zip(&ys)
            .map(|(c, y)| tensor(c, y.shape(), false))
            .collect();
        let want = grad(&ys, std::slice::from_ref(&x), Some(&seeds), false).unwrap();
        let mut g = vec![f64::NAN; 12];
        let cot_refs: Vec<&[f64]> = cots.iter().map(Vec::as_slice).collect();
        f.vjp_into(&[&at], Some(&cot_refs), &mut [&mut g]).unwrap();
        assert_eq!(bits(&g), bits(&want[0].to_vec()), "trial {trial}: vjp");

        let t = values(&[3, 4], Domain::Uniform(-1.0, 1.0), &mut rng);
        let want = jvp(
            &ys,
            std::slice::from_ref(&x),
            &[tensor(&t, &[3, 4], false)],
            false,
        )
        .unwrap();
        let mut outs: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.jvp_into(&[&at], &[&t], &mut bufs).unwrap();
        for (k, (got, w)) in outs.iter().zip(&want).enumerate() {
            assert_eq!(bits(got), bits(&w.to_vec()), "{}: jvp", what(k));
        }

        // A lazy Jacobian, batched over the rows of the row-wise ops.
        let j = g_rows.jacobian(&[&at], Some(0)).unwrap();
        let eager = jacobian(&[ys[0].clone(), ys[3].clone()], &x, Some(0)).unwrap();
        for i in 0..2 {
            let got = j.read(i, 0, &[]).unwrap();
            let w = eager.read(i, 0, &[]).unwrap();
            assert_eq!(
                bits(got.as_slice().unwrap()),
                bits(w.as_slice().unwrap()),
                "J{i}"
            );
        }
        let s: Vec<f64> = rows(&at, 4).flat_map(softmax_ref).collect();
        let got = j.read(0, 0, &[]).unwrap();
        assert_close(
            &got,
            &arr(softmax_jacobians(&s, 4), &[3, 4, 4]),
            0.0,
            1e-15,
            "J",
        );

        let mut hv = vec![f64::NAN; 12];
        f.hvp_into(&[&at], 4, &[&t], &mut [&mut hv]).unwrap();
        let g = grad(&ys[4..], std::slice::from_ref(&x), None, true).unwrap();
        let want = jvp(
            &g,
            std::slice::from_ref(&x),
            &[tensor(&t, &[3, 4], false)],
            false,
        )
        .unwrap();
        // The replay runs forward over reverse on its own buffers, in its
        // own order: equal to rounding, not to the bit.
        assert_close(&arr(hv, &[3, 4]), want[0].value(), 1e-13, 1e-15, "hvp");
    }
}

#[test]
fn a_replayed_min_follows_the_minimum_to_where_it_moved() {
    let x = tensor(&[1.0, 2.0, 3.0], &[3], true);
    let f = Function::new(std::slice::from_ref(&x), &[min(&x, 0, false).unwrap()]).unwrap();
    for (at, first) in [
        ([3.0, 0.5, 0.5], 1),
        ([4.0, 5.0, -1.0], 2),
        ([0.0, 0.0, 0.0], 0),
    ] {
        let mut g = [f64::NAN; 3];
        f.vjp_into(&[&at], None, &mut [&mut g]).unwrap();
        let mut want = [0.0; 3];
        want[first] = 1.0;
        assert_eq!(g, want, "at {at:?}");
        let mut y = [f64::NAN];
        f.eval_into(&[&at], &mut [&mut y]).unwrap();
        assert_eq!(y[0], at[first]);
    }
}

#[test]
fn each_call_is_one_recorded_step_and_equal_calls_are_computed_once() {
    let x = tensor(&X, &[2, 4], true);
    let one = |ys: &[Tensor]| Function::new(std::slice::from_ref(&x), ys).unwrap().n_ops();
    assert_eq!(one(&[softmax(&x, 1).unwrap()]), 1);
    assert_eq!(one(&[log_softmax(&x, 0).unwrap()]), 1);
    assert_eq!(one(&[logsumexp(&x, Some(&[0, 1]), true).unwrap()]), 1);
    assert_eq!(one(&[min(&x, 1, false).unwrap()]), 1);
    // The same op on the same operand is one step; another axis, form or
    // keepdim is another.
    assert_eq!(one(&[softmax(&x, 1).unwrap(), softmax(&x, -1).unwrap()]), 1);
    assert_eq!(one(&[softmax(&x, 1).unwrap(), softmax(&x, 0).unwrap()]), 2);
    assert_eq!(
        one(&[softmax(&x, 1).unwrap(), log_softmax(&x, 1).unwrap()]),
        2
    );
    let l = |keep| logsumexp(&x, Some(&[1]), keep).unwrap();
    assert_eq!(one(&[l(true), l(false)]), 2);
    assert_eq!(
        one(&[l(false), logsumexp(&x, Some(&[-1]), false).unwrap()]),
        1
    );
}

/// Empty operands whose other dims are far longer than memory: no lane or
/// block is walked, eagerly or in a replay.
#[test]
fn empty_operands_with_huge_dims_are_immediate() {
    let x = Tensor::from_vec(vec![], &[2, 1 << 40, 0, 3], true).unwrap();
    let ys = vec![
        softmax(&x, 1).unwrap(),
        log_softmax(&x, -1).unwrap(),
        logsumexp(&x, Some(&[1, 3]), true).unwrap(),
        logsumexp(&x, Some(&[0]), false).unwrap(),
        min(&x, 3, false).unwrap(),
    ];
    let shapes: Vec<&[usize]> = ys.iter().map(Tensor::shape).collect();
    assert_eq!(
        shapes,
        [
            &[2, 1 << 40, 0, 3][..],
            &[2, 1 << 40, 0, 3],
            &[2, 1, 0, 1],
            &[1 << 40, 0, 3],
            &[2, 1 << 40, 0],
        ]
    );
    let total = ys
        .iter()
        .map(|y| sum(y, None, false).unwrap())
        .reduce(|a, b| jac_core::add(&a, &b).unwrap())
        .unwrap();
    let g = grad(
        std::slice::from_ref(&total),
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), x.shape());
    let f = Function::new(std::slice::from_ref(&x), &ys).unwrap();
    let mut outs: Vec<Vec<f64>> = vec![vec![]; ys.len()];
    let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    f.eval_into(&[&[]], &mut bufs).unwrap();
    let mut g: [f64; 0] = [];
    f.vjp_into(&[&[]], None, &mut [&mut g]).unwrap();
}
