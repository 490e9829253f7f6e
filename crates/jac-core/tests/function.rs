//! `Function`: a program recorded at one point and replayed at others gives
//! what building the same program eagerly at those points gives (values,
//! VJPs, lazy Jacobians and Hessians, to the last bit: the same rules run in
//! the same order), records only what it needs, replays value-dependent
//! derivatives exactly, and refuses bad arguments with the right kind.

mod common;

use common::{Domain, Rng, assert_close, central_diff, seed_from, values};
use jac_core::index::Index;
use jac_core::{
    ErrorKind, Function, Tensor, abs, add, add_scalar, broadcast_to, concat, cos, div, exp, grad,
    hessian, jacobian, log, matmul, max, mean, mul, neg, pow_scalar, relu, reshape, scale, sigmoid,
    sin, slice, softplus, sqrt, square, stack, sub, sum, tan, tanh, transpose, where_,
};
use ndarray::{ArrayD, IxDyn};

const SHAPES: [&[usize]; 2] = [&[6], &[3]];

/// A program through every op family: matmul, broadcasting binary ops,
/// every unary op, reductions, max, reshape, transpose, a reversed slice,
/// concat, stack, where with a constant mask, broadcast_to. Three outputs,
/// one of them a constant (it depends on no input).
fn program(x: &Tensor, v: &Tensor) -> Vec<Tensor> {
    let r = || -> jac_core::Result<Vec<Tensor>> {
        let x = &reshape(x, &[2, 3])?;
        let w = Tensor::from_vec(vec![0.3, -0.2, 0.5, 0.1, 0.4, -0.6], &[3, 2], false)?;
        let h = tanh(&add(&matmul(x, &w)?, &Tensor::scalar(0.1))?)?; // [2, 2]
        let hv = mul(&broadcast_to(&reshape(v, &[1, 3])?, &[2, 3])?, x)?; // [2, 3]
        let a = sigmoid(&sub(&hv, &neg(&sin(x)?)?)?)?;
        let b = div(&softplus(&cos(&hv)?)?, &add_scalar(&square(x)?, 1.0)?)?;
        let c = sqrt(&add_scalar(
            &pow_scalar(&abs(&tan(&scale(&a, 0.5)?)?)?, 3.0)?,
            1.0,
        )?)?;
        let d = log(&add_scalar(
            &exp(&relu(&sub(&b, &Tensor::scalar(0.4))?)?)?,
            1.0,
        )?)?;
        let rev = slice(&concat(&[c.clone(), d.clone()], 1)?, 1, None, None, -2)?; // [2, 3]
        let st = stack(&[rev, transpose(&a, &[1, 0])?.into_rows()?], 0)?; // [2, 2, 3]
        let mask = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3], false)?;
        let sel = where_(&mask, &st, &mul(&st, &st)?)?;
        let m = max(&sel, -1, true)?; // [2, 2, 1]
        let y0 = add(
            &mean(&sel, Some(&[0]), false)?,
            &sum(&m, Some(&[0, 2]), false)?.reshaped()?,
        )?;
        let y0 = reshape(&y0, &[-1])?; // [6]
        let y1 = sum(&mul(&h, &h)?, None, false)?;
        let y2 = exp(&Tensor::from_vec(vec![0.5, 1.5], &[2], false)?)?;
        Ok(vec![y0, y1, y2])
    };
    r().expect("the program builds")
}

/// Small helpers so the program reads like a user's.
trait Shapes: Sized {
    /// `[3, 2]` -> `[2, 3]` by a copy through reshape and transpose.
    fn into_rows(self) -> jac_core::Result<Tensor>;
    /// `[2]` -> `[2, 1]`.
    fn reshaped(self) -> jac_core::Result<Tensor>;
}

impl Shapes for Tensor {
    fn into_rows(self) -> jac_core::Result<Tensor> {
        transpose(&reshape(&self, &[3, 2])?, &[1, 0])
    }
    fn reshaped(self) -> jac_core::Result<Tensor> {
        reshape(&self, &[2, 1])
    }
}

fn point(rng: &mut Rng) -> Vec<Vec<f64>> {
    SHAPES
        .iter()
        .map(|s| values(s, Domain::AwayFromZero(0.2, 0.9), rng))
        .collect()
}

fn leaves(at: &[Vec<f64>]) -> Vec<Tensor> {
    at.iter()
        .zip(SHAPES)
        .map(|(v, s)| Tensor::from_vec(v.clone(), s, true).unwrap())
        .collect()
}

fn refs(at: &[Vec<f64>]) -> Vec<&[f64]> {
    at.iter().map(Vec::as_slice).collect()
}

fn recorded(rng: &mut Rng) -> Function {
    let xs = leaves(&point(rng));
    let ys = program(&xs[0], &xs[1]);
    Function::new(&xs, &ys).expect("records")
}

/// The recorded program's VJP at `at` with cotangents `cots`, one buffer
/// per input.
fn vjp_at(f: &Function, at: &[Vec<f64>], cots: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut gs: Vec<Vec<f64>> = SHAPES
        .iter()
        .map(|s| vec![0.0; s.iter().product()])
        .collect();
    let mut bufs: Vec<&mut [f64]> = gs.iter_mut().map(Vec::as_mut_slice).collect();
    f.vjp_into(&refs(at), Some(&refs(cots)), &mut bufs).unwrap();
    gs
}

fn bits(a: &[f64]) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn eval_at_new_points_equals_the_program_built_there() {
    let mut rng = Rng::new(seed_from("eval"));
    let f = recorded(&mut rng);
    assert_eq!((f.n_inputs(), f.n_outputs()), (2, 3));
    assert_eq!(f.input_shape(0), Some(&[6][..]));
    assert_eq!(f.output_shape(0), Some(&[6][..]));
    assert_eq!((f.input_shape(2), f.output_shape(3)), (None, None));
    for _ in 0..5 {
        let at = point(&mut rng);
        let xs = leaves(&at);
        let want = program(&xs[0], &xs[1]);
        let mut outs: Vec<Vec<f64>> = want.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.eval_into(&refs(&at), &mut bufs).unwrap();
        for (k, (got, y)) in outs.iter().zip(&want).enumerate() {
            assert_eq!(f.output_shape(k).unwrap(), y.shape(), "output {k}");
            assert_eq!(bits(got), bits(&y.to_vec()), "output {k}");
        }
    }
}

#[test]
fn vjp_at_new_points_equals_grad_of_the_program_built_there() {
    let mut rng = Rng::new(seed_from("vjp"));
    let f = recorded(&mut rng);
    for trial in 0..4 {
        let at = point(&mut rng);
        let xs = leaves(&at);
        let ys = program(&xs[0], &xs[1]);
        let cots: Option<Vec<Vec<f64>>> = (trial % 2 == 1).then(|| {
            ys.iter()
                .map(|y| values(y.shape(), Domain::Uniform(-1.0, 1.0), &mut rng))
                .collect()
        });
        let seeds: Option<Vec<Tensor>> = cots.as_ref().map(|cs| {
            cs.iter()
                .zip(&ys)
                .map(|(c, y)| Tensor::from_vec(c.clone(), y.shape(), false).unwrap())
                .collect()
        });
        let want = grad(&ys, &xs, seeds.as_deref(), false).unwrap();
        let mut gs: Vec<Vec<f64>> = SHAPES
            .iter()
            .map(|s| vec![f64::NAN; s.iter().product()])
            .collect();
        let mut bufs: Vec<&mut [f64]> = gs.iter_mut().map(Vec::as_mut_slice).collect();
        let cot_refs: Option<Vec<&[f64]>> = cots.as_ref().map(|cs| refs(cs));
        f.vjp_into(&refs(&at), cot_refs.as_deref(), &mut bufs)
            .unwrap();
        for (j, (got, w)) in gs.iter().zip(&want).enumerate() {
            assert_eq!(bits(got), bits(&w.to_vec()), "trial {trial} input {j}");
        }
    }
}

/// The replayed gradient against central differences of the replayed
/// values: checks the replay, not only its agreement with the graph.
#[test]
fn vjp_matches_central_differences_of_eval() {
    let mut rng = Rng::new(seed_from("vjp fd"));
    let f = recorded(&mut rng);
    let at = point(&mut rng);
    let cots: Vec<Vec<f64>> = (0..3)
        .map(|k| {
            values(
                f.output_shape(k).unwrap(),
                Domain::Uniform(-1.0, 1.0),
                &mut rng,
            )
        })
        .collect();
    let mut objective = |p: &[ArrayD<f64>]| -> f64 {
        let inputs: Vec<Vec<f64>> = p.iter().map(|a| a.iter().copied().collect()).collect();
        let mut outs: Vec<Vec<f64>> = cots.iter().map(|c| vec![0.0; c.len()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.eval_into(&refs(&inputs), &mut bufs).unwrap();
        outs.iter()
            .zip(&cots)
            .map(|(o, c)| o.iter().zip(c).map(|(a, b)| a * b).sum::<f64>())
            .sum()
    };
    let arrays: Vec<ArrayD<f64>> = at
        .iter()
        .zip(SHAPES)
        .map(|(v, s)| ArrayD::from_shape_vec(IxDyn(s), v.clone()).unwrap())
        .collect();
    let fd = central_diff(&mut objective, &arrays, 1e-6);
    let gs = vjp_at(&f, &at, &cots);
    for (j, (g, d)) in gs.iter().zip(&fd).enumerate() {
        let g = ArrayD::from_shape_vec(IxDyn(SHAPES[j]), g.clone()).unwrap();
        assert_close(&g, d, 1e-6, 1e-7, &format!("input {j}"));
    }
}

#[test]
fn lazy_jacobians_at_new_points_equal_the_graphs_and_evaluate_only_what_is_read() {
    let mut rng = Rng::new(seed_from("jacobian"));
    let f = recorded(&mut rng);
    let at = point(&mut rng);
    let xs = leaves(&at);
    let ys = program(&xs[0], &xs[1]);
    // Output 2 is a constant: its blocks are zero.
    let want = jacobian(&ys, &xs, None).unwrap();
    let j = f.jacobian(&refs(&at), None).unwrap();
    assert_eq!(j.blocks(), (3, 2));
    assert_eq!(j.rows_evaluated(0).unwrap(), 0, "creating computes nothing");
    let row = j.read(0, 1, &[Index::Int(4)]).unwrap();
    assert_eq!(j.rows_evaluated(0).unwrap(), 1, "one row read");
    assert_eq!(
        bits(row.as_slice().unwrap()),
        bits(
            want.read(0, 1, &[Index::Int(4)])
                .unwrap()
                .as_slice()
                .unwrap()
        )
    );
    for i in 0..3 {
        for k in 0..2 {
            let got = j.read(i, k, &[]).unwrap();
            let w = want.read(i, k, &[]).unwrap();
            assert_eq!(got.shape(), w.shape(), "block ({i}, {k})");
            assert_eq!(
                bits(got.as_slice().unwrap()),
                bits(w.as_slice().unwrap()),
                "block ({i}, {k})"
            );
        }
    }
    assert!(
        j.read(2, 0, &[]).unwrap().iter().all(|&v| v == 0.0),
        "a constant output"
    );
    assert_eq!(j.rows_evaluated(0).unwrap(), 6);
}

#[test]
fn hessians_at_new_points_equal_the_graphs() {
    let mut rng = Rng::new(seed_from("hessian"));
    let f = recorded(&mut rng);
    let at = point(&mut rng);
    let xs = leaves(&at);
    let ys = program(&xs[0], &xs[1]);
    let want = hessian(&ys[1], &xs, None).unwrap();
    let h = f.hessian(&refs(&at), 1, None).unwrap();
    assert_eq!(h.blocks(), (2, 2));
    for i in 0..2 {
        for k in 0..2 {
            let got = h.read(i, k, &[]).unwrap();
            let w = want.read(i, k, &[]).unwrap();
            assert_eq!(
                bits(got.as_slice().unwrap()),
                bits(w.as_slice().unwrap()),
                "block ({i}, {k})"
            );
        }
    }
    // Output 0 has 6 elements: not a Hessian's y.
    let err = f.hessian(&refs(&at), 0, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape, "{err}");
    let err = f.hessian(&refs(&at), 3, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Index, "{err}");
    assert!(err.message().contains("output"), "{err}");
}

#[test]
fn batched_jacobians_and_hessians_replay_per_sample() {
    // y[b] = sum_j x[b, j]^3 + x[b, 0] x[b, 1], per sample.
    let x = Tensor::from_vec(vec![0.0; 8], &[4, 2], true).unwrap();
    let cube = mul(&mul(&x, &x).unwrap(), &x).unwrap();
    let x0 = slice(&x, 1, Some(0), Some(1), 1).unwrap();
    let x1 = slice(&x, 1, Some(1), Some(2), 1).unwrap();
    let y = add(
        &sum(&cube, Some(&[1]), false).unwrap(),
        &reshape(&mul(&x0, &x1).unwrap(), &[-1]).unwrap(),
    )
    .unwrap();
    let f = Function::new(&[x], &[y]).unwrap();
    let at = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, 3.0];
    let j = f.jacobian(&[&at], Some(0)).unwrap();
    assert_eq!(j.block_shape(0, 0).unwrap(), vec![4, 2]);
    let got = j.read(0, 0, &[]).unwrap();
    for b in 0..4 {
        let (p, q) = (at[2 * b], at[2 * b + 1]);
        assert_eq!(got[[b, 0]], 3.0 * p * p + q);
        assert_eq!(got[[b, 1]], 3.0 * q * q + p);
    }
    let h = f.hessian(&[&at], 0, Some(0)).unwrap();
    let got = h.read(0, 0, &[]).unwrap();
    for b in 0..4 {
        let (p, q) = (at[2 * b], at[2 * b + 1]);
        let want = [6.0 * p, 1.0, 1.0, 6.0 * q];
        let row: Vec<f64> = (0..4).map(|k| got[[b, k / 2, k % 2]]).collect();
        assert_eq!(row, want, "sample {b}");
    }
}

/// relu, abs and max take their branch from the replay's values, not the
/// recording's.
#[test]
fn value_dependent_derivatives_follow_the_new_point() {
    let x = Tensor::from_vec(vec![-1.0, -2.0, 3.0], &[3], true).unwrap();
    let y = add(
        &add(&relu(&x).unwrap(), &scale(&abs(&x).unwrap(), 10.0).unwrap()).unwrap(),
        &scale(&max(&x, 0, false).unwrap(), 100.0).unwrap(),
    )
    .unwrap();
    // d/dx sum(y) = relu' + 10 sign(x) + 300 at the argmax (the 0-D max is
    // broadcast into three elements).
    let f = Function::new(&[x], &[sum(&y, None, false).unwrap()]).unwrap();
    let mut g = [0.0; 3];
    f.vjp_into(&[&[-1.0, -2.0, 3.0]], None, &mut [&mut g])
        .unwrap();
    assert_eq!(g, [-10.0, -10.0, 311.0]);
    f.vjp_into(&[&[4.0, -2.0, 3.0]], None, &mut [&mut g])
        .unwrap();
    assert_eq!(g, [311.0, -10.0, 11.0]);
    f.vjp_into(&[&[-4.0, 2.0, -3.0]], None, &mut [&mut g])
        .unwrap();
    assert_eq!(g, [-10.0, 311.0, -10.0]);
}

#[test]
fn only_what_the_outputs_need_is_recorded() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2], true).unwrap();
    // A parameter that requires grad but is not an input: its whole chain
    // becomes one constant, with its value at recording time.
    let p = Tensor::from_vec(vec![0.5, 0.25], &[2], true).unwrap();
    let c = exp(&sin(&p).unwrap()).unwrap();
    let unused = tanh(&x).unwrap();
    let y = mul(&x, &c).unwrap();
    let f = Function::new(std::slice::from_ref(&x), &[y.clone(), x.clone()]).unwrap();
    assert_eq!(f.n_ops(), 1, "only the mul: {f:?}");
    assert_eq!(f.n_constants(), 1, "exp(sin(p)) as one constant: {f:?}");
    let want_c = c.to_vec();
    drop((p, c, unused, y, x));
    let mut ys = [[0.0; 2], [0.0; 2]];
    let [a, b] = &mut ys;
    f.eval_into(&[&[3.0, -1.0]], &mut [a, b]).unwrap();
    assert_eq!(ys[0], [3.0 * want_c[0], -want_c[1]]);
    assert_eq!(ys[1], [3.0, -1.0], "an output that is an input");
    let j = f.jacobian(&[&[3.0, -1.0]], None).unwrap();
    let d = j.read(0, 0, &[]).unwrap();
    assert_eq!(d.as_slice().unwrap(), &[want_c[0], 0.0, 0.0, want_c[1]]);
    let id = j.read(1, 0, &[]).unwrap();
    assert_eq!(id.as_slice().unwrap(), &[1.0, 0.0, 0.0, 1.0]);
    // The VJP through both outputs: c * dy + 1 * dx.
    let mut g = [0.0; 2];
    f.vjp_into(
        &[&[3.0, -1.0]],
        Some(&[&[2.0, -1.0], &[0.5, 0.25]]),
        &mut [&mut g],
    )
    .unwrap();
    assert_eq!(g, [2.0 * want_c[0] + 0.5, -want_c[1] + 0.25]);
}

#[test]
fn a_long_chain_records_and_replays_without_deep_recursion() {
    let x = Tensor::from_vec(vec![0.5], &[], true).unwrap();
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = add_scalar(&scale(&y, 0.5).unwrap(), 0.25).unwrap();
    }
    let f = Function::new(&[x], &[y]).unwrap();
    assert_eq!(f.n_ops(), 200_000);
    let mut out = [0.0];
    f.eval_into(&[&[0.5]], &mut [&mut out]).unwrap();
    assert!((out[0] - 0.5).abs() < 1e-12, "the fixed point: {}", out[0]);
    let mut g = [0.0];
    f.vjp_into(&[&[0.5]], None, &mut [&mut g]).unwrap();
    assert_eq!(g[0], 0.0, "0.5^100000 underflows");
}

#[test]
fn many_threads_evaluate_one_function_at_once() {
    let mut rng = Rng::new(seed_from("threads"));
    let f = recorded(&mut rng);
    let points: Vec<Vec<Vec<f64>>> = (0..8).map(|_| point(&mut rng)).collect();
    std::thread::scope(|s| {
        for at in &points {
            let f = &f;
            s.spawn(move || {
                for _ in 0..20 {
                    let xs = leaves(at);
                    let ys = program(&xs[0], &xs[1]);
                    let mut out = vec![0.0; 1];
                    f.eval_into(&refs(at), &mut [&mut [0.0; 6], &mut out, &mut [0.0; 2]])
                        .unwrap();
                    assert_eq!(out[0].to_bits(), ys[1].to_vec()[0].to_bits());
                    let mut g0 = [0.0; 6];
                    let mut g1 = [0.0; 3];
                    f.vjp_into(&refs(at), None, &mut [&mut g0, &mut g1])
                        .unwrap();
                    let want = grad(&ys, &xs, None, false).unwrap();
                    assert_eq!(bits(&g0), bits(&want[0].to_vec()));
                    assert_eq!(bits(&g1), bits(&want[1].to_vec()));
                    let h = f.hessian(&refs(at), 1, None).unwrap();
                    let want = hessian(&ys[1], &xs, None).unwrap();
                    assert_eq!(
                        bits(h.read(1, 0, &[]).unwrap().as_slice().unwrap()),
                        bits(want.read(1, 0, &[]).unwrap().as_slice().unwrap())
                    );
                }
            });
        }
    });
}

#[test]
fn bad_recordings_are_refused_with_the_right_kind() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2], true).unwrap();
    let y = sin(&x).unwrap();
    let c = Tensor::from_vec(vec![1.0], &[1], false).unwrap();
    let cases: [(&[Tensor], &[Tensor], ErrorKind, &str); 5] = [
        (
            &[],
            std::slice::from_ref(&y),
            ErrorKind::InvalidArgument,
            "inputs",
        ),
        (
            std::slice::from_ref(&x),
            &[],
            ErrorKind::InvalidArgument,
            "outputs",
        ),
        (
            std::slice::from_ref(&y),
            std::slice::from_ref(&y),
            ErrorKind::InvalidArgument,
            "inputs[0]",
        ),
        (
            &[x.clone(), c.clone()],
            std::slice::from_ref(&y),
            ErrorKind::NotDifferentiable,
            "inputs[1]",
        ),
        (
            &[x.clone(), x.clone()],
            std::slice::from_ref(&y),
            ErrorKind::InvalidArgument,
            "inputs[1]",
        ),
    ];
    for (k, (inputs, outputs, kind, arg)) in cases.iter().enumerate() {
        let err = Function::new(inputs, outputs).unwrap_err();
        assert_eq!(err.kind(), *kind, "case {k}: {err}");
        assert!(err.message().starts_with(arg), "case {k}: {err}");
    }
}

#[test]
fn bad_buffers_are_refused_and_leave_outputs_untouched() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], true).unwrap();
    let f = Function::new(
        std::slice::from_ref(&x),
        &[sum(&x, None, false).unwrap(), x.clone()],
    )
    .unwrap();
    let good = [1.0, 2.0, 3.0];
    let mut a = [7.0];
    let mut b = [7.0; 3];
    let check = |r: jac_core::Result<()>, arg: &str| {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(err.message().starts_with(arg), "{arg}: {err}");
    };
    check(
        f.eval_into(&[&good[..2]], &mut [&mut a, &mut b]),
        "in_lens[0]",
    );
    check(f.eval_into(&[], &mut [&mut a, &mut b]), "in:");
    check(f.eval_into(&[&good], &mut [&mut a]), "out:");
    check(
        f.eval_into(&[&good], &mut [&mut a, &mut b[..2]]),
        "out_lens[1]",
    );
    check(f.vjp_into(&[&good], Some(&[&[1.0]]), &mut [&mut b]), "cot:");
    check(
        f.vjp_into(&[&good], Some(&[&[1.0, 2.0], &good]), &mut [&mut b]),
        "cot_lens[0]",
    );
    check(
        f.vjp_into(&[&good], None, &mut [&mut b[..1]]),
        "grad_lens[0]",
    );
    check(f.vjp_into(&[&good], None, &mut []), "grad:");
    assert_eq!((a, b), ([7.0], [7.0; 3]), "nothing written");
    let err = f.jacobian(&[&good], Some(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BatchAxis, "{err}");
    let err = f.jacobian(&[&good[..1]], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    f.eval_into(&[&good], &mut [&mut a, &mut b]).unwrap();
    assert_eq!((a, b), ([6.0], good));
}

/// Slices and reshapes replay on their own kernels; an empty slice along an
/// axis far longer than memory costs nothing there either.
#[test]
fn slices_and_reshapes_replay_exactly_and_empty_ones_are_immediate() {
    let x = Tensor::from_vec(vec![0.0; 6], &[6], true).unwrap();
    let picked = slice(&x, 0, Some(-1), None, -2).unwrap(); // x[5], x[3], x[1]
    let y = mul(
        &reshape(&picked, &[1, 3]).unwrap(),
        &reshape(&x, &[2, 3]).unwrap(),
    )
    .unwrap();
    let f = Function::new(std::slice::from_ref(&x), &[sum(&y, None, false).unwrap()]).unwrap();
    let at = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let xs = [Tensor::from_vec(at.to_vec(), &[6], true).unwrap()];
    let p = slice(&xs[0], 0, Some(-1), None, -2).unwrap();
    let ys = [mul(
        &reshape(&p, &[1, 3]).unwrap(),
        &reshape(&xs[0], &[2, 3]).unwrap(),
    )
    .unwrap()];
    let ys = [sum(&ys[0], None, false).unwrap()];
    let want = grad(&ys, &xs, None, false).unwrap();
    let mut g = [0.0; 6];
    f.vjp_into(&[&at], None, &mut [&mut g]).unwrap();
    assert_eq!(bits(&g), bits(&want[0].to_vec()));
    let mut v = [0.0];
    f.eval_into(&[&at], &mut [&mut v]).unwrap();
    assert_eq!(v[0], ys[0].to_vec()[0]);

    let n = 1usize << 50;
    let e = Tensor::new(ArrayD::zeros(IxDyn(&[n, 0])), true);
    let s = slice(&e, 0, Some(1), None, 3).unwrap();
    let f = Function::new(std::slice::from_ref(&e), &[sum(&s, None, false).unwrap()]).unwrap();
    let mut out = [7.0];
    f.eval_into(&[&[]], &mut [&mut out]).unwrap();
    assert_eq!(out, [0.0]);
    f.vjp_into(&[&[]], None, &mut [&mut []]).unwrap();
}

/// A program that takes every way the replay plans a step: scalar steps
/// (one value per operand, constants on either side, a repeated operand),
/// flat steps with a broadcast scalar (whose gradient is a sum), reshapes
/// that share their operand's buffer (of an input, of a reshape, read by a
/// matrix product, returned as outputs), slices along a middle axis, and
/// array steps reading all of those. Values replay to the bit.
fn mixed_program(x: &Tensor, s: &Tensor, m: &Tensor) -> jac_core::Result<Vec<Tensor>> {
    let c = Tensor::scalar(0.7);
    // Scalars: s is 0-D.
    let s1 = sub(&c, &mul(s, s)?)?; // c - s^2
    let s2 = div(&Tensor::scalar(2.0), &add(&pow_scalar(&s1, 2.0)?, &c)?)?;
    let s3 = add(&pow_scalar(s, 0.0)?, &exp(&scale(&s2, -0.5)?)?)?;
    // A broadcast scalar: x is [12], s3 0-D.
    let v = mul(&sin(x)?, &s3)?;
    let w = sub(&s3, &mul(&v, &v)?)?;
    // Views: a reshape of an input, a reshape of that, read by matmul.
    let x3 = reshape(x, &[2, 2, 3])?;
    let x6 = reshape(&x3, &[2, 6])?;
    let p = matmul(&x6, &reshape(m, &[6, 1])?)?; // [2, 1]
    // Slices along the middle axis of [2, 2, 3] and the last, both steps.
    let mid = slice(&x3, 1, Some(-1), None, -1)?; // [2, 2, 3] reversed rows
    let last = slice(&mul(&mid, &x3)?, 2, Some(0), None, 2)?; // [2, 2, 2]
    let y0 = add(&sum(&last, Some(&[2]), false)?, &reshape(&p, &[2, 1])?)?; // [2, 2]
    let m4 = slice(m, 0, Some(1), Some(5), 1)?;
    let y1 = mul(&reshape(&w, &[3, 4])?, &reshape(&m4, &[1, 4])?.add_one()?)?;
    Ok(vec![y0, y1, x6, s3.clone(), s3])
}

trait AddOne: Sized {
    fn add_one(self) -> jac_core::Result<Tensor>;
}

impl AddOne for Tensor {
    fn add_one(self) -> jac_core::Result<Tensor> {
        add_scalar(&self, 1.0)
    }
}

#[test]
fn every_kind_of_planned_step_replays_the_graph() {
    let mut rng = Rng::new(seed_from("planned steps"));
    let shapes: [&[usize]; 3] = [&[12], &[], &[6]];
    let leaf = |data: &[f64], shape: &[usize]| Tensor::from_slice(data, shape, true).unwrap();
    let at0: Vec<Vec<f64>> = shapes
        .iter()
        .map(|s| values(s, Domain::Uniform(-1.0, 1.0), &mut rng))
        .collect();
    let xs0: Vec<Tensor> = at0.iter().zip(shapes).map(|(d, s)| leaf(d, s)).collect();
    let f = Function::new(&xs0, &mixed_program(&xs0[0], &xs0[1], &xs0[2]).unwrap()).unwrap();
    for trial in 0..4 {
        let at: Vec<Vec<f64>> = shapes
            .iter()
            .map(|s| values(s, Domain::Uniform(-1.0, 1.0), &mut rng))
            .collect();
        let xs: Vec<Tensor> = at.iter().zip(shapes).map(|(d, s)| leaf(d, s)).collect();
        let ys = mixed_program(&xs[0], &xs[1], &xs[2]).unwrap();
        let mut outs: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.eval_into(&refs(&at), &mut bufs).unwrap();
        for (k, (got, y)) in outs.iter().zip(&ys).enumerate() {
            assert_eq!(bits(got), bits(&y.to_vec()), "trial {trial} output {k}");
        }
        let cots: Vec<Vec<f64>> = ys
            .iter()
            .map(|y| values(y.shape(), Domain::Uniform(-1.0, 1.0), &mut rng))
            .collect();
        let seeds: Vec<Tensor> = cots
            .iter()
            .zip(&ys)
            .map(|(c, y)| Tensor::from_vec(c.clone(), y.shape(), false).unwrap())
            .collect();
        let with_seeds = trial % 2 == 0;
        let want = grad(&ys, &xs, with_seeds.then_some(&seeds[..]), false).unwrap();
        let mut gs: Vec<Vec<f64>> = at.iter().map(|a| vec![f64::NAN; a.len()]).collect();
        let mut bufs: Vec<&mut [f64]> = gs.iter_mut().map(Vec::as_mut_slice).collect();
        let cot_refs = refs(&cots);
        f.vjp_into(&refs(&at), with_seeds.then_some(&cot_refs[..]), &mut bufs)
            .unwrap();
        // A broadcast operand's gradient is a sum, which the replay adds
        // in order and the graph's reduction in its own: equal to rounding.
        for (j, (got, w)) in gs.iter().zip(&want).enumerate() {
            let got = ArrayD::from_shape_vec(IxDyn(w.shape()), got.clone()).unwrap();
            let what = format!("trial {trial} input {j}");
            assert_close(&got, w.value(), 1e-14, 1e-14, &what);
        }
        // Calls reuse the workspace: the same point gives the same bits.
        let mut again: Vec<Vec<f64>> = at.iter().map(|a| vec![0.0; a.len()]).collect();
        let mut bufs: Vec<&mut [f64]> = again.iter_mut().map(Vec::as_mut_slice).collect();
        f.vjp_into(&refs(&at), with_seeds.then_some(&cot_refs[..]), &mut bufs)
            .unwrap();
        assert_eq!(again, gs, "trial {trial}: a second call");
    }
}

/// An op applied again to the same operands is recorded once (only when its
/// name and attributes agree); the merged program gives the graph's values
/// to the bit and its gradient to rounding.
#[test]
fn repeated_expressions_are_recorded_once() {
    let r = |x: &Tensor| -> jac_core::Result<Tensor> {
        let p = mul(&sin(x)?, &sin(x)?)?;
        let (s1, s2, s3) = (scale(x, 2.0)?, scale(x, 2.0)?, scale(x, 3.0)?);
        add(&add(&p, &s1)?, &add(&s2, &s3)?)
    };
    let x = Tensor::from_vec(vec![0.0; 3], &[3], true).unwrap();
    let f = Function::new(std::slice::from_ref(&x), &[r(&x).unwrap()]).unwrap();
    // sin, mul, scale 2, scale 3, add(p, s1), add(s1, s3), their sum.
    assert_eq!(f.n_ops(), 7);
    let at = [0.3, -1.2, 2.5];
    let xs = [Tensor::from_slice(&at, &[3], true).unwrap()];
    let y = r(&xs[0]).unwrap();
    let mut v = [0.0; 3];
    f.eval_into(&[&at], &mut [&mut v]).unwrap();
    assert_eq!(bits(&v), bits(&y.to_vec()));
    let want = grad(&[y], &xs, None, false).unwrap();
    let mut g = [0.0; 3];
    f.vjp_into(&[&at], None, &mut [&mut g]).unwrap();
    let got = ArrayD::from_shape_vec(IxDyn(&[3]), g.to_vec()).unwrap();
    assert_close(&got, want[0].value(), 1e-15, 1e-15, "merged gradient");
}

/// A Jacobian read carries many rows per reverse pass; each row equals the
/// VJP with that one-hot cotangent, for every op family of the program.
#[test]
fn stacked_rows_equal_one_vjp_per_row() {
    let mut rng = Rng::new(seed_from("stacked rows"));
    let f = recorded(&mut rng);
    let at = point(&mut rng);
    let j = f.jacobian(&refs(&at), None).unwrap();
    for i in 0..f.n_outputs() {
        let m: usize = f.output_shape(i).unwrap().iter().product();
        let blocks: Vec<ArrayD<f64>> = (0..f.n_inputs())
            .map(|x| j.read(i, x, &[]).unwrap())
            .collect();
        for row in 0..m {
            let cots: Vec<Vec<f64>> = (0..f.n_outputs())
                .map(|o| {
                    let n: usize = f.output_shape(o).unwrap().iter().product();
                    (0..n)
                        .map(|t| f64::from(u8::from(o == i && t == row)))
                        .collect()
                })
                .collect();
            let gs = vjp_at(&f, &at, &cots);
            for (x, g) in gs.iter().enumerate() {
                let n = g.len();
                let got = &blocks[x].as_slice().unwrap()[row * n..(row + 1) * n];
                let want = ArrayD::from_shape_vec(IxDyn(&[n]), g.clone()).unwrap();
                let got = ArrayD::from_shape_vec(IxDyn(&[n]), got.to_vec()).unwrap();
                assert_close(
                    &got,
                    &want,
                    1e-13,
                    1e-13,
                    &format!("output {i} row {row} input {x}"),
                );
            }
        }
    }
}

/// Products of vectors and matrices replay their VJP in place (no graph
/// nodes), with the graph rule's kernels: the same bits for both operands
/// as the recorded rule (`create_graph`, which runs the rule itself).
#[test]
fn matrix_products_replay_their_vjp_in_place_to_the_bit() {
    let mut rng = Rng::new(seed_from("matmul in place"));
    let cases: [(&[usize], &[usize]); 6] = [
        (&[3], &[3]),
        (&[2, 3], &[3]),
        (&[3], &[3, 2]),
        (&[2, 3], &[3, 4]),
        (&[20, 3], &[3, 5]),
        (&[0, 3], &[3]),
    ];
    for (sa, sb) in cases {
        let data = |s: &[usize], rng: &mut Rng| values(s, Domain::Uniform(-1.0, 1.0), rng);
        let (a0, b0) = (data(sa, &mut rng), data(sb, &mut rng));
        let leaves = |a: &[f64], b: &[f64]| {
            [
                Tensor::from_slice(a, sa, true).unwrap(),
                Tensor::from_slice(b, sb, true).unwrap(),
            ]
        };
        let program = |x: &[Tensor; 2]| sin(&matmul(&x[0], &x[1]).unwrap()).unwrap();
        let xs0 = leaves(&a0, &b0);
        let f = Function::new(&xs0, &[program(&xs0)]).unwrap();
        let (a, b) = (data(sa, &mut rng), data(sb, &mut rng));
        let xs = leaves(&a, &b);
        let want = grad(&[program(&xs)], &xs, None, true).unwrap();
        let (mut ga, mut gb) = (vec![f64::NAN; a.len()], vec![f64::NAN; b.len()]);
        f.vjp_into(&[&a, &b], None, &mut [&mut ga, &mut gb])
            .unwrap();
        assert_eq!(bits(&ga), bits(&want[0].to_vec()), "{sa:?} @ {sb:?}: d/da");
        assert_eq!(bits(&gb), bits(&want[1].to_vec()), "{sa:?} @ {sb:?}: d/db");
    }
}

/// Vectors of every length run on the flat kernels with broadcast scalars
/// on either side, and give the graph's values to the bit and its
/// gradients (against the recorded rules) to rounding.
#[test]
fn vectors_with_broadcast_scalars_replay_the_graph() {
    let mut rng = Rng::new(seed_from("short and long"));
    for n in [2usize, 8, 16, 17, 40] {
        let r = |x: &Tensor, s: &Tensor| -> jac_core::Result<Tensor> {
            let a = mul(&sin(x)?, s)?; // [n] * []
            let b = div(s, &add_scalar(&square(&a)?, 1.0)?)?; // [] / [n]
            let c = sub(&tanh(&b)?, &mul(x, &a)?)?;
            sum(&mul(&c, &pow_scalar(&c, 2.0)?)?, None, false)
        };
        let shapes: [&[usize]; 2] = [&[n], &[]];
        let at: Vec<Vec<f64>> = shapes
            .iter()
            .map(|s| values(s, Domain::Uniform(-1.0, 1.0), &mut rng))
            .collect();
        let xs: Vec<Tensor> = at
            .iter()
            .zip(shapes)
            .map(|(d, s)| Tensor::from_slice(d, s, true).unwrap())
            .collect();
        let y = r(&xs[0], &xs[1]).unwrap();
        let f = Function::new(&xs, std::slice::from_ref(&y)).unwrap();
        let mut v = [0.0];
        f.eval_into(&refs(&at), &mut [&mut v]).unwrap();
        assert_eq!(bits(&v), bits(&y.to_vec()), "n = {n}");
        let want = grad(&[y], &xs, None, true).unwrap();
        let (mut gx, mut gs) = (vec![0.0; n], vec![0.0]);
        f.vjp_into(&refs(&at), None, &mut [&mut gx, &mut gs])
            .unwrap();
        for (got, w) in [(gx, &want[0]), (gs, &want[1])] {
            let got = ArrayD::from_shape_vec(IxDyn(w.shape()), got).unwrap();
            assert_close(&got, w.value(), 1e-13, 1e-13, &format!("n = {n}"));
        }
    }
}

/// A JVP at a new point equals the eager JVP of the program built there
/// (every op family), and an HVP equals the eager Hessian times v.
#[test]
fn jvps_and_hvps_at_new_points_equal_the_program_built_there() {
    let mut rng = Rng::new(seed_from("jvps_and_hvps"));
    let f = recorded(&mut rng);
    let at = point(&mut rng);
    let u: Vec<Vec<f64>> = SHAPES
        .iter()
        .map(|s| values(s, Domain::Uniform(-1.0, 1.0), &mut rng))
        .collect();
    let xs = leaves(&at);
    let ys = program(&xs[0], &xs[1]);
    let us: Vec<Tensor> = u
        .iter()
        .zip(SHAPES)
        .map(|(v, s)| Tensor::from_vec(v.clone(), s, false).unwrap())
        .collect();
    let want = jac_core::jvp(&ys, &xs, &us, false).unwrap();
    let mut got: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
    let mut bufs: Vec<&mut [f64]> = got.iter_mut().map(Vec::as_mut_slice).collect();
    f.jvp_into(&refs(&at), &refs(&u), &mut bufs).unwrap();
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            bits(g),
            bits(&w.to_vec()),
            "output {k}: the same ops, the same bits"
        );
    }
    // Output 1 is 0-D: H v by forward over reverse, against reverse over
    // reverse on the eager graph.
    let g = grad(&ys[1..2], &xs, None, true).unwrap();
    let want = grad(&g, &xs, Some(&us), false).unwrap();
    let mut got: Vec<Vec<f64>> = SHAPES
        .iter()
        .map(|s| vec![f64::NAN; s.iter().product()])
        .collect();
    let mut bufs: Vec<&mut [f64]> = got.iter_mut().map(Vec::as_mut_slice).collect();
    f.hvp_into(&refs(&at), 1, &refs(&u), &mut bufs).unwrap();
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        let w = ArrayD::from_shape_vec(IxDyn(&[w.numel()]), w.to_vec()).unwrap();
        let g = ArrayD::from_shape_vec(IxDyn(&[g.len()]), g.clone()).unwrap();
        assert_close(&g, &w, 1e-12, 1e-13, &format!("(H v)_{k}"));
    }
    // Errors, with nothing written.
    let mut canary = [vec![7.0; 6], vec![7.0; 3]];
    let mut bufs: Vec<&mut [f64]> = canary.iter_mut().map(Vec::as_mut_slice).collect();
    let e = f.hvp_into(&refs(&at), 0, &refs(&u), &mut bufs).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape, "{e}");
    let e = f.hvp_into(&refs(&at), 3, &refs(&u), &mut bufs).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Index, "{e}");
    let e = f
        .jvp_into(&refs(&at), &refs(&u[..1]), &mut bufs)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().starts_with("tan: expected 2 buffers"), "{e}");
    let e = f.jvp_into(&refs(&at), &refs(&u), &mut bufs).unwrap_err();
    assert!(
        e.message().starts_with("out_tan: expected 3 buffers"),
        "{e}"
    );
    assert!(canary.iter().flatten().all(|&v| v == 7.0));
}

/// A program of the ops real programs add to the families above: masks
/// from comparisons (scalar steps, flat steps, where), minimum/maximum,
/// pow, atan2, erf, clamp, gather, cumsum, softmax, logsumexp and min.
fn branching_program(x: &Tensor, s: &Tensor) -> jac_core::Result<Vec<Tensor>> {
    use jac_core::{
        atan2, clamp, cumsum, erf, gather, greater, less, logsumexp, maximum, min, minimum, pow,
        softmax,
    };
    let zero = Tensor::scalar(0.0);
    // Scalars: s is 0-D, so these are scalar steps.
    let s1 = where_(&less(s, &zero)?, &neg(s)?, &mul(s, s)?)?;
    let s2 = add(&atan2(s, &add_scalar(&s1, 1.5)?)?, &erf(s)?)?;
    // Vectors: x is [6].
    let branch = where_(&greater(x, &s2)?, &sin(x)?, &clamp(x, -0.4, 0.4)?)?;
    let bounded = add(&minimum(x, &s1)?, &maximum(&branch, &scale(x, 0.5)?)?)?;
    let powered = pow(&add_scalar(&square(x)?, 1.0)?, &add_scalar(&s2, 0.5)?)?;
    let picked = gather(&mul(&bounded, &powered)?, 0, &[5, 0, 2, 2, -1, 3])?;
    let grid = reshape(&cumsum(&picked, 0)?, &[2, 3])?;
    let soft = softmax(&grid, 1)?;
    let lse = logsumexp(&grid, Some(&[0]), false)?;
    Ok(vec![
        add(&soft, &reshape(&lse, &[1, 3])?)?,
        min(&grid, 1, false)?,
        s2,
    ])
}

/// A program of every kind of planned step, and one of masks, gathers and
/// normalisations, each with `outputs` made of its outputs: recorded once,
/// then `check(program, trial, function, point, leaves, outputs, direction)`
/// at three new points, with a random direction of the inputs' shapes.
#[allow(clippy::type_complexity, reason = "the arguments of one check")]
fn at_new_points(
    seed: &str,
    outputs: fn(Vec<Tensor>) -> jac_core::Result<Vec<Tensor>>,
    mut check: impl FnMut(usize, usize, &Function, &[Vec<f64>], &[Tensor], &[Tensor], &[Vec<f64>]),
) {
    let mut rng = Rng::new(seed_from(seed));
    type Program = fn(&[Tensor]) -> jac_core::Result<Vec<Tensor>>;
    let programs: [(&[&[usize]], Program); 2] = [
        (&[&[12], &[], &[6]], |x| mixed_program(&x[0], &x[1], &x[2])),
        (&[&[6], &[]], |x| branching_program(&x[0], &x[1])),
    ];
    for (p, (shapes, program)) in programs.iter().enumerate() {
        let point = |rng: &mut Rng| -> Vec<Vec<f64>> {
            shapes
                .iter()
                .map(|s| values(s, Domain::Uniform(-1.0, 1.0), rng))
                .collect()
        };
        let leaves = |at: &[Vec<f64>]| -> Vec<Tensor> {
            at.iter()
                .zip(*shapes)
                .map(|(d, s)| Tensor::from_slice(d, s, true).unwrap())
                .collect()
        };
        let xs0 = leaves(&point(&mut rng));
        let f = Function::new(&xs0, &outputs(program(&xs0).unwrap()).unwrap()).unwrap();
        for trial in 0..3 {
            let at = point(&mut rng);
            let xs = leaves(&at);
            let ys = outputs(program(&xs).unwrap()).unwrap();
            let direction = point(&mut rng);
            check(p, trial, &f, &at, &xs, &ys, &direction);
        }
    }
}

/// Forward passes of the replay (JVPs and the columns of lazy Jacobians)
/// equal the eager forward sweep and the reverse passes.
#[test]
fn forward_passes_of_the_replay_equal_the_graph_and_the_reverse_passes() {
    use jac_core::Mode;
    // Outputs flattened: a Jacobian takes 0-D and 1-D ones.
    fn flat(ys: Vec<Tensor>) -> jac_core::Result<Vec<Tensor>> {
        ys.iter().map(|y| reshape(y, &[-1])).collect()
    }
    at_new_points(
        "replayed forward passes",
        flat,
        |p, trial, f, at, xs, ys, u| {
            let us: Vec<Tensor> = u
                .iter()
                .zip(xs)
                .map(|(v, x)| Tensor::from_slice(v, x.shape(), false).unwrap())
                .collect();
            let want = jac_core::jvp(ys, xs, &us, false).unwrap();
            let mut got: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
            let mut bufs: Vec<&mut [f64]> = got.iter_mut().map(Vec::as_mut_slice).collect();
            f.jvp_into(&refs(at), &refs(u), &mut bufs).unwrap();
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let g = ArrayD::from_shape_vec(IxDyn(w.shape()), g.clone()).unwrap();
                let what = format!("program {p} trial {trial}: the JVP of output {k}");
                assert_close(&g, w.value(), 1e-13, 1e-13, &what);
            }
            // Every block read by columns (forward passes of the replay)
            // against the same block read by rows (reverse passes).
            let by_rows = f.jacobian(&refs(at), None).unwrap();
            by_rows.set_mode(Mode::Reverse);
            let by_columns = f.jacobian(&refs(at), None).unwrap();
            by_columns.set_mode(Mode::Forward);
            for i in 0..ys.len() {
                for j in 0..xs.len() {
                    let want = by_rows.read(i, j, &[]).unwrap();
                    let got = by_columns.read(i, j, &[]).unwrap();
                    let what = format!("program {p} trial {trial}: block ({i}, {j}) by columns");
                    assert_close(&got, &want, 1e-13, 1e-13, &what);
                    assert_eq!(by_columns.rows_evaluated(i).unwrap(), 0, "{what}: no rows");
                }
            }
            for (j, x) in at.iter().enumerate() {
                assert_eq!(
                    by_columns.columns_evaluated(j).unwrap(),
                    x.len(),
                    "program {p}: each column of input {j} once"
                );
            }
        },
    );
}

/// Hessian-vector products of a replay (forward over reverse on the planned
/// buffers: elementwise partials on duals, other ops through their graph
/// rule) equal reverse over reverse on the graph built at the point.
#[test]
fn replayed_hessian_vector_products_equal_the_graphs() {
    // One 0-D output, nonlinear in every output of the program.
    fn scalar(ys: Vec<Tensor>) -> jac_core::Result<Vec<Tensor>> {
        let mut total = Tensor::scalar(0.0);
        for y in &ys {
            total = add(&total, &sum(&sin(y)?, None, false)?)?;
        }
        Ok(vec![total])
    }
    at_new_points("replayed hvps", scalar, |p, trial, f, at, xs, ys, v| {
        let vs: Vec<Tensor> = v
            .iter()
            .zip(xs)
            .map(|(d, x)| Tensor::from_slice(d, x.shape(), false).unwrap())
            .collect();
        let g = grad(ys, xs, None, true).unwrap();
        let want = grad(&g, xs, Some(&vs), false).unwrap();
        let mut got: Vec<Vec<f64>> = at.iter().map(|a| vec![f64::NAN; a.len()]).collect();
        let mut bufs: Vec<&mut [f64]> = got.iter_mut().map(Vec::as_mut_slice).collect();
        f.hvp_into(&refs(at), 0, &refs(v), &mut bufs).unwrap();
        for (j, (got, w)) in got.iter().zip(&want).enumerate() {
            let got = ArrayD::from_shape_vec(IxDyn(w.shape()), got.clone()).unwrap();
            let what = format!("program {p} trial {trial}: H v of input {j}");
            assert_close(&got, w.value(), 1e-12, 1e-12, &what);
        }
    });
}

/// A sum after a concat along any axis gives the same bits eagerly and on
/// replay: the eager concat is row-major, as the replay's buffer is (the
/// fuzzer found a last-bit difference when it kept its operands' order).
#[test]
fn concat_then_sum_replays_to_the_bit_along_every_axis() {
    for axis in 0..6 {
        let x = Tensor::from_vec(vec![-4.0; 15], &[5, 1, 1, 1, 1, 3], true).unwrap();
        let joined = concat(&[exp(&x).unwrap(), x.clone(), x.clone()], axis).unwrap();
        assert!(joined.value().is_standard_layout(), "axis {axis}");
        let s = sum(&joined, None, false).unwrap();
        let stacked = sum(
            &stack(&[x.clone(), exp(&x).unwrap()], axis).unwrap(),
            None,
            false,
        )
        .unwrap();
        let f = Function::new(std::slice::from_ref(&x), &[s.clone(), stacked.clone()]).unwrap();
        let (mut a, mut b) = ([0.0], [0.0]);
        f.eval_into(&[&[-4.0; 15]], &mut [&mut a, &mut b]).unwrap();
        assert_eq!(
            a[0].to_bits(),
            s.to_vec()[0].to_bits(),
            "concat along axis {axis}"
        );
        assert_eq!(
            b[0].to_bits(),
            stacked.to_vec()[0].to_bits(),
            "stack along axis {axis}"
        );
    }
}
