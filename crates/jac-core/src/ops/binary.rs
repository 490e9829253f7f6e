//! Elementwise ops of two tensors with numpy broadcasting.
//!
//! Rules return gradients at the broadcast shape; the sweep sums them back
//! to each input's shape.

use ndarray::ArrayD;

use super::{Op, VjpContext, apply};
use crate::broadcast::{broadcast_shapes, zip_map};
use crate::error::Result;
use crate::ops::neg;
use crate::tensor::Tensor;

/// Declares a broadcasting binary op: its type (holding the output shape),
/// its forward function and its VJP rule, and the public function.
macro_rules! binary_op {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal,
        forward: $forward:expr,
        vjp: |$cx:ident| ($grad_a:expr, $grad_b:expr)
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty {
            shape: Vec<usize>,
        }

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn forward(&self, x: &[&ArrayD<f64>]) -> Result<ArrayD<f64>> {
                zip_map(x[0], x[1], &self.shape, $forward)
            }

            fn vjp(&self, $cx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
                let grad_a = if $cx.needs(0) { Some($grad_a) } else { None };
                let grad_b = if $cx.needs(1) { Some($grad_b) } else { None };
                Ok(vec![grad_a, grad_b])
            }
        }

        $(#[$doc])*
        ///
        /// Errors: `Shape` when the shapes do not broadcast.
        pub fn $fn_name(a: &Tensor, b: &Tensor) -> Result<Tensor> {
            let shape = broadcast_shapes(a.shape(), b.shape(), $name)?;
            apply($ty { shape }, vec![a.clone(), b.clone()])
        }
    };
}

binary_op!(
    /// `a + b`; d/da = 1, d/db = 1.
    add, Add, "add",
    forward: |p, q| p + q,
    vjp: |cx| (cx.cotangent.clone(), cx.cotangent.clone())
);

binary_op!(
    /// `a - b`; d/da = 1, d/db = -1.
    sub, Sub, "sub",
    forward: |p, q| p - q,
    vjp: |cx| (cx.cotangent.clone(), neg(cx.cotangent)?)
);

binary_op!(
    /// `a * b`; d/da = b, d/db = a.
    mul, Mul, "mul",
    forward: |p, q| p * q,
    vjp: |cx| (mul(cx.cotangent, cx.input(1))?, mul(cx.cotangent, cx.input(0))?)
);

binary_op!(
    /// `a / b`; d/da = 1 / b, d/db = -a / b^2 = -(a / b) / b.
    div, Div, "div",
    forward: |p, q| p / q,
    vjp: |cx| (
        div(cx.cotangent, cx.input(1))?,
        mul(cx.cotangent, &neg(&div(cx.output, cx.input(1))?)?)?
    )
);
