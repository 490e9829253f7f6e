//! Inputs that once broke the engine: every op accepts operands in any
//! memory layout another op can produce, and tensors with huge dims but no
//! elements cost nothing (no allocation or loop proportional to a dim).

mod common;

use common::{Domain, Rng, array, assert_close};
use jac_core::index::Index;
use jac_core::{
    ErrorKind, Tensor, exp, grad, hessian, jacobian, max, mean, mul, slice, stack, sum, transpose,
};
use ndarray::ArrayD;

/// A fresh leaf with the same values, in standard layout: the reference an
/// op on a strided operand must agree with.
fn relaid(t: &Tensor) -> Tensor {
    Tensor::from_vec(t.to_vec(), t.shape(), true).unwrap()
}

/// Every shape of 1 to 3 dims with sizes 1 to 3.
fn small_shapes() -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for ndim in 1..=3 {
        let mut shape = vec![1; ndim];
        loop {
            out.push(shape.clone());
            let mut k = 0;
            while k < ndim && shape[k] == 3 {
                shape[k] = 1;
                k += 1;
            }
            if k == ndim {
                break;
            }
            shape[k] += 1;
        }
    }
    out
}

/// The middle op of a stack -> middle -> reduction chain.
#[derive(Debug, Clone, Copy)]
enum Middle {
    Identity,
    Exp,
    MaxKeep(isize),
}

fn middle(t: &Tensor, m: Middle) -> jac_core::Result<Tensor> {
    match m {
        Middle::Identity => Ok(t.clone()),
        Middle::Exp => exp(t),
        Middle::MaxKeep(ax) => max(t, ax, true),
    }
}

/// `stack` along a negative axis yields a non-standard layout; every
/// reduction of it (and of ops on it) must give the values and gradients of
/// the same reduction on a standard-layout copy. Once about 20 of these
/// returned `Internal` ("IncompatibleLayout").
#[test]
fn reductions_accept_stacked_operands_in_any_layout() {
    let mut rng = Rng::new(7);
    let mut checked = 0;
    for shape in small_shapes() {
        let x = Tensor::new(array(&shape, Domain::Distinct, &mut rng), true);
        let nd = shape.len() as isize + 1;
        for stack_axis in -nd..0 {
            for copies in 1..=2 {
                let parts = vec![x.clone(); copies];
                let stacked = stack(&parts, stack_axis).unwrap();
                let reference = relaid(&stacked);
                let mids = [Middle::Identity, Middle::Exp]
                    .into_iter()
                    .chain((-nd..0).map(Middle::MaxKeep));
                for mid in mids {
                    let a = middle(&stacked, mid).unwrap();
                    let b = middle(&reference, mid).unwrap();
                    for axis in -nd..nd {
                        for keepdim in [false, true] {
                            for mean_not_sum in [false, true] {
                                let reduce = |t: &Tensor| {
                                    if mean_not_sum {
                                        mean(t, Some(&[axis]), keepdim)
                                    } else {
                                        sum(t, Some(&[axis]), keepdim)
                                    }
                                };
                                let what = format!(
                                    "x {shape:?}, stack x{copies} axis {stack_axis}, {mid:?}, \
                                     {} axis {axis} keepdim {keepdim}",
                                    if mean_not_sum { "mean" } else { "sum" }
                                );
                                let ya = reduce(&a).unwrap_or_else(|e| panic!("{what}: {e}"));
                                let yb = reduce(&b).unwrap();
                                assert_eq!(ya.shape(), yb.shape(), "{what}");
                                assert_close(ya.value(), yb.value(), 1e-14, 1e-14, &what);
                                let ga = grad(
                                    &[sum(&ya, None, false).unwrap()],
                                    std::slice::from_ref(&x),
                                    None,
                                    false,
                                )
                                .unwrap_or_else(|e| panic!("{what}: grad: {e}"));
                                let gb = grad(
                                    &[sum(&yb, None, false).unwrap()],
                                    std::slice::from_ref(&reference),
                                    None,
                                    false,
                                )
                                .unwrap();
                                // The stacked copies' gradients add up in x.
                                let gb_x = sum(&gb[0], Some(&[stack_axis]), false).unwrap();
                                assert_close(ga[0].value(), gb_x.value(), 1e-12, 1e-12, &what);
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 4000, "only {checked} combinations checked");
}

/// Reductions of multiple axes, a transpose and a reversed slice feeding a
/// reduction: strided views in, right values out.
#[test]
fn reductions_of_transposed_and_reversed_operands() {
    let mut rng = Rng::new(11);
    let x = Tensor::new(array(&[2, 3, 4], Domain::Distinct, &mut rng), true);
    let t = transpose(&x, &[2, 0, 1]).unwrap();
    let r = slice(&t, 1, None, None, -1).unwrap();
    for operand in [&t, &r] {
        let reference = relaid(operand);
        for axes in [&[0isize, 2][..], &[-1, 0], &[1], &[0, 1, 2]] {
            for keepdim in [false, true] {
                let a = sum(operand, Some(axes), keepdim).unwrap();
                let b = sum(&reference, Some(axes), keepdim).unwrap();
                assert_eq!(a.shape(), b.shape());
                assert_close(
                    a.value(),
                    b.value(),
                    1e-14,
                    1e-14,
                    "sum of a strided operand",
                );
                let a = mean(operand, Some(axes), keepdim).unwrap();
                let b = mean(&reference, Some(axes), keepdim).unwrap();
                assert_close(
                    a.value(),
                    b.value(),
                    1e-14,
                    1e-14,
                    "mean of a strided operand",
                );
            }
        }
    }
}

/// An empty leaf of `shape` that requires grad.
fn empty(shape: &[usize]) -> Tensor {
    Tensor::from_vec(Vec::new(), shape, true).unwrap()
}

/// Summing an empty tensor over two axes once built a 128 GiB
/// intermediate, and over a 2^40-long axis looped 2^40 times. An empty
/// operand now reduces without touching its dims.
#[test]
fn reductions_of_empty_tensors_with_huge_dims_are_immediate() {
    let x = empty(&[1 << 33, 0, 2]);
    for axes in [[0isize, 1], [1, 0], [-2, -3]] {
        let s = sum(&x, Some(&axes), false).unwrap();
        assert_eq!(s.shape(), &[2]);
        assert_eq!(s.to_vec(), vec![0.0, 0.0]);
        let m = mean(&x, Some(&axes), true).unwrap();
        assert_eq!(m.shape(), &[1, 1, 2]);
        assert!(
            m.to_vec().iter().all(|v| v.is_nan()),
            "mean of nothing is NaN"
        );
    }
    let y = empty(&[1 << 40, 0, 1]);
    let s = sum(&y, Some(&[0]), false).unwrap();
    assert_eq!(s.shape(), &[0, 1]);
    let s = sum(&y, Some(&[2]), true).unwrap();
    assert_eq!(s.shape(), &[1 << 40, 0, 1]);
    // Reducing the empty axis away asks for 2^40 values: refused, not aborted.
    let err = sum(&y, Some(&[1]), false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutOfMemory, "{err}");
    // The gradient of an empty sum is an empty tensor, at no cost either.
    let g = grad(
        &[sum(&y, None, false).unwrap()],
        std::slice::from_ref(&y),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), &[1 << 40, 0, 1]);
    let g = grad(
        &[sum(&sum(&x, Some(&[0, 1]), false).unwrap(), None, false).unwrap()],
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), &[1 << 33, 0, 2]);
}

/// A strided slice along a 10^15-long axis of an empty tensor once listed
/// every position.
#[test]
fn strided_slices_of_empty_tensors_with_huge_dims_are_immediate() {
    let n = 1_000_000_000_000_000usize;
    let x = empty(&[n, 0]);
    let s = slice(&x, 0, None, None, 2).unwrap();
    assert_eq!(s.shape(), &[n / 2, 0]);
    let s = slice(&x, 0, Some(-3), None, -7).unwrap();
    assert_eq!(s.shape(), &[(n - 3) / 7 + 1, 0]);
    let g = grad(
        &[sum(&s, None, false).unwrap()],
        std::slice::from_ref(&x),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), &[n, 0]);
}

/// Creating a batched Jacobian or Hessian of `[0, 10^15]` tensors once
/// allocated a cache slot per row; creating computes (and allocates)
/// nothing, and reading an empty block evaluates no row.
#[test]
fn jacobians_of_empty_batches_with_huge_rows_allocate_nothing() {
    let n = 1_000_000_000_000_000usize;
    let x = empty(&[0, n]);
    let y = mul(&x, &x).unwrap();
    let j = jacobian(&y, &x, Some(0)).unwrap();
    assert_eq!(j.block_shape(0, 0).unwrap(), vec![0, n, n]);
    let read = j.read(0, 0, &[Index::Ellipsis, Index::Int(-1)]).unwrap();
    assert_eq!(read.shape(), &[0, n]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 0);

    let per_sample = sum(&y, Some(&[1]), false).unwrap();
    let h = hessian(&per_sample, &x, Some(0)).unwrap();
    assert_eq!(h.block_shape(0, 0).unwrap(), vec![0, n, n]);
    let read = h
        .read(0, 0, &[Index::Ellipsis, Index::Int(3), Index::Int(5)])
        .unwrap();
    assert_eq!(read, ArrayD::<f64>::zeros(ndarray::IxDyn(&[0])));
    assert_eq!(h.rows_evaluated(0).unwrap(), 0);
}

type UnaryCase = (&'static str, fn(&Tensor) -> jac_core::Result<Tensor>);

/// Every op, given an operand in the layouts other ops produce (a stack
/// along the last axis, a transpose, a reversed slice), computes what it
/// computes on a standard-layout copy, and so does its gradient.
#[test]
fn every_op_accepts_strided_operands() {
    use jac_core::*;
    let cases: Vec<UnaryCase> = vec![
        ("neg", neg),
        ("exp", exp),
        ("log", |t| log(&add_scalar(&square(t)?, 1.0)?)),
        ("sin", sin),
        ("cos", cos),
        ("tan", |t| tan(&scale(t, 0.3)?)),
        ("tanh", tanh),
        ("sigmoid", sigmoid),
        ("relu", relu),
        ("softplus", softplus),
        ("sqrt", |t| sqrt(&add_scalar(&square(t)?, 1.0)?)),
        ("square", square),
        ("abs", abs),
        ("scale", |t| scale(t, -2.5)),
        ("add_scalar", |t| add_scalar(t, 0.5)),
        ("pow_scalar", |t| {
            pow_scalar(&add_scalar(&square(t)?, 1.0)?, 1.5)
        }),
        ("add self", |t| add(t, t)),
        ("mul row", |t| mul(t, &slice(t, 0, Some(0), Some(1), 1)?)),
        ("sub col", |t| sub(t, &slice(t, 1, Some(-1), None, 1)?)),
        ("div", |t| div(t, &add_scalar(&square(t)?, 1.0)?)),
        ("matmul tt", |t| matmul(t, &transpose(t, &[1, 0])?)),
        ("matmul vec", |t| matmul(t, &sum(t, Some(&[0]), false)?)),
        ("vec matmul", |t| matmul(&sum(t, Some(&[1]), false)?, t)),
        ("reshape", |t| reshape(t, &[-1])),
        ("reshape 2", |t| reshape(t, &[2, -1])),
        ("transpose", |t| transpose(t, &[1, 0])),
        ("slice step 2", |t| slice(t, 0, None, None, 2)),
        ("slice reversed", |t| slice(t, 1, None, None, -1)),
        ("concat", |t| concat(&[t.clone(), t.clone()], -1)),
        ("concat 0", |t| concat(&[t.clone(), t.clone()], 0)),
        ("stack", |t| stack(&[t.clone(), t.clone()], 1)),
        ("where", |t| {
            let mask = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0], &[4, 1], false)?;
            where_(&mask, t, &neg(t)?)
        }),
        ("max 0", |t| max(t, 0, false)),
        ("max 1 keep", |t| max(t, -1, true)),
        ("sum all", |t| sum(t, None, false)),
        ("mean 1", |t| mean(t, Some(&[1]), true)),
        ("broadcast_to", |t| broadcast_to(t, &[2, 4, 4])),
    ];
    let mut rng = Rng::new(5);
    let base = Tensor::new(array(&[4, 2], Domain::Distinct, &mut rng), true);
    let other = Tensor::new(array(&[4, 2], Domain::Distinct, &mut rng), true);
    // Operands of shape [4, 4] in strided layouts: a column-major leaf,
    // and transposes, joins and reversed slices of `base`.
    let operands: Vec<(&str, Tensor)> = vec![
        ("column-major leaf", {
            // The ops' own results are row-major: a leaf is where a
            // strided value comes from (a Rust caller's array in any order).
            let values = array(&[4, 4], Domain::Distinct, &mut rng).reversed_axes();
            let s = Tensor::new(values, true);
            assert!(!s.value().is_standard_layout(), "a strided operand");
            s
        }),
        (
            "concat",
            concat(&[base.clone(), other.clone()], -1).unwrap(),
        ),
        (
            "transposed then joined",
            transpose(&concat(&[base.clone(), other.clone()], 1).unwrap(), &[1, 0])
                .and_then(|t| concat(&[t.clone(), t], 0))
                .and_then(|t| slice(&t, 0, Some(0), Some(4), 1))
                .unwrap(),
        ),
        (
            "reversed",
            slice(
                &concat(&[base.clone(), other.clone()], 1).unwrap(),
                1,
                None,
                None,
                -1,
            )
            .unwrap(),
        ),
    ];
    for (layout, operand) in &operands {
        let reference = relaid(operand);
        for (name, op) in &cases {
            let what = format!("{name} of a {layout} operand");
            let a = op(operand).unwrap_or_else(|e| panic!("{what}: {e}"));
            let b = op(&reference).unwrap();
            assert_close(a.value(), b.value(), 1e-13, 1e-13, &what);
            let total_a = sum(&a, None, false).unwrap();
            let total_b = sum(&b, None, false).unwrap();
            let ga = grad(&[total_a], std::slice::from_ref(operand), None, true)
                .unwrap_or_else(|e| panic!("{what}: grad: {e}"));
            let gb = grad(&[total_b], std::slice::from_ref(&reference), None, true).unwrap();
            assert_close(ga[0].value(), gb[0].value(), 1e-12, 1e-12, &what);
            // Second order through the recorded gradient.
            let hs_a = grad(
                &[sum(&ga[0], None, false).unwrap()],
                std::slice::from_ref(operand),
                None,
                false,
            );
            let hs_b = grad(
                &[sum(&gb[0], None, false).unwrap()],
                std::slice::from_ref(&reference),
                None,
                false,
            );
            match (hs_a, hs_b) {
                (Ok(x), Ok(y)) => assert_close(x[0].value(), y[0].value(), 1e-11, 1e-11, &what),
                (x, y) => assert_eq!(x.is_ok(), y.is_ok(), "{what}: second order"),
            }
        }
    }
}

/// Found by the fuzzer: a matrix product of empty matrices whose batch axes
/// broadcast to 4 * 10^15 items was refused as out of memory (the batch
/// shape was size-checked as if allocated) and would then have looped over
/// every batch item. Empty products and products over an empty inner
/// dimension are zeros, computed without walking the batch.
#[test]
fn products_of_empty_matrices_with_huge_batches_are_immediate() {
    let n = 1_000_000_000_000_000usize;
    let a = empty(&[2, 1, 2, n, 0, 0]);
    let b = empty(&[1, 0, 0]);
    let y = jac_core::matmul(&a, &b).unwrap();
    assert_eq!(y.shape(), &[2, 1, 2, n, 0, 0]);
    let g = grad(
        &[sum(&y, None, false).unwrap()],
        &[a.clone(), b.clone()],
        None,
        true,
    )
    .unwrap();
    assert_eq!(g[0].shape(), a.shape());
    assert_eq!(g[1].shape(), b.shape());

    // An empty inner dimension: every entry is a sum of nothing.
    let c = empty(&[3, 0]);
    let d = empty(&[0, 4]);
    let z = jac_core::matmul(&c, &d).unwrap();
    assert_eq!(z.shape(), &[3, 4]);
    assert_eq!(z.to_vec(), vec![0.0; 12]);
    let g = grad(
        &[sum(&z, None, false).unwrap()],
        std::slice::from_ref(&d),
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].shape(), &[0, 4]);
}

/// A product with an empty batched operand and a small unbatched one: its
/// gradients are zeros of the small operand's shape, without forming a
/// per-sample intermediate of the (huge) batch (found by the fuzzer:
/// `[2^40, 0, 1] @ [1]` asked for 2^40 values in the gradient of the
/// vector).
#[test]
fn gradients_of_products_with_empty_huge_batches_are_immediate() {
    let n = 1usize << 40;
    let small = |shape: &[usize]| {
        let numel = shape.iter().product();
        Tensor::from_vec(vec![0.5; numel], shape, true).unwrap()
    };
    let cases: Vec<(Tensor, Tensor)> = vec![
        (empty(&[n, 0, 1]), small(&[1])),
        (small(&[1]), empty(&[n, 1, 0])),
        (empty(&[n, 0, 2]), small(&[2, 3])),
        (small(&[3, 2]), empty(&[n, 2, 0])),
        (empty(&[n, 1, 0, 2]), small(&[2, 1])),
    ];
    for (k, (a, b)) in cases.iter().enumerate() {
        let y = jac_core::matmul(a, b).unwrap();
        assert_eq!(y.numel(), 0, "case {k}: {:?}", y.shape());
        for create_graph in [false, true] {
            let g = grad(
                &[sum(&y, None, false).unwrap()],
                &[a.clone(), b.clone()],
                None,
                create_graph,
            )
            .unwrap_or_else(|e| panic!("case {k}, create_graph {create_graph}: {e}"));
            assert_eq!(g[0].shape(), a.shape(), "case {k}");
            assert_eq!(g[1].shape(), b.shape(), "case {k}");
            assert!(g[1].to_vec().iter().all(|&v| v == 0.0), "case {k}");
            assert!(g[0].to_vec().iter().all(|&v| v == 0.0), "case {k}");
        }
    }
}

/// The broadcast of `a` and `b` alone may be huge when the mask's empty
/// axis makes the result empty: only the result is size-checked.
#[test]
fn where_checks_the_size_of_its_result_not_of_its_operands_broadcast() {
    // a and b broadcast to 2^40 values (8 TiB); the result has none.
    let big = 1usize << 20;
    let a = Tensor::from_vec(vec![0.5; big], &[big, 1], true).unwrap();
    let b = Tensor::from_vec(vec![1.5; big], &[1, big], true).unwrap();
    let mask = empty(&[0, 1, 1]);
    let w = jac_core::where_(&mask, &a, &b).unwrap();
    assert_eq!(w.shape(), &[0, big, big]);
    let g = grad(
        &[sum(&w, None, false).unwrap()],
        &[a.clone(), b.clone()],
        None,
        false,
    )
    .unwrap();
    assert_eq!(g[0].to_vec(), vec![0.0; big]);
}

/// `read` (which writes sparse rows into zeros entry by entry) and
/// `read_into` (which densifies rows into a caller's buffer) agree for
/// every kind of index, on a Jacobian whose rows stay sparse (elementwise)
/// and on a dense one, batched and not.
#[test]
fn read_and_read_into_agree_on_every_index() {
    use jac_core::{add, matmul, sin};
    let mut rng = Rng::new(3);
    let x = Tensor::new(array(&[3, 5], Domain::Distinct, &mut rng), true);
    let w = Tensor::new(array(&[5, 5], Domain::Distinct, &mut rng), false);
    let v = jac_core::reshape(&x, &[15]).unwrap();
    let programs: Vec<(Tensor, Tensor, Option<i64>)> = vec![
        (sin(&v).unwrap(), v.clone(), None),
        (
            add(&sin(&x).unwrap(), &matmul(&x, &w).unwrap()).unwrap(),
            x.clone(),
            Some(0),
        ),
        (mul(&x, &x).unwrap(), x.clone(), Some(0)),
    ];
    let slices = [None, Some(-7), Some(-1), Some(0), Some(2), Some(40)];
    let mut reads = 0;
    for (y, xx, batch) in &programs {
        let probe = jacobian(y, xx, *batch).unwrap();
        let ndim = probe.block_shape(0, 0).unwrap().len();
        for trial in 0..300 {
            let mut index = Vec::new();
            for _ in 0..(trial % (ndim + 1)) {
                index.push(match rng.below(4) {
                    0 => Index::All,
                    1 => Index::Int(rng.below(3) as i64 - 1),
                    _ => Index::Slice {
                        start: slices[rng.below(slices.len())],
                        stop: slices[rng.below(slices.len())],
                        step: [1i64, 2, -1, -3][rng.below(4)],
                    },
                });
            }
            if trial % 7 == 0 {
                index.insert(0, Index::Ellipsis);
            }
            let a = jacobian(y, xx, *batch).unwrap();
            let b = jacobian(y, xx, *batch).unwrap();
            let Ok(ra) = a.read(0, 0, &index) else {
                assert!(b.read_shape(0, 0, &index).is_err(), "{index:?}");
                continue;
            };
            let mut rb = vec![f64::NAN; ra.len()];
            b.read_into(0, 0, &index, &mut rb).unwrap();
            assert_eq!(ra.shape(), b.read_shape(0, 0, &index).unwrap().as_slice());
            assert_eq!(ra.iter().copied().collect::<Vec<_>>(), rb, "{index:?}");
            assert_eq!(a.rows_evaluated(0).unwrap(), b.rows_evaluated(0).unwrap());
            reads += 1;
        }
    }
    assert!(reads > 600, "only {reads} reads compared");
}

/// The fuzzer's 10 M run found a recorded program whose replay hung: the
/// max of an empty `[2, 1, 1, 2^40, 0]` tensor, copied into its planned
/// buffer lane by lane (2^41 empty lanes). Replays of empty results copy
/// nothing now; eval, vjp, jvp and a Jacobian read are immediate.
#[test]
fn replays_of_empty_results_with_huge_dims_are_immediate() {
    let x = empty(&[2, 1, 1, 1 << 40, 0]);
    let m = max(&jac_core::add(&x, &x).unwrap(), 2, true).unwrap();
    let c = Tensor::from_vec(vec![1.5], &[], true).unwrap();
    let f =
        jac_core::Function::new(std::slice::from_ref(&x), &[x.clone(), x.clone(), c, m]).unwrap();
    let mut outs = [vec![], vec![], vec![0.0], vec![]];
    let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    f.eval_into(&[&[]], &mut bufs).unwrap();
    f.jvp_into(&[&[]], &[&[]], &mut bufs).unwrap();
    assert_eq!(outs[2], vec![0.0], "a constant's tangent");
    f.eval_into(
        &[&[]],
        &mut outs.iter_mut().map(Vec::as_mut_slice).collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(outs[2], vec![1.5]);
    let mut g: Vec<f64> = vec![];
    f.vjp_into(&[&[]], None, &mut [g.as_mut_slice()]).unwrap();
    let j = f.jacobian(&[&[]], None);
    // Ranks above 1 are not a Jacobian's (Paddle's rule); the error is
    // immediate too.
    assert_eq!(j.unwrap_err().kind(), ErrorKind::Shape);
}

/// The fuzzer found the gradient of `log_softmax` of an empty
/// `[2^40, 0]` tensor refused for want of 8 TiB: its rule summed the
/// empty cotangent over the lane axis into a `[2^40, 1]` intermediate. An
/// op whose result is empty contributes nothing to any operand, so no
/// sweep (eager or replayed, reverse or forward, first or second order)
/// runs its rule.
#[test]
fn sweeps_skip_the_rules_of_empty_results_with_huge_dims() {
    let n = 1usize << 40;
    type Build = fn(&Tensor) -> jac_core::Result<Tensor>;
    let lane_ops: [(&str, Build); 5] = [
        ("log_softmax", |x| jac_core::log_softmax(x, -1)),
        ("softmax", |x| jac_core::softmax(x, -1)),
        ("cumsum", |x| jac_core::cumsum(x, -1)),
        ("max keepdim", |x| {
            jac_core::softmax(&max(&jac_core::exp(x)?, 0, true)?, 0)
        }),
        ("logsumexp keepdim", |x| {
            jac_core::logsumexp(x, Some(&[0]), true)
        }),
    ];
    for (name, build) in lane_ops {
        let x = empty(&[n, 0]);
        let c = Tensor::from_vec(vec![0.25], &[], true).unwrap();
        let y = match build(&x) {
            Ok(y) => y,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(y.numel(), 0, "{name}: {:?}", y.shape());
        // A 0-D output that depends on the empty result and on c.
        let s = jac_core::add(&sum(&y, None, false).unwrap(), &mul(&c, &c).unwrap()).unwrap();
        for create_graph in [false, true] {
            let g = grad(
                std::slice::from_ref(&y),
                &[x.clone(), c.clone()],
                None,
                create_graph,
            )
            .unwrap_or_else(|e| panic!("{name}: grad, create_graph {create_graph}: {e}"));
            assert_eq!(g[0].shape(), &[n, 0], "{name}");
            assert_eq!(g[1].to_vec(), vec![0.0], "{name}");
            let g = grad(
                std::slice::from_ref(&s),
                &[x.clone(), c.clone()],
                None,
                create_graph,
            )
            .unwrap_or_else(|e| panic!("{name}: grad of s, create_graph {create_graph}: {e}"));
            assert_eq!(g[1].to_vec(), vec![0.5], "{name}");
        }
        let t = jac_core::jvp(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            &[empty(&[n, 0])],
            false,
        )
        .unwrap_or_else(|e| panic!("{name}: jvp: {e}"));
        assert_eq!(t[0].shape(), y.shape(), "{name}");
        let f = jac_core::Function::new(&[x.clone(), c.clone()], &[y.clone(), s.clone()])
            .unwrap_or_else(|e| panic!("{name}: function: {e}"));
        let mut g = [vec![], vec![0.0]];
        let mut bufs: Vec<&mut [f64]> = g.iter_mut().map(Vec::as_mut_slice).collect();
        f.vjp_into(&[&[], &[0.25]], Some(&[&[], &[1.0]]), &mut bufs)
            .unwrap_or_else(|e| panic!("{name}: vjp: {e}"));
        assert_eq!(g[1], vec![0.5], "{name}");
        let mut outs = [vec![], vec![0.0]];
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.jvp_into(&[&[], &[0.25]], &[&[], &[2.0]], &mut bufs)
            .unwrap_or_else(|e| panic!("{name}: function jvp: {e}"));
        assert_eq!(outs[1], vec![1.0], "{name}");
        let mut hv = [vec![], vec![0.0]];
        let mut bufs: Vec<&mut [f64]> = hv.iter_mut().map(Vec::as_mut_slice).collect();
        f.hvp_into(&[&[], &[0.25]], 1, &[&[], &[3.0]], &mut bufs)
            .unwrap_or_else(|e| panic!("{name}: hvp: {e}"));
        assert_eq!(hv[1], vec![6.0], "{name}");
        let h = f
            .sparse_hessian(1)
            .unwrap_or_else(|e| panic!("{name}: sparse hessian: {e}"));
        let mut values = vec![0.0; h.nnz()];
        h.eval_into(&[&[], &[0.25]], &mut values)
            .unwrap_or_else(|e| panic!("{name}: sparse hessian values: {e}"));
        assert_eq!(values, vec![2.0], "{name}");
    }
}
