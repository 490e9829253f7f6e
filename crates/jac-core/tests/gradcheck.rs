//! Every public op checked against central finite differences, to first and
//! to second order, one test per op and variant (`should_diff_<op>_<variant>`)
//! stamped out by the [`gradcheck!`] macro.
//!
//! # What is checked
//!
//! For a program `f` of inputs `x_1..x_m` and a fixed random cotangent `w`
//! shaped like `y = f(x)`, first order compares
//! `grad([y], xs, [w])` with central differences of the scalar
//! `L(x) = <w, f(x)>`. Second order takes `g = grad([y], xs, [w],
//! create_graph = true)`, fixed random `v_j` shaped like each `x_j`, and
//! compares `grad(g, xs, v)` (a Hessian-vector product of `L`) with central
//! differences of `M(x) = sum_j <v_j, g_j(x)>`, whose first-order gradient the
//! engine computes (already checked by the first-order half).
//!
//! Forward mode is checked on the same programs at the same points: the
//! JVP `J u` along a random `u` against central differences of `f` along
//! `u` and against the VJP (`<w, J u> = <J^T w, u>` to rounding), three
//! stacked directions against one JVP each, forward over reverse (the JVP
//! of the recorded gradient along `v`) against the reverse-over-reverse
//! `H v` above, and forward over forward (`d2f[u, v]`) against central
//! differences of the JVP along `v` and against reverse over forward.
//!
//! # Why these tolerances
//!
//! The central difference `(F(x+h) - F(x-h)) / 2h` of a scalar `F` has
//! truncation error `h^2/6 |F'''|` and rounding error about
//! `eps |F| / h` (the two values of `F` each carry a relative error of one
//! `eps = 2.2e-16`, and their difference is divided by `2h`).
//!
//! * First order, `h = 1e-6`: inputs are kept in ranges where every
//!   derivative up to the fourth is O(10) and `|L|` is at most O(10), so the
//!   truncation is ~`1.7e-13 * 10` and the rounding ~`2.2e-16 * 10 / 1e-6 =
//!   2.2e-9`. `rtol = 1e-6, atol = 1e-7` leaves a margin of ~50x over the
//!   worst case of the sum.
//! * Second order, `h = 1e-5`: `M` is a gradient computed to a few ulps, so
//!   its rounding is again ~`eps |M| / h ~ 2e-10`, and the truncation
//!   `h^2/6 |M'''| ~ 1.7e-11 * |f''''|` stays below `1e-8` for the
//!   O(100) fourth derivatives of the steepest programs here (tan near 1,
//!   `x^-1.5` near 0.8). `rtol = 1e-5, atol = 1e-6` leaves a margin of
//!   ~100x. The larger step balances the two terms at the point where
//!   `eps / h ~ h^2`.
//!
//! Measured over this whole file, the worst error is ~1/100 of the allowed
//! one at first order and ~1/1000 at second order, so the checks would
//! catch a relative error in a derivative rule far below 1e-5 while never
//! failing on rounding.
//!
//! Kinks, poles and ties are kept at least `0.2` away from every input
//! (`relu`, `abs`: `|x| >= 0.2`; `log`, `sqrt`, fractional powers and
//! divisors: `x >= 0.8`; `max`: values 0.08 apart), far beyond both steps,
//! so the differences never straddle one.
//!
//! Each test also asserts that the first-order gradient is not identically
//! zero (no check is vacuous), that `create_graph` does not change the
//! first-order values, and that every gradient has its input's shape.

mod common;

use common::{Domain, Rng, assert_close, central_diff, dot, max_abs, seed_from};
use jac_core::{
    Result, Tensor, abs, add, add_scalar, broadcast_to, concat, cos, div, exp, grad, jvp,
    jvp_stacked, log, log_softmax, logsumexp, matmul, max, mean, min, mul, neg, pow_scalar, relu,
    reshape, scale, sigmoid, sin, slice, softmax, softplus, sqrt, square, stack, sub, sum, tan,
    tanh, transpose, where_,
};
use jac_core::{
    atan2, clamp, equal, erf, greater, greater_equal, less, less_equal, maximum, minimum, pow,
};
use jac_core::{cumsum, gather, scatter_add};
use ndarray::ArrayD;

/// Step and tolerances of the first-order check (see the module docs).
const H1: f64 = 1e-6;
const RTOL1: f64 = 1e-6;
const ATOL1: f64 = 1e-7;
/// Step and tolerances of the second-order check (see the module docs).
const H2: f64 = 1e-5;
const RTOL2: f64 = 1e-5;
const ATOL2: f64 = 1e-6;

/// One input of a program: its shape and where its values come from.
struct Spec {
    shape: Vec<usize>,
    domain: Domain,
}

/// Values in `[-1.5, 1.5)`: for smooth ops.
fn sym(shape: &[usize]) -> Spec {
    spec(shape, Domain::Uniform(-1.5, 1.5))
}

/// Values in `[0.8, 2)`: for log, sqrt, fractional powers and divisors.
fn pos(shape: &[usize]) -> Spec {
    spec(shape, Domain::Uniform(0.8, 2.0))
}

/// `|x|` in `[0.2, 1.5)` with random signs: away from the kinks of relu/abs.
fn away(shape: &[usize]) -> Spec {
    spec(shape, Domain::AwayFromZero(0.2, 1.5))
}

/// Pairwise distinct values: for max.
fn distinct(shape: &[usize]) -> Spec {
    spec(shape, Domain::Distinct)
}

fn spec(shape: &[usize], domain: Domain) -> Spec {
    Spec {
        shape: shape.to_vec(),
        domain,
    }
}

/// A constant 0/1 mask of `shape`, deterministic in `seed`, with both values.
fn mask(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut rng = Rng::new(seed);
    let mut data: Vec<f64> = (0..n).map(|_| (rng.next_u64() & 1) as f64).collect();
    if n >= 2 {
        data[0] = 1.0;
        data[1] = 0.0;
    }
    Tensor::new(common::arr(data, shape), false)
}

type Program = dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Leaves holding `vals`.
fn leaves(vals: &[ArrayD<f64>], requires_grad: bool) -> Vec<Tensor> {
    vals.iter()
        .map(|v| Tensor::new(v.clone(), requires_grad))
        .collect()
}

/// The first-order and second-order checks of `f` at inputs drawn per `specs`.
fn check(name: &str, specs: &[Spec], f: &Program) {
    let mut rng = Rng::new(seed_from(name));
    let vals: Vec<ArrayD<f64>> = specs
        .iter()
        .map(|s| common::array(&s.shape, s.domain, &mut rng))
        .collect();
    let xs = leaves(&vals, true);
    let y = f(&xs).expect("the program builds");
    assert!(y.requires_grad(), "{name}: y must depend on the inputs");
    let w = common::array(y.shape(), Domain::Uniform(-1.0, 1.0), &mut rng);
    let w_t = Tensor::new(w.clone(), false);

    // First order: grad of L(x) = <w, f(x)>.
    let g = grad(
        std::slice::from_ref(&y),
        &xs,
        Some(std::slice::from_ref(&w_t)),
        false,
    )
    .expect("first-order grad");
    let fd = central_diff(
        &mut |p| dot(&w, f(&leaves(p, false)).expect("program").value()),
        &vals,
        H1,
    );
    let mut largest = 0.0f64;
    for (j, (gj, fdj)) in g.iter().zip(&fd).enumerate() {
        assert!(!gj.requires_grad(), "{name}: grad {j} without create_graph");
        assert_close(gj.value(), fdj, RTOL1, ATOL1, &format!("{name}: d/dx{j}"));
        largest = largest.max(max_abs(gj.value()));
    }
    assert!(
        largest > 1e-3,
        "{name}: the first-order gradient is all zero"
    );

    // Second order: grad of M(x) = sum_j <v_j, g_j(x)>, g recorded.
    let g2 = grad(
        std::slice::from_ref(&y),
        &xs,
        Some(std::slice::from_ref(&w_t)),
        true,
    )
    .expect("recorded grad");
    for (j, (a, b)) in g2.iter().zip(&g).enumerate() {
        assert_close(
            a.value(),
            b.value(),
            1e-15,
            0.0,
            &format!("{name}: recorded d/dx{j}"),
        );
    }
    let v: Vec<ArrayD<f64>> = vals
        .iter()
        .map(|x| common::array(x.shape(), Domain::Uniform(-1.0, 1.0), &mut rng))
        .collect();
    let v_t = leaves(&v, false);
    let hv = grad(&g2, &xs, Some(&v_t), false).expect("second-order grad");
    let fd2 = central_diff(
        &mut |p| {
            let at = leaves(p, true);
            let y = f(&at).expect("program");
            let gp = grad(&[y], &at, Some(std::slice::from_ref(&w_t)), false).expect("grad");
            gp.iter().zip(&v).map(|(gj, vj)| dot(gj.value(), vj)).sum()
        },
        &vals,
        H2,
    );
    for (j, (hj, fdj)) in hv.iter().zip(&fd2).enumerate() {
        assert!(!hj.requires_grad(), "{name}: second-order grad {j}");
        assert_close(hj.value(), fdj, RTOL2, ATOL2, &format!("{name}: d2/dx{j}"));
    }

    let reverse = Reverse {
        vals: &vals,
        xs: &xs,
        y: &y,
        w: &w,
        g: &g,
        g2: &g2,
        hv: &hv,
        v: &v,
    };
    check_forward(name, f, &reverse, &mut rng);
}

/// What the reverse-mode half of [`check`] computed, for the forward half.
struct Reverse<'a> {
    /// The point, and the leaves holding it.
    vals: &'a [ArrayD<f64>],
    xs: &'a [Tensor],
    y: &'a Tensor,
    /// The cotangent, the gradient `J^T w` and the recorded one.
    w: &'a ArrayD<f64>,
    g: &'a [Tensor],
    g2: &'a [Tensor],
    /// The direction of the second-order check and `H v` by reverse over
    /// reverse.
    hv: &'a [Tensor],
    v: &'a [ArrayD<f64>],
}

/// `x + s u`, input by input.
fn along(x: &[ArrayD<f64>], s: f64, u: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
    x.iter().zip(u).map(|(x, u)| x + &(u * s)).collect()
}

/// `sum_j <a_j, b_j>` and `sum_j <|a_j|, |b_j|>` (the scale of its rounding).
fn dots(a: &[Tensor], b: &[ArrayD<f64>]) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(s, m), (a, b)| {
        (
            s + dot(a.value(), b),
            m + dot(&a.value().mapv(f64::abs), &b.mapv(f64::abs)),
        )
    })
}

/// The forward-mode half of [`check`]: JVPs of `f` along a random `u`
/// against central differences along `u` and against the VJP
/// (`<w, J u> = <J^T w, u>`, `g` being `J^T w`); three stacked directions
/// against one JVP each; forward over reverse (`jvp` of the recorded
/// gradient `g2` along `v`) against reverse over reverse (`hv`); forward
/// over forward against central differences of the JVP along `v` and
/// against reverse over forward.
fn check_forward(name: &str, f: &Program, reverse: &Reverse<'_>, rng: &mut Rng) {
    let Reverse {
        vals,
        xs,
        y,
        w,
        g,
        g2,
        hv,
        v,
    } = *reverse;
    let y = y.clone();
    let random = |rng: &mut Rng| -> Vec<ArrayD<f64>> {
        vals.iter()
            .map(|x| common::array(x.shape(), Domain::Uniform(-1.0, 1.0), rng))
            .collect()
    };
    let u = random(rng);
    let u_t = leaves(&u, false);

    // First order: J u against (f(x + h u) - f(x - h u)) / 2h.
    let t = jvp(std::slice::from_ref(&y), xs, &u_t, false).expect("jvp");
    let [t] = &t[..] else {
        panic!("{name}: one tangent per y")
    };
    assert!(!t.requires_grad(), "{name}: jvp without create_graph");
    let value = |p: &[ArrayD<f64>]| f(&leaves(p, false)).expect("program").value().clone();
    let fd = (value(&along(vals, H1, &u)) - value(&along(vals, -H1, &u))) / (2.0 * H1);
    assert_close(t.value(), &fd, RTOL1, ATOL1, &format!("{name}: J u"));
    assert!(max_abs(t.value()) > 1e-3, "{name}: the JVP is all zero");

    // <w, J u> = <J^T w, u>.
    let (forward, scale_f) = dots(std::slice::from_ref(t), std::slice::from_ref(w));
    let (reverse, scale_r) = dots(g, &u);
    assert!(
        (forward - reverse).abs() <= 1e-12 * (scale_f + scale_r),
        "{name}: <w, J u> = {forward:e} but <J^T w, u> = {reverse:e}"
    );

    // Three directions stacked in one sweep: each as its own JVP.
    let dirs = [u.clone(), random(rng), random(rng)];
    let stacked: Vec<Tensor> = (0..vals.len())
        .map(|j| {
            let views: Vec<_> = dirs.iter().map(|d| d[j].view()).collect();
            Tensor::new(ndarray::stack(ndarray::Axis(0), &views).unwrap(), false)
        })
        .collect();
    let columns = jvp_stacked(std::slice::from_ref(&y), xs, &stacked, false).expect("jvp_stacked");
    let mut expected_shape = vec![3];
    expected_shape.extend_from_slice(y.shape());
    assert_eq!(
        columns[0].shape(),
        &expected_shape[..],
        "{name}: stacked shape"
    );
    for (r, d) in dirs.iter().enumerate() {
        let one = jvp(std::slice::from_ref(&y), xs, &leaves(d, false), false).expect("jvp");
        let row = columns[0]
            .value()
            .index_axis(ndarray::Axis(0), r)
            .to_owned();
        assert_close(
            &row,
            one[0].value(),
            1e-12,
            1e-14,
            &format!("{name}: stacked row {r}"),
        );
    }

    // Forward over reverse: d/dv of the recorded gradient is H v.
    let v_t = leaves(v, false);
    let hv_forward = jvp(g2, xs, &v_t, false).expect("forward over reverse");
    for (j, (a, b)) in hv_forward.iter().zip(hv).enumerate() {
        assert_close(
            a.value(),
            b.value(),
            1e-10,
            1e-12,
            &format!("{name}: (H v)_{j} forward"),
        );
    }
    // Three directions stacked through the recorded gradient (the sweep
    // of a sparse Hessian's colours): each as its own forward over reverse.
    let stacked_v: Vec<Tensor> = (0..vals.len())
        .map(|j| {
            let views: Vec<_> = dirs.iter().map(|d| d[j].view()).collect();
            Tensor::new(ndarray::stack(ndarray::Axis(0), &views).unwrap(), false)
        })
        .collect();
    let hv_stacked = jvp_stacked(g2, xs, &stacked_v, false).expect("stacked forward over reverse");
    for (r, d) in dirs.iter().enumerate() {
        let one = jvp(g2, xs, &leaves(d, false), false).expect("forward over reverse");
        for (j, (a, b)) in hv_stacked.iter().zip(&one).enumerate() {
            let row = a.value().index_axis(ndarray::Axis(0), r).to_owned();
            assert_close(
                &row,
                b.value(),
                1e-12,
                1e-14,
                &format!("{name}: stacked (H v)_{j}, row {r}"),
            );
        }
    }

    // Forward over forward: d2f[u, v] against central differences of J u
    // along v, and <w, d2f[u, v]> against the VJP of the recorded J u.
    let t1 = jvp(std::slice::from_ref(&y), xs, &u_t, true).expect("recorded jvp");
    assert_close(
        t1[0].value(),
        t.value(),
        1e-15,
        0.0,
        &format!("{name}: recorded J u"),
    );
    let t2 = jvp(&t1, xs, &v_t, false).expect("forward over forward");
    let tangent_at = |p: &[ArrayD<f64>]| {
        let at = leaves(p, true);
        let y = f(&at).expect("program");
        jvp(&[y], &at, &u_t, false).expect("jvp")[0].value().clone()
    };
    let fd2 = (tangent_at(&along(vals, H2, v)) - tangent_at(&along(vals, -H2, v))) / (2.0 * H2);
    assert_close(
        t2[0].value(),
        &fd2,
        RTOL2,
        ATOL2,
        &format!("{name}: d2f[u, v]"),
    );
    if t1[0].requires_grad() {
        let reverse = grad(&t1, xs, Some(&[Tensor::new(w.clone(), false)]), false)
            .expect("reverse over forward");
        let (a, scale_a) = dots(&t2, std::slice::from_ref(w));
        let (b, scale_b) = dots(&reverse, v);
        assert!(
            (a - b).abs() <= 1e-12 * (scale_a + scale_b),
            "{name}: <w, d2f[u, v]> = {a:e} but <d/dx <w, J u>, v> = {b:e}"
        );
    }
}

/// Stamps out one `#[test]` per case: `name: [input specs] => |xs| body;`,
/// where `body` builds the program's output from the input tensors `xs`.
macro_rules! gradcheck {
    ($($name:ident: [$($spec:expr),+ $(,)?] => |$x:ident| $body:expr;)+) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), &[$($spec),+], &|$x: &[Tensor]| Ok($body));
            }
        )+
    };
}

// Broadcasting binary ops: every broadcasting pattern, both sides.
gradcheck! {
    should_diff_add_same: [sym(&[2, 3]), sym(&[2, 3])] => |x| add(&x[0], &x[1])?;
    should_diff_add_scalar_left: [sym(&[]), sym(&[2, 3])] => |x| add(&x[0], &x[1])?;
    should_diff_add_scalar_right: [sym(&[2, 3]), sym(&[])] => |x| add(&x[0], &x[1])?;
    should_diff_add_both_scalar: [sym(&[]), sym(&[])] => |x| add(&x[0], &x[1])?;
    should_diff_add_outer: [sym(&[3, 1]), sym(&[1, 4])] => |x| add(&x[0], &x[1])?;
    should_diff_add_rank_left: [sym(&[4]), sym(&[2, 3, 4])] => |x| add(&x[0], &x[1])?;
    should_diff_add_rank_right: [sym(&[2, 3, 4]), sym(&[4])] => |x| add(&x[0], &x[1])?;
    should_diff_add_one_left: [sym(&[1]), sym(&[2, 3])] => |x| add(&x[0], &x[1])?;
    should_diff_add_one_right: [sym(&[2, 3]), sym(&[1])] => |x| add(&x[0], &x[1])?;
    should_diff_add_self: [sym(&[2, 3])] => |x| add(&x[0], &x[0])?;

    should_diff_sub_same: [sym(&[2, 3]), sym(&[2, 3])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_scalar_left: [sym(&[]), sym(&[2, 3])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_scalar_right: [sym(&[2, 3]), sym(&[])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_both_scalar: [sym(&[]), sym(&[])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_outer: [sym(&[3, 1]), sym(&[1, 4])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_rank_left: [sym(&[4]), sym(&[2, 3, 4])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_rank_right: [sym(&[2, 3, 4]), sym(&[4])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_one_left: [sym(&[1]), sym(&[2, 3])] => |x| sub(&x[0], &x[1])?;
    should_diff_sub_one_right: [sym(&[2, 3]), sym(&[1])] => |x| sub(&x[0], &x[1])?;
    // (x - x) + x: the two uses of x in sub must cancel, d/dx = (1 - 1) + 1.
    should_diff_sub_self: [sym(&[2, 3])] => |x| add(&sub(&x[0], &x[0])?, &x[0])?;

    should_diff_mul_same: [sym(&[2, 3]), sym(&[2, 3])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_scalar_left: [sym(&[]), sym(&[2, 3])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_scalar_right: [sym(&[2, 3]), sym(&[])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_both_scalar: [sym(&[]), sym(&[])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_outer: [sym(&[3, 1]), sym(&[1, 4])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_rank_left: [sym(&[4]), sym(&[2, 3, 4])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_rank_right: [sym(&[2, 3, 4]), sym(&[4])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_one_left: [sym(&[1]), sym(&[2, 3])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_one_right: [sym(&[2, 3]), sym(&[1])] => |x| mul(&x[0], &x[1])?;
    should_diff_mul_self: [sym(&[2, 3])] => |x| mul(&x[0], &x[0])?;

    should_diff_div_same: [sym(&[2, 3]), pos(&[2, 3])] => |x| div(&x[0], &x[1])?;
    should_diff_div_scalar_left: [sym(&[]), pos(&[2, 3])] => |x| div(&x[0], &x[1])?;
    should_diff_div_scalar_right: [sym(&[2, 3]), pos(&[])] => |x| div(&x[0], &x[1])?;
    should_diff_div_both_scalar: [sym(&[]), pos(&[])] => |x| div(&x[0], &x[1])?;
    should_diff_div_outer: [sym(&[3, 1]), pos(&[1, 4])] => |x| div(&x[0], &x[1])?;
    should_diff_div_rank_left: [sym(&[4]), pos(&[2, 3, 4])] => |x| div(&x[0], &x[1])?;
    should_diff_div_rank_right: [sym(&[2, 3, 4]), pos(&[4])] => |x| div(&x[0], &x[1])?;
    should_diff_div_one_left: [sym(&[1]), pos(&[2, 3])] => |x| div(&x[0], &x[1])?;
    should_diff_div_one_right: [sym(&[2, 3]), pos(&[1])] => |x| div(&x[0], &x[1])?;
    // Divisors of both signs, |b| >= 0.2: the sign must flow through -a/b^2.
    should_diff_div_negative_divisor: [sym(&[2, 3]), away(&[2, 3])] => |x| div(&x[0], &x[1])?;
    // x / x = 1: multiplied by x so the (zero) derivative of the quotient is
    // checked through a non-zero gradient.
    should_diff_div_self: [pos(&[2, 3])] => |x| mul(&div(&x[0], &x[0])?, &x[0])?;
}

// Elementwise unary ops, on a matrix and on a 0-D operand.
gradcheck! {
    should_diff_neg_matrix: [sym(&[2, 3])] => |x| neg(&x[0])?;
    should_diff_neg_scalar: [sym(&[])] => |x| neg(&x[0])?;
    should_diff_exp_matrix: [sym(&[2, 3])] => |x| exp(&x[0])?;
    should_diff_exp_scalar: [sym(&[])] => |x| exp(&x[0])?;
    should_diff_log_matrix: [pos(&[2, 3])] => |x| log(&x[0])?;
    should_diff_log_scalar: [pos(&[])] => |x| log(&x[0])?;
    should_diff_sin_matrix: [sym(&[2, 3])] => |x| sin(&x[0])?;
    should_diff_sin_scalar: [sym(&[])] => |x| sin(&x[0])?;
    should_diff_cos_matrix: [sym(&[2, 3])] => |x| cos(&x[0])?;
    should_diff_cos_scalar: [sym(&[])] => |x| cos(&x[0])?;
    // tan on [-1, 1): well inside (-pi/2, pi/2), where tan' <= 3.5.
    should_diff_tan_matrix: [spec(&[2, 3], Domain::Uniform(-1.0, 1.0))] => |x| tan(&x[0])?;
    should_diff_tan_scalar: [spec(&[], Domain::Uniform(-1.0, 1.0))] => |x| tan(&x[0])?;
    should_diff_tanh_matrix: [sym(&[2, 3])] => |x| tanh(&x[0])?;
    should_diff_tanh_scalar: [sym(&[])] => |x| tanh(&x[0])?;
    should_diff_sigmoid_matrix: [sym(&[2, 3])] => |x| sigmoid(&x[0])?;
    should_diff_sigmoid_scalar: [sym(&[])] => |x| sigmoid(&x[0])?;
    should_diff_relu_matrix: [away(&[2, 3])] => |x| relu(&x[0])?;
    // A positive 0-D input: relu of a negative scalar has gradient 0.
    should_diff_relu_scalar: [pos(&[])] => |x| relu(&x[0])?;
    // relu's second derivative is 0; square first so the second-order check
    // sees a non-trivial chain through the constant mask: (relu(x))^2.
    should_diff_relu_squared: [away(&[2, 3])] => |x| square(&relu(&x[0])?)?;
    should_diff_softplus_matrix: [sym(&[2, 3])] => |x| softplus(&x[0])?;
    should_diff_softplus_scalar: [sym(&[])] => |x| softplus(&x[0])?;
    // Large |x| takes softplus's overflow-safe branches on both sides.
    should_diff_softplus_wide: [spec(&[2, 3], Domain::AwayFromZero(3.0, 8.0))] => |x| softplus(&x[0])?;
    should_diff_sqrt_matrix: [pos(&[2, 3])] => |x| sqrt(&x[0])?;
    should_diff_sqrt_scalar: [pos(&[])] => |x| sqrt(&x[0])?;
    should_diff_square_matrix: [sym(&[2, 3])] => |x| square(&x[0])?;
    should_diff_square_scalar: [sym(&[])] => |x| square(&x[0])?;
    should_diff_abs_matrix: [away(&[2, 3])] => |x| abs(&x[0])?;
    should_diff_abs_scalar: [away(&[])] => |x| abs(&x[0])?;
    should_diff_abs_squared: [away(&[2, 3])] => |x| mul(&abs(&x[0])?, &x[0])?;
}

// Ops with a scalar attribute.
gradcheck! {
    should_diff_scale_matrix: [sym(&[2, 3])] => |x| scale(&x[0], 2.5)?;
    should_diff_scale_negative: [sym(&[2, 3])] => |x| scale(&x[0], -0.75)?;
    should_diff_scale_scalar: [sym(&[])] => |x| scale(&x[0], 3.0)?;
    should_diff_add_scalar_matrix: [sym(&[2, 3])] => |x| add_scalar(&x[0], 1.5)?;
    should_diff_add_scalar_scalar: [sym(&[])] => |x| add_scalar(&x[0], -2.0)?;
    should_diff_pow_scalar_int2: [sym(&[2, 3])] => |x| pow_scalar(&x[0], 2.0)?;
    should_diff_pow_scalar_int3: [sym(&[2, 3])] => |x| pow_scalar(&x[0], 3.0)?;
    should_diff_pow_scalar_one: [sym(&[2, 3])] => |x| pow_scalar(&x[0], 1.0)?;
    should_diff_pow_scalar_neg_int: [pos(&[2, 3])] => |x| pow_scalar(&x[0], -2.0)?;
    should_diff_pow_scalar_sqrt: [pos(&[2, 3])] => |x| pow_scalar(&x[0], 0.5)?;
    should_diff_pow_scalar_frac: [pos(&[2, 3])] => |x| pow_scalar(&x[0], 1.5)?;
    should_diff_pow_scalar_neg_frac: [pos(&[2, 3])] => |x| pow_scalar(&x[0], -1.5)?;
    should_diff_pow_scalar_scalar: [pos(&[])] => |x| pow_scalar(&x[0], 2.5)?;
}

// Matrix products: every rank combination, batched and broadcast.
gradcheck! {
    should_diff_matmul_vv: [sym(&[4]), sym(&[4])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_mv: [sym(&[3, 4]), sym(&[4])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_vm: [sym(&[4]), sym(&[4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_mm: [sym(&[3, 4]), sym(&[4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_batched: [sym(&[2, 3, 4]), sym(&[2, 4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_batch_m: [sym(&[2, 3, 4]), sym(&[4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_m_batch: [sym(&[3, 4]), sym(&[2, 4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_batch_v: [sym(&[2, 3, 4]), sym(&[4])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_v_batch: [sym(&[4]), sym(&[2, 4, 3])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_broadcast_batch: [sym(&[2, 1, 3, 4]), sym(&[5, 4, 2])] => |x| matmul(&x[0], &x[1])?;
    should_diff_matmul_self: [sym(&[3, 3])] => |x| matmul(&x[0], &x[0])?;
    should_diff_matmul_vv_self: [sym(&[4])] => |x| matmul(&x[0], &x[0])?;
}

// Reductions over every kind of axis list.
gradcheck! {
    should_diff_sum_all: [sym(&[2, 3, 4])] => |x| sum(&x[0], None, false)?;
    should_diff_sum_all_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], None, true)?;
    should_diff_sum_axis0: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[0]), false)?;
    should_diff_sum_axis0_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[0]), true)?;
    should_diff_sum_axis1: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[1]), false)?;
    should_diff_sum_axis1_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[1]), true)?;
    should_diff_sum_axis2: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[2]), false)?;
    should_diff_sum_axis2_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[2]), true)?;
    should_diff_sum_negative_axis: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[-1]), false)?;
    should_diff_sum_negative_axis_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[-2]), true)?;
    should_diff_sum_multi: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[0, 2]), false)?;
    should_diff_sum_multi_keepdim: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[2, 0]), true)?;
    should_diff_sum_multi_negative: [sym(&[2, 3, 4])] => |x| sum(&x[0], Some(&[-1, 1]), false)?;
    should_diff_sum_no_axes: [sym(&[2, 3])] => |x| sum(&x[0], Some(&[]), false)?;
    should_diff_sum_scalar: [sym(&[])] => |x| sum(&x[0], None, false)?;
    should_diff_sum_scalar_keepdim: [sym(&[])] => |x| sum(&x[0], None, true)?;
    // The gradient of a sum is constant: square it so second order is not 0.
    should_diff_sum_squared: [sym(&[2, 3])] => |x| square(&sum(&x[0], Some(&[1]), false)?)?;

    should_diff_mean_all: [sym(&[2, 3, 4])] => |x| mean(&x[0], None, false)?;
    should_diff_mean_all_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], None, true)?;
    should_diff_mean_axis0: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[0]), false)?;
    should_diff_mean_axis0_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[0]), true)?;
    should_diff_mean_axis1: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[1]), false)?;
    should_diff_mean_axis1_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[1]), true)?;
    should_diff_mean_axis2: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[2]), false)?;
    should_diff_mean_axis2_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[2]), true)?;
    should_diff_mean_negative_axis: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[-1]), false)?;
    should_diff_mean_negative_axis_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[-3]), true)?;
    should_diff_mean_multi: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[0, 2]), false)?;
    should_diff_mean_multi_keepdim: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[1, 2]), true)?;
    should_diff_mean_multi_negative: [sym(&[2, 3, 4])] => |x| mean(&x[0], Some(&[-1, -3]), false)?;
    should_diff_mean_scalar: [sym(&[])] => |x| mean(&x[0], None, false)?;
    should_diff_mean_scalar_keepdim: [sym(&[])] => |x| mean(&x[0], None, true)?;
    should_diff_mean_squared: [sym(&[2, 3])] => |x| square(&mean(&x[0], Some(&[0]), true)?)?;

    should_diff_max_axis0: [distinct(&[2, 3, 4])] => |x| max(&x[0], 0, false)?;
    should_diff_max_axis0_keepdim: [distinct(&[2, 3, 4])] => |x| max(&x[0], 0, true)?;
    should_diff_max_axis1: [distinct(&[2, 3, 4])] => |x| max(&x[0], 1, false)?;
    should_diff_max_axis1_keepdim: [distinct(&[2, 3, 4])] => |x| max(&x[0], 1, true)?;
    should_diff_max_axis2: [distinct(&[2, 3, 4])] => |x| max(&x[0], 2, false)?;
    should_diff_max_axis2_keepdim: [distinct(&[2, 3, 4])] => |x| max(&x[0], 2, true)?;
    should_diff_max_negative_axis: [distinct(&[2, 3, 4])] => |x| max(&x[0], -1, false)?;
    should_diff_max_negative_axis_keepdim: [distinct(&[2, 3, 4])] => |x| max(&x[0], -3, true)?;
    should_diff_max_vector: [distinct(&[5])] => |x| max(&x[0], 0, false)?;
    // max's own second derivative is 0; squaring checks the mask under a chain.
    should_diff_max_squared: [distinct(&[3, 4])] => |x| square(&max(&x[0], 1, false)?)?;

    should_diff_min_axis0: [distinct(&[2, 3, 4])] => |x| min(&x[0], 0, false)?;
    should_diff_min_axis1_keepdim: [distinct(&[2, 3, 4])] => |x| min(&x[0], 1, true)?;
    should_diff_min_axis2: [distinct(&[2, 3, 4])] => |x| min(&x[0], 2, false)?;
    should_diff_min_negative_axis_keepdim: [distinct(&[2, 3, 4])] => |x| min(&x[0], -3, true)?;
    should_diff_min_vector: [distinct(&[5])] => |x| min(&x[0], 0, false)?;
    should_diff_min_squared: [distinct(&[3, 4])] => |x| square(&min(&x[0], 0, false)?)?;
}

// Softmax, log-softmax and log-sum-exp: every axis, and keepdim and axis
// lists as sum takes them.
gradcheck! {
    should_diff_softmax_axis0: [sym(&[2, 3, 4])] => |x| softmax(&x[0], 0)?;
    should_diff_softmax_axis1: [sym(&[2, 3, 4])] => |x| softmax(&x[0], 1)?;
    should_diff_softmax_axis2: [sym(&[2, 3, 4])] => |x| softmax(&x[0], 2)?;
    should_diff_softmax_negative_axis: [sym(&[3, 4])] => |x| softmax(&x[0], -2)?;
    should_diff_softmax_vector: [sym(&[5])] => |x| softmax(&x[0], 0)?;
    // A lane of 9: longer than the 8 partial sums of a contiguous sum.
    should_diff_softmax_long_lane: [sym(&[2, 9])] => |x| softmax(&x[0], 1)?;
    should_diff_softmax_squared: [sym(&[2, 3])] => |x| square(&softmax(&x[0], 1)?)?;
    // The operand is a transposed (strided) result.
    should_diff_softmax_of_transpose: [sym(&[3, 4])] => |x| softmax(&transpose(&x[0], &[1, 0])?, 1)?;

    should_diff_log_softmax_axis0: [sym(&[2, 3, 4])] => |x| log_softmax(&x[0], 0)?;
    should_diff_log_softmax_axis1: [sym(&[2, 3, 4])] => |x| log_softmax(&x[0], 1)?;
    should_diff_log_softmax_axis2: [sym(&[2, 3, 4])] => |x| log_softmax(&x[0], 2)?;
    should_diff_log_softmax_negative_axis: [sym(&[3, 4])] => |x| log_softmax(&x[0], -1)?;
    should_diff_log_softmax_vector: [sym(&[5])] => |x| log_softmax(&x[0], 0)?;
    should_diff_log_softmax_long_lane: [sym(&[9, 2])] => |x| log_softmax(&x[0], 0)?;
    should_diff_log_softmax_squared: [sym(&[2, 3])] => |x| square(&log_softmax(&x[0], 0)?)?;

    should_diff_logsumexp_all: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], None, false)?;
    should_diff_logsumexp_all_keepdim: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], None, true)?;
    should_diff_logsumexp_axis0: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[0]), false)?;
    should_diff_logsumexp_axis1_keepdim: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[1]), true)?;
    should_diff_logsumexp_axis2: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[2]), false)?;
    should_diff_logsumexp_negative_axis: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[-1]), false)?;
    should_diff_logsumexp_multi: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[0, 2]), false)?;
    should_diff_logsumexp_multi_keepdim: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[2, 0]), true)?;
    should_diff_logsumexp_multi_negative: [sym(&[2, 3, 4])] => |x| logsumexp(&x[0], Some(&[-1, 1]), false)?;
    // No axes: every element its own block, so y = a.
    should_diff_logsumexp_no_axes: [sym(&[2, 3])] => |x| logsumexp(&x[0], Some(&[]), false)?;
    should_diff_logsumexp_scalar: [sym(&[])] => |x| logsumexp(&x[0], None, false)?;
    should_diff_logsumexp_vector: [sym(&[5])] => |x| logsumexp(&x[0], Some(&[0]), true)?;
    should_diff_logsumexp_squared: [sym(&[3, 4])] => |x| square(&logsumexp(&x[0], Some(&[1]), false)?)?;
    should_diff_logsumexp_cross_entropy: [sym(&[2, 4])] => |x| {
        // -mean(log_softmax(x)[target]) with one-hot targets as a mask.
        let target = where_(&mask(&[2, 4], 9), &Tensor::scalar(1.0), &Tensor::scalar(0.0))?;
        neg(&mean(&mul(&log_softmax(&x[0], -1)?, &target)?, None, false)?)?
    };
    should_diff_softmax_attention: [sym(&[3, 2]), sym(&[4, 2]), sym(&[4, 2])] => |x| {
        let scores = matmul(&x[0], &transpose(&x[1], &[1, 0])?)?;
        matmul(&softmax(&scores, -1)?, &x[2])?
    };
}

// Ops that move values.
gradcheck! {
    should_diff_reshape_matrix: [sym(&[2, 3])] => |x| reshape(&x[0], &[3, 2])?;
    should_diff_reshape_flatten: [sym(&[2, 3])] => |x| reshape(&x[0], &[6])?;
    should_diff_reshape_inferred: [sym(&[2, 3, 4])] => |x| reshape(&x[0], &[4, -1])?;
    should_diff_reshape_inferred_flat: [sym(&[2, 3, 4])] => |x| reshape(&x[0], &[-1])?;
    should_diff_reshape_unit_axes: [sym(&[6])] => |x| reshape(&x[0], &[2, 1, 3])?;
    should_diff_reshape_from_scalar: [sym(&[])] => |x| reshape(&x[0], &[1, 1])?;
    should_diff_reshape_to_scalar: [sym(&[1])] => |x| reshape(&x[0], &[])?;
    should_diff_reshape_squared: [sym(&[2, 3])] => |x| mul(&reshape(&x[0], &[3, 2])?, &reshape(&x[0], &[-1, 2])?)?;

    should_diff_transpose_matrix: [sym(&[2, 3])] => |x| transpose(&x[0], &[1, 0])?;
    should_diff_transpose_3d_rotate: [sym(&[2, 3, 4])] => |x| transpose(&x[0], &[2, 0, 1])?;
    should_diff_transpose_3d_rotate_back: [sym(&[2, 3, 4])] => |x| transpose(&x[0], &[1, 2, 0])?;
    should_diff_transpose_3d_swap_last: [sym(&[2, 3, 4])] => |x| transpose(&x[0], &[0, 2, 1])?;
    should_diff_transpose_3d_reverse: [sym(&[2, 3, 4])] => |x| transpose(&x[0], &[2, 1, 0])?;
    should_diff_transpose_negative: [sym(&[2, 3, 4])] => |x| transpose(&x[0], &[-1, 0, -2])?;
    should_diff_transpose_identity: [sym(&[2, 3])] => |x| transpose(&x[0], &[0, 1])?;
    // A 0-D operand has the empty permutation.
    should_diff_transpose_scalar: [sym(&[])] => |x| transpose(&x[0], &[])?;
    should_diff_transpose_squared: [sym(&[3, 3])] => |x| mul(&transpose(&x[0], &[1, 0])?, &x[0])?;

    should_diff_slice_step2: [sym(&[7])] => |x| slice(&x[0], 0, Some(1), Some(6), 2)?;
    should_diff_slice_reverse: [sym(&[5])] => |x| slice(&x[0], 0, None, None, -1)?;
    should_diff_slice_negative_step: [sym(&[7])] => |x| slice(&x[0], 0, Some(5), Some(0), -2)?;
    should_diff_slice_negative_bounds: [sym(&[7])] => |x| slice(&x[0], 0, Some(-5), Some(-1), 1)?;
    should_diff_slice_omitted_start: [sym(&[6])] => |x| slice(&x[0], 0, None, Some(3), 1)?;
    should_diff_slice_omitted_stop: [sym(&[6])] => |x| slice(&x[0], 0, Some(2), None, 1)?;
    should_diff_slice_clamped: [sym(&[6])] => |x| slice(&x[0], 0, Some(-100), Some(100), 2)?;
    should_diff_slice_clamped_reverse: [sym(&[6])] => |x| slice(&x[0], 0, Some(100), Some(-100), -3)?;
    should_diff_slice_large_step: [sym(&[6])] => |x| slice(&x[0], 0, Some(4), None, 10)?;
    should_diff_slice_full: [sym(&[2, 3])] => |x| slice(&x[0], 1, None, None, 1)?;
    should_diff_slice_axis0: [sym(&[4, 3, 2])] => |x| slice(&x[0], 0, Some(1), Some(3), 1)?;
    should_diff_slice_axis1: [sym(&[2, 5, 2])] => |x| slice(&x[0], 1, Some(4), None, -2)?;
    should_diff_slice_axis2: [sym(&[2, 3, 5])] => |x| slice(&x[0], 2, Some(0), Some(5), 3)?;
    should_diff_slice_negative_axis: [sym(&[2, 3, 5])] => |x| slice(&x[0], -1, Some(-2), None, -1)?;
    // Overlapping slices of one input add up: x[1:] * x[:-1].
    should_diff_slice_overlap: [sym(&[6])] => |x| {
        mul(&slice(&x[0], 0, Some(1), None, 1)?, &slice(&x[0], 0, None, Some(-1), 1)?)?
    };

    should_diff_concat_axis0: [sym(&[2, 3]), sym(&[1, 3]), sym(&[3, 3])] => |x| concat(x, 0)?;
    should_diff_concat_axis1: [sym(&[2, 2]), sym(&[2, 3]), sym(&[2, 1])] => |x| concat(x, 1)?;
    should_diff_concat_axis2: [sym(&[2, 2, 1]), sym(&[2, 2, 3]), sym(&[2, 2, 2])] => |x| concat(x, 2)?;
    should_diff_concat_negative_axis: [sym(&[2, 1]), sym(&[2, 3]), sym(&[2, 2])] => |x| concat(x, -1)?;
    should_diff_concat_vectors: [sym(&[2]), sym(&[3]), sym(&[1])] => |x| concat(x, 0)?;
    should_diff_concat_repeated: [sym(&[2, 3]), sym(&[1, 3])] => |x| {
        concat(&[x[0].clone(), x[1].clone(), x[0].clone()], 0)?
    };
    should_diff_concat_single: [sym(&[2, 3])] => |x| concat(x, 1)?;
    should_diff_concat_squared: [sym(&[2]), sym(&[3])] => |x| square(&concat(x, 0)?)?;

    should_diff_stack_axis0: [sym(&[2, 3]), sym(&[2, 3]), sym(&[2, 3])] => |x| stack(x, 0)?;
    should_diff_stack_axis1: [sym(&[2, 3]), sym(&[2, 3]), sym(&[2, 3])] => |x| stack(x, 1)?;
    should_diff_stack_axis2: [sym(&[2, 3]), sym(&[2, 3]), sym(&[2, 3])] => |x| stack(x, 2)?;
    should_diff_stack_negative_axis: [sym(&[2, 3]), sym(&[2, 3]), sym(&[2, 3])] => |x| stack(x, -2)?;
    should_diff_stack_scalars: [sym(&[]), sym(&[]), sym(&[])] => |x| stack(x, 0)?;
    should_diff_stack_repeated: [sym(&[3]), sym(&[3])] => |x| {
        stack(&[x[1].clone(), x[0].clone(), x[1].clone()], 1)?
    };
    should_diff_stack_single: [sym(&[2, 3])] => |x| stack(x, -1)?;
    should_diff_stack_squared: [sym(&[2]), sym(&[2])] => |x| square(&stack(x, 0)?)?;

    should_diff_where_same: [sym(&[2, 3]), sym(&[2, 3])] => |x| where_(&mask(&[2, 3], 1), &x[0], &x[1])?;
    should_diff_where_mask_broadcast: [sym(&[2, 3]), sym(&[2, 3])] => |x| where_(&mask(&[3], 2), &x[0], &x[1])?;
    should_diff_where_operands_broadcast: [sym(&[2, 1]), sym(&[3])] => |x| where_(&mask(&[2, 3], 3), &x[0], &x[1])?;
    should_diff_where_scalar_operand: [sym(&[2, 3]), sym(&[])] => |x| where_(&mask(&[2, 3], 4), &x[0], &x[1])?;
    should_diff_where_mask_larger: [sym(&[3]), sym(&[3])] => |x| where_(&mask(&[2, 3], 5), &x[0], &x[1])?;
    should_diff_where_scalar_mask: [sym(&[2, 3]), sym(&[2, 3])] => |x| {
        where_(&Tensor::scalar(0.0), &x[0], &x[1])?
    };
    should_diff_where_all_scalars: [sym(&[]), sym(&[])] => |x| where_(&Tensor::scalar(1.0), &x[0], &x[1])?;
    should_diff_where_squared: [sym(&[2, 3]), sym(&[2, 3])] => |x| {
        square(&where_(&mask(&[2, 3], 6), &x[0], &x[1])?)?
    };

    should_diff_broadcast_to_rank: [sym(&[3])] => |x| broadcast_to(&x[0], &[2, 3])?;
    should_diff_broadcast_to_unit: [sym(&[2, 1])] => |x| broadcast_to(&x[0], &[2, 4])?;
    should_diff_broadcast_to_scalar: [sym(&[])] => |x| broadcast_to(&x[0], &[2, 3])?;
    should_diff_broadcast_to_both: [sym(&[1, 3])] => |x| broadcast_to(&x[0], &[4, 2, 3])?;
    should_diff_broadcast_to_inner: [sym(&[3, 1])] => |x| broadcast_to(&x[0], &[2, 3, 4])?;
    should_diff_broadcast_to_same: [sym(&[2, 3])] => |x| broadcast_to(&x[0], &[2, 3])?;
    should_diff_broadcast_to_squared: [sym(&[3])] => |x| square(&broadcast_to(&x[0], &[2, 3])?)?;
}

// Gather, its adjoint scatter_add, and cumsum: linear, so each also runs
// under a square (or a product) for a second order that is not 0.
gradcheck! {
    should_diff_gather_axis0: [sym(&[4, 3])] => |x| gather(&x[0], 0, &[2, 0, 3, 0])?;
    should_diff_gather_axis1: [sym(&[2, 4, 3])] => |x| gather(&x[0], 1, &[-1, 1, 1, 0, 2])?;
    should_diff_gather_last_axis: [sym(&[2, 5])] => |x| gather(&x[0], -1, &[4, 0, -5, 2])?;
    should_diff_gather_vector: [sym(&[5])] => |x| gather(&x[0], 0, &[3, 3, 1])?;
    should_diff_gather_one_index: [sym(&[3, 2])] => |x| gather(&x[0], 0, &[-2])?;
    should_diff_gather_squared: [sym(&[4, 3])] => |x| square(&gather(&x[0], 0, &[1, 3, 1])?)?;
    // x[idx] * y: both operands, the gathered one with repeats.
    should_diff_gather_product: [sym(&[3, 2]), sym(&[5, 2])] => |x| {
        mul(&gather(&x[0], 0, &[0, 2, 2, 1, 0])?, &x[1])?
    };

    should_diff_scatter_add_axis0: [sym(&[3, 2])] => |x| scatter_add(&x[0], 0, &[1, -1, 1], 4)?;
    should_diff_scatter_add_axis1: [sym(&[2, 3, 2])] => |x| scatter_add(&x[0], 1, &[0, 2, 0], 3)?;
    should_diff_scatter_add_last_axis: [sym(&[2, 3])] => |x| scatter_add(&x[0], -1, &[4, 0, 4], 5)?;
    should_diff_scatter_add_squared: [sym(&[4])] => |x| square(&scatter_add(&x[0], 0, &[2, 0, 2, 1], 3)?)?;
    should_diff_scatter_add_product: [sym(&[3, 2]), sym(&[2, 2])] => |x| {
        mul(&scatter_add(&x[0], 0, &[1, 0, 1], 2)?, &x[1])?
    };

    should_diff_cumsum_vector: [sym(&[5])] => |x| cumsum(&x[0], 0)?;
    should_diff_cumsum_axis0: [sym(&[3, 4])] => |x| cumsum(&x[0], 0)?;
    should_diff_cumsum_axis1: [sym(&[2, 3, 4])] => |x| cumsum(&x[0], 1)?;
    should_diff_cumsum_negative_axis: [sym(&[2, 3, 4])] => |x| cumsum(&x[0], -1)?;
    should_diff_cumsum_squared: [sym(&[2, 4])] => |x| square(&cumsum(&x[0], 1)?)?;
    // A gather of running sums scattered back: every rule in one chain.
    should_diff_cumsum_gather_scatter: [sym(&[4, 2])] => |x| {
        let c = cumsum(&square(&x[0])?, 0)?;
        scatter_add(&mul(&gather(&c, 0, &[3, 1, 3])?, &gather(&x[0], 0, &[0, 0, 2])?)?, 0, &[1, 0, 1], 2)?
    };
}

/// A two-layer perceptron `tanh(x W1 + b1) W2 + b2`.
fn mlp(p: &[Tensor]) -> Result<Tensor> {
    let hidden = tanh(&add(&matmul(&p[0], &p[1])?, &p[2])?)?;
    add(&matmul(&hidden, &p[3])?, &p[4])
}

/// `log(sum(exp(x), axis))` computed stably: `m + log(sum(exp(x - m)))`
/// with `m = max(x, axis)` (the gradient through `m` cancels exactly).
fn log_sum_exp(x: &Tensor, axis: isize) -> Result<Tensor> {
    let m = max(x, axis, true)?;
    let shifted = exp(&sub(x, &m)?)?;
    let lse = add(&log(&sum(&shifted, Some(&[axis]), true)?)?, &m)?;
    reshape(&lse, &[-1])
}

/// `sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2`.
fn rosenbrock(x: &Tensor) -> Result<Tensor> {
    let head = slice(x, 0, None, Some(-1), 1)?;
    let tail = slice(x, 0, Some(1), None, 1)?;
    let a = scale(&square(&sub(&tail, &square(&head)?)?)?, 100.0)?;
    let b = square(&add_scalar(&neg(&head)?, 1.0)?)?;
    sum(&add(&a, &b)?, None, false)
}

// Composite programs: the ops in combination, as real models use them.
gradcheck! {
    should_diff_composite_mlp: [
        sym(&[4, 3]), sym(&[3, 5]), sym(&[5]), sym(&[5, 2]), sym(&[2])
    ] => |x| mlp(x)?;
    should_diff_composite_mlp_loss: [sym(&[4, 3]), sym(&[3, 5]), sym(&[5]), sym(&[5, 2]), sym(&[2])] => |x| {
        mean(&square(&mlp(x)?)?, None, false)?
    };
    should_diff_composite_log_sum_exp: [distinct(&[3, 4])] => |x| log_sum_exp(&x[0], 1)?;
    should_diff_composite_log_sum_exp_axis0: [distinct(&[3, 4])] => |x| log_sum_exp(&x[0], 0)?;
    should_diff_composite_rosenbrock: [spec(&[5], Domain::Uniform(-1.2, 1.2))] => |x| rosenbrock(&x[0])?;
    should_diff_composite_softmax_cross_entropy: [distinct(&[2, 4])] => |x| {
        // -log softmax(x)[target] with one-hot targets as a constant mask.
        let target = where_(&mask(&[2, 4], 9), &Tensor::scalar(1.0), &Tensor::scalar(0.0))?;
        let logp = sub(&x[0], &reshape(&log_sum_exp(&x[0], 1)?, &[2, 1])?)?;
        neg(&mean(&mul(&logp, &target)?, None, false)?)?
    };
    should_diff_composite_logistic: [sym(&[4, 3]), sym(&[3])] => |x| {
        sum(&softplus(&neg(&matmul(&x[0], &x[1])?)?)?, None, false)?
    };
    should_diff_composite_shared_subexpressions: [pos(&[3])] => |x| {
        // x sin(x) + exp(x) / x - sqrt(x)^3: x feeds every branch.
        let a = mul(&x[0], &sin(&x[0])?)?;
        let b = div(&exp(&x[0])?, &x[0])?;
        sub(&add(&a, &b)?, &pow_scalar(&sqrt(&x[0])?, 3.0)?)?
    };
    should_diff_composite_attention: [sym(&[3, 2]), sym(&[4, 2]), sym(&[4, 2])] => |x| {
        // softmax(q k^T) v, rows normalised with sum and div.
        let scores = matmul(&x[0], &transpose(&x[1], &[1, 0])?)?;
        let e = exp(&sub(&scores, &max(&scores, -1, true)?)?)?;
        let attn = div(&e, &sum(&e, Some(&[-1]), true)?)?;
        matmul(&attn, &x[2])?
    };
}

/// Rows 0 and 1 of a `[2, ...]` input: two operands of one shape whose
/// values are all distinct (so minimum, maximum and comparisons see no
/// ties within a step).
fn halves(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let a = reshape(&slice(x, 0, Some(0), Some(1), 1)?, &[-1])?;
    let b = reshape(&slice(x, 0, Some(1), Some(2), 1)?, &[-1])?;
    Ok((a, b))
}

// Elementwise ops of real programs: minimum/maximum (away from ties), pow of
// two tensors, atan2, erf, clamp (away from the bounds), and masks from
// comparisons selecting branches.
gradcheck! {
    should_diff_minimum_same: [distinct(&[2, 3])] => |x| { let (a, b) = halves(&x[0])?; minimum(&a, &b)? };
    should_diff_minimum_broadcast: [distinct(&[4])] => |x| {
        minimum(&slice(&x[0], 0, Some(0), Some(1), 1)?, &slice(&x[0], 0, Some(1), None, 1)?)?
    };
    should_diff_minimum_squared: [distinct(&[2, 3])] => |x| { let (a, b) = halves(&x[0])?; square(&minimum(&a, &b)?)? };
    should_diff_maximum_same: [distinct(&[2, 3])] => |x| { let (a, b) = halves(&x[0])?; maximum(&a, &b)? };
    should_diff_maximum_broadcast: [distinct(&[4])] => |x| {
        maximum(&slice(&x[0], 0, Some(1), None, 1)?, &slice(&x[0], 0, Some(0), Some(1), 1)?)?
    };
    should_diff_maximum_squared: [distinct(&[2, 3])] => |x| { let (a, b) = halves(&x[0])?; mul(&maximum(&a, &b)?, &a)? };

    should_diff_pow_same: [pos(&[2, 3]), sym(&[2, 3])] => |x| pow(&x[0], &x[1])?;
    should_diff_pow_scalar_exponent: [pos(&[2, 3]), sym(&[])] => |x| pow(&x[0], &x[1])?;
    should_diff_pow_scalar_base: [pos(&[]), sym(&[2, 3])] => |x| pow(&x[0], &x[1])?;
    should_diff_pow_outer: [pos(&[3, 1]), sym(&[1, 4])] => |x| pow(&x[0], &x[1])?;
    // A negative base with a constant integer exponent: only d/da exists.
    should_diff_pow_negative_base: [away(&[2, 3])] => |x| pow(&x[0], &Tensor::scalar(3.0))?;
    should_diff_pow_self: [pos(&[3])] => |x| pow(&x[0], &x[0])?;

    should_diff_atan2_same: [sym(&[2, 3]), away(&[2, 3])] => |x| atan2(&x[0], &x[1])?;
    should_diff_atan2_outer: [away(&[3, 1]), sym(&[1, 4])] => |x| atan2(&x[0], &x[1])?;
    should_diff_atan2_scalar: [away(&[]), away(&[])] => |x| atan2(&x[0], &x[1])?;

    should_diff_erf_matrix: [sym(&[2, 3])] => |x| erf(&x[0])?;
    should_diff_erf_scalar: [sym(&[])] => |x| erf(&x[0])?;
    // Both branches of the evaluation (series below 1.5, continued fraction above).
    should_diff_erf_wide: [spec(&[2, 3], Domain::AwayFromZero(1.2, 2.5))] => |x| erf(&x[0])?;

    should_diff_clamp_upper: [away(&[2, 3])] => |x| clamp(&x[0], f64::NEG_INFINITY, 0.0)?;
    should_diff_clamp_lower: [away(&[2, 3])] => |x| mul(&clamp(&x[0], 0.0, f64::INFINITY)?, &x[0])?;
    should_diff_clamp_both: [spec(&[2, 3], Domain::Uniform(-1.5, 1.5))] => |x| {
        // Bounds at +-2 hold every value strictly inside: the identity.
        square(&clamp(&x[0], -2.0, 2.0)?)?
    };

    // |x| as x > 0 ? x : -x, and a branch between two smooth functions.
    should_diff_compare_greater_branch: [away(&[2, 3])] => |x| {
        where_(&greater(&x[0], &Tensor::scalar(0.0))?, &x[0], &neg(&x[0])?)?
    };
    should_diff_compare_less_branch: [distinct(&[2, 3])] => |x| {
        let (a, b) = halves(&x[0])?;
        where_(&less(&a, &b)?, &sin(&a)?, &mul(&a, &b)?)?
    };
    should_diff_compare_mask_times: [distinct(&[2, 3])] => |x| {
        let (a, b) = halves(&x[0])?;
        mul(&add(&greater_equal(&a, &b)?, &less_equal(&a, &b)?)?, &mul(&a, &b)?)?
    };
    should_diff_compare_equal_mask: [sym(&[2, 3])] => |x| {
        mul(&equal(&x[0], &x[0])?, &exp(&x[0])?)?
    };
}
