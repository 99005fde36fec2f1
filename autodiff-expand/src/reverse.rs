//! Reverse mode (VJP): the primal sweep, then the adjoint sweep over the statements in
//! reverse order.
//!
//! Adjoints in straight-line code are single-assignment: the first contribution to a
//! variable's adjoint defines it and later ones add to it, so there are no zero-initialised
//! accumulators and scalar gradients allocate nothing.
use crate::activity::Activity;
use crate::ir::{Builder, Function, Operand, Rhs, VarId};
use crate::rules;

pub struct Reverse {
    /// The primal sweep followed by the adjoint sweep.
    pub f: Function,
    /// The adjoint of each `wrt` entry; `None` where no unstopped path reaches an output.
    pub grads: Vec<Option<Operand>>,
}

/// `seeds[k]` is the cotangent of output `k` (TensorFlow's `grad_ys`).
pub fn reverse(primal: &Function, act: &Activity, wrt: &[VarId], seeds: &[Operand]) -> Reverse {
    let mut f = primal.clone();
    let mut adjoint: Vec<Option<Operand>> = vec![None; primal.vars.len()];
    let span = proc_macro2::Span::call_site();
    for (out, seed) in primal.outputs.iter().zip(seeds) {
        if let Some(v) = out.var().filter(|&v| act.varied[v]) {
            let mut b = Builder { f: &mut f, span };
            adjoint[v] = Some(rules::accumulate(
                &mut b,
                adjoint[v].take(),
                (seed.clone(), false),
            ));
        }
    }
    for stmt in primal.body.iter().rev() {
        let Some(dst) = stmt.dst else { continue };
        if !act.is_active(dst) || act.stopped[dst] {
            continue;
        }
        let Some(g) = adjoint[dst].clone() else {
            continue;
        };
        // Opaque statements with an active result were reported by `check`.
        let Rhs::Op(op, args) = &stmt.rhs else {
            continue;
        };
        let mut b = Builder {
            f: &mut f,
            span: stmt.span,
        };
        let partials = rules::partials(&mut b, *op, args, &Operand::Var(dst));
        for (arg, partial) in args.iter().zip(&partials) {
            let Some(a) = arg.var().filter(|&a| act.varied[a]) else {
                continue;
            };
            if let Some(contribution) = rules::apply(&mut b, partial, g.clone()) {
                adjoint[a] = Some(rules::accumulate(&mut b, adjoint[a].take(), contribution));
            }
        }
    }
    let grads = wrt.iter().map(|&w| adjoint[w].clone()).collect();
    Reverse { f, grads }
}
