//! gather, scatter_add and cumsum: values against numpy's `take`,
//! `np.add.at` and `cumsum` written out by hand, the adjoint identity
//! `<gather(a), w> = <a, scatter_add(w)>`, repeated, negative and empty
//! index lists and 0-length axes, lazy Jacobians through a gather (rows on
//! sparse cotangents, columns on stacked tangents, batched, and a
//! bundle-adjustment-shaped residual against central differences), and
//! recorded `Function`s that replay all three ops exactly at new points.

mod common;

use common::{Domain, Rng, assert_close, assert_values, central_diff, random_tensor, seed_from};
use jac_core::index::Index;
use jac_core::{
    Function, Mode, Tensor, add, cumsum, gather, grad, grad_stacked, jacobian, jvp, mul,
    scatter_add, sin, slice, square, sub, sum,
};
use ndarray::{ArrayD, IxDyn};

fn t(data: &[f64], shape: &[usize], requires_grad: bool) -> Tensor {
    common::tensor(data, shape, requires_grad)
}

fn bits(a: &[f64]) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// 0, 1, 2, ... in `shape`.
fn iota(shape: &[usize], requires_grad: bool) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n).map(|k| k as f64).collect();
    t(&data, shape, requires_grad)
}

#[test]
fn gather_takes_rows_along_any_axis_with_negative_and_repeated_indices() {
    // a[i, j, k] = 12 i + 4 j + k for a of shape [2, 3, 4].
    let a = iota(&[2, 3, 4], false);
    let g = gather(&a, 1, &[2, -3, 2]).unwrap();
    // take(a, [2, 0, 2], axis=1)
    let want: Vec<f64> = [0, 1]
        .iter()
        .flat_map(|&i| {
            [2, 0, 2]
                .iter()
                .flat_map(move |&j| (0..4).map(move |k| (12 * i + 4 * j + k) as f64))
        })
        .collect();
    assert_values(&g, &[2, 3, 4], &want, 0.0, "axis 1");
    let g = gather(&a, -1, &[3, 0]).unwrap();
    let want: Vec<f64> = (0..6)
        .flat_map(|r| [3, 0].map(|k| (4 * r + k) as f64))
        .collect();
    assert_values(&g, &[2, 3, 2], &want, 0.0, "last axis");
    let g = gather(&a, 0, &[1, 1, 0, -1]).unwrap();
    let rows = |i: usize| (12 * i..12 * i + 12).map(|v| v as f64);
    let want: Vec<f64> = rows(1)
        .chain(rows(1))
        .chain(rows(0))
        .chain(rows(1))
        .collect();
    assert_values(&g, &[4, 3, 4], &want, 0.0, "axis 0");
    // A gather of a gather: the positions compose.
    let v = t(&[10.0, 11.0, 12.0, 13.0, 14.0], &[5], false);
    let gg = gather(&gather(&v, 0, &[4, 0, 2]).unwrap(), 0, &[2, 2, 0, 1]).unwrap();
    assert_values(&gg, &[4], &[12.0, 12.0, 14.0, 10.0], 0.0, "composed");
}

#[test]
fn scatter_add_accumulates_repeated_indices_and_is_the_adjoint_of_gather() {
    // np.add.at(out, [1, 3, 1], a) along axis 0 of out = zeros([4, 2]).
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2], false);
    let s = scatter_add(&a, 0, &[1, -1, 1], 4).unwrap();
    assert_values(
        &s,
        &[4, 2],
        &[0.0, 0.0, 6.0, 8.0, 0.0, 0.0, 3.0, 4.0],
        0.0,
        "axis 0",
    );
    let s = scatter_add(&a, 1, &[2, 2], 3).unwrap();
    assert_values(
        &s,
        &[3, 3],
        &[0.0, 0.0, 3.0, 0.0, 0.0, 7.0, 0.0, 0.0, 11.0],
        0.0,
        "axis 1",
    );
    // <gather(x, axis, idx), w> = <x, scatter_add(w, axis, idx, len)>.
    let mut rng = Rng::new(seed_from("adjoint"));
    let idx = [3, -1, 0, 3, 2, 2];
    for axis in 0..3 {
        let mut shape = vec![2, 3, 2];
        shape[axis] = 4;
        let x = random_tensor(&shape, Domain::Uniform(-1.0, 1.0), &mut rng, false);
        let g = gather(&x, axis as isize, &idx).unwrap();
        let w = random_tensor(g.shape(), Domain::Uniform(-1.0, 1.0), &mut rng, false);
        let back = scatter_add(&w, axis as isize, &idx, 4).unwrap();
        assert_eq!(back.shape(), x.shape());
        let left: f64 = common::dot(g.value(), w.value());
        let right: f64 = common::dot(x.value(), back.value());
        assert!(
            (left - right).abs() < 1e-13,
            "axis {axis}: {left} vs {right}"
        );
    }
}

#[test]
fn cumsum_runs_along_the_axis_and_its_gradient_runs_back() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], true);
    assert_values(
        &cumsum(&a, 0).unwrap(),
        &[2, 3],
        &[1.0, 2.0, 3.0, 5.0, 7.0, 9.0],
        0.0,
        "axis 0",
    );
    let c = cumsum(&a, -1).unwrap();
    assert_values(&c, &[2, 3], &[1.0, 3.0, 6.0, 4.0, 9.0, 15.0], 0.0, "axis 1");
    // d/da_m sum_j w_j c_j = sum_{j >= m} w_j, per row.
    let w = t(&[1.0, 10.0, 100.0, 2.0, 20.0, 200.0], &[2, 3], false);
    let g = grad(&[c], std::slice::from_ref(&a), Some(&[w]), false).unwrap();
    assert_values(
        &g[0],
        &[2, 3],
        &[111.0, 110.0, 100.0, 222.0, 220.0, 200.0],
        0.0,
        "reversed sum",
    );
}

#[test]
fn empty_index_lists_and_zero_length_axes() {
    let a = iota(&[3, 2], true);
    let g = gather(&a, 0, &[]).unwrap();
    assert_eq!(g.shape(), &[0, 2]);
    // The empty gather's gradient is zeros of a's shape.
    let y = add(
        &sum(&g, Some(&[0]), false).unwrap(),
        &t(&[1.0, 1.0], &[2], false),
    )
    .unwrap();
    let d = grad(&[y], std::slice::from_ref(&a), None, false).unwrap();
    assert_values(&d[0], &[3, 2], &[0.0; 6], 0.0, "empty gather");
    // A 0-length axis takes no index, and gathers none.
    let e = Tensor::new(ArrayD::zeros(IxDyn(&[2, 0, 3])), true);
    assert_eq!(gather(&e, 1, &[]).unwrap().shape(), &[2, 0, 3]);
    assert_eq!(gather(&e, 2, &[1, 1, 0, 2]).unwrap().shape(), &[2, 0, 4]);
    assert_eq!(cumsum(&e, 1).unwrap().shape(), &[2, 0, 3]);
    assert_eq!(cumsum(&e, 2).unwrap().shape(), &[2, 0, 3]);
    // Scattering no rows gives zeros of the new length.
    let none = Tensor::new(ArrayD::zeros(IxDyn(&[2, 0])), true);
    let s = scatter_add(&none, 1, &[], 3).unwrap();
    assert_values(&s, &[2, 3], &[0.0; 6], 0.0, "empty scatter");
    let d = grad(&[sum(&s, None, false).unwrap()], &[none], None, false).unwrap();
    assert_eq!(d[0].shape(), &[2, 0]);
    assert_eq!(scatter_add(&e, 1, &[], 0).unwrap().shape(), &[2, 0, 3]);
    // And the JVPs of empty ones.
    let u = t(&[1.0; 6], &[3, 2], false);
    let tan = jvp(
        &[gather(&a, 1, &[]).unwrap()],
        std::slice::from_ref(&a),
        &[u],
        false,
    )
    .unwrap();
    assert_eq!(tan[0].shape(), &[3, 0]);
}

/// A residual shaped like bundle adjustment's: each of `obs` observations
/// reads one camera row (3 parameters) and one point row (2 values), and
/// gives two numbers, `c0 sin(p0 + c1) - p1 c2` and `c2 p0 p1 + c0`.
/// Cameras and points come flat (a Jacobian's xs are 1-D).
fn residual(cams: &Tensor, points: &Tensor, ci: &[i64], pi: &[i64]) -> jac_core::Result<Tensor> {
    let c = gather(&jac_core::reshape(cams, &[-1, 3])?, 0, ci)?; // [obs, 3]
    let p = gather(&jac_core::reshape(points, &[-1, 2])?, 0, pi)?; // [obs, 2]
    let col = |x: &Tensor, k: i64| slice(x, 1, Some(k), Some(k + 1), 1);
    let (c0, c1, c2) = (col(&c, 0)?, col(&c, 1)?, col(&c, 2)?);
    let (p0, p1) = (col(&p, 0)?, col(&p, 1)?);
    let r0 = sub(&mul(&c0, &sin(&add(&p0, &c1)?)?)?, &mul(&p1, &c2)?)?;
    let r1 = add(&mul(&mul(&c2, &p0)?, &p1)?, &c0)?;
    jac_core::reshape(&jac_core::concat(&[r0, r1], 1)?, &[-1])
}

fn indices(n: usize, of: usize, rng: &mut Rng) -> Vec<i64> {
    (0..n).map(|_| rng.below(of) as i64).collect()
}

#[test]
fn jacobians_through_gathers_match_differences_in_every_direction() {
    let mut rng = Rng::new(seed_from("bundle"));
    let (n_cams, n_points, obs) = (4, 6, 15);
    let ci = indices(obs, n_cams, &mut rng);
    let mut pi = indices(obs, n_points, &mut rng);
    pi[3] -= n_points as i64; // a negative index
    let cams = random_tensor(&[n_cams * 3], Domain::Uniform(-1.0, 1.0), &mut rng, true);
    let points = random_tensor(&[n_points * 2], Domain::Uniform(-1.0, 1.0), &mut rng, true);
    let r = residual(&cams, &points, &ci, &pi).unwrap();
    let at = [cams.value().clone(), points.value().clone()];
    let mut blocks = Vec::new();
    for mode in [Mode::Reverse, Mode::Forward, Mode::Auto] {
        let j = jacobian(&r, &[cams.clone(), points.clone()], None).unwrap();
        j.set_mode(mode);
        blocks.push([j.read(0, 0, &[]).unwrap(), j.read(0, 1, &[]).unwrap()]);
    }
    // Column by column of the central differences of every residual.
    for row in 0..r.numel() {
        let fd = central_diff(
            &mut |p| {
                let x: Vec<Tensor> = p.iter().map(|v| Tensor::new(v.clone(), false)).collect();
                residual(&x[0], &x[1], &ci, &pi).unwrap().to_vec()[row]
            },
            &at,
            1e-6,
        );
        for (mode, b) in blocks.iter().enumerate() {
            for x in 0..2 {
                let got = b[x].index_axis(ndarray::Axis(0), row).to_owned();
                let want = fd[x].clone().into_shape_with_order(got.raw_dim()).unwrap();
                let what = format!("mode {mode}: row {row}, input {x}");
                assert_close(&got, &want, 1e-6, 1e-8, &what);
            }
        }
    }
    // Rows on sparse cotangents, columns on stacked tangents, and the
    // dense identity through every tensor-op rule agree to rounding.
    let m = r.numel();
    let eye: Vec<f64> = (0..m * m)
        .map(|k| f64::from(u8::from(k / m == k % m)))
        .collect();
    let seed = t(&eye, &[m, m], false);
    let dense = grad_stacked(std::slice::from_ref(&r), &[cams, points], &[seed], false).unwrap();
    for (mode, b) in blocks.iter().enumerate() {
        for x in 0..2 {
            let what = format!("mode {mode} vs dense, input {x}");
            assert_close(&b[x], dense[x].value(), 1e-13, 1e-14, &what);
        }
    }
}

#[test]
fn batched_jacobians_through_gathers_and_cumsums() {
    // y[b] = cumsum(x[b, idx]^2), per sample: dy[b, j] / dx[b, k] =
    // sum_{m <= j} 2 x[b, idx[m]] [idx[m] == k].
    let idx = [2i64, 0, 2, 3];
    let x = t(&[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, 3.0], &[2, 4], true);
    let y = cumsum(&square(&gather(&x, 1, &idx).unwrap()).unwrap(), 1).unwrap();
    let xv = x.to_vec();
    for mode in [Mode::Reverse, Mode::Forward] {
        let j = jacobian(&y, &x, Some(0)).unwrap();
        j.set_mode(mode);
        assert_eq!(j.block_shape(0, 0).unwrap(), vec![2, 4, 4]);
        let got = j.read(0, 0, &[]).unwrap();
        for b in 0..2 {
            for r in 0..4 {
                for k in 0..4 {
                    let want: f64 = idx[..=r]
                        .iter()
                        .filter(|&&i| i as usize == k)
                        .map(|&i| 2.0 * xv[4 * b + i as usize])
                        .sum();
                    assert_eq!(got[[b, r, k]], want, "{mode:?}: sample {b}, ({r}, {k})");
                }
            }
        }
        // One row of every sample.
        let row = j.read(0, 0, &[Index::All, Index::Int(1)]).unwrap();
        assert_eq!(row.shape(), &[2, 4]);
        // dy[1, 1] = 2 x[1, 2] dx[1, 2] + 2 x[1, 0] dx[1, 0].
        assert_eq!(
            row.as_slice().unwrap()[4..],
            [2.0 * xv[4], 0.0, 2.0 * xv[6], 0.0]
        );
    }
}

/// A program with every op of this family between two inputs, with
/// repeated and negative indices and a scatter back to the point rows.
fn chain(cams: &Tensor, points: &Tensor) -> jac_core::Result<Vec<Tensor>> {
    let ci = [0i64, 2, 1, 2, -3, 1];
    let pi = [3i64, 3, -1, 0, 1, 2];
    let r = residual(cams, points, &ci, &pi)?; // [12]
    let per_obs = jac_core::reshape(&r, &[6, 2])?;
    let per_point = scatter_add(&square(&per_obs)?, 0, &pi, 4)?; // [4, 2]
    let running = cumsum(&per_point, 0)?;
    let total = sum(&cumsum(&running, -1)?, None, false)?;
    Ok(vec![r, jac_core::reshape(&running, &[-1])?, total])
}

#[test]
fn recorded_functions_replay_gathers_scatters_and_cumsums_exactly() {
    let mut rng = Rng::new(seed_from("replay"));
    let shapes: [&[usize]; 2] = [&[9], &[8]];
    let draw = |rng: &mut Rng| -> Vec<Vec<f64>> {
        shapes
            .iter()
            .map(|s| common::values(s, Domain::Uniform(-1.0, 1.0), rng))
            .collect()
    };
    let leaves = |at: &[Vec<f64>]| -> Vec<Tensor> {
        at.iter()
            .zip(shapes)
            .map(|(v, s)| Tensor::from_slice(v, s, true).unwrap())
            .collect()
    };
    let xs0 = leaves(&draw(&mut rng));
    let f = Function::new(&xs0, &chain(&xs0[0], &xs0[1]).unwrap()).unwrap();
    for trial in 0..3 {
        let at = draw(&mut rng);
        let refs: Vec<&[f64]> = at.iter().map(Vec::as_slice).collect();
        let xs = leaves(&at);
        let ys = chain(&xs[0], &xs[1]).unwrap();
        // Values.
        let mut outs: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        f.eval_into(&refs, &mut bufs).unwrap();
        for (k, (got, y)) in outs.iter().zip(&ys).enumerate() {
            assert_eq!(bits(got), bits(&y.to_vec()), "trial {trial}: output {k}");
        }
        // A VJP with random cotangents.
        let cots: Vec<Tensor> = ys
            .iter()
            .map(|y| random_tensor(y.shape(), Domain::Uniform(-1.0, 1.0), &mut rng, false))
            .collect();
        let want = grad(&ys, &xs, Some(&cots), false).unwrap();
        let cot_data: Vec<Vec<f64>> = cots.iter().map(Tensor::to_vec).collect();
        let cot_refs: Vec<&[f64]> = cot_data.iter().map(Vec::as_slice).collect();
        let mut gs: Vec<Vec<f64>> = at.iter().map(|a| vec![f64::NAN; a.len()]).collect();
        let mut bufs: Vec<&mut [f64]> = gs.iter_mut().map(Vec::as_mut_slice).collect();
        f.vjp_into(&refs, Some(&cot_refs), &mut bufs).unwrap();
        for (k, (g, w)) in gs.iter().zip(&want).enumerate() {
            let got = ArrayD::from_shape_vec(IxDyn(w.shape()), g.clone()).unwrap();
            assert_close(
                &got,
                w.value(),
                1e-13,
                1e-14,
                &format!("trial {trial}: d/dx{k}"),
            );
        }
        // A JVP.
        let us: Vec<Tensor> = shapes
            .iter()
            .map(|s| random_tensor(s, Domain::Uniform(-1.0, 1.0), &mut rng, false))
            .collect();
        let want = jvp(&ys, &xs, &us, false).unwrap();
        let u_data: Vec<Vec<f64>> = us.iter().map(Tensor::to_vec).collect();
        let u_refs: Vec<&[f64]> = u_data.iter().map(Vec::as_slice).collect();
        let mut ts: Vec<Vec<f64>> = ys.iter().map(|y| vec![f64::NAN; y.numel()]).collect();
        let mut bufs: Vec<&mut [f64]> = ts.iter_mut().map(Vec::as_mut_slice).collect();
        f.jvp_into(&refs, &u_refs, &mut bufs).unwrap();
        for (k, (got, w)) in ts.iter().zip(&want).enumerate() {
            let got = ArrayD::from_shape_vec(IxDyn(w.shape()), got.clone()).unwrap();
            assert_close(
                &got,
                w.value(),
                1e-13,
                1e-14,
                &format!("trial {trial}: J u {k}"),
            );
        }
        // The full lazy Jacobian (stacked rows through the planned kernels)
        // and the Hessian of the scalar output.
        let want = jacobian(&ys, &xs, None).unwrap();
        let j = f.jacobian(&refs, None).unwrap();
        for i in 0..3 {
            for k in 0..2 {
                let what = format!("trial {trial}: block ({i}, {k})");
                let (got, w) = (j.read(i, k, &[]).unwrap(), want.read(i, k, &[]).unwrap());
                assert_close(&got, &w, 1e-13, 1e-14, &what);
            }
        }
        let want = jac_core::hessian(&ys[2], &xs, None).unwrap();
        let h = f.hessian(&refs, 2, None).unwrap();
        for i in 0..2 {
            for k in 0..2 {
                let what = format!("trial {trial}: Hessian block ({i}, {k})");
                let (got, w) = (h.read(i, k, &[]).unwrap(), want.read(i, k, &[]).unwrap());
                assert_close(&got, &w, 1e-12, 1e-13, &what);
                assert!(i != k || w.iter().any(|&v| v != 0.0), "{what} is all zero");
            }
        }
    }
}

#[test]
fn a_large_gather_replays_its_rows_and_gradients() {
    // 16k observations of 64 nine-parameter cameras: the replayed VJP adds
    // each cotangent row into its camera's row.
    let (n_cams, obs) = (64usize, 1usize << 14);
    let mut rng = Rng::new(seed_from("large"));
    let ci: Vec<i64> = (0..obs).map(|_| rng.below(n_cams) as i64).collect();
    let cams = random_tensor(&[n_cams, 9], Domain::Uniform(-1.0, 1.0), &mut rng, true);
    let y = sum(
        &square(&gather(&cams, 0, &ci).unwrap()).unwrap(),
        None,
        false,
    )
    .unwrap();
    let f = Function::new(std::slice::from_ref(&cams), &[y]).unwrap();
    let at = cams.to_vec();
    let mut g = vec![0.0; at.len()];
    f.vjp_into(&[&at], None, &mut [&mut g]).unwrap();
    let mut count = vec![0.0; n_cams];
    for &c in &ci {
        count[c as usize] += 1.0;
    }
    for (k, (&got, &x)) in g.iter().zip(&at).enumerate() {
        let want = 2.0 * x * count[k / 9];
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "entry {k}: {got} vs {want}"
        );
    }
}

#[test]
fn strided_operands_gather_and_sum_like_contiguous_ones() {
    // A leaf whose values sit in column-major memory: every rule and
    // kernel reads it by position, not by memory order.
    use ndarray::ShapeBuilder;
    let a = iota(&[3, 2], false);
    let mut f = ArrayD::zeros(IxDyn(&[3, 2]).f());
    f.assign(a.value());
    let x = Tensor::new(f, true);
    let y = sum(
        &square(&cumsum(&gather(&x, 0, &[2, 0, 2]).unwrap(), 1).unwrap()).unwrap(),
        None,
        false,
    )
    .unwrap();
    // x = [[0, 1], [2, 3], [4, 5]]; rows [4, 5], [0, 1], [4, 5]; running
    // sums [a, a + b]: [4, 9], [0, 1], [4, 9], so y = 2 (16 + 81) + 1 = 195.
    // Per row, dy/da = 2a + 2(a + b) and dy/db = 2(a + b): [26, 18] for
    // [4, 5], taken twice from x[2], and [2, 2] for [0, 1] from x[0].
    assert_values(&y, &[], &[195.0], 0.0, "value");
    let g = grad(&[y], std::slice::from_ref(&x), None, false).unwrap();
    assert_values(
        &g[0],
        &[3, 2],
        &[2.0, 2.0, 0.0, 0.0, 52.0, 36.0],
        0.0,
        "grad",
    );
}
