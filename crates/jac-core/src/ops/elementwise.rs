//! The one statement of an elementwise op's derivative.
//!
//! An elementwise op states `d output / d input` once, as an expression in
//! [`Algebra`], generic over what it is evaluated on: `f64`, element by
//! element, for the unrecorded sweeps' partials (a cotangent scaled in one
//! pass, a sparse cotangent carried sparse); [`Tensor`], for the recorded
//! VJP `g * d`, which is itself differentiable (Hessians, any order). A
//! forward-mode rule (`t * d`) will use the same statement. This is the role
//! of JAX's `defjvp` rules and PyTorch's `derivatives.yaml`: no sweep keeps
//! its own copy of a derivative.

use crate::error::Result;
use crate::ops;
use crate::tensor::Tensor;

/// What derivative expressions are written in: elementwise arithmetic and
/// the functions derivatives need, on numbers or on tensors.
///
/// Piecewise-constant functions (a step, a sign) are constants on tensors,
/// so their derivative is 0, as it should be almost everywhere.
pub(crate) trait Algebra: Sized + Clone {
    fn neg(&self) -> Result<Self>;
    fn mul(&self, other: &Self) -> Result<Self>;
    fn div(&self, other: &Self) -> Result<Self>;
    fn recip(&self) -> Result<Self>;
    fn scale(&self, s: f64) -> Result<Self>;
    fn add_scalar(&self, s: f64) -> Result<Self>;
    fn square(&self) -> Result<Self>;
    fn powf(&self, p: f64) -> Result<Self>;
    fn sin(&self) -> Result<Self>;
    fn cos(&self) -> Result<Self>;
    fn sigmoid(&self) -> Result<Self>;
    /// `f` of each value, as a constant.
    fn piecewise(&self, f: fn(f64) -> f64) -> Result<Self>;

    /// `1 - self`.
    fn one_minus(&self) -> Result<Self> {
        self.neg()?.add_scalar(1.0)
    }
}

impl Algebra for f64 {
    fn neg(&self) -> Result<f64> {
        Ok(-self)
    }
    fn mul(&self, other: &f64) -> Result<f64> {
        Ok(self * other)
    }
    fn div(&self, other: &f64) -> Result<f64> {
        Ok(self / other)
    }
    fn recip(&self) -> Result<f64> {
        Ok(1.0 / self)
    }
    fn scale(&self, s: f64) -> Result<f64> {
        Ok(self * s)
    }
    fn add_scalar(&self, s: f64) -> Result<f64> {
        Ok(self + s)
    }
    fn square(&self) -> Result<f64> {
        Ok(self * self)
    }
    fn powf(&self, p: f64) -> Result<f64> {
        Ok(f64::powf(*self, p))
    }
    fn sin(&self) -> Result<f64> {
        Ok(f64::sin(*self))
    }
    fn cos(&self) -> Result<f64> {
        Ok(f64::cos(*self))
    }
    fn sigmoid(&self) -> Result<f64> {
        Ok(sigmoid_value(*self))
    }
    fn piecewise(&self, f: fn(f64) -> f64) -> Result<f64> {
        Ok(f(*self))
    }
}

impl Algebra for Tensor {
    fn neg(&self) -> Result<Tensor> {
        ops::neg(self)
    }
    fn mul(&self, other: &Tensor) -> Result<Tensor> {
        ops::mul(self, other)
    }
    fn div(&self, other: &Tensor) -> Result<Tensor> {
        ops::div(self, other)
    }
    fn recip(&self) -> Result<Tensor> {
        // 1 / x, not x^-1: the same bits as the numbers' `1.0 / x`.
        ops::div(&Tensor::scalar(1.0), self)
    }
    fn scale(&self, s: f64) -> Result<Tensor> {
        ops::scale(self, s)
    }
    fn add_scalar(&self, s: f64) -> Result<Tensor> {
        ops::add_scalar(self, s)
    }
    fn square(&self) -> Result<Tensor> {
        ops::square(self)
    }
    fn powf(&self, p: f64) -> Result<Tensor> {
        ops::pow_scalar(self, p)
    }
    fn sin(&self) -> Result<Tensor> {
        ops::sin(self)
    }
    fn cos(&self) -> Result<Tensor> {
        ops::cos(self)
    }
    fn sigmoid(&self) -> Result<Tensor> {
        ops::sigmoid(self)
    }
    fn piecewise(&self, f: fn(f64) -> f64) -> Result<Tensor> {
        Ok(Tensor::constant(self.value().mapv(f)))
    }
}

/// `d output / d input` of an elementwise op: the same number at every
/// element (which the sweeps exploit), or an expression of the values.
pub(crate) enum Derivative<E> {
    Constant(f64),
    Varying(E),
}

/// The recorded VJP of an elementwise op: `g * d`, which broadcasts `d` (at
/// the input's shape) up to a stacked cotangent.
pub(crate) fn times(g: &Tensor, d: Derivative<Tensor>) -> Result<Tensor> {
    match d {
        Derivative::Constant(1.0) => Ok(g.clone()),
        Derivative::Constant(c) => ops::scale(g, c),
        Derivative::Varying(d) => ops::mul(g, &d),
    }
}

/// The logistic function, without overflow for large `|v|`.
pub(crate) fn sigmoid_value(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// `sign(v)`, 0 at 0.
pub(crate) fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// 1 where `v > 0`, else 0.
pub(crate) fn step(v: f64) -> f64 {
    f64::from(u8::from(v > 0.0))
}
