//! Elementwise ops of two tensors with numpy broadcasting.
//!
//! Rules return gradients at the broadcast shape; the sweep sums them back
//! to each input's shape.

use ndarray::{ArrayD, Zip};

use super::{Op, VjpContext, apply};
use crate::alloc::check_alloc;
use crate::broadcast::{broadcast_shapes, view_as, zip_map};
use crate::cotangent::{BroadcastMap, Partial};
use crate::error::Result;
use crate::ops::neg;
use crate::ops::unary::standard_layout;
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

/// Declares a broadcasting binary op: its type (no attributes: the output
/// shape follows from the inputs'),
/// its forward function and its VJP rule, and the public function.
macro_rules! binary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal,
        forward: $forward:expr,
        vjp: |$cx:ident, $g:ident| ($grad_a:expr, $grad_b:expr),
        partial: |$i:ident, $x:ident| $partial:expr
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn forward(&self, x: &[&ArrayD<f64>]) -> Result<ArrayD<f64>> {
                let (a, b) = (x[0], x[1]);
                if a.shape() == b.shape() {
                    return zip_map(a, b, a.shape(), $forward);
                }
                let shape = broadcast_shapes(a.shape(), b.shape(), $name)?;
                check_alloc(&shape, $name)?;
                zip_map(a, b, &shape, $forward)
            }

            fn vjp(&self, $cx: &VjpContext<'_>, $g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                let grad_a = if $cx.needs(0) { Some($grad_a) } else { None };
                let grad_b = if $cx.needs(1) { Some($grad_b) } else { None };
                Ok(vec![grad_a, grad_b])
            }

            fn partial(
                &self,
                $i: usize,
                inputs: &[Tensor],
                output: &ArrayD<f64>,
                at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                let $x = Operands {
                    a: inputs[0].value(),
                    b: inputs[1].value(),
                    y: output,
                    at,
                };
                Some($partial)
            }
        }

        $(#[$doc])*
        ///
        /// Errors: `Shape` when the shapes do not broadcast.
        pub fn $fn_name(a: &Tensor, b: &Tensor) -> Result<Tensor> {
            apply($ty, vec![a.clone(), b.clone()])
        }
    };
}

binary_op!(
    /// `a + b`; d/da = 1, d/db = 1.
    add, Add, "add",
    forward: |p, q| p + q,
    vjp: |cx, g| (g.clone(), g.clone()),
    partial: |_i, _x| Ok(Partial::Constant(1.0))
);

binary_op!(
    /// `a - b`; d/da = 1, d/db = -1.
    sub, Sub, "sub",
    forward: |p, q| p - q,
    vjp: |cx, g| (g.clone(), neg(g)?),
    partial: |i, _x| Ok(Partial::Constant(if i == 0 { 1.0 } else { -1.0 }))
);

binary_op!(
    /// `a * b`; d/da = b, d/db = a.
    mul, Mul, "mul",
    forward: |p, q| p * q,
    vjp: |cx, g| (mul(g, cx.input(1))?, mul(g, cx.input(0))?),
    partial: |i, x| x.each(|a, b, _y| if i == 0 { b } else { a })
);

binary_op!(
    /// `a / b`; d/da = 1 / b, d/db = -a / b^2 = -(a / b) / b.
    div, Div, "div",
    forward: |p, q| p / q,
    vjp: |cx, g| (
        div(g, cx.input(1))?,
        mul(g, &neg(&div(cx.output, cx.input(1))?)?)?
    ),
    partial: |i, x| x.each(|_a, b, y| if i == 0 { 1.0 / b } else { -y / b })
);
