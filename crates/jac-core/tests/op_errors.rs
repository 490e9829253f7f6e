//! Every caller error is an `Err`, never a panic, with the exact
//! [`ErrorKind`] (the C ABI maps kinds to statuses) and a message that names
//! the argument and gives what was expected and what was got.

mod common;

use std::fmt::Debug;

use common::tensor;
use jac_core::{
    ErrorKind, Result, Tensor, add, add_scalar, broadcast_to, concat, div, grad, grad_stacked,
    log_softmax, logsumexp, max, mean, min, mul, pow_scalar, reshape, scale, slice, softmax, stack,
    sub, sum, transpose, where_,
};
use jac_core::{cumsum, gather, scatter_add};

/// Asserts that `result` is an error of `kind` whose message contains every
/// one of `needles` (the argument's name, the expected and the actual value).
#[track_caller]
fn expect_err<T: Debug>(result: Result<T>, kind: ErrorKind, needles: &[&str]) {
    let err = match result {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), kind, "kind of {:?}", err.message());
    for needle in needles {
        assert!(
            err.message().contains(needle),
            "the message {:?} does not mention {needle:?}",
            err.message()
        );
    }
    assert_eq!(err.to_string(), err.message(), "Display prints the message");
}

fn m23() -> Tensor {
    tensor(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], true)
}

fn v(n: usize) -> Tensor {
    tensor(&vec![0.5; n], &[n], true)
}

#[test]
fn binary_ops_reject_shapes_that_do_not_broadcast() {
    type Binary = fn(&Tensor, &Tensor) -> Result<Tensor>;
    let ops: [(Binary, &str); 13] = [
        (add, "add"),
        (sub, "sub"),
        (mul, "mul"),
        (div, "div"),
        (jac_core::minimum, "minimum"),
        (jac_core::maximum, "maximum"),
        (jac_core::pow, "pow"),
        (jac_core::atan2, "atan2"),
        (jac_core::less, "less"),
        (jac_core::less_equal, "less_equal"),
        (jac_core::greater, "greater"),
        (jac_core::greater_equal, "greater_equal"),
        (jac_core::equal, "equal"),
    ];
    for (op, name) in ops {
        expect_err(
            op(&m23(), &v(4)),
            ErrorKind::Shape,
            &[name, "[2, 3]", "[4]", "3 vs 4"],
        );
        expect_err(
            op(&v(2), &m23()),
            ErrorKind::Shape,
            &[name, "[2]", "[2, 3]", "2 vs 3"],
        );
        // Size-1 axes broadcast, size-2 against size-3 do not, at any depth.
        let a = tensor(&[0.0; 4], &[2, 1, 2], false);
        let b = tensor(&[0.0; 6], &[3, 1, 2], false);
        expect_err(op(&a, &b), ErrorKind::Shape, &[name, "axis -3", "2 vs 3"]);
    }
}

#[test]
fn where_and_broadcast_to_reject_mismatched_shapes() {
    let mask = tensor(&[1.0, 0.0], &[2], false);
    expect_err(
        where_(&mask, &v(3), &v(3)),
        ErrorKind::Shape,
        &["where", "[2]", "[3]"],
    );
    expect_err(
        where_(&mask, &v(2), &v(3)),
        ErrorKind::Shape,
        &["where", "[2]", "[3]"],
    );
    expect_err(
        broadcast_to(&v(3), &[4]),
        ErrorKind::Shape,
        &["broadcast_to", "[3]", "[4]"],
    );
    // [2, 3] broadcasts with [3] but not *to* it.
    expect_err(
        broadcast_to(&m23(), &[3]),
        ErrorKind::Shape,
        &["broadcast_to", "[2, 3]", "to [3]"],
    );
    expect_err(
        broadcast_to(&v(3), &[2, 1]),
        ErrorKind::Shape,
        &["broadcast_to", "[3]", "[2, 1]"],
    );
}

#[test]
fn reductions_reject_axes_out_of_range() {
    let x = m23();
    expect_err(
        sum(&x, Some(&[2]), false),
        ErrorKind::Index,
        &["sum: axes", "[-2, 2)", "2-D", "got 2"],
    );
    expect_err(
        sum(&x, Some(&[0, -3]), true),
        ErrorKind::Index,
        &["sum: axes", "[-2, 2)", "got -3"],
    );
    expect_err(
        mean(&x, Some(&[5]), false),
        ErrorKind::Index,
        &["mean: axes", "got 5"],
    );
    expect_err(
        max(&x, 2, false),
        ErrorKind::Index,
        &["max: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        max(&x, -3, true),
        ErrorKind::Index,
        &["max: axis", "got -3"],
    );
    // A 0-D operand has no axis at all.
    let s = tensor(&[1.0], &[], true);
    expect_err(
        sum(&s, Some(&[0]), false),
        ErrorKind::Index,
        &["sum: axes", "0-D", "got axis 0"],
    );
    expect_err(
        mean(&s, Some(&[-1]), false),
        ErrorKind::Index,
        &["mean: axes", "0-D", "-1"],
    );
    expect_err(max(&s, 0, false), ErrorKind::Index, &["max: axis", "0-D"]);
}

#[test]
fn reductions_reject_duplicate_axes() {
    let x = m23();
    expect_err(
        sum(&x, Some(&[0, 0]), false),
        ErrorKind::InvalidArgument,
        &["sum: axes", "axis 0", "more than once", "[0, 0]"],
    );
    // 1 and -1 are the same axis of a 2-D operand.
    expect_err(
        sum(&x, Some(&[1, -1]), true),
        ErrorKind::InvalidArgument,
        &["sum: axes", "axis 1", "[1, -1]"],
    );
    expect_err(
        mean(&x, Some(&[-2, 0]), false),
        ErrorKind::InvalidArgument,
        &["mean: axes", "axis 0", "[-2, 0]"],
    );
}

#[test]
fn max_rejects_an_empty_axis() {
    let x = Tensor::zeros(&[2, 0]).unwrap();
    expect_err(
        max(&x, 1, false),
        ErrorKind::Shape,
        &["max", "axis 1", "[2, 0]", "empty"],
    );
}

#[test]
fn min_softmax_and_logsumexp_reject_bad_axes() {
    let x = m23();
    let s = tensor(&[1.0], &[], true);
    type OneAxis = fn(&Tensor, isize) -> Result<Tensor>;
    let min_of: OneAxis = |a, axis| min(a, axis, false);
    let ops: [(OneAxis, &str); 3] = [
        (min_of, "min: axis"),
        (softmax, "softmax: axis"),
        (log_softmax, "log_softmax: axis"),
    ];
    for (op, arg) in ops {
        expect_err(
            op(&x, 2),
            ErrorKind::Index,
            &[arg, "[-2, 2)", "2-D", "got 2"],
        );
        expect_err(op(&x, -3), ErrorKind::Index, &[arg, "[-2, 2)", "got -3"]);
        expect_err(op(&x, isize::MIN), ErrorKind::Index, &[arg]);
        expect_err(op(&x, isize::MAX), ErrorKind::Index, &[arg]);
        // A 0-D operand has no axis at all.
        expect_err(op(&s, 0), ErrorKind::Index, &[arg, "0-D", "got axis 0"]);
        expect_err(op(&s, -1), ErrorKind::Index, &[arg, "0-D", "-1"]);
    }
    expect_err(
        min(&Tensor::zeros(&[2, 0]).unwrap(), -1, true),
        ErrorKind::Shape,
        &["min", "axis 1", "[2, 0]", "empty", "minimum"],
    );

    // logsumexp takes its axes as sum does.
    expect_err(
        logsumexp(&x, Some(&[2]), false),
        ErrorKind::Index,
        &["logsumexp: axes", "[-2, 2)", "got 2"],
    );
    expect_err(
        logsumexp(&x, Some(&[0, -3]), true),
        ErrorKind::Index,
        &["logsumexp: axes", "got -3"],
    );
    expect_err(
        logsumexp(&x, Some(&[isize::MIN]), true),
        ErrorKind::Index,
        &["logsumexp: axes"],
    );
    expect_err(
        logsumexp(&s, Some(&[0]), false),
        ErrorKind::Index,
        &["logsumexp: axes", "0-D", "got axis 0"],
    );
    expect_err(
        logsumexp(&x, Some(&[1, -1]), false),
        ErrorKind::InvalidArgument,
        &["logsumexp: axes", "axis 1", "more than once", "[1, -1]"],
    );
    // Reducing an empty axis away asks for 2^40 values: refused.
    let tall = Tensor::from_vec(vec![], &[1 << 40, 0], true).unwrap();
    expect_err(
        logsumexp(&tall, Some(&[1]), false),
        ErrorKind::OutOfMemory,
        &["logsumexp"],
    );
}

#[test]
fn transpose_rejects_bad_permutations() {
    let x = m23();
    // Wrong length.
    expect_err(
        transpose(&x, &[0]),
        ErrorKind::InvalidArgument,
        &["transpose: perm", "2 entries", "[2, 3]", "[0]"],
    );
    expect_err(
        transpose(&x, &[0, 1, 2]),
        ErrorKind::InvalidArgument,
        &["transpose: perm", "2 entries", "[0, 1, 2]"],
    );
    // A repeated axis, also spelled with a negative index.
    expect_err(
        transpose(&x, &[1, 1]),
        ErrorKind::InvalidArgument,
        &["transpose: perm", "axis 1", "more than once"],
    );
    expect_err(
        transpose(&x, &[0, -2]),
        ErrorKind::InvalidArgument,
        &["transpose: perm", "axis 0", "[0, -2]"],
    );
    // Out of range.
    expect_err(
        transpose(&x, &[0, 2]),
        ErrorKind::Index,
        &["transpose: perm", "[-2, 2)", "got 2"],
    );
    expect_err(
        transpose(&x, &[-3, 0]),
        ErrorKind::Index,
        &["transpose: perm", "got -3"],
    );
}

#[test]
fn reshape_rejects_size_mismatches_and_bad_dims() {
    let x = m23();
    expect_err(
        reshape(&x, &[4]),
        ErrorKind::Shape,
        &["reshape", "[4]", "4 elements", "[2, 3]", "6"],
    );
    expect_err(
        reshape(&x, &[7, 1]),
        ErrorKind::Shape,
        &["reshape", "[7, 1]", "7 elements", "[2, 3]"],
    );
    // -1 cannot be inferred when the rest does not divide the size.
    expect_err(
        reshape(&x, &[4, -1]),
        ErrorKind::Shape,
        &["reshape", "-1", "[4, -1]", "[2, 3]", "6 elements"],
    );
    expect_err(
        reshape(&x, &[0, -1]),
        ErrorKind::Shape,
        &["reshape", "[0, -1]"],
    );
    // Bad dims: a second -1, any other negative.
    expect_err(
        reshape(&x, &[-1, -1]),
        ErrorKind::InvalidArgument,
        &["reshape: shape[1]", ">= 0", "got -1"],
    );
    expect_err(
        reshape(&x, &[-2, 3]),
        ErrorKind::InvalidArgument,
        &["reshape: shape[0]", "got -2", "[-2, 3]"],
    );
    // A shape whose size overflows.
    expect_err(
        reshape(&x, &[isize::MAX, isize::MAX]),
        ErrorKind::OutOfMemory,
        &["reshape: shape", "overflows"],
    );
}

#[test]
fn slice_rejects_step_zero_and_bad_axes() {
    let x = m23();
    expect_err(
        slice(&x, 1, None, None, 0),
        ErrorKind::InvalidArgument,
        &["slice: step", "0"],
    );
    expect_err(
        slice(&x, 2, Some(0), Some(1), 1),
        ErrorKind::Index,
        &["slice: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        slice(&x, -3, None, None, 1),
        ErrorKind::Index,
        &["slice: axis", "got -3"],
    );
    expect_err(
        slice(&tensor(&[1.0], &[], true), 0, None, None, 1),
        ErrorKind::Index,
        &["slice: axis", "0-D"],
    );
}

#[test]
fn gather_rejects_bad_axes_and_indices_out_of_range() {
    let x = m23();
    expect_err(
        gather(&x, 2, &[0]),
        ErrorKind::Index,
        &["gather: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        gather(&x, -3, &[0]),
        ErrorKind::Index,
        &["gather: axis", "got -3"],
    );
    expect_err(
        gather(&Tensor::scalar(1.0), 0, &[]),
        ErrorKind::Index,
        &["gather: axis", "0-D", "got axis 0"],
    );
    // Indices in [-3, 3) along axis 1; the first bad one is named.
    expect_err(
        gather(&x, 1, &[0, 2, 3, 9]),
        ErrorKind::Index,
        &["gather: idx[2]", "[-3, 3)", "axis 1 of length 3", "got 3"],
    );
    expect_err(
        gather(&x, 0, &[-3]),
        ErrorKind::Index,
        &["gather: idx[0]", "[-2, 2)", "got -3"],
    );
    expect_err(
        gather(&x, 0, &[i64::MIN]),
        ErrorKind::Index,
        &["gather: idx[0]", &i64::MIN.to_string()],
    );
    // An empty axis has no valid index at all.
    let e = Tensor::new(ndarray::ArrayD::zeros(ndarray::IxDyn(&[2, 0])), false);
    expect_err(
        gather(&e, 1, &[0]),
        ErrorKind::Index,
        &["gather: idx[0]", "[0, 0)", "length 0"],
    );
    // An output of 2^40 values: 2^20 rows, each taking 2^20 copies.
    let tall = Tensor::new(ndarray::ArrayD::zeros(ndarray::IxDyn(&[1 << 20, 1])), false);
    expect_err(
        gather(&tall, 1, &vec![0; 1 << 20]),
        ErrorKind::OutOfMemory,
        &["gather"],
    );
}

#[test]
fn scatter_add_rejects_bad_axes_lengths_and_indices() {
    let x = m23();
    expect_err(
        scatter_add(&x, 2, &[0, 0, 0], 4),
        ErrorKind::Index,
        &["scatter_add: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        scatter_add(&Tensor::scalar(1.0), -1, &[], 1),
        ErrorKind::Index,
        &["scatter_add: axis", "0-D"],
    );
    // One index per row of x along the axis: 3 along axis 1, 2 along 0.
    expect_err(
        scatter_add(&x, 1, &[0, 1], 4),
        ErrorKind::Shape,
        &["scatter_add: idx has 2 indices", "length 3", "[2, 3]"],
    );
    expect_err(
        scatter_add(&x, 0, &[0, 1, 2], 4),
        ErrorKind::Shape,
        &["idx has 3 indices", "axis 0", "length 2"],
    );
    expect_err(
        scatter_add(&x, -1, &[0, 4, 1], 4),
        ErrorKind::Index,
        &["scatter_add: idx[1]", "[-4, 4)", "dim 4", "got 4"],
    );
    expect_err(
        scatter_add(&x, 0, &[-1, -3], 2),
        ErrorKind::Index,
        &["scatter_add: idx[1]", "[-2, 2)", "got -3"],
    );
    // dim 0 takes no index; a huge dim is more than memory holds.
    expect_err(
        scatter_add(&x, 0, &[0, 0], 0),
        ErrorKind::Index,
        &["scatter_add: idx[0]", "[0, 0)"],
    );
    expect_err(
        scatter_add(&x, 0, &[0, 0], usize::MAX),
        ErrorKind::OutOfMemory,
        &["scatter_add"],
    );
}

#[test]
fn cumsum_rejects_bad_axes() {
    expect_err(
        cumsum(&m23(), 2),
        ErrorKind::Index,
        &["cumsum: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        cumsum(&m23(), isize::MIN),
        ErrorKind::Index,
        &["cumsum: axis", "got"],
    );
    expect_err(
        cumsum(&Tensor::scalar(1.0), 0),
        ErrorKind::Index,
        &["cumsum: axis", "0-D"],
    );
}

#[test]
fn matmul_rejects_inner_mismatches_and_0d_operands() {
    let a = m23();
    let b = tensor(&[0.0; 8], &[4, 2], true);
    expect_err(
        jac_core::matmul(&a, &b),
        ErrorKind::Shape,
        &["matmul", "[2, 3]", "3 columns", "[4, 2]", "4 rows"],
    );
    expect_err(
        jac_core::matmul(&v(3), &v(4)),
        ErrorKind::Shape,
        &["matmul", "[3]", "[4]"],
    );
    expect_err(
        jac_core::matmul(&a, &v(2)),
        ErrorKind::Shape,
        &["matmul", "[2, 3]", "[2]"],
    );
    // Batch axes that do not broadcast.
    let a3 = tensor(&[0.0; 24], &[2, 3, 4], true);
    let b3 = tensor(&[0.0; 24], &[3, 4, 2], true);
    expect_err(
        jac_core::matmul(&a3, &b3),
        ErrorKind::Shape,
        &["matmul", "[2]", "[3]"],
    );
    let s = tensor(&[2.0], &[], true);
    expect_err(
        jac_core::matmul(&s, &v(3)),
        ErrorKind::Shape,
        &["matmul: a", "0-D"],
    );
    expect_err(
        jac_core::matmul(&m23(), &s),
        ErrorKind::Shape,
        &["matmul: b", "0-D"],
    );
}

#[test]
fn concat_and_stack_reject_empty_lists_bad_axes_and_shapes() {
    expect_err(
        concat(&[], 0),
        ErrorKind::InvalidArgument,
        &["concat: ts", "at least one", "got 0"],
    );
    expect_err(
        stack(&[], 0),
        ErrorKind::InvalidArgument,
        &["stack: ts", "at least one", "got 0"],
    );
    let ts = [m23(), m23(), m23()];
    expect_err(
        concat(&ts, 2),
        ErrorKind::Index,
        &["concat: axis", "[-2, 2)", "got 2"],
    );
    expect_err(
        concat(&ts, -3),
        ErrorKind::Index,
        &["concat: axis", "got -3"],
    );
    // stack accepts a new axis in -3..=2 for 2-D inputs.
    expect_err(stack(&ts, 3), ErrorKind::Index, &["stack: axis", "got 3"]);
    expect_err(stack(&ts, -4), ErrorKind::Index, &["stack: axis", "got -4"]);
    let s = tensor(&[1.0], &[], true);
    expect_err(
        concat(&[s.clone(), s], 0),
        ErrorKind::Index,
        &["concat: axis", "0-D"],
    );
    // Shapes that differ off the axis, or in rank.
    let wide = tensor(&[0.0; 8], &[2, 4], true);
    expect_err(
        concat(&[m23(), wide.clone()], 0),
        ErrorKind::Shape,
        &["concat: ts[1]", "[2, 4]", "[2, 3]", "axis 0"],
    );
    expect_err(
        concat(&[m23(), v(3)], 0),
        ErrorKind::Shape,
        &["concat: ts[1]", "[3]", "[2, 3]"],
    );
    expect_err(
        stack(&[m23(), m23(), wide], 0),
        ErrorKind::Shape,
        &["stack: ts[2]", "[2, 4]", "[2, 3]"],
    );
}

#[test]
fn scalar_attributes_must_be_finite() {
    let x = m23();
    expect_err(
        scale(&x, f64::NAN),
        ErrorKind::InvalidArgument,
        &["scale: s", "finite", "NaN"],
    );
    expect_err(
        scale(&x, f64::INFINITY),
        ErrorKind::InvalidArgument,
        &["scale: s", "finite", "inf"],
    );
    expect_err(
        add_scalar(&x, f64::NEG_INFINITY),
        ErrorKind::InvalidArgument,
        &["add_scalar: s", "finite", "-inf"],
    );
    expect_err(
        add_scalar(&x, f64::NAN),
        ErrorKind::InvalidArgument,
        &["add_scalar: s", "NaN"],
    );
    expect_err(
        pow_scalar(&x, f64::NAN),
        ErrorKind::InvalidArgument,
        &["pow_scalar: p", "finite", "NaN"],
    );
    expect_err(
        pow_scalar(&x, f64::INFINITY),
        ErrorKind::InvalidArgument,
        &["pow_scalar: p", "inf"],
    );
}

#[test]
fn from_vec_rejects_wrong_lengths_and_overflowing_shapes() {
    expect_err(
        Tensor::from_vec(vec![1.0; 5], &[2, 3], true),
        ErrorKind::InvalidArgument,
        &["data", "6 values", "[2, 3]", "got 5"],
    );
    // A 0-D tensor holds exactly one value.
    expect_err(
        Tensor::from_vec(vec![1.0, 2.0], &[], false),
        ErrorKind::InvalidArgument,
        &["data", "1 values", "[]", "got 2"],
    );
    expect_err(
        Tensor::from_vec(vec![], &[usize::MAX, 2], false),
        ErrorKind::OutOfMemory,
        &["shape", "overflows"],
    );
    // No overflow of usize, but more float64 values than can be addressed.
    expect_err(
        Tensor::from_vec(vec![], &[1 << 61], false),
        ErrorKind::OutOfMemory,
        &["shape"],
    );
    let t = m23();
    let mut out = [0.0; 5];
    expect_err(
        t.read_into(&mut out),
        ErrorKind::InvalidArgument,
        &["out_len", "6", "got 5"],
    );
}

#[test]
fn broadcasting_to_an_overflowing_shape_is_out_of_memory() {
    let s = Tensor::scalar(1.0);
    expect_err(
        broadcast_to(&s, &[1 << 40, 1 << 40]),
        ErrorKind::OutOfMemory,
        &["broadcast_to"],
    );
}

#[test]
fn grad_rejects_cotangents_of_the_wrong_count_or_shape() {
    let x = v(3);
    let y = mul(&x, &x).unwrap();
    expect_err(
        grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[v(3), v(3)]),
            false,
        ),
        ErrorKind::InvalidArgument,
        &["grad_ys", "one cotangent per y (1)", "got 2"],
    );
    expect_err(
        grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[]),
            false,
        ),
        ErrorKind::InvalidArgument,
        &["grad_ys", "got 0"],
    );
    expect_err(
        grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[v(2)]),
            false,
        ),
        ErrorKind::Shape,
        &["grad_ys[0]", "[3]", "ys[0]", "got [2]"],
    );
    // A cotangent with an extra axis is a stacked one, not a plain one.
    expect_err(
        grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[Tensor::ones(&[1, 3]).unwrap()]),
            false,
        ),
        ErrorKind::Shape,
        &["grad_ys[0]", "got [1, 3]"],
    );
    expect_err(
        grad(&[y], &[Tensor::ones(&[3]).unwrap()], None, false),
        ErrorKind::NotDifferentiable,
        &["xs[0]", "requires grad", "[3]"],
    );
}

#[test]
fn grad_stacked_rejects_disagreeing_k_and_unstacked_cotangents() {
    let x = v(3);
    let y1 = mul(&x, &x).unwrap();
    let y2 = sum(&x, None, false).unwrap();
    let ys = [y1.clone(), y2];
    expect_err(
        grad_stacked(
            &ys,
            std::slice::from_ref(&x),
            &[Tensor::ones(&[2, 3]).unwrap(), Tensor::ones(&[4]).unwrap()],
            false,
        ),
        ErrorKind::Shape,
        &["grad_ys[1]", "[4]", "grad_ys[0]", "[2]"],
    );
    // Not stacked: y1's cotangent must be [k, 3].
    expect_err(
        grad_stacked(
            std::slice::from_ref(&y1),
            std::slice::from_ref(&x),
            &[Tensor::ones(&[3]).unwrap()],
            false,
        ),
        ErrorKind::Shape,
        &["grad_ys[0]", "[k, ..[3]]", "got [3]"],
    );
    expect_err(
        grad_stacked(
            std::slice::from_ref(&y1),
            std::slice::from_ref(&x),
            &[Tensor::ones(&[2, 4]).unwrap()],
            false,
        ),
        ErrorKind::Shape,
        &["grad_ys[0]", "got [2, 4]"],
    );
    expect_err(
        grad_stacked(
            &ys,
            std::slice::from_ref(&x),
            &[Tensor::ones(&[2, 3]).unwrap()],
            false,
        ),
        ErrorKind::InvalidArgument,
        &["grad_ys", "(2)", "got 1"],
    );
    expect_err(
        grad_stacked(&[], &[x], &[], false),
        ErrorKind::InvalidArgument,
        &["ys", "got none"],
    );
}

/// Extreme integers in bounds, steps, axes and dims are errors or valid
/// (empty) results, never an arithmetic overflow.
#[test]
fn extreme_integer_arguments_do_not_panic() {
    let x = v(5);
    for (start, stop, step) in [
        (Some(i64::MIN), Some(i64::MAX), 1),
        (Some(i64::MAX), Some(i64::MIN), -1),
        (Some(i64::MIN), Some(i64::MAX), i64::MIN),
        (None, None, i64::MAX),
        (None, None, i64::MIN),
        (Some(i64::MAX), None, i64::MIN),
    ] {
        let s = slice(&x, 0, start, stop, step).unwrap();
        assert!(s.numel() <= 5, "{start:?}:{stop:?}:{step}");
        // The gradient of any of these scatters back into 5 places.
        if s.numel() > 0 {
            let g = grad(&[s], std::slice::from_ref(&x), None, false).unwrap();
            assert_eq!(g[0].shape(), &[5]);
        }
    }
    expect_err(
        sum(&x, Some(&[isize::MIN]), false),
        ErrorKind::Index,
        &["sum: axes"],
    );
    expect_err(max(&x, isize::MAX, false), ErrorKind::Index, &["max: axis"]);
    expect_err(
        slice(&x, isize::MIN, None, None, 1),
        ErrorKind::Index,
        &["slice: axis"],
    );
    expect_err(
        transpose(&m23(), &[isize::MIN, 0]),
        ErrorKind::Index,
        &["transpose: perm"],
    );
    expect_err(
        reshape(&x, &[isize::MIN]),
        ErrorKind::InvalidArgument,
        &["reshape: shape[0]"],
    );
    expect_err(
        stack(std::slice::from_ref(&x), isize::MIN),
        ErrorKind::Index,
        &["stack: axis"],
    );
    expect_err(
        concat(&[x], isize::MAX),
        ErrorKind::Index,
        &["concat: axis"],
    );
}

#[test]
fn zeros_and_ones_refuse_sizes_that_overflow() {
    // usize::MAX * 2 overflows; an error, not a panic inside ndarray.
    let huge = [usize::MAX, 2];
    expect_err(
        Tensor::zeros(&huge),
        ErrorKind::OutOfMemory,
        &["shape", "overflows"],
    );
    expect_err(
        Tensor::ones(&huge),
        ErrorKind::OutOfMemory,
        &["shape", "overflows"],
    );
    assert_eq!(Tensor::ones(&[2, 0]).unwrap().numel(), 0);
}

#[test]
fn empty_tensors_with_huge_dims_are_out_of_memory_not_internal() {
    // No elements, but ndarray refuses a product of non-zero dims beyond
    // isize::MAX, and reducing the empty axis away would allocate the rest.
    let wide = Tensor::from_vec(vec![], &[1 << 59, 0], true).unwrap();
    let sixteen: Vec<Tensor> = (0..16).map(|_| wide.clone()).collect();
    expect_err(concat(&sixteen, 0), ErrorKind::OutOfMemory, &["concat"]);
    expect_err(stack(&sixteen, 0), ErrorKind::OutOfMemory, &["stack"]);
    let c = Tensor::from_vec(vec![1.0; 16], &[16, 1, 1], false).unwrap();
    expect_err(add(&wide, &c), ErrorKind::OutOfMemory, &["add"]);
    expect_err(
        Tensor::from_vec(vec![], &[usize::MAX / 2, 4, 0], false),
        ErrorKind::OutOfMemory,
        &["shape"],
    );
    let tall = Tensor::from_vec(vec![], &[1 << 40, 0], true).unwrap();
    expect_err(
        sum(&tall, Some(&[1]), false),
        ErrorKind::OutOfMemory,
        &["sum"],
    );
    expect_err(
        mean(&tall, Some(&[1]), false),
        ErrorKind::OutOfMemory,
        &["mean"],
    );
    // A small empty reduction is fine: sum over an empty axis is zeros.
    let small = Tensor::from_vec(vec![], &[3, 0], true).unwrap();
    assert_eq!(
        sum(&small, Some(&[1]), false).unwrap().to_vec(),
        vec![0.0; 3]
    );
}

#[test]
fn element_rejects_a_wrong_count_and_positions_out_of_range() {
    let m = m23();
    expect_err(
        m.element(&[0]),
        ErrorKind::InvalidArgument,
        &["index", "2 positions", "got 1"],
    );
    expect_err(
        m.element(&[0, 0, 0]),
        ErrorKind::InvalidArgument,
        &["got 3"],
    );
    expect_err(
        Tensor::scalar(1.0).element(&[0]),
        ErrorKind::InvalidArgument,
        &["0 positions"],
    );
    expect_err(
        m.element(&[2, 0]),
        ErrorKind::Index,
        &["index[0]", "position 2", "size 2"],
    );
    expect_err(
        m.element(&[0, -4]),
        ErrorKind::Index,
        &["index[1]", "position -4", "size 3"],
    );
    expect_err(m.element(&[isize::MIN, 0]), ErrorKind::Index, &["index[0]"]);
    let empty = Tensor::from_vec(vec![], &[2, 0], false).unwrap();
    expect_err(
        empty.element(&[0, 0]),
        ErrorKind::Index,
        &["index[1]", "size 0"],
    );
    // every position, from both ends: row-major values
    for (k, want) in m.to_vec().into_iter().enumerate() {
        let (i, j) = ((k / 3) as isize, (k % 3) as isize);
        assert_eq!(m.element(&[i, j]).unwrap(), want);
        assert_eq!(m.element(&[i - 2, j - 3]).unwrap(), want);
    }
}

#[test]
fn full_rejects_shapes_that_overflow() {
    expect_err(
        Tensor::full(&[usize::MAX, 2], 1.0, true),
        ErrorKind::OutOfMemory,
        &["shape"],
    );
    let t = Tensor::full(&[3, 0, 2], 1.0, true).unwrap();
    assert_eq!((t.shape(), t.requires_grad()), (&[3, 0, 2][..], true));
}

#[test]
fn clamp_rejects_nan_bounds_and_crossed_bounds() {
    expect_err(
        jac_core::clamp(&m23(), f64::NAN, 1.0),
        ErrorKind::InvalidArgument,
        &["clamp", "lo = NaN"],
    );
    expect_err(
        jac_core::clamp(&m23(), 0.0, f64::NAN),
        ErrorKind::InvalidArgument,
        &["clamp", "hi = NaN"],
    );
    expect_err(
        jac_core::clamp(&m23(), 2.0, 1.0),
        ErrorKind::InvalidArgument,
        &["clamp", "lo <= hi", "lo = 2 > hi = 1"],
    );
    // Equal bounds and infinite bounds are bounds.
    assert_eq!(
        jac_core::clamp(&m23(), 2.0, 2.0).unwrap().to_vec(),
        vec![2.0; 6]
    );
    let open = jac_core::clamp(&m23(), f64::NEG_INFINITY, f64::INFINITY).unwrap();
    assert_eq!(open.to_vec(), m23().to_vec());
}
