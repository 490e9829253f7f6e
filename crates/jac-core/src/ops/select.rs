//! Selection by a constant mask.

use ndarray::{ArrayD, ArrayViewD, Zip};

use super::{JvpContext, Op, VjpContext, apply};
use crate::alloc::check_alloc;
use crate::broadcast::{broadcast_shapes, view_as};
use crate::error::Result;
use crate::tensor::Tensor;

/// `mask ? a : b` elementwise, the mask a constant.
#[derive(Debug)]
pub(crate) struct Where {
    mask: Tensor,
    shape: Vec<usize>,
}

impl Op for Where {
    fn name(&self) -> &'static str {
        "where"
    }

    fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
        let m = view_as(self.mask.value(), &self.shape)?;
        let a = view_as(&x[0], &self.shape)?;
        let b = view_as(&x[1], &self.shape)?;
        Ok(Zip::from(&m)
            .and(&a)
            .and(&b)
            .map_collect(|&m, &a, &b| if m != 0.0 { a } else { b }))
    }

    /// The cotangent goes to `a` where the mask holds and to `b` elsewhere,
    /// selected (not multiplied) so an infinite cotangent stays where it is.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let zero = Tensor::scalar(0.0);
        let grad_a = if cx.needs(0) {
            Some(where_(&self.mask, g, &zero)?)
        } else {
            None
        };
        let grad_b = if cx.needs(1) {
            Some(where_(&self.mask, &zero, g)?)
        } else {
            None
        };
        Ok(vec![grad_a, grad_b])
    }

    /// The tangents selected by the same mask.
    fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
        let pick = |i: usize| match &t[i] {
            Some(t) => cx.aligned(i, t),
            None => Ok(Tensor::scalar(0.0)),
        };
        where_(&self.mask, &pick(0)?, &pick(1)?)
    }
}

/// `a` where `mask` is non-zero, else `b`; the three shapes broadcast
/// together. The mask is used as a constant: no gradient flows to it.
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
    // The mask is held by the op, not recorded as an input, so no sweep
    // reaches it: no copy is needed to cut it from the graph.
    apply(
        Where {
            mask: mask.clone(),
            shape,
        },
        vec![a.clone(), b.clone()],
    )
}
