//! Higher-order derivatives against hand-derived closed forms: derivative
//! towers of every elementwise op up to third order, Hessians of known
//! functions, mixed partials, and what `create_graph` records.
//!
//! Expected values are computed in plain f64 from the formulas written in
//! the comments; the engine evaluates algebraically equal but differently
//! ordered expressions (e.g. `1 + tan^2` for `sec^2`), so they agree to a
//! few ulps, hence `rtol = 1e-12`.

mod common;

use common::{arr, assert_close, assert_values, tensor};
use jac_core::{
    Result, Tensor, abs, add_scalar, cos, div, exp, grad, grad_stacked, log, matmul, max, mul, neg,
    pow_scalar, relu, reshape, scale, sigmoid, sin, slice, softplus, sqrt, square, sub, sum, tan,
    tanh, where_,
};

const RTOL: f64 = 1e-12;
const ATOL: f64 = 1e-14;

/// Points for ops defined everywhere, away from relu's and abs's kink.
const ANY: &[f64] = &[-1.1, -0.3, 0.4, 0.9];
/// Points for ops defined on x > 0.
const POSITIVE: &[f64] = &[0.5, 1.3, 2.0];

type Unary = fn(&Tensor) -> Result<Tensor>;

/// The first `expected.len()` derivatives of the elementwise `f` at each of
/// `points`, each taken as the gradient of the sum of the previous one with
/// `create_graph`, against `expected[k](x)`.
fn check_tower(name: &str, f: Unary, points: &[f64], expected: &[&dyn Fn(f64) -> f64]) {
    let x = tensor(points, &[points.len()], true);
    let mut d = f(&x).expect("op");
    for (k, formula) in expected.iter().enumerate() {
        // d/dx_i sum_j f^(k)(x_j) = f^(k+1)(x_i): f is elementwise.
        let total = sum(&d, None, false).expect("sum");
        d = grad(&[total], std::slice::from_ref(&x), None, true).expect("grad")[0].clone();
        let want: Vec<f64> = points.iter().map(|&p| formula(p)).collect();
        let what = format!("{name}: derivative {}", k + 1);
        assert_close(d.value(), &arr(want, &[points.len()]), RTOL, ATOL, &what);
        if !d.requires_grad() {
            // A constant derivative: every higher one must be exactly 0.
            assert!(
                expected[k + 1..]
                    .iter()
                    .all(|g| points.iter().all(|&p| g(p) == 0.0)),
                "{what} was not recorded, but a higher derivative is not 0"
            );
        }
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn tower_sin_to_fourth_order() {
    check_tower(
        "sin",
        sin,
        ANY,
        &[&f64::cos, &|x| -x.sin(), &|x| -x.cos(), &f64::sin],
    );
}

#[test]
fn tower_cos() {
    check_tower("cos", cos, ANY, &[&|x| -x.sin(), &|x| -x.cos(), &f64::sin]);
}

#[test]
fn tower_exp_to_fourth_order() {
    check_tower(
        "exp",
        exp,
        ANY,
        &[&f64::exp, &f64::exp, &f64::exp, &f64::exp],
    );
}

#[test]
fn tower_log() {
    // 1/x, -1/x^2, 2/x^3.
    check_tower(
        "log",
        log,
        POSITIVE,
        &[&|x| 1.0 / x, &|x| -1.0 / (x * x), &|x| 2.0 / (x * x * x)],
    );
}

#[test]
fn tower_tan() {
    // With t = tan x, s = 1 + t^2: t' = s, s' = 2 t s, so
    // t'' = 2 t s and t''' = 2 s^2 + 4 t^2 s.
    let s = |x: f64| 1.0 / (x.cos() * x.cos());
    check_tower(
        "tan",
        tan,
        &[-0.9, -0.2, 0.5, 1.0],
        &[&s, &|x| 2.0 * x.tan() * s(x), &|x| {
            2.0 * s(x) * s(x) + 4.0 * x.tan() * x.tan() * s(x)
        }],
    );
}

#[test]
fn tower_tanh() {
    // With t = tanh x: t' = 1 - t^2, t'' = -2 t (1 - t^2),
    // t''' = (1 - t^2)(6 t^2 - 2).
    let u = |x: f64| 1.0 - x.tanh() * x.tanh();
    check_tower(
        "tanh",
        tanh,
        ANY,
        &[&u, &|x| -2.0 * x.tanh() * u(x), &|x| {
            u(x) * (6.0 * x.tanh() * x.tanh() - 2.0)
        }],
    );
}

#[test]
fn tower_sigmoid() {
    // With s = sigmoid x, q = s (1 - s): s' = q, s'' = q (1 - 2s),
    // s''' = q (1 - 6 s + 6 s^2).
    let q = |x: f64| logistic(x) * (1.0 - logistic(x));
    check_tower(
        "sigmoid",
        sigmoid,
        ANY,
        &[&q, &|x| q(x) * (1.0 - 2.0 * logistic(x)), &|x| {
            q(x) * (1.0 - 6.0 * logistic(x) + 6.0 * logistic(x) * logistic(x))
        }],
    );
}

#[test]
fn tower_softplus() {
    // softplus' = sigmoid, then sigmoid's tower.
    let q = |x: f64| logistic(x) * (1.0 - logistic(x));
    check_tower(
        "softplus",
        softplus,
        ANY,
        &[&logistic, &q, &|x| q(x) * (1.0 - 2.0 * logistic(x))],
    );
}

#[test]
fn tower_sqrt() {
    // x^(1/2): (1/2) x^(-1/2), -(1/4) x^(-3/2), (3/8) x^(-5/2).
    check_tower(
        "sqrt",
        sqrt,
        POSITIVE,
        &[&|x| 0.5 / x.sqrt(), &|x| -0.25 * x.powf(-1.5), &|x| {
            0.375 * x.powf(-2.5)
        }],
    );
}

#[test]
fn tower_square() {
    check_tower("square", square, ANY, &[&|x| 2.0 * x, &|_| 2.0, &|_| 0.0]);
}

#[test]
fn tower_cube_by_mul() {
    // x * x * x: 3x^2, 6x, 6, 0.
    check_tower(
        "x*x*x",
        |x| mul(&mul(x, x)?, x),
        ANY,
        &[&|x| 3.0 * x * x, &|x| 6.0 * x, &|_| 6.0, &|_| 0.0],
    );
}

#[test]
fn tower_reciprocal_by_div() {
    // 1 / x: -x^-2, 2 x^-3, -6 x^-4.
    check_tower(
        "1/x",
        |x| div(&Tensor::scalar(1.0), x),
        POSITIVE,
        &[&|x| -1.0 / (x * x), &|x| 2.0 / x.powi(3), &|x| {
            -6.0 / x.powi(4)
        }],
    );
}

#[test]
fn tower_pow_scalar() {
    // x^2.5: 2.5 x^1.5, 3.75 x^0.5, 1.875 x^-0.5.
    check_tower(
        "x^2.5",
        |x| pow_scalar(x, 2.5),
        POSITIVE,
        &[&|x| 2.5 * x.powf(1.5), &|x| 3.75 * x.sqrt(), &|x| {
            1.875 / x.sqrt()
        }],
    );
    // x^3 on negative points too: 3x^2, 6x, 6, 0.
    check_tower(
        "x^3",
        |x| pow_scalar(x, 3.0),
        ANY,
        &[&|x| 3.0 * x * x, &|x| 6.0 * x, &|_| 6.0, &|_| 0.0],
    );
    // x^-1: -x^-2, 2x^-3, -6x^-4.
    check_tower(
        "x^-1",
        |x| pow_scalar(x, -1.0),
        POSITIVE,
        &[&|x| -1.0 / (x * x), &|x| 2.0 / x.powi(3), &|x| {
            -6.0 / x.powi(4)
        }],
    );
    // x^1 = x and x^0 = 1.
    check_tower("x^1", |x| pow_scalar(x, 1.0), ANY, &[&|_| 1.0, &|_| 0.0]);
    check_tower("x^0", |x| pow_scalar(x, 0.0), ANY, &[&|_| 0.0, &|_| 0.0]);
}

#[test]
fn tower_linear_ops() {
    check_tower("neg", neg, ANY, &[&|_| -1.0, &|_| 0.0]);
    check_tower("scale", |x| scale(x, 2.5), ANY, &[&|_| 2.5, &|_| 0.0]);
    check_tower(
        "add_scalar",
        |x| add_scalar(x, -4.0),
        ANY,
        &[&|_| 1.0, &|_| 0.0],
    );
}

#[test]
fn tower_piecewise_linear_ops() {
    // relu' = [x > 0], abs' = sign x; both have second derivative 0 off 0.
    check_tower(
        "relu",
        relu,
        ANY,
        &[&|x| f64::from(u8::from(x > 0.0)), &|_| 0.0, &|_| 0.0],
    );
    check_tower("abs", abs, ANY, &[&f64::signum, &|_| 0.0, &|_| 0.0]);
}

#[test]
fn third_derivative_of_sin_at_a_point_is_recorded_at_every_level() {
    let x0 = 0.7f64;
    let x = tensor(&[x0], &[], true);
    let d1 = grad(&[sin(&x).unwrap()], std::slice::from_ref(&x), None, true).unwrap();
    assert!(d1[0].requires_grad(), "cos x depends on x");
    let d2 = grad(&d1, std::slice::from_ref(&x), None, true).unwrap();
    assert!(d2[0].requires_grad(), "-sin x depends on x");
    let d3 = grad(&d2, std::slice::from_ref(&x), None, false).unwrap();
    assert!(!d3[0].requires_grad(), "create_graph was off");
    // sin''' = -cos.
    assert_values(&d3[0], &[], &[-x0.cos()], 1e-15, "d3/dx3 sin");
    assert_values(&d2[0], &[], &[-x0.sin()], 1e-15, "d2/dx2 sin");
}

/// `f(x, y) = 100 (y - x^2)^2 + (1 - x)^2` on a `[2]` tensor, built with
/// slices.
fn rosenbrock2(p: &Tensor) -> Result<Tensor> {
    let x = reshape(&slice(p, 0, Some(0), Some(1), 1)?, &[])?;
    let y = reshape(&slice(p, 0, Some(1), None, 1)?, &[])?;
    let a = scale(&square(&sub(&y, &square(&x)?)?)?, 100.0)?;
    let b = square(&add_scalar(&neg(&x)?, 1.0)?)?;
    jac_core::add(&a, &b)
}

#[test]
fn hessian_of_rosenbrock() {
    let p = tensor(&[-1.2, 1.0], &[2], true);
    let f = rosenbrock2(&p).unwrap();
    let g = grad(&[f], std::slice::from_ref(&p), None, true).unwrap();
    // f_x = -400 x (y - x^2) - 2 (1 - x) = -400 (-1.2)(1 - 1.44) - 4.4,
    // f_y = 200 (y - x^2) = 200 (1 - 1.44).
    assert_values(&g[0], &[2], &[-215.6, -88.0], 1e-12, "gradient");
    // f_xx = 1200 x^2 - 400 y + 2 = 1330, f_xy = -400 x = 480, f_yy = 200.
    let eye = tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2], false);
    let h = grad_stacked(&g, std::slice::from_ref(&p), &[eye], false).unwrap();
    assert_values(
        &h[0],
        &[2, 2],
        &[1330.0, 480.0, 480.0, 200.0],
        1e-11,
        "Hessian",
    );
    // At the minimum (1, 1): the gradient vanishes, H = [[802, -400], [-400, 200]].
    let p = tensor(&[1.0, 1.0], &[2], true);
    let g = grad(
        &[rosenbrock2(&p).unwrap()],
        std::slice::from_ref(&p),
        None,
        true,
    )
    .unwrap();
    assert_values(&g[0], &[2], &[0.0, 0.0], 0.0, "gradient at the minimum");
    let eye = tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2], false);
    let h = grad_stacked(&g, &[p], &[eye], false).unwrap();
    assert_values(
        &h[0],
        &[2, 2],
        &[802.0, -400.0, -400.0, 200.0],
        0.0,
        "Hessian at the minimum",
    );
}

#[test]
fn hessian_of_log_sum_exp_is_diag_p_minus_p_p_t() {
    let xs = [0.1, -0.5, 1.2, 0.3];
    let x = tensor(&xs, &[4], true);
    // m + log(sum(exp(x - m))), m = max(x): d/dm cancels.
    let m = max(&x, 0, true).unwrap();
    let lse = jac_core::add(
        &log(&sum(&exp(&sub(&x, &m).unwrap()).unwrap(), None, true).unwrap()).unwrap(),
        &m,
    )
    .unwrap();
    let g = grad(&[lse], std::slice::from_ref(&x), None, true).unwrap();
    let z: f64 = xs.iter().map(|v| v.exp()).sum();
    let p: Vec<f64> = xs.iter().map(|v| v.exp() / z).collect();
    // The gradient is softmax(x) = p.
    assert_values(&g[0], &[4], &p, 1e-15, "gradient");
    let eye: Vec<f64> = (0..16).map(|k| f64::from(u8::from(k % 5 == 0))).collect();
    let h = grad_stacked(&g, &[x], &[tensor(&eye, &[4, 4], false)], false).unwrap();
    // H_ij = p_i [i = j] - p_i p_j.
    let want: Vec<f64> = (0..16)
        .map(|k| {
            let (i, j) = (k / 4, k % 4);
            let diagonal = if i == j { p[i] } else { 0.0 };
            diagonal - p[i] * p[j]
        })
        .collect();
    assert_close(h[0].value(), &arr(want, &[4, 4]), RTOL, ATOL, "Hessian");
}

#[test]
fn mixed_partials_of_a_product_are_symmetric() {
    // f = a^2 b^3: f_aa = 2 b^3, f_ab = 6 a b^2, f_bb = 6 a^2 b.
    let (a0, b0) = (1.5f64, -0.5f64);
    let a = tensor(&[a0], &[], true);
    let b = tensor(&[b0], &[], true);
    let f = mul(&square(&a).unwrap(), &pow_scalar(&b, 3.0).unwrap()).unwrap();
    let g = grad(&[f], &[a.clone(), b.clone()], None, true).unwrap();
    // f_a = 2 a b^3, f_b = 3 a^2 b^2.
    assert_values(&g[0], &[], &[2.0 * a0 * b0.powi(3)], 1e-15, "f_a");
    assert_values(&g[1], &[], &[3.0 * a0 * a0 * b0 * b0], 1e-15, "f_b");
    let from_a = grad(
        std::slice::from_ref(&g[0]),
        &[a.clone(), b.clone()],
        None,
        false,
    )
    .unwrap();
    let from_b = grad(std::slice::from_ref(&g[1]), &[a, b], None, false).unwrap();
    assert_values(&from_a[0], &[], &[2.0 * b0.powi(3)], 1e-15, "f_aa");
    assert_values(&from_a[1], &[], &[6.0 * a0 * b0 * b0], 1e-15, "f_ab");
    assert_values(&from_b[0], &[], &[6.0 * a0 * b0 * b0], 1e-15, "f_ba");
    assert_values(&from_b[1], &[], &[6.0 * a0 * a0 * b0], 1e-15, "f_bb");
}

#[test]
fn second_derivatives_of_a_quotient() {
    // f = a / b: f_aa = 0, f_ab = -1/b^2, f_bb = 2a/b^3.
    let a = tensor(&[3.0], &[1], true);
    let b = tensor(&[2.0], &[1], true);
    let f = div(&a, &b).unwrap();
    let g = grad(&[f], &[a.clone(), b.clone()], None, true).unwrap();
    assert_values(&g[0], &[1], &[0.5], 0.0, "f_a = 1/b");
    assert_values(&g[1], &[1], &[-0.75], 0.0, "f_b = -a/b^2");
    let from_a = grad(
        std::slice::from_ref(&g[0]),
        &[a.clone(), b.clone()],
        None,
        false,
    )
    .unwrap();
    let from_b = grad(std::slice::from_ref(&g[1]), &[a, b], None, false).unwrap();
    assert_values(&from_a[0], &[1], &[0.0], 0.0, "f_aa");
    assert_values(&from_a[1], &[1], &[-0.25], 0.0, "f_ab");
    assert_values(&from_b[0], &[1], &[-0.25], 0.0, "f_ba");
    assert_values(&from_b[1], &[1], &[0.75], 0.0, "f_bb");
}

#[test]
fn matmul_second_derivatives_are_the_bilinear_form() {
    // f = <W, A B>, so g_A = W B^T and d/dB <V, W B^T> = V^T W, d/dA = 0.
    let a = tensor(&[1.0, 2.0, 0.0, -1.0, 3.0, 1.0], &[2, 3], true);
    let b = tensor(&[2.0, 1.0, 0.0, -2.0, 1.0, 1.0], &[3, 2], true);
    let w = tensor(&[1.0, -1.0, 2.0, 0.5], &[2, 2], false);
    let y = matmul(&a, &b).unwrap();
    let g = grad(&[y], &[a.clone(), b.clone()], Some(&[w]), true).unwrap();
    // W B^T = [[1, -1], [2, 0.5]] [[2, 0, 1], [1, -2, 1]].
    assert_values(
        &g[0],
        &[2, 3],
        &[1.0, 2.0, 0.0, 4.5, -1.0, 2.5],
        0.0,
        "W B^T",
    );
    let v = tensor(&[1.0, 0.0, 2.0, -1.0, 1.0, 0.0], &[2, 3], false);
    let h = grad(std::slice::from_ref(&g[0]), &[a, b], Some(&[v]), false).unwrap();
    assert_values(&h[0], &[2, 3], &[0.0; 6], 0.0, "g_A does not depend on A");
    // Row j of V^T W is sum_i V_ij W_i: row 0 = 1 [1, -1] - 1 [2, 0.5],
    // row 1 = 0 [1, -1] + 1 [2, 0.5], row 2 = 2 [1, -1] + 0 [2, 0.5].
    assert_values(
        &h[1],
        &[3, 2],
        &[-1.0, -1.5, 2.0, 0.5, 2.0, -2.0],
        0.0,
        "V^T W",
    );
}

#[test]
fn quadratic_form_hessian_is_q_plus_q_transposed() {
    // f = x^T Q x: H = Q + Q^T.
    let q = [1.0, 2.0, 0.0, -1.0, 3.0, 4.0, 0.5, 0.0, -2.0];
    let q_t = tensor(&q, &[3, 3], false);
    let x = tensor(&[0.3, -1.0, 2.0], &[3], true);
    let f = matmul(&x, &matmul(&q_t, &x).unwrap()).unwrap();
    assert_eq!(f.shape(), &[] as &[usize]);
    let g = grad(&[f], std::slice::from_ref(&x), None, true).unwrap();
    let eye: Vec<f64> = (0..9).map(|k| f64::from(u8::from(k % 4 == 0))).collect();
    let h = grad_stacked(&g, &[x], &[tensor(&eye, &[3, 3], false)], false).unwrap();
    let want: Vec<f64> = (0..9).map(|k| q[k] + q[(k % 3) * 3 + k / 3]).collect();
    assert_values(&h[0], &[3, 3], &want, 0.0, "Q + Q^T");
}

#[test]
fn differentiating_through_the_cotangent_gives_a_jvp() {
    // y = A sin(x), J = A diag(cos x). g(v) = J^T v is linear in v, so
    // d/dv <u, g(v)> = J u: the double-backward trick for a JVP.
    let a = tensor(&[1.0, 2.0, -1.0, 0.5, 0.0, 3.0], &[2, 3], false);
    let x0 = [0.2, -0.4, 1.0];
    let x = tensor(&x0, &[3], true);
    let v = tensor(&[0.7, -0.3], &[2], true);
    let y = matmul(&a, &sin(&x).unwrap()).unwrap();
    let g = grad(
        &[y],
        std::slice::from_ref(&x),
        Some(std::slice::from_ref(&v)),
        true,
    )
    .unwrap();
    assert!(g[0].requires_grad());
    let u = [1.0, -2.0, 0.5];
    let jvp = grad(&g, &[v], Some(&[tensor(&u, &[3], false)]), false).unwrap();
    let a_vals = a.to_vec();
    let want: Vec<f64> = (0..2)
        .map(|i| (0..3).map(|j| a_vals[i * 3 + j] * x0[j].cos() * u[j]).sum())
        .collect();
    assert_values(&jvp[0], &[2], &want, 1e-15, "J u");
}

#[test]
fn max_and_where_route_second_derivatives() {
    // f = sum(max(x, 1)^3): only each row's maximum gets 6 m u.
    let x = tensor(&[0.5, 2.0, -1.0, 1.5, 0.2, 0.1], &[2, 3], true);
    let f = sum(
        &pow_scalar(&max(&x, 1, false).unwrap(), 3.0).unwrap(),
        None,
        false,
    )
    .unwrap();
    let g = grad(&[f], std::slice::from_ref(&x), None, true).unwrap();
    // 3 m^2 at the maxima 2.0 and 1.5.
    assert_values(
        &g[0],
        &[2, 3],
        &[0.0, 12.0, 0.0, 6.75, 0.0, 0.0],
        1e-15,
        "f_x",
    );
    let h = grad(&g, std::slice::from_ref(&x), None, false).unwrap();
    // 6 m at the maxima.
    assert_values(
        &h[0],
        &[2, 3],
        &[0.0, 12.0, 0.0, 9.0, 0.0, 0.0],
        1e-15,
        "sum of H rows",
    );

    // f = sum(where(mask, x^2, x^3)): 2x where the mask holds, else 3x^2.
    let mask = tensor(&[1.0, 0.0, 1.0], &[3], false);
    let x = tensor(&[0.5, -2.0, 3.0], &[3], true);
    let f = sum(
        &where_(&mask, &square(&x).unwrap(), &pow_scalar(&x, 3.0).unwrap()).unwrap(),
        None,
        false,
    )
    .unwrap();
    let g = grad(&[f], std::slice::from_ref(&x), None, true).unwrap();
    assert_values(&g[0], &[3], &[1.0, 12.0, 6.0], 1e-15, "f_x");
    let h = grad(&g, std::slice::from_ref(&x), None, false).unwrap();
    // 2 where the mask holds, else 6x.
    assert_values(&h[0], &[3], &[2.0, -12.0, 2.0], 1e-15, "f_xx");
}

#[test]
fn create_graph_results_require_grad_only_when_they_depend_on_x() {
    let x = tensor(&[0.5, 2.0], &[2], true);
    // Linear: the gradient 3 does not depend on x, so it is a constant.
    let g = grad(
        &[scale(&x, 3.0).unwrap()],
        std::slice::from_ref(&x),
        None,
        true,
    )
    .unwrap();
    assert!(!g[0].requires_grad());
    assert_values(&g[0], &[2], &[3.0, 3.0], 0.0, "linear");
    // Nonlinear: the gradient 2x is recorded...
    let g = grad(&[square(&x).unwrap()], std::slice::from_ref(&x), None, true).unwrap();
    assert!(g[0].requires_grad());
    assert!(g[0].op_name().is_some());
    // ...and without create_graph the same gradient is a constant.
    let g = grad(
        &[square(&x).unwrap()],
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert!(!g[0].requires_grad());
    assert_eq!(g[0].op_name(), None);
    // Stacked gradients are recorded the same way.
    let v = tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2], false);
    let s = grad_stacked(&[exp(&x).unwrap()], std::slice::from_ref(&x), &[v], true).unwrap();
    assert!(s[0].requires_grad());
    // d/dx sum(stacked) = sum over rows of diag(exp x) rows = exp x.
    let h = grad(&s, &[x], None, false).unwrap();
    let want: Vec<f64> = [0.5f64, 2.0].iter().map(|v| v.exp()).collect();
    assert_values(&h[0], &[2], &want, 1e-15, "d/dx of the stacked Jacobian");
}
