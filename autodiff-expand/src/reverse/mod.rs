//! Reverse mode (VJP): the primal sweep, then the adjoint sweep over the statements in
//! reverse order.
//!
//! - Straight-line code: adjoints are single-assignment `let`s; the first contribution
//!   defines an adjoint and later ones add to it. No zero-initialised accumulators, no
//!   allocation.
//! - Locations (`let mut` assigned in a branch or loop), arrays, and values that receive
//!   contributions inside a branch or loop get one mutable accumulator each, created once
//!   (an array's adjoint is one array, not one per iteration).
//! - Branches and loops are reversed in place (`for i in (a..b).rev()`). A reversed block
//!   first brings the primal values its adjoint needs back into scope: values computed from
//!   data that does not change (read-only inputs, loop indices, values defined outside the
//!   block) are recomputed; the rest (reads of locations, of arrays the function writes,
//!   of impure code) were pushed on a value stack of their own during the primal sweep and
//!   are popped (Tapenade's "to be recorded" analysis, with recomputation). So `s += e`
//!   saves nothing, and `x = r * x * (1 - x)` saves one float per iteration.
//! - A loop body whose inner loops would save values is instead run again at the head of
//!   its reversed iteration where that gives the primal's values (`replay`), or, for a
//!   top-level loop that only adds into a running sum, its iterations' adjoints run in the
//!   primal sweep (`Rev::fused_reversal`); inside such a loop, an inner loop restores its
//!   scratch arrays from snapshots instead of replaying (`Rev::snapshot_block`). A running
//!   index into packed storage is stepped back rather than saved (`Rev::undo`).
//! - A reversed loop that adds to `acc[i + 1]` and `acc[i]`, or to `acc[a]` with `a` fixed,
//!   keeps the running part in a register (`carry_neighbour`, `invariant_accumulations`).
//!
//! This file is the driver (`reverse`, the `Rev` state, accumulators); the rest by concept:
//! `adjoints` (each statement's adjoint), `strategy` (how a loop or branch is reversed, and
//! the trials between the ways), `saving` (recompute, push and pop, step back), `carries`
//! (register carries of accumulations), `replay` (running a loop body again); the IR
//! analyses they share are in `ir::analysis`.
use crate::activity::Activity;
use crate::ir::{fresh, walk, Builder, Call, Function, Op, Operand, Origin, Rhs, Stmt, Var, VarId};
use crate::rules;
use proc_macro2::Span;
use std::collections::{HashMap, HashSet};

mod adjoints;
mod carries;
mod replay;
mod saving;
mod strategy;

use crate::ir::analysis::*;
use adjoints::*;
use carries::*;
use saving::*;
use strategy::*;

pub struct Reverse {
    /// The primal sweep (with pushes) followed by the adjoint sweep.
    pub f: Function,
    /// The adjoint of each `wrt` entry; `None` where no unstopped path reaches an output.
    pub grads: Vec<Option<Operand>>,
}

#[derive(Clone)]
struct Rev<'a> {
    primal: &'a Function,
    act: &'a Activity,
    vars: Vec<Var>,
    /// The adjoint accumulated so far, per variable.
    adj: Vec<Option<Operand>>,
    /// The mutable accumulator of a variable, while contributions go through one.
    acc: Vec<Option<VarId>>,
    /// For each top-level statement, the locations and arrays it or any later statement
    /// writes: a read inside it of anything else gives the same value in the adjoint sweep.
    written_from: Vec<HashSet<VarId>>,
    /// How many statements of the function (nested ones included) write each location or
    /// array.
    writes: HashMap<VarId, usize>,
    /// The top-level statement being reversed.
    top: usize,
    /// How each variable of the primal is defined (`Let` right-hand sides), and how often it
    /// is read.
    defs: HashMap<VarId, Rhs>,
    reads: Vec<usize>,
    /// Snapshots `s` of `s = s + e`: the adjoint of the location passes through them.
    passthrough: Vec<bool>,
    /// The values of the assignments that are increments (`current_snapshots`).
    increments: HashSet<VarId>,
    /// Values saved during the primal sweep, each with its own stack.
    stacks: Vec<(VarId, VarId)>,
    /// The loop body being reversed by replay (see `replay`), if any.
    replay: Option<replay::Replay>,
    /// Values pushed by a replay in the adjoint sweep, not by the primal sweep.
    replayed: HashSet<VarId>,
    /// How many loop bodies were reversed by replay so far.
    replays: usize,
    /// What the primal sweep gets besides pushes, around its loops.
    inserts: Inserts,
}

/// Statements the primal sweep runs before a loop and at the end of its body, by the loop's
/// index: a fused loop's unit adjoints and its iterations' adjoint (`Rev::fused_reversal`),
/// the end-of-iteration snapshots of a loop inside one (`Rev::snapshot_block`).
#[derive(Clone, Default)]
struct Inserts {
    before: HashMap<VarId, Vec<Stmt>>,
    tails: HashMap<VarId, Vec<Stmt>>,
    /// By the variable a `let` defines: statements right after it (the pushes of the arrays
    /// a call read, `Rev::call_arguments`).
    after: HashMap<VarId, Vec<Stmt>>,
    /// Stacks these pushes use, created empty before the primal sweep.
    stacks: Vec<VarId>,
}

/// `seeds[k]` is the cotangent of output `k` (TensorFlow's `grad_ys`).
pub fn reverse(primal: &Function, act: &Activity, wrt: &[VarId], seeds: &[Operand]) -> Reverse {
    let n = primal.vars.len();
    let mut r = Rev {
        primal,
        act,
        vars: primal.vars.clone(),
        adj: vec![None; n],
        acc: vec![None; n],
        written_from: written_from(&primal.body),
        writes: write_counts(&primal.body),
        top: 0,
        defs: definitions(&primal.body),
        reads: read_counts(&primal.body, n),
        passthrough: vec![false; n],
        increments: HashSet::new(),
        stacks: Vec::new(),
        replay: None,
        replayed: HashSet::new(),
        replays: 0,
        inserts: Inserts::default(),
    };
    r.increments = current_snapshots(&primal.vars, &r.defs, &primal.body);
    let mut adjoint = Vec::new();
    // Accumulators of top-level locations and of arrays, created once.
    let top_level: Vec<VarId> = primal
        .params
        .iter()
        .copied()
        .chain(primal.body.iter().filter_map(Stmt::dst))
        .collect();
    for v in top_level {
        if act.is_active(v) && (r.vars[v].mutable || r.vars[v].is_array()) {
            r.new_accumulator(v, Operand::Var(v), &mut adjoint);
        }
    }
    for (out, seed) in primal.outputs.iter().zip(seeds) {
        let Some(v) = out.var().filter(|&v| act.varied[v]) else {
            continue;
        };
        match r.acc[v].filter(|_| r.vars[v].is_array()) {
            // An array output: its seed is added element by element.
            Some(acc) => adjoint.push(elementwise_add(
                &mut r.vars,
                acc,
                seed.clone(),
                None,
                Span::call_site(),
            )),
            None => r.accumulate(v, (seed.clone(), false), &mut adjoint),
        }
    }
    for (k, stmt) in primal.body.iter().enumerate().rev() {
        r.top = k;
        r.stmt(stmt, &mut adjoint);
    }
    let mut body: Vec<Stmt> = Vec::new();
    for &stack in r.stacks.iter().map(|(_, s)| s).chain(&r.inserts.stacks) {
        body.push(Stmt::Let {
            dst: Some(stack),
            rhs: Rhs::NewStack,
            span: Span::call_site(),
        });
    }
    let pushes: HashMap<VarId, VarId> = r
        .stacks
        .iter()
        .copied()
        .filter(|(value, _)| !r.replayed.contains(value))
        .collect();
    body.extend(with_pushes(&primal.body, &pushes, &r.inserts));
    body.extend(adjoint);
    let grads = wrt.iter().map(|&w| r.adj[w].clone()).collect();
    Reverse {
        f: Function {
            vars: r.vars,
            params: primal.params.clone(),
            body,
            outputs: primal.outputs.clone(),
        },
        grads,
    }
}

/// The primal statements, each saved value pushed right after it is computed, with the
/// `inserts` around their loops.
fn with_pushes(block: &[Stmt], pushes: &HashMap<VarId, VarId>, inserts: &Inserts) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(block.len());
    for stmt in block {
        let mut stmt = stmt.clone();
        for inner in stmt.blocks_mut() {
            *inner = with_pushes(inner, pushes, inserts);
        }
        if let Stmt::For { index, body, .. } = &mut stmt {
            out.extend(inserts.before.get(index).into_iter().flatten().cloned());
            body.extend(inserts.tails.get(index).into_iter().flatten().cloned());
        }
        let saved = stmt.dst().and_then(|d| pushes.get(&d).map(|&s| (d, s)));
        let after = stmt.dst().and_then(|d| inserts.after.get(&d));
        let span = stmt.span();
        out.push(stmt);
        out.extend(after.into_iter().flatten().cloned());
        if let Some((value, stack)) = saved {
            out.push(Stmt::Push {
                stack,
                value: Operand::Var(value),
                span,
            });
        }
    }
    out
}

impl Rev<'_> {
    fn builder<'b>(&'b mut self, out: &'b mut Vec<Stmt>, span: Span) -> Builder<'b> {
        Builder {
            vars: &mut self.vars,
            out,
            span,
        }
    }

    /// `let mut adj_v = init;` and contributions to `v` go to it from now on.
    fn new_accumulator(&mut self, v: VarId, witness: Operand, out: &mut Vec<Stmt>) -> VarId {
        let name = format!("adj_{}", self.vars[v].name);
        let acc = fresh(&mut self.vars, name, Span::call_site(), Origin::Derivative);
        self.vars[acc].mutable = true;
        self.vars[acc].shape = self.vars[v].shape.clone();
        // The adjoint of an array of tensors is one too.
        self.vars[acc].tensor = self.vars[v].is_array() && self.vars[v].tensor;
        out.push(Stmt::Let {
            dst: Some(acc),
            rhs: Rhs::Zero(witness),
            span: Span::call_site(),
        });
        self.acc[v] = Some(acc);
        self.adj[v] = Some(Operand::Var(acc));
        acc
    }

    /// Adds `±value` to the adjoint of `v`.
    fn accumulate(&mut self, v: VarId, contribution: (Operand, bool), out: &mut Vec<Stmt>) {
        if !self.act.varied[v] {
            return;
        }
        let span = self.vars[v].span;
        match self.acc[v] {
            Some(acc) => {
                let mut b = self.builder(out, span);
                let current = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(acc)]));
                let sum = rules::accumulate(&mut b, Some(current), contribution);
                b.assign(acc, sum);
            }
            None => {
                let previous = self.adj[v].take();
                let mut b = self.builder(out, span);
                self.adj[v] = Some(rules::accumulate(&mut b, previous, contribution));
            }
        }
    }

    fn is_location(&self, v: VarId) -> bool {
        self.vars[v].mutable
    }
}
