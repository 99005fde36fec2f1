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
use crate::activity::Activity;
use crate::ir::{
    fresh, walk, Binary, Builder, Call, Function, Op, Operand, Origin, Rhs, Stmt, Unary, Var, VarId,
};
use crate::rules;
use proc_macro2::Span;
use std::collections::{HashMap, HashSet};

mod replay;

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

    fn stmt(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) {
        let act = self.act;
        match stmt {
            Stmt::Let {
                dst: Some(d),
                rhs,
                span,
            } => {
                let d = *d;
                if !act.is_active(d) || act.stopped[d] {
                    return;
                }
                let Some(g) = self.adj[d].clone() else { return };
                if self.is_location(d) && !self.vars[d].is_array() {
                    // The location's declaration: its initial value gets the adjoint.
                    if let Rhs::Op(Op::Id, args) = rhs {
                        if let Some(init) = args[0].var() {
                            let mut b = self.builder(out, *span);
                            let g = b.let_(Rhs::Op(Op::Id, vec![g]));
                            self.accumulate(init, (g, false), out);
                        }
                    }
                    return;
                }
                self.let_adjoint(d, rhs, g, *span, out);
            }
            Stmt::Let { dst: None, .. } | Stmt::Push { .. } => {}
            Stmt::Assign { dst, value, span } => {
                let Some(acc) = self.acc[*dst] else {
                    return;
                };
                if act.stopped[*dst] {
                    return;
                }
                if self.vars[*dst].is_array() {
                    // `y = e` of a whole array: `y`'s adjoint moves to `e`'s element by
                    // element, and `y`'s starts again from zero (it was added to `e`'s as an
                    // array sum, and zeroed as a scalar: neither compiled).
                    let to = value
                        .var()
                        .and_then(|v| self.acc[v].filter(|_| act.varied[v]));
                    out.push(move_adjoint(&mut self.vars, acc, to, *span));
                    return;
                }
                // `loc = 0.0`, `loc = T::zero()`: the value written carries no derivative, but
                // the location's old value is still overwritten, so its adjoint is reset.
                let increment = value.var().and_then(|v| {
                    increment_of((&self.defs, &self.reads, &self.increments), *dst, v)
                });
                let mut b = self.builder(out, *span);
                let g = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(acc)]));
                // `s = s + e` (and `s += e`): the adjoint of `s` passes through unchanged, so
                // it is neither reset here nor added back at the read of `s`.
                if let (Some(snapshot), Some(v)) = (increment, value.var()) {
                    self.passthrough[snapshot] = true;
                    self.accumulate(v, (g, false), out);
                    return;
                }
                let zero = b.let_(Rhs::Zero(g.clone()));
                b.assign(acc, zero);
                if let Some(v) = value.var() {
                    self.accumulate(v, (g, false), out);
                }
            }
            Stmt::Store {
                array,
                index,
                value,
                accumulate,
                span,
            } => {
                let Some(acc) = self.acc[*array] else { return };
                let mut b = self.builder(out, *span);
                let g = b.let_(Rhs::Index(acc, index.clone()));
                if !accumulate {
                    let zero = b.let_(Rhs::Zero(g.clone()));
                    out.push(Stmt::Store {
                        array: acc,
                        index: index.clone(),
                        value: zero,
                        accumulate: false,
                        span: *span,
                    });
                }
                if let Some(v) = value.var() {
                    self.accumulate(v, (g, false), out);
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
                span,
            } => {
                let promoted = self.promote(stmt, out);
                let then = self.nested_block(then, None);
                let otherwise = self.nested_block(otherwise, None);
                out.push(Stmt::If {
                    cond: cond.clone(),
                    then,
                    otherwise,
                    span: *span,
                });
                self.unpromote(promoted);
            }
            Stmt::While {
                body, trips, span, ..
            } => {
                // The body's adjoint runs as many times as the body ran.
                let promoted = self.promote(stmt, out);
                let body = self.nested_block(body, None);
                let index = fresh(&mut self.vars, "trip", *span, Origin::Temp);
                out.push(Stmt::For {
                    index,
                    start: Operand::Const {
                        tokens: quote::quote!(0),
                        value: Some(0.0),
                    },
                    end: Operand::Var(*trips),
                    inclusive: false,
                    reversed: true,
                    body,
                    span: *span,
                });
                self.unpromote(promoted);
            }
            Stmt::For {
                index,
                start,
                end,
                inclusive,
                reversed,
                body,
                span,
            } => {
                if std::ptr::eq(stmt, &self.primal.body[self.top]) {
                    if let Some(scaling) = self.fused_reversal(body, *index, *span) {
                        out.extend(scaling);
                        return;
                    }
                }
                let promoted = self.promote(stmt, out);
                let mut body = match self.replay_reversal(body, Some((*index, *span))) {
                    Some(reversed) => reversed,
                    None => self.nested_block(body, Some(*index)),
                };
                // A reversed loop adds to `acc[i]` and `acc[i + 1]` each iteration: carry the
                // `acc[i]` part to the next iteration, where it joins `acc[i + 1]`'s (then `i`
                // is one less), so each element is written once (two overlapping writes per
                // iteration stall store forwarding: Rosenbrock ran at 9x its primal).
                // A reversed loop that adds to `acc[a]` with `a` fixed in the loop sums in a
                // register and adds the sum once after it.
                let mut carried = Vec::new();
                if let (false, false) = (*reversed, *inclusive) {
                    let neighbour = carry_neighbour(&mut self.vars, &mut body, *index, *span);
                    // Each element of the accumulator is then written once by the loop and
                    // its flush; if nothing in the adjoint sweep touched the accumulator
                    // before (it is still all zeros), those writes are plain stores, not
                    // read-modify-writes.
                    let top_level = std::ptr::eq(stmt, &self.primal.body[self.top]);
                    let first_writes =
                        neighbour.is_some_and(|(_, acc, _)| top_level && !touches(out, acc));
                    if let (true, Some((_, acc, _))) = (first_writes, neighbour) {
                        for s in body.iter_mut() {
                            if let Stmt::Store {
                                array, accumulate, ..
                            } = s
                            {
                                *accumulate &= *array != acc;
                            }
                        }
                    }
                    carried.extend(
                        neighbour.map(|(carry, acc, _)| (carry, acc, start.clone(), !first_writes)),
                    );
                    carried.extend(
                        invariant_accumulations(&mut self.vars, &mut body, *index, *span)
                            .into_iter()
                            .map(|(carry, acc, at)| (carry, acc, at, true)),
                    );
                }
                for &(carry, acc, _, _) in &carried {
                    out.push(zero_element_of(carry, acc, *span));
                }
                out.push(Stmt::For {
                    index: *index,
                    start: start.clone(),
                    end: end.clone(),
                    inclusive: *inclusive,
                    reversed: !reversed,
                    body,
                    span: *span,
                });
                for (carry, acc, at, accumulate) in carried {
                    out.extend(flush_carry(
                        &mut self.vars,
                        carry,
                        (acc, accumulate),
                        at,
                        start,
                        end,
                        *span,
                    ));
                }
                self.unpromote(promoted);
            }
        }
    }

    /// The adjoint of `let d = rhs;` given the adjoint `g` of `d`.
    fn let_adjoint(&mut self, d: VarId, rhs: &Rhs, g: Operand, span: Span, out: &mut Vec<Stmt>) {
        match rhs {
            // Reading a location: its accumulator gets the adjoint.
            Rhs::Op(Op::Id, args) if args[0].var().is_some_and(|l| self.is_location(l)) => {
                let l = args[0].var().expect("checked");
                if !self.passthrough[d] {
                    self.accumulate(l, (g, false), out);
                }
            }
            Rhs::Op(op, args) => {
                let act = self.act;
                let mut b = self.builder(out, span);
                let partials = rules::partials(&mut b, *op, args, &Operand::Var(d));
                let mut contributions = Vec::new();
                for (arg, partial) in args.iter().zip(&partials) {
                    let Some(a) = arg.var().filter(|&a| act.varied[a]) else {
                        continue;
                    };
                    if let Some((c, negate)) = rules::apply(&mut b, partial, g.clone(), true) {
                        // Broadcasting arithmetic: the cotangent is summed back to the
                        // operand's shape (a scalar operand gets the sum).
                        let c = match broadcasts(b.vars, *op, args) {
                            true => b.op(Op::ReduceTo, vec![arg.clone(), c]),
                            false => c,
                        };
                        contributions.push((a, (c, negate)));
                    }
                }
                for (a, c) in contributions {
                    self.accumulate(a, c, out);
                }
            }
            Rhs::Index(array, index) => {
                if let Some(acc) = self.acc[*array] {
                    out.push(Stmt::Store {
                        array: acc,
                        index: index.clone(),
                        value: g,
                        accumulate: true,
                        span,
                    });
                }
            }
            Rhs::ArrayLit(elements) => {
                let Some(acc) = self.acc[d] else { return };
                for (k, e) in elements.iter().enumerate() {
                    let Some(e) = e.var().filter(|&e| self.act.varied[e]) else {
                        continue;
                    };
                    let k = proc_macro2::Literal::usize_unsuffixed(k);
                    let index = vec![Operand::Const {
                        tokens: quote::quote!(#k),
                        value: None,
                    }];
                    let mut b = self.builder(out, span);
                    let c = b.let_(Rhs::Index(acc, index));
                    self.accumulate(e, (c, false), out);
                }
            }
            Rhs::CopyArray(src) => {
                let (Some(from), Some(to)) = (self.acc[d], self.acc[*src]) else {
                    return;
                };
                out.push(elementwise_add(
                    &mut self.vars,
                    to,
                    Operand::Var(from),
                    None,
                    span,
                ));
            }
            Rhs::Call(call) => {
                // A tuple-valued call's seed: each output's adjoint, zero where none arrived.
                let g = match self.outputs_of(d) {
                    Some(outputs) => {
                        let adjoints: Vec<Option<Operand>> = outputs
                            .into_iter()
                            .map(|o| o.and_then(|o| self.adj[o].clone()))
                            .collect();
                        let mut b = self.builder(out, span);
                        let entries = adjoints
                            .into_iter()
                            .map(|a| a.unwrap_or_else(|| b.let_(Rhs::Zero(Operand::Lit(0.0)))))
                            .collect();
                        b.let_(Rhs::Tuple(entries))
                    }
                    None => g,
                };
                // The callee's reverse derivative gives the gradient of every argument.
                let seen = self.call_arguments(d, call, span, out);
                let mut b = self.builder(out, span);
                let pair = b.let_(Rhs::CallReverse(seen, g, d));
                let pair = pair.var().expect("a let");
                for (i, arg) in call.args.iter().enumerate() {
                    let Some(a) = arg.value.var().filter(|&a| self.act.varied[a]) else {
                        continue;
                    };
                    let mut b = self.builder(out, span);
                    let grad = b.let_(Rhs::Field(pair, vec![1, i]));
                    if let Some(g) = grad.var() {
                        b.vars[g].tensor = b.vars[a].tensor;
                    }
                    match self.acc[a].filter(|_| self.vars[a].is_array()) {
                        Some(acc) => out.push(Stmt::Let {
                            dst: None,
                            rhs: Rhs::AddInto(acc, grad),
                            span,
                        }),
                        None => self.accumulate(a, (grad, false), out),
                    }
                }
            }
            // Output `k` of a tuple-valued call: its adjoint joins the call's seed, built
            // where the call is reversed (after every use of its outputs).
            Rhs::Output(call, _) => {
                if self.adj[*call].is_none() {
                    self.adj[*call] = Some(Operand::Lit(0.0));
                }
            }
            Rhs::Opaque(_)
            | Rhs::Tuple(_)
            | Rhs::Uninit
            | Rhs::Zero(_)
            | Rhs::NewStack
            | Rhs::Pop(_)
            | Rhs::CallForward(..)
            | Rhs::CallReverse(..)
            | Rhs::Field(..)
            | Rhs::AddInto(..) => {}
        }
    }

    /// Before a branch or loop is reversed: values defined outside it that receive
    /// contributions inside it get an accumulator (SSA adjoints cannot cross iterations).
    fn promote(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) -> Vec<VarId> {
        let mut defined = HashSet::new();
        let mut read = Vec::new();
        for block in stmt.blocks() {
            walk(block, &mut |s| {
                defined.extend(s.dst());
                read.extend(s.reads());
            });
        }
        let mut promoted = Vec::new();
        for v in read {
            if defined.contains(&v)
                || promoted.contains(&v)
                || self.acc[v].is_some()
                || !self.act.is_active(v)
            {
                continue;
            }
            let span = self.vars[v].span;
            let init = match self.adj[v].take() {
                // A rule constant (`f_grad`'s seed 1) has no type of its own for the `let
                // mut` to take in generic code (`let mut adj_s = 1.0;` is an f64): zero of
                // `v`'s type, plus the constant.
                Some(Operand::Lit(c)) => {
                    let mut b = self.builder(out, span);
                    let zero = b.let_(Rhs::Zero(Operand::Var(v)));
                    b.add(zero, Operand::Lit(c))
                }
                Some(adj) => adj,
                None => {
                    let mut b = self.builder(out, span);
                    b.let_(Rhs::Zero(Operand::Var(v)))
                }
            };
            let mut b = self.builder(out, span);
            let name = format!("adj_{}", b.vars[v].name);
            let acc = b.location(&name, init);
            self.acc[v] = Some(acc);
            self.adj[v] = Some(Operand::Var(acc));
            promoted.push(v);
        }
        promoted
    }

    /// After the branch or loop: the accumulated value is the adjoint from here on.
    fn unpromote(&mut self, promoted: Vec<VarId>) {
        for v in promoted {
            self.acc[v] = None;
        }
    }

    /// A reversed block (the body of the loop over `index`, if it is one): primal values
    /// brought back into scope, then the adjoint.
    fn nested_block(&mut self, block: &[Stmt], index: Option<VarId>) -> Vec<Stmt> {
        let adjoint = self.scoped_adjoint(block, false);
        let restore = self.restore(block, &adjoint, index);
        restore.into_iter().chain(adjoint).collect()
    }

    /// The adjoint of a block, with accumulators for the locations it declares; `replayed`:
    /// the block is the body a replay runs again.
    fn scoped_adjoint(&mut self, block: &[Stmt], replayed: bool) -> Vec<Stmt> {
        let mut adjoint = Vec::new();
        let declared: Vec<(VarId, Operand)> = block
            .iter()
            .filter_map(|s| match s {
                Stmt::Let {
                    dst: Some(d), rhs, ..
                } if self.vars[*d].mutable && self.act.is_active(*d) => {
                    let witness = match rhs {
                        Rhs::Op(Op::Id, args) => args[0].clone(),
                        _ => Operand::Lit(0.0),
                    };
                    Some((*d, witness))
                }
                // An array the block creates and does not write (`let c = [a, b];`, a copy,
                // a call's array result): its elements' adjoints cross statements, so it
                // needs an accumulator shaped like it, as a top-level array has (without
                // one, the reads of its elements sent their adjoints nowhere).
                Stmt::Let { dst: Some(d), .. }
                    if self.vars[*d].is_array() && self.act.is_active(*d) =>
                {
                    Some((*d, Operand::Var(*d)))
                }
                _ => None,
            })
            .collect();
        let mut scoped = Vec::new();
        for (loc, witness) in declared {
            self.new_accumulator(loc, witness, &mut adjoint);
            scoped.push(loc);
        }
        for (k, stmt) in block.iter().enumerate().rev() {
            if let (true, Some(replay)) = (replayed, self.replay.as_mut()) {
                replay.pos = k;
            }
            self.stmt(stmt, &mut adjoint);
        }
        for loc in scoped {
            self.acc[loc] = None;
        }
        adjoint
    }

    /// The loop body reversed by replay (see `replay`), where that is valid and pays: the
    /// body's inner loops would otherwise save values, and no loop inside it replays (the
    /// innermost such loop replays, so its body runs twice, not once per enclosing replay).
    /// Trial reversals on copies decide; replays do not nest (a replay may sit inside a fused
    /// loop).
    fn replay_reversal(
        &mut self,
        body: &[Stmt],
        snapshot: Option<(VarId, Span)>,
    ) -> Option<Vec<Stmt>> {
        let plan = self.replay_plan(body)?;
        let (saves, inner_replays) = self.trial(body);
        if !saves || inner_replays {
            return None;
        }
        self.reverse_by(body, plan, snapshot)
    }

    /// Whether a replay of `body` would give the primal values, and how. Replays do not nest
    /// inside replays (they may inside a fused loop), and each level of a loop nest runs
    /// trial reversals of the levels inside it, so the cost of deciding grows as 3^depth:
    /// deep nests are reversed without replays.
    fn replay_plan(&self, body: &[Stmt]) -> Option<replay::Replay> {
        if self.replay.as_ref().is_some_and(|r| !r.fused) || loop_depth(body) > MAX_REPLAY_DEPTH {
            return None;
        }
        replay::plan(&self.vars, &self.defs, body, &self.written_from[self.top])
    }

    /// A trial reversal of `body` on a copy: whether its inner loops would save values the
    /// primal sweep pushes, and whether a loop inside it replays.
    fn trial(&self, body: &[Stmt]) -> (bool, bool) {
        let mut inner = HashSet::new();
        for stmt in body {
            for block in stmt.blocks() {
                walk(block, &mut |s| inner.extend(s.dst()));
            }
        }
        let mut trial = self.clone();
        trial.nested_block(body, None);
        let saves = trial.stacks[self.stacks.len()..]
            .iter()
            .any(|(value, _)| inner.contains(value) && !trial.replayed.contains(value));
        (saves, trial.replays > self.replays)
    }

    /// `body` reversed by `plan`: a replay, or inside a fused loop snapshots; `None` (and
    /// nothing changed) where the replay would read data it cannot trust.
    fn reverse_by(
        &mut self,
        body: &[Stmt],
        plan: replay::Replay,
        snapshot: Option<(VarId, Span)>,
    ) -> Option<Vec<Stmt>> {
        let mut attempt = self.clone();
        let reversed = match (self.replay.is_some(), snapshot) {
            // Inside a fused loop: restore the iteration's end state from snapshots.
            (true, Some((index, span))) => attempt.snapshot_block(body, plan, index, span),
            _ => attempt.replayed_block(body, plan)?,
        };
        *self = attempt;
        Some(reversed)
    }

    /// A top-level loop that only adds into a running sum `s` (`replay::fusion`): each
    /// iteration's adjoint runs in the primal sweep, right after the iteration, with the
    /// adjoint of `s` taken as 1 and every other adjoint the body touches redirected to a
    /// `unit_` accumulator. The adjoint sweep then adds each unit accumulator times the
    /// adjoint `s` really has (the adjoint is linear in it, and it is the same in every
    /// iteration, as `s += e` passes it through). No value is saved across iterations and
    /// the body is not run a second time. Chosen where the loop or one inside it would
    /// otherwise replay.
    /// Returns the adjoint sweep's statements for the loop.
    fn fused_reversal(&mut self, body: &[Stmt], index: VarId, span: Span) -> Option<Vec<Stmt>> {
        let after = &self.primal.body[self.top + 1..];
        let (plan, sum) = replay::fusion(
            &self.vars,
            (&self.defs, &self.reads, &self.increments),
            body,
            after,
            &self.primal.outputs,
        )?;
        let acc_sum = self.acc[sum].filter(|_| self.act.is_active(sum))?;
        // Only where the loop, or a loop inside it, would otherwise replay: fusing saves that
        // replay (an inner loop then restores snapshots instead, `snapshot_block`).
        let (saves, inner_replays) = self.trial(body);
        let replays = inner_replays
            || saves
                && self
                    .replay_plan(body)
                    .is_some_and(|plan| self.clone().reverse_by(body, plan, None).is_some());
        if !replays {
            return None;
        }
        let mut declared = HashSet::new();
        walk(body, &mut |s| declared.extend(s.dst()));
        let mut outside: Vec<VarId> = Vec::new();
        walk(body, &mut |s| {
            let written = match s {
                Stmt::Store { array, .. } => Some(*array),
                Stmt::Assign { dst, .. } => Some(*dst),
                _ => None,
            };
            for v in s.reads().into_iter().chain(written) {
                if !declared.contains(&v) && !outside.contains(&v) && self.act.is_active(v) {
                    outside.push(v);
                }
            }
        });
        let mut before = Vec::new();
        let mut redirected = Vec::new();
        for &w in &outside {
            let name = format!("unit_{}", self.vars[w].name);
            let unit = fresh(&mut self.vars, name, span, Origin::Derivative);
            self.vars[unit].mutable = true;
            self.vars[unit].shape = self.vars[w].shape.clone();
            before.push(Stmt::Let {
                dst: Some(unit),
                rhs: Rhs::Zero(Operand::Var(w)),
                span,
            });
            let acc = self.acc[w].replace(unit);
            let adj = self.adj[w].replace(Operand::Var(unit));
            redirected.push((w, unit, acc, adj));
        }
        // The seed: the running sum's adjoint, 1.
        let unit_sum = self.acc[sum].expect("redirected");
        let mut b = self.builder(&mut before, span);
        let zero = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(unit_sum)]));
        let one = b.add(zero, Operand::Lit(1.0));
        b.assign(unit_sum, one);

        self.replay = Some(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = None;

        let mut scaling = Vec::new();
        let mut b = self.builder(&mut scaling, span);
        let g = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(acc_sum)]));
        for (w, unit, acc, adj) in redirected {
            self.acc[w] = acc;
            self.adj[w] = adj;
            if w == sum {
                continue;
            }
            match self.acc[w].filter(|_| self.vars[w].is_array()) {
                Some(acc) => scaling.push(elementwise_add(
                    &mut self.vars,
                    acc,
                    Operand::Var(unit),
                    Some(g.clone()),
                    span,
                )),
                None if self.vars[w].is_array() => {}
                None => {
                    let mut b = self.builder(&mut scaling, span);
                    let u = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(unit)]));
                    let scaled = b.mul(u, g.clone());
                    self.accumulate(w, (scaled, false), &mut scaling);
                }
            }
        }
        self.inserts.before.insert(index, before);
        self.inserts.tails.entry(index).or_default().extend(adjoint);
        Some(scaling)
    }

    /// Inside a fused loop (whose values the adjoint uses within the same iteration of the
    /// fused loop, so these stacks stay small), a loop body reversed from snapshots instead
    /// of a replay: the primal sweep pushes, at the end of each iteration, the arrays and
    /// locations the body writes or declares that the adjoint reads; the reversed iteration
    /// first pops them back, which restores the state the iteration ended in, the state a
    /// replay would have produced, without running the body again.
    fn snapshot_block(
        &mut self,
        body: &[Stmt],
        plan: replay::Replay,
        index: VarId,
        span: Span,
    ) -> Vec<Stmt> {
        let declared = plan.declared.clone();
        let plan = replay::Replay {
            rerun: false,
            ..plan
        };
        let outer = self.replay.replace(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = outer;
        let restore = self.restore(body, &adjoint, None);
        let mut read = HashSet::new();
        walk(&adjoint, &mut |s| read.extend(s.reads()));
        walk(&restore, &mut |s| read.extend(s.reads()));
        let mut written: Vec<VarId> = Vec::new();
        walk(body, &mut |s| match s {
            Stmt::Assign { dst, .. } | Stmt::Store { array: dst, .. } => written.push(*dst),
            _ => {}
        });
        written.extend(
            declared
                .iter()
                .copied()
                .filter(|&v| self.vars[v].mutable && !self.vars[v].is_array()),
        );
        written.sort_unstable();
        written.dedup();
        let mut tail = Vec::new();
        let mut head: Vec<Vec<Stmt>> = Vec::new();
        for w in written.into_iter().filter(|w| read.contains(w)) {
            let name = format!("end_{}", self.vars[w].name);
            let key = fresh(&mut self.vars, name, span, Origin::Derivative);
            let stack = self.stack_for(key);
            self.replayed.insert(key);
            if self.vars[w].is_array() {
                let (push, pop) = array_snapshot(w, stack, span);
                tail.push(push);
                head.push(vec![pop]);
                continue;
            }
            tail.push(Stmt::Push {
                stack,
                value: Operand::Var(w),
                span,
            });
            head.push(if declared.contains(&w) {
                vec![Stmt::Let {
                    dst: Some(w),
                    rhs: Rhs::Pop(stack),
                    span,
                }]
            } else {
                let value = fresh(&mut self.vars, "restored", span, Origin::Temp);
                vec![
                    Stmt::Let {
                        dst: Some(value),
                        rhs: Rhs::Pop(stack),
                        span,
                    },
                    Stmt::Assign {
                        dst: w,
                        value: Operand::Var(value),
                        span,
                    },
                ]
            });
        }
        head.reverse();
        let head: Vec<Stmt> = head.into_iter().flatten().collect();
        self.inserts.tails.entry(index).or_default().extend(tail);
        head.into_iter().chain(restore).chain(adjoint).collect()
    }

    /// A loop body reversed by replay: the body again, pushing what the adjoints of its
    /// inner loops pop, then its adjoint. `None` if the part of the body the adjoint needs
    /// reads data the replay cannot trust (`Replay::stale`).
    fn replayed_block(&mut self, body: &[Stmt], plan: replay::Replay) -> Option<Vec<Stmt>> {
        let before = self.stacks.len();
        let stale = plan.stale.clone();
        let outer = self.replay.replace(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = outer;
        let saved: HashMap<VarId, VarId> = self.stacks[before..].iter().copied().collect();
        self.replayed.extend(saved.keys());
        let replay = replay::live_part(with_pushes(body, &saved, &Inserts::default()), &adjoint);
        let mut trusted = true;
        walk(&replay, &mut |s| {
            trusted &= s.reads().iter().all(|r| !stale.contains(r))
        });
        self.replays += usize::from(trusted);
        trusted.then(|| replay.into_iter().chain(adjoint).collect())
    }

    /// The statements that bring back the primal values `adjoint` reads that `block` (the
    /// body of the loop over `index`, if it is one) defines: read back from the array element
    /// the body stored them in, recomputed where that gives the same value, popped where
    /// they were saved.
    fn restore(&mut self, block: &[Stmt], adjoint: &[Stmt], index: Option<VarId>) -> Vec<Stmt> {
        let mut needed: HashSet<VarId> = HashSet::new();
        walk(adjoint, &mut |s| needed.extend(s.reads()));
        // `a[i] = d;` at the top of the body: where `a[i]` still holds `d` when iteration `i`
        // is reversed, one load gives `d` back, whatever computed it (GMM's `xc[j] = x - mu`
        // then needs neither `x` nor `mu`, and an `exp` stored so is not saved).
        let stored: HashMap<VarId, VarId> = match index {
            Some(i) => block
                .iter()
                .filter_map(|s| match s {
                    Stmt::Store {
                        array,
                        index: at,
                        value: Operand::Var(d),
                        accumulate: false,
                        ..
                    } if matches!(at.as_slice(), [Operand::Var(j)] if *j == i)
                        && self.vars[*array].shape.len() == 1
                        && self.holds_stored(*array, i) =>
                    {
                        Some((*d, *array))
                    }
                    _ => None,
                })
                .collect(),
            None => HashMap::new(),
        };
        let mut restore = Vec::new();
        for stmt in block.iter().rev() {
            let Stmt::Let {
                dst: Some(d),
                rhs,
                span,
            } = stmt
            else {
                continue;
            };
            if !needed.contains(d) || self.vars[*d].mutable {
                continue;
            }
            let one_load = matches!(rhs, Rhs::Index(..)) || matches!(rhs, Rhs::Op(Op::Id, _));
            if let (Some(&array), Some(i), false) = (stored.get(d), index, one_load) {
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Index(array, vec![Operand::Var(i)]),
                    span: *span,
                });
            } else if self.recomputable(rhs) {
                needed.extend(stmt.reads());
                restore.push(stmt.clone());
            } else if let Some((undo, location)) = self.undo(block, *d, rhs) {
                // Pushed in reverse order: `d = loc - c; loc = d;`.
                needed.extend(undo.var());
                restore.push(Stmt::Assign {
                    dst: location,
                    value: Operand::Var(*d),
                    span: *span,
                });
                let (op, c) = undo.split();
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Op(op, vec![Operand::Var(location), c]),
                    span: *span,
                });
            } else {
                let stack = self.stack_for(*d);
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Pop(stack),
                    span: *span,
                });
            }
        }
        restore.reverse();
        restore
    }

    /// For a snapshot `d = loc` of an index location stepped by the block's one
    /// `loc = d + c` (a running index into packed storage, GMM's `li += 1`): the inverse step.
    /// At the head of the block's reversed iteration `loc` holds the value the iteration left
    /// in it, so `d = loc - c; loc = d;` gives `d` back and leaves `loc` as the iteration
    /// found it, for the iteration reversed next; nothing is saved. This needs `loc` in scope
    /// with its final value when the reversal starts: declared by the body a replay runs
    /// again, and assigned nowhere else. Integers only (a float step does not invert
    /// exactly): `d` is used as an index.
    fn undo(&self, block: &[Stmt], d: VarId, rhs: &Rhs) -> Option<(Step, VarId)> {
        let Rhs::Op(Op::Id, args) = rhs else {
            return None;
        };
        let location = args[0].var()?;
        let replay = self.replay.as_ref()?;
        if !replay.declared.contains(&location) || self.reads[location] != 1 {
            return None;
        }
        let mut assigns = Vec::new();
        walk(&self.primal.body, &mut |s| match s {
            Stmt::Assign { dst, value, .. } if *dst == location => assigns.push(value.clone()),
            _ => {}
        });
        let [Operand::Var(next)] = assigns.as_slice() else {
            return None;
        };
        let at_top = |v: VarId| block.iter().any(|s| s.dst() == Some(v));
        let assigned_here = block
            .iter()
            .any(|s| matches!(s, Stmt::Assign { dst, .. } if *dst == location));
        if !assigned_here || !at_top(*next) || !at_top(d) {
            return None;
        }
        let mut indexes = false;
        walk(block, &mut |s| {
            let index = match s {
                Stmt::Let {
                    rhs: Rhs::Index(_, index),
                    ..
                }
                | Stmt::Store { index, .. } => index.as_slice(),
                _ => &[],
            };
            indexes |= index.iter().any(|i| i.var() == Some(d));
        });
        let step = match self.defs.get(next)? {
            Rhs::Op(Op::Add, a) if a[0].var() == Some(d) => Step::Sub(a[1].clone()),
            Rhs::Op(Op::Add, a) if a[1].var() == Some(d) => Step::Sub(a[0].clone()),
            Rhs::Op(Op::Sub, a) if a[0].var() == Some(d) => Step::Add(a[1].clone()),
            _ => return None,
        };
        let invariant = step
            .var()
            .is_none_or(|c| !self.vars[c].mutable && !at_top(c));
        (indexes && invariant).then_some((step, location))
    }

    /// Whether element `i` of `array`, when iteration `i` of the loop over `i` is reversed,
    /// still holds what the loop body stored there: the loop is a top-level statement of the
    /// region whose end state the adjoint sweep sees, so it ran once per iteration of that
    /// region, and the body's store is the only write to `array` in the region. The region
    /// is the loop body being reversed by fusion or from snapshots (not a replay, which
    /// runs only the part of the body its adjoint needs), or else the function's body.
    fn holds_stored(&self, array: VarId, i: VarId) -> bool {
        match &self.replay {
            Some(r) => {
                !r.rerun && r.loops.get(r.pos) == Some(&Some(i)) && r.writes.get(&array) == Some(&1)
            }
            None => {
                matches!(&self.primal.body[self.top], Stmt::For { index, .. } if *index == i)
                    && self.writes.get(&array) == Some(&1)
            }
        }
    }

    /// Whether evaluating `rhs` again in the adjoint sweep gives the primal value.
    /// Recomputation is preferred (it costs no memory), except for transcendental functions,
    /// which cost more to call again than to save and load (measured on LogSumExp: 1.6x).
    fn recomputable(&self, rhs: &Rhs) -> bool {
        let unchanged = |v: VarId| self.unchanged(v);
        match rhs {
            // A snapshot of a location: the same value if nothing writes it from here on.
            Rhs::Op(Op::Id, args) if args[0].var().is_some_and(|v| self.vars[v].mutable) => {
                args[0].var().is_some_and(unchanged)
            }
            Rhs::Op(Op::Unary(u), _) => !expensive(*u),
            Rhs::Op(Op::Binary(b), _) => !matches!(b, Binary::Powf | Binary::Log | Binary::Atan2),
            Rhs::Op(..) => true,
            // An array nothing writes from here on (a parameter, or one filled before the
            // loop) reads the same again.
            Rhs::Index(array, _) => unchanged(*array),
            // Its elements are values (brought back in turn), and so is a copy's source
            // where nothing writes it from here on.
            Rhs::ArrayLit(_) => true,
            Rhs::CopyArray(src) => unchanged(*src),
            Rhs::Opaque(o) => o.pure && o.reads.iter().all(|&v| unchanged(v)),
            _ => false,
        }
    }

    /// The call `let d = call;` as its reverse derivative is to see it: an array argument
    /// that something writes between the call and its adjoint (a later statement, a later
    /// iteration of a loop around it) is pushed right after the call, in the primal sweep,
    /// and the adjoint sweep passes the popped copy instead, so the callee's derivative reads
    /// the elements the call read (otherwise it got the array as the primal sweep left it).
    fn call_arguments(&mut self, d: VarId, call: &Call, span: Span, out: &mut Vec<Stmt>) -> Call {
        let mut call = call.clone();
        for arg in &mut call.args {
            let Some(a) = arg.value.var() else { continue };
            let array = self.vars[a].is_array() || self.vars[a].tensor;
            if !array || !self.vars[a].mutable || self.unchanged(a) {
                continue;
            }
            let name = format!("saved_{}", self.vars[a].name);
            let stack = fresh(&mut self.vars, name, Span::call_site(), Origin::Derivative);
            self.vars[stack].mutable = true;
            self.inserts.stacks.push(stack);
            self.inserts.after.entry(d).or_default().push(Stmt::Push {
                stack,
                value: Operand::Var(a),
                span,
            });
            let name = self.vars[a].name.clone();
            let copy = fresh(&mut self.vars, name, span, Origin::Temp);
            self.vars[copy].shape = self.vars[a].shape.clone();
            self.vars[copy].tensor = self.vars[a].tensor;
            out.push(Stmt::Let {
                dst: Some(copy),
                rhs: Rhs::Pop(stack),
                span,
            });
            arg.value = Operand::Var(copy);
        }
        call
    }

    /// Whether the location `v`, read here in the adjoint sweep, holds what the primal read
    /// (nothing writes it from here on, or a replay made it so).
    fn unchanged(&self, v: VarId) -> bool {
        !self.vars[v].mutable
            || match self.replay.as_ref().and_then(|r| r.unchanged(v)) {
                Some(unchanged) => unchanged,
                None => !self.written_from[self.top].contains(&v),
            }
    }

    /// For a call that returns a tuple, the variable of each output the primal reads (`None`
    /// where it reads none); `None` for a call that returns one value.
    fn outputs_of(&self, call: VarId) -> Option<Vec<Option<VarId>>> {
        let outputs: Vec<(usize, VarId)> = self
            .defs
            .iter()
            .filter_map(|(&v, rhs)| match rhs {
                Rhs::Output(c, k) if *c == call => Some((*k, v)),
                _ => None,
            })
            .collect();
        let n = outputs.iter().map(|&(k, _)| k + 1).max()?;
        let mut vars = vec![None; n];
        for (k, v) in outputs {
            vars[k] = Some(v);
        }
        Some(vars)
    }

    fn stack_for(&mut self, v: VarId) -> VarId {
        if let Some(&(_, s)) = self.stacks.iter().find(|(value, _)| *value == v) {
            return s;
        }
        let name = format!("saved_{}", self.vars[v].name);
        let stack = fresh(&mut self.vars, name, Span::call_site(), Origin::Derivative);
        self.vars[stack].mutable = true;
        self.stacks.push((v, stack));
        stack
    }
}

/// The inverse of an index location's step: `loc - c` or `loc + c`.
enum Step {
    Sub(Operand),
    Add(Operand),
}

impl Step {
    fn split(self) -> (Op, Operand) {
        match self {
            Step::Sub(c) => (Op::Sub, c),
            Step::Add(c) => (Op::Add, c),
        }
    }

    fn var(&self) -> Option<VarId> {
        match self {
            Step::Sub(c) | Step::Add(c) => c.var(),
        }
    }
}

/// `for k in 0..to.len() { to[k] += from[k]; }`, or `+= from` for a constant: the adjoint of
/// an array copy, and the seed of an array output.
fn elementwise_add(
    vars: &mut Vec<Var>,
    to: VarId,
    from: Operand,
    scale: Option<Operand>,
    span: Span,
) -> Stmt {
    let k = fresh(vars, "k", span, Origin::Temp);
    let len = fresh(vars, "len", span, Origin::Temp);
    let placeholder = crate::ir::placeholder(to, span);
    let mut body = Vec::new();
    let value = match from {
        Operand::Var(from) if vars[from].is_array() => {
            let element = fresh(vars, "element", span, Origin::Temp);
            body.push(Stmt::Let {
                dst: Some(element),
                rhs: Rhs::Index(from, vec![Operand::Var(k)]),
                span,
            });
            match scale {
                Some(scale) => {
                    let scaled = fresh(vars, "scaled", span, Origin::Temp);
                    body.push(Stmt::Let {
                        dst: Some(scaled),
                        rhs: Rhs::Op(Op::Mul, vec![Operand::Var(element), scale]),
                        span,
                    });
                    Operand::Var(scaled)
                }
                None => Operand::Var(element),
            }
        }
        constant => constant,
    };
    body.push(Stmt::Store {
        array: to,
        index: vec![Operand::Var(k)],
        value,
        accumulate: true,
        span,
    });
    Stmt::If {
        cond: Operand::Const {
            tokens: quote::quote!(true),
            value: Some(1.0),
        },
        then: vec![
            Stmt::Let {
                dst: Some(len),
                rhs: Rhs::Opaque(crate::ir::Opaque {
                    tokens: quote::quote!(#placeholder.len()),
                    reads: vec![to],
                    passive_result: true,
                    pure: true,
                    what: "the length of an array".into(),
                }),
                span,
            },
            Stmt::For {
                index: k,
                start: Operand::Const {
                    tokens: quote::quote!(0),
                    value: Some(0.0),
                },
                end: Operand::Var(len),
                inclusive: false,
                reversed: false,
                body,
                span,
            },
        ],
        otherwise: Vec::new(),
        span,
    }
}

/// `for k in 0..from.len() { to[k] += from[k]; from[k] = 0; }` (without `to`: the zeroing
/// only): the adjoint of assigning a whole array.
fn move_adjoint(vars: &mut Vec<Var>, from: VarId, to: Option<VarId>, span: Span) -> Stmt {
    let k = fresh(vars, "k", span, Origin::Temp);
    let len = fresh(vars, "len", span, Origin::Temp);
    let element = fresh(vars, "element", span, Origin::Temp);
    let zero = fresh(vars, "zero", span, Origin::Temp);
    let placeholder = crate::ir::placeholder(from, span);
    let at = || vec![Operand::Var(k)];
    let mut body = vec![Stmt::Let {
        dst: Some(element),
        rhs: Rhs::Index(from, at()),
        span,
    }];
    body.extend(to.map(|to| Stmt::Store {
        array: to,
        index: at(),
        value: Operand::Var(element),
        accumulate: true,
        span,
    }));
    body.push(Stmt::Let {
        dst: Some(zero),
        rhs: Rhs::Zero(Operand::Var(element)),
        span,
    });
    body.push(Stmt::Store {
        array: from,
        index: at(),
        value: Operand::Var(zero),
        accumulate: false,
        span,
    });
    Stmt::If {
        cond: Operand::Const {
            tokens: quote::quote!(true),
            value: Some(1.0),
        },
        then: vec![
            Stmt::Let {
                dst: Some(len),
                rhs: Rhs::Opaque(crate::ir::Opaque {
                    tokens: quote::quote!(#placeholder.len()),
                    reads: vec![from],
                    passive_result: true,
                    pure: true,
                    what: "the length of an array".into(),
                }),
                span,
            },
            Stmt::For {
                index: k,
                start: Operand::Const {
                    tokens: quote::quote!(0),
                    value: Some(0.0),
                },
                end: Operand::Var(len),
                inclusive: false,
                reversed: false,
                body,
                span,
            },
        ],
        otherwise: Vec::new(),
        span,
    }
}

/// Arithmetic with a tensor operand, where operands may have different shapes.
fn broadcasts(vars: &[Var], op: Op, args: &[Operand]) -> bool {
    matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div)
        && args.iter().any(|a| a.var().is_some_and(|v| vars[v].tensor))
}

/// Transcendental functions: saved rather than recomputed in reversed loops.
fn expensive(u: Unary) -> bool {
    !matches!(u, Unary::Sqrt | Unary::Abs | Unary::Signum | Unary::Recip)
}

/// `written_from[k]`: the locations and arrays that top-level statement `k` or a later one
/// assigns or stores into.
pub(crate) fn written_from(body: &[Stmt]) -> Vec<HashSet<VarId>> {
    let mut suffix: HashSet<VarId> = HashSet::new();
    let mut result = vec![HashSet::new(); body.len()];
    for (k, stmt) in body.iter().enumerate().rev() {
        walk(std::slice::from_ref(stmt), &mut |s| match s {
            Stmt::Assign { dst, .. } => {
                suffix.insert(*dst);
            }
            Stmt::Store { array, .. } => {
                suffix.insert(*array);
            }
            _ => suffix.extend(changed_in_place(s)),
        });
        result[k] = suffix.clone();
    }
    result
}

/// How many statements of `body`, nested ones included, assign each location or store into
/// each array.
pub(crate) fn write_counts(body: &[Stmt]) -> HashMap<VarId, usize> {
    let mut counts = HashMap::new();
    walk(body, &mut |s| match s {
        Stmt::Assign { dst: v, .. } | Stmt::Store { array: v, .. } => {
            *counts.entry(*v).or_default() += 1;
        }
        _ => {
            for &v in changed_in_place(s) {
                *counts.entry(v).or_default() += 1;
            }
        }
    });
    counts
}

/// What a method kept as written that changes an array in place (`order.sort_by(..)` on an
/// array without a derivative) may change: everything it reads. A write like a store, so
/// the array is not read again in the adjoint sweep as if unchanged.
fn changed_in_place(s: &Stmt) -> &[VarId] {
    match s {
        Stmt::Let {
            rhs: Rhs::Opaque(o),
            ..
        } if o.what.ends_with(crate::lower::CHANGES_IN_PLACE) => &o.reads,
        _ => &[],
    }
}

/// In a loop body reversed over `i`: one `acc[i] += a` and one `acc[i + 1] += b`, both
/// unconditional, and no other use of `acc`. Rewrites them to `acc[i + 1] += carry + b;
/// carry = a;` and returns `(carry, acc, i + 1)`; the caller declares the carry before the
/// loop and adds it to `acc[start]` after.
fn carry_neighbour(
    vars: &mut Vec<Var>,
    body: &mut Vec<Stmt>,
    i: VarId,
    span: Span,
) -> Option<(VarId, VarId, VarId)> {
    let is_next = |v: VarId, body: &[Stmt]| {
        body.iter().any(|s| {
            matches!(s, Stmt::Let { dst: Some(d), rhs: Rhs::Op(Op::Add, args), .. }
                if *d == v && args[0].var() == Some(i) && args[1].constant() == Some(1.0))
        })
    };
    let stores: Vec<(usize, VarId, VarId, Operand)> = body
        .iter()
        .enumerate()
        .filter_map(|(k, s)| match s {
            Stmt::Store {
                array,
                index,
                value,
                accumulate: true,
                ..
            } if index.len() == 1 => Some((k, *array, index[0].var()?, value.clone())),
            _ => None,
        })
        .collect();
    let [first, second] = stores.as_slice() else {
        return None;
    };
    if first.1 != second.1 || !vars[first.1].mutable {
        return None;
    }
    let acc = first.1;
    let (here, next) = match (first.2 == i, second.2 == i) {
        (true, false) if is_next(second.2, body) => (first, second),
        (false, true) if is_next(first.2, body) => (second, first),
        _ => return None,
    };
    // Nothing else may read or write the accumulator inside the loop.
    let mut other_uses = 0;
    walk(body, &mut |s| {
        if s.reads().contains(&acc) || matches!(s, Stmt::Store { array, .. } if *array == acc) {
            other_uses += 1;
        }
    });
    if other_uses != 2 {
        return None;
    }
    let carry = fresh(
        vars,
        format!("carry_{}", vars[acc].name),
        span,
        Origin::Derivative,
    );
    vars[carry].mutable = true;
    let (here_k, next_k, next_index, a, b) =
        (here.0, next.0, next.2, here.3.clone(), next.3.clone());
    let ([read, add], sum) = plus_carry(vars, carry, b, span);
    let store_next = Stmt::Store {
        array: acc,
        index: vec![Operand::Var(next_index)],
        value: sum,
        accumulate: true,
        span,
    };
    let carry_here = Stmt::Assign {
        dst: carry,
        value: a,
        span,
    };
    // The carry is read (for `acc[i + 1]`) before it takes this iteration's `a`, and `a` is
    // assigned where it is known: with the `acc[i + 1]` store when `acc[i]`'s came first,
    // else where `acc[i]`'s was (its value may be computed between the two).
    let (at_next, at_here) = match here_k < next_k {
        true => (vec![read, add, store_next, carry_here], Vec::new()),
        false => (vec![read, add, store_next], vec![carry_here]),
    };
    let mut rebuilt = Vec::with_capacity(body.len() + 3);
    for (k, stmt) in std::mem::take(body).into_iter().enumerate() {
        if k == next_k {
            rebuilt.extend(at_next.iter().cloned());
        } else if k == here_k {
            rebuilt.extend(at_here.iter().cloned());
        } else {
            rebuilt.push(stmt);
        }
    }
    *body = rebuilt;
    Some((carry, acc, next_index))
}

/// `let previous = carry; let sum = previous + value;`: the statements and `sum`.
fn plus_carry(
    vars: &mut Vec<Var>,
    carry: VarId,
    value: Operand,
    span: Span,
) -> ([Stmt; 2], Operand) {
    let previous = fresh(vars, "carried", span, Origin::Temp);
    let sum = fresh(vars, "summed", span, Origin::Temp);
    let statements = [
        Stmt::Let {
            dst: Some(previous),
            rhs: Rhs::Op(Op::Id, vec![Operand::Var(carry)]),
            span,
        },
        Stmt::Let {
            dst: Some(sum),
            rhs: Rhs::Op(Op::Add, vec![Operand::Var(previous), value]),
            span,
        },
    ];
    (statements, Operand::Var(sum))
}

/// `let mut carry = 0.0;`, the zero of the accumulator's element type (the macro does not
/// know it).
fn zero_element_of(carry: VarId, acc: VarId, span: Span) -> Stmt {
    let acc_tokens = crate::ir::placeholder(acc, span);
    Stmt::Let {
        dst: Some(carry),
        rhs: Rhs::Opaque(crate::ir::Opaque {
            tokens: quote::quote!(::autodiff::__private::zero_element(&#acc_tokens[..])),
            reads: vec![acc],
            passive_result: true,
            pure: true,
            what: "a zero".into(),
        }),
        span,
    }
}

/// In a loop body reversed over `i`: every use of the accumulator `acc` is `acc[a] += v` at
/// the top level, with one `a` the loop does not change (Gmm's `adj_xc[a]` in its
/// triangular loop). Rewrites each to `carry += v` and returns `(carry, acc, a)` per such
/// accumulator; the caller declares the carry before the loop and adds it to `acc[a]`
/// after, so the loop keeps the sum in a register instead of a read-modify-write of memory
/// per iteration (each waits on the previous one's store).
fn invariant_accumulations(
    vars: &mut Vec<Var>,
    body: &mut Vec<Stmt>,
    i: VarId,
    span: Span,
) -> Vec<(VarId, VarId, Operand)> {
    let mut varying: HashSet<VarId> = HashSet::from([i]);
    let mut uses: HashMap<VarId, usize> = HashMap::new();
    walk(body, &mut |s| {
        varying.extend(s.dst());
        if let Stmt::Assign { dst, .. } = s {
            varying.insert(*dst);
        }
        let stored = match s {
            Stmt::Store { array, .. } => Some(*array),
            _ => None,
        };
        for v in s.reads().into_iter().chain(stored) {
            *uses.entry(v).or_default() += 1;
        }
    });
    // Each accumulator's index, and how many top-level stores use it.
    let mut sites: std::collections::BTreeMap<VarId, (Option<Operand>, usize)> =
        std::collections::BTreeMap::new();
    for s in body.iter() {
        if let Stmt::Store {
            array,
            index,
            accumulate: true,
            ..
        } = s
        {
            let at = match index.as_slice() {
                [Operand::Var(a)] if !varying.contains(a) => Some(index[0].clone()),
                _ => None,
            };
            let site = sites.entry(*array).or_insert((at.clone(), 0));
            if site.0.as_ref().and_then(Operand::var) != at.as_ref().and_then(Operand::var) {
                site.0 = None;
            }
            site.1 += 1;
        }
    }
    let mut carried = Vec::new();
    for (acc, (at, stores)) in sites {
        let Some(at) = at else { continue };
        // Stores count once in `uses` as a write and once as a read (`+=`).
        if vars[acc].origin != Origin::Derivative || uses.get(&acc) != Some(&(2 * stores)) {
            continue;
        }
        let name = format!("carry_{}", vars[acc].name);
        let carry = fresh(vars, name, span, Origin::Derivative);
        vars[carry].mutable = true;
        let mut rebuilt = Vec::with_capacity(body.len() + 2 * stores);
        for stmt in std::mem::take(body) {
            match stmt {
                Stmt::Store {
                    array, value, span, ..
                } if array == acc => {
                    let (statements, sum) = plus_carry(vars, carry, value, span);
                    rebuilt.extend(statements);
                    rebuilt.push(Stmt::Assign {
                        dst: carry,
                        value: sum,
                        span,
                    });
                }
                other => rebuilt.push(other),
            }
        }
        *body = rebuilt;
        carried.push((carry, acc, at));
    }
    carried
}

/// `if start < end { acc[at] += carry; }` (`=` unless `accumulate`): what a loop carried,
/// added once if it ran.
fn flush_carry(
    vars: &mut Vec<Var>,
    carry: VarId,
    (acc, accumulate): (VarId, bool),
    at: Operand,
    start: &Operand,
    end: &Operand,
    span: Span,
) -> Vec<Stmt> {
    let (ran, test) = crate::ir::loop_runs(vars, start, end, false, span);
    let value = fresh(vars, "carried", span, Origin::Temp);
    vec![
        test,
        Stmt::If {
            cond: Operand::Var(ran),
            then: vec![
                Stmt::Let {
                    dst: Some(value),
                    rhs: Rhs::Op(Op::Id, vec![Operand::Var(carry)]),
                    span,
                },
                Stmt::Store {
                    array: acc,
                    index: vec![at],
                    value: Operand::Var(value),
                    accumulate,
                    span,
                },
            ],
            otherwise: Vec::new(),
            span,
        },
    ]
}

/// `push_slice(&mut stack, &a[..])` and `pop_into(&mut stack, &mut a[..])`: an array's
/// contents saved at the end of an iteration and put back, whole (a copy, not a push and a
/// pop per element, each of which updates the stack's length in memory).
fn array_snapshot(array: VarId, stack: VarId, span: Span) -> (Stmt, Stmt) {
    let (a, st) = (
        crate::ir::placeholder(array, span),
        crate::ir::placeholder(stack, span),
    );
    let effect = |tokens: proc_macro2::TokenStream, what: &str| Stmt::Let {
        dst: None,
        rhs: Rhs::Opaque(crate::ir::Opaque {
            tokens,
            reads: vec![stack, array],
            passive_result: true,
            pure: false,
            what: what.into(),
        }),
        span,
    };
    (
        effect(
            quote::quote!(::autodiff::__private::push_slice(&mut #st, &#a[..])),
            "a snapshot of an array",
        ),
        effect(
            quote::quote!(::autodiff::__private::pop_into(&mut #st, &mut #a[..])),
            "an array restored from its snapshot",
        ),
    )
}

/// The deepest loop nest inside a replay candidate's body that replay decisions explore.
const MAX_REPLAY_DEPTH: usize = 4;

/// How deeply loops nest inside `block` (0: no loop).
fn loop_depth(block: &[Stmt]) -> usize {
    block
        .iter()
        .map(|s| {
            let inner = s.blocks().into_iter().map(|b| loop_depth(b)).max();
            let own = usize::from(matches!(s, Stmt::For { .. } | Stmt::While { .. }));
            own + inner.unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// Whether any statement of `block` reads or stores into `v` (its declaration aside).
fn touches(block: &[Stmt], v: VarId) -> bool {
    let mut touched = false;
    walk(block, &mut |s| {
        touched |= s.reads().contains(&v) || matches!(s, Stmt::Store { array, .. } if *array == v);
    });
    touched
}

/// For `loc = v` with `v = snapshot + e` and `snapshot = loc`, each read only there, and
/// `loc` unchanged since the snapshot (`current`, from [`current_snapshots`]): the snapshot.
/// The adjoint of `loc` then passes through the statement unchanged.
pub(crate) fn increment_of(
    (defs, reads, current): (&HashMap<VarId, Rhs>, &[usize], &HashSet<VarId>),
    loc: VarId,
    v: VarId,
) -> Option<VarId> {
    let Some(Rhs::Op(Op::Add, args)) = defs.get(&v) else {
        return None;
    };
    let snapshot = args[0].var()?;
    let Some(Rhs::Op(Op::Id, read)) = defs.get(&snapshot) else {
        return None;
    };
    let single = reads[v] == 1 && reads[snapshot] == 1;
    let pattern = read[0].var() == Some(loc) && single && args[1].var() != Some(snapshot);
    (pattern && current.contains(&v)).then_some(snapshot)
}

/// The values `v` of assignments `loc = v`, `v = snapshot + e`, where `snapshot = loc` was
/// taken in the same iteration and nothing wrote `loc` in between: only there does
/// `snapshot` still equal `loc`, so that the statement is the increment `loc += e`. Not when
/// `loc` was written after the copy (`let backup = s; s = s * x; s = backup + e;`, a
/// roll-back), nor when the copy was taken once before the loop the assignment is in
/// (`let start = pos; for .. { pos = start + e; }`). A branch sees the snapshots taken
/// before it; a loop body, which runs again, does not.
pub(crate) fn current_snapshots(
    vars: &[Var],
    defs: &HashMap<VarId, Rhs>,
    body: &[Stmt],
) -> HashSet<VarId> {
    fn block(
        vars: &[Var],
        defs: &HashMap<VarId, Rhs>,
        stmts: &[Stmt],
        mut live: HashMap<VarId, VarId>,
        found: &mut HashSet<VarId>,
    ) {
        for stmt in stmts {
            match stmt {
                Stmt::Let {
                    dst: Some(d),
                    rhs: Rhs::Op(Op::Id, args),
                    ..
                } => {
                    if let Some(l) = args[0].var().filter(|&l| vars[l].mutable) {
                        live.insert(*d, l);
                    }
                }
                Stmt::Assign { dst, value, .. } => {
                    let snapshot = value.var().and_then(|v| match defs.get(&v) {
                        Some(Rhs::Op(Op::Add, args)) => args[0].var(),
                        _ => None,
                    });
                    if let (Some(v), Some(s)) = (value.var(), snapshot) {
                        if live.get(&s) == Some(dst) {
                            found.insert(v);
                        }
                    }
                    live.retain(|_, l| l != dst);
                }
                Stmt::If {
                    then, otherwise, ..
                } => {
                    block(vars, defs, then, live.clone(), found);
                    block(vars, defs, otherwise, live.clone(), found);
                }
                Stmt::For { body, .. } => block(vars, defs, body, HashMap::new(), found),
                Stmt::While { header, body, .. } => {
                    block(vars, defs, header, HashMap::new(), found);
                    block(vars, defs, body, HashMap::new(), found);
                }
                _ => {}
            }
            let mut written = HashSet::new();
            for inner in stmt.blocks() {
                walk(inner, &mut |s| {
                    if let Stmt::Assign { dst, .. } = s {
                        written.insert(*dst);
                    }
                });
            }
            live.retain(|_, l| !written.contains(l));
        }
    }
    let mut found = HashSet::new();
    block(vars, defs, body, HashMap::new(), &mut found);
    found
}

/// The right-hand side of each `Let` of the primal.
fn definitions(body: &[Stmt]) -> HashMap<VarId, Rhs> {
    let mut defs = HashMap::new();
    walk(body, &mut |s| {
        if let Stmt::Let {
            dst: Some(d), rhs, ..
        } = s
        {
            defs.insert(*d, rhs.clone());
        }
    });
    defs
}

/// How often each variable is read in the primal.
fn read_counts(body: &[Stmt], n: usize) -> Vec<usize> {
    let mut reads = vec![0; n];
    walk(body, &mut |s| {
        for r in s.reads() {
            reads[r] += 1;
        }
    });
    reads
}
