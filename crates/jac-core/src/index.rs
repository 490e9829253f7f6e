//! Index normalisation with Python/numpy semantics, on its own so the rules
//! are tested in one table.
//!
//! An index is a list of [`Index`] items applied to the leading axes of a
//! shape: an integer picks one position and drops its axis (negative counts
//! from the end; out of range is an error), a slice keeps its axis (omitted
//! bounds, negative bounds, out-of-range bounds clamp, any non-zero step), `:`
//! keeps the whole axis, and one `...` stands for as many `:` as needed.
//! Axes the index does not reach are kept whole.
//!
//! Where PaddlePaddle 3.x deviates from numpy, libjac follows numpy:
//! Paddle returns everything for `J[0:0]` (numpy: empty), raises on empty or
//! reversed row slices such as `J[3:1]` or `J[::-1]` (numpy: empty or
//! reversed), returns an empty result for `J[:, ::-1]` (numpy: reversed
//! columns), wraps integers below `-size` (numpy: error), rejects `...`
//! (numpy: all axes) and accepts more indices than axes in some cases (numpy:
//! error).

use crate::error::{Error, Result, fmt_shape};

/// One item of an index, as in `J[i, a:b:c, ..., :]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// `:`, the whole axis.
    All,
    /// One position; the axis is dropped. Negative counts from the end.
    Int(i64),
    /// `start:stop:step` with Python semantics; `None` is an omitted bound.
    Slice {
        /// First position (`None`: the start for a positive step, the end
        /// for a negative one).
        start: Option<i64>,
        /// One past the last position, exclusive (`None`: to the end in the
        /// step's direction).
        stop: Option<i64>,
        /// The stride; must not be 0.
        step: i64,
    },
    /// `...`: as many `:` as the other items leave; at most one.
    Ellipsis,
}

impl Index {
    /// `start:stop` with step 1.
    pub fn range(start: i64, stop: i64) -> Index {
        Index::Slice {
            start: Some(start),
            stop: Some(stop),
            step: 1,
        }
    }
}

/// What an index keeps of one axis: the positions `start + k * step` for
/// `k` in `0..len` (a slice or `:`), or one position with the axis dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisSelection {
    /// An integer index: one position, axis dropped.
    Position(usize),
    /// A slice: `len` positions from `start` by `step`.
    Range {
        /// The first position (meaningless when `len` is 0).
        start: usize,
        /// The stride between positions; never 0.
        step: isize,
        /// How many positions.
        len: usize,
    },
}

impl AxisSelection {
    /// The positions selected, in order.
    pub fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        let (start, step, len) = match *self {
            AxisSelection::Position(p) => (p, 0, 1),
            AxisSelection::Range { start, step, len } => (start, step, len),
        };
        (0..len).map(move |k| (start as isize + k as isize * step) as usize)
    }

    /// How many positions.
    pub fn len(&self) -> usize {
        match *self {
            AxisSelection::Position(_) => 1,
            AxisSelection::Range { len, .. } => len,
        }
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where position `p` of the axis lands in the selection, if selected
    /// (the first place, should a selection repeat positions; slices never
    /// do).
    pub fn index_of(&self, p: usize) -> Option<usize> {
        match *self {
            AxisSelection::Position(q) => (q == p).then_some(0),
            AxisSelection::Range { start, step, len } => {
                let offset = p as isize - start as isize;
                if offset % step != 0 {
                    return None;
                }
                let k = offset / step;
                (k >= 0 && (k as usize) < len).then_some(k as usize)
            }
        }
    }

    /// Whether the axis stays in the result.
    pub fn keeps_axis(&self) -> bool {
        matches!(self, AxisSelection::Range { .. })
    }
}

/// A normalised index: one [`AxisSelection`] per axis of the indexed shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    axes: Vec<AxisSelection>,
}

impl Selection {
    /// The selection of each axis.
    pub fn axes(&self) -> &[AxisSelection] {
        &self.axes
    }

    /// The shape of the result: the lengths of kept axes.
    pub fn shape(&self) -> Vec<usize> {
        self.axes
            .iter()
            .filter(|a| a.keeps_axis())
            .map(AxisSelection::len)
            .collect()
    }

    /// The number of elements of the result.
    pub fn numel(&self) -> usize {
        self.axes.iter().map(AxisSelection::len).product()
    }
}

/// Python's `slice(start, stop, step).indices(len)`: the first position, the
/// step and the count. Bounds clamp; `step` 0 is an `InvalidArgument`.
pub fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
    len: usize,
    arg: &str,
) -> Result<(usize, isize, usize)> {
    if step == 0 {
        return Err(Error::invalid(format!("{arg}: slice step must not be 0")));
    }
    // i128 keeps every intermediate exact, even for i64::MIN bounds and steps.
    let n = len as i128;
    let step = i128::from(step);
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let clamp = |bound: Option<i64>, default: i128| match bound {
        None => default,
        Some(b) => {
            let b = i128::from(b);
            if b < 0 {
                (b + n).max(lower)
            } else {
                b.min(upper)
            }
        }
    };
    let first = clamp(start, if step > 0 { lower } else { upper });
    let end = clamp(stop, if step > 0 { upper } else { lower });
    let count = if step > 0 && end > first {
        (end - first - 1) / step + 1
    } else if step < 0 && first > end {
        (first - end - 1) / (-step) + 1
    } else {
        0
    };
    let step = isize::try_from(step.clamp(-n.max(1), n.max(1))).unwrap_or(1);
    // An empty selection reports start 0, so its start is always a position.
    let first = if count == 0 { 0 } else { first as usize };
    Ok((first, step, count as usize))
}

/// Normalises `index` against `shape` with numpy's rules.
///
/// Errors (`Index`): more than one `...`, more indices than axes, an integer
/// out of range; (`InvalidArgument`): a slice step of 0.
///
/// ```
/// use jac_core::index::{Index, normalize};
/// let sel = normalize(&[Index::Int(-1), Index::Ellipsis], &[4, 3])?;
/// assert_eq!(sel.shape(), vec![3]);
/// let sel = normalize(&[Index::Slice { start: None, stop: None, step: -2 }], &[5])?;
/// assert_eq!(sel.axes()[0].positions().collect::<Vec<_>>(), vec![4, 2, 0]);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub fn normalize(index: &[Index], shape: &[usize]) -> Result<Selection> {
    let ellipses = index.iter().filter(|i| **i == Index::Ellipsis).count();
    if ellipses > 1 {
        return Err(Error::index(format!(
            "index: at most one '...' is allowed, got {ellipses}"
        )));
    }
    let explicit = index.len() - ellipses;
    if explicit > shape.len() {
        return Err(Error::index(format!(
            "index: too many indices for a block of shape {} ({} axes), got {explicit}",
            fmt_shape(shape),
            shape.len()
        )));
    }
    let mut axes = Vec::with_capacity(shape.len());
    for item in index {
        if *item == Index::Ellipsis {
            let fill = shape.len() - explicit;
            for _ in 0..fill {
                let len = shape[axes.len()];
                axes.push(full(len));
            }
            continue;
        }
        let axis = axes.len();
        let len = shape[axis];
        axes.push(match *item {
            Index::All | Index::Ellipsis => full(len),
            Index::Int(i) => AxisSelection::Position(position(i, len, axis)?),
            Index::Slice { start, stop, step } => {
                let arg = format!("index[{axis}]");
                let (start, step, len) = slice_indices(start, stop, step, len, &arg)?;
                AxisSelection::Range { start, step, len }
            }
        });
    }
    while axes.len() < shape.len() {
        let len = shape[axes.len()];
        axes.push(full(len));
    }
    Ok(Selection { axes })
}

fn full(len: usize) -> AxisSelection {
    AxisSelection::Range {
        start: 0,
        step: 1,
        len,
    }
}

/// An integer index resolved against an axis of `len`.
fn position(i: i64, len: usize, axis: usize) -> Result<usize> {
    let n = len as i128;
    let p = if i < 0 {
        i128::from(i) + n
    } else {
        i128::from(i)
    };
    if (0..n).contains(&p) {
        Ok(p as usize)
    } else {
        Err(Error::index(format!(
            "index[{axis}]: index {i} is out of range for an axis of size {len} (expected -{len} <= i < {len})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: Option<i64>, stop: Option<i64>, step: i64) -> Index {
        Index::Slice { start, stop, step }
    }

    /// Python's `list(range(len))[start:stop:step]`, written independently of
    /// `slice_indices` by walking every position.
    fn python_slice(start: Option<i64>, stop: Option<i64>, step: i64, len: usize) -> Vec<usize> {
        let n = len as i64;
        let norm = |b: i64| if b < 0 { b + n } else { b };
        let mut out = Vec::new();
        if step > 0 {
            let lo = start.map_or(0, |b| norm(b).clamp(0, n));
            let hi = stop.map_or(n, |b| norm(b).clamp(0, n));
            let mut k = lo;
            while k < hi {
                out.push(k as usize);
                k += step;
            }
        } else {
            let hi = start.map_or(n - 1, |b| norm(b).clamp(-1, n - 1));
            let lo = stop.map_or(-1, |b| norm(b).clamp(-1, n - 1));
            let mut k = hi;
            while k > lo {
                out.push(k as usize);
                k += step;
            }
        }
        out
    }

    #[test]
    fn slices_match_python_over_a_grid() {
        let bounds = [
            None,
            Some(-9),
            Some(-5),
            Some(-4),
            Some(-1),
            Some(0),
            Some(1),
            Some(3),
            Some(4),
            Some(5),
            Some(9),
        ];
        for len in 0..=5usize {
            for &start in &bounds {
                for &stop in &bounds {
                    for step in [-3, -2, -1, 1, 2, 3] {
                        let sel = normalize(&[s(start, stop, step)], &[len]).unwrap();
                        let got: Vec<usize> = sel.axes()[0].positions().collect();
                        let want = python_slice(start, stop, step, len);
                        assert_eq!(got, want, "[{start:?}:{stop:?}:{step}] of {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn table_of_indices_and_shapes() {
        // (index, shape, expected result shape)
        let cases: Vec<(Vec<Index>, Vec<usize>, Vec<usize>)> = vec![
            (vec![], vec![3, 4], vec![3, 4]),
            (vec![Index::All], vec![3, 4], vec![3, 4]),
            (vec![Index::Int(1)], vec![3, 4], vec![4]),
            (vec![Index::Int(-1), Index::Int(-4)], vec![3, 4], vec![]),
            (vec![Index::All, Index::Int(2)], vec![3, 4], vec![3]),
            (vec![Index::Ellipsis], vec![3, 4], vec![3, 4]),
            (vec![Index::Ellipsis, Index::Int(0)], vec![3, 4], vec![3]),
            (
                vec![Index::Int(0), Index::Ellipsis],
                vec![2, 3, 4],
                vec![3, 4],
            ),
            (
                vec![Index::Int(0), Index::Ellipsis, Index::Int(1)],
                vec![2, 3, 4],
                vec![3],
            ),
            (vec![Index::Ellipsis], vec![], vec![]),
            (vec![], vec![], vec![]),
            (vec![Index::range(1, 4)], vec![6, 2], vec![3, 2]),
            (vec![Index::range(0, 0)], vec![6, 2], vec![0, 2]),
            (vec![Index::range(3, 1)], vec![6], vec![0]),
            (vec![Index::range(1, 100)], vec![4], vec![3]),
            (vec![s(None, None, -1)], vec![5, 2], vec![5, 2]),
            (vec![Index::All, s(None, None, -1)], vec![5, 2], vec![5, 2]),
            (
                vec![s(None, None, 2), Index::Ellipsis],
                vec![5, 2, 3],
                vec![3, 2, 3],
            ),
        ];
        for (index, shape, want) in cases {
            let sel = normalize(&index, &shape).unwrap();
            assert_eq!(sel.shape(), want, "{index:?} on {shape:?}");
            assert_eq!(
                sel.numel(),
                sel.axes().iter().map(|a| a.len()).product::<usize>()
            );
        }
    }

    #[test]
    fn index_of_inverts_positions() {
        for sel in [
            AxisSelection::Position(3),
            AxisSelection::Range {
                start: 1,
                step: 2,
                len: 3,
            },
            AxisSelection::Range {
                start: 6,
                step: -3,
                len: 3,
            },
            AxisSelection::Range {
                start: 0,
                step: 1,
                len: 0,
            },
        ] {
            let positions: Vec<usize> = sel.positions().collect();
            for p in 0..10 {
                assert_eq!(
                    sel.index_of(p),
                    positions.iter().position(|&q| q == p),
                    "{sel:?} {p}"
                );
            }
        }
    }

    #[test]
    fn integers_resolve_and_negative_ones_count_from_the_end() {
        let sel = normalize(&[Index::Int(-1), Index::Int(2)], &[4, 3]).unwrap();
        assert_eq!(
            sel.axes(),
            &[AxisSelection::Position(3), AxisSelection::Position(2)]
        );
        let sel = normalize(&[Index::Int(-4)], &[4]).unwrap();
        assert_eq!(sel.axes(), &[AxisSelection::Position(0)]);
    }

    #[test]
    fn table_of_errors() {
        use crate::error::ErrorKind::{Index as I, InvalidArgument as V};
        let cases: Vec<(Vec<Index>, Vec<usize>, crate::error::ErrorKind, &str)> = vec![
            (vec![Index::Int(4)], vec![4], I, "index 4 is out of range"),
            // Paddle wraps -5 on a size-4 axis; numpy (and libjac) refuse.
            (vec![Index::Int(-5)], vec![4], I, "index -5 is out of range"),
            (vec![Index::Int(i64::MIN)], vec![4], I, "out of range"),
            (vec![Index::Int(i64::MAX)], vec![4], I, "out of range"),
            (vec![Index::All], vec![], I, "too many indices"),
            (vec![Index::Int(0)], vec![], I, "too many indices"),
            (
                vec![Index::Int(1), Index::Int(1), Index::Int(1)],
                vec![3, 2],
                I,
                "too many indices",
            ),
            (
                vec![Index::Ellipsis, Index::Ellipsis],
                vec![3, 2],
                I,
                "at most one '...'",
            ),
            (vec![s(None, None, 0)], vec![3], V, "step must not be 0"),
            (
                vec![Index::Int(0), Index::Int(9)],
                vec![3, 2],
                I,
                "index[1]",
            ),
        ];
        for (index, shape, kind, text) in cases {
            let err = normalize(&index, &shape).unwrap_err();
            assert_eq!(err.kind(), kind, "{index:?} on {shape:?}");
            assert!(
                err.message().contains(text),
                "{index:?} on {shape:?}: {:?} lacks {text:?}",
                err.message()
            );
        }
    }

    #[test]
    fn extreme_slice_bounds_and_steps_do_not_overflow() {
        let sel = normalize(&[s(Some(i64::MIN), Some(i64::MAX), i64::MAX)], &[5]).unwrap();
        assert_eq!(sel.axes()[0].positions().collect::<Vec<_>>(), vec![0]);
        let sel = normalize(&[s(Some(i64::MAX), Some(i64::MIN), i64::MIN)], &[5]).unwrap();
        assert_eq!(sel.axes()[0].positions().collect::<Vec<_>>(), vec![4]);
        let sel = normalize(&[s(None, None, i64::MIN + 1)], &[5]).unwrap();
        assert_eq!(sel.axes()[0].positions().collect::<Vec<_>>(), vec![4]);
    }
}
