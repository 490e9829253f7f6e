//! What one op tells the pattern detection: which operand elements each
//! output element depends on, and which of those dependencies its second
//! derivative couples ([`Structure`], returned by `Op::structure`).
//!
//! The rules are structural: they hold at every point, so a dependence that
//! only vanishes at some values (the other branch of a `relu`, the lanes of
//! a `max` that are not the maximum) is kept, while a derivative that is
//! zero everywhere (a comparison) contributes nothing.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::cotangent::BroadcastMap;
use crate::error::{Error, Result};
use crate::ops::Op;
use crate::ops::elementwise::{Algebra, Derivative};

/// One operand element an output element depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dep {
    /// The operand's position among the op's inputs.
    pub(crate) operand: u32,
    /// The element's flat (row-major) position in that operand.
    pub(crate) element: usize,
}

/// Which dependencies of one output element its second derivative couples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Curvature {
    /// None: the op is linear, or piecewise linear (relu, abs, max, where,
    /// clamp), whose second derivative is zero almost everywhere.
    Linear,
    /// For each `(i, j)`: every dependency on operand `i` with every one on
    /// operand `j` (`(0, 0)`: a nonlinear function of one operand; `(0, 1)`:
    /// a product).
    Among(Vec<(u32, u32)>),
    /// The dependencies come in pairs `(a, b)`, each pair a product term
    /// (a matrix product: `c_ij = sum_k a_ik b_kj` couples `a_ik` with
    /// `b_kj` only).
    Products,
}

/// An op's structure at given operand and output shapes.
#[derive(Debug)]
pub(crate) enum Structure {
    /// The conservative rule, for ops without a precise one: every output
    /// element depends on every element of every operand, and the second
    /// derivative couples them all.
    Dense,
    /// Output element `e` depends on `deps[offsets[e]..offsets[e + 1]]`.
    Map {
        offsets: Vec<usize>,
        deps: Vec<Dep>,
        curvature: Curvature,
    },
}

impl Structure {
    /// The dependencies of output element `e` (`None` for [`Structure::Dense`]).
    pub(crate) fn deps_of(&self, e: usize) -> Option<&[Dep]> {
        match self {
            Structure::Dense => None,
            Structure::Map { offsets, deps, .. } => Some(&deps[offsets[e]..offsets[e + 1]]),
        }
    }

    /// An elementwise op: each output element depends on the element at its
    /// broadcast position in each of the operands `which`.
    pub(crate) fn elementwise(
        operands: &[&[usize]],
        output: &[usize],
        which: &[u32],
        curvature: Curvature,
    ) -> Result<Structure> {
        let n = numel(output)?;
        let maps = which
            .iter()
            .map(|&k| {
                let shape = operands
                    .get(k as usize)
                    .ok_or_else(|| Error::internal("structure: no such operand"))?;
                if shape.len() > output.len() {
                    return Err(Error::internal("structure: an operand has more axes"));
                }
                Ok((k, BroadcastMap::new(output, shape)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut offsets = Vec::with_capacity(n + 1);
        let mut deps = Vec::with_capacity(n * maps.len());
        offsets.push(0);
        for e in 0..n {
            for (k, map) in &maps {
                deps.push(Dep {
                    operand: *k,
                    element: map.map(e),
                });
            }
            offsets.push(deps.len());
        }
        Ok(Structure::Map {
            offsets,
            deps,
            curvature,
        })
    }

    /// An op that only moves values (reshape, transpose, slice, concat,
    /// stack, broadcast): its own forward rule run on operands whose values
    /// name their elements tells where each output element comes from (an
    /// output element that comes from nowhere, such as padding, depends on
    /// nothing). Linear.
    pub(crate) fn moved(op: &dyn Op, operands: &[&[usize]], output: &[usize]) -> Result<Structure> {
        // Element e of operand k is named by its position after every
        // element of operands before k, plus one: 0 is "nowhere".
        let mut starts = Vec::with_capacity(operands.len() + 1);
        let mut total = 0usize;
        let mut named = Vec::with_capacity(operands.len());
        for shape in operands {
            starts.push(total);
            let n = numel(shape)?;
            let values: Vec<f64> = (0..n).map(|e| (total + e + 1) as f64).collect();
            total += n;
            named.push(
                ArrayD::from_shape_vec(IxDyn(shape), values)
                    .map_err(|e| Error::internal(format!("structure: {e}")))?,
            );
        }
        if total >= 1 << 52 {
            return Err(Error::out_of_memory(
                "structure: too many elements to name exactly",
            ));
        }
        starts.push(total);
        let views: Vec<ArrayViewD<'_, f64>> = named.iter().map(|a| a.view()).collect();
        let out = op.forward(&views)?;
        if out.shape() != output {
            return Err(Error::internal(format!(
                "structure: {} gave shape {:?} where {:?} was recorded",
                op.name(),
                out.shape(),
                output
            )));
        }
        let mut offsets = Vec::with_capacity(out.len() + 1);
        let mut deps = Vec::with_capacity(out.len());
        offsets.push(0);
        for &v in out.iter() {
            if v >= 1.0 {
                let id = v as usize - 1;
                let k = starts.partition_point(|&s| s <= id) - 1;
                deps.push(Dep {
                    operand: k as u32,
                    element: id - starts[k],
                });
            }
            offsets.push(deps.len());
        }
        Ok(Structure::Map {
            offsets,
            deps,
            curvature: Curvature::Linear,
        })
    }

    /// A reduction of operand 0 (shape `input`) over `axes`: each output
    /// element depends on every element of its lane (for max too: which
    /// element is the maximum changes with the point). Linear.
    pub(crate) fn reduced(input: &[usize], axes: &[usize], output: &[usize]) -> Result<Structure> {
        Structure::reduced_with(input, axes, output, Curvature::Linear)
    }

    /// [`Structure::reduced`] with the given curvature (a nonlinear
    /// reduction, such as logsumexp: `Among(vec![(0, 0)])`).
    pub(crate) fn reduced_with(
        input: &[usize],
        axes: &[usize],
        output: &[usize],
        curvature: Curvature,
    ) -> Result<Structure> {
        let n_out = numel(output)?;
        let (lane, n_lanes) = lanes(input, axes)?;
        if n_lanes != n_out {
            return Err(Error::internal("structure: a reduction's shapes disagree"));
        }
        let pairs: Vec<(usize, usize)> = lane.iter().enumerate().map(|(e, &l)| (l, e)).collect();
        Structure::from_pairs(n_out, &pairs, curvature)
    }

    /// An op whose output has its operand's shape, each output element
    /// depending on every element of its lane along `axes` (softmax).
    pub(crate) fn within_lanes(
        shape: &[usize],
        axes: &[usize],
        curvature: Curvature,
    ) -> Result<Structure> {
        let (lane, n_lanes) = lanes(shape, axes)?;
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_lanes];
        for (e, &l) in lane.iter().enumerate() {
            members[l].push(e);
        }
        let mut pairs = Vec::new();
        for (e, &l) in lane.iter().enumerate() {
            pairs.extend(members[l].iter().map(|&m| (e, m)));
        }
        Structure::from_pairs(lane.len(), &pairs, curvature)
    }

    /// Output element `o` depends on operand 0's element `i` for every
    /// `(o, i)` of `pairs` (any order; each output's dependencies come out
    /// in the order given).
    pub(crate) fn from_pairs(
        n_out: usize,
        pairs: &[(usize, usize)],
        curvature: Curvature,
    ) -> Result<Structure> {
        let mut offsets = vec![0usize; n_out + 1];
        for &(o, _) in pairs {
            let count = offsets
                .get_mut(o + 1)
                .ok_or_else(|| Error::internal("structure: a pair past the output's end"))?;
            *count += 1;
        }
        for e in 0..n_out {
            offsets[e + 1] += offsets[e];
        }
        let mut fill = offsets.clone();
        let mut deps = vec![
            Dep {
                operand: 0,
                element: 0
            };
            pairs.len()
        ];
        for &(o, i) in pairs {
            deps[fill[o]] = Dep {
                operand: 0,
                element: i,
            };
            fill[o] += 1;
        }
        Ok(Structure::Map {
            offsets,
            deps,
            curvature,
        })
    }
}

/// The lane of every element of `shape` along `axes` (its position with
/// those axes dropped, row-major), and the number of lanes.
fn lanes(shape: &[usize], axes: &[usize]) -> Result<(Vec<usize>, usize)> {
    let kept: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(k, &d)| if axes.contains(&k) { 1 } else { d })
        .collect();
    let to = BroadcastMap::new(shape, &kept);
    Ok((
        (0..numel(shape)?).map(|e| to.map(e)).collect(),
        numel(&kept)?,
    ))
}

fn numel(shape: &[usize]) -> Result<usize> {
    crate::ops::numel(shape)
        .ok_or_else(|| Error::out_of_memory("structure: more elements than memory holds"))
}

/// What a derivative expression uses, evaluated in [`Algebra`]: bit `k` for
/// operand `k` (0 and 1) and [`Uses::OUTPUT`] for the op's output. A
/// derivative that uses nothing is constant (almost everywhere: a step, a
/// sign), so the op is linear in that operand; one that uses an operand
/// couples it in the second derivative. The same statement of the
/// derivative that the sweeps evaluate tells, so no op states its
/// curvature twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uses(pub(crate) u8);

impl Uses {
    pub(crate) const OUTPUT: Uses = Uses(4);

    pub(crate) fn operand(k: u32) -> Uses {
        Uses(1 << k)
    }

    fn or(self, other: &Uses) -> Uses {
        Uses(self.0 | other.0)
    }

    /// The operands (of `n`) that a derivative using `self` depends on: the
    /// output depends on every operand.
    fn operands(self, n: u32) -> impl Iterator<Item = u32> {
        (0..n).filter(move |&k| self.0 & (1 << k) != 0 || self.0 & Uses::OUTPUT.0 != 0)
    }
}

impl Algebra for Uses {
    fn neg(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn mul(&self, other: &Uses) -> Result<Uses> {
        Ok(self.or(other))
    }
    fn div(&self, other: &Uses) -> Result<Uses> {
        Ok(self.or(other))
    }
    fn recip(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn scale(&self, _s: f64) -> Result<Uses> {
        Ok(*self)
    }
    fn add_scalar(&self, _s: f64) -> Result<Uses> {
        Ok(*self)
    }
    fn square(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn powf(&self, _p: f64) -> Result<Uses> {
        Ok(*self)
    }
    fn sin(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn cos(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn sigmoid(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn exp(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn log(&self) -> Result<Uses> {
        Ok(*self)
    }
    fn add(&self, other: &Uses) -> Result<Uses> {
        Ok(self.or(other))
    }
    fn pow(&self, e: &Uses) -> Result<Uses> {
        Ok(self.or(e))
    }
    fn piecewise(&self, _f: impl Fn(f64) -> f64) -> Result<Uses> {
        Ok(Uses(0))
    }
    fn piecewise2(&self, _other: &Uses, _f: impl Fn(f64, f64) -> f64) -> Result<Uses> {
        Ok(Uses(0))
    }
    fn keep_where(&self, _keep: &Uses) -> Result<Uses> {
        Ok(*self)
    }
}

/// The curvature of an elementwise op of `n` operands whose derivative with
/// respect to operand `i` is `derivative(i)`, evaluated on [`Uses`]: the
/// pair `(i, j)` for every operand `j` that derivative uses.
pub(crate) fn curvature_of(
    n: u32,
    derivative: impl Fn(u32) -> Result<Derivative<Uses>>,
) -> Curvature {
    let mut pairs = Vec::new();
    for i in 0..n {
        // A statement that cannot be evaluated couples everything.
        let uses = match derivative(i) {
            Ok(Derivative::Constant(_)) => Uses(0),
            Ok(Derivative::Varying(u)) => u,
            Err(_) => Uses(u8::MAX),
        };
        pairs.extend(uses.operands(n).map(|j| (i, j)));
    }
    if pairs.is_empty() {
        Curvature::Linear
    } else {
        Curvature::Among(pairs)
    }
}
