//! Greedy colourings of a sparsity pattern, and how each recovers the
//! entries from the compressed products.
//!
//! - Columns (forward sweeps): a distance-2 colouring of the columns in the
//!   bipartite row/column graph, i.e. no two columns of one colour share a
//!   row. `J s_c`, with `s_c` the sum of the columns of colour `c`, then
//!   holds `J[r, j]` at row `r` for the one column `j` of colour `c` that
//!   row `r` has. Rows (reverse sweeps) are the same on the transpose.
//! - Symmetric (Hessian-vector products): a star colouring of the adjacency
//!   graph of the off-diagonal pattern (adjacent vertices differ, and no
//!   path on four vertices has only two colours), with direct recovery: for
//!   an entry `(i, j)`, either `j` is the only neighbour of `i` of its
//!   colour, and `H[i, j] = (H s_c(j))[i]`, or the same holds with `i` and
//!   `j` exchanged (a star colouring guarantees one of the two). An arrow
//!   (one full row and column and the diagonal) needs two colours, where a
//!   column colouring needs one per column.
//!
//! Vertices are visited largest-first (by nonzeros, ties in natural
//! order), as ColPack's `LARGEST_FIRST` ordering; each takes the smallest
//! colour its constraints allow. Rows or columns with no nonzero take no
//! colour.

use crate::error::{Error, Result};

/// The colour of a row or column with no nonzero.
pub(crate) const NONE: u32 = u32::MAX;

/// A colouring: one colour per vertex (or [`NONE`]) and the count.
#[derive(Debug, Clone)]
pub(crate) struct Coloring {
    pub(crate) colors: Vec<u32>,
    pub(crate) count: usize,
}

/// Vertices with a nonzero, by `degree` descending (ties: natural order).
fn largest_first(degree: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..degree.len()).filter(|&v| degree[v] > 0).collect();
    order.sort_by_key(|&v| std::cmp::Reverse(degree[v]));
    order
}

/// The smallest colour whose stamp is not `v`, growing the stamps.
fn smallest_free(forbidden: &mut Vec<usize>, v: usize) -> u32 {
    let c = forbidden
        .iter()
        .position(|&stamp| stamp != v)
        .unwrap_or(forbidden.len());
    if c == forbidden.len() {
        forbidden.push(usize::MAX);
    }
    c as u32
}

/// The transpose of a pattern given by rows: for each of `n_cols` columns,
/// its rows.
pub(crate) fn transpose(rows: &[Vec<u32>], n_cols: usize) -> Vec<Vec<u32>> {
    let mut cols = vec![Vec::new(); n_cols];
    for (r, row) in rows.iter().enumerate() {
        for &c in row {
            cols[c as usize].push(r as u32);
        }
    }
    cols
}

/// A distance-2 colouring of the columns of the pattern `rows` (each row's
/// sorted columns) with `n_cols` columns: no two columns of one colour
/// share a row.
pub(crate) fn color_columns(rows: &[Vec<u32>], n_cols: usize) -> Coloring {
    let cols = transpose(rows, n_cols);
    let degree: Vec<usize> = cols.iter().map(Vec::len).collect();
    let mut colors = vec![NONE; n_cols];
    // forbidden[c] == v: colour c is taken near the column v being coloured.
    let mut forbidden: Vec<usize> = Vec::new();
    for v in largest_first(&degree) {
        for &r in &cols[v] {
            for &w in &rows[r as usize] {
                let c = colors[w as usize];
                if c != NONE {
                    forbidden[c as usize] = v;
                }
            }
        }
        colors[v] = smallest_free(&mut forbidden, v);
    }
    Coloring {
        colors,
        count: forbidden.len(),
    }
}

/// A star colouring of the symmetric pattern `rows` (each row's sorted
/// columns, both triangles; the diagonal is ignored for the constraints).
pub(crate) fn color_star(rows: &[Vec<u32>]) -> Coloring {
    let n = rows.len();
    let adj: Vec<Vec<u32>> = rows
        .iter()
        .enumerate()
        .map(|(v, row)| row.iter().copied().filter(|&w| w as usize != v).collect())
        .collect();
    let degree: Vec<usize> = rows.iter().map(Vec::len).collect();
    let mut colors = vec![NONE; n];
    let mut forbidden: Vec<usize> = Vec::new();
    for v in largest_first(&degree) {
        for &w in &adj[v] {
            let cw = colors[w as usize];
            if cw != NONE {
                forbidden[cw as usize] = v;
            }
            for &x in &adj[w as usize] {
                let cx = colors[x as usize];
                if x as usize == v || cx == NONE {
                    continue;
                }
                if cw == NONE {
                    // v and x, two neighbours of a vertex not coloured yet,
                    // must differ: a path through it would otherwise have
                    // two colours whatever it gets.
                    forbidden[cx as usize] = v;
                } else if adj[x as usize]
                    .iter()
                    .any(|&y| y != w && colors[y as usize] == cw)
                {
                    // v-w-x-y would have two colours with v coloured as x.
                    forbidden[cx as usize] = v;
                }
            }
        }
        colors[v] = smallest_free(&mut forbidden, v);
    }
    Coloring {
        colors,
        count: forbidden.len(),
    }
}

/// Where each entry of a column-coloured pattern is in the compressed
/// products `J S` (stored colour by colour, `n_rows` each): entry `(r, j)`
/// at `colors[j] * n_rows + r`, entries in the order of `rows`.
pub(crate) fn recover_columns(rows: &[Vec<u32>], coloring: &Coloring) -> Vec<usize> {
    let n_rows = rows.len();
    rows.iter()
        .enumerate()
        .flat_map(|(r, row)| {
            row.iter()
                .map(move |&j| coloring.colors[j as usize] as usize * n_rows + r)
        })
        .collect()
}

/// As [`recover_columns`] for a row colouring: the compressed products
/// `S^T J` hold `n_cols` values per colour, entry `(r, j)` at
/// `colors[r] * n_cols + j`.
pub(crate) fn recover_rows(rows: &[Vec<u32>], n_cols: usize, coloring: &Coloring) -> Vec<usize> {
    rows.iter()
        .enumerate()
        .flat_map(|(r, row)| {
            let c = coloring.colors[r] as usize;
            row.iter().map(move |&j| c * n_cols + j as usize)
        })
        .collect()
}

/// Where each entry of a star-coloured symmetric pattern is in the
/// compressed products `H S` (colour by colour, `n` each), in the order of
/// `rows`.
///
/// Errors: `Internal` if the colouring is not a star colouring (an entry
/// neither end recovers).
pub(crate) fn recover_star(rows: &[Vec<u32>], coloring: &Coloring) -> Result<Vec<usize>> {
    let n = rows.len();
    let colors = &coloring.colors;
    // Per vertex, how many of its neighbours (the diagonal apart) have
    // each colour, sorted by colour: a hub's entries are then recovered in
    // a lookup each, not a walk of its row each.
    let per_color: Vec<Vec<(u32, usize)>> = rows
        .iter()
        .enumerate()
        .map(|(v, row)| {
            let mut seen: Vec<u32> = row
                .iter()
                .filter(|&&w| w as usize != v)
                .map(|&w| colors[w as usize])
                .collect();
            seen.sort_unstable();
            let mut runs: Vec<(u32, usize)> = Vec::new();
            for c in seen {
                match runs.last_mut() {
                    Some((last, k)) if *last == c => *k += 1,
                    _ => runs.push((c, 1)),
                }
            }
            runs
        })
        .collect();
    let count = |v: usize, c: u32| {
        let runs = &per_color[v];
        runs.binary_search_by_key(&c, |&(c, _)| c)
            .map_or(0, |k| runs[k].1)
    };
    let mut at = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for &j in row {
            let j = j as usize;
            let (ci, cj) = (colors[i], colors[j]);
            at.push(if i == j || count(i, cj) == 1 {
                cj as usize * n + i
            } else if count(j, ci) == 1 {
                ci as usize * n + j
            } else {
                return Err(Error::internal(format!(
                    "sparse Hessian: entry ({i}, {j}) is recovered by neither end"
                )));
            });
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tridiagonal(n: usize) -> Vec<Vec<u32>> {
        (0..n)
            .map(|i| {
                (i.saturating_sub(1)..(i + 2).min(n))
                    .map(|j| j as u32)
                    .collect()
            })
            .collect()
    }

    /// No two columns of one colour share a row.
    fn check_columns(rows: &[Vec<u32>], c: &Coloring) {
        for row in rows {
            let mut seen: Vec<u32> = row.iter().map(|&j| c.colors[j as usize]).collect();
            seen.sort_unstable();
            let len = seen.len();
            seen.dedup();
            assert_eq!(seen.len(), len, "a row sees one colour twice");
        }
    }

    #[test]
    fn a_diagonal_takes_one_colour_and_a_tridiagonal_three() {
        let diagonal: Vec<Vec<u32>> = (0..7).map(|i| vec![i]).collect();
        let c = color_columns(&diagonal, 7);
        assert_eq!(c.count, 1);
        let t = tridiagonal(10);
        let c = color_columns(&t, 10);
        check_columns(&t, &c);
        assert_eq!(c.count, 3);
        let s = color_star(&t);
        assert_eq!(s.count, 3);
        recover_star(&t, &s).unwrap();
    }

    #[test]
    fn an_arrow_takes_two_star_colours() {
        let n = 9;
        let arrow: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                if i == 0 {
                    (0..n as u32).collect()
                } else {
                    vec![0, i as u32]
                }
            })
            .collect();
        let s = color_star(&arrow);
        assert_eq!(s.count, 2);
        let at = recover_star(&arrow, &s).unwrap();
        assert_eq!(at.len(), 3 * n - 2);
        // The same pattern by columns needs one colour per column.
        assert_eq!(color_columns(&arrow, n).count, n);
    }

    /// Random symmetric patterns: the colouring is a star colouring
    /// (adjacent vertices differ; no path on four vertices has two
    /// colours), checked by brute force, and every entry is recovered.
    #[test]
    fn random_patterns_get_star_colourings() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let n = 2 + (next() % 9) as usize;
            let mut rows = vec![Vec::new(); n];
            for i in 0..n {
                for j in i..n {
                    if next() % 3 == 0 {
                        rows[i].push(j as u32);
                        if i != j {
                            rows[j].push(i as u32);
                        }
                    }
                }
            }
            rows.iter_mut().for_each(|r| r.sort_unstable());
            let c = color_star(&rows);
            let col = |v: u32| c.colors[v as usize];
            let adjacent = |a: u32, b: u32| a != b && rows[a as usize].contains(&b);
            for a in 0..n as u32 {
                for b in (0..n as u32).filter(|&b| adjacent(a, b)) {
                    assert_ne!(col(a), col(b), "{rows:?}: adjacent {a}, {b}");
                    for cc in (0..n as u32).filter(|&x| x != a && adjacent(b, x)) {
                        for d in (0..n as u32).filter(|&x| x != a && x != b && adjacent(cc, x)) {
                            assert!(
                                !(col(a) == col(cc) && col(b) == col(d)),
                                "{rows:?}: path {a}-{b}-{cc}-{d} has two colours"
                            );
                        }
                    }
                }
            }
            let at = recover_star(&rows, &c).unwrap();
            assert_eq!(at.len(), rows.iter().map(Vec::len).sum::<usize>());
        }
    }

    #[test]
    fn empty_rows_and_columns_take_no_colour() {
        let rows = vec![vec![], vec![2], vec![]];
        let c = color_columns(&rows, 3);
        assert_eq!(c.colors, [NONE, NONE, 0]);
        assert_eq!(c.count, 1);
        assert_eq!(color_columns(&[vec![], vec![]], 4).count, 0);
    }
}
