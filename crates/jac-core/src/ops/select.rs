//! Selection by a constant mask.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};

use super::{JvpContext, Op, VjpContext, apply};
use crate::alloc::check_alloc;
use crate::broadcast::{broadcast_shapes, view_as};
use crate::error::Result;
use crate::sparse::{Curvature, Structure};
use crate::tensor::Tensor;

/// `mask ? a : b` elementwise. The operands are `[a, b, mask]`: the mask
/// is an operand like the others, so a recorded program recomputes it (a
/// comparison of the inputs), but no derivative flows to it.
#[derive(Debug)]
pub(crate) struct Where {
    shape: Vec<usize>,
}

impl Where {
    fn select(
        x: &[ArrayViewD<'_, f64>],
        shape: &[usize],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Result<()> {
        let a = view_as(&x[0], shape)?;
        let b = view_as(&x[1], shape)?;
        let m = view_as(&x[2], shape)?;
        Zip::from(out)
            .and(&m)
            .and(&a)
            .and(&b)
            .for_each(|o, &m, &a, &b| *o = if m != 0.0 { a } else { b });
        Ok(())
    }
}

impl Op for Where {
    fn name(&self) -> &'static str {
        "where"
    }

    /// Elementwise in `a` and `b` (not the mask, whose derivative is 0),
    /// and linear: each output element is one of them.
    fn structure(&self, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        Structure::elementwise(operands, output, &[0, 1], Curvature::Linear)
    }

    fn attributes(&self) -> Option<Vec<u64>> {
        Some(self.shape.iter().map(|&d| d as u64).collect())
    }

    fn differentiable(&self, input: usize) -> bool {
        input != 2
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let mut out = ArrayD::zeros(IxDyn(&self.shape));
        Where::select(x, &self.shape, &mut out.view_mut())?;
        Ok(out)
    }

    fn forward_into(
        &self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        Some(Where::select(x, &self.shape, out))
    }

    /// The cotangent goes to `a` where the mask holds and to `b` elsewhere,
    /// selected (not multiplied) so an infinite cotangent stays where it is.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let zero = Tensor::scalar(0.0);
        let mask = cx.input(2);
        let grad_a = if cx.needs(0) {
            Some(where_(mask, g, &zero)?)
        } else {
            None
        };
        let grad_b = if cx.needs(1) {
            Some(where_(mask, &zero, g)?)
        } else {
            None
        };
        Ok(vec![grad_a, grad_b, None])
    }

    /// The tangents selected by the same mask.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let pick = |i: usize| match &t[i] {
            Some(t) => cx.aligned(i, t),
            None => Ok(Tensor::scalar(0.0)),
        };
        // The mask is not stacked: it aligns with the output from the right.
        where_(cx.input(2), &pick(0)?, &pick(1)?)
    }
}

/// `a` where `mask` is non-zero, else `b`; the three shapes broadcast
/// together. No gradient flows to the mask, but it is an operand: a
/// [`crate::Function`] recomputes a mask made by a comparison at each
/// replay.
///
/// Errors: `Shape` when the shapes do not broadcast.
///
/// ```
/// use jac_core::{Tensor, where_};
/// let m = Tensor::from_vec(vec![1.0, 0.0, 2.0], &[3], false)?;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3], false)?;
/// let b = Tensor::scalar(-1.0);
/// assert_eq!(where_(&m, &a, &b)?.to_vec(), vec![1.0, -1.0, 3.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn where_(mask: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ab = broadcast_shapes(a.shape(), b.shape(), "where")?;
    let shape = broadcast_shapes(mask.shape(), &ab, "where")?;
    check_alloc(&shape, "where")?;
    apply(Where { shape }, vec![a.clone(), b.clone(), mask.clone()])
}
