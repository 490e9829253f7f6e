//! The forward sweep itself (`jvp`, `jvp_stacked`): the edge cases of `xs`
//! and `ys`, inputs that depend on each other, deep chains, and exact errors.
//! Every op's JVP is checked against central differences and the VJP, to
//! first and second order, in `gradcheck.rs`.

mod common;

use common::{Domain, Rng, assert_values, random_tensor, tensor};
use jac_core::{ErrorKind, add, grad, jvp, jvp_stacked, matmul, mul, scale, sin, sum, tanh};

fn kind<T: std::fmt::Debug>(r: jac_core::Result<T>) -> (ErrorKind, String) {
    let e = r.expect_err("an error");
    (e.kind(), e.to_string())
}

#[test]
fn a_y_no_x_reaches_gets_zeros_and_a_constant_y_too() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let other = tensor(&[3.0], &[1], true);
    let y_other = scale(&other, 2.0).unwrap();
    let c = tensor(&[5.0, 6.0, 7.0], &[3], false);
    let t = jvp(
        &[y_other, c],
        &[x],
        &[tensor(&[1.0, 1.0], &[2], false)],
        false,
    )
    .unwrap();
    assert_values(&t[0], &[1], &[0.0], 0.0, "unreached y");
    assert_values(&t[1], &[3], &[0.0; 3], 0.0, "constant y");
}

#[test]
fn a_y_that_is_an_x_gets_its_tangent_and_an_x_given_twice_gets_both() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let u1 = tensor(&[0.5, -1.0], &[2], false);
    let u2 = tensor(&[2.0, 3.0], &[2], false);
    let y = scale(&x, 3.0).unwrap();
    let t = jvp(&[x.clone(), y], &[x.clone(), x], &[u1, u2], false).unwrap();
    assert_values(&t[0], &[2], &[2.5, 2.0], 0.0, "y = x");
    assert_values(&t[1], &[2], &[7.5, 6.0], 0.0, "y = 3x");
}

/// An x computed from another x: its tangent is its own plus what flows in,
/// so the JVP is the transpose of the gradient (which counts both paths).
#[test]
fn an_x_that_depends_on_another_x_keeps_the_duality_with_grad() {
    let a = tensor(&[0.3, -0.7], &[2], true);
    let b = sin(&a).unwrap();
    let y = sum(&mul(&b, &a).unwrap(), None, false).unwrap();
    let (ua, ub) = (
        tensor(&[1.0, 2.0], &[2], false),
        tensor(&[-0.5, 0.25], &[2], false),
    );
    let t = jvp(
        std::slice::from_ref(&y),
        &[a.clone(), b.clone()],
        &[ua.clone(), ub.clone()],
        false,
    )
    .unwrap();
    let g = grad(&[y], &[a, b], None, false).unwrap();
    let dual: f64 = [(&g[0], &ua), (&g[1], &ub)]
        .iter()
        .map(|(g, u)| {
            g.to_vec()
                .iter()
                .zip(u.to_vec())
                .map(|(g, u)| g * u)
                .sum::<f64>()
        })
        .sum();
    assert!(
        (t[0].to_vec()[0] - dual).abs() < 1e-15,
        "{} vs {dual}",
        t[0].to_vec()[0]
    );
}

/// A chain of 100,000 ops: the sweep holds no tangent longer than needed
/// and never recurses.
#[test]
fn a_deep_chain_is_swept_without_recursion() {
    let x = tensor(&[0.1], &[1], true);
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = add(&scale(&y, 0.99999).unwrap(), &x).unwrap();
    }
    let t = jvp(
        &[y.clone()],
        std::slice::from_ref(&x),
        &[tensor(&[1.0], &[1], false)],
        false,
    )
    .unwrap();
    let g = grad(&[y], &[x], None, false).unwrap();
    let (f, r) = (t[0].to_vec()[0], g[0].to_vec()[0]);
    assert!((f - r).abs() <= 1e-9 * r.abs(), "{f} vs {r}");
}

/// The full Jacobian of a small MLP, one column per stacked direction,
/// against rows of the reverse mode.
#[test]
fn stacked_identity_directions_give_the_jacobian_reverse_mode_gives() {
    let mut rng = Rng::new(7);
    let x = random_tensor(&[4], Domain::Uniform(-1.0, 1.0), &mut rng, true);
    let w = random_tensor(&[4, 3], Domain::Uniform(-1.0, 1.0), &mut rng, false);
    let y = tanh(&matmul(&x, &w).unwrap()).unwrap();
    let mut eye = vec![0.0; 16];
    (0..4).for_each(|k| eye[k * 5] = 1.0);
    let columns = jvp_stacked(
        std::slice::from_ref(&y),
        std::slice::from_ref(&x),
        &[tensor(&eye, &[4, 4], false)],
        false,
    )
    .unwrap();
    assert_eq!(columns[0].shape(), &[4, 3]);
    let c = columns[0].to_vec();
    for i in 0..3 {
        let mut seed = vec![0.0; 3];
        seed[i] = 1.0;
        let row = grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[tensor(&seed, &[3], false)]),
            false,
        )
        .unwrap();
        for (j, r) in row[0].to_vec().iter().enumerate() {
            assert!((c[j * 3 + i] - r).abs() < 1e-15, "J[{i}, {j}]");
        }
    }
}

#[test]
fn a_recorded_jvp_depends_on_the_tangent_too() {
    let x = tensor(&[0.4, 0.9], &[2], true);
    let u = tensor(&[1.0, -1.0], &[2], true);
    let y = sin(&x).unwrap();
    let t = jvp(
        &[y],
        std::slice::from_ref(&x),
        std::slice::from_ref(&u),
        true,
    )
    .unwrap();
    // d/du sum(cos(x) * u) = cos(x).
    let g = grad(&[sum(&t[0], None, false).unwrap()], &[u], None, false).unwrap();
    assert_values(&g[0], &[2], &[0.4f64.cos(), 0.9f64.cos()], 1e-15, "d/du");
    // Unrecorded, a tangent that requires grad is taken as a constant.
    let again = jvp(
        &[sin(&x).unwrap()],
        &[x],
        &[tensor(&[1.0, -1.0], &[2], true)],
        false,
    )
    .unwrap();
    assert!(!again[0].requires_grad());
}

#[test]
fn bad_arguments_are_exact_errors() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let c = tensor(&[1.0, 2.0], &[2], false);
    let y = sin(&x).unwrap();
    let u = tensor(&[1.0, 1.0], &[2], false);
    let ys = std::slice::from_ref(&y);

    let (k, m) = kind(jvp(
        ys,
        std::slice::from_ref(&c),
        std::slice::from_ref(&u),
        false,
    ));
    assert_eq!(k, ErrorKind::NotDifferentiable, "{m}");
    assert!(m.contains("xs[0]") && m.contains("[2]"), "{m}");

    let (k, m) = kind(jvp(ys, std::slice::from_ref(&x), &[], false));
    assert_eq!(k, ErrorKind::InvalidArgument, "{m}");
    assert!(m.contains("one tangent per x (1), got 0"), "{m}");

    let (k, m) = kind(jvp(
        ys,
        std::slice::from_ref(&x),
        &[tensor(&[1.0; 3], &[3], false)],
        false,
    ));
    assert_eq!(k, ErrorKind::Shape, "{m}");
    assert!(
        m.contains("tangents[0]") && m.contains("[2]") && m.contains("[3]"),
        "{m}"
    );

    let (k, m) = kind(jvp_stacked(ys, &[], &[], false));
    assert_eq!(k, ErrorKind::InvalidArgument, "{m}");

    let (k, m) = kind(jvp_stacked(
        ys,
        std::slice::from_ref(&x),
        std::slice::from_ref(&u),
        false,
    ));
    assert_eq!(k, ErrorKind::Shape, "{m}");
    assert!(m.contains("[k, ..[2]]"), "{m}");

    let x2 = tensor(&[3.0], &[1], true);
    let (k, m) = kind(jvp_stacked(
        ys,
        &[x.clone(), x2],
        &[
            tensor(&[1.0; 4], &[2, 2], false),
            tensor(&[1.0; 3], &[3, 1], false),
        ],
        false,
    ));
    assert_eq!(k, ErrorKind::Shape, "{m}");
    assert!(
        m.contains("tangents[1]: stacks [3] tangents, tangents[0] stacks [2]"),
        "{m}"
    );

    // No xs: every y gets zeros.
    let t = jvp(ys, &[], &[], false).unwrap();
    assert_values(&t[0], &[2], &[0.0, 0.0], 0.0, "no xs");
}

/// The fuzzer found `jvp` handing back a recorded tensor without
/// `create_graph`: a tangent that is a comparison's mask (recorded, yet
/// requiring no grad) passed straight through to a y that is its x, so
/// the "tangent" was the mask itself and `Function::new` refused it as an
/// input ("the result of equal"). Seeds are cut from their graph whenever
/// the sweep is not recorded, for `grad`'s cotangents too.
#[test]
fn seeds_that_are_recorded_masks_come_back_as_constants() {
    let x = jac_core::Tensor::from_vec(vec![0.5, -1.0], &[2], true).unwrap();
    let mask = jac_core::equal(&x, &x).unwrap();
    assert!(!mask.requires_grad() && mask.op_name() == Some("equal"));
    let t = jvp(
        std::slice::from_ref(&x),
        std::slice::from_ref(&x),
        std::slice::from_ref(&mask),
        false,
    )
    .unwrap();
    assert_eq!(t[0].op_name(), None, "a tangent must not be recorded");
    assert_eq!(t[0].to_vec(), vec![1.0, 1.0]);
    let g = grad(
        std::slice::from_ref(&x),
        std::slice::from_ref(&x),
        Some(std::slice::from_ref(&mask)),
        false,
    )
    .unwrap();
    assert_eq!(g[0].op_name(), None, "a gradient must not be recorded");
    assert_eq!(g[0].to_vec(), vec![1.0, 1.0]);
    // Both are leaves a function may take as inputs, once they require grad.
    for leaf in [&t[0], &g[0]] {
        let input = jac_core::Tensor::from_vec(leaf.to_vec(), leaf.shape(), true).unwrap();
        jac_core::Function::new(std::slice::from_ref(&input), &[scale(&input, 2.0).unwrap()])
            .unwrap();
    }
    // With create_graph the sweep is recorded: the mask may come back as it is.
    let t = jvp(
        std::slice::from_ref(&x),
        std::slice::from_ref(&x),
        std::slice::from_ref(&mask),
        true,
    )
    .unwrap();
    assert_eq!(t[0].to_vec(), vec![1.0, 1.0]);
}
