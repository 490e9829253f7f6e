//! Running a recorded program on planned buffers: the forward pass and the
//! reverse pass of a [`crate::Function`], without building a graph.
//!
//! Shapes are fixed when recording, so every value and cotangent a call
//! needs has a buffer of known size, made once per [`Workspace`] and reused
//! by every later call that takes that workspace (no allocation and no page
//! faults in the steady state for ops with in-place kernels). Elementwise
//! ops run their kernels ([`Op::forward_into`], [`Op::vjp_into`]) straight
//! on those buffers, from the same statement of the derivative as their
//! graph VJP; other ops run their graph rules on constant tensors (without
//! recording) and their results are added in.

use ndarray::{ArrayD, Zip};

use crate::alloc::try_zeros;
use crate::backward::check_rule_arity;
use crate::broadcast::sum_to;
use crate::error::{Error, Result};
use crate::graph::GradMode;
use crate::ops::{Op, VjpContext, forward};
use crate::tensor::Tensor;

/// Where an instruction finds an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The function's input `k`.
    Input(usize),
    /// The recorded constant `k`.
    Constant(usize),
    /// The result of instruction `k`.
    Result(usize),
}

/// One recorded op: its rule, where its operands are, its result's shape.
pub(crate) struct Instr {
    pub(crate) op: std::sync::Arc<dyn Op>,
    pub(crate) args: Vec<Slot>,
    pub(crate) shape: Vec<usize>,
}

/// What a replay reads: the program and its constants.
pub(crate) struct Program<'a> {
    pub(crate) input_shapes: &'a [Vec<usize>],
    pub(crate) constants: &'a [Tensor],
    pub(crate) instrs: &'a [Instr],
}

/// The buffers of one call: a value per input and per result, a cotangent
/// per input and per result (constants get none), and which cotangents
/// the current reverse pass has touched (the others are not zeroed until
/// then).
pub(crate) struct Workspace {
    inputs: Vec<ArrayD<f64>>,
    results: Vec<ArrayD<f64>>,
    input_cots: Vec<ArrayD<f64>>,
    result_cots: Vec<ArrayD<f64>>,
    input_touched: Vec<bool>,
    result_touched: Vec<bool>,
}

impl Workspace {
    /// Buffers for `program`, allocated fallibly.
    pub(crate) fn new(program: &Program<'_>) -> Result<Workspace> {
        let zeros = |shapes: &mut dyn Iterator<Item = &Vec<usize>>| -> Result<Vec<ArrayD<f64>>> {
            shapes.map(|s| try_zeros(s, "workspace")).collect()
        };
        let inputs = zeros(&mut program.input_shapes.iter())?;
        let results = zeros(&mut program.instrs.iter().map(|i| &i.shape))?;
        Ok(Workspace {
            input_cots: inputs.clone(),
            result_cots: results.clone(),
            input_touched: vec![false; inputs.len()],
            result_touched: vec![false; results.len()],
            inputs,
            results,
        })
    }

    /// Runs the program forward at `inputs` (lengths already checked).
    pub(crate) fn forward(&mut self, program: &Program<'_>, inputs: &[&[f64]]) -> Result<()> {
        for (buffer, data) in self.inputs.iter_mut().zip(inputs) {
            buffer
                .as_slice_mut()
                .ok_or_else(|| Error::internal("replay: an input buffer is not contiguous"))?
                .copy_from_slice(data);
        }
        for (i, instr) in program.instrs.iter().enumerate() {
            let (done, rest) = self.results.split_at_mut(i);
            let out = &mut rest[0];
            let read = |s: Slot| value(s, program.constants, &self.inputs, done);
            with_args(&instr.args, read, |args| {
                match instr.op.forward_into(args, out) {
                    Some(done) => done?,
                    None => *out = forward(instr.op.as_ref(), args)?,
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The value of `s` after [`Workspace::forward`].
    pub(crate) fn value<'a>(&'a self, program: &'a Program<'_>, s: Slot) -> &'a ArrayD<f64> {
        value(s, program.constants, &self.inputs, &self.results)
    }

    /// The reverse pass after [`Workspace::forward`]: `seeds` gives each
    /// output's slot and its cotangent (row-major, its numel); afterwards
    /// [`Workspace::input_gradient`] holds each input's gradient.
    pub(crate) fn reverse(
        &mut self,
        program: &Program<'_>,
        seeds: &[(Slot, Seed<'_>)],
    ) -> Result<()> {
        self.input_touched.iter_mut().for_each(|t| *t = false);
        self.result_touched.iter_mut().for_each(|t| *t = false);
        for &(slot, seed) in seeds {
            let Some(acc) = self.cot_mut(slot) else {
                continue;
            };
            match seed {
                Seed::Ones => acc.iter_mut().for_each(|a| *a += 1.0),
                Seed::Values(data) => acc.iter_mut().zip(data).for_each(|(a, &c)| *a += c),
            }
        }
        // The graph rules of ops without kernels must not record.
        let _unrecorded = GradMode::set(false);
        for (i, instr) in program.instrs.iter().enumerate().rev() {
            if !self.result_touched[i] {
                continue;
            }
            let (cots_before, cots_rest) = self.result_cots.split_at_mut(i);
            let g = &cots_rest[0];
            let y = &self.results[i];
            let (inputs, results) = (&self.inputs, &self.results);
            let (input_cots, input_touched) = (&mut self.input_cots, &mut self.input_touched);
            let result_touched = &mut self.result_touched;
            let read = |s: Slot| value(s, program.constants, inputs, results);
            with_args(&instr.args, read, |args| {
                let mut rule_grads: Option<Vec<Option<Tensor>>> = None;
                for (k, &slot) in instr.args.iter().enumerate() {
                    let acc = match slot {
                        Slot::Constant(_) => continue,
                        Slot::Input(j) => touch(&mut input_cots[j], &mut input_touched[j]),
                        Slot::Result(j) => touch(&mut cots_before[j], &mut result_touched[j]),
                    };
                    if let Some(done) = instr.op.vjp_into(k, args, y, g, acc) {
                        done?;
                        continue;
                    }
                    if rule_grads.is_none() {
                        rule_grads = Some(graph_rule(instr, args, y, g)?);
                    }
                    if let Some(Some(grad)) = rule_grads.as_ref().and_then(|gs| gs.get(k)) {
                        let grad = sum_to(grad.clone(), 0, acc.shape())?;
                        Zip::from(acc).and(grad.value()).for_each(|a, &v| *a += v);
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The gradient of input `k` after [`Workspace::reverse`]: zeros when
    /// nothing reached it.
    pub(crate) fn input_gradient(&mut self, k: usize) -> &ArrayD<f64> {
        touch(&mut self.input_cots[k], &mut self.input_touched[k])
    }

    fn cot_mut(&mut self, s: Slot) -> Option<&mut ArrayD<f64>> {
        match s {
            Slot::Input(k) => Some(touch(&mut self.input_cots[k], &mut self.input_touched[k])),
            Slot::Result(k) => Some(touch(&mut self.result_cots[k], &mut self.result_touched[k])),
            Slot::Constant(_) => None,
        }
    }
}

/// An output's cotangent.
#[derive(Clone, Copy)]
pub(crate) enum Seed<'a> {
    Ones,
    Values(&'a [f64]),
}

fn value<'a>(
    s: Slot,
    constants: &'a [Tensor],
    inputs: &'a [ArrayD<f64>],
    results: &'a [ArrayD<f64>],
) -> &'a ArrayD<f64> {
    match s {
        Slot::Input(k) => &inputs[k],
        Slot::Constant(k) => constants[k].value(),
        Slot::Result(k) => &results[k],
    }
}

/// `f` of an instruction's operands, gathered on the stack for the one- and
/// two-operand ops that most instructions are (no allocation per op).
fn with_args<'a, T>(
    slots: &[Slot],
    read: impl Fn(Slot) -> &'a ArrayD<f64>,
    f: impl FnOnce(&[&'a ArrayD<f64>]) -> Result<T>,
) -> Result<T> {
    match *slots {
        [a] => f(&[read(a)]),
        [a, b] => f(&[read(a), read(b)]),
        _ => f(&slots.iter().map(|&s| read(s)).collect::<Vec<_>>()),
    }
}

/// A cotangent buffer for accumulating into: zeroed on its first use in a
/// pass.
fn touch<'a>(buffer: &'a mut ArrayD<f64>, touched: &mut bool) -> &'a mut ArrayD<f64> {
    if !*touched {
        buffer.fill(0.0);
        *touched = true;
    }
    buffer
}

/// The graph VJP rule of an op without an in-place kernel, run on constant
/// copies of its operands (nothing is recorded).
fn graph_rule(
    instr: &Instr,
    args: &[&ArrayD<f64>],
    y: &ArrayD<f64>,
    g: &ArrayD<f64>,
) -> Result<Vec<Option<Tensor>>> {
    let inputs: Vec<Tensor> = args
        .iter()
        .map(|a| Tensor::constant((*a).clone()))
        .collect();
    let output = Tensor::constant(y.clone());
    let needs = vec![true; inputs.len()];
    let cx = VjpContext {
        inputs: &inputs,
        output: &output,
        lead_shape: &[],
        lead: 0,
        needs: &needs,
    };
    let grads = instr.op.vjp(&cx, &Tensor::constant(g.clone()))?;
    check_rule_arity(instr.op.name(), grads.len(), inputs.len())?;
    Ok(grads)
}
