//! [`Function`]: a program recorded once from an eager graph, then evaluated
//! and differentiated at new input values.
//!
//! Recording walks the graph between the inputs and the outputs once and
//! flattens it into instructions in topological order, each one of the
//! graph's own op rules (shared, not copied) applied to earlier slots; an
//! op applied again to the same operands is recorded once.
//! Everything else the outputs depend on becomes a constant with its value
//! at recording time, and nothing the outputs do not need is kept. Op
//! values are pure functions of their inputs and static attributes, so a
//! replay recomputes value-dependent derivatives (relu, abs, max, min) at the new
//! point.
//!
//! The program is immutable: any number of threads may evaluate one
//! `Function` at once, each call with its own workspace.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use crate::alloc::checked_numel;
use crate::alloc::try_with_capacity;
use crate::error::{Error, Result, fmt_shape};
use crate::graph::{GradMode, IdHasher, IdSet, NodeId};
use crate::jacobian::{Jacobian, SweepSource, hessian, one_hot_columns, replayed_jacobian};
use crate::ops::apply_shared;
use crate::replay::{Instr, Plan, Program, Seed, Slot, Workspace};
use crate::tensor::Tensor;

/// A program recorded from the graph between some leaves (the inputs) and
/// some tensors (the outputs), evaluated at new input values: its outputs
/// ([`Function::eval_into`]), a vector-Jacobian product
/// ([`Function::vjp_into`]), a lazy Jacobian ([`Function::jacobian`]) or
/// Hessian ([`Function::hessian`]) with the same semantics as [`jacobian`]
/// and [`hessian`] on the graph.
///
/// Every other tensor the outputs depend on is a constant with its value at
/// recording time; an output that does not depend on any input is allowed
/// (its derivatives are 0). Input and output shapes are fixed when
/// recording. Dropping the tensors it was made from does not affect it.
/// `Send + Sync`: threads may evaluate it at once.
///
/// [`Function::eval_into`], [`Function::vjp_into`] and the rows of
/// [`Function::jacobian`] run the program on buffers planned at recording
/// time (one arena of values and one of cotangents; a reshape shares its
/// operand's), kept by the function for its next calls: the steady state
/// allocates nothing for elementwise ops, reshapes and slices, at the price
/// of holding those buffers (for as many calls as ran at once, at most
/// eight sets) while the function lives. Hessians replay the program as a
/// graph ([`Function::trace`]) and differentiate that twice.
///
/// ```
/// use jac_core::{Function, Tensor, mul, sin, add, index::Index};
///
/// // Record y = x1 * x2 + sin(x1) once...
/// let x1 = Tensor::from_vec(vec![0.0; 3], &[3], true)?;
/// let x2 = Tensor::from_vec(vec![0.0; 3], &[3], true)?;
/// let y = add(&mul(&x1, &x2)?, &sin(&x1)?)?;
/// let f = Function::new(&[x1, x2], &[y])?;
///
/// // ...then evaluate it at new points.
/// let (a, b) = ([0.1, 0.2, 0.3], [1.0, 2.0, 3.0]);
/// let mut y = [0.0; 3];
/// f.eval_into(&[&a, &b], &mut [&mut y])?;
/// assert_eq!(y[2], 0.3 * 3.0 + 0.3f64.sin());
///
/// // dy/dx2 = diag(x1), lazily: only row 1 is evaluated.
/// let j = f.jacobian(&[&a, &b], None)?;
/// assert_eq!(j.read(0, 1, &[Index::Int(1)])?.as_slice().unwrap(), &[0.0, 0.2, 0.0]);
/// assert_eq!(j.rows_evaluated(0)?, 1);
/// # Ok::<(), jac_core::Error>(())
/// ```
pub struct Function {
    /// Shared with the Jacobians taken at points, which replay it too.
    r: Arc<Recorded>,
}

/// What a [`Function`] holds: the program and the buffers of earlier calls.
pub(crate) struct Recorded {
    input_shapes: Vec<Vec<usize>>,
    constants: Vec<Tensor>,
    instrs: Vec<Instr>,
    outputs: Vec<Slot>,
    /// Where a call keeps every value and cotangent.
    plan: Plan,
    /// Buffers of earlier calls, for the next ones: each call takes one
    /// (or makes one) and gives it back, so concurrent calls never share.
    workspaces: Mutex<Vec<Workspace>>,
}

impl Recorded {
    fn shape_of(&self, s: Slot) -> &[usize] {
        match s {
            Slot::Input(k) => &self.input_shapes[k as usize],
            Slot::Constant(k) => self.constants[k as usize].shape(),
            Slot::Result(k) => &self.instrs[k as usize].shape,
        }
    }
}

/// Stacked cotangents per replayed pass of a Jacobian read, at most (32 MiB).
const REPLAYED_ROW_ELEMENTS: usize = 1 << 22;

/// Workspaces kept for later calls: about as many as calls run at once.
const KEPT_WORKSPACES: usize = 8;

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("inputs", &self.r.input_shapes)
            .field("outputs", &self.output_shapes())
            .field("ops", &self.r.instrs.len())
            .field("constants", &self.r.constants.len())
            .finish()
    }
}

impl Function {
    /// Records the program from `inputs` (leaves that require grad, each
    /// given once) to `outputs` (any tensors, repeats allowed).
    ///
    /// Errors: `InvalidArgument` for no inputs or no outputs, an input that
    /// is the result of an op, or one given twice; `NotDifferentiable` for
    /// an input that does not require grad.
    pub fn new(inputs: &[Tensor], outputs: &[Tensor]) -> Result<Function> {
        check_inputs(inputs)?;
        if outputs.is_empty() {
            return Err(Error::invalid(
                "outputs: expected at least one output, got 0",
            ));
        }
        let input_of: HashMap<NodeId, usize, BuildHasherDefault<IdHasher>> = inputs
            .iter()
            .enumerate()
            .map(|(k, x)| (x.id(), k))
            .collect();

        // Every node the outputs reach without passing an input, in
        // ascending id order: a topological order (graph.rs). Iterative, so
        // a chain of any length leaves the call stack alone.
        let mut nodes: Vec<Tensor> = Vec::new();
        let mut seen = IdSet::default();
        let mut stack: Vec<Tensor> = outputs.to_vec();
        while let Some(t) = stack.pop() {
            if !seen.insert(t.id()) {
                continue;
            }
            if !input_of.contains_key(&t.id())
                && let Some(recipe) = &t.0.recipe
            {
                stack.extend(
                    recipe
                        .inputs
                        .iter()
                        .filter(|i| !seen.contains(&i.id()))
                        .cloned(),
                );
            }
            nodes.push(t);
        }
        nodes.sort_unstable_by_key(Tensor::id);
        let position = |id: NodeId| nodes.binary_search_by_key(&id, Tensor::id).ok();
        // Each node's operands as positions, once: `args[offsets[p]..offsets[p + 1]]`.
        let mut args: Vec<usize> = Vec::with_capacity(2 * nodes.len());
        let mut offsets: Vec<usize> = Vec::with_capacity(nodes.len() + 1);
        offsets.push(0);
        for t in &nodes {
            if !input_of.contains_key(&t.id())
                && let Some(recipe) = &t.0.recipe
            {
                args.extend(recipe.inputs.iter().filter_map(|i| position(i.id())));
            }
            offsets.push(args.len());
        }
        let args_of = |p: usize| &args[offsets[p]..offsets[p + 1]];

        // A node is recomputed when it depends on an input; otherwise it is
        // a constant, and what is behind it is not needed.
        let mut depends = vec![false; nodes.len()];
        for p in 0..nodes.len() {
            depends[p] = input_of.contains_key(&nodes[p].id())
                || (nodes[p].0.recipe.is_some() && args_of(p).iter().any(|&q| depends[q]));
        }
        let mut needed = vec![false; nodes.len()];
        for y in outputs {
            if let Some(p) = position(y.id()) {
                needed[p] = true;
            }
        }
        for p in (0..nodes.len()).rev() {
            if needed[p] && depends[p] && !input_of.contains_key(&nodes[p].id()) {
                for &q in args_of(p) {
                    needed[q] = true;
                }
            }
        }

        let mut slots: Vec<Option<Slot>> = vec![None; nodes.len()];
        type Key = (&'static str, Vec<u64>, Vec<Slot>);
        let mut computed: HashMap<Key, Slot, BuildHasherDefault<IdHasher>> = HashMap::default();
        let mut constants = Vec::new();
        let mut instrs = Vec::new();
        for p in 0..nodes.len() {
            if !needed[p] {
                continue;
            }
            let t = &nodes[p];
            slots[p] = Some(if let Some(&k) = input_of.get(&t.id()) {
                Slot::new(Slot::Input, k)?
            } else if depends[p] {
                let recipe = t.0.recipe.as_ref().ok_or_else(|| {
                    Error::internal("Function::new: a node that depends on an input has no recipe")
                })?;
                if args_of(p).len() != recipe.inputs.len() {
                    return Err(Error::internal(
                        "Function::new: an operand was not collected",
                    ));
                }
                let args = args_of(p)
                    .iter()
                    .map(|&q| {
                        slots[q].ok_or_else(|| {
                            Error::internal("Function::new: an operand was not recorded first")
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                // An op applied again to the same operands (same name and
                // attributes) is the same value: computed once.
                let key = recipe
                    .op
                    .attributes()
                    .map(|attributes| (recipe.op.name(), attributes, args.clone()));
                match key.as_ref().and_then(|k| computed.get(k)) {
                    Some(&slot) => slot,
                    None => {
                        instrs.push(Instr {
                            op: recipe.op.clone(),
                            args: args.into(),
                            shape: t.shape().into(),
                        });
                        let slot = Slot::new(Slot::Result, instrs.len() - 1)?;
                        if let Some(key) = key {
                            computed.insert(key, slot);
                        }
                        slot
                    }
                }
            } else {
                // A constant leaf is immutable and holds no graph: share it.
                // Anything else is cut from its graph by a copy of its value.
                // Replays read constants as row-major slices.
                constants.push(if !t.value().is_standard_layout() {
                    Tensor::constant(t.value().as_standard_layout().into_owned())
                } else if t.requires_grad() || t.0.recipe.is_some() {
                    t.detach()
                } else {
                    t.clone()
                });
                Slot::new(Slot::Constant, constants.len() - 1)?
            });
        }
        let outputs = outputs
            .iter()
            .map(|y| {
                position(y.id())
                    .and_then(|p| slots[p])
                    .ok_or_else(|| Error::internal("Function::new: an output was not recorded"))
            })
            .collect::<Result<Vec<_>>>()?;

        instrs.shrink_to_fit();
        constants.shrink_to_fit();
        let input_shapes: Vec<Vec<usize>> = inputs.iter().map(|x| x.shape().to_vec()).collect();
        let plan = Plan::new(&input_shapes, &constants, &instrs)?;
        Ok(Function {
            r: Arc::new(Recorded {
                input_shapes,
                constants,
                instrs,
                outputs,
                plan,
                workspaces: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.r.input_shapes.len()
    }

    /// The number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.r.outputs.len()
    }

    /// The shape of input `i`, or `None` past the last.
    pub fn input_shape(&self, i: usize) -> Option<&[usize]> {
        self.r.input_shapes.get(i).map(Vec::as_slice)
    }

    /// The shape of output `i`, or `None` past the last.
    pub fn output_shape(&self, i: usize) -> Option<&[usize]> {
        self.r.outputs.get(i).map(|&s| self.shape_of(s))
    }

    fn output_shapes(&self) -> Vec<&[usize]> {
        self.r.outputs.iter().map(|&s| self.shape_of(s)).collect()
    }

    /// The number of recorded ops: those between the inputs and the outputs.
    pub fn n_ops(&self) -> usize {
        self.r.instrs.len()
    }

    /// The number of recorded constants (values the outputs depend on that
    /// do not depend on any input).
    pub fn n_constants(&self) -> usize {
        self.r.constants.len()
    }

    fn shape_of(&self, s: Slot) -> &[usize] {
        self.r.shape_of(s)
    }

    /// Writes the outputs at `inputs` (one row-major buffer per input, each
    /// of its numel) into `outputs` (one per output, each of its numel).
    ///
    /// Errors: `InvalidArgument` for a wrong number of buffers or a buffer
    /// of the wrong length (outputs are untouched then), `OutOfMemory`.
    pub fn eval_into(&self, inputs: &[&[f64]], outputs: &mut [&mut [f64]]) -> Result<()> {
        self.check_inputs(inputs)?;
        let lens: Vec<usize> = outputs.iter().map(|o| o.len()).collect();
        self.check_lens(Buffers::Outputs, &lens)?;
        let program = self.r.program();
        let mut ws = self.r.workspace(&program)?;
        let mut done = ws.forward(&program, inputs);
        // Nothing is written unless every output exists.
        if done.is_ok() {
            done = self
                .r
                .outputs
                .iter()
                .try_for_each(|&s| ws.value(&program, s).map(|_| ()));
        }
        if done.is_ok() {
            for (out, &s) in outputs.iter_mut().zip(&self.r.outputs) {
                if let Ok(value) = ws.value(&program, s) {
                    out.copy_from_slice(value);
                }
            }
        }
        self.r.give_back(ws);
        done
    }

    /// Writes `sum_i cot[i] . d outputs[i] / d inputs[j]` for every input
    /// `j` into `grads[j]` (each of input `j`'s numel). `cotangents` holds
    /// one buffer per output (each of its numel); `None` means ones for
    /// every output.
    ///
    /// Errors: as [`Function::eval_into`], for `cotangents` and `grads` too.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, mul, sum};
    /// // f(x) = sum(x * x); its gradient is 2x at any point.
    /// let x = Tensor::from_vec(vec![0.0; 2], &[2], true)?;
    /// let f = Function::new(&[x.clone()], &[sum(&mul(&x, &x)?, None, false)?])?;
    /// let mut g = [0.0; 2];
    /// f.vjp_into(&[&[3.0, -1.0]], None, &mut [&mut g])?;
    /// assert_eq!(g, [6.0, -2.0]);
    /// f.vjp_into(&[&[3.0, -1.0]], Some(&[&[0.5]]), &mut [&mut g])?;
    /// assert_eq!(g, [3.0, -1.0]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn vjp_into(
        &self,
        inputs: &[&[f64]],
        cotangents: Option<&[&[f64]]>,
        grads: &mut [&mut [f64]],
    ) -> Result<()> {
        self.check_inputs(inputs)?;
        if let Some(cots) = cotangents {
            let lens: Vec<usize> = cots.iter().map(|c| c.len()).collect();
            self.check_lens(Buffers::Cotangents, &lens)?;
        }
        let lens: Vec<usize> = grads.iter().map(|g| g.len()).collect();
        self.check_lens(Buffers::Gradients, &lens)?;
        let program = self.r.program();
        let mut ws = self.r.workspace(&program)?;
        let seeds: Vec<(Slot, Seed<'_>)> = match cotangents {
            None => self.r.outputs.iter().map(|&s| (s, Seed::Ones)).collect(),
            Some(cots) => self
                .r
                .outputs
                .iter()
                .zip(cots)
                .map(|(&s, &c)| (s, Seed::Values(c)))
                .collect(),
        };
        let done = ws
            .forward(&program, inputs)
            .and_then(|()| ws.reverse(&program, &seeds));
        let done = done.and_then(|()| {
            for (k, out) in grads.iter_mut().enumerate() {
                out.copy_from_slice(ws.input_gradient(&self.r.plan, k)?);
            }
            Ok(())
        });
        self.r.give_back(ws);
        done
    }

    /// Writes the Jacobian-vector product at `inputs` along `tangents` (one
    /// buffer per input, each of its numel) into `out` (one per output):
    /// `out[i] = sum_j d outputs[i] / d inputs[j] . tangents[j]`, by one
    /// forward sweep. Nothing is written on error.
    ///
    /// Errors: as [`Function::eval_into`], for `tangents` and `out` too.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, mul, sin};
    /// // f(x) = sin(x) * x: J u = (cos(x) x + sin(x)) u elementwise.
    /// let x = Tensor::from_vec(vec![0.0; 2], &[2], true)?;
    /// let f = Function::new(&[x.clone()], &[mul(&sin(&x)?, &x)?])?;
    /// let mut t = [0.0; 2];
    /// f.jvp_into(&[&[0.5, 1.0]], &[&[1.0, 0.0]], &mut [&mut t])?;
    /// assert!((t[0] - (0.5f64.cos() * 0.5 + 0.5f64.sin())).abs() < 1e-15);
    /// assert_eq!(t[1], 0.0);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn jvp_into(
        &self,
        inputs: &[&[f64]],
        tangents: &[&[f64]],
        out: &mut [&mut [f64]],
    ) -> Result<()> {
        self.check_inputs(inputs)?;
        self.check_buffers(Buffers::Tangents, tangents)?;
        let lens: Vec<usize> = out.iter().map(|o| o.len()).collect();
        self.check_lens(Buffers::OutputTangents, &lens)?;
        let program = self.r.program();
        let mut ws = self.r.workspace(&program)?;
        let seeds: Vec<Option<&[f64]>> = tangents.iter().map(|t| Some(*t)).collect();
        let done = ws
            .forward(&program, inputs)
            .and_then(|()| ws.forward_tangents(&program, &seeds, 1))
            .and_then(|()| {
                let results = self
                    .r
                    .outputs
                    .iter()
                    .map(|&slot| ws.tangent(program.plan, slot))
                    .collect::<Result<Vec<_>>>()?;
                // Every tangent exists before anything is written.
                for (o, t) in out.iter_mut().zip(results) {
                    match t {
                        Some(t) => o.copy_from_slice(t),
                        None => o.fill(0.0),
                    }
                }
                Ok(())
            });
        self.r.give_back(ws);
        done
    }

    /// Writes the Hessian of output `output` (0-D) at `inputs` times `v`
    /// (one buffer per input) into `out` (one per input): forward over
    /// reverse, one sweep of each. Nothing is written on error.
    ///
    /// Errors: `Index` for an output past the last, `Shape` for an output
    /// that is not 0-D, then as [`Function::eval_into`] for `inputs`, `v`
    /// and `out`.
    ///
    /// ```
    /// use jac_core::{Function, Tensor, mul, sum};
    /// // f(x) = sum(x^3): H = diag(6x).
    /// let x = Tensor::from_vec(vec![0.0; 2], &[2], true)?;
    /// let f = Function::new(&[x.clone()], &[sum(&mul(&mul(&x, &x)?, &x)?, None, false)?])?;
    /// let mut hv = [0.0; 2];
    /// f.hvp_into(&[&[1.0, -2.0]], 0, &[&[0.5, 1.0]], &mut [&mut hv])?;
    /// assert_eq!(hv, [3.0, -12.0]);
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn hvp_into(
        &self,
        inputs: &[&[f64]],
        output: usize,
        v: &[&[f64]],
        out: &mut [&mut [f64]],
    ) -> Result<()> {
        self.check_scalar_output(output)?;
        self.check_inputs(inputs)?;
        self.check_buffers(Buffers::Directions, v)?;
        let lens: Vec<usize> = out.iter().map(|o| o.len()).collect();
        self.check_lens(Buffers::Products, &lens)?;
        let (xs, ys) = self.trace(inputs)?;
        let v = self.tensors_of(v)?;
        let g = crate::grad(&ys[output..=output], &xs, None, true)?;
        let hv = crate::forward::jvp(&g, &xs, &v, false)?;
        write_all(&hv, out)
    }

    /// Checks that `output` names a 0-D output (a Hessian-vector product's).
    ///
    /// Errors: `Index` for an output past the last, `Shape` for one that is
    /// not 0-D.
    pub fn check_scalar_output(&self, output: usize) -> Result<()> {
        self.check_output(output)?;
        let shape = self.shape_of(self.r.outputs[output]);
        if !shape.is_empty() {
            return Err(Error::shape(format!(
                "output: a Hessian-vector product needs a 0-D output, output {output} has shape {}",
                fmt_shape(shape)
            )));
        }
        Ok(())
    }

    fn check_buffers(&self, buffers: Buffers, data: &[&[f64]]) -> Result<()> {
        let lens: Vec<usize> = data.iter().map(|d| d.len()).collect();
        self.check_lens(buffers, &lens)
    }

    /// Constants of the inputs' shapes holding `data` (checked lengths).
    fn tensors_of(&self, data: &[&[f64]]) -> Result<Vec<Tensor>> {
        data.iter()
            .zip(&self.r.input_shapes)
            .map(|(d, shape)| Tensor::from_slice(d, shape, false))
            .collect()
    }

    /// The lazy Jacobian of the outputs with respect to the inputs at
    /// `inputs`, as [`jacobian`] with a tuple of ys and a tuple of xs: block
    /// `(i, j)` is `d outputs[i] / d inputs[j]`. Evaluates the outputs and
    /// nothing else; a read evaluates the rows it touches by reverse passes
    /// of the replay that carry many rows each (no graph is built).
    ///
    /// Errors: as [`Function::eval_into`] for the buffers, then as
    /// [`jacobian`] for the batch axis and the shapes.
    pub fn jacobian(&self, inputs: &[&[f64]], batch_axis: Option<i64>) -> Result<Jacobian> {
        self.check_inputs(inputs)?;
        let program = self.r.program();
        let mut ws = self.r.workspace(&program)?;
        let ys = ws.forward(&program, inputs).and_then(|()| {
            self.r
                .outputs
                .iter()
                .map(|&s| Tensor::from_slice(ws.value(&program, s)?, self.shape_of(s), false))
                .collect::<Result<Vec<_>>>()
        });
        // The first read's rows start from this forward pass.
        let evaluated = match ys {
            Ok(_) => Some(ws),
            Err(_) => {
                self.r.give_back(ws);
                None
            }
        };
        let xs = inputs
            .iter()
            .zip(&self.r.input_shapes)
            .map(|(data, shape)| Tensor::from_slice(data, shape, true))
            .collect::<Result<Vec<_>>>()?;
        let source = ReplayedRows {
            r: Arc::clone(&self.r),
            point: inputs.iter().map(|x| x.to_vec()).collect(),
            evaluated: Mutex::new(evaluated),
        };
        replayed_jacobian(ys?, xs, batch_axis, Box::new(source))
    }

    /// The lazy Hessian of output `output` with respect to the inputs at
    /// `inputs`, as [`hessian`] with a tuple of xs.
    ///
    /// Errors: `Index` for an output past the last, as
    /// [`Function::eval_into`] for the buffers, then as [`hessian`].
    pub fn hessian(
        &self,
        inputs: &[&[f64]],
        output: usize,
        batch_axis: Option<i64>,
    ) -> Result<Jacobian> {
        self.check_output(output)?;
        let (xs, ys) = self.trace(inputs)?;
        hessian(&ys[output], &xs, batch_axis)
    }

    /// Checks that `output` names an output.
    ///
    /// Errors: `Index` for an output past the last.
    pub fn check_output(&self, output: usize) -> Result<()> {
        if output >= self.r.outputs.len() {
            return Err(Error::index(format!(
                "output: expected an output index in [0, {}), got {output}",
                self.r.outputs.len()
            )));
        }
        Ok(())
    }

    /// Replays the program at `inputs` as an eager graph: fresh leaves that
    /// require grad, and the outputs recorded from them.
    pub fn trace(&self, inputs: &[&[f64]]) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        self.check_inputs(inputs)?;
        let _recording = GradMode::set(true);
        let xs = inputs
            .iter()
            .zip(&self.r.input_shapes)
            .map(|(data, shape)| Tensor::from_slice(data, shape, true))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Tensor> = Vec::with_capacity(self.r.instrs.len());
        for instr in &self.r.instrs {
            let args = instr
                .args
                .iter()
                .map(|&s| self.tensor(s, &xs, &results).clone())
                .collect::<Vec<_>>();
            results.push(apply_shared(instr.op.clone(), args)?);
        }
        let ys = self
            .r
            .outputs
            .iter()
            .map(|&s| self.tensor(s, &xs, &results).clone())
            .collect();
        Ok((xs, ys))
    }

    fn tensor<'a>(&'a self, s: Slot, xs: &'a [Tensor], results: &'a [Tensor]) -> &'a Tensor {
        match s {
            Slot::Input(k) => &xs[k as usize],
            Slot::Constant(k) => &self.r.constants[k as usize],
            Slot::Result(k) => &results[k as usize],
        }
    }

    fn check_inputs(&self, inputs: &[&[f64]]) -> Result<()> {
        let lens: Vec<usize> = inputs.iter().map(|x| x.len()).collect();
        self.check_lens(Buffers::Inputs, &lens)
    }

    /// Checks a list of buffer lengths: one per input (or output), each of
    /// its numel. Every evaluation checks its buffers this way before it
    /// touches them; a caller holding raw pointers checks first, so that no
    /// buffer is taken at a length it does not have.
    ///
    /// Errors: `InvalidArgument` naming `{arg}` (a wrong count) or
    /// `{arg}_lens[k]` (a wrong length), where `arg` is [`Buffers::arg`].
    ///
    /// ```
    /// use jac_core::{Buffers, Function, Tensor, sin};
    /// let x = Tensor::from_vec(vec![0.0; 3], &[3], true)?;
    /// let f = Function::new(&[x.clone()], &[sin(&x)?])?;
    /// assert!(f.check_lens(Buffers::Inputs, &[3]).is_ok());
    /// let err = f.check_lens(Buffers::Outputs, &[2]).unwrap_err();
    /// assert!(err.message().starts_with("out_lens[0]: expected 3"));
    /// # Ok::<(), jac_core::Error>(())
    /// ```
    pub fn check_lens(&self, buffers: Buffers, lens: &[usize]) -> Result<()> {
        let (arg, what) = (buffers.arg(), buffers.what());
        let shapes = if buffers.per_input() {
            self.r.input_shapes.iter().map(Vec::as_slice).collect()
        } else {
            self.output_shapes()
        };
        if lens.len() != shapes.len() {
            return Err(Error::invalid(format!(
                "{arg}: expected {} buffers (one per {what}), got {}",
                shapes.len(),
                lens.len()
            )));
        }
        for (k, (&len, shape)) in lens.iter().zip(&shapes).enumerate() {
            let numel = checked_numel(shape, arg)?;
            if len != numel {
                return Err(Error::invalid(format!(
                    "{}[{k}]: expected {numel} (numel of {what} {k}, shape {}), got {len}",
                    buffers.lens_arg(),
                    fmt_shape(shape)
                )));
            }
        }
        Ok(())
    }
}

impl Recorded {
    pub(crate) fn program(&self) -> Program<'_> {
        Program {
            plan: &self.plan,
            input_shapes: &self.input_shapes,
            constants: &self.constants,
            instrs: &self.instrs,
        }
    }

    /// A workspace of an earlier call, or a new one.
    pub(crate) fn workspace(&self, program: &Program<'_>) -> Result<Workspace> {
        let kept = self
            .workspaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match kept {
            Some(ws) => Ok(ws),
            None => Workspace::new(program),
        }
    }

    pub(crate) fn give_back(&self, ws: Workspace) {
        let mut kept = self
            .workspaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < KEPT_WORKSPACES {
            kept.push(ws);
        }
    }
}

/// The rows and columns of a [`Function`]'s Jacobian at one point: reverse
/// and forward passes of the replay that carry many rows (columns) each,
/// on a workspace of the function's.
struct ReplayedRows {
    r: Arc<Recorded>,
    point: Vec<Vec<f64>>,
    /// A workspace whose values are those at the point (the Jacobian's
    /// creation evaluated them), for the first read.
    evaluated: Mutex<Option<Workspace>>,
}

impl SweepSource for ReplayedRows {
    fn rows(
        &self,
        i: usize,
        rows: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>> {
        let program = self.r.program();
        let mut ws = self.evaluated_workspace(&program)?;
        let done = self.rows_on(&mut ws, &program, i, rows, samples, per_sample);
        self.r.give_back(ws);
        done
    }

    fn columns(
        &self,
        j: usize,
        columns: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>> {
        let program = self.r.program();
        let mut ws = self.evaluated_workspace(&program)?;
        let done = self.columns_on(&mut ws, &program, j, columns, samples, per_sample);
        self.r.give_back(ws);
        done
    }
}

impl ReplayedRows {
    /// A workspace whose values are those at the point: the one the
    /// Jacobian's creation evaluated, for the first read, else one of the
    /// function's evaluated anew. Give it back when done.
    fn evaluated_workspace(&self, program: &Program<'_>) -> Result<Workspace> {
        let evaluated = self
            .evaluated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(ws) = evaluated {
            return Ok(ws);
        }
        let mut ws = self.r.workspace(program)?;
        let point: Vec<&[f64]> = self.point.iter().map(Vec::as_slice).collect();
        match ws.forward(program, &point) {
            Ok(()) => Ok(ws),
            Err(e) => {
                self.r.give_back(ws);
                Err(e)
            }
        }
    }

    /// The columns of input `j` (one-hot tangents, per sample when
    /// batched), by forward passes of the replay on a workspace already
    /// evaluated at the point: each output's `k` rows of tangents.
    fn columns_on(
        &self,
        ws: &mut Workspace,
        program: &Program<'_>,
        j: usize,
        columns: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>> {
        let shape = self
            .r
            .input_shapes
            .get(j)
            .ok_or_else(|| Error::internal("replayed columns: no such input"))?;
        let k = columns.len();
        let mut tangents = self
            .r
            .outputs
            .iter()
            .map(|&slot| {
                let numel = checked_numel(self.r.shape_of(slot), "read")?;
                try_with_capacity(k.saturating_mul(numel), "read: columns")
            })
            .collect::<Result<Vec<_>>>()?;
        // As many columns per pass as keep the stacked tangents near
        // REPLAYED_ROW_ELEMENTS.
        let per_pass = (REPLAYED_ROW_ELEMENTS / program.plan.cots_len().max(1)).clamp(1, k.max(1));
        for chunk in columns.chunks(per_pass) {
            let seed = one_hot_columns(chunk, shape, samples, per_sample)?;
            let data = seed
                .value()
                .as_slice()
                .ok_or_else(|| Error::internal("replayed columns: a seed is not contiguous"))?;
            let mut seeds: Vec<Option<&[f64]>> = vec![None; self.r.input_shapes.len()];
            seeds[j] = Some(data);
            ws.forward_tangents(program, &seeds, chunk.len())?;
            for (t, &slot) in tangents.iter_mut().zip(&self.r.outputs) {
                match ws.tangent(program.plan, slot)? {
                    Some(rows) => t.extend_from_slice(rows),
                    None => {
                        let numel = checked_numel(self.r.shape_of(slot), "read")?;
                        t.resize(t.len() + chunk.len() * numel, 0.0);
                    }
                }
            }
        }
        tangents
            .into_iter()
            .zip(&self.r.outputs)
            .map(|(t, &slot)| {
                let mut stacked = vec![k];
                stacked.extend_from_slice(self.r.shape_of(slot));
                Tensor::from_vec(t, &stacked, false)
            })
            .collect()
    }

    /// The rows, on a workspace already evaluated at the point.
    fn rows_on(
        &self,
        ws: &mut Workspace,
        program: &Program<'_>,
        i: usize,
        rows: &[usize],
        samples: usize,
        per_sample: usize,
    ) -> Result<Vec<Tensor>> {
        let slot = *self
            .r
            .outputs
            .get(i)
            .ok_or_else(|| Error::internal("replayed rows: no such output"))?;

        let k = rows.len();
        let mut grads = self
            .r
            .input_shapes
            .iter()
            .map(|shape| {
                let numel = checked_numel(shape, "read")?;
                try_with_capacity(k.saturating_mul(numel), "read: rows")
            })
            .collect::<Result<Vec<_>>>()?;
        // As many rows per pass as keep the stacked cotangents near
        // REPLAYED_ROW_ELEMENTS.
        let per_pass = (REPLAYED_ROW_ELEMENTS / program.plan.cots_len().max(1)).clamp(1, k.max(1));
        let n_y = samples * per_sample;
        for chunk in rows.chunks(per_pass) {
            let mut seed = crate::alloc::try_filled_vec(chunk.len() * n_y, 0.0, "read: rows")?;
            for (t, &row) in chunk.iter().enumerate() {
                for s in 0..samples {
                    if let Some(v) = seed.get_mut(t * n_y + s * per_sample + row) {
                        *v = 1.0;
                    }
                }
            }
            ws.reverse_rows(program, &[(slot, Seed::Values(&seed))], chunk.len())?;
            for (j, g) in grads.iter_mut().enumerate() {
                g.extend_from_slice(ws.input_gradient(program.plan, j)?);
            }
        }
        grads
            .into_iter()
            .zip(&self.r.input_shapes)
            .map(|(g, shape)| {
                let mut stacked = vec![k];
                stacked.extend_from_slice(shape);
                Tensor::from_vec(g, &stacked, false)
            })
            .collect()
    }
}

/// Copies each tensor's values, row-major, into its buffer (lengths
/// checked): after every result exists, so nothing is written on error.
fn write_all(results: &[Tensor], out: &mut [&mut [f64]]) -> Result<()> {
    if results.len() != out.len() {
        return Err(Error::internal("a result per buffer was expected"));
    }
    for (t, o) in results.iter().zip(out.iter_mut()) {
        if t.numel() != o.len() {
            return Err(Error::internal(format!(
                "a result of {} values for a buffer of {}",
                t.numel(),
                o.len()
            )));
        }
    }
    for (t, o) in results.iter().zip(out.iter_mut()) {
        match t.value().as_slice() {
            Some(data) => o.copy_from_slice(data),
            None => o
                .iter_mut()
                .zip(t.value().iter())
                .for_each(|(o, &v)| *o = v),
        }
    }
    Ok(())
}

/// The lists of buffers a [`Function`] evaluation takes, for
/// [`Function::check_lens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffers {
    /// Input values, one per input.
    Inputs,
    /// Output values, one per output.
    Outputs,
    /// Cotangents of a VJP, one per output.
    Cotangents,
    /// Gradients of a VJP, one per input.
    Gradients,
    /// Tangents of a JVP, one per input.
    Tangents,
    /// The output tangents a JVP writes, one per output.
    OutputTangents,
    /// The direction of a Hessian-vector product, one per input.
    Directions,
    /// The Hessian-vector product written, one per input.
    Products,
}

impl Buffers {
    /// The argument name messages use (the C ABI's): `in`, `out`, `cot`,
    /// `grad`, `tan`, `out_tan`, `v`, `out`.
    pub fn arg(self) -> &'static str {
        match self {
            Buffers::Inputs => "in",
            Buffers::Outputs | Buffers::Products => "out",
            Buffers::Cotangents => "cot",
            Buffers::Gradients => "grad",
            Buffers::Tangents => "tan",
            Buffers::OutputTangents => "out_tan",
            Buffers::Directions => "v",
        }
    }

    /// The name of the lengths argument: `in_lens`, `out_lens`,
    /// `cot_lens`, `grad_lens`, `tan_lens`, `out_tan_lens`, `v_lens`,
    /// `out_lens`.
    pub fn lens_arg(self) -> &'static str {
        match self {
            Buffers::Inputs => "in_lens",
            Buffers::Outputs | Buffers::Products => "out_lens",
            Buffers::Cotangents => "cot_lens",
            Buffers::Gradients => "grad_lens",
            Buffers::Tangents => "tan_lens",
            Buffers::OutputTangents => "out_tan_lens",
            Buffers::Directions => "v_lens",
        }
    }

    /// Whether there is one buffer per input (else one per output), each
    /// of that tensor's numel.
    pub fn per_input(self) -> bool {
        match self {
            Buffers::Inputs
            | Buffers::Gradients
            | Buffers::Tangents
            | Buffers::Directions
            | Buffers::Products => true,
            Buffers::Outputs | Buffers::Cotangents | Buffers::OutputTangents => false,
        }
    }

    fn what(self) -> &'static str {
        if self.per_input() { "input" } else { "output" }
    }
}

fn check_inputs(inputs: &[Tensor]) -> Result<()> {
    if inputs.is_empty() {
        return Err(Error::invalid("inputs: expected at least one input, got 0"));
    }
    for (k, x) in inputs.iter().enumerate() {
        if let Some(op) = x.op_name() {
            return Err(Error::invalid(format!(
                "inputs[{k}]: expected a leaf tensor, got the result of {op}"
            )));
        }
        if !x.requires_grad() {
            return Err(Error::not_differentiable(format!(
                "inputs[{k}]: expected a leaf that requires grad, got a constant"
            )));
        }
        if let Some(j) = inputs[..k].iter().position(|other| other.id() == x.id()) {
            return Err(Error::invalid(format!(
                "inputs[{k}]: the same tensor as inputs[{j}]; each input is given once"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::replay::Kind;
    use crate::{matmul, mul, reshape, sin, slice, sum};

    /// Reshapes take no step and no room; numbers, slices and elementwise
    /// ops run on the arena; only the product and the reduction see arrays.
    #[test]
    fn each_op_runs_where_the_plan_says() {
        let x = Tensor::from_vec(vec![0.5; 6], &[6], true).unwrap();
        let s = Tensor::from_vec(vec![0.5], &[], true).unwrap();
        let w = Tensor::from_vec(vec![1.0; 3], &[3, 1], false).unwrap();
        let r = || -> Result<Vec<Tensor>> {
            let m = reshape(&x, &[2, 3])?; // View
            let v = sin(&m)?; // Flat
            let p = matmul(&v, &w)?; // Array
            let q = mul(&s, &s)?; // Scalar
            let e = slice(&v, 1, Some(0), None, 2)?; // Flat
            let t = sum(&mul(&e, &q)?, None, false)?; // Flat, Array
            Ok(vec![p, t])
        };
        let f = Function::new(&[x.clone(), s.clone()], &r().unwrap()).unwrap();
        let (kinds, values, cots) = f.r.plan.layout();
        use Kind::{Array, Flat, Scalar, View};
        assert_eq!(kinds, [View, Flat, Array, Scalar, Flat, Flat, Array]);
        // Inputs 6 + 1, the constant 3, results 6 + 2 + 1 + 4 + 4 + 1: no
        // room for the reshape, none for the constant's cotangent.
        assert_eq!((values, cots), (28, 25));
    }

    #[test]
    fn a_function_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Function>();
    }
}
