//! The unrecorded reverse sweep of one cotangent over the graph, on flat
//! buffers: how [`crate::grad`] without `create_graph` runs.
//!
//! It visits the same nodes in the same order as the general sweep
//! (`backward.rs`), but keeps every cotangent in one arena of numbers
//! instead of a tensor per node, and runs the ops' flat kernels
//! ([`Flat`], the same ones a recorded [`crate::Function`] replays: one
//! statement of each derivative) straight on the nodes' values; a node
//! whose op has none runs its graph rule on constant tensors and adds the
//! result in. A slice's cotangent is added into the sliced positions only.

use ndarray::{ArrayD, IxDyn, Zip};

use crate::alloc::{checked_numel, try_filled_vec};
use crate::backward::check_rule_arity;
use crate::broadcast::sum_to;
use crate::error::{Error, Result};
use crate::graph::{GradMode, OUTSIDE, Subgraph};
use crate::ops::VjpContext;
use crate::tensor::Tensor;

/// `sum_i seeds[i] . d ys[i] / d x` for every x, as [`crate::grad`] without
/// `create_graph` (the xs already checked to require grad, the seeds to
/// have their ys' shapes).
pub(crate) fn grad_unrecorded(
    ys: &[Tensor],
    xs: &[Tensor],
    seeds: &[Tensor],
) -> Result<Vec<Tensor>> {
    let _unrecorded = GradMode::set(false);
    let sub = Subgraph::collect(ys);
    let n = sub.len();
    let mut target = vec![false; n];
    let x_positions: Vec<Option<usize>> = xs.iter().map(|x| sub.position(x.id())).collect();
    for &p in x_positions.iter().flatten() {
        target[p] = true;
    }
    // Positions ascend as ids descend: a node's inputs come after it.
    let mut reaches = target.clone();
    for p in (0..n).rev() {
        reaches[p] = reaches[p] || sub.inputs_of(p).iter().any(|&q| q != OUTSIDE && reaches[q]);
    }
    // One span of the arena per node that reaches an x.
    let mut start = vec![usize::MAX; n];
    let mut total = 0usize;
    for p in 0..n {
        if reaches[p] {
            start[p] = total;
            let len = checked_numel(sub.nodes[p].shape(), "grad")?;
            total = total
                .checked_add(len)
                .ok_or_else(|| Error::out_of_memory("grad: more cotangents than memory holds"))?;
        }
    }
    let mut cots = try_filled_vec(total, 0.0, "grad")?;
    let mut touched = vec![false; n];
    let span = |p: usize| start[p]..start[p] + sub.nodes[p].numel();

    for (y, seed) in ys.iter().zip(seeds) {
        if let Some(p) = sub.position(y.id())
            && reaches[p]
        {
            let acc = cots.get_mut(span(p)).ok_or_else(order)?;
            acc.iter_mut()
                .zip(seed.value().iter())
                .for_each(|(a, &s)| *a += s);
            touched[p] = true;
        }
    }

    for (p, node) in sub.nodes.iter().enumerate() {
        // An empty result contributes nothing (its rule might still form
        // a lane-sized intermediate of its huge dims).
        if !touched[p] || node.numel() == 0 {
            continue;
        }
        let Some(recipe) = node.0.recipe.as_ref() else {
            continue;
        };
        let inputs = sub.inputs_of(p);
        if !inputs.iter().any(|&q| q != OUTSIDE && reaches[q]) {
            continue;
        }
        // Inputs' spans come after this node's.
        let (head, tail) = cots.split_at_mut(span(p).end.min(total));
        let g = head.get(span(p)).ok_or_else(order)?;
        let offset = span(p).end;
        let needed = |q: usize| q != OUTSIDE && reaches[q];
        let y = node.value();
        let kernel = recipe
            .op
            .flat()
            .filter(|k| k.applies(&mut recipe.inputs.iter().map(Tensor::shape), y.shape()));
        // The operands as slices only for an op with flat kernels, on the
        // stack for the usual one or two.
        let mut few: [&[f64]; 2] = [&[], &[]];
        let mut many: Option<Vec<&[f64]>> = None;
        let args: Option<&[&[f64]]> = match (kernel, &recipe.inputs[..]) {
            (None, _) => None,
            (Some(_), operands) if operands.len() <= few.len() => operands
                .iter()
                .zip(&mut few)
                .try_for_each(|(t, slot)| {
                    *slot = t.value().as_slice()?;
                    Some(())
                })
                .map(|()| &few[..operands.len()]),
            (Some(_), operands) => operands
                .iter()
                .map(|t| t.value().as_slice())
                .collect::<Option<Vec<_>>>()
                .map(|slices| many.insert(slices).as_slice()),
        };
        if let (Some(kernel), Some(args), Some(ys)) = (kernel, args, y.as_slice()) {
            for (k, &q) in inputs.iter().enumerate() {
                if needed(q) {
                    touched[q] = true;
                    kernel.vjp_flat(k, args, ys, g, within(tail, offset, span(q))?);
                }
            }
            continue;
        }
        // The op's in-place kernel, where it has one (products, elementwise
        // ops that broadcast)...
        let views: Vec<ndarray::ArrayViewD<'_, f64>> =
            recipe.inputs.iter().map(|t| t.value().view()).collect();
        let g_view = ndarray::ArrayViewD::from_shape(IxDyn(y.shape()), g)
            .map_err(|e| Error::internal(format!("grad: {e}")))?;
        let mut done = vec![false; inputs.len()];
        for ((input, &q), k) in recipe.inputs.iter().zip(inputs).zip(0..) {
            if !needed(q) {
                continue;
            }
            let acc = within(tail, offset, span(q))?;
            let mut acc = ndarray::ArrayViewMutD::from_shape(IxDyn(input.shape()), acc)
                .map_err(|e| Error::internal(format!("grad: {e}")))?;
            if let Some(result) = recipe.op.vjp_into(k, &views, &y.view(), &g_view, &mut acc) {
                result?;
                touched[q] = true;
                done[k] = true;
            }
        }
        if inputs.iter().zip(&done).all(|(&q, &d)| d || !needed(q)) {
            continue;
        }
        // ...else the graph rule, on constants, for the inputs left.
        let needs: Vec<bool> = inputs
            .iter()
            .zip(&done)
            .map(|(&q, &d)| needed(q) && !d)
            .collect();
        let g = Tensor::constant(
            ArrayD::from_shape_vec(IxDyn(y.shape()), g.to_vec())
                .map_err(|e| Error::internal(format!("grad: {e}")))?,
        );
        let cx = VjpContext {
            inputs: &recipe.inputs,
            output: node,
            lead_shape: &[],
            lead: 0,
            needs: &needs,
        };
        let grads = recipe.op.vjp(&cx, &g)?;
        check_rule_arity(recipe.op.name(), grads.len(), recipe.inputs.len())?;
        for (((input, grad), &q), &need) in recipe.inputs.iter().zip(grads).zip(inputs).zip(&needs)
        {
            if let Some(grad) = grad
                && need
            {
                touched[q] = true;
                let acc = within(tail, offset, span(q))?;
                let grad = sum_to(grad, 0, input.shape())?;
                let mut acc = ndarray::ArrayViewMutD::from_shape(IxDyn(input.shape()), acc)
                    .map_err(|e| Error::internal(format!("grad: {e}")))?;
                Zip::from(&mut acc)
                    .and(grad.value())
                    .for_each(|a, &v| *a += v);
            }
        }
    }

    xs.iter()
        .zip(&x_positions)
        .map(|(x, p)| match p {
            Some(p) if touched[*p] => {
                let data = cots.get(span(*p)).ok_or_else(order)?;
                Tensor::from_slice(data, x.shape(), false)
            }
            _ => Tensor::zeros(x.shape()),
        })
        .collect()
}

/// The part `range` of the arena, of which `tail` is what starts at
/// `offset`.
fn within(tail: &mut [f64], offset: usize, range: std::ops::Range<usize>) -> Result<&mut [f64]> {
    let from = range.start.checked_sub(offset).ok_or_else(order)?;
    tail.get_mut(from..from + range.len()).ok_or_else(order)
}

fn order() -> Error {
    Error::internal("grad: a cotangent is not after its consumer's")
}
