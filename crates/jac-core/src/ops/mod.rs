//! The ops: one file per family, each op a type implementing `Op` with its
//! forward rule and its VJP rule side by side; elementwise ops state their
//! derivative once (`elementwise.rs`) and every sweep uses that statement.
//!
//! VJP rules are written with the public tensor ops themselves, never with
//! raw array math, so a backward pass recorded with `create_graph` is an
//! ordinary graph that can be differentiated again. An op without a VJP does
//! not compile: `Op::vjp` has no default.
//!
//! Stacked cotangents: during a vectorized sweep the cotangent of an output of
//! shape `S` has shape `L ++ S`, where `L` (`lead` axes, usually one axis of k
//! rows) stacks k independent cotangents. Every rule returns gradients shaped
//! `L ++ (something that broadcasts to the input)`; the sweep reduces each to
//! `L ++ input.shape` in one place (`broadcast::sum_to`), so rules
//! never un-broadcast themselves.
//!
//! Op values are pure functions of the input values and the op's static
//! attributes (axes, shapes, scalars), so a recorded graph replays at new
//! leaf values ([`crate::Function`]).

pub mod binary;
pub mod compare;
pub(crate) mod elementwise;
// Private: a public module would share its name with `gather` itself.
mod gather;
pub mod linalg;
pub mod reduce;
pub mod select;
pub mod shape;
pub mod softmax;
pub mod unary;

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::cotangent::{Cot, Partial, Sparse};
use crate::error::{Error, Result};
use crate::graph::Inputs;
use crate::sparse::Structure;
use crate::tensor::Tensor;
pub(crate) use elementwise::Dual;

/// One differentiable operation with its static attributes.
pub(crate) trait Op: Send + Sync + fmt::Debug {
    /// The op's name, as messages and diagnostics print it.
    fn name(&self) -> &'static str;

    /// Computes the output value from the input values. Shapes were checked
    /// when the op was built, but a rule still reports rather than panics.
    fn forward(&self, inputs: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>>;

    /// Returns one gradient per input (`None` for inputs the context says are
    /// not needed, or that get no gradient) from the output's cotangent `g`,
    /// each shaped `L ++ s` where `s` broadcasts to the input's shape.
    fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>>;

    /// The output's tangent from the inputs' tangents, each `L ++ input
    /// shape` (`None`: a zero tangent; at least one is given), shaped to
    /// broadcast to `L ++ output shape` (the sweep broadcasts it, in one
    /// place). Written with tensor ops, like [`Op::vjp`], so a forward sweep
    /// recorded with `create_graph` can be differentiated again (Hessian-
    /// vector products, forward over forward); elementwise ops take it from
    /// the same statement of their derivative as their VJP.
    fn jvp(&self, cx: &JvpContext<'_>, tangents: &[Option<Tensor>]) -> Result<Tensor>;

    /// Whether derivatives flow from the output to operand `input`: the
    /// output requires grad when such an operand does. A comparison is
    /// piecewise constant (its result never requires grad, though a
    /// recorded program still recomputes it), and `where` passes nothing
    /// to its mask.
    fn differentiable(&self, _input: usize) -> bool {
        true
    }

    /// Which operand elements each output element depends on, and which of
    /// those dependencies the op's second derivative couples, at the given
    /// operand and output shapes: the rule sparsity detection
    /// ([`crate::Function::sparse_jacobian`]) propagates through a recorded
    /// program. It must hold at every point (keep a dependence that only
    /// vanishes at some values). Operands that are not
    /// [`Op::differentiable`] are ignored whatever it says, and it is not
    /// called when no other operand depends on an input.
    ///
    /// The default, [`Structure::Dense`], is conservative: every output
    /// element depends on every element of every differentiable operand,
    /// all coupled. Every op of the crate gives a precise rule in its own
    /// file (elementwise, shape, reduction, selection, gather and scan,
    /// softmax and matrix-product ops); an op added without one keeps the
    /// default, which is correct but makes patterns denser.
    fn structure(&self, _operands: &[&[usize]], _output: &[usize]) -> Result<Structure> {
        Ok(Structure::Dense)
    }

    /// A rough cost of this op's VJP for one row, in element operations:
    /// the output's size unless the op does more per element (a matrix
    /// product).
    fn work(&self, _inputs: &[Tensor], output: &ArrayD<f64>) -> usize {
        output.len()
    }

    /// For elementwise ops (each output element a function of the input
    /// elements at its broadcast position): the derivative of the output with
    /// respect to input `i` at every output element, or, when `at` gives
    /// positions (flat, row-major, of the output), at those only. Unrecorded
    /// sweeps use it to scale a cotangent in one pass, or to carry a sparse
    /// one. `None`: the op is not elementwise. Must agree with [`Op::vjp`].
    fn partial(
        &self,
        _i: usize,
        _inputs: &[Tensor],
        _output: &ArrayD<f64>,
        _at: Option<&[usize]>,
    ) -> Option<Result<Partial>> {
        None
    }

    /// The forward rule written into `out`, an array of the output's shape
    /// (a compiled program's planned buffer), instead of a new array: every
    /// elementwise op has one, and ops that only move values (reshape,
    /// slice). `None`: the op has no such kernel.
    fn forward_into(
        &self,
        _inputs: &[ArrayViewD<'_, f64>],
        _out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        None
    }

    /// Writes the output's tangent (the output's shape, nothing stacked)
    /// into `out` from the operands' tangents `t` (`None`: zero), from the
    /// same statement of the derivative as [`Op::jvp`], for ops with a
    /// kernel that needs no new array (a product of matrices). `None`: no
    /// such kernel.
    fn jvp_into(
        &self,
        _inputs: &[ArrayViewD<'_, f64>],
        _output: &ArrayViewD<'_, f64>,
        _t: &[Option<ArrayViewD<'_, f64>>],
        _out: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        None
    }

    /// Adds the VJP of the cotangent `g` (the output's shape, nothing
    /// stacked) with respect to input `i` into `acc` (input `i`'s shape),
    /// summing over what was broadcast, from the same statement of the
    /// derivative as [`Op::vjp`], for the ops that have
    /// [`Op::forward_into`]. `None`: no such kernel.
    fn vjp_into(
        &self,
        _i: usize,
        _inputs: &[ArrayViewD<'_, f64>],
        _output: &ArrayViewD<'_, f64>,
        _g: &ArrayViewD<'_, f64>,
        _acc: &mut ArrayViewMutD<'_, f64>,
    ) -> Option<Result<()>> {
        None
    }

    /// The op's attributes as bits, when two instances of it with equal
    /// attributes (and the same name) compute the same function of the same
    /// operands: a recorded program then computes a repeated expression
    /// once. `None`: never merged.
    fn attributes(&self) -> Option<Vec<u64>> {
        None
    }

    /// The op's kernels on flat buffers, if it has them (elementwise ops,
    /// reshape, slice): the op itself, as a [`Flat`].
    fn flat(&self) -> Option<&dyn Flat> {
        None
    }

    /// The VJP of a sparse cotangent in an unrecorded sweep, for ops that can
    /// do better than densifying it (a matrix product gathers rows). `None`:
    /// the sweep densifies and calls [`Op::vjp`]. Must agree with it.
    fn vjp_sparse(&self, _cx: &VjpContext<'_>, _g: &Sparse) -> Option<Result<Vec<Option<Cot>>>> {
        None
    }
}

/// An op's forward and VJP rules on flat row-major buffers: how a recorded
/// program ([`crate::Function`]) runs the ops that make up most of it, on
/// slices of its planned storage, from the same statements as the op's
/// graph rules. Kernels do not check lengths: the program calls them only
/// with operands whose shapes [`Flat::applies`] accepted.
pub(crate) trait Flat: Send + Sync {
    /// Whether the kernels take operands of these shapes. By default (the
    /// elementwise ops) each operand has the output's number of elements,
    /// or one (a broadcast scalar).
    fn applies(&self, mut inputs: &mut dyn Iterator<Item = &[usize]>, output: &[usize]) -> bool {
        let n = numel(output);
        n.is_some() && Iterator::all(&mut inputs, |s| numel(s) == n || numel(s) == Some(1))
    }

    /// Whether the output is its operand's buffer as it is (a reshape): a
    /// program may then keep both in one place and run nothing.
    fn is_view(&self) -> bool {
        false
    }

    /// Writes the output into `out` from the operands `inputs`.
    fn forward_flat(&self, inputs: &[&[f64]], out: &mut [f64]);

    /// Adds the VJP of the cotangent `g` with respect to operand `i` into
    /// `acc` (that operand's length), `y` being the output.
    fn vjp_flat(&self, i: usize, inputs: &[&[f64]], y: &[f64], g: &[f64], acc: &mut [f64]);

    /// Whether the op is linear in its one operand (a slice, a gather): the
    /// output's tangent is then [`Flat::forward_flat`] of the operand's.
    fn linear(&self) -> bool {
        false
    }

    /// The VJP of operand `i` in a second-order pass (a Hessian-vector
    /// product): `acc += g d_i` and `acc_t += gt d_i + g (d_i along the
    /// tangents)`, with `tx` the operands' tangents and `ty` the output's
    /// (`None`: zero), `gt` the tangent of the cotangent `g`, from the same
    /// statement of the derivative as [`Flat::vjp_flat`]. An op linear in
    /// its one operand has a VJP that does not depend on the values: `g`
    /// and `gt` go through it alike. `false`: no such kernel.
    #[allow(
        clippy::too_many_arguments,
        reason = "the values, tangents and cotangents of one step"
    )]
    fn hvp_flat(
        &self,
        i: usize,
        inputs: &[&[f64]],
        _tx: &[Option<&[f64]>],
        y: &[f64],
        _ty: Option<&[f64]>,
        g: &[f64],
        gt: &[f64],
        acc: &mut [f64],
        acc_t: &mut [f64],
    ) -> bool {
        if !self.linear() {
            return false;
        }
        self.vjp_flat(i, inputs, y, g, acc);
        self.vjp_flat(i, inputs, y, gt, acc_t);
        true
    }

    /// Writes the output's tangent into `out` from the operands' tangents
    /// (`None`: zero; each as long as its operand), `y` being the output,
    /// from the same statement of the derivative as [`Flat::vjp_flat`].
    /// `false`: no such kernel (the sweep runs the op's graph JVP rule).
    fn jvp_flat(
        &self,
        _inputs: &[&[f64]],
        _y: &[f64],
        tangents: &[Option<&[f64]>],
        out: &mut [f64],
    ) -> bool {
        match tangents {
            [Some(t)] if self.linear() => {
                self.forward_flat(&[t], out);
                true
            }
            _ => false,
        }
    }

    /// [`Flat::jvp_flat`] for `k` stacked tangent rows: `tangents[i]` holds
    /// `k` rows of operand `i`'s length, `out` `k` rows of the output's.
    /// Elementwise ops override it to evaluate each derivative once for all
    /// rows (the same products as row by row, so the same numbers).
    fn jvp_flat_rows(
        &self,
        inputs: &[&[f64]],
        y: &[f64],
        tangents: &[Option<&[f64]>],
        out: &mut [f64],
        k: usize,
    ) -> bool {
        let mut row_ts: [Option<&[f64]>; 2] = [None, None];
        if tangents.len() > row_ts.len() || inputs.len() != tangents.len() {
            return false;
        }
        let n = out.len() / k.max(1);
        for r in 0..k {
            for ((slot, t), a) in row_ts.iter_mut().zip(tangents).zip(inputs) {
                *slot = elementwise::tangent_row(*t, r, a.len());
            }
            let Some(out_row) = out.get_mut(r * n..(r + 1) * n) else {
                return false;
            };
            if !self.jvp_flat(inputs, y, &row_ts[..tangents.len()], out_row) {
                return false;
            }
        }
        true
    }

    /// The op's rule on numbers (one or two operands of one value each),
    /// as plain functions and an attribute that a scalar program keeps
    /// inline in its steps, so that replaying it never reads the op:
    /// elementwise ops have one, from the same statements as their other
    /// kernels.
    fn scalar_rule(&self) -> Option<ScalarRule> {
        None
    }
}

/// [`Flat::scalar_rule`]: an op's value and partial derivatives on numbers.
#[derive(Clone, Copy)]
pub(crate) struct ScalarRule {
    /// The output from the operands `(a, b)` (`b` is 0 for a one-operand
    /// op) and the attribute.
    pub(crate) value: fn(f64, f64, f64) -> f64,
    /// `[d out / d a, d out / d b]` from the operands, the output and the
    /// attribute.
    pub(crate) partials: fn(f64, f64, f64, f64) -> [f64; 2],
    /// The same partials on duals (each operand and the output with its
    /// tangent): the partials and their derivatives along the tangents,
    /// for second-order passes.
    pub(crate) partials_dual: fn(Dual, Dual, Dual, f64) -> [Dual; 2],
    pub(crate) attribute: f64,
}

impl fmt::Debug for ScalarRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalarRule")
            .field("attribute", &self.attribute)
            .finish_non_exhaustive()
    }
}

/// The number of elements of `shape`, `None` past `usize`.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// What a VJP rule sees besides the cotangent: the op's inputs and output,
/// the leading dims of the cotangent that stack independent rows, and which
/// inputs need a gradient at all.
pub(crate) struct VjpContext<'a> {
    pub(crate) inputs: &'a [Tensor],
    pub(crate) output: &'a Tensor,
    pub(crate) lead_shape: &'a [usize],
    pub(crate) lead: usize,
    pub(crate) needs: &'a [bool],
}

impl VjpContext<'_> {
    pub(crate) fn input(&self, i: usize) -> &Tensor {
        &self.inputs[i]
    }

    pub(crate) fn needs(&self, i: usize) -> bool {
        self.needs[i]
    }

    /// The stacked leading dims of the cotangent.
    pub(crate) fn lead_shape(&self) -> &[usize] {
        self.lead_shape
    }

    /// `L ++ shape`.
    pub(crate) fn with_lead(&self, shape: &[usize]) -> Vec<usize> {
        let mut s = self.lead_shape().to_vec();
        s.extend_from_slice(shape);
        s
    }

    /// Shifts an axis of the unstacked operand past the lead axes.
    pub(crate) fn axis(&self, axis: usize) -> usize {
        axis + self.lead
    }
}

/// What a JVP rule sees besides the tangents: the op's inputs and output,
/// and the leading dims of the tangents that stack independent directions
/// (`L`, as for stacked cotangents).
pub(crate) struct JvpContext<'a> {
    pub(crate) inputs: &'a [Tensor],
    pub(crate) output: &'a Tensor,
    pub(crate) lead_shape: &'a [usize],
}

impl JvpContext<'_> {
    pub(crate) fn input(&self, i: usize) -> &Tensor {
        &self.inputs[i]
    }

    /// The number of stacked leading axes.
    pub(crate) fn lead(&self) -> usize {
        self.lead_shape.len()
    }

    /// `L ++ shape`.
    pub(crate) fn with_lead(&self, shape: &[usize]) -> Vec<usize> {
        let mut s = self.lead_shape.to_vec();
        s.extend_from_slice(shape);
        s
    }

    /// Shifts an axis of the unstacked operand past the lead axes.
    pub(crate) fn axis(&self, axis: usize) -> usize {
        axis + self.lead()
    }

    /// Tangent `t` of input `i` (`L ++ input shape`) with unit axes put
    /// between `L` and the input's own, up to the output's number of axes:
    /// it then broadcasts against `L ++ output shape` as the input
    /// broadcasts against the output.
    pub(crate) fn aligned(&self, i: usize, t: &Tensor) -> Result<Tensor> {
        let shape = self.input(i).shape();
        let missing = self.output.ndim().saturating_sub(shape.len());
        if missing == 0 {
            return Ok(t.clone());
        }
        let mut to = self.lead_shape.to_vec();
        to.extend(std::iter::repeat_n(1, missing));
        to.extend_from_slice(shape);
        crate::broadcast::reshape_to(t, &to)
    }

    /// The given tangent of input `i`, or zeros `L ++ input shape`.
    pub(crate) fn tangent_or_zeros(&self, i: usize, t: &Option<Tensor>) -> Result<Tensor> {
        match t {
            Some(t) => Ok(t.clone()),
            None => Tensor::zeros(&self.with_lead(self.input(i).shape())),
        }
    }
}

/// Runs `op`'s forward rule on `inputs` and records the result.
///
/// Most outputs (and the temporaries of computing them) are no larger than
/// the largest input, so that much is asked of the allocator first; ops
/// whose outputs can be larger (broadcasting, products, joins) check their
/// output size when they are built.
pub(crate) fn apply(op: impl Op + 'static, inputs: impl Into<Inputs>) -> Result<Tensor> {
    apply_shared(Rule::Shared(Arc::new(op)), inputs)
}

/// An op's rule as nodes and programs hold it: a static instance (ops
/// without attributes: building one allocates nothing for its rule) or a
/// shared one.
#[derive(Clone)]
pub(crate) enum Rule {
    Static(&'static dyn Op),
    Shared(Arc<dyn Op>),
}

impl std::ops::Deref for Rule {
    type Target = dyn Op;

    fn deref(&self) -> &(dyn Op + 'static) {
        match self {
            Rule::Static(op) => *op,
            Rule::Shared(op) => op.as_ref(),
        }
    }
}

/// [`apply`] with a rule already shared by another node (a recorded
/// [`crate::Function`] replaying its program).
pub(crate) fn apply_shared(op: Rule, inputs: impl Into<Inputs>) -> Result<Tensor> {
    let inputs = inputs.into();
    let value = match &*inputs {
        [a] => forward(&*op, &[a.value().view()])?,
        [a, b] => forward(&*op, &[a.value().view(), b.value().view()])?,
        many => forward(
            &*op,
            &many.iter().map(|t| t.value().view()).collect::<Vec<_>>(),
        )?,
    };
    Ok(Tensor::from_op(op, inputs, value))
}

/// `op`'s forward rule on `inputs` into a new array, after asking the
/// allocator for as much as the largest input (see [`apply`]): how both a
/// graph and a replay compute an op without an in-place kernel.
pub(crate) fn forward(op: &dyn Op, inputs: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
    if let Some(largest) = inputs.iter().max_by_key(|a| a.len()) {
        crate::alloc::reserve(largest.len(), largest.shape(), op.name())?;
    }
    op.forward(inputs)
}

/// The gradient list of a one-input op.
pub(crate) fn one(grad: Tensor) -> Result<Vec<Option<Tensor>>> {
    Ok(vec![Some(grad)])
}

/// Resolves a possibly negative `axis` of an operand with `ndim` axes.
pub(crate) fn normalize_axis(axis: isize, ndim: usize, arg: &str) -> Result<usize> {
    let n = ndim as isize;
    if (-n..n).contains(&axis) {
        Ok(if axis < 0 { axis + n } else { axis } as usize)
    } else if ndim == 0 {
        Err(Error::index(format!(
            "{arg}: a 0-D operand has no axes, got axis {axis}"
        )))
    } else {
        Err(Error::index(format!(
            "{arg}: expected an axis in [{}, {n}) for a {ndim}-D operand, got {axis}",
            -n
        )))
    }
}

/// Resolves a list of axes: each normalized, none repeated.
pub(crate) fn normalize_axes(axes: &[isize], ndim: usize, arg: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let ax = normalize_axis(a, ndim, arg)?;
        if out.contains(&ax) {
            return Err(Error::invalid(format!(
                "{arg}: axis {ax} is given more than once in {axes:?}"
            )));
        }
        out.push(ax);
    }
    Ok(out)
}

/// Rejects a scalar attribute that is NaN or infinite.
pub(crate) fn finite(value: f64, arg: &str) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(format!(
            "{arg}: expected a finite number, got {value}"
        )))
    }
}

pub use binary::{add, atan2, div, maximum, minimum, mul, pow, sub};
pub use compare::{equal, greater, greater_equal, less, less_equal};
pub use gather::{cumsum, gather, scatter_add};
pub use linalg::matmul;
pub use reduce::{max, mean, min, sum};
pub use select::where_;
pub use shape::{broadcast_to, concat, reshape, slice, stack, transpose};
pub use softmax::{log_softmax, logsumexp, softmax};
pub use unary::{
    abs, add_scalar, clamp, cos, erf, exp, log, neg, pow_scalar, relu, scale, sigmoid, sin,
    softplus, sqrt, square, tan, tanh,
};
