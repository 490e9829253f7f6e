//! Elementwise ops of one tensor, some with a scalar attribute.
//!
//! Each op states its derivative once (`ops/elementwise.rs`): the
//! recorded VJP multiplies the cotangent by it, computed at the input's
//! (unstacked) shape so that only the final product is as large as a
//! stacked cotangent, and the unrecorded sweeps evaluate the same statement
//! on numbers. Derivatives that are piecewise constant (relu, abs) are
//! constants, so their second derivative is 0 as it should be.

use ndarray::{ArrayD, ArrayViewD};

use super::elementwise::{
    Algebra, Derivative, accumulate_dual_flat, accumulate_map_flat, add_scaled_flat, dual,
    map_flat, number, sigmoid_value, sign, step, tangent_map_flat, tangent_map_rows, tangent_times,
    times,
};
use super::{
    Dual, Flat, JvpContext, Op, Rule, ScalarRule, VjpContext, apply, apply_shared, finite, one,
};
use crate::cotangent::Partial;
use crate::error::Result;
use crate::sparse::{Curvature, Structure, Uses, curvature_of};
use crate::tensor::Tensor;

/// The generic statement of a derivative, from either form an op may give:
/// `constant(c)` or `|x, y| expression` (`x` the input, `y` the output).
macro_rules! derivative_fn {
    (constant($c:expr)) => {
        fn derivative<E: Algebra>(_x: &E, _y: &E) -> Result<Derivative<E>> {
            Ok(Derivative::Constant($c))
        }
    };
    (|$x:ident, $y:ident| $d:expr) => {
        fn derivative<E: Algebra>($x: &E, $y: &E) -> Result<Derivative<E>> {
            let _ = (&$x, &$y);
            let d: Result<E> = $d;
            Ok(Derivative::Varying(d?))
        }
    };
}

/// Declares a parameterless elementwise op: its type, its forward function
/// and the one statement of its derivative, and the public function that
/// builds it.
macro_rules! unary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal,
        forward: $forward:expr,
        derivative: $($derivative:tt)+
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl $ty {
            derivative_fn!($($derivative)+);

            fn bits(&self) -> Vec<u64> {
                Vec::new()
            }
        }

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn attributes(&self) -> Option<Vec<u64>> {
                Some(self.bits())
            }

            fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
                crate::pool::map(&x[0], $forward)
            }

            fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                one(times(g, $ty::derivative(cx.input(0), cx.output)?)?)
            }

            fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
                tangent_times(cx, t, |_| $ty::derivative(cx.input(0), cx.output))
            }

            fn partial(
                &self,
                _i: usize,
                x: &[Tensor],
                y: &ArrayD<f64>,
                at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                Some(Ok(numbers(x[0].value(), y, at, $ty::derivative::<f64>)))
            }

            fn flat(&self) -> Option<&dyn Flat> {
                Some(self)
            }

            /// Elementwise; its derivative's statement tells whether it
            /// is linear.
            fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
                let curvature =
                    curvature_of(1, |_| $ty::derivative(&Uses::operand(0), &Uses::OUTPUT));
                Structure::elementwise(operands, output, &[0], curvature)
            }
        }

        impl Flat for $ty {
            fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
                if let [x] = x {
                    map_flat(x, out, $forward);
                }
            }

            fn vjp_flat(&self, _i: usize, x: &[&[f64]], y: &[f64], g: &[f64], acc: &mut [f64]) {
                let [x] = x else { return };
                match $ty::derivative::<f64>(&1.0, &1.0) {
                    Ok(Derivative::Constant(c)) => add_scaled_flat(g, c, acc),
                    _ => accumulate_map_flat(x, y, g, acc, |x, y| {
                        number($ty::derivative::<f64>(&x, &y))
                    }),
                }
            }

            fn jvp_flat(
                &self,
                x: &[&[f64]],
                y: &[f64],
                t: &[Option<&[f64]>],
                out: &mut [f64],
            ) -> bool {
                let ([x], [Some(t)]) = (x, t) else { return false };
                tangent_map_flat(x, y, t, out, |x, y| number($ty::derivative::<f64>(&x, &y)));
                true
            }

            fn jvp_flat_rows(
                &self,
                x: &[&[f64]],
                y: &[f64],
                t: &[Option<&[f64]>],
                out: &mut [f64],
                k: usize,
            ) -> bool {
                let ([x], [Some(t)]) = (x, t) else { return false };
                tangent_map_rows(x, y, t, out, k, |x, y| number($ty::derivative::<f64>(&x, &y)))
            }

            fn hvp_flat(
                &self,
                _i: usize,
                x: &[&[f64]],
                tx: &[Option<&[f64]>],
                y: &[f64],
                ty: Option<&[f64]>,
                g: &[f64],
                gt: &[f64],
                acc: &mut [f64],
                acc_t: &mut [f64],
            ) -> bool {
                let ([x], [tx]) = (x, tx) else { return false };
                accumulate_dual_flat(x, *tx, x, None, y, ty, g, gt, acc, acc_t, |a, _, y| {
                    dual($ty::derivative(&a, &y))
                });
                true
            }

            fn scalar_rule(&self) -> Option<ScalarRule> {
                Some(ScalarRule {
                    value: |a, _, _| ($forward)(a),
                    partials: |a, _, y, _| [number($ty::derivative::<f64>(&a, &y)), 0.0],
                    partials_dual: |a, _, y, _| [dual($ty::derivative(&a, &y)), Dual::new(0.0, 0.0)],
                    attribute: 0.0,
                })
            }
        }

        $(#[$doc])*
        pub fn $fn_name(a: &Tensor) -> Result<Tensor> {
            apply_shared(Rule::Static(&$ty), [a.clone()])
        }
    };
}

unary_op!(
    /// `-a`; derivative -1.
    neg, Neg, "neg",
    forward: |v: f64| -v,
    derivative: constant(-1.0)
);

unary_op!(
    /// `exp(a)`; derivative `exp(a)`, the output itself.
    exp, Exp, "exp",
    forward: f64::exp,
    derivative: |_x, y| Ok(y.clone())
);

unary_op!(
    /// Natural `log(a)`; derivative `1 / a`.
    log, Log, "log",
    forward: f64::ln,
    derivative: |x, _y| x.recip()
);

unary_op!(
    /// `sin(a)`; derivative `cos(a)`.
    sin, Sin, "sin",
    forward: f64::sin,
    derivative: |x, _y| x.cos()
);

unary_op!(
    /// `cos(a)`; derivative `-sin(a)`.
    cos, Cos, "cos",
    forward: f64::cos,
    derivative: |x, _y| x.sin()?.neg()
);

unary_op!(
    /// `tan(a)`; derivative `1 + tan(a)^2`.
    tan, Tan, "tan",
    forward: f64::tan,
    derivative: |_x, y| y.square()?.add_scalar(1.0)
);

unary_op!(
    /// `tanh(a)`; derivative `1 - tanh(a)^2`.
    tanh, Tanh, "tanh",
    forward: f64::tanh,
    derivative: |_x, y| y.square()?.one_minus()
);

unary_op!(
    /// The logistic `1 / (1 + exp(-a))`; derivative `s (1 - s)`.
    sigmoid, Sigmoid, "sigmoid",
    forward: sigmoid_value,
    derivative: |_x, y| y.mul(&y.one_minus()?)
);

unary_op!(
    /// `max(a, 0)`; derivative 1 where `a > 0`, else 0 (0 at the kink, as in
    /// Paddle and PyTorch).
    relu, Relu, "relu",
    forward: |v: f64| if v > 0.0 { v } else { 0.0 },
    derivative: |x, _y| x.piecewise(step)
);

unary_op!(
    /// `log(1 + exp(a))`, computed without overflow; derivative `sigmoid(a)`.
    softplus, Softplus, "softplus",
    forward: |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p(),
    derivative: |x, _y| x.sigmoid()
);

unary_op!(
    /// `sqrt(a)`; derivative `1 / (2 sqrt(a))`.
    sqrt, Sqrt, "sqrt",
    forward: f64::sqrt,
    derivative: |_x, y| y.scale(2.0)?.recip()
);

unary_op!(
    /// `a * a`; derivative `2 a`.
    square, Square, "square",
    forward: |v: f64| v * v,
    derivative: |x, _y| x.scale(2.0)
);

unary_op!(
    /// `|a|`; derivative `sign(a)` (0 at 0).
    abs, Abs, "abs",
    forward: f64::abs,
    derivative: |x, _y| x.piecewise(sign)
);

unary_op!(
    /// The error function `erf(a) = 2/sqrt(pi) * integral_0^a exp(-t^2) dt`,
    /// to within two units in the last place; derivative
    /// `2/sqrt(pi) exp(-a^2)`.
    erf, Erf, "erf",
    forward: erf_value,
    derivative: |x, _y| x.square()?.neg()?.exp()?.scale(std::f64::consts::FRAC_2_SQRT_PI)
);

/// `exp(-x^2)` with the rounding of `x^2` carried: `x^2 = hi + lo`
/// exactly, and `exp(-lo)` is `1 - lo` to double precision.
fn exp_neg_square(x: f64) -> f64 {
    let hi = x * x;
    let lo = x.mul_add(x, -hi);
    (-hi).exp() * (1.0 - lo)
}

/// `erf(x)`: the Maclaurin series below 1.5 (summed smallest term first,
/// with `2/sqrt(pi)` in two parts), else `1 - erfc(x)` from erfc's
/// continued fraction, with as many terms as double precision needs at
/// that `x`; 1 from 6 on, where `erfc(x)` is below half an ulp of 1.
pub(crate) fn erf_value(x: f64) -> f64 {
    /// `2/sqrt(pi) - FRAC_2_SQRT_PI`.
    const TWO_OVER_SQRT_PI_LO: f64 = 1.533545961316588e-17;
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    let magnitude = if a < 1.5 {
        let x2 = a * a;
        // Terms a^(2n+1) (-1)^n / (n! (2n+1)) until they no longer count.
        let mut terms = [0.0f64; 48];
        let mut count = 0;
        let mut power = a;
        for (n, slot) in terms.iter_mut().enumerate() {
            let term = power / (2 * n + 1) as f64;
            *slot = term;
            count = n + 1;
            if term.abs() < 1e-18 * a {
                break;
            }
            power *= -x2 / (n + 1) as f64;
        }
        let tail: f64 = terms[1..count].iter().rev().sum();
        let sum = a + tail;
        let rounding = (a - sum) + tail;
        std::f64::consts::FRAC_2_SQRT_PI * sum
            + (TWO_OVER_SQRT_PI_LO * sum + std::f64::consts::FRAC_2_SQRT_PI * rounding)
    } else if a < 6.0 {
        let terms = if a < 2.0 {
            100
        } else if a < 3.0 {
            60
        } else if a < 4.0 {
            30
        } else {
            20
        };
        // erfc(a) = exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / ...))).
        let mut f = a;
        for k in (1..=terms).rev() {
            f = a + (f64::from(k) / 2.0) / f;
        }
        1.0 - exp_neg_square(a) * (std::f64::consts::FRAC_2_SQRT_PI / 2.0) / f
    } else {
        1.0
    };
    magnitude.copysign(x)
}

/// `a` limited to `[lo, hi]` elementwise.
#[derive(Debug)]
pub(crate) struct Clamp {
    lo: f64,
    hi: f64,
}

impl Clamp {
    fn value(&self, v: f64) -> f64 {
        if v < self.lo {
            self.lo
        } else if v > self.hi {
            self.hi
        } else {
            v
        }
    }

    /// 1 strictly inside the bounds, else 0 (as Paddle's `clip`).
    fn derivative<E: Algebra>(&self, x: &E) -> Result<E> {
        let (lo, hi) = (self.lo, self.hi);
        x.piecewise(move |v| f64::from(u8::from(v > lo && v < hi)))
    }
}

impl Op for Clamp {
    fn name(&self) -> &'static str {
        "clamp"
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(vec![self.lo.to_bits(), self.hi.to_bits()])
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        crate::pool::map(&x[0], |v| self.value(v))
    }

    /// Elementwise and piecewise linear.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        let curvature = curvature_of(1, |_| {
            Ok(Derivative::Varying(self.derivative(&Uses::operand(0))?))
        });
        Structure::elementwise(operands, output, &[0], curvature)
    }

    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        one(times(
            g,
            Derivative::Varying(self.derivative(cx.input(0))?),
        )?)
    }

    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        tangent_times(cx, t, |_| {
            Ok(Derivative::Varying(self.derivative(cx.input(0))?))
        })
    }

    fn partial(
        &self,
        _i: usize,
        x: &[Tensor],
        y: &ArrayD<f64>,
        at: Option<&[usize]>,
    ) -> Option<Result<Partial>> {
        Some(Ok(numbers(x[0].value(), y, at, |x, _y| {
            Ok(Derivative::Varying(self.derivative(x)?))
        })))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

impl Flat for Clamp {
    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        if let [x] = x {
            map_flat(x, out, |v| self.value(v));
        }
    }

    fn vjp_flat(&self, _i: usize, x: &[&[f64]], y: &[f64], g: &[f64], acc: &mut [f64]) {
        let [x] = x else { return };
        accumulate_map_flat(x, y, g, acc, |x, _y| {
            self.derivative(&x).unwrap_or(f64::NAN)
        });
    }

    fn jvp_flat(&self, x: &[&[f64]], y: &[f64], t: &[Option<&[f64]>], out: &mut [f64]) -> bool {
        let ([x], [Some(t)]) = (x, t) else {
            return false;
        };
        tangent_map_flat(x, y, t, out, |x, _y| {
            self.derivative(&x).unwrap_or(f64::NAN)
        });
        true
    }

    fn hvp_flat(
        &self,
        _i: usize,
        x: &[&[f64]],
        tx: &[Option<&[f64]>],
        y: &[f64],
        ty: Option<&[f64]>,
        g: &[f64],
        gt: &[f64],
        acc: &mut [f64],
        acc_t: &mut [f64],
    ) -> bool {
        let ([x], [tx]) = (x, tx) else { return false };
        let nan = Dual::new(f64::NAN, f64::NAN);
        accumulate_dual_flat(x, *tx, x, None, y, ty, g, gt, acc, acc_t, |a, _, _| {
            self.derivative(&a).unwrap_or(nan)
        });
        true
    }
}

/// `a` limited to `[lo, hi]` elementwise: `lo` below it, `hi` above it (NaN
/// stays NaN); an infinite bound is no bound. The derivative is 1 strictly
/// inside the bounds and 0 elsewhere, as Paddle's `clip`.
///
/// Errors: `InvalidArgument` when a bound is NaN or `lo > hi`.
///
/// ```
/// use jac_core::{Tensor, clamp};
/// let a = Tensor::from_vec(vec![-2.0, 0.5, 3.0], &[3], false)?;
/// assert_eq!(clamp(&a, -1.0, 1.0)?.to_vec(), vec![-1.0, 0.5, 1.0]);
/// assert_eq!(clamp(&a, 0.0, f64::INFINITY)?.to_vec(), vec![0.0, 0.5, 3.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn clamp(a: &Tensor, lo: f64, hi: f64) -> Result<Tensor> {
    if lo.is_nan() || hi.is_nan() {
        return Err(crate::error::Error::invalid(format!(
            "clamp: expected bounds that are numbers, got lo = {lo}, hi = {hi}"
        )));
    }
    if lo > hi {
        return Err(crate::error::Error::invalid(format!(
            "clamp: expected lo <= hi, got lo = {lo} > hi = {hi}"
        )));
    }
    apply(Clamp { lo, hi }, [a.clone()])
}

/// The partial of a one-input elementwise op from its derivative on
/// numbers: one constant, or the derivative at every element (`x` the input,
/// `y` the output), or at the positions `at` only. Which form a derivative
/// has is fixed by how it is stated, never by the values, so one evaluation
/// tells.
fn numbers(
    x: &ArrayD<f64>,
    y: &ArrayD<f64>,
    at: Option<&[usize]>,
    derivative: impl Fn(&f64, &f64) -> Result<Derivative<f64>>,
) -> Partial {
    if let Ok(Derivative::Constant(c)) = derivative(&1.0, &1.0) {
        return Partial::Constant(c);
    }
    let f = |x: f64, y: f64| number(derivative(&x, &y));
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

/// Declares an elementwise op with one finite scalar attribute `s` whose
/// derivative is a constant (which may depend on `s`): its type, forward
/// function and derivative, and the public function that checks the scalar
/// and builds it.
macro_rules! scalar_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident($arg:ident), $ty:ident, $name:literal,
        forward: |$v:ident, $s:ident| $forward:expr,
        derivative: constant($c:expr)
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty(f64);

        impl $ty {
            fn bits(&self) -> Vec<u64> {
                vec![self.0.to_bits()]
            }

            fn derivative(&self) -> f64 {
                let $s = self.0;
                let _ = $s;
                $c
            }
        }

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn attributes(&self) -> Option<Vec<u64>> {
                Some(self.bits())
            }

            fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
                let $s = self.0;
                crate::pool::map(&x[0], |$v| $forward)
            }

            fn vjp(&self, _cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                one(times(g, Derivative::Constant(self.derivative()))?)
            }

            /// Elementwise with a constant derivative: linear.
            fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
                Structure::elementwise(operands, output, &[0], Curvature::Linear)
            }

            fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
                tangent_times(cx, t, |_| Ok(Derivative::Constant(self.derivative())))
            }

            fn partial(
                &self,
                _i: usize,
                _x: &[Tensor],
                _y: &ArrayD<f64>,
                _at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                Some(Ok(Partial::Constant(self.derivative())))
            }

            fn flat(&self) -> Option<&dyn Flat> {
                Some(self)
            }
        }

        impl Flat for $ty {
            fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
                let $s = self.0;
                if let [x] = x {
                    map_flat(x, out, |$v| $forward);
                }
            }

            fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], g: &[f64], acc: &mut [f64]) {
                add_scaled_flat(g, self.derivative(), acc);
            }

            fn jvp_flat(
                &self,
                x: &[&[f64]],
                y: &[f64],
                t: &[Option<&[f64]>],
                out: &mut [f64],
            ) -> bool {
                let ([x], [Some(t)]) = (x, t) else { return false };
                let c = self.derivative();
                tangent_map_flat(x, y, t, out, |_, _| c);
                true
            }

            fn hvp_flat(
                &self,
                _i: usize,
                _x: &[&[f64]],
                _tx: &[Option<&[f64]>],
                _y: &[f64],
                _ty: Option<&[f64]>,
                g: &[f64],
                gt: &[f64],
                acc: &mut [f64],
                acc_t: &mut [f64],
            ) -> bool {
                // A constant derivative: no second-order term.
                add_scaled_flat(g, self.derivative(), acc);
                add_scaled_flat(gt, self.derivative(), acc_t);
                true
            }

            fn scalar_rule(&self) -> Option<ScalarRule> {
                Some(ScalarRule {
                    value: |$v, _, $s| $forward,
                    partials: |_, _, _, $s| {
                        let _ = $s;
                        [$c, 0.0]
                    },
                    partials_dual: |_, _, _, $s| {
                        let _ = $s;
                        [Dual::new($c, 0.0), Dual::new(0.0, 0.0)]
                    },
                    attribute: self.0,
                })
            }
        }

        $(#[$doc])*
        pub fn $fn_name(a: &Tensor, $arg: f64) -> Result<Tensor> {
            let checked = finite($arg, concat!($name, ": ", stringify!($arg)))?;
            apply($ty(checked), [a.clone()])
        }
    };
}

scalar_op!(
    /// `s * a`; d(s a) = s da. Errors: `InvalidArgument` when `s` is not
    /// finite.
    scale(s), Scale, "scale",
    forward: |v, s| v * s,
    derivative: constant(s)
);

scalar_op!(
    /// `a + s`; d(a + s) = da. Errors: `InvalidArgument` when `s` is not
    /// finite.
    add_scalar(s), AddScalar, "add_scalar",
    forward: |v, s| v + s,
    derivative: constant(1.0)
);

/// `a ^ p` elementwise.
#[derive(Debug)]
pub(crate) struct PowScalar(f64);

impl PowScalar {
    /// `p a^(p-1)`; for `p = 0` the output is constant (the statement
    /// would give `0 * inf` at 0).
    fn derivative<E: Algebra>(p: f64, x: &E) -> Result<E> {
        x.powf(p - 1.0)?.scale(p)
    }
}

impl Op for PowScalar {
    fn name(&self) -> &'static str {
        "pow_scalar"
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(vec![self.0.to_bits()])
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let p = self.0;
        crate::pool::map(&x[0], |v| v.powf(p))
    }

    /// Elementwise: constant for `p = 0` (no dependence), linear for
    /// `p = 1`, else nonlinear.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        let p = self.0;
        if p == 0.0 {
            return Structure::elementwise(operands, output, &[], Curvature::Linear);
        }
        if p == 1.0 {
            return Structure::elementwise(operands, output, &[0], Curvature::Linear);
        }
        let curvature = curvature_of(1, |_| {
            Ok(Derivative::Varying(PowScalar::derivative(
                p,
                &Uses::operand(0),
            )?))
        });
        Structure::elementwise(operands, output, &[0], curvature)
    }

    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        if self.0 == 0.0 {
            return Ok(vec![None]);
        }
        let d = PowScalar::derivative(self.0, cx.input(0))?;
        one(times(g, Derivative::Varying(d))?)
    }

    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        if self.0 == 0.0 {
            return Tensor::zeros(&cx.with_lead(cx.output.shape()));
        }
        tangent_times(cx, t, |_| {
            Ok(Derivative::Varying(PowScalar::derivative(
                self.0,
                cx.input(0),
            )?))
        })
    }

    fn partial(
        &self,
        _i: usize,
        x: &[Tensor],
        y: &ArrayD<f64>,
        at: Option<&[usize]>,
    ) -> Option<Result<Partial>> {
        let p = self.0;
        if p == 0.0 {
            return Some(Ok(Partial::Constant(0.0)));
        }
        Some(Ok(numbers(x[0].value(), y, at, |x, _y| {
            Ok(Derivative::Varying(PowScalar::derivative(p, x)?))
        })))
    }

    fn flat(&self) -> Option<&dyn Flat> {
        Some(self)
    }
}

impl Flat for PowScalar {
    fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
        let p = self.0;
        if let [x] = x {
            map_flat(x, out, |v| v.powf(p));
        }
    }

    fn vjp_flat(&self, _i: usize, x: &[&[f64]], y: &[f64], g: &[f64], acc: &mut [f64]) {
        let (p, [x]) = (self.0, x) else { return };
        if p != 0.0 {
            accumulate_map_flat(x, y, g, acc, |x, _y| {
                PowScalar::derivative(p, &x).unwrap_or(f64::NAN)
            });
        }
    }

    fn jvp_flat(&self, x: &[&[f64]], y: &[f64], t: &[Option<&[f64]>], out: &mut [f64]) -> bool {
        let (p, [x], [Some(t)]) = (self.0, x, t) else {
            return false;
        };
        if p == 0.0 {
            out.fill(0.0);
        } else {
            tangent_map_flat(x, y, t, out, |x, _y| {
                PowScalar::derivative(p, &x).unwrap_or(f64::NAN)
            });
        }
        true
    }

    fn hvp_flat(
        &self,
        _i: usize,
        x: &[&[f64]],
        tx: &[Option<&[f64]>],
        y: &[f64],
        ty: Option<&[f64]>,
        g: &[f64],
        gt: &[f64],
        acc: &mut [f64],
        acc_t: &mut [f64],
    ) -> bool {
        let (p, [x], [tx]) = (self.0, x, tx) else {
            return false;
        };
        if p != 0.0 {
            let nan = Dual::new(f64::NAN, f64::NAN);
            accumulate_dual_flat(x, *tx, x, None, y, ty, g, gt, acc, acc_t, |a, _, _| {
                PowScalar::derivative(p, &a).unwrap_or(nan)
            });
        }
        true
    }

    fn scalar_rule(&self) -> Option<ScalarRule> {
        Some(ScalarRule {
            value: |a, _, p| a.powf(p),
            partials: |a, _, _, p| {
                if p == 0.0 {
                    [0.0, 0.0]
                } else {
                    [PowScalar::derivative(p, &a).unwrap_or(f64::NAN), 0.0]
                }
            },
            partials_dual: |a, _, _, p| {
                let zero = Dual::new(0.0, 0.0);
                if p == 0.0 {
                    [zero, zero]
                } else {
                    let nan = Dual::new(f64::NAN, f64::NAN);
                    [PowScalar::derivative(p, &a).unwrap_or(nan), zero]
                }
            },
            attribute: self.0,
        })
    }
}

/// `a ^ p` elementwise (NaN for a negative base with a non-integer `p`, as
/// in numpy); d(a^p) = p a^(p-1) da, and for p = 0 the output is constant.
///
/// Errors: `InvalidArgument` when `p` is not finite.
pub fn pow_scalar(a: &Tensor, p: f64) -> Result<Tensor> {
    let checked = finite(p, "pow_scalar: p")?;
    apply(PowScalar(checked), [a.clone()])
}
