//! `jac-bench --mode {full,smoke} --workload WID [--runs N]`: runs one
//! workload of `bench/workloads.json` (W1, W2, W3rows, W3cols, W3full, W4,
//! W5, W6, W6replay, W7rebuild, W7replay, W8rebuild, W8replay, W9rebuild,
//! W9replay, W10denseRebuild, W10denseReplay, W10batchedRebuild,
//! W10batchedReplay, W11rebuild, W11replay, M1rebuild, M1replay, W5sparse,
//! W10sparse, W12n, W12n4) through
//! libjac's Rust API and prints one JSON line (median/min/max ms, peak RSS,
//! checksums), the format every peer of `bench/peers/run.py` prints.
//!
//! The timed region builds the graph from the inputs (the input leaves, every
//! op, the Jacobian or Hessian object) and reads the requested part into a
//! buffer; constant weights are data made once outside it. A `replay`
//! variant instead records a [`Function`] once before the timed runs (its
//! time is the report's `record_ms`: building the graph once and recording
//! it) and only evaluates it in the timed region. M1rebuild and M1replay are
//! `bench/c/micro.c`'s op chain; their report also gives the time per op.
//! W5sparse, W10sparse, W12n and W12n4 record a [`Function`] and make its
//! [`Sparse`] Jacobian or Hessian (detection and colouring) before the timed
//! runs, which evaluate it at the point; the report adds `detect_ms` (making
//! the `Sparse` alone), `nnz`, `colors` and, for W12, `ns_per_n`.

use std::sync::OnceLock;
use std::time::Instant;

use jac_core::index::Index;
use jac_core::{
    Error, Function, Sparse, Tensor, add, add_scalar, concat, cos, div, gather, grad, hessian,
    jacobian, matmul, mul, neg, reshape, scale, sin, slice, softplus, sqrt, stack, sub, sum, tanh,
    transpose,
};
use serde_json::Value;

mod data;

type Result<T> = std::result::Result<T, Error>;

/// One timed run's result: the values read (W6: every block of every
/// iteration, in order).
type Output = Vec<f64>;

fn main() {
    if let Err(message) = run() {
        eprintln!("jac-bench: {message}");
        std::process::exit(2);
    }
}

fn run() -> std::result::Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|k| args.get(k + 1))
            .cloned()
    };
    let mode = flag("--mode").unwrap_or_else(|| "full".into());
    let workload = flag("--workload").ok_or("--workload is required")?;
    let spec = data::workloads()?;
    let modes = &spec["modes"][&mode];
    // `--runs N` overrides the mode's count (a profile wants the timed
    // region to outweigh the setup).
    let runs = match flag("--runs") {
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| format!("--runs: expected a count, got {n}"))?,
        None => modes["runs"]
            .as_u64()
            .ok_or(format!("unknown mode {mode}"))? as usize,
    };
    let config = &modes[&workload];
    if config.is_null() {
        return Err(format!("unknown workload {workload}"));
    }
    let (mut task, record_ms) = build(&workload, config).map_err(|e| e.to_string())?;
    let mut result = task().map_err(|e| e.to_string())?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        drop(result);
        let start = Instant::now();
        result = task().map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (total, first) = checksum(&workload, &result);
    println!(
        "{}",
        report(&workload, &mode, &times, total, first, config, record_ms)
    );
    Ok(())
}

fn checksum(workload: &str, result: &[f64]) -> (f64, f64) {
    let first = result.first().copied().unwrap_or(f64::NAN);
    let total = if workload.starts_with("W6") {
        // Summed per block of 3x3, then over blocks, as the peers do (fsum
        // of the per-block sums), so the order of additions matches closely.
        result.chunks(9).map(|b| b.iter().sum::<f64>()).sum()
    } else {
        result.iter().sum()
    };
    (total, first)
}

fn report(
    workload: &str,
    mode: &str,
    times: &[f64],
    total: f64,
    first: f64,
    config: &Value,
    record_ms: Option<f64>,
) -> String {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let mut line = serde_json::json!({
        "impl": "libjac",
        "workload": workload,
        "mode": mode,
        "runs": n,
        "median_ms": median,
        "min_ms": sorted[0],
        "max_ms": sorted[n - 1],
        "peak_rss_kb": data::peak_rss_kb(),
        "sum": total,
        "first": first,
    });
    if let Some(it) = config["iterations"].as_u64() {
        line["per_iter_us"] = Value::from(median * 1e3 / it as f64);
    }
    if let Some(steps) = config["steps"]
        .as_u64()
        .filter(|_| workload.starts_with("M1"))
    {
        line["ns_per_op"] = Value::from(median * 1e6 / (3 * steps) as f64);
    }
    if let Some(ms) = record_ms {
        line["record_ms"] = Value::from(ms);
    }
    if let Some(made) = SPARSE_MADE.get() {
        line["detect_ms"] = Value::from(made.detect_ms);
        line["nnz"] = Value::from(made.nnz);
        line["colors"] = Value::from(made.colors);
        if workload.starts_with("W12") {
            line["ns_per_n"] = Value::from(median * 1e6 / config["n"].as_f64().unwrap_or(1.0));
        }
    }
    line.to_string()
}

type Task = Box<dyn FnMut() -> Result<Output>>;

fn sizes(config: &Value) -> Vec<usize> {
    config["sizes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|v| v as usize)
                .collect()
        })
        .unwrap_or_default()
}

/// The timed task of a workload, and for a replay variant the time its
/// recording took (ms).
fn build(workload: &str, config: &Value) -> Result<(Task, Option<f64>)> {
    let get = |k: &str| config[k].as_u64().unwrap_or(0) as usize;
    let rnn_sizes = || (get("H"), get("D"), get("T"));
    let ode = || (get("steps"), config["h"].as_f64().unwrap_or(0.0));
    let residual_sizes = || (get("C"), get("P"), get("m"));
    let replayed = |record: &dyn Fn() -> Result<Task>| -> Result<(Task, Option<f64>)> {
        let start = Instant::now();
        let task = record()?;
        Ok((task, Some(start.elapsed().as_secs_f64() * 1e3)))
    };
    match workload {
        "W6replay" => return replayed(&|| tiny_replay(get("iterations"))),
        "W7rebuild" => return Ok((det_minors_rebuild(get("l")), None)),
        "W7replay" => return replayed(&|| det_minors_replay(get("l"))),
        "W8rebuild" => return Ok((rnn_rebuild(rnn_sizes()), None)),
        "W8replay" => return replayed(&|| rnn_replay(rnn_sizes())),
        "W9rebuild" => return Ok((skinning_rebuild(get("n")), None)),
        "W9replay" => return replayed(&|| skinning_replay(get("n"))),
        "W10denseRebuild" => return Ok((residuals_dense(residual_sizes(), false)?, None)),
        "W10denseReplay" => return replayed(&|| residuals_dense(residual_sizes(), true)),
        "W10batchedRebuild" => return Ok((residuals_batched(residual_sizes(), false)?, None)),
        "W10batchedReplay" => return replayed(&|| residuals_batched(residual_sizes(), true)),
        "W11rebuild" => return Ok((ode_rebuild(ode()), None)),
        "W11replay" => return replayed(&|| ode_replay(ode())),
        "M1rebuild" => return Ok((micro_rebuild(get("steps")), None)),
        "M1replay" => return replayed(&|| micro_replay(get("steps"))),
        "W5sparse" => return replayed(&|| diag_sparse(get("n"))),
        "W10sparse" => return replayed(&|| residuals_sparse(residual_sizes())),
        "W12n" | "W12n4" => return replayed(&|| sparse_hessian(get("n"))),
        _ => {}
    }
    let task = match workload {
        "W1" => mlp_jacobian(sizes(config), None),
        "W3rows" => {
            let rows = config["rows"].as_array().cloned().unwrap_or_default();
            let (a, b) = (rows[0].as_i64().unwrap_or(0), rows[1].as_i64().unwrap_or(0));
            mlp_jacobian(sizes(config), Some(vec![Index::range(a, b), Index::All]))
        }
        "W3cols" => {
            let cols = config["cols"].as_array().cloned().unwrap_or_default();
            let (a, b) = (cols[0].as_i64().unwrap_or(0), cols[1].as_i64().unwrap_or(0));
            mlp_jacobian(sizes(config), Some(vec![Index::All, Index::range(a, b)]))
        }
        "W3full" => mlp_jacobian(sizes(config), None),
        "W2" => batched_mlp(get("batch"), sizes(config)),
        "W4" => softplus_hessian(get("m"), get("n")),
        "W5" => diag_wide(get("n")),
        "W6" => tiny_repeat(get("iterations")),
        other => {
            return Err(Error::new(
                jac_core::ErrorKind::InvalidArgument,
                format!("unknown workload {other}"),
            ));
        }
    };
    Ok((task, None))
}

/// `W_2 tanh(W_1 tanh(W_0 x + b_0) + b_1) + b_2`, with `x` a vector (or a
/// batch of rows, with transposed weights).
fn mlp(x: &Tensor, layers: &[(Tensor, Tensor)], batched: bool) -> Result<Tensor> {
    let mut h = x.clone();
    for (k, (w, b)) in layers.iter().enumerate() {
        let z = if batched {
            matmul(&h, w)?
        } else {
            matmul(w, &h)?
        };
        let z = add(&z, b)?;
        h = if k + 1 < layers.len() { tanh(&z)? } else { z };
    }
    Ok(h)
}

/// Block (0, 0) indexed, as the Rust API returns it (an array it allocates).
fn read(j: &jac_core::Jacobian, index: &[Index]) -> Result<Output> {
    Ok(j.read(0, 0, index)?.into_raw_vec_and_offset().0)
}

/// W1 / W3: the MLP's Jacobian, whole or the part `index` selects (W3rows:
/// rows, W3cols: columns).
fn mlp_jacobian(sizes: Vec<usize>, index: Option<Vec<Index>>) -> Task {
    let layers = data::mlp_layers(&sizes, false);
    let x0 = data::input(sizes[0]);
    Box::new(move || {
        let x = Tensor::from_vec(x0.clone(), &[x0.len()], true)?;
        let y = mlp(&x, &layers, false)?;
        let j = jacobian(&y, &x, None)?;
        read(&j, index.as_deref().unwrap_or(&[]))
    })
}

/// W2: per-sample Jacobians with batch axis 0.
fn batched_mlp(batch: usize, sizes: Vec<usize>) -> Task {
    let layers = data::mlp_layers(&sizes, true);
    let x0 = data::batched_input(batch, sizes[0]);
    Box::new(move || {
        let x = Tensor::from_vec(x0.clone(), &[batch, sizes[0]], true)?;
        let y = mlp(&x, &layers, true)?;
        let j = jacobian(&y, &x, Some(0))?;
        read(&j, &[])
    })
}

/// W4: the Hessian of `sum(softplus(A x)) + 0.5 sum(x * x)`.
fn softplus_hessian(m: usize, n: usize) -> Task {
    let a = data::hessian_matrix(m, n);
    let x0 = data::input(n);
    Box::new(move || {
        let x = Tensor::from_vec(x0.clone(), &[n], true)?;
        let s = sum(&softplus(&matmul(&a, &x)?)?, None, false)?;
        let q = scale(&sum(&mul(&x, &x)?, None, false)?, 0.5)?;
        let f = add(&s, &q)?;
        let h = hessian(&f, &x, None)?;
        read(&h, &[])
    })
}

/// W5: the (diagonal) Jacobian of `sin(x) exp(x) + x x`, dense.
fn diag_wide(n: usize) -> Task {
    let x0 = data::input(n);
    Box::new(move || {
        let x = Tensor::from_vec(x0.clone(), &[n], true)?;
        let y = add(&mul(&sin(&x)?, &jac_core::exp(&x)?)?, &mul(&x, &x)?)?;
        let j = jacobian(&y, &x, None)?;
        read(&j, &[])
    })
}

/// W6: `y = x1 * x2 + sin(x1)` with both 3x3 blocks read, the graph built
/// anew every iteration.
fn tiny_repeat(iterations: usize) -> Task {
    Box::new(move || {
        let mut out = Vec::with_capacity(iterations * 18);
        let mut block = [0.0; 9];
        for i in 0..iterations {
            let (d1, d2) = data::tiny_inputs(i);
            let x1 = Tensor::from_vec(d1.to_vec(), &[3], true)?;
            let x2 = Tensor::from_vec(d2.to_vec(), &[3], true)?;
            let y = add(&mul(&x1, &x2)?, &sin(&x1)?)?;
            let j = jacobian(&y, &[x1, x2], None)?;
            for k in 0..2 {
                j.read_into(0, k, &[], &mut block)?;
                out.extend_from_slice(&block);
            }
        }
        Ok(out)
    })
}

/// W6replay: the seed example recorded once (at iteration 0's inputs), then
/// per iteration its lazy Jacobian at the new inputs, both blocks read.
fn tiny_replay(iterations: usize) -> Result<Task> {
    let (d1, d2) = data::tiny_inputs(0);
    let x1 = Tensor::from_vec(d1.to_vec(), &[3], true)?;
    let x2 = Tensor::from_vec(d2.to_vec(), &[3], true)?;
    let y = add(&mul(&x1, &x2)?, &sin(&x1)?)?;
    let f = Function::new(&[x1, x2], &[y])?;
    Ok(Box::new(move || {
        let mut out = Vec::with_capacity(iterations * 18);
        let mut block = [0.0; 9];
        for i in 0..iterations {
            let (d1, d2) = data::tiny_inputs(i);
            let j = f.jacobian(&[&d1, &d2], None)?;
            for k in 0..2 {
                j.read_into(0, k, &[], &mut block)?;
                out.extend_from_slice(&block);
            }
        }
        Ok(out)
    }))
}

/// Element `k` of the vector `x` as a 0-D tensor (a slice and a reshape).
fn entry(x: &Tensor, k: usize) -> Result<Tensor> {
    let k = k as i64;
    reshape(&slice(x, 0, Some(k), Some(k + 1), 1)?, &[])
}

/// det of the minor of the `l x l` matrix `a` (row-major 0-D entries) on
/// rows `row..` and the columns `cols`, expanded along its first row:
/// `sum_j ((-1)^j a[row][c_j]) det(minor_j)`, accumulated from j = 0 up.
fn det_minor(a: &[Tensor], l: usize, row: usize, cols: &[usize]) -> Result<Tensor> {
    if cols.len() == 1 {
        return Ok(a[row * l + cols[0]].clone());
    }
    let mut total: Option<Tensor> = None;
    let mut rest = Vec::with_capacity(cols.len() - 1);
    for (j, &c) in cols.iter().enumerate() {
        rest.clear();
        rest.extend(
            cols.iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .map(|(_, &c)| c),
        );
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        let term = mul(
            &scale(&a[row * l + c], sign)?,
            &det_minor(a, l, row + 1, &rest)?,
        )?;
        total = Some(match total {
            None => term,
            Some(t) => add(&t, &term)?,
        });
    }
    total.ok_or_else(|| Error::new(jac_core::ErrorKind::InvalidArgument, "empty minor"))
}

/// W7's program from the leaf `x` (`l * l`): `det(A)`, `A[i][j] = x[l i + j]`.
fn det_of(x: &Tensor, l: usize) -> Result<Tensor> {
    let a = (0..l * l)
        .map(|k| entry(x, k))
        .collect::<Result<Vec<_>>>()?;
    let cols: Vec<usize> = (0..l).collect();
    det_minor(&a, l, 0, &cols)
}

/// W7rebuild: the scalar program built anew, then its gradient.
fn det_minors_rebuild(l: usize) -> Task {
    let x0 = data::det_minors_input(l);
    Box::new(move || {
        let x = Tensor::from_vec(x0.clone(), &[l * l], true)?;
        let det = det_of(&x, l)?;
        Ok(grad(&[det], &[x], None, false)?[0].to_vec())
    })
}

/// W7replay: recorded once; the timed region is one VJP of the Function.
fn det_minors_replay(l: usize) -> Result<Task> {
    let x0 = data::det_minors_input(l);
    let x = Tensor::from_vec(x0.clone(), &[l * l], true)?;
    let f = Function::new(std::slice::from_ref(&x), &[det_of(&x, l)?])?;
    Ok(Box::new(move || {
        let mut g = vec![0.0; l * l];
        f.vjp_into(&[&x0], None, &mut [&mut g])?;
        Ok(g)
    }))
}

/// W8's loss from the leaves `(W, U, b)` and the constant inputs `u_t`.
fn rnn_loss(w: &Tensor, u: &Tensor, b: &Tensor, inputs: &[Tensor]) -> Result<Tensor> {
    let mut h = Tensor::zeros(&[w.shape()[0]])?;
    for u_t in inputs {
        h = tanh(&add(&add(&matmul(w, &h)?, &matmul(u, u_t)?)?, b)?)?;
    }
    scale(&sum(&mul(&h, &h)?, None, false)?, 0.5)
}

fn rnn_leaves(d: &data::Rnn, hd: (usize, usize)) -> Result<[Tensor; 3]> {
    let (hidden, d_in) = hd;
    Ok([
        Tensor::from_vec(d.w.clone(), &[hidden, hidden], true)?,
        Tensor::from_vec(d.u.clone(), &[hidden, d_in], true)?,
        Tensor::from_vec(d.b.clone(), &[hidden], true)?,
    ])
}

fn rnn_inputs(d: &data::Rnn, d_in: usize) -> Result<Vec<Tensor>> {
    d.inputs
        .iter()
        .map(|u| Tensor::from_vec(u.clone(), &[d_in], false))
        .collect()
}

/// W8rebuild: the graph of T steps built anew, then the three gradients
/// (W, U, b), concatenated.
fn rnn_rebuild((hidden, d_in, steps): (usize, usize, usize)) -> Task {
    let d = data::rnn(hidden, d_in, steps);
    let inputs = rnn_inputs(&d, d_in);
    Box::new(move || {
        let inputs = inputs.as_ref().map_err(Clone::clone)?;
        let leaves = rnn_leaves(&d, (hidden, d_in))?;
        let loss = rnn_loss(&leaves[0], &leaves[1], &leaves[2], inputs)?;
        let gs = grad(&[loss], &leaves, None, false)?;
        Ok(gs.iter().flat_map(Tensor::to_vec).collect())
    })
}

/// W8replay: recorded once; the timed region is one VJP of the Function.
fn rnn_replay((hidden, d_in, steps): (usize, usize, usize)) -> Result<Task> {
    let d = data::rnn(hidden, d_in, steps);
    let leaves = rnn_leaves(&d, (hidden, d_in))?;
    let loss = rnn_loss(&leaves[0], &leaves[1], &leaves[2], &rnn_inputs(&d, d_in)?)?;
    let f = Function::new(&leaves, &[loss])?;
    Ok(Box::new(move || {
        let (mut gw, mut gu, mut gb) = (
            vec![0.0; hidden * hidden],
            vec![0.0; hidden * d_in],
            vec![0.0; hidden],
        );
        f.vjp_into(&[&d.w, &d.u, &d.b], None, &mut [&mut gw, &mut gu, &mut gb])?;
        gw.extend_from_slice(&gu);
        gw.extend_from_slice(&gb);
        Ok(gw)
    }))
}

/// W9's constant data as tensors: the vertices `V` [n, 3] and each bone's
/// weight column `w[:, b]` as [n, 1].
struct Skin {
    vertices: Tensor,
    weights: Vec<Tensor>,
}

fn skin_data(n: usize) -> Result<Skin> {
    Ok(Skin {
        vertices: Tensor::from_vec(data::skinning_vertices(n), &[n, 3], false)?,
        weights: data::skinning_weights(n)
            .into_iter()
            .map(|w| Tensor::from_vec(w, &[n, 1], false))
            .collect::<Result<_>>()?,
    })
}

/// The right-handed rotations about `axis` (0: x, 1: y, 2: z) by the 8
/// angles `theta[offset], theta[offset + 3], ...`, as one [8, 3, 3] tensor
/// `E + cos(a) C + sin(a) S` with constant [3, 3] matrices: `E` keeps the
/// axis, `C` and `S` rotate the plane of the two others `(p, q)` (cyclic
/// order: `R[p][p] = R[q][q] = cos`, `R[q][p] = sin`, `R[p][q] = -sin`).
fn rotations(theta: &Tensor, offset: i64, axis: usize) -> Result<Tensor> {
    let (p, q) = ((axis + 1) % 3, (axis + 2) % 3);
    let constant = |entries: &[(usize, usize, f64)]| {
        let mut m = vec![0.0; 9];
        for &(r, c, v) in entries {
            m[3 * r + c] = v;
        }
        Tensor::from_vec(m, &[3, 3], false)
    };
    let e = constant(&[(axis, axis, 1.0)])?;
    let c = constant(&[(p, p, 1.0), (q, q, 1.0)])?;
    let s = constant(&[(q, p, 1.0), (p, q, -1.0)])?;
    let angles = reshape(&slice(theta, 0, Some(offset), None, 3)?, &[8, 1, 1])?;
    let cosines = mul(&cos(&angles)?, &c)?;
    let sines = mul(&sin(&angles)?, &s)?;
    add(&add(&cosines, &sines)?, &e)
}

/// W9's program from the leaf `theta` [24]: `R_b = Rz Ry Rx` for all bones
/// at once (batched matmuls), `G_b = G_{b-1} R_b`, then
/// `P = sum_b w[:, b] * (V @ G_b^T)` [n, 3], flattened to [3n]: a graph of
/// about a hundred ops, whatever n.
fn skinning(theta: &Tensor, skin: &Skin) -> Result<Tensor> {
    let local = matmul(
        &matmul(&rotations(theta, 0, 2)?, &rotations(theta, 1, 1)?)?,
        &rotations(theta, 2, 0)?,
    )?;
    let mut global: Option<Tensor> = None;
    let mut points: Option<Tensor> = None;
    for (b, w) in skin.weights.iter().enumerate() {
        let b = b as i64;
        let r = reshape(&slice(&local, 0, Some(b), Some(b + 1), 1)?, &[3, 3])?;
        let g = match &global {
            None => r,
            Some(g) => matmul(g, &r)?,
        };
        let term = mul(w, &matmul(&skin.vertices, &transpose(&g, &[1, 0])?)?)?;
        points = Some(match points {
            None => term,
            Some(p) => add(&p, &term)?,
        });
        global = Some(g);
    }
    let points =
        points.ok_or_else(|| Error::new(jac_core::ErrorKind::InvalidArgument, "W9: no bones"))?;
    let n = points.shape()[0] as isize;
    reshape(&points, &[3 * n])
}

/// W9rebuild: the graph built anew, its lazy Jacobian [3n, 24] read in full.
fn skinning_rebuild(n: usize) -> Task {
    let skin = skin_data(n);
    let theta0 = data::skinning_angles();
    Box::new(move || {
        let skin = skin.as_ref().map_err(Clone::clone)?;
        let theta = Tensor::from_vec(theta0.clone(), &[theta0.len()], true)?;
        let y = skinning(&theta, skin)?;
        read(&jacobian(&y, &[theta], None)?, &[])
    })
}

/// W9replay: recorded once; the timed region is the Function's lazy
/// Jacobian at the angles, read in full.
fn skinning_replay(n: usize) -> Result<Task> {
    let skin = skin_data(n)?;
    let theta0 = data::skinning_angles();
    let theta = Tensor::from_vec(theta0.clone(), &[theta0.len()], true)?;
    let y = skinning(&theta, &skin)?;
    let f = Function::new(&[theta], &[y])?;
    Ok(Box::new(move || read(&f.jacobian(&[&theta0], None)?, &[])))
}

/// Column `i` of `t` (`[m, n]`) as `[m, 1]`.
fn column(t: &Tensor, i: i64) -> Result<Tensor> {
    slice(t, 1, Some(i), Some(i + 1), 1)
}

/// W10's residuals `[m, 2]` of the observations' cameras `[m, 9]` and
/// points `[m, 3]` (and `u` as two `[m, 1]` columns), on columns `[m, 1]`,
/// op for op as the peers' `common.reprojection`: `theta = |r|`,
/// `e = r / theta`, `X = p cos(theta) + (e x p) sin(theta) +
/// e ((e.p)(1 - cos(theta))) + t`, `q = -(X0, X1) / X2`, `s = q.q`,
/// `res = (f (1 + k1 s + k2 s^2)) q - u`: about 60 ops, whatever m.
fn reprojection(cam: &Tensor, pt: &Tensor, u: &[Tensor; 2]) -> Result<Tensor> {
    let c = |i: i64| column(cam, i);
    let (r0, r1, r2) = (c(0)?, c(1)?, c(2)?);
    let (p0, p1, p2) = (column(pt, 0)?, column(pt, 1)?, column(pt, 2)?);
    let theta = sqrt(&add(
        &add(&mul(&r0, &r0)?, &mul(&r1, &r1)?)?,
        &mul(&r2, &r2)?,
    )?)?;
    let (e0, e1, e2) = (div(&r0, &theta)?, div(&r1, &theta)?, div(&r2, &theta)?);
    let (cs, sn) = (cos(&theta)?, sin(&theta)?);
    let ep = add(&add(&mul(&e0, &p0)?, &mul(&e1, &p1)?)?, &mul(&e2, &p2)?)?;
    let w = mul(&ep, &add_scalar(&neg(&cs)?, 1.0)?)?;
    // p_i cos + (e x p)_i sin + e_i w + t_i, with (e x p)_i = e_a p_b - e_b p_a.
    let x =
        |p: &Tensor, (ea, pb, eb, pa): (&Tensor, &Tensor, &Tensor, &Tensor), e: &Tensor, t: i64| {
            let cross = sub(&mul(ea, pb)?, &mul(eb, pa)?)?;
            add(
                &add(&add(&mul(p, &cs)?, &mul(&cross, &sn)?)?, &mul(e, &w)?)?,
                &c(t)?,
            )
        };
    let x0 = x(&p0, (&e1, &p2, &e2, &p1), &e0, 3)?;
    let x1 = x(&p1, (&e2, &p0, &e0, &p2), &e1, 4)?;
    let x2 = x(&p2, (&e0, &p1, &e1, &p0), &e2, 5)?;
    let (q0, q1) = (div(&neg(&x0)?, &x2)?, div(&neg(&x1)?, &x2)?);
    let sq = add(&mul(&q0, &q0)?, &mul(&q1, &q1)?)?;
    let distortion = add(
        &add_scalar(&mul(&c(7)?, &sq)?, 1.0)?,
        &mul(&c(8)?, &mul(&sq, &sq)?)?,
    )?;
    let factor = mul(&c(6)?, &distortion)?;
    concat(
        &[
            sub(&mul(&factor, &q0)?, &u[0])?,
            sub(&mul(&factor, &q1)?, &u[1])?,
        ],
        1,
    )
}

/// W10's `u` as two constant `[m, 1]` columns.
fn residual_u(d: &data::Residuals) -> Result<[Tensor; 2]> {
    let m = d.u.len() / 2;
    let col = |r: usize| {
        Tensor::from_vec(
            d.u.iter().skip(r).step_by(2).copied().collect(),
            &[m, 1],
            false,
        )
    };
    Ok([col(0)?, col(1)?])
}

/// Blocks (0, 0) and (0, 1) of `j`, `rows` rows of `w0` and `w1` entries,
/// side by side: W10dense's full Jacobian `[2m, 9C + 3P]`, W10batched's
/// `[m, 2, 12]` from `[m, 2, 9]` and `[m, 2, 3]`; both the full Jacobian's
/// nonzeros in its row-major order.
fn side_by_side(j: &jac_core::Jacobian, rows: usize, w0: usize, w1: usize) -> Result<Output> {
    let (mut a, mut b) = (vec![0.0; rows * w0], vec![0.0; rows * w1]);
    j.read_into(0, 0, &[], &mut a)?;
    j.read_into(0, 1, &[], &mut b)?;
    Ok(a.chunks(w0)
        .zip(b.chunks(w1))
        .flat_map(|(x, y)| x.iter().chain(y))
        .copied()
        .collect())
}

/// W10dense: leaves the cameras `[9C]` and points `[3P]` (seen as `[C, 9]`
/// and `[P, 3]`), each observation's camera and point gathered by index
/// (`gather` along axis 0), the residuals `[m, 2]` flattened to `[2m]`; the
/// lazy Jacobian w.r.t. both read in full as `[2m, 9C + 3P]`. Rebuild: the
/// graph built anew in the timed region; replay: recorded once, then the
/// Function's lazy Jacobian.
fn residuals_dense((nc, np, m): (usize, usize, usize), replay: bool) -> Result<Task> {
    let d = data::residuals(nc, np, m);
    let u = residual_u(&d)?;
    let program = move |d: &data::Residuals| -> Result<(Tensor, Tensor, Tensor)> {
        // Flat leaves (an unbatched Jacobian's xs are 1-D), seen as [C, 9] and [P, 3].
        let cams = Tensor::from_vec(d.cameras.clone(), &[9 * nc], true)?;
        let pts = Tensor::from_vec(d.points.clone(), &[3 * np], true)?;
        let cam = gather(&reshape(&cams, &[nc as isize, 9])?, 0, &d.cam_idx)?;
        let pt = gather(&reshape(&pts, &[np as isize, 3])?, 0, &d.pt_idx)?;
        let res = reshape(&reprojection(&cam, &pt, &u)?, &[2 * m as isize])?;
        Ok((cams, pts, res))
    };
    if replay {
        let (cams, pts, res) = program(&d)?;
        let f = Function::new(&[cams, pts], &[res])?;
        return Ok(Box::new(move || {
            let j = f.jacobian(&[&d.cameras, &d.points], None)?;
            side_by_side(&j, 2 * m, 9 * nc, 3 * np)
        }));
    }
    Ok(Box::new(move || {
        let (cams, pts, res) = program(&d)?;
        side_by_side(&jacobian(&res, &[cams, pts], None)?, 2 * m, 9 * nc, 3 * np)
    }))
}

/// W10batched: leaves the observations' cameras `[m, 9]` and points
/// `[m, 3]` (gathered from the data before the timed region), the
/// residuals `[m, 2]`; the lazy Jacobian with batch axis 0, `[m, 2, 9]` and
/// `[m, 2, 3]`, read as `[m, 2, 12]`.
fn residuals_batched((nc, np, m): (usize, usize, usize), replay: bool) -> Result<Task> {
    let d = data::residuals(nc, np, m);
    let u = residual_u(&d)?;
    let (cam0, pt0) = d.per_observation();
    let leaves = move |cam0: &[f64], pt0: &[f64]| -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::from_vec(cam0.to_vec(), &[m, 9], true)?,
            Tensor::from_vec(pt0.to_vec(), &[m, 3], true)?,
        ))
    };
    if replay {
        let (cam, pt) = leaves(&cam0, &pt0)?;
        let res = reprojection(&cam, &pt, &u)?;
        let f = Function::new(&[cam, pt], &[res])?;
        return Ok(Box::new(move || {
            side_by_side(&f.jacobian(&[&cam0, &pt0], Some(0))?, 2 * m, 9, 3)
        }));
    }
    Ok(Box::new(move || {
        let (cam, pt) = leaves(&cam0, &pt0)?;
        let res = reprojection(&cam, &pt, &u)?;
        side_by_side(&jacobian(&res, &[cam, pt], Some(0))?, 2 * m, 9, 3)
    }))
}

/// W11's right-hand side on 0-D tensors, as every peer writes it:
/// `(y1, -p0 y0 - p1 y1 + p4 sin y2, y3, -p2 y2 - p3 y3 + p5 (y0 y0))`.
fn ode_rhs(y: &[Tensor; 4], p: &[Tensor]) -> Result<[Tensor; 4]> {
    let f1 = add(
        &sub(&mul(&neg(&p[0])?, &y[0])?, &mul(&p[1], &y[1])?)?,
        &mul(&p[4], &sin(&y[2])?)?,
    )?;
    let f3 = add(
        &sub(&mul(&neg(&p[2])?, &y[2])?, &mul(&p[3], &y[3])?)?,
        &mul(&p[5], &mul(&y[0], &y[0])?)?,
    )?;
    Ok([y[1].clone(), f1, y[3].clone(), f3])
}

/// `y + c k`, componentwise.
fn axpy(y: &[Tensor; 4], c: f64, k: &[Tensor; 4]) -> Result<[Tensor; 4]> {
    let r = |i: usize| add(&y[i], &scale(&k[i], c)?);
    Ok([r(0)?, r(1)?, r(2)?, r(3)?])
}

/// W11's program: `steps` RK4 steps from the leaves `p` [6] and `y0` [4];
/// the final state stacked into one [4] tensor.
fn ode_final(p: &Tensor, y0: &Tensor, steps: usize, h: f64) -> Result<Tensor> {
    let p: Vec<Tensor> = (0..6).map(|k| entry(p, k)).collect::<Result<_>>()?;
    let mut y = [entry(y0, 0)?, entry(y0, 1)?, entry(y0, 2)?, entry(y0, 3)?];
    for _ in 0..steps {
        let k1 = ode_rhs(&y, &p)?;
        let k2 = ode_rhs(&axpy(&y, h / 2.0, &k1)?, &p)?;
        let k3 = ode_rhs(&axpy(&y, h / 2.0, &k2)?, &p)?;
        let k4 = ode_rhs(&axpy(&y, h, &k3)?, &p)?;
        let step = |i: usize| -> Result<Tensor> {
            let s = add(
                &add(&add(&k1[i], &scale(&k2[i], 2.0)?)?, &scale(&k3[i], 2.0)?)?,
                &k4[i],
            )?;
            add(&y[i], &scale(&s, h / 6.0)?)
        };
        y = [step(0)?, step(1)?, step(2)?, step(3)?];
    }
    stack(&y, 0)
}

/// Both blocks of a Jacobian of y(T) [4] w.r.t. (p [6], y0 [4]), read in full.
fn read_ode_blocks(j: &jac_core::Jacobian) -> Result<Output> {
    let mut out = vec![0.0; 4 * 6 + 4 * 4];
    let (dp, dy0) = out.split_at_mut(4 * 6);
    j.read_into(0, 0, &[], dp)?;
    j.read_into(0, 1, &[], dy0)?;
    Ok(out)
}

/// W11rebuild: the scalar program built anew, its lazy Jacobian read in full.
fn ode_rebuild((steps, h): (usize, f64)) -> Task {
    Box::new(move || {
        let p = Tensor::from_vec(data::ODE_P.to_vec(), &[6], true)?;
        let y0 = Tensor::from_vec(data::ODE_Y0.to_vec(), &[4], true)?;
        let y = ode_final(&p, &y0, steps, h)?;
        read_ode_blocks(&jacobian(&y, &[p, y0], None)?)
    })
}

/// W11replay: recorded once; the timed region is the Function's lazy
/// Jacobian at the inputs, read in full.
fn ode_replay((steps, h): (usize, f64)) -> Result<Task> {
    let p = Tensor::from_vec(data::ODE_P.to_vec(), &[6], true)?;
    let y0 = Tensor::from_vec(data::ODE_Y0.to_vec(), &[4], true)?;
    let y = ode_final(&p, &y0, steps, h)?;
    let f = Function::new(&[p, y0], &[y])?;
    Ok(Box::new(move || {
        read_ode_blocks(&f.jacobian(&[&data::ODE_P, &data::ODE_Y0], None)?)
    }))
}

/// M1: `bench/c/micro.c`'s op chain from the 0-D leaf `x`: `steps` times
/// `y = add(scale(sin(y), 0.9), x)`, three ops a step.
fn micro_chain(x: &Tensor, steps: usize) -> Result<Tensor> {
    let mut y = x.clone();
    for _ in 0..steps {
        y = add(&scale(&sin(&y)?, 0.9)?, x)?;
    }
    Ok(y)
}

/// M1rebuild: the chain built anew, then its gradient; the result is
/// `(dy/dx, y)`.
fn micro_rebuild(steps: usize) -> Task {
    Box::new(move || {
        let x = Tensor::from_vec(vec![data::MICRO_X], &[], true)?;
        let y = micro_chain(&x, steps)?;
        let g = grad(std::slice::from_ref(&y), &[x], None, false)?[0].to_vec();
        Ok(vec![g[0], y.to_vec()[0]])
    })
}

/// M1replay: recorded once; the timed region is one VJP of the Function (a
/// forward and a reverse sweep). A VJP returns no outputs, so `y` is the one
/// read when recording at the same `x`.
fn micro_replay(steps: usize) -> Result<Task> {
    let x = Tensor::from_vec(vec![data::MICRO_X], &[], true)?;
    let y = micro_chain(&x, steps)?;
    let y0 = y.to_vec()[0];
    let f = Function::new(std::slice::from_ref(&x), &[y])?;
    Ok(Box::new(move || {
        let mut g = [0.0];
        f.vjp_into(&[&[data::MICRO_X]], None, &mut [&mut g])?;
        Ok(vec![g[0], y0])
    }))
}

/// What making a workload's [`Sparse`] found, for the report.
struct SparseMade {
    /// The time of `Function::sparse_jacobian` / `sparse_hessian` alone
    /// (detection and colouring), ms.
    detect_ms: f64,
    nnz: usize,
    colors: usize,
}

static SPARSE_MADE: OnceLock<SparseMade> = OnceLock::new();

/// Makes the sparse derivative of `f` with `make` (timed into the report),
/// then the timed task: its nonzeros at `inputs`, in pattern order
/// (row-major).
fn sparse_task(
    f: &Function,
    make: impl Fn(&Function) -> Result<Sparse>,
    inputs: Vec<Vec<f64>>,
) -> Result<Task> {
    let start = Instant::now();
    let sparse = make(f)?;
    let detect_ms = start.elapsed().as_secs_f64() * 1e3;
    let _ = SPARSE_MADE.set(SparseMade {
        detect_ms,
        nnz: sparse.nnz(),
        colors: sparse.colors(),
    });
    Ok(Box::new(move || {
        let mut values = vec![0.0; sparse.nnz()];
        let inputs: Vec<&[f64]> = inputs.iter().map(Vec::as_slice).collect();
        sparse.eval_into(&inputs, &mut values)?;
        Ok(values)
    }))
}

/// W5sparse: W5's elementwise program recorded, its Jacobian through the
/// detected (diagonal) pattern.
fn diag_sparse(n: usize) -> Result<Task> {
    let x0 = data::input(n);
    let x = Tensor::from_vec(x0.clone(), &[n], true)?;
    let y = add(&mul(&sin(&x)?, &jac_core::exp(&x)?)?, &mul(&x, &x)?)?;
    let f = Function::new(&[x], &[y])?;
    sparse_task(&f, |f| f.sparse_jacobian(0, 0), vec![x0])
}

/// W10sparse: one leaf, the cameras `[9C]` then the points `[3P]`, sliced
/// and seen as `[C, 9]` and `[P, 3]`, each observation's camera and point
/// gathered by index as in W10dense, the residuals flattened to `[2m]`;
/// the full `[2m, 9C + 3P]` Jacobian through the detected pattern (one
/// leaf, so that one `Sparse` holds every column in row-major order).
fn residuals_sparse((nc, np, m): (usize, usize, usize)) -> Result<Task> {
    let d = data::residuals(nc, np, m);
    let u = residual_u(&d)?;
    let mut params = d.cameras.clone();
    params.extend_from_slice(&d.points);
    let leaf = Tensor::from_vec(params.clone(), &[params.len()], true)?;
    let split = (9 * nc) as i64;
    let cams = reshape(
        &slice(&leaf, 0, Some(0), Some(split), 1)?,
        &[nc as isize, 9],
    )?;
    let pts = reshape(&slice(&leaf, 0, Some(split), None, 1)?, &[np as isize, 3])?;
    let cam = gather(&cams, 0, &d.cam_idx)?;
    let pt = gather(&pts, 0, &d.pt_idx)?;
    let res = reshape(&reprojection(&cam, &pt, &u)?, &[2 * m as isize])?;
    let f = Function::new(&[leaf], &[res])?;
    sparse_task(&f, |f| f.sparse_jacobian(0, 0), vec![params])
}

/// W12: `sum(softplus(x[:-1]) (x[1:] - x[:-1])^2) + 0.5 sum(x x)` recorded,
/// its tridiagonal Hessian through the detected pattern (both triangles).
fn sparse_hessian(n: usize) -> Result<Task> {
    let x0 = data::input(n);
    let x = Tensor::from_vec(x0.clone(), &[n], true)?;
    let lo = slice(&x, 0, Some(0), Some(n as i64 - 1), 1)?;
    let hi = slice(&x, 0, Some(1), None, 1)?;
    let d = sub(&hi, &lo)?;
    let terms = sum(&mul(&softplus(&lo)?, &mul(&d, &d)?)?, None, false)?;
    let f = add(&terms, &scale(&sum(&mul(&x, &x)?, None, false)?, 0.5)?)?;
    let f = Function::new(&[x], &[f])?;
    sparse_task(&f, |f| f.sparse_hessian(0), vec![x0])
}
