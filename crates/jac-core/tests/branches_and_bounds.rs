//! Exact values of the elementwise ops that real programs branch and bound
//! with: ties of minimum/maximum, the limits pow takes at 0, clamp's
//! bounds, erf against a 40-digit reference, NaN through comparisons; and
//! masks from comparisons recomputed when a recorded program replays.

mod common;

use common::tensor;
use jac_core::{
    Function, Tensor, atan2, clamp, equal, erf, grad, greater, greater_equal, jvp, less,
    less_equal, maximum, minimum, mul, neg, pow, sum, where_,
};

fn grads(y: &Tensor, xs: &[Tensor]) -> Vec<Vec<f64>> {
    let s = sum(y, None, false).unwrap();
    grad(&[s], xs, None, false)
        .unwrap()
        .iter()
        .map(Tensor::to_vec)
        .collect()
}

#[test]
fn minimum_and_maximum_split_ties_and_propagate_nan() {
    let a = tensor(&[1.0, 2.0, 3.0, f64::NAN], &[4], true);
    let b = tensor(&[2.0, 2.0, 1.0, 0.0], &[4], true);
    let lo = minimum(&a, &b).unwrap();
    assert_eq!(lo.to_vec()[..3], [1.0, 2.0, 1.0]);
    assert!(lo.to_vec()[3].is_nan());
    let hi = maximum(&a, &b).unwrap();
    assert_eq!(hi.to_vec()[..3], [2.0, 2.0, 3.0]);
    assert!(hi.to_vec()[3].is_nan());
    let finite = [a.clone(), b.clone()];
    let g = grads(&minimum(&a, &b).unwrap(), &finite);
    assert_eq!(g[0][..3], [1.0, 0.5, 0.0]);
    assert_eq!(g[1][..3], [0.0, 0.5, 1.0]);
    let g = grads(&maximum(&a, &b).unwrap(), &finite);
    assert_eq!(g[0][..3], [0.0, 0.5, 1.0]);
    assert_eq!(g[1][..3], [1.0, 0.5, 0.0]);
    // Forward mode splits the same way: t_a / 2 + t_b / 2 at the tie.
    let (ta, tb) = (
        tensor(&[1.0; 4], &[4], false),
        tensor(&[3.0; 4], &[4], false),
    );
    let t = jvp(&[minimum(&a, &b).unwrap()], &finite, &[ta, tb], false).unwrap();
    assert_eq!(t[0].to_vec()[..3], [1.0, 2.0, 3.0]);
}

#[test]
fn pow_takes_its_limits_at_a_zero_base_or_exponent() {
    let a = tensor(&[0.0, 0.0, 2.0, -2.0, 0.0], &[5], true);
    let b = tensor(&[2.0, 0.0, 0.0, 3.0, -1.0], &[5], true);
    let y = pow(&a, &b).unwrap();
    assert_eq!(y.to_vec(), vec![0.0, 1.0, 1.0, -8.0, f64::INFINITY]);
    let g = grads(&y, &[a.clone(), b.clone()]);
    // d/da = b a^(b-1): 0 at 0^2, 0 where b = 0, 3 * 4 = 12 at (-2)^3.
    assert_eq!(g[0][..4], [0.0, 0.0, 0.0, 12.0]);
    // d/db = a^b log(a): 0 where a = 0 and b >= 0; log(2) at 2^0; NaN for
    // a negative base (no real logarithm).
    assert_eq!(g[1][..3], [0.0, 0.0, 2f64.ln()]);
    assert!(g[1][3].is_nan());
}

#[test]
fn atan2_covers_every_quadrant() {
    let a = tensor(&[1.0, 1.0, -1.0, -1.0, 0.0], &[5], true);
    let b = tensor(&[1.0, -1.0, -1.0, 1.0, -1.0], &[5], true);
    let y = atan2(&a, &b).unwrap().to_vec();
    let q = std::f64::consts::FRAC_PI_4;
    assert_eq!(y, vec![q, 3.0 * q, -3.0 * q, -q, std::f64::consts::PI]);
    let g = grads(&atan2(&a, &b).unwrap(), &[a.clone(), b.clone()]);
    assert_eq!(g[0], vec![0.5, -0.5, -0.5, 0.5, -1.0]);
    assert_eq!(g[1], vec![-0.5, -0.5, 0.5, 0.5, 0.0]);
}

#[test]
fn clamp_passes_gradients_strictly_inside_its_bounds() {
    let a = tensor(&[-2.0, -1.0, 0.0, 1.0, 2.0, f64::NAN], &[6], true);
    let y = clamp(&a, -1.0, 1.0).unwrap().to_vec();
    assert_eq!(y[..5], [-1.0, -1.0, 0.0, 1.0, 1.0]);
    assert!(y[5].is_nan());
    let finite = tensor(&[-2.0, -1.0, 0.0, 1.0, 2.0], &[5], true);
    let g = grads(
        &clamp(&finite, -1.0, 1.0).unwrap(),
        std::slice::from_ref(&finite),
    );
    assert_eq!(g[0], vec![0.0, 0.0, 1.0, 0.0, 0.0]);
}

/// `erf(x)` to 40 digits, rounded to the nearest double.
const ERF_REFERENCE: &[(f64, f64)] = &[
    (1e-300, 1.1283791670955126e-300),
    (1e-10, 1.1283791670955126e-10),
    (0.1, 0.1124629160182849),
    (0.25, 0.27632639016823696),
    (0.5, 0.5204998778130465),
    (0.75, 0.7111556336535151),
    (1.0, 0.8427007929497149),
    (1.25, 0.9229001282564583),
    (1.4999999999999998, 0.9661051464753106),
    (1.5, 0.9661051464753108),
    (1.75, 0.9866716712191824),
    (1.9999999999999998, 0.9953222650189527),
    (2.0, 0.9953222650189527),
    (2.5, 0.999593047982555),
    (3.0, 0.9999779095030014),
    (3.5, 0.9999992569016276),
    (4.0, 0.9999999845827421),
    (5.0, 0.9999999999984626),
    (5.9, 0.9999999999999999),
    (6.0, 1.0),
    (1.942997, 0.9940005731466368),
    (0.905095, 0.7994540285458834),
    (3.905607, 0.9999999667427211),
    (0.434618, 0.4612092716014779),
    (3.215292, 0.9999945612308712),
    (2.194134, 0.9980841356796529),
    (0.347994, 0.37737809247100695),
    (3.044614, 0.9999833567356675),
    (0.224974, 0.24963739956920025),
    (2.601874, 0.9997664049614721),
    (0.419133, 0.4466472240870048),
    (0.544278, 0.558537158308622),
    (2.547115, 0.9996844215419908),
    (4.961113, 0.999999999997718),
    (0.742812, 0.7065093216769257),
    (1.339434, 0.9418075990557363),
    (3.764599, 0.9999998984604764),
    (5.686254, 0.9999999999999991),
    (3.462618, 0.9999990263040485),
    (2.380083, 0.999237182655613),
];

fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

#[test]
fn erf_is_within_two_ulps_of_a_40_digit_reference_and_odd() {
    let xs: Vec<f64> = ERF_REFERENCE.iter().map(|&(x, _)| x).collect();
    let n = xs.len();
    let y = erf(&tensor(&xs, &[n], false)).unwrap().to_vec();
    let minus: Vec<f64> = xs.iter().map(|x| -x).collect();
    let y_minus = erf(&tensor(&minus, &[n], false)).unwrap().to_vec();
    for (k, &(x, want)) in ERF_REFERENCE.iter().enumerate() {
        assert!(
            ulps(y[k], want) <= 2,
            "erf({x}) = {:e}, reference {want:e}",
            y[k]
        );
        assert_eq!(y_minus[k], -y[k], "erf(-{x})");
    }
    let special = erf(&tensor(
        &[0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 30.0, f64::NAN],
        &[6],
        false,
    ))
    .unwrap()
    .to_vec();
    assert_eq!(special[..5], [0.0, -0.0, 1.0, -1.0, 1.0]);
    assert!(special[1].is_sign_negative());
    assert!(special[5].is_nan());
}

#[test]
fn comparisons_give_masks_that_require_no_grad() {
    let a = tensor(&[1.0, 2.0, 3.0, f64::NAN], &[4], true);
    let b = Tensor::scalar(2.0);
    type Comparison = fn(&Tensor, &Tensor) -> jac_core::Result<Tensor>;
    let cases: [(Comparison, [f64; 4]); 5] = [
        (less, [1.0, 0.0, 0.0, 0.0]),
        (less_equal, [1.0, 1.0, 0.0, 0.0]),
        (greater, [0.0, 0.0, 1.0, 0.0]),
        (greater_equal, [0.0, 1.0, 1.0, 0.0]),
        (equal, [0.0, 1.0, 0.0, 0.0]),
    ];
    for (op, want) in cases {
        let m = op(&a, &b).unwrap();
        assert_eq!(m.to_vec(), want);
        assert!(!m.requires_grad());
        // A mask alone is not differentiable; times x its gradient is the mask.
        let g = grads(&mul(&m, &a).unwrap(), std::slice::from_ref(&a));
        assert_eq!(g[0][..3], want[..3]);
    }
    // Broadcasting: [2, 1] against [3].
    let col = tensor(&[0.0, 5.0], &[2, 1], false);
    let row = tensor(&[1.0, 5.0, 9.0], &[3], false);
    assert_eq!(
        less(&col, &row).unwrap().to_vec(),
        vec![1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn a_recorded_branch_follows_the_new_point_in_values_gradients_and_jacobians() {
    // y = x < 0 ? -x^3 : x^2, recorded at a point where every x is negative.
    let x = tensor(&[-1.0, -2.0, -3.0], &[3], true);
    let cube = mul(&mul(&x, &x).unwrap(), &x).unwrap();
    let y = where_(
        &less(&x, &Tensor::scalar(0.0)).unwrap(),
        &neg(&cube).unwrap(),
        &mul(&x, &x).unwrap(),
    )
    .unwrap();
    let f = Function::new(std::slice::from_ref(&x), &[y]).unwrap();
    let at = [2.0, -1.0, 0.5];
    let mut out = [0.0; 3];
    f.eval_into(&[&at], &mut [&mut out]).unwrap();
    assert_eq!(out, [4.0, 1.0, 0.25]);
    let mut g = [0.0; 3];
    f.vjp_into(&[&at], None, &mut [&mut g]).unwrap();
    assert_eq!(g, [4.0, -3.0, 1.0]);
    let j = f.jacobian(&[&at], None).unwrap();
    let full = j.read(0, 0, &[]).unwrap();
    assert_eq!(
        full.as_slice().unwrap(),
        &[4.0, 0.0, 0.0, 0.0, -3.0, 0.0, 0.0, 0.0, 1.0]
    );
    // A mask transformed by ops that need no grad (2 * mask) is recorded too.
    let x = tensor(&[-1.0, 1.0], &[2], true);
    let twice = jac_core::scale(&greater(&x, &Tensor::scalar(0.0)).unwrap(), 2.0).unwrap();
    assert!(!twice.requires_grad());
    let y = mul(&twice, &x).unwrap();
    let f = Function::new(std::slice::from_ref(&x), &[y]).unwrap();
    let mut out = [0.0; 2];
    f.eval_into(&[&[3.0, -3.0]], &mut [&mut out]).unwrap();
    assert_eq!(out, [6.0, -0.0]);
}
