//! Running a recorded program on planned buffers: the forward pass and the
//! reverse pass of a [`crate::Function`], without building a graph.
//!
//! Shapes are fixed when recording, so [`Plan::new`] decides once where
//! every value and cotangent lives: back to back in one arena of values
//! (inputs, constants, then results in program order) and one of
//! cotangents (no room for constants). A reshape takes no room and no step
//! at all: its result is its operand's buffer, read with another shape. A
//! [`Workspace`] holds one pair of arenas, made once and reused by every
//! call that takes it: no allocation and no page faults in the steady
//! state except inside ops without in-place kernels.
//!
//! Ops with flat kernels ([`Flat`]: elementwise ops, slice) run straight on
//! slices of the arenas, from the same statement of each derivative as
//! their graph VJP. Other ops see their operands as array views of the
//! arena and run their in-place kernels ([`Op::forward_into`],
//! [`Op::vjp_into`]) where they have them, else their forward rule (whose
//! result is copied in) and their graph VJP rule on constant tensors
//! (without recording), whose results are added in.

use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn, Zip};

use crate::alloc::try_filled_vec;
use crate::backward::check_rule_arity;
use crate::broadcast::sum_to;
use crate::error::{Error, Result};
use crate::graph::GradMode;
use crate::ops::{Dual, JvpContext, Op, ScalarRule, VjpContext, forward};
use crate::tensor::Tensor;

/// Where an instruction finds an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    /// The function's input `k`.
    Input(u32),
    /// The recorded constant `k`.
    Constant(u32),
    /// The result of instruction `k`.
    Result(u32),
}

impl Slot {
    /// `make(k)` for a `k` that fits a slot.
    pub(crate) fn new(make: fn(u32) -> Slot, k: usize) -> Result<Slot> {
        Ok(make(index32(k)?))
    }
}

/// One recorded op: its rule, where its operands are, its result's shape.
pub(crate) struct Instr {
    pub(crate) op: crate::ops::Rule,
    pub(crate) args: Args,
    pub(crate) shape: Box<[usize]>,
}

/// An instruction's operands: one or two (most ops) inline, more boxed.
pub(crate) enum Args {
    Few([Slot; 2], u8),
    Many(Box<[Slot]>),
}

impl From<Vec<Slot>> for Args {
    fn from(slots: Vec<Slot>) -> Args {
        match *slots {
            [a] => Args::Few([a, a], 1),
            [a, b] => Args::Few([a, b], 2),
            _ => Args::Many(slots.into_boxed_slice()),
        }
    }
}

impl std::ops::Deref for Args {
    type Target = [Slot];

    fn deref(&self) -> &[Slot] {
        match self {
            Args::Few(slots, n) => &slots[..usize::from(*n)],
            Args::Many(slots) => slots,
        }
    }
}

/// `len` values from `start` in an arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    len: usize,
}

impl Span {
    fn of(self, arena: &[f64]) -> Result<&[f64]> {
        arena
            .get(self.start..self.start + self.len)
            .ok_or_else(order)
    }
}

/// One buffer of the plan: `len` values from `value` in the arena of
/// values, and as many cotangents from `cot` in the arena of cotangents
/// (none for a constant).
#[derive(Debug, Clone, Copy)]
struct Buffer {
    value: usize,
    len: usize,
    cot: usize,
}

/// [`Buffer::cot`] of a constant.
const NO_COT: usize = usize::MAX;

impl Buffer {
    fn value(self) -> Span {
        Span {
            start: self.value,
            len: self.len,
        }
    }

    fn cot(self) -> Option<Span> {
        (self.cot != NO_COT).then_some(Span {
            start: self.cot,
            len: self.len,
        })
    }
}

/// How an instruction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Its op's flat kernels on numbers: one or two operands and a result
    /// of one value each.
    Scalar,
    /// Its op's flat kernels, on slices.
    Flat,
    /// Nothing: its result is its operand's buffer (a reshape).
    View,
    /// Its op's array kernels or rules, on views.
    Array,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    kind: Kind,
    /// The result's buffer.
    out: u32,
    /// Its operands' buffers: `Plan::operands[from..to]`.
    from: u32,
    to: u32,
    /// For a scalar step, where its numbers are: the result's value and
    /// cotangent, then each operand's ([`NO_SCALAR`] for a constant's
    /// cotangent or a missing operand).
    scalar: [u32; 6],
    /// A scalar step's rule, inline: replaying it reads nothing else.
    rule: Option<ScalarRule>,
}

/// An entry of [`Step::scalar`] that is not there.
const NO_SCALAR: u32 = u32::MAX;

/// Where everything of a recorded program lives, decided once.
pub(crate) struct Plan {
    buffers: Vec<Buffer>,
    /// The buffer of every slot: inputs, then constants, then results.
    slots: Vec<u32>,
    steps: Vec<Step>,
    operands: Vec<u32>,
    values_len: usize,
    cots_len: usize,
    n_inputs: usize,
    n_constants: usize,
}

impl Plan {
    /// Plans the program's buffers and how each instruction runs.
    pub(crate) fn new(
        input_shapes: &[Vec<usize>],
        constants: &[Tensor],
        instrs: &[Instr],
    ) -> Result<Plan> {
        let (n_inputs, n_constants) = (input_shapes.len(), constants.len());
        let n_slots = n_inputs + n_constants + instrs.len();
        let mut plan = Plan {
            buffers: Vec::with_capacity(n_slots),
            slots: Vec::with_capacity(n_slots),
            steps: Vec::with_capacity(instrs.len()),
            operands: Vec::with_capacity(2 * instrs.len()),
            values_len: 0,
            cots_len: 0,
            n_inputs,
            n_constants,
        };
        for shape in input_shapes {
            plan.place(shape, true)?;
        }
        for c in constants {
            plan.place(c.shape(), false)?;
        }
        for instr in instrs {
            let from = index32(plan.operands.len())?;
            for &s in instr.args.iter() {
                let buffer = plan.buffer_of(s);
                plan.operands.push(buffer);
            }
            let to = index32(plan.operands.len())?;
            let kernel = instr.op.flat().filter(|k| {
                let mut shapes = instr
                    .args
                    .iter()
                    .map(|&s| shape_of(s, input_shapes, constants, instrs));
                k.applies(&mut shapes, &instr.shape)
            });
            let operand = plan.operands[from as usize..].first().copied();
            let (kind, out, scalar, rule) = match (&kernel, operand) {
                (Some(k), Some(s)) if k.is_view() && plan.buffer(s).cot().is_some() => {
                    plan.slots.push(s);
                    (Kind::View, s, [NO_SCALAR; 6], None)
                }
                (k, _) => {
                    let out = plan.place(&instr.shape, true)?;
                    let ones = |b: &u32| plan.buffer(*b).len == 1;
                    let args = &plan.operands[from as usize..];
                    let rule = k.as_ref().and_then(|k| k.scalar_rule());
                    let scalar = (args.len() <= 2 && args.iter().all(ones) && ones(&out))
                        .then(|| plan.scalar_at(out, args))
                        .flatten();
                    match (k, scalar, rule) {
                        (None, _, _) => (Kind::Array, out, [NO_SCALAR; 6], None),
                        (Some(_), Some(at), Some(rule)) => (Kind::Scalar, out, at, Some(rule)),
                        (Some(_), _, _) => (Kind::Flat, out, [NO_SCALAR; 6], None),
                    }
                }
            };
            plan.steps.push(Step {
                kind,
                out,
                from,
                to,
                scalar,
                rule,
            });
        }
        plan.buffers.shrink_to_fit();
        plan.steps.shrink_to_fit();
        plan.slots.shrink_to_fit();
        plan.operands.shrink_to_fit();
        Ok(plan)
    }

    /// A new buffer for a slot of `shape`, with a cotangent or without.
    fn place(&mut self, shape: &[usize], cot: bool) -> Result<u32> {
        let index = index32(self.buffers.len())?;
        let len = crate::alloc::checked_numel(shape, "workspace")?;
        let grow = |end: &mut usize| -> Result<usize> {
            let start = *end;
            *end = start
                .checked_add(len)
                .filter(|&e| e < NO_COT)
                .ok_or_else(|| Error::out_of_memory("workspace: more values than memory holds"))?;
            Ok(start)
        };
        let value = grow(&mut self.values_len)?;
        let cot = if cot {
            grow(&mut self.cots_len)?
        } else {
            NO_COT
        };
        self.buffers.push(Buffer { value, len, cot });
        self.slots.push(index);
        Ok(index)
    }

    /// [`Step::scalar`] of a step from `args` to `out` (buffers of one
    /// value each), unless a position does not fit in 32 bits.
    fn scalar_at(&self, out: u32, args: &[u32]) -> Option<[u32; 6]> {
        let mut at = [NO_SCALAR; 6];
        for (k, &b) in std::iter::once(&out).chain(args).enumerate() {
            let buffer = self.buffer(b);
            at[2 * k] = u32::try_from(buffer.value)
                .ok()
                .filter(|&v| v != NO_SCALAR)?;
            if let Some(cot) = buffer.cot() {
                at[2 * k + 1] = u32::try_from(cot.start).ok().filter(|&v| v != NO_SCALAR)?;
            }
        }
        Some(at)
    }

    /// How each instruction runs, and the lengths of the two arenas.
    #[cfg(test)]
    pub(crate) fn layout(&self) -> (Vec<Kind>, usize, usize) {
        let kinds = self.steps.iter().map(|s| s.kind).collect();
        (kinds, self.values_len, self.cots_len)
    }

    /// The number of cotangents of one pass.
    pub(crate) fn cots_len(&self) -> usize {
        self.cots_len
    }

    fn buffer_of(&self, s: Slot) -> u32 {
        self.slots[match s {
            Slot::Input(k) => k as usize,
            Slot::Constant(k) => self.n_inputs + k as usize,
            Slot::Result(k) => self.n_inputs + self.n_constants + k as usize,
        }]
    }

    fn buffer(&self, b: u32) -> Buffer {
        self.buffers[b as usize]
    }
}

fn shape_of<'a>(
    s: Slot,
    input_shapes: &'a [Vec<usize>],
    constants: &'a [Tensor],
    instrs: &'a [Instr],
) -> &'a [usize] {
    match s {
        Slot::Input(k) => &input_shapes[k as usize],
        Slot::Constant(k) => constants[k as usize].shape(),
        Slot::Result(k) => &instrs[k as usize].shape,
    }
}

fn index32(k: usize) -> Result<u32> {
    u32::try_from(k).map_err(|_| Error::invalid("Function::new: more than 2^32 slots"))
}

/// What a replay reads: the program, its plan and its constants.
pub(crate) struct Program<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) input_shapes: &'a [Vec<usize>],
    pub(crate) constants: &'a [Tensor],
    pub(crate) instrs: &'a [Instr],
}

impl Program<'_> {
    fn shape(&self, s: Slot) -> &[usize] {
        shape_of(s, self.input_shapes, self.constants, self.instrs)
    }

    /// `f` of instruction `i`'s operands (their buffers `operands`) as
    /// array views of `arena` (the values, or the part before `i`'s).
    fn with_views<T>(
        &self,
        i: usize,
        operands: &[u32],
        arena: &[f64],
        f: impl FnOnce(&[ArrayViewD<'_, f64>]) -> Result<T>,
    ) -> Result<T> {
        let slots = &self.instrs.get(i).ok_or_else(order)?.args;
        let read = |n: usize, b: u32| {
            let slot = slots.get(n).copied().ok_or_else(order)?;
            view(self.shape(slot), self.plan.buffer(b).value().of(arena)?)
        };
        with_operands(operands, read, f)
    }
}

/// The buffers of one call: the arena of values (the constants' already
/// in place), the arena of cotangents, and which buffers' cotangents the
/// current reverse pass has reached.
pub(crate) struct Workspace {
    values: Vec<f64>,
    /// `rows` stacked cotangents per buffer.
    cots: Vec<f64>,
    rows: usize,
    touched: Vec<bool>,
    /// A second-order pass's tangents of the values (one row), which
    /// buffers have one, and the tangents of the cotangents.
    tans: Vec<f64>,
    tan_touched: Vec<bool>,
    cot_tans: Vec<f64>,
    /// Room for operands and tangents expanded to a broadcast result's
    /// shape; grown, never shrunk, so steady replays do not allocate.
    scratch: Vec<f64>,
}

impl Workspace {
    /// Buffers for `program`, allocated fallibly.
    pub(crate) fn new(program: &Program<'_>) -> Result<Workspace> {
        let plan = program.plan;
        let mut values = try_filled_vec(plan.values_len, 0.0, "workspace")?;
        for (k, c) in program.constants.iter().enumerate() {
            let span = plan.buffer(plan.slots[plan.n_inputs + k]).value();
            let to = values
                .get_mut(span.start..span.start + span.len)
                .ok_or_else(order)?;
            to.iter_mut()
                .zip(c.value().iter())
                .for_each(|(t, &v)| *t = v);
        }
        Ok(Workspace {
            values,
            cots: try_filled_vec(plan.cots_len, 0.0, "workspace")?,
            rows: 1,
            touched: vec![false; plan.buffers.len()],
            tans: Vec::new(),
            tan_touched: Vec::new(),
            cot_tans: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Runs the program forward at `inputs` (lengths already checked).
    pub(crate) fn forward(&mut self, program: &Program<'_>, inputs: &[&[f64]]) -> Result<()> {
        let plan = program.plan;
        for (k, data) in inputs.iter().enumerate() {
            let span = plan.buffer(plan.slots[k]).value();
            copy(data, span_mut(&mut self.values, span)?)?;
        }
        for (i, step) in plan.steps.iter().enumerate() {
            if step.kind == Kind::View {
                continue;
            }
            if let Some(rule) = step.rule {
                let [y, _, a, _, b, _] = step.scalar;
                let (a, b) = (number(&self.values, a)?, number(&self.values, b)?);
                let y = self.values.get_mut(y as usize).ok_or_else(order)?;
                *y = (rule.value)(a, b, rule.attribute);
                continue;
            }
            let operands = &plan.operands[step.from as usize..step.to as usize];
            let out = plan.buffer(step.out).value();
            // Operands are stored before their consumer.
            let at = out.start.min(self.values.len());
            let (before, after) = self.values.split_at_mut(at);
            let target = after.get_mut(..out.len).ok_or_else(order)?;
            let before = &*before;
            if step.kind == Kind::Flat
                && let Some(kernel) = program.instrs[i].op.flat()
            {
                let slice = |_: usize, b: u32| plan.buffer(b).value().of(before);
                with_operands(operands, slice, |args| {
                    kernel.forward_flat(args, target);
                    Ok(())
                })?;
                continue;
            }
            let op = &*program.instrs[i].op;
            let shape = &program.instrs[i].shape;
            program.with_views(i, operands, before, |args| {
                let mut out = view_mut(shape, target)?;
                match op.forward_into(args, &mut out) {
                    Some(done) => done,
                    None => {
                        let value = forward(op, args)?;
                        if value.shape() != out.shape() {
                            return Err(Error::internal(format!(
                                "replay: {} gave shape {:?} where {:?} was recorded",
                                op.name(),
                                value.shape(),
                                out.shape()
                            )));
                        }
                        // An empty output has nothing to copy; assigning it
                        // lane by lane would walk every lane of a huge empty
                        // shape.
                        if !value.is_empty() {
                            out.assign(&value);
                        }
                        Ok(())
                    }
                }
            })?;
        }
        Ok(())
    }

    /// The values of `s` (row-major) after [`Workspace::forward`].
    pub(crate) fn value(&self, program: &Program<'_>, s: Slot) -> Result<&[f64]> {
        let plan = program.plan;
        plan.buffer(plan.buffer_of(s)).value().of(&self.values)
    }

    /// The reverse pass after [`Workspace::forward`]: `seeds` gives each
    /// output's slot and its cotangent (row-major, its numel); afterwards
    /// [`Workspace::input_gradient`] holds each input's gradient.
    pub(crate) fn reverse(
        &mut self,
        program: &Program<'_>,
        seeds: &[(Slot, Seed<'_>)],
    ) -> Result<()> {
        self.reverse_rows(program, seeds, 1)
    }

    /// [`Workspace::reverse`] for `k` cotangents at once: each seed holds
    /// `k` rows (row-major, `k` times the output's numel; [`Seed::Ones`]
    /// only for `k` = 1), and every op's partials are computed once for
    /// all rows. Afterwards [`Workspace::input_gradient`] holds `k` rows.
    pub(crate) fn reverse_rows(
        &mut self,
        program: &Program<'_>,
        seeds: &[(Slot, Seed<'_>)],
        k: usize,
    ) -> Result<()> {
        let plan = program.plan;
        self.stack_rows(plan, k, "cotangents")?;
        // `touched` tells which cotangents something reached: a
        // cotangent is written by the first contribution (or zeroed when
        // first touched) and accumulates after, so the arena is never
        // cleared whole, and steps nothing reached are skipped (they never
        // multiply a zero by an infinite partial).
        self.touched.iter_mut().for_each(|t| *t = false);
        for &(slot, seed) in seeds {
            let b = plan.buffer_of(slot);
            let Some(acc) = touch(&mut self.cots, plan, b, k, &mut self.touched)? else {
                continue;
            };
            match seed {
                Seed::Ones => acc.iter_mut().for_each(|a| *a += 1.0),
                Seed::Values(data) => acc.iter_mut().zip(data).for_each(|(a, &c)| *a += c),
            }
        }
        // The graph rules of ops without kernels must not record.
        let _unrecorded = GradMode::set(false);
        let values = &self.values;
        for (i, step) in plan.steps.iter().enumerate().rev() {
            if step.kind == Kind::View || !self.touched[step.out as usize] {
                continue;
            }
            let operands = &plan.operands[step.from as usize..step.to as usize];
            if let Some(rule) = &step.rule {
                let [_, g, _, a_cot, _, b_cot] = step.scalar;
                let d = partials_of(values, step, rule)?;
                let g = g as usize * k;
                for ((&buffer, cot), d) in operands.iter().zip([a_cot, b_cot]).zip(d) {
                    if cot == NO_SCALAR {
                        continue;
                    }
                    let first = !self.touched[buffer as usize];
                    self.touched[buffer as usize] = true;
                    if k == 1 {
                        let g = *self.cots.get(g).ok_or_else(order)?;
                        let acc = self.cots.get_mut(cot as usize).ok_or_else(order)?;
                        *acc = if first { g * d } else { *acc + g * d };
                        continue;
                    }
                    // An operand's rows come before its consumer's.
                    let at = g.min(self.cots.len());
                    let (before, after) = self.cots.split_at_mut(at);
                    let g = after.get(..k).ok_or_else(order)?;
                    let at = cot as usize * k;
                    let acc = before.get_mut(at..at + k).ok_or_else(order)?;
                    if first {
                        acc.iter_mut().zip(g).for_each(|(a, &g)| *a = g * d);
                    } else {
                        acc.iter_mut().zip(g).for_each(|(a, &g)| *a += g * d);
                    }
                }
                continue;
            }
            let out = plan.buffer(step.out);
            let out_cot = out.cot().ok_or_else(order)?;
            // An empty result contributes nothing (its rule might still
            // form a lane-sized intermediate of its huge dims).
            if out_cot.len == 0 {
                continue;
            }
            // Cotangents of operands are stored before their consumer's.
            let at = (out_cot.start * k).min(self.cots.len());
            let (before, after) = self.cots.split_at_mut(at);
            let g = &*after.get_mut(..out_cot.len * k).ok_or_else(order)?;
            let y = out.value().of(values)?;
            let touched = &mut self.touched;
            if step.kind == Kind::Flat
                && let Some(kernel) = program.instrs[i].op.flat()
            {
                let slice = |_: usize, b: u32| plan.buffer(b).value().of(values);
                with_operands(operands, slice, |args| {
                    for (n, &b) in operands.iter().enumerate() {
                        if let Some(acc) = touch(before, plan, b, k, touched)? {
                            for (g, acc) in rows(g, k).zip(rows_mut(acc, k)) {
                                kernel.vjp_flat(n, args, y, g, acc);
                            }
                        }
                    }
                    Ok(())
                })?;
                continue;
            }
            let op = &*program.instrs[i].op;
            let shape = &program.instrs[i].shape;
            program.with_views(i, operands, values, |args| {
                let y = view(shape, y)?;
                // One cotangent: the op's own shapes. More: a leading axis
                // of k rows, which every graph rule carries.
                let stacked = |inner: &[usize]| {
                    let mut s = Vec::with_capacity(inner.len() + 1);
                    if k > 1 {
                        s.push(k);
                    }
                    s.extend_from_slice(inner);
                    s
                };
                let lead = usize::from(k > 1);
                let g = view(&stacked(shape), g)?;
                let mut rule_grads: Option<Vec<Option<Tensor>>> = None;
                for (n, &b) in operands.iter().enumerate() {
                    let Some(acc) = touch(before, plan, b, k, touched)? else {
                        continue;
                    };
                    let mut acc = view_mut(&stacked(args[n].shape()), acc)?;
                    if let Some(done) = in_place_vjp(op, n, args, &y, &g, &mut acc, lead) {
                        done?;
                        continue;
                    }
                    if rule_grads.is_none() {
                        rule_grads = Some(graph_rule(op, args, &y, &g, lead)?);
                    }
                    if let Some(Some(grad)) = rule_grads.as_ref().and_then(|gs| gs.get(n)) {
                        let grad = sum_to(grad.clone(), lead, &acc.shape()[lead..])?;
                        if acc.is_empty() {
                            continue;
                        }
                        Zip::from(&mut acc)
                            .and(grad.value())
                            .for_each(|a, &v| *a += v);
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The forward pass of tangents after [`Workspace::forward`]: `seeds`
    /// gives `k` tangents of each input (row-major, `k` times its numel;
    /// `None`: zero), and each step's tangent follows from its operands'
    /// (its op's derivative evaluated once for all `k`), from the same
    /// statements as the graph's JVP rules. Afterwards
    /// [`Workspace::tangent`] holds each slot's `k` rows. Tangents live
    /// where the cotangents of a reverse pass do, and only the ones some
    /// seed reaches are computed; nothing is zeroed or recorded.
    pub(crate) fn forward_tangents(
        &mut self,
        program: &Program<'_>,
        seeds: &[Option<&[f64]>],
        k: usize,
    ) -> Result<()> {
        let plan = program.plan;
        self.stack_rows(plan, k, "tangents")?;
        self.touched.iter_mut().for_each(|t| *t = false);
        for (input, seed) in seeds.iter().enumerate() {
            let Some(data) = seed else { continue };
            let b = *plan.slots.get(input).ok_or_else(order)?;
            if let Some(t) = touch(&mut self.cots, plan, b, k, &mut self.touched)? {
                copy(data, t)?;
            }
        }
        // The graph rules of ops without kernels must not record.
        let _unrecorded = GradMode::set(false);
        let values = &self.values;
        for (i, step) in plan.steps.iter().enumerate() {
            let operands = &plan.operands[step.from as usize..step.to as usize];
            if step.kind == Kind::View || !operands.iter().any(|&b| self.touched[b as usize]) {
                continue;
            }
            let out = plan.buffer(step.out);
            let out_t = out.cot().ok_or_else(order)?;
            self.touched[step.out as usize] = true;
            // An empty result has no tangent to compute (its rule might
            // still form a lane-sized intermediate of its huge dims).
            if out_t.len == 0 {
                continue;
            }
            let touched = &self.touched;
            // Operands' tangents are stored before their consumer's.
            let at = (out_t.start * k).min(self.cots.len());
            let (before, after) = self.cots.split_at_mut(at);
            let target = after.get_mut(..out_t.len * k).ok_or_else(order)?;
            let before = &*before;
            // Operand `n`'s `k` rows of tangents, if a seed reached it.
            let tangent = |b: u32| -> Result<Option<&[f64]>> {
                match plan.buffer(b).cot() {
                    Some(span) if touched[b as usize] => Span {
                        start: span.start * k,
                        len: span.len * k,
                    }
                    .of(before)
                    .map(Some),
                    _ => Ok(None),
                }
            };
            if let Some(rule) = &step.rule {
                let d = partials_of(values, step, rule)?;
                target.fill(0.0);
                for (&buffer, d) in operands.iter().zip(d) {
                    if let Some(t) = tangent(buffer)? {
                        target.iter_mut().zip(t).for_each(|(o, &t)| *o += t * d);
                    }
                }
                continue;
            }
            let y = out.value().of(values)?;
            if step.kind == Kind::Flat
                && let Some(kernel) = program.instrs[i].op.flat()
            {
                let slice = |_: usize, b: u32| plan.buffer(b).value().of(values);
                let done = with_operands(operands, slice, |args| {
                    // Row `r` of each operand's tangents, on the stack for
                    // the one and two operands of elementwise ops.
                    let mut ts: [Option<&[f64]>; 2] = [None, None];
                    let [first, second] = &mut ts;
                    match operands {
                        [a] => *first = tangent(*a)?,
                        [a, b] => (*first, *second) = (tangent(*a)?, tangent(*b)?),
                        _ => return Ok(false),
                    }
                    Ok(kernel.jvp_flat_rows(args, y, &ts[..operands.len()], target, k))
                })?;
                if done {
                    continue;
                }
            }
            // Elementwise ops whose operands broadcast: the same flat
            // tangent kernel on the operands, and on any broadcast tangent
            // row, expanded to the result's shape in scratch (a broadcast
            // graph rule would copy every tangent in and its result out).
            if let Some(kernel) = program.instrs[i].op.flat()
                && kernel.scalar_rule().is_some()
                && let [oa, ob] = *operands
            {
                let shape = &program.instrs[i].shape;
                let n = out.value().len;
                let (ta, tb) = (tangent(oa)?, tangent(ob)?);
                let scratch = &mut self.scratch;
                let done = program.with_views(i, operands, values, |args| {
                    at_least(scratch, 4 * n, "broadcast tangents")?;
                    let (ea, rest) = scratch.split_at_mut(n);
                    let (eb, rest) = rest.split_at_mut(n);
                    let (ra, rest) = rest.split_at_mut(n);
                    let rb = &mut rest[..n];
                    let a =
                        full_or_expanded(&args[0], shape, plan.buffer(oa).value().of(values)?, ea)?;
                    let b =
                        full_or_expanded(&args[1], shape, plan.buffer(ob).value().of(values)?, eb)?;
                    let (la, lb) = (args[0].len(), args[1].len());
                    for (r, out_row) in rows_mut(target, k).enumerate() {
                        let row_a = match ta {
                            Some(t) => {
                                Some(full_or_expanded(&args[0], shape, row_of(t, r, la)?, ra)?)
                            }
                            None => None,
                        };
                        let row_b = match tb {
                            Some(t) => {
                                Some(full_or_expanded(&args[1], shape, row_of(t, r, lb)?, rb)?)
                            }
                            None => None,
                        };
                        if !kernel.jvp_flat(&[a, b], y, &[row_a, row_b], out_row) {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?;
                if done {
                    continue;
                }
            }
            let op = &*program.instrs[i].op;
            let shape = &program.instrs[i].shape;
            // Ops with a tangent kernel into a buffer: row by row, straight
            // into the planned tangents.
            let in_place = program.with_views(i, operands, values, |args| {
                let ts = operands
                    .iter()
                    .map(|&b| tangent(b))
                    .collect::<Result<Vec<_>>>()?;
                let y = view(shape, y)?;
                for (r, out_row) in rows_mut(target, k).enumerate() {
                    let row_ts = ts
                        .iter()
                        .zip(args)
                        .map(|(t, a)| {
                            t.map(|t| view(a.shape(), row_of(t, r, a.len())?))
                                .transpose()
                        })
                        .collect::<Result<Vec<_>>>()?;
                    match op.jvp_into(args, &y, &row_ts, &mut view_mut(shape, out_row)?) {
                        None => return Ok(false),
                        Some(done) => done?,
                    }
                }
                Ok(true)
            })?;
            if in_place {
                continue;
            }
            program.with_views(i, operands, values, |args| {
                let lead = usize::from(k > 1);
                let stacked = |inner: &[usize]| {
                    let mut s = Vec::with_capacity(inner.len() + 1);
                    if k > 1 {
                        s.push(k);
                    }
                    s.extend_from_slice(inner);
                    s
                };
                let mut ts = Vec::with_capacity(args.len());
                for (&b, a) in operands.iter().zip(args) {
                    ts.push(match tangent(b)? {
                        Some(t) => Some(Tensor::constant(view(&stacked(a.shape()), t)?.to_owned())),
                        None => None,
                    });
                }
                let t = graph_jvp(op, args, &view(shape, y)?, &ts, lead)?;
                let full = stacked(shape);
                if t.shape() == full.as_slice()
                    && let Some(values) = t.value().as_slice()
                {
                    copy(values, target)?;
                    return Ok(());
                }
                let t = t.value().broadcast(IxDyn(&full)).ok_or_else(|| {
                    Error::internal(format!(
                        "replay: {}'s tangent of shape {:?} does not broadcast to {full:?}",
                        op.name(),
                        t.shape()
                    ))
                })?;
                view_mut(&full, target)?.assign(&t);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Slot `s`'s `k` rows of tangents after [`Workspace::forward_tangents`];
    /// `None` when no seed reached it (its tangent is 0).
    pub(crate) fn tangent(&self, plan: &Plan, s: Slot) -> Result<Option<&[f64]>> {
        let b = plan.buffer_of(s);
        match plan.buffer(b).cot() {
            Some(span) if self.touched[b as usize] => Span {
                start: span.start * self.rows,
                len: span.len * self.rows,
            }
            .of(&self.cots)
            .map(Some),
            _ => Ok(None),
        }
    }

    /// The Hessian of the 0-D output `output` times the direction
    /// `directions` (one per input, `None`: zero), after
    /// [`Workspace::forward`]: a forward pass of the direction's tangents,
    /// then a reverse pass that carries each cotangent and its derivative
    /// along the direction (forward over reverse, on the planned buffers).
    /// Each elementwise op's partials are its one derivative statement
    /// evaluated on duals; other ops differentiate their graph VJP rule on
    /// a graph of that one op. Afterwards [`Workspace::input_hvp`] holds
    /// each input's product.
    pub(crate) fn hessian_vector(
        &mut self,
        program: &Program<'_>,
        output: Slot,
        directions: &[Option<&[f64]>],
    ) -> Result<()> {
        let plan = program.plan;
        self.forward_tangents(program, directions, 1)?;
        std::mem::swap(&mut self.cots, &mut self.tans);
        std::mem::swap(&mut self.touched, &mut self.tan_touched);
        // Both arenas are zeroed buffer by buffer as the pass first reaches
        // each (see `first_touch`), never whole.
        for arena in [&mut self.cots, &mut self.cot_tans] {
            sized(arena, plan.cots_len, "cotangents")?;
        }
        self.touched.clear();
        self.touched.resize(plan.buffers.len(), false);
        self.rows = 1;
        let b = plan.buffer_of(output);
        first_touch(&mut self.cot_tans, plan, b, &self.touched)?;
        if let Some(seed) = touch(&mut self.cots, plan, b, 1, &mut self.touched)? {
            seed.iter_mut().for_each(|g| *g = 1.0);
        }
        let _unrecorded = GradMode::set(false);
        let (values, tans, tan_touched) = (&self.values, &self.tans, &self.tan_touched);
        // The tangent of buffer `b`'s values, if the direction reached it.
        let tangent = |b: u32| -> Result<Option<&[f64]>> {
            match plan.buffer(b).cot() {
                Some(span) if tan_touched.get(b as usize).copied().unwrap_or(false) => {
                    span.of(tans).map(Some)
                }
                _ => Ok(None),
            }
        };
        for (i, step) in plan.steps.iter().enumerate().rev() {
            if step.kind == Kind::View || !self.touched[step.out as usize] {
                continue;
            }
            let operands = &plan.operands[step.from as usize..step.to as usize];
            if let Some(rule) = step.rule {
                let [y, g, a, a_cot, b, b_cot] = step.scalar;
                // Tangents sit where cotangents do: a buffer's tangent is at
                // its cotangent's position when the direction reached it.
                let tan_of = |n: usize, cot: u32| -> Result<f64> {
                    let reached = operands.get(n).is_some_and(|&b| tan_touched[b as usize]);
                    if cot == NO_SCALAR || !reached {
                        return Ok(0.0);
                    }
                    tans.get(cot as usize).copied().ok_or_else(order)
                };
                let out_reached = tan_touched[step.out as usize];
                let ty = if out_reached {
                    *tans.get(g as usize).ok_or_else(order)?
                } else {
                    0.0
                };
                let d = (rule.partials_dual)(
                    Dual::new(number(values, a)?, tan_of(0, a_cot)?),
                    Dual::new(number(values, b)?, tan_of(1, b_cot)?),
                    Dual::new(number(values, y)?, ty),
                    rule.attribute,
                );
                let gv = *self.cots.get(g as usize).ok_or_else(order)?;
                let gt = *self.cot_tans.get(g as usize).ok_or_else(order)?;
                for ((&buffer, cot), d) in operands.iter().zip([a_cot, b_cot]).zip(d) {
                    if cot == NO_SCALAR {
                        continue;
                    }
                    first_touch(&mut self.cots, plan, buffer, &self.touched)?;
                    first_touch(&mut self.cot_tans, plan, buffer, &self.touched)?;
                    self.touched[buffer as usize] = true;
                    *self.cots.get_mut(cot as usize).ok_or_else(order)? += gv * d.v;
                    *self.cot_tans.get_mut(cot as usize).ok_or_else(order)? +=
                        gt * d.v + if gv == 0.0 { 0.0 } else { gv * d.t };
                }
                continue;
            }
            let out = plan.buffer(step.out);
            let out_cot = out.cot().ok_or_else(order)?;
            // An empty result contributes nothing.
            if out_cot.len == 0 {
                continue;
            }
            let at = out_cot.start.min(self.cots.len());
            let (before, after) = self.cots.split_at_mut(at);
            let (before_t, after_t) = self.cot_tans.split_at_mut(at);
            let g = after.get(..out_cot.len).ok_or_else(order)?;
            let gt = after_t.get(..out_cot.len).ok_or_else(order)?;
            let y = out.value().of(values)?;
            let ty = tangent(step.out)?;
            let touched = &mut self.touched;
            let mut done = false;
            if step.kind == Kind::Flat
                && let Some(kernel) = program.instrs[i].op.flat()
            {
                let slice = |_: usize, b: u32| plan.buffer(b).value().of(values);
                done = with_operands(operands, slice, |args| {
                    let tx = operands
                        .iter()
                        .map(|&b| tangent(b))
                        .collect::<Result<Vec<_>>>()?;
                    for (n, &b) in operands.iter().enumerate() {
                        let Some(span) = plan.buffer(b).cot() else {
                            continue;
                        };
                        let acc = span_mut(before, span)?;
                        let acc_t = span_mut(before_t, span)?;
                        if !touched[b as usize] {
                            acc.fill(0.0);
                            acc_t.fill(0.0);
                            touched[b as usize] = true;
                        }
                        if !kernel.hvp_flat(n, args, &tx, y, ty, g, gt, acc, acc_t) {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?;
            }
            if done {
                continue;
            }
            let op = &program.instrs[i].op;
            let shape = &program.instrs[i].shape;
            program.with_views(i, operands, values, |args| {
                let tx = operands
                    .iter()
                    .zip(args)
                    .map(|(&b, a)| match tangent(b)? {
                        Some(t) => Ok(Some(view(a.shape(), t)?.to_owned())),
                        None => Ok(None),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let (grads, grads_t) =
                    graph_hvp(op, args, &tx, &view(shape, g)?, &view(shape, gt)?)?;
                for (n, &b) in operands.iter().enumerate() {
                    let Some(span) = plan.buffer(b).cot() else {
                        continue;
                    };
                    if !touched[b as usize] {
                        span_mut(before, span)?.fill(0.0);
                        span_mut(before_t, span)?.fill(0.0);
                        touched[b as usize] = true;
                    }
                    for (grad, arena) in [(&grads[n], &mut *before), (&grads_t[n], &mut *before_t)]
                    {
                        let Some(grad) = grad else { continue };
                        let grad = sum_to(grad.clone(), 0, args[n].shape())?;
                        let values = grad.value().as_standard_layout();
                        let values = values.as_slice().ok_or_else(order)?;
                        span_mut(arena, span)?
                            .iter_mut()
                            .zip(values)
                            .for_each(|(a, &v)| *a += v);
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Input `k`'s Hessian-vector product after
    /// [`Workspace::hessian_vector`]: zeros when the output does not
    /// depend on it.
    pub(crate) fn input_hvp(&self, plan: &Plan, k: usize) -> Result<Option<&[f64]>> {
        let b = plan.slots[k];
        match plan.buffer(b).cot() {
            Some(span) if self.touched[b as usize] => span.of(&self.cot_tans).map(Some),
            _ => Ok(None),
        }
    }

    /// Room for `k` rows of cotangents (or tangents: `what`) of every
    /// buffer, allocated fallibly when `k` changes.
    fn stack_rows(&mut self, plan: &Plan, k: usize, what: &str) -> Result<()> {
        let len = plan.cots_len.checked_mul(k).ok_or_else(|| {
            Error::out_of_memory(format!("workspace: more {what} than memory holds"))
        })?;
        sized(&mut self.cots, len, what)?;
        self.rows = k;
        Ok(())
    }

    /// The gradient of input `k` (row-major) after [`Workspace::reverse`]:
    /// zeros when nothing reached it.
    pub(crate) fn input_gradient(&mut self, plan: &Plan, k: usize) -> Result<&[f64]> {
        let rows = self.rows;
        match touch(&mut self.cots, plan, plan.slots[k], rows, &mut self.touched)? {
            Some(g) => Ok(g),
            None => Err(Error::internal("replay: an input has no cotangent")),
        }
    }
}

/// An output's cotangent.
#[derive(Clone, Copy)]
pub(crate) enum Seed<'a> {
    Ones,
    Values(&'a [f64]),
}

/// `arena` made `len` values long, allocated fallibly when its length
/// changes (`what` names them in the error).
fn sized(arena: &mut Vec<f64>, len: usize, what: &str) -> Result<()> {
    if arena.len() != len {
        arena.clear();
        arena
            .try_reserve_exact(len)
            .map_err(|_| Error::out_of_memory(format!("workspace: {len} {what}")))?;
        arena.resize(len, 0.0);
    }
    Ok(())
}

/// `arena` at least `len` values long (grown fallibly, never shrunk).
fn at_least(arena: &mut Vec<f64>, len: usize, what: &str) -> Result<()> {
    if arena.len() < len {
        arena
            .try_reserve_exact(len - arena.len())
            .map_err(|_| Error::out_of_memory(format!("workspace: {len} {what}")))?;
        arena.resize(len, 0.0);
    }
    Ok(())
}

/// `data` (laid out as `like`) as `shape`'s row-major values: itself when
/// it has them all, else broadcast into `room`.
fn full_or_expanded<'a>(
    like: &ArrayViewD<'_, f64>,
    shape: &[usize],
    data: &'a [f64],
    room: &'a mut [f64],
) -> Result<&'a [f64]> {
    if data.len() == room.len() {
        return Ok(data);
    }
    let from = view(like.shape(), data)?;
    let from = from.broadcast(IxDyn(shape)).ok_or_else(|| {
        Error::internal(format!(
            "replay: an operand of shape {:?} does not broadcast to {shape:?}",
            like.shape()
        ))
    })?;
    view_mut(shape, room)?.assign(&from);
    Ok(room)
}

/// Row `r` of `k` stacked rows of `len` values.
fn row_of(data: &[f64], r: usize, len: usize) -> Result<&[f64]> {
    data.get(r * len..(r + 1) * len).ok_or_else(order)
}

/// A scalar step's partials, from its rule on the values.
#[inline]
fn partials_of(values: &[f64], step: &Step, rule: &ScalarRule) -> Result<[f64; 2]> {
    let [y, _, a, _, b, _] = step.scalar;
    Ok((rule.partials)(
        number(values, a)?,
        number(values, b)?,
        number(values, y)?,
        rule.attribute,
    ))
}

fn order() -> Error {
    Error::internal("replay: a buffer is not before its consumer's")
}

/// The number at `at` of an arena; 0 for [`NO_SCALAR`] (an operand a
/// one-operand step does not have).
#[inline]
fn number(arena: &[f64], at: u32) -> Result<f64> {
    if at == NO_SCALAR {
        return Ok(0.0);
    }
    arena.get(at as usize).copied().ok_or_else(order)
}

fn span_mut(arena: &mut [f64], s: Span) -> Result<&mut [f64]> {
    arena.get_mut(s.start..s.start + s.len).ok_or_else(order)
}

/// The cotangent of buffer `b` for accumulating into, marked as reached
/// (and zeroed when it was not: arenas are not cleared between passes);
/// `None` for a constant. `cots` is the arena, or the part of it before
/// the cotangent being read.
#[inline]
fn touch<'a>(
    cots: &'a mut [f64],
    plan: &Plan,
    b: u32,
    k: usize,
    touched: &mut [bool],
) -> Result<Option<&'a mut [f64]>> {
    let Some(span) = plan.buffer(b).cot() else {
        return Ok(None);
    };
    let rows = Span {
        start: span.start * k,
        len: span.len * k,
    };
    let acc = span_mut(cots, rows)?;
    if !touched[b as usize] {
        acc.fill(0.0);
        touched[b as usize] = true;
    }
    Ok(Some(acc))
}

/// Zeroes buffer `b`'s single-row span of `arena` when the pass has not
/// reached `b` yet (the caller marks it reached).
fn first_touch(arena: &mut [f64], plan: &Plan, b: u32, touched: &[bool]) -> Result<()> {
    if let Some(span) = plan.buffer(b).cot()
        && !touched.get(b as usize).copied().unwrap_or(true)
    {
        span_mut(arena, span)?.fill(0.0);
    }
    Ok(())
}

/// The `k` rows of a stacked buffer.
fn rows(data: &[f64], k: usize) -> impl Iterator<Item = &[f64]> {
    let len = data.len() / k.max(1);
    (0..k).map(move |r| &data[r * len..(r + 1) * len])
}

/// The `k` rows of a stacked buffer, to write.
fn rows_mut(data: &mut [f64], k: usize) -> impl Iterator<Item = &mut [f64]> {
    let len = data.len() / k.max(1);
    // `chunks_exact_mut(0)` would panic: empty rows are k empty slices.
    let chunk = len.max(1);
    data.chunks_exact_mut(chunk)
        .chain(std::iter::repeat_with(|| &mut [][..]))
        .take(k)
}

fn view<'a>(shape: &[usize], data: &'a [f64]) -> Result<ArrayViewD<'a, f64>> {
    ArrayViewD::from_shape(IxDyn(shape), data).map_err(|e| Error::internal(format!("replay: {e}")))
}

fn view_mut<'a>(shape: &[usize], data: &'a mut [f64]) -> Result<ArrayViewMutD<'a, f64>> {
    ArrayViewMutD::from_shape(IxDyn(shape), data)
        .map_err(|e| Error::internal(format!("replay: {e}")))
}

fn copy(from: &[f64], to: &mut [f64]) -> Result<()> {
    if from.len() != to.len() {
        return Err(Error::internal(format!(
            "replay: {} values for a buffer of {}",
            from.len(),
            to.len()
        )));
    }
    to.copy_from_slice(from);
    Ok(())
}

/// `f` of an instruction's operands (`read` of each operand's position and
/// buffer), gathered on the stack for the one- and two-operand ops that
/// most instructions are (no allocation per op).
fn with_operands<'a, A: 'a, T>(
    operands: &[u32],
    read: impl Fn(usize, u32) -> Result<A>,
    f: impl FnOnce(&[A]) -> Result<T>,
) -> Result<T> {
    match *operands {
        [a] => f(&[read(0, a)?]),
        [a, b] => f(&[read(0, a)?, read(1, b)?]),
        _ => f(&operands
            .iter()
            .enumerate()
            .map(|(k, &b)| read(k, b))
            .collect::<Result<Vec<_>>>()?),
    }
}

/// [`Op::vjp_into`] of an op's operand `n`, row after row when the
/// cotangent `g` stacks rows along a `lead` axis; `None` when the op has no
/// such kernel.
fn in_place_vjp(
    op: &dyn Op,
    n: usize,
    args: &[ArrayViewD<'_, f64>],
    y: &ArrayViewD<'_, f64>,
    g: &ArrayViewD<'_, f64>,
    acc: &mut ArrayViewMutD<'_, f64>,
    lead: usize,
) -> Option<Result<()>> {
    if lead == 0 {
        return op.vjp_into(n, args, y, g, acc);
    }
    for (g, mut acc) in g.outer_iter().zip(acc.outer_iter_mut()) {
        match op.vjp_into(n, args, y, &g, &mut acc)? {
            Ok(()) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(()))
}

/// The graph JVP rule of an op without a flat tangent kernel, run on
/// constant copies of its operands (nothing is recorded); the tangents
/// stack rows along `lead` (0 or 1) leading axes.
fn graph_jvp(
    op: &dyn Op,
    args: &[ArrayViewD<'_, f64>],
    y: &ArrayViewD<'_, f64>,
    tangents: &[Option<Tensor>],
    lead: usize,
) -> Result<Tensor> {
    let inputs: Vec<Tensor> = args
        .iter()
        .map(|a| Tensor::constant(a.to_owned()))
        .collect();
    let output = Tensor::constant(y.to_owned());
    let lead_shape = tangents
        .iter()
        .flatten()
        .next()
        .map(|t| t.shape()[..lead].to_vec())
        .unwrap_or_default();
    let cx = JvpContext {
        inputs: &inputs,
        output: &output,
        lead_shape: &lead_shape,
    };
    op.jvp(&cx, tangents)
}

/// One gradient per operand (`None`: none flows to it).
type Grads = Vec<Option<Tensor>>;

/// A second-order VJP of an op without a flat kernel: its graph VJP rule
/// on a graph of this one op (operands as leaves `x`), so that the
/// gradients `vjp(x, g)` can be swept forward along the operands' tangents
/// `tx`; with the rule applied to `gt`, the tangent of each gradient is
/// `vjp(x, gt) + d vjp(x, g) / dx [tx]`. Returns both per operand.
fn graph_hvp(
    op: &crate::ops::Rule,
    args: &[ArrayViewD<'_, f64>],
    tx: &[Option<ndarray::ArrayD<f64>>],
    g: &ArrayViewD<'_, f64>,
    gt: &ArrayViewD<'_, f64>,
) -> Result<(Grads, Grads)> {
    let _recorded = GradMode::set(true);
    let xs: Vec<Tensor> = args
        .iter()
        .map(|a| Tensor::new(a.to_owned(), true))
        .collect();
    let y = crate::ops::apply_shared(op.clone(), xs.clone())?;
    let needs = vec![true; xs.len()];
    let cx = VjpContext {
        inputs: &xs,
        output: &y,
        lead_shape: &[],
        lead: 0,
        needs: &needs,
    };
    let grads = op.vjp(&cx, &Tensor::constant(g.to_owned()))?;
    check_rule_arity(op.name(), grads.len(), xs.len())?;
    let grads_gt = op.vjp(&cx, &Tensor::constant(gt.to_owned()))?;
    // The gradients' tangents along tx, by one forward sweep of the
    // one-op graph (gradients that do not depend on x have none).
    let present: Vec<Tensor> = grads.iter().flatten().cloned().collect();
    let tangents = xs
        .iter()
        .zip(tx)
        .map(|(x, t)| match t {
            Some(t) => Ok(Tensor::constant(t.clone())),
            None => Tensor::zeros(x.shape()),
        })
        .collect::<Result<Vec<_>>>()?;
    let swept = crate::forward::jvp(&present, &xs, &tangents, false)?;
    let mut swept = swept.into_iter();
    let mut out_t = Vec::with_capacity(xs.len());
    for (grad, extra) in grads.iter().zip(grads_gt) {
        out_t.push(match (grad, extra) {
            (Some(_), Some(e)) => {
                let d = swept.next().ok_or_else(order)?;
                Some(crate::ops::add(&d, &e)?)
            }
            (Some(_), None) => swept.next(),
            (None, e) => e,
        });
    }
    let grads = grads.into_iter().map(|g| g.map(|g| g.detach())).collect();
    Ok((grads, out_t))
}

/// The graph VJP rule of an op without an in-place kernel, run on constant
/// copies of its operands (nothing is recorded); `g` stacks rows along
/// `lead` (0 or 1) leading axes.
fn graph_rule(
    op: &dyn Op,
    args: &[ArrayViewD<'_, f64>],
    y: &ArrayViewD<'_, f64>,
    g: &ArrayViewD<'_, f64>,
    lead: usize,
) -> Result<Vec<Option<Tensor>>> {
    let inputs: Vec<Tensor> = args
        .iter()
        .map(|a| Tensor::constant(a.to_owned()))
        .collect();
    let output = Tensor::constant(y.to_owned());
    let needs = vec![true; inputs.len()];
    let lead_shape = &g.shape()[..lead];
    let cx = VjpContext {
        inputs: &inputs,
        output: &output,
        lead_shape,
        lead,
        needs: &needs,
    };
    let grads = op.vjp(&cx, &Tensor::constant(g.to_owned()))?;
    check_rule_arity(op.name(), grads.len(), inputs.len())?;
    Ok(grads)
}
