//! The recorded graph: immutable nodes with monotonic ids.
//!
//! Every node gets its id from one global counter when it is created, and a
//! node's inputs exist before it does, so inputs always have smaller ids. A
//! descending id order over any set of nodes is therefore a valid reverse
//! topological order, with no recursive sort (a chain of 100,000 ops must not
//! overflow the stack) and no mutation of the graph (a lazy Jacobian sweeps
//! the same graph many times).

use std::cell::Cell;
use std::collections::{BinaryHeap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::ArrayD;

use crate::ops::Rule;
use crate::tensor::Tensor;

/// A node's identity: unique for the process lifetime, increasing in
/// creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl NodeId {
    fn fresh() -> NodeId {
        // Relaxed is enough: ids only need to be unique and to increase along
        // every happens-before chain (an op's inputs are created before it).
        NodeId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The raw number, for diagnostics.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// How a non-leaf node was made: the op (with its static attributes) and the
/// inputs it was applied to.
pub(crate) struct Recipe {
    /// Shared, so a recorded [`crate::Function`] replays the same rule.
    pub(crate) op: Rule,
    pub(crate) inputs: Inputs,
}

/// A recipe's inputs: one or two (most ops) held inline, more in a vector.
pub(crate) enum Inputs {
    One([Tensor; 1]),
    Two([Tensor; 2]),
    Many(Vec<Tensor>),
}

impl Default for Inputs {
    fn default() -> Inputs {
        Inputs::Many(Vec::new())
    }
}

impl std::ops::Deref for Inputs {
    type Target = [Tensor];

    fn deref(&self) -> &[Tensor] {
        match self {
            Inputs::One(ts) => ts,
            Inputs::Two(ts) => ts,
            Inputs::Many(ts) => ts,
        }
    }
}

impl From<Vec<Tensor>> for Inputs {
    fn from(ts: Vec<Tensor>) -> Inputs {
        Inputs::Many(ts)
    }
}

impl From<[Tensor; 1]> for Inputs {
    fn from(ts: [Tensor; 1]) -> Inputs {
        Inputs::One(ts)
    }
}

impl From<[Tensor; 2]> for Inputs {
    fn from(ts: [Tensor; 2]) -> Inputs {
        Inputs::Two(ts)
    }
}

impl Inputs {
    /// Hands every input, by value, to `f`.
    fn for_each(self, f: impl FnMut(Tensor)) {
        match self {
            Inputs::One(ts) => ts.into_iter().for_each(f),
            Inputs::Two(ts) => ts.into_iter().for_each(f),
            Inputs::Many(ts) => ts.into_iter().for_each(f),
        }
    }
}

/// One value in the graph.
pub(crate) struct Node {
    pub(crate) id: NodeId,
    pub(crate) value: ArrayD<f64>,
    pub(crate) requires_grad: bool,
    /// `None` for leaves and for results recorded while grad was off or from
    /// inputs that need no grad.
    pub(crate) recipe: Option<Recipe>,
    /// A rough cost of sweeping one row back from this node: its op's work
    /// plus its recorded inputs' (shared inputs count once per use, so it
    /// errs high). Decides whether a read is worth splitting across threads
    /// without walking the graph.
    pub(crate) work: usize,
}

impl Node {
    pub(crate) fn new(value: ArrayD<f64>, requires_grad: bool, recipe: Option<Recipe>) -> Node {
        let work = recipe.as_ref().map_or(0, |r| {
            r.inputs.iter().fold(r.op.work(&r.inputs, &value), |w, i| {
                w.saturating_add(i.0.work)
            })
        });
        Node {
            id: NodeId::fresh(),
            value,
            requires_grad,
            recipe,
            work,
        }
    }
}

impl Drop for Node {
    /// Unlinks the inputs iteratively: the default recursive drop of a long
    /// chain of `Arc<Node>` would overflow the stack.
    fn drop(&mut self) {
        // Large values go back to the pool for the next large output.
        if self.value.len() >= crate::pool::MIN_LEN {
            let (buffer, _) = std::mem::take(&mut self.value).into_raw_vec_and_offset();
            crate::pool::recycle(buffer);
        }
        let Some(recipe) = self.recipe.as_mut() else {
            return;
        };
        // Inputs others still hold only lose a count; the ones this node
        // held last are unlinked here, on a stack, instead of recursively.
        let mut stack: Vec<Tensor> = Vec::new();
        std::mem::take(&mut recipe.inputs).for_each(|tensor| {
            if Arc::strong_count(&tensor.0) == 1 {
                stack.push(tensor);
            }
        });
        while let Some(tensor) = stack.pop() {
            if let Some(mut node) = Arc::into_inner(tensor.0)
                && let Some(recipe) = node.recipe.as_mut()
            {
                std::mem::take(&mut recipe.inputs).for_each(|t| stack.push(t));
            }
        }
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops built on this thread record their inputs.
pub(crate) fn grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Sets whether ops record on this thread until the guard drops (also on
/// unwinding), then restores the previous mode.
pub(crate) struct GradMode {
    previous: bool,
}

impl GradMode {
    pub(crate) fn set(enabled: bool) -> GradMode {
        let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
        GradMode { previous }
    }
}

impl Drop for GradMode {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Hashes integers by multiplication, combining them as FxHash does: node
/// ids are already unique integers, and a recording's keys are a few of
/// them, so SipHash's protection buys nothing on these hot paths.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

pub(crate) type IdSet = HashSet<NodeId, BuildHasherDefault<IdHasher>>;

/// The part of the graph a sweep visits: the nodes that require grad and
/// are reachable from the roots through recorded inputs, in descending id
/// order (a reverse topological order), with each node's inputs resolved to
/// positions in that order once, so the sweep indexes vectors instead of
/// hashing ids.
pub(crate) struct Subgraph<'a> {
    /// Borrowed: the roots keep every node they reach alive, and nodes are
    /// immutable (no reference count is touched while collecting).
    pub(crate) nodes: Vec<&'a Tensor>,
    /// The nodes' ids, side by side: searching them reads no node.
    ids: Vec<NodeId>,
    /// Input positions of every node, node after node; `OUTSIDE` for an input
    /// that needs no grad.
    inputs: Vec<usize>,
    /// `inputs[offsets[p]..offsets[p + 1]]` are node `p`'s.
    offsets: Vec<usize>,
}

/// The position of an input that is not part of the subgraph.
pub(crate) const OUTSIDE: usize = usize::MAX;

/// A tensor ordered by its id, for the heap of [`Subgraph::collect`]; the
/// id is kept beside the pointer so that ordering the heap reads no node.
struct ById<'a>(NodeId, &'a Tensor);

impl<'a> ById<'a> {
    fn of(t: &'a Tensor) -> ById<'a> {
        ById(t.id(), t)
    }
}

impl PartialEq for ById<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for ById<'_> {}

impl PartialOrd for ById<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ById<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl<'a> Subgraph<'a> {
    /// Collects the subgraph iteratively (the depth of the graph does not
    /// touch the call stack) in descending id order: a max-heap of ids
    /// hands out every node after all of its consumers (they have larger
    /// ids), and the copies of a node pushed by several consumers come out
    /// one after another, so no set of visited nodes is needed. Leaves have
    /// no inputs to order: they skip the heap (a parameter used by every op
    /// of a long chain would fill it) and are sorted once and merged in.
    pub(crate) fn collect(roots: &'a [Tensor]) -> Subgraph<'a> {
        let mut interior: Vec<&'a Tensor> = Vec::with_capacity(16);
        let mut leaves: Vec<ById<'a>> = Vec::new();
        let mut heap: BinaryHeap<ById<'a>> = BinaryHeap::new();
        let mut push = |t: &'a Tensor, heap: &mut BinaryHeap<ById<'a>>| match (
            t.requires_grad(),
            t.0.recipe.is_some(),
        ) {
            (false, _) => {}
            (true, true) => heap.push(ById::of(t)),
            (true, false) => leaves.push(ById::of(t)),
        };
        roots.iter().for_each(|t| push(t, &mut heap));
        while let Some(ById(id, t)) = heap.pop() {
            if interior.last().is_some_and(|last| last.id() == id) {
                continue;
            }
            if let Some(recipe) = &t.0.recipe {
                recipe.inputs.iter().for_each(|i| push(i, &mut heap));
            }
            interior.push(t);
        }
        leaves.sort_unstable_by(|a, b| b.cmp(a));
        leaves.dedup_by_key(|l| l.0);
        let mut nodes: Vec<&'a Tensor> = Vec::with_capacity(interior.len() + leaves.len());
        let mut leaves = leaves.into_iter().peekable();
        for t in interior {
            while let Some(leaf) = leaves.next_if(|l| l.0 > t.id()) {
                nodes.push(leaf.1);
            }
            nodes.push(t);
        }
        nodes.extend(leaves.map(|l| l.1));
        let n = nodes.len();
        let ids = nodes.iter().map(|t| t.id()).collect();
        let mut sub = Subgraph {
            nodes,
            ids,
            inputs: Vec::with_capacity(2 * n),
            offsets: Vec::with_capacity(n + 1),
        };
        sub.offsets.push(0);
        for p in 0..sub.nodes.len() {
            if let Some(recipe) = &sub.nodes[p].0.recipe {
                for input in recipe.inputs.iter() {
                    let q = sub.position_after(p, input.id()).unwrap_or(OUTSIDE);
                    sub.inputs.push(q);
                }
            }
            sub.offsets.push(sub.inputs.len());
        }
        sub
    }

    /// The position of node `id` among those after `p` (an input of node
    /// `p`): searched outward from `p`, where inputs usually are.
    fn position_after(&self, p: usize, id: NodeId) -> Option<usize> {
        let tail = self.ids.get(p + 1..)?;
        let mut end = 1;
        while end < tail.len() && tail[end - 1] > id {
            end = (end * 2).min(tail.len());
        }
        let end = end.min(tail.len());
        tail[..end]
            .binary_search_by(|t| id.cmp(t))
            .ok()
            .map(|k| p + 1 + k)
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The position of node `id`, if it is part of the subgraph.
    pub(crate) fn position(&self, id: NodeId) -> Option<usize> {
        self.ids.binary_search_by(|t| id.cmp(t)).ok()
    }

    /// The positions of node `p`'s inputs (`OUTSIDE` for inputs that need
    /// no grad).
    pub(crate) fn inputs_of(&self, p: usize) -> &[usize] {
        &self.inputs[self.offsets[p]..self.offsets[p + 1]]
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::{add, mul, sin};
    use crate::tensor::Tensor;

    use super::Subgraph;

    /// Leaves skip the heap and are merged in: the order must still be
    /// descending ids, each node once, constants left out, and every
    /// input found where it is.
    #[test]
    fn leaves_used_by_many_ops_are_merged_into_descending_order_once() {
        let x = Tensor::from_vec(vec![0.5], &[1], true).unwrap();
        let c = Tensor::from_vec(vec![2.0], &[1], false).unwrap();
        let mut y = x.clone();
        let mut late = Vec::new();
        for k in 0..5 {
            // A leaf created between interior nodes, used twice.
            let w = Tensor::from_vec(vec![0.1 * f64::from(k)], &[1], true).unwrap();
            y = add(&mul(&sin(&y).unwrap(), &w).unwrap(), &x).unwrap();
            y = add(&mul(&y, &c).unwrap(), &w).unwrap();
            late.push(w);
        }
        let roots = [y];
        let sub = Subgraph::collect(&roots);
        let ids: Vec<u64> = sub.nodes.iter().map(|t| t.id().get()).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
        // 5 rounds of sin, mul, add, mul, add; x and the 5 w; not c.
        assert_eq!(sub.len(), 5 * 5 + 1 + 5);
        assert!(sub.position(c.id()).is_none());
        for w in late.iter().chain([&x]) {
            assert!(sub.position(w.id()).is_some());
        }
        for p in 0..sub.len() {
            let Some(recipe) = &sub.nodes[p].0.recipe else {
                continue;
            };
            for (input, &q) in recipe.inputs.iter().zip(sub.inputs_of(p)) {
                if input.requires_grad() {
                    assert_eq!(sub.nodes[q].id(), input.id());
                } else {
                    assert_eq!(q, super::OUTSIDE);
                }
            }
        }
    }
}
