//! Comparisons: masks of 1.0 where a relation holds and 0.0 elsewhere,
//! with numpy broadcasting (NaN compares false, except that `!=` is not an
//! op here).
//!
//! A mask is piecewise constant, so no derivative flows through it and its
//! result never requires grad; but it is recorded like any op when an
//! operand is, so a [`crate::Function`] recomputes it at every replay and a
//! branch taken with [`crate::where_`] follows the new point.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use super::elementwise::{zip_flat, zip_into};
use super::{Flat, JvpContext, Op, Rule, ScalarRule, VjpContext, apply_shared};
use crate::alloc::check_alloc;
use crate::broadcast::{broadcast_shapes, zip_map};
use crate::cotangent::Partial;
use crate::error::Result;
use crate::tensor::Tensor;

/// Declares a comparison: its type, its relation on numbers and the public
/// function that builds it.
macro_rules! comparison {
    (
        $(#[$doc:meta])*
        $fn_name:ident, $ty:ident, $name:literal, |$p:ident, $q:ident| $relation:expr
    ) => {
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl $ty {
            fn mask($p: f64, $q: f64) -> f64 {
                f64::from(u8::from($relation))
            }
        }

        impl Op for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn differentiable(&self, _input: usize) -> bool {
                false
            }

            fn attributes(&self) -> Option<Vec<u64>> {
                Some(Vec::new())
            }

            fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
                let (a, b) = (&x[0], &x[1]);
                let shape = broadcast_shapes(a.shape(), b.shape(), $name)?;
                check_alloc(&shape, $name)?;
                zip_map(a, b, &shape, $ty::mask)
            }

            fn vjp(&self, _cx: &VjpContext<'_>, _g: &Tensor) -> Result<Vec<Option<Tensor>>> {
                Ok(vec![None, None])
            }

            fn jvp(&self, cx: &JvpContext<'_>, _t: &[Option<Tensor>]) -> Result<Tensor> {
                Tensor::zeros(&cx.with_lead(cx.output.shape()))
            }

            fn partial(
                &self,
                _i: usize,
                _inputs: &[Tensor],
                _output: &ArrayD<f64>,
                _at: Option<&[usize]>,
            ) -> Option<Result<Partial>> {
                Some(Ok(Partial::Constant(0.0)))
            }

            fn forward_into(
                &self,
                x: &[ArrayViewD<'_, f64>],
                out: &mut ArrayViewMutD<'_, f64>,
            ) -> Option<Result<()>> {
                let [a, b] = x else { return None };
                Some(zip_into(a, b, out, $ty::mask))
            }

            fn vjp_into(
                &self,
                _i: usize,
                _x: &[ArrayViewD<'_, f64>],
                _y: &ArrayViewD<'_, f64>,
                _g: &ArrayViewD<'_, f64>,
                _acc: &mut ArrayViewMutD<'_, f64>,
            ) -> Option<Result<()>> {
                Some(Ok(()))
            }

            fn flat(&self) -> Option<&dyn Flat> {
                Some(self)
            }
        }

        impl Flat for $ty {
            fn forward_flat(&self, x: &[&[f64]], out: &mut [f64]) {
                if let [a, b] = x {
                    zip_flat(a, b, out, $ty::mask);
                }
            }

            fn vjp_flat(&self, _i: usize, _x: &[&[f64]], _y: &[f64], _g: &[f64], _acc: &mut [f64]) {}

            fn jvp_flat(
                &self,
                _x: &[&[f64]],
                _y: &[f64],
                _t: &[Option<&[f64]>],
                out: &mut [f64],
            ) -> bool {
                out.fill(0.0);
                true
            }

            fn scalar_rule(&self) -> Option<ScalarRule> {
                Some(ScalarRule {
                    value: |a, b, _| $ty::mask(a, b),
                    partials: |_, _, _, _| [0.0, 0.0],
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

comparison!(
    /// 1.0 where `a < b`, else 0.0, elementwise: a mask for [`crate::where_`]
    /// that requires no grad and is recomputed when a recorded program
    /// replays.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, less, mul, where_};
    /// let x = Tensor::from_vec(vec![-1.0, 2.0], &[2], true)?;
    /// let m = less(&x, &Tensor::scalar(0.0))?;
    /// assert_eq!(m.to_vec(), vec![1.0, 0.0]);
    /// assert!(!m.requires_grad());
    /// // y = x < 0 ? -x : x * x, recorded once, replayed with the branch
    /// // taken at the new point.
    /// let y = where_(&m, &jac_core::neg(&x)?, &mul(&x, &x)?)?;
    /// let f = Function::new(&[x], &[y])?;
    /// let mut out = [0.0; 2];
    /// f.eval_into(&[&[3.0, -4.0]], &mut [&mut out])?;
    /// assert_eq!(out, [9.0, 4.0]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    less, Less, "less", |p, q| p < q
);

comparison!(
    /// 1.0 where `a <= b`, else 0.0, elementwise (see [`less`]).
    less_equal, LessEqual, "less_equal", |p, q| p <= q
);

comparison!(
    /// 1.0 where `a > b`, else 0.0, elementwise (see [`less`]).
    greater, Greater, "greater", |p, q| p > q
);

comparison!(
    /// 1.0 where `a >= b`, else 0.0, elementwise (see [`less`]).
    greater_equal, GreaterEqual, "greater_equal", |p, q| p >= q
);

comparison!(
    /// 1.0 where `a == b`, else 0.0, elementwise (see [`less`]).
    equal, Equal, "equal", |p, q| p == q
);
