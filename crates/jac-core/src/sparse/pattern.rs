//! Structural patterns of a recorded program, valid at every point.
//!
//! First order: index sets propagated forward. Every element of every slot
//! (input, constant, result) carries the sorted set of input elements it
//! depends on; an op's output element gets the union of the sets of the
//! operand elements its [`Structure`] names. Constants carry nothing, and
//! an operand that derivatives do not flow to (`Op::differentiable`: a
//! comparison's operands, `where`'s mask) counts as carrying nothing. The
//! Jacobian's row `r` is the set of output element `r`.
//!
//! Second order (the Hessian of a 0-D output): the chain rule gives
//! `H = sum over ops v of (dy/dv) J_u^T (d2 v / du2) J_u`, where `u` are
//! `v`'s operands; so `H`'s pattern is the union, over every op output
//! element that reaches `y` (a reverse pass over the same structures marks
//! them), of `S(p) x S(q)` for every pair of its dependencies `p`, `q` that
//! its second derivative couples ([`Curvature`]), `S` being the first-order
//! sets. Linear and piecewise-linear ops add nothing; a nonlinear function
//! of one operand couples that operand's set with itself; a product couples
//! its two operands' sets; a matrix product couples `a_ik` with `b_kj`.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::function::Function;
use crate::replay::{Instr, Program, Slot};
use crate::sparse::structure::{Curvature, Dep, Structure};

/// The sorted input elements one element depends on, shared: an op that
/// moves values (a reshape, a slice, a broadcast) or whose output elements
/// each depend on one operand element (a unary op) hands its operands' sets
/// on without copying them.
type Set = Arc<[u32]>;

/// Per element of one slot, its set; `None`: it depends on no input.
type Sets = Option<Vec<Set>>;

/// A recorded program and what the analysis keeps per slot.
struct Analysis<'a> {
    program: Program<'a>,
    /// The first-order sets of every slot: inputs, constants, results.
    sets: Vec<Sets>,
    /// The structure of every instruction whose result has sets.
    structures: Vec<Option<Structure>>,
}

impl<'a> Analysis<'a> {
    fn index(&self, s: Slot) -> usize {
        let (n_in, n_c) = (
            self.program.input_shapes.len(),
            self.program.constants.len(),
        );
        match s {
            Slot::Input(k) => k as usize,
            Slot::Constant(k) => n_in + k as usize,
            Slot::Result(k) => n_in + n_c + k as usize,
        }
    }

    /// The sets of an instruction's operands, `None` for an operand that
    /// depends on no input or that derivatives do not flow to (a
    /// comparison's operands, `where`'s mask).
    fn operand_sets(&self, instr: &Instr) -> Vec<Option<&Vec<Set>>> {
        instr
            .args
            .iter()
            .enumerate()
            .map(|(n, &s)| {
                if instr.op.differentiable(n) {
                    self.sets[self.index(s)].as_ref()
                } else {
                    None
                }
            })
            .collect()
    }

    fn shape(&self, s: Slot) -> &'a [usize] {
        match s {
            Slot::Input(k) => &self.program.input_shapes[k as usize],
            Slot::Constant(k) => self.program.constants[k as usize].shape(),
            Slot::Result(k) => &self.program.instrs[k as usize].shape,
        }
    }

    /// Propagates the sets forward from `seeds` (one per input).
    fn run(program: Program<'a>, seeds: Vec<Sets>) -> Result<Analysis<'a>> {
        let n_c = program.constants.len();
        let n_instrs = program.instrs.len();
        let mut a = Analysis {
            program,
            sets: seeds,
            structures: Vec::with_capacity(n_instrs),
        };
        a.sets.extend(std::iter::repeat_with(|| None).take(n_c));
        let mut scratch: Vec<u32> = Vec::new();
        let empty: Set = Arc::from(Vec::new());
        for instr in a.program.instrs {
            let slots: &[Slot] = &instr.args;
            // An empty result depends on nothing (and its structure might
            // still list a lane per position of its huge dims).
            if instr.shape.contains(&0) || a.operand_sets(instr).iter().all(Option::is_none) {
                a.sets.push(None);
                a.structures.push(None);
                continue;
            }
            let shapes: Vec<&[usize]> = slots.iter().map(|&s| a.shape(s)).collect();
            let structure = instr.op.structure(&shapes, &instr.shape)?;
            let n_out = crate::alloc::checked_numel(&instr.shape, "sparsity")?;
            let operand_sets = a.operand_sets(instr);
            let mut out: Vec<Set> = Vec::new();
            out.try_reserve_exact(n_out)
                .map_err(|_| Error::out_of_memory("sparsity: index sets"))?;
            match &structure {
                Structure::Dense => {
                    scratch.clear();
                    for sets in operand_sets.iter().flatten() {
                        sets.iter().for_each(|s| scratch.extend_from_slice(s));
                    }
                    let union = shared(&mut scratch)?;
                    out.extend(std::iter::repeat_n(union, n_out));
                }
                Structure::Map { offsets, .. } => {
                    if offsets.len() != n_out + 1 {
                        return Err(Error::internal(format!(
                            "sparsity: {} described {} elements of {n_out}",
                            instr.op.name(),
                            offsets.len().saturating_sub(1)
                        )));
                    }
                    for e in 0..n_out {
                        // One set (or none): shared as it is; more: merged.
                        let mut first: Option<&Set> = None;
                        let mut many = false;
                        scratch.clear();
                        for d in structure.deps_of(e).unwrap_or(&[]) {
                            let Some(set) = element_set(&operand_sets, d)? else {
                                continue;
                            };
                            match first {
                                None if set.is_empty() => {}
                                None => first = Some(set),
                                Some(f) if Arc::ptr_eq(f, set) || set.is_empty() => {}
                                Some(f) => {
                                    if !many {
                                        scratch.extend_from_slice(f);
                                        many = true;
                                    }
                                    scratch.extend_from_slice(set);
                                }
                            }
                        }
                        out.push(match (first, many) {
                            (None, _) => Arc::clone(&empty),
                            (Some(f), false) => Arc::clone(f),
                            (Some(_), true) => shared(&mut scratch)?,
                        });
                    }
                }
            }
            a.sets.push(Some(out));
            a.structures.push(Some(structure));
        }
        Ok(a)
    }
}

/// The set of the operand element `d`, `None` when that operand has none.
fn element_set<'s>(operand_sets: &[Option<&'s Vec<Set>>], d: &Dep) -> Result<Option<&'s Set>> {
    let sets = operand_sets
        .get(d.operand as usize)
        .ok_or_else(|| Error::internal("sparsity: a dependency on an operand the op lacks"))?;
    match sets {
        None => Ok(None),
        Some(sets) => sets
            .get(d.element)
            .map(Some)
            .ok_or_else(|| Error::internal("sparsity: a dependency past an operand's end")),
    }
}

/// `v` sorted, without repeats, as a new shared set (a large one asked of
/// the allocator first).
fn shared(v: &mut Vec<u32>) -> Result<Set> {
    sort_dedup(v);
    crate::alloc::reserve(v.len().div_ceil(2), &[v.len()], "sparsity: index sets")?;
    Ok(Arc::from(v.as_slice()))
}

fn sort_dedup(v: &mut Vec<u32>) {
    v.sort_unstable();
    v.dedup();
}

/// Sets that name each element of an input by `start + position`.
fn seed(numel: usize, start: usize) -> Result<Vec<Set>> {
    (0..numel)
        .map(|e| {
            u32::try_from(start + e)
                .map(|k| Arc::from([k]))
                .map_err(|_| Error::invalid("sparsity: more than 2^32 input elements"))
        })
        .collect()
}

/// The Jacobian pattern of output `output` with respect to input `input`:
/// for each output element (row-major), the sorted input elements it
/// depends on.
pub(crate) fn jacobian_pattern(f: &Function, output: usize, input: usize) -> Result<Vec<Vec<u32>>> {
    let (program, outputs) = f.recorded_program();
    let seeds = program
        .input_shapes
        .iter()
        .enumerate()
        .map(|(k, shape)| {
            if k == input {
                Ok(Some(seed(crate::alloc::checked_numel(shape, "input")?, 0)?))
            } else {
                Ok(None)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let a = Analysis::run(program, seeds)?;
    let y = outputs[output];
    let m = crate::alloc::checked_numel(a.shape(y), "output")?;
    Ok(match &a.sets[a.index(y)] {
        Some(sets) => sets.iter().map(|s| s.to_vec()).collect(),
        None => vec![Vec::new(); m],
    })
}

/// The Hessian pattern of the 0-D output `output` with respect to every
/// input (flattened and concatenated in order): for each row, the sorted
/// columns, both triangles.
pub(crate) fn hessian_pattern(f: &Function, output: usize) -> Result<Vec<Vec<u32>>> {
    let (program, outputs) = f.recorded_program();
    let outputs = outputs.to_vec();
    let mut start = 0usize;
    let mut seeds = Vec::with_capacity(program.input_shapes.len());
    for shape in program.input_shapes {
        let n = crate::alloc::checked_numel(shape, "input")?;
        seeds.push(Some(seed(n, start)?));
        start += n;
    }
    let total = start;
    let a = Analysis::run(program, seeds)?;
    let program = &a.program;

    // Which elements of each result reach the output (reverse pass).
    let mut live: Vec<Option<Vec<bool>>> = vec![None; program.instrs.len()];
    let mut pairs = Pairs::new(total);
    let Slot::Result(last) = outputs[output] else {
        // An input or a constant: no op, no curvature.
        return Ok(pairs.rows());
    };
    live[last as usize] = Some(vec![true; 1]);
    for i in (0..=last as usize).rev() {
        let (Some(out_live), Some(structure)) = (live[i].take(), &a.structures[i]) else {
            continue;
        };
        if !out_live.iter().any(|&l| l) {
            continue;
        }
        let instr = &program.instrs[i];
        let slots: &[Slot] = &instr.args;
        let operand_sets = a.operand_sets(instr);
        // Mark the operand elements that reach the output.
        for (n, &s) in slots.iter().enumerate() {
            let Slot::Result(k) = s else { continue };
            if operand_sets[n].is_none() {
                continue;
            }
            let len = crate::alloc::checked_numel(a.shape(s), "sparsity")?;
            let marks = live[k as usize].get_or_insert_with(|| vec![false; len]);
            match structure {
                Structure::Dense => marks.iter_mut().for_each(|m| *m = true),
                Structure::Map { .. } => {
                    for (e, _) in out_live.iter().enumerate().filter(|(_, l)| **l) {
                        for d in structure.deps_of(e).unwrap_or(&[]) {
                            if d.operand as usize == n
                                && let Some(m) = marks.get_mut(d.element)
                            {
                                *m = true;
                            }
                        }
                    }
                }
            }
        }
        // The pairs this op's second derivative couples.
        match structure {
            Structure::Dense => {
                let mut all: Vec<u32> = Vec::new();
                for sets in operand_sets.iter().flatten() {
                    sets.iter().for_each(|s| all.extend_from_slice(s));
                }
                sort_dedup(&mut all);
                pairs.product(&all, &all)?;
            }
            Structure::Map { curvature, .. } => {
                for (e, _) in out_live.iter().enumerate().filter(|(_, l)| **l) {
                    let deps = structure.deps_of(e).unwrap_or(&[]);
                    match curvature {
                        Curvature::Linear => {}
                        Curvature::Among(among) => {
                            for &(p, q) in among {
                                for dp in deps.iter().filter(|d| d.operand == p) {
                                    for dq in deps.iter().filter(|d| d.operand == q) {
                                        if let (Some(sp), Some(sq)) = (
                                            element_set(&operand_sets, dp)?,
                                            element_set(&operand_sets, dq)?,
                                        ) {
                                            pairs.product(sp, sq)?;
                                        }
                                    }
                                }
                            }
                        }
                        Curvature::Products => {
                            for term in deps.chunks_exact(2) {
                                if let (Some(sp), Some(sq)) = (
                                    element_set(&operand_sets, &term[0])?,
                                    element_set(&operand_sets, &term[1])?,
                                ) {
                                    pairs.product(sp, sq)?;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(pairs.rows())
}

/// A symmetric pattern being collected: per row, its columns (repeats
/// removed from time to time).
struct Pairs {
    rows: Vec<Vec<u32>>,
    /// Each row's length after its last clean-up.
    clean: Vec<usize>,
}

impl Pairs {
    fn new(n: usize) -> Pairs {
        Pairs {
            rows: vec![Vec::new(); n],
            clean: vec![0; n],
        }
    }

    /// Adds `p x q` and `q x p` for every `p` in `a` and `q` in `b` (a
    /// large product asked of the allocator first).
    fn product(&mut self, a: &[u32], b: &[u32]) -> Result<()> {
        let pairs = a.len().saturating_mul(b.len());
        crate::alloc::reserve(pairs, &[a.len(), b.len()], "sparsity: Hessian pairs")?;
        for (from, to) in [(a, b), (b, a)] {
            for &p in from {
                let row = &mut self.rows[p as usize];
                row.extend_from_slice(to);
                let p = p as usize;
                if row.len() > 2 * self.clean[p] + 64 {
                    sort_dedup(row);
                    self.clean[p] = row.len();
                }
            }
        }
        Ok(())
    }

    fn rows(mut self) -> Vec<Vec<u32>> {
        self.rows.iter_mut().for_each(sort_dedup);
        self.rows
    }
}
