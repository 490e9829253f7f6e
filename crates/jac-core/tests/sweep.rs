//! The reverse sweep itself: stacked cotangents against separate sweeps, deep
//! graphs, repeated sweeps of one graph, and the edge cases of `xs` and `ys`.

mod common;

use common::{Domain, Rng, assert_close, assert_values, random_tensor, seed_from, tensor};
use jac_core::{
    ErrorKind, Result, Tensor, abs, add, add_scalar, broadcast_to, concat, cos, div, exp, grad,
    grad_stacked, log, matmul, max, mean, mul, neg, pow_scalar, relu, reshape, scale, sigmoid, sin,
    slice, softplus, sqrt, square, stack, sub, sum, tan, tanh, transpose, where_,
};
use ndarray::{ArrayD, Axis};

/// Stacked rows must equal separate sweeps up to reassociation of a few
/// sums (a stacked matmul runs k rows through one kernel call).
const EXACT: f64 = 1e-14;

const SYM: Domain = Domain::Uniform(-1.5, 1.5);
const POS: Domain = Domain::Uniform(0.8, 2.0);
const AWAY: Domain = Domain::AwayFromZero(0.2, 1.5);
const DISTINCT: Domain = Domain::Distinct;

type Program = dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Row `r` of a stacked tensor, as a constant.
fn row(t: &ArrayD<f64>, r: usize) -> Tensor {
    Tensor::new(t.index_axis(Axis(0), r).to_owned(), false)
}

/// Checks `grad_stacked` with k = 3 cotangents against three `grad` sweeps,
/// without and with `create_graph`; with it, also differentiates the stacked
/// result again (both with `grad` and with `grad_stacked`) and compares with
/// the rows differentiated one by one.
fn check_stacked(name: &str, inputs: &[(&[usize], Domain)], f: &Program) {
    const K: usize = 3;
    let mut rng = Rng::new(seed_from(name));
    let xs: Vec<Tensor> = inputs
        .iter()
        .map(|(shape, d)| random_tensor(shape, *d, &mut rng, true))
        .collect();
    let y = f(&xs).expect("the program builds");
    let mut lead_y = vec![K];
    lead_y.extend_from_slice(y.shape());
    let v = common::array(&lead_y, SYM, &mut rng);
    let v_t = Tensor::new(v.clone(), false);

    for create_graph in [false, true] {
        let what = format!("{name} (create_graph = {create_graph})");
        let stacked = grad_stacked(
            std::slice::from_ref(&y),
            &xs,
            std::slice::from_ref(&v_t),
            create_graph,
        )
        .expect("stacked sweep");
        let rows: Vec<Vec<Tensor>> = (0..K)
            .map(|r| {
                grad(
                    std::slice::from_ref(&y),
                    &xs,
                    Some(&[row(&v, r)]),
                    create_graph,
                )
            })
            .collect::<Result<_>>()
            .expect("row sweeps");
        for (j, (s, x)) in stacked.iter().zip(&xs).enumerate() {
            let mut expected_shape = vec![K];
            expected_shape.extend_from_slice(x.shape());
            assert_eq!(
                s.shape(),
                &expected_shape[..],
                "{what}: stacked d/dx{j} shape"
            );
            if !create_graph {
                assert!(!s.requires_grad(), "{what}: stacked d/dx{j} was recorded");
            }
            for (r, rows_r) in rows.iter().enumerate() {
                assert_close(
                    &s.value().index_axis(Axis(0), r).to_owned(),
                    rows_r[j].value(),
                    EXACT,
                    EXACT,
                    &format!("{what}: row {r} of d/dx{j}"),
                );
            }
        }
        if !create_graph {
            continue;
        }

        // Differentiate the stacked gradients again with cotangents u_j
        // ([K, ..x_j]): must equal sum_r grad(rows_r, xs, u_j[r]).
        let u: Vec<ArrayD<f64>> = stacked
            .iter()
            .map(|s| common::array(s.shape(), SYM, &mut rng))
            .collect();
        let u_t: Vec<Tensor> = u.iter().map(|a| Tensor::new(a.clone(), false)).collect();
        let again = grad(&stacked, &xs, Some(&u_t), false).expect("grad of stacked grads");
        let mut expected: Vec<ArrayD<f64>> = xs
            .iter()
            .map(|x| ArrayD::zeros(x.value().raw_dim()))
            .collect();
        for (r, rows_r) in rows.iter().enumerate() {
            let u_r: Vec<Tensor> = u.iter().map(|a| row(a, r)).collect();
            let h = grad(rows_r, &xs, Some(&u_r), false).expect("grad of a row");
            for (e, h) in expected.iter_mut().zip(&h) {
                *e += h.value();
            }
        }
        for (j, (a, e)) in again.iter().zip(&expected).enumerate() {
            assert_close(
                a.value(),
                e,
                1e-13,
                1e-13,
                &format!("{what}: again d/dx{j}"),
            );
        }

        // The same, stacked once more: 2 rows of u per stacked gradient.
        let w: Vec<ArrayD<f64>> = stacked
            .iter()
            .map(|s| {
                let mut shape = vec![2];
                shape.extend_from_slice(s.shape());
                common::array(&shape, SYM, &mut rng)
            })
            .collect();
        let w_t: Vec<Tensor> = w.iter().map(|a| Tensor::new(a.clone(), false)).collect();
        let twice = grad_stacked(&stacked, &xs, &w_t, false).expect("stacked of stacked");
        for q in 0..2 {
            let w_q: Vec<Tensor> = w.iter().map(|a| row(a, q)).collect();
            let one = grad(&stacked, &xs, Some(&w_q), false).expect("grad of stacked");
            for (j, (t, o)) in twice.iter().zip(&one).enumerate() {
                assert_close(
                    &t.value().index_axis(Axis(0), q).to_owned(),
                    o.value(),
                    EXACT,
                    EXACT,
                    &format!("{what}: second-level row {q} of d/dx{j}"),
                );
            }
        }
    }
}

/// One `#[test]` per case: `name: [(shape, domain), ..] => |xs| body;`.
macro_rules! stacked {
    ($($name:ident: [$($input:expr),+ $(,)?] => |$x:ident| $body:expr;)+) => {
        $(
            #[test]
            fn $name() {
                check_stacked(stringify!($name), &[$($input),+], &|$x: &[Tensor]| Ok($body));
            }
        )+
    };
}

fn const_mask(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n).map(|k| f64::from(u8::from(k % 3 != 1))).collect();
    tensor(&data, shape, false)
}

stacked! {
    stacked_binary_broadcast: [(&[3, 1], SYM), (&[1, 4], POS)] => |x| {
        // Every binary op, each with a broadcasting pattern.
        let s = add(&x[0], &x[1])?;
        let d = sub(&s, &x[0])?;
        let m = mul(&d, &x[0])?;
        div(&m, &x[1])?
    };
    stacked_binary_scalar_operands: [(&[], SYM), (&[2, 3], POS), (&[1], SYM)] => |x| {
        let a = mul(&x[0], &x[1])?;
        let b = div(&x[2], &x[1])?;
        sub(&add(&a, &b)?, &x[0])?
    };
    stacked_unary_smooth: [(&[2, 3], SYM)] => |x| {
        let a = add(&exp(&x[0])?, &sin(&x[0])?)?;
        let b = add(&cos(&x[0])?, &tanh(&x[0])?)?;
        let c = add(&sigmoid(&x[0])?, &softplus(&x[0])?)?;
        let d = add(&square(&x[0])?, &neg(&x[0])?)?;
        add(&add(&a, &b)?, &add(&c, &d)?)?
    };
    stacked_unary_positive: [(&[2, 3], POS)] => |x| {
        let a = add(&log(&x[0])?, &sqrt(&x[0])?)?;
        let b = tan(&scale(&x[0], 0.5)?)?;
        add(&a, &b)?
    };
    stacked_unary_kinks: [(&[2, 3], AWAY)] => |x| mul(&add(&relu(&x[0])?, &abs(&x[0])?)?, &x[0])?;
    stacked_scalar_attributes: [(&[2, 3], POS)] => |x| {
        let a = scale(&pow_scalar(&x[0], 1.5)?, -2.0)?;
        add(&add_scalar(&a, 0.5)?, &pow_scalar(&x[0], 3.0)?)?
    };
    stacked_unary_scalar_input: [(&[], SYM)] => |x| mul(&sin(&x[0])?, &exp(&x[0])?)?;
    stacked_matmul_vv: [(&[4], SYM), (&[4], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_mv: [(&[3, 4], SYM), (&[4], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_vm: [(&[4], SYM), (&[4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_mm: [(&[3, 4], SYM), (&[4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_batched: [(&[2, 3, 4], SYM), (&[2, 4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_batch_m: [(&[2, 3, 4], SYM), (&[4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_m_batch: [(&[3, 4], SYM), (&[2, 4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_batch_v: [(&[2, 3, 4], SYM), (&[4], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_v_batch: [(&[4], SYM), (&[2, 4, 3], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_broadcast_batch: [(&[2, 1, 3, 4], SYM), (&[5, 4, 2], SYM)] => |x| matmul(&x[0], &x[1])?;
    stacked_matmul_self: [(&[3, 3], SYM)] => |x| matmul(&x[0], &x[0])?;
    stacked_reductions: [(&[2, 3, 4], SYM)] => |x| {
        let a = sum(&square(&x[0])?, Some(&[0, -1]), false)?;
        let b = mean(&x[0], Some(&[2, 0]), false)?;
        let c = sum(&x[0], None, true)?;
        mul(&add(&a, &b)?, &reshape(&c, &[])?)?
    };
    stacked_max: [(&[3, 4], DISTINCT)] => |x| {
        let a = max(&x[0], 0, true)?;
        let b = max(&x[0], -1, false)?;
        mul(&square(&a)?, &reshape(&b, &[3, 1])?)?
    };
    stacked_reshape_transpose: [(&[2, 3, 4], SYM)] => |x| {
        let t = transpose(&x[0], &[2, 0, 1])?;
        let r = reshape(&t, &[4, -1])?;
        mul(&r, &sin(&r)?)?
    };
    stacked_slice: [(&[3, 7], SYM)] => |x| {
        let a = slice(&x[0], 1, Some(1), Some(6), 2)?;
        let b = slice(&x[0], -1, Some(-2), None, -2)?;
        let c = slice(&x[0], 0, Some(-100), Some(2), 1)?;
        mul(&square(&mul(&a, &b)?)?, &sum(&c, None, false)?)?
    };
    stacked_concat: [(&[2, 3], SYM), (&[1, 3], SYM), (&[3, 3], SYM)] => |x| square(&concat(x, 0)?)?;
    stacked_concat_last_axis: [(&[2, 2], SYM), (&[2, 1], SYM), (&[2, 3], SYM)] => |x| {
        mul(&concat(x, -1)?, &concat(&[x[2].clone(), x[0].clone(), x[1].clone()], 1)?)?
    };
    stacked_stack: [(&[2, 3], SYM), (&[2, 3], SYM), (&[2, 3], SYM)] => |x| {
        mul(&stack(x, 1)?, &stack(&[x[2].clone(), x[0].clone(), x[1].clone()], -2)?)?
    };
    stacked_where: [(&[2, 1], SYM), (&[3], SYM)] => |x| {
        square(&where_(&const_mask(&[2, 3]), &x[0], &x[1])?)?
    };
    stacked_where_mask_broadcast: [(&[2, 3], SYM), (&[], SYM)] => |x| {
        mul(&where_(&const_mask(&[3]), &x[0], &x[1])?, &x[0])?
    };
    stacked_broadcast_to: [(&[3, 1], SYM)] => |x| square(&broadcast_to(&x[0], &[2, 3, 4])?)?;
    stacked_broadcast_scalar: [(&[], SYM)] => |x| mul(&broadcast_to(&x[0], &[2, 3])?, &x[0])?;
    stacked_composite_mlp: [(&[4, 3], SYM), (&[3, 5], SYM), (&[5], SYM), (&[5, 2], SYM)] => |x| {
        let h = tanh(&add(&matmul(&x[0], &x[1])?, &x[2])?)?;
        matmul(&h, &x[3])?
    };
    stacked_composite_scalar_output: [(&[5], SYM)] => |x| {
        // A 0-D y: each stacked cotangent is one number.
        let m = max(&x[0], 0, true)?;
        add(&log(&sum(&exp(&sub(&x[0], &m)?)?, None, false)?)?, &reshape(&m, &[])?)?
    };
}

/// Several ys at once: each gets its own stacked cotangent, and the rows add
/// up over the ys like separate sweeps do.
#[test]
fn stacked_with_several_ys() {
    let mut rng = Rng::new(seed_from("stacked_with_several_ys"));
    let x = random_tensor(&[2, 3], SYM, &mut rng, true);
    let y1 = sin(&x).unwrap();
    let y2 = sum(&square(&x).unwrap(), Some(&[1]), false).unwrap();
    let v1 = common::array(&[4, 2, 3], SYM, &mut rng);
    let v2 = common::array(&[4, 2], SYM, &mut rng);
    let ys = [y1, y2];
    let stacked = grad_stacked(
        &ys,
        std::slice::from_ref(&x),
        &[
            Tensor::new(v1.clone(), false),
            Tensor::new(v2.clone(), false),
        ],
        false,
    )
    .unwrap();
    assert_eq!(stacked[0].shape(), &[4, 2, 3]);
    for r in 0..4 {
        let one = grad(
            &ys,
            std::slice::from_ref(&x),
            Some(&[row(&v1, r), row(&v2, r)]),
            false,
        )
        .unwrap();
        assert_close(
            &stacked[0].value().index_axis(Axis(0), r).to_owned(),
            one[0].value(),
            EXACT,
            EXACT,
            &format!("row {r}"),
        );
    }
}

/// A stack of one-hot rows is the full Jacobian: J of y = A x is A.
#[test]
fn stacked_identity_rows_give_the_jacobian() {
    let a = [1.0, -2.0, 0.5, 3.0, 4.0, -1.0];
    let a_t = tensor(&a, &[2, 3], false);
    let x = tensor(&[0.3, -0.1, 2.0], &[3], true);
    let y = matmul(&a_t, &x).unwrap();
    let eye = tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2], false);
    let j = grad_stacked(&[y], &[x], &[eye], false).unwrap();
    assert_values(&j[0], &[2, 3], &a, 0.0, "J = A");
}

/// `k = 1` and `k = 0` are legal stacks: one row, and no rows at all.
#[test]
fn stacked_degenerate_k() {
    let x = tensor(&[0.5, 1.0], &[2], true);
    let y = mul(&x, &x).unwrap();
    let one = grad_stacked(
        std::slice::from_ref(&y),
        std::slice::from_ref(&x),
        &[tensor(&[1.0, 1.0], &[1, 2], false)],
        false,
    )
    .unwrap();
    // d/dx x^2 = 2x.
    assert_values(&one[0], &[1, 2], &[1.0, 2.0], 0.0, "k = 1");
    let none = grad_stacked(&[y], &[x], &[Tensor::zeros(&[0, 2]).unwrap()], false).unwrap();
    assert_eq!(none[0].shape(), &[0, 2], "k = 0");
}

/// 100,000 ops in a chain (repeated scale/sin/scale/add_scalar) build, sweep
/// and drop with the default 2 MiB test-thread stack, in a debug build: the
/// sweep and the drop must be iterative. The gradient is compared with the
/// same chain differentiated forward in plain f64.
#[test]
fn chain_of_100k_ops_builds_sweeps_and_drops() {
    const OPS: usize = 100_000;
    // t <- 0.5 sin(2 t) + 1e-6 has a fixed point near t* = (1.5e-6)^(1/3)
    // ~ 0.0114 where the step's derivative cos(2 t*) ~ 1 - 2.6e-4, so the
    // derivative of the whole chain stays a modest number instead of
    // underflowing.
    let starts = [0.3, -0.7];
    let x = tensor(&starts, &[2], true);
    let mut t = x.clone();
    for k in 0..OPS {
        t = match k % 4 {
            0 => scale(&t, 2.0),
            1 => sin(&t),
            2 => scale(&t, 0.5),
            _ => add_scalar(&t, 1e-6),
        }
        .unwrap();
    }
    // Forward mode in plain f64: the same operations in the same order.
    let (mut value, mut slope) = (starts, [1.0f64; 2]);
    for k in 0..OPS {
        for (v, d) in value.iter_mut().zip(&mut slope) {
            match k % 4 {
                0 => (*v, *d) = (*v * 2.0, *d * 2.0),
                1 => (*v, *d) = (v.sin(), *d * v.cos()),
                2 => (*v, *d) = (*v * 0.5, *d * 0.5),
                _ => *v += 1e-6,
            }
        }
    }
    assert_eq!(t.to_vec(), value.to_vec(), "forward values");
    let g = grad(
        std::slice::from_ref(&t),
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    // Reverse mode multiplies the same 50,000 factors in the opposite order:
    // each product is within ~1e-11 relative (50,000 roundings) of the other.
    assert_close(
        g[0].value(),
        &common::arr(slope.to_vec(), &[2]),
        1e-10,
        0.0,
        "d chain / dx",
    );
    // The early steps, before t settles, shrink the slope to ~1e-7: far from
    // underflow, so the relative comparison above means something.
    assert!(
        slope.iter().all(|d| d.abs() > 1e-9),
        "the slope must not vanish: {slope:?}"
    );
    // Drop the head of the chain last: dropping `t` must free every node
    // iteratively, with `x` still alive, and then `x` alone.
    drop(g);
    drop(t);
    assert_eq!(x.to_vec(), starts.to_vec());
}

/// The same deep chain swept with `create_graph`, then dropped with its
/// recorded backward graph (twice as deep).
#[test]
fn chain_of_20k_ops_with_create_graph_drops() {
    let x = tensor(&[0.4], &[1], true);
    let mut t = x.clone();
    for _ in 0..10_000 {
        t = add_scalar(&sin(&t).unwrap(), 0.01).unwrap();
    }
    let g = grad(
        std::slice::from_ref(&t),
        std::slice::from_ref(&x),
        None,
        true,
    )
    .unwrap();
    assert!(g[0].requires_grad());
    let h = grad(&g, std::slice::from_ref(&x), None, false).unwrap();
    assert!(h[0].to_vec()[0].is_finite());
    drop(t);
    drop(g);
}

fn program(x: &Tensor, w: &Tensor) -> Tensor {
    let h = tanh(&matmul(x, w).unwrap()).unwrap();
    let s = sum(&mul(&h, &h).unwrap(), Some(&[1]), false).unwrap();
    add(&s, &max(&h, 1, false).unwrap()).unwrap()
}

/// Sweeping never changes the graph: many sweeps of one graph, mixed with
/// stacked and recorded sweeps, give bit-identical results.
#[test]
fn repeated_sweeps_are_identical() {
    let mut rng = Rng::new(7);
    let x = random_tensor(&[3, 4], SYM, &mut rng, true);
    let w = random_tensor(&[4, 2], SYM, &mut rng, true);
    let y = program(&x, &w);
    let xs = [x, w];
    let first = grad(std::slice::from_ref(&y), &xs, None, false).unwrap();
    for k in 0..50 {
        let again = grad(std::slice::from_ref(&y), &xs, None, k % 2 == 1).unwrap();
        for (a, b) in again.iter().zip(&first) {
            assert_eq!(a.to_vec(), b.to_vec(), "sweep {k}");
        }
        if k % 10 == 0 {
            let ones = Tensor::ones(&[2, 3]).unwrap();
            grad_stacked(std::slice::from_ref(&y), &xs, &[ones], true).unwrap();
        }
    }
    assert_eq!(y.op_name(), Some("add"));
}

/// One graph swept from several threads at once gives every thread the
/// same answer: sweeps only read the graph.
#[test]
fn concurrent_sweeps_of_one_graph_agree() {
    let mut rng = Rng::new(8);
    let x = random_tensor(&[3, 4], SYM, &mut rng, true);
    let w = random_tensor(&[4, 2], SYM, &mut rng, true);
    let y = program(&x, &w);
    let xs = [x, w];
    let expected = grad(std::slice::from_ref(&y), &xs, None, false).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (y, xs, expected) = (&y, &xs, &expected);
            s.spawn(move || {
                for _ in 0..20 {
                    let g = grad(std::slice::from_ref(y), xs, None, t % 2 == 0).unwrap();
                    for (a, b) in g.iter().zip(expected) {
                        assert_eq!(a.to_vec(), b.to_vec(), "thread {t}");
                    }
                }
            });
        }
    });
}

/// An x that y does not depend on gets zeros of its shape; stacked, zeros
/// of `[k, ..shape]`; with `create_graph` still constants.
#[test]
fn unused_x_gets_zeros() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let unused = tensor(&[1.0; 6], &[2, 3], true);
    let scalar = Tensor::new(ArrayD::from_elem(ndarray::IxDyn(&[]), 3.0), true);
    let y = square(&x).unwrap();
    let xs = [x, unused, scalar];
    for create_graph in [false, true] {
        let g = grad(std::slice::from_ref(&y), &xs, None, create_graph).unwrap();
        // d/dx x^2 = 2x.
        assert_values(&g[0], &[2], &[2.0, 4.0], 0.0, "used x");
        assert_values(&g[1], &[2, 3], &[0.0; 6], 0.0, "unused x");
        assert_values(&g[2], &[], &[0.0], 0.0, "unused 0-D x");
        assert!(!g[1].requires_grad() && !g[2].requires_grad());
    }
    let v = tensor(&[1.0, 0.0, 0.0, 1.0, 2.0, 2.0], &[3, 2], false);
    let s = grad_stacked(&[y], &xs, &[v], false).unwrap();
    assert_values(
        &s[0],
        &[3, 2],
        &[2.0, 0.0, 0.0, 4.0, 4.0, 8.0],
        0.0,
        "stacked used x",
    );
    assert_values(&s[1], &[3, 2, 3], &[0.0; 18], 0.0, "stacked unused x");
    assert_values(&s[2], &[3], &[0.0; 3], 0.0, "stacked unused 0-D x");
}

/// The same x given twice gets its whole gradient in both places.
#[test]
fn same_x_twice_gets_its_gradient_twice() {
    let x = tensor(&[0.5, -1.0], &[2], true);
    let y = mul(&x, &exp(&x).unwrap()).unwrap();
    let g = grad(
        std::slice::from_ref(&y),
        &[x.clone(), x.clone()],
        None,
        false,
    )
    .unwrap();
    // d/dx x e^x = (1 + x) e^x.
    let expected: Vec<f64> = [0.5f64, -1.0].iter().map(|v| (1.0 + v) * v.exp()).collect();
    assert_values(&g[0], &[2], &expected, 1e-15, "first");
    assert_eq!(g[0].to_vec(), g[1].to_vec(), "second equals first");
    let v = tensor(&[1.0, 0.0, 0.0, 1.0], &[2, 2], false);
    let s = grad_stacked(&[y], &[x.clone(), x], &[v], false).unwrap();
    assert_eq!(s[0].to_vec(), s[1].to_vec(), "stacked");
}

/// An intermediate node can be an x: its gradient is the cotangent arriving
/// there, and the leaf below it still gets the full chain.
#[test]
fn intermediate_x_gets_its_own_gradient() {
    let x = tensor(&[0.2, 0.9], &[2], true);
    let h = scale(&x, 3.0).unwrap();
    let y = sin(&h).unwrap();
    let g = grad(
        std::slice::from_ref(&y),
        &[h.clone(), x.clone()],
        None,
        false,
    )
    .unwrap();
    // dy/dh = cos(h) = cos(3x); dy/dx = 3 cos(3x).
    let dh: Vec<f64> = [0.2f64, 0.9].iter().map(|v| (3.0 * v).cos()).collect();
    assert_values(&g[0], &[2], &dh, 1e-15, "d/dh");
    let dx: Vec<f64> = dh.iter().map(|d| 3.0 * d).collect();
    assert_values(&g[1], &[2], &dx, 1e-15, "d/dx");
    // y itself as an x: its gradient is the seed.
    let g = grad(
        std::slice::from_ref(&y),
        std::slice::from_ref(&y),
        None,
        false,
    )
    .unwrap();
    assert_values(&g[0], &[2], &[1.0, 1.0], 0.0, "dy/dy");
}

/// A y that is a constant (or does not depend on x) gives zeros.
#[test]
fn constant_ys_give_zeros() {
    let x = tensor(&[1.0, 2.0, 3.0], &[3], true);
    let c = tensor(&[4.0, 5.0], &[2], false);
    let from_constants = exp(&c).unwrap();
    assert!(!from_constants.requires_grad());
    for y in [c, from_constants] {
        let g = grad(&[y], std::slice::from_ref(&x), None, true).unwrap();
        assert_values(&g[0], &[3], &[0.0; 3], 0.0, "constant y");
        assert!(!g[0].requires_grad());
    }
    let g = grad(&[], std::slice::from_ref(&x), None, false).unwrap();
    assert_values(&g[0], &[3], &[0.0; 3], 0.0, "no ys at all");
    // Stacked: zeros of [k, ..x.shape], k taken from the cotangent.
    let c = Tensor::scalar(2.0);
    let g = grad_stacked(&[c], &[x], &[Tensor::ones(&[4]).unwrap()], true).unwrap();
    assert_values(&g[0], &[4, 3], &[0.0; 12], 0.0, "stacked constant y");
    assert!(!g[0].requires_grad());
}

/// Differentiating with respect to a constant is an error, whatever the ys.
#[test]
fn constant_x_is_not_differentiable() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let c = tensor(&[1.0, 2.0], &[2], false);
    let derived = sin(&c).unwrap();
    let y = mul(&x, &c).unwrap();
    for (k, bad) in [c, derived, x.detach()].into_iter().enumerate() {
        let err = grad(
            std::slice::from_ref(&y),
            &[x.clone(), bad.clone()],
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotDifferentiable, "case {k}: {err}");
        assert!(err.message().contains("xs[1]"), "case {k}: {err}");
        let v = Tensor::ones(&[1, 2]).unwrap();
        let err = grad_stacked(std::slice::from_ref(&y), &[bad], &[v], false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotDifferentiable, "case {k}: {err}");
    }
}

/// Gradients of several ys add up, each weighted by its own cotangent.
#[test]
fn several_ys_accumulate() {
    let x = tensor(&[0.5, 2.0], &[2], true);
    let y1 = square(&x).unwrap();
    let y2 = sum(&log(&x).unwrap(), None, false).unwrap();
    let v1 = tensor(&[1.0, -1.0], &[2], false);
    let v2 = tensor(&[3.0], &[], false);
    let g = grad(&[y1, y2], std::slice::from_ref(&x), Some(&[v1, v2]), false).unwrap();
    // v1 * 2x + v2 / x = [1 + 6, -4 + 1.5].
    assert_values(&g[0], &[2], &[7.0, -2.5], 1e-15, "sum over ys");
    // The same y twice counts twice.
    let y = sin(&x).unwrap();
    let g = grad(&[y.clone(), y], std::slice::from_ref(&x), None, false).unwrap();
    let expected: Vec<f64> = [0.5f64, 2.0].iter().map(|v| 2.0 * v.cos()).collect();
    assert_values(&g[0], &[2], &expected, 1e-15, "y twice");
}

/// Without `create_graph` no result requires grad, even when a cotangent
/// does or a result is a cotangent passed straight through; with it, results
/// that depend on x do.
#[test]
fn create_graph_decides_whether_results_are_recorded() {
    let x = tensor(&[0.5, 2.0], &[2], true);
    let y = add_scalar(&x, 1.0).unwrap();
    let z = sin(&x).unwrap();
    let v = tensor(&[1.0, 2.0], &[2], true);
    for ys in [&y, &z, &x] {
        let g = grad(
            std::slice::from_ref(ys),
            std::slice::from_ref(&x),
            Some(std::slice::from_ref(&v)),
            false,
        )
        .unwrap();
        assert!(
            !g[0].requires_grad(),
            "{:?} with a recorded cotangent",
            ys.op_name()
        );
        let g = grad(
            std::slice::from_ref(ys),
            std::slice::from_ref(&x),
            None,
            false,
        )
        .unwrap();
        assert!(!g[0].requires_grad(), "{:?}", ys.op_name());
        let stacked = grad_stacked(
            std::slice::from_ref(ys),
            std::slice::from_ref(&x),
            &[reshape(&v, &[1, 2]).unwrap()],
            false,
        )
        .unwrap();
        assert!(!stacked[0].requires_grad(), "{:?} stacked", ys.op_name());
    }
    let g = grad(
        std::slice::from_ref(&z),
        std::slice::from_ref(&x),
        None,
        true,
    )
    .unwrap();
    assert!(g[0].requires_grad(), "cos(x) depends on x");
    // With create_graph the cotangent is part of the recorded result.
    let g = grad(
        &[y],
        std::slice::from_ref(&x),
        Some(std::slice::from_ref(&v)),
        true,
    )
    .unwrap();
    assert!(g[0].requires_grad(), "the gradient is v itself");
}

/// Mixed programs where only some inputs reach the ys: the sweep skips
/// branches that reach no x, and inputs that do not need grad stay out.
#[test]
fn branches_that_reach_no_x_are_skipped() {
    let x = tensor(&[1.0, 2.0], &[2], true);
    let other = tensor(&[3.0, 4.0], &[2], true);
    let c = tensor(&[0.5, 0.25], &[2], false);
    // y = x c + other^2 + cos(c): asking only for x.
    let y = add(
        &add(&mul(&x, &c).unwrap(), &square(&other).unwrap()).unwrap(),
        &cos(&c).unwrap(),
    )
    .unwrap();
    let g = grad(
        std::slice::from_ref(&y),
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert_values(&g[0], &[2], &[0.5, 0.25], 0.0, "dy/dx = c");
    let g = grad(&[y], &[other], None, false).unwrap();
    assert_values(&g[0], &[2], &[6.0, 8.0], 0.0, "dy/dother = 2 other");
}

/// A gradient accumulated from many uses of one node (fan-out) matches the
/// closed form, in both modes.
#[test]
fn fan_out_accumulates() {
    let x = tensor(&[0.3], &[], true);
    let mut terms = Vec::new();
    for k in 1..=20 {
        terms.push(scale(&x, f64::from(k)).unwrap());
    }
    let y = concat(
        &terms
            .iter()
            .map(|t| reshape(t, &[1]).unwrap())
            .collect::<Vec<_>>(),
        0,
    )
    .unwrap();
    for create_graph in [false, true] {
        let g = grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            None,
            create_graph,
        )
        .unwrap();
        // sum_k k = 210.
        assert_values(&g[0], &[], &[210.0], 0.0, "fan-out");
    }
    let y = terms
        .iter()
        .skip(1)
        .fold(terms[0].clone(), |acc, t| add(&acc, t).unwrap());
    let g = grad(&[y], &[x], None, false).unwrap();
    assert_values(&g[0], &[], &[210.0], 0.0, "sum chain");
}

/// `div`, `sub` and `neg` of leaves in one graph, checked by hand, plus
/// `where_` routing: a quick end-to-end sanity check with exact values.
#[test]
fn hand_derived_mixed_program() {
    let a = tensor(&[2.0, 4.0], &[2], true);
    let b = tensor(&[4.0], &[1], true);
    // y = sum(where([1, 0], a / b, -(a - b))) = a0/b - (a1 - b).
    let q = div(&a, &b).unwrap();
    let d = neg(&sub(&a, &b).unwrap()).unwrap();
    let y = sum(
        &where_(&tensor(&[1.0, 0.0], &[2], false), &q, &d).unwrap(),
        None,
        false,
    )
    .unwrap();
    let g = grad(&[y], &[a, b], None, false).unwrap();
    // dy/da = [1/b, -1] = [0.25, -1]; dy/db = -a0/b^2 + 1 = -0.125 + 1.
    assert_values(&g[0], &[2], &[0.25, -1.0], 0.0, "dy/da");
    assert_values(&g[1], &[1], &[0.875], 0.0, "dy/db");
}

/// Tensors with a zero-length axis go through every op and every sweep:
/// values and gradients are empty, with the right shapes.
#[test]
fn zero_size_tensors_flow_through_every_op() {
    let e = Tensor::new(ArrayD::zeros(ndarray::IxDyn(&[2, 0])), true);
    let w = Tensor::new(ArrayD::zeros(ndarray::IxDyn(&[0, 3])), true);
    let outputs: Vec<Tensor> = vec![
        add(&e, &Tensor::scalar(1.0)).unwrap(),
        mul(&e, &e).unwrap(),
        div(&e, &add_scalar(&e, 2.0).unwrap()).unwrap(),
        exp(&e).unwrap(),
        log(&add_scalar(&e, 2.0).unwrap()).unwrap(),
        pow_scalar(&e, 1.5).unwrap(),
        relu(&e).unwrap(),
        // [2, 0] x [0, 3]: a [2, 3] product of empty sums, all zeros.
        matmul(&e, &w).unwrap(),
        sum(&e, Some(&[1]), false).unwrap(),
        sum(&e, None, false).unwrap(),
        max(&e, 0, true).unwrap(),
        reshape(&e, &[5, -1]).unwrap(),
        transpose(&e, &[1, 0]).unwrap(),
        slice(&e, 0, Some(1), None, 1).unwrap(),
        slice(&add_scalar(&e, 1.0).unwrap(), 1, None, None, -1).unwrap(),
        concat(&[e.clone(), e.clone()], 1).unwrap(),
        concat(&[e.clone(), e.clone()], 0).unwrap(),
        stack(&[e.clone(), e.clone()], 2).unwrap(),
        where_(&Tensor::zeros(&[2, 0]).unwrap(), &e, &Tensor::scalar(3.0)).unwrap(),
        broadcast_to(&e, &[4, 2, 0]).unwrap(),
    ];
    let xs = [e.clone(), w.clone()];
    for (k, y) in outputs.into_iter().enumerate() {
        let g = grad(std::slice::from_ref(&y), &xs, None, true).unwrap();
        assert_eq!(g[0].shape(), &[2, 0], "output {k} ({:?})", y.op_name());
        assert_eq!(g[1].shape(), &[0, 3], "output {k} ({:?})", y.op_name());
        let mut lead = vec![2];
        lead.extend_from_slice(y.shape());
        let s = grad_stacked(
            std::slice::from_ref(&y),
            &xs,
            &[Tensor::ones(&lead).unwrap()],
            false,
        )
        .unwrap();
        assert_eq!(
            s[0].shape(),
            &[2, 2, 0],
            "stacked output {k} ({:?})",
            y.op_name()
        );
    }
    // The sum of nothing is 0, with gradient zeros of the (empty) input.
    let total = sum(&e, None, false).unwrap();
    assert_eq!(total.to_vec(), vec![0.0]);
    assert_eq!(matmul(&e, &w).unwrap().to_vec(), vec![0.0; 6]);
}

/// At kinks and ties the sweep takes the documented subgradient: relu and
/// abs have derivative 0 at 0 (as Paddle and PyTorch), and max sends the
/// cotangent to the first maximal element only (numpy's argmax).
#[test]
fn kinks_and_ties_take_the_documented_subgradient() {
    let x = tensor(&[-1.0, 0.0, 2.0], &[3], true);
    let g = grad(&[relu(&x).unwrap()], std::slice::from_ref(&x), None, false).unwrap();
    assert_values(&g[0], &[3], &[0.0, 0.0, 1.0], 0.0, "relu'");
    let g = grad(&[abs(&x).unwrap()], std::slice::from_ref(&x), None, false).unwrap();
    assert_values(&g[0], &[3], &[-1.0, 0.0, 1.0], 0.0, "abs'");

    let t = tensor(&[1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 0.0], &[2, 4], true);
    let m = max(&t, 1, false).unwrap();
    assert_eq!(m.to_vec(), vec![3.0, 5.0]);
    let v = tensor(&[10.0, 20.0], &[2], false);
    let g = grad(&[m], std::slice::from_ref(&t), Some(&[v]), false).unwrap();
    assert_values(
        &g[0],
        &[2, 4],
        &[0.0, 10.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0],
        0.0,
        "first maximum",
    );
    // A NaN wins the maximum, and gets the gradient.
    let n = tensor(&[1.0, f64::NAN, 3.0], &[3], true);
    let m = max(&n, 0, false).unwrap();
    assert!(m.to_vec()[0].is_nan());
    let g = grad(&[m], std::slice::from_ref(&n), None, false).unwrap();
    assert_values(&g[0], &[3], &[0.0, 1.0, 0.0], 0.0, "NaN maximum");
}

/// `where_` selects the cotangent instead of multiplying by the mask, so an
/// infinite cotangent reaches only the branch that was taken (inf * 0 would
/// put a NaN in the other); a mask that requires grad is used as a constant.
#[test]
fn where_routes_cotangents_without_multiplying() {
    let a = tensor(&[1.0, 2.0], &[2], true);
    let b = tensor(&[3.0, 4.0], &[2], true);
    let mask = tensor(&[1.0, 0.0], &[2], true);
    let y = where_(&mask, &a, &b).unwrap();
    assert_eq!(y.to_vec(), vec![1.0, 4.0]);
    let v = tensor(&[f64::INFINITY, 1.0], &[2], false);
    let g = grad(&[y], &[a, b, mask], Some(&[v]), false).unwrap();
    assert_eq!(g[0].to_vec(), vec![f64::INFINITY, 0.0], "d/da");
    assert_eq!(g[1].to_vec(), vec![0.0, 1.0], "d/db");
    assert_eq!(g[2].to_vec(), vec![0.0, 0.0], "the mask is a constant");
}
