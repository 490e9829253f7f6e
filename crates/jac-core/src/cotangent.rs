//! Cotangents as an unrecorded sweep carries them: dense tensors, or
//! stacked sparse rows.
//!
//! A Jacobian row is swept with a one-hot cotangent. Carried densely, that is
//! a `[k, ..S]` block of mostly zeros pushed through every op (a full matrix
//! product with an identity, k dense passes over a diagonal). Carried as
//! `k` rows of a few (position, value) entries, elementwise ops only scale
//! the values, a reshape keeps them, and a matrix product becomes a gather of
//! matrix rows. An op without a sparse rule gets the cotangent densified.
//!
//! Recorded sweeps (`create_graph`) never see any of this: they run the ops'
//! VJP rules on dense tensors, so what they record is ordinary graph.

use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn};

use crate::alloc::{check_alloc, checked_numel};
use crate::broadcast::{from_vec, sum_to};
use crate::error::{Error, Result, fmt_shape};
use crate::tensor::Tensor;

/// A cotangent during an unrecorded sweep.
#[derive(Clone)]
pub(crate) enum Cot {
    /// `L ++ S`, the shape of a recorded cotangent.
    Dense(Tensor),
    /// `k` stacked rows of a tensor of shape `S`, each with a few entries.
    Sparse(Sparse),
}

/// `k` stacked rows over a shape `S`, each holding exactly `per_row`
/// (position, value) entries; positions are flat row-major indices into `S`
/// and may repeat within a row (repeats add up).
#[derive(Clone, Debug)]
pub(crate) struct Sparse {
    pub(crate) k: usize,
    pub(crate) shape: IxDyn,
    pub(crate) per_row: usize,
    /// Shared: most ops keep the positions and only scale the values.
    pub(crate) positions: Arc<[usize]>,
    pub(crate) values: Vec<f64>,
}

/// Beyond this share of a row's elements a sparse row is densified: dense
/// kernels then do less work than scattered ones. Rows shorter than
/// `DENSE_MIN` stay sparse: either form is cheap, and converting is not.
const DENSE_SHARE: usize = 4;
const DENSE_MIN: usize = 256;

impl Sparse {
    /// The number of elements of one row (`S`'s numel).
    pub(crate) fn row_len(&self) -> usize {
        self.shape.size()
    }

    /// The entries of row `t`.
    pub(crate) fn row(&self, t: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = t * self.per_row..(t + 1) * self.per_row;
        self.positions[range.clone()]
            .iter()
            .copied()
            .zip(self.values[range].iter().copied())
    }

    /// Whether rows hold so many entries that a dense form is cheaper.
    fn crowded(&self) -> bool {
        let len = self.row_len();
        len >= DENSE_MIN && self.per_row.saturating_mul(DENSE_SHARE) > len
    }

    /// Adds row `t` into `out`, a dense row of `row_len` values.
    pub(crate) fn scatter_row(&self, t: usize, out: &mut [f64]) {
        for (p, v) in self.row(t) {
            out[p] += v;
        }
    }

    /// The dense `[k, ..S]` tensor.
    pub(crate) fn densify(&self) -> Result<Tensor> {
        let mut shape = vec![self.k];
        shape.extend_from_slice(self.shape.slice());
        check_alloc(&shape, "cotangent")?;
        let n = self.row_len();
        let mut data = crate::pool::zeros(n * self.k)?;
        for (t, row) in data.chunks_mut(n.max(1)).enumerate().take(self.k) {
            self.scatter_row(t, row);
        }
        Ok(Tensor::constant(from_vec(&shape, data)?))
    }

    /// The sum of two sparse cotangents of the same shape: values add where
    /// the positions agree (the usual case: both came from one seed), rows
    /// are concatenated otherwise.
    fn plus(mut self, other: &Sparse) -> Sparse {
        if Arc::ptr_eq(&self.positions, &other.positions) || self.positions == other.positions {
            for (a, b) in self.values.iter_mut().zip(&other.values) {
                *a += b;
            }
            return self;
        }
        let per_row = self.per_row + other.per_row;
        let mut positions = Vec::with_capacity(per_row * self.k);
        let mut values = Vec::with_capacity(per_row * self.k);
        for t in 0..self.k {
            for (p, v) in self.row(t).chain(other.row(t)) {
                positions.push(p);
                values.push(v);
            }
        }
        Sparse {
            per_row,
            positions: positions.into(),
            values,
            ..self
        }
    }
}

impl Cot {
    /// The dense form.
    pub(crate) fn into_dense(self) -> Result<Tensor> {
        match self {
            Cot::Dense(t) => Ok(t),
            Cot::Sparse(s) => s.densify(),
        }
    }

    /// Adds `other` to `self` (the accumulation of the sweep): in place when
    /// this cotangent's buffer is not shared.
    pub(crate) fn plus(self, other: Cot) -> Result<Cot> {
        Ok(match (self, other) {
            (Cot::Sparse(a), Cot::Sparse(b)) => {
                let sum = a.plus(&b);
                if sum.crowded() {
                    Cot::Dense(sum.densify()?)
                } else {
                    Cot::Sparse(sum)
                }
            }
            (Cot::Dense(d), Cot::Sparse(s)) | (Cot::Sparse(s), Cot::Dense(d)) => {
                let mut d = owned(d);
                scatter_into(&mut d, &s)?;
                Cot::Dense(d)
            }
            (Cot::Dense(a), Cot::Dense(b)) => Cot::Dense(add_dense(a, &b)?),
        })
    }
}

/// A tensor whose buffer this sweep may write: `t` itself when nothing else
/// holds it, else a copy.
fn owned(mut t: Tensor) -> Tensor {
    if t.is_unrecorded() && std::sync::Arc::get_mut(&mut t.0).is_some() {
        t
    } else {
        Tensor::constant(t.value().clone())
    }
}

fn scatter_into(d: &mut Tensor, s: &Sparse) -> Result<()> {
    let node = std::sync::Arc::get_mut(&mut d.0)
        .ok_or_else(|| Error::internal("cotangent buffer is shared"))?;
    let n = s.row_len();
    let value = &mut node.value;
    if !value.is_standard_layout() {
        *value = value.as_standard_layout().into_owned();
    }
    let data = value
        .as_slice_mut()
        .ok_or_else(|| Error::internal("cotangent is not contiguous"))?;
    if data.len() != n * s.k {
        return Err(Error::internal(format!(
            "adding a sparse cotangent of {} rows of {} to a dense one of {} values",
            s.k,
            fmt_shape(s.shape.slice()),
            data.len()
        )));
    }
    for t in 0..s.k {
        s.scatter_row(t, &mut data[t * n..(t + 1) * n]);
    }
    Ok(())
}

/// `a + b` for two dense cotangents, in `a`'s buffer when both are
/// unrecorded constants of one shape and nothing else holds `a`; recorded
/// ones are added with the op, so the sum is part of the graph.
fn add_dense(mut a: Tensor, b: &Tensor) -> Result<Tensor> {
    if a.shape() == b.shape()
        && a.is_unrecorded()
        && b.is_unrecorded()
        && let Some(node) = std::sync::Arc::get_mut(&mut a.0)
    {
        node.value += b.value();
        return Ok(a);
    }
    crate::ops::add(&a, b)
}

/// The local derivative of an elementwise op's output with respect to one
/// input, at every element of the output.
pub(crate) enum Partial {
    /// The same value everywhere (1 for add, -1 for sub, s for scale).
    Constant(f64),
    /// One value per output element (shape `S`).
    Array(ArrayD<f64>),
    /// One value per position asked for (a sparse cotangent's positions, in
    /// order): cheaper than the whole array when the rows are few.
    At(Vec<f64>),
}

/// Maps flat positions of shape `out` to flat positions of `input`, which
/// broadcasts to `out`.
pub(crate) struct BroadcastMap {
    /// Per axis of `out`: its length and the input's stride along it (0 where
    /// the input is broadcast).
    axes: Vec<(usize, usize)>,
}

impl BroadcastMap {
    pub(crate) fn new(out: &[usize], input: &[usize]) -> BroadcastMap {
        let offset = out.len() - input.len();
        let mut strides = vec![0; out.len()];
        let mut stride = 1;
        for d in (0..input.len()).rev() {
            if input[d] != 1 {
                strides[offset + d] = stride;
            }
            stride *= input[d];
        }
        BroadcastMap {
            axes: out.iter().copied().zip(strides).collect(),
        }
    }

    pub(crate) fn map(&self, mut flat: usize) -> usize {
        let mut pos = 0;
        for &(len, stride) in self.axes.iter().rev() {
            pos += (flat % len) * stride;
            flat /= len;
        }
        pos
    }
}

/// The gradient flowing to an input of shape `input` of an elementwise op
/// with output shape `out`, from the output's cotangent and the partial.
/// `lead` is the number of stacked axes of a dense cotangent.
pub(crate) fn through_partial(
    cot: Cot,
    partial: &Partial,
    out: &[usize],
    input: &[usize],
    lead: usize,
) -> Result<Cot> {
    match cot {
        Cot::Sparse(s) => {
            let mut values = s.values;
            match partial {
                Partial::Array(p) => {
                    let p = p
                        .as_slice()
                        .ok_or_else(|| Error::internal("partial is not contiguous"))?;
                    for (v, &pos) in values.iter_mut().zip(s.positions.iter()) {
                        *v *= p[pos];
                    }
                }
                Partial::At(at) => values.iter_mut().zip(at).for_each(|(v, &d)| *v *= d),
                Partial::Constant(c) if *c != 1.0 => values.iter_mut().for_each(|v| *v *= c),
                Partial::Constant(_) => {}
            }
            let positions = if input == out {
                Arc::clone(&s.positions)
            } else {
                let map = BroadcastMap::new(out, input);
                s.positions.iter().map(|&p| map.map(p)).collect()
            };
            Ok(Cot::Sparse(Sparse {
                k: s.k,
                shape: IxDyn(input),
                per_row: s.per_row,
                positions,
                values,
            }))
        }
        Cot::Dense(g) => {
            let scaled = match partial {
                Partial::Constant(c) if *c == 1.0 => g,
                Partial::Constant(c) => scale_rows(g, None, *c)?,
                Partial::Array(p) => scale_rows(g, Some(p), 1.0)?,
                Partial::At(_) => {
                    return Err(Error::internal(
                        "a dense cotangent got a partial at positions",
                    ));
                }
            };
            Ok(Cot::Dense(sum_to(scaled, lead, input)?))
        }
    }
}

/// The values of `t`, writable, when nothing else holds its buffer.
fn unique_data(t: &mut Tensor) -> Option<&mut [f64]> {
    std::sync::Arc::get_mut(&mut t.0).and_then(|node| node.value.as_slice_mut())
}

/// `g * p * c` with `p` (shape `S`) repeated over `g`'s stacked rows, in
/// `g`'s own buffer when nothing else holds it.
fn scale_rows(mut g: Tensor, p: Option<&ArrayD<f64>>, c: f64) -> Result<Tensor> {
    let p = match p {
        Some(p) => Some(
            p.as_slice()
                .ok_or_else(|| Error::internal("partial is not contiguous"))?,
        ),
        None => None,
    };
    let n = p.map_or(1, <[f64]>::len).max(1);
    let scale = |chunk: &mut [f64]| match p {
        Some(p) => chunk.iter_mut().zip(p).for_each(|(o, &d)| *o *= d * c),
        None => chunk.iter_mut().for_each(|o| *o *= c),
    };
    if g.is_unrecorded()
        && let Some(data) = unique_data(&mut g)
    {
        data.chunks_mut(n).for_each(scale);
        return Ok(g);
    }
    let value = g.value().as_standard_layout();
    let src = value
        .as_slice()
        .ok_or_else(|| Error::internal("cotangent is not contiguous"))?;
    let mut out = crate::pool::with_capacity(src.len())?;
    out.extend_from_slice(src);
    out.chunks_mut(n).for_each(scale);
    Ok(Tensor::constant(from_vec(g.shape(), out)?))
}

/// A one-hot seed for rows `rows` of `y`: row `t` has a 1 at row index
/// `rows[t]` of every sample (`per_row` samples, `stride` apart).
pub(crate) fn one_hot_rows(
    rows: &[usize],
    shape: &[usize],
    per_row: usize,
    stride: usize,
) -> Result<Sparse> {
    let total = checked_numel(&[rows.len(), per_row], "rows")?;
    crate::alloc::reserve(total.saturating_mul(2), &[rows.len(), per_row], "rows")?;
    let positions: Arc<[usize]> = rows
        .iter()
        .flat_map(|&r| (0..per_row).map(move |b| b * stride + r))
        .collect();
    Ok(Sparse {
        k: rows.len(),
        shape: IxDyn(shape),
        per_row,
        positions,
        values: vec![1.0; total],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_map_folds_broadcast_axes() {
        // out [2, 3], input [3]: position (i, j) -> j.
        let m = BroadcastMap::new(&[2, 3], &[3]);
        assert_eq!(
            (0..6).map(|p| m.map(p)).collect::<Vec<_>>(),
            vec![0, 1, 2, 0, 1, 2]
        );
        // out [2, 3], input [2, 1]: (i, j) -> i.
        let m = BroadcastMap::new(&[2, 3], &[2, 1]);
        assert_eq!(
            (0..6).map(|p| m.map(p)).collect::<Vec<_>>(),
            vec![0, 0, 0, 1, 1, 1]
        );
        // out [2, 3], input []: everything -> 0.
        let m = BroadcastMap::new(&[2, 3], &[]);
        assert!((0..6).all(|p| m.map(p) == 0));
    }

    #[test]
    fn sparse_sums_add_values_or_concatenate_rows() {
        let a = one_hot_rows(&[0, 2], &[3], 1, 3).unwrap();
        let b = one_hot_rows(&[0, 2], &[3], 1, 3).unwrap();
        let s = a.clone().plus(&b);
        assert_eq!(s.per_row, 1);
        assert_eq!(s.values, vec![2.0, 2.0]);
        let c = one_hot_rows(&[1, 1], &[3], 1, 3).unwrap();
        let s = a.plus(&c);
        assert_eq!(s.per_row, 2);
        let dense = s.densify().unwrap();
        assert_eq!(dense.to_vec(), vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn batched_one_hot_rows_mark_every_sample() {
        // y [B = 2, M = 3], rows 1 and 2.
        let s = one_hot_rows(&[1, 2], &[2, 3], 2, 3).unwrap();
        assert_eq!(
            s.densify().unwrap().to_vec(),
            vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
        );
    }
}
