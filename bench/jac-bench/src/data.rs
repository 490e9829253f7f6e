//! The deterministic data of BENCHMARKS.md and the process facts a report
//! needs.

use jac_core::Tensor;
use serde_json::Value;

/// `bench/workloads.json`, compiled in so the binary runs from anywhere.
pub fn workloads() -> Result<Value, String> {
    serde_json::from_str(include_str!("../../workloads.json")).map_err(|e| e.to_string())
}

/// `W_k[i][j] = sin(0.37 i + 0.11 j + 1.3 k) / sqrt(in)`, `b_k[i] = 0.1 cos(0.7 i + k)`.
fn layer(k: usize, n_in: usize, n_out: usize, transposed: bool) -> (Tensor, Tensor) {
    let kf = k as f64;
    let w_at = |i: usize, j: usize| {
        (0.37 * i as f64 + 0.11 * j as f64 + 1.3 * kf).sin() / (n_in as f64).sqrt()
    };
    let (shape, w): ([usize; 2], Vec<f64>) = if transposed {
        (
            [n_in, n_out],
            (0..n_in)
                .flat_map(|j| (0..n_out).map(move |i| (i, j)))
                .map(|(i, j)| w_at(i, j))
                .collect(),
        )
    } else {
        (
            [n_out, n_in],
            (0..n_out)
                .flat_map(|i| (0..n_in).map(move |j| (i, j)))
                .map(|(i, j)| w_at(i, j))
                .collect(),
        )
    };
    let b: Vec<f64> = (0..n_out)
        .map(|i| 0.1 * (0.7 * i as f64 + kf).cos())
        .collect();
    (
        Tensor::from_vec(w, &shape, false).expect("layer shape"),
        Tensor::from_vec(b, &[n_out], false).expect("bias shape"),
    )
}

/// The three layers of an MLP `n0 -> n1 -> n2 -> n3` (weights transposed to
/// `[in, out]` for a batch of rows).
pub fn mlp_layers(sizes: &[usize], transposed: bool) -> Vec<(Tensor, Tensor)> {
    (0..sizes.len() - 1)
        .map(|k| layer(k, sizes[k], sizes[k + 1], transposed))
        .collect()
}

/// `x[j] = sin(0.5 j)`.
pub fn input(n: usize) -> Vec<f64> {
    (0..n).map(|j| (0.5 * j as f64).sin()).collect()
}

/// `X[b][j] = sin(0.5 j + 0.1 b)`, row-major.
pub fn batched_input(batch: usize, n: usize) -> Vec<f64> {
    (0..batch)
        .flat_map(|b| (0..n).map(move |j| (0.5 * j as f64 + 0.1 * b as f64).sin()))
        .collect()
}

/// `A[i][j] = sin(0.37 i + 0.11 j) / 16`.
pub fn hessian_matrix(m: usize, n: usize) -> Tensor {
    let a: Vec<f64> = (0..m)
        .flat_map(|i| (0..n).map(move |j| (0.37 * i as f64 + 0.11 * j as f64).sin() / 16.0))
        .collect();
    Tensor::from_vec(a, &[m, n], false).expect("matrix shape")
}

/// Iteration `i` of W6: `x1 = [i, i+1, i+2] 1e-3`, `x2 = [1, 2, 3] + i 1e-3`.
pub fn tiny_inputs(i: usize) -> ([f64; 3], [f64; 3]) {
    let f = i as f64;
    (
        [f * 1e-3, (f + 1.0) * 1e-3, (f + 2.0) * 1e-3],
        [1.0 + f * 1e-3, 2.0 + f * 1e-3, 3.0 + f * 1e-3],
    )
}

/// W7: `x[k] = sin(0.37 (k / l) + 0.11 (k % l) + 0.5) + 2 (k / l == k % l)`.
pub fn det_minors_input(l: usize) -> Vec<f64> {
    (0..l * l)
        .map(|k| {
            let (i, j) = (k / l, k % l);
            (0.37 * i as f64 + 0.11 * j as f64 + 0.5).sin() + if i == j { 2.0 } else { 0.0 }
        })
        .collect()
}

/// W8's data, row-major: `W [H, H]`, `U [H, D]`, `b [H]` and the inputs
/// `u_t [D]` for `t < T`.
pub struct Rnn {
    pub w: Vec<f64>,
    pub u: Vec<f64>,
    pub b: Vec<f64>,
    pub inputs: Vec<Vec<f64>>,
}

/// `W[i][j] = sin(0.37 i + 0.11 j + 1.3) / sqrt(H)`, `U[i][j] = cos(0.29 i + 0.13 j) / sqrt(D)`,
/// `b[i] = 0.1 cos(0.7 i)`, `u_t[j] = sin(0.5 j + 0.1 t)`.
pub fn rnn(hidden: usize, d_in: usize, steps: usize) -> Rnn {
    let grid = |rows: usize, cols: usize, f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i as f64, j as f64)))
            .map(|(i, j)| f(i, j))
            .collect()
    };
    let (sh, sd) = ((hidden as f64).sqrt(), (d_in as f64).sqrt());
    Rnn {
        w: grid(hidden, hidden, &|i, j| {
            (0.37 * i + 0.11 * j + 1.3).sin() / sh
        }),
        u: grid(hidden, d_in, &|i, j| (0.29 * i + 0.13 * j).cos() / sd),
        b: (0..hidden).map(|i| 0.1 * (0.7 * i as f64).cos()).collect(),
        inputs: (0..steps)
            .map(|t| {
                (0..d_in)
                    .map(|j| (0.5 * j as f64 + 0.1 * t as f64).sin())
                    .collect()
            })
            .collect(),
    }
}

/// W11: the ODE's parameters `p` and initial state `y(0)`.
pub const ODE_P: [f64; 6] = [1.0, 0.1, 2.0, 0.05, 0.3, 0.2];
pub const ODE_Y0: [f64; 4] = [1.0, 0.0, 0.5, 0.0];

/// M1: the leaf `x` of the op chain.
pub const MICRO_X: f64 = 0.3;

/// W9: the bones of the chain (three angles each).
pub const BONES: usize = 8;

/// W9: the 24 angles, `theta[k] = 0.1 sin(k + 1)`.
pub fn skinning_angles() -> Vec<f64> {
    (0..3 * BONES)
        .map(|k| 0.1 * (k as f64 + 1.0).sin())
        .collect()
}

/// W9: the vertices `v_i = (sin(0.1 i), cos(0.13 i), sin(0.07 i + 1))`, `[n, 3]` row-major.
pub fn skinning_vertices(n: usize) -> Vec<f64> {
    (0..n)
        .flat_map(|i| {
            let i = i as f64;
            [(0.1 * i).sin(), (0.13 * i).cos(), (0.07 * i + 1.0).sin()]
        })
        .collect()
}

/// W9: the weights `w_ib = exp(-(b - 8i/n)^2) / sum_c exp(-(c - 8i/n)^2)`, one
/// column per bone: `BONES` columns of `n` (column `b` is `w[:, b]`).
pub fn skinning_weights(n: usize) -> Vec<Vec<f64>> {
    let raw = |i: usize, b: usize| {
        let d = b as f64 - 8.0 * i as f64 / n as f64;
        (-(d * d)).exp()
    };
    let totals: Vec<f64> = (0..n)
        .map(|i| (0..BONES).map(|c| raw(i, c)).sum())
        .collect();
    (0..BONES)
        .map(|b| (0..n).map(|i| raw(i, b) / totals[i]).collect())
        .collect()
}

/// W10's data: the cameras `[C, 9]`, the points `[P, 3]`, and per
/// observation its camera's and point's index and its `u` (`[m, 2]`), all
/// row-major.
pub struct Residuals {
    pub cameras: Vec<f64>,
    pub points: Vec<f64>,
    pub cam_idx: Vec<i64>,
    pub pt_idx: Vec<i64>,
    pub u: Vec<f64>,
}

/// W10: camera `c` is `(r0, r1, r2, t0, t1, t2, f, k1, k2) = (0.01 sin c,
/// 0.01 cos c, 0.01 sin 2c, 0.1 sin c, 0.1 cos c, 5 + 0.1 sin 3c,
/// 1 + 0.01 c, 0.01, 0.001)`, point `j` is `(sin 0.37j, cos 0.23j,
/// sin 0.11j)`, observation `k` sees camera `k mod C` and point
/// `(7919 k) mod P` at `u_k = 0.01 (sin 0.1k, cos 0.1k)`.
pub fn residuals(n_cameras: usize, n_points: usize, m: usize) -> Residuals {
    let cameras = (0..n_cameras)
        .flat_map(|c| {
            let c = c as f64;
            [
                0.01 * c.sin(),
                0.01 * c.cos(),
                0.01 * (2.0 * c).sin(),
                0.1 * c.sin(),
                0.1 * c.cos(),
                5.0 + 0.1 * (3.0 * c).sin(),
                1.0 + 0.01 * c,
                0.01,
                0.001,
            ]
        })
        .collect();
    let points = (0..n_points)
        .flat_map(|j| {
            let j = j as f64;
            [(0.37 * j).sin(), (0.23 * j).cos(), (0.11 * j).sin()]
        })
        .collect();
    Residuals {
        cameras,
        points,
        cam_idx: (0..m).map(|k| (k % n_cameras) as i64).collect(),
        pt_idx: (0..m).map(|k| ((7919 * k) % n_points) as i64).collect(),
        u: (0..m)
            .flat_map(|k| {
                let k = k as f64;
                [0.01 * (0.1 * k).sin(), 0.01 * (0.1 * k).cos()]
            })
            .collect(),
    }
}

impl Residuals {
    /// Each observation's camera `[m, 9]` and point `[m, 3]`, gathered by
    /// index (W10batched's inputs).
    pub fn per_observation(&self) -> (Vec<f64>, Vec<f64>) {
        let pick = |data: &[f64], idx: &[i64], width: usize| -> Vec<f64> {
            idx.iter()
                .flat_map(|&i| data[i as usize * width..][..width].iter().copied())
                .collect()
        };
        (
            pick(&self.cameras, &self.cam_idx, 9),
            pick(&self.points, &self.pt_idx, 3),
        )
    }
}

/// The process's peak resident set, in kB (VmHWM).
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
