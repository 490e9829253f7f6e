//! The reverse sweep: [`grad`] and its vectorized form [`grad_stacked`].
//!
//! One sweep visits, in descending id order (reverse topological order), the
//! nodes that require grad, are reachable from the ys, and reach some x; it
//! never mutates the graph, so the same graph can be swept any number of
//! times. Gradients accumulate per node: the first contribution moves in,
//! later ones are added. Every rule's output is summed back to its input's
//! shape here, in one place.

use crate::broadcast::sum_to;
use crate::cotangent::{Cot, through_partial};
use crate::error::{Error, Result, fmt_shape};
use crate::graph::{GradMode, OUTSIDE, Subgraph};
use crate::ops::{Op, VjpContext};
use crate::tensor::Tensor;

/// Gradients of `ys` with respect to `xs`: `sum_i grad_ys[i] . dys[i]/dx` for
/// each x, shaped like x.
///
/// `grad_ys` gives one cotangent per y, shaped like it (`None`: ones). An x
/// that the ys do not depend on gets zeros; an x given twice gets its
/// gradient in both places. With `create_graph` the sweep is itself recorded,
/// so the result can be differentiated again; without it nothing is
/// recorded and the results are constants.
///
/// Errors: `NotDifferentiable` for an x that does not require grad,
/// `InvalidArgument` for a `grad_ys` list of the wrong length, `Shape` for a
/// cotangent whose shape differs from its y's.
///
/// ```
/// use jac_core::{Tensor, grad, mul, sum};
/// // y = sum(x * x), dy/dx = 2x
/// let x = Tensor::from_vec(vec![1.0, -2.0, 3.0], &[3], true)?;
/// let y = sum(&mul(&x, &x)?, None, false)?;
/// let g = grad(&[y], &[x.clone()], None, true)?;
/// assert_eq!(g[0].to_vec(), vec![2.0, -4.0, 6.0]);
/// // Differentiate again: d/dx sum(2x) = 2.
/// let h = grad(&[sum(&g[0], None, false)?], &[x], None, false)?;
/// assert_eq!(h[0].to_vec(), vec![2.0, 2.0, 2.0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn grad(
    ys: &[Tensor],
    xs: &[Tensor],
    grad_ys: Option<&[Tensor]>,
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    let seeds = match grad_ys {
        None => ys
            .iter()
            .map(|y| Tensor::ones(y.shape()))
            .collect::<Result<_>>()?,
        Some(gs) => {
            check_cotangents(ys, gs, 0)?;
            gs.to_vec()
        }
    };
    if !create_graph {
        check_xs(xs)?;
        return crate::flat_sweep::grad_unrecorded(ys, xs, &seeds);
    }
    sweep(ys, xs, seeds, 0, create_graph)
}

pub(crate) fn check_xs(xs: &[Tensor]) -> Result<()> {
    for (j, x) in xs.iter().enumerate() {
        if !x.requires_grad() {
            return Err(Error::not_differentiable(format!(
                "xs[{j}]: expected a tensor that requires grad, got a constant of shape {}",
                fmt_shape(x.shape())
            )));
        }
    }
    Ok(())
}

/// `k` gradients of `ys` with respect to `xs` in one sweep: each
/// `grad_ys[i]` stacks `k` cotangents of `ys[i]` along a new leading axis
/// (shape `[k, ..ys[i].shape]`), and each result stacks the `k` gradients the
/// same way (shape `[k, ..x.shape]`). Row `r` of every result equals
/// [`grad`] with the row-`r` cotangents. Works with `create_graph` too.
///
/// This is how a lazy Jacobian evaluates a block of rows: every op's rule
/// carries the extra axis, so k matrix-vector products become one
/// matrix-matrix product.
///
/// Errors: as [`grad`], plus `Shape` when the cotangents disagree on `k` or
/// a cotangent is not `[k, ..y.shape]`.
///
/// ```
/// use jac_core::{Tensor, grad_stacked, sin};
/// // The full Jacobian of y = sin(x) in one sweep: k = 2 one-hot rows.
/// let x = Tensor::from_vec(vec![0.0, 1.0], &[2], true)?;
/// let y = sin(&x)?;
/// let eye = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2], false)?;
/// let j = grad_stacked(&[y], &[x], &[eye], false)?;
/// assert_eq!(j[0].shape(), &[2, 2]);
/// assert_eq!(j[0].to_vec(), vec![1.0, 0.0, 0.0, 1.0f64.cos()]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn grad_stacked(
    ys: &[Tensor],
    xs: &[Tensor],
    grad_ys: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    if ys.is_empty() {
        return Err(Error::invalid(
            "ys: grad_stacked needs at least one y (its cotangent gives k), got none",
        ));
    }
    check_cotangents(ys, grad_ys, 1)?;
    sweep(ys, xs, grad_ys.to_vec(), 1, create_graph)
}

/// Checks one cotangent per y, each `L ++ y.shape` with the same `L` of
/// `lead` axes.
fn check_cotangents(ys: &[Tensor], gs: &[Tensor], lead: usize) -> Result<()> {
    check_stacked(gs, ys, lead, &COTANGENTS)
}

/// The names the messages of [`check_stacked`] use for one kind of seed.
pub(crate) struct SeedNames {
    /// The seeds' argument (`grad_ys`) and the tensors' (`ys`).
    pub(crate) seeds: &'static str,
    pub(crate) of: &'static str,
    /// One seed and one tensor (`cotangent`, `y`).
    pub(crate) seed: &'static str,
    pub(crate) one: &'static str,
}

const COTANGENTS: SeedNames = SeedNames {
    seeds: "grad_ys",
    of: "ys",
    seed: "cotangent",
    one: "y",
};

/// Checks one seed per tensor of `of` (a cotangent per y, a tangent per x),
/// each `L ++ shape` of its tensor with the same `L` of `lead` axes.
///
/// Errors: `InvalidArgument` for a count that differs, `Shape` for a seed
/// of another shape or another `L` than the first's.
pub(crate) fn check_stacked(
    seeds: &[Tensor],
    of: &[Tensor],
    lead: usize,
    names: &SeedNames,
) -> Result<()> {
    let SeedNames {
        seeds: arg,
        of: of_arg,
        seed,
        one,
    } = *names;
    if seeds.len() != of.len() {
        return Err(Error::invalid(format!(
            "{arg}: expected one {seed} per {one} ({}), got {}",
            of.len(),
            seeds.len()
        )));
    }
    let mut stacked: Option<&[usize]> = None;
    for (i, (t, g)) in of.iter().zip(seeds).enumerate() {
        let fits = g.ndim() == t.ndim() + lead && &g.shape()[lead..] == t.shape();
        if !fits {
            let expected = if lead == 0 {
                fmt_shape(t.shape())
            } else {
                format!("[k, ..{}]", fmt_shape(t.shape()))
            };
            return Err(Error::shape(format!(
                "{arg}[{i}]: expected shape {expected} to match {of_arg}[{i}], got {}",
                fmt_shape(g.shape())
            )));
        }
        let l = &g.shape()[..lead];
        match stacked {
            Some(first) if first != l => {
                return Err(Error::shape(format!(
                    "{arg}[{i}]: stacks {} {seed}s, {arg}[0] stacks {}",
                    fmt_shape(l),
                    fmt_shape(first)
                )));
            }
            _ => stacked = Some(l),
        }
    }
    Ok(())
}

/// The sweep behind [`grad`] and [`grad_stacked`], on dense cotangents:
/// `seeds[i]` is the cotangent of `ys[i]` with `lead` stacked leading axes.
pub(crate) fn sweep(
    ys: &[Tensor],
    xs: &[Tensor],
    seeds: Vec<Tensor>,
    lead: usize,
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    let lead_shape: Vec<usize> = seeds
        .first()
        .map(|s| s.shape()[..lead].to_vec())
        .unwrap_or_else(|| vec![1; lead]);
    // The cotangents are constants unless the sweep is recorded: a recorded
    // one (requiring grad, or a comparison's mask) that a rule passes
    // straight through (y = x + c) would otherwise come back recorded.
    let seeds = seeds
        .into_iter()
        .map(|s| {
            Cot::Dense(if !create_graph && !s.is_unrecorded() {
                s.detach()
            } else {
                s
            })
        })
        .collect();
    sweep_cotangents(ys, xs, seeds, &lead_shape, create_graph)?
        .into_iter()
        .map(Cot::into_dense)
        .collect()
}

/// The sweep itself. Cotangents carry `lead_shape` stacked leading axes
/// (sparse ones: exactly one axis of k rows). A recorded sweep runs every
/// op's tensor-op VJP rule on dense cotangents; an unrecorded one uses the
/// faster paths (elementwise partials, sparse rules) where an op has them.
pub(crate) fn sweep_cotangents(
    ys: &[Tensor],
    xs: &[Tensor],
    seeds: Vec<Cot>,
    lead_shape: &[usize],
    create_graph: bool,
) -> Result<Vec<Cot>> {
    check_xs(xs)?;
    let lead = lead_shape.len();
    // With create_graph off, rules run without recording: results are
    // constants and the sweep leaves no graph behind.
    let _mode = GradMode::set(create_graph);

    let sub = Subgraph::collect(ys);
    let mut state: Vec<NodeState> = (0..sub.len()).map(|_| NodeState::default()).collect();
    let x_positions: Vec<Option<usize>> = xs.iter().map(|x| sub.position(x.id())).collect();
    for &p in x_positions.iter().flatten() {
        state[p].target = true;
    }
    // Ascending ids: a node reaches an x when it is one or an input does.
    for p in (0..sub.len()).rev() {
        state[p].reaches = state[p].target
            || sub
                .inputs_of(p)
                .iter()
                .any(|&q| q != OUTSIDE && state[q].reaches);
    }

    for (y, seed) in ys.iter().zip(seeds) {
        if let Some(p) = sub.position(y.id())
            && state[p].reaches
        {
            accumulate(&mut state[p].grad, seed)?;
        }
    }
    let mut needs_many = Vec::new();
    for (p, node) in sub.nodes.iter().enumerate() {
        if !state[p].reaches {
            continue;
        }
        let Some(g) = state[p].grad.take() else {
            continue;
        };
        let Some(recipe) = node.0.recipe.as_ref() else {
            if state[p].target {
                state[p].found = Some(g);
            }
            continue;
        };
        if state[p].target {
            state[p].found = Some(g.clone());
        }
        // An empty result contributes nothing to any operand (and a rule
        // might still form a lane-sized intermediate of its huge dims).
        if node.numel() == 0 {
            continue;
        }
        let input_positions = sub.inputs_of(p);
        let mut needs_few = [false; 4];
        let needs: &mut [bool] = if input_positions.len() <= needs_few.len() {
            &mut needs_few[..input_positions.len()]
        } else {
            needs_many.clear();
            needs_many.resize(input_positions.len(), false);
            &mut needs_many
        };
        for (need, &q) in needs.iter_mut().zip(input_positions) {
            *need = q != OUTSIDE && state[q].reaches;
        }
        if !needs.iter().any(|&n| n) {
            continue;
        }
        let cx = VjpContext {
            inputs: &recipe.inputs,
            output: node,
            lead_shape,
            lead,
            needs,
        };
        let input_grads = node_vjp(&*recipe.op, &cx, g, create_graph)?;
        check_rule_arity(recipe.op.name(), input_grads.len(), recipe.inputs.len())?;
        for ((input, grad), &q) in recipe.inputs.iter().zip(input_grads).zip(input_positions) {
            if let Some(grad) = grad
                && q != OUTSIDE
                && state[q].reaches
            {
                let grad = match grad {
                    Cot::Dense(t) => Cot::Dense(sum_to(t, lead, input.shape())?),
                    sparse => sparse,
                };
                accumulate(&mut state[q].grad, grad)?;
            }
        }
    }
    // Each x takes its gradient; an x given twice gets a copy for every
    // place but the last.
    let mut results = Vec::with_capacity(xs.len());
    for (k, (x, p)) in xs.iter().zip(&x_positions).enumerate() {
        let again = x_positions[k + 1..].contains(p);
        let grad = match p.map(|p| &mut state[p].found) {
            Some(slot @ Some(_)) if again => slot.clone(),
            Some(slot @ Some(_)) => slot.take(),
            _ => None,
        };
        results.push(match grad {
            Some(g) => g,
            None => {
                let mut shape = lead_shape.to_vec();
                shape.extend_from_slice(x.shape());
                Cot::Dense(Tensor::zeros(&shape)?)
            }
        });
    }
    Ok(results)
}

/// A VJP rule returns exactly one gradient (or `None`) per input: zipping a
/// shorter list against the inputs would silently drop gradients.
pub(crate) fn check_rule_arity(op: &str, grads: usize, inputs: usize) -> Result<()> {
    if grads != inputs {
        return Err(Error::internal(format!(
            "{op}: the VJP rule returned {grads} gradients for {inputs} inputs"
        )));
    }
    Ok(())
}

/// What the sweep knows of one node of the subgraph.
#[derive(Default)]
struct NodeState {
    /// One of the xs.
    target: bool,
    /// Some path from it reaches an x.
    reaches: bool,
    /// Its cotangent, accumulating until the sweep visits it.
    grad: Option<Cot>,
    /// For an x: its complete gradient.
    found: Option<Cot>,
}

/// One node's VJP: the fast unrecorded paths where the op has them, else
/// its tensor-op rule on a dense cotangent.
fn node_vjp(
    op: &dyn Op,
    cx: &VjpContext<'_>,
    g: Cot,
    create_graph: bool,
) -> Result<Vec<Option<Cot>>> {
    if !create_graph {
        let g = match elementwise_vjp(op, cx, g)? {
            Ok(grads) => return Ok(grads),
            Err(g) => g,
        };
        if let Cot::Sparse(s) = &g
            && let Some(grads) = op.vjp_sparse(cx, s)
        {
            return grads;
        }
        return dense_vjp(op, cx, g);
    }
    dense_vjp(op, cx, g)
}

fn dense_vjp(op: &dyn Op, cx: &VjpContext<'_>, g: Cot) -> Result<Vec<Option<Cot>>> {
    let dense = g.into_dense()?;
    Ok(op
        .vjp(cx, &dense)?
        .into_iter()
        .map(|grad| grad.map(Cot::Dense))
        .collect())
}

/// The VJP of an elementwise op from its partials, one pass per input and
/// no temporaries; the cotangent back (`Err`) when the op is not
/// elementwise (an op answers for all its inputs alike, so the first
/// needed input decides). The last needed input takes over the cotangent,
/// and with it its buffer when nothing else holds it.
fn elementwise_vjp(
    op: &dyn Op,
    cx: &VjpContext<'_>,
    g: Cot,
) -> Result<std::result::Result<Vec<Option<Cot>>, Cot>> {
    let last = cx.needs.iter().rposition(|&n| n);
    let out = cx.output.shape();
    let mut g = Some(g);
    let mut grads = Vec::with_capacity(cx.inputs.len());
    for (i, input) in cx.inputs.iter().enumerate() {
        if !cx.needs(i) {
            grads.push(None);
            continue;
        }
        let cot = g
            .as_ref()
            .ok_or_else(|| Error::internal("elementwise cotangent used after its last input"))?;
        // Few sparse entries: the partial at their positions only.
        let at = match cot {
            Cot::Sparse(s) if s.positions.len() < cx.output.numel() => Some(&s.positions[..]),
            _ => None,
        };
        let partial = match op.partial(i, cx.inputs, cx.output.value(), at) {
            Some(partial) => partial?,
            None if grads.iter().all(Option::is_none) => {
                return g
                    .take()
                    .map(Err)
                    .ok_or_else(|| Error::internal("elementwise cotangent missing"));
            }
            None => return Err(Error::internal("an op gave partials for some inputs only")),
        };
        let cot = if Some(i) == last { g.take() } else { g.clone() }
            .ok_or_else(|| Error::internal("elementwise cotangent used after its last input"))?;
        grads.push(Some(through_partial(
            cot,
            &partial,
            out,
            input.shape(),
            cx.lead,
        )?));
    }
    Ok(Ok(grads))
}

/// Adds `g` into a node's gradient: the first contribution moves in; later
/// ones are added (in place where the buffer is not shared).
fn accumulate(slot: &mut Option<Cot>, g: Cot) -> Result<()> {
    *slot = Some(match slot.take() {
        None => g,
        Some(acc) => acc.plus(g)?,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, ArrayViewD};

    use super::*;
    use crate::error::ErrorKind;
    use crate::ops::apply;

    /// A two-input op whose VJP rule forgets its second input.
    #[derive(Debug)]
    struct ForgetsAnInput;

    impl Op for ForgetsAnInput {
        fn name(&self) -> &'static str {
            "forgets_an_input"
        }

        fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
            Ok(&x[0] + &x[1])
        }

        fn vjp(&self, _cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
            Ok(vec![Some(g.clone())])
        }

        /// Wrong as well: a tangent that does not broadcast to the output.
        fn jvp(&self, _cx: &crate::ops::JvpContext<'_>, _t: &[Option<Tensor>]) -> Result<Tensor> {
            Tensor::zeros(&[3])
        }
    }

    #[test]
    fn a_jvp_rule_of_the_wrong_shape_is_an_internal_error_naming_the_op() {
        let a = Tensor::from_vec(vec![1.0, 2.0], &[2], true).unwrap();
        let y = apply(ForgetsAnInput, vec![a.clone(), a.clone()]).unwrap();
        let u = Tensor::from_vec(vec![1.0, 1.0], &[2], false).unwrap();
        let err = crate::jvp(&[y], &[a], &[u], false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
        assert!(
            err.message()
                .contains("forgets_an_input: its JVP gave shape [3]"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_with_too_few_gradients_is_an_internal_error_not_a_truncation() {
        let a = Tensor::from_vec(vec![1.0, 2.0], &[2], true).unwrap();
        let b = Tensor::from_vec(vec![3.0, 4.0], &[2], true).unwrap();
        let y = apply(ForgetsAnInput, vec![a.clone(), b.clone()]).unwrap();
        for create_graph in [false, true] {
            let err = grad(
                std::slice::from_ref(&y),
                &[a.clone(), b.clone()],
                None,
                create_graph,
            )
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
            assert!(
                err.message().contains("forgets_an_input")
                    && err.message().contains("1 gradients for 2 inputs"),
                "{err}"
            );
        }
    }
}
