//! [`Tensor`]: a cheap, shareable handle to a node of the graph.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::alloc::{checked_numel, try_filled, try_with_capacity};
use crate::error::{Error, Result, fmt_shape};
use crate::graph::{Inputs, Node, NodeId, Recipe, grad_enabled};
use crate::ops::Rule;

/// A float64 n-dimensional value in the graph, with whether it requires grad
/// and, for results of ops, the op and inputs that made it.
///
/// Cloning is cheap (a reference count); clones are the same node. Values are
/// computed eagerly as ops are built and never change afterwards, so a
/// `Tensor` is `Send + Sync` and may be read from any thread.
///
/// ```
/// use jac_core::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2], true)?;
/// assert_eq!(x.shape(), &[2, 2]);
/// assert!(x.requires_grad());
/// let c = Tensor::scalar(2.5);
/// assert_eq!(c.ndim(), 0);
/// assert!(!c.requires_grad());
/// # Ok::<(), jac_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Node>);

impl Tensor {
    /// A leaf holding `value`; `requires_grad` makes it something gradients
    /// can be taken with respect to.
    pub fn new(value: ArrayD<f64>, requires_grad: bool) -> Tensor {
        Tensor(Arc::new(Node::new(value, requires_grad, None)))
    }

    /// A constant: a leaf that needs no grad.
    pub fn constant(value: ArrayD<f64>) -> Tensor {
        Tensor::new(value, false)
    }

    /// A 0-D constant.
    pub fn scalar(value: f64) -> Tensor {
        Tensor::constant(ArrayD::from_elem(IxDyn(&[]), value))
    }

    /// A leaf from row-major `data` of the given `shape`.
    ///
    /// Errors: `OutOfMemory` when the product of `shape` overflows,
    /// `InvalidArgument` when `data.len()` differs from it.
    pub fn from_vec(data: Vec<f64>, shape: &[usize], requires_grad: bool) -> Result<Tensor> {
        check_data_len(data.len(), shape)?;
        let value = ArrayD::from_shape_vec(IxDyn(shape), data)
            .map_err(|e| Error::internal(format!("from_vec: {e}")))?;
        Ok(Tensor::new(value, requires_grad))
    }

    /// A leaf holding a copy of row-major `data` of the given `shape`: as
    /// [`Tensor::from_vec`], with the copy's allocation fallible too.
    ///
    /// Errors: as [`Tensor::from_vec`], and `OutOfMemory` when the copy is
    /// refused.
    ///
    /// ```
    /// use jac_core::Tensor;
    /// let x = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2], true)?;
    /// assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn from_slice(data: &[f64], shape: &[usize], requires_grad: bool) -> Result<Tensor> {
        let numel = check_data_len(data.len(), shape)?;
        let mut copy = try_with_capacity(numel, "data")?;
        copy.extend_from_slice(data);
        Tensor::from_vec(copy, shape, requires_grad)
    }

    /// A constant of `shape` filled with zeros.
    ///
    /// Errors: `OutOfMemory` when the product of `shape` overflows or the
    /// allocation is refused.
    pub fn zeros(shape: &[usize]) -> Result<Tensor> {
        Tensor::filled(shape, 0.0)
    }

    /// A constant of `shape` filled with ones.
    ///
    /// Errors: as [`Tensor::zeros`].
    pub fn ones(shape: &[usize]) -> Result<Tensor> {
        Tensor::filled(shape, 1.0)
    }

    fn filled(shape: &[usize], value: f64) -> Result<Tensor> {
        Tensor::full(shape, value, false)
    }

    /// A leaf of `shape` with every element `value` (any value, NaN and
    /// infinities included, as [`Tensor::from_vec`] takes them);
    /// `requires_grad` as for [`Tensor::new`].
    ///
    /// Errors: `OutOfMemory` when the product of `shape` overflows or the
    /// allocation is refused.
    ///
    /// ```
    /// use jac_core::Tensor;
    /// let x = Tensor::full(&[2, 3], 0.5, true)?;
    /// assert_eq!(x.shape(), &[2, 3]);
    /// assert_eq!(x.to_vec(), vec![0.5; 6]);
    /// assert!(x.requires_grad());
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn full(shape: &[usize], value: f64, requires_grad: bool) -> Result<Tensor> {
        Ok(Tensor::new(
            try_filled(shape, value, "shape")?,
            requires_grad,
        ))
    }

    /// Records the result of `op` applied to `inputs`. The node keeps its
    /// recipe only when grad is enabled on this thread and some input requires
    /// grad or was itself recorded (a comparison's mask, which a recorded
    /// [`crate::Function`] must recompute); otherwise it is a constant and
    /// holds no inputs alive. It requires grad when the op is
    /// differentiable and some input requires grad.
    pub(crate) fn from_op(op: Rule, inputs: Inputs, value: ArrayD<f64>) -> Tensor {
        if grad_enabled()
            && inputs
                .iter()
                .any(|t| t.requires_grad() || t.0.recipe.is_some())
        {
            let requires_grad = inputs
                .iter()
                .enumerate()
                .any(|(i, t)| t.requires_grad() && op.differentiable(i));
            Tensor(Arc::new(Node::new(
                value,
                requires_grad,
                Some(Recipe { op, inputs }),
            )))
        } else {
            Tensor::constant(value)
        }
    }

    /// The node's identity; clones share it.
    pub fn id(&self) -> NodeId {
        self.0.id
    }

    /// The value.
    pub fn value(&self) -> &ArrayD<f64> {
        &self.0.value
    }

    /// The shape; `[]` for a 0-D tensor.
    pub fn shape(&self) -> &[usize] {
        self.0.value.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.0.value.ndim()
    }

    /// The number of elements (1 for a 0-D tensor).
    pub fn numel(&self) -> usize {
        self.0.value.len()
    }

    /// Whether gradients flow to this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// Whether no graph holds this node: it requires no grad and has no
    /// recipe, so a sweep that owns it may write its buffer.
    pub(crate) fn is_unrecorded(&self) -> bool {
        !self.requires_grad() && self.0.recipe.is_none()
    }

    /// The op that made this tensor, if it was recorded.
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.recipe.as_ref().map(|r| r.op.name())
    }

    /// The same value as a constant, cut from the graph.
    pub fn detach(&self) -> Tensor {
        Tensor::constant(self.0.value.clone())
    }

    /// The values in row-major order.
    pub fn to_vec(&self) -> Vec<f64> {
        let v = &self.0.value;
        match v.as_slice() {
            Some(s) => s.to_vec(),
            None => v.iter().copied().collect(),
        }
    }

    /// The element at `index`: one position per axis (none for a 0-D
    /// tensor), a negative position counting from the end of its axis.
    ///
    /// Errors: `InvalidArgument` when `index` does not have one position per
    /// axis, `Index` for a position outside its axis.
    ///
    /// ```
    /// use jac_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], false)?;
    /// assert_eq!(x.element(&[1, 0])?, 4.0);
    /// assert_eq!(x.element(&[0, -1])?, 3.0);
    /// assert!(x.element(&[2, 0]).is_err());
    /// assert_eq!(Tensor::scalar(2.5).element(&[])?, 2.5);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn element(&self, index: &[isize]) -> Result<f64> {
        let shape = self.shape();
        if index.len() != shape.len() {
            return Err(Error::invalid(format!(
                "index: expected {} positions (one per axis of shape {}), got {}",
                shape.len(),
                fmt_shape(shape),
                index.len()
            )));
        }
        let mut at = Vec::with_capacity(index.len());
        for (axis, (&p, &dim)) in index.iter().zip(shape).enumerate() {
            // Every dim fits in isize: ndarray refuses larger arrays.
            let n = dim as isize;
            let q = if p < 0 { p + n } else { p };
            if !(0..n).contains(&q) {
                return Err(Error::index(format!(
                    "index[{axis}]: position {p} is out of range for axis {axis} of size {dim} \
                     (shape {})",
                    fmt_shape(shape)
                )));
            }
            at.push(q as usize);
        }
        Ok(self.0.value[IxDyn(&at)])
    }

    /// Writes the values in row-major order into `out`, whose length must
    /// equal [`Tensor::numel`].
    pub fn read_into(&self, out: &mut [f64]) -> Result<()> {
        let v = &self.0.value;
        if out.len() != v.len() {
            return Err(Error::invalid(format!(
                "out_len: expected {} (numel of shape {}), got {}",
                v.len(),
                fmt_shape(v.shape()),
                out.len()
            )));
        }
        match v.as_slice() {
            Some(s) => out.copy_from_slice(s),
            None => out.iter_mut().zip(v.iter()).for_each(|(o, x)| *o = *x),
        }
        Ok(())
    }
}

/// The number of values `shape` holds, checked against the `len` given.
fn check_data_len(len: usize, shape: &[usize]) -> Result<usize> {
    let numel = checked_numel(shape, "shape")?;
    if len != numel {
        return Err(Error::invalid(format!(
            "data: expected {numel} values for shape {}, got {len}",
            fmt_shape(shape)
        )));
    }
    Ok(numel)
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("id", &self.0.id.get())
            .field("shape", &self.shape())
            .field("requires_grad", &self.requires_grad())
            .field("op", &self.op_name())
            .finish()
    }
}
