//! The C ABI called from Rust exactly as C calls it: raw pointers, NULLs,
//! zero lengths with NULL pointers (the empty buffer, never an error), bad
//! shapes, capacities, misaligned buffers, outputs left untouched on
//! failure, and Paddle's seed example end to end.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use jac::*;

const NONE: i64 = i64::MIN;

/// The calling thread's last message.
fn last_error() -> String {
    // SAFETY: jac_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(jac_last_error()) }
        .to_str()
        .expect("utf-8 message")
        .to_owned()
}

/// Asserts `status` is `want` and the message starts with `function` and
/// mentions `needle`.
#[track_caller]
fn assert_failure(status: JacStatus, want: JacStatus, function: &str, needle: &str) {
    let message = last_error();
    assert_eq!(status, want, "{message}");
    assert!(
        message.starts_with(&format!("{function}: ")),
        "{message:?} does not start with {function}"
    );
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[track_caller]
fn assert_ok(status: JacStatus) {
    assert_eq!(status, JacStatus::JacOk, "{}", last_error());
    assert_eq!(last_error(), "");
}

/// A tensor handle that frees itself.
struct Handle(*mut JacTensor);

impl Handle {
    fn new(data: &[f64], shape: &[i64], requires_grad: bool) -> Handle {
        let mut out = null_mut();
        // SAFETY: the slices are valid for their lengths; `out` is writable.
        let status = unsafe {
            jac_tensor_new(
                data.as_ptr(),
                data.len(),
                shape.as_ptr(),
                shape.len(),
                requires_grad,
                &mut out,
            )
        };
        assert_ok(status);
        Handle(out)
    }

    fn from(out: *mut JacTensor) -> Handle {
        assert!(!out.is_null());
        Handle(out)
    }

    fn values(&self) -> Vec<f64> {
        let mut n = 0;
        // SAFETY: a live handle and writable outputs of the stated sizes.
        unsafe {
            assert_ok(jac_tensor_numel(self.0, &mut n));
            let mut v = vec![0.0; n];
            assert_ok(jac_tensor_read(self.0, v.as_mut_ptr(), n));
            v
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: made by libjac, freed once.
        unsafe { jac_tensor_free(self.0) }
    }
}

/// A Jacobian handle that frees itself.
struct Jac(*mut JacJacobian);

impl Drop for Jac {
    fn drop(&mut self) {
        // SAFETY: made by libjac, freed once.
        unsafe { jac_jacobian_free(self.0) }
    }
}

#[test]
fn seed_example_round_trip() {
    // Paddle: y = x1 + x2; J = jacobian(y, (x1, x2)): two 3 x 3 identities.
    let x1 = Handle::new(&[-0.4624, 0.6623, 0.38], &[3], true);
    let x2 = Handle::new(&[1.0051, 0.7353, 1.9495], &[3], true);
    let mut y = null_mut();
    // SAFETY: live handles and writable outputs throughout.
    unsafe {
        assert_ok(jac_add(x1.0, x2.0, &mut y));
        let y = Handle::from(y);
        let ys = [y.0.cast_const()];
        let xs = [x1.0.cast_const(), x2.0.cast_const()];
        let mut j = null_mut();
        assert_ok(jac_jacobian_new(
            ys.as_ptr(),
            1,
            xs.as_ptr(),
            2,
            NONE,
            &mut j,
        ));
        let j = Jac(j);
        let (mut rows, mut cols) = (0, 0);
        assert_ok(jac_jacobian_blocks(j.0, &mut rows, &mut cols));
        assert_eq!((rows, cols), (1, 2));
        let mut evaluated = 99;
        assert_ok(jac_jacobian_rows_evaluated(j.0, 0, &mut evaluated));
        assert_eq!(evaluated, 0, "creating a Jacobian computes nothing");
        for block in 0..2 {
            let mut shape = [0i64; 3];
            let mut ndim = 0;
            assert_ok(jac_jacobian_block_shape(
                j.0,
                0,
                block,
                shape.as_mut_ptr(),
                3,
                &mut ndim,
            ));
            assert_eq!(&shape[..ndim], &[3, 3]);
            let all = [JacIndex {
                kind: JacIndexKind::JacIndexAll as i32,
                start: 0,
                stop: 0,
                step: 0,
            }];
            let mut values = [f64::NAN; 10];
            assert_ok(jac_jacobian_read(
                j.0,
                0,
                block,
                all.as_ptr(),
                1,
                values.as_mut_ptr(),
                9,
            ));
            assert_eq!(&values[..9], &[1., 0., 0., 0., 1., 0., 0., 0., 1.]);
            assert!(values[9].is_nan(), "wrote past out_len");
        }
        assert_ok(jac_jacobian_rows_evaluated(j.0, 0, &mut evaluated));
        assert_eq!(evaluated, 3, "each row once, shared by both blocks");
        // The Jacobian outlives the tensor handles it was made from.
        drop((x1, x2, y));
        let mut row = [0.0; 3];
        let index = [JacIndex {
            kind: JacIndexKind::JacIndexInt as i32,
            start: -1,
            stop: 0,
            step: 0,
        }];
        assert_ok(jac_jacobian_read(
            j.0,
            0,
            1,
            index.as_ptr(),
            1,
            row.as_mut_ptr(),
            3,
        ));
        assert_eq!(row, [0.0, 0.0, 1.0]);
    }
}

#[test]
fn null_handles_and_out_pointers_name_the_argument() {
    let t = Handle::new(&[1.0, 2.0], &[2], true);
    let mut out = null_mut();
    let mut n = 0usize;
    // SAFETY: every pointer is NULL or valid, as each function allows.
    unsafe {
        let s = jac_tensor_new([1.0].as_ptr(), 1, null(), 0, false, null_mut());
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_tensor_new", "out");
        let s = jac_tensor_numel(null(), &mut n);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_tensor_numel", "t");
        let s = jac_exp(null(), &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_exp", "a");
        let s = jac_mul(t.0, null(), &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_mul", "b");
        let s = jac_mul(t.0, t.0, null_mut());
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_mul", "out");
        let s = jac_where(null(), t.0, t.0, &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_where", "mask");
        let ys = [t.0.cast_const(), null()];
        let s = jac_concat(ys.as_ptr(), 2, 0, &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_concat", "ts[1]");
        let s = jac_grad(ys.as_ptr(), 2, ys.as_ptr(), 1, null(), false, &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_grad", "ys[1]");
        let mut j = null_mut();
        let s = jac_jacobian_new(ys.as_ptr(), 1, null(), 1, NONE, &mut j);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_jacobian_new", "xs");
        let s = jac_hessian_new(null(), ys.as_ptr(), 1, NONE, &mut j);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_hessian_new", "y");
        let s = jac_jacobian_rows_evaluated(null(), 0, &mut n);
        assert_failure(
            s,
            JacStatus::JacErrNullArgument,
            "jac_jacobian_rows_evaluated",
            "jac",
        );
        assert!(out.is_null() && j.is_null() && n == 0, "written on failure");
        // Freeing NULL is a no-op.
        jac_tensor_free(null_mut());
        jac_jacobian_free(null_mut());
    }
}

#[test]
fn zero_lengths_with_null_pointers_are_empty_buffers() {
    // SAFETY: NULL with a length of 0 is the empty buffer everywhere.
    unsafe {
        // An empty tensor and a 0-D one, from NULL data / NULL shape.
        let mut e = null_mut();
        assert_ok(jac_tensor_new(null(), 0, [2, 0].as_ptr(), 2, true, &mut e));
        let e = Handle::from(e);
        assert_eq!(e.values(), Vec::<f64>::new());
        assert_ok(jac_tensor_read(e.0, null_mut(), 0));
        let s = Handle::new(&[4.0], &[], true);
        let mut ndim = 9;
        assert_ok(jac_tensor_shape(s.0, null_mut(), 0, &mut ndim));
        assert_eq!(ndim, 0);

        // No axes: sum every axis; reshape to 0-D; transpose a 0-D tensor.
        let m = Handle::new(&[1.0, 2.0, 3.0, 4.0], &[2, 2], true);
        let mut out = null_mut();
        assert_ok(jac_sum(m.0, null(), 0, false, &mut out));
        assert_eq!(Handle::from(out).values(), vec![10.0]);
        let one = Handle::new(&[7.0], &[1, 1], true);
        assert_ok(jac_reshape(one.0, null(), 0, &mut out));
        let r = Handle::from(out);
        assert_ok(jac_tensor_ndim(r.0, &mut ndim));
        assert_eq!(ndim, 0);
        assert_ok(jac_transpose(s.0, null(), 0, &mut out));
        assert_eq!(Handle::from(out).values(), vec![4.0]);

        // jac_grad with no xs writes nothing; with no ys gives zeros.
        let ys = [m.0.cast_const()];
        assert_ok(jac_grad(
            ys.as_ptr(),
            1,
            null(),
            0,
            null(),
            false,
            null_mut(),
        ));
        assert_ok(jac_grad(null(), 0, ys.as_ptr(), 1, null(), false, &mut out));
        assert_eq!(Handle::from(out).values(), vec![0.0; 4]);

        // A whole-block read with a NULL index; an empty read into NULL.
        let v = Handle::new(&[1.0, -2.0, 3.0], &[3], true);
        let mut total = null_mut();
        assert_ok(jac_sum(v.0, null(), 0, false, &mut total));
        let total = Handle::from(total);
        let mut j = null_mut();
        let (ys, xs) = ([total.0.cast_const()], [v.0.cast_const()]);
        assert_ok(jac_jacobian_new(
            ys.as_ptr(),
            1,
            xs.as_ptr(),
            1,
            NONE,
            &mut j,
        ));
        let j = Jac(j);
        let empty = [JacIndex {
            kind: JacIndexKind::JacIndexSlice as i32,
            start: 3,
            stop: 1,
            step: 1,
        }];
        let (mut shape, mut ndim) = ([9i64; 2], 9);
        assert_ok(jac_jacobian_read_shape(
            j.0,
            0,
            0,
            empty.as_ptr(),
            1,
            shape.as_mut_ptr(),
            2,
            &mut ndim,
        ));
        assert_eq!((ndim, shape[0]), (1, 0));
        assert_ok(jac_jacobian_read(
            j.0,
            0,
            0,
            empty.as_ptr(),
            1,
            null_mut(),
            0,
        ));
        let mut evaluated = 9;
        assert_ok(jac_jacobian_rows_evaluated(j.0, 0, &mut evaluated));
        assert_eq!(evaluated, 0, "an empty read evaluates nothing");
        let mut row = [0.0; 3];
        assert_ok(jac_jacobian_read(j.0, 0, 0, null(), 0, row.as_mut_ptr(), 3));
        assert_eq!(row, [1.0, 1.0, 1.0]);
    }
}

#[test]
fn bad_shapes_are_refused_without_writing() {
    let data = [1.0; 6];
    let mut out = null_mut();
    let cases: [(&[i64], usize, JacStatus, &str); 7] = [
        (&[2, 3], 5, JacStatus::JacErrInvalidArgument, "len"),
        (&[2, 3], 7, JacStatus::JacErrInvalidArgument, "len"),
        (&[], 0, JacStatus::JacErrInvalidArgument, "len"),
        (&[2, -3], 6, JacStatus::JacErrInvalidArgument, "shape[1]"),
        (
            &[1 << 32, 1 << 32],
            1,
            JacStatus::JacErrOutOfMemory,
            "shape",
        ),
        (&[i64::MAX, 2], 1, JacStatus::JacErrOutOfMemory, "shape"),
        // No elements, but dims no array can have.
        (&[i64::MAX, 2, 0], 0, JacStatus::JacErrOutOfMemory, "shape"),
    ];
    for (shape, len, want, needle) in cases {
        // SAFETY: `data` holds at least `len` values (6); shape is valid.
        let s = unsafe {
            jac_tensor_new(
                data.as_ptr(),
                len,
                shape.as_ptr(),
                shape.len(),
                false,
                &mut out,
            )
        };
        assert_failure(s, want, "jac_tensor_new", needle);
        assert!(out.is_null(), "written on failure");
    }
    let a = Handle::new(&data, &[2, 3], true);
    let b = Handle::new(&data[..4], &[4], true);
    // SAFETY: live handles, valid buffers and writable outputs.
    unsafe {
        let s = jac_add(a.0, b.0, &mut out);
        assert_failure(s, JacStatus::JacErrShape, "jac_add", "b has shape [4]");
        let s = jac_matmul(a.0, b.0, &mut out);
        assert_failure(s, JacStatus::JacErrShape, "jac_matmul", "inner");
        let s = jac_reshape(a.0, [4i64].as_ptr(), 1, &mut out);
        assert_failure(s, JacStatus::JacErrShape, "jac_reshape", "shape");
        let s = jac_transpose(a.0, [0i64, 0].as_ptr(), 2, &mut out);
        assert_failure(s, JacStatus::JacErrInvalidArgument, "jac_transpose", "perm");
        let s = jac_slice(a.0, 0, NONE, NONE, 0, &mut out);
        assert_failure(s, JacStatus::JacErrInvalidArgument, "jac_slice", "step");
        let s = jac_gather(a.0, 1, null(), 2, &mut out);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_gather", "idx");
        let s = jac_gather(a.0, 1, [0i64, 3].as_ptr(), 2, &mut out);
        assert_failure(s, JacStatus::JacErrIndex, "jac_gather", "idx[1]");
        let s = jac_scatter_add(a.0, 1, [0i64, 1].as_ptr(), 2, 4, &mut out);
        assert_failure(s, JacStatus::JacErrShape, "jac_scatter_add", "idx has 2");
        let s = jac_scatter_add(a.0, 0, [0i64, 1].as_ptr(), 2, -4, &mut out);
        assert_failure(
            s,
            JacStatus::JacErrInvalidArgument,
            "jac_scatter_add",
            "dim",
        );
        let s = jac_cumsum(a.0, -3, &mut out);
        assert_failure(s, JacStatus::JacErrIndex, "jac_cumsum", "axis");
        let s = jac_scale(a.0, f64::NAN, &mut out);
        assert_failure(s, JacStatus::JacErrInvalidArgument, "jac_scale", "s:");
        let s = jac_sum(a.0, [2i64].as_ptr(), 1, false, &mut out);
        assert_failure(s, JacStatus::JacErrIndex, "jac_sum", "axes");
        assert!(out.is_null(), "written on failure");
        let mut j = null_mut();
        let (ys, xs) = ([a.0.cast_const()], [b.0.cast_const()]);
        let s = jac_jacobian_new(ys.as_ptr(), 1, xs.as_ptr(), 1, NONE, &mut j);
        assert_failure(s, JacStatus::JacErrShape, "jac_jacobian_new", "ys[0]");
        let s = jac_jacobian_new(ys.as_ptr(), 1, xs.as_ptr(), 1, 1, &mut j);
        assert_failure(
            s,
            JacStatus::JacErrBatchAxis,
            "jac_jacobian_new",
            "batch_axis",
        );
        let s = jac_hessian_new(b.0, xs.as_ptr(), 1, NONE, &mut j);
        assert_failure(s, JacStatus::JacErrShape, "jac_hessian_new", "y");
        assert!(j.is_null(), "written on failure");
    }
}

#[test]
fn capacities_too_small_write_nothing() {
    let t = Handle::new(&[0.0; 24], &[2, 3, 4], true);
    let mut shape = [-7i64; 4];
    let mut ndim = 99;
    // SAFETY: `shape` holds 4 values, so any cap <= 4 is valid.
    unsafe {
        for cap in 0..3 {
            let s = jac_tensor_shape(t.0, shape.as_mut_ptr(), cap, &mut ndim);
            assert_failure(
                s,
                JacStatus::JacErrInvalidArgument,
                "jac_tensor_shape",
                "cap",
            );
            assert_eq!((shape, ndim), ([-7; 4], 99), "written on failure");
        }
        assert_ok(jac_tensor_shape(t.0, shape.as_mut_ptr(), 3, &mut ndim));
        assert_eq!((shape, ndim), ([2, 3, 4, -7], 3));

        let mut values = [-7.0; 25];
        for len in [0, 23, 25] {
            let s = jac_tensor_read(t.0, values.as_mut_ptr(), len);
            assert_failure(
                s,
                JacStatus::JacErrInvalidArgument,
                "jac_tensor_read",
                "out_len",
            );
            assert_eq!(values, [-7.0; 25], "written on failure");
        }
        let s = jac_tensor_read(t.0, null_mut(), 24);
        assert_failure(s, JacStatus::JacErrNullArgument, "jac_tensor_read", "out");
    }
}

#[test]
fn misaligned_buffers_are_refused() {
    let t = Handle::new(&[1.0, 2.0], &[2], false);
    let mut bytes = [0u8; 64];
    // SAFETY: the pointers point into `bytes`; libjac checks alignment
    // before reading or writing through them.
    unsafe {
        let odd = bytes.as_mut_ptr().add(1);
        let s = jac_tensor_read(t.0, odd.cast::<f64>(), 2);
        assert_failure(
            s,
            JacStatus::JacErrInvalidArgument,
            "jac_tensor_read",
            "aligned",
        );
        let mut out = null_mut();
        let s = jac_tensor_new(
            odd.cast::<f64>().cast_const(),
            1,
            null(),
            0,
            false,
            &mut out,
        );
        assert_failure(
            s,
            JacStatus::JacErrInvalidArgument,
            "jac_tensor_new",
            "aligned",
        );
        let s = jac_sum(t.0, odd.cast::<i64>().cast_const(), 1, false, &mut out);
        assert_failure(s, JacStatus::JacErrInvalidArgument, "jac_sum", "aligned");
        assert!(out.is_null());
        assert!(bytes.iter().all(|&b| b == 0), "written on failure");
    }
}

#[test]
fn unknown_status_numbers_and_index_kinds() {
    // SAFETY: static strings; a live handle and valid index buffers.
    unsafe {
        for code in [-1, 9, 1000, i32::MIN, i32::MAX] {
            let name = CStr::from_ptr(jac_status_name(code));
            assert_eq!(name.to_str().unwrap(), "JAC_UNKNOWN_STATUS");
        }
        let name = CStr::from_ptr(jac_status_name(JacStatus::JacErrIndex as i32));
        assert_eq!(name.to_str().unwrap(), "JAC_ERR_INDEX");

        let x = Handle::new(&[1.0, 2.0], &[2], true);
        let (ys, xs) = ([x.0.cast_const()], [x.0.cast_const()]);
        let mut j = null_mut();
        assert_ok(jac_jacobian_new(
            ys.as_ptr(),
            1,
            xs.as_ptr(),
            1,
            NONE,
            &mut j,
        ));
        let j = Jac(j);
        let mut values = [-7.0; 2];
        for kind in [7, -1, 4] {
            let index = [JacIndex {
                kind,
                start: 0,
                stop: 0,
                step: 0,
            }];
            let s = jac_jacobian_read(j.0, 0, 0, index.as_ptr(), 1, values.as_mut_ptr(), 2);
            assert_failure(
                s,
                JacStatus::JacErrIndex,
                "jac_jacobian_read",
                "index[0].kind",
            );
            assert_eq!(values, [-7.0; 2], "written on failure");
        }
    }
}

/// What the message says after the argument's name when a live handle of the
/// other type, or a pointer that is no handle at all, is passed.
const WANT_TENSOR_GOT_JACOBIAN: &str = "expected a JacTensor handle, got a JacJacobian handle";
const WANT_JACOBIAN_GOT_TENSOR: &str = "expected a JacJacobian handle, got a JacTensor handle";
const NOT_A_HANDLE: &str = "got a pointer that is not a live libjac handle";

type Unary = unsafe extern "C" fn(*const JacTensor, *mut *mut JacTensor) -> JacStatus;
type Binary =
    unsafe extern "C" fn(*const JacTensor, *const JacTensor, *mut *mut JacTensor) -> JacStatus;
type WithScalar = unsafe extern "C" fn(*const JacTensor, f64, *mut *mut JacTensor) -> JacStatus;
type Reduction = unsafe extern "C" fn(
    *const JacTensor,
    *const i64,
    usize,
    bool,
    *mut *mut JacTensor,
) -> JacStatus;
type Join =
    unsafe extern "C" fn(*const *const JacTensor, usize, i64, *mut *mut JacTensor) -> JacStatus;

/// Calls every export that takes a tensor handle with `bad` in each tensor
/// position in turn (the other arguments valid), and checks the status, the
/// function, the argument's name followed by `what`, and that nothing was
/// written.
///
/// # Safety
/// `bad` points to at least 8 readable, aligned bytes (or is misaligned).
unsafe fn every_tensor_argument(bad: *const JacTensor, what: &str) {
    let v = Handle::new(&[1.0, 2.0], &[2], true);
    let m = Handle::new(&[1.0, 2.0, 3.0, 4.0], &[2, 2], true);
    let g = v.0.cast_const();
    let mut out = null_mut();
    let mut n = 77usize;
    let mut flag = false;
    let mut shape = [-7i64; 4];
    let mut values = [-7.0; 4];
    #[track_caller]
    fn check(status: JacStatus, function: &str, arg: &str, what: &str) {
        assert_failure(
            status,
            JacStatus::JacErrInvalidArgument,
            function,
            &format!("{function}: {arg}: {what}"),
        );
    }
    // SAFETY: every pointer but `bad` is valid; `bad` per this function's contract.
    unsafe {
        check(jac_tensor_ndim(bad, &mut n), "jac_tensor_ndim", "t", what);
        check(jac_tensor_numel(bad, &mut n), "jac_tensor_numel", "t", what);
        let s = jac_tensor_requires_grad(bad, &mut flag);
        check(s, "jac_tensor_requires_grad", "t", what);
        let s = jac_tensor_shape(bad, shape.as_mut_ptr(), 4, &mut n);
        check(s, "jac_tensor_shape", "t", what);
        let s = jac_tensor_read(bad, values.as_mut_ptr(), 2);
        check(s, "jac_tensor_read", "t", what);
        check(
            jac_tensor_clone(bad, &mut out),
            "jac_tensor_clone",
            "t",
            what,
        );
        let index = [0i64];
        let s = jac_tensor_read_element(bad, index.as_ptr(), 1, values.as_mut_ptr());
        check(s, "jac_tensor_read_element", "t", what);
        let dims = [2i64, 2];
        let s = jac_broadcast_to(bad, dims.as_ptr(), 2, &mut out);
        check(s, "jac_broadcast_to", "a", what);

        let unary: [(&str, Unary); 13] = [
            ("jac_neg", jac_neg),
            ("jac_exp", jac_exp),
            ("jac_log", jac_log),
            ("jac_sin", jac_sin),
            ("jac_cos", jac_cos),
            ("jac_tan", jac_tan),
            ("jac_tanh", jac_tanh),
            ("jac_sigmoid", jac_sigmoid),
            ("jac_relu", jac_relu),
            ("jac_softplus", jac_softplus),
            ("jac_sqrt", jac_sqrt),
            ("jac_square", jac_square),
            ("jac_abs", jac_abs),
        ];
        for (name, f) in unary {
            check(f(bad, &mut out), name, "a", what);
        }
        let binary: [(&str, Binary); 5] = [
            ("jac_add", jac_add),
            ("jac_sub", jac_sub),
            ("jac_mul", jac_mul),
            ("jac_div", jac_div),
            ("jac_matmul", jac_matmul),
        ];
        for (name, f) in binary {
            check(f(bad, g, &mut out), name, "a", what);
            check(f(g, bad, &mut out), name, "b", what);
        }
        let scalar: [(&str, WithScalar); 3] = [
            ("jac_scale", jac_scale),
            ("jac_add_scalar", jac_add_scalar),
            ("jac_pow_scalar", jac_pow_scalar),
        ];
        for (name, f) in scalar {
            check(f(bad, 2.0, &mut out), name, "a", what);
        }
        let reductions: [(&str, Reduction); 2] = [("jac_sum", jac_sum), ("jac_mean", jac_mean)];
        for (name, f) in reductions {
            check(f(bad, null(), 0, false, &mut out), name, "a", what);
        }
        check(jac_max(bad, 0, false, &mut out), "jac_max", "a", what);
        let s = jac_reshape(bad, [2i64].as_ptr(), 1, &mut out);
        check(s, "jac_reshape", "a", what);
        let s = jac_transpose(bad, null(), 0, &mut out);
        check(s, "jac_transpose", "a", what);
        let s = jac_slice(bad, 0, NONE, NONE, NONE, &mut out);
        check(s, "jac_slice", "a", what);
        check(jac_where(bad, g, g, &mut out), "jac_where", "mask", what);
        check(jac_where(g, bad, g, &mut out), "jac_where", "a", what);
        check(jac_where(g, g, bad, &mut out), "jac_where", "b", what);
        let joins: [(&str, Join); 2] = [("jac_concat", jac_concat), ("jac_stack", jac_stack)];
        for (name, f) in joins {
            check(f([g, bad].as_ptr(), 2, 0, &mut out), name, "ts[1]", what);
            check(f([bad, g].as_ptr(), 2, 0, &mut out), name, "ts[0]", what);
        }
        assert!(out.is_null(), "an op wrote its out pointer on failure");

        // Arrays of tensors: each list, and a bad entry after good ones.
        let mut grads = [null_mut::<JacTensor>(); 2];
        let (good, mixed) = ([g, g], [g, bad]);
        let s = jac_grad(
            mixed.as_ptr(),
            2,
            good.as_ptr(),
            2,
            null(),
            false,
            grads.as_mut_ptr(),
        );
        check(s, "jac_grad", "ys[1]", what);
        let s = jac_grad(
            good.as_ptr(),
            2,
            mixed.as_ptr(),
            2,
            null(),
            false,
            grads.as_mut_ptr(),
        );
        check(s, "jac_grad", "xs[1]", what);
        let s = jac_grad(
            good.as_ptr(),
            2,
            good.as_ptr(),
            2,
            mixed.as_ptr(),
            false,
            grads.as_mut_ptr(),
        );
        check(s, "jac_grad", "grad_ys[1]", what);
        assert_eq!(
            grads,
            [null_mut(); 2],
            "jac_grad wrote out_grads on failure"
        );

        let mut j = null_mut();
        let s = jac_jacobian_new(mixed.as_ptr(), 2, good.as_ptr(), 1, NONE, &mut j);
        check(s, "jac_jacobian_new", "ys[1]", what);
        let s = jac_jacobian_new(good.as_ptr(), 1, mixed.as_ptr(), 2, NONE, &mut j);
        check(s, "jac_jacobian_new", "xs[1]", what);
        let total = m.0.cast_const();
        let s = jac_hessian_new(bad, good.as_ptr(), 1, NONE, &mut j);
        check(s, "jac_hessian_new", "y", what);
        let s = jac_hessian_new(total, mixed.as_ptr(), 2, NONE, &mut j);
        check(s, "jac_hessian_new", "xs[1]", what);
        assert!(j.is_null(), "wrote a Jacobian on failure");
        assert_eq!((n, flag), (77, false), "a query wrote on failure");
        assert_eq!(
            (shape, values),
            ([-7; 4], [-7.0; 4]),
            "a read wrote on failure"
        );
    }
}

/// As [`every_tensor_argument`] for the Jacobian handle argument of every
/// export that takes one.
///
/// # Safety
/// As [`every_tensor_argument`].
unsafe fn every_jacobian_argument(bad: *const JacJacobian, what: &str) {
    let mut n = 77usize;
    let mut n2 = 77usize;
    let mut shape = [-7i64; 4];
    let mut values = [-7.0; 4];
    #[track_caller]
    fn check(status: JacStatus, function: &str, what: &str) {
        assert_failure(
            status,
            JacStatus::JacErrInvalidArgument,
            function,
            &format!("{function}: jac: {what}"),
        );
    }
    // SAFETY: every pointer but `bad` is valid; `bad` per this function's contract.
    unsafe {
        let s = jac_jacobian_blocks(bad, &mut n, &mut n2);
        check(s, "jac_jacobian_blocks", what);
        let s = jac_jacobian_block_shape(bad, 0, 0, shape.as_mut_ptr(), 4, &mut n);
        check(s, "jac_jacobian_block_shape", what);
        let s = jac_jacobian_read_shape(bad, 0, 0, null(), 0, shape.as_mut_ptr(), 4, &mut n);
        check(s, "jac_jacobian_read_shape", what);
        let s = jac_jacobian_read(bad, 0, 0, null(), 0, values.as_mut_ptr(), 4);
        check(s, "jac_jacobian_read", what);
        let s = jac_jacobian_rows_evaluated(bad, 0, &mut n);
        check(s, "jac_jacobian_rows_evaluated", what);
        let s = jac_jacobian_set_block_rows(bad.cast_mut(), 2);
        check(s, "jac_jacobian_set_block_rows", what);
    }
    assert_eq!((n, n2), (77, 77), "a query wrote on failure");
    assert_eq!(
        (shape, values),
        ([-7; 4], [-7.0; 4]),
        "a read wrote on failure"
    );
}

/// A Jacobian of `x` (shape [2]) with respect to itself.
fn identity_jacobian(x: &Handle) -> Jac {
    let xs = [x.0.cast_const()];
    let mut j = null_mut();
    // SAFETY: live handles and a writable out pointer.
    assert_ok(unsafe { jac_jacobian_new(xs.as_ptr(), 1, xs.as_ptr(), 1, NONE, &mut j) });
    Jac(j)
}

#[test]
fn a_handle_of_another_type_is_an_invalid_argument_naming_both_types() {
    let x = Handle::new(&[1.0, 2.0], &[2], true);
    let j = identity_jacobian(&x);
    // SAFETY: both pointers are live handles, of the other type.
    unsafe {
        every_tensor_argument(j.0.cast::<JacTensor>(), WANT_TENSOR_GOT_JACOBIAN);
        every_jacobian_argument(x.0.cast::<JacJacobian>(), WANT_JACOBIAN_GOT_TENSOR);
    }
    // The exact message of the contract.
    let xs = [x.0.cast_const(), j.0.cast::<JacTensor>().cast_const()];
    let mut grads = [null_mut(); 2];
    // SAFETY: as above.
    let s = unsafe {
        jac_grad(
            xs.as_ptr(),
            1,
            xs.as_ptr(),
            2,
            null(),
            false,
            grads.as_mut_ptr(),
        )
    };
    assert_eq!(s, JacStatus::JacErrInvalidArgument);
    assert_eq!(
        last_error(),
        "jac_grad: xs[1]: expected a JacTensor handle, got a JacJacobian handle"
    );
}

#[test]
fn a_pointer_that_is_no_handle_is_an_invalid_argument() {
    // Readable, aligned memory whose first word is no tag of libjac's.
    let words: [u64; 8] = [0x0123_4567_89ab_cdef, 1, 2, 3, 4, 5, 6, 7];
    let zeros = [0u64; 8];
    let bytes = [0u8; 64];
    let expected_t = format!("expected a JacTensor handle, {NOT_A_HANDLE}");
    let expected_j = format!("expected a JacJacobian handle, {NOT_A_HANDLE}");
    // SAFETY: each pointer is readable for 8 bytes, or misaligned (which
    // libjac checks before reading).
    unsafe {
        for p in [words.as_ptr(), zeros.as_ptr(), bytes.as_ptr().add(1).cast()] {
            every_tensor_argument(p.cast(), &expected_t);
            every_jacobian_argument(p.cast(), &expected_j);
        }
    }
    assert_eq!(words[0], 0x0123_4567_89ab_cdef);
}

#[test]
fn freeing_a_handle_of_another_type_frees_nothing() {
    let x = Handle::new(&[1.0, 2.0], &[2], true);
    let j = identity_jacobian(&x);
    let mut words: [u64; 4] = [0x0123_4567_89ab_cdef, 1, 2, 3];
    // SAFETY: live handles of the other type, and a readable word array;
    // none of them may be freed by these calls.
    unsafe {
        jac_tensor_free(j.0.cast::<JacTensor>());
        let message = last_error();
        assert!(
            message.starts_with(&format!("jac_tensor_free: t: {WANT_TENSOR_GOT_JACOBIAN}")),
            "{message}"
        );
        assert!(message.contains("nothing was freed"), "{message}");
        jac_jacobian_free(x.0.cast::<JacJacobian>());
        let message = last_error();
        assert!(
            message.starts_with(&format!(
                "jac_jacobian_free: jac: {WANT_JACOBIAN_GOT_TENSOR}"
            )),
            "{message}"
        );
        jac_tensor_free(words.as_mut_ptr().cast());
        assert!(last_error().contains(NOT_A_HANDLE), "{}", last_error());
        jac_jacobian_free(words.as_mut_ptr().cast());
        assert!(last_error().contains(NOT_A_HANDLE), "{}", last_error());
    }
    assert_eq!(
        words,
        [0x0123_4567_89ab_cdef, 1, 2, 3],
        "wrote to a non-handle"
    );
    // Both handles still work (and are freed once, by their owners).
    assert_eq!(x.values(), vec![1.0, 2.0]);
    let mut values = [0.0; 4];
    // SAFETY: a live Jacobian handle and a buffer of 4 values.
    assert_ok(unsafe { jac_jacobian_read(j.0, 0, 0, null(), 0, values.as_mut_ptr(), 4) });
    assert_eq!(values, [1.0, 0.0, 0.0, 1.0]);
}

#[test]
fn full_clone_broadcast_and_element_reads() {
    // SAFETY: live handles and writable outputs throughout; NULLs where the
    // contract allows them.
    unsafe {
        let mut out = null_mut();
        let dims = [2i64, 3];
        assert_ok(jac_tensor_full(0.25, dims.as_ptr(), 2, true, &mut out));
        let full = Handle::from(out);
        assert_eq!(full.values(), vec![0.25; 6]);
        // a 0-D tensor needs no shape
        assert_ok(jac_tensor_full(-1.0, null(), 0, false, &mut out));
        assert_eq!(Handle::from(out).values(), vec![-1.0]);
        let neg = [2i64, -1];
        out = null_mut();
        let s = jac_tensor_full(0.0, neg.as_ptr(), 2, false, &mut out);
        assert_failure(
            s,
            JacStatus::JacErrInvalidArgument,
            "jac_tensor_full",
            "shape[1]",
        );
        let huge = [i64::MAX, 2];
        let s = jac_tensor_full(0.0, huge.as_ptr(), 2, false, &mut out);
        assert_failure(s, JacStatus::JacErrOutOfMemory, "jac_tensor_full", "shape");
        assert!(out.is_null(), "wrote a handle on failure");

        // a clone freed first leaves the original valid, and the other way round
        assert_ok(jac_tensor_clone(full.0, &mut out));
        let clone = Handle::from(out);
        assert_ne!(clone.0, full.0);
        let mut flag = false;
        assert_ok(jac_tensor_requires_grad(clone.0, &mut flag));
        assert!(flag);
        drop(clone);
        assert_eq!(full.values(), vec![0.25; 6]);
        assert_ok(jac_tensor_clone(full.0, &mut out));
        drop(full);
        let clone = Handle::from(out);
        assert_eq!(clone.values(), vec![0.25; 6]);

        // one element, from either end of each axis
        let t = Handle::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], false);
        let mut v = 0.0;
        for (index, want) in [([1i64, 2], 6.0), ([-2, -3], 1.0), ([0, -1], 3.0)] {
            assert_ok(jac_tensor_read_element(t.0, index.as_ptr(), 2, &mut v));
            assert_eq!(v, want);
        }
        let far = [2i64, 0];
        let s = jac_tensor_read_element(t.0, far.as_ptr(), 2, &mut v);
        assert_failure(
            s,
            JacStatus::JacErrIndex,
            "jac_tensor_read_element",
            "index[0]",
        );
        let s = jac_tensor_read_element(t.0, far.as_ptr(), 1, &mut v);
        assert_failure(
            s,
            JacStatus::JacErrInvalidArgument,
            "jac_tensor_read_element",
            "index",
        );
        let s = jac_tensor_read_element(t.0, null(), 2, &mut v);
        assert_failure(
            s,
            JacStatus::JacErrNullArgument,
            "jac_tensor_read_element",
            "index",
        );
        assert_eq!(v, 3.0, "wrote the element on failure");

        // broadcast a [3] row to [2, 3]; a [2] one does not broadcast to it
        let row = Handle::new(&[1.0, 2.0, 3.0], &[3], true);
        out = null_mut();
        assert_ok(jac_broadcast_to(row.0, dims.as_ptr(), 2, &mut out));
        assert_eq!(
            Handle::from(out).values(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        let pair = Handle::new(&[1.0, 2.0], &[2], true);
        out = null_mut();
        let s = jac_broadcast_to(pair.0, dims.as_ptr(), 2, &mut out);
        assert_failure(s, JacStatus::JacErrShape, "jac_broadcast_to", "shape");
        let s = jac_broadcast_to(pair.0, null(), 2, &mut out);
        assert_failure(
            s,
            JacStatus::JacErrNullArgument,
            "jac_broadcast_to",
            "shape",
        );
        assert!(out.is_null(), "wrote a handle on failure");
        drop(clone);
    }
}
