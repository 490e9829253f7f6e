//! Every case recorded from PaddlePaddle 3.3.1 (`tests/data/
//! paddle_reference_cases.json`, see its "conventions" object) replayed
//! against libjac.
//!
//! A small interpreter builds each case's inputs and program, calls
//! [`jacobian`] or [`hessian`] with the case's ys/xs nesting and batch axis,
//! and checks the structure, every block shape and every query (shape and
//! values to rtol 1e-9 / atol 1e-12, or the error kind). Where Paddle's
//! indexing deviates from numpy (`quirk`), libjac follows the recorded
//! `numpy_semantics`. The few intended deviations from Paddle are listed in
//! [`DEVIATIONS`], each with its reason, and asserted explicitly.
//!
//! The test ends with a report of what it checked, and fails if any case or
//! query was not checked.

use std::collections::HashMap;

use jac_core::index::Index;
use jac_core::{
    Args, ErrorKind, Function, Jacobian, Nested, Tensor, add, cos, div, exp, hessian, jacobian,
    log, matmul, mean, mul, neg, pow_scalar, relu, reshape, scale, sigmoid, sin, sqrt, square, sub,
    sum, tanh, transpose,
};
use serde_json::Value;

const CASES: &str = include_str!("data/paddle_reference_cases.json");

const RTOL: f64 = 1e-9;
const ATOL: f64 = 1e-12;

/// Cases where libjac intentionally differs from what Paddle did, by name.
/// Each is asserted on its own in [`run_case`]; the names must exist in the
/// file, so the list cannot go stale.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "b_mismatched_batch_sizes",
        "Paddle silently accepts ys with batch 4 and xs with batch 3 and returns \
         gradients of sums over ys' batch; libjac refuses mismatched batch sizes \
         with ErrorKind::BatchAxis instead of returning a meaningless Jacobian",
    ),
    (
        "h_paddle_limitation_div_sqrt",
        "Paddle has no double-grad op for sqrt and divide and raises RuntimeError \
         when the block is read; libjac's VJP rules are differentiable, so it \
         succeeds with the recorded numpy_semantics (analytic) values",
    ),
    (
        "err_h_ys_tuple",
        "Paddle's hessian((y,), x) fails with AttributeError (a tuple has no \
         .numel); libjac's hessian takes one &Tensor, so a tuple of ys cannot \
         even be written. The test asserts instead that the Hessian of that y \
         alone works",
    ),
];

// ---------------------------------------------------------------------------
// JSON access

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("missing field {key:?} in {v}"))
}

fn as_str<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {v}"))
}

fn as_usizes(v: &Value, what: &str) -> Vec<usize> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected an array, got {v}"))
        .iter()
        .map(|d| {
            let d = d
                .as_u64()
                .unwrap_or_else(|| panic!("{what}: expected a size, got {d}"));
            usize::try_from(d).expect("size fits usize")
        })
        .collect()
}

fn as_isizes(v: &Value, what: &str) -> Vec<isize> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected an array, got {v}"))
        .iter()
        .map(|d| {
            let d = d
                .as_i64()
                .unwrap_or_else(|| panic!("{what}: expected an integer, got {d}"));
            isize::try_from(d).expect("axis fits isize")
        })
        .collect()
}

fn as_f64s(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected an array, got {v}"))
        .iter()
        .map(|d| {
            d.as_f64()
                .unwrap_or_else(|| panic!("{what}: expected a number, got {d}"))
        })
        .collect()
}

fn as_f64(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

/// `{shape, data}` as a tensor.
fn tensor_of(v: &Value, requires_grad: bool, what: &str) -> Tensor {
    if let Some(x) = v.as_f64() {
        return Tensor::from_vec(vec![x], &[], requires_grad).expect("0-D tensor");
    }
    let shape = as_usizes(field(v, "shape"), what);
    let data = as_f64s(field(v, "data"), what);
    Tensor::from_vec(data, &shape, requires_grad)
        .unwrap_or_else(|e| panic!("{what}: bad tensor: {e}"))
}

// ---------------------------------------------------------------------------
// The program interpreter

/// The tensors of a case after running its program, by name.
struct Env {
    tensors: HashMap<String, Tensor>,
}

impl Env {
    fn get(&self, name: &Value) -> Tensor {
        let name = as_str(name, "operand");
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("unknown tensor {name:?}"))
            .clone()
    }

    /// Builds the inputs (all requiring grad) and runs the program.
    fn run(case: &Value) -> Env {
        Env::run_scaled(case, 1.0)
    }

    /// The same tensors, from a [`Function`] recorded at another point (the
    /// inputs scaled by 1.25, which keeps every sign, so every op stays in
    /// its domain) and replayed at the case's inputs: every later check then
    /// tests the replay.
    fn replayed(case: &Value) -> Env {
        let elsewhere = Env::run_scaled(case, 1.25);
        let mut names: Vec<&String> = elsewhere.tensors.keys().collect();
        names.sort();
        let input_specs = field(case, "inputs")
            .as_object()
            .expect("inputs is an object");
        let xs: Vec<Tensor> = input_specs
            .keys()
            .map(|n| elsewhere.tensors[n].clone())
            .collect();
        let ys: Vec<Tensor> = names
            .iter()
            .map(|&n| elsewhere.tensors[n].clone())
            .collect();
        let f = Function::new(&xs, &ys).expect("a case's program records");
        let values: Vec<Vec<f64>> = input_specs
            .iter()
            .map(|(n, spec)| tensor_of(spec, true, n).to_vec())
            .collect();
        let values: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
        let (_, traced) = f.trace(&values).expect("the replay at the case's inputs");
        Env {
            tensors: names.into_iter().cloned().zip(traced).collect(),
        }
    }

    fn run_scaled(case: &Value, factor: f64) -> Env {
        let mut tensors = HashMap::new();
        let inputs = field(case, "inputs")
            .as_object()
            .expect("inputs is an object");
        for (name, spec) in inputs {
            let x = tensor_of(spec, true, name);
            let scaled: Vec<f64> = x.to_vec().iter().map(|v| v * factor).collect();
            tensors.insert(
                name.clone(),
                Tensor::from_vec(scaled, x.shape(), true).expect("same shape"),
            );
        }
        let mut env = Env { tensors };
        for step in field(case, "program")
            .as_array()
            .expect("program is a list")
        {
            let step = step.as_array().expect("a program step is a list");
            let out = as_str(&step[0], "output name").to_owned();
            let op = as_str(&step[1], "op name");
            let value = env.apply(op, &step[2..]);
            env.tensors.insert(out, value);
        }
        env
    }

    /// One op of the program format mapped to the jac_core function.
    fn apply(&self, op: &str, args: &[Value]) -> Tensor {
        let unary = |f: fn(&Tensor) -> jac_core::Result<Tensor>| f(&self.get(&args[0]));
        let binary = |f: fn(&Tensor, &Tensor) -> jac_core::Result<Tensor>| {
            f(&self.get(&args[0]), &self.get(&args[1]))
        };
        // `sum` / `mean`: null = every axis, an int or a list of ints = those
        // axes; an optional trailing bool is keepdim.
        let reduce = |f: fn(&Tensor, Option<&[isize]>, bool) -> jac_core::Result<Tensor>| {
            let axes = match args.get(1) {
                None | Some(Value::Null) => None,
                Some(Value::Array(_)) => Some(as_isizes(&args[1], "axes")),
                Some(a) => Some(vec![
                    isize::try_from(a.as_i64().expect("axis is an integer")).expect("axis"),
                ]),
            };
            let keepdim = args.get(2).and_then(Value::as_bool).unwrap_or(false);
            f(&self.get(&args[0]), axes.as_deref(), keepdim)
        };
        let result = match op {
            "add" => binary(add),
            "sub" => binary(sub),
            "mul" => binary(mul),
            "div" => binary(div),
            "matmul" => binary(matmul),
            "neg" => unary(neg),
            "exp" => unary(exp),
            "log" => unary(log),
            "sin" => unary(sin),
            "cos" => unary(cos),
            "tanh" => unary(tanh),
            "sigmoid" => unary(sigmoid),
            "relu" => unary(relu),
            "sqrt" => unary(sqrt),
            "square" => unary(square),
            "pow_scalar" => pow_scalar(&self.get(&args[0]), as_f64(&args[1], "pow_scalar p")),
            // paddle.scale(x, scale, bias): bias is optional.
            "scale" => {
                let scaled = scale(&self.get(&args[0]), as_f64(&args[1], "scale s"));
                match args.get(2).and_then(Value::as_f64) {
                    Some(b) if b != 0.0 => scaled.and_then(|t| jac_core::add_scalar(&t, b)),
                    _ => scaled,
                }
            }
            "sum" => reduce(sum),
            "mean" => reduce(mean),
            "reshape" => reshape(&self.get(&args[0]), &as_isizes(&args[1], "reshape shape")),
            "transpose" => transpose(&self.get(&args[0]), &as_isizes(&args[1], "perm")),
            "const" => Ok(tensor_of(&args[0], false, "const")),
            other => panic!("the program format has no op {other:?}: extend the interpreter"),
        };
        result.unwrap_or_else(|e| panic!("op {op} {args:?} failed: {e}"))
    }
}

/// A case's `ys` or `xs`: a name is one tensor, a list of names a tuple.
enum Arg {
    One(Tensor),
    Tuple(Vec<Tensor>),
}

impl Arg {
    fn of(env: &Env, v: &Value) -> Arg {
        match v {
            Value::Array(names) => Arg::Tuple(names.iter().map(|n| env.get(n)).collect()),
            name => Arg::One(env.get(name)),
        }
    }

    fn args(&self) -> Args<'_> {
        match self {
            Arg::One(t) => Args::One(t),
            Arg::Tuple(ts) => Args::Tuple(ts),
        }
    }
}

// ---------------------------------------------------------------------------
// Python index expressions

/// Parses a Python index expression such as `[1:, -1]`, `[::2]` or `[...]`
/// into libjac index items. A bare `:` becomes [`Index::All`].
fn parse_index(text: &str) -> Vec<Index> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or_else(|| panic!("index {text:?}: expected [...]"));
    let int = |s: &str| -> Option<i64> {
        let s = s.trim();
        (!s.is_empty()).then(|| {
            s.parse()
                .unwrap_or_else(|_| panic!("index {text:?}: bad integer {s:?}"))
        })
    };
    inner
        .split(',')
        .map(str::trim)
        .map(|item| match item {
            "..." => Index::Ellipsis,
            ":" => Index::All,
            _ if item.contains(':') => {
                let parts: Vec<&str> = item.split(':').collect();
                assert!(parts.len() <= 3, "index {text:?}: bad slice {item:?}");
                Index::Slice {
                    start: int(parts[0]),
                    stop: int(parts[1]),
                    step: parts.get(2).and_then(|s| int(s)).unwrap_or(1),
                }
            }
            _ => Index::Int(int(item).unwrap_or_else(|| panic!("index {text:?}: empty item"))),
        })
        .collect()
}

#[test]
fn the_index_parser_reads_every_form() {
    let s = |start, stop, step| Index::Slice { start, stop, step };
    assert_eq!(parse_index("[:]"), vec![Index::All]);
    assert_eq!(parse_index("[1]"), vec![Index::Int(1)]);
    assert_eq!(parse_index("[-1, 0]"), vec![Index::Int(-1), Index::Int(0)]);
    assert_eq!(
        parse_index("[1:, 1]"),
        vec![s(Some(1), None, 1), Index::Int(1)]
    );
    assert_eq!(
        parse_index("[0:2, 0:3:2]"),
        vec![s(Some(0), Some(2), 1), s(Some(0), Some(3), 2)]
    );
    assert_eq!(parse_index("[::2]"), vec![s(None, None, 2)]);
    assert_eq!(parse_index("[::-1]"), vec![s(None, None, -1)]);
    assert_eq!(parse_index("[...]"), vec![Index::Ellipsis]);
    assert_eq!(
        parse_index("[:, :, 0]"),
        vec![Index::All, Index::All, Index::Int(0)]
    );
    assert_eq!(parse_index("[3:1]"), vec![s(Some(3), Some(1), 1)]);
}

/// What numpy does with `index` on an array of `shape`, decided from the
/// rules alone (independently of libjac): the numpy exception for an index
/// numpy refuses, `None` for one it accepts.
fn numpy_refuses(index: &[Index], shape: &[usize]) -> Option<&'static str> {
    let ellipses = index.iter().filter(|i| **i == Index::Ellipsis).count();
    if ellipses > 1 {
        return Some("IndexError");
    }
    if index.len() - ellipses > shape.len() {
        return Some("IndexError");
    }
    // Integers apply to the axes before the ellipsis from the front and to
    // those after it from the back.
    let split = index
        .iter()
        .position(|i| *i == Index::Ellipsis)
        .unwrap_or(index.len());
    let axis_of = |k: usize| {
        if k < split {
            k
        } else {
            shape.len() - (index.len() - k)
        }
    };
    for (k, item) in index.iter().enumerate() {
        match *item {
            Index::Int(i) => {
                let n = i64::try_from(shape[axis_of(k)]).expect("size");
                if i < -n || i >= n {
                    return Some("IndexError");
                }
            }
            Index::Slice { step: 0, .. } => return Some("ValueError"),
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Expectations

/// What a query (or a call) must produce in libjac.
#[derive(Debug)]
enum Expect {
    Values { shape: Vec<usize>, values: Vec<f64> },
    Error(ErrorKind),
}

/// A numpy exception (`"IndexError: ..."`) as the libjac error kind.
fn kind_of_numpy_error(text: &str) -> ErrorKind {
    if text.starts_with("IndexError") {
        ErrorKind::Index
    } else if text.starts_with("ValueError: slice step") {
        ErrorKind::InvalidArgument
    } else {
        panic!("numpy error {text:?}: no libjac kind mapped")
    }
}

fn values_of(v: &Value, what: &str) -> Expect {
    Expect::Values {
        shape: as_usizes(field(v, "shape"), what),
        values: as_f64s(field(v, "values"), what),
    }
}

/// What libjac must do for `query` on a block of `block_shape`.
fn expectation(query: &Value, block_shape: &[usize], what: &str) -> Expect {
    let quirk = field(query, "quirk").as_bool().expect("quirk is a bool");
    if quirk {
        // libjac follows numpy where Paddle deviates from it.
        let numpy = field(query, "numpy_semantics");
        return match numpy.get("error") {
            Some(e) => Expect::Error(kind_of_numpy_error(as_str(e, what))),
            None => values_of(numpy, what),
        };
    }
    let error = field(query, "error");
    if error.is_null() {
        return values_of(query, what);
    }
    let kind = as_str(field(error, "kind"), what);
    match kind {
        "index" => Expect::Error(ErrorKind::Index),
        // Paddle raised TypeError; the recording says numpy agrees that this
        // is an error (quirk false). Confirm that from numpy's rules: numpy
        // raises IndexError (too many indices), which is ErrorKind::Index.
        "index_type" => {
            let index = parse_index(as_str(field(query, "index"), what));
            let numpy = numpy_refuses(&index, block_shape)
                .unwrap_or_else(|| panic!("{what}: numpy accepts {index:?} but quirk is false"));
            assert_eq!(numpy, "IndexError", "{what}");
            Expect::Error(ErrorKind::Index)
        }
        other => panic!("{what}: query error kind {other:?} without numpy_semantics"),
    }
}

/// Paddle's error kind for a jacobian()/hessian() call as libjac's, and the
/// argument libjac's message must name.
fn call_error(case: &Value, error: &Value) -> (ErrorKind, String) {
    let kind = as_str(field(error, "kind"), "error kind");
    let message = as_str(field(error, "paddle_message"), "paddle_message");
    match kind {
        // "ys.ndim should be ..." / "xs.ndim should be ...": the same argument.
        "shape" => (
            ErrorKind::Shape,
            message
                .split('.')
                .next()
                .expect("message names the argument")
                .to_owned(),
        ),
        "batch_axis" => (ErrorKind::BatchAxis, "batch_axis".to_owned()),
        // Anything Paddle refuses about a Hessian's y is a shape problem.
        "hessian_ys" => {
            assert_eq!(as_str(field(case, "kind"), "kind"), "hessian");
            (ErrorKind::Shape, "y".to_owned())
        }
        "index" => (ErrorKind::Index, String::new()),
        other => panic!("call error kind {other:?}: no libjac kind mapped"),
    }
}

// ---------------------------------------------------------------------------
// Checks

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= ATOL + RTOL * w.abs(),
            "{what}: element {k}: got {g:e}, want {w:e} (all: {got:?} vs {want:?})"
        );
    }
}

/// Compares libjac's nesting and block shapes to the recorded structure.
fn check_structure(j: &Jacobian, got: &Nested<(usize, usize)>, want: &Value, what: &str) -> usize {
    match (got, want) {
        (Nested::Leaf((i, jj)), Value::Object(_)) => {
            let shape = as_usizes(field(want, "shape"), what);
            assert_eq!(
                j.block_shape(*i, *jj).unwrap(),
                shape,
                "{what}: block ({i}, {jj})"
            );
            1
        }
        (Nested::Tuple(items), Value::Array(wants)) => {
            assert_eq!(items.len(), wants.len(), "{what}: tuple length");
            items
                .iter()
                .zip(wants)
                .enumerate()
                .map(|(k, (g, w))| check_structure(j, g, w, &format!("{what}[{k}]")))
                .sum()
        }
        _ => panic!("{what}: nesting {got:?} does not match recorded {want}"),
    }
}

/// The block `path` leads to in the nesting.
fn block_at(structure: &Nested<(usize, usize)>, path: &[usize], what: &str) -> (usize, usize) {
    let mut node = structure;
    for &k in path {
        node = node
            .item(k)
            .unwrap_or_else(|| panic!("{what}: path {path:?} leaves the nesting {structure:?}"));
    }
    *node
        .leaf()
        .unwrap_or_else(|| panic!("{what}: path {path:?} ends at a tuple"))
}

/// Runs one query against libjac; returns whether it was a quirk.
fn check_query(
    j: &Jacobian,
    structure: &Nested<(usize, usize)>,
    query: &Value,
    what: &str,
) -> bool {
    let path = as_usizes(field(query, "block"), what);
    let (bi, bj) = block_at(structure, &path, what);
    let block_shape = j.block_shape(bi, bj).unwrap();
    let index_text = field(query, "index").as_str();
    // null: full evaluation (Paddle's J.numpy()), an empty libjac index.
    let index = index_text.map(parse_index).unwrap_or_default();
    let what = format!("{what} block {path:?} J{}", index_text.unwrap_or("<full>"));
    match expectation(query, &block_shape, &what) {
        Expect::Values { shape, values } => {
            let got = j
                .read(bi, bj, &index)
                .unwrap_or_else(|e| panic!("{what}: read failed: {e:?}"));
            assert_eq!(got.shape(), shape.as_slice(), "{what}: shape");
            let got: Vec<f64> = got.iter().copied().collect();
            assert_close(&got, &values, &what);
            assert_eq!(j.read_shape(bi, bj, &index).unwrap(), shape, "{what}");
            let mut out = vec![f64::NAN; values.len()];
            j.read_into(bi, bj, &index, &mut out).unwrap();
            assert_close(&out, &values, &format!("{what} (read_into)"));
        }
        Expect::Error(kind) => {
            let err = j
                .read(bi, bj, &index)
                .expect_err(&format!("{what}: expected {kind:?}"));
            assert_eq!(err.kind(), kind, "{what}: {err}");
            assert!(err.message().contains("index"), "{what}: {err}");
            let err = j.read_shape(bi, bj, &index).unwrap_err();
            assert_eq!(err.kind(), kind, "{what} (read_shape)");
        }
    }
    field(query, "quirk").as_bool() == Some(true)
}

/// What one case contributed to the report.
#[derive(Default)]
struct Tally {
    cases: usize,
    blocks: usize,
    queries: usize,
    quirks: usize,
    call_errors: usize,
    deviations: usize,
    /// Recorded queries of a case libjac refuses on purpose.
    refused_queries: usize,
    /// Checks that stand in for a case libjac cannot express.
    substitutes: usize,
}

/// Calls jacobian()/hessian() as the case does.
fn call(case: &Value, env: &Env) -> jac_core::Result<Jacobian> {
    let xs = Arg::of(env, field(case, "xs"));
    let batch_axis = field(case, "batch_axis").as_i64();
    match as_str(field(case, "kind"), "kind") {
        "jacobian" => {
            let ys = Arg::of(env, field(case, "ys"));
            jacobian(ys.args(), xs.args(), batch_axis)
        }
        "hessian" => {
            let y = env.get(field(case, "ys"));
            hessian(&y, xs.args(), batch_axis)
        }
        other => panic!("case kind {other:?}"),
    }
}

fn run_case(case: &Value, tally: &mut Tally, make_env: fn(&Value) -> Env) {
    let name = as_str(field(case, "name"), "name");
    let env = make_env(case);
    let before = (tally.blocks, tally.queries, tally.call_errors);
    let recorded = case
        .get("queries")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);

    match name {
        // Deviation: Paddle accepts batch sizes 4 (ys) and 3 (xs); libjac
        // refuses them.
        "b_mismatched_batch_sizes" => {
            assert!(field(case, "error").is_null(), "{name}: Paddle accepted it");
            let err = call(case, &env).expect_err("libjac refuses mismatched batch sizes");
            assert_eq!(err.kind(), ErrorKind::BatchAxis, "{name}: {err}");
            assert!(err.message().contains("batch size"), "{name}: {err}");
            tally.refused_queries += field(case, "queries").as_array().map_or(0, Vec::len);
            tally.deviations += 1;
            tally.call_errors += 1;
            tally.cases += 1;
            return;
        }
        // Deviation: a tuple ys cannot be passed to libjac's hessian (one
        // &Tensor). What remains checkable: the Hessian of that y alone,
        // y = sum(x^2), is 2 I.
        "err_h_ys_tuple" => {
            let ys = field(case, "ys").as_array().expect("ys is a tuple here");
            assert_eq!(ys.len(), 1, "{name}");
            let steps: Vec<&str> = field(case, "program")
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s[1].as_str().unwrap())
                .collect();
            assert_eq!(steps, ["square", "sum"], "{name}: y = sum(x^2)");
            let y = env.get(&ys[0]);
            let x = env.get(field(case, "xs"));
            let h = hessian(&y, &x, None).expect("the Hessian of y alone works");
            assert_eq!(h.structure(), Nested::Leaf((0, 0)));
            let got: Vec<f64> = h.read(0, 0, &[]).unwrap().iter().copied().collect();
            let n = x.numel();
            let want: Vec<f64> = (0..n * n)
                .map(|k| if k / n == k % n { 2.0 } else { 0.0 })
                .collect();
            assert_close(&got, &want, name);
            tally.deviations += 1;
            tally.substitutes += 1;
            tally.cases += 1;
            return;
        }
        _ => {}
    }
    if name == "h_paddle_limitation_div_sqrt" {
        // Deviation: handled by the quirk below (numpy_semantics values);
        // assert here that the recording is what this deviation describes.
        let q = &field(case, "queries").as_array().unwrap()[0];
        assert_eq!(
            as_str(field(field(q, "error"), "kind"), name),
            "paddle_limitation"
        );
        assert!(field(q, "numpy_semantics").get("values").is_some());
        tally.deviations += 1;
    }

    let error = field(case, "error");
    if !error.is_null() {
        let (kind, arg) = call_error(case, error);
        let err = call(case, &env).expect_err(&format!("{name}: expected {kind:?}"));
        assert_eq!(err.kind(), kind, "{name}: {err}");
        assert!(
            err.message().contains(&arg),
            "{name}: message {:?} does not name {arg:?}",
            err.message()
        );
        tally.call_errors += 1;
        tally.cases += 1;
        return;
    }

    let j = call(case, &env).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    for i in 0..j.blocks().0 {
        assert_eq!(j.rows_evaluated(i).unwrap(), 0, "{name}: lazy");
    }
    let structure = j.structure();
    tally.blocks += check_structure(&j, &structure, field(case, "structure"), name);
    for (k, query) in field(case, "queries")
        .as_array()
        .expect("queries is a list")
        .iter()
        .enumerate()
    {
        if check_query(&j, &structure, query, &format!("{name} query {k}")) {
            tally.quirks += 1;
        }
        tally.queries += 1;
    }
    assert_eq!(
        tally.queries - before.1,
        recorded,
        "{name}: every query ran"
    );
    assert!(
        (tally.blocks, tally.queries, tally.call_errors) != before,
        "{name}: nothing was checked"
    );
    tally.cases += 1;
}

#[test]
fn every_recorded_paddle_case_matches() {
    check_every_case(Env::run, "graph");
}

/// The same checks on the graph a [`Function`] replays.
#[test]
fn every_recorded_paddle_case_matches_when_replayed_by_a_function() {
    check_every_case(Env::replayed, "replayed by a Function");
}

fn check_every_case(make_env: fn(&Value) -> Env, how: &str) {
    let root: Value = serde_json::from_str(CASES).expect("the reference file is JSON");
    assert_eq!(root["format_version"], 1, "a format this interpreter knows");
    let cases = field(&root, "cases").as_array().expect("cases is a list");
    let names: Vec<&str> = cases
        .iter()
        .map(|c| as_str(field(c, "name"), "name"))
        .collect();
    for (name, _) in DEVIATIONS {
        assert!(names.contains(name), "deviation {name} is not in the file");
    }

    let mut tally = Tally::default();
    let recorded_queries: usize = cases
        .iter()
        .map(|c| {
            c.get("queries")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    for case in cases {
        run_case(case, &mut tally, make_env);
    }

    println!(
        "paddle reference ({}, {how}): {} of {} cases checked: {} block shapes, {} of {} queries \
         ({} of them quirks where libjac follows numpy; {} refused on purpose), {} call \
         errors, {} substitute checks; {} intended deviations:",
        as_str(field(&root, "paddle_version"), "paddle_version"),
        tally.cases,
        cases.len(),
        tally.blocks,
        tally.queries,
        recorded_queries,
        tally.quirks,
        tally.refused_queries,
        tally.call_errors,
        tally.substitutes,
        tally.deviations,
    );
    for (name, why) in DEVIATIONS {
        println!("  {name}: {why}");
    }
    assert_eq!(tally.cases, cases.len(), "every case was checked");
    assert_eq!(
        tally.deviations,
        DEVIATIONS.len(),
        "every deviation asserted"
    );
    assert_eq!(
        tally.queries + tally.refused_queries,
        recorded_queries,
        "every query was checked"
    );
}
