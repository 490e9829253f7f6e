//! Sparse Jacobians and Hessians of a recorded program ([`crate::Function`]):
//! the structural pattern detected once on the program (valid at every
//! point), coloured, then evaluated at any point by one compressed sweep per
//! colour with the entries recovered in pattern order.
//!
//! - `structure.rs`: what each op says about itself (`Op::structure`);
//! - `pattern.rs`: the propagation of index sets through the program, and
//!   of the second derivative's couplings for Hessians;
//! - `coloring.rs`: the colourings and their recoveries;
//! - this file: [`Sparse`], the compressed evaluation.

mod coloring;
mod pattern;
mod structure;

pub(crate) use structure::{Curvature, Dep, Structure, Uses, curvature_of};

use crate::error::{Error, Result, fmt_shape};
use crate::function::{Buffers, Function, Pass};
use crate::tensor::Tensor;
use coloring::{Coloring, NONE};

/// How a [`Sparse`] evaluates: which compressed sweep it runs once per
/// colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Jacobian-vector products (forward sweeps), the columns coloured.
    Forward,
    /// Vector-Jacobian products (reverse sweeps), the rows coloured.
    Reverse,
    /// Hessian-vector products (forward over reverse), star-coloured.
    HessianVector,
}

/// A sparse Jacobian or Hessian of a [`Function`]: its structural pattern
/// (coordinates sorted by row, then column; a Hessian lists both
/// triangles), its colouring, and the function, to evaluate the entries at
/// any point with [`Sparse::eval_into`]. Made by
/// [`Function::sparse_jacobian`] or [`Function::sparse_hessian`].
///
/// The pattern is structural: an entry that is zero at some points (the
/// other branch of a relu, a max's lanes that are not the maximum) is
/// listed; one that is zero at every point is not. Immutable and
/// `Send + Sync`; it holds the function's program, not the `Function`.
pub struct Sparse {
    f: Function,
    sweep: Sweep,
    /// Output; input (Jacobians only).
    output: usize,
    input: usize,
    shape: (usize, usize),
    rows: Vec<usize>,
    cols: Vec<usize>,
    /// The colour of each column (forward), row (reverse) or vertex
    /// (Hessian), [`NONE`] where there is nothing.
    coloring: Coloring,
    /// Where each entry is in the compressed products.
    at: Vec<usize>,
}

impl std::fmt::Debug for Sparse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sparse")
            .field("sweep", &self.sweep)
            .field("shape", &self.shape)
            .field("nnz", &self.nnz())
            .field("colors", &self.colors())
            .finish()
    }
}

/// The coordinates of a pattern given by rows.
fn coordinates(rows: &[Vec<u32>]) -> (Vec<usize>, Vec<usize>) {
    let nnz = rows.iter().map(Vec::len).sum();
    let (mut r, mut c) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for (i, row) in rows.iter().enumerate() {
        for &j in row {
            r.push(i);
            c.push(j as usize);
        }
    }
    (r, c)
}

impl Function {
    /// The sparse Jacobian of output `output` with respect to input
    /// `input` (rows: the output's elements, row-major; columns: the
    /// input's): detects the structural pattern on the recorded program,
    /// colours it by columns (forward sweeps) and by rows (reverse sweeps),
    /// and keeps the direction with fewer colours (reverse on a tie).
    /// Nothing is evaluated until [`Sparse::eval_into`].
    ///
    /// Errors: `Index` for an output or an input past the last,
    /// `OutOfMemory`.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, mul, sin, slice, sub};
    /// // y_i = sin(x_i) * (x_{i+1} - x_i): two nonzeros per row.
    /// let x = Tensor::from_vec(vec![0.0; 5], &[5], true)?;
    /// let (lo, hi) = (slice(&x, 0, Some(0), Some(4), 1)?, slice(&x, 0, Some(1), None, 1)?);
    /// let y = mul(&sin(&lo)?, &sub(&hi, &lo)?)?;
    /// let f = Function::new(&[x], &[y])?;
    /// let j = f.sparse_jacobian(0, 0)?;
    /// assert_eq!(j.shape(), (4, 5));
    /// assert_eq!(j.pattern().0, [0, 0, 1, 1, 2, 2, 3, 3]);
    /// assert_eq!(j.pattern().1, [0, 1, 1, 2, 2, 3, 3, 4]);
    /// assert_eq!(j.colors(), 2);
    /// let mut values = vec![0.0; j.nnz()];
    /// j.eval_into(&[&[0.1, 0.2, 0.3, 0.4, 0.5]], &mut values)?;
    /// // d y_0 / d x_1 = sin(x_0).
    /// assert_eq!(values[1], 0.1f64.sin());
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn sparse_jacobian(&self, output: usize, input: usize) -> Result<Sparse> {
        self.check_output(output)?;
        let n_inputs = self.n_inputs();
        let Some(input_shape) = self.input_shape(input) else {
            return Err(Error::index(format!(
                "input: expected an input index in [0, {n_inputs}), got {input}"
            )));
        };
        let n = crate::alloc::checked_numel(input_shape, "input")?;
        let out_shape = self.output_shape(output).unwrap_or(&[]);
        let m = crate::alloc::checked_numel(out_shape, "output")?;
        let rows = pattern::jacobian_pattern(self, output, input)?;
        let columns = coloring::transpose(&rows, n);
        // A row's nonzeros need as many column colours, a column's as many
        // row colours: a colouring that reaches the other side's bound wins
        // without the other being computed (a tall dense Jacobian's rows
        // would cost m^2).
        let at_least = |lists: &[Vec<u32>]| lists.iter().map(Vec::len).max().unwrap_or(0);
        let (min_columns, min_rows) = (at_least(&rows), at_least(&columns));
        let (by_columns, by_rows) = if min_columns <= min_rows {
            let by_columns = coloring::color_columns(&rows, n);
            if by_columns.count < min_rows {
                (Some(by_columns), None)
            } else {
                (Some(by_columns), Some(coloring::color_columns(&columns, m)))
            }
        } else {
            let by_rows = coloring::color_columns(&columns, m);
            if by_rows.count <= min_columns {
                (None, Some(by_rows))
            } else {
                (Some(coloring::color_columns(&rows, n)), Some(by_rows))
            }
        };
        // Fewer colours wins; reverse on a tie.
        let (sweep, coloring) = match (by_columns, by_rows) {
            (Some(c), Some(r)) if c.count < r.count => (Sweep::Forward, c),
            (Some(c), None) => (Sweep::Forward, c),
            (_, Some(r)) => (Sweep::Reverse, r),
            (None, None) => return Err(Error::internal("sparse: no colouring")),
        };
        let at = if sweep == Sweep::Forward {
            coloring::recover_columns(&rows, &coloring)
        } else {
            coloring::recover_rows(&rows, n, &coloring)
        };
        let (r, c) = coordinates(&rows);
        Ok(Sparse {
            f: self.share(),
            sweep,
            output,
            input,
            shape: (m, n),
            rows: r,
            cols: c,
            coloring,
            at,
        })
    }

    /// The sparse Hessian of the 0-D output `output` with respect to every
    /// input (rows and columns: all inputs' elements, flattened and
    /// concatenated in order; both triangles listed): detects the pattern
    /// of the second derivative on the recorded program, star-colours it,
    /// and evaluates by one Hessian-vector product per colour.
    ///
    /// Errors: `Index` for an output past the last, `Shape` for an output
    /// that is not 0-D, `OutOfMemory`.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, mul, sum};
    /// // f(x) = sum(x_0 * x): H = e_0 1^T + 1 e_0^T, an arrow.
    /// let x = Tensor::from_vec(vec![0.0; 4], &[4], true)?;
    /// let x0 = jac_core::slice(&x, 0, Some(0), Some(1), 1)?;
    /// let f = Function::new(&[x.clone()], &[sum(&mul(&x0, &x)?, None, false)?])?;
    /// let h = f.sparse_hessian(0)?;
    /// assert_eq!(h.nnz(), 7);
    /// assert_eq!(h.colors(), 2);
    /// let mut values = vec![0.0; 7];
    /// h.eval_into(&[&[1.0, 2.0, 3.0, 4.0]], &mut values)?;
    /// assert_eq!(values, [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn sparse_hessian(&self, output: usize) -> Result<Sparse> {
        self.check_output(output)?;
        let shape = self.output_shape(output).unwrap_or(&[]);
        if !shape.is_empty() {
            return Err(Error::shape(format!(
                "output: a sparse Hessian needs a 0-D output, output {output} has shape {}",
                fmt_shape(shape)
            )));
        }
        let rows = pattern::hessian_pattern(self, output)?;
        let coloring = coloring::color_star(&rows);
        let at = coloring::recover_star(&rows, &coloring)?;
        let n = rows.len();
        let (r, c) = coordinates(&rows);
        Ok(Sparse {
            f: self.share(),
            sweep: Sweep::HessianVector,
            output,
            input: 0,
            shape: (n, n),
            rows: r,
            cols: c,
            coloring,
            at,
        })
    }
}

impl Sparse {
    /// `(rows, columns)`: for a Jacobian the output's and the input's
    /// numbers of elements, for a Hessian every input's elements both ways.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// The number of structural nonzeros.
    pub fn nnz(&self) -> usize {
        self.rows.len()
    }

    /// The pattern: row and column of each entry (COO), sorted by row, then
    /// column.
    pub fn pattern(&self) -> (&[usize], &[usize]) {
        (&self.rows, &self.cols)
    }

    /// The number of compressed sweeps one [`Sparse::eval_into`] runs.
    pub fn colors(&self) -> usize {
        self.coloring.count
    }

    /// The function it evaluates (a handle to the same program), whose
    /// inputs [`Sparse::eval_into`] takes.
    pub fn function(&self) -> &Function {
        &self.f
    }

    /// Which sweep [`Sparse::eval_into`] runs once per colour.
    pub fn sweep(&self) -> Sweep {
        self.sweep
    }

    /// Writes the entries at `inputs` (one buffer per input of the
    /// function, each of its numel) into `values`, in pattern order. Nothing
    /// is written on error.
    ///
    /// Errors: `InvalidArgument` for a wrong number of input buffers, a
    /// buffer of the wrong length, or `values` not `nnz` long;
    /// `OutOfMemory`.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, exp};
    /// let x = Tensor::from_vec(vec![0.0; 3], &[3], true)?;
    /// let f = Function::new(&[x.clone()], &[exp(&x)?])?;
    /// let j = f.sparse_jacobian(0, 0)?;
    /// assert_eq!((j.nnz(), j.colors()), (3, 1));
    /// let mut d = [0.0; 3];
    /// j.eval_into(&[&[0.0, 1.0, 2.0]], &mut d)?;
    /// assert_eq!(d, [1.0, 1f64.exp(), 2f64.exp()]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn eval_into(&self, inputs: &[&[f64]], values: &mut [f64]) -> Result<()> {
        let lens: Vec<usize> = inputs.iter().map(|x| x.len()).collect();
        self.f.check_lens(Buffers::Inputs, &lens)?;
        if values.len() != self.nnz() {
            return Err(Error::invalid(format!(
                "values: expected {} values (the pattern's nnz), got {}",
                self.nnz(),
                values.len()
            )));
        }
        if self.nnz() == 0 {
            return Ok(());
        }
        let compressed = match self.sweep {
            Sweep::Forward => self.forward(inputs)?,
            Sweep::Reverse => self.reverse(inputs)?,
            Sweep::HessianVector => self.hessian_vector(inputs)?,
        };
        // Check every position before writing anything.
        if self.at.iter().any(|&p| p >= compressed.len()) {
            return Err(Error::internal(
                "sparse: an entry is outside the compressed products",
            ));
        }
        for (v, &p) in values.iter_mut().zip(&self.at) {
            *v = compressed[p];
        }
        Ok(())
    }

    /// The seeds of every colour, `count x n` row-major: row `c` sums the
    /// unit vectors of the vertices `[from, from + n)` of colour `c`.
    fn seeds(&self, from: usize, n: usize) -> Result<Vec<f64>> {
        let k = self.coloring.count;
        let mut seed = crate::alloc::try_filled_vec(k.saturating_mul(n), 0.0, "sparse: seeds")?;
        for (e, &c) in self.coloring.colors[from..from + n].iter().enumerate() {
            if c != NONE {
                seed[c as usize * n + e] = 1.0;
            }
        }
        Ok(seed)
    }

    /// `J S`, colour by colour: forward passes of the replay.
    fn forward(&self, inputs: &[&[f64]]) -> Result<Vec<f64>> {
        let seed = self.seeds(0, self.shape.1)?;
        self.f.stacked(
            Pass::Forward,
            inputs,
            self.output,
            self.input,
            &seed,
            self.coloring.count,
        )
    }

    /// `S^T J`, colour by colour: reverse passes of the replay.
    fn reverse(&self, inputs: &[&[f64]]) -> Result<Vec<f64>> {
        let seed = self.seeds(0, self.shape.0)?;
        self.f.stacked(
            Pass::Reverse,
            inputs,
            self.output,
            self.input,
            &seed,
            self.coloring.count,
        )
    }

    /// `H S`, colour by colour: one forward sweep over the recorded
    /// gradient, carrying every colour.
    fn hessian_vector(&self, inputs: &[&[f64]]) -> Result<Vec<f64>> {
        let (xs, ys) = self.f.trace(inputs)?;
        let g = crate::grad(&ys[self.output..=self.output], &xs, None, true)?;
        let k = self.coloring.count;
        let mut seeds = Vec::with_capacity(xs.len());
        let mut from = 0;
        for x in &xs {
            let n = x.numel();
            let mut shape = vec![k];
            shape.extend_from_slice(x.shape());
            seeds.push(Tensor::from_vec(self.seeds(from, n)?, &shape, false)?);
            from += n;
        }
        let hv = crate::forward::jvp_stacked(&g, &xs, &seeds, false)?;
        // Colour by colour, every input's part in order.
        let n = self.shape.0;
        let mut out = crate::alloc::try_filled_vec(k.saturating_mul(n), 0.0, "sparse: products")?;
        let mut from = 0;
        for t in &hv {
            let values = t.to_vec();
            let len = values.len() / k.max(1);
            for c in 0..k {
                out[c * n + from..c * n + from + len]
                    .copy_from_slice(&values[c * len..(c + 1) * len]);
            }
            from += len;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, ArrayViewD};

    use crate::error::Result;
    use crate::ops::{JvpContext, Op, VjpContext, apply};
    use crate::{Function, Tensor};

    /// An op with no structure of its own: `y = x * x` written as an opaque
    /// op, which keeps the conservative default.
    #[derive(Debug)]
    struct Opaque;

    impl Op for Opaque {
        fn name(&self) -> &'static str {
            "opaque"
        }
        fn forward(&self, x: &[ArrayViewD<'_, f64>]) -> Result<ArrayD<f64>> {
            Ok(x[0].mapv(|v| v * v))
        }
        fn vjp(&self, cx: &VjpContext<'_>, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
            Ok(vec![Some(crate::mul(g, &crate::scale(cx.input(0), 2.0)?)?)])
        }
        fn jvp(&self, cx: &JvpContext<'_>, t: &[Option<Tensor>]) -> Result<Tensor> {
            let t = t[0].clone().unwrap_or(Tensor::scalar(0.0));
            crate::mul(&t, &crate::scale(cx.input(0), 2.0)?)
        }
    }

    #[test]
    fn an_op_without_a_rule_is_dense_but_still_right() {
        let x = Tensor::from_vec(vec![0.5; 3], &[3], true).unwrap();
        let y = apply(Opaque, vec![x.clone()]).unwrap();
        let s = crate::sum(&y, None, false).unwrap();
        let f = Function::new(&[x], &[y, s]).unwrap();
        let j = f.sparse_jacobian(0, 0).unwrap();
        assert_eq!(j.nnz(), 9, "every output element on every input element");
        let mut values = [0.0; 9];
        j.eval_into(&[&[1.0, 2.0, 3.0]], &mut values).unwrap();
        assert_eq!(values, [2.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 6.0]);
        let h = f.sparse_hessian(1).unwrap();
        assert_eq!((h.nnz(), h.colors()), (9, 3));
        let mut values = [0.0; 9];
        h.eval_into(&[&[1.0, 2.0, 3.0]], &mut values).unwrap();
        assert_eq!(values, [2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0]);
    }
}
