//! A Jacobian sweeps its rows with sparse one-hot cotangents and fast
//! unrecorded paths (elementwise partials, sparse matmul and reshape rules);
//! `grad_stacked` with a dense identity runs every op's tensor-op VJP. The
//! two must agree for every kind of op, to rounding.

use jac_core::{
    Tensor, add, concat, div, exp, grad_stacked, jacobian, matmul, max, mul, neg, pow_scalar, relu,
    reshape, scale, sigmoid, sin, slice, sqrt, square, sub, sum, tanh, transpose, where_,
};
use jac_core::{cumsum, gather, scatter_add};

/// Deterministic values in roughly [0.2, 1.7].
fn data(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|k| 0.95 + 0.75 * (1.3 * k as f64 + seed).sin())
        .collect()
}

fn leaf(shape: &[usize], seed: f64) -> Tensor {
    Tensor::from_vec(data(shape.iter().product(), seed), shape, true).unwrap()
}

fn constant(shape: &[usize], seed: f64) -> Tensor {
    Tensor::from_vec(data(shape.iter().product(), seed), shape, false).unwrap()
}

/// The full Jacobian of a 1-D y with respect to `x`, both ways.
fn both_ways(y: &Tensor, x: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let m = y.numel();
    let eye: Vec<f64> = (0..m * m)
        .map(|k| f64::from(u8::from(k / m == k % m)))
        .collect();
    let mut seed_shape = vec![m];
    seed_shape.extend_from_slice(y.shape());
    let seed = Tensor::from_vec(eye, &seed_shape, false).unwrap();
    let dense = grad_stacked(
        std::slice::from_ref(y),
        std::slice::from_ref(x),
        &[seed],
        false,
    )
    .unwrap()
    .remove(0)
    .to_vec();
    let lazy = jacobian(y, x, None).unwrap().read(0, 0, &[]).unwrap();
    (lazy.iter().copied().collect(), dense)
}

fn assert_same(what: &str, y: &Tensor, x: &Tensor) {
    let (lazy, dense) = both_ways(y, x);
    assert_eq!(lazy.len(), dense.len(), "{what}");
    assert!(
        dense.iter().any(|&v| v != 0.0),
        "{what}: an all-zero Jacobian proves nothing"
    );
    for (k, (a, b)) in lazy.iter().zip(&dense).enumerate() {
        assert!(
            (a - b).abs() <= 1e-13 * (1.0 + b.abs()),
            "{what}: element {k}: sparse-path {a} vs dense-path {b}"
        );
    }
}

#[test]
fn elementwise_chains_stay_sparse_and_agree() {
    let x = leaf(&[7], 0.3);
    // sin(x) exp(x) + x x: the W5 shape, diagonal throughout.
    let y = add(
        &mul(&sin(&x).unwrap(), &exp(&x).unwrap()).unwrap(),
        &mul(&x, &x).unwrap(),
    )
    .unwrap();
    assert_same("sin*exp + x*x", &y, &x);
    let y = div(&tanh(&x).unwrap(), &sqrt(&x).unwrap()).unwrap();
    assert_same("tanh / sqrt", &y, &x);
    let y = sub(
        &sigmoid(&scale(&x, -2.0).unwrap()).unwrap(),
        &pow_scalar(&x, 2.5).unwrap(),
    )
    .unwrap();
    assert_same("sigmoid(-2x) - x^2.5", &y, &x);
    let y = neg(&relu(&add(&x, &constant(&[7], 1.0)).unwrap()).unwrap()).unwrap();
    assert_same("-relu(x + c)", &y, &x);
}

#[test]
fn broadcasting_maps_sparse_positions_to_the_smaller_operand() {
    let x = leaf(&[3], 0.7);
    let grid = constant(&[4, 3], 1.1);
    // y[i, j] = x[j] * c[i, j], flattened: each row has one entry in x.
    let y = reshape(&mul(&x, &grid).unwrap(), &[12]).unwrap();
    assert_same("x * grid", &y, &x);
    let c = leaf(&[4], 0.2);
    let col = reshape(&c, &[4, 1]).unwrap();
    let y = reshape(&square(&sub(&grid, &col).unwrap()).unwrap(), &[12]).unwrap();
    assert_same("(grid - col)^2", &y, &c);
    // A 0-D x broadcast everywhere.
    let s = Tensor::from_vec(vec![0.4], &[], true).unwrap();
    let y = reshape(&mul(&grid, &exp(&s).unwrap()).unwrap(), &[12]).unwrap();
    assert_same("grid * exp(s)", &y, &s);
}

#[test]
fn matrix_products_gather_rows_and_columns() {
    let w = constant(&[5, 4], 0.9);
    let x = leaf(&[4], 0.1);
    // y = W x: rows of W.
    assert_same("W x", &tanh(&matmul(&w, &x).unwrap()).unwrap(), &x);
    // y = x^T V: columns of V.
    let v = constant(&[4, 6], 1.7);
    assert_same("x V", &sin(&matmul(&x, &v).unwrap()).unwrap(), &x);
    // Y = X B for a matrix X, flattened: columns of B in the row of X.
    let xf = leaf(&[12], 0.5);
    let xm = reshape(&xf, &[3, 4]).unwrap();
    let y = reshape(&matmul(&xm, &v).unwrap(), &[18]).unwrap();
    assert_same("X B", &y, &xf);
    // The weights as the x: no sparse rule, densified, still the same.
    let wf = leaf(&[20], 0.9);
    let wx = reshape(&wf, &[5, 4]).unwrap();
    let xc = constant(&[4], 0.1);
    assert_same("W x wrt W", &matmul(&wx, &xc).unwrap(), &wf);
}

#[test]
fn gathers_and_slices_move_sparse_entries_and_scatters_and_cumsums_densify() {
    let xf = leaf(&[12], 0.8);
    let flat = |t: &Tensor| reshape(t, &[-1]).unwrap();
    // Rows of 3 values (repeated, negative), columns of a [3, 4] (outer
    // blocks), and a vector: each sparse entry lands in the row it came from.
    let rows = gather(&reshape(&xf, &[4, 3]).unwrap(), 0, &[3, 0, 3, -3]).unwrap();
    assert_same("gather rows", &flat(&sin(&rows).unwrap()), &xf);
    let cols = gather(&reshape(&xf, &[3, 4]).unwrap(), 1, &[2, 2, -1]).unwrap();
    assert_same("gather columns", &flat(&square(&cols).unwrap()), &xf);
    let y = mul(
        &gather(&xf, 0, &[5, 0, 11, 5, 5]).unwrap(),
        &constant(&[5], 0.3),
    )
    .unwrap();
    assert_same("gather vector", &tanh(&y).unwrap(), &xf);
    let back = scatter_add(&reshape(&xf, &[4, 3]).unwrap(), 0, &[1, 0, 1, 4], 5).unwrap();
    assert_same("scatter_add", &flat(&sin(&back).unwrap()), &xf);
    assert_same(
        "cumsum",
        &flat(&cumsum(&reshape(&xf, &[2, 6]).unwrap(), 1).unwrap()),
        &xf,
    );
    // Slices move entries the same way: reversed, strided, of a middle axis.
    let x = reshape(&xf, &[2, 3, 2]).unwrap();
    let y = sin(&slice(&x, 1, None, None, -2).unwrap()).unwrap();
    assert_same("slice", &flat(&y), &xf);
    let y = slice(&reshape(&xf, &[4, 3]).unwrap(), 1, Some(1), None, 1).unwrap();
    assert_same("slice columns", &flat(&square(&y).unwrap()), &xf);
    // Columns of gathered rows, as a bundle-adjustment residual reads them.
    let rows = gather(&reshape(&xf, &[4, 3]).unwrap(), 0, &[2, 2, 0, 3, 1]).unwrap();
    let cols = mul(
        &slice(&rows, 1, Some(0), Some(2), 1).unwrap(),
        &slice(&rows, 1, Some(1), None, 1).unwrap(),
    )
    .unwrap();
    assert_same("columns of gathered rows", &flat(&cols), &xf);
}

#[test]
fn ops_without_sparse_rules_densify_and_agree() {
    let xf = leaf(&[6], 0.6);
    let x = reshape(&xf, &[2, 3]).unwrap();
    let flat = |t: &Tensor| reshape(t, &[-1]).unwrap();
    assert_same("transpose", &flat(&transpose(&x, &[1, 0]).unwrap()), &xf);
    assert_same(
        "sum axis",
        &sum(&square(&x).unwrap(), Some(&[0]), false).unwrap(),
        &xf,
    );
    assert_same("max axis", &max(&x, 1, false).unwrap(), &xf);
    assert_same(
        "concat",
        &flat(&concat(&[x.clone(), square(&x).unwrap()], 0).unwrap()),
        &xf,
    );
    let mask = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3], false).unwrap();
    assert_same(
        "where",
        &flat(&where_(&mask, &x, &square(&x).unwrap()).unwrap()),
        &xf,
    );
}

#[test]
fn batched_rows_agree_with_per_sample_dense_sweeps() {
    // Y = tanh(X W) for X [B, n]: row m of the batched Jacobian holds the
    // gradient of sum_b Y[b, m], which a dense sweep with a one-hot column
    // in every sample gives too.
    let (b, n, m) = (3, 4, 2);
    let x = leaf(&[b, n], 0.4);
    let w = constant(&[n, m], 1.3);
    let y = tanh(&matmul(&x, &w).unwrap()).unwrap();
    let lazy = jacobian(&y, &x, Some(0)).unwrap().read(0, 0, &[]).unwrap();
    for r in 0..m {
        let seed: Vec<f64> = (0..b * m)
            .map(|k| f64::from(u8::from(k % m == r)))
            .collect();
        let seed = Tensor::from_vec(seed, &[b, m], false).unwrap();
        let g = jac_core::grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[seed]),
            false,
        )
        .unwrap()
        .remove(0);
        for s in 0..b {
            for c in 0..n {
                let (a, d) = (lazy[[s, r, c]], g.value()[[s, c]]);
                assert!(
                    (a - d).abs() <= 1e-13 * (1.0 + d.abs()),
                    "[{s}, {r}, {c}]: {a} vs {d}"
                );
            }
        }
    }
}
