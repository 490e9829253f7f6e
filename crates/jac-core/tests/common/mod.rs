//! Helpers shared by the integration tests: deterministic test data, central
//! finite differences, and approximate comparisons with readable failures.
//!
//! Generic on purpose: nothing here knows about a particular op or test.

#![allow(
    dead_code,
    reason = "every test crate compiles this module but uses a different subset of it"
)]

use jac_core::Tensor;
use ndarray::{ArrayD, IxDyn};

/// A small deterministic generator (SplitMix64): the same seed gives the same
/// data on every platform and run, so a failure always reproduces.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A stable seed from a name (FNV-1a), so each test draws its own data.
pub fn seed_from(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Where test values are drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Domain {
    /// Uniform in `[lo, hi)`.
    Uniform(f64, f64),
    /// Magnitude uniform in `[lo, hi)` with a random sign: keeps values away
    /// from a kink or pole at 0.
    AwayFromZero(f64, f64),
    /// Pairwise distinct values at least 0.08 apart (a shuffled grid with a
    /// little jitter): no ties, and no perturbation of a finite-difference
    /// step can reorder them.
    Distinct,
}

/// Row-major values of `shape` drawn from `domain`.
pub fn values(shape: &[usize], domain: Domain, rng: &mut Rng) -> Vec<f64> {
    let n: usize = shape.iter().product();
    match domain {
        Domain::Uniform(lo, hi) => (0..n).map(|_| rng.uniform(lo, hi)).collect(),
        Domain::AwayFromZero(lo, hi) => (0..n)
            .map(|_| {
                let m = rng.uniform(lo, hi);
                if rng.next_u64() & 1 == 0 { m } else { -m }
            })
            .collect(),
        Domain::Distinct => {
            // Grid points 0.1 apart, jitter below 0.02: gaps stay >= 0.08.
            let mut grid: Vec<f64> = (0..n).map(|k| k as f64 * 0.1 - 0.05 * n as f64).collect();
            for k in (1..n).rev() {
                grid.swap(k, rng.below(k + 1));
            }
            grid.into_iter()
                .map(|v| v + rng.uniform(-0.01, 0.01))
                .collect()
        }
    }
}

/// An array of `shape` drawn from `domain`.
pub fn array(shape: &[usize], domain: Domain, rng: &mut Rng) -> ArrayD<f64> {
    arr(values(shape, domain, rng), shape)
}

/// An array from row-major `data`.
pub fn arr(data: Vec<f64>, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("data length matches the shape")
}

/// A tensor from row-major `data`.
pub fn tensor(data: &[f64], shape: &[usize], requires_grad: bool) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape, requires_grad).expect("data length matches the shape")
}

/// A tensor of `shape` drawn from `domain`.
pub fn random_tensor(
    shape: &[usize],
    domain: Domain,
    rng: &mut Rng,
    requires_grad: bool,
) -> Tensor {
    Tensor::new(array(shape, domain, rng), requires_grad)
}

/// `sum(a * b)` over two arrays of one shape.
pub fn dot(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "dot: shapes differ");
    a.iter().zip(b.iter()).map(|(p, q)| p * q).sum()
}

/// Central differences of the scalar function `f` at the points `at`: one
/// array per point, shaped like it, each entry `(f(x + h e) - f(x - h e)) /
/// (2h)`. The denominator is the step actually taken, `(x + h) - (x - h)` in
/// floating point, which removes the representation error of `x +- h`.
pub fn central_diff(
    f: &mut dyn FnMut(&[ArrayD<f64>]) -> f64,
    at: &[ArrayD<f64>],
    h: f64,
) -> Vec<ArrayD<f64>> {
    let mut point: Vec<ArrayD<f64>> = at
        .iter()
        .map(|a| a.as_standard_layout().into_owned())
        .collect();
    let mut out = Vec::with_capacity(at.len());
    for j in 0..point.len() {
        let mut d = ArrayD::<f64>::zeros(point[j].raw_dim());
        for i in 0..point[j].len() {
            let x = flat(&point[j])[i];
            let (xp, xm) = (x + h, x - h);
            flat_mut(&mut point[j])[i] = xp;
            let fp = f(&point);
            flat_mut(&mut point[j])[i] = xm;
            let fm = f(&point);
            flat_mut(&mut point[j])[i] = x;
            flat_mut(&mut d)[i] = (fp - fm) / (xp - xm);
        }
        out.push(d);
    }
    out
}

fn flat(a: &ArrayD<f64>) -> &[f64] {
    a.as_slice().expect("standard layout")
}

fn flat_mut(a: &mut ArrayD<f64>) -> &mut [f64] {
    a.as_slice_mut().expect("standard layout")
}

/// Asserts `|actual - expected| <= atol + rtol * |expected|` elementwise, and
/// equal shapes; on failure names `what`, the worst element and its error.
pub fn assert_close(
    actual: &ArrayD<f64>,
    expected: &ArrayD<f64>,
    rtol: f64,
    atol: f64,
    what: &str,
) {
    assert_eq!(
        actual.shape(),
        expected.shape(),
        "{what}: shape {:?}, expected {:?}",
        actual.shape(),
        expected.shape()
    );
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    for (k, (&a, &e)) in actual.iter().zip(expected.iter()).enumerate() {
        let allowed = atol + rtol * e.abs();
        let err = (a - e).abs();
        // A NaN error fails too: it is not within any tolerance.
        let within = err <= allowed;
        if !within && worst.is_none_or(|w| err / allowed > w.3) {
            worst = Some((k, a, e, err / allowed));
        }
    }
    if let Some((k, a, e, ratio)) = worst {
        panic!(
            "{what}: element {k} (row-major) is {a:e}, expected {e:e}: error {:e} is {ratio:.3}x \
             the allowed atol {atol:e} + rtol {rtol:e} * |expected|\n actual:   {actual:?}\n expected: {expected:?}",
            (a - e).abs()
        );
    }
}

/// [`assert_close`] on tensor values.
pub fn assert_tensor_close(actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64, what: &str) {
    assert_close(actual.value(), expected.value(), rtol, atol, what);
}

/// Asserts a tensor's shape and row-major values within `tol` (absolute).
pub fn assert_values(actual: &Tensor, shape: &[usize], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.shape(), shape, "{what}: shape");
    assert_close(
        actual.value(),
        &arr(expected.to_vec(), shape),
        0.0,
        tol,
        what,
    );
}

/// Largest absolute entry (0 for an empty array).
pub fn max_abs(a: &ArrayD<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}
