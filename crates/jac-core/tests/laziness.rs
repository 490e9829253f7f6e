//! Laziness and caching: creating a Jacobian or Hessian computes nothing, a
//! read evaluates exactly the uncached rows its index touches, a row of
//! `ys[i]` fills every block `(i, j)`, and values never depend on what was
//! read before or on the block size. The tests that count rows read by
//! columns set [`Mode::Reverse`] (Paddle's rows only); how reads choose
//! between rows and columns is `direction.rs`'s.

use std::sync::{Mutex, MutexGuard};

use jac_core::index::Index;
use jac_core::{Jacobian, Mode, Tensor, hessian, jacobian, matmul, mul, sin, square, sum, tanh};

/// Every test here takes this lock, so no other test creates graph nodes
/// while [`creating_builds_no_graph_and_evaluates_nothing`] counts them
/// (node ids come from one process-wide counter).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn leaf(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape, true).unwrap()
}

fn konst(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape, false).unwrap()
}

fn read(j: &Jacobian, i: usize, k: usize, index: &[Index]) -> Vec<f64> {
    j.read(i, k, index).unwrap().iter().copied().collect()
}

fn slice(start: Option<i64>, stop: Option<i64>) -> Index {
    stepped(start, stop, 1)
}

fn stepped(start: Option<i64>, stop: Option<i64>, step: i64) -> Index {
    Index::Slice { start, stop, step }
}

/// The next node id the process will hand out (this creates one node).
fn next_node_id() -> u64 {
    Tensor::scalar(0.0).id().get()
}

const M: usize = 10;
const N: usize = 6;

/// `y = tanh(W x)` with `W [10, 6]`: `J[m, n] = (1 - y[m]^2) W[m, n]`.
fn ten_rows() -> (Jacobian, Vec<f64>) {
    let w: Vec<f64> = (0..M * N)
        .map(|e| ((e * 7 % 11) as f64 - 5.0) / 7.0)
        .collect();
    let xv: Vec<f64> = (0..N).map(|k| 0.3 - 0.1 * k as f64).collect();
    let x = leaf(&xv, &[N]);
    let y = tanh(&matmul(&konst(&w, &[M, N]), &x).unwrap()).unwrap();
    let yv = y.to_vec();
    let want = (0..M * N)
        .map(|e| (1.0 - yv[e / N].powi(2)) * w[e])
        .collect();
    (jacobian(&y, &x, None).unwrap(), want)
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-14 * (1.0 + w.abs()),
            "{what}: element {k}: {g} vs {w}"
        );
    }
}

#[test]
fn creating_builds_no_graph_and_evaluates_nothing() {
    let _serial = serial();
    // A deep program, so building its gradient would create many nodes.
    let x = leaf(&[0.1, 0.2, 0.3], &[3]);
    let mut t = x.clone();
    for _ in 0..50 {
        t = sin(&mul(&t, &x).unwrap()).unwrap();
    }
    let s = sum(&square(&t).unwrap(), None, false).unwrap();

    let before = next_node_id();
    let j = jacobian(&t, &x, None).unwrap();
    let h = hessian(&s, &x, None).unwrap();
    let hb = hessian(&s, std::slice::from_ref(&x), None).unwrap();
    // Only the probe itself was created in between: neither a sweep nor a
    // Hessian's gradient graph.
    assert_eq!(next_node_id(), before + 1);
    assert_eq!(j.rows_evaluated(0).unwrap(), 0);
    assert_eq!(h.rows_evaluated(0).unwrap(), 0);
    assert_eq!(hb.rows_evaluated(0).unwrap(), 0);
    // Shapes are known without evaluating anything either.
    assert_eq!(h.block_shape(0, 0).unwrap(), vec![3, 3]);
    assert_eq!(h.read_shape(0, 0, &[Index::Int(1)]).unwrap(), vec![3]);
    assert_eq!(next_node_id(), before + 2);
    assert_eq!(h.rows_evaluated(0).unwrap(), 0);

    // The first read builds the gradient (with create_graph: one node per op
    // of the program at least) and evaluates one row.
    let row = read(&h, 0, 0, &[Index::Int(1)]);
    assert!(next_node_id() > before + 2 + 100);
    assert_eq!(h.rows_evaluated(0).unwrap(), 1);
    assert_eq!(row.len(), 3);
}

#[test]
fn reads_evaluate_exactly_the_rows_they_touch_once() {
    let _serial = serial();
    let (j, want) = ten_rows();
    j.set_mode(Mode::Reverse);
    let row = |m: usize| want[m * N..(m + 1) * N].to_vec();
    let count = || j.rows_evaluated(0).unwrap();
    assert_eq!(count(), 0);

    // J[1:4]: rows 1, 2, 3.
    let a = read(&j, 0, 0, &[slice(Some(1), Some(4))]);
    assert_eq!(count(), 3);
    assert_close(&a, &[row(1), row(2), row(3)].concat(), "J[1:4]");
    // J[2:6]: rows 4 and 5 are new.
    let b = read(&j, 0, 0, &[slice(Some(2), Some(6))]);
    assert_eq!(count(), 5);
    // J[-1]: row 9.
    let c = read(&j, 0, 0, &[Index::Int(-1)]);
    assert_eq!(count(), 6);
    assert_close(&c, &row(9), "J[-1]");
    // Reading cached rows again, in any form, evaluates nothing: not even a
    // sweep whose result the cache would drop (no graph node is created).
    let before = next_node_id();
    read(&j, 0, 0, &[Index::Int(2), Index::Int(3)]);
    read(&j, 0, 0, &[slice(Some(1), Some(6)), Index::All]);
    read(&j, 0, 0, &[stepped(Some(5), Some(0), -2)]);
    assert_eq!(next_node_id(), before + 1);
    assert_eq!(count(), 6);
    // An empty selection, a shape query or a bad index evaluates nothing.
    assert_eq!(
        read(&j, 0, 0, &[slice(Some(7), Some(7))]),
        Vec::<f64>::new()
    );
    assert!(j.read(0, 0, &[Index::Int(10)]).is_err());
    j.read_shape(0, 0, &[]).unwrap();
    assert_eq!(count(), 6);
    // A column needs every row: J[:, 2] fills the remaining four.
    let col = read(&j, 0, 0, &[Index::All, Index::Int(2)]);
    assert_eq!(count(), M);
    let want_col: Vec<f64> = (0..M).map(|m| want[m * N + 2]).collect();
    assert_close(&col, &want_col, "J[:, 2]");
    // A second full read adds none, and no value ever changed.
    let all = read(&j, 0, 0, &[]);
    let before = next_node_id();
    let again = read(&j, 0, 0, &[Index::Ellipsis]);
    assert_eq!(next_node_id(), before + 1);
    assert_eq!(count(), M);
    assert_close(&all, &want, "J[:]");
    assert_eq!(all, again);
    assert_eq!(a, all[N..4 * N]);
    assert_eq!(b, all[2 * N..6 * N]);
    assert_eq!(c, all[9 * N..]);
    assert_eq!(col, want_col_of(&all, 2));
}

/// Column `n` of a row-major `[M, N]` matrix.
fn want_col_of(all: &[f64], n: usize) -> Vec<f64> {
    (0..M).map(|m| all[m * N + n]).collect()
}

#[test]
fn a_row_of_one_y_fills_every_block_of_that_y_and_counts_per_y() {
    let _serial = serial();
    // ys = (y0 [4], y1 [3]) of xs = (a [4], b [2], c []):
    // y0 = sin(a) c (b0 + b1), y1 = k (b0^2 + b1^2) with k = [1, 2, 3].
    let a = leaf(&[0.1, 0.2, 0.3, 0.4], &[4]);
    let b = leaf(&[1.0, 0.5], &[2]);
    let c = leaf(&[0.5], &[]);
    let sb = sum(&b, None, false).unwrap();
    let y0 = mul(&mul(&sin(&a).unwrap(), &c).unwrap(), &sb).unwrap();
    let sq = sum(&square(&b).unwrap(), None, false).unwrap();
    let y1 = mul(&konst(&[1.0, 2.0, 3.0], &[3]), &sq).unwrap();
    let j = jacobian(&[y0, y1], &[a, b, c], None).unwrap();
    j.set_mode(Mode::Reverse);
    let counts = || (j.rows_evaluated(0).unwrap(), j.rows_evaluated(1).unwrap());

    // Row 2 of block (0, 0): c (b0 + b1) cos(a2) e2.
    let r = read(&j, 0, 0, &[Index::Int(2)]);
    assert_eq!(counts(), (1, 0));
    assert_close(
        &r,
        &[0.0, 0.0, 0.75 * 0.3f64.cos(), 0.0],
        "block (0, 0) row 2",
    );
    // Blocks (0, 1) and (0, 2) of the same row are already there:
    // d y0[2] / d b = c sin(a2) [1, 1]; d y0[2] / d c = sin(a2) (b0 + b1).
    let r1 = read(&j, 0, 1, &[Index::Int(2)]);
    let r2 = read(&j, 0, 2, &[Index::Int(2)]);
    assert_eq!(counts(), (1, 0));
    let s2 = 0.3f64.sin();
    assert_close(&r1, &[0.5 * s2, 0.5 * s2], "block (0, 1) row 2");
    assert_close(&r2, &[1.5 * s2], "block (0, 2) row 2");
    // Rows of y1 are counted for y1 only: d y1[m] / d b = 2 k[m] b.
    let r = read(&j, 1, 1, &[slice(Some(0), Some(2))]);
    assert_close(&r, &[2.0, 1.0, 4.0, 2.0], "block (1, 1) rows 0, 1");
    assert_eq!(counts(), (1, 2));
    assert_close(&read(&j, 1, 0, &[]), &[0.0; 12], "block (1, 0)");
    assert_close(&read(&j, 1, 2, &[]), &[0.0; 3], "block (1, 2)");
    assert_eq!(counts(), (1, 3));
    read(&j, 0, 1, &[]);
    assert_eq!(counts(), (4, 3));
    // Reading block (0, 0) whole after that evaluates nothing new.
    read(&j, 0, 0, &[]);
    assert_eq!(counts(), (4, 3));
}

#[test]
fn hessian_rows_are_lazy_and_shared_across_blocks() {
    let _serial = serial();
    // y = sum(x1^2) sum(x2) + sum(sin(x1)):
    // H11 = diag(2 sum(x2) - sin(x1)), H12[p, q] = 2 x1[p], H22 = 0.
    let x1 = leaf(&[0.3, -0.6, 0.9, 1.2], &[4]);
    let x2 = leaf(&[0.5, 1.5], &[2]);
    let y = sum(
        &jac_core::add(
            &mul(&square(&x1).unwrap(), &sum(&x2, None, false).unwrap()).unwrap(),
            &sin(&x1).unwrap(),
        )
        .unwrap(),
        None,
        false,
    )
    .unwrap();
    let h = hessian(&y, &[x1, x2], None).unwrap();
    h.set_mode(Mode::Reverse);
    let counts = || (h.rows_evaluated(0).unwrap(), h.rows_evaluated(1).unwrap());
    assert_eq!(counts(), (0, 0));
    let r = read(&h, 0, 1, &[Index::Int(-2)]);
    assert_close(&r, &[1.8, 1.8], "H12[2]");
    assert_eq!(counts(), (1, 0));
    let d = read(&h, 0, 0, &[Index::Int(2)]);
    assert_close(&d, &[0.0, 0.0, 4.0 - 0.9f64.sin(), 0.0], "H11[2]");
    assert_eq!(counts(), (1, 0));
    let col = read(&h, 1, 0, &[Index::All, Index::Int(0)]);
    assert_close(&col, &[0.6, 0.6], "H21[:, 0]");
    assert_eq!(counts(), (1, 2));
    read(&h, 0, 0, &[slice(None, Some(3))]);
    assert_eq!(counts(), (3, 2));
    assert_close(&read(&h, 1, 1, &[]), &[0.0; 4], "H22");
    assert_eq!(counts(), (3, 2));
}

#[test]
fn a_batched_row_covers_every_sample() {
    let _serial = serial();
    // y [B=3, M=4] = sin(x W) for x [3, 2]: row m is every sample's y[:, m].
    let x = leaf(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[3, 2]);
    let w = konst(&[1.0, -1.0, 0.5, 2.0, 0.0, 1.0, -0.5, 0.25], &[2, 4]);
    let y = sin(&matmul(&x, &w).unwrap()).unwrap();
    let j = jacobian(&y, &x, Some(0)).unwrap();
    read(&j, 0, 0, &[Index::Int(0), Index::Int(1)]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 1);
    read(&j, 0, 0, &[Index::Int(2), Index::Int(1)]);
    read(&j, 0, 0, &[Index::All, Index::Int(1), Index::Int(0)]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 1);
    read(&j, 0, 0, &[Index::Int(1), slice(Some(2), None)]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 3);
    read(&j, 0, 0, &[Index::Ellipsis, Index::Int(0)]);
    assert_eq!(j.rows_evaluated(0).unwrap(), 4);
}

#[test]
fn block_size_changes_nothing_but_the_number_of_sweeps() {
    let _serial = serial();
    let (reference, want) = ten_rows();
    assert!(reference.block_rows() >= 1);
    let full = read(&reference, 0, 0, &[]);
    assert_close(&full, &want, "default block size");
    for k in [1, 3, 64] {
        let (j, _) = ten_rows();
        j.set_block_rows(k);
        assert_eq!(j.block_rows(), k);
        // A strided read, then the rest: the same values, the same count.
        let odd = read(&j, 0, 0, &[stepped(Some(1), None, 2)]);
        assert_eq!(j.rows_evaluated(0).unwrap(), M / 2, "k = {k}");
        let all = read(&j, 0, 0, &[]);
        assert_eq!(j.rows_evaluated(0).unwrap(), M, "k = {k}");
        assert_close(&all, &full, &format!("k = {k}"));
        let odd_want: Vec<f64> = (1..M)
            .step_by(2)
            .flat_map(|m| full[m * N..(m + 1) * N].to_vec())
            .collect();
        assert_close(&odd, &odd_want, &format!("k = {k}, odd rows"));
    }
    // Zero rows per sweep is taken as one.
    let (j, _) = ten_rows();
    j.set_block_rows(0);
    assert_eq!(j.block_rows(), 1);
    assert_close(&read(&j, 0, 0, &[]), &full, "k = 0");
}
