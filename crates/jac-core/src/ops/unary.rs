//! Elementwise ops of one tensor, some with a scalar attribute.
//!
//! Each rule multiplies the cotangent by the derivative, computed at the
//! input's (unstacked) shape so that only the final product is as large as a
//! stacked cotangent. Derivatives that are piecewise constant (relu, abs) are
//! constants, so their second derivative is 0 as it should be.

use ndarray::ArrayD;

use super::{Op, VjpContext, apply, finite, one};
use crate::cotangent::Partial;
use crate::error::Result;
use crate::ops::{div, mul};
use crate::tensor::Tensor;

/// Declares a parameterless elementwise op: its type, its forward function and
/// its VJP rule, and the public function that builds it.
macro_rules! unary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal,
        forward: $forward:expr,
        vjp: |$cx:ident, $g:ident| $vjp:expr,
        partial: $partial:expr
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn forward(&self, x: &[&ArrayD<f64>]) -> Result<ArrayD<f64>> {
                crate::pool::map(x[0], $forward)
            }

            fn vjp(&self, $cx: &VjpContext<'_>, $g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                // Not every rule needs the context.
                let _ = &$cx;
                one($vjp)
            }

            fn partial(
                &self,
                _i: usize,
                x: &[Tensor],
                y: &ArrayD<f64>,
                at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                Some(Ok(elementwise_partial(x[0].value(), y, at, $partial)))
            }
        }

        $(#[$doc])*
        pub fn $fn_name(a: &Tensor) -> Result<Tensor> {
            apply($ty, vec![a.clone()])
        }
    };
}

unary_op!(
    /// `-a`; derivative -1.
    neg, Neg, "neg",
    forward: |v: f64| -v,
    vjp: |cx, g| neg(g)?,
    partial: |_x, _y| -1.0
);

unary_op!(
    /// `exp(a)`; derivative `exp(a)`, the output itself.
    exp, Exp, "exp",
    forward: f64::exp,
    vjp: |cx, g| mul(g, cx.output)?,
    partial: |_x, y| y
);

unary_op!(
    /// Natural `log(a)`; derivative `1 / a`.
    log, Log, "log",
    forward: f64::ln,
    vjp: |cx, g| div(g, cx.input(0))?,
    partial: |x, _y| 1.0 / x
);

unary_op!(
    /// `sin(a)`; derivative `cos(a)`.
    sin, Sin, "sin",
    forward: f64::sin,
    vjp: |cx, g| mul(g, &cos(cx.input(0))?)?,
    partial: |x, _y| x.cos()
);

unary_op!(
    /// `cos(a)`; derivative `-sin(a)`.
    cos, Cos, "cos",
    forward: f64::cos,
    vjp: |cx, g| mul(g, &neg(&sin(cx.input(0))?)?)?,
    partial: |x, _y| -x.sin()
);

unary_op!(
    /// `tan(a)`; derivative `1 + tan(a)^2`.
    tan, Tan, "tan",
    forward: f64::tan,
    vjp: |cx, g| mul(g, &add_scalar(&square(cx.output)?, 1.0)?)?,
    partial: |_x, y| 1.0 + y * y
);

unary_op!(
    /// `tanh(a)`; derivative `1 - tanh(a)^2`.
    tanh, Tanh, "tanh",
    forward: f64::tanh,
    vjp: |cx, g| mul(g, &one_minus(&square(cx.output)?)?)?,
    partial: |_x, y| 1.0 - y * y
);

unary_op!(
    /// The logistic `1 / (1 + exp(-a))`; derivative `s (1 - s)`.
    sigmoid, Sigmoid, "sigmoid",
    forward: sigmoid_value,
    vjp: |cx, g| mul(g, &mul(cx.output, &one_minus(cx.output)?)?)?,
    partial: |_x, y| y * (1.0 - y)
);

unary_op!(
    /// `max(a, 0)`; derivative 1 where `a > 0`, else 0 (0 at the kink, as in
    /// Paddle and PyTorch).
    relu, Relu, "relu",
    forward: |v: f64| if v > 0.0 { v } else { 0.0 },
    vjp: |cx, g| mul(g, &constant_map(cx.input(0), |v| f64::from(u8::from(v > 0.0))))?,
    partial: |x, _y| f64::from(u8::from(x > 0.0))
);

unary_op!(
    /// `log(1 + exp(a))`, computed without overflow; derivative `sigmoid(a)`.
    softplus, Softplus, "softplus",
    forward: |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p(),
    vjp: |cx, g| mul(g, &sigmoid(cx.input(0))?)?,
    partial: |x, _y| sigmoid_value(x)
);

unary_op!(
    /// `sqrt(a)`; derivative `1 / (2 sqrt(a))`.
    sqrt, Sqrt, "sqrt",
    forward: f64::sqrt,
    vjp: |cx, g| div(g, &scale(cx.output, 2.0)?)?,
    partial: |_x, y| 0.5 / y
);

unary_op!(
    /// `a * a`; derivative `2 a`.
    square, Square, "square",
    forward: |v: f64| v * v,
    vjp: |cx, g| mul(g, &scale(cx.input(0), 2.0)?)?,
    partial: |x, _y| 2.0 * x
);

unary_op!(
    /// `|a|`; derivative `sign(a)` (0 at 0).
    abs, Abs, "abs",
    forward: f64::abs,
    vjp: |cx, g| mul(g, &constant_map(cx.input(0), sign))?,
    partial: |x, _y| sign(x)
);

fn sigmoid_value(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The partial of a one-input elementwise op, from `f(x, y)` at every
/// element (`y` the output), or at the positions `at`.
fn elementwise_partial(
    x: &ArrayD<f64>,
    y: &ArrayD<f64>,
    at: Option<&[usize]>,
    f: impl Fn(f64, f64) -> f64,
) -> Partial {
    if let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice()) {
        if let Some(at) = at {
            return Partial::At(at.iter().map(|&p| f(xs[p], ys[p])).collect());
        }
        let data: Vec<f64> = xs.iter().zip(ys).map(|(&x, &y)| f(x, y)).collect();
        if let Ok(p) = ArrayD::from_shape_vec(y.raw_dim(), data) {
            return Partial::Array(p);
        }
    }
    let p = ndarray::Zip::from(x).and(y).map_collect(|&x, &y| f(x, y));
    Partial::Array(standard_layout(p))
}

/// `p` in row-major order (a no-op unless an input was not).
pub(crate) fn standard_layout(p: ArrayD<f64>) -> ArrayD<f64> {
    if p.is_standard_layout() {
        p
    } else {
        p.as_standard_layout().into_owned()
    }
}

/// `1 - t`, differentiably.
fn one_minus(t: &Tensor) -> Result<Tensor> {
    add_scalar(&neg(t)?, 1.0)
}

/// A constant computed elementwise from `t`'s value: for derivatives that
/// are piecewise constant.
fn constant_map(t: &Tensor, f: impl Fn(f64) -> f64) -> Tensor {
    Tensor::constant(t.value().mapv(f))
}

/// Declares an elementwise op with one finite scalar attribute: its type,
/// forward function, VJP rule and partial, and the public function that
/// checks the scalar and builds it.
macro_rules! scalar_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident($arg:ident), $ty:ident, $name:literal,
        forward: |$v:ident, $s:ident| $forward:expr,
        vjp: |$cx:ident, $g:ident, $sv:ident| $vjp:expr,
        partial: |$x:ident, $y:ident, $at:ident, $sp:ident| $partial:expr
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty(f64);

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn forward(&self, x: &[&ArrayD<f64>]) -> Result<ArrayD<f64>> {
                let $s = self.0;
                crate::pool::map(x[0], |$v| $forward)
            }

            fn vjp(&self, $cx: &VjpContext<'_>, $g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                let _ = &$cx;
                let $sv = self.0;
                $vjp
            }

            fn partial(
                &self,
                _i: usize,
                $x: &[Tensor],
                $y: &ArrayD<f64>,
                $at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                let _ = (&$x, &$y, &$at);
                let $sp = self.0;
                Some(Ok($partial))
            }
        }

        $(#[$doc])*
        pub fn $fn_name(a: &Tensor, $arg: f64) -> Result<Tensor> {
            let checked = finite($arg, concat!($name, ": ", stringify!($arg)))?;
            apply($ty(checked), vec![a.clone()])
        }
    };
}

scalar_op!(
    /// `s * a`; d(s a) = s da. Errors: `InvalidArgument` when `s` is not
    /// finite.
    scale(s), Scale, "scale",
    forward: |v, s| v * s,
    vjp: |cx, g, s| one(scale(g, s)?),
    partial: |x, y, at, s| Partial::Constant(s)
);

scalar_op!(
    /// `a + s`; d(a + s) = da. Errors: `InvalidArgument` when `s` is not
    /// finite.
    add_scalar(s), AddScalar, "add_scalar",
    forward: |v, s| v + s,
    vjp: |cx, g, _s| one(g.clone()),
    partial: |x, y, at, _s| Partial::Constant(1.0)
);

scalar_op!(
    /// `a ^ p` elementwise (NaN for a negative base with a non-integer `p`,
    /// as in numpy); d(a^p) = p a^(p-1) da, and for p = 0 the output is
    /// constant. Errors: `InvalidArgument` when `p` is not finite.
    pow_scalar(p), PowScalar, "pow_scalar",
    forward: |v, p| v.powf(p),
    vjp: |cx, g, p| if p == 0.0 {
        Ok(vec![None])
    } else {
        one(mul(g, &scale(&pow_scalar(cx.input(0), p - 1.0)?, p)?)?)
    },
    partial: |x, y, at, p| if p == 0.0 {
        Partial::Constant(0.0)
    } else {
        elementwise_partial(x[0].value(), y, at, |x, _| p * x.powf(p - 1.0))
    }
);
