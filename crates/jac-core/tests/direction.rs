//! Which direction a read takes: rows by reverse sweeps, columns by forward
//! sweeps, or in `Mode::Auto` whichever needs fewer sweeps over what is not
//! cached; rows and columns fill one cache (an entry is read from whichever
//! holds it); counts of rows and columns per read in each mode; Hessian
//! columns by forward over reverse; batched (per-sample) columns; replayed
//! programs; and threads reading rows and columns of one Jacobian at once.

mod common;

use common::{Domain, Rng, random_tensor};
use jac_core::index::Index;
use jac_core::{
    Function, Jacobian, Mode, Tensor, hessian, jacobian, matmul, mul, sin, square, sum, tanh,
};

fn read(j: &Jacobian, i: usize, k: usize, index: &[Index]) -> Vec<f64> {
    j.read(i, k, index).unwrap().iter().copied().collect()
}

fn counts(j: &Jacobian) -> (usize, usize) {
    (
        j.rows_evaluated(0).unwrap(),
        j.columns_evaluated(0).unwrap(),
    )
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-13 * (1.0 + w.abs()),
            "{what}: element {k}: {g} vs {w}"
        );
    }
}

/// `y = tanh(W x)`, `W [m, n]`, and its Jacobian `(1 - y^2) W` row-major.
fn mlp(m: usize, n: usize) -> (Jacobian, Vec<f64>) {
    let mut rng = Rng::new((m * 31 + n) as u64);
    let w = random_tensor(&[m, n], Domain::Uniform(-1.0, 1.0), &mut rng, false);
    let x = random_tensor(&[n], Domain::Uniform(-1.0, 1.0), &mut rng, true);
    let y = tanh(&matmul(&w, &x).unwrap()).unwrap();
    let (wv, yv) = (w.to_vec(), y.to_vec());
    let want = (0..m * n)
        .map(|e| (1.0 - yv[e / n].powi(2)) * wv[e])
        .collect();
    (jacobian(&y, &x, None).unwrap(), want)
}

fn column(all: &[f64], n: usize, c: usize) -> Vec<f64> {
    all.chunks(n).map(|row| row[c]).collect()
}

#[test]
fn a_column_read_costs_one_forward_sweep_and_is_reused() {
    let (j, want) = mlp(10, 6);
    assert_eq!(j.mode(), Mode::Auto);
    let c = read(&j, 0, 0, &[Index::All, Index::Int(3)]);
    assert_eq!(counts(&j), (0, 1));
    assert_close(&c, &column(&want, 6, 3), "J[:, 3]");
    // Entries of that column, in any form, come from the cache.
    let e = read(&j, 0, 0, &[Index::Int(7), Index::Int(3)]);
    assert_eq!(e, vec![c[7]]);
    read(&j, 0, 0, &[Index::range(2, 5), Index::range(3, 4)]);
    assert_eq!(counts(&j), (0, 1));
    // Row 7 misses five columns: one reverse sweep is cheaper; its entry
    // in column 3 is the same number either way.
    let r = read(&j, 0, 0, &[Index::Int(7)]);
    assert_eq!(counts(&j), (1, 1));
    assert_close(&r, &want[7 * 6..8 * 6], "J[7]");
    assert_close(&[r[3]], &[c[7]], "J[7, 3] both ways");
    // J[0:2, 1:3]: 2 uncached rows, 2 uncached columns: a tie goes to rows.
    read(&j, 0, 0, &[Index::range(0, 2), Index::range(1, 3)]);
    assert_eq!(counts(&j), (3, 1));
    // J[:] now misses 7 rows but only 5 columns.
    let all = read(&j, 0, 0, &[]);
    assert_eq!(counts(&j), (3, 6));
    assert_close(&all, &want, "J[:]");
    // Everything is cached: the other mode computes nothing either.
    j.set_mode(Mode::Reverse);
    assert_eq!(read(&j, 0, 0, &[]), all);
    assert_eq!(counts(&j), (3, 6));
}

#[test]
fn a_tall_full_read_sweeps_columns_and_a_wide_one_rows() {
    let (tall, want) = mlp(40, 3);
    assert_close(&read(&tall, 0, 0, &[]), &want, "tall J[:]");
    assert_eq!(counts(&tall), (0, 3));
    let (wide, want) = mlp(3, 40);
    assert_close(&read(&wide, 0, 0, &[]), &want, "wide J[:]");
    assert_eq!(counts(&wide), (3, 0));
    // Square: a tie, rows (Paddle's direction).
    let (square_j, want) = mlp(5, 5);
    assert_close(&read(&square_j, 0, 0, &[]), &want, "square J[:]");
    assert_eq!(counts(&square_j), (5, 0));
}

#[test]
fn each_mode_sweeps_only_its_own_direction() {
    let (j, want) = mlp(10, 6);
    j.set_mode(Mode::Forward);
    assert_eq!(j.mode(), Mode::Forward);
    let r = read(&j, 0, 0, &[Index::Int(4)]);
    assert_eq!(counts(&j), (0, 6));
    assert_close(&r, &want[24..30], "J[4] by columns");
    let (j, want) = mlp(10, 6);
    j.set_mode(Mode::Reverse);
    let c = read(&j, 0, 0, &[Index::All, Index::Int(0)]);
    assert_eq!(counts(&j), (10, 0));
    assert_close(&c, &column(&want, 6, 0), "J[:, 0] by rows");
    // Block size bounds columns per forward sweep as it bounds rows.
    let (j, want) = mlp(30, 7);
    j.set_mode(Mode::Forward);
    j.set_block_rows(2);
    assert_close(&read(&j, 0, 0, &[]), &want, "k = 2 columns per sweep");
    assert_eq!(counts(&j), (0, 7));
}

/// A column of one x fills every block of that x; columns count per x.
#[test]
fn a_column_of_one_x_fills_every_block_of_that_x() {
    // ys = (y0 [5] = sin(a) * c, y1 [3] = k * sum(a^2) c) of xs = (a [5], c []).
    let a = Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5], &[5], true).unwrap();
    let c = Tensor::from_vec(vec![1.5], &[], true).unwrap();
    let y0 = mul(&sin(&a).unwrap(), &c).unwrap();
    let k = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], false).unwrap();
    let sq = mul(&sum(&square(&a).unwrap(), None, false).unwrap(), &c).unwrap();
    let y1 = mul(&k, &sq).unwrap();
    let j = jacobian(&[y0, y1], &[a, c], None).unwrap();
    // Block (0, 1) is d y0 / dc = sin(a): one column (c is 0-D).
    let b01 = read(&j, 0, 1, &[]);
    let sins: Vec<f64> = [0.1f64, 0.2, 0.3, 0.4, 0.5]
        .iter()
        .map(|v| v.sin())
        .collect();
    assert_close(&b01, &sins, "d y0 / dc");
    assert_eq!(j.columns_evaluated(1).unwrap(), 1);
    assert_eq!(j.columns_evaluated(0).unwrap(), 0);
    // The same column gave block (1, 1) = k sum(a^2): no new sweep.
    let b11 = read(&j, 1, 1, &[]);
    let s2: f64 = [0.01, 0.04, 0.09, 0.16, 0.25].iter().sum();
    assert_close(&b11, &[s2, 2.0 * s2, 3.0 * s2], "d y1 / dc");
    assert_eq!(j.columns_evaluated(1).unwrap(), 1);
    assert_eq!(
        (j.rows_evaluated(0).unwrap(), j.rows_evaluated(1).unwrap()),
        (0, 0)
    );
    assert!(j.columns_evaluated(2).is_err());
}

#[test]
fn hessian_columns_are_forward_over_reverse() {
    // y = sum(x1^2) sum(x2) + sum(sin(x1)): H11 = diag(2 sum(x2) - sin(x1)),
    // H21[q, p] = 2 x1[p].
    let x1 = Tensor::from_vec(vec![0.3, -0.6, 0.9, 1.2], &[4], true).unwrap();
    let x2 = Tensor::from_vec(vec![0.5, 1.5], &[2], true).unwrap();
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
    let col = read(&h, 0, 0, &[Index::All, Index::Int(2)]);
    assert_close(&col, &[0.0, 0.0, 4.0 - 0.9f64.sin(), 0.0], "H11[:, 2]");
    assert_eq!(h.columns_evaluated(0).unwrap(), 1);
    assert_eq!(h.rows_evaluated(0).unwrap(), 0);
    // The column of x1 also gave H21[:, 2] = 2 x1[2].
    assert_close(
        &read(&h, 1, 0, &[Index::All, Index::Int(2)]),
        &[1.8, 1.8],
        "H21[:, 2]",
    );
    assert_eq!(h.columns_evaluated(0).unwrap(), 1);
    h.set_mode(Mode::Forward);
    let full = read(&h, 0, 0, &[]);
    assert_eq!(h.columns_evaluated(0).unwrap(), 4);
    let d = |v: f64| 4.0 - v.sin();
    let want = [
        d(0.3),
        0.0,
        0.0,
        0.0,
        0.0,
        d(-0.6),
        0.0,
        0.0,
        0.0,
        0.0,
        d(0.9),
        0.0,
        0.0,
        0.0,
        0.0,
        d(1.2),
    ];
    assert_close(&full, &want, "H11 by columns");
}

/// Batched, a column is per sample: the tangent is 1 at that position of
/// every sample.
#[test]
fn batched_columns_are_per_sample_columns() {
    // y [B=3, M=8] = sin(x W) for x [3, 2].
    let x = Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[3, 2], true).unwrap();
    let mut rng = Rng::new(3);
    let w = random_tensor(&[2, 8], Domain::Uniform(-1.0, 1.0), &mut rng, false);
    let y = sin(&matmul(&x, &w).unwrap()).unwrap();
    let rows = jacobian(&y, &x, Some(0)).unwrap();
    rows.set_mode(Mode::Reverse);
    let want = read(&rows, 0, 0, &[]);
    let j = jacobian(&y, &x, Some(0)).unwrap();
    assert_eq!(j.block_shape(0, 0).unwrap(), vec![3, 8, 2]);
    // J[:, :, 1] in AUTO: one per-sample column instead of 8 rows.
    let c = read(&j, 0, 0, &[Index::All, Index::All, Index::Int(1)]);
    assert_eq!(counts(&j), (0, 1));
    let want_c: Vec<f64> = want.chunks(2).map(|p| p[1]).collect();
    assert_close(&c, &want_c, "J[:, :, 1]");
    assert_close(&read(&j, 0, 0, &[]), &want, "J[:] batched");
    assert_eq!(counts(&j), (0, 2));
}

#[test]
fn a_replayed_program_reads_columns_too() {
    let x = Tensor::from_vec(vec![0.0; 3], &[3], true).unwrap();
    let mut rng = Rng::new(11);
    let w = random_tensor(&[20, 3], Domain::Uniform(-1.0, 1.0), &mut rng, false);
    let f = Function::new(
        std::slice::from_ref(&x),
        &[tanh(&matmul(&w, &x).unwrap()).unwrap()],
    )
    .unwrap();
    let point = [0.3, -0.2, 0.7];
    let by_rows = f.jacobian(&[&point], None).unwrap();
    by_rows.set_mode(Mode::Reverse);
    let want = read(&by_rows, 0, 0, &[]);
    let j = f.jacobian(&[&point], None).unwrap();
    let got = read(&j, 0, 0, &[]);
    assert_eq!(counts(&j), (0, 3));
    assert_close(&got, &want, "replayed J[:] by columns");
}

/// Eight threads read overlapping row windows and single columns of one
/// tall Jacobian at once: every row and every column is computed at most
/// once, and every value is the serial one.
#[test]
fn threads_reading_rows_and_columns_at_once_compute_each_once() {
    let (serial, want) = mlp(64, 8);
    assert_close(&read(&serial, 0, 0, &[]), &want, "serial");
    let (j, _) = mlp(64, 8);
    j.set_block_rows(2);
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (j, want, barrier) = (&j, &want, &barrier);
            s.spawn(move || {
                barrier.wait();
                for r in 0..10 {
                    let a = (t * 5 + r * 3) % 60;
                    let rows = read(j, 0, 0, &[Index::range(a as i64, a as i64 + 3)]);
                    assert_close(&rows, &want[a * 8..(a + 3) * 8], "rows");
                    let c = (t + r) % 8;
                    let col = read(j, 0, 0, &[Index::All, Index::Int(c as i64)]);
                    assert_close(&col, &column(want, 8, c), "column");
                }
            });
        }
    });
    let (rows, columns) = counts(&j);
    assert!(rows <= 64 && columns <= 8, "{rows} rows, {columns} columns");
    assert!(columns > 0, "the column reads used forward sweeps");
    assert_close(&read(&j, 0, 0, &[]), &want, "after the threads");
}
