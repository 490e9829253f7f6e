//! One Jacobian (or Hessian) read from 8 threads at once: every row is
//! evaluated exactly once, and every value equals the serial result.
//!
//! "Exactly once" is checked twice: by `rows_evaluated`, and independently
//! of the cache's own counter by the number of graph nodes the reads create
//! (node ids come from one process-wide counter, so the tests here run one
//! at a time, and a sweep for one row creates the same number of nodes every
//! time).

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex, MutexGuard};

use jac_core::index::Index;
use jac_core::{Jacobian, Mode, Tensor, hessian, jacobian, matmul, mul, sin, sum, tanh};

const THREADS: usize = 8;
const ROUNDS: usize = 20;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next node id the process will hand out (this creates one node).
fn next_node_id() -> u64 {
    Tensor::scalar(0.0).id().get()
}

/// The graph nodes `f` creates.
fn nodes_created(f: impl FnOnce()) -> u64 {
    let before = next_node_id();
    f();
    next_node_id() - before - 1
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

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (e, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-13 * (1.0 + w.abs()),
            "{what}: element {e}: {g} vs {w}"
        );
    }
}

const M: usize = 48;
const N: usize = 5;

/// `y = tanh(W x) * sin(x0)` (`[48]` of `[5]` and a 0-D `x0`), as a
/// two-block Jacobian read by rows only (`Mode::Reverse`: these tests count
/// rows; reads that mix rows and columns are `direction.rs`'s).
fn build() -> Jacobian {
    let w: Vec<f64> = (0..M * N)
        .map(|e| ((e * 13 % 17) as f64 - 8.0) / 9.0)
        .collect();
    let x = leaf(&[0.2, -0.1, 0.4, 0.05, -0.3], &[N]);
    let x0 = leaf(&[0.7], &[]);
    let y = mul(
        &tanh(&matmul(&konst(&w, &[M, N]), &x).unwrap()).unwrap(),
        &sin(&x0).unwrap(),
    )
    .unwrap();
    let j = jacobian(&y, &[x, x0], None).unwrap();
    j.set_mode(Mode::Reverse);
    j
}

/// The rows thread `t` reads in round `r`: a window that overlaps its
/// neighbours' (rows 0..40 in all, never 40..48).
fn window(t: usize, r: usize) -> (usize, usize) {
    let start = (t * 4 + r % 5) % 36;
    (start, start + 8)
}

fn touched_rows() -> BTreeSet<usize> {
    (0..THREADS)
        .flat_map(|t| (0..ROUNDS).map(move |r| window(t, r)))
        .flat_map(|(a, b)| a..b)
        .collect()
}

/// One thread's reads: alternating blocks, row windows and single rows.
fn reader(j: &Jacobian, t: usize, serial: &[Vec<f64>; 2]) {
    for r in 0..ROUNDS {
        let (a, b) = window(t, r);
        let k = (t + r) % 2;
        let width = if k == 0 { N } else { 1 };
        let index = [Index::range(a as i64, b as i64)];
        let got = read(j, 0, k, &index);
        assert_close(
            &got,
            &serial[k][a * width..b * width],
            &format!("thread {t} round {r}"),
        );
        let m = a + (t * 3 + r) % (b - a);
        let got = read(j, 0, 1 - k, &[Index::Int(m as i64)]);
        let w = if k == 0 { 1 } else { N };
        assert_close(&got, &serial[1 - k][m * w..(m + 1) * w], "single row");
    }
}

#[test]
fn eight_threads_share_one_jacobian_through_an_arc() {
    let _serial = serial();
    let serial_j = build();
    let serial = [read(&serial_j, 0, 0, &[]), read(&serial_j, 0, 1, &[])];
    assert_eq!(serial_j.rows_evaluated(0).unwrap(), M);

    let j = Arc::new(build());
    j.set_block_rows(3);
    let serial = Arc::new(serial);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (j, serial, barrier) = (Arc::clone(&j), Arc::clone(&serial), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                reader(&j, t, &serial);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let touched = touched_rows();
    assert_eq!(touched.len(), 40, "the windows leave rows 40..48 alone");
    assert_eq!(j.rows_evaluated(0).unwrap(), touched.len());
    // The untouched rows come later and match too.
    assert_close(&read(&j, 0, 0, &[]), &serial[0], "full block 0");
    assert_close(&read(&j, 0, 1, &[]), &serial[1], "full block 1");
    assert_eq!(j.rows_evaluated(0).unwrap(), M);
}

#[test]
fn eight_scoped_threads_share_one_jacobian_by_reference() {
    let _serial = serial();
    let serial_j = build();
    let serial = [read(&serial_j, 0, 0, &[]), read(&serial_j, 0, 1, &[])];
    // The nodes one single-row sweep creates.
    let one_row = {
        let j = build();
        j.set_block_rows(1);
        nodes_created(|| drop(read(&j, 0, 0, &[Index::Int(5)])))
    };
    assert!(one_row > 0);
    // With one row per sweep, the rows are computed exactly as serially.
    for block_rows in [1, 64] {
        let j = build();
        j.set_block_rows(block_rows);
        let barrier = Barrier::new(THREADS);
        let created = nodes_created(|| {
            std::thread::scope(|s| {
                for t in 0..THREADS {
                    let (j, serial, barrier) = (&j, &serial, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        // First all at once on the same 24 rows (the most
                        // contention: one thread sweeps, the others wait),
                        // then the overlapping windows.
                        let first = read(j, 0, t % 2, &[Index::range(0, 24)]);
                        let width = if t % 2 == 0 { N } else { 1 };
                        assert_close(&first, &serial[t % 2][..24 * width], "rows 0..24");
                        reader(j, t, serial);
                    });
                }
            })
        });
        assert_eq!(j.rows_evaluated(0).unwrap(), touched_rows().len());
        if block_rows == 1 {
            // No row was swept twice, whatever the cache counted.
            assert_eq!(created, one_row * touched_rows().len() as u64);
            let all = read(&j, 0, 0, &[]);
            assert_eq!(all, serial[0], "bitwise equal with one row per sweep");
        }
    }
}

#[test]
fn eight_threads_share_one_hessian() {
    let _serial = serial();
    // y = sum(sin(W x)^2) for x [12]: H = W^T diag(2 cos(2 z)) W, z = W x.
    let n = 12;
    let w: Vec<f64> = (0..n * n)
        .map(|e| ((e * 5 % 13) as f64 - 6.0) / 10.0)
        .collect();
    let xv: Vec<f64> = (0..n).map(|k| 0.1 * k as f64 - 0.5).collect();
    let build = || {
        let x = leaf(&xv, &[n]);
        let s = sin(&matmul(&konst(&w, &[n, n]), &x).unwrap()).unwrap();
        hessian(&sum(&mul(&s, &s).unwrap(), None, false).unwrap(), &x, None).unwrap()
    };
    let z: Vec<f64> = (0..n)
        .map(|r| (0..n).map(|c| w[r * n + c] * xv[c]).sum())
        .collect();
    let want: Vec<f64> = (0..n * n)
        .map(|e| {
            let (p, q) = (e / n, e % n);
            (0..n)
                .map(|r| w[r * n + p] * 2.0 * (2.0 * z[r]).cos() * w[r * n + q])
                .sum()
        })
        .collect();

    // The nodes of building the gradient plus one row, and of one more row.
    let (first, next) = {
        let h = build();
        h.set_block_rows(1);
        let first = nodes_created(|| drop(read(&h, 0, 0, &[Index::Int(0)])));
        let next = nodes_created(|| drop(read(&h, 0, 0, &[Index::Int(1)])));
        (first, next)
    };
    assert!(first > next && next > 0);

    let h = build();
    h.set_block_rows(1);
    let barrier = Barrier::new(THREADS);
    let created = nodes_created(|| {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (h, want, barrier) = (&h, &want, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    for r in 0..ROUNDS {
                        // Rows t..t+4 (wrapping inside 0..10), read whole or as
                        // one column: never rows 10 and 11.
                        let a = (t + r) % 7;
                        let got = read(h, 0, 0, &[Index::range(a as i64, a as i64 + 4)]);
                        assert_close(&got, &want[a * n..(a + 4) * n], "H rows");
                        let got = read(
                            h,
                            0,
                            0,
                            &[Index::range(a as i64, a as i64 + 4), Index::Int(3)],
                        );
                        let col: Vec<f64> = (a..a + 4).map(|m| want[m * n + 3]).collect();
                        assert_close(&got, &col, "H column");
                    }
                });
            }
        })
    });
    assert_eq!(h.rows_evaluated(0).unwrap(), 10);
    // The gradient was built once and each of the 10 rows swept once.
    assert_eq!(created, first + 9 * next);
    assert_close(&read(&h, 0, 0, &[]), &want, "full H");
    assert_eq!(h.rows_evaluated(0).unwrap(), n);
}
