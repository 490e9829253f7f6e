//! Elementwise ops of two tensors with numpy broadcasting.
//!
//! Rules return gradients at the broadcast shape; the sweep sums them back
//! to each input's shape.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

use super::elementwise::{
    Algebra, Derivative, accumulate_binary, accumulate_dual_flat, accumulate_scaled,
    accumulate_zip_flat, add_scaled_flat, dual, number, smaller_share, tangent_row, tangent_times,
    tangent_zip_flat, tangent_zip_rows, times, zip_flat, zip_into,
};
use super::{Flat, JvpContext, Op, Rule, ScalarRule, VjpContext, apply_shared};
use crate::alloc::check_alloc;
use crate::broadcast::{broadcast_shapes, view_as, zip_map};
use crate::cotangent::{BroadcastMap, Partial};
use crate::error::Result;
use crate::ops::unary::standard_layout;
use crate::sparse::{Structure, Uses, curvature_of};
use crate::tensor::Tensor;

/// The operands of one binary op, for computing its partials.
struct Operands<'a> {
    a: &'a ArrayD<f64>,
    b: &'a ArrayD<f64>,
    y: &'a ArrayD<f64>,
    /// Output positions to evaluate at, instead of every element.
    at: Option<&'a [usize]>,
}

impl Operands<'_> {
    /// `f(a, b, y)` at every output element (`a`, `b` broadcast).
    fn each(&self, f: impl Fn(f64, f64, f64) -> f64) -> Result<Partial> {
        if let (Some(at), Some(a), Some(b), Some(y)) = (
            self.at,
            self.a.as_slice(),
            self.b.as_slice(),
            self.y.as_slice(),
        ) {
            let out = self.y.shape();
            let (ma, mb) = (
                BroadcastMap::new(out, self.a.shape()),
                BroadcastMap::new(out, self.b.shape()),
            );
            return Ok(Partial::At(
                at.iter()
                    .map(|&p| f(a[ma.map(p)], b[mb.map(p)], y[p]))
                    .collect(),
            ));
        }
        if let (Some(a), Some(b), Some(y)) =
            (self.a.as_slice(), self.b.as_slice(), self.y.as_slice())
            && a.len() == y.len()
            && b.len() == y.len()
            && self.a.shape() == self.y.shape()
            && self.b.shape() == self.y.shape()
        {
            let data = a
                .iter()
                .zip(b)
                .zip(y)
                .map(|((&a, &b), &y)| f(a, b, y))
                .collect();
            return ArrayD::from_shape_vec(self.y.raw_dim(), data)
                .map(Partial::Array)
                .map_err(|e| crate::error::Error::internal(format!("{e}")));
        }
        let a = view_as(self.a, self.y.shape())?;
        let b = view_as(self.b, self.y.shape())?;
        let p = Zip::from(&a)
            .and(&b)
            .and(self.y)
            .map_collect(|&a, &b, &y| f(a, b, y));
        Ok(Partial::Array(standard_layout(p)))
    }
}

/// The generic statement of one input's derivative, from either form an
/// op may give: `constant(c)` or `|a, b, y| expression` (`a`, `b` the
/// inputs, `y` the output).
macro_rules! binary_derivative {
    ($fn_name:ident, constant($c:expr)) => {
        fn $fn_name<E: Algebra>(_a: &E, _b: &E, _y: &E) -> Result<Derivative<E>> {
            Ok(Derivative::Constant($c))
        }
    };
    ($fn_name:ident, |$a:ident, $b:ident, $y:ident| $d:expr) => {
        fn $fn_name<E: Algebra>($a: &E, $b: &E, $y: &E) -> Result<Derivative<E>> {
            let _ = (&$a, &$b, &$y);
            let d: Result<E> = $d;
            Ok(Derivative::Varying(d?))
        }
    };
}

/// Declares a broadcasting binary op: its type (no attributes: the output
/// shape follows from the inputs'), its forward function, the one statement
/// of its derivative with respect to each input, and the public function.
macro_rules! binary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal,
        forward: $forward:expr,
        d_a: [$($d_a:tt)+],
        d_b: [$($d_b:tt)+]
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl $ty {
            binary_derivative!(d_a, $($d_a)+);
            binary_derivative!(d_b, $($d_b)+);

            fn derivative<E: Algebra>(i: usize, a: &E, b: &E, y: &E) -> Result<Derivative<E>> {
                if i == 0 {
                    $ty::d_a(a, b, y)
                } else {
                    $ty::d_b(a, b, y)
                }
            }
        }

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn attributes(&self) -> Option<Vec<u64>> {
                Some(Vec::new())
            }

            fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
                let (a, b) = (&x[0], &x[1]);
                if a.shape() == b.shape() {
                    return zip_map(a, b, a.shape(), $forward);
                }
                let shape = broadcast_shapes(a.shape(), b.shape(), $name)?;
                check_alloc(&shape, $name)?;
                zip_map(a, b, &shape, $forward)
            }

            fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                let (a, b, y) = (cx.input(0), cx.input(1), cx.output);
                let mut grads = Vec::with_capacity(2);
                for i in 0..2 {
                    grads.push(if cx.needs(i) {
                        Some(times(g, $ty::derivative(i, a, b, y)?)?)
                    } else {
                        None
                    });
                }
                Ok(grads)
            }

            fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
                let (a, b, y) = (cx.input(0), cx.input(1), cx.output);
                tangent_times(cx, t, |i| $ty::derivative(i, a, b, y))
            }

            fn partial(
                &self,
                i: usize,
                inputs: &[Tensor],
                output: &ArrayD<f64>,
                at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                // The form (constant or not) is fixed by the statement, so
                // one evaluation tells.
                if let Ok(Derivative::Constant(c)) = $ty::derivative(i, &1.0, &1.0, &1.0) {
                    return Some(Ok(Partial::Constant(c)));
                }
                let operands = Operands {
                    a: inputs[0].value(),
                    b: inputs[1].value(),
                    y: output,
                    at,
                };
                Some(operands.each(|a, b, y| number($ty::derivative(i, &a, &b, &y))))
            }

            fn forward_into(
                &self,
                x: &[ArrayViewD<'_, f64>],
                out: &mut ArrayViewMutD<'_, f64>,
            ) -> Option<Result<()>> {
                let [a, b] = x else { return None };
                Some(zip_into(a, b, out, $forward))
            }

            fn vjp_into(
                &self,
                i: usize,
                x: &[ArrayViewD<'_, f64>],
                y: &ArrayViewD<'_, f64>,
                g: &ArrayViewD<'_, f64>,
                acc: &mut ArrayViewMutD<'_, f64>,
            ) -> Option<Result<()>> {
                let [a, b] = x else { return None };
                Some(match $ty::derivative::<f64>(i, &1.0, &1.0, &1.0) {
                    Ok(Derivative::Constant(c)) if acc.shape() == g.shape() => {
                        accumulate_scaled(g, c, acc)
                    }
                    _ => accumulate_binary(i, a, b, y, g, acc, |a, b, y| {
                        number($ty::derivative(i, &a, &b, &y))
                    }),
                })
            }

            fn flat(&self) -> Option<&dyn Flat> {
                Some(self)
            }

            /// Elementwise with broadcasting; its derivatives' statements
            /// tell which operands the second derivative couples.
            fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
                let (a, b) = (Uses::operand(0), Uses::operand(1));
                let curvature =
                    curvature_of(2, |i| $ty::derivative(i as usize, &a, &b, &Uses::OUTPUT));
                Structure::elementwise(operands, output, &[0, 1], curvature)
            }
        }

        impl Flat for $ty {
            fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
                if let [a, b] = x {
                    zip_flat(a, b, out, $forward);
                }
            }

            fn vjp_flat(&self, i: usize, x: &[&[f64]], y: &[f64], g: &[f64], acc: &mut [f64]) {
                let [a, b] = x else { return };
                match $ty::derivative::<f64>(i, &1.0, &1.0, &1.0) {
                    Ok(Derivative::Constant(c)) => add_scaled_flat(g, c, acc),
                    _ => accumulate_zip_flat(a, b, y, g, acc, |a, b, y| {
                        number($ty::derivative(i, &a, &b, &y))
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
                let ([a, b], [ta, tb]) = (x, t) else { return false };
                tangent_zip_flat(a, b, y, [*ta, *tb], out, |i, a, b, y| {
                    number($ty::derivative(i, &a, &b, &y))
                });
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
                let ([a, b], [ta, tb]) = (x, t) else { return false };
                let d = |i, a: f64, b: f64, y: f64| number($ty::derivative(i, &a, &b, &y));
                if tangent_zip_rows(a, b, y, [*ta, *tb], out, k, d) {
                    return true;
                }
                // Broadcast operands: row by row.
                let n = y.len();
                for r in 0..k {
                    let (rta, rtb) = (tangent_row(*ta, r, a.len()), tangent_row(*tb, r, b.len()));
                    let Some(out_row) = out.get_mut(r * n..(r + 1) * n) else {
                        return false;
                    };
                    tangent_zip_flat(a, b, y, [rta, rtb], out_row, d);
                }
                true
            }

            fn hvp_flat(
                &self,
                i: usize,
                x: &[&[f64]],
                tx: &[Option<&[f64]>],
                y: &[f64],
                ty: Option<&[f64]>,
                g: &[f64],
                gt: &[f64],
                acc: &mut [f64],
                acc_t: &mut [f64],
            ) -> bool {
                let ([a, b], [ta, tb]) = (x, tx) else { return false };
                accumulate_dual_flat(a, *ta, b, *tb, y, ty, g, gt, acc, acc_t, |a, b, y| {
                    dual($ty::derivative(i, &a, &b, &y))
                });
                true
            }

            fn scalar_rule(&self) -> Option<ScalarRule> {
                Some(ScalarRule {
                    value: |a, b, _| ($forward)(a, b),
                    partials: |a, b, y, _| {
                        [number($ty::d_a(&a, &b, &y)), number($ty::d_b(&a, &b, &y))]
                    },
                    partials_dual: |a, b, y, _| {
                        [dual($ty::d_a(&a, &b, &y)), dual($ty::d_b(&a, &b, &y))]
                    },
                    attribute: 0.0,
                })
            }
        }

        $(#[$doc])*
        ///
        /// Errors: `Shape` when the shapes do not broadcast.
        pub fn $fn_name(a: &Tensor, b: &Tensor) -> Result<Tensor> {
            apply_shared(Rule::Static(&$ty), [a.clone(), b.clone()])
        }
    };
}

binary_op!(
    /// `a + b`; d/da = 1, d/db = 1.
    add, Add, "add",
    forward: |p, q| p + q,
    d_a: [constant(1.0)],
    d_b: [constant(1.0)]
);

binary_op!(
    /// `a - b`; d/da = 1, d/db = -1.
    sub, Sub, "sub",
    forward: |p, q| p - q,
    d_a: [constant(1.0)],
    d_b: [constant(-1.0)]
);

binary_op!(
    /// `a * b`; d/da = b, d/db = a.
    mul, Mul, "mul",
    forward: |p, q| p * q,
    d_a: [|_a, b, _y| Ok(b.clone())],
    d_b: [|a, _b, _y| Ok(a.clone())]
);

binary_op!(
    /// `a / b`; d/da = 1 / b, d/db = -a / b^2 = -(a / b) / b.
    div, Div, "div",
    forward: |p, q| p / q,
    d_a: [|_a, b, _y| b.recip()],
    d_b: [|_a, b, y| y.div(b)?.neg()]
);

binary_op!(
    /// The smaller of `a` and `b` elementwise (NaN when either is NaN);
    /// the derivative goes to the smaller operand, half to each at a tie.
    minimum, Minimum, "minimum",
    forward: |p: f64, q: f64| if p.is_nan() || q.is_nan() { f64::NAN } else { p.min(q) },
    d_a: [|a, b, _y| a.piecewise2(b, smaller_share)],
    d_b: [|a, b, _y| b.piecewise2(a, smaller_share)]
);

binary_op!(
    /// The larger of `a` and `b` elementwise (NaN when either is NaN); the
    /// derivative goes to the larger operand, half to each at a tie.
    maximum, Maximum, "maximum",
    forward: |p: f64, q: f64| if p.is_nan() || q.is_nan() { f64::NAN } else { p.max(q) },
    d_a: [|a, b, _y| b.piecewise2(a, smaller_share)],
    d_b: [|a, b, _y| a.piecewise2(b, smaller_share)]
);

binary_op!(
    /// `a ^ b` elementwise (NaN for a negative base with a non-integer
    /// exponent, as in numpy); d/da = `b a^(b-1)`, 0 where `b = 0`;
    /// d/db = `a^b log(a)`, 0 where `a = 0` and `b >= 0` (the limit, where
    /// the statement would give `0 * -inf`).
    pow, Pow, "pow",
    forward: f64::powf,
    d_a: [|a, b, _y| a
        .pow(&b.add_scalar(-1.0)?)?
        .mul(b)?
        .keep_where(&b.piecewise(|e| f64::from(u8::from(e != 0.0)))?)],
    d_b: [|a, b, y| y
        .mul(&a.log()?)?
        .keep_where(&a.piecewise2(b, |p, q| f64::from(u8::from(p != 0.0 || q < 0.0)))?)]
);

binary_op!(
    /// The angle of the point `(b, a)`, `atan2(a, b)` in `[-pi, pi]`;
    /// d/da = `b / (a^2 + b^2)`, d/db = `-a / (a^2 + b^2)` (NaN at the
    /// origin).
    atan2, Atan2, "atan2",
    forward: f64::atan2,
    d_a: [|a, b, _y| b.div(&a.square()?.add(&b.square()?)?)],
    d_b: [|a, b, _y| a.div(&a.square()?.add(&b.square()?)?)?.neg()]
);
