//! When the OS refuses libjac a thread, the work that thread would have done
//! runs on the calling thread: the same results, `JAC_OK`, nothing on
//! stderr (it used to be `JAC_ERR_INTERNAL` from a panic, printed).
//!
//! A plain `main` (`harness = false`): it re-runs itself as a child process
//! with `RUST_MIN_STACK` larger than the address space, so that every thread
//! Rust starts in the child fails to start (libtest could not run there: it
//! starts a thread per test). The child makes a matrix-vector product and
//! reads its whole Jacobian, both large enough to be split across threads,
//! and prints a digest of the values, which the parent compares with its own,
//! computed with threads.

use std::ffi::CStr;
use std::process::Command;
use std::ptr::{null, null_mut};

use jac::*;

/// Set in the child.
const CHILD: &str = "JAC_THREADS_REFUSED_CHILD";
/// Rows and columns of W: W x costs 2^20 multiply-adds (PARALLEL_WORK), so
/// the product splits its rows, and so does the read of its 256 rows.
const M: usize = 256;
const N: usize = 4096;

fn last_error() -> String {
    // SAFETY: jac_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(jac_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[track_caller]
fn ok(status: JacStatus) {
    assert_eq!(status, JacStatus::JacOk, "{}", last_error());
}

/// The values of W x and of its Jacobian (W itself), folded into one
/// order-sensitive digest of their bits.
fn digest() -> u64 {
    let w: Vec<f64> = (0..M * N)
        .map(|k| ((k * 37 % 101) as f64 - 50.0) / 7.0)
        .collect();
    let x: Vec<f64> = (0..N).map(|k| (k % 13) as f64 / 3.0 - 2.0).collect();
    let mut bits = 0xcbf2_9ce4_8422_2325u64;
    let mut fold = |values: &[f64]| {
        for v in values {
            bits = (bits ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    // SAFETY: valid buffers of the stated lengths, live handles, each freed once.
    unsafe {
        let (mut wt, mut xt, mut y, mut j) = (null_mut(), null_mut(), null_mut(), null_mut());
        let shape = [M as i64, N as i64];
        ok(jac_tensor_new(
            w.as_ptr(),
            w.len(),
            shape.as_ptr(),
            2,
            false,
            &mut wt,
        ));
        ok(jac_tensor_new(
            x.as_ptr(),
            N,
            [N as i64].as_ptr(),
            1,
            true,
            &mut xt,
        ));
        ok(jac_matmul(wt, xt, &mut y));
        let mut values = vec![0.0; M];
        ok(jac_tensor_read(y, values.as_mut_ptr(), M));
        fold(&values);
        let (ys, xs) = ([y.cast_const()], [xt.cast_const()]);
        ok(jac_jacobian_new(
            ys.as_ptr(),
            1,
            xs.as_ptr(),
            1,
            i64::MIN,
            &mut j,
        ));
        let mut jacobian = vec![0.0; M * N];
        ok(jac_jacobian_read(
            j,
            0,
            0,
            null(),
            0,
            jacobian.as_mut_ptr(),
            M * N,
        ));
        assert_eq!(jacobian, w, "the Jacobian of W x is W");
        fold(&jacobian);
        let mut rows = 0;
        ok(jac_jacobian_rows_evaluated(j, 0, &mut rows));
        assert_eq!(rows, M, "every row evaluated exactly once");
        jac_jacobian_free(j);
        for t in [y, xt, wt] {
            jac_tensor_free(t);
        }
    }
    bits
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        // Not vacuous: the OS really refuses this process threads.
        assert!(
            std::thread::Builder::new().spawn(|| {}).is_err(),
            "the child could start a thread"
        );
        println!("{}", digest());
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .env(CHILD, "1")
        // 1 PiB: more than any address space has, so every thread's stack
        // allocation fails.
        .env("RUST_MIN_STACK", (1u64 << 50).to_string())
        .env_remove("JAC_NUM_THREADS")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert_eq!(stderr, "", "libjac wrote to stderr");
    let with_threads = digest();
    assert_eq!(
        stdout.trim(),
        with_threads.to_string(),
        "the results without threads differ from those with {cores} cores"
    );
    if cores < 2 {
        println!("threads_refused: one core only, so nothing was split (checked anyway)");
    }
    println!("threads_refused: the same results with every thread refused: ok");
}
