//! The forward sweep: [`jvp`] and its vectorized form [`jvp_stacked`].
//!
//! One sweep visits, in ascending id order (a topological order), the nodes
//! that require grad, are reachable from the ys, and depend on some x, and
//! runs each op's JVP rule on its inputs' tangents. It reads the same
//! subgraph the reverse sweep does and never mutates the graph. Every rule's
//! output is broadcast to its node's shape here, in one place, and each
//! tangent is dropped as soon as its last consumer has run.

use crate::backward::{SeedNames, check_stacked, check_xs};
use crate::error::{Error, Result, fmt_shape};
use crate::graph::{GradMode, OUTSIDE, Subgraph};
use crate::ops::{JvpContext, add, broadcast_to};
use crate::tensor::Tensor;

/// Tangents of `ys` along the direction `tangents` of `xs`: for each y, the
/// sum over j of `d y / d xs[j] . tangents[j]`, shaped like y (a
/// Jacobian-vector product, forward mode).
///
/// One tangent per x, shaped like it. A y that no x reaches gets zeros. An
/// x that depends on another x gets its own tangent plus what flows into it
/// (so `<v, jvp(u)> = <grad(v), u>` for every v and u); an x given twice
/// gets both tangents. With `create_graph` the sweep is recorded, so the
/// result can be differentiated again (forward over reverse, forward over
/// forward); without it nothing is recorded and the results are constants.
///
/// Errors: `NotDifferentiable` for an x that does not require grad,
/// `InvalidArgument` for a tangent list of the wrong length, `Shape` for a
/// tangent shaped unlike its x.
///
/// ```
/// use jac_core::{Tensor, jvp, mul, sin};
/// // y = sin(x) * x: dy = (cos(x) x + sin(x)) dx, elementwise.
/// let x = Tensor::from_vec(vec![0.5, 1.0], &[2], true)?;
/// let y = mul(&sin(&x)?, &x)?;
/// let dx = Tensor::from_vec(vec![1.0, 2.0], &[2], false)?;
/// let dy = jvp(&[y], &[x], &[dx], false)?;
/// let d = |v: f64| v.cos() * v + v.sin();
/// assert!((dy[0].to_vec()[0] - d(0.5)).abs() < 1e-15);
/// assert!((dy[0].to_vec()[1] - 2.0 * d(1.0)).abs() < 1e-15);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn jvp(
    ys: &[Tensor],
    xs: &[Tensor],
    tangents: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    check_tangents(xs, tangents, 0)?;
    sweep(ys, xs, tangents, &[], create_graph)
}

/// `k` JVPs in one sweep: each `tangents[j]` stacks `k` tangents of `xs[j]`
/// along a new leading axis (`[k, ..xs[j].shape]`), and each result stacks
/// the `k` tangents of its y the same way (`[k, ..y.shape]`). Row `r` of
/// every result equals [`jvp`] with the row-`r` tangents. This is how a lazy
/// Jacobian evaluates a block of columns: k matrix-vector products become
/// one matrix-matrix product.
///
/// Errors: as [`jvp`], plus `Shape` when the tangents disagree on `k`, and
/// `InvalidArgument` when there is no x (nothing gives `k`).
///
/// ```
/// use jac_core::{Tensor, jvp_stacked, sin};
/// // The full Jacobian of y = sin(x), one column per row of the identity.
/// let x = Tensor::from_vec(vec![0.0, 1.0], &[2], true)?;
/// let y = sin(&x)?;
/// let eye = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2], false)?;
/// let columns = jvp_stacked(&[y], &[x], &[eye], false)?;
/// assert_eq!(columns[0].to_vec(), vec![1.0, 0.0, 0.0, 1.0f64.cos()]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn jvp_stacked(
    ys: &[Tensor],
    xs: &[Tensor],
    tangents: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    let Some(first) = tangents.first() else {
        return Err(Error::invalid(
            "tangents: jvp_stacked needs at least one x (its tangent gives k), got none",
        ));
    };
    check_tangents(xs, tangents, 1)?;
    let lead_shape = first.shape()[..1].to_vec();
    sweep(ys, xs, tangents, &lead_shape, create_graph)
}

/// One tangent per x, each `L ++ x.shape` with the same `L` of `lead`
/// axes, and every x differentiable.
fn check_tangents(xs: &[Tensor], tangents: &[Tensor], lead: usize) -> Result<()> {
    const TANGENTS: SeedNames = SeedNames {
        seeds: "tangents",
        of: "xs",
        seed: "tangent",
        one: "x",
    };
    check_stacked(tangents, xs, lead, &TANGENTS)?;
    check_xs(xs)
}

/// The sweep behind [`jvp`] and [`jvp_stacked`]: `tangents[j]` is
/// `lead_shape ++ xs[j].shape`.
pub(crate) fn sweep(
    ys: &[Tensor],
    xs: &[Tensor],
    tangents: &[Tensor],
    lead_shape: &[usize],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    // Unrecorded: the given tangents are constants too, or a rule passing
    // one straight through would hand back a recorded tensor (one that
    // requires grad, or a comparison's mask, which is recorded without).
    let _mode = GradMode::set(create_graph);
    let seed = |t: &Tensor| {
        if !create_graph && !t.is_unrecorded() {
            t.detach()
        } else {
            t.clone()
        }
    };
    let sub = Subgraph::collect(ys);
    let n = sub.len();
    let mut given: Vec<Option<Tensor>> = vec![None; n];
    for (x, t) in xs.iter().zip(tangents) {
        if let Some(p) = sub.position(x.id()) {
            given[p] = Some(match given[p].take() {
                None => seed(t),
                Some(before) => add(&before, &seed(t))?,
            });
        }
    }
    // Ascending ids (positions descending): a node depends on an x when it
    // is one or an input does; its tangent is needed until its last
    // consumer (or for good, for a y).
    let mut depends: Vec<bool> = given.iter().map(Option::is_some).collect();
    let mut consumers = vec![0usize; n];
    for p in (0..n).rev() {
        let inputs = sub.inputs_of(p);
        if inputs.iter().any(|&q| q != OUTSIDE && depends[q]) {
            depends[p] = true;
            for &q in inputs.iter().filter(|&&q| q != OUTSIDE && depends[q]) {
                consumers[q] += 1;
            }
        }
    }
    let mut kept = vec![false; n];
    for y in ys {
        if let Some(p) = sub.position(y.id()) {
            kept[p] = true;
        }
    }

    let mut tangent: Vec<Option<Tensor>> = vec![None; n];
    let mut from_inputs: Vec<Option<Tensor>> = Vec::new();
    for p in (0..n).rev() {
        if !depends[p] {
            continue;
        }
        let node = sub.nodes[p];
        let inputs = sub.inputs_of(p);
        let mut flow = None;
        if let Some(recipe) = node.0.recipe.as_ref()
            && inputs.iter().any(|&q| q != OUTSIDE && depends[q])
        {
            from_inputs.clear();
            from_inputs.extend(inputs.iter().map(|&q| match q {
                OUTSIDE => None,
                q => tangent[q].clone(),
            }));
            let cx = JvpContext {
                inputs: &recipe.inputs,
                output: node,
                lead_shape,
            };
            let mut full = lead_shape.to_vec();
            full.extend_from_slice(node.shape());
            // An empty result has an empty tangent (its rule might still
            // form a lane-sized intermediate of its huge dims).
            let t = if node.numel() == 0 {
                Tensor::zeros(&full)?
            } else {
                recipe.op.jvp(&cx, &from_inputs)?
            };
            flow = Some(if t.shape() == full.as_slice() {
                t
            } else {
                broadcast_to(&t, &full).map_err(|e| {
                    Error::internal(format!(
                        "{}: its JVP gave shape {}, which does not broadcast to {}: {e}",
                        recipe.op.name(),
                        fmt_shape(t.shape()),
                        fmt_shape(&full)
                    ))
                })?
            });
            for &q in inputs.iter().filter(|&&q| q != OUTSIDE && depends[q]) {
                consumers[q] -= 1;
                if consumers[q] == 0 && !kept[q] {
                    tangent[q] = None;
                }
            }
        }
        tangent[p] = match (flow, given[p].take()) {
            (Some(f), Some(g)) => Some(add(&f, &g)?),
            (f, g) => f.or(g),
        };
    }

    ys.iter()
        .map(|y| {
            match sub
                .position(y.id())
                .and_then(|p| tangent.get(p).cloned().flatten())
            {
                Some(t) => Ok(t),
                None => {
                    let mut shape = lead_shape.to_vec();
                    shape.extend_from_slice(y.shape());
                    Tensor::zeros(&shape)
                }
            }
        })
        .collect()
}
