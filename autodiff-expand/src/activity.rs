//! Activity analysis (Enzyme's and Tapenade's): a variable is *varied* when it depends on a
//! `wrt` entry through a path that no stop cuts, *useful* when an output depends on it
//! through such a path, and *active* when both. Only active variables get derivative code.
//!
//! It also decides TensorFlow's connectivity at compile time: a `wrt` entry is connected
//! exactly when it is useful.
use crate::ir::op::Flow;
use crate::ir::{walk, Function, Rhs, Stmt, VarId};
use std::collections::HashSet;

#[derive(Clone, Debug)]
pub struct Activity {
    pub varied: Vec<bool>,
    pub useful: Vec<bool>,
    /// Variables through which no gradient flows back (`stop = [..]`).
    pub stopped: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, v: VarId) -> bool {
        self.varied[v] && self.useful[v]
    }
}

/// Whether a derivative flows from the operands of `rhs` to its result.
fn flows(rhs: &Rhs) -> bool {
    match rhs {
        // The registry's `flow` facet.
        Rhs::Op(op, _) => op.row().flow != Flow::Cut,
        Rhs::Opaque(o) => !o.passive_result,
        Rhs::Index(..) | Rhs::ArrayLit(_) | Rhs::CopyArray(_) | Rhs::Call(_) | Rhs::Output(..) => {
            true
        }
        Rhs::CallForward(..)
        | Rhs::CallReverse(..)
        | Rhs::Field(..)
        | Rhs::AddInto(..)
        | Rhs::Tuple(_) => false,
        Rhs::Uninit | Rhs::Zero(_) | Rhs::NewStack | Rhs::Pop(_) => false,
    }
}

/// The derivative edge of one statement (not of its nested blocks): the variable it defines
/// or changes, the variables the derivative flows from, and whether it replaces the whole
/// value (`loc = value`) rather than defining a new variable or changing a part of one.
fn edge(stmt: &Stmt) -> Option<(VarId, Vec<VarId>)> {
    match stmt {
        Stmt::Let {
            dst: Some(dst),
            rhs,
            ..
        } if flows(rhs) => {
            let from = match rhs {
                // The indices are passive: only the array's elements carry derivatives.
                Rhs::Index(array, _) => vec![*array],
                Rhs::Op(op, args) => match op.row().flow {
                    Flow::Only(operands) => {
                        operands.iter().filter_map(|&k| args[k].var()).collect()
                    }
                    _ => stmt.reads(),
                },
                _ => stmt.reads(),
            };
            Some((*dst, from))
        }
        Stmt::Assign { dst, value, .. } => Some((*dst, value.var().into_iter().collect())),
        Stmt::Store { array, value, .. } => Some((*array, value.var().into_iter().collect())),
        _ => None,
    }
}

/// For each statement that carries a derivative, but the assignments in `dead`: the
/// variable it defines or changes, and the variables the derivative flows from.
fn edges(f: &Function, dead: &HashSet<*const Stmt>) -> Vec<(VarId, Vec<VarId>)> {
    let mut edges = Vec::new();
    walk(&f.body, &mut |stmt| {
        if !dead.contains(&(stmt as *const Stmt)) {
            edges.extend(edge(stmt));
        }
    });
    edges
}

/// The assignments `loc = value` whose value never reaches an output: every path from them
/// assigns `loc` again before reading it (`a = f(a)` in a loop, then `a = g(x)` after it).
/// Flow-insensitive usefulness would give such an `a` adjoint code all through the loop,
/// where its adjoint is zero, and a zero adjoint times an infinite partial (a value of the
/// dead loop that overflowed) is NaN: TensorFlow never builds those gradient ops (their
/// outputs are not connected to `ys`), and neither may we.
///
/// A backward liveness analysis over the structured body: `live[v]` when the value `v`
/// holds at that point may reach an output. Lets and stores add their operands when their
/// result is live; assignments also kill their location. Loops iterate to a fixpoint;
/// branches join.
fn dead_assignments(f: &Function, stopped: &[bool]) -> HashSet<*const Stmt> {
    let mut live = vec![false; f.vars.len()];
    for out in &f.outputs {
        if let Some(v) = out.var() {
            live[v] = true;
        }
    }
    let mut dead = HashSet::new();
    // Each loop body is analysed several times on its way to the fixpoint; only the last
    // pass, at the fixpoint, decides (`record`).
    liveness(&f.body, &mut live, stopped, &mut dead, true);
    dead
}

fn liveness(
    block: &[Stmt],
    live: &mut Vec<bool>,
    stopped: &[bool],
    dead: &mut HashSet<*const Stmt>,
    record: bool,
) {
    for stmt in block.iter().rev() {
        match stmt {
            Stmt::If {
                then, otherwise, ..
            } => {
                let mut other = live.clone();
                liveness(then, live, stopped, dead, record);
                liveness(otherwise, &mut other, stopped, dead, record);
                join(live, &other);
            }
            Stmt::For { body, .. } => {
                // Live before the loop: live after it (no iteration) or before the body.
                loop_fixpoint(live, |l| liveness(body, l, stopped, dead, false));
                let mut l = live.clone();
                liveness(body, &mut l, stopped, dead, record);
            }
            Stmt::While { header, body, .. } => {
                // header (body header)*: `live` is first where the condition is tested,
                // after a header, then before the first header.
                let pass = |l: &mut Vec<bool>, dead: &mut HashSet<*const Stmt>, record| {
                    liveness(header, l, stopped, dead, record);
                    liveness(body, l, stopped, dead, record);
                };
                loop_fixpoint(live, |l| pass(l, dead, false));
                let mut l = live.clone();
                pass(&mut l, dead, record);
                liveness(header, live, stopped, dead, record);
            }
            _ => {
                let Some((dst, from)) = edge(stmt) else {
                    continue;
                };
                let replaces = matches!(stmt, Stmt::Assign { .. });
                if !live[dst] {
                    if replaces && record {
                        dead.insert(stmt as *const Stmt);
                    }
                    continue;
                }
                if replaces {
                    live[dst] = false;
                }
                if !stopped[dst] {
                    for r in from {
                        live[r] = true;
                    }
                }
            }
        }
    }
}

/// `live = live ∪ body(live)` until nothing changes.
fn loop_fixpoint(live: &mut [bool], mut body: impl FnMut(&mut Vec<bool>)) {
    loop {
        let mut l = live.to_vec();
        body(&mut l);
        if !join(live, &l) {
            return;
        }
    }
}

/// `live |= other`; whether anything changed.
fn join(live: &mut [bool], other: &[bool]) -> bool {
    let mut changed = false;
    for (a, &b) in live.iter_mut().zip(other) {
        if b && !*a {
            *a = true;
            changed = true;
        }
    }
    changed
}

/// Runs both analyses to a fixpoint (loops carry values around, so one sweep each is not
/// enough).
pub fn analyze(f: &Function, wrt: &[VarId], stop: &[VarId]) -> Activity {
    let n = f.vars.len();
    let mut stopped = vec![false; n];
    for &s in stop {
        stopped[s] = true;
    }
    let dead = dead_assignments(f, &stopped);
    let edges = edges(f, &dead);
    let mut varied = vec![false; n];
    for &w in wrt {
        varied[w] = true;
    }
    let mut changed = true;
    while changed {
        changed = false;
        for (dst, from) in &edges {
            if !varied[*dst] && !stopped[*dst] && from.iter().any(|&r| varied[r]) {
                varied[*dst] = true;
                changed = true;
            }
        }
    }
    let mut useful = vec![false; n];
    for out in &f.outputs {
        if let Some(v) = out.var() {
            useful[v] = true;
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for (dst, from) in edges.iter().rev() {
            if !useful[*dst] || stopped[*dst] {
                continue;
            }
            for &r in from {
                if !useful[r] {
                    useful[r] = true;
                    changed = true;
                }
            }
        }
    }
    Activity {
        varied,
        useful,
        stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Op, Operand, Origin};
    use proc_macro2::Span;

    /// a; b = 2a; y = a + b: the stop_gradients example from TensorFlow's documentation.
    fn tf_example() -> (Function, VarId, VarId) {
        let mut f = Function::default();
        let a = f.new_var("a", Span::call_site(), Origin::Param(0));
        f.params.push(a);
        let b = f.push_op(
            Op::Mul,
            vec![Operand::Lit(2.0), Operand::Var(a)],
            Span::call_site(),
        );
        let y = f.push_op(
            Op::Add,
            vec![Operand::Var(a), Operand::Var(b)],
            Span::call_site(),
        );
        f.outputs.push(Operand::Var(y));
        (f, a, b)
    }

    #[test]
    fn stop_cuts_usefulness_but_not_own_gradient() {
        let (f, a, b) = tf_example();
        let act = analyze(&f, &[a, b], &[b]);
        assert!(act.is_active(a) && act.is_active(b));
        let act = analyze(&f, &[a], &[]);
        assert!(act.is_active(b), "b carries a's derivative");
        let act = analyze(&f, &[a], &[b]);
        assert!(!act.varied[b], "a stopped b is a constant");
    }

    #[test]
    fn unused_input_is_not_useful() {
        let mut f = Function::default();
        let x = f.new_var("x", Span::call_site(), Origin::Param(0));
        let z = f.new_var("z", Span::call_site(), Origin::Param(1));
        f.params = vec![x, z];
        let y = f.push_op(
            Op::Unary(crate::ir::Unary::Sin),
            vec![Operand::Var(x)],
            Span::call_site(),
        );
        f.outputs.push(Operand::Var(y));
        let act = analyze(&f, &[x, z], &[]);
        assert!(act.useful[x] && !act.useful[z]);
    }
}
