//! `jac-bench --mode {full,smoke} --workload {W1,W2,W3rows,W3full,W4,W5,W6} [--runs N]`:
//! runs one workload of `bench/workloads.json` through libjac's Rust API and
//! prints one JSON line (median/min/max ms, peak RSS, checksums), the format
//! every peer of `bench/peers/run.py` prints.
//!
//! The timed region builds the graph from the inputs (the input leaves, every
//! op, the Jacobian or Hessian object) and reads the requested part into a
//! buffer; constant weights are data made once outside it.

use std::time::Instant;

use jac_core::index::Index;
use jac_core::{
    Error, Tensor, add, hessian, jacobian, matmul, mul, scale, sin, softplus, sum, tanh,
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
    let runs = modes["runs"]
        .as_u64()
        .ok_or(format!("unknown mode {mode}"))? as usize;
    let config = &modes[&workload];
    if config.is_null() {
        return Err(format!("unknown workload {workload}"));
    }
    let mut task = build(&workload, config).map_err(|e| e.to_string())?;
    let mut result = task().map_err(|e| e.to_string())?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        drop(result);
        let start = Instant::now();
        result = task().map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (total, first) = checksum(&workload, &result);
    let iterations = config["iterations"].as_u64();
    println!(
        "{}",
        report(&workload, &mode, &times, total, first, iterations)
    );
    Ok(())
}

fn checksum(workload: &str, result: &[f64]) -> (f64, f64) {
    let first = result.first().copied().unwrap_or(f64::NAN);
    let total = if workload == "W6" {
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
    iterations: Option<u64>,
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
    if let Some(it) = iterations {
        line["per_iter_us"] = Value::from(median * 1e3 / it as f64);
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

fn build(workload: &str, config: &Value) -> Result<Task> {
    let get = |k: &str| config[k].as_u64().unwrap_or(0) as usize;
    Ok(match workload {
        "W1" => mlp_jacobian(sizes(config), None),
        "W3rows" => {
            let rows = config["rows"].as_array().cloned().unwrap_or_default();
            let (a, b) = (rows[0].as_i64().unwrap_or(0), rows[1].as_i64().unwrap_or(0));
            mlp_jacobian(sizes(config), Some(vec![Index::range(a, b), Index::All]))
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
    })
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

/// W1 / W3: the MLP's Jacobian, whole or the rows of `index`.
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
